"""Fetch current element sets from CelesTrak into a local cache (the only network access in orbitlat).

Nothing in orbitlat downloads on import or during a computation; this module is
called only by an explicit command (``orbitlat tle fetch GROUP`` or
:func:`fetch_tle`). What it guarantees:

- **Bounded**: the whole transfer (connection, headers, body) must finish within ``timeout``
  seconds and hold at most ``max_bytes``; a server that trickles bytes or sends without end
  is cut off with a message saying so. A body shorter than its ``Content-Length`` is refused.
- **Verified before use**: the body must parse as TLE/3LE (or OMM JSON/CSV) with valid
  checksums and hold at least one satellite; HTML error pages and CelesTrak's
  ``No GP data found`` are named as such.
- **Never replacing good data with worse**: a fetch holding far fewer satellites than the
  catalogs cached over the last week (``max_drop``, 10 %; a truncated download at a line
  boundary looks like valid TLE text), or whose element sets are older than the cached ones for
  most satellites (a stale mirror), is refused unless ``accept_suspicious=True`` (CLI
  ``--force``). Comparing with the week's largest count, not only the last one, stops a ratchet
  of partial downloads (60 %, then 40 % ...).
- **Verified on read**: the cache records each file's sha256; a cached file that does not match
  is not trusted (it is fetched again, or reported).
- **Data and metadata together**: the metadata (with the previous entry) is replaced first and
  the data second, each in one step; a reader that finds the data matching the previous entry
  uses that, so every reader sees a consistent pair, even after a crash between the two steps.
  A malformed or future-dated metadata file never blocks a fetch.

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
import http.client
import json
import os
import re
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from orbitlat.atomic import atomic_write
from orbitlat.errors import OrbitlatError

__all__ = ["celestrak_url", "default_cache_dir", "fetch_tle", "cached_tle", "read_cache_meta", "FetchError",
           "MAX_BYTES"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


CELESTRAK_GP = "https://celestrak.org/NORAD/elements/gp.php"
_GROUP_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
#: Largest response accepted by default: 64 MiB (all ~30,000 tracked objects as OMM JSON are ~25 MB).
MAX_BYTES = 64 * 2**20
#: Catalogs within this many seconds before a fetch set the reference count for ``max_drop``.
_REFERENCE_WINDOW_S = 7 * 86400.0
_HISTORY_LEN = 50


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


# ---------------------------------------------------------------------------
# the cache: metadata read defensively, data verified against it
# ---------------------------------------------------------------------------
def _sha256_file(path: Path) -> str | None:
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def _parse_time(value: Any) -> _dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        t = _dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=_dt.timezone.utc)


def _entry(meta: Any) -> dict | None:
    """A metadata entry with a usable sha256, or None (malformed: ignored, never trusted)."""
    if not isinstance(meta, dict) or not isinstance(meta.get("sha256"), str) or len(meta["sha256"]) != 64:
        return None
    return meta


def read_cache_meta(data_path: Path, meta_path: Path) -> dict | None:
    """The metadata entry that matches the cached data (its sha256), or None if there is none.

    The current entry is used when the data matches it; the ``previous`` entry when the data
    matches that (an interrupted update between its two steps). Anything else (no metadata,
    malformed JSON, a data file changed or damaged since) gives None: the cache is not trusted.
    """
    if not data_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    digest = _sha256_file(data_path)
    for cand in (_entry(meta), _entry(meta.get("previous")) if isinstance(meta, dict) else None):
        if cand is not None and cand["sha256"] == digest:
            return cand
    return None


def cached_tle(group: str, *, fmt: str = "tle", cache_dir: str | os.PathLike | None = None) -> Path | None:
    """Path of the cached file for ``group`` if it matches its recorded sha256; None if there is none.

    Raises :class:`FetchError` if a cached file exists but does not match its metadata.
    """
    _check_group(group)
    data, meta = _paths(Path(cache_dir) if cache_dir else default_cache_dir(), group, fmt)
    if not data.exists():
        return None
    if read_cache_meta(data, meta) is None:
        raise FetchError(f"{data} does not match the sha256 recorded when it was fetched (changed, damaged, or its "
                         "metadata is missing); fetch it again: orbitlat tle fetch "
                         f"{group}{'' if fmt == 'tle' else ' --format ' + fmt} --force.")
    return data


# ---------------------------------------------------------------------------
# a transfer bounded in time and size
# ---------------------------------------------------------------------------
class _Watch:
    """Holds the sockets of one transfer; closes them all when the deadline passes."""

    def __init__(self):
        self.socks: list = []
        self.expired = False
        self.lock = threading.Lock()

    def add(self, sock) -> None:
        with self.lock:
            self.socks.append(sock)
            if self.expired:
                self._kill(sock)

    def expire(self) -> None:
        with self.lock:
            self.expired = True
            for s in self.socks:
                self._kill(s)

    @staticmethod
    def _kill(sock) -> None:
        import socket

        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _opener(watch: _Watch):
    class Conn(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            watch.add(self.sock)

    class Handler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(Conn, req)

    handlers: list = [Handler()]
    if hasattr(http.client, "HTTPSConnection"):
        class SConn(http.client.HTTPSConnection):
            def connect(self):
                super().connect()
                watch.add(self.sock)

        class SHandler(urllib.request.HTTPSHandler):
            def https_open(self, req):
                return self.do_open(SConn, req, context=self._context)

        handlers.append(SHandler())
    return urllib.request.build_opener(*handlers)


def _download(src: str, timeout: float, max_bytes: int) -> bytes:
    """The body at ``src``: whole transfer within ``timeout`` s, at most ``max_bytes``, Content-Length honoured."""
    watch = _Watch()
    timer = threading.Timer(timeout, watch.expire)
    timer.daemon = True
    req = urllib.request.Request(src, headers={"User-Agent": "orbitlat (+https://pypi.org/project/orbitlat)"})
    t0 = time.monotonic()
    timer.start()
    try:
        with _opener(watch).open(req, timeout=timeout) as resp:
            declared = resp.headers.get("Content-Length")
            length = int(declared) if declared and declared.strip().isdigit() else None
            if length is not None and length > max_bytes:
                raise FetchError(f"{src}: the response declares {length:,} bytes, more than the {max_bytes:,} accepted "
                                 "(max_bytes); the cache was left unchanged.")
            parts, got = [], 0
            while True:
                chunk = resp.read1(1 << 16)
                if not chunk:
                    break
                got += len(chunk)
                if got > max_bytes:
                    raise FetchError(f"{src}: the response exceeds {max_bytes:,} bytes (max_bytes); the cache was "
                                     "left unchanged.")
                parts.append(chunk)
            body = b"".join(parts)
    except urllib.error.HTTPError as exc:
        raise FetchError(f"{src}: HTTP {exc.code} {exc.reason}; the cache was left unchanged.") from None
    except FetchError:
        raise
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        if watch.expired:
            raise FetchError(f"{src}: the transfer did not finish within {timeout:g} s (timeout bounds the whole "
                             "download); the cache was left unchanged.") from None
        if isinstance(exc, http.client.IncompleteRead):
            raise FetchError(f"{src}: the connection closed after {len(exc.partial):,} bytes, before the end of the "
                             "response (truncated); the cache was left unchanged.") from None
        raise FetchError(f"{src}: cannot connect ({getattr(exc, 'reason', exc)}); the cache was left unchanged.") from None
    finally:
        timer.cancel()
    if watch.expired or time.monotonic() - t0 > timeout:
        raise FetchError(f"{src}: the transfer did not finish within {timeout:g} s (timeout bounds the whole "
                         "download); the cache was left unchanged.")
    if length is not None and len(body) != length:
        raise FetchError(f"{src}: received {len(body):,} of the {length:,} bytes announced (truncated); the cache "
                         "was left unchanged.")
    return body


def _verify(body: bytes, fmt: str, source: str):
    """Parse the fetched bytes; return the DataFrame or raise FetchError saying why."""
    from orbitlat.orbits import omm, tle
    from orbitlat.orbits._records import sniff_elements

    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FetchError(f"{source}: the response is not UTF-8 text ({exc}); the cache was left unchanged.") from None
    if not text.strip():
        raise FetchError(f"{source}: the response is empty; the cache was left unchanged.")
    try:
        sniff_elements(text)
    except ValueError as exc:
        raise FetchError(f"the fetched data did not verify, so the cache was left unchanged: {source}: {exc}") from None
    try:
        if fmt == "tle":
            return tle.read_tle(text, source=source)
        return omm.read_omm(text, fmt=fmt, source=source)
    except OrbitlatError as exc:
        raise FetchError(f"the fetched data did not verify, so the cache was left unchanged: {exc}") from None


# ---------------------------------------------------------------------------
# comparisons with the cached catalog
# ---------------------------------------------------------------------------
def _reference_count(entry: dict | None, now: _dt.datetime) -> tuple[int, str]:
    """Largest satellite count among the catalogs accepted in the last week (and the current one)."""
    if entry is None:
        return 0, ""
    best, when = 0, ""
    hist = entry.get("history") if isinstance(entry.get("history"), list) else []
    for item in [*hist, [entry.get("fetched_at"), entry.get("count")]]:
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            continue
        t, n = _parse_time(item[0]), item[1]
        if t is None or isinstance(n, bool) or not isinstance(n, int) or n < 0:
            continue
        age = (now - t).total_seconds()
        if 0 <= age <= _REFERENCE_WINDOW_S and n > best:
            best, when = n, item[0]
    return best, when


def _older_share(df, cached_path: Path, fmt: str) -> tuple[float, int]:
    """Share of satellites present in both catalogs whose new element set is older than the cached one."""
    from orbitlat.orbits import omm, tle

    try:
        old = tle.read_tle(cached_path, allow_duplicates=True) if fmt == "tle" else \
            omm.read_omm(cached_path, fmt=fmt, allow_duplicates=True)
    except OrbitlatError:
        return 0.0, 0
    o = old.groupby("norad_id")["epoch"].max()
    n = df.groupby("norad_id")["epoch"].max()
    common = o.index.intersection(n.index)
    if len(common) == 0:
        return 0.0, 0
    older = int((n.loc[common] < o.loc[common]).sum())
    return older / len(common), len(common)


def fetch_tle(group: str, *, fmt: str = "tle", cache_dir: str | os.PathLike | None = None, url: str | None = None,
              force: bool = False, max_age: float = 7200.0, timeout: float = 30.0, max_bytes: int = MAX_BYTES,
              max_drop: float = 0.10, accept_suspicious: bool = False,
              min_fraction_of_cached: float | None = None) -> Path:
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
    timeout : float
        Seconds for the whole transfer (connection, headers and body), not for each read.
    max_bytes : int
        Largest response accepted (default :data:`MAX_BYTES`, 64 MiB).
    max_drop : float
        Refuse a fetch holding fewer than ``(1 - max_drop)`` times the largest satellite count of
        the catalogs cached over the last week (a truncated download looks like valid TLE text).
    accept_suspicious : bool
        Accept a fetch refused as a large drop or as an older catalog (CLI ``--force``).
    min_fraction_of_cached : float, optional
        Older spelling of ``1 - max_drop``.

    Raises
    ------
    FetchError
        Network failure, an HTTP error, a transfer over time or size, data that did not verify,
        or a suspicious catalog (a large drop, older element sets). The cache is unchanged.
    """
    _check_group(group)
    if fmt not in ("tle", "json", "csv"):
        raise OrbitlatError(f"fmt={fmt!r} is not supported; use 'tle', 'json' or 'csv'.")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout <= 86400:
        raise OrbitlatError(f"timeout={timeout!r} must be a number of seconds in (0, 86400] (it bounds the whole "
                            "transfer).")
    if isinstance(max_age, bool) or not isinstance(max_age, (int, float)) or not max_age >= 0:
        raise OrbitlatError(f"max_age={max_age!r} must be a number of seconds >= 0.")
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
        raise OrbitlatError(f"max_bytes={max_bytes!r} must be a positive whole number of bytes.")
    if min_fraction_of_cached is not None:
        max_drop = 1.0 - float(min_fraction_of_cached)
    if not 0.0 <= max_drop <= 1.0:
        raise OrbitlatError(f"max_drop={max_drop!r} must be in [0, 1] (0.1: refuse more than 10 % fewer satellites).")
    cdir = Path(cache_dir) if cache_dir else default_cache_dir()
    data_path, meta_path = _paths(cdir, group, fmt)
    entry = read_cache_meta(data_path, meta_path)  # None: nothing cached that can be trusted
    now = _dt.datetime.now(_dt.timezone.utc)
    if entry is not None and not force:
        t = _parse_time(entry.get("fetched_at"))
        age = (now - t).total_seconds() if t is not None else None
        if age is not None and 0 <= age < max_age:  # a future date is not "fresh": fetch
            return data_path
    src = url or celestrak_url(group, fmt)
    body = _download(src, float(timeout), int(max_bytes))
    df = _verify(body, fmt, src)
    hint = "pass accept_suspicious=True (CLI: --force) to accept it"
    if entry is not None and not accept_suspicious:
        ref, when = _reference_count(entry, now)
        if ref and len(df) < (1.0 - max_drop) * ref:
            raise FetchError(
                f"{src}: the fetch holds {len(df)} satellites but the cached catalog held {ref} (fetched {when}); "
                f"a drop of more than {max_drop:.0%} looks like a truncated or partial response, so the cache was "
                f"left unchanged ({hint})."
            )
        share, n_common = _older_share(df, data_path, fmt)
        if n_common and share > 0.5:
            raise FetchError(
                f"{src}: for {share:.0%} of the {n_common} satellites in both, the fetched element sets are older than "
                f"the cached ones (a stale mirror or cache?), so the newer cache was kept ({hint})."
            )
    cdir.mkdir(parents=True, exist_ok=True)
    history = []
    if entry is not None:
        old_hist = entry.get("history") if isinstance(entry.get("history"), list) else []
        history = [h for h in old_hist if isinstance(h, list) and len(h) == 2][-(_HISTORY_LEN - 1):]
        history.append([entry.get("fetched_at"), entry.get("count")])
    new_meta = {
        "url": src,
        "fetched_at": now.isoformat(),
        "count": int(len(df)),
        "epoch_min": str(df["epoch"].min()),
        "epoch_max": str(df["epoch"].max()),
        "sha256": hashlib.sha256(body).hexdigest(),
        "bytes": len(body),
        "format": fmt,
        "history": history,
        "previous": {k: v for k, v in entry.items() if k not in ("previous", "history")} if entry else None,
    }
    # metadata first (it names the previous data too), then the data: each replaced in one step, so a
    # reader always finds data matching the current or the previous entry (read_cache_meta)
    atomic_write(meta_path, lambda p: p.write_text(json.dumps(new_meta, indent=1), encoding="utf-8"))
    atomic_write(data_path, lambda p: p.write_bytes(body))
    return data_path
