"""The coverage driver: propagate in chunks, count satellites in view per grid point, reduce.

:func:`coverage` picks the kernel (the footprint-cap kernel on ring grids in the fast mode, the pair
engine otherwise), streams the span in propagation chunks and folds each block into the exact
segment summary of :mod:`orbitlat.coverage.figures`. The work is a plan of
:mod:`orbitlat.coverage.plan` (time chunks x bands of points, merged exactly) that
:mod:`orbitlat.scale` runs here on threads or, with ``scheduler=``, anywhere else.
:func:`compare` puts several constellations side by side.
"""
from __future__ import annotations

from typing import Any, Mapping
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.ground.grids import Grid
from orbitlat.coverage.figures import _span_weights
from orbitlat.coverage.result import CoverageResult
from orbitlat.units import accepts_units

__all__ = ["coverage", "compare", "estimate"]

#: Per-element costs measured on the project's 2-core machines (docs/scaling.md), for :func:`estimate`:
#: seconds per (satellite, ring) footprint run (compiled kernel / numpy kernel, one core) ...
_S_PER_RUN = {"numba": 35e-9, "numpy": 150e-9}
#: ... per (satellite, step) propagated (wall time with both cores) ...
_S_PER_SAT_STEP = {"kepler-j2": 0.25e-6, "sgp4": 0.6e-6}
#: ... and per (grid point, step) folded into the figures of merit.
_S_PER_POINT_STEP = 20e-9


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _check_args(grid: Any, mode: Any, k: Any, min_elevation_deg: Any) -> float:
    """The checks every coverage entry point makes up front; returns the elevation mask (degrees)."""
    from orbitlat.visibility.footprints import _check_mask

    if not isinstance(grid, Grid):
        raise OrbitlatError(f"grid must be an orbitlat.ground.grids.Grid; got {type(grid).__name__}. "
                            "Build one with Grid.equal_area(1.0).")
    if mode not in ("fast", "exact"):
        raise OrbitlatError(f"mode={mode!r} is not known; use 'fast' (spherical, footprint caps) or 'exact' "
                            "(WGS84 geodetic, pair engine).")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OrbitlatError(f"k={k!r} must be an integer >= 1 (the 'k or more satellites' level).")
    return _check_mask(min_elevation_deg)

def _runs_per_step(r_sat_km: np.ndarray, grid: Grid, mask: float, earth_radius_km: float) -> float:
    """(satellite, ring) footprint runs per time step on a ring grid (what the cap kernel costs)."""
    from orbitlat.visibility.footprints import cap_half_angle_rad

    lam = np.nan_to_num(cap_half_angle_rad(r_sat_km, mask, earth_radius_km))
    ring_sp = np.pi / grid.rings.n_rings
    return max(1.0, float(np.sum(np.minimum(2 * lam / ring_sp + 1, grid.rings.n_rings))))


@accepts_units
def estimate(constellation, grid: Grid, *, start: Any = None, duration: Any = None, step: Any = None,
             times: Any = None, min_elevation_deg: float = 10.0, mode: str = "fast", keep_series: bool = False,
             backend: str = "auto", workers: int | None = None, earth_radius_km: float = WGS84_A_KM):
    """Peak memory and run time :func:`coverage` will need here, before running it.

    Sizes come from the arrays the code allocates (positions of one propagation chunk, the kernel's
    blocks in flight, the per-point accumulators, the optional count series); times from per-element
    costs measured on 2-core machines (footprint runs, propagated satellite-steps, grid point-steps).
    Expect the truth within a factor of about two.

    Returns
    -------
    orbitlat.scale.resources.Estimate

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.ground import Grid
    >>> e = estimate(ol.presets.get("starlink_gen1"), Grid.equal_area(1.0), start="2026-01-01", duration="1d",
    ...              step="60s", min_elevation_deg=25.0)
    >>> e.memory_mb < 2000 and e.seconds < 120
    True
    """
    from orbitlat.scale.resources import Estimate
    from orbitlat.time import TimeGrid, to_timegrid
    from orbitlat.visibility.footprints import _kernels

    mask = _check_args(grid, mode, 1, min_elevation_deg)
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    n_t, P = len(tg), grid.size
    t_ = constellation.table
    n_sat = len(t_)
    r_sat = (t_["a_km"] * (1 + t_["ecc"])).to_numpy(np.float64)
    from orbitlat.scale.runners import cpu_count

    n_workers = cpu_count() if workers is None else max(1, int(workers))
    if mode == "fast" and grid.is_ring:
        runs = _runs_per_step(r_sat, grid, mask, earth_radius_km)
        chunk_steps = int(np.clip(250_000 / runs, 1, 64))
        kern = "numba" if _kernels() is not None else "numpy"
        kernel_s = runs * n_t * _S_PER_RUN[kern] / n_workers
        block_mb = chunk_steps * (n_sat * 8 * 6 + (P + 1) * 8 + P * 4) / 2**20
        if kern == "numpy":
            block_mb += min(runs * chunk_steps, 1 << 21) * 8 * 12 / 2**20
    else:  # pair engine: every visible pair is enumerated (~ points x satellites in view)
        from orbitlat.visibility.footprints import expected_mean_visible

        per_point = float(expected_mean_visible(np.column_stack([r_sat, 0 * r_sat, 0 * r_sat]), mask,
                                                earth_radius_km))
        chunk_steps = 8
        kernel_s = P * per_point * n_t * 400e-9 / n_workers
        block_mb = chunk_steps * (P * per_point * 8 * 8 + P * 4) / 2**20
    from orbitlat.coverage.plan import _prop_chunk

    prop = _prop_chunk(chunk_steps, n_t, n_sat)
    b = backend if backend != "auto" else ("sgp4" if constellation.is_catalog.any() else "kepler-j2")
    prop_s = n_sat * n_t * _S_PER_SAT_STEP.get(b, 1e-6)
    memory_mb = (prop * n_sat * 24 * 3 + n_sat * 500) / 2**20 + 2 * n_workers * block_mb \
        + (18 * P * 8 + n_t * 32) / 2**20 + (n_t * P * 2 / 2**20 if keep_series else 0.0)
    seconds = kernel_s + prop_s + n_t * P * _S_PER_POINT_STEP
    return Estimate("coverage", memory_mb, seconds,
                    f"{n_sat:,} satellites x {P:,} points x {n_t:,} steps")


