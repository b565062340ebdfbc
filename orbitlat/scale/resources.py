"""Resource checks before big work: how much memory and time a request needs, refused when absurd.

An analysis estimates its own peak memory and run time (it knows its kernels) and calls
:func:`check_budget` before it starts; a request that cannot fit in this machine's memory (checked by
:func:`orbitlat.memory.check_memory`), or that would run for days, is refused with the estimate and
what to change, instead of being killed by the operating system hours later. The estimates are deliberately simple (sizes of the arrays the code
allocates, and per-element costs measured on the project's 2-core machines, docs/scaling.md) and
say so; they are meant to be right to within a factor of about two.

>>> est = Estimate("coverage", memory_mb=512.0, seconds=90.0, detail="1,000 satellites")
>>> check_budget(est) is est
True
"""
from __future__ import annotations

from dataclasses import dataclass

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["Estimate", "check_budget", "MAX_HOURS", "format_seconds"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Longest estimated run accepted on one machine, hours (longer: split the span or use a cluster).
MAX_HOURS = 48.0


@dataclass(frozen=True)
class Estimate:
    """What a request will need: peak memory (MB) and run time (s) on this machine."""

    what: str
    memory_mb: float
    seconds: float
    detail: str = ""

    def __str__(self) -> str:
        d = f" ({self.detail})" if self.detail else ""
        return f"{self.what}{d}: about {self.memory_mb:,.0f} MB of memory and {format_seconds(self.seconds)}"


def format_seconds(s: float) -> str:
    """'42 s', '3.5 min', '2.1 h', '3.0 days'."""
    s = float(s)
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    if s < 3 * 86400:
        return f"{s / 3600:.1f} h"
    return f"{s / 86400:.1f} days"


@accepts_units
def check_budget(estimate: Estimate, *, hint: str = "", available_bytes: int | None = None,
                 max_hours: float | None = MAX_HOURS) -> Estimate:
    """Refuse a request that cannot fit in memory or would run longer than ``max_hours``.

    Memory goes through :func:`orbitlat.memory.check_memory` (the memory this process can use, with
    its headroom; ``ORBITLAT_MEMORY_LIMIT`` overrides it), which raises
    :class:`~orbitlat.errors.MemoryEstimateError`; time is refused here with an
    :class:`~orbitlat.errors.OrbitlatError`. Both messages give the estimate and ``hint``.

    Parameters
    ----------
    estimate : Estimate
    hint : str
        What the user can change (a coarser step, fewer sites, ``scheduler=`` ...).
    available_bytes : int, optional
        Memory available (default: what :func:`orbitlat.memory.available_bytes` finds).
    max_hours : float or None
        Longest accepted run (None: no limit, e.g. on a cluster).

    Returns
    -------
    Estimate
        ``estimate`` itself, when it fits.
    """
    from orbitlat.memory import check_memory

    h = hint.rstrip(".") if hint else "a smaller request"
    check_memory(estimate.memory_mb * 2**20, f"refused before starting: {estimate.what}"
                 + (f" ({estimate.detail})" if estimate.detail else "")
                 + f", estimated to run {format_seconds(estimate.seconds)},", [h[0].lower() + h[1:]],
                 available=available_bytes)
    if max_hours is not None and estimate.seconds > max_hours * 3600.0:
        raise OrbitlatError(f"refused before starting: {estimate}, but the limit for one machine is {max_hours:g} h."
                            + (f" {hint}" if hint else ""))
    return estimate
