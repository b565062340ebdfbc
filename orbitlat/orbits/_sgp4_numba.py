"""Numba kernel for SGP4's near-earth propagation (optional; imported only when numba is installed).

What it computes
----------------
The near-earth branch (``method == 'n'``, period < 225 min) of ``sgp4()`` in Vallado et al. 2006
(the C++ that python-sgp4's ``SatrecArray`` runs, 2020-07-13 revision), for many satellites x many
times, then the TEME -> output-frame rotation, written straight into orbitlat's (time, sat, xyz)
arrays with the error code per (time, sat) exactly as ``SatrecArray`` reports it (1: mean
eccentricity out of range, 4: semilatus rectum < 0, 6: decayed; positions NaN for codes 1-5).
Deep-space satellites are not handled here: the caller sends them to ``SatrecArray``.

The initialisation is not ported: the C++ ``Satrec`` does not expose its derived coefficients
(cc1, d2, t2cof, ...), so :func:`pack` re-runs python-sgp4's own pure-Python ``sgp4init`` (the same
algorithm, shipped in ``sgp4.propagation``) on each satellite's elements and reads them from there
(checked bit-identical on the fields both expose: mdot, argpdot, nodedot, am).

How it is fast
--------------
Per satellite, the time loop is straight-line code that LLVM vectorises:

- sin/cos by Cody-Waite reduction by pi/2 (three 33-bit parts, exact for |x| < 2**19 pi/2) and
  fdlibm's degree-13/14 kernels (< 1 ulp on [-pi/4, pi/4]): absolute error ~1e-16 for every
  argument SGP4 produces; arguments beyond 5e5 rad (decades from epoch) go to the scalar path;
- ``fmod(x, 2pi)`` as ``x - n*HI - n*LO`` with a 26-bit split of the double 2pi: identical to C's
  fmod (n*HI and n*LO exact, the first difference exact by Sterbenz);
- Kepler's equation: the reference's damped Newton iteration (same clamp at +-0.95, same stop rule
  |correction| < 1e-12, same use of the last sin/cos) unrolled to ``KEPLER_ITERS`` (3) masked
  steps, enough for eccentricities up to ~0.02; an element that has not met the stop rule by then
  is recomputed by :func:`_sgp4_scalar`, a line-by-line scalar port with libm that continues to the
  reference's 10 iterations;
- ``atan2`` then sin/cos of the argument of latitude is replaced by the unit vector
  (sin u, cos u)/|.| rotated by the short-period correction.

- one variant of the loop for every satellite: ``isimp`` satellites get zero coefficients for the
  extra drag terms (adding exact zeros), so nothing branches per satellite inside the loop;
- no fast-math of any kind (see ``_VOPTS``); ``nogil`` so the caller runs one thread per core.

Differences from ``SatrecArray`` are rounding only (same operations in the same order except sin/cos
and the atan2 replacement): on the Starlink snapshot over a day at 60 s at most 9e-11 km in position
and 1.1e-13 km/s in velocity, identical error codes; on python-sgp4's near-earth verification TLEs
(-3 to +30 days, codes 1, 4 and 6 included) identical codes and <= 1e-11 km for |r| < 1e5 km.
"""
from __future__ import annotations

import math
import sys

import numpy as np


def _import_njit():
    """``numba.njit``, imported so that a stray ``coverage.py`` on sys.path cannot break numba.

    numba probes ``import coverage`` (the coverage.py package) at import; a plain module of that name
    earlier on sys.path (e.g. ``benchmarks/coverage.py`` when a script there is run) makes numba's
    import fail. Such a single-file module is hidden while numba is imported (numba then runs without
    its coverage.py integration), and visible again afterwards.
    """
    import importlib.util

    hide = False
    if "numba" not in sys.modules and "coverage" not in sys.modules:
        try:
            spec = importlib.util.find_spec("coverage")
        except (ImportError, ValueError):
            spec = None
        hide = spec is not None and spec.submodule_search_locations is None
    if hide:
        sys.modules["coverage"] = None  # type: ignore[assignment]  # import coverage -> ImportError
    try:
        from numba import njit
    finally:
        if hide and sys.modules.get("coverage", 0) is None:
            del sys.modules["coverage"]
    return njit


njit = _import_njit()

