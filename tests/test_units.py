"""Units at the edge (orbitlat.units) and ISO 8601 durations (orbitlat.time.to_seconds).

References:
- ISO 8601-1:2019 §5.5.2.4 (durations "PnYnMnDTnHnMnS" and "PnW"; a comma or a full stop as the
  decimal sign); the worked values below follow from the definition (1 W = 7 D, 1 D = 24 H here:
  orbitlat works in UTC seconds without leap seconds inside a span).
- astropy.units for the conversions (1 rad = 180/π deg, 1 arcmin = 1/60 deg, 1 Mm = 1000 km):
  every Quantity result must equal the plain-number result in the function's own unit, to float
  round-off (rel 1e-12: one conversion multiplies by an exact or correctly rounded factor).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import inspect
import pkgutil

import astropy.units as u
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import orbitlat
from orbitlat.errors import OrbitlatError
from orbitlat.time import TimeGrid, to_seconds
from orbitlat.units import accepts_units, to_value, unit_of

# ---------------------------------------------------------------------------
# ISO 8601 durations
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("text, seconds", [
    ("PT1H", 3600.0), ("PT90M", 5400.0), ("PT1M", 60.0), ("PT0.5S", 0.5), ("PT0,5S", 0.5),
    ("P1D", 86400.0), ("P1DT12H", 129600.0), ("P2W", 14 * 86400.0), ("PT1H30M15S", 5415.0),
    ("pt2h", 7200.0), ("-PT5M", -300.0),
])
def test_iso_8601_durations(text, seconds):
    assert to_seconds(text) == seconds


@pytest.mark.parametrize("text", ["P1Y", "P2M", "P1Y2M3D"])
def test_iso_years_and_months_are_refused_with_the_reason(text):
    with pytest.raises(OrbitlatError, match="length varies"):
        to_seconds(text)


@pytest.mark.parametrize("text", ["P", "PT", "P1DT", "PT1Hx", "1 fortnight"])
def test_unreadable_durations_say_what_works(text):
    with pytest.raises(OrbitlatError, match="ISO 8601"):
        to_seconds(text)


def test_time_grid_and_propagate_take_iso_durations():
    tg = TimeGrid.span("2026-01-01", "PT1H", "PT1M")
    assert len(tg) == 61 and tg.step_s == 60.0
    eph = orbitlat.presets.get("iridium").propagate(start="2026-01-01", duration="PT10M", step="PT5M",
                                                   backend="kepler-j2")
    assert eph.sizes["time"] == 3


# ---------------------------------------------------------------------------
# the conversion helper
# ---------------------------------------------------------------------------

def test_unit_of_reads_the_suffix():
    assert unit_of("min_elevation_deg") == "deg"
    assert unit_of("area_km2") == "km2"
    assert unit_of("speed_km_s") == "km / s"
    assert unit_of("hop_delay_ms") == "ms"
    assert unit_of("ltan_hours") == "h"
    assert unit_of("k") is None and unit_of("raster_min") is None


def test_to_value_quantities_skyfield_and_durations():
    from skyfield.units import Angle, Distance

    assert to_value(0.5 * u.rad, "deg", "x_deg") == pytest.approx(np.degrees(0.5), rel=1e-15)
    assert to_value(Angle(degrees=12.5), "deg", "x_deg") == 12.5
    assert to_value(Distance(km=550.0), "km", "x_km") == 550.0
    assert to_value(dt.timedelta(minutes=2), "s", "x_s") == 120.0
    assert to_value(np.timedelta64(3, "s"), "s", "x_s") == 3.0
    assert to_value(pd.Timedelta("1min"), "s", "x_s") == 60.0
    assert to_value("PT1M", "s", "x_s") == 60.0
    arr = to_value([1.0, 2.0] * u.Mm, "km", "x_km")
    assert isinstance(arr, np.ndarray) and arr.tolist() == [1000.0, 2000.0]
    plain = [1, 2]
    assert to_value(plain, "km", "x_km") is plain  # values without a unit pass through untouched
    assert to_value([1 * u.km, 500 * u.m], "km", "x_km").tolist() == [1.0, 0.5]   # a list of Quantities
    assert to_value((Angle(degrees=1.0), 60 * u.arcmin), "deg", "x_deg").tolist() == [1.0, 1.0]


def test_wrong_unit_names_the_argument_and_the_unit():
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground.grids import Grid

    with pytest.raises(OrbitlatError, match=r"coverage: min_elevation_deg=.*'km'.*cannot be converted to deg"):
        coverage(orbitlat.presets.get("iridium"), Grid.equal_area(20.0), start="2026-01-01", duration="10min",
                 step="5min", min_elevation_deg=25 * u.km)


def test_decorator_keeps_signature_and_marks_the_units():
    @accepts_units(skip=("lat_s",))
    def f(altitude_km, lat_s=0.0, *, dwell_s=1.0, k=1):
        return altitude_km, lat_s, dwell_s, k

    assert list(inspect.signature(f).parameters) == ["altitude_km", "lat_s", "dwell_s", "k"]
    assert f.__orbitlat_units__ == {"altitude_km": "km", "dwell_s": "s"}
    assert f(1 * u.Mm, "x", dwell_s="PT2S") == (1000.0, "x", 2.0, 1)
    assert accepts_units(f) is f  # idempotent


# ---------------------------------------------------------------------------
# the public API accepts Quantities everywhere (the failing example first)
# ---------------------------------------------------------------------------

def test_coverage_with_a_quantity_mask_equals_the_plain_call():
    from orbitlat.coverage.compute import coverage
    from orbitlat.ground.grids import Grid

    c, g = orbitlat.presets.get("iridium"), Grid.equal_area(10.0)
    kw = dict(start="2026-01-01", duration="30min", step="5min")
    a = coverage(c, g, min_elevation_deg=25.0, **kw)
    b = coverage(c, g, min_elevation_deg=25 * u.deg, **kw)
    r = coverage(c, g, min_elevation_deg=np.radians(25.0) * u.rad, **kw)
    np.testing.assert_array_equal(a.ds.covered_fraction.values, b.ds.covered_fraction.values)
    np.testing.assert_array_equal(a.ds.covered_fraction.values, r.ds.covered_fraction.values)


@settings(max_examples=30, deadline=None)
@given(lat1=st.floats(-89, 89), lon1=st.floats(-180, 180), lat2=st.floats(-89, 89), lon2=st.floats(-180, 180))
def test_great_circle_in_radians_equals_degrees(lat1, lon1, lat2, lon2):
    from orbitlat.ground.geodesy import great_circle_km

    plain = great_circle_km(lat1, lon1, lat2, lon2)
    q = great_circle_km(np.radians(lat1) * u.rad, (lon1 * 60.0) * u.arcmin, lat2 * u.deg, lon2 * u.deg,
                        radius_km=6371.0088e3 * u.m)
    assert float(q) == pytest.approx(float(great_circle_km(lat1, lon1, lat2, lon2, radius_km=6371.0088)),
                                     rel=1e-12, abs=1e-9)
    assert np.isfinite(plain)


@settings(max_examples=20, deadline=None)
@given(alt=st.floats(300.0, 2000.0), eps=st.floats(0.0, 60.0))
def test_footprint_quantities(alt, eps):
    from orbitlat.visibility.footprints import footprint

    a = footprint(alt, eps)
    b = footprint((alt * 1000.0) * u.m, np.radians(eps) * u.rad)
    assert float(b.half_angle_deg) == pytest.approx(float(a.half_angle_deg), rel=1e-12, abs=1e-12)


def test_builders_sites_networks_and_configs_take_quantities():
    from skyfield.units import Distance

    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.network import Network
    from orbitlat.latency.terrestrial.simple import FiberModel
    from orbitlat.orbits.walker import walker_delta
    from orbitlat.report.build import ReportConfig

    a = walker_delta(53.0, 24, 3, 1, altitude_km=550.0)
    b = walker_delta(53 * u.deg, 24, 3, 1, altitude_km=Distance(km=550.0))
    pd.testing.assert_frame_equal(a.table, b.table)
    s = GroundSites(["x"], 45 * u.deg, 0.1 * u.rad, alt_km=300 * u.m, min_elevation_deg=10 * u.deg)
    assert s.lon_deg[0] == pytest.approx(np.degrees(0.1)) and s.alt_km[0] == pytest.approx(0.3)
    net = Network(a, isl_max_km=5 * u.Mm, gsl_max_range_km=2000 * u.km)
    assert net.isl_max_km == 5000.0 and isinstance(net.isl_max_km, float)
    assert FiberModel(overhead_ms=0.002 * u.s).overhead_ms == pytest.approx(2.0)
    assert FiberModel().rtt_ms(1 * u.Mm) == pytest.approx(FiberModel().rtt_ms(1000.0))  # distance form, km
    assert ReportConfig(min_elevation_deg=25 * u.deg).min_elevation_deg == 25.0


# ---------------------------------------------------------------------------
# completeness: every public function and dataclass with unit-named arguments converts them
# ---------------------------------------------------------------------------

#: Public callables with unit-like suffixes that are deliberately not converted, and why.
EXEMPT = {
    # lat_s/lon_s are the satellite's latitude/longitude in radians ("_s" = satellite), internal layout
    "orbitlat.visibility.footprints.ring_runs",
}
#: Dataclasses with unit-suffixed fields that are internal records built by orbitlat itself from
#: already-converted arrays (users get them back, they do not build them) or frozen definitions.
EXEMPT_DATACLASSES = {
    "orbitlat.ground.coastlines.Boundaries", "orbitlat.ground.grids.RingLayout",
    "orbitlat.latency.hypatia.HypatiaShell", "orbitlat.latency.network.NetworkStep",
    "orbitlat.visibility.engine.SiteIndex", "orbitlat.visibility.engine.VisiblePairs",
    "orbitlat.latency.access.EndpointPlan", "orbitlat.latency.terrestrial.base.TerrestrialRoute",
}


def _public_modules():
    out = []
    for m in pkgutil.walk_packages(orbitlat.__path__, "orbitlat."):
        if any(part.startswith("_") for part in m.name.split(".")):
            continue
        out.append(importlib.import_module(m.name))
    return out


def _public_callables():
    seen = {}
    for mod in _public_modules():
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if inspect.isclass(obj):
                for k, v in vars(obj).items():
                    if k.startswith("_") and k != "__init__":
                        continue
                    f = v.__func__ if isinstance(v, (classmethod, staticmethod)) else v
                    if inspect.isfunction(f):
                        seen.setdefault(f"{obj.__module__}.{obj.__qualname__}.{k}", (obj, f))
            elif inspect.isfunction(obj):
                seen.setdefault(f"{obj.__module__}.{obj.__qualname__}", (None, obj))
    return seen


def test_every_public_unit_argument_accepts_quantities():
    missing = []
    for key, (cls, f) in _public_callables().items():
        if key in EXEMPT or "<locals>" in key:
            continue
        if cls is not None and dataclasses.is_dataclass(cls) and f.__name__ == "__init__":
            continue  # the generated __init__: checked below through __post_init__
        params = [p for p in inspect.signature(f).parameters if unit_of(p)]
        if params and not hasattr(f, "__orbitlat_units__"):
            missing.append(f"{key}{params}")
    assert not missing, "decorate with orbitlat.units.accepts_units: " + "; ".join(missing)


def test_every_public_dataclass_with_unit_fields_converts_them():
    missing = []
    for mod in _public_modules():
        for name in getattr(mod, "__all__", []):
            cls = getattr(mod, name, None)
            if not (inspect.isclass(cls) and dataclasses.is_dataclass(cls)):
                continue
            key = f"{cls.__module__}.{cls.__qualname__}"
            if key in EXEMPT_DATACLASSES or not any(unit_of(f.name) for f in dataclasses.fields(cls)):
                continue
            post = getattr(cls, "__post_init__", None)
            if post is None or "convert_fields" not in inspect.getsource(post):
                missing.append(key)
    assert not missing, "call orbitlat.units.convert_fields(self) in __post_init__: " + ", ".join(sorted(set(missing)))


def test_route_options_take_quantities():
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.routing import Delays, RouteOptions

    users = GroundSites(["Lagos", "Lima"], [6.45, -12.05], [3.40, -77.04])
    kw = dict(start="2026-01-01", duration="10min", step="5min")
    a = orbitlat.latency.via_isl("iridium", users, "stargate", min_elevation_deg=20.0, hop_delay_ms=1.0, **kw)
    b = orbitlat.latency.via_isl("iridium", users, "stargate", min_elevation_deg=20 * u.deg,
                                 hop_delay_ms=1000 * u.us, **kw)
    np.testing.assert_array_equal(a.rtt_ms.values, b.rtt_ms.values)
    assert Delays(access_ms=0.015 * u.s).access_ms == pytest.approx(15.0)
    assert RouteOptions(min_elevation_deg=0.5 * u.rad).min_elevation_deg == pytest.approx(np.degrees(0.5))
