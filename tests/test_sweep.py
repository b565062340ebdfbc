"""Design sweeps: every row reproduces the single run of its design (nearest_compute, then the row's
numbers computed by hand from it; the sunlight figures from sunlit_fraction_over_year), the answer
table picks the fewest satellites, the Pareto front equals brute force, and the CLI runs it."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import orbitlat as ol
from orbitlat.errors import OrbitlatError
from orbitlat.ground.sites import GroundSites
from orbitlat.latency.compute import nearest_compute
from orbitlat.latency.results import weighted_quantile
from orbitlat.latency.routing import Delays
from orbitlat.latency.sweep import Design, answer, design_row, designs, sweep
from orbitlat.viz.pareto import pareto_front

SPAN = dict(start="2026-01-01", duration="30min", step="10min")


@pytest.fixture(scope="module")
def setup():
    users = GroundSites.cities(top=60)
    relays = ol.presets.get("iridium")
    items = designs("clusters", n_clusters=[1, 2], planes=[1, 2], altitude_km=[700.0]) \
        + designs("on_relays", share=[0.25]) + designs("dedicated", planes=[3], per_plane=[4], altitude_km=[1000.0],
                                                       inc_deg=[60.0])
    table = sweep(items, users, relays, delays=Delays(access_ms=17.0), sunlight_sample_days=120, **SPAN)
    return users, relays, items, table


def test_rows_reproduce_single_runs(setup):
    users, relays, items, table = setup
    assert list(table.index) == [d.label for d in items]
    epoch = relays.table["epoch"].max()
    for d in items:
        res = nearest_compute(d.placement(epoch=epoch), users, relays, delays=Delays(access_ms=17.0), **SPAN)
        row = design_row(res, design=d, relays=relays)
        got = table.loc[d.label]
        for k, v in row.items():
            if k in ("sunlit_fraction", "longest_eclipse_min", "design"):
                continue
            if isinstance(v, float):
                assert got[k] == pytest.approx(v, nan_ok=True, rel=1e-12), (d.label, k)
            else:
                assert got[k] == v, (d.label, k)
        # the row's numbers from the run, computed here by hand
        rtt = res.rtt_ms.isel(dst=0).to_numpy()
        pop = res.rtt["population"].to_numpy()
        terr = res.rtt["terrestrial_rtt_ms"].to_numpy()
        if np.isfinite(rtt).all():
            assert got["p50_ms"] == pytest.approx(weighted_quantile(rtt, np.broadcast_to(pop, rtt.shape), 0.5))
            assert got["served"] == pytest.approx(1.0)
        med = np.median(np.where(np.isfinite(rtt), rtt, np.inf), axis=0)
        ok = np.isfinite(terr)
        assert got["people_faster"] == pytest.approx((pop * ok * (med < terr)).sum() / (pop * ok).sum())
        assert got["satellites"] == d.satellites(relays)
    assert table.loc[items[0].label, "satellites"] == 81 and table.loc[items[-1].label, "satellites"] == 12
    assert "access" in table.attrs["satellite_delays"] and table.attrs["terrestrial_model"] == "routed"


def test_nearest_datacentre_columns(setup):
    """The second baseline: each user's best built-in data centre over the same terrestrial model,
    computed here from the model directly. Stargate is one of them, so it can only be nearer: the
    terrestrial median falls and fewer people are faster by satellite."""
    from orbitlat.latency.terrestrial import RoutedModel

    users, relays, items, table = setup
    dcs = GroundSites.datacenters()
    model = RoutedModel()
    near = np.nanmin(model.rtt_ms(users.lat_deg[:, None], users.lon_deg[:, None], dcs.lat_deg[None, :],
                                  dcs.lon_deg[None, :]), axis=1)
    epoch = relays.table["epoch"].max()
    d = items[0]
    res = nearest_compute(d.placement(epoch=epoch), users, relays, delays=Delays(access_ms=17.0), **SPAN)
    rtt = res.rtt_ms.isel(dst=0).to_numpy()
    pop = res.rtt["population"].to_numpy()
    med = np.median(np.where(np.isfinite(rtt), rtt, np.inf), axis=0)
    got = table.loc[d.label]
    assert got["people_faster_nearest_dc"] == pytest.approx((pop * (med < near)).sum() / pop.sum())
    assert got["nearest_dc_p50_ms"] == pytest.approx(float(weighted_quantile(near, pop, 0.5)))
    assert (table["nearest_dc_p50_ms"] < table["terrestrial_p50_ms"]).all()
    assert (table["people_faster_nearest_dc"] <= table["people_faster"]).all()
    assert str(len(dcs)) in table.attrs["nearest_datacenters"]


def test_sunlight_columns_are_the_year_figures(setup):
    from orbitlat.visibility.sunlight import sunlit_fraction_over_year

    users, relays, items, table = setup
    d = items[0]
    y = sunlit_fraction_over_year(d.representatives(relays), "2026-01-01", sample_days=120)
    assert table.loc[d.label, "sunlit_fraction"] == pytest.approx(y.sunlit_fraction)
    assert table.loc[d.label, "longest_eclipse_min"] == pytest.approx(y.daily["max_eclipse_s"].max() / 60)
    # a dawn-dusk orbit is sunlit longer than planes spread over all local times
    spread = [x for x in items if x.kind == "clusters" and x.planes == 2][0]
    assert table.loc[d.label, "sunlit_fraction"] > table.loc[spread.label, "sunlit_fraction"]


def test_answer_picks_the_fewest_satellites(setup):
    *_, table = setup
    a = answer(table, (0.5, 0.9, 0.99))
    for _, r in a.iterrows():
        g = table[table["kind"] == r["kind"]]
        ok = g[g["people_faster"] >= r["target"]]
        if len(ok):
            assert r["satellites"] == ok["satellites"].min()
        else:
            assert np.isnan(r["satellites"]) and r["achieved"] == g["people_faster"].max()


def test_pareto_front_equals_brute_force():
    rng = np.random.default_rng(2)
    t = pd.DataFrame({"satellites": rng.integers(1, 50, 60).astype(float), "p95_ms": rng.uniform(5, 200, 60)})
    t.loc[3, "p95_ms"] = np.inf
    got = pareto_front(t)
    for i in range(len(t)):
        xi, yi = t.loc[i, "satellites"], t.loc[i, "p95_ms"]
        dominated = ((t.satellites <= xi) & (t.p95_ms <= yi) & ((t.satellites < xi) | (t.p95_ms < yi))).any()
        assert got[i] == (np.isfinite(yi) and not dominated)


def test_pareto_plot_draws(setup, tmp_path):
    from orbitlat.viz.pareto import pareto_plot
    from orbitlat.viz.plots import save_figure

    *_, table = setup
    fig = pareto_plot(table, reference_ms=float(table["terrestrial_p50_ms"].iloc[0]))
    out = save_figure(fig, tmp_path / "p.png")
    assert out.stat().st_size > 10_000


def test_pareto_labels_do_not_overlap_and_stay_inside():
    """A front of seven designs with long labels (a full-resolution cluster sweep's shape): every
    front label is drawn or counted as left out, no two labels or a label and another design's
    marker overlap, every label lies inside the axes, and the parts every design shares move to the
    title instead of being repeated."""
    import matplotlib.pyplot as plt

    from orbitlat.viz.pareto import compact_labels, pareto_plot

    sats = np.array([81, 162, 162, 324, 324, 648, 648, 1296, 1296, 2592, 2592, 5184, 5184])
    p95 = np.array([178.7, 125.5, 132.4, 87.1, 97.8, 70.4, 77.7, 54.7, 60.0, 44.6, 51.7, 37.5, 50.5])
    planes = [1, 1, 2, 1, 4, 2, 4, 2, 4, 4, 2, 4, 2]
    names = [f"clusters {s // 81}x81 in {p} plane(s), 650 km sso LTAN 18h" for s, p in zip(sats, planes)]
    t = pd.DataFrame({"satellites": sats, "p95_ms": p95, "sunlit_fraction": np.linspace(0.75, 0.96, 13)},
                     index=pd.Index(names, name="design"))
    fig = pareto_plot(t, reference_ms=224.0, title="design sweep")
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = [x for x in ax.texts if x.get_text().startswith("clusters")]
    notes = [x for x in ax.texts if "left out" in x.get_text()]
    n_front = int(pareto_front(t).sum())
    left_out = int(notes[0].get_text().split()[0]) if notes else 0
    assert len(labels) + left_out == n_front and len(labels) >= n_front - 1
    assert "650 km sso LTAN 18h" in ax.get_title() and all("650 km" not in x.get_text() for x in labels)
    boxes = [x.get_window_extent(r) for x in labels]
    frame = ax.get_window_extent(r)
    for i, b in enumerate(boxes):
        assert frame.x0 <= b.x0 and b.x1 <= frame.x1 and frame.y0 <= b.y0 and b.y1 <= frame.y1
        for c in boxes[i + 1:]:
            assert not b.overlaps(c)
    assert compact_labels(["a, x", "b, x"]) == (["a", "b"], "x")
    assert compact_labels(["a, x", "b, y"]) == (["a, x", "b, y"], "")
    plt.close(fig)


def test_bad_designs():
    with pytest.raises(OrbitlatError, match="cannot be spread evenly"):
        Design("clusters", n_clusters=3, planes=2)
    with pytest.raises(OrbitlatError, match="not a design kind"):
        Design("balloons")
    with pytest.raises(OrbitlatError, match="unknown design parameter"):
        designs("clusters", n_cluster=[1])
    with pytest.raises(OrbitlatError, match="give relays="):
        sweep([Design("on_relays", share=0.5)], GroundSites.cities(top=5), None, **SPAN)


def test_cli_sweep(tmp_path):
    from typer.testing import CliRunner

    from orbitlat.cli.commands import app

    out = tmp_path / "s.csv"
    r = CliRunner().invoke(app, ["sweep", "--kind", "clusters", "--n-clusters", "1,2", "--planes", "1", "--users",
                                 "20", "--relays", "iridium", "--duration", "20min", "--step", "10min", "--sun-days",
                                 "0", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "fewest satellites" in r.output and len(pd.read_csv(out)) == 2
    bad = CliRunner().invoke(app, ["sweep", "--kind", "zeppelin"])
    assert bad.exit_code == 2 and "--kind 'zeppelin' is not known" in bad.output
