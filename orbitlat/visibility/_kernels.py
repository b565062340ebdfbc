"""Numba kernels for visibility at constellation scale (optional; imported only when numba is installed).

Two kernels whose cost does not grow with the number of (site, satellite) pairs in view:

:func:`cap_counts_into`
    The footprint-cap kernel of :func:`orbitlat.visibility.footprints.cap_counts` as compiled loops:
    one longitude run per (satellite, ring in its cap), written as +1/-1 into a per-step difference
    array, then a cumulative sum. It does, run by run, the same floating-point operations in the
    same order as the numpy kernel (``footprints._runs``), without its temporaries: at a million
    satellites the numpy kernel allocates ~2 GB per step and runs ~270 ns per run; this one
    allocates one row per step and runs in ~10 ns per run.
:func:`nearest_into`
    For every site, the visible satellite that minimises ``range/c + cost[sat]`` (``cost`` = 0: the
    nearest visible satellite). Satellites are binned per step into a uniform 3-D grid of cells
    (counting sort, O(satellites)); each site scans the cells in Chebyshev shells around its own
    cell and stops as soon as no unscanned cell can hold a better satellite (every satellite in
    shell ``k + 1`` or beyond is at least ``k·h`` away) or lie within the largest slant range its
    mask allows. Cells wholly below the site's elevation mask (their bounding sphere's highest
    elevation is under the mask) or beyond the slant-range limit are skipped without looking at
    their satellites. Exact: the same satellite a brute-force scan of every pair picks (ties go to
    the lowest satellite index).

Both release the GIL; callers run one thread per core over time steps.
"""
from __future__ import annotations

import math

import numpy as np

from orbitlat.orbits._sgp4_numba import _import_njit

njit = _import_njit()

# no fast-math (not even contraction): the cap kernel must round like the numpy kernel
_OPTS = {"nogil": True, "cache": True, "error_model": "numpy"}

_TWO_PI = 2.0 * np.pi
_INV_TWO_PI = 1.0 / (2.0 * np.pi)


# =============================================================================
# arc cosine: fdlibm's rational approximation (~1 ulp), guarded
# =============================================================================
_PIO2_HI = 1.57079632679489655800e+00
_PIO2_LO = 6.12323399573676603587e-17
_PS0, _PS1, _PS2 = 1.66666666666666657415e-01, -3.25565818622400915405e-01, 2.01212532134862925881e-01
_PS3, _PS4, _PS5 = -4.00555345006794114027e-02, 7.91534994289814532176e-04, 3.47933107596021167570e-05
_QS1, _QS2, _QS3 = -2.40339491173441421878e+00, 2.02094576023350569471e+00, -6.88283971605453293030e-01
_QS4 = 7.70381505559019352791e-02

#: Runs whose edges fall within this many grid steps of a grid point are recomputed with libm's acos,
#: so the counts are bit-for-bit those of the numpy kernel (the approximation errs by < 1e-13 steps).
_EDGE_GUARD = 1e-7


@njit(inline="always", **{k: v for k, v in {"nogil": True, "error_model": "numpy"}.items()})
def _acos_fast(x):
    """acos for -1 <= x <= 1 (fdlibm e_acos.c's rational approximation, without its bit tricks).

    Both of fdlibm's branches are computed and one selected, so a loop over it vectorises.
    """
    big = x < -0.5 or x > 0.5
    # |x| > 0.5: acos(x) = 2 asin(sqrt((1 - |x|)/2)), mirrored for x < 0
    zb = (1.0 - x) * 0.5 if x > 0 else (1.0 + x) * 0.5
    # |x| <= 0.5: acos(x) = pi/2 - asin(x)
    zs = x * x
    z = zb if big else zs
    p = z * (_PS0 + z * (_PS1 + z * (_PS2 + z * (_PS3 + z * (_PS4 + z * _PS5)))))
    q = 1.0 + z * (_QS1 + z * (_QS2 + z * (_QS3 + z * _QS4)))
    r = p / q
    sq = math.sqrt(zb)
    w = sq + sq * r  # asin(sqrt(z))
    wide = 2.0 * w if x > 0 else np.pi - 2.0 * w
    narrow = _PIO2_HI - (x - (_PIO2_LO - x * r))
    return wide if big else narrow


