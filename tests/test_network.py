"""Network model: +Grid and nearest-k ISLs, line of sight, orbital data-centre links, per-step graphs."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from orbitlat.orbits import presets, walker
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.time import TimeGrid
from orbitlat.latency.network import Network, line_of_sight, max_isl_length_km, nearest_k_links, odc_links, orbit_normals, plus_grid


def _hypatia_plus_grid(n_orbits: int, n_per: int, shift: int) -> set[tuple[int, int]]:
    """Hypatia's satgenpy generate_plus_grid_isls, transcribed (the reference implementation)."""
    out = set()
    for i in range(n_orbits):
        for j in range(n_per):
            sat = i * n_per + j
            same = i * n_per + ((j + 1) % n_per)
            adj = ((i + 1) % n_orbits) * n_per + ((j + shift) % n_per)
            out.add((min(sat, same), max(sat, same)))
            out.add((min(sat, adj), max(sat, adj)))
    return out


@pytest.mark.parametrize("planes,per_plane,shift", [(72, 22, 0), (34, 34, 0), (27, 13, 1), (5, 4, 2)])
def test_plus_grid_matches_hypatia_generator(planes, per_plane, shift):
    # Walker builders order satellites plane-major like Hypatia's TLE files, so the index pairs
    # must be identical to Hypatia's own generator: 2·P·S links, every satellite of degree 4.
    c = walker.walker_delta(53, planes * per_plane, planes, 1, altitude_km=550)
    pairs = plus_grid(c, shift=shift)
    assert {tuple(p) for p in pairs.tolist()} == _hypatia_plus_grid(planes, per_plane, shift)
    assert len(pairs) == 2 * planes * per_plane
    assert np.all(np.bincount(pairs.ravel(), minlength=c.size) == 4)


def test_plus_grid_drops_the_seam_of_a_walker_star():
    # Iridium (6 planes x 11, planes 31.6° apart over ~180°): planes 0 and 5 counter-rotate, so the
    # wrap-around links between them cross the seam: 11 of the 2·66 links go.
    c = presets.get("iridium")
    n = orbit_normals(c.table["inc_deg"], c.table["raan_deg"])
    p0 = np.flatnonzero(c.table["plane"] == 0)[0]
    p5 = np.flatnonzero(c.table["plane"] == 5)[0]
    assert n[p0] @ n[p5] < 0  # counter-rotating (angle between orbit normals > 90°)
    kept = plus_grid(c)
    assert len(kept) == 2 * 66 - 11
    planes = c.table["plane"].to_numpy()
    assert not np.any((planes[kept[:, 0]] == 0) & (planes[kept[:, 1]] == 5))
    assert len(plus_grid(c, drop_seam=False)) == 2 * 66
    # a Walker delta has no counter-rotating neighbours: nothing is dropped
    assert len(plus_grid(walker.walker_delta(53, 1584, 72, 1, altitude_km=550))) == 3168


def test_plus_grid_irregular_planes_links_rings_and_nearest_neighbours():
    # catalogue-like shell: planes with unequal sizes -> in-plane rings in slot order and one link
    # per satellite to the next plane's satellite nearest in argument of latitude.
    c = walker.walker_delta(53, 60, 6, 1, altitude_km=550)
    keep = np.ones(c.size, bool)
    keep[[3, 17, 18]] = False
    sub = c[keep]
    pairs = plus_grid(sub)
    t = sub.table
    deg = np.bincount(pairs.ravel(), minlength=sub.size)
    assert deg.min() >= 3 and len(pairs) >= sub.size  # ring (2) + at least one inter-plane link
    u = np.mod(t["argp_deg"] + t["mean_anomaly_deg"], 360).to_numpy()
    pl = t["plane"].to_numpy()
    n_inter = 0
    for a, b in pairs:
        if pl[a] != pl[b]:
            src, dst = (a, b) if (pl[a] + 1) % 6 == pl[b] else (b, a)
            cand = np.flatnonzero(pl == pl[dst])
            du = np.abs((u[src] - u[cand] + 180) % 360 - 180)
            assert abs((u[src] - u[dst] + 180) % 360 - 180) == pytest.approx(du.min(), abs=1e-9)
            n_inter += 1
    assert n_inter == sub.size  # one link from every satellite to the next plane (all distinct here)


