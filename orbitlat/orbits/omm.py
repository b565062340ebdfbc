"""CCSDS OMM (Orbit Mean-elements Message) in CelesTrak's JSON and CSV: :func:`read_omm`.

Returns the same element table as :func:`orbitlat.orbits.tle.read_tle` (columns
:data:`~orbitlat.orbits._records.ELEMENT_COLUMNS`), with TLE lines rendered by sgp4; every problem
raises :class:`~orbitlat.errors.OMMError` naming the record.
"""
from __future__ import annotations

import csv
import datetime as _dt
import io as _io
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any
import numpy as np
import pandas as pd
from orbitlat.errors import OMMError
from orbitlat.orbits._records import _NEWLINE_RE, _OBJECT_ID_RE, _frame, _satrec_row, _text_from_src, sniff_elements
from orbitlat.orbits.tle import _FieldError, _LineError, _check_tle_line

__all__ = ["read_omm", "read_elements"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# --------------------------------------------------------------------------------------
# OMM reader
# --------------------------------------------------------------------------------------
_OMM_REQUIRED = (
    "EPOCH", "MEAN_MOTION", "ECCENTRICITY", "INCLINATION", "RA_OF_ASC_NODE",
    "ARG_OF_PERICENTER", "MEAN_ANOMALY", "NORAD_CAT_ID", "BSTAR", "MEAN_MOTION_DOT",
)

#: Bookkeeping keys that may be absent (value used instead).
_OMM_DEFAULTS: dict[str, Any] = {
    "OBJECT_NAME": None,  # -> "NORAD <id>"
    "OBJECT_ID": "",
    "CLASSIFICATION_TYPE": "U",
    "EPHEMERIS_TYPE": 0,
    "ELEMENT_SET_NO": 999,
    "REV_AT_EPOCH": 0,
    "MEAN_MOTION_DDOT": 0.0,
}

_NUM_STR_RE = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?", re.ASCII)

_EPOCH_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"(?:Z|[+-]00:?00)?", re.ASCII)

_EPOCH_DOY_RE = re.compile(
    r"([0-9]{4})-([0-9]{3})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]+))?Z?", re.ASCII)


