"""orbitlat: who can see what, when, and how fast.

Constellations, vectorized propagation, visibility, coverage and latency for
satellite constellations. Importing orbitlat opens no network connection; heavy
optional dependencies (cartopy, boinor, dask) are imported only when used.

>>> import orbitlat as ol
>>> c = ol.presets.get("iridium")
>>> c.size
66
"""
from __future__ import annotations

from importlib import import_module as _import_module

__version__ = "0.1.0"

from .errors import OrbitlatError, TLEError, OMMError, PropagationWarning, EpochWarning

# Everything else loads on first use, so `import orbitlat` stays fast (< 1 s) and opens nothing.
_lazy_attrs = {
    "TimeGrid": (".time", "TimeGrid"),
    "to_timegrid": (".time", "to_timegrid"),
    "Constellation": (".constellation", "Constellation"),
}

_lazy = {
    "time": ".time",
    "constellation": ".constellation",
    "walker": ".walker",
    "sso": ".sso",
    "cluster": ".cluster",
    "engine": ".engine",
    "cli": ".cli",
    "constants": ".constants",
    "grids": ".grids",
    "footprint": ".footprint",
    "fetch": ".fetch",
    "fiber": ".fiber",
    "hypatia": ".hypatia",
    "plots": ".plots",
    "presets": ".presets",
    "io": ".io",
    "propagation": ".propagation",
    "geodesy": ".geodesy",
    "inference": ".inference",
    "interop": ".interop",
    "sites": ".sites",
    "visibility": ".visibility",
    "sun": ".sun",
    "coverage": ".coverage",
    "network": ".network",
    "latency": ".latency",
    "maps": ".maps",
    "report": ".report",
    "parallel": ".parallel",
}


def __getattr__(name: str):
    if name in _lazy_attrs:
        mod, attr = _lazy_attrs[name]
        value = getattr(_import_module(mod, __name__), attr)
        globals()[name] = value
        return value
    if name in _lazy:
        mod = _import_module(_lazy[name], __name__)
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'orbitlat' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_lazy) | set(_lazy_attrs))


__all__ = [
    "OrbitlatError", "TLEError", "OMMError", "PropagationWarning", "EpochWarning",
    *_lazy_attrs, *_lazy,
]
