"""Ground: where the users and stations are. Layer 1 of the pipeline, beside :mod:`orbitlat.orbits`.

Owns the Earth model and everything on it: WGS84 geodesy and great circles
(:mod:`~orbitlat.ground.geodesy`), ground sites with their masks (:mod:`~orbitlat.ground.sites`) and the
catalogs they come from (:mod:`~orbitlat.ground.catalogs`: GeoNames cities, Hypatia lists, gateways,
data centres, Starlink gateways and PoPs), where people live (:mod:`~orbitlat.ground.population`: the
built-in GPW v4.11 grid, countries of points), grids of points with areas and population
(:mod:`~orbitlat.ground.grids`), land
(:mod:`~orbitlat.ground.land`) and the offline GSHHS coastlines (:mod:`~orbitlat.ground.coastlines`).
Imports only the foundation; independent of :mod:`orbitlat.orbits`.
"""
from __future__ import annotations

from orbitlat.ground.geodesy import geodetic_to_itrs, great_circle_km, itrs_to_geodetic
from orbitlat.ground.grids import Grid, RingLayout, weighted_quantile
from orbitlat.ground.land import land_mask
from orbitlat.ground.sites import GroundSites

__all__ = ["GroundSites", "Grid", "RingLayout", "land_mask", "weighted_quantile", "geodetic_to_itrs",
           "itrs_to_geodetic", "great_circle_km"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
