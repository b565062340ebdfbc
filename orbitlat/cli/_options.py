"""Checks shared by the ``orbitlat`` commands' options, run before any long work starts.

Every command validates its options with these helpers, so a new option inherits the same
behaviour: outputs are checked up front (a known format that agrees with the extension, a folder
that exists and can be written to, not an existing folder), numbers are finite and in range, and
each failure is one ``orbitlat: error: ...`` line naming the option, what is valid and how to fix it
(exit 2, see :mod:`orbitlat.cli._runtime`).
"""
from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Optional

from orbitlat.cli._runtime import fail

__all__ = ["check_writable", "check_folder_out", "check_table_out", "check_image_out", "check_file_out", "check_mask", "check_int",
           "check_float", "check_input_file", "IMAGE_SUFFIXES"]

#: File types the map options write (matplotlib backends available without extra packages).
IMAGE_SUFFIXES = (".png", ".pdf", ".svg")


def check_writable(path: Path, option: str) -> None:
    """``path`` can be created or replaced: not a folder, its folder exists and accepts a new file.

    The folder is probed by creating (and removing) an empty temporary file in it, which also
    catches read-only file systems and, for root, what permission bits would not.
    """
    path = Path(path)
    if path.is_dir():
        fail(f"{option} {path} is a folder; give a file name inside it, e.g. {path / ('result' + (path.suffix or '.csv'))}.")
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.exists():
        fail(f"{option} {path}: the folder {parent} does not exist; create it first.")
    if not parent.is_dir():
        fail(f"{option} {path}: {parent} is not a folder.")
    try:
        fd, probe = tempfile.mkstemp(dir=parent, prefix=".orbitlat-probe-")
    except OSError as exc:
        fail(f"{option} {path}: cannot write in the folder {parent} ({exc.strerror or exc}); choose a folder you "
             "can write to.")
    else:
        os.close(fd)
        try:
            os.unlink(probe)
        except OSError:  # pragma: no cover
            pass


def check_folder_out(path: Path, option: str = "--out") -> None:
    """An output folder (created if missing): not a file, and its nearest existing ancestor accepts new files."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        fail(f"{option} {path} exists and is not a folder; give a folder (e.g. report/).")
    anc = (path.parent if str(path.parent) else Path(".")).absolute()
    while not anc.exists():
        anc = anc.parent
    if not anc.is_dir():
        fail(f"{option} {path}: {anc} is not a folder.")
    try:
        d = tempfile.mkdtemp(dir=anc, prefix=".orbitlat-probe-")
    except OSError as exc:
        fail(f"{option} {path}: cannot write in the folder {anc} ({exc.strerror or exc}); choose a folder you can "
             "write to.")
    else:
        os.rmdir(d)


def check_table_out(path: Optional[Path], option: str = "--out", fmt: Optional[str] = None,
                    kinds: tuple[str, ...] = ("csv", "parquet", "netcdf")) -> Optional[str]:
    """A table output (``.csv``/``.parquet``/``.nc``): format known, consistent with ``--format``, writable.

    Returns the format (or None without a path).
    """
    if path is None:
        if fmt is not None:
            from orbitlat.export.tables import table_format

            table_format("x.csv", fmt)  # an unknown --format is an error even without --out
        return None
    from orbitlat.export.tables import table_format

    if Path(path).is_dir():
        check_writable(Path(path), option)  # says it is a folder
    f = table_format(path, fmt)
    if f not in kinds:
        fail(f"{option} {path}: {f} output is not available here; use {' or '.join(kinds)}.")
    check_writable(Path(path), option)
    return f


def check_image_out(path: Optional[Path], option: str = "--map") -> None:
    if path is None:
        return
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        fail(f"{option} {path}: maps are written as .png (or .pdf/.svg); got {Path(path).suffix or 'no extension'!r}.")
    check_writable(Path(path), option)


def check_file_out(path: Optional[Path], option: str, suffixes: tuple[str, ...]) -> None:
    """Any other output file with one of ``suffixes`` (e.g. ``--czml``)."""
    if path is None:
        return
    if Path(path).suffix.lower() not in suffixes:
        fail(f"{option} {path}: give a file name ending in {' or '.join(suffixes)}.")
    check_writable(Path(path), option)


def check_input_file(path: Optional[Path], option: str, what: str = "file") -> None:
    if path is None:
        return
    p = Path(path)
    if not p.exists():
        fail(f"{option} {path}: the {what} does not exist.")
    if p.is_dir():
        fail(f"{option} {path} is a folder; give the {what} itself.")
    if not os.access(p, os.R_OK):
        fail(f"{option} {path}: the {what} cannot be read (permission denied).")


def check_mask(value: float, option: str = "--min-elevation") -> float:
    """An elevation mask option: finite degrees in [-5, 90] (the one check, :func:`check_mask_deg`)."""
    from orbitlat.errors import OrbitlatError
    from orbitlat.ground.sites import MASK_RANGE_DEG, check_mask_deg

    try:
        return float(check_mask_deg(value))
    except OrbitlatError:
        lo, hi = MASK_RANGE_DEG
        fail(f"{option} {value!r} is not a valid elevation mask; give degrees above the horizon in [{lo:g}, {hi:g}] "
             "(e.g. 25 for user terminals, 10 for gateways).")


def check_int(value: Optional[int], option: str, lo: int = 1, hi: Optional[int] = None, hint: str = "") -> None:
    """A whole-number option in ``[lo, hi]``."""
    if value is None:
        return
    if value < lo or (hi is not None and value > hi):
        rng = f">= {lo:,}" if hi is None else f"in [{lo:,}, {hi:,}]"
        fail(f"{option} {value}: give a whole number {rng}{'; ' + hint if hint else '.'}")


def check_float(value: Optional[float], option: str, lo: float, hi: float = math.inf, *, lo_open: bool = False,
                unit: str = "", hint: str = "") -> None:
    """A finite number option in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""
    if value is None:
        return
    ok = math.isfinite(value) and (value > lo if lo_open else value >= lo) and value <= hi
    if not ok:
        left = "(" if lo_open else "["
        right = "]" if math.isfinite(hi) else ")"
        hi_s = f"{hi:g}" if math.isfinite(hi) else "inf"
        fail(f"{option} {value!r}: give a finite number in {left}{lo:g}, {hi_s}{right}{' ' + unit if unit else ''}"
             f"{'; ' + hint if hint else '.'}")
