"""Input checks shared by the visibility functions: sites, masks, ephemerides, time spans.

Owns the conversion of what users pass (GroundSites, SiteIndex, masks, an ephemeris or a
Constellation with a span) into the arrays the visibility kernels work on, with the errors that say
what to change. Imports only orbits, ground and the foundation.
"""
from __future__ import annotations

from typing import Any
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.visibility.engine import SiteIndex
from orbitlat.errors import EpochWarning, OrbitlatError, PropagationWarning
from orbitlat.ground.sites import MASK_RANGE_DEG, check_mask_deg
from orbitlat.time import TimeGrid, to_timegrid

__all__ = ["MASK_RANGE_DEG"]

_NS = 1_000_000_000

# =============================================================================
# input handling
# =============================================================================
def _as_float(value: Any, unit: str, name: str) -> np.ndarray:
    from orbitlat.units import to_float_array

    return to_float_array(value, unit, name)

def _check_mask_range(mask: np.ndarray, name: str = "min_elevation_deg") -> None:
    check_mask_deg(mask, name)

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
        from orbitlat.ground.sites import GroundSites
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
        return idx, np.asarray(sites.labels, dtype=object)  # unique labels: one rule with latency
    if sites is None or (hasattr(sites, "__len__") and not isinstance(sites, str) and len(sites) == 0):
        raise OrbitlatError(
            "no sites given: pass a GroundSites (e.g. GroundSites.cities(top=100)) or an "
            "orbitlat.visibility.engine.SiteIndex with at least one site."
        )
    raise OrbitlatError(
        f"sites must be an orbitlat.ground.sites.GroundSites or an orbitlat.visibility.engine.SiteIndex; got "
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
    from orbitlat.orbits.constellation import Constellation

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
    from orbitlat.orbits.propagation import _warn_far_from_epoch

    _warn_far_from_epoch(c, tg, limit_days, stacklevel=stacklevel + 1,
                         consequence=", so pass times shift by seconds or more")

def _propagate_quiet(c, tg: TimeGrid, *, velocity: bool, backend: str, workers: int | None = 1) -> xr.Dataset:
    """Propagate one chunk without the epoch warning (the caller gives it once, up front).

    Used inside the tasks of :mod:`orbitlat.scale` plans, so it sets no warning filter (those are
    process-wide and would race between threads): propagate's own per-chunk failure warning is
    dropped by the plan instead (:func:`_drop_chunk_warning`), and the analysis reports failed
    satellites itself.
    """
    from orbitlat.orbits.propagation import propagate

    return propagate(c, tg, backend=backend, frame="ITRS", velocity=velocity, workers=workers,
                     warn_epoch_days=float("inf"))

#: How propagate's failure warning begins (one per chunk; the analyses report failures themselves).
_FAILED_FLAGGED = "are flagged in ds['failed']"

def _drop_chunk_warning(category: type, message: str) -> bool:
    """Warnings of a visibility task not to repeat to the caller (a plan's ``drop_warning``)."""
    return issubclass(category, EpochWarning) or (issubclass(category, PropagationWarning)
                                                   and _FAILED_FLAGGED in message)

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
