"""Who sees what, when: look angles, visible sets, access windows (passes), ISL line of sight.

Everything here works on an ITRS (Earth-fixed) ephemeris, the Dataset that
:func:`orbitlat.propagation.propagate` returns with ``frame="ITRS"`` (the
default), or on a :class:`~orbitlat.constellation.Constellation` that is
propagated here in time chunks so that memory stays bounded for long spans.

Sites are a :class:`orbitlat.sites.GroundSites` or an
:class:`orbitlat.engine.SiteIndex`. Elevation is measured from each site's
**WGS84 geodetic** local vertical (as Skyfield's ``wgs84.latlon`` topos does);
``spherical=True`` puts the sites on a sphere of radius ``WGS84_A_KM`` and
measures elevation from the geocentric radius instead, which reproduces the
closed forms of :func:`footprint` exactly (the two verticals differ by up to
0.19°, and a spherical site sits up to 21 km from its WGS84 position).

Functions
---------
:func:`footprint`
    Closed-form geometry of one satellite's view (spherical Earth).
:func:`look_angles`
    Azimuth, elevation, range and range rate for every (time, site, sat), as
    an :class:`xarray.Dataset` (only for small problems).
:func:`visible_sets`, :func:`iter_visible`
    Sparse visible (site, sat) pairs per time step and counts per site; the
    ``iter_`` form streams a long span chunk by chunk.
:func:`passes`
    Access windows: rise, culmination and set of every pass, refined by root
    finding on a cubic Hermite interpolant of the ephemeris.
:func:`isl_line_of_sight`, :func:`max_isl_range_km`
    Inter-satellite line of sight over the Earth's limb.

>>> import orbitlat as ol
>>> from orbitlat.engine import SiteIndex
>>> eph = ol.presets.get("iridium").propagate(start="2026-05-30", duration="2h", step="60s")
>>> zurich = SiteIndex.from_latlon([47.37], [8.54], 0.41, min_elevation_deg=10.0)
>>> p = ol.visibility.passes(eph, zurich)
>>> bool((p.max_elevation_deg >= 10.0).all()), list(p.columns[:4])
(True, ['site', 'site_name', 'sat', 'sat_name'])
"""
from __future__ import annotations

import math
import mmap
import os
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from .constants import MU_EARTH_KM3_S2, OMEGA_EARTH_RAD_S, WGS84_A_KM, WGS84_B_KM
from .engine import SiteIndex, max_slant_range_km, visible_pairs
from .errors import EpochWarning, OrbitlatError, PropagationWarning
from .time import TimeGrid, to_timegrid

__all__ = [
    "Footprint",
    "footprint",
    "look_angles",
    "VisibleSets",
    "visible_sets",
    "iter_visible",
    "passes",
    "isl_line_of_sight",
    "max_isl_range_km",
    "MAX_LOOK_ANGLE_ELEMENTS",
    "MASK_RANGE_DEG",
]

#: Largest time × site × sat array :func:`look_angles` builds (4 float64 variables of this size).
MAX_LOOK_ANGLE_ELEMENTS = 50_000_000
#: Valid elevation masks, degrees.
MASK_RANGE_DEG = (-5.0, 90.0)
_NS = 1_000_000_000


# =============================================================================
# closed-form footprint geometry
# =============================================================================
class Footprint(NamedTuple):
    """Geometry of one satellite's view on a spherical Earth (see :func:`footprint`)."""

    #: Earth central angle λ between the sub-satellite point and the edge of coverage, degrees.
    half_angle_deg: Any
    #: Nadir angle η at the satellite between nadir and the edge of coverage, degrees.
    nadir_angle_deg: Any
    #: Slant range D from the satellite to the edge of coverage, km.
    slant_range_km: Any
    #: Footprint radius measured along the ground (great-circle arc R·λ), km.
    radius_km: Any
    #: Fraction of the Earth's surface inside the footprint, (1 − cos λ)/2.
    area_fraction: Any


def footprint(altitude_km: Any, min_elevation_deg: Any, *, radius_km: float = WGS84_A_KM) -> Footprint:
    """Closed-form footprint of a satellite at ``altitude_km`` seen down to ``min_elevation_deg``.

    For a spherical Earth of radius ``R``, satellite radius ``r = R + h`` and
    elevation mask ``ε`` (REFERENCES.md; Wertz, *Space Mission Analysis and Design*):

    - nadir angle ``sin η = R cos ε / r``;
    - Earth central angle ``λ = 90° − η − ε``;
    - slant range ``D = √(r² − (R cos ε)²) − R sin ε``;
    - ground radius ``R·λ`` and area fraction ``(1 − cos λ)/2``.

    Parameters
    ----------
    altitude_km : float or array_like or Quantity
        Height above the sphere, km (> 0).
    min_elevation_deg : float or array_like or Quantity
        Elevation mask, degrees, within [-5, 90].
    radius_km : float
        Sphere radius (default the WGS84 equatorial radius, as REFERENCES.md).

    Returns
    -------
    Footprint
        Named tuple of floats (scalar inputs) or arrays (broadcast inputs).

    Examples
    --------
    Starlink at 550 km with a 25° mask (the FCC filing quotes a 940.7 km footprint radius):

    >>> fp = footprint(550.0, 25.0)
    >>> round(fp.half_angle_deg, 4), round(fp.nadir_angle_deg, 3), round(fp.slant_range_km, 2), round(fp.radius_km, 1)
    (8.4508, 56.549, 1123.42, 940.7)
    """
    h = _as_float(altitude_km, "km", "altitude_km")
    e = _as_float(min_elevation_deg, "deg", "min_elevation_deg")
    if np.any(~np.isfinite(h)) or np.any(h <= 0):
        raise OrbitlatError(
            f"altitude_km must be positive and finite (km above the surface); got {altitude_km!r}."
        )
    _check_mask_range(e, "min_elevation_deg")
    R = float(radius_km)
    r = R + h
    er = np.radians(e)
    eta = np.arcsin(R * np.cos(er) / r)
    lam = np.pi / 2 - eta - er
    D = np.sqrt(r**2 - (R * np.cos(er)) ** 2) - R * np.sin(er)
    out = Footprint(np.degrees(lam), np.degrees(eta), D, R * lam, (1 - np.cos(lam)) / 2)
    if np.ndim(h) == 0 and np.ndim(e) == 0:
        return Footprint(*(float(x) for x in out))
    return out


# =============================================================================
# input handling
# =============================================================================
def _as_float(value: Any, unit: str, name: str) -> np.ndarray:
    if hasattr(value, "to_value") and hasattr(value, "unit"):
        try:
            value = value.to_value(unit)
        except Exception as exc:
            raise OrbitlatError(f"{name}={value!r} cannot be converted to {unit}.") from exc
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OrbitlatError(f"{name} must be a number or an array of numbers ({unit}); got {value!r}.") from exc


def _check_mask_range(mask: np.ndarray, name: str = "min_elevation_deg") -> None:
    lo, hi = MASK_RANGE_DEG
    bad = ~np.isfinite(mask) | (mask < lo) | (mask > hi)
    if np.any(bad):
        flat = np.flatnonzero(np.ravel(bad))
        v = float(np.ravel(mask)[flat[0]])
        where = f" (site {flat[0]})" if np.ndim(mask) else ""
        raise OrbitlatError(
            f"{name}={v:g}°{where} is outside the valid range [{lo:g}°, {hi:g}°]: an elevation mask is the "
            "lowest usable elevation above the horizon in degrees (e.g. 25 for Starlink user terminals, "
            "10 for gateways, 0 for the geometric horizon)."
        )


def _check_mask(mask: Any, n_sites: int) -> np.ndarray:
    m = _as_float(mask, "deg", "min_elevation_deg")
    if m.ndim == 0:
        m = np.full(n_sites, float(m))
    elif m.shape != (n_sites,):
        raise OrbitlatError(
            f"min_elevation_deg has shape {m.shape}; give one mask for all sites (a scalar) or one per site, "
            f"shape ({n_sites},)."
        )
    _check_mask_range(m)
    return m


def _ground_sites_class():
    try:
        from .sites import GroundSites
    except ImportError:  # pragma: no cover - sites module absent
        return None
    return GroundSites


def _as_site_index(sites: Any, min_elevation_deg: Any = None, spherical: bool = False) -> tuple[SiteIndex, np.ndarray]:
    """A SiteIndex (with the requested mask) and the site names, from GroundSites or a SiteIndex."""
    if isinstance(sites, SiteIndex):
        if spherical and not sites.spherical:
            raise OrbitlatError(
                "spherical=True was asked for, but the SiteIndex was built with spherical=False; build it with "
                "SiteIndex.from_latlon(..., spherical=True), or pass GroundSites and spherical=True."
            )
        names = np.array([f"site-{k}" for k in range(sites.size)], dtype=object)
        if min_elevation_deg is None:
            return sites, names
        mask = _check_mask(min_elevation_deg, sites.size)
        idx = SiteIndex(sites.xyz_km, sites.up, sites.east, sites.north, mask, None, sites.spherical)
        idx._tree = sites._tree
        return idx, names
    GroundSites = _ground_sites_class()
    if GroundSites is not None and isinstance(sites, pd.DataFrame) and len(sites):
        sites = GroundSites.from_dataframe(sites)
    if GroundSites is not None and isinstance(sites, GroundSites):
        n = len(sites)
        if n == 0:
            raise OrbitlatError("no sites given (an empty GroundSites): a visibility query needs at least one site.")
        az = None
        if min_elevation_deg is None:
            mask = np.asarray(sites.min_elevation_deg, dtype=np.float64)
            if sites.az_mask_deg is not None:
                az = np.asarray(sites.az_mask_deg, dtype=np.float64)
                az = np.where(np.isnan(az), mask[:, None], az)  # NaN row: no azimuth mask
        else:
            mask = _check_mask(min_elevation_deg, n)
        if az is None:
            idx = SiteIndex.from_latlon(sites.lat_deg, sites.lon_deg, sites.alt_km, min_elevation_deg=mask,
                                        spherical=spherical)
        else:
            idx = SiteIndex.from_latlon(sites.lat_deg, sites.lon_deg, sites.alt_km, min_elevation_deg=mask,
                                        az_mask_deg=az, spherical=spherical)
            idx.floor_deg = mask  # GroundSites semantics: max(min_elevation_deg, az_mask(az))
        return idx, np.asarray(sites.names, dtype=object)
    if sites is None or (hasattr(sites, "__len__") and not isinstance(sites, str) and len(sites) == 0):
        raise OrbitlatError(
            "no sites given: pass a GroundSites (e.g. GroundSites.cities(top=100)) or an "
            "orbitlat.engine.SiteIndex with at least one site."
        )
    raise OrbitlatError(
        f"sites must be an orbitlat.sites.GroundSites or an orbitlat.engine.SiteIndex; got "
        f"{type(sites).__name__}. Build one with GroundSites(names, lat_deg, lon_deg) or "
        "SiteIndex.from_latlon(lat_deg, lon_deg)."
    )


def _check_eph(eph: Any, what: str = "this function") -> None:
    if not isinstance(eph, xr.Dataset) or "position" not in eph:
        raise OrbitlatError(
            f"{what} needs an ephemeris Dataset with a 'position' variable (time, sat, xyz), as returned by "
            f"Constellation.propagate(..., frame='ITRS'); got {type(eph).__name__}."
        )
    frame = eph.attrs.get("frame", eph["position"].attrs.get("frame"))
    if str(frame).upper() != "ITRS":
        raise OrbitlatError(
            f"the ephemeris is in frame {frame!r}, but visibility needs Earth-fixed positions: propagate with "
            "frame='ITRS' (the default), e.g. constellation.propagate(start=..., duration=..., step=..., "
            "frame='ITRS')."
        )
    if tuple(eph["position"].dims) != ("time", "sat", "xyz"):
        raise OrbitlatError(
            f"eph['position'] has dims {eph['position'].dims}; expected ('time', 'sat', 'xyz') as returned by propagate."
        )


