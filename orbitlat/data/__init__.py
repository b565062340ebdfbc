"""Files shipped with orbitlat (presets, data centres, ...); see README.md in this folder for sources
and licences. Read them with ``importlib.resources.files("orbitlat.data")``.
"""
