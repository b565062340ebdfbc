"""Tests for orbitlat.orbits.tle: TLE/3LE and OMM readers, TLE writers and formatters.

Real element sets live outside the repository in ``../shared/data/tle``;
tests that need them skip when that directory is absent. The fuzz tests use
the real files when present and synthetic element sets otherwise.
"""
from __future__ import annotations

import csv
import datetime as dt
import doctest
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sgp4 import exporter, omm
from sgp4.api import Satrec
from sgp4.conveniences import sat_epoch_datetime

import orbitlat.orbits.tle as oio
from orbitlat.errors import OMMError, OrbitlatError, TLEError
from orbitlat.orbits._records import ELEMENT_COLUMNS
from orbitlat.orbits.tle import make_tle_lines, make_tle_records, read_tle, tle_checksum, write_tle
from orbitlat.orbits.omm import read_omm

from conftest import SHARED_DATA as DATA  # noqa: E402  (../shared/data or $ORBITLAT_SHARED_DATA)
TLE_DIR = DATA / "tle"

# The classic public example TLE (ISS, 2008), used wherever real files are not needed.
ISS_L1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
ISS_L2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
ISS_TEXT = f"ISS (ZARYA)\n{ISS_L1}\n{ISS_L2}\n"

REAL_COUNTS = {
    "starlink_2026-05-30.tle": 10395,
    "gps-ops_2026-08-22.tle": 32,
    "stations_2026-05-30.tle": 25,
    "galileo_2026-08-22.tle": 32,
    "iridium-next_2026-05-30.tle": 80,
    "oneweb_2026-05-30.tle": 651,
}

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# costlier examples (sgp4 satellites built per record, recursive strategies): fewer of them
FUZZ_SLOW = settings(FUZZ, max_examples=150)
_XPDOTP = 1440.0 / (2.0 * math.pi)


def real_path(name: str) -> Path:
    p = TLE_DIR / name
    if not p.is_file():
        pytest.skip(f"real TLE data {p} not found (expected in ../shared/data/tle next to the repo; "
                    "it is never copied into the repository)")
    return p


_CACHE: dict[str, pd.DataFrame] = {}


def real_df(name: str) -> pd.DataFrame:
    if name not in _CACHE:
        _CACHE[name] = read_tle(real_path(name))
    return _CACHE[name]


def fix_checksum(line: str) -> str:
    """Replace column 69 with the right checksum (to build lines with one deliberate defect)."""
    return line[:68] + str(tle_checksum(line))


def sat_epoch_ns(sat) -> int:
    return round(((sat.jdsatepoch - 2440587.5) + sat.jdsatepochF) * 86400e6) * 1000


def ang_diff(a: float, b: float) -> float:
    d = (a - b) % 360.0
    return min(d, 360.0 - d)


# --------------------------------------------------------------------------------------
# Real data
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(REAL_COUNTS))
def test_real_files(name):
    path = real_path(name)
    df = real_df(name)
    assert len(df) == REAL_COUNTS[name]
    assert tuple(df.columns) == ELEMENT_COLUMNS
    assert df["epoch"].dtype == np.dtype("datetime64[ns]")
    assert df["norad_id"].dtype == np.int64
    for col in ("mean_motion_rev_day", "ecc", "inc_deg", "raan_deg", "argp_deg", "mean_anomaly_deg", "bstar"):
        assert df[col].dtype == np.float64
    assert df["norad_id"].is_unique
    assert df.attrs["source"] == str(path)
    assert (df["name"].str.len() > 0).all() and (df["name"] == df["name"].str.strip()).all()
    assert (df["line1"].str.len() == 69).all() and (df["line2"].str.len() == 69).all()
    # file order is kept
    raw = [ln.strip() for ln in path.read_text().splitlines() if ln.startswith("1 ")]
    assert df["line1"].tolist() == raw
    # epochs fall within the date in the file name (files hold recent element sets)
    day = np.datetime64(re.search(r"(\d{4}-\d{2}-\d{2})", name).group(1), "ns")
    assert (df["epoch"] < day + np.timedelta64(1, "D")).all()
    assert (df["epoch"] > day - np.timedelta64(30, "D")).all()
    assert abs(df["epoch"].median() - pd.Timestamp(day)) < pd.Timedelta(days=3)
    assert df["inc_deg"].between(0, 180).all() and df["ecc"].between(0, 1).all()


def test_real_starlink_count_and_shells():
    df = real_df("starlink_2026-05-30.tle")
    assert len(df) == 10395
    assert df["name"].str.startswith("STARLINK").all()
    assert df["mean_motion_rev_day"].between(14.0, 16.5).all()


