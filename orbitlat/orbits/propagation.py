"""Propagation backends, all returning the same labelled ephemeris.

The ephemeris is an :class:`xarray.Dataset` with

- ``position`` (time, sat, xyz), km, and ``velocity`` (time, sat, xyz), km/s,
  in the requested frame (``attrs["frame"]``: ``"TEME"``, ``"GCRS"`` or ``"ITRS"``);
- coordinates ``time`` (UTC datetime64), ``sat`` (index), ``xyz`` and the
  satellites' metadata (``name``, ``norad_id``, ``shell``, ``plane``, ``slot``);
- ``error_code`` (sat): the first SGP4 error code of each satellite (0 = none),
  and ``failed`` (sat): True for satellites that failed at any requested time.
  Positions of a failed satellite are NaN where it failed; later layers drop
  failed satellites and say how many (they never turn an aggregate into NaN).

Backends
--------
``"sgp4"``
    python-sgp4's ``SatrecArray`` (the SGP4/SDP4 model of Vallado et al. 2006,
    as Skyfield uses it), spread over CPU cores in worker processes that write
    into shared memory; TEME→ITRS is one z-rotation by GMST1982 per time step for
    all satellites (exactly Skyfield's ITRS for SGP4 satellites), TEME→GCRS
    Skyfield's TEME frame matrix per time step. Designed satellites go through
    ``sgp4init`` (WGS72, B* = 0) after their GCRS elements are rotated into TEME
    of their epoch. When numba is installed, near-earth satellites (period
    < 225 min) run instead through :mod:`orbitlat._sgp4_numba`, a vectorised port
    of the same near-earth equations on all cores (threads) with the rotation fused;
    it matches ``SatrecArray`` to rounding (~1e-10 km, identical error codes).
    ``ORBITLAT_SGP4_KERNEL=python`` forces ``SatrecArray`` for everything;
    ``attrs["sgp4_kernel"]`` says which code ran.
``"kepler-j2"``
    Analytic two-body motion with the first-order *secular* J2 drift of RAAN,
    argument of perigee and mean anomaly (Vallado, eqs. 9-41): a **mean-element
    model**. It has no short-period J2 terms (±~10 km for LEO) and no drag, so
    it describes where a designed constellation's pattern is, not a real
    satellite's osculating state. Elements are referred to GCRS.
``"boinor"``
    boinor's own propagators (two-body Farnocchia; Cowell with J2 when
    ``j2=True``), one satellite at a time: slow, for interop and cross-checks.

>>> import orbitlat as ol
>>> eph = ol.presets.get("galileo").propagate(start="2026-01-01", duration="1h", step="10min")
>>> eph.position.dims, eph.position.shape
(('time', 'sat', 'xyz'), (7, 24, 3))
"""
from __future__ import annotations

import math
import mmap
import os
import threading
import warnings
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from orbitlat.constants import J2_EARTH, MU_EARTH_KM3_S2, WGS84_A_KM
from orbitlat.orbits.constellation import Constellation
from orbitlat.errors import CompileNotice, EpochWarning, OrbitlatError, PropagationWarning
from orbitlat.time import TimeGrid, to_timegrid
from orbitlat.units import accepts_units

