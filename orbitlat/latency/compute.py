""":func:`nearest_compute`: every user's round trip to the nearest orbital compute node, at any scale.

Given a compute placement (:mod:`orbitlat.latency.placements`: clusters, compute on relays, or a
dedicated compute constellation) and optionally a relay constellation with ISLs, each time step:

1. the relays' network snapshot (:meth:`orbitlat.latency.network.Network.step`: ISLs with their
   grazing and range rules);
2. the compute nodes' laser links to relays, limited by terminals
   (:func:`orbitlat.latency.placements.terminal_links`);
3. **one multi-source shortest-path search from all compute nodes at once**: a virtual source joined
   to every relay at the delay of its best compute link (0 for a relay that carries compute),
   Dijkstra over the relays (scipy). It gives every relay's one-way delay to its nearest compute
   node, whatever the number of users;
4. each user's best first hop, relay or (``direct``) compute node in view, minimising
   ``uplink + delay onwards``: :func:`orbitlat.visibility.nearest.best_access`, a search that does
   not enumerate the satellites a user sees (thousands, at filing scale).

The cost of a step is that of one Dijkstra over the relays plus, per user, a search among the
satellites near it: it does not grow with users × satellites in view, nor with users × compute
nodes. Delays are those of every satellite scenario (:class:`orbitlat.latency.routing.Delays`):
propagation always; per user link ``access_ms`` (round trip) and ``hop_delay_ms`` each way; per
space link (ISL or compute laser) ``isl_hop_ms`` (round trip) and ``hop_delay_ms`` each way.

>>> import orbitlat as ol
>>> from orbitlat.ground import GroundSites
>>> from orbitlat.latency.placements import Clusters
>>> users = GroundSites(["Lagos", "Jakarta"], [6.4541, -6.2088], [3.3947, 106.8456])
>>> r = nearest_compute(Clusters([ol.presets.get("suncatcher")]), users, "starlink_gen1",
...                     start="2026-01-01", duration="10min", step="5min")
>>> r.rtt_ms.dims, bool(r.rtt_ms.notnull().all())
(('time', 'src', 'dst'), True)
"""
from __future__ import annotations

import time as _time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from orbitlat.errors import OrbitlatError
from orbitlat.latency._inputs import _MS_PER_KM, _constellation, _sites
from orbitlat.latency.network import Network
from orbitlat.latency.placements import OnRelays, Placement, check_shells, terminal_links
from orbitlat.latency.results import REASONS, LatencyResult, _unique_labels, regions
from orbitlat.units import accepts_units

