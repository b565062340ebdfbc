"""Memory estimates before big work (foundation layer).

The estimators live where the work is (:func:`orbitlat.orbits.propagation.estimate_memory`,
:func:`orbitlat.visibility.windows.estimate_passes`, :func:`orbitlat.latency.scenarios.estimate_city_pairs`);
they call :func:`check_memory` here, which compares the estimate with the memory this process can
use and, when it does not fit, raises :class:`~orbitlat.errors.MemoryEstimateError` with the
estimate and what to change, *before* any of the work starts. Nothing is allocated to find out.

What this process can use is the smallest of: ``MemAvailable`` of ``/proc/meminfo`` (Linux; the
kernel's estimate of memory available without swapping), the cgroup v2/v1 limit minus current
usage (containers, Slurm), and ``RLIMIT_AS``; elsewhere the physical memory. The environment
variable ``ORBITLAT_MEMORY_LIMIT`` (bytes, or ``"8GB"``, ``"512MiB"``) overrides it, e.g. to
reserve memory for other jobs.

>>> from orbitlat.memory import format_bytes, parse_bytes
>>> format_bytes(3 * 2**30), parse_bytes("512MiB")
('3.0 GiB', 536870912)
"""
from __future__ import annotations

import os
import re
from typing import Iterable

from orbitlat.errors import MemoryEstimateError, OrbitlatError

__all__ = ["available_bytes", "check_memory", "fits", "format_bytes", "parse_bytes", "MEMORY_LIMIT_ENV", "HEADROOM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


MEMORY_LIMIT_ENV = "ORBITLAT_MEMORY_LIMIT"
#: Share of the available memory a single request may plan to use (the rest: Python, libraries,
#: temporaries the estimate leaves out, other processes).
HEADROOM = 0.8

_UNITS = {"": 1, "b": 1, "k": 1000, "kb": 1000, "m": 1000**2, "mb": 1000**2, "g": 1000**3, "gb": 1000**3,
          "t": 1000**4, "tb": 1000**4, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}


def parse_bytes(text: str | int | float) -> int:
    """``"8GB"``, ``"512MiB"``, ``"1e9"`` or a number of bytes as an int."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value, unit = float(text), ""
    else:
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?\d+)?)\s*([A-Za-z]*)\s*", str(text))
        if not m or m.group(2).lower() not in _UNITS:
            raise OrbitlatError(f"{text!r} is not an amount of memory; write e.g. 8GB, 512MiB or a number of bytes.")
        value, unit = float(m.group(1)), m.group(2).lower()
    out = value * _UNITS[unit]
    if not out > 0:
        raise OrbitlatError(f"{text!r}: an amount of memory must be positive.")
    return int(out)


def format_bytes(n: float) -> str:
    """Bytes as a short binary-prefixed string (``'3.0 GiB'``)."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def _cgroup_room() -> int | None:
    """cgroup memory limit minus usage (v2, then v1), or None without a limit."""
    pairs = (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
             ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory/memory.usage_in_bytes"))
    for lim_p, use_p in pairs:
        try:
            with open(lim_p) as fh:
                lim = fh.read().strip()
            if lim == "max":
                return None
            limit = int(lim)
            if limit >= 2**60:  # v1 "no limit"
                return None
            with open(use_p) as fh:
                used = int(fh.read().strip())
            return max(0, limit - used)
        except (OSError, ValueError):
            continue
    return None


def _rlimit_as() -> int | None:
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):  # pragma: no cover
        return None
    return None if soft in (resource.RLIM_INFINITY, -1) else int(soft)


def available_bytes() -> int | None:
    """Bytes this process can still allocate (see the module docs), or None if unknown."""
    env = os.environ.get(MEMORY_LIMIT_ENV, "").strip()
    if env:
        return parse_bytes(env)
    found = [x for x in (_meminfo_available(), _cgroup_room(), _rlimit_as()) if x is not None]
    if found:
        return min(found)
    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None


def fits(needed_bytes: float, *, available: int | None = None) -> bool:
    """True if ``needed_bytes`` fits in :data:`HEADROOM` of the available memory (or it is unknown)."""
    avail = available_bytes() if available is None else int(available)
    return avail is None or needed_bytes <= HEADROOM * avail


def check_memory(needed_bytes: float, what: str, hints: Iterable[str], *, available: int | None = None) -> None:
    """Raise :class:`~orbitlat.errors.MemoryEstimateError` if ``needed_bytes`` does not fit.

    Parameters
    ----------
    needed_bytes : float
        The estimate (peak memory of the request).
    what : str
        The request, for the message (e.g. ``"propagating 4,408 satellites x 172,801 times"``).
    hints : iterable of str
        What to change, most useful first (smaller span or step, fewer sites, streaming to a file).
    available : int, optional
        Override :func:`available_bytes` (tests).

    >>> check_memory(1e3, "a tiny job", ["nothing"])
    >>> check_memory(1e15, "a huge job", ["a coarser step"], available=10**9)
    Traceback (most recent call last):
    ...
    orbitlat.errors.MemoryEstimateError: a huge job needs about 909.5 TiB of memory, more than the 762.9 MiB this process can use (80 % of the 953.7 MiB available); use a coarser step.
    """
    avail = available_bytes() if available is None else int(available)
    if avail is None:
        return
    budget = HEADROOM * avail
    if needed_bytes <= budget:
        return
    raise MemoryEstimateError(
        f"{what} needs about {format_bytes(needed_bytes)} of memory, more than the {format_bytes(budget)} this "
        f"process can use ({HEADROOM * 100:.0f} % of the {format_bytes(avail)} available); "
        f"use {' or '.join(hints)}.",
        needed_bytes=float(needed_bytes), available_bytes=int(avail),
    )