# =============================================================================
# footprint caps on ring grids
# =============================================================================
@njit(**_OPTS)
def _lower_bound(a, x):  # np.searchsorted(a, x, side="left")
    lo, hi = 0, a.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**_OPTS)
def _upper_bound(a, x):  # np.searchsorted(a, x, side="right")
    lo, hi = 0, a.size
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] <= x:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(**_OPTS)
def _ring_spans(r_lo, r_hi, a, b, ths, sec_r, tan_r, inv_dl, lon0, c_out, lo_out, hi_out, guard_out):
    """The longitude run of one satellite's cap on rings ``r_lo .. r_hi - 1`` (no branches: vectorised).

    Per ring: ``c`` = cos of the run's half-width (> 1: the ring misses the cap), and the run's ends
    ``lo = x - half``, ``hi = x + half`` in grid steps; ``guard`` flags ends within
    :data:`_EDGE_GUARD` of a grid point (recomputed with libm's acos by the caller).
    """
    for q in range(r_hi - r_lo):
        ring = r_lo + q
        c = a * sec_r[ring]
        c = c - tan_r[ring] * b
        cc = min(max(c, -1.0), 1.0)
        k = inv_dl[ring]
        d = ths - lon0[ring]
        d = d + _TWO_PI if d < 0 else d
        x = d * k
        half = _acos_fast(cc) * k
        lo = x - half
        hi = x + half
        flo = math.floor(lo)
        fhi = math.floor(hi)
        near = (lo - flo < _EDGE_GUARD) or (flo + 1.0 - lo < _EDGE_GUARD) \
            or (hi - fhi < _EDGE_GUARD) or (fhi + 1.0 - hi < _EDGE_GUARD)
        c_out[q] = c
        lo_out[q] = lo
        hi_out[q] = hi
        guard_out[q] = near


@njit(**_OPTS)
def cap_counts_into(lat, lon, lam, n_steps, n_sats, ring_lat, sec_r, tan_r, n_lon, lon0, start, out):
    """Satellites in view of every point of a ring layout, per step.

    ``lat``, ``lon``, ``lam`` (n_steps·n_sats,): sub-satellite geocentric latitude/longitude and cap
    half-angle (radians), step-major; rows with a non-finite value or ``lam <= 0`` cover nothing.
    ``out`` (n_steps, N) integer array receives the counts.

    Per satellite, a branch-free pass computes the run of every ring in its cap (:func:`_ring_spans`,
    which LLVM vectorises), then a scalar pass writes the runs into the step's difference array.
    """
    N = out.shape[1]
    R = ring_lat.size
    diff = np.zeros(N + 1, np.int64)
    inv_dl = np.empty(R)
    for r in range(R):
        inv_dl[r] = n_lon[r] * _INV_TWO_PI
    c_b = np.empty(R)
    lo_b = np.empty(R)
    hi_b = np.empty(R)
    g_b = np.empty(R, np.bool_)
    for t in range(n_steps):
        diff[:] = 0
        for s in range(n_sats):
            i = t * n_sats + s
            phs = lat[i]
            ths = lon[i]
            lm = lam[i]
            if not (np.isfinite(phs) and np.isfinite(ths) and np.isfinite(lm)) or not lm > 0.0:
                continue
            r_lo = _lower_bound(ring_lat, phs - lm - 1e-12)
            r_hi = _upper_bound(ring_lat, phs + lm + 1e-12)
            if r_hi <= r_lo:
                continue
            cos_ps = math.cos(phs)
            polar = cos_ps < 1e-15
            if polar:
                cos_ps = 1.0
            a = math.cos(lm) / cos_ps
            b = 0.0 if polar else math.tan(phs)
            _ring_spans(r_lo, r_hi, a, b, ths, sec_r, tan_r, inv_dl, lon0, c_b, lo_b, hi_b, g_b)
            for q in range(r_hi - r_lo):
                ring = r_lo + q
                n = n_lon[ring]
                if polar:  # a satellite exactly over a pole: every ring of its cap is whole
                    j_lo = 0
                    cnt = n
                else:
                    c = c_b[q]
                    if c > 1.0:
                        continue
                    lo = lo_b[q]
                    hi = hi_b[q]
                    if g_b[q]:  # an end next to a grid point: libm's acos, as the numpy kernel
                        k = inv_dl[ring]
                        d = ths - lon0[ring]
                        if d < 0:
                            d += _TWO_PI
                        x = d * k
                        half = math.acos(c if c > -1.0 else -1.0) * k
                        lo = x - half
                        hi = x + half
                    j_lo = math.ceil(lo)
                    cnt = math.floor(hi) - j_lo + 1
                    if cnt <= 0:
                        continue
                    if cnt > n:
                        cnt = n
                    if j_lo < 0:
                        j_lo += n
                    elif j_lo >= n:
                        j_lo -= n
                base = start[ring]
                end = j_lo + cnt
                diff[base + j_lo] += 1
                if end > n:
                    diff[base + n] -= 1
                    diff[base] += 1
                    diff[base + end - n] -= 1
                else:
                    diff[base + end] -= 1
        acc = 0
        for j in range(N):
            acc += diff[j]
            out[t, j] = acc


