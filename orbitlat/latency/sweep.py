"""Design sweeps: how many orbital data centres, and where, to beat a terrestrial campus.

A :class:`Design` is one way to put compute in orbit, built from a few numbers:

``kind="clusters"``
    ``n_clusters`` Suncatcher-like clusters (``cluster_size`` satellites each, within ~1 km) spread
    over ``planes`` orbital planes at ``altitude_km`` and ``inc_deg`` (a number, or ``"sso"`` for a
    sun-synchronous plane whose ascending node is at ``ltan_hours`` local time; several SSO planes
    are spread over 12 h of node time from there, several inclined planes over 360° of RAAN).
``kind="dedicated"``
    A compute constellation of ``planes`` x ``per_plane`` satellites with the same orbit parameters.
``kind="on_relays"``
    Compute on ``share`` of the relay satellites (spread evenly through every shell).

:func:`sweep` runs :func:`orbitlat.latency.nearest_compute` for each design (users reach the nearest
compute node directly or through the relays' ISLs; laser links as built) and returns one row per
design (:func:`design_row`, the same numbers one run gives):

- ``satellites``: compute satellites the design needs (members of every cluster, or relays with compute);
- ``p50_ms``, ``p95_ms``, ``p99_ms``: population-weighted percentiles of the RTT over every (step, user)
  sample, unreachable samples counting as infinitely slow (so ``inf`` where more than 1 - q of the
  people-time has no path);
- ``people_faster``: share of people whose median RTT over the span beats the terrestrial RTT to the
  data centre (default Stargate, Abilene); ``time_faster``: share of people-time that does;
- ``people_faster_nearest_dc``, ``time_faster_nearest_dc``, ``nearest_dc_p50_ms``: the same against each
  user's best built-in data centre (Stargate and 26 cloud regions), the baseline a skeptic asks for;
- ``served``: share of people-time with any path; ``worst_region`` and ``worst_region_p50_ms``: the
  continent with the highest population-weighted median;
- ``sunlit_fraction`` and ``longest_eclipse_min``: power, over a year sampled every
  ``sunlight_sample_days`` days, for up to 12 representative compute satellites
  (:func:`orbitlat.visibility.sunlight.sunlit_fraction_over_year`).

:func:`answer` reads the table for the question "how many, and where, to beat Stargate for 50 / 90 /
99 % of people": per kind, the design with the fewest satellites that reaches each share.

Like for like: the satellite RTTs carry the calibrated access overhead by default (``overhead=``, as
every satellite scenario; :mod:`orbitlat.latency.overhead`) and the terrestrial RTTs the terrestrial
model's own fitted overhead; the table's attrs state both, so a comparison never mixes a
measured-grade model with a physics-only one silently (``overhead="none"`` for physics studies).

>>> ds = designs("clusters", n_clusters=[1, 4], planes=[1], altitude_km=[650.0])
>>> [d.label for d in ds]
['clusters 1x81 in 1 plane(s), 650 km sso LTAN 18h', 'clusters 4x81 in 1 plane(s), 650 km sso LTAN 18h']
"""
from __future__ import annotations

import itertools
import time as _time
from dataclasses import dataclass, fields
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.latency.placements import Clusters, Dedicated, OnRelays, Placement
from orbitlat.units import accepts_units

