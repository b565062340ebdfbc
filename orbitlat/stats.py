"""Weighted quantiles and empirical CDFs: the one definition every table, summary and figure uses.

A percentile printed in a report table, returned by ``LatencyResult.summary``, ``CoverageResult``
or the CLI, and marked on a CDF plot is always :func:`weighted_quantile`, so the same data gives the
same number everywhere (the report once printed p50 = 91.5 ms in its table and 91.6 ms in the CDF
legend, from two definitions).

**Definition** (Hazen's plotting positions, weighted). Sort the values ``v_1 <= ... <= v_n`` with
weights ``w_i`` (total ``W``); value ``i`` sits at cumulative position

    ``p_i = (w_1 + ... + w_i − w_i / 2) / W``

(the middle of its own weight), and the ``q``-quantile is the linear interpolation of ``v`` at
``q`` between those positions (``v_1`` below ``p_1``, ``v_n`` above ``p_n``). With equal weights
this is numpy's ``method="hazen"`` (Hyndman & Fan 1996, definition 5), and a weight of ``k`` acts
exactly like ``k`` repeated values only in the limit; it is the population-weighted percentile of
the report (a city stands for its people).

**Missing values** (NaN: no path, no coverage): ``nan="drop"`` leaves them out (a percentile of
the samples that have a value); ``nan="inf"`` counts them as infinitely large, so a percentile
above the reachable share is ``inf`` (how a CDF whose curve stops below 1 reads).

Foundation layer: numpy only.

>>> float(weighted_quantile([1.0, 2.0, 3.0, 4.0], None, 0.5))
2.5
>>> float(weighted_quantile([1.0, 10.0], [3, 1], 0.5))   # positions 0.375 and 0.875
3.25
>>> float(weighted_quantile([1.0, 2.0, float("nan")], None, 0.9, nan="inf"))
inf
"""
from __future__ import annotations

from typing import Any

import numpy as np

from orbitlat.errors import OrbitlatError

__all__ = ["weighted_quantile", "weighted_ecdf", "NAN_POLICIES"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: How NaN values are treated: dropped, counted as +infinity, or refused.
NAN_POLICIES = ("drop", "inf", "raise")


def _values(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "unit") and hasattr(values, "to_value"):  # astropy Quantity: its own number
        values = values.value
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OrbitlatError(f"{name} must be numeric; got {type(values).__name__}.") from exc


def _weights(weights: Any, shape: tuple[int, ...]) -> np.ndarray:
    if weights is None:
        return np.ones(int(np.prod(shape, dtype=np.int64)))
    w = _values(weights, "weights")
    try:
        w = np.broadcast_to(w, shape).ravel()
    except ValueError:
        raise OrbitlatError(f"weights must broadcast to values {shape}; got shape {np.shape(weights)}.") from None
    if np.any(~np.isfinite(w)) or np.any(w < 0):
        raise OrbitlatError("weights must be finite and >= 0.")
    return w


def _sorted(values: Any, weights: Any, nan: str):
    """(sorted values with NaN as +inf or dropped, their weights); zero weights removed."""
    if nan not in NAN_POLICIES:
        raise OrbitlatError(f"nan={nan!r} is not valid; use 'drop' (leave NaN out), 'inf' (count as "
                            "unreachable) or 'raise'.")
    v = _values(values, "values")
    w = _weights(weights, v.shape)
    v = v.ravel()
    bad = np.isnan(v)
    if bad.any() and nan == "raise":
        raise OrbitlatError(f"values contain {int(bad.sum())} NaN; pass nan='inf' or nan='drop' to handle them.")
    if nan == "drop":
        v, w = v[~bad], w[~bad]
    else:
        v = np.where(bad, np.inf, v)
    keep = w > 0
    v, w = v[keep], w[keep]
    o = np.argsort(v, kind="stable")
    return v[o], w[o]


def weighted_quantile(values: Any, weights: Any = None, q: Any = 0.5, *, nan: str = "drop"):
    """Quantile(s) ``q`` (0..1) of ``values`` with non-negative ``weights`` (see the module for the definition).

    Parameters
    ----------
    values : array_like
        Any shape; flattened.
    weights : array_like, optional
        Broadcastable to ``values`` (e.g. population per user); default equal weights.
    q : float or array_like
        In [0, 1].
    nan : {'drop', 'inf', 'raise'}
        NaN values: left out (default), counted as +infinity, or an error.

    Returns
    -------
    float64 scalar or array shaped like ``q``
        NaN when no value has positive weight.

    Examples
    --------
    >>> import numpy as np
    >>> v = np.array([3.0, 1.0, 2.0, 5.0])
    >>> bool(np.isclose(weighted_quantile(v, None, 0.3), np.quantile(v, 0.3, method="hazen")))
    True
    """
    qq = np.asarray(q, dtype=np.float64)
    if np.any(~np.isfinite(qq)) or np.any((qq < 0) | (qq > 1)):
        raise OrbitlatError(f"quantiles must be within [0, 1]; got {q!r}.")
    v, w = _sorted(values, weights, nan)
    if v.size == 0:
        out = np.full(qq.shape, np.nan)
        return out if qq.ndim else np.float64(np.nan)
    cw = np.cumsum(w)
    pos = (cw - 0.5 * w) / cw[-1]
    fin = np.isfinite(v)
    nf = int(fin.sum())
    if nf == 0:
        out = np.full(qq.shape, np.inf)
    else:
        out = np.interp(qq, pos[:nf], v[:nf])
        if nf < v.size:  # beyond the last finite value's position the quantile is infinite
            out = np.where(qq > pos[nf - 1], np.inf, out)
    return out if qq.ndim else np.float64(out)


def weighted_ecdf(values: Any, weights: Any = None, *, nan: str = "inf") -> tuple[np.ndarray, np.ndarray, float]:
    """Empirical (optionally weighted) CDF: sorted distinct finite values and cumulative shares.

    Parameters
    ----------
    values : array_like
        Any shape; flattened.
    weights : array_like, optional
        Non-negative, broadcastable to ``values`` (e.g. population). Default 1.
    nan : {'inf', 'drop', 'raise'}
        NaN values (e.g. no path): ``'inf'`` counts them as +infinity, so the CDF stops below 1 at
        the reachable share; ``'drop'`` leaves them out; ``'raise'`` raises.

    Returns
    -------
    x : ndarray
        Distinct finite values, sorted.
    F : ndarray
        ``F[i]`` = weighted share of all values ``<= x[i]`` (non-decreasing).
    top : float
        ``F`` at the largest finite value: the share of finite values (1 unless NaN counted as infinite).

    Examples
    --------
    >>> x, F, top = weighted_ecdf([3.0, 1.0, np.nan, 2.0])
    >>> x.tolist(), F.tolist(), top
    ([1.0, 2.0, 3.0], [0.25, 0.5, 0.75], 0.75)
    """
    v, w = _sorted(values, weights, nan)
    total = w.sum()
    if v.size == 0 or not total > 0:
        raise OrbitlatError("no values with positive weight to build a CDF from.")
    F = np.cumsum(w) / total
    fin = np.isfinite(v)
    x, F = v[fin], F[fin]
    if x.size:  # one point per distinct value (the top of each step)
        last = np.r_[x[1:] != x[:-1], True]
        x, F = x[last], F[last]
    top = float(F[-1]) if F.size else 0.0
    return x, F, top
