"""Shared test fixtures.

Reference data lives in ``../shared/data`` beside the checkout (real TLE catalogs, city and gateway
lists, measured latency), or wherever the environment variable ``ORBITLAT_SHARED_DATA`` points (a
git worktree elsewhere, a CI cache). Tests that need it skip with a clear reason where it is absent.
"""
from __future__ import annotations

import http.server
import os
import threading
from pathlib import Path

import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

SHARED_DATA = Path(os.environ.get("ORBITLAT_SHARED_DATA") or Path(__file__).resolve().parents[1].parent / "shared" / "data")


def shared_path(*parts: str) -> Path:
    """Path to a file in ../shared/data, or skip the test with a clear reason."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"reference data {p} is absent (it lives in ../shared/data beside the checkout)")
    return p


def assert_same_latency(got, ref) -> None:
    """Two LatencyResults equal bit for bit: RTTs and baselines, path changes, path rows, unreachable rows."""
    import numpy as np
    import pandas as pd

    for v in ("rtt_ms", "fiber_rtt_ms", "bound_rtt_ms"):
        assert np.array_equal(got.rtt[v].to_numpy(), ref.rtt[v].to_numpy(), equal_nan=True), v
    assert np.array_equal(got.path_changes.to_numpy(), ref.path_changes.to_numpy())
    pd.testing.assert_frame_equal(got.paths, ref.paths, check_exact=True)
    pd.testing.assert_frame_equal(got.unreachable, ref.unreachable, check_exact=True)
    # attrs too, but for how the run was executed (time, blocks, the warm-started trees' work)
    run_keys = {"wall_s", "routing_trees", "repaired_trees", "dijkstra_trees", "workers", "parallel_scheduler",
                "parallel_time_chunk", "parallel_tasks"}
    for a, b in ((got.rtt.attrs, ref.rtt.attrs), (got.attrs, ref.attrs)):
        keys = (set(a) | set(b)) - run_keys
        assert {k: a.get(k) for k in keys} == {k: b.get(k) for k in keys}


@pytest.fixture(scope="module")
def cluster():
    """A real two-process ``distributed.LocalCluster`` and a client on it (skips without distributed)."""
    import logging

    distributed = pytest.importorskip("distributed")
    # dashboard_address=":0": the scheduler's HTTP server (health routes, even without the bokeh
    # dashboard) takes a free port; None would mean 8787 and clash with parallel test processes
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cl:
        with distributed.Client(cl, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
            yield cl, client


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.exists():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent (../shared/data beside the checkout)")
    return SHARED_DATA


def synthetic_tle_text(n: int, first_id: int = 10000) -> str:
    """``n`` valid 3LE records (53°, 15.05 rev/day, spread in RAAN and anomaly), built by orbitlat.orbits.tle."""
    import numpy as np

    from orbitlat.orbits.tle import make_tle_lines

    out = []
    for k in range(n):
        l1, l2 = make_tle_lines(norad_id=first_id + k, epoch=np.datetime64("2026-05-30T00:00"),
                                mean_motion_rev_day=15.05, ecc=0.0001, inc_deg=53.0, raan_deg=5.0 * k,
                                argp_deg=0.0, mean_anomaly_deg=7.0 * k)
        out += [f"SAT-{k}", l1, l2]
    return "\n".join(out) + "\n"


@pytest.fixture()
def server():
    """A local HTTP server on 127.0.0.1 (no outside network) whose responses the test sets:
    yields ``(base_url, routes)`` with ``routes[path] = (status, body)``."""
    routes: dict[str, tuple[int, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", routes
    httpd.shutdown()
    httpd.server_close()