__all__ = ["nearest_compute", "estimate"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Steps per propagation chunk are a divisor of this (time blocks start on multiples of the chunk, so
#: they cut where one process does: kepler-j2 rounds per propagation call).
_UNIT = 60


def _chunk_steps(n_sat: int) -> int:
    from orbitlat.orbits.stream import chunk_steps_for

    fit = chunk_steps_for(max(n_sat, 1))
    return max(d for d in (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, _UNIT) if d <= fit)


def estimate(placement: Placement, users, relays=None, *, n_steps: int):
    """Peak memory and run time of :func:`nearest_compute` here (see :func:`orbitlat.scale.resources.check_budget`)."""
    from orbitlat.scale.resources import Estimate

    n_rel = 0 if relays is None else relays.size
    n_comp = sum(c.size for c in placement.constellations())
    n_sat = n_rel + n_comp
    M = len(users)
    chunk = _chunk_steps(n_sat)
    memory_mb = (chunk * n_sat * 24 * 2 + n_sat * 600 + n_steps * M * 8 * 6) / 2**20
    per_step = n_sat * (0.25e-6 + 0.15e-6) + M * 30e-6 + n_rel * 5e-6
    return Estimate("nearest_compute", memory_mb, n_steps * per_step,
                    f"{n_sat:,} satellites ({n_comp:,} compute) x {M:,} users x {n_steps:,} steps")


@accepts_units
def nearest_compute(placement: Placement, users=None, relays: Any = None, *, times: Any = None, start: Any = None,
                    duration: Any = None, step: Any = None, isl: Any = "plus_grid", network_options: dict | None = None,
                    min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
                    max_range_km: float | None = None, overhead: Any = None, delays: Any = None,
                    datacenter: Any = "stargate",
                    fiber: Any = None, paths: str | None = None, backend: str = "auto",
                    check_overlap: bool = True, scheduler: Any = None, time_chunk: int | None = None,
                    workers: int | None = None, search_threads: int | None = None, retries: int = 2,
                    require_reach: bool = True) -> LatencyResult:
    """Round trip from every user to its nearest compute node, at every time step.

    Parameters
    ----------
    placement : Placement
        :class:`~orbitlat.latency.placements.Clusters`, :class:`~orbitlat.latency.placements.OnRelays`
        or :class:`~orbitlat.latency.placements.Dedicated` (``placements.from_preset(name)`` builds one
        from a compute preset).
    users : GroundSites, optional
        Default: the 1,000 most populous cities (GeoNames).
    relays : Constellation or preset name, optional
        The relay constellation (ISLs per ``isl``). Required for :class:`OnRelays`; without relays
        users reach compute nodes only directly.
    times, start, duration, step
        The time grid (default: one day at 60 s from the relays' or compute satellites' latest epoch).
    isl, network_options
        The relays' ISL topology and other :class:`~orbitlat.latency.network.Network` options.
    min_elevation_deg : float or None
        User terminal mask (25°, Starlink's; None: each site's own).
    gsl_rule, max_range_km
        User links by elevation (default) or Hypatia's slant-range rule.
    overhead : {"calibrated", "none", "high"} or Delays, optional
        The named delays added to propagation, as in every satellite scenario
        (:mod:`orbitlat.latency.overhead`): default ``"calibrated"`` (the access overhead fitted on
        Starlink's published median, once per user terminal; the compute laser links count as ISL
        hops); ``"none"`` for pure propagation.
    delays : Delays, optional
        Explicit :class:`orbitlat.latency.routing.Delays` (overrides ``overhead``).
    datacenter : name, "all" or GroundSites
        The terrestrial data centre compared with (default Stargate, Abilene): ``terrestrial_rtt_ms``.
        With several (GroundSites of many, or ``"all"``: every built-in data centre, Stargate and 26
        cloud regions) each user is compared with its best one by terrestrial RTT, named in
        ``terrestrial_datacenter``.
    fiber : terrestrial model or name, optional
        Model of ``terrestrial_rtt_ms``: ``"routed"`` (default, cables and backbone) or ``"simple"``
        (:mod:`orbitlat.latency.terrestrial`); its attrs are copied onto the variable.
    paths : {None, "changes", "all"}
        Keep the node path (user, first hop, relays..., compute node) when it changes, at every
        step, or not at all (default: the served node, first hop and hop count are kept anyway).
    check_overlap : bool
        Refuse compute shells flying in the relays' orbits (:func:`placements.check_shells`).
    scheduler, time_chunk, retries
        Run in time blocks on a scheduler (:mod:`orbitlat.scale`: ``"threads"``, ``"processes"``, a
        Dask client or address; also inside an :func:`orbitlat.scale.using` block): the same result.
        ``time_chunk`` steps per block (rounded up to a whole number of propagation chunks; default
        one block per local worker, about four per Dask worker thread); ``retries`` re-runs a failed
        block. ``rtt.attrs`` then carries ``parallel_scheduler``, ``parallel_time_chunk`` and
        ``parallel_tasks``.
    workers, search_threads : int, optional
        Threads for the per-user search (``search_threads`` is the name Dask tasks use).
    require_reach : bool
        Refuse (``OrbitlatError``) a placement that no user reaches at any step (time blocks pass
        False; the whole run is checked after their merge).

    Returns
    -------
    LatencyResult
        ``rtt_ms`` (time, src, dst) with one destination, ``"nearest compute"``; beside it
        ``compute_node`` and ``first_hop`` (global node ids, -1: none) and ``space_hops`` (time, src),
        and ``terrestrial_rtt_ms`` (src). Unreachable steps carry their reason.
    """
    from orbitlat.latency.routing import Delays
    from orbitlat.time import TimeGrid, to_timegrid

    t0 = _time.perf_counter()
    if not isinstance(placement, Placement):
        raise OrbitlatError(f"placement must be a compute placement (placements.Clusters, OnRelays, Dedicated or "
                            f"placements.from_preset(name)); got {type(placement).__name__}.")
    if paths not in (None, "changes", "all"):
        raise OrbitlatError(f"paths={paths!r} is not known; use None, 'changes' or 'all'.")
    from orbitlat.latency import overhead as _oh

    if delays is not None:
        if not isinstance(delays, Delays):
            raise OrbitlatError(f"delays must be an orbitlat.latency.routing.Delays; got {type(delays).__name__}.")
        named = _oh.describe(next((k for k, v in _oh.OVERHEADS.items() if v == delays), "custom"))
    else:
        name = "calibrated" if overhead is None else overhead
        delays = _oh.resolve(name)
        named = _oh.describe(name if isinstance(name, str) else "custom")
    rel = None if relays is None else _constellation(relays)
    if isinstance(placement, OnRelays) and rel is None:
        raise OrbitlatError("OnRelays puts compute on relay satellites: give relays= (a Constellation or preset).")
    if rel is None and not placement.direct:
        raise OrbitlatError("no compute node in reach: without relays users can only link straight to a compute node, "
                            "and this placement has direct=False. Give relays= or set direct=True.")
    comp_relays = placement.compute_relays(rel) if rel is not None else np.empty(0, np.int64)
    if isinstance(placement, OnRelays) and comp_relays.size == 0:
        raise OrbitlatError("no compute node: the OnRelays selection picks no relay satellite.")
    if check_overlap and rel is not None and placement.constellations():
        check_shells({"relay": rel, "compute": placement.constellations()})
    users_s = _default_users(users)
    if times is not None:
        tg = times if isinstance(times, TimeGrid) else to_timegrid(times)
    elif start is None:
        src = rel if rel is not None else placement.constellations()[0]
        tg = TimeGrid.span(src.table["epoch"].max(), "1 day" if duration is None else duration,
                           "60 s" if step is None else step)
    else:
        tg = to_timegrid(None, start=start, duration=duration or "1 day", step=step or "60 s")

    if scheduler is not None or time_chunk is not None or _current_runner() is not None:
        res = _in_blocks(placement, users_s, rel, tg, dict(
            isl=isl, network_options=network_options, min_elevation_deg=min_elevation_deg, gsl_rule=gsl_rule,
            max_range_km=max_range_km, delays=delays, datacenter=datacenter, fiber=fiber, paths=paths,
            backend=backend, check_overlap=False, require_reach=False,
            search_threads=workers if search_threads is None else search_threads),
            scheduler=scheduler, time_chunk=time_chunk, retries=retries, wall0=t0)
        if require_reach and not np.isfinite(res.rtt["rtt_ms"].to_numpy()).any():
            raise OrbitlatError(f"no compute node in reach: not one user reached a compute node at any of the {len(tg)} "
                                "steps. Check the placement's orbits, its laser range and terminals, and the users' mask.")
        res.rtt.attrs.update(named)
        res.attrs.update(named)
        return res

    from orbitlat.scale.resources import check_budget

    check_budget(estimate(placement, users_s, rel, n_steps=len(tg)),
                 hint="Use fewer users, a coarser step or a shorter span, or scheduler= to spread it over a cluster.")
    run = _Run(placement, users_s, rel, comp_relays, tg, isl, network_options, min_elevation_deg, gsl_rule,
               max_range_km, delays, paths, backend, workers if search_threads is None else search_threads)
    run.go()
    if require_reach and not np.isfinite(run.rtt).any():
        links = int(run.links_per_step.max()) if run.links_per_step.size else 0
        why = [f"the compute nodes formed {'no' if links == 0 else 'some'} laser link with a relay "
               f"(range {placement.laser_range_km:g} km, {placement.terminals} terminals)" if rel is not None and
               not isinstance(placement, OnRelays) else "",
               "users may not link to compute nodes directly (direct=False)" if not placement.direct else
               "no compute node rose above the users' elevation mask"]
        raise OrbitlatError("no compute node in reach: not one user reached a compute node at any of the "
                            f"{len(tg)} steps; " + "; ".join(w for w in why if w) + ". Check the placement's orbits, "
                            "its laser range and terminals, and the users' mask.")
    res = run.result(datacenter, fiber, t0)
    res.rtt.attrs.update(named)
    res.attrs.update(named)
    return res


def _current_runner():
    from orbitlat.scale.runners import current

    return current()


@dataclass
class _BlockShared:
    placement: Placement
    users: Any
    relays: Any
    kw: dict  # nearest_compute()'s options for every block
    span_utc: np.ndarray


def _nearest_block(ch: tuple, sh: _BlockShared) -> LatencyResult:
    """One task: :func:`nearest_compute` over the instants ``a..b-1`` of the span."""
    from orbitlat.time import TimeGrid

    a, b = ch
    res = nearest_compute(sh.placement, sh.users, sh.relays, times=TimeGrid(sh.span_utc[a:b]), **sh.kw)
    res.src_sites = None  # the caller has them: do not ship them back
    return res


def _in_blocks(placement, users, rel, tg, kw: dict, *, scheduler, time_chunk, retries, wall0) -> LatencyResult:
    """:func:`nearest_compute` as a plan for :mod:`orbitlat.scale`: time blocks, merged exactly.

    Blocks start on multiples of the run's propagation chunk (:func:`_chunk_steps`; kepler-j2
    rounds per call), so every block propagates the calls one process makes and the merged result
    (:func:`orbitlat.latency.blocks.merge_blocks`) is the single-process one: ``rtt`` bit for bit,
    path changes across block boundaries counted as one run counts them.
    """
    import functools

    from orbitlat.latency.blocks import merge_blocks
    from orbitlat.scale.plan import Plan, check_chunk, check_retries, time_bounds
    from orbitlat.scale.runners import runner

    time_chunk = check_chunk(time_chunk, "time_chunk")
    retries = check_retries(retries)
    n = len(tg)
    n_sat = (0 if rel is None else rel.size) + sum(c.size for c in placement.constellations())
    unit = _chunk_steps(n_sat)
    with runner(scheduler, local="threads") as r:
        if time_chunk is not None:
            bounds = time_bounds(n, unit, time_chunk)
        else:
            bounds = time_bounds(n, unit, None, r.workers if r.kind != "sync" else 1, r.tasks_per_worker)
        if r.is_local and len(bounds) > 2 and kw.get("search_threads") is None:
            kw["search_threads"] = 1  # the blocks already fill the cores
        shared = _BlockShared(placement, users, rel, kw, tg.utc)
        plan = Plan(_nearest_block, list(zip(bounds[:-1], bounds[1:])), shared,
                    merge=functools.partial(merge_blocks, paths=kw.get("paths")), name="orbitlat-nearest-compute")
        res = r.run(plan, retries)[0]
        label = r.label
    for d in (res.rtt.attrs, res.attrs):  # the whole grid's step (a one-step block has none of its own)
        if "step_s" in d:
            d["step_s"] = tg.step_s
    res.src_sites = users
    res.rtt.attrs["wall_s"] = _time.perf_counter() - wall0
    if "wall_s" in res.attrs:
        res.attrs["wall_s"] = res.rtt.attrs["wall_s"]
    res.rtt.attrs.update(parallel_scheduler=label, parallel_time_chunk=int(bounds[1] - bounds[0]),
                         parallel_tasks=len(plan.chunks))
    return res


def _terrestrial_sites(datacenter):
    """The terrestrial data centre(s) compared with: a built-in name, ``"all"`` (every built-in data
    centre: Stargate and the cloud regions, each user taking its best), or GroundSites."""
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.scenarios import _default_dc

    if isinstance(datacenter, str) and datacenter.strip().lower() == "all":
        return GroundSites.datacenters()
    return _default_dc(datacenter)


def _default_users(users):
    from orbitlat.ground.sites import GroundSites

    return GroundSites.cities(top=1000) if users is None else _sites(users, "users")


class _Run:
    """One nearest-compute run (see :func:`nearest_compute`)."""

    def __init__(self, placement, users, rel, comp_relays, tg, isl, network_options, mask, gsl_rule, max_range_km,
                 delays, paths, backend, workers):
        from orbitlat.latency._inputs import _site_index

        self.p, self.users, self.rel, self.tg = placement, users, rel, tg
        self.comp_relays = comp_relays
        self.net = None if rel is None else Network(rel, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km,
                                                     backend=backend, **(network_options or {}))
        self.index = _site_index(users, mask)
        self.gsl_rule, self.max_range_km = gsl_rule, max_range_km
        self.delays, self.paths, self.backend, self.workers = delays, paths, backend, workers
        self.N = 0 if rel is None else rel.size
        self.M = len(users)
        self.K = 0 if isinstance(placement, OnRelays) else placement.n_nodes
        hop = float(delays.hop_delay_ms)
        self.link_ms = hop + 0.5 * float(delays.isl_hop_ms)  # per space link, one way, beyond light time
        self.user_ms = hop + 0.5 * float(delays.access_ms)   # per user link, one way, beyond light time
        nt = len(tg)
        self.rtt = np.full((nt, self.M), np.nan)
        self.node = np.full((nt, self.M), -1, np.int64)
        self.first = np.full((nt, self.M), -1, np.int64)
        self.hops = np.full((nt, self.M), -1, np.int64)
        self.links_per_step = np.zeros(nt, np.int64)
        self._reasons: list = []
        self._path_rows: list = []
        self._prev = None
        self.changes = np.zeros(self.M, np.int64)
        # global node ids: relays 0..N-1, users N..N+M-1, compute nodes after
        self.comp_base = self.N + self.M

    # ------------------------------------------------------------------
    def _positions(self):
        from orbitlat.orbits.stream import iter_positions

        cons = ([self.rel] if self.rel is not None else []) + self.p.constellations()
        chunk = _chunk_steps(sum(c.size for c in cons))
        iters = [iter_positions(c, self.tg, chunk=chunk, backend=self.backend) for c in cons]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            for parts in zip(*iters):
                tgc = parts[0][0]
                pos = [p[1] for p in parts]
                rel = pos[0] if self.rel is not None else np.empty((len(tgc), 0, 3))
                comp_pos = pos[1:] if self.rel is not None else pos
                comp = self.p.node_positions(comp_pos) if comp_pos else np.empty((len(tgc), 0, 3))
                yield tgc, rel, comp

    def go(self) -> None:
        k = 0
        for tgc, rel, comp in self._positions():
            for j in range(len(tgc)):
                self._step(k, rel[j], comp[j], tgc.utc[j])
                k += 1

    def _step(self, k: int, rel_xyz: np.ndarray, comp_xyz: np.ndarray, when) -> None:
        from scipy.sparse import csr_matrix
        from scipy.sparse.csgraph import dijkstra

        from orbitlat.visibility.nearest import best_access

        N, K, p = self.N, self.K, self.p
        dist = np.full(N, np.inf)
        entry_comp = np.full(N, -1, np.int64)  # per relay: the compute node (global id) its chain ends at
        hops = np.full(N, -1, np.int64)
        pred = None
        if N:
            snap = self.net.step(rel_xyz, None, time=when)
            init = np.full(N, np.inf)
            init_comp = np.full(N, -1, np.int64)
            init_hops = np.zeros(N, np.int64)
            if K:
                no_isl = getattr(self.net, "_no_isl", None)  # relays that carry no lasers take no compute link
                lasers = rel_xyz if no_isl is None else np.where(no_isl[:, None], np.nan, rel_xyz)
                c, r, d = terminal_links(comp_xyz, lasers, terminals=p.terminals, relay_terminals=p.relay_terminals,
                                         max_range_km=p.laser_range_km,
                                         grazing_altitude_km=self.net.grazing_altitude_km or 0.0,
                                         radius_km=self.net.earth_radius_km)
                self.links_per_step[k] = c.size
                w = d * _MS_PER_KM + self.link_ms
                o = np.lexsort((c, w, r))  # per relay: its best compute link (ties: lowest node)
                r_o, w_o, c_o = r[o], w[o], c[o]
                firsts = np.r_[True, r_o[1:] != r_o[:-1]] if r_o.size else np.zeros(0, bool)
                init[r_o[firsts]] = w_o[firsts]
                init_comp[r_o[firsts]] = self.comp_base + c_o[firsts]
                init_hops[r_o[firsts]] = 1
            if self.comp_relays.size:
                init[self.comp_relays] = 0.0
                init_comp[self.comp_relays] = self.comp_relays
                init_hops[self.comp_relays] = 0
            ok = np.isfinite(init)
            if ok.any():
                S = N  # the virtual source
                a = np.concatenate([snap.link_a, snap.link_b, np.full(int(ok.sum()), S)])
                b = np.concatenate([snap.link_b, snap.link_a, np.flatnonzero(ok)])
                wl = snap.link_km * _MS_PER_KM + self.link_ms
                wt = np.concatenate([wl, wl, init[ok]])
                o = np.lexsort((b, a))
                a, b, wt = a[o], b[o], wt[o]
                indptr = np.searchsorted(a, np.arange(N + 2))
                g = csr_matrix((wt, b, indptr), shape=(N + 1, N + 1))
                dd, pr = dijkstra(g, directed=True, indices=S, return_predecessors=True)
                dist = dd[:N]
                pred = pr[:N]
                # entry relay and hop count of every reached relay, in order of distance (pred before child)
                reach = np.flatnonzero(np.isfinite(dist))
                order = reach[np.argsort(dist[reach], kind="stable")]
                entry = np.full(N, -1, np.int64)
                depth = np.zeros(N, np.int64)
                for v in order:  # a relay's predecessor is reached no later (positive delays)
                    u = pred[v]
                    if u == S:
                        entry[v] = v
                    else:
                        entry[v] = entry[u]
                        depth[v] = depth[u] + 1
                entry_comp[reach] = init_comp[entry[reach]]
                hops[reach] = depth[reach] + init_hops[entry[reach]]
        # the users' best first hop: a relay (onwards delay dist) or, directly, a compute node (0)
        cand = rel_xyz if K == 0 else np.concatenate([rel_xyz.reshape(-1, 3), comp_xyz.reshape(-1, 3)])
        cost = dist if K == 0 else np.concatenate([dist, np.zeros(K) if p.direct else np.full(K, np.inf)])
        acc = best_access(self.index, cand, cost_ms=cost, rule=self.gsl_rule, max_range_km=self.max_range_km,
                          workers=self.workers)
        got = acc.sat >= 0
        one_way = acc.total_ms + self.user_ms
        self.rtt[k] = np.where(got, 2.0 * one_way, np.nan)
        s = acc.sat
        via_relay = got & (s < N)
        direct = got & (s >= N)
        self.first[k] = np.where(via_relay, s, np.where(direct, self.comp_base + (s - N), -1))
        self.node[k, via_relay] = entry_comp[s[via_relay]]
        self.node[k, direct] = self.comp_base + (s[direct] - N)
        self.hops[k, via_relay] = hops[s[via_relay]]
        self.hops[k, direct] = 0
        if (~got).any():
            if np.isfinite(cost).all():  # every satellite leads to compute: a user with none sees none
                idx = np.flatnonzero(~got)
                self._reasons.append((np.full(idx.size, k), idx, np.zeros(idx.size, np.int64)))
            else:
                self._unreachable(k, ~got, cand)
        if self.paths is not None:
            self._record_paths(k, s, got, via_relay, pred, entry_comp)

    def _unreachable(self, k: int, bad: np.ndarray, cand: np.ndarray) -> None:
        """Why: the user sees no satellite at all (code 0), or none of those it sees leads to compute (2)."""
        from orbitlat.visibility.engine import SiteIndex
        from orbitlat.visibility.nearest import best_access

        idx = np.flatnonzero(bad)
        i = self.index
        sub = SiteIndex(i.xyz_km[idx], i.up[idx], i.east[idx], i.north[idx], i.min_elevation_deg[idx], None,
                        i.spherical)
        seen = best_access(sub, cand, rule=self.gsl_rule, max_range_km=self.max_range_km, workers=1).sat >= 0
        self._reasons.append((np.full(idx.size, k), idx, np.where(seen, 2, 0)))

    def _record_paths(self, k, s, got, via_relay, pred, entry_comp) -> None:
        N, M = self.N, self.M
        rows = []
        for u in np.flatnonzero(got):
            chain = [self.N + u]
            v = int(s[u])
            if via_relay[u]:
                while v >= 0 and v != N:
                    chain.append(v)
                    v = int(pred[v])
                end = int(entry_comp[s[u]])
                if end != chain[-1]:
                    chain.append(end)
            else:
                chain.append(self.comp_base + (v - N))
            rows.append(tuple(chain))
        cur = {u: r for u, r in zip(np.flatnonzero(got).tolist(), rows)}
        prev = self._prev
        for u in range(M):
            now = cur.get(u)
            changed = prev is None or prev.get(u) != now
            if prev is not None and changed:
                self.changes[u] += 1
            if now is not None and (changed or self.paths == "all"):
                self._path_rows.append((k, u, self.rtt[k, u], now))
        self._prev = cur

    # ------------------------------------------------------------------
    def result(self, datacenter, fiber, t0) -> LatencyResult:
        from orbitlat.latency.assembly import terrestrial_matrix
        from orbitlat.latency.terrestrial.base import terrestrial_model

        tg, users = self.tg, self.users
        names = _unique_labels(users)
        dst = np.array(["nearest compute"])
        f = terrestrial_model(fiber)
        dc = _terrestrial_sites(datacenter)
        terr_m, terr_attrs = terrestrial_matrix(f, users, dc)
        best = np.argmin(np.where(np.isnan(terr_m), np.inf, terr_m), axis=1)  # several: each user's best one
        terr = terr_m[np.arange(len(users)), best]
        dc_label = str(dc.names[0]) if len(dc) == 1 else f"the user's best of {len(dc)} data centres"
        desc = self.delays.describe()
        coords = {"time": tg.utc, "src": names, "dst": dst, "src_lat_deg": ("src", users.lat_deg),
                  "src_lon_deg": ("src", users.lon_deg), "population": ("src", users.population.astype(float)),
                  "region": ("src", regions(users)), "src_node": ("src", self.N + np.arange(self.M)),
                  "dst_node": ("dst", np.array([-1]))}
        data = {
            "rtt_ms": (("time", "src", "dst"), self.rtt[:, :, None],
                       {"units": "ms", "long_name": f"round-trip time to the nearest compute node ({desc})",
                        "delays_included": self.delays.included()}),
            "compute_node": (("time", "src"), self.node, {"long_name": "global id of the compute node served (-1: none)"}),
            "first_hop": (("time", "src"), self.first,
                          {"long_name": "global id of the user's first hop, relay or compute node (-1: none)"}),
            "space_hops": (("time", "src"), self.hops,
                           {"long_name": "space links on the path: ISLs plus the compute laser link (-1: none)"}),
            "terrestrial_rtt_ms": (("src",), np.asarray(terr, dtype=np.float64),
                                   {"units": "ms", "long_name": f"terrestrial RTT to {dc_label}",
                                    "datacenter": dc_label, "datacenters": "; ".join(map(str, dc.names)),
                                    **{k: v for k, v in terr_attrs.items() if isinstance(v, (str, int, float))}}),
            "terrestrial_datacenter": (("src",), np.asarray(dc.names, dtype=object)[best].astype(str),
                                       {"long_name": "the data centre of terrestrial_rtt_ms (lowest terrestrial RTT)"}),
            "compute_links": (("time",), self.links_per_step,
                              {"long_name": "laser links between compute nodes and relays at each step"}),
        }
        p = self.p
        attrs = {"scenario": "nearest compute", "placement": p.kind, "placement_detail": p.describe(),
                 "relays": self.rel.name if self.rel is not None else "none", "n_relays": self.N,
                 "n_compute_nodes": int(self.K if self.K else self.comp_relays.size),
                 "isl": (str(self.net.isl) if isinstance(self.net.isl, str) else "custom") if self.net else "none",
                 "gsl_rule": self.gsl_rule, **{f"link_{k}": v for k, v in p.links().items()}, **self.delays.attrs(),
                 "step_s": tg.step_s, "all_pairs": 0, "wall_s": _time.perf_counter() - t0,
                 "search": "multi-source Dijkstra from all compute nodes; per-user best first hop (3-D cell search)"}
        ds = xr.Dataset(data, coords=coords, attrs=attrs)
        if self._reasons:
            rt, rs, rc = (np.concatenate(x) for x in zip(*self._reasons))
        else:
            rt = rs = rc = np.empty(0, np.int64)
        unreachable = pd.DataFrame({"time": tg.utc[rt], "src": names[rs], "dst": dst[np.zeros(rs.size, np.int64)],
                                    "reason": pd.Categorical.from_codes(rc, categories=list(REASONS))})
        if self._path_rows:
            kk, uu, rr, pp = zip(*self._path_rows)
            paths_df = pd.DataFrame({"time": tg.utc[np.array(kk)], "src": names[np.array(uu)], "dst": dst[0],
                                     "rtt_ms": np.array(rr), "hops": [len(x) - 1 for x in pp], "path": list(pp)})
        else:
            paths_df = pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns]"), "src": [], "dst": [],
                                     "rtt_ms": [], "hops": [], "path": []})
        tracked = self.paths is not None
        pc = xr.DataArray((self.changes if tracked else np.full(self.M, np.nan))[:, None], dims=("src", "dst"),
                          coords={"src": names, "dst": dst}, name="path_changes",
                          attrs={"long_name": "number of path changes between consecutive steps"
                                 + ("" if tracked else " (not tracked: paths=None)")})
        nodes = pd.DataFrame({
            "node": np.arange(self.N + self.M + self.K),
            "kind": ["satellite"] * self.N + ["user"] * self.M + ["compute"] * self.K,
            "name": ([] if self.rel is None else self.rel.table["name"].astype(str).tolist()) + list(names)
            + self.p.node_names(),
        }).set_index("node")
        return LatencyResult(ds, paths_df, unreachable, pc, nodes, users, attrs)