def read_omm(src: Any, *, fmt: str | None = None, source: str | None = None,
             allow_duplicates: bool = False) -> pd.DataFrame:
    r"""Read CCSDS OMM mean elements (CelesTrak JSON or CSV) into a DataFrame.

    Each record is turned into an sgp4 satellite with ``sgp4.omm.initialize``
    and rendered as TLE lines with ``sgp4.exporter.export_tle``, so the result
    has exactly the columns of :func:`read_tle`. The mean-element columns and
    ``epoch`` come from the OMM values at full precision; ``line1``/``line2``
    are rounded to TLE precision.

    Required keys: ``EPOCH, MEAN_MOTION, ECCENTRICITY, INCLINATION,
    RA_OF_ASC_NODE, ARG_OF_PERICENTER, MEAN_ANOMALY, NORAD_CAT_ID, BSTAR,
    MEAN_MOTION_DOT``. Optional, with defaults: ``OBJECT_NAME`` (``"NORAD
    <id>"``), ``OBJECT_ID`` (blank), ``CLASSIFICATION_TYPE`` (``"U"``),
    ``EPHEMERIS_TYPE`` (0), ``ELEMENT_SET_NO`` (999), ``REV_AT_EPOCH`` (0),
    ``MEAN_MOTION_DDOT`` (0). Keys are case-insensitive; numbers may be JSON
    numbers or strings. ``REV_AT_EPOCH`` and ``ELEMENT_SET_NO`` wrap at
    100000 and 10000 in the TLE lines, as in the TLE format.

    Parameters
    ----------
    src : str, pathlib.Path, bytes, file-like, list of dict, dict or DataFrame
        OMM text (JSON array/object or CSV with a header line), the path of
        an existing file, or already-parsed records.
    fmt : {None, "json", "csv"}
        Text format; ``None`` sniffs it (``[``/``{`` means JSON, else CSV).
    source : str, optional
        Label for error messages and ``df.attrs["source"]``.
    allow_duplicates : bool, default False
        Keep records that repeat a ``NORAD_CAT_ID`` instead of raising.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ELEMENT_COLUMNS`, one row per record.

    Raises
    ------
    OMMError
        Unparseable text, missing keys, non-numeric or out-of-range values,
        duplicates, or no records; the message names the record index
        (0-based; also ``exc.record_index``) and the key.

    Examples
    --------
    >>> rec = {"OBJECT_NAME": "ISS (ZARYA)", "OBJECT_ID": "1998-067A",
    ...        "EPOCH": "2008-09-20T12:25:40.104192", "MEAN_MOTION": 15.72125391,
    ...        "ECCENTRICITY": 0.0006703, "INCLINATION": 51.6416, "RA_OF_ASC_NODE": 247.4627,
    ...        "ARG_OF_PERICENTER": 130.536, "MEAN_ANOMALY": 325.0288, "EPHEMERIS_TYPE": 0,
    ...        "CLASSIFICATION_TYPE": "U", "NORAD_CAT_ID": 25544, "ELEMENT_SET_NO": 292,
    ...        "REV_AT_EPOCH": 56353, "BSTAR": -1.1606e-05, "MEAN_MOTION_DOT": -2.182e-05,
    ...        "MEAN_MOTION_DDOT": 0}
    >>> df = read_omm(json.dumps([rec]))
    >>> df.loc[0, "line2"]
    '2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537'
    """
    if fmt is not None and fmt not in ("json", "csv"):
        raise OMMError(f"fmt={fmt!r} is not supported; use None (sniff), 'json' or 'csv'")
    prefix = f"{source}: " if source else ""

    def err(msg: str) -> OMMError:
        return OMMError(prefix + msg)

    csv_lines: list[int] | None = None
    text, path_label = _text_from_src(src, err, "OMM")
    if path_label and not source:
        prefix = f"{path_label}: "
    attrs_source = source or path_label
    if text is not None:
        attrs_source = attrs_source or "<text>"
        body = text.lstrip("\ufeff \t\r\n")
        if not body.strip():
            raise err("no OMM records found: the input is empty")
        try:
            sniffed = sniff_elements(body)
        except ValueError as exc:
            raise err(str(exc)) from None
        if sniffed == "tle" and _looks_like_tle(body):
            raise err("this is TLE text, not OMM; read it with orbitlat.orbits.tle.read_tle "
                      "(Constellation.from_tle), or Constellation.from_file which reads either")
        kind = fmt
        if kind is None:
            if sniffed == "json":
                kind = "json"
            elif path_label and path_label.lower().endswith(".json"):
                kind = "json"
            else:
                kind = "csv"
        if kind == "json":
            records = _json_records(body, err)
        else:
            records, csv_lines = _csv_records(body, err)
    elif isinstance(src, pd.DataFrame):
        records = src.to_dict("records")
        attrs_source = attrs_source or "<DataFrame>"
    elif isinstance(src, Mapping):
        records = [src]
        attrs_source = attrs_source or "<records>"
    elif isinstance(src, Iterable) and not isinstance(src, (str, bytes)):
        records = list(src)
        if records and all(isinstance(r, str) for r in records):
            return read_omm("\n".join(r.rstrip("\r\n") for r in records) + "\n", fmt=fmt,
                            source=source or "<lines>", allow_duplicates=allow_duplicates)
        attrs_source = attrs_source or "<records>"
    else:
        raise err(f"src is {type(src).__name__}; pass OMM JSON/CSV text, a file path, or a list of "
                  f"dicts")
    if not records:
        raise err("no OMM records found: the input holds an empty list; pass at least one record")

    def where(i: int) -> str:
        if csv_lines is not None:
            return f"record {i} (CSV line {csv_lines[i]})"
        return f"record {i}"

    rows: list[dict[str, Any]] = []
    seen: dict[int, int] = {}
    for i, rec in enumerate(records):
        try:
            row = _omm_row(rec)
        except _FieldError as exc:
            e = err(f"{where(i)}: {exc}")
            e.record_index = i  # type: ignore[attr-defined]
            raise e from None
        norad = row["norad_id"]
        if norad in seen and not allow_duplicates:
            e = err(f"{where(i)}: NORAD_CAT_ID {norad} already appeared in {where(seen[norad])}; "
                    f"remove one of them, or pass allow_duplicates=True to keep both")
            e.record_index = i  # type: ignore[attr-defined]
            raise e
        seen.setdefault(norad, i)
        rows.append(row)
    return _frame(rows, attrs_source or "<records>")

