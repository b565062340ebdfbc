""":func:`route`: RTTs and paths between ground endpoints at every time step.

For each step: the network snapshot (:meth:`~orbitlat.latency.network.Network.step`), endpoint
attachment (:mod:`orbitlat.latency.access`), shortest paths (:mod:`orbitlat.latency.shortest`), and
result assembly (RTT, paths, path changes, unreachable reasons) into a
:class:`~orbitlat.latency.results.LatencyResult`.
"""
from __future__ import annotations

import time as _time
from typing import Any
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.latency.terrestrial.simple import FiberModel, great_circle_km
from orbitlat.latency.network import Network, NetworkStep
from orbitlat.latency._inputs import _MS_PER_KM, _site_index, _sites, _times
from orbitlat.latency.access import _Access, _gateway_access, _terminal_access
from orbitlat.latency.results import LatencyResult, REASONS, _unique_labels, regions
from orbitlat.latency.shortest import _WARM_START, _WarmTrees, _shortest

__all__ = ["route"]


def route(network: Network, sources, destinations=None, *, gateways=None, backhaul: FiberModel | None = None,
          gateway_radius_km: float | None = None, gateway_choice: Any = "best", times=None, start=None,
          duration=None, step=None, min_elevation_deg: float | None = None,
          gateway_min_elevation_deg: float | None = None, hop_delay_ms: float = 0.0, paths: str | None = "changes",
          fiber: FiberModel | None = None, odc_direct: bool = True, progress: bool = False,
          workers: int = 1, scheduler: Any = None, time_chunk: int | None = None, retries: int = 2) -> LatencyResult:
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
        Processes on this machine to share the time steps (contiguous blocks of the grid,
        merged so that the result is the same as with one process: :mod:`orbitlat.latency.blocks`).
    scheduler, time_chunk, retries
        Run the time blocks on a scheduler of :mod:`orbitlat.scale` (``"processes"``, a Dask
        client, an address ...), ``time_chunk`` steps each, re-running a failed block up to
        ``retries`` times; the same result (see :func:`orbitlat.latency.blocks.route_in_blocks`).

    Returns
    -------
    LatencyResult
    """

    t0 = _time.perf_counter()
    if not isinstance(network, Network):
        raise OrbitlatError(f"route needs an orbitlat.latency.network.Network; got {type(network).__name__}.")
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
    from orbitlat.scale.runners import current

    workers = min(int(workers), len(tg))
    if workers > 1 or scheduler is not None or time_chunk is not None or current() is not None:
        from orbitlat.latency.blocks import route_in_blocks

        kw = dict(gateways=gateways, backhaul=backhaul, gateway_radius_km=gateway_radius_km,
                  gateway_choice=gateway_choice, min_elevation_deg=min_elevation_deg,
                  gateway_min_elevation_deg=gateway_min_elevation_deg, hop_delay_ms=hop_delay_ms, paths=paths,
                  fiber=fiber, odc_direct=odc_direct, progress=progress)
        return route_in_blocks(network, sources, destinations, tg, kw, scheduler=scheduler, workers=workers,
                               time_chunk=time_chunk, retries=retries, wall0=t0)
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