__all__ = ["FIELDS", "KEPLER_ITERS", "pack", "propagate_into"]

# per-satellite parameters, one row per satellite (order matters: the kernels index by position)
FIELDS = ("mo", "mdot", "argpo", "argpdot", "nodeo", "nodedot", "nodecf", "cc1", "bcc4", "bcc5",
          "t2cof", "isimp", "omgcof", "eta", "xmcof", "delmo", "d2", "d3", "d4", "sinmao",
          "t3cof", "t4cof", "t5cof", "no_unkozai", "ecco", "inclo", "sinim", "cosim", "xke",
          "aycof", "xlcof", "j2", "con41", "x1mth2", "x7thm1", "radiusearthkm", "vkmpersec",
          "jdsatepoch", "jdsatepochF", "am0")
(_MO, _MDOT, _ARGPO, _ARGPDOT, _NODEO, _NODEDOT, _NODECF, _CC1, _BCC4, _BCC5,
 _T2COF, _ISIMP, _OMGCOF, _ETA, _XMCOF, _DELMO, _D2, _D3, _D4, _SINMAO,
 _T3COF, _T4COF, _T5COF, _NO, _ECCO, _INCLO, _SINIM, _COSIM, _XKE,
 _AYCOF, _XLCOF, _J2, _CON41, _X1MTH2, _X7THM1, _RE, _VKMPERSEC,
 _JDEP, _JDEPF, _AM0) = range(len(FIELDS))

KEPLER_ITERS = 3     # masked Newton steps in the vector path: converged for e <~ 0.02 (Starlink: 0.004)
_BLOCK = 256         # times per vector block
_GROUP = 8           # satellites computed together (neighbouring output columns)
_BIG_ARG = 5.0e5     # |mean anomaly| beyond which the scalar libm path is used

_TWOPI = 2.0 * math.pi
_TWOPI_HI = 6.283185243606567          # 2pi (as a double) with its low 27 bits cleared
_TWOPI_LO = 6.357301884918343e-08      # the rest: HI + LO == 2pi exactly
_INV_TWOPI = 1.0 / _TWOPI
_TWO_OVER_PI = 6.36619772367581382433e-01
_PIO2_1 = 1.57079632673412561417e+00   # fdlibm: first 33 bits of pi/2
_PIO2_2 = 6.07710050630396597660e-11   # next 33 bits
_PIO2_3 = 2.02226624871116645580e-21   # next 33 bits
_S1, _S2, _S3 = -1.66666666666666324348e-01, 8.33333333332248946124e-03, -1.98412698298579493134e-04
_S4, _S5, _S6 = 2.75573137070700676789e-06, -2.50507602534068634195e-08, 1.58969099521155010221e-10
_C1, _C2, _C3 = 4.16666666666666019037e-02, -1.38888888888741095749e-03, 2.48015872894767294178e-05
_C4, _C5, _C6 = -2.75573143513906633035e-07, 2.08757232129817482790e-09, -1.13596475577881948265e-11

_OPTS = {"nogil": True, "cache": True, "error_model": "numpy"}
# No fast-math, not even FMA contraction: the vector path keeps the reference's operations and their
# order, so it rounds like the C++ except in sin/cos (~1 ulp). Contraction made the kernel ~10 % faster
# but moved results by up to 7e-9 km on sane orbits and 2e-10 relative on absurd ones (|r| ~ 1e10 km
# just before decay, where tempa is a cancelling polynomial), and flipped the Kepler stop rule.
_VOPTS = _OPTS


