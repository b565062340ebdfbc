"""Exports: tables by file extension (CSV, Parquet, NetCDF) and CZML for Cesium.

Tables
------
:func:`write_table` writes a :class:`pandas.DataFrame` or an
:class:`xarray.Dataset` to the format its file extension names (``.csv``,
``.parquet``, ``.nc``), atomically (a failed write leaves no partial file).
:func:`ephemeris_table` turns an ephemeris into one row per (time, satellite).

CZML
----
:func:`to_czml` turns a constellation (propagated here) or an ephemeris into
CZML packets that Cesium plays as a time-dynamic scene: a ``document`` packet
with the clock, then one packet per satellite whose ``position`` is a list of
time-tagged samples with Lagrange interpolation. Positions are either

- ``"cartesian"``: ITRS (Earth-fixed) metres in Cesium's ``FIXED`` frame
  (or ``INERTIAL`` for a GCRS ephemeris: Cesium's inertial frame is ICRF,
  whose axes GCRS shares), or
- ``"cartographic"``: WGS84 geodetic ``[longitude°, latitude°, height m]``
  (``cartographicDegrees``; Cesium's ellipsoid is WGS84). Longitudes are
  unwrapped along each track (they may leave [-180, 180]) so that Cesium's
  interpolation never sweeps across the map at the antimeridian.

Sample times are seconds after the packet's ``epoch`` (ISO 8601 UTC).
Samples where a satellite has no position (failed propagation) are left out,
its ``availability`` covers the samples it has, and satellites with none are
dropped and counted in the document's ``description`` (nothing is lost
silently). The JSON never contains NaN (``allow_nan=False``).

>>> import orbitlat as ol
>>> from orbitlat.export import to_czml
>>> pk = to_czml(ol.presets.get("iridium"), start="2026-01-01", duration="10min", step="1min")
>>> pk[0]["id"], pk[0]["version"], len(pk)
('document', '1.0', 67)
>>> p = pk[1]["position"]
>>> p["referenceFrame"], p["interpolationAlgorithm"], len(p["cartesian"]) // 4
('FIXED', 'LAGRANGE', 11)
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .errors import OrbitlatError

__all__ = ["TABLE_FORMATS", "table_format", "write_table", "ephemeris_table", "to_czml", "czml_json",
           "write_czml", "CZML_POSITIONS"]

#: File extensions and the table format they select.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".nc": "netcdf", ".nc4": "netcdf",
                 ".netcdf": "netcdf"}
_FORMAT_NAMES = ("csv", "parquet", "netcdf")

#: Position encodings of :func:`to_czml`.
CZML_POSITIONS = ("cartesian", "cartographic")

#: Default point colours per shell (RGBA), cycled.
_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]


# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def table_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The table format (``"csv"``, ``"parquet"`` or ``"netcdf"``) for ``path``, or ``fmt`` if given.

    >>> table_format("out.parquet"), table_format("x.nc"), table_format("x.dat", "csv")
    ('parquet', 'netcdf', 'csv')
    """
    if fmt is not None and str(fmt).lower() not in ("", "auto"):
        f = str(fmt).lower()
        f = {"nc": "netcdf", "pq": "parquet"}.get(f, f)
        if f not in _FORMAT_NAMES:
            raise OrbitlatError(f"format {fmt!r} is not known; use one of {', '.join(_FORMAT_NAMES)} "
                                "(or leave it out to pick by file extension).")
        return f
    ext = Path(path).suffix.lower()
    if ext not in TABLE_FORMATS:
        raise OrbitlatError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; use .csv, .parquet or .nc "
            "(NetCDF), or give the format explicitly."
        )
    return TABLE_FORMATS[ext]


