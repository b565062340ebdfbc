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
from orbitlat.latency.terrestrial.simple import FiberModel
from orbitlat.latency.network import Network
from orbitlat.latency._inputs import _constellation, _sites
from orbitlat.latency.results import LatencyResult
from orbitlat.latency.routing import route

__all__ = ["fiber_baseline", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "crossover"]


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

def fiber_baseline(users, datacenter=None, fiber: FiberModel | None = None) -> xr.DataArray:
    """Terrestrial fiber RTT (src, dst) from users to data centres, ms (:class:`orbitlat.latency.terrestrial.FiberModel`)."""
    u = _sites(users, "users")
    d = _default_dc(datacenter)
    f = FiberModel() if fiber is None else fiber
    v = f.rtt_ms_between(u.lat_deg[:, None], u.lon_deg[:, None], d.lat_deg[None, :], d.lon_deg[None, :])
    return xr.DataArray(v, dims=("src", "dst"), coords={"src": u.names, "dst": d.names}, name="fiber_rtt_ms",
                        attrs={"units": "ms", "stretch": f.stretch, "overhead_ms": f.overhead_ms})

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

def _destination(lat_deg: float, lon_deg: float, bearing_deg: float, distance_km) -> tuple[np.ndarray, np.ndarray]:
    """Points ``distance_km`` from (lat, lon) along an initial bearing on the 6371.0088 km sphere."""
    from orbitlat.latency.terrestrial.simple import EARTH_RADIUS_KM

    d = np.asarray(distance_km, dtype=np.float64) / EARTH_RADIUS_KM
    p1, l1, th = np.radians(lat_deg), np.radians(lon_deg), np.radians(bearing_deg)
    p2 = np.arcsin(np.sin(p1) * np.cos(d) + np.cos(p1) * np.sin(d) * np.cos(th))
    l2 = l1 + np.arctan2(np.sin(th) * np.sin(d) * np.cos(p1), np.cos(d) - np.sin(p1) * np.sin(p2))
    return np.degrees(p2), (np.degrees(l2) + 180.0) % 360.0 - 180.0

def crossover(constellation: Any = "starlink_gen1", origin=(51.5074, -0.1278), bearing_deg: float = 288.0,
              distances_km: Sequence[float] | None = None, *, fiber: FiberModel | None = None,
              min_elevation_deg: float = 25.0, isl: Any = "plus_grid", **kwargs) -> tuple[pd.DataFrame, float]:
    """Distance beyond which the ISL route beats a fiber route (Handley, HotNets 2018: about 3,000 km).

    Sites are placed along a great circle from ``origin`` (default London, heading
    towards New York); for each, the median ISL RTT over the time grid is compared
    with the fiber RTT. ``fiber`` defaults to an ideal straight fiber
    (``FiberModel(stretch=1, overhead_ms=0)``, "any possible fiber route").

    Returns
    -------
    (table, crossover_km)
        ``table``: distance_km, isl_p50_ms, fiber_ms, isl_wins; ``crossover_km``: the
        smallest distance from which the ISL median wins at every larger distance
        (linear interpolation between samples), NaN if it never does.
    """
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
