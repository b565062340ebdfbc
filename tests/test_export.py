"""Exports: CZML for Cesium (structure per the CZML guide, positions checked against PROJ and the
propagator itself through Lagrange interpolation) and tables by extension (CSV, Parquet, NetCDF)."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.export.czml import czml_json, to_czml, write_czml
from orbitlat.export.tables import ephemeris_table, table_format, write_table

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def _strict_json(text: str):
    """Parse JSON refusing NaN/Infinity (which Cesium's JSON.parse rejects)."""
    def bad(x):
        raise ValueError(f"non-standard JSON constant {x}")

    return json.loads(text, parse_constant=bad)


def _check_czml_structure(packets: list, n_times: int | None = None) -> None:
    """The CZML structure Cesium needs (CZML Guide: Packet, Position, Clock, InterpolatableProperty)."""
    assert packets[0]["id"] == "document" and packets[0]["version"] == "1.0"
    clock = packets[0]["clock"]
    start, stop = clock["interval"].split("/")
    assert ISO.match(start) and ISO.match(stop) and start <= stop and clock["currentTime"] == start
    ids = [p["id"] for p in packets]
    assert len(ids) == len(set(ids)), "packet ids must be unique"
    for p in packets[1:]:
        pos = p["position"]
        key = "cartesian" if "cartesian" in pos else "cartographicDegrees"
        v = pos[key]
        assert len(v) % 4 == 0, "time-tagged samples are [t, a, b, c] groups"
        s = np.asarray(v, dtype=float).reshape(-1, 4)
        assert np.all(np.isfinite(s))
        assert np.all(np.diff(s[:, 0]) > 0), "sample times must increase"
        assert ISO.match(pos["epoch"])
        assert pos["interpolationAlgorithm"] == "LAGRANGE"
        assert 1 <= pos["interpolationDegree"] <= max(1, s.shape[0] - 1)
        assert pos["referenceFrame"] in ("FIXED", "INERTIAL")
        a0, a1 = p["availability"].split("/")
        assert ISO.match(a0) and ISO.match(a1) and start <= a0 <= a1 <= stop
        if n_times is not None:
            assert s.shape[0] == n_times
        rgba = p["point"]["color"]["rgba"]
        assert len(rgba) == 4 and all(0 <= x <= 255 for x in rgba)


@pytest.fixture(scope="module")
def iridium_eph():
    return ol.presets.get("iridium").propagate(start="2026-01-01", duration="20min", step="60s", frame="ITRS",
                                               velocity=False)


def test_czml_cartesian_structure_and_values(iridium_eph):
    packets = to_czml(iridium_eph)
    _check_czml_structure(packets, n_times=21)
    assert len(packets) == 1 + 66
    # the JSON is strict (no NaN) and round-trips
    text = czml_json(packets)
    assert _strict_json(text) == json.loads(json.dumps(packets))
    # samples are the ephemeris in metres, rounded to 1 mm (the rounding we apply)
    s = np.asarray(packets[5]["position"]["cartesian"]).reshape(-1, 4)
    np.testing.assert_allclose(s[:, 1:], iridium_eph.position.isel(sat=4).to_numpy() * 1000.0, atol=6e-4)
    np.testing.assert_allclose(s[:, 0], np.arange(21) * 60.0)
    assert packets[5]["position"]["referenceFrame"] == "FIXED"


def test_czml_cartographic_matches_proj(iridium_eph):
    # outside reference: PROJ's ECEF -> WGS84 geodetic transformation (EPSG:4978 -> EPSG:4979)
    pyproj = pytest.importorskip("pyproj")
    packets = to_czml(iridium_eph, position="cartographic")
    _check_czml_structure(packets, n_times=21)
    tr = pyproj.Transformer.from_crs("EPSG:4978", "EPSG:4979", always_xy=True)
    for k in (1, 17, 40, 66):
        s = np.asarray(packets[k]["position"]["cartographicDegrees"]).reshape(-1, 4)
        xyz = iridium_eph.position.isel(sat=k - 1).to_numpy() * 1000.0
        lon, lat, h = tr.transform(xyz[:, 0], xyz[:, 1], xyz[:, 2])
        # tolerances: we round to 1e-7 degrees (1 cm) and 1 mm; PROJ and orbitlat agree to < 1 mm
        np.testing.assert_allclose(s[:, 2], lat, atol=2e-7)
        wrapped = (s[:, 1] + 180.0) % 360.0 - 180.0
        np.testing.assert_allclose(np.angle(np.exp(1j * np.radians(wrapped - lon))), 0.0, atol=4e-9)
        np.testing.assert_allclose(s[:, 3], h, atol=2e-3)
        # longitudes are unwrapped: no jump of more than 180° between samples (Cesium interpolates them)
        assert np.all(np.abs(np.diff(s[:, 1])) < 180.0)


def test_czml_lagrange_playback_reproduces_the_orbit():
    """Cesium plays the samples back with degree-5 Lagrange interpolation: between 60 s samples it must
    land on the orbit. Interpolate the CZML samples at the half-minutes (scipy's barycentric Lagrange, the
    same polynomial Cesium's LagrangePolynomialApproximation evaluates) and compare with propagating
    to those instants directly. Tolerance 1 m: the degree-5 truncation error at 60 s in LEO is ~1 cm
    (measured), the samples are rounded to 1 mm."""
    from scipy.interpolate import BarycentricInterpolator

    c = ol.presets.get("starlink_gen1")[[0, 2000, 4000]]
    packets = to_czml(c, "2026-01-01", "30min", "60s")
    mid = c.propagate(start="2026-01-01T00:00:30", duration="28min", step="60s", frame="ITRS", velocity=False)
    for k in range(3):
        s = np.asarray(packets[k + 1]["position"]["cartesian"]).reshape(-1, 4)
        deg = packets[k + 1]["position"]["interpolationDegree"]
        truth = mid.position.isel(sat=k).to_numpy() * 1000.0
        for j, t in enumerate(30.0 + 60.0 * np.arange(29)):
            i = np.searchsorted(s[:, 0], t)
            lo = int(np.clip(i - (deg + 1) // 2, 0, len(s) - deg - 1))
            win = slice(lo, lo + deg + 1)
            est = BarycentricInterpolator(s[win, 0], s[win, 1:])(t)
            assert np.linalg.norm(est - truth[j]) < 1.0


def test_czml_failed_satellites_are_left_out_and_counted(iridium_eph):
    eph = iridium_eph.copy(deep=True)
    pos = eph["position"].values
    pos[:, 3] = np.nan  # satellite 3: no position at all
    pos[:5, 7] = np.nan  # satellite 7: its first five samples missing
    packets = to_czml(eph)
    _check_czml_structure(packets)
    ids = {p["id"] for p in packets}
    assert "sat/3" not in ids and len(packets) == 1 + 65
    assert "1 satellites have no valid position" in packets[0]["description"]
    p7 = next(p for p in packets if p["id"] == "sat/7")
    s = np.asarray(p7["position"]["cartesian"]).reshape(-1, 4)
    assert s.shape[0] == 16 and s[0, 0] == 300.0
    assert p7["availability"].startswith("2026-01-01T00:05:00")
    _strict_json(czml_json(packets))


def test_czml_gcrs_is_inertial_and_frames_checked():
    c = ol.presets.get("gps")
    eph = c.propagate(start="2026-01-01", duration="1h", step="10min", frame="GCRS", velocity=False)
    packets = to_czml(eph)
    assert packets[1]["position"]["referenceFrame"] == "INERTIAL"
    with pytest.raises(OrbitlatError, match="cartographic positions need an Earth-fixed"):
        to_czml(eph, position="cartographic")
    teme = c.propagate(start="2026-01-01", duration="1h", step="10min", frame="TEME", velocity=False)
    with pytest.raises(OrbitlatError, match="CZML needs ITRS"):
        to_czml(teme)


@pytest.mark.parametrize("kwargs, match", [
    (dict(position="ecef"), "position='ecef' is not known"),
    (dict(interpolation_degree=0), "interpolation_degree=0"),
    (dict(interpolation_degree=True), "interpolation_degree=True"),
])
def test_czml_bad_arguments(iridium_eph, kwargs, match):
    with pytest.raises(OrbitlatError, match=match):
        to_czml(iridium_eph, **kwargs)


def test_czml_constellation_needs_a_span_and_ephemeris_brings_its_own(iridium_eph):
    with pytest.raises(OrbitlatError, match="needs start, duration and step"):
        to_czml(ol.presets.get("iridium"), "2026-01-01")
    with pytest.raises(OrbitlatError, match="brings its own times"):
        to_czml(iridium_eph, "2026-01-01", "1h", "60s")
    with pytest.raises(OrbitlatError, match="takes a Constellation or an ephemeris"):
        to_czml(np.zeros((3, 3)))


def test_write_czml_file(tmp_path, iridium_eph):
    p = write_czml(tmp_path / "iridium.czml", iridium_eph, position="cartographic")
    packets = _strict_json(p.read_text())
    _check_czml_structure(packets, n_times=21)
    assert not list(tmp_path.glob("*.part"))


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n_steps=st.integers(1, 40), step_s=st.sampled_from([10, 30, 60, 90, 300]),
       position=st.sampled_from(["cartesian", "cartographic"]))
def test_czml_sample_count_property(n_steps, step_s, position):
    # property: one sample per propagated instant, times k*step, Lagrange degree <= samples - 1
    c = ol.presets.get("iridium")[[0, 33]]
    packets = to_czml(c, "2026-01-01", f"{n_steps * step_s}s", f"{step_s}s", position=position)
    _check_czml_structure(packets, n_times=n_steps + 1)
    for p in packets[1:]:
        v = p["position"]["cartesian" if position == "cartesian" else "cartographicDegrees"]
        t = np.asarray(v).reshape(-1, 4)[:, 0]
        np.testing.assert_allclose(t, np.arange(n_steps + 1) * step_s, atol=1e-6)
        assert p["position"]["interpolationDegree"] == min(5, n_steps)


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def test_table_format_by_extension_and_override(tmp_path):
    assert table_format("a.CSV") == "csv" and table_format("a.parquet") == "parquet"
    assert table_format("a.nc") == "netcdf" and table_format("a.txt", "nc") == "netcdf"
    with pytest.raises(OrbitlatError, match="cannot tell the format"):
        table_format("a.xlsx")
    with pytest.raises(OrbitlatError, match="format 'xlsx' is not known"):
        table_format("a.csv", "xlsx")


@pytest.mark.parametrize("ext", [".csv", ".parquet", ".nc"])
def test_write_table_round_trip(tmp_path, ext):
    df = pd.DataFrame({"city": ["A", "B", "C"], "rtt_ms": [1.5, np.nan, 3.25],
                       "t": pd.to_datetime(["2026-01-01", "2026-01-02", "2026-01-03"]),
                       "ok": [True, False, True]})
    p = write_table(df, tmp_path / f"t{ext}")
    if ext == ".csv":
        back = pd.read_csv(p, parse_dates=["t"])
    elif ext == ".parquet":
        back = pd.read_parquet(p)
    else:
        back = xr.open_dataset(p).to_dataframe().reset_index(drop=True)
        back["ok"] = back["ok"].astype(bool)
    pd.testing.assert_series_equal(back["rtt_ms"], df["rtt_ms"], check_names=False)
    assert back["city"].astype(str).tolist() == ["A", "B", "C"]
    assert pd.to_datetime(back["t"]).tolist() == df["t"].tolist()
    assert back["ok"].tolist() == [True, False, True]


def test_write_dataset_netcdf_and_csv(tmp_path, iridium_eph):
    p = write_table(iridium_eph, tmp_path / "eph.nc")
    back = xr.open_dataset(p)
    np.testing.assert_array_equal(back.position.to_numpy(), iridium_eph.position.to_numpy())
    assert back.attrs["frame"] == "ITRS"
    df = ephemeris_table(iridium_eph)
    assert len(df) == 21 * 66 and list(df.columns[:6]) == ["time", "sat", "name", "x_km", "y_km", "z_km"]
    row = df[(df.sat == 5) & (df.time == iridium_eph.time.values[3])]
    np.testing.assert_array_equal(row[["x_km", "y_km", "z_km"]].to_numpy()[0],
                                  iridium_eph.position.isel(time=3, sat=5).to_numpy())
    write_table(df, tmp_path / "eph.parquet")
    assert len(pd.read_parquet(tmp_path / "eph.parquet")) == len(df)


def test_write_table_errors_leave_nothing_behind(tmp_path):
    with pytest.raises(OrbitlatError, match="does not exist"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "missing" / "t.csv")
    with pytest.raises(OrbitlatError, match="takes a pandas DataFrame"):
        write_table([1, 2, 3], tmp_path / "t.csv")
    # a write that fails half-way (Arrow cannot store a column mixing ints and dicts) leaves no partial file
    bad = pd.DataFrame({"a": [1, {"x": 1}]})
    with pytest.raises(Exception):
        write_table(bad, tmp_path / "bad.parquet")
    assert not (tmp_path / "bad.parquet").exists()
    assert not list(tmp_path.glob("*.part"))
