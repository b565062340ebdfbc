"""Compute placements and nearest-compute routing: equal to brute force (every link of the step in an
explicit graph, networkx's multi-source Dijkstra) on small cases; laser links as built (terminal
limits) equal to a brute-force greedy; the same numbers on Dask; bad placements refused."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orbitlat as ol
from orbitlat.constants import WGS84_A_KM
from orbitlat.errors import OrbitlatError
from orbitlat.ground.sites import GroundSites
from orbitlat.latency.compute import nearest_compute
from orbitlat.latency.network import Network, line_of_sight
from orbitlat.latency.placements import (Clusters, Dedicated, OnRelays, check_shells, from_preset, terminal_links)
from orbitlat.latency.routing import Delays
from orbitlat.orbits import walker
from orbitlat.orbits.cluster import compact_cluster
from orbitlat.time import TimeGrid

nx = pytest.importorskip("networkx")
MS = 1000.0 / 299792.458


# =============================================================================
# laser links with terminal limits
# =============================================================================
def _brute_greedy(comp, rel, T, B, rmax):
    cand = []
    for i in range(comp.shape[0]):
        for j in range(rel.shape[0]):
            d = float(np.linalg.norm(comp[i] - rel[j]))
            if 0 < d <= rmax and line_of_sight(comp[i], rel[j]):
                cand.append((d, i, j))
    cand.sort()
    used_c, used_r, out = {}, {}, set()
    for d, i, j in cand:
        if (T is None or used_c.get(i, 0) < T) and (B is None or used_r.get(j, 0) < B):
            used_c[i] = used_c.get(i, 0) + 1
            used_r[j] = used_r.get(j, 0) + 1
            out.add((i, j))
    return out


@pytest.mark.parametrize("T,B", [(4, 1), (2, 2), (1, 1), (None, 1), (3, None)])
def test_terminal_links_equal_brute_force_greedy(T, B):
    rng = np.random.default_rng(5)
    rel = rng.normal(size=(120, 3))
    rel = rel / np.linalg.norm(rel, axis=1)[:, None] * (WGS84_A_KM + 550)
    comp = rng.normal(size=(15, 3))
    comp = comp / np.linalg.norm(comp, axis=1)[:, None] * (WGS84_A_KM + 650)
    c, r, d = terminal_links(comp, rel, terminals=T, relay_terminals=B, max_range_km=2500.0)
    exp = _brute_greedy(comp, rel, T, B, 2500.0)
    got = set(zip(c.tolist(), r.tolist()))
    if T is not None and B is not None:
        # the brute force takes every candidate; the kernel looks at 4 x terminals nearest per node: the
        # same links unless a node's free relays all lie beyond its 4T nearest (not the case here)
        assert got == exp
    else:
        assert got == exp
    if T is not None:
        assert np.bincount(c, minlength=15).max() <= T
    if B is not None:
        assert np.bincount(r, minlength=120).max() <= B
    np.testing.assert_allclose(d, np.linalg.norm(comp[c] - rel[r], axis=1))


def test_network_odc_links_as_built_by_default():
    c = walker.walker_delta(53, 400, 20, 1, altitude_km=550)
    sc = ol.presets.get("suncatcher")
    tg = TimeGrid.at(["2026-01-01T00:00"])
    built = Network(c, odc=sc)  # defaults: 4 terminals, 1 per relay
    unlimited = Network(c, odc=sc, odc_terminals=None, odc_relay_terminals=None)
    legacy = Network(c, odc=sc, odc_max_links=2)
    _, sat, odc = next(built.positions(tg))
    kinds = [n.step(sat[0], odc[0]).link_kind for n in (built, unlimited, legacy)]
    assert [int((k == 1).sum()) for k in kinds[:1]] == [4]
    assert int((kinds[1] == 1).sum()) > 4 and int((kinds[2] == 1).sum()) == 2


# =============================================================================
# nearest compute == brute force
# =============================================================================
def _brute_rtt(res, placement, users, relays, tg, delays, mask=25.0, isl="plus_grid"):
    """Every link of every step in a networkx graph; multi-source Dijkstra from the compute nodes."""
    from orbitlat.visibility.engine import SiteIndex, visible_pairs

    idx = SiteIndex.from_sites(users, min_elevation_deg=mask)
    net = Network(relays, isl=isl) if relays is not None else None
    N = 0 if relays is None else relays.size
    hop, link = delays.hop_delay_ms, delays.hop_delay_ms + 0.5 * delays.isl_hop_ms
    user = hop + 0.5 * delays.access_ms
    out = np.full((len(tg), len(users)), np.nan)
    served = np.full((len(tg), len(users)), -1)
    # the same propagation chunks as nearest_compute (symmetric Walker shells have exactly tied link
    # lengths, which rounding differences of 1e-12 km would break differently)
    from orbitlat.latency.compute import _chunk_steps
    from orbitlat.orbits.stream import iter_positions

    cons = ([relays] if relays is not None else []) + placement.constellations()
    chunk = _chunk_steps(sum(c.size for c in cons))
    P = [np.concatenate([pos for _, pos, _ in iter_positions(c, tg, chunk=chunk)]) for c in cons]
    for k in range(len(tg)):
        rel = P[0][k] if relays is not None else np.empty((0, 3))
        comp_sets = [q[k:k + 1] for q in (P[1:] if relays is not None else P)]
        comp = placement.node_positions(comp_sets)[0] if comp_sets else np.empty((0, 3))
        G = nx.DiGraph()  # users only receive: ground sites never relay (Hypatia's rule)
        if net is not None:
            snap = net.step(rel)
            for a, b, km in zip(snap.link_a, snap.link_b, snap.link_km):
                G.add_edge(("r", int(a)), ("r", int(b)), weight=km * MS + link)
                G.add_edge(("r", int(b)), ("r", int(a)), weight=km * MS + link)
        sources = []
        if isinstance(placement, OnRelays):
            sources = [("r", int(i)) for i in placement.compute_relays(relays)]
        else:
            sources = [("c", i) for i in range(comp.shape[0])]
            if N:
                c, r, d = terminal_links(comp, rel, terminals=placement.terminals,
                                         relay_terminals=placement.relay_terminals,
                                         max_range_km=placement.laser_range_km)
                for ci, ri, di in zip(c, r, d):
                    G.add_edge(("c", int(ci)), ("r", int(ri)), weight=di * MS + link)
                    G.add_edge(("r", int(ri)), ("c", int(ci)), weight=di * MS + link)
        vp = visible_pairs(idx, rel) if N else None
        if vp is not None:
            for u, s, km in zip(vp.site, vp.sat, vp.range_km):
                G.add_edge(("r", int(s)), ("u", int(u)), weight=km * MS + user)
        if placement.direct and comp.shape[0]:
            vc = visible_pairs(idx, comp)
            for u, s, km in zip(vc.site, vc.sat, vc.range_km):
                G.add_edge(("c", int(s)), ("u", int(u)), weight=km * MS + user)
        G.add_nodes_from(sources)
        dist, path = nx.multi_source_dijkstra(G, sources)
        for u in range(len(users)):
            if ("u", u) in dist:
                out[k, u] = 2 * dist[("u", u)]
                served[k, u] = path[("u", u)][0][1]
    return out, served


@pytest.fixture(scope="module")
def small_case():
    relays = walker.walker_delta(53, 240, 12, 1, altitude_km=550)
    users = GroundSites.cities(top=40)
    tg = TimeGrid.span("2026-01-01", "20min", "10min")
    return relays, users, tg


@pytest.mark.parametrize("which", ["clusters", "on_relays", "dedicated", "dedicated_no_direct", "direct_only"])
def test_nearest_compute_equals_brute_force(small_case, which):
    relays, users, tg = small_case
    delays = Delays(access_ms=10.0, isl_hop_ms=1.0, hop_delay_ms=0.1)
    sc = compact_cluster(81, radius_km=1.0, altitude_km=650, ltan_hours=18.0, name="dawn")
    noon = compact_cluster(81, radius_km=1.0, altitude_km=700, ltan_hours=12.0, name="noon")
    ded = walker.walker_delta(70, 60, 6, 1, altitude_km=1000, name="compute")
    placement, rel = {
        "clusters": (Clusters([sc, noon]), relays),
        "on_relays": (OnRelays(share=0.1), relays),
        "dedicated": (Dedicated(ded), relays),
        "dedicated_no_direct": (Dedicated(ded, direct=False, terminals=2), relays),
        "direct_only": (Dedicated(walker.walker_delta(53, 400, 20, 1, altitude_km=800)), None),
    }[which]
    res = nearest_compute(placement, users, rel, times=tg, delays=delays, paths="changes")
    got = res.rtt_ms.isel(dst=0).to_numpy()
    exp, served = _brute_rtt(res, placement, users, rel, tg, delays)
    np.testing.assert_allclose(got, exp, rtol=1e-12, equal_nan=True)
    assert np.isfinite(got).mean() > 0.2
    # the compute node served is the brute force's (global ids: relays, users, then compute nodes)
    node = res.rtt["compute_node"].to_numpy()
    ok = np.isfinite(exp)
    N = 0 if rel is None else rel.size
    want = np.where(served >= 0, served + (0 if which == "on_relays" else N + len(users)), -1)
    assert np.array_equal(node[ok], want[ok])
    # paths end at the node served and have space_hops + 1 links
    p = res.paths
    assert len(p) and (p["path"].map(lambda x: x[-1]).to_numpy() == node[
        np.searchsorted(tg.utc, p["time"].to_numpy()), res.rtt.indexes["src"].get_indexer(p["src"])]).all()
    assert res.rtt_ms.attrs["delays_included"] == "propagation, access, ISL hop, per-hop processing"


def test_unlimited_cluster_equals_the_orbital_datacenter_scenario(small_case):
    """One cluster with every relay in range: the existing router's answer (Dijkstra per user)."""
    relays, users, tg = small_case
    sc = ol.presets.get("suncatcher")
    a = nearest_compute(Clusters([sc], terminals=None, relay_terminals=None), users, relays, times=tg)
    b = ol.latency.orbital_datacenter(relays, users, cluster=sc, times=tg, odc_terminals=None,
                                      odc_relay_terminals=None)
    np.testing.assert_allclose(a.rtt_ms.isel(dst=0).to_numpy(), b.rtt_ms.isel(dst=0).to_numpy(), rtol=1e-12,
                               equal_nan=True)
    c = ol.latency.orbital_datacenter(relays, users, cluster=sc, times=tg)  # as built: 4 terminals
    d = nearest_compute(Clusters([sc]), users, relays, times=tg)
    np.testing.assert_allclose(c.rtt_ms.isel(dst=0).to_numpy(), d.rtt_ms.isel(dst=0).to_numpy(), rtol=1e-12,
                               equal_nan=True)
    # fewer links can only lengthen the best path
    assert bool((d.rtt_ms.fillna(1e9) >= a.rtt_ms.fillna(1e9) - 1e-9).all())


