"""Satellite access and hop overhead: the named delays every satellite scenario adds to propagation,
calibrated on what Starlink users measure.

Light time alone is not what a satellite user measures. Starlink reports a US median peak-hour
latency of 25.7 ms in June 2025 (33 ms in March 2024), measured "from your Starlink router to the
internet and back": the dish → satellite → gateway → point of presence (PoP) round trip, sampled
every 15 s on millions of routers (starlink.com/updates/network-update; docs/references.md,
"Satellite access overhead"). The geometry of that path at Starlink's own gateways and PoPs,
modelled with :func:`orbitlat.latency.scenarios.as_deployed` for the people of the United States,
accounts for only about 9 ms of it (8.8 ms). The rest -- scheduling on the user link (Starlink reassigns
users to satellites on a 15 s schedule), processing in the dish, satellite, gateway and PoP, and
peak-hour queueing -- is the **access overhead**, fitted as the residual by :func:`calibrate`:

==================  =======================================================================
``"none"``          propagation only (physics studies; Hypatia mode always uses this)
``"calibrated"``    ``access_ms`` = 25.7 ms (June 2025) − modelled US dish → PoP median, per
                    user terminal on the path (a city pair has two)
``"high"``          ``access_ms`` from the March 2024 median (33 ms), and 1 ms per ISL hop
==================  =======================================================================

What the figures can and cannot pin down: every US dish → PoP path crosses exactly one user
terminal and one gateway and (almost always: 0.3 % of US user-time goes over ISLs in the model) no
ISL, so the published median identifies the *sum* of the user-link and gateway overheads, not each
one; orbitlat puts the whole residual on the user terminal (``gateway_ms`` = 0: its share is
inside ``access_ms``). No public measurement isolates the processing per ISL hop: the calibrated
set assumes it negligible (forwarding in a regenerative switch takes microseconds, not
milliseconds), and the high set charges 1 ms per hop round trip as a sensitivity bound.
Third-party speed tests (Ookla) read 10-20 ms higher than Starlink's figure because they measure
to a test server beyond the PoP; :func:`~orbitlat.latency.scenarios.as_deployed` models that leg
(PoP → destination) separately, so those tests are a check, not a calibration target.

>>> resolve("calibrated").included()
'propagation, access'
>>> resolve("none").access_ms
0.0
"""
from __future__ import annotations

from typing import Any

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.latency.routing import Delays
from orbitlat.units import accepts_units

