"""The ``orbitlat`` command line.

Built with typer (``pip install orbitlat[cli]``); every command prints ``--help``
good enough to learn from, and exits non-zero with a one-line message on bad input.

Examples
--------
orbitlat presets
orbitlat propagate starlink_gen1 --duration 1d --step 60s
orbitlat propagate --tle starlink.tle --frame GCRS --out eph.nc
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Optional

try:
    import typer
except ImportError:  # pragma: no cover - exercised only without the cli extra
    typer = None

EXIT_BAD_INPUT = 2


def _fail(msg: str, code: int = EXIT_BAD_INPUT):
    print(f"orbitlat: error: {msg}", file=sys.stderr)
    raise SystemExit(code)


def _console():
    try:
        from rich.console import Console

        return Console()
    except ImportError:  # pragma: no cover
        return None


def _print_table(df, title: str | None = None) -> None:
    con = _console()
    if con is None:
        print(df.to_string(index=False))
        return
    from rich.table import Table

    t = Table(title=title)
    for col in df.columns:
        t.add_column(str(col), overflow="fold")
    for row in df.itertuples(index=False):
        t.add_row(*[f"{v:.6g}" if isinstance(v, float) else str(v) for v in row])
    con.print(t)


if typer is not None:
    app = typer.Typer(
        help="orbitlat: who can see what, when, and how fast. Constellations, propagation, visibility, "
        "coverage and latency for satellite constellations.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )

    @app.command()
    def presets(
        details: bool = typer.Option(False, "--details", "-d", help="Show each preset's public source."),
    ):
        """List the built-in constellation presets (satellite counts and sources)."""
        import orbitlat as ol

        df = ol.presets.table()
        if not details:
            df = df[["preset", "satellites", "shells", "title"]]
        _print_table(df, title="orbitlat presets")

    @app.command()
    def propagate(
        preset: Optional[str] = typer.Argument(None, help="Preset name (see `orbitlat presets`); or use --tle."),
        tle: Optional[Path] = typer.Option(None, "--tle", help="A TLE/3LE file (CelesTrak format) instead of a preset."),
        start: str = typer.Option("2026-01-01T00:00:00", help="Start time (ISO 8601, UTC). For --tle, defaults to the "
                                  "latest TLE epoch if not given.", show_default=True),
        duration: str = typer.Option("1d", help="Duration, e.g. 90min, 6h, 1d."),
        step: str = typer.Option("60s", help="Step, e.g. 10s, 60s, 5min."),
        backend: str = typer.Option("auto", help="auto | sgp4 | kepler-j2 | boinor."),
        frame: str = typer.Option("ITRS", help="ITRS | GCRS | TEME."),
        out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the ephemeris (.nc NetCDF, .zarr not supported)."),
    ):
        """Build a constellation, propagate it, and print a summary (the foundation's main job)."""
        import numpy as np

        import orbitlat as ol
        from orbitlat.errors import OrbitlatError

        try:
            if tle is not None:
                if not tle.exists():
                    _fail(f"TLE file {tle} does not exist.")
                c = ol.Constellation.from_tle(tle)
                if start == "2026-01-01T00:00:00":
                    start = str(c.table.epoch.max())
            elif preset is not None:
                c = ol.presets.get(preset)
            else:
                _fail("give a preset name (see `orbitlat presets`) or --tle FILE.")
            t0 = time.perf_counter()
            eph = c.propagate(start=start, duration=duration, step=step, backend=backend, frame=frame)
            dt = time.perf_counter() - t0
        except OrbitlatError as exc:
            _fail(str(exc))
        r = np.linalg.norm(eph.position.to_numpy(), axis=-1)
        alt = r - 6378.137
        valid = ~eph.failed.to_numpy()
        shells = c.shells.reset_index()
        _print_table(shells.round(2), title=f"{c.name}: {c.size} satellites")
        lines = [
            f"propagated {c.size} satellites x {eph.sizes['time']} times ({eph.attrs['backend']}, {eph.attrs['frame']}) "
            f"in {dt:.2f} s",
            f"time span {eph.time.values[0]} .. {eph.time.values[-1]}",
            f"height above the equatorial radius, km: min {np.nanmin(alt[:, valid]):.1f}, mean {np.nanmean(alt[:, valid]):.1f}, "
            f"max {np.nanmax(alt[:, valid]):.1f}" if valid.any() else "no satellite propagated",
            f"failed satellites: {int((~valid).sum())}",
        ]
        if c.attrs.get("source"):
            lines.append(f"source: {c.attrs['source']}")
        print("\n".join(lines))
        if out is not None:
            if out.suffix != ".nc":
                _fail(f"--out {out}: only NetCDF (.nc) is supported for ephemerides.")
            eph.to_netcdf(out)
            print(f"wrote {out}")


def main() -> None:
    """Entry point of the ``orbitlat`` script."""
    if typer is None:
        print("orbitlat: the command line needs typer and rich: pip install 'orbitlat[cli]'", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
