"""Plain matplotlib charts (no cartopy): RTT time series, CDFs, and deterministic figure saving.

Every function returns the :class:`matplotlib.figure.Figure` it drew on and
takes an optional ``ax`` to draw into an existing figure. Figures are made
with :class:`matplotlib.figure.Figure` and the Agg canvas, not ``pyplot``, so
no GUI backend and no global figure state are involved; :func:`save_figure`
writes byte-identical files for identical figures (fixed dpi, no software or
date metadata).

matplotlib is imported inside the functions; without it they raise
:class:`~orbitlat.errors.OrbitlatError` saying ``pip install 'orbitlat[maps]'``.

>>> import numpy as np
>>> from orbitlat.viz.plots import cdf_plot
>>> fig = cdf_plot(np.arange(1.0, 101.0), label="RTT")
>>> [round(float(x), 1) for x in fig.axes[0].lines[1].get_xdata()]   # p50, p95 markers (Hazen)
[50.5, 95.5]
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.stats import weighted_ecdf, weighted_quantile
from orbitlat.units import accepts_units

__all__ = ["new_figure", "save_figure", "rtt_timeseries", "count_timeseries", "cdf_plot", "weighted_ecdf", "FIGSIZE",
           "DPI", "SAVE_DPI"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Default figure size, inches (width, height).
FIGSIZE = (8.0, 4.0)
#: Default resolution of figures on screen (and of the canvas they are laid out on), dots per inch.
DPI = 100
#: Default resolution of saved image files (``fig.savefig`` and :func:`save_figure`), dots per inch.
SAVE_DPI = 200
#: Most lines that still get a legend in :func:`rtt_timeseries`.
MAX_LEGEND = 12

_INSTALL_HINT = "pip install 'orbitlat[maps]'"


def _matplotlib():
    """Import matplotlib lazily (Agg canvas only); raise OrbitlatError if missing."""
    try:
        import matplotlib
        from matplotlib.figure import Figure  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise OrbitlatError(
            f"plots need matplotlib, which is not installed ({exc}); install it with: {_INSTALL_HINT}"
        ) from None
    return matplotlib


def new_figure(figsize: tuple[float, float] | None = None, dpi: float | None = None):
    """A new matplotlib Figure on an Agg canvas (no pyplot, no GUI).

    Parameters
    ----------
    figsize : (float, float), optional
        Width and height, inches. Default :data:`FIGSIZE`.
    dpi : float, optional
        Default :data:`DPI`.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = new_figure((4, 2), dpi=50)
    >>> fig.canvas.get_width_height()
    (200, 100)
    """
    _matplotlib()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    size = FIGSIZE if figsize is None else tuple(float(v) for v in figsize)
    if len(size) != 2 or not all(np.isfinite(v) and v > 0 for v in size):
        raise OrbitlatError(f"figsize must be (width, height) in inches, both > 0; got {figsize!r}.")
    res = DPI if dpi is None else float(dpi)
    if not (np.isfinite(res) and res > 0):
        raise OrbitlatError(f"dpi must be a positive number; got {dpi!r}.")
    fig = _figure_class()(figsize=size, dpi=res)
    FigureCanvasAgg(fig)
    return fig


def _figure_class():
    """:class:`matplotlib.figure.Figure` whose ``savefig`` writes :data:`SAVE_DPI` by default."""
    cls = globals().get("OrbitlatFigure")
    if cls is None:
        from matplotlib.figure import Figure

        class OrbitlatFigure(Figure):
            """A matplotlib Figure that saves image files at :data:`SAVE_DPI` (200) unless told otherwise."""

            def savefig(self, fname, *args, **kwargs):
                kwargs.setdefault("dpi", SAVE_DPI)
                return super().savefig(fname, *args, **kwargs)

        OrbitlatFigure.__module__ = __name__
        OrbitlatFigure.__qualname__ = "OrbitlatFigure"
        globals()["OrbitlatFigure"] = cls = OrbitlatFigure  # module attribute, so figures pickle
    return cls


#: Metadata keys matplotlib would otherwise fill with the version or the date, per format.
_NO_METADATA = {
    "png": {"Software": None},
    "pdf": {"Creator": None, "Producer": None, "CreationDate": None},
    "svg": {"Creator": None, "Date": None},
    "eps": {"Creator": None},
    "ps": {"Creator": None},
}


def save_figure(fig, path: str | os.PathLike, *, dpi: float | None = None, format: str | None = None,
                **kwargs: Any) -> Path:
    """Save a figure reproducibly: same figure, same bytes.

    Fixes the dpi (default :data:`SAVE_DPI`, 200), and strips the metadata that
    would change between runs or versions (``Software`` in PNG, creation
    dates in PDF/SVG). For SVG the random id salt is fixed too.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
    path : str or PathLike
        Output file; the format comes from the suffix unless ``format`` is given.
    dpi : float, optional
        Default :data:`SAVE_DPI` (200 dpi: a 10 x 5 in map is 2000 x 1000 pixels).
    format : str, optional
        ``'png'``, ``'pdf'``, ``'svg'``, ...
    **kwargs
        Passed to :meth:`~matplotlib.figure.Figure.savefig` (e.g. ``facecolor``).

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> fig = new_figure((2, 1))
    >>> _ = fig.add_subplot().plot([0, 1], [0, 1])
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> a, b = save_figure(fig, d / "a.png"), save_figure(fig, d / "b.png")
    >>> a.read_bytes() == b.read_bytes()
    True
    """
    mpl = _matplotlib()
    out = Path(path)
    fmt = (format or out.suffix.lstrip(".") or "png").lower()
    metadata = dict(_NO_METADATA.get(fmt, {}))
    metadata.update(kwargs.pop("metadata", {}) or {})
    res = SAVE_DPI if dpi is None else float(dpi)
    literal_text(fig)
    from orbitlat.atomic import atomic_write

    def write(tmp: Path) -> None:
        with mpl.rc_context({"svg.hashsalt": "orbitlat", "path.simplify": True}):
            fig.savefig(tmp, dpi=res, format=fmt, metadata=metadata, **kwargs)

    return atomic_write(out, write)


def literal_text(fig) -> None:
    """Draw every text of ``fig`` literally: a ``$`` in a title, a site or a constellation name is a
    dollar sign, not the start of TeX math (matplotlib's mathtext). Run by :func:`save_figure`."""
    from matplotlib.text import Text

    # tick labels and axis offsets are written by matplotlib's formatters, which use mathtext on
    # purpose (a log axis labels its ticks $\mathdefault{10^{2}}$): they keep it
    formatted = set()
    for ax in fig.axes:
        for axis in (getattr(ax, name, None) for name in ("xaxis", "yaxis", "zaxis")):
            if axis is None:
                continue
            formatted.add(axis.offsetText)
            for tick in axis.get_major_ticks() + axis.get_minor_ticks():
                formatted.update((tick.label1, tick.label2))
    for t in fig.findobj(Text):
        if t not in formatted:
            t.set_parse_math(False)


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _figure_and_axes(ax, figsize=None, **subplot_kw):
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot(**subplot_kw)
    if not hasattr(ax, "figure") or not hasattr(ax, "plot"):
        raise OrbitlatError(f"ax must be a matplotlib Axes; got {type(ax).__name__}.")
    return ax.figure, ax


def _as_values(values: Any, name: str) -> np.ndarray:
    if hasattr(values, "unit") and hasattr(values, "to_value"):
        try:
            values = values.to_value("ms")
        except Exception:
            values = values.value
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OrbitlatError(f"{name} must be numeric; got {type(values).__name__}.") from exc


def _series_table(rtt_ms: Any, times: Any, labels: Sequence[str] | None, dim: str | None):
    """(times (n,), values (n, k), labels (k,), units) from the accepted inputs."""
    units = "ms"
    if hasattr(rtt_ms, "dims") and hasattr(rtt_ms, "values"):  # xarray.DataArray
        da = rtt_ms
        if "time" not in da.dims:
            raise OrbitlatError(
                f"rtt_ms has dims {da.dims} but no 'time' dimension; a time series needs one. "
                "Pass e.g. result.rtt.rtt_ms.sel(dst='stargate')."
            )
        da = da.squeeze(drop=True) if da.ndim > 2 else da
        if "time" not in da.dims:  # squeezed away: a single instant
            da = rtt_ms.squeeze([d for d in rtt_ms.dims if d != "time" and rtt_ms.sizes[d] == 1], drop=True)
        others = [d for d in da.dims if d != "time"]
        if len(others) > 1:
            raise OrbitlatError(
                f"rtt_ms has dims {da.dims}; a time series plot takes (time,) or (time, one other dim). "
                f"Select the rest first, e.g. .sel({others[-1]}=...)."
            )
        units = str(da.attrs.get("units", units))
        if others:
            d = others[0] if dim is None else dim
            if d not in da.dims:
                raise OrbitlatError(f"dim={dim!r} is not a dimension of rtt_ms {da.dims}.")
            da = da.transpose("time", d)
            lab = [str(v) for v in da[d].values] if d in da.coords else [f"{d}{i}" for i in range(da.sizes[d])]
        else:
            da = da.expand_dims("_line", axis=1)
            lab = [str(da.name) if da.name is not None else "RTT"]
        t = da["time"].values if "time" in da.coords else np.arange(da.sizes["time"])
        return t, np.asarray(da.values, dtype=np.float64), lab if labels is None else list(labels), units
    if hasattr(rtt_ms, "columns") and hasattr(rtt_ms, "index"):  # pandas DataFrame
        t = np.asarray(rtt_ms.index) if times is None else np.asarray(times)
        return t, _as_values(rtt_ms.to_numpy(), "rtt_ms"), (
            [str(c) for c in rtt_ms.columns] if labels is None else list(labels)), units
    if isinstance(rtt_ms, Mapping):
        lab = [str(k) for k in rtt_ms]
        cols = [_as_values(v, f"rtt_ms[{k!r}]").ravel() for k, v in rtt_ms.items()]
        if len({c.size for c in cols}) > 1:
            raise OrbitlatError("all series in the rtt_ms mapping must have the same length (one value per time).")
        vals = np.stack(cols, axis=1) if cols else np.empty((0, 0))
    else:
        vals = _as_values(rtt_ms, "rtt_ms")
        if vals.ndim == 1:
            vals = vals[:, None]
        if vals.ndim != 2:
            raise OrbitlatError(f"rtt_ms must be (time,) or (time, n_lines); got shape {vals.shape}.")
        lab = [f"series {i}" for i in range(vals.shape[1])]
    if vals.size == 0:
        raise OrbitlatError("rtt_ms is empty; nothing to plot.")
    t = np.arange(vals.shape[0]) if times is None else np.asarray(times)
    if labels is not None:
        lab = list(labels)
    return t, vals, lab, units


# ---------------------------------------------------------------------------
# time series
# ---------------------------------------------------------------------------

@accepts_units
def rtt_timeseries(rtt_ms: Any, *, times: Any = None, labels: Sequence[str] | None = None, dim: str | None = None,
                   ax=None, figsize: tuple[float, float] | None = None, title: str | None = None,
                   ylabel: str | None = None, legend: bool | None = None, linewidth: float = 1.2):
    """Round-trip time over time, one line per city (or per series).

    Parameters
    ----------
    rtt_ms : xarray.DataArray, pandas.DataFrame, mapping or array_like
        - DataArray with a ``time`` dimension and at most one other (after
          dropping length-1 dims), e.g. ``result.rtt.rtt_ms.sel(dst="stargate")``
          with dims ``(time, src)``: one line per ``src``;
        - DataFrame: index = times, one column per line;
        - mapping ``{label: values}``; or an array ``(time,)`` / ``(time, n_lines)``.
        Values in ms; NaN (no path at that step) leaves a gap in the line.
    times : array_like, optional
        x values for arrays/mappings (default 0, 1, ...); datetimes are fine.
    labels : sequence of str, optional
        Line labels (default from the coordinate, columns or keys).
    dim : str, optional
        Which DataArray dimension gives the lines (default: the non-time one).
    ax : matplotlib.axes.Axes, optional
        Draw here instead of on a new figure.
    figsize : (float, float), optional
        For a new figure; default :data:`FIGSIZE`.
    title, ylabel : str, optional
    legend : bool, optional
        Default: a legend when there are at most 12 lines.
    linewidth : float

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    OrbitlatError
        Empty or non-numeric input, a DataArray without ``time`` or with too
        many dimensions, or labels/times that do not match the data.

    Examples
    --------
    >>> import numpy as np
    >>> fig = rtt_timeseries({"London": [30.0, 32.0, np.nan], "Paris": [28.0, 27.5, 29.0]},
    ...                      times=[0, 60, 120])
    >>> len(fig.axes[0].lines), fig.axes[0].get_ylabel()
    (2, 'RTT (ms)')
    """
    t, vals, lab, units = _series_table(rtt_ms, times, labels, dim)
    if len(t) != vals.shape[0]:
        raise OrbitlatError(f"times has {len(t)} values but rtt_ms has {vals.shape[0]} time steps; give one per step.")
    if len(lab) != vals.shape[1]:
        raise OrbitlatError(f"labels has {len(lab)} entries but there are {vals.shape[1]} lines.")
    fig, ax = _figure_and_axes(ax, figsize)
    for j in range(vals.shape[1]):
        ax.plot(t, vals[:, j], label=lab[j], linewidth=linewidth)
    ax.set_ylabel(ylabel if ylabel is not None else f"RTT ({units})")
    ax.set_xlabel("time (UTC)" if np.issubdtype(np.asarray(t).dtype, np.datetime64) else "time")
    ax.grid(True, alpha=0.3)
    n_missing = int(np.isnan(vals).sum())
    if title is not None:
        ax.set_title(title, parse_math=False)
    if n_missing:  # say so: gaps are steps without a path, not lost data
        ax.text(0.99, 0.01, f"{n_missing} step(s) without a path (gaps)", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=8, color="0.3")
    if legend if legend is not None else vals.shape[1] <= MAX_LEGEND:
        ax.legend(fontsize=8, loc="upper right")
    if np.issubdtype(np.asarray(t).dtype, np.datetime64) and ax.figure is fig:
        fig.autofmt_xdate()
    return fig


def count_timeseries(counts: Any, *, times: Any = None, labels: Sequence[str] | None = None, dim: str | None = None,
                     ax=None, figsize: tuple[float, float] | None = None, title: str | None = None,
                     ylabel: str = "satellites in view", legend: bool | None = None, linewidth: float = 1.2):
    """Counts over time (satellites in view, visible pairs, hops) as step plots with integer ticks.

    A count holds from one sample to the next, so it is drawn as a step (``where="post"``), never
    interpolated between samples; the y axis has whole-number ticks only.

    Parameters
    ----------
    counts : xarray.DataArray, pandas.DataFrame, mapping or array_like
        As :func:`rtt_timeseries` (a ``time`` dimension and at most one other).
    times, labels, dim, ax, figsize, title, legend, linewidth
        As :func:`rtt_timeseries`.
    ylabel : str

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = count_timeseries({"London": [3, 4, 4, 2]}, times=[0, 60, 120, 180])
    >>> ax = fig.axes[0]
    >>> ax.lines[0].get_drawstyle(), all(float(t).is_integer() for t in ax.get_yticks())
    ('steps-post', True)
    """
    from matplotlib.ticker import MaxNLocator

    t, vals, lab, _ = _series_table(counts, times, labels, dim)
    if len(t) != vals.shape[0]:
        raise OrbitlatError(f"times has {len(t)} values but counts has {vals.shape[0]} time steps; give one per step.")
    if len(lab) != vals.shape[1]:
        raise OrbitlatError(f"labels has {len(lab)} entries but there are {vals.shape[1]} lines.")
    fin = vals[np.isfinite(vals)]
    if fin.size and np.any(fin != np.round(fin)):
        raise OrbitlatError("counts must be whole numbers; for RTTs or other values use rtt_timeseries.")
    fig, ax = _figure_and_axes(ax, figsize)
    for j in range(vals.shape[1]):
        ax.step(t, vals[:, j], where="post", label=lab[j], linewidth=linewidth)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    lo = float(np.nanmin(vals)) if fin.size else 0.0
    ax.set_ylim(bottom=min(0.0, lo))
    ax.set_ylabel(ylabel)
    ax.set_xlabel("time (UTC)" if np.issubdtype(np.asarray(t).dtype, np.datetime64) else "time")
    ax.grid(True, alpha=0.3)
    if title is not None:
        ax.set_title(title)
    if legend if legend is not None else 1 < vals.shape[1] <= MAX_LEGEND:
        ax.legend(fontsize=8, loc="upper right")
    if np.issubdtype(np.asarray(t).dtype, np.datetime64) and ax.figure is fig:
        fig.autofmt_xdate()
    return fig


# ---------------------------------------------------------------------------
# CDF
# ---------------------------------------------------------------------------

def cdf_plot(values: Any, *, weights: Any = None, label: str | None = None, percentiles: Sequence[float] = (50, 95),
             nan: str = "inf", ax=None, figsize: tuple[float, float] | None = None, xlabel: str = "RTT (ms)",
             title: str | None = None, color: Any = None):
    """Empirical CDF with markers at percentiles (default p50 and p95).

    The CDF is a step function ``F(x)`` = (weighted) share of values ``<= x``.
    Percentile ``p`` is :func:`orbitlat.stats.weighted_quantile` (weighted Hazen
    positions), the same definition as every table and summary, so a legend and a
    table built from the same data print the same number; the marker sits within
    one sample's weight of the curve. Call again with the same ``ax`` to overlay
    several distributions.

    Parameters
    ----------
    values : array_like or mapping {label: array_like}
        Values (any shape, flattened); a mapping draws one CDF per entry.
    weights : array_like, optional
        Non-negative weights broadcastable to ``values`` (e.g. population).
    label : str, optional
        Legend label for a single array.
    percentiles : sequence of float
        In [0, 100]; markers and a dotted drop line at each.
    nan : {'inf', 'drop', 'raise'}
        See :func:`weighted_ecdf`. With ``'inf'`` (default) NaN (no path)
        counts as infinitely slow: the curve stops below 1 and a percentile
        above the reachable share is reported as "∞" in the legend.
    ax : matplotlib.axes.Axes, optional
    figsize : (float, float), optional
    xlabel, title : str
    color : matplotlib colour, optional

    Returns
    -------
    matplotlib.figure.Figure
        ``ax.lines`` holds, per distribution, the CDF step line then one
        marker line with the percentile points (drop lines are collections).

    Examples
    --------
    >>> import numpy as np
    >>> fig = cdf_plot({"bent pipe": [40.0, 50.0, 60.0, 70.0], "ISL": [30.0, 35.0, 36.0, np.nan]})
    >>> ax = fig.axes[0]
    >>> float(ax.lines[0].get_ydata()[-1]), float(ax.lines[2].get_ydata()[-1])
    (1.0, 0.75)
    """
    pct = np.asarray(list(percentiles), dtype=np.float64)
    if np.any(~np.isfinite(pct)) or np.any((pct < 0) | (pct > 100)):
        raise OrbitlatError(f"percentiles must be within [0, 100]; got {list(percentiles)}.")
    if isinstance(values, Mapping):
        items = list(values.items())
        if weights is not None:
            raise OrbitlatError("weights apply to a single array; for a mapping pass {label: values} without weights.")
    else:
        items = [(label, values)]
    fig, ax = _figure_and_axes(ax, figsize)
    for k, (lab, vals) in enumerate(items):
        x, F, _ = weighted_ecdf(vals, weights if len(items) == 1 else None, nan=nan)
        if x.size == 0:
            raise OrbitlatError(f"{lab or 'values'}: no finite values to plot.")
        # step line from F=0 at the first value
        xs = np.r_[x[0], x]
        ys = np.r_[0.0, F]
        (line,) = ax.step(xs, ys, where="post", color=color, linewidth=1.5,
                          label=None)
        w_k = weights if len(items) == 1 else None
        qx = np.atleast_1d(weighted_quantile(vals, w_k, pct / 100.0, nan=nan))
        finite = np.isfinite(qx)
        (marks,) = ax.plot(qx[finite], pct[finite] / 100.0, "o", color=line.get_color(), markersize=5)
        ax.vlines(qx[finite], 0.0, pct[finite] / 100.0, colors=line.get_color(), linestyles=":", linewidth=0.8)
        desc = ", ".join(f"p{p:g} = {xq:.1f}" if np.isfinite(xq) else f"p{p:g} = ∞" for p, xq in zip(pct, qx))
        n_nan = int(np.isnan(_as_values(vals, "values")).sum())
        extra = f", {n_nan} without a path" if n_nan and nan == "inf" else (f", {n_nan} NaN dropped" if n_nan else "")
        line.set_label(f"{lab + ': ' if lab else ''}{desc}{extra}")
    ax.set_ylim(0.0, 1.02)
    ax.set_ylabel("fraction ≤ x" if weights is None else "weighted fraction ≤ x")
    ax.set_xlabel(xlabel)
    ax.grid(True, alpha=0.3)
    if title is not None:
        ax.set_title(title, parse_math=False)
    ax.legend(fontsize=8, loc="best", framealpha=0.9)  # where it covers the fewest points
    return fig
