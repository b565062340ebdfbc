"""Time-lapse animations: satellites, their footprints (or how many see each place) and routed paths
moving over the map, written as an animated GIF (or WebP / APNG) with Pillow, offline.

Each frame is one time step of an ITRS ephemeris. The map (land, coastlines, graticule, title) is
drawn once; every frame then restores that background and draws only what moves (blitting), so a
frame costs a few tens of milliseconds. Frames are quantised to one shared 256-colour palette (no
flicker between frames) and written by Pillow, which matplotlib already depends on: no ffmpeg, no
network. MP4 needs an ffmpeg binary, which orbitlat does not assume.

>>> import tempfile, pathlib, orbitlat as ol
>>> eph = ol.presets.get("iridium").propagate(start="2026-01-01", duration="20min", step="5min",
...                                            backend="kepler-j2", frame="ITRS")
>>> out = animate(eph, pathlib.Path(tempfile.mkdtemp()) / "iridium.gif", dpi=40)
>>> from PIL import Image
>>> Image.open(out).n_frames
5
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["animate", "FORMATS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Output formats by file suffix (all written by Pillow).
FORMATS = {".gif": "GIF", ".webp": "WEBP", ".png": "PNG", ".apng": "PNG"}

#: Colours of what moves.
_SAT_COLOR = "#d62728"
_PATH_COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2")


def _palette(img, exact: Sequence[str]):
    """One 256-colour palette for every frame: the first frame's 240 main colours plus the exact colours
    of what moves (satellites, paths), which a frame's few pixels of them would not earn otherwise."""
    from matplotlib.colors import to_rgb
    from PIL import Image

    base = img.quantize(colors=240, method=Image.Quantize.MEDIANCUT).getpalette()[: 240 * 3]
    base += [0] * (240 * 3 - len(base))
    for c in exact[:16]:
        base += [int(round(255 * v)) for v in to_rgb(c)]
    base += [255] * (768 - len(base))
    pal = Image.new("P", (1, 1))
    pal.putpalette(base)
    return pal


def _frame_indices(n: int, every: int, max_frames: int) -> np.ndarray:
    idx = np.arange(0, n, max(1, int(every)))
    if idx.size > max_frames:
        idx = idx[np.linspace(0, idx.size - 1, max_frames).round().astype(int)]
    return idx


def _path_table(latency, pairs):
    """{time (datetime64[ns]): [(pair_index, node tuple), ...]} and the pair labels."""
    import pandas as pd

    if not hasattr(latency, "paths") or not hasattr(latency, "nodes"):
        raise OrbitlatError(f"paths= takes a LatencyResult (from orbitlat.latency); got {type(latency).__name__}.")
    df = latency.paths
    if df is None or len(df) == 0:
        raise OrbitlatError("the LatencyResult has no paths; route with paths='all' (or 'changes') to animate them.")
    if pairs is None:
        pairs = list(dict.fromkeys(zip(df["src"].astype(str), df["dst"].astype(str))))[: len(_PATH_COLORS)]
    pairs = [(str(a), str(b)) for a, b in pairs]
    known = set(zip(df["src"].astype(str), df["dst"].astype(str)))
    missing = [p for p in pairs if p not in known]
    if missing:
        raise OrbitlatError(f"no path rows for {missing[:3]}; pairs available: {sorted(known)[:6]}.")
    times = np.sort(pd.unique(df["time"].to_numpy().astype("datetime64[ns]")))
    out = {}
    for k, (a, b) in enumerate(pairs):
        rows = df[(df["src"].astype(str) == a) & (df["dst"].astype(str) == b)].sort_values("time")
        t = rows["time"].to_numpy().astype("datetime64[ns]")
        paths = rows["path"].tolist()
        # paths="changes" keeps a row when the path changes: it holds until the next row
        for tt in times:
            j = int(np.searchsorted(t, tt, side="right")) - 1
            if j >= 0:
                out.setdefault(tt, []).append((k, paths[j]))
    return out, pairs


