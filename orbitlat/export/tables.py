"""Tables to files: CSV, Parquet and NetCDF chosen by extension, written atomically.

:func:`write_table` writes a DataFrame, a Dataset or a result object (coverage, latency, passes) to
one file through a temporary sibling and ``os.replace``, so a reader never sees half a file (an
interrupted write removes its temporary file); the file gets the permissions the umask gives a new
file, as any other program's output would. :func:`ephemeris_table` flattens an ephemeris to one
row per (time, sat). :func:`atomic_write` is the replace-in-one-step primitive for other writers.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any
import numpy as np
from orbitlat.atomic import atomic_write  # re-exported: the one way orbitlat writes files
from orbitlat.errors import OrbitlatError

__all__ = ["TABLE_FORMATS", "table_format", "write_table", "ephemeris_table", "atomic_write", "escape_formulas"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: File extensions and the table format they select.
TABLE_FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".nc": "netcdf", ".nc4": "netcdf",
                 ".netcdf": "netcdf"}

_FORMAT_NAMES = ("csv", "parquet", "netcdf")

# ---------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------
def table_format(path: str | os.PathLike, fmt: str | None = None) -> str:
    """The table format (``"csv"``, ``"parquet"`` or ``"netcdf"``) for ``path``, or ``fmt`` if given.

    >>> table_format("out.parquet"), table_format("x.nc"), table_format("x.dat", "csv")
    ('parquet', 'netcdf', 'csv')
    """
    ext = Path(path).suffix.lower()
    if fmt is not None and str(fmt).lower() not in ("", "auto"):
        f = str(fmt).lower()
        f = {"nc": "netcdf", "pq": "parquet"}.get(f, f)
        if f not in _FORMAT_NAMES:
            raise OrbitlatError(f"format {fmt!r} is not known; use one of {', '.join(_FORMAT_NAMES)} "
                                "(or leave it out to pick by file extension).")
        if ext in TABLE_FORMATS and TABLE_FORMATS[ext] != f:
            raise OrbitlatError(f"format {fmt!r} contradicts the extension {ext} of {path} ({TABLE_FORMATS[ext]}); "
                                "drop the format or change the extension.")
        return f
    if ext not in TABLE_FORMATS:
        raise OrbitlatError(
            f"{path}: cannot tell the format from the extension {ext or '(none)'!r}; use .csv, .parquet or .nc "
            "(NetCDF), or give the format explicitly."
        )
    return TABLE_FORMATS[ext]

_atomic_write = atomic_write

#: First characters that make a spreadsheet evaluate a CSV cell as a formula (OWASP "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formulas(df):
    """A copy of ``df`` whose text cells starting with ``= + - @`` (or tab, CR) get a leading ``'``.

    Spreadsheets run such cells as formulas (OWASP, "CSV Injection"; docs/references.md): a site
    named ``=HYPERLINK(...)`` in a CSV written by orbitlat must stay text. Only text columns (object,
    string and categorical of strings) and a text index are touched; numbers are left alone.

    >>> import pandas as pd
    >>> escape_formulas(pd.DataFrame({"name": ["=1+2", "Paris"], "x": [-1.0, 2.0]})).name.tolist()
    ["'=1+2", 'Paris']
    """
    import pandas as pd

    def fix(v):
        return "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v

    out = None
    for c in df.columns:
        col = df[c]
        dt = col.dtype
        if isinstance(dt, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or isinstance(cats.dtype, pd.StringDtype):
                new = [fix(v) for v in cats]
                if list(new) != list(cats):
                    out = df.copy() if out is None else out
                    out[c] = col.cat.rename_categories(new)
        elif dt == object or isinstance(dt, pd.StringDtype):
            vals = col.to_numpy(dtype=object)
            hit = [isinstance(v, str) and v.startswith(_FORMULA_START) for v in vals]
            if any(hit):
                out = df.copy() if out is None else out
                out[c] = [fix(v) for v in vals]
    idx = df.index
    if not isinstance(idx, pd.MultiIndex) and (idx.dtype == object or isinstance(idx.dtype, pd.StringDtype)):
        if any(isinstance(v, str) and v.startswith(_FORMULA_START) for v in idx):
            out = df.copy() if out is None else out
            out.index = pd.Index([fix(v) for v in idx], name=idx.name)
    return df if out is None else out


def netcdf_attrs(attrs: dict) -> dict:
    """Attributes NetCDF can store: booleans as 0/1, numeric sequences as arrays, None dropped, the rest as text."""
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


def _netcdf_safe(ds):
    """A copy whose attrs and text variables (object, categorical, pandas strings) NetCDF can store."""
    import xarray as xr

    ds = ds.copy()

    ds.attrs = netcdf_attrs(ds.attrs)
    for name in list(ds.variables):
        var = ds[name]
        ds[name].attrs = netcdf_attrs(var.attrs)
        dt = var.dtype
        if not isinstance(dt, np.dtype) or dt == object:  # categorical, pandas strings (pandas 3), objects
            vals = np.asarray(var.values, dtype=object)
            text = np.array(["" if v is None or (isinstance(v, float) and v != v) else str(v) for v in vals.ravel()],
                            dtype=str).reshape(vals.shape)
            ds[name] = xr.Variable(var.dims, text, dict(var.attrs))
        elif dt == bool:
            ds[name] = var.astype(np.int8)
            ds[name].attrs.update(netcdf_attrs(var.attrs), flag_values="0 1", flag_meanings="false true")
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
        safe = escape_formulas(df)
        return _atomic_write(Path(path), lambda p: safe.to_csv(p, index=index))
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
                            "(from orbitlat.orbits.propagation.propagate).")
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
