"""Units at the edge: the one place where astropy Quantities (and Skyfield angles and distances,
and duration strings) become the plain float64 numbers the core computes with.

orbitlat names every physical argument after its unit (``min_elevation_deg``, ``altitude_km``,
``refine_tol_s``, ``hop_delay_ms``). A function decorated with :func:`accepts_units` accepts, for
each such argument, a plain number or array (taken to be in that unit, as always) **or** a value
that carries its own unit, converted once on the way in:

- an astropy ``Quantity`` (``25 * u.deg``, ``550 * u.km``, ``0.5 * u.rad``, ``Angle``,
  ``Latitude``, ...), converted with ``Quantity.to_value(unit)``;
- a Skyfield ``Angle`` for ``*_deg`` / ``*_rad`` and a Skyfield ``Distance`` for ``*_km`` / ``*_m``;
- for ``*_s``: also a duration (``"90s"``, ``"PT1M"``, ``datetime.timedelta``, ``numpy.timedelta64``,
  ``pandas.Timedelta``; :func:`orbitlat.time.to_seconds`).

A unit that cannot be converted (``min_elevation_deg=550 * u.km``) raises :class:`OrbitlatError`
saying which argument, what it got and what it needs. Values without a unit pass through
untouched, so the core's own checks (ranges, shapes) still run on them. Dataclasses whose fields
carry units call :func:`convert_fields` in ``__post_init__``.

>>> import astropy.units as u
>>> @accepts_units
... def cap(altitude_km, min_elevation_deg=10.0):
...     return altitude_km, min_elevation_deg
>>> cap(550 * u.km, min_elevation_deg=0.5 * u.rad)
(550.0, 28.64788975654116)
>>> to_value(1.2 * u.Mm, "km", "altitude_km")
1200.0
"""
from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
import inspect
import re
from typing import Any, Callable

import numpy as np

from orbitlat.errors import OrbitlatError

