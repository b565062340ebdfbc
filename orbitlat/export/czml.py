"""CZML for Cesium: satellites (and ground sites) over time as a CZML document.

:func:`to_czml` builds the packets from a constellation and a span or from an ephemeris;
:func:`write_czml` writes them atomically.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
import numpy as np
from orbitlat.errors import OrbitlatError
from orbitlat.export.tables import _atomic_write

__all__ = ["CZML_POSITIONS", "to_czml", "czml_json", "write_czml"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Position encodings of :func:`to_czml`.
CZML_POSITIONS = ("cartesian", "cartographic")

#: Default point colours per shell (RGBA), cycled.
_PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
            (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]

# ---------------------------------------------------------------------------
# CZML
# ---------------------------------------------------------------------------
def _iso(t: np.datetime64) -> str:
    s = np.datetime_as_string(np.datetime64(t, "ms"), unit="ms")
    return s + "Z"

def _rgba(k: int) -> list[int]:
    r, g, b = _PALETTE[k % len(_PALETTE)]
    return [r, g, b, 255]

def to_czml(source: Any, start: Any = None, duration: Any = None, step: Any = None, *, times: Any = None,
            position: str = "cartesian", backend: str = "auto", name: str | None = None,
            interpolation_degree: int = 5, point_size: float = 3.0, path: bool | None = None,
            labels: bool | None = None, multiplier: float = 60.0, as_json: bool = False,
            indent: int | None = None) -> list[dict] | str:
    """CZML packets (Cesium) of a constellation's or an ephemeris' satellites.

    Parameters
    ----------
    source : Constellation or xarray.Dataset
        A constellation (propagated here over ``start``/``duration``/``step`` or
        ``times``, in ITRS) or an ephemeris from
        :func:`orbitlat.orbits.propagation.propagate` in ITRS (or GCRS, cartesian only).
    start, duration, step, times
        The time grid for a constellation (not with an ephemeris).
    position : {"cartesian", "cartographic"}
        Earth-fixed metres (``FIXED`` frame) or ``cartographicDegrees`` (WGS84).
    backend : str
        Propagation backend for a constellation.
    name : str, optional
        Document name (default the constellation's name).
    interpolation_degree : int
        Lagrange degree (Cesium's ``interpolationDegree``; 5 suits 60 s LEO samples),
        reduced to one less than the number of samples when there are fewer.
    point_size : float
        Pixel size of each satellite's point.
    path : bool, optional
        Draw each satellite's orbit trail (default: only for up to 100 satellites).
    labels : bool, optional
        Show satellite names (default: only for up to 30 satellites).
    multiplier : float
        Clock speed-up when Cesium plays the scene.
    as_json : bool
        Return the JSON text instead of the packet list.
    indent : int, optional
        JSON indentation with ``as_json``.

    Returns
    -------
    list of dict, or str
        ``[document, satellite...]`` packets (or their JSON).
    """
    import xarray as xr

    from orbitlat.orbits.constellation import Constellation

    if position not in CZML_POSITIONS:
        raise OrbitlatError(f"position={position!r} is not known; use 'cartesian' (Earth-fixed metres) or "
                            "'cartographic' (WGS84 degrees and metres).")
    if isinstance(interpolation_degree, bool) or not isinstance(interpolation_degree, (int, np.integer)) \
            or not 1 <= interpolation_degree <= 15:
        raise OrbitlatError(f"interpolation_degree={interpolation_degree!r} must be an integer in 1..15 "
                            "(5 suits LEO at 60 s).")
    if isinstance(source, Constellation):
        if times is None and (start is None or duration is None or step is None):
            raise OrbitlatError("to_czml with a Constellation needs start, duration and step (or times), e.g. "
                                "to_czml(c, '2026-01-01', '90min', '60s').")
        eph = source.propagate(times, start=start, duration=duration, step=step, backend=backend, frame="ITRS",
                               velocity=False)
        doc_name = name or source.name
    elif isinstance(source, xr.Dataset):
        if any(v is not None for v in (start, duration, step, times)):
            raise OrbitlatError("an ephemeris brings its own times; drop start/duration/step/times.")
        if "position" not in source or source["position"].dims != ("time", "sat", "xyz"):
            raise OrbitlatError("an ephemeris needs `position` with dims (time, sat, xyz) in km.")
        eph = source
        doc_name = name or str(eph.attrs.get("constellation", "orbitlat"))
    else:
        raise OrbitlatError(f"to_czml takes a Constellation or an ephemeris Dataset; got {type(source).__name__}.")
    frame = str(eph.attrs.get("frame", "ITRS")).upper()
    if frame not in ("ITRS", "GCRS"):
        raise OrbitlatError(f"the ephemeris is in {frame}; CZML needs ITRS (Earth-fixed) or GCRS (inertial): "
                            "propagate(..., frame='ITRS').")
    if frame == "GCRS" and position == "cartographic":
        raise OrbitlatError("cartographic positions need an Earth-fixed (ITRS) ephemeris; this one is GCRS. "
                            "Use position='cartesian' or propagate(..., frame='ITRS').")
    t = eph["time"].to_numpy().astype("datetime64[ns]")
    if t.size < 1:
        raise OrbitlatError("the ephemeris has no time steps.")
    epoch = t[0]
    sec = np.round((t - epoch).astype(np.int64) * 1e-9, 6)
    pos = np.asarray(eph["position"].to_numpy(), dtype=np.float64)  # (time, sat, 3) km
    ns = pos.shape[1]
    ok = np.isfinite(pos).all(axis=-1)
    if "failed" in eph:
        ok &= ~eph["failed"].to_numpy().astype(bool)[None, :]
    names = (np.asarray(eph["name"].to_numpy(), dtype=str) if "name" in eph.coords
             else np.array([f"sat{k}" for k in range(ns)]))
    shells = np.asarray(eph["shell"].to_numpy(), dtype=str) if "shell" in eph.coords else np.full(ns, "")
    shell_ids = {s: k for k, s in enumerate(dict.fromkeys(shells.tolist()))}
    if position == "cartographic":
        from orbitlat.ground.geodesy import itrs_to_geodetic

        lat, lon, alt = itrs_to_geodetic(np.where(ok[..., None], pos, 0.0))
        lat, lon, alt = (np.asarray(a, dtype=np.float64) for a in (lat, lon, alt))
    show_path = ns <= 100 if path is None else bool(path)
    show_label = ns <= 30 if labels is None else bool(labels)
    dt = float(np.median(np.diff(sec))) if sec.size > 1 else 60.0
    packets: list[dict] = []
    dropped = []
    ref = "FIXED" if frame == "ITRS" else "INERTIAL"
    for k in range(ns):
        m = ok[:, k]
        n = int(m.sum())
        if n == 0:
            dropped.append(str(names[k]))
            continue
        ts = sec[m]
        if position == "cartesian":
            xyz = pos[m, k] * 1000.0
            samples = np.column_stack([ts, np.round(xyz, 3)])
            key = "cartesian"
        else:
            lo = np.degrees(np.unwrap(np.radians(lon[m, k])))
            samples = np.column_stack([ts, np.round(lo, 7), np.round(lat[m, k], 7), np.round(alt[m, k] * 1000.0, 3)])
            key = "cartographicDegrees"
        deg = int(min(interpolation_degree, max(1, n - 1)))
        pk: dict[str, Any] = {
            "id": f"sat/{k}",
            "name": str(names[k]),
            "availability": f"{_iso(epoch + np.timedelta64(int(round(ts[0] * 1e9)), 'ns'))}/"
                            f"{_iso(epoch + np.timedelta64(int(round(ts[-1] * 1e9)), 'ns'))}",
            "description": f"{names[k]}" + (f" (shell {shells[k]})" if shells[k] else ""),
            "position": {
                "epoch": _iso(epoch),
                "referenceFrame": ref,
                "interpolationAlgorithm": "LAGRANGE",
                "interpolationDegree": deg,
                key: samples.ravel().tolist(),
            },
            "point": {"pixelSize": float(point_size), "color": {"rgba": _rgba(shell_ids[shells[k]])}},
        }
        if show_path:
            pk["path"] = {"show": True, "width": 1, "leadTime": 0, "trailTime": float(min(sec[-1], 3000.0)),
                          "resolution": dt, "material": {"solidColor": {"color": {"rgba": _rgba(shell_ids[shells[k]])}}}}
        if show_label:
            pk["label"] = {"text": str(names[k]), "font": "11px sans-serif", "pixelOffset": {"cartesian2": [8, 0]},
                           "fillColor": {"rgba": [255, 255, 255, 255]}}
        packets.append(pk)
    desc = f"{len(packets)} satellites from orbitlat ({position}, {ref} frame, {sec.size} samples every {dt:g} s)."
    if dropped:
        desc += (f" {len(dropped)} satellites have no valid position and are left out: "
                 f"{', '.join(dropped[:20])}{' ...' if len(dropped) > 20 else ''}.")
    doc = {
        "id": "document",
        "name": str(doc_name),
        "version": "1.0",
        "description": desc,
        "clock": {"interval": f"{_iso(t[0])}/{_iso(t[-1])}", "currentTime": _iso(t[0]), "multiplier": float(multiplier),
                  "range": "LOOP_STOP", "step": "SYSTEM_CLOCK_MULTIPLIER"},
    }
    out = [doc] + packets
    return czml_json(out, indent=indent) if as_json else out

def czml_json(packets: list[dict], indent: int | None = None) -> str:
    """JSON text of CZML packets (strict JSON: raises OrbitlatError on NaN or infinity)."""
    try:
        return json.dumps(packets, indent=indent, allow_nan=False, separators=None if indent else (",", ":"))
    except ValueError as exc:
        raise OrbitlatError(f"the CZML holds a value JSON cannot store ({exc}); drop NaN positions first.") from None

def write_czml(path: str | os.PathLike, source: Any, *args: Any, **kwargs: Any) -> Path:
    """Write :func:`to_czml` packets (or given packets) to ``path`` atomically; returns the path."""
    packets = source if isinstance(source, list) else to_czml(source, *args, **kwargs)
    text = czml_json(packets)
    return _atomic_write(Path(path), lambda p: p.write_text(text, encoding="utf-8"))
