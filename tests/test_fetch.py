"""Fetching TLEs: verified before use, never replacing good cached data with bad; tested against a
local HTTP server on 127.0.0.1 (no outside network)."""
from __future__ import annotations

import json

import pytest

from conftest import synthetic_tle_text

from orbitlat.errors import OrbitlatError
from orbitlat.orbits.fetch import FetchError, cached_tle, celestrak_url, fetch_tle

ISS = [
    "ISS (ZARYA)",
    "1 25544U 98067A   08264.51782528 -.00002182  00000-0 -11606-4 0  2927",
    "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.72125391563537",
]


def _tle_text(n: int) -> str:
    return synthetic_tle_text(n, first_id=10000)


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
    with pytest.raises(FetchError, match="holds 5 satellites but the cached catalog held 40"):
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
