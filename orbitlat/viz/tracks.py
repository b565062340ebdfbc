"""Orbits on a map: ground tracks over a span and footprints at an instant.
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.viz.basemap import (LAND_COLOR, _add_polygons, _background, _cartopy, _central_lon, _colorbar, _finish,
                                  _legend_entry, _lines_to_lonlat, _map_axes, _note, _pieces, _project_lonlat_lines)
from orbitlat.viz.seams import _as_float, footprint_half_angle_deg, footprint_outline, footprint_polygons
from orbitlat.units import accepts_units

__all__ = ["ground_track_map", "footprint_map"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def _select_sats(ds, sats):
    if sats is None:
        return ds
    n = ds.sizes["sat"]
    if isinstance(sats, (int, np.integer)):
        sats = [int(sats)]
    arr = np.asarray(sats)
    if arr.dtype == bool:
        if arr.shape != (n,):
            raise OrbitlatError(f"a boolean sats mask needs one value per satellite ({n}); got shape {arr.shape}.")
        return ds.isel(sat=np.flatnonzero(arr))
    if arr.dtype.kind in "iu":
        if arr.size and (arr.min() < -n or arr.max() >= n):
            raise OrbitlatError(f"sats indices must be within [0, {n}); got {arr.min()}..{arr.max()}.")
        return ds.isel(sat=arr.astype(np.int64))
    if arr.dtype.kind in "UO":
        names = np.asarray(ds["name"].values).astype(str) if "name" in ds.coords else None
        if names is None:
            raise OrbitlatError("the ephemeris has no 'name' coordinate; select satellites by index instead.")
        idx = []
        for s in arr.astype(str).tolist():
            hit = np.flatnonzero(names == s)
            if hit.size == 0:
                raise OrbitlatError(f"no satellite named {s!r} in the ephemeris (e.g. {', '.join(names[:3])}...).")
            idx.extend(hit.tolist())
        return ds.isel(sat=np.asarray(idx))
    raise OrbitlatError(f"sats must be indices, names or a boolean mask; got {sats!r}.")

def _check_ephemeris(ds, what: str):
    import xarray as xr

    if not isinstance(ds, xr.Dataset) or "position" not in ds:
        raise OrbitlatError(
            f"{what} needs the ephemeris Dataset from propagate(..., frame='ITRS') (with a 'position' variable); "
            f"got {type(ds).__name__}."
        )
    dims = ds["position"].dims
    if set(dims) != {"time", "sat", "xyz"}:
        raise OrbitlatError(f"{what}: position must have dims (time, sat, xyz); got {dims}.")
    from orbitlat.ground.geodesy import _check_itrs_frame

    _check_itrs_frame(ds, "the ephemeris Dataset")

def _time_index(ds, time) -> int:
    n = ds.sizes["time"]
    if time is None:
        return 0
    if isinstance(time, (int, np.integer)):
        if not -n <= int(time) < n:
            raise OrbitlatError(f"time index {time} is outside the ephemeris' {n} steps.")
        return int(time) % n
    from orbitlat.time import to_datetime64

    t = to_datetime64(time, "time")
    if t.size != 1:
        raise OrbitlatError("time must be one instant (an index, datetime or ISO string).")
    tv = ds["time"].values.astype("datetime64[ns]")
    i = int(np.argmin(np.abs(tv - t[0])))
    step = np.median(np.diff(tv)) if tv.size > 1 else np.timedelta64(0, "ns")
    if abs(tv[i] - t[0]) > max(step, np.timedelta64(1, "s")):
        raise OrbitlatError(
            f"time {t[0]} is not within the ephemeris ({tv[0]} .. {tv[-1]}); pick a time inside it or an index."
        )
    return i

def _sat_colors(ds, color, cmap):
    """(one RGBA per satellite, {legend label: RGBA} per colour group, what the colour means)."""
    import matplotlib

    n = ds.sizes["sat"]
    if color is not None:
        rgba = matplotlib.colors.to_rgba(color)
        return [rgba] * n, {"ground track": rgba}, None
    cm = matplotlib.colormaps[cmap]
    by_plane = "plane" in ds.coords and (np.asarray(ds["plane"].values) >= 0).any()
    key = np.asarray(ds["plane"].values) if by_plane else np.arange(n)
    values, code = np.unique(key, return_inverse=True)
    k = getattr(cm, "N", 256)

    def col(c):
        return cm(int(c) % k) if k < 256 else cm((int(c) % 10) / 9.0)

    colors = [col(c) for c in code]
    what = "plane" if by_plane else "satellite"
    groups = {f"{what} {v}": col(i) for i, v in enumerate(values)}
    return colors, groups, what

def ground_track_map(ephemeris, *, sats: Any = None, ax=None, projection: Any = None,
                     extent: Sequence[float] | None = None, color: Any = None, cmap: str = "tab10",
                     linewidth: float = 1.0, mark: str | None = "end", coastlines: bool = True,
                     borders: bool = False, land_color: Any = LAND_COLOR, gridlines: bool = True,
                     legend: bool = True, figsize: tuple[float, float] | None = None, title: str | None = None):
    """Ground tracks (sub-satellite points over time) of an ITRS ephemeris.

    Tracks come from :func:`orbitlat.ground.geodesy.ground_track` (WGS84 geodetic
    sub-satellite points) and are cut where they cross the map seam, so no
    line streaks across the map.

    Parameters
    ----------
    ephemeris : xarray.Dataset
        From ``propagate(..., frame="ITRS")``: ``position`` (time, sat, xyz), km.
    sats : int, sequence of int or str, or bool mask, optional
        Satellites to draw (indices, names, or a mask); default all.
    ax : cartopy GeoAxes, optional
    projection : cartopy CRS or str, optional
    extent : (lon_min, lon_max, lat_min, lat_max), optional
    color : matplotlib colour, optional
        One colour for all tracks; default one colour per orbital plane
        (``plane`` coordinate) from ``cmap``.
    cmap : str
        Colormap for per-plane colours.
    linewidth : float
    mark : {'end', 'start', None}
        Put a dot at each satellite's last (or first) position.
    coastlines, borders : bool
    land_color : matplotlib colour or None
        Land fill (default light grey; None: coastlines only).
    gridlines : bool
        Labelled graticule.
    legend : bool
        Say what the colours and markers mean (below a new map): one entry per plane up to
        10 planes, otherwise one entry naming the colour rule; the marker's time in UTC.
    figsize : (float, float), optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OrbitlatError
        If the ephemeris is not ITRS or not (time, sat, xyz), or ``sats`` is invalid.

    Examples
    --------
    >>> import orbitlat as ol
    >>> eph = ol.presets.get("iridium").propagate(start="2026-01-01", duration="2h", step="1min",
    ...                                            backend="kepler-j2", frame="ITRS")
    >>> fig = ground_track_map(eph, projection="robinson", title="Iridium, 2 h")
    >>> tracks = [c for c in fig.axes[0].collections if type(c).__name__ == "LineCollection"][0]
    >>> len(tracks.get_segments()) >= 66
    True
    """
    from matplotlib.collections import LineCollection

    from orbitlat.ground.geodesy import ground_track

    _check_ephemeris(ephemeris, "ground_track_map")
    if mark not in ("end", "start", None):
        raise OrbitlatError(f"mark={mark!r} is not valid; use 'end', 'start' or None.")
    ds = _select_sats(ephemeris, sats)
    if ds.sizes["sat"] == 0:
        raise OrbitlatError("no satellites selected; sats= selects none.")
    from matplotlib.lines import Line2D

    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    _background(ax, coastlines=coastlines, borders=borders, land_color=land_color)
    gt = ground_track(ds).transpose("time", "sat")
    lat, lon = gt["lat_deg"].values, gt["lon_deg"].values
    colors, groups, what = _sat_colors(ds, color, cmap)
    segs, seg_colors = [], []
    for j in range(lat.shape[1]):
        x, y = _project_lonlat_lines(ax.projection, lon[:, j], lat[:, j])
        for piece in _pieces(x, y):
            segs.append(piece)
            seg_colors.append(colors[j])
    lc = LineCollection(segs, colors=seg_colors, linewidths=linewidth, zorder=3, transform=ax.transData)
    ax.add_collection(lc, autolim=False)
    failed = ~np.isfinite(lat).any(axis=0)
    if mark is not None:
        ccrs = _cartopy()
        row = -1 if mark == "end" else 0
        ok = np.isfinite(lat[row])
        ax.scatter(lon[row][ok], lat[row][ok], s=12, c=[colors[j] for j in np.flatnonzero(ok)], zorder=4,
                   transform=ccrs.PlateCarree(), edgecolors="black", linewidths=0.3)
    if legend:
        if len(groups) <= 10:
            for lab, rgba in groups.items():
                _legend_entry(ax, Line2D([], [], color=rgba, linewidth=1.5), lab)
        else:
            first = next(iter(groups.values()))
            _legend_entry(ax, Line2D([], [], color=first, linewidth=1.5),
                          f"ground tracks, coloured by {what} ({len(groups)} {what}s; colours repeat every 10)")
        if mark is not None:
            tv = ds["time"].values[-1 if mark == "end" else 0]
            _legend_entry(ax, Line2D([], [], marker="o", linestyle="none", markersize=4, color="0.5",
                                     markeredgecolor="black", markeredgewidth=0.3),
                          f"position at {np.datetime_as_string(tv, unit='m').replace('T', ' ')} UTC ({mark})")
    if failed.any():
        _note(ax, f"{int(failed.sum())} satellite(s) without valid positions not drawn")
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig

def _positions_at(ephemeris, time, sats):
    """(xyz (n,3) ITRS km, labels) from an ephemeris at one time, or from an (n,3) array."""
    import xarray as xr

    if isinstance(ephemeris, xr.Dataset):
        _check_ephemeris(ephemeris, "footprints")
        ds = _select_sats(ephemeris, sats)
        i = _time_index(ds, time)
        pos = ds["position"].isel(time=i).transpose("sat", "xyz")
        from orbitlat.ground.geodesy import _position_km

        labels = np.asarray(ds["name"].values).astype(str) if "name" in ds.coords else np.arange(ds.sizes["sat"])
        return _position_km(pos), labels, ds["time"].values[i]
    if sats is not None:
        raise OrbitlatError("sats= selects satellites of an ephemeris Dataset; index the array yourself instead.")
    xyz = np.atleast_2d(_as_float(ephemeris, "km", "positions"))
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise OrbitlatError(f"positions must be ITRS km with shape (n, 3); got shape {xyz.shape}.")
    return xyz, np.arange(xyz.shape[0]), None

#: footprint_map(mode="auto") switches from drawn caps to the overlap-count raster when the caps'
#: total area exceeds this many times the Earth's (each point would be under ~this many caps).
CAPS_COVER_LIMIT = 2.5


@accepts_units
def footprint_map(ephemeris, *, time: Any = None, min_elevation_deg: float = 10.0, sats: Any = None, ax=None,
                  projection: Any = None, extent: Sequence[float] | None = None, mode: str = "auto",
                  resolution_deg: float = 1.0, fill: bool = True, color: Any = "tab:blue", alpha: float = 0.25,
                  linewidth: float = 0.8, cmap: str = "viridis", subpoints: bool = True,
                  earth_radius_km: float = WGS84_A_KM, n_points: int = 181, coastlines: bool = True,
                  borders: bool = False, land_color: Any = "auto", gridlines: bool = True,
                  colorbar: bool = True, figsize: tuple[float, float] | None = None, title: str | None = None):
    """Footprints of satellites at one instant: spherical caps at an elevation mask, or how many
    satellites see each place.

    Each footprint is the set of ground points that see the satellite at or
    above ``min_elevation_deg`` on a spherical Earth: a cap of half-angle
    ``λ = acos(Re·cos ε / r) − ε`` (docs/references.md) around the satellite's
    geocentric sub-point, ``r`` its geocentric distance.

    ``mode="caps"`` draws each cap: a true small circle (:func:`footprint_outline`),
    cut at the seam; caps over a pole are closed over the pole. ``mode="count"``
    draws the **overlap count**: on a regular ``resolution_deg`` grid, the number of
    satellites whose cap contains each cell centre
    (:func:`orbitlat.visibility.footprints.cap_counts`, the same kernel as coverage),
    with a colour bar of whole numbers; cells no satellite sees are left blank.
    ``mode="auto"`` (default) draws caps while they stay readable and the count once
    the caps' total area exceeds :data:`CAPS_COVER_LIMIT` times the Earth's, where
    caps would merge into one solid sheet (Iridium at 10°: 1.6, caps; Starlink Gen1
    at 25°: 8.7, counts).

    Parameters
    ----------
    ephemeris : xarray.Dataset or array_like (n, 3)
        ITRS ephemeris (``propagate(..., frame="ITRS")``) or positions, km.
    time : int, datetime-like or str, optional
        Time index or instant (nearest step) for a Dataset; default the first.
    min_elevation_deg : float
        Elevation mask ε, degrees.
    sats : optional
        Satellite selection for a Dataset (as :func:`ground_track_map`).
    ax, projection, extent
        As :func:`base_map`.
    mode : {'auto', 'caps', 'count'}
        Drawn caps, the overlap-count raster, or the choice above.
    resolution_deg : float
        Cell size of the count raster, degrees.
    fill : bool
        Caps: fill them (``alpha`` transparent) as well as outlining them.
    color, alpha, linewidth
        Caps style.
    cmap : str
        Count raster colours.
    subpoints : bool
        Caps: mark the sub-satellite points.
    earth_radius_km : float
        Sphere radius Re (default WGS84 equatorial, as docs/references.md).
    n_points : int
        Vertices per outline.
    coastlines, borders, gridlines, figsize, title
        As :func:`base_map`.
    land_color : matplotlib colour, None or 'auto'
        Land fill; ``'auto'``: filled under caps, not under the count raster (which covers it).
    colorbar : bool
        Count raster: a colour bar "satellites in view".

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = footprint_map(np.array([[0.0, 0.0, 6378.137 + 780.0]]), min_elevation_deg=8.2)  # over the pole
    >>> len(fig.axes[0].collections) >= 1
    True
    """
    import matplotlib

    from orbitlat.ground.geodesy import itrs_to_geocentric

    ccrs = _cartopy()
    if mode not in ("auto", "caps", "count"):
        raise OrbitlatError(f"mode={mode!r} is not valid; use 'auto', 'caps' (one outline per satellite) or "
                            "'count' (how many satellites see each place).")
    xyz, labels, t = _positions_at(ephemeris, time, sats)
    lat, lon, alt = itrs_to_geocentric(xyz, radius_km=earth_radius_km)
    lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
    lam = footprint_half_angle_deg(alt, min_elevation_deg, earth_radius_km)
    ok = np.isfinite(lam) & (lam > 0)
    cover = float(np.sum((1.0 - np.cos(np.radians(lam[ok]))) / 2.0))  # caps' total area / Earth's
    if mode == "auto":
        mode = "count" if cover > CAPS_COVER_LIMIT else "caps"
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=colorbar and mode == "count")
    if isinstance(land_color, str) and land_color == "auto":
        land_color = LAND_COLOR if mode == "caps" else None
    _background(ax, coastlines=coastlines, borders=borders, land_color=land_color, zorder=2.5)
    rgba = matplotlib.colors.to_rgba(color)
    if mode == "count":
        from matplotlib.colors import BoundaryNorm

        from orbitlat.ground.grids import Grid
        from orbitlat.visibility.footprints import cap_counts

        g = Grid.latlon(resolution_deg, radius_km=earth_radius_km)
        n_lat, n_lon = int(round(180.0 / g.attrs["dlat_deg"])), int(round(360.0 / g.attrs["dlon_deg"]))
        counts = cap_counts(g, xyz[ok], min_elevation_deg, earth_radius_km=earth_radius_km).reshape(n_lat, n_lon)
        top = max(int(counts.max()), 1)
        bounds = np.arange(0.5, top + 1.5)
        cm = matplotlib.colormaps[cmap].resampled(max(top, 2))
        glat = g.lat_deg.reshape(n_lat, n_lon)[:, 0]
        glon = g.lon_deg.reshape(n_lat, n_lon)[0]
        m = ax.pcolormesh(glon, glat, np.ma.masked_less(counts, 1), cmap=cm, norm=BoundaryNorm(bounds, cm.N),
                          shading="nearest", transform=ccrs.PlateCarree(), zorder=1.5, alpha=0.9)
        if colorbar:
            cb = _colorbar(fig, ax, m, created, f"satellites in view (ε ≥ {min_elevation_deg:g}°)", integer=True)
            cb.ax.minorticks_off()
    else:
        if fill and ok.any():
            polys = footprint_polygons(lat[ok], lon[ok], lam[ok], central_lon_deg=_central_lon(ax.projection),
                                       n_points=n_points)
            _add_polygons(ax, polys, facecolor=rgba, alpha=alpha, zorder=2.0)
        if ok.any():
            rl, rn = footprint_outline(lat[ok], lon[ok], lam[ok], n_points)
            segs = [np.column_stack([a, b]) for a, b in zip(rn, rl)]
            lo, la = _lines_to_lonlat(segs)
            x, y = _project_lonlat_lines(ax.projection, lo, la)
            ax.plot(x, y, color=rgba[:3], linewidth=linewidth, zorder=3, transform=ax.transData,
                    scalex=False, scaley=False)
        if subpoints and ok.any():
            ax.scatter(lon[ok], lat[ok], s=8, color=rgba[:3], zorder=4, transform=ccrs.PlateCarree())
    if (~ok).any():
        _note(ax, f"{int((~ok).sum())} satellite(s) without a footprint (invalid position or below the mask)")
    if title is None and t is not None:
        what = "satellites in view" if mode == "count" else "footprints"
        title = f"{what} at ε = {min_elevation_deg:g}°, {np.datetime_as_string(t, unit='s').replace('T', ' ')} UTC"
    ax._orbitlat_footprint_mode = mode
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig
