"""The one error type orbitlat raises for bad input, and its warnings.

Every error says what was passed, what is valid and how to fix it. Catch
:class:`OrbitlatError` to catch any bad-input error from orbitlat; it is a
:class:`ValueError`, so code that already catches ``ValueError`` keeps working.
"""
from __future__ import annotations

__all__ = ["OrbitlatError", "TLEError", "OMMError", "MemoryEstimateError", "PropagationWarning", "EpochWarning",
           "CompileNotice"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


class OrbitlatError(ValueError):
    """Bad input to an orbitlat function (the one error type for bad input)."""


class TLEError(OrbitlatError):
    """A TLE/3LE text or file that cannot be read.

    Attributes
    ----------
    line_number : int or None
        1-based line number in the input where the problem was found.
    """

    def __init__(self, message: str, line_number: int | None = None, source: str | None = None):
        where = ""
        if source:
            where += f"{source}: "
        if line_number is not None:
            where += f"line {line_number}: "
        super().__init__(where + message)
        self.line_number = line_number
        self.source = source


class OMMError(OrbitlatError):
    """An OMM (CCSDS Orbit Mean-elements Message, JSON or CSV) record that cannot be read."""


class MemoryEstimateError(OrbitlatError):
    """A request estimated, before it starts, to need more memory than this process can use.

    The message gives the estimate and what to change (see :mod:`orbitlat.memory`).

    Attributes
    ----------
    needed_bytes, available_bytes : float, int
    """

    def __init__(self, message: str, needed_bytes: float = float("nan"), available_bytes: int = 0):
        super().__init__(message)
        self.needed_bytes = needed_bytes
        self.available_bytes = available_bytes


class PropagationWarning(UserWarning):
    """Some satellites failed to propagate (decayed or an sgp4 error); they are flagged."""


class EpochWarning(UserWarning):
    """Times far from a TLE's epoch: SGP4 accuracy degrades there."""


class CompileNotice(UserWarning):
    """orbitlat is compiling its numba kernels (once; cached on disk after that run).

    Said once per process so that a first call that takes ~10-20 s is not mistaken for a hang.
    Silence it with ``warnings.filterwarnings("ignore", category=orbitlat.CompileNotice)``.
    """
