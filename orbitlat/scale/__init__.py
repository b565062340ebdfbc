"""Scale-out: run any analysis, described as chunks + kernel + exact merge, here or on Dask.

The layer just above the foundation, below orbits and ground (every analysis layer may use it).

Owns the protocol (:class:`~orbitlat.scale.plan.Plan`: chunks, a per-chunk kernel, an exact
associative merge and a finish step; :func:`~orbitlat.scale.plan.time_bounds` for time chunks
that keep results identical) and the runners that execute a plan on this thread, local threads,
local processes or a Dask cluster, with retries (:mod:`orbitlat.scale.runners`: ``scheduler=``,
:func:`using`, :func:`tune_workers`). Imports only the foundation; it knows no analysis: coverage,
visibility and latency build their own plans and call it (``scheduler=`` on
:func:`orbitlat.coverage.coverage`, :func:`orbitlat.visibility.passes`, ...). See
``docs/architecture.md`` and ``docs/scaling.md``.

The per-analysis entry points that lived here before (``orbitlat.scale.coverage``,
``visible_sets``, ``passes``, ``latency``, ``route``) are now the analyses themselves with
``scheduler=``; thin wrappers with the old names and signatures live in :mod:`orbitlat.parallel`
(also ``ol.parallel``).
"""
from __future__ import annotations

from orbitlat.scale.plan import Plan, check_chunk, check_retries, time_bounds
from orbitlat.scale.runners import (LOCAL_SCHEDULERS, Runner, cpu_count, current, iterate, run, runner, tune_workers,
                                    using)

__all__ = ["Plan", "Runner", "run", "iterate", "runner", "using", "current", "tune_workers", "time_bounds",
           "check_chunk", "check_retries", "cpu_count", "LOCAL_SCHEDULERS"]

_MOVED = {
    "coverage": "orbitlat.coverage.coverage(..., scheduler=...)",
    "visible_sets": "orbitlat.visibility.visible_sets(constellation, sites, ..., scheduler=...)",
    "passes": "orbitlat.visibility.passes(..., scheduler=...)",
    "route": "orbitlat.latency.route(..., scheduler=...)",
    "latency": "the scenario itself, e.g. orbitlat.latency.city_pairs(..., scheduler=...)",
    "Shipped": "nothing: a Constellation pickles without its sgp4 caches by itself",
    "SCENARIOS": "orbitlat.parallel.SCENARIOS",
}


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def __getattr__(name: str):
    if name in _MOVED:
        raise AttributeError(
            f"orbitlat.scale.{name} moved: the scale layer knows no analysis by name. Use {_MOVED[name]}, or "
            f"orbitlat.parallel.{name} (ol.parallel.{name}) with the old signature.")
    raise AttributeError(f"module 'orbitlat.scale' has no attribute {name!r}")
