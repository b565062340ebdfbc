"""Runners: one :class:`~orbitlat.scale.plan.Plan` run on this thread, local threads, local processes or Dask.

``scheduler=`` (every analysis takes it) selects the runner:

``None``
    The scheduler of an enclosing :func:`using` block, else the analysis's own local default
    (coverage: threads; passes and latency: processes when given ``workers`` > 1; else this
    thread).
``"sync"``
    Every task in the calling thread, one after the other (debugging, or small work).
``"threads"``
    A pool of threads in this process (``workers`` of them, default all cores): for kernels
    that spend their time in numpy or numba code that releases the GIL (coverage).
``"processes"``
    A pool of worker processes on this machine, forked where the platform can (the shared
    inputs are then inherited, not copied; elsewhere they are pickled once per process): for
    kernels that hold the GIL (passes, routing).
a :class:`distributed.Client`, a cluster object, or an address
    ``"tcp://host:8786"`` (or ``"host:8786"``): a :mod:`distributed` cluster; with an address or
    a cluster object a client is opened for the call (or the :func:`using` block) and closed
    after it (an address is probed first, :mod:`orbitlat.scale.probe`). The shared inputs are
    copied to every worker up front; Dask schedules, balances and recovers from lost workers.

Every runner reduces the parts of a group with the same tree of merges (pairwise by levels,
in chunk order), so the answer does not depend on the runner, the number of workers or the
order in which tasks finish. ``retries`` re-runs a task that raised (on any runner; Dask also
recomputes tasks lost with a dead worker); an :class:`~orbitlat.errors.OrbitlatError` (bad
input) is raised at once, never retried. Warnings raised in tasks are collected and each
distinct one is re-emitted once in the caller (Python's warning state is process-wide before
3.14, docs/references.md "Scale-out", so while a thread pool runs, one collector records every
warning of the process; it is entered before the first task starts and left after the last one
ends). Inside a task no
scheduler is active, so an analysis called by a kernel runs in that task.

>>> from orbitlat.scale.plan import Plan, _square_sum
>>> import operator
>>> p = Plan(_square_sum, [range(0, 10), range(10, 20), range(20, 30)], merge=operator.add)
>>> [run(p, s) for s in ("sync", "threads")]
[[8555], [8555]]
>>> with using("threads") as s:
...     run(p)
[8555]
"""
from __future__ import annotations

import contextlib
import contextvars
import multiprocessing as mp
import os
import re
import uuid
import warnings
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, Iterator

from orbitlat._forking import child_setup, forking, stop_children
from orbitlat.errors import OrbitlatError
from orbitlat.scale.plan import Plan, check_retries

