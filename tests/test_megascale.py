"""Constellations at filing scale: the kernels that must not grow with pairs in view, streaming
propagation, and refusing absurd requests before they start.

References: brute force over every (point, satellite) pair with the spherical-cap inequality
(docs/references.md, "Geometry of one satellite's view") and the elevation definition of the pair
engine; bit-identity between the compiled and numpy kernels; in-memory vs streamed runs.
"""
from __future__ import annotations

import math
import os

import numpy as np
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbitlat as ol
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.ground.grids import Grid
from orbitlat.orbits import walker
from orbitlat.orbits.stream import chunk_steps_for, iter_positions, positions
from orbitlat.time import TimeGrid
from orbitlat.visibility import footprints as fp
from orbitlat.visibility.engine import SiteIndex
from orbitlat.visibility.nearest import MS_PER_KM, best_access, nearest_visible

numba = pytest.importorskip("numba")
from orbitlat.visibility import _kernels  # noqa: E402  (needs numba)


def _random_sats(rng, n, alt_lo=300.0, alt_hi=2500.0):
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1)[:, None]
    return v * (WGS84_A_KM + rng.uniform(alt_lo, alt_hi, n))[:, None]


@pytest.fixture
def numpy_kernels(monkeypatch):
    monkeypatch.setenv(fp.KERNEL_ENV, "numpy")


# =============================================================================
# the footprint-cap kernel: compiled == numpy == brute force
# =============================================================================
def _brute_counts(grid, sat, mask):
    """Every pair: angle(point, sub-satellite point) <= λ (docs/references.md), spherical Earth."""
    u = grid.unit_vectors()
    r = np.linalg.norm(sat, axis=1)
    cos_lam = np.cos(fp.cap_half_angle_rad(r, mask))
    return np.count_nonzero(u @ (sat / r[:, None]).T >= cos_lam, axis=1)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(1, 3000), res=st.sampled_from([2.0, 3.0, 5.0]),
       mask=st.floats(0.0, 45.0), polar=st.booleans())
def test_compiled_cap_kernel_equals_numpy_kernel(seed, n, res, mask, polar):
    rng = np.random.default_rng(seed)
    sat = _random_sats(rng, n)
    if polar:  # a satellite exactly over each pole, and NaN rows (failed satellites)
        sat[0] = [0.0, 0.0, 7000.0]
        sat[-1] = [0.0, 0.0, -7100.0]
        sat[n // 2] = np.nan
    g = Grid.equal_area(res)
    a = fp.cap_counts(g, sat, mask)
    os.environ[fp.KERNEL_ENV] = "numpy"
    try:
        b = fp.cap_counts(g, sat, mask)
    finally:
        del os.environ[fp.KERNEL_ENV]
    assert np.array_equal(a, b)


def test_cap_kernel_matches_brute_force_and_numpy_blocks(monkeypatch):
    rng = np.random.default_rng(7)
    sat = _random_sats(rng, 20_000, 500.0, 2000.0)
    g = Grid.equal_area(2.0)
    bf = _brute_counts(g, sat, 25.0)
    got = fp.cap_counts(g, sat, 25.0)
    # the spherical kernel is exact up to points on a cap edge within rounding: none here
    assert np.array_equal(got, bf)
    monkeypatch.setenv(fp.KERNEL_ENV, "numpy")
    monkeypatch.setattr(fp, "_NUMPY_RUNS_PER_BLOCK", 5000)  # many satellite blocks, same counts
    assert np.array_equal(fp.cap_counts(g, sat, 25.0), bf)
    # (time, sat, 3) input on a subset grid (its points keep the parent's ring structure)
    monkeypatch.delenv(fp.KERNEL_ENV)
    keep = (g.lat_deg >= -30) & (g.lat_deg <= 60)
    two = fp.cap_counts(g.band(-30, 60), np.stack([sat, sat[::-1]]), 25.0)
    assert two.shape == (2, int(keep.sum()))
    assert np.array_equal(two[0], bf[keep]) and np.array_equal(two[1], bf[keep])


def test_fast_acos_is_within_two_ulp():
    @numba.njit
    def worst(x):
        m = 0.0
        for v in x:
            m = max(m, abs(_kernels._acos_fast(v) - math.acos(v)))
        return m

    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1, 1, 200_000), 1 - 10 ** rng.uniform(-17, 0, 50_000),
                        -1 + 10 ** rng.uniform(-17, 0, 50_000), [-1.0, -0.5, 0.0, 0.5, 1.0]])
    # the kernel's edge guard (_EDGE_GUARD = 1e-7 grid steps) needs the error far below 1e-7 / n steps
    assert worst(np.clip(x, -1, 1)) <= 2 * np.spacing(np.pi)


