"""Calibrating terrestrial models on measured RTTs, with honest (cross-validated) error.

Owns :func:`load_pairs` (RIPE Atlas country-pair RTTs joined to one point per country, with the
exclusions counted), :func:`fit` (log-L1 fit of residual stretch and overhead, and for the routed
model its land factor on a grid) and :func:`cross_validate` (country-grouped K-fold: fit on pairs
whose two countries are both in the training folds, score the pairs of the held-out countries),
reporting median absolute error overall and by great-circle band for the routed model and the
simple stretch model side by side. Imports the terrestrial models and ground.

Why these choices (see ``docs/references.md``, section "Terrestrial network")
------------------------------------------------------------------------------
* RIPE Atlas country pairs aggregate many probes in each country pinging targets in the other;
  ``rtt_min`` (the best pair of probes) is the measurement closest to propagation along a
  well-connected route, ``rtt_avg`` mixes in last-mile and queueing delay of every probe. The
  models describe a well-connected fiber route plus a fixed overhead, so they are fitted on
  ``rtt_min`` (``target=`` selects another column).
* A country is one point: its capital (GeoNames), or ``points="population"`` for the
  population-weighted centroid of its cities. Pairs whose ``rtt_min`` is below the vacuum
  speed-of-light bound between the two points cannot be explained by any route (mislocated probes,
  anycast targets) and are excluded, as are same-country pairs and codes without coordinates.
* The fit minimises mean ``|ln(model / measured)|``: a factor of two too high or too low weigh the
  same, and the error reported is ``|model - measured| / measured``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.constants import C_KM_S, FIBER_GROUP_INDEX
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["load_pairs", "fit", "cross_validate", "BANDS_KM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Great-circle bands of the error report, km.
BANDS_KM = ((0.0, 1000.0), (1000.0, 3000.0), (3000.0, 8000.0), (8000.0, 21000.0))
#: Land factors tried by the routed fit.
LAND_FACTORS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.2, 2.5)
#: Pairs whose country point lies farther than this from every graph node are not scored.
MAX_ATTACH_KM = 1500.0


def load_pairs(path: str | Path, *, points: str = "capital", target: str = "rtt_min",
               bound: str = "fiber") -> tuple[pd.DataFrame, dict]:
    """Country pairs with a point per country, the target RTT and the great circle; and the exclusions.

    Returns
    -------
    (pandas.DataFrame, dict)
        Columns ``cty1, cty2, lat1, lon1, lat2, lon2, gc_km, rtt_ms`` (the ``target`` column), and
        ``{"pairs_in_file": n, "excluded": {reason: count}}``.
    """
    from orbitlat.latency.terrestrial.simple import country_points, great_circle_km

    p = Path(path)
    if not p.exists():
        raise OrbitlatError(f"calibration file {p} does not exist; pass the RIPE Atlas country-pair CSV.")
    df = pd.read_csv(p, keep_default_na=False, na_values=[""])  # "NA" is Namibia
    need = {"cty1", "cty2", target}
    if not need <= set(df.columns):
        raise OrbitlatError(f"{p}: expected columns {sorted(need)}; found {list(df.columns)}.")
    info = {"pairs_in_file": int(len(df)), "excluded": {}}
    # the file lists each pair in both orders (same values): keep one row per unordered pair
    key = np.where(df["cty1"] < df["cty2"], df["cty1"] + "-" + df["cty2"], df["cty2"] + "-" + df["cty1"])
    dup = pd.Series(key).duplicated().to_numpy()
    info["excluded"]["second listing of an unordered pair"] = int(dup.sum())
    df = df[~dup]
    pts = country_points(points)
    same = df["cty1"] == df["cty2"]
    info["excluded"]["same country"] = int(same.sum())
    df = df[~same]
    known = df["cty1"].isin(pts.index) & df["cty2"].isin(pts.index)
    info["excluded"]["no coordinates for a code"] = int((~known).sum())
    df = df[known]
    a, b = pts.loc[df["cty1"]], pts.loc[df["cty2"]]
    out = pd.DataFrame({"cty1": df["cty1"].to_numpy(), "cty2": df["cty2"].to_numpy(),
                        "lat1": a["lat_deg"].to_numpy(), "lon1": a["lon_deg"].to_numpy(),
                        "lat2": b["lat_deg"].to_numpy(), "lon2": b["lon_deg"].to_numpy(),
                        "rtt_ms": df[target].to_numpy(np.float64)})
    out["gc_km"] = great_circle_km(out["lat1"], out["lon1"], out["lat2"], out["lon2"])
    if bound not in ("fiber", "vacuum"):
        raise OrbitlatError(f"bound={bound!r}: use 'fiber' or 'vacuum'.")
    n = FIBER_GROUP_INDEX if bound == "fiber" else 1.0
    lim = 2.0 * out["gc_km"] * n / C_KM_S * 1000.0
    ok = (out["rtt_ms"] > 0) & (out["rtt_ms"] >= lim)
    info["excluded"][f"{target} below the {bound} great-circle bound"] = int((~ok).sum())
    return out[ok].reset_index(drop=True), info


def _fit_so(base: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(stretch, overhead_ms, loss) minimising mean |ln((s·base + o)/y)|, s > 0, o >= 0 (Nelder–Mead)."""
    from scipy.optimize import minimize

    def loss(x):
        s, o = x
        if s <= 0 or o < 0:
            return 1e9
        return float(np.mean(np.abs(np.log((s * base + o) / y))))

    best = None
    for x0 in ([1.5, 5.0], [1.0, 15.0]):
        r = minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000})
        if best is None or r.fun < best.fun:
            best = r
    return float(best.x[0]), float(best.x[1]), float(best.fun)


