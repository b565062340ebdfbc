"""orbitlat.orbits.interop: boinor Orbit <-> Constellation, and the boinor propagation backend.

Outside references: boinor itself (its Orbit state vectors, element conversions and
propagators), Skyfield's EarthSatellite (SGP4 state of a real TLE at its epoch, GCRS) and an
independent scipy DOP853 integration of two-body + J2 motion.

boinor compiles its numba kernels the first time they run in a process (~30 s on the
2-core machines); the tests below share that cost with tests/test_kepler_j2.py when run together.
"""
from __future__ import annotations

import sys
import types

import numpy as np
import pytest

pytest.importorskip("boinor", reason="boinor is not installed (pip install orbitlat[poliastro])")

from astropy import units as u  # noqa: E402
from astropy.time import Time  # noqa: E402
from boinor.bodies import Earth, Mars  # noqa: E402
from boinor.twobody import Orbit  # noqa: E402

import orbitlat as ol  # noqa: E402
from orbitlat.constants import J2_EARTH, MU_EARTH_KM3_S2, WGS84_A_KM  # noqa: E402
from orbitlat.errors import OrbitlatError  # noqa: E402
from orbitlat.orbits.interop import from_orbits, propagate_with_boinor, to_orbit  # noqa: E402
from orbitlat.orbits.propagation import propagate  # noqa: E402
from orbitlat.time import TimeGrid  # noqa: E402

from conftest import shared_path  # noqa: E402

EPOCH = Time("2026-03-14T01:59:26.535897", scale="utc")


def _rv(orbit):
    r, v = orbit.rv()
    return r.to_value(u.km), v.to_value(u.km / u.s)


def _orbits_from_vectors():
    """Orbits built by boinor from state vectors, so their elements come from boinor's rv2coe.

    Covers the awkward cases of an element conversion: near-circular, circular equatorial (GEO),
    highly eccentric (Molniya-like), retrograde, polar, and a non-UTC epoch scale.
    """
    specs = [
        # a km, e, i deg, raan, argp, nu, epoch
        (6928.137, 1e-4, 53.0, 10.0, 0.0, 30.0, EPOCH),
        (7028.137, 0.0, 97.99, 270.0, 0.0, -100.0, EPOCH),
        (42164.0, 0.0, 0.0, 0.0, 0.0, 75.0, EPOCH),
        (26600.0, 0.7, 63.4, 300.0, 270.0, 170.0, EPOCH.tdb),
        (8000.0, 0.1, 120.0, 200.0, 45.0, -3.0, EPOCH.tt),
        (7578.137, 0.001, 87.9, 123.4, 321.0, 0.5, Time("2025-07-01T12:00:00", scale="tai")),
    ]
    out = []
    for a, e, i, raan, argp, nu, ep in specs:
        o = Orbit.from_classical(Earth, a * u.km, e * u.one, i * u.deg, raan * u.deg, argp * u.deg, nu * u.deg,
                                 epoch=ep)
        r, v = _rv(o)
        out.append(Orbit.from_vectors(Earth, r * u.km, v * u.km / u.s, epoch=ep))
    return out


def test_boinor_earth_mu_is_orbitlats():
    # boinor's Earth.k (IAU/EGM96 GM) must be orbitlat's MU_EARTH_KM3_S2, else the two-body
    # comparisons below would drift by 1.5*(dmu/mu)*n*t along track. to_orbit builds around it.
    assert Earth.k.to_value(u.km**3 / u.s**2) == pytest.approx(MU_EARTH_KM3_S2, rel=1e-15)
    c = ol.Constellation.from_elements(altitude_km=550, inc_deg=53)
    assert to_orbit(c, 0).attractor.k.to_value(u.km**3 / u.s**2) == pytest.approx(MU_EARTH_KM3_S2, rel=1e-15)


