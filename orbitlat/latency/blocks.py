"""Routing in time blocks: the kernel, the one merge of :class:`LatencyResult` blocks, and the plan for :mod:`orbitlat.scale`.

:func:`orbitlat.latency.routing.route` with ``workers`` > 1 or a ``scheduler`` cuts its time
grid into consecutive blocks, routes each block on its own (:func:`route_block`: a
:func:`~orbitlat.latency.routing.route` call on the block's instants) and joins the blocks'
results with :func:`merge_blocks`, the exact and associative merge of two consecutive blocks:

- ``rtt`` (and every other per-step variable) concatenated along time;
- ``path_changes``: the two blocks' counts plus the changes at the step across their
  boundary, found by comparing the path each (src, dst) pair uses at the left block's last
  step with the one at the right block's first step (a pair with no path at both is no
  change; a path that appears or disappears is one, as in one run);
- ``paths``: with ``paths="changes"`` the right block's first-step rows are kept only for the
  pairs whose path changed across the boundary (a block always lists every path at its first
  step); with ``paths="all"`` every row;
- ``unreachable`` concatenated.

Each block propagates exactly the calls a whole-span run makes (the 60-step windows of
:meth:`~orbitlat.latency.network.Network.positions`, counted from the span's start; the
kepler-j2 propagator's rounding depends on where a call starts), so a block may start
anywhere and the merged result is the single-process result bit for bit. Only the routing
counters differ (each block starts its warm-started trees cold: ``routing_trees``,
``repaired_trees`` and ``dijkstra_trees`` are summed over blocks, as is
``isl_links_dropped_by_range``).
"""
from __future__ import annotations

import copy
import functools
import time as _time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from orbitlat.latency.network import Network
from orbitlat.latency.results import REASONS, LatencyResult
from orbitlat.errors import OrbitlatError

