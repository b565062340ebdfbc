"""Export to Hypatia's satgenpy formats (orbitlat.export.hypatia), checked line by line against Hypatia.

Reference: the Hypatia repository (github.com/snkas/hypatia, MIT; commit 0ac531c), its satgenpy README
(file formats) and the ns-3 end-to-end test network in
``ns3-sat-sim/simulator/test_data/end_to_end/satellite_network_state/``: 17 Kuiper-630 satellites
(catalog numbers below, i.e. satellites 183.. of the 34 x 34 shell), 20 ISLs, ground stations Manila
and Dalian, GSLs by slant range up to 1,260 km, ``dynamic_state_100ms_for_200s`` computed by satgenpy
with ``algorithm_free_one_only_over_isls``. The expected lines quoted below are copied from those files.

Over the whole 200 s (2,000 steps, run when developing the exporter) 1,996 of orbitlat's 2,000 fstate
files are byte-identical to satgenpy's and the other two steps differ by one step (0.1 s) where a
satellite crosses the 1,260 km GSL range: satgenpy measures with pyephem, orbitlat with python-sgp4 and
WGS84 stations, which differ there by ~70 m (1,260.07 km against < 1,260 km at t = 10.6 s for satellite
10 and Manila). The tests below run the first 20 s (200 steps) and allow exactly that one-step shift.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.export.hypatia import read_hypatia, write_hypatia
from orbitlat.ground.sites import GroundSites
from orbitlat.latency import hypatia as hy
from orbitlat.latency.network import Network

CATALOG = [184, 185, 216, 217, 218, 219, 250, 251, 616, 617, 648, 649, 650, 651, 683, 684, 685]
ISLS = [(0, 1), (0, 4), (1, 5), (2, 3), (2, 6), (3, 4), (3, 7), (4, 5), (6, 7), (8, 9), (8, 12), (9, 13),
        (10, 11), (11, 12), (11, 14), (12, 13), (12, 15), (13, 16), (14, 15), (15, 16)]
GROUND_STATIONS_TXT = [
    "0,Manila,14.604200,120.982200,0.000000,-3177879.424386,5292603.275242,1597759.166873",
    "1,Dalian,38.913811,121.602322,0.000000,-2604036.495133,4232416.568615,3984875.526585",
]
DESCRIPTION_TXT = "max_gsl_length_m=1260000.0000000000\nmax_isl_length_m=5442958.2030362869\n"
ISL_COUNTS = [2, 2, 2, 3, 3, 2, 2, 2, 2, 2, 1, 3, 4, 3, 2, 3, 2]   # gsl_if_bandwidth_0.txt, 2nd column
FSTATE_0 = """0,17,1,0,0 0,18,4,1,0 1,17,17,2,0 1,18,0,0,0 2,17,3,0,0 2,18,6,1,0 3,17,4,1,1 3,18,7,2,0 4,17,0,0,1
4,18,18,3,0 5,17,1,0,1 5,18,4,1,2 6,17,2,0,1 6,18,7,1,1 7,17,3,0,2 7,18,18,2,0 8,17,12,1,0 8,18,9,0,0 9,17,13,1,0
9,18,18,2,0 10,17,11,0,0 10,18,11,0,0 11,17,17,3,0 11,18,12,1,1 12,17,11,1,1 12,18,13,2,1 13,17,12,1,2
13,18,9,0,1 14,17,17,2,0 14,18,15,1,1 15,17,14,1,1 15,18,16,2,1 16,17,15,1,2 16,18,13,0,2 17,18,1,0,2
18,17,4,0,3""".split()
# the only non-empty delta files of satgenpy's first 20 s
DELTAS = {10_100_000_000: ["6,18,18,2,0"], 10_600_000_000: ["10,17,17,1,0"],
          18_000_000_000: ["4,17,5,2,1", "5,17,17,2,0", "17,18,5,0,2"]}


@pytest.fixture(scope="module")
def kuiper_test_net():
    c = hy.constellation("kuiper_630")[[n - 1 for n in CATALOG]]
    c.name = "Kuiper-630"
    net = Network(c, isl=np.array(ISLS), isl_max_km=5442.9582030362869, grazing_altitude_km=None,
                  earth_radius_km=hy.EARTH_RADIUS_KM, gsl_rule="range", gsl_max_range_km=1260.0, odc_gsl=False,
                  backend="sgp4")
    gs = GroundSites(["Manila", "Dalian"], [14.6042, 38.913811], [120.9822, 121.602322], alt_km=[0.0, 0.0])
    return net, gs


@pytest.fixture(scope="module")
def exported(kuiper_test_net, tmp_path_factory):
    net, gs = kuiper_test_net
    return write_hypatia(net, gs, tmp_path_factory.mktemp("hypatia"), duration="20s", step="100ms")


def test_static_files_are_hypatias_line_by_line(exported):
    tles = (exported / "tles.txt").read_text().splitlines()
    assert tles[0] == "1 17" and len(tles) == 1 + 3 * 17
    for k, n in enumerate(CATALOG):
        name, l1, l2 = tles[1 + 3 * k: 4 + 3 * k]
        assert name == f"Kuiper-630 {k}"
        assert l2 == hy.tle_lines("kuiper_630")[n - 1][2]          # byte-identical to satgenpy's line 2
        assert l1[2:7] == f"{n:05d}" and l1[18:32] == "00001.00000000"  # epoch 2000-01-01 00:00
    assert (exported / "isls.txt").read_text() == "".join(f"{a} {b}\n" for a, b in ISLS)
    assert (exported / "ground_stations.txt").read_text().splitlines() == GROUND_STATIONS_TXT
    assert (exported / "gsl_interfaces_info.txt").read_text().splitlines() == [f"{i},1,1.000000" for i in range(19)]
    assert (exported / "description.txt").read_text() == DESCRIPTION_TXT
    ds = exported / "dynamic_state_100ms_for_20s"
    assert (ds / "gsl_if_bandwidth_0.txt").read_text().splitlines() == (
        [f"{i},{n},1.000000" for i, n in enumerate(ISL_COUNTS)] + ["17,0,1.000000", "18,0,1.000000"])
    assert all((ds / f"gsl_if_bandwidth_{k * 100_000_000}.txt").read_text() == "" for k in range(1, 200))


def test_forwarding_state_is_satgenpys(exported):
    ds = exported / "dynamic_state_100ms_for_20s"
    files = sorted(ds.glob("fstate_*.txt"), key=lambda p: int(p.stem.split("_")[1]))
    assert len(files) == 200
    assert (ds / "fstate_0.txt").read_text().split() == FSTATE_0
    got = {int(p.stem.split("_")[1]): p.read_text().split() for p in files[1:] if p.read_text()}
    assert got.pop(10_100_000_000) == DELTAS[10_100_000_000]
    assert got.pop(18_000_000_000) == DELTAS[18_000_000_000]
    # the range-edge crossing: satgenpy at 10.6 s, orbitlat within one 0.1 s step (see the module doc)
    (t, lines), = got.items()
    assert lines == DELTAS[10_600_000_000] and abs(t - 10_600_000_000) <= 100_000_000


def _follow(state, src, dst, max_hops=200):
    path = [src]
    while path[-1] != dst:
        nxt = state.get((path[-1], dst), (-1,))[0]
        if nxt < 0 or len(path) > max_hops:
            return None
        path.append(nxt)
    return tuple(path)


def test_following_the_forwarding_state_gives_orbitlats_routes_and_interfaces(tmp_path):
    """A Walker 528/24/1 +Grid network and three cities: walking the exported next hops from each station to
    each other one reproduces orbitlat's own routes (same nodes, RTT from the same positions to 1e-9 ms),
    and every interface pair names the link satgenpy would (its ISLs in isls.txt order, then the GSL)."""
    c = ol.walker.walker_delta(53.0, 528, 24, 1, altitude_km=550.0)
    net = Network(c, isl="plus_grid", gsl_rule="elevation")
    gs = GroundSites(["Paris", "Luanda", "Lima"], [48.86, -8.84, -12.05], [2.35, 13.23, -77.04],
                     min_elevation_deg=10.0)
    out = write_hypatia(net, gs, tmp_path / "w", duration="120s", step="60s")
    got = read_hypatia(out)
    assert got["header"] == (24, 22) and got["step_ns"] == 60_000_000_000 and got["duration_s"] == 120
    N = c.size
    isls = got["isls"]
    # interface of node x towards neighbour y: position of the link among x's links, in file order
    own = {}
    for a, b in isls.tolist():
        own[(a, b)] = sum(1 for p in own if p[0] == a)
        own[(b, a)] = sum(1 for p in own if p[0] == b)
    n_isl = np.bincount(isls.ravel(), minlength=N)
    res = ol.latency.route(net, gs, None, times=ol.TimeGrid(c.table["epoch"].iloc[0] + np.array(
        [0, 60], "timedelta64[s]")), paths="all")
    state, compared = {}, 0
    for t, df in got["fstate"].items():
        for r in df.itertuples(index=False):
            state[(r.current, r.destination)] = (r.next_hop, r.current_interface, r.next_hop_interface)
            if r.next_hop < 0:
                continue
            if r.current < N and r.next_hop < N:
                assert (r.current_interface, r.next_hop_interface) == (own[(r.current, r.next_hop)],
                                                                         own[(r.next_hop, r.current)])
            elif r.current < N:
                assert (r.current_interface, r.next_hop_interface) == (n_isl[r.current], 0)
            else:
                assert (r.current_interface, r.next_hop_interface) == (0, n_isl[r.next_hop])
        when = np.datetime64("2026-01-01T00:00:00", "ns") + np.timedelta64(t, "ns")
        rows = res.paths[res.paths["time"] == when]
        for r in rows.itertuples(index=False):
            s, d = int(res.rtt["src_node"].sel(src=r.src)), int(res.rtt["src_node"].sel(src=r.dst))
            walked = _follow(state, s, d)
            assert walked == tuple(int(x) for x in r.path), (t, r.src, r.dst)
            compared += 1
    assert compared >= 8  # 6 ordered pairs x 2 steps, a few may lack a path


def test_bad_exports_say_why(kuiper_test_net, tmp_path):
    net, gs = kuiper_test_net
    with pytest.raises(OrbitlatError, match="nearest-k"):
        write_hypatia(Network(net.constellation, isl="nearest_k"), gs, tmp_path / "a", duration="1s")
    with pytest.raises(OrbitlatError, match="whole milliseconds"):
        write_hypatia(net, gs, tmp_path / "b", duration="1s", step="0.5ms")
    mixed = ol.Constellation.concat([net.constellation[[0]], ol.walker.walker_delta(53, 3, 1, 0, altitude_km=550)])
    with pytest.raises(OrbitlatError, match="one epoch"):
        write_hypatia(Network(mixed, isl="none"), gs, tmp_path / "c", duration="1s")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(OrbitlatError, match="not empty"):
        write_hypatia(net, gs, tmp_path / "d", duration="1s")


def test_the_tles_read_back_propagate_like_the_network(exported, kuiper_test_net):
    net, _ = kuiper_test_net
    back = ol.Constellation.from_tle(read_hypatia(exported)["tle_text"])
    kw = dict(start="2000-01-01", duration="10min", step="5min", frame="ITRS", backend="sgp4")
    a = back.propagate(**kw)["position"].to_numpy()
    b = net.constellation.propagate(**kw)["position"].to_numpy()
    np.testing.assert_allclose(a, b, atol=1e-9)  # the same TLE lines: the same orbits
    assert isinstance(read_hypatia(exported)["ground_stations"], pd.DataFrame)