def test_terrestrial_baseline_is_each_users_best_data_centre(small_case):
    """Against several terrestrial data centres each user is compared with its best one: the
    terrestrial RTT is the element-wise minimum of the single-site runs (and names that site), the
    satellite side does not change, and "all" means every built-in data centre (a skeptic's baseline:
    the nearest cloud region, not one campus in Texas)."""
    relays, users, tg = small_case
    ded = walker.walker_delta(70, 60, 6, 1, altitude_km=1000, name="compute")
    runs = {q: nearest_compute(Dedicated(ded), users, relays, times=tg, datacenter=q)
            for q in ("stargate", "frankfurt", "singapore")}
    both = GroundSites.concat([GroundSites.datacenter(q) for q in runs])
    m = nearest_compute(Dedicated(ded), users, relays, times=tg, datacenter=both)
    single = np.stack([r.rtt["terrestrial_rtt_ms"].to_numpy() for r in runs.values()])
    np.testing.assert_array_equal(m.rtt["terrestrial_rtt_ms"].to_numpy(), single.min(axis=0))
    names = np.array([str(r.rtt["terrestrial_datacenter"].to_numpy()[0]) for r in runs.values()])
    assert np.array_equal(m.rtt["terrestrial_datacenter"].to_numpy(), names[single.argmin(axis=0)])
    np.testing.assert_array_equal(m.rtt_ms.to_numpy(), runs["stargate"].rtt_ms.to_numpy())
    assert m.rtt["terrestrial_rtt_ms"].attrs["datacenter"] == "the user's best of 3 data centres"
    a = nearest_compute(Dedicated(ded), users, relays, times=tg, datacenter="all")
    n_dc = len(GroundSites.datacenters())
    assert a.rtt["terrestrial_rtt_ms"].attrs["datacenter"] == f"the user's best of {n_dc} data centres"
    assert bool((a.rtt["terrestrial_rtt_ms"] <= m.rtt["terrestrial_rtt_ms"]).all())


