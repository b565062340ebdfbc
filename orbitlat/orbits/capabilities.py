"""What the satellites carry: inter-satellite links (laser, radio or none), per preset and per operator.

Owns the rule that says whether a satellite can relay traffic to another satellite in space. Routing
over inter-satellite links (ISLs) that a constellation does not have is a common and silent mistake
(OneWeb's first generation is a bent pipe), so every :class:`~orbitlat.orbits.constellation.Constellation`
built by orbitlat says so:

- a table column ``has_isl`` per satellite: ``1.0`` (carries ISLs), ``0.0`` (carries none) or
  NaN (unknown: a user-built design says nothing, and is taken to mean "as designed");
- attrs ``isl`` (``"laser"``, ``"rf"``, ``"none"``, ``"mixed"`` or ``"unknown"``) and
  ``isl_source`` (where that comes from).

Presets take it from ``presets.json`` (each preset's ``isl`` entry cites its source). TLE/OMM
catalogs take it from the operator, recognised by the satellite name (:data:`OPERATORS`); for
Starlink, the first-generation "v1.0" satellites launched from 2019 to May 2021 carry no lasers
(the first laser terminals flew on the polar satellites of the Transporter-1 and -2 rideshares in
2021, and on every satellite from the Group 4 launches of late 2021), so they are flagged per
satellite from the international designator in line 1. Sources are collected in
``docs/references.md`` ("Inter-satellite links by operator").

>>> from orbitlat.orbits import presets
>>> presets.get("oneweb").attrs["isl"], presets.get("starlink_gen1").attrs["isl"]
('none', 'laser')
>>> operator_rule("ONEWEB-0012")["isl"], operator_rule("STARLINK-1007")["isl"], operator_rule("MYSAT-1")
('none', 'laser', None)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["OPERATORS", "operator_rule", "catalog_isl", "summarize", "has_isl_column", "ISL_KINDS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Kinds of inter-satellite link a constellation can carry.
ISL_KINDS = ("laser", "rf", "none")

#: Operators recognised in catalog names (name prefix, upper case) and what their satellites carry.
OPERATORS = {
    "STARLINK": {"operator": "SpaceX Starlink", "isl": "laser",
                 "source": "SpaceX, 'Starlink lasers', SPIE Photonics West, January 2024: over 9,000 laser terminals "
                           "in orbit, ~100 Gbps, links up to 5,400 km; v1.0 satellites launched 2019 - May 2021 "
                           "carry none (flagged per satellite from the international designator)"},
    "ONEWEB": {"operator": "OneWeb (Eutelsat)", "isl": "none",
               "source": "SpaceNews (2018), 'OneWeb says regulatory concerns main reason it's forgoing "
                         "inter-satellite links': the first generation relays through gateways only (bent pipe)"},
    "KUIPER": {"operator": "Amazon Project Kuiper", "isl": "laser",
               "source": "Amazon, 'Project Kuiper completes successful tests of optical mesh network in low Earth "
                         "orbit', 14 December 2023: 100 Gbps optical links over ~1,000 km, on every production satellite"},
    "IRIDIUM": {"operator": "Iridium", "isl": "rf",
                "source": "Fossa et al., IEEE NAECON 1998: four Ka-band crosslinks per satellite (two in-plane, "
                          "two to adjacent co-rotating planes)"},
    "TELESAT": {"operator": "Telesat Lightspeed", "isl": "laser",
                "source": "Telesat LEO filings (SAT-PDR-20161115-00108, 2018 amendment) and SpaceNews (2018): "
                          "optical inter-satellite links"},
    "NAVSTAR": {"operator": "GPS", "isl": "none",
                "source": "GPS crosslinks carry ranging and navigation data only, no user traffic (IS-GPS-200)"},
    "GPS": {"operator": "GPS", "isl": "none",
            "source": "GPS crosslinks carry ranging and navigation data only, no user traffic (IS-GPS-200)"},
    "GSAT": {"operator": "Galileo", "isl": "none", "source": "Galileo first generation has no inter-satellite links"},
    "GALILEO": {"operator": "Galileo", "isl": "none", "source": "Galileo first generation has no inter-satellite links"},
}

#: Starlink launches up to this international designator (year, launch number) flew v1.0 satellites
#: without lasers: the Group 1 launches up to 2021-044 (26 May 2021); 2021-059 (Transporter-2, June
#: 2021) carried laser-equipped polar satellites.
_STARLINK_V10_LAST = (2021, 44)


def operator_rule(name: str) -> dict | None:
    """The operator entry of :data:`OPERATORS` whose prefix starts ``name`` (case-insensitive), or None."""
    key = str(name).strip().upper()
    for prefix, rule in OPERATORS.items():
        if key.startswith(prefix):
            return {"prefix": prefix, **rule}
    return None


def _designator(line1) -> tuple[int, int] | None:
    """(launch year, launch number) from a TLE line 1's international designator (columns 10-14)."""
    if not isinstance(line1, str) or len(line1) < 14:
        return None
    yy, num = line1[9:11].strip(), line1[11:14].strip()
    if not (yy.isdigit() and num.isdigit()):
        return None
    y = int(yy)
    return (2000 + y if y < 57 else 1900 + y, int(num))


def catalog_isl(names, line1=None) -> tuple[np.ndarray, dict]:
    """Per-satellite ``has_isl`` (1.0, 0.0 or NaN) for catalog satellites, and the attrs it implies.

    Parameters
    ----------
    names : sequence of str
        Catalog names (e.g. ``"STARLINK-1007"``, ``"ONEWEB-0012"``).
    line1 : sequence of str, optional
        TLE line 1 per satellite (for Starlink's v1.0 satellites, which carry no lasers).

    Examples
    --------
    >>> v, a = catalog_isl(["ONEWEB-0012", "ONEWEB-0013"])
    >>> v.tolist(), a["isl"]
    ([0.0, 0.0], 'none')
    """
    names = [str(n) for n in names]
    line1 = [None] * len(names) if line1 is None else list(line1)
    out = np.full(len(names), np.nan)
    kinds, sources = [], {}
    for i, (n, l1) in enumerate(zip(names, line1)):
        r = operator_rule(n)
        if r is None:
            kinds.append("unknown")
            continue
        has = r["isl"] != "none"
        if r["prefix"] == "STARLINK":
            d = _designator(l1)
            if d is not None and d <= _STARLINK_V10_LAST:
                has = False
        out[i] = 1.0 if has else 0.0
        kinds.append(r["isl"] if has else "none")
        sources[r["operator"]] = r["source"]
    return out, summarize(out, kinds, sources)


def summarize(has_isl: np.ndarray, kinds=None, sources: dict | None = None) -> dict:
    """Constellation attrs (``isl``, ``isl_source``, ``isl_satellites``) from per-satellite values."""
    v = np.asarray(has_isl, dtype=np.float64)
    known = kinds if kinds is not None else ["unknown" if np.isnan(x) else ("laser" if x else "none") for x in v]
    ks = set(known)
    kind = ks.pop() if len(ks) == 1 else "mixed"
    attrs = {"isl": kind, "isl_satellites": int(np.nansum(v == 1.0)),
             "isl_source": "; ".join(f"{k}: {s}" for k, s in (sources or {}).items()) or "not stated"}
    return attrs


def has_isl_column(table: pd.DataFrame) -> np.ndarray:
    """The ``has_isl`` column of a constellation table as float (NaN where absent or unknown)."""
    if "has_isl" not in table.columns:
        return np.full(len(table), np.nan)
    return pd.to_numeric(table["has_isl"], errors="coerce").to_numpy(np.float64)
