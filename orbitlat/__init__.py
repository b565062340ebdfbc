"""orbitlat: who can see what, when, and how fast.

Constellations, vectorized propagation, visibility, coverage and latency for satellite
constellations. Importing orbitlat opens no network connection and loads nothing heavy: every
name below is imported on first use.

The package is laid out as the pipeline it runs (``docs/architecture.md``)::

    foundation   time, errors, constants, data (built-in files)
    scale        chunks + kernel + exact merge, run locally or on Dask
    orbits       constellations, presets, TLE/OMM, propagation        ground   sites, grids, geodesy
    visibility   look angles, visible sets, passes, footprints, sunlight
    coverage     figures of merit                                      latency  networks, routing, scenarios
    viz, export  maps, plots; CSV/Parquet/NetCDF/CZML
    faces        report, cli (and parallel: the pre-0.2 scale-out wrappers)

A layer imports only the layers below it (checked in CI by import-linter).

>>> import orbitlat as ol
>>> c = ol.presets.get("iridium")
>>> c.size
66
"""
from __future__ import annotations

from importlib import import_module as _import_module

__version__ = "0.1.0"

from orbitlat.errors import CompileNotice, EpochWarning, OMMError, OrbitlatError, PropagationWarning, TLEError

# Public names, loaded on first use so that `import orbitlat` stays fast (< 1 s) and opens nothing.
_lazy_attrs = {
    "TimeGrid": ("orbitlat.time", "TimeGrid"),
    "to_timegrid": ("orbitlat.time", "to_timegrid"),
    "Constellation": ("orbitlat.orbits.constellation", "Constellation"),
    "GroundSites": ("orbitlat.ground.sites", "GroundSites"),
    "Grid": ("orbitlat.ground.grids", "Grid"),
}

# Layer packages and the modules the README tours (ol.presets, ol.walker, ol.sun, ol.maps, ...).
_lazy = {
    # foundation
    "time": "orbitlat.time",
    "constants": "orbitlat.constants",
    # layers
    "orbits": "orbitlat.orbits",
    "ground": "orbitlat.ground",
    "visibility": "orbitlat.visibility",
    "coverage": "orbitlat.coverage",
    "latency": "orbitlat.latency",
    "scale": "orbitlat.scale",
    "viz": "orbitlat.viz",
    "export": "orbitlat.export",
    "report": "orbitlat.report",
    "cli": "orbitlat.cli",
    # modules used directly
    "presets": "orbitlat.orbits.presets",
    "walker": "orbitlat.orbits.walker",
    "sso": "orbitlat.orbits.sso",
    "cluster": "orbitlat.orbits.cluster",
    "sun": "orbitlat.visibility.sunlight",
    "maps": "orbitlat.viz.maps",
    "plots": "orbitlat.viz.plots",
    "terrestrial": "orbitlat.latency.terrestrial",
}

# The flat module names of orbitlat 0.1 (before the layer packages), still reachable as attributes
# (``ol.grids``, ``ol.fiber``, ...) for existing scripts; not listed by dir() or tab completion.
_legacy = {
    "constellation": "orbitlat.orbits.constellation",
    "io": "orbitlat.orbits.tle",
    "fetch": "orbitlat.orbits.fetch",
    "inference": "orbitlat.orbits.inference",
    "interop": "orbitlat.orbits.interop",
    "propagation": "orbitlat.orbits.propagation",
    "geodesy": "orbitlat.ground.geodesy",
    "sites": "orbitlat.ground.sites",
    "grids": "orbitlat.ground.grids",
    "engine": "orbitlat.visibility.engine",
    "footprint": "orbitlat.visibility.footprints",
    "network": "orbitlat.latency.network",
    "fiber": "orbitlat.latency.terrestrial.simple",
    "hypatia": "orbitlat.latency.hypatia",
    "parallel": "orbitlat.parallel",
}


def __getattr__(name: str):
    if name in _lazy_attrs:
        mod, attr = _lazy_attrs[name]
        value = getattr(_import_module(mod), attr)
        globals()[name] = value
        return value
    target = _lazy.get(name) or _legacy.get(name)
    if target is not None:
        mod = _import_module(target)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'orbitlat' has no attribute {name!r}")


def __dir__():
    return sorted(set(__all__) | {"__version__"})


__all__ = [
    "OrbitlatError", "TLEError", "OMMError", "PropagationWarning", "EpochWarning", "CompileNotice",
    *_lazy_attrs, *_lazy,
]