@pytest.mark.parametrize("scheduler", ["threads", "processes"])
def test_nearest_compute_in_time_blocks_is_identical(scheduler):
    relays = walker.walker_delta(53, 1000, 25, 1, altitude_km=550)
    ded = walker.walker_delta(30, 3000, 30, 1, altitude_km=800, name="odc")
    users = GroundSites.cities(top=150)
    kw = dict(start="2026-01-01", duration="150min", step="60s", paths="changes")
    one = nearest_compute(Dedicated(ded), users, relays, **kw)
    blocks = nearest_compute(Dedicated(ded), users, relays, scheduler=scheduler, time_chunk=60, **kw)
    for v in ("rtt_ms", "compute_node", "first_hop", "space_hops", "compute_links"):
        assert np.array_equal(one.rtt[v].to_numpy(), blocks.rtt[v].to_numpy(), equal_nan=True), v
    assert blocks.rtt.attrs["parallel_tasks"] == 3
    assert blocks.rtt.attrs["parallel_scheduler"] == f"local {scheduler}"
    assert blocks.rtt.attrs["overhead"] == one.rtt.attrs["overhead"]
    assert len(one.unreachable) == len(blocks.unreachable)
    # path changes across the block boundaries counted as one run counts them, the same path rows
    assert np.array_equal(one.path_changes.to_numpy(), blocks.path_changes.to_numpy())
    pd.testing.assert_frame_equal(one.paths.reset_index(drop=True), blocks.paths.reset_index(drop=True))


