"""A network over time in Hypatia's satgenpy formats, for packet-level simulation in ns-3.

Hypatia (Kassing et al., "Exploring the 'Internet from space' with Hypatia", IMC 2020;
github.com/snkas/hypatia, MIT) simulates LEO networks packet by packet in ns-3 from a folder that
satgenpy writes. :func:`write_hypatia` writes that folder from an orbitlat
:class:`~orbitlat.latency.network.Network`, its ground stations and a time span, so a study
started in orbitlat can continue in ns-3 with the same orbits, links and routes:

- ``tles.txt``: first line ``<orbits> <satellites per orbit>`` (``1 N`` unless every plane has the
  same number of satellites), then per satellite the name line ``<name> <id>`` and its TLE (catalog
  numbers kept when they are plain five-digit numbers, otherwise renumbered 1..N as satgenpy numbers
  them, checksums recomputed; every TLE must share one epoch, which is the simulation's time zero);
- ``isls.txt``: one ``a b`` line (a < b) per inter-satellite link, in the network's order;
- ``ground_stations.txt``: the extended format ``gid,name,lat,lon,elevation_m,x,y,z`` with the
  Cartesian position from satgenpy's ``geodetic2cartesian`` (WGS72 ellipsoid, metres, ``%f``);
- ``gsl_interfaces_info.txt``: ``node,interfaces,bandwidth`` for every satellite then every station;
- ``description.txt``: ``max_gsl_length_m=...`` and ``max_isl_length_m=...`` (``%.10f``);
- ``dynamic_state_<step>ms_for_<duration>s/``: per time step ``t`` (nanoseconds after the epoch,
  from 0 while ``t < duration``) ``fstate_<t>.txt`` with the forwarding entries
  ``current,destination,next_hop,current_interface,next_hop_interface`` that changed since the
  previous step (all of them at t = 0; ``-1,-1,-1`` when the destination is unreachable) and
  ``gsl_if_bandwidth_<t>.txt`` (``node,interface,bandwidth`` at t = 0, empty afterwards).

The forwarding state is Hypatia's ``algorithm_free_one_only_over_isls`` computed on orbitlat's
network: for every destination station, a shortest-path tree (by link length) over the satellites
and their ISLs, entered from any station in reach (ground stations never relay). Interfaces are
numbered as satgenpy numbers them: a satellite's ISLs in ``isls.txt`` order, then its one GSL
interface; a station's GSL interface is 0. Link availability follows the orbitlat network (its
GSL rule, ISL length limit and grazing test), so ns-3 sends packets only where orbitlat routes them.

:func:`read_hypatia` reads such a folder back (tests use it to check the files line by line and
to follow the forwarding state hop by hop).
"""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from orbitlat.errors import OrbitlatError
from orbitlat.units import accepts_units

