"""Hypatia-compatible setup: reproduce the satellite networks of Kassing et al., IMC 2020.

"Exploring the 'Internet from space' with Hypatia" (Kassing, Bhattacherjee,
Águas, Saethre, Singla; ACM IMC 2020; code: github.com/snkas/hypatia, MIT) studies
three single shells. This module rebuilds them exactly as its ``satgenpy`` does:

- **TLEs** (``generate_tles_from_scratch_manual``): epoch 2000-01-01 00:00:00
  (``00001.00000000``), eccentricity 1e-7, argument of perigee 0, B* 0, mean
  motion 15.19 / 14.80 / 13.66 rev/day; plane ``k`` of ``P`` has RAAN ``360·k/P``,
  slot ``j`` of ``S`` mean anomaly ``360·j/S`` plus half a slot (``360/(2S)``) on
  odd planes; angles written with 4 decimals; catalog numbers 1..N. The lines
  come from :func:`orbitlat.orbits.tle.make_tle_lines` and the satellites propagate with
  SGP4 (WGS72) through :meth:`orbitlat.orbits.constellation.Constellation.from_tle`.
- **ISLs** "+Grid" with inter-plane shift 0: ``2·P·S`` links, including the
  wrap-around between the last and first plane; maximum ISL length
  ``2·sqrt((R+h)² − (R+80 km)²)`` with Hypatia's WGS72 radius R = 6378.135 km and
  its nominal altitudes h = 550 / 630 / 1,015 km (Hypatia raises an error if a link
  exceeds it; none does for these shells, and here such a link would be dropped).
- **Ground–satellite links**: any satellite within a maximum slant range, no
  elevation test (Starlink 1,089,686 m = sqrt(940.7² + 550²) km; Kuiper
  1,260,000 m; Telesat 5,845,152 m), ground stations at their WGS84 geodetic
  coordinates and elevation.
- **Routing** (``algorithm_free_one_only_over_isls``): shortest path by distance,
  ground stations only at the ends (they never relay), at exactly the requested
  time; RTT = path length there and back / 299,792,458 m/s.
- **Node ids**: satellites ``0..N-1`` in plane-major order, ground stations
  ``N..N+G-1`` in the order of the city list (Hypatia's format
  ``id,name,lat_deg,lon_deg,elevation_m``; the 100-city list of the paper is
  ``cities_top100_by_2025_population.txt``: pass its path).

Hypatia itself computes distances with pyephem (its own SGP4 port and Earth
model); this module uses python-sgp4 and orbitlat's TEME→ITRS rotation, which
agree to well under a kilometre for these orbits, far below the 1 ms (300 km of
path) that separates the figures it publishes.

Published check (Hypatia's README, Starlink-550, Paris (node 1608) → Luanda (node
1650)): RTT about 117 ms at t = 46.8 s and about 85 ms at t = 139.9 s after the
epoch. :func:`rtt_between` reproduces them (the test suite checks it within 1 ms).

>>> c = constellation("starlink_550")
>>> c.size, c.table.loc[23, ["plane", "slot"]].tolist()
(1584, [1, 1])
>>> tle_lines("starlink_550")[23][2][:51]
'2 00024  53.0000   5.0000 0000001   0.0000  24.5455'
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from orbitlat.constants import C_KM_S
from orbitlat.errors import OrbitlatError
from orbitlat.latency.network import Network, max_isl_length_km
from orbitlat.units import accepts_units

__all__ = ["SHELLS", "HypatiaShell", "tle_lines", "tle_text", "constellation", "network", "ground_stations",
           "all_pairs", "rtt_between", "EARTH_RADIUS_KM", "EPOCH"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Hypatia's Earth radius (WGS72 equatorial), km.
EARTH_RADIUS_KM = 6378.135
#: Hypatia's TLE epoch (UTC).
EPOCH = np.datetime64("2000-01-01T00:00:00", "ns")


@dataclass(frozen=True)
class HypatiaShell:
    """One of Hypatia's shells (``paper/satellite_networks_state/main_*.py``)."""

    name: str
    nice_name: str
    planes: int
    per_plane: int
    inc_deg: float
    mean_motion_rev_day: float
    altitude_km: float  # nominal altitude used for the ISL limit
    max_gsl_length_km: float

    @property
    def size(self) -> int:
        return self.planes * self.per_plane

    @property
    def max_isl_length_km(self) -> float:
        """``2·sqrt((R+h)² − (R+80)²)``, R = 6378.135 km."""
        return float(max_isl_length_km(self.altitude_km, radius_km=EARTH_RADIUS_KM))


