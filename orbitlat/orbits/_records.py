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
_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
         (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


def _decode(data: bytes) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16/32 (a BOM, or the NUL pattern of UTF-16
    without one, as Windows editors save "Unicode" text), else Latin-1."""
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc)
            except UnicodeDecodeError:
                break
    head = data[:4096]
    if len(head) >= 4 and head.count(0) >= len(head) // 4:
        even, odd = head[0::2].count(0), head[1::2].count(0)
        enc = "utf-16-le" if odd > 3 * max(even, 1) else ("utf-16-be" if even > 3 * max(odd, 1) else None)
        if enc is not None:
            try:
                return data.decode(enc)
            except UnicodeDecodeError:
                pass
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


#: What an element-set file can hold, by its first characters (see :func:`sniff_elements`).
ELEMENT_FORMATS = ("tle", "json", "csv")
_HTML_RE = re.compile(r"<\s*(!doctype\s+html|html|head|body|title)\b", re.IGNORECASE)
_XML_OMM_RE = re.compile(r"<\s*(ndm|omm)\b", re.IGNORECASE)
_CSV_OMM_RE = re.compile(r"^[\w\",; ]*\b(OBJECT_NAME|NORAD_CAT_ID|MEAN_MOTION|EPOCH)\b", re.IGNORECASE)


def sniff_elements(text: str) -> str:
    """The format of element-set text: ``"tle"``, ``"json"`` or ``"csv"`` (OMM), or a clear error.

    Text that holds no element sets is named for what it is: an HTML page (a web server's or a
    proxy's error page), CCSDS OMM in XML (not read: fetch JSON or CSV), CelesTrak's
    ``No GP data found`` answer (an unknown group or catalog number), binary data, or nothing.
    Raises :class:`ValueError` with that message (the readers turn it into their error type).

    >>> sniff_elements('[{"OBJECT_NAME": "ISS"}]'), sniff_elements("OBJECT_NAME,EPOCH\\nISS,2026"), sniff_elements("ISS\\n1 25544U")
    ('json', 'csv', 'tle')
    >>> sniff_elements("No GP data found")
    Traceback (most recent call last):
    ...
    ValueError: the text is CelesTrak's answer "No GP data found": no element sets for that query (an unknown group name or catalog number, or a group that is empty right now); check the name against celestrak.org's GP groups
    """
    body = text.lstrip("\ufeff \t\r\n")
    head = body[:2048]
    if not body.strip():
        raise ValueError("the text is empty: no element sets")
    if "\x00" in head:
        raise ValueError("the data is binary (it contains NUL bytes), not TLE or OMM text")
    if head.lower().startswith("no gp data found"):
        raise ValueError('the text is CelesTrak\'s answer "No GP data found": no element sets for that query (an '
                         "unknown group name or catalog number, or a group that is empty right now); check the "
                         "name against celestrak.org's GP groups")
    if head[:1] == "<":
        if _HTML_RE.search(head):
            title = re.search(r"<title[^>]*>(.*?)</title>", body[:20000], re.IGNORECASE | re.DOTALL)
            what = f" ({' '.join(title.group(1).split())[:80]!r})" if title else ""
            raise ValueError(f"the text is an HTML page{what}, not element sets: typically a web server's or a "
                             "proxy's error or login page; check the URL, or download the data again")
        if _XML_OMM_RE.search(head):
            raise ValueError("the text is CCSDS OMM in XML, which orbitlat does not read; get the same data as OMM "
                             "JSON or CSV (CelesTrak FORMAT=json or FORMAT=csv) or as TLE (FORMAT=tle)")
        raise ValueError("the text is XML, not TLE or OMM (JSON/CSV) element sets")
    if head[:1] in "[{":
        return "json"
    first = head.splitlines()[0] if head else ""
    if _CSV_OMM_RE.match(first) and "," in first:
        return "csv"
    return "tle"

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
