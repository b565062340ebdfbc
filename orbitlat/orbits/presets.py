"""Built-in constellations from public filings and designs.

Each preset's definition (shells, and the public source it comes from) lives in the package data:
``presets.json`` for broadband and navigation constellations, ``presets_compute.json`` for the
orbital data-centre (compute) proposals, which are kept apart (:func:`names` with ``kind=``). A
compute preset also says what was verified against its primary source and what is only reported,
and every assumption made to turn a filing into shells (``info(name)``; docs/references.md).

Broadband and navigation (``presets.json``):

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
=================  ===========================================================

Orbital compute (``presets_compute.json``; kind ``"compute"``):

=========================  ==================================================================
preset                     source
=========================  ==================================================================
``spacex_odc``             SpaceX FCC SAT-LOA-20260108-00016: up to 1,000,000, 500-2,000 km,
                           30° and SSO, shells up to 50 km thick
``starcloud``              Starcloud FCC SAT-LOA-20260202-00073: up to 88,000, 600-850 km SSO
``blue_origin_sunrise``    Blue Origin FCC SAT-LOA-20260319-00032: up to 51,600, SSO 500-1,800 km
``three_body``             ADA Space / Zhejiang Lab: the 12 satellites launched 14 May 2025
``three_body_planned``     ADA Space "Star-Compute": 2,800 planned at 500-1,000 km
``suncatcher``             Google Project Suncatcher (2025): 81 within ~1 km, 650 km SSO
``starlink_v3_compute``    compute on every Starlink V3: Gen2 shells of FCC 22-91, 10,080
=========================  ==================================================================

>>> from orbitlat.orbits import presets
>>> presets.get("starlink_gen1").size
4408
>>> sorted(presets.names(kind="broadband"))[:3]
['iridium', 'kuiper', 'oneweb']
>>> presets.satellite_count("spacex_odc"), presets.names(kind="compute")[:2]
(1000000, ['spacex_odc', 'starcloud'])
"""
from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import pandas as pd

from orbitlat.orbits.constellation import Constellation
from orbitlat.errors import OrbitlatError

__all__ = ["names", "get", "info", "table", "definition", "KINDS", "satellite_count"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_ALIASES = {"starlink": "starlink_gen1", "starlink-gen1": "starlink_gen1", "project-kuiper": "kuiper",
            "iridium-next": "iridium", "navstar": "gps", "google-suncatcher": "suncatcher",
            "project-sunrise": "blue_origin_sunrise", "sunrise": "blue_origin_sunrise",
            "spacex-orbital-data-center": "spacex_odc", "starlink-v3": "starlink_v3_compute",
            "star-compute": "three_body_planned"}


#: Preset kinds: what the constellation is for.
KINDS = ("broadband", "navigation", "compute")
_FILES = ("presets.json", "presets_compute.json")


@functools.lru_cache(maxsize=1)
def _definitions() -> dict:
    out: dict = {}
    for fname in _FILES:
        path = resources.files("orbitlat.data") / fname
        for key, d in json.loads(path.read_text(encoding="utf-8")).items():
            if key in out:
                raise OrbitlatError(f"preset {key!r} is defined twice in the package data ({fname}); the data is "
                                    "corrupt.")
            out[key] = {"kind": "broadband", **d}
    return out


def names(kind: str | None = None) -> list[str]:
    """Names of the built-in presets, of one ``kind`` (``"broadband"``, ``"navigation"``, ``"compute"``) or all."""
    if kind is not None and kind not in KINDS:
        raise OrbitlatError(f"kind={kind!r} is not a preset kind; valid kinds are {', '.join(KINDS)} (or None for all).")
    return [k for k, d in _definitions().items() if kind is None or d["kind"] == kind]


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
    c.attrs = {"preset": key, "title": d["title"], "source": d["source"], "kind": d["kind"]}
    for extra in ("notes", "verification", "compute"):
        if extra in d:
            c.attrs[extra] = d[extra]
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
    if kind == "sso_stack":
        from orbitlat.orbits.sso import sun_synchronous_stack

        alts = s["altitude_min_km"] + s["altitude_step_km"] * np.arange(s["planes"])
        return sun_synchronous_stack(alts, s["per_plane"], ltan_hours=s["ltan_hours"], epoch=epoch, shell=s["label"],
                                     name=s["label"])
    if kind == "sso":
        from orbitlat.orbits.sso import sun_synchronous

        return sun_synchronous(s["altitude_km"], ltan_hours=s["ltan_hours"], planes=s["planes"],
                               sats_per_plane=s["per_plane"], phasing=s.get("phasing", 0), epoch=epoch,
                               shell=s["label"], name=s["label"])
    if kind == "cluster":
        return compact_cluster(s["n"], radius_km=s["radius_km"], altitude_km=s["altitude_km"],
                               ltan_hours=s["ltan_hours"], epoch=epoch, name=s["label"], shell=s["label"])
    raise OrbitlatError(f"preset shell kind {kind!r} is not known (presets.json is corrupt?).")


def info(name: str) -> str:
    """A one-paragraph description of a preset with its source (and, for compute presets, what was verified)."""
    d = definition(name)
    out = f"{d['title']}. Source: {d['source']}."
    if "verification" in d:
        out += f" Verification: {d['verification']}."
    isl = d.get("isl")
    if isl:
        out += f" Inter-satellite links: {isl['kind']} ({isl['source']})."
    return out + (f" Notes: {d['notes']}" if "notes" in d else "")


def satellite_count(name: str) -> int:
    """Satellites a preset holds, from its definition (without building it)."""
    return sum(_shell_count(s) for s in definition(name)["shells"])


def _shell_count(s: dict) -> int:
    if s["kind"].startswith("walker") or s["kind"] in ("sso_stack", "sso"):
        return int(s["planes"] * s["per_plane"])
    if s["kind"] == "slots":
        return len(s["slots"])
    return int(s["n"])


def table(kind: str | None = None) -> pd.DataFrame:
    """One row per preset (of one ``kind``, or all): kind, satellites, shells and source (for listings)."""
    rows = []
    for key in names(kind):
        d = _definitions()[key]
        rows.append({"preset": key, "kind": d["kind"], "satellites": satellite_count(key), "shells": len(d["shells"]),
                     "title": d["title"], "source": d["source"]})
    return pd.DataFrame(rows)
