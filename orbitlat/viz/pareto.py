"""The design-sweep picture: satellites needed against tail latency, coloured by sunlight.

:func:`pareto_front` marks the designs no other design beats on both axes (fewer or as many
satellites and a lower or equal p95 RTT, one of them strictly); :func:`pareto_plot` draws every
design of a :func:`orbitlat.latency.sweep.sweep` table on a log axis of satellites against its p95
RTT, coloured by sunlit fraction (power), with the front joined and the terrestrial data centre's
median RTT as a reference line. Designs whose p95 is infinite (more than 5 % of people-time without
a path) are drawn at the top edge as open triangles.

>>> import pandas as pd
>>> t = pd.DataFrame({"satellites": [81, 324, 324, 1296], "p95_ms": [90.0, 70.0, 80.0, 75.0]})
>>> pareto_front(t).tolist()
[True, True, False, False]
"""
from __future__ import annotations

from typing import Any

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["pareto_front", "pareto_plot"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def pareto_front(table, x: str = "satellites", y: str = "p95_ms") -> np.ndarray:
    """Boolean mask of the rows not dominated on (``x``, ``y``), both minimised (NaN/inf never on it)."""
    for c in (x, y):
        if c not in table.columns:
            raise OrbitlatError(f"the table has no column {c!r}; columns are {list(table.columns)}.")
    xs = table[x].to_numpy(dtype=float)
    ys = table[y].to_numpy(dtype=float)
    ok = np.isfinite(xs) & np.isfinite(ys)
    front = np.zeros(xs.size, dtype=bool)
    for i in np.flatnonzero(ok):
        dom = ok & (xs <= xs[i]) & (ys <= ys[i]) & ((xs < xs[i]) | (ys < ys[i]))
        front[i] = not dom.any()
    return front


@accepts_units
def pareto_plot(table, *, x: str = "satellites", y: str = "p95_ms", color: str = "sunlit_fraction",
                reference_ms: float | None = None, reference_label: str = "terrestrial", ax: Any = None,
                label_front: bool = True, title: str | None = None):
    """Satellites vs p95 RTT for every design of a sweep table (see the module docs). Returns the figure."""
    from orbitlat.viz.plots import _figure_and_axes

    fig, ax = _figure_and_axes(ax, figsize=(8.0, 5.2))
    xs = table[x].to_numpy(dtype=float)
    ys = table[y].to_numpy(dtype=float)
    cs = table[color].to_numpy(dtype=float) if color in table.columns else np.full(xs.size, np.nan)
    finite = np.isfinite(ys)
    top = (np.nanmax(ys[finite]) * 1.15) if finite.any() else 100.0
    if reference_ms is not None and np.isfinite(reference_ms):
        top = max(top, float(reference_ms) * 1.1)
    import matplotlib as mpl

    norm = mpl.colors.Normalize(vmin=np.nanmin(cs) if np.isfinite(cs).any() else 0.0,
                                vmax=np.nanmax(cs) if np.isfinite(cs).any() else 1.0)
    cmap = mpl.colormaps["viridis"]
    sc = ax.scatter(xs[finite], ys[finite], c=cs[finite], cmap=cmap, norm=norm, s=46, edgecolor="k", linewidth=0.4,
                    zorder=3)
    if (~finite).any():
        ax.scatter(xs[~finite], np.full((~finite).sum(), top), marker="^", facecolor="none",
                   edgecolor=[cmap(norm(v)) if np.isfinite(v) else "grey" for v in cs[~finite]], s=52, zorder=3,
                   label="p95 infinite (> 5 % of people-time unserved)")
    front = pareto_front(table, x, y)
    if front.any():
        o = np.argsort(xs[front])
        ax.step(xs[front][o], ys[front][o], where="post", color="crimson", lw=1.2, zorder=2, label="Pareto front")
        if label_front:  # staggered above the points so neighbours on the front do not overprint
            for k, (xi, yi, name) in enumerate(zip(xs[front][o], ys[front][o], np.asarray(table.index)[front][o])):
                ax.annotate(str(name), (xi, yi), textcoords="offset points", xytext=(3, 5 + 11 * (k % 4)),
                            fontsize=6.5, color="crimson",
                            arrowprops={"arrowstyle": "-", "color": "crimson", "lw": 0.4, "alpha": 0.6})
    if reference_ms is not None and np.isfinite(reference_ms):
        ax.axhline(reference_ms, color="0.3", ls="--", lw=1.0, label=f"{reference_label} p50 ({reference_ms:.0f} ms)")
    ax.set_xscale("log")
    ax.set_ylim(0, top * 1.05)
    ax.set_xlabel("compute satellites needed")
    ax.set_ylabel("population-weighted p95 RTT (ms)")
    cb = fig.colorbar(sc, ax=ax, pad=0.01)
    cb.set_label("sunlit fraction over the year")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=7, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
