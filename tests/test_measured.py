"""Satellite paths as they are measured: the as-deployed Starlink path (gateway-visible satellite
first, ISLs otherwise, PoP assignment), the named overheads and their calibration on published
Starlink figures (docs/references.md, "Satellite access overhead")."""
from __future__ import annotations

import numpy as np
import pytest

from orbitlat import latency
from orbitlat.constants import C_KM_S
from orbitlat.errors import OrbitlatError
from orbitlat.ground import GroundSites
from orbitlat.latency.network import Network
from orbitlat.latency.routing import Gateways
from orbitlat.latency.scenarios import as_deployed, assign_pops, dish_to_pop_by_country
from orbitlat.latency.terrestrial.simple import FiberModel, great_circle_km
from orbitlat.time import TimeGrid
from orbitlat.visibility.engine import SiteIndex, visible_pairs

# users near dense gateways, far from any (mid-Pacific: Tarawa, Honolulu), and in between
USERS = GroundSites(["Dallas", "Lagos", "Tarawa", "Honolulu", "Madrid", "Jakarta", "Perth"],
                    [32.7767, 6.4541, 1.4518, 21.3069, 40.4168, -6.2146, -31.9505],
                    [-96.7970, 3.3947, 172.9717, -157.8583, -3.7038, 106.8451, 115.8605])


@pytest.fixture(scope="module")
def starlink():
    from orbitlat.orbits import presets

    return presets.get("starlink_gen1")


@pytest.fixture(scope="module")
def deployed(starlink):
    # the simple terrestrial model (closed form) for the gateway -> PoP legs, so the brute force below is independent
    return as_deployed(starlink, USERS, duration="40 min", step="10 min", paths="all", overhead="none",
                       terrestrial="simple")


def test_as_deployed_takes_a_gateway_visible_satellite_when_one_exists_else_isls(starlink, deployed):
    # Brute force per step and user, from the satellites' positions: if any satellite the user sees
    # (25° mask) also sees a gateway (25°), the path is that bent pipe with the least delay,
    # 2 (up + down)/c + 2 backhaul(gateway -> PoP) exactly (rtol 1e-12: summation order); otherwise
    # the path crosses ISLs and equals the plain shortest path (Dijkstra over +Grid).
    gw = GroundSites.gateways(unique_locations=True).with_mask(25.0)
    pops = GroundSites.pops()
    pop_idx, _ = assign_pops(USERS, pops)
    bk = FiberModel(overhead_ms=0.0)
    net = Network(starlink)
    times = TimeGrid.at(deployed.rtt["time"].to_numpy())
    ui, gi = SiteIndex.from_sites(USERS.with_mask(25.0)), SiteIndex.from_sites(gw)
    ms = 1000.0 / C_KM_S
    back = bk.one_way_ms(great_circle_km(gw.lat_deg[:, None], gw.lon_deg[:, None], pops.lat_deg[None, pop_idx],
                                         pops.lon_deg[None, pop_idx]))  # (gateway, user)
    isl_users = set()
    paths = deployed.paths.set_index(["time", "src"])["path"]
    k = 0
    # the same run with ISLs anywhere (shortest path): what the ISL fallback must equal
    anyway = latency.route(net, USERS, pops.subset(np.unique(pop_idx)), times=times, paths=None,
                           gateways=Gateways(gw, backhaul=bk), min_elevation_deg=25.0)
    col = np.searchsorted(np.unique(pop_idx), pop_idx)
    for tg, sat, _ in net.positions(times):
        for j in range(len(tg)):
            vu, vg = visible_pairs(ui, sat[j]), visible_pairs(gi, sat[j])
            for u in range(len(USERS)):
                su = vu.sat[vu.site == u]
                up = vu.range_km[vu.site == u]
                best = np.inf
                for s, r_up in zip(su, up):
                    m = vg.sat == s
                    if m.any():
                        best = min(best, (2 * (r_up + vg.range_km[m]) * ms + 2 * back[vg.site[m], u]).min())
                got = float(deployed.rtt["pop_rtt_ms"][k, u])
                isl_used = bool(deployed.rtt["isl_used"][k, u])
                t_k = deployed.rtt["time"].to_numpy()[k]
                path = paths.loc[(t_k, USERS.names[u])] if (t_k, USERS.names[u]) in paths.index else None
                if np.isfinite(best):
                    assert got == pytest.approx(best, rel=1e-12), (k, USERS.names[u])
                    assert not isl_used and len(path) == 4 and path[1] < starlink.size  # user, sat, gateway, PoP
                else:
                    assert got == pytest.approx(float(anyway.rtt_ms[k, u, col[u]]), rel=1e-12)
                    assert isl_used == np.isfinite(got)
                    if np.isfinite(got):  # two or more satellites: the ISLs
                        assert sum(1 for x in path if x < starlink.size) >= 2
                    isl_users.add(USERS.names[u])
            k += 1
    assert "Tarawa" in isl_users and "Dallas" not in isl_users  # both branches were exercised
    # the as-operated rule can cost delay: never less than the shortest path, sometimes more
    fb = deployed.rtt["pop_rtt_ms"].to_numpy()
    sp = anyway.rtt_ms.to_numpy()[:, np.arange(len(USERS)), col]
    ok = np.isfinite(fb)
    assert np.all(fb[ok] >= sp[ok] - 1e-9) and np.any(fb[ok] > sp[ok] + 0.1)


