"""Endpoint attachment: how users, gateways and data centres join the network at one step.

Two concerns live here:

- the **endpoint plan** (:func:`plan_endpoints`), made once per run: which ground sites are sources
  and destinations, whether destinations are terminals, terrestrial data centres behind gateways
  (with each gateway's terrestrial backhaul) or the network's orbital data centres, and the global
  node table of the result;
- the **attachment** at one step (:func:`attach`): an :class:`_Access` per side listing, for each
  endpoint, the core nodes (satellites or orbital data centres) it reaches and the one-way delay of
  that attachment: the ground–satellite link's light time, plus a gateway's backhaul for a
  terrestrial data centre, plus the named overheads of :class:`orbitlat.latency.routing.Delays`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units
from orbitlat.latency._inputs import _MS_PER_KM, _site_index, _sites
from orbitlat.latency.network import Network, NetworkStep
from orbitlat.latency.terrestrial.simple import great_circle_km

__all__ = ["EndpointPlan", "plan_endpoints", "attach", "leg_one_way_ms", "site_model"]


def site_model(model):
    """The terrestrial model for legs between network sites (gateway → PoP → data centre).

    Without its fixed per-round-trip overhead (``overhead_ms``: the access networks at the ends),
    and attached however far the sites lie from its graph (``max_attach_km``: a gateway or PoP is
    where fiber is). Models that are not dataclasses are returned as given.

    >>> from orbitlat.latency.terrestrial.simple import FiberModel
    >>> site_model(FiberModel()).overhead_ms
    0.0
    """
    import dataclasses

    if not dataclasses.is_dataclass(model):
        return model
    names = {f.name for f in dataclasses.fields(model)}
    kw = {"overhead_ms": 0.0} if "overhead_ms" in names else {}
    if "max_attach_km" in names:
        kw["max_attach_km"] = float("inf")
    return dataclasses.replace(model, **kw) if kw else model


@accepts_units
def leg_one_way_ms(model, lat1_deg, lon1_deg, lat2_deg, lon2_deg, *, overhead: bool = True) -> np.ndarray:
    """One-way delay of a terrestrial leg between points (degrees, broadcasting), ms, with any model.

    The model answers ``one_way_ms(lat1, lon1, lat2, lon2)`` (the terrestrial-model interface,
    :mod:`orbitlat.latency.terrestrial`). ``overhead=False``: a leg between network sites
    (:func:`site_model`).

    >>> from orbitlat.latency.terrestrial.simple import FiberModel
    >>> round(float(leg_one_way_ms(FiberModel(), 0.0, 0.0, 0.0, 9.0, overhead=False)), 2)  # 1,000.75 km
    9.61
    """
    m = model if overhead else site_model(model)
    v = np.asarray(m.one_way_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg), dtype=np.float64)
    if not overhead and m is model:  # not a dataclass: take its stated overhead off
        v = v - 0.5 * float(getattr(model, "overhead_ms", 0.0))
    return v


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# endpoint access and the per-step routing kernel
# ---------------------------------------------------------------------------
@dataclass
class _Access:
    """Endpoint → core links (sorted by endpoint then core): delay and the gateway used (-1: direct)."""

    ep: np.ndarray
    core: np.ndarray
    w_ms: np.ndarray
    via: np.ndarray
    n_ep: int
    kind: str = "terminal"  # "terminal" (GSL), "gateway" (GSL at a gateway + fiber), "core" (a space node)

    def counts(self) -> np.ndarray:
        return np.bincount(self.ep, minlength=self.n_ep)

    def via_of(self, ep: np.ndarray, core: np.ndarray, n_core: int) -> np.ndarray:
        key = self.ep * n_core + self.core
        q = ep * n_core + core
        i = np.clip(np.searchsorted(key, q), 0, max(key.size - 1, 0))
        if key.size == 0:
            return np.full(q.shape, -1, np.int64)
        return np.where(key[i] == q, self.via[i], -1)

def _sorted_access(ep, core, w, via, n_ep) -> _Access:
    order = np.lexsort((w, core, ep))
    ep, core, w, via = ep[order], core[order], w[order], via[order]
    first = np.ones(ep.size, bool)
    if ep.size > 1:
        first[1:] = (ep[1:] != ep[:-1]) | (core[1:] != core[:-1])  # keep the best per (endpoint, core)
    return _Access(ep[first].astype(np.int64), core[first].astype(np.int64), w[first], via[first].astype(np.int64),
                   int(n_ep))

def _terminal_access(network: Network, step: NetworkStep, index, hop_ms: float, *, odc: bool = True) -> _Access:
    """Access of terminals (users, or destinations with their own terminals): their GSLs; ``hop_ms`` one-way extra."""
    vp = network.gsl(step, index, core=odc)
    return _Access(vp.site, vp.sat, vp.range_km * _MS_PER_KM + hop_ms, np.full(vp.site.size, -1, np.int64),
                   vp.n_sites)

def _gateway_access(network: Network, step: NetworkStep, gw_index, backhaul_ms: np.ndarray, hop_ms: float,
                    only_gateway: np.ndarray | None = None, extra_ms: float = 0.0) -> _Access:
    """Access of destinations through gateways; ``backhaul_ms`` (n_gw, n_ep) one-way fiber delay (inf: no fiber);
    ``hop_ms`` is added twice (the GSL and the fiber link), as one-way processing per link, and ``extra_ms``
    once (a gateway's own one-way overhead).

    Per (endpoint, satellite) the best gateway: every visible (gateway, satellite) pair against every
    endpoint as one (pairs, endpoints) array, reduced per satellite (ties: the first pair in
    visibility order, as a stable sort would keep).
    """
    vp = network.gsl(step, gw_index, core=False)
    n_gw, n_ep = backhaul_ms.shape
    bk = backhaul_ms
    if only_gateway is not None:
        bk = np.full_like(backhaul_ms, np.inf)
        bk[only_gateway] = backhaul_ms[only_gateway]
    empty = _Access(np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0), np.empty(0, np.int64), n_ep,
                    "gateway")
    if vp.site.size == 0:
        return empty
    order = np.argsort(vp.sat, kind="stable")
    sats, gws = vp.sat[order], vp.site[order]
    w = (vp.range_km[order] * _MS_PER_KM)[:, None] + bk[gws] + (2.0 * hop_ms + extra_ms)  # (pairs, endpoints)
    starts = np.flatnonzero(np.r_[True, sats[1:] != sats[:-1]])
    mins = np.minimum.reduceat(w, starts, axis=0)  # (satellites seen by a gateway, endpoints)
    seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, sats.size]))
    first = np.minimum.reduceat(np.where(w == mins[seg], np.arange(sats.size)[:, None], sats.size), starts, axis=0)
    e, k = np.nonzero(np.isfinite(mins.T))  # endpoint-major, satellites ascending within an endpoint
    if e.size == 0:
        return empty
    return _Access(e.astype(np.int64), sats[starts][k].astype(np.int64), mins[k, e], gws[first[k, e]].astype(np.int64),
                   n_ep, "gateway")


# ---------------------------------------------------------------------------
# the endpoint plan (once per run) and the attachment (every step)
# ---------------------------------------------------------------------------
@dataclass
class EndpointPlan:
    """Who the endpoints of a routing run are, and how destinations are reached.

    ``mode`` is ``"pairs"`` (all pairs among the sources, each a terminal), ``"odc"`` (the network's
    orbital data centres), ``"gateways"`` (terrestrial data centres reached through gateways and their
    backhaul) or ``"terminals"`` (destinations with their own terminals). Global node ids of the
    result: satellites ``0..N-1``, ground sites ``N..N+M-1`` (sources, destinations, gateways, in
    that order), orbital data centres after.
    """

    mode: str
    src_sites: Any
    dst_sites: Any
    gw_sites: Any
    src_idx: Any
    dst_idx: Any
    gw_idx: Any
    backhaul_ms: np.ndarray | None  # (n_gw, n_dst) one-way, inf where a gateway may not serve a data centre
    nearest_gw: np.ndarray | None   # bent pipe, each user's nearest gateway
    only_gw: np.ndarray | None      # a single chosen gateway
    nodes: pd.DataFrame
    n_sat: int
    n_ground: int
    dst_off: int
    gw_off: int
    attrs: dict = field(default_factory=dict)
    isl_fallback: bool = False      # ISLs only for users whose satellites see no gateway (as operated)
    bent_users: np.ndarray | None = None  # per step scratch (fallback): users with a bent pipe (best_paths sets it)

    @property
    def ns(self) -> int:
        return len(self.src_sites)

    @property
    def nd(self) -> int:
        return int(self.nodes["kind"].eq("orbital_datacenter").sum()) if self.mode == "odc" else len(self.dst_sites)

    @property
    def all_pairs(self) -> bool:
        return self.mode == "pairs"

    @property
    def src_gid(self) -> np.ndarray:
        return self.n_sat + np.arange(self.ns)

    @property
    def dst_gid(self) -> np.ndarray:
        if self.mode == "odc":
            return self.n_sat + self.n_ground + np.arange(self.nd)
        return self.n_sat + self.dst_off + np.arange(self.nd)


@accepts_units
def plan_endpoints(network: Network, sources, destinations, *, gateways: Any = None, backhaul: Any = None,
                   gateway_radius_km: float | None = None, gateway_choice: Any = "best",
                   min_elevation_deg: float | None = None,
                   gateway_min_elevation_deg: float | None = None, isl_use: str = "any") -> EndpointPlan:
    """The endpoint plan of a run (see :class:`EndpointPlan`); validates the combination of endpoints.

    ``backhaul`` is the terrestrial model from a gateway to a data centre (``one_way_ms(lat1, lon1, lat2,
    lon2)``, :mod:`orbitlat.latency.terrestrial`; a model with ``one_way_ms(distance_km)`` still works);
    it is only used with ``gateways``. ``isl_use="fallback"`` routes over ISLs only the users whose
    satellites see no gateway (the as-deployed rule, :func:`orbitlat.latency.shortest.best_paths`).
    """
    src_sites = _sites(sources, "sources")
    all_pairs = destinations is None
    to_odc = isinstance(destinations, str) and destinations == "odc"
    if isinstance(destinations, str) and not to_odc:
        raise OrbitlatError(f"destinations={destinations!r}: give GroundSites, 'odc' or None (all pairs).")
    if to_odc and network.n_odc == 0:
        raise OrbitlatError("destinations='odc' but the network has no orbital data centre; pass odc= to Network.")
    dst_sites = src_sites if all_pairs else (None if to_odc else _sites(destinations, "destinations"))
    if gateways is not None and (all_pairs or to_odc):
        raise OrbitlatError("gateways= applies to terrestrial data-centre destinations, not to city pairs or 'odc'.")
    N = network.n_sat
    # ground node table: sources, then destinations (if distinct), then gateways
    ground = [src_sites.df.assign(role="source")]
    dst_off = 0 if all_pairs else len(src_sites)
    if dst_sites is not None and not all_pairs:
        ground.append(dst_sites.df.assign(role="destination"))
    gw_sites = None
    gw_off = sum(len(g) for g in ground)
    backhaul_ms = None
    if gateways is not None:
        gw_sites = _sites(gateways, "gateways")
        bk_km = great_circle_km(gw_sites.lat_deg[:, None], gw_sites.lon_deg[:, None], dst_sites.lat_deg[None, :],
                                dst_sites.lon_deg[None, :])
        try:  # a terrestrial model: delay between the points (routed over the graph)
            backhaul_ms = np.asarray(backhaul.one_way_ms(gw_sites.lat_deg[:, None], gw_sites.lon_deg[:, None],
                                                         dst_sites.lat_deg[None, :], dst_sites.lon_deg[None, :]),
                                     dtype=np.float64)
        except TypeError:  # a user model of orbitlat 0.1: one_way_ms(distance_km)
            backhaul_ms = np.asarray(backhaul.one_way_ms(bk_km), dtype=np.float64)
        if gateway_radius_km is not None:
            backhaul_ms = np.where(bk_km <= gateway_radius_km, backhaul_ms, np.inf)
            if not np.isfinite(backhaul_ms).any():
                raise OrbitlatError(f"no gateway lies within gateway_radius_km={gateway_radius_km:g} of a data centre; "
                                    "widen the radius or give gateways near the data centre.")
        ground.append(gw_sites.df.assign(role="gateway"))
    ground_df = pd.concat(ground, ignore_index=True)
    M = len(ground_df)
    nodes = pd.DataFrame({
        "node": np.arange(N + M + network.n_odc),
        "kind": ["satellite"] * N + ground_df["kind"].astype(str).tolist() + ["orbital_datacenter"] * network.n_odc,
        "name": network.constellation.table["name"].astype(str).tolist() + ground_df["name"].astype(str).tolist()
        + network.odc_names,
        # ground nodes' positions (space nodes move: take them from an ephemeris at the path's time)
        "lat_deg": np.r_[np.full(N, np.nan), ground_df["lat_deg"].to_numpy(float), np.full(network.n_odc, np.nan)],
        "lon_deg": np.r_[np.full(N, np.nan), ground_df["lon_deg"].to_numpy(float), np.full(network.n_odc, np.nan)],
    }).set_index("node")
    nearest_gw = None
    only_gw = None
    if gateway_choice == "nearest":
        if gw_sites is None:
            raise OrbitlatError("gateway_choice='nearest' needs gateways=.")
        if network.isl_pairs is None or network.isl_pairs.size:
            raise OrbitlatError("gateway_choice='nearest' is the bent-pipe rule: use a network with isl='none'.")
        d_ug = great_circle_km(src_sites.lat_deg[:, None], src_sites.lon_deg[:, None], gw_sites.lat_deg[None, :],
                               gw_sites.lon_deg[None, :])
        nearest_gw = np.argmin(d_ug, axis=1)
    elif isinstance(gateway_choice, (int, np.integer)) and not isinstance(gateway_choice, bool):
        if gw_sites is None or not 0 <= int(gateway_choice) < len(gw_sites):
            n_gw = 0 if gw_sites is None else len(gw_sites)
            raise OrbitlatError(f"gateway_choice={gateway_choice} must index the gateways 0..{n_gw - 1} "
                                "(and needs gateways=).")
        only_gw = np.array([int(gateway_choice)])
    elif gateway_choice != "best":
        raise OrbitlatError(f"gateway_choice={gateway_choice!r}: use 'best', 'nearest' or a gateway index.")
    if isl_use not in ("any", "fallback"):
        raise OrbitlatError(f"isl_use={isl_use!r}: use 'any' or 'fallback'.")
    if isl_use == "fallback" and (gw_sites is None or gateway_choice != "best"):
        raise OrbitlatError("ISLs as a fallback (Gateways(isl='fallback')) needs gateways= and gateway choice 'best': "
                            "it picks the best bent pipe, or the best ISL route when no bent pipe exists.")
    mode = "pairs" if all_pairs else "odc" if to_odc else "gateways" if gw_sites is not None else "terminals"
    src_idx = _site_index(src_sites, min_elevation_deg)
    dst_idx = None if mode in ("pairs", "odc") else _site_index(dst_sites, min_elevation_deg)
    gw_idx = None if gw_sites is None else _site_index(gw_sites, gateway_min_elevation_deg)
    attrs = {}
    if gw_sites is not None:
        attrs["gateways"] = len(gw_sites)
        attrs["gateway_choice"] = str(gateway_choice)
        bk = getattr(backhaul, "attrs", None)
        attrs["backhaul_model"] = bk["terrestrial_model"] if isinstance(bk, dict) and "terrestrial_model" in bk \
            else type(backhaul).__name__
    if isl_use == "fallback":
        attrs["isl_use"] = "fallback: ISLs only where the user's satellites see no gateway"
    return EndpointPlan(mode, src_sites, dst_sites, gw_sites, src_idx, dst_idx, gw_idx, backhaul_ms, nearest_gw,
                        only_gw, nodes, N, M, dst_off, gw_off, attrs, isl_fallback=isl_use == "fallback")


def attach(plan: EndpointPlan, network: Network, step: NetworkStep, delays) -> tuple[_Access, _Access | None]:
    """Both sides' attachment at ``step``: ``(A_src, A_dst)``; ``A_dst`` is None for the nearest-gateway rule.

    ``delays`` (:class:`orbitlat.latency.routing.Delays`) adds, one way: ``hop_delay_ms`` per link
    (the GSL; a gateway's GSL and its backhaul count as two links), half of ``access_ms`` on a
    terminal's GSL and half of ``gateway_ms`` on a gateway's (both are round-trip figures).
    """
    hop = float(delays.hop_delay_ms)
    term = hop + 0.5 * float(delays.access_ms)
    A_src = _terminal_access(network, step, plan.src_idx, term)
    if plan.mode == "odc":
        nd = plan.nd
        A_dst = _Access(np.arange(nd), step.n_sat + np.arange(nd), np.zeros(nd), np.full(nd, -1), nd, "core")
    elif plan.mode == "gateways":
        if plan.nearest_gw is not None:
            A_dst = None
        else:
            A_dst = _gateway_access(network, step, plan.gw_idx, plan.backhaul_ms, hop, plan.only_gw,
                                    extra_ms=0.5 * float(delays.gateway_ms))
    elif plan.mode == "pairs":
        A_dst = A_src
    else:
        A_dst = _terminal_access(network, step, plan.dst_idx, term)
    return A_src, A_dst