def test_real_iss_row_matches_sgp4():
    df = real_df("stations_2026-05-30.tle")
    iss = df[df["norad_id"] == 25544]
    assert len(iss) == 1
    row = iss.iloc[0]
    assert row["name"] == "ISS (ZARYA)"
    assert row["intl_designator"] == "98067A"
    sat = Satrec.twoline2rv(row["line1"], row["line2"])
    assert row["epoch"].value == sat_epoch_ns(sat)
    ref = sat_epoch_datetime(sat).replace(tzinfo=None)  # sgp4 truncates to the microsecond
    assert abs(row["epoch"] - pd.Timestamp(ref)) <= pd.Timedelta(microseconds=1)
    assert str(row["epoch"].date()) == "2026-05-30"
    assert row["inc_deg"] == pytest.approx(math.degrees(sat.inclo), abs=1e-12)
    assert row["mean_motion_rev_day"] == pytest.approx(sat.no_kozai * _XPDOTP, rel=1e-14)
    assert row["bstar"] == sat.bstar and row["ecc"] == sat.ecco


def test_real_epochs_match_sgp4_everywhere():
    df = real_df("gps-ops_2026-08-22.tle")
    for _, row in df.iterrows():
        sat = Satrec.twoline2rv(row["line1"], row["line2"])
        ref = pd.Timestamp(sat_epoch_datetime(sat).replace(tzinfo=None))
        assert abs(row["epoch"] - ref) <= pd.Timedelta(microseconds=1)
        assert row["norad_id"] == sat.satnum
        assert row["raan_deg"] == pytest.approx(math.degrees(sat.nodeo), abs=1e-12)


# --------------------------------------------------------------------------------------
# Input forms
# --------------------------------------------------------------------------------------
def test_input_forms_agree(tmp_path):
    p = tmp_path / "iss.tle"
    p.write_text(ISS_TEXT)
    variants = {
        "text": ISS_TEXT,
        "path": p,
        "str path": str(p),
        "lines": ISS_TEXT.splitlines(keepends=True),
        "bytes": ISS_TEXT.encode(),
        "file": io.StringIO(ISS_TEXT),
        "crlf": ISS_TEXT.replace("\n", "\r\n"),
        "messy": "\n\n  ISS (ZARYA)   \n\n" + ISS_L1 + "   \t\n\n" + ISS_L2 + "  \r\n\n\n",
        "0-prefix": "0 ISS (ZARYA)\n" + ISS_L1 + "\n" + ISS_L2,
    }
    for label, src in variants.items():
        df = read_tle(src)
        assert len(df) == 1, label
        assert df.loc[0, "name"] == "ISS (ZARYA)", label
        assert df.loc[0, "line1"] == ISS_L1 and df.loc[0, "line2"] == ISS_L2, label
        assert df.loc[0, "epoch"] == pd.Timestamp("2008-09-20 12:25:40.104192"), label
    assert read_tle(p).attrs["source"] == str(p)
    assert read_tle(ISS_TEXT).attrs["source"] == "<text>"
    assert read_tle(ISS_TEXT, source="celestrak").attrs["source"] == "celestrak"


def test_two_line_format_and_mixture():
    df = read_tle(f"{ISS_L1}\n{ISS_L2}\n")
    assert df.loc[0, "name"] == "NORAD 25544"
    l1, l2 = make_tle_lines(norad_id=99001, epoch="2026-05-30", mean_motion_rev_day=15.0, ecc=0.001,
                            inc_deg=53, raan_deg=10, argp_deg=90, mean_anomaly_deg=0)
    df = read_tle([ISS_L1, ISS_L2, "SAT-1", l1, l2])
    assert df["name"].tolist() == ["NORAD 25544", "SAT-1"]
    assert df["norad_id"].tolist() == [25544, 99001]


def test_alpha5_catalog_number():
    l1 = fix_checksum("1 A0001" + ISS_L1[7:])
    l2 = fix_checksum("2 A0001" + ISS_L2[7:])
    df = read_tle(["ALPHA", l1, l2])
    assert df.loc[0, "norad_id"] == 100001
    l1, l2 = make_tle_lines(norad_id=339999, epoch="2026-01-01T00:00", mean_motion_rev_day=15.0,
                            ecc=0.0, inc_deg=97.5, raan_deg=0.0, argp_deg=0.0, mean_anomaly_deg=0.0)
    assert l1[2:7] == "Z9999"
    assert read_tle([l1, l2]).loc[0, "norad_id"] == 339999


def test_missing_file_and_bad_types():
    with pytest.raises(TLEError, match="does not exist"):
        read_tle("no/such/file.tle")
    with pytest.raises(TLEError, match="not a regular file"):
        read_tle(str(Path(__file__).parent) + "/")
    with pytest.raises(TLEError, match="cannot read"):
        read_tle(Path("/no/such/file.tle"))
    for bad in (None, 42, 3.5, [1, 2]):
        with pytest.raises(TLEError):
            read_tle(bad)