# =============================================================================
# best visible satellite per site: uniform 3-D cells
# =============================================================================
@njit(**_OPTS)
def bin_cells(xyz, origin, h, n):
    """Counting sort of the finite rows of ``xyz`` (m, 3) into n³ cells of side ``h`` from ``origin``.

    Returns ``(cell_start (n³+1,), order (k,))``: the rows of cell ``c`` are ``order[cell_start[c]:
    cell_start[c+1]]`` (ascending row index within a cell); non-finite rows are left out.
    """
    m = xyz.shape[0]
    cell = np.empty(m, np.int64)
    counts = np.zeros(n * n * n + 1, np.int64)
    for j in range(m):
        x, y, z = xyz[j, 0], xyz[j, 1], xyz[j, 2]
        if not (np.isfinite(x) and np.isfinite(y) and np.isfinite(z)):
            cell[j] = -1
            continue
        ix = int((x - origin) / h)
        iy = int((y - origin) / h)
        iz = int((z - origin) / h)
        ix = min(max(ix, 0), n - 1)
        iy = min(max(iy, 0), n - 1)
        iz = min(max(iz, 0), n - 1)
        c = (iz * n + iy) * n + ix
        cell[j] = c
        counts[c + 1] += 1
    for c in range(n * n * n):
        counts[c + 1] += counts[c]
    fill = counts[:-1].copy()
    order = np.empty(counts[-1], np.int64)
    for j in range(m):
        c = cell[j]
        if c >= 0:
            order[fill[c]] = j
            fill[c] += 1
    return counts, order


@njit(**_OPTS)
def gather(xyz, cost, order):
    """Positions and costs in cell order (contiguous per cell: the search reads them sequentially)."""
    k = order.size
    xs = np.empty((k, 3))
    cs = np.empty(k)
    for p in range(k):
        j = order[p]
        xs[p, 0] = xyz[j, 0]
        xs[p, 1] = xyz[j, 1]
        xs[p, 2] = xyz[j, 2]
        cs[p] = cost[j]
    return xs, cs


@njit(**_OPTS)
def _scan_cell(c, site_x, site_y, site_z, ux, uy, uz, mask_deg, use_mask, rmax, xs, cs, ms_per_km,
               cell_start, order, best):
    """Scan one cell's satellites (``xs``, ``cs``: positions and costs in cell order); ``best`` =
    [total_ms, satellite row, range_km, elevation_deg], updated in place (ties: lowest row)."""
    for p in range(cell_start[c], cell_start[c + 1]):
        cj = cs[p]
        if not cj < np.inf:
            continue
        dx = xs[p, 0] - site_x
        dy = xs[p, 1] - site_y
        dz = xs[p, 2] - site_z
        d = math.sqrt(dx * dx + dy * dy + dz * dz)
        if d > rmax:
            continue
        total = d * ms_per_km + cj
        j = order[p]
        if total > best[0] or (total == best[0] and j >= best[1]):
            continue
        s = (dx * ux + dy * uy + dz * uz) / (d if d > 0 else 1.0)
        if s > 1.0:
            s = 1.0
        elif s < -1.0:
            s = -1.0
        el = math.degrees(math.asin(s))
        if use_mask and not el >= mask_deg:
            continue
        best[0] = total
        best[1] = j
        best[2] = d
        best[3] = el


