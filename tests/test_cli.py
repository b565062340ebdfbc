"""The `orbitlat` command line (typer's CliRunner): good paths checked against outside references
(Skyfield for passes, the closed-form mean number in view for coverage, the vacuum light-time bound
for latency, docs/references.md for inferred shells), bad input (exit 2, one line on stderr), unexpected
errors (exit 1), progress bars when forced, and `tle fetch` against a local HTTP server."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import xarray as xr

typer = pytest.importorskip("typer", reason="the CLI needs the cli extra: pip install 'orbitlat[cli]'")
from typer.testing import CliRunner  # noqa: E402

from orbitlat.cli import app  # noqa: E402
from conftest import synthetic_tle_text  # noqa: E402

ISS = [
    "ISS (ZARYA)",
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
]


@pytest.fixture()
def run(monkeypatch):
    monkeypatch.delenv("ORBITLAT_PROGRESS", raising=False)
    monkeypatch.delenv("ORBITLAT_DEBUG", raising=False)
    runner = CliRunner()

    def _run(*args, ok=True):
        res = runner.invoke(app, [str(a) for a in args])
        if ok and res.exit_code != 0:
            raise AssertionError(f"exit {res.exit_code}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}\n{res.exception!r}")
        return res

    return _run


def _assert_bad_input(res, match: str):
    """Exit code 2 and exactly one line 'orbitlat: error: ...' on stderr, naming the problem."""
    assert res.exit_code == 2, (res.exit_code, res.stdout, res.stderr)
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("orbitlat: error: "), res.stderr
    assert match in lines[0], lines[0]


@pytest.fixture(scope="module")
def iss_tle(tmp_path_factory):
    p = tmp_path_factory.mktemp("tle") / "iss.tle"
    p.write_text("\n".join(ISS) + "\n")
    return p


# ---------------------------------------------------------------------------
# help and presets
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("cmd, words", [
    ([], ["presets", "propagate", "passes", "coverage", "latency", "compare", "report", "tle", "Exit codes"]),
    (["propagate"], ["--tle", "--czml", "--format", "--out", "NetCDF"]),
    (["passes"], ["--city", "--site", "--sites", "--scheduler", "--min-elevation"]),
    (["coverage"], ["--resolution", "--map", "--scheduler", "NetCDF", "--population"]),
    (["latency"], ["--scenario", "bent-pipe", "orbital-dc", "city-pair", "--datacenter", "Stargate", "--scheduler"]),
    (["compare"], ["--users", "--scenario", "--tle"]),
    (["report"], ["--out", "--quick", "--gateways"]),
    (["tle", "inspect"], ["--inc-tol", "--out"]),
    (["tle", "fetch"], ["--url", "--cache-dir", "--force"]),
])
def test_help_explains_each_command(run, cmd, words):
    res = run(*cmd, "--help")
    for w in words:
        assert w in res.stdout, (w, res.stdout)


def test_presets_lists_all_and_writes(run, tmp_path):
    res = run("presets", "--out", tmp_path / "p.csv")
    for name in ("starlink_gen1", "kuiper", "oneweb", "suncatcher"):
        assert name in res.stdout
    df = pd.read_csv(tmp_path / "p.csv")
    # satellite counts from the filings (docs/references.md)
    assert dict(zip(df.preset, df.satellites))["starlink_gen1"] == 4408
    assert dict(zip(df.preset, df.satellites))["kuiper"] == 3236


# ---------------------------------------------------------------------------
# propagate
# ---------------------------------------------------------------------------
def test_propagate_outputs_by_extension_and_czml(run, tmp_path):
    res = run("propagate", "iridium", "--duration", "10min", "--step", "60s", "--out", tmp_path / "e.nc",
              "--czml", tmp_path / "i.czml")
    assert "propagated 66 satellites x 11 times" in res.stdout
    ds = xr.open_dataset(tmp_path / "e.nc")
    assert ds.position.shape == (11, 66, 3)
    # 780 km shell (docs/references.md): geocentric radius 6378.137 + 780 km within the J2 short-period wobble
    r = np.linalg.norm(ds.position.to_numpy(), axis=-1)
    assert np.all(np.abs(r - 7158.137) < 15.0)
    packets = json.loads((tmp_path / "i.czml").read_text())
    assert packets[0]["id"] == "document" and len(packets) == 67
    run("propagate", "iridium", "--duration", "2min", "--out", tmp_path / "e.parquet")
    df = pd.read_parquet(tmp_path / "e.parquet")
    assert len(df) == 3 * 66 and {"x_km", "y_km", "z_km", "time", "name"} <= set(df.columns)
    run("propagate", "iridium", "--duration", "2min", "--out", tmp_path / "e.dat", "--format", "csv")
    assert len(pd.read_csv(tmp_path / "e.dat")) == 3 * 66


def test_propagate_tle_defaults_to_its_epoch(run, iss_tle):
    res = run("propagate", "--tle", iss_tle, "--duration", "10min")
    assert "2008-09-20T12:25:40" in res.stdout  # the TLE's epoch, 08264.51782528


@pytest.mark.parametrize("args, match", [
    (["propagate", "nosuch"], "unknown preset 'nosuch'"),
    (["propagate"], "give a preset name"),
    (["propagate", "iridium", "--tle", "x.tle"], "not both"),
    (["propagate", "--tle", "/nonexistent/x.tle"], "does not exist"),
    (["propagate", "iridium", "--duration", "soon"], "duration='soon'"),
    (["propagate", "iridium", "--out", "e.xlsx"], "cannot tell the format"),
    (["propagate", "iridium", "--czml", "x.kml"], "--czml"),
    (["propagate", "iridium", "--frame", "TEME", "--czml", "x.czml", "--duration", "2min"], "ITRS"),
    (["passes", "iridium", "--site", "95,3"], "latitude must be in"),
    (["passes", "iridium", "--site", "abc"], "give LAT,LON"),
    (["passes", "iridium", "--city", "Xyzzyqville"], "not a GeoNames city"),
    (["passes", "iridium", "--scheduler", "bogus"], "scheduler='bogus' is not known"),
    (["passes", "iridium", "--scheduler", "sync", "--workers", "2"], "drop --workers"),
    (["coverage", "iridium", "--var", "speed"], "not a figure of merit"),
    (["coverage", "iridium", "--map", "m.jpg"], ".png"),
    (["coverage", "iridium", "--resolution", "0"], "--resolution 0.0"),
    (["latency", "--scenario", "wormhole"], "--scenario 'wormhole'"),
    (["latency", "--users", "0"], "--users 0"),
    (["latency", "--datacenter", "xyzzyq"], "no built-in data centre matches"),
    (["latency", "--scenario", "city-pair", "--map", "m.png"], "not available"),
    (["compare", "iridium", "--scenario", "city-pair"], "compare uses"),
    (["report", "--users", "0"], "--users 0"),
    (["tle", "inspect", "/nonexistent.tle"], "does not exist"),
    (["tle", "fetch", "star link; rm"], "not a CelesTrak group name"),
])
def test_bad_input_exits_2_with_one_line(run, args, match):
    _assert_bad_input(run(*args, ok=False), match)


def test_usage_errors_exit_2(run):
    res = run("propagate", "iridium", "--no-such-option", ok=False)
    assert res.exit_code == 2


def test_unexpected_error_exits_1_with_one_line(run, monkeypatch):
    import orbitlat.orbits.presets

    def boom():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(orbitlat.orbits.presets, "table", boom)
    res = run("presets", ok=False)
    assert res.exit_code == 1
    lines = [x for x in res.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "unexpected RuntimeError: disk on fire" in lines[0] and "ORBITLAT_DEBUG" in lines[0]
    monkeypatch.setenv("ORBITLAT_DEBUG", "1")
    res = CliRunner().invoke(app, ["presets"])
    assert isinstance(res.exception, RuntimeError)  # the traceback is available on request


def test_bad_tle_file_exits_2(run, tmp_path):
    p = tmp_path / "bad.tle"
    p.write_text(ISS[0] + "\n" + ISS[1] + "\n" + ISS[2][:-1] + "0\n")  # damaged checksum
    _assert_bad_input(run("tle", "inspect", p, ok=False), "checksum")


# ---------------------------------------------------------------------------
# progress
# ---------------------------------------------------------------------------
def test_progress_bar_shown_when_forced(run, monkeypatch):
    res = run("propagate", "iridium", "--duration", "2min", "--progress")
    assert "propagating 66 satellites" in res.stderr and "1/1" in res.stderr
    res = run("propagate", "iridium", "--duration", "2min")  # not a terminal: no bar by default
    assert "propagating" not in res.stderr
    monkeypatch.setenv("ORBITLAT_PROGRESS", "1")
    res = CliRunner().invoke(app, ["coverage", "iridium", "--resolution", "15", "--duration", "20min", "--step",
                                   "10min", "--no-population"])
    assert res.exit_code == 0 and "coverage of 66 satellites" in res.stderr
    res = CliRunner().invoke(app, ["propagate", "iridium", "--duration", "2min", "--no-progress"])
    assert "propagating" not in res.stderr


# ---------------------------------------------------------------------------
# passes, coverage, latency, compare
# ---------------------------------------------------------------------------
def test_passes_match_skyfield(run, iss_tle, tmp_path):
    """ISS passes over a site for a day, from the TLE, against Skyfield's EarthSatellite.find_events.
    Tolerance 0.25 s: Skyfield refines events to ~ms but uses its own TEME->ITRS rotation; the two
    agree here to < 0.05 s (observed), i.e. < 400 m along track."""
    from skyfield.api import EarthSatellite, load, wgs84

    out = tmp_path / "p.csv"
    res = run("passes", "--tle", iss_tle, "--site", "40.0,-75.0", "--duration", "1d", "--min-elevation", "10",
              "--out", out)
    assert "passes over 1 sites" in res.stdout
    df = pd.read_csv(out, parse_dates=["rise", "culmination", "set"])
    ts = load.timescale(builtin=True)
    sat = EarthSatellite(ISS[1], ISS[2], ISS[0], ts)
    t0 = pd.Timestamp("2008-09-20T12:25:40.104192", tz="UTC")
    t, ev = sat.find_events(wgs84.latlon(40.0, -75.0), ts.from_datetime(t0),
                            ts.from_datetime(t0 + pd.Timedelta(days=1)), altitude_degrees=10.0)
    times = pd.to_datetime([x.utc_iso(places=6) for x in t]).tz_localize(None)
    rises, sets = times[ev == 0], times[ev == 2]
    assert len(df) == len(rises) == len(sets) >= 3
    assert np.all(np.abs((df.rise.to_numpy() - rises.to_numpy()) / np.timedelta64(1, "s")) < 0.25)
    assert np.all(np.abs((df.set.to_numpy() - sets.to_numpy()) / np.timedelta64(1, "s")) < 0.25)


def test_passes_sites_from_city_site_and_csv(run, tmp_path):
    csv = tmp_path / "s.csv"
    csv.write_text("name,lat,lon\nZurich,47.37,8.54\n")
    res = run("passes", "iridium", "--city", "London", "--site", "-33.9,18.4", "--sites", csv, "--duration", "2h",
              "--out", tmp_path / "p.parquet", "--limit", "3")
    df = pd.read_parquet(tmp_path / "p.parquet")
    assert set(df.site_name.astype(str)) <= {"London", "site0 (-33.9,18.4)", "Zurich"}
    assert "more rows" in res.stdout and "passes over 3 sites" in res.stdout
    assert df.max_elevation_deg.min() >= 10.0 - 1e-6


def test_coverage_mean_in_view_matches_closed_form(run, tmp_path):
    """Iridium at a 20° mask: the area-weighted mean number in view must equal 66 (1 - cos λ)/2 with
    λ = acos(Re cos ε / (Re + h)) - ε (docs/references.md), up to the 5° grid's sampling error (1 %)."""
    out_nc, out_csv, png = tmp_path / "c.nc", tmp_path / "c.csv", tmp_path / "c.png"
    run("coverage", "iridium", "--resolution", "5", "--duration", "1h", "--step", "5min", "--min-elevation", "20",
        "--out", out_nc, "--map", png)
    ds = xr.open_dataset(out_nc)
    re_, h, eps = 6378.137, 780.0, np.radians(20.0)
    lam = np.arccos(re_ * np.cos(eps) / (re_ + h)) - eps
    expected = 66 * (1 - np.cos(lam)) / 2
    got = float((ds.n_visible_mean * ds.area_km2).sum() / ds.area_km2.sum())
    assert abs(got / expected - 1) < 0.01
    assert png.stat().st_size > 10_000
    run("coverage", "iridium", "--resolution", "15", "--duration", "20min", "--step", "10min", "--out", out_csv)
    df = pd.read_csv(out_csv)
    assert {"lat_deg", "lon_deg", "n_visible_mean", "covered_fraction"} <= set(df.columns)


