"""Compact clusters: many satellites held within a small radius of a reference orbit.

Used for orbital compute clusters such as Google's Suncatcher concept (2025):
81 satellites within about 1 km of each other in a dawn–dusk sun-synchronous
orbit at about 650 km.

Each member flies a passively bounded relative orbit described with quasi-
nonsingular relative orbital elements (D'Amico, 2010): no semi-major-axis
difference (δa = 0, so no secular along-track drift), a mean along-track offset
δλ, and parallel relative eccentricity and inclination vectors of equal size ρ
(δe ∥ δi: radial and cross-track motions never vanish together; passive
safety). In the chief's radial/along-track/normal (RTN) frame, to first order:

    r ≈ −aρ·cos(u − φ),   t ≈ a(δλ + 2ρ·sin(u − φ)),   n ≈ aρ·sin(u − φ)

so every member stays within ``sqrt((a|δλ| + 2aρ)² + 2(aρ)²)`` of the chief.
Members differ only in RAAN (δi is put in the RAAN direction, δi_x = 0), so J2
drives no differential node drift; what remains (from the tiny eccentricity
differences) is a few metres per day and needs station-keeping in practice, as
the Suncatcher paper also assumes.

>>> c = compact_cluster(81, radius_km=1.0)
>>> c.size
81
"""
from __future__ import annotations

import numpy as np

from orbitlat.orbits.constellation import Constellation, _q
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["compact_cluster", "suncatcher"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@accepts_units
def compact_cluster(n: int, *, radius_km: float = 1.0, reference: Constellation | None = None,
                    altitude_km: float = 650.0, ltan_hours: float = 18.0, epoch=None,
                    name: str = "cluster", shell: str = "cluster") -> Constellation:
    """``n`` satellites within ``radius_km`` of a reference (chief) orbit.

    Parameters
    ----------
    n : int
        Number of members (>= 1).
    radius_km : float
        Bound on each member's distance from the reference orbit's point.
    reference : Constellation, optional
        A one-satellite constellation giving the chief's mean elements. By default
        a dawn–dusk sun-synchronous orbit at ``altitude_km`` with node at
        ``ltan_hours``.
    """
    from orbitlat.orbits.sso import sun_synchronous

    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise OrbitlatError(f"n={n!r} must be a whole number of satellites >= 1.")
    radius = float(_q(radius_km, "km", "radius_km"))
    if not radius > 0:
        raise OrbitlatError(f"radius_km={radius:g} must be > 0.")
    if reference is None:
        reference = sun_synchronous(altitude_km, ltan_hours=ltan_hours, epoch=epoch, shell=shell)
    if reference.size != 1:
        raise OrbitlatError(f"reference must hold exactly one satellite (the chief); it has {reference.size}.")
    chief = reference.table.iloc[0]
    a = float(chief["a_km"])
    inc = np.radians(float(chief["inc_deg"]))
    if abs(np.sin(inc)) < 1e-6:
        raise OrbitlatError("compact_cluster needs an inclined reference orbit (sin i != 0).")
    u0 = np.radians(float(chief["argp_deg"] + chief["mean_anomaly_deg"]))

    # Members on a grid in (along-track offset, relative-ellipse size): k x m >= n.
    cols = int(np.ceil(np.sqrt(n)))
    rows = int(np.ceil(n / cols))
    lam_max = 0.5 * radius / a  # a*|δλ| <= R/2
    rho_max = 0.2 * radius / a  # a*ρ <= R/5 -> bound sqrt(0.9² + 0.08) R = 0.943 R
    lam_vals = np.linspace(-lam_max, lam_max, cols) if cols > 1 else np.zeros(1)
    rho_vals = np.linspace(-rho_max, rho_max, rows) if rows > 1 else np.zeros(1)
    grid = np.array([(l, r) for r in rho_vals for l in lam_vals])[:n]
    dlam, rho = grid[:, 0], grid[:, 1]
    phi = np.pi / 2  # δe and δi both along +y (relative perigee at u = 90°)
    # Relative e-vector (ρ cos φ, ρ sin φ) on a circular chief -> e = |ρ|, argp = φ (or φ+π)
    ecc = np.abs(rho)
    argp = np.where(rho >= 0, phi, phi + np.pi)
    d_raan = rho / np.sin(inc)  # δi_y = sin(i)·δΩ = ρ
    # δλ = δu + δΩ cos i  ->  δu = δλ − δΩ cos i
    u = u0 + dlam - d_raan * np.cos(inc)
    mean_anom = u - argp
    k = np.arange(n)
    return Constellation.from_elements(
        a_km=a, ecc=ecc, inc_deg=np.degrees(inc), raan_deg=float(chief["raan_deg"]) + np.degrees(d_raan),
        argp_deg=np.degrees(argp), mean_anomaly_deg=np.degrees(mean_anom), epoch=chief["epoch"], shell=shell,
        plane=0, slot=k, names=[f"{name}-{j:03d}" for j in k], name=name,
        attrs={"design": f"compact cluster of {n} within {radius:g} km",
               "cluster_radius_km": radius, "reference_altitude_km": a - WGS84_A_KM},
    )


def suncatcher(epoch=None) -> Constellation:
    """A Suncatcher-like orbital compute cluster: 81 satellites within about 1 km, dawn–dusk SSO at 650 km.

    Source: Google Research, "Towards a future space-based, highly scalable AI
    infrastructure system design" (Project Suncatcher, November 2025): an
    81-satellite cluster of radius 1 km in a dawn–dusk sun-synchronous LEO
    orbit at about 650 km.
    """
    c = compact_cluster(81, radius_km=1.0, altitude_km=650.0, ltan_hours=18.0, epoch=epoch,
                        name="suncatcher", shell="suncatcher-650")
    c.attrs["source"] = ("Google Research, Project Suncatcher (2025): 81 satellites within ~1 km radius, "
                         "dawn-dusk sun-synchronous orbit ~650 km")
    return c
