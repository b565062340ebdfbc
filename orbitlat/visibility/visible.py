"""Visible sets: which (site, satellite) pairs are in view at each time step, and how many per site.

:func:`visible_sets` works on an ephemeris or a constellation; :func:`iter_visible` propagates a
constellation in time chunks and yields :class:`VisibleSets` one chunk at a time, so memory stays
bounded on long spans. Both use the pruned pair engine of :mod:`orbitlat.visibility.engine`, and
both are plans for :mod:`orbitlat.scale` (time chunks, the kernel :func:`visible_chunk`, parts
concatenated in order: no merge is needed), so ``scheduler=`` runs the chunks on threads,
processes or Dask with the same pairs.
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
from orbitlat.time import TimeGrid
from orbitlat.visibility._inputs import (_as_site_index, _check_rule, _drop_chunk_warning, _propagate_quiet,
                                          _resolve_source, _sat_names, _valid_sats, _warn_epoch)
from orbitlat.units import accepts_units

__all__ = ["VisibleSets", "visible_sets", "iter_visible", "visible_chunk"]


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

@dataclass
class _VisShared:
    """What every visible-set task shares."""

    constellation: Any  # Constellation, or None with an ephemeris
    positions: Any  # the ephemeris' position DataArray, or None
    valid: np.ndarray | None  # the ephemeris' valid satellites
    index: SiteIndex
    names: np.ndarray
    rule: str
    rng_lim: Any
    sat_names: np.ndarray
    backend: str
    here: bool  # the task runs in the calling thread: propagation may use its own workers
    prop_chunk: int = 60  # steps per propagation call (iter_visible's chunk)


@dataclass
class _VisChunk:
    k0: int
    utc: np.ndarray


def visible_chunk(ch: _VisChunk, sh: _VisShared) -> VisibleSets:
    """One task of a visible-sets plan: the visible pairs and counts of one time chunk.

    ``pairs.time`` and ``counts.time`` index the whole grid. Satellites that fail to propagate
    inside the chunk are excluded from it (``attrs["failed_sats"]``), with a
    :class:`~orbitlat.errors.PropagationWarning` naming the chunk.
    """
    k0, k1 = ch.k0, ch.k0 + len(ch.utc)
    if sh.positions is not None:
        P = np.asarray(sh.positions.values[k0:k1], dtype=np.float64)
        valid = sh.valid
    else:  # in calls of prop_chunk steps from the chunk's start, the calls one iter_visible run makes
        c = sh.constellation
        n_sat = c.size
        Ps, valid = [], np.ones(n_sat, bool)
        for a in range(0, k1 - k0, sh.prop_chunk):
            utc = ch.utc[a:a + sh.prop_chunk]
            e = _propagate_quiet(c, TimeGrid(utc), velocity=False, backend=sh.backend,
                                 workers=None if (sh.here and utc.size * n_sat >= 400_000) else 1)
            Ps.append(e["position"].values)
            valid &= ~np.asarray(e["failed"].values, dtype=bool)
        P = Ps[0] if len(Ps) == 1 else np.concatenate(Ps)
        if not valid.all():
            warnings.warn(
                f"{int((~valid).sum())} of {n_sat} satellites failed to propagate between {ch.utc[0]} and "
                f"{ch.utc[-1]}; they are excluded from that chunk (VisibleSets.attrs['failed_sats']).",
                PropagationWarning, stacklevel=2)
    df, counts = _pairs_block(P, sh.index, valid, sh.rule, sh.rng_lim, k0)
    attrs = _vs_attrs(sh.index, sh.rule, sh.rng_lim, valid, sh.sat_names)
    return VisibleSets(df, _counts_dataset(counts, ch.utc, sh.names, attrs), attrs)


def _visible_plan(source: Any, sites: Any, times: Any, start: Any, duration: Any, step: Any, chunk: int | None,
                  min_elevation_deg: Any, rule: str, max_range_km: Any, spherical: bool, backend: str,
                  warn_epoch_days: float, runner, time_chunk: int | None, what: str, stacklevel: int):
    """(plan, time grid, site names): the visible sets of ``source`` in time chunks, validated up front."""
    from orbitlat.orbits.propagation import _check_backend
    from orbitlat.scale.plan import Plan, time_bounds

    eph, c, tg = _resolve_source(source, times, start, duration, step, what)
    index, names = _as_site_index(sites, min_elevation_deg, spherical)
    n_sat = eph.sizes["sat"] if eph is not None else c.size
    rng_lim = _check_rule(rule, max_range_km, n_sat)
    sat_names = _sat_names(eph if eph is not None else c)
    if c is not None:
        _check_backend(c, backend)
        _warn_epoch(c, tg, warn_epoch_days, stacklevel=stacklevel + 1)
    n = len(tg)
    if chunk is not None:  # iter_visible: one part per chunk, as asked
        bounds = list(range(0, n, chunk)) + [n]
    elif time_chunk is None and runner.is_local and (runner.kind == "sync" or runner.workers <= 1):
        bounds = [0, n]
    else:
        # boundaries on iter_visible's 60-step propagation calls (kepler-j2 rounds by call start)
        bounds = time_bounds(n, VISIBLE_UNIT, time_chunk, runner.workers, runner.tasks_per_worker)
    here = runner.kind == "sync" or (runner.is_local and len(bounds) == 2)
    shared = _VisShared(c, eph["position"] if eph is not None else None,
                        _valid_sats(eph) if eph is not None else None, index, names, rule, rng_lim, sat_names,
                        backend, here, VISIBLE_UNIT if chunk is None else int(chunk))
    chunks = [_VisChunk(a, tg.utc[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]
    return Plan(visible_chunk, chunks, shared, name="orbitlat-visible", drop_warning=_drop_chunk_warning), tg, names


#: Steps per propagation call of :func:`iter_visible` (its default ``chunk``): the unit of chunk boundaries.
VISIBLE_UNIT = 60


@accepts_units
def visible_sets(source: Any, sites: Any, times: Any = None, *, start: Any = None, duration: Any = None,
                 step: Any = None, min_elevation_deg: Any = None, rule: str = "elevation", max_range_km: Any = None,
                 spherical: bool = False, backend: str = "auto", warn_epoch_days: float = 14.0,
                 scheduler: Any = None, time_chunk: int | None = None, retries: int = 2) -> VisibleSets:
    """Which satellites each site sees at every time step (sparse), from an ephemeris or a constellation.

    Calls :func:`orbitlat.visibility.engine.visible_pairs` once per time step: a KD-tree
    join prunes by geometry first, so only the visible pairs are stored.

    Parameters
    ----------
    source : xarray.Dataset or Constellation
        An ephemeris from ``propagate(..., frame="ITRS")``, or a constellation, propagated here
        in chunks of 60 steps (as :func:`iter_visible`; then give ``times`` or
        ``start``/``duration``/``step``).
    sites : GroundSites or SiteIndex
    times, start, duration, step
        The time grid of a constellation.
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
    backend, warn_epoch_days
        Propagation of a constellation (see :func:`iter_visible`).
    scheduler, time_chunk, retries
        Where the time chunks run (:mod:`orbitlat.scale.runners`; default: here, in one
        chunk), steps per chunk (rounded up to a multiple of 60) and retries of a failed task.
        The pairs do not depend on it; with an explicit scheduler the result's attrs record it
        (``parallel_*``).

    Returns
    -------
    VisibleSets
        Failed satellites are excluded and counted in ``attrs["n_failed_excluded"]``
        (``attrs["failed_sats"]`` names them: with a constellation, those that failed in any
        chunk, each excluded from the chunks where it failed, as :func:`iter_visible` does).
        From a constellation the geometry is that of :func:`iter_visible` bit for bit; against
        one ephemeris of the whole span (one propagation call) the pairs are the same and
        kepler-j2's start-dependent rounding shows (measured 2e-11 relative in range).

    Examples
    --------
    >>> import orbitlat as ol
    >>> from orbitlat.visibility.engine import SiteIndex
    >>> eph = ol.presets.get("gps").propagate(start="2026-05-30", duration="1h", step="10min")
    >>> vs = visible_sets(eph, SiteIndex.from_latlon([46.5], [6.6]), min_elevation_deg=5.0)
    >>> vs.counts.n_visible.dims, list(vs.pairs.columns)
    (('time', 'site'), ['time', 'site', 'sat', 'elevation_deg', 'azimuth_deg', 'range_km'])
    """
    from orbitlat.scale.plan import check_chunk, check_retries
    from orbitlat.scale.runners import current, runner

    if isinstance(source, str):
        from orbitlat.orbits import presets

        source = presets.get(source)
    time_chunk = check_chunk(time_chunk, "time_chunk")
    retries = check_retries(retries)
    explicit = scheduler is not None or current() is not None
    with runner(scheduler, local="sync") as r:
        plan, tg, names = _visible_plan(source, sites, times, start, duration, step, None, min_elevation_deg, rule,
                                        max_range_km, spherical, backend, warn_epoch_days, r, time_chunk,
                                        "visible_sets", stacklevel=3)

        def finish(parts: list[VisibleSets]) -> VisibleSets:
            if len(parts) == 1:
                pairs, counts = parts[0].pairs, parts[0].counts["n_visible"].to_numpy()
            else:
                pairs = pd.concat([p.pairs for p in parts], ignore_index=True)
                pairs.attrs = dict(parts[0].pairs.attrs)
                counts = np.concatenate([p.counts["n_visible"].to_numpy() for p in parts])
            failed = sorted({s for p in parts for s in p.attrs.get("failed_sats", [])}) if len(parts) > 1 \
                else list(parts[0].attrs.get("failed_sats", []))
            attrs = dict(parts[0].attrs)
            attrs.update(n_failed_excluded=len(failed), failed_sats=failed)
            if explicit:
                attrs.update(parallel_scheduler=r.label, parallel_time_chunk=int(len(plan.chunks[0].utc)),
                             parallel_tasks=len(parts))
            return VisibleSets(pairs, _counts_dataset(counts, tg.utc, names, attrs), attrs)

        plan.finish = finish
        return r.run(plan, retries)


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
                 warn_epoch_days: float = 14.0, scheduler: Any = None, retries: int = 2) -> Iterator[VisibleSets]:
    """Stream visible sets chunk by chunk, propagating only ``chunk`` time steps at a time.

    Memory stays bounded by one chunk's ephemeris and pairs (times the chunks in flight on a
    scheduler), so spans of weeks at fine steps work. Concatenating the chunks gives exactly
    what :func:`visible_sets` returns for the whole ephemeris.

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
    scheduler, retries
        Where the chunks are computed (:mod:`orbitlat.scale.runners`; default: here, each
        when it is asked for); they are yielded in order either way, with at most two per
        worker in flight.

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
    from orbitlat.scale.plan import check_retries
    from orbitlat.scale.runners import _resolve

    if not isinstance(chunk, (int, np.integer)) or isinstance(chunk, bool) or chunk < 1:
        raise OrbitlatError(f"chunk must be a positive number of time steps; got {chunk!r}.")
    retries = check_retries(retries)
    r = _resolve(scheduler, "sync")  # checked now; a client it opens is closed when the iteration ends
    try:
        plan, _, _ = _visible_plan(source, sites, times, start, duration, step, int(chunk), min_elevation_deg, rule,
                                   max_range_km, spherical, backend, warn_epoch_days, r, None, "iter_visible",
                                   stacklevel=3)
    except BaseException:
        r.close()
        raise

    def gen() -> Iterator[VisibleSets]:
        try:
            yield from r.iterate(plan, retries)
        finally:
            r.close()

    return gen()