__all__ = ["route_block", "merge_blocks", "route_in_blocks", "POSITIONS_CHUNK"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Steps per propagation call of :meth:`Network.positions` (its ``times.chunks(60)``).
POSITIONS_CHUNK = 60

#: Per-step counters in ``rtt.attrs``, summed over blocks (the warm-started trees' work, links dropped).
_SUMMED_COUNTERS = ("routing_trees", "repaired_trees", "dijkstra_trees", "isl_links_dropped_by_range")


class _BlockNetwork(Network):
    """A :class:`Network` that serves a block's positions from the calls a whole-span run makes.

    ``positions(block)`` propagates each 60-step window of the whole grid that the block
    touches (exactly as :meth:`Network.positions` on the whole grid would) and yields the
    block's part of it.
    """

    def positions(self, times):
        from orbitlat.time import TimeGrid

        a, b = self._block
        full = self._span_utc
        if len(times) != b - a or not np.array_equal(times.utc, full[a:b]):  # not our block: plain behaviour
            yield from Network.positions(self, times)
            return
        w0 = (a // POSITIONS_CHUNK) * POSITIONS_CHUNK
        for w in range(w0, b, POSITIONS_CHUNK):
            win = TimeGrid(full[w:min(w + POSITIONS_CHUNK, len(full))])
            lo, hi = max(a, w) - w, min(b, w + POSITIONS_CHUNK) - w
            for tg, sat, odc in Network.positions(self, win):  # one chunk: the window
                yield tg[lo:hi], sat[lo:hi], odc[lo:hi]


def _block_network(network: Network, span_utc: np.ndarray, a: int, b: int) -> Network:
    net = copy.copy(network)
    net.__class__ = _BlockNetwork
    net._span_utc = span_utc
    net._block = (a, b)
    return net


@dataclass
class _Shared:
    network: Network
    sources: Any
    destinations: Any
    kw: dict  # route()'s keywords for every block (its options; everything but the times and the parallelism)
    span_utc: np.ndarray  # the whole grid: blocks propagate its 60-step windows


@dataclass
class _Block:
    a: int
    b: int


def route_block(ch: _Block, sh: _Shared) -> LatencyResult:
    """One task: :func:`~orbitlat.latency.routing.route` over the instants ``a..b-1`` of the span."""
    from orbitlat.latency.routing import route
    from orbitlat.time import TimeGrid

    net = _block_network(sh.network, sh.span_utc, ch.a, ch.b)
    res = route(net, sh.sources, sh.destinations, times=TimeGrid(sh.span_utc[ch.a:ch.b]), **sh.kw)
    res.src_sites = None  # the caller has them: do not ship them back
    return res


def _path_state(res: LatencyResult, at_first: bool) -> dict:
    """(src, dst) -> path tuple at a block's first or last step, for the pairs with a path there."""
    t = res.rtt["time"].to_numpy()[0 if at_first else -1]
    p = res.paths
    if at_first:
        rows = p[p["time"].to_numpy() == t]
    else:
        rows = p.groupby(["src", "dst"], sort=False).tail(1)
        r = res.rtt["rtt_ms"].isel(time=-1)
        ok = {(s, d) for (s, d), v in r.to_series().items() if np.isfinite(v)}
        rows = rows[np.array([(s, d) in ok for s, d in zip(rows["src"], rows["dst"])], dtype=bool)]
    return {(s, d): tuple(path) for s, d, path in zip(rows["src"], rows["dst"], rows["path"])}


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``a`` then ``b``; an empty side (whose columns may have other dtypes: a block with no
    path at all builds its columns from empty lists) does not change the other's dtypes."""
    if not len(b):
        return a.reset_index(drop=True) if len(a) else a
    if not len(a):
        return b.reset_index(drop=True)
    return pd.concat([a, b], ignore_index=True)


def _summed(a: dict, b: dict) -> dict:
    """The left block's attrs, with the per-step counters of both added."""
    out = dict(a)
    for k in _SUMMED_COUNTERS:
        if k in a and k in b:
            out[k] = int(a[k]) + int(b[k])
    return out


def merge_blocks(L: LatencyResult, R: LatencyResult, paths: str | None = "changes") -> LatencyResult:
    """The result of two consecutive time blocks routed separately (exact, associative; module docs).

    ``paths`` is the ``paths=`` option both blocks were routed with.
    """
    tl, tr = L.rtt["time"].to_numpy(), R.rtt["time"].to_numpy()
    if tl.size and tr.size and not tl[-1] < tr[0]:
        raise OrbitlatError(f"internal: time blocks ending {tl[-1]} and starting {tr[0]} are not consecutive.")
    rtt = xr.concat([L.rtt, R.rtt], dim="time", data_vars="minimal", coords="minimal", compat="override",
                    combine_attrs="override")
    rtt.attrs = _summed(L.rtt.attrs, R.rtt.attrs)
    attrs = _summed(L.attrs, R.attrs)
    changes = L.path_changes
    paths_df = L.paths
    if paths is not None:
        src = pd.Index(changes["src"].to_numpy())
        dst = pd.Index(changes["dst"].to_numpy())
        total = L.path_changes.to_numpy().astype(np.int64) + R.path_changes.to_numpy().astype(np.int64)
        last, first = _path_state(L, at_first=False), _path_state(R, at_first=True)
        changed = {key for key in set(last) | set(first) if last.get(key) != first.get(key)}
        if bool(L.rtt.attrs.get("all_pairs", False)):
            changed = {(s, d) for s, d in changed if s != d}
        for s, d in changed:  # the step across the boundary
            total[src.get_loc(s), dst.get_loc(d)] += 1
        changes = L.path_changes.copy(data=total)
        if paths == "changes":
            p = R.paths
            at0 = p["time"].to_numpy() == tr[0]
            keep = ~at0 | np.array([(s, d) in changed for s, d in zip(p["src"], p["dst"])], dtype=bool)
            right = p[keep]
        else:
            right = R.paths
        paths_df = _concat(L.paths, right)
    changes.name = "path_changes"
    unreachable = _concat(L.unreachable, R.unreachable)
    unreachable["reason"] = pd.Categorical(unreachable["reason"].astype(str), categories=list(REASONS))
    return LatencyResult(rtt, paths_df, unreachable, changes, L.nodes, L.src_sites, attrs)


def _whole_span_warning(category: type, message: str) -> bool:
    """The blocks' own detour warnings: a median over one block; the merged result is judged instead."""
    return issubclass(category, UserWarning) and "their great-circle vacuum bound" in message


def _no_delays():
    from orbitlat.latency.routing import Delays

    return Delays()


def route_in_blocks(network: Network, sources, destinations, tg, kw: dict, *, paths: str | None = "changes",
                    scheduler: Any = None, workers: int = 1, time_chunk: int | None = None, retries: int = 2,
                    wall0: float | None = None) -> LatencyResult:
    """:func:`~orbitlat.latency.routing.route` as a plan for :mod:`orbitlat.scale`: time blocks, merged.

    ``kw`` are the keywords every block passes to ``route`` (its options, with ``workers=1``);
    ``paths`` is their ``paths`` option (what the merge keeps).

    Here (``scheduler=None``, no :func:`orbitlat.scale.using` block) ``workers`` processes
    route one block each; on a scheduler the blocks are ``time_chunk`` steps (default: about
    four per worker thread on Dask, on multiples of 60 steps). An explicit scheduler adds
    ``parallel_scheduler``, ``parallel_time_chunk`` and ``parallel_tasks`` to ``rtt.attrs``;
    local worker processes add ``workers``.
    """
    from orbitlat.latency._inputs import _sites
    from orbitlat.scale.plan import Plan, check_chunk, check_retries, time_bounds
    from orbitlat.scale.runners import current, runner

    wall0 = _time.perf_counter() if wall0 is None else wall0
    time_chunk = check_chunk(time_chunk, "time_chunk")
    retries = check_retries(retries)
    explicit = scheduler is not None or current() is not None
    n = len(tg)
    with runner(scheduler, local="processes" if workers > 1 else "sync", workers=workers) as r:
        if time_chunk is not None:  # any block size: blocks propagate the whole span's calls anyway
            bounds = time_bounds(n, 1, time_chunk)
        elif r.is_local:
            bounds = time_bounds(n, 1, None, min(r.workers, n) if r.kind != "sync" else 1, 1)
        else:
            bounds = time_bounds(n, POSITIONS_CHUNK, None, r.workers, r.tasks_per_worker)
        shared = _Shared(network, sources, destinations, dict(kw), tg.utc)
        plan = Plan(route_block, [_Block(a, b) for a, b in zip(bounds[:-1], bounds[1:])], shared,
                    merge=functools.partial(merge_blocks, paths=paths), name="orbitlat-route",
                    drop_warning=_whole_span_warning)
        res = r.run(plan, retries)[0]
        label, n_blocks, used = r.label, len(plan.chunks), min(r.workers, len(plan.chunks))
    for d in (res.rtt.attrs, res.attrs):  # the whole grid's step (a one-step block has none of its own)
        if "step_s" in d:
            d["step_s"] = tg.step_s
    if "detour_pairs" in res.rtt.attrs:  # a statistic of the whole span: judged on the merged result
        from orbitlat.latency.assembly import _warn_detours

        delays = kw["options"].delays if "options" in kw else _no_delays()
        _warn_detours(res.rtt, delays, "pairs")
        if "detour_pairs" in res.attrs:
            res.attrs["detour_pairs"] = res.rtt.attrs["detour_pairs"]
    res.src_sites = _sites(sources, "sources")
    res.rtt.attrs["wall_s"] = _time.perf_counter() - wall0
    if "wall_s" in res.attrs:
        res.attrs["wall_s"] = res.rtt.attrs["wall_s"]
    if explicit:
        res.rtt.attrs.update(parallel_scheduler=label, parallel_time_chunk=int(bounds[1] - bounds[0]),
                             parallel_tasks=len(plan.chunks))
    elif n_blocks > 1:
        res.rtt.attrs["workers"] = used
    return res
