"""orbitlat.scale: the protocol (a plan of chunks, a kernel and an exact merge) on every runner.

Two kinds of checks. The runners are checked on small plans whose answers are known in closed
form (sums of squares, an associative but non-commutative merge that records the tree it was
built with), for every runner: same answer, same tree of merges as Dask, retries, bad input,
warnings, no scheduler inside a task. Each analysis is checked against itself: a hypothesis
property cuts its work into random chunks and asks for the unchunked (one-task) result bit for
bit; the unchunked path is the single-process code the other test modules check against
outside references (STK gap conventions, Skyfield's find_events, exact path lengths).
"""
from __future__ import annotations

import os
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.scale.plan import Plan, time_bounds
from orbitlat.scale.runners import current, iterate, run, runner, using

from conftest import assert_same_latency, synthetic_tle_text

LOCAL = ("sync", "threads", "processes")


# ---------------------------------------------------------------------------
# kernels and merges for the protocol tests (module level: they pickle by reference)
# ---------------------------------------------------------------------------
def _squares(chunk, shared):
    return sum(i * i for i in chunk) * shared


def _leaf(chunk, shared):
    return str(chunk)


def _tree(a, b):
    """Associative on the flattened leaves, not commutative; the nesting records the tree's shape."""
    return f"({a} {b})"


def _flat(s: str) -> list[str]:
    return s.replace("(", " ").replace(")", " ").split()


def _pairwise(items: list[str]) -> str:
    """The tree every runner must build: pairwise by levels, an odd one out carried up."""
    while len(items) > 1:
        nxt = [_tree(items[k], items[k + 1]) for k in range(0, len(items) - 1, 2)]
        if len(items) % 2:
            nxt.append(items[-1])
        items = nxt
    return items[0]


def _flaky(chunk, shared):
    """Fails the first time it sees a chunk (a sentinel file per chunk, so processes see it too)."""
    folder, exc = shared
    path = os.path.join(folder, f"seen-{chunk}")
    with open(os.path.join(folder, f"calls-{chunk}"), "a") as fh:
        fh.write("x")
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        return chunk
    os.close(fd)
    if exc == "exit":
        if chunk < 100:
            return chunk
        os._exit(3)  # the worker process dies
    raise {"runtime": RuntimeError, "orbitlat": OrbitlatError}[exc](f"chunk {chunk} failed once")


def _warns(chunk, shared):
    warnings.warn("the same warning from every chunk", UserWarning)
    warnings.warn(f"chunk {chunk} says hello", RuntimeWarning)
    return chunk


def _who_schedules(chunk, shared):
    return current() is None


class _NoPickle:
    def __reduce__(self):
        raise TypeError("not picklable: forked workers must inherit it")


def _uses_unpicklable(chunk, shared):
    return chunk * 2 if isinstance(shared, _NoPickle) else -1


# ---------------------------------------------------------------------------
# runners
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("sched", LOCAL)
def test_every_local_runner_gives_the_closed_form(sched):
    # sum_{i<n} i^2 = (n-1) n (2n-1) / 6, here cut into 7 uneven chunks and scaled by the shared 3
    n = 1000
    cuts = [0, 1, 17, 300, 301, 650, 999, 1000]
    p = Plan(_squares, [range(a, b) for a, b in zip(cuts[:-1], cuts[1:])], shared=3, merge=lambda a, b: a + b,
             finish=lambda r: r[0])
    assert run(p, sched, workers=2) == 3 * (n - 1) * n * (2 * n - 1) // 6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n=st.integers(1, 23), sched=st.sampled_from(["sync", "threads"]), workers=st.integers(1, 4))
def test_merge_tree_is_pairwise_by_levels_on_every_runner(n, sched, workers):
    p = Plan(_leaf, list(range(n)), merge=_tree)
    got = run(p, sched, workers=workers)[0]
    assert got == _pairwise([str(i) for i in range(n)])
    assert _flat(got) == [str(i) for i in range(n)]  # chunk order kept whatever finished first


def test_merge_tree_on_processes_and_groups():
    # groups merge separately, in chunk order within each, and come back in order of first appearance
    groups = ["b", "a", "b", "a", "a", "c", "b"]
    p = Plan(_leaf, list(range(7)), merge=_tree, groups=groups)
    want = [_pairwise(["0", "2", "6"]), _pairwise(["1", "3", "4"]), "5"]
    assert run(p, "processes", workers=2) == want == run(p, "sync")
    assert Plan(_leaf, list(range(7)), merge=_tree, groups=groups).n_tasks == 7 + 2 + 2


