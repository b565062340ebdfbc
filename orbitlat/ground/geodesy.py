"""Earth models: WGS84 geodetic <-> ITRS, local ENU frames, ground tracks, distances.

Everything here works on float64 numpy arrays and broadcasts; vectors are in
the last axis ``(..., 3)``. Angles are degrees (``*_deg``) unless a name says
radians (``*_rad``); lengths are kilometres (``*_km``). Public functions also
accept astropy :class:`~astropy.units.Quantity` (converted once, at the edge).

Two Earth models are offered:

- **WGS84 ellipsoid** (the default): :func:`geodetic_to_itrs`,
  :func:`itrs_to_geodetic`, :func:`enu_matrix`, :func:`geodesic_km`. Latitudes
  are *geodetic* (angle of the ellipsoid normal to the equator), as on maps
  and GPS receivers.
- **Sphere** (for closed-form comparisons with textbook formulas):
  :func:`geocentric_to_itrs`, :func:`itrs_to_geocentric`,
  :func:`enu_matrix_spherical`, :func:`great_circle_km`,
  :func:`central_angle_rad`.

>>> import numpy as np
>>> from orbitlat.ground.geodesy import geodetic_to_itrs, itrs_to_geodetic
>>> xyz = geodetic_to_itrs(45.0, 7.0, 0.3)
>>> lat, lon, alt = itrs_to_geodetic(xyz)
>>> bool(np.allclose([lat, lon, alt], [45.0, 7.0, 0.3]))
True
"""
from __future__ import annotations

from typing import Any

import numpy as np