# =============================================================================
# the best usable satellite per site: 3-D cell search == every pair
# =============================================================================
def _brute_best(index, sat, cost, rule="elevation", max_range=None):
    out = np.full(index.size, -1)
    total = np.full(index.size, np.nan)
    for i in range(index.size):
        los = sat - index.xyz_km[i]
        d = np.sqrt((los**2).sum(axis=1))
        el = np.degrees(np.arcsin(np.clip(los @ index.up[i] / d, -1, 1)))
        ok = np.isfinite(d) & np.isfinite(cost)
        if rule == "elevation":
            ok &= el >= index.min_elevation_deg[i]
        if max_range is not None:
            ok &= d <= max_range
        if ok.any():
            t = np.where(ok, d * MS_PER_KM + cost, np.inf)
            j = int(np.argmin(t))  # lowest index among equal totals
            out[i], total[i] = j, t[j]
    return out, total


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_sat=st.integers(1, 4000), n_site=st.integers(1, 60),
       with_cost=st.booleans(), rule=st.sampled_from(["elevation", "range"]), spherical=st.booleans())
def test_best_access_equals_every_pair(seed, n_sat, n_site, with_cost, rule, spherical):
    rng = np.random.default_rng(seed)
    sat = _random_sats(rng, n_sat)
    sat[rng.random(n_sat) < 0.05] = np.nan  # failed satellites
    idx = SiteIndex.from_latlon(rng.uniform(-90, 90, n_site), rng.uniform(-180, 180, n_site),
                                rng.uniform(0, 3, n_site), min_elevation_deg=rng.uniform(-5, 60, n_site),
                                spherical=spherical)
    cost = np.zeros(n_sat)
    if with_cost:
        cost = rng.exponential(10.0, n_sat)
        cost[rng.random(n_sat) < 0.3] = np.inf  # satellites that cannot serve
    max_range = float(rng.uniform(800, 4000)) if rule == "range" or rng.random() < 0.3 else None
    a = best_access(idx, sat, cost_ms=cost, rule=rule, max_range_km=max_range)
    b, bt = _brute_best(idx, sat, cost, rule, max_range)
    assert np.array_equal(a.sat, b)
    np.testing.assert_allclose(a.total_ms, bt, rtol=1e-12, equal_nan=True)
    ok = b >= 0
    np.testing.assert_allclose(a.range_km[ok], np.linalg.norm(sat[b[ok]] - idx.xyz_km[ok], axis=1), rtol=1e-12)


