"""Shell, plane and slot inference (orbitlat.orbits.inference).

Checked against the outside world:
- Walker patterns (Walker 1984; docs/references.md: plane j at RAAN0 + 360°·j/P, slot k at
  u = 360°·k/S + 360°·F·j/T) written out as TLEs and read back must be recovered exactly,
  also with per-satellite epochs days apart (J2 secular rates, Vallado eq. 9-41);
- the common-epoch RAAN and argument of latitude of real TLEs against python-sgp4's own
  propagation of the same TLEs to that epoch;
- the real Starlink, Iridium, OneWeb and GPS catalogs in ../shared/data/tle against the public
  filings quoted in docs/references.md (Starlink Gen1 72 planes at 53.2°, 36 at 70°; Iridium 6 planes
  about 31.6° apart; OneWeb 12 planes; GPS 6 planes).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orbitlat.orbits import presets, walker
from orbitlat.orbits import tle as io
from orbitlat.constants import WGS84_A_KM
from orbitlat.orbits.constellation import Constellation, mean_motion_rev_day
from orbitlat.errors import OrbitlatError
from orbitlat.orbits.inference import TRANSIT, UNASSIGNED, angles_at_epoch, infer_shells, shell_summary
from orbitlat.orbits.propagation import kepler_j2_rates

from conftest import SHARED_DATA as DATA  # noqa: E402  (../shared/data or $ORBITLAT_SHARED_DATA)


def _tle_path(name: str) -> Path:
    p = DATA / "tle" / name
    if not p.exists():
        pytest.skip(f"reference catalog {p} is absent (it lives in ../shared/data beside the checkout)")
    return p


# ------------------------------------------------------------------------------------ helpers
def _records(t: pd.DataFrame, n_rev: np.ndarray, epoch, raan, argp, ma) -> str:
    """3LE text for the rows of a designed table (catalog numbers 10000 + row)."""
    df = pd.DataFrame({
        "name": t["name"].to_numpy(), "norad_id": 10000 + np.arange(len(t)), "epoch": epoch,
        "mean_motion_rev_day": n_rev, "ecc": t["ecc"].to_numpy(), "inc_deg": t["inc_deg"].to_numpy(),
        "raan_deg": np.mod(raan, 360.0), "argp_deg": np.mod(argp, 360.0), "mean_anomaly_deg": np.mod(ma, 360.0),
    })
    return io.write_tle(io.make_tle_records(df))


def to_catalog(c: Constellation, offsets_days: np.ndarray | None = None) -> Constellation:
    """Write a designed constellation as TLEs and read it back as a catalog.

    With ``offsets_days`` each satellite's elements are first carried to its own epoch
    (design epoch + offset) with the J2 secular rates, consistently with how the catalog
    will be read: the rates use the semi-major axis SGP4 recovers from the written mean
    motion (and the written, rounded inclination), so the satellites still fly the same pattern.
    """
    t = c.table
    n_rev = mean_motion_rev_day(t["a_km"].to_numpy())  # as Constellation.tle_table does
    raan, argp, ma = (t[k].to_numpy() for k in ("raan_deg", "argp_deg", "mean_anomaly_deg"))
    epoch = t["epoch"].to_numpy()
    if offsets_days is not None:
        # the catalog's own a, i, e for each distinct (n, i, e): one written TLE per combination
        combo = pd.DataFrame({"n": n_rev, "i": t["inc_deg"].to_numpy(), "e": t["ecc"].to_numpy()})
        first = ~combo.duplicated().to_numpy()
        rows = np.flatnonzero(first)
        probe = Constellation.from_tle(_records(t.iloc[rows], n_rev[rows], epoch[rows], raan[rows], argp[rows],
                                                ma[rows])).table
        which = combo.merge(combo.iloc[rows].assign(k=np.arange(rows.size)), how="left")["k"].to_numpy()
        a_km, inc, ecc = (probe[k].to_numpy()[which] for k in ("a_km", "inc_deg", "ecc"))
        rd, ad, md = kepler_j2_rates(a_km, ecc, np.radians(inc))
        dt = np.asarray(offsets_days, float) * 86400.0
        epoch = epoch + (dt * 1e9).astype("timedelta64[ns]")
        raan, argp, ma = raan + np.degrees(rd * dt), argp + np.degrees(ad * dt), ma + np.degrees(md * dt)
    return Constellation.from_tle(_records(t, n_rev, epoch, raan, argp, ma), name=c.name)


def assert_same_structure(design: Constellation, inferred: Constellation) -> None:
    """Same partition into planes and the same cyclic slot order in every plane (up to relabelling)."""
    d, g = design.table, inferred.table
    assert len(d) == len(g)
    assert (g["plane"] >= 0).all() and (g["slot"] >= 0).all(), "every designed satellite is in a shell"
    true_key = d["shell"].astype(str) + "|" + d["plane"].astype(str)
    got_key = g["shell"].astype(str) + "|" + g["plane"].astype(str)
    pairs = pd.DataFrame({"t": true_key.to_numpy(), "g": got_key.to_numpy()}).drop_duplicates()
    assert pairs["t"].is_unique and pairs["g"].is_unique, "planes are split or merged"
    for key, idx in pd.Series(np.arange(len(d))).groupby(true_key.to_numpy()):
        idx = idx.to_numpy()
        s = len(idx)
        shift = np.mod(g["slot"].to_numpy()[idx] - d["slot"].to_numpy()[idx], s)
        assert np.unique(shift).size == 1, f"plane {key}: slot order is not a rotation of the design's"
        assert sorted(g["slot"].to_numpy()[idx]) == list(range(s))


# ------------------------------------------------------------------------------------ designed
@pytest.mark.parametrize("inc, T, P, F, alt", [(53, 1584, 72, 1, 550), (60, 24, 6, 1, 1200)])
def test_walker_round_trip_through_tle_is_exact(inc, T, P, F, alt):
    # Starlink Gen1 filing's 550/53 shell (72 x 22, REFERENCES) and a small 60:24/6/1 pattern.
    c = walker.walker_delta(inc, T, P, F, altitude_km=alt, raan0_deg=17.0)
    cat = to_catalog(c)
    got = infer_shells(cat)
    assert got.attrs["inference_shells"] == 1
    assert got.attrs["inference_transit"] == 0 and got.attrs["inference_unassigned"] == 0
    assert_same_structure(c, got)
    s = shell_summary(got)
    assert s.loc[0, "walker_guess"] == f"{inc}:{T}/{P}/{F}"
    assert s.loc[0, "n_planes"] == P and s.loc[0, "sats_per_plane"] == T // P
    # plane spacing 360/P; TLE angles carry 1e-4 deg
    assert s.loc[0, "raan_spacing_deg"] == pytest.approx(360.0 / P, abs=1e-3)


def test_walker_with_catalog_epochs_days_apart():
    # Satellites of 53:1584/72/1 whose TLE epochs are up to ±2 days apart: their raw RAANs
    # smear by up to 2 x 2 days x 4.5 deg/day across a plane, far more than the 5 deg plane
    # spacing, so only the J2 common-epoch step can recover the planes.
    c = walker.walker_delta(53, 1584, 72, 1, altitude_km=550)
    off = np.random.default_rng(7).uniform(-2, 2, c.size)
    cat = to_catalog(c, off)
    raw = cat.table["raan_deg"].to_numpy()
    spread = pd.Series(raw).groupby(c.table["plane"].to_numpy()).agg(lambda x: np.ptp(x))
    assert spread.min() > 360.0 / 72, "the test needs raw RAANs that do not cluster by plane"
    got = infer_shells(cat)
    assert_same_structure(c, got)
    assert shell_summary(got).loc[0, "walker_guess"] == "53:1584/72/1"


@pytest.mark.parametrize("name, n_shells", [("kuiper", 3), ("iridium", 1), ("galileo", 1),
                                            ("starlink_gen1", 4)])
def test_presets_round_trip(name, n_shells):
    # Kuiper: three shells 34x34, 36x36, 28x28 (FCC 20-102); Iridium: Walker star 6 x 11 with a
    # seam; Galileo 24/3/1. Starlink Gen1's two 560 km / 97.6 deg groups share altitude and
    # inclination, so they are one shell by (inclination, altitude) alone: 5 designed shells -> 4.
    c = presets.get(name)
    got = infer_shells(to_catalog(c))
    assert got.attrs["inference_shells"] == n_shells
    assert_same_structure(c, got)
    # designed elements (no TLE) give the same answer
    assert_same_structure(c, infer_shells(c))
    s = shell_summary(got)
    if name == "kuiper":
        assert s["walker_guess"].tolist() == ["33:784/28/1", "42:1296/36/1", "51.9:1156/34/1"]
    if name == "iridium":
        # a Walker star is not a Walker delta: no guess, and the reason says so
        assert s.loc[0, "walker_guess"] == "" and "360" in s.loc[0, "walker_note"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(P=st.integers(3, 30), S=st.integers(3, 30), data=st.data(),
       inc=st.floats(30, 99), alt=st.floats(400, 1500), raan0=st.floats(0, 360, exclude_max=True),
       seed=st.integers(0, 2**32 - 1))
def test_walker_property_recovered_with_and_without_epoch_offsets(P, S, data, inc, alt, raan0, seed):
    F = data.draw(st.integers(0, P - 1), label="F")
    T = P * S
    c = walker.walker_delta(inc, T, P, F, altitude_km=alt, raan0_deg=raan0)
    for off in (None, np.random.default_rng(seed).uniform(-2, 2, T)):
        got = infer_shells(to_catalog(c, off))
        assert got.attrs["inference_shells"] == 1
        assert_same_structure(c, got)
        guess = shell_summary(got).loc[0, "walker_guess"]
        assert guess.endswith(f":{T}/{P}/{F}"), guess


def test_noisy_planes_straddling_zero_raan():
    # Real planes are not exact: in the Starlink catalog, at the common epoch, satellites of one
    # plane spread up to ~0.4 deg in RAAN, a layer is ~1 km thick and inclinations scatter ~0.01 deg.
    # Jitter a 53:792/36/1 shell by that much, with plane 0 centred on RAAN 0 so that it straddles
    # 0/360 deg: the wrap-around plane must stay one plane and the slot order must survive
    # (in-plane spacing 16.4 deg >> 1 deg of phase jitter).
    c = walker.walker_delta(53, 792, 36, 1, altitude_km=550, raan0_deg=0.0)
    rng = np.random.default_rng(11)
    t = c.table.copy()
    n = len(t)
    t["raan_deg"] = np.mod(t["raan_deg"] + rng.uniform(-0.4, 0.4, n), 360.0)
    t["mean_anomaly_deg"] = np.mod(t["mean_anomaly_deg"] + rng.uniform(-1, 1, n), 360.0)
    t["a_km"] += rng.uniform(-0.5, 0.5, n)
    t["inc_deg"] += rng.normal(0, 0.01, n)
    noisy = Constellation(t, name="noisy")
    assert ((t["plane"] == 0) & (t["raan_deg"] > 180)).any() and ((t["plane"] == 0) & (t["raan_deg"] < 180)).any()
    got = infer_shells(noisy)
    assert got.attrs["inference_shells"] == 1 and got.attrs["inference_transit"] == 0
    assert_same_structure(c, got)


def test_transit_and_stray_satellites_do_not_pollute_the_shell():
    # A 53:1584/72/1 shell plus 40 satellites spread from 280 to 520 km at 53 deg (raising
    # orbit: 'transit') and 10 at 97.6 deg, 300-600 km (no shell there: 'unassigned').
    shell = walker.walker_delta(53, 1584, 72, 1, altitude_km=550)
    rng = np.random.default_rng(3)
    raising = Constellation.from_elements(altitude_km=rng.uniform(280, 520, 40),
                                          inc_deg=53.0 + rng.normal(0, .01, 40), raan_deg=rng.uniform(0, 360, 40),
                                          mean_anomaly_deg=rng.uniform(0, 360, 40))
    stray = Constellation.from_elements(altitude_km=rng.uniform(300, 600, 10), inc_deg=97.6,
                                        raan_deg=rng.uniform(0, 360, 10))
    c = Constellation.concat([shell, raising, stray])
    got = infer_shells(c)
    labels = got.table["shell"].to_numpy()
    assert (labels[:1584] == "550/53.0").all()
    assert (labels[1584:1624] == TRANSIT).all() and (labels[1624:] == UNASSIGNED).all()
    assert got.attrs["inference_transit"] == 40 and got.attrs["inference_unassigned"] == 10
    assert (got.table["plane"].to_numpy()[1584:] == -1).all() and (got.table["slot"].to_numpy()[1584:] == -1).all()
    assert_same_structure(shell, got[np.arange(1584)])
    s = shell_summary(got)
    assert s["count"].sum() == c.size  # nothing lost: transit/unassigned have their own rows
    assert s["kind"].tolist() == ["shell", "transit", "unassigned"]


def test_angles_at_epoch_sun_synchronous_rate():
    # docs/references.md: a sun-synchronous orbit at 700 km has i = 98.19 deg and its node advances
    # 360/365.2422 = 0.98565 deg/day. Over 10 days: 9.8565 deg. Tolerance 0.02 deg: the reference
    # inclination is rounded to 0.01 deg, worth 6e-4 of the rate (0.006 deg in 10 days), plus the
    # J2-only model (J4 and higher terms change the rate by ~1e-3 relative).
    c = Constellation.from_elements(altitude_km=700.0, inc_deg=98.19, raan_deg=10.0, epoch="2026-01-01")
    a = angles_at_epoch(c, "2026-01-11")
    assert a["raan_deg"].iloc[0] - 10.0 == pytest.approx(9.8565, abs=0.02)
    assert a["dt_days"].iloc[0] == pytest.approx(10.0)


# ------------------------------------------------------------------------------------ real catalogs
@pytest.fixture(scope="module")
def starlink():
    cat = Constellation.from_tle(_tle_path("starlink_2026-05-30.tle"))
    return cat, infer_shells(cat)


def _sgp4_angles(cat: Constellation, epoch) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Osculating RAAN and argument of latitude (deg) from python-sgp4 at one epoch (TEME)."""
    from sgp4.api import Satrec, SatrecArray, jday

    sats = SatrecArray([Satrec.twoline2rv(a, b) for a, b in zip(cat.table.line1, cat.table.line2)])
    ts = pd.Timestamp(epoch)
    jd, fr = jday(ts.year, ts.month, ts.day, ts.hour, ts.minute, ts.second + ts.microsecond * 1e-6)
    err, r, v = sats.sgp4(np.array([jd]), np.array([fr]))
    r, v = r[:, 0], v[:, 0]
    h = np.cross(r, v)
    raan = np.degrees(np.arctan2(h[:, 0], -h[:, 1]))
    node = np.stack([-h[:, 1], h[:, 0], np.zeros(len(h))], axis=1)
    node /= np.linalg.norm(node, axis=1)[:, None]
    rn = np.linalg.norm(r, axis=1)
    cosu = (node * r).sum(1) / rn
    sinu = (np.cross(node, r) * h).sum(1) / (rn * np.linalg.norm(h, axis=1))
    return np.mod(raan, 360), np.mod(np.degrees(np.arctan2(sinu, cosu)), 360), err[:, 0] == 0


