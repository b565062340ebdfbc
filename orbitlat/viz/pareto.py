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

__all__ = ["pareto_front", "pareto_plot", "compact_labels"]


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
    shared = ""
    if front.any():
        o = np.argsort(xs[front])
        ax.step(xs[front][o], ys[front][o], where="post", color="crimson", lw=1.2, zorder=2, label="Pareto front")
        if label_front:
            names, shared = compact_labels([str(v) for v in np.asarray(table.index)])
            front_names = np.asarray(names, dtype=object)[front][o]
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
    if title or shared:
        ax.set_title("\n".join(t for t in (title, f"every design: {shared}" if shared else "") if t), fontsize=10)
    if front.any() and label_front:  # after everything else is drawn: labels avoid every text and the legend
        from orbitlat.viz.layout import place_text_labels

        # the two ends of the front first (the cheapest design, the fastest), then inwards
        n_front = int(front.sum())
        rank = np.minimum(np.arange(n_front), n_front - 1 - np.arange(n_front))
        items = [(int(rank[k]), xi, yi, str(name), {"fontsize": 7, "color": "crimson"})
                 for k, (xi, yi, name) in enumerate(zip(xs[front][o], ys[front][o], front_names))]
        shown = np.isfinite(xs) & np.isfinite(ys)
        left_out = place_text_labels(fig, ax, items, avoid_xy=np.column_stack([xs[shown], ys[shown]]))
        if left_out:
            ax.text(0.005, 0.005, f"{left_out} front label(s) left out for lack of room (every design is in the table)",
                    transform=ax.transAxes, fontsize=6, color="0.35", ha="left", va="bottom")
    return fig


def compact_labels(labels: list[str]) -> tuple[list[str], str]:
    """Design labels without the comma-separated parts every design shares, and those parts.

    >>> compact_labels(["clusters 1x81 in 1 plane(s), 650 km sso LTAN 18h",
    ...                 "clusters 4x81 in 2 plane(s), 650 km sso LTAN 18h"])
    (['clusters 1x81 in 1 plane(s)', 'clusters 4x81 in 2 plane(s)'], '650 km sso LTAN 18h')
    """
    parts = [lab.split(", ") for lab in labels]
    if len(parts) < 2 or len({len(p) for p in parts}) != 1:
        return list(labels), ""
    same = [all(p[i] == parts[0][i] for p in parts) for i in range(len(parts[0]))]
    if all(same) or not any(same):
        return list(labels), ""
    short = [", ".join(x for x, keep in zip(p, same) if not keep) for p in parts]
    return short, ", ".join(x for x, keep in zip(parts[0], same) if keep)
