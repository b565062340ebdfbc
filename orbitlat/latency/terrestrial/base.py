"""The terrestrial-model interface: what every model of a path over the ground answers.

Owns :class:`TerrestrialModel` (the protocol both the routed model and the simple stretch model
implement), :class:`TerrestrialRoute` (one pair's route: hubs, legs, cable names) and
:func:`terrestrial_model` (pick a model by name, ``"routed"`` or ``"simple"``). Imports the
foundation only.

The contract
------------
``rtt_ms(lat1, lon1, lat2, lon2)`` and ``one_way_ms(...)``
    Round-trip / one-way delay between points (degrees), ms; broadcasts like numpy, returns a
    float for scalars. One-way is exactly half the round trip (half the overhead included).
``route(lat1, lon1, lat2, lon2)``
    One pair's :class:`TerrestrialRoute`: the points it passes, each leg's kind and length, the
    cables used, and its RTT (equal to ``rtt_ms`` for the pair).
``attrs``
    A dict naming the model, the delays it includes (``delays``) and its calibration source:
    results that use a model copy it, so a reader knows what was compared.

Every model also answers ``path_km(...)``: the length the signal travels (before the residual
stretch and overhead), used by backhaul legs that carry no overhead of their own.

Bad input (NaN, latitudes beyond ±90°) raises :class:`~orbitlat.errors.OrbitlatError`; identical
endpoints give the model's fixed overhead (a local round trip), never NaN.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["TerrestrialModel", "TerrestrialRoute", "terrestrial_model", "MODEL_NAMES", "check_points"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Names accepted by :func:`terrestrial_model` (and ``--terrestrial`` in the CLI).
MODEL_NAMES = ("routed", "simple")


@dataclass(frozen=True)
class TerrestrialRoute:
    """One pair's terrestrial route.

    Attributes
    ----------
    lat_deg, lon_deg : ndarray
        The points the route passes, endpoints included (degrees).
    names : list of str
        A label per point (``"source"``, hub names, ``"destination"``).
    leg_kind : list of str
        Per leg (``len(names) - 1``): ``"access"`` (endpoint to its hub over land), ``"land"``
        (long-haul terrestrial link), ``"submarine"`` or ``"great circle"`` (the simple model).
    leg_km : ndarray
        Per-leg length the model counts, km (land legs include the land route factor).
    cables : list of str
        Per leg: the cable system(s) for submarine legs, ``""`` otherwise.
    rtt_ms : float
        The model's round-trip time for the pair, ms.
    model : str
        The model's name.
    """

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    names: list
    leg_kind: list
    leg_km: np.ndarray
    cables: list
    rtt_ms: float
    model: str
    attrs: dict = field(default_factory=dict)

    @property
    def length_km(self) -> float:
        """Total counted length, km."""
        return float(np.sum(self.leg_km))

    @property
    def cables_used(self) -> list:
        """Distinct cable systems along the route, in order."""
        return list(dict.fromkeys(c for c in self.cables if c))

    def to_frame(self):
        """The legs as a pandas DataFrame (from, to, kind, km, cable)."""
        import pandas as pd

        return pd.DataFrame({"from": self.names[:-1], "to": self.names[1:], "kind": self.leg_kind,
                             "km": np.asarray(self.leg_km, float), "cable": self.cables})

    def __repr__(self) -> str:
        hubs = " → ".join(self.names)
        c = ", ".join(self.cables_used)
        return (f"TerrestrialRoute({self.model}: {self.rtt_ms:.1f} ms, {self.length_km:,.0f} km: {hubs}"
                + (f"; cables: {c}" if c else "") + ")")


@runtime_checkable
class TerrestrialModel(Protocol):
    """What a terrestrial delay model provides (see the module docs for the contract)."""

    name: str

    @accepts_units
    def rtt_ms(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> Any: ...

    @accepts_units
    def one_way_ms(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> Any: ...

    @accepts_units
    def path_km(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> Any: ...

    @accepts_units
    def route(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> TerrestrialRoute: ...

    @property
    def attrs(self) -> dict: ...


@accepts_units
def check_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg):
    """Float64 arrays of the four coordinates, checked (finite, |lat| <= 90) and broadcast-compatible.

    Returns the four arrays unbroadcast (so callers can exploit outer-product structure) and the
    broadcast shape.
    """
    out = []
    for v, nm in ((lat1_deg, "lat1_deg"), (lon1_deg, "lon1_deg"), (lat2_deg, "lat2_deg"), (lon2_deg, "lon2_deg")):
        if hasattr(v, "unit"):  # astropy Quantity
            v = v.to_value("deg")
        a = np.asarray(v, dtype=np.float64)
        bad = ~np.isfinite(a)
        if bad.any():
            raise OrbitlatError(f"{nm} has {int(bad.sum())} NaN or infinite value(s) (first at index "
                                f"{tuple(int(i) for i in np.argwhere(bad)[0])}); give finite degrees, or drop those points.")
        if nm.startswith("lat") and (np.abs(a) > 90.0).any():
            raise OrbitlatError(f"{nm} must lie in [-90, 90] degrees; got {a[np.abs(a) > 90.0].ravel()[:3].tolist()}.")
        out.append(a)
    try:
        shape = np.broadcast_shapes(*(a.shape for a in out))
    except ValueError as e:
        raise OrbitlatError(f"the four coordinate arrays do not broadcast together: shapes "
                            f"{[a.shape for a in out]}.") from e
    return (*out, shape)


def terrestrial_model(model: "str | TerrestrialModel | None" = None) -> "TerrestrialModel":
    """A terrestrial model from a name (``"routed"``, the default, or ``"simple"``) or pass one through.

    >>> terrestrial_model("simple").name
    'simple'
    """
    if model is None or (isinstance(model, str) and model == "routed"):
        from orbitlat.latency.terrestrial.routed import RoutedModel

        return RoutedModel()
    if isinstance(model, str):
        if model == "simple":
            from orbitlat.latency.terrestrial.simple import FiberModel

            return FiberModel()
        raise OrbitlatError(f"terrestrial model {model!r} is not known; use one of {MODEL_NAMES} "
                            "or pass a RoutedModel / FiberModel instance.")
    if isinstance(model, TerrestrialModel):
        return model
    raise OrbitlatError(f"terrestrial={model!r} is neither a model name {MODEL_NAMES} nor a terrestrial model "
                        "(an object with rtt_ms, one_way_ms, path_km, route and attrs).")