def _atomic_write(path: Path, writer: Callable[[Path], None]) -> Path:
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise OrbitlatError(f"{path}: the folder {path.parent} does not exist; create it first.")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".part")
    os.close(fd)
    try:
        writer(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _netcdf_safe(ds):
    """A copy whose attrs and object/categorical variables NetCDF can store."""
    import pandas as pd

    ds = ds.copy()

    def clean(attrs: dict) -> dict:
        out = {}
        for k, v in attrs.items():
            if isinstance(v, (bool, np.bool_)):
                out[k] = int(v)
            elif isinstance(v, (str, int, float, np.integer, np.floating)):
                out[k] = v
            elif isinstance(v, (list, tuple, np.ndarray)) and all(isinstance(x, (int, float, np.number)) for x in v):
                out[k] = np.asarray(v)
            elif v is None:
                continue
            else:
                out[k] = str(v)
        return out

    ds.attrs = clean(ds.attrs)
    for name in list(ds.variables):
        var = ds[name]
        ds[name].attrs = clean(var.attrs)
        dt = var.dtype
        if isinstance(dt, pd.CategoricalDtype) or dt == object:
            ds[name] = var.astype(str)
        elif dt == bool:
            ds[name] = var.astype(np.int8)
            ds[name].attrs.update(clean(var.attrs), flag_values="0 1", flag_meanings="false true")
    return ds


def write_table(obj: Any, path: str | os.PathLike, *, fmt: str | None = None, index: bool | None = None) -> Path:
    """Write a DataFrame, Series, Dataset or DataArray to CSV, Parquet or NetCDF (by extension).

    Parameters
    ----------
    obj : pandas.DataFrame, pandas.Series, xarray.Dataset or xarray.DataArray
        Labelled data. A Dataset written to CSV/Parquet becomes one row per
        coordinate combination (:meth:`xarray.Dataset.to_dataframe`); a
        DataFrame written to NetCDF becomes a Dataset over its index.
    path : path
        Output file; ``.csv``, ``.parquet`` or ``.nc``.
    fmt : {"csv", "parquet", "netcdf"}, optional
        Override the format picked from the extension.
    index : bool, optional
        Keep the DataFrame index as columns (default: when it is not a plain range).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_table(pd.DataFrame({"a": [1, 2]}), p)
    >>> p.read_text().splitlines()
    ['a', '1', '2']
    """
    import pandas as pd
    import xarray as xr

    f = table_format(path, fmt)
    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    if isinstance(obj, xr.DataArray):
        obj = obj.to_dataset(name=obj.name or "value")
    if isinstance(obj, xr.Dataset):
        if f == "netcdf":
            ds = _netcdf_safe(obj)
            return _atomic_write(Path(path), lambda p: ds.to_netcdf(p))
        obj = obj.to_dataframe()
        index = True if index is None else index
    if not isinstance(obj, pd.DataFrame):
        raise OrbitlatError(f"write_table takes a pandas DataFrame/Series or an xarray Dataset/DataArray; "
                            f"got {type(obj).__name__}.")
    df = obj
    if index is None:
        index = not (isinstance(df.index, pd.RangeIndex) and df.index.name is None)
    if f == "csv":
        return _atomic_write(Path(path), lambda p: df.to_csv(p, index=index))
    if f == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise OrbitlatError("writing Parquet needs pyarrow: pip install pyarrow (or write .csv / .nc).") from None
        out = df.copy()
        for c in out.columns:  # tuples (routed paths) -> lists, which Arrow stores as list<int>
            if out[c].dtype == object and len(out) and isinstance(out[c].iloc[0], tuple):
                out[c] = out[c].map(list)
        out.attrs = {}
        return _atomic_write(Path(path), lambda p: out.to_parquet(p, index=index))
    # netcdf
    out = df if index else df.reset_index(drop=True)
    if isinstance(out.index, pd.RangeIndex):
        out = out.rename_axis(out.index.name or "row")
    for c in out.columns:
        if out[c].dtype == object and len(out) and isinstance(out[c].iloc[0], (tuple, list)):
            out = out.assign(**{c: out[c].map(lambda t: " ".join(map(str, t)))})
    ds = xr.Dataset.from_dataframe(out)
    ds.attrs = {k: v for k, v in getattr(df, "attrs", {}).items()}
    ds = _netcdf_safe(ds)
    return _atomic_write(Path(path), lambda p: ds.to_netcdf(p))


def ephemeris_table(eph) -> "Any":
    """One row per (time, satellite): ``time, sat, name, x_km, y_km, z_km`` (and ``vx_km_s``... if present).

    The frame is the ephemeris' (``attrs["frame"]``, kept in ``df.attrs``); satellites
    that failed to propagate keep their rows with NaN and ``failed=True``.
    """
    import pandas as pd

    if "position" not in eph or eph["position"].dims != ("time", "sat", "xyz"):
        raise OrbitlatError("an ephemeris needs `position` with dims (time, sat, xyz) "
                            "(from orbitlat.propagation.propagate).")
    nt, ns = eph.sizes["time"], eph.sizes["sat"]
    pos = eph["position"].to_numpy().reshape(nt * ns, 3)
    cols = {
        "time": np.repeat(eph["time"].to_numpy(), ns),
        "sat": np.tile(np.arange(ns), nt),
        "name": np.tile(np.asarray(eph["name"].to_numpy() if "name" in eph.coords else np.arange(ns), dtype=str), nt),
        "x_km": pos[:, 0], "y_km": pos[:, 1], "z_km": pos[:, 2],
    }
    if "velocity" in eph:
        vel = eph["velocity"].to_numpy().reshape(nt * ns, 3)
        cols.update(vx_km_s=vel[:, 0], vy_km_s=vel[:, 1], vz_km_s=vel[:, 2])
    if "failed" in eph:
        cols["failed"] = np.tile(eph["failed"].to_numpy().astype(bool), nt)
    df = pd.DataFrame(cols)
    df.attrs = {"frame": str(eph.attrs.get("frame", "")), "backend": str(eph.attrs.get("backend", ""))}
    return df


# ---------------------------------------------------------------------------
# CZML
# ---------------------------------------------------------------------------
def _iso(t: np.datetime64) -> str:
    s = np.datetime_as_string(np.datetime64(t, "ms"), unit="ms")
    return s + "Z"


def _rgba(k: int) -> list[int]:
    r, g, b = _PALETTE[k % len(_PALETTE)]
    return [r, g, b, 255]


def to_czml(source: Any, start: Any = None, duration: Any = None, step: Any = None, *, times: Any = None,
            position: str = "cartesian", backend: str = "auto", name: str | None = None,
            interpolation_degree: int = 5, point_size: float = 3.0, path: bool | None = None,
            labels: bool | None = None, multiplier: float = 60.0, as_json: bool = False,
            indent: int | None = None) -> list[dict] | str:
    """CZML packets (Cesium) of a constellation's or an ephemeris' satellites.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here over ``start``/``duration``/``step`` or
        ``times``, in ITRS) or an ephemeris from
        :func:`orbitlat.propagation.propagate` in ITRS (or GCRS, cartesian only).
    start, duration, step, times
        The time grid for a constellation (not with an ephemeris).
    position : {"cartesian", "cartographic"}
        Earth-fixed metres (``FIXED`` frame) or ``cartographicDegrees`` (WGS84).
    backend : str
        Propagation backend for a constellation.
    name : str, optional
        Document name (default the constellation's name).
    interpolation_degree : int
        Lagrange degree (Cesium's ``interpolationDegree``; 5 suits 60 s LEO samples),
        reduced to one less than the number of samples when there are fewer.
    point_size : float
        Pixel size of each satellite's point.
    path : bool, optional
        Draw each satellite's orbit trail (default: only for up to 100 satellites).
    labels : bool, optional
        Show satellite names (default: only for up to 30 satellites).
    multiplier : float
        Clock speed-up when Cesium plays the scene.
    as_json : bool
        Return the JSON text instead of the packet list.
    indent : int, optional
        JSON indentation with ``as_json``.

    Returns
    -------
    list of dict, or str
        ``[document, satellite...]`` packets (or their JSON).
    """
    import xarray as xr

    from .constellation import Constellation

    if position not in CZML_POSITIONS:
        raise OrbitlatError(f"position={position!r} is not known; use 'cartesian' (Earth-fixed metres) or "
                            "'cartographic' (WGS84 degrees and metres).")
    if isinstance(interpolation_degree, bool) or not isinstance(interpolation_degree, (int, np.integer)) \
            or not 1 <= interpolation_degree <= 15:
        raise OrbitlatError(f"interpolation_degree={interpolation_degree!r} must be an integer in 1..15 "
                            "(5 suits LEO at 60 s).")
    if isinstance(source, Constellation):
        if times is None and (start is None or duration is None or step is None):
            raise OrbitlatError("to_czml with a Constellation needs start, duration and step (or times), e.g. "
                                "to_czml(c, '2026-01-01', '90min', '60s').")
        eph = source.propagate(times, start=start, duration=duration, step=step, backend=backend, frame="ITRS",
                               velocity=False)
        doc_name = name or source.name
    elif isinstance(source, xr.Dataset):
        if any(v is not None for v in (start, duration, step, times)):
            raise OrbitlatError("an ephemeris brings its own times; drop start/duration/step/times.")
        if "position" not in source or source["position"].dims != ("time", "sat", "xyz"):
            raise OrbitlatError("an ephemeris needs `position` with dims (time, sat, xyz) in km.")
        eph = source
        doc_name = name or str(eph.attrs.get("constellation", "orbitlat"))
    else:
        raise OrbitlatError(f"to_czml takes a Constellation or an ephemeris Dataset; got {type(source).__name__}.")
    frame = str(eph.attrs.get("frame", "ITRS")).upper()
    if frame not in ("ITRS", "GCRS"):
        raise OrbitlatError(f"the ephemeris is in {frame}; CZML needs ITRS (Earth-fixed) or GCRS (inertial): "
                            "propagate(..., frame='ITRS').")
    if frame == "GCRS" and position == "cartographic":
        raise OrbitlatError("cartographic positions need an Earth-fixed (ITRS) ephemeris; this one is GCRS. "
                            "Use position='cartesian' or propagate(..., frame='ITRS').")
    t = eph["time"].to_numpy().astype("datetime64[ns]")
    if t.size < 1:
        raise OrbitlatError("the ephemeris has no time steps.")
    epoch = t[0]
    sec = np.round((t - epoch).astype(np.int64) * 1e-9, 6)
    pos = np.asarray(eph["position"].to_numpy(), dtype=np.float64)  # (time, sat, 3) km
    ns = pos.shape[1]
    ok = np.isfinite(pos).all(axis=-1)
    if "failed" in eph:
        ok &= ~eph["failed"].to_numpy().astype(bool)[None, :]
    names = (np.asarray(eph["name"].to_numpy(), dtype=str) if "name" in eph.coords
             else np.array([f"sat{k}" for k in range(ns)]))
    shells = np.asarray(eph["shell"].to_numpy(), dtype=str) if "shell" in eph.coords else np.full(ns, "")
    shell_ids = {s: k for k, s in enumerate(dict.fromkeys(shells.tolist()))}
    if position == "cartographic":
        from .geodesy import itrs_to_geodetic

        lat, lon, alt = itrs_to_geodetic(np.where(ok[..., None], pos, 0.0))
        lat, lon, alt = (np.asarray(a, dtype=np.float64) for a in (lat, lon, alt))
    show_path = ns <= 100 if path is None else bool(path)
    show_label = ns <= 30 if labels is None else bool(labels)
    dt = float(np.median(np.diff(sec))) if sec.size > 1 else 60.0
    packets: list[dict] = []
    dropped = []
    ref = "FIXED" if frame == "ITRS" else "INERTIAL"
    for k in range(ns):
        m = ok[:, k]
        n = int(m.sum())
        if n == 0:
            dropped.append(str(names[k]))
            continue
        ts = sec[m]
        if position == "cartesian":
            xyz = pos[m, k] * 1000.0
            samples = np.column_stack([ts, np.round(xyz, 3)])
            key = "cartesian"
        else:
            lo = np.degrees(np.unwrap(np.radians(lon[m, k])))
            samples = np.column_stack([ts, np.round(lo, 7), np.round(lat[m, k], 7), np.round(alt[m, k] * 1000.0, 3)])
            key = "cartographicDegrees"
        deg = int(min(interpolation_degree, max(1, n - 1)))
        pk: dict[str, Any] = {
            "id": f"sat/{k}",
            "name": str(names[k]),
            "availability": f"{_iso(epoch + np.timedelta64(int(round(ts[0] * 1e9)), 'ns'))}/"
                            f"{_iso(epoch + np.timedelta64(int(round(ts[-1] * 1e9)), 'ns'))}",
            "description": f"{names[k]}" + (f" (shell {shells[k]})" if shells[k] else ""),
            "position": {
                "epoch": _iso(epoch),
                "referenceFrame": ref,
                "interpolationAlgorithm": "LAGRANGE",
                "interpolationDegree": deg,
                key: samples.ravel().tolist(),
            },
            "point": {"pixelSize": float(point_size), "color": {"rgba": _rgba(shell_ids[shells[k]])}},
        }
        if show_path:
            pk["path"] = {"show": True, "width": 1, "leadTime": 0, "trailTime": float(min(sec[-1], 3000.0)),
                          "resolution": dt, "material": {"solidColor": {"color": {"rgba": _rgba(shell_ids[shells[k]])}}}}
        if show_label:
            pk["label"] = {"text": str(names[k]), "font": "11px sans-serif", "pixelOffset": {"cartesian2": [8, 0]},
                           "fillColor": {"rgba": [255, 255, 255, 255]}}
        packets.append(pk)
    desc = f"{len(packets)} satellites from orbitlat ({position}, {ref} frame, {sec.size} samples every {dt:g} s)."
    if dropped:
        desc += (f" {len(dropped)} satellites have no valid position and are left out: "
                 f"{', '.join(dropped[:20])}{' ...' if len(dropped) > 20 else ''}.")
    doc = {
        "id": "document",
        "name": str(doc_name),
        "version": "1.0",
        "description": desc,
        "clock": {"interval": f"{_iso(t[0])}/{_iso(t[-1])}", "currentTime": _iso(t[0]), "multiplier": float(multiplier),
                  "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"},
    }
    out = [doc] + packets
    return czml_json(out, indent=indent) if as_json else out


def czml_json(packets: list[dict], indent: int | None = None) -> str:
    """JSON text of CZML packets (strict JSON: raises OrbitlatError on NaN or infinity)."""
    try:
        return json.dumps(packets, indent=indent, allow_nan=False, separators=None if indent else (",", ":"))
    except ValueError as exc:
        raise OrbitlatError(f"the CZML holds a value JSON cannot store ({exc}); drop NaN positions first.") from None


def write_czml(path: str | os.PathLike, source: Any, *args: Any, **kwargs: Any) -> Path:
    """Write :func:`to_czml` packets (or given packets) to ``path`` atomically; returns the path."""
    packets = source if isinstance(source, list) else to_czml(source, *args, **kwargs)
    text = czml_json(packets)
    return _atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
