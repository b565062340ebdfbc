"""Built-in constellations from public filings and designs.

Each preset's definition (shells, and the public source it comes from) lives in
the package data file ``presets.json`` (the repository's ``data/`` folder).

=================  ===========================================================
preset             source
=================  ===========================================================
``starlink_gen1``  SpaceX FCC 2021 modification (FCC 21-48): 4,408 satellites
``kuiper``         Amazon Kuiper FCC 2020 authorization (FCC 20-102): 3,236
``oneweb``         OneWeb phase 1 filing: 588 active (12 x 49, 1,200 km, 87.9°)
``iridium``        Iridium: 66 (6 x 11, 780 km, 86.4°, Walker star)
``telesat``        Telesat 2018 filing as used by Hypatia (IMC 2020): 1,671
``gps``            GPS SPS Performance Standard (2001), 24 reference slots
``galileo``        Galileo Walker 24/3/1 at 23,222 km, 56°
``suncatcher``     Google Project Suncatcher (2025): 81 within ~1 km, 650 km SSO
=================  ===========================================================

>>> from orbitlat.orbits import presets
>>> presets.get("starlink_gen1").size
4408
>>> sorted(presets.names())[:3]
['galileo', 'gps', 'iridium']
"""
from __future__ import annotations

import functools
import json
from importlib import resources

import pandas as pd

from orbitlat.orbits.constellation import Constellation
from orbitlat.errors import OrbitlatError

__all__ = ["names", "get", "info", "table", "definition"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_ALIASES = {"starlink": "starlink_gen1", "starlink-gen1": "starlink_gen1", "project-kuiper": "kuiper",
            "iridium-next": "iridium", "navstar": "gps", "google-suncatcher": "suncatcher"}


@functools.lru_cache(maxsize=1)
def _definitions() -> dict:
    path = resources.files("orbitlat.data") / "presets.json"
    return json.loads(path.read_text(encoding="utf-8"))


def names() -> list[str]:
    """Names of the built-in presets."""
    return list(_definitions())


def _resolve(name: str) -> str:
    key = str(name).strip().lower().replace(" ", "_")
    key = _ALIASES.get(key, key).replace("-", "_")
    if key not in _definitions():
        raise OrbitlatError(f"unknown preset {name!r}; available presets: {', '.join(names())}.")
    return key


def definition(name: str) -> dict:
    """The raw definition of a preset (shells and source)."""
    return _definitions()[_resolve(name)]


def get(name: str, *, epoch=None) -> Constellation:
    """Build a preset constellation by name (see :func:`names`).

    Parameters
    ----------
    name : str
        Preset name (case-insensitive; a few aliases such as ``"starlink"`` work).
    epoch : time, optional
        Element epoch for designed shells (default :data:`orbitlat.orbits.constellation.DEFAULT_EPOCH`;
        the GPS slots keep their defining epoch unless one is given).
    """
    key = _resolve(name)
    d = _definitions()[key]
    parts = [_build_shell(s, epoch) for s in d["shells"]]
    c = parts[0] if len(parts) == 1 else Constellation.concat(parts)
    c.name = key
    c.attrs = {"preset": key, "title": d["title"], "source": d["source"]}
    if "notes" in d:
        c.attrs["notes"] = d["notes"]
    isl = d.get("isl")
    if isl is not None:  # what the satellites carry (orbitlat.orbits.capabilities)
        c.table["has_isl"] = 0.0 if isl["kind"] == "none" else 1.0
        c.attrs.update({"isl": isl["kind"], "isl_source": isl["source"],
                        "isl_satellites": 0 if isl["kind"] == "none" else c.size})
    return c


def _build_shell(s: dict, epoch) -> Constellation:
    from orbitlat.orbits import walker
    from orbitlat.orbits.cluster import compact_cluster

    kind = s["kind"]
    if kind in ("walker_delta", "walker_star"):
        fn = walker.walker_delta if kind == "walker_delta" else walker.walker_star
        kw = {}
        if "raan_spacing_deg" in s:
            kw["raan_spacing_deg"] = s["raan_spacing_deg"]
        return fn(s["inc_deg"], s["planes"] * s["per_plane"], s["planes"], s["phasing"],
                  altitude_km=s["altitude_km"], raan0_deg=s.get("raan0_deg", 0.0), epoch=epoch,
                  shell=s["label"], name=s["label"], **kw)
    if kind == "slots":
        slots = s["slots"]
        planes_l = [x["slot"][0] for x in slots]
        plane_ids = {p: k for k, p in enumerate(sorted(set(planes_l)))}
        return Constellation.from_elements(
            a_km=s["a_km"], inc_deg=s["inc_deg"], raan_deg=[x["raan_deg"] for x in slots],
            mean_anomaly_deg=[x["arglat_deg"] for x in slots], epoch=epoch or s["epoch"], shell=s["label"],
            plane=[plane_ids[p] for p in planes_l], slot=[int(x["slot"][1:]) - 1 for x in slots],
            names=[f"{s['label'].upper()}-{x['slot']}" for x in slots], name=s["label"],
        )
    if kind == "cluster":
        return compact_cluster(s["n"], radius_km=s["radius_km"], altitude_km=s["altitude_km"],
                               ltan_hours=s["ltan_hours"], epoch=epoch, name=s["label"], shell=s["label"])
    raise OrbitlatError(f"preset shell kind {kind!r} is not known (presets.json is corrupt?).")


def info(name: str) -> str:
    """A one-paragraph description of a preset with its source."""
    d = definition(name)
    isl = d.get("isl")
    links = f" Inter-satellite links: {isl['kind']} ({isl['source']})." if isl else ""
    return f"{d['title']}. Source: {d['source']}." + links + (f" Notes: {d['notes']}" if "notes" in d else "")


def table() -> pd.DataFrame:
    """One row per preset: satellites, shells and source (for listings)."""
    rows = []
    for key, d in _definitions().items():
        n = 0
        for s in d["shells"]:
            if s["kind"].startswith("walker"):
                n += s["planes"] * s["per_plane"]
            elif s["kind"] == "slots":
                n += len(s["slots"])
            else:
                n += s["n"]
        rows.append({"preset": key, "satellites": n, "shells": len(d["shells"]), "title": d["title"],
                     "source": d["source"]})
    return pd.DataFrame(rows)
