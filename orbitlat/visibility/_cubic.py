"""Cubic Hermite interpolation of satellite positions between samples, and the vectorized root finding
(bracketed Newton with bisection fallback) that the pass sweep uses for rises, sets and culminations.
"""
from __future__ import annotations

import numpy as np
from orbitlat.visibility.engine import SiteIndex

__all__ = []


# =============================================================================
# passes: helpers (Hermite interpolation, vectorized root finding)
# =============================================================================
def _hermite_coeffs(r0: np.ndarray, r1: np.ndarray, v0: np.ndarray, v1: np.ndarray, h) -> np.ndarray:
    """Power-basis coefficients (..., 4, 3) of the cubic Hermite interpolant in s = (t − t0)/h ∈ [0, 1].

    ``x(s) = c0 + c1 s + c2 s² + c3 s³`` matches position and velocity at both
    ends (``dx/ds = h·v``).
    """
    h = np.asarray(h, dtype=np.float64)[..., None]
    hv0 = h * v0
    hv1 = h * v1
    d = r1 - r0
    return np.stack([r0, hv0, 3 * d - 2 * hv0 - hv1, -2 * d + hv0 + hv1], axis=-2)

def _hermite_eval(c: np.ndarray, s) -> np.ndarray:
    """Evaluate coefficients (..., 4, 3) at s (...,): position (..., 3)."""
    s = np.asarray(s, dtype=np.float64)[..., None]
    return ((c[..., 3, :] * s + c[..., 2, :]) * s + c[..., 1, :]) * s + c[..., 0, :]

class _Cubic:
    """Cubic Hermite trajectories of many (site, satellite, step) rows in each site's local ENU frame.

    ``C`` (12, n): power-basis coefficients in s ∈ [0, 1] of east (rows 0-3),
    north (4-7) and up (8-11). ``f`` has the sign of elevation − mask (it is
    sin(el) − sin(mask) without azimuth masks), ``g`` is d(sin el)/ds.
    """

    __slots__ = ("C", "sm", "site", "index")

    def __init__(self, C: np.ndarray, sm: np.ndarray | None, site: np.ndarray, index: SiteIndex):
        self.C, self.sm, self.site, self.index = C, sm, site, index

    def take(self, idx: np.ndarray) -> "_Cubic":
        return _Cubic(np.take(self.C, idx, axis=1), None if self.sm is None else self.sm[idx], self.site[idx],
                      self.index)

    def _xyz(self, s):
        C = self.C
        x = ((C[3] * s + C[2]) * s + C[1]) * s + C[0]
        y = ((C[7] * s + C[6]) * s + C[5]) * s + C[4]
        z = ((C[11] * s + C[10]) * s + C[9]) * s + C[8]
        return x, y, z

    def f(self, s):
        x, y, z = self._xyz(s)
        r = np.sqrt(x * x + y * y + z * z)
        if self.sm is not None:
            return z / r - self.sm
        el = np.degrees(np.arcsin(np.clip(z / r, -1.0, 1.0)))
        az = np.mod(np.degrees(np.arctan2(x, y)), 360.0)
        return el - self.index.mask_at(self.site, az)

    def g(self, s):
        C = self.C
        x, y, z = self._xyz(s)
        dx = (3 * C[3] * s + 2 * C[2]) * s + C[1]
        dy = (3 * C[7] * s + 2 * C[6]) * s + C[5]
        dz = (3 * C[11] * s + 2 * C[10]) * s + C[9]
        r2 = x * x + y * y + z * z
        return (dz * r2 - z * (x * dx + y * dy + z * dz)) / (r2 * np.sqrt(r2))

    def elevation_deg(self, s):
        x, y, z = self._xyz(s)
        return np.degrees(np.arcsin(np.clip(z / np.sqrt(x * x + y * y + z * z), -1.0, 1.0)))