__all__ = ["Runner", "runner", "run", "iterate", "using", "current", "tune_workers", "cpu_count", "LOCAL_SCHEDULERS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: The local runners accepted by name.
LOCAL_SCHEDULERS = ("sync", "threads", "processes")
_LOCAL_ALIASES = {"threads": "threads", "threaded": "threads", "thread": "threads", "processes": "processes",
                  "process": "processes", "multiprocessing": "processes", "sync": "sync",
                  "synchronous": "sync", "single-threaded": "sync"}
_ADDRESS = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d+$")
_CURRENT: contextvars.ContextVar = contextvars.ContextVar("orbitlat_scheduler", default=None)


def cpu_count() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


# =============================================================================
# tasks: what runs on a worker
# =============================================================================
@dataclass
class _Out:
    """A task's part, the warnings it raised, and an OrbitlatError to re-raise in the caller."""

    part: Any = None
    caught: tuple = ()
    error: BaseException | None = None


class _Box:
    """Hides a chunk or the shared inputs from Dask's traversal of task arguments."""

    __slots__ = ("obj",)

    def __init__(self, obj):
        self.obj = obj


def _caught(wl) -> tuple:
    seen, out = set(), []
    for wm in wl:
        key = (wm.category, str(wm.message))
        if key not in seen:
            seen.add(key)
            out.append(key)
    return tuple(out)


def _call(kernel, chunk, shared, capture: bool) -> _Out:
    """Run one kernel in a fresh context (no scheduler active inside a task); keep bad input apart."""
    ctx = contextvars.Context()
    if not capture:
        try:
            return _Out(ctx.run(kernel, chunk, shared))
        except OrbitlatError as exc:
            return _Out(error=exc)
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        try:
            part = ctx.run(kernel, chunk, shared)
        except OrbitlatError as exc:
            return _Out(error=exc, caught=_caught(wl))
    return _Out(part, _caught(wl))


def _merge_outs(merge, a: _Out, b: _Out) -> _Out:
    if a.error is not None:
        return a
    if b.error is not None:
        return b
    seen = set(a.caught)
    return _Out(merge(a.part, b.part), a.caught + tuple(w for w in b.caught if w not in seen))


# processes: the shared inputs of running plans, by token (inherited by forked workers)
_SHARED: dict[str, Any] = {}


def _init_worker(parent_pid: int, token: str | None = None, shared: Any = None) -> None:  # pragma: no cover
    """First thing in a worker process: die with the parent, leave Ctrl-C to it (orbitlat._forking);
    spawned (not forked) workers also receive the shared inputs here."""
    child_setup(parent_pid)
    if token is not None:
        _SHARED[token] = shared


def _process_task(token: str, kernel, chunk) -> _Out:
    return _call(kernel, chunk, _SHARED[token], capture=True)


def _dask_task(kernel, chunk: _Box, shared: _Box) -> _Out:
    return _call(kernel, chunk.obj, shared.obj, capture=True)


def _dask_merge(merge, a: _Out, b: _Out) -> _Out:
    return _merge_outs(merge, a, b)


# =============================================================================
# the ordered reduction every runner uses
# =============================================================================
class _Reducer:
    """Merges one group's parts as they arrive (in any order) with a fixed tree: pairwise by levels.

    Parts are taken in chunk order (early arrivals wait); the stack holds one merged part per
    level, as a binary counter, so memory stays at O(log n) parts plus the early arrivals. The
    tree is the one :meth:`Runner._run_dask` builds: ((0 1)(2 3))((4 5) 6) for 7 parts.
    """

    def __init__(self, merge):
        self.merge = merge
        self.pending: dict[int, Any] = {}
        self.next = 0
        self.stack: list[tuple[int, Any]] = []

    def push(self, j: int, part) -> None:
        self.pending[j] = part
        while self.next in self.pending:
            p = self.pending.pop(self.next)
            self.next += 1
            level = 0
            while self.stack and self.stack[-1][0] == level:
                _, left = self.stack.pop()
                p = self.merge(left, p)
                level += 1
            self.stack.append((level, p))

    def result(self):
        p = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            p = self.merge(left, p)
        return p


class _Collect:
    """Where parts go: a reducer per group (with ``merge``) or a list in chunk order."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.groups = plan.group_indices()
        self.where = {}
        for g, idx in enumerate(self.groups):
            for j, i in enumerate(idx):
                self.where[i] = (g, j)
        self.reducers = [_Reducer(plan.merge) for _ in self.groups] if plan.merge is not None else None
        self.parts: list = [None] * len(plan.chunks)

    def add(self, i: int, part) -> None:
        if self.reducers is None:
            self.parts[i] = part
        else:
            g, j = self.where[i]
            self.reducers[g].push(j, part)

    def result(self) -> list:
        return self.parts if self.reducers is None else [r.result() for r in self.reducers]


@contextlib.contextmanager
def _collector(on: bool) -> Iterator[list]:
    """Record every warning (``always``) while ``on``; else yield an empty list."""
    if not on:
        yield []
        return
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        yield wl


def _reemit(caught, plan: Plan, stacklevel: int = 4) -> None:
    seen = set()
    for cat, msg in caught:
        if (cat, msg) in seen or (plan.drop_warning is not None and plan.drop_warning(cat, msg)):
            continue
        seen.add((cat, msg))
        warnings.warn(msg, cat, stacklevel=stacklevel)


def _stop(ex) -> None:
    """Shut an executor down without waiting for its running tasks; kill a process pool's workers."""
    procs = dict(getattr(ex, "_processes", None) or {})  # ProcessPoolExecutor: pid -> Process
    ex.shutdown(wait=False, cancel_futures=True)
    if procs:
        stop_children(procs)


# =============================================================================
# runners
# =============================================================================
@dataclass
class Runner:
    """Where a plan runs: ``kind`` is "sync", "threads", "processes" or "distributed".

    Use :func:`runner` (a context manager) to get one for a ``scheduler=`` argument; analyses
    size their chunks from :attr:`workers` and :attr:`tasks_per_worker`.
    """

    kind: str
    workers: int = 1
    client: Any = None
    owns: bool = False
    label: str = ""

    @property
    def is_local(self) -> bool:
        """True for the runners in this process or on this machine (not a Dask cluster)."""
        return self.kind != "distributed"

    @property
    def tasks_per_worker(self) -> int:
        """Default tasks per worker slot: one locally (fewest boundaries), four on Dask (balance, cheap retries)."""
        return 4 if self.kind == "distributed" else 1

    def close(self) -> None:
        if self.owns and self.client is not None:
            self.client.close()
            self.client = None

    # -- run ------------------------------------------------------------------------------------
    def run(self, plan: Plan, retries: int = 2) -> Any:
        """Run every chunk, merge, finish; re-emit the tasks' warnings once each."""
        retries = check_retries(retries)
        if self.kind == "distributed":
            results, caught = self._run_dask(plan, retries)
        else:
            col = _Collect(plan)
            caught: list = []
            # threads: one collector for the pool's whole life, entered before its first thread starts
            # and left after its last one ends (warnings' state is process-wide before Python 3.14)
            with _collector(self.kind == "threads" and len(plan.chunks) > 1 and self.workers > 1) as wl:
                for i, out in self._local(plan, retries, range(len(plan.chunks))):
                    caught.extend(out.caught)
                    col.add(i, out.part)
            caught = list(_caught(wl)) + caught
            results = col.result()
        _reemit(caught, plan)
        return plan.finish(results) if plan.finish is not None else results

    def iterate(self, plan: Plan, retries: int = 2) -> Iterator[Any]:
        """The parts in chunk order, as they are ready (no merge, no finish); memory: a few parts.

        The tasks' warnings are re-emitted with the part that raised them (on local threads
        they are raised as they happen, from the worker threads).
        """
        retries = check_retries(retries)
        if self.kind == "distributed":
            yield from self._iterate_dask(plan, retries)
            return
        pending: dict[int, _Out] = {}
        nxt = 0
        for i, out in self._local(plan, retries, range(len(plan.chunks))):
            pending[i] = out
            while nxt in pending:
                o = pending.pop(nxt)
                nxt += 1
                _reemit(o.caught, plan, stacklevel=5)
                yield o.part

    # -- local --------------------------------------------------------------------------------
    def _local(self, plan: Plan, retries: int, indices) -> Iterator[tuple[int, _Out]]:
        """(chunk index, output) pairs as tasks finish. One chunk, or "sync": in this thread."""
        indices = list(indices)
        if self.kind == "sync" or len(indices) == 1 or self.workers <= 1:
            for i in indices:
                yield i, self._retry_inline(plan, i, retries)
            return
        if self.kind == "threads":
            yield from self._pool(plan, retries, indices)
        else:
            yield from self._processes(plan, retries, indices)

    def _retry_inline(self, plan: Plan, i: int, retries: int) -> _Out:
        attempt = 0
        while True:
            try:
                out = _call(plan.kernel, plan.chunks[i], plan.shared, capture=True)
            except Exception:
                if attempt >= retries:
                    raise
                attempt += 1
                continue
            if out.error is not None:
                raise out.error
            return out

    def _pool(self, plan: Plan, retries: int, indices: list) -> Iterator[tuple[int, _Out]]:
        """Threads in this process."""
        def make(n):
            return ThreadPoolExecutor(max_workers=n, thread_name_prefix=f"orbitlat-{plan.name}")

        def submit(ex, i):
            return ex.submit(_call, plan.kernel, plan.chunks[i], plan.shared, False)

        yield from self._pooled(plan, retries, indices, make, submit)

    def _processes(self, plan: Plan, retries: int, indices: list) -> Iterator[tuple[int, _Out]]:
        """Worker processes: forked (the shared inputs inherited) where possible, else spawned."""
        token = uuid.uuid4().hex
        fork = "fork" in mp.get_all_start_methods()
        ctx = mp.get_context("fork" if fork else "spawn")

        def make(n):
            args = (os.getpid(),) if fork else (os.getpid(), token, plan.shared)
            return ProcessPoolExecutor(max_workers=n, mp_context=ctx, initializer=_init_worker, initargs=args)

        def submit(ex, i):
            with forking():  # a fork pool forks its workers at its first submit: no Ctrl-C reaches them half-started
                return ex.submit(_process_task, token, plan.kernel, plan.chunks[i])

        _SHARED[token] = plan.shared  # before the pool forks its workers
        try:
            yield from self._pooled(plan, retries, indices, make, submit)
        finally:
            _SHARED.pop(token, None)

    def _pooled(self, plan: Plan, retries: int, indices: list, make, submit) -> Iterator[tuple[int, _Out]]:
        """Tasks on an executor, at most two per worker in flight; failed ones go back for another try.

        A dead worker process breaks a process pool: the tasks it lost run again on a new pool.
        """
        todo = list(indices)
        attempts = {i: 0 for i in indices}
        limit = 2 * self.workers
        ex = make(max(1, min(self.workers, len(todo))))
        running: dict[Future, int] = {}
        try:
            while todo or running:
                while todo and len(running) < limit:
                    i = todo.pop(0)
                    running[submit(ex, i)] = i
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                broken = False
                for f in done:
                    i = running.pop(f)
                    try:
                        out = f.result()
                    except Exception as exc:
                        lost = isinstance(exc, BrokenProcessPool)
                        broken |= lost
                        if attempts[i] >= retries:
                            if lost:
                                raise RuntimeError(
                                    f"a worker process of {plan.name!r} died (killed, or out of memory?) and the "
                                    f"task failed {retries + 1} times; rerun with scheduler='sync' to see the "
                                    "error.") from None
                            raise
                        attempts[i] += 1
                        todo.insert(0, i)
                        continue
                    if out.error is not None:
                        raise out.error
                    yield i, out
                if broken:  # the pool is unusable: a new one for what is left
                    todo[:0] = list(running.values())
                    running = {}
                    ex.shutdown(wait=False, cancel_futures=True)
                    ex = make(max(1, min(self.workers, len(todo))))
        except BaseException:  # interrupted (Ctrl-C, SIGTERM) or failed: stop at once, leave no worker behind
            for f in running:
                f.cancel()
            _stop(ex)
            raise
        else:
            ex.shutdown(wait=True)

    # -- Dask ---------------------------------------------------------------------------------
    def _shared_on_every_worker(self, plan: Plan):
        """The shared inputs, copied to every worker up front (``scatter(broadcast=True)``): no worker is
        preferred for holding them (with a single copy, the scheduler keeps most tasks on its holder),
        and a worker that dies leaves the others their copies; one that joins fetches them from a peer."""
        return self.client.scatter(_Box(plan.shared), broadcast=True, hash=False)

    def _run_dask(self, plan: Plan, retries: int):
        """The kernels and the tree of merges as futures on the cluster; the merged parts come back."""
        tok = uuid.uuid4().hex[:10]
        c = self.client
        shared = self._shared_on_every_worker(plan)
        held = [shared]
        try:
            leaves = [c.submit(_dask_task, plan.kernel, _Box(ch), shared, key=f"{plan.name}-{i}-{tok}", pure=False,
                               retries=retries) for i, ch in enumerate(plan.chunks)]
            held += leaves
            if plan.merge is None:
                finals = leaves
            else:
                finals = []
                for g, idx in enumerate(plan.group_indices()):
                    items = [leaves[i] for i in idx]
                    level = 0
                    while len(items) > 1:  # the same tree as _Reducer
                        nxt = [c.submit(_dask_merge, plan.merge, items[k], items[k + 1], pure=False, retries=retries,
                                        key=f"{plan.name}-merge-{g}-{level}-{k // 2}-{tok}")
                               for k in range(0, len(items) - 1, 2)]
                        if len(items) % 2:
                            nxt.append(items[-1])
                        held.extend(nxt)
                        items = nxt
                        level += 1
                    finals.append(items[0])
            outs = c.gather(finals)
        finally:
            for f in held:
                f.release()
        caught = []
        for o in outs:
            if o.error is not None:
                raise o.error
            caught.extend(o.caught)
        return [o.part for o in outs], caught

    def _iterate_dask(self, plan: Plan, retries: int) -> Iterator[Any]:
        tok = uuid.uuid4().hex[:10]
        c = self.client
        shared = self._shared_on_every_worker(plan)
        window = max(2, 2 * self.workers)
        futs: dict[int, Any] = {}
        try:
            nxt = 0
            for i in range(len(plan.chunks)):
                while len(futs) < window and nxt < len(plan.chunks):
                    futs[nxt] = c.submit(_dask_task, plan.kernel, _Box(plan.chunks[nxt]), shared, pure=False,
                                         key=f"{plan.name}-{nxt}-{tok}", retries=retries)
                    nxt += 1
                f = futs.pop(i)
                o = f.result()
                f.release()
                if o.error is not None:
                    raise o.error
                _reemit(o.caught, plan, stacklevel=5)
                yield o.part
        finally:
            for f in futs.values():
                f.release()
            shared.release()


# =============================================================================
# choosing a runner
# =============================================================================
def _distributed():
    try:
        import distributed
    except ImportError:  # pragma: no cover - distributed is a dependency of dask[distributed]
        raise OrbitlatError("a Dask cluster needs the `distributed` package: "
                            "pip install 'dask[distributed]' (the orbitlat[dask] extra).") from None
    return distributed


def _local_workers(workers: Any) -> int:
    if workers is None:
        return cpu_count()
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise OrbitlatError(f"workers={workers!r} must be a whole number >= 1 (threads or processes here).")
    return int(workers)


def _resolve(scheduler: Any, local: str = "sync", workers: Any = None) -> Runner:
    if scheduler is None:
        active = _CURRENT.get()
        if active is not None:
            return Runner(active.kind, active.workers, active.client, False, active.label)
        scheduler = local
    if isinstance(scheduler, Runner):
        return Runner(scheduler.kind, scheduler.workers, scheduler.client, False, scheduler.label)
    if isinstance(scheduler, str):
        s = scheduler.strip()
        kind = _LOCAL_ALIASES.get(s.lower())
        if kind is not None:
            n = 1 if kind == "sync" else _local_workers(workers)
            return Runner(kind, n, label=f"local {kind}")
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
                    "or pass scheduler=None to run on this machine."
                ) from None
            _auto_tune(client)
            return Runner("distributed", _nthreads(client), client, True, f"distributed {s}")
        raise OrbitlatError(
            f"scheduler={scheduler!r} is not known; use None (this machine), 'sync', 'threads', 'processes', "
            "a distributed.Client, a cluster, or a scheduler address such as 'tcp://host:8786'."
        )
    mod = type(scheduler).__module__ or ""
    if mod.startswith("distributed") or mod.startswith("dask"):
        d = _distributed()
        if isinstance(scheduler, d.Client):
            return Runner("distributed", _nthreads(scheduler), scheduler, False,
                          f"distributed {scheduler.scheduler.address}")
        if hasattr(scheduler, "scheduler_address"):  # LocalCluster, SpecCluster, dask-jobqueue clusters ...
            client = d.Client(scheduler, set_as_default=False)
            _auto_tune(client)
            return Runner("distributed", _nthreads(client), client, True,
                          f"distributed {scheduler.scheduler_address}")
    raise OrbitlatError(
        f"scheduler of type {type(scheduler).__name__} is not supported; use None, 'sync', 'threads', "
        "'processes', a distributed.Client, a cluster object, or an address such as 'tcp://host:8786'."
    )


