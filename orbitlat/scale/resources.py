"""Resource checks before big work: how much memory and time a request needs, refused when absurd.

An analysis estimates its own peak memory and run time (it knows its kernels) and calls
:func:`check_budget` before it starts; a request that cannot fit in this machine's memory, or that
would run for days, is refused with the estimate and what to change, instead of being killed by the
operating system hours later. The estimates are deliberately simple (sizes of the arrays the code
allocates, and per-element costs measured on the project's 2-core machines, docs/scaling.md) and
say so; they are meant to be right to within a factor of about two.

>>> est = Estimate("coverage", memory_mb=512.0, seconds=90.0, detail="1,000 satellites")
>>> check_budget(est) is est
True
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from orbitlat.errors import OrbitlatError

__all__ = ["Estimate", "available_memory_mb", "check_budget", "MAX_HOURS", "format_seconds"]

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


def available_memory_mb() -> float:
    """Memory this process can still allocate, MB: Linux ``MemAvailable`` (and a cgroup limit if lower);
    elsewhere the physical memory. ``inf`` when nothing can be read."""
    avail = float("inf")
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = float(line.split()[1]) / 1024.0
                    break
    except OSError:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
        except (ValueError, OSError, AttributeError):  # pragma: no cover - exotic platforms
            pass
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(path, encoding="ascii") as f:
                raw = f.read().strip()
            if raw.isdigit():
                limit = int(raw) / 2**20
                with open(path.replace("memory.max", "memory.current").replace("limit_in_bytes", "usage_in_bytes"),
                          encoding="ascii") as f:
                    used = int(f.read().strip()) / 2**20
                avail = min(avail, max(limit - used, 0.0))
        except (OSError, ValueError):
            continue
    return avail


def check_budget(estimate: Estimate, *, hint: str = "", memory_mb: float | None = None,
                 max_hours: float | None = MAX_HOURS) -> Estimate:
    """Refuse a request that cannot fit in memory or would run longer than ``max_hours``.

    Parameters
    ----------
    estimate : Estimate
    hint : str
        What the user can change (a coarser step, fewer sites, ``scheduler=`` ...), added to the error.
    memory_mb : float, optional
        Memory available (default :func:`available_memory_mb`); 90 % of it may be used.
    max_hours : float or None
        Longest accepted run (None: no limit, e.g. on a cluster).

    Returns
    -------
    Estimate
        ``estimate`` itself, when it fits.

    Raises
    ------
    OrbitlatError
        With the estimate, the limit it breaks and ``hint``.
    """
    avail = available_memory_mb() if memory_mb is None else float(memory_mb)
    problems = []
    if estimate.memory_mb > 0.9 * avail:
        problems.append(f"this machine has about {avail:,.0f} MB available")
    if max_hours is not None and estimate.seconds > max_hours * 3600.0:
        problems.append(f"the limit for one machine is {max_hours:g} h")
    if problems:
        raise OrbitlatError(f"refused before starting: {estimate}, but {' and '.join(problems)}."
                            + (f" {hint}" if hint else ""))
    return estimate