def test_line_of_sight_is_hypatias_isl_limit():
    # Two satellites at altitude h whose chord has length L: the chord's midpoint is at
    # sqrt((R+h)² − (L/2)²) from the centre, so it grazes R+80 km exactly at L = 2·sqrt((R+h)²−(R+80)²).
    h = 550.0
    L = float(max_isl_length_km(h))
    r = WGS84_A_KM + h
    half = np.arcsin(L / 2 / r)
    for eps, expect in ((-1e-3, True), (1e-3, False)):
        ang = half * (1 + eps * 1e-3)
        a = np.array([r * np.cos(ang), r * np.sin(ang), 0.0])
        b = np.array([r * np.cos(ang), -r * np.sin(ang), 0.0])
        assert bool(line_of_sight(a, b)) is (eps < 0) is expect
    # the segment test uses the closest point, not the midpoint: an end point inside the grazing
    # sphere is blocked even when the other is high up
    assert not line_of_sight([WGS84_A_KM + 50, 0, 0], [WGS84_A_KM + 2000, 0, 0])
    assert line_of_sight([WGS84_A_KM + 100, 0, 0], [WGS84_A_KM + 2000, 0, 0])


def test_line_of_sight_agrees_with_visibility_module():
    # orbitlat.visibility.isl_line_of_sight (written alongside) implements the same segment test
    vis = pytest.importorskip("orbitlat.visibility")
    if not hasattr(vis, "isl_line_of_sight"):
        pytest.skip("orbitlat.visibility.isl_line_of_sight is not there yet")
    rng = np.random.default_rng(7)
    v = rng.normal(size=(2, 5000, 3))
    p = v / np.linalg.norm(v, axis=2)[..., None] * (WGS84_A_KM + rng.uniform(300, 2000, (2, 5000)))[..., None]
    assert np.array_equal(line_of_sight(p[0], p[1]), vis.isl_line_of_sight(p[0], p[1]))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=5))
def test_nearest_k_matches_brute_force(seed, k):
    # brute force over all pairs: each satellite's k nearest within range; the union of choices;
    # then the line-of-sight filter.
    rng = np.random.default_rng(seed)
    n = 40
    v = rng.normal(size=(n, 3))
    xyz = v / np.linalg.norm(v, axis=1)[:, None] * (WGS84_A_KM + rng.uniform(400, 1500, n))[:, None]
    rmax = 4000.0
    got = {tuple(p) for p in nearest_k_links(xyz, k, max_range_km=rmax).tolist()}
    d = np.linalg.norm(xyz[:, None] - xyz[None], axis=2)
    np.fill_diagonal(d, np.inf)
    exp = set()
    for i in range(n):
        order = np.argsort(d[i])[:k]
        for j in order:
            if d[i, j] <= rmax and line_of_sight(xyz[i], xyz[j]):
                exp.add((min(i, j), max(i, j)))
    assert got == exp


def test_odc_links_brute_force_and_max_links():
    rng = np.random.default_rng(1)
    sat = rng.normal(size=(300, 3))
    sat = sat / np.linalg.norm(sat, axis=1)[:, None] * (WGS84_A_KM + 550)
    odc = np.array([[WGS84_A_KM + 650, 0, 0]])
    o, s, d = odc_links(odc, sat, max_range_km=3000.0)
    dist = np.linalg.norm(sat - odc[0], axis=1)
    exp = np.flatnonzero((dist <= 3000) & line_of_sight(np.broadcast_to(odc[0], sat.shape), sat))
    assert np.array_equal(np.sort(s), exp)
    np.testing.assert_allclose(d, np.linalg.norm(sat[s] - odc[0], axis=1), rtol=1e-12)
    o3, s3, d3 = odc_links(odc, sat, max_range_km=3000.0, max_links=3)
    assert len(s3) == 3 and np.array_equal(np.sort(d3), np.sort(dist[exp])[:3])