def test_as_deployed_reports_dish_to_pop_and_dish_to_destination(deployed):
    ds = deployed.rtt
    # dish -> destination = dish -> PoP + the PoP -> destination terrestrial round trip, exactly
    np.testing.assert_allclose(ds["rtt_ms"].to_numpy(),
                               ds["pop_rtt_ms"].to_numpy()[:, :, None] + ds["pop_leg_ms"].to_numpy()[None], rtol=1e-12)
    stargate = GroundSites.datacenter("stargate")
    pops = GroundSites.pops()
    dallas = pops.df["code"].tolist().index("DFW/DAL")
    assert ds["pop"].sel(src="Dallas").item() == pops.names[dallas]
    km = great_circle_km(pops.lat_deg[dallas], pops.lon_deg[dallas], stargate.lat_deg[0], stargate.lon_deg[0])
    assert float(ds["pop_leg_ms"].sel(src="Dallas")[0]) == pytest.approx(2 * FiberModel(overhead_ms=0).one_way_ms(km))
    assert ds.attrs["scenario"] == "as deployed" and ds["pop_rtt_ms"].attrs["delays_included"] == "propagation"
    assert ds.attrs["terrestrial_model"] == "simple"
    # the operator's figure is only the dish -> PoP part: never more than the dish -> destination RTT
    assert bool((ds["pop_rtt_ms"] <= ds["rtt_ms"].isel(dst=0)).where(np.isfinite(ds["pop_rtt_ms"]), True).all())
    t = dish_to_pop_by_country(deployed)
    assert {"US", "NG", "KI"} <= set(t.index) and t.loc["KI", "isl_share"] == 1.0 and t.loc["US", "isl_share"] == 0.0


def test_pop_assignment_by_country_table(starlink):
    pops = GroundSites.pops()
    idx, by = assign_pops(USERS, pops, {"ES": "LON/LHR - LNDNGBR1", "NG": "FRA", "KI": 8})
    codes = pops.df["code"].to_numpy()[idx]
    assert codes[USERS.names.tolist().index("Madrid")] == "LON/LHR"
    assert codes[USERS.names.tolist().index("Lagos")] == "FRA"
    assert codes[USERS.names.tolist().index("Tarawa")] == "SYD"
    assert codes[USERS.names.tolist().index("Dallas")] == "DFW/DAL" and by.sum() == 3  # others: nearest
    with pytest.raises(OrbitlatError, match="is not a PoP"):
        assign_pops(USERS, pops, {"ES": "Atlantis"})
    with pytest.raises(OrbitlatError, match="nearest"):
        assign_pops(USERS, pops, "closest")
    r = as_deployed(starlink, USERS.subset([1]), pop_assignment={"NG": "FRA"}, duration="10 min", step="10 min")
    assert r.rtt["pop"].item().startswith("FRA") and bool(r.rtt["pop_by_country"].item())


def test_isl_fallback_needs_gateways_and_the_best_choice(starlink):
    net = Network(starlink)
    with pytest.raises(OrbitlatError, match="fallback"):
        latency.route(net, USERS, GroundSites.pops().subset([0]), duration="10 min", step="10 min",
                      gateways=Gateways(GroundSites.gateways(), isl="fallback", choice=0))
    with pytest.raises(OrbitlatError, match="isl="):
        Gateways(GroundSites.gateways(), isl="sometimes")