# --------------------------------------------------------------------------------------
# Bad TLE input: each error names the 1-based line number
# --------------------------------------------------------------------------------------
def _shift(line: str, col: int) -> str:
    return line[: col - 1] + " " + line[col - 1:]


BAD_TLE = [
    # id, text, line_number, substrings that must appear in the message
    ("checksum", f"ISS\n{ISS_L1[:68]}3\n{ISS_L2}\n", 2, ["checksum", "holds 3", "is 7"]),
    ("checksum not digit", f"ISS\n{ISS_L1}\n{ISS_L2[:68]}x\n", 3, ["checksum", "'x'"]),
    ("truncated line", f"ISS\n{ISS_L1}\n{ISS_L2[:50]}\n", 3, ["50 characters", "expected 69", "truncated"]),
    ("truncated file", f"ISS\n{ISS_L1}\n", 2, ["line 2", "missing"]),
    ("truncated after name", f"ISS\n{ISS_L1}\n{ISS_L2}\nNEXT SAT\n", 4, ["ends after the name"]),
    ("shifted column (length 70)", f"ISS\n{_shift(ISS_L1, 20)}\n{ISS_L2}\n", 2,
     ["70 characters", "expected 69", "shifted", "column 33"]),
    ("shifted column (length 69)", f"ISS\n{ISS_L1}\n{fix_checksum(_shift(ISS_L2, 12)[:68] + '0')}\n", 3,
     ["column 17", "must be blank", "shifted"]),
    ("non-numeric inclination", f"ISS\n{ISS_L1}\n{fix_checksum(ISS_L2.replace(' 51.6416', ' ab.cdef'))}\n", 3,
     ["inclination (columns 9-16)", "ab.cdef"]),
    ("non-numeric bstar", f"ISS\n{fix_checksum(ISS_L1.replace('-11606-4', '-1l606-4'))}\n{ISS_L2}\n", 2,
     ["BSTAR drag term (columns 54-61)", "-1l606-4"]),
    ("inclination out of range", f"ISS\n{ISS_L1}\n{fix_checksum(ISS_L2.replace(' 51.6416', '251.6416'))}\n",
     3, ["inclination", "outside"]),
    ("mismatched catalog numbers", f"ISS\n{ISS_L1}\n{fix_checksum(ISS_L2.replace('25544', '25545'))}\n", 3,
     ["'25545'", "'25544'", "line 2", "different satellites"]),
    ("missing line 1", f"ISS\n{ISS_L2}\n", 2, ["expected a TLE line 1", "found a TLE line 2"]),
    ("name where line 1 expected", f"ISS\nSOMETHING ELSE\n{ISS_L1}\n{ISS_L2}\n", 2,
     ["expected a TLE line 1", "'SOMETHING ELSE'"]),
    ("line 2 first", f"{ISS_L2}\n{ISS_L1}\n", 1, ["line 2", "line 1"]),
    ("line 1 twice", f"ISS\n{ISS_L1}\n{ISS_L1}\n", 3, ["expected a TLE line 2"]),
    ("damaged line 1 start", f"X{ISS_L1[1:]}\n{ISS_L2}\n", 1, ["damaged TLE line 1"]),
    ("non-ascii", f"ISS\n{ISS_L1[:40]}é{ISS_L1[41:]}\n{ISS_L2}\n", 2, ["non-ASCII", "column 41"]),
    ("unphysical mean motion", f"ISS\n{ISS_L1}\n{fix_checksum(ISS_L2[:52] + '95' + ISS_L2[54:])}\n", 3,
     ["sgp4 rejects"]),
    ("garbage", "hello\nworld\n", 2, ["expected a TLE line 1"]),
    ("json given to read_tle", '[{"OBJECT_NAME": "ISS"}]', 1, ["read_omm"]),
]


@pytest.mark.parametrize("text,line_number,parts", [b[1:] for b in BAD_TLE], ids=[b[0] for b in BAD_TLE])
def test_bad_tle(text, line_number, parts):
    with pytest.raises(TLEError) as info:
        read_tle(text, strict=True)
    exc = info.value
    assert exc.line_number == line_number
    msg = str(exc)
    assert msg.startswith(f"line {line_number}: ")
    for part in parts:
        assert part in msg, (part, msg)


def test_bad_tle_from_file_names_source(tmp_path):
    p = tmp_path / "bad.tle"
    p.write_text(f"ISS\n{ISS_L1[:68]}3\n{ISS_L2}\n")
    with pytest.raises(TLEError) as info:
        read_tle(p)
    assert info.value.line_number == 2 and info.value.source == str(p)
    assert str(info.value).startswith(f"{p}: line 2: ")
    with pytest.raises(TLEError, match=r"^my-feed: line 2: "):
        read_tle(f"ISS\n{ISS_L1[:68]}3\n{ISS_L2}\n", source="my-feed")


