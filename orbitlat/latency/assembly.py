"""Result assembly: one step's RTTs, paths and unreachable reasons folded into a :class:`LatencyResult`.

:class:`Assembly` keeps the per-step outputs of :func:`orbitlat.latency.routing.route` (RTT = 2 ×
the one-way delay; the direct-link RTT to orbital data centres; the reason of every unreachable
pair; each pair's path when it changes and the count of changes) and builds the labelled result at
the end, with the terrestrial baseline and the great-circle vacuum bound beside it and attrs that
name every delay included.
"""
from __future__ import annotations

import time as _time

import numpy as np
import pandas as pd
import xarray as xr

from orbitlat.latency._inputs import _MS_PER_KM
from orbitlat.latency.access import EndpointPlan, _Access
from orbitlat.latency.network import Network, NetworkStep
from orbitlat.latency.results import REASONS, LatencyResult, _unique_labels, regions
from orbitlat.latency.terrestrial.simple import great_circle_km
from orbitlat.units import accepts_units

__all__ = ["Assembly", "detours", "DETOUR_FACTOR", "DETOUR_MIN_KM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def terrestrial_matrix(model, src_sites, dst_sites) -> tuple[np.ndarray, dict]:
    """The terrestrial model's RTT (src, dst), ms, and attrs naming the model and its delays.

    Endpoints the model cannot attach (farther than ``max_attach_km`` from the routed model's graph:
    remote islands, ships, polar stations) get NaN, counted in ``terrestrial_unreachable_pairs`` with
    the reason in ``terrestrial_unreachable_reason``: never silently.
    """
    ok_s = np.ones(len(src_sites), bool)
    ok_d = np.ones(len(dst_sites), bool)
    if hasattr(model, "reachable"):
        ok_s, ok_d = model.reachable(src_sites.lat_deg, src_sites.lon_deg), model.reachable(dst_sites.lat_deg,
                                                                                             dst_sites.lon_deg)
    f = np.full((len(src_sites), len(dst_sites)), np.nan)
    if ok_s.any() and ok_d.any():
        f[np.ix_(ok_s, ok_d)] = model.rtt_ms(src_sites.lat_deg[ok_s][:, None], src_sites.lon_deg[ok_s][:, None],
                                             dst_sites.lat_deg[ok_d][None, :], dst_sites.lon_deg[ok_d][None, :])
    attrs = dict(model.attrs)
    n_bad = int(len(src_sites) * len(dst_sites) - ok_s.sum() * ok_d.sum())
    attrs["terrestrial_unreachable_pairs"] = n_bad
    if n_bad:
        attrs["terrestrial_unreachable_reason"] = (
            f"NaN where an endpoint lies farther than {getattr(model, 'max_attach_km', 0):g} km from every node of "
            "the terrestrial graph (no fiber modelled there)")
    return f, attrs


class Assembly:
    """Accumulates a routing run step by step (see the module docs)."""

    def __init__(self, plan: EndpointPlan, network: Network, tg, *, paths: str | None, odc_direct: bool):
        self.plan, self.network, self.tg, self.paths = plan, network, tg, paths
        ns, nd, nt = plan.ns, plan.nd, len(tg)
        self.rtt = np.full((nt, ns, nd), np.nan)
        self.direct = np.full((nt, ns, nd), np.nan) if (plan.mode == "odc" and odc_direct) else None
        self._reasons: list[tuple[np.ndarray, ...]] = []
        self._path_rows: list = []
        self._prev_paths = None
        self.changes = np.zeros((ns, nd), np.int64)
        self.isl_dropped = 0  # ISLs left out by the range rule, summed over steps
        # the as-operated fallback rule: which (step, user) had no bent pipe and needed ISLs
        self.isl_used = np.zeros((nt, ns), bool) if plan.isl_fallback else None

    def add(self, k_t: int, step: NetworkStep, A_src: _Access, A_dst: _Access | None, one_way: np.ndarray,
            P: np.ndarray | None) -> None:
        """Fold step ``k_t`` (its attachments, one-way delays and paths) into the result."""
        plan, ns, nd = self.plan, self.plan.ns, self.plan.nd
        all_pairs = plan.all_pairs
        self.isl_dropped += int(getattr(step, "isl_dropped", 0))
        r = 2.0 * one_way
        if all_pairs:
            np.fill_diagonal(r, np.nan)
        self.rtt[k_t] = np.where(np.isfinite(r), r, np.nan)
        if self.isl_used is not None and plan.bent_users is not None:
            self.isl_used[k_t] = ~plan.bent_users & np.isfinite(r).any(axis=1)
        if self.direct is not None:
            m = A_src.core >= step.n_sat
            dd = np.full((ns, nd), np.inf)
            np.minimum.at(dd, (A_src.ep[m], A_src.core[m] - step.n_sat), A_src.w_ms[m])
            self.direct[k_t] = np.where(np.isfinite(dd), 2.0 * dd, np.nan)
        # unreachable diagnostics
        bad = ~np.isfinite(r)
        if all_pairs:
            np.fill_diagonal(bad, False)
        if bad.any():
            si, di = np.nonzero(bad)
            cs = A_src.counts()
            if plan.mode == "odc":
                cd = np.ones(nd, np.int64)
            elif A_dst is None:
                cd = np.ones(nd, np.int64) * (len(self.network.gsl(step, plan.gw_idx, core=False)) > 0)
            else:
                cd = A_dst.counts()
            code = np.where(cs[si] == 0, 0, np.where(cd[di] == 0, 1, 2))
            self._reasons.append((np.full(si.size, k_t), si, di, code))
        if P is not None:
            prev = self._prev_paths
            if prev is not None:
                w_ = max(prev.shape[2], P.shape[2])
                a_ = np.pad(prev, ((0, 0), (0, 0), (0, w_ - prev.shape[2])), constant_values=-1)
                b_ = np.pad(P, ((0, 0), (0, 0), (0, w_ - P.shape[2])), constant_values=-1)
                changed = (a_ != b_).any(axis=2)
                if all_pairs:
                    np.fill_diagonal(changed, False)
                self.changes += changed
            else:
                changed = np.ones((ns, nd), bool)
                if all_pairs:
                    np.fill_diagonal(changed, False)
            sel = (changed | (self.paths == "all")) & np.isfinite(r)
            si, di = np.nonzero(sel)
            if si.size:
                self._path_rows.append((np.full(si.size, k_t), si, di, r[si, di], P[si, di]))
            self._prev_paths = P

    def result(self, *, fiber, delays, wall0: float, extra_attrs: dict | None = None) -> LatencyResult:
        """The :class:`LatencyResult`; ``fiber`` is the terrestrial baseline model, ``delays`` the named delays."""
        plan, network, tg = self.plan, self.network, self.tg
        src_sites, dst_sites, all_pairs, to_odc = plan.src_sites, plan.dst_sites, plan.all_pairs, plan.mode == "odc"
        src_names = _unique_labels(src_sites)
        dst_names = _unique_labels(None, network.odc_names) if to_odc else (
            src_names if all_pairs else _unique_labels(dst_sites))
        coords = {"time": tg.utc, "src": src_names, "dst": dst_names,
                  "src_lat_deg": ("src", src_sites.lat_deg), "src_lon_deg": ("src", src_sites.lon_deg),
                  "population": ("src", src_sites.population.astype(float)),
                  "region": ("src", regions(src_sites)), "src_node": ("src", plan.src_gid),
                  "dst_node": ("dst", plan.dst_gid)}
        data = {"rtt_ms": (("time", "src", "dst"), self.rtt,
                           {"units": "ms", "long_name": "round-trip time (" + delays.describe() + ")",
                            "delays_included": delays.included()})}
        if self.isl_used is not None:
            data["isl_used"] = (("time", "src"), self.isl_used,
                                {"long_name": "no satellite of the user saw a gateway: carried over ISLs (as operated)"})
        if self.direct is not None:
            data["direct_rtt_ms"] = (("time", "src", "dst"), self.direct,
                                     {"units": "ms", "long_name": "RTT over a direct link to the orbital data centre",
                                      "delays_included": delays.included()})
        if not to_odc:
            f, fiber_attrs = terrestrial_matrix(fiber, src_sites, dst_sites)
            bnd = 2.0 * great_circle_km(src_sites.lat_deg[:, None], src_sites.lon_deg[:, None],
                                        dst_sites.lat_deg[None, :], dst_sites.lon_deg[None, :]) * _MS_PER_KM
            if all_pairs:
                np.fill_diagonal(f, np.nan)
                np.fill_diagonal(bnd, np.nan)
            data["fiber_rtt_ms"] = (("src", "dst"), f, {"units": "ms", "long_name": "terrestrial fiber RTT",
                                                         **fiber_attrs})
            data["bound_rtt_ms"] = (("src", "dst"), bnd,
                                    {"units": "ms", "long_name": "great-circle vacuum bound 2*d/c (R=6371.0088 km)"})
        attrs = {"constellation": network.constellation.name, "n_satellites": plan.n_sat,
                 "isl": str(network.isl) if isinstance(network.isl, str) else "custom",
                 "isl_max_km": float("nan") if network.isl_max_km is None else float(network.isl_max_km),
                 "isl_links_dropped_by_range": int(self.isl_dropped),
                 "gsl_rule": network.gsl_rule, **delays.attrs(), "step_s": tg.step_s, "all_pairs": int(all_pairs),
                 "wall_s": _time.perf_counter() - wall0}
        attrs.update(extra_attrs or {})
        attrs.update(plan.attrs)
        ds = xr.Dataset(data, coords=coords, attrs=attrs)
        if self._reasons:
            rt, rs, rd, rc = (np.concatenate(x) for x in zip(*self._reasons))
        else:
            rt = rs = rd = rc = np.empty(0, np.int64)
        unreachable = pd.DataFrame({"time": tg.utc[rt], "src": src_names[rs], "dst": dst_names[rd],
                                    "reason": pd.Categorical.from_codes(rc, categories=list(REASONS))})
        if self._path_rows:
            tt, ss, dd, rr, rows = zip(*self._path_rows)
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
        if plan.mode in ("pairs", "terminals") and not (isinstance(network.isl, str) and network.isl == "none"):
            _warn_detours(ds, delays, plan.mode)  # space paths between terminals (no terrestrial legs)
        tracked = self.paths is not None
        pc = xr.DataArray(self.changes if tracked else np.full(self.changes.shape, np.nan), dims=("src", "dst"),
                          coords={"src": src_names, "dst": dst_names}, name="path_changes",
                          attrs={"long_name": "number of path changes between consecutive steps"
                                 + ("" if tracked else " (not tracked: paths=None)")})
        return LatencyResult(ds, paths_df, unreachable, pc, plan.nodes, src_sites, attrs)


#: A route is a detour when its propagation RTT exceeds this many times the great-circle vacuum bound...
DETOUR_FACTOR = 3.0
#: ... between points at least this far apart (closer, the climb to the satellites dominates any route:
#: at 1,200 km altitude and a 25° mask the two slant legs alone are about 4,000 km).
DETOUR_MIN_KM = 3000.0


@accepts_units
def detours(rtt: xr.Dataset, *, factor: float = DETOUR_FACTOR, min_km: float = DETOUR_MIN_KM,
            fixed_ms=0.0) -> pd.DataFrame:
    """Pairs whose median RTT (less ``fixed_ms`` of named fixed delays) exceeds ``factor`` × the vacuum bound.

    Only pairs at least ``min_km`` apart along the great circle count. Returns src, dst, distance_km,
    median_rtt_ms, bound_rtt_ms and ratio, worst first.
    """
    from orbitlat.constants import C_KM_S

    med = rtt["rtt_ms"].median("time", skipna=True) - fixed_ms
    bound = rtt["bound_rtt_ms"]
    km = bound * C_KM_S / 2000.0
    ratio = (med / bound).where((km >= min_km) & np.isfinite(med))
    df = xr.Dataset({"distance_km": km, "median_rtt_ms": med + fixed_ms, "bound_rtt_ms": bound,
                     "ratio": ratio}).to_dataframe().reset_index()
    df = df[df["ratio"] > factor].sort_values("ratio", ascending=False)
    return df[["src", "dst", "distance_km", "median_rtt_ms", "bound_rtt_ms", "ratio"]].reset_index(drop=True)


def _warn_detours(ds: xr.Dataset, delays, mode: str) -> None:
    """Warn (and count in attrs) when routes run far longer than their geodesic: a broken ISL topology."""
    import warnings

    d = detours(ds, fixed_ms=2 * float(delays.access_ms))  # two user terminals on every such path
    ds.attrs["detour_pairs"] = int(len(d))
    if len(d):
        w = d.iloc[0]
        warnings.warn(
            f"{len(d)} route(s) run more than {DETOUR_FACTOR:g}x their great-circle vacuum bound (pairs "
            f">= {DETOUR_MIN_KM:,.0f} km apart), e.g. {w['src']} -> {w['dst']}: median {w['median_rtt_ms']:.0f} ms "
            f"against {w['bound_rtt_ms']:.0f} ms ({w['ratio']:.1f}x). The ISL topology may be broken or too sparse (an inferred "
            "+Grid on a catalog pairs distant satellites, or planes lack links); try isl='nearest_k' (per-step "
            "nearest satellites in laser range), or check the constellation's planes "
            "(orbitlat.orbits.inference.shell_summary). orbitlat.latency.assembly.detours(result.rtt) lists them.",
            UserWarning, stacklevel=4)


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