__all__ = ["MEASURED", "PUBLISHED", "CALIBRATION", "ACCESS_MS", "ACCESS_MS_HIGH", "ISL_HOP_MS_HIGH", "OVERHEADS", "resolve",
           "describe", "calibrate", "us_users"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Published Starlink latency figures used here (docs/references.md, "Satellite access overhead").
MEASURED = {
    "june_2025": {"median_ms": 25.7, "what": "US median peak-hour latency, all customers, June 2025",
                  "path": "dish -> satellite -> gateway -> PoP ('from your Starlink router to the internet and back')",
                  "source": "Starlink, 'Network update', starlink.com/updates/network-update (2025)"},
    "march_2024": {"median_ms": 33.0, "what": "US median peak-hour latency, March 2024 (48.5 ms before)",
                   "path": "dish -> satellite -> gateway -> PoP",
                   "source": "Starlink, 'Network update', starlink.com/updates/network-update (March 2024)"},
}

#: Public latency figures by country (ISO 3166-1 alpha-2), with what each measures: the report puts the
#: modelled dish -> PoP medians beside them (docs/references.md, "Satellite access overhead").
PUBLISHED = [
    {"country": "US", "value_ms": 25.7, "statistic": "median (peak hour)", "measures": "dish -> PoP, all US customers",
     "date": "June 2025", "source_short": "Starlink network update"},
    {"country": "US", "value_ms": 33.0, "statistic": "median (peak hour)", "measures": "dish -> PoP, all US customers",
     "date": "March 2024", "source_short": "Starlink network update"},
    {"country": "US", "value_ms": 47.0, "statistic": "median", "measures": "device -> Speedtest server (Maine users)",
     "date": "Oct-Dec 2024", "source_short": "Ookla"},
    {"country": "US", "value_ms": 58.0, "statistic": "mean", "measures": "to exposed Starlink hosts (Georgia users)",
     "date": "2023", "source_short": "Izhikevich et al., SIGMETRICS 2024"},
    {"country": "CA", "value_ms": 55.0, "statistic": "median", "measures": "device -> Speedtest server",
     "date": "Q1 2022", "source_short": "Ookla"},
    {"country": "BE", "value_ms": 50.0, "statistic": "median", "measures": "dish -> European RIPE Atlas anchors",
     "date": "early 2022", "source_short": "Michel et al., APNIC blog"},
    {"country": "KI", "value_ms": 65.0, "statistic": "minimum", "measures": "dish -> first NZ hop over ISLs (Tarawa)",
     "date": "April 2023", "source_short": "Speidel, bufferbloat list"},
]

#: The modelled US dish -> PoP propagation median behind the defaults (:func:`calibrate` re-derives
#: it): Starlink Gen1 preset (FCC 2021, 4,408 satellites), built-in Starlink gateways (217 sites) and
#: PoPs (23), 25° masks, nearest PoP, gateway -> PoP over the routed terrestrial model (no access
#: overhead), the people of the US on GPW v4.11's 1° cells, one day from 2026-01-01 every 10 minutes,
#: population-weighted median over (step, cell). (8.69 ms with the simple stretch model's legs.)
MODELLED_US_MEDIAN_MS = 8.81

#: Access overhead per user terminal (round trip), ms: June 2025 median minus the modelled geometry.
ACCESS_MS = round(MEASURED["june_2025"]["median_ms"] - MODELLED_US_MEDIAN_MS, 1)
#: The high variant: the March 2024 median minus the same geometry.
ACCESS_MS_HIGH = round(MEASURED["march_2024"]["median_ms"] - MODELLED_US_MEDIAN_MS, 1)
#: The high variant's processing per ISL hop (round trip), ms: an assumed bound (no measurement isolates it).
ISL_HOP_MS_HIGH = 1.0

#: Named overhead sets (``overhead=`` of every satellite scenario).
OVERHEADS = {
    "none": Delays(),
    "calibrated": Delays(access_ms=ACCESS_MS),
    "high": Delays(access_ms=ACCESS_MS_HIGH, isl_hop_ms=ISL_HOP_MS_HIGH),
}

#: Provenance of the defaults (copied into results' attrs as ``overhead_source``).
CALIBRATION = {
    "measured_ms": MEASURED["june_2025"]["median_ms"],
    "measured": MEASURED["june_2025"]["what"] + "; " + MEASURED["june_2025"]["path"] + "; "
                + MEASURED["june_2025"]["source"],
    "modelled_us_dish_to_pop_median_ms": MODELLED_US_MEDIAN_MS,
    "model": "orbitlat.latency.as_deployed, starlink_gen1 preset, built-in Starlink gateways and PoPs, 25 deg masks, "
             "nearest PoP, gateway -> PoP over the routed terrestrial model, GPW v4.11 1 deg cells of the US "
             "(people-weighted), 2026-01-01 24 h every 10 min",
    "access_ms": ACCESS_MS,
    "access_ms_high": ACCESS_MS_HIGH,
    "high": "March 2024 US median 33 ms minus the same geometry; plus 1 ms per ISL hop (assumed bound)",
    "not_identified": "gateway share (inside access_ms), per-ISL-hop processing (assumed 0 in 'calibrated')",
}


def resolve(overhead: Any) -> Delays:
    """The :class:`~orbitlat.latency.routing.Delays` of an overhead name, or a ``Delays`` / mapping as given."""
    if isinstance(overhead, Delays):
        return overhead
    if isinstance(overhead, str):
        key = overhead.strip().lower()
        if key not in OVERHEADS:
            raise OrbitlatError(f"overhead={overhead!r} is not known; use one of {', '.join(map(repr, OVERHEADS))}, "
                                "or a Delays(access_ms=..., gateway_ms=..., isl_hop_ms=...).")
        return OVERHEADS[key]
    if isinstance(overhead, dict):
        return Delays(**overhead)
    if overhead is None:
        return OVERHEADS["none"]
    raise OrbitlatError(f"overhead={overhead!r}: give 'none', 'calibrated', 'high' or a Delays.")


def describe(overhead: Any) -> dict:
    """Attrs naming an overhead choice: ``overhead`` (its name or 'custom') and ``overhead_source``."""
    name = overhead.strip().lower() if isinstance(overhead, str) else ("none" if overhead is None else "custom")
    src = {"none": "propagation only",
           "calibrated": f"access {ACCESS_MS:g} ms per user terminal = Starlink's US median {CALIBRATION['measured_ms']:g} ms "
                         f"(June 2025, dish -> PoP) - modelled geometry {MODELLED_US_MEDIAN_MS:g} ms "
                         "(orbitlat.latency.overhead; docs/references.md)",
           "high": f"access {ACCESS_MS_HIGH:g} ms (March 2024 median 33 ms - geometry) + {ISL_HOP_MS_HIGH:g} ms per ISL hop",
           }.get(name, "given by the caller")
    return {"overhead": name, "overhead_source": src}


@accepts_units
def us_users(resolution_deg: float = 1.0, *, min_elevation_deg: float = 25.0):
    """The people of the United States as users: GPW v4.11 cells whose nearest GeoNames city is in the US."""
    from orbitlat.ground.sites import GroundSites

    u = GroundSites.population_cells(resolution_deg, min_elevation_deg=min_elevation_deg)
    return u.subset(u.df["country_code"].to_numpy() == "US")


@accepts_units
def calibrate(measured_ms: float = MEASURED["june_2025"]["median_ms"], *, constellation: Any = "starlink_gen1",
              users=None, resolution_deg: float = 1.0, start: Any = "2026-01-01T00:00:00", duration: str = "24 h",
              step: str = "10 min", weights: str = "population", **kwargs) -> dict:
    """Fit the access overhead as the residual of a measured dish → PoP median over the modelled geometry.

    Models the published figure's path -- dish → satellite → gateway → PoP, Starlink's own gateways
    and PoPs, ISLs only where no satellite sees a gateway -- with propagation only
    (:func:`orbitlat.latency.scenarios.as_deployed` with ``overhead="none"``), for ``users`` (default
    :func:`us_users`: the people of the US on GPW cells), and returns the median and the residual.

    Parameters
    ----------
    measured_ms : float
        The published median (default Starlink's US June 2025 figure, 25.7 ms).
    weights : {"population", "area"}
        Median over (step, user) weighted by the users' people, or equally per cell (a proxy for
        Starlink's rural-leaning customers).
    **kwargs
        Passed to ``as_deployed`` (gateways, pops, pop_assignment, terrestrial, masks ...).

    Returns
    -------
    dict
        ``modelled_median_ms``, ``modelled_p95_ms``, ``access_ms`` (the residual), ``isl_share`` (of
        user-time), ``reachable``, ``users``, ``measured_ms`` and ``result`` (the LatencyResult).
    """
    from orbitlat.latency.results import weighted_quantile
    from orbitlat.latency.scenarios import as_deployed

    if weights not in ("population", "area"):
        raise OrbitlatError(f"weights={weights!r}: use 'population' or 'area'.")
    u = us_users(resolution_deg) if users is None else users
    res = as_deployed(constellation, u, start=start, duration=duration, step=step, overhead="none", **kwargs)
    x = res.rtt["pop_rtt_ms"].transpose("time", "src").to_numpy()
    w = res._weights() if weights == "population" else np.ones(x.shape[1])
    ww = np.broadcast_to(w[None, :], x.shape)
    p50, p95 = (float(v) for v in weighted_quantile(x, ww, [0.5, 0.95]))
    fin = np.isfinite(x)
    isl = res.rtt["isl_used"].transpose("time", "src").to_numpy()
    return {"measured_ms": float(measured_ms), "modelled_median_ms": p50, "modelled_p95_ms": p95,
            "access_ms": float(measured_ms) - p50, "users": int(x.shape[1]), "weights": weights,
            "reachable": float((ww * fin).sum() / ww.sum()),
            "isl_share": float((ww * isl).sum() / (ww * fin).sum()) if fin.any() else float("nan"),
            "result": res}
