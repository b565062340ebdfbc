"""Compute placements: where the orbital data centres are, and how they join the network.

One concept for every way of putting compute in orbit, so the latency layer can route users to the
*nearest compute node* whatever the design:

:class:`Clusters`
    Compact clusters (a Suncatcher-like cluster, or several in chosen orbits): each cluster is one
    compute node at its members' centroid (they fly within ~1 km: < 7 µs of light time).
:class:`OnRelays`
    Compute on the relay satellites themselves: every satellite of chosen shells, or a share of
    them spread evenly (compute on every Starlink V3).
:class:`Dedicated`
    A compute constellation of its own (SpaceX's orbital data center filing, Starcloud, Project
    Sunrise): every satellite is a compute node.

Links as built
--------------
A compute node that is not itself a relay reaches the relay network through laser terminals:
``terminals`` per compute node (default :data:`DEFAULT_TERMINALS` = 4), each to a *distinct*
relay within ``laser_range_km`` and line of sight; a relay gives at most ``relay_terminals``
(default :data:`DEFAULT_RELAY_TERMINALS` = 1) of its terminals to compute links. The links of a
step are assigned greedily, shortest first (:func:`terminal_links`), as an operator pointing
lasers at the closest free partners would; ``terminals=None`` (and ``relay_terminals=None``) is
the unlimited model of orbitlat 0.1 (every relay in range), only when asked. Users may also link
straight to a compute node in view (``direct=True``) under the same elevation mask and overheads
as any user link.

Why 4 and 1: four laser terminals is what a "+Grid" satellite carries (two in-plane, two
cross-plane links; Hypatia, Kassing et al. 2020) and the order of Starlink's (over 9,000 lasers on
its satellites by January 2024, SPIE Photonics West; docs/references.md); the Suncatcher preprint
describes links inside the cluster, not to relays, so a cluster is given the same four. A relay's
own terminals carry its ISLs, so it is assumed to spare one for a compute node.

>>> import orbitlat as ol
>>> p = Dedicated(ol.presets.get("three_body"))
>>> p.kind, p.n_nodes, p.terminals
('dedicated', 12, 4)
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["Placement", "Clusters", "OnRelays", "Dedicated", "terminal_links", "check_shells", "from_preset",
           "DEFAULT_TERMINALS", "DEFAULT_RELAY_TERMINALS"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)

#: Laser terminals per compute node for links to relays (see the module docs).
DEFAULT_TERMINALS = 4
#: Compute links a relay accepts (one spare terminal; its others carry its ISLs).
DEFAULT_RELAY_TERMINALS = 1
#: Candidate relays examined per compute terminal when a relay budget applies (nearest first).
_CANDIDATES_PER_TERMINAL = 4


def _check_count(value: Any, name: str, allow_none: bool = True) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise OrbitlatError(f"{name}={value!r} must be a whole number >= 1" + (" or None (unlimited)." if allow_none
                                                                                else "."))
    return int(value)


# =============================================================================
# laser links with terminal limits
# =============================================================================
@accepts_units
def terminal_links(comp_xyz_km, relay_xyz_km, *, terminals: int | None = DEFAULT_TERMINALS,
                   relay_terminals: int | None = DEFAULT_RELAY_TERMINALS, max_range_km: float = 5000.0,
                   grazing_altitude_km: float = 80.0, radius_km: float = WGS84_A_KM):
    """Laser links from compute nodes to relays, as many as the terminals allow, shortest first.

    Candidates are the relays within ``max_range_km`` whose line of sight clears the grazing
    altitude; with a relay budget, each compute node considers its ``4 x terminals`` nearest
    candidates. Candidates are taken in order of length (ties: compute node, then relay index) and
    kept while both ends have a terminal free.

    Parameters
    ----------
    comp_xyz_km, relay_xyz_km : (K, 3), (N, 3) arrays
        Positions at one instant (NaN rows take no part).
    terminals : int or None
        Links per compute node (None: every relay in range).
    relay_terminals : int or None
        Compute links per relay (None: no limit).

    Returns
    -------
    (comp, relay, length_km) : three 1-D arrays, sorted by compute node then length

    Examples
    --------
    >>> sat = np.array([[7000.0, 0, 0], [7000.0, 300, 0], [7000.0, 600, 0]])
    >>> c, r, d = terminal_links(np.array([[7000.0, 100, 0], [7000.0, 200, 0]]), sat, terminals=1)
    >>> c.tolist(), r.tolist()  # node 0 takes relay 0 (100 km); relay 1 then goes to node 1
    ([0, 1], [0, 1])
    """
    from scipy.spatial import cKDTree

    from orbitlat.latency.network import line_of_sight

    terminals = _check_count(terminals, "terminals")
    relay_terminals = _check_count(relay_terminals, "relay_terminals")
    if not max_range_km > 0:
        raise OrbitlatError(f"max_range_km={max_range_km!r} must be > 0 km (the laser range).")
    comp = np.asarray(comp_xyz_km, dtype=np.float64).reshape(-1, 3)
    rel = np.asarray(relay_xyz_km, dtype=np.float64).reshape(-1, 3)
    empty = (np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0))
    ok_r = np.flatnonzero(np.isfinite(rel).all(axis=1))
    ok_c = np.flatnonzero(np.isfinite(comp).all(axis=1))
    if ok_r.size == 0 or ok_c.size == 0:
        return empty
    tree = cKDTree(rel[ok_r])
    if terminals is None or relay_terminals is None and terminals >= ok_r.size:
        res = tree.query_ball_point(comp[ok_c], r=max_range_km)
        c = np.repeat(ok_c, [len(x) for x in res])
        r = ok_r[np.concatenate([np.asarray(x, dtype=np.int64) for x in res])] if c.size else np.empty(0, np.int64)
    else:
        k = min(ok_r.size, terminals * (_CANDIDATES_PER_TERMINAL if relay_terminals is not None else 1))
        dist, nb = tree.query(comp[ok_c], k=k, distance_upper_bound=max_range_km)
        dist, nb = dist.reshape(ok_c.size, k), nb.reshape(ok_c.size, k)
        good = np.isfinite(dist) & (nb < ok_r.size)
        c = np.repeat(ok_c, k)[good.ravel()]
        r = ok_r[nb[good]]
    if c.size == 0:
        return empty
    d = np.linalg.norm(rel[r] - comp[c], axis=1)
    keep = line_of_sight(comp[c], rel[r], grazing_altitude_km=grazing_altitude_km, radius_km=radius_km) \
        & (d <= max_range_km) & (d > 0)
    c, r, d = c[keep], r[keep], d[keep]
    order = np.lexsort((r, c, d))  # shortest first; ties by compute node, then relay
    c, r, d = c[order], r[order], d[order]
    take = _greedy(c, r, comp.shape[0], rel.shape[0], terminals, relay_terminals)
    c, r, d = c[take], r[take], d[take]
    order = np.lexsort((d, c))
    return c[order], r[order], d[order]


def _greedy(c: np.ndarray, r: np.ndarray, n_c: int, n_r: int, t_c: int | None, t_r: int | None) -> np.ndarray:
    """Keep candidates in order while both ends have a terminal free (boolean mask)."""
    if t_c is None and t_r is None:
        return np.ones(c.size, dtype=bool)
    big = np.iinfo(np.int64).max
    tc = big if t_c is None else t_c
    tr = big if t_r is None else t_r
    if t_r is None:  # only the compute side is limited: the first t_c per node (already shortest first)
        o = np.lexsort((np.arange(c.size), c))
        rank = np.empty(c.size, np.int64)
        rank[o] = np.arange(c.size) - np.searchsorted(c[o], c[o])
        return rank < tc
    try:
        from orbitlat.visibility._kernels import njit  # numba: the loop runs compiled
    except ImportError:
        return _greedy_loop(c, r, n_c, n_r, tc, tr)
    return _greedy_jit(njit)(c, r, n_c, n_r, tc, tr)


def _greedy_loop(c, r, n_c, n_r, tc, tr):
    used_c = np.zeros(n_c, np.int64)
    used_r = np.zeros(n_r, np.int64)
    take = np.zeros(c.size, dtype=np.bool_)
    for i in range(c.size):
        a, b = c[i], r[i]
        if used_c[a] < tc and used_r[b] < tr:
            used_c[a] += 1
            used_r[b] += 1
            take[i] = True
    return take


_GREEDY_JIT = None


def _greedy_jit(njit):
    global _GREEDY_JIT
    if _GREEDY_JIT is None:
        _GREEDY_JIT = njit(nogil=True, cache=True)(_greedy_loop)
    return _GREEDY_JIT


# =============================================================================
# placements
# =============================================================================
@dataclass(frozen=True, kw_only=True)
class Placement:
    """Common link rules of a compute placement (see the module docs).

    Parameters
    ----------
    terminals : int or None
        Laser terminals per compute node for relay links (None: every relay in range).
    relay_terminals : int or None
        Compute links a relay accepts (None: no limit).
    laser_range_km : float
        Range of those lasers (default 5,000 km, about Starlink's published 5,400 km).
    direct : bool
        Users may link straight to a compute node in view.
    """

    terminals: int | None = DEFAULT_TERMINALS
    relay_terminals: int | None = DEFAULT_RELAY_TERMINALS
    laser_range_km: float = 5000.0
    direct: bool = True

    kind = "placement"

    def __post_init__(self):
        from orbitlat.units import convert_fields

        convert_fields(self)
        _check_count(self.terminals, "terminals")
        _check_count(self.relay_terminals, "relay_terminals")
        if not (isinstance(self.laser_range_km, (int, float, np.integer, np.floating))
                and np.isfinite(self.laser_range_km) and self.laser_range_km > 0):
            raise OrbitlatError(f"laser_range_km={self.laser_range_km!r} must be a positive number of km.")

    # --- what the router needs ------------------------------------------------
    @property
    def n_nodes(self) -> int:
        raise NotImplementedError

    def compute_relays(self, relays) -> np.ndarray:
        """Indices of relay satellites that carry compute (only :class:`OnRelays` has any)."""
        return np.empty(0, np.int64)

    def constellations(self) -> list:
        """The compute satellites that fly apart from the relays (to propagate), one entry per node group."""
        return []

    def node_positions(self, positions: list[np.ndarray]) -> np.ndarray:
        """Compute-node positions (t, K, 3) from the propagated :meth:`constellations` (t, n_i, 3)."""
        return np.empty((positions[0].shape[0] if positions else 0, 0, 3))

    def node_names(self) -> list[str]:
        return []

    def links(self) -> dict:
        """The link rules, for result attrs."""
        return {"terminals": "unlimited" if self.terminals is None else int(self.terminals),
                "relay_terminals": "unlimited" if self.relay_terminals is None else int(self.relay_terminals),
                "laser_range_km": float(self.laser_range_km), "direct_user_links": int(bool(self.direct))}

    def describe(self) -> str:
        raise NotImplementedError


def _as_constellation(obj, what: str):
    from orbitlat.orbits.constellation import Constellation
    from orbitlat.orbits import presets

    if isinstance(obj, Constellation):
        return obj
    if isinstance(obj, str):
        return presets.get(obj)
    raise OrbitlatError(f"{what} must be a Constellation or a preset name; got {type(obj).__name__}.")


@dataclass(frozen=True)
class Clusters(Placement):
    """Compact compute clusters, each one node at its members' centroid.

    >>> import orbitlat as ol
    >>> Clusters([ol.presets.get("suncatcher")]).n_nodes
    1
    """

    clusters: Sequence[Any] = field(default_factory=list)

    kind = "clusters"

    def __post_init__(self):
        from orbitlat.units import convert_fields

        convert_fields(self)  # this class's unit fields too (idempotent: plain numbers pass through)
        super().__post_init__()
        cl = [self.clusters] if not isinstance(self.clusters, (list, tuple)) else list(self.clusters)
        if not cl:
            raise OrbitlatError("Clusters needs at least one cluster (a Constellation such as "
                                "orbitlat.orbits.cluster.suncatcher()); got none, so no compute node would exist.")
        object.__setattr__(self, "clusters", tuple(_as_constellation(c, "each cluster") for c in cl))

    @property
    def n_nodes(self) -> int:
        return len(self.clusters)

    def constellations(self) -> list:
        return list(self.clusters)

    def node_positions(self, positions):
        return np.stack([p.mean(axis=1) for p in positions], axis=1)

    def node_names(self) -> list[str]:
        names = [c.name for c in self.clusters]
        return names if len(set(names)) == len(names) else [f"{n}#{k}" for k, n in enumerate(names)]

    def describe(self) -> str:
        return f"{len(self.clusters)} cluster(s) of {sum(c.size for c in self.clusters):,} satellites"


@dataclass(frozen=True)
class OnRelays(Placement):
    """Compute on relay satellites: all of ``shells`` (default every shell), or ``share`` of them.

    ``share`` < 1 picks satellites spread evenly through each selected shell (every k-th).

    >>> import orbitlat as ol
    >>> OnRelays(share=0.25).compute_relays(ol.presets.get("iridium")).size
    16
    """

    shells: Sequence[str] | None = None
    share: float = 1.0

    kind = "on_relays"

    def __post_init__(self):
        from orbitlat.units import convert_fields

        convert_fields(self)  # this class's unit fields too (idempotent: plain numbers pass through)
        super().__post_init__()
        s = self.share
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)) or not 0 < float(s) <= 1:
            raise OrbitlatError(f"share={s!r} must be a fraction in (0, 1] (the share of relay satellites with "
                                "compute); a share of 0 puts no compute node anywhere.")
        if self.shells is not None:
            object.__setattr__(self, "shells", tuple(str(x) for x in ([self.shells] if isinstance(self.shells, str)
                                                                       else self.shells)))

    @property
    def n_nodes(self) -> int:
        return -1  # depends on the relays

    def compute_relays(self, relays) -> np.ndarray:
        shell = relays.table["shell"].astype(str).to_numpy()
        if self.shells is None:
            sel = np.ones(shell.size, dtype=bool)
        else:
            unknown = sorted(set(self.shells) - set(np.unique(shell)))
            if unknown:
                raise OrbitlatError(f"OnRelays: shells {unknown} are not in the relay constellation "
                                    f"{relays.name!r}; its shells are {sorted(np.unique(shell))[:20]}.")
            sel = np.isin(shell, self.shells)
        out = []
        for sh in np.unique(shell[sel]):
            idx = np.flatnonzero(shell == sh)
            n = max(1, int(round(float(self.share) * idx.size)))
            pick = np.unique(np.floor(np.arange(n) * (idx.size / n)).astype(np.int64))
            out.append(idx[pick])
        return np.sort(np.concatenate(out)) if out else np.empty(0, np.int64)

    def describe(self) -> str:
        where = "every shell" if self.shells is None else "shells " + ", ".join(self.shells)
        return f"compute on {float(self.share):.0%} of the relays of {where}"


@dataclass(frozen=True)
class Dedicated(Placement):
    """A compute constellation: every one of its satellites is a compute node.

    >>> import orbitlat as ol
    >>> Dedicated(ol.presets.get("starcloud")).n_nodes
    88000
    """

    constellation: Any = None

    kind = "dedicated"

    def __post_init__(self):
        from orbitlat.units import convert_fields

        convert_fields(self)  # this class's unit fields too (idempotent: plain numbers pass through)
        super().__post_init__()
        if self.constellation is None:
            raise OrbitlatError("Dedicated needs the compute constellation (a Constellation or a compute preset "
                                "name, e.g. 'starcloud').")
        object.__setattr__(self, "constellation", _as_constellation(self.constellation, "constellation"))

    @property
    def n_nodes(self) -> int:
        return self.constellation.size

    def constellations(self) -> list:
        return [self.constellation]

    def node_positions(self, positions):
        return positions[0]

    def node_names(self) -> list[str]:
        return self.constellation.table["name"].astype(str).tolist()

    def describe(self) -> str:
        return f"dedicated compute constellation {self.constellation.name!r} ({self.constellation.size:,} satellites)"


def from_preset(name: str, **rules) -> Placement:
    """The placement a compute preset describes: ``compute="cluster"`` -> :class:`Clusters`, a relay
    preset with compute on board (``relay``) -> :class:`OnRelays`, otherwise :class:`Dedicated`.

    Whether users may link straight to the compute satellites comes from the preset's
    ``user_links`` entry (the filings of SpaceX, Starcloud and Blue Origin route users through relay
    networks; ``direct=True`` overrides it).

    >>> type(from_preset("suncatcher")).__name__, type(from_preset("starcloud")).__name__
    ('Clusters', 'Dedicated')
    >>> from_preset("starcloud").direct, from_preset("starcloud", direct=True).direct
    (False, True)
    """
    from orbitlat.orbits import presets

    d = presets.definition(name)
    if d.get("kind") != "compute":
        raise OrbitlatError(f"preset {name!r} is a {d.get('kind')} constellation, not a compute placement; compute "
                            f"presets are {', '.join(presets.names(kind='compute'))}.")
    if "user_links" in d and "direct" not in rules:
        rules["direct"] = bool(d["user_links"]["direct"])
    if d.get("compute") == "cluster":
        return Clusters([presets.get(name)], **rules)
    if d.get("relay"):
        return OnRelays(**rules)
    return Dedicated(presets.get(name), **rules)


# =============================================================================
# shells that would share orbits
# =============================================================================
@accepts_units
def check_shells(parts: dict, *, min_gap_km: float = 1.0, max_inc_diff_deg: float = 1.0) -> None:
    """Refuse constellations whose shells share an orbit shell: altitude bands closer than ``min_gap_km``
    and inclinations within ``max_inc_diff_deg`` (two fleets flying through each other).

    ``parts`` maps a label to a Constellation or a list of them (e.g. ``{"relays": starlink, "compute":
    [cluster, ...]}``); each part's shells are checked against the other parts' (a part's own shells may
    share an altitude: Starlink's two 560 km / 97.6° shells are disjoint sets of planes of one design,
    and clusters of one placement may share a plane).

    >>> import orbitlat as ol
    >>> check_shells({"relays": ol.presets.get("starlink_gen1"), "compute": ol.presets.get("suncatcher")})
    >>> from orbitlat.orbits import walker
    >>> check_shells({"relays": ol.presets.get("kuiper"),
    ...               "compute": walker.walker_delta(51.9, 40, 4, 1, altitude_km=630.5)})
    Traceback (most recent call last):
    ...
    orbitlat.errors.OrbitlatError: overlapping shells: relays shell '630/51.9' (630.0-630.0 km, 51.90°) and compute shell '630.5/51.9' (630.5-630.5 km, 51.90°) fly in the same orbits (less than 1 km apart, inclinations within 1°). Move one (altitude, inclination), merge them, or put the compute on the relays themselves (OnRelays).
    """
    rows = []
    for label, cs in parts.items():
        for c in (cs if isinstance(cs, (list, tuple)) else [cs]):
            _shell_rows(label, c, rows)
    _check_rows(rows, min_gap_km, max_inc_diff_deg)


def _shell_rows(label: str, c, rows: list) -> None:
    if c is None:
        return
    from orbitlat.constants import WGS84_A_KM as R

    t = c.table
    lo = t["a_km"] * (1 - t["ecc"]) - R
    hi = t["a_km"] * (1 + t["ecc"]) - R
    g = t.assign(lo=lo, hi=hi).groupby("shell", sort=False)
    for sh, grp in g:
        rows.append((label, str(sh), float(grp["lo"].min()), float(grp["hi"].max()), float(grp["inc_deg"].mean()),
                     float(grp["inc_deg"].min()), float(grp["inc_deg"].max())))


def _check_rows(rows: list, min_gap_km: float, max_inc_diff_deg: float) -> None:
    for i in range(len(rows)):
        for j in range(i + 1, len(rows)):
            a, b = rows[i], rows[j]
            if a[0] == b[0]:
                continue
            gap = max(a[2], b[2]) - min(a[3], b[3])
            inc_close = max(a[5], b[5]) - min(a[6], b[6]) <= max_inc_diff_deg
            if gap < min_gap_km and inc_close:
                raise OrbitlatError(
                    f"overlapping shells: {a[0]} shell {a[1]!r} ({a[2]:.1f}-{a[3]:.1f} km, {a[4]:.2f}°) and {b[0]} shell "
                    f"{b[1]!r} ({b[2]:.1f}-{b[3]:.1f} km, {b[4]:.2f}°) fly in the same orbits (less than {min_gap_km:g} km "
                    f"apart, inclinations within {max_inc_diff_deg:g}°). Move one (altitude, inclination), merge them, "
                    "or put the compute on the relays themselves (OnRelays).")
