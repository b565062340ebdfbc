"""Latency benchmark: orbitlat routing vs Hypatia's networkx Floyd-Warshall, and a full-day scenario.

(1) Hypatia's Kuiper-630 setup (34 x 34, 51.9°, +Grid, range-based GSLs of 1,260 km) with the 100
    most populous cities: all-pairs RTT per time step. orbitlat (sparse graph, shortest-path trees
    from the 100 ground nodes carried from step to step: each step re-evaluates the previous trees
    with the new delays, checks Bellman's optimality certificate on every edge, repairs the few
    violations by label correction and runs scipy's Dijkstra only where a tree changed a lot --
    exact, the RTTs equal a fresh Dijkstra's; the shares of trees repaired and re-solved by Dijkstra
    are reported; one process, RTTs only like Floyd-Warshall's distances -- the headline ratio;
    also with every path kept, in one process and on ``--workers`` processes, each process's block
    starting cold) against the same graph solved Hypatia's way: networkx
    ``floyd_warshall_numpy`` over the satellites, then the best (up, down) satellite pair per city
    pair (vectorised with numpy here, which only helps the baseline). Floyd-Warshall is timed on
    1-2 steps (it takes seconds per step); the RTTs of both must agree.
(2) Starlink Gen1 (4,408 satellites, +Grid ISLs) x the 1,000 largest cities -> Stargate (Abilene, TX)
    over ISLs, one day at 60 s, on 2 worker processes; target <= 5 minutes.

Prints a JSON object as the last line: ``ratios`` (``vs_networkx_floyd_warshall``), ``wall_s``,
``peak_rss_mb``, and the measured details. ``--quick`` runs fewer steps (under a minute).
"""
from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _peak_rss_mb() -> float:
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(self_kb, child_kb) / 1024.0


def _cities100():
    from orbitlat import hypatia
    from orbitlat.ground import GroundSites

    p = SHARED / "ground" / "cities_top100_by_2025_population.txt"
    if p.exists():
        return hypatia.ground_stations(p), "Hypatia top-100 city list"
    return GroundSites.cities(top=100), "GeoNames top-100 cities (../shared absent)"


def floyd_warshall_all_pairs(step, vp, n_sites: int) -> np.ndarray:
    """Hypatia's method on one step: networkx Floyd-Warshall over satellites + endpoint minimisation."""
    import networkx as nx

    G = nx.Graph()
    G.add_nodes_from(range(step.n_sat))
    G.add_weighted_edges_from(zip(step.link_a.tolist(), step.link_b.tolist(), step.link_km.tolist()))
    D = nx.floyd_warshall_numpy(G, nodelist=range(step.n_sat))
    out = np.full((n_sites, n_sites), np.inf)
    for s in range(n_sites):
        ms = vp.site == s
        if not ms.any():
            continue
        a, ra = vp.sat[ms], vp.range_km[ms]
        via = (ra[:, None] + D[a]).min(axis=0)  # best up-link + ISL distance to every satellite
        tot = via[vp.sat] + vp.range_km
        np.minimum.at(out[s], vp.site, tot)
    np.fill_diagonal(out, np.inf)
    return 2.0 * out / 299792.458 * 1000.0


def bench_hypatia(n_steps: int, n_fw: int, workers: int) -> dict:
    from orbitlat import hypatia
    from orbitlat.visibility.engine import SiteIndex, visible_pairs
    from orbitlat.latency.routing import route

    gs, gs_src = _cities100()
    net = hypatia.network("kuiper_630")
    t_s = np.arange(n_steps) * 1.0
    # warm-up (imports, Satrec construction) outside the timing
    route(net, gs, None, times=hypatia._times([0.0]), paths="changes")
    # like for like with Floyd-Warshall (distances only): the RTT matrix, one process
    t0 = time.perf_counter()
    res = route(net, gs, None, times=hypatia._times(t_s), paths=None)
    ours_s = (time.perf_counter() - t0) / n_steps
    # with every path kept (as Hypatia's forwarding state), one process and `workers` processes
    t0 = time.perf_counter()
    res1 = route(net, gs, None, times=hypatia._times(t_s), paths="changes")
    ours_paths = (time.perf_counter() - t0) / n_steps
    t0 = time.perf_counter()
    res2 = route(net, gs, None, times=hypatia._times(t_s), paths="changes", workers=workers)
    ours_paths_w = (time.perf_counter() - t0) / n_steps
    rtt = res.rtt_ms.to_numpy()
    trees = res.rtt.attrs.get("routing_trees", 0)
    repaired = res.rtt.attrs.get("repaired_trees", trees) / trees if trees else float("nan")
    dijkstra = res.rtt.attrs.get("dijkstra_trees", trees) / trees if trees else float("nan")
    np.testing.assert_array_equal(res1.rtt_ms.to_numpy(), rtt)
    np.testing.assert_allclose(res2.rtt_ms.to_numpy(), rtt, rtol=1e-12)
    # baseline on the first n_fw steps, same positions and links
    idx = SiteIndex.from_sites(gs)
    fw_times, max_diff = [], 0.0
    for k, (tg, sat, _) in enumerate(net.positions(hypatia._times(t_s[:n_fw]))):
        for j in range(len(tg)):
            step = net.step(sat[j])
            vp = visible_pairs(idx, sat[j], rule="range", max_range_km=net.gsl_max_range_km)
            t1 = time.perf_counter()
            base = floyd_warshall_all_pairs(step, vp, len(gs))
            fw_times.append(time.perf_counter() - t1)
            ours = np.where(np.isfinite(rtt[j]), rtt[j], np.inf)
            fin = np.isfinite(base)
            assert np.array_equal(fin, np.isfinite(ours)), "reachability differs from Floyd-Warshall"
            max_diff = max(max_diff, float(np.max(np.abs(base[fin] - ours[fin]))) if fin.any() else 0.0)
    fw_s = float(np.mean(fw_times))
    return {"stations": gs_src, "steps": n_steps, "workers": workers, "orbitlat_rtt_s_per_step": ours_s,
            "orbitlat_paths_s_per_step": ours_paths, "orbitlat_paths_workers_s_per_step": ours_paths_w,
            "networkx_floyd_warshall_s_per_step": fw_s, "fw_steps_timed": len(fw_times),
            "max_abs_rtt_diff_ms": max_diff, "trees_repaired_share": repaired, "trees_dijkstra_share": dijkstra,
            "ratio": fw_s / ours_s, "ratio_paths": fw_s / ours_paths,
            "ratio_paths_workers": fw_s / ours_paths_w}