def test_duplicates():
    text = ISS_TEXT + "\n" + ISS_TEXT.replace("ISS (ZARYA)", "ISS AGAIN")
    with pytest.raises(TLEError) as info:
        read_tle(text)
    assert info.value.line_number == 6
    assert "line 2" in str(info.value) and "line 6" in str(info.value)
    assert "allow_duplicates=True" in str(info.value)
    df = read_tle(text, allow_duplicates=True)
    assert df["name"].tolist() == ["ISS (ZARYA)", "ISS AGAIN"]


@pytest.mark.parametrize("content", ["", "   \n\n \t \r\n"], ids=["empty", "whitespace-only"])
def test_empty_inputs(tmp_path, content):
    p = tmp_path / "empty.tle"
    p.write_text(content)
    for src in (p, content, content.splitlines(), []):
        with pytest.raises(TLEError, match="no satellites found") as info:
            read_tle(src)
        assert info.value.line_number is None  # there is no offending line to point at


# --------------------------------------------------------------------------------------
# tle_checksum / make_tle_lines / make_tle_records
# --------------------------------------------------------------------------------------
def test_tle_checksum():
    assert tle_checksum(ISS_L1) == 7 and tle_checksum(ISS_L2) == 7
    assert tle_checksum(ISS_L1[:68]) == 7
    assert tle_checksum("1 -" + "0" * 65) == 2  # '1' + one '-'


def test_make_tle_lines_reproduces_real_lines():
    for name in ("gps-ops_2026-08-22.tle", "stations_2026-05-30.tle"):
        df = real_df(name)
        for _, row in df.iterrows():
            sat = Satrec.twoline2rv(row["line1"], row["line2"])
            l1, l2 = make_tle_lines(
                norad_id=row["norad_id"], epoch=row["epoch"], mean_motion_rev_day=row["mean_motion_rev_day"],
                ecc=row["ecc"], inc_deg=row["inc_deg"], raan_deg=row["raan_deg"], argp_deg=row["argp_deg"],
                mean_anomaly_deg=row["mean_anomaly_deg"], bstar=row["bstar"],
                ndot=sat.ndot * _XPDOTP * 1440.0, nddot=sat.nddot * _XPDOTP * 1440.0 * 1440.0,
                intl_designator=row["intl_designator"], classification=sat.classification,
                element_set_no=sat.elnum, rev_at_epoch=sat.revnum)
            assert (l1, l2) == (row["line1"], row["line2"])


@st.composite
def elements(draw):
    return dict(
        norad_id=draw(st.integers(0, 339999)),
        epoch=draw(st.datetimes(min_value=dt.datetime(1957, 1, 1), max_value=dt.datetime(2056, 12, 30))),
        mean_motion_rev_day=draw(st.floats(0.05, 17.0)),
        ecc=draw(st.floats(0.0, 0.95)),
        inc_deg=draw(st.floats(0.0, 180.0)),
        raan_deg=draw(st.floats(-720.0, 720.0)),
        argp_deg=draw(st.floats(0.0, 360.0)),
        mean_anomaly_deg=draw(st.floats(-360.0, 1000.0)),
        bstar=draw(st.one_of(st.just(0.0), st.floats(-0.9, 0.9), st.floats(-1e-11, 1e-11))),
        ndot=draw(st.floats(-0.49, 0.49)),
        nddot=draw(st.one_of(st.just(0.0), st.floats(-1e-3, 1e-3))),
        intl_designator=draw(st.sampled_from(["", "98067A", "2019-074BC", "57001A"])),
        classification=draw(st.sampled_from("UCS")),
        element_set_no=draw(st.integers(0, 9999)),
        rev_at_epoch=draw(st.integers(0, 10**6)),
    )


@FUZZ_SLOW
@given(elements())
def test_make_tle_lines_round_trip(el):
    l1, l2 = make_tle_lines(**el)
    assert len(l1) == 69 and len(l2) == 69
    assert int(l1[68]) == tle_checksum(l1) and int(l2[68]) == tle_checksum(l2)
    sat = Satrec.twoline2rv(l1, l2)
    assert sat.satnum == el["norad_id"]
    assert abs(sat.no_kozai * _XPDOTP - el["mean_motion_rev_day"]) <= 0.5e-8 + 1e-12
    assert abs(sat.ecco - el["ecc"]) <= 0.5e-7 + 1e-15
    assert abs(math.degrees(sat.inclo) - el["inc_deg"]) <= 0.5e-4 + 1e-9
    for attr, key in (("nodeo", "raan_deg"), ("argpo", "argp_deg"), ("mo", "mean_anomaly_deg")):
        assert ang_diff(math.degrees(getattr(sat, attr)), el[key]) <= 0.5e-4 + 1e-9
    assert abs(sat.bstar - el["bstar"]) <= 5e-5 * abs(el["bstar"]) + 1e-14
    assert abs(sat.ndot * _XPDOTP * 1440.0 - el["ndot"]) <= 0.5e-8 + 1e-15
    assert abs(sat.nddot * _XPDOTP * 1440.0 * 1440.0 - el["nddot"]) <= 5e-5 * abs(el["nddot"]) + 1e-14
    want_ns = int((np.datetime64(el["epoch"], "ns") - np.datetime64(0, "ns")) // np.timedelta64(1, "ns"))
    assert abs(sat_epoch_ns(sat) - want_ns) <= 432_000 + 2_000  # half of 1e-8 day, plus jd round-off
    assert sat.revnum == el["rev_at_epoch"] % 100000 and sat.elnum == el["element_set_no"]
    assert sat.classification == el["classification"]
    try:
        df = read_tle([l1, l2], strict=True)
    except TLEError as exc:  # sgp4 may reject physically impossible combinations, nothing else
        assert "sgp4 rejects" in str(exc)
    else:
        assert df.loc[0, "line1"] == l1 and df.loc[0, "line2"] == l2
        assert abs(df.loc[0, "epoch"].value - want_ns) <= 432_000 + 2_000


@pytest.mark.parametrize("bad", [
    dict(ecc=1.2), dict(ecc=-0.1), dict(inc_deg=200.0), dict(mean_motion_rev_day=0.0),
    dict(mean_motion_rev_day=150.0), dict(norad_id=400000), dict(norad_id=True),
    dict(epoch="2060-01-01"), dict(epoch="1950-01-01"), dict(epoch="not a time"), dict(ndot=2.0),
    dict(bstar=float("nan")), dict(bstar=1e12), dict(classification="UU"), dict(intl_designator="XYZ"),
    dict(element_set_no=10000), dict(rev_at_epoch=-1),
])
def test_make_tle_lines_rejects(bad):
    kw = dict(norad_id=1, epoch="2026-05-30", mean_motion_rev_day=15.0, ecc=0.001, inc_deg=53.0,
              raan_deg=0.0, argp_deg=0.0, mean_anomaly_deg=0.0)
    kw.update(bad)
    with pytest.raises(OrbitlatError):
        make_tle_lines(**kw)


def test_make_tle_lines_epoch_rounding_rolls_over_year():
    l1, _ = make_tle_lines(norad_id=1, epoch=np.datetime64("2025-12-31T23:59:59.9999"),
                           mean_motion_rev_day=15.0, ecc=0.0, inc_deg=0.0, raan_deg=0.0, argp_deg=0.0,
                           mean_anomaly_deg=0.0)
    assert l1[18:32] == "26001.00000000"


def test_make_tle_records_write_read_pipeline(tmp_path):
    els = pd.DataFrame({
        "name": ["SAT-1", "SAT-2", None],
        "norad_id": [99001, 99002, 99003],
        "epoch": pd.to_datetime(["2026-05-30T00:00", "2026-05-30T06:00", "2026-05-30T12:00"]),
        "mean_motion_rev_day": [15.05, 15.06, 15.07],
        "ecc": [0.0001, 0.0002, 0.0003],
        "inc_deg": [53.0, 53.0, 97.6],
        "raan_deg": [0.0, 120.0, 240.0],
        "argp_deg": [90.0, 90.0, 90.0],
        "mean_anomaly_deg": [0.0, 10.0, 20.0],
        "bstar": [1e-4, 2e-4, 3e-4],
    }, index=[10, 11, 12])
    recs = make_tle_records(els)
    assert list(recs.index) == [10, 11, 12] and list(recs.columns) == ["name", "line1", "line2"]
    assert recs.loc[12, "name"] == "NORAD 99003"
    p = tmp_path / "synthetic.tle"
    text = write_tle(recs, p)
    assert p.read_text() == text
    df = read_tle(p)
    assert df["line1"].tolist() == recs["line1"].tolist()
    assert np.allclose(df["inc_deg"], els["inc_deg"]) and (df["epoch"].values == els["epoch"].values).all()
    with pytest.raises(OrbitlatError, match="row 11"):
        make_tle_records(els.assign(ecc=[0.1, 1.5, 0.1]))
    with pytest.raises(OrbitlatError, match="missing column"):
        make_tle_records(els.drop(columns="ecc"))


# --------------------------------------------------------------------------------------
# write_tle
# --------------------------------------------------------------------------------------
def test_write_read_round_trip_real_gps(tmp_path):
    df = real_df("gps-ops_2026-08-22.tle")
    p = tmp_path / "gps.tle"
    text = write_tle(df, p)
    assert text.count("\n") == 3 * len(df) and p.read_text() == text
    back = read_tle(p)
    assert back["line1"].tolist() == df["line1"].tolist()
    assert back["line2"].tolist() == df["line2"].tolist()
    assert back["name"].tolist() == df["name"].tolist()
    pd.testing.assert_frame_equal(back, df)
    two = write_tle(df, names=False)
    assert two.count("\n") == 2 * len(df)
    back2 = read_tle(two)
    assert back2["line1"].tolist() == df["line1"].tolist()
    assert back2["name"].tolist() == [f"NORAD {i}" for i in df["norad_id"]]


def test_write_tle_records_and_awkward_names():
    recs = [("1 WEIRD NAME", ISS_L1, ISS_L2)]
    text = write_tle(recs)
    assert text.splitlines()[0] == "0 1 WEIRD NAME"
    assert read_tle(text).loc[0, "name"] == "1 WEIRD NAME"
    text = write_tle([{"name": "", "line1": ISS_L1, "line2": ISS_L2}])
    assert text.splitlines()[0] == "NORAD 25544"
    assert write_tle([(ISS_L1, ISS_L2)], names=False) == f"{ISS_L1}\n{ISS_L2}\n"


def test_write_tle_rejects_bad_lines():
    with pytest.raises(TLEError, match="record 0"):
        write_tle([("X", ISS_L1[:60], ISS_L2)])
    with pytest.raises(TLEError, match="record 0"):
        write_tle([("X", ISS_L1, fix_checksum(ISS_L2.replace("25544", "25545")))])
    with pytest.raises(OrbitlatError):
        write_tle(pd.DataFrame({"name": ["x"]}))
    with pytest.raises(OrbitlatError):
        write_tle("not records")


# --------------------------------------------------------------------------------------
# OMM
# --------------------------------------------------------------------------------------
def gps_omm_records() -> list[dict]:
    df = real_df("gps-ops_2026-08-22.tle")
    return [exporter.export_omm(Satrec.twoline2rv(l1, l2), name)
            for name, l1, l2 in zip(df["name"], df["line1"], df["line2"])]


def omm_csv(records: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in rec.items()})
    return buf.getvalue()