def _nthreads(client) -> int:
    try:
        return max(1, int(sum(client.nthreads().values())))
    except Exception:  # pragma: no cover - scheduler unreachable: fall back to a guess
        return 1


@contextlib.contextmanager
def runner(scheduler: Any = None, *, local: str = "sync", workers: Any = None) -> Iterator[Runner]:
    """The :class:`Runner` for a ``scheduler=`` argument, closed (a client it opened) on exit.

    Parameters
    ----------
    scheduler : None, str, distributed.Client or cluster
        See the module docs. ``None``: the :func:`using` block's scheduler, else ``local``.
    local : {"sync", "threads", "processes"}
        The analysis's own default when no scheduler is given or set.
    workers : int, optional
        Threads or processes of a local runner (default: all cores).
    """
    r = _resolve(scheduler, local, workers)
    try:
        yield r
    finally:
        r.close()


def run(plan: Plan, scheduler: Any = None, *, retries: int = 2, local: str = "sync", workers: Any = None) -> Any:
    """Run ``plan`` on ``scheduler`` (see :func:`runner`) and return its finished result."""
    with runner(scheduler, local=local, workers=workers) as r:
        return r.run(plan, retries)


def iterate(plan: Plan, scheduler: Any = None, *, retries: int = 2, local: str = "sync",
            workers: Any = None) -> Iterator[Any]:
    """The parts of ``plan`` in chunk order as they are ready (see :meth:`Runner.iterate`)."""
    with runner(scheduler, local=local, workers=workers) as r:
        yield from r.iterate(plan, retries)


