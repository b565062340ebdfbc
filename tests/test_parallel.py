"""orbitlat.scale: the same answers on a Dask cluster as in one process.

The reference for every test here is the single-process function of the same
computation (orbitlat.coverage.coverage, visibility.iter_visible / passes,
latency.city_pairs), run in this process on the same inputs; the cluster is a real
``distributed.LocalCluster`` of two worker processes. Equality is exact (``array_equal``)
wherever the module docs promise bit-for-bit results: the spans use whole-second steps, so
every partial sum of durations is an exact float, and the grids have equal areas. The one
tolerance (fractional-second steps in one property test) is stated and justified where used.
"""
from __future__ import annotations

import inspect
import os
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import orbitlat as ol
from orbitlat import parallel
from orbitlat.coverage.figures import _finish_segment, _SegmentAccumulator
from orbitlat.coverage.figures import merge_segments as _merge_segments
from orbitlat.coverage.figures import _time_weights, gap_statistics
from orbitlat.coverage.compute import coverage as single_coverage
from orbitlat.visibility.engine import SiteIndex
from orbitlat.errors import OrbitlatError
from orbitlat.ground import Grid

from conftest import assert_same_latency, shared_path

SPAN = dict(start="2026-01-01", duration="12h", step="60s")  # 721 steps: several time chunks


@pytest.fixture(scope="module")
def iridium():
    return ol.presets.get("iridium")


def _assert_same_coverage(a, b):
    """Every variable and coordinate of two CoverageResults equal bit for bit."""
    assert set(a.ds.data_vars) == set(b.ds.data_vars)
    for v in b.ds.data_vars:
        x, y = a.ds[v].to_numpy(), b.ds[v].to_numpy()
        assert x.dtype == y.dtype, v
        assert np.array_equal(x, y), f"{v} differs: max |diff| {np.max(np.abs(x.astype(float) - y)):g}"
    for name in b.ds.coords:
        assert np.array_equal(a.ds[name].to_numpy(), b.ds[name].to_numpy()), name
    for key, val in b.ds.attrs.items():
        assert a.ds.attrs[key] == val, key


# ---------------------------------------------------------------------------
# the segment-merge monoid against a plain per-point reference
# ---------------------------------------------------------------------------
class _Reference:
    """Figures of merit computed point by point in plain Python (no streaming, no segments): the
    STK definitions (orbitlat.coverage docs), gaps listed explicitly and fed to gap_statistics."""

    def __init__(self, counts, w, k):
        T, P = counts.shape
        self.t_mean = counts.sum(axis=1) * (1.0 / P)  # area weights 1/P each
        self.t_cov1 = (counts >= 1).sum(axis=1) * (1.0 / P)
        self._cols = [counts[:, p] for p in range(P)]
        self.w, self.k = w, k

    def finish(self, span):
        out = {n: [] for n in ("n_visible_min", "n_visible_mean", "n_visible_max", "covered_fraction",
                               "covered_fraction_k", "gap_count", "gap_max_s", "gap_mean_s", "time_avg_gap_s",
                               "response_time_mean_s")}
        for c in self._cols:
            gaps, g = [], 0.0
            for n, wi in zip(c.tolist(), self.w.tolist()):
                if n == 0:
                    g += wi
                elif g > 0:
                    gaps.append(g)
                    g = 0.0
            if g > 0:
                gaps.append(g)  # a gap touching the end of the window counts (STK)
            st_ = gap_statistics(gaps, span)
            out["n_visible_min"].append(c.min())
            out["n_visible_max"].append(c.max())
            out["n_visible_mean"].append(float(np.dot(c, self.w)) / span)
            out["covered_fraction"].append(float(np.dot(c >= 1, self.w)) / span)
            out["covered_fraction_k"].append(float(np.dot(c >= self.k, self.w)) / span)
            for key in ("gap_count", "gap_max_s", "gap_mean_s", "time_avg_gap_s", "response_time_mean_s"):
                out[key].append(st_[key])
        return {n: np.asarray(v) for n, v in out.items()}


def _one_pass(counts, w, k, block):
    return _Reference(counts, w, k)