def _looks_like_tle(body: str) -> bool:
    """The first non-blank lines contain a TLE line 1 followed by a line 2 (3LE or 2LE text)."""
    lines = [ln.strip() for ln in _NEWLINE_RE.split(body[:1000]) if ln.strip()][:3]
    return any(a.startswith("1 ") and b.startswith("2 ") for a, b in zip(lines, lines[1:]))


def read_elements(src: Any, *, source: str | None = None, allow_duplicates: bool = False) -> pd.DataFrame:
    """Element sets from TLE/3LE text or OMM JSON/CSV, whichever the text is (sniffed, not guessed
    from the file name); HTML pages, XML OMM, CelesTrak's "No GP data found" and binary data are
    refused with a message that says so.

    >>> df = read_elements("ISS (ZARYA)\\n1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927\\n"
    ...                    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537\\n")
    >>> int(df.norad_id[0])
    25544
    """
    from orbitlat.orbits.tle import read_tle

    err = (lambda m: OMMError((f"{source}: " if source else "") + m))
    text, label = _text_from_src(src, err, "element-set")
    if text is None:  # records or lines: the readers know those
        return read_omm(src, source=source, allow_duplicates=allow_duplicates)
    label = source or label
    try:
        kind = sniff_elements(text)
    except ValueError as exc:
        raise OMMError((f"{label}: " if label else "") + str(exc)) from None
    if kind == "tle":
        return read_tle(text, source=label, allow_duplicates=allow_duplicates)
    return read_omm(text, fmt=kind, source=label, allow_duplicates=allow_duplicates)


def _json_records(body: str, err) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise err(f"invalid JSON: {exc}; CelesTrak OMM JSON is a list of objects") from None
    if isinstance(data, dict):
        return [data]
    if not isinstance(data, list):
        raise err(f"the JSON holds a {type(data).__name__}, expected a list of OMM objects")
    return data

def _csv_records(body: str, err) -> tuple[list[Any], list[int]]:
    records, line_numbers = [], []
    try:
        reader = csv.DictReader(_io.StringIO(body, newline=""))
        if not reader.fieldnames:
            raise err("no OMM records found: the CSV has no header line")
        for rec in reader:
            records.append(rec)
            line_numbers.append(reader.line_num)
    except csv.Error as exc:
        raise err(f"invalid CSV: {exc}") from None
    if not records:
        raise err("no OMM records found: the CSV has a header line but no data rows")
    return records, line_numbers

def _blank(v: Any) -> bool:
    return v is None or (isinstance(v, str) and not v.strip()) or (isinstance(v, float) and math.isnan(v))

def _omm_num(key: str, v: Any) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, str, np.integer, np.floating)):
        raise _FieldError(f"{key} is {v!r} ({type(v).__name__}), expected a number")
    if isinstance(v, str):
        t = v.strip()
        if not _NUM_STR_RE.fullmatch(t):
            raise _FieldError(f"{key} is {v!r}, not a number")
        v = t
    try:
        x = float(v)
    except (ValueError, OverflowError):
        raise _FieldError(f"{key} is {v!r}, not a number") from None
    if not math.isfinite(x):
        raise _FieldError(f"{key} is {v!r}, expected a finite number")
    return x

def _omm_int(key: str, v: Any, lo: int, hi: int) -> int:
    x = _omm_num(key, v)
    if x != int(x):
        raise _FieldError(f"{key} is {v!r}, expected a whole number")
    if not lo <= x <= hi:
        raise _FieldError(f"{key} is {v!r}, outside {lo}..{hi}")
    return int(x)

