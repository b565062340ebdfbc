"""Megaconstellation benchmark: a million orbital data centres, ten thousand cities, one day.

Work (``--full``, the default): the ``spacex_odc`` preset (SpaceX's orbital data center filing modelled
at its 1,000,000-satellite ceiling: 20 shells, 500-2,000 km, 30° and dawn-dusk SSO; kepler-j2) x the
10,000 most populous GeoNames cities x 1 day at 5 min (289 steps), 25° elevation mask:

- **RTT to the nearest compute node** per city and step: :func:`orbitlat.latency.nearest_compute` with the
  preset as a dedicated compute constellation users reach directly (every satellite carries compute, so
  the nearest one a city sees is its compute node), streamed in time chunks; per city p50 and p95 over
  the day, and the share of city-steps with no compute node in view. With the calibrated access overhead
  of every satellite scenario (``overhead="calibrated"``, :mod:`orbitlat.latency.overhead`: once per user
  terminal); the propagation-only figures are these minus that constant.
- **Coverage figures of merit** on the 1° equal-area grid (41,252 points): counts min/mean/max, >= 1 and
  >= 4 coverage, gaps, time-average gap, response time (:func:`orbitlat.coverage.coverage`, streamed).

Scaling curve: the same work for 100,000, 300,000 and 1,000,000 satellites (every 10th, every 3rd+ and
every satellite of the preset: the same shells, thinned), each in a fresh process so that its peak RSS
is its own. Goals (1,000,000): <= 10 min wall and <= 8 GB peak RSS on 2 cores.

Baselines, in the 1,000,000 run's process on the same positions: brute force over every pair (coverage:
unit-vector dot products as BLAS products per block of points, as ``benchmarks/coverage.py``; nearest:
every (city, satellite) pair's range and elevation for a sample of 200 cities), timed on a few steps and
scaled to the whole run; their answers must equal orbitlat's on those steps (checked).

Prints a JSON object as the last line: ``wall_s`` and ``peak_rss_mb`` (the 1,000,000 run), ``scaling``
(satellites -> seconds and MB), ``ratios`` (``coverage_vs_bruteforce``, ``nearest_vs_bruteforce``) and
the figures. ``--quick`` runs 1 hour (13 steps) per size (under 2 minutes). The machine may be shared:
``load_avg_1min`` is recorded.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import warnings

import numpy as np

SIZES = (100_000, 300_000, 1_000_000)
MASK_DEG = 25.0
K_LEVEL = 4


def _peak_rss_mb() -> float:
    """Peak RSS of this process (VmHWM; ru_maxrss would include a parent's high-water mark)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _thinned(c, n: int):
    """``n`` satellites of ``c`` spread evenly over all its shells (the same design, thinned)."""
    if n >= c.size:
        return c
    idx = np.unique(np.floor(np.arange(n) * (c.size / n)).astype(np.int64))
    sub = c[idx]
    sub.name = f"{c.name}[{n:,}]"
    return sub


def brute_counts(unit_points: np.ndarray, sat_xyz_km: np.ndarray, mask: float) -> np.ndarray:
    """Satellites in view of every point, every pair tested (spherical Earth; benchmarks/coverage.py):
    BLAS products per block of points, blocks of ~2**24 pairs (128 MB)."""
    from orbitlat.visibility.footprints import cap_half_angle_rad

    block = max(1, (1 << 24) // sat_xyz_km.shape[0])
    r = np.linalg.norm(sat_xyz_km, axis=1)
    vt = np.ascontiguousarray((sat_xyz_km / r[:, None]).T)
    cos_lam = np.cos(cap_half_angle_rad(r, mask))
    out = np.empty(unit_points.shape[0], dtype=np.int64)
    for i in range(0, unit_points.shape[0], block):
        out[i:i + block] = np.count_nonzero(unit_points[i:i + block] @ vt >= cos_lam, axis=1)
    return out


def brute_nearest(index, sat_xyz_km: np.ndarray, sites: np.ndarray) -> np.ndarray:
    """Nearest satellite at or above each site's mask, every pair tested (ties: lowest index)."""
    out = np.full(sites.size, -1)
    for k, i in enumerate(sites):
        los = sat_xyz_km - index.xyz_km[i]
        d = np.sqrt(np.einsum("ij,ij->i", los, los))
        el = np.degrees(np.arcsin(np.clip(los @ index.up[i] / d, -1, 1)))
        d = np.where(el >= index.min_elevation_deg[i], d, np.inf)
        j = int(np.argmin(d))
        out[k] = j if np.isfinite(d[j]) else -1
    return out


def run_one(n_sat: int, duration: str, baselines: bool, quick: bool = False) -> dict:
    """The whole work for ``n_sat`` satellites, in this process."""
    import orbitlat as ol
    from orbitlat.coverage.compute import coverage, estimate
    from orbitlat.ground.grids import Grid, weighted_quantile
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.compute import nearest_compute
    from orbitlat.latency.placements import Dedicated

    t_all = time.perf_counter()
    span = dict(start="2026-03-20T00:00", duration=duration, step="5min")
    t = time.perf_counter()
    c = _thinned(ol.presets.get("spacex_odc"), n_sat)
    build_s = time.perf_counter() - t
    cities = GroundSites.cities(top=10_000, min_elevation_deg=MASK_DEG)
    grid = Grid.equal_area(1.0)
    est = estimate(c, grid, min_elevation_deg=MASK_DEG, **span)

    t = time.perf_counter()
    cov = coverage(c, grid, min_elevation_deg=MASK_DEG, k=K_LEVEL, **span)
    cov_s = time.perf_counter() - t
    t = time.perf_counter()
    near = nearest_compute(Dedicated(c), cities, None, min_elevation_deg=MASK_DEG, overhead="calibrated", **span)
    near_s = time.perf_counter() - t
    wall = time.perf_counter() - t_all

    rtt = near.rtt_ms.isel(dst=0).to_numpy()  # (time, city), NaN: no compute node in view
    served = np.isfinite(rtt)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cities never served: all-NaN rows give NaN
        p50 = np.nanpercentile(np.where(served, rtt, np.nan), 50, axis=0)
        p95 = np.nanpercentile(np.where(served, rtt, np.inf), 95, axis=0)  # unserved steps count as infinite
    pop = cities.population.astype(float)
    ok50 = np.isfinite(p50)
    summ = cov.summary()
    out = {
        "n_sats": int(c.size), "n_cities": len(cities),
        "n_points": int(grid.size), "n_steps": int(near.rtt.sizes["time"]),
        "wall_s": round(wall, 1), "build_s": round(build_s, 1), "coverage_s": round(cov_s, 1),
        "nearest_s": round(near_s, 1), "propagation_in_coverage_s": round(cov.timings.get("propagation_s", 0), 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "estimate": {"memory_mb": round(est.memory_mb), "seconds": round(est.seconds)},
        "rtt_ms": {
            "city_p50_median": round(float(np.median(p50[ok50])), 2),
            "city_p95_median": round(float(np.median(p95[np.isfinite(p95)])), 2) if np.isfinite(p95).any() else None,
            "city_p50_pop_weighted_median": round(float(weighted_quantile(p50[ok50], pop[ok50], 0.5)), 2),
            "cities_with_finite_p95": round(float(np.isfinite(p95).mean()), 4),
            "city_time_served": round(float(served.mean()), 4),
            "people_time_served": round(float((served * pop).sum() / (pop.sum() * served.shape[0])), 4),
            "delays": near.rtt_ms.attrs.get("long_name", ""),
        },
        "coverage": {
            "area_mean_n_visible": round(float(summ.loc["n_visible_mean", "area_mean"]), 1),
            "min_n_visible": int(summ.loc["n_visible_min", "min"]),
            "area_covered_fraction": round(float(summ.loc["covered_fraction", "area_mean"]), 4),
            f"area_covered_fraction_k{K_LEVEL}": round(float(summ.loc["covered_fraction_k", "area_mean"]), 4),
            "worst_gap_max_s": float(summ.loc["gap_max_s", "max"]),
            "identity_max_abs_diff": round(float(np.abs(cov.ds.area_mean_n_visible
                                                        - cov.ds.identity_mean_n_visible).max()), 3),
        },
    }
    if baselines:
        out["baselines"] = _baselines(c, grid, cities, cov, near, wall, cov_s, near_s, span, quick)
    return out


def _baselines(c, grid, cities, cov, near, wall, cov_s, near_s, span, quick: bool) -> dict:
    """Brute force on a few steps of the same positions, scaled to the run; answers checked equal."""
    from orbitlat.orbits.stream import positions
    from orbitlat.time import TimeGrid
    from orbitlat.visibility.engine import SiteIndex
    from orbitlat.visibility.footprints import cap_counts

    tg = TimeGrid.span(span["start"], span["duration"], span["step"])
    steps = [len(tg) // 2] if quick else [0, len(tg) // 2]
    rng = np.random.default_rng(0)
    # brute force on a sample of grid points and cities (every pair of a million satellites costs minutes
    # per step), scaled to all of them
    pts = np.sort(rng.choice(grid.size, 1024 if quick else 4096, replace=False))
    u = grid.unit_vectors()[pts]
    index = SiteIndex.from_sites(cities, min_elevation_deg=MASK_DEG)
    sample = np.sort(rng.choice(index.size, 50 if quick else 200, replace=False))
    cov_t, near_t = [], []
    for i in steps:
        pos, _ = positions(c, tg[i:i + 1])
        tb = time.perf_counter()
        bf = brute_counts(u, pos[0], MASK_DEG)
        cov_t.append((time.perf_counter() - tb) * grid.size / pts.size)
        if not np.array_equal(bf, cap_counts(grid, pos[0], MASK_DEG)[pts]):
            raise SystemExit(f"brute force and the footprint kernel disagree at step {i}")
        tb = time.perf_counter()
        bn = brute_nearest(index, pos[0], sample)
        near_t.append((time.perf_counter() - tb) * index.size / sample.size)
        first = near.rtt["first_hop"].isel(time=i).to_numpy()[sample]  # global ids: users, then compute nodes
        got = np.where(first >= 0, first - len(cities), -1)
        if not np.array_equal(bn, got):
            raise SystemExit(f"brute force and the nearest-satellite search disagree at step {i}")
    n = len(tg)
    cov_bf = float(np.median(cov_t)) * n
    near_bf = float(np.median(near_t)) * n
    return {"coverage_bruteforce_s_per_step": round(float(np.median(cov_t)), 2),
            "nearest_bruteforce_s_per_step_all_cities": round(float(np.median(near_t)), 2),
            "coverage_vs_bruteforce": round(cov_bf / cov_s, 1), "nearest_vs_bruteforce": round(near_bf / near_s, 1),
            "checked_steps": steps, "coverage_sample_points": int(pts.size), "nearest_sample_cities": int(sample.size)}


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 hour per size instead of a day (< 2 min)")
    ap.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # internal: one size, JSON out
    ap.add_argument("--duration", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--baselines", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    duration = args.duration or ("1h" if args.quick else "1d")
    if args.one is not None:
        res = run_one(args.one, duration, args.baselines, args.quick)
        print(json.dumps(res))
        return res

    load0 = os.getloadavg()[0]
    scaling, runs = {}, {}
    for n in SIZES:
        cmd = [sys.executable, os.path.abspath(__file__), "--one", str(n), "--duration", duration]
        if n == SIZES[-1]:
            cmd.append("--baselines")
        if args.quick:
            cmd.append("--quick")
        t = time.perf_counter()
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        p = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if p.returncode != 0:
            sys.stderr.write(p.stderr)
            raise SystemExit(f"the {n:,}-satellite run failed (exit {p.returncode})")
        res = json.loads(p.stdout.strip().splitlines()[-1])
        res["process_wall_s"] = round(time.perf_counter() - t, 1)
        # CPU seconds of the run's process (user + system): on a shared machine the wall time depends on the
        # other jobs; cpu_s / 2 is what two idle cores would need at best
        res["process_cpu_s"] = round((ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime), 1)
        runs[n] = res
        scaling[str(n)] = {"seconds": res["wall_s"], "mb": res["peak_rss_mb"], "coverage_s": res["coverage_s"],
                           "nearest_s": res["nearest_s"], "process_cpu_s": res["process_cpu_s"]}
        print(f"{n:>9,} satellites: {res['wall_s']:7.1f} s ({res['coverage_s']:.1f} coverage, "
              f"{res['nearest_s']:.1f} nearest; process CPU {res['process_cpu_s']:.0f} s), peak "
              f"{res['peak_rss_mb']:,.0f} MB; city p50 RTT "
              f"{res['rtt_ms']['city_p50_median']} ms, city-time served {res['rtt_ms']['city_time_served']:.1%}; "
              f"mean in view {res['coverage']['area_mean_n_visible']:,}", flush=True)
    big = runs[SIZES[-1]]
    ns = np.array(SIZES, dtype=float)
    secs = np.array([runs[n]["wall_s"] for n in SIZES])
    growth = float(np.polyfit(np.log(ns), np.log(secs), 1)[0])
    out = {
        "ratios": {k: big["baselines"][k] for k in ("coverage_vs_bruteforce", "nearest_vs_bruteforce")},
        "wall_s": big["wall_s"],
        "peak_rss_mb": big["peak_rss_mb"],
        "scaling": scaling,
        "scaling_exponent": round(growth, 2),
        "million": big,
        "quick": bool(args.quick),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "targets": {"wall_le_600s": big["wall_s"] <= 600 if not args.quick else None,
                    "rss_le_8gb": big["peak_rss_mb"] <= 8192},
    }
    print(f"wall time grows as satellites^{growth:.2f}; brute force would be "
          f"{out['ratios']['coverage_vs_bruteforce']}x (coverage) and {out['ratios']['nearest_vs_bruteforce']}x "
          "(nearest) slower")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
