"""orbitlat.stats: the one weighted-quantile definition.

Reference: Hyndman & Fan (1996), "Sample quantiles in statistical packages", The American
Statistician 50(4), definition 5 (Hazen, p_k = (k - 1/2)/n), which numpy implements as
``method="hazen"``; with weights, value k sits at the middle of its own share of the total weight.
Tolerances: 1e-12 relative (the same arithmetic up to summation order).
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orbitlat.errors import OrbitlatError
from orbitlat.stats import weighted_ecdf, weighted_quantile

finite = st.floats(-1e6, 1e6, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=1, max_size=40), st.floats(0.0, 1.0))
def test_equal_weights_are_numpys_hazen(values, q):
    v = np.array(values)
    assert weighted_quantile(v, None, q) == pytest.approx(np.quantile(v, q, method="hazen"), rel=1e-12, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(finite, st.floats(0.01, 100.0)), min_size=1, max_size=30), st.floats(0.01, 1e3))
def test_scale_invariant_monotone_and_bounded(pairs, scale):
    v = np.array([p[0] for p in pairs])
    w = np.array([p[1] for p in pairs])
    qs = np.linspace(0, 1, 11)
    a = weighted_quantile(v, w, qs)
    np.testing.assert_allclose(a, weighted_quantile(v, w * scale, qs), rtol=1e-9, atol=1e-9)
    assert np.all(np.diff(a) >= -1e-9) and a.min() >= v.min() and a.max() <= v.max()


def test_weights_a_worked_example_and_nan_policies():
    # positions 3/8 and 7/8: 1 + (0.5 - 3/8) / (7/8 - 3/8) * (10 - 1) = 3.25
    assert weighted_quantile([1.0, 10.0], [3, 1], 0.5) == 3.25
    v = [1.0, 2.0, np.nan, np.nan]
    assert weighted_quantile(v, None, 0.5) == 1.5                      # dropped: median of {1, 2}
    assert weighted_quantile(v, None, 0.25, nan="inf") == 1.5          # positions 1/8, 3/8 finite
    assert weighted_quantile(v, None, 0.5, nan="inf") == np.inf
    assert np.isnan(weighted_quantile([np.nan], None, 0.5))
    with pytest.raises(OrbitlatError, match="NaN"):
        weighted_quantile(v, None, 0.5, nan="raise")
    with pytest.raises(OrbitlatError, match=r"within \[0, 1\]"):
        weighted_quantile([1.0], None, 50)
    with pytest.raises(OrbitlatError, match="finite and >= 0"):
        weighted_quantile([1.0, 2.0], [1.0, -1.0], 0.5)


def test_ecdf_counts_nan_as_unreachable():
    x, F, top = weighted_ecdf([3.0, 1.0, np.nan, 2.0], [1, 1, 2, 0])
    assert x.tolist() == [1.0, 3.0] and F.tolist() == [0.25, 0.5] and top == 0.5