@accepts_units
def coverage(constellation, grid: Grid, *, start: Any = None, duration: Any = None, step: Any = None,
             times: Any = None, min_elevation_deg: float = 10.0, k: int = 2, mode: str = "fast",
             chunk_steps: int | None = None, keep_series: bool = False, backend: str = "auto",
             workers: int | None = None, earth_radius_km: float = WGS84_A_KM, scheduler: Any = None,
             time_chunk: int | None = None, point_chunk: int | None = None, retries: int = 2) -> CoverageResult:
    """Coverage figures of merit of a constellation over a grid and a time span.

    Parameters
    ----------
    constellation : Constellation or xarray.Dataset
        The satellites, or an already propagated ITRS ephemeris (``position``
        (time, sat, xyz) km, e.g. from :func:`orbitlat.orbits.propagation.propagate`).
    grid : Grid
        Points and their areas (:class:`orbitlat.ground.grids.Grid`).
    start, duration, step, times
        The time span ("from start for duration every step", both ends
        included) or explicit instants; at least two. Not with an ephemeris
        (it brings its own times).
    min_elevation_deg : float
        Elevation mask, degrees.
    k : int
        The "k or more satellites" level for ``covered_fraction_k``.
    mode : {"fast", "exact"}
        ``"fast"``: spherical Earth, footprint-cap kernel on ring grids (exact for
        a sphere); ``"exact"``: WGS84 geodetic elevations via the pair engine.
    chunk_steps : int, optional
        Time steps per kernel block (default: sized for ~250,000 satellite-ring runs).
    keep_series : bool
        Also return the count series ``n_visible (time, point)`` (uint16).
    backend : str
        Propagation backend (see :func:`orbitlat.orbits.propagation.propagate`).
    workers : int, optional
        Threads on this machine (default: all cores): the kernel blocks of the span (or, with
        ``scheduler="threads"``, its time chunks) run on them.
    earth_radius_km : float
        Sphere radius of the fast mode.
    scheduler : None, str, distributed.Client or cluster
        Where the work runs (:mod:`orbitlat.scale.runners`): ``"sync"``, ``"threads"``,
        ``"processes"``, a ``distributed.Client``, a cluster, or an address such as
        ``"tcp://host:8786"``. ``None``: an :func:`orbitlat.scale.using` block's scheduler,
        else here, the whole span as one task on ``workers`` threads. The result is the same
        (:mod:`orbitlat.coverage.plan`, ``docs/scaling.md``); an explicit scheduler adds
        ``parallel_*`` attrs. An ephemeris runs only on this machine (a cluster would need it
        whole on every worker: pass the constellation).
    time_chunk, point_chunk : int, optional
        Time steps per task (rounded up to a multiple of the propagation chunk, about 240
        steps) and grid points per band of points (whole rings on ring grids). Defaults: with
        ``"threads"``/``"processes"`` one task per propagation chunk, on Dask about four tasks
        per worker thread and bands of 250,000 points; no bands on this machine.
    retries : int
        Times a task that raised is re-run.

    Returns
    -------
    CoverageResult
    """
    import time as _time

    from orbitlat.coverage.plan import coverage_plan
    from orbitlat.orbits.constellation import Constellation
    from orbitlat.orbits.propagation import _check_backend
    from orbitlat.scale.plan import check_chunk, check_retries
    from orbitlat.scale.runners import current, runner
    from orbitlat.time import TimeGrid, to_timegrid

    t_start = _time.perf_counter()
    if isinstance(constellation, str):
        from orbitlat.orbits import presets

        constellation = presets.get(constellation)
    mask = _check_args(grid, mode, k, min_elevation_deg)
    time_chunk = check_chunk(time_chunk, "time_chunk")
    point_chunk = check_chunk(point_chunk, "point_chunk")
    retries = check_retries(retries)

    eph = None
    if isinstance(constellation, xr.Dataset):
        eph = constellation
        if any(v is not None for v in (start, duration, step, times)):
            raise OrbitlatError("an ephemeris brings its own times; drop start/duration/step/times, or pass the "
                                "Constellation instead to propagate over a new span.")
        if "position" not in eph or eph["position"].dims != ("time", "sat", "xyz"):
            raise OrbitlatError("an ephemeris must have `position` with dims (time, sat, xyz) in km.")
        frame = str(eph.attrs.get("frame", "ITRS")).upper()
        if frame != "ITRS":
            raise OrbitlatError(f"the ephemeris is in {frame}; coverage needs ITRS (propagate(..., frame='ITRS')).")
        tg = TimeGrid(eph["time"].to_numpy())
        source = None
    elif isinstance(constellation, Constellation):
        _check_backend(constellation, backend)
        tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
        source = constellation
    else:
        raise OrbitlatError(f"coverage takes a Constellation or an ITRS ephemeris Dataset; got "
                            f"{type(constellation).__name__}.")
    w_t, span = _span_weights(tg)

    use_rings = mode == "fast" and grid.is_ring
    if chunk_steps is None:
        if use_rings:
            # size blocks for ~250k (satellite, ring) runs: big enough to amortise numpy call
            # overheads, small enough to stay in cache and bound each thread's memory (~80 MB)
            if eph is not None:
                r_sat = np.linalg.norm(np.asarray(eph["position"].isel(time=0).to_numpy()), axis=-1)
            else:
                t_ = constellation.table
                r_sat = (t_["a_km"] * (1 + t_["ecc"])).to_numpy(np.float64)
            chunk_steps = int(np.clip(250_000 / _runs_per_step(r_sat, grid, mask, earth_radius_km), 1, 64))
        else:
            chunk_steps = 8
    elif isinstance(chunk_steps, bool) or not isinstance(chunk_steps, (int, np.integer)) or chunk_steps < 1:
        raise OrbitlatError(f"chunk_steps={chunk_steps!r} must be a whole number >= 1.")

    explicit = scheduler is not None or current() is not None
    if eph is None and scheduler is None and current() is None:  # here: refuse what cannot fit or would take days
        from orbitlat.scale.resources import check_budget

        check_budget(estimate(constellation, grid, times=tg, min_elevation_deg=mask, mode=mode,
                              keep_series=keep_series, backend=backend, workers=workers,
                              earth_radius_km=earth_radius_km),
                     hint="Use a coarser grid or step, a shorter span, keep_series=False, or scheduler= to spread "
                          "the work over a Dask cluster.")
    with runner(scheduler, local="threads", workers=workers) as r:
        if eph is not None and not r.is_local:
            raise OrbitlatError("coverage on a Dask cluster takes a Constellation (tasks propagate their own "
                                "chunks), not a propagated ephemeris; pass the constellation, or run here "
                                "(scheduler=None, 'threads' or 'processes').")
        plan = coverage_plan(source, grid, tg, w_t, span, eph=eph, mask=mask, k=int(k), mode=mode,
                             chunk_steps=int(chunk_steps), keep_series=keep_series, backend=backend,
                             earth_radius_km=float(earth_radius_km), runner=r, time_chunk=time_chunk,
                             point_chunk=point_chunk, explicit=explicit, wall0=t_start)
        return r.run(plan, retries)

