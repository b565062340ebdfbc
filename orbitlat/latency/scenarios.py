"""Latency scenarios, one call each: bent pipe, ISLs to a terrestrial data centre, an orbital data
centre through relays, city pairs, the fiber baseline and the ISL-vs-fiber crossover distance.

Each builds a :class:`~orbitlat.latency.network.Network` and calls
:func:`orbitlat.latency.routing.route` with the scenario's endpoints.
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.latency.terrestrial.simple import FiberModel
from orbitlat.latency.terrestrial.base import terrestrial_model
from orbitlat.errors import OrbitlatError
from orbitlat.latency.network import Network
from orbitlat.latency._inputs import _constellation, _sites
from orbitlat.latency.results import LatencyResult
from orbitlat.latency.routing import route

__all__ = ["fiber_baseline", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "city_pair_summary", "crossover"]


# ---------------------------------------------------------------------------
# scenarios
# ---------------------------------------------------------------------------
def _default_users(users):
    from orbitlat.ground.sites import GroundSites

    return GroundSites.cities(top=1000) if users is None else _sites(users, "users")

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

def bent_pipe(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
              gateway: Any = "best", min_elevation_deg: float | None = 25.0,
              gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
              max_range_km: float | None = None, **kwargs) -> LatencyResult:
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
    **kwargs
        Passed to :func:`route` (times, start, duration, step, hop_delay_ms, paths, backhaul, fiber).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl="none", gsl_rule=gsl_rule, gsl_max_range_km=max_range_km)
    res = route(net, _default_users(users), dc, gateways=gw, gateway_choice=gateway,
                min_elevation_deg=min_elevation_deg, gateway_min_elevation_deg=gateway_min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "bent pipe"
    return res

def via_isl(constellation: Any = "starlink_gen1", users=None, datacenter=None, gateways=None, *,
            isl: Any = "plus_grid", gateway_radius_km: float | None = None, min_elevation_deg: float | None = 25.0,
            gateway_min_elevation_deg: float | None = 25.0, gsl_rule: str = "elevation",
            max_range_km: float | None = None, network_options: dict | None = None, **kwargs) -> LatencyResult:
    """Users → ISL constellation → gateway near the data centre → fiber → data centre.

    ``gateways`` default to one co-located with the data centre (offline);
    ``gateway_radius_km`` keeps only gateways near it. ``isl`` is ``"plus_grid"`` or
    ``"nearest_k"`` (see :class:`orbitlat.latency.network.Network`; more options in ``network_options``).
    """
    c = _constellation(constellation)
    dc = _default_dc(datacenter)
    gw = _colocated_gateways(dc) if gateways is None else _sites(gateways, "gateways")
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    res = route(net, _default_users(users), dc, gateways=gw, gateway_radius_km=gateway_radius_km,
                min_elevation_deg=min_elevation_deg, gateway_min_elevation_deg=gateway_min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "ISL"
    return res

def orbital_datacenter(constellation: Any = "starlink_gen1", users=None, cluster=None, *, isl: Any = "plus_grid",
                       odc_laser_range_km: float = 5000.0, odc_max_links: int | None = None,
                       min_elevation_deg: float | None = 25.0, network_options: dict | None = None,
                       **kwargs) -> LatencyResult:
    """Users → relay constellation over ISLs → orbital data centre; and directly while it is in view.

    ``rtt_ms`` is the best path (relays, or the direct link when shorter);
    ``direct_rtt_ms`` uses only a direct user–data-centre link (NaN out of view).
    ``cluster`` defaults to :func:`orbitlat.orbits.cluster.suncatcher` (81 satellites, dawn–dusk SSO, 650 km).
    """
    from orbitlat.orbits.cluster import suncatcher

    c = _constellation(constellation)
    odc = suncatcher(epoch=c.table["epoch"].max()) if cluster is None else _constellation(cluster)
    net = Network(c, isl=isl, odc=odc, odc_laser_range_km=odc_laser_range_km, odc_max_links=odc_max_links,
                  **(network_options or {}))
    res = route(net, _default_users(users), "odc", min_elevation_deg=min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "orbital data center"
    return res

def city_pairs(constellation: Any, sites, *, isl: Any = "plus_grid", gsl_rule: str = "elevation",
               max_range_km: float | None = None, min_elevation_deg: float | None = 25.0,
               network_options: dict | None = None, **kwargs) -> LatencyResult:
    """RTT between every pair of ``sites`` over the constellation (Hypatia style), with fiber and the vacuum bound.

    ``rtt_ms`` (time, src, dst) has NaN on the diagonal; ``fiber_rtt_ms`` and
    ``bound_rtt_ms`` (src, dst) are the terrestrial model and ``2·d_gc/c``.
    """
    c = _constellation(constellation)
    net = Network(c, isl=isl, gsl_rule=gsl_rule, gsl_max_range_km=max_range_km, **(network_options or {}))
    res = route(net, _sites(sites, "sites"), None, min_elevation_deg=min_elevation_deg, **kwargs)
    res.rtt.attrs["scenario"] = "city pairs"
    return res

def city_pair_summary(constellation: Any, sites, *, block: int | None = None,
                      quantiles: Sequence[float] = (0.5, 0.95, 0.99), isl: Any = "plus_grid",
                      gsl_rule: str = "elevation", max_range_km: float | None = None,
                      min_elevation_deg: float | None = 25.0, network_options: dict | None = None,
                      bin_ms: float = 0.01, progress=None, **kwargs) -> pd.DataFrame:
    """City-pair RTTs summarised per city, computed for blocks of source cities (never the whole matrix).

    The same routes as :func:`city_pairs` (terminals at both ends), run as ``route(block, all cities)``
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
                "n_times": len(tg), "min_elevation_deg": min_elevation_deg}
    return df


