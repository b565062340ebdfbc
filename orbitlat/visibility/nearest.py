"""The best visible satellite per site and time step, at any constellation size.

Coverage needs how many satellites each point sees; latency needs which one a user should use.
With a million satellites a city sees ~10⁴ of them at once, so enumerating visible pairs (what
:func:`orbitlat.visibility.engine.visible_pairs` does) costs ~10⁸ pairs per step for 10⁴ cities.
This module finds, per site, only the satellite that minimises

    ``range_km / c + cost_ms[sat]``

among the satellites the site can use (elevation at or above its mask, and within
``max_range_km`` if given; or Hypatia's pure range rule). With ``cost_ms`` = 0 that is the
nearest visible satellite; with ``cost_ms`` the one-way delay from each satellite onwards (e.g.
the distance to the nearest compute node from a multi-source shortest-path search), it is the
best first hop, so a search from the far end never has to run once per user.

How: per step the satellites are binned into a uniform 3-D grid of cells (a counting sort, linear
in satellites); each site scans cells in growing Chebyshev shells around itself and stops when no
unscanned cell can beat the best so far, skipping cells wholly below its horizon mask or beyond
its largest usable slant range (:mod:`orbitlat.visibility._kernels`). The cost per step is
O(satellites + sites × cells near each site), not O(sites × satellites in view). Exact: the
answer is the one a scan of every pair gives, ties to the lowest satellite index. Without numba
(or with azimuth masks or per-satellite range limits) the pair engine computes the same answer.

>>> import numpy as np
>>> from orbitlat.visibility.engine import SiteIndex
>>> idx = SiteIndex.from_latlon([0.0, 60.0], [0.0, 0.0], min_elevation_deg=10.0)
>>> sats = np.array([[6378.137 + 550, 0, 0], [6378.137 + 1200, 0, 0], [0, 6378.137 + 550, 0]])
>>> a = best_access(idx, sats)
>>> a.sat.tolist(), round(float(a.range_km[0]), 3)
([0, -1], 550.0)
"""
from __future__ import annotations

import math
import time as _time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from orbitlat.constants import C_KM_S
from orbitlat.errors import OrbitlatError
from orbitlat.visibility.engine import SiteIndex, max_slant_range_km, visible_pairs
from orbitlat.units import accepts_units