from orbitlat.constants import WGS84_A_KM, WGS84_B_KM, WGS84_E2, WGS84_F
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = [
    "geodetic_to_itrs",
    "itrs_to_geodetic",
    "geocentric_to_itrs",
    "itrs_to_geocentric",
    "enu_matrix",
    "enu_matrix_spherical",
    "subsatellite_points",
    "ground_track",
    "great_circle_km",
    "central_angle_rad",
    "geodesic_km",
    "normalize_lon_deg",
    "MEAN_EARTH_RADIUS_KM",
]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: IUGG mean Earth radius R1 = (2a + b) / 3 of WGS84, km (Moritz 2000,
#: "Geodetic Reference System 1980", J. Geodesy 74:128). The customary radius
#: for haversine distances.
MEAN_EARTH_RADIUS_KM = 6371.0088

#: Second eccentricity squared e'^2 = e^2 / (1 - e^2)
_EP2 = WGS84_E2 / (1.0 - WGS84_E2)
#: Number of Bowring iterations in :func:`itrs_to_geodetic`. One leaves up to
#: 5e-7 deg; two give 2e-14 deg (round-off) from -10 km to 400,000 km altitude
#: (measured against the exact forward transform, see tests/test_geodesy.py).
_BOWRING_ITERATIONS = 2
#: Frames accepted as Earth-fixed by :func:`ground_track`.
_EARTH_FIXED_FRAMES = {"ITRS", "ITRF", "ECEF", "ECEF/ITRS"}


# --------------------------------------------------------------------------
# Input helpers (shared with orbitlat.ground.sites)
# --------------------------------------------------------------------------

def _as_float_array(value: Any, unit: str, name: str) -> np.ndarray:
    """Return ``value`` as a float64 array in ``unit``; Quantity is converted (:mod:`orbitlat.units`).

    Plain numbers and arrays are taken to be in ``unit`` already.
    """
    from orbitlat.units import to_float_array

    return to_float_array(value, unit, name)


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    """Index of the first True element of ``mask``."""
    idx = np.unravel_index(int(np.argmax(mask)), mask.shape)
    return tuple(int(i) for i in idx)


def _check_lat(lat_deg: np.ndarray, name: str = "lat_deg") -> np.ndarray:
    """Raise if any finite latitude is outside [-90, 90]; clip float round-off."""
    bad = np.abs(lat_deg) > 90.0 + 1e-9
    if np.any(bad):
        where = _first_bad(bad) if lat_deg.ndim else ()
        value = float(lat_deg[where]) if lat_deg.ndim else float(lat_deg)
        loc = f" (first at index {where})" if lat_deg.ndim else ""
        raise OrbitlatError(
            f"{name} must be within [-90, 90] degrees; got {value!r}{loc}. "
            "Latitude comes first: did you swap latitude and longitude, or pass radians?"
        )
    return np.clip(lat_deg, -90.0, 90.0)


@accepts_units
def normalize_lon_deg(lon_deg: Any) -> np.ndarray:
    """Wrap longitudes to [-180, 180) degrees.

    >>> normalize_lon_deg([180.0, 359.5, -190.0]).tolist()
    [-180.0, -0.5, 170.0]
    """
    lon = _as_float_array(lon_deg, "deg", "lon_deg")
    out = np.mod(lon + 180.0, 360.0) - 180.0
    # np.mod can return 360.0 for tiny negative inputs (round-off)
    out = np.where(out >= 180.0, out - 360.0, out)
    return out + 0.0  # turn -0.0 into 0.0


def _scalar_or_array(a: np.ndarray):
    """Return a numpy scalar for 0-d results, the array otherwise."""
    return a[()] if a.ndim == 0 else a


# --------------------------------------------------------------------------
# WGS84 ellipsoid
# --------------------------------------------------------------------------

@accepts_units
def geodetic_to_itrs(lat_deg: Any, lon_deg: Any, alt_km: Any = 0.0) -> np.ndarray:
    """WGS84 geodetic coordinates to ITRS (Earth-fixed) Cartesian, km.

    Parameters
    ----------
    lat_deg : array_like or Quantity
        Geodetic latitude, degrees, within [-90, 90].
    lon_deg : array_like or Quantity
        Longitude east of Greenwich, degrees (any value; periodic).
    alt_km : array_like or Quantity, optional
        Height above the WGS84 ellipsoid, km. Default 0.

    Returns
    -------
    ndarray, shape (..., 3)
        ITRS x, y, z in km; ``...`` is the broadcast shape of the inputs.
        NaN inputs give NaN outputs.

    Raises
    ------
    OrbitlatError
        If a latitude is outside [-90, 90] or an input is not numeric.

    Examples
    --------
    >>> geodetic_to_itrs(0.0, 0.0).tolist()
    [6378.137, 0.0, 0.0]
    >>> geodetic_to_itrs([0.0, 90.0], 0.0).round(3).tolist()
    [[6378.137, 0.0, 0.0], [0.0, 0.0, 6356.752]]
    """
    lat = _check_lat(_as_float_array(lat_deg, "deg", "lat_deg"))
    lon = _as_float_array(lon_deg, "deg", "lon_deg")
    alt = _as_float_array(alt_km, "km", "alt_km")
    lat, lon, alt = np.broadcast_arrays(lat, lon, alt)
    phi = np.radians(lat)
    lam = np.radians(lon)
    sphi, cphi = np.sin(phi), np.cos(phi)
    # exact zeros at the poles and on the equator keep known values exact
    cphi = np.where(np.abs(lat) == 90.0, 0.0, cphi)
    n = WGS84_A_KM / np.sqrt(1.0 - WGS84_E2 * sphi * sphi)  # prime-vertical radius
    out = np.empty(lat.shape + (3,), dtype=np.float64)
    out[..., 0] = (n + alt) * cphi * np.cos(lam)
    out[..., 1] = (n + alt) * cphi * np.sin(lam)
    out[..., 2] = (n * (1.0 - WGS84_E2) + alt) * sphi
    return out


def _as_xyz(xyz_km: Any, name: str = "xyz_km") -> np.ndarray:
    xyz = _as_float_array(xyz_km, "km", name)
    if xyz.ndim == 0 or xyz.shape[-1] != 3:
        raise OrbitlatError(
            f"{name} must have shape (..., 3) (x, y, z in km in the last axis); "
            f"got shape {xyz.shape}. Stack the components with np.stack([x, y, z], axis=-1)."
        )
    return xyz


@accepts_units
def itrs_to_geodetic(xyz_km: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ITRS Cartesian (km) to WGS84 geodetic latitude, longitude and height.

    Bowring's (1976) iteration on the parametric latitude, twice, then
    the height as the distance along the ellipsoid normal,
    ``h = p cos(lat) + z sin(lat) - a sqrt(1 - e^2 sin^2(lat))``, which is
    insensitive to residual latitude error. From -10 km to 400,000 km
    altitude the round trip through :func:`geodetic_to_itrs` closes to
    2e-14 deg and < 1 micrometre (measured); ERFA's ``gc2gd`` (used by
    astropy) agrees to 1e-9 deg below 5,000 km and to 1.5e-9 deg above,
    which is ERFA's own error there (see tests/test_geodesy.py).

    Parameters
    ----------
    xyz_km : array_like or Quantity, shape (..., 3)
        ITRS (Earth-fixed) positions, km.

    Returns
    -------
    lat_deg, lon_deg, alt_km : ndarray, shape (...)
        Geodetic latitude in [-90, 90], longitude in [-180, 180), height
        above the ellipsoid. NaN positions give NaN outputs (no error), so
        failed propagations stay flagged.

    Notes
    -----
    On the polar axis (``x = y = 0``) the latitude is ±90 (the sign of z)
    and the height is ``|z| - b``; the Earth's centre maps to latitude +90,
    longitude 0, height ``-b`` = -6356.752 km (the nearest surface point is
    a pole), as ERFA does. Points deeper than ~6000 km below the surface
    (inside the evolute of the ellipse) get a valid but not necessarily the
    nearest normal; latitude stays within [-90, 90] and nothing is NaN.

    Examples
    --------
    >>> lat, lon, alt = itrs_to_geodetic([6378.137, 0.0, 0.0])
    >>> float(lat), float(lon), float(alt)
    (0.0, 0.0, 0.0)
    >>> lat, lon, alt = itrs_to_geodetic([[0.0, 0.0, 7000.0], [0.0, 0.0, 0.0]])
    >>> lat.tolist(), alt.round(6).tolist()
    ([90.0, 90.0], [643.247686, -6356.752314])
    """
    xyz = _as_xyz(xyz_km)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.sqrt(x * x + y * y)
    a, b, e2 = WGS84_A_KM, WGS84_B_KM, WGS84_E2
    one_f = 1.0 - WGS84_F
    with np.errstate(all="ignore"):  # NaN inputs and the degenerate centre are handled below
        # Parametric latitude as an unnormalised (sin, cos) pair (s, c) and the
        # geodetic latitude as (num, den): no trigonometry in the loop.
        s, c = z, one_f * p
        num = den = z
        for _ in range(_BOWRING_ITERATIONS):
            r = np.hypot(s, c)  # hypot/division: no under/overflow for tiny inputs
            sb = s / r
            cb = c / r
            num = z + (_EP2 * b) * (sb * sb * sb)
            den = p - (e2 * a) * (cb * cb * cb)
            den = np.maximum(den, 0.0)  # >= 0 keeps |lat| <= 90 deep inside the Earth
            s, c = one_f * num, den
        rn = np.hypot(num, den)
        # rn == 0 or NaN for finite input happens only on the equatorial plane deep
        # inside (p < e^2 a): take the equator there
        degenerate = ~(rn > 0.0) & np.isfinite(p) & np.isfinite(z)
        if np.any(degenerate):
            num = np.where(degenerate, 0.0, num)
            den = np.where(degenerate, 1.0, den)
            rn = np.where(degenerate, 1.0, rn)
        sphi = num / rn
        cphi = den / rn
        h = p * cphi + z * sphi - a * np.sqrt(1.0 - e2 * sphi * sphi)
    lat = np.degrees(np.arctan2(num, den))
    # polar axis (including the centre): exact, and no 0/0
    axis = p == 0.0
    if np.any(axis):
        lat = np.where(axis, np.where(z < 0.0, -90.0, 90.0), lat)
        h = np.where(axis, np.abs(z) - b, h)
    lon = np.degrees(np.arctan2(y, x))  # in [-180, 180]
    lon = np.where(lon >= 180.0, -180.0, lon) + 0.0  # [-180, 180), no -0.0
    return _scalar_or_array(lat), _scalar_or_array(lon), _scalar_or_array(h)


# --------------------------------------------------------------------------
# Sphere
# --------------------------------------------------------------------------

def _check_radius(radius_km: Any) -> np.ndarray:
    r = _as_float_array(radius_km, "km", "radius_km")
    if np.any(~(r > 0.0)):
        raise OrbitlatError(
            f"radius_km must be positive and finite; got {r!r}. "
            f"Use e.g. {WGS84_A_KM} (WGS84 equatorial) or {MEAN_EARTH_RADIUS_KM} (mean radius)."
        )
    return r


@accepts_units
def geocentric_to_itrs(
    lat_deg: Any, lon_deg: Any, alt_km: Any = 0.0, radius_km: Any = WGS84_A_KM
) -> np.ndarray:
    """Spherical-Earth (geocentric) coordinates to ITRS Cartesian, km.

    Parameters
    ----------
    lat_deg, lon_deg : array_like or Quantity
        Geocentric latitude (within [-90, 90]) and longitude, degrees.
    alt_km : array_like or Quantity, optional
        Height above the sphere, km. Default 0.
    radius_km : float or Quantity, optional
        Sphere radius, km. Default WGS84 equatorial radius 6378.137 km.

    Returns
    -------
    ndarray, shape (..., 3)
        ``(radius_km + alt_km) * unit_vector(lat, lon)``.

    Examples
    --------
    >>> geocentric_to_itrs(90.0, 0.0, radius_km=1.0).tolist()
    [0.0, 0.0, 1.0]
    """
    lat = _check_lat(_as_float_array(lat_deg, "deg", "lat_deg"))
    lon = _as_float_array(lon_deg, "deg", "lon_deg")
    alt = _as_float_array(alt_km, "km", "alt_km")
    r0 = _check_radius(radius_km)
    lat, lon, alt, r0 = np.broadcast_arrays(lat, lon, alt, r0)
    phi, lam = np.radians(lat), np.radians(lon)
    cphi = np.where(np.abs(lat) == 90.0, 0.0, np.cos(phi))
    r = r0 + alt
    return np.stack([r * cphi * np.cos(lam), r * cphi * np.sin(lam), r * np.sin(phi)], axis=-1)


@accepts_units
def itrs_to_geocentric(
    xyz_km: Any, radius_km: Any = WGS84_A_KM
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ITRS Cartesian (km) to geocentric latitude, longitude and height over a sphere.

    Parameters
    ----------
    xyz_km : array_like or Quantity, shape (..., 3)
        Positions, km.
    radius_km : float or Quantity, optional
        Sphere radius, km. Default WGS84 equatorial radius.

    Returns
    -------
    lat_deg, lon_deg, alt_km : ndarray, shape (...)
        Geocentric latitude, longitude in [-180, 180), and ``|r| - radius_km``.
        The centre maps to latitude 0, longitude 0, height ``-radius_km``.

    Examples
    --------
    >>> lat, lon, alt = itrs_to_geocentric([0.0, 7000.0, 0.0], radius_km=6371.0)
    >>> float(lat), float(lon), float(alt)
    (0.0, 90.0, 629.0)
    """
    xyz = _as_xyz(xyz_km)
    r0 = _check_radius(radius_km)
    x, y, z = xyz[..., 0], xyz[..., 1], xyz[..., 2]
    p = np.hypot(x, y)
    lat = np.degrees(np.arctan2(z, p))
    lon = normalize_lon_deg(np.degrees(np.arctan2(y, x)))
    alt = np.hypot(p, z) - r0
    return _scalar_or_array(lat), _scalar_or_array(lon), _scalar_or_array(np.asarray(alt))


# --------------------------------------------------------------------------
# Local frames
# --------------------------------------------------------------------------

def _enu(lat_deg: Any, lon_deg: Any) -> np.ndarray:
    lat = _check_lat(_as_float_array(lat_deg, "deg", "lat_deg"))
    lon = _as_float_array(lon_deg, "deg", "lon_deg")
    lat, lon = np.broadcast_arrays(lat, lon)
    phi, lam = np.radians(lat), np.radians(lon)
    sphi, cphi = np.sin(phi), np.cos(phi)
    slam, clam = np.sin(lam), np.cos(lam)
    m = np.empty(lat.shape + (3, 3), dtype=np.float64)
    m[..., 0, 0], m[..., 0, 1], m[..., 0, 2] = -slam, clam, 0.0
    m[..., 1, 0], m[..., 1, 1], m[..., 1, 2] = -sphi * clam, -sphi * slam, cphi
    m[..., 2, 0], m[..., 2, 1], m[..., 2, 2] = cphi * clam, cphi * slam, sphi
    return m


@accepts_units
def enu_matrix(lat_deg: Any, lon_deg: Any) -> np.ndarray:
    """Rotation ITRS -> local East-North-Up at geodetic (lat, lon).

    The rows are the East, North and Up unit vectors in ITRS, Up being the
    WGS84 ellipsoid normal. For a line of sight ``d`` (ITRS, ``(..., 3)``),
    ``enu = (enu_matrix(lat, lon) @ d[..., None])[..., 0]``.

    Parameters
    ----------
    lat_deg : array_like or Quantity
        Geodetic latitude, degrees.
    lon_deg : array_like or Quantity
        Longitude, degrees.

    Returns
    -------
    ndarray, shape (..., 3, 3)
        Orthonormal matrices (rows E, N, U). At the poles East is the
        direction of increasing longitude ``lon_deg``.

    Examples
    --------
    >>> enu_matrix(0.0, 0.0).round(12).tolist()
    [[-0.0, 1.0, 0.0], [-0.0, -0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    return _enu(lat_deg, lon_deg)


@accepts_units
def enu_matrix_spherical(lat_deg: Any, lon_deg: Any) -> np.ndarray:
    """Rotation ITRS -> local East-North-Up with Up along the geocentric radius.

    Same layout as :func:`enu_matrix`, but ``lat_deg`` is the *geocentric*
    latitude (as returned by :func:`itrs_to_geocentric`), so Up is the
    radial direction ``r / |r|`` of a spherical Earth.

    Examples
    --------
    >>> import numpy as np
    >>> from orbitlat.ground.geodesy import geocentric_to_itrs
    >>> r = geocentric_to_itrs(30.0, 40.0)
    >>> up = enu_matrix_spherical(30.0, 40.0)[2]
    >>> bool(np.allclose(up, r / np.linalg.norm(r)))
    True
    """
    return _enu(lat_deg, lon_deg)


# --------------------------------------------------------------------------
# Ground tracks
# --------------------------------------------------------------------------

def _frame_of(obj) -> str | None:
    frame = obj.attrs.get("frame") if hasattr(obj, "attrs") else None
    if frame is None and hasattr(obj, "data_vars") and "position" in obj:
        frame = obj["position"].attrs.get("frame")
    return frame


def _check_itrs_frame(obj, what: str) -> None:
    frame = _frame_of(obj)
    if frame is None:
        raise OrbitlatError(
            f"{what} has no 'frame' attribute, so its positions may not be Earth-fixed. "
            "Propagate with frame='ITRS', or, if the positions already are ITRS, "
            "set ds.attrs['frame'] = 'ITRS'."
        )
    if str(frame).strip().upper() not in _EARTH_FIXED_FRAMES:
        raise OrbitlatError(
            f"{what} has frame={frame!r}, but ground tracks need Earth-fixed (ITRS) positions. "
            "Propagate with frame='ITRS' instead."
        )


def _position_km(da) -> np.ndarray:
    """Values of a position DataArray (dims ..., 'xyz'), in km."""
    if "xyz" not in da.dims:
        raise OrbitlatError(
            f"the position variable must have an 'xyz' dimension of size 3; got dims {da.dims}. "
            "Use the Dataset returned by orbitlat propagation, or rename the vector dimension to 'xyz'."
        )
    units = str(da.attrs.get("units", "km")).strip().lower()
    scale = {"km": 1.0, "kilometer": 1.0, "kilometre": 1.0, "m": 1e-3, "meter": 1e-3, "metre": 1e-3}
    if units not in scale:
        raise OrbitlatError(
            f"the position variable has units={da.attrs.get('units')!r}; valid units are 'km' or 'm'. "
            "Set position.attrs['units'] accordingly."
        )
    values = np.asarray(da.transpose(..., "xyz").values, dtype=np.float64)
    if values.shape[-1] != 3:
        raise OrbitlatError(f"the 'xyz' dimension must have size 3; got {values.shape[-1]}.")
    return values * scale[units]


def subsatellite_points(ephemeris_or_xyz: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Geodetic latitude, longitude and altitude of the sub-satellite points.

    Parameters
    ----------
    ephemeris_or_xyz : array_like, Quantity, xarray.DataArray or xarray.Dataset
        ITRS positions, km, shape ``(..., 3)``; or an xarray object whose
        ``position`` (for a Dataset) has an ``'xyz'`` dimension and
        ``frame='ITRS'`` in its attributes.

    Returns
    -------
    lat_deg, lon_deg, alt_km : ndarray, shape (...)
        WGS84 geodetic latitude, longitude in [-180, 180), height, km. For an
        xarray input the shape follows the non-``xyz`` dimensions in order.

    Examples
    --------
    >>> lat, lon, alt = subsatellite_points([[6928.137, 0.0, 0.0], [0.0, 6928.137, 0.0]])
    >>> lon.tolist(), alt.round(9).tolist()
    ([0.0, 90.0], [550.0, 550.0])
    """
    obj = ephemeris_or_xyz
    if hasattr(obj, "data_vars"):  # xarray.Dataset
        if "position" not in obj:
            raise OrbitlatError(
                f"the Dataset has no 'position' variable (variables: {list(obj.data_vars)}); "
                "pass the ephemeris Dataset from orbitlat propagation or an (..., 3) array."
            )
        _check_itrs_frame(obj, "the ephemeris Dataset")
        return itrs_to_geodetic(_position_km(obj["position"]))
    if hasattr(obj, "dims") and hasattr(obj, "attrs"):  # xarray.DataArray
        if "frame" in obj.attrs:
            _check_itrs_frame(obj, "the position DataArray")
        return itrs_to_geodetic(_position_km(obj))
    return itrs_to_geodetic(obj)


def ground_track(ds):
    """Ground track (sub-satellite points) of an ITRS ephemeris Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        With a ``position`` variable of dims ``('time', 'sat', 'xyz')`` (any
        order; other dimensions are carried along) in km, and
        ``attrs['frame'] == 'ITRS'`` (on the Dataset or on ``position``).

    Returns
    -------
    xarray.Dataset
        Variables ``lat_deg``, ``lon_deg`` (in [-180, 180)) and ``alt_km``
        with the non-``xyz`` dimensions of ``position`` (normally
        ``(time, sat)``), the same coordinates, and ``units`` attributes.

    Raises
    ------
    OrbitlatError
        If the frame is not ITRS (propagate with ``frame='ITRS'``), or the
        Dataset has no suitable ``position`` variable.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> pos = np.array([[[6928.137, 0.0, 0.0]], [[0.0, 0.0, 6906.752]]])  # (time, sat, xyz)
    >>> ds = xr.Dataset({"position": (("time", "sat", "xyz"), pos, {"units": "km"})},
    ...                 attrs={"frame": "ITRS"})
    >>> gt = ground_track(ds)
    >>> gt.lat_deg.values.ravel().tolist(), gt.alt_km.values.round(3).ravel().tolist()
    ([0.0, 90.0], [550.0, 550.0])
    """
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise OrbitlatError(
            f"ground_track needs an xarray.Dataset with a 'position' variable; got {type(ds).__name__}. "
            "For a plain (..., 3) array use subsatellite_points(xyz_km)."
        )
    if "position" not in ds:
        raise OrbitlatError(
            f"the Dataset has no 'position' variable (variables: {list(ds.data_vars)}); "
            "pass the ephemeris Dataset from orbitlat propagation."
        )
    _check_itrs_frame(ds, "the ephemeris Dataset")
    pos = ds["position"]
    lat, lon, alt = itrs_to_geodetic(_position_km(pos))
    dims = tuple(d for d in pos.transpose(..., "xyz").dims if d != "xyz")
    coords = {k: v for k, v in pos.coords.items() if "xyz" not in v.dims}
    attrs = {k: v for k, v in ds.attrs.items() if k != "frame"}
    attrs.update(source_frame=str(_frame_of(ds)), ellipsoid="WGS84")
    return xr.Dataset(
        {
            "lat_deg": (dims, np.asarray(lat), {"units": "deg", "long_name": "geodetic latitude (WGS84)"}),
            "lon_deg": (dims, np.asarray(lon), {"units": "deg", "long_name": "longitude, [-180, 180)"}),
            "alt_km": (dims, np.asarray(alt), {"units": "km", "long_name": "height above the WGS84 ellipsoid"}),
        },
        coords=coords,
        attrs=attrs,
    )


# --------------------------------------------------------------------------
# Distances
# --------------------------------------------------------------------------

@accepts_units
def central_angle_rad(lat1_deg: Any, lon1_deg: Any, lat2_deg: Any, lon2_deg: Any) -> np.ndarray:
    """Great-circle central angle between points on a sphere, radians.

    Haversine formula in its ``atan2`` form, well conditioned from
    coincident to antipodal points. Broadcasts.

    Examples
    --------
    >>> import math
    >>> float(central_angle_rad(0.0, 0.0, 0.0, 90.0)) == math.pi / 2
    True
    """
    lat1 = np.radians(_check_lat(_as_float_array(lat1_deg, "deg", "lat1_deg"), "lat1_deg"))
    lat2 = np.radians(_check_lat(_as_float_array(lat2_deg, "deg", "lat2_deg"), "lat2_deg"))
    dlon = np.radians(_as_float_array(lon2_deg, "deg", "lon2_deg") - _as_float_array(lon1_deg, "deg", "lon1_deg"))
    hav = np.sin((lat2 - lat1) / 2.0) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2.0) ** 2
    hav = np.clip(hav, 0.0, 1.0)
    return _scalar_or_array(np.asarray(2.0 * np.arctan2(np.sqrt(hav), np.sqrt(1.0 - hav))))


