"""Benchmark: propagation of the full Starlink snapshot, and kepler-j2 on Starlink Gen1.

Work (issue 2): the Starlink snapshot (10,395 TLEs, ../shared/data/tle/) x 1 day at 60 s, to ITRS.

Kernel: with numba installed, orbitlat's sgp4 backend runs near-earth satellites (all of Starlink)
through its numba port of SGP4's near-earth equations (orbitlat/_sgp4_numba.py: vectorised over
times, sin/cos by polynomial, TEME->ITRS fused, one thread per core) and deep-space ones through
python-sgp4's ``SatrecArray``; without numba, or with ``ORBITLAT_SGP4_KERNEL=python``, everything goes
through ``SatrecArray`` in forked workers. The JSON says which ran (``sgp4_kernel``). JIT compilation
is excluded from the timings (a warm-up call first); ``numba_warmup_s`` is that warm-up (compile, or
loading numba's on-disk cache) and ``numba_compile_cold_s`` a compile from an empty cache, timed in a
subprocess.

Ratios (all measured in this process, on the same work):
- ``vs_satrecarray``: raw single-thread python-sgp4 ``SatrecArray.sgp4`` in TEME (no rotation, no
  labelled output) / orbitlat ``propagate(frame="ITRS")`` (both cores, rotation included). Target >= 1.6.
- ``vs_skyfield_loop``: a per-satellite Skyfield ``EarthSatellite.at(t)`` loop to ITRS, timed on a
  sample of satellites and scaled to the catalog / orbitlat. Target >= 10.
- ``kepler_j2_vs_satrecarray``: SatrecArray on Starlink Gen1 (4,408 designed satellites via sgp4init)
  / orbitlat kepler-j2 on the same satellites and times, to ITRS. Target >= 10.

Each timing is the median of several repeats (these machines are noisy). The last line printed is a
JSON object with "ratios", "wall_s" and "peak_rss_mb".

Usage: python benchmarks/propagate.py [--quick]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

# this script's folder holds a coverage.py that would shadow the coverage package numba probes for
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

import orbitlat as ol
from orbitlat.orbits.propagation import _satrecs, propagate
from orbitlat.time import TimeGrid

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def timed(fn, repeats: int) -> tuple[float, object]:
    ts, out = [], None
    for _ in range(repeats):
        out = None  # free the previous result first: each repeat then reuses memory instead of faulting in more
        t0 = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), out


def cold_compile_s() -> float | None:
    """Seconds for the numba kernel's first call with an empty cache, in a fresh subprocess."""
    import os
    import subprocess
    import tempfile

    code = ("import time, numpy as np; t0 = time.perf_counter(); from orbitlat import _sgp4_numba as k; "
            "p = np.zeros((1, len(k.FIELDS))); p[0, k._ISIMP] = 1.0; "
            "k.propagate_into(p, np.zeros(1, np.int64), np.zeros(2), np.zeros(2), np.zeros((2, 3, 3)), "
            "np.zeros(2), np.empty((2, 1, 3)), np.empty((2, 1, 3)), np.empty((2, 1), np.uint8), True); "
            "print(time.perf_counter() - t0)")
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, NUMBA_CACHE_DIR=d)
        r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=d, check=False)
    try:
        return float(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        print(f"cold compile timing failed: {r.stderr[-500:]}", file=sys.stderr)
        return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="smaller work, finishes within 60 s")
    ap.add_argument("--repeats", type=int, default=None)
    args = ap.parse_args()
    wall0 = time.perf_counter()
    repeats = args.repeats or (2 if args.quick else 3)

    tle = SHARED / "tle" / "starlink_2026-05-30.tle"
    if not tle.exists():
        print(f"reference data {tle} is absent; cannot run", file=sys.stderr)
        sys.exit(2)
    cat = ol.Constellation.from_tle(tle)
    if args.quick:
        cat = cat[: 3000]
    duration = "6h" if args.quick else "1d"
    tg = TimeGrid.span("2026-05-30", duration, "60s")
    tg.gmst82_rad, tg.jd_utc, tg.itrs_to_gcrs  # time-grid setup is shared by everything
    n_sat, n_t = cat.size, len(tg)
    print(f"Starlink snapshot: {n_sat} satellites x {n_t} times", file=sys.stderr)

    # --- orbitlat sgp4 -> ITRS, both cores
    import warnings

    warnings.simplefilter("ignore")
    t0 = time.perf_counter()
    _satrecs(cat)  # build Satrec objects once (both sides reuse them)
    t_satrecs = time.perf_counter() - t0
    t0 = time.perf_counter()
    propagate(cat[:4], tg[:3], frame="ITRS")  # warm-up: JIT compile / numba cache load (not timed below)
    t_warm = time.perf_counter() - t0
    t_ol, eph = timed(lambda: propagate(cat, tg, frame="ITRS"), repeats)
    n_failed = int(eph.failed.sum())
    kernel = eph.attrs.get("sgp4_kernel", "?")
    del eph
    t_cold = cold_compile_s() if kernel.startswith("numba") else None

    # --- baseline: raw single-thread SatrecArray in TEME
    from sgp4.api import SatrecArray

    sa = SatrecArray(_satrecs(cat))
    jd, fr = tg.jd_utc
    t_sa, _ = timed(lambda: sa.sgp4(jd, fr), repeats)

    # --- baseline: Skyfield per-satellite loop (sampled, scaled)
    from skyfield.api import EarthSatellite
    from skyfield.framelib import itrs

    ts = ol.time.timescale()
    t_sky = tg.skyfield
    sample = np.linspace(0, n_sat - 1, 20 if args.quick else 40).astype(int)
    sats = [EarthSatellite(cat.table.line1[k], cat.table.line2[k], ts=ts) for k in sample]

    def sky_loop():
        for s in sats:
            s.at(t_sky).frame_xyz(itrs).km

    t_sky_sample, _ = timed(sky_loop, 1)
    t_sky_full = t_sky_sample * n_sat / len(sample)

    # --- kepler-j2 on Starlink Gen1 vs SatrecArray on the same satellites (sgp4init)
    gen1 = ol.presets.get("starlink_gen1")
    tg1 = TimeGrid.span("2026-01-01", duration, "60s")
    tg1.itrs_to_gcrs, tg1.jd_utc
    t_kj2, _ = timed(lambda: propagate(gen1, tg1, frame="ITRS", backend="kepler-j2"), repeats)
    sa1 = SatrecArray(_satrecs(gen1))
    jd1, fr1 = tg1.jd_utc
    t_sa1, _ = timed(lambda: sa1.sgp4(jd1, fr1), repeats)

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    result = {
        "benchmark": "propagate",
        "quick": args.quick,
        "work": {"starlink_snapshot_sats": n_sat, "times": n_t, "gen1_sats": gen1.size, "failed_sats": n_failed},
        "sgp4_kernel": kernel,
        "seconds": {
            "build_satrecs": round(t_satrecs, 3),
            "numba_warmup_s": round(t_warm, 3),
            "numba_compile_cold_s": None if t_cold is None else round(t_cold, 2),
            "orbitlat_sgp4_itrs": round(t_ol, 3),
            "satrecarray_teme_1thread": round(t_sa, 3),
            "skyfield_loop_scaled": round(t_sky_full, 2),
            "orbitlat_kepler_j2_itrs_gen1": round(t_kj2, 3),
            "satrecarray_teme_gen1": round(t_sa1, 3),
        },
        "ratios": {
            "vs_satrecarray": round(t_sa / t_ol, 2),
            "vs_skyfield_loop": round(t_sky_full / t_ol, 1),
            "kepler_j2_vs_satrecarray": round(t_sa1 / t_kj2, 2),
        },
        "targets": {"vs_satrecarray": 1.6, "vs_skyfield_loop": 10, "kepler_j2_vs_satrecarray": 10},
        "wall_s": round(time.perf_counter() - wall0, 1),
        "peak_rss_mb": round(rss, 1),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
