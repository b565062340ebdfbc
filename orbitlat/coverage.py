"""Coverage figures of merit over a grid and a time span (STK vocabulary).

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
  ``earth_radius_km`` (default the WGS84 equatorial radius, as REFERENCES.md):
  on ring grids it uses the footprint-cap kernel of :mod:`orbitlat.footprint`,
  on other grids the pair engine with spherical elevations. ``mode="exact"``
  uses the pair engine (:func:`orbitlat.engine.visible_pairs`) with WGS84
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
>>> from orbitlat.grids import Grid
>>> from orbitlat.coverage import coverage
>>> r = coverage(ol.presets.get("gps"), Grid.equal_area(10.0), start="2026-01-01", duration="2h",
...              step="10min", min_elevation_deg=5.0, k=4)
>>> float(r.ds.covered_fraction_k.min())
1.0
"""
from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd
import xarray as xr

from .constants import WGS84_A_KM
from .errors import OrbitlatError
from .grids import Grid, weighted_quantile

__all__ = ["coverage", "compare", "CoverageResult", "gap_statistics", "FIGURES_OF_MERIT"]

#: name -> (units, description)
FIGURES_OF_MERIT: dict[str, tuple[str, str]] = {
    "n_visible_min": ("count", "fewest satellites in view"),
    "n_visible_mean": ("count", "time-weighted mean number of satellites in view"),
    "n_visible_max": ("count", "most satellites in view"),
    "covered_fraction": ("1", "fraction of the time with >= 1 satellite in view"),
    "covered_fraction_k": ("1", "fraction of the time with >= k satellites in view"),
    "gap_count": ("count", "number of coverage gaps (edge gaps included, truncated at the window)"),
    "gap_max_s": ("s", "longest coverage gap (= maximum revisit time = maximum response time)"),
    "gap_mean_s": ("s", "mean coverage gap (= mean revisit time; 0 where there is no gap)"),
    "time_avg_gap_s": ("s", "time-average gap, sum of gap^2 / span"),
    "response_time_mean_s": ("s", "average response time, sum of gap^2 / (2 span)"),
}

GAP_CONVENTION = ("STK convention: gaps touching the start or end of the window are counted, truncated at the "
                  "window edge; each time step stands for half the interval to each neighbour.")


# ---------------------------------------------------------------------------
# gap statistics (also usable on their own)
# ---------------------------------------------------------------------------
def gap_statistics(gaps_s, span_s: float) -> dict[str, float]:
    """STK gap figures of merit from a list of gap lengths in a window of length ``span_s``.

    >>> d = gap_statistics([5.0, 10.0, 15.0], 100.0)   # STK's worked example
    >>> d["time_avg_gap_s"], d["response_time_mean_s"], d["gap_max_s"], d["gap_mean_s"]
    (3.5, 1.75, 15.0, 10.0)
    """
    g = np.asarray(gaps_s, dtype=np.float64).ravel()
    span = float(span_s)
    if not span > 0:
        raise OrbitlatError(f"span_s={span_s!r} must be > 0 seconds.")
    if np.any(g < 0) or g.sum() > span * (1 + 1e-12):
        raise OrbitlatError("gap lengths must be >= 0 and add up to no more than the span.")
    sq = float(np.sum(g * g))
    return {
        "gap_count": int(g.size),
        "gap_max_s": float(g.max()) if g.size else 0.0,
        "gap_mean_s": float(g.mean()) if g.size else 0.0,
        "time_avg_gap_s": sq / span,
        "response_time_mean_s": sq / (2.0 * span),
        "covered_fraction": 1.0 - float(g.sum()) / span,
    }


def _time_weights(seconds: np.ndarray) -> np.ndarray:
    """Nearest-sample weights: each step stands for half the interval to each neighbour."""
    t = np.asarray(seconds, dtype=np.float64)
    w = np.empty_like(t)
    d = np.diff(t)
    w[0] = d[0] / 2
    w[-1] = d[-1] / 2
    w[1:-1] = (d[:-1] + d[1:]) / 2
    return w


