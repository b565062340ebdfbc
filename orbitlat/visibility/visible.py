"""Visible sets: which (site, satellite) pairs are in view at each time step, and how many per site.

:func:`visible_sets` works on one ephemeris; :func:`iter_visible` propagates a constellation in
time chunks and yields :class:`VisibleSets` one chunk at a time, so memory stays bounded on long
spans. Both use the pruned pair engine of :mod:`orbitlat.visibility.engine`.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Iterator
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.visibility.engine import SiteIndex, visible_pairs
from orbitlat.errors import OrbitlatError, PropagationWarning
from orbitlat.visibility._inputs import _as_site_index, _check_eph, _check_rule, _propagate_quiet, _resolve_source, _sat_names, _valid_sats, _warn_epoch
from orbitlat.units import accepts_units

__all__ = ["VisibleSets", "visible_sets", "iter_visible"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# =============================================================================
# visible sets
# =============================================================================
@dataclass
class VisibleSets:
    """Visible (site, satellite) pairs per time step, and counts per site.

    Attributes
    ----------
    pairs : pandas.DataFrame
        One row per visible pair and time step: ``time`` (int, index into
        ``counts.time``), ``site``, ``sat`` (int indices), ``elevation_deg``,
        ``azimuth_deg``, ``range_km``; sorted by time, site, satellite.
    counts : xarray.Dataset
        ``n_visible`` (time, site): number of satellites in view, with the
        ``time`` and ``site``/``site_name`` coordinates.
    attrs : dict
        Provenance: mask, rule, ``n_failed_excluded`` and ``failed_sats``
        (satellites dropped because they failed to propagate).
    """

    pairs: pd.DataFrame
    counts: xr.Dataset
    attrs: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.pairs)

    def at(self, time_index: int) -> pd.DataFrame:
        """The pairs visible at one time step (``time_index`` into ``counts.time``)."""
        t = self.pairs["time"].to_numpy()
        lo, hi = np.searchsorted(t, [time_index, time_index + 1])
        return self.pairs.iloc[lo:hi]

    def __repr__(self) -> str:
        nt = self.counts.sizes.get("time", 0)
        ns = self.counts.sizes.get("site", 0)
        return f"<VisibleSets: {len(self.pairs):,} pairs over {nt} times x {ns} sites>"

def _pairs_block(P: np.ndarray, index: SiteIndex, valid: np.ndarray, rule: str, max_range_km, t_offset: int):
    """Run the engine once per time step over positions P (t, n, 3)."""
    cols = {k: [] for k in ("time", "site", "sat", "el", "az", "rng")}
    counts = np.zeros((P.shape[0], index.size), dtype=np.int32)
    for k in range(P.shape[0]):
        vp = visible_pairs(index, P[k], rule=rule, max_range_km=max_range_km, sat_valid=valid)
        counts[k] = vp.counts()
        cols["time"].append(np.full(len(vp), t_offset + k, dtype=np.int32))
        cols["site"].append(vp.site.astype(np.int32))
        cols["sat"].append(vp.sat.astype(np.int32))
        cols["el"].append(vp.elevation_deg)
        cols["az"].append(vp.azimuth_deg)
        cols["rng"].append(vp.range_km)
    cat = {k: (np.concatenate(v) if v else np.empty(0)) for k, v in cols.items()}
    df = pd.DataFrame({"time": cat["time"].astype(np.int32), "site": cat["site"].astype(np.int32),
                       "sat": cat["sat"].astype(np.int32), "elevation_deg": cat["el"],
                       "azimuth_deg": cat["az"], "range_km": cat["rng"]})
    df.attrs["units"] = {"elevation_deg": "deg", "azimuth_deg": "deg", "range_km": "km"}
    return df, counts

def _counts_dataset(counts: np.ndarray, times: np.ndarray, names: np.ndarray, attrs: dict) -> xr.Dataset:
    return xr.Dataset(
        {"n_visible": (("time", "site"), counts, {"units": "satellites",
                                                  "long_name": "number of satellites in view"})},
        coords={"time": times, "site": np.arange(counts.shape[1]), "site_name": ("site", names.astype(str))},
        attrs={k: v for k, v in attrs.items() if isinstance(v, (int, float, str))},
    )

def _mask_attr(index: SiteIndex) -> Any:
    m = index.min_elevation_deg
    if index.az_mask_deg is not None:
        return "per-site azimuth masks"
    return float(m[0]) if np.all(m == m[0]) else "per-site masks"

@accepts_units
def visible_sets(eph: xr.Dataset, sites: Any, *, min_elevation_deg: Any = None, rule: str = "elevation",
                 max_range_km: Any = None, spherical: bool = False) -> VisibleSets:
    """Which satellites each site sees at every time step of an ephemeris (sparse).

    Calls :func:`orbitlat.visibility.engine.visible_pairs` once per time step: a KD-tree
    join prunes by geometry first, so only the visible pairs are stored.

    Parameters
    ----------
    eph : xarray.Dataset
        Ephemeris from ``propagate(..., frame="ITRS")``.
    sites : GroundSites or SiteIndex
    min_elevation_deg : float or (n_sites,) array, optional
        Elevation mask, degrees in [-5, 90]; default the sites' own masks
        (GroundSites azimuth masks included).
    rule : {"elevation", "range"}
        ``"elevation"``: elevation at or above the mask (and range at most
        ``max_range_km`` if given). ``"range"``: Hypatia's rule, any satellite
        within ``max_range_km`` (no elevation test).
    max_range_km : float or (n_sat,) array, optional
    spherical : bool
        Spherical Earth and geocentric vertical (see the module docs).

    Returns
    -------
    VisibleSets
        Failed satellites (``eph["failed"]``) are excluded and counted in
        ``attrs["n_failed_excluded"]``.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.visibility.engine import SiteIndex
    >>> eph = ol.presets.get("gps").propagate(start="2026-05-30", duration="1h", step="10min")
    >>> vs = visible_sets(eph, SiteIndex.from_latlon([46.5], [6.6]), min_elevation_deg=5.0)
    >>> vs.counts.n_visible.dims, list(vs.pairs.columns)
    (('time', 'site'), ['time', 'site', 'sat', 'elevation_deg', 'azimuth_deg', 'range_km'])
    """
    _check_eph(eph, "visible_sets")
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    N = eph.sizes["sat"]
    rng_lim = _check_rule(rule, max_range_km, N)
    valid = _valid_sats(eph)
    P = np.asarray(eph["position"].values, dtype=np.float64)
    df, counts = _pairs_block(P, index, valid, rule, rng_lim, 0)
    attrs = _vs_attrs(index, rule, rng_lim, valid, _sat_names(eph))
    return VisibleSets(df, _counts_dataset(counts, eph["time"].values, names, attrs), attrs)

def _vs_attrs(index, rule, rng_lim, valid, sat_names) -> dict:
    failed = np.flatnonzero(~valid)
    return {
        "min_elevation_deg": _mask_attr(index) if rule == "elevation" else "none (range rule)",
        "rule": rule,
        "max_range_km": "none" if rng_lim is None else (float(rng_lim) if np.ndim(rng_lim) == 0 else "per satellite"),
        "vertical": "spherical" if index.spherical else "WGS84 geodetic",
        "n_failed_excluded": int(failed.size),
        "failed_sats": [str(sat_names[k]) for k in failed],
    }

@accepts_units
def iter_visible(source: Any, sites: Any, times: Any = None, *, start: Any = None, duration: Any = None,
                 step: Any = None, chunk: int = 60, min_elevation_deg: Any = None, rule: str = "elevation",
                 max_range_km: Any = None, spherical: bool = False, backend: str = "auto",
                 warn_epoch_days: float = 14.0) -> Iterator[VisibleSets]:
    """Stream visible sets chunk by chunk, propagating only ``chunk`` time steps at a time.

    Memory stays bounded by one chunk's ephemeris and pairs, so spans of
    weeks at fine steps work. Concatenating the chunks gives exactly what
    :func:`visible_sets` returns for the whole ephemeris.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here with ``backend``), or an ITRS
        ephemeris (then ``times``/``start``/... must not be given).
    sites, min_elevation_deg, rule, max_range_km, spherical
        As for :func:`visible_sets`.
    times, start, duration, step
        The time grid (constellation input): explicit instants or start/duration/step.
    chunk : int
        Time steps per chunk.
    backend : str
        Propagation backend (constellation input).
    warn_epoch_days : float
        :class:`~orbitlat.errors.EpochWarning` when TLEs are used further than
        this from their epochs (once, up front).

    Yields
    ------
    VisibleSets
        One per chunk; ``pairs.time`` and ``counts.time`` are global (index
        into the whole grid). Satellites that fail to propagate inside a chunk
        are excluded from that chunk (``attrs["failed_sats"]``) and reported
        with a :class:`~orbitlat.errors.PropagationWarning`.

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.visibility.engine import SiteIndex
    >>> c = ol.presets.get("iridium")
    >>> site = SiteIndex.from_latlon([47.4], [8.5], min_elevation_deg=8.2)
    >>> n = [int(v.counts.n_visible.sum()) for v in iter_visible(c, site, start="2026-05-30", duration="1h",
    ...                                                            step="60s", chunk=20)]
    >>> len(n)
    4
    """
    eph, c, tg = _resolve_source(source, times, start, duration, step, "iter_visible")
    if not isinstance(chunk, (int, np.integer)) or isinstance(chunk, bool) or chunk < 1:
        raise OrbitlatError(f"chunk must be a positive number of time steps; got {chunk!r}.")
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    n_sat = eph.sizes["sat"] if eph is not None else c.size
    rng_lim = _check_rule(rule, max_range_km, n_sat)
    sat_names = _sat_names(eph if eph is not None else c)
    if c is not None:
        _warn_epoch(c, tg, warn_epoch_days, stacklevel=2)

    def gen() -> Iterator[VisibleSets]:
        for k0 in range(0, len(tg), chunk):
            k1 = min(len(tg), k0 + chunk)
            if eph is not None:
                P = np.asarray(eph["position"].values[k0:k1], dtype=np.float64)
                valid = _valid_sats(eph)
            else:
                e = _propagate_quiet(c, tg[k0:k1], velocity=False, backend=backend,
                                     workers=None if (k1 - k0) * n_sat >= 400_000 else 1)
                P = e["position"].values
                valid = ~np.asarray(e["failed"].values, dtype=bool)
                if not valid.all():
                    warnings.warn(
                        f"{int((~valid).sum())} of {n_sat} satellites failed to propagate between {tg.utc[k0]} and "
                        f"{tg.utc[k1 - 1]}; they are excluded from that chunk (VisibleSets.attrs['failed_sats']).",
                        PropagationWarning, stacklevel=2)
            df, counts = _pairs_block(P, index, valid, rule, rng_lim, k0)
            attrs = _vs_attrs(index, rule, rng_lim, valid, sat_names)
            yield VisibleSets(df, _counts_dataset(counts, tg.utc[k0:k1], names, attrs), attrs)

    return gen()