@njit(**_OPTS)
def _row_x_range(y0, z0, h, sx, sy, sz, r_lo, r_hi, rmax, neg):
    """Interval of x (km) where a row of cells (y in [y0, y0+h], z in [z0, z0+h]) can hold a usable
    satellite: inside the satellites' shell r_lo <= |p| <= r_hi and within ``rmax`` of the site.
    ``neg`` picks the x < 0 half of the shell, else the x >= 0 half. Returns (lo, hi); lo > hi: none."""
    y1 = y0 + h
    z1 = z0 + h
    miny2 = 0.0 if y0 <= 0.0 <= y1 else min(y0 * y0, y1 * y1)
    minz2 = 0.0 if z0 <= 0.0 <= z1 else min(z0 * z0, z1 * z1)
    maxy2 = max(y0 * y0, y1 * y1)
    maxz2 = max(z0 * z0, z1 * z1)
    o = r_hi * r_hi - miny2 - minz2
    if o < 0.0:
        return 1.0, -1.0
    x_out = math.sqrt(o)
    i = r_lo * r_lo - maxy2 - maxz2
    x_in = math.sqrt(i) if i > 0.0 else 0.0
    gy = 0.0 if y0 <= sy <= y1 else min(abs(sy - y0), abs(sy - y1))
    gz = 0.0 if z0 <= sz <= z1 else min(abs(sz - z0), abs(sz - z1))
    b = rmax * rmax - gy * gy - gz * gz
    if b < 0.0:
        return 1.0, -1.0
    bb = math.sqrt(b)
    if neg:
        lo, hi = -x_out, -x_in
    else:
        lo, hi = x_in, x_out
    return max(lo, sx - bb), min(hi, sx + bb)


@njit(**_OPTS)
def _try_cell(ix, iy, iz, n, origin, h, rho, sx, sy, sz, ux, uy, uz, mk, mask_rad, use_mask, rmax, xs, cs,
              cost_min, ms_per_km, cell_start, order, best):
    c = (iz * n + iy) * n + ix
    if cell_start[c + 1] == cell_start[c]:
        return
    vx = origin + (ix + 0.5) * h - sx
    vy = origin + (iy + 0.5) * h - sy
    vz = origin + (iz + 0.5) * h - sz
    dist = math.sqrt(vx * vx + vy * vy + vz * vz)
    low = dist - rho
    if low > rmax or low * ms_per_km + cost_min > best[0]:
        return
    if use_mask and dist > rho:
        # highest elevation anything in the cell's bounding sphere can have
        s = (vx * ux + vy * uy + vz * uz) / dist
        s = min(max(s, -1.0), 1.0)
        if math.asin(s) + math.asin(rho / dist) < mask_rad:
            return
    _scan_cell(c, sx, sy, sz, ux, uy, uz, mk, use_mask, rmax, xs, cs, ms_per_km, cell_start, order, best)


