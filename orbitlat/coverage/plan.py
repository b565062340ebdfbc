"""How coverage cuts its work for :mod:`orbitlat.scale`: chunks, the per-chunk kernel, the merge, the finish.

- **Chunks.** The span is cut into time chunks whose boundaries fall on the propagation chunk
  (``prop_chunk`` steps, about 240, fewer when that many positions would exceed the streaming
  budget of :mod:`orbitlat.orbits.stream`: 11 steps at 10⁶ satellites), the unit at which the single-process code starts a
  propagation call, because the kepler-j2 propagator's rounding depends on where a call
  starts. Grid points may be cut too: ring grids into latitude bands of whole rings (each a ring
  layout of its own, so the footprint kernel of a band only works on its rings), other grids
  into runs of consecutive points for the pair engine. One task per (time chunk, band).
- **Kernel** (:func:`coverage_chunk`): propagate the chunk (or slice the given ephemeris),
  count the satellites in view per point and step, fold the counts into a per-point segment
  summary (:class:`~orbitlat.coverage.figures._SegmentAccumulator`).
- **Merge**: :func:`~orbitlat.coverage.figures.merge_segments`, exact and associative, along
  time within each band (one group per band).
- **Finish**: the figures of merit per point (window edges closed with STK's convention), the
  per-step series summed over bands, the dataset.

Identical results. Counts, minima, maxima, gap counts and the per-step series do not depend
on the chunking. Sums of durations do not either when every partial sum is an exact float
(steps of whole or binary-fraction seconds); otherwise a different association of the sums
gives differences of a few ulp (< 1e-13 relative). Area-weighted series are the same on
equal-area grids; on grids with unequal areas cut into several bands they differ by rounding
(< 1e-13 relative), so runs on this machine do not cut points unless ``point_chunk`` is
given. The default run (no scheduler asked for) is one task over the whole span, its kernel
blocks on threads: the one-pass result for any step.
"""
from __future__ import annotations

import math
import time as _time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from orbitlat.coverage.figures import _finish_segment, _Segment, _SegmentAccumulator, merge_segments
from orbitlat.coverage.result import CoverageResult, _coverage_dataset
from orbitlat.scale.plan import Plan, time_bounds
from orbitlat.units import accepts_units

