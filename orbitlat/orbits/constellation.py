"""The :class:`Constellation` model: satellites, their orbits and metadata.

A constellation is a table with one row per satellite. Its index in that table
is the satellite's identity in every later layer (ephemeris, visibility,
coverage, latency). Columns:

==================  =========================================================
``name``            satellite name
``norad_id``        catalog number (designed satellites get DESIGNED_ID_BASE + index)
``shell``           shell label (e.g. ``"550/53.0"`` or a preset's label)
``plane``, ``slot``  orbital plane and slot within the plane (-1 if unknown)
``epoch``           element epoch, UTC ``datetime64[ns]``
``a_km`` ...        mean elements: ``a_km``, ``ecc``, ``inc_deg``, ``raan_deg``,
                    ``argp_deg``, ``mean_anomaly_deg``
``line1, line2``    TLE lines for catalog satellites (``None`` for designed)
==================  =========================================================

Designed satellites (Walker, sun-synchronous, clusters, classical elements)
carry mean elements referred to the GCRS (J2000 mean equator and equinox, to
the precision that matters here); catalog satellites carry their TLE, whose
elements are SGP4 mean elements in TEME.

>>> from orbitlat.orbits import walker
>>> c = walker.walker_delta(56, 24, 3, 1, altitude_km=23222)
>>> c.size, c.planes
(24, 3)
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from orbitlat.constants import MU_EARTH_KM3_S2, WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["Constellation", "DEFAULT_EPOCH", "DESIGNED_ID_BASE", "ELEMENT_COLUMNS", "mean_motion_rev_day", "semi_major_axis_km"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Catalog numbers of designed satellites start here: high in the Alpha-5 range (TLEs hold up to
#: 339,999), far above today's catalog, leaving room for 70,000 designed satellites.
DESIGNED_ID_BASE = 270000

#: Default epoch of designed constellations (UTC).
DEFAULT_EPOCH = np.datetime64("2026-01-01T00:00:00", "ns")

ELEMENT_COLUMNS = ["a_km", "ecc", "inc_deg", "raan_deg", "argp_deg", "mean_anomaly_deg"]
_COLUMNS = ["name", "norad_id", "shell", "plane", "slot", "epoch", *ELEMENT_COLUMNS, "bstar", "line1", "line2"]


@accepts_units
def mean_motion_rev_day(a_km, mu_km3_s2: float = MU_EARTH_KM3_S2):
    """Two-body mean motion in revolutions per day for semi-major axis ``a_km``."""
    a = np.asarray(a_km, dtype=np.float64)
    return np.sqrt(mu_km3_s2 / a**3) * 86400.0 / (2 * np.pi)


def semi_major_axis_km(n_rev_day, mu_km3_s2: float = MU_EARTH_KM3_S2):
    """Two-body semi-major axis in km for mean motion ``n_rev_day`` (rev/day)."""
    n = np.asarray(n_rev_day, dtype=np.float64) * 2 * np.pi / 86400.0
    return np.cbrt(mu_km3_s2 / n**2)


class Constellation:
    """A set of satellites with orbits and metadata.

    Build one with the builders (:mod:`orbitlat.orbits.walker`, :mod:`orbitlat.orbits.sso`,
    :mod:`orbitlat.orbits.cluster`, :mod:`orbitlat.orbits.presets`), from TLE/OMM
    (:meth:`from_tle`, :meth:`from_omm`), classical elements
    (:meth:`from_elements`) or boinor orbits (:meth:`from_boinor`). Combine
    shells with ``+`` or :meth:`concat`.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per satellite with the columns described in the module docs.
    name : str
        A label for the whole constellation.
    attrs : dict, optional
        Provenance (preset name, source, filing), carried into results.
    """

    def __init__(self, table: pd.DataFrame, name: str = "constellation", attrs: dict | None = None):
        if len(table) == 0:
            raise OrbitlatError("a Constellation needs at least one satellite; got an empty table.")
        t = table.reset_index(drop=True).copy()
        for col in _COLUMNS:
            if col not in t.columns:
                t[col] = _default_column(col, len(t))
        t["epoch"] = pd.to_datetime(t["epoch"]).astype("datetime64[ns]")
        for col in ("plane", "slot", "norad_id"):
            t[col] = t[col].astype(np.int64)
        for col in [*ELEMENT_COLUMNS, "bstar"]:
            t[col] = t[col].astype(np.float64)
        t["shell"] = t["shell"].astype(str)
        t["name"] = t["name"].astype(str)
        self.table = t[_COLUMNS + [c for c in t.columns if c not in _COLUMNS]]
        self.name = name
        self.attrs = dict(attrs or {})
        self._satrecs = None

    def __getstate__(self) -> dict:
        """Pickle as the table, name and attrs: the sgp4 ``Satrec`` cache does not pickle.

        python-sgp4's ``Satrec`` objects (cached per satellite after the first sgp4
        propagation) cannot be pickled; a copy sent to another process (worker processes,
        a Dask cluster) rebuilds them there on first use, from the TLE lines or elements.
        """
        state = self.__dict__.copy()
        state["_satrecs"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_satrecs", None)

    # ------------------------------------------------------------ basics
    @property
    def size(self) -> int:
        """Number of satellites."""
        return len(self.table)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        shells = self.table.groupby("shell", sort=False).size()
        parts = ", ".join(f"{k}: {v}" for k, v in shells.items())
        if len(parts) > 200:
            parts = parts[:200] + " ..."
        return f"<Constellation {self.name!r}: {self.size} satellites; shells {parts}>"

    def __add__(self, other: "Constellation") -> "Constellation":
        return Constellation.concat([self, other], name=f"{self.name}+{other.name}")

    def __getitem__(self, key) -> "Constellation":
        """Select satellites by position or by name.

        ``key`` may be an integer index, a slice, a boolean mask, a list of indices,
        a satellite name (``c["ISS (ZARYA)"]``; see :meth:`select` for the matching
        rules) or a list of names (kept in the order given). Use :meth:`by_norad`
        for catalog numbers.

        Examples
        --------
        >>> from orbitlat.orbits import walker
        >>> c = walker.walker_delta(53, 6, 2, 1, altitude_km=550)
        >>> c[0].size, c[1:3].size, c[c.table["plane"] == 1].size, c[c.table["name"][2]].size
        (1, 2, 3, 1)
        """
        if isinstance(key, str):
            return self.select(names=[key])
        if isinstance(key, (list, tuple, np.ndarray, pd.Index, pd.Series)) and len(key) and all(
                isinstance(k, str) for k in key):
            return self._take(self._name_positions(list(key), ordered=True))
        if isinstance(key, pd.Series):
            key = key.to_numpy()
        if isinstance(key, (int, np.integer)):
            key = [int(key)]
        try:
            sub = self.table.iloc[key] if not isinstance(key, np.ndarray) or key.dtype != bool else self.table[key]
        except (IndexError, TypeError, ValueError) as exc:
            raise OrbitlatError(
                f"cannot select satellites with {key!r:.80} ({exc}); use an index, slice, boolean mask, list of "
                f"indices, a name or a list of names (e.g. c['{self.table['name'].iloc[0]}']), or c.by_norad(...)."
            ) from None
        if len(sub) == 0:
            raise OrbitlatError(f"the selection {key!r:.80} matches no satellite of the {self.size}.")
        return Constellation(sub, name=self.name, attrs=self.attrs)

    # ------------------------------------------------------------ selection
    def _take(self, positions) -> "Constellation":
        return Constellation(self.table.iloc[np.asarray(positions, dtype=np.int64)], name=self.name,
                             attrs=self.attrs)

    @staticmethod
    def _norm(name: str) -> str:
        return " ".join(str(name).split()).casefold()

    def _name_positions(self, names, *, ordered: bool) -> np.ndarray:
        """Row positions of satellites named ``names`` (exact match, else case/space-insensitive)."""
        import difflib

        table_names = self.table["name"].astype(str).to_numpy()
        norm = np.array([self._norm(n) for n in table_names])
        out, missing = [], []
        for n in names:
            hit = np.flatnonzero(table_names == n)
            if hit.size == 0:
                hit = np.flatnonzero(norm == self._norm(n))
            if hit.size == 0:
                missing.append(n)
            out.extend(hit.tolist())
        if missing:
            close = []
            for n in missing[:3]:
                close += difflib.get_close_matches(str(n), table_names.tolist(), n=3, cutoff=0.6)
            hint = f" Close names: {', '.join(dict.fromkeys(close))}." if close else ""
            raise OrbitlatError(
                f"no satellite named {', '.join(repr(m) for m in missing[:5])}"
                f"{' ...' if len(missing) > 5 else ''} in {self.name!r} ({self.size} satellites).{hint} "
                "Names match exactly or ignoring case and repeated spaces; use select(contains=...) for parts "
                "of names or by_norad(...) for catalog numbers."
            )
        pos = np.asarray(out, dtype=np.int64)
        return pos if ordered else np.unique(pos)

    def select(self, *, names: Any = None, norad: Any = None, contains: str | None = None, shell: Any = None,
               plane: Any = None) -> "Constellation":
        """Satellites matching every criterion given (in the constellation's order).

        Parameters
        ----------
        names : str or sequence of str, optional
            Exact names (``"ISS (ZARYA)"``); a name matches ignoring case and repeated
            or trailing spaces when no exact match exists. All names must exist.
        norad : int or sequence of int, optional
            Catalog numbers (all must exist; see :meth:`by_norad`).
        contains : str, optional
            Case-insensitive part of the name (``"STARLINK"``).
        shell : str or sequence of str, optional
            Shell labels (``self.shells`` lists them).
        plane : int or sequence of int, optional
            Orbital plane numbers.

        Returns
        -------
        Constellation

        Raises
        ------
        OrbitlatError
            An unknown name or catalog number (with close matches), or nothing selected.

        Examples
        --------
        >>> from orbitlat.orbits import walker
        >>> c = walker.walker_delta(53, 6, 2, 1, altitude_km=550)
        >>> c.select(plane=1).size, c.select(norad=c.table["norad_id"][:2]).size
        (3, 2)
        """
        keep = np.ones(self.size, dtype=bool)
        if names is not None:
            names = [names] if isinstance(names, str) else list(names)
            m = np.zeros(self.size, dtype=bool)
            m[self._name_positions(names, ordered=False)] = True
            keep &= m
        if norad is not None:
            m = np.zeros(self.size, dtype=bool)
            m[self._norad_positions(norad)] = True
            keep &= m
        if contains is not None:
            keep &= self.table["name"].astype(str).str.casefold().str.contains(str(contains).casefold(),
                                                                              regex=False).to_numpy()
        if shell is not None:
            shells = [shell] if isinstance(shell, str) else [str(s) for s in shell]
            unknown = sorted(set(shells) - set(self.table["shell"]))
            if unknown:
                raise OrbitlatError(f"unknown shell(s) {unknown}; this constellation has "
                                    f"{sorted(set(self.table['shell']))}.")
            keep &= self.table["shell"].isin(shells).to_numpy()
        if plane is not None:
            planes = np.atleast_1d(np.asarray(plane, dtype=np.int64))
            keep &= np.isin(self.table["plane"].to_numpy(), planes)
        if not keep.any():
            raise OrbitlatError("the criteria given select no satellite (they are combined with AND).")
        return self._take(np.flatnonzero(keep))

    def _norad_positions(self, norad) -> np.ndarray:
        want = np.atleast_1d(np.asarray(norad))
        if want.dtype.kind not in "iu":
            try:
                want = want.astype(np.int64)
            except (TypeError, ValueError):
                raise OrbitlatError(f"catalog numbers must be integers (e.g. 25544); got {norad!r:.80}.") from None
        ids = self.table["norad_id"].to_numpy()
        out, missing = [], []
        for n in want.tolist():
            hit = np.flatnonzero(ids == n)
            (out.extend(hit.tolist()) if hit.size else missing.append(n))
        if missing:
            raise OrbitlatError(
                f"catalog number(s) {missing[:5]}{' ...' if len(missing) > 5 else ''} not in {self.name!r} "
                f"(its numbers run {ids.min()}..{ids.max()}); check the catalog or select by name."
            )
        return np.asarray(out, dtype=np.int64)

    def by_norad(self, norad: Any) -> "Constellation":
        """Satellites by catalog (NORAD) number, in the order given.

        Examples
        --------
        >>> from orbitlat.orbits import walker
        >>> c = walker.walker_delta(53, 6, 2, 1, altitude_km=550)
        >>> first = int(c.table["norad_id"][0])
        >>> c.by_norad([first + 2, first]).table["norad_id"].tolist() == [first + 2, first]
        True
        """
        return self._take(self._norad_positions(norad))

    @property
    def is_catalog(self) -> np.ndarray:
        """Boolean per satellite: True where the orbit comes from a TLE/OMM (SGP4 elements)."""
        return self.table["line1"].notna().to_numpy() & (self.table["line1"].astype(str) != "None")

    def days_from_epoch(self, times) -> np.ndarray:
        """Per catalog (TLE/OMM) satellite, the largest distance in days from its epoch to ``times``.

        Parameters
        ----------
        times : TimeGrid or array of datetime64
            The instants the satellites are propagated to.

        Returns
        -------
        numpy.ndarray
            float64 days, one per satellite with ``is_catalog`` True (designed satellites have no
            epoch limit and are left out).
        """
        utc = np.asarray(getattr(times, "utc", times), dtype="datetime64[ns]")
        ep = self.table["epoch"].to_numpy("datetime64[ns]")[self.is_catalog]
        if ep.size == 0 or utc.size == 0:
            return np.zeros(ep.size)
        lo = (utc.min() - ep).astype(np.int64) * 1e-9 / 86400.0
        hi = (utc.max() - ep).astype(np.int64) * 1e-9 / 86400.0
        return np.maximum(np.abs(lo), np.abs(hi))

    @property
    def planes(self) -> int:
        """Number of distinct (shell, plane) pairs with a known plane."""
        t = self.table[self.table["plane"] >= 0]
        return int(t.groupby(["shell", "plane"]).ngroups)

    @property
    def shells(self) -> pd.DataFrame:
        """One row per shell: count, mean altitude and inclination, planes."""
        t = self.table.assign(altitude_km=self.table["a_km"] - WGS84_A_KM)
        g = t.groupby("shell", sort=False)
        return pd.DataFrame({
            "count": g.size(),
            "altitude_km": g["altitude_km"].mean(),
            "inc_deg": g["inc_deg"].mean(),
            "planes": g["plane"].apply(lambda p: int(p[p >= 0].nunique())),
        })

    def element_arrays(self) -> dict[str, np.ndarray]:
        """Mean elements as float64 arrays (angles in radians), plus ``epoch`` datetime64."""
        t = self.table
        return {
            "a_km": t["a_km"].to_numpy(np.float64),
            "ecc": t["ecc"].to_numpy(np.float64),
            "inc_rad": np.radians(t["inc_deg"].to_numpy(np.float64)),
            "raan_rad": np.radians(t["raan_deg"].to_numpy(np.float64)),
            "argp_rad": np.radians(t["argp_deg"].to_numpy(np.float64)),
            "mean_anomaly_rad": np.radians(t["mean_anomaly_deg"].to_numpy(np.float64)),
            "epoch": t["epoch"].to_numpy("datetime64[ns]"),
        }

    def metadata_coords(self) -> dict[str, tuple[str, np.ndarray]]:
        """Per-satellite coordinates for labelled results (dim ``sat``)."""
        t = self.table
        return {
            "name": ("sat", t["name"].to_numpy(str)),
            "norad_id": ("sat", t["norad_id"].to_numpy(np.int64)),
            "shell": ("sat", t["shell"].to_numpy(str)),
            "plane": ("sat", t["plane"].to_numpy(np.int64)),
            "slot": ("sat", t["slot"].to_numpy(np.int64)),
            **({"has_isl": ("sat", t["has_isl"].to_numpy(np.float64))} if "has_isl" in t.columns else {}),
        }

    # ------------------------------------------------------------ builders
    @classmethod
    def concat(cls, parts: Sequence["Constellation"], name: str | None = None) -> "Constellation":
        """Join constellations (e.g. shells) keeping each satellite's shell label.

        Designed satellites are renumbered so catalog numbers stay unique.
        """
        parts = list(parts)
        if not parts:
            raise OrbitlatError("concat needs at least one Constellation; got an empty list.")
        for p in parts:
            if not isinstance(p, Constellation):
                raise OrbitlatError(f"concat takes Constellation objects; got {type(p).__name__}.")
        table = pd.concat([p.table for p in parts], ignore_index=True)
        designed = ~(table["line1"].notna() & (table["line1"].astype(str) != "None"))
        table.loc[designed, "norad_id"] = DESIGNED_ID_BASE + np.flatnonzero(designed.to_numpy())
        dup = table["norad_id"].duplicated(keep=False)
        if dup.any():
            ids = sorted(set(table.loc[dup, "norad_id"].tolist()))[:10]
            raise OrbitlatError(
                f"concat: catalog numbers appear in more than one part: {ids}; "
                "drop the duplicates before joining (e.g. c[~mask])."
            )
        attrs = {"parts": [p.name for p in parts]}
        for p in parts:
            for k, v in p.attrs.items():
                attrs.setdefault(k, v)
        if "has_isl" in table.columns:  # what the joined satellites carry, from every part (not the first's)
            from orbitlat.orbits.capabilities import summarize

            kinds = [p.attrs.get("isl", "unknown") for p in parts for _ in range(p.size)]
            sources = {p.name: p.attrs["isl_source"] for p in parts if "isl_source" in p.attrs}
            attrs.update(summarize(pd.to_numeric(table["has_isl"], errors="coerce").to_numpy(np.float64), kinds,
                                   sources))
        return cls(table, name=name or "+".join(p.name for p in parts), attrs=attrs)

    @classmethod
    @accepts_units
    def from_elements(
        cls,
        *,
        a_km=None,
        altitude_km=None,
        ecc=0.0,
        inc_deg,
        raan_deg=0.0,
        argp_deg=0.0,
        mean_anomaly_deg=None,
        true_anomaly_deg=None,
        epoch=None,
        names: Sequence[str] | None = None,
        shell: str | Sequence[str] | None = None,
        plane=-1,
        slot=-1,
        name: str = "elements",
        attrs: dict | None = None,
    ) -> "Constellation":
        """Satellites from classical (mean) elements, as arrays or astropy Quantities.

        Give the size of the orbit as ``a_km`` or ``altitude_km`` (above the WGS84
        equatorial radius), and the phase as ``mean_anomaly_deg`` or
        ``true_anomaly_deg``. Angles accept astropy ``Quantity`` in any angle unit,
        lengths any length unit. Arrays broadcast together.

        >>> import astropy.units as u
        >>> c = Constellation.from_elements(altitude_km=[550, 560] * u.km, inc_deg=53 * u.deg)
        >>> c.size
        2
        """
        from orbitlat.orbits.walker import _check_range

        if (a_km is None) == (altitude_km is None):
            raise OrbitlatError("give exactly one of a_km= or altitude_km= (the orbit's size).")
        if mean_anomaly_deg is not None and true_anomaly_deg is not None:
            raise OrbitlatError("give mean_anomaly_deg= or true_anomaly_deg=, not both.")
        size = _q(a_km, "km", "a_km") if a_km is not None else _q(altitude_km, "km", "altitude_km") + WGS84_A_KM
        ecc_v = _q(ecc, "", "ecc")
        inc = _q(inc_deg, "deg", "inc_deg")
        raan = _q(raan_deg, "deg", "raan_deg")
        argp = _q(argp_deg, "deg", "argp_deg")
        if true_anomaly_deg is not None:
            nu = np.radians(_q(true_anomaly_deg, "deg", "true_anomaly_deg"))
            ecc_b = np.broadcast_to(ecc_v, np.broadcast(nu, ecc_v).shape)
            E = 2 * np.arctan2(np.sqrt(1 - ecc_b) * np.sin(nu / 2), np.sqrt(1 + ecc_b) * np.cos(nu / 2))
            ma = np.degrees(E - ecc_b * np.sin(E))
        else:
            ma = _q(0.0 if mean_anomaly_deg is None else mean_anomaly_deg, "deg", "mean_anomaly_deg")
        arrays = np.broadcast_arrays(size, ecc_v, inc, raan, argp, ma, np.asarray(plane), np.asarray(slot))
        size, ecc_v, inc, raan, argp, ma, plane_a, slot_a = (np.atleast_1d(x).ravel() for x in arrays)
        n = size.size
        _check_range("inclination", inc, 0.0, 180.0, "deg")
        _check_range("eccentricity", ecc_v, 0.0, 0.999999, "")
        perigee = size * (1 - ecc_v) - WGS84_A_KM
        if np.any(perigee <= 0):
            k = int(np.argmax(perigee <= 0))
            raise OrbitlatError(
                f"satellite {k}: perigee altitude {perigee[k]:.1f} km is not above the Earth "
                f"(a={size[k]:.1f} km, e={ecc_v[k]}); give a positive altitude / larger a_km."
            )
        ep = DEFAULT_EPOCH if epoch is None else epoch
        from orbitlat.time import to_datetime64

        ep64 = to_datetime64(ep, "epoch")
        if ep64.size not in (1, n):
            raise OrbitlatError(f"epoch has {ep64.size} values for {n} satellites; pass one or {n}.")
        if names is None:
            names = [f"{name}-{k}" for k in range(n)]
        elif len(names) != n:
            raise OrbitlatError(f"names has {len(names)} entries for {n} satellites.")
        if shell is None:
            shell_arr = np.array([name] * n)
        elif isinstance(shell, str):
            shell_arr = np.array([shell] * n)
        else:
            shell_arr = np.asarray(shell, dtype=str)
        table = pd.DataFrame({
            "name": list(names),
            "norad_id": DESIGNED_ID_BASE + np.arange(n),
            "shell": shell_arr,
            "plane": plane_a.astype(np.int64),
            "slot": slot_a.astype(np.int64),
            "epoch": np.broadcast_to(ep64, (n,)),
            "a_km": size,
            "ecc": ecc_v,
            "inc_deg": inc,
            "raan_deg": np.mod(raan, 360.0),
            "argp_deg": np.mod(argp, 360.0),
            "mean_anomaly_deg": np.mod(ma, 360.0),
            "bstar": 0.0,
            "line1": None,
            "line2": None,
        })
        return cls(table, name=name, attrs=attrs)

    @classmethod
    def from_tle(cls, src: Any, *, name: str | None = None, **kwargs) -> "Constellation":
        """Satellites from TLE/3LE text, a file path or lines (CelesTrak format).

        Checksums and columns are verified; see :func:`orbitlat.orbits.tle.read_tle`.
        """
        from orbitlat.orbits import tle as io

        df = io.read_tle(src, **kwargs)
        return cls._from_catalog_df(df, name or _source_name(src, "tle"))

    @classmethod
    def from_omm(cls, src: Any, *, fmt: str | None = None, name: str | None = None, **kwargs) -> "Constellation":
        """Satellites from OMM (CelesTrak JSON or CSV); see :func:`orbitlat.orbits.omm.read_omm`."""
        from orbitlat.orbits.omm import read_omm

        df = read_omm(src, fmt=fmt, **kwargs)
        return cls._from_catalog_df(df, name or _source_name(src, "omm"))

    @classmethod
    def from_file(cls, src: Any, *, name: str | None = None, **kwargs) -> "Constellation":
        """Satellites from an element-set file or text in any format orbitlat reads: TLE/3LE or OMM
        JSON/CSV, told apart by the content (:func:`orbitlat.orbits.omm.read_elements`)."""
        from orbitlat.orbits.omm import read_elements

        df = read_elements(src, **kwargs)
        return cls._from_catalog_df(df, name or _source_name(src, "tle"))

    @classmethod
    def _from_catalog_df(cls, df: pd.DataFrame, name: str) -> "Constellation":
        from sgp4.api import Satrec

        # Mean elements straight from the parsed Satrec (Kozai->Brouwer mean motion, WGS72 radius)
        a_km = np.empty(len(df))
        for k, (l1, l2) in enumerate(zip(df["line1"], df["line2"])):
            s = Satrec.twoline2rv(l1, l2)
            a_km[k] = s.a * s.radiusearthkm
        table = pd.DataFrame({
            "name": df["name"].to_numpy(),
            "norad_id": df["norad_id"].to_numpy(np.int64),
            "shell": "",
            "plane": -1,
            "slot": -1,
            "epoch": df["epoch"].to_numpy("datetime64[ns]"),
            "a_km": a_km,
            "ecc": df["ecc"].to_numpy(np.float64),
            "inc_deg": df["inc_deg"].to_numpy(np.float64),
            "raan_deg": df["raan_deg"].to_numpy(np.float64),
            "argp_deg": df["argp_deg"].to_numpy(np.float64),
            "mean_anomaly_deg": df["mean_anomaly_deg"].to_numpy(np.float64),
            "bstar": df["bstar"].to_numpy(np.float64),
            "line1": df["line1"].to_numpy(),
            "line2": df["line2"].to_numpy(),
        })
        table["shell"] = [f"{round(a - WGS84_A_KM, -1):.0f}/{i:.1f}" for a, i in zip(a_km, table["inc_deg"])]
        from orbitlat.orbits.capabilities import catalog_isl

        table["has_isl"], isl_attrs = catalog_isl(table["name"], table["line1"])  # by operator (name)
        attrs = {"source": df.attrs.get("source", name), **isl_attrs}
        if len(df):
            attrs["tle_epoch_min"] = str(table["epoch"].min())
            attrs["tle_epoch_max"] = str(table["epoch"].max())
        return cls(table, name=name, attrs=attrs)

    @classmethod
    def from_boinor(cls, orbits: Any, *, names: Sequence[str] | None = None, name: str = "boinor") -> "Constellation":
        """Satellites from boinor (or poliastro/hapsira) ``Orbit`` objects; see :mod:`orbitlat.orbits.interop`."""
        from orbitlat.orbits.interop import from_orbits

        return from_orbits(orbits, names=names, name=name)

    def to_boinor(self, index: int = 0):
        """A boinor ``Orbit`` for satellite ``index`` (GCRS): designed satellites from their elements, TLE
        satellites from their SGP4 state at the TLE epoch; see :func:`orbitlat.orbits.interop.to_orbit`."""
        from orbitlat.orbits.interop import to_orbit

        return to_orbit(self, index)

    def to_tle(self, path=None) -> str:
        """Write the satellites as 3LE text (designed satellites get generated TLEs)."""
        from orbitlat.orbits import tle as io

        return io.write_tle(self.tle_table(), path)

    def tle_table(self) -> pd.DataFrame:
        """name/line1/line2 for every satellite; designed ones get TLEs made from their elements.

        A designed satellite's TLE holds exactly what the sgp4 backend propagates: its GCRS mean
        elements rotated into TEME of its epoch, and the Kozai mean motion whose un-Kozai'd value is
        the satellite's mean motion (see :func:`orbitlat.orbits.propagation._sgp4init`), so propagating the
        exported TLE reproduces ``propagate(backend="sgp4")`` to TLE rounding.
        """
        from orbitlat.orbits import tle as io
        from orbitlat.orbits.propagation import _satrecs

        t = self.table.copy()
        missing = ~self.is_catalog
        if missing.any():
            if (t.loc[missing, "norad_id"] > 339999).any():
                raise OrbitlatError(
                    "catalog numbers above 339,999 cannot be written to a TLE (Alpha-5 limit); renumber "
                    "the satellites (table['norad_id']) before exporting."
                )
            recs = _satrecs(self)
            idx = np.flatnonzero(missing)
            rad = 180.0 / np.pi
            made = io.make_tle_records(pd.DataFrame({
                "name": t["name"].to_numpy()[idx],
                "norad_id": t["norad_id"].to_numpy()[idx],
                "epoch": t["epoch"].to_numpy()[idx],
                "mean_motion_rev_day": [recs[k].no_kozai * 1440.0 / (2 * np.pi) for k in idx],
                "ecc": [recs[k].ecco for k in idx],
                "inc_deg": [recs[k].inclo * rad for k in idx],
                "raan_deg": [np.mod(recs[k].nodeo * rad, 360.0) for k in idx],
                "argp_deg": [np.mod(recs[k].argpo * rad, 360.0) for k in idx],
                "mean_anomaly_deg": [np.mod(recs[k].mo * rad, 360.0) for k in idx],
                "bstar": t["bstar"].to_numpy()[idx],
            }))
            t.loc[missing, "line1"] = made["line1"].to_numpy()
            t.loc[missing, "line2"] = made["line2"].to_numpy()
        return t[["name", "line1", "line2", "norad_id"]]

    def infer_shells(self, **kwargs) -> "Constellation":
        """Group a catalog into shells, planes and slots; see :func:`orbitlat.orbits.inference.infer_shells`."""
        from orbitlat.orbits.inference import infer_shells

        return infer_shells(self, **kwargs)

    # ------------------------------------------------------------ propagation
    def propagate(self, times=None, *, start=None, duration=None, step=None, backend: str = "auto",
                  frame: str = "ITRS", **kwargs):
        """Positions and velocities over a time grid; see :func:`orbitlat.orbits.propagation.propagate`."""
        from orbitlat.orbits.propagation import propagate

        return propagate(self, times, start=start, duration=duration, step=step, backend=backend,
                         frame=frame, **kwargs)


def _default_column(col: str, n: int):
    if col in ("plane", "slot"):
        return -1
    if col == "norad_id":
        return DESIGNED_ID_BASE + np.arange(n)
    if col in ("line1", "line2"):
        return None
    if col == "bstar":
        return 0.0
    if col == "shell":
        return ""
    if col == "epoch":
        return DEFAULT_EPOCH
    if col == "name":
        return [f"sat-{k}" for k in range(n)]
    raise OrbitlatError(f"the satellite table is missing the required column {col!r}.")


def _source_name(src: Any, default: str) -> str:
    from pathlib import Path

    if isinstance(src, Path) or (isinstance(src, str) and "\n" not in src and len(src) < 4096):
        return Path(str(src)).stem
    return default


def _q(value, unit: str, name: str) -> np.ndarray:
    """Convert a value that may be an astropy Quantity to a finite float64 array in ``unit``."""
    from orbitlat.units import to_float_array

    arr = to_float_array(value, unit or "", name)
    if not np.all(np.isfinite(arr)):
        raise OrbitlatError(f"{name} contains NaN or infinite values; give finite numbers.")
    return arr
