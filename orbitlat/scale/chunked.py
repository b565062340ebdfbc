"""Scale out on Dask: coverage, visible sets, passes and latency in chunks, same answers.

The functions here run the same computations as :func:`orbitlat.coverage.coverage`,
:func:`orbitlat.visibility.iter_visible` / :func:`~orbitlat.visibility.passes` and the
latency scenarios of :mod:`orbitlat.latency`, cut into tasks that Dask schedules
(threads, processes, or a :mod:`distributed` cluster of many machines). There is no
home-made scheduler: the work is a Dask task graph; retries, work stealing and
recovery from a lost worker are Dask's.

Chunking
--------
- **Time.** The span is cut into chunks of ``time_chunk`` steps. Each task receives
  the constellation *definition* (its table: elements or TLE lines, a few MB at most)
  and its slice of the time grid, and propagates its own chunk; no ephemeris is shipped.
  sgp4 ``Satrec`` objects do not pickle: they are dropped when a constellation is sent
  (see :class:`Shipped`) and rebuilt, once per worker process, from the TLE lines or
  elements.
- **Grid points** (coverage only). Ring grids (:meth:`orbitlat.ground.grids.Grid.equal_area`,
  :meth:`~orbitlat.ground.grids.Grid.latlon` and their subsets) are cut into latitude bands of
  whole rings with about ``point_chunk`` points, and each band is a ring grid of its
  own, so the footprint kernel only works on the rings of its band. Other grids are cut
  into consecutive runs of points for the pair engine.
- **Alignment.** Chunk boundaries fall on the boundaries at which the single-process
  code propagates (coverage: its propagation chunk, about 240 steps; ``iter_visible``,
  ``passes`` and ``route``: their ``chunk`` / 60 steps). ``time_chunk`` is rounded up to
  a multiple of that unit. This is what makes the answers identical: the kepler-j2
  propagator's rounding depends on where a propagation call starts.

Exact reduction of coverage
---------------------------
Each (time chunk, point chunk) task reduces its counts to a per-point *segment summary*:
count min/max/sums, covered-time sums, the closed gaps strictly inside the chunk
(count, sum, sum of squares, maximum), and the boundary state: the length of the gap
open at the chunk's start (``head``), the one open at its end (``tail``), and whether
the point was uncovered at every step (then ``head == tail`` = the whole chunk). Two
adjacent summaries combine associatively (a "segment merge" monoid): the left tail and
the right head are one gap, closed inside the union unless one side was uncovered
throughout. A tree of such merges reduces a whole span; the window edges are then
closed with the STK convention of :data:`orbitlat.coverage.GAP_CONVENTION`. Every
figure of merit, maxima included, is therefore exact: no order statistic is
approximated.

Identical results
-----------------
Counts, minima, maxima, gap counts and the per-step series are bit-for-bit those of
the single-process run. Sums of durations are bit-for-bit whenever the time steps are
whole (or binary-fraction) seconds, because every partial sum is then an exact float
(the usual case: 10 s, 60 s steps); otherwise the different association of the sums
gives differences of a few ulp (< 1e-13 relative). The area-weighted series are
bit-for-bit on equal-area grids; on grids with unequal areas cut into several point
chunks they differ by rounding (< 1e-13 relative). Visible sets: bit for bit against
``iter_visible``. Passes: the same passes and maximum elevations; rise, culmination and
set within 1 ns (each chunk counts float seconds from its own start before rounding to
the output's whole nanoseconds), durations within 1e-11 s. Latency: bit for bit.

Schedulers (``scheduler=``)
---------------------------
``None``
    The scheduler set with :func:`using`, else local threads (Dask's threaded scheduler).
``"threads"``, ``"processes"``, ``"sync"``
    Dask's local schedulers (``"sync"`` runs everything in this thread, for debugging).
a :class:`distributed.Client`, a cluster object, or an address
    ``"tcp://host:8786"`` (or ``"host:8786"``): a :mod:`distributed` cluster; with an
    address a client is opened for the call and closed after it. ``retries=`` is passed
    to Dask (tasks that raise are retried; tasks lost with a dead worker are recomputed
    by Dask in any case).

See ``docs/scaling.md`` for multi-node setup and chunk sizing.

>>> import orbitlat as ol
>>> from orbitlat.ground import Grid
>>> from orbitlat import scale as parallel
>>> r = parallel.coverage(ol.presets.get("gps"), Grid.equal_area(10.0), start="2026-01-01", duration="2h",
...                       step="10min", min_elevation_deg=5.0, k=4, scheduler="sync")
>>> float(r.ds.covered_fraction_k.min())
1.0
"""
from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import os
import re
import time as _time
import uuid
import warnings
from dataclasses import dataclass
from typing import Any, Iterator, Sequence

import numpy as np

from orbitlat.coverage.figures import _finish_segment, _Segment, _SegmentAccumulator
from orbitlat.errors import EpochWarning, OrbitlatError, PropagationWarning
from orbitlat.units import accepts_units