def test_coverage_on_dask_matches_local(run, tmp_path):
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    common = ["coverage", "iridium", "--resolution", "10", "--duration", "30min", "--step", "5min"]
    run(*common, "--out", a)
    res = run(*common, "--out", b, "--scheduler", "sync", "--progress")
    assert "on Dask (sync)" in res.stderr
    xa, xb = xr.open_dataset(a), xr.open_dataset(b)
    np.testing.assert_array_equal(xa.n_visible_max.to_numpy(), xb.n_visible_max.to_numpy())
    np.testing.assert_allclose(xa.n_visible_mean.to_numpy(), xb.n_visible_mean.to_numpy(), rtol=1e-12)


def test_latency_and_passes_on_dask_match_local(run, tmp_path):
    # orbitlat.scale promises the single-process answer: RTTs bit for bit, passes to the nanosecond
    a, b = tmp_path / "a.nc", tmp_path / "b.nc"
    common = ["latency", "--users", "4", "--duration", "10min", "--step", "5min"]
    run(*common, "--series", a)
    run(*common, "--series", b, "--scheduler", "sync")
    np.testing.assert_array_equal(xr.open_dataset(a).rtt_ms.to_numpy(), xr.open_dataset(b).rtt_ms.to_numpy())
    pa, pb = tmp_path / "pa.csv", tmp_path / "pb.csv"
    common = ["passes", "iridium", "--city", "London", "--duration", "3h"]
    run(*common, "--out", pa)
    run(*common, "--out", pb, "--scheduler", "sync")
    da, db = pd.read_csv(pa), pd.read_csv(pb)
    assert len(da) == len(db) > 0
    assert (da[["sat", "rise", "set"]] == db[["sat", "rise", "set"]]).all().all()


