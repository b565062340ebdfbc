"""Streaming propagation: positions in time chunks, never the whole ephemeris in memory.

:func:`~orbitlat.orbits.propagation.propagate` returns one labelled Dataset holding every
(time, satellite) position: for a million satellites that is 24 MB per time step, 6.9 GB for a day
at 5 minutes. :func:`iter_positions` yields the same positions chunk by chunk (the chunk sized to a
memory budget), as plain float64 arrays with a per-chunk failure flag, so an analysis folds each
chunk into its own reduction and lets it go. The numbers are those of ``propagate`` over the same
chunk (the same backends, same code), so a chunked analysis equals an in-memory one whose ephemeris
was propagated in the same chunks.

>>> import orbitlat as ol
>>> c = ol.presets.get("iridium")
>>> [(len(tg), pos.shape) for tg, pos, failed in iter_positions(c, start="2026-01-01", duration="20min",
...                                                             step="5min", chunk=2)]
[(2, (2, 66, 3)), (2, (2, 66, 3)), (1, (1, 66, 3))]
"""
from __future__ import annotations

import warnings
from typing import Any, Iterator

import numpy as np

from orbitlat.errors import OrbitlatError, PropagationWarning
from orbitlat.orbits.constellation import Constellation
from orbitlat.time import TimeGrid, to_timegrid
from orbitlat.units import accepts_units

__all__ = ["iter_positions", "positions", "chunk_steps_for", "POSITION_BYTES"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Bytes of one satellite's position at one instant (three float64).
POSITION_BYTES = 24

#: Default memory budget for one chunk of positions, MB.
DEFAULT_CHUNK_MB = 256.0


def chunk_steps_for(n_sat: int, memory_mb: float | None = None, *, most: int | None = None) -> int:
    """Time steps of ``n_sat`` positions that fit in ``memory_mb`` (default :data:`DEFAULT_CHUNK_MB`;
    at least 1, at most ``most``).

    >>> chunk_steps_for(1_000_000), chunk_steps_for(4408)
    (11, 2537)
    """
    if memory_mb is None:
        memory_mb = DEFAULT_CHUNK_MB
    if not memory_mb > 0:
        raise OrbitlatError(f"memory_mb={memory_mb!r} must be > 0 (MB of positions per chunk).")
    steps = max(1, int(memory_mb * 2**20 // max(1, int(n_sat) * POSITION_BYTES)))
    return steps if most is None else max(1, min(steps, int(most)))


def _backend_of(c: Constellation, backend: str) -> str:
    from orbitlat.orbits.propagation import BACKENDS

    if backend not in BACKENDS:
        raise OrbitlatError(f"backend={backend!r} is not known; valid backends are {', '.join(BACKENDS)}.")
    catalog = c.is_catalog
    if backend == "auto":
        return "sgp4" if catalog.any() else "kepler-j2"
    if backend != "sgp4" and catalog.any():
        raise OrbitlatError(
            f"backend={backend!r} cannot propagate TLE/OMM satellites ({int(catalog.sum())} here): their "
            "elements are SGP4 mean elements. Use backend='sgp4'."
        )
    if backend == "boinor":
        raise OrbitlatError("backend='boinor' propagates one satellite at a time and is not streamed; use 'kepler-j2' "
                            "or 'sgp4' here (boinor is for cross-checks: Constellation.propagate(backend='boinor')).")
    return backend


def positions(constellation: Constellation, tg: TimeGrid, *, backend: str = "auto", frame: str = "ITRS",
              workers: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``(time, sat, 3)`` km and the failed flags ``(sat,)`` over ``tg``, without a Dataset.

    The same numbers as ``propagate(constellation, tg, ..., velocity=False)["position"]`` (the same
    backend code); no metadata, no warnings (the caller reports failures once).
    """
    from orbitlat.orbits.propagation import FRAMES, _propagate_kepler_j2, _propagate_sgp4

    frame_u = str(frame).upper()
    if frame_u not in FRAMES:
        raise OrbitlatError(f"frame={frame!r} is not supported; valid frames are {', '.join(FRAMES)}.")
    b = _backend_of(constellation, backend)
    if b == "sgp4":
        pos, _v, err, _k = _propagate_sgp4(constellation, tg, frame_u, False, workers)
        failed = (np.asarray(err) != 0).any(axis=0)
    else:
        pos, _v = _propagate_kepler_j2(constellation, tg, frame_u, False, workers=workers)
        failed = np.zeros(constellation.size, dtype=bool)
    return pos, failed


@accepts_units
def iter_positions(constellation: Constellation, times: Any = None, *, start: Any = None, duration: Any = None,
                   step: Any = None, chunk: int | None = None, memory_mb: float | None = None,
                   backend: str = "auto", frame: str = "ITRS", workers: int | None = None,
                   warn_epoch_days: float = 14.0) -> Iterator[tuple[TimeGrid, np.ndarray, np.ndarray]]:
    """Yield ``(times, positions (t, sat, 3) km, failed (sat,) bool)`` chunk by chunk over a span.

    Parameters
    ----------
    constellation : Constellation
    times, start, duration, step
        Instants, or "from start for duration every step".
    chunk : int, optional
        Time steps per chunk (default: what fits in ``memory_mb``).
    memory_mb : float, optional
        Memory budget of one chunk of positions (default :data:`DEFAULT_CHUNK_MB`, 256 MB).
    backend, frame, workers
        As for :func:`orbitlat.orbits.propagation.propagate` (boinor is not streamed).
    warn_epoch_days : float
        Warn once, up front, when TLE satellites are used further than this from their epochs.

    Yields
    ------
    (TimeGrid, numpy.ndarray, numpy.ndarray)
        The chunk's instants, positions (NaN where a satellite failed) and which satellites failed in
        it. After the last chunk a :class:`~orbitlat.errors.PropagationWarning` says how many
        satellites failed anywhere in the span (they are flagged, never dropped silently).
    """
    from orbitlat.orbits.propagation import _warn_far_from_epoch

    if not isinstance(constellation, Constellation):
        raise OrbitlatError(f"iter_positions takes a Constellation; got {type(constellation).__name__}.")
    tg = times if isinstance(times, TimeGrid) else to_timegrid(times, start=start, duration=duration, step=step)
    if chunk is None:
        chunk = chunk_steps_for(constellation.size, memory_mb)
    elif isinstance(chunk, bool) or not isinstance(chunk, (int, np.integer)) or chunk < 1:
        raise OrbitlatError(f"chunk={chunk!r} must be a whole number of time steps >= 1.")
    b = _backend_of(constellation, backend)
    if b == "sgp4" and constellation.is_catalog.any():
        _warn_far_from_epoch(constellation, tg, warn_epoch_days, stacklevel=3)
    failed_any = np.zeros(constellation.size, dtype=bool)
    for i0 in range(0, len(tg), int(chunk)):
        sub = tg[i0:i0 + int(chunk)]
        pos, failed = positions(constellation, sub, backend=b, frame=frame, workers=workers)
        failed_any |= failed
        yield sub, pos, failed
    if failed_any.any():
        warnings.warn(f"{int(failed_any.sum())} of {constellation.size} satellites failed to propagate somewhere in "
                      "the span; their positions are NaN where they failed and the analysis left them out there.",
                      PropagationWarning, stacklevel=2)
