"""Coverage grids: areas against closed forms, regions, the land mask and population.

Outside references used here:
- sphere geometry: the area of the latitude band [a, b] is 2πR²(sin b − sin a), of a lon/lat
  rectangle R²·Δλ·(sin b − sin a); the whole sphere 4πR².
- the Fibonacci lattice puts its points at sin φ = 1 − (2i + 1)/N: exactly uniform in sin φ.
- land covers about 29% of the Earth's surface (148.9 of 510.1 million km², NOAA/CIA World Factbook),
  inland water (lakes) a little under 1% of it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from orbitlat.errors import OrbitlatError
from orbitlat.ground import Grid, weighted_quantile
from orbitlat.ground.land import land_mask, polygon_contains

R = 6378.137
SPHERE = 4 * np.pi * R**2


@pytest.fixture(scope="module")
def g1():
    return Grid.equal_area(1.0)


# --------------------------------------------------------------------------- equal-area ring grid
def test_equal_area_grid_areas_are_exactly_equal_and_sum_to_the_sphere(g1):
    L = g1.rings
    # recompute every cell's area from the band edges (closed form), independently of area_km2
    band = 2 * np.pi * R**2 * (np.sin(L.edge_lat_rad[1:]) - np.sin(L.edge_lat_rad[:-1]))
    cell = band / L.n_lon
    assert np.allclose(cell, SPHERE / g1.size, rtol=1e-9, atol=0)  # float rounding of sin/asin only
    assert g1.area_km2.sum() == pytest.approx(SPHERE, rel=1e-12)
    assert np.allclose(g1.area_km2, cell[0], rtol=1e-9)
    # about 4π/d² points for a d = 1° cell (41,253); rounding n_lon per ring moves it by < 0.1%
    assert abs(g1.size - 4 * np.pi / np.radians(1.0) ** 2) < 0.001 * g1.size
    assert L.n_rings == 180


def test_equal_area_cells_are_near_square(g1):
    L = g1.rings
    height = np.diff(L.edge_lat_rad)
    width = 2 * np.pi / L.n_lon * np.cos(L.lat_rad)
    aspect = height / width
    # rounding n_lon to an integer changes a ring's width by < 1/(2n); only the polar caps (3 wedges
    # of a cap, a triangle-like cell) stray further
    inner = np.abs(np.degrees(L.lat_rad)) < 80
    assert np.all(np.abs(aspect[inner] - 1) < 0.02)
    assert np.all((aspect > 0.6) & (aspect < 1.1))
    assert L.n_lon.min() == 3


def test_ring_points_lie_in_their_own_cells(g1):
    L = g1.rings
    assert np.array_equal(L.locate(g1.lat_deg, g1.lon_deg), np.arange(g1.size))
    ring = L.ring_of_points()
    lat = np.radians(g1.lat_deg)
    assert np.all((lat > L.edge_lat_rad[ring]) & (lat < L.edge_lat_rad[ring + 1]))
    assert np.all((g1.lon_deg >= -180) & (g1.lon_deg < 180))


@settings(max_examples=25, deadline=None)
@given(res=st.floats(0.7, 20.0))
def test_equal_area_any_resolution(res):
    g = Grid.equal_area(res)
    assert g.area_km2.sum() == pytest.approx(SPHERE, rel=1e-12)
    assert np.ptp(g.area_km2) <= 1e-9 * g.area_km2[0]
    # every band edge splits the sphere exactly: the cells south of edge e cover 2πR²(1 + sin e)
    edges = g.rings.edge_lat_rad
    for e in edges[1:-1:max(1, len(edges) // 7)]:
        south = g.area_km2[np.radians(g.lat_deg) < e].sum()
        assert south == pytest.approx(2 * np.pi * R**2 * (1 + np.sin(e)), rel=1e-9)


# --------------------------------------------------------------------------- lat/lon and Fibonacci
def test_latlon_grid_cell_areas_match_the_closed_form():
    g = Grid.latlon((2.0, 5.0))
    assert g.size == 90 * 72
    lat = np.radians(g.lat_deg)
    expected = R**2 * np.radians(5.0) * (np.sin(lat + np.radians(1.0)) - np.sin(lat - np.radians(1.0)))
    assert np.allclose(g.area_km2, expected, rtol=1e-12)
    assert g.area_km2.sum() == pytest.approx(SPHERE, rel=1e-12)
    assert g.is_ring and g.kind == "latlon"
    with pytest.raises(OrbitlatError, match="whole cells"):
        Grid.latlon(7.0)


def test_fibonacci_lattice_is_uniform_in_sin_latitude():
    n = 20_000
    g = Grid.fibonacci(n)
    assert g.area_km2.sum() == pytest.approx(SPHERE, rel=1e-12)
    assert not g.is_ring
    for a, b in [(-90, -60), (-10, 25), (40, 90), (0, 90)]:
        inside = np.count_nonzero((g.lat_deg >= a) & (g.lat_deg < b))
        # points sit at z = 1 - (2i+1)/N exactly: a band holds N(sin b - sin a)/2 points, ±1
        assert abs(inside - n * (np.sin(np.radians(b)) - np.sin(np.radians(a))) / 2) <= 1


# --------------------------------------------------------------------------- regions
def test_band_area_matches_the_closed_form(g1):
    b = g1.band(-30, 30)
    # half the sphere (sin 30° = 1/2), within the cells cut by the two band edges (2 rings)
    assert b.total_area_km2 / SPHERE == pytest.approx(0.5, abs=2 * 360 * g1.area_km2[0] / SPHERE)
    assert b.is_ring and b.rings is g1.rings
    assert np.all(np.abs(b.lat_deg) <= 30)


def test_bbox_across_the_antimeridian_and_polygon_agree(g1):
    box = g1.bbox(170.123, -170.123, -20.0, 35.5)
    assert np.all((np.abs(box.lon_deg) >= 170.123) & (box.lat_deg >= -20) & (box.lat_deg <= 35.5))
    expected = np.count_nonzero((np.abs(g1.lon_deg) >= 170.123) & (g1.lat_deg >= -20) & (g1.lat_deg <= 35.5))
    assert box.size == expected
    # the same rectangle as a polygon given with continuous longitudes (170 -> 190)
    poly = g1.polygon([170.123, 189.877, 189.877, 170.123], [-20.0, -20.0, 35.5, 35.5])
    assert set(zip(poly.lat_deg, poly.lon_deg)) == set(zip(box.lat_deg, box.lon_deg))
    # its area is R²·Δλ·(sin 35.5° − sin(−20°)) within the cells along the perimeter
    exact = R**2 * np.radians(19.754) * (np.sin(np.radians(35.5)) - np.sin(np.radians(-20)))
    perimeter_cells = 2 * (19.754 + 55.5)  # 1° cells along the edge; half of them in, on average
    assert poly.total_area_km2 == pytest.approx(exact, abs=0.5 * perimeter_cells * g1.area_km2[0])


def test_polygon_triangle_area_and_even_odd_rule():
    g = Grid.equal_area(0.5)
    # a triangle in the lon/lat plane: its exact area on the sphere is R² ∫∫ cos φ dφ dλ
    tri = g.polygon([0.0, 40.0, 0.0], [0.0, 0.0, 40.0])
    phi = np.linspace(0, np.radians(40), 200001)
    width = np.radians(40) - phi  # the triangle's width in longitude at latitude φ
    exact = R**2 * np.trapezoid(width * np.cos(phi), phi)
    assert tri.total_area_km2 == pytest.approx(exact, rel=0.02)  # perimeter cells, ~0.5°/40° scale
    # a square with a square hole (one ring: outer, then inner reversed) - the even-odd rule
    x = [0, 10, 10, 0, 0, 2, 2, 8, 8, 2]
    y = [0, 0, 10, 10, 0, 2, 8, 8, 2, 2]
    inside = polygon_contains(x, y, [1.0, 5.0, 9.0], [5.0, 5.0, 5.0])
    assert inside.tolist() == [True, False, True]


def test_region_errors_are_clear(g1):
    with pytest.raises(OrbitlatError, match="no points"):
        g1.bbox(10.0, 10.2, 0.0, 0.1)
    with pytest.raises(OrbitlatError, match="latitude band"):
        g1.band(10, -10)
    with pytest.raises(OrbitlatError, match="at least 3 vertices"):
        g1.polygon([0, 1], [0, 1])
    with pytest.raises(OrbitlatError, match="resolution_deg"):
        Grid.equal_area(0.0)
    with pytest.raises(OrbitlatError, match="outside ±90"):
        Grid.from_points([95.0], [0.0])
    with pytest.raises(OrbitlatError, match="positive integer"):
        Grid.fibonacci(0)


# --------------------------------------------------------------------------- land mask
def test_land_fraction_is_about_29_percent(g1):
    land = g1.land()
    frac = land.total_area_km2 / g1.total_area_km2
    # NOAA/CIA: 29.2% land incl. inland water; lakes count as water here (~0.3% of the surface);
    # 1° cells along coasts and GSHHS "low" shorelines move it by a few tenths of a percent
    assert frac == pytest.approx(0.289, abs=0.008)
    with_lakes = g1.land(lakes_are_land=True).total_area_km2 / g1.total_area_km2
    assert frac < with_lakes < frac + 0.01
    assert g1.ocean().size + land.size == g1.size


def test_land_mask_known_places():
    # Paris, mid-Atlantic, Sahara, Antarctic plateau, central Pacific, Lake Superior
    lat = [48.85, 30.0, 23.0, -80.0, 0.0, 47.7]
    lon = [2.35, -40.0, 10.0, 0.0, -160.0, -87.5]
    assert land_mask(lat, lon).tolist() == [True, False, True, True, False, False]
    assert land_mask(lat, lon, lakes_are_land=True).tolist()[-1] is True
    assert land_mask([48.85], [2.35], resolution="c", raster_min=10).tolist() == [True]
    with pytest.raises(OrbitlatError, match="raster_min"):
        land_mask([0.0], [0.0], raster_min=3)


# --------------------------------------------------------------------------- population
@pytest.fixture(scope="module")
def cities():
    from orbitlat.ground import GroundSites

    return GroundSites.cities()


def test_population_goes_to_the_containing_cell_and_nothing_is_lost(g1, cities):
    g = g1.with_population(cities)
    total = cities.df["population"].sum()
    assert g.population.sum() == pytest.approx(total, rel=1e-12)
    assert g.attrs["population_outside"] == 0.0
    # Shanghai (31.22 N, 121.46 E) is the largest city: its cell holds at least its people,
    # and that cell is the grid point nearest to it (1° cells: within ~0.75°)
    sh = cities.df.iloc[0]
    i = int(np.argmax(g.population))
    d = np.degrees(np.arccos(np.clip(np.sin(np.radians(sh.lat_deg)) * np.sin(np.radians(g.lat_deg[i]))
                                     + np.cos(np.radians(sh.lat_deg)) * np.cos(np.radians(g.lat_deg[i]))
                                     * np.cos(np.radians(sh.lon_deg - g.lon_deg[i])), -1, 1)))
    assert g.population[i] >= sh.population and d < 0.8
    # a regional subset keeps only its own people and says how many it dropped
    eu = g1.bbox(-10, 30, 35, 60).with_population(cities)
    in_box = cities.df[(cities.df.lon_deg.between(-10, 30)) & (cities.df.lat_deg.between(35, 60))].population.sum()
    assert eu.population.sum() == pytest.approx(in_box, rel=0.03)  # cells straddling the box edge
    assert eu.population.sum() + eu.attrs["population_outside"] == pytest.approx(total, rel=1e-12)


def test_population_on_a_fibonacci_grid_and_city_points(cities):
    g = Grid.fibonacci(5000).with_population(cities)
    assert g.population.sum() == pytest.approx(cities.df.population.sum(), rel=1e-12)
    c = Grid.cities(top=100)
    assert c.size == 100 and c.kind == "cities"
    assert np.allclose(c.weights, c.population / c.population.sum())
    with pytest.raises(OrbitlatError, match="population"):
        g.with_population(pd.DataFrame({"lat": [0.0]}))


def test_gpw_is_the_default_population_and_reproduces_the_source_file(shared_data):
    # The shipped grid is GPW v4.11 (CIESIN 2018, CC BY 4.0) unchanged: re-read the reference copy
    # independently (numpy.loadtxt of the ESRI ASCII grid) and compare cell by cell. GeoNames cities
    # of 15,000+ hold about 3.9 of the 8 billion (README of ../shared/data); GPW holds 7.97 billion.
    import gzip

    from orbitlat.ground.population import gpw

    raw = np.loadtxt(gzip.open(shared_data / "population" / "gpw_v4_population_count_rev11_2020_1_deg.asc.gz"),
                     skiprows=6)
    lat, lon, pop = gpw()
    np.testing.assert_array_equal(pop, np.where(raw < 0, 0.0, raw))
    assert lat[0] == 89.5 and lat[-1] == -89.5 and lon[0] == -179.5
    total = float(pop.sum())
    assert total == pytest.approx(7.97e9, rel=1e-3) and int((pop > 0).sum()) == 16988
    for res in (1.0, 2.0, 6.0):
        g = Grid.equal_area(res).with_population()
        assert g.population.sum() + g.attrs["population_outside"] == pytest.approx(total, rel=1e-12)
        assert g.attrs["population_outside"] == 0.0 and "GPW v4.11" in g.attrs["population_source"]
    c = Grid.equal_area(2.0).with_population(source="cities")
    assert 3.5e9 < c.population.sum() < 4.3e9 and "GeoNames" in c.attrs["population_source"]
    with pytest.raises(OrbitlatError, match="source="):
        Grid.equal_area(6.0).with_population(source="worldpop")


def test_gpw_people_sit_where_they_live():
    # Dhaka (23.8 N, 90.4 E) lies in one of the most crowded 1° cells on Earth (GPW: tens of millions);
    # the Sahara cell at 23.5 N 10.5 E holds almost nobody; on a 1° equal-area grid both stay put.
    from orbitlat.ground.population import gpw

    lat, lon, pop = gpw()
    cell = lambda la, lo: pop[int(np.argmin(np.abs(lat - la))), int(np.argmin(np.abs(lon - lo)))]
    assert cell(23.5, 90.5) > 2e7 and cell(23.5, 10.5) < 1e4
    g = Grid.equal_area(1.0).with_population()
    i = int(np.argmin((g.lat_deg - 23.8) ** 2 + ((g.lon_deg - 90.4) * np.cos(np.radians(23.8))) ** 2))
    assert g.population[i] > 5e6


def test_population_cells_as_latency_users_match_national_censuses():
    # Every populated cell is a user, at the people-weighted centroid of its cell, with its country
    # from the nearest GeoNames city. Summed by country they match the 2020 census counts within the
    # border-cell error (US Census 2020: 331.4 M; China's 7th census 2020: 1,411.8 M; IBGE Brazil
    # 2020 estimate: 211.8 M): within 8 %.
    from orbitlat.ground import GroundSites

    u1 = GroundSites.population_cells()
    assert len(u1) == 16988 and set(u1.kind) == {"user"}
    assert u1.population.sum() == pytest.approx(7.97e9, rel=1e-3)
    by = u1.df.groupby("country_code")["population"].sum()
    for cc, census in (("US", 331.4e6), ("CN", 1411.8e6), ("BR", 211.8e6)):
        assert by[cc] == pytest.approx(census, rel=0.08), cc
    u3 = GroundSites.population_cells(3.0, min_population=1e5)
    assert len(u3) < 2454 and u3.population.sum() > 0.99 * u1.population.sum()
    assert np.all(np.diff(u3.population) <= 0)  # largest first
    with pytest.raises(OrbitlatError, match="whole number of degrees"):
        GroundSites.population_cells(2.5)


def test_weighted_quantile():
    assert float(weighted_quantile([1, 2, 3, 4], [1, 1, 1, 1], 0.5)) == 2.5
    # a weight of 3 on the value 10 puts the median there
    assert float(weighted_quantile([0, 10], [1, 3], 0.5)) == pytest.approx(10 * (0.5 - 0.125) / (0.625 - 0.125))
    assert np.isnan(weighted_quantile([np.nan], [1.0], 0.5))