def test_round_trip_reproduces_state_vectors():
    # Orbit -> orbitlat elements -> Orbit.from_classical must give back boinor's own state vectors.
    # Tolerance 1 mm / 1e-9 km/s: the only loss is double-precision rounding through
    # rv2coe -> degrees -> mean anomaly -> Kepler's equation -> coe2rv (measured ~1e-9 km);
    # a wrong anomaly conversion or unit would be off by kilometres.
    orbits = _orbits_from_vectors()
    c = from_orbits(orbits, names=[f"o{k}" for k in range(len(orbits))], name="rt")
    assert c.size == len(orbits) and list(c.table.name) == [f"o{k}" for k in range(len(orbits))]
    assert not c.is_catalog.any()
    for k, o in enumerate(orbits):
        back = to_orbit(c, k)
        r0, v0 = _rv(o)
        r1, v1 = _rv(back)
        assert np.linalg.norm(r1 - r0) < 1e-6, (k, r0, r1)
        assert np.linalg.norm(v1 - v0) < 1e-9, (k, v0, v1)
        # epochs: UTC, to the nanosecond the table stores (any input time scale)
        assert abs((back.epoch - o.epoch).to_value(u.s)) < 1e-6
        assert back.epoch.scale == "utc"
        assert back.plane.name == "EARTH_EQUATOR"
    # orbitlat's columns hold boinor's elements (a, e, i exactly; M from nu by Kepler's equation)
    t = c.table
    np.testing.assert_allclose(t.a_km, [o.a.to_value(u.km) for o in orbits], rtol=1e-14)
    np.testing.assert_allclose(t.inc_deg, [o.inc.to_value(u.deg) for o in orbits], atol=1e-12)
    e, nu = t.ecc.to_numpy(), np.array([o.nu.to_value(u.rad) for o in orbits])
    E = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    np.testing.assert_allclose(np.radians(t.mean_anomaly_deg), np.mod(E - e * np.sin(E), 2 * np.pi), atol=1e-12)


def test_single_orbit_and_constellation_wrappers():
    o = Orbit.circular(Earth, 550 * u.km, inc=53 * u.deg, raan=40 * u.deg, arglat=10 * u.deg, epoch=EPOCH)
    c = from_orbits(o)
    assert c.size == 1
    assert c.table.a_km[0] == pytest.approx(Earth.R.to_value(u.km) + 550, abs=1e-9)  # boinor's R + altitude
    c2 = ol.Constellation.from_boinor([o, o], names=["x", "y"])
    assert c2.size == 2 and list(c2.table.name) == ["x", "y"]
    r0, v0 = _rv(o)
    r1, v1 = _rv(c2.to_boinor(1))
    assert np.linalg.norm(r1 - r0) < 1e-6 and np.linalg.norm(v1 - v0) < 1e-9


def test_duck_typed_poliastro_like_orbit():
    # poliastro and hapsira Orbits expose the same attributes (a, ecc, inc, raan, argp, nu, epoch,
    # attractor); from_orbits must not depend on boinor's class.
    o = _orbits_from_vectors()[3]
    fake_attractor = types.SimpleNamespace(name="Earth")
    like = types.SimpleNamespace(a=o.a, ecc=o.ecc, inc=o.inc, raan=o.raan, argp=o.argp, nu=o.nu, epoch=o.epoch,
                                 attractor=fake_attractor)
    c = from_orbits([like])
    r0, v0 = _rv(o)
    r1, v1 = _rv(to_orbit(c, 0))
    assert np.linalg.norm(r1 - r0) < 1e-6 and np.linalg.norm(v1 - v0) < 1e-9


def test_ecliptic_plane_orbit_is_turned_into_gcrs():
    # boinor can hold an Earth orbit in the EARTH_ECLIPTIC plane; orbitlat's elements are GCRS
    # (EARTH_EQUATOR), so from_orbits converts with boinor's own change_plane and the state
    # vectors must agree with the equatorial original: position to 1 mm (a pure rotation, measured
    # 1e-11 km); velocity to 1e-7 km/s, because astropy transforms velocities between GCRS and its
    # GeocentricMeanEcliptic (ecliptic of date) with finite differences of the time-dependent frame
    # rotation (measured 5e-8 km/s, i.e. the size of precession's 2e-11 rad/s times 7,000 km).
    from boinor.frames import Planes

    o = _orbits_from_vectors()[4]
    ecl = o.change_plane(Planes.EARTH_ECLIPTIC)
    assert abs(ecl.inc.to_value(u.deg) - o.inc.to_value(u.deg)) > 1.0  # really another plane
    back = to_orbit(from_orbits(ecl), 0)
    r0, v0 = _rv(o)
    r1, v1 = _rv(back)
    assert np.linalg.norm(r1 - r0) < 1e-6 and np.linalg.norm(v1 - v0) < 1e-7