def _route_km(pairs: pd.DataFrame, land_factor: float, graph=None) -> np.ndarray:
    from orbitlat.latency.terrestrial.routed import RoutedModel

    m = RoutedModel(land_factor=land_factor, max_attach_km=np.inf, graph=graph)
    return np.asarray(m.path_km(pairs["lat1"].to_numpy(), pairs["lon1"].to_numpy(), pairs["lat2"].to_numpy(),
                                pairs["lon2"].to_numpy()), dtype=np.float64)


@accepts_units
def fit(pairs: pd.DataFrame, model: str = "routed", *, route_km: dict | None = None,
        land_factors=LAND_FACTORS) -> dict[str, float]:
    """Fit a model's constants on ``pairs`` (from :func:`load_pairs`).

    ``model="simple"``: stretch and overhead on the great circle. ``model="routed"``: residual
    stretch and overhead on the shortest route, for each land factor in ``land_factors``; the one
    with the lowest loss wins. ``route_km`` may hold precomputed route lengths per land factor
    (arrays aligned with ``pairs``).
    """
    y = pairs["rtt_ms"].to_numpy(np.float64)
    v = C_KM_S / FIBER_GROUP_INDEX
    if model == "simple":
        s, o, loss = _fit_so(2.0 * pairs["gc_km"].to_numpy() / v * 1000.0, y)
        return {"stretch": s, "overhead_ms": o, "loss": loss}
    if model != "routed":
        raise OrbitlatError(f"model={model!r}: use 'routed' or 'simple'.")
    best = None
    for lf in land_factors:
        L = route_km[lf] if route_km is not None else _route_km(pairs, lf)
        s, o, loss = _fit_so(2.0 * L / v * 1000.0, y)
        if best is None or loss < best["loss"]:
            best = {"residual_stretch": s, "overhead_ms": o, "land_factor": float(lf), "loss": loss}
    return best


def _predict(params: dict, model: str, gc_km: np.ndarray, L_by_lf: dict) -> np.ndarray:
    v = C_KM_S / FIBER_GROUP_INDEX
    if model == "simple":
        return 2.0 * gc_km * params["stretch"] / v * 1000.0 + params["overhead_ms"]
    L = L_by_lf[params["land_factor"]]
    return 2.0 * L * params["residual_stretch"] / v * 1000.0 + params["overhead_ms"]


def _summary(err_pct: np.ndarray, gc_km: np.ndarray) -> dict[str, Any]:
    ae = np.abs(err_pct)
    out = {"median_abs_pct_error": float(np.median(ae)), "p75_abs_pct_error": float(np.percentile(ae, 75)),
           "p90_abs_pct_error": float(np.percentile(ae, 90)), "median_signed_pct_error": float(np.median(err_pct)),
           "pairs": int(ae.size)}
    bands = {}
    for lo, hi in BANDS_KM:
        m = (gc_km >= lo) & (gc_km < hi)
        bands[f"{lo:.0f}-{hi:.0f}"] = {"pairs": int(m.sum()),
                                       "median_abs_pct_error": float(np.median(ae[m])) if m.any() else np.nan}
    m = gc_km >= 3000.0
    out["above_3000km_median_abs_pct_error"] = float(np.median(ae[m])) if m.any() else np.nan
    out["by_band"] = bands
    return out


