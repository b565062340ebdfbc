"""Routed paths on a map: ground sites and satellites of a path as great-circle legs, and terrestrial
routes (submarine cables, land links, access) beside them.
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.viz.basemap import LAND_COLOR, _background, _cartopy, _finish, _label, _legend_entry, _map_axes
from orbitlat.viz.seams import _as_float

__all__ = ["path_map"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_SAT_KINDS = {"satellite", "sat", "space", "orbital_datacenter", "odc"}

_GROUND_MARKERS = {"datacenter": "*", "gateway": "^", "user": "o", "pop": "s"}

def _path_nodes(path, kinds, names):
    """(lat, lon, kind, name, alt) arrays from the accepted path inputs."""
    from orbitlat.ground.geodesy import itrs_to_geodetic

    alt = None
    if hasattr(path, "columns"):  # DataFrame
        cols = {c.lower(): c for c in path.columns}
        la = cols.get("lat_deg", cols.get("lat"))
        lo = cols.get("lon_deg", cols.get("lon"))
        if la is None or lo is None:
            raise OrbitlatError(f"a path DataFrame needs lat_deg and lon_deg columns; got {list(path.columns)}.")
        lat, lon = path[la].to_numpy(float), path[lo].to_numpy(float)
        if kinds is None and "kind" in cols:
            kinds = path[cols["kind"]].astype(str).tolist()
        if names is None and "name" in cols:
            names = path[cols["name"]].astype(str).tolist()
        if "alt_km" in cols:
            alt = path[cols["alt_km"]].to_numpy(float)
    else:
        arr = np.asarray(path, dtype=object)
        numeric = arr.ndim == 2 and arr.shape[1] == 3 and all(
            isinstance(x, (int, float, np.integer, np.floating)) for x in arr.ravel())
        if numeric:  # ITRS positions, km
            xyz = np.asarray(path, dtype=np.float64)
            lat, lon, alt = itrs_to_geodetic(xyz)
            lat, lon, alt = np.atleast_1d(lat), np.atleast_1d(lon), np.atleast_1d(alt)
            if kinds is None:
                kinds = ["satellite" if a > 100.0 else "ground" for a in alt]
        else:
            rows = list(path)
            if not rows or not all(isinstance(r, (tuple, list)) and len(r) in (3, 4) for r in rows):
                raise OrbitlatError(
                    "path must be a sequence of (lat, lon, kind) or (lat, lon, kind, name) tuples, a DataFrame "
                    "with lat_deg/lon_deg/kind, or ITRS positions (n, 3) km."
                )
            lat = _as_float([r[0] for r in rows], "deg", "path latitude")
            lon = _as_float([r[1] for r in rows], "deg", "path longitude")
            if kinds is None:
                kinds = [str(r[2]) for r in rows]
            if names is None and any(len(r) == 4 for r in rows):
                names = [str(r[3]) if len(r) == 4 else "" for r in rows]
    n = lat.size
    if n < 2:
        raise OrbitlatError(f"a path needs at least 2 nodes; got {n}.")
    if kinds is None or len(kinds) != n:
        raise OrbitlatError(f"give one kind per node ({n}); got {None if kinds is None else len(kinds)}.")
    from orbitlat.ground.geodesy import _check_lat

    _check_lat(lat, "path latitude")
    if not (np.all(np.isfinite(lat)) and np.all(np.isfinite(lon))):
        raise OrbitlatError("path node positions must be finite.")
    kinds = [str(k).strip().lower() for k in kinds]
    if names is not None and len(names) != n:
        raise OrbitlatError(f"give one name per node ({n}); got {len(names)}.")
    return lat, lon, kinds, names, alt

_TERRESTRIAL_STYLES = {"submarine": "#008b8b", "land": "#8b4513", "access": "0.55"}
_TERRESTRIAL_LINES = {"submarine": "-", "land": "--", "access": ":", "great circle": "--"}


def _is_route(x) -> bool:
    return all(hasattr(x, a) for a in ("leg_kind", "lat_deg", "lon_deg", "names", "cables"))


def _terrestrial_routes(terrestrial) -> list:
    if terrestrial is None:
        return []
    items = [terrestrial] if _is_route(terrestrial) else list(terrestrial)
    bad = [type(x).__name__ for x in items if not _is_route(x)]
    if bad:
        raise OrbitlatError(f"terrestrial= takes TerrestrialRoute objects (model.route(...)); got {', '.join(bad)}.")
    return items


def _draw_route(ax, ccrs, r, styles, linewidth) -> None:
    """One terrestrial route: legs by kind along great circles, hubs as small squares."""
    lat, lon = np.asarray(r.lat_deg, float), np.asarray(r.lon_deg, float)
    for i, k in enumerate(r.leg_kind):
        key = "land" if k == "great circle" else k
        ax.plot([lon[i], lon[i + 1]], [lat[i], lat[i + 1]], color=styles.get(key, "0.45"),
                linewidth=linewidth, linestyle=_TERRESTRIAL_LINES.get(k, "--"), transform=ccrs.Geodetic(), zorder=2)
    if lat.size > 2:
        ax.scatter(lon[1:-1], lat[1:-1], marker="s", s=10, color=styles.get("land", "0.3"), zorder=3,
                   transform=ccrs.PlateCarree(), edgecolors="none")


def path_map(path: Any, *, kinds: Sequence[str] | None = None, names: Sequence[str] | None = None, ax=None,
             projection: Any = None, extent: Sequence[float] | None = None, ground_color: Any = "black",
             satellite_color: Any = "tab:blue", leg_colors: dict | None = None, linewidth: float = 1.6,
             label_ends: bool = True, coastlines: bool = True, borders: bool = False,
             land_color: Any = LAND_COLOR, gridlines: bool = True, legend: bool = True,
             figsize: tuple[float, float] | None = None, title: str | None = None, terrestrial: Any = None):
    """A routed path drawn over the map as great-circle legs.

    Each leg between consecutive nodes is drawn as the great circle between
    their ground positions (satellites at their sub-satellite points) with
    cartopy's ``Geodetic`` transform, so legs wrap correctly across the
    seam. Leg styles: ground–satellite (GSL, orange), satellite–satellite
    (ISL, blue), ground–ground (fiber, dashed grey).

    Parameters
    ----------
    path : sequence, DataFrame or array_like (n, 3)
        - ``[(lat, lon, kind), ...]`` or ``(lat, lon, kind, name)`` tuples,
          degrees; ``kind`` is ``'satellite'`` (also ``'sat'``, ``'space'``,
          ``'orbital_datacenter'``) or a ground kind (``'user'``,
          ``'gateway'``, ``'datacenter'``, anything else = ground);
        - a DataFrame with ``lat_deg``, ``lon_deg``, ``kind`` (and ``name``);
        - ITRS node positions, km, shape (n, 3): nodes above 100 km are
          satellites unless ``kinds`` says otherwise.
    kinds, names : sequence of str, optional
        Override/provide node kinds and names.
    ax, projection, extent
        As :func:`base_map`.
    ground_color, satellite_color
        Marker colours (ground: circle = user, triangle = gateway, star =
        data centre).
    leg_colors : dict, optional
        Colours for ``'gsl'``, ``'isl'``, ``'ground'`` legs, and for terrestrial routes' ``'submarine'``,
        ``'land'`` and ``'access'`` legs.
    linewidth : float
    label_ends : bool
        Write the names of the first and last node (if names are given; every route's ends when only
        terrestrial routes are drawn), without overlaps.
    coastlines, borders, land_color, gridlines, figsize, title
        As :func:`base_map`.
    legend : bool
        Say what the leg colours and node markers mean (below a new map).
    terrestrial : TerrestrialRoute or sequence of them, optional
        Terrestrial routes to draw beside the satellite path (e.g. the fiber baseline's route,
        ``RoutedModel().route(...)``): submarine legs solid teal, land links dashed brown, endpoint access
        dotted grey, hubs as small squares. ``path`` may also be ``None`` with only ``terrestrial`` given,
        or a :class:`~orbitlat.latency.terrestrial.TerrestrialRoute` itself.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = path_map([(48.86, 2.35, "user", "Paris"), (40.0, -5.0, "satellite"), (20.0, 5.0, "satellite"),
    ...                 (-8.84, 13.23, "user", "Luanda")])
    >>> len(fig.axes[0].lines) >= 3     # three great-circle legs
    True
    """
    ccrs = _cartopy()
    routes = _terrestrial_routes(terrestrial)
    if _is_route(path):
        routes, path = [path] + routes, None
    if path is None and not routes:
        raise OrbitlatError("give a path, a terrestrial route, or both.")
    if path is not None:
        lat, lon, kinds, names, _ = _path_nodes(path, kinds, names)
    else:
        # the routes' end points as ground markers (no satellite path to draw)
        lat = np.concatenate([np.asarray(r.lat_deg, float)[[0, -1]] for r in routes])
        lon = np.concatenate([np.asarray(r.lon_deg, float)[[0, -1]] for r in routes])
        kinds = ["user"] * lat.size
        names = [str(r.names[j]) for r in routes for j in (0, -1)]
    styles = {"gsl": "tab:orange", "isl": "tab:blue", "ground": "0.45", **_TERRESTRIAL_STYLES}
    if leg_colors:
        unknown = set(leg_colors) - set(styles)
        if unknown:
            raise OrbitlatError(f"leg_colors keys must be among {sorted(styles)}; got {sorted(unknown)}.")
        styles.update(leg_colors)
    is_sat = np.array([k in _SAT_KINDS for k in kinds])
    from matplotlib.lines import Line2D

    fig, ax, created = _map_axes(ax, projection, figsize, colorbar=False)
    _background(ax, coastlines=coastlines, borders=borders, land_color=land_color)
    used = []
    for r in routes:
        _draw_route(ax, ccrs, r, styles, linewidth)
        used.extend("land" if k == "great circle" else str(k) for k in r.leg_kind)
    for i in range(lat.size - 1 if path is not None else 0):
        a, b = is_sat[i], is_sat[i + 1]
        kind = "isl" if a and b else ("gsl" if a or b else "ground")
        used.append(kind)
        ax.plot([lon[i], lon[i + 1]], [lat[i], lat[i + 1]], color=styles[kind], linewidth=linewidth,
                linestyle="--" if kind == "ground" else "-", transform=ccrs.Geodetic(), zorder=3)
    if is_sat.any():
        ax.scatter(lon[is_sat], lat[is_sat], s=28, color=satellite_color, zorder=4, transform=ccrs.PlateCarree(),
                   edgecolors="none")
    for kind, marker in _GROUND_MARKERS.items():
        sel = np.array([(not s) and (k == kind or (kind == "user" and k not in _GROUND_MARKERS))
                        for s, k in zip(is_sat, kinds)])
        if sel.any():
            ax.scatter(lon[sel], lat[sel], marker=marker, s=140 if marker == "*" else 50, color=ground_color,
                       zorder=5, transform=ccrs.PlateCarree(), edgecolors="none")
    if legend:
        names_of = {"gsl": "ground–satellite link", "isl": "inter-satellite link", "ground": "terrestrial (fiber)",
                    "submarine": "submarine cable", "land": "land link", "access": "access to the network"}
        lines = {"ground": "--", **_TERRESTRIAL_LINES}
        for kind in ("gsl", "isl", "ground", "submarine", "land", "access"):
            if kind in used:
                _legend_entry(ax, Line2D([], [], color=styles[kind], linewidth=linewidth,
                                         linestyle=lines.get(kind, "-")), names_of[kind])
        if is_sat.any():
            _legend_entry(ax, Line2D([], [], marker="o", linestyle="none", markersize=5, color=satellite_color),
                          "satellite (sub-satellite point)")
        for kind, marker in _GROUND_MARKERS.items():
            if any((not s_) and (k == kind or (kind == "user" and k not in _GROUND_MARKERS))
                   for s_, k in zip(is_sat, kinds)):
                _legend_entry(ax, Line2D([], [], marker=marker, linestyle="none", markersize=8 if marker == "*" else 6,
                                         color=ground_color), {"datacenter": "data centre"}.get(kind, kind))
    if label_ends and names is not None:
        ends = (0, lat.size - 1) if path is not None else range(lat.size)
        for rank, i in enumerate(ends):
            if names[i]:
                _label(ax, lon[i], lat[i], str(names[i]), priority=float(rank), fontsize=8, color="0.1")
    _finish(ax, created, extent, title, gridlines=gridlines)
    return fig