def test_tle_satellite_to_orbit_matches_skyfield():
    # For a catalog satellite to_orbit gives the SGP4 state at the TLE epoch in GCRS.
    # Reference: Skyfield's EarthSatellite.at(t) at the same instant. Tolerance 1 mm / 1e-9 km/s:
    # same SGP4 and the same TEME->GCRS matrix; orbitlat's epoch is the TLE epoch rounded to 1 ns
    # (7.7 km/s * 0.5 ns = 4 µm). (Skyfield's own `sat.epoch` Time is ~3e-10 day = 28 µs off the
    # TLE epoch through floating-point day arithmetic, i.e. 0.2 m along track, so the reference is
    # evaluated at the orbit's epoch, spelled out as a UTC calendar date.)
    from skyfield.api import EarthSatellite

    st = ol.Constellation.from_tle(shared_path("tle", "stations_2026-05-30.tle"))
    k = int(np.flatnonzero(st.table.norad_id.to_numpy() == 25544)[0])
    o = to_orbit(st, k)
    ts = ol.time.timescale()
    sat = EarthSatellite(st.table.line1[k], st.table.line2[k], ts=ts)
    y, mo, d, h, mi, sec = o.epoch.utc.ymdhms.tolist()
    ref = sat.at(ts.utc(y, mo, d, h, mi, sec))
    r, v = _rv(o)
    assert np.linalg.norm(r - ref.position.km) < 1e-6
    assert np.linalg.norm(v - ref.velocity.km_per_s) < 1e-9
    assert abs(o.epoch.utc.jd1 - sat.model.jdsatepoch + o.epoch.utc.jd2 - sat.model.jdsatepochF) * 86400 < 1e-6
    # the osculating state is not the SGP4 mean elements: its a differs from the table's mean a by km
    assert abs(o.a.to_value(u.km) - st.table.a_km[k]) > 1.0


def _constellation_two():
    return ol.Constellation.from_elements(
        a_km=[6928.137, 9000.0], ecc=[0.0, 0.15], inc_deg=[53.0, 98.0], raan_deg=[20.0, 250.0],
        argp_deg=[0.0, 80.0], mean_anomaly_deg=[10.0, 200.0], epoch="2026-01-01T03:00:00", name="two")


def test_boinor_backend_returns_the_standard_dataset():
    c = _constellation_two()
    tg = TimeGrid.span("2026-01-01T00:00", "6h", "20min")  # starts 3 h before the epoch
    eph = propagate(c, tg, backend="boinor", frame="ITRS", j2=False)
    assert eph.position.dims == ("time", "sat", "xyz") and eph.position.shape == (19, 2, 3)
    assert eph.velocity.shape == (19, 2, 3)
    assert eph.attrs["backend"] == "boinor" and eph.attrs["frame"] == "ITRS"
    assert eph.position.attrs["units"] == "km" and eph.velocity.attrs["units"] == "km/s"
    assert list(eph.name.values) == list(c.table.name) and (eph.time.values == tg.utc).all()
    assert not eph.failed.any() and np.isfinite(eph.position.values).all()
    # boinor's two-body (Farnocchia) and kepler-j2's two-body are both exact Kepler motion from
    # the same state, so in every frame they agree to rounding (measured 2e-10 km): 1 m / 1 mm/s
    # (the frame rotations are the same TimeGrid matrices on both sides; this checks their use).
    for frame in ("ITRS", "GCRS", "TEME"):
        b = eph if frame == "ITRS" else propagate(c, tg, backend="boinor", frame=frame, j2=False)
        k = propagate(c, tg, backend="kepler-j2", frame=frame, j2=False)
        assert np.abs(b.position.values - k.position.values).max() < 1e-3, frame
        assert np.abs(b.velocity.values - k.velocity.values).max() < 1e-6, frame
    eph_nv = propagate(c, tg, backend="boinor", frame="GCRS", j2=False, velocity=False)
    assert "velocity" not in eph_nv