def _chunked(counts, w, k, block, cuts, order):
    """Segments over [cuts[j], cuts[j+1]), merged pairwise in the given order of adjacent positions."""
    segs = []
    for a, b in zip(cuts[:-1], cuts[1:]):
        acc = _SegmentAccumulator(counts.shape[1], b - a, k, None, False)
        for i in range(a, b, block):
            j = min(b, i + block)
            acc.add(counts[i:j], w[i:j])
        segs.append(acc.segment(a, b))
    for pos in order:
        if len(segs) < 2:
            break
        p = pos % (len(segs) - 1)
        segs[p:p + 2] = [_merge_segments(segs[p], segs[p + 1])]
    while len(segs) > 1:
        segs[0:2] = [_merge_segments(segs[0], segs[1])]
    return segs[0]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_segment_merge_equals_one_pass_in_any_chunking(data):
    # Property: cutting the steps anywhere and merging the segment summaries in any tree
    # shape gives exactly what coverage's one-pass accumulator gives (integer-second steps:
    # every duration sum is an exact float, so equality is exact).
    T = data.draw(st.integers(2, 40))
    P = data.draw(st.integers(1, 12))
    k = data.draw(st.integers(1, 3))
    p_cov = data.draw(st.floats(0.0, 1.0))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    counts = (rng.random((T, P)) < p_cov) * rng.integers(1, 4, (T, P))
    counts[:, 0] = 0  # one point never covered (a single window-long gap)
    steps = rng.integers(1, 120, T - 1)  # whole seconds, uneven
    sec = np.concatenate([[0], np.cumsum(steps)]).astype(float)
    w = _time_weights(sec)
    span = float(sec[-1])
    cuts = sorted(set(data.draw(st.lists(st.integers(1, T - 1), max_size=6))) | {0, T})
    order = data.draw(st.lists(st.integers(0, 10), max_size=6))
    block = data.draw(st.integers(1, 7))
    ref = _one_pass(counts, w, k, block)
    want = ref.finish(span)
    seg = _chunked(counts, w, k, data.draw(st.integers(1, 7)), cuts, order)
    got = _finish_segment(seg, span, k)
    for name, v in want.items():
        assert np.array_equal(got[name], v), name
    assert np.array_equal(seg.t_mean * (1.0 / P), ref.t_mean)
    assert np.array_equal(seg.t_cov1 * (1.0 / P), ref.t_cov1)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_segment_merge_with_fractional_steps_agrees_to_rounding(data):
    # With steps that are not whole seconds, partial sums of durations are rounded, and the
    # chunked sums associate differently: the module docs promise < 1e-13 relative (a sum of
    # n positive terms differs by at most ~n ulp; n <= 60 here gives ~1e-14).
    T = data.draw(st.integers(2, 60))
    P = data.draw(st.integers(1, 8))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    counts = (rng.random((T, P)) < data.draw(st.floats(0.0, 1.0))) * rng.integers(1, 3, (T, P))
    sec = np.concatenate([[0], np.cumsum(rng.integers(1, 10**11, T - 1))]) / 1e9  # ns resolution
    w = _time_weights(sec)
    span = float(sec[-1])
    cuts = sorted(set(data.draw(st.lists(st.integers(1, T - 1), max_size=5))) | {0, T})
    want = _one_pass(counts, w, 2, 5).finish(span)
    got = _finish_segment(_chunked(counts, w, 2, 3, cuts, []), span, 2)
    for name, v in want.items():
        assert np.allclose(got[name], v, rtol=1e-13, atol=0), name


def test_segment_merge_reproduces_stk_worked_example():
    # STK's worked example (quoted in orbitlat.coverage): gaps of 5, 10 and 15 in a span of
    # 100 give a time-average gap of 3.5, mean response time 1.75, maximum 15, mean 10. Here
    # the gaps are sampled at 5 s steps (each inner step stands for 5 s) and the chunk cuts
    # fall inside the 10 s and 15 s gaps, so both are assembled across boundaries.
    sec = np.arange(0.0, 101.0, 5.0)
    counts = np.ones((sec.size, 1), dtype=np.int64)
    counts[[3, 8, 9, 14, 15, 16], 0] = 0  # 5 s, 10 s, 15 s gaps
    w = _time_weights(sec)
    seg = _chunked(counts, w, 1, 4, [0, 9, 15, 16, sec.size], [1, 0])
    got = _finish_segment(seg, 100.0, 1)
    assert got["gap_count"][0] == 3
    assert got["time_avg_gap_s"][0] == 3.5
    assert got["response_time_mean_s"][0] == 1.75
    assert got["gap_max_s"][0] == 15.0 and got["gap_mean_s"][0] == 10.0
    assert got["covered_fraction"][0] == 0.7


