"""Figures of merit and their exact streaming reduction.

Each block of per-step counts is folded into a per-point *segment summary* (count min/max/sums,
covered time, closed gaps and the open gaps at both ends); summaries of adjacent spans merge
exactly, so a span cut into chunks gives the same figures as one pass. :func:`gap_statistics` is
the plain per-point reference (STK's gap conventions, :data:`GAP_CONVENTION`).
"""
from __future__ import annotations

from dataclasses import dataclass
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["FIGURES_OF_MERIT", "GAP_CONVENTION", "gap_statistics", "merge_segments"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


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
@accepts_units
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
                            "orbitlat.visibility.footprints.cap_counts (ring grids) or engine.visible_pairs.")
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
    compute_s: float = 0.0
    cpu_s: float = 0.0
    propagation_s: float = 0.0
    n_tasks: int = 1

class _SegmentAccumulator:
    """Streams blocks of counts (time, point) into a :class:`_Segment`.

    One per task of :mod:`orbitlat.coverage.plan` (a time chunk of a band of points); the
    tasks' segments are combined by :func:`merge_segments`.
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

def _cat(a, b):
    return None if a is None else np.concatenate([a, b])

def merge_segments(L: _Segment, R: _Segment) -> _Segment:
    """The segment of ``L`` followed by ``R``: exact and associative (``L.t1`` must equal ``R.t0``).

    The left segment's open tail and the right one's open head are one gap, closed inside
    the union unless one side was uncovered throughout (then it stays open at that end).
    Counts, minima, maxima and gap counts combine exactly; sums of durations are exact floats
    whenever every partial sum is (whole or binary-fraction seconds), so any tree of merges
    gives the one-pass figures bit for bit (tests/test_parallel.py checks random chunkings).
    This is coverage's merge for :mod:`orbitlat.scale` (:mod:`orbitlat.coverage.plan`).
    """
    import time as _time

    t, tc = _time.perf_counter(), _time.thread_time()
    if L.t1 != R.t0:
        raise OrbitlatError(f"internal: segments [{L.t0}, {L.t1}) and [{R.t0}, {R.t1}) are not adjacent.")
    mid = L.tail + R.head  # the gap across the boundary (0 if covered on either side of it)
    inside = ~L.all_unc & ~R.all_unc & (mid > 0)  # closed inside the union
    mid_in = np.where(inside, mid, 0.0)
    out = _Segment(
        L.t0, R.t1,
        np.minimum(L.n_min, R.n_min), np.maximum(L.n_max, R.n_max), L.n_sum + R.n_sum, L.cov1 + R.cov1,
        None if L.covk is None else L.covk + R.covk,
        np.where(L.all_unc, mid, L.head), np.where(R.all_unc, mid, R.tail), L.all_unc & R.all_unc,
        L.gap_n + R.gap_n + inside, L.gap_sum + R.gap_sum + mid_in, L.gap_sq + R.gap_sq + mid_in * mid_in,
        np.maximum(np.maximum(L.gap_max, R.gap_max), mid_in),
        np.concatenate([L.t_mean, R.t_mean]), np.concatenate([L.t_cov1, R.t_cov1]), _cat(L.t_covk, R.t_covk),
        identity=_cat(L.identity, R.identity), series=_cat(L.series, R.series),
        failed=None if L.failed is None else L.failed | R.failed,
        propagation_s=L.propagation_s + R.propagation_s, n_tasks=L.n_tasks + R.n_tasks + 1,
    )
    out.compute_s = L.compute_s + R.compute_s + (_time.perf_counter() - t)
    out.cpu_s = L.cpu_s + R.cpu_s + (_time.thread_time() - tc)
    return out

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
