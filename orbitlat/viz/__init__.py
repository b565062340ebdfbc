"""Figures: maps, plots and animations of orbits, coverage and latency (the ``maps`` extra).

Owns everything drawn: :mod:`~orbitlat.viz.maps` gathers the map functions (modules
:mod:`~orbitlat.viz.basemap`, :mod:`~orbitlat.viz.seams`, :mod:`~orbitlat.viz.tracks`,
:mod:`~orbitlat.viz.values`, :mod:`~orbitlat.viz.paths`, :mod:`~orbitlat.viz.sky`,
:mod:`~orbitlat.viz.animate`; laid out by :mod:`~orbitlat.viz.layout`) and
:mod:`~orbitlat.viz.plots` the charts (time series, counts, CDFs) and figure saving. matplotlib and cartopy
are imported on first use. Imports any analysis layer below; imported only by the faces
(:mod:`orbitlat.report`, :mod:`orbitlat.cli`).
"""
from __future__ import annotations

__all__ = ["maps", "plots", "animate"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def __getattr__(name: str):
    if name in __all__:
        from importlib import import_module

        mod = import_module(f"orbitlat.viz.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'orbitlat.viz' has no attribute {name!r}")
