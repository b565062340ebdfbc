"""Shared by the TLE and OMM readers: reading input text (paths, strings, bytes, lines) and building the
element table (one row per satellite) from sgp4 ``Satrec`` objects.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any
import numpy as np
import pandas as pd

__all__ = ["ELEMENT_COLUMNS"]


#: Columns of the DataFrames returned by :func:`read_tle` and :func:`read_omm`.
ELEMENT_COLUMNS: tuple[str, ...] = (
    "name", "norad_id", "intl_designator", "epoch", "line1", "line2",
    "mean_motion_rev_day", "ecc", "inc_deg", "raan_deg", "argp_deg", "mean_anomaly_deg", "bstar",
    "sgp4_epoch_error",
)

_UNIX_JD = 2440587.5

_NS_PER_DAY = 86_400_000_000_000

_RAD2DEG = 180.0 / math.pi

_XPDOTP = 1440.0 / (2.0 * math.pi)  # rad/min -> rev/day

def _epoch_ns(sat) -> int:
    """Epoch of a Satrec as int nanoseconds since 1970, rounded to the microsecond."""
    days = sat.jdsatepoch - _UNIX_JD
    whole = math.floor(days)
    frac = (days - whole) + sat.jdsatepochF
    micro = round(frac * 86_400_000_000)
    return int(whole) * _NS_PER_DAY + micro * 1000

def _satrec_row(sat, name: str, line1: str, line2: str, epoch_ns: int) -> dict[str, Any]:
    return {
        "name": name,
        "norad_id": int(sat.satnum),
        "intl_designator": line1[9:17].strip(),
        "epoch": epoch_ns,
        "line1": line1,
        "line2": line2,
        "mean_motion_rev_day": sat.no_kozai * _XPDOTP,
        "ecc": sat.ecco,
        "inc_deg": sat.inclo * _RAD2DEG,
        "raan_deg": sat.nodeo * _RAD2DEG,
        "argp_deg": sat.argpo * _RAD2DEG,
        "mean_anomaly_deg": sat.mo * _RAD2DEG,
        "bstar": sat.bstar,
        "sgp4_epoch_error": int(sat.error),
    }

def _frame(rows: list[dict[str, Any]], source: str) -> pd.DataFrame:
    data: dict[str, Any] = {}
    for col in ELEMENT_COLUMNS:
        vals = [r[col] for r in rows]
        if col in ("norad_id", "sgp4_epoch_error"):
            data[col] = np.array(vals, dtype=np.int64)
        elif col == "epoch":
            data[col] = np.array(vals, dtype=np.int64).astype("datetime64[ns]")
        elif col in ("name", "intl_designator", "line1", "line2"):
            data[col] = vals  # pandas picks its string dtype (object in pandas 2, str in pandas 3)
        else:
            data[col] = np.array(vals, dtype=np.float64)
    df = pd.DataFrame(data)
    df.attrs["source"] = source
    return df

# --------------------------------------------------------------------------------------
# Input handling shared by the readers
# --------------------------------------------------------------------------------------
def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")

def _read_path(path: Path, err) -> str:
    try:
        return _decode(path.read_bytes())
    except OSError as exc:
        raise err(f"cannot read {str(path)!r}: {exc.strerror or exc}; pass the path of an existing "
                  f"file or the text itself") from None

_PATHLIKE_SUFFIXES = (".tle", ".txt", ".3le", ".2le", ".json", ".csv", ".xml", ".omm")

def _is_existing_file(s: str) -> bool:
    try:
        return Path(s).is_file()
    except (OSError, ValueError):  # name too long, NUL byte, unencodable, ...
        return False

def _exists(s: str) -> bool:
    try:
        return Path(s).exists()
    except (OSError, ValueError):
        return False

def _text_from_src(src: Any, err, what: str) -> tuple[str | None, str | None]:
    """Return (text, path_label) for str/bytes/path/file-like input; (None, None) otherwise."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return _decode(bytes(src)), None
    if isinstance(src, os.PathLike):
        p = Path(src)
        return _read_path(p, err), str(p)
    if isinstance(src, str):
        if "\n" in src or "\r" in src or not src.strip():
            return src, None
        if _is_existing_file(src):
            return _read_path(Path(src), err), src
        s = src.strip()
        if (s[0] not in "[{<" and (s.lower().endswith(_PATHLIKE_SUFFIXES) or "/" in s or "\\" in s)
                and len(s) < 4096):
            problem = "is not a regular file" if _exists(s) else "does not exist"
            raise err(f"{s!r} {problem}; pass the path of an existing file, or the {what} text "
                      f"itself (text must contain newlines)")
        return src, None
    if hasattr(src, "read") and callable(src.read):
        try:
            data = src.read()
        except Exception as exc:  # noqa: BLE001 - unreadable stream is bad input
            raise err(f"cannot read from {src!r}: {exc}") from None
        label = getattr(src, "name", None)
        label = label if isinstance(label, str) else None
        if isinstance(data, (bytes, bytearray)):
            return _decode(bytes(data)), label
        if isinstance(data, str):
            return data, label
        raise err(f"reading {src!r} returned {type(data).__name__}, expected str or bytes")
    return None, None

_NEWLINE_RE = re.compile(r"\r\n|\r|\n")


#: International designator (COSPAR ID) as OMM and TLE write it.
_OBJECT_ID_RE = re.compile(r"(?:[0-9]{2})?([0-9]{2})-?([0-9]{3})([A-Z]{0,3})", re.ASCII)
