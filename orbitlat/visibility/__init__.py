"""Visibility: who sees what, when. Layer 2 of the pipeline (geometry on top of orbits and ground).

Everything here works on an ITRS ephemeris ``(time, sat, xyz)`` or a Constellation propagated here
in time chunks, and on ground sites. It owns:

- :mod:`~orbitlat.visibility.engine`: the pruned site–satellite pair engine (KD-tree, masks);
- :mod:`~orbitlat.visibility.footprints`: closed-form footprint geometry and the footprint-cap kernel;
- :mod:`~orbitlat.visibility.nearest`: the best usable satellite per site and step at any constellation
  size (a 3-D cell search; ``_kernels`` holds the compiled kernels when numba is installed);
- :mod:`~orbitlat.visibility.angles`: look angles (azimuth, elevation, range, range rate);
- :mod:`~orbitlat.visibility.visible`: visible sets per step, streamed over long spans;
- :mod:`~orbitlat.visibility.windows`: access windows (passes), rise/culmination/set by root finding;
- :mod:`~orbitlat.visibility.isl`: inter-satellite line of sight over the limb;
- :mod:`~orbitlat.visibility.sunlight`: the Sun, shadows, eclipses, beta angle, sunlit fraction.

Imports orbits, ground, scale (visible sets and passes are plans it runs) and the foundation; never
coverage, latency or the faces.

>>> import orbitlat as ol
>>> from orbitlat.visibility.engine import SiteIndex
>>> eph = ol.presets.get("iridium").propagate(start="2026-05-30", duration="2h", step="60s")
>>> zurich = SiteIndex.from_latlon([47.37], [8.54], 0.41, min_elevation_deg=10.0)
>>> p = ol.visibility.passes(eph, zurich)
>>> bool((p.max_elevation_deg >= 10.0).all()), list(p.columns[:4])
(True, ['site', 'site_name', 'sat', 'sat_name'])
"""
from __future__ import annotations

from orbitlat.visibility._inputs import MASK_RANGE_DEG
from orbitlat.visibility.angles import MAX_LOOK_ANGLE_ELEMENTS, look_angles
from orbitlat.visibility.engine import SiteIndex, VisiblePairs, visible_pairs
from orbitlat.visibility.footprints import Footprint, footprint
from orbitlat.visibility.isl import isl_line_of_sight, max_isl_range_km
from orbitlat.visibility.nearest import Access, best_access, nearest_visible
from orbitlat.visibility.visible import VisibleSets, iter_visible, visible_sets
from orbitlat.visibility.windows import passes

__all__ = ["Footprint", "footprint", "look_angles", "VisibleSets", "visible_sets", "iter_visible", "passes",
           "isl_line_of_sight", "max_isl_range_km", "SiteIndex", "VisiblePairs", "visible_pairs",
           "MAX_LOOK_ANGLE_ELEMENTS", "MASK_RANGE_DEG", "Access", "best_access", "nearest_visible"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
