""":func:`route`: RTTs and paths between ground endpoints at every time step.

The pipeline of one run, one concern per module:

1. the **endpoint plan**, once (:func:`orbitlat.latency.access.plan_endpoints`): sources,
   destinations (terminals, terrestrial data centres behind gateways, or orbital data centres),
   gateways and their terrestrial backhaul;
2. per step, the **network snapshot** (:meth:`orbitlat.latency.network.Network.step`: satellites,
   space links, orbital data centres);
3. **endpoint attachment** (:func:`orbitlat.latency.access.attach`): which core nodes each
   endpoint reaches, at what one-way delay;
4. **shortest paths** (:func:`orbitlat.latency.shortest.best_paths`: Dijkstra with exact
   warm-started trees, or the bent pipe's nearest-gateway rule);
5. **result assembly** (:class:`orbitlat.latency.assembly.Assembly`) into a
   :class:`~orbitlat.latency.results.LatencyResult`.

Options come grouped in small dataclasses (:class:`RouteOptions`, :class:`Gateways`,
:class:`Delays`); the flat keywords of orbitlat 0.1 (``hop_delay_ms=``, ``gateway_choice=``,
``paths=`` ...) are still accepted and mapped onto them.

Every delay has a name (:class:`Delays`): propagation is always included; ``access_ms`` (user link
scheduling and processing), ``gateway_ms`` (per gateway traversed), ``isl_hop_ms`` (per space link
traversed) and ``hop_delay_ms`` (uniform processing per link, each way) are added only when set, and
the result's attrs (``delays_included``) say which were.
"""
from __future__ import annotations

import dataclasses
import math
import time as _time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.latency._inputs import _times
from orbitlat.latency.access import attach, plan_endpoints
from orbitlat.latency.assembly import Assembly
from orbitlat.latency.network import Network
from orbitlat.latency.results import LatencyResult
from orbitlat.latency.shortest import _WARM_START, _WarmTrees, best_paths
from orbitlat.latency.terrestrial.base import terrestrial_model
from orbitlat.units import convert_fields

__all__ = ["route", "RouteOptions", "Gateways", "Delays", "estimate_route_memory"]

#: Path matrices hold up to this many nodes per (src, dst) pair in the estimate (LEO routes: 5-20 hops).
_PATH_NODES = 24


def estimate_route_memory(n_src: int, n_dst: int, n_times: int, *, paths: str | None = "changes") -> float:
    """Peak bytes of :func:`route`: the RTT array (time, src, dst) and its copies in the result and the
    summaries (3 x 8 B per sample), per-pair arrays (fiber, bound, changes: 32 B) and, with ``paths``,
    two path matrices per step (2 x 8 B x hops per pair).

    >>> round(estimate_route_memory(20_000, 20_000, 25, paths=None) / 2**30)  # 20,000 cities, all pairs
    235
    """
    pairs = float(n_src) * float(n_dst)
    per_pair = 24.0 * n_times + 32.0 + (16.0 * _PATH_NODES if paths is not None else 0.0)
    return pairs * per_pair


