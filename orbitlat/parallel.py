"""The analyses on a scheduler, under their pre-0.2 names: thin wrappers (``ol.parallel``).

Before the scale-out protocol, ``orbitlat.parallel`` (later ``orbitlat.scale``) re-implemented
each analysis in chunks. Now every analysis takes ``scheduler=`` itself and describes its work
as a plan that :mod:`orbitlat.scale` runs; these wrappers keep the old entry points working
with their old signatures. Prefer the analyses:

===============================================  =========================================================
here                                             the analysis
===============================================  =========================================================
``coverage(c, grid, ..., scheduler=)``           :func:`orbitlat.coverage.coverage`
``visible_sets(c, sites, ..., scheduler=)``      :func:`orbitlat.visibility.visible_sets`
``passes(c, sites, ..., scheduler=)``            :func:`orbitlat.visibility.passes`
``route(network, ..., scheduler=)``              :func:`orbitlat.latency.route`
``latency("city_pairs", ..., scheduler=)``       :func:`orbitlat.latency.city_pairs` (and the other scenarios)
``using``, ``tune_workers``                      :func:`orbitlat.scale.using`, :func:`orbitlat.scale.tune_workers`
===============================================  =========================================================

One difference from the analyses: ``scheduler=None`` here means local threads (as it did),
where the analyses pick their own local default; and these take a Constellation (or a preset
name), never an ephemeris. This module sits at the top of the layers (beside the faces): it
imports the analyses, and nothing in the package imports it.

>>> import orbitlat as ol
>>> from orbitlat.ground import Grid
>>> r = coverage(ol.presets.get("gps"), Grid.equal_area(10.0), start="2026-01-01", duration="2h",
...              step="10min", min_elevation_deg=5.0, k=4, scheduler="sync")
>>> float(r.ds.covered_fraction_k.min()), r.ds.attrs["parallel_scheduler"]
(1.0, 'local sync')
"""
from __future__ import annotations

from typing import Any

from orbitlat.errors import OrbitlatError
from orbitlat.scale.runners import LOCAL_SCHEDULERS, current, tune_workers, using

__all__ = ["coverage", "visible_sets", "passes", "route", "latency", "using", "tune_workers", "SCENARIOS",
           "LOCAL_SCHEDULERS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Latency entry points of :mod:`orbitlat.latency` that :func:`latency` runs.
SCENARIOS = ("route", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "nearest_compute")


def _default(scheduler: Any) -> Any:
    return "threads" if scheduler is None and current() is None else scheduler


def _constellation_of(obj: Any, what: str):
    import xarray as xr

    from orbitlat.orbits.constellation import Constellation

    if isinstance(obj, Constellation):
        return obj
    if isinstance(obj, str):
        from orbitlat.orbits import presets

        return presets.get(obj)
    if isinstance(obj, xr.Dataset):
        raise OrbitlatError(
            f"parallel.{what} takes the Constellation, not an ephemeris: each task propagates its own time "
            "chunk from the constellation's elements/TLEs, so nothing large is shipped. Pass the Constellation, "
            f"or call orbitlat's {what} on the ephemeris.")
    raise OrbitlatError(f"parallel.{what} takes a Constellation (or a preset name); got {type(obj).__name__}.")


def coverage(constellation, grid, *, scheduler: Any = None, **kwargs):
    """:func:`orbitlat.coverage.coverage` with ``scheduler=`` (default local threads)."""
    from orbitlat.coverage.compute import coverage as _coverage

    return _coverage(_constellation_of(constellation, "coverage"), grid, scheduler=_default(scheduler), **kwargs)


def visible_sets(constellation, sites, times: Any = None, *, scheduler: Any = None, **kwargs):
    """:func:`orbitlat.visibility.visible_sets` of a constellation with ``scheduler=`` (default local threads)."""
    from orbitlat.visibility.visible import visible_sets as _visible_sets

    return _visible_sets(_constellation_of(constellation, "visible_sets"), sites, times,
                         scheduler=_default(scheduler), **kwargs)


def passes(constellation, sites, times: Any = None, *, scheduler: Any = None, **kwargs):
    """:func:`orbitlat.visibility.passes` with ``scheduler=`` (default local threads)."""
    from orbitlat.visibility.windows import passes as _passes

    return _passes(_constellation_of(constellation, "passes"), sites, times, scheduler=_default(scheduler),
                   **kwargs)


def latency(scenario: str, *args, scheduler: Any = None, **kwargs):
    """Run the latency scenario ``scenario`` of :mod:`orbitlat.latency` with ``scheduler=`` (default local threads).

    >>> from orbitlat.ground import GroundSites
    >>> users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
    >>> r = latency("city_pairs", "iridium", users, start="2026-01-01", duration="10min", step="60s",
    ...             scheduler="sync", time_chunk=60)
    >>> r.rtt.rtt_ms.dims
    ('time', 'src', 'dst')
    """
    from orbitlat import latency as _latency

    if scenario not in SCENARIOS:
        raise OrbitlatError(f"scenario={scenario!r} is not known; use one of {', '.join(SCENARIOS)}.")
    if "workers" in kwargs:
        raise OrbitlatError("parallel.latency splits the time steps itself; drop workers= (use scheduler=).")
    return getattr(_latency, scenario)(*args, scheduler=_default(scheduler), **kwargs)


def route(network, sources, destinations=None, *, scheduler: Any = None, **kwargs):
    """:func:`orbitlat.latency.route` with ``scheduler=`` (default local threads)."""
    return latency("route", network, sources, destinations, scheduler=scheduler, **kwargs)
