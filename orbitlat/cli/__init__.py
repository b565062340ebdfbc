"""The ``orbitlat`` command line (a face): see :mod:`orbitlat.cli.commands`.

``orbitlat = "orbitlat.cli:main"`` is the console script. The typer app is built in
:mod:`orbitlat.cli.commands`; it may import every layer, and nothing imports it.
"""
from __future__ import annotations

from orbitlat.cli.commands import EXIT_BAD_INPUT, EXIT_OK, EXIT_UNEXPECTED, main

__all__ = ["main", "EXIT_OK", "EXIT_BAD_INPUT", "EXIT_UNEXPECTED"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def __getattr__(name: str):
    if name == "app":
        from orbitlat.cli import commands as _app_module

        return _app_module.app
    raise AttributeError(f"module 'orbitlat.cli' has no attribute {name!r}")