def cross_validate(path: str | Path, *, points: str = "capital", target: str = "rtt_min", bound: str = "fiber",
                   folds: int = 5, seed: int = 0, graph=None, land_factors=LAND_FACTORS) -> dict[str, Any]:
    """Country-grouped K-fold cross-validation of the routed and simple models, side by side.

    Countries are shuffled (``seed``) into ``folds`` groups. For fold ``f`` both models are fitted
    on the pairs whose two countries lie outside ``f`` and predict every pair with a country in
    ``f`` (a pair whose countries fall in two folds is predicted by the lower-numbered one, whose
    training set excluded it). The out-of-fold predictions are scored against the measurement.

    Returns
    -------
    dict
        ``routed`` and ``simple``: out-of-fold summaries (``median_abs_pct_error``, ``by_band``,
        ``above_3000km_median_abs_pct_error``, percentiles), ``fit_all`` (each model fitted on all
        pairs: the package defaults), ``in_sample`` summaries of those fits, ``pairs_used``,
        ``pairs_in_file``, ``excluded``, ``table`` (per pair: countries, km, measured, both
        out-of-fold predictions) and the settings.
    """
    pairs, info = load_pairs(path, points=points, target=target, bound=bound)
    # attachment distance of each country point (routes from a point far from the graph are not modelled)
    from orbitlat.latency.terrestrial.routed import TerrestrialGraph

    g = graph if graph is not None else TerrestrialGraph.builtin()
    _, k1 = g.nearest(pairs["lat1"].to_numpy(), pairs["lon1"].to_numpy(), 1)
    _, k2 = g.nearest(pairs["lat2"].to_numpy(), pairs["lon2"].to_numpy(), 1)
    far = (k1[:, 0] > MAX_ATTACH_KM) | (k2[:, 0] > MAX_ATTACH_KM)
    info["excluded"][f"a country point > {MAX_ATTACH_KM:g} km from the graph"] = int(far.sum())
    pairs = pairs[~far].reset_index(drop=True)
    L = {lf: _route_km(pairs, lf, graph) for lf in land_factors}
    y = pairs["rtt_ms"].to_numpy(np.float64)
    gc = pairs["gc_km"].to_numpy(np.float64)
    countries = np.array(sorted(set(pairs["cty1"]) | set(pairs["cty2"])))
    rng = np.random.default_rng(seed)
    fold_of = dict(zip(countries[rng.permutation(countries.size)], np.arange(countries.size) % folds))
    f1 = pairs["cty1"].map(fold_of).to_numpy()
    f2 = pairs["cty2"].map(fold_of).to_numpy()
    test_fold = np.minimum(f1, f2)
    pred = {"routed": np.full(y.size, np.nan), "simple": np.full(y.size, np.nan)}
    fold_params = {"routed": [], "simple": []}
    for f in range(folds):
        train = (f1 != f) & (f2 != f)
        test = test_fold == f
        if not train.any() or not test.any():
            continue
        for model in ("routed", "simple"):
            sub = pairs[train]
            prm = fit(sub, model, route_km={lf: L[lf][train] for lf in land_factors}, land_factors=land_factors)
            fold_params[model].append(prm)
            pred[model][test] = _predict(prm, model, gc[test], {lf: L[lf][test] for lf in land_factors})
    out: dict[str, Any] = {"points": points, "target": target, "folds": folds, "seed": seed,
                           "pairs_in_file": info["pairs_in_file"], "excluded": info["excluded"],
                           "pairs_used": int(y.size), "fold_params": fold_params}
    fit_all, in_sample = {}, {}
    for model in ("routed", "simple"):
        out[model] = _summary((pred[model] - y) / y * 100.0, gc)
        fit_all[model] = fit(pairs, model, route_km=L, land_factors=land_factors)
        in_sample[model] = _summary((_predict(fit_all[model], model, gc, L) - y) / y * 100.0, gc)
    out["fit_all"], out["in_sample"] = fit_all, in_sample
    out["table"] = pd.DataFrame({"cty1": pairs["cty1"], "cty2": pairs["cty2"], "gc_km": gc, "measured_ms": y,
                                 "routed_ms": pred["routed"], "simple_ms": pred["simple"],
                                 "route_km": L[fit_all["routed"]["land_factor"]]})
    return out
