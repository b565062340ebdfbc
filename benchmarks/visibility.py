"""Visibility benchmark: every Starlink pass over the 1,000 largest cities for a day, vs Skyfield.

Work: the full Starlink snapshot (../shared/data/tle/starlink_2026-05-30.tle, 10,395 satellites, SGP4)
x the 1,000 largest cities (../shared/data/ground/cities_top1000_by_2025_population.txt, Hypatia format)
x 1 day from 2026-05-30 00:00 UTC: the visible-set time series at 60 s (satellites in view per city and
minute) AND every access window (rise, culmination, set) refined to 0.1 s, at a 25° mask (Starlink's
FCC minimum elevation; ``--mask``). One call, :func:`orbitlat.visibility.passes` with
``return_counts=True``, on all cores. Targets: <= 90 s wall on 2 cores, <= 4 GB peak memory.

Baseline (same process): Skyfield's ``EarthSatellite.find_events`` over the same day for a sample of
satellites x cities (default 20 x 5, spread over the catalogue and the list), timed and scaled to the
whole work (satellites x cities); ``vs_skyfield_find_events`` = that estimate / orbitlat's wall time
(target >= 100). On the sample, the passes of both (fully inside the day) are matched by rise time and
their differences reported.

Prints a JSON object as the last line: ``ratios``, ``wall_s`` (orbitlat, from the TLE file to the pass
table), ``peak_rss_mb`` (max of this process and its worker processes, getrusage maxrss) and details.
``--quick``: 1,000 satellites x 100 cities x 6 hours (under a minute).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import warnings
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _peak_rss_mb() -> dict:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return {"self": own, "workers": kids, "max": max(own, kids)}


def skyfield_passes(lines1, lines2, sites_latlon, t0, t1, mask):
    """Skyfield find_events for every (satellite, site): complete (rise, culmination, set) passes."""
    from skyfield.api import EarthSatellite, wgs84

    from orbitlat.time import timescale, to_datetime64

    ts = timescale()
    out = []
    for k, (l1, l2) in enumerate(zip(lines1, lines2)):
        sat = EarthSatellite(l1, l2, ts=ts)
        for m, (lat, lon, alt_km) in enumerate(sites_latlon):
            topo = wgs84.latlon(lat, lon, elevation_m=alt_km * 1000.0)
            t, ev = sat.find_events(topo, t0, t1, altitude_degrees=mask)
            utc = to_datetime64(t) if len(ev) else []
            for i in range(len(ev) - 2):
                if ev[i] == 0 and ev[i + 1] == 1 and ev[i + 2] == 2:
                    out.append((m, k, utc[i], utc[i + 2]))
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1,000 sats x 100 cities x 6 h")
    ap.add_argument("--mask", type=float, default=25.0, help="elevation mask, degrees (default 25)")
    ap.add_argument("--workers", type=int, default=None, help="worker processes (default: all cores)")
    ap.add_argument("--sample-sats", type=int, default=20)
    ap.add_argument("--sample-sites", type=int, default=5)
    args = ap.parse_args(argv)

    import orbitlat as ol
    from orbitlat import visibility as vis
    from orbitlat.ground import GroundSites
    from orbitlat.time import TimeGrid

    tle_path = DATA / "tle" / "starlink_2026-05-30.tle"
    city_path = DATA / "ground" / "cities_top1000_by_2025_population.txt"
    if not tle_path.exists() or not city_path.exists():
        sys.exit(f"reference data missing: {tle_path} / {city_path} (../shared/data beside the checkout)")
    n_sats, n_cities, duration = (1000, 100, "6h") if args.quick else (None, 1000, "1d")
    start = "2026-05-30T00:00:00"

    # ------------------------------------------------------------------ orbitlat
    t_start = time.perf_counter()
    c = ol.Constellation.from_tle(tle_path)
    if n_sats is not None:
        c = c[np.linspace(0, c.size - 1, n_sats).round().astype(int)]
    sites = GroundSites.from_hypatia(city_path)
    sites = sites[np.arange(min(n_cities, len(sites)))]
    t_loaded = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ol.EpochWarning)
        passes, counts = vis.passes(c, sites, start=start, duration=duration, step="60s",
                                    min_elevation_deg=args.mask, return_counts=True, workers=args.workers)
    t_done = time.perf_counter()
    wall = t_done - t_start
    n_steps = counts.sizes["time"]
    inside = ~passes.rise_cut.to_numpy() & ~passes.set_cut.to_numpy()

    # ------------------------------------------------------------------ Skyfield sample
    tg = TimeGrid.span(start, duration, "60s")
    t0, t1 = tg.skyfield[0], tg.skyfield[-1]
    si = np.linspace(0, c.size - 1, args.sample_sats).round().astype(int)
    mi = np.linspace(0, len(sites) - 1, args.sample_sites).round().astype(int)
    latlon = list(zip(sites.lat_deg[mi], sites.lon_deg[mi], sites.alt_km[mi]))
    l1 = c.table["line1"].to_numpy()[si]
    l2 = c.table["line2"].to_numpy()[si]
    t_sky = time.perf_counter()
    sky = skyfield_passes(l1, l2, latlon, t0, t1, args.mask)
    sky_s = time.perf_counter() - t_sky
    per_pair_s = sky_s / (len(si) * len(mi))
    sky_full_est = per_pair_s * c.size * len(sites)

    # agreement on the sample (passes fully inside the window)
    sub = passes[inside & passes.sat.isin(si).to_numpy() & passes.site.isin(mi).to_numpy()]
    by = {}
    for r in sub.itertuples():
        by.setdefault((int(r.site), int(r.sat)), []).append(r)
    d_rise, d_set, unmatched = [], [], 0
    for (m, k, rise, sett) in sky:
        cand = by.get((int(mi[m]), int(si[k])), [])
        if not cand:
            unmatched += 1
            continue
        best = min(cand, key=lambda r: abs((r.rise - rise) / np.timedelta64(1, "s")))
        dr = abs((best.rise - rise) / np.timedelta64(1, "s"))
        if dr > 30:
            unmatched += 1
            continue
        d_rise.append(dr)
        d_set.append(abs((best.set - sett) / np.timedelta64(1, "s")))

    result = {
        "ratios": {"vs_skyfield_find_events": sky_full_est / wall},
        "wall_s": wall,
        "peak_rss_mb": _peak_rss_mb()["max"],
        "work": {"satellites": int(c.size), "cities": int(len(sites)), "duration": duration, "step_s": 60,
                 "time_steps": int(n_steps), "mask_deg": args.mask, "quick": bool(args.quick),
                 "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()},
        "orbitlat": {
            "load_s": t_loaded - t_start,
            "passes_and_counts_s": t_done - t_loaded,
            "passes": int(len(passes)),
            "passes_inside_window": int(inside.sum()),
            "short_passes_between_samples": int(passes.attrs["short_passes"]),
            "shortest_pass_s": float(passes.duration_s.min()) if len(passes) else None,
            "mean_pass_s": float(passes.duration_s.mean()) if len(passes) else None,
            "visible_pair_samples": int(counts.n_visible.sum()),
            "mean_sats_in_view_per_city": float(counts.n_visible.mean()),
            "refine_tol_s": passes.attrs["refine_tol_s"],
            "detection_margin_deg": passes.attrs["detection_margin_deg"],
            "peak_rss_mb": _peak_rss_mb(),
        },
        "skyfield_sample": {
            "satellites": int(len(si)), "cities": int(len(mi)), "seconds": sky_s,
            "ms_per_satellite_city": per_pair_s * 1e3, "estimated_full_work_s": sky_full_est,
            "passes": len(sky), "unmatched": unmatched,
            "max_abs_rise_diff_s": max(d_rise) if d_rise else None,
            "max_abs_set_diff_s": max(d_set) if d_set else None,
        },
        "targets": {"wall_s": 90.0 if not args.quick else 60.0, "peak_rss_mb": 4096.0,
                    "vs_skyfield_find_events": 100.0},
    }
    print(f"orbitlat: {len(passes):,} passes ({int(inside.sum()):,} inside the window), {n_steps} steps, "
          f"wall {wall:.1f} s; Skyfield sample {len(si)}x{len(mi)}: {sky_s:.1f} s "
          f"({per_pair_s * 1e3:.1f} ms per satellite-city), full-work estimate {sky_full_est:,.0f} s")
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
