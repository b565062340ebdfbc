"""Shell, plane and slot inference for satellite catalogs.

A TLE catalog of a megaconstellation says nothing about its structure: which
satellites share a shell, which share an orbital plane, and in what order they
fly around it. :func:`infer_shells` recovers that structure from the mean
elements alone, and :func:`shell_summary` tabulates it.

Method
------
1. **Layers.** Every satellite is a point (inclination, mean altitude
   ``a_km - 6378.137``). Points are binned at a quarter of ``inc_tol_deg`` x
   ``alt_tol_km``; a bin's density is the number of satellites within
   ``±inc_tol_deg`` and ``±alt_tol_km``, and each bin climbs to its densest
   neighbour within that box (mode seeking, "quick shift"), so every density
   peak gathers a basin. A *layer* is the part of a basin within one box of its
   peak and at least ``core_fraction`` as dense (passes repeat on what is left).
   Maintained layers are thin: about 1 km and 0.02° in the real Starlink and
   OneWeb catalogs.
2. **Shells.** Layers of one inclination (within ``inc_tol_deg``) stacked less
   than ``shell_gap_km`` apart form a shell (OneWeb flies each plane 4 km above
   the next; Starlink's 53.16° shell has layers at 463, 471 and 475 km). A layer
   smaller than ``core_fraction`` of the largest in its group, or than
   ``core_fraction`` of ``min_shell_size``, is not part of any shell, and a shell
   needs ``min_shell_size`` satellites. Satellites left out (raising or lowering
   their orbit, deorbiting, launch batches parked low) become ``"transit"`` when
   their inclination matches a shell's (within ``3 * inc_tol_deg``) and
   ``"unassigned"`` otherwise, with plane and slot -1.
3. **Common epoch.** Catalog satellites have element epochs days apart, and at
   53°/550 km the node regresses about 4.5°/day. Every satellite's RAAN and mean
   argument of latitude ``u = argp + M`` are carried to one epoch (default the
   median element epoch) with the J2 secular rates of
   :func:`orbitlat.orbits.propagation.kepler_j2_rates` (Vallado eq. 9-41), plus the
   TLE's mean-motion derivative term ``(ndot/2)·dt²`` for catalog satellites.
4. **Planes.** Within each layer of a shell the RAANs are clustered on the circle: sorted,
   with the gaps between neighbours (including the one across 0°/360°). Gaps
   between planes are large and gaps inside a plane small, so the split
   threshold sits at the sharpest break in the sorted gaps (largest ratio of
   consecutive gaps, a gap above ``min_plane_gap_deg`` over one at most
   ``max_plane_spread_deg``), unless ``plane_gap_deg`` is given. Planes are
   numbered over the shell in order of their mean RAAN from 0°.
5. **Slots.** Within a plane, satellites are numbered 0..S-1 in order of
   argument of latitude at the common epoch.

The defaults suit LEO broadband constellations, whose layers are held to about
a km and a few hundredths of a degree. Navigation constellations are looser (GPS
planes differ in inclination by degrees and spread several degrees in RAAN):
there pass e.g. ``inc_tol_deg=2, alt_tol_km=100, plane_gap_deg=10``.

>>> from orbitlat.orbits import walker
>>> c = walker.walker_delta(53, 24, 6, 1, altitude_km=550)
>>> s = shell_summary(infer_shells(c))
>>> int(s.loc[0, "count"]), int(s.loc[0, "n_planes"]), s.loc[0, "walker_guess"]
(24, 6, '53:24/6/1')
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from orbitlat.constants import WGS84_A_KM
from orbitlat.orbits.constellation import Constellation
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["infer_shells", "shell_summary", "angles_at_epoch", "TRANSIT", "UNASSIGNED"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Shell label of satellites in a shell's inclination band but not in the shell (raising, lowering).
TRANSIT = "transit"
#: Shell label of satellites that belong to no shell and no shell's inclination band.
UNASSIGNED = "unassigned"

_BIN = 4  # bins per tolerance in the shell finder (bin = tol / 4)
_NOISE_DEG = 0.01  # RAAN gaps below this are treated as zero (TLE angles carry 1e-4°)


# ---------------------------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------------------------
def angles_at_epoch(constellation: Constellation, epoch: Any = None) -> pd.DataFrame:
    """RAAN and mean argument of latitude of every satellite at one common epoch.

    Each satellite's elements are carried from its own epoch with the J2 secular
    rates (:func:`orbitlat.orbits.propagation.kepler_j2_rates`); catalog satellites also
    get the TLE's ``(ndot/2)·dt²`` mean-anomaly term.

    Parameters
    ----------
    constellation : Constellation
    epoch : time, optional
        The common epoch (anything :func:`orbitlat.time.to_datetime64` takes);
        default the median of the satellites' element epochs.

    Returns
    -------
    pandas.DataFrame
        ``raan_deg`` and ``arglat_deg`` in [0, 360), ``dt_days`` (common epoch
        minus element epoch), indexed like ``constellation.table``; the epoch is
        in ``df.attrs["epoch"]``.

    >>> from orbitlat.orbits import walker
    >>> c = walker.walker_delta(53, 24, 6, 1, altitude_km=550)
    >>> a = angles_at_epoch(c, "2026-01-02")
    >>> round(float(a["raan_deg"][0]), 2)  # one day of nodal regression at 53°, 550 km
    355.51
    """
    c = _check_constellation(constellation)
    ref = _common_epoch(c, epoch)
    raan, u, dt_days = _angles(c, ref)
    out = pd.DataFrame({"raan_deg": raan, "arglat_deg": u, "dt_days": dt_days}, index=c.table.index)
    out.attrs["epoch"] = str(ref)
    return out


@accepts_units
def infer_shells(
    constellation: Constellation,
    *,
    inc_tol_deg: float = 0.05,
    alt_tol_km: float = 2.0,
    shell_gap_km: float = 10.0,
    min_shell_size: int | None = None,
    core_fraction: float = 0.1,
    epoch: Any = None,
    plane_gap_deg: float | None = None,
    min_plane_gap_deg: float = 0.5,
    max_plane_spread_deg: float = 3.0,
) -> Constellation:
    """Infer shells, orbital planes and slots of any constellation (catalog or designed).

    Parameters
    ----------
    constellation : Constellation
        Satellites with mean elements (e.g. from :meth:`Constellation.from_tle`).
    inc_tol_deg, alt_tol_km : float
        Scale of one altitude *layer*: satellites within ``±inc_tol_deg`` of
        inclination and ``±alt_tol_km`` of mean altitude are neighbours (default
        0.05° and 2 km; a maintained Starlink or OneWeb layer holds its mean
        altitude to about 1 km and its inclination to about 0.02°).
    shell_gap_km : float
        Layers of one inclination (within ``inc_tol_deg``) whose altitude ranges
        are at most this far apart form one shell (default 10 km: OneWeb staggers its
        planes 4 km apart, Starlink its layers 4-8 km).
    min_shell_size : int, optional
        Fewest satellites in a shell; smaller groups become ``"transit"`` or
        ``"unassigned"``. Default ``max(2, ceil(1 % of the satellites))``.
    core_fraction : float
        A layer keeps the bins of its density basin at least this fraction as
        dense as its peak, and a layer joins a shell only if it holds at least this
        fraction of the shell's largest layer (0 < core_fraction <= 1; default 0.1).
    epoch : time, optional
        Common epoch for RAAN and argument of latitude (default: median element epoch).
    plane_gap_deg : float, optional
        Fixed RAAN gap (degrees) that separates planes; default: found per layer.
    min_plane_gap_deg, max_plane_spread_deg : float
        Bounds of the automatic plane split: a gap between planes is at least
        ``min_plane_gap_deg`` (0.5°), and neighbouring satellites of one plane are
        at most ``max_plane_spread_deg`` (3°) apart in RAAN.

    Returns
    -------
    Constellation
        A copy with ``shell`` (labels like ``"540/53.2"``, ``"transit"``,
        ``"unassigned"``), ``plane`` and ``slot`` filled (-1 outside shells), and
        ``attrs`` ``inference_epoch``, ``inference_shells``, ``inference_transit``,
        ``inference_unassigned``, ``inference_params``.

    Raises
    ------
    OrbitlatError
        Not a Constellation, a parameter out of range, or non-finite elements.

    Examples
    --------
    >>> from orbitlat.orbits import presets
    >>> k = infer_shells(presets.get("kuiper"))
    >>> k.attrs["inference_shells"], k.planes
    (3, 98)
    """
    c = _check_constellation(constellation)
    inc_tol = _positive("inc_tol_deg", inc_tol_deg)
    alt_tol = _positive("alt_tol_km", alt_tol_km)
    shell_gap = _positive("shell_gap_km", shell_gap_km)
    try:
        core_fraction = float(core_fraction)
    except (TypeError, ValueError):
        raise OrbitlatError(f"core_fraction={core_fraction!r} is not a number; "
                            "valid is 0 < core_fraction <= 1.") from None
    if not 0.0 < core_fraction <= 1.0:
        raise OrbitlatError(f"core_fraction={core_fraction!r} is out of range; valid is 0 < core_fraction <= 1.")
    n = c.size
    if min_shell_size is None:
        min_size = max(2, int(np.ceil(0.01 * n)))
    else:
        if (isinstance(min_shell_size, bool) or not isinstance(min_shell_size, (int, np.integer, float))
                or not float(min_shell_size).is_integer() or min_shell_size < 1):
            raise OrbitlatError(f"min_shell_size={min_shell_size!r} must be a whole number >= 1 "
                                "(or None for 1% of the satellites, at least 2).")
        min_size = int(min_shell_size)
    gap = None if plane_gap_deg is None else _positive("plane_gap_deg", plane_gap_deg)
    min_gap = _positive("min_plane_gap_deg", min_plane_gap_deg)
    max_spread = _positive("max_plane_spread_deg", max_plane_spread_deg)
    if max_spread < min_gap:
        raise OrbitlatError(f"max_plane_spread_deg={max_spread:g} must be >= min_plane_gap_deg={min_gap:g}.")

    t = c.table
    inc = t["inc_deg"].to_numpy(np.float64)
    alt = t["a_km"].to_numpy(np.float64) - WGS84_A_KM
    ref = _common_epoch(c, epoch)
    raan, u, _ = _angles(c, ref)

    shell_id, layer = _assign_shells(inc, alt, inc_tol, alt_tol, shell_gap, core_fraction, min_size)
    n_shells = int(shell_id.max()) + 1
    # shells ordered by inclination, then altitude
    if n_shells:
        sel = shell_id >= 0
        cnt = np.bincount(shell_id[sel], minlength=n_shells)
        m_inc = np.bincount(shell_id[sel], inc[sel], n_shells) / cnt
        m_alt = np.bincount(shell_id[sel], alt[sel], n_shells) / cnt
        order = np.lexsort((m_alt, m_inc))
        remap = np.empty(n_shells, np.int64)
        remap[order] = np.arange(n_shells)
        shell_id = np.where(sel, remap[np.maximum(shell_id, 0)], -1)
        m_inc, m_alt = m_inc[order], m_alt[order]
        labels = _shell_labels(m_alt, m_inc)
    else:
        m_inc = np.empty(0)
        labels = []

    # planes: RAAN clusters within each layer, numbered in RAAN order over the shell
    plane = np.full(n, -1, np.int64)
    for s in range(n_shells):
        idx = np.flatnonzero(shell_id == s)
        lay = layer[idx]
        lab = np.empty(idx.size, np.int64)
        base = 0
        for k in np.unique(lay):
            sel = lay == k
            part = _cluster_circle(raan[idx][sel], gap, min_gap, max_spread)
            lab[sel] = part + base
            base += int(part.max()) + 1
        plane[idx] = _number_planes(raan[idx], lab)
    slot = _slots(shell_id, plane, u)

    out_shell = np.empty(n, dtype=object)
    for s, lab in enumerate(labels):
        out_shell[shell_id == s] = lab
    outside = shell_id < 0
    if n_shells:
        near = (np.abs(inc[:, None] - m_inc[None, :]) <= 3 * inc_tol).any(axis=1)
    else:
        near = np.zeros(n, bool)
    out_shell[outside & near] = TRANSIT
    out_shell[outside & ~near] = UNASSIGNED

    table = t.copy()
    table["shell"] = out_shell.astype(str)
    table["plane"] = plane
    table["slot"] = slot
    attrs = dict(c.attrs)
    attrs.update({
        "inference_epoch": str(ref),
        "inference_shells": n_shells,
        "inference_transit": int((outside & near).sum()),
        "inference_unassigned": int((outside & ~near).sum()),
        "inference_params": (f"inc_tol_deg={inc_tol:g}, alt_tol_km={alt_tol:g}, shell_gap_km={shell_gap:g}, "
                             f"min_shell_size={min_size}, core_fraction={core_fraction:g}, "
                             f"plane_gap_deg={gap}, min_plane_gap_deg={min_gap:g}, "
                             f"max_plane_spread_deg={max_spread:g}"),
    })
    return Constellation(table, name=c.name, attrs=attrs)


def shell_summary(constellation: Constellation, *, epoch: Any = None) -> pd.DataFrame:
    """One row per shell: size, altitude, inclination, planes, spacing and a Walker guess.

    Works on any labelled constellation: the output of :func:`infer_shells`, or a
    designed one whose builders set ``shell``/``plane``/``slot``. Satellites
    labelled ``"transit"`` or ``"unassigned"`` get one row each (``kind``), so the
    counts add up to the constellation's size.

    Parameters
    ----------
    constellation : Constellation
    epoch : time, optional
        Epoch for the RAAN and phase statistics; default the ``inference_epoch``
        attribute if present, else the median element epoch.

    Returns
    -------
    pandas.DataFrame
        Columns ``shell, kind, count, altitude_km, altitude_std_km, inc_deg,
        n_planes, sats_per_plane`` (median), ``sats_per_plane_min,
        sats_per_plane_max, raan_spacing_deg`` (median spacing of neighbouring
        planes' mean RAAN), ``walker_guess`` (``"i:T/P/F"`` when the shell is a
        complete Walker delta pattern, else ``""``) and ``walker_note`` (why not).

    >>> from orbitlat.orbits import presets
    >>> shell_summary(presets.get("kuiper"))["walker_guess"].tolist()
    ['33:784/28/1', '42:1296/36/1', '51.9:1156/34/1']
    """
    c = _check_constellation(constellation)
    if epoch is None and "inference_epoch" in c.attrs:
        epoch = c.attrs["inference_epoch"]
    ref = _common_epoch(c, epoch)
    raan, u, _ = _angles(c, ref)
    t = c.table
    alt = t["a_km"].to_numpy(np.float64) - WGS84_A_KM
    inc = t["inc_deg"].to_numpy(np.float64)
    shells = t["shell"].to_numpy(str)
    plane = t["plane"].to_numpy(np.int64)
    rows = []
    labels = list(dict.fromkeys(shells))
    special = [lab for lab in (TRANSIT, UNASSIGNED) if lab in labels]
    ordinary = [x for x in labels if x not in special]
    key = {x: (inc[shells == x].mean(), alt[shells == x].mean()) for x in ordinary}
    for lab in sorted(ordinary, key=key.__getitem__) + special:
        idx = np.flatnonzero(shells == lab)
        row = {"shell": lab, "kind": "shell" if lab not in special else lab, "count": idx.size,
               "altitude_km": float(alt[idx].mean()), "altitude_std_km": float(alt[idx].std()),
               "inc_deg": float(inc[idx].mean()), "n_planes": 0, "sats_per_plane": np.nan,
               "sats_per_plane_min": np.nan, "sats_per_plane_max": np.nan, "raan_spacing_deg": np.nan,
               "walker_guess": "", "walker_note": ""}
        if lab in special:
            row["walker_note"] = "not a shell"
        else:
            pl = plane[idx]
            known = pl >= 0
            if not known.any():
                row["walker_note"] = "no plane labels (run infer_shells first)"
            else:
                upl, counts = np.unique(pl[known], return_counts=True)
                row.update(n_planes=int(upl.size), sats_per_plane=float(np.median(counts)),
                           sats_per_plane_min=int(counts.min()), sats_per_plane_max=int(counts.max()))
                means = np.array([_circmean(raan[idx][known][pl[known] == p]) for p in upl])
                srt = np.sort(means)
                if srt.size > 1:
                    d = np.diff(np.r_[srt, srt[0] + 360.0])
                    row["raan_spacing_deg"] = float(np.median(d))
                guess, note = _walker_guess(raan[idx], u[idx], pl, float(row["inc_deg"]), known.all())
                row["walker_guess"], row["walker_note"] = guess, note
        rows.append(row)
    df = pd.DataFrame(rows)
    df.attrs["epoch"] = str(ref)
    return df


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
def _check_constellation(c: Any) -> Constellation:
    if not isinstance(c, Constellation):
        raise OrbitlatError(f"expected an orbitlat Constellation, got {type(c).__name__}; build one with "
                            "Constellation.from_tle(...), a preset or a Walker builder.")
    t = c.table
    for col in ("a_km", "ecc", "inc_deg", "raan_deg", "argp_deg", "mean_anomaly_deg"):
        v = t[col].to_numpy(np.float64)
        bad = ~np.isfinite(v)
        if bad.any():
            names = t["name"].to_numpy(str)[bad][:5].tolist()
            raise OrbitlatError(f"{int(bad.sum())} satellites have a non-finite {col} (e.g. {names}); "
                                "drop them (c[mask]) before inferring shells.")
    return c


def _positive(name: str, value: Any) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise OrbitlatError(f"{name}={value!r} is not a number; pass a positive float.") from None
    if not np.isfinite(v) or v <= 0:
        raise OrbitlatError(f"{name}={value!r} must be a positive, finite number.")
    return v


def _common_epoch(c: Constellation, epoch: Any) -> np.datetime64:
    if epoch is None:
        ep = c.table["epoch"].to_numpy("datetime64[ns]").astype(np.int64)
        return np.datetime64(int(np.median(ep)), "ns")
    from orbitlat.time import to_datetime64

    arr = to_datetime64(epoch, "epoch")
    if arr.size != 1:
        raise OrbitlatError(f"epoch must be one instant; got {arr.size}.")
    return arr[0]


def _ndot_half(c: Constellation) -> np.ndarray:
    """The TLE line-1 field ndot/2 (rev/day²) for catalog satellites, 0 for designed ones."""
    out = np.zeros(c.size)
    cat = c.is_catalog
    if cat.any():
        field = c.table.loc[cat, "line1"].astype(str).str.slice(33, 43)
        out[cat] = pd.to_numeric(field, errors="coerce").fillna(0.0).to_numpy(np.float64)
    return out


def _angles(c: Constellation, ref: np.datetime64):
    from orbitlat.orbits.propagation import kepler_j2_rates

    t = c.table
    el = c.element_arrays()
    dt_s = (ref - el["epoch"]).astype("timedelta64[ns]").astype(np.float64) * 1e-9
    raan_dot, argp_dot, m_dot = kepler_j2_rates(el["a_km"], el["ecc"], el["inc_rad"])
    dt_d = dt_s / 86400.0
    raan = np.mod(t["raan_deg"].to_numpy(np.float64) + np.degrees(raan_dot * dt_s), 360.0)
    u = (t["argp_deg"].to_numpy(np.float64) + t["mean_anomaly_deg"].to_numpy(np.float64)
         + np.degrees((argp_dot + m_dot) * dt_s) + 360.0 * _ndot_half(c) * dt_d**2)
    return raan, np.mod(u, 360.0), dt_d


def _assign_shells(inc, alt, inc_tol, alt_tol, shell_gap, core_fraction, min_size):
    """Shell and layer index per satellite (-1 outside shells); shells numbered arbitrarily."""
    layer = _find_layers(inc, alt, inc_tol, alt_tol, core_fraction)
    inside = layer >= 0
    if inside.any():
        # a layer smaller than core_fraction of a minimal shell is scatter, not structure
        size = np.bincount(layer[inside])
        inside &= size[np.maximum(layer, 0)] >= core_fraction * min_size
        layer = np.where(inside, layer, -1)
    if not inside.any():
        return np.full(inc.size, -1, np.int64), layer
    layer[inside] = np.unique(layer[inside], return_inverse=True)[1].ravel()
    shell_of_layer = _group_layers(layer, inc, alt, inc_tol, shell_gap, core_fraction)
    shell = np.where(inside, shell_of_layer[np.maximum(layer, 0)], -1)
    size = np.bincount(shell[shell >= 0], minlength=1)
    big = np.flatnonzero(size >= min_size)
    keep = (shell >= 0) & np.isin(shell, big)
    shell = np.where(keep, np.searchsorted(big, np.maximum(shell, 0)), -1)
    return shell, np.where(keep, layer, -1)


def _find_layers(inc, alt, inc_tol, alt_tol, core_fraction) -> np.ndarray:
    """Layer index per satellite (-1 outside layers), by mode seeking on (inclination, altitude).

    Satellites are binned at a quarter of the tolerances; a bin's density is the number
    of satellites within ±1 tolerance; each bin points to its densest neighbour within
    ±1 tolerance (ties: more satellites in the bin, then lower bin key), and following
    the pointers ends at a density peak ("quick shift"). A layer is the bins of one
    peak's basin that are at least ``core_fraction`` as dense as the peak and within
    ±1 tolerance of it (a layer is thin; a long trickle is not a layer).
    """
    qx = np.floor(inc / inc_tol * _BIN).astype(np.int64)
    qy = np.floor(alt / alt_tol * _BIN).astype(np.int64)
    qx -= qx.min() - _BIN
    qy -= qy.min() - _BIN
    width = int(qy.max()) + _BIN + 1
    key = qx * width + qy
    cells, inv, w = np.unique(key, return_inverse=True, return_counts=True)
    inv = inv.ravel()
    m = cells.size
    offs = [(dx, dy) for dx in range(-_BIN, _BIN + 1) for dy in range(-_BIN, _BIN + 1)]
    nbrs = np.full((len(offs), m), -1, np.int64)
    for k, (dx, dy) in enumerate(offs):
        target = cells + dx * width + dy
        pos = np.clip(np.searchsorted(cells, target), 0, m - 1)
        nbrs[k] = np.where(cells[pos] == target, pos, -1)
    cx, cy = cells // width, cells % width
    lid_cell = np.full(m, -1, np.int64)
    n_layers = 0
    for _ in range(64):  # each pass takes the thin cores of the remaining peaks
        free = lid_cell < 0
        if not free.any():
            break
        has = (nbrs >= 0) & free[np.maximum(nbrs, 0)]
        dens = np.where(has, w[np.maximum(nbrs, 0)], 0).sum(axis=0)
        order = np.lexsort((np.arange(m), -w, -dens))
        rank = np.empty(m, np.int64)
        rank[order] = np.arange(m)
        best = np.where(has, rank[np.maximum(nbrs, 0)], m).min(axis=0)
        parent = np.where(free, order[np.minimum(best, m - 1)], np.arange(m))
        while True:
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt
        core = (free & (dens >= core_fraction * dens[parent]) & (np.abs(cx - cx[parent]) <= _BIN)
                & (np.abs(cy - cy[parent]) <= _BIN))
        roots = np.unique(parent[core])
        lid_cell[core] = n_layers + np.searchsorted(roots, parent[core])
        n_layers += roots.size
    return lid_cell[inv]


def _group_layers(layer, inc, alt, inc_tol, shell_gap, core_fraction) -> np.ndarray:
    """Shell index of each layer (-1: dropped): layers of one inclination stacked closer than ``shell_gap``.

    Two layers are linked when their median inclinations differ by at most ``inc_tol``
    and the altitude gap between their extents is at most ``shell_gap``; shells are the
    connected groups. A layer smaller than ``core_fraction`` of its group's largest
    layer is dropped (its satellites are arriving at or leaving the shell) and the
    groups are formed again, so that a trickle of satellites raising their orbit
    cannot chain a shell down to the injection altitude.
    """
    n_layers = int(layer.max()) + 1 if (layer >= 0).any() else 0
    if n_layers == 0:
        return np.zeros(0, np.int64)
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import connected_components

    sel = layer >= 0
    lay, a_sel = layer[sel], alt[sel]
    size = np.bincount(lay, minlength=n_layers)
    l_inc = np.array([np.median(inc[sel][lay == k]) for k in range(n_layers)])
    lo = np.full(n_layers, np.inf)
    hi = np.full(n_layers, -np.inf)
    np.minimum.at(lo, lay, a_sel)
    np.maximum.at(hi, lay, a_sel)
    gap = np.maximum(lo[:, None] - hi[None, :], lo[None, :] - hi[:, None])
    link = (np.abs(l_inc[:, None] - l_inc[None, :]) <= inc_tol) & (gap <= shell_gap)
    alive = np.ones(n_layers, bool)
    while True:
        adj = link & alive[:, None] & alive[None, :]
        _, comp = connected_components(csr_matrix(adj), directed=False)
        top = np.zeros(comp.max() + 1, np.int64)
        np.maximum.at(top, comp[alive], size[alive])
        drop = alive & (size < core_fraction * top[comp])
        if not drop.any():
            break
        alive &= ~drop
    out = np.full(n_layers, -1, np.int64)
    _, out[alive] = np.unique(comp[alive], return_inverse=True)
    return out


def _shell_labels(alt, inc) -> list[str]:
    """Labels "altitude/inclination"; two decimals where shells' inclinations share the first."""
    one = [f"{i:.1f}" for i in inc]
    two = [f"{i:.2f}" for i in inc]
    inc_txt = [two[k] if len({two[j] for j in range(len(inc)) if one[j] == one[k]}) > 1 else one[k]
               for k in range(len(inc))]
    labels = [f"{a:.0f}/{i}" for a, i in zip(alt, inc_txt)]
    seen: dict[str, int] = {}
    for k, lab in enumerate(labels):
        if lab in seen:
            seen[lab] += 1
            labels[k] = f"{lab}#{seen[lab]}"
        else:
            seen[lab] = 1
    return labels