__all__ = ["propagate", "kepler_j2_rates", "FRAMES", "BACKENDS", "SGP4_ERRORS", "valid_sats", "APOGEE_BAND_FRACTION",
           "apogee_limit_km", "estimate_memory"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


FRAMES = ("ITRS", "GCRS", "TEME")
BACKENDS = ("auto", "sgp4", "kepler-j2", "boinor")

SGP4_ERRORS = {
    0: "",
    1: "mean eccentricity out of range 0 <= e < 1",
    2: "mean motion fell below zero",
    3: "perturbed eccentricity out of range",
    4: "semilatus rectum below zero",
    5: "(unused)",
    6: "orbit decayed: satellite below the Earth's surface",
    7: "position outside the element set's physical band (above its apogee by more than "
       "APOGEE_BAND_FRACTION): the element set is used far from its epoch",
}

#: Code 7 (orbitlat's, not SGP4's): an SGP4 position further from the geocentre than the element set's
#: apogee radius ``a(1+e)`` times ``1 + APOGEE_BAND_FRACTION``. SGP4's short-period radius terms are
#: a few tenths of a percent of ``a`` and its drag terms only lower the orbit forward in time, so inside
#: the model's validity (days to weeks from the epoch; Vallado et al. 2006, Hoots & Roehrich 1980, see
#: docs/references.md) no position reaches 10 % above apogee; run decades away, the secular polynomials
#: give the ~1,000,000 km "LEO" positions of an epoch-2056 ISS TLE propagated in 2026. Such satellites are
#: flagged failed and excluded like decayed ones (code 6).
APOGEE_BAND_FRACTION = 0.10
ERROR_OUTSIDE_BAND = 7

# Skyfield's Earth angular velocity for ITRS velocities (skyfield.constants.ANGVEL)
_ANGVEL = 7.2921150e-5


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - non-Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------
@accepts_units
def propagate(constellation: Constellation, times: Any = None, *, start: Any = None, duration: Any = None,
              step: Any = None, backend: str = "auto", frame: str = "ITRS", velocity: bool = True,
              workers: int | None = None, j2: bool = True, warn_epoch_days: float = 14.0) -> xr.Dataset:
    """Propagate every satellite over a time grid; return the labelled ephemeris.

    Parameters
    ----------
    constellation : Constellation
    times : TimeGrid or instants, optional
        Explicit instants; or give ``start``, ``duration`` and ``step``.
    backend : {"auto", "sgp4", "kepler-j2", "boinor"}
        ``"auto"`` uses sgp4 when any satellite comes from a TLE/OMM, else kepler-j2.
    frame : {"ITRS", "GCRS", "TEME"}
    velocity : bool
        Also return velocities (cheap; turn off to halve memory).
    workers : int, optional
        Parallelism for sgp4 (default: all cores for large jobs): threads for the numba kernel,
        worker processes for python-sgp4's ``SatrecArray``.
    j2 : bool
        kepler-j2/boinor only: include the J2 secular drift (False = pure two-body).
    warn_epoch_days : float
        Warn (:class:`~orbitlat.errors.EpochWarning`) when a TLE satellite is propagated
        further than this from its epoch.

    Returns
    -------
    xarray.Dataset
        See the module docs.
    """
    if not isinstance(constellation, Constellation):
        raise OrbitlatError(
            f"propagate takes a Constellation; got {type(constellation).__name__}. "
            "Build one with orbitlat.orbits.presets.get(...), Constellation.from_tle(...) or the walker builders."
        )
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    check_memory_for(constellation.size, len(tg), velocity=velocity)
    frame_u = str(frame).upper()
    if frame_u not in FRAMES:
        raise OrbitlatError(f"frame={frame!r} is not supported; valid frames are {', '.join(FRAMES)}.")
    _check_backend(constellation, backend)
    catalog = constellation.is_catalog
    if backend == "auto":
        backend = "sgp4" if catalog.any() else "kepler-j2"
    if backend == "sgp4":
        if catalog.any():
            _warn_far_from_epoch(constellation, tg, warn_epoch_days)
        pos, vel, err, kernel = _propagate_sgp4(constellation, tg, frame_u, velocity, workers)
    elif backend == "kepler-j2":
        pos, vel = _propagate_kepler_j2(constellation, tg, frame_u, velocity, j2=j2, workers=workers)
        err = None
    else:
        pos, vel = _propagate_boinor(constellation, tg, frame_u, velocity, j2=j2)
        err = None
    ds = _make_dataset(constellation, tg, pos, vel, err, frame_u, backend)
    if backend == "sgp4":
        ds.attrs["sgp4_kernel"] = kernel
    return ds


def estimate_memory(n_sat: int, n_times: int, *, velocity: bool = True) -> float:
    """Peak bytes of :func:`propagate` for ``n_sat`` satellites at ``n_times`` instants.

    Positions (and velocities) are float64 ``(time, sat, 3)``: 24 bytes per sample each; the
    per-sample error codes, failure masks and the dataset's own masks add 3 bytes.

    >>> round(estimate_memory(4408, 172_801) / 2**30, 1)  # Starlink Gen1, 2 days every second
    36.2
    """
    return float(n_sat) * float(n_times) * (24.0 * (2 if velocity else 1) + 3.0)


def check_memory_for(n_sat: int, n_times: int, *, velocity: bool = True) -> None:
    """Refuse, before any allocation, a propagation that does not fit in memory (the estimate and what to change)."""
    from orbitlat.memory import check_memory

    hints = [f"a shorter span or a coarser step (now {n_times:,} instants)",
             f"fewer satellites (now {n_sat:,})"]
    if velocity:
        hints.append("velocity=False (half the memory)")
    hints.append("streaming to disk in time chunks (`orbitlat propagate ... --out eph.nc` does it; in Python, "
                 "propagate each TimeGrid.chunks(n) piece)")
    check_memory(estimate_memory(n_sat, n_times, velocity=velocity),
                 f"propagating {n_sat:,} satellites x {n_times:,} instants", hints)


def valid_sats(eph: xr.Dataset) -> np.ndarray:
    """Boolean mask of satellites that propagated without error at every time."""
    if "failed" in eph:
        return ~eph["failed"].to_numpy()
    return np.ones(eph.sizes["sat"], dtype=bool)


# ---------------------------------------------------------------------------
# Dataset assembly
# ---------------------------------------------------------------------------
def _make_dataset(c: Constellation, tg: TimeGrid, pos, vel, err, frame: str, backend: str) -> xr.Dataset:
    n_sat = c.size
    coords = {"time": tg.utc, "sat": np.arange(n_sat), "xyz": ["x", "y", "z"], **c.metadata_coords()}
    data = {"position": (("time", "sat", "xyz"), pos, {"units": "km", "frame": frame, "long_name": "position"})}
    if vel is not None:
        data["velocity"] = (("time", "sat", "xyz"), vel, {"units": "km/s", "frame": frame, "long_name": "velocity"})
    if err is not None:
        # first non-zero error per satellite
        bad = err != 0
        any_bad = bad.any(axis=0)
        first = np.where(any_bad, err[np.argmax(bad, axis=0), np.arange(n_sat)], 0).astype(np.int8)
        n_bad_times = bad.sum(axis=0).astype(np.int32)
    else:
        first = np.zeros(n_sat, np.int8)
        n_bad_times = np.zeros(n_sat, np.int32)
        any_bad = np.zeros(n_sat, bool)
    data["error_code"] = (("sat",), first, {"long_name": "first SGP4 error code (0 = none)",
                                             "flag_meanings": "; ".join(f"{k}: {v}" for k, v in SGP4_ERRORS.items() if k)})
    data["failed"] = (("sat",), any_bad, {"long_name": "satellite failed to propagate at some time"})
    data["failed_steps"] = (("sat",), n_bad_times, {"long_name": "number of time steps with an error"})
    attrs = {
        "frame": frame,
        "backend": backend,
        "constellation": c.name,
        "n_failed": int(any_bad.sum()),
        "step_s": tg.step_s,
        "units": "km, km/s",
    }
    for k, v in c.attrs.items():
        if isinstance(v, (str, int, float)):
            attrs[f"source_{k}" if k != "source" else "source"] = v
    ds = xr.Dataset(data, coords=coords, attrs=attrs)
    if any_bad.any():
        codes = {int(k): int((first == k).sum()) for k in np.unique(first[any_bad])}
        desc = ", ".join(f"{n} x code {k} ({SGP4_ERRORS.get(k, '?')})" for k, n in codes.items())
        warnings.warn(
            f"{int(any_bad.sum())} of {n_sat} satellites failed to propagate ({desc}); they are flagged in "
            "ds['failed'] with ds['error_code'], their positions are NaN where they failed, and later "
            "statistics exclude them.",
            PropagationWarning,
            stacklevel=3,
        )
    return ds


def _check_backend(c: Constellation, backend: str) -> None:
    """propagate's own checks of ``backend`` for ``c``, for callers that check up front (before tasks run)."""
    if backend not in BACKENDS:
        raise OrbitlatError(f"backend={backend!r} is not known; valid backends are {', '.join(BACKENDS)}.")
    cat = c.is_catalog
    if backend not in ("auto", "sgp4") and cat.any():
        raise OrbitlatError(
            f"backend={backend!r} cannot propagate TLE/OMM satellites ({int(cat.sum())} here): their "
            "elements are SGP4 mean elements. Use backend='sgp4'."
        )


def _warn_far_from_epoch(c: Constellation, tg: TimeGrid, limit_days: float, stacklevel: int = 4,
                         consequence: str = "") -> None:
    """EpochWarning when TLE satellites are used more than ``limit_days`` from their epochs."""
    far = c.days_from_epoch(tg)
    n_far = int((far > limit_days).sum())
    if n_far:
        warnings.warn(
            f"{n_far} TLE satellites are propagated more than {limit_days:g} days from their epoch "
            f"(up to {far.max():.1f} days); SGP4 errors grow by km per day there{consequence}. Use TLEs closer "
            "to the requested times.",
            EpochWarning,
            stacklevel=stacklevel,
        )


# ---------------------------------------------------------------------------
# frame rotations (vectorized over all satellites per time step)
# ---------------------------------------------------------------------------
def _rot_apply(M: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Apply per-time 3x3 matrices ``M`` (t,3,3) to vectors ``r`` (t,s,3), elementwise (no BLAS)."""
    out = np.empty_like(r)
    for i in range(3):
        out[..., i] = (M[:, None, i, 0] * r[..., 0] + M[:, None, i, 1] * r[..., 1] + M[:, None, i, 2] * r[..., 2])
    return out


def _teme_to_frame(tg: TimeGrid, sl: slice, r: np.ndarray, v: np.ndarray | None, frame: str, out_r, out_v):
    """Rotate TEME (t,s,3) into ``frame`` and write into out arrays (views)."""
    if frame == "TEME":
        out_r[...] = r
        if v is not None:
            out_v[...] = v
        return
    if frame == "ITRS":
        th = tg.gmst82_rad[sl]
        w = tg.gmst82_rate_rad_s[sl][:, None]
        c = np.cos(th)[:, None]
        s = np.sin(th)[:, None]
        x, y = r[..., 0], r[..., 1]
        xr_ = c * x + s * y
        yr_ = c * y - s * x
        out_r[..., 0] = xr_
        out_r[..., 1] = yr_
        out_r[..., 2] = r[..., 2]
        if v is not None:
            vx, vy = v[..., 0], v[..., 1]
            out_v[..., 0] = c * vx + s * vy + w * yr_
            out_v[..., 1] = c * vy - s * vx - w * xr_
            out_v[..., 2] = v[..., 2]
        return
    M = tg.teme_to_gcrs[sl]
    out_r[...] = _rot_apply(M, r)
    if v is not None:
        out_v[...] = _rot_apply(M, v)


# ---------------------------------------------------------------------------
# sgp4 backend
# ---------------------------------------------------------------------------
def _satrecs(c: Constellation) -> list:
    """Build (and cache on the constellation) one Satrec per satellite."""
    if c._satrecs is not None:
        return c._satrecs
    from sgp4.api import Satrec

    recs = []
    cat = c.is_catalog
    t = c.table
    designed_idx = np.flatnonzero(~cat)
    teme_el = _designed_teme_elements(c, designed_idx) if designed_idx.size else None
    k_design = 0
    line1 = t["line1"].to_numpy()  # one column read each: per-row .at access cost seconds for 10k rows
    line2 = t["line2"].to_numpy()
    for k in range(c.size):
        if cat[k]:
            recs.append(Satrec.twoline2rv(line1[k], line2[k]))
        else:
            recs.append(_sgp4init(t.loc[k], {key: val[k_design] for key, val in teme_el.items()}))
            k_design += 1
    c._satrecs = recs
    return recs


def _designed_teme_elements(c: Constellation, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Rotate designed satellites' GCRS mean elements into TEME of their epoch (two-body, exact for the plane)."""
    el = c.element_arrays()
    sub = {k: v[idx] for k, v in el.items()}
    r, v = _elements_to_rv(sub["a_km"], sub["ecc"], sub["inc_rad"], sub["raan_rad"], sub["argp_rad"],
                           sub["mean_anomaly_rad"])
    epochs = sub["epoch"]
    uniq, inv = np.unique(epochs, return_inverse=True)
    M = TimeGrid(uniq).teme_to_gcrs  # (u,3,3) TEME->GCRS
    Minv = np.transpose(M, (0, 2, 1))[inv]  # GCRS->TEME per satellite
    r_t = np.einsum("sij,sj->si", Minv, r)
    v_t = np.einsum("sij,sj->si", Minv, v)
    return _rv_to_elements(r_t, v_t, sub["a_km"])


def _sgp4init(row, el: dict) -> Any:
    """sgp4init a designed satellite so that SGP4's Brouwer mean motion equals orbitlat's.

    sgp4init takes a *Kozai* mean motion and un-Kozais it internally; we iterate so
    that the resulting ``no_unkozai`` equals the two-body mean motion of ``a_km`` with
    orbitlat's GM, which makes the sgp4 and kepler-j2 backends agree on the along-track
    phase of designed satellites (to the short-period terms).
    """
    from sgp4.api import WGS72, Satrec

    epoch = np.datetime64(row["epoch"], "ns")
    days = (epoch - np.datetime64("1949-12-31T00:00:00", "ns")).astype(np.int64) * 1e-9 / 86400.0
    n_target = math.sqrt(MU_EARTH_KM3_S2 / el["a_km"] ** 3) * 60.0  # rad/min
    n_kozai = n_target
    args = (float(row["bstar"]), 0.0, 0.0, float(el["ecc"]), float(el["argp_rad"]), float(el["inc_rad"]),
            float(el["mean_anomaly_rad"]))
    for _ in range(4):
        s = Satrec()
        s.sgp4init(WGS72, "i", int(row["norad_id"]) % 100000, days, *args, n_kozai, float(el["raan_rad"]))
        no_unkozai = s.xke / s.a**1.5  # sgp4: a = (xke / no_unkozai)^(2/3), Earth radii
        if abs(no_unkozai - n_target) < 1e-15:
            break
        n_kozai *= n_target / no_unkozai
    return s


def _sgp4_chunk(sats, tg: TimeGrid, s0: int, s1: int, frame: str, pos, vel, err, want_vel: bool,
                time_chunk: int = 60):
    """Propagate satellites [s0, s1) over all times and write into the shared output arrays."""
    from sgp4.api import SatrecArray

    sa = SatrecArray(sats[s0:s1])
    jd, fr = tg.jd_utc
    n_t = len(tg)
    for t0 in range(0, n_t, time_chunk):
        t1 = min(n_t, t0 + time_chunk)
        e, r, v = sa.sgp4(jd[t0:t1], fr[t0:t1])  # (s, t, 3)
        r = r.transpose(1, 0, 2)
        v = v.transpose(1, 0, 2) if want_vel else None
        sl = slice(t0, t1)
        _teme_to_frame(tg, sl, r, v, frame, pos[t0:t1, s0:s1], vel[t0:t1, s0:s1] if want_vel else None)
        err[t0:t1, s0:s1] = e.T


def _shared_array(shape, dtype) -> np.ndarray:
    nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    buf = mmap.mmap(-1, max(nbytes, 1))  # anonymous MAP_SHARED: visible to forked children
    return np.frombuffer(buf, dtype=dtype, count=int(np.prod(shape))).reshape(shape)


def _propagate_sgp4(c: Constellation, tg: TimeGrid, frame: str, want_vel: bool, workers: int | None):
    """sgp4 backend: the numba kernel for near-earth satellites when available, SatrecArray otherwise.

    Returns ``pos, vel, err, kernel`` with ``kernel`` one of ``"numba"``, ``"python-sgp4"`` or
    ``"numba+python-sgp4"`` (which code propagated the satellites).
    """
    sats = _satrecs(c)
    n_sat, n_t = c.size, len(tg)
    # warm the per-time caches once, before any fork
    if frame == "ITRS":
        tg.gmst82_rad
    elif frame == "GCRS":
        tg.teme_to_gcrs
    tg.jd_utc
    work = n_sat * n_t
    if workers is None:
        workers = _cpu_count() if work >= 400_000 else 1
    workers = max(1, min(int(workers), n_sat))
    kernel = _sgp4_numba_module()
    near = np.zeros(0, np.int64)
    if kernel is not None:
        near, params = _sgp4_packed(c, sats, kernel)
    if near.size == 0:
        pos, vel, err = _propagate_satrecarray(sats, tg, frame, want_vel, workers)
        _flag_outside_band(sats, pos, err, tg, c.table["epoch"].to_numpy())
        bad = err == ERROR_OUTSIDE_BAND
        if bad.any():
            pos[bad] = np.nan
            if want_vel:
                vel[bad] = np.nan
        return pos, vel, err, "python-sgp4"
    pos = np.empty((n_t, n_sat, 3))
    vel = np.empty((n_t, n_sat, 3)) if want_vel else None
    err = np.empty((n_t, n_sat), np.uint8)
    rest = np.setdiff1d(np.arange(n_sat), near)
    if rest.size:  # deep-space satellites (and any the kernel does not take): SatrecArray, forked first
        p2, v2, e2 = _propagate_satrecarray([sats[k] for k in rest], tg, frame, want_vel,
                                            max(1, min(workers, rest.size)))
        pos[:, rest] = p2
        if want_vel:
            vel[:, rest] = v2
        err[:, rest] = e2
        del p2, v2, e2
    _run_numba_kernel(kernel, params, near, tg, frame, want_vel, pos, vel, err, workers)
    _flag_outside_band(sats, pos, err, tg, c.table["epoch"].to_numpy())
    bad = err != 0
    if bad.any():
        pos[bad] = np.nan
        if want_vel:
            vel[bad] = np.nan
    return pos, vel, err, ("numba+python-sgp4" if rest.size else "numba")


def apogee_limit_km(sats: list) -> np.ndarray:
    """Per satellite, the largest geocentric distance (km) an SGP4 position may have: the element set's
    apogee radius times ``1 + APOGEE_BAND_FRACTION`` (see :data:`APOGEE_BAND_FRACTION`)."""
    apo = np.array([(s.alta + 1.0) * s.radiusearthkm for s in sats], dtype=np.float64)
    return apo * (1.0 + APOGEE_BAND_FRACTION)


#: Element sets used within this many days of their epoch are not checked against the band: drag and
#: the short-period terms stay far inside it there (measured on the shared catalogs: at most 4.4 % above
#: apogee even 14 days out, docs/references.md), and the check would cost ~10 % of a propagation.
BAND_CHECK_AFTER_DAYS = 3.0


def _flag_outside_band(sats: list, pos: np.ndarray, err: np.ndarray, tg: TimeGrid | None = None,
                       epochs: np.ndarray | None = None, block: int = 512) -> None:
    """Set error code 7 where a position lies outside its element set's physical band (in place).

    With ``tg`` and ``epochs`` (per satellite), only satellites used more than
    :data:`BAND_CHECK_AFTER_DAYS` from their epoch are checked.
    """
    cols = None
    if tg is not None and epochs is not None:
        ep = np.asarray(epochs, dtype="datetime64[ns]").astype(np.int64)
        lo, hi = int(tg.utc.min().astype(np.int64)), int(tg.utc.max().astype(np.int64))
        far = np.maximum(np.abs(lo - ep), np.abs(hi - ep)) / 86400e9 > BAND_CHECK_AFTER_DAYS
        if not far.any():
            return
        cols = np.flatnonzero(far)
    sel = sats if cols is None else [sats[k] for k in cols]
    lim2 = apogee_limit_km(sel) ** 2
    for t0 in range(0, pos.shape[0], block):
        p = pos[t0:t0 + block] if cols is None else pos[t0:t0 + block][:, cols]
        r2 = p[..., 0] * p[..., 0]
        r2 += p[..., 1] * p[..., 1]
        r2 += p[..., 2] * p[..., 2]
        out = r2 > lim2[None, :]  # NaN compares False: positions SGP4 already failed stay as they are
        if out.any():
            if cols is None:
                e = err[t0:t0 + block]
                e[out & (e == 0)] = ERROR_OUTSIDE_BAND
            else:
                t_idx, c_idx = np.nonzero(out)
                rows, cc = t0 + t_idx, cols[c_idx]
                hit = err[rows, cc] == 0
                err[rows[hit], cc[hit]] = ERROR_OUTSIDE_BAND


SGP4_KERNEL_ENV = "ORBITLAT_SGP4_KERNEL"
_SGP4_KERNELS = ("auto", "numba", "python")


def _sgp4_numba_module():
    """The numba SGP4 module, or None when the pure python-sgp4 path is wanted or numba is absent.

    ``ORBITLAT_SGP4_KERNEL``: ``auto`` (default; numba when installed), ``numba`` (required) or
    ``python`` (always python-sgp4's ``SatrecArray``, e.g. for cross-checks).
    """
    choice = os.environ.get(SGP4_KERNEL_ENV, "auto").strip().lower() or "auto"
    if choice not in _SGP4_KERNELS:
        raise OrbitlatError(
            f"{SGP4_KERNEL_ENV}={choice!r} is not understood; valid values are {', '.join(_SGP4_KERNELS)}. "
            f"Unset it to use the fastest kernel available."
        )
    if choice == "python":
        return None
    try:
        from orbitlat.orbits import _sgp4_numba
    except Exception as exc:  # numba absent (ImportError) or broken in this environment
        if choice == "numba":
            raise OrbitlatError(
                f"{SGP4_KERNEL_ENV}=numba asks for the numba SGP4 kernel, but it cannot be imported "
                f"({type(exc).__name__}: {exc}). Install numba (pip install 'orbitlat[all]' or pip install numba) "
                "or unset the variable."
            ) from exc
        if not isinstance(exc, ImportError) or "numba" not in str(exc):
            warnings.warn(f"the numba SGP4 kernel could not be loaded ({type(exc).__name__}: {exc}); using "
                          "python-sgp4's SatrecArray (slower, same results).", PropagationWarning, stacklevel=4)
        return None
    return _sgp4_numba


_PACK_CACHE: weakref.WeakKeyDictionary[Constellation, tuple] = weakref.WeakKeyDictionary()
_PACK_LOCK = threading.Lock()


def _sgp4_packed(c: Constellation, sats: list, kernel) -> tuple[np.ndarray, np.ndarray]:
    """Near-earth parameter table for ``sats`` (cached per constellation with the Satrec list it came from)."""
    with _PACK_LOCK:
        hit = _PACK_CACHE.get(c)
        if hit is not None and hit[0] is sats:
            return hit[1], hit[2]
    idx, params = kernel.pack(sats)
    with _PACK_LOCK:
        _PACK_CACHE[c] = (sats, idx, params)
    return idx, params


def _frame_rotation(tg: TimeGrid, frame: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-time TEME->frame matrices (t,3,3) and the ITRS Earth-rotation rate (t,) (zeros otherwise)."""
    n_t = len(tg)
    if frame == "ITRS":
        th = tg.gmst82_rad
        cth, sth = np.cos(th), np.sin(th)
        M = np.zeros((n_t, 3, 3))
        M[:, 0, 0] = cth
        M[:, 0, 1] = sth
        M[:, 1, 0] = -sth
        M[:, 1, 1] = cth
        M[:, 2, 2] = 1.0
        w = np.ascontiguousarray(tg.gmst82_rate_rad_s, dtype=np.float64)
        return M, w
    if frame == "GCRS":
        return np.ascontiguousarray(tg.teme_to_gcrs, dtype=np.float64), np.zeros(n_t)
    return np.ascontiguousarray(np.broadcast_to(np.eye(3), (n_t, 3, 3))), np.zeros(n_t)


_COMPILE_ANNOUNCED = False


def _announce_compile(kernel) -> bool:
    """Say once per process that the numba kernel is about to be compiled (no cached machine code yet).

    Returns True when the notice was issued. The on-disk cache (numba ``cache=True``: next to the
    module, or in ``NUMBA_CACHE_DIR``) makes every later process load the kernel in well under a second.
    """
    global _COMPILE_ANNOUNCED
    disp = kernel.propagate_into
    if _COMPILE_ANNOUNCED or disp.signatures:
        return False
    try:
        index = Path(disp._cache._cache_file._index_path)
        cached = index.exists()
        where = index.parent
    except Exception:  # a numba without this layout: say nothing rather than guess
        return False
    if cached:
        return False
    _COMPILE_ANNOUNCED = True
    import sys

    here = str(Path(__file__).resolve().parents[1])
    level, f = 2, sys._getframe(1)  # stacklevel 2 is our caller; count up to the first frame outside orbitlat
    while f is not None and str(Path(f.f_code.co_filename).resolve()).startswith(here):
        level, f = level + 1, f.f_back
    warnings.warn(
        f"orbitlat: compiling the fast SGP4 kernel (numba; about 10-20 s, once). It is cached in {where} after "
        "this run, so later runs start at once. (ORBITLAT_SGP4_KERNEL=python skips numba.)",
        CompileNotice, stacklevel=level)
    return True


def _run_numba_kernel(kernel, params, cols, tg: TimeGrid, frame: str, want_vel: bool, pos, vel, err, workers: int):
    """Near-earth satellites through the numba kernel, in ``workers`` threads (it releases the GIL)."""
    _announce_compile(kernel)
    jd, fr = tg.jd_utc
    jd = np.ascontiguousarray(jd, dtype=np.float64)
    fr = np.ascontiguousarray(fr, dtype=np.float64)
    M, w = _frame_rotation(tg, frame)
    v_out = vel if want_vel else np.empty((1, 1, 3))
    n = len(cols)
    n_chunks = max(1, min(workers, n))
    bounds = np.linspace(0, n, n_chunks + 1).astype(int)

    def run(k):
        a, b = bounds[k], bounds[k + 1]
        kernel.propagate_into(params[a:b], cols[a:b], jd, fr, M, w, pos, v_out, err, want_vel)

    if n_chunks == 1:
        run(0)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_chunks) as ex:
            list(ex.map(run, range(n_chunks)))


def _propagate_satrecarray(sats: list, tg: TimeGrid, frame: str, want_vel: bool, workers: int):
    """python-sgp4's SatrecArray over ``sats``, in forked worker processes writing to shared memory."""
    n_sat, n_t = len(sats), len(tg)
    can_fork = hasattr(os, "fork") and workers > 1
    if not can_fork:
        pos = np.empty((n_t, n_sat, 3))
        vel = np.empty((n_t, n_sat, 3)) if want_vel else None
        err = np.empty((n_t, n_sat), np.uint8)
        _sgp4_chunk(sats, tg, 0, n_sat, frame, pos, vel, err, want_vel)
    else:
        pos = _shared_array((n_t, n_sat, 3), np.float64)
        vel = _shared_array((n_t, n_sat, 3), np.float64) if want_vel else None
        err = _shared_array((n_t, n_sat), np.uint8)
        from orbitlat._forking import child_setup, forking, stop_children

        bounds = np.linspace(0, n_sat, workers + 1).astype(int)
        pids = []
        me = os.getpid()
        try:
            for w in range(1, workers):
                with forking():
                    pid = os.fork()
                    if pid == 0:
                        child_setup(me)  # signal dispositions set before the block ends
                if pid == 0:  # child: compute its share, then leave without running any cleanup
                    code = 0
                    try:
                        _sgp4_chunk(sats, tg, bounds[w], bounds[w + 1], frame, pos, vel, err, want_vel)
                    except BaseException:  # pragma: no cover - reported by exit code
                        code = 1
                    os._exit(code)
                pids.append(pid)
            _sgp4_chunk(sats, tg, bounds[0], bounds[1], frame, pos, vel, err, want_vel)
        except BaseException:  # interrupted (Ctrl-C, SIGTERM) or failed: no worker outlives this call
            stop_children(pids)
            raise
        codes = [os.waitpid(pid, 0)[1] for pid in pids]
        if any(codes):
            raise RuntimeError(f"an sgp4 worker process failed (wait statuses {codes}); rerun with workers=1.")
    bad = err != 0
    if bad.any():
        pos[bad] = np.nan
        if want_vel:
            vel[bad] = np.nan
    return pos, vel, np.asarray(err)


# ---------------------------------------------------------------------------
# kepler-j2 backend
# ---------------------------------------------------------------------------
@accepts_units
def kepler_j2_rates(a_km, ecc, inc_rad, *, j2: bool = True):
    """Secular rates (rad/s) of RAAN, argument of perigee and mean anomaly under J2.

    Vallado, *Fundamentals of Astrodynamics and Applications*, 4th ed., eq. 9-41:
    ``Ω̇ = −3/2 n J2 (R/p)² cos i``, ``ω̇ = 3/4 n J2 (R/p)² (4 − 5 sin² i)``,
    ``Ṁ = n [1 + 3/4 J2 (R/p)² √(1−e²) (2 − 3 sin² i)]``.
    """
    a = np.asarray(a_km, dtype=np.float64)
    e = np.asarray(ecc, dtype=np.float64)
    i = np.asarray(inc_rad, dtype=np.float64)
    n = np.sqrt(MU_EARTH_KM3_S2 / a**3)
    if not j2:
        z = np.zeros(np.broadcast(a, e, i).shape)
        return z, z.copy(), n + z
    p = a * (1 - e**2)
    k = J2_EARTH * (WGS84_A_KM / p) ** 2
    s2 = np.sin(i) ** 2
    raan_dot = -1.5 * n * k * np.cos(i)
    argp_dot = 0.75 * n * k * (4 - 5 * s2)
    m_dot = n * (1 + 0.75 * k * np.sqrt(1 - e**2) * (2 - 3 * s2))
    return raan_dot, argp_dot, m_dot


def _solve_kepler(M: np.ndarray, e: np.ndarray, tol: float = 1e-14, max_iter: int = 50) -> np.ndarray:
    """Eccentric anomaly from mean anomaly (Newton, vectorized; 0 <= e < 1).

    Newton starts at E0 = M + e·sin M, or at π for e > 0.8, where it converges for every M in
    [0, 2π) (Danby; the M + e·sin M start diverges near perigee for e >~ 0.994). M is reduced to
    [0, 2π) and the revolutions added back. Raises if the residual stays above 1e-12.
    """
    M = np.asarray(M, dtype=np.float64)
    e = np.broadcast_to(np.asarray(e, dtype=np.float64), M.shape)
    if not np.any(e):
        return M.copy()
    Mr = np.mod(M, 2 * np.pi)
    E = np.where(e > 0.8, np.pi, Mr + e * np.sin(Mr))
    for _ in range(max_iter):
        d = (E - e * np.sin(E) - Mr) / (1 - e * np.cos(E))
        E = E - d
        if np.max(np.abs(d)) < tol:
            break
    res = float(np.max(np.abs(E - e * np.sin(E) - Mr))) if E.size else 0.0
    if res > 1e-12:
        raise OrbitlatError(f"Kepler's equation did not converge (residual {res:.1e}; e up to {float(np.max(e))}).")
    return E + (M - Mr)


def _elements_to_rv(a, e, i, raan, argp, M):
    """Two-body state from classical elements (broadcasting), GCRS km, km/s."""
    E = _solve_kepler(np.asarray(M, dtype=np.float64), np.broadcast_to(e, np.shape(M)))
    nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(E / 2), np.sqrt(1 - e) * np.cos(E / 2))
    p = a * (1 - e**2)
    r = p / (1 + e * np.cos(nu))
    u = argp + nu
    rhat, shat = _radial_alongtrack(raan, i, u)
    h = np.sqrt(MU_EARTH_KM3_S2 * p)
    vr = MU_EARTH_KM3_S2 / h * e * np.sin(nu)
    vt = h / r
    return r[..., None] * rhat, vr[..., None] * rhat + vt[..., None] * shat


def _radial_alongtrack(raan, inc, u):
    cO, sO = np.cos(raan), np.sin(raan)
    cu, su = np.cos(u), np.sin(u)
    ci, si = np.cos(inc), np.sin(inc)
    rhat = np.stack(np.broadcast_arrays(cO * cu - sO * su * ci, sO * cu + cO * su * ci, su * si), axis=-1)
    shat = np.stack(np.broadcast_arrays(-cO * su - sO * cu * ci, -sO * su + cO * cu * ci, cu * si), axis=-1)
    return rhat, shat


def _rv_to_elements(r, v, a_hint=None):
    """Osculating classical elements from state vectors (s,3), angles in radians."""
    mu = MU_EARTH_KM3_S2
    rn = np.linalg.norm(r, axis=-1)
    vn2 = np.sum(v * v, axis=-1)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=-1)
    inc = np.arccos(np.clip(h[:, 2] / hn, -1, 1))
    nvec = np.stack([-h[:, 1], h[:, 0], np.zeros_like(hn)], axis=-1)
    nn = np.linalg.norm(nvec, axis=-1)
    evec = ((vn2 - mu / rn)[:, None] * r - np.sum(r * v, axis=-1)[:, None] * v) / mu
    e = np.linalg.norm(evec, axis=-1)
    a = 1.0 / (2.0 / rn - vn2 / mu)
    equatorial = nn < 1e-12 * hn
    raan = np.where(equatorial, 0.0, np.arctan2(nvec[:, 1], nvec[:, 0]))
    # argument of latitude u (angle from node to r)
    nhat = np.where(equatorial[:, None], np.array([1.0, 0.0, 0.0]), nvec / np.where(nn > 0, nn, 1)[:, None])
    w_hat = np.cross(h / hn[:, None], nhat)
    u = np.arctan2(np.sum(r * w_hat, axis=-1), np.sum(r * nhat, axis=-1))
    circular = e < 1e-10
    argp = np.where(circular, 0.0, np.arctan2(np.sum(evec * w_hat, axis=-1), np.sum(evec * nhat, axis=-1)))
    nu = u - argp
    E = 2 * np.arctan2(np.sqrt(1 - e) * np.sin(nu / 2), np.sqrt(1 + e) * np.cos(nu / 2))
    M = E - e * np.sin(E)
    return {"a_km": a, "ecc": e, "inc_rad": inc, "raan_rad": np.mod(raan, 2 * np.pi),
            "argp_rad": np.mod(argp, 2 * np.pi), "mean_anomaly_rad": np.mod(M, 2 * np.pi)}


def _kepler_j2_block(el: dict, rates, dt: np.ndarray, want_vel: bool):
    """GCRS position/velocity for a block of times: dt (t, s) seconds since each epoch."""
    raan_dot, argp_dot, m_dot = rates
    a, e, inc = el["a_km"], el["ecc"], el["inc_rad"]
    raan = el["raan_rad"] + raan_dot * dt
    M = el["mean_anomaly_rad"] + m_dot * dt
    circular = not np.any(e)
    if circular:
        u = M + (el["argp_rad"] + argp_dot * dt)
        r = np.broadcast_to(a, dt.shape)
        nu_dot = m_dot
        rdot = None
    else:
        argp = el["argp_rad"] + argp_dot * dt
        E = _solve_kepler(np.mod(M, 2 * np.pi), np.broadcast_to(e, M.shape))
        cosE = np.cos(E)
        r = a * (1 - e * cosE)
        nu = 2 * np.arctan2(np.sqrt(1 + e) * np.sin(E / 2), np.sqrt(1 - e) * np.cos(E / 2))
        u = argp + nu
        # dν/dt = Ṁ · a²√(1−e²)/r²,  dr/dt = Ṁ · a e sin E / (1 − e cos E)
        nu_dot = m_dot * a * a * np.sqrt(1 - e * e) / (r * r)
        rdot = m_dot * a * e * np.sin(E) / (1 - e * cosE)
    cO, sO = np.cos(raan), np.sin(raan)
    cu, su = np.cos(u), np.sin(u)
    ci, si = np.cos(inc), np.sin(inc)
    sOci = sO * ci
    cOci = cO * ci
    pos = np.empty(dt.shape + (3,))
    pos[..., 0] = r * (cO * cu - sOci * su)
    pos[..., 1] = r * (sO * cu + cOci * su)
    pos[..., 2] = r * (si * su)
    vel = None
    if want_vel:
        udot = argp_dot + nu_dot
        rud = r * udot
        vel = np.empty_like(pos)
        # v = ṙ·R̂ + r·u̇·Ŝ + Ω̇ ẑ×r
        vel[..., 0] = rud * (-cO * su - sOci * cu) - raan_dot * pos[..., 1]
        vel[..., 1] = rud * (-sO * su + cOci * cu) + raan_dot * pos[..., 0]
        vel[..., 2] = rud * (si * cu)
        if rdot is not None:
            vel += (rdot / r)[..., None] * pos
    return pos, vel


def _phasor(theta0: np.ndarray, rate: np.ndarray, step_s: float, n_inner: int):
    """cos/sin tables for angles linear in time on a uniform grid.

    ``θ(k) = θ0 + rate·k·Δ``: with ``k = b·B + j`` the angle factors into a per-block part and an
    inner part, ``e^{iθ} = e^{i(θ0 + rate·bBΔ)} · e^{i·rate·jΔ}``, so a block of B steps costs B + 1
    trig evaluations per satellite-angle instead of B (the inner table is shared by every block).
    Rounding error is that of one complex product (~1e-16 rad).
    """
    j = np.arange(n_inner, dtype=np.float64)[:, None] * step_s
    arg = rate[None, :] * j
    return np.cos(arg), np.sin(arg)


#: kepler-j2 keeps the per-satellite tables of the last large constellation it propagated (rates and
#: the inner phasor tables, ~300 B per satellite), so that streaming a span chunk by chunk does not
#: recompute them at every call (at 10^6 satellites they cost 0.6 s a call). Reused only while the
#: constellation object and its elements are unchanged, so the numbers are those of a fresh call.
_KJ2_CACHE_MIN_SATS = 50_000
_KJ2_CACHE: dict = {}
_KJ2_LOCK = threading.Lock()


def _kj2_tables(c: Constellation, j2: bool, step_s: float | None, B: int):
    """(elements, rates, phasor tables or None) for ``c``: from the one-entry cache when still valid."""
    el = c.element_arrays()
    big = c.size >= _KJ2_CACHE_MIN_SATS
    if big:
        with _KJ2_LOCK:
            hit = _KJ2_CACHE.get("entry")
        if hit is not None and hit[0]() is c and hit[1] == (j2, step_s, B) \
                and all(np.array_equal(hit[2][k], el[k]) for k in el):
            return hit[2], hit[3], hit[4]
    rates = kepler_j2_rates(el["a_km"], el["ecc"], el["inc_rad"], j2=j2)
    tables = None
    if step_s is not None:
        raan_dot, argp_dot, m_dot = rates
        tables = (_phasor(None, raan_dot, step_s, B), _phasor(None, argp_dot + m_dot, step_s, B))
    if big:
        with _KJ2_LOCK:
            _KJ2_CACHE["entry"] = (weakref.ref(c, _kj2_forget), (j2, step_s, B), el, rates, tables)
    return el, rates, tables


def _kj2_forget(ref) -> None:
    """The cached constellation was garbage-collected: drop its tables."""
    with _KJ2_LOCK:
        hit = _KJ2_CACHE.get("entry")
        if hit is not None and hit[0] is ref:
            del _KJ2_CACHE["entry"]


def _propagate_kepler_j2(c: Constellation, tg: TimeGrid, frame: str, want_vel: bool, *, j2: bool = True,
                         workers: int | None = None, time_chunk: int | None = None):
    n_t, n_s = len(tg), c.size
    if time_chunk is None:  # blocks of ~32k samples: temporaries stay in L2 cache, few Python calls
        time_chunk = max(8, 32768 // max(n_s, 1))
    diffs = np.diff(tg.utc.astype(np.int64))
    uniform = n_t > 1 and bool(np.all(diffs == diffs[0]))
    circular = not np.any(c.table["ecc"].to_numpy())
    fast = uniform and circular
    el, rates, tables = _kj2_tables(c, j2, diffs[0] / 1e9 if fast else None, time_chunk)
    raan_dot, argp_dot, m_dot = rates
    pos = np.empty((n_t, n_s, 3))
    vel = np.empty((n_t, n_s, 3)) if want_vel else None
    epoch = el["epoch"]
    if frame == "ITRS":
        Mrot = np.transpose(tg.itrs_to_gcrs, (0, 2, 1))  # GCRS -> ITRS
    elif frame == "TEME":
        Mrot = np.transpose(tg.teme_to_gcrs, (0, 2, 1))  # GCRS -> TEME
    else:
        Mrot = None
    t_sec = tg.seconds
    ep_off = (tg.utc[0] - epoch).astype(np.int64) * 1e-9  # (s,) seconds from each epoch to grid start

    if fast:
        step_s = diffs[0] / 1e9
        u_rate = argp_dot + m_dot
        inner_O, inner_u = tables
        O0 = el["raan_rad"] + raan_dot * ep_off
        u0 = el["argp_rad"] + el["mean_anomaly_rad"] + u_rate * ep_off
        ci, si = np.cos(el["inc_rad"]), np.sin(el["inc_rad"])
        a = el["a_km"]
        a_ci, a_si = a * ci, a * si
        a_udot = a * u_rate

    def block(t0: int, t1: int, s0: int = 0, s1: int = n_s):
        """Times [t0, t1) of satellites [s0, s1); elementwise per satellite, so any satellite tiling
        gives the same bits (the time blocks set the phasor rounding)."""
        S = slice(s0, s1)
        if fast:
            m = t1 - t0
            tb = t0 * step_s
            rd = raan_dot[S]
            bo, bu = O0[S] + rd * tb, u0[S] + u_rate[S] * tb
            cbo, sbo, cbu, sbu = np.cos(bo), np.sin(bo), np.cos(bu), np.sin(bu)
            ico, iso = inner_O[0][:m, S], inner_O[1][:m, S]
            icu, isu = inner_u[0][:m, S], inner_u[1][:m, S]
            cO = cbo * ico - sbo * iso
            sO = sbo * ico + cbo * iso
            cu = cbu * icu - sbu * isu
            su = sbu * icu + cbu * isu
            acu = a[S] * cu
            cis = a_ci[S] * su
            comps = [cO * acu - sO * cis, sO * acu + cO * cis, a_si[S] * su]
            if want_vel:
                # v = a·u̇·Ŝ + Ω̇ ẑ×r ;  Ŝ = (−cO su − sO cu ci, −sO su + cO cu ci, cu si)
                asu = a_udot[S] * su
                aci_cu = (a_udot[S] * ci[S]) * cu
                vcomps = [-cO * asu - sO * aci_cu - rd * comps[1],
                          -sO * asu + cO * aci_cu + rd * comps[0],
                          (a_udot[S] * si[S]) * cu]
        else:
            dt = t_sec[t0:t1, None] + ep_off[None, S]
            el_s = el if (s0 == 0 and s1 == n_s) else {k_: (v_[S] if k_ != "epoch" else v_) for k_, v_ in el.items()}
            rates_s = rates if (s0 == 0 and s1 == n_s) else tuple(r_[S] for r_ in rates)
            p, v = _kepler_j2_block(el_s, rates_s, dt, want_vel)
            comps = [p[..., 0], p[..., 1], p[..., 2]]
            vcomps = [v[..., 0], v[..., 1], v[..., 2]] if want_vel else None
        if Mrot is not None:
            M = Mrot[t0:t1]
            comps = _rot_soa(M, comps)
            if want_vel:
                vcomps = _rot_soa(M, vcomps)
                if frame == "ITRS":  # v_itrs = R v − ω×r_itrs
                    vcomps[0] += _ANGVEL * comps[1]
                    vcomps[1] -= _ANGVEL * comps[0]
        for k in range(3):
            pos[t0:t1, S, k] = comps[k]
            if want_vel:
                vel[t0:t1, S, k] = vcomps[k]

    # tiles of about 2**18 samples: large constellations are cut by satellite too, so temporaries stay
    # a few MB whatever the size (8 steps x 10^6 satellites in one piece is ~1 GB of temporaries)
    sat_tile = max(4096, (1 << 18) // max(1, time_chunk))
    chunks = [(t0, min(n_t, t0 + time_chunk), s0, min(n_s, s0 + sat_tile))
              for t0 in range(0, n_t, time_chunk) for s0 in range(0, n_s, sat_tile)]
    n_workers = _cpu_count() if workers is None else max(1, int(workers))
    if n_workers > 1 and len(chunks) > 1 and n_t * n_s > 200_000:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(n_workers) as ex:  # numpy releases the GIL in elementwise kernels
            list(ex.map(lambda c_: block(*c_), chunks))
    else:
        for c_ in chunks:
            block(*c_)
    return pos, vel


def _rot_soa(M: np.ndarray, comps: list) -> list:
    """Apply per-time matrices M (t,3,3) to vectors given as three (t,s) component arrays."""
    x, y, z = comps
    return [M[:, 0, 0, None] * x + M[:, 0, 1, None] * y + M[:, 0, 2, None] * z,
            M[:, 1, 0, None] * x + M[:, 1, 1, None] * y + M[:, 1, 2, None] * z,
            M[:, 2, 0, None] * x + M[:, 2, 1, None] * y + M[:, 2, 2, None] * z]


# ---------------------------------------------------------------------------
# boinor backend
# ---------------------------------------------------------------------------
def _propagate_boinor(c: Constellation, tg: TimeGrid, frame: str, want_vel: bool, *, j2: bool = True):
    from orbitlat.orbits.interop import propagate_with_boinor

    return propagate_with_boinor(c, tg, frame, want_vel, j2=j2)
