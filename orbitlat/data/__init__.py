"""Files shipped with orbitlat (presets, data centres, ...); see README.md in this folder for sources
and licences. Read them with ``importlib.resources.files("orbitlat.data")``.
"""

#: Nothing to import here: the package holds data files only.
__all__ = []


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)