def _plane_threshold(gaps: np.ndarray, min_gap: float, max_spread: float) -> float:
    """RAAN gap above which neighbours are in different planes: the sharpest break in the gaps."""
    g = np.sort(gaps)[::-1]
    if g.size == 1:
        return np.inf
    lo = np.maximum(g[1:], _NOISE_DEG)
    ratio = g[:-1] / lo
    ok = (g[:-1] >= min_gap) & (g[1:] <= max_spread)
    if ok.any():
        k = int(np.flatnonzero(ok)[np.argmax(ratio[ok])])
        return float(np.sqrt(g[k] * lo[k]))
    if g[-1] > max_spread:  # every neighbour is far: one satellite per plane
        return min_gap
    return np.inf if g[0] < min_gap else min_gap


def _number_planes(raan: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Renumber arbitrary plane labels 0..P-1 in order of mean RAAN."""
    uniq, inv = np.unique(labels, return_inverse=True)
    inv = inv.ravel()
    means = np.array([_circmean(raan[inv == k]) for k in range(uniq.size)])
    remap = np.empty(uniq.size, np.int64)
    remap[np.lexsort((np.arange(uniq.size), means))] = np.arange(uniq.size)
    return remap[inv]


def _cluster_circle(raan: np.ndarray, gap: float | None, min_gap: float, max_spread: float) -> np.ndarray:
    """Plane labels for angles on the circle (satellites of one plane share a label)."""
    n = raan.size
    if n == 1:
        return np.zeros(1, np.int64)
    o = np.argsort(raan, kind="stable")
    r = raan[o]
    gaps = np.diff(np.r_[r, r[0] + 360.0])
    tau = _plane_threshold(gaps, min_gap, max_spread) if gap is None else gap
    splits = np.flatnonzero(gaps > tau)
    lab_sorted = np.zeros(n, np.int64)
    if splits.size:
        lab_sorted = np.searchsorted(splits, np.arange(n), side="left") % splits.size
    labels = np.empty(n, np.int64)
    labels[o] = lab_sorted
    return labels


def _slots(shell_id: np.ndarray, plane: np.ndarray, u: np.ndarray) -> np.ndarray:
    slot = np.full(shell_id.size, -1, np.int64)
    idx = np.flatnonzero(shell_id >= 0)
    if idx.size == 0:
        return slot
    o = np.lexsort((u[idx], plane[idx], shell_id[idx]))
    s, p = shell_id[idx][o], plane[idx][o]
    new = np.r_[True, (s[1:] != s[:-1]) | (p[1:] != p[:-1])]
    start = np.maximum.accumulate(np.where(new, np.arange(o.size), 0))
    slot[idx[o]] = np.arange(o.size) - start
    return slot


def _circmean(deg: np.ndarray) -> float:
    rad = np.radians(deg)
    return float(np.mod(np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean())), 360.0))


def _wrap(x: np.ndarray, period: float) -> np.ndarray:
    """Wrap to (-period/2, period/2]."""
    return period / 2 - np.mod(period / 2 - x, period)


def _walker_guess(raan, u, plane, inc_deg, complete: bool) -> tuple[str, str]:
    """'i:T/P/F' if the satellites form a full Walker delta pattern, else '' and the reason."""
    if not complete:
        return "", "some satellites have no plane"
    upl, counts = np.unique(plane, return_counts=True)
    P = upl.size
    if counts.min() != counts.max():
        return "", f"planes hold {counts.min()} to {counts.max()} satellites"
    S = int(counts[0])
    T = P * S
    means = np.array([_circmean(raan[plane == p]) for p in upl])
    order = np.argsort(means)
    means, upl = means[order], upl[order]
    if P > 1:
        d = np.diff(np.r_[means, means[0] + 360.0])
        if np.max(np.abs(d - 360.0 / P)) > 0.1 * 360.0 / P:
            return "", "planes are not evenly spread over 360° of RAAN"
    phase = np.empty(P)
    for j, p in enumerate(upl):
        uu = np.sort(u[plane == p])
        if S > 1:
            du = np.diff(np.r_[uu, uu[0] + 360.0])
            if np.max(np.abs(du - 360.0 / S)) > 0.1 * 360.0 / S:
                return "", "satellites are not evenly spaced within their planes"
        z = np.exp(1j * np.radians(S * uu)).mean()
        phase[j] = np.degrees(np.angle(z)) / S
    inc_txt = f"{inc_deg:.1f}".rstrip("0").rstrip(".")
    if P == 1:
        return f"{inc_txt}:{T}/1/0", ""
    slot_sp = 360.0 / S
    dphi = np.mod(np.diff(np.r_[phase, phase[0]]), slot_sp)
    F = np.round(dphi * T / 360.0).astype(np.int64) % P
    resid = _wrap(dphi - 360.0 * F / T, slot_sp)
    if np.unique(F).size != 1 or np.max(np.abs(resid)) > 0.1 * 360.0 / T:
        return "", "inter-plane phasing is not uniform"
    return f"{inc_txt}:{T}/{P}/{int(F[0])}", ""
