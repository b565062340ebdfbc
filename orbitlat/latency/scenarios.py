"""Latency scenarios, one call each: bent pipe, ISLs to a terrestrial data centre, an orbital data
centre through relays, city pairs, the fiber baseline and the ISL-vs-fiber crossover distance.

Each builds a :class:`~orbitlat.latency.network.Network` and calls
:func:`orbitlat.latency.routing.route` with the scenario's endpoints; the keyword arguments go to
``route``, ``workers=`` and ``scheduler=`` included (time blocks on worker processes or a Dask
cluster, merged into the one-process result: :mod:`orbitlat.latency.blocks`).
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.latency.terrestrial.simple import FiberModel
from orbitlat.latency.terrestrial.base import terrestrial_model
from orbitlat.latency.network import Network
from orbitlat.latency._inputs import _constellation, _sites
from orbitlat.latency.results import LatencyResult
from orbitlat.latency.routing import route
from orbitlat.units import accepts_units

__all__ = ["fiber_baseline", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "city_pair_summary",
           "crossover", "as_deployed", "assign_pops", "dish_to_pop_by_country"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------
def _overhead(kwargs: dict, overhead: Any) -> dict:
    """Put the scenario's named overhead into ``kwargs["options"]``; return the attrs that name it.

    ``overhead=None`` (the default) means ``"calibrated"`` (:mod:`orbitlat.latency.overhead`) unless
    the caller passes ``options=RouteOptions(...)``, whose delays are then used as given; a name or
    a :class:`~orbitlat.latency.routing.Delays` always wins. Flat delay keywords (``access_ms=``,
    ``isl_hop_ms=`` ...) then override single fields, as in :func:`route`.
    """
    import dataclasses

    from orbitlat.latency import overhead as oh
    from orbitlat.latency.routing import RouteOptions

    opts = kwargs.get("options")
    if overhead is None and opts is not None:
        d = opts.delays
        name = next((k for k, v in oh.OVERHEADS.items() if v == d), "custom")
    else:
        name = "calibrated" if overhead is None else overhead
        d = oh.resolve(name)
        kwargs["options"] = RouteOptions(delays=d) if opts is None else dataclasses.replace(opts, delays=d)
    if any(k in kwargs for k in ("access_ms", "gateway_ms", "isl_hop_ms", "hop_delay_ms")):
        name = "custom"
    return oh.describe(name if isinstance(name, str) else "custom")


def _default_users(users):
    from orbitlat.ground.sites import GroundSites

    return GroundSites.cities(top=1000) if users is None else _sites(users, "users")

def _route_scenario(scenario: str, net, sources, destinations, overhead: Any, kwargs: dict,
                    **route_kw) -> LatencyResult:
    """Route one named scenario with its named overhead (:func:`_overhead`) and label the result."""
    named = _overhead(kwargs, overhead)
    res = route(net, sources, destinations, **route_kw, **kwargs)
    res.rtt.attrs["scenario"] = scenario
    res.rtt.attrs.update(named)
    res.attrs.update(named)
    return res


def _default_dc(datacenter):
    from orbitlat.ground.sites import GroundSites

    if datacenter is None:
        return GroundSites.datacenter("stargate")
    if isinstance(datacenter, str):
        return GroundSites.datacenter(datacenter)
    return _sites(datacenter, "datacenter")

def _colocated_gateways(dc):
    """One gateway at each data centre (the offline default)."""
    df = dc.df[["name", "lat_deg", "lon_deg", "alt_km"]].copy()
    df["name"] = df["name"].astype(str) + " gateway"
    df["kind"] = "gateway"
    return _sites(df, "gateways")

def fiber_baseline(users, datacenter=None, fiber: Any = None) -> xr.DataArray:
    """Terrestrial RTT (src, dst) from users to data centres, ms.

    ``fiber``: ``"routed"`` (default: shortest routes over cables and backbone,
    :class:`orbitlat.latency.terrestrial.RoutedModel`), ``"simple"`` (great circle × stretch,
    :class:`~orbitlat.latency.terrestrial.FiberModel`) or a model instance. attrs name the model, the
    delays it includes and its calibration; users the model cannot attach (far from any network node)
    get NaN, counted in ``terrestrial_unreachable_pairs``.
    """
    from orbitlat.latency.assembly import terrestrial_matrix

    u = _sites(users, "users")
    d = _default_dc(datacenter)
    f = terrestrial_model(fiber)
    v, attrs = terrestrial_matrix(f, u, d)
    return xr.DataArray(v, dims=("src", "dst"), coords={"src": u.names, "dst": d.names}, name="fiber_rtt_ms",
                        attrs={"units": "ms", **attrs})

@accepts_units
def bent_pipe(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
              gateway: Any = "best", min_elevation_deg: float | None = 25.0,
              gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
              max_range_km: float | None = None, overhead: Any = None, **kwargs) -> LatencyResult:
    """Users → satellite → gateway → fiber → terrestrial data centre (no ISLs).

    Parameters
    ----------
    constellation : Constellation or preset name
    users : GroundSites, optional
        Default: the 1,000 most populous cities (GeoNames; population-weighted statistics).
    datacenter : GroundSites or name, optional
        Default: Stargate, Abilene TX (``GroundSites.datacenter("stargate")``).
    gateways : GroundSites, optional
        E.g. ``GroundSites.gateways(path)``; default one gateway co-located with the data centre.
    gateway : "best", "nearest" or int
        Which gateway a user's traffic lands at (see :func:`route`).
    min_elevation_deg : float
        User terminal mask (25°, Starlink's FCC filing); None keeps each site's own.
    overhead : "calibrated", "none", "high" or Delays
        Named delays added to propagation (:mod:`orbitlat.latency.overhead`): by default the
        access overhead calibrated on Starlink's measured US median (one user terminal here);
        ``"none"`` for pure propagation. The result's attrs name it (``overhead``, ``overhead_source``).
    **kwargs
        Passed to :func:`route` (times, start, duration, step, hop_delay_ms, paths, backhaul, fiber).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl="none", gsl_rule=gsl_rule, gsl_max_range_km=max_range_km)
    return _route_scenario("bent pipe", net, _default_users(users), dc, overhead, kwargs, gateways=gw,
                           gateway_choice=gateway, min_elevation_deg=min_elevation_deg,
                           gateway_min_elevation_deg=gateway_min_elevation_deg)