def test_placements_from_presets_and_on_relays():
    assert isinstance(from_preset("starlink_v3_compute"), OnRelays)
    v3 = ol.presets.get("starlink_v3_compute")
    users = GroundSites.cities(top=20)
    r = nearest_compute(from_preset("starlink_v3_compute"), users, v3, start="2026-01-01", duration="5min",
                        step="5min")
    # compute on every relay: the nearest compute node is the first hop, zero space links
    ok = r.rtt["first_hop"] >= 0
    assert bool((r.rtt["space_hops"].where(ok) == 0).where(ok, True).all())
    assert bool((r.rtt["compute_node"] == r.rtt["first_hop"]).all())
    with pytest.raises(OrbitlatError, match="not a compute placement"):
        from_preset("kuiper")


def test_bad_placements_are_refused():
    users = GroundSites.cities(top=5)
    with pytest.raises(OrbitlatError, match="needs at least one cluster"):
        Clusters([])
    with pytest.raises(OrbitlatError, match=r"share=0 must be a fraction in \(0, 1\]"):
        OnRelays(share=0)
    with pytest.raises(OrbitlatError, match="terminals=0 must be a whole number"):
        Dedicated("three_body", terminals=0)
    with pytest.raises(OrbitlatError, match="no compute node in reach"):
        nearest_compute(Dedicated("three_body", direct=False), users, None, duration="5min", step="5min")
    # a placement that never reaches anyone: a cluster with 1 km lasers and no direct links
    with pytest.raises(OrbitlatError, match=r"no compute node in reach: not one user .* formed no laser link"):
        nearest_compute(Clusters([ol.presets.get("suncatcher")], laser_range_km=1.0, direct=False), users,
                        "iridium", start="2026-01-01", duration="10min", step="5min")
    with pytest.raises(OrbitlatError, match="give relays="):
        nearest_compute(OnRelays(), users, None)
    with pytest.raises(OrbitlatError, match=r"shells \['nope'\] are not in the relay constellation"):
        nearest_compute(OnRelays(shells=["nope"]), users, "iridium", duration="5min", step="5min")
    # a compute shell inside the relays' shell: overlapping shells
    kuiper = ol.presets.get("kuiper")
    with pytest.raises(OrbitlatError, match="overlapping shells"):
        nearest_compute(Dedicated(walker.walker_delta(42, 36, 6, 1, altitude_km=610.4)), users, kuiper,
                        duration="5min", step="5min")
    check_shells({"relays": kuiper, "compute": ol.presets.get("suncatcher")})  # 650 km SSO: clear of Kuiper
    # absurd sizes: refused with the estimate before anything is propagated
    big = walker.walker_delta(30, 200_000, 400, 1, altitude_km=1200)
    with pytest.raises(OrbitlatError, match=r"refused before starting: nearest_compute \(200,000 satellites .*"
                                            r"estimated to run .* days"):
        nearest_compute(Dedicated(big), GroundSites.cities(top=20000), None, start="2026-01-01", duration="60d",
                        step="10s")