# ---------------------------------------------------------------------------
# initialisation: python-sgp4's own sgp4init, read into a parameter table
# ---------------------------------------------------------------------------
def pack(satrecs) -> tuple[np.ndarray, np.ndarray]:
    """Parameter table of the near-earth satellites among ``satrecs``.

    Returns ``(index, params)``: ``index`` (n,) the positions in ``satrecs`` of the satellites the
    kernel takes (near-earth, initialised without error), ``params`` (n, len(FIELDS)).
    """
    from sgp4 import model, propagation
    from sgp4.earth_gravity import wgs72, wgs72old, wgs84

    gravs = (wgs72, wgs84, wgs72old)
    idx, rows = [], []
    for k, s in enumerate(satrecs):
        if s.method != "n":
            continue
        g = next((g for g in gravs if g.radiusearthkm == s.radiusearthkm and g.xke == s.xke and g.j2 == s.j2), None)
        if g is None:
            continue
        p = model.Satrec()
        try:
            propagation.sgp4init(g, s.operationmode, s.satnum, s.jdsatepoch + s.jdsatepochF - 2433281.5, s.bstar,
                                 s.ndot, s.nddot, s.ecco, s.argpo, s.inclo, s.mo, s.no_kozai, s.nodeo, p)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if p.method != "n" or p.mdot != s.mdot or p.nodedot != s.nodedot or p.argpdot != s.argpdot:
            continue  # not the satellite the C++ initialised: leave it to SatrecArray
        if p.isimp == 1:  # sgp4init leaves these at 0 already; make sure (the kernel always adds them)
            for name in ("omgcof", "xmcof", "d2", "d3", "d4", "cc5", "t3cof", "t4cof", "t5cof"):
                setattr(p, name, 0.0)
        rows.append((p.mo, p.mdot, p.argpo, p.argpdot, p.nodeo, p.nodedot, p.nodecf, p.cc1,
                     p.bstar * p.cc4, p.bstar * p.cc5, p.t2cof, float(p.isimp), p.omgcof, p.eta, p.xmcof,
                     p.delmo, p.d2, p.d3, p.d4, p.sinmao, p.t3cof, p.t4cof, p.t5cof, p.no_unkozai, p.ecco,
                     p.inclo, math.sin(p.inclo), math.cos(p.inclo), p.xke, p.aycof, p.xlcof, p.j2, p.con41,
                     p.x1mth2, p.x7thm1, p.radiusearthkm, p.radiusearthkm * p.xke / 60.0,
                     s.jdsatepoch, s.jdsatepochF, math.pow(p.xke / p.no_unkozai, 2.0 / 3.0)))
        idx.append(k)
    params = np.array(rows, dtype=np.float64).reshape(len(rows), len(FIELDS))
    return np.asarray(idx, dtype=np.int64), params


# ---------------------------------------------------------------------------
# vectorisable elementary functions
# ---------------------------------------------------------------------------
@njit(inline="always", **_VOPTS)
def _sincos(x):
    n = np.floor(x * _TWO_OVER_PI + 0.5)
    y = ((x - n * _PIO2_1) - n * _PIO2_2) - n * _PIO2_3
    z = y * y
    s = y + (z * y) * (_S1 + z * (_S2 + z * (_S3 + z * (_S4 + z * (_S5 + z * _S6)))))
    hz = 0.5 * z
    w = 1.0 - hz
    c = w + (((1.0 - w) - hz) + z * (z * (_C1 + z * (_C2 + z * (_C3 + z * (_C4 + z * (_C5 + z * _C6)))))))
    q = n - 4.0 * np.floor(n * 0.25)          # quadrant 0..3
    odd = q == 1.0 or q == 3.0
    ss = c if odd else s
    cc = s if odd else c
    sn = -ss if q >= 2.0 else ss
    cs = -cc if (q == 1.0 or q == 2.0) else cc
    return sn, cs


@njit(inline="always", **_VOPTS)
def _fmod2pi(x):
    # C's fmod(x, 2pi) exactly: with n the truncated quotient, x - n*HI is exact (Sterbenz) and n*HI,
    # n*LO are exact for |n| < 2**26, so the one rounding gives the (representable) exact remainder.
    # The quotient comes from a multiplication (no division); a one-off error at a boundary is fixed.
    n = np.trunc(x * _INV_TWOPI)
    r = (x - n * _TWOPI_HI) - n * _TWOPI_LO
    if x >= 0.0:
        if r < 0.0:
            n = n - 1.0
        elif r >= _TWOPI:
            n = n + 1.0
    else:
        if r > 0.0:
            n = n + 1.0
        elif r <= -_TWOPI:
            n = n - 1.0
    return (x - n * _TWOPI_HI) - n * _TWOPI_LO


