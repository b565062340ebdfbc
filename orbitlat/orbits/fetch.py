"""Fetch current element sets from CelesTrak into a local cache (the only network access in orbitlat).

Nothing in orbitlat downloads on import or during a computation; this module is
called only by an explicit command (``orbitlat tle fetch GROUP`` or
:func:`fetch_tle`). A fetch is verified before it is used: it must parse as
TLE/3LE (or OMM JSON) with valid checksums, hold at least one satellite, and not
hold far fewer satellites than the cached copy it would replace. A failed or
suspicious fetch never replaces good cached data: the cache is written
atomically, only after verification.

CelesTrak updates its GP data about every two hours and asks clients not to
poll more often; a cached copy younger than ``max_age`` (2 h) is reused unless
``force=True``.

>>> from orbitlat.orbits.fetch import celestrak_url
>>> celestrak_url("starlink")
'https://celestrak.org/NORAD/elements/gp.php?GROUP=starlink&FORMAT=tle'
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import re
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from orbitlat.errors import OrbitlatError

__all__ = ["celestrak_url", "default_cache_dir", "fetch_tle", "cached_tle", "FetchError"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


CELESTRAK_GP = "https://celestrak.org/NORAD/elements/gp.php"
_GROUP_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")


class FetchError(OrbitlatError):
    """A fetch failed or returned data that did not pass verification (the cache is unchanged)."""


def default_cache_dir() -> Path:
    """``$ORBITLAT_CACHE`` if set, else ``$XDG_CACHE_HOME/orbitlat`` or ``~/.cache/orbitlat``."""
    env = os.environ.get("ORBITLAT_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orbitlat"


def celestrak_url(group: str, fmt: str = "tle") -> str:
    """CelesTrak GP query URL for a group (e.g. ``starlink``, ``oneweb``, ``gps-ops``, ``stations``)."""
    _check_group(group)
    f = {"tle": "tle", "json": "json", "csv": "csv"}.get(fmt)
    if f is None:
        raise OrbitlatError(f"fmt={fmt!r} is not supported; use 'tle', 'json' or 'csv'.")
    return f"{CELESTRAK_GP}?GROUP={group}&FORMAT={f}"


def _check_group(group: str) -> None:
    if not isinstance(group, str) or not _GROUP_RE.match(group):
        raise OrbitlatError(
            f"group={group!r} is not a CelesTrak group name; use names like 'starlink', 'oneweb', "
            "'gps-ops', 'galileo', 'iridium-NEXT', 'stations'."
        )


def _paths(cache_dir: Path, group: str, fmt: str) -> tuple[Path, Path]:
    ext = {"tle": "tle", "json": "json", "csv": "csv"}[fmt]
    return cache_dir / f"{group}.{ext}", cache_dir / f"{group}.{ext}.meta.json"


def cached_tle(group: str, *, fmt: str = "tle", cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Path of the cached file for ``group``, or None if there is none."""
    _check_group(group)
    data, _ = _paths(Path(cache_dir) if cache_dir else default_cache_dir(), group, fmt)
    return data if data.exists() else None


def _read_meta(meta: Path) -> dict:
    try:
        return json.loads(meta.read_text())
    except (OSError, ValueError):
        return {}


def _verify(body: bytes, fmt: str, source: str):
    """Parse the fetched bytes; return the DataFrame or raise FetchError saying why."""
    from orbitlat.orbits import omm, tle

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FetchError(f"{source}: the response is not UTF-8 text ({exc}); the cache was left unchanged.") from None
    if not text.strip():
        raise FetchError(f"{source}: the response is empty; the cache was left unchanged.")
    try:
        if fmt == "tle":
            return tle.read_tle(text, source=source)
        return omm.read_omm(text, fmt=fmt, source=source)
    except OrbitlatError as exc:
        raise FetchError(f"the fetched data did not verify, so the cache was left unchanged: {exc}") from None


def fetch_tle(group: str, *, fmt: str = "tle", cache_dir: str | os.PathLike | None = None, url: str | None = None,
              force: bool = False, max_age: float = 7200.0, timeout: float = 30.0,
              min_fraction_of_cached: float = 0.5) -> Path:
    """Fetch a CelesTrak group into the cache, verify it, and return the cached file's path.

    Parameters
    ----------
    group : str
        CelesTrak group name (``starlink``, ``oneweb``, ``gps-ops``, ``stations`` ...).
    fmt : {"tle", "json", "csv"}
        3LE text or OMM (JSON/CSV).
    cache_dir : path, optional
        Default :func:`default_cache_dir`.
    url : str, optional
        Override the URL (mirrors, tests).
    force : bool
        Fetch even if the cached copy is younger than ``max_age`` seconds.
    min_fraction_of_cached : float
        Refuse a fetch holding fewer than this fraction of the cached copy's satellites
        (a truncated download looks like valid TLE text).

    Raises
    ------
    FetchError
        Network failure, an HTTP error, or data that did not verify. The cache is unchanged.
    """
    _check_group(group)
    if fmt not in ("tle", "json", "csv"):
        raise OrbitlatError(f"fmt={fmt!r} is not supported; use 'tle', 'json' or 'csv'.")
    cdir = Path(cache_dir) if cache_dir else default_cache_dir()
    data_path, meta_path = _paths(cdir, group, fmt)
    meta = _read_meta(meta_path) if data_path.exists() else {}
    now = _dt.datetime.now(_dt.timezone.utc)
    if data_path.exists() and not force and meta.get("fetched_at"):
        age = (now - _dt.datetime.fromisoformat(meta["fetched_at"])).total_seconds()
        if age < max_age:
            return data_path
    src = url or celestrak_url(group, fmt)
    req = urllib.request.Request(src, headers={"User-Agent": "orbitlat (+https://pypi.org/project/orbitlat)"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{src}: HTTP {exc.code} {exc.reason}; the cache was left unchanged.") from None
    except (urllib.error.URLError, OSError) as exc:
        raise FetchError(f"{src}: cannot connect ({getattr(exc, 'reason', exc)}); the cache was left unchanged.") from None
    df = _verify(body, fmt, src)
    old_count = int(meta.get("count", 0))
    if old_count and len(df) < min_fraction_of_cached * old_count:
        raise FetchError(
            f"{src}: the fetch holds {len(df)} satellites but the cached copy holds {old_count}; this looks "
            "like a truncated or partial response, so the cache was left unchanged (pass force=True and "
            "min_fraction_of_cached=0 to accept it)."
        )
    cdir.mkdir(parents=True, exist_ok=True)
    new_meta = {
        "url": src,
        "fetched_at": now.isoformat(),
        "count": int(len(df)),
        "epoch_min": str(df["epoch"].min()),
        "epoch_max": str(df["epoch"].max()),
        "sha256": hashlib.sha256(body).hexdigest(),
        "format": fmt,
    }
    # atomic replace: write next to the target, then rename
    for path, payload in ((data_path, body), (meta_path, json.dumps(new_meta, indent=1).encode())):
        fd, tmp = tempfile.mkstemp(dir=cdir, prefix=path.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
    return data_path