def test_network_step_links_and_lengths():
    c = walker.walker_delta(53, 1584, 72, 1, altitude_km=550)
    net = Network(c)
    tg_, sat, odc = next(net.positions(TimeGrid.at(["2026-01-01T00:00"])))
    st_ = net.step(sat[0], odc[0])
    assert st_.n_core == 1584 and len(st_.link_a) == 3168  # all +Grid links clear 80 km at 550 km
    np.testing.assert_allclose(st_.link_km, np.linalg.norm(sat[0][st_.link_a] - sat[0][st_.link_b], axis=1))
    more = st_.add_links([0, 5], [700, 6])
    assert more.may_repeat and len(more.link_a) == 3170
    np.testing.assert_allclose(more.link_km[-2:], np.linalg.norm(sat[0][[0, 5]] - sat[0][[700, 6]], axis=1))
    with pytest.raises(OrbitlatError, match="core indices"):
        st_.add_links([0], [99999])
    # a laser range cap drops exactly the links longer than it
    capped = Network(c, isl_max_km=1000.0).step(sat[0])
    assert len(capped.link_a) == int((st_.link_km <= 1000.0).sum())


def test_network_rejects_bad_input():
    c = walker.walker_delta(53, 24, 3, 1, altitude_km=550)
    with pytest.raises(OrbitlatError, match="isl="):
        Network(c, isl="mesh")
    with pytest.raises(OrbitlatError, match="gsl_max_range_km"):
        Network(c, gsl_rule="range")
    with pytest.raises(OrbitlatError, match="Constellation"):
        Network("starlink")
    with pytest.raises(OrbitlatError, match="index satellites"):
        Network(c, isl=np.array([[0, 99]]))
    with pytest.raises(OrbitlatError, match="k="):
        nearest_k_links(np.zeros((3, 3)), 0)


def test_catalog_without_planes_needs_inference(shared_data):
    from orbitlat import Constellation

    c = Constellation.from_tle(shared_data / "tle" / "iridium-next_2026-05-30.tle")
    try:
        import orbitlat.orbits.inference
    except ImportError:
        with pytest.raises(OrbitlatError, match="inference"):
            plus_grid(c)
    else:
        # satellites outside every inferred plane get no ISLs, and the user is told (never silently)
        with pytest.warns(UserWarning, match="no inferred plane"):
            pairs = plus_grid(c)
        inferred = orbitlat.orbits.inference.infer_shells(c).table
        stray = np.flatnonzero(inferred["plane"].to_numpy() < 0)
        assert not np.isin(pairs.ravel(), stray).any()
        # each labelled satellite has its in-plane ring neighbours (planes of >= 3) plus inter-plane links
        assert len(pairs) >= c.size - stray.size


# ---------------------------------------------------------------------------
# ISLs you can trust: who carries lasers, refusal over OneWeb, the range rule, detours
# ---------------------------------------------------------------------------
def test_presets_say_whether_their_satellites_carry_isls():
    # docs/references.md, "Inter-satellite links by operator": OneWeb's first generation is a bent
    # pipe (SpaceNews 2018); Starlink (SPIE 2024), Kuiper (Amazon, Dec 2023) and Telesat (filing) use
    # lasers; Iridium radio crosslinks (Fossa et al. 1998)
    want = {"oneweb": "none", "starlink_gen1": "laser", "kuiper": "laser", "telesat": "laser", "iridium": "rf",
            "suncatcher": "laser", "gps": "none", "galileo": "none"}
    for name, kind in want.items():
        c = presets.get(name)
        assert c.attrs["isl"] == kind and c.attrs["isl_source"], name
        assert set(c.table["has_isl"]) == {0.0 if kind == "none" else 1.0}, name
        assert "Inter-satellite links" in presets.info(name)
    eph = presets.get("oneweb").propagate(TimeGrid.at(["2026-01-01T00:00"]))
    assert float(eph["has_isl"].max()) == 0.0  # rides along as a per-satellite coordinate
    mixed = presets.get("oneweb") + presets.get("iridium")
    assert mixed.attrs["isl"] == "mixed" and mixed.attrs["isl_satellites"] == 66


