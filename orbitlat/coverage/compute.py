"""The coverage driver: propagate in chunks, count satellites in view per grid point, reduce.

:func:`coverage` picks the kernel (the footprint-cap kernel on ring grids in the fast mode, the pair
engine otherwise), streams the span in propagation chunks and folds each block into the exact
segment summary of :mod:`orbitlat.coverage.figures`; with ``scheduler=`` the same work runs on
Dask. :func:`compare` puts several constellations side by side.
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Mapping
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.ground.grids import Grid
from orbitlat.coverage.figures import _SegmentAccumulator, _finish_segment, _span_weights
from orbitlat.coverage.result import CoverageResult, _coverage_dataset
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
def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1

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


def _prop_chunk(chunk_steps: int, n_t: int, n_sat: int) -> int:
    """Steps per propagation call: about 240 (a multiple of ``chunk_steps``), fewer when that many
    positions would exceed the streaming budget (:data:`orbitlat.orbits.stream.DEFAULT_CHUNK_MB`).
    The single-process and Dask paths both cut the span here (kepler-j2 rounds per call)."""
    from orbitlat.orbits.stream import chunk_steps_for

    base = max(chunk_steps, min(n_t, max(chunk_steps, (240 // chunk_steps) * chunk_steps)))
    fit = chunk_steps_for(n_sat)
    if fit < base:
        base = max(chunk_steps, (fit // chunk_steps) * chunk_steps)
    return base


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
    n_workers = _cpu_count() if workers is None else max(1, int(workers))
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
        Threads for the kernel (default: all cores).
    earth_radius_km : float
        Sphere radius of the fast mode.
    scheduler : None, str, distributed.Client or cluster
        Run on Dask (:func:`orbitlat.scale.coverage`): ``"threads"``,
        ``"processes"``, a ``distributed.Client``, a cluster, or an address such as
        ``"tcp://host:8786"``. ``None`` runs here in one process, unless an
        :func:`orbitlat.scale.using` block sets a scheduler. The result is the
        same (see ``docs/scaling.md``).
    time_chunk, point_chunk, retries
        Task sizes and retries on Dask (see :func:`orbitlat.scale.coverage`);
        giving a chunk size also selects the Dask path.

    Returns
    -------
    CoverageResult
    """
    import time as _time

    from orbitlat.scale import chunked as _parallel

    if scheduler is not None or time_chunk is not None or point_chunk is not None \
            or _parallel._CURRENT.get() is not None:
        if isinstance(constellation, xr.Dataset):
            raise OrbitlatError("coverage on a Dask scheduler takes a Constellation (tasks propagate their own "
                                "chunks), not a propagated ephemeris; pass the constellation, or scheduler=None.")
        return _parallel.coverage(constellation, grid, start=start, duration=duration, step=step, times=times,
                                  min_elevation_deg=min_elevation_deg, k=k, mode=mode, chunk_steps=chunk_steps,
                                  keep_series=keep_series, backend=backend, earth_radius_km=earth_radius_km,
                                  scheduler=scheduler, time_chunk=time_chunk, point_chunk=point_chunk,
                                  retries=retries)

    from orbitlat.orbits.constellation import Constellation
    from orbitlat.orbits.propagation import propagate
    from orbitlat.time import TimeGrid, to_timegrid

    t_start = _time.perf_counter()
    mask = _check_args(grid, mode, k, min_elevation_deg)
    from orbitlat.visibility.footprints import expected_mean_visible

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
        name = str(eph.attrs.get("constellation", "ephemeris"))
        n_sat = eph.sizes["sat"]
        attrs_c: dict = {}
    elif isinstance(constellation, Constellation):
        tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
        name = constellation.name
        n_sat = constellation.size
        attrs_c = {k_: v for k_, v in constellation.attrs.items() if isinstance(v, (str, int, float))}
    else:
        raise OrbitlatError(f"coverage takes a Constellation or an ITRS ephemeris Dataset; got "
                            f"{type(constellation).__name__}.")
    n_t = len(tg)
    w_t, span = _span_weights(tg)

    # ---- the per-block kernel
    use_rings = mode == "fast" and grid.is_ring
    if use_rings:
        from orbitlat.visibility.footprints import cap_counts

        def kernel(pos):
            return cap_counts(grid, pos, mask, earth_radius_km=earth_radius_km)

        engine_name = "footprint-cap (spherical)"
    else:
        from orbitlat.visibility.engine import SiteIndex
        from orbitlat.visibility.footprints import point_counts

        index = SiteIndex.from_latlon(grid.lat_deg, grid.lon_deg, 0.0, min_elevation_deg=mask,
                                      spherical=(mode == "fast"), radius_km=earth_radius_km)
        index.tree  # build once, before threads share it

        def kernel(pos):
            return point_counts(index, pos)

        engine_name = "pair engine (" + ("spherical" if mode == "fast" else "WGS84 geodetic") + ")"

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
    chunk_steps = int(chunk_steps)
    if chunk_steps < 1:
        raise OrbitlatError(f"chunk_steps={chunk_steps} must be >= 1.")
    if eph is None:  # refuse what cannot fit or would take days, before propagating anything
        from orbitlat.scale.resources import check_budget

        check_budget(estimate(constellation, grid, times=tg, min_elevation_deg=mask, mode=mode,
                              keep_series=keep_series, backend=backend, workers=workers,
                              earth_radius_km=earth_radius_km),
                     hint="Use a coarser grid or step, a shorter span, keep_series=False, or scheduler= to spread "
                          "the work over a Dask cluster.")
    n_workers = _cpu_count() if workers is None else max(1, int(workers))

    area_w = grid.weights
    uniform = bool(np.ptp(area_w) <= 1e-15 * area_w.max())  # equal areas: exact integer row sums
    acc = _SegmentAccumulator(grid.size, n_t, int(k), None if uniform else area_w, keep_series)
    identity = np.empty(n_t)
    failed = np.zeros(n_sat, dtype=bool)
    caught: list[warnings.WarningMessage] = []
    prop_chunk = _prop_chunk(chunk_steps, n_t, n_sat)
    t_prop = 0.0

    lean = eph is None and constellation.size >= 100_000  # no labelled Dataset per chunk (0.5 s at 10^6)

    def positions(i0: int, i1: int) -> np.ndarray:
        nonlocal t_prop
        if eph is not None:
            return np.asarray(eph["position"].isel(time=slice(i0, i1)).to_numpy(), dtype=np.float64)
        tp = _time.perf_counter()
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            if lean:
                from orbitlat.orbits.stream import positions as _positions

                pos, bad = _positions(constellation, tg[i0:i1], backend=backend)
            else:
                e = propagate(constellation, tg[i0:i1], backend=backend, frame="ITRS", velocity=False)
                pos, bad = e["position"].to_numpy(), e["failed"].to_numpy()
        caught.extend(wl)
        failed[:] |= bad
        t_prop += _time.perf_counter() - tp
        return pos

    if lean:  # what propagate() would have said: epochs up front, failures after the run
        from orbitlat.orbits.propagation import _warn_far_from_epoch

        if constellation.is_catalog.any():
            with warnings.catch_warnings(record=True) as wl:
                warnings.simplefilter("always")
                _warn_far_from_epoch(constellation, tg, 14.0)
            caught.extend(wl)

    if eph is not None and "failed" in eph:
        failed |= eph["failed"].to_numpy()

    forks = eph is None and (backend == "sgp4" or (backend == "auto" and bool(constellation.is_catalog.any())))
    pending: list = []
    max_inflight = 2 * n_workers

    def drain(limit: int) -> None:
        while len(pending) > limit:
            j0, fut = pending.pop(0)
            counts = fut.result()
            acc.add(counts, w_t[j0:j0 + counts.shape[0]])

    class _Inline:  # one worker: run blocks in this thread (same code path, no thread overhead)
        def submit(self, fn, *a):
            from concurrent.futures import Future

            f = Future()
            f.set_result(fn(*a))
            return f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    with (ThreadPoolExecutor(max_workers=n_workers) if n_workers > 1 else _Inline()) as ex:
        for p0 in range(0, n_t, prop_chunk):
            p1 = min(n_t, p0 + prop_chunk)
            if forks:  # sgp4 propagates in forked worker processes: fork with no kernel thread running
                drain(0)
            pos = positions(p0, p1)
            identity[p0:p1] = expected_mean_visible(pos, mask, earth_radius_km)
            for b0 in range(p0, p1, chunk_steps):
                b1 = min(p1, b0 + chunk_steps)
                pending.append((b0, ex.submit(kernel, pos[b0 - p0:b1 - p0])))
                drain(max_inflight)
        drain(0)

    if lean and failed.any():
        from orbitlat.errors import PropagationWarning

        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            warnings.warn(f"{int(failed.sum())} of {n_sat} satellites failed to propagate; their positions are NaN "
                          "where they failed and coverage counted them out there.", PropagationWarning)
        caught.extend(wl)
    # re-emit propagation warnings once each (chunked propagation repeats them)
    seen = set()
    for wm in caught:
        key = (wm.category, str(wm.message))
        if key not in seen:
            seen.add(key)
            warnings.warn(wm.message, wm.category, stacklevel=2)

    seg = acc.segment(0, n_t)
    foms = _finish_segment(seg, span, int(k))
    scale = area_w[0] if uniform else 1.0
    t_mean, t_cov1 = seg.t_mean * scale, seg.t_cov1 * scale
    t_covk = t_cov1 if k == 1 else seg.t_covk * scale
    wall = _time.perf_counter() - t_start
    ds = _coverage_dataset(grid, tg, foms, t_mean, t_cov1, t_covk, identity, seg.series,
                           name=name, n_sat=int(n_sat), n_failed=int(failed.sum()), source_attrs=attrs_c,
                           mask=mask, k=int(k), mode=mode, engine_name=engine_name, R=earth_radius_km,
                           span=span, chunk_steps=chunk_steps)
    return CoverageResult(ds, grid, {"wall_s": wall, "propagation_s": t_prop})

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
