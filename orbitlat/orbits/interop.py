"""Interoperability with boinor (the maintained fork of poliastro).

Three bridges:

- :func:`from_orbits`: boinor ``Orbit`` objects (or poliastro / hapsira ones,
  recognised by their attributes) -> :class:`~orbitlat.orbits.constellation.Constellation`;
- :func:`to_orbit`: one satellite of a constellation -> a boinor ``Orbit``;
- :func:`propagate_with_boinor`: boinor's own propagators over a
  :class:`~orbitlat.time.TimeGrid`, behind ``propagate(..., backend="boinor")``.

Frames and conventions
----------------------
boinor's Earth orbits (plane ``EARTH_EQUATOR``) are referred to the GCRS, as are
the mean elements of orbitlat's designed satellites, so elements pass through
unchanged. A boinor ``Orbit`` holds *osculating* two-body elements; orbitlat
stores them as the satellite's elements, and the ``kepler-j2`` backend then
treats them as mean elements (no short-period J2 terms, see
:mod:`orbitlat.orbits.propagation`).

The gravitational parameter is orbitlat's ``MU_EARTH_KM3_S2`` = 398600.4418
km³/s² (EGM96/WGS84). boinor's ``Earth.k`` is the same value (IAU/EGM96
``GM_earth``); if an installed boinor ever differs, :func:`to_orbit` builds the
orbit around a copy of ``Earth`` carrying orbitlat's value (such a copy has no
astropy frame attached: ``Orbit.get_frame()`` is unavailable on it, propagation
works). The J2 force model uses orbitlat's ``J2_EARTH`` and ``WGS84_A_KM``
(boinor's own ``Earth.J2``/``Earth.R`` differ in the 6th digit).

Elapsed times are UTC label differences (86,400 s per day, leap seconds not
counted), the same convention as the ``sgp4`` and ``kepler-j2`` backends, so all
backends agree on where a satellite is at a given UTC label.

boinor is optional: install it with ``pip install orbitlat[poliastro]`` (or
``pip install boinor``). It compiles its kernels with numba the first time they
run in a process (about 30 s); later calls are fast.

>>> import orbitlat as ol
>>> from orbitlat.orbits.interop import to_orbit, from_orbits
>>> c = ol.presets.get("gps")
>>> orb = to_orbit(c, 0)
>>> from_orbits([orb]).table.a_km.round(1).tolist()
[26559.7]
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from orbitlat.constants import J2_EARTH, MU_EARTH_KM3_S2, WGS84_A_KM
from orbitlat.orbits.constellation import Constellation
from orbitlat.errors import OrbitlatError
from orbitlat.time import TimeGrid, to_datetime64

__all__ = ["from_orbits", "to_orbit", "propagate_with_boinor"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_INSTALL_HINT = "install it with `pip install orbitlat[poliastro]` (or `pip install boinor`)"

# Skyfield's Earth angular velocity (skyfield.constants.ANGVEL), as in orbitlat.orbits.propagation
_ANGVEL = 7.2921150e-5


# ---------------------------------------------------------------------------
# lazy import of boinor
# ---------------------------------------------------------------------------
def _boinor():
    """Import the parts of boinor orbitlat uses, or raise OrbitlatError saying how to install it."""
    try:
        from astropy import units as u
        from astropy.time import Time
        from boinor.bodies import Earth
        from boinor.twobody import Orbit
    except ImportError as exc:
        raise OrbitlatError(f"orbitlat.orbits.interop needs boinor, which is not installed: {_INSTALL_HINT}.") from exc
    return u, Time, Earth, Orbit


def _earth_attractor():
    """boinor's Earth, with orbitlat's gravitational parameter (a copy only if boinor's differs)."""
    u, _, Earth, _ = _boinor()
    k = float(Earth.k.to_value(u.km**3 / u.s**2))
    if abs(k / MU_EARTH_KM3_S2 - 1.0) <= 1e-13:
        return Earth
    return Earth._replace(k=MU_EARTH_KM3_S2 * u.km**3 / u.s**2)  # pragma: no cover - boinor 0.20 matches


# ---------------------------------------------------------------------------
# anomalies (elliptic)
# ---------------------------------------------------------------------------
def _nu_to_mean_anomaly(nu: float, e: float) -> float:
    E = 2.0 * math.atan2(math.sqrt(1.0 - e) * math.sin(nu / 2.0), math.sqrt(1.0 + e) * math.cos(nu / 2.0))
    return E - e * math.sin(E)


def _mean_anomaly_to_nu(M: float, e: float) -> float:
    M = math.remainder(M, 2.0 * math.pi)  # (-pi, pi]
    if e == 0.0:
        return M
    E = math.pi if e > 0.8 else M + e * math.sin(M)  # E0 = pi converges for any e < 1
    for _ in range(100):
        d = (E - e * math.sin(E) - M) / (1.0 - e * math.cos(E))
        E -= d
        if abs(d) < 1e-15:
            break
    return 2.0 * math.atan2(math.sqrt(1.0 + e) * math.sin(E / 2.0), math.sqrt(1.0 - e) * math.cos(E / 2.0))


# ---------------------------------------------------------------------------
# boinor / poliastro / hapsira Orbit -> Constellation
# ---------------------------------------------------------------------------
_ORBIT_ATTRS = ("a", "ecc", "inc", "raan", "argp", "nu", "epoch", "attractor")


def _has(obj: Any, name: str) -> bool:
    # look on the class first: Orbit's elements are (cached) properties, and evaluating `a` of a
    # parabolic orbit divides by zero
    return hasattr(type(obj), name) or name in getattr(obj, "__dict__", {})


def _is_orbit(obj: Any) -> bool:
    return all(_has(obj, a) for a in _ORBIT_ATTRS)


def _qvalue(q: Any, unit: str, what: str, k: int) -> float:
    try:
        return float(q.to_value(unit)) if unit else float(q.to_value(""))
    except Exception as exc:
        raise OrbitlatError(f"orbit {k}: its {what} ({q!r}) cannot be converted to {unit or 'a number'}.") from exc


def from_orbits(orbits: Any, names: Sequence[str] | None = None, name: str = "boinor") -> Constellation:
    """Satellites from boinor (or poliastro / hapsira) ``Orbit`` objects.

    Parameters
    ----------
    orbits : Orbit or sequence of Orbit
        Closed (elliptic) orbits around the Earth. Orbits in boinor's
        ``EARTH_ECLIPTIC`` plane are first turned into the ``EARTH_EQUATOR``
        plane (GCRS) with ``Orbit.change_plane``.
    names : sequence of str, optional
        One name per orbit (default ``"<name>-<k>"``).
    name : str
        Label of the constellation.

    Returns
    -------
    Constellation
        One designed satellite per orbit: its osculating elements become the
        satellite's GCRS elements (``a_km``, ``ecc``, ``inc_deg``, ``raan_deg``,
        ``argp_deg``; ``mean_anomaly_deg`` from the true anomaly ``nu``) with
        ``epoch`` = the orbit's epoch in UTC.

    Raises
    ------
    OrbitlatError
        Not an orbit, an attractor other than the Earth, a parabolic or
        hyperbolic orbit, or a perigee below the Earth's surface.

    Examples
    --------
    >>> from astropy import units as u
    >>> from boinor.bodies import Earth
    >>> from boinor.twobody import Orbit
    >>> o = Orbit.circular(Earth, 550 * u.km, inc=53 * u.deg)
    >>> from_orbits(o).table.inc_deg.tolist()
    [53.0]
    """
    if _is_orbit(orbits):
        orbit_list = [orbits]
    elif isinstance(orbits, (str, bytes)) or not hasattr(orbits, "__iter__"):
        raise OrbitlatError(
            f"from_orbits takes a boinor Orbit or a sequence of them; got {type(orbits).__name__}. "
            "Build orbits with boinor.twobody.Orbit.from_classical / from_vectors."
        )
    else:
        orbit_list = list(orbits)
    if not orbit_list:
        raise OrbitlatError("from_orbits got an empty sequence; pass at least one Orbit.")
    if names is not None:
        names = [str(n) for n in names]
        if len(names) != len(orbit_list):
            raise OrbitlatError(f"names has {len(names)} entries for {len(orbit_list)} orbits; give one per orbit.")

    cols: dict[str, list] = {k: [] for k in ("a_km", "ecc", "inc_deg", "raan_deg", "argp_deg",
                                              "mean_anomaly_deg", "epoch")}
    for k, orb in enumerate(orbit_list):
        if not _is_orbit(orb):
            raise OrbitlatError(
                f"orbit {k} is a {type(orb).__name__}, not an Orbit (it lacks "
                f"{', '.join(a for a in _ORBIT_ATTRS if not _has(orb, a))}); pass boinor/poliastro/hapsira Orbits."
            )
        att = getattr(orb.attractor, "name", str(orb.attractor))
        if att != "Earth":
            raise OrbitlatError(
                f"orbit {k} orbits {att}; orbitlat only handles Earth satellites. Build the orbit with "
                "attractor boinor.bodies.Earth (or change_attractor(Earth) if it is bound to the Earth)."
            )
        plane = getattr(orb, "plane", None)
        plane_name = getattr(plane, "name", None)
        if plane_name not in (None, "EARTH_EQUATOR"):
            if plane_name == "EARTH_ECLIPTIC" and hasattr(orb, "change_plane"):
                orb = orb.change_plane(type(plane).EARTH_EQUATOR)
            else:
                raise OrbitlatError(
                    f"orbit {k} is given in the {plane_name} plane; orbitlat needs EARTH_EQUATOR (GCRS) "
                    "elements: use orbit.change_plane(Planes.EARTH_EQUATOR)."
                )
        ecc = _qvalue(orb.ecc, "", "eccentricity", k)
        if not 0.0 <= ecc < 1.0:  # (checked before reading a, which is infinite for a parabola)
            kind = "parabolic" if abs(ecc - 1.0) < 1e-12 else "hyperbolic" if ecc > 1 else "invalid"
            raise OrbitlatError(
                f"orbit {k} is {kind} (ecc={ecc:.6g}); orbitlat models closed Earth orbits only "
                "(0 <= ecc < 1, a > 0)."
            )
        a_km = _qvalue(orb.a, "km", "semi-major axis", k)
        if not a_km > 0:
            raise OrbitlatError(f"orbit {k} has a={a_km:.6g} km; orbitlat models closed Earth orbits only (a > 0).")
        nu = _qvalue(orb.nu, "rad", "true anomaly", k)
        cols["a_km"].append(a_km)
        cols["ecc"].append(ecc)
        cols["inc_deg"].append(_qvalue(orb.inc, "deg", "inclination", k))
        cols["raan_deg"].append(_qvalue(orb.raan, "deg", "RAAN", k))
        cols["argp_deg"].append(_qvalue(orb.argp, "deg", "argument of perigee", k))
        cols["mean_anomaly_deg"].append(math.degrees(_nu_to_mean_anomaly(nu, ecc)))
        cols["epoch"].append(to_datetime64(orb.epoch, f"orbit {k} epoch")[0])
    n = len(orbit_list)
    return Constellation.from_elements(
        a_km=np.array(cols["a_km"]), ecc=np.array(cols["ecc"]), inc_deg=np.array(cols["inc_deg"]),
        raan_deg=np.array(cols["raan_deg"]), argp_deg=np.array(cols["argp_deg"]),
        mean_anomaly_deg=np.array(cols["mean_anomaly_deg"]),
        epoch=np.array(cols["epoch"], dtype="datetime64[ns]") if n > 1 else cols["epoch"][0],
        names=names, name=name, shell=name,
        attrs={"source": "boinor Orbit objects (osculating GCRS elements)"},
    )


# ---------------------------------------------------------------------------
# Constellation satellite -> boinor Orbit
# ---------------------------------------------------------------------------
def _check_index(c: Constellation, index: Any) -> int:
    if not isinstance(c, Constellation):
        raise OrbitlatError(f"expected a Constellation; got {type(c).__name__}.")
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise OrbitlatError(f"index={index!r} must be an integer satellite index in 0..{c.size - 1}.")
    k = int(index)
    if k < -c.size or k >= c.size:
        raise OrbitlatError(f"index={k} is out of range for a constellation of {c.size} satellites (0..{c.size - 1}).")
    return k % c.size


def _tle_state_at_epoch(c: Constellation, k: int) -> tuple[np.ndarray, np.ndarray, np.datetime64]:
    """GCRS r (km), v (km/s) and exact UTC epoch of catalog satellite ``k``: its SGP4 state at the TLE epoch."""
    from sgp4.api import Satrec

    row = c.table.iloc[k]
    sat = Satrec.twoline2rv(row["line1"], row["line2"])
    err, r, v = sat.sgp4_tsince(0.0)
    if err:
        raise OrbitlatError(
            f"satellite {k} ({row['name']}): SGP4 fails at its own TLE epoch (error {err}); its TLE is unusable."
        )
    # the Satrec's own epoch (the TLE's, to the nanosecond), not the table's rounded value
    epoch = (np.datetime64("1949-12-31T00:00:00", "ns")
             + np.timedelta64(int(round((sat.jdsatepoch - 2433281.5) * 86400e9)), "ns")
             + np.timedelta64(int(round(sat.jdsatepochF * 86400e9)), "ns"))
    M = TimeGrid(np.array([epoch])).teme_to_gcrs[0]  # TEME -> GCRS at the epoch
    return M @ np.asarray(r), M @ np.asarray(v), epoch


def _orbit_and_epoch(c: Constellation, k: int):
    """(boinor Orbit, UTC datetime64 epoch) of satellite ``k``."""
    u, Time, _, Orbit = _boinor()
    earth = _earth_attractor()
    if c.is_catalog[k]:
        r, v, epoch = _tle_state_at_epoch(c, k)
        return Orbit.from_vectors(earth, r * u.km, v * (u.km / u.s), epoch=Time(epoch, scale="utc")), epoch
    row = c.table.iloc[k]
    epoch = np.datetime64(row["epoch"], "ns")
    e = float(row["ecc"])
    nu = _mean_anomaly_to_nu(math.radians(float(row["mean_anomaly_deg"])), e)
    nu = math.remainder(nu, 2.0 * math.pi)
    if nu >= math.pi:  # boinor wants -pi <= nu < pi
        nu -= 2.0 * math.pi
    orbit = Orbit.from_classical(
        earth, float(row["a_km"]) * u.km, e * u.one, float(row["inc_deg"]) * u.deg,
        float(row["raan_deg"]) * u.deg, float(row["argp_deg"]) * u.deg, nu * u.rad,
        epoch=Time(epoch, scale="utc"),
    )
    return orbit, epoch


def to_orbit(constellation: Constellation, index: int = 0):
    """A boinor ``Orbit`` (GCRS, Earth) for satellite ``index`` of a constellation.

    Designed satellites: ``Orbit.from_classical`` with their elements (the
    true anomaly solved from the mean anomaly), epoch = the element epoch as an
    astropy ``Time`` in UTC. The elements are orbitlat's *mean* elements; boinor
    reads them as osculating, which is exactly the initial state the
    ``kepler-j2`` backend uses at the epoch.

    Catalog (TLE/OMM) satellites: the SGP4 state at the TLE epoch (the
    osculating state the TLE represents, not its SGP4 *mean* elements, which
    differ by the short-period terms, kilometres in LEO), rotated from TEME to
    GCRS with Skyfield's TEME frame, via ``Orbit.from_vectors``.

    Parameters
    ----------
    constellation : Constellation
    index : int
        Satellite index (negative counts from the end).

    Returns
    -------
    boinor.twobody.Orbit

    Examples
    --------
    >>> import orbitlat as ol
    >>> o = to_orbit(ol.presets.get("galileo"), 3)
    >>> round(float(o.a.to_value("km")), 1)
    29600.1
    """
    k = _check_index(constellation, index)
    return _orbit_and_epoch(constellation, k)[0]


# ---------------------------------------------------------------------------
# propagation with boinor
# ---------------------------------------------------------------------------
def _j2_rhs():
    """Two-body + J2 right-hand side for boinor's CowellPropagator, with orbitlat's constants."""
    from boinor.core.perturbations import J2_perturbation
    from boinor.core.propagation import func_twobody

    def f(t0, u_, k):
        du = func_twobody(t0, u_, k)
        du[3:] += J2_perturbation(t0, u_, k, J2_EARTH, WGS84_A_KM)
        return du

    return f


def _boinor_states(orbit, tof_s: np.ndarray, j2: bool) -> tuple[np.ndarray, np.ndarray]:
    """GCRS r, v (n,3) of ``orbit`` after each time of flight (s, any sign) with boinor."""
    u, _, _, Orbit = _boinor()
    from boinor.twobody.propagation import CowellPropagator, FarnocchiaPropagator
    from boinor.twobody.sampling import EpochsArray

    if not j2:
        ephem = orbit.to_ephem(EpochsArray(orbit.epoch + tof_s * u.s, method=FarnocchiaPropagator()))
        rr, vv = ephem.rv()
        return rr.to_value(u.km), vv.to_value(u.km / u.s)
    method = CowellPropagator(rtol=1e-11, f=_j2_rhs())
    t_min = float(np.min(tof_s))
    if t_min < 0:
        # boinor's Cowell integrates from 0 to max(tof): first integrate back to the earliest time
        rr, vv = method.propagate_many(orbit.state, np.array([t_min]) * u.s)
        orbit = Orbit.from_vectors(orbit.attractor, rr[-1], vv[-1], epoch=orbit.epoch + t_min * u.s)
        tof_s = tof_s - t_min
    if float(np.max(tof_s)) == 0.0:  # every requested time is the (shifted) epoch itself
        rv = orbit.rv()
        r0, v0 = rv[0].to_value(u.km), rv[1].to_value(u.km / u.s)
        return np.tile(r0, (tof_s.size, 1)), np.tile(v0, (tof_s.size, 1))
    ephem = orbit.to_ephem(EpochsArray(orbit.epoch + tof_s * u.s, method=method))
    rr, vv = ephem.rv()
    return rr.to_value(u.km), vv.to_value(u.km / u.s)


def propagate_with_boinor(constellation: Constellation, tg: TimeGrid, frame: str, want_vel: bool, *,
                          j2: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """Propagate every satellite with boinor, one satellite at a time (slow; for interop and cross-checks).

    Each satellite's initial state is :func:`to_orbit`'s. ``j2=False`` uses
    boinor's two-body ``FarnocchiaPropagator``; ``j2=True`` its
    ``CowellPropagator`` (DOP853, rtol 1e-11) with two-body + J2 acceleration
    (``boinor.core.perturbations.J2_perturbation`` with orbitlat's ``J2_EARTH``
    and ``WGS84_A_KM``; μ = ``MU_EARTH_KM3_S2``). Unlike ``kepler-j2`` this is
    an osculating model: it has the short-period J2 terms.

    Catalog (TLE) satellites start from their SGP4 state at the TLE epoch.
    ``propagate(..., backend="boinor")`` refuses them (their elements are SGP4
    mean elements, for the sgp4 backend), so that applies only to direct calls.

    Parameters
    ----------
    constellation : Constellation
    tg : TimeGrid
    frame : {"GCRS", "ITRS", "TEME"}
        Output frame. GCRS states are rotated with ``tg.itrs_to_gcrs`` /
        ``tg.teme_to_gcrs`` (transposed); ITRS velocities subtract ω×r with
        ω = 7.2921150e-5 rad/s about z (as the other backends do).
    want_vel : bool
        Also return velocities.
    j2 : bool
        Include the J2 perturbation.

    Returns
    -------
    pos : ndarray (time, sat, 3), km
    vel : ndarray (time, sat, 3), km/s, or None
    """
    if not isinstance(constellation, Constellation):
        raise OrbitlatError(f"propagate_with_boinor takes a Constellation; got {type(constellation).__name__}.")
    if not isinstance(tg, TimeGrid):
        raise OrbitlatError(f"propagate_with_boinor takes a TimeGrid; got {type(tg).__name__}. Use to_timegrid(...).")
    frame_u = str(frame).upper()
    if frame_u not in ("GCRS", "ITRS", "TEME"):
        raise OrbitlatError(f"frame={frame!r} is not supported; valid frames are GCRS, ITRS, TEME.")
    _boinor()
    n_t, n_s = len(tg), constellation.size
    pos = np.empty((n_t, n_s, 3))
    vel = np.empty((n_t, n_s, 3))
    for k in range(n_s):
        orbit, ep = _orbit_and_epoch(constellation, k)
        tof_s = (tg.utc - ep).astype(np.int64) * 1e-9
        r, v = _boinor_states(orbit, tof_s, j2)
        pos[:, k] = r
        vel[:, k] = v
    if frame_u != "GCRS":
        M = tg.itrs_to_gcrs if frame_u == "ITRS" else tg.teme_to_gcrs  # X -> GCRS
        Mt = np.transpose(M, (0, 2, 1))  # GCRS -> X
        pos = np.einsum("tij,tsj->tsi", Mt, pos)
        vel = np.einsum("tij,tsj->tsi", Mt, vel)
        if frame_u == "ITRS":  # v_itrs = R v - omega x r_itrs
            vel[..., 0] += _ANGVEL * pos[..., 1]
            vel[..., 1] -= _ANGVEL * pos[..., 0]
    return pos, (vel if want_vel else None)
