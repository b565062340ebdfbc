"""Figure layout that survives ``savefig``: margins for the title, the graticule labels, the colour
bar and a legend below the map; annotation labels placed without overlaps; readable units.

A map made by orbitlat reserves room, in the figure itself, for everything drawn around the map, so
``fig.savefig(...)``, :func:`orbitlat.viz.plots.save_figure` and Jupyter's inline display all show
the same complete figure (Jupyter's tight bounding box used to be the only one that kept the title).

Annotation labels (city names with their RTT, a data centre's name) are placed by a small greedy
step: in order of priority each label tries eight positions around its point and takes the first
whose box overlaps no label placed before it, no graticule label and no legend and stays inside the
map; a label with no free position is left out and counted in a note, so no two labels ever overlap.
(adjustText, the usual library for this, iterates a repulsion and does not guarantee zero overlap.)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["readable_units", "MAP_MARGINS_IN"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Margins (inches) around a map made by orbitlat: graticule labels left and below, the title above,
#: the colour bar on the right. A legend below the map adds ``legend_row`` per row of entries.
MAP_MARGINS_IN = {"left": 0.45, "bottom": 0.32, "top_title": 0.42, "top": 0.1, "right": 0.12,
                  "right_colorbar": 1.0, "legend_row": 0.27, "legend_pad": 0.12}

#: Offsets (points) tried for an annotation label, in order: right-above, right-below, left-above, ...
_LABEL_OFFSETS = ((4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"),
                  (-4, -3, "right", "top"), (0, 6, "center", "bottom"), (0, -6, "center", "top"),
                  (7, 0, "left", "center"), (-7, 0, "right", "center"))


@dataclass
class _MapState:
    """What a map function asked for, laid out by :func:`finish_layout`."""

    created: bool
    colorbar: Any = None            # the Colorbar, positioned at layout time when created
    legend: list = field(default_factory=list)   # (handle, label)
    legend_title: str | None = None
    labels: list = field(default_factory=list)   # (priority, lon, lat, text, style)
    notes: list = field(default_factory=list)


def state(ax) -> _MapState:
    st = getattr(ax, "_orbitlat_state", None)
    if st is None:
        st = _MapState(created=False)
        ax._orbitlat_state = st
    return st


def readable_units(values: Any, units: str | None) -> tuple[float, str | None]:
    """(factor, unit) that shows time values in a readable unit: hours for gaps of hours.

    Seconds become minutes beyond 2 minutes and hours beyond 2 hours (by the largest finite value);
    other units are left alone. Multiply the values by ``factor``.

    >>> readable_units([30.0, 14400.0], "s")
    (0.0002777777777777778, 'h')
    >>> readable_units([30.0, 90.0], "s"), readable_units([1.0], "ms")
    ((1.0, 's'), (1.0, 'ms'))
    """
    if units not in ("s", "seconds"):
        return 1.0, units
    v = np.asarray(values, dtype=np.float64)
    top = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 0.0
    if top >= 7200.0:
        return 1.0 / 3600.0, "h"
    if top >= 120.0:
        return 1.0 / 60.0, "min"
    return 1.0, "s"


def _graticule_step(extent_deg: float) -> float:
    for step in (30.0, 15.0, 10.0, 5.0, 2.0, 1.0):
        if extent_deg / step >= 3:
            return step
    return 0.5


def graticule(ax, *, labels: bool, extent=None):
    """Latitude/longitude lines (and labels below and left), spaced for the extent shown.

    On projections whose meridians converge at the bottom edge (Robinson, Mollweide, ...), the
    longitude labels there are spaced twice as wide as the lines so they do not crowd each other.
    """
    import cartopy.crs as ccrs
    from cartopy.mpl.ticker import LatitudeFormatter, LongitudeFormatter

    if extent is None:
        lon_span, lat_span = 360.0, 180.0
    else:
        lon_span, lat_span = float(extent[1] - extent[0]), float(extent[3] - extent[2])
    dx, dy = _graticule_step(lon_span), _graticule_step(lat_span)
    xl = np.arange(-180.0, 180.0 + dx / 2, dx)
    yl = np.arange(-90.0, 90.0 + dy / 2, dy)
    line = dict(crs=ccrs.PlateCarree(), linewidth=0.35, color="0.5", alpha=0.45, linestyle="-", zorder=1.8)
    gl = ax.gridlines(xlocs=xl, ylocs=yl, **line)
    if not labels:
        return gl
    rectangular = isinstance(ax.projection, (ccrs.PlateCarree, ccrs.Mercator, ccrs.Miller))
    lx = xl if rectangular or extent is not None else np.arange(-180.0, 180.0 + dx, 2 * dx)
    lab = ax.gridlines(crs=ccrs.PlateCarree(), xlocs=lx, ylocs=yl, draw_labels={"bottom": "x", "left": "y"},
                       linewidth=0.0, alpha=0.0)
    lab.xformatter = LongitudeFormatter(number_format=".0f", degree_symbol="°")
    lab.yformatter = LatitudeFormatter(number_format=".0f", degree_symbol="°")
    lab.xlabel_style = {"size": 7, "color": "0.3"}
    lab.ylabel_style = {"size": 7, "color": "0.3"}
    lab.rotate_labels = False
    lab.xpadding = 3
    lab.ypadding = 3
    return gl


def _legend_rows(n: int, ncol: int) -> int:
    return max(1, -(-n // max(1, ncol)))


def _legend_ncol(n: int) -> int:
    return min(n, 5)


def finish_layout(fig, ax, title: str | None, gridlabels: bool) -> None:
    """Place a map made by orbitlat (``created``) with room for everything around it."""
    st = state(ax)
    w_in, h_in = fig.get_size_inches()
    m = MAP_MARGINS_IN
    left = m["left"] if gridlabels else 0.05
    bottom = m["bottom"] if gridlabels else 0.05
    if st.legend:
        rows = _legend_rows(len(st.legend), _legend_ncol(len(st.legend)))
        bottom += m["legend_pad"] + rows * m["legend_row"] + (0.2 if st.legend_title else 0.0)
    top = m["top_title"] * (1 + str(title).count("\n")) if title else m["top"]
    right = m["right_colorbar"] if st.colorbar is not None else m["right"]
    rect = [left / w_in, bottom / h_in, 1 - (left + right) / w_in, 1 - (bottom + top) / h_in]
    ax.set_position(rect)
    ax.apply_aspect()
    pos = ax.get_position()
    if st.colorbar is not None:
        cax = st.colorbar.ax
        cax.set_position([pos.x1 + 0.18 / w_in, pos.y0 + 0.12 * pos.height, 0.14 / w_in, 0.76 * pos.height])


def add_legend(fig, ax, *, below: bool) -> None:
    st = state(ax)
    if not st.legend:
        return
    handles = [h for h, _ in st.legend]
    labels = [lab for _, lab in st.legend]
    if below:
        pos = ax.get_position()
        w_in, h_in = fig.get_size_inches()
        y = pos.y0 - (MAP_MARGINS_IN["bottom"] - 0.02) / h_in
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(pos.x0 + pos.width / 2, y),
                   ncol=_legend_ncol(len(handles)), fontsize=7.5, frameon=False, title=st.legend_title,
                   title_fontsize=7.5, handletextpad=0.4, columnspacing=1.4, borderaxespad=0.0)
    else:
        ax.legend(handles, labels, loc="lower left", fontsize=7, title=st.legend_title, title_fontsize=7,
                  framealpha=0.85)


def graticule_labels(fig) -> list:
    """The graticule's label Text artists that are drawn (cartopy keeps them on its Gridliner)."""
    out = []
    for ax in fig.axes:
        for child in ax.get_children():
            if type(child).__name__ == "Gridliner":
                out.extend(t for t in getattr(child, "label_artists", []) if t.get_visible() and t.get_text())
    return out