def _valid_sats(eph: xr.Dataset) -> np.ndarray:
    if "failed" in eph:
        return ~eph["failed"].to_numpy().astype(bool)
    return np.ones(eph.sizes["sat"], dtype=bool)


def _sat_names(eph_or_c: Any) -> np.ndarray:
    if isinstance(eph_or_c, xr.Dataset):
        if "name" in eph_or_c.coords:
            return np.asarray(eph_or_c["name"].values, dtype=object)
        return np.array([f"sat-{k}" for k in range(eph_or_c.sizes["sat"])], dtype=object)
    return eph_or_c.table["name"].to_numpy(dtype=object)


def _is_constellation(obj: Any) -> bool:
    from .constellation import Constellation

    return isinstance(obj, Constellation)


def _check_rule(rule: str, max_range_km: Any, n_sat: int):
    if rule not in ("elevation", "range"):
        raise OrbitlatError(
            f"rule={rule!r} is not known; use 'elevation' (the sites' elevation masks, optionally with "
            "max_range_km) or 'range' (Hypatia's rule: any satellite within max_range_km slant range)."
        )
    if max_range_km is None:
        if rule == "range":
            raise OrbitlatError("rule='range' needs max_range_km= (e.g. Hypatia's Starlink value 1089.686 km).")
        return None
    r = _as_float(max_range_km, "km", "max_range_km")
    if r.ndim not in (0, 1) or (r.ndim == 1 and r.shape != (n_sat,)):
        raise OrbitlatError(
            f"max_range_km has shape {r.shape}; give one limit (a scalar) or one per satellite, shape ({n_sat},)."
        )
    if np.any(~np.isfinite(r)) or np.any(r <= 0):
        raise OrbitlatError(f"max_range_km must be positive and finite (km); got {max_range_km!r}.")
    return r


def _warn_epoch(c, tg: TimeGrid, limit_days: float, stacklevel: int = 3) -> None:
    """EpochWarning when TLE satellites are used far from their epochs (as propagate does)."""
    from .propagation import _warn_far_from_epoch

    _warn_far_from_epoch(c, tg, limit_days, stacklevel=stacklevel + 1,
                         consequence=", so pass times shift by seconds or more")


def _propagate_quiet(c, tg: TimeGrid, *, velocity: bool, backend: str, workers: int = 1) -> xr.Dataset:
    """Propagate one chunk without repeating the epoch / failure warnings (the caller reports them once)."""
    from .propagation import propagate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EpochWarning)
        warnings.simplefilter("ignore", PropagationWarning)
        return propagate(c, tg, backend=backend, frame="ITRS", velocity=velocity, workers=workers)


def _resolve_source(source: Any, times: Any, start: Any, duration: Any, step: Any, what: str):
    """(eph or None, constellation or None, TimeGrid)."""
    if isinstance(source, xr.Dataset):
        _check_eph(source, what)
        if times is not None or start is not None or duration is not None or step is not None:
            raise OrbitlatError(
                f"{what}: an ephemeris already has its times; do not pass times/start/duration/step with it "
                "(or pass the Constellation instead of its ephemeris)."
            )
        return source, None, TimeGrid(source["time"].values)
    if _is_constellation(source):
        return None, source, to_timegrid(times, start=start, duration=duration, step=step)
    raise OrbitlatError(
        f"{what} takes a Constellation or an ITRS ephemeris Dataset (Constellation.propagate(...)); got "
        f"{type(source).__name__}."
    )


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
    >>> from orbitlat.engine import SiteIndex
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


# =============================================================================
# visible sets
# =============================================================================
@dataclass
class VisibleSets:
    """Visible (site, satellite) pairs per time step, and counts per site.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per visible pair and time step: ``time`` (int, index into
        ``counts.time``), ``site``, ``sat`` (int indices), ``elevation_deg``,
        ``azimuth_deg``, ``range_km``; sorted by time, site, satellite.
    counts : xarray.Dataset
        ``n_visible`` (time, site): number of satellites in view, with the
        ``time`` and ``site``/``site_name`` coordinates.
    attrs : dict
        Provenance: mask, rule, ``n_failed_excluded`` and ``failed_sats``
        (satellites dropped because they failed to propagate).
    """

    pairs: pd.DataFrame
    counts: xr.Dataset
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def at(self, time_index: int) -> pd.DataFrame:
        """The pairs visible at one time step (``time_index`` into ``counts.time``)."""
        t = self.pairs["time"].to_numpy()
        lo, hi = np.searchsorted(t, [time_index, time_index + 1])
        return self.pairs.iloc[lo:hi]

    def __repr__(self) -> str:
        nt = self.counts.sizes.get("time", 0)
        ns = self.counts.sizes.get("site", 0)
        return f"<VisibleSets: {len(self.pairs):,} pairs over {nt} times x {ns} sites>"


def _pairs_block(P: np.ndarray, index: SiteIndex, valid: np.ndarray, rule: str, max_range_km, t_offset: int):
    """Run the engine once per time step over positions P (t, n, 3)."""
    cols = {k: [] for k in ("time", "site", "sat", "el", "az", "rng")}
    counts = np.zeros((P.shape[0], index.size), dtype=np.int32)
    for k in range(P.shape[0]):
        vp = visible_pairs(index, P[k], rule=rule, max_range_km=max_range_km, sat_valid=valid)
        counts[k] = vp.counts()
        cols["time"].append(np.full(len(vp), t_offset + k, dtype=np.int32))
        cols["site"].append(vp.site.astype(np.int32))
        cols["sat"].append(vp.sat.astype(np.int32))
        cols["el"].append(vp.elevation_deg)
        cols["az"].append(vp.azimuth_deg)
        cols["rng"].append(vp.range_km)
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in cols.items()}
    df = pd.DataFrame({"time": cat["time"].astype(np.int32), "site": cat["site"].astype(np.int32),
                       "sat": cat["sat"].astype(np.int32), "elevation_deg": cat["el"],
                       "azimuth_deg": cat["az"], "range_km": cat["rng"]})
    df.attrs["units"] = {"elevation_deg": "deg", "azimuth_deg": "deg", "range_km": "km"}
    return df, counts


def _counts_dataset(counts: np.ndarray, times: np.ndarray, names: np.ndarray, attrs: dict) -> xr.Dataset:
    return xr.Dataset(
        {"n_visible": (("time", "site"), counts, {"units": "satellites",
                                                  "long_name": "number of satellites in view"})},
        coords={"time": times, "site": np.arange(counts.shape[1]), "site_name": ("site", names.astype(str))},
        attrs={k: v for k, v in attrs.items() if isinstance(v, (int, float, str))},
    )


def _mask_attr(index: SiteIndex) -> Any:
    m = index.min_elevation_deg
    if index.az_mask_deg is not None:
        return "per-site azimuth masks"
    return float(m[0]) if np.all(m == m[0]) else "per-site masks"


def visible_sets(eph: xr.Dataset, sites: Any, *, min_elevation_deg: Any = None, rule: str = "elevation",
                 max_range_km: Any = None, spherical: bool = False) -> VisibleSets:
    """Which satellites each site sees at every time step of an ephemeris (sparse).

    Calls :func:`orbitlat.engine.visible_pairs` once per time step: a KD-tree
    join prunes by geometry first, so only the visible pairs are stored.

    Parameters
    ----------
    eph : xarray.Dataset
        Ephemeris from ``propagate(..., frame="ITRS")``.
    sites : GroundSites or SiteIndex
    min_elevation_deg : float or (n_sites,) array, optional
        Elevation mask, degrees in [-5, 90]; default the sites' own masks
        (GroundSites azimuth masks included).
    rule : {"elevation", "range"}
        ``"elevation"``: elevation at or above the mask (and range at most
        ``max_range_km`` if given). ``"range"``: Hypatia's rule, any satellite
        within ``max_range_km`` (no elevation test).
    max_range_km : float or (n_sat,) array, optional
    spherical : bool
        Spherical Earth and geocentric vertical (see the module docs).

    Returns
    -------
    VisibleSets
        Failed satellites (``eph["failed"]``) are excluded and counted in
        ``attrs["n_failed_excluded"]``.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.engine import SiteIndex
    >>> eph = ol.presets.get("gps").propagate(start="2026-05-30", duration="1h", step="10min")
    >>> vs = visible_sets(eph, SiteIndex.from_latlon([46.5], [6.6]), min_elevation_deg=5.0)
    >>> vs.counts.n_visible.dims, list(vs.pairs.columns)
    (('time', 'site'), ['time', 'site', 'sat', 'elevation_deg', 'azimuth_deg', 'range_km'])
    """
    _check_eph(eph, "visible_sets")
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    N = eph.sizes["sat"]
    rng_lim = _check_rule(rule, max_range_km, N)
    valid = _valid_sats(eph)
    P = np.asarray(eph["position"].values, dtype=np.float64)
    df, counts = _pairs_block(P, index, valid, rule, rng_lim, 0)
    attrs = _vs_attrs(index, rule, rng_lim, valid, _sat_names(eph))
    return VisibleSets(df, _counts_dataset(counts, eph["time"].values, names, attrs), attrs)


def _vs_attrs(index, rule, rng_lim, valid, sat_names) -> dict:
    failed = np.flatnonzero(~valid)
    return {
        "min_elevation_deg": _mask_attr(index) if rule == "elevation" else "none (range rule)",
        "rule": rule,
        "max_range_km": "none" if rng_lim is None else (float(rng_lim) if np.ndim(rng_lim) == 0 else "per satellite"),
        "vertical": "spherical" if index.spherical else "WGS84 geodetic",
        "n_failed_excluded": int(failed.size),
        "failed_sats": [str(sat_names[k]) for k in failed],
    }


