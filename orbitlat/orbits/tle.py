"""TLE/3LE element sets: read (checksums and columns verified), write and make TLE lines.

OMM lives in :mod:`orbitlat.orbits.omm`; both readers return the same table, built by
:mod:`orbitlat.orbits._records`.

:func:`read_tle` and :func:`read_omm` both return a :class:`pandas.DataFrame`
with one row per satellite, in input order, and the same columns
(:data:`ELEMENT_COLUMNS`):

===================== ================ ==============================================
column                dtype            meaning
===================== ================ ==============================================
``name``              str              satellite name (``"NORAD <id>"`` if none given)
``norad_id``          int64            NORAD catalog number (Alpha-5 decoded)
``intl_designator``   str              international designator, TLE style (``98067A``)
``epoch``             datetime64[ns]   element-set epoch, UTC (naive, UTC labels)
``line1``, ``line2``  str              the TLE lines (for OMM: rendered by sgp4)
``mean_motion_rev_day`` float          Kozai mean motion, rev/day
``ecc``               float            mean eccentricity
``inc_deg``           float            mean inclination, deg
``raan_deg``          float            right ascension of the ascending node, deg
``argp_deg``          float            argument of perigee, deg
``mean_anomaly_deg``  float            mean anomaly, deg
``bstar``             float            B* drag term, 1/earth radii
===================== ================ ==============================================

Every problem with the input raises :class:`~orbitlat.errors.TLEError` (with
the 1-based line number) or :class:`~orbitlat.errors.OMMError` (with the record
index); both are :class:`~orbitlat.errors.OrbitlatError`. Nothing else escapes
from the readers, whatever the text.

>>> from orbitlat.orbits.tle import read_tle, write_tle
>>> text = '''ISS (ZARYA)
... 1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
... 2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537
... '''
>>> df = read_tle(text)
>>> print(df.loc[0, "name"], df.loc[0, "norad_id"], df.loc[0, "inc_deg"])
ISS (ZARYA) 25544 51.6416
>>> str(df.loc[0, "epoch"])
'2008-09-20 12:25:40.104192'
>>> write_tle(df) == text
True
"""
from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
import numpy as np
import pandas as pd
from orbitlat.errors import OrbitlatError, TLEError
from orbitlat.orbits._records import _NEWLINE_RE, _OBJECT_ID_RE, _RAD2DEG, _XPDOTP, _decode, _epoch_ns, _frame, _satrec_row, _text_from_src, sniff_elements
from orbitlat.units import accepts_units