def _destination(lat_deg: float, lon_deg: float, bearing_deg: float, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """Points ``distance_km`` from (lat, lon) along an initial bearing on the 6371.0088 km sphere."""
    from orbitlat.latency.terrestrial.simple import EARTH_RADIUS_KM

    d = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    p1, l1, th = np.radians(lat_deg), np.radians(lon_deg), np.radians(bearing_deg)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0

def crossover(constellation: Any = "starlink_gen1", origin=(51.5074, -0.1278), bearing_deg: float = 288.0,
              distances_km: Sequence[float] | None = None, *, fiber: Any = None,
              min_elevation_deg: float = 25.0, isl: Any = "plus_grid", **kwargs) -> tuple[pd.DataFrame, float]:
    """Distance beyond which the ISL route beats a fiber route (Handley, HotNets 2018: about 3,000 km).

    Sites are placed along a great circle from ``origin`` (default London, heading
    towards New York); for each, the median ISL RTT over the time grid is compared
    with the fiber RTT. ``fiber`` defaults to an ideal straight fiber
    (``FiberModel(stretch=1, overhead_ms=0)``, "any possible fiber route": Handley's definition,
    and points along a bearing may lie at sea, where no real network goes).

    ``fiber="routed"`` (or a :class:`~orbitlat.latency.terrestrial.RoutedModel`) compares against the
    real terrestrial network instead: the destinations are the world's 1,000 largest cities
    (``GroundSites.cities``) between the smallest and largest of ``distances_km`` from ``origin``,
    and the crossover is the smallest 500 km distance bin from which the ISL median wins for at least
    half the cities of every farther bin.

    Returns
    -------
    (table, crossover_km)
        ``table``: distance_km, isl_p50_ms, fiber_ms, isl_wins (and ``name`` in the routed form);
        ``crossover_km``: the smallest distance from which the ISL median wins at every larger distance
        (linear interpolation between samples), NaN if it never does.
    """
    if isinstance(fiber, str) or (fiber is not None and not isinstance(fiber, FiberModel)):
        return _crossover_cities(constellation, origin, terrestrial_model(fiber), distances_km,
                                 min_elevation_deg=min_elevation_deg, isl=isl, **kwargs)
    from orbitlat.ground.sites import GroundSites

    f = FiberModel(stretch=1.0, overhead_ms=0.0) if fiber is None else fiber
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