def _vacuum_bound_ms(lat1, lon1, lat2, lon2):
    # 2·d/c along the great circle on the 6371.0088 km sphere: nothing gets there faster
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dl = np.radians(lon2 - lon1)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * 6371.0088 * np.arcsin(np.sqrt(a))
    return 2 * d / 299792.458 * 1000


def test_latency_isl_to_stargate(run, tmp_path):
    out, series, png = tmp_path / "s.csv", tmp_path / "r.nc", tmp_path / "m.png"
    res = run("latency", "--scenario", "isl", "--users", "8", "--duration", "10min", "--step", "5min",
              "--by", "user", "--out", out, "--series", series, "--map", png)
    assert "fiber baseline" in res.stdout
    summ = pd.read_csv(out)
    r = xr.open_dataset(series)
    assert r.rtt_ms.shape == (3, 8, 1)
    bound = _vacuum_bound_ms(r.src_lat_deg.to_numpy(), r.src_lon_deg.to_numpy(), 32.507, -99.778)
    assert np.all(r.rtt_ms.min("time").to_numpy()[:, 0] >= bound)
    assert len(summ) == 8 and (summ["p50"] >= bound.min()).all()
    assert png.stat().st_size > 10_000


def test_latency_orbital_dc_and_city_pairs(run, tmp_path):
    res = run("latency", "--scenario", "orbital-dc", "--users", "5", "--duration", "5min", "--step", "5min",
              "--out", tmp_path / "o.csv")
    o = pd.read_csv(tmp_path / "o.csv")
    # the cluster flies at 650 km: any round trip is at least 2 x 650 km at c (4.34 ms)
    assert o["p50"].iloc[0] > 2 * 650 / 299792.458 * 1000 and o["reachable"].iloc[0] == 1.0
    res = run("latency", "iridium", "--scenario", "city-pair", "--users", "4", "--duration", "5min", "--step",
              "5min", "--out", tmp_path / "c.csv")
    c = pd.read_csv(tmp_path / "c.csv")
    assert len(c) == 4 * 3  # all ordered pairs without the diagonal
    assert "city-pair RTT" in res.stdout