def test_an_ephemeris_is_not_shipped_to_a_cluster(cluster, iridium):
    # coverage and passes on Dask take the constellation (tasks propagate their own chunks)
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground.grids import Grid
    from orbitlat.visibility.engine import SiteIndex
    from orbitlat.visibility.windows import passes

    _, client = cluster
    eph = iridium.propagate(start="2026-01-01", duration="1h", step="60s")
    with pytest.raises(OrbitlatError, match="takes a Constellation"):
        coverage(eph, Grid.equal_area(20.0), scheduler=client)
    with pytest.raises(OrbitlatError, match="takes a Constellation"):
        passes(eph, SiteIndex.from_latlon([0.0], [0.0]), scheduler=client)


def test_dask_builds_the_same_tree(cluster):
    _, client = cluster
    for n in (1, 2, 5, 8, 11):
        p = Plan(_leaf, list(range(n)), merge=_tree)
        assert run(p, client) == run(p, "sync") == [_pairwise([str(i) for i in range(n)])]
    # without a merge, finish sees every part in chunk order
    p = Plan(_squares, [range(i, i + 1) for i in range(9)], shared=1, finish=lambda parts: parts)
    assert run(p, client) == [i * i for i in range(9)]
    assert list(iterate(p, client)) == [i * i for i in range(9)]


@pytest.mark.parametrize("sched", LOCAL)
def test_a_task_that_raised_is_retried(sched, tmp_path):
    p = Plan(_flaky, [0, 1, 2, 3], shared=(str(tmp_path), "runtime"), finish=lambda parts: parts)
    assert run(p, sched, workers=2, retries=1) == [0, 1, 2, 3]
    assert all((tmp_path / f"calls-{i}").read_text() == "xx" for i in range(4))  # once failed, once done


@pytest.mark.parametrize("sched", LOCAL)
def test_without_retries_the_first_error_is_raised(sched, tmp_path):
    p = Plan(_flaky, [0, 1], shared=(str(tmp_path), "runtime"))
    with pytest.raises(RuntimeError, match="failed once"):
        run(p, sched, workers=2, retries=0)


@pytest.mark.parametrize("sched", LOCAL)
def test_bad_input_is_never_retried(sched, tmp_path):
    # an OrbitlatError is deterministic: raised at once, whatever retries says
    p = Plan(_flaky, [0], shared=(str(tmp_path), "orbitlat"))
    with pytest.raises(OrbitlatError, match="chunk 0 failed once"):
        run(p, sched, workers=2, retries=5)
    assert (tmp_path / "calls-0").read_text() == "x"


def test_a_dead_worker_process_is_replaced(tmp_path):
    # chunk 100 kills its worker process the first time (os._exit, as the OOM killer would): the pool
    # breaks (BrokenProcessPool, docs/references.md "Scale-out"), is rebuilt, and the tasks it lost
    # (that one, and any running beside it) run again
    p = Plan(_flaky, [0, 100, 2, 3], shared=(str(tmp_path), "exit"), finish=lambda parts: parts)
    assert run(p, "processes", workers=2, retries=1) == [0, 100, 2, 3]
    assert (tmp_path / "calls-100").read_text() == "xx"
    with pytest.raises(RuntimeError, match="worker process .* died"):
        run(Plan(_flaky, [1, 101], shared=(str(tmp_path), "exit")), "processes", workers=2, retries=0)


@pytest.mark.parametrize("sched", LOCAL)
def test_warnings_of_tasks_reach_the_caller_once(sched):
    drop = (lambda cat, msg: "chunk 2" in msg)
    p = Plan(_warns, list(range(4)), drop_warning=drop)
    with warnings.catch_warnings(record=True) as wl:
        warnings.simplefilter("always")
        run(p, sched, workers=2)
    msgs = sorted(str(w.message) for w in wl)
    assert msgs == sorted(["the same warning from every chunk", "chunk 0 says hello", "chunk 1 says hello",
                           "chunk 3 says hello"])


def test_no_scheduler_is_active_inside_a_task():
    # an analysis called by a kernel runs in that task, not on the enclosing using() block's scheduler
    p = Plan(_who_schedules, [0, 1], finish=lambda parts: parts)
    for sched in ("sync", "threads"):
        with using(sched):
            assert current() is not None
            assert run(p) == [True, True]
    assert current() is None