@njit(**_OPTS)
def nearest_into(site_xyz, site_up, mask_deg, rmax_site, use_mask, xs, cs, cost_min, ms_per_km,
                 cell_start, order, origin, h, n, r_lo, r_hi, i0, i1, out_idx, out_range, out_el, out_total):
    """Best visible satellite for sites ``i0 .. i1 - 1`` (see the module docs).

    ``mask_deg`` (M,): elevation masks (ignored unless ``use_mask``); ``rmax_site`` (M,): slant-range
    limits, km (an upper bound on the range of any satellite the site can use). ``xs``, ``cs``:
    positions and costs (ms, ``inf`` for satellites that cannot serve) in cell order (:func:`gather`);
    ``order`` maps them back to satellite rows. ``r_lo``, ``r_hi``: bounds on the satellites' distance
    from the Earth's centre. Outputs: satellite row (-1: none), range km, elevation degrees, total ms.

    The search is seeded with the cells around the point straight above the site at the lowest
    satellite altitude (where the nearest satellite usually is), so the usable range shrinks at once.

    The cells are visited as rows along x: rows (y, z) in growing 2-D Chebyshev rings around the
    site's row, each row only where it meets the satellites' shell and the ball of usable range
    (:func:`_row_x_range`). After ring ``k`` every unvisited row is at least ``k·h`` away, so the
    search ends as soon as ``k·h`` exceeds the best total (or the usable range).
    """
    rho = h * math.sqrt(3.0) / 2.0
    best = np.empty(4)
    for i in range(i0, i1):
        sx, sy, sz = site_xyz[i, 0], site_xyz[i, 1], site_xyz[i, 2]
        ux, uy, uz = site_up[i, 0], site_up[i, 1], site_up[i, 2]
        mk = mask_deg[i]
        rmax = rmax_site[i]
        mask_rad = math.radians(mk) - 1e-9
        cy = min(max(int((sy - origin) / h), 0), n - 1)
        cz = min(max(int((sz - origin) / h), 0), n - 1)
        best[0] = np.inf
        best[1] = -1.0
        best[2] = np.nan
        best[3] = np.nan
        # seed: the 27 cells around the zenith point at the lowest satellite radius
        rs = math.sqrt(sx * sx + sy * sy + sz * sz)
        up_len = max(r_lo - rs, 0.0)
        zx = min(max(int((sx + ux * up_len - origin) / h), 1), n - 2)
        zy = min(max(int((sy + uy * up_len - origin) / h), 1), n - 2)
        zz = min(max(int((sz + uz * up_len - origin) / h), 1), n - 2)
        for ez in range(zz - 1, zz + 2):
            for ey in range(zy - 1, zy + 2):
                for ex in range(zx - 1, zx + 2):
                    _try_cell(ex, ey, ez, n, origin, h, rho, sx, sy, sz, ux, uy, uz, mk, mask_rad, use_mask, rmax,
                              xs, cs, cost_min, ms_per_km, cell_start, order, best)
        for k in range(n + 1):
            lb = k * h - h if k > 0 else 0.0  # every cell of ring k is at least this far away
            if lb > rmax or lb * ms_per_km + cost_min > best[0]:
                break
            for dz in range(-k, k + 1):
                iz = cz + dz
                if iz < 0 or iz >= n:
                    continue
                z0 = origin + iz * h
                edge_z = dz == -k or dz == k
                dy = -k
                while dy <= k:
                    iy = cy + dy
                    if 0 <= iy < n:
                        y0 = origin + iy * h
                        # the usable range shrinks to the best total so far
                        reach = rmax
                        if best[0] < np.inf:
                            reach = min(reach, (best[0] - cost_min) / ms_per_km)
                        lo1, hi1 = _row_x_range(y0, z0, h, sx, sy, sz, r_lo, r_hi, reach, True)
                        lo2, hi2 = _row_x_range(y0, z0, h, sx, sy, sz, r_lo, r_hi, reach, False)
                        a1 = max(int(math.floor((lo1 - 1e-6 - origin) / h)), 0)
                        b1 = min(int(math.floor((hi1 + 1e-6 - origin) / h)), n - 1)
                        a2 = max(int(math.floor((lo2 - 1e-6 - origin) / h)), 0)
                        b2 = min(int(math.floor((hi2 + 1e-6 - origin) / h)), n - 1)
                        if lo1 > hi1:
                            b1 = a1 - 1
                        if lo2 > hi2:
                            b2 = a2 - 1
                        if b1 >= a1 and a2 <= b1:
                            a2 = b1 + 1  # the halves meet at x = 0: one interval
                        for ix in range(a1, b1 + 1):
                            _try_cell(ix, iy, iz, n, origin, h, rho, sx, sy, sz, ux, uy, uz, mk, mask_rad, use_mask,
                                      rmax, xs, cs, cost_min, ms_per_km, cell_start, order, best)
                        for ix in range(a2, b2 + 1):
                            _try_cell(ix, iy, iz, n, origin, h, rho, sx, sy, sz, ux, uy, uz, mk, mask_rad, use_mask,
                                      rmax, xs, cs, cost_min, ms_per_km, cell_start, order, best)
                    if edge_z or k == 0:
                        dy += 1
                    else:
                        dy += 2 * k  # inside the ring only its y edges are new
        j = int(best[1])
        out_idx[i] = j
        out_range[i] = best[2]
        out_el[i] = best[3]
        out_total[i] = best[0] if j >= 0 else np.nan
