"""Geometry for drawing on a map: cutting tracks at the antimeridian and footprint outlines/polygons
(caps on the sphere cut at the map seam), and look angles for sky plots.
"""
from __future__ import annotations

from typing import Any
import numpy as np
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["break_at_antimeridian", "footprint_half_angle_deg", "footprint_outline", "footprint_polygons", "look_angles"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Small offset (degrees) keeping points just inside the map seam.
_SEAM_EPS = 1e-7



def _as_float(value: Any, unit: str, name: str) -> np.ndarray:
    from orbitlat.ground.geodesy import _as_float_array

    return _as_float_array(value, unit, name)

@accepts_units
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
    a = rel[cross]
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

@accepts_units
def footprint_half_angle_deg(altitude_km: Any, min_elevation_deg: Any,
                             earth_radius_km: float = WGS84_A_KM) -> np.ndarray:
    """Footprint half-angle λ (Earth central angle, degrees) on a spherical Earth.

    ``λ = acos(Re·cos ε / (Re + h)) − ε`` (docs/references.md; with the nadir
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
    >>> round(float(footprint_half_angle_deg(550.0, 25.0)), 4)   # docs/references.md: 8.4508°
    8.4508
    """
    h = _as_float(altitude_km, "km", "altitude_km")
    eps = np.radians(_as_float(min_elevation_deg, "deg", "min_elevation_deg"))
    if np.any(np.abs(eps) > np.pi / 2):
        raise OrbitlatError(f"min_elevation_deg must be within [-90, 90]; got {np.degrees(eps)!r}.")
    from orbitlat.visibility.footprints import cap_half_angle_rad

    re = float(earth_radius_km)
    return np.degrees(cap_half_angle_rad(re + h, np.degrees(eps), re))  # NaN below the surface

@accepts_units
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
    from orbitlat.ground.geodesy import _check_lat

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

@accepts_units
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

@accepts_units
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
    >>> from orbitlat.ground.geodesy import geodetic_to_itrs
    >>> az, el, rng = look_angles(10.0, 20.0, 0.0, geodetic_to_itrs(10.0, 20.0, 550.0))
    >>> round(float(el), 9), round(float(rng), 6)
    (90.0, 550.0)
    """
    from orbitlat.ground.geodesy import _as_xyz, enu_matrix, geodetic_to_itrs

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