def _rhs_j2(t, y):
    # two-body + J2 with orbitlat's constants (Vallado eq. 8-30); written here independently of boinor
    x, yy, z = y[0], y[1], y[2]
    r2 = x * x + yy * yy + z * z
    r = np.sqrt(r2)
    k = -MU_EARTH_KM3_S2 / (r2 * r)
    f = 1.5 * J2_EARTH * MU_EARTH_KM3_S2 * WGS84_A_KM**2 / (r2 * r2 * r)
    zz = 5.0 * z * z / r2
    return np.array([y[3], y[4], y[5], k * x + f * x * (zz - 1), k * yy + f * yy * (zz - 1), k * z + f * z * (zz - 3)])


def _integrate(y0, t_s):
    from scipy.integrate import solve_ivp

    out = np.empty((t_s.size, 6))
    for sel in (t_s >= 0, t_s < 0):
        if sel.any():
            end = t_s[sel].max() if t_s[sel][0] >= 0 else t_s[sel].min()
            sol = solve_ivp(_rhs_j2, (0.0, end), y0, method="DOP853", rtol=1e-12, atol=1e-12, dense_output=True)
            out[sel] = sol.sol(t_s[sel]).T
    return out


def test_boinor_j2_backend_matches_independent_integration():
    # boinor's Cowell + J2_perturbation (with orbitlat's J2, R, mu) against scipy DOP853 on the
    # same force model, from the same initial state, 3 h before to 5 h after the epoch (so the
    # backward branch runs too). Tolerance 2 cm / 2e-8 km/s: both integrators run at rtol
    # 1e-11..1e-12 (measured 3e-6 km, 2e-9 km/s), while boinor's own Earth.J2 / Earth.R
    # (1.08263e-3, 6378.1366 km) instead of orbitlat's J2_EARTH / WGS84_A_KM give 0.5 m here.
    c = _constellation_two()
    tg = TimeGrid.span("2026-01-01T00:00", "8h", "30min")
    eph = propagate(c, tg, backend="boinor", frame="GCRS", j2=True)
    t_s = (tg.utc - np.datetime64("2026-01-01T03:00:00", "ns")).astype(np.int64) * 1e-9
    for k in range(c.size):
        r0, v0 = _rv(to_orbit(c, k))
        ref = _integrate(np.concatenate([r0, v0]), t_s)
        dr = np.linalg.norm(eph.position.values[:, k] - ref[:, :3], axis=1)
        dv = np.linalg.norm(eph.velocity.values[:, k] - ref[:, 3:], axis=1)
        assert dr.max() < 2e-5, (k, dr.max())
        assert dv.max() < 2e-8, (k, dv.max())
    # and J2 matters at this span: two-body differs by kilometres
    eph0 = propagate(c, tg, backend="boinor", frame="GCRS", j2=False)
    assert np.abs(eph0.position.values - eph.position.values).max() > 10.0


def test_propagate_with_boinor_tle_satellite_follows_sgp4():
    # Direct calls accept TLE satellites: boinor integrates two-body + J2 from the SGP4 state at the
    # TLE epoch. Reference: SGP4 itself (orbitlat's sgp4 backend, checked against Skyfield in
    # test_propagation). 1.5 h either side of the ISS's epoch the two differ by what J2-only
    # dynamics leave out (drag, J3/J4, SGP4's own approximations): measured 0.2 km; bound 1 km,
    # while a frame or epoch slip would show tens to thousands of km (7.7 km per second of time).
    st = ol.Constellation.from_tle(shared_path("tle", "stations_2026-05-30.tle"))
    iss = st[np.flatnonzero(st.table.norad_id.to_numpy() == 25544)]
    epoch = iss.table.epoch.to_numpy("datetime64[ns]")[0]  # 2026-05-30 12:25:10 UTC
    tg = TimeGrid(np.sort(np.append(TimeGrid.span("2026-05-30T11:00", "3h", "10min").utc, epoch)))
    pos, vel = propagate_with_boinor(iss, tg, "ITRS", True, j2=True)
    ref = propagate(iss, tg, backend="sgp4", frame="ITRS")
    dr = np.linalg.norm(pos[:, 0] - ref.position.values[:, 0], axis=1)
    dv = np.linalg.norm(vel[:, 0] - ref.velocity.values[:, 0], axis=1)
    assert dr.max() < 1.0, dr
    assert dv.max() < 1e-3, dv
    assert dr[tg.utc == epoch][0] < 1e-5  # at the epoch they coincide (same state; epoch to 1 ns)


def test_propagate_with_boinor_at_the_epoch_only():
    c = _constellation_two()
    tg = TimeGrid.at(["2026-01-01T03:00:00"])
    pos, vel = propagate_with_boinor(c, tg, "GCRS", True, j2=True)
    for k in range(c.size):
        r0, v0 = _rv(to_orbit(c, k))
        np.testing.assert_allclose(pos[0, k], r0, atol=1e-9)
        np.testing.assert_allclose(vel[0, k], v0, atol=1e-12)


# ---------------------------------------------------------------------------- bad input
def test_non_earth_attractor_is_refused():
    o = Orbit.from_classical(Mars, 5000 * u.km, 0.01 * u.one, 30 * u.deg, 0 * u.deg, 0 * u.deg, 0 * u.deg,
                             epoch=EPOCH)
    with pytest.raises(OrbitlatError, match="Mars.*Earth"):
        from_orbits(o)


def test_hyperbolic_and_parabolic_orbits_are_refused():
    hyp = Orbit.from_classical(Earth, -12000 * u.km, 1.5 * u.one, 30 * u.deg, 0 * u.deg, 0 * u.deg, 10 * u.deg,
                               epoch=EPOCH)
    with pytest.raises(OrbitlatError, match="hyperbolic.*0 <= ecc < 1"):
        from_orbits([hyp])
    par = Orbit.parabolic(Earth, 10000 * u.km, 30 * u.deg, 0 * u.deg, 0 * u.deg, 10 * u.deg, epoch=EPOCH)
    with pytest.raises(OrbitlatError, match="parabolic"):
        from_orbits(par)


def test_other_bad_inputs():
    o = _orbits_from_vectors()[0]
    with pytest.raises(OrbitlatError, match="Orbit or a sequence"):
        from_orbits("ISS")
    with pytest.raises(OrbitlatError, match="empty"):
        from_orbits([])
    with pytest.raises(OrbitlatError, match="orbit 1 is a int"):
        from_orbits([o, 3])
    with pytest.raises(OrbitlatError, match="names has 1 entries for 2 orbits"):
        from_orbits([o, o], names=["a"])
    low = Orbit.from_classical(Earth, 6500 * u.km, 0.1 * u.one, 30 * u.deg, 0 * u.deg, 0 * u.deg, 0 * u.deg,
                               epoch=EPOCH)
    with pytest.raises(OrbitlatError, match="perigee"):
        from_orbits(low)
    c = from_orbits(o)
    with pytest.raises(OrbitlatError, match="out of range"):
        to_orbit(c, 5)
    with pytest.raises(OrbitlatError, match="integer"):
        to_orbit(c, "0")
    with pytest.raises(OrbitlatError, match="Constellation"):
        to_orbit(o, 0)
    with pytest.raises(OrbitlatError, match="frame"):
        propagate_with_boinor(c, TimeGrid.at("2026-01-01"), "ECEF", True)


def test_missing_boinor_says_how_to_install(monkeypatch):
    c = ol.Constellation.from_elements(altitude_km=550, inc_deg=53)
    for mod in ("boinor", "boinor.bodies", "boinor.twobody"):
        monkeypatch.setitem(sys.modules, mod, None)  # makes `import boinor...` raise ImportError
    with pytest.raises(OrbitlatError, match=r"pip install orbitlat\[poliastro\]"):
        to_orbit(c, 0)
    with pytest.raises(OrbitlatError, match="pip install boinor"):
        propagate(c, start="2026-01-01", duration="1h", step="10min", backend="boinor")