__all__ = ["tle_checksum", "read_tle", "write_tle", "make_tle_lines", "make_tle_records"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_TLE_LEN = 69

# --------------------------------------------------------------------------------------
# TLE column layout (1-based, inclusive), as in the NORAD/Space-Track TLE format.
# --------------------------------------------------------------------------------------
_FLOAT_RE = re.compile(r"[0-9]+(?:\.[0-9]*)?|\.[0-9]+", re.ASCII)

_SIGNED_DEC_RE = re.compile(r"[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", re.ASCII)

_EXP_RE = re.compile(r"[-+ ][0-9]{5}[-+ ][0-9]", re.ASCII)

_CATNUM_RE = re.compile(r" *[0-9]+|[A-HJ-NP-Z][0-9]{4}", re.ASCII)

_UINT_RE = re.compile(r" *[0-9]*", re.ASCII)

_PRINTABLE_RE = re.compile(r"[ -~]*", re.ASCII)

_DIGITS = "0123456789"

class _FieldError(Exception):
    """Internal: a fixed-column field does not hold what it should."""

def _v_catalog(s: str):
    if not _CATNUM_RE.fullmatch(s):
        raise _FieldError("expected 5 digits (e.g. '25544') or an Alpha-5 number (a letter other "
                          "than I or O and 4 digits, e.g. 'A0001')")
    return s.strip()

def _v_regex(pattern: str, expected: str):
    rx = re.compile(pattern, re.ASCII)

    def check(s: str):
        if not rx.fullmatch(s):
            raise _FieldError(expected)
        return s
    return check

def _v_float(lo: float, hi: float, expected: str, *, lo_open: bool = False, hi_open: bool = False):
    def check(s: str):
        t = s.strip()
        if not _FLOAT_RE.fullmatch(t):
            raise _FieldError(expected)
        v = float(t)
        if v < lo or (lo_open and v == lo) or v > hi or (hi_open and v == hi):
            lb = "(" if lo_open else "["
            rb = ")" if hi_open else "]"
            raise _FieldError(f"{expected}; its value {v:g} is outside {lb}{lo:g}, {hi:g}{rb}")
        return v
    return check

def _v_signed_decimal(s: str):
    t = s.strip()
    if not _SIGNED_DEC_RE.fullmatch(t):
        raise _FieldError("expected a signed decimal such as ' .00011776' or '-.00000108'")
    return float(t)

def _v_exp(s: str):
    if not _EXP_RE.fullmatch(s):
        raise _FieldError("expected the TLE exponent form: sign or blank, 5 digits, exponent sign "
                          "and 1 digit, e.g. ' 21767-3' (= 0.21767e-3) or ' 00000+0'")
    sign = -1.0 if s[0] == "-" else 1.0
    exp = int(s[7]) * (-1 if s[6] == "-" else 1)
    return sign * float("0." + s[1:6]) * 10.0 ** exp

def _v_uint(expected: str):
    def check(s: str):
        if not _UINT_RE.fullmatch(s):
            raise _FieldError(expected)
        return int(s) if s.strip() else 0
    return check

def _v_ecc(s: str):
    if not re.fullmatch(r" *[0-9]+", s, re.ASCII):
        raise _FieldError("expected 7 digits with an implied leading decimal point, e.g. '0007245'")
    return float("0." + s.replace(" ", "0"))

_LINE1_FIELDS = (
    # (description, first column, last column, validator)
    ("satellite catalog number", 3, 7, _v_catalog),
    ("classification", 8, 8, _v_regex(r"[A-Za-z ]", "expected a letter such as 'U'")),
    ("international designator", 10, 17,
     _v_regex(r"[0-9 ]{5}[A-Z ]{3}", "expected launch year, launch number and piece, e.g. '98067A  '")),
    ("epoch year", 19, 20, _v_regex(r"[0-9 ][0-9]", "expected a 2-digit year, e.g. '26'")),
    ("epoch day of year", 21, 32,
     _v_float(1.0, 367.0, "expected a day of year such as '150.51748228'", hi_open=True)),
    ("first derivative of mean motion", 34, 43, _v_signed_decimal),
    ("second derivative of mean motion", 45, 52, _v_exp),
    ("BSTAR drag term", 54, 61, _v_exp),
    ("ephemeris type", 63, 63, _v_regex(r"[0-9 ]", "expected a digit, normally '0'")),
    ("element set number", 65, 68, _v_uint("expected a right-aligned number, e.g. ' 999'")),
)

_LINE2_FIELDS = (
    ("satellite catalog number", 3, 7, _v_catalog),
    ("inclination", 9, 16, _v_float(0.0, 180.0, "expected degrees such as ' 51.6337'")),
    ("right ascension of the ascending node", 18, 25,
     _v_float(0.0, 360.0, "expected degrees such as '247.4627'")),
    ("eccentricity", 27, 33, _v_ecc),
    ("argument of perigee", 35, 42, _v_float(0.0, 360.0, "expected degrees such as '130.5360'")),
    ("mean anomaly", 44, 51, _v_float(0.0, 360.0, "expected degrees such as '325.0288'")),
    ("mean motion", 53, 63,
     _v_float(0.0, 100.0, "expected revolutions per day such as '15.72125391'", lo_open=True)),
    ("revolution number at epoch", 64, 68, _v_uint("expected a right-aligned number, e.g. '56353'")),
)

# Columns that must be blank (1-based): the separators between fields.
_BLANKS = {1: (2, 9, 18, 33, 44, 53, 62, 64), 2: (2, 8, 17, 26, 34, 43, 52)}

def _show(s: str, n: int = 40) -> str:
    return repr(s if len(s) <= n else s[:n] + "...")

def tle_checksum(line: str) -> int:
    """Modulo-10 checksum of a TLE line (the value that belongs in column 69).

    Digits count their value, each ``'-'`` counts 1, everything else 0. Only
    the first 68 characters are summed, so a full 69-character line may be
    passed.

    Parameters
    ----------
    line : str
        A TLE line 1 or line 2 (68 or 69 characters).

    Returns
    -------
    int
        The checksum, 0-9.

    Examples
    --------
    >>> tle_checksum("1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927")
    7
    """
    head = str(line)[:68]
    total = head.count("-")
    for digit in range(1, 10):
        total += digit * head.count(_DIGITS[digit])
    return total % 10

_CAT = r"(?:[0-9]{5}|[A-HJ-NP-Z][0-9]{4})"

_ANG = r"((?: {2}[0-9]| [0-9]{2}|[0-9]{3})\.[0-9]{4})"

_FAST1 = re.compile(
    r"1 " + _CAT + r"[A-Za-z ] [0-9 ]{5}[A-Z ]{3} [0-9 ][0-9]([0-9]{3}\.[0-9]{8}) [-+ ]\.[0-9]{8} "
    r"[-+ ][0-9]{5}[-+ ][0-9] ([-+ ])([0-9]{5})([-+ ])([0-9]) [0-9 ] "
    r"(?: {3}[0-9]| {2}[0-9]{2}| [0-9]{3}|[0-9]{4}| {4})[0-9]", re.ASCII)

_FAST2 = re.compile(
    r"2 " + _CAT + " " + _ANG + " " + _ANG + r" ([0-9]{7}) " + _ANG + " " + _ANG
    + r" ((?: [0-9]|[0-9]{2})\.[0-9]{8})(?: {4}[0-9]| {3}[0-9]{2}| {2}[0-9]{3}| [0-9]{4}|[0-9]{5})[0-9]",
    re.ASCII)

def _check_tle_line(line: str, which: int) -> dict[str, Any]:
    """Validate one stripped TLE line; return its parsed fields. Raises _LineError.

    A strict regex handles the canonical layout quickly; anything else goes
    through the field-by-field check, which accepts tolerated variants and
    explains what is wrong otherwise.
    """
    m = (_FAST1 if which == 1 else _FAST2).fullmatch(line)
    if m is not None and int(line[68]) == tle_checksum(line):
        if which == 1:
            day = float(m[1])
            if 1.0 <= day < 367.0:
                bstar = float("0." + m[3]) * 10.0 ** (int(m[5]) * (-1 if m[4] == "-" else 1))
                return {"satellite catalog number": line[2:7], "epoch day of year": day,
                        "BSTAR drag term": -bstar if m[2] == "-" else bstar}
        else:
            inc, raan, ecc, argp, ma, n = m.groups()
            vals = {"satellite catalog number": line[2:7], "inclination": float(inc),
                    "right ascension of the ascending node": float(raan),
                    "eccentricity": float("0." + ecc), "argument of perigee": float(argp),
                    "mean anomaly": float(ma), "mean motion": float(n)}
            if (vals["inclination"] <= 180.0 and vals["right ascension of the ascending node"] <= 360.0
                    and vals["argument of perigee"] <= 360.0 and vals["mean anomaly"] <= 360.0
                    and vals["mean motion"] > 0.0):
                return vals
    return _check_tle_line_slow(line, which)

def _check_tle_line_slow(line: str, which: int) -> dict[str, Any]:
    if not _PRINTABLE_RE.fullmatch(line):
        col, ch = next((c, ch) for c, ch in enumerate(line, 1) if not " " <= ch <= "~")
        raise _LineError(
            f"TLE line {which} has the non-printable or non-ASCII character {ch!r} at column "
            f"{col}; TLE lines are plain ASCII: retype or re-download the element set")
    if not line.startswith(f"{which} "):
        raise _LineError(f"TLE line {which} must start with '{which} ', found {_show(line[:10])}")
    seps = _BLANKS[which]
    bad_sep = next((c for c in seps if c <= len(line) and line[c - 1] != " "), None)
    if len(line) != _TLE_LEN:
        where = (f"; column {bad_sep} should be blank but holds {line[bad_sep - 1]!r}, so the shift "
                 f"is at or before column {bad_sep}") if bad_sep else ""
        if len(line) < _TLE_LEN:
            raise _LineError(
                f"TLE line {which} is {len(line)} characters long (after stripping trailing "
                f"whitespace), expected 69: the line is truncated or a character was deleted"
                f"{where}; re-download the element set")
        raise _LineError(
            f"TLE line {which} is {len(line)} characters long, expected 69: a column is shifted "
            f"(an extra character was inserted) or text follows the checksum in column 69{where}; "
            f"remove the extra characters so every field sits at its fixed TLE column")
    if bad_sep:
        raise _LineError(
            f"column {bad_sep} of TLE line {which} must be blank (it separates two fields) but holds "
            f"{line[bad_sep - 1]!r}: a column is shifted or a field overflows its columns; fields must "
            f"stay at their fixed TLE columns")
    values: dict[str, Any] = {}
    for desc, a, b, check in (_LINE1_FIELDS if which == 1 else _LINE2_FIELDS):
        raw = line[a - 1:b]
        try:
            values[desc] = check(raw)
        except _FieldError as exc:
            raise _LineError(f"{desc} (columns {a}-{b}) of TLE line {which} is {raw!r}: {exc}") from None
    found, expected = line[68], tle_checksum(line)
    if not found.isdigit():
        raise _LineError(
            f"checksum (column 69) of TLE line {which} is {found!r}, expected a digit; the modulo-10 "
            f"checksum of columns 1-68 is {expected}")
    if int(found) != expected:
        raise _LineError(
            f"checksum mismatch on TLE line {which}: column 69 holds {found} but the modulo-10 checksum "
            f"of columns 1-68 is {expected}; a character of the line is corrupted (re-download the "
            f"element set), or, if you edited the line on purpose, set column 69 to {expected}")
    return values

class _LineError(Exception):
    """Internal: one TLE line is malformed (message only, no line number yet)."""

# --------------------------------------------------------------------------------------
# TLE reader
# --------------------------------------------------------------------------------------
def read_tle(src: Any, *, source: str | None = None, allow_duplicates: bool = False,
             strict: bool = False) -> pd.DataFrame:
    r"""Read TLE / 3LE element sets into a DataFrame, one row per satellite.

    Accepts CelesTrak 3-line format (name, line 1, line 2), plain 2-line format
    (the name becomes ``"NORAD <id>"``) and mixtures of both; name lines
    starting with ``"0 "`` (Space-Track 3LE) lose that prefix. Blank lines,
    leading/trailing whitespace and CRLF line ends are ignored. Alpha-5
    catalog numbers (``A0001`` = 100001) are decoded as sgp4 does.

    Parameters
    ----------
    src : str, pathlib.Path, bytes, file-like or iterable of str
        TLE text (a ``str`` containing a newline is text), the path of an
        existing file (``str`` or :class:`~pathlib.Path`), an open file, or
        an iterable of lines.
    source : str, optional
        Label used in error messages and stored in ``df.attrs["source"]``;
        defaults to the path, or ``"<text>"``.
    allow_duplicates : bool, default False
        Keep element sets that repeat a catalog number instead of raising.
    strict : bool, default False
        Raise when sgp4 rejects a well-formed element set at its own epoch (e.g. a mean motion
        that puts the satellite inside the Earth). By default such satellites are kept with their
        sgp4 error code in ``sgp4_epoch_error``; propagation flags them as failed and counts them,
        so one bad entry never makes a whole catalog unreadable.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`ELEMENT_COLUMNS` (see the module docstring); ``epoch``
        is UTC ``datetime64[ns]`` computed by sgp4 from the TLE epoch field
        (rounded to the microsecond). ``line1``/``line2`` are the input lines
        without surrounding whitespace.

    Raises
    ------
    TLEError
        Any malformed input: a missing line, a line of the wrong length or
        with a shifted column, a non-numeric field, a bad checksum,
        mismatched or duplicate catalog numbers, or no satellites at all.
        ``exc.line_number`` is the 1-based line where the problem was found.

    Examples
    --------
    >>> df = read_tle([
    ...     "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    ...     "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
    ... ])
    >>> print(df.loc[0, "name"], df.loc[0, "intl_designator"], round(df.loc[0, "mean_motion_rev_day"], 8))
    NORAD 25544 98067A 15.72125391
    """
    label = source
    attrs_source = source
    text, path_label = _text_from_src(src, lambda m: TLEError(m, None, source), "TLE")
    if text is not None:
        if path_label is not None:
            label = label or path_label
            attrs_source = attrs_source or path_label
        if text.strip():
            first = 1 + len(re.match(r"[\ufeff\s]*", text).group(0).replace("\r\n", "\n").replace("\r", "\n")
                            .split("\n")) - 1  # the first non-blank line
            try:
                kind = sniff_elements(text)
            except ValueError as exc:
                raise TLEError(str(exc), first, label) from None
            if kind != "tle":
                raise TLEError(f"this is OMM {kind.upper()}, not TLE text; read it with "
                               "orbitlat.orbits.omm.read_omm (Constellation.from_omm), or Constellation.from_file "
                               "which reads either", first, label)
        lines = _NEWLINE_RE.split(text)
        attrs_source = attrs_source or "<text>"
    elif src is None or isinstance(src, (int, float, complex, bool)) or not isinstance(src, Iterable):
        raise TLEError(f"src is {type(src).__name__}; pass TLE text, the path of a TLE file, or an "
                       f"iterable of lines", None, source)
    else:
        lines = []
        for k, item in enumerate(src):
            if isinstance(item, (bytes, bytearray)):
                item = _decode(bytes(item))
            if not isinstance(item, str):
                raise TLEError(f"item {k} of the lines is {type(item).__name__}, expected str", None, source)
            lines.extend(_NEWLINE_RE.split(item.rstrip("\r\n")) if item else [""])
        attrs_source = attrs_source or "<lines>"
    rows = _parse_tle(lines, label, allow_duplicates, strict)
    return _frame(rows, attrs_source)

def _is_tle_line(s: str, which: int) -> bool:
    return s[:1] == str(which) and (len(s) == 1 or s[1] == " ")

def _omm_hint(s: str) -> str:
    t = s.lstrip()
    if (t and t[0] in "[{<") or "OBJECT_NAME" in t or "MEAN_MOTION" in t:
        return " (this looks like OMM JSON/CSV/XML: use orbitlat.orbits.omm.read_omm)"
    return ""

def _parse_tle(lines: list[str], label: str | None, allow_duplicates: bool,
               strict: bool = False) -> list[dict[str, Any]]:
    from sgp4.alpha5 import from_alpha5
    from sgp4.api import SGP4_ERRORS, Satrec

    stripped = [ln.lstrip("\ufeff").strip() for ln in lines]
    items = [(i + 1, s) for i, s in enumerate(stripped) if s]
    if not items:
        what = "the input is empty" if not any(lines) else f"all {len(lines)} lines are blank"
        raise TLEError(f"no satellites found: {what}; pass TLE text with a line 1 and a line 2 "
                       f"(optionally after a name line) for each satellite", None, label)
    rows: list[dict[str, Any]] = []
    seen: dict[int, tuple[int, str]] = {}
    k, n_items = 0, len(items)
    while k < n_items:
        n, s = items[k]
        name: str | None
        if _is_tle_line(s, 1):
            name, (n1, l1) = None, items[k]
            k += 1
        elif _is_tle_line(s, 2):
            raise TLEError(
                f"found a TLE line 2 ({_show(s)}) where a name or a line 1 was expected: the line 1 "
                f"of this satellite is missing (or lines are out of order); restore the line starting "
                f"with '1 ' just before it", n, label)
        else:
            name_n, name = n, s
            if name.startswith("0 "):
                name = name[2:].strip()
            k += 1
            if k >= n_items:
                raise TLEError(
                    f"the input ends after the name line {_show(s)}: expected a TLE line 1 (starting "
                    f"with '1 ') and a line 2 after it; the file is probably truncated{_omm_hint(s)}",
                    name_n, label)
            n1, l1 = items[k]
            if not _is_tle_line(l1, 1):
                if _is_tle_line(l1, 2) and len(s) == _TLE_LEN:
                    raise TLEError(
                        f"this line looks like a damaged TLE line 1 (69 characters, followed by a line "
                        f"2) but starts with {s[:2]!r} instead of '1 ': fix its first two columns",
                        name_n, label)
                found = "a TLE line 2" if _is_tle_line(l1, 2) else _show(l1)
                raise TLEError(
                    f"expected a TLE line 1 (starting with '1 ') after the name {_show(name)} on line "
                    f"{name_n}, found {found}: the line 1 is missing or damaged, or the name line is "
                    f"stray text; every satellite needs [name,] line 1, line 2{_omm_hint(s)}",
                    n1, label)
            k += 1
        if k >= n_items:
            raise TLEError(
                "the input ends after this TLE line 1: its line 2 (starting with '2 ') is missing; "
                "the file is probably truncated", n1, label)
        n2, l2 = items[k]
        if not _is_tle_line(l2, 2):
            raise TLEError(
                f"expected a TLE line 2 (starting with '2 ') after the line 1 on line {n1}, found "
                f"{_show(l2)}: the line 2 is missing or damaged", n2, label)
        k += 1
        try:
            f1 = _check_tle_line(l1, 1)
        except _LineError as exc:
            raise TLEError(str(exc), n1, label) from None
        try:
            f2 = _check_tle_line(l2, 2)
        except _LineError as exc:
            raise TLEError(str(exc), n2, label) from None
        c1, c2 = f1["satellite catalog number"], f2["satellite catalog number"]
        if c1 != c2 and from_alpha5(c1.strip()) != from_alpha5(c2.strip()):
            raise TLEError(
                f"the catalog number on this line 2 (columns 3-7) is {c2!r} but the line 1 on line "
                f"{n1} has {c1!r}: the two lines belong to different satellites (a line is missing or "
                f"out of order); pair each line 1 with the line 2 of the same satellite", n2, label)
        try:
            sat = Satrec.twoline2rv(l1, l2)
        except Exception as exc:  # noqa: BLE001 - any sgp4 failure is bad input
            raise TLEError(f"sgp4 cannot parse this element set: {exc}", n1, label) from None
        _crosscheck(sat, f1, f2, n1, n2, label)
        if sat.satnum != from_alpha5(c1.strip()):
            raise TLEError(f"sgp4 read the catalog number {c1!r} as {sat.satnum}; write it as 5 digits "
                           f"(zero-padded) or in Alpha-5", n1, label)
        if sat.error and strict:
            raise TLEError(
                f"sgp4 rejects these elements at their epoch (sgp4 error {sat.error}: "
                f"{SGP4_ERRORS.get(sat.error, 'unknown error')}); the element set does not describe a "
                f"valid orbit: check the mean motion and eccentricity on line 2", n2, label)
        norad = int(sat.satnum)
        final_name = name if name else f"NORAD {norad}"
        if norad in seen and not allow_duplicates:
            first_n, first_name = seen[norad]
            raise TLEError(
                f"catalog number {norad} appears twice: at line {first_n} ({first_name!r}) and at line "
                f"{n1} ({final_name!r}); remove one of them, or pass allow_duplicates=True to keep both",
                n1, label)
        seen.setdefault(norad, (n1, final_name))
        try:
            row = _satrec_row(sat, final_name, l1, l2, _epoch_ns(sat))
        except (ValueError, OverflowError, TypeError) as exc:
            raise TLEError(f"cannot convert the element set parsed by sgp4: {exc}", n1, label) from None
        rows.append(row)
    return rows

def _crosscheck(sat, f1: dict, f2: dict, n1: int, n2: int, label: str | None) -> None:
    """Make sure sgp4's (lenient) parser read the same numbers as the validator."""
    checks = (
        ("inclination", sat.inclo * _RAD2DEG, f2["inclination"], n2),
        ("right ascension of the ascending node", sat.nodeo * _RAD2DEG,
         f2["right ascension of the ascending node"], n2),
        ("eccentricity", sat.ecco, f2["eccentricity"], n2),
        ("argument of perigee", sat.argpo * _RAD2DEG, f2["argument of perigee"], n2),
        ("mean anomaly", sat.mo * _RAD2DEG, f2["mean anomaly"], n2),
        ("mean motion", sat.no_kozai * _XPDOTP, f2["mean motion"], n2),
        ("epoch day of year", sat.epochdays, f1["epoch day of year"], n1),
        ("BSTAR drag term", sat.bstar, f1["BSTAR drag term"], n1),
    )
    for desc, got, want, n in checks:
        if not (abs(got - want) <= 1e-9 * max(1.0, abs(want))):
            raise TLEError(
                f"sgp4 read the {desc} as {got!r} but the field holds {want!r}; the line does not "
                f"follow the fixed TLE column layout", n, label)

# --------------------------------------------------------------------------------------
# Writers
# --------------------------------------------------------------------------------------
def write_tle(df_or_records: Any, path: str | os.PathLike | None = None, *, names: bool = True) -> str:
    r"""Write element sets as 3LE text (name, line 1, line 2) or 2LE text.

    Parameters
    ----------
    df_or_records : pandas.DataFrame or iterable
        A DataFrame with ``line1`` and ``line2`` columns (and ``name`` when
        ``names=True``; missing/empty names become ``"NORAD <id>"``), or an
        iterable of dicts with those keys or of ``(name, line1, line2)``
        tuples.
    path : str or pathlib.Path, optional
        Also write the text to this file (UTF-8, ``\n`` line ends).
    names : bool, default True
        Write a name line before each pair (3LE); ``False`` writes 2LE.
        Names that would read back as TLE lines get the 3LE ``"0 "`` prefix.

    Returns
    -------
    str
        The text, ending with a newline.

    Raises
    ------
    TLEError
        A record whose lines are not valid TLE lines (message names the
        record index).

    Examples
    --------
    >>> l1 = "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927"
    >>> l2 = "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537"
    >>> print(write_tle([("ISS", l1, l2)]), end="")
    ISS
    1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927
    2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537
    """
    if isinstance(df_or_records, pd.DataFrame):
        missing = [c for c in ("line1", "line2") if c not in df_or_records.columns]
        if missing:
            raise OrbitlatError(f"write_tle needs columns 'line1' and 'line2'; missing {missing}")
        names_col = (df_or_records["name"].tolist() if "name" in df_or_records.columns
                     else [None] * len(df_or_records))
        records = list(zip(names_col, df_or_records["line1"].tolist(), df_or_records["line2"].tolist()))
    elif isinstance(df_or_records, (str, bytes)) or not isinstance(df_or_records, Iterable):
        raise OrbitlatError(f"write_tle needs a DataFrame or records, got {type(df_or_records).__name__}")
    else:
        records = []
        for i, rec in enumerate(df_or_records):
            if isinstance(rec, Mapping):
                if "line1" not in rec or "line2" not in rec:
                    raise OrbitlatError(f"record {i} lacks 'line1'/'line2' keys")
                records.append((rec.get("name"), rec["line1"], rec["line2"]))
            elif isinstance(rec, (tuple, list)) and len(rec) in (2, 3):
                records.append(tuple(rec) if len(rec) == 3 else (None, *rec))
            else:
                raise OrbitlatError(f"record {i} is {rec!r}; pass dicts with name/line1/line2 or "
                                    f"(name, line1, line2) tuples")
    out: list[str] = []
    for i, (name, l1, l2) in enumerate(records):
        if not isinstance(l1, str) or not isinstance(l2, str):
            raise TLEError(f"record {i}: line1/line2 must be str, got {type(l1).__name__}/"
                           f"{type(l2).__name__}")
        l1, l2 = l1.strip(), l2.strip()
        for which, line in ((1, l1), (2, l2)):
            try:
                _check_tle_line(line, which)
            except _LineError as exc:
                raise TLEError(f"record {i}: {exc}") from None
        if l1[2:7] != l2[2:7]:
            raise TLEError(f"record {i}: line1 is for catalog number {l1[2:7]!r} but line2 for "
                           f"{l2[2:7]!r}")
        if names:
            if name is None or (isinstance(name, float) and math.isnan(name)) or not str(name).strip():
                from sgp4.alpha5 import from_alpha5
                name = f"NORAD {from_alpha5(l1[2:7].strip())}"
            name = str(name).replace("\r", " ").replace("\n", " ").strip()
            if _is_tle_line(name, 1) or _is_tle_line(name, 2) or name.startswith("0 "):
                name = "0 " + name
            out.append(name)
        out.append(l1)
        out.append(l2)
    text = "\n".join(out) + "\n" if out else ""
    if path is not None:
        Path(path).write_bytes(text.encode("utf-8"))
    return text

def _as_float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise OrbitlatError(f"{name}={value!r} is a bool, expected a number")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise OrbitlatError(f"{name}={value!r} is not a number") from None
    if not math.isfinite(x):
        raise OrbitlatError(f"{name}={value!r} is not finite")
    return x

def _as_int(value: Any, name: str, lo: int, hi: int) -> int:
    x = _as_float(value, name)
    if x != int(x) or not lo <= x <= hi:
        raise OrbitlatError(f"{name}={value!r} must be a whole number in {lo}..{hi}")
    return int(x)

def _exp_field(value: float, name: str) -> str:
    """Format as the 8-character TLE exponent field ' 12345-3' (= 0.12345e-3)."""
    if value == 0.0:
        return " 00000+0"
    sign = "-" if value < 0 else " "
    a = abs(value)
    e = math.floor(math.log10(a)) + 1
    m = round(a / 10.0 ** e * 1e5)
    if m < 10000:  # log10 rounding put us one decade too high
        e -= 1
        m = round(a / 10.0 ** e * 1e5)
    if m >= 100000:
        e += 1
        m = round(a / 10.0 ** e * 1e5)
    if e > 9:
        raise OrbitlatError(f"{name}={value!r} is too large for the TLE format (|x| <= 0.99999e9)")
    if e < -9:
        e = -9
        m = round(a / 1e-9 * 1e5)
        if m == 0:
            return " 00000+0"
    return f"{sign}{m:05d}{'-' if e < 0 else '+'}{abs(e)}"

def _angle_field(value: float, name: str) -> str:
    v = _as_float(value, name) % 360.0
    s = f"{v:8.4f}"
    return "  0.0000" if s == "360.0000" else s

@accepts_units
def make_tle_lines(*, norad_id: int, epoch: Any, mean_motion_rev_day: float, ecc: float,
                   inc_deg: float, raan_deg: float, argp_deg: float, mean_anomaly_deg: float,
                   bstar: float = 0.0, ndot: float = 0.0, nddot: float = 0.0,
                   intl_designator: str = "", classification: str = "U",
                   element_set_no: int = 999, rev_at_epoch: int = 0) -> tuple[str, str]:
    """Format a valid TLE line pair from mean elements.

    Fields are rounded to TLE precision: epoch to 1e-8 day (0.864 ms), angles
    to 1e-4 deg, eccentricity to 1e-7, mean motion to 1e-8 rev/day, ``bstar``
    and ``nddot`` to 5 significant digits. Angles are wrapped into [0, 360).

    Parameters
    ----------
    norad_id : int
        Catalog number, 0-339999 (100000 and above are written in Alpha-5).
    epoch : datetime64, datetime, pandas.Timestamp or ISO str
        Element epoch, UTC (naive values are UTC); years 1957-2056.
    mean_motion_rev_day : float
        Kozai mean motion, rev/day, in (0, 100).
    ecc : float
        Mean eccentricity, 0 <= ecc < 1.
    inc_deg : float
        Inclination, deg, 0-180.
    raan_deg, argp_deg, mean_anomaly_deg : float
        Right ascension of the node, argument of perigee, mean anomaly, deg.
    bstar : float, default 0
        B* drag term, 1/earth radii.
    ndot : float, default 0
        First derivative of mean motion divided by 2, rev/day² (the TLE
        field, same as OMM ``MEAN_MOTION_DOT``); ``|ndot| < 1``.
    nddot : float, default 0
        Second derivative of mean motion divided by 6, rev/day³ (OMM
        ``MEAN_MOTION_DDOT``).
    intl_designator : str, default ""
        ``"98067A"`` or ``"1998-067A"``.
    classification : str, default "U"
        One letter.
    element_set_no : int, default 999
        0-9999.
    rev_at_epoch : int, default 0
        Revolution number; written modulo 100000 as in the TLE format.

    Returns
    -------
    (str, str)
        Line 1 and line 2, 69 characters each, with checksums.

    Examples
    --------
    >>> l1, l2 = make_tle_lines(norad_id=25544, epoch="2008-09-20T12:25:40.104192",
    ...     mean_motion_rev_day=15.72125391, ecc=0.0006703, inc_deg=51.6416, raan_deg=247.4627,
    ...     argp_deg=130.536, mean_anomaly_deg=325.0288, bstar=-0.11606e-4, ndot=-0.00002182,
    ...     intl_designator="98067A", element_set_no=292, rev_at_epoch=56353)
    >>> l1  # a zero nddot is written '00000+0' (the original had '00000-0', hence checksum 7)
    '1 25544U 98067A   08264.51782528 -.00002182  00000+0 -11606-4 0  2926'
    >>> l2
    '2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537'
    """
    from sgp4.alpha5 import to_alpha5

    from orbitlat.time import to_datetime64

    norad = _as_int(norad_id, "norad_id", 0, 339999)
    ep = to_datetime64(epoch, "epoch")
    if ep.size != 1:
        raise OrbitlatError(f"epoch must be one instant, got {ep.size}")
    ep = ep[0]
    year = int(str(ep.astype("datetime64[Y]")))
    if not 1957 <= year <= 2056:
        raise OrbitlatError(f"epoch={ep} is outside 1957-2056, which a 2-digit TLE year cannot hold")
    jan1 = np.datetime64(f"{year:04d}-01-01", "ns")
    ns = int((ep - jan1) // np.timedelta64(1, "ns"))
    units = (ns + 432_000) // 864_000  # 1e-8 day = 864 µs
    day_index, frac = divmod(units, 10**8)
    days_in_year = 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    if day_index >= days_in_year:
        year, day_index = year + 1, day_index - days_in_year
        if year > 2056:
            raise OrbitlatError(f"epoch={ep} rounds into 2057, which a 2-digit TLE year cannot hold")
    epoch_field = f"{year % 100:02d}{day_index + 1:03d}.{frac:08d}"

    n = _as_float(mean_motion_rev_day, "mean_motion_rev_day")
    n_field = f"{n:11.8f}"
    if not n > 0 or float(n_field) <= 0 or len(n_field) != 11:
        raise OrbitlatError(f"mean_motion_rev_day={n!r} must be in (0, 100) rev/day to fit a TLE")
    e = _as_float(ecc, "ecc")
    e_units = round(e * 1e7)
    if not 0.0 <= e < 1.0 or e_units >= 10**7:
        raise OrbitlatError(f"ecc={e!r} must satisfy 0 <= ecc < 0.99999995 to fit a TLE")
    inc = _as_float(inc_deg, "inc_deg") + 0.0
    if not 0.0 <= inc <= 180.0:
        raise OrbitlatError(f"inc_deg={inc!r} must be within [0, 180] degrees")
    nd = _as_float(ndot, "ndot")
    nd_field = f"{nd:.8f}"
    if float(nd_field) == 0.0:
        nd_field = " .00000000"
    elif nd_field.startswith("-0."):
        nd_field = "-" + nd_field[2:]
    elif nd_field.startswith("0."):
        nd_field = " " + nd_field[1:]
    else:
        raise OrbitlatError(f"ndot={nd!r} must satisfy |ndot| < 1 rev/day² to fit a TLE")
    nddot_field = _exp_field(_as_float(nddot, "nddot"), "nddot")
    bstar_field = _exp_field(_as_float(bstar, "bstar"), "bstar")
    if not isinstance(classification, str) or len(classification) != 1 or not (
            classification.isascii() and classification.isalpha()):
        raise OrbitlatError(f"classification={classification!r} must be one letter, e.g. 'U'")
    if not isinstance(intl_designator, str):
        raise OrbitlatError(f"intl_designator={intl_designator!r} must be a str such as '98067A'")
    intl = intl_designator.strip().upper()
    if intl:
        m = _OBJECT_ID_RE.fullmatch(intl)
        if not m or not m.group(3):
            raise OrbitlatError(f"intl_designator={intl_designator!r} must look like '98067A' or "
                                f"'1998-067A'")
        intl = "".join(m.groups())
    elset = _as_int(element_set_no, "element_set_no", 0, 9999)
    rev = _as_int(rev_at_epoch, "rev_at_epoch", 0, 10**12) % 100000
    sat = to_alpha5(norad)

    line1 = (f"1 {sat}{classification.upper()} {intl:<8} {epoch_field} {nd_field} {nddot_field} "
             f"{bstar_field} 0 {elset:4d}")
    line2 = (f"2 {sat} {inc:8.4f} {_angle_field(raan_deg, 'raan_deg')} {e_units:07d} "
             f"{_angle_field(argp_deg, 'argp_deg')} {_angle_field(mean_anomaly_deg, 'mean_anomaly_deg')} "
             f"{n_field}{rev:5d}")
    line1 += str(tle_checksum(line1))
    line2 += str(tle_checksum(line2))
    for which, line in ((1, line1), (2, line2)):
        try:
            _check_tle_line(line, which)
        except _LineError as exc:  # pragma: no cover - formatting bug guard
            raise OrbitlatError(f"internal error formatting TLE line {which}: {exc}") from None
    return line1, line2

_RECORD_OPTIONAL = ("bstar", "ndot", "nddot", "intl_designator", "classification",
                    "element_set_no", "rev_at_epoch")

_RECORD_REQUIRED = ("norad_id", "epoch", "mean_motion_rev_day", "ecc", "inc_deg", "raan_deg",
                    "argp_deg", "mean_anomaly_deg")

def make_tle_records(df: pd.DataFrame) -> pd.DataFrame:
    """Format TLE lines for every row of a DataFrame of mean elements.

    Parameters
    ----------
    df : pandas.DataFrame
        Columns ``norad_id, epoch, mean_motion_rev_day, ecc, inc_deg,
        raan_deg, argp_deg, mean_anomaly_deg`` and optionally ``name`` and
        the optional keywords of :func:`make_tle_lines`.

    Returns
    -------
    pandas.DataFrame
        Columns ``name, line1, line2`` with the index of ``df``; ready for
        :func:`write_tle`.

    Examples
    --------
    >>> els = pd.DataFrame({"name": ["SAT-1"], "norad_id": [99001],
    ...     "epoch": [np.datetime64("2026-05-30T00:00")], "mean_motion_rev_day": [15.0],
    ...     "ecc": [0.001], "inc_deg": [53.0], "raan_deg": [10.0], "argp_deg": [90.0],
    ...     "mean_anomaly_deg": [0.0]})
    >>> make_tle_records(els).loc[0, "line2"]
    '2 99001  53.0000  10.0000 0010000  90.0000   0.0000 15.00000000    06'
    """
    if not isinstance(df, pd.DataFrame):
        raise OrbitlatError(f"make_tle_records needs a DataFrame, got {type(df).__name__}")
    missing = [c for c in _RECORD_REQUIRED if c not in df.columns]
    if missing:
        raise OrbitlatError(f"make_tle_records: missing column(s) {', '.join(missing)}")
    cols = [c for c in _RECORD_REQUIRED + _RECORD_OPTIONAL if c in df.columns]
    name_col = df["name"].tolist() if "name" in df.columns else [None] * len(df)
    names, l1s, l2s = [], [], []
    for idx, name, rec in zip(df.index, name_col, df[cols].to_dict("records")):
        try:
            l1, l2 = make_tle_lines(**rec)
        except OrbitlatError as exc:
            raise OrbitlatError(f"row {idx!r}: {exc}") from None
        if name is None or (isinstance(name, float) and math.isnan(name)) or not str(name).strip():
            name = f"NORAD {int(rec['norad_id'])}"
        names.append(str(name).strip())
        l1s.append(l1)
        l2s.append(l2)
    return pd.DataFrame({"name": names, "line1": l1s, "line2": l2s}, index=df.index)
