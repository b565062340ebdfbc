"""Fetching TLEs: verified before use, never replacing good cached data with bad; tested against a
local HTTP server on 127.0.0.1 (no outside network)."""
from __future__ import annotations

import http.server
import json
import threading

import pytest

from orbitlat.errors import OrbitlatError
from orbitlat.fetch import FetchError, cached_tle, celestrak_url, fetch_tle

ISS = [
    "ISS (ZARYA)",
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
]


def _tle_text(n: int) -> str:
    from orbitlat.io import make_tle_lines
    import numpy as np

    out = []
    for k in range(n):
        l1, l2 = make_tle_lines(norad_id=10000 + k, epoch=np.datetime64("2026-05-30T00:00"),
                                mean_motion_rev_day=15.05, ecc=0.0001, inc_deg=53.0, raan_deg=5.0 * k,
                                argp_deg=0.0, mean_anomaly_deg=7.0 * k)
        out += [f"SAT-{k}", l1, l2]
    return "\n".join(out) + "\n"


@pytest.fixture()
def server():
    """A local HTTP server whose response the test sets: routes[path] = (status, body)."""
    routes: dict[str, tuple[int, bytes]] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            status, body = routes.get(self.path, (404, b"not found"))
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    th = threading.Thread(target=httpd.serve_forever, daemon=True)
    th.start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield base, routes
    httpd.shutdown()
    httpd.server_close()


def test_fetch_verifies_and_caches(server, tmp_path):
    base, routes = server
    routes["/good"] = (200, _tle_text(20).encode())
    p = fetch_tle("starlink", url=base + "/good", cache_dir=tmp_path)
    assert p.exists() and p.read_text().count("\n") == 60
    meta = json.loads((tmp_path / "starlink.tle.meta.json").read_text())
    assert meta["count"] == 20 and meta["url"] == base + "/good"
    assert cached_tle("starlink", cache_dir=tmp_path) == p


@pytest.mark.parametrize("status, body, match", [
    (200, b"", "empty"),
    (500, b"oops", "HTTP 500"),
    (200, b"<html>rate limited</html>", "did not verify"),
    (200, ("\n".join(ISS[:2]) + "\n" + ISS[2][:-1] + "0\n").encode(), "checksum"),
    (200, ("\n".join(ISS) + "\n").encode()[:-30], "did not verify"),
])
def test_bad_fetch_never_replaces_good_cache(server, tmp_path, status, body, match):
    base, routes = server
    routes["/good"] = (200, _tle_text(20).encode())
    good = fetch_tle("starlink", url=base + "/good", cache_dir=tmp_path)
    before = good.read_bytes()
    routes["/bad"] = (status, body)
    with pytest.raises(FetchError, match=match):
        fetch_tle("starlink", url=base + "/bad", cache_dir=tmp_path, force=True)
    assert good.read_bytes() == before
    assert not list(tmp_path.glob("*.part"))


def test_truncated_catalog_is_refused(server, tmp_path):
    # a response that is valid TLE text but holds far fewer satellites than the cache looks truncated
    base, routes = server
    routes["/full"] = (200, _tle_text(40).encode())
    routes["/short"] = (200, _tle_text(5).encode())
    good = fetch_tle("starlink", url=base + "/full", cache_dir=tmp_path)
    before = good.read_bytes()
    with pytest.raises(FetchError, match="holds 5 satellites but the cached copy holds 40"):
        fetch_tle("starlink", url=base + "/short", cache_dir=tmp_path, force=True)
    assert good.read_bytes() == before


def test_recent_cache_is_reused_without_network(server, tmp_path):
    base, routes = server
    routes["/good"] = (200, _tle_text(3).encode())
    fetch_tle("gps-ops", url=base + "/good", cache_dir=tmp_path)
    routes.clear()  # any new request would now get 404
    assert fetch_tle("gps-ops", url=base + "/good", cache_dir=tmp_path).exists()


def test_unreachable_server(tmp_path):
    with pytest.raises(FetchError, match="cannot connect"):
        fetch_tle("starlink", url="http://127.0.0.1:9/none", cache_dir=tmp_path, timeout=2)


def test_bad_group_and_format():
    with pytest.raises(OrbitlatError, match="not a CelesTrak group name"):
        celestrak_url("star link; rm -rf")
    with pytest.raises(OrbitlatError, match="fmt='xml' is not supported"):
        celestrak_url("starlink", "xml")
    assert celestrak_url("gps-ops", "json").endswith("GROUP=gps-ops&FORMAT=json")