def test_common_epoch_angles_match_sgp4(starlink):
    # Reference: python-sgp4 propagating each real TLE (epochs 2.4 days apart) to the common
    # epoch. Tolerances: our angles are mean elements, sgp4's osculating, so they differ by J2
    # short-period terms, ~J2 (R/a)^2 ~ 1e-3 rad = 0.06 deg (measured: RAAN max 0.05 deg, u median
    # 0.06 deg, max 0.29 deg). Without the ndot/2 dt^2 term u would be off by up to 1.8 deg for
    # the low, dragged satellites; without the J2 rates RAAN by up to 10 deg.
    cat, _ = starlink
    a = angles_at_epoch(cat)
    raan, u, ok = _sgp4_angles(cat, pd.Timestamp(a.attrs["epoch"]))
    assert ok.sum() > 0.99 * cat.size
    d_raan = np.abs((a["raan_deg"].to_numpy() - raan + 180) % 360 - 180)[ok]
    d_u = np.abs((a["arglat_deg"].to_numpy() - u + 180) % 360 - 180)[ok]
    assert d_raan.max() < 0.1
    assert np.median(d_u) < 0.1 and d_u.max() < 0.4
    assert np.abs(a["dt_days"]).max() > 1.0  # the catalog's epochs really are days apart


def _group(s: pd.DataFrame, lo: float, hi: float) -> pd.DataFrame:
    return s[(s["kind"] == "shell") & (s["inc_deg"] >= lo) & (s["inc_deg"] < hi)]