# ---------------------------------------------------------------------------
# scalar reference port (libm), used for elements the vector path hands over
# ---------------------------------------------------------------------------
@njit(**_OPTS)
def _sgp4_scalar(p, t, out):
    """Near-earth sgp4() line by line (python-sgp4 / Vallado C++); writes r, v into out[0:6].

    Returns the error code (0, 1, 4 or 6); for codes 1 and 4 out is NaN.
    """
    x2o3 = 2.0 / 3.0
    xmdf = p[_MO] + p[_MDOT] * t
    argpdf = p[_ARGPO] + p[_ARGPDOT] * t
    nodedf = p[_NODEO] + p[_NODEDOT] * t
    argpm = argpdf
    mm = xmdf
    t2 = t * t
    nodem = nodedf + p[_NODECF] * t2
    tempa = 1.0 - p[_CC1] * t
    tempe = p[_BCC4] * t
    templ = p[_T2COF] * t2
    if p[_ISIMP] != 1.0:
        delomg = p[_OMGCOF] * t
        delmtemp = 1.0 + p[_ETA] * math.cos(xmdf)
        delm = p[_XMCOF] * (delmtemp * delmtemp * delmtemp - p[_DELMO])
        temp = delomg + delm
        mm = xmdf + temp
        argpm = argpdf - temp
        t3 = t2 * t
        t4 = t3 * t
        tempa = tempa - p[_D2] * t2 - p[_D3] * t3 - p[_D4] * t4
        tempe = tempe + p[_BCC5] * (math.sin(mm) - p[_SINMAO])
        templ = templ + p[_T3COF] * t3 + t4 * (p[_T4COF] + t * p[_T5COF])
    nm = p[_NO]
    em = p[_ECCO]
    inclm = p[_INCLO]
    for k in range(6):
        out[k] = np.nan
    if nm <= 0.0:
        return 2
    am = math.pow(p[_XKE] / nm, x2o3) * tempa * tempa
    nm = p[_XKE] / math.pow(am, 1.5)
    em = em - tempe
    if em >= 1.0 or em < -0.001:
        return 1
    if em < 1.0e-6:
        em = 1.0e-6
    mm = mm + p[_NO] * templ
    xlm = mm + argpm + nodem
    nodem = np.fmod(nodem, _TWOPI)
    argpm = np.fmod(argpm, _TWOPI)
    xlm = np.fmod(xlm, _TWOPI)
    mm = np.fmod(xlm - argpm - nodem, _TWOPI)
    sinip = math.sin(inclm)
    cosip = math.cos(inclm)
    ep = em
    xincp = inclm
    argpp = argpm
    nodep = nodem
    mp = mm
    axnl = ep * math.cos(argpp)
    temp = 1.0 / (am * (1.0 - ep * ep))
    aynl = ep * math.sin(argpp) + temp * p[_AYCOF]
    xl = mp + argpp + nodep + temp * p[_XLCOF] * axnl
    u = np.fmod(xl - nodep, _TWOPI)
    eo1 = u
    tem5 = 9999.9
    ktr = 1
    sineo1 = 0.0
    coseo1 = 0.0
    while abs(tem5) >= 1.0e-12 and ktr <= 10:
        sineo1 = math.sin(eo1)
        coseo1 = math.cos(eo1)
        tem5 = 1.0 - coseo1 * axnl - sineo1 * aynl
        tem5 = (u - aynl * coseo1 + axnl * sineo1 - eo1) / tem5
        if abs(tem5) >= 0.95:
            tem5 = 0.95 if tem5 > 0.0 else -0.95
        eo1 = eo1 + tem5
        ktr = ktr + 1
    ecose = axnl * coseo1 + aynl * sineo1
    esine = axnl * sineo1 - aynl * coseo1
    el2 = axnl * axnl + aynl * aynl
    pl = am * (1.0 - el2)
    if pl < 0.0:
        return 4
    rl = am * (1.0 - ecose)
    rdotl = math.sqrt(am) * esine / rl
    rvdotl = math.sqrt(pl) / rl
    betal = math.sqrt(1.0 - el2)
    temp = esine / (1.0 + betal)
    sinu = am / rl * (sineo1 - aynl - axnl * temp)
    cosu = am / rl * (coseo1 - axnl + aynl * temp)
    su = math.atan2(sinu, cosu)
    sin2u = (cosu + cosu) * sinu
    cos2u = 1.0 - 2.0 * sinu * sinu
    temp = 1.0 / pl
    temp1 = 0.5 * p[_J2] * temp
    temp2 = temp1 * temp
    mrt = rl * (1.0 - 1.5 * temp2 * betal * p[_CON41]) + 0.5 * temp1 * p[_X1MTH2] * cos2u
    su = su - 0.25 * temp2 * p[_X7THM1] * sin2u
    xnode = nodep + 1.5 * temp2 * cosip * sin2u
    xinc = xincp + 1.5 * temp2 * cosip * sinip * cos2u
    mvt = rdotl - nm * temp1 * p[_X1MTH2] * sin2u / p[_XKE]
    rvdot = rvdotl + nm * temp1 * (p[_X1MTH2] * cos2u + 1.5 * p[_CON41]) / p[_XKE]
    sinsu = math.sin(su)
    cossu = math.cos(su)
    snod = math.sin(xnode)
    cnod = math.cos(xnode)
    sini = math.sin(xinc)
    cosi = math.cos(xinc)
    xmx = -snod * cosi
    xmy = cnod * cosi
    ux = xmx * sinsu + cnod * cossu
    uy = xmy * sinsu + snod * cossu
    uz = sini * sinsu
    vx = xmx * cossu - cnod * sinsu
    vy = xmy * cossu - snod * sinsu
    vz = sini * cossu
    mr = mrt * p[_RE]
    vk = p[_VKMPERSEC]
    out[0] = mr * ux
    out[1] = mr * uy
    out[2] = mr * uz
    out[3] = (mvt * ux + rvdot * vx) * vk
    out[4] = (mvt * uy + rvdot * vy) * vk
    out[5] = (mvt * uz + rvdot * vz) * vk
    if mrt < 1.0:
        return 6
    return 0


