"""Footprints: the closed-form geometry of one satellite's view, and the footprint-cap kernel that
counts which grid points see which satellites without testing every pair.

Imports the ground layer (grids) and the visibility engine; nothing above.

For a **spherical Earth** of radius ``Re``, a satellite at geocentric distance
``r`` is at or above elevation ``ε`` from every ground point within the
spherical cap of half-angle (Earth central angle)

    ``λ = acos(Re·cos ε / r) − ε``          (docs/references.md; λ + η + ε = 90°)

around its sub-satellite point. On an iso-latitude ring grid
(:class:`orbitlat.ground.grids.RingLayout`) the points of one ring that lie in a cap
form **one contiguous run of longitudes**: a point at latitude φ is inside the
cap of a satellite at (φs, θs) when

    ``cos Δθ >= (cos λ − sin φ·sin φs) / (cos φ·cos φs)``

so the run is ``|Δθ| <= acos(...)`` (the whole ring when the right side is <= −1,
which is how caps containing a pole come out; nothing when it is > 1). Each
(satellite, ring) pair adds +1 at the start of its run and −1 after its end in
a difference array (a run that wraps past longitude 2π is split in two); a
cumulative sum then gives the number of satellites in view at every point.
The work per step is O(satellites × rings in a cap + points) instead of
O(points × satellites): for Starlink Gen1 (4,408 satellites, λ ≈ 8.5°) on a
1° grid that is ~75,000 (satellite, ring) runs against 180 million pairs.

Exactness: the fast kernel is exact for a spherical Earth (it decides
``angle(point, sub-satellite point) <= λ`` with the same inequality as
a brute-force dot-product test; points exactly on a cap edge, within
floating-point rounding, may differ). Geodetic (WGS84) elevations differ from
spherical ones by up to about 0.2° (docs/references.md): for those use
``mode="exact"`` in :func:`orbitlat.coverage.coverage`, which runs the
KD-tree pair engine :func:`orbitlat.visibility.engine.visible_pairs`. Grids without a
ring structure (Fibonacci, arbitrary points) also go through the pair engine
(:func:`point_counts`).

>>> import numpy as np
>>> from orbitlat.ground import Grid
>>> g = Grid.equal_area(2.0)
>>> sat = np.array([[0.0, 0.0, 6378.137 + 550.0]])     # over the North Pole
>>> n = cap_counts(g, sat, 25.0)
>>> lam = np.degrees(cap_half_angle_rad(6378.137 + 550.0, 25.0))
>>> bool(np.all((n == 1) == (g.lat_deg >= 90 - lam)))
True
"""
from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.visibility._inputs import _as_float, _check_mask_range
from orbitlat.units import accepts_units

__all__ = [
    "Footprint",
    "footprint",
    "cap_half_angle_rad",
    "expected_mean_visible",
    "cap_counts",
    "cap_pairs",
    "point_counts",
    "ring_runs",
]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


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