def test_starlink_catalog_shells_and_planes(starlink):
    cat, got = starlink
    s = shell_summary(got)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print("\nStarlink 2026-05-30 (10,395 TLEs), inferred shells:\n",
              s.drop(columns=["walker_note"]).round(2).to_string())
    assert s["count"].sum() == cat.size
    t = cat.table
    alt = t["a_km"].to_numpy() - WGS84_A_KM
    inc = t["inc_deg"].to_numpy()
    # Inclination groups: the catalog's inclinations leave empty gaps 43.02-53.01, 53.23-69.96 and
    # 70.01-97.28 deg, so these bounds cut no group. Raw group sizes: 3636, 4940, 710, 1109.
    for (lo, hi), raw in zip([(42.9, 43.1), (53.0, 53.3), (69.9, 70.1), (97.2, 97.7)], [3636, 4940, 710, 1109]):
        assert ((inc >= lo) & (inc < hi)).sum() == raw
        g = _group(s, lo, hi)
        assert len(g) >= 1, f"no shell near {lo}-{hi} deg"
        # most of each group flies in its shells; the rest are raising, lowering or deorbiting
        # (the 97 deg group has launch batches parked at 325-415 km: 22 % of it)
        assert 0.7 * raw <= g["count"].sum() <= raw
    assert 0.03 * cat.size < (s.loc[s["kind"] != "shell", "count"].sum()) < 0.15 * cat.size

    # Independent count of the Gen1 540/53.2 shell: satellites within 0.03 deg and 3 km of the
    # histogram peak (the layer is 1 km thick: 539.5-540.5 km). The inferred shell must hold them.
    s540 = s[(s["inc_deg"].sub(53.2).abs() < 0.03) & (s["altitude_km"].sub(540).abs() < 3)]
    assert len(s540) == 1
    direct = ((np.abs(inc - 53.2) < 0.03) & (np.abs(alt - 540) < 3)).sum()
    assert abs(int(s540["count"].iloc[0]) - direct) <= 0.01 * direct
    # FCC Gen1 filing: 72 planes at 540/53.2. The catalog at the common epoch shows 72 RAAN gaps of
    # 3.9-5.0 deg and no other gap above 0.44 deg: exactly 72 planes, 5.0 deg apart.
    assert int(s540["n_planes"].iloc[0]) == 72
    assert s540["raan_spacing_deg"].iloc[0] == pytest.approx(5.0, abs=0.05)
    # Gen1 570/70: 36 planes 10 deg apart filed; two plane slots are empty in this catalog (two
    # 19.7 deg gaps), so 34 occupied planes.
    s70 = _group(s, 69.9, 70.1)
    assert len(s70) == 1 and 34 <= int(s70["n_planes"].iloc[0]) <= 36
    assert s70["raan_spacing_deg"].iloc[0] == pytest.approx(10.0, abs=0.1)
    # The 53.16 deg Gen2 shell flies three altitude layers (463, 471, 475 km, each ~1 km thick)
    # 4-8 km apart: one shell, as OneWeb's planes staggered 4 km apart are one shell.
    s53 = s[(s["inc_deg"].sub(53.16).abs() < 0.02) & (s["altitude_km"].between(460, 480))]
    assert len(s53) == 1 and 2500 < int(s53["count"].iloc[0]) < 2900
    # Planes are tight in RAAN at the common epoch: measured median width 0.67 deg, 90th
    # percentile 1.17 deg, max 4.6 deg (in the 53.16 deg shell, whose layers are being rearranged),
    # against plane spacings of 3.6 deg and more in every shell.
    a = angles_at_epoch(got)
    inside = got.table["plane"].to_numpy() >= 0
    key = got.table["shell"].to_numpy()[inside] + "|" + got.table["plane"].astype(str).to_numpy()[inside]
    r = pd.Series(a["raan_deg"].to_numpy()[inside])
    width = r.groupby(key).agg(lambda x: np.ptp(np.mod(x - x.iloc[0] + 180, 360)))
    assert np.median(width) < 1.0 and np.quantile(width, 0.9) < 1.5 and width.max() < 6.0


