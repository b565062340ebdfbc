"""Orbits on a map: ground tracks over a span and footprints at an instant.
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.viz.basemap import _add_polygons, _cartopy, _central_lon, _finish, _lines_to_lonlat, _map_axes, _note, _pieces, _project_lonlat_lines, add_coastlines
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
    import matplotlib

    n = ds.sizes["sat"]
    if color is not None:
        return [matplotlib.colors.to_rgba(color)] * n
    cm = matplotlib.colormaps[cmap]
    key = np.asarray(ds["plane"].values) if "plane" in ds.coords else np.arange(n)
    _, code = np.unique(key, return_inverse=True)
    k = getattr(cm, "N", 256)
    return [cm(int(c) % k) if k < 256 else cm((int(c) % 10) / 9.0) for c in code]

def ground_track_map(ephemeris, *, sats: Any = None, ax=None, projection: Any = None,
                     extent: Sequence[float] | None = None, color: Any = None, cmap: str = "tab10",
                     linewidth: float = 1.0, mark: str | None = "end", coastlines: bool = True,
                     borders: bool = False, figsize: tuple[float, float] | None = None, title: str | None = None):
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
    >>> len(fig.axes[0].collections[0].get_segments()) >= 66
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
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    if coastlines:
        add_coastlines(ax, borders=borders)
    gt = ground_track(ds).transpose("time", "sat")
    lat, lon = gt["lat_deg"].values, gt["lon_deg"].values
    colors = _sat_colors(ds, color, cmap)
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
    if failed.any():
        _note(ax, f"{int(failed.sum())} satellite(s) without valid positions not drawn")
    _finish(ax, created, extent, title)
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

@accepts_units
def footprint_map(ephemeris, *, time: Any = None, min_elevation_deg: float = 10.0, sats: Any = None, ax=None,
                  projection: Any = None, extent: Sequence[float] | None = None, fill: bool = True,
                  color: Any = "tab:blue", alpha: float = 0.25, linewidth: float = 0.8,
                  subpoints: bool = True, earth_radius_km: float = WGS84_A_KM, n_points: int = 181,
                  coastlines: bool = True, borders: bool = False, figsize: tuple[float, float] | None = None,
                  title: str | None = None):
    """Footprints of satellites at one instant: spherical caps at an elevation mask.

    Each footprint is the set of ground points that see the satellite at or
    above ``min_elevation_deg`` on a spherical Earth: a cap of half-angle
    ``λ = acos(Re·cos ε / r) − ε`` (docs/references.md) around the satellite's
    geocentric sub-point, ``r`` its geocentric distance. The outline is a true
    small circle (:func:`footprint_outline`), cut at the seam; caps over a
    pole are closed over the pole.

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
    fill : bool
        Fill the caps (``alpha`` transparent) as well as outlining them.
    color, alpha, linewidth
        Style.
    subpoints : bool
        Mark the sub-satellite points.
    earth_radius_km : float
        Sphere radius Re (default WGS84 equatorial, as docs/references.md).
    n_points : int
        Vertices per outline.
    coastlines, borders, figsize, title
        As :func:`base_map`.

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
    xyz, labels, t = _positions_at(ephemeris, time, sats)
    lat, lon, alt = itrs_to_geocentric(xyz, radius_km=earth_radius_km)
    lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
    lam = footprint_half_angle_deg(alt, min_elevation_deg, earth_radius_km)
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    if coastlines:
        add_coastlines(ax, borders=borders)
    ok = np.isfinite(lam) & (lam > 0)
    rgba = matplotlib.colors.to_rgba(color)
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
        title = f"footprints at ε = {min_elevation_deg:g}°, {np.datetime_as_string(t, unit='s')} UTC"
    _finish(ax, created, extent, title)
    return fig
