"""Time grids: every accepted time type converts to the same UTC instants."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.time import TimeGrid, to_datetime64, to_seconds, to_timegrid

REF = np.datetime64("2026-05-30T12:34:56.789000000", "ns")


@pytest.mark.parametrize("value", [
    "2026-05-30T12:34:56.789",
    "2026-05-30 12:34:56.789Z",
    "2026-05-30T14:34:56.789+02:00",
    dt.datetime(2026, 5, 30, 12, 34, 56, 789000),  # naive = UTC (documented)
    dt.datetime(2026, 5, 30, 12, 34, 56, 789000, tzinfo=dt.timezone.utc),
    np.datetime64("2026-05-30T12:34:56.789"),
])
def test_accepted_instants(value):
    assert to_datetime64(value)[0] == REF


def test_astropy_and_skyfield_times():
    from astropy.time import Time

    assert to_datetime64(Time("2026-05-30T12:34:56.789", scale="utc"))[0] == REF
    # a TT time converts to UTC: TT - UTC = 32.184 s + 37 leap seconds = 69.184 s in 2026 (IERS Bulletin C)
    tt = to_datetime64(Time("2026-05-30T12:34:56.789", scale="tt"))[0]
    assert tt == REF - np.timedelta64(69184, "ms")
    ts = ol.time.timescale()
    sf = ts.utc(2026, 5, 30, 12, 34, 56.789)
    assert abs((to_datetime64(sf)[0] - REF).astype(np.int64)) <= 1000  # Skyfield float days: < 1 µs


def test_skyfield_round_trip_precision():
    # TimeGrid -> Skyfield Time -> datetime64 loses less than 1 µs (Skyfield stores float64 days)
    tg = TimeGrid.span("2026-05-30", "1d", "7min")
    back = to_datetime64(tg.skyfield)
    assert np.abs((back - tg.utc).astype(np.int64)).max() < 1000


def test_span_counts_and_ends():
    tg = TimeGrid.span("2026-01-01", "1d", "60s")
    assert len(tg) == 1441 and tg.utc[-1] == np.datetime64("2026-01-02T00:00", "ns")
    # both ends included: a step that does not divide the span ends with a shorter step (0, 3, 6, 9, 10)
    assert len(TimeGrid.span("2026-01-01", "10min", "3min")) == 5
    assert TimeGrid.span("2026-01-01", 0, 10).utc.size == 1
    assert tg.step_s == 60.0


def test_jd_utc_matches_skyfield_sgp4_inputs():
    # sgp4 takes UTC Julian dates; Skyfield passes (t.whole, t.tai_fraction - leap/86400).
    tg = TimeGrid.span("2026-05-30T03:00", "3h", "17min")
    whole, frac = tg.jd_utc
    t = tg.skyfield
    sf = (t.whole - whole) + (t.tai_fraction - t._leap_seconds() / 86400.0 - frac)
    assert np.abs(sf).max() * 86400 < 1e-6


@pytest.mark.parametrize("value, seconds", [
    ("60s", 60), ("90 min", 5400), ("1.5h", 5400), ("1d", 86400), (30, 30),
    (dt.timedelta(minutes=2), 120), (np.timedelta64(5, "s"), 5),
])
def test_durations(value, seconds):
    assert to_seconds(value) == seconds


def test_quantity_duration():
    import astropy.units as u

    assert to_seconds(2 * u.min) == 120
    with pytest.raises(OrbitlatError, match="does not have time units"):
        to_seconds(3 * u.km)


@pytest.mark.parametrize("bad, match", [
    ("yesterday", "not an ISO 8601 time"),
    (object(), "is not a time"),
])
def test_bad_instants(bad, match):
    with pytest.raises(OrbitlatError, match=match):
        to_datetime64(bad)


def test_bad_spans():
    with pytest.raises(OrbitlatError, match="step must be positive"):
        TimeGrid.span("2026-01-01", "1d", 0)
    with pytest.raises(OrbitlatError, match="not a duration"):
        TimeGrid.span("2026-01-01", "one day", "60s")
    with pytest.raises(OrbitlatError, match="too many"):
        TimeGrid.span("2026-01-01", "10000d", "0.01s")
    with pytest.raises(OrbitlatError, match="no times given"):
        to_timegrid(start="2026-01-01")


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=dt.datetime(1960, 1, 1), max_value=dt.datetime(2100, 1, 1)))
def test_jd_split_is_exact(d):
    # the (whole, fraction) Julian date reproduces the instant to < 1 µs for any date 1960-2100
    tg = TimeGrid.at(d)
    whole, frac = tg.jd_utc
    ns = ((whole[0] - 2451545.0) + frac[0]) * 86400e9
    ref = (np.datetime64(d, "ns") - np.datetime64("2000-01-01T12:00", "ns")).astype(np.int64)
    assert abs(ns - ref) < 1e3 + abs(ref) * 1e-15


def test_chunks_cover_grid():
    tg = TimeGrid.span("2026-01-01", "1h", "60s")
    parts = list(tg.chunks(7))
    assert sum(len(p) for p in parts) == len(tg)
    assert np.array_equal(np.concatenate([p.utc for p in parts]), tg.utc)
