"""The scale-out protocol: how an analysis describes its work so that any runner can run it.

A :class:`Plan` is the whole of what :mod:`orbitlat.scale` knows about an analysis:

- ``chunks``: the pieces of work, in order (a list of small, picklable descriptors: a time
  range, a band of grid points ...);
- ``kernel(chunk, shared) -> part``: a pure function of one chunk and the inputs every chunk
  shares (``shared``: the constellation, the sites, the options), defined at module level so
  that it pickles by reference;
- ``merge(left, right) -> part``: combines the parts of two *adjacent* chunks of a group into
  the part of their union; it must be exact and associative, so that any tree of merges gives
  the same answer (the runners all use the same tree: pairwise by levels);
- ``finish(parts) -> result``: turns the merged part of each group (or, without ``merge``,
  the list of all parts in chunk order) into the analysis's result, in the caller's process.

The analyses build their plans next to their own code (coverage in
:mod:`orbitlat.coverage.plan`, visible sets in :mod:`orbitlat.visibility.visible`, passes in
:mod:`orbitlat.visibility.windows`, latency in :mod:`orbitlat.latency.blocks`); the runners of
:mod:`orbitlat.scale.runners` run any plan on this thread, local threads, local processes or a
Dask cluster. Nothing here imports an analysis.

>>> import operator
>>> p = Plan(kernel=_square_sum, chunks=[range(0, 3), range(3, 5)], merge=operator.add, finish=lambda r: r[0])
>>> from orbitlat.scale.runners import run
>>> run(p, "sync")  # 0 + 1 + 4 + 9 + 16
30
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable, Sequence

import numpy as np

from orbitlat.errors import OrbitlatError

__all__ = ["Plan", "time_bounds", "check_chunk", "check_retries"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


@dataclass
class Plan:
    """An analysis's work as chunks, a per-chunk kernel and an exact merge (see the module docs).

    Parameters
    ----------
    kernel : callable
        ``kernel(chunk, shared) -> part``; a module-level function (it is pickled by reference
        for processes and Dask). It may warn: runners collect every task's warnings and
        re-emit each distinct one once in the caller.
    chunks : sequence
        Chunk descriptors, in order. Small and picklable: they travel to the workers.
    shared : object, optional
        Inputs every chunk needs; sent once per worker (inherited by forked local processes).
    merge : callable, optional
        ``merge(left, right) -> part`` for adjacent chunks of one group; exact and associative.
        Without it ``finish`` receives every part, in chunk order.
    finish : callable, optional
        ``finish(parts) -> result``, run in the caller: ``parts`` is the list of merged parts,
        one per group in order of first appearance (one group unless ``groups`` is given), or
        every part when there is no ``merge``. Default: return ``parts``.
    groups : sequence of hashables, optional
        A group label per chunk: chunks of one group are merged together (in chunk order), and
        each group gives one merged part (coverage: one group per band of grid points, merged
        along time).
    name : str
        Prefix of task names (Dask's dashboard shows it).
    drop_warning : callable, optional
        ``drop_warning(category, message) -> bool``: warnings caught in tasks that the caller
        should not see again (e.g. a per-chunk warning the analysis already reported up front
        or sums up itself).
    """

    kernel: Callable[[Any, Any], Any]
    chunks: Sequence[Any]
    shared: Any = None
    merge: Callable[[Any, Any], Any] | None = None
    finish: Callable[[list], Any] | None = None
    groups: Sequence[Hashable] | None = None
    name: str = "orbitlat"
    drop_warning: Callable[[type, str], bool] | None = field(default=None, repr=False)

    def __post_init__(self):
        self.chunks = list(self.chunks)
        if not self.chunks:
            raise OrbitlatError(f"plan {self.name!r} has no chunks: there is no work to run.")
        if not callable(self.kernel):
            raise OrbitlatError(f"plan {self.name!r}: kernel must be a function (chunk, shared) -> part.")
        if self.groups is not None:
            self.groups = list(self.groups)
            if len(self.groups) != len(self.chunks):
                raise OrbitlatError(f"plan {self.name!r}: {len(self.groups)} group labels for "
                                    f"{len(self.chunks)} chunks; give one label per chunk.")

    def group_indices(self) -> list[list[int]]:
        """Chunk indices of each group, groups in order of first appearance, chunks in order."""
        if self.groups is None:
            return [list(range(len(self.chunks)))]
        out: dict[Hashable, list[int]] = {}
        for i, g in enumerate(self.groups):
            out.setdefault(g, []).append(i)
        return list(out.values())

    @property
    def n_tasks(self) -> int:
        """Kernel tasks plus merge tasks."""
        merges = sum(len(g) - 1 for g in self.group_indices()) if self.merge is not None else 0
        return len(self.chunks) + merges


def _square_sum(chunk, shared) -> int:  # the module docstring's example kernel
    return sum(i * i for i in chunk)


def check_chunk(value: Any, name: str) -> int | None:
    """A chunk-size argument: None (the default) or a whole number >= 1."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OrbitlatError(f"{name}={value!r} must be a whole number >= 1, or None for the default.")
    return int(value)


def check_retries(retries: Any) -> int:
    """The ``retries=`` argument: a whole number >= 0."""
    if isinstance(retries, bool) or not isinstance(retries, (int, np.integer)) or retries < 0:
        raise OrbitlatError(f"retries={retries!r} must be a whole number >= 0 (times a failed task is re-run).")
    return int(retries)


def time_bounds(n: int, unit: int, time_chunk: int | None = None, slots: int = 1, per_slot: int = 4,
                n_other: int = 1, overlap: bool = False) -> list[int]:
    """Chunk boundaries over ``n`` time steps (or ``n - 1`` intervals with ``overlap``), multiples of ``unit``.

    ``unit`` is the step count at which the analysis's single-process code starts a new
    propagation call: the kepler-j2 propagator's rounding depends on where a call starts, so
    boundaries on those multiples keep chunked results identical. ``time_chunk`` (rounded up to
    a multiple of ``unit``) fixes the size; by default there are about ``per_slot`` tasks per
    worker slot (``n_other``: tasks per time chunk along another axis, e.g. bands of points). A
    last chunk shorter than a quarter of the others is folded into the one before it.

    >>> time_bounds(721, 60, time_chunk=100)
    [0, 120, 240, 360, 480, 600, 721]
    >>> time_bounds(721, 60, slots=2, per_slot=1)
    [0, 420, 721]
    """
    span = n - 1 if overlap else n
    unit = max(1, int(unit))
    n_units = max(1, math.ceil(span / unit))
    if time_chunk is None:
        target = max(1, math.ceil(max(1, slots) * max(1, per_slot) / max(n_other, 1)))
        per = max(1, math.ceil(n_units / target))
    else:
        per = max(1, math.ceil(time_chunk / unit))
    size = per * unit
    bounds = list(range(0, span, size)) + [span]
    if len(bounds) > 2 and bounds[-1] - bounds[-2] < max(1, size // 4):
        del bounds[-2]
    if overlap and len(bounds) > 2 and bounds[-1] - bounds[-2] < 2:  # passes need >= 2 samples per chunk
        del bounds[-2]
    return bounds
