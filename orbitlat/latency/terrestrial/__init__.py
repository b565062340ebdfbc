"""Terrestrial networks: how long a path over the ground takes (fiber between two points).

Owns the terrestrial delay models the latency layer uses for fiber baselines, gateway backhaul and
city pairs: :mod:`~orbitlat.latency.terrestrial.simple` (great circle × a fitted stretch at the speed of
light in fiber, plus a fitted overhead, calibrated on RIPE Atlas). Imports ground and the foundation.
"""
from __future__ import annotations

from orbitlat.latency.terrestrial.simple import (CALIBRATION, DEFAULT_OVERHEAD_MS, DEFAULT_STRETCH, FiberModel,
                                                 calibrate, fiber_one_way_ms, fiber_rtt_ms, vacuum_rtt_ms)

__all__ = ["FiberModel", "DEFAULT_STRETCH", "DEFAULT_OVERHEAD_MS", "CALIBRATION", "fiber_rtt_ms", "fiber_one_way_ms",
           "vacuum_rtt_ms", "calibrate"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