__all__ = ["UNIT_SUFFIXES", "unit_of", "to_value", "to_float_array", "accepts_units", "convert_fields",
           "has_unit"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Argument-name suffixes and the unit each stands for (astropy unit strings). Longest suffix wins.
UNIT_SUFFIXES = {
    "deg": "deg",
    "rad": "rad",
    "km": "km",
    "m": "m",
    "km2": "km2",
    "s": "s",
    "ms": "ms",
    "hours": "h",
    "days": "d",
    "km_s": "km / s",
}

_SUFFIX_RE = re.compile(r"_(km_s|km2|deg|rad|km|ms|hours|days|m|s)$")


def unit_of(name: str) -> str | None:
    """The unit an argument name stands for, from its suffix (None without a unit suffix).

    >>> unit_of("min_elevation_deg"), unit_of("isl_max_km"), unit_of("refine_tol_s"), unit_of("k")
    ('deg', 'km', 's', None)
    """
    m = _SUFFIX_RE.search(name)
    return UNIT_SUFFIXES[m.group(1)] if m else None


def _is_quantity(value: Any) -> bool:
    return hasattr(value, "unit") and hasattr(value, "to_value")


def _skyfield_value(value: Any, unit: str):
    """The number in ``unit`` of a Skyfield Angle or Distance, or None if ``value`` is neither."""
    mod = type(value).__module__ or ""
    if not mod.startswith("skyfield"):
        return None
    if unit in ("deg", "rad") and hasattr(value, "radians"):
        return value.degrees if unit == "deg" else value.radians
    if unit in ("km", "m") and hasattr(value, "km") and hasattr(value, "au"):
        return value.km if unit == "km" else value.m
    return None


def has_unit(value: Any) -> bool:
    """True for values that carry a unit (astropy Quantity, Skyfield Angle or Distance)."""
    if _is_quantity(value):
        return True
    mod = type(value).__module__ or ""
    return mod.startswith("skyfield") and (hasattr(value, "radians") or hasattr(value, "au"))


def _is_unit_sequence(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(has_unit(v) for v in value)


def _is_duration(value: Any) -> bool:
    return isinstance(value, (str, _dt.timedelta, np.timedelta64)) or (
        hasattr(value, "total_seconds") and hasattr(value, "to_timedelta64"))


def to_value(value: Any, unit: str, name: str):
    """``value`` in ``unit``: a Quantity (or Skyfield Angle/Distance) converted, anything else as given.

    Scalars come back as Python floats, arrays as float64 arrays. For ``unit='s'`` duration strings
    and timedeltas are converted with :func:`orbitlat.time.to_seconds` (ISO 8601 included).

    Raises
    ------
    OrbitlatError
        The value's unit does not convert to ``unit``.

    Examples
    --------
    >>> import astropy.units as u
    >>> to_value(90 * u.arcmin, "deg", "inc_deg"), to_value("PT2M", "s", "refine_tol_s"), to_value(3, "km", "x_km")
    (1.5, 120.0, 3)
    """
    if _is_quantity(value):
        try:
            out = value.to_value(unit)
        except Exception as exc:  # astropy UnitConversionError / UnitsError
            arg = name.rsplit(": ", 1)[-1]
            raise OrbitlatError(
                f"{name}={value!r} has unit '{value.unit}', which cannot be converted to {unit}; pass a Quantity "
                f"with {unit}-compatible units (e.g. {arg}=10 * u.{unit.split()[0]}) or a plain number in {unit}."
            ) from exc
        arr = np.asarray(out, dtype=np.float64)
        return float(arr) if arr.ndim == 0 else arr
    if _is_unit_sequence(value):  # [25 * u.deg, 0.5 * u.rad]: each converted
        return np.array([to_value(v, unit, f"{name}[{k}]") for k, v in enumerate(value)], dtype=np.float64)
    sky = _skyfield_value(value, unit)
    if sky is not None:
        arr = np.asarray(sky, dtype=np.float64)
        return float(arr) if arr.ndim == 0 else arr
    if unit == "s" and _is_duration(value):
        from orbitlat.time import to_seconds

        return to_seconds(value, name)
    return value


def to_float_array(value: Any, unit: str, name: str) -> np.ndarray:
    """``value`` as a float64 array in ``unit`` (plain numbers are taken to be in ``unit`` already).

    The conversion every module's input handling goes through (one helper, one error message).

    >>> import astropy.units as u
    >>> to_float_array([1.0, 2.0] * u.km, "m", "alt_m").tolist()
    [1000.0, 2000.0]
    """
    v = to_value(value, unit, name)
    try:
        return np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise OrbitlatError(
            f"{name} must be a number or an array of numbers in {unit}; got {type(value).__name__} "
            f"{value!r:.80}. Convert it to a float array (or an astropy Quantity) first."
        ) from exc


def _unit_params(sig: inspect.Signature, skip) -> dict[str, str]:
    out = {}
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in skip:
            continue
        u = unit_of(p.name)
        if u is not None:
            out[p.name] = u
    return out


def accepts_units(func: Callable | None = None, *, skip: tuple[str, ...] = ()) -> Callable:
    """Decorator: every ``*_deg``, ``*_rad``, ``*_km``, ``*_m``, ``*_km2``, ``*_s``, ``*_ms``,
    ``*_hours``, ``*_days``, ``*_km_s`` argument also accepts a value with a unit (see the module).

    Parameters
    ----------
    func : callable
        The public function or method.
    skip : tuple of str
        Argument names whose suffix is not a unit (e.g. ``lat_s`` for "latitude of the satellite").

    Notes
    -----
    The wrapper converts only values that carry a unit (or, for ``*_s``, a duration string or
    timedelta); every other value, and every call without such values, reaches ``func`` unchanged.
    ``wrapper.__orbitlat_units__`` maps the converted argument names to their units (the test suite
    checks that every public function with such arguments has it).
    """
    if func is None:
        return lambda f: accepts_units(f, skip=skip)
    if hasattr(func, "__orbitlat_units__"):  # already converting: decorating twice changes nothing
        return func
    sig = inspect.signature(func)
    units = _unit_params(sig, skip)
    if not units:
        return func
    names = list(sig.parameters)
    positions = {n: names.index(n) for n in units}
    label = getattr(func, "__qualname__", getattr(func, "__name__", "function"))

    def needs(v, unit):
        return _is_quantity(v) or has_unit(v) or _is_unit_sequence(v) or (unit == "s" and _is_duration(v))

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        if args:
            for n, i in positions.items():
                if i < len(args) and needs(args[i], units[n]):
                    args = list(args)
                    for m, j in positions.items():
                        if j < len(args):
                            args[j] = to_value(args[j], units[m], f"{label}: {m}")
                    break
        for n in kwargs.keys() & units.keys():
            v = kwargs[n]
            if needs(v, units[n]):
                kwargs[n] = to_value(v, units[n], f"{label}: {n}")
        return func(*args, **kwargs)

    wrapper.__orbitlat_units__ = dict(units)
    return wrapper


def convert_fields(obj: Any, skip: tuple[str, ...] = ()) -> None:
    """Convert a dataclass instance's unit-suffixed fields in place (call it in ``__post_init__``).

    >>> import dataclasses, astropy.units as u
    >>> @dataclasses.dataclass
    ... class Link:
    ...     range_km: float = 1000.0
    ...     def __post_init__(self):
    ...         convert_fields(self)
    >>> Link(2 * u.Mm).range_km
    2000.0
    """
    for f in dataclasses.fields(obj):
        unit = unit_of(f.name)
        if unit is None or f.name in skip:
            continue
        v = getattr(obj, f.name)
        if _is_quantity(v) or has_unit(v) or _is_unit_sequence(v) or (unit == "s" and _is_duration(v)):
            object.__setattr__(obj, f.name, to_value(v, unit, f"{type(obj).__name__}.{f.name}"))
