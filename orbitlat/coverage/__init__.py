"""Coverage: figures of merit over a grid and a time span (STK vocabulary). Layer 3 of the pipeline.

Owns the figures of merit and their exact streaming reduction (:mod:`~orbitlat.coverage.figures`),
the result with its summaries (:mod:`~orbitlat.coverage.result`) and the driver that propagates,
counts and reduces in chunks, here or on Dask (:mod:`~orbitlat.coverage.compute`). Imports
visibility, orbits, ground, scale and the foundation; never latency or the faces.

:func:`coverage` propagates a constellation in time chunks, counts the
satellites in view of every grid point at every step, and folds each chunk
into running per-point statistics, so memory stays bounded whatever the span
(it never builds a points × satellites × times array). The result is a
:class:`CoverageResult` whose ``ds`` is an :class:`xarray.Dataset` with one
``point`` dimension (coordinates ``lat_deg``, ``lon_deg``, ``area_km2`` and,
if the grid has it, ``population``) and one variable per figure of merit.

Figures of merit (per grid point, over the window ``[t_first, t_last]``)
------------------------------------------------------------------------
``n_visible_min``, ``n_visible_mean``, ``n_visible_max``
    Number of satellites in view (mean is time-weighted); optionally the whole
    series ``n_visible (time, point)`` with ``keep_series=True``.
``covered_fraction``, ``covered_fraction_k``
    Fraction of the time with >= 1 and >= ``k`` satellites in view (STK's
    "percent coverage", as a fraction in [0, 1]).
``gap_count``, ``gap_max_s``, ``gap_mean_s``
    Coverage gaps (intervals with no satellite in view): how many, the
    longest, the mean length (0 where there is no gap). **Revisit time is the
    same thing**: STK's "revisit time" figure of merit is these gap statistics.
``time_avg_gap_s``
    STK's time-average gap, ``Σ gap² / span``: the mean, over the window, of
    the length of the gap one is in (0 while covered). STK's worked example:
    gaps of 5, 10 and 15 in a span of 100 give 3.5.
``response_time_mean_s``
    STK's average response time: the expected wait from a request made at a
    uniformly random instant until coverage begins, ``Σ gap² / (2·span)``. The
    maximum response time equals ``gap_max_s``.

Conventions (state them when you quote numbers)
-----------------------------------------------
- **Sampling.** The state found at each time step holds until halfway to the
  neighbouring steps (nearest-sample rule): step ``i`` stands for
  ``(t[i+1] − t[i−1]) / 2`` seconds, the first and last steps for half a step.
  Durations are therefore resolved to the step; gaps shorter than a step can
  be missed.
- **Window edges (STK's convention).** A gap that touches the start or the end
  of the window counts as a gap, truncated at the edge: a point uncovered
  for the first 90 s of the window has a 90 s gap even if it was uncovered
  before. A point never covered has one gap as long as the window.
- **Earth model.** ``mode="fast"`` is exact for a **spherical** Earth of radius
  ``earth_radius_km`` (default the WGS84 equatorial radius, as docs/references.md):
  on ring grids it uses the footprint-cap kernel of :mod:`orbitlat.visibility.footprints`,
  on other grids the pair engine with spherical elevations. ``mode="exact"``
  uses the pair engine (:func:`orbitlat.visibility.engine.visible_pairs`) with WGS84
  geodetic elevations at points on the ellipsoid (grid latitudes read as
  geodetic). Elevations differ by up to about 0.2°, and the ellipsoid lies up to
  21 km inside the sphere of radius a near the poles, so the exact mode sees a
  little more there (OneWeb at 20°: +0.7 satellites poleward of 60°, +1% on the
  global mean; the same within 0.02 at low latitudes). The fast mode is ~10-100x
  quicker.

Aggregates: :meth:`CoverageResult.summary` (area-weighted mean, percentiles,
population-weighted value), :meth:`CoverageResult.by_latitude`,
:meth:`CoverageResult.population_weighted`; :func:`compare` puts several
constellations side by side on the same grid and mask.

>>> import orbitlat as ol
>>> from orbitlat.ground import Grid
>>> from orbitlat.coverage.compute import coverage
>>> r = coverage(ol.presets.get("gps"), Grid.equal_area(10.0), start="2026-01-01", duration="2h",
...              step="10min", min_elevation_deg=5.0, k=4)
>>> float(r.ds.covered_fraction_k.min())
1.0
"""
from __future__ import annotations

from orbitlat.coverage.compute import compare, coverage
from orbitlat.coverage.figures import FIGURES_OF_MERIT, GAP_CONVENTION, gap_statistics
from orbitlat.coverage.result import CoverageResult

__all__ = ["coverage", "compare", "CoverageResult", "gap_statistics", "FIGURES_OF_MERIT", "GAP_CONVENTION"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