def test_latency_gateways_file(run, tmp_path):
    gw = tmp_path / "gw.csv"
    gw.write_text("id,lat,lon,description\nGW1,32.45,-99.73,\"Abilene, TX\"\nGW2,40.7,-74.0,\"New York, NY\"\n")
    run("latency", "--scenario", "bent-pipe", "--users", "5", "--gateways", gw, "--duration", "5min",
        "--step", "5min", "--out", tmp_path / "b.csv")
    assert "reachable" in pd.read_csv(tmp_path / "b.csv").columns
    _assert_bad_input(run("latency", "--gateways", tmp_path / "none.csv", ok=False), "does not exist")


def test_compare_side_by_side(run, tmp_path):
    out = tmp_path / "cmp.csv"
    run("compare", "iridium", "oneweb", "--resolution", "15", "--duration", "20min", "--step", "10min", "--users",
        "5", "--latency-duration", "5min", "--latency-step", "5min", "--out", out)
    df = pd.read_csv(out, index_col=0)
    assert list(df.index) == ["iridium", "oneweb"]
    assert dict(df.satellites) == {"iridium": 66, "oneweb": 588}
    assert {"rtt_p50_ms", "rtt_p95_ms", "rtt_p99_ms", "covered_people", "mean_in_view_people"} <= set(df.columns)
    # more, higher satellites: OneWeb (588 at 1,200 km) sees more of them than Iridium (66 at 780 km)
    assert df.loc["oneweb", "mean_in_view_area"] > df.loc["iridium", "mean_in_view_area"]