def current() -> Runner | None:
    """The runner set by an enclosing :func:`using` block (None outside one, and inside tasks)."""
    return _CURRENT.get()


@contextlib.contextmanager
def using(scheduler: Any, *, workers: Any = None) -> Iterator[Any]:
    """Make ``scheduler`` the default of every analysis inside a ``with`` block.

    An address opens one client for the whole block (closed at its end). Yields the
    :class:`distributed.Client` for a cluster, else the local runner's name.

    >>> with using("sync") as s:
    ...     current().label
    'local sync'
    >>> s
    'sync'
    """
    r = _resolve(scheduler, workers=workers)
    token = _CURRENT.set(r)
    try:
        yield r.client if r.kind == "distributed" else r.kind
    finally:
        _CURRENT.reset(token)
        r.close()


# =============================================================================
# Dask workers' allocator
# =============================================================================
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


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h>


def _mallopt(trim_bytes: int, mmap_bytes: int) -> bool:
    """Set glibc's trim and mmap thresholds in this process (False where there is no glibc)."""
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
    (``distributed.nanny.pre-spawn-environ``) so that freed memory returns to the operating
    system quickly. Setting that variable also freezes glibc's mmap threshold at 128 KiB, so every
    large numpy temporary of the coverage and visibility kernels is a fresh ``mmap`` whose pages
    the kernel must zero on first touch: measured here, a coverage task of Starlink on a 1° grid
    runs 2-3x slower than in a plain process. This sets the trim threshold to
    ``trim_threshold_mb`` and the mmap threshold to ``mmap_threshold_mb`` (glibc's own dynamic
    maximum is 32 MB) in every worker, now and in workers that join or restart later (a worker
    plugin named ``"orbitlat-malloc"``). Workers then hold on to up to about
    ``trim_threshold_mb`` of freed memory each.

    Parameters
    ----------
    scheduler : distributed.Client, cluster, or address
    trim_threshold_mb, mmap_threshold_mb : float

    Returns
    -------
    dict
        Worker address -> True where the setting took (False without glibc).
    """
    r = _resolve(scheduler)
    try:
        if r.kind != "distributed":
            raise OrbitlatError(f"tune_workers needs a distributed cluster (a Client, a cluster or an address); got "
                                f"{r.label!r}. Local threads and processes use this process's allocator.")
        return _tune_client(r.client, trim_threshold_mb, mmap_threshold_mb)
    finally:
        r.close()


def _tune_client(client, trim_threshold_mb: float = 128.0, mmap_threshold_mb: float = 32.0) -> dict:
    from distributed.diagnostics.plugin import WorkerPlugin

    trim, mm = int(trim_threshold_mb * 2**20), int(mmap_threshold_mb * 2**20)

    class _MallocPlugin(WorkerPlugin):
        def setup(self, worker):
            _mallopt(trim, mm)

    client.register_plugin(_MallocPlugin(), name="orbitlat-malloc")
    return client.run(_mallopt, trim, mm)