def test_isl_routing_over_a_constellation_without_isls_is_refused_unless_forced():
    from orbitlat import latency
    from orbitlat.ground import GroundSites

    ow = presets.get("oneweb")
    for isl in ("plus_grid", "nearest_k", np.array([[0, 1]])):
        with pytest.raises(OrbitlatError, match="no inter-satellite links.*isl='none'.*force_isl=True"):
            Network(ow, isl=isl)
    Network(ow, isl="none")  # a bent pipe is what OneWeb is
    users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
    kw = dict(duration="10 min", step="10 min", overhead="none")
    with pytest.raises(OrbitlatError, match="no inter-satellite links"):
        latency.city_pairs(ow, users, **kw)
    with pytest.raises(OrbitlatError, match="no inter-satellite links"):
        latency.via_isl(ow, users, **kw)
    r = latency.city_pairs(ow, users, network_options={"force_isl": True}, **kw)  # a what-if study
    assert np.isfinite(r.rtt_ms.sel(src="London", dst="New York")).all()


def test_starlink_catalog_v10_satellites_get_no_lasers(shared_data):
    # Starlink v1.0 (Group 1 launches, international designators up to 2021-044) carry no laser
    # terminals: in the 2026-05-30 catalog 14 (2019) + 260 (2020) + 442 (2021-005..044) = 716
    # satellites. They keep their radio links to the ground but get no ISL and no data-centre laser.
    from orbitlat import Constellation

    c = Constellation.from_tle(shared_data / "tle" / "starlink_2026-05-30.tle")
    no = np.flatnonzero(c.table["has_isl"].to_numpy() == 0.0)
    assert no.size == 716 and c.attrs["isl"] == "mixed" and c.attrs["isl_satellites"] == c.size - 716
    years = c.table["line1"].str[9:11].astype(int).to_numpy()
    assert set(years[no]) == {19, 20, 21} and (years[c.table["has_isl"].to_numpy() == 1.0] >= 21).all()
    with pytest.warns(UserWarning, match="no inferred plane"):
        net = Network(c)
    assert not np.isin(net.isl_pairs, no).any()
    _, sat, _ = next(net.positions(TimeGrid.at([c.table["epoch"].max()])))
    st_ = net.step(sat[0])
    assert st_.link_km.max() <= 5400.0 and not np.isin(np.r_[st_.link_a, st_.link_b], no).any()


def test_inferred_plus_grid_on_the_real_oneweb_catalog_obeys_the_range_rule(shared_data):
    # OneWeb (1,200 km) from TLEs: shell inference pairs some satellites across the globe (raw +Grid
    # pairs up to ~15,000 km apart). Each step keeps only links that clear the 80 km grazing altitude
    # AND are at most 5,400 km long (the longest Starlink laser links, SPIE 2024: the default range
    # rule); with the range rule off, line of sight alone allows links up to 2·sqrt((R+h)² − (R+80)²)
    # (~7,900 km at 1,200 km, Hypatia's limit; docs/references.md).
    from orbitlat import Constellation
    from orbitlat.latency.network import DEFAULT_ISL_MAX_KM

    c = Constellation.from_tle(shared_data / "tle" / "oneweb_2026-05-30.tle")
    with pytest.warns(UserWarning, match="no inferred plane"):
        net = Network(c, force_isl=True)
        los_only = Network(c, force_isl=True, isl_max_km=None)
    times = TimeGrid.span(c.table["epoch"].max(), "3 h", "30 min")
    raw_max, kept_max, los_max, dropped = 0.0, 0.0, 0.0, 0
    for tg, sat, _ in net.positions(times):
        for j in range(len(tg)):
            x = sat[j]
            p = net.isl_pairs
            raw_max = max(raw_max, float(np.nanmax(np.linalg.norm(x[p[:, 0]] - x[p[:, 1]], axis=1))))
            st_ = net.step(x)
            assert (st_.link_km <= DEFAULT_ISL_MAX_KM).all()
            assert line_of_sight(x[st_.link_a], x[st_.link_b]).all()
            kept_max, dropped = max(kept_max, st_.link_km.max()), dropped + st_.isl_dropped
            los_max = max(los_max, los_only.step(x).link_km.max())
    r_max = float(np.linalg.norm(sat, axis=-1).max())
    assert raw_max > 12000.0  # the inferred topology does hold absurd pairs...
    assert dropped > 0 and kept_max <= DEFAULT_ISL_MAX_KM  # ...which the rule removes, counted
    assert DEFAULT_ISL_MAX_KM < los_max <= max_isl_length_km(r_max - WGS84_A_KM) + 1e-6