def test_best_access_numpy_path_and_azimuth_masks_agree(monkeypatch):
    rng = np.random.default_rng(3)
    sat = _random_sats(rng, 3000, 400, 1500)
    idx = SiteIndex.from_latlon(rng.uniform(-70, 70, 40), rng.uniform(-180, 180, 40), min_elevation_deg=20.0)
    cost = rng.uniform(0, 5, sat.shape[0])
    fast = best_access(idx, sat, cost_ms=cost)
    monkeypatch.setenv(fp.KERNEL_ENV, "numpy")
    slow = best_access(idx, sat, cost_ms=cost)
    assert np.array_equal(fast.sat, slow.sat)
    np.testing.assert_allclose(fast.total_ms, slow.total_ms, rtol=1e-12, equal_nan=True)
    monkeypatch.delenv(fp.KERNEL_ENV)
    # azimuth masks go through the pair engine (exact mask semantics): a flat mask at 20° is the same
    az = SiteIndex.from_latlon(rng.uniform(-70, 70, 40), rng.uniform(-180, 180, 40), min_elevation_deg=20.0,
                               az_mask_deg=np.full(8, 20.0))
    flat = SiteIndex.from_latlon(az.xyz_km[:, 0] * 0 + np.degrees(np.arcsin(az.up[:, 2])),
                                 np.degrees(np.arctan2(az.up[:, 1], az.up[:, 0])), min_elevation_deg=20.0)
    assert np.array_equal(best_access(az, sat).sat, best_access(flat, sat).sat)


def test_best_access_bad_input():
    idx = SiteIndex.from_latlon([0.0], [0.0])
    sat = np.array([[7000.0, 0, 0]])
    with pytest.raises(OrbitlatError, match="cost_ms has shape"):
        best_access(idx, sat, cost_ms=[1.0, 2.0])
    with pytest.raises(OrbitlatError, match="must be >= 0 ms"):
        best_access(idx, sat, cost_ms=[-1.0])
    with pytest.raises(OrbitlatError, match="needs max_range_km"):
        best_access(idx, sat, rule="range")
    with pytest.raises(OrbitlatError, match=r"\(sat, 3\) or \(time, sat, 3\)"):
        best_access(idx, np.zeros((2, 2)))
    with pytest.raises(OrbitlatError, match="SiteIndex"):
        best_access("London", sat)
    none = best_access(idx, np.array([[np.nan, np.nan, np.nan]]))
    assert none.sat.tolist() == [-1] and np.isnan(none.range_km[0])


def test_nearest_visible_streamed_equals_in_memory():
    c = walker.walker_delta(53, 600, 20, 1, altitude_km=550) + walker.walker_delta(97, 300, 10, 1, altitude_km=1100)
    cities = ol.GroundSites.cities(top=300)
    kw = dict(start="2026-01-01", duration="2h", step="5min")
    streamed = nearest_visible(c, cities, min_elevation_deg=25.0, chunk=7, **kw)
    eph = c.propagate(**kw)
    whole = nearest_visible(eph, cities, min_elevation_deg=25.0)
    assert streamed.sizes == {"time": 25, "site": 300}
    assert np.array_equal(streamed.sat.values, whole.sat.values)
    np.testing.assert_allclose(streamed.range_km.values, whole.range_km.values, rtol=1e-12, atol=1e-9,
                               equal_nan=True)
    # the RTT is twice the one-way light time (propagation only)
    ok = whole.sat.values >= 0
    np.testing.assert_allclose(whole.rtt_ms.values[ok], 2 * whole.range_km.values[ok] * 1000 / 299792.458)
    assert 0.3 < ok.mean() < 1.0


# =============================================================================
# streaming propagation
# =============================================================================
def test_iter_positions_is_propagate_chunk_by_chunk():
    c = walker.walker_delta(53, 200, 10, 1, altitude_km=550)
    tg = TimeGrid.span("2026-01-01", "3h", "10min")
    got = list(iter_positions(c, tg, chunk=4))
    assert [len(t) for t, _, _ in got] == [4, 4, 4, 4, 3]
    for t, pos, failed in got:
        ref = c.propagate(t, velocity=False)["position"].to_numpy()
        assert np.array_equal(pos, ref) and not failed.any()
    assert chunk_steps_for(1_000_000, 256.0) == 11  # 24 MB of positions per step
    with pytest.raises(OrbitlatError, match="chunk=0"):
        next(iter_positions(c, tg, chunk=0))
    with pytest.raises(OrbitlatError, match="not streamed"):
        positions(c, tg, backend="boinor")


