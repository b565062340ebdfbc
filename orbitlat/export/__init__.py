"""Exports: tables by file extension (CSV, Parquet, NetCDF) and CZML for Cesium.

Tables
------
:func:`write_table` writes a :class:`pandas.DataFrame` or an
:class:`xarray.Dataset` to the format its file extension names (``.csv``,
``.parquet``, ``.nc``), atomically (a failed write leaves no partial file).
:func:`ephemeris_table` turns an ephemeris into one row per (time, satellite).

CZML
----
:func:`to_czml` turns a constellation (propagated here) or an ephemeris into
CZML packets that Cesium plays as a time-dynamic scene: a ``document`` packet
with the clock, then one packet per satellite whose ``position`` is a list of
time-tagged samples with Lagrange interpolation. Positions are either

- ``"cartesian"``: ITRS (Earth-fixed) metres in Cesium's ``FIXED`` frame
  (or ``INERTIAL`` for a GCRS ephemeris: Cesium's inertial frame is ICRF,
  whose axes GCRS shares), or
- ``"cartographic"``: WGS84 geodetic ``[longitude°, latitude°, height m]``
  (``cartographicDegrees``; Cesium's ellipsoid is WGS84). Longitudes are
  unwrapped along each track (they may leave [-180, 180]) so that Cesium's
  interpolation never sweeps across the map at the antimeridian.

Sample times are seconds after the packet's ``epoch`` (ISO 8601 UTC).
Samples where a satellite has no position (failed propagation) are left out,
its ``availability`` covers the samples it has, and satellites with none are
dropped and counted in the document's ``description`` (nothing is lost
silently). The JSON never contains NaN (``allow_nan=False``).

>>> import orbitlat as ol
>>> from orbitlat.export.czml import to_czml
>>> pk = to_czml(ol.presets.get("iridium"), start="2026-01-01", duration="10min", step="1min")
>>> pk[0]["id"], pk[0]["version"], len(pk)
('document', '1.0', 67)
>>> p = pk[1]["position"]
>>> p["referenceFrame"], p["interpolationAlgorithm"], len(p["cartesian"]) // 4
('FIXED', 'LAGRANGE', 11)

Hypatia
-------
:func:`write_hypatia` writes a network over time in Hypatia's satgenpy formats (TLEs, ISLs, ground
stations, GSL interfaces, forwarding state per step) for packet-level simulation in ns-3;
:func:`read_hypatia` reads such a folder back.

Modules: :mod:`~orbitlat.export.tables` (CSV, Parquet, NetCDF, written atomically),
:mod:`~orbitlat.export.czml` (CZML for Cesium) and :mod:`~orbitlat.export.hypatia` (satgenpy/ns-3). Imports the analysis layers' results; imported only by
the faces.
"""
from __future__ import annotations

from orbitlat.export.czml import CZML_POSITIONS, czml_json, to_czml, write_czml
from orbitlat.export.hypatia import read_hypatia, write_hypatia
from orbitlat.export.tables import TABLE_FORMATS, ephemeris_table, table_format, write_table

__all__ = ["TABLE_FORMATS", "table_format", "write_table", "ephemeris_table", "to_czml", "czml_json", "write_czml",
           "CZML_POSITIONS", "write_hypatia", "read_hypatia"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