# ---------------------------------------------------------------------------
# tle inspect / fetch
# ---------------------------------------------------------------------------
def test_tle_inspect_recovers_a_walker_shell(run, tmp_path):
    import orbitlat as ol

    p = tmp_path / "w.tle"
    ol.walker.walker_delta(53.0, 24 * 22, 24, 1, altitude_km=550).to_tle(p)
    # designed GCRS elements become TLE (TEME-of-date) elements: 26 years of precession tilt each plane's
    # inclination by up to ~0.11° depending on its RAAN, so the layer tolerance is widened to 0.2°
    res = run("tle", "inspect", p, "--inc-tol", "0.2", "--out", tmp_path / "s.csv")
    assert "528 satellites" in res.stdout
    s = pd.read_csv(tmp_path / "s.csv")
    assert int(s["count"].iloc[0]) == 528 and int(s["n_planes"].iloc[0]) == 24


def test_tle_inspect_real_oneweb_catalog(run, tmp_path):
    from conftest import shared_path

    p = shared_path("tle", "oneweb_2026-05-30.tle")
    res = run("tle", "inspect", p, "--out", tmp_path / "s.csv")
    assert "epochs:" in res.stdout
    s = pd.read_csv(tmp_path / "s.csv")
    main = s[s["kind"] == "shell"].sort_values("count").iloc[-1]
    # OneWeb phase 1 (docs/references.md): 12 planes of 49 at 87.9°, about 1,200 km. The catalog flies each plane
    # 4 km apart (1,175-1,219 km) plus spares and a few partial planes, hence 20 km / 0.05° and ">= 12"
    n = int(res.stdout.split(": ")[1].split()[0])
    assert abs(main.inc_deg - 87.9) < 0.05 and abs(main.altitude_km - 1200) < 20
    assert int(main.n_planes) >= 12 and main["count"] >= 0.95 * n


def _tle_text(n: int) -> str:
    return synthetic_tle_text(n, first_id=20000)


def test_tle_fetch_verifies_caches_and_never_replaces_good_with_bad(run, server, tmp_path):
    base, routes = server
    routes["/good"] = (200, _tle_text(12).encode())
    res = run("tle", "fetch", "starlink", "--url", base + "/good", "--cache-dir", tmp_path)
    assert "12 satellites" in res.stdout
    cached = tmp_path / "starlink.tle"
    before = cached.read_bytes()
    # within the 2 h cache age the server is not asked again
    routes.clear()
    run("tle", "fetch", "starlink", "--url", base + "/good", "--cache-dir", tmp_path)
    # a forced fetch of bad data fails with exit 2 and leaves the good cache as it was
    routes["/bad"] = (200, b"<html>rate limited</html>")
    _assert_bad_input(run("tle", "fetch", "starlink", "--url", base + "/bad", "--cache-dir", tmp_path, "--force",
                          ok=False), "did not verify")
    routes["/gone"] = (500, b"oops")
    _assert_bad_input(run("tle", "fetch", "starlink", "--url", base + "/gone", "--cache-dir", tmp_path, "--force",
                          ok=False), "HTTP 500")
    assert cached.read_bytes() == before
    # the cached file is a catalog the other commands read
    res = run("tle", "inspect", cached)
    assert "12 satellites" in res.stdout
