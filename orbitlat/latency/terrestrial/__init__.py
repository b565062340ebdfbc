"""Terrestrial networks: how long a path over the ground takes (fiber between two points).

Owns the terrestrial delay models the latency layer uses for fiber baselines, gateway backhaul and
city pairs, behind one interface (:mod:`~orbitlat.latency.terrestrial.base`: ``rtt_ms``,
``one_way_ms``, ``path_km``, ``route``, ``attrs``):

* :mod:`~orbitlat.latency.terrestrial.routed` (``"routed"``, the default): shortest routes over a
  built-in graph of submarine cables and long-haul land links, calibrated and cross-validated on
  RIPE Atlas (:mod:`~orbitlat.latency.terrestrial.calibration`);
* :mod:`~orbitlat.latency.terrestrial.simple` (``"simple"``): great circle × a fitted stretch at the
  speed of light in fiber, plus a fitted overhead.

Imports ground and the foundation.
"""
from __future__ import annotations

from orbitlat.latency.terrestrial.base import MODEL_NAMES, TerrestrialModel, TerrestrialRoute, terrestrial_model
from orbitlat.latency.terrestrial.routed import RoutedModel, TerrestrialGraph
from orbitlat.latency.terrestrial.simple import (CALIBRATION, DEFAULT_OVERHEAD_MS, DEFAULT_STRETCH, FiberModel,
                                                 calibrate, fiber_one_way_ms, fiber_rtt_ms, vacuum_rtt_ms)

__all__ = ["TerrestrialModel", "TerrestrialRoute", "terrestrial_model", "MODEL_NAMES", "RoutedModel",
           "TerrestrialGraph", "FiberModel", "DEFAULT_STRETCH", "DEFAULT_OVERHEAD_MS", "CALIBRATION", "fiber_rtt_ms",
           "fiber_one_way_ms", "vacuum_rtt_ms", "calibrate"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