# ---------------------------------------------------------------------------
# coverage on the cluster
# ---------------------------------------------------------------------------
def test_coverage_on_cluster_equals_single_process(cluster, iridium):
    _, client = cluster
    # Iridium at a 30° mask on a band of a 4° ring grid: many gaps, a third of them crossing chunk
    # boundaries; 3 latitude bands x 4 time chunks.
    grid = Grid.equal_area(4.0).band(-60, 80)
    kw = dict(SPAN, min_elevation_deg=30.0, k=2, keep_series=True)
    ref = single_coverage(iridium, grid, **kw)
    got = parallel.coverage(iridium, grid, scheduler=client, time_chunk=190, point_chunk=900, **kw)
    assert got.ds.attrs["parallel_point_chunks"] == 3 and got.ds.attrs["parallel_tasks"] >= 3 * 4
    _assert_same_coverage(got, ref)
    # the test exercises the boundary merge: gaps open on both sides of each internal time boundary
    s = ref.ds["n_visible"].to_numpy()
    tc = got.ds.attrs["parallel_time_chunk"]
    for b in range(tc, s.shape[0] - 1, tc):
        assert ((s[b - 1] == 0) & (s[b] == 0)).sum() > 10


def test_coverage_tle_catalog_pair_engine_on_cluster(cluster):
    _, client = cluster
    # SGP4 from real TLEs (Satrecs rebuilt on the workers from the lines) with WGS84 geodetic
    # elevations (pair engine) on a Fibonacci grid cut into runs of points.
    c = ol.Constellation.from_tle(shared_path("tle", "iridium-next_2026-05-30.tle"))
    grid = Grid.fibonacci(600)
    kw = dict(start="2026-05-30", duration="6h", step="60s", min_elevation_deg=20.0, k=2, mode="exact")
    ref = single_coverage(c, grid, **kw)
    assert c._satrecs is not None  # the client's copy holds unpicklable Satrecs: they must not be shipped
    got = parallel.coverage(c, grid, scheduler=client, time_chunk=100, point_chunk=250, **kw)
    assert got.ds.attrs["parallel_point_chunks"] == 3
    _assert_same_coverage(got, ref)