def test_iridium_catalog():
    # REFERENCES: Iridium 66 satellites, 6 near-polar planes x 11 at 780 km, 86.4 deg, co-rotating
    # planes about 31.6 deg apart. The catalog also holds spares and a few being lowered.
    got = infer_shells(Constellation.from_tle(_tle_path("iridium-next_2026-05-30.tle")))
    s = shell_summary(got)
    main = s.loc[s["count"].idxmax()]
    assert main["inc_deg"] == pytest.approx(86.4, abs=0.05)
    assert main["altitude_km"] == pytest.approx(780, abs=10)  # Brouwer mean a; nominal 780 km
    assert main["n_planes"] == 6 and main["sats_per_plane"] == 11
    assert main["raan_spacing_deg"] == pytest.approx(31.6, abs=0.3)


def test_oneweb_catalog_staggered_planes_are_one_shell():
    # REFERENCES: OneWeb phase 1, 12 planes x 49 at 1,200 km, 87.9 deg. OneWeb flies each plane
    # at its own altitude, 4 km apart (1,175-1,219 km): one shell, twelve full planes.
    c = Constellation.from_tle(_tle_path("oneweb_2026-05-30.tle"))
    got = infer_shells(c)
    s = shell_summary(got)
    assert got.attrs["inference_shells"] == 1
    main = s.iloc[0]
    assert main["inc_deg"] == pytest.approx(87.9, abs=0.05) and main["count"] >= 0.95 * c.size
    counts = got.table[got.table["shell"] == main["shell"]].groupby("plane").size()
    assert (counts >= 40).sum() == 12