def check_route_memory(n_src: int, n_dst: int, n_times: int, *, paths: str | None, all_pairs: bool) -> None:
    from orbitlat.memory import check_memory

    hints = [f"a shorter span or a coarser step (now {n_times:,} steps)"]
    if all_pairs:
        hints.insert(0, f"fewer users (now {n_src:,}: memory grows with their square)")
        hints.append("orbitlat.latency.scenarios.city_pair_summary, which keeps per-city summaries instead of the "
                     "(time, src, dst) matrix (the CLI switches to it by itself)")
    else:
        hints.insert(0, f"fewer users (now {n_src:,})")
    if paths is not None:
        hints.append("paths=None (no path matrices)")
    check_memory(estimate_route_memory(n_src, n_dst, n_times, paths=paths),
                 f"routing {n_src:,} x {n_dst:,} pairs over {n_times:,} steps", hints)


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def _nonneg_ms(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(float(value)) or float(value) < 0:
        raise OrbitlatError(f"{name}={value!r} must be a finite number >= 0 (milliseconds).")
    return float(value)


@dataclass(frozen=True)
class Delays:
    """The named delays added to the propagation delay of every routed path.

    Propagation (the light time of every link, there and back) is always included. The others are
    zero unless set, and the result's ``attrs["delays_included"]`` lists those that were.

    Parameters
    ----------
    access_ms : float
        Round trip, once per user terminal on the path (a city pair has two): scheduling,
        processing and queueing on the user link.
    gateway_ms : float
        Round trip, once per gateway traversed (ground-station processing).
    isl_hop_ms : float
        Round trip, per space link traversed (ISLs and orbital-data-centre lasers).
    hop_delay_ms : float
        Each way, per link of any kind (the uniform per-hop processing of orbitlat 0.1).

    Examples
    --------
    >>> Delays(access_ms=15.0).included()
    'propagation, access'
    """

    access_ms: float = 0.0
    gateway_ms: float = 0.0
    isl_hop_ms: float = 0.0
    hop_delay_ms: float = 0.0

    def __post_init__(self):
        convert_fields(self)  # astropy Quantities (2 * u.ms) at the edge
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _nonneg_ms(getattr(self, f.name), f.name))

    def included(self) -> str:
        """Comma-separated names of the delays included ("propagation" always)."""
        names = ["propagation"]
        for attr, label in (("access_ms", "access"), ("gateway_ms", "gateway"), ("isl_hop_ms", "ISL hop"),
                            ("hop_delay_ms", "per-hop processing")):
            if getattr(self, attr):
                names.append(label)
        return ", ".join(names)

    def describe(self) -> str:
        """A phrase for ``long_name``: what an RTT includes."""
        parts = ["propagation there and back"]
        if self.access_ms:
            parts.append(f"{self.access_ms:g} ms access per user terminal")
        if self.gateway_ms:
            parts.append(f"{self.gateway_ms:g} ms per gateway")
        if self.isl_hop_ms:
            parts.append(f"{self.isl_hop_ms:g} ms per space link")
        if self.hop_delay_ms:
            parts.append(f"{self.hop_delay_ms:g} ms per hop each way")
        return " + ".join(parts)

    def attrs(self) -> dict:
        """The delays as result attributes (ms) plus ``delays_included``."""
        return {"hop_delay_ms": self.hop_delay_ms, "access_ms": self.access_ms, "gateway_ms": self.gateway_ms,
                "isl_hop_ms": self.isl_hop_ms, "delays_included": self.included()}


def default_backhaul(backhaul: Any = None):
    """The gateway → data-centre model: ``backhaul`` as given (a model or a name), else the routed model with
    no fixed overhead (a data-centre-grade link: propagation over the route only) that attaches gateways
    however far they are from the terrestrial graph (a gateway is where fiber is)."""
    if backhaul is None or (isinstance(backhaul, str) and backhaul == "routed"):
        from orbitlat.latency.terrestrial.routed import RoutedModel

        return RoutedModel(overhead_ms=0.0, max_attach_km=float("inf"))
    if isinstance(backhaul, str) and backhaul == "simple":
        from orbitlat.latency.terrestrial.simple import FiberModel

        return FiberModel(overhead_ms=0.0)
    return terrestrial_model(backhaul)


@dataclass(frozen=True)
class Gateways:
    """Terrestrial data-centre destinations reached through gateways.

    Parameters
    ----------
    sites : GroundSites
        The gateways.
    backhaul : terrestrial model or name, optional
        Gateway → data-centre delay model (:mod:`orbitlat.latency.terrestrial`; default: the routed
        model without its fixed overhead, a data-centre-grade link: :func:`default_backhaul`).
    radius_km : float, optional
        Use only gateways within this great-circle distance of a data centre.
    choice : "best", "nearest" or int
        ``"best"``: routing picks the gateway; ``"nearest"``: each user's nearest gateway (the bent
        pipe rule, no ISLs); an int: that gateway only.
    min_elevation_deg : float, optional
        The gateways' elevation mask (default: each site's own).
    isl : {"any", "fallback"}
        ``"any"``: the shortest path may use ISLs anywhere. ``"fallback"``: as Starlink operates, a
        user whose satellites see a gateway goes down through it (the best such bent pipe, no
        ISLs); only a user none of whose satellites sees a gateway is routed over ISLs
        (:func:`orbitlat.latency.shortest.best_paths`).
    """

    sites: Any
    backhaul: Any = None
    radius_km: float | None = None
    choice: Any = "best"
    min_elevation_deg: float | None = None
    isl: str = "any"

    def __post_init__(self):
        convert_fields(self)  # radius_km, min_elevation_deg as astropy Quantities
        if self.isl not in ("any", "fallback"):
            raise OrbitlatError(f"Gateways(isl={self.isl!r}): use 'any' (shortest path, ISLs anywhere) or "
                                "'fallback' (bent pipe when a user's satellite sees a gateway, ISLs otherwise).")


