"""Shortest paths over one network step: scipy's Dijkstra from the needed sources, and exact
warm-started shortest-path trees carried from one step to the next (previous trees re-checked with
a Bellman certificate on every edge, violations repaired by label correction, Dijkstra only where a
tree changed much). RTTs are bit-identical to a cold Dijkstra.
"""
from __future__ import annotations

import numpy as np
from orbitlat.latency.network import NetworkStep
from orbitlat.latency._inputs import _MS_PER_KM
from orbitlat.latency.access import _Access

__all__ = ["best_paths"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


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


def _bent_pipe_nearest(network, step, A_src: _Access, gw_idx, backhaul_ms, nearest_gw, hop, want, src_gid,
                       gw_base, dst_gid, n_core, odc_base, extra_ms: float = 0.0):
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
        tot = w + R[s, g] + backhaul_ms[g, j] + 2.0 * hop + extra_ms
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


def best_paths(plan, network, step: NetworkStep, A_src: _Access, A_dst: _Access | None, delays, want_paths: bool,
               warm: _WarmTrees | None):
    """One step's shortest one-way delays (ns, nd) and, if wanted, the global-node paths (ns, nd, W).

    Searches from the smaller side (the graph is symmetric); ``A_dst`` None is the bent-pipe
    nearest-gateway rule. Space links carry ``hop_delay_ms`` plus half of ``isl_hop_ms`` one way.
    """
    from orbitlat.latency.assembly import _assemble_paths

    hop = float(delays.hop_delay_ms)
    N, M, ns, nd = plan.n_sat, plan.n_ground, plan.ns, plan.nd
    if A_dst is None:
        return _bent_pipe_nearest(network, step, A_src, plan.gw_idx, plan.backhaul_ms, plan.nearest_gw, hop,
                                  want_paths, plan.src_gid, N + plan.gw_off, plan.dst_gid, step.n_sat, N + M,
                                  extra_ms=0.5 * float(delays.gateway_ms))
    fallback = getattr(plan, "isl_fallback", False)
    if fallback:
        bent, best_sat, via, has = _bent_join(step, A_src, A_dst, want_paths)
        plan.bent_users = has  # read by the result assembly (which users needed ISLs at this step)
        if has.all():  # every user has a bent pipe: no ISL search needed
            P = _bent_paths(bent, best_sat, via, has, None, plan.src_gid, N + plan.gw_off, plan.dst_gid) \
                if want_paths else None
            return bent, P
    reverse = A_dst.n_ep < A_src.n_ep
    Afrom, Ato = (A_dst, A_src) if reverse else (A_src, A_dst)
    d, info = _shortest(step, hop + 0.5 * float(delays.isl_hop_ms), Afrom, Ato, want_paths, warm)
    one_way = d.T if reverse else d
    P = None
    if want_paths:
        P = _assemble_paths(info, Afrom, Ato, reverse, step, plan.src_gid, plan.dst_gid, N + plan.gw_off, N + M, ns, nd)
    if fallback:
        one_way = np.where(has[:, None], bent, one_way)
        if want_paths:
            P = _bent_paths(bent, best_sat, via, has, P, plan.src_gid, N + plan.gw_off, plan.dst_gid)
    return one_way, P


def _bent_join(step: NetworkStep, A_src: _Access, A_dst: _Access, want_paths: bool):
    """The best bent pipe of every (user, destination): ``(one_way, satellite, gateway, has_bent)``.

    The as-operated rule (``Gateways(isl="fallback")``): a user whose satellites see a gateway goes
    down through it, with no ISL. ``A_dst`` is the gateway access of the destinations (the best
    gateway per (destination, satellite): its GSL plus backhaul), so the bent pipe of user ``u`` to
    destination ``d`` is ``min over satellites s seen by both`` of ``A_src(u, s) + A_dst(d, s)``: the
    shortest path with no space link, at the same named delays. ``has_bent`` (per user): a bent pipe
    to some destination exists; those users keep it, the others are routed over ISLs.
    """
    n_sat, ns, nd = step.n_sat, A_src.n_ep, A_dst.n_ep
    W = np.full((nd, n_sat), np.inf)
    G = np.full((nd, n_sat), -1, np.int64)
    m = A_dst.core < n_sat
    W[A_dst.ep[m], A_dst.core[m]] = A_dst.w_ms[m]
    G[A_dst.ep[m], A_dst.core[m]] = A_dst.via[m]
    m = A_src.core < n_sat
    u, s, w = A_src.ep[m], A_src.core[m], A_src.w_ms[m]
    bent = np.full((ns, nd), np.inf)
    best_sat = np.full((ns, nd), -1, np.int64)
    if u.size:
        cand = w[:, None] + W[:, s].T  # (user-satellite links, destinations)
        starts = np.flatnonzero(np.r_[True, u[1:] != u[:-1]])  # A_src is sorted by endpoint
        users = u[starts]
        bent[users] = np.minimum.reduceat(cand, starts, axis=0)
        if want_paths:
            # the first link (in A_src order) reaching each user's minimum, per destination
            seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, u.size]))
            idx = np.where(cand == bent[users][seg], np.arange(u.size)[:, None], u.size)
            first = np.minimum.reduceat(idx, starts, axis=0)
            r, c = np.nonzero(first < u.size)
            best_sat[users[r], c] = s[first[r, c]]
    return bent, best_sat, G, np.isfinite(bent).any(axis=1)


def _bent_paths(bent, best_sat, G, has, P, src_gid, gw_base: int, dst_gid):
    """Paths (ns, nd, W): ``[user, satellite, gateway, dst]`` for users with a bent pipe, ``P``'s otherwise."""
    ns, nd = bent.shape
    width = 4 if P is None else max(P.shape[2], 4)
    P2 = np.full((ns, nd, width), -1, np.int64)
    if P is not None:
        P2[:, :, :P.shape[2]] = P
    P2[has] = -1
    ui, dj = np.nonzero(has[:, None] & (best_sat >= 0))
    sat = best_sat[ui, dj]
    P2[ui, dj, :4] = np.stack([src_gid[ui], sat, gw_base + G[dj, sat], dst_gid[dj]], axis=1)
    return P2