def bench_starlink_day(duration: str, workers: int) -> dict:
    from orbitlat import latency
    from orbitlat.ground import GroundSites

    users = GroundSites.cities(top=1000)
    t0 = time.perf_counter()
    res = latency.via_isl("starlink_gen1", users, duration=duration, step="60 s", workers=workers)
    wall = time.perf_counter() - t0
    n = res.rtt.sizes["time"]
    a = res.rtt.attrs
    summ = res.summary("user")
    pick = {}
    for city in ("Lagos", "Jakarta", "São Paulo"):
        hit = summ.index.get_level_values("src") == city
        if hit.any():
            pick[city] = round(float(summ[hit]["p50"].iloc[0]), 2)
    g = res.summary("global")
    return {"steps": n, "users": len(users), "workers": workers, "wall_s": wall, "s_per_step": wall / n,
            "projected_day_s": wall / n * 1441, "global_p50_ms": round(float(g["p50"].iloc[0]), 2),
            "global_p99_ms": round(float(g["p99"].iloc[0]), 2), "p50_ms": pick,
            "path_rows": int(len(res.paths)), "unreachable": int(len(res.unreachable)),
            "trees_repaired_share": a.get("repaired_trees", 0) / max(a.get("routing_trees", 0), 1),
            "trees_dijkstra_share": a.get("dijkstra_trees", 0) / max(a.get("routing_trees", 0), 1)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer steps (finishes within a minute)")
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    if args.quick:
        h = bench_hypatia(n_steps=20, n_fw=1, workers=args.workers)
        s = bench_starlink_day("20 min", args.workers)
    else:
        h = bench_hypatia(n_steps=120, n_fw=2, workers=args.workers)
        s = bench_starlink_day("1 day", args.workers)
    print(f"Kuiper-630 x {h['stations']}: orbitlat all-pairs RTT {h['orbitlat_rtt_s_per_step'] * 1e3:.1f} ms/step "
          f"(with paths {h['orbitlat_paths_s_per_step'] * 1e3:.1f}; with paths on {h['workers']} workers "
          f"{h['orbitlat_paths_workers_s_per_step'] * 1e3:.1f}), networkx Floyd-Warshall "
          f"{h['networkx_floyd_warshall_s_per_step']:.2f} s/step -> {h['ratio']:.0f}x ({h['ratio_paths']:.0f}x, "
          f"{h['ratio_paths_workers']:.0f}x); max RTT difference {h['max_abs_rtt_diff_ms']:.2e} ms; trees repaired "
          f"{h['trees_repaired_share']:.1%} of source-steps, re-solved by Dijkstra {h['trees_dijkstra_share']:.1%}",
          file=sys.stderr)
    print(f"Starlink Gen1 x 1000 cities -> Abilene: {s['steps']} steps in {s['wall_s']:.1f} s on "
          f"{s['workers']} workers ({s['s_per_step'] * 1e3:.0f} ms/step; a day projects to "
          f"{s['projected_day_s']:.0f} s; target <= 300 s)", file=sys.stderr)
    out = {
        "ratios": {"vs_networkx_floyd_warshall": round(h["ratio"], 1),
                   "vs_networkx_floyd_warshall_with_paths": round(h["ratio_paths"], 1),
                   f"vs_networkx_floyd_warshall_with_paths_{h['workers']}workers": round(h["ratio_paths_workers"], 1)},
        "wall_s": round(time.perf_counter() - t0, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "quick": bool(args.quick),
        "hypatia_kuiper630": {k: (float(f"{v:.6g}") if isinstance(v, float) else v) for k, v in h.items()},
        "starlink_day_isl": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in s.items()},
        "targets": {"vs_networkx_floyd_warshall": ">= 200", "starlink_day_wall_s": "<= 300"},
    }
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