def positions(sat, jd, fr):
    err, r, _ = sat.sgp4_array(jd, fr)
    assert (err == 0).all()
    return r


def assert_same_orbits(omm_df: pd.DataFrame, tle_df: pd.DataFrame, records: list[dict]):
    assert tuple(omm_df.columns) == ELEMENT_COLUMNS
    assert (omm_df.dtypes == tle_df.dtypes).all()
    assert omm_df["name"].tolist() == tle_df["name"].tolist()
    assert omm_df["norad_id"].tolist() == tle_df["norad_id"].tolist()
    assert omm_df["intl_designator"].tolist() == tle_df["intl_designator"].tolist()
    assert omm_df["line2"].tolist() == tle_df["line2"].tolist()
    assert ((omm_df["epoch"] - tle_df["epoch"]).abs() <= pd.Timedelta(microseconds=1)).all()
    for col in ("mean_motion_rev_day", "ecc", "inc_deg", "raan_deg", "argp_deg", "mean_anomaly_deg", "bstar"):
        assert np.allclose(omm_df[col], tle_df[col], rtol=1e-12, atol=1e-12), col
    for k, (o, t) in enumerate(zip(omm_df.itertuples(), tle_df.itertuples())):
        ref = Satrec.twoline2rv(t.line1, t.line2)
        from_lines = Satrec.twoline2rv(o.line1, o.line2)
        from_omm = Satrec()
        omm.initialize(from_omm, records[k])
        jd = np.full(4, ref.jdsatepoch)
        fr = ref.jdsatepochF + np.array([0.0, 0.25, 1.0, 3.0])
        r_ref = positions(ref, jd, fr)
        for sat in (from_lines, from_omm):
            assert np.abs(positions(sat, jd, fr) - r_ref).max() < 1e-3  # km: < 1 m


def test_read_omm_json_matches_tle(tmp_path):
    tle_df = real_df("gps-ops_2026-08-22.tle")
    records = gps_omm_records()
    text = json.dumps(records, indent=1)
    p = tmp_path / "gps.json"
    p.write_text(text)
    for src in (text, p, str(p), records, text.encode()):
        df = read_omm(src)
        assert_same_orbits(df, tle_df, records)
    assert read_omm(p).attrs["source"] == str(p)
    assert read_omm(text, fmt="json", source="celestrak").attrs["source"] == "celestrak"


def test_read_omm_csv_matches_tle(tmp_path):
    tle_df = real_df("gps-ops_2026-08-22.tle")
    records = gps_omm_records()
    text = omm_csv(records)
    p = tmp_path / "gps.csv"
    p.write_text(text)
    for src, fmt in ((text, None), (text, "csv"), (p, None), (text.replace("\n", "\r\n"), None)):
        df = read_omm(src, fmt=fmt)
        assert_same_orbits(df, tle_df, records)


