"""Scale-out benchmark: coverage on a 2-worker Dask cluster against one process, and Dask's per-task cost.

Work: Starlink Gen1 (``presets.get('starlink_gen1')``, 4,408 satellites, kepler-j2) x the 41,252-point
equal-area ring grid (``Grid.equal_area(1.0)``) x 1 day at 60 s (1,441 steps), 25° mask, k = 2: every
figure of merit (the same work as ``benchmarks/coverage.py``).

Runs, in this order, on the same inputs:

1. ``orbitlat.coverage.coverage(..., workers=1)``: one process, one kernel thread (the baseline; its
   propagation still uses the propagator's default threads);
2. ``orbitlat.coverage.coverage(...)``: one process, its default kernel threads (one per core);
3. ``orbitlat.coverage.coverage(..., scheduler=client)`` on ``distributed.LocalCluster(n_workers=2,
   threads_per_worker=1, processes=True)``, after a small warm-up run (worker imports), first with
   distributed's default worker allocator settings (``MALLOC_TRIM_THRESHOLD_=65536``), then after
   :func:`orbitlat.scale.tune_workers`. Both results must equal run 1 bit for bit (checked).

Ratios: ``speedup_2_workers_vs_1_thread`` = run 1 / run 3 (tuned), ``speedup_2_workers_vs_threads`` =
run 2 / run 3 (tuned), and ``speedup_2_workers_untuned_vs_1_thread`` = run 1 / run 3 (untuned).
Overheads: ``per_task_overhead_ms`` = wall time of N no-op tasks on the cluster / N; for the tuned
coverage run, ``sum_task_compute_s`` (wall time measured inside every task), ``overhead_s`` = cluster
wall - sum of task times / 2 (what the run cost beyond a perfect split over the two workers) and
``raw_overhead_s`` = wall - sum of task times (negative when the two workers overlap, as they should).
CPU: ``single_cpu_s`` (run 1, process CPU time) and ``cluster_task_cpu_s`` (sum of the tasks' thread
CPU times): their ratio shows how much extra work the chunking costs, independently of other load on
the machine (the wall-clock ratios do depend on it). ``speedup_2_workers_cpu_estimate`` = single CPU /
(task CPU / 2 + overhead_s): the speedup the two runs would show on an otherwise idle machine.

``--quick`` runs 6 hours (361 steps), cut into 2 latitude bands as well, in about 45 s. Prints a JSON
object as the last line with ``ratios``, ``wall_s`` (the tuned cluster run), ``peak_rss_mb`` (this
process; ``worker_peak_rss_mb`` for the workers) and details. The machine may be shared with other
jobs: ``load_avg_1min`` is recorded before and after.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import time

import numpy as np


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _worker_rss_mb() -> float:
    """Peak RSS of this process's own memory map (VmHWM): ru_maxrss would include the high-water mark
    inherited from the parent across fork+exec, i.e. this benchmark's process."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def _noop(i):
    return i


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="6 hours instead of a day (< 60 s)")
    ap.add_argument("--tiny-tasks", type=int, default=500, help="no-op tasks for the per-task overhead")
    args = ap.parse_args(argv)

    import distributed

    import orbitlat as ol
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground import Grid
    from orbitlat.scale import tune_workers

    duration = "6h" if args.quick else "1d"
    c = ol.presets.get("starlink_gen1")
    grid = Grid.equal_area(1.0)
    kw = dict(start="2026-01-01", duration=duration, step="60s", min_elevation_deg=25.0, k=2, backend="kepler-j2")
    point_chunk = (grid.size + 1) // 2 if args.quick else None  # quick: too few time chunks on their own

    load0 = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    ref = coverage(c, grid, workers=1, **kw)
    single_1 = time.perf_counter() - t0
    single_cpu = time.process_time() - c0
    t0 = time.perf_counter()
    coverage(c, grid, **kw)
    single_threads = time.perf_counter() - t0

    def same(r):
        return all(np.array_equal(r.ds[v].to_numpy(), ref.ds[v].to_numpy()) for v in ref.ds.data_vars)

    t0 = time.perf_counter()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cl, distributed.Client(cl) as client:
        client.wait_for_workers(2)
        startup = time.perf_counter() - t0
        # warm-up: worker imports and the first propagation's one-off costs
        t0 = time.perf_counter()
        coverage(c, grid, start="2026-01-01", duration="2min", step="60s", min_elevation_deg=25.0,
                 scheduler=client)
        warmup = time.perf_counter() - t0

        t0 = time.perf_counter()
        untuned = coverage(c, grid, scheduler=client, point_chunk=point_chunk, **kw)
        wall_untuned = time.perf_counter() - t0
        tune_workers(client)
        t0 = time.perf_counter()
        res = coverage(c, grid, scheduler=client, point_chunk=point_chunk, **kw)
        wall = time.perf_counter() - t0
        if not (same(res) and same(untuned)):
            raise SystemExit("the cluster's coverage differs from the single-process run")

        # Dask's own cost per task: N no-op tasks, submitted and gathered
        n = int(args.tiny_tasks)
        client.gather(client.map(_noop, range(20), pure=False))
        t0 = time.perf_counter()
        client.gather(client.map(_noop, range(n), pure=False))
        per_task = (time.perf_counter() - t0) / n
        worker_rss = client.run(_worker_rss_mb)

    n_workers = 2
    task_sum = res.timings["compute_s"]
    out = {
        "ratios": {
            "speedup_2_workers_vs_1_thread": round(single_1 / wall, 2),
            "speedup_2_workers_vs_threads": round(single_threads / wall, 2),
            "speedup_2_workers_untuned_vs_1_thread": round(single_1 / wall_untuned, 2),
            "task_cpu_over_single_cpu": round(res.timings["cpu_s"] / single_cpu, 2),
            "speedup_2_workers_cpu_estimate": round(single_cpu / (res.timings["cpu_s"] / n_workers
                                                                  + max(wall - task_sum / n_workers, 0.0)), 2),
        },
        "wall_s": round(wall, 2),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "worker_peak_rss_mb": round(max(worker_rss.values()), 1),
        "single_process_1_thread_s": round(single_1, 2),
        "single_process_threads_s": round(single_threads, 2),
        "cluster_untuned_s": round(wall_untuned, 2),
        "cluster_startup_s": round(startup, 2),
        "cluster_warmup_run_s": round(warmup, 2),
        "single_cpu_s": round(single_cpu, 2),
        "cluster_task_cpu_s": round(res.timings["cpu_s"], 2),
        "cluster_untuned_task_cpu_s": round(untuned.timings["cpu_s"], 2),
        "n_tasks": int(res.timings["n_tasks"]),
        "time_chunk": int(res.ds.attrs["parallel_time_chunk"]),
        "point_chunks": int(res.ds.attrs["parallel_point_chunks"]),
        "sum_task_compute_s": round(task_sum, 2),
        "overhead_s": round(wall - task_sum / n_workers, 2),
        "raw_overhead_s": round(wall - task_sum, 2),
        "per_task_overhead_ms": round(1000 * per_task, 3),
        "identical_to_single_process": True,
        "n_sats": int(c.size),
        "n_points": int(grid.size),
        "n_steps": int(res.ds.sizes["time"]),
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_avg_1min": [round(load0, 2), round(os.getloadavg()[0], 2)],
        "quick": bool(args.quick),
    }
    print(f"coverage {out['n_steps']} steps x {grid.size} points x {c.size} sats: 1 process 1 thread "
          f"{single_1:.1f} s, 1 process threads {single_threads:.1f} s, 2 workers {wall:.1f} s "
          f"(untuned {wall_untuned:.1f} s) "
          f"({out['n_tasks']} tasks, task time {task_sum:.1f} s); no-op task {1000 * per_task:.2f} ms")
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