# ---------------------------------------------------------------------------
# named overheads: defaults in every satellite scenario, exact on fixed paths
# ---------------------------------------------------------------------------
def test_calibrated_overhead_is_the_default_and_adds_exactly_per_user_terminal(starlink):
    # Per-endpoint delays keep every path's cost order, so the same paths win and each RTT rises by
    # exactly access_ms per user terminal on the path (rtol 1e-12: summation order only): one for a
    # user -> data centre (terrestrial or orbital) path, two for a city pair.
    from orbitlat.latency.overhead import ACCESS_MS

    users = USERS.subset([0, 4])  # Dallas, Madrid
    gws = GroundSites.gateways(unique_locations=True)
    kw = dict(duration="20 min", step="10 min")
    runs = {"bent pipe": lambda **o: latency.bent_pipe(starlink, users, gateways=gws, **kw, **o),
            "ISL": lambda **o: latency.via_isl(starlink, users, **kw, **o),
            "orbital DC": lambda **o: latency.orbital_datacenter(starlink, users, **kw, **o),
            "city pairs": lambda **o: latency.city_pairs(starlink, users, **kw, **o),
            "as deployed": lambda **o: as_deployed(starlink, users, **kw, **o)}
    for name, run in runs.items():
        cal, none = run(), run(overhead="none")
        n_term = 2 if name == "city pairs" else 1
        np.testing.assert_allclose(cal.rtt_ms.to_numpy(), none.rtt_ms.to_numpy() + n_term * ACCESS_MS, rtol=1e-12,
                                   err_msg=name)
        assert cal.rtt.attrs["overhead"] == "calibrated" and "25.7" in cal.rtt.attrs["overhead_source"], name
        assert cal.rtt.rtt_ms.attrs["delays_included"] == "propagation, access", name
        assert none.rtt.attrs["overhead"] == "none" and none.rtt.rtt_ms.attrs["delays_included"] == "propagation"
        if name == "orbital DC":
            d0, d1 = none.rtt["direct_rtt_ms"].to_numpy(), cal.rtt["direct_rtt_ms"].to_numpy()
            np.testing.assert_allclose(d1, d0 + ACCESS_MS, rtol=1e-12)
        if name == "as deployed":
            np.testing.assert_allclose(cal.rtt["pop_rtt_ms"], none.rtt["pop_rtt_ms"] + ACCESS_MS, rtol=1e-12)
    # explicit delays override the named set field by field; options= keep their own delays
    r = latency.city_pairs(starlink, users, access_ms=5.0, **kw)
    np.testing.assert_allclose(r.rtt_ms.to_numpy(), runs["city pairs"](overhead="none").rtt_ms.to_numpy() + 10.0,
                               rtol=1e-12)
    assert r.rtt.attrs["overhead"] == "custom"
    with pytest.raises(OrbitlatError, match="overhead='medium' is not known"):
        latency.city_pairs(starlink, users, overhead="medium", **kw)


def test_high_overhead_charges_each_isl_hop(starlink):
    # "high": the March 2024 access residual per terminal, plus 1 ms per ISL hop (round trip). On the
    # paths of the propagation-only run the high RTT is at most old + 2 access + hops x 1 ms, and at
    # least old + 2 access + 1 ms (London - New York, 5,570 km, needs at least one space link).
    from orbitlat.latency.overhead import ACCESS_MS_HIGH, ISL_HOP_MS_HIGH

    users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
    kw = dict(duration="20 min", step="10 min", paths="all")
    r0 = latency.city_pairs(starlink, users, overhead="none", **kw)
    rh = latency.city_pairs(starlink, users, overhead="high", **kw)
    old = r0.paths.set_index(["time", "src", "dst"])
    new = rh.paths.set_index(["time", "src", "dst"])
    base = old["rtt_ms"] + 2 * ACCESS_MS_HIGH
    assert (new["rtt_ms"] <= base + ISL_HOP_MS_HIGH * (old["hops"] - 2) + 1e-9).all()
    assert (new["rtt_ms"] >= base + ISL_HOP_MS_HIGH - 1e-9).all()
    assert rh.rtt.rtt_ms.attrs["delays_included"] == "propagation, access, ISL hop"


