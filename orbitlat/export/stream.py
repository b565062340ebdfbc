"""Results too big for memory, written to disk in pieces: ephemerides by time chunk, passes by block of sites.

:class:`TableStream` appends DataFrames to one CSV, Parquet or NetCDF file (rows along an unlimited
``row`` dimension); :func:`write_ephemeris` propagates a constellation chunk by chunk into a file
(NetCDF keeps the ``(time, sat, xyz)`` layout of :func:`~orbitlat.orbits.propagation.propagate`
along an unlimited ``time`` dimension; CSV/Parquet get one row per time and satellite);
:func:`write_passes` computes passes for blocks of sites and appends each block. Memory stays near
one piece. Files are written to a temporary sibling and moved into place when complete
(:func:`orbitlat.atomic.atomic_write`), so an interrupted run leaves no partial file.

The commands use them when the estimate of the whole result does not fit in memory
(``orbitlat propagate ... --out``, ``orbitlat passes ... --out``).
"""
from __future__ import annotations

import os
import tempfile
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

from orbitlat.atomic import new_file_mode
from orbitlat.errors import OrbitlatError
from orbitlat.export.tables import netcdf_attrs

__all__ = ["TableStream", "write_ephemeris", "write_passes", "chunk_steps_for"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_NS_UNITS = "nanoseconds since 1970-01-01T00:00:00"


def _netcdf4():
    try:
        import netCDF4
    except ImportError:
        raise OrbitlatError("writing NetCDF in pieces needs the netCDF4 package: pip install netCDF4 (or write .csv "
                            "or .parquet).") from None
    return netCDF4


class TableStream:
    """Append DataFrames with the same columns to one CSV, Parquet or NetCDF file.

    >>> import pandas as pd, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> with TableStream(p) as w:
    ...     w.write(pd.DataFrame({"a": [1, 2]}))
    ...     w.write(pd.DataFrame({"a": [3]}))
    >>> p.read_text().split()
    ['a', '1', '2', '3']
    """

    def __init__(self, path: str | os.PathLike, fmt: str | None = None):
        from orbitlat.export.tables import table_format

        self.path = Path(path)
        self.fmt = table_format(self.path, fmt)
        self.rows = 0
        self._tmp: str | None = None
        self._writer: Any = None
        self._nc: Any = None
        self._columns: list | None = None
        self.attrs: dict = {}

    def __enter__(self) -> "TableStream":
        parent = self.path.parent if str(self.path.parent) else Path(".")
        if self.path.is_dir():
            raise OrbitlatError(f"{self.path} is a folder; give a file name inside it.")
        try:
            fd, self._tmp = tempfile.mkstemp(dir=parent, prefix=self.path.name + ".", suffix=".part")
        except OSError as exc:
            raise OrbitlatError(f"{self.path}: cannot write in the folder {parent} ({exc.strerror or exc}).") from None
        os.close(fd)
        return self

    def write(self, df) -> None:
        import pandas as pd

        df = df.reset_index(drop=True)
        for c in df.columns:  # categories differ between pieces: plain text
            if isinstance(df[c].dtype, pd.CategoricalDtype):
                df[c] = df[c].astype(str)
        if self._columns is None:
            self._columns = list(df.columns)
            self.attrs = dict(getattr(df, "attrs", {}))
        elif list(df.columns) != self._columns:
            raise OrbitlatError(f"TableStream: columns changed from {self._columns} to {list(df.columns)}.")
        if self.fmt == "csv":
            from orbitlat.export.tables import escape_formulas

            escape_formulas(df).to_csv(self._tmp, mode="w" if self.rows == 0 else "a", header=self.rows == 0,
                                       index=False)
        elif self.fmt == "parquet":
            import pyarrow as pa
            import pyarrow.parquet as pq

            t = pa.Table.from_pandas(df, preserve_index=False)
            if self._writer is None:
                self._writer = pq.ParquetWriter(self._tmp, t.schema)
            self._writer.write_table(t.cast(self._writer.schema))
        else:
            self._write_netcdf(df)
        self.rows += len(df)

    def _write_netcdf(self, df) -> None:
        nc4 = _netcdf4()
        if self._nc is None:
            self._nc = nc4.Dataset(self._tmp, "w", format="NETCDF4")
            self._nc.createDimension("row", None)
            for c in df.columns:
                col = df[c]
                if np.issubdtype(col.dtype, np.datetime64):
                    v = self._nc.createVariable(c, "i8", ("row",))
                    v.units, v.calendar = _NS_UNITS, "proleptic_gregorian"
                elif col.dtype == bool:
                    v = self._nc.createVariable(c, "i1", ("row",))
                    v.flag_values, v.flag_meanings = "0 1", "false true"
                elif np.issubdtype(col.dtype, np.number):
                    self._nc.createVariable(c, col.to_numpy().dtype, ("row",))
                else:
                    self._nc.createVariable(c, str, ("row",))
            self._nc.setncatts(netcdf_attrs(self.attrs))
        n0 = len(self._nc.dimensions["row"])
        n = len(df)
        for c in df.columns:
            col = df[c]
            if np.issubdtype(col.dtype, np.datetime64):
                vals = col.to_numpy().astype("datetime64[ns]").astype(np.int64)
            elif col.dtype == bool:
                vals = col.to_numpy().astype(np.int8)
            elif np.issubdtype(col.dtype, np.number):
                vals = col.to_numpy()
            else:
                vals = np.array(["" if x is None else str(x) for x in col.to_numpy(dtype=object)], dtype=object)
            self._nc[c][n0:n0 + n] = vals

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if self._writer is not None:
                self._writer.close()
            if self._nc is not None:
                self._nc.close()
            if exc_type is None:
                if self.rows == 0 and self.fmt != "csv":
                    raise OrbitlatError(f"{self.path}: nothing to write (no rows).")
                os.chmod(self._tmp, new_file_mode())
                os.replace(self._tmp, self.path)
                self._tmp = None
        finally:
            if self._tmp is not None and os.path.exists(self._tmp):
                os.unlink(self._tmp)
        return False


def chunk_steps_for(n_sat: int, n_times: int, bytes_per_sample: float = 51.0, budget: float | None = None) -> int:
    """Time steps per piece so that one piece uses about a quarter of the memory budget (at most 512 MiB)."""
    from orbitlat.memory import HEADROOM, available_bytes

    avail = available_bytes() if budget is None else budget / HEADROOM
    target = min(512 * 2**20, 0.25 * HEADROOM * (avail or 2**31))
    return int(max(1, min(n_times, target // max(1.0, n_sat * bytes_per_sample))))


def write_ephemeris(constellation, path: str | os.PathLike, *, times: Any = None, start: Any = None,
                    duration: Any = None, step: Any = None, backend: str = "auto", frame: str = "ITRS",
                    velocity: bool = True, fmt: str | None = None, chunk_steps: int | None = None,
                    progress: Callable[[int, int], None] | None = None) -> dict:
    """Propagate ``constellation`` in time chunks straight into a file; return a summary.

    The file holds what :func:`~orbitlat.orbits.propagation.propagate` would return for the whole
    span (NetCDF: the same variables over ``(time, sat, xyz)``, with ``error_code``, ``failed`` and
    ``failed_steps`` over the whole span; CSV/Parquet: :func:`~orbitlat.export.tables.ephemeris_table`
    rows, where ``failed`` says whether the satellite failed within that row's chunk), without
    holding more than one chunk in memory.

    Returns
    -------
    dict
        ``n_times``, ``n_sat``, ``start``, ``end``, ``n_failed``, ``height_km`` (min, mean, max of the
        distance above the equatorial radius over valid samples), ``chunk_steps``, ``backend``, ``frame``.
    """
    from orbitlat.constants import WGS84_A_KM
    from orbitlat.errors import EpochWarning, PropagationWarning
    from orbitlat.export.tables import _netcdf_safe, ephemeris_table, table_format
    from orbitlat.orbits.propagation import SGP4_ERRORS, propagate
    from orbitlat.time import TimeGrid, to_timegrid

    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    f = table_format(path, fmt)
    n_sat, n_t = constellation.size, len(tg)
    if chunk_steps is None:
        chunk_steps = chunk_steps_for(n_sat, n_t, 51.0 if velocity else 27.0)
    first_code = np.zeros(n_sat, np.int8)
    n_bad = np.zeros(n_sat, np.int32)
    h_min, h_max, h_sum, h_n = np.inf, -np.inf, 0.0, 0
    done = 0
    out = Path(path)
    attrs: dict = {}
    caught: list = []

    def chunks():
        for k0 in range(0, n_t, chunk_steps):
            sub = tg[k0:k0 + chunk_steps]
            with warnings.catch_warnings(record=True) as wl:
                warnings.simplefilter("always")
                e = propagate(constellation, sub, backend=backend, frame=frame, velocity=velocity)
            caught.extend(w for w in wl if not issubclass(w.category, (EpochWarning, PropagationWarning)))
            yield e

    if f == "netcdf":
        nc4 = _netcdf4()
        parent = out.parent if str(out.parent) else Path(".")
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=out.name + ".", suffix=".part")
        os.close(fd)
        nc = None
        try:
            for e in chunks():
                if nc is None:
                    head = e.drop_vars(["error_code", "failed", "failed_steps"])
                    ds = _netcdf_safe(head)
                    enc = {"time": {"units": _NS_UNITS, "dtype": "int64", "calendar": "proleptic_gregorian"}}
                    ds.to_netcdf(tmp, unlimited_dims=["time"], encoding=enc, engine="netcdf4")
                    attrs = dict(e.attrs)
                    nc = nc4.Dataset(tmp, "a")
                else:
                    n0 = len(nc.dimensions["time"])
                    k = e.sizes["time"]
                    nc["time"][n0:n0 + k] = e["time"].to_numpy().astype("datetime64[ns]").astype(np.int64)
                    nc["position"][n0:n0 + k] = e["position"].to_numpy()
                    if velocity:
                        nc["velocity"][n0:n0 + k] = e["velocity"].to_numpy()
                done, h_min, h_max, h_sum, h_n = _accumulate(e, first_code, n_bad, done, h_min, h_max, h_sum, h_n,
                                                             WGS84_A_KM)
                if progress is not None:
                    progress(done, n_t)
            failed = n_bad > 0
            v = nc.createVariable("error_code", "i1", ("sat",))
            v[:] = first_code
            v.long_name = "first SGP4 error code (0 = none)"
            v.flag_meanings = "; ".join(f"{k}: {m}" for k, m in SGP4_ERRORS.items() if k)
            v = nc.createVariable("failed", "i1", ("sat",))
            v[:] = failed.astype(np.int8)
            v.long_name, v.flag_values, v.flag_meanings = ("satellite failed to propagate at some time", "0 1",
                                                           "false true")
            v = nc.createVariable("failed_steps", "i4", ("sat",))
            v[:] = n_bad
            v.long_name = "number of time steps with an error"
            nc.setncatts(netcdf_attrs({**attrs, "n_failed": int(failed.sum()), "step_s": float(tg.step_s),
                                       "streamed_chunk_steps": int(chunk_steps)}))
            nc.close()
            nc = None
            os.chmod(tmp, new_file_mode())
            os.replace(tmp, out)
        except BaseException:
            if nc is not None:
                nc.close()
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    else:
        with TableStream(out, fmt) as w:
            for e in chunks():
                w.write(ephemeris_table(e))
                attrs = dict(e.attrs)
                done, h_min, h_max, h_sum, h_n = _accumulate(e, first_code, n_bad, done, h_min, h_max, h_sum, h_n,
                                                             WGS84_A_KM)
                if progress is not None:
                    progress(done, n_t)
    for w_ in caught:
        warnings.warn(w_.message, w_.category, stacklevel=2)
    n_failed = int((n_bad > 0).sum())
    if n_failed:
        warnings.warn(f"{n_failed} of {n_sat} satellites failed to propagate; they are flagged in the file "
                      "(failed, error_code) and their positions are NaN where they failed.", PropagationWarning,
                      stacklevel=2)
    return {"n_times": n_t, "n_sat": n_sat, "start": str(tg.utc[0]), "end": str(tg.utc[-1]), "n_failed": n_failed,
            "height_km": (float(h_min), float(h_sum / h_n) if h_n else float("nan"), float(h_max)) if h_n else None,
            "chunk_steps": int(chunk_steps), "backend": attrs.get("backend"), "frame": attrs.get("frame"),
            "sgp4_kernel": attrs.get("sgp4_kernel")}


def _accumulate(e, first_code, n_bad, done, h_min, h_max, h_sum, h_n, radius):
    code = e["error_code"].to_numpy().astype(np.int8)
    new = (first_code == 0) & (code != 0)
    first_code[new] = code[new]
    n_bad += e["failed_steps"].to_numpy().astype(np.int32)
    h = np.linalg.norm(e["position"].to_numpy(), axis=-1) - radius
    ok = np.isfinite(h)
    if ok.any():
        hv = h[ok]
        h_min, h_max = min(h_min, float(hv.min())), max(h_max, float(hv.max()))
        h_sum += float(hv.sum())
        h_n += int(hv.size)
    return done + e.sizes["time"], h_min, h_max, h_sum, h_n


def write_passes(source, sites, path: str | os.PathLike, *, site_block: int | None = None, fmt: str | None = None,
                 progress: Callable[[int, int], None] | None = None, **passes_kwargs) -> dict:
    """Passes of ``source`` over ``sites`` computed for blocks of sites and appended to one file.

    Each block is an independent :func:`~orbitlat.visibility.windows.passes` run (passes of
    different sites do not interact), so the rows are those of one whole run; they are sorted by
    rise time within each block of sites (sort after reading for a global order). ``site_block``
    defaults to the number of sites whose passes fit in about a quarter of the memory budget.

    Returns
    -------
    dict
        ``passes`` (rows written), ``per_site`` (a DataFrame: passes, satellites, mean duration,
        max elevation per site label), ``site_block``, ``attrs`` (of the first block).
    """
    import pandas as pd

    from orbitlat.memory import HEADROOM, available_bytes
    from orbitlat.visibility.windows import estimate_passes, passes

    labels = np.asarray(sites.labels, dtype=object)
    n = len(sites)
    if site_block is None:
        est = estimate_passes(source, sites, **{k: v for k, v in passes_kwargs.items()
                                                if k in ("times", "start", "duration", "step", "min_elevation_deg")})
        per_site = (est["bytes"] - est["work_bytes"]) / max(n, 1)  # the table grows with the sites
        room = 0.5 * HEADROOM * (available_bytes() or 2**31) - est["work_bytes"]  # the sweep's own memory is fixed
        site_block = int(max(1, min(n, room // max(per_site, 1.0))))
    stats = []
    attrs: dict = {}
    rows = 0
    with TableStream(path, fmt) as w:
        for k0 in range(0, n, site_block):
            block = sites.subset(np.arange(k0, min(n, k0 + site_block)))
            df = passes(source, block, **passes_kwargs)
            df["site"] = df["site"].to_numpy() + k0
            df["site_name"] = labels[df["site"].to_numpy()]  # labels of the whole site list, not of the block
            if not attrs:
                attrs = dict(df.attrs)
            stats.append(df.groupby("site_name", sort=False).agg(
                passes=("sat", "size"), satellites=("sat", "nunique"), mean_duration_s=("duration_s", "mean"),
                max_elevation_deg=("max_elevation_deg", "max")))
            w.write(df)
            rows += len(df)
            if progress is not None:
                progress(min(n, k0 + site_block), n)
    per_site = pd.concat(stats) if stats else pd.DataFrame()
    per_site = per_site.reindex(list(labels)).fillna({"passes": 0, "satellites": 0})
    return {"passes": rows, "per_site": per_site, "site_block": int(site_block), "attrs": attrs}
