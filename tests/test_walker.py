"""Walker, sun-synchronous and cluster builders against docs/references.md figures."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.orbits.sso import raan_for_ltan_deg, sso_inclination_deg, sun_synchronous
from orbitlat.orbits.walker import walker_delta, walker_star


def test_galileo_spacing():
    # Galileo is Walker 24/3/1 at 23,222 km, 56°: 45° in-plane spacing, 15° inter-plane phase,
    # planes 120° apart (docs/references.md).
    c = walker_delta(56, 24, 3, 1, altitude_km=23222)
    t = c.table
    assert sorted(set(t.raan_deg.round(9))) == [0.0, 120.0, 240.0]
    for p in range(3):
        u = np.sort(t[t.plane == p].mean_anomaly_deg.to_numpy())
        np.testing.assert_allclose(np.diff(u), 45.0, atol=1e-12)
        assert u[0] == pytest.approx(15.0 * p)
    np.testing.assert_allclose(t.a_km, 6378.137 + 23222.0)
    np.testing.assert_allclose(t.inc_deg, 56.0)


def test_raan0_rotates_pattern_rigidly():
    # A non-zero RAAN0 rotates the whole pattern about the pole without changing the relative
    # phasing: positions of the shifted constellation equal the rotated positions of the original.
    a = walker_delta(53, 60, 12, 5, altitude_km=550)
    b = walker_delta(53, 60, 12, 5, altitude_km=550, raan0_deg=37.0)
    np.testing.assert_allclose(np.mod(b.table.raan_deg - a.table.raan_deg, 360), 37.0, atol=1e-9)
    np.testing.assert_array_equal(a.table.mean_anomaly_deg, b.table.mean_anomaly_deg)
    ea = a.propagate(start="2026-01-01", duration="1h", step="20min", frame="GCRS", backend="kepler-j2")
    eb = b.propagate(start="2026-01-01", duration="1h", step="20min", frame="GCRS", backend="kepler-j2")
    th = np.radians(37.0)
    Rz = np.array([[np.cos(th), -np.sin(th), 0], [np.sin(th), np.cos(th), 0], [0, 0, 1]])
    np.testing.assert_allclose(np.einsum("ij,tsj->tsi", Rz, ea.position.to_numpy()), eb.position.to_numpy(),
                               atol=1e-6)


def test_walker_star_spreads_planes_over_180():
    c = walker_star(86.4, 66, 6, 3, altitude_km=780)
    assert sorted(set(c.table.raan_deg.round(9))) == [0.0, 30.0, 60.0, 90.0, 120.0, 150.0]
    iri = ol.presets.get("iridium")
    assert sorted(set(iri.table.raan_deg.round(6))) == pytest.approx([0, 31.6, 63.2, 94.8, 126.4, 158.0])


@pytest.mark.parametrize("alt, inc", [(500, 97.40), (600, 97.79), (650, 97.99), (700, 98.19), (800, 98.60),
                                      (1000, 99.48)])
def test_sso_inclination(alt, inc):
    # docs/references.md sun-synchronous inclinations, within 0.01° (their rounding is 0.01°).
    assert sso_inclination_deg(alt) == pytest.approx(inc, abs=0.01)


def test_sso_too_high():
    with pytest.raises(OrbitlatError, match="no sun-synchronous orbit exists"):
        sso_inclination_deg(7000)


def test_dawn_dusk_node_is_at_18h():
    # the ascending node of a dawn–dusk orbit is 90° east of the mean Sun (6 h of local time)
    ep = "2026-03-20T12:00"
    c = sun_synchronous(650, ltan_hours=18.0, epoch=ep)
    ra_sun = ol.sso.mean_sun_ra_deg(ep)
    assert np.mod(c.table.raan_deg[0] - ra_sun, 360) == pytest.approx(90.0, abs=1e-9)
    assert raan_for_ltan_deg(12.0, ep) == pytest.approx(ra_sun)
    # the mean Sun's RA (Astronomical Almanac) at the 2026 March equinox: the true Sun is at RA 0°
    # (equinox 2026-03-20 14:46 UTC); equation of time = α_mean − α_true ≈ −7.5 min = −1.9° then
    assert np.mod(ra_sun + 180, 360) - 180 == pytest.approx(-1.9, abs=0.3)


@pytest.mark.parametrize("args, match", [
    ((53, 100, 7, 1), "P=7 planes does not divide T=100"),
    ((53, 100, 10, 10), r"phasing F=10 is out of range; valid is 0 <= F < P=10"),
    ((190, 100, 10, 1), "inclination 190 deg is out of range; valid is 0 to 180 deg"),
])
def test_walker_bad_arguments(args, match):
    with pytest.raises(OrbitlatError, match=match):
        walker_delta(*args, altitude_km=550)


def test_negative_altitude():
    with pytest.raises(OrbitlatError, match="altitude_km=-10 must be > 0"):
        walker_delta(53, 10, 2, 1, altitude_km=-10)


@settings(max_examples=40, deadline=None)
@given(P=st.integers(1, 20), S=st.integers(1, 20), data=st.data())
def test_walker_pattern_properties(P, S, data):
    F = data.draw(st.integers(0, P - 1))
    c = walker_delta(55, P * S, P, F, altitude_km=1000)
    t = c.table
    assert len(t) == P * S and t.plane.nunique() == P
    # every plane has S equally spaced satellites
    for p in range(P):
        u = np.sort(t[t.plane == p].mean_anomaly_deg.to_numpy())
        gaps = np.diff(np.concatenate([u, [u[0] + 360]]))
        np.testing.assert_allclose(gaps, 360.0 / S, atol=1e-9)


def test_from_elements_with_quantities():
    import astropy.units as u

    c = ol.Constellation.from_elements(a_km=[7000, 8000] * u.km, ecc=0.01, inc_deg=0.9 * u.rad,
                                       true_anomaly_deg=[0, 90] * u.deg)
    assert c.table.inc_deg[0] == pytest.approx(np.degrees(0.9))
    # true anomaly 90° at e = 0.01 -> mean anomaly 90° - 2e (first order) = 88.854°
    assert c.table.mean_anomaly_deg[1] == pytest.approx(88.854, abs=1e-3)
    with pytest.raises(OrbitlatError, match="perigee altitude"):
        ol.Constellation.from_elements(a_km=6000, inc_deg=10)
    with pytest.raises(OrbitlatError, match="exactly one of a_km= or altitude_km="):
        ol.Constellation.from_elements(inc_deg=10)


def test_suncatcher_cluster_stays_within_radius():
    # 81 satellites within about 1 km of the reference orbit (Google Suncatcher, 2025), for a day,
    # in a 650 km dawn–dusk SSO. The design bound is 0.943 km (cluster.py) at first order; allow 1.0 km.
    c = ol.presets.get("suncatcher")
    assert c.size == 81
    assert c.table.inc_deg.iloc[0] == pytest.approx(97.99, abs=0.01)
    ref = ol.sso.sun_synchronous(650, ltan_hours=18.0)
    eph = c.propagate(start="2026-01-01", duration="1d", step="5min", frame="GCRS", backend="kepler-j2")
    chief = ref.propagate(start="2026-01-01", duration="1d", step="5min", frame="GCRS", backend="kepler-j2")
    d = np.linalg.norm(eph.position.to_numpy() - chief.position.to_numpy(), axis=-1)
    assert d.max() < 1.0
    # members never collide: minimum pairwise distance stays above 50 m
    p = eph.position.to_numpy()
    dd = np.linalg.norm(p[:, :, None, :] - p[:, None, :, :], axis=-1)
    dd[:, np.arange(81), np.arange(81)] = np.inf
    assert dd.min() > 0.05