def test_crossover_compares_like_for_like(starlink):
    # with the satellite access overhead, the straight fiber carries the terrestrial model's fitted
    # fixed overhead (8.38 ms, RIPE Atlas) for its own access networks; without, neither side does
    dist = np.array([2000.0, 6000.0])
    t_none, _ = latency.crossover(starlink, distances_km=dist, duration="10 min", step="10 min", overhead="none")
    t_cal, _ = latency.crossover(starlink, distances_km=dist, duration="10 min", step="10 min")
    assert t_none.attrs["fiber_overhead_ms"] == 0.0 and t_cal.attrs["fiber_overhead_ms"] == pytest.approx(8.38)
    np.testing.assert_allclose(t_cal["fiber_ms"] - t_none["fiber_ms"], 8.38)
    from orbitlat.latency.overhead import ACCESS_MS

    # two user terminals; the same paths win, so every sample and its median shift by 2 x access
    np.testing.assert_allclose(t_cal["isl_p50_ms"] - t_none["isl_p50_ms"], 2 * ACCESS_MS, rtol=1e-9)
    assert t_cal.attrs["overhead"] == "calibrated" and t_cal.attrs["delays_included"] == "propagation, access"


# ---------------------------------------------------------------------------
# the calibration, re-derived
# ---------------------------------------------------------------------------
def test_access_overhead_is_re_derived_from_starlinks_published_median():
    # Starlink's US median peak-hour latency was 25.7 ms in June 2025, measured dish -> PoP ("from
    # your Starlink router to the internet and back"; docs/references.md, "Satellite access
    # overhead"). Modelled here: the same path at Starlink's gateways and PoPs for the people of the
    # US, propagation only. The default constant (8.81 ms geometry, access 16.9 ms) comes from the
    # canonical run (1° cells, 24 h every 10 min: calibrate() with its defaults, 37 s); this coarser
    # run (3° cells, 6 h every 15 min) lands within 0.3 ms of it: 0.06 ms measured, the time and
    # space sampling error.
    from orbitlat.latency import overhead as oh

    cal = oh.calibrate(resolution_deg=3.0, duration="6 h", step="15 min")
    assert cal["modelled_median_ms"] == pytest.approx(oh.MODELLED_US_MEDIAN_MS, abs=0.3)
    assert cal["access_ms"] == pytest.approx(oh.ACCESS_MS, abs=0.3)
    assert oh.ACCESS_MS == pytest.approx(25.7 - oh.MODELLED_US_MEDIAN_MS, abs=0.05)
    assert oh.ACCESS_MS_HIGH == pytest.approx(33.0 - oh.MODELLED_US_MEDIAN_MS, abs=0.05)
    # physics: no dish -> satellite -> gateway round trip beats 4 x 540 km / c (both at the zenith of
    # the lowest shell); the US is served by bent pipes (ISLs under 1 % of user-time) and always reachable
    assert cal["modelled_median_ms"] > 4 * 540.0 / C_KM_S * 1000 and cal["isl_share"] < 0.01
    assert cal["reachable"] == pytest.approx(1.0)
    # closing the loop: with the calibrated overhead the modelled US median is the published figure
    res = as_deployed("starlink_gen1", oh.us_users(3.0), start="2026-01-01", duration="6 h", step="15 min")
    from orbitlat.latency.results import weighted_quantile

    x = res.rtt["pop_rtt_ms"].to_numpy()
    p50 = float(weighted_quantile(x, np.broadcast_to(res._weights()[None], x.shape), 0.5))
    assert p50 == pytest.approx(25.7, abs=0.3)


def test_calibration_on_the_real_starlink_catalog_stays_within_two_ms(shared_data):
    # The same fit on the 2026-05-30 catalog (10,395 satellites, more and lower than the Gen1 preset):
    # the geometry shrinks to about 7.0 ms and the residual grows to about 18.7 ms. The defaults use
    # the preset (offline, what the report models); the real network moves the access figure by < 2.5 ms.
    from orbitlat import Constellation
    from orbitlat.latency import overhead as oh

    c = Constellation.from_tle(shared_data / "tle" / "starlink_2026-05-30.tle")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # stray satellites outside every inferred plane
        cal = oh.calibrate(constellation=c, start="2026-05-30T00:00", resolution_deg=3.0, duration="2 h",
                           step="20 min")
    assert 5.5 < cal["modelled_median_ms"] < oh.MODELLED_US_MEDIAN_MS
    assert abs(cal["access_ms"] - oh.ACCESS_MS) < 2.5
