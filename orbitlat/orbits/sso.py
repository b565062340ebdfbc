"""Sun-synchronous orbits: inclination from altitude, RAAN from local time of the node.

The inclination solves ``dΩ/dt = −3/2 · n · J2 · (Re/p)² · cos i = 360°/365.2422 d``
(first-order secular J2; Vallado, *Fundamentals of Astrodynamics*, eq. 9-41),
with ``n`` the two-body mean motion and ``p = a(1 − e²)``.

The RAAN for a local time of the ascending node (LTAN) uses the *mean* Sun
(local mean solar time, as mission specifications do): ``Ω = α_mean_sun +
15°·(LTAN − 12 h)``, with the mean Sun's right ascension
``α = 280.460° + 0.9856474°·d`` (d days from J2000; Astronomical Almanac).

>>> round(float(sso_inclination_deg(650)), 2)
97.99
"""
from __future__ import annotations

import numpy as np

from orbitlat.constants import J2_EARTH, MU_EARTH_KM3_S2, SSO_RAAN_RATE_RAD_S, WGS84_A_KM
from orbitlat.orbits.constellation import DEFAULT_EPOCH, Constellation, _q
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["sso_inclination_deg", "mean_sun_ra_deg", "raan_for_ltan_deg", "sun_synchronous"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@accepts_units
def sso_inclination_deg(altitude_km, ecc=0.0):
    """Sun-synchronous inclination (degrees) for an altitude above the equatorial radius.

    Raises if the altitude is too high for any sun-synchronous orbit (about 5,970 km).
    """
    alt = np.asarray(_q(altitude_km, "km", "altitude_km"), dtype=np.float64)
    if np.any(alt <= 0):
        raise OrbitlatError(f"altitude_km must be > 0; got {alt[alt <= 0].ravel()[:3]}.")
    ecc = np.asarray(ecc, dtype=np.float64)
    a = WGS84_A_KM + alt
    n = np.sqrt(MU_EARTH_KM3_S2 / a**3)
    p = a * (1 - ecc**2)
    cos_i = -SSO_RAAN_RATE_RAD_S / (1.5 * n * J2_EARTH * (WGS84_A_KM / p) ** 2)
    if np.any(cos_i < -1):
        raise OrbitlatError(
            f"no sun-synchronous orbit exists at altitude {float(np.max(alt)):g} km: J2 precession is too "
            "weak there (the limit is about 5,970 km for circular orbits)."
        )
    return np.degrees(np.arccos(cos_i))


def mean_sun_ra_deg(epoch) -> float:
    """Right ascension of the mean Sun (degrees) at ``epoch`` (UTC)."""
    from orbitlat.time import to_datetime64

    t = to_datetime64(epoch, "epoch")
    d = (t - np.datetime64("2000-01-01T12:00:00", "ns")).astype(np.int64) * 1e-9 / 86400.0
    ra = np.mod(280.460 + 0.9856474 * d, 360.0)
    return float(ra[0]) if ra.size == 1 else ra


@accepts_units
def raan_for_ltan_deg(ltan_hours: float, epoch) -> float:
    """RAAN (degrees) that puts the ascending node at local mean time ``ltan_hours`` at ``epoch``."""
    if not 0.0 <= float(ltan_hours) < 24.0:
        raise OrbitlatError(f"ltan_hours={ltan_hours} must be in [0, 24) hours (18.0 for dawn–dusk).")
    return float(np.mod(mean_sun_ra_deg(epoch) + 15.0 * (float(ltan_hours) - 12.0), 360.0))


@accepts_units
def sun_synchronous(altitude_km, *, ltan_hours: float = 18.0, planes: int = 1, sats_per_plane: int = 1,
                    phasing: int = 0, epoch=None, shell: str | None = None, name: str | None = None,
                    ecc: float = 0.0) -> Constellation:
    """A sun-synchronous shell: inclination from altitude, nodes at the given local time.

    With ``planes > 1`` the planes are spread like a Walker star: RAANs 180°/P
    apart starting at the node of ``ltan_hours`` (i.e. 12 h/P of local time).

    >>> c = sun_synchronous(650, ltan_hours=18.0)
    >>> round(float(c.table.inc_deg[0]), 2)
    97.99
    """
    from orbitlat.orbits.walker import walker_pattern

    alt = float(_q(altitude_km, "km", "altitude_km"))
    inc = float(sso_inclination_deg(alt, ecc))
    ep = DEFAULT_EPOCH if epoch is None else epoch
    raan0 = raan_for_ltan_deg(ltan_hours, ep)
    T = planes * sats_per_plane
    plane, slot, raan, arglat = walker_pattern(T, planes, phasing, raan0_deg=raan0, star=True)
    label = shell or f"sso{alt:g}/ltan{ltan_hours:g}"
    return Constellation.from_elements(
        altitude_km=alt, ecc=ecc, inc_deg=inc, raan_deg=raan, mean_anomaly_deg=arglat, epoch=ep, shell=label,
        plane=plane, slot=slot, name=name or label,
        names=[f"{label}-P{p:02d}-S{s:02d}" for p, s in zip(plane, slot)],
        attrs={"design": f"sun-synchronous {alt:g} km, LTAN {ltan_hours:g} h", "ltan_hours": float(ltan_hours)},
    )