#: The paper's three shells.
SHELLS = {
    "starlink_550": HypatiaShell("starlink_550", "Starlink-550", 72, 22, 53.0, 15.19, 550.0,
                                 math.sqrt(940.7**2 + 550.0**2)),
    "kuiper_630": HypatiaShell("kuiper_630", "Kuiper-630", 34, 34, 51.9, 14.80, 630.0, 1260.0),
    "telesat_1015": HypatiaShell("telesat_1015", "Telesat-1015", 27, 13, 98.98, 13.66, 1015.0, 5845.152),
}


def _shell(shell: Any) -> HypatiaShell:
    if isinstance(shell, HypatiaShell):
        return shell
    key = str(shell).strip().lower().replace("-", "_")
    if key not in SHELLS:
        raise OrbitlatError(f"unknown Hypatia shell {shell!r}; available: {', '.join(SHELLS)}.")
    return SHELLS[key]


def tle_lines(shell: Any = "starlink_550") -> list[tuple[str, str, str]]:
    """(name, line 1, line 2) for every satellite, plane-major, exactly as Hypatia generates them."""
    return list(_tle_lines(_shell(shell)))


@functools.lru_cache(maxsize=8)
def _tle_lines(s: HypatiaShell) -> tuple[tuple[str, str, str], ...]:
    from orbitlat.orbits.tle import make_tle_lines

    out = []
    for orbit in range(s.planes):
        raan = orbit * 360.0 / s.planes
        shift = 360.0 / (s.per_plane * 2.0) if orbit % 2 == 1 else 0.0
        for j in range(s.per_plane):
            ma = shift + j * 360.0 / s.per_plane
            sid = orbit * s.per_plane + j
            l1, l2 = make_tle_lines(norad_id=sid + 1, epoch=EPOCH, mean_motion_rev_day=s.mean_motion_rev_day,
                                    ecc=1e-7, inc_deg=s.inc_deg, raan_deg=raan, argp_deg=0.0,
                                    mean_anomaly_deg=ma, bstar=0.0, element_set_no=0, rev_at_epoch=0)
            out.append((f"{s.nice_name} {sid}", l1, l2))
    return tuple(out)


def tle_text(shell: Any = "starlink_550") -> str:
    """The shell as 3LE text (name line, line 1, line 2 per satellite)."""
    return "".join(f"{n}\n{a}\n{b}\n" for n, a, b in tle_lines(shell))


def constellation(shell: Any = "starlink_550"):
    """The shell as a :class:`~orbitlat.orbits.constellation.Constellation` from its TLEs (SGP4, WGS72).

    Planes and slots are labelled (plane = id // S, slot = id % S) so that +Grid ISLs
    follow Hypatia's numbering.
    """
    from orbitlat.orbits.constellation import Constellation

    s = _shell(shell)
    c = Constellation.from_tle(tle_text(s), name=s.name)
    ids = np.arange(c.size)
    c.table["plane"] = ids // s.per_plane
    c.table["slot"] = ids % s.per_plane
    c.table["shell"] = s.name
    c.attrs.update(source="Hypatia (Kassing et al., IMC 2020) TLE generation rules", hypatia_shell=s.name)
    return c


def network(shell: Any = "starlink_550", *, isls: bool = True) -> Network:
    """Hypatia's network: +Grid (shift 0, all 2PS links) and the range-based GSL rule.

    ``isls=False`` is Hypatia's ``isls_none`` (no links between satellites).
    """
    s = _shell(shell)
    return Network(constellation(s), isl="plus_grid" if isls else "none", isl_shift=0, drop_seam=False,
                   isl_max_km=s.max_isl_length_km, grazing_altitude_km=None, earth_radius_km=EARTH_RADIUS_KM,
                   gsl_rule="range", gsl_max_range_km=s.max_gsl_length_km, odc_gsl=False, backend="sgp4")