@accepts_units
def great_circle_km(
    lat1_deg: Any, lon1_deg: Any, lat2_deg: Any, lon2_deg: Any, radius_km: Any = MEAN_EARTH_RADIUS_KM
) -> np.ndarray:
    """Great-circle (haversine) distance on a sphere, km.

    Parameters
    ----------
    lat1_deg, lon1_deg, lat2_deg, lon2_deg : array_like or Quantity
        End points, degrees; broadcast together.
    radius_km : float or Quantity, optional
        Sphere radius. Default: IUGG mean Earth radius 6371.0088 km.

    Returns
    -------
    ndarray
        Distances, km (0.5 % error against the WGS84 geodesic at most;
        use :func:`geodesic_km` for the ellipsoid).

    Examples
    --------
    >>> round(float(great_circle_km(51.5074, -0.1278, 40.7128, -74.0060)))  # London-New York
    5570
    """
    r = _check_radius(radius_km)
    return _scalar_or_array(np.asarray(r * central_angle_rad(lat1_deg, lon1_deg, lat2_deg, lon2_deg)))


@accepts_units
def geodesic_km(
    lat1_deg: Any,
    lon1_deg: Any,
    lat2_deg: Any,
    lon2_deg: Any,
    *,
    return_azimuths: bool = False,
):
    """Shortest distance on the WGS84 ellipsoid (Karney's geodesic), km.

    Uses ``pyproj.Geod(ellps='WGS84').inv`` (Karney's algorithm,
    nanometre-accurate), imported lazily; ``geographiclib`` is used when
    pyproj is missing.

    Parameters
    ----------
    lat1_deg, lon1_deg, lat2_deg, lon2_deg : array_like or Quantity
        End points, degrees; broadcast together.
    return_azimuths : bool, optional
        Also return the forward azimuths at point 1 and point 2, degrees
        clockwise from North.

    Returns
    -------
    distance_km : ndarray
        Or ``(distance_km, azi1_deg, azi2_deg)`` when ``return_azimuths``.

    Raises
    ------
    ImportError
        If neither pyproj nor geographiclib is installed.

    Examples
    --------
    >>> round(float(geodesic_km(0.0, 0.0, 0.0, 1.0)), 6)  # one degree of the equator
    111.319491
    """
    lat1 = _check_lat(_as_float_array(lat1_deg, "deg", "lat1_deg"), "lat1_deg")
    lat2 = _check_lat(_as_float_array(lat2_deg, "deg", "lat2_deg"), "lat2_deg")
    lon1 = _as_float_array(lon1_deg, "deg", "lon1_deg")
    lon2 = _as_float_array(lon2_deg, "deg", "lon2_deg")
    lat1, lon1, lat2, lon2 = np.broadcast_arrays(lat1, lon1, lat2, lon2)
    shape = lat1.shape
    flat = [np.ascontiguousarray(v).ravel() for v in (lat1, lon1, lat2, lon2)]
    try:
        from pyproj import Geod
    except ImportError:
        Geod = None
    if Geod is not None:
        az1, az2, dist_m = Geod(ellps="WGS84").inv(flat[1], flat[0], flat[3], flat[2])
        # pyproj's az21 is the back azimuth; the forward azimuth at point 2 is az21 + 180
        azi2 = np.asarray(az2) + 180.0
        azi1 = np.asarray(az1)
    else:
        try:
            from geographiclib.geodesic import Geodesic
        except ImportError:
            raise ImportError(
                "geodesic_km needs pyproj or geographiclib for WGS84 geodesics; install one "
                "(`pip install pyproj`) or use great_circle_km for a spherical approximation."
            ) from None
        g = Geodesic.WGS84
        res = [g.Inverse(a, b, c, d) for a, b, c, d in zip(flat[0], flat[1], flat[2], flat[3])]
        dist_m = np.array([r["s12"] for r in res])
        azi1 = np.array([r["azi1"] for r in res])
        azi2 = np.array([r["azi2"] for r in res])
    dist_km = np.asarray(dist_m, dtype=np.float64).reshape(shape) / 1000.0
    if not return_azimuths:
        return _scalar_or_array(dist_km)
    azi1 = normalize_lon_deg(np.asarray(azi1).reshape(shape))
    azi2 = normalize_lon_deg(np.asarray(azi2).reshape(shape))
    return _scalar_or_array(dist_km), _scalar_or_array(azi1), _scalar_or_array(azi2)