def test_kepler_tiles_over_satellites_are_bit_identical():
    """Satellite tiles of the kepler-j2 propagator change nothing (elementwise per satellite)."""
    from orbitlat.orbits.propagation import _propagate_kepler_j2

    c = walker.walker_delta(53, 40_000, 100, 1, altitude_km=550)
    tg = TimeGrid.span("2026-01-01", "70min", "5min")
    whole, _ = _propagate_kepler_j2(c, tg, "ITRS", False, time_chunk=8)
    part, _ = _propagate_kepler_j2(c[np.arange(0, 40_000, 7)], tg, "ITRS", False, time_chunk=8)
    assert np.array_equal(whole[:, ::7], part)


# =============================================================================
# coverage at scale: memory-bounded chunks, same numbers, refusal of absurd requests
# =============================================================================
def test_coverage_streams_in_memory_bounded_chunks(monkeypatch):
    """Positions are propagated in chunks that fit the streaming budget; the figures equal those of an
    in-memory ephemeris made of the same chunks (one run, and time blocks on a scheduler)."""
    from orbitlat.coverage import compute
    from orbitlat.coverage.plan import _prop_chunk
    from orbitlat.orbits import stream

    monkeypatch.setattr(stream, "DEFAULT_CHUNK_MB", 0.5)  # 0.5 MB: 7 steps of 3,000 satellites
    c = walker.walker_delta(53, 2000, 40, 1, altitude_km=550) + walker.walker_delta(97.6, 1000, 20, 3,
                                                                                   altitude_km=600)
    g = Grid.equal_area(3.0)
    kw = dict(start="2026-01-01", duration="3h", step="5min", min_elevation_deg=25.0, k=2)
    chunk = _prop_chunk(1, 37, c.size)
    assert chunk == chunk_steps_for(c.size, 0.5) == 7
    streamed = compute.coverage(c, g, chunk_steps=1, **kw)
    tg = TimeGrid.span("2026-01-01", "3h", "5min")
    parts = [pos for _, pos, _ in iter_positions(c, tg, chunk=chunk)]
    eph = xr.Dataset({"position": (("time", "sat", "xyz"), np.concatenate(parts))},
                     coords={"time": tg.utc}, attrs={"frame": "ITRS"})
    inmem = compute.coverage(eph, g, chunk_steps=1, **{k: v for k, v in kw.items()
                                                        if k not in ("start", "duration", "step")})
    for v in streamed.ds.data_vars:
        assert np.array_equal(streamed.ds[v].values, inmem.ds[v].values), v
    blocks = compute.coverage(c, g, chunk_steps=1, scheduler="threads", time_chunk=14, **kw)
    for v in streamed.ds.data_vars:
        assert np.array_equal(streamed.ds[v].values, blocks.ds[v].values), v


def test_coverage_estimate_and_refusal():
    from orbitlat.coverage.compute import estimate
    from orbitlat.scale.resources import Estimate, check_budget

    c = walker.walker_delta(53, 50_000, 100, 1, altitude_km=550)
    e = estimate(c, Grid.equal_area(1.0), start="2026-01-01", duration="1d", step="5min", min_elevation_deg=25.0)
    assert isinstance(e, Estimate) and 0 < e.memory_mb < 4000 and 1 < e.seconds < 600
    # a year at one second on a 0.1° grid: days of work, refused before anything is propagated
    with pytest.raises(OrbitlatError, match=r"refused before starting: coverage .* days.* limit for one machine"):
        ol.coverage.coverage(c, Grid.equal_area(0.25), start="2026-01-01", duration="365d", step="10s",
                             min_elevation_deg=25.0)
    from orbitlat.errors import MemoryEstimateError

    with pytest.raises(MemoryEstimateError, match=r"refused before starting: x, estimated to run 1 s, needs about "
                                                  r"4\.9 GiB of memory, more than the 800\.0 MiB"):
        check_budget(Estimate("x", 5000.0, 1.0), available_bytes=1000 * 2**20)