def ground_stations(path: str | Path):
    """Hypatia's ground-station list (``id,name,lat_deg,lon_deg,elevation_m``) as GroundSites, in file order."""
    from orbitlat.ground.sites import GroundSites

    p = Path(path)
    if not p.exists():
        raise OrbitlatError(f"ground-station list {p} does not exist; pass the path of a Hypatia city list "
                            "such as cities_top100_by_2025_population.txt.")
    return GroundSites.from_hypatia(p)


def _times(t_s):
    from orbitlat.time import TimeGrid

    t = np.atleast_1d(np.asarray(t_s, dtype=np.float64))
    if not np.all(np.isfinite(t)):
        raise OrbitlatError("times must be finite seconds after Hypatia's epoch (2000-01-01 00:00:00).")
    ns = np.round(t * 1e9).astype(np.int64).astype("timedelta64[ns]")
    return TimeGrid(EPOCH + ns)


@accepts_units
def all_pairs(shell: Any, stations, t_s, *, isls: bool = True, paths: str | None = "changes"):
    """All-pairs RTT among ground stations at ``t_s`` seconds after the epoch (Hypatia's method).

    Parameters
    ----------
    shell : str or HypatiaShell
        ``"starlink_550"``, ``"kuiper_630"`` or ``"telesat_1015"``.
    stations : GroundSites or path
        The ground stations (:func:`ground_stations`).
    t_s : float or array
        Seconds after 2000-01-01 00:00:00 UTC.

    Returns
    -------
    LatencyResult
        Node ids as in Hypatia: satellites ``0..N-1``, stations ``N..``.
    """
    from orbitlat.latency.routing import route

    gs = ground_stations(stations) if isinstance(stations, (str, Path)) else stations
    net = network(shell, isls=isls)
    res = route(net, gs, None, times=_times(t_s), paths=paths)
    res.rtt.attrs.update(scenario="hypatia", hypatia_shell=_shell(shell).name, speed_of_light_m_s=C_KM_S * 1000.0)
    return res


@accepts_units
def rtt_between(shell: Any, stations, src: Any, dst: Any, t_s, *, isls: bool = True):
    """RTT (ms) and path from ``src`` to ``dst`` (names, list positions or Hypatia node ids) at ``t_s``.

    Returns
    -------
    (rtt_ms, paths) : numpy array (time,), list of node-id tuples (None where unreachable)

    Hypatia's README figure: Starlink-550, Paris (1608) → Luanda (1650), 117 ms at 46.8 s
    and 85 ms at 139.9 s.
    """
    from orbitlat.latency.routing import route

    gs = ground_stations(stations) if isinstance(stations, (str, Path)) else stations
    s = _shell(shell)
    net = network(s, isls=isls)

    def pos(x):
        if isinstance(x, str):
            hit = np.flatnonzero(gs.names == x)
            if hit.size != 1:
                raise OrbitlatError(f"station {x!r} not found (or not unique) in the list of {len(gs)} stations.")
            return int(hit[0])
        i = int(x)
        if i >= s.size:
            i -= s.size  # a Hypatia node id
        if not 0 <= i < len(gs):
            raise OrbitlatError(f"station {x!r} is neither a list position 0..{len(gs) - 1} nor a node id "
                                f"{s.size}..{s.size + len(gs) - 1}.")
        return i

    i, j = pos(src), pos(dst)
    pair = gs.subset([i, j])
    res = route(net, pair, None, times=_times(t_s), paths="all")
    rtt = res.rtt_ms.isel(src=0, dst=1).to_numpy()
    # re-number ground nodes to the full list's ids
    remap = {s.size: s.size + i, s.size + 1: s.size + j}
    p = res.paths[res.paths["src"] == str(res.rtt["src"].to_numpy()[0])]
    by_time = {t: tuple(remap.get(n, n) for n in path) for t, path in zip(p["time"], p["path"])}
    return rtt, [by_time.get(t) for t in res.rtt["time"].to_numpy()]