def compare(constellations: Mapping[str, Any], grid: Grid, **kwargs) -> pd.DataFrame:
    """Several constellations on the same grid, span and mask: one row each.

    ``kwargs`` go to :func:`coverage` (``start``, ``duration``, ``step``,
    ``min_elevation_deg``, ``k``, ``mode`` ...). Columns: number of satellites,
    the area-weighted mean of every figure of merit, the worst point's values
    (``worst_n_visible_min``, ``worst_gap_max_s``, ``worst_covered_fraction``)
    and, if the grid has population, population-weighted values
    (``pop_<figure>``).
    """
    if not constellations:
        raise OrbitlatError("compare needs at least one constellation: {'name': constellation, ...}.")
    rows = {}
    for nm, c in constellations.items():
        r = coverage(c, grid, **kwargs)
        row = {"n_sats": r.ds.attrs["n_sats"], **r.area_weighted().to_dict()}
        row["worst_n_visible_min"] = float(r.ds.n_visible_min.min())
        row["worst_covered_fraction"] = float(r.ds.covered_fraction.min())
        row["worst_gap_max_s"] = float(r.ds.gap_max_s.max())
        if grid.population is not None and grid.population.sum() > 0:
            row.update({f"pop_{k_}": v for k_, v in r.population_weighted().to_dict().items()})
        rows[str(nm)] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "constellation"
    df.attrs = {"grid": grid.name, **{k_: str(v) for k_, v in kwargs.items()}}
    return df