# ---------------------------------------------------------------------------
# vector path: one satellite, a block of times, structure of arrays
# ---------------------------------------------------------------------------
@njit(inline="always", **_VOPTS)
def _kepler_step(u, axnl, aynl, eo1, sineo1, coseo1, done):
    s, c = _sincos(eo1)
    tem5 = 1.0 - c * axnl - s * aynl
    tem5 = (u - aynl * c + axnl * s - eo1) / tem5
    if tem5 >= 0.95:
        tem5 = 0.95
    if tem5 <= -0.95:
        tem5 = -0.95
    if not done:
        sineo1 = s
        coseo1 = c
        eo1 = eo1 + tem5
    done = done or abs(tem5) < 1.0e-12
    return eo1, sineo1, coseo1, done


@njit(inline="always", **_VOPTS)
def _elem(p, t):
    """One (satellite, time): r, v (TEME) and the code 0/1/4/6, or 255 = hand over to the scalar path.

    Always the full (``isimp == 0``) drag terms: for ``isimp == 1`` satellites :func:`pack` zeroes the
    coefficients of the extra terms, which then add exact zeros (same result as skipping them).
    """
    mo, mdot, argpo, argpdot = p[_MO], p[_MDOT], p[_ARGPO], p[_ARGPDOT]
    nodeo, nodedot, nodecf, cc1 = p[_NODEO], p[_NODEDOT], p[_NODECF], p[_CC1]
    bcc4, bcc5, t2cof, omgcof, eta = p[_BCC4], p[_BCC5], p[_T2COF], p[_OMGCOF], p[_ETA]
    xmcof, delmo, d2, d3, d4, sinmao = p[_XMCOF], p[_DELMO], p[_D2], p[_D3], p[_D4], p[_SINMAO]
    t3cof, t4cof, t5cof, no, ecco = p[_T3COF], p[_T4COF], p[_T5COF], p[_NO], p[_ECCO]
    inclo, sinip, cosip, xke = p[_INCLO], p[_SINIM], p[_COSIM], p[_XKE]
    aycof, xlcof, j2, con41 = p[_AYCOF], p[_XLCOF], p[_J2], p[_CON41]
    x1mth2, x7thm1, re, vk = p[_X1MTH2], p[_X7THM1], p[_RE], p[_VKMPERSEC]
    am0 = p[_AM0]
    inv_xke = 1.0 / xke
    xmdf = mo + mdot * t
    argpdf = argpo + argpdot * t
    nodedf = nodeo + nodedot * t
    t2 = t * t
    nodem = nodedf + nodecf * t2
    tempa = 1.0 - cc1 * t
    tempe = bcc4 * t
    templ = t2cof * t2
    _, c_x = _sincos(xmdf)
    delomg = omgcof * t
    delmtemp = 1.0 + eta * c_x
    delm = xmcof * (delmtemp * delmtemp * delmtemp - delmo)
    temp = delomg + delm
    mm = xmdf + temp
    argpm = argpdf - temp
    t3 = t2 * t
    t4 = t3 * t
    tempa = tempa - d2 * t2 - d3 * t3 - d4 * t4
    s_m, _ = _sincos(mm)
    tempe = tempe + bcc5 * (s_m - sinmao)
    templ = templ + t3cof * t3 + t4 * (t4cof + t * t5cof)
    am = am0 * tempa * tempa
    nm = xke / (am * np.sqrt(am))
    em = ecco - tempe
    bad_e = em >= 1.0 or em < -0.001
    if em < 1.0e-6:
        em = 1.0e-6
    mm = mm + no * templ
    xlm = mm + argpm + nodem
    nodem = _fmod2pi(nodem)
    argpm = _fmod2pi(argpm)
    xlm = _fmod2pi(xlm)
    mm = _fmod2pi(xlm - argpm - nodem)
    s_a, c_a = _sincos(argpm)
    axnl = em * c_a
    temp = 1.0 / (am * (1.0 - em * em))
    aynl = em * s_a + temp * aycof
    xl = mm + argpm + nodem + temp * xlcof * axnl
    u = _fmod2pi(xl - nodem)
    eo1 = u
    sineo1 = 0.0
    coseo1 = 0.0
    done = False
    eo1, sineo1, coseo1, done = _kepler_step(u, axnl, aynl, eo1, sineo1, coseo1, done)
    eo1, sineo1, coseo1, done = _kepler_step(u, axnl, aynl, eo1, sineo1, coseo1, done)
    eo1, sineo1, coseo1, done = _kepler_step(u, axnl, aynl, eo1, sineo1, coseo1, done)
    ecose = axnl * coseo1 + aynl * sineo1
    esine = axnl * sineo1 - aynl * coseo1
    el2 = axnl * axnl + aynl * aynl
    pl = am * (1.0 - el2)
    rl = am * (1.0 - ecose)
    inv_rl = 1.0 / rl
    rdotl = np.sqrt(am) * esine * inv_rl
    rvdotl = np.sqrt(pl) * inv_rl
    betal = np.sqrt(1.0 - el2)
    temp = esine / (1.0 + betal)
    am_rl = am * inv_rl
    sinu = am_rl * (sineo1 - aynl - axnl * temp)
    cosu = am_rl * (coseo1 - axnl + aynl * temp)
    sin2u = (cosu + cosu) * sinu
    cos2u = 1.0 - 2.0 * sinu * sinu
    temp = 1.0 / pl
    temp1 = 0.5 * j2 * temp
    temp2 = temp1 * temp
    mrt = rl * (1.0 - 1.5 * temp2 * betal * con41) + 0.5 * temp1 * x1mth2 * cos2u
    dsu = -0.25 * temp2 * x7thm1 * sin2u
    xnode = nodem + 1.5 * temp2 * cosip * sin2u
    xinc = inclo + 1.5 * temp2 * cosip * sinip * cos2u
    nmt = nm * temp1 * inv_xke
    mvt = rdotl - nmt * x1mth2 * sin2u
    rvdot = rvdotl + nmt * (x1mth2 * cos2u + 1.5 * con41)
    # sin/cos(atan2(sinu, cosu) + dsu) without atan2
    hinv = 1.0 / np.sqrt(sinu * sinu + cosu * cosu)
    s0 = sinu * hinv
    c0 = cosu * hinv
    s_d, c_d = _sincos(dsu)
    sinsu = s0 * c_d + c0 * s_d
    cossu = c0 * c_d - s0 * s_d
    snod, cnod = _sincos(xnode)
    sini, cosi = _sincos(xinc)
    xmx = -snod * cosi
    xmy = cnod * cosi
    ux = xmx * sinsu + cnod * cossu
    uy = xmy * sinsu + snod * cossu
    uz = sini * sinsu
    vx = xmx * cossu - cnod * sinsu
    vy = xmy * cossu - snod * sinsu
    vz = sini * cossu
    mr = mrt * re
    c = 0
    if mrt < 1.0:
        c = 6
    if pl < 0.0:
        c = 4
    if bad_e:
        c = 1
    if c != 1 and not (done and abs(xmdf) < _BIG_ARG):
        c = 255
    return (mr * ux, mr * uy, mr * uz, (mvt * ux + rvdot * vx) * vk, (mvt * uy + rvdot * vy) * vk,
            (mvt * uz + rvdot * vz) * vk, c)


