"""Benchmark: Earth-shadow illumination and eclipse finding, orbitlat vs Skyfield.

Work (issue 3, sunlight): Starlink satellites from the 2026-05-30 snapshot (../shared/data/tle/)
over one day at 60 s (500 satellites; 100 over 6 h with --quick).

Ratios (all measured in this process, on the same work):
- ``illumination_vs_skyfield``: Skyfield ``EarthSatellite.at(t).is_sunlit(de421)`` per satellite,
  on a sample scaled to all satellites / orbitlat ``propagate(frame="GCRS")`` +
  ``illumination(model="cylindrical")`` for all satellites (propagation included on both sides).
- ``eclipses_vs_skyfield``: Skyfield ``find_discrete`` on ``is_sunlit`` (1 ms resolution, the
  usual way to get eclipse entry/exit with Skyfield), sampled and scaled / orbitlat ``eclipses``
  (conical, refined to 1 ms, propagation included).
- ``sun_year_vs_skyfield``: Skyfield ``earth.at(t).observe(sun).apparent()`` at every minute of a
  year / ``sun_position_km`` on the same 525,601 instants.
- ``sunlit_year_s``: seconds for ``sunlit_fraction_over_year`` of a dawn-dusk SSO (absolute).

The last line printed is a JSON object with "ratios", "wall_s" and "peak_rss_mb".

Usage: python benchmarks/sun.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np

import orbitlat as ol
from orbitlat import sun
from orbitlat.time import TimeGrid

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def timed(fn, repeats: int):
    ts, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller work, finishes within 60 s")
    args = ap.parse_args()
    wall0 = time.perf_counter()
    repeats = 3
    warnings.simplefilter("ignore")

    tle = SHARED / "tle" / "starlink_2026-05-30.tle"
    if not tle.exists():
        print(f"reference data {tle} is absent; cannot run", file=sys.stderr)
        sys.exit(2)
    cat = ol.Constellation.from_tle(tle)
    n_sat = 100 if args.quick else 500
    cat = cat[np.linspace(0, cat.size - 1, n_sat).astype(int)]
    tg = TimeGrid.span("2026-05-30", "6h" if args.quick else "1d", "60s")
    tg.teme_to_gcrs, tg.jd_utc
    eph_de421 = sun.ephemeris()
    sun.sun_position_km(tg[:2])  # warm caches/imports once for both sides
    from orbitlat.orbits.propagation import _satrecs

    _satrecs(cat)  # build the Satrec objects once, as Skyfield's EarthSatellite objects are built once

    # --- orbitlat: propagate + illumination (cylindrical, comparable with is_sunlit)
    def ol_illum():
        eph = cat.propagate(tg, frame="GCRS", workers=1)
        return sun.illumination(eph, model="cylindrical")

    t_ol_ill, ill = timed(ol_illum, repeats)

    # --- Skyfield: is_sunlit per satellite (sample, scaled)
    from skyfield.api import EarthSatellite
    from skyfield.searchlib import find_discrete

    ts = ol.time.timescale()
    t_sky = tg.skyfield
    sample = np.linspace(0, n_sat - 1, 10 if args.quick else 25).astype(int)
    sats = [EarthSatellite(cat.table.line1[k], cat.table.line2[k], ts=ts) for k in sample]

    def sky_illum():
        return [s.at(t_sky).is_sunlit(eph_de421) for s in sats]

    t_sky_ill_sample, lit = timed(sky_illum, 1)
    t_sky_ill = t_sky_ill_sample * n_sat / len(sample)
    agree = float(np.mean([np.mean((ill.state.values[:, k] == 2) == lit[j]) for j, k in enumerate(sample)]))

    # --- eclipses: orbitlat vs find_discrete
    t_ol_ecl, ev = timed(lambda: sun.eclipses(cat, tg, model="conical"), repeats)
    few = sats[: (4 if args.quick else 8)]

    def sky_events():
        out = []
        for s in few:
            def f(t, s=s):
                return s.at(t).is_sunlit(eph_de421)

            f.step_days = 60 / 86400
            out.append(find_discrete(t_sky[0], t_sky[-1], f, epsilon=1e-3 / 86400))
        return out

    t_sky_ecl_sample, _ = timed(sky_events, 1)
    t_sky_ecl = t_sky_ecl_sample * n_sat / len(few)

    # --- the Sun over a year at 60 s
    year = TimeGrid.span("2026-01-01", "365d", "60s")
    year.skyfield
    t_ol_sun, _ = timed(lambda: sun.sun_position_km(year), 1)
    earth, s_body = eph_de421["earth"], eph_de421["sun"]
    t_sky_sun, _ = timed(lambda: earth.at(year.skyfield).observe(s_body).apparent().xyz.km, 1)

    # --- a year of sunlight for a dawn-dusk SSO
    sso = ol.sso.sun_synchronous(650, ltan_hours=18)
    t_year, y = timed(lambda: sun.sunlit_fraction_over_year(sso, "2026-01-01", sample_days=7 if args.quick else 1), 1)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "benchmark": "sun",
        "quick": args.quick,
        "work": {"sats": n_sat, "times": len(tg), "eclipses_found": len(ev), "skyfield_sample": len(sample),
                 "state_agreement_with_skyfield": round(agree, 5), "sso_yearly_sunlit_fraction": round(y.sunlit_fraction, 5)},
        "seconds": {
            "orbitlat_propagate_illumination": round(t_ol_ill, 3),
            "skyfield_is_sunlit_scaled": round(t_sky_ill, 2),
            "orbitlat_eclipses": round(t_ol_ecl, 3),
            "skyfield_find_discrete_scaled": round(t_sky_ecl, 2),
            "orbitlat_sun_year": round(t_ol_sun, 3),
            "skyfield_sun_year": round(t_sky_sun, 3),
            "orbitlat_sunlit_year": round(t_year, 3),
        },
        "ratios": {
            "illumination_vs_skyfield": round(t_sky_ill / t_ol_ill, 1),
            "eclipses_vs_skyfield": round(t_sky_ecl / t_ol_ecl, 1),
            "sun_year_vs_skyfield": round(t_sky_sun / t_ol_sun, 1),
        },
        "sunlit_year_s": round(t_year, 2),
        "wall_s": round(time.perf_counter() - wall0, 1),
        "peak_rss_mb": round(rss, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