def _iss_omm() -> dict:
    return exporter.export_omm(Satrec.twoline2rv(ISS_L1, ISS_L2), "ISS (ZARYA)")


def test_read_omm_string_values_and_defaults():
    rec = {k: str(v) for k, v in _iss_omm().items()}
    df = read_omm([rec])
    assert df.loc[0, "line2"] == ISS_L2
    minimal = {k: rec[k] for k in ("EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
                                   "ARG_OF_PERICENTER", "MEAN_ANOMALY", "NORAD_CAT_ID", "BSTAR",
                                   "MEAN_MOTION_DOT")}
    df = read_omm(minimal)
    assert df.loc[0, "name"] == "NORAD 25544" and df.loc[0, "intl_designator"] == ""
    lower = {k.lower(): v for k, v in rec.items()}
    assert read_omm([lower]).loc[0, "line2"] == ISS_L2
    frame = pd.DataFrame([_iss_omm()])
    frame["EPOCH"] = pd.to_datetime(frame["EPOCH"])
    df = read_omm(frame)
    assert df.loc[0, "line2"] == ISS_L2 and df.attrs["source"] == "<DataFrame>"


def _omm_error(src, **kw) -> OMMError:
    with pytest.raises(OMMError) as info:
        read_omm(src, **kw)
    return info.value


def test_bad_omm():
    good = _iss_omm()
    second = dict(good, NORAD_CAT_ID=25545)
    # missing key
    rec = {k: v for k, v in good.items() if k != "MEAN_MOTION"}
    exc = _omm_error(json.dumps([good, second, rec]))
    assert "record 2" in str(exc) and "MEAN_MOTION" in str(exc) and exc.record_index == 2
    # non-numeric value
    exc = _omm_error([good, dict(second, INCLINATION="fifty")])
    assert "record 1" in str(exc) and "INCLINATION" in str(exc) and "'fifty'" in str(exc)
    exc = _omm_error(json.dumps([dict(good, ECCENTRICITY=[1])]))
    assert "ECCENTRICITY" in str(exc)
    exc = _omm_error(json.dumps([dict(good, EPOCH="yesterday")]))
    assert "EPOCH" in str(exc)
    exc = _omm_error(json.dumps([dict(good, ECCENTRICITY=1.5)]))
    assert "ECCENTRICITY" in str(exc)
    # non-numeric in CSV names the CSV line too
    csv_text = omm_csv([good, dict(second, BSTAR="x")])
    exc = _omm_error(csv_text)
    assert "record 1 (CSV line 3)" in str(exc) and "BSTAR" in str(exc)
    # empty inputs
    for empty in ("[]", "", "  \n", [], omm_csv([good]).splitlines()[0] + "\n"):
        assert "no OMM records" in str(_omm_error(empty))
    # duplicates
    exc = _omm_error([good, second, good])
    assert "record 2" in str(exc) and "record 0" in str(exc) and "25544" in str(exc)
    assert len(read_omm([good, good], allow_duplicates=True)) == 2
    # syntax and format problems
    assert "invalid JSON" in str(_omm_error('[{"OBJECT_NAME": '))
    assert "XML" in str(_omm_error("<omm></omm>\n"))
    assert "fmt" in str(_omm_error("[]", fmt="xml"))
    _omm_error(omm_csv([good]), fmt="json")
    _omm_error(json.dumps([good]), fmt="csv")
    _omm_error(None)
    _omm_error(Path("/no/such/file.json"))


def test_read_omm_source_prefix():
    exc = _omm_error("[]", source="feed")
    assert str(exc).startswith("feed: ")


# --------------------------------------------------------------------------------------
# Fuzzing: the readers return a DataFrame or raise OrbitlatError, never anything else
# --------------------------------------------------------------------------------------
def _fuzz_base_tle() -> str:
    p = TLE_DIR / "stations_2026-05-30.tle"
    if p.is_file():
        return "".join(p.read_text().splitlines(keepends=True)[:9])
    recs = make_tle_records(pd.DataFrame({
        "name": ["A", "B", "C"], "norad_id": [1, 2, 100001], "epoch": pd.to_datetime(["2026-05-30"] * 3),
        "mean_motion_rev_day": [15.5, 14.2, 2.0], "ecc": [0.0007, 0.001, 0.01], "inc_deg": [51.6, 86.4, 55.0],
        "raan_deg": [27.0, 96.0, 212.0], "argp_deg": [114.7, 77.3, 303.3], "mean_anomaly_deg": [245.5, 282.8, 239.9],
        "bstar": [2.2e-4, -1.8e-5, 0.0], "intl_designator": ["98067A", "97034C", "26001A"]}))
    return write_tle(recs)


BASE_TLE = _fuzz_base_tle()
BASE_OMM = [exporter.export_omm(Satrec.twoline2rv(l1, l2), n) for n, l1, l2 in
            zip(*[iter(BASE_TLE.splitlines())] * 3)]
