"""Latency: shortest-delay routing and round-trip times over satellites, gateways, fiber and orbital
data centres. Layer 3 of the pipeline, beside :mod:`orbitlat.coverage`.

Modules: :mod:`~orbitlat.latency.network` (the per-step network: satellites, ISL topologies,
ground links, orbital data centres), :mod:`~orbitlat.latency.access` (attaching endpoints: users,
gateways, data centres), :mod:`~orbitlat.latency.shortest` (shortest paths with warm-started
trees), :mod:`~orbitlat.latency.routing` (the ``route`` driver), :mod:`~orbitlat.latency.results`
(``LatencyResult`` and its summaries), :mod:`~orbitlat.latency.scenarios` (one call per study),
:mod:`~orbitlat.latency.terrestrial` (terrestrial models: routed over cables and backbone, the
default, or the simple great-circle stretch) and :mod:`~orbitlat.latency.hypatia` (Hypatia's
setup, reproduced). Imports visibility, orbits, ground, scale and the foundation; never coverage or
the faces.

Per time step the network (:class:`orbitlat.latency.network.Network`) gives the space links
and the ground–satellite links; this module routes over them with
:func:`scipy.sparse.csgraph.dijkstra` by one-way delay (from one step to the next it
keeps the shortest-path trees that are still optimal and repairs the others: the
same delays as a fresh Dijkstra, faster at short steps) and reports

- ``rtt`` : :class:`xarray.Dataset` with ``rtt_ms`` (time, src, dst): propagation
  there and back (the graph is symmetric, so ``2 ×`` the one-way delay) plus an
  optional processing delay per hop; NaN where there is no path. Baselines
  ``fiber_rtt_ms`` and ``bound_rtt_ms`` (src, dst): the terrestrial model
  (:mod:`orbitlat.latency.terrestrial`, ``fiber="routed"`` by default or ``"simple"``; its attrs
  name the model, the delays it includes and its calibration) and the great-circle vacuum bound ``2·d/c``.
- ``paths`` : :class:`pandas.DataFrame` of the node sequence per (time, src, dst),
  by default only when it changes (``paths="changes"``); node ids are global:
  satellites ``0..N-1``, ground sites ``N..N+M-1``, orbital data centres after
  (``result.nodes`` names them).
- ``path_changes`` : number of path changes per (src, dst).
- ``unreachable`` : the (time, src, dst) with no path, each with its reason: no
  satellite in view at the source, none at the destination (for a terrestrial data
  centre: at its gateways), or the network is partitioned (both ends see satellites
  but no chain of links joins them; for a bent pipe: no satellite sees both the user
  and a gateway).

Routing rules
-------------
Ground sites are endpoints: a path is ``ground → space … space → ground`` and never
relays through another ground site's radio (Hypatia's rule). A terrestrial data
centre is reached through its gateways: the access link is the gateway's GSL plus
the gateway's fiber backhaul to the data centre (the routed terrestrial model,
:class:`orbitlat.latency.terrestrial.RoutedModel`, with no fixed overhead: a data-centre-grade link;
``backhaul="simple"`` for the great-circle stretch), and routing picks the best gateway.
For many users and one destination, Dijkstra runs once, from the destination, and
every user's delay is read from it; for all pairs among ground sites it runs from
the sources only (the smaller side always).

Scenarios (one call each)
-------------------------
- :func:`bent_pipe`: users → satellite → gateway (best, nearest or chosen) → fiber → data centre.
- :func:`via_isl`: users → ISL constellation → gateway near the data centre → fiber → data centre.
- :func:`orbital_datacenter`: users → relays over ISLs → orbital data centre; and direct while in view.
- :func:`city_pairs`: RTT between ground sites (Hypatia style), with fiber and the vacuum bound.
- :func:`as_deployed`: Starlink as operated: user → satellite → (ISLs only when that satellite sees
  no gateway) → gateway → the user's PoP → destination; dish → PoP RTT (what Starlink publishes)
  and dish → destination RTT.

Every satellite scenario adds the named **access overhead** to propagation by default
(``overhead="calibrated"``: 16.9 ms per user terminal, fitted so that the modelled US dish → PoP
median equals Starlink's published 25.7 ms; :mod:`orbitlat.latency.overhead`); ``overhead="none"``
gives pure propagation for physics studies, ``"high"`` a sensitivity case. :func:`route` itself and
Hypatia mode (:mod:`orbitlat.latency.hypatia`) add nothing unless told.

Each returns a :class:`LatencyResult`; :meth:`LatencyResult.summary` gives p50/p95/p99/max
per user, per region (continent) and population-weighted over the globe, and
:meth:`LatencyResult.time_series` the population-weighted series over the day.

What the model gives (measured with this module)
------------------------------------------------
Median RTT over one day at 60 s steps to Stargate (Abilene, TX), Starlink Gen1 preset
(FCC 2021, 4,408 satellites), 25° masks for terminals and gateways, propagation only
(``overhead="none"``; the default adds 16.9 ms per user terminal to each satellite row):

==========================================================  =======  =======  =========
path                                                         Lagos   Jakarta  São Paulo
==========================================================  =======  =======  =========
fiber, simple model (great circle x 1.962 + 8.38 ms)         217 ms   316 ms   170 ms
fiber, routed model (the default since issue 12)              217 ms   276 ms   158 ms
bent pipe, best of 222 Starlink gateway sites + fiber        216 ms   301 ms   161 ms
ISLs (+Grid), down at a gateway at the data centre            84 ms   118 ms    64 ms
orbital data centre (Suncatcher-like, 650 km dawn–dusk SSO)   76 ms    76 ms    76 ms
==========================================================  =======  =======  =========

The orbital data centre is equally far from everyone on average (it circles the poles),
with a wide spread (p95 about 120 ms); a direct link to it exists only about 1 % of the
day (RTT about 6–7 ms then). London → New York over ISLs: 43 ms (vacuum bound 37 ms,
simple fiber model 115 ms, routed model 86 ms over Hibernia Express, Handley's measured Internet 76 ms).

>>> import orbitlat as ol
>>> from orbitlat.ground import GroundSites
>>> users = GroundSites(["London", "New York"], [51.5074, 40.7128], [-0.1278, -74.0060])
>>> r = city_pairs("starlink_gen1", users, duration="2 min", step="60 s")
>>> r.rtt.rtt_ms.dims
('time', 'src', 'dst')
>>> bool((r.rtt.rtt_ms.sel(src="London", dst="New York") < r.rtt.fiber_rtt_ms.sel(src="London", dst="New York")).all())
True
"""
from __future__ import annotations

from orbitlat.latency.network import Network, NetworkStep, nearest_k_links, odc_links, plus_grid
from orbitlat.latency.results import CONTINENTS, REASONS, LatencyResult, regions, weighted_quantile
from orbitlat.latency.routing import route
from orbitlat.latency.scenarios import (as_deployed, assign_pops, bent_pipe, city_pairs, crossover,
                                        dish_to_pop_by_country, fiber_baseline, orbital_datacenter, via_isl)
from orbitlat.latency.terrestrial import FiberModel, RoutedModel

__all__ = ["LatencyResult", "route", "bent_pipe", "via_isl", "orbital_datacenter", "city_pairs", "fiber_baseline",
           "crossover", "as_deployed", "assign_pops", "dish_to_pop_by_country", "weighted_quantile", "regions",
           "REASONS", "CONTINENTS", "Network", "NetworkStep", "plus_grid", "nearest_k_links", "odc_links", "FiberModel",
           "RoutedModel"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
