"""Values at places on a map: coverage figures of merit over a grid or cities, and RTTs per city to a
data centre (latency maps).
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.viz.basemap import (LAND_COLOR, _background, _cartopy, _central_lon, _colorbar, _finish, _label, _legend_entry,
                                  _map_axes, add_coastlines)
from orbitlat.viz.seams import _as_float
from orbitlat.units import accepts_units

__all__ = ["coverage_map", "latency_map"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def _values_and_points(values, lat_deg, lon_deg, sites, var):
    """(values, lat, lon, label, units, name) from the accepted inputs."""
    label, units, name = None, None, None
    if hasattr(values, "ds") and hasattr(values.ds, "data_vars"):  # CoverageResult
        ds = values.ds
        if var is None:
            var = "covered_fraction" if "covered_fraction" in ds else next(iter(ds.data_vars))
        if var not in ds:
            raise OrbitlatError(f"{var!r} is not in the result; available: {', '.join(ds.data_vars)}.")
        values = ds[var]
    elif var is not None:
        raise OrbitlatError("var= picks a figure of merit from a CoverageResult; pass the values directly otherwise.")
    if hasattr(values, "dims") and hasattr(values, "attrs"):  # DataArray
        da = values
        name = None if da.name is None else str(da.name)
        label = str(da.attrs.get("long_name", da.name or "value"))
        units = da.attrs.get("units")
        if lat_deg is None and sites is None:
            for a, b in (("lat_deg", "lon_deg"), ("lat", "lon"), ("latitude", "longitude")):
                if a in da.coords and b in da.coords:
                    lat_deg, lon_deg = da[a].values, da[b].values
                    break
        values = da.values
    if sites is not None:
        if lat_deg is not None or lon_deg is not None:
            raise OrbitlatError("give either sites= or lat_deg/lon_deg, not both.")
        lat_deg, lon_deg = sites.lat_deg, sites.lon_deg
    if lat_deg is None or lon_deg is None:
        raise OrbitlatError(
            "where are the values? pass lat_deg and lon_deg, sites=GroundSites, or a DataArray/CoverageResult "
            "with lat_deg/lon_deg coordinates."
        )
    v = _as_float(values, "1", "values") if not hasattr(values, "unit") else np.asarray(values.value, float)
    lat = _as_float(lat_deg, "deg", "lat_deg")
    lon = _as_float(lon_deg, "deg", "lon_deg")
    return v, lat, lon, label, units, name


#: Short colour-bar labels of the coverage figures of merit (the long descriptions are in
#: orbitlat.coverage.figures.FIGURES_OF_MERIT and in the Dataset's long_name attributes).
SHORT_LABELS = {
    "n_visible_min": "fewest satellites in view", "n_visible_mean": "mean satellites in view",
    "n_visible_max": "most satellites in view", "n_visible": "satellites in view",
    "covered_fraction": "time with ≥ 1 in view", "covered_fraction_k": "time with ≥ k in view",
    "gap_count": "coverage gaps", "gap_max_s": "longest gap", "gap_mean_s": "mean gap",
    "time_avg_gap_s": "time-average gap", "response_time_mean_s": "mean response time",
}
#: Figures of merit that are whole numbers (integer colour-bar ticks).
_INTEGER_VARS = {"n_visible_min", "n_visible_max", "gap_count", "n_visible"}


def _display_scale(v, units, name):
    """(factor, units shown) for a colour scale: hours for gaps of hours, % for fractions."""
    from orbitlat.viz.layout import readable_units

    if units in ("s", "seconds"):
        return readable_units(v, "s")
    if units in ("1", None, "") and name is not None and "fraction" in name:
        return 100.0, "%"
    return 1.0, units


def _sizes_legend(ax, population, size_fn, *, n: int):
    """Legend entries showing marker area for a few round populations (below the map)."""
    from matplotlib.lines import Line2D

    pop = np.asarray(population, dtype=np.float64)
    pop = pop[np.isfinite(pop) & (pop > 0)]
    if pop.size == 0:
        return
    ref = [p for p in (1e5, 3e5, 1e6, 3e6, 1e7, 3e7) if pop.min() * 0.5 <= p <= pop.max()]
    if len(ref) > 3:
        ref = [ref[0], ref[len(ref) // 2], ref[-1]]
    if not ref:
        ref = [float(pop.max())]
    areas = size_fn(np.asarray(ref))
    for p, a in zip(ref, areas):
        text = f"{p / 1e6:g} M people" if p >= 1e6 else f"{p / 1e3:g} k people"
        _legend_entry(ax, Line2D([], [], marker="o", linestyle="none", markersize=float(np.sqrt(a)),
                                 markerfacecolor="none", markeredgecolor="0.3", markeredgewidth=0.8), text)

def _sizes(size, n, population):
    if size is None:
        return np.full(n, 20.0)
    if isinstance(size, str):
        if size != "population":
            raise OrbitlatError(f"size={size!r}: use 'population', a number, or one marker area per point.")
        if population is None or not np.isfinite(population).any():
            raise OrbitlatError("size='population' needs sites with a population column (e.g. GroundSites.cities()).")
        pop = np.where(np.isfinite(population), population, 0.0)
        return _population_area(pop, pop.max())
    s = np.broadcast_to(_as_float(size, "1", "size"), (n,)).astype(float)
    if np.any(~np.isfinite(s)) or np.any(s < 0):
        raise OrbitlatError("marker sizes must be finite and >= 0 (points^2).")
    return s

def _population_area(pop, pop_max):
    """Marker area (points²) for a population: 10 + 140·sqrt(pop / largest population)."""
    return 10.0 + 140.0 * np.sqrt(np.asarray(pop, dtype=np.float64) / max(float(pop_max), 1.0))


def _sphere_triangles(lat, lon):
    """Spherical Delaunay triangles (convex hull of unit vectors), outward-facing, without long bridges."""
    from scipy.spatial import ConvexHull

    phi, lam = np.radians(lat), np.radians(lon)
    u = np.column_stack([np.cos(phi) * np.cos(lam), np.cos(phi) * np.sin(lam), np.sin(phi)])
    hull = ConvexHull(u)
    tri = hull.simplices
    c = u[tri].mean(axis=1)
    n = hull.equations[:, :3]
    tri = tri[np.einsum("ij,ij->i", n, c) > 0]  # drop the lid of a regional grid
    e = np.stack([np.linalg.norm(u[tri[:, a]] - u[tri[:, b]], axis=1) for a, b in ((0, 1), (1, 2), (2, 0))], 1)
    longest = e.max(axis=1)
    return tri[longest <= 3.0 * np.median(longest)]

@accepts_units
def coverage_map(values: Any, lat_deg: Any = None, lon_deg: Any = None, *, sites=None, var: str | None = None,
                 method: str = "auto", size: Any = None, ax=None, projection: Any = None,
                 extent: Sequence[float] | None = None, cmap: str = "viridis", vmin: float | None = None,
                 vmax: float | None = None, label: str | None = None, colorbar: bool = True,
                 coastlines: bool = True, borders: bool = False, land_color: Any = "auto", gridlines: bool = True,
                 legend: bool = True, figsize: tuple[float, float] | None = None, title: str | None = None):
    """Coverage heat map over grid points, a regular lat/lon grid, or cities.

    Parameters
    ----------
    values : array_like, xarray.DataArray or CoverageResult
        - 1-D values at points ``(lat_deg[i], lon_deg[i])``;
        - 2-D values ``(n_lat, n_lon)`` on a regular grid with 1-D ``lat_deg``
          and ``lon_deg`` (cell centres) -> pcolormesh;
        - a DataArray with ``lat_deg``/``lon_deg`` coordinates (e.g.
          ``result.ds.covered_fraction``);
        - a :class:`orbitlat.coverage.CoverageResult` (``var`` picks the
          figure of merit; default ``covered_fraction``).
    lat_deg, lon_deg : array_like, optional
        Point or grid coordinates, degrees.
    sites : GroundSites, optional
        Cities/sites the values belong to (instead of lat/lon).
    var : str, optional
        Figure of merit of a CoverageResult.
    method : {'auto', 'scatter', 'tripcolor', 'pcolormesh'}
        ``auto``: pcolormesh for 2-D values, scatter for sites or fewer than
        2,000 points, tripcolor (smooth, spherical Delaunay triangles) for
        more. Triangles across the map seam or a pole are left out (a gap of
        at most one grid cell there).
    size : 'population', float or array_like, optional
        Scatter marker areas (points²); ``'population'`` scales with the
        square root of ``sites.population``.
    ax, projection, extent
        As :func:`base_map`.
    cmap, vmin, vmax
        Colour scale (``vmin``/``vmax`` in the values' own units).
    label : str, optional
        Colour bar label; default a short name of the figure of merit
        (:data:`SHORT_LABELS`, else the DataArray's ``long_name``) with its units.
        Times are shown in a readable unit (minutes beyond 2 min, hours beyond
        2 h: a gap of hours reads in hours), fractions in %.
    colorbar : bool
    coastlines, borders, figsize, title
        As :func:`base_map`.
    land_color : matplotlib colour, None or 'auto'
        Land fill; ``'auto'`` fills land under scattered points only (a raster
        covers it anyway).
    gridlines : bool
        Labelled graticule.
    legend : bool
        With ``size='population'``: marker sizes for a few round populations.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OrbitlatError
        Mismatched shapes, unknown ``method``, no coordinates.

    Examples
    --------
    >>> import numpy as np
    >>> lat, lon = np.meshgrid(np.arange(-85.0, 90.0, 10.0), np.arange(-175.0, 180.0, 10.0), indexing="ij")
    >>> fig = coverage_map(np.cos(np.radians(lat)).ravel(), lat.ravel(), lon.ravel(), label="cos(lat)")
    >>> fig.axes[1].get_ylabel()
    'cos(lat)'
    """
    ccrs = _cartopy()
    v, lat, lon, da_label, units, name = _values_and_points(values, lat_deg, lon_deg, sites, var)
    factor, shown_units = _display_scale(v, units, name)
    if factor != 1.0:
        v = v * factor
        vmin = None if vmin is None else vmin * factor
        vmax = None if vmax is None else vmax * factor
    if method not in ("auto", "scatter", "tripcolor", "pcolormesh"):
        raise OrbitlatError(f"method={method!r} is not valid; use 'auto', 'scatter', 'tripcolor' or 'pcolormesh'.")
    grid2d = v.ndim == 2
    if method == "auto":
        method = "pcolormesh" if grid2d else ("scatter" if sites is not None or v.size < 2000 else "tripcolor")
    if method == "pcolormesh":
        if not (grid2d and lat.ndim == 1 and lon.ndim == 1 and v.shape == (lat.size, lon.size)):
            raise OrbitlatError(
                f"pcolormesh needs 2-D values (n_lat, n_lon) with 1-D lat_deg (n_lat) and lon_deg (n_lon); got "
                f"values {v.shape}, lat {lat.shape}, lon {lon.shape}."
            )
    else:
        if grid2d and lat.ndim == 1 and lon.ndim == 1 and v.shape == (lat.size, lon.size):
            lon, lat = np.meshgrid(lon, lat)
        v, lat, lon = v.ravel(), lat.ravel(), lon.ravel()
        if not (v.size == lat.size == lon.size):
            raise OrbitlatError(f"values ({v.size}), lat_deg ({lat.size}) and lon_deg ({lon.size}) must match.")
        if v.size == 0:
            raise OrbitlatError("no points to draw.")
    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=colorbar)
    if land_color == "auto":
        land_color = LAND_COLOR if method == "scatter" else None
    _background(ax, coastlines=False, borders=False, land_color=land_color, zorder=0.9)
    fin = np.isfinite(v)
    lo = vmin if vmin is not None else (float(np.nanmin(v)) if fin.any() else 0.0)
    hi = vmax if vmax is not None else (float(np.nanmax(v)) if fin.any() else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    if method == "pcolormesh":
        m = ax.pcolormesh(lon, lat, np.ma.masked_invalid(v), cmap=cmap, vmin=lo, vmax=hi, shading="nearest",
                          transform=ccrs.PlateCarree(), zorder=1)
    elif method == "scatter":
        pop = sites.population if sites is not None else None
        s = _sizes(size, v.size, pop)
        m = ax.scatter(lon[fin], lat[fin], c=v[fin], s=s[fin], cmap=cmap, vmin=lo, vmax=hi, zorder=3,
                       transform=ccrs.PlateCarree(), edgecolors="black" if sites is not None else "none",
                       linewidths=0.3)
        if legend and isinstance(size, str) and size == "population":
            pm = float(np.nanmax(np.where(np.isfinite(pop), pop, 0.0)))
            _sizes_legend(ax, pop, lambda p: _population_area(p, pm), n=3)
        if (~fin).any():
            h = ax.scatter(lon[~fin], lat[~fin], s=s[~fin], facecolors="none", edgecolors="0.4", linewidths=0.6,
                           zorder=3, transform=ccrs.PlateCarree())
            _legend_entry(ax, h, f"no value ({int((~fin).sum())})")
    else:
        tri = _sphere_triangles(lat, lon)
        pts = ax.projection.transform_points(ccrs.PlateCarree(), lon, lat)
        x, y = pts[:, 0], pts[:, 1]
        rel = np.mod(lon - _central_lon(ax.projection) + 180.0, 360.0) - 180.0
        span = rel[tri].max(axis=1) - rel[tri].min(axis=1)
        good = (span < 180.0) & np.all(np.isfinite(x[tri]) & np.isfinite(y[tri]), axis=1)
        good &= np.all(fin[tri], axis=1)
        x = np.where(np.isfinite(x), x, 0.0)
        y = np.where(np.isfinite(y), y, 0.0)
        m = ax.tripcolor(x, y, tri[good], np.where(fin, v, lo), cmap=cmap, vmin=lo, vmax=hi, shading="gouraud",
                         zorder=1, transform=ax.transData)
    if coastlines:
        add_coastlines(ax, borders=borders, zorder=2.5)
    if colorbar:
        short = SHORT_LABELS.get(name, da_label) if name is not None else da_label
        text = label if label is not None else (
            f"{short} ({shown_units})" if short and shown_units not in (None, "1", "", "count") else (short or "value"))
        _colorbar(fig, ax, m, created, text, integer=name in _INTEGER_VARS)
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig

def _datacenter_sites(datacenter):
    from orbitlat.ground.sites import GroundSites

    if datacenter is None:
        return None
    if isinstance(datacenter, GroundSites):
        return datacenter
    if isinstance(datacenter, str):
        return GroundSites.datacenter(datacenter)
    if isinstance(datacenter, (tuple, list)) and len(datacenter) in (2, 3):
        name = str(datacenter[2]) if len(datacenter) == 3 else "data centre"
        return GroundSites([name], [datacenter[0]], [datacenter[1]], kind="datacenter")
    raise OrbitlatError(
        f"datacenter must be GroundSites, a name known to GroundSites.datacenter (e.g. 'stargate'), or "
        f"(lat, lon[, name]); got {type(datacenter).__name__}."
    )

@accepts_units
def latency_map(sites, rtt_ms: Any, *, datacenter: Any = None, reduce: str = "median", ax=None,
                projection: Any = None, extent: Sequence[float] | None = None, cmap: str = "plasma",
                vmin: float | None = None, vmax: float | None = None, size: Any = "auto",
                annotate: int = 0, dc_color: Any = "red", colorbar: bool = True, coastlines: bool = True,
                borders: bool = False, land_color: Any = LAND_COLOR, gridlines: bool = True, legend: bool = True,
                figsize: tuple[float, float] | None = None, title: str | None = None):
    """Round-trip time per city on a colour scale, with the data centre(s) marked.

    Parameters
    ----------
    sites : GroundSites
        The users (cities).
    rtt_ms : array_like (n_sites,), Quantity, or xarray.DataArray
        RTT per site, ms. A DataArray may carry a ``time`` dimension (reduced
        with ``reduce``) and length-1 dimensions (e.g. ``dst``), which are
        dropped; its site dimension must have ``len(sites)`` entries.
        NaN (no path) is drawn as a hollow grey marker and counted in the legend.
    datacenter : GroundSites, str, or (lat, lon[, name]), optional
        Marked with a star and labelled; a string is looked up with
        :meth:`orbitlat.ground.sites.GroundSites.datacenter`.
    reduce : {'median', 'mean', 'max', 'min', 'p95'}
        Statistic over ``time`` for a DataArray with a time dimension.
    ax, projection, extent
        As :func:`base_map`.
    cmap, vmin, vmax
        Colour scale (ms).
    size : 'auto', 'population', float or array_like
        Marker areas; ``'auto'`` scales by population when the sites have it.
    annotate : int
        Write the name and RTT next to the ``annotate`` most populous (or first)
        sites; labels never overlap (one that finds no free place is left out and
        counted in a note).
    dc_color : matplotlib colour
        Colour of the data-centre star.
    colorbar : bool
        Colour bar labelled "RTT (ms)".
    coastlines, borders, land_color, gridlines, figsize, title
        As :func:`base_map`.
    legend : bool
        Legend below the map: data centre, sites without a path and, when marker
        area shows population, the areas of a few round populations.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> from orbitlat.ground import GroundSites
    >>> cities = GroundSites(["London", "Lagos", "Lima"], [51.51, 6.45, -12.05], [-0.13, 3.40, -77.04])
    >>> fig = latency_map(cities, [20.0, 75.0, np.nan], datacenter=(53.35, -6.26, "Dublin"))
    >>> fig.axes[1].get_ylabel()
    'RTT (ms)'
    """
    from orbitlat.ground.sites import GroundSites

    ccrs = _cartopy()
    if not isinstance(sites, GroundSites):
        raise OrbitlatError(f"sites must be GroundSites (e.g. GroundSites.cities(top=20)); got {type(sites).__name__}.")
    n = len(sites)
    units = "ms"
    if hasattr(rtt_ms, "dims") and hasattr(rtt_ms, "values"):
        da = rtt_ms
        if "time" in da.dims:
            ops = {"median": lambda a: a.median("time"), "mean": lambda a: a.mean("time"),
                   "max": lambda a: a.max("time"), "min": lambda a: a.min("time"),
                   # Hazen positions: orbitlat.stats.weighted_quantile's definition with equal weights
                   "p95": lambda a: a.reduce(np.nanquantile, dim="time", q=0.95, method="hazen")}
            if reduce not in ops:
                raise OrbitlatError(f"reduce={reduce!r} is not valid; use one of {', '.join(ops)}.")
            da = ops[reduce](da)
        da = da.squeeze(drop=True)
        units = str(da.attrs.get("units", rtt_ms.attrs.get("units", "ms")))
        if da.ndim != 1:
            raise OrbitlatError(
                f"rtt_ms has dims {da.dims} after dropping length-1 dims; select one destination first, "
                "e.g. result.rtt.rtt_ms.sel(dst='...')."
            )
        v = np.asarray(da.values, dtype=np.float64)
    else:
        v = np.atleast_1d(_as_float(rtt_ms, "ms", "rtt_ms")).astype(np.float64)
    if v.shape != (n,):
        raise OrbitlatError(f"rtt_ms needs one value per site ({n}); got shape {v.shape}.")
    from matplotlib.lines import Line2D

    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=colorbar)
    _background(ax, coastlines=coastlines, borders=borders, land_color=land_color)
    pop = sites.population
    if isinstance(size, str) and size == "auto":
        size = "population" if np.isfinite(pop).any() else None
    s = _sizes(size, n, pop)
    fin = np.isfinite(v)
    lo = vmin if vmin is not None else (float(np.nanmin(v)) if fin.any() else 0.0)
    hi = vmax if vmax is not None else (float(np.nanmax(v)) if fin.any() else 1.0)
    if hi <= lo:
        hi = lo + 1.0
    lat, lon = sites.lat_deg, sites.lon_deg
    m = ax.scatter(lon[fin], lat[fin], c=v[fin], s=s[fin], cmap=cmap, vmin=lo, vmax=hi, edgecolors="black",
                   linewidths=0.4, zorder=4, transform=ccrs.PlateCarree())
    dc = _datacenter_sites(datacenter)
    if dc is not None:
        ax.scatter(dc.lon_deg, dc.lat_deg, marker="*", s=220, color=dc_color, edgecolors="black",
                   linewidths=0.6, zorder=6, transform=ccrs.PlateCarree())
        if legend:
            _legend_entry(ax, Line2D([], [], marker="*", linestyle="none", markersize=11, color=dc_color,
                                     markeredgecolor="black", markeredgewidth=0.6),
                          "data centre" if len(dc) == 1 else f"data centres ({len(dc)})")
        for name, la, lo_ in zip(dc.names, dc.lat_deg, dc.lon_deg):
            _label(ax, lo_, la, str(name), priority=-1.0, fontsize=7, fontweight="bold")
    if (~fin).any():
        h = ax.scatter(lon[~fin], lat[~fin], s=s[~fin], facecolors="none", edgecolors="0.35", linewidths=0.8,
                       zorder=4, transform=ccrs.PlateCarree())
        if legend:
            _legend_entry(ax, h, f"no path ({int((~fin).sum())})")
    if legend and isinstance(size, str) and size == "population":
        pm = float(np.nanmax(np.where(np.isfinite(pop), pop, 0.0)))
        _sizes_legend(ax, pop, lambda p: _population_area(p, pm), n=3)
    if annotate:
        order = np.argsort(-np.nan_to_num(pop, nan=-1.0), kind="stable")[: int(annotate)]
        for rank, i in enumerate(order):
            text = f"{v[i]:.0f}" if fin[i] else "–"
            _label(ax, lon[i], lat[i], f"{sites.names[i]} {text}", priority=float(rank))
    if colorbar:
        _colorbar(fig, ax, m, created, f"RTT ({units})")
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig
