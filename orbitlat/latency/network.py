"""Network model per time step: satellites, ground sites and orbital data centres, and their links.

Nodes
-----
*Core* nodes are in space and can relay traffic: the constellation's satellites
(core index ``0..N-1``, the satellite's index in the constellation) and the
orbital data centres (core index ``N..N+K-1``). An orbital data centre is a
compact cluster (e.g. :func:`orbitlat.orbits.cluster.suncatcher`) represented by one
node at its members' centroid: the members are within about 1 km of each other
(under 7 µs of light time), so the cluster's internal links are not modelled.

Ground sites (users, gateways, data centres) are *endpoints*: they attach to the
core through ground–satellite links (GSL) and never relay radio traffic from one
satellite to another (as in Hypatia, Kassing et al., IMC 2020). A terrestrial data
centre reaches the core through its gateways: each gateway's GSL plus its fiber
backhaul to the data centre is one *access* link (see :mod:`orbitlat.latency`).

Links
-----
- **GSL** (ground–satellite): by elevation mask (default; per-site masks) or by
  maximum slant range (Hypatia's rule), from :func:`orbitlat.visibility.engine.visible_pairs`.
- **ISL "+Grid"** (:func:`plus_grid`): each satellite links to its two neighbours in
  its plane and to the satellites at the same slot (plus an optional slot shift)
  in the two adjacent planes of its shell. Links between counter-rotating planes
  (the seam of a polar "star" constellation, between its first and last plane)
  are dropped by default. Plane/slot labels come from the constellation (Walker
  builders fill them) or from shell inference for TLE catalogs.
- **ISL nearest-k** (:func:`nearest_k_links`): per step, each satellite links to
  its ``k`` nearest satellites in range (KD-tree); the union is used, so a
  satellite can end with more than ``k`` links.
- **Bent pipe**: no ISLs (``isl="none"``).
- **Which satellites carry ISLs**: the constellation's ``has_isl`` column
  (:mod:`orbitlat.orbits.capabilities`: presets cite their source, catalogs go by operator). ISL
  routing over a constellation whose satellites carry none (OneWeb) is refused with an
  :class:`~orbitlat.errors.OrbitlatError` unless ``force_isl=True`` (a what-if study); satellites
  without ISLs in a mixed constellation (Starlink's v1.0) get none, and no orbital-data-centre laser.
- **Range rule**: every ISL must clear the grazing altitude (line of sight) and, by default, be no
  longer than :data:`DEFAULT_ISL_MAX_KM` (5,400 km, the longest laser links Starlink reports):
  +Grid topologies inferred from a catalog otherwise pair satellites across the globe (OneWeb's
  inferred +Grid holds links up to about 15,000 km, of which those up to about 7,900 km clear the
  Earth at 1,200 km). ``isl_max_km=None`` keeps line of sight only (Hypatia's rule).
- **Orbital data centre** laser links (:func:`odc_links`): to every satellite in
  line of sight within ``odc_laser_range_km``; and GSLs to ground sites in view.

Every space-to-space link must clear the Earth by a grazing altitude (80 km by
default, Hypatia's choice to avoid weather): :func:`line_of_sight` tests the
minimum distance of the segment from the Earth's centre. (It was written here before
``orbitlat.visibility.isl_line_of_sight`` existed; it is the same segment–sphere test,
cross-checked in the test suite, and also takes the sphere radius, which Hypatia's
WGS72 setup needs.) For two
satellites at the same altitude ``h`` the test is Hypatia's maximum ISL length
``2·sqrt((R+h)² − (R+80 km)²)``.

>>> from orbitlat.orbits import walker
>>> c = walker.walker_delta(53, 1584, 72, 22, altitude_km=550)
>>> plus_grid(c).shape  # 2 links per satellite: 2 * 72 * 22
(3168, 2)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from orbitlat.constants import C_KM_S, WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units, convert_fields

__all__ = ["plus_grid", "nearest_k_links", "odc_links", "line_of_sight", "max_isl_length_km", "Network",
           "NetworkStep", "orbit_normals", "DEFAULT_ISL_MAX_KM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: Default grazing altitude for space-to-space links (Hypatia: ISLs stay above 80 km), km.
GRAZING_ALTITUDE_KM = 80.0

#: Default maximum ISL length, km: the longest Starlink laser links reported (SpaceX, SPIE Photonics
#: West, January 2024: "links up to 5,400 km"; docs/references.md). ``Network(isl_max_km="auto")``.
DEFAULT_ISL_MAX_KM = 5400.0


# ---------------------------------------------------------------------------
# geometry helpers
# ---------------------------------------------------------------------------
@accepts_units
def line_of_sight(a_xyz_km, b_xyz_km, *, grazing_altitude_km: float = GRAZING_ALTITUDE_KM,
                  radius_km: float = WGS84_A_KM) -> np.ndarray:
    """True where the segment a–b stays above ``radius_km + grazing_altitude_km`` from the Earth's centre.

    Spherical Earth of radius ``radius_km`` (the WGS84 equatorial radius by
    default: the conservative choice, since the ellipsoid lies inside it).

    >>> r = WGS84_A_KM + 550.0
    >>> bool(line_of_sight([r, 0, 0], [0, r, 0])[()])  # 90° apart at 550 km: dips to ~ -1,700 km
    False
    """
    a = np.asarray(a_xyz_km, dtype=np.float64)
    b = np.asarray(b_xyz_km, dtype=np.float64)
    d = b - a
    dd = np.einsum("...i,...i->...", d, d)
    t = np.clip(-np.einsum("...i,...i->...", a, d) / np.where(dd > 0, dd, 1.0), 0.0, 1.0)
    p = a + t[..., None] * d
    return np.einsum("...i,...i->...", p, p) >= (radius_km + grazing_altitude_km) ** 2


@accepts_units
def max_isl_length_km(altitude_km, *, grazing_altitude_km: float = GRAZING_ALTITUDE_KM,
                      radius_km: float = WGS84_A_KM):
    """Longest link between two satellites at ``altitude_km`` that clears the grazing altitude.

    ``2·sqrt((R+h)² − (R+h_graze)²)`` (Hypatia's ISL limit).

    >>> round(float(max_isl_length_km(550.0, radius_km=6378.135)), 1)  # Hypatia Starlink-550
    5016.6
    """
    h = np.asarray(altitude_km, dtype=np.float64)
    return 2.0 * np.sqrt(np.maximum((radius_km + h) ** 2 - (radius_km + grazing_altitude_km) ** 2, 0.0))


@accepts_units
def orbit_normals(inc_deg, raan_deg) -> np.ndarray:
    """Unit orbit normals (angular-momentum directions) from inclination and RAAN, shape (..., 3)."""
    i = np.radians(np.asarray(inc_deg, dtype=np.float64))
    o = np.radians(np.asarray(raan_deg, dtype=np.float64))
    return np.stack([np.sin(i) * np.sin(o), -np.sin(i) * np.cos(o), np.cos(i)], axis=-1)


def _unique_pairs(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    pairs = np.stack([lo[keep], hi[keep]], axis=1).astype(np.int64)
    if pairs.size == 0:
        return np.empty((0, 2), np.int64)
    return np.unique(pairs, axis=0)


# ---------------------------------------------------------------------------
# ISL topologies
# ---------------------------------------------------------------------------
def _labels(constellation):
    """(shell, plane, slot, inc, raan, arglat) arrays; shells/planes inferred for catalogs without labels.

    Angles are taken at one common epoch (:func:`orbitlat.orbits.inference.angles_at_epoch`) when the
    satellites' element epochs differ, since the node and the argument of latitude drift by
    degrees per day.
    """
    import warnings

    t = constellation.table
    c = constellation
    if (t["plane"] < 0).any() or (t["slot"] < 0).any():
        try:
            from orbitlat.orbits.inference import infer_shells
        except ImportError:
            raise OrbitlatError(
                f"{int((t['plane'] < 0).sum())} satellites have no plane/slot labels and orbitlat.orbits.inference "
                "is not available to infer them; build the constellation with the Walker builders (which "
                "label planes and slots) or fill the table's 'plane' and 'slot' columns."
            ) from None
        c = infer_shells(constellation)
        t = c.table
        n_bad = int(((t["plane"] < 0) | (t["slot"] < 0)).sum())
        if n_bad:
            warnings.warn(
                f"{n_bad} of {len(t)} satellites belong to no inferred plane (raising or lowering orbit, "
                "deorbiting, or stray); they get no +Grid ISLs (they can still serve ground links).",
                UserWarning, stacklevel=3)
    epochs = t["epoch"].to_numpy("datetime64[ns]")
    if epochs.size and (epochs != epochs[0]).any():
        from orbitlat.orbits.inference import angles_at_epoch

        ang = angles_at_epoch(c)
        raan, u = ang["raan_deg"].to_numpy(np.float64), ang["arglat_deg"].to_numpy(np.float64)
    else:
        raan = t["raan_deg"].to_numpy(np.float64)
        u = np.mod(t["argp_deg"].to_numpy(np.float64) + t["mean_anomaly_deg"].to_numpy(np.float64), 360.0)
    return (t["shell"].astype(str).to_numpy(), t["plane"].to_numpy(np.int64), t["slot"].to_numpy(np.int64),
            t["inc_deg"].to_numpy(np.float64), raan, u)


def plus_grid(constellation, *, shift: int = 0, drop_seam: bool = True) -> np.ndarray:
    """"+Grid" ISLs: two in-plane neighbours and the two adjacent planes' satellites at the same slot.

    Within each shell, satellite (plane ``p``, slot ``s``) links to (``p``, ``s+1 mod S``)
    and to (``p+1 mod P``, ``s+shift mod S``): ``2·P·S`` links for a regular shell of
    ``P`` planes of ``S`` satellites, including the wrap-around between the last and
    first plane (Hypatia's "+Grid", ``isl_shift``). Shells whose planes have unequal
    sizes (inferred from a catalog) link in-plane neighbours in slot order and each
    satellite to the nearest satellite, by argument of latitude, of the next plane.

    Parameters
    ----------
    constellation : Constellation
        With ``shell``/``plane``/``slot`` labels (Walker builders fill them; for TLE
        catalogs they are inferred with ``orbitlat.orbits.inference.infer_shells``).
    shift : int
        Inter-plane slot shift (regular shells only).
    drop_seam : bool
        Drop inter-plane links between counter-rotating planes (orbit normals more
        than 90° apart): the seam of a Walker star constellation between its first
        and last plane. Walker delta shells have no such links.

    Returns
    -------
    ndarray of int64, shape (E, 2)
        Satellite index pairs (``i < j``), unique.
    """
    shell, plane, slot, inc, raan, arglat = _labels(constellation)
    try:
        shift = int(shift)
    except (TypeError, ValueError):
        raise OrbitlatError(f"shift={shift!r} must be a whole number of slots.") from None
    a_all, b_all = [], []
    idx_all = np.arange(shell.size)
    labelled = (plane >= 0) & (slot >= 0)
    for sh in np.unique(shell[labelled]):
        m = (shell == sh) & labelled
        idx, pl, sl, u = idx_all[m], plane[m], slot[m], arglat[m]
        planes = np.unique(pl)
        P = planes.size
        counts = np.array([(pl == p).sum() for p in planes])
        S = int(counts[0])
        regular = (counts == S).all() and all(np.array_equal(np.sort(sl[pl == p]), np.arange(S)) for p in planes)
        if regular:
            pi = np.searchsorted(planes, pl)  # plane rank 0..P-1
            lookup = np.full((P, S), -1, np.int64)
            lookup[pi, sl] = idx
            if S >= 2:
                a_all.append(lookup[pi, sl])
                b_all.append(lookup[pi, (sl + 1) % S])
            if P >= 2:
                a_all.append(lookup[pi, sl])
                b_all.append(lookup[(pi + 1) % P, (sl + shift) % S])
        else:
            order = np.lexsort((sl, pl))
            idx, pl, u = idx[order], pl[order], u[order]
            members = [idx[pl == p] for p in planes]
            uu = [u[pl == p] for p in planes]
            for k, mem in enumerate(members):
                if mem.size >= 2:
                    a_all.append(mem)
                    b_all.append(np.roll(mem, -1))
                if P >= 2:
                    nxt, un = members[(k + 1) % P], uu[(k + 1) % P]
                    du = np.abs(((uu[k][:, None] - un[None, :]) + 180.0) % 360.0 - 180.0)
                    a_all.append(mem)
                    b_all.append(nxt[np.argmin(du, axis=1)])
    if not a_all:
        return np.empty((0, 2), np.int64)
    a = np.concatenate(a_all)
    b = np.concatenate(b_all)
    if drop_seam:
        n = orbit_normals(inc, raan)
        co = np.einsum("ij,ij->i", n[a], n[b]) > 0
        a, b = a[co], b[co]
    return _unique_pairs(a, b)


@accepts_units
def nearest_k_links(sat_xyz_km, k: int = 4, *, max_range_km: float = 5000.0,
                    grazing_altitude_km: float = GRAZING_ALTITUDE_KM) -> np.ndarray:
    """Laser links to each satellite's ``k`` nearest satellites within ``max_range_km`` and line of sight.

    Parameters
    ----------
    sat_xyz_km : (n, 3) array
        Positions at one instant (any Earth-centred frame); NaN rows are ignored.
    k : int
        Links per satellite (the union of everyone's choices is returned).
    max_range_km : float
        Laser range.

    Returns
    -------
    ndarray of int64, shape (E, 2)
    """
    from scipy.spatial import cKDTree

    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise OrbitlatError(f"k={k!r} must be a whole number of links per satellite >= 1.")
    if not max_range_km > 0:
        raise OrbitlatError(f"max_range_km={max_range_km!r} must be > 0 km.")
    xyz = np.asarray(sat_xyz_km, dtype=np.float64).reshape(-1, 3)
    ok = np.flatnonzero(np.isfinite(xyz).all(axis=1))
    if ok.size < 2:
        return np.empty((0, 2), np.int64)
    kk = min(int(k) + 1, ok.size)
    tree = cKDTree(xyz[ok])
    dist, nb = tree.query(xyz[ok], k=kk, distance_upper_bound=max_range_km)
    src = np.repeat(np.arange(ok.size), kk)
    nb = nb.ravel()
    good = np.isfinite(dist.ravel()) & (nb < ok.size)
    a, b = ok[src[good]], ok[nb[good]]
    pairs = _unique_pairs(a, b)
    if pairs.size:
        los = line_of_sight(xyz[pairs[:, 0]], xyz[pairs[:, 1]], grazing_altitude_km=grazing_altitude_km)
        pairs = pairs[los]
    return pairs


@accepts_units
def odc_links(odc_xyz_km, sat_xyz_km, *, max_range_km: float = 5000.0,
              grazing_altitude_km: float = GRAZING_ALTITUDE_KM, max_links: int | None = None):
    """Laser links from orbital data centres to the satellites in line of sight within range.

    Returns
    -------
    (odc, sat, length_km) : three 1-D arrays
        ``max_links`` keeps only each data centre's nearest satellites.
    """
    from scipy.spatial import cKDTree

    odc = np.asarray(odc_xyz_km, dtype=np.float64).reshape(-1, 3)
    sat = np.asarray(sat_xyz_km, dtype=np.float64).reshape(-1, 3)
    ok = np.flatnonzero(np.isfinite(sat).all(axis=1))
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    if ok.size == 0 or odc.shape[0] == 0:
        return empty
    tree = cKDTree(sat[ok])
    res = tree.query_ball_point(odc, r=max_range_km)
    o = np.repeat(np.arange(odc.shape[0]), [len(r) for r in res])
    if o.size == 0:
        return empty
    s = ok[np.concatenate([np.asarray(r, dtype=np.int64) for r in res])]
    d = np.linalg.norm(sat[s] - odc[o], axis=1)
    keep = line_of_sight(odc[o], sat[s], grazing_altitude_km=grazing_altitude_km) & (d > 0)
    o, s, d = o[keep], s[keep], d[keep]
    if max_links is not None and o.size:
        order = np.lexsort((d, o))
        o, s, d = o[order], s[order], d[order]
        rank = np.arange(o.size) - np.searchsorted(o, o)
        keep = rank < int(max_links)
        o, s, d = o[keep], s[keep], d[keep]
    return o, s, d


# ---------------------------------------------------------------------------
# the network
# ---------------------------------------------------------------------------
@dataclass
class NetworkStep:
    """The network at one instant: core node positions and space links.

    Attributes
    ----------
    core_xyz_km : (n_core, 3) array
        ITRS positions: satellites ``0..n_sat-1`` then orbital data centres.
    link_a, link_b : int arrays
        Space-link end points (core indices), each undirected link once.
    link_km : float array
        Link lengths, km.
    link_kind : int8 array
        0 = ISL, 1 = orbital-data-centre laser link.
    """

    n_sat: int
    n_odc: int
    core_xyz_km: np.ndarray
    link_a: np.ndarray
    link_b: np.ndarray
    link_km: np.ndarray
    link_kind: np.ndarray
    time: Any = None
    may_repeat: bool = False  # True once links were added by hand (a pair may then appear twice)
    isl_dropped: int = 0  # ISLs of the topology left out at this step by the range rule (isl_max_km)

    @property
    def n_core(self) -> int:
        return self.n_sat + self.n_odc

    def link_delay_ms(self) -> np.ndarray:
        """One-way light time of each space link, ms (vacuum)."""
        return self.link_km / C_KM_S * 1000.0

    def add_links(self, a, b, kind: int = 0) -> "NetworkStep":
        """A copy with extra space links a–b (lengths from the positions)."""
        a = np.atleast_1d(np.asarray(a, np.int64))
        b = np.atleast_1d(np.asarray(b, np.int64))
        if a.shape != b.shape or np.any((a < 0) | (a >= self.n_core) | (b < 0) | (b >= self.n_core)):
            raise OrbitlatError(f"add_links: end points must be core indices 0..{self.n_core - 1} of equal count.")
        km = np.linalg.norm(self.core_xyz_km[a] - self.core_xyz_km[b], axis=1)
        return NetworkStep(self.n_sat, self.n_odc, self.core_xyz_km, np.concatenate([self.link_a, a]),
                           np.concatenate([self.link_b, b]), np.concatenate([self.link_km, km]),
                           np.concatenate([self.link_kind, np.full(a.size, kind, np.int8)]), self.time, True)


_ISL_MODES = ("plus_grid", "nearest_k", "none")


@dataclass
class Network:
    """A satellite network: constellation, ISL topology, GSL rule and optional orbital data centres.

    Parameters
    ----------
    constellation : Constellation
        The relay satellites.
    isl : {"plus_grid", "nearest_k", "none"} or (E, 2) int array
        ISL topology: "+Grid" from plane/slot labels, per-step nearest-k lasers,
        none (bent pipe), or fixed satellite index pairs.
    isl_shift : int
        "+Grid" inter-plane slot shift.
    drop_seam : bool
        "+Grid": drop links between counter-rotating planes.
    isl_max_km : float, "auto" or None
        Drop ISLs longer than this (laser range); ``"auto"`` (default) is :data:`DEFAULT_ISL_MAX_KM`
        (5,400 km), None no limit. The grazing test applies anyway. Each step counts the links it
        dropped (``NetworkStep.isl_dropped``; results sum them in ``attrs``).
    isl_k, isl_range_km : int, float
        Nearest-k parameters.
    grazing_altitude_km : float
        Space links must clear this altitude (80 km); ``None`` disables the test.
    earth_radius_km : float
        Sphere radius for the grazing test (WGS84 equatorial; Hypatia uses 6378.135).
    gsl_rule : {"elevation", "range"}
        Ground–satellite link rule (:func:`orbitlat.visibility.engine.visible_pairs`).
    gsl_max_range_km : float, optional
        Slant-range limit (required for ``"range"``; optional cap with ``"elevation"``).
    odc : Constellation or list of Constellation, optional
        Orbital data centres (each a cluster, one node at its centroid).
    odc_laser_range_km : float
        Laser range of the data centres' links to relay satellites.
    odc_max_links : int, optional
        Keep only each data centre's nearest relays.
    odc_gsl : bool
        Ground sites may link directly to a data centre in view.
    backend : str
        Propagation backend (``"auto"``: sgp4 for TLE satellites, else kepler-j2).
    force_isl : bool
        Route over ISLs even on satellites that carry none (``has_isl`` 0: OneWeb, Starlink v1.0):
        a what-if study. Default False: refused (all satellites) or left out (some).
    """

    constellation: Any
    isl: Any = "plus_grid"
    isl_shift: int = 0
    drop_seam: bool = True
    isl_max_km: Any = "auto"
    isl_k: int = 4
    isl_range_km: float = 5000.0
    grazing_altitude_km: float | None = GRAZING_ALTITUDE_KM
    earth_radius_km: float = WGS84_A_KM
    gsl_rule: str = "elevation"
    gsl_max_range_km: float | None = None
    odc: Any = None
    odc_laser_range_km: float = 5000.0
    odc_max_links: int | None = None
    odc_gsl: bool = True
    backend: str = "auto"
    force_isl: bool = False
    _isl_pairs: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        from orbitlat.orbits.constellation import Constellation

        convert_fields(self)
        if not isinstance(self.constellation, Constellation):
            raise OrbitlatError(
                f"Network needs a Constellation; got {type(self.constellation).__name__}. "
                "Use orbitlat.orbits.presets.get(...) or Constellation.from_tle(...)."
            )
        if self.gsl_rule not in ("elevation", "range"):
            raise OrbitlatError(f"gsl_rule={self.gsl_rule!r} is not known; use 'elevation' or 'range'.")
        if self.gsl_rule == "range" and self.gsl_max_range_km is None:
            raise OrbitlatError("gsl_rule='range' needs gsl_max_range_km= (e.g. 1089.686 for Hypatia's Starlink).")
        if isinstance(self.isl_max_km, str):
            if self.isl_max_km != "auto":
                raise OrbitlatError(f"isl_max_km={self.isl_max_km!r}: give km, 'auto' ({DEFAULT_ISL_MAX_KM:g} km) "
                                    "or None (line of sight only).")
            self.isl_max_km = DEFAULT_ISL_MAX_KM
        elif self.isl_max_km is not None and not (float(self.isl_max_km) > 0):
            raise OrbitlatError(f"isl_max_km={self.isl_max_km!r} must be > 0 km (or None for no limit).")
        self._no_isl = self._satellites_without_isl()
        if isinstance(self.isl, str):
            if self.isl not in _ISL_MODES:
                raise OrbitlatError(f"isl={self.isl!r} is not known; use one of {_ISL_MODES} or an (E, 2) index array.")
            if self.isl == "plus_grid":
                self._isl_pairs = plus_grid(self.constellation, shift=self.isl_shift, drop_seam=self.drop_seam)
            elif self.isl == "none":
                self._isl_pairs = np.empty((0, 2), np.int64)
        else:
            pairs = np.asarray(self.isl)
            if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
                raise OrbitlatError(f"isl pairs must be an (E, 2) integer array; got shape {pairs.shape}.")
            if pairs.size and (pairs.min() < 0 or pairs.max() >= self.constellation.size):
                raise OrbitlatError(f"isl pairs must index satellites 0..{self.constellation.size - 1}.")
            self._isl_pairs = _unique_pairs(pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64))
        if self._isl_pairs is not None and self._no_isl is not None and self._isl_pairs.size:
            bad = self._no_isl[self._isl_pairs].any(axis=1)  # satellites without ISLs get none
            self._isl_pairs = self._isl_pairs[~bad]
        odc = self.odc
        if odc is None:
            self._odc_list = []
        elif isinstance(odc, Constellation):
            self._odc_list = [odc]
        else:
            self._odc_list = list(odc)
            for o in self._odc_list:
                if not isinstance(o, Constellation):
                    raise OrbitlatError(f"odc entries must be Constellation clusters; got {type(o).__name__}.")

    def _satellites_without_isl(self) -> np.ndarray | None:
        """Mask of satellites that carry no ISL (None: all may link); refuses ISL routing over none."""
        from orbitlat.orbits.capabilities import has_isl_column

        has = has_isl_column(self.constellation.table)
        no = has == 0.0
        wants_isl = not (isinstance(self.isl, str) and self.isl == "none")
        if self.force_isl or not no.any():
            return None
        if wants_isl and no.all():
            a = self.constellation.attrs
            raise OrbitlatError(
                f"{self.constellation.name!r} has no inter-satellite links ({a.get('isl_source', 'its has_isl column is 0')}); "
                f"ISL routing (isl={self.isl if isinstance(self.isl, str) else 'custom pairs'!r}) over it would invent "
                "links that do not exist. Use isl='none' (a bent pipe through gateways: orbitlat.latency.bent_pipe), "
                "or pass force_isl=True (Network(..., force_isl=True), or network_options={'force_isl': True} in the "
                "scenarios) for a what-if study.")
        return no

    # ------------------------------------------------------------------
    @property
    def n_sat(self) -> int:
        return self.constellation.size

    @property
    def n_odc(self) -> int:
        return len(self._odc_list)

    @property
    def odc_names(self) -> list[str]:
        return [o.name for o in self._odc_list]

    @property
    def isl_pairs(self) -> np.ndarray | None:
        """Fixed ISL pairs (None for per-step nearest-k)."""
        return self._isl_pairs

    def positions(self, times):
        """Yield ``(TimeGrid chunk, sat_xyz (t, N, 3), odc_xyz (t, K, 3))`` ITRS km, streamed in chunks."""
        from orbitlat.time import TimeGrid

        for tg in times.chunks(60) if isinstance(times, TimeGrid) else [times]:
            eph = self.constellation.propagate(tg, backend=self.backend, frame="ITRS", velocity=False)
            sat = eph["position"].to_numpy()  # failed satellites are NaN (propagate warns): no link uses them
            if self._odc_list:
                odc = np.stack([o.propagate(tg, backend=self.backend, frame="ITRS", velocity=False)["position"]
                                .to_numpy().mean(axis=1) for o in self._odc_list], axis=1)
            else:
                odc = np.empty((len(tg), 0, 3))
            yield tg, sat, odc

    @accepts_units
    def step(self, sat_xyz_km, odc_xyz_km=None, time=None) -> NetworkStep:
        """The network at one instant from satellite (and data-centre) ITRS positions, km."""
        sat = np.asarray(sat_xyz_km, dtype=np.float64).reshape(-1, 3)
        if sat.shape[0] != self.n_sat:
            raise OrbitlatError(f"step: got {sat.shape[0]} satellite positions for {self.n_sat} satellites.")
        odc = np.empty((0, 3)) if odc_xyz_km is None else np.asarray(odc_xyz_km, dtype=np.float64).reshape(-1, 3)
        if odc.shape[0] != self.n_odc:
            raise OrbitlatError(f"step: got {odc.shape[0]} data-centre positions for {self.n_odc}.")
        lasers = sat if self._no_isl is None else np.where(self._no_isl[:, None], np.nan, sat)  # who may link
        if self._isl_pairs is None:
            pairs = nearest_k_links(lasers, self.isl_k, max_range_km=self.isl_range_km,
                                    grazing_altitude_km=self.grazing_altitude_km or 0.0)
        else:
            pairs = self._isl_pairs
        a, b = pairs[:, 0], pairs[:, 1]
        km = np.linalg.norm(sat[a] - sat[b], axis=1)
        keep = np.isfinite(km)
        if self.grazing_altitude_km is not None and a.size:
            keep &= line_of_sight(sat[a], sat[b], grazing_altitude_km=self.grazing_altitude_km,
                                  radius_km=self.earth_radius_km)
        n_dropped = 0  # links in line of sight that the range rule removes
        if self.isl_max_km is not None:
            n_dropped = int((keep & (km > self.isl_max_km)).sum())
            keep &= km <= self.isl_max_km
        a, b, km = a[keep], b[keep], km[keep]
        kind = np.zeros(a.size, np.int8)
        if self.n_odc:
            o, s, d = odc_links(odc, lasers, max_range_km=self.odc_laser_range_km,
                                grazing_altitude_km=self.grazing_altitude_km or 0.0, max_links=self.odc_max_links)
            a = np.concatenate([a, self.n_sat + o])
            b = np.concatenate([b, s])
            km = np.concatenate([km, d])
            kind = np.concatenate([kind, np.ones(o.size, np.int8)])
        return NetworkStep(self.n_sat, self.n_odc, np.concatenate([sat, odc]), a.astype(np.int64),
                           b.astype(np.int64), km, kind, time, isl_dropped=n_dropped)

    def gsl(self, step: NetworkStep, site_index, *, core: bool = True):
        """Ground–satellite links of ``site_index`` at ``step`` (VisiblePairs over core nodes).

        Orbital data centres are included as visible nodes when ``odc_gsl`` is set.
        """
        from orbitlat.visibility.engine import visible_pairs

        xyz = step.core_xyz_km if (self.odc_gsl and core) else step.core_xyz_km[: step.n_sat]
        return visible_pairs(site_index, xyz, rule=self.gsl_rule, max_range_km=self.gsl_max_range_km)
