"""Inter-satellite line of sight: whether a link clears the Earth's limb plus a grazing altitude, and
the longest such link (Hypatia's ``2·√((R+h)² − (R+80 km)²)``).
"""
from __future__ import annotations

import math
from typing import Any
import numpy as np
from orbitlat.constants import WGS84_A_KM, WGS84_B_KM
from orbitlat.errors import OrbitlatError
from orbitlat.visibility._inputs import _as_float
from orbitlat.units import accepts_units

__all__ = ["isl_line_of_sight", "max_isl_range_km"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# =============================================================================
# inter-satellite line of sight
# =============================================================================
@accepts_units
def isl_line_of_sight(pos_a: Any, pos_b: Any, *, grazing_altitude_km: float = 80.0,
                      ellipsoidal: bool = False) -> np.ndarray:
    """Whether the straight line between two satellites clears the Earth (plus a grazing altitude).

    The link is clear when the minimum distance from the Earth's centre to the
    segment AB exceeds ``R + grazing_altitude_km``, with ``R = WGS84_A_KM``
    (a sphere of the equatorial radius, the convention of Hypatia, whose
    maximum ISL length is ``2·√((R+h)² − (R+80 km)²)``; 80 km keeps the beam
    above the denser atmosphere). With ``ellipsoidal=True`` z is first scaled by
    a/b, which maps the WGS84 ellipsoid onto that sphere (the grazing shell
    then becomes an ellipsoid with the same flattening, an approximation of a
    constant height above WGS84).

    Parameters
    ----------
    pos_a, pos_b : array_like (..., 3), km
        Positions in any Earth-centred frame (broadcast together; vectorize
        over pairs × times).
    grazing_altitude_km : float
    ellipsoidal : bool

    Returns
    -------
    ndarray of bool, shape broadcast(...)
        True where the line of sight is clear; symmetric in A and B.

    Examples
    --------
    >>> import numpy as np
    >>> r = 6378.137 + 550.0
    >>> a = np.array([[r, 0, 0], [r, 0, 0]])
    >>> b = np.array([[-r, 0, 0], [r * np.cos(0.2), r * np.sin(0.2), 0]])
    >>> isl_line_of_sight(a, b).tolist()
    [False, True]
    """
    A = _as_float(pos_a, "km", "pos_a")
    B = _as_float(pos_b, "km", "pos_b")
    if A.shape[-1:] != (3,) or B.shape[-1:] != (3,):
        raise OrbitlatError(f"positions must have a last axis of 3 (x, y, z km); got shapes {A.shape} and {B.shape}.")
    hg = float(_as_float(grazing_altitude_km, "km", "grazing_altitude_km"))
    if not math.isfinite(hg) or hg < -WGS84_A_KM / 2:
        raise OrbitlatError(f"grazing_altitude_km must be a finite height in km; got {grazing_altitude_km!r}.")
    if ellipsoidal:
        scale = np.array([1.0, 1.0, WGS84_A_KM / WGS84_B_KM])
        A = A * scale
        B = B * scale
    A, B = np.broadcast_arrays(A, B)
    d = B - A
    dd = np.einsum("...i,...i->...", d, d)
    t = -np.einsum("...i,...i->...", A, d) / np.where(dd > 0, dd, 1.0)
    t = np.clip(np.where(dd > 0, t, 0.0), 0.0, 1.0)
    closest = A + t[..., None] * d
    dist2 = np.einsum("...i,...i->...", closest, closest)
    lim = WGS84_A_KM + hg
    return dist2 > lim * lim

@accepts_units
def max_isl_range_km(alt1_km: Any, alt2_km: Any = None, grazing_altitude_km: float = 80.0) -> Any:
    """Longest inter-satellite link that clears the Earth plus ``grazing_altitude_km``.

    ``√((R+h1)² − (R+hg)²) + √((R+h2)² − (R+hg)²)`` with ``R = WGS84_A_KM``:
    each term is the distance from a satellite to the tangent point on the
    grazing sphere. For equal altitudes it is Hypatia's ``2·√((R+h)² − (R+80)²)``
    (Kassing et al., IMC 2020).

    Parameters
    ----------
    alt1_km, alt2_km : float or array_like, km
        Satellite altitudes (``alt2_km`` defaults to ``alt1_km``); above the grazing altitude.
    grazing_altitude_km : float

    Examples
    --------
    >>> round(float(max_isl_range_km(550.0)), 1)
    5016.6
    """
    h1 = _as_float(alt1_km, "km", "alt1_km")
    h2 = h1 if alt2_km is None else _as_float(alt2_km, "km", "alt2_km")
    hg = float(_as_float(grazing_altitude_km, "km", "grazing_altitude_km"))
    for name, h in (("alt1_km", h1), ("alt2_km", h2)):
        if np.any(~np.isfinite(h)) or np.any(h < hg):
            raise OrbitlatError(
                f"{name} must be at or above the grazing altitude ({hg:g} km): a satellite below it cannot see "
                f"past the limb; got {h!r}."
            )
    R = WGS84_A_KM
    g2 = (R + hg) ** 2
    out = np.sqrt((R + h1) ** 2 - g2) + np.sqrt((R + h2) ** 2 - g2)
    return float(out) if np.ndim(out) == 0 else out