@accepts_units
def animate(ephemeris, out: str | os.PathLike, *, paths: Any = None, pairs: Sequence[tuple[str, str]] | None = None,
            odc_ephemeris: Any = None, min_elevation_deg: float = 25.0, footprints: str | None = "auto",
            resolution_deg: float = 2.0, projection: Any = None, every: int = 1, max_frames: int = 240,
            fps: float = 8.0, dpi: float = 80.0, figsize: tuple[float, float] = (8.0, 4.6),
            title: str | None = None, sat_size: float = 2.0, earth_radius_km: float = WGS84_A_KM) -> Path:
    """Write a time-lapse of satellites, footprints and routed paths over an ephemeris' span.

    Parameters
    ----------
    ephemeris : xarray.Dataset
        ITRS ephemeris (``propagate(..., frame="ITRS")``); one frame per time step (see ``every``).
    out : path
        Output file: ``.gif`` (default choice, plays everywhere), ``.webp`` or ``.png``/``.apng``.
    paths : LatencyResult, optional
        Routed paths to draw (route with ``paths="all"``, or ``"changes"``: a path holds until it
        changes). Satellite nodes are placed at their sub-satellite points from ``ephemeris`` (whose
        satellites must be the network's, in its order), ground nodes at the result's
        ``nodes.lat_deg/lon_deg``, an orbital data centre at the centroid of ``odc_ephemeris``.
    pairs : sequence of (src, dst), optional
        Which (source, destination) paths to draw; default the first six in the result.
    odc_ephemeris : xarray.Dataset, optional
        ITRS ephemeris of the orbital data-centre cluster (same times), for paths that end there; the
        cluster is drawn as a gold star.
    min_elevation_deg : float
        Elevation mask of the footprints.
    footprints : {'auto', 'caps', 'count', None}
        Cap outlines, the overlap count (how many satellites see each place, on a
        ``resolution_deg`` grid), the choice of :func:`orbitlat.viz.maps.footprint_map`, or none.
    resolution_deg : float
        Cell size of the count raster.
    projection : cartopy CRS or str, optional
        Default PlateCarree.
    every : int
        Use every ``every``-th time step.
    max_frames : int
        At most this many frames (evenly spread over the span).
    fps : float
        Frames per second of the file.
    dpi, figsize
        Frame size (the default is 640 x 368 pixels).
    title : str, optional
        Fixed title; the UTC time of each frame is written below it.
    sat_size : float
        Satellite marker size (points).
    earth_radius_km : float
        Sphere radius of the footprints.

    Returns
    -------
    pathlib.Path
        The file written (replaced atomically).

    Raises
    ------
    OrbitlatError
        Not an ITRS ephemeris, an unknown suffix, paths that do not belong to this ephemeris.
    """
    from PIL import Image

    from orbitlat.ground.geodesy import itrs_to_geocentric
    from orbitlat.ground.geodesy import itrs_to_geodetic
    from orbitlat.viz.basemap import LAND_COLOR, _cartopy, _lines_to_lonlat, _project_lonlat_lines, base_map
    from orbitlat.viz.seams import footprint_half_angle_deg, footprint_outline
    from orbitlat.viz.tracks import CAPS_COVER_LIMIT, _check_ephemeris

    out = Path(out)
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise OrbitlatError(f"cannot write an animation to {out.name!r}; use one of {', '.join(FORMATS)} "
                            "(MP4 would need an ffmpeg binary, which orbitlat does not assume).")
    if footprints not in ("auto", "caps", "count", None):
        raise OrbitlatError(f"footprints={footprints!r}: use 'auto', 'caps', 'count' or None.")
    if not (np.isfinite(fps) and fps > 0):
        raise OrbitlatError(f"fps={fps!r} must be a positive number of frames per second.")
    _check_ephemeris(ephemeris, "animate")
    ccrs = _cartopy()
    pos = ephemeris["position"].transpose("time", "sat", "xyz").to_numpy()
    times = ephemeris["time"].to_numpy().astype("datetime64[ns]")
    idx = _frame_indices(times.size, every, int(max_frames))
    n_sat = pos.shape[1]

    table, pair_labels = ({}, [])
    node_ll = None
    odc_pos = None
    if paths is not None:
        table, pair_labels = _path_table(paths, pairs)
        n_net = int(paths.attrs.get("n_satellites", (paths.nodes["kind"] == "satellite").sum()))
        if n_net != n_sat:
            raise OrbitlatError(f"the paths route over {n_net} satellites but the ephemeris has {n_sat}; animate "
                                "with the ephemeris of the network's own constellation.")
        node_ll = paths.nodes[["lat_deg", "lon_deg"]].to_numpy(float) if "lat_deg" in paths.nodes else None
        if node_ll is None:
            raise OrbitlatError("the LatencyResult's nodes carry no positions (lat_deg, lon_deg); re-run the routing.")
        if odc_ephemeris is not None:
            _check_ephemeris(odc_ephemeris, "animate (odc_ephemeris)")
            odc_pos = odc_ephemeris["position"].transpose("time", "sat", "xyz").to_numpy().mean(axis=1)
            if odc_pos.shape[0] != times.size:
                raise OrbitlatError("odc_ephemeris must have the same time steps as ephemeris.")

    # the static map
    fig = base_map(projection=projection, figsize=figsize, land_color=LAND_COLOR,
                   title=title if title is not None else " ")
    fig.set_dpi(dpi)
    ax = fig.axes[0]
    pc = ccrs.PlateCarree()
    coast = [ln for ln in ax.lines if ln.get_label() == "_coastlines"]
    clock = ax.text(0.995, 0.99, "", transform=ax.transAxes, ha="right", va="top", fontsize=8, color="0.15",
                    zorder=8, bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none", "pad": 1.5})

    # what moves
    geo_lat, geo_lon, alt = itrs_to_geocentric(pos[idx].reshape(-1, 3), radius_km=earth_radius_km)
    lam = footprint_half_angle_deg(alt, min_elevation_deg, earth_radius_km).reshape(idx.size, n_sat)
    geo_lat, geo_lon = geo_lat.reshape(idx.size, n_sat), geo_lon.reshape(idx.size, n_sat)
    mode = footprints
    if mode == "auto":
        ok = np.isfinite(lam[0]) & (lam[0] > 0)
        mode = "count" if float(np.sum((1 - np.cos(np.radians(lam[0][ok]))) / 2)) > CAPS_COVER_LIMIT else "caps"
    dynamic = []
    mesh = caps_line = None
    if mode == "count":
        import matplotlib
        from matplotlib.colors import BoundaryNorm

        from orbitlat.ground.grids import Grid
        from orbitlat.visibility.footprints import cap_counts

        g = Grid.latlon(resolution_deg, radius_km=earth_radius_km)
        n_lat, n_lon = int(round(180.0 / g.attrs["dlat_deg"])), int(round(360.0 / g.attrs["dlon_deg"]))
        counts = cap_counts(g, pos[idx], min_elevation_deg, earth_radius_km=earth_radius_km).reshape(
            idx.size, n_lat, n_lon)
        top = max(int(counts.max()), 1)
        cm = matplotlib.colormaps["Blues"].resampled(max(top, 2) + 2)
        glat = g.lat_deg.reshape(n_lat, n_lon)[:, 0]
        glon = g.lon_deg.reshape(n_lat, n_lon)[0]
        mesh = ax.pcolormesh(glon, glat, np.ma.masked_less(counts[0], 1), cmap=cm,
                             norm=BoundaryNorm(np.arange(-1.5, top + 1.5), cm.N), shading="nearest", transform=pc,
                             zorder=1.6, alpha=0.6, animated=True)
        from orbitlat.viz.layout import finish_layout, state

        cb = fig.colorbar(mesh, cax=fig.add_axes([0.9, 0.15, 0.02, 0.7]))
        cb.set_label(f"satellites in view (ε ≥ {min_elevation_deg:g}°)", fontsize=7)
        cb.ax.tick_params(labelsize=6)
        state(ax).colorbar = cb
        finish_layout(fig, ax, title if title is not None else " ", gridlabels=True)  # room for the bar
        from matplotlib.ticker import MaxNLocator

        cb.locator = MaxNLocator(integer=True)
        cb.update_ticks()
        dynamic.append(mesh)
    elif mode == "caps":
        (caps_line,) = ax.plot([], [], color="#1f77b4", linewidth=0.6, alpha=0.8, transform=ax.transData,
                               animated=True, zorder=2.6)
        dynamic.append(caps_line)
    dynamic.extend(coast)
    for c in coast:
        c.set_animated(True)
    dots = ax.scatter([], [], s=sat_size, color=_SAT_COLOR, transform=pc, zorder=4, animated=True, linewidths=0,
                      alpha=0.8)
    dynamic.append(dots)
    star = None
    if odc_pos is not None:
        star = ax.scatter([], [], marker="*", s=150, color="gold", edgecolors="black", linewidths=0.6, transform=pc,
                          zorder=6, animated=True)
        dynamic.append(star)
    path_lines = []
    for k in range(len(pair_labels)):
        (ln,) = ax.plot([], [], color=_PATH_COLORS[k % len(_PATH_COLORS)], linewidth=1.6, transform=ccrs.Geodetic(),
                        zorder=5, animated=True, solid_capstyle="round")
        path_lines.append(ln)
    dynamic.extend(path_lines)
    if pair_labels:
        from matplotlib.lines import Line2D

        handles = [Line2D([], [], color=_PATH_COLORS[k % len(_PATH_COLORS)], linewidth=1.6)
                   for k in range(len(pair_labels))]
        leg = ax.legend(handles, [f"{a} → {b}" for a, b in pair_labels], loc="lower left", fontsize=6,
                        framealpha=0.85)
        leg.set_animated(True)  # drawn after the moving layers, so they do not veil it
        dynamic.append(leg)

    fig.canvas.draw()
    canvas = fig.canvas
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    palette_img = None
    for f, ti in enumerate(idx):
        canvas.restore_region(background)
        if mesh is not None:
            mesh.set_array(np.ma.masked_less(counts[f], 1).ravel())
        if caps_line is not None:
            ok = np.isfinite(lam[f]) & (lam[f] > 0)
            rl, rn = footprint_outline(geo_lat[f][ok], geo_lon[f][ok], lam[f][ok], 73)
            lo, la = _lines_to_lonlat([np.column_stack([a, b]) for a, b in zip(rn, rl)])
            caps_line.set_data(*_project_lonlat_lines(ax.projection, lo, la))
        ok = np.isfinite(geo_lat[f])
        dots.set_offsets(np.column_stack([geo_lon[f][ok], geo_lat[f][ok]]))
        for ln in path_lines:
            ln.set_data([], [])
        for k, nodes in table.get(times[ti], []):
            ll = []
            for nd in nodes:
                nd = int(nd)
                if nd < n_sat:
                    la_, lo_, _ = itrs_to_geodetic(pos[ti, nd])
                    ll.append((float(lo_), float(la_)))
                elif np.isfinite(node_ll[nd]).all():
                    ll.append((node_ll[nd, 1], node_ll[nd, 0]))
                elif odc_pos is not None:
                    la_, lo_, _ = itrs_to_geodetic(odc_pos[ti])
                    ll.append((float(lo_), float(la_)))
            if len(ll) >= 2:
                path_lines[k].set_data([p[0] for p in ll], [p[1] for p in ll])
        if star is not None:
            la_, lo_, _ = itrs_to_geodetic(odc_pos[ti])
            star.set_offsets([[float(lo_), float(la_)]])
        clock.set_text(np.datetime_as_string(times[ti], unit="m").replace("T", " ") + " UTC")
        for a in dynamic:
            ax.draw_artist(a)
        ax.draw_artist(clock)
        rgba = np.asarray(canvas.buffer_rgba())
        img = Image.fromarray(rgba[..., :3].copy())
        if fmt == "GIF":
            if palette_img is None:
                palette_img = _palette(img, [_SAT_COLOR, *_PATH_COLORS])
            img = img.quantize(palette=palette_img, dither=Image.Dither.NONE)
        frames.append(img)
    canvas.restore_region(background)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.part")
    kw = dict(save_all=True, append_images=frames[1:], duration=int(round(1000.0 / fps)), loop=0)
    if fmt == "WEBP":
        kw.update(lossless=False, quality=80)
    frames[0].save(tmp, format=fmt, **kw)
    os.replace(tmp, out)
    return out
