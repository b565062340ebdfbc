"""The visible-pairs engine: which satellites each site sees at one instant.

This is the kernel that visibility, coverage and latency call once per time
step. It never builds a sites × satellites array: a KD-tree over the sites
(built once, sites are fixed in ITRS) is joined with a KD-tree over the
satellites of the step using the largest slant range any site's mask allows
(an exact superset of the visible pairs), and only those candidate pairs get
the exact elevation test.

Elevation is measured from each site's local vertical: the WGS84 geodetic
normal by default, or the geocentric radius (``spherical=True``), which makes
results comparable with the closed forms of ``docs/references.md``.

>>> import numpy as np
>>> idx = SiteIndex.from_latlon([0.0], [0.0], min_elevation_deg=10.0)
>>> sat = np.array([[6378.137 + 550.0, 0.0, 0.0]])
>>> p = visible_pairs(idx, sat)
>>> p.site.tolist(), round(float(p.elevation_deg[0]), 6)
([0], 90.0)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orbitlat.constants import WGS84_A_KM, WGS84_E2
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["SiteIndex", "VisiblePairs", "visible_pairs", "max_slant_range_km"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@accepts_units
def max_slant_range_km(site_radius_km, sat_radius_km, min_elevation_deg):
    """Largest slant range at which a satellite at radius ``sat_radius_km`` is at or above
    ``min_elevation_deg`` from a site at radius ``site_radius_km`` (spherical geometry).

    ``D = sqrt(rs² − (R cos ε)²) − R sin ε`` (docs/references.md).
    """
    R = np.asarray(site_radius_km, dtype=np.float64)
    rs = np.asarray(sat_radius_km, dtype=np.float64)
    e = np.radians(np.asarray(min_elevation_deg, dtype=np.float64))
    return np.sqrt(np.maximum(rs**2 - (R * np.cos(e)) ** 2, 0.0)) - R * np.sin(e)


@dataclass
class SiteIndex:
    """Sites prepared for repeated visibility queries (positions, local frames, masks, KD-tree).

    Build with :meth:`from_latlon` or :meth:`from_sites`.
    """

    xyz_km: np.ndarray  # (m, 3) ITRS
    up: np.ndarray  # (m, 3) unit local vertical
    east: np.ndarray
    north: np.ndarray
    min_elevation_deg: np.ndarray  # (m,) scalar mask per site (lower bound if az_mask given)
    az_mask_deg: np.ndarray | None = None  # (m, k) elevation mask at k evenly spaced azimuths
    spherical: bool = False
    _tree: object = field(default=None, repr=False)
    #: (m,) optional floor under the azimuth mask: the mask towards ``az`` is then
    #: ``max(floor_deg, az_mask(az))`` (GroundSites semantics; see :meth:`from_sites`)
    floor_deg: np.ndarray | None = None

    def __post_init__(self):
        self.xyz_km = np.ascontiguousarray(self.xyz_km, dtype=np.float64).reshape(-1, 3)
        m = self.xyz_km.shape[0]
        if m == 0:
            raise OrbitlatError("no sites given: a visibility query needs at least one site.")
        from orbitlat.ground.sites import check_mask_deg

        self.min_elevation_deg = np.broadcast_to(check_mask_deg(self.min_elevation_deg), (m,)).copy()
        if self.az_mask_deg is not None:
            az = np.asarray(self.az_mask_deg, dtype=np.float64)
            if az.ndim == 1:
                az = np.broadcast_to(az, (m, az.size))
            if az.ndim != 2 or az.shape[0] != m or az.shape[1] < 1:
                raise OrbitlatError(
                    f"az_mask_deg has shape {np.shape(self.az_mask_deg)}; expected (n_az,) or (n_sites={m}, n_az)."
                )
            check_mask_deg(az, "az_mask_deg")
            self.az_mask_deg = az
            # the scalar mask is the lowest point of the azimuth mask (used for pruning)
            self.min_elevation_deg = np.minimum(self.min_elevation_deg, az.min(axis=1))

    @property
    def size(self) -> int:
        return self.xyz_km.shape[0]

    @classmethod
    @accepts_units
    def from_latlon(cls, lat_deg, lon_deg, alt_km=0.0, *, min_elevation_deg=0.0, az_mask_deg=None,
                    spherical: bool = False, radius_km: float = WGS84_A_KM) -> "SiteIndex":
        """From latitudes/longitudes (WGS84 geodetic, or geocentric on a sphere with ``spherical``)."""
        lat = np.radians(np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)))
        lon = np.radians(np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)))
        lat, lon = np.broadcast_arrays(lat, lon)
        if np.any(np.abs(lat) > np.pi / 2 + 1e-12) or not np.all(np.isfinite(lat)):
            bad = np.degrees(lat[~(np.abs(lat) <= np.pi / 2 + 1e-12)][0])
            raise OrbitlatError(f"latitude {bad:g}° is outside ±90°; give latitudes in degrees within ±90.")
        alt = np.broadcast_to(np.asarray(alt_km, dtype=np.float64), lat.shape)
        cl, sl, co, so = np.cos(lat), np.sin(lat), np.cos(lon), np.sin(lon)
        up = np.stack([cl * co, cl * so, sl], axis=-1)
        if spherical:
            xyz = (radius_km + alt)[:, None] * up
        else:
            N = WGS84_A_KM / np.sqrt(1 - WGS84_E2 * sl**2)
            xyz = np.stack([(N + alt) * cl * co, (N + alt) * cl * so, (N * (1 - WGS84_E2) + alt) * sl], axis=-1)
        east = np.stack([-so, co, np.zeros_like(so)], axis=-1)
        north = np.stack([-sl * co, -sl * so, cl], axis=-1)
        return cls(xyz, up, east, north, min_elevation_deg, az_mask_deg, spherical)

    @classmethod
    @accepts_units
    def from_sites(cls, sites, *, min_elevation_deg=None, spherical: bool = False) -> "SiteIndex":
        """From a :class:`orbitlat.ground.sites.GroundSites`, with GroundSites mask semantics.

        Each site's own mask is used unless ``min_elevation_deg`` is given (which then
        replaces both the scalar and the azimuth masks). With the sites' own masks, the
        mask towards azimuth ``az`` is ``max(min_elevation_deg, az_mask(az))``, the
        azimuth samples interpolated linearly; a NaN azimuth row means no azimuth mask.
        """
        df = sites.df
        lat, lon, alt = df["lat_deg"].to_numpy(), df["lon_deg"].to_numpy(), df["alt_km"].to_numpy()
        if min_elevation_deg is not None:
            return cls.from_latlon(lat, lon, alt, min_elevation_deg=min_elevation_deg, spherical=spherical)
        mask = df["min_elevation_deg"].to_numpy(np.float64)
        az = getattr(sites, "az_mask_deg", None)
        if az is None:
            return cls.from_latlon(lat, lon, alt, min_elevation_deg=mask, spherical=spherical)
        az = np.asarray(az, dtype=np.float64)
        az = np.where(np.isnan(az), mask[:, None], az)  # NaN row: no azimuth mask
        idx = cls.from_latlon(lat, lon, alt, min_elevation_deg=mask, az_mask_deg=az, spherical=spherical)
        idx.floor_deg = mask.copy()
        return idx

    @property
    def tree(self):
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self.xyz_km)
        return self._tree

    @accepts_units
    def mask_at(self, site: np.ndarray, az_deg: np.ndarray) -> np.ndarray:
        """Elevation mask (degrees) of ``site`` indices at azimuths ``az_deg`` (periodic linear interpolation)."""
        if self.az_mask_deg is None:
            return self.min_elevation_deg[site]
        k = self.az_mask_deg.shape[1]
        x = np.mod(az_deg, 360.0) / (360.0 / k)
        i0 = np.floor(x).astype(np.int64) % k
        i1 = (i0 + 1) % k
        f = x - np.floor(x)
        m = (1 - f) * self.az_mask_deg[site, i0] + f * self.az_mask_deg[site, i1]
        return m if self.floor_deg is None else np.fmax(self.floor_deg[site], m)


@dataclass
class VisiblePairs:
    """Visible site–satellite pairs at one instant (parallel 1-D arrays, sorted by site then satellite)."""

    site: np.ndarray  # int64
    sat: np.ndarray  # int64
    elevation_deg: np.ndarray
    azimuth_deg: np.ndarray
    range_km: np.ndarray
    n_sites: int

    def __len__(self) -> int:
        return self.site.size

    def counts(self) -> np.ndarray:
        """Number of visible satellites per site, shape (n_sites,)."""
        return np.bincount(self.site, minlength=self.n_sites)


@accepts_units
def visible_pairs(index: SiteIndex, sat_xyz_km: np.ndarray, *, rule: str = "elevation",
                  max_range_km: float | np.ndarray | None = None, sat_valid: np.ndarray | None = None,
                  sat_radius_max_km: float | None = None) -> VisiblePairs:
    """Visible pairs at one instant.

    Parameters
    ----------
    index : SiteIndex
    sat_xyz_km : (n, 3) array
        Satellite ITRS positions, km. NaN rows (failed satellites) are ignored.
    rule : {"elevation", "range"}
        ``"elevation"``: elevation >= the site's mask (and, if given, range <=
        ``max_range_km``). ``"range"``: Hypatia's rule, any satellite within
        ``max_range_km`` slant range, no elevation test.
    max_range_km : float or (n,) array, optional
        Slant-range limit (required for ``rule="range"``); an array gives one limit per satellite.
    sat_valid : (n,) bool, optional
        Satellites to consider (default: all with finite positions).
    """
    from scipy.spatial import cKDTree

    sat = np.asarray(sat_xyz_km, dtype=np.float64).reshape(-1, 3)
    finite = np.isfinite(sat).all(axis=1)
    if sat_valid is not None:
        finite &= np.asarray(sat_valid, dtype=bool)
    sat_ids = np.flatnonzero(finite)
    empty = VisiblePairs(*(np.empty(0, np.int64),) * 2, *(np.empty(0),) * 3, index.size)
    if sat_ids.size == 0:
        return empty
    S = sat[sat_ids]
    if rule not in ("elevation", "range"):
        raise OrbitlatError(f"rule={rule!r} is not known; use 'elevation' (mask) or 'range' (Hypatia's slant-range rule).")
    per_sat_range = max_range_km is not None and np.ndim(max_range_km) > 0
    if rule == "range":
        if max_range_km is None:
            raise OrbitlatError("rule='range' needs max_range_km= (e.g. Hypatia's Starlink value 1089.686 km).")
        radius = float(np.max(max_range_km))
    else:
        rs_max = float(np.max(np.linalg.norm(S, axis=1))) if sat_radius_max_km is None else sat_radius_max_km
        site_r = np.linalg.norm(index.xyz_km, axis=1)
        # geodetic vertical differs from the geocentric one by up to 0.19°: widen by 0.25° for a safe superset
        d = max_slant_range_km(site_r, rs_max, np.maximum(index.min_elevation_deg - 0.25, -90.0))
        radius = float(np.max(d)) * 1.0005 + 1e-6
        if max_range_km is not None:
            radius = min(radius, float(np.max(max_range_km)))
    sat_tree = cKDTree(S)
    pairs = index.tree.sparse_distance_matrix(sat_tree, radius, output_type="ndarray")
    if pairs.size == 0:
        return empty
    si = pairs["i"].astype(np.int64)
    sj = pairs["j"].astype(np.int64)
    rng = pairs["v"]
    los = S[sj] - index.xyz_km[si]
    up_c = np.einsum("ij,ij->i", los, index.up[si])
    sin_el = np.clip(up_c / np.where(rng > 0, rng, 1.0), -1.0, 1.0)
    el = np.degrees(np.arcsin(sin_el))
    e_c = np.einsum("ij,ij->i", los, index.east[si])
    n_c = np.einsum("ij,ij->i", los, index.north[si])
    az = np.mod(np.degrees(np.arctan2(e_c, n_c)), 360.0)
    if rule == "elevation":
        keep = el >= index.mask_at(si, az)
    else:
        keep = np.ones(si.size, dtype=bool)
    if max_range_km is not None:
        lim = np.asarray(max_range_km, dtype=np.float64)
        keep &= rng <= (lim[sat_ids[sj]] if per_sat_range else lim)
    si, sj, el, az, rng = si[keep], sj[keep], el[keep], az[keep], rng[keep]
    order = np.lexsort((sj, si))
    return VisiblePairs(si[order], sat_ids[sj[order]], el[order], az[order], rng[order], index.size)