@dataclass(frozen=True)
class RouteOptions:
    """Everything :func:`route` can be told besides the network, the endpoints and the times.

    Parameters
    ----------
    min_elevation_deg : float, optional
        Elevation mask of users and destination terminals (default: each site's own).
    gateways : Gateways, optional
        Destinations are terrestrial data centres behind these gateways.
    delays : Delays
        The named delays added to propagation.
    paths : {"changes", "all", None}
        Keep each (src, dst) path when it changes (default), at every step, or not at all.
    fiber : terrestrial model or name, optional
        Model of the ``fiber_rtt_ms`` baseline: ``"routed"`` (default, cables and backbone) or
        ``"simple"`` (great circle × stretch), or a model instance (:mod:`orbitlat.latency.terrestrial`).
    odc_direct : bool
        With ``destinations="odc"``, also report ``direct_rtt_ms`` (a direct link only).
    progress : bool
        Print a line every 60 steps.
    workers : int
        Processes sharing the time steps (contiguous blocks, merged to the single-process result).
    """

    min_elevation_deg: float | None = None
    gateways: Gateways | None = None
    delays: Delays = field(default_factory=Delays)
    paths: str | None = "changes"
    fiber: Any = None
    odc_direct: bool = True
    progress: bool = False
    workers: int = 1

    #: The flat keywords of orbitlat 0.1 and where they go.
    LEGACY = ("backhaul", "gateway_radius_km", "gateway_choice", "gateway_min_elevation_deg", "min_elevation_deg",
              "hop_delay_ms", "access_ms", "gateway_ms", "isl_hop_ms", "paths", "fiber", "odc_direct", "progress",
              "workers")

    def __post_init__(self):
        convert_fields(self)
        if self.paths not in ("changes", "all", None):
            raise OrbitlatError(f"paths={self.paths!r} is not known; use 'changes', 'all' or None.")
        w = self.workers
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or w < 1:
            raise OrbitlatError(f"workers={w!r} must be a whole number of processes >= 1.")
        if not isinstance(self.delays, Delays):
            raise OrbitlatError(f"delays must be an orbitlat.latency.routing.Delays; got {type(self.delays).__name__}.")

    @classmethod
    def build(cls, options: "RouteOptions | None" = None, gateways: Any = None, **kwargs) -> "RouteOptions":
        """Options from an optional base, a ``gateways`` argument (GroundSites or :class:`Gateways`) and flat keywords."""
        unknown = sorted(set(kwargs) - set(cls.LEGACY))
        if unknown:
            raise OrbitlatError(f"route() got unknown option(s) {', '.join(unknown)}; valid keywords are "
                                f"{', '.join(cls.LEGACY)}, or pass options=RouteOptions(...).")
        base = options if options is not None else cls()
        if not isinstance(base, cls):
            raise OrbitlatError(f"options must be a RouteOptions; got {type(base).__name__}.")
        gw = base.gateways
        if gateways is not None:
            gw = gateways if isinstance(gateways, Gateways) else Gateways(sites=gateways)
        gw_kw = {k_new: kwargs.pop(k_old) for k_old, k_new in (("backhaul", "backhaul"), ("gateway_radius_km", "radius_km"),
                 ("gateway_choice", "choice"), ("gateway_min_elevation_deg", "min_elevation_deg")) if k_old in kwargs}
        if gw is not None and gw_kw:
            gw = dataclasses.replace(gw, **gw_kw)
        elif gw is None and gw_kw.get("choice") not in (None, "best"):
            gw = Gateways(sites=None, **gw_kw)  # validated against the endpoints (needs gateways=)
        d_kw = {k: kwargs.pop(k) for k in ("hop_delay_ms", "access_ms", "gateway_ms", "isl_hop_ms") if k in kwargs}
        delays = dataclasses.replace(base.delays, **d_kw) if d_kw else base.delays
        return dataclasses.replace(base, gateways=gw, delays=delays, **kwargs)


