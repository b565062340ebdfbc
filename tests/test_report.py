"""The HTML report (`orbitlat report --quick`, built once for the module): self-contained page, every
figure referenced and non-blank, conclusions that quote the computed numbers, results checked against
physical bounds and docs/references.md, and a headless-Chromium render showing the images."""
from __future__ import annotations

import html.parser
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CHROMIUM = Path("/usr/bin/chromium")


class _Refs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.img: list[str] = []
        self.external: list[str] = []
        self.tags: set[str] = set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "img":
            self.img.append(a.get("src", ""))
        for key in ("src", "href"):
            v = a.get(key) or ""
            if tag in ("img", "script", "link", "iframe", "source", "embed", "object") and re.match(r"^(https?:)?//", v):
                self.external.append(v)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Build the quick report once, through the CLI, with progress forced (as in a CI log)."""
    typer = pytest.importorskip("typer", reason="the CLI needs the cli extra: pip install 'orbitlat[cli]'")  # noqa: F841
    from typer.testing import CliRunner

    from orbitlat.cli import app

    out = tmp_path_factory.mktemp("report")
    res = CliRunner().invoke(app, ["report", "--quick", "--out", str(out), "--progress"])
    assert res.exit_code == 0, (res.stdout, res.stderr, res.exception)
    return out, res


def test_progress_and_output(report):
    out, res = report
    assert f"wrote {out / 'index.html'}" in res.stdout
    from orbitlat.report import STAGES

    n = len(STAGES)
    assert "report:" in res.stderr and f"{n}/{n}" in res.stderr  # the rich bar, stage by stage, finished


def test_index_references_every_png_and_nothing_external(report):
    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    p = _Refs()
    p.feed(page)
    pngs = sorted(x.name for x in out.glob("*.png"))
    assert len(pngs) >= 9
    gifs = sorted(x.name for x in out.glob("*.gif"))
    assert gifs == ["orbit_timelapse.gif"]  # the time-lapse of one orbit (orbitlat.viz.animate)
    assert sorted(p.img) == sorted(pngs + gifs), "every image written is shown, and every image shown exists"
    assert all(not s.startswith("/") and "/" not in s for s in p.img), "relative paths next to index.html"
    assert not p.external and "script" not in p.tags and "link" not in p.tags  # offline, no CDN, inline CSS
    assert "<style>" in page
    for section in ("Conclusions", "Coverage", "Latency", "Sunlight", "How many orbital data centres", "Provenance",
                    "Choices made"):
        assert section in page


def test_pngs_are_not_blank(report):
    from matplotlib.image import imread

    out, _ = report
    for f in out.glob("*.png"):
        img = imread(f)[..., :3]
        assert img.shape[0] > 200 and img.shape[1] > 400, f.name
        # a figure is mostly white; a drawn one has at least 2% of its pixels clearly non-white and
        # several distinct colours (a blank or single-colour canvas fails both)
        nonwhite = (img.min(axis=-1) < 0.9).mean()
        q = (img * 255).astype(np.uint32)
        colours = len(np.unique(q[..., 0] << 16 | q[..., 1] << 8 | q[..., 2]))
        assert nonwhite > 0.02 and colours > 20, (f.name, nonwhite, colours)


def test_conclusions_quote_the_computed_numbers(report):
    out, _ = report
    n = json.loads((out / "numbers.json").read_text())
    concl = " ".join(n["conclusions"])
    page = (out / "index.html").read_text(encoding="utf-8")
    lat = n["latency"]
    for key in ("fiber to Stargate", "ISL to Stargate", "orbital DC (relays)"):
        assert f"{lat[key]['p50 (ms)']:.1f} ms" in concl, key
    assert f"{100 * lat['share_odc_beats_isl']:.1f} %" in concl
    assert f"{100 * n['sunlight']['sunlit_fraction']:.2f} %" in concl
    # the page shows the same sentences (HTML-escaped)
    import html as _html

    for s in n["conclusions"]:
        assert _html.escape(s) in page


def test_tables_agree_with_physics_and_references(report):
    out, _ = report
    n = json.loads((out / "numbers.json").read_text())
    per_user = pd.read_csv(out / "latency_per_user.csv")
    from orbitlat.ground import GroundSites

    users = GroundSites.cities(top=len(per_user))
    assert per_user.city.tolist() == users.names.tolist()
    # nothing beats light in vacuum along the great circle (c = 299,792.458 km/s, R = 6371.0088 km)
    lat1, lon1 = np.radians(users.lat_deg), np.radians(users.lon_deg)
    lat2, lon2 = np.radians(32.507), np.radians(-99.778)
    a = np.sin((lat2 - lat1) / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    bound = 2 * 2 * 6371.0088 * np.arcsin(np.sqrt(a)) / 299792.458 * 1000
    assert np.all(per_user["ISL to Stargate p50 (ms)"] >= bound)
    # the fiber column is the routed terrestrial model (the default), never faster than fiber along the great
    # circle (2 d n / c, n = 1.468: docs/references.md); the simple model's closed form 2 d s / (c / 1.468) +
    # overhead is reported beside it for the comparison
    from orbitlat.latency.terrestrial import RoutedModel
    from orbitlat.latency.terrestrial.simple import DEFAULT_OVERHEAD_MS, DEFAULT_STRETCH

    d_km = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    routed = RoutedModel().rtt_ms(users.lat_deg, users.lon_deg, 32.507, -99.778)
    np.testing.assert_allclose(per_user["fiber to Stargate p50 (ms)"], routed, rtol=1e-9)
    assert np.all(per_user["fiber to Stargate p50 (ms)"] >= 2 * d_km * 1.468 / 299792.458 * 1000)
    t = n["latency"]["terrestrial"]
    assert t["model"] == "routed" and t["other_model"] == "simple"
    simple = 2 * d_km * DEFAULT_STRETCH / (299792.458 / 1.468) * 1000 + DEFAULT_OVERHEAD_MS
    w = users.population.astype(float)
    from orbitlat.latency import weighted_quantile

    assert t["simple"]["fiber_p50_ms"] == pytest.approx(float(weighted_quantile(simple, w, 0.5)), rel=1e-9)
    assert t["routed"]["fiber_p50_ms"] == pytest.approx(float(weighted_quantile(routed, w, 0.5)), rel=1e-9)
    assert t["cv_median_abs_pct_error"]["routed"] < t["cv_median_abs_pct_error"]["simple"]
    # the orbital data centre flies at 650 km: every round trip is at least 2 x 650 km at c
    assert per_user["orbital DC (relays) p50 (ms)"].min() > 2 * 650 / 299792.458 * 1000
    # docs/references.md: a dawn-dusk SSO has one eclipse season, around the June solstice
    seasons = n["sunlight"]["seasons"]
    assert len(seasons) == 1 and seasons[0]["first_day"] < "2026-06-21" < seasons[0]["last_day"]
    assert 0.9 < n["sunlight"]["sunlit_fraction"] < 1.0
    # Kuiper's highest shell is inclined 51.9°: it cannot cover the poles, Starlink's polar shells do
    cov = n["coverage"]
    assert cov["kuiper"]["area always covered"] < 0.95 and cov["starlink_gen1"]["area always covered"] > 0.999
    assert cov["kuiper"]["continuous up to latitude (°)"] < 70


def test_build_report_rejects_bad_settings(tmp_path):
    from orbitlat.errors import OrbitlatError
    from orbitlat.report.build import build_report

    with pytest.raises(OrbitlatError, match="unknown report setting"):
        build_report(tmp_path, quick=True, colour="red")
    with pytest.raises(OrbitlatError, match="unknown preset"):
        build_report(tmp_path, quick=True, constellations=("starlink_gen1", "nosuch"))
    with pytest.raises(OrbitlatError, match="users=1"):
        build_report(tmp_path, quick=True, users=1)
    f = tmp_path / "file.txt"
    f.write_text("x")
    with pytest.raises(OrbitlatError, match="not a folder"):
        build_report(f, quick=True)


# ---------------------------------------------------------------------------
# headless Chromium: the page renders with its images
# ---------------------------------------------------------------------------
def _chromium(args: list[str], tmp: Path, timeout: float = 90.0) -> subprocess.CompletedProcess:
    cmd = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={tmp / 'profile'}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "HOME": str(tmp)})


@pytest.fixture()
def chromium():
    if not CHROMIUM.exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (Debian: apt-get install -y chromium); "
                    "the render test needs it")
    return CHROMIUM


def test_chromium_decodes_every_image(report, chromium, tmp_path):
    """Load a copy of the page with a small script that writes each image's decoded size into the DOM,
    and dump the DOM: every image must have been loaded and decoded (naturalWidth > 0)."""
    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    probe = ("<script>window.addEventListener('load',function(){var r=[];for(var i of document.images)"
             "{r.push(i.getAttribute('src')+'='+i.naturalWidth+'x'+i.naturalHeight+':'+i.complete)}"
             "var p=document.createElement('pre');p.id='imgprobe';p.textContent=r.join('\\n');"
             "document.body.appendChild(p)});</script>")
    site = tmp_path / "site"
    shutil.copytree(out, site)
    (site / "probe.html").write_text(page.replace("</body>", probe + "</body>"), encoding="utf-8")
    res = _chromium(["--virtual-time-budget=15000", "--dump-dom", (site / "probe.html").as_uri()], tmp_path)
    m = re.search(r"<pre id=\"imgprobe\">(.*?)</pre>", res.stdout, re.S)
    assert m, f"no probe output; stderr: {res.stderr[-2000:]}"
    rows = [x for x in m.group(1).strip().splitlines() if x]
    assert len(rows) == len(list(out.glob("*.png"))) + len(list(out.glob("*.gif")))  # the GIF decodes too
    for row in rows:
        src, rest = row.split("=")
        size, complete = rest.split(":")
        w, h = (int(v) for v in size.split("x"))
        assert complete == "true" and w > 400 and h > 200, row


def test_chromium_screenshot_shows_the_images(report, chromium, tmp_path):
    """Screenshot the page, and the same page with every figure replaced by a white PNG of the same
    size (same layout): the difference in non-white pixels is what the rendered figures draw."""
    from matplotlib.image import imread, imsave

    out, _ = report
    page = (out / "index.html").read_text(encoding="utf-8")
    site = tmp_path / "site"
    shutil.copytree(out, site)
    blank = tmp_path / "blank"
    blank.mkdir()
    for f in out.glob("*.png"):
        h, w = imread(f).shape[:2]
        imsave(blank / f.name, np.ones((h, w, 3)))
    shutil.copytree(blank, site / "blank")
    (site / "blank.html").write_text(re.sub(r"src='([^']+\.png)'", r"src='blank/\1'", page), encoding="utf-8")
    shots = {}
    for name in ("index.html", "blank.html"):
        png = tmp_path / f"{name}.png"
        res = _chromium([f"--screenshot={png}", "--window-size=1200,3000", "--hide-scrollbars",
                         "--virtual-time-budget=15000", (site / name).as_uri()], tmp_path)
        assert png.exists(), res.stderr[-2000:]
        img = imread(png)[..., :3]
        assert img.shape[:2] == (3000, 1200)
        shots[name] = img
    nonwhite = {k: (v.min(axis=-1) < 0.9).mean() for k, v in shots.items()}
    # the same layout: text and tables are identical, so the pages differ only inside the figures; the
    # first 3000 px hold a coverage map and the top of the next (measured: +4 % of the screenshot's
    # pixels are non-white with the figures; a blank or unloaded figure adds nothing)
    assert nonwhite["index.html"] > nonwhite["blank.html"] + 0.02, nonwhite
    differs = np.abs(shots["index.html"] - shots["blank.html"]).max(axis=-1) > 0.1
    rows = np.nonzero(differs.any(axis=1))[0]
    assert rows.size > 300, "the figures occupy hundreds of rows of the screenshot"


def test_design_section_is_computed_from_the_sweep(report):
    """The designs table and its answer sentences come from the run (designs.csv, numbers.json)."""
    import json

    import pandas as pd

    from orbitlat.latency.sweep import answer
    from orbitlat.report.compute_study import TARGETS, answer_sentences

    out, _ = report
    t = pd.read_csv(out / "designs.csv", index_col=0)
    nums = json.loads((out / "numbers.json").read_text())["designs"]
    dc = nums["settings"]["terrestrial"].removeprefix("terrestrial RTT to ")
    assert nums["sentences"] == answer_sentences(answer(t, TARGETS), t, dc)
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "designs_pareto.png" in page and (out / "designs_pareto.png").exists()


def test_design_sentences_follow_the_numbers():
    import numpy as np
    import pandas as pd

    from orbitlat.latency.sweep import answer
    from orbitlat.report.compute_study import answer_sentences

    t = pd.DataFrame({"kind": ["clusters", "clusters", "on_relays"], "satellites": [81, 324, 44],
                      "people_faster": [0.6, 0.95, 0.3], "p95_ms": [np.inf, 70.0, 48.0],
                      "sunlit_fraction": [0.97, 0.97, 0.72]}, index=["one", "four", "relays"])
    s = answer_sentences(answer(t, (0.5, 0.9, 0.99)), t, "Stargate")
    assert s[0].startswith("Suncatcher-like clusters beat Stargate") and "50% of people: 81 satellites (one; p95 " \
        "unbounded" in s[0] and "90% of people: 324 satellites (four; p95 70 ms)" in s[0]
    assert "99% of people: not reached by any design swept (best 95.0%)" in s[0]
    assert "50% of people: not reached by any design swept (best 30.0%)" in s[1]
    assert s[-1].startswith("Lowest tail latency in the sweep: relays (p95 48.0 ms, 44 satellites")
    assert not any("nearest of the built-in" in x for x in s)  # no second baseline in the table: no sentence
    # with the nearest-data-centre baseline: the design faster for the most people against it, fewest satellites first
    t = t.assign(people_faster_nearest_dc=[0.1, 0.4, 0.4], nearest_dc_p50_ms=25.9, terrestrial_p50_ms=224.3,
                 p50_ms=[100.0, 60.0, 30.0])
    s = answer_sentences(answer(t, (0.5, 0.9, 0.99)), t, "Stargate")
    near = [x for x in s if "nearest of the built-in" in x]
    assert len(near) == 1 and "terrestrial median 25.9 ms against 224.3 ms to Stargate alone" in near[0]
    assert "relays (44 satellites, median 30.0 ms), is faster for 40.0% of people" in near[0]

# ---------------------------------------------------------------------------
# the latency study, like for like (orbitlat.report.latency_study)
# ---------------------------------------------------------------------------
def test_latency_is_like_for_like_with_sensitivity_variability_and_both_populations(report):
    out, _ = report
    n = json.loads((out / "numbers.json").read_text())
    lat = n["latency"]
    # the skeptic's baseline: each city's nearest built-in data centre is at least as near as Stargate
    assert lat["nearest_dc_fiber_p50"] <= lat["fiber to Stargate"]["p50 (ms)"]
    assert 0.0 <= lat["share_odc_beats_nearest_dc"] <= lat["share_odc_beats_fiber"]
    assert lat["nearest_dc_count"] >= 27
    from orbitlat.latency.overhead import ACCESS_MS, ACCESS_MS_HIGH

    # every satellite scenario carries the calibrated access overhead, and the page says so
    assert lat["overhead"]["overhead"] == "calibrated" and lat["overhead"]["delays_included"] == "propagation, access"
    page = (out / "index.html").read_text(encoding="utf-8")
    assert "What every RTT includes" in page and "propagation, access" in page
    # the bent pipe lands at Starlink's real gateways (built-in StarPerf list: 217 sites)
    assert "217 Starlink gateway sites" in lat["gateways"]
    # sensitivity: per-terminal delays change no path, so 'none' and 'high' bent pipe are exact shifts
    g = lat["sensitivity"]["overhead"]
    assert g["bent pipe to Stargate|none"] == pytest.approx(g["bent pipe to Stargate|calibrated"] - ACCESS_MS, abs=1e-9)
    assert g["bent pipe to Stargate|high"] == pytest.approx(
        g["bent pipe to Stargate|calibrated"] + ACCESS_MS_HIGH - ACCESS_MS, abs=1e-9)
    assert g["ISL to Stargate|none"] < g["ISL to Stargate|calibrated"] < g["ISL to Stargate|high"]
    assert g["fiber to Stargate|none"] == g["fiber to Stargate|high"]
    links = lat["sensitivity"]["odc_links"]
    assert set(links) == {"2 links", "4 links", "unlimited (every relay in range)"}
    # fewer laser links can only lengthen (or cut) the routes: medians never drop below unlimited
    assert links["2 links"]["p50 (ms)"] >= links["unlimited (every relay in range)"]["p50 (ms)"] - 1e-9
    # variability per routing step: the per-step p50 spans its min..max, p95 >= p50
    for name, v in lat["per_step"].items():
        assert v["p50: min"] <= v["p50: median over steps"] <= v["p50: max"] <= v["p95: max"] + 1e-9, name
    # both populations: cities and every person (GPW), with the source named
    assert "GPW v4.11" in lat["people"]["source"] and lat["people"]["population"] == pytest.approx(7.97e9, rel=1e-3)
    t = pd.read_csv(out / "latency_cities_vs_people.csv", index_col=0)
    assert {"cities p50 (ms)", "people p50 (ms)"} <= set(t.columns)
    # as deployed: dish -> PoP <= dish -> Stargate for every user; the US figure is next to the published one
    pu = pd.read_csv(out / "latency_per_user.csv")
    ok = pu["dish to PoP p50 (ms)"].notna()
    assert (pu.loc[ok, "dish to PoP p50 (ms)"] <= pu.loc[ok, "Starlink as deployed to Stargate p50 (ms)"] + 1e-9).all()
    c = pd.read_csv(out / "dish_to_pop_by_country.csv", index_col=0)
    assert "US" in c.index and "25.7 ms" in c.loc["US", "published"]
    assert 15.0 < c.loc["US", "p50 (ms)"] < 40.0  # calibrated on the US: near the published 25.7 ms


def _lat_numbers(bent_p50: float, same_fiber: float, *, reachable: float = 0.66) -> dict:
    sc = lambda p50, p95=None, r=1.0: {"p50 (ms)": p50, "p95 (ms)": p95 or p50 + 20, "p99 (ms)": p50 + 30,
                                       "mean (ms)": p50, "reachable": r}
    return {"users": 1000, "population": 1.8e9, "fiber to Stargate": sc(230.0), "ISL to Stargate": sc(105.0),
            "bent pipe to Stargate": sc(bent_p50, r=reachable), "bent_pipe_fiber_same_samples_p50": same_fiber,
            "Starlink as deployed to Stargate": sc(240.0), "orbital DC (relays)": sc(90.0),
            "orbital DC (direct link only)": sc(7.0, r=0.01), "share_isl_beats_fiber": 1.0,
            "share_odc_beats_isl": 0.8, "share_odc_beats_fiber": 0.95,
            "overhead": {"overhead": "calibrated", "access_ms": 17.0},
            "as_deployed": {"dish_to_pop": sc(40.0), "isl_share": 0.3, "pops_used": 13, "us_dish_to_pop_p50": 25.0,
                            "published_us_median": 25.7}}


_CTX = {"dc_name": "Stargate", "relay": "starlink_gen1", "odc": "suncatcher", "gateway_note": "217 gateways",
        "odc_period_min": 97.7}


def test_bent_pipe_sentence_follows_the_sign_of_the_numbers():
    # Made-up numbers on both sides: the sentence's verdict and explanation must follow the sign of
    # (bent pipe - fiber over the same samples), and quote the difference
    from orbitlat.report.latency_study import bent_pipe_sentence, sentences

    wins = bent_pipe_sentence(_lat_numbers(180.0, 200.0), _CTX)
    assert "20.0 ms faster" in wins and "slower" not in wins and "replaces" in wins
    loses = bent_pipe_sentence(_lat_numbers(236.0, 225.9), _CTX)
    assert "10.1 ms slower" in loses and "faster" not in loses and "add delay" in loses
    assert "only 66.0 %" in loses and "ISLs or gateways near every user" in loses
    full = bent_pipe_sentence(_lat_numbers(236.0, 225.9, reachable=0.95), _CTX)
    assert "only" not in full and "95.0 %" in full and "gateways near every user" not in full
    assert "never reached" in bent_pipe_sentence(_lat_numbers(float("nan"), float("nan")), _CTX)
    # the whole set: ISL faster than fiber here; swap them and the words swap
    s = " ".join(sentences(_lat_numbers(180.0, 200.0), _CTX))
    assert "105.0 ms over starlink_gen1's inter-satellite links (faster by 125.0 ms" in s
    lat = _lat_numbers(180.0, 200.0)
    lat["ISL to Stargate"]["p50 (ms)"] = 260.0
    s2 = " ".join(sentences(lat, _CTX))
    assert "(slower by 30.0 ms" in s2 and "faster by 125.0" not in s2
    # as deployed is slower than fiber in one case and faster in the other
    assert "slower than fiber by 10.0 ms" in s
    lat["Starlink as deployed to Stargate"]["p50 (ms)"] = 200.0
    assert "faster than fiber by 30.0 ms" in " ".join(sentences(lat, _CTX))
    lat.update(nearest_dc_count=27, nearest_dc_fiber_p50=25.9, share_odc_beats_nearest_dc=0.12)
    assert "nearest of the 27 built-in data centres over the ground (Stargate and the cloud regions: median " \
        "25.9 ms) it is faster for only 12.0 %" in " ".join(sentences(lat, _CTX))


def test_sensitivity_sentence_names_the_unreachable_share():
    from orbitlat.report.latency_study import sensitivity_sentence

    g = {f"{n}|{o}": v for n, vals in {"ISL to Stargate": (90.0, 107.0, 123.0), "orbital DC (relays)": (75.0, 92.0, 101.0),
                                        "fiber to Stargate": (234.0, 234.0, 234.0)}.items()
         for o, v in zip(("none", "calibrated", "high"), vals)}
    links = {"2 links": {"p50 (ms)": 110.0, "reachable": 0.9}, "4 links": {"p50 (ms)": 101.0, "reachable": 0.95},
             "unlimited (every relay in range)": {"p50 (ms)": 92.0, "reachable": 1.0}}
    s = sensitivity_sentence(g, links, _CTX)
    assert "would be 90.0 ms instead of 107.0 ms" in s
    # the headline's own link count is named with its figures, then every relay in range and the fewest links
    assert "headline uses 4 laser links (101.0 ms, 5.0 % of the user-time unreachable)" in s
    assert "every relay in range its median would be 92.0 ms, with 2 links 110.0 ms, 10.0 % of the user-time " \
        "unreachable" in s
    del links["4 links"]  # no headline row among the limits: the plain comparison with every relay in range
    s = sensitivity_sentence(g, links, _CTX)
    assert "from 92.0 to 110.0 ms" in s and "10.0 % of the user-time becomes unreachable" in s


def test_report_names_the_access_on_each_side():
    """The report says which access each side carries, with the shipped calibration's numbers: the
    terrestrial model's fitted overhead (RIPE Atlas rtt_min) against the satellite access overhead
    (Starlink's published median minus the modelled geometry), and which way the asymmetry leans."""
    from orbitlat.latency.overhead import ACCESS_MS
    from orbitlat.latency.terrestrial.routed import CALIBRATION
    from orbitlat.report.build import ReportConfig

    for quick in (True, False):
        note = [c for c in ReportConfig.default(quick).choices if c.startswith("Access on each side")]
        assert len(note) == 1
        assert f"({CALIBRATION['overhead_ms']:g} ms)" in note[0] and f"({ACCESS_MS:g} ms per terminal)" in note[0]
        assert "favours the terrestrial side" in note[0]
