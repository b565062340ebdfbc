"""Look angles: azimuth, elevation, range and range rate for every (time, site, satellite).

A dense :class:`xarray.Dataset` (only for small problems; :data:`MAX_LOOK_ANGLE_ELEMENTS` bounds it).
Elevations are measured from the WGS84 geodetic vertical (Skyfield's ``wgs84.latlon`` convention), or
from the geocentric radius with ``spherical=True``.
"""
from __future__ import annotations

from typing import Any
import numpy as np
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.visibility._inputs import _as_site_index, _check_eph, _valid_sats

__all__ = ["MAX_LOOK_ANGLE_ELEMENTS", "look_angles"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Largest time × site × sat array :func:`look_angles` builds (4 float64 variables of this size).
MAX_LOOK_ANGLE_ELEMENTS = 50_000_000

# =============================================================================
# look angles (dense)
# =============================================================================
def look_angles(eph: xr.Dataset, sites: Any, *, spherical: bool = False) -> xr.Dataset:
    """Azimuth, elevation, slant range and range rate for every time, site and satellite.

    This builds full ``(time, site, sat)`` arrays, so it is meant for small
    problems (at most :data:`MAX_LOOK_ANGLE_ELEMENTS` elements); for large ones
    use :func:`visible_sets`, which keeps only the visible pairs.

    Parameters
    ----------
    eph : xarray.Dataset
        Ephemeris from ``propagate(..., frame="ITRS")``. Range rate needs its
        ``velocity``; without it ``range_rate_km_s`` is NaN.
    sites : GroundSites or SiteIndex
    spherical : bool
        Elevation from the geocentric radius on a sphere of radius WGS84_A_KM
        (closed-form comparisons) instead of the WGS84 geodetic vertical.

    Returns
    -------
    xarray.Dataset
        ``azimuth_deg`` (clockwise from North, [0, 360)), ``elevation_deg``,
        ``range_km``, ``range_rate_km_s`` (positive = receding), dims
        ``(time, site, sat)``; coordinates ``site_name`` and the ephemeris'
        satellite metadata. Failed satellites (``eph["failed"]``) are NaN where
        they failed; ``attrs["n_failed"]`` counts them.

    Raises
    ------
    OrbitlatError
        Non-ITRS ephemeris, bad sites, or a result larger than the limit.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.visibility.engine import SiteIndex
    >>> eph = ol.presets.get("gps").propagate(start="2026-05-30", duration="1h", step="30min")
    >>> la = look_angles(eph, SiteIndex.from_latlon([46.5, -33.9], [6.6, 18.4]))
    >>> la.elevation_deg.dims, la.elevation_deg.shape
    (('time', 'site', 'sat'), (3, 2, 24))
    """
    _check_eph(eph, "look_angles")
    index, names = _as_site_index(sites, None, spherical)
    T, N = eph.sizes["time"], eph.sizes["sat"]
    M = index.size
    total = T * M * N
    if total > MAX_LOOK_ANGLE_ELEMENTS:
        raise OrbitlatError(
            f"look_angles would build {T} times x {M} sites x {N} satellites = {total:,} elements per variable "
            f"(limit {MAX_LOOK_ANGLE_ELEMENTS:,}); use visible_sets(eph, sites, ...) or iter_visible(...) for the "
            "sparse visible pairs, or select fewer times/sites/satellites (eph.isel(...))."
        )
    P = np.asarray(eph["position"].values, dtype=np.float64)
    has_v = "velocity" in eph
    V = np.asarray(eph["velocity"].values, dtype=np.float64) if has_v else None
    out = {k: np.empty((T, M, N)) for k in ("az", "el", "rng", "rr")}
    X, E, Nn, U = index.xyz_km, index.east, index.north, index.up
    block = max(1, int(4_000_000 // max(M * N, 1)))
    for t0 in range(0, T, block):
        t1 = min(T, t0 + block)
        rho = P[t0:t1, None, :, :] - X[None, :, None, :]  # (t, m, n, 3)
        e = np.einsum("tmnk,mk->tmn", rho, E)
        n = np.einsum("tmnk,mk->tmn", rho, Nn)
        u = np.einsum("tmnk,mk->tmn", rho, U)
        rng = np.sqrt(e * e + n * n + u * u)
        out["rng"][t0:t1] = rng
        out["el"][t0:t1] = np.degrees(np.arcsin(np.clip(u / rng, -1.0, 1.0)))
        out["az"][t0:t1] = np.mod(np.degrees(np.arctan2(e, n)), 360.0)
        if has_v:
            out["rr"][t0:t1] = np.einsum("tmnk,tnk->tmn", rho, V[t0:t1]) / rng
        else:
            out["rr"][t0:t1] = np.nan
    coords = {"time": eph["time"].values, "site": np.arange(M), "site_name": ("site", names.astype(str)),
              "sat": eph["sat"].values}
    for k, v in eph.coords.items():
        if v.dims == ("sat",) and k != "sat":
            coords[k] = ("sat", v.values)
    dims = ("time", "site", "sat")
    frame = "spherical (geocentric vertical)" if index.spherical else "WGS84 geodetic vertical"
    ds = xr.Dataset(
        {
            "azimuth_deg": (dims, out["az"], {"units": "deg", "long_name": "azimuth, clockwise from North"}),
            "elevation_deg": (dims, out["el"], {"units": "deg", "long_name": f"elevation ({frame})"}),
            "range_km": (dims, out["rng"], {"units": "km", "long_name": "slant range"}),
            "range_rate_km_s": (dims, out["rr"], {"units": "km/s", "long_name": "range rate (positive receding)",
                                                  **({} if has_v else {"note": "ephemeris had no velocity"})}),
        },
        coords=coords,
        attrs={"vertical": frame, "n_failed": int((~_valid_sats(eph)).sum())},
    )
    return ds