def route(network: Network, sources, destinations=None, *, times=None, start=None, duration=None, step=None,
          gateways=None, options: RouteOptions | None = None, scheduler: Any = None, time_chunk: int | None = None,
          retries: int = 2, **kwargs) -> LatencyResult:
    """Route from ground ``sources`` to ``destinations`` at every time step.

    Parameters
    ----------
    network : Network
    sources : GroundSites
        Users (endpoints with terminals).
    destinations : GroundSites, "odc", or None
        Ground sites; or ``"odc"`` for the network's orbital data centre(s); or None
        for all pairs among ``sources`` (city pairs).
    times, start, duration, step
        The time grid (default: one day at 60 s from the constellation's epoch).
    gateways : GroundSites or Gateways, optional
        If given, ground ``destinations`` are terrestrial data centres reached only
        through these gateways (GSL + terrestrial backhaul); otherwise they are terminals.
    options : RouteOptions, optional
        Masks, gateway rules, named delays, outputs (see :class:`RouteOptions`).
    scheduler, time_chunk, retries
        Run time blocks of ``time_chunk`` steps on a scheduler of :mod:`orbitlat.scale`
        (``"processes"``, a Dask client, an address ...), re-running a failed block up to
        ``retries`` times; ``workers`` > 1 runs one block per local worker process. The blocks
        are merged into the one-process result bit for bit (:mod:`orbitlat.latency.blocks`).
    **kwargs
        The same options as flat keywords (orbitlat 0.1): ``backhaul``, ``gateway_radius_km``,
        ``gateway_choice``, ``gateway_min_elevation_deg``, ``min_elevation_deg``, ``hop_delay_ms``,
        ``access_ms``, ``gateway_ms``, ``isl_hop_ms``, ``paths``, ``fiber``, ``odc_direct``,
        ``progress``, ``workers``; they override ``options``.

    Returns
    -------
    LatencyResult
        ``rtt.rtt_ms.attrs["delays_included"]`` names the delays in every RTT.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.ground import GroundSites
    >>> net = Network(ol.presets.get("iridium"))
    >>> users = GroundSites(["London", "Paris"], [51.5074, 48.8566], [-0.1278, 2.3522])
    >>> r = route(net, users, None, duration="2 min", step="60 s", options=RouteOptions(delays=Delays(access_ms=10)))
    >>> r.rtt.rtt_ms.attrs["delays_included"]
    'propagation, access'
    """
    t0 = _time.perf_counter()
    if not isinstance(network, Network):
        raise OrbitlatError(f"route needs an orbitlat.latency.network.Network; got {type(network).__name__}.")
    opts = RouteOptions.build(options, gateways, **kwargs)
    gw = opts.gateways
    plan = plan_endpoints(
        network, sources, destinations, gateways=None if gw is None else gw.sites,
        backhaul=default_backhaul(None if gw is None else gw.backhaul),
        gateway_radius_km=None if gw is None else gw.radius_km, gateway_choice="best" if gw is None else gw.choice,
        min_elevation_deg=opts.min_elevation_deg, gateway_min_elevation_deg=None if gw is None else gw.min_elevation_deg,
        isl_use="any" if gw is None else gw.isl)
    tg = _times(network, times, start, duration, step)
    from orbitlat.scale.runners import current

    # the whole span's result is held here, however the work is cut: estimated before any big work
    check_route_memory(plan.ns, plan.nd, len(tg), paths=opts.paths, all_pairs=plan.all_pairs)
    workers = min(int(opts.workers), len(tg))
    if workers > 1 or scheduler is not None or time_chunk is not None or current() is not None:
        from orbitlat.latency.blocks import route_in_blocks

        return route_in_blocks(network, sources, destinations, tg, {"options": dataclasses.replace(opts, workers=1)},
                               paths=opts.paths, scheduler=scheduler, workers=workers, time_chunk=time_chunk,
                               retries=retries, wall0=t0)
    fiber = terrestrial_model(opts.fiber)
    delays = opts.delays
    want = opts.paths is not None
    asm = Assembly(plan, network, tg, paths=opts.paths, odc_direct=opts.odc_direct)
    warm = _WarmTrees() if _WARM_START else None  # trees carried from step to step (exact)
    k_t, nt = 0, len(tg)
    for tg_chunk, sat_xyz, odc_xyz in network.positions(tg):
        for j in range(len(tg_chunk)):
            snap = network.step(sat_xyz[j], odc_xyz[j], time=tg_chunk.utc[j])      # network snapshot
            A_src, A_dst = attach(plan, network, snap, delays)                     # endpoint attachment
            one_way, P = best_paths(plan, network, snap, A_src, A_dst, delays, want, warm)  # shortest paths
            asm.add(k_t, snap, A_src, A_dst, one_way, P)                           # result assembly
            k_t += 1
            if opts.progress and k_t % 60 == 0:
                print(f"step {k_t}/{nt} ({_time.perf_counter() - t0:.1f} s)")
    extra = {}
    if warm is not None and warm.trees:
        # routing work: source trees needed (steps x sources) and how many Dijkstra solved (the rest
        # were the previous step's trees, re-verified optimal)
        extra = {"routing_trees": int(warm.trees), "repaired_trees": int(warm.repaired),
                 "dijkstra_trees": int(warm.solved)}
    return asm.result(fiber=fiber, delays=delays, wall0=t0, extra_attrs=extra)