def test_worker_killed_mid_run_gives_the_same_answer(cluster, iridium, tmp_path):
    cl, client = cluster
    from distributed.diagnostics.plugin import WorkerPlugin

    sentinel = str(tmp_path / "killed")

    class KillOnce(WorkerPlugin):  # defined locally: cloudpickle ships it by value
        def transition(self, key, start, finish, **kwargs):
            # the first merge task to start kills its worker: the chunk summaries that worker held
            # are lost with it and must be recomputed elsewhere
            if finish == "executing" and "-merge-" in str(key):
                try:
                    fd = os.open(sentinel, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                except FileExistsError:
                    return
                os.close(fd)
                os._exit(1)

    grid = Grid.equal_area(5.0)
    kw = dict(SPAN, min_elevation_deg=25.0, k=3)
    ref = single_coverage(iridium, grid, **kw)
    before = set(client.scheduler_info()["workers"])
    client.register_plugin(KillOnce(), name="orbitlat-kill-once")
    try:
        got = parallel.coverage(iridium, grid, scheduler=client, time_chunk=190, retries=3, **kw)
    finally:
        client.unregister_worker_plugin("orbitlat-kill-once")
        client.wait_for_workers(2, timeout=60)
    assert os.path.exists(sentinel), "no worker was killed: the test did not exercise recovery"
    assert set(client.scheduler_info()["workers"]) != before  # the nanny replaced the dead worker
    _assert_same_coverage(got, ref)


def test_scheduler_forms_give_the_same_answer(cluster, iridium):
    cl, client = cluster
    grid = Grid.equal_area(10.0)
    kw = dict(start="2026-01-01", duration="6h", step="60s", min_elevation_deg=25.0)
    ref = single_coverage(iridium, grid, **kw)
    for sched in (None, "threads", "sync", "processes", cl.scheduler_address):
        got = parallel.coverage(iridium, grid, scheduler=sched, time_chunk=100, **kw)
        _assert_same_coverage(got, ref)
    label = parallel.coverage(iridium, grid, scheduler=cl.scheduler_address, **kw).ds.attrs["parallel_scheduler"]
    assert label == f"distributed {cl.scheduler_address}"
    with parallel.using(client) as c_:
        assert c_ is client
        got = parallel.coverage(iridium, grid, **kw)
    assert got.ds.attrs["parallel_scheduler"].startswith("distributed")
    _assert_same_coverage(got, ref)
    assert client.status == "running"  # using() leaves a client it did not open alone


def test_tune_workers_sets_every_worker_and_keeps_answers(cluster, iridium):
    cl, client = cluster
    done = parallel.tune_workers(client)
    assert set(done) == set(client.scheduler_info()["workers"]) and all(done.values())
    grid = Grid.equal_area(10.0)
    kw = dict(start="2026-01-01", duration="6h", step="60s", min_elevation_deg=25.0)
    got = parallel.coverage(iridium, grid, scheduler=client, **kw)
    _assert_same_coverage(got, single_coverage(iridium, grid, **kw))
    with pytest.raises(OrbitlatError, match="distributed cluster"):
        parallel.tune_workers("threads")


@pytest.mark.skipif("scheduler" not in inspect.signature(single_coverage).parameters,
                    reason="orbitlat.coverage.coverage has no scheduler= yet (its owner is to forward it to "
                           "orbitlat.scale.coverage; see docs/scaling.md)")
def test_coverage_forwards_scheduler(cluster, iridium):
    _, client = cluster
    grid = Grid.equal_area(10.0)
    kw = dict(start="2026-01-01", duration="6h", step="60s", min_elevation_deg=25.0)
    got = single_coverage(iridium, grid, scheduler=client, **kw)
    assert got.ds.attrs["parallel_scheduler"].startswith("distributed")
    _assert_same_coverage(got, single_coverage(iridium, grid, **kw))


# ---------------------------------------------------------------------------
# visibility and latency on the cluster
# ---------------------------------------------------------------------------
SITES = SiteIndex.from_latlon([47.37, -33.92, 0.0, 78.22, 64.84], [8.54, 18.42, 0.0, 15.65, -147.72], 0.2,
                              min_elevation_deg=10.0)


def test_visible_sets_on_cluster_equal_iter_visible(cluster, iridium):
    _, client = cluster
    kw = dict(SPAN)
    ref = list(ol.visibility.iter_visible(iridium, SITES, **kw))
    ref_pairs = pd.concat([v.pairs for v in ref], ignore_index=True)
    ref_counts = np.concatenate([v.counts.n_visible.to_numpy() for v in ref])
    got = parallel.visible_sets(iridium, SITES, scheduler=client, time_chunk=120, **kw)
    assert got.attrs["parallel_tasks"] == 6
    pd.testing.assert_frame_equal(got.pairs, ref_pairs, check_exact=True)
    assert np.array_equal(got.counts.n_visible.to_numpy(), ref_counts)
    assert np.array_equal(got.counts.time.to_numpy(), ol.TimeGrid.span(**kw).utc)


def test_passes_on_cluster_equal_single_process(cluster, iridium):
    _, client = cluster
    kw = dict(SPAN, min_elevation_deg=10.0)
    ref, ref_counts = ol.visibility.passes(iridium, SITES, workers=1, return_counts=True, **kw)
    got, counts = parallel.passes(iridium, SITES, scheduler=client, time_chunk=100, return_counts=True, **kw)
    assert got.attrs["parallel_tasks"] >= 6
    assert len(got) == len(ref) > 300
    # every column bit for bit, event times included: the segments run the sweep on the whole grid's
    # clock and propagate the calls one process makes (before the scale-out protocol each chunk counted
    # seconds from its own start, and times agreed to 1 ns only)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert np.array_equal(counts.n_visible.to_numpy(), ref_counts.n_visible.to_numpy())
    # passes that straddle a chunk boundary were stitched, not cut
    tg = ol.TimeGrid.span(SPAN["start"], SPAN["duration"], SPAN["step"])
    tc = got.attrs["parallel_time_chunk"]
    bounds = tg.utc[tc:len(tg) - 1:tc]
    straddle = sum(int(((got.rise < b) & (got.set > b)).sum()) for b in bounds)
    assert straddle > 5
    # and no cut survives inside the window: only passes in progress at its very start/end are cut
    assert (got.rise[got.rise_cut] == tg.utc[0]).all() and (got.set[got.set_cut] == tg.utc[-1]).all()
    assert got.rise_cut.sum() == ref.rise_cut.sum() and got.set_cut.sum() == ref.set_cut.sum()


LAT_SITES_ARGS = (["London", "New York", "Tokyo", "Sydney", "Nairobi", "Sao Paulo"],
                  [51.5074, 40.7128, 35.6895, -33.8688, -1.2864, -23.5475],
                  [-0.1278, -74.0060, 139.6917, 151.2093, 36.8172, -46.6361])


def test_latency_city_pairs_on_cluster_equal_single_process(cluster, iridium):
    _, client = cluster
    from orbitlat.ground import GroundSites

    sites = GroundSites(*LAT_SITES_ARGS)
    kw = dict(start="2026-01-01", duration="3h", step="60s", min_elevation_deg=10.0)
    ref = ol.latency.city_pairs(iridium, sites, **kw)
    got = parallel.latency("city_pairs", iridium, sites, scheduler=client, time_chunk=60, **kw)
    assert got.rtt.attrs["parallel_tasks"] == 3
    assert int(ref.path_changes.sum()) > 100  # paths change often, including across the two block boundaries
    assert_same_latency(got, ref)


def test_latency_route_with_outages_across_boundaries(cluster, iridium):
    _, client = cluster
    from orbitlat.latency.network import Network
    from orbitlat.ground import GroundSites

    # At a 40° mask Iridium links these cities only now and then: pairs are unreachable on both
    # sides of block boundaries, which must not count as path changes (a merge that compared "no
    # path" values by identity once counted 198 against 186 changes here; orbitlat.latency.blocks
    # now holds the one merge that route(workers=) and every scheduler use).
    sites = GroundSites(*LAT_SITES_ARGS)
    kw = dict(start="2026-01-01", duration="4h", step="60s", min_elevation_deg=40.0)
    ref = ol.latency.route(Network(iridium), sites, None, **kw)
    got = parallel.route(Network(iridium), sites, None, scheduler=client, time_chunk=60, **kw)
    rtt = ref.rtt_ms.to_numpy()
    assert 0.5 < np.isnan(rtt).mean() < 1 and int(ref.path_changes.sum()) > 50
    both_out = [np.isnan(rtt[b - 1]) & np.isnan(rtt[b]) for b in (60, 120, 180)]
    assert all(m.sum() > 10 for m in both_out)
    assert_same_latency(got, ref)


# ---------------------------------------------------------------------------
# shipping and bad input
# ---------------------------------------------------------------------------
def test_constellation_pickles_without_unpicklable_satrecs_but_keeps_the_caller_cache():
    c = ol.presets.get("iridium")
    c.propagate(start="2026-01-01", duration="1min", step="1min", backend="sgp4")
    assert c._satrecs is not None
    with pytest.raises(Exception):
        pickle.dumps(c._satrecs)  # python-sgp4 Satrec objects do not pickle (docs/references.md)
    back = pickle.loads(pickle.dumps(c))  # Constellation.__getstate__ leaves them out
    assert back._satrecs is None and c._satrecs is not None
    pd.testing.assert_frame_equal(back.table, c.table)
    kw = dict(start="2026-01-01", duration="2min", step="1min", backend="sgp4")
    assert np.array_equal(back.propagate(**kw)["position"].to_numpy(), c.propagate(**kw)["position"].to_numpy())


def test_bad_input_raises_orbitlat_error(iridium):
    grid = Grid.equal_area(10.0)
    kw = dict(start="2026-01-01", duration="1h", step="60s")
    with pytest.raises(OrbitlatError, match="scheduler='warp-drive'"):
        parallel.coverage(iridium, grid, scheduler="warp-drive", **kw)
    with pytest.raises(OrbitlatError, match="not an ephemeris"):
        parallel.coverage(iridium.propagate(**kw), grid, scheduler="sync")
    with pytest.raises(OrbitlatError, match="time_chunk=0"):
        parallel.coverage(iridium, grid, scheduler="sync", time_chunk=0, **kw)
    with pytest.raises(OrbitlatError, match="retries=-1"):
        parallel.coverage(iridium, grid, scheduler="sync", retries=-1, **kw)
    with pytest.raises(OrbitlatError, match="backend='warp'"):
        parallel.coverage(iridium, grid, scheduler="sync", backend="warp", **kw)
    with pytest.raises(OrbitlatError, match="mode='precise'"):
        parallel.coverage(iridium, grid, scheduler="sync", mode="precise", **kw)
    with pytest.raises(OrbitlatError, match="scenario='teleport'"):
        parallel.latency("teleport", iridium, scheduler="sync")
    with pytest.raises(OrbitlatError, match="workers="):
        parallel.latency("city_pairs", iridium, SITES, workers=2, scheduler="sync")
    with pytest.raises(OrbitlatError, match="not supported"):
        parallel.coverage(iridium, grid, scheduler=3.14, **kw)