__all__ = ["Design", "designs", "sweep", "design_row", "answer", "KINDS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

KINDS = ("clusters", "dedicated", "on_relays")
#: Representative satellites per design for the sunlight figures (the rest share their orbits' light).
_SUN_REPS = 12


@dataclass(frozen=True)
class Design:
    """One compute placement described by a few numbers (see the module docs)."""

    kind: str = "clusters"
    n_clusters: int = 1
    planes: int = 1
    per_plane: int = 1
    altitude_km: float = 650.0
    inc_deg: Any = "sso"
    ltan_hours: float = 18.0
    cluster_size: int = 81
    share: float = 1.0

    def __post_init__(self):
        from orbitlat.units import convert_fields

        if not isinstance(self.inc_deg, str):
            convert_fields(self)
        else:
            convert_fields(self, skip=("inc_deg",))
        if self.kind not in KINDS:
            raise OrbitlatError(f"kind={self.kind!r} is not a design kind; use one of {', '.join(KINDS)}.")
        for name in ("n_clusters", "planes", "per_plane", "cluster_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise OrbitlatError(f"{name}={v!r} must be a whole number >= 1.")
        if self.kind == "clusters" and self.n_clusters % self.planes:
            raise OrbitlatError(f"n_clusters={self.n_clusters} cannot be spread evenly over planes={self.planes}; "
                                "give a number of clusters that the planes divide.")
        if not (isinstance(self.altitude_km, (int, float, np.integer, np.floating)) and 160 <= self.altitude_km <= 40000):
            raise OrbitlatError(f"altitude_km={self.altitude_km!r} must be a number of km in [160, 40,000].")
        if not (self.inc_deg == "sso" or isinstance(self.inc_deg, (int, float, np.integer, np.floating))
                and 0 <= float(self.inc_deg) <= 180):
            raise OrbitlatError(f"inc_deg={self.inc_deg!r} must be 'sso' or degrees in [0, 180].")
        if not 0.0 <= float(self.ltan_hours) < 24.0:
            raise OrbitlatError(f"ltan_hours={self.ltan_hours!r} must be in [0, 24) hours (18: dawn-dusk).")
        if not 0.0 < float(self.share) <= 1.0:
            raise OrbitlatError(f"share={self.share!r} must be a fraction in (0, 1] of the relays.")

    @property
    def label(self) -> str:
        orbit = f"{self.altitude_km:g} km " + (f"sso LTAN {self.ltan_hours:g}h" if self.inc_deg == "sso"
                                              else f"{float(self.inc_deg):g}°")
        if self.kind == "clusters":
            return f"clusters {self.n_clusters}x{self.cluster_size} in {self.planes} plane(s), {orbit}"
        if self.kind == "dedicated":
            return f"dedicated {self.planes}x{self.per_plane}, {orbit}"
        pct = f"{100 * float(self.share):.3g}"
        return f"compute on {pct}% of relays"

    def satellites(self, relays=None) -> int:
        """Compute satellites the design needs."""
        if self.kind == "clusters":
            return self.n_clusters * self.cluster_size
        if self.kind == "dedicated":
            return self.planes * self.per_plane
        if relays is None:
            raise OrbitlatError("an on_relays design counts relay satellites: give the relays.")
        return int(OnRelays(share=self.share).compute_relays(relays).size)

    def _centres(self, total: int, epoch):
        """``total`` satellites in ``planes`` planes (the cluster centres, or the dedicated constellation)."""
        from orbitlat.orbits import sso, walker

        name = f"design-{self.kind}"
        if self.inc_deg == "sso":
            return sso.sun_synchronous(self.altitude_km, ltan_hours=self.ltan_hours, planes=self.planes,
                                       sats_per_plane=total // self.planes, phasing=1 % self.planes, epoch=epoch,
                                       shell=f"{name}-{self.altitude_km:g}/sso", name=name)
        from orbitlat.orbits.constellation import DEFAULT_EPOCH

        raan0 = sso.raan_for_ltan_deg(self.ltan_hours, DEFAULT_EPOCH if epoch is None else epoch)
        return walker.walker_delta(float(self.inc_deg), total, self.planes, 1 % self.planes,
                                   altitude_km=self.altitude_km, raan0_deg=raan0, epoch=epoch,
                                   shell=f"{name}-{self.altitude_km:g}/{float(self.inc_deg):g}", name=name)

    def placement(self, *, epoch=None, **rules) -> Placement:
        """The :mod:`~orbitlat.latency.placements` placement of this design (``rules``: terminals, direct ...)."""
        from orbitlat.orbits.cluster import compact_cluster

        if self.kind == "on_relays":
            return OnRelays(share=float(self.share), **rules)
        if self.kind == "dedicated":
            return Dedicated(self._centres(self.planes * self.per_plane, epoch), **rules)
        centres = self._centres(self.n_clusters, epoch)
        clusters = [compact_cluster(self.cluster_size, radius_km=1.0, reference=centres[k], name=f"cluster-{k}",
                                    shell=f"cluster-{k}") for k in range(centres.size)]
        return Clusters(clusters, **rules)

    def representatives(self, relays=None, epoch=None):
        """Up to 12 compute satellites standing for the design's orbits (for the sunlight figures)."""
        if self.kind == "on_relays":
            idx = OnRelays(share=self.share).compute_relays(relays)
            return relays[idx[np.unique(np.linspace(0, idx.size - 1, min(_SUN_REPS, idx.size)).astype(int))]]
        total = self.n_clusters if self.kind == "clusters" else self.planes * self.per_plane
        c = self._centres(total, epoch)
        # one satellite per plane first (planes differ in light), then spread
        t = c.table
        first = t.groupby("plane", sort=True).head(1).index.to_numpy()
        pick = first[np.unique(np.linspace(0, first.size - 1, min(_SUN_REPS, first.size)).astype(int))]
        return c[pick]

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def designs(kind: str = "clusters", **axes: Sequence[Any]) -> list[Design]:
    """Every combination of the given parameter values (a full factorial), as :class:`Design` objects.

    Combinations a design cannot take (clusters the planes do not divide) are skipped.

    >>> len(designs("dedicated", planes=[6, 12], per_plane=[10, 20], altitude_km=[550.0, 1100.0]))
    8
    """
    names = [f.name for f in fields(Design)]
    bad = sorted(set(axes) - set(names))
    if bad:
        raise OrbitlatError(f"unknown design parameter(s) {bad}; a Design takes {', '.join(names[1:])}.")
    keys = list(axes)
    vals = [list(v) if isinstance(v, (list, tuple, np.ndarray, range)) else [v] for v in axes.values()]
    out = []
    for combo in itertools.product(*vals):
        kw = dict(zip(keys, combo))
        if kind == "clusters" and kw.get("n_clusters", 1) % kw.get("planes", 1):
            continue
        out.append(Design(kind=kind, **kw))
    if not out:
        raise OrbitlatError("no valid design in that grid (clusters must divide evenly over the planes).")
    return out


# =============================================================================
# one row per design
# =============================================================================
def _pooled_quantiles(rtt: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> list[float]:
    """Weighted quantiles of (step, user) samples with NaN (no path) counted as +inf
    (:func:`orbitlat.stats.weighted_quantile`, ``nan="inf"``: the one definition of every table)."""
    from orbitlat.stats import weighted_quantile

    W = np.broadcast_to(w, rtt.shape)
    if W.sum() <= 0:
        return [float("nan")] * len(qs)
    return [float(x) for x in np.atleast_1d(weighted_quantile(rtt, W, np.asarray(qs, float), nan="inf"))]


def _faster(rtt: np.ndarray, user_med: np.ndarray, terr: np.ndarray, pop: np.ndarray) -> tuple[float, float, float]:
    """Shares of people (median over the span) and of people-time faster than ``terr``, and the
    terrestrial population-weighted median, over the users the terrestrial model reaches."""
    comparable = np.isfinite(terr)
    wc = np.where(comparable, pop, 0.0)
    wc = wc / wc.sum() if wc.sum() > 0 else wc
    people = float((wc * (user_med < terr)).sum())
    with np.errstate(invalid="ignore"):
        time = float(((np.where(np.isfinite(rtt), rtt, np.inf) < terr[None, :]) * wc[None, :]).sum() / rtt.shape[0])
    p50 = float(_pooled_quantiles(terr[None, comparable], pop[comparable][None, :], (0.5,))[0]) \
        if comparable.any() else float("nan")
    return people, time, p50


@accepts_units
def design_row(result, *, design: Design | None = None, relays=None, sunlight: dict | None = None,
               nearest_terrestrial_ms: np.ndarray | None = None) -> dict:
    """The sweep's row for one :func:`orbitlat.latency.nearest_compute` result (see the module docs).

    ``nearest_terrestrial_ms`` (per user): a second terrestrial baseline, each user's best of
    several data centres (:func:`sweep` passes every built-in one), giving the ``*_nearest_dc``
    columns.
    """
    ds = result.rtt
    rtt = ds["rtt_ms"].isel(dst=0).to_numpy()  # (time, user)
    terr = ds["terrestrial_rtt_ms"].to_numpy()
    pop = ds["population"].to_numpy().astype(float)
    pop = np.where(np.isfinite(pop) & (pop > 0), pop, 0.0)
    if pop.sum() <= 0:
        pop = np.ones_like(pop)
    w = pop / pop.sum()
    p50, p95, p99 = _pooled_quantiles(rtt, w[None, :], (0.5, 0.95, 0.99))
    served = float((np.isfinite(rtt) * w[None, :]).sum() / rtt.shape[0])
    # each user's median over the span, no path counted as infinitely slow (equal weights: Hazen = the median)
    user_med = np.median(np.where(np.isfinite(rtt), rtt, np.inf), axis=0)
    people_faster, time_faster, terr_p50 = _faster(rtt, user_med, terr, pop)
    regions = ds["region"].to_numpy()
    worst, worst_p50 = "", float("nan")
    for reg in np.unique(regions):  # a handful of continents
        m = regions == reg
        if pop[m].sum() <= 0:
            continue
        v = _pooled_quantiles(rtt[:, m], pop[m][None, :], (0.5,))[0]
        if not np.isfinite(worst_p50) or v > worst_p50:
            worst, worst_p50 = str(reg), v
    row = {}
    if design is not None:
        row.update({"design": design.label, **design.as_dict(), "satellites": design.satellites(relays)})
    row.update({"compute_nodes": int(ds.attrs.get("n_compute_nodes", -1)), "p50_ms": p50, "p95_ms": p95,
                "p99_ms": p99, "people_faster": people_faster, "time_faster": time_faster, "served": served,
                "worst_region": worst, "worst_region_p50_ms": worst_p50, "terrestrial_p50_ms": terr_p50})
    if nearest_terrestrial_ms is not None:
        pn, tn, p50n = _faster(rtt, user_med, np.asarray(nearest_terrestrial_ms, dtype=float), pop)
        row.update({"people_faster_nearest_dc": pn, "time_faster_nearest_dc": tn, "nearest_dc_p50_ms": p50n})
    row.update(sunlight or {"sunlit_fraction": float("nan"), "longest_eclipse_min": float("nan")})
    return row


def _sunlight(design: Design, relays, start, sample_days: int, step) -> dict:
    from orbitlat.visibility.sunlight import sunlit_fraction_over_year

    reps = design.representatives(relays)
    y = sunlit_fraction_over_year(reps, start, sample_days=sample_days, step=step)
    return {"sunlit_fraction": float(y.sunlit_fraction),
            "longest_eclipse_min": float(y.daily["max_eclipse_s"].max()) / 60.0}


@accepts_units(skip=("sunlight_sample_days",))
def sweep(items: Iterable[Design], users=None, relays: Any = "starlink_gen1", *, start: Any = "2026-01-01",
          duration: Any = "1d", step: Any = "5min", overhead: Any = None, delays: Any = None,
          datacenter: Any = "stargate",
          fiber: Any = None, min_elevation_deg: float = 25.0, terminals: int | None = 4,
          relay_terminals: int | None = 1, direct: bool = True, sunlight_sample_days: int | None = 30,
          sunlight_step: Any = "60s", nearest_datacenters: bool = True, progress: Any = None,
          **kwargs) -> pd.DataFrame:
    """One row per design: RTT percentiles, shares faster than the terrestrial data centre, power, satellites.

    Parameters
    ----------
    items : iterable of Design
        From :func:`designs` (or built by hand).
    users : GroundSites, optional
        Default: the 1,000 most populous cities, weighted by population.
    relays : Constellation, preset name or None
        The relay network users and compute nodes link through (None: direct links only).
    start, duration, step
        The routing span.
    overhead, delays
        The satellite side's named delays, as in :func:`orbitlat.latency.nearest_compute` (default the
        calibrated access overhead, like for like with the terrestrial model's own overhead).
    datacenter, fiber
        The terrestrial comparison (default Stargate over the routed terrestrial model).
    nearest_datacenters : bool
        Also compare every user with its best built-in data centre (Stargate and 26 cloud regions,
        :meth:`orbitlat.ground.sites.GroundSites.datacenters`) over the same terrestrial model: the
        ``people_faster_nearest_dc``, ``time_faster_nearest_dc`` and ``nearest_dc_p50_ms`` columns
        (a skeptic's baseline: compute near the user on the ground, not one campus).
    terminals, relay_terminals, direct
        Link rules of every placement (:mod:`orbitlat.latency.placements`).
    sunlight_sample_days : int or None
        Power figures from every n-th day of a year from ``start`` (None: skip them).
    progress : callable, optional
        Called as ``progress(i, n, design)`` before each design.
    **kwargs
        Passed to :func:`orbitlat.latency.nearest_compute` (isl, gsl_rule, backend ...).

    Returns
    -------
    pandas.DataFrame
        Indexed by design label; ``attrs`` name the span, users, delays and terrestrial model.
    """
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency._inputs import _constellation
    from orbitlat.latency.compute import _default_users, nearest_compute
    from orbitlat.orbits.constellation import DEFAULT_EPOCH

    items = list(items)
    if not items:
        raise OrbitlatError("sweep needs at least one Design (see orbitlat.latency.sweep.designs).")
    for d in items:
        if not isinstance(d, Design):
            raise OrbitlatError(f"sweep takes Design objects; got {type(d).__name__}.")
    rel = None if relays is None else _constellation(relays)
    if any(d.kind == "on_relays" for d in items) and rel is None:
        raise OrbitlatError("on_relays designs put compute on the relays: give relays=.")
    users_s = _default_users(users)
    rules = {"terminals": terminals, "relay_terminals": relay_terminals, "direct": direct}
    nearest_terr = None
    if nearest_datacenters:
        from orbitlat.latency.assembly import terrestrial_matrix
        from orbitlat.latency.terrestrial.base import terrestrial_model

        m, _ = terrestrial_matrix(terrestrial_model(fiber), users_s, GroundSites.datacenters())
        nearest_terr = np.where(np.isnan(m), np.inf, m).min(axis=1)
        nearest_terr[~np.isfinite(nearest_terr)] = np.nan
    rows, t0 = [], _time.perf_counter()
    epoch = rel.table["epoch"].max() if rel is not None else DEFAULT_EPOCH
    last = None
    for i, d in enumerate(items):
        if progress is not None:
            progress(i, len(items), d)
        res = nearest_compute(d.placement(epoch=epoch, **rules), users_s, rel, start=start, duration=duration,
                              step=step, overhead=overhead, delays=delays, datacenter=datacenter, fiber=fiber,
                              min_elevation_deg=min_elevation_deg, **kwargs)
        sun = _sunlight(d, rel, start, sunlight_sample_days, sunlight_step) if sunlight_sample_days else None
        rows.append(design_row(res, design=d, relays=rel, sunlight=sun, nearest_terrestrial_ms=nearest_terr))
        last = res
    table = pd.DataFrame(rows).set_index("design")
    a = last.rtt
    table.attrs = {
        "start": str(start), "duration": str(duration), "step": str(step), "users": len(users_s),
        "population": float(np.nansum(users_s.population)), "relays": rel.name if rel is not None else "none",
        "satellite_delays": a["rtt_ms"].attrs.get("delays_included", "")
        + (f" ({a.attrs['overhead_source']})" if "overhead_source" in a.attrs else ""),
        "overhead": str(a.attrs.get("overhead", "")),
        "satellite_rtt": a["rtt_ms"].attrs.get("long_name", ""),
        "terrestrial": a["terrestrial_rtt_ms"].attrs.get("long_name", ""),
        "terrestrial_model": str(a["terrestrial_rtt_ms"].attrs.get("terrestrial_model", "")),
        "terrestrial_delays": str(a["terrestrial_rtt_ms"].attrs.get("terrestrial_delays", ""))
        + (f" ({a['terrestrial_rtt_ms'].attrs['terrestrial_overhead_ms']:g} ms)"
           if "terrestrial_overhead_ms" in a["terrestrial_rtt_ms"].attrs else ""),
        "links": ", ".join(f"{k}={v}" for k, v in rules.items()),
        "nearest_datacenters": (f"each user's best of the {len(GroundSites.datacenters())} built-in data centres "
                                "(Stargate and cloud regions) over the same terrestrial model"
                                if nearest_datacenters else "not computed"),
        "sunlight": (f"every {sunlight_sample_days} days of a year from {start}, {sunlight_step} sampling, up to "
                     f"{_SUN_REPS} representative satellites" if sunlight_sample_days else "not computed"),
        "wall_s": round(_time.perf_counter() - t0, 1),
    }
    return table


def answer(table: pd.DataFrame, shares: Sequence[float] = (0.5, 0.9, 0.99), *, by: str = "people_faster"
           ) -> pd.DataFrame:
    """For each design kind and target share: the design with the fewest satellites whose ``by`` share
    (default ``people_faster``) reaches the target; NaN where no design in the table does (``achieved``
    then gives the best share any design of that kind reached).

    >>> t = pd.DataFrame({"kind": ["clusters"] * 2, "satellites": [81, 324], "people_faster": [0.4, 0.6],
    ...                   "p95_ms": [90.0, 70.0]}, index=["a", "b"])
    >>> answer(t, (0.5, 0.9))[["target", "design", "satellites"]].values.tolist()
    [[0.5, 'b', 324.0], [0.9, nan, nan]]
    """
    rows = []
    for kind, g in table.groupby("kind", sort=False):
        g = g.sort_values(["satellites", "p95_ms"])
        for s in shares:
            ok = g[g[by] >= s]
            if len(ok):
                best = ok.iloc[0]
                rows.append({"kind": kind, "target": s, "design": best.name, "satellites": int(best["satellites"]),
                             "achieved": float(best[by]), "p95_ms": float(best["p95_ms"])})
            else:
                rows.append({"kind": kind, "target": s, "design": None, "satellites": None,
                             "achieved": float(g[by].max()), "p95_ms": None})
    return pd.DataFrame(rows)