@pytest.mark.skipif("fork" not in __import__("multiprocessing").get_all_start_methods(), reason="needs fork")
def test_forked_workers_inherit_the_shared_inputs():
    # nothing shared is pickled for local processes: the workers inherit it when they are forked
    # (the "fork" start method, docs/references.md "Scale-out")
    p = Plan(_uses_unpicklable, [1, 2, 3], shared=_NoPickle(), finish=lambda parts: parts)
    with pytest.raises(TypeError):
        pickle.dumps(_NoPickle())
    assert run(p, "processes", workers=2) == [2, 4, 6]


def test_networks_of_tle_satellites_pickle_and_route_the_same(tmp_path):
    # a Network holds Constellations: their sgp4 Satrec caches (which do not pickle) stay behind, and
    # the copy rebuilds them and routes bit for bit alike (nothing in scale special-cases a Network)
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.network import Network
    from orbitlat.latency.routing import route

    f = tmp_path / "sats.tle"
    f.write_text(synthetic_tle_text(40))
    net = Network(ol.Constellation.from_tle(f), isl="nearest_k", isl_k=3)
    sites = GroundSites(["A", "B"], [40.0, 45.0], [-3.0, 2.0])
    kw = dict(start="2026-05-30", duration="5min", step="60s", min_elevation_deg=10.0, paths="all")
    ref = route(net, sites, None, **kw)
    assert net.constellation._satrecs is not None
    back = pickle.loads(pickle.dumps(net))
    assert back.constellation._satrecs is None and net.constellation._satrecs is not None
    assert_same_latency(route(back, sites, None, **kw), ref)


def test_iterate_is_lazy_and_ordered(tmp_path):
    p = Plan(_flaky, [0, 1, 2], shared=(str(tmp_path), "runtime"))
    it = iterate(p, "sync", retries=1)
    assert next(it) == 0
    assert not (tmp_path / "calls-1").exists()  # the next chunk has not run yet
    assert list(it) == [1, 2]
    assert list(iterate(p, "threads", workers=3)) == [0, 1, 2]


def test_bad_arguments_say_what_is_valid():
    p = Plan(_leaf, [0])
    with pytest.raises(OrbitlatError, match="scheduler='warp-drive' is not known"):
        run(p, "warp-drive")
    with pytest.raises(OrbitlatError, match="not supported"):
        run(p, 3.14)
    with pytest.raises(OrbitlatError, match="workers=0"):
        run(p, "threads", workers=0)
    with pytest.raises(OrbitlatError, match="retries=-1"):
        run(p, "sync", retries=-1)
    with pytest.raises(OrbitlatError, match="no chunks"):
        Plan(_leaf, [])
    with pytest.raises(OrbitlatError, match="one label per chunk"):
        Plan(_leaf, [0, 1], groups=["a"])
    with pytest.raises(AttributeError, match="orbitlat.coverage.coverage"):
        ol.scale.coverage  # noqa: B018 - the moved entry point names its replacement
    with runner("threads", workers=3) as r:
        assert (r.kind, r.workers, r.is_local) == ("threads", 3, True)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(2, 5000), unit=st.integers(1, 300), tc=st.one_of(st.none(), st.integers(1, 2000)),
       slots=st.integers(1, 16), overlap=st.booleans())