__all__ = ["coverage", "visible_sets", "passes", "route", "latency", "using", "tune_workers", "Shipped", "SCENARIOS",
           "LOCAL_SCHEDULERS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Dask's local schedulers accepted by name.
LOCAL_SCHEDULERS = ("threads", "processes", "sync")
_LOCAL_ALIASES = {"threads": "threads", "threaded": "threads", "thread": "threads", "processes": "processes",
                  "process": "processes", "multiprocessing": "processes", "sync": "sync",
                  "synchronous": "sync", "single-threaded": "sync"}

#: Latency entry points of :mod:`orbitlat.latency` that :func:`latency` runs in time chunks.
SCENARIOS = ("route", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "nearest_compute")

#: Steps per propagation call of ``iter_visible`` (its default ``chunk``) and of ``Network.positions``.
_VISIBLE_UNIT = 60
_LATENCY_UNIT = 60


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


# =============================================================================
# shipping objects to workers
# =============================================================================
def _strip(obj: Any) -> Any:
    """A copy of ``obj`` without caches that do not pickle (sgp4 ``Satrec`` lists on constellations)."""
    from orbitlat.orbits.constellation import Constellation

    if isinstance(obj, Constellation):
        if getattr(obj, "_satrecs", None) is None:
            return obj
        c = copy.copy(obj)
        c._satrecs = None
        return c
    if isinstance(obj, (list, tuple)):
        return type(obj)(_strip(x) for x in obj)
    if isinstance(obj, dict):
        return {k: _strip(v) for k, v in obj.items()}
    if type(obj).__name__ == "Network" and type(obj).__module__.endswith("network"):
        n = copy.copy(obj)
        n.constellation = _strip(n.constellation)
        n.odc = _strip(n.odc)
        if hasattr(n, "_odc_list"):
            n._odc_list = [_strip(o) for o in n._odc_list]
        return n
    return obj


class Shipped:
    """Wraps an object sent to Dask workers; pickles it without sgp4 ``Satrec`` caches.

    A :class:`~orbitlat.orbits.constellation.Constellation` caches one ``sgp4`` ``Satrec`` per
    satellite after its first sgp4 propagation, and those do not pickle. Wrapped, it
    pickles as its table (TLE lines or elements), and each worker process rebuilds the
    ``Satrec`` objects once, on first use, then reuses them for every task it runs
    (Dask keeps one deserialized copy of the wrapped object per worker). Networks
    (:class:`orbitlat.latency.network.Network`) and lists/tuples/dicts of these are handled too.

    >>> import pickle, orbitlat as ol
    >>> c = ol.presets.get("iridium")
    >>> _ = c.propagate(start="2026-01-01", duration="1min", step="1min", backend="sgp4")  # caches Satrecs
    >>> pickle.loads(pickle.dumps(Shipped(c))).obj.size
    66
    """

    def __init__(self, obj: Any):
        self.obj = obj

    def __getstate__(self):
        return {"obj": _strip(self.obj)}

    def __setstate__(self, state):
        self.obj = state["obj"]

    def __repr__(self) -> str:
        return f"Shipped({type(self.obj).__name__})"


# =============================================================================
# schedulers
# =============================================================================
@dataclass
class _Runner:
    """How to run a task graph: a local Dask scheduler or a distributed client."""

    kind: str  # "threads" | "processes" | "sync" | "distributed"
    client: Any = None
    owns: bool = False
    label: str = ""

    @property
    def nthreads(self) -> int:
        if self.kind == "distributed":
            try:
                return max(1, int(sum(self.client.nthreads().values())))
            except Exception:  # pragma: no cover - scheduler unreachable: fall back to a guess
                return 1
        if self.kind == "sync":
            return 1
        return _cpu_count()

    def compute(self, items: list, retries: int) -> list:
        import dask

        if self.kind == "distributed":
            futs = self.client.compute(items, retries=int(retries), optimize_graph=False)
            try:
                return self.client.gather(futs)
            finally:
                for f in futs:
                    f.release()
        kw = {"num_workers": _cpu_count()} if self.kind in ("threads", "processes") else {}
        return list(dask.compute(*items, scheduler=self.kind, optimize_graph=False, **kw))

    def close(self) -> None:
        if self.owns and self.client is not None:
            self.client.close()
            self.client = None


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("orbitlat_parallel_scheduler", default=None)
_ADDRESS = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d+$")


def _distributed():
    try:
        import distributed
    except ImportError:  # pragma: no cover - distributed is a dependency of dask[distributed]
        raise OrbitlatError("a Dask cluster needs the `distributed` package: "
                            "pip install 'dask[distributed]'.") from None
    return distributed


def _resolve(scheduler: Any) -> _Runner:
    if scheduler is None:
        scheduler = _CURRENT.get()
        if scheduler is None:
            return _Runner("threads", label="local threads")
    if isinstance(scheduler, _Runner):
        return _Runner(scheduler.kind, scheduler.client, False, scheduler.label)
    if isinstance(scheduler, str):
        s = scheduler.strip()
        kind = _LOCAL_ALIASES.get(s.lower())
        if kind is not None:
            return _Runner(kind, label=f"local {kind}")
        if "://" in s or _ADDRESS.match(s):
            d = _distributed()
            from orbitlat.scale.probe import probe_scheduler

            # seconds, not minutes: refused, silent or non-Dask peers are named before a Client connects
            probe_scheduler(s, timeout=float(os.environ.get("ORBITLAT_SCHEDULER_TIMEOUT", "5")))
            try:
                client = d.Client(s, set_as_default=False, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise OrbitlatError(
                    f"could not reach a Dask scheduler at {s!r} ({exc}). Start one with `dask scheduler` "
                    "(it prints its address, e.g. tcp://10.0.0.5:8786) and workers with `dask worker ADDRESS`, "
                    "or pass scheduler=None for local threads."
                ) from None
            _auto_tune(client)
            return _Runner("distributed", client, True, f"distributed {s}")
        raise OrbitlatError(
            f"scheduler={scheduler!r} is not known; use None (local threads), 'threads', 'processes', 'sync', "
            "a distributed.Client, a cluster, or a scheduler address such as 'tcp://host:8786'."
        )
    mod = type(scheduler).__module__ or ""
    if mod.startswith("distributed") or mod.startswith("dask"):
        d = _distributed()
        if isinstance(scheduler, d.Client):
            return _Runner("distributed", scheduler, False, f"distributed {scheduler.scheduler.address}")
        if hasattr(scheduler, "scheduler_address"):  # LocalCluster, SpecCluster, dask-jobqueue clusters ...
            client = d.Client(scheduler, set_as_default=False)
            _auto_tune(client)
            return _Runner("distributed", client, True, f"distributed {scheduler.scheduler_address}")
    raise OrbitlatError(
        f"scheduler of type {type(scheduler).__name__} is not supported; use None, 'threads', 'processes', "
        "'sync', a distributed.Client, a cluster object, or an address such as 'tcp://host:8786'."
    )


def _auto_tune(client) -> None:
    """Apply :func:`tune_workers` to a cluster orbitlat connects to itself (an address or a cluster
    object); a ``distributed.Client`` passed in is left as its owner set it up. Opt out with the
    environment variable ``ORBITLAT_TUNE_WORKERS=0``."""
    if os.environ.get("ORBITLAT_TUNE_WORKERS", "1").strip().lower() in ("0", "false", "no", "off"):
        return
    try:
        _tune_client(client)
    except Exception as exc:  # a cluster that refuses plugins still runs, only slower
        warnings.warn(f"could not tune the Dask workers' allocator ({exc}); coverage and visibility tasks may "
                      "run 2-3x slower (see orbitlat.scale.tune_workers).", RuntimeWarning, stacklevel=4)


@contextlib.contextmanager
def using(scheduler: Any) -> Iterator[Any]:
    """Make ``scheduler`` the default of every function here inside a ``with`` block.

    An address opens one client for the whole block (closed at its end). Yields the
    :class:`distributed.Client` for a cluster, else the local scheduler's name.

    >>> import orbitlat as ol
    >>> from orbitlat.ground import Grid
    >>> with using("sync") as s:
    ...     r = coverage(ol.presets.get("gps"), Grid.equal_area(15.0), start="2026-01-01", duration="1h",
    ...                  step="30min")
    >>> s, r.ds.attrs["parallel_scheduler"]
    ('sync', 'local sync')
    """
    runner = _resolve(scheduler)
    token = _CURRENT.set(runner)
    try:
        yield runner.client if runner.kind == "distributed" else runner.kind
    finally:
        _CURRENT.reset(token)
        runner.close()


@contextlib.contextmanager
def _running(scheduler: Any) -> Iterator[_Runner]:
    runner = _resolve(scheduler)
    try:
        yield runner
    finally:
        runner.close()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>


def _mallopt(trim_bytes: int, mmap_bytes: int) -> bool:
    """Set glibc's malloc trim and mmap thresholds in this process; False where there is no glibc."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_TRIM_THRESHOLD, int(trim_bytes))) and \
            bool(libc.mallopt(_M_MMAP_THRESHOLD, int(mmap_bytes)))
    except (OSError, AttributeError):  # pragma: no cover - not glibc (macOS, Windows, musl)
        return False


def tune_workers(scheduler: Any, *, trim_threshold_mb: float = 128.0, mmap_threshold_mb: float = 32.0) -> dict:
    """Give every worker of a cluster glibc's large-allocation behaviour back (2-3x faster kernels).

    :mod:`distributed` starts worker processes with ``MALLOC_TRIM_THRESHOLD_=65536``
    (``distributed.nanny.pre-spawn-environ``) so that freed memory returns to the
    operating system quickly. Setting that variable also freezes glibc's mmap threshold at
    128 KiB, so every large numpy temporary of the coverage and visibility kernels is a
    fresh ``mmap`` whose pages the kernel must zero on first touch: measured here, a
    coverage task of Starlink on a 1° grid runs 2-3x slower than in a plain process. This
    sets the trim threshold to ``trim_threshold_mb`` and the mmap threshold to
    ``mmap_threshold_mb`` (glibc's own dynamic maximum is 32 MB) in every worker, now and
    in workers that join or restart later (a worker plugin named ``"orbitlat-malloc"``).
    Workers then hold on to up to about ``trim_threshold_mb`` of freed memory each.

    Parameters
    ----------
    scheduler : distributed.Client, cluster, or address
    trim_threshold_mb, mmap_threshold_mb : float

    Returns
    -------
    dict
        Worker address -> True where the setting took (False without glibc).
    """
    runner = _resolve(scheduler)
    try:
        if runner.kind != "distributed":
            raise OrbitlatError(f"tune_workers needs a distributed cluster (a Client, a cluster or an address); got "
                                f"{runner.label!r}. Local threads and processes use this process's allocator.")
        return _tune_client(runner.client, trim_threshold_mb, mmap_threshold_mb)
    finally:
        runner.close()


def _tune_client(client, trim_threshold_mb: float = 128.0, mmap_threshold_mb: float = 32.0) -> dict:
    from distributed.diagnostics.plugin import WorkerPlugin

    trim, mm = int(trim_threshold_mb * 2**20), int(mmap_threshold_mb * 2**20)

    class _MallocPlugin(WorkerPlugin):
        def setup(self, worker):
            _mallopt(trim, mm)

    client.register_plugin(_MallocPlugin(), name="orbitlat-malloc")
    return client.run(_mallopt, trim, mm)


def _check_retries(retries: Any) -> int:
    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or retries < 0:
        raise OrbitlatError(f"retries={retries!r} must be a whole number >= 0 (times Dask re-runs a failed task).")
    return int(retries)


def _check_chunk(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OrbitlatError(f"{name}={value!r} must be a whole number >= 1, or None for the default.")
    return int(value)


def _time_bounds(n: int, unit: int, time_chunk: int | None, n_threads: int, n_other: int = 1,
                 overlap: bool = False) -> list[int]:
    """Chunk boundaries over ``n`` steps (or ``n - 1`` intervals with ``overlap``), multiples of ``unit``.

    Default size: about four tasks per thread (balance, cheap retries). A last chunk shorter
    than a quarter of the others is folded into the one before it.
    """
    span = n - 1 if overlap else n
    n_units = max(1, math.ceil(span / unit))
    if time_chunk is None:
        target = max(1, math.ceil(4 * n_threads / max(n_other, 1)))
        per = max(1, math.ceil(n_units / target))
    else:
        per = max(1, math.ceil(time_chunk / unit))
    size = per * unit
    bounds = list(range(0, span, size)) + [span]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < max(1, size // 4):
        del bounds[-2]
    if overlap and len(bounds) > 2 and bounds[-1] - bounds[-2] < 2:  # passes need >= 2 samples per chunk
        del bounds[-2]
    return bounds


def _tree_reduce(items: list, merge, name: str):
    """Ordered pairwise reduction in the graph (merge must be associative)."""
    from dask import delayed

    level = 0
    while len(items) > 1:
        nxt = [delayed(merge, pure=True)(items[i], items[i + 1], dask_key_name=f"{name}-merge-{level}-{i // 2}")
               for i in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            nxt.append(items[-1])
        items = nxt
        level += 1
    return items[0]


def _literal(obj: Any, name: str):
    from dask import delayed

    return delayed(obj, name=name, traverse=False)


def _reemit(caught: Sequence[tuple], stacklevel: int = 3) -> None:
    seen = set()
    for cat, msg in caught:
        if (cat, msg) not in seen:
            seen.add((cat, msg))
            warnings.warn(msg, cat, stacklevel=stacklevel)


def _epoch_warning(c, tg, limit_days: float) -> None:
    """The up-front EpochWarning of the single-process functions, for the whole span."""
    from orbitlat.orbits.propagation import _warn_far_from_epoch

    _warn_far_from_epoch(c, tg, limit_days, stacklevel=4)


def _check_backend(c, backend: str) -> None:
    """The propagator's own argument checks, up front (a task that raises would be retried in vain)."""
    from orbitlat.orbits.propagation import BACKENDS

    if backend not in BACKENDS:
        raise OrbitlatError(f"backend={backend!r} is not known; valid backends are {', '.join(BACKENDS)}.")
    cat = c.is_catalog
    if backend not in ("auto", "sgp4") and cat.any():
        raise OrbitlatError(
            f"backend={backend!r} cannot propagate TLE/OMM satellites ({int(cat.sum())} here): their "
            "elements are SGP4 mean elements. Use backend='sgp4'."
        )


def _constellation_of(obj: Any, what: str):
    from orbitlat.orbits.constellation import Constellation

    if isinstance(obj, Constellation):
        return obj
    if isinstance(obj, str):
        from orbitlat.orbits import presets

        return presets.get(obj)
    import xarray as xr

    if isinstance(obj, xr.Dataset):
        raise OrbitlatError(
            f"parallel.{what} takes the Constellation, not an ephemeris: each task propagates its own time "
            "chunk from the constellation's elements/TLEs, so nothing large is shipped. Pass the Constellation, "
            f"or call the single-process function on the ephemeris."
        )
    raise OrbitlatError(f"parallel.{what} takes a Constellation (or a preset name); got {type(obj).__name__}.")


# =============================================================================
# coverage: the segment-summary monoid
# =============================================================================
def _cat(a, b):
    return None if a is None else np.concatenate([a, b])


def _merge_segments(L: _Segment, R: _Segment) -> _Segment:
    """The segment of ``L`` followed by ``R`` (associative; ``L.t1`` must equal ``R.t0``)."""
    t, tc = _time.perf_counter(), _time.thread_time()
    if L.t1 != R.t0:
        raise OrbitlatError(f"internal: segments [{L.t0}, {L.t1}) and [{R.t0}, {R.t1}) are not adjacent.")
    mid = L.tail + R.head  # the gap across the boundary (0 if covered on either side of it)
    inside = ~L.all_unc & ~R.all_unc & (mid > 0)  # closed inside the union
    mid_in = np.where(inside, mid, 0.0)
    out = _Segment(
        L.t0, R.t1,
        np.minimum(L.n_min, R.n_min), np.maximum(L.n_max, R.n_max), L.n_sum + R.n_sum, L.cov1 + R.cov1,
        None if L.covk is None else L.covk + R.covk,
        np.where(L.all_unc, mid, L.head), np.where(R.all_unc, mid, R.tail), L.all_unc & R.all_unc,
        L.gap_n + R.gap_n + inside, L.gap_sum + R.gap_sum + mid_in, L.gap_sq + R.gap_sq + mid_in * mid_in,
        np.maximum(np.maximum(L.gap_max, R.gap_max), mid_in),
        np.concatenate([L.t_mean, R.t_mean]), np.concatenate([L.t_cov1, R.t_cov1]), _cat(L.t_covk, R.t_covk),
        identity=_cat(L.identity, R.identity), series=_cat(L.series, R.series),
        failed=None if L.failed is None else L.failed | R.failed, caught=L.caught + R.caught,
        propagation_s=L.propagation_s + R.propagation_s, n_tasks=L.n_tasks + R.n_tasks + 1,
    )
    out.compute_s = L.compute_s + R.compute_s + (_time.perf_counter() - t)
    out.cpu_s = L.cpu_s + R.cpu_s + (_time.thread_time() - tc)
    return out


# =============================================================================
# coverage: tasks
# =============================================================================
@dataclass
class _CoverageSpec:
    mask: float
    k: int
    mode: str
    chunk_steps: int
    prop_chunk: int
    backend: str
    earth_radius_km: float
    keep_series: bool
    uniform: bool


@dataclass
class _PointChunk:
    """What a task needs of its points: a band ring layout (+ subset), or coordinates for the pair engine."""

    n_points: int
    layout: Any = None  # RingLayout of the band (footprint kernel)
    local: np.ndarray | None = None  # indices into the band layout's points; None = all, in order
    lat_deg: np.ndarray | None = None  # pair engine
    lon_deg: np.ndarray | None = None
    area_w: np.ndarray | None = None  # None on equal-area grids


def _coverage_leaf(job: Shipped, spec: _CoverageSpec, pc: _PointChunk, t0: int, utc: np.ndarray, w: np.ndarray,
                   want_identity: bool) -> _Segment:
    """One (time chunk, point chunk) task: propagate the chunk, count, reduce to a segment summary."""
    from orbitlat.visibility.footprints import expected_mean_visible
    from orbitlat.orbits.propagation import propagate
    from orbitlat.time import TimeGrid

    tic, cpu0 = _time.perf_counter(), _time.thread_time()
    c = job.obj
    tg = TimeGrid(utc)
    T = len(tg)
    if pc.layout is not None:
        from orbitlat.visibility.footprints import cap_counts

        def kernel(pos):
            n = cap_counts(pc.layout, pos, spec.mask, earth_radius_km=spec.earth_radius_km)
            return n if pc.local is None else n[:, pc.local]
    else:
        from orbitlat.visibility.engine import SiteIndex
        from orbitlat.visibility.footprints import point_counts

        index = SiteIndex.from_latlon(pc.lat_deg, pc.lon_deg, 0.0, min_elevation_deg=spec.mask,
                                      spherical=(spec.mode == "fast"), radius_km=spec.earth_radius_km)
        index.tree

        def kernel(pos):
            return point_counts(index, pos)

    acc = _SegmentAccumulator(pc.n_points, T, spec.k, pc.area_w, spec.keep_series)
    identity = np.empty(T) if want_identity else None
    failed = np.zeros(c.size, dtype=bool)
    caught: list = []
    t_prop = 0.0
    for p0 in range(0, T, spec.prop_chunk):
        p1 = min(T, p0 + spec.prop_chunk)
        tp = _time.perf_counter()
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            e = propagate(c, tg[p0:p1], backend=spec.backend, frame="ITRS", velocity=False, workers=1)
        caught.extend((wm.category, str(wm.message)) for wm in wl)
        failed |= e["failed"].to_numpy()
        pos = e["position"].to_numpy()
        t_prop += _time.perf_counter() - tp
        if identity is not None:
            identity[p0:p1] = expected_mean_visible(pos, spec.mask, spec.earth_radius_km)
        for b0 in range(p0, p1, spec.chunk_steps):
            b1 = min(p1, b0 + spec.chunk_steps)
            acc.add(kernel(pos[b0 - p0:b1 - p0]), w[b0:b1])
        del pos, e
    seg = acc.segment(t0, t0 + T)
    seg.identity = identity
    seg.failed = failed
    seg.caught = caught
    seg.propagation_s = t_prop
    seg.compute_s = _time.perf_counter() - tic
    seg.cpu_s = _time.thread_time() - cpu0
    return seg


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


def _default_chunk_steps(c, grid, mask: float, earth_radius_km: float, use_rings: bool) -> int:
    """coverage()'s default kernel block (the single-process code's formula, needed for identical chunks)."""
    from orbitlat.visibility.footprints import cap_half_angle_rad

    if not use_rings:
        return 8
    t_ = c.table
    r_sat = (t_["a_km"] * (1 + t_["ecc"])).to_numpy(np.float64)
    lam = np.nan_to_num(cap_half_angle_rad(r_sat, mask, earth_radius_km))
    ring_sp = np.pi / grid.rings.n_rings
    per_step = max(1.0, float(np.sum(np.minimum(2 * lam / ring_sp + 1, grid.rings.n_rings))))
    return int(np.clip(250_000 / per_step, 1, 64))


@accepts_units
def coverage(constellation, grid, *, start: Any = None, duration: Any = None, step: Any = None, times: Any = None,
             min_elevation_deg: float = 10.0, k: int = 2, mode: str = "fast", chunk_steps: int | None = None,
             keep_series: bool = False, backend: str = "auto", earth_radius_km: float | None = None,
             scheduler: Any = None, time_chunk: int | None = None, point_chunk: int | None = None,
             retries: int = 2):
    """:func:`orbitlat.coverage.coverage` on Dask, chunked along time and grid points; the same result.

    Parameters
    ----------
    constellation : Constellation or str
        The satellites (or a preset name). Not an ephemeris: tasks propagate their own chunks.
    grid, start, duration, step, times, min_elevation_deg, k, mode, chunk_steps, keep_series, backend, earth_radius_km
        As for :func:`orbitlat.coverage.coverage`.
    scheduler : None, str, distributed.Client or cluster
        See the module docs (None: the one set by :func:`using`, else local threads).
    time_chunk : int, optional
        Time steps per task, rounded up to a multiple of the single-process propagation
        chunk (default: about four tasks per worker thread).
    point_chunk : int, optional
        Grid points per task (whole rings on ring grids; default 250,000: one chunk for
        grids up to that size).
    retries : int
        Times Dask re-runs a task that raised (distributed only).

    Returns
    -------
    CoverageResult
        Identical to the single-process result (see the module docs); ``ds.attrs`` adds
        ``parallel_scheduler``, ``parallel_time_chunk``, ``parallel_point_chunks`` and
        ``parallel_tasks``; ``timings`` adds ``compute_s`` (sum of the tasks' wall
        times), ``cpu_s`` (sum of their CPU times) and ``n_tasks``.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.ground import Grid
    >>> from orbitlat.coverage.compute import coverage as single
    >>> c, g = ol.presets.get("iridium"), Grid.equal_area(10.0)
    >>> kw = dict(start="2026-01-01", duration="6h", step="60s", min_elevation_deg=20.0)
    >>> a = coverage(c, g, scheduler="threads", time_chunk=100, point_chunk=200, **kw)
    >>> b = single(c, g, **kw)
    >>> all(bool((a.ds[v] == b.ds[v]).all()) for v in b.ds.data_vars)
    True
    """
    from orbitlat.coverage import compute as cov
    from orbitlat.coverage import figures as _fig
    from orbitlat.coverage import result as _res
    from orbitlat.constants import WGS84_A_KM
    from orbitlat.time import TimeGrid, to_timegrid

    wall0 = _time.perf_counter()
    R = WGS84_A_KM if earth_radius_km is None else float(earth_radius_km)
    c = _constellation_of(constellation, "coverage")
    mask = cov._check_args(grid, mode, k, min_elevation_deg)
    time_chunk = _check_chunk(time_chunk, "time_chunk")
    point_chunk = _check_chunk(point_chunk, "point_chunk") or 250_000
    chunk_steps = _check_chunk(chunk_steps, "chunk_steps")
    retries = _check_retries(retries)
    _check_backend(c, backend)
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    n_t = len(tg)
    w_t, span = _fig._span_weights(tg)

    use_rings = mode == "fast" and grid.is_ring
    if chunk_steps is None:
        chunk_steps = _default_chunk_steps(c, grid, mask, R, use_rings)
    prop_chunk = cov._prop_chunk(chunk_steps, n_t, c.size)
    area_w = grid.weights
    uniform = bool(np.ptp(area_w) <= 1e-15 * area_w.max())

    # point chunks
    chunks: list[_PointChunk] = []
    where: list[np.ndarray] = []
    if use_rings:
        for r0, r1, pts in _ring_bands(grid, point_chunk):
            lay = _band_layout(grid.rings, r0, r1)
            local = grid.ring_index[pts] - grid.rings.start[r0]
            if local.size == lay.size and np.array_equal(local, np.arange(lay.size)):
                local = None
            chunks.append(_PointChunk(pts.size, lay, local, area_w=None if uniform else area_w[pts]))
            where.append(pts)
    else:
        for p0 in range(0, grid.size, point_chunk):
            pts = np.arange(p0, min(grid.size, p0 + point_chunk))
            chunks.append(_PointChunk(pts.size, lat_deg=grid.lat_deg[pts], lon_deg=grid.lon_deg[pts],
                                      area_w=None if uniform else area_w[pts]))
            where.append(pts)

    spec = _CoverageSpec(mask, int(k), mode, chunk_steps, prop_chunk, backend, R, bool(keep_series), uniform)
    tok = uuid.uuid4().hex[:10]
    with _running(scheduler) as runner:
        bounds = _time_bounds(n_t, prop_chunk, time_chunk, runner.nthreads, len(chunks))
        from dask import delayed

        job = _literal(Shipped(c), f"orbitlat-constellation-{tok}")
        spec_d = _literal(spec, f"orbitlat-coverage-spec-{tok}")
        finals = []
        for pi, pc in enumerate(chunks):
            pc_d = _literal(pc, f"orbitlat-points-{pi}-{tok}")
            leaves = [delayed(_coverage_leaf, pure=True)(job, spec_d, pc_d, a, tg.utc[a:b], w_t[a:b], pi == 0,
                                                         dask_key_name=f"orbitlat-coverage-leaf-{ti}-{pi}-{tok}")
                      for ti, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
            finals.append(_tree_reduce(leaves, _merge_segments, f"orbitlat-coverage-{pi}-{tok}"))
        segs = runner.compute(finals, retries)
        label = runner.label

    # assemble: per-point figures of merit, per-step series summed over point chunks
    P = grid.size
    foms: dict[str, np.ndarray] = {}
    series = np.empty((n_t, P), dtype=np.uint16) if keep_series else None
    t_parts = {"t_mean": None, "t_cov1": None, "t_covk": None}
    failed = np.zeros(c.size, dtype=bool)
    caught: list = []
    for seg, pts in zip(segs, where):
        for name, v in _finish_segment(seg, span, int(k)).items():
            if name not in foms:
                foms[name] = np.zeros(P, dtype=v.dtype)
            foms[name][pts] = v
        for name in t_parts:
            v = getattr(seg, name)
            if v is not None:
                t_parts[name] = v.copy() if t_parts[name] is None else t_parts[name] + v
        if series is not None:
            series[:, pts] = seg.series
        failed |= seg.failed
    caught = segs[0].caught  # every point chunk propagates the same chunks: report one set
    if uniform:
        t_mean, t_cov1 = t_parts["t_mean"] * area_w[0], t_parts["t_cov1"] * area_w[0]
        t_covk = t_cov1 if k == 1 else t_parts["t_covk"] * area_w[0]
    else:
        t_mean, t_cov1 = t_parts["t_mean"], t_parts["t_cov1"]
        t_covk = t_cov1 if k == 1 else t_parts["t_covk"]
    _reemit(caught)
    engine_name = ("footprint-cap (spherical)" if use_rings else
                   "pair engine (" + ("spherical" if mode == "fast" else "WGS84 geodetic") + ")")
    n_tasks = sum(s.n_tasks for s in segs)
    extra = {"parallel_scheduler": label, "parallel_time_chunk": int(bounds[1] - bounds[0]),
             "parallel_point_chunks": len(chunks), "parallel_tasks": int(n_tasks)}
    attrs_c = {k_: v for k_, v in c.attrs.items() if isinstance(v, (str, int, float))}
    ds = _res._coverage_dataset(grid, tg, foms, t_mean, t_cov1, t_covk, segs[0].identity, series, name=c.name,
                               n_sat=int(c.size), n_failed=int(failed.sum()), source_attrs=attrs_c, mask=mask,
                               k=int(k), mode=mode, engine_name=engine_name, R=R, span=span,
                               chunk_steps=chunk_steps, extra=extra)
    timings = {"wall_s": _time.perf_counter() - wall0, "propagation_s": float(sum(s.propagation_s for s in segs)),
               "compute_s": float(sum(s.compute_s for s in segs)), "cpu_s": float(sum(s.cpu_s for s in segs)),
               "n_tasks": int(n_tasks)}
    return _res.CoverageResult(ds, grid, timings)


# =============================================================================
# visible sets
# =============================================================================
def _split_warnings(wl, drop: tuple = ()) -> list:
    return [(wm.category, str(wm.message)) for wm in wl if not issubclass(wm.category, drop)] if drop else \
        [(wm.category, str(wm.message)) for wm in wl]


def _visible_leaf(job: Shipped, sites: Shipped, t0: int, utc: np.ndarray, kw: dict) -> dict:
    import pandas as pd

    from orbitlat.time import TimeGrid
    from orbitlat.visibility.visible import iter_visible

    tic = _time.perf_counter()
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        parts = list(iter_visible(job.obj, sites.obj, times=TimeGrid(utc), warn_epoch_days=float("inf"), **kw))
    pairs = pd.concat([p.pairs for p in parts], ignore_index=True)
    pairs["time"] = (pairs["time"].to_numpy() + t0).astype(np.int32)
    counts = np.concatenate([p.counts["n_visible"].to_numpy() for p in parts])
    failed = sorted({s for p in parts for s in p.attrs.get("failed_sats", [])})
    return {"pairs": pairs, "counts": counts, "attrs": parts[0].attrs, "failed": failed,
            "caught": _split_warnings(wl, (EpochWarning,)), "compute_s": _time.perf_counter() - tic}


@accepts_units
def visible_sets(constellation, sites, times: Any = None, *, start: Any = None, duration: Any = None,
                 step: Any = None, min_elevation_deg: Any = None, rule: str = "elevation", max_range_km: Any = None,
                 spherical: bool = False, backend: str = "auto", warn_epoch_days: float = 14.0,
                 scheduler: Any = None, time_chunk: int | None = None, retries: int = 2):
    """Visible sets of a constellation over a span on Dask (time-chunked).

    The same as concatenating :func:`orbitlat.visibility.iter_visible` (default ``chunk``
    of 60 steps) over the span, bit for bit: pairs (``time`` indexes the whole grid),
    elevations, azimuths, ranges and counts. Against :func:`~orbitlat.visibility.visible_sets`
    on one ephemeris of the whole span (one propagation call) the pairs are the same and
    the geometry differs only by the kepler-j2 propagator's rounding, which depends on where
    a propagation call starts (measured: 2e-11 relative in range, 2e-9° in elevation); with
    sgp4 it is bit for bit too.

    Parameters
    ----------
    constellation : Constellation or str
    sites : GroundSites or SiteIndex
    times, start, duration, step, min_elevation_deg, rule, max_range_km, spherical, backend, warn_epoch_days
        As for :func:`orbitlat.visibility.iter_visible`.
    scheduler, time_chunk, retries
        See :func:`coverage` (``time_chunk`` is rounded up to a multiple of 60 steps).

    Returns
    -------
    orbitlat.visibility.VisibleSets
        ``attrs["failed_sats"]`` lists the satellites that failed to propagate in any chunk
        (each is excluded from the chunks where it failed, as ``iter_visible`` does).
    """
    import pandas as pd

    from orbitlat.time import TimeGrid, to_timegrid
    from orbitlat.visibility.visible import VisibleSets, _counts_dataset

    c = _constellation_of(constellation, "visible_sets")
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    time_chunk = _check_chunk(time_chunk, "time_chunk")
    retries = _check_retries(retries)
    kw = dict(chunk=_VISIBLE_UNIT, min_elevation_deg=min_elevation_deg, rule=rule, max_range_km=max_range_km,
              spherical=spherical, backend=backend)
    # validate arguments here, once, with the single-process function's own checks
    from orbitlat.visibility._inputs import _as_site_index, _check_rule

    _, names = _as_site_index(sites, min_elevation_deg, spherical)
    _check_rule(rule, max_range_km, c.size)
    _check_backend(c, backend)
    _epoch_warning(c, tg, warn_epoch_days)
    tok = uuid.uuid4().hex[:10]
    from dask import delayed

    with _running(scheduler) as runner:
        bounds = _time_bounds(len(tg), _VISIBLE_UNIT, time_chunk, runner.nthreads)
        job = _literal(Shipped(c), f"orbitlat-constellation-{tok}")
        st = _literal(Shipped(sites), f"orbitlat-sites-{tok}")
        leaves = [delayed(_visible_leaf, pure=True)(job, st, a, tg.utc[a:b], kw,
                                                    dask_key_name=f"orbitlat-visible-{ti}-{tok}")
                  for ti, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
        parts = runner.compute(leaves, retries)
        label = runner.label
    pairs = pd.concat([p["pairs"] for p in parts], ignore_index=True)
    pairs.attrs = dict(parts[0]["pairs"].attrs)
    counts = np.concatenate([p["counts"] for p in parts])
    _reemit([w for p in parts for w in p["caught"]])
    failed = sorted({s for p in parts for s in p["failed"]})
    attrs = dict(parts[0]["attrs"])
    attrs.update(n_failed_excluded=len(failed), failed_sats=failed, parallel_scheduler=label,
                 parallel_time_chunk=int(bounds[1] - bounds[0]), parallel_tasks=len(parts))
    return VisibleSets(pairs, _counts_dataset(counts, tg.utc, names, attrs), attrs)


# =============================================================================
# passes
# =============================================================================
_PASS_FAIL_MSG = "failed to propagate during the span"


def _passes_leaf(job: Shipped, sites: Shipped, utc: np.ndarray, kw: dict) -> dict:
    from orbitlat.time import TimeGrid
    from orbitlat.visibility.windows import passes as _passes

    tic = _time.perf_counter()
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        out = _passes(job.obj, sites.obj, times=TimeGrid(utc), workers=1, warn_epoch_days=float("inf"), **kw)
    df, counts = out if kw.get("return_counts") else (out, None)
    caught = [(wm.category, str(wm.message)) for wm in wl
              if not issubclass(wm.category, EpochWarning)
              and not (issubclass(wm.category, PropagationWarning) and _PASS_FAIL_MSG in str(wm.message))]
    return {"df": df, "counts": counts, "caught": caught, "compute_s": _time.perf_counter() - tic}


def _merge_pass_boundary(open_, new):
    """Join passes cut at a chunk boundary (``open_``: set_cut rows of the left chunk) with the right chunk.

    The right chunk's ``rise_cut`` rows started at that boundary. Matching (site, sat)
    are one pass: rise from the left, set from the right, the higher culmination, and
    the durations added. An unmatched left row set exactly at the boundary; an unmatched
    right row rose there (a floating-point tie at the mask), as in the single-process stitch.
    """
    import pandas as pd

    head = new[new["rise_cut"].to_numpy()]
    rest = new[~new["rise_cut"].to_numpy()]
    o = open_.reset_index(drop=True)
    h = head.reset_index(drop=True)
    m = o[["site", "sat"]].reset_index().merge(h[["site", "sat"]].reset_index(), on=["site", "sat"],
                                                suffixes=("_o", "_h"))
    io, ih = m["index_o"].to_numpy(), m["index_h"].to_numpy()
    joined = o.iloc[io].reset_index(drop=True).copy()
    hh = h.iloc[ih].reset_index(drop=True)
    better = hh["max_elevation_deg"].to_numpy() > joined["max_elevation_deg"].to_numpy()
    joined["set"] = hh["set"].to_numpy()
    joined["set_cut"] = hh["set_cut"].to_numpy()
    joined["culmination"] = np.where(better, hh["culmination"].to_numpy(), joined["culmination"].to_numpy())
    joined["max_elevation_deg"] = np.where(better, hh["max_elevation_deg"].to_numpy(),
                                           joined["max_elevation_deg"].to_numpy())
    joined["duration_s"] = joined["duration_s"].to_numpy() + hh["duration_s"].to_numpy()
    o_un = o.drop(index=io).copy()
    o_un["set_cut"] = False
    h_un = h.drop(index=ih).copy()
    h_un["rise_cut"] = False
    parts = [x for x in (joined, o_un, h_un, rest) if len(x)]
    return pd.concat(parts, ignore_index=True) if parts else new.iloc[:0]


@accepts_units
def passes(constellation, sites, times: Any = None, *, start: Any = None, duration: Any = None, step: Any = None,
           min_elevation_deg: Any = None, refine_tol_s: float = 0.1, spherical: bool = False, margin_deg: Any = None,
           chunk: int | None = None, return_counts: bool = False, backend: str = "auto",
           warn_epoch_days: float = 14.0, scheduler: Any = None, time_chunk: int | None = None, retries: int = 2):
    """:func:`orbitlat.visibility.passes` on Dask: time chunks, passes across boundaries stitched.

    Chunks share their boundary sample; a pass still in progress at a boundary is cut
    there in both chunks and the two pieces are joined (rise from the first, set from the
    second, the higher culmination), exactly as the single-process function stitches its
    own worker segments. Same passes as the single-process run; times within 1 ns (see
    the module docs).

    Parameters
    ----------
    constellation : Constellation or str
    sites : GroundSites or SiteIndex
    times, start, duration, step, min_elevation_deg, refine_tol_s, spherical, margin_deg
        As for :func:`orbitlat.visibility.passes`.
    chunk, return_counts, backend, warn_epoch_days
        As for :func:`orbitlat.visibility.passes` (``chunk``: its internal chunk, whose
        default is computed here the same way).
    scheduler, time_chunk, retries
        See :func:`coverage` (``time_chunk`` is rounded up to a multiple of ``chunk``).

    Returns
    -------
    pandas.DataFrame, or (DataFrame, xarray.Dataset) with ``return_counts``
        As :func:`orbitlat.visibility.passes`. Satellites that failed to propagate in any
        chunk are excluded from the whole result (``attrs["failed_sats"]``).
    """
    import pandas as pd
    import xarray as xr

    from orbitlat.time import TimeGrid, to_timegrid
    from orbitlat.visibility._inputs import _as_site_index

    c = _constellation_of(constellation, "passes")
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    if len(tg) < 2:
        raise OrbitlatError("passes needs at least two time steps (a time span); got one instant. Use "
                            "visible_sets for a single instant.")
    if not np.all(np.diff(tg.utc) > np.timedelta64(0, "ns")):
        raise OrbitlatError("passes needs strictly increasing times; sort them and drop duplicates.")
    chunk = _check_chunk(chunk, "chunk") or int(max(8, min(120, 400_000 // max(c.size, 1))))
    time_chunk = _check_chunk(time_chunk, "time_chunk")
    retries = _check_retries(retries)
    _as_site_index(sites, min_elevation_deg, spherical)  # validate once, here
    _check_backend(c, backend)
    kw = dict(min_elevation_deg=min_elevation_deg, refine_tol_s=refine_tol_s, spherical=spherical,
              margin_deg=margin_deg, chunk=chunk, return_counts=return_counts, backend=backend)
    _epoch_warning(c, tg, warn_epoch_days)
    tok = uuid.uuid4().hex[:10]
    from dask import delayed

    with _running(scheduler) as runner:
        bounds = _time_bounds(len(tg), chunk, time_chunk, runner.nthreads, overlap=True)
        job = _literal(Shipped(c), f"orbitlat-constellation-{tok}")
        st = _literal(Shipped(sites), f"orbitlat-sites-{tok}")
        leaves = [delayed(_passes_leaf, pure=True)(job, st, tg.utc[a:b + 1], kw,
                                                   dask_key_name=f"orbitlat-passes-{ti}-{tok}")
                  for ti, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
        parts = runner.compute(leaves, retries)
        label = runner.label

    frames = []
    open_ = None
    for i, p in enumerate(parts):
        df = p["df"]
        joined = df if open_ is None else _merge_pass_boundary(open_, df)
        if i == len(parts) - 1:
            frames.append(joined)
        else:
            sc = joined["set_cut"].to_numpy()
            frames.append(joined[~sc])
            open_ = joined[sc]
    df = pd.concat(frames, ignore_index=True)
    # satellites that failed anywhere are excluded everywhere (as in one process)
    names = c.table["name"].astype(str).to_numpy()
    failed_names = set()
    for p in parts:
        failed_names.update(p["df"].attrs.get("failed_sats", []))
    failed_idx = np.flatnonzero(np.isin(names, list(failed_names))) if failed_names else np.empty(0, np.int64)
    if failed_idx.size:
        df = df[~np.isin(df["sat"].to_numpy(), failed_idx)]
    df = df.sort_values(["rise", "site", "sat"], kind="stable").reset_index(drop=True)
    attrs = dict(parts[0]["df"].attrs)
    attrs.update(
        n_failed_excluded=int(failed_idx.size), failed_sats=[str(names[k]) for k in failed_idx],
        short_passes=int(sum(p["df"].attrs.get("short_passes", 0) for p in parts)),
        window=(str(tg.utc[0]), str(tg.utc[-1])), step_s=float(tg.step_s), parallel_scheduler=label,
        parallel_time_chunk=int(bounds[1] - bounds[0]), parallel_tasks=len(parts))
    df.attrs = attrs
    _reemit([w for p in parts for w in p["caught"]])
    if failed_idx.size:
        warnings.warn(
            f"{failed_idx.size} of {c.size} satellites failed to propagate during the span; their passes are "
            "excluded (passes.attrs['failed_sats']).", PropagationWarning, stacklevel=2)
    if not return_counts:
        return df
    cs = [p["counts"] if i == 0 else p["counts"].isel(time=slice(1, None)) for i, p in enumerate(parts)]
    counts = xr.concat(cs, dim="time", data_vars="minimal", coords="minimal", compat="override",
                       combine_attrs="override")
    counts.attrs["n_failed_excluded"] = int(failed_idx.size)
    return df, counts


# =============================================================================
# latency
# =============================================================================
def _latency_leaf(job: Shipped, scenario: str, utc: np.ndarray) -> dict:
    from orbitlat import latency as lat
    from orbitlat.time import TimeGrid

    tic = _time.perf_counter()
    args, kw = job.obj
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        res = getattr(lat, scenario)(*args, times=TimeGrid(utc), **kw)
    return {"res": res, "caught": _split_warnings(wl), "compute_s": _time.perf_counter() - tic}


def _path_state(res, at_first: bool) -> dict:
    """(src, dst) -> path tuple at a block's first or last step, for pairs with a path there."""
    t = res.rtt["time"].to_numpy()[0 if at_first else -1]
    p = res.paths
    if at_first:
        rows = p[p["time"].to_numpy() == t]
    else:
        rows = p.groupby(["src", "dst"], sort=False).tail(1)
        r = res.rtt["rtt_ms"].isel(time=-1)
        ok = {(s, d) for (s, d), v in r.to_series().items() if np.isfinite(v)}
        rows = rows[[(s, d) in ok for s, d in zip(rows["src"], rows["dst"])]]
    return {(s, d): tuple(path) for s, d, path in zip(rows["src"], rows["dst"], rows["path"])}


def _merge_latency(parts: list, paths_mode: str | None, label: str, wall0: float, time_chunk: int):
    """Join LatencyResults of consecutive time blocks into the single-process result."""
    import pandas as pd
    import xarray as xr

    from orbitlat.latency.results import REASONS, LatencyResult

    res = [p["res"] for p in parts]
    rtt = xr.concat([r.rtt for r in res], dim="time", data_vars="minimal", coords="minimal", compat="override",
                    combine_attrs="override")
    changes = res[0].path_changes.copy()
    frames = [res[0].paths]
    if paths_mode is not None:
        src = pd.Index(changes["src"].to_numpy())
        dst = pd.Index(changes["dst"].to_numpy())
        all_pairs = bool(res[0].rtt.attrs.get("all_pairs", False))
        total = changes.to_numpy().astype(np.int64)
        for prev, cur in zip(res[:-1], res[1:]):
            total = total + cur.path_changes.to_numpy().astype(np.int64)
            last = _path_state(prev, at_first=False)
            first = _path_state(cur, at_first=True)
            changed = {key for key in set(last) | set(first) if last.get(key) != first.get(key)}
            if all_pairs:
                changed = {(s, d) for s, d in changed if s != d}
            for s, d in changed:  # the step across the block boundary
                total[src.get_loc(s), dst.get_loc(d)] += 1
            t_first = cur.rtt["time"].to_numpy()[0]
            if paths_mode == "changes":
                p = cur.paths
                at0 = p["time"].to_numpy() == t_first
                keep = ~at0 | np.array([(s, d) in changed for s, d in zip(p["src"], p["dst"])], dtype=bool)
                frames.append(p[keep])
            else:
                frames.append(cur.paths)
        changes = changes.copy(data=total)
    paths_df = pd.concat(frames, ignore_index=True) if paths_mode is not None else res[0].paths
    unreachable = pd.concat([r.unreachable for r in res], ignore_index=True)
    unreachable["reason"] = pd.Categorical(unreachable["reason"].astype(str), categories=list(REASONS))
    rtt.attrs["wall_s"] = _time.perf_counter() - wall0
    rtt.attrs.update(parallel_scheduler=label, parallel_time_chunk=int(time_chunk), parallel_tasks=len(parts))
    changes.name = "path_changes"
    return LatencyResult(rtt, paths_df, unreachable, changes, res[0].nodes, res[0].src_sites, dict(res[0].attrs))


def latency(scenario: str, *args, times: Any = None, start: Any = None, duration: Any = None, step: Any = None,
            scheduler: Any = None, time_chunk: int | None = None, retries: int = 2, **kwargs):
    """Run a latency scenario of :mod:`orbitlat.latency` on Dask, time-chunked; the same result.

    Parameters
    ----------
    scenario : {"route", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs"}
        The function of :mod:`orbitlat.latency` to run; ``args`` and ``kwargs`` are its own.
    times, start, duration, step
        The time grid (default as the scenario's: one day at 60 s from the constellation's
        latest epoch).
    scheduler, time_chunk, retries
        See :func:`coverage` (``time_chunk`` is rounded up to a multiple of 60 steps, the
        chunk in which :meth:`orbitlat.latency.network.Network.positions` propagates).

    Returns
    -------
    orbitlat.latency.LatencyResult
        The single-process result: ``rtt`` bit for bit, the same ``paths`` rows (changes
        across block boundaries detected as one process would), ``path_changes`` and
        ``unreachable``.

    Examples
    --------
    >>> from orbitlat.ground import GroundSites
    >>> users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
    >>> r = latency("city_pairs", "iridium", users, start="2026-01-01", duration="10min", step="60s",
    ...             scheduler="sync", time_chunk=60)
    >>> r.rtt.rtt_ms.dims
    ('time', 'src', 'dst')
    """
    from types import SimpleNamespace

    from orbitlat.latency import _inputs as _lin
    from orbitlat.time import TimeGrid

    wall0 = _time.perf_counter()
    if scenario not in SCENARIOS:
        raise OrbitlatError(f"scenario={scenario!r} is not known; use one of {', '.join(SCENARIOS)}.")
    if "workers" in kwargs:
        raise OrbitlatError("parallel.latency splits the time steps itself; drop workers= (use scheduler=).")
    time_chunk = _check_chunk(time_chunk, "time_chunk")
    retries = _check_retries(retries)
    if scenario == "route":
        net = args[0] if args else kwargs.get("network")
        if type(net).__name__ != "Network":
            raise OrbitlatError(f"route needs an orbitlat.latency.network.Network first; got {type(net).__name__}.")
        c = net.constellation
    elif scenario == "nearest_compute":  # placement first; the time grid must be given
        if times is None:
            raise OrbitlatError("parallel.latency('nearest_compute', ...) needs times= (or call "
                                "orbitlat.latency.nearest_compute(..., scheduler=...), which builds them).")
        c = None
    else:
        c = _lin._constellation(args[0] if args else kwargs.get("constellation", "starlink_gen1"))
    if times is not None:
        tg = times if isinstance(times, TimeGrid) else TimeGrid.at(times)
    else:
        tg = _lin._times(SimpleNamespace(constellation=c), None, start, duration, step)
    paths_mode = kwargs.get("paths", "changes")
    tok = uuid.uuid4().hex[:10]
    from dask import delayed

    with _running(scheduler) as runner:
        bounds = _time_bounds(len(tg), _LATENCY_UNIT, time_chunk, runner.nthreads)
        job = _literal(Shipped((tuple(args), dict(kwargs))), f"orbitlat-latency-job-{tok}")
        leaves = [delayed(_latency_leaf, pure=True)(job, scenario, tg.utc[a:b],
                                                    dask_key_name=f"orbitlat-latency-{ti}-{tok}")
                  for ti, (a, b) in enumerate(zip(bounds[:-1], bounds[1:]))]
        parts = runner.compute(leaves, retries)
        label = runner.label
    _reemit([w for p in parts for w in p["caught"]])
    return _merge_latency(parts, paths_mode, label, wall0, bounds[1] - bounds[0])


def route(network, sources, destinations=None, *, scheduler: Any = None, time_chunk: int | None = None,
          retries: int = 2, **kwargs):
    """:func:`orbitlat.latency.route` on Dask (see :func:`latency`)."""
    return latency("route", network, sources, destinations, scheduler=scheduler, time_chunk=time_chunk,
                   retries=retries, **kwargs)
