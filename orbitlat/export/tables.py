"""Tables to files: CSV, Parquet and NetCDF chosen by extension, written atomically.

:func:`write_table` writes a DataFrame, a Dataset or a result object (coverage, latency, passes) to
one file through a temporary sibling and ``os.replace``, so a reader never sees half a file;
:func:`ephemeris_table` flattens an ephemeris to one row per (time, sat).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, Callable
import numpy as np
from orbitlat.errors import OrbitlatError

__all__ = ["TABLE_FORMATS", "table_format", "write_table", "ephemeris_table"]


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
