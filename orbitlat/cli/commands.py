"""The ``orbitlat`` command line.

Built with typer (``pip install orbitlat[cli]``). Every command explains itself
with ``--help``; outputs go to files chosen by extension (``.csv``, ``.parquet``,
``.nc`` NetCDF; ``.png`` maps; ``.czml`` for Cesium).

Exit codes, for scripts: **0** success; **2** bad input (an
:class:`~orbitlat.errors.OrbitlatError`, a missing file, a bad option), with a
one-line ``orbitlat: error: ...`` message on stderr; **1** an unexpected
failure (one line too; set ``ORBITLAT_DEBUG=1`` for the traceback).

Progress bars (rich, on stderr) show on long work when stderr is a terminal;
``--progress`` or ``ORBITLAT_PROGRESS=1`` forces them (logs, CI), and
``--no-progress`` or ``ORBITLAT_PROGRESS=0`` turns them off.

Examples
--------
orbitlat presets
orbitlat propagate starlink_gen1 --duration 1d --step 60s --out eph.nc --czml starlink.czml
orbitlat passes iridium --city London --site 47.37,8.54 --duration 1d --out passes.csv
orbitlat coverage kuiper --resolution 2 --duration 6h --map kuiper.png --out kuiper.nc
orbitlat latency starlink_gen1 --scenario isl --users 200 --map rtt.png
orbitlat compare starlink_gen1 kuiper oneweb --out compare.csv
orbitlat sweep --kind clusters --n-clusters 1,4,16 --planes 1,4 --kind on_relays --plot pareto.png
orbitlat report --out report/
orbitlat tle inspect starlink.tle
orbitlat tle fetch starlink
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

try:
    import typer
except ImportError:  # pragma: no cover - exercised only without the cli extra
    typer = None

from orbitlat.cli._options import (check_file_out, check_float, check_folder_out, check_image_out, check_input_file,
                                   check_int, check_mask, check_table_out)
from orbitlat.cli._runtime import (EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, Fail as _Fail, fail as _fail,  # noqa: F401
                                   guard as _guard, one_line as _one_line, one_line_group, print_err as _print_err,
                                   print_warning)

#: The public names: the typer ``app`` (where typer is installed), ``main`` and the exit codes.
__all__ = ["app", "main", "EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "SCENARIOS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Scenario names of ``orbitlat latency``.
SCENARIOS = ("isl", "bent-pipe", "orbital-dc", "city-pair")
#: ``--scheduler`` values accepted even without :mod:`orbitlat.scale` (the local default).
LOCAL_SCHEDULERS = ("threads",)


# ---------------------------------------------------------------------------
# output helpers
# ---------------------------------------------------------------------------
def _console(stderr: bool = False):
    """A rich console; when output is not a terminal (pipes, logs), 160 columns so tables do not fold."""
    try:
        from rich.console import Console
    except ImportError:  # pragma: no cover
        return None
    con = Console(stderr=stderr, highlight=False)
    if not con.is_terminal and "COLUMNS" not in os.environ:
        con = Console(stderr=stderr, highlight=False, width=160)
    return con


def _print_table(df, title: str | None = None, *, index: bool = False, max_rows: int | None = None) -> None:
    import pandas as pd

    if index:
        df = df.reset_index()
    shown = df if max_rows is None or len(df) <= max_rows else df.head(max_rows)
    con = _console()
    if con is None:  # pragma: no cover
        print(shown.to_string(index=False))
        return
    from rich.table import Table

    t = Table(title=title)
    for col in shown.columns:
        t.add_column(str(col), overflow="fold")
    for row in shown.itertuples(index=False):
        cells = []
        for v in row:
            if isinstance(v, float):
                cells.append("n/a" if v != v else f"{v:.5g}")
            elif isinstance(v, pd.Timestamp):
                cells.append(str(v)[:23])
            else:
                cells.append(str(v))
        t.add_row(*cells)
    con.print(t)
    if len(shown) < len(df):
        print(f"... {len(df) - len(shown)} more rows (write them all with --out FILE)")


def _progress_enabled(flag: Optional[bool]) -> bool:
    if flag is not None:
        return flag
    env = os.environ.get("ORBITLAT_PROGRESS", "").strip().lower()
    if env in ("1", "true", "yes", "on"):
        return True
    if env in ("0", "false", "no", "off"):
        return False
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover
        return False


class _Progress:
    """Rich progress on stderr (or nothing): ``with _Progress(flag) as p: t = p.task(...); p.advance(t)``."""

    def __init__(self, flag: Optional[bool]):
        self.on = _progress_enabled(flag)
        self._p = None

    def __enter__(self):
        if self.on:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            forced = not _safe_isatty()
            con = Console(stderr=True, force_terminal=True if forced else None, width=100 if forced else None)
            self._p = Progress(SpinnerColumn(), TextColumn("[progress.description]{task.description}"), BarColumn(),
                               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(), console=con,
                               refresh_per_second=4)
            self._p.__enter__()
        return self

    def task(self, description: str, total: float | None = 1) -> Any:
        return self._p.add_task(description, total=total) if self._p is not None else None

    def update(self, task, **kw) -> None:
        if self._p is not None and task is not None:
            self._p.update(task, **kw)

    def advance(self, task, n: float = 1) -> None:
        if self._p is not None and task is not None:
            self._p.advance(task, n)

    def __exit__(self, *exc):
        if self._p is not None:
            self._p.__exit__(*exc)
        return False


def _safe_isatty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # pragma: no cover
        return False


def _write(obj, path: Path, fmt: Optional[str] = None) -> None:
    from orbitlat.export.tables import write_table

    write_table(obj, path, fmt=fmt)
    print(f"wrote {path}")


def _check_out(path: Optional[Path], kinds: tuple[str, ...] = ("csv", "parquet", "netcdf"),
               fmt: Optional[str] = None, option: str = "--out") -> None:
    """Validate a table output before the long work starts (format, extension, a writable folder)."""
    check_table_out(path, option, fmt, kinds)


def _check_png(path: Optional[Path], option: str = "--map") -> None:
    check_image_out(path, option)


# ---------------------------------------------------------------------------
# input helpers
# ---------------------------------------------------------------------------
def _load_constellation(preset: Optional[str], tle: Optional[Path], *, option: str = "--tle"):
    """A preset by name, or an element-set file (TLE/3LE or OMM JSON/CSV, told apart by content)."""
    import orbitlat as ol

    if preset is not None and tle is not None:
        _fail(f"give either a preset ({preset!r}) or {option} {tle}, not both.")
    if tle is not None:
        check_input_file(tle, option, "element-set file")
        return ol.Constellation.from_file(tle)
    if preset is None:
        _fail(f"give a preset name (see `orbitlat presets`) or {option} FILE.")
    return ol.presets.get(preset)


def _start_for(c, start: Optional[str]) -> str:
    """The default start: a catalog's latest TLE epoch, else the designed elements' epoch."""
    if start is not None:
        return start
    import numpy as np

    return str(np.datetime64(c.table["epoch"].max(), "s"))


def _scheduler(value: Optional[str]) -> Optional[str]:
    """Validate --scheduler. None: the analysis's own default on this machine. A name or address: the
    runner of :mod:`orbitlat.scale` (which checks it and says what is valid)."""
    if value is None:
        return None
    v = value.strip()
    if not v:
        _fail("--scheduler is empty; use threads, processes, sync or a Dask scheduler address (tcp://host:8786).")
    return v


def _parse_latlon(text: str) -> tuple[float, float, float]:
    parts = [p.strip() for p in text.replace(";", ",").split(",") if p.strip()]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        vals = []
    if len(vals) not in (2, 3):
        _fail(f"--site {text!r}: give LAT,LON or LAT,LON,ALT_KM in degrees (and km), e.g. --site 47.37,8.54.")
    lat, lon = vals[0], vals[1]
    if not -90 <= lat <= 90 or not -180 <= lon < 360:
        _fail(f"--site {text!r}: latitude must be in [-90, 90] and longitude in [-180, 360) degrees.")
    return lat, lon, (vals[2] if len(vals) == 3 else 0.0)


def _build_sites(cities: Optional[int], city: List[str], site: List[str], sites_csv: Optional[Path],
                 min_elevation: float, default_cities: int, *, option_prefix: str = ""):
    """GroundSites from --cities N, --city NAME, --site LAT,LON and --sites CSV (all may be combined).

    Cities are found by GeoNames name or alternate name, case- and accent-insensitively
    (``Sao Paulo``, ``Munich``, ``Москва``). The same site given twice is used once (with a warning);
    different sites that share a name keep both, labelled apart (country code, then a counter).
    """
    import numpy as np
    import pandas as pd

    from orbitlat.ground.catalogs import city_suggestions, find_city, geonames_cities
    from orbitlat.ground.sites import GroundSites

    mask = check_mask(min_elevation, "--min-elevation")
    parts, origins = [], []
    if cities is not None:
        check_int(cities, "--cities", 1, hint="the N most populous cities (GeoNames), e.g. --cities 100.")
        parts.append(GroundSites.cities(top=cities).df)
        origins += [f"--cities {cities}"] * len(parts[-1])
    if city:
        allc = geonames_cities()
        for name in city:
            row = find_city(name)
            if row is None:
                close = city_suggestions(name)
                _fail(f"--city {name!r} is not a GeoNames city (>= 15,000 people; names and alternate names are "
                      "matched)" + (f"; did you mean {', '.join(close)}?" if close else "; use --site LAT,LON instead."))
            parts.append(allc.iloc[[row]].assign(kind="user"))
            origins.append(f"--city {name}")
    for k, text in enumerate(site):
        lat, lon, alt = _parse_latlon(text)
        parts.append(pd.DataFrame({"name": [f"site{k} ({lat:g},{lon:g})"], "lat_deg": [lat], "lon_deg": [lon],
                                   "alt_km": [alt], "kind": ["user"]}))
        origins.append(f"--site {text}")
    if sites_csv is not None:
        check_input_file(sites_csv, "--sites", "sites file")
        parts.append(GroundSites.from_csv(sites_csv).df)
        origins += [f"--sites {sites_csv}"] * len(parts[-1])
    if not parts:
        parts.append(GroundSites.cities(top=default_cities).df)
        origins += ["default"] * len(parts[-1])
    df = pd.concat(parts, ignore_index=True)
    keep = [c for c in df.columns if c in ("name", "lat_deg", "lon_deg", "alt_km", "population", "kind",
                                           "country_code")]
    df = df[keep].copy()
    if "alt_km" not in df.columns:
        df["alt_km"] = 0.0
    df["alt_km"] = df["alt_km"].fillna(0.0)
    same = df.duplicated(["name", "lat_deg", "lon_deg", "alt_km"], keep="first").to_numpy()
    if same.any():  # one rule: the same site twice is one site (said so), not two identical rows
        for i in np.flatnonzero(same):
            print_warning(f"{origins[i]}: {df['name'].iloc[i]!r} is already among the sites; using it once.")
        df = df[~same]
    df["min_elevation_deg"] = mask
    if "population" in df.columns:
        df["population"] = df["population"].astype(float)
    return GroundSites.from_dataframe(df.reset_index(drop=True), min_elevation_deg=np.full(len(df), mask))


def _height_stats(pos, valid, block: int = 256) -> tuple[float, float, float]:
    """min, mean, max of |r| - a (km) over valid satellites, a block of time steps at a time (no big temporaries)."""
    import numpy as np

    lo, hi, tot, n = np.inf, -np.inf, 0.0, 0
    for k in range(0, pos.shape[0], block):
        h = np.linalg.norm(pos[k:k + block][:, valid], axis=-1) - 6378.137
        h = h[np.isfinite(h)]
        if h.size:
            lo, hi, tot, n = min(lo, float(h.min())), max(hi, float(h.max())), tot + float(h.sum()), n + h.size
    return lo, (tot / n if n else float("nan")), hi


def _check_positive_int(value: int, what: str) -> None:
    check_int(value, what, 1)


PROGRESS_HELP = "Show progress bars on stderr (default: when stderr is a terminal; env ORBITLAT_PROGRESS=1/0)."
SCHEDULER_HELP = ("Where the chunks run (orbitlat.scale): sync, threads, processes, or a Dask "
                  "scheduler address such as tcp://host:8786. Default: this machine's cores. Same results "
                  "either way.")
TERRESTRIAL_HELP = ("Terrestrial model for the fiber baseline and gateway backhaul: routed (shortest route over "
                    "submarine cables and backbone links, the default) or simple (great circle x a fitted stretch).")
FORMAT_HELP = "Format of --out: csv, parquet or netcdf (default: from the file extension)."


if typer is not None:
    app = typer.Typer(
        help="orbitlat: who can see what, when, and how fast. Constellations, propagation, visibility, "
        "coverage and latency for satellite constellations.\n\n"
        "Every command takes a built-in preset (see `orbitlat presets`) or --tle FILE. Outputs are chosen by "
        "extension: .csv, .parquet, .nc (NetCDF), .png maps, .czml (Cesium). Exit codes: 0 ok, 2 bad input, "
        "1 unexpected error.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        cls=one_line_group(),
    )
    tle_app = typer.Typer(help="TLE catalogs: inspect a file (epochs, inferred shells) or fetch one from CelesTrak.",
                          no_args_is_help=True)
    app.add_typer(tle_app, name="tle")

    # -------------------------------------------------------------------- presets
    @app.command()
    @_guard
    def presets(
        details: bool = typer.Option(False, "--details", "-d", help="Show each preset's public source."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table (.csv/.parquet/.nc)."),
    ):
        """List the built-in constellation presets (satellite counts and sources)."""
        import orbitlat as ol

        _check_out(out)
        df = ol.presets.table()
        if not details:
            df = df[["preset", "kind", "satellites", "shells", "title"]]
        _print_table(df, title="orbitlat presets")
        if out is not None:
            _write(ol.presets.table(), out)

    # -------------------------------------------------------------------- propagate
    @app.command()
    @_guard
    def propagate(
        preset: Optional[str] = typer.Argument(None, help="Preset name (see `orbitlat presets`); or use --tle."),
        tle: Optional[Path] = typer.Option(None, "--tle", help="An element-set file instead of a preset: TLE/3LE "
                                           "(CelesTrak format) or OMM JSON/CSV."),
        start: Optional[str] = typer.Option(None, help="Start time (ISO 8601, UTC). Default: the latest TLE epoch "
                                            "for --tle, the elements' epoch (2026-01-01) for presets."),
        duration: str = typer.Option("1d", help="Duration, e.g. 90min, 6h, 1d."),
        step: str = typer.Option("60s", help="Step, e.g. 10s, 60s, 5min."),
        backend: str = typer.Option("auto", help="auto | sgp4 | kepler-j2 | boinor."),
        frame: str = typer.Option("ITRS", help="ITRS | GCRS | TEME."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the ephemeris: .nc (NetCDF, "
                                           "time x sat x xyz) or .csv/.parquet (one row per time and satellite)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        czml: Optional[Path] = typer.Option(None, "--czml", help="Also write a CZML scene for Cesium (.czml)."),
        czml_position: str = typer.Option("cartesian", help="CZML positions: cartesian (Earth-fixed metres, FIXED "
                                          "frame) or cartographic (WGS84 degrees)."),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
    ):
        """Build a constellation, propagate it, print a summary; optionally write the ephemeris and a CZML scene."""

        _check_out(out, fmt=fmt)
        check_file_out(czml, "--czml", (".czml", ".json"))
        if czml_position not in ("cartesian", "cartographic"):
            _fail(f"--czml-position {czml_position!r}: use cartesian or cartographic.")
        if czml is not None and frame.strip().upper() not in ("ITRS", "GCRS"):
            _fail(f"--czml needs an ITRS (Earth-fixed) or GCRS ephemeris; got --frame {frame}.")
        c = _load_constellation(preset, tle)
        start = _start_for(c, start)
        from orbitlat.memory import fits, format_bytes
        from orbitlat.orbits.propagation import estimate_memory
        from orbitlat.time import to_timegrid

        tg = to_timegrid(start=start, duration=duration, step=step)
        need = estimate_memory(c.size, len(tg))
        _print_table(c.shells.reset_index().round(2), title=f"{c.name}: {c.size} satellites")
        if out is not None and czml is None and not fits(need):
            # too big for memory: propagate in time chunks straight into the file
            from orbitlat.export.stream import write_ephemeris

            with _Progress(progress) as p:
                t = p.task(f"propagating {c.size} satellites into {out}", total=len(tg))
                t0 = time.perf_counter()
                summ = write_ephemeris(c, out, times=tg, backend=backend, frame=frame, fmt=fmt,
                                       progress=lambda i, n: p.update(t, completed=i))
                dt = time.perf_counter() - t0
            h = summ["height_km"]
            print("\n".join([
                f"the whole ephemeris needs about {format_bytes(need)}, more than fits in memory: streamed to {out} "
                f"in chunks of {summ['chunk_steps']:,} steps",
                f"propagated {c.size} satellites x {summ['n_times']} times ({summ['backend']}, {summ['frame']}) in "
                f"{dt:.2f} s",
                f"time span {summ['start']} .. {summ['end']}",
                (f"height above the equatorial radius, km: min {h[0]:.1f}, mean {h[1]:.1f}, max {h[2]:.1f}" if h
                 else "no satellite propagated"),
                f"failed satellites: {summ['n_failed']}",
            ] + ([f"source: {c.attrs['source']}"] if c.attrs.get("source") else [])))
            print(f"wrote {out}")
            return
        with _Progress(progress) as p:
            t = p.task(f"propagating {c.size} satellites", total=1)
            t0 = time.perf_counter()
            eph = c.propagate(times=tg, backend=backend, frame=frame)
            dt = time.perf_counter() - t0
            p.advance(t)
        valid = ~eph.failed.to_numpy()
        lo, mean, hi = _height_stats(eph.position.to_numpy(), valid)
        lines = [
            f"propagated {c.size} satellites x {eph.sizes['time']} times ({eph.attrs['backend']}, {eph.attrs['frame']}) "
            f"in {dt:.2f} s",
            f"time span {eph.time.values[0]} .. {eph.time.values[-1]}",
            f"height above the equatorial radius, km: min {lo:.1f}, mean {mean:.1f}, max {hi:.1f}" if valid.any()
            else "no satellite propagated",
            f"failed satellites: {int((~valid).sum())}",
        ]
        if c.attrs.get("source"):
            lines.append(f"source: {c.attrs['source']}")
        print("\n".join(lines))
        if out is not None:
            from orbitlat.export.tables import ephemeris_table, table_format

            _write(eph if table_format(out, fmt) == "netcdf" else ephemeris_table(eph), out, fmt)
        if czml is not None:
            from orbitlat.export.czml import write_czml

            write_czml(czml, eph, position=czml_position, name=c.name)
            print(f"wrote {czml}")

    # -------------------------------------------------------------------- passes
    @app.command()
    @_guard
    def passes(
        preset: Optional[str] = typer.Argument(None, help="Preset name; or use --tle."),
        tle: Optional[Path] = typer.Option(None, "--tle", help="An element-set file (TLE/3LE or OMM JSON/CSV) instead of a "
                                           "preset."),
        cities: Optional[int] = typer.Option(None, "--cities", help="The N most populous cities (GeoNames)."),
        city: List[str] = typer.Option([], "--city", help="A city by name (repeatable), e.g. --city London."),
        site: List[str] = typer.Option([], "--site", help="A site LAT,LON[,ALT_KM] in degrees (repeatable)."),
        sites: Optional[Path] = typer.Option(None, "--sites", help="A CSV of sites (name, lat, lon[, alt_km])."),
        start: Optional[str] = typer.Option(None, help="Start (ISO 8601 UTC); default the elements' epoch."),
        duration: str = typer.Option("1d", help="Span, e.g. 6h, 1d."),
        step: str = typer.Option("60s", help="Sampling step (crossings are refined to --tolerance)."),
        min_elevation: float = typer.Option(10.0, "--min-elevation", help="Elevation mask, degrees."),
        tolerance: float = typer.Option(0.1, "--tolerance", help="Time tolerance of rise/culmination/set, s."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write every pass (.csv/.parquet/.nc)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        limit: int = typer.Option(20, "--limit", help="Passes to print (the table on screen only)."),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
        workers: Optional[int] = typer.Option(None, "--workers", help="Worker processes (default: all cores for "
                                              "large jobs)."),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
    ):
        """Access windows (rise, culmination, set, max elevation) of every satellite over sites.

        Sites come from --cities N, --city NAME, --site LAT,LON and --sites CSV (combined);
        with none of them, the 5 most populous cities.
        """
        from orbitlat.visibility.windows import passes as _passes

        _check_out(out, fmt=fmt)
        check_int(limit, "--limit", 0, hint="the number of passes to print (0: none; --out writes them all).")
        check_float(tolerance, "--tolerance", 0.0, 3600.0, lo_open=True, unit="s")
        sched = _scheduler(scheduler)
        if workers is not None:
            _check_positive_int(workers, "--workers")
            if sched is not None:
                _fail("--workers is for the local run; with --scheduler, Dask decides (drop --workers).")
        c = _load_constellation(preset, tle)
        s = _build_sites(cities, city, site, sites, min_elevation, default_cities=5)
        start = _start_for(c, start)
        if out is not None and sched is None:
            from orbitlat.memory import fits, format_bytes
            from orbitlat.visibility.windows import estimate_passes

            est = estimate_passes(c, s, start=start, duration=duration, step=step)
            if not fits(est["bytes"]):  # too big for memory: blocks of sites straight into the file
                from orbitlat.export.stream import write_passes

                with _Progress(progress) as p:
                    t = p.task(f"passes of {c.size} satellites over {len(s)} sites into {out}", total=len(s))
                    res = write_passes(c, s, out, fmt=fmt, start=start, duration=duration, step=step,
                                       refine_tol_s=tolerance, workers=workers,
                                       progress=lambda i, n: p.update(t, completed=i))
                print(f"about {est['passes']:,.0f} passes need about {format_bytes(est['bytes'])}, more than fits in "
                      f"memory: streamed to {out} in blocks of {res['site_block']:,} sites (rows sorted by rise time "
                      "within each block)")
                _print_table(res["per_site"], title=f"{c.name}: passes above {min_elevation:g}° from {start} for "
                             f"{duration}", index=True, max_rows=max(limit, 1))
                print(f"{res['passes']} passes over {len(s)} sites")
                print(f"wrote {out}")
                return
        with _Progress(progress) as p:
            t = p.task(f"passes of {c.size} satellites over {len(s)} sites"
                       + (f" on Dask ({sched})" if sched else ""), total=1)
            df = _passes(c, s, start=start, duration=duration, step=step, refine_tol_s=tolerance,
                         workers=workers, scheduler=sched)
            p.advance(t)
        summ = df.groupby("site_name", observed=True, sort=False).agg(
            passes=("sat", "size"), satellites=("sat", "nunique"), mean_duration_s=("duration_s", "mean"),
            max_elevation_deg=("max_elevation_deg", "max"))
        summ = summ.reindex(list(s.labels)).fillna({"passes": 0, "satellites": 0})
        _print_table(summ, title=f"{c.name}: passes above {min_elevation:g}° from {start} for {duration}", index=True)
        cols = ["site_name", "sat_name", "rise", "culmination", "set", "max_elevation_deg", "duration_s"]
        if len(df) and limit > 0:
            _print_table(df[cols], title="passes (earliest first)", max_rows=limit)
        print(f"{len(df)} passes over {len(s)} sites")
        if out is not None:
            _write(df, out, fmt)

    # -------------------------------------------------------------------- coverage
    @app.command()
    @_guard
    def coverage(
        preset: Optional[str] = typer.Argument(None, help="Preset name; or use --tle."),
        tle: Optional[Path] = typer.Option(None, "--tle", help="An element-set file (TLE/3LE or OMM JSON/CSV) instead of a "
                                           "preset."),
        resolution: float = typer.Option(2.0, "--resolution", help="Equal-area grid cell size, degrees "
                                         "(1° = 41,252 cells)."),
        start: Optional[str] = typer.Option(None, help="Start (ISO 8601 UTC); default the elements' epoch."),
        duration: str = typer.Option("6h", help="Span, e.g. 2h, 1d."),
        step: str = typer.Option("60s", help="Time step."),
        min_elevation: float = typer.Option(25.0, "--min-elevation", help="Elevation mask, degrees."),
        k: int = typer.Option(2, "--k", help="Level for the 'k or more in view' figure."),
        mode: str = typer.Option("fast", help="fast (spherical Earth, footprint caps) | exact (WGS84)."),
        population: bool = typer.Option(True, "--population/--no-population", help="Weight by GeoNames population."),
        map_png: Optional[Path] = typer.Option(None, "--map", help="Write a coverage map (.png)."),
        var: str = typer.Option("n_visible_mean", "--var", help="Figure of merit for the map (e.g. "
                                "covered_fraction, gap_max_s)."),
        projection: str = typer.Option("robinson", help="Map projection (robinson, platecarree, mollweide...)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the per-cell figures of merit: .nc "
                                           "(NetCDF Dataset) or .csv/.parquet (one row per cell)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
        workers: Optional[int] = typer.Option(None, "--workers", help="Kernel threads (default: all cores)."),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
    ):
        """Coverage figures of merit on an equal-area grid: summary table, optional map and NetCDF."""
        from orbitlat.coverage.figures import FIGURES_OF_MERIT
        from orbitlat.coverage.compute import coverage as _coverage
        from orbitlat.ground.grids import Grid

        _check_out(out, fmt=fmt)
        _check_png(map_png)
        check_float(resolution, "--resolution", 0.0, 90.0, lo_open=True, unit="degrees",
                    hint="the equal-area cell size, e.g. 2 (10,313 cells) or 1 (41,252 cells).")
        min_elevation = check_mask(min_elevation)
        check_int(k, "--k", 1, hint="the level of the 'k or more in view' figure, e.g. 2.")
        sched = _scheduler(scheduler)
        if workers is not None:
            _check_positive_int(workers, "--workers")
            if sched is not None:
                _fail("--workers is for the local run; with --scheduler, Dask decides (drop --workers).")
        if var not in FIGURES_OF_MERIT:
            _fail(f"--var {var!r} is not a figure of merit; use one of {', '.join(FIGURES_OF_MERIT)}.")
        c = _load_constellation(preset, tle)
        start = _start_for(c, start)
        with _Progress(progress) as p:
            t = p.task("grid", total=3 if map_png else 2)
            g = Grid.equal_area(resolution)
            if population:
                g = g.with_population()
            p.advance(t)
            p.update(t, description=f"coverage of {c.size} satellites on {g.size} cells"
                     + (f" on Dask ({sched})" if sched else ""))
            kw = dict(start=start, duration=duration, step=step, min_elevation_deg=min_elevation, k=k, mode=mode)
            r = _coverage(c, g, workers=workers, scheduler=sched, **kw)
            p.advance(t)
            if map_png is not None:
                p.update(t, description="map")
                from orbitlat.viz.maps import coverage_map
                from orbitlat.viz.plots import save_figure

                fig = coverage_map(r, var=var, projection=projection,
                                   title=f"{c.name}: {var} above {min_elevation:g}° ({duration} every {step})")
                save_figure(fig, map_png)
                p.advance(t)
        _print_table(r.summary(), title=f"{c.name} on {g.name}: {g.size} cells, {r.ds.sizes['time']} steps, "
                     f"mask {min_elevation:g}°", index=True)
        print(f"computed in {r.timings['wall_s']:.1f} s ({r.ds.attrs['engine']})")
        if map_png is not None:
            print(f"wrote {map_png}")
        if out is not None:
            from orbitlat.export.tables import table_format

            if table_format(out, fmt) == "netcdf":
                _write(r.ds, out, fmt)
            else:
                cols = [f for f in r.foms]
                df = r.ds[cols].drop_vars("time", errors="ignore").to_dataframe().reset_index()
                _write(df, out, fmt)

    # -------------------------------------------------------------------- latency
    def _check_terrestrial(name: str) -> None:
        from orbitlat.latency.terrestrial.base import MODEL_NAMES

        if name not in MODEL_NAMES:
            _fail(f"--terrestrial {name!r} is not known; use one of {', '.join(MODEL_NAMES)} (routed: cables and "
                  "backbone, the default; simple: great circle x a fitted stretch).")

    def _run_latency(c, scenario: str, users, dc, gateways, odc, *, start, duration, step, min_elevation, workers,
                     scheduler=None, terrestrial="routed", overhead: str = "calibrated"):
        from orbitlat import latency as L

        if overhead not in OVERHEAD_NAMES:
            _fail(f"--overhead {overhead!r} is not known; use one of {', '.join(OVERHEAD_NAMES)}.")
        kw = dict(start=start, duration=duration, step=step, paths=None, min_elevation_deg=min_elevation,
                  overhead=overhead)
        if scenario in ("isl", "bent-pipe", "city-pair"):
            kw["fiber"] = terrestrial  # the fiber_rtt_ms baseline
        if scenario in ("isl", "bent-pipe"):
            kw["backhaul"] = terrestrial  # gateway -> data centre
        name, args, extra = {
            "isl": ("via_isl", (c, users, dc, gateways), {}),
            "bent-pipe": ("bent_pipe", (c, users, dc, gateways), {}),
            "orbital-dc": ("orbital_datacenter", (c, users), {"cluster": odc}),
            "city-pair": ("city_pairs", (c, users), {}),
        }[scenario]
        return getattr(L, name)(*args, workers=workers or 1, scheduler=scheduler, **kw, **extra)

    OVERHEAD_NAMES = ("calibrated", "none", "high")
    OVERHEAD_HELP = ("Named delays added to propagation: calibrated (access overhead fitted on Starlink's measured "
                     "US median, the default), none (propagation only), high (sensitivity). See "
                     "orbitlat.latency.overhead.")

    @app.command()
    @_guard
    def latency(
        preset: Optional[str] = typer.Argument(None, help="Relay constellation preset (default starlink_gen1); or "
                                               "use --tle."),
        tle: Optional[Path] = typer.Option(None, "--tle", help="An element-set file (TLE/3LE or OMM JSON/CSV) instead of a "
                                           "preset."),
        scenario: str = typer.Option("isl", "--scenario", "-s", help="isl: users -> ISLs -> gateway at the data "
                                     "centre; bent-pipe: users -> satellite -> gateway -> fiber; orbital-dc: users "
                                     "-> relays -> orbital data centre; city-pair: RTT between the cities."),
        datacenter: str = typer.Option("stargate", "--datacenter", help="Built-in data centre (name or region "
                                       "code; default Stargate, Abilene TX)."),
        users: int = typer.Option(100, "--users", help="The N most populous cities as users (population-weighted)."),
        city: List[str] = typer.Option([], "--city", help="Add a city by name (repeatable)."),
        site: List[str] = typer.Option([], "--site", help="Add a user site LAT,LON (repeatable)."),
        gateways: Optional[Path] = typer.Option(None, "--gateways", help="Gateway CSV (id,lat,lon,description...); "
                                                "default one gateway at the data centre."),
        odc: str = typer.Option("suncatcher", "--odc", help="Orbital data centre preset (orbital-dc)."),
        start: Optional[str] = typer.Option(None, help="Start (ISO 8601 UTC); default the elements' epoch."),
        duration: str = typer.Option("2h", help="Span, e.g. 2h, 1d."),
        step: str = typer.Option("5min", help="Routing step."),
        min_elevation: float = typer.Option(25.0, "--min-elevation", help="User/gateway elevation mask, degrees."),
        overhead: str = typer.Option("calibrated", "--overhead", help=OVERHEAD_HELP),
        by: str = typer.Option("global", "--by", help="Summary: global (population-weighted), region, or user."),
        map_png: Optional[Path] = typer.Option(None, "--map", help="Write a latency map of the median RTT (.png)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the summary table (.csv/.parquet/.nc)."),
        series: Optional[Path] = typer.Option(None, "--series", help="Write the full RTT (time, src, dst) "
                                              "(.nc, or a long .csv/.parquet table)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        scheduler: Optional[str] = typer.Option(None, "--scheduler", help=SCHEDULER_HELP),
        workers: Optional[int] = typer.Option(None, "--workers", help="Processes sharing the time steps "
                                              "(default 1)."),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
        terrestrial: str = typer.Option("routed", "--terrestrial", help=TERRESTRIAL_HELP),
    ):
        """Round-trip times from users worldwide to a data centre (terrestrial or orbital), p50/p95/p99."""
        import orbitlat as ol

        from orbitlat.ground.sites import GroundSites

        if scenario not in SCENARIOS:
            _fail(f"--scenario {scenario!r} is not known; use one of {', '.join(SCENARIOS)}.")
        if by not in ("global", "region", "user"):
            _fail(f"--by {by!r}: use global, region or user.")
        _check_terrestrial(terrestrial)
        _check_out(out, fmt=fmt)
        _check_out(series, option="--series")
        _check_png(map_png)
        min_elevation = check_mask(min_elevation)
        if preset is None and tle is None:
            preset = "starlink_gen1"
        sched = _scheduler(scheduler)
        _check_positive_int(users, "--users")
        if workers is not None:
            _check_positive_int(workers, "--workers")
            if sched is not None:
                _fail("--workers is for the local run; with --scheduler, Dask decides (drop --workers).")
        if scenario == "city-pair" and map_png is not None:
            _fail("--map draws RTT to one destination; it is not available for --scenario city-pair.")
        c = _load_constellation(preset, tle)
        start = _start_for(c, start)
        u = _build_sites(users, city, site, None, min_elevation, default_cities=users)
        dc = GroundSites.datacenter(datacenter)
        if len(dc) > 1:
            _fail(f"--datacenter {datacenter!r} matches {len(dc)} data centres ({'; '.join(dc.names)}); be more "
                  "specific.")
        gw = None
        if gateways is not None:
            check_input_file(gateways, "--gateways", "gateway file")
            gw = GroundSites.gateways(gateways, unique_locations=True, min_elevation_deg=min_elevation)
        cluster = ol.presets.get(odc) if scenario == "orbital-dc" else None
        if scenario == "city-pair" and sched is None:
            from orbitlat.latency.routing import estimate_route_memory
            from orbitlat.memory import fits, format_bytes
            from orbitlat.time import to_timegrid

            n_t = len(to_timegrid(start=start, duration=duration, step=step))
            need = estimate_route_memory(len(u), len(u), n_t, paths=None)
            if not fits(need):  # the (time, src, dst) matrix does not fit: per-city summaries, in blocks
                if series is not None:
                    _fail(f"--series: the full (time, src, dst) RTT of {len(u):,} cities needs about "
                          f"{format_bytes(need)}, more than fits in memory; drop --series (the per-city summary is "
                          "computed in blocks) or use fewer --users.")
                from orbitlat.latency.scenarios import city_pair_summary

                with _Progress(progress) as p:
                    t = p.task(f"city pairs: {len(u)} cities over {c.size} satellites, in blocks", total=len(u))
                    t0 = time.perf_counter()
                    if overhead not in OVERHEAD_NAMES:
                        _fail(f"--overhead {overhead!r} is not known; use one of {', '.join(OVERHEAD_NAMES)}.")
                    summ = city_pair_summary(c, u, start=start, duration=duration, step=step,
                                             min_elevation_deg=min_elevation, workers=workers or 1,
                                             overhead=overhead, progress=lambda i, n: p.update(t, completed=i))
                g = summ.attrs["global"]
                print(f"the (time, src, dst) RTT matrix of {len(u):,} cities needs about {format_bytes(need)}, more "
                      f"than fits in memory: summarised per city in blocks of {summ.attrs['block']:,} cities")
                _print_table(summ, title=f"city-pair RTT (ms) per city, to every other city (population-weighted), "
                             f"{c.name}", index=True, max_rows=40)
                if "p50" in g:
                    print(f"all pairs, weighted by both populations: p50 {g['p50']:.1f} ms, p95 {g['p95']:.1f} ms, "
                          f"p99 {g['p99']:.1f} ms, reachable {g['reachable']:.3f}")
                print(f"computed in {time.perf_counter() - t0:.1f} s [overhead: {summ.attrs.get('overhead', '?')}]")
                if out is not None:
                    _write(summ, out, fmt)
                return
        with _Progress(progress) as p:
            t = p.task(f"{scenario}: routing {len(u)} users over {c.size} satellites"
                       + (f" on Dask ({sched})" if sched else ""), total=1)
            res = _run_latency(c, scenario, u, dc, gw, cluster, start=start, duration=duration, step=step,
                               min_elevation=min_elevation, workers=workers, scheduler=sched,
                               terrestrial=terrestrial, overhead=overhead)
            p.advance(t)
        summ = res.summary(by=by if scenario != "city-pair" or by != "global" else "user")
        dst = "all pairs" if scenario == "city-pair" else (odc if scenario == "orbital-dc" else dc.names[0])
        _print_table(summ, title=f"{scenario} RTT (ms), {c.name}, {len(u)} users -> {dst}", index=True,
                     max_rows=40)
        print(f"RTT = {res.rtt['rtt_ms'].attrs.get('long_name', 'round-trip time')} "
              f"[overhead: {res.rtt.attrs.get('overhead', '?')}]")
        if scenario not in ("city-pair", "orbital-dc"):
            from orbitlat.latency.results import weighted_quantile

            f = res.rtt["fiber_rtt_ms"].to_numpy()[:, 0]
            w = res._weights()
            import numpy as np

            ok = np.isfinite(f)
            print(f"fiber baseline ({terrestrial} terrestrial model), population-weighted p50 "
                  f"{float(weighted_quantile(f[ok], w[ok], 0.5)):.1f} ms, "
                  f"p95 {float(weighted_quantile(f[ok], w[ok], 0.95)):.1f} ms"
                  + (f" ({int((~ok).sum())} users beyond the terrestrial network)" if (~ok).any() else ""))
        un = len(res.unreachable)
        if un:
            print(f"{un} (time, user, destination) samples had no path: "
                  + "; ".join(f"{k}: {v}" for k, v in res.unreachable['reason'].value_counts().items() if v))
        print(f"computed in {res.rtt.attrs.get('wall_s', float('nan')):.1f} s")
        if map_png is not None:
            from orbitlat.viz.maps import latency_map
            from orbitlat.viz.plots import save_figure

            fig = latency_map(u, res.rtt_ms.isel(dst=0), datacenter=None if scenario == "orbital-dc" else dc,
                              projection="robinson", annotate=8, title=f"median RTT, {scenario} ({c.name})")
            save_figure(fig, map_png)
            print(f"wrote {map_png}")
        if out is not None:
            _write(summ, out, fmt)
        if series is not None:
            from orbitlat.export.tables import table_format

            if table_format(series) == "netcdf":
                _write(res.rtt, series)
            else:
                _write(res.rtt["rtt_ms"].to_dataframe().reset_index(), series)

    # -------------------------------------------------------------------- sweep
    def _floats(text: str, what: str) -> list:
        out = []
        for part in [p.strip() for p in str(text).split(",") if p.strip()]:
            if what == "--inc" and part.lower() == "sso":
                out.append("sso")
                continue
            try:
                out.append(float(part))
            except ValueError:
                _fail(f"{what} {text!r}: give comma-separated numbers" + (" (or 'sso')" if what == "--inc" else "")
                      + ", e.g. 1,4,16.")
        if not out:
            _fail(f"{what} is empty; give at least one value.")
        return out

    def _ints(text: str, what: str) -> list:
        vals = _floats(text, what)
        if any(v != int(v) or v < 1 for v in vals):
            _fail(f"{what} {text!r}: give whole numbers >= 1.")
        return [int(v) for v in vals]

    @app.command()
    @_guard
    def sweep(
        kind: List[str] = typer.Option(["clusters"], "--kind", "-k", help="Design kind (repeatable): clusters, "
                                       "dedicated, on_relays."),
        n_clusters: str = typer.Option("1,4,16", "--n-clusters", help="clusters: numbers of clusters, e.g. 1,4,16."),
        planes: str = typer.Option("1,4", "--planes", help="clusters/dedicated: numbers of orbital planes."),
        per_plane: str = typer.Option("20", "--per-plane", help="dedicated: satellites per plane."),
        altitude: str = typer.Option("650", "--altitude", help="Altitudes, km (comma-separated)."),
        inc: str = typer.Option("sso", "--inc", help="Inclinations, degrees, or sso (comma-separated)."),
        ltan: str = typer.Option("18", "--ltan", help="Local times of the ascending node for sso, hours."),
        cluster_size: int = typer.Option(81, "--cluster-size", help="Satellites per cluster (Suncatcher: 81)."),
        share: str = typer.Option("0.01,0.1,1", "--share", help="on_relays: shares of the relays with compute."),
        relays: str = typer.Option("starlink_gen1", "--relays", help="Relay constellation preset ('none': users "
                                   "reach compute directly only)."),
        users: int = typer.Option(1000, "--users", help="The N most populous cities as users (population-weighted)."),
        datacenter: str = typer.Option("stargate", "--datacenter", help="Terrestrial data centre to beat: a built-in "
                                       "name, or 'all' (each user against its best of Stargate and 26 cloud regions)."),
        start: str = typer.Option("2026-01-01", help="Start (ISO 8601 UTC)."),
        duration: str = typer.Option("1d", help="Routing span."),
        step: str = typer.Option("5min", help="Routing step."),
        min_elevation: float = typer.Option(25.0, "--min-elevation", help="User elevation mask, degrees."),
        terminals: int = typer.Option(4, "--terminals", help="Laser terminals per compute node (0: unlimited)."),
        sun_days: int = typer.Option(15, "--sun-days", help="Sunlight: every N-th day of a year (0: skip)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the table (.csv/.parquet/.nc)."),
        plot: Optional[Path] = typer.Option(None, "--plot", help="Write the Pareto plot (.png)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
        terrestrial: str = typer.Option("routed", "--terrestrial", help=TERRESTRIAL_HELP),
    ):
        """Sweep orbital data-centre designs: p50/p95/p99 RTT, people served faster than the terrestrial data
        centre, worst region, sunlight and satellites needed; and which design beats it for 50/90/99 % of people.

        The orbit options (--planes, --altitude, --inc, --ltan) apply to every --kind of one run; to give
        clusters and a dedicated constellation different orbits, run the command once per kind (or call
        orbitlat.latency.sweep.sweep with designs of your own)."""
        from orbitlat.ground.sites import GroundSites
        from orbitlat.latency.sweep import KINDS, answer, designs
        from orbitlat.latency.sweep import sweep as run_sweep

        for k in kind:
            if k not in KINDS:
                _fail(f"--kind {k!r} is not known; use one of {', '.join(KINDS)}.")
        _check_terrestrial(terrestrial)
        _check_out(out, fmt=fmt)
        _check_png(plot)
        _check_positive_int(users, "--users")
        _check_positive_int(cluster_size, "--cluster-size")
        if terminals < 0:
            _fail(f"--terminals {terminals}: give a number of terminals >= 1, or 0 for unlimited.")
        if sun_days < 0:
            _fail(f"--sun-days {sun_days}: give a number of days >= 1, or 0 to skip the sunlight figures.")
        orbit = dict(altitude_km=_floats(altitude, "--altitude"), inc_deg=_floats(inc, "--inc"),
                     ltan_hours=_floats(ltan, "--ltan"))
        items = []
        for k in dict.fromkeys(kind):
            if k == "clusters":
                items += designs("clusters", n_clusters=_ints(n_clusters, "--n-clusters"),
                                 planes=_ints(planes, "--planes"), cluster_size=[cluster_size], **orbit)
            elif k == "dedicated":
                items += designs("dedicated", planes=_ints(planes, "--planes"),
                                 per_plane=_ints(per_plane, "--per-plane"), **orbit)
            else:
                items += designs("on_relays", share=_floats(share, "--share"))
        rel = None if relays.strip().lower() == "none" else relays
        u = GroundSites.cities(top=users)
        with _Progress(progress) as p:
            t = p.task(f"sweep: {len(items)} designs x {len(u)} users", total=len(items))
            table = run_sweep(items, u, rel, start=start, duration=duration, step=step, datacenter=datacenter,
                              fiber=terrestrial, min_elevation_deg=min_elevation,
                              terminals=None if terminals == 0 else terminals,
                              relay_terminals=None if terminals == 0 else 1,
                              sunlight_sample_days=sun_days or None,
                              progress=lambda i, n, d: p.update(t, completed=i))
            p.update(t, completed=len(items))
        cols = ["satellites", "p50_ms", "p95_ms", "p99_ms", "people_faster", "time_faster",
                "people_faster_nearest_dc", "served", "worst_region", "sunlit_fraction", "longest_eclipse_min"]
        _print_table(table[cols].round(3), title=f"design sweep vs {datacenter} ({table.attrs['terrestrial_model']} "
                     f"terrestrial model; satellite delays: {table.attrs['satellite_delays']})", index=True,
                     max_rows=60)
        ans = answer(table)
        _print_table(ans, title="fewest satellites to beat the terrestrial data centre for 50 / 90 / 99 % of people")
        if plot is not None:
            from orbitlat.viz.pareto import pareto_plot
            from orbitlat.viz.plots import save_figure

            fig = pareto_plot(table, reference_ms=float(table["terrestrial_p50_ms"].iloc[0]),
                              reference_label=f"{datacenter} (terrestrial)", title="design sweep")
            save_figure(fig, plot)
            print(f"wrote {plot}")
        if out is not None:
            _write(table.reset_index(), out, fmt)

    # -------------------------------------------------------------------- compare
    @app.command()
    @_guard
    def compare(
        constellations: List[str] = typer.Argument(None, help="Preset names (default: starlink_gen1 kuiper "
                                                    "oneweb); add --tle files too."),
        tle: List[Path] = typer.Option([], "--tle", help="A TLE/3LE file to compare (repeatable)."),
        resolution: float = typer.Option(3.0, "--resolution", help="Equal-area grid cell size, degrees."),
        start: Optional[str] = typer.Option(None, help="Start (ISO 8601 UTC); default each one's latest epoch."),
        duration: str = typer.Option("6h", help="Coverage span."),
        step: str = typer.Option("120s", help="Coverage step."),
        min_elevation: float = typer.Option(25.0, "--min-elevation", help="Elevation mask, degrees."),
        users: int = typer.Option(200, "--users", help="The N most populous cities for the RTT percentiles."),
        scenario: str = typer.Option("isl", "--scenario", "-s", help="RTT scenario: isl, bent-pipe or orbital-dc "
                                     "(a constellation without ISLs, such as OneWeb, gets the bent pipe instead)."),
        datacenter: str = typer.Option("stargate", "--datacenter", help="Built-in data centre for isl/bent-pipe."),
        overhead: str = typer.Option("calibrated", "--overhead", help=OVERHEAD_HELP),
        odc: str = typer.Option("suncatcher", "--odc", help="Orbital data centre preset (orbital-dc)."),
        latency_duration: str = typer.Option("1h", "--latency-duration", help="Routing span."),
        latency_step: str = typer.Option("10min", "--latency-step", help="Routing step."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the table (.csv/.parquet/.nc)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
    ):
        """Several constellations side by side: coverage and population-weighted RTT percentiles."""
        import numpy as np
        import pandas as pd

        import orbitlat as ol

        from orbitlat.coverage.compute import coverage as _coverage
        from orbitlat.ground.grids import Grid
        from orbitlat.latency.results import weighted_quantile
        from orbitlat.ground.sites import GroundSites

        if scenario not in ("isl", "bent-pipe", "orbital-dc"):
            _fail(f"--scenario {scenario!r}: compare uses isl, bent-pipe or orbital-dc.")
        _check_out(out, fmt=fmt)
        _check_positive_int(users, "--users")
        check_float(resolution, "--resolution", 0.0, 90.0, lo_open=True, unit="degrees")
        min_elevation = check_mask(min_elevation)
        cons = _compare_inputs(list(constellations or []), list(tle))
        dc = GroundSites.datacenter(datacenter)
        u = GroundSites.cities(top=users, min_elevation_deg=min_elevation)
        cluster = ol.presets.get(odc) if scenario == "orbital-dc" else None
        rows = {}
        with _Progress(progress) as p:
            t = p.task("grid", total=2 * len(cons) + 1)
            g = Grid.equal_area(resolution).with_population()
            p.advance(t)
            for n, c in cons.items():
                st = _start_for(c, start)
                p.update(t, description=f"coverage: {n}")
                r = _coverage(c, g, start=st, duration=duration, step=step, min_elevation_deg=min_elevation)
                p.advance(t)
                p.update(t, description=f"latency ({scenario}): {n}")
                has_isl = c.attrs.get("isl", "unknown") != "none"
                sc = scenario if has_isl or scenario == "bent-pipe" else "bent-pipe"  # no ISLs: what it really is
                res = _run_latency(c, sc, u, dc, None, cluster, start=st, duration=latency_duration,
                                   step=latency_step, min_elevation=min_elevation, workers=1, overhead=overhead)
                p.advance(t)
                a, pw = r.area_weighted(), r.population_weighted()
                x = res.rtt_ms.to_numpy()[:, :, 0]
                w = np.broadcast_to(res._weights()[None, :], x.shape)
                q = weighted_quantile(x, w, [0.5, 0.95, 0.99])
                rows[n] = {"satellites": c.size, "mean_in_view_area": a["n_visible_mean"],
                           "mean_in_view_people": pw["n_visible_mean"], "covered_area": a["covered_fraction"],
                           "covered_people": pw["covered_fraction"], "worst_gap_s": float(r.ds.gap_max_s.max()),
                           "rtt_p50_ms": q[0], "rtt_p95_ms": q[1], "rtt_p99_ms": q[2],
                           "reachable": float((w * np.isfinite(x)).sum() / w.sum()), "latency_path": sc,
                           "isl": c.attrs.get("isl", "unknown")}
        df = pd.DataFrame.from_dict(rows, orient="index")
        df.index.name = "constellation"
        dst = odc if scenario == "orbital-dc" else dc.names[0]
        _print_table(df, title=f"coverage ({g.name}, {duration} every {step}, mask {min_elevation:g}°) and "
                     f"population-weighted {scenario} RTT to {dst} ({users} cities)", index=True)
        if out is not None:
            _write(df, out, fmt)

    def _compare_inputs(names: List[str], files: List[Path]) -> dict:
        """Constellations to compare, labelled by one rule: the same preset or file given twice is used
        once (with a warning); different inputs sharing a label (two files ``x.tle`` in different
        folders, a preset and a file stem) get qualifiers (``x (a)``, ``x (b)``; ``iridium (preset)``)."""
        import orbitlat as ol

        from orbitlat.ground.sites import unique_labels

        if not names and not files:
            names = ["starlink_gen1", "kuiper", "oneweb"]
        keys, labels, quals, items = [], [], [], []
        for n in names:
            key = ("preset", n.strip().lower())
            if key in keys:
                print_warning(f"preset {n!r} is given twice; comparing it once.")
                continue
            keys.append(key)
            items.append(ol.presets.get(n))
            labels.append(n)
            quals.append("preset")
        for path in files:
            check_input_file(path, "--tle", "element-set file")
            key = ("file", str(Path(path).resolve()))
            if key in keys:
                print_warning(f"--tle {path} is given twice; comparing it once.")
                continue
            keys.append(key)
            items.append(_load_constellation(None, path))
            labels.append(Path(path).stem)
            quals.append(Path(path).resolve().parent.name or str(Path(path).resolve().parent))
        if not items:
            _fail("give at least one preset or --tle file.")
        return dict(zip(unique_labels(labels, quals), items))

    # -------------------------------------------------------------------- report
    @app.command()
    @_guard
    def report(
        out: Path = typer.Option(Path("report"), "--out", "-o", help="Folder for index.html and its figures."),
        quick: bool = typer.Option(False, "--quick", help="Coarse settings (well under a minute; for tests)."),
        users: Optional[int] = typer.Option(None, "--users", help="Number of cities (default 1000, quick 60)."),
        gateways: Optional[Path] = typer.Option(None, "--gateways", help="Gateway CSV for the bent-pipe and "
                                                "as-deployed scenarios (default: the built-in Starlink gateways)."),
        constellations: Optional[str] = typer.Option(None, "--constellations", help="Comma-separated presets to "
                                                     "compare (default starlink_gen1,kuiper,oneweb)."),
        force: bool = typer.Option(False, "--force", help="Replace --out even if it holds files that are not an "
                                   "orbitlat report (they are removed)."),
        overhead: str = typer.Option("calibrated", "--overhead", help=OVERHEAD_HELP),
        progress: Optional[bool] = typer.Option(None, "--progress/--no-progress", help=PROGRESS_HELP),
        terrestrial: str = typer.Option("routed", "--terrestrial", help=TERRESTRIAL_HELP),
    ):
        """The main job: an offline HTML report (coverage, latency to Stargate and to an orbital data centre).

        The report is built beside --out and swapped in whole when complete: an interrupted run leaves
        --out as it was. A non-empty --out that is not an orbitlat report is refused unless --force.

        Compares Starlink Gen1, Kuiper and OneWeb coverage; users' round-trip times to Stargate
        (Abilene TX) over fiber, bent pipe, ISLs and Starlink as deployed, and to a Suncatcher-like
        orbital data centre through relays, with the calibrated access overhead and a sensitivity table;
        the orbital data centre's sunlight over the year; conclusions from the numbers. The full run
        takes about a minute on a quiet 2-core machine (well within 5 minutes); --quick about 15 s.
        """
        from orbitlat.report.build import build_report, check_report_folder
        from orbitlat.ground.sites import GroundSites

        kw: dict[str, Any] = {}
        _check_terrestrial(terrestrial)
        kw["terrestrial"] = terrestrial
        if users is not None:
            _check_positive_int(users, "--users")
            kw["users"] = users
        if gateways is not None:
            check_input_file(gateways, "--gateways", "gateway file")
            kw["gateways"] = GroundSites.gateways(gateways, unique_locations=True)
        if constellations:
            kw["constellations"] = tuple(x.strip() for x in constellations.split(",") if x.strip())
        if overhead not in OVERHEAD_NAMES:
            _fail(f"--overhead {overhead!r} is not known; use one of {', '.join(OVERHEAD_NAMES)}.")
        kw["overhead"] = overhead
        check_folder_out(out, "--out")
        check_report_folder(out, force=force)
        t0 = time.perf_counter()
        with _Progress(progress) as p:
            t = p.task("report", total=None)

            def cb(label, i, n):
                p.update(t, description=f"report: {label}", total=n, completed=i)

            path = build_report(out, quick=quick, progress=cb, force=force, **kw)
        print(f"wrote {path} in {time.perf_counter() - t0:.1f} s")

    # -------------------------------------------------------------------- tle
    @tle_app.command("inspect")
    @_guard
    def tle_inspect(
        file: Path = typer.Argument(..., help="Element-set file: TLE/3LE or OMM JSON/CSV (told apart by content)."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the shell table (.csv/.parquet/.nc)."),
        fmt: Optional[str] = typer.Option(None, "--format", "-f", help=FORMAT_HELP),
        inc_tol: float = typer.Option(0.05, "--inc-tol", help="Inclination scale of a shell layer, degrees "
                                      "(navigation constellations: 2)."),
        alt_tol: float = typer.Option(2.0, "--alt-tol", help="Altitude scale of a shell layer, km (GPS: 100)."),
        plane_gap: Optional[float] = typer.Option(None, "--plane-gap", help="RAAN gap that separates planes, "
                                                  "degrees (default: found from the data; GPS: 10)."),
    ):
        """Counts, epochs and inferred shells/planes of a TLE catalog."""
        import numpy as np

        import orbitlat as ol

        from orbitlat.orbits.inference import infer_shells, shell_summary

        _check_out(out, fmt=fmt)
        check_input_file(file, "FILE", "element-set file")
        check_float(inc_tol, "--inc-tol", 0.0, 90.0, lo_open=True, unit="degrees")
        check_float(alt_tol, "--alt-tol", 0.0, 1e5, lo_open=True, unit="km")
        check_float(plane_gap, "--plane-gap", 0.0, 180.0, lo_open=True, unit="degrees")
        c = ol.Constellation.from_file(file)
        ep = c.table["epoch"].to_numpy().astype("datetime64[s]")
        med = np.sort(ep)[len(ep) // 2]
        spread_d = (ep.max() - ep.min()).astype(np.int64) / 86400.0
        print(f"{file}: {c.size} satellites, {c.table['norad_id'].nunique()} catalog numbers")
        print(f"epochs: {ep.min()} .. {ep.max()} (median {med}, spread {spread_d:.2f} days)")
        ci = infer_shells(c, inc_tol_deg=inc_tol, alt_tol_km=alt_tol, plane_gap_deg=plane_gap)
        s = shell_summary(ci)
        cols = [x for x in ("shell", "kind", "count", "altitude_km", "inc_deg", "n_planes", "sats_per_plane",
                            "raan_spacing_deg", "walker_guess") if x in s.columns]
        _print_table(s[cols].round(3), title="inferred shells")
        if out is not None:
            _write(s, out, fmt)

    @tle_app.command("fetch")
    @_guard
    def tle_fetch(
        group: str = typer.Argument(..., help="CelesTrak group: starlink, oneweb, gps-ops, galileo, stations ..."),
        fmt: str = typer.Option("tle", "--format", "-f", help="tle (3LE text), json or csv (OMM)."),
        url: Optional[str] = typer.Option(None, "--url", help="Fetch from this URL instead (a mirror)."),
        cache_dir: Optional[Path] = typer.Option(None, "--cache-dir", help="Cache folder (default $ORBITLAT_CACHE "
                                                 "or ~/.cache/orbitlat)."),
        force: bool = typer.Option(False, "--force", help="Fetch even if the cached copy is less than 2 h old, and "
                                   "accept a catalog refused as suspicious (many fewer satellites than the cached "
                                   "ones, or older element sets)."),
        timeout: float = typer.Option(30.0, "--timeout", help="Seconds for the whole transfer (not per read)."),
        max_mb: float = typer.Option(64.0, "--max-mb", help="Largest response accepted, MiB."),
    ):
        """Fetch a CelesTrak group into the local cache; verified before use, never replacing good data with bad."""
        from orbitlat.orbits.fetch import fetch_tle, read_cache_meta

        check_float(timeout, "--timeout", 0.0, 86400.0, lo_open=True, unit="s")
        check_float(max_mb, "--max-mb", 0.0, 1e6, lo_open=True, unit="MiB")
        if fmt not in ("tle", "json", "csv"):
            _fail(f"--format {fmt!r}: use tle (3LE text), json or csv (OMM).")
        path = fetch_tle(group, fmt=fmt, cache_dir=cache_dir, url=url, force=force, accept_suspicious=force,
                         timeout=timeout, max_bytes=max(1, int(max_mb * 2**20)))
        meta = read_cache_meta(path, path.with_name(path.name + ".meta.json")) or {}
        print(f"{path}: {meta.get('count', '?')} satellites, epochs {meta.get('epoch_min', '?')} .. "
              f"{meta.get('epoch_max', '?')}, fetched {meta.get('fetched_at', '?')} from {meta.get('url', '?')}")


def main() -> None:
    """Entry point of the ``orbitlat`` script."""
    if typer is None:
        print("orbitlat: error: the command line needs typer and rich: pip install 'orbitlat[cli]'", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