@accepts_units
def via_isl(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
            isl: Any = "plus_grid", gateway_radius_km: float | None = None, min_elevation_deg: float | None = 25.0,
            gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
            max_range_km: float | None = None, network_options: dict | None = None, overhead: Any = None,
            **kwargs) -> LatencyResult:
    """Users → ISL constellation → gateway near the data centre → fiber → data centre.

    ``gateways`` default to one co-located with the data centre (offline);
    ``gateway_radius_km`` keeps only gateways near it. ``isl`` is ``"plus_grid"`` or
    ``"nearest_k"`` (see :class:`orbitlat.latency.network.Network`; more options in ``network_options``,
    e.g. ``{"force_isl": True}`` over satellites without ISLs). ``overhead`` as in :func:`bent_pipe`
    (one user terminal; ``"high"`` also charges each ISL hop).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    return _route_scenario("ISL", net, _default_users(users), dc, overhead, kwargs, gateways=gw,
                           gateway_radius_km=gateway_radius_km, min_elevation_deg=min_elevation_deg,
                           gateway_min_elevation_deg=gateway_min_elevation_deg)

@accepts_units
def orbital_datacenter(constellation: Any = "starlink_gen1", users=None, cluster=None, *, isl: Any = "plus_grid",
                       odc_laser_range_km: float = 5000.0, odc_max_links: int | None = None,
                       odc_terminals: int | None = 4, odc_relay_terminals: int | None = 1,
                       min_elevation_deg: float | None = 25.0, network_options: dict | None = None,
                       overhead: Any = None, **kwargs) -> LatencyResult:
    """Users → relay constellation over ISLs → orbital data centre; and directly while it is in view.

    ``rtt_ms`` is the best path (relays, or the direct link when shorter);
    ``direct_rtt_ms`` uses only a direct user–data-centre link (NaN out of view).
    ``cluster`` defaults to :func:`orbitlat.orbits.cluster.suncatcher` (81 satellites, dawn–dusk SSO, 650 km).
    The data centre's links to relays are as built: ``odc_terminals`` (4) laser terminals, each to a
    distinct relay, a relay giving at most ``odc_relay_terminals`` (1) of its own; ``None`` for both
    links it to every relay in range (see :class:`orbitlat.latency.network.Network`). For the nearest
    of several data centres, or compute on relays, see :func:`orbitlat.latency.nearest_compute`.
    ``overhead`` as in :func:`bent_pipe` (one user terminal; the data centre's laser links count as ISL hops).
    """
    from orbitlat.orbits.cluster import suncatcher

    c = _constellation(constellation)
    odc = suncatcher(epoch=c.table["epoch"].max()) if cluster is None else _constellation(cluster)
    net = Network(c, isl=isl, odc=odc, odc_laser_range_km=odc_laser_range_km, odc_max_links=odc_max_links,
                  odc_terminals=odc_terminals, odc_relay_terminals=odc_relay_terminals, **(network_options or {}))
    return _route_scenario("orbital data center", net, _default_users(users), "odc", overhead, kwargs,
                           min_elevation_deg=min_elevation_deg)

@accepts_units
def city_pairs(constellation: Any, sites, *, isl: Any = "plus_grid", gsl_rule: str = "elevation",
               max_range_km: float | None = None, min_elevation_deg: float | None = 25.0,
               network_options: dict | None = None, overhead: Any = None, **kwargs) -> LatencyResult:
    """RTT between every pair of ``sites`` over the constellation (Hypatia style), with fiber and the vacuum bound.

    ``rtt_ms`` (time, src, dst) has NaN on the diagonal; ``fiber_rtt_ms`` and
    ``bound_rtt_ms`` (src, dst) are the terrestrial model and ``2·d_gc/c``. ``overhead`` as in
    :func:`bent_pipe`; a city pair has two user terminals, so ``access_ms`` counts twice.
    """
    c = _constellation(constellation)
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    return _route_scenario("city pairs", net, _sites(sites, "sites"), None, overhead, kwargs,
                           min_elevation_deg=min_elevation_deg)

@accepts_units
def city_pair_summary(constellation: Any, sites, *, block: int | None = None,
                      quantiles: Sequence[float] = (0.5, 0.95, 0.99), isl: Any = "plus_grid",
                      gsl_rule: str = "elevation", max_range_km: float | None = None,
                      min_elevation_deg: float | None = 25.0, network_options: dict | None = None,
                      overhead: Any = None, bin_ms: float = 0.01, progress=None, **kwargs) -> pd.DataFrame:
    """City-pair RTTs summarised per city, computed for blocks of source cities (never the whole matrix).

    The same routes and delays as :func:`city_pairs` (terminals at both ends; ``overhead`` as there),
    run as ``route(block, all cities)``
    for blocks of ``block`` source cities; each block's (time, block, city) RTTs are reduced and
    dropped. Memory: one block, ``block x n x steps`` values.

    Returns
    -------
    pandas.DataFrame
        One row per city (``src``, its unique label): ``p50``, ``p95``, ``p99``, ``mean`` (ms) and
        ``reachable`` over every time step and every other city, weighted by the other city's
        population (equal weights when unknown); ``max``. ``df.attrs["global"]`` pools all pairs
        weighted by the product of the two populations; its quantiles come from a histogram with
        ``bin_ms`` bins (exact to half a bin; 0.005 ms by default).
    """
    from orbitlat.ground.grids import weighted_mean
    from orbitlat.latency.results import weighted_quantile
    from orbitlat.latency.routing import route
    from orbitlat.memory import HEADROOM, available_bytes

    c = _constellation(constellation)
    s = _sites(sites, "sites")
    n = len(s)
    if n < 2:
        raise OrbitlatError("city_pair_summary needs at least two cities.")
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    pop = s.population.astype(float)
    w = np.where(np.isfinite(pop), pop, 0.0) if np.isfinite(pop).any() and np.nansum(pop) > 0 else np.ones(n)
    named = _overhead(kwargs, overhead)
    kwargs["paths"] = None
    kwargs.setdefault("workers", 1)
    kwargs.setdefault("fiber", "simple")  # the summary has no fiber baseline: take the cheapest model for it
    from orbitlat.latency._inputs import _times

    tg = _times(net, kwargs.pop("times", None), kwargs.pop("start", None), kwargs.pop("duration", None),
                kwargs.pop("step", None))
    if block is None:
        per_src = 24.0 * len(tg) * n + 32.0 * n
        block = int(max(1, min(n, 0.25 * HEADROOM * (available_bytes() or 2**31) // per_src)))
    qs = list(quantiles)
    names = [f"p{round(q * 100):d}" for q in qs]
    out = {k: np.full(n, np.nan) for k in [*names, "mean", "max", "reachable"]}
    edges_n = int(np.ceil(10_000.0 / bin_ms))
    hist = np.zeros(edges_n + 1)
    w_all = 0.0
    for b0 in range(0, n, block):
        idx = np.arange(b0, min(n, b0 + block))
        res = route(net, s.subset(idx), s, times=tg, min_elevation_deg=min_elevation_deg, **kwargs)
        x = res.rtt["rtt_ms"].transpose("time", "src", "dst").to_numpy()
        x[:, np.arange(idx.size), idx] = np.nan  # a city with itself is not a pair
        for k, i in enumerate(idx):
            v = x[:, k, :]
            ww = np.broadcast_to(w[None, :], v.shape).copy()
            ww[:, i] = 0.0
            q = weighted_quantile(v, ww, qs)
            for nm, val in zip(names, np.atleast_1d(q)):
                out[nm][i] = float(val)
            fin = np.isfinite(v)
            out["mean"][i] = weighted_mean(v, ww) if fin.any() else np.nan
            out["max"][i] = float(np.nanmax(v)) if fin.any() else np.nan
            out["reachable"][i] = weighted_mean(fin.astype(float), ww)
            pw = ww * w[i]
            w_all += float(pw.sum())
            vi = np.clip(np.floor(v[fin] / bin_ms).astype(np.int64), 0, edges_n)
            hist += np.bincount(vi, weights=pw[fin], minlength=edges_n + 1)
        del res, x
        if progress is not None:
            progress(int(idx[-1]) + 1, n)
    df = pd.DataFrame(out, index=pd.Index(s.labels, name="src"))
    cum = np.cumsum(hist)
    glob = {"pairs_weight": "population x population", "bin_ms": bin_ms}
    if cum[-1] > 0:
        for nm, q in zip(names, qs):
            k = int(np.searchsorted(cum, q * cum[-1]))
            glob[nm] = (k + 0.5) * bin_ms
        glob["reachable"] = min(1.0, float(cum[-1] / w_all)) if w_all > 0 else float("nan")  # a share: <= 1
    df.attrs = {"scenario": "city pairs (per-city summary)", "global": glob, "block": int(block),
                "n_times": len(tg), "min_elevation_deg": min_elevation_deg, **named}
    return df


def _destination(lat_deg: float, lon_deg: float, bearing_deg: float, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """Points ``distance_km`` from (lat, lon) along an initial bearing on the 6371.0088 km sphere."""
    from orbitlat.latency.terrestrial.simple import EARTH_RADIUS_KM

    d = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    p1, l1, th = np.radians(lat_deg), np.radians(lon_deg), np.radians(bearing_deg)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0

@accepts_units
def crossover(constellation: Any = "starlink_gen1", origin=(51.5074, -0.1278), bearing_deg: float = 288.0,
              distances_km: Sequence[float] | None = None, *, fiber: Any = None,
              min_elevation_deg: float = 25.0, isl: Any = "plus_grid", overhead: Any = None,
              **kwargs) -> tuple[pd.DataFrame, float]:
    """Distance beyond which the ISL route beats a fiber route (Handley, HotNets 2018: about 3,000 km).

    Sites are placed along a great circle from ``origin`` (default London, heading
    towards New York); for each, the median ISL RTT over the time grid is compared
    with the fiber RTT. ``fiber`` defaults to an ideal straight fiber, "any possible fiber route"
    (Handley's definition; points along a bearing may lie at sea, where no real network goes): with
    ``overhead="none"`` pure light time (``FiberModel(stretch=1, overhead_ms=0)``, Handley's
    comparison); otherwise like for like, the straight fiber with the simple model's fitted fixed
    overhead for the access networks at its two ends (``FiberModel(stretch=1, overhead_ms=8.38)``)
    against the satellite path with its two user terminals' access overhead.

    ``fiber="routed"`` (or a :class:`~orbitlat.latency.terrestrial.RoutedModel`) compares against the
    real terrestrial network instead (its own fitted overhead included): the destinations are the
    world's 1,000 largest cities (``GroundSites.cities``) between the smallest and largest of
    ``distances_km`` from ``origin``, and the crossover is the smallest 500 km distance bin from
    which the ISL median wins for at least half the cities of every farther bin.

    Returns
    -------
    (table, crossover_km)
        ``table``: distance_km, isl_p50_ms, fiber_ms, isl_wins (and ``name`` in the routed form);
        ``crossover_km``: the smallest distance from which the ISL median wins at every larger distance
        (linear interpolation between samples), NaN if it never does.
    """
    named = _overhead(kwargs, overhead)
    if isinstance(fiber, str) or (fiber is not None and not isinstance(fiber, FiberModel)):
        table, x = _crossover_cities(constellation, origin, terrestrial_model(fiber), distances_km,
                                     min_elevation_deg=min_elevation_deg, isl=isl, **kwargs)
        table.attrs.update(named)
        return table, x
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.terrestrial.simple import DEFAULT_OVERHEAD_MS

    physics = named["overhead"] == "none"
    f = (FiberModel(stretch=1.0, overhead_ms=0.0 if physics else DEFAULT_OVERHEAD_MS) if fiber is None else fiber)
    dist = np.arange(250.0, 10001.0, 250.0) if distances_km is None else np.asarray(distances_km, float)
    lat, lon = _destination(origin[0], origin[1], bearing_deg, dist)
    src = GroundSites(["origin"], [origin[0]], [origin[1]])
    dst = GroundSites([f"d{int(x)}" for x in dist], lat, lon)
    c = _constellation(constellation)
    net = Network(c, isl=isl)
    kwargs.setdefault("paths", None)
    res = route(net, src, dst, min_elevation_deg=min_elevation_deg, fiber=f, **kwargs)
    p50 = res.rtt_ms.isel(src=0).median("time", skipna=True).to_numpy()
    fib = f.rtt_ms(dist)
    wins = p50 < fib
    table = pd.DataFrame({"distance_km": dist, "isl_p50_ms": p50, "fiber_ms": fib, "isl_wins": wins})
    table.attrs.update({**named, "fiber_stretch": f.stretch, "fiber_overhead_ms": f.overhead_ms,
                        "delays_included": res.rtt["rtt_ms"].attrs.get("delays_included")})
    if not wins[-1]:
        return table, float("nan")
    k = len(wins) - 1
    while k > 0 and wins[k - 1]:
        k -= 1
    if k == 0:
        return table, float(dist[0])
    # interpolate the zero of (fiber - isl) between samples k-1 (loses) and k (wins)
    g0, g1 = fib[k - 1] - p50[k - 1], fib[k] - p50[k]
    x = dist[k - 1] + (dist[k] - dist[k - 1]) * (-g0) / (g1 - g0) if np.isfinite(g0) and g1 != g0 else dist[k]
    return table, float(x)


# ---------------------------------------------------------------------------
# Starlink as deployed: user -> satellite (-> ISLs) -> gateway -> PoP -> destination
# ---------------------------------------------------------------------------
def assign_pops(users, pops, assignment: Any = "nearest") -> tuple[np.ndarray, np.ndarray]:
    """Each user's point of presence: ``(pop index per user, True where the country table decided)``.

    ``assignment`` is ``"nearest"`` (great circle) or a mapping ``country code -> PoP`` (a PoP's name,
    its ``code`` such as ``"FRA"``, or its index), as operators home users by country. Users with no
    country in the mapping go to their nearest PoP. The user's country is its ``country_code`` column,
    else the nearest GeoNames city's (:func:`orbitlat.ground.population.country_codes`).

    >>> from orbitlat.ground.sites import GroundSites
    >>> u = GroundSites(["Lisbon", "Austin"], [38.72, 30.27], [-9.14, -97.74])
    >>> p = GroundSites.pops()
    >>> idx, by_table = assign_pops(u, p, {"PT": "FRA"})
    >>> p.df["code"].to_numpy()[idx].tolist(), by_table.tolist()
    (['FRA', 'DFW/DAL'], [True, False])
    """
    from orbitlat.errors import OrbitlatError
    from orbitlat.latency.terrestrial.simple import great_circle_km

    u, p = _sites(users, "users"), _sites(pops, "pops")
    d = great_circle_km(u.lat_deg[:, None], u.lon_deg[:, None], p.lat_deg[None, :], p.lon_deg[None, :])
    idx = np.argmin(d, axis=1)
    by_table = np.zeros(len(u), bool)
    if isinstance(assignment, str):
        if assignment != "nearest":
            raise OrbitlatError(f"pop_assignment={assignment!r}: give 'nearest' or a mapping country code -> PoP.")
        return idx, by_table
    if not hasattr(assignment, "items"):
        raise OrbitlatError(f"pop_assignment must be 'nearest' or a mapping country code -> PoP; got "
                            f"{type(assignment).__name__}.")
    names = [str(x) for x in p.names]
    codes = [str(x) for x in p.df["code"]] if "code" in p.df.columns else names
    lookup = {}
    for cc, target in assignment.items():
        if isinstance(target, (int, np.integer)) and 0 <= int(target) < len(p):
            lookup[str(cc).upper()] = int(target)
        elif str(target) in names:
            lookup[str(cc).upper()] = names.index(str(target))
        elif str(target) in codes:
            lookup[str(cc).upper()] = codes.index(str(target))
        else:
            raise OrbitlatError(f"pop_assignment[{cc!r}] = {target!r} is not a PoP; give a name, code or index of "
                                f"the {len(p)} PoPs (codes: {', '.join(dict.fromkeys(codes))}).")
    df = u.df
    if "country_code" in df.columns and df["country_code"].notna().all():
        cc = df["country_code"].astype(str).str.upper().to_numpy()
    else:
        from orbitlat.ground.population import country_codes

        cc = country_codes(u.lat_deg, u.lon_deg)
        if "country_code" in df.columns:
            given = df["country_code"].notna().to_numpy()
            cc = np.where(given, df["country_code"].astype(str).str.upper().to_numpy(), cc)
    for i, c in enumerate(cc):
        if c in lookup:
            idx[i] = lookup[c]
            by_table[i] = True
    return idx, by_table


@accepts_units
def as_deployed(constellation: Any = "starlink_gen1", users=None, destinations=None, *, gateways=None, pops=None,
                pop_assignment: Any = "nearest", terrestrial: Any = None, isl: Any = "plus_grid",
                min_elevation_deg: float | None = 25.0, gateway_min_elevation_deg: float | None = 25.0,
                gsl_rule: str = "elevation", max_range_km: float | None = None,
                network_options: dict | None = None, overhead: Any = None, **kwargs) -> LatencyResult:
    """Starlink as deployed: user → satellite → (ISLs only when that satellite sees no gateway) → gateway
    → terrestrial network → the user's PoP → terrestrial network → destination.

    Every user is homed to one point of presence (:func:`assign_pops`: nearest, or a country → PoP
    table), where its traffic meets the Internet. Per step, a user whose satellites see a gateway
    takes the best such bent pipe to its PoP (``Gateways(isl="fallback")``); a user none of whose
    satellites sees a gateway is carried over ISLs to a satellite that does. Gateway → PoP and PoP →
    destination are terrestrial legs (``terrestrial``: the routed model by default,
    :mod:`orbitlat.latency.terrestrial`), without the model's fixed access overhead: these legs join
    network sites, and the satellite access overhead stands in for the user's access network.

    Parameters
    ----------
    constellation : Constellation or preset name
    users : GroundSites, optional
        Default: the 1,000 most populous GeoNames cities.
    destinations : GroundSites or name, optional
        Default: Stargate (Abilene, TX).
    gateways, pops : GroundSites, optional
        Default: the built-in Starlink gateways (distinct sites) and PoPs (StarPerf 2.0, January 2024).
    pop_assignment : "nearest" or mapping
        See :func:`assign_pops`.
    terrestrial : terrestrial model or name, optional
        ``"routed"`` (default), ``"simple"`` or a model: the gateway → PoP and PoP → destination legs
        and the ``fiber_rtt_ms`` baseline (user → destination, with the model's access overhead).
    isl : str
        ISL topology for the fallback (``"none"``: bent pipe only).
    overhead : "calibrated", "none", "high" or Delays
        As in :func:`bent_pipe` (one user terminal per path). With ``"calibrated"`` the modelled
        US dish → PoP median equals Starlink's published 25.7 ms by construction
        (:mod:`orbitlat.latency.overhead`); use ``"none"`` to see the geometry alone.
    **kwargs
        Passed to :func:`route` (times, start, duration, step, named delays, paths, workers).

    Returns
    -------
    LatencyResult
        ``rtt_ms`` (time, src, dst): dish → destination; ``pop_rtt_ms`` (time, src): dish → PoP (what
        Starlink publishes: "from your Starlink router to the internet and back"); ``pop_leg_ms`` (src,
        dst): the PoP → destination round trip; ``isl_used`` (time, src): True where no satellite of the
        user saw a gateway and ISLs carried it; coordinates ``pop`` and ``pop_by_country`` per user.
        ``paths`` (with ``paths="changes"`` or ``"all"``) and ``unreachable`` describe the dish → PoP part.
    """
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.access import leg_one_way_ms, site_model
    from orbitlat.latency.routing import Gateways

    c = _constellation(constellation)
    u = _default_users(users)
    dst = _default_dc(destinations)
    gw = GroundSites.gateways(unique_locations=True) if gateways is None else _sites(gateways, "gateways")
    pp = GroundSites.pops() if pops is None else _sites(pops, "pops")
    model = terrestrial_model(terrestrial)
    pop_idx, by_table = assign_pops(u, pp, pop_assignment)
    used = np.unique(pop_idx)
    col = np.searchsorted(used, pop_idx)
    pp_used = pp.subset(used)
    bk = site_model(model)
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    kwargs.setdefault("paths", None)
    named = _overhead(kwargs, overhead)
    res = route(net, u, pp_used, gateways=Gateways(gw, backhaul=bk, isl="fallback",
                                                    min_elevation_deg=gateway_min_elevation_deg),
                min_elevation_deg=min_elevation_deg, **kwargs)
    x = res.rtt["rtt_ms"].to_numpy()
    ns = len(u)
    pop_rtt = x[:, np.arange(ns), col]
    leg = 2.0 * leg_one_way_ms(model, pp.lat_deg[pop_idx][:, None], pp.lon_deg[pop_idx][:, None],
                               dst.lat_deg[None, :], dst.lon_deg[None, :], overhead=False)
    rtt = pop_rtt[:, :, None] + leg[None, :, :]
    src_names = res.rtt["src"].to_numpy()
    pop_names = np.asarray(pp.names, dtype=object)
    own = pop_names[pop_idx]
    from orbitlat.latency.results import _unique_labels
    from orbitlat.latency.terrestrial.simple import great_circle_km
    from orbitlat.constants import C_KM_S

    d_names = _unique_labels(dst)
    attrs_rtt = dict(res.rtt["rtt_ms"].attrs)
    attrs_rtt["long_name"] = ("round-trip time dish -> PoP -> destination (" + attrs_rtt["long_name"].split("(", 1)[-1])
    from orbitlat.latency.assembly import terrestrial_matrix

    fib, t_attrs = terrestrial_matrix(model, u, dst)
    bound = 2.0 * great_circle_km(u.lat_deg[:, None], u.lon_deg[:, None], dst.lat_deg[None, :],
                                  dst.lon_deg[None, :]) / C_KM_S * 1000.0
    coords = {k: v for k, v in res.rtt.coords.items() if k not in ("dst", "dst_node")}
    coords.update({"dst": d_names, "pop": ("src", own), "pop_by_country": ("src", by_table)})
    data = {
        "rtt_ms": (("time", "src", "dst"), rtt, attrs_rtt),
        "pop_rtt_ms": (("time", "src"), pop_rtt, {**res.rtt["rtt_ms"].attrs, "units": "ms",
                       "long_name": "round-trip time dish -> the user's PoP (" +
                                    res.rtt["rtt_ms"].attrs["long_name"].split("(", 1)[-1]}),
        "pop_leg_ms": (("src", "dst"), leg, {"units": "ms", "long_name": "PoP -> destination terrestrial round trip "
                                              "(path delay, no access overhead)"}),
        "fiber_rtt_ms": (("src", "dst"), fib, {"units": "ms", "long_name": "terrestrial RTT user -> destination "
                                                "(the terrestrial model, with its access overhead)", **t_attrs}),
        "bound_rtt_ms": (("src", "dst"), bound, {"units": "ms", "long_name": "great-circle vacuum bound 2*d/c"}),
    }
    data["isl_used"] = (("time", "src"), res.rtt["isl_used"].to_numpy(), res.rtt["isl_used"].attrs)
    attrs = {**res.rtt.attrs, **named, "scenario": "as deployed", "pops": len(pp), "pop_assignment":
             "nearest" if isinstance(pop_assignment, str) else f"country table ({len(pop_assignment)} countries), "
             "nearest otherwise", "terrestrial": getattr(model, "name", type(model).__name__),
             **{k: v for k, v in getattr(model, "attrs", {}).items() if isinstance(v, (str, int, float))},
             "terrestrial_legs": "gateway -> PoP and PoP -> destination: path delay without access overhead"}
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    keep = res.paths["dst"].to_numpy() == np.asarray(pp_used.names, dtype=object)[col][
        res.paths["src"].map({s: i for i, s in enumerate(src_names)}).to_numpy()] if len(res.paths) else []
    paths = res.paths[keep].reset_index(drop=True) if len(res.paths) else res.paths
    un = res.unreachable
    if len(un):
        mine = un["dst"].to_numpy() == np.asarray(pp_used.names, dtype=object)[col][
            un["src"].map({s: i for i, s in enumerate(src_names)}).to_numpy()]
        un = un[mine].reset_index(drop=True)
    pc = res.path_changes.isel(dst=xr.DataArray(col, dims="src"))
    pc = pc.drop_vars([v for v in ("dst",) if v in pc.coords])
    out = LatencyResult(ds, paths, un, pc, res.nodes, u, attrs)
    return out


def dish_to_pop_by_country(result: LatencyResult, countries: Sequence[str] | None = None,
                           quantiles: Sequence[float] = (0.5, 0.95)) -> pd.DataFrame:
    """Population-weighted dish → PoP RTT per country from an :func:`as_deployed` result.

    Pools every (time, user) sample of the country's users, weighted by population (equal weights
    when unknown). Columns: users, population, p50/p95 (ms), reachable (share of user-time with a
    path), isl_share (share of reachable user-time carried over ISLs).
    """
    from orbitlat.latency.results import weighted_quantile

    ds = result.rtt
    x = ds["pop_rtt_ms"].transpose("time", "src").to_numpy()
    w = result._weights()
    df = result.src_sites.df if result.src_sites is not None else None
    if df is not None and "country_code" in df.columns and df["country_code"].notna().all():
        cc = df["country_code"].astype(str).to_numpy()
    else:
        from orbitlat.ground.population import country_codes

        cc = country_codes(ds["src_lat_deg"].to_numpy(), ds["src_lon_deg"].to_numpy())
    isl = ds["isl_used"].transpose("time", "src").to_numpy() if "isl_used" in ds else None
    rows = {}
    for c in (np.unique(cc) if countries is None else countries):
        m = cc == c
        if not m.any():
            continue
        xm, wm = x[:, m], np.broadcast_to(w[m][None, :], x[:, m].shape)
        fin = np.isfinite(xm)
        row = {"users": int(m.sum()), "population": float(w[m].sum())}
        for q, v in zip(quantiles, np.atleast_1d(weighted_quantile(xm, wm, list(quantiles)))):
            row[f"p{round(q * 100):d} (ms)"] = float(v)
        row["reachable"] = float((wm * fin).sum() / wm.sum()) if wm.sum() > 0 else float("nan")
        if isl is not None:
            tot = (wm * fin).sum()
            row["isl_share"] = float((wm * isl[:, m]).sum() / tot) if tot > 0 else float("nan")
        rows[str(c)] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "country"
    return out


def _crossover_cities(constellation, origin, model, distances_km, *, min_elevation_deg, isl, bin_km: float = 500.0,
                      **kwargs) -> tuple[pd.DataFrame, float]:
    """The crossover against a terrestrial model between real cities (see :func:`crossover`)."""
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.terrestrial.simple import great_circle_km

    dist = np.arange(250.0, 10001.0, 250.0) if distances_km is None else np.asarray(distances_km, float)
    cities = GroundSites.cities(top=1000)
    d = great_circle_km(origin[0], origin[1], cities.lat_deg, cities.lon_deg)
    keep = (d >= dist.min()) & (d <= dist.max())
    if hasattr(model, "reachable"):
        keep &= model.reachable(cities.lat_deg, cities.lon_deg)
    if not keep.any():
        raise OrbitlatError(f"no city lies {dist.min():g}-{dist.max():g} km from {origin}; widen distances_km.")
    dst = GroundSites(np.asarray(cities.names)[keep].tolist(), cities.lat_deg[keep], cities.lon_deg[keep])
    src = GroundSites(["origin"], [origin[0]], [origin[1]])
    net = Network(_constellation(constellation), isl=isl)
    kwargs.setdefault("paths", None)
    res = route(net, src, dst, min_elevation_deg=min_elevation_deg, fiber=model, **kwargs)
    p50 = res.rtt_ms.isel(src=0).median("time", skipna=True).to_numpy()
    fib = res.rtt["fiber_rtt_ms"].isel(src=0).to_numpy()
    table = pd.DataFrame({"name": dst.names, "distance_km": d[keep], "isl_p50_ms": p50, "fiber_ms": fib,
                          "isl_wins": p50 < fib}).sort_values("distance_km", ignore_index=True)
    b = np.floor(table["distance_km"] / bin_km) * bin_km
    share = table.groupby(b)["isl_wins"].mean()
    wins = share.to_numpy() >= 0.5
    if not wins[-1]:
        return table, float("nan")
    k = len(wins) - 1
    while k > 0 and wins[k - 1]:
        k -= 1
    return table, float(share.index[k])
