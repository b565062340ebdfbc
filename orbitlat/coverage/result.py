"""The coverage result: :class:`CoverageResult` (an xarray Dataset of figures of merit per point, with
area- and population-weighted summaries, by-latitude profiles) and the Dataset builder shared by the
single-process and Dask paths.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.ground.grids import Grid, weighted_mean, weighted_quantile
from orbitlat.coverage.figures import FIGURES_OF_MERIT, GAP_CONVENTION
from orbitlat.units import accepts_units

__all__ = ["CoverageResult"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# the result
# ---------------------------------------------------------------------------
@dataclass
class CoverageResult:
    """Coverage figures of merit on a grid; see the module docs.

    Attributes
    ----------
    ds : xarray.Dataset
        One variable per figure of merit over ``point`` (with ``units`` attrs),
        plus per-step area-weighted series over ``time``.
    grid : Grid
    """

    ds: xr.Dataset
    grid: Grid
    timings: dict = field(default_factory=dict, repr=False)

    @property
    def foms(self) -> list[str]:
        return [k for k in FIGURES_OF_MERIT if k in self.ds]

    def _values(self, name: str) -> np.ndarray:
        return self.ds[name].to_numpy().astype(np.float64)

    def area_weighted(self) -> pd.Series:
        """Area-weighted mean of every figure of merit over the grid (:func:`~orbitlat.ground.grids.weighted_mean`)."""
        w = self.grid.area_km2
        return pd.Series({f: weighted_mean(self._values(f), w) for f in self.foms}, name="area_mean")

    def population_weighted(self) -> pd.Series:
        """Population-weighted mean of every figure of merit (needs a grid with population).

        Raises :class:`~orbitlat.errors.OrbitlatError` if the grid has no people;
        attach them with :meth:`orbitlat.ground.grids.Grid.with_population`.
        """
        pop = self.grid.population
        if pop is None or not pop.sum() > 0:
            raise OrbitlatError(
                f"grid {self.grid.name!r} has no population; build it with grid.with_population() "
                "(GeoNames cities) or Grid.cities() before calling coverage()."
            )
        return pd.Series({f: weighted_mean(self._values(f), pop) for f in self.foms}, name="population_weighted")

    def summary(self, percentiles=(5, 50, 95)) -> pd.DataFrame:
        """One row per figure of merit: units, area-weighted mean, min, percentiles, max, population-weighted.

        Percentiles are area-weighted (the value below which that share of the
        grid's *area* lies).
        """
        w = self.grid.area_km2
        rows = {}
        pw = None
        if self.grid.population is not None and self.grid.population.sum() > 0:
            pw = self.population_weighted()
        for f in self.foms:
            v = self._values(f)
            row = {"units": FIGURES_OF_MERIT[f][0], "area_mean": weighted_mean(v, w), "min": float(v.min())}
            qs = weighted_quantile(v, w, np.asarray(percentiles, dtype=np.float64) / 100.0)
            for p, q in zip(percentiles, np.atleast_1d(qs)):
                row[f"p{p:g}"] = float(q)
            row["max"] = float(v.max())
            if pw is not None:
                row["population_weighted"] = float(pw[f])
            rows[f] = row
        df = pd.DataFrame.from_dict(rows, orient="index")
        df.index.name = "figure_of_merit"
        df.attrs = {k: v for k, v in self.ds.attrs.items()}
        return df

    @accepts_units
    def by_latitude(self, band_deg: float = 10.0) -> pd.DataFrame:
        """Area-weighted mean of every figure of merit in latitude bands ``band_deg`` wide.

        Rows are bands (``lat_min``, ``lat_max``, their share of the grid's area
        and, if present, of its population); bands without points are left out.
        """
        b = float(band_deg)
        if not 0 < b <= 180:
            raise OrbitlatError(f"band_deg={band_deg!r} must be in (0, 180] degrees.")
        edges = np.arange(-90.0, 90.0 + b * 0.5, b)
        if edges[-1] < 90.0:
            edges = np.append(edges, 90.0)
        edges[-1] = 90.0
        lat = self.grid.lat_deg
        band = np.clip(np.searchsorted(edges, lat, side="right") - 1, 0, edges.size - 2)
        a = self.grid.area_km2
        nb = edges.size - 1
        asum = np.bincount(band, weights=a, minlength=nb)
        out = {"lat_min": edges[:-1], "lat_max": edges[1:], "area_share": asum / a.sum()}
        if self.grid.population is not None and self.grid.population.sum() > 0:
            out["population_share"] = np.bincount(band, weights=self.grid.population, minlength=nb) / \
                self.grid.population.sum()
        for f in self.foms:
            v = self._values(f)
            out[f] = np.array([weighted_mean(v[band == b], a[band == b]) if asum[b] > 0 else np.nan
                               for b in range(nb)])
        df = pd.DataFrame(out)
        df.index = [f"{lo:g}..{hi:g}" for lo, hi in zip(edges[:-1], edges[1:])]
        df.index.name = "lat_band_deg"
        return df[asum > 0]

    def __repr__(self) -> str:
        a = self.ds.attrs
        return (f"<CoverageResult {a.get('constellation')!r} on {a.get('grid')!r}: {self.grid.size} points x "
                f"{self.ds.sizes.get('time', 0)} steps, mask {a.get('min_elevation_deg')}°, mode {a.get('mode')}>")

def _coverage_dataset(grid: Grid, tg, foms: dict, t_mean, t_cov1, t_covk, identity, series, *, name: str,
                      n_sat: int, n_failed: int, source_attrs: Mapping[str, Any], mask: float, k: int, mode: str,
                      engine_name: str, R: float, span: float, chunk_steps, extra: Mapping[str, Any] | None = None
                      ) -> xr.Dataset:
    """The coverage Dataset (coords, one variable per figure of merit, attrs); shared with orbitlat.scale."""
    coords = {
        "point": np.arange(grid.size),
        "lat_deg": ("point", grid.lat_deg, {"units": "degree", "long_name": "latitude"}),
        "lon_deg": ("point", grid.lon_deg, {"units": "degree", "long_name": "longitude"}),
        "area_km2": ("point", grid.area_km2, {"units": "km2", "long_name": "area represented by the point"}),
        "time": tg.utc,
    }
    if grid.population is not None:
        coords["population"] = ("point", grid.population, {"units": "people"})
    data = {}
    for f, v in foms.items():
        units, desc = FIGURES_OF_MERIT[f]
        a = {"units": units, "long_name": desc}
        if f == "covered_fraction_k":
            a["k"] = int(k)
        data[f] = ("point", v, a)
    # shares of the area: kept in [0, 1] (a sum of n weights 1/n can round a hair above 1)
    t_cov1 = np.clip(t_cov1, 0.0, 1.0)
    t_covk = np.clip(t_covk, 0.0, 1.0)
    data["area_mean_n_visible"] = ("time", t_mean, {"units": "count",
                                                    "long_name": "area-weighted mean number in view"})
    data["area_covered_fraction"] = ("time", t_cov1, {"units": "1",
                                                      "long_name": "share of the grid's area with >= 1 in view"})
    data["area_covered_fraction_k"] = ("time", t_covk, {"units": "1", "k": int(k),
                                                        "long_name": "share of the grid's area with >= k in view"})
    data["identity_mean_n_visible"] = ("time", identity, {
        "units": "count", "long_name": "sum over satellites of (1 - cos lambda)/2: the exact global mean "
                                       "number in view on a spherical Earth (docs/references.md)"})
    if series is not None:
        data["n_visible"] = (("time", "point"), series, {"units": "count", "long_name": "satellites in view"})
    attrs = {
        "constellation": name,
        "n_sats": int(n_sat),
        "n_failed": int(n_failed),
        "grid": grid.name,
        "grid_kind": grid.kind,
        "n_points": int(grid.size),
        "min_elevation_deg": float(mask),
        "k": int(k),
        "mode": mode,
        "engine": engine_name,
        "earth_model": (f"sphere R={R:g} km" if mode == "fast" else "WGS84 ellipsoid"),
        "step_s": float(tg.step_s),
        "span_s": span,
        "start": str(tg.utc[0]),
        "end": str(tg.utc[-1]),
        "gap_convention": GAP_CONVENTION,
        "chunk_steps": chunk_steps,
        **{f"source_{k_}": v for k_, v in source_attrs.items()},
        **(extra or {}),
    }
    return xr.Dataset(data, coords=coords, attrs=attrs)