@accepts_units
def footprint(altitude_km: Any, min_elevation_deg: Any, *, radius_km: float = WGS84_A_KM) -> Footprint:
    """Closed-form footprint of a satellite at ``altitude_km`` seen down to ``min_elevation_deg``.

    For a spherical Earth of radius ``R``, satellite radius ``r = R + h`` and
    elevation mask ``ε`` (docs/references.md; Wertz, *Space Mission Analysis and Design*):

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
        Sphere radius (default the WGS84 equatorial radius, as docs/references.md).

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
# footprint caps over grids
# =============================================================================


@accepts_units
def cap_half_angle_rad(sat_radius_km, min_elevation_deg, earth_radius_km: float = WGS84_A_KM) -> np.ndarray:
    """Footprint half-angle λ (Earth central angle, radians) for a spherical Earth.

    ``λ = acos(Re·cos ε / r) − ε``; NaN where the satellite is below the
    surface (``r < Re``) or invisible at that mask (λ <= 0 gives 0).

    >>> round(float(np.degrees(cap_half_angle_rad(6378.137 + 550.0, 25.0))), 4)   # docs/references.md: 8.4508°
    8.4508
    """
    r = np.asarray(sat_radius_km, dtype=np.float64)
    e = np.radians(np.asarray(min_elevation_deg, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        x = earth_radius_km * np.cos(e) / r
        lam = np.where(r >= earth_radius_km, np.arccos(np.clip(x, -1.0, 1.0)) - e, np.nan)
    return np.maximum(lam, 0.0)


@accepts_units
def expected_mean_visible(sat_xyz_km, min_elevation_deg, earth_radius_km: float = WGS84_A_KM) -> np.ndarray:
    """The exact area-weighted global mean number of satellites in view: Σᵢ (1 − cos λᵢ)/2.

    Each satellite is visible from the fraction ``(1 − cos λᵢ)/2`` of a
    spherical Earth (docs/references.md), so the global mean count at an instant is
    the sum of those fractions. ``sat_xyz_km`` is ``(..., sat, 3)``; NaN
    satellites are skipped. Returns shape ``(...)``.

    >>> round(float(expected_mean_visible(np.array([[7000.0, 0, 0]]), 0.0)), 6)  # (1 - Re/r)/2 at 0°
    0.044419
    """
    p = np.asarray(sat_xyz_km, dtype=np.float64)
    lam = cap_half_angle_rad(np.linalg.norm(p, axis=-1), min_elevation_deg, earth_radius_km)
    return np.nansum((1.0 - np.cos(lam)) / 2.0, axis=-1)


def _layout_of(grid) -> tuple[Any, np.ndarray | None]:
    from orbitlat.ground.grids import Grid, RingLayout

    if isinstance(grid, RingLayout):
        return grid, None
    if isinstance(grid, Grid):
        if grid.rings is None:
            raise OrbitlatError(
                f"grid {grid.name!r} ({grid.kind}) has no ring structure; the footprint-cap kernel needs an "
                "iso-latitude ring grid (Grid.equal_area / Grid.latlon or their subsets). Use point_counts() "
                "(the pair engine) for other point sets."
            )
        return grid.rings, (None if grid.is_full_ring and np.array_equal(grid.ring_index, np.arange(grid.size))
                            else grid.ring_index)
    raise OrbitlatError(f"expected an orbitlat.ground.grids.Grid or RingLayout; got {type(grid).__name__}.")


def _sat_geometry(sat_xyz_km: np.ndarray, min_elevation_deg: float, earth_radius_km: float):
    """Sub-satellite geocentric latitude/longitude (rad) and cap half-angle for each satellite row."""
    p = sat_xyz_km
    r = np.sqrt(np.einsum("...i,...i->...", p, p))
    lam = cap_half_angle_rad(r, min_elevation_deg, earth_radius_km)
    with np.errstate(invalid="ignore"):
        lat = np.arcsin(np.clip(p[..., 2] / r, -1.0, 1.0))
    lon = np.arctan2(p[..., 1], p[..., 0])
    return lat, lon, lam


def _ring_trig(layout) -> tuple[np.ndarray, np.ndarray]:
    """sec and tan of the ring latitudes (cached on the layout)."""
    t = getattr(layout, "_trig", None)
    if t is None:
        t = (1.0 / np.cos(layout.lat_rad), np.tan(layout.lat_rad))
        object.__setattr__(layout, "_trig", t)
    return t


def _runs(layout, lat_s: np.ndarray, lon_s: np.ndarray, lam: np.ndarray):
    """Core of :func:`ring_runs`: one run per (satellite, ring) in the cap's latitude span.

    Returns ``(sat, ring, s, cnt)``: the run starts at point ``s`` (0 <= s < n) of
    ``ring`` and covers ``cnt`` points (0 <= cnt <= n), wrapping past the ring's
    last point when ``s + cnt > n``.
    """
    ok = np.isfinite(lat_s) & np.isfinite(lon_s) & np.isfinite(lam) & (lam > 0)
    ks = np.flatnonzero(ok)
    e = np.empty(0, np.int64)
    if ks.size == 0:
        return e, e, e, e
    phs, ths, lm = lat_s[ks], lon_s[ks], lam[ks]
    R = layout.lat_rad
    # rings in the cap's latitude span (padded by 1e-12 rad so rings on the span's edge are tested)
    r_lo = np.searchsorted(R, phs - lm - 1e-12, side="left")
    nr = np.searchsorted(R, phs + lm + 1e-12, side="right") - r_lo
    tot = int(nr.sum())
    if tot == 0:
        return e, e, e, e
    k = np.repeat(np.arange(ks.size), nr)
    ring = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(nr) - nr - r_lo, nr)
    sec_r, tan_r = _ring_trig(layout)
    cos_ps = np.cos(phs)
    polar = cos_ps < 1e-15
    cos_ps[polar] = 1.0
    a = np.cos(lm) / cos_ps
    b = np.tan(phs) if not polar.any() else np.where(polar, 0.0, np.sin(phs) / cos_ps)
    # cos of the run's half-width in longitude:
    #   (cos λ − sin φ sin φs) / (cos φ cos φs);  > 1: the ring misses the cap, <= -1: the whole ring
    c = a[k] * sec_r[ring]
    c -= tan_r[ring] * b[k]
    if polar.any():  # satellite exactly over a pole: every ring in the span is whole
        c[polar[k]] = -2.0
    half = np.arccos(np.clip(c, -1.0, 1.0))
    half[c > 1.0] = -1.0  # no point
    n = layout.n_lon[ring]
    inv_dl = n * (1.0 / (2 * np.pi))  # points per radian of longitude in this ring
    d = ths[k] - layout.lon0_rad[ring]
    d[d < 0] += 2 * np.pi  # in [0, 2π): x in [0, n)
    x = d * inv_dl
    half *= inv_dl  # <= n/2
    j_lo = np.ceil(x - half).astype(np.int64)  # in [-n/2, n]
    cnt = np.floor(x + half).astype(np.int64)
    cnt -= j_lo
    cnt += 1
    np.clip(cnt, 0, n, out=cnt)
    neg = j_lo < 0
    j_lo[neg] += n[neg]
    over = j_lo >= n
    j_lo[over] -= n[over]
    return ks[k], ring, j_lo, cnt


def ring_runs(layout, lat_s: np.ndarray, lon_s: np.ndarray, lam: np.ndarray):
    """The runs of covered points, one or two per (satellite, ring) pair.

    Parameters
    ----------
    layout : RingLayout
    lat_s, lon_s, lam : (K,) float64
        Sub-satellite geocentric latitude, longitude and cap half-angle (radians).
        Rows with NaN or λ <= 0 cover nothing.

    Returns
    -------
    sat, first, count : (M,) int64
        Run ``m`` covers flat points ``first[m] .. first[m] + count[m] − 1`` (all in one
        ring) and belongs to satellite row ``sat[m]``. Empty runs are dropped; a run
        that wraps past the ring's last point is split in two.
    """
    sat, ring, s, cnt = _runs(layout, lat_s, lon_s, lam)
    good = cnt > 0
    sat, ring, s, cnt = sat[good], ring[good], s[good], cnt[good]
    n = layout.n_lon[ring]
    base = layout.start[ring]
    end = s + cnt
    wrap = end > n
    count = np.where(wrap, n - s, cnt)
    w = np.flatnonzero(wrap)
    sat = np.concatenate([sat, sat[w]])
    first = np.concatenate([base + s, base[w]])
    count = np.concatenate([count, end[w] - n[w]])
    return sat, first, count


def _check_positions(sat_xyz_km) -> np.ndarray:
    p = np.asarray(sat_xyz_km, dtype=np.float64)
    if p.ndim < 2 or p.shape[-1] != 3:
        raise OrbitlatError(
            f"satellite positions must have shape (sat, 3) or (time, sat, 3) in km (ITRS); got {p.shape}."
        )
    return p


def _check_mask(min_elevation_deg) -> float:
    from orbitlat.ground.sites import check_mask_deg

    m = check_mask_deg(min_elevation_deg)
    if m.ndim != 0:
        raise OrbitlatError(f"min_elevation_deg={min_elevation_deg!r} must be one number of degrees.")
    return float(m)


@accepts_units
def cap_counts(grid, sat_xyz_km, min_elevation_deg: float, *, earth_radius_km: float = WGS84_A_KM,
               sat_valid: np.ndarray | None = None, dtype=np.int32) -> np.ndarray:
    """Number of satellites in view at every point of a ring grid (spherical Earth).

    Parameters
    ----------
    grid : Grid or RingLayout
        An iso-latitude ring grid or a subset of one.
    sat_xyz_km : (sat, 3) or (time, sat, 3) array
        Satellite ITRS positions, km. NaN rows (failed satellites) are skipped.
    min_elevation_deg : float
        Elevation mask, degrees (one value for every point).
    sat_valid : (sat,) bool, optional
        Satellites to use (default: all with finite positions).

    Returns
    -------
    (points,) or (time, points) int array
        Counts in the order of ``grid``'s points.
    """
    layout, sub = _layout_of(grid)
    mask = _check_mask(min_elevation_deg)
    p = _check_positions(sat_xyz_km)
    single = p.ndim == 2
    p3 = p[None] if single else p.reshape(-1, *p.shape[-2:])
    T, S = p3.shape[:2]
    if sat_valid is not None:
        sv = np.asarray(sat_valid, dtype=bool)
        if sv.shape != (S,):
            raise OrbitlatError(f"sat_valid must have one flag per satellite ({S}); got shape {sv.shape}.")
        p3 = np.where(sv[None, :, None], p3, np.nan)
    lat, lon, lam = _sat_geometry(p3.reshape(-1, 3), mask, earth_radius_km)
    sat, ring, s, cnt = _runs(layout, lat, lon, lam)
    N = layout.size
    n = layout.n_lon[ring]
    # +1 where a run starts, -1 just after it ends (mod n); a wrapped run also adds +1 at the
    # ring's first point and -1 after its last one. Each step owns N + 1 slots.
    base = (sat // S) * (N + 1) + layout.start[ring]
    end = s + cnt
    wrap = end > n
    end[wrap] -= n[wrap]
    size = T * (N + 1)
    plus = np.bincount(base + s, minlength=size)
    minus = np.bincount(base + end, minlength=size)
    if wrap.any():
        bw = base[wrap]
        plus += np.bincount(bw, minlength=size)
        minus += np.bincount(bw + n[wrap], minlength=size)
    diff = plus - minus
    counts = np.cumsum(diff.reshape(T, N + 1)[:, :N], axis=1, dtype=dtype)
    if sub is not None:
        counts = counts[:, sub]
    return counts[0] if single else counts.reshape(*p.shape[:-2], counts.shape[-1])


@accepts_units
def cap_pairs(grid, sat_xyz_km, min_elevation_deg: float, *, earth_radius_km: float = WGS84_A_KM,
              sat_valid: np.ndarray | None = None, geometry: bool = True):
    """Visible (point, satellite) pairs at one instant on a ring grid (spherical Earth).

    Returns an :class:`orbitlat.visibility.engine.VisiblePairs` (``site`` = index of the
    grid point, sorted by point then satellite). With ``geometry=True`` the
    spherical elevation, azimuth and slant range of each pair are filled in;
    otherwise those arrays are empty.
    """
    from orbitlat.visibility.engine import VisiblePairs

    layout, sub = _layout_of(grid)
    mask = _check_mask(min_elevation_deg)
    p = _check_positions(sat_xyz_km)
    if p.ndim != 2:
        raise OrbitlatError(f"cap_pairs takes one instant: positions of shape (sat, 3); got {p.shape}.")
    if sat_valid is not None:
        p = np.where(np.asarray(sat_valid, bool)[:, None], p, np.nan)
    lat, lon, lam = _sat_geometry(p, mask, earth_radius_km)
    sat, first, count = ring_runs(layout, lat, lon, lam)
    tot = int(count.sum())
    rep = np.repeat(np.arange(count.size), count)
    point = np.arange(tot, dtype=np.int64) - np.repeat(np.cumsum(count) - count - first, count)
    sat_p = sat[rep]
    n_points = layout.size
    if sub is not None:
        inv = np.full(layout.size, -1, dtype=np.int64)
        inv[sub] = np.arange(sub.size)
        point = inv[point]
        keep = point >= 0
        point, sat_p = point[keep], sat_p[keep]
        n_points = sub.size
    order = np.argsort(point * p.shape[0] + sat_p, kind="stable")  # by point, then satellite
    point, sat_p = point[order], sat_p[order]
    if not geometry:
        e = np.empty(0)
        return VisiblePairs(point, sat_p, e, e, e, n_points)
    plat, plon = layout.points_rad()
    if sub is not None:
        plat, plon = plat[sub], plon[sub]
    la, lo = plat[point], plon[point]
    cla, sla, clo, slo = np.cos(la), np.sin(la), np.cos(lo), np.sin(lo)
    up = np.stack([cla * clo, cla * slo, sla], -1)
    los = p[sat_p] - earth_radius_km * up
    rng = np.linalg.norm(los, axis=1)
    u = np.einsum("ij,ij->i", los, up)
    e_c = -slo * los[:, 0] + clo * los[:, 1]
    n_c = -sla * clo * los[:, 0] - sla * slo * los[:, 1] + cla * los[:, 2]
    el = np.degrees(np.arcsin(np.clip(u / rng, -1, 1)))
    az = np.mod(np.degrees(np.arctan2(e_c, n_c)), 360.0)
    return VisiblePairs(point, sat_p, el, az, rng, n_points)


@accepts_units
def point_counts(index, sat_xyz_km, *, sat_valid: np.ndarray | None = None) -> np.ndarray:
    """Counts per site for any point set through the pair engine (one instant or (time, sat, 3)).

    ``index`` is an :class:`orbitlat.visibility.engine.SiteIndex` (``spherical=True`` gives the
    same answer as :func:`cap_counts`; geodetic is the exact WGS84 elevation).
    """
    from orbitlat.visibility.engine import visible_pairs

    p = _check_positions(sat_xyz_km)
    if p.ndim == 2:
        return visible_pairs(index, p, sat_valid=sat_valid).counts()
    flat = p.reshape(-1, *p.shape[-2:])
    out = np.empty((flat.shape[0], index.size), dtype=np.int32)
    rs = np.linalg.norm(flat, axis=-1)
    rmax = float(np.nanmax(rs)) if np.isfinite(rs).any() else None
    for i in range(flat.shape[0]):
        out[i] = visible_pairs(index, flat[i], sat_valid=sat_valid, sat_radius_max_km=rmax).counts()
    return out.reshape(*p.shape[:-2], index.size)