def iter_visible(source: Any, sites: Any, times: Any = None, *, start: Any = None, duration: Any = None,
                 step: Any = None, chunk: int = 60, min_elevation_deg: Any = None, rule: str = "elevation",
                 max_range_km: Any = None, spherical: bool = False, backend: str = "auto",
                 warn_epoch_days: float = 14.0) -> Iterator[VisibleSets]:
    """Stream visible sets chunk by chunk, propagating only ``chunk`` time steps at a time.

    Memory stays bounded by one chunk's ephemeris and pairs, so spans of
    weeks at fine steps work. Concatenating the chunks gives exactly what
    :func:`visible_sets` returns for the whole ephemeris.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here with ``backend``), or an ITRS
        ephemeris (then ``times``/``start``/... must not be given).
    sites, min_elevation_deg, rule, max_range_km, spherical
        As for :func:`visible_sets`.
    times, start, duration, step
        The time grid (constellation input): explicit instants or start/duration/step.
    chunk : int
        Time steps per chunk.
    backend : str
        Propagation backend (constellation input).
    warn_epoch_days : float
        :class:`~orbitlat.errors.EpochWarning` when TLEs are used further than
        this from their epochs (once, up front).

    Yields
    ------
    VisibleSets
        One per chunk; ``pairs.time`` and ``counts.time`` are global (index
        into the whole grid). Satellites that fail to propagate inside a chunk
        are excluded from that chunk (``attrs["failed_sats"]``) and reported
        with a :class:`~orbitlat.errors.PropagationWarning`.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.engine import SiteIndex
    >>> c = ol.presets.get("iridium")
    >>> site = SiteIndex.from_latlon([47.4], [8.5], min_elevation_deg=8.2)
    >>> n = [int(v.counts.n_visible.sum()) for v in iter_visible(c, site, start="2026-05-30", duration="1h",
    ...                                                            step="60s", chunk=20)]
    >>> len(n)
    4
    """
    eph, c, tg = _resolve_source(source, times, start, duration, step, "iter_visible")
    if not isinstance(chunk, (int, np.integer)) or isinstance(chunk, bool) or chunk < 1:
        raise OrbitlatError(f"chunk must be a positive number of time steps; got {chunk!r}.")
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    n_sat = eph.sizes["sat"] if eph is not None else c.size
    rng_lim = _check_rule(rule, max_range_km, n_sat)
    sat_names = _sat_names(eph if eph is not None else c)
    if c is not None:
        _warn_epoch(c, tg, warn_epoch_days, stacklevel=2)

    def gen() -> Iterator[VisibleSets]:
        for k0 in range(0, len(tg), chunk):
            k1 = min(len(tg), k0 + chunk)
            if eph is not None:
                P = np.asarray(eph["position"].values[k0:k1], dtype=np.float64)
                valid = _valid_sats(eph)
            else:
                e = _propagate_quiet(c, tg[k0:k1], velocity=False, backend=backend,
                                     workers=None if (k1 - k0) * n_sat >= 400_000 else 1)
                P = e["position"].values
                valid = ~np.asarray(e["failed"].values, dtype=bool)
                if not valid.all():
                    warnings.warn(
                        f"{int((~valid).sum())} of {n_sat} satellites failed to propagate between {tg.utc[k0]} and "
                        f"{tg.utc[k1 - 1]}; they are excluded from that chunk (VisibleSets.attrs['failed_sats']).",
                        PropagationWarning, stacklevel=2)
            df, counts = _pairs_block(P, index, valid, rule, rng_lim, k0)
            attrs = _vs_attrs(index, rule, rng_lim, valid, sat_names)
            yield VisibleSets(df, _counts_dataset(counts, tg.utc[k0:k1], names, attrs), attrs)

    return gen()


# =============================================================================
# passes: helpers (Hermite interpolation, vectorized root finding)
# =============================================================================
def _hermite_coeffs(r0: np.ndarray, r1: np.ndarray, v0: np.ndarray, v1: np.ndarray, h) -> np.ndarray:
    """Power-basis coefficients (..., 4, 3) of the cubic Hermite interpolant in s = (t − t0)/h ∈ [0, 1].

    ``x(s) = c0 + c1 s + c2 s² + c3 s³`` matches position and velocity at both
    ends (``dx/ds = h·v``).
    """
    h = np.asarray(h, dtype=np.float64)[..., None]
    hv0 = h * v0
    hv1 = h * v1
    d = r1 - r0
    return np.stack([r0, hv0, 3 * d - 2 * hv0 - hv1, -2 * d + hv0 + hv1], axis=-2)


def _hermite_eval(c: np.ndarray, s) -> np.ndarray:
    """Evaluate coefficients (..., 4, 3) at s (...,): position (..., 3)."""
    s = np.asarray(s, dtype=np.float64)[..., None]
    return ((c[..., 3, :] * s + c[..., 2, :]) * s + c[..., 1, :]) * s + c[..., 0, :]


class _Cubic:
    """Cubic Hermite trajectories of many (site, satellite, step) rows in each site's local ENU frame.

    ``C`` (12, n): power-basis coefficients in s ∈ [0, 1] of east (rows 0-3),
    north (4-7) and up (8-11). ``f`` has the sign of elevation − mask (it is
    sin(el) − sin(mask) without azimuth masks), ``g`` is d(sin el)/ds.
    """

    __slots__ = ("C", "sm", "site", "index")

    def __init__(self, C: np.ndarray, sm: np.ndarray | None, site: np.ndarray, index: SiteIndex):
        self.C, self.sm, self.site, self.index = C, sm, site, index

    def take(self, idx: np.ndarray) -> "_Cubic":
        return _Cubic(np.take(self.C, idx, axis=1), None if self.sm is None else self.sm[idx], self.site[idx],
                      self.index)

    def _xyz(self, s):
        C = self.C
        x = ((C[3] * s + C[2]) * s + C[1]) * s + C[0]
        y = ((C[7] * s + C[6]) * s + C[5]) * s + C[4]
        z = ((C[11] * s + C[10]) * s + C[9]) * s + C[8]
        return x, y, z

    def f(self, s):
        x, y, z = self._xyz(s)
        r = np.sqrt(x * x + y * y + z * z)
        if self.sm is not None:
            return z / r - self.sm
        el = np.degrees(np.arcsin(np.clip(z / r, -1.0, 1.0)))
        az = np.mod(np.degrees(np.arctan2(x, y)), 360.0)
        return el - self.index.mask_at(self.site, az)

    def g(self, s):
        C = self.C
        x, y, z = self._xyz(s)
        dx = (3 * C[3] * s + 2 * C[2]) * s + C[1]
        dy = (3 * C[7] * s + 2 * C[6]) * s + C[5]
        dz = (3 * C[11] * s + 2 * C[10]) * s + C[9]
        r2 = x * x + y * y + z * z
        return (dz * r2 - z * (x * dx + y * dy + z * dz)) / (r2 * np.sqrt(r2))

    def elevation_deg(self, s):
        x, y, z = self._xyz(s)
        return np.degrees(np.arcsin(np.clip(z / np.sqrt(x * x + y * y + z * z), -1.0, 1.0)))