def _polyval(c: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Evaluate polynomials with coefficients ``c`` (degree+1, n), lowest first, at ``s`` (n,)."""
    acc = c[-1] * s
    acc += c[-2]
    for k in range(c.shape[0] - 3, -1, -1):
        acc *= s
        acc += c[k]
    return acc

def _polyder(c: np.ndarray) -> np.ndarray:
    d = c.shape[0] - 1
    return c[1:] * np.arange(1, d + 1, dtype=np.float64)[:, None]

def _crossing_poly(z: np.ndarray, r2: np.ndarray, sm: np.ndarray) -> np.ndarray:
    """Q = z² − sin²(mask)·|ρ|² (degree 6): same roots as sin(el) − sin(mask) where el > 0 (z for mask 0)."""
    Q = np.empty((7, z.shape[1]))
    Q[0] = z[0] * z[0]
    Q[1] = 2 * z[0] * z[1]
    Q[2] = z[1] * z[1] + 2 * z[0] * z[2]
    Q[3] = 2 * (z[0] * z[3] + z[1] * z[2])
    Q[4] = z[2] * z[2] + 2 * z[1] * z[3]
    Q[5] = 2 * z[2] * z[3]
    Q[6] = z[3] * z[3]
    Q -= (sm * sm) * r2
    zero = sm == 0
    if zero.any():
        Q[:4, zero] = z[:, zero]
        Q[4:, zero] = 0.0
    return Q

def _rate_poly(z: np.ndarray, r2: np.ndarray) -> np.ndarray:
    """Numerator of d(sin el)/ds: z'·|ρ|² − z·(ρ·ρ') (degree 8); its roots are the elevation extrema."""
    dz = (z[1], 2 * z[2], 3 * z[3])
    half_dr2 = np.stack([0.5 * r2[1], r2[2], 1.5 * r2[3], 2 * r2[4], 2.5 * r2[5], 3 * r2[6]])
    Nc = np.zeros((9, z.shape[1]))
    for i in range(3):
        Nc[i:i + 7] += dz[i] * r2
    for i in range(4):
        Nc[i:i + 6] -= z[i] * half_dr2
    return Nc

def _newton(C: np.ndarray, a: np.ndarray, b: np.ndarray, tol: np.ndarray, max_iter: int = 8):
    """Newton iterations on polynomials C from the regula-falsi point of [a, b].

    Each row iterates until its own step falls below tol/20 (so a row's result
    does not depend on the other rows it is computed with). Returns (s, ok):
    ok where that happened within ``max_iter`` steps, s stayed inside [a, b]
    and the bracket had a sign change; the caller sends the others to the
    bracketed Illinois solver.
    """
    fa = _polyval(C, a)
    fb = _polyval(C, b)
    D = _polyder(C)
    n = a.size
    with np.errstate(all="ignore"):
        s = (a * fb - b * fa) / (fb - fa)
        lo = np.minimum(a, b)
        hi = np.maximum(a, b)
        s = np.where((s >= lo) & (s <= hi), s, 0.5 * (a + b))
        ok = np.zeros(n, bool)
        act = np.arange(n)
        Ca, Da, sa, ta = C, D, s.copy(), 0.05 * tol
        done = np.zeros(n, bool)
        for _ in range(max_iter):
            step = _polyval(Ca, sa) / _polyval(Da, sa)
            np.subtract(sa, step, out=sa, where=~done)
            # quadratic convergence: after a step below tol/20 the error is far below tol
            done |= np.abs(step) < ta
            n_live = act.size - int(np.count_nonzero(done))
            if n_live == 0 or n_live < 0.5 * act.size:
                s[act] = sa
                ok[act[done]] = True
                if n_live == 0:
                    break
                keep = ~done
                act, Ca, Da, sa, ta = act[keep], Ca[:, keep], Da[:, keep], sa[keep], ta[keep]
                done = np.zeros(act.size, bool)
        else:
            s[act] = sa
            ok[act[done]] = True
        ok &= (s >= lo) & (s <= hi) & (fa * fb < 0)
    return s, ok

def _solve(cub: _Cubic, which: str, a, b, fa, fb, tol, max_iter: int = 60) -> np.ndarray:
    """Vectorized Illinois (modified regula falsi) root of ``cub.<which>`` on each bracket [a, b].

    Every element stops once its bracket is narrower than ``tol`` (units of
    s); the estimate is then the regula-falsi point of the final bracket.
    Elements whose end values do not bracket a root return the end nearer zero.
    Converged elements are dropped from the working arrays as they finish.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    fa = np.asarray(fa, dtype=np.float64)
    fb = np.asarray(fb, dtype=np.float64)
    tol = np.broadcast_to(np.asarray(tol, dtype=np.float64), a.shape)
    out = np.where(np.abs(fa) <= np.abs(fb), a, b)
    with np.errstate(invalid="ignore"):
        idx = np.flatnonzero((fa * fb < 0) & np.isfinite(fa) & np.isfinite(fb))
    if idx.size == 0:
        return out
    cur = cub if idx.size == a.size else cub.take(idx)
    # normalize: A is the end where the function is negative, B where it is positive
    neg_a = fa[idx] < 0
    A = np.where(neg_a, a[idx], b[idx])
    B = np.where(neg_a, b[idx], a[idx])
    FA = np.where(neg_a, fa[idx], fb[idx])
    FB = np.where(neg_a, fb[idx], fa[idx])
    TOL = tol[idx]
    side = np.zeros(idx.size, np.int8)  # +1: A was replaced last, -1: B was
    fun = getattr(cur, which)
    c = 0.5 * (A + B)
    with np.errstate(all="ignore"):
        for _ in range(max_iter):
            c = (A * FB - B * FA) / (FB - FA)
            lo = np.minimum(A, B)
            hi = np.maximum(A, B)
            bad = ~((c > lo) & (c < hi))
            if bad.any():
                c[bad] = 0.5 * (lo[bad] + hi[bad])
            fc = fun(c)
            m = fc < 0
            p = ~m
            # Illinois: when the same end is replaced twice in a row, halve the other end's value
            np.multiply(FB, 0.5, out=FB, where=m & (side == 1))
            np.multiply(FA, 0.5, out=FA, where=p & (side == -1))
            np.copyto(A, c, where=m)
            np.copyto(FA, fc, where=m)
            np.copyto(B, c, where=p)
            np.copyto(FB, fc, where=p)
            side = m.view(np.int8) * np.int8(2) - np.int8(1)
            done = (np.abs(B - A) <= TOL) | (fc == 0) | ~np.isfinite(fc)
            if done.any():
                est = (A * FB - B * FA) / (FB - FA)
                ok = (est >= np.minimum(A, B)) & (est <= np.maximum(A, B)) & (fc != 0)
                est = np.where(ok, est, c)
                out[idx[done]] = est[done]
                k = np.flatnonzero(~done)
                if k.size == 0:
                    break
                cur = cur.take(k)
                fun = getattr(cur, which)
                A, B, FA, FB, TOL, side, idx, c = A[k], B[k], FA[k], FB[k], TOL[k], side[k], idx[k], c[k]
        else:
            out[idx] = c
    return out