@njit(**_VOPTS)
def _block(p, jd, fr, t0, m, tsb, rx, ry, rz, vx, vy, vz, code):
    """Vector path for times [t0, t0+m) of one satellite (code 255: hand over to the scalar path)."""
    jdep, jdepf = p[_JDEP], p[_JDEPF]
    for j in range(m):
        t = (jd[t0 + j] - jdep) * 1440.0 + (fr[t0 + j] - jdepf) * 1440.0
        tsb[j] = t
        rx[j], ry[j], rz[j], vx[j], vy[j], vz[j], code[j] = _elem(p, t)


@njit(**_OPTS)
def propagate_into(params, cols, jd, fr, M, w, pos, vel, err, want_vel):
    """Propagate satellites ``params`` (n, F) at times (jd, fr) and write the rotated states.

    Satellite i goes to column ``cols[i]`` of ``pos``/``vel`` (t, s, 3) and ``err`` (t, s).
    ``M`` (t, 3, 3) rotates TEME into the output frame; ``w`` (t,) adds ``w * (y, -x, 0)`` (frame
    coordinates) to the velocity (Earth rotation for ITRS, zeros otherwise).
    Codes 1-5 leave NaN (as SatrecArray does); code 6 keeps the computed state.
    """
    n_t = jd.shape[0]
    n = params.shape[0]
    B = _BLOCK
    G = _GROUP
    buf = np.empty((G, 7, B))  # per satellite of the group: tsince, r (3), v (3)
    code = np.empty((G, B), np.uint8)
    one = np.empty(6)
    for g0 in range(0, n, G):
        ng = min(G, n - g0)
        for t0 in range(0, n_t, B):
            m = min(B, n_t - t0)
            for g in range(ng):
                p = params[g0 + g]
                b = buf[g]
                cg = code[g]
                _block(p, jd, fr, t0, m, b[0], b[1], b[2], b[3], b[4], b[5], b[6], cg)
                for j in range(m):
                    if cg[j] == 255:  # handed over: the scalar reference port
                        cg[j] = _sgp4_scalar(p, b[0, j], one)
                        for k in range(6):
                            b[k + 1, j] = one[k]
            # rotate and store: the group's satellites are neighbours in each output row
            for j in range(m):
                tt = t0 + j
                m00, m01, m02 = M[tt, 0, 0], M[tt, 0, 1], M[tt, 0, 2]
                m10, m11, m12 = M[tt, 1, 0], M[tt, 1, 1], M[tt, 1, 2]
                m20, m21, m22 = M[tt, 2, 0], M[tt, 2, 1], M[tt, 2, 2]
                wt = w[tt]
                for g in range(ng):
                    col = cols[g0 + g]
                    c = code[g, j]
                    err[tt, col] = c
                    if c != 0 and c < 6:
                        for k in range(3):
                            pos[tt, col, k] = np.nan
                            if want_vel:
                                vel[tt, col, k] = np.nan
                        continue
                    x, y, z = buf[g, 1, j], buf[g, 2, j], buf[g, 3, j]
                    X = m00 * x + m01 * y + m02 * z
                    Y = m10 * x + m11 * y + m12 * z
                    Z = m20 * x + m21 * y + m22 * z
                    pos[tt, col, 0] = X
                    pos[tt, col, 1] = Y
                    pos[tt, col, 2] = Z
                    if want_vel:
                        a, bb, d = buf[g, 4, j], buf[g, 5, j], buf[g, 6, j]
                        vel[tt, col, 0] = m00 * a + m01 * bb + m02 * d + wt * Y
                        vel[tt, col, 1] = m10 * a + m11 * bb + m12 * d - wt * X
                        vel[tt, col, 2] = m20 * a + m21 * bb + m22 * d