def _span_weights(tg) -> tuple[np.ndarray, float]:
    """Per-step time weights (s) and the span (s) of a time grid, checked: >= 2 increasing instants."""
    if len(tg) < 2:
        raise OrbitlatError("coverage over time needs at least two instants; for a single instant use "
                            "orbitlat.footprint.cap_counts (ring grids) or engine.visible_pairs.")
    sec = tg.seconds
    if np.any(np.diff(sec) <= 0):
        raise OrbitlatError("the time instants must be strictly increasing.")
    return _time_weights(sec), float(sec[-1] - sec[0])


def _time_sum(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_i w_i·x[i] over rows as integer column sums per distinct weight (no BLAS)."""
    wu = np.unique(w)
    if wu.size == 1:
        return wu[0] * x.sum(axis=0, dtype=np.int64)
    out = np.zeros(x.shape[1])
    for v in wu:
        out += v * x[w == v].sum(axis=0, dtype=np.int64)
    return out


@dataclass
class _Segment:
    """Per-point coverage summary of consecutive time steps ``[t0, t1)`` (see the module docs).

    ``head``: gap open at the first step (0 if covered there); ``tail``: gap open at the
    last step; ``all_unc``: uncovered at every step (then head == tail == the whole
    segment). ``gap_*``: gaps closed strictly inside the segment. ``t_*``: per-step
    partial area sums over this segment's points (int64 on equal-area grids).
    """

    t0: int
    t1: int
    n_min: np.ndarray
    n_max: np.ndarray
    n_sum: np.ndarray
    cov1: np.ndarray
    covk: np.ndarray | None
    head: np.ndarray
    tail: np.ndarray
    all_unc: np.ndarray
    gap_n: np.ndarray
    gap_sum: np.ndarray
    gap_sq: np.ndarray
    gap_max: np.ndarray
    t_mean: np.ndarray
    t_cov1: np.ndarray
    t_covk: np.ndarray | None
    identity: np.ndarray | None = None
    series: np.ndarray | None = None
    failed: np.ndarray | None = None
    caught: list = field(default_factory=list)
    compute_s: float = 0.0
    cpu_s: float = 0.0
    propagation_s: float = 0.0
    n_tasks: int = 1


class _SegmentAccumulator:
    """Streams blocks of counts (time, point) into a :class:`_Segment`.

    Used by :func:`coverage` (one segment for the whole span) and by
    :func:`orbitlat.parallel.coverage` (one per task, merged exactly).
    """

    def __init__(self, n_points: int, n_times: int, k: int, area_w: np.ndarray | None, keep_series: bool):
        P = n_points
        self.k = k
        self.area_w = area_w  # None: equal areas, integer row sums
        self.n_min = np.full(P, np.iinfo(np.int32).max, dtype=np.int64)
        self.n_max = np.zeros(P, dtype=np.int64)
        self.n_sum = np.zeros(P)
        self.cov1 = np.zeros(P)
        self.covk = np.zeros(P) if k > 1 else None
        self.g = np.zeros(P)
        self.in_head = np.ones(P, dtype=bool)
        self.head = np.zeros(P)
        self.gap_n = np.zeros(P, dtype=np.int64)
        self.gap_sum = np.zeros(P)
        self.gap_sq = np.zeros(P)
        self.gap_max = np.zeros(P)
        dt = np.int64 if area_w is None else np.float64
        self.t_mean = np.empty(n_times, dtype=dt)
        self.t_cov1 = np.empty(n_times, dtype=dt)
        self.t_covk = np.empty(n_times, dtype=dt) if k > 1 else None
        self.series = np.empty((n_times, P), dtype=np.uint16) if keep_series else None
        self.pos = 0

    def _area_sum(self, x: np.ndarray) -> np.ndarray:
        if self.area_w is None:
            return x.sum(axis=1, dtype=np.int64)
        return np.einsum("tp,p->t", x, self.area_w)

    def _close(self, closed: np.ndarray, idx: np.ndarray) -> None:
        self.gap_n[idx] += closed > 0
        self.gap_sum[idx] += closed
        self.gap_sq[idx] += closed * closed
        self.gap_max[idx] = np.maximum(self.gap_max[idx], closed)

    def add(self, counts: np.ndarray, w: np.ndarray) -> None:
        T = counts.shape[0]
        i0 = self.pos
        np.minimum(self.n_min, counts.min(axis=0), out=self.n_min)
        np.maximum(self.n_max, counts.max(axis=0), out=self.n_max)
        self.n_sum += _time_sum(counts, w)
        self.t_mean[i0:i0 + T] = self._area_sum(counts)
        if self.series is not None:
            self.series[i0:i0 + T] = np.minimum(counts, np.iinfo(np.uint16).max)
        cov = counts >= 1
        self.cov1 += _time_sum(cov, w)
        self.t_cov1[i0:i0 + T] = self._area_sum(cov)
        if self.k > 1:
            covk = counts >= self.k
            self.covk += _time_sum(covk, w)
            self.t_covk[i0:i0 + T] = self._area_sum(covk)
            del covk
        unc_any = ~cov.all(axis=0)
        full = ~unc_any
        closing = np.flatnonzero(full & (self.g > 0))  # gaps that ended at this block's first step
        if closing.size:
            gi = self.g[closing]
            ih = self.in_head[closing]
            self.head[closing[ih]] = gi[ih]
            self._close(gi[~ih], closing[~ih])
            self.g[closing] = 0.0
        self.in_head[full] = False
        U = np.flatnonzero(unc_any)
        if U.size:
            unc = ~cov[:, U]
            g = self.g[U]
            ih = self.in_head[U]
            hd = self.head[U]
            n = np.zeros(U.size, dtype=np.int64)
            s = np.zeros(U.size)
            sq = np.zeros(U.size)
            mx = self.gap_max[U]
            for i in range(T):
                u = unc[i]
                g += w[i] * u
                closed = np.where(u, 0.0, g)
                h = ih & ~u
                if h.any():  # the gap open since the segment's start ends here: it is the head, not interior
                    hd[h] = closed[h]
                    closed[h] = 0.0
                    ih &= u
                n += closed > 0
                s += closed
                sq += closed * closed
                np.maximum(mx, closed, out=mx)
                g *= u
            self.g[U] = g
            self.in_head[U] = ih
            self.head[U] = hd
            self.gap_n[U] += n
            self.gap_sum[U] += s
            self.gap_sq[U] += sq
            self.gap_max[U] = mx
        self.pos += T

    def segment(self, t0: int, t1: int) -> _Segment:
        all_unc = self.in_head.copy()
        tail = self.g.copy()
        head = np.where(all_unc, tail, self.head)
        return _Segment(t0, t1, self.n_min, self.n_max, self.n_sum, self.cov1, self.covk, head, tail, all_unc,
                        self.gap_n, self.gap_sum, self.gap_sq, self.gap_max, self.t_mean, self.t_cov1,
                        self.t_covk, series=self.series)


def _finish_segment(S: _Segment, span_s: float, k: int) -> dict[str, np.ndarray]:
    """Close the window edges (STK: edge gaps count, truncated) and return the figures of merit."""
    tail = np.where(S.all_unc, 0.0, S.tail)  # uncovered throughout: one gap, already the head
    head = S.head
    gap_n = S.gap_n + (head > 0) + (tail > 0)
    gap_sum = (head + S.gap_sum) + tail
    gap_sq = (head * head + S.gap_sq) + tail * tail
    gap_max = np.maximum(np.maximum(S.gap_max, head), tail)
    with np.errstate(invalid="ignore", divide="ignore"):
        gap_mean = np.where(gap_n > 0, gap_sum / np.maximum(gap_n, 1), 0.0)
    covk = S.cov1 if k == 1 else S.covk
    return {
        "n_visible_min": S.n_min,
        "n_visible_mean": S.n_sum / span_s,
        "n_visible_max": S.n_max,
        "covered_fraction": np.clip(S.cov1 / span_s, 0.0, 1.0),
        "covered_fraction_k": np.clip(covk / span_s, 0.0, 1.0),
        "gap_count": gap_n,
        "gap_max_s": gap_max,
        "gap_mean_s": gap_mean,
        "time_avg_gap_s": gap_sq / span_s,
        "response_time_mean_s": gap_sq / (2.0 * span_s),
    }


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------
@dataclass
class CoverageResult:
    """Coverage figures of merit on a grid; see the module docs.

    Attributes
    ----------
    ds : xarray.Dataset
        One variable per figure of merit over ``point`` (with ``units`` attrs),
        plus per-step area-weighted series over ``time``.
    grid : Grid
    """

    ds: xr.Dataset
    grid: Grid
    timings: dict = field(default_factory=dict, repr=False)

    @property
    def foms(self) -> list[str]:
        return [k for k in FIGURES_OF_MERIT if k in self.ds]

    def _values(self, name: str) -> np.ndarray:
        return self.ds[name].to_numpy().astype(np.float64)

    def area_weighted(self) -> pd.Series:
        """Area-weighted mean of every figure of merit over the grid."""
        w = self.grid.weights
        return pd.Series({f: float(self._values(f) @ w) for f in self.foms}, name="area_mean")

    def population_weighted(self) -> pd.Series:
        """Population-weighted mean of every figure of merit (needs a grid with population).

        Raises :class:`~orbitlat.errors.OrbitlatError` if the grid has no people;
        attach them with :meth:`orbitlat.grids.Grid.with_population`.
        """
        pop = self.grid.population
        if pop is None or not pop.sum() > 0:
            raise OrbitlatError(
                f"grid {self.grid.name!r} has no population; build it with grid.with_population() "
                "(GeoNames cities) or Grid.cities() before calling coverage()."
            )
        w = pop / pop.sum()
        return pd.Series({f: float(self._values(f) @ w) for f in self.foms}, name="population_weighted")

    def summary(self, percentiles=(5, 50, 95)) -> pd.DataFrame:
        """One row per figure of merit: units, area-weighted mean, min, percentiles, max, population-weighted.

        Percentiles are area-weighted (the value below which that share of the
        grid's *area* lies).
        """
        w = self.grid.area_km2
        rows = {}
        pw = None
        if self.grid.population is not None and self.grid.population.sum() > 0:
            pw = self.population_weighted()
        for f in self.foms:
            v = self._values(f)
            row = {"units": FIGURES_OF_MERIT[f][0], "area_mean": float(v @ (w / w.sum())),
                   "min": float(v.min())}
            qs = weighted_quantile(v, w, np.asarray(percentiles, dtype=np.float64) / 100.0)
            for p, q in zip(percentiles, np.atleast_1d(qs)):
                row[f"p{p:g}"] = float(q)
            row["max"] = float(v.max())
            if pw is not None:
                row["population_weighted"] = float(pw[f])
            rows[f] = row
        df = pd.DataFrame.from_dict(rows, orient="index")
        df.index.name = "figure_of_merit"
        df.attrs = {k: v for k, v in self.ds.attrs.items()}
        return df

    def by_latitude(self, band_deg: float = 10.0) -> pd.DataFrame:
        """Area-weighted mean of every figure of merit in latitude bands ``band_deg`` wide.

        Rows are bands (``lat_min``, ``lat_max``, their share of the grid's area
        and, if present, of its population); bands without points are left out.
        """
        b = float(band_deg)
        if not 0 < b <= 180:
            raise OrbitlatError(f"band_deg={band_deg!r} must be in (0, 180] degrees.")
        edges = np.arange(-90.0, 90.0 + b * 0.5, b)
        if edges[-1] < 90.0:
            edges = np.append(edges, 90.0)
        edges[-1] = 90.0
        lat = self.grid.lat_deg
        band = np.clip(np.searchsorted(edges, lat, side="right") - 1, 0, edges.size - 2)
        a = self.grid.area_km2
        nb = edges.size - 1
        asum = np.bincount(band, weights=a, minlength=nb)
        out = {"lat_min": edges[:-1], "lat_max": edges[1:], "area_share": asum / a.sum()}
        if self.grid.population is not None and self.grid.population.sum() > 0:
            out["population_share"] = np.bincount(band, weights=self.grid.population, minlength=nb) / \
                self.grid.population.sum()
        with np.errstate(invalid="ignore", divide="ignore"):
            for f in self.foms:
                out[f] = np.bincount(band, weights=a * self._values(f), minlength=nb) / asum
        df = pd.DataFrame(out)
        df.index = [f"{lo:g}..{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])]
        df.index.name = "lat_band_deg"
        return df[asum > 0]

    def __repr__(self) -> str:
        a = self.ds.attrs
        return (f"<CoverageResult {a.get('constellation')!r} on {a.get('grid')!r}: {self.grid.size} points x "
                f"{self.ds.sizes.get('time', 0)} steps, mask {a.get('min_elevation_deg')}°, mode {a.get('mode')}>")


# ---------------------------------------------------------------------------
# the driver
# ---------------------------------------------------------------------------
def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover
        return os.cpu_count() or 1


def _check_args(grid: Any, mode: Any, k: Any, min_elevation_deg: Any) -> float:
    """The checks every coverage entry point makes up front; returns the elevation mask (degrees)."""
    from .footprint import _check_mask

    if not isinstance(grid, Grid):
        raise OrbitlatError(f"grid must be an orbitlat.grids.Grid; got {type(grid).__name__}. "
                            "Build one with Grid.equal_area(1.0).")
    if mode not in ("fast", "exact"):
        raise OrbitlatError(f"mode={mode!r} is not known; use 'fast' (spherical, footprint caps) or 'exact' "
                            "(WGS84 geodetic, pair engine).")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OrbitlatError(f"k={k!r} must be an integer >= 1 (the 'k or more satellites' level).")
    return _check_mask(min_elevation_deg)


def coverage(constellation, grid: Grid, *, start: Any = None, duration: Any = None, step: Any = None,
             times: Any = None, min_elevation_deg: float = 10.0, k: int = 2, mode: str = "fast",
             chunk_steps: int | None = None, keep_series: bool = False, backend: str = "auto",
             workers: int | None = None, earth_radius_km: float = WGS84_A_KM, scheduler: Any = None,
             time_chunk: int | None = None, point_chunk: int | None = None, retries: int = 2) -> CoverageResult:
    """Coverage figures of merit of a constellation over a grid and a time span.

    Parameters
    ----------
    constellation : Constellation or xarray.Dataset
        The satellites, or an already propagated ITRS ephemeris (``position``
        (time, sat, xyz) km, e.g. from :func:`orbitlat.propagation.propagate`).
    grid : Grid
        Points and their areas (:class:`orbitlat.grids.Grid`).
    start, duration, step, times
        The time span ("from start for duration every step", both ends
        included) or explicit instants; at least two. Not with an ephemeris
        (it brings its own times).
    min_elevation_deg : float
        Elevation mask, degrees.
    k : int
        The "k or more satellites" level for ``covered_fraction_k``.
    mode : {"fast", "exact"}
        ``"fast"``: spherical Earth, footprint-cap kernel on ring grids (exact for
        a sphere); ``"exact"``: WGS84 geodetic elevations via the pair engine.
    chunk_steps : int, optional
        Time steps per kernel block (default: sized for ~250,000 satellite-ring runs).
    keep_series : bool
        Also return the count series ``n_visible (time, point)`` (uint16).
    backend : str
        Propagation backend (see :func:`orbitlat.propagation.propagate`).
    workers : int, optional
        Threads for the kernel (default: all cores).
    earth_radius_km : float
        Sphere radius of the fast mode.
    scheduler : None, str, distributed.Client or cluster
        Run on Dask (:func:`orbitlat.parallel.coverage`): ``"threads"``,
        ``"processes"``, a ``distributed.Client``, a cluster, or an address such as
        ``"tcp://host:8786"``. ``None`` runs here in one process, unless an
        :func:`orbitlat.parallel.using` block sets a scheduler. The result is the
        same (see ``docs/scaling.md``).
    time_chunk, point_chunk, retries
        Task sizes and retries on Dask (see :func:`orbitlat.parallel.coverage`);
        giving a chunk size also selects the Dask path.

    Returns
    -------
    CoverageResult
    """
    import time as _time

    from . import parallel as _parallel

    if scheduler is not None or time_chunk is not None or point_chunk is not None \
            or _parallel._CURRENT.get() is not None:
        if isinstance(constellation, xr.Dataset):
            raise OrbitlatError("coverage on a Dask scheduler takes a Constellation (tasks propagate their own "
                                "chunks), not a propagated ephemeris; pass the constellation, or scheduler=None.")
        return _parallel.coverage(constellation, grid, start=start, duration=duration, step=step, times=times,
                                  min_elevation_deg=min_elevation_deg, k=k, mode=mode, chunk_steps=chunk_steps,
                                  keep_series=keep_series, backend=backend, earth_radius_km=earth_radius_km,
                                  scheduler=scheduler, time_chunk=time_chunk, point_chunk=point_chunk,
                                  retries=retries)

    from .constellation import Constellation
    from .propagation import propagate
    from .time import TimeGrid, to_timegrid

    t_start = _time.perf_counter()
    mask = _check_args(grid, mode, k, min_elevation_deg)
    from .footprint import cap_half_angle_rad, expected_mean_visible

    eph = None
    if isinstance(constellation, xr.Dataset):
        eph = constellation
        if any(v is not None for v in (start, duration, step, times)):
            raise OrbitlatError("an ephemeris brings its own times; drop start/duration/step/times, or pass the "
                                "Constellation instead to propagate over a new span.")
        if "position" not in eph or eph["position"].dims != ("time", "sat", "xyz"):
            raise OrbitlatError("an ephemeris must have `position` with dims (time, sat, xyz) in km.")
        frame = str(eph.attrs.get("frame", "ITRS")).upper()
        if frame != "ITRS":
            raise OrbitlatError(f"the ephemeris is in {frame}; coverage needs ITRS (propagate(..., frame='ITRS')).")
        tg = TimeGrid(eph["time"].to_numpy())
        name = str(eph.attrs.get("constellation", "ephemeris"))
        n_sat = eph.sizes["sat"]
        attrs_c: dict = {}
    elif isinstance(constellation, Constellation):
        tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
        name = constellation.name
        n_sat = constellation.size
        attrs_c = {k_: v for k_, v in constellation.attrs.items() if isinstance(v, (str, int, float))}
    else:
        raise OrbitlatError(f"coverage takes a Constellation or an ITRS ephemeris Dataset; got "
                            f"{type(constellation).__name__}.")
    n_t = len(tg)
    w_t, span = _span_weights(tg)

    # ---- the per-block kernel
    use_rings = mode == "fast" and grid.is_ring
    if use_rings:
        from .footprint import cap_counts

        def kernel(pos):
            return cap_counts(grid, pos, mask, earth_radius_km=earth_radius_km)

        engine_name = "footprint-cap (spherical)"
    else:
        from .engine import SiteIndex
        from .footprint import point_counts

        index = SiteIndex.from_latlon(grid.lat_deg, grid.lon_deg, 0.0, min_elevation_deg=mask,
                                      spherical=(mode == "fast"), radius_km=earth_radius_km)
        index.tree  # build once, before threads share it

        def kernel(pos):
            return point_counts(index, pos)

        engine_name = "pair engine (" + ("spherical" if mode == "fast" else "WGS84 geodetic") + ")"

    if chunk_steps is None:
        if use_rings:
            # size blocks for ~250k (satellite, ring) runs: big enough to amortise numpy call
            # overheads, small enough to stay in cache and bound each thread's memory (~80 MB)
            if eph is not None:
                r_sat = np.linalg.norm(np.asarray(eph["position"].isel(time=0).to_numpy()), axis=-1)
            else:
                t_ = constellation.table
                r_sat = (t_["a_km"] * (1 + t_["ecc"])).to_numpy(np.float64)
            lam = np.nan_to_num(cap_half_angle_rad(r_sat, mask, earth_radius_km))
            ring_sp = np.pi / grid.rings.n_rings
            per_step = max(1.0, float(np.sum(np.minimum(2 * lam / ring_sp + 1, grid.rings.n_rings))))
            chunk_steps = int(np.clip(250_000 / per_step, 1, 64))
        else:
            chunk_steps = 8
    chunk_steps = int(chunk_steps)
    if chunk_steps < 1:
        raise OrbitlatError(f"chunk_steps={chunk_steps} must be >= 1.")
    n_workers = _cpu_count() if workers is None else max(1, int(workers))

    area_w = grid.weights
    uniform = bool(np.ptp(area_w) <= 1e-15 * area_w.max())  # equal areas: exact integer row sums
    acc = _SegmentAccumulator(grid.size, n_t, int(k), None if uniform else area_w, keep_series)
    identity = np.empty(n_t)
    failed = np.zeros(n_sat, dtype=bool)
    caught: list[warnings.WarningMessage] = []
    prop_chunk = max(chunk_steps, min(n_t, max(chunk_steps, (240 // chunk_steps) * chunk_steps)))
    t_prop = 0.0

    def positions(i0: int, i1: int) -> np.ndarray:
        nonlocal t_prop
        if eph is not None:
            return np.asarray(eph["position"].isel(time=slice(i0, i1)).to_numpy(), dtype=np.float64)
        tp = _time.perf_counter()
        with warnings.catch_warnings(record=True) as wl:
            warnings.simplefilter("always")
            e = propagate(constellation, tg[i0:i1], backend=backend, frame="ITRS", velocity=False)
        caught.extend(wl)
        failed[:] |= e["failed"].to_numpy()
        t_prop += _time.perf_counter() - tp
        return e["position"].to_numpy()

    if eph is not None and "failed" in eph:
        failed |= eph["failed"].to_numpy()

    forks = eph is None and (backend == "sgp4" or (backend == "auto" and bool(constellation.is_catalog.any())))
    pending: list = []
    max_inflight = 2 * n_workers

    def drain(limit: int) -> None:
        while len(pending) > limit:
            j0, fut = pending.pop(0)
            counts = fut.result()
            acc.add(counts, w_t[j0:j0 + counts.shape[0]])

    class _Inline:  # one worker: run blocks in this thread (same code path, no thread overhead)
        def submit(self, fn, *a):
            from concurrent.futures import Future

            f = Future()
            f.set_result(fn(*a))
            return f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    with (ThreadPoolExecutor(max_workers=n_workers) if n_workers > 1 else _Inline()) as ex:
        for p0 in range(0, n_t, prop_chunk):
            p1 = min(n_t, p0 + prop_chunk)
            if forks:  # sgp4 propagates in forked worker processes: fork with no kernel thread running
                drain(0)
            pos = positions(p0, p1)
            identity[p0:p1] = expected_mean_visible(pos, mask, earth_radius_km)
            for b0 in range(p0, p1, chunk_steps):
                b1 = min(p1, b0 + chunk_steps)
                pending.append((b0, ex.submit(kernel, pos[b0 - p0:b1 - p0])))
                drain(max_inflight)
        drain(0)

    # re-emit propagation warnings once each (chunked propagation repeats them)
    seen = set()
    for wm in caught:
        key = (wm.category, str(wm.message))
        if key not in seen:
            seen.add(key)
            warnings.warn(wm.message, wm.category, stacklevel=2)

    seg = acc.segment(0, n_t)
    foms = _finish_segment(seg, span, int(k))
    scale = area_w[0] if uniform else 1.0
    t_mean, t_cov1 = seg.t_mean * scale, seg.t_cov1 * scale
    t_covk = t_cov1 if k == 1 else seg.t_covk * scale
    wall = _time.perf_counter() - t_start
    ds = _coverage_dataset(grid, tg, foms, t_mean, t_cov1, t_covk, identity, seg.series,
                           name=name, n_sat=int(n_sat), n_failed=int(failed.sum()), source_attrs=attrs_c,
                           mask=mask, k=int(k), mode=mode, engine_name=engine_name, R=earth_radius_km,
                           span=span, chunk_steps=chunk_steps)
    return CoverageResult(ds, grid, {"wall_s": wall, "propagation_s": t_prop})


def _coverage_dataset(grid: Grid, tg, foms: dict, t_mean, t_cov1, t_covk, identity, series, *, name: str,
                      n_sat: int, n_failed: int, source_attrs: Mapping[str, Any], mask: float, k: int, mode: str,
                      engine_name: str, R: float, span: float, chunk_steps, extra: Mapping[str, Any] | None = None
                      ) -> xr.Dataset:
    """The coverage Dataset (coords, one variable per figure of merit, attrs); shared with orbitlat.parallel."""
    coords = {
        "point": np.arange(grid.size),
        "lat_deg": ("point", grid.lat_deg, {"units": "degree", "long_name": "latitude"}),
        "lon_deg": ("point", grid.lon_deg, {"units": "degree", "long_name": "longitude"}),
        "area_km2": ("point", grid.area_km2, {"units": "km2", "long_name": "area represented by the point"}),
        "time": tg.utc,
    }
    if grid.population is not None:
        coords["population"] = ("point", grid.population, {"units": "people"})
    data = {}
    for f, v in foms.items():
        units, desc = FIGURES_OF_MERIT[f]
        a = {"units": units, "long_name": desc}
        if f == "covered_fraction_k":
            a["k"] = int(k)
        data[f] = ("point", v, a)
    data["area_mean_n_visible"] = ("time", t_mean, {"units": "count",
                                                    "long_name": "area-weighted mean number in view"})
    data["area_covered_fraction"] = ("time", t_cov1, {"units": "1",
                                                      "long_name": "share of the grid's area with >= 1 in view"})
    data["area_covered_fraction_k"] = ("time", t_covk, {"units": "1", "k": int(k),
                                                        "long_name": "share of the grid's area with >= k in view"})
    data["identity_mean_n_visible"] = ("time", identity, {
        "units": "count", "long_name": "sum over satellites of (1 - cos lambda)/2: the exact global mean "
                                       "number in view on a spherical Earth (REFERENCES.md)"})
    if series is not None:
        data["n_visible"] = (("time", "point"), series, {"units": "count", "long_name": "satellites in view"})
    attrs = {
        "constellation": name,
        "n_sats": int(n_sat),
        "n_failed": int(n_failed),
        "grid": grid.name,
        "grid_kind": grid.kind,
        "n_points": int(grid.size),
        "min_elevation_deg": float(mask),
        "k": int(k),
        "mode": mode,
        "engine": engine_name,
        "earth_model": (f"sphere R={R:g} km" if mode == "fast" else "WGS84 ellipsoid"),
        "step_s": float(tg.step_s),
        "span_s": span,
        "start": str(tg.utc[0]),
        "end": str(tg.utc[-1]),
        "gap_convention": GAP_CONVENTION,
        "chunk_steps": chunk_steps,
        **{f"source_{k_}": v for k_, v in source_attrs.items()},
        **(extra or {}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)


def compare(constellations: Mapping[str, Any], grid: Grid, **kwargs) -> pd.DataFrame:
    """Several constellations on the same grid, span and mask: one row each.

    ``kwargs`` go to :func:`coverage` (``start``, ``duration``, ``step``,
    ``min_elevation_deg``, ``k``, ``mode`` ...). Columns: number of satellites,
    the area-weighted mean of every figure of merit, the worst point's values
    (``worst_n_visible_min``, ``worst_gap_max_s``, ``worst_covered_fraction``)
    and, if the grid has population, population-weighted values
    (``pop_<figure>``).
    """
    if not constellations:
        raise OrbitlatError("compare needs at least one constellation: {'name': constellation, ...}.")
    rows = {}
    for nm, c in constellations.items():
        r = coverage(c, grid, **kwargs)
        row = {"n_sats": r.ds.attrs["n_sats"], **r.area_weighted().to_dict()}
        row["worst_n_visible_min"] = float(r.ds.n_visible_min.min())
        row["worst_covered_fraction"] = float(r.ds.covered_fraction.min())
        row["worst_gap_max_s"] = float(r.ds.gap_max_s.max())
        if grid.population is not None and grid.population.sum() > 0:
            row.update({f"pop_{k_}": v for k_, v in r.population_weighted().to_dict().items()})
        rows[str(nm)] = row
    df = pd.DataFrame.from_dict(rows, orient="index")
    df.index.name = "constellation"
    df.attrs = {"grid": grid.name, **{k_: str(v) for k_, v in kwargs.items()}}
    return df