def _polyval(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Evaluate polynomials with coefficients ``c`` (degree+1, n), lowest first, at ``s`` (n,)."""
    acc = c[-1] * s
    acc += c[-2]
    for k in range(c.shape[0] - 3, -1, -1):
        acc *= s
        acc += c[k]
    return acc


def _polyder(c: np.ndarray) -> np.ndarray:
    d = c.shape[0] - 1
    return c[1:] * np.arange(1, d + 1, dtype=np.float64)[:, None]


def _crossing_poly(z: np.ndarray, r2: np.ndarray, sm: np.ndarray) -> np.ndarray:
    """Q = z² − sin²(mask)·|ρ|² (degree 6): same roots as sin(el) − sin(mask) where el > 0 (z for mask 0)."""
    Q = np.empty((7, z.shape[1]))
    Q[0] = z[0] * z[0]
    Q[1] = 2 * z[0] * z[1]
    Q[2] = z[1] * z[1] + 2 * z[0] * z[2]
    Q[3] = 2 * (z[0] * z[3] + z[1] * z[2])
    Q[4] = z[2] * z[2] + 2 * z[1] * z[3]
    Q[5] = 2 * z[2] * z[3]
    Q[6] = z[3] * z[3]
    Q -= (sm * sm) * r2
    zero = sm == 0
    if zero.any():
        Q[:4, zero] = z[:, zero]
        Q[4:, zero] = 0.0
    return Q


def _rate_poly(z: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Numerator of d(sin el)/ds: z'·|ρ|² − z·(ρ·ρ') (degree 8); its roots are the elevation extrema."""
    dz = (z[1], 2 * z[2], 3 * z[3])
    half_dr2 = np.stack([0.5 * r2[1], r2[2], 1.5 * r2[3], 2 * r2[4], 2.5 * r2[5], 3 * r2[6]])
    Nc = np.zeros((9, z.shape[1]))
    for i in range(3):
        Nc[i:i + 7] += dz[i] * r2
    for i in range(4):
        Nc[i:i + 6] -= z[i] * half_dr2
    return Nc


def _newton(C: np.ndarray, a: np.ndarray, b: np.ndarray, tol: np.ndarray, max_iter: int = 8):
    """Newton iterations on polynomials C from the regula-falsi point of [a, b].

    Each row iterates until its own step falls below tol/20 (so a row's result
    does not depend on the other rows it is computed with). Returns (s, ok):
    ok where that happened within ``max_iter`` steps, s stayed inside [a, b]
    and the bracket had a sign change; the caller sends the others to the
    bracketed Illinois solver.
    """
    fa = _polyval(C, a)
    fb = _polyval(C, b)
    D = _polyder(C)
    n = a.size
    with np.errstate(all="ignore"):
        s = (a * fb - b * fa) / (fb - fa)
        lo = np.minimum(a, b)
        hi = np.maximum(a, b)
        s = np.where((s >= lo) & (s <= hi), s, 0.5 * (a + b))
        ok = np.zeros(n, bool)
        act = np.arange(n)
        Ca, Da, sa, ta = C, D, s.copy(), 0.05 * tol
        done = np.zeros(n, bool)
        for _ in range(max_iter):
            step = _polyval(Ca, sa) / _polyval(Da, sa)
            np.subtract(sa, step, out=sa, where=~done)
            # quadratic convergence: after a step below tol/20 the error is far below tol
            done |= np.abs(step) < ta
            n_live = act.size - int(np.count_nonzero(done))
            if n_live == 0 or n_live < 0.5 * act.size:
                s[act] = sa
                ok[act[done]] = True
                if n_live == 0:
                    break
                keep = ~done
                act, Ca, Da, sa, ta = act[keep], Ca[:, keep], Da[:, keep], sa[keep], ta[keep]
                done = np.zeros(act.size, bool)
        else:
            s[act] = sa
            ok[act[done]] = True
        ok &= (s >= lo) & (s <= hi) & (fa * fb < 0)
    return s, ok


def _solve(cub: _Cubic, which: str, a, b, fa, fb, tol, max_iter: int = 60) -> np.ndarray:
    """Vectorized Illinois (modified regula falsi) root of ``cub.<which>`` on each bracket [a, b].

    Every element stops once its bracket is narrower than ``tol`` (units of
    s); the estimate is then the regula-falsi point of the final bracket.
    Elements whose end values do not bracket a root return the end nearer zero.
    Converged elements are dropped from the working arrays as they finish.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    fa = np.asarray(fa, dtype=np.float64)
    fb = np.asarray(fb, dtype=np.float64)
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), a.shape)
    out = np.where(np.abs(fa) <= np.abs(fb), a, b)
    with np.errstate(invalid="ignore"):
        idx = np.flatnonzero((fa * fb < 0) & np.isfinite(fa) & np.isfinite(fb))
    if idx.size == 0:
        return out
    cur = cub if idx.size == a.size else cub.take(idx)
    # normalize: A is the end where the function is negative, B where it is positive
    neg_a = fa[idx] < 0
    A = np.where(neg_a, a[idx], b[idx])
    B = np.where(neg_a, b[idx], a[idx])
    FA = np.where(neg_a, fa[idx], fb[idx])
    FB = np.where(neg_a, fb[idx], fa[idx])
    TOL = tol[idx]
    side = np.zeros(idx.size, np.int8)  # +1: A was replaced last, -1: B was
    fun = getattr(cur, which)
    c = 0.5 * (A + B)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            c = (A * FB - B * FA) / (FB - FA)
            lo = np.minimum(A, B)
            hi = np.maximum(A, B)
            bad = ~((c > lo) & (c < hi))
            if bad.any():
                c[bad] = 0.5 * (lo[bad] + hi[bad])
            fc = fun(c)
            m = fc < 0
            p = ~m
            # Illinois: when the same end is replaced twice in a row, halve the other end's value
            np.multiply(FB, 0.5, out=FB, where=m & (side == 1))
            np.multiply(FA, 0.5, out=FA, where=p & (side == -1))
            np.copyto(A, c, where=m)
            np.copyto(FA, fc, where=m)
            np.copyto(B, c, where=p)
            np.copyto(FB, fc, where=p)
            side = m.view(np.int8) * np.int8(2) - np.int8(1)
            done = (np.abs(B - A) <= TOL) | (fc == 0) | ~np.isfinite(fc)
            if done.any():
                est = (A * FB - B * FA) / (FB - FA)
                ok = (est >= np.minimum(A, B)) & (est <= np.maximum(A, B)) & (fc != 0)
                est = np.where(ok, est, c)
                out[idx[done]] = est[done]
                k = np.flatnonzero(~done)
                if k.size == 0:
                    break
                cur = cur.take(k)
                fun = getattr(cur, which)
                A, B, FA, FB, TOL, side, idx, c = A[k], B[k], FA[k], FB[k], TOL[k], side[k], idx[k], c[k]
        else:
            out[idx] = c
    return out


# =============================================================================
# detection margin
# =============================================================================
def _detection_margin_deg(mask_deg: np.ndarray, site_r_km: np.ndarray, sat_r_min_km: float, v_max_km_s: float,
                          v_radial_max_km_s: float, step_s: float) -> np.ndarray:
    """How far below the mask the nearest sample can be when a pass peaks above the mask between two samples.

    Model (per site, for the satellites of one altitude band). Let a pass peak
    at elevation e* ≥ mask at time t*; the nearest sample is at most
    τ = step/2 away. At a culmination the line of sight turns horizontally,
    so the direction to the satellite follows the great circle tangent to the
    elevation circle: after an angle θ its elevation is asin(sin e*·cos θ).
    In τ the satellite moves s = v·τ across the line of sight, and at most
    v_r·τ along it, where v_r bounds the range rate at a culmination (the
    orbit's radial rate √(μ/p)·e, plus 0.35 % of v for the tilt of the
    geodetic vertical): tan θ ≤ s / (D − v_r·τ). Curvature (gravity,
    centrifugal and Coriolis accelerations in ITRS) displaces it by at most
    δ = a·τ²/2 more, i.e. asin(δ/D') of elevation. D is the slant range at e*
    for the lowest satellite (taken at e* + 0.2° to cover the geodetic vs
    geocentric vertical). Only peaks that a pass can reach without any sample
    above the mask matter: the time spent above the mask is at least
    2·∫ D(e)/v de from the mask up to e*, which must stay below one step.
    The margin is mask − min over those e* of the sample elevation, times 1.1
    plus 0.05°.
    """
    mask = np.asarray(mask_deg, dtype=np.float64)
    rs = np.asarray(site_r_km, dtype=np.float64)
    tau = 0.5 * float(step_s)
    v = float(v_max_km_s)
    s = v * tau
    acc = MU_EARTH_KM3_S2 / sat_r_min_km**2 + 2 * OMEGA_EARTH_RAD_S * v + OMEGA_EARTH_RAD_S**2 * sat_r_min_km
    delta = 0.5 * acc * tau * tau
    frac = np.linspace(0.0, 1.0, 129)
    e_star = mask[:, None] + (90.0 - mask[:, None]) * frac[None, :]  # (m, k)
    D = max_slant_range_km(rs[:, None], sat_r_min_km, np.minimum(e_star + 0.2, 90.0))
    D = np.maximum(D, 1e-3)
    v_r = float(v_radial_max_km_s) + 0.0035 * v
    theta = np.arctan2(s, np.maximum(D - v_r * tau, 1e-3))
    el_line = np.degrees(np.arcsin(np.sin(np.radians(e_star)) * np.cos(theta)))
    D2 = np.maximum(D * np.cos(theta), 1e-3)
    el_s = el_line - np.degrees(np.arcsin(np.minimum(delta / D2, 1.0)))
    # least time above the mask for a pass peaking at e*: 2 ∫ D/v de (radians)
    de = np.radians(np.diff(e_star, axis=1))
    t_above = np.concatenate([np.zeros((mask.size, 1)),
                              2 * np.cumsum(0.5 * (D[:, 1:] + D[:, :-1]) * de / v, axis=1)], axis=1)
    possible = t_above <= step_s
    el_s = np.where(possible, el_s, np.inf)
    margin = mask - el_s.min(axis=1)
    return np.maximum(margin, 0.0) * 1.1 + 0.05


_ALT_BANDS_KM = (0.0, 350.0, 450.0, 1000.0, 2500.0, 10000.0, 30000.0, np.inf)


def _margin_groups(index: SiteIndex, sat_r_min: np.ndarray, sat_v_max: np.ndarray, sat_vr_max: np.ndarray,
                   valid: np.ndarray, max_step_s: float, margin_deg: Any):
    """Split satellites into altitude bands, each with per-site lowered masks.

    Returns a list of (lowered SiteIndex, satellite mask, per-site margin).
    """
    mask = index.min_elevation_deg
    site_r = np.linalg.norm(index.xyz_km, axis=1)
    alt = sat_r_min - WGS84_A_KM
    groups = []
    for lo, hi in zip(_ALT_BANDS_KM[:-1], _ALT_BANDS_KM[1:]):
        sel = valid & (alt >= lo) & (alt < hi)
        if not sel.any():
            continue
        if margin_deg is None:
            mg = _detection_margin_deg(mask if index.az_mask_deg is None else np.maximum(
                index.az_mask_deg.max(axis=1), mask), site_r, float(sat_r_min[sel].min()),
                float(sat_v_max[sel].max()), float(sat_vr_max[sel].max()), max_step_s)
        else:
            mg = np.broadcast_to(_as_float(margin_deg, "deg", "margin_deg"), mask.shape).astype(np.float64)
        groups.append([sel, mg])
    if not groups:  # no valid satellite at all
        groups = [[valid.copy(), np.zeros_like(mask) + 0.05]]
    # merge neighbouring bands whose margins differ by < 0.5° (one engine call instead of two)
    merged = [groups[0]]
    for sel, mg in groups[1:]:
        psel, pmg = merged[-1]
        if np.max(np.abs(pmg - mg)) < 0.5:
            merged[-1] = [psel | sel, np.maximum(pmg, mg)]
        else:
            merged.append([sel, mg])
    out = []
    for sel, mg in merged:
        low = SiteIndex(index.xyz_km, index.up, index.east, index.north, index.min_elevation_deg, index.az_mask_deg,
                        index.spherical)
        # masks below -5° are outside SiteIndex's validated range: set the lowered masks after construction
        low.min_elevation_deg = np.maximum(index.min_elevation_deg - mg, -89.0)
        if index.az_mask_deg is not None:
            low.az_mask_deg = np.maximum(index.az_mask_deg - mg[:, None], -89.0)
        low._tree = index.tree
        out.append((low, sel, mg))
    return out


# =============================================================================
# passes: the sweep
# =============================================================================
_PIECE_FIELDS = ("key", "rise", "rise_cut", "set", "set_cut", "culm", "max_el")


def _pieces_empty() -> dict:
    return {"key": np.empty(0, np.int64), "rise": np.empty(0), "rise_cut": np.empty(0, bool), "set": np.empty(0),
            "set_cut": np.empty(0, bool), "culm": np.empty(0), "max_el": np.empty(0)}


def _pieces_take(p: dict, idx) -> dict:
    return {k: v[idx] for k, v in p.items()}


def _pieces_concat(parts: list) -> dict:
    parts = [p for p in parts if p["key"].size]
    if not parts:
        return _pieces_empty()
    if len(parts) == 1:
        return parts[0]
    return {k: np.concatenate([p[k] for p in parts]) for k in _PIECE_FIELDS}


def _pieces_merge(open_: dict, new: dict) -> dict:
    """Join passes still running at a boundary (``open_``, set_cut there) with the next span's pieces.

    ``new`` pieces with ``rise_cut`` start at that boundary. Matching keys are
    one pass; an unmatched open piece set exactly at the boundary, an
    unmatched new piece rose there (a floating-point tie at the mask).
    """
    head = np.flatnonzero(new["rise_cut"])
    rest = np.flatnonzero(~new["rise_cut"])
    hk = new["key"][head]
    order = np.argsort(hk, kind="stable")
    head, hk = head[order], hk[order]
    ok = open_["key"]
    oorder = np.argsort(ok, kind="stable")
    ok = ok[oorder]
    pos = np.searchsorted(hk, ok)
    pos_c = np.minimum(pos, max(hk.size - 1, 0))
    matched = (pos < hk.size) & (hk[pos_c] == ok) if hk.size else np.zeros(ok.size, bool)
    o_m = oorder[matched]
    h_m = head[pos_c[matched]]
    better = new["max_el"][h_m] > open_["max_el"][o_m]
    joined = {
        "key": open_["key"][o_m],
        "rise": open_["rise"][o_m],
        "rise_cut": open_["rise_cut"][o_m],
        "set": new["set"][h_m],
        "set_cut": new["set_cut"][h_m],
        "culm": np.where(better, new["culm"][h_m], open_["culm"][o_m]),
        "max_el": np.where(better, new["max_el"][h_m], open_["max_el"][o_m]),
    }
    o_un = _pieces_take(open_, oorder[~matched])
    o_un["set_cut"] = np.zeros(o_un["key"].size, bool)
    h_hit = np.zeros(head.size, bool)
    h_hit[pos_c[matched]] = True
    h_un = _pieces_take(new, head[~h_hit])
    h_un["rise_cut"] = np.zeros(h_un["key"].size, bool)
    return _pieces_concat([joined, o_un, h_un, _pieces_take(new, rest)])


class _Sample(NamedTuple):
    """Engine output at one sample: candidate pairs (sorted keys), their elevation, visibility at the mask."""

    keys: np.ndarray
    el: np.ndarray
    vis: np.ndarray


def _match(a: _Sample, b: _Sample):
    """Positions of a's pairs in b and of b's pairs in a (−1 where absent), from one binary search."""
    ia = np.full(a.keys.size, -1, np.int64)
    ib = np.full(b.keys.size, -1, np.int64)
    if a.keys.size and b.keys.size:
        pos = np.searchsorted(a.keys, b.keys)
        np.minimum(pos, a.keys.size - 1, out=pos)
        found = a.keys[pos] == b.keys
        ib[found] = pos[found]
        ia[pos[found]] = np.flatnonzero(found)
    return ia, ib


def _neighbour(s: _Sample | None, idx: np.ndarray | None, n: int):
    """Elevation (−inf if absent) and visibility in sample ``s`` of pairs at positions ``idx`` (−1: absent)."""
    if s is None or idx is None:
        return np.full(n, -np.inf), np.zeros(n, bool)
    found = idx >= 0
    j = np.where(found, idx, 0)
    if s.keys.size == 0:
        return np.full(n, -np.inf), np.zeros(n, bool)
    return np.where(found, s.el[j], -np.inf), found & s.vis[j]


def _order_by_key_time(keys: np.ndarray, t: np.ndarray, n_ordered: int) -> np.ndarray:
    """Order of events by (key, time); within each key the first ``n_ordered`` are already in time order.

    A stable sort by key keeps that time order (and merges the per-step sorted runs cheaply); the few
    keys with events beyond ``n_ordered`` (short passes, dips) are then re-sorted by time in place.
    """
    order = np.argsort(keys, kind="stable")
    if n_ordered < keys.size:
        xk = np.unique(keys[n_ordered:])
        sk = keys[order]
        lo = np.searchsorted(sk, xk, side="left")  # the block of each such key in the sorted order
        hi = np.searchsorted(sk, xk, side="right")
        n = hi - lo
        pos = np.repeat(lo - np.concatenate([[0], np.cumsum(n)[:-1]]), n) + np.arange(int(n.sum()))
        rows = order[pos]
        order[pos] = rows[np.lexsort((t[rows], keys[rows]))]
    return order


class _PassSweep:
    """Sample, detect and refine passes over a span of a time grid (one worker's share)."""

    def __init__(self, index: SiteIndex, groups, n_sat: int, times_s: np.ndarray, tol_s: float, get_pv,
                 want_counts: bool, block_rows: int = 16384):
        self.index = index
        self.groups = groups
        self.N = n_sat
        self.M = index.size
        self.n_t = times_s.size
        self.times_s = times_s
        self.dt = np.append(np.diff(times_s), 1.0)
        self.tol_s = tol_s
        self.get_pv = get_pv  # (k_lo, k_hi) -> (P, V, valid) for samples k_lo..k_hi inclusive, (t, n, 3)
        self.want_counts = want_counts
        self.block_rows = block_rows
        self.has_az = index.az_mask_deg is not None
        self.sin_mask = np.sin(np.radians(index.min_elevation_deg))
        # site frames, structure of arrays: X (0-2), east (3-5), north (6-8), up (9-11)
        self.sx = np.ascontiguousarray(np.concatenate([index.xyz_km.T, index.east.T, index.north.T, index.up.T]))
        self.stats = {"short_passes": 0, "dips": 0, "dropped_peaks": 0}

    # -- engine at one sample -------------------------------------------------------------
    def engine(self, Pj: np.ndarray, valid: np.ndarray):
        keys, els, viss = [], [], []
        counts = np.zeros(self.M, dtype=np.int32) if self.want_counts else None
        for low, sel, _ in self.groups:
            vp = visible_pairs(low, Pj, sat_valid=valid & sel)
            if len(vp) == 0:
                continue
            vis = vp.elevation_deg >= self.index.mask_at(vp.site, vp.azimuth_deg)
            if counts is not None:
                counts += np.bincount(vp.site[vis], minlength=self.M).astype(np.int32)
            keys.append(vp.site * self.N + vp.sat)
            els.append(vp.elevation_deg)
            viss.append(vis)
        if not keys:
            return _Sample(np.empty(0, np.int64), np.empty(0), np.empty(0, bool)), counts
        if len(keys) == 1:
            return _Sample(keys[0], els[0], viss[0]), counts
        k = np.concatenate(keys)
        o = np.argsort(k, kind="stable")
        return _Sample(k[o], np.concatenate(els)[o], np.concatenate(viss)[o]), counts

    # -- exact elevation rate at one sample for a few pairs ---------------------------------
    def g_at(self, Pj, Vj, keys):
        site = keys // self.N
        sat = keys - site * self.N
        p = np.take(Pj, sat, axis=0)
        v = np.take(Vj, sat, axis=0)
        s = np.take(self.sx, site, axis=1)
        rx, ry, rz = p[:, 0] - s[0], p[:, 1] - s[1], p[:, 2] - s[2]
        u = rx * s[9] + ry * s[10] + rz * s[11]
        ud = v[:, 0] * s[9] + v[:, 1] * s[10] + v[:, 2] * s[11]
        rv = rx * v[:, 0] + ry * v[:, 1] + rz * v[:, 2]
        r2 = rx * rx + ry * ry + rz * rz
        return (ud * r2 - u * rv) / (r2 * np.sqrt(r2))

    # -- Hermite cubics for event rows -------------------------------------------------------
    def cubic(self, keys, jint, Ps, Vs, p_lo):
        N = self.N
        site = keys // N
        sat = keys - site * N
        i0 = (jint - p_lo) * N + sat
        i1 = i0 + N
        h = self.dt[jint]
        s = np.take(self.sx, site, axis=1)
        r0 = [Ps[a].take(i0) - s[a] for a in range(3)]
        r1 = [Ps[a].take(i1) - s[a] for a in range(3)]
        v0 = [Vs[a].take(i0) for a in range(3)]
        v1 = [Vs[a].take(i1) for a in range(3)]
        C = np.empty((12, keys.size))
        for ax in range(3):  # east, north, up
            e0, e1, e2 = s[3 + 3 * ax], s[4 + 3 * ax], s[5 + 3 * ax]
            q0 = r0[0] * e0 + r0[1] * e1 + r0[2] * e2
            q1 = r1[0] * e0 + r1[1] * e1 + r1[2] * e2
            w0 = (v0[0] * e0 + v0[1] * e1 + v0[2] * e2) * h
            w1 = (v1[0] * e0 + v1[1] * e1 + v1[2] * e2) * h
            d = q1 - q0
            C[4 * ax] = q0
            C[4 * ax + 1] = w0
            C[4 * ax + 2] = 3 * d - 2 * w0 - w1
            C[4 * ax + 3] = w0 + w1 - 2 * d
        sm = None if self.has_az else self.sin_mask[site]
        return _Cubic(C, sm, site, self.index), h, site

    # -- refinement: polynomial Newton (no azimuth masks), Illinois on the Hermite cubic otherwise -------
    def _poly_rows(self, keys, jint, Ps, Vs, p_lo):
        """Up component z(s) (4, n) and |ρ(s)|² (7, n) of the Hermite trajectories, as polynomials in s."""
        N = self.N
        site = keys // N
        sat = keys - site * N
        i0 = (jint - p_lo) * N + sat
        i1 = i0 + N
        h = self.dt[jint]
        n = keys.size
        d = np.zeros((10, n))  # c_i·c_j for ij = 00 01 02 03 11 12 13 22 23 33
        z = np.zeros((4, n))
        sx = self.sx
        for a in range(3):
            X = sx[a].take(site)
            U = sx[9 + a].take(site)
            c0 = Ps[a].take(i0) - X
            r1 = Ps[a].take(i1) - X
            c1 = Vs[a].take(i0) * h
            w1 = Vs[a].take(i1) * h
            dd = r1 - c0
            c2 = 3 * dd - 2 * c1 - w1
            c3 = c1 + w1 - 2 * dd
            d[0] += c0 * c0
            d[1] += c0 * c1
            d[2] += c0 * c2
            d[3] += c0 * c3
            d[4] += c1 * c1
            d[5] += c1 * c2
            d[6] += c1 * c3
            d[7] += c2 * c2
            d[8] += c2 * c3
            d[9] += c3 * c3
            z[0] += U * c0
            z[1] += U * c1
            z[2] += U * c2
            z[3] += U * c3
        r2 = np.empty((7, n))
        r2[0] = d[0]
        r2[1] = 2 * d[1]
        r2[2] = d[4] + 2 * d[2]
        r2[3] = 2 * (d[3] + d[5])
        r2[4] = d[7] + 2 * d[6]
        r2[5] = 2 * d[8]
        r2[6] = d[9]
        return z, r2, h, site

    def roots_f(self, keys, jint, a, b, Ps, Vs, p_lo):
        """Mask crossings (root of elevation − mask) on [a, b] ⊂ [0, 1] of each row's step."""
        out = np.empty(keys.size)
        tol_all = self.tol_s / self.dt[jint]
        bad_all = []
        if self.has_az:
            bad_all.append(np.arange(keys.size))
        else:
            B = self.block_rows
            for b0 in range(0, keys.size, B):
                sl = slice(b0, b0 + B)
                z, r2, h, site = self._poly_rows(keys[sl], jint[sl], Ps, Vs, p_lo)
                sm = self.sin_mask[site]
                s, ok = _newton(_crossing_poly(z, r2, sm), a[sl], b[sl], tol_all[sl])
                ok &= (sm >= 0) & (_polyval(z, s) >= 0)  # the root of Q where el = +mask
                out[sl] = s
                bad_all.append(b0 + np.flatnonzero(~ok))
        bad = np.concatenate(bad_all) if bad_all else np.empty(0, np.int64)
        for b0 in range(0, bad.size, self.block_rows):
            r = bad[b0:b0 + self.block_rows]
            cub, _, _ = self.cubic(keys[r], jint[r], Ps, Vs, p_lo)
            out[r] = _solve(cub, "f", a[r], b[r], cub.f(a[r]), cub.f(b[r]), tol_all[r])
        return out

    def roots_g(self, keys, jint, Ps, Vs, p_lo):
        """Elevation extremum (root of d(el)/dt) in each row's step: (s, elevation_deg, f at s)."""
        n_all = keys.size
        s_out, el_out, f_out = np.empty(n_all), np.empty(n_all), np.empty(n_all)
        tol_all = self.tol_s / self.dt[jint]
        B = self.block_rows
        bad_all = []
        for b0 in range(0, n_all, B):
            sl = slice(b0, b0 + B)
            z, r2, h, site = self._poly_rows(keys[sl], jint[sl], Ps, Vs, p_lo)
            n = z.shape[1]
            s, ok = _newton(_rate_poly(z, r2), np.zeros(n), np.ones(n), tol_all[sl])
            s_out[sl] = s
            sin_el = np.clip(_polyval(z, s) / np.sqrt(_polyval(r2, s)), -1.0, 1.0)
            el_out[sl] = np.degrees(np.arcsin(sin_el))
            f_out[sl] = sin_el - self.sin_mask[site]
            bad_all.append(b0 + np.flatnonzero(~ok))
        bad = np.concatenate(bad_all) if bad_all else np.empty(0, np.int64)
        for b0 in range(0, bad.size, B):  # Newton stragglers: bracketed solver on the Hermite cubic
            r = bad[b0:b0 + B]
            cub, _, _ = self.cubic(keys[r], jint[r], Ps, Vs, p_lo)
            zb, ob = np.zeros(r.size), np.ones(r.size)
            s_out[r] = _solve(cub, "g", zb, ob, cub.g(zb), cub.g(ob), tol_all[r])
            el_out[r] = cub.elevation_deg(s_out[r])
            f_out[r] = cub.f(s_out[r])
        if self.has_az:  # elevation − azimuth-dependent mask
            for b0 in range(0, n_all, B):
                sl = slice(b0, b0 + B)
                cub, _, _ = self.cubic(keys[sl], jint[sl], Ps, Vs, p_lo)
                f_out[sl] = cub.f(s_out[sl])
        return s_out, el_out, f_out

    def el_at(self, keys, jint, s, Ps, Vs, p_lo):
        """Elevation (deg) at s of each row's step (azimuth-mask sites; otherwise the mask is the answer)."""
        site = keys // self.N
        if not self.has_az:
            return self.index.min_elevation_deg[site]
        cub, _, _ = self.cubic(keys, jint, Ps, Vs, p_lo)
        return cub.elevation_deg(s)

    # -- a whole span ----------------------------------------------------------------------------
    def run(self, ks: int, ke: int, chunk: int, counts_out):
        """Pass pieces over samples ks..ke (intervals ks..ke-1); cut flags mark the two ends."""
        S: dict[int, _Sample] = {}
        out = []
        open_ = None
        failed = np.zeros(self.N, bool)
        k0 = ks
        while k0 < ke:
            k1 = min(ke, k0 + chunk)
            lo = max(k0 - 1, 0)
            hi = min(k1 + 1, self.n_t - 1)
            need = [j for j in range(lo, hi + 1) if j not in S]
            p_lo = min([k0] + need)
            P, V, valid = self.get_pv(p_lo, hi)
            newly = ~valid & ~failed
            failed |= ~valid
            if newly.any() and S:  # a satellite failed: forget its carried candidates
                for j, smp in list(S.items()):
                    keep = ~failed[smp.keys % self.N]
                    S[j] = _Sample(smp.keys[keep], smp.el[keep], smp.vis[keep])
            for j in need:
                S[j], cnt = self.engine(P[j - p_lo], valid)
                if counts_out is not None:
                    counts_out[j] = cnt
            pieces = self.chunk(k0, k1, S, P, V, p_lo)
            S = {j: S[j] for j in (k1 - 1, k1, k1 + 1) if j in S}
            joined = pieces if open_ is None else _pieces_merge(open_, pieces)
            sc = joined["set_cut"]
            out.append(_pieces_take(joined, ~sc))
            open_ = _pieces_take(joined, sc)
            k0 = k1
        if open_ is not None:
            out.append(open_)
        pieces = _pieces_concat(out)
        del out
        # in rise order, so that the final sort over all segments only merges a few sorted runs
        return _pieces_take(pieces, np.argsort(pieces["rise"], kind="stable")), failed

    # -- one chunk: detect, refine, assemble --------------------------------------------------
    def chunk(self, k0: int, k1: int, S: dict, P, V, p_lo: int) -> dict:
        n_t = self.n_t
        cr_k, cr_j, cr_rise = [], [], []
        pk_k, pk_j, pk_short = [], [], []
        dp_k, dp_j = [], []
        carry = None  # positions of sample j's pairs in sample j-1, from the previous iteration
        for j in range(k0, k1 + 1):
            cur = S[j]
            if cur.keys.size == 0:
                carry = None
                continue
            prv = S.get(j - 1) if j > 0 else None
            nxt = S.get(j + 1) if j < n_t - 1 else None
            if prv is None:
                in_prev = None
            elif carry is not None:
                in_prev = carry  # computed with the previous sample
            else:
                in_prev = _match(prv, cur)[1]
            in_next, carry = _match(cur, nxt) if nxt is not None else (None, None)
            el_p, vis_p = _neighbour(prv, in_prev, cur.keys.size)
            el_n, vis_n = _neighbour(nxt, in_next, cur.keys.size)
            if j > k0:  # rises in interval j-1
                m = cur.vis & ~vis_p
                cr_k.append(cur.keys[m]); cr_j.append(np.full(int(m.sum()), j - 1)); cr_rise.append(np.ones(int(m.sum()), bool))
            if j < k1:  # sets in interval j
                m = cur.vis & ~vis_n
                cr_k.append(cur.keys[m]); cr_j.append(np.full(int(m.sum()), j)); cr_rise.append(np.zeros(int(m.sum()), bool))
            # discrete local extrema of the sampled elevation: the continuous extremum lies in the step
            # before or after; the exact elevation rate at the sample says which
            dmax = (cur.el >= el_p) & (cur.el > el_n)
            dmin = vis_p & cur.vis & vis_n & (cur.el < el_p) & (cur.el <= el_n)
            x = np.flatnonzero(dmax | dmin)
            if x.size == 0:
                continue
            kx = cur.keys[x]
            g = self.g_at(P[j - p_lo], V[j - p_lo], kx)
            fwd = g >= 0
            jint = np.where(fwd, j, j - 1)
            own = (jint >= k0) & (jint <= k1 - 1)
            v_lo = np.where(fwd, cur.vis[x], vis_p[x])
            v_hi = np.where(fwd, vis_n[x], cur.vis[x])
            is_max = dmax[x]
            m = own & is_max
            pk_k.append(kx[m]); pk_j.append(jint[m]); pk_short.append(~v_lo[m] & ~v_hi[m])
            m = own & ~is_max
            dp_k.append(kx[m]); dp_j.append(jint[m])

        def cat(lst, dtype):
            return np.concatenate(lst) if lst else np.empty(0, dtype)

        cr_k, cr_j, cr_rise = cat(cr_k, np.int64), cat(cr_j, np.int64), cat(cr_rise, bool)
        pk_k, pk_j, pk_short = cat(pk_k, np.int64), cat(pk_j, np.int64), cat(pk_short, bool)
        dp_k, dp_j = cat(dp_k, np.int64), cat(dp_j, np.int64)
        Ps = np.ascontiguousarray(np.moveaxis(P, -1, 0)).reshape(3, -1)
        Vs = np.ascontiguousarray(np.moveaxis(V, -1, 0)).reshape(3, -1)
        ts = self.times_s
        dt = self.dt
        rises, sets, peaks = [], [], []  # lists of (key, t, el); crossings in time order per pair
        rises_x, sets_x = [], []  # short passes and dips: out of time order, sorted in assemble

        # crossings of the mask within a step
        if cr_k.size:
            z, o = np.zeros(cr_k.size), np.ones(cr_k.size)
            s = self.roots_f(cr_k, cr_j, z, o, Ps, Vs, p_lo)
            t = ts[cr_j] + s * dt[cr_j]
            el = self.el_at(cr_k, cr_j, s, Ps, Vs, p_lo)
            rises.append((cr_k[cr_rise], t[cr_rise], el[cr_rise]))
            sets.append((cr_k[~cr_rise], t[~cr_rise], el[~cr_rise]))
        # culminations (and short passes: a peak above the mask between two samples below it)
        if pk_k.size:
            sp, elp, fp = self.roots_g(pk_k, pk_j, Ps, Vs, p_lo)
            tp = ts[pk_j] + sp * dt[pk_j]
            reg = ~pk_short
            peaks.append((pk_k[reg], tp[reg], elp[reg]))
            r = np.flatnonzero(pk_short & (fp >= 0))
            if r.size:
                self.stats["short_passes"] += int(r.size)
                k, jj, spr = pk_k[r], pk_j[r], sp[r]
                s_r = self.roots_f(k, jj, np.zeros(r.size), spr, Ps, Vs, p_lo)
                s_s = self.roots_f(k, jj, spr, np.ones(r.size), Ps, Vs, p_lo)
                rises_x.append((k, ts[jj] + s_r * dt[jj], self.el_at(k, jj, s_r, Ps, Vs, p_lo)))
                sets_x.append((k, ts[jj] + s_s * dt[jj], self.el_at(k, jj, s_s, Ps, Vs, p_lo)))
                peaks.append((k, tp[r], elp[r]))
        # dips below the mask between two samples above it (set, then rise again)
        if dp_k.size:
            sm_, _, fm = self.roots_g(dp_k, dp_j, Ps, Vs, p_lo)
            r = np.flatnonzero(fm < 0)
            if r.size:
                self.stats["dips"] += int(r.size)
                k, jj, smr = dp_k[r], dp_j[r], sm_[r]
                s_s = self.roots_f(k, jj, np.zeros(r.size), smr, Ps, Vs, p_lo)
                s_r = self.roots_f(k, jj, smr, np.ones(r.size), Ps, Vs, p_lo)
                sets_x.append((k, ts[jj] + s_s * dt[jj], self.el_at(k, jj, s_s, Ps, Vs, p_lo)))
                rises_x.append((k, ts[jj] + s_r * dt[jj], self.el_at(k, jj, s_r, Ps, Vs, p_lo)))
        return self.assemble(k0, k1, S, rises, sets, rises_x, sets_x, peaks)


    def assemble(self, k0, k1, S, rises, sets, rises_x, sets_x, peaks) -> dict:
        """Pair rises with sets per (site, satellite) and pick each pass's culmination."""
        ts = self.times_s
        t_a, t_b = ts[k0], ts[k1]
        first, last = S[k0], S[k1]

        def cat(parts, i, dtype):
            parts = [p[i] for p in parts]
            return np.concatenate(parts) if parts else np.empty(0, dtype)

        # passes in progress at the chunk edges: cut rise at t_a, cut set at t_b
        er = first.keys[first.vis]
        es = last.keys[last.vis]
        rk = np.concatenate([er, cat(rises, 0, np.int64), cat(rises_x, 0, np.int64)])
        rt = np.concatenate([np.full(er.size, t_a), cat(rises, 1, float), cat(rises_x, 1, float)])
        rel = np.concatenate([first.el[first.vis], cat(rises, 2, float), cat(rises_x, 2, float)])
        rcut = np.zeros(rk.size, bool)
        rcut[:er.size] = True
        n_rx = sum(p[0].size for p in rises_x)
        sk = np.concatenate([cat(sets, 0, np.int64), es, cat(sets_x, 0, np.int64)])
        st = np.concatenate([cat(sets, 1, float), np.full(es.size, t_b), cat(sets_x, 1, float)])
        sel_ = np.concatenate([cat(sets, 2, float), last.el[last.vis], cat(sets_x, 2, float)])
        scut = np.zeros(sk.size, bool)
        n_sx = sum(p[0].size for p in sets_x)
        scut[sk.size - n_sx - es.size:sk.size - n_sx] = True
        ro = _order_by_key_time(rk, rt, rk.size - n_rx)
        so = _order_by_key_time(sk, st, sk.size - n_sx)
        rk, rt, rel, rcut = rk[ro], rt[ro], rel[ro], rcut[ro]
        sk, st, sel_, scut = sk[so], st[so], sel_[so], scut[so]
        if rk.size != sk.size or not np.array_equal(rk, sk) or np.any(st < rt - 1e-6):
            raise RuntimeError(
                "orbitlat.visibility.passes: internal inconsistency (rises and sets do not alternate) between "
                f"{t_a} s and {t_b} s after the grid start; please report this with the inputs."
            )
        # culmination: the highest of the interior peaks inside the pass and its two end points
        culm = np.where(rel >= sel_, rt, st)
        max_el = np.maximum(rel, sel_)
        pk_k = cat(peaks, 0, np.int64)
        if pk_k.size and rk.size:
            pk_t = cat(peaks, 1, float)
            pk_el = cat(peaks, 2, float)
            width = (t_b - t_a) + 2.0
            comp_r = rk * width + (rt - t_a)
            pi = np.searchsorted(comp_r, pk_k * width + (pk_t - t_a), side="right") - 1
            pic = np.maximum(pi, 0)
            ok = (pi >= 0) & (rk[pic] == pk_k) & (pk_t <= st[pic] + 1e-6)
            self.stats["dropped_peaks"] += int((~ok).sum())
            pi, pk_t, pk_el = pi[ok], pk_t[ok], pk_el[ok]
            best = np.full(rk.size, -np.inf)
            best_t = np.zeros(rk.size)
            n_pk = np.bincount(pi, minlength=rk.size)
            one = n_pk[pi] == 1  # almost every pass has one culmination
            best[pi[one]] = pk_el[one]
            best_t[pi[one]] = pk_t[one]
            if not one.all():
                m = ~one
                np.maximum.at(best, pi[m], pk_el[m])
                win = m & (pk_el >= best[pi])
                best_t[pi[win]] = pk_t[win]
            upd = best > max_el
            culm = np.where(upd, best_t, culm)
            max_el = np.where(upd, best, max_el)
        return {"key": rk, "rise": rt, "rise_cut": rcut, "set": st, "set_cut": scut, "culm": culm,
                "max_el": max_el}


# =============================================================================
# passes: public function
# =============================================================================
def passes(source: Any, sites: Any, times: Any = None, *, start: Any = None, duration: Any = None,
           step: Any = None, min_elevation_deg: Any = None, refine_tol_s: float = 0.1, spherical: bool = False,
           margin_deg: Any = None, chunk: int | None = None, workers: int | None = None,
           return_counts: bool = False, backend: str = "auto", warn_epoch_days: float = 14.0):
    """Access windows: every pass of every satellite over every site, with rise, culmination and set.

    Algorithm
    ---------
    1. **Sample** every grid step with :func:`orbitlat.engine.visible_pairs`
       (KD-tree pruned), with each site's mask lowered by a *detection
       margin* (per altitude band of the satellites), so that pairs a little
       below the mask are seen too, with their exact elevations.
    2. **Detect.** Rises and sets: pairs above the mask at one sample and not
       at the next. Culminations: discrete local maxima of each pair's sampled
       elevation; the continuous maximum lies within one step of it and the
       exact elevation rate at that sample (from the ephemeris velocity) says
       on which side. Local minima likewise give *dips* (a pass that drops
       below the mask between two samples above it and comes back).
    3. **Refine** all events of a time chunk at once. Positions and velocities
       at both ends of a step define a **cubic Hermite** trajectory (its
       position error over 60 s is 0.3-0.4 m for the ISS and Starlink at
       350-570 km, 1.6 m for satellites decaying at 200 km: 1e-4° of
       elevation, see the tests); rise and set
       are roots of elevation − mask, culminations roots of d(elevation)/dt.
       Both are polynomial roots in the site's local frame (``z² −
       sin²(mask)·|ρ|²``, degree 6, and ``z'·|ρ|² − z·(ρ·ρ')``, degree 8), found
       by vectorized Newton iterations from a regula-falsi start, with a
       bracketed Illinois solver on the Hermite cubic for the few that do not
       converge (and for azimuth masks), to ``refine_tol_s``.
    4. **Short passes** (every sample below the mask): a discrete maximum whose
       step has both samples below the mask is refined; if the interpolated peak
       clears the mask, rise and set are found on either side of it within the
       step. Such a pass is seen when its nearest sample lies within the
       detection margin of the mask, and the margin is derived so that every
       pass whose peak clears the mask qualifies: near a culmination the
       elevation can fall only so far in half a step (see
       ``_detection_margin_deg``: great-circle motion of the line of sight at
       the satellite's top speed, plus curvature; e.g. 0.9° for 550 km at a 25°
       mask with 60 s steps). So there is no minimum duration: a pass that
       just grazes the mask is found, and its times are accurate to
       ``refine_tol_s`` (the full-Starlink benchmark reports passes of a few
       milliseconds). The guarantee rests on the model's assumptions (one
       elevation maximum per pass within three steps, speeds and radii bounded
       as computed from the orbits); it is checked against a 1 s ground truth
       in the tests.
    5. **Stitch** passes across time chunks and worker processes. Satellites
       that never set (GEO, or always in view) give one pass cut at both ends.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here in time chunks, SGP4 for TLEs) or an
        ITRS ephemeris with velocities (``propagate(..., frame="ITRS")``).
    sites : GroundSites or SiteIndex
    times, start, duration, step
        The time grid for a constellation (explicit instants or
        start/duration/step); not allowed with an ephemeris. Steps up to
        60 s keep the Hermite error below a metre in LEO.
    min_elevation_deg : float or (n_sites,) array, optional
        Elevation mask in [-5, 90] degrees; default the sites' own.
    refine_tol_s : float
        Time tolerance of the refined rise, set and culmination times, s.
    spherical : bool
        Spherical Earth with geocentric vertical (closed-form comparisons).
    margin_deg : float, optional
        Override the detection margin (degrees below the mask sampled).
    chunk : int, optional
        Time steps per chunk (default: about 400,000 satellite-epochs).
    workers : int, optional
        Worker processes (fork; default all cores for large jobs).
    return_counts : bool
        Also return the number of satellites in view per (time, site) at the
        mask, the visible-set time series of the same sweep (as
        :func:`visible_sets` ``.counts``).
    backend : str
        Propagation backend for a constellation.
    warn_epoch_days : float
        :class:`~orbitlat.errors.EpochWarning` when TLE satellites are used further
        than this from their epochs.

    Returns
    -------
    pandas.DataFrame
        One row per pass, sorted by rise time, then site, then satellite:
        ``site``, ``site_name``, ``sat``, ``sat_name``, ``rise``,
        ``culmination``, ``set`` (UTC ``datetime64[ns]``),
        ``max_elevation_deg``, ``duration_s``, ``rise_cut``, ``set_cut``
        (True when the pass was already in progress at the window start, or
        still in progress at its end; the time is then the window edge).
        ``df.attrs`` holds the mask, step, margins and the satellites excluded
        because they failed to propagate. With ``return_counts`` a tuple
        ``(passes, counts)``.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.engine import SiteIndex
    >>> c = ol.presets.get("gps")
    >>> geneva = SiteIndex.from_latlon([46.2], [6.1], 0.4)
    >>> p = passes(c, geneva, start="2026-05-30", duration="12h", step="60s", min_elevation_deg=10.0)
    >>> bool(p.rise.is_monotonic_increasing), bool((p.set >= p.rise).all())
    (True, True)
    """
    import time as _time

    clock = [_time.perf_counter()]
    eph, c, tg = _resolve_source(source, times, start, duration, step, "passes")
    index, site_names = _as_site_index(sites, min_elevation_deg, spherical)
    if len(tg) < 2:
        raise OrbitlatError("passes needs at least two time steps (a time span); got one instant. Use "
                            "visible_sets for a single instant.")
    if not np.all(np.diff(tg.utc) > np.timedelta64(0, "ns")):
        raise OrbitlatError("passes needs strictly increasing times; sort them and drop duplicates.")
    tol = float(refine_tol_s)
    if not (tol > 0 and math.isfinite(tol)):
        raise OrbitlatError(f"refine_tol_s must be a positive number of seconds; got {refine_tol_s!r}.")
    if eph is not None and "velocity" not in eph:
        raise OrbitlatError("passes needs satellite velocities for its Hermite interpolation: propagate with "
                            "velocity=True (the default).")
    if margin_deg is not None:
        mg = _as_float(margin_deg, "deg", "margin_deg")
        if mg.ndim != 0 or not (0 <= float(mg) <= 90):
            raise OrbitlatError(f"margin_deg must be one number of degrees in [0, 90]; got {margin_deg!r}.")
    n_sat = eph.sizes["sat"] if eph is not None else c.size
    sat_names = _sat_names(eph if eph is not None else c)
    times_s = tg.seconds
    n_t = len(tg)
    max_step = float(np.max(np.diff(times_s)))

    # satellites: perigee radius and top speed (for the detection margin), validity
    if eph is not None:
        valid = _valid_sats(eph)
        Pall = eph["position"].values
        Vall = eph["velocity"].values
        with np.errstate(invalid="ignore"):
            rmin = np.nanmin(np.linalg.norm(Pall, axis=-1), axis=0) - 1.0
            vmax = np.nanmax(np.linalg.norm(Vall, axis=-1), axis=0) * 1.01 + 0.01
            rdot = np.einsum("tsi,tsi->ts", Pall, Vall) / np.linalg.norm(Pall, axis=-1)
            vrmax = np.nanmax(np.abs(rdot), axis=0) * 1.1 + 0.01
            del rdot
        rmin = np.where(np.isfinite(rmin), rmin, WGS84_A_KM + 100.0)
        vmax = np.where(np.isfinite(vmax), vmax, 11.0)
        vrmax = np.where(np.isfinite(vrmax), vrmax, 11.0)
    else:
        _warn_epoch(c, tg, warn_epoch_days, stacklevel=2)
        el = c.element_arrays()
        a, e = el["a_km"], el["ecc"]
        rmin = a * (1 - e) - 30.0  # osculating radius can dip below the mean perigee (J2, drag)
        rmin = np.maximum(rmin, WGS84_A_KM + 50.0)
        vp_ = np.sqrt(MU_EARTH_KM3_S2 * (2 / rmin - 1 / (a + 30.0)))
        vmax = vp_ * 1.02 + OMEGA_EARTH_RAD_S * (a * (1 + e) + 30.0)
        # radial rate: sqrt(mu/p)·e for the mean elements, plus short-period J2/drag wobble (~10 m/s)
        vrmax = np.sqrt(MU_EARTH_KM3_S2 / (a * (1 - e * e))) * e * 1.1 + 0.02
        valid = np.ones(n_sat, bool)
        # build (and cache) the SGP4 satellites before any fork
        _propagate_quiet(c, tg[:1], velocity=True, backend=backend)
    groups = _margin_groups(index, rmin, vmax, vrmax, valid, max_step, margin_deg)

    if chunk is None:
        chunk = int(max(8, min(120, 400_000 // max(n_sat, 1))))
    elif not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise OrbitlatError(f"chunk must be a positive number of time steps; got {chunk!r}.")
    work = n_t * n_sat * index.size
    ncpu = _cpu_count()
    if workers is None:
        workers = ncpu if work >= 2e8 else 1
    workers = int(max(1, min(int(workers), (n_t - 1) // 2 or 1)))

    def get_pv(k0, k1):
        if eph is not None:
            return Pall[k0:k1 + 1], Vall[k0:k1 + 1], valid
        e_ = _propagate_quiet(c, tg[k0:k1 + 1], velocity=True, backend=backend)
        return (np.asarray(e_["position"].values), np.asarray(e_["velocity"].values),
                ~np.asarray(e_["failed"].values, dtype=bool))

    def run_segment(ks, ke, counts_out):
        sweep = _PassSweep(index, groups, n_sat, times_s, tol, get_pv, counts_out is not None)
        pieces, failed = sweep.run(ks, ke, chunk, counts_out)
        return pieces, failed, sweep.stats

    counts = np.zeros((n_t, index.size), np.int32) if return_counts else None
    bounds = np.linspace(0, n_t - 1, workers + 1).round().astype(int)
    clock.append(_time.perf_counter())
    all_failed = np.zeros(n_sat, bool)
    stats = {"short_passes": 0, "dips": 0, "dropped_peaks": 0}
    out = []
    open_ = None
    with _SegmentRunner(run_segment, bounds, counts) as segments:
        # stitch the segments in time order, loading one at a time; only the passes running across a
        # segment boundary (head: cut at its start, tail: cut at its end) are merged
        for pieces, failed, st in segments:
            all_failed |= failed
            for k in stats:
                stats[k] += st[k]
            head = pieces["rise_cut"]
            tail = pieces["set_cut"]
            if open_ is None:  # the first segment: its head passes are cut at the window start
                head = np.zeros_like(head)
            mid = ~head & ~tail
            out.append(_pieces_take(pieces, mid))
            edge = _pieces_take(pieces, ~mid)
            del pieces, mid, head, tail
            joined = edge if open_ is None else _pieces_merge(open_, edge)
            sc = joined["set_cut"]
            out.append(_pieces_take(joined, ~sc))
            open_ = _pieces_take(joined, sc)
            del joined, edge
    out.append(open_)
    del open_
    clock.append(_time.perf_counter())
    if eph is not None:
        all_failed |= ~valid
    df = _passes_frame(out, n_sat, tg.utc[0], site_names, sat_names, all_failed)
    del out
    clock.append(_time.perf_counter())
    n_fail = int(all_failed.sum())
    if n_fail and eph is None:
        warnings.warn(
            f"{n_fail} of {n_sat} satellites failed to propagate during the span; their passes are excluded "
            "(passes.attrs['failed_sats']).", PropagationWarning, stacklevel=2)
    df.attrs.update({
        "min_elevation_deg": _mask_attr(index),
        "vertical": "spherical" if index.spherical else "WGS84 geodetic",
        "step_s": float(tg.step_s),
        "refine_tol_s": tol,
        "detection_margin_deg": [float(np.max(g[2])) for g in groups],
        "n_failed_excluded": n_fail,
        "failed_sats": [str(sat_names[k]) for k in np.flatnonzero(all_failed)],
        "short_passes": stats["short_passes"],
        "window": (str(tg.utc[0]), str(tg.utc[-1])),
        "workers": workers,
        "timings_s": dict(zip(("setup", "sweep", "table"), np.diff(clock).round(3).tolist())),
        "units": {"max_elevation_deg": "deg", "duration_s": "s", "rise": "UTC", "culmination": "UTC", "set": "UTC"},
    })
    if not return_counts:
        return df
    attrs = {"min_elevation_deg": _mask_attr(index), "rule": "elevation", "n_failed_excluded": n_fail}
    if n_fail:
        attrs["note"] = ("satellites that failed to propagate are left out of the counts from the time chunk in "
                         "which they failed")
    return df, _counts_dataset(counts, tg.utc, site_names, attrs)


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


class _SegmentRunner:
    """Run the time segments [bounds[w], bounds[w+1]]: segment 0 here, the others in forked workers.

    Iterating yields each segment's (pieces, failed, stats) in time order, loading the workers'
    results from a temporary directory one at a time (memory stays near one segment's result).
    """

    def __init__(self, run_segment, bounds, counts):
        self.run_segment, self.bounds, self.counts = run_segment, bounds, counts
        self.n_seg = len(bounds) - 1
        self.tmp = None
        self.pids = {}
        self.shared = None

    def __enter__(self):
        if self.n_seg > 1 and hasattr(os, "fork"):
            if self.counts is not None:  # anonymous shared memory, written by the forked workers
                buf = mmap.mmap(-1, max(self.counts.nbytes, 1))
                self.shared = np.frombuffer(buf, dtype=np.int32, count=self.counts.size).reshape(self.counts.shape)
            self.tmp = tempfile.TemporaryDirectory(prefix="orbitlat-passes-")
            for w in range(1, self.n_seg):
                pid = os.fork()
                if pid == 0:  # child: compute, save, leave without running any cleanup
                    code = 0
                    try:
                        pieces, failed, stats = self.run_segment(self.bounds[w], self.bounds[w + 1], self.shared)
                        np.savez(os.path.join(self.tmp.name, f"seg{w}.npz"), failed=failed,
                                 stats=np.array([stats["short_passes"], stats["dips"], stats["dropped_peaks"]]),
                                 **pieces)
                    except BaseException:  # pragma: no cover - reported by the parent
                        try:
                            with open(os.path.join(self.tmp.name, f"seg{w}.err"), "w") as fh:
                                fh.write(traceback.format_exc())
                        finally:
                            code = 1
                    os._exit(code)
                self.pids[w] = pid
        return self

    def __iter__(self):
        if not self.pids:  # serial
            for w in range(self.n_seg):
                yield self.run_segment(self.bounds[w], self.bounds[w + 1], self.counts)
            return
        first = self.run_segment(self.bounds[0], self.bounds[1], self.shared)  # on error __exit__ stops workers
        self._wait()
        yield first
        del first
        for w in range(1, self.n_seg):
            path = os.path.join(self.tmp.name, f"seg{w}.npz")
            with np.load(path) as z:
                pieces = {k: z[k] for k in _PIECE_FIELDS}
                failed, st = z["failed"], z["stats"]
            os.remove(path)
            yield pieces, failed, {"short_passes": int(st[0]), "dips": int(st[1]), "dropped_peaks": int(st[2])}

    def _wait(self):
        statuses = {w: os.waitpid(pid, 0)[1] for w, pid in self.pids.items()}
        self.pids = {}
        for w, st in statuses.items():
            if st != 0:
                err = os.path.join(self.tmp.name, f"seg{w}.err")
                msg = open(err).read() if os.path.exists(err) else f"wait status {st}"
                raise RuntimeError(f"a passes worker process failed:\n{msg}\nRerun with workers=1 to debug.")

    def __exit__(self, *exc):
        if self.pids:  # interrupted: do not leave workers behind
            for pid in self.pids.values():
                try:
                    os.kill(pid, 9)
                    os.waitpid(pid, 0)
                except OSError:  # pragma: no cover
                    pass
            self.pids = {}
        if self.shared is not None and self.counts is not None:
            self.counts[...] = self.shared
        if self.tmp is not None:
            self.tmp.cleanup()
        return False


def _passes_frame(parts: list, n_sat: int, t0: np.datetime64, site_names, sat_names,
                  failed: np.ndarray) -> pd.DataFrame:
    """The pass table from stitched pieces, sorted by rise time, then site, then satellite.

    Consumes ``parts`` field by field so that peak memory stays near the size of the result.
    """
    n = int(sum(p["key"].size for p in parts))

    def gather(field_: str, dtype) -> np.ndarray:
        arr = np.empty(n, dtype=dtype)
        pos = 0
        for p in parts:
            v = p.pop(field_)
            arr[pos:pos + v.size] = v
            pos += v.size
        return arr

    rise = gather("rise", np.float64)
    key = gather("key", np.int64)
    order = np.argsort(rise, kind="stable")
    if n:  # ties (passes cut at the window start all rise at t0): by key, i.e. site then satellite
        m = int(np.count_nonzero(rise == rise[order[0]]))
        if m > 1:
            head = order[:m]
            order[:m] = head[np.argsort(key[head], kind="stable")]
    key = key.take(order)
    site = (key // n_sat).astype(np.int32)
    sat = (key - site.astype(np.int64) * n_sat).astype(np.int32)
    del key
    keep = ~failed[sat]
    if not keep.all():
        order, site, sat = order[keep], site[keep], sat[keep]
    t0_ns = np.datetime64(t0, "ns").astype(np.int64)

    def to_time(x: np.ndarray) -> np.ndarray:
        y = x.take(order)
        y *= 1e9
        np.rint(y, out=y)
        out = y.astype(np.int64)
        del y
        out += t0_ns
        return out.view("datetime64[ns]")

    sett = gather("set", np.float64)
    duration = sett.take(order)
    duration -= rise.take(order)
    rise_t = to_time(rise)
    del rise
    set_t = to_time(sett)
    del sett
    culm = gather("culm", np.float64)
    culm_t = to_time(culm)
    del culm
    max_el = gather("max_el", np.float64).take(order)
    rise_cut = gather("rise_cut", bool).take(order)
    set_cut = gather("set_cut", bool).take(order)
    site_codes, site_cats = pd.factorize(pd.Series(np.asarray(site_names, dtype=object)).astype(str))
    sat_codes, sat_cats = pd.factorize(pd.Series(np.asarray(sat_names, dtype=object)).astype(str))
    cols = {
        "site": site,
        "site_name": pd.Categorical.from_codes(site_codes.take(site), categories=site_cats),
        "sat": sat,
        "sat_name": pd.Categorical.from_codes(sat_codes.take(sat), categories=sat_cats),
        "rise": rise_t,
        "culmination": culm_t,
        "set": set_t,
        "max_elevation_deg": max_el,
        "duration_s": duration,
        "rise_cut": rise_cut,
        "set_cut": set_cut,
    }
    return pd.DataFrame(cols, copy=False)


# =============================================================================
# inter-satellite line of sight
# =============================================================================
def isl_line_of_sight(pos_a: Any, pos_b: Any, *, grazing_altitude_km: float = 80.0,
                      ellipsoidal: bool = False) -> np.ndarray:
    """Whether the straight line between two satellites clears the Earth (plus a grazing altitude).

    The link is clear when the minimum distance from the Earth's centre to the
    segment AB exceeds ``R + grazing_altitude_km``, with ``R = WGS84_A_KM``
    (a sphere of the equatorial radius, the convention of Hypatia, whose
    maximum ISL length is ``2·√((R+h)² − (R+80 km)²)``; 80 km keeps the beam
    above the denser atmosphere). With ``ellipsoidal=True`` z is first scaled by
    a/b, which maps the WGS84 ellipsoid onto that sphere (the grazing shell
    then becomes an ellipsoid with the same flattening, an approximation of a
    constant height above WGS84).

    Parameters
    ----------
    pos_a, pos_b : array_like (..., 3), km
        Positions in any Earth-centred frame (broadcast together; vectorize
        over pairs × times).
    grazing_altitude_km : float
    ellipsoidal : bool

    Returns
    -------
    ndarray of bool, shape broadcast(...)
        True where the line of sight is clear; symmetric in A and B.

    Examples
    --------
    >>> import numpy as np
    >>> r = 6378.137 + 550.0
    >>> a = np.array([[r, 0, 0], [r, 0, 0]])
    >>> b = np.array([[-r, 0, 0], [r * np.cos(0.2), r * np.sin(0.2), 0]])
    >>> isl_line_of_sight(a, b).tolist()
    [False, True]
    """
    A = _as_float(pos_a, "km", "pos_a")
    B = _as_float(pos_b, "km", "pos_b")
    if A.shape[-1:] != (3,) or B.shape[-1:] != (3,):
        raise OrbitlatError(f"positions must have a last axis of 3 (x, y, z km); got shapes {A.shape} and {B.shape}.")
    hg = float(_as_float(grazing_altitude_km, "km", "grazing_altitude_km"))
    if not math.isfinite(hg) or hg < -WGS84_A_KM / 2:
        raise OrbitlatError(f"grazing_altitude_km must be a finite height in km; got {grazing_altitude_km!r}.")
    if ellipsoidal:
        scale = np.array([1.0, 1.0, WGS84_A_KM / WGS84_B_KM])
        A = A * scale
        B = B * scale
    A, B = np.broadcast_arrays(A, B)
    d = B - A
    dd = np.einsum("...i,...i->...", d, d)
    t = -np.einsum("...i,...i->...", A, d) / np.where(dd > 0, dd, 1.0)
    t = np.clip(np.where(dd > 0, t, 0.0), 0.0, 1.0)
    closest = A + t[..., None] * d
    dist2 = np.einsum("...i,...i->...", closest, closest)
    lim = WGS84_A_KM + hg
    return dist2 > lim * lim


def max_isl_range_km(alt1_km: Any, alt2_km: Any = None, grazing_altitude_km: float = 80.0) -> Any:
    """Longest inter-satellite link that clears the Earth plus ``grazing_altitude_km``.

    ``√((R+h1)² − (R+hg)²) + √((R+h2)² − (R+hg)²)`` with ``R = WGS84_A_KM``:
    each term is the distance from a satellite to the tangent point on the
    grazing sphere. For equal altitudes it is Hypatia's ``2·√((R+h)² − (R+80)²)``
    (Kassing et al., IMC 2020).

    Parameters
    ----------
    alt1_km, alt2_km : float or array_like, km
        Satellite altitudes (``alt2_km`` defaults to ``alt1_km``); above the grazing altitude.
    grazing_altitude_km : float

    Examples
    --------
    >>> round(float(max_isl_range_km(550.0)), 1)
    5016.6
    """
    h1 = _as_float(alt1_km, "km", "alt1_km")
    h2 = h1 if alt2_km is None else _as_float(alt2_km, "km", "alt2_km")
    hg = float(_as_float(grazing_altitude_km, "km", "grazing_altitude_km"))
    for name, h in (("alt1_km", h1), ("alt2_km", h2)):
        if np.any(~np.isfinite(h)) or np.any(h < hg):
            raise OrbitlatError(
                f"{name} must be at or above the grazing altitude ({hg:g} km): a satellite below it cannot see "
                f"past the limb; got {h!r}."
            )
    R = WGS84_A_KM
    g2 = (R + hg) ** 2
    out = np.sqrt((R + h1) ** 2 - g2) + np.sqrt((R + h2) ** 2 - g2)
    return float(out) if np.ndim(out) == 0 else out
