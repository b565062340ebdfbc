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
from orbitlat.latency.routing import Delays, Gateways
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
    return as_deployed(starlink, USERS, duration="40 min", step="10 min", paths="all")


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
                n_sat = int(deployed.rtt["satellites_on_path"][k, u])
                if np.isfinite(best):
                    assert got == pytest.approx(best, rel=1e-12), (k, USERS.names[u])
                    assert n_sat == 1
                else:
                    assert got == pytest.approx(float(anyway.rtt_ms[k, u, col[u]]), rel=1e-12)
                    assert n_sat > 1 or not np.isfinite(got)
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