__all__ = ["Access", "best_access", "nearest_visible", "MS_PER_KM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: One-way light time per km in vacuum, ms (docs/references.md: c = 299,792.458 km/s).
MS_PER_KM = 1000.0 / C_KM_S

#: Satellites per cell the 3-D binning aims at (a cell scan is cheap next to a satellite test).
_SATS_PER_CELL = 8.0
#: Most cells per axis (n³ cell offsets: 160³ × 8 B = 33 MB).
_MAX_CELLS_AXIS = 160


class Access(NamedTuple):
    """The best usable satellite per site (arrays of shape ``(..., n_sites)``).

    ``sat`` is -1 where the site can use no satellite; the float fields are NaN there.
    """

    #: row of the chosen satellite in the positions given (-1: none usable)
    sat: np.ndarray
    #: slant range to it, km
    range_km: np.ndarray
    #: its elevation seen from the site, degrees
    elevation_deg: np.ndarray
    #: ``range_km · MS_PER_KM + cost_ms[sat]``, ms (the quantity minimised)
    total_ms: np.ndarray


def _kernels():
    from orbitlat.visibility.footprints import _kernels as k

    return k()


def _cpu_count() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def _check_cost(cost_ms: Any, n_sat: int) -> np.ndarray:
    if cost_ms is None:
        return np.zeros(n_sat)
    c = np.asarray(cost_ms, dtype=np.float64)
    if c.shape != (n_sat,):
        raise OrbitlatError(f"cost_ms has shape {c.shape}; give one cost per satellite, shape ({n_sat},) "
                            "(inf for satellites that cannot serve).")
    if np.any(np.isnan(c)) or np.any(c < 0):
        raise OrbitlatError("cost_ms must be >= 0 ms (or inf for satellites that cannot serve); it has NaN or "
                            "negative values.")
    return c


def _range_limits(index: SiteIndex, rule: str, max_range_km, rs_max: float) -> np.ndarray:
    """Per-site upper bound on the slant range of a usable satellite (km)."""
    if rule == "range":
        return np.full(index.size, float(max_range_km))
    site_r = np.linalg.norm(index.xyz_km, axis=1)
    # geodetic verticals differ from geocentric ones by up to 0.19°: widen by 0.25° (as the pair engine)
    d = max_slant_range_km(site_r, rs_max, np.maximum(index.min_elevation_deg - 0.25, -90.0)) * 1.0005 + 1e-6
    if max_range_km is not None:
        d = np.minimum(d, float(max_range_km))
    return d


def _cell_grid(xyz: np.ndarray, finite: np.ndarray, site_xyz: np.ndarray) -> tuple[float, float, int]:
    """(origin, cell side h, cells per axis) for the satellites' 3-D binning."""
    r = np.linalg.norm(xyz[finite], axis=1)
    r_hi = max(float(r.max()), float(np.linalg.norm(site_xyz, axis=1).max())) * (1 + 1e-9) + 1.0
    r_lo = float(r.min())
    vol = 4.0 / 3.0 * np.pi * max(r_hi**3 - r_lo**3, 1.0)
    h = (vol * _SATS_PER_CELL / max(r.size, 1)) ** (1.0 / 3.0)
    h = max(h, 2.0 * r_hi / _MAX_CELLS_AXIS, 1.0)
    n = int(math.ceil(2.0 * r_hi / h)) + 1
    return -r_hi, h, n


@accepts_units
def best_access(index: SiteIndex, sat_xyz_km, *, cost_ms: Any = None, rule: str = "elevation",
                max_range_km: float | None = None, sat_valid: np.ndarray | None = None,
                workers: int | None = None) -> Access:
    """The satellite each site should use at one or more instants.

    Parameters
    ----------
    index : SiteIndex
        Sites and their masks (:meth:`SiteIndex.from_latlon`, :meth:`SiteIndex.from_sites`).
    sat_xyz_km : (sat, 3) or (time, sat, 3) array
        Satellite ITRS positions, km; NaN rows (failed satellites) are skipped.
    cost_ms : (sat,) array, optional
        Delay added behind each satellite, ms (>= 0; ``inf``: the satellite cannot serve). The
        satellite minimising ``range · MS_PER_KM + cost`` is chosen. Default 0: the nearest.
    rule : {"elevation", "range"}
        ``"elevation"``: elevation >= the site's mask (and range <= ``max_range_km`` if given);
        ``"range"``: any satellite within ``max_range_km`` (Hypatia's rule).
    max_range_km : float, optional
        Slant-range limit, km.
    sat_valid : (sat,) bool, optional
        Satellites to consider (default: all with finite positions).
    workers : int, optional
        Threads (default: all cores).

    Returns
    -------
    Access
        Arrays of shape ``(n_sites,)`` or ``(time, n_sites)``.
    """
    if not isinstance(index, SiteIndex):
        raise OrbitlatError(f"index must be an orbitlat.visibility.engine.SiteIndex; got {type(index).__name__}. "
                            "Build one with SiteIndex.from_latlon(...) or SiteIndex.from_sites(sites).")
    p = np.asarray(sat_xyz_km, dtype=np.float64)
    if p.ndim not in (2, 3) or p.shape[-1] != 3:
        raise OrbitlatError(f"satellite positions must have shape (sat, 3) or (time, sat, 3) in km (ITRS); "
                            f"got {p.shape}.")
    single = p.ndim == 2
    P = p[None] if single else p
    T, S = P.shape[:2]
    if rule not in ("elevation", "range"):
        raise OrbitlatError(f"rule={rule!r} is not known; use 'elevation' (masks) or 'range' (Hypatia's rule).")
    if rule == "range" and max_range_km is None:
        raise OrbitlatError("rule='range' needs max_range_km= (e.g. Hypatia's Starlink value 1089.686 km).")
    if max_range_km is not None and (np.ndim(max_range_km) != 0 or not float(max_range_km) > 0):
        raise OrbitlatError(f"max_range_km={max_range_km!r} must be one positive number of km.")
    cost = _check_cost(cost_ms, S)
    if sat_valid is not None:
        sv = np.asarray(sat_valid, dtype=bool)
        if sv.shape != (S,):
            raise OrbitlatError(f"sat_valid must have one flag per satellite ({S}); got shape {sv.shape}.")
        cost = np.where(sv, cost, np.inf)
    M = index.size
    out = Access(np.full((T, M), -1, np.int64), np.full((T, M), np.nan), np.full((T, M), np.nan),
                 np.full((T, M), np.nan))
    kernels = _kernels()
    n_workers = _cpu_count() if workers is None else max(1, int(workers))
    if kernels is None or index.az_mask_deg is not None:
        for t in range(T):
            _best_by_pairs(index, P[t], cost, rule, max_range_km, out, t)
    else:
        serve = np.isfinite(cost)
        cost_min = float(cost[serve].min()) if serve.any() else 0.0
        use_mask = rule == "elevation"
        mask = np.ascontiguousarray(index.min_elevation_deg, dtype=np.float64)

        def one(t: int, parts: int) -> None:
            xyz = np.ascontiguousarray(P[t])
            finite = np.isfinite(xyz).all(axis=1) & serve
            if not finite.any():
                return
            r_sat = np.linalg.norm(xyz[finite], axis=1)
            rs_max = float(r_sat.max())
            r_lo, r_hi = float(r_sat.min()) * (1 - 1e-9), rs_max * (1 + 1e-9)
            rmax = _range_limits(index, rule, max_range_km, rs_max)
            origin, h, n = _cell_grid(xyz, finite, index.xyz_km)
            xyz_b = np.where(finite[:, None], xyz, np.nan)
            starts, order = kernels.bin_cells(xyz_b, origin, h, n)
            xs, cs = kernels.gather(xyz_b, cost, order)
            bounds = np.linspace(0, M, parts + 1).astype(np.int64)

            def run(k: int) -> None:
                kernels.nearest_into(index.xyz_km, index.up, mask, rmax, use_mask, xs, cs, cost_min, MS_PER_KM,
                                     starts, order, origin, h, n, r_lo, r_hi, int(bounds[k]), int(bounds[k + 1]),
                                     out.sat[t], out.range_km[t], out.elevation_deg[t], out.total_ms[t])

            if parts == 1:
                run(0)
            else:
                with ThreadPoolExecutor(parts) as ex:
                    list(ex.map(run, range(parts)))

        if T >= n_workers and n_workers > 1:
            with ThreadPoolExecutor(n_workers) as ex:
                list(ex.map(lambda t: one(t, 1), range(T)))
        else:
            for t in range(T):
                one(t, n_workers if M >= 64 * n_workers else 1)
    if single:
        return Access(*(a[0] for a in out))
    return out


def _best_by_pairs(index: SiteIndex, xyz: np.ndarray, cost: np.ndarray, rule: str, max_range_km, out: Access,
                   t: int) -> None:
    """The pair engine's answer (numpy path, azimuth masks): every visible pair, then the minimum per site."""
    vp = visible_pairs(index, xyz, rule=rule, max_range_km=max_range_km, sat_valid=np.isfinite(cost))
    if len(vp) == 0:
        return
    total = vp.range_km * MS_PER_KM + cost[vp.sat]
    order = np.lexsort((vp.sat, total, vp.site))  # per site: smallest total, then lowest satellite
    first = np.ones(order.size, dtype=bool)
    s_sorted = vp.site[order]
    first[1:] = s_sorted[1:] != s_sorted[:-1]
    pick = order[first]
    site = vp.site[pick]
    out.sat[t, site] = vp.sat[pick]
    out.range_km[t, site] = vp.range_km[pick]
    out.elevation_deg[t, site] = vp.elevation_deg[pick]
    out.total_ms[t, site] = total[pick]


@accepts_units
def nearest_visible(source: Any, sites: Any, *, start: Any = None, duration: Any = None, step: Any = None,
                    times: Any = None, min_elevation_deg: Any = None, rule: str = "elevation",
                    max_range_km: float | None = None, cost_ms: Any = None, spherical: bool = False,
                    backend: str = "auto", chunk: int | None = None, workers: int | None = None) -> xr.Dataset:
    """The nearest usable satellite of every site at every time step, streamed over the span.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here in time chunks: the ephemeris is never held whole) or an
        ITRS ephemeris.
    sites : GroundSites or SiteIndex
    start, duration, step, times
        The span (with a Constellation).
    min_elevation_deg : float or (n_sites,) array, optional
        Elevation mask (default: the sites' own).
    rule, max_range_km, cost_ms
        See :func:`best_access`.
    spherical : bool
        Spherical Earth and geocentric verticals.
    backend : str
        Propagation backend.
    chunk : int, optional
        Time steps propagated at once (default: what fits in about 256 MB of positions).
    workers : int, optional
        Threads.

    Returns
    -------
    xarray.Dataset
        ``sat`` (time, site) int (-1: none), ``range_km``, ``elevation_deg``, ``rtt_ms`` (twice the
        one-way light time to the satellite plus twice ``cost_ms``: propagation only, no access
        overhead), with ``time``, ``site`` and ``site_name`` coordinates.
    """
    from orbitlat.visibility._inputs import _as_site_index, _resolve_source, _valid_sats
    from orbitlat.orbits.stream import iter_positions

    eph, c, tg = _resolve_source(source, times, start, duration, step, "nearest_visible")
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    n_sat = eph.sizes["sat"] if eph is not None else c.size
    cost = _check_cost(cost_ms, n_sat)
    t0 = _time.perf_counter()
    parts = []
    failed = np.zeros(n_sat, dtype=bool)
    if eph is not None:
        valid = _valid_sats(eph)
        failed |= ~valid
        pos_all = eph["position"]
        step_n = chunk or max(1, int(2**28 // max(1, n_sat * 24)))
        for i0 in range(0, len(tg), step_n):
            pos = np.asarray(pos_all.isel(time=slice(i0, i0 + step_n)).to_numpy(), dtype=np.float64)
            parts.append(best_access(index, pos, cost_ms=cost, rule=rule, max_range_km=max_range_km,
                                     sat_valid=valid, workers=workers))
    else:
        for _tgc, pos, bad in iter_positions(c, tg, chunk=chunk, backend=backend):
            failed |= bad
            parts.append(best_access(index, pos, cost_ms=cost, rule=rule, max_range_km=max_range_km,
                                     sat_valid=~bad, workers=workers))
    acc = Access(*(np.concatenate([getattr(p, f) for p in parts]) for f in Access._fields))
    rtt = 2.0 * acc.total_ms
    mask_attr = (float(index.min_elevation_deg[0]) if np.all(index.min_elevation_deg == index.min_elevation_deg[0])
                 else "per-site masks")
    return xr.Dataset(
        {"sat": (("time", "site"), acc.sat, {"long_name": "row of the nearest usable satellite (-1: none)"}),
         "range_km": (("time", "site"), acc.range_km, {"units": "km", "long_name": "slant range"}),
         "elevation_deg": (("time", "site"), acc.elevation_deg, {"units": "deg", "long_name": "elevation"}),
         "rtt_ms": (("time", "site"), rtt, {"units": "ms", "long_name": "round trip to the satellite (+ 2 x cost)",
                                             "delays": "propagation (vacuum light time) only"})},
        coords={"time": tg.utc, "site": np.arange(index.size), "site_name": ("site", np.asarray(names).astype(str))},
        attrs={"rule": rule, "min_elevation_deg": mask_attr if rule == "elevation" else "none",
               "n_failed_excluded": int(failed.sum()), "engine": "3-D cell search" if _kernels() is not None
               else "pair engine", "wall_s": round(_time.perf_counter() - t0, 3),
               "delays": "propagation only (no access overhead)"},
    )