def test_time_bounds_cover_the_span_on_multiples_of_the_unit(n, unit, tc, slots, overlap):
    b = time_bounds(n, unit, tc, slots, 4, overlap=overlap)
    span = n - 1 if overlap else n
    assert b[0] == 0 and b[-1] == span and all(x < y for x, y in zip(b[:-1], b[1:]))
    assert all(x % unit == 0 for x in b[:-1])  # boundaries where a single-process call starts
    size = b[1] - b[0]
    assert all(y - x == size for x, y in zip(b[:-2], b[1:-1]))  # equal chunks; the last folds in a stub
    assert len(b) == 2 or b[-1] - b[-2] >= max(1, size // 4)


# ---------------------------------------------------------------------------
# each analysis: random chunkings merge to the unchunked result
# ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def iridium():
    return ol.presets.get("iridium")


SITES_ARGS = (["London", "New York", "Tokyo", "Sydney", "Nairobi", "Sao Paulo"],
              [51.5074, 40.7128, 35.6895, -33.8688, -1.2864, -23.5475],
              [-0.1278, -74.0060, 139.6917, 151.2093, 36.8172, -46.6361])
_COV_SPAN = dict(start="2026-01-01", duration="6h", step="30s")  # 721 steps: up to 4 propagation chunks


@pytest.fixture(scope="module")
def coverage_ref(iridium):
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground.grids import Grid

    grid = Grid.equal_area(12.0).band(-70, 85)  # a subset of a ring grid: bands map back through indices
    return grid, coverage(iridium, grid, min_elevation_deg=20.0, k=2, keep_series=True, **_COV_SPAN)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(time_chunk=st.integers(1, 800), point_chunk=st.integers(1, 400), sched=st.sampled_from(["sync", "threads"]))
def test_coverage_in_random_chunks_equals_one_task(iridium, coverage_ref, time_chunk, point_chunk, sched):
    # Equal-area grid and whole-second steps: every partial sum is an exact float, so the segment
    # merge must give the one-task figures bit for bit (coverage.plan module docs).
    from orbitlat.coverage.compute import coverage

    grid, ref = coverage_ref
    got = coverage(iridium, grid, min_elevation_deg=20.0, k=2, keep_series=True, scheduler=sched, workers=2,
                   time_chunk=time_chunk, point_chunk=point_chunk, **_COV_SPAN)
    for v in ref.ds.data_vars:
        assert np.array_equal(got.ds[v].to_numpy(), ref.ds[v].to_numpy()), v
    assert got.ds.attrs["parallel_point_chunks"] >= 1 and got.ds.attrs["parallel_scheduler"] == f"local {sched}"


def test_coverage_pair_engine_and_ephemeris_in_chunks(iridium):
    # the pair engine (WGS84 geodetic) on a Fibonacci grid cut into runs of points, and an ephemeris
    # cut into time chunks on local processes (forked workers inherit it)
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground.grids import Grid

    kw = dict(min_elevation_deg=15.0, k=3, mode="exact")
    grid = Grid.fibonacci(300)
    ref = coverage(iridium, grid, **kw, **_COV_SPAN)
    got = coverage(iridium, grid, scheduler="threads", time_chunk=240, point_chunk=77, **kw, **_COV_SPAN)
    eph = iridium.propagate(frame="ITRS", velocity=False, **_COV_SPAN)
    ref_e = coverage(eph, grid, **kw)
    got_e = coverage(eph, grid, scheduler="processes", workers=2, time_chunk=1, **kw)
    assert got.ds.attrs["parallel_point_chunks"] == 4 and got_e.ds.attrs["parallel_tasks"] == 3  # 721 steps / 240
    for v in ref.ds.data_vars:
        assert np.array_equal(got.ds[v].to_numpy(), ref.ds[v].to_numpy()), v
        assert np.array_equal(got_e.ds[v].to_numpy(), ref_e.ds[v].to_numpy()), v


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(time_chunk=st.integers(1, 300), chunk=st.integers(2, 130), sched=st.sampled_from(["sync", "threads"]))
def test_passes_in_random_segments_equal_one_segment(iridium, time_chunk, chunk, sched):
    # Segments share their boundary sample, run on the whole grid's clock and propagate the calls one
    # process makes, so the stitched table is the one-segment table bit for bit (passes_chunk docs).
    from orbitlat.visibility.engine import SiteIndex
    from orbitlat.visibility.windows import passes

    sites = SiteIndex.from_latlon(SITES_ARGS[1], SITES_ARGS[2], 0.1, min_elevation_deg=15.0)
    kw = dict(start="2026-01-01", duration="4h", step="60s", chunk=chunk, return_counts=True)
    ref, rc = passes(iridium, sites, **kw)
    got, gc = passes(iridium, sites, scheduler=sched, workers=2, time_chunk=time_chunk, **kw)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert np.array_equal(gc.n_visible.to_numpy(), rc.n_visible.to_numpy())
    assert got.attrs["parallel_tasks"] == len(time_bounds(241, chunk, time_chunk, overlap=True)) - 1


def test_passes_of_an_ephemeris_in_processes(iridium):
    from orbitlat.visibility.engine import SiteIndex
    from orbitlat.visibility.windows import passes

    eph = iridium.propagate(start="2026-01-01", duration="3h", step="60s")
    sites = SiteIndex.from_latlon(SITES_ARGS[1], SITES_ARGS[2], 0.0, min_elevation_deg=10.0)
    ref = passes(eph, sites)
    got = passes(eph, sites, workers=3)  # the local default: forked worker processes
    assert got.attrs["workers"] == 3 and len(ref) > 30
    pd.testing.assert_frame_equal(got.drop(columns=[]), ref, check_exact=True)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(time_chunk=st.integers(1, 250), sched=st.sampled_from(["sync", "threads"]))
def test_visible_sets_in_random_chunks_equal_one_chunk(iridium, time_chunk, sched):
    from orbitlat.visibility.engine import SiteIndex
    from orbitlat.visibility.visible import iter_visible, visible_sets

    sites = SiteIndex.from_latlon(SITES_ARGS[1], SITES_ARGS[2], 0.0, min_elevation_deg=10.0)
    kw = dict(start="2026-01-01", duration="5h", step="60s")
    ref = visible_sets(iridium, sites, **kw)
    got = visible_sets(iridium, sites, scheduler=sched, time_chunk=time_chunk, **kw)
    pd.testing.assert_frame_equal(got.pairs, ref.pairs, check_exact=True)
    assert np.array_equal(got.counts.n_visible.to_numpy(), ref.counts.n_visible.to_numpy())
    parts = list(iter_visible(iridium, sites, chunk=60, scheduler=sched, **kw))
    pd.testing.assert_frame_equal(pd.concat([p.pairs for p in parts], ignore_index=True), ref.pairs,
                                  check_exact=True)


@pytest.fixture(scope="module")
def route_ref(iridium):
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.network import Network
    from orbitlat.latency.routing import route

    # At a 40° mask Iridium links these cities only now and then: paths come and go across block
    # boundaries, the hard case of the merge (tests/test_parallel.py)
    sites = GroundSites(*SITES_ARGS)
    kw = dict(start="2026-01-01", duration="150min", step="60s", min_elevation_deg=40.0)
    return sites, kw, route(Network(iridium), sites, None, **kw)


@pytest.mark.slow
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(time_chunk=st.integers(1, 160), paths=st.sampled_from(["changes", "all"]),
       sched=st.sampled_from(["sync", "threads"]))
def test_route_in_random_blocks_equals_one_block(iridium, route_ref, time_chunk, paths, sched):
    # Blocks start anywhere (they propagate the whole span's 60-step calls), and merge_blocks joins
    # them: RTTs, paths, path changes and unreachable samples bit for bit (latency.blocks docs).
    from orbitlat.latency.network import Network
    from orbitlat.latency.routing import route

    sites, kw, ref = route_ref
    if paths == "all":
        ref = route(Network(iridium), sites, None, paths="all", **kw)
    got = route(Network(iridium), sites, None, paths=paths, scheduler=sched, time_chunk=time_chunk, **kw)
    assert int(ref.path_changes.sum()) > 30
    assert_same_latency(got, ref)


def test_merge_blocks_is_associative(iridium, route_ref):
    from orbitlat.latency.blocks import _Block, _Shared, merge_blocks, route_block
    from orbitlat.latency.network import Network
    from orbitlat.time import TimeGrid

    sites, kw, ref = route_ref
    tg = TimeGrid.span(kw["start"], kw["duration"], kw["step"])
    sh = _Shared(Network(iridium), sites, None, {"min_elevation_deg": 40.0, "paths": "changes"}, tg.utc)
    a, b, c = (route_block(_Block(x, y), sh) for x, y in ((0, 37), (37, 90), (90, len(tg))))
    left, right = merge_blocks(merge_blocks(a, b), c), merge_blocks(a, merge_blocks(b, c))
    for got in (left, right):
        got.src_sites = ref.src_sites
        assert_same_latency(got, ref)
    with pytest.raises(OrbitlatError, match="not consecutive"):
        merge_blocks(b, a)


def test_latency_scenario_on_processes_equals_one_process(iridium):
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.scenarios import city_pairs

    sites = GroundSites(*SITES_ARGS)
    kw = dict(start="2026-01-01", duration="25min", step="60s", min_elevation_deg=20.0)
    ref = city_pairs(iridium, sites, **kw)
    got = city_pairs(iridium, sites, workers=2, **kw)  # two blocks of 13 steps: not on the 60-step calls
    assert got.rtt.attrs["workers"] == 2 and got.rtt.attrs["scenario"] == "city pairs"
    assert_same_latency(got, ref)
    with using("processes", workers=2):
        got = city_pairs(iridium, sites, **kw)
    assert got.rtt.attrs["parallel_scheduler"] == "local processes"
    assert_same_latency(got, ref)
