"""Orbits: what flies and where it is. Layer 1 of the pipeline.

Owns constellations and their sources (Walker and sun-synchronous builders, compact clusters, presets
citing public filings, TLE/OMM catalogs, the explicit CelesTrak fetch, shell/plane/slot inference,
boinor interop) and propagation to ephemerides ``(time, sat, xyz)`` (sgp4 with its numba kernel,
analytic kepler-j2, boinor). Imports only the foundation (:mod:`orbitlat.time`,
:mod:`orbitlat.errors`, :mod:`orbitlat.constants`); nothing here knows about ground sites,
visibility, coverage or latency.

Modules: :mod:`~orbitlat.orbits.constellation`, :mod:`~orbitlat.orbits.walker`,
:mod:`~orbitlat.orbits.sso`, :mod:`~orbitlat.orbits.cluster`, :mod:`~orbitlat.orbits.presets`,
:mod:`~orbitlat.orbits.tle`, :mod:`~orbitlat.orbits.omm`, :mod:`~orbitlat.orbits.fetch`,
:mod:`~orbitlat.orbits.inference`, :mod:`~orbitlat.orbits.interop`, :mod:`~orbitlat.orbits.propagation`.
"""
from __future__ import annotations

from orbitlat.orbits import presets
from orbitlat.orbits.cluster import compact_cluster, suncatcher
from orbitlat.orbits.constellation import Constellation
from orbitlat.orbits.inference import infer_shells, shell_summary
from orbitlat.orbits.omm import read_omm
from orbitlat.orbits.propagation import propagate, valid_sats
from orbitlat.orbits.sso import sso_inclination_deg, sun_synchronous
from orbitlat.orbits.tle import make_tle_lines, read_tle, write_tle
from orbitlat.orbits.walker import walker_delta, walker_star

__all__ = ["Constellation", "presets", "walker_delta", "walker_star", "sun_synchronous", "sso_inclination_deg",
           "compact_cluster", "suncatcher", "read_tle", "read_omm", "write_tle", "make_tle_lines", "infer_shells",
           "shell_summary", "propagate", "valid_sats"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