def _overlaps(box, boxes, pad: float) -> bool:
    for b in boxes:
        if box.x0 < b.x1 + pad and box.x1 + pad > b.x0 and box.y0 < b.y1 + pad and box.y1 + pad > b.y0:
            return True
    return False


def place_labels(fig, ax) -> int:
    """Place the map's queued annotation labels without overlaps; return how many were left out."""
    import cartopy.crs as ccrs

    st = state(ax)
    if not st.labels:
        return 0
    pc = ccrs.PlateCarree()
    items = []
    for prio, lon, lat, text, style in st.labels:
        x, y = ax.projection.transform_point(lon, lat, pc)
        items.append((prio, x, y, text, style))
    return place_text_labels(fig, ax, items)


def place_text_labels(fig, ax, items, *, halo: bool = True, avoid_xy=None, avoid_radius_pt: float = 4.0) -> int:
    """Place labels at data points of any axes without overlaps (the greedy step of the module docs).

    ``items`` are ``(priority, x, y, text, style)`` in data coordinates (lower priority first;
    ``style`` keyword arguments of ``ax.text``). Each label takes the first of eight positions around
    its point whose box stays inside the axes and overlaps no text drawn so far (titles, ticks,
    placed labels), no legend and no graticule label, nor a marker at ``avoid_xy`` (data
    coordinates, ``(n, 2)``; ``avoid_radius_pt`` around each). Returns how many labels found no free
    place and were left out.
    """
    from matplotlib import patheffects
    from matplotlib.transforms import offset_copy

    if not items:
        return 0
    fig.canvas.draw()  # graticule labels, tick labels and legends exist only after a draw
    renderer = fig.canvas.get_renderer()
    taken = []
    for art in fig.findobj(lambda a: hasattr(a, "get_window_extent") and a.get_visible()):
        name = type(art).__name__
        if name == "Text" and art.get_text():
            taken.append(art.get_window_extent(renderer))
        elif name == "Legend":
            taken.append(art.get_window_extent(renderer))
    taken.extend(t.get_window_extent(renderer) for t in graticule_labels(fig))
    markers = []  # (centre, box) in display space: a label avoids every marker but its own
    if avoid_xy is not None and len(avoid_xy):
        from matplotlib.transforms import Bbox

        r = avoid_radius_pt * fig.dpi / 72.0
        markers = [((px, py), Bbox.from_extents(px - r, py - r, px + r, py + r))
                   for px, py in ax.transData.transform(np.asarray(avoid_xy, dtype=float))]
    frame = ax.get_window_extent(renderer)
    dropped = 0
    for _, x, y, text, style in sorted(items, key=lambda t: t[0]):
        if not (np.isfinite(x) and np.isfinite(y)):
            dropped += 1
            continue
        placed = False
        own = ax.transData.transform((x, y))
        others = [b for c, b in markers if abs(c[0] - own[0]) > 0.5 or abs(c[1] - own[1]) > 0.5]
        for dx, dy, ha, va in _LABEL_OFFSETS:
            tr = offset_copy(ax.transData, fig=fig, x=dx, y=dy, units="points")
            t = ax.text(x, y, text, transform=tr, ha=ha, va=va, clip_on=False, **style)
            if halo:
                t.set_path_effects([patheffects.withStroke(linewidth=2.0, foreground="white", alpha=0.85)])
            box = t.get_window_extent(renderer)
            inside = box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1
            if inside and not _overlaps(box, taken, 1.0) and not _overlaps(box, others, 1.0):
                taken.append(box)
                placed = True
                break
            t.remove()
        if not placed:
            dropped += 1
    return dropped
