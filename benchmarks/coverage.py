"""Coverage benchmark: every figure of merit for Starlink Gen1 on a ~1° global grid for a day.

Work: Starlink Gen1 (``presets.get('starlink_gen1')``, 4,408 satellites, kepler-j2) x the 41,252-point
equal-area ring grid (1°) x 1 day at 60 s (1,441 steps), 25° mask (Starlink's FCC minimum elevation),
k = 2; all figures of merit of :func:`orbitlat.coverage.coverage` (counts min/mean/max, >= 1 and >= k
coverage, gaps, time-average gap, response time, per-step area series). Targets: <= 45 s wall on
2 cores, <= 2 GB, >= 20x faster than brute force.

Baseline (same process, same positions): numpy brute force, every point-satellite pair at every step
(unit-vector dot products as one BLAS matrix product per block of points, compared with each
satellite's cos λ, counted per point). It is timed on a few steps and scaled to the day; its counts
must equal orbitlat's on those steps (the spherical kernel is exact).

Prints a JSON object as the last line: ``ratios`` (``vs_bruteforce``), ``wall_s`` (orbitlat's run),
``peak_rss_mb`` and details. ``--quick`` runs 2 hours instead of a day (about half a minute).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def brute_force_counts(unit_points: np.ndarray, sat_xyz_km: np.ndarray, min_elevation_deg: float,
                       block: int = 2048) -> np.ndarray:
    """Satellites in view of every point, testing every pair (spherical Earth, exact).

    The fastest exact numpy form we found: float64 BLAS products per block of 2,048 points
    (blocks of 512 and 4,096 and ``.sum`` instead of ``count_nonzero`` were slower; float32 is
    faster but miscounts points near a footprint's edge).
    """
    from orbitlat.visibility.footprints import cap_half_angle_rad

    r = np.linalg.norm(sat_xyz_km, axis=1)
    vt = np.ascontiguousarray((sat_xyz_km / r[:, None]).T)
    cos_lam = np.cos(cap_half_angle_rad(r, min_elevation_deg))
    out = np.empty(unit_points.shape[0], dtype=np.int64)
    for i in range(0, unit_points.shape[0], block):
        out[i:i + block] = np.count_nonzero(unit_points[i:i + block] @ vt >= cos_lam, axis=1)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2 hours instead of a day (< 60 s)")
    ap.add_argument("--brute-steps", type=int, default=None, help="steps to time the brute force on")
    args = ap.parse_args(argv)

    import orbitlat as ol
    from orbitlat.coverage.compute import coverage
    from orbitlat.visibility.footprints import cap_counts
    from orbitlat.ground import Grid

    duration = "2h" if args.quick else "1d"
    n_brute = args.brute_steps or (2 if args.quick else 4)
    mask = 25.0
    c = ol.presets.get("starlink_gen1")
    grid = Grid.equal_area(1.0)

    # ---- orbitlat: propagation in chunks + footprint-cap kernel + all figures of merit
    t0 = time.perf_counter()
    c0 = time.process_time()
    res = coverage(c, grid, start="2026-01-01", duration=duration, step="60s", min_elevation_deg=mask, k=2,
                   backend="kepler-j2")
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    rss_orbitlat = _peak_rss_mb()
    n_steps = res.ds.sizes["time"]
    summary = res.summary()
    ident = float(np.abs(res.ds.area_mean_n_visible - res.ds.identity_mean_n_visible).max())

    # ---- brute force on a few steps (same positions), scaled to the whole run
    eph = c.propagate(start="2026-01-01", duration=f"{n_brute - 1}min", step="60s", backend="kepler-j2",
                      velocity=False)
    pos = eph.position.to_numpy()
    u = grid.unit_vectors()
    brute_times = []
    for i in range(n_brute):
        tb = time.perf_counter()
        bf = brute_force_counts(u, pos[i], mask)
        brute_times.append(time.perf_counter() - tb)
        if not np.array_equal(bf, cap_counts(grid, pos[i], mask)):
            raise SystemExit(f"brute force and the footprint kernel disagree at step {i}")
    brute_per_step = float(np.median(brute_times))
    brute_total = brute_per_step * n_steps
    ratio = brute_total / wall

    out = {
        "ratios": {"vs_bruteforce": round(ratio, 1)},
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "orbitlat_peak_rss_mb": round(rss_orbitlat, 1),
        "cpu_s": round(cpu, 2),
        "propagation_s": round(res.timings.get("propagation_s", float("nan")), 2),
        "n_sats": int(c.size),
        "n_points": int(grid.size),
        "n_steps": int(n_steps),
        "chunk_steps": int(res.ds.attrs["chunk_steps"]),
        "bruteforce_s_per_step": round(brute_per_step, 4),
        "bruteforce_est_s": round(brute_total, 1),
        "orbitlat_ms_per_step": round(1000 * wall / n_steps, 2),
        "identity_max_abs_diff": round(ident, 5),
        "area_mean_n_visible": round(float(summary.loc["n_visible_mean", "area_mean"]), 4),
        "min_n_visible": int(summary.loc["n_visible_min", "min"]),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_1min": round(os.getloadavg()[0], 2),
        "quick": bool(args.quick),
        "targets": {"wall_le_45s": (wall <= 45.0) if not args.quick else None, "rss_le_2gb": rss_orbitlat <= 2048,
                    "ratio_ge_20": ratio >= 20},
    }
    print(f"orbitlat: {n_steps} steps x {grid.size} points x {c.size} sats in {wall:.1f} s "
          f"({1000 * wall / n_steps:.1f} ms/step, cpu {cpu:.1f} s); brute force {brute_per_step:.3f} s/step "
          f"-> {brute_total:.0f} s; ratio {ratio:.1f}x")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
