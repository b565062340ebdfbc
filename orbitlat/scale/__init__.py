"""Scale-out: the same analyses in chunks on threads, processes or a Dask cluster (``scheduler=``).

See :mod:`orbitlat.scale.chunked` and ``docs/scaling.md``.
"""
from __future__ import annotations

from orbitlat.scale.chunked import (LOCAL_SCHEDULERS, SCENARIOS, Shipped, coverage, latency, passes, route,
                                    tune_workers, using, visible_sets)

__all__ = ["coverage", "visible_sets", "passes", "route", "latency", "using", "tune_workers", "Shipped", "SCENARIOS",
           "LOCAL_SCHEDULERS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