__all__ = ["write_hypatia", "read_hypatia", "geodetic2cartesian_wgs72", "ALGORITHM"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


#: The satgenpy dynamic-state algorithm the forwarding state follows.
ALGORITHM = "algorithm_free_one_only_over_isls"

_WGS72_A_M = 6378135.0
_WGS72_F = 1.0 / 298.26


@accepts_units
def geodetic2cartesian_wgs72(lat_deg, lon_deg, ele_m):
    """satgenpy's ``geodetic2cartesian`` (WGS72: a = 6,378,135 m, f = 1/298.26): (x, y, z) in metres.

    >>> [round(v, 6) for v in geodetic2cartesian_wgs72(14.6042, 120.9822, 0.0)]  # Hypatia's Manila
    [-3177879.424386, 5292603.275242, 1597759.166873]
    """
    e = math.sqrt(2.0 * _WGS72_F - _WGS72_F * _WGS72_F)
    lat, lon = math.radians(lat_deg), math.radians(lon_deg)
    v = _WGS72_A_M / math.sqrt(1.0 - e * e * math.sin(lat) * math.sin(lat))
    x = (v + ele_m) * math.cos(lat) * math.cos(lon)
    y = (v + ele_m) * math.cos(lat) * math.sin(lon)
    z = (v * (1.0 - e * e) + ele_m) * math.sin(lat)
    return x, y, z


def _checksum(line68: str) -> int:
    return sum(int(c) if c.isdigit() else (1 if c == "-" else 0) for c in line68) % 10


def _renumber(line: str, satnum: int) -> str:
    body = line[:2] + f"{satnum:05d}" + line[7:68]
    return body + str(_checksum(body))


def _ns(step_s: float) -> int:
    return int(round(step_s * 1e9))


def _interfaces(pairs: np.ndarray, n_sat: int):
    """(per-satellite ISL count, sorted directed keys a*N+b, the interface of a for each key)."""
    a, b = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    seq = np.empty(2 * a.size, np.int64)
    seq[0::2], seq[1::2] = a, b
    order = np.argsort(seq, kind="stable")
    s = seq[order]
    first = np.r_[0, np.flatnonzero(s[1:] != s[:-1]) + 1] if s.size else np.empty(0, np.int64)
    start = np.repeat(first, np.diff(np.r_[first, s.size])) if s.size else np.empty(0, np.int64)
    rank = np.empty(seq.size, np.int64)
    rank[order] = np.arange(s.size) - start  # occurrences of the node before this one, in file order
    if_a, if_b = rank[0::2], rank[1::2]
    keys = np.concatenate([a * n_sat + b, b * n_sat + a])
    ifs = np.concatenate([if_a, if_b])
    o = np.argsort(keys)
    return np.bincount(seq, minlength=n_sat), keys[o], ifs[o]


def _lookup(keys, vals, q):
    i = np.clip(np.searchsorted(keys, q), 0, max(keys.size - 1, 0))
    return vals[i]


def _forwarding(network, step, gs_index, n_gs: int, num_isls, keys, ifs):
    """Next hop and interfaces (rows: satellites then stations; columns: destination stations)."""
    from orbitlat.latency.access import _terminal_access
    from orbitlat.latency.shortest import _core_edges, _dijkstra

    N = step.n_sat
    acc = _terminal_access(network, step, gs_index, 0.0, odc=False)
    ca, cb, cw = _core_edges(step, 0.0)
    # vertices: satellites 0..N-1, then one entry vertex per station (edges only out of it: no relaying)
    V = N + n_gs
    a = np.concatenate([ca, N + acc.ep])
    b = np.concatenate([cb, acc.core])
    w = np.concatenate([cw, acc.w_ms])
    key = a * V + b
    o = np.lexsort((w, key))
    a, b, w, key = a[o], b[o], w[o], key[o]
    keep = np.r_[True, key[1:] != key[:-1]] if key.size else np.zeros(0, bool)
    a, b, w = a[keep], b[keep], w[keep]
    dist, pred = _dijkstra(a, b, w, V, N + np.arange(n_gs), True)   # (G, V): from each destination
    hop = np.full((N + n_gs, n_gs), -1, np.int64)
    my_if = np.full_like(hop, -1)
    nx_if = np.full_like(hop, -1)
    # satellites: the predecessor in the tree from the destination is the next hop towards it
    p = pred[:, :N].T                                          # (N, G)
    reach = np.isfinite(dist[:, :N].T) & (p >= 0)
    to_gs = reach & (p >= N)
    to_sat = reach & (p < N)
    d_idx = np.broadcast_to(np.arange(n_gs)[None, :], p.shape)
    s_idx = np.broadcast_to(np.arange(N)[:, None], p.shape)
    hop[:N][to_gs] = N + d_idx[to_gs]
    my_if[:N][to_gs] = num_isls[s_idx[to_gs]]
    nx_if[:N][to_gs] = 0
    ss, pp = s_idx[to_sat], p[to_sat]
    hop[:N][to_sat] = pp
    my_if[:N][to_sat] = _lookup(keys, ifs, ss * N + pp)
    nx_if[:N][to_sat] = _lookup(keys, ifs, pp * N + ss)
    # stations: the satellite in reach with the shortest way to the destination (never to itself)
    if acc.ep.size:
        tot = acc.w_ms[:, None] + dist[:, acc.core].T               # (links, G)
        for g in range(n_gs):
            rows = np.flatnonzero(acc.ep == g)
            if rows.size == 0:
                continue
            t = tot[rows]
            best = np.argmin(np.where(np.isfinite(t), t, np.inf), axis=0)
            ok = np.isfinite(t[best, np.arange(n_gs)])
            ok[g] = False
            sat = acc.core[rows[best]]
            hop[N + g][ok] = sat[ok]
            my_if[N + g][ok] = 0
            nx_if[N + g][ok] = num_isls[sat[ok]]
    return hop, my_if, nx_if, acc


def _fstate_lines(hop, my_if, nx_if, N: int, n_gs: int, changed=None) -> str:
    """satgenpy's fstate lines, in its order: satellites x destinations, then station pairs."""
    cur = np.repeat(np.arange(N + n_gs), n_gs)
    dst = np.tile(N + np.arange(n_gs), N + n_gs)
    h, m, x = hop.ravel(), my_if.ravel(), nx_if.ravel()
    want = cur != dst
    if changed is not None:
        want &= changed.ravel()
    rows = np.column_stack([cur[want], dst[want], h[want], m[want], x[want]])
    return "".join(f"{r[0]},{r[1]},{r[2]},{r[3]},{r[4]}\n" for r in rows.tolist())


def _atomic_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_hypatia(network, ground_stations, out_dir: str | os.PathLike, *, duration: Any, step: Any = "100ms",
                  name: str | None = None, bandwidth: float = 1.0, overwrite: bool = False) -> Path:
    """Write ``network`` over ``duration`` every ``step`` in Hypatia's satgenpy formats (see the module).

    Parameters
    ----------
    network : orbitlat.latency.network.Network
        Fixed ISLs (``"plus_grid"``, ``"none"`` or index pairs; per-step nearest-k links cannot be
        written: Hypatia's ``isls.txt`` is permanent), no orbital data centre. Its satellites must
        share one TLE epoch (designed constellations do; their TLEs are generated), which is t = 0.
    ground_stations : GroundSites
        Ground stations, node ids ``N..N+G-1`` in this order.
    out_dir : path
        The folder to write (created). It must be empty unless ``overwrite=True``.
    duration, step : duration
        Time span after the epoch and time step (``"200s"``, ``"100ms"``, ``"PT1M"``, seconds);
        steps run from 0 while t < duration, as satgenpy's; both must be whole milliseconds
        (its folder name ``dynamic_state_<step>ms_for_<duration>s``), the duration whole seconds.
    name : str, optional
        Name written before each satellite id in ``tles.txt`` (default the constellation's name).
    bandwidth : float
        Aggregate GSL bandwidth per node in ``gsl_interfaces_info.txt`` (unitless in Hypatia).
    overwrite : bool
        Replace the files of an earlier export in ``out_dir``.

    Returns
    -------
    pathlib.Path
        ``out_dir``.

    Raises
    ------
    OrbitlatError
        Dynamic ISLs, orbital data centres, TLE epochs that differ, a step or duration Hypatia
        cannot name, or a non-empty ``out_dir``.

    Examples
    --------
    >>> import tempfile, orbitlat as ol
    >>> from orbitlat.latency.network import Network
    >>> from orbitlat.ground.sites import GroundSites
    >>> net = Network(ol.walker.walker_delta(53, 24, 4, 1, altitude_km=550), isl="plus_grid")
    >>> gs = GroundSites(["Paris", "Luanda"], [48.86, -8.84], [2.35, 13.23])
    >>> out = write_hypatia(net, gs, tempfile.mkdtemp(), duration="2s", step="1s")
    >>> sorted(p.name for p in out.iterdir())[:3]
    ['description.txt', 'dynamic_state_1000ms_for_2s', 'ground_stations.txt']
    >>> (out / "tles.txt").read_text().splitlines()[0]
    '4 6'
    """
    from orbitlat.ground.sites import GroundSites
    from orbitlat.latency.network import Network
    from orbitlat.time import TimeGrid, to_seconds
    from orbitlat.visibility.engine import SiteIndex

    if not isinstance(network, Network):
        raise OrbitlatError(f"write_hypatia needs an orbitlat.latency.network.Network; got {type(network).__name__}.")
    if not isinstance(ground_stations, GroundSites) or len(ground_stations) == 0:
        raise OrbitlatError("ground_stations must be non-empty GroundSites (e.g. GroundSites.cities(top=100)).")
    if network.isl_pairs is None:
        raise OrbitlatError("Hypatia's isls.txt lists permanent links; per-step nearest-k ISLs cannot be exported. "
                            "Use isl='plus_grid', 'none' or fixed index pairs.")
    if network.n_odc:
        raise OrbitlatError("Hypatia has no orbital data centres; export a network without odc=.")
    dur_s, step_s = to_seconds(duration, "duration"), to_seconds(step, "step")
    step_ms = step_s * 1000.0
    if step_s <= 0 or abs(step_ms - round(step_ms)) > 1e-9 or dur_s <= 0 or abs(dur_s - round(dur_s)) > 1e-9:
        raise OrbitlatError(f"duration={duration!r} must be whole seconds > 0 and step={step!r} whole milliseconds > 0 "
                            "(Hypatia names the folder dynamic_state_<step>ms_for_<duration>s).")
    step_ns, dur_ns = int(round(step_ms)) * 1_000_000, int(round(dur_s)) * 1_000_000_000
    n_steps = -(-dur_ns // step_ns)
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OrbitlatError(f"{out} is not empty; give an empty folder or overwrite=True.")
    c = network.constellation
    tle = c.tle_table()
    epochs = pd.to_datetime(c.table["epoch"]).to_numpy().astype("datetime64[ns]")
    if (epochs != epochs[0]).any():
        raise OrbitlatError(
            f"Hypatia needs one epoch for every TLE (its simulation starts there); these satellites have "
            f"{np.unique(epochs).size} epochs ({epochs.min()} .. {epochs.max()}). Export a designed constellation, "
            "or satellites of one element set."
        )
    epoch = epochs[0]
    N, G = c.size, len(ground_stations)
    label = (name or c.name or "satellite").replace("\n", " ")
    # tles.txt
    planes = c.table["plane"].to_numpy()
    per = np.bincount(planes[planes >= 0]) if (planes >= 0).all() else np.array([])
    per = per[per > 0]
    header = f"{per.size} {int(per[0])}" if per.size and (per == per[0]).all() and per.size * per[0] == N else f"1 {N}"
    lines = [header]
    keep = bool((c.table["norad_id"] <= 99999).all() and tle["line1"].astype(str).str[2:7].str.isdigit().all())
    for i, (l1, l2) in enumerate(zip(tle["line1"], tle["line2"])):
        if keep:
            lines += [f"{label} {i}", str(l1), str(l2)]
        else:  # designed satellites carry Alpha-5 numbers, which pyephem and ns-3 do not read
            lines += [f"{label} {i}", _renumber(str(l1), i + 1), _renumber(str(l2), i + 1)]
    # ground stations (extended), interfaces, ISLs
    gs_lines = []
    for g, (nm, la, lo, alt) in enumerate(zip(ground_stations.names, ground_stations.lat_deg, ground_stations.lon_deg,
                                               ground_stations.alt_km)):
        ele = float(alt) * 1000.0
        x, y, z = geodetic2cartesian_wgs72(float(la), float(lo), ele)
        clean = str(nm).replace(",", " ").replace("\n", " ")
        gs_lines.append("%d,%s,%f,%f,%f,%f,%f,%f" % (g, clean, float(la), float(lo), ele, x, y, z))
    pairs = np.asarray(network.isl_pairs, dtype=np.int64).reshape(-1, 2)
    pairs = np.sort(pairs, axis=1)
    num_isls, keys, ifs = _interfaces(pairs, N)
    out.mkdir(parents=True, exist_ok=True)
    ds_dir = out / f"dynamic_state_{int(round(step_ms))}ms_for_{int(round(dur_s))}s"
    if ds_dir.exists():
        shutil.rmtree(ds_dir)
    tmp_dir = out / f".{ds_dir.name}.part"
    if tmp_dir.exists():
        shutil.rmtree(tmp_dir)
    tmp_dir.mkdir()
    # the dynamic state, streamed in chunks of steps
    tg = TimeGrid(epoch + (np.arange(n_steps, dtype=np.int64) * step_ns).astype("timedelta64[ns]"))
    index = SiteIndex.from_sites(ground_stations)
    prev = None
    max_gsl = max_isl = 0.0
    k = 0
    for chunk, sat, _ in network.positions(tg):
        for j in range(len(chunk)):
            st = network.step(sat[j])
            hop, my_if, nx_if, acc = _forwarding(network, st, index, G, num_isls, keys, ifs)
            if acc.w_ms.size:
                from orbitlat.latency._inputs import _MS_PER_KM

                max_gsl = max(max_gsl, float(acc.w_ms.max() / _MS_PER_KM))
            if st.link_km.size:
                max_isl = max(max_isl, float(st.link_km.max()))
            t_ns = k * step_ns
            changed = None if prev is None else ((hop != prev[0]) | (my_if != prev[1]) | (nx_if != prev[2]))
            (tmp_dir / f"fstate_{t_ns}.txt").write_text(_fstate_lines(hop, my_if, nx_if, N, G, changed))
            bw = ""
            if k == 0:
                bw = "".join("%d,%d,%f\n" % (i, num_isls[i], bandwidth) for i in range(N))
                bw += "".join("%d,%d,%f\n" % (N + g, 0, bandwidth) for g in range(G))
            (tmp_dir / f"gsl_if_bandwidth_{t_ns}.txt").write_text(bw)
            prev = (hop, my_if, nx_if)
            k += 1
    os.replace(tmp_dir, ds_dir)
    gsl_m = network.gsl_max_range_km * 1000.0 if network.gsl_max_range_km is not None else max_gsl * 1000.0
    isl_m = network.isl_max_km * 1000.0 if network.isl_max_km is not None else max_isl * 1000.0
    _atomic_text(out / "tles.txt", "\n".join(lines) + "\n")
    _atomic_text(out / "isls.txt", "".join(f"{a} {b}\n" for a, b in pairs.tolist()))
    _atomic_text(out / "ground_stations.txt", "".join(f"{ln}\n" for ln in gs_lines))
    _atomic_text(out / "gsl_interfaces_info.txt",
                 "".join("%d,%d,%f\n" % (i, 1, bandwidth) for i in range(N + G)))
    _atomic_text(out / "description.txt", "max_gsl_length_m=%.10f\nmax_isl_length_m=%.10f\n" % (gsl_m, isl_m))
    return out


def read_hypatia(folder: str | os.PathLike) -> dict:
    """Read a satgenpy folder: TLE text, ISL pairs, stations, interfaces, description and forwarding state.

    Returns
    -------
    dict
        ``header`` (orbits, per orbit), ``tle_text`` (3LE, names as written), ``isls`` (E, 2) array,
        ``ground_stations`` DataFrame (gid, name, lat_deg, lon_deg, elevation_m, x_m, y_m, z_m),
        ``interfaces`` DataFrame (node, interfaces, bandwidth), ``description`` dict, ``step_ns``,
        ``duration_s`` and ``fstate``: {t_ns: DataFrame (current, destination, next_hop,
        current_interface, next_hop_interface)} with each file's (delta) entries.
    """
    root = Path(folder)
    if not (root / "tles.txt").exists():
        raise OrbitlatError(f"{root} has no tles.txt; give a folder written by write_hypatia or satgenpy.")
    tl = (root / "tles.txt").read_text().splitlines()
    header = tuple(int(v) for v in tl[0].split())
    isls = np.loadtxt(root / "isls.txt", dtype=np.int64, ndmin=2) if (root / "isls.txt").stat().st_size else \
        np.empty((0, 2), np.int64)
    gs = pd.read_csv(root / "ground_stations.txt", header=None,
                     names=["gid", "name", "lat_deg", "lon_deg", "elevation_m", "x_m", "y_m", "z_m"])
    ifs = pd.read_csv(root / "gsl_interfaces_info.txt", header=None, names=["node", "interfaces", "bandwidth"])
    desc = dict(line.split("=", 1) for line in (root / "description.txt").read_text().splitlines() if "=" in line)
    dirs = sorted(root.glob("dynamic_state_*ms_for_*s"))
    fstate, step_ns, duration_s = {}, None, None
    if dirs:
        d = dirs[0]
        step_ns = int(d.name.split("_")[2][:-2]) * 1_000_000
        duration_s = int(d.name.split("_")[4][:-1])
        cols = ["current", "destination", "next_hop", "current_interface", "next_hop_interface"]
        for f in d.glob("fstate_*.txt"):
            t = int(f.stem.split("_")[1])
            fstate[t] = (pd.read_csv(f, header=None, names=cols) if f.stat().st_size
                         else pd.DataFrame(columns=cols, dtype=np.int64))
    return {"header": header, "tle_text": "\n".join(tl[1:]) + "\n", "isls": isls, "ground_stations": gs,
            "interfaces": ifs, "description": {k: float(v) for k, v in desc.items()}, "step_ns": step_ns,
            "duration_s": duration_s, "fstate": dict(sorted(fstate.items()))}