def test_gps_catalog_with_navigation_tolerances():
    # REFERENCES: GPS, 6 planes (A-F) at 55 deg, 60 deg apart. GPS planes are loose (inclinations
    # 54-57 deg, RAANs spread ~7 deg within a plane), hence the wider tolerances.
    c = Constellation.from_tle(_tle_path("gps-ops_2026-08-22.tle"))
    got = infer_shells(c, inc_tol_deg=2, alt_tol_km=100, plane_gap_deg=10)
    s = shell_summary(got)
    assert len(s) == 1 and s.loc[0, "count"] == c.size
    assert s.loc[0, "n_planes"] == 6 and s.loc[0, "raan_spacing_deg"] == pytest.approx(60, abs=2)


# ------------------------------------------------------------------------------------ API
def test_result_is_a_labelled_copy():
    c = walker.walker_delta(53, 24, 6, 1, altitude_km=550)
    before = c.table.copy()
    got = infer_shells(c, epoch="2026-01-03")
    pd.testing.assert_frame_equal(c.table, before)  # input untouched
    assert got is not c and got.size == c.size
    assert got.attrs["inference_epoch"].startswith("2026-01-03")
    assert "min_shell_size=2" in got.attrs["inference_params"]
    # results ride into propagation output like any constellation's labels
    ds = got.propagate(start="2026-01-01", duration="10min", step="5min", backend="kepler-j2")
    assert set(ds["plane"].to_numpy()) == set(range(6))
    assert ds.attrs["source_inference_shells"] == 1