def _omm_epoch(v: Any) -> _dt.datetime:
    if isinstance(v, (_dt.datetime, np.datetime64)):  # e.g. a DataFrame with parsed dates
        try:
            ts = pd.Timestamp(v)
            if ts.tzinfo is not None:
                ts = ts.tz_convert("UTC").tz_localize(None)
            v = ts.strftime("%Y-%m-%dT%H:%M:%S.%f")
        except (ValueError, OverflowError, TypeError):
            raise _FieldError(f"EPOCH is {v!r}, not a valid time") from None
    if not isinstance(v, str):
        raise _FieldError(f"EPOCH is {v!r} ({type(v).__name__}), expected a UTC time string such as "
                          f"'2026-05-30T12:25:10.468992'")
    t = v.strip()
    try:
        m = _EPOCH_RE.fullmatch(t)
        if m:
            y, mo, d, h, mi, s, frac = m.groups()
            base = _dt.datetime(int(y), int(mo), int(d), int(h), int(mi), int(s))
        else:
            m = _EPOCH_DOY_RE.fullmatch(t)
            if not m:
                raise ValueError("unrecognised format")
            y, doy, h, mi, s, frac = m.groups()
            if not 1 <= int(doy) <= 366:
                raise ValueError("day of year out of range")
            base = _dt.datetime(int(y), 1, 1, int(h), int(mi), int(s)) + _dt.timedelta(days=int(doy) - 1)
        micro = round(float("0." + frac) * 1e6) if frac else 0
        epoch = base + _dt.timedelta(microseconds=micro)
    except (ValueError, OverflowError):
        raise _FieldError(f"EPOCH is {v!r}, not a valid UTC time; write e.g. "
                          f"'2026-05-30T12:25:10.468992'") from None
    if not 1957 <= epoch.year <= 2056:
        raise _FieldError(f"EPOCH is {v!r}: the year must be 1957-2056 to be written as a TLE")
    return epoch

