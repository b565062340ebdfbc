"""Walker delta and Walker star constellations (i:T/P/F).

Phasing, as in Walker (1984) and ``docs/references.md``: with ``S = T/P`` satellites
per plane, plane ``j`` has ``RAAN = RAAN0 + Δ·j`` (Δ = 360°/P for delta,
180°/P for star unless given), and satellite ``k`` of plane ``j`` has argument of
latitude ``u = 360°·k/S + 360°·F·j/T``. The phasing term never involves RAAN0,
so a non-zero RAAN0 rotates the whole pattern rigidly.

>>> c = walker_delta(56, 24, 3, 1, altitude_km=23222, shell="galileo")
>>> c.table[["plane", "slot", "raan_deg", "mean_anomaly_deg"]].iloc[8].tolist()
[1.0, 0.0, 120.0, 15.0]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from orbitlat.orbits.constellation import Constellation, _q
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["walker_delta", "walker_star", "walker_pattern"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def _check_range(name: str, values, lo: float, hi: float, unit: str) -> None:
    v = np.atleast_1d(np.asarray(values, dtype=np.float64))
    bad = (v < lo) | (v > hi) | ~np.isfinite(v)
    if bad.any():
        k = int(np.argmax(bad))
        u = f" {unit}" if unit else ""
        raise OrbitlatError(f"{name} {v[k]:g}{u} is out of range; valid is {lo:g} to {hi:g}{u}.")


def _check_int(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) and not (
        isinstance(value, float) and value.is_integer()
    ):
        raise OrbitlatError(f"{name}={value!r} must be a whole number >= {minimum}.")
    v = int(value)
    if v < minimum:
        raise OrbitlatError(f"{name}={v} must be >= {minimum}.")
    return v


@accepts_units
def walker_pattern(total: int, planes: int, phasing: int, *, raan0_deg: float = 0.0,
                   raan_spacing_deg: float | None = None, star: bool = False):
    """RAAN and argument of latitude (degrees) for each satellite of a Walker pattern.

    Returns ``(plane, slot, raan_deg, arglat_deg)`` arrays ordered plane by plane.
    """
    T = _check_int("T (total satellites)", total, 1)
    P = _check_int("P (planes)", planes, 1)
    F = _check_int("F (phasing)", phasing, 0)
    if T % P:
        divisors = [d for d in range(1, T + 1) if T % d == 0]
        raise OrbitlatError(
            f"P={P} planes does not divide T={T} satellites; Walker needs T/P satellites per plane. "
            f"Valid P for T={T}: {divisors}."
        )
    if not 0 <= F < P:
        raise OrbitlatError(f"phasing F={F} is out of range; valid is 0 <= F < P={P}.")
    S = T // P
    spacing = (180.0 if star else 360.0) / P if raan_spacing_deg is None else float(raan_spacing_deg)
    plane = np.repeat(np.arange(P), S)
    slot = np.tile(np.arange(S), P)
    raan = np.mod(raan0_deg + spacing * plane, 360.0)
    arglat = np.mod(360.0 * slot / S + 360.0 * F * plane / T, 360.0)
    return plane, slot, raan, arglat


def _walker(inc_deg, total, planes, phasing, altitude_km, raan0_deg, ecc, argp_deg, epoch, shell, name,
            star, raan_spacing_deg, attrs):
    inc = float(_q(inc_deg, "deg", "inclination"))
    alt = float(_q(altitude_km, "km", "altitude_km"))
    _check_range("inclination", inc, 0.0, 180.0, "deg")
    if not alt > 0:
        raise OrbitlatError(f"altitude_km={alt:g} must be > 0 km (height above the WGS84 equatorial radius).")
    plane, slot, raan, arglat = walker_pattern(
        total, planes, phasing, raan0_deg=float(_q(raan0_deg, "deg", "raan0_deg")),
        raan_spacing_deg=raan_spacing_deg, star=star,
    )
    argp = float(_q(argp_deg, "deg", "argp_deg"))
    label = shell or f"{alt:g}/{inc:g}"
    kind = "star" if star else "delta"
    nm = name or f"walker-{kind} {inc:g}:{total}/{planes}/{phasing}"
    c = Constellation.from_elements(
        altitude_km=alt, ecc=ecc, inc_deg=inc, raan_deg=raan, argp_deg=argp,
        mean_anomaly_deg=arglat - argp, epoch=epoch, shell=label, plane=plane, slot=slot, name=nm,
        names=[f"{label}-P{p:02d}-S{s:02d}" for p, s in zip(plane, slot)],
        attrs={"design": f"Walker {kind} {inc:g}:{total}/{planes}/{phasing}", "altitude_km": alt,
               **(attrs or {})},
    )
    return c


@accepts_units
def walker_delta(inc_deg, total: int, planes: int, phasing: int, *, altitude_km, raan0_deg=0.0, ecc=0.0,
                 argp_deg=0.0, epoch=None, shell: str | None = None, name: str | None = None,
                 attrs: dict | None = None) -> Constellation:
    """A Walker delta constellation i:T/P/F (planes spread over 360° of RAAN).

    Parameters
    ----------
    inc_deg : float or Quantity
        Inclination, 0–180°.
    total, planes, phasing : int
        T satellites in P planes (P must divide T), phasing 0 <= F < P.
    altitude_km : float or Quantity
        Altitude above the WGS84 equatorial radius (> 0).
    raan0_deg : float
        RAAN of plane 0; rotates the whole pattern.
    ecc, argp_deg : float
        Optional eccentricity and argument of perigee (the phasing is applied to
        the argument of latitude, so mean anomaly = u − argp).

    >>> walker_delta(53, 1584, 72, 1, altitude_km=550).size
    1584
    """
    return _walker(inc_deg, total, planes, phasing, altitude_km, raan0_deg, ecc, argp_deg, epoch, shell, name,
                   False, None, attrs)


@accepts_units
def walker_star(inc_deg, total: int, planes: int, phasing: int, *, altitude_km, raan0_deg=0.0, ecc=0.0,
                argp_deg=0.0, epoch=None, raan_spacing_deg: float | None = None, shell: str | None = None,
                name: str | None = None, attrs: dict | None = None) -> Constellation:
    """A Walker star (polar) constellation: planes spread over 180° of RAAN.

    ``raan_spacing_deg`` overrides the default 180°/P plane spacing (Iridium's
    co-rotating planes are about 31.6° apart, leaving a wider seam).

    >>> walker_star(86.4, 66, 6, 3, altitude_km=780).size
    66
    """
    return _walker(inc_deg, total, planes, phasing, altitude_km, raan0_deg, ecc, argp_deg, epoch, shell, name,
                   True, raan_spacing_deg, attrs)