@pytest.mark.parametrize("kwargs, match", [
    ({"inc_tol_deg": 0}, "inc_tol_deg"),
    ({"alt_tol_km": -1}, "alt_tol_km"),
    ({"shell_gap_km": float("nan")}, "shell_gap_km"),
    ({"core_fraction": 0}, "core_fraction"),
    ({"core_fraction": "x"}, "core_fraction"),
    ({"min_shell_size": 0}, "min_shell_size"),
    ({"min_shell_size": 2.5}, "min_shell_size"),
    ({"plane_gap_deg": -3}, "plane_gap_deg"),
    ({"min_plane_gap_deg": 5, "max_plane_spread_deg": 1}, "max_plane_spread_deg"),
    ({"epoch": "not a time"}, "epoch"),
])
def test_bad_input_raises_orbitlat_error(kwargs, match):
    c = walker.walker_delta(53, 24, 6, 1, altitude_km=550)
    with pytest.raises(OrbitlatError, match=match):
        infer_shells(c, **kwargs)


def test_not_a_constellation():
    with pytest.raises(OrbitlatError, match="Constellation"):
        infer_shells(pd.DataFrame({"a_km": [7000.0]}))
    with pytest.raises(OrbitlatError, match="Constellation"):
        shell_summary("starlink")


def test_no_shell_at_all_is_reported_not_raised():
    # two lone satellites far apart: no shell (default minimum 2 satellites), both unassigned
    c = Constellation.from_elements(altitude_km=[500, 900], inc_deg=[10, 80])
    got = infer_shells(c)
    assert got.attrs["inference_shells"] == 0 and got.attrs["inference_unassigned"] == 2
    s = shell_summary(got)
    assert s["kind"].tolist() == ["unassigned"] and s.loc[0, "count"] == 2