BASE_JSON = json.dumps(BASE_OMM)
BASE_CSV = omm_csv(BASE_OMM)


def _check_reader(fn, src, **kw):
    try:
        df = fn(src, **kw)
    except OrbitlatError:
        return None
    assert isinstance(df, pd.DataFrame) and len(df) > 0
    assert tuple(df.columns) == ELEMENT_COLUMNS
    for l1, l2 in zip(df["line1"], df["line2"]):
        assert len(l1) == 69 and len(l2) == 69
        assert int(l1[68]) == tle_checksum(l1) and int(l2[68]) == tle_checksum(l2)
    return df


@st.composite
def mutated(draw, base: str, alphabet=None):
    chars = st.characters(codec="utf-8") if alphabet is None else st.sampled_from(alphabet)
    text = base
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["sub", "del", "ins", "dup-line", "drop-line", "swap-lines"]))
        if op in ("sub", "del", "ins"):
            i = draw(st.integers(0, max(len(text) - 1, 0)))
            c = draw(chars)
            text = {"sub": text[:i] + c + text[i + 1:], "del": text[:i] + text[i + 1:],
                    "ins": text[:i] + c + text[i:]}[op]
        else:
            lines = text.split("\n")
            i = draw(st.integers(0, len(lines) - 1))
            j = draw(st.integers(0, len(lines) - 1))
            if op == "dup-line":
                lines.insert(j, lines[i])
            elif op == "drop-line":
                del lines[i]
            else:
                lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


TLE_ALPHABET = list("0123456789 .-+UA\n\r\t") + ["é", "\x00", "Z", "I"]


@FUZZ
@given(st.text(max_size=400))
def test_fuzz_tle_random_text(text):
    _check_reader(read_tle, text)
    _check_reader(read_tle, text.split("\n"))


@FUZZ
@given(mutated(BASE_TLE))
def test_fuzz_tle_mutated_real_lines(text):
    _check_reader(read_tle, text)


@FUZZ
@given(mutated(BASE_TLE, TLE_ALPHABET))
def test_fuzz_tle_mutated_tle_alphabet(text):
    df = _check_reader(read_tle, text)
    if df is not None:  # whatever survives must still be internally consistent
        for l1, l2 in zip(df["line1"], df["line2"]):
            assert l1[2:7] == l2[2:7]


@FUZZ
@given(st.lists(st.sampled_from(BASE_TLE.splitlines() + ["", "  ", "0 X", "junk"]), max_size=12))
def test_fuzz_tle_shuffled_lines(lines):
    _check_reader(read_tle, lines, allow_duplicates=True)


@FUZZ
@given(st.text(max_size=300), st.sampled_from([None, "json", "csv"]))
def test_fuzz_omm_random_text(text, fmt):
    _check_reader(read_omm, text, fmt=fmt)


@FUZZ_SLOW
@given(mutated(BASE_JSON), st.sampled_from([None, "json"]))
def test_fuzz_omm_mutated_json(text, fmt):
    _check_reader(read_omm, text, fmt=fmt)


@FUZZ_SLOW
@given(mutated(BASE_CSV), st.sampled_from([None, "csv"]))
def test_fuzz_omm_mutated_csv(text, fmt):
    _check_reader(read_omm, text, fmt=fmt)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=6)


@FUZZ_SLOW
@given(st.data())
def test_fuzz_omm_mutated_records(data):
    records = [dict(r) for r in BASE_OMM]
    for _ in range(data.draw(st.integers(1, 4))):
        rec = records[data.draw(st.integers(0, len(records) - 1))]
        key = data.draw(st.sampled_from(sorted(rec)))
        if data.draw(st.booleans()):
            rec[key] = data.draw(json_values)
        else:
            del rec[key]
    _check_reader(read_omm, records)
    try:
        text = json.dumps(records)
    except (TypeError, ValueError):
        return
    _check_reader(read_omm, text)


# --------------------------------------------------------------------------------------
# Docstring examples
# --------------------------------------------------------------------------------------
def test_docstring_examples():
    result = doctest.testmod(oio, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_sgp4_epoch_errors_are_kept_not_fatal():
    # One unphysical element set must not make a whole catalog unreadable: by default it is kept
    # with its sgp4 error code, and propagation flags it (orbitlat.orbits.propagation).
    bad_l2 = fix_checksum(ISS_L2[:52] + "95" + ISS_L2[54:])
    df = read_tle(f"ISS\n{ISS_L1}\n{bad_l2}\n")
    assert df.loc[0, "sgp4_epoch_error"] != 0
    ok = read_tle(f"ISS\n{ISS_L1}\n{ISS_L2}\n")
    assert ok.loc[0, "sgp4_epoch_error"] == 0