def _omm_row(rec: Any) -> dict[str, Any]:
    from sgp4 import exporter, omm
    from sgp4.api import SGP4_ERRORS, Satrec

    if not isinstance(rec, Mapping):
        raise _FieldError(f"is {rec!r:.40} (type {type(rec).__name__}), expected an object/dict of "
                          f"OMM keys")
    norm: dict[str, Any] = {}
    for key, value in rec.items():
        if isinstance(key, str):
            norm[key.strip().upper()] = value
    missing = [k for k in _OMM_REQUIRED if _blank(norm.get(k))]
    if missing:
        raise _FieldError(f"missing or empty required key(s) {', '.join(missing)}; every OMM record "
                          f"needs {', '.join(_OMM_REQUIRED)}")
    for key, default in _OMM_DEFAULTS.items():
        if _blank(norm.get(key)):
            norm[key] = default

    epoch = _omm_epoch(norm["EPOCH"])
    norad = _omm_int("NORAD_CAT_ID", norm["NORAD_CAT_ID"], 0, 339999)
    n = _omm_num("MEAN_MOTION", norm["MEAN_MOTION"])
    ecc = _omm_num("ECCENTRICITY", norm["ECCENTRICITY"])
    inc = _omm_num("INCLINATION", norm["INCLINATION"])
    raan = _omm_num("RA_OF_ASC_NODE", norm["RA_OF_ASC_NODE"]) % 360.0
    argp = _omm_num("ARG_OF_PERICENTER", norm["ARG_OF_PERICENTER"]) % 360.0
    ma = _omm_num("MEAN_ANOMALY", norm["MEAN_ANOMALY"]) % 360.0
    bstar = _omm_num("BSTAR", norm["BSTAR"])
    ndot = _omm_num("MEAN_MOTION_DOT", norm["MEAN_MOTION_DOT"])
    nddot = _omm_num("MEAN_MOTION_DDOT", norm["MEAN_MOTION_DDOT"])
    ephtype = _omm_int("EPHEMERIS_TYPE", norm["EPHEMERIS_TYPE"], 0, 9)
    elnum = _omm_int("ELEMENT_SET_NO", norm["ELEMENT_SET_NO"], 0, 10**12) % 10000
    revnum = _omm_int("REV_AT_EPOCH", norm["REV_AT_EPOCH"], 0, 10**12) % 100000
    if not 0.0 < n < 100.0:
        raise _FieldError(f"MEAN_MOTION is {norm['MEAN_MOTION']!r}, expected revolutions per day in (0, 100)")
    if not 0.0 <= ecc < 1.0:
        raise _FieldError(f"ECCENTRICITY is {norm['ECCENTRICITY']!r}, expected 0 <= e < 1")
    if not 0.0 <= inc <= 180.0:
        raise _FieldError(f"INCLINATION is {norm['INCLINATION']!r}, expected degrees in [0, 180]")
    for key, x in (("BSTAR", bstar), ("MEAN_MOTION_DDOT", nddot)):
        if abs(x) >= 1e9:
            raise _FieldError(f"{key} is {x!r}, too large for the TLE format (|x| < 1e9)")
    if abs(ndot) >= 1.0:
        raise _FieldError(f"MEAN_MOTION_DOT is {ndot!r}, too large for the TLE format (|x| < 1)")
    cls = norm["CLASSIFICATION_TYPE"]
    if not (isinstance(cls, str) and len(cls.strip()) == 1 and cls.strip().isascii() and cls.strip().isalpha()):
        raise _FieldError(f"CLASSIFICATION_TYPE is {cls!r}, expected one letter such as 'U'")
    oid = norm["OBJECT_ID"]
    if not isinstance(oid, str):
        raise _FieldError(f"OBJECT_ID is {oid!r}, expected a string such as '1998-067A'")
    oid = oid.strip().upper()
    m = _OBJECT_ID_RE.fullmatch(oid)
    if oid and not m:
        raise _FieldError(f"OBJECT_ID is {norm['OBJECT_ID']!r}, expected an international designator "
                          f"such as '1998-067A'")
    intl = "".join(m.groups()) if (oid and m) else ""
    name = norm["OBJECT_NAME"]
    name = f"NORAD {norad}" if name is None else str(name).strip() or f"NORAD {norad}"

    fields = {
        "CLASSIFICATION_TYPE": cls.strip().upper(),
        "OBJECT_ID": ("19" + intl) if intl else "",  # omm.initialize drops the first 2 chars and '-'
        "EPHEMERIS_TYPE": ephtype,
        "ELEMENT_SET_NO": elnum,
        "REV_AT_EPOCH": revnum,
        "EPOCH": epoch.strftime("%Y-%m-%dT%H:%M:%S.%f"),
        "ARG_OF_PERICENTER": argp,
        "BSTAR": bstar,
        "ECCENTRICITY": ecc,
        "INCLINATION": inc,
        "MEAN_ANOMALY": ma,
        "MEAN_MOTION_DDOT": nddot,
        "MEAN_MOTION_DOT": ndot,
        "MEAN_MOTION": n,
        "RA_OF_ASC_NODE": raan,
        "NORAD_CAT_ID": norad,
    }
    try:
        sat = Satrec()
        omm.initialize(sat, fields)
    except Exception as exc:  # noqa: BLE001 - any sgp4 failure is bad input
        raise _FieldError(f"sgp4 cannot initialise the satellite: {exc}") from None
    if sat.error:
        raise _FieldError(f"sgp4 rejects these elements at their epoch (sgp4 error {sat.error}: "
                          f"{SGP4_ERRORS.get(sat.error, 'unknown error')}); check MEAN_MOTION and "
                          f"ECCENTRICITY")
    try:
        line1, line2 = exporter.export_tle(sat)
        _check_tle_line(line1, 1)
        _check_tle_line(line2, 2)
    except (_LineError, ValueError, TypeError, OverflowError) as exc:
        raise _FieldError(f"the elements cannot be written as a TLE: {exc}") from None
    epoch_ns = int((np.datetime64(epoch, "ns") - np.datetime64(0, "ns")) // np.timedelta64(1, "ns"))
    row = _satrec_row(sat, name, line1, line2, epoch_ns)
    return row