__all__ = ["coverage_plan", "coverage_chunk"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Grid points per band when a Dask cluster runs coverage (one band for grids up to that size).
DASK_POINT_CHUNK = 250_000


@dataclass
class _Spec:
    """Options every task shares."""

    mask: float
    k: int
    mode: str
    chunk_steps: int
    prop_chunk: int
    backend: str
    earth_radius_km: float
    keep_series: bool
    inner_workers: int  # kernel threads inside one task (the single-task local run only)
    prop_workers: int | None  # propagate(workers=): None (its default) only when one task runs here
    forks: bool  # sgp4 may fork worker processes while propagating: no kernel thread may run then


@dataclass
class _Points:
    """What a task needs of its points: a ring layout of its band (+ subset), or coordinates for the pair engine."""

    n_points: int
    layout: Any = None  # RingLayout of the band (footprint kernel)
    local: np.ndarray | None = None  # indices into the band layout's points; None = all, in order
    lat_deg: np.ndarray | None = None  # pair engine
    lon_deg: np.ndarray | None = None
    area_w: np.ndarray | None = None  # None on equal-area grids
    index: Any = None  # a prebuilt SiteIndex (local runs), else built by the task


@dataclass
class _Shared:
    constellation: Any  # Constellation, or None with an ephemeris
    positions: Any  # the ephemeris' position DataArray (time, sat, xyz), or None
    eph_failed: np.ndarray | None
    n_sat: int
    spec: _Spec
    points: list


@dataclass
class _Chunk:
    t0: int
    t1: int
    band: int
    utc: np.ndarray | None  # the chunk's instants (constellation input)
    w: np.ndarray  # the steps' time weights, s
    identity: bool  # compute the per-step identity series (the first band's tasks)


# =============================================================================
# propagation chunks
# =============================================================================
def _prop_chunk(chunk_steps: int, n_t: int, n_sat: int) -> int:
    """Steps per propagation call: about 240 (a multiple of ``chunk_steps``), fewer when that many
    positions would exceed the streaming budget (:data:`orbitlat.orbits.stream.DEFAULT_CHUNK_MB`).
    Every runner cuts the span here (kepler-j2 rounds per call), so every chunking gives the same bits."""
    from orbitlat.orbits.stream import chunk_steps_for

    base = max(chunk_steps, min(n_t, max(chunk_steps, (240 // chunk_steps) * chunk_steps)))
    fit = chunk_steps_for(n_sat)
    if fit < base:
        base = max(chunk_steps, (fit // chunk_steps) * chunk_steps)
    return base


# =============================================================================
# the kernel
# =============================================================================
def _counter(pc: _Points, spec: _Spec) -> Callable[[np.ndarray], np.ndarray]:
    if pc.layout is not None:
        from orbitlat.visibility.footprints import cap_counts

        def count(pos):
            n = cap_counts(pc.layout, pos, spec.mask, earth_radius_km=spec.earth_radius_km)
            return n if pc.local is None else n[:, pc.local]

        return count
    from orbitlat.visibility.footprints import point_counts

    index = pc.index if pc.index is not None else _pair_index(pc, spec)

    def count(pos):
        return point_counts(index, pos)

    return count


def _pair_index(pc: _Points, spec: _Spec):
    from orbitlat.visibility.engine import SiteIndex

    index = SiteIndex.from_latlon(pc.lat_deg, pc.lon_deg, 0.0, min_elevation_deg=spec.mask,
                                  spherical=(spec.mode == "fast"), radius_km=spec.earth_radius_km)
    index.tree  # build once, before threads share it
    return index


class _Blocks:
    """Kernel blocks folded in order: here, or on a few threads with at most two each in flight."""

    def __init__(self, count, acc: _SegmentAccumulator, workers: int):
        self.count, self.acc = count, acc
        self.ex = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        self.limit = 2 * workers
        self.pending: deque = deque()

    def add(self, pos: np.ndarray, w: np.ndarray) -> None:
        if self.ex is None:
            self.acc.add(self.count(pos), w)
            return
        self.pending.append((self.ex.submit(self.count, pos), w))
        self.drain(self.limit)

    def drain(self, limit: int = 0) -> None:
        while len(self.pending) > limit:
            f, w = self.pending.popleft()
            self.acc.add(f.result(), w)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.ex is not None:
            for f, _ in self.pending:
                f.cancel()
            self.ex.shutdown(wait=True)
        return False


def coverage_chunk(ch: _Chunk, sh: _Shared) -> _Segment:
    """One task: propagate a time chunk, count per point of a band, reduce to a segment summary."""
    from orbitlat.orbits.propagation import propagate
    from orbitlat.orbits.stream import positions
    from orbitlat.time import TimeGrid
    from orbitlat.visibility.footprints import expected_mean_visible

    tic, cpu0 = _time.perf_counter(), _time.thread_time()
    spec = sh.spec
    pc = sh.points[ch.band]
    T = ch.t1 - ch.t0
    acc = _SegmentAccumulator(pc.n_points, T, spec.k, pc.area_w, spec.keep_series)
    identity = np.empty(T) if ch.identity else None
    failed = np.zeros(sh.n_sat, dtype=bool)
    if sh.eph_failed is not None:
        failed |= sh.eph_failed
    tg = TimeGrid(ch.utc) if ch.utc is not None else None
    # a large designed constellation (kepler-j2: no failures, no epochs to warn about) skips the Dataset
    lean = tg is not None and sh.n_sat >= 100_000 and not bool(sh.constellation.is_catalog.any())
    t_prop = 0.0
    with _Blocks(_counter(pc, spec), acc, spec.inner_workers) as blocks:
        for p0 in range(0, T, spec.prop_chunk):
            p1 = min(T, p0 + spec.prop_chunk)
            if tg is None:
                pos = np.asarray(sh.positions.isel(time=slice(ch.t0 + p0, ch.t0 + p1)).to_numpy(), dtype=np.float64)
            else:
                if spec.forks:  # sgp4 forks worker processes: fork with no kernel thread running
                    blocks.drain(0)
                tp = _time.perf_counter()
                if lean:  # positions only: no labelled Dataset per chunk (0.5 s a call at 10^6 satellites)
                    pos, bad = positions(sh.constellation, tg[p0:p1], backend=spec.backend,
                                         workers=spec.prop_workers)
                    failed |= bad
                else:
                    e = propagate(sh.constellation, tg[p0:p1], backend=spec.backend, frame="ITRS", velocity=False,
                                  workers=spec.prop_workers)
                    failed |= e["failed"].to_numpy()
                    pos = e["position"].to_numpy()
                    del e
                t_prop += _time.perf_counter() - tp
            if identity is not None:
                identity[p0:p1] = expected_mean_visible(pos, spec.mask, spec.earth_radius_km)
            for b0 in range(p0, p1, spec.chunk_steps):
                b1 = min(p1, b0 + spec.chunk_steps)
                blocks.add(pos[b0 - p0:b1 - p0], ch.w[b0:b1])
            del pos
        blocks.drain(0)
    seg = acc.segment(ch.t0, ch.t1)
    seg.identity = identity
    seg.failed = failed
    seg.propagation_s = t_prop
    seg.compute_s = _time.perf_counter() - tic
    seg.cpu_s = _time.thread_time() - cpu0
    return seg


# =============================================================================
# chunking
# =============================================================================
def _ring_bands(grid, point_chunk: int) -> list[tuple[int, int, np.ndarray]]:
    """Cut a ring grid into bands of whole rings with about ``point_chunk`` grid points each.

    Returns ``(r0, r1, points)``: rings ``[r0, r1)`` of the layout and the grid indices of
    the points in them (in grid order).
    """
    layout = grid.rings
    ring_of = np.searchsorted(layout.start, grid.ring_index, side="right") - 1
    per_ring = np.bincount(ring_of, minlength=layout.n_rings)
    P = grid.size
    n_bands = max(1, math.ceil(P / point_chunk))
    cum = np.cumsum(per_ring)
    cuts = [0]
    for j in range(1, n_bands):
        r = int(np.searchsorted(cum, j * P / n_bands, side="left")) + 1
        if cuts[-1] < r < layout.n_rings:
            cuts.append(r)
    cuts.append(layout.n_rings)
    out = []
    order = np.argsort(ring_of, kind="stable")
    sorted_rings = ring_of[order]
    for r0, r1 in zip(cuts[:-1], cuts[1:]):
        lo, hi = np.searchsorted(sorted_rings, [r0, r1])
        pts = np.sort(order[lo:hi])
        if pts.size:
            out.append((r0, r1, pts))
    return out


def _band_layout(layout, r0: int, r1: int):
    from orbitlat.ground.grids import RingLayout

    return RingLayout(layout.lat_rad[r0:r1], layout.n_lon[r0:r1], layout.lon0_rad[r0:r1],
                      layout.edge_lat_rad[r0:r1 + 1])


def _point_chunks(grid, use_rings: bool, point_chunk: int, uniform: bool) -> tuple[list[_Points], list[np.ndarray]]:
    area_w = grid.weights
    chunks: list[_Points] = []
    where: list[np.ndarray] = []
    if use_rings:
        for r0, r1, pts in _ring_bands(grid, point_chunk):
            lay = _band_layout(grid.rings, r0, r1)
            local = grid.ring_index[pts] - grid.rings.start[r0]
            if local.size == lay.size and np.array_equal(local, np.arange(lay.size)):
                local = None
            chunks.append(_Points(pts.size, lay, local, area_w=None if uniform else area_w[pts]))
            where.append(pts)
    else:
        for p0 in range(0, grid.size, point_chunk):
            pts = np.arange(p0, min(grid.size, p0 + point_chunk))
            chunks.append(_Points(pts.size, lat_deg=grid.lat_deg[pts], lon_deg=grid.lon_deg[pts],
                                  area_w=None if uniform else area_w[pts]))
            where.append(pts)
    return chunks, where


# =============================================================================
# the plan
# =============================================================================
@accepts_units
def coverage_plan(source, grid, tg, w_t: np.ndarray, span: float, *, eph=None, mask: float, k: int, mode: str,
                  chunk_steps: int, keep_series: bool, backend: str, earth_radius_km: float, runner,
                  time_chunk: int | None = None, point_chunk: int | None = None, explicit: bool = False,
                  wall0: float | None = None) -> Plan:
    """The coverage of ``source`` (a Constellation, or None with ``eph``) over ``grid`` as a :class:`Plan`.

    ``runner`` (an :class:`orbitlat.scale.runners.Runner`) sizes the default chunks. Without an
    explicit scheduler (``explicit=False``) the whole span is one task, whose kernel blocks run
    on the runner's threads: the one-pass result for any step. With ``"threads"`` or
    ``"processes"`` asked for, one task per propagation chunk (about four per worker); on Dask
    about four tasks per worker thread and bands of :data:`DASK_POINT_CHUNK` points.
    ``explicit`` also adds the ``parallel_*`` attrs to the result.
    """
    wall0 = _time.perf_counter() if wall0 is None else wall0
    n_t = len(tg)
    n_sat = int(eph.sizes["sat"]) if eph is not None else int(source.size)
    use_rings = mode == "fast" and grid.is_ring
    prop_chunk = _prop_chunk(chunk_steps, n_t, n_sat)
    area_w = grid.weights
    uniform = bool(np.ptp(area_w) <= 1e-15 * area_w.max())  # equal areas: exact integer row sums
    if point_chunk is None:
        point_chunk = grid.size if runner.is_local else DASK_POINT_CHUNK
    points, where = _point_chunks(grid, use_rings, point_chunk, uniform)
    n_bands = len(points)
    if time_chunk is not None:
        bounds = time_bounds(n_t, prop_chunk, time_chunk)
    elif runner.is_local and (not explicit or runner.workers <= 1 or runner.kind == "sync"):
        # the default here: the whole span in one task whose kernel blocks run on `workers` threads:
        # the one-pass sums for any step, and no slower than time chunks on the threads runner
        # (Starlink, 1° grid, a day: 10.9 s against 12.5 s, then 17.0 s against 16.7 s; docs/scaling.md)
        bounds = [0, n_t]
    else:
        bounds = time_bounds(n_t, prop_chunk, None, runner.workers, 4, n_bands)
    single = runner.is_local and len(bounds) == 2 and n_bands == 1
    forks = eph is None and (backend == "sgp4" or (backend == "auto" and bool(source.is_catalog.any())))
    spec = _Spec(mask, int(k), mode, int(chunk_steps), prop_chunk, backend, float(earth_radius_km),
                 bool(keep_series), runner.workers if single else 1, None if single else 1, forks and single)
    if runner.is_local and not use_rings:
        for pc in points:  # built once here; tasks on this machine share it
            pc.index = _pair_index(pc, spec)
    shared = _Shared(source if eph is None else None, eph["position"] if eph is not None else None,
                     eph["failed"].to_numpy() if (eph is not None and "failed" in eph) else None, n_sat, spec, points)
    chunks, groups = [], []
    for b in range(n_bands):
        for a, z in zip(bounds[:-1], bounds[1:]):
            chunks.append(_Chunk(a, z, b, tg.utc[a:z] if eph is None else None, w_t[a:z], b == 0))
            groups.append(b)

    engine_name = ("footprint-cap (spherical)" if use_rings else
                   "pair engine (" + ("spherical" if mode == "fast" else "WGS84 geodetic") + ")")
    if eph is not None:
        name, attrs_c = str(eph.attrs.get("constellation", "ephemeris")), {}
    else:
        name = source.name
        attrs_c = {k_: v for k_, v in source.attrs.items() if isinstance(v, (str, int, float))}
    plan = Plan(coverage_chunk, chunks, shared, merge=merge_segments, groups=groups, name="orbitlat-coverage")
    extra = ({"parallel_scheduler": runner.label, "parallel_time_chunk": int(bounds[1] - bounds[0]),
              "parallel_point_chunks": n_bands, "parallel_tasks": len(plan.chunks)} if explicit else None)

    def finish(segs: list[_Segment]) -> CoverageResult:
        P = grid.size
        if len(segs) == 1 and np.array_equal(where[0], np.arange(P)):
            seg = segs[0]
            foms = _finish_segment(seg, span, int(k))
            series = seg.series
            t_parts = {"t_mean": seg.t_mean, "t_cov1": seg.t_cov1, "t_covk": seg.t_covk}
            failed = seg.failed
        else:
            foms = {}
            series = np.empty((n_t, P), dtype=np.uint16) if keep_series else None
            t_parts = {"t_mean": None, "t_cov1": None, "t_covk": None}
            failed = np.zeros(n_sat, dtype=bool)
            for seg, pts in zip(segs, where):
                for nm, v in _finish_segment(seg, span, int(k)).items():
                    if nm not in foms:
                        foms[nm] = np.zeros(P, dtype=v.dtype)
                    foms[nm][pts] = v
                for nm in t_parts:
                    v = getattr(seg, nm)
                    if v is not None:
                        t_parts[nm] = v.copy() if t_parts[nm] is None else t_parts[nm] + v
                if series is not None:
                    series[:, pts] = seg.series
                failed |= seg.failed
        scale = area_w[0] if uniform else 1.0
        t_mean, t_cov1 = t_parts["t_mean"] * scale, t_parts["t_cov1"] * scale
        t_covk = t_cov1 if k == 1 else t_parts["t_covk"] * scale
        ds = _coverage_dataset(grid, tg, foms, t_mean, t_cov1, t_covk, segs[0].identity, series, name=name,
                               n_sat=n_sat, n_failed=int(failed.sum()), source_attrs=attrs_c, mask=mask, k=int(k),
                               mode=mode, engine_name=engine_name, R=earth_radius_km, span=span,
                               chunk_steps=int(chunk_steps), extra=extra)
        timings = {"wall_s": _time.perf_counter() - wall0,
                   "propagation_s": float(sum(s.propagation_s for s in segs)),
                   "compute_s": float(sum(s.compute_s for s in segs)), "cpu_s": float(sum(s.cpu_s for s in segs)),
                   "n_tasks": int(sum(s.n_tasks for s in segs))}
        return CoverageResult(ds, grid, timings)

    plan.finish = finish
    return plan

