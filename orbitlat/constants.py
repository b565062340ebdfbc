"""Physical constants used across orbitlat (SI-derived, km and s).

Sources: WGS84 (NIMA TR8350.2), EGM96 J2 and GM as used by Vallado,
"Fundamentals of Astrodynamics and Applications", 4th ed., and CODATA/IAU for c.
"""
from __future__ import annotations

import math

__all__ = ["WGS84_A_KM", "WGS84_F", "WGS84_B_KM", "WGS84_E2", "MU_EARTH_KM3_S2", "J2_EARTH", "OMEGA_EARTH_RAD_S",
           "C_KM_S", "FIBER_GROUP_INDEX", "C_FIBER_KM_S", "DAY_S", "TROPICAL_YEAR_D", "SSO_RAAN_RATE_RAD_S",
           "RE_SPHERE_KM", "SUN_RADIUS_KM", "AU_KM", "SOLAR_CONSTANT_W_M2"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: WGS84 equatorial radius, km
WGS84_A_KM = 6378.137
#: WGS84 flattening
WGS84_F = 1.0 / 298.257223563
#: WGS84 polar radius, km
WGS84_B_KM = WGS84_A_KM * (1.0 - WGS84_F)
#: WGS84 first eccentricity squared
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
#: Earth gravitational parameter (EGM96/WGS84), km^3/s^2
MU_EARTH_KM3_S2 = 398600.4418
#: Second zonal harmonic (EGM96, unnormalized)
J2_EARTH = 1.08262668e-3
#: Earth rotation rate (IERS), rad/s
OMEGA_EARTH_RAD_S = 7.292115e-5
#: Speed of light in vacuum, km/s (exact)
C_KM_S = 299792.458
#: Group index of standard single-mode fiber (ITU-T G.652, ~1.468 at 1550 nm)
FIBER_GROUP_INDEX = 1.468
#: Speed of light in fiber, km/s
C_FIBER_KM_S = C_KM_S / FIBER_GROUP_INDEX
#: Mean solar day, s
DAY_S = 86400.0
#: Tropical year, days (for the sun-synchronous RAAN rate)
TROPICAL_YEAR_D = 365.2422
#: Required RAAN rate for sun-synchronism, rad/s (360 deg per tropical year)
SSO_RAAN_RATE_RAD_S = 2.0 * math.pi / (TROPICAL_YEAR_D * DAY_S)
#: Mean Earth radius (spherical mode default), km: docs/references.md uses the equatorial radius
RE_SPHERE_KM = WGS84_A_KM
#: Sun radius, km (IAU 2015 nominal)
SUN_RADIUS_KM = 695700.0
#: Astronomical unit, km
AU_KM = 149597870.700
#: Solar constant at 1 AU, W/m^2 (Kopp & Lean 2011)
SOLAR_CONSTANT_W_M2 = 1361.0