def test_preset_plus_grids_lose_no_link_to_the_range_rule():
    # the designed presets' +Grid links are all far shorter than 5,400 km, so the default rule changes nothing
    for name in ("starlink_gen1", "kuiper", "telesat", "iridium"):
        c = presets.get(name)
        net = Network(c)
        _, sat, _ = next(net.positions(TimeGrid.at(["2026-01-01T00:00"])))
        assert net.step(sat[0]).isl_dropped == 0, name


def test_routes_far_longer_than_their_geodesic_warn_and_suggest_nearest_k():
    # A broken topology: the only ISLs form one chain the long way round, London -> Rio -> Cape Horn
    # -> 60°S 150°E -> Tokyo (a satellite every ~2,000 km, each link within line of sight and range).
    # London -> Tokyo (9,560 km, vacuum bound 63.8 ms) must follow it: several times the bound. The
    # detour rule (> 3x the bound for pairs >= 3,000 km apart) flags both directions and suggests nearest_k.
    import warnings

    from orbitlat import latency
    from orbitlat.ground import GroundSites
    from orbitlat.ground.geodesy import geodetic_to_itrs
    from orbitlat.latency.assembly import detours

    c = presets.get("starlink_gen1")
    t = TimeGrid.at(["2026-01-01T00:00"])
    _, sat, _ = next(Network(c).positions(t))
    u = sat[0] / np.linalg.norm(sat[0], axis=1)[:, None]
    way = [(51.5, -0.13), (-22.9, -43.2), (-56.0, -67.3), (-60.0, 150.0), (35.7, 139.7)]
    chain = []
    for (la1, lo1), (la2, lo2) in zip(way[:-1], way[1:]):
        a, b = (geodetic_to_itrs(la, lo, 0.0) for la, lo in ((la1, lo1), (la2, lo2)))
        a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
        om = np.arccos(a @ b)
        for f in np.linspace(0, 1, max(2, int(np.degrees(om) / 18) + 1)):
            p = (np.sin((1 - f) * om) * a + np.sin(f * om) * b) / np.sin(om)
            chain.append(int(np.argmax(u @ p)))  # the satellite nearest that point
    chain = list(dict.fromkeys(chain))
    pairs = np.array(list(zip(chain[:-1], chain[1:])))
    users = GroundSites(["London", "Tokyo"], [51.5074, 35.6895], [-0.1278, 139.6917])
    with pytest.warns(UserWarning, match="nearest_k"):
        r = latency.route(Network(c, isl=pairs), users, None, times=t, paths=None)
    d = detours(r.rtt)
    assert len(d) == 2 and r.rtt.attrs["detour_pairs"] == 2 and (d["ratio"] > 3.3).all()  # 3.5x here
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the full +Grid routes sanely: no warning
        ok = latency.route(Network(c), users, None, times=t, paths=None)
    assert ok.rtt.attrs["detour_pairs"] == 0 and float(ok.rtt_ms.max()) < 1.5 * 63.8
