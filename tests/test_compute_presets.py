"""Orbital data-centre (compute) presets: counts and geometry match their filings (docs/references.md,
"Orbital data-centre proposals"), every assumption is stated, and they stay apart from broadband presets."""
from __future__ import annotations

import numpy as np
import pytest

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.orbits import presets
from orbitlat.orbits.propagation import kepler_j2_rates
from orbitlat.orbits.sso import sso_inclination_deg, sun_synchronous_stack
from orbitlat.constants import SSO_RAAN_RATE_RAD_S

# Totals as the sources state them (docs/references.md, "Orbital data-centre proposals"):
SOURCE_TOTALS = {
    "spacex_odc": 1_000_000,     # FCC Public Notice DA 26-113: "up to one million satellites"
    "starcloud": 88_000,         # SAT-LOA-20260202-00073: "up to 88,000 satellites"
    "blue_origin_sunrise": 51_600,  # SAT-LOA-20260319-00032 (SpaceNews): "up to 51,600"
    "three_body": 12,            # 12 launched on 14 May 2025 (Long March 2D, Jiuquan)
    "three_body_planned": 2_800,  # "Star-Compute": 2,400 inference + 400 training
    "suncatcher": 81,            # Suncatcher preprint: an 81-satellite cluster
    "starlink_v3_compute": 3 * 28 * 120,  # Gen2 application: 28 planes x 120 in each of 3 shells
}


def test_compute_presets_are_a_kind_of_their_own():
    comp = set(presets.names(kind="compute"))
    assert comp == set(SOURCE_TOTALS)
    assert not comp & set(presets.names(kind="broadband"))
    assert set(presets.names()) == comp | set(presets.names(kind="broadband")) | set(presets.names(kind="navigation"))
    assert {"gps", "galileo"} == set(presets.names(kind="navigation"))
    with pytest.raises(OrbitlatError, match="valid kinds are broadband, navigation, compute"):
        presets.names(kind="military")


@pytest.mark.parametrize("name", list(SOURCE_TOTALS))
def test_counts_match_sources_without_building(name):
    assert presets.satellite_count(name) == SOURCE_TOTALS[name]
    t = presets.table(kind="compute").set_index("preset")
    assert t.loc[name, "satellites"] == SOURCE_TOTALS[name]
    d = presets.definition(name)
    # every compute preset cites its source, says what was verified and states its assumptions
    assert d["source"] and d["verification"] and d["notes"]
    # and what links its satellites carry (lasers) and whether users reach them directly, with a source
    assert d["isl"]["kind"] == "laser" and d["isl"]["source"] and d["user_links"]["source"]
    if name in ("spacex_odc", "starcloud", "blue_origin_sunrise"):  # the filings route users through relays
        assert d["user_links"]["direct"] is False
    assert "Verification:" in presets.info(name) and "Notes:" in presets.info(name)


@pytest.mark.parametrize("name", [n for n in SOURCE_TOTALS if SOURCE_TOTALS[n] < 100_000])
def test_built_presets_have_the_source_counts(name):
    c = presets.get(name)
    assert c.size == SOURCE_TOTALS[name]
    assert c.attrs["kind"] == "compute" and c.attrs["compute"] in ("all", "cluster")
    assert c.table.norad_id.is_unique


def test_starcloud_and_sunrise_geometry_within_their_filings():
    sc = presets.get("starcloud").table
    alt = sc.a_km - 6378.137
    assert alt.min() >= 600 - 1e-9 and alt.max() <= 850 + 1e-9  # 600-850 km
    # sun-synchronous at every altitude (J2 nodal rate = 360°/tropical year, docs/references.md)
    rd, _, _ = kepler_j2_rates(sc.a_km.to_numpy(), sc.ecc.to_numpy(), np.radians(sc.inc_deg.to_numpy()))
    np.testing.assert_allclose(rd, SSO_RAAN_RATE_RAD_S, rtol=1e-9)
    bo = presets.get("blue_origin_sunrise")
    t = bo.table
    alt = t.a_km - 6378.137
    assert alt.min() >= 500 - 1e-9 and alt.max() <= 1800 + 1e-9  # SSO 500-1,800 km
    assert 97.0 <= t.inc_deg.min() and t.inc_deg.max() <= 104.0  # reported 97-104°
    per_plane = t.groupby("plane").size()
    assert per_plane.between(300, 1000).all()  # 300-1,000 satellites per plane
    gaps = np.diff(np.sort(alt.groupby(t.plane).first().to_numpy()))
    assert gaps.min() >= 5 - 1e-9 and gaps.max() <= 10 + 1e-9  # planes 5-10 km apart in altitude


def test_starlink_v3_compute_is_the_gen2_authorised_shells():
    s = presets.get("starlink_v3_compute").shells
    # FCC 22-91: 525 km / 53°, 530 km / 43°, 535 km / 33°
    assert sorted(zip(s.altitude_km.round(6), s.inc_deg)) == [(525.0, 53.0), (530.0, 43.0), (535.0, 33.0)]
    assert (s["count"] == 28 * 120).all() and (s.planes == 28).all()


def test_three_body_planned_split():
    c = presets.get("three_body_planned")
    # 400 training + 2,400 inference satellites, all at 500-1,000 km (state media)
    by = c.table.groupby(c.table.shell.str.contains("train")).size()
    assert by[True] == 400 and by[False] == 2400
    alt = c.table.a_km - 6378.137
    assert alt.min() >= 500 - 1e-9 and alt.max() <= 1000 + 15 + 1e-9  # training stack 1,000-1,015 km (assumed)


@pytest.mark.slow
def test_spacex_odc_million_built_as_filed():
    c = presets.get("spacex_odc")
    assert c.size == 1_000_000 and c.table.norad_id.is_unique
    t = c.table
    alt = t.a_km - 6378.137
    assert alt.min() >= 500 - 1e-9 and alt.max() <= 2000 + 1e-9  # 500-2,000 km
    sso = t.inc_deg > 90
    assert set(np.unique(t.inc_deg[~sso].round(9))) == {30.0}  # 30° and sun-synchronous inclinations
    np.testing.assert_allclose(t.inc_deg[sso], sso_inclination_deg(alt[sso]), atol=1e-9)
    span = alt.groupby(t.shell).agg(["min", "max"])
    assert ((span["max"] - span["min"]) <= 50).all()  # shells spanning up to 50 km each
    assert int(sso.sum()) == 500_000 and c.shells["count"].eq(50_000).all()


def test_sun_synchronous_stack_planes_share_the_node():
    c = sun_synchronous_stack([600, 610, 620], 8, ltan_hours=18.0)
    t = c.table
    assert c.size == 24 and c.planes == 3
    assert np.ptp(t.raan_deg) == 0  # one node local time: one RAAN at the epoch
    np.testing.assert_allclose(t.groupby("plane").inc_deg.first(), sso_inclination_deg([600, 610, 620]))
    # the planes interleave: slot spacing 45°, plane j shifted by j/3 of a slot
    assert t.loc[t.plane == 1, "mean_anomaly_deg"].iloc[0] == pytest.approx(15.0)
    with pytest.raises(OrbitlatError, match="repeats an altitude"):
        sun_synchronous_stack([600, 600], 4)


def test_presets_listing_in_the_api():
    assert "spacex_odc" in ol.presets.names(kind="compute")
