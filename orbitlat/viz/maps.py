"""Maps, one import: every map function of :mod:`orbitlat.viz` in one namespace (``ol.maps``).

The functions live in the modules named by what they draw: :mod:`~orbitlat.viz.basemap`
(projections, offline coastlines, the empty map), :mod:`~orbitlat.viz.seams` (antimeridian
cuts, footprint outlines), :mod:`~orbitlat.viz.tracks` (ground tracks, footprints at an
instant), :mod:`~orbitlat.viz.values` (coverage and latency values at points),
:mod:`~orbitlat.viz.paths` (routed paths), :mod:`~orbitlat.viz.sky` (sky plots) and
:mod:`~orbitlat.viz.animate` (time-lapse GIFs); :mod:`~orbitlat.viz.layout` lays them out.
"""
from __future__ import annotations

from orbitlat.viz.basemap import BORDER_COLOR, COAST_COLOR, LAND_COLOR, MAP_FIGSIZE, PROJECTIONS, add_coastlines, base_map
from orbitlat.viz.animate import animate
from orbitlat.viz.paths import path_map
from orbitlat.viz.seams import (break_at_antimeridian, footprint_half_angle_deg, footprint_outline,
                                footprint_polygons, look_angles)
from orbitlat.viz.sky import site_sky_plot, sky_plot
from orbitlat.viz.tracks import footprint_map, ground_track_map
from orbitlat.viz.values import coverage_map, latency_map

__all__ = ["base_map", "add_coastlines", "ground_track_map", "footprint_map", "coverage_map", "latency_map",
           "path_map", "animate", "sky_plot", "site_sky_plot", "break_at_antimeridian", "footprint_half_angle_deg",
           "footprint_outline", "footprint_polygons", "look_angles", "PROJECTIONS", "COAST_COLOR", "BORDER_COLOR",
           "LAND_COLOR", "MAP_FIGSIZE"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
