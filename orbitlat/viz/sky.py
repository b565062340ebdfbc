"""Sky plots: satellites' azimuth and elevation over a site (polar plot).
"""
from __future__ import annotations

from typing import Any, Sequence
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.viz.plots import new_figure
from orbitlat.viz.seams import _as_float, look_angles
from orbitlat.viz.tracks import _positions_at
from orbitlat.units import accepts_units

__all__ = ["sky_plot", "site_sky_plot"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@accepts_units
def sky_plot(azimuth_deg: Any, elevation_deg: Any, *, labels: Sequence[str] | None = None,
             min_elevation_deg: float | None = None, values: Any = None, cmap: str = "viridis",
             color: Any = "tab:blue", ax=None, figsize: tuple[float, float] | None = None,
             marker_size: float = 36.0, title: str | None = None):
    """Azimuth/elevation polar chart: north up, azimuth clockwise, zenith at the centre.

    Radius is the zenith angle ``90 − elevation`` (the horizon is the outer
    circle); the elevation mask is drawn as a dashed red circle.
    Satellites below the horizon are not drawn; those between the horizon
    and the mask are drawn hollow.

    Parameters
    ----------
    azimuth_deg, elevation_deg : array_like, shape (n,)
        Look angles, degrees (azimuth clockwise from north).
    labels : sequence of str, optional
        Written next to each drawn satellite.
    min_elevation_deg : float, optional
        Elevation mask to draw.
    values : array_like (n,), optional
        Colour the satellites by these values (e.g. range_km) with ``cmap``.
    cmap : str
    color : matplotlib colour
        Colour when ``values`` is not given.
    ax : matplotlib polar Axes, optional
    figsize : (float, float), optional
        Default (5, 5).
    marker_size : float
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = sky_plot([0.0, 90.0, 200.0], [80.0, 45.0, 5.0], labels=["a", "b", "c"], min_elevation_deg=10.0)
    >>> ax = fig.axes[0]
    >>> int(ax.get_theta_direction()), float(ax.get_rmax())
    (-1, 90.0)
    """
    import matplotlib

    az = np.atleast_1d(_as_float(azimuth_deg, "deg", "azimuth_deg")).ravel()
    el = np.atleast_1d(_as_float(elevation_deg, "deg", "elevation_deg")).ravel()
    if az.shape != el.shape:
        raise OrbitlatError(f"azimuth_deg ({az.size}) and elevation_deg ({el.size}) must have the same length.")
    if np.any(np.abs(el[np.isfinite(el)]) > 90.0):
        raise OrbitlatError("elevation_deg must be within [-90, 90] degrees.")
    if labels is not None and len(labels) != az.size:
        raise OrbitlatError(f"labels has {len(labels)} entries for {az.size} satellites.")
    if ax is None:
        fig = new_figure((5.0, 5.0) if figsize is None else figsize)
        ax = fig.add_axes((0.1, 0.08, 0.8, 0.8), projection="polar")
    else:
        if getattr(ax, "name", None) != "polar":
            raise OrbitlatError("sky_plot needs a polar Axes (fig.add_subplot(projection='polar')) or ax=None.")
        fig = ax.figure
    ax.set_theta_zero_location("N")
    ax.set_theta_direction(-1)
    ax.set_rlim(0.0, 90.0)
    ax.set_rticks([0, 30, 60, 90])
    ax.set_yticklabels(["90°", "60°", "30°", "0°"], fontsize=7)
    ax.set_thetagrids([0, 90, 180, 270], ["N", "E", "S", "W"])
    ax.set_rlabel_position(135)
    ax.grid(True, alpha=0.4)
    if min_elevation_deg is not None:
        th = np.linspace(0.0, 2.0 * np.pi, 361)
        ax.plot(th, np.full_like(th, 90.0 - float(min_elevation_deg)), "--", color="red", linewidth=1.0,
                label=f"mask {float(min_elevation_deg):g}°")
    up = np.isfinite(az) & np.isfinite(el) & (el >= 0.0)
    mask = -np.inf if min_elevation_deg is None else float(min_elevation_deg)
    vis = up & (el >= mask)
    low = up & ~vis
    theta, r = np.radians(az), 90.0 - el
    if values is not None:
        vals = np.atleast_1d(_as_float(values, "1", "values")).ravel()
        if vals.shape != az.shape:
            raise OrbitlatError(f"values needs one entry per satellite ({az.size}); got {vals.size}.")
        sc = ax.scatter(theta[vis], r[vis], c=vals[vis], cmap=cmap, s=marker_size, zorder=3, edgecolors="none")
        fig.colorbar(sc, ax=ax, shrink=0.6, pad=0.08)
    else:
        ax.scatter(theta[vis], r[vis], s=marker_size, color=matplotlib.colors.to_rgba(color), zorder=3,
                   edgecolors="none")
    if low.any():
        ax.scatter(theta[low], r[low], s=marker_size, facecolors="none", edgecolors="0.4", zorder=3,
                   label=f"below mask ({int(low.sum())})")
    if labels is not None:
        for i in np.flatnonzero(up):
            ax.annotate(str(labels[i]), (theta[i], r[i]), textcoords="offset points", xytext=(4, 3), fontsize=6)
    if min_elevation_deg is not None or low.any():
        ax.legend(loc="lower left", bbox_to_anchor=(-0.12, -0.1), fontsize=7)
    if title is not None:
        ax.set_title(title, fontsize=10, pad=14, parse_math=False)
    return fig

@accepts_units
def site_sky_plot(site: Any, ephemeris, *, time: Any = None, min_elevation_deg: float | None = None,
                  sats: Any = None, labels: bool = True, ax=None, figsize: tuple[float, float] | None = None,
                  title: str | None = None, **kwargs: Any):
    """Sky plot of the satellites above a site at one instant.

    Parameters
    ----------
    site : GroundSites (one site) or (lat_deg, lon_deg[, alt_km])
        The observer (WGS84 geodetic).
    ephemeris : xarray.Dataset or array_like (n, 3)
        ITRS ephemeris (``frame="ITRS"``) or positions, km.
    time : int, datetime-like or str, optional
        Time index or instant of a Dataset (default the first step).
    min_elevation_deg : float, optional
        Mask; default the site's ``min_elevation_deg`` for GroundSites, else 0.
    sats : optional
        Satellite selection of a Dataset.
    labels : bool
        Label satellites with their names.
    ax, figsize, title, **kwargs
        Passed to :func:`sky_plot`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import orbitlat as ol
    >>> eph = ol.presets.get("gps").propagate(start="2026-01-01", duration="1h", step="10min",
    ...                                       backend="kepler-j2", frame="ITRS")
    >>> fig = site_sky_plot((47.37, 8.54, 0.4), eph, min_elevation_deg=5.0)
    >>> len(fig.axes[0].collections) >= 1
    True
    """
    from orbitlat.ground.sites import GroundSites

    if isinstance(site, GroundSites):
        if len(site) != 1:
            raise OrbitlatError(f"site_sky_plot takes one site; got {len(site)}. Use sites[i].")
        lat, lon, alt = float(site.lat_deg[0]), float(site.lon_deg[0]), float(site.alt_km[0])
        if min_elevation_deg is None:
            min_elevation_deg = float(site.min_elevation_deg[0])
        name = str(site.names[0])
    elif isinstance(site, (tuple, list)) and len(site) in (2, 3):
        lat, lon = float(site[0]), float(site[1])
        alt = float(site[2]) if len(site) == 3 else 0.0
        name = f"{lat:.2f}°, {lon:.2f}°"
    else:
        raise OrbitlatError(f"site must be one-site GroundSites or (lat_deg, lon_deg[, alt_km]); got {site!r:.60}.")
    xyz, sat_labels, t = _positions_at(ephemeris, time, sats)
    az, el, _ = look_angles(lat, lon, alt, xyz)
    mask = 0.0 if min_elevation_deg is None else float(min_elevation_deg)
    if title is None:
        when = f", {np.datetime_as_string(t, unit='s')} UTC" if t is not None else ""
        title = f"sky at {name}{when}: {int((el >= mask).sum())} above {mask:g}°"
    return sky_plot(az, el, labels=[str(s) for s in sat_labels] if labels else None, min_elevation_deg=mask,
                    ax=ax, figsize=figsize, title=title, **kwargs)
