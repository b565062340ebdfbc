"""Is there a Dask scheduler at this address? Asked in seconds, before any client connects.

``distributed.Client(address)`` trusts the peer: a port where nothing listens costs its whole
connect timeout, and a port where something else listens (an HTTP server, a proxy) can hang it
for minutes or make it read "HTTP/1.1" as a frame length and try to allocate 3 EiB. So orbitlat
first opens a plain TCP socket with a short timeout and speaks the first two messages of Dask's
protocol itself (distributed's ``comm`` framing: an 8-byte length, then msgpack frames):

1. a Dask peer greets first with its handshake (``compression``, ``python``, ``pickle-protocol``);
   a peer that sends nothing within the timeout, or bytes that are not such a frame, is not Dask;
2. after answering with our handshake, ``{"op": "identity"}`` must come back with
   ``type == "Scheduler"`` (a worker or nanny answers with its own type).

Every read is bounded in time and size. Errors say which case it was: connection refused, no
answer, not a Dask peer, a Dask worker rather than a scheduler.
"""
from __future__ import annotations

import socket
import struct
import time
from urllib.parse import urlsplit

from orbitlat.errors import OrbitlatError

__all__ = ["probe_scheduler", "SchedulerProbeError"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


_MAX_FRAME = 1 << 20  # a handshake or identity reply is a few hundred bytes; 1 MiB is generous


class SchedulerProbeError(OrbitlatError):
    """The address does not answer as a Dask scheduler (see the message for which case)."""


def _split(address: str) -> tuple[str, int, str]:
    a = address.strip()
    if "://" not in a:
        a = "tcp://" + a
    u = urlsplit(a)
    if u.scheme != "tcp":
        return "", 0, u.scheme
    if not u.hostname or u.port is None:
        raise SchedulerProbeError(f"scheduler address {address!r} has no host and port; write e.g. tcp://host:8786.")
    return u.hostname, int(u.port), "tcp"


def _recv_exact(sock: socket.socket, n: int, deadline: float, address: str, what: str) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout(what)
        sock.settimeout(left)
        chunk = sock.recv(min(n - len(buf), 65536))
        if not chunk:
            raise SchedulerProbeError(f"{address} closed the connection {what}: not a Dask scheduler.")
        buf += chunk
    return bytes(buf)


def _read_message(sock: socket.socket, deadline: float, address: str, what: str):
    from distributed.protocol import loads
    from distributed.protocol.utils import unpack_frames

    head = _recv_exact(sock, 8, deadline, address, what)
    (n,) = struct.unpack("<Q", head)
    if not 0 < n <= _MAX_FRAME:
        shown = head.decode("latin-1").encode("unicode_escape").decode()
        raise SchedulerProbeError(f"{address} is not a Dask scheduler: it answered {shown!r}, which is not Dask's "
                                  "protocol (an HTTP server, a proxy or another service listens there).")
    body = _recv_exact(sock, n, deadline, address, what)
    try:
        frames, missing = unpack_frames(body, partial=True)
        for nb in missing:
            if nb > _MAX_FRAME:
                raise ValueError("frame too large")
            frames.append(_recv_exact(sock, nb, deadline, address, what))
        return loads(frames, deserialize=False)
    except SchedulerProbeError:
        raise
    except Exception as exc:  # garbage that happened to start with a small length
        raise SchedulerProbeError(f"{address} is not a Dask scheduler: its first message is not a Dask message "
                                  f"({type(exc).__name__}).") from None


def _write_message(sock: socket.socket, msg) -> None:
    from distributed.protocol import dumps
    from distributed.protocol.utils import pack_frames_prelude

    frames = [bytes(f) for f in dumps(msg)]
    prelude = pack_frames_prelude(frames)
    body = prelude + b"".join(frames)
    sock.sendall(struct.pack("<Q", len(body)) + body)


def probe_scheduler(address: str, timeout: float = 5.0) -> dict:
    """Check, within ``timeout`` seconds, that a Dask scheduler answers at ``address``; return its identity.

    Only ``tcp://`` addresses are probed (``tls://``, ``ucx://`` ... are left to distributed).

    Raises
    ------
    SchedulerProbeError
        Connection refused, no answer within ``timeout``, a peer that is not Dask, or a Dask
        worker instead of a scheduler; the message says which.
    """
    host, port, scheme = _split(address)
    if scheme != "tcp":
        return {}
    deadline = time.monotonic() + float(timeout)
    hint = ("Start one with `dask scheduler` (it prints its address, e.g. tcp://10.0.0.5:8786) and workers with "
            "`dask worker ADDRESS`, or leave --scheduler out for this machine's cores.")
    try:
        sock = socket.create_connection((host, port), timeout=float(timeout))
    except ConnectionRefusedError:
        raise SchedulerProbeError(f"no Dask scheduler at {address}: connection refused (nothing listens on port "
                                  f"{port} of {host}). {hint}") from None
    except socket.timeout:
        raise SchedulerProbeError(f"no Dask scheduler at {address}: the connection timed out after {timeout:g} s "
                                  f"(host down, or a firewall drops the packets). {hint}") from None
    except OSError as exc:
        raise SchedulerProbeError(f"no Dask scheduler at {address}: {exc.strerror or exc}. {hint}") from None
    try:
        with sock:
            try:
                hello = _read_message(sock, deadline, address, "before greeting")
            except socket.timeout:
                raise SchedulerProbeError(f"{address} is not a Dask scheduler: it accepted the connection but sent "
                                          f"nothing within {timeout:g} s (a Dask scheduler greets first; an HTTP "
                                          f"server or a proxy waits for a request). {hint}") from None
            if not isinstance(hello, dict) or "compression" not in hello:
                raise SchedulerProbeError(f"{address} is not a Dask scheduler: its greeting is not a Dask handshake.")
            _write_message(sock, dict(hello))
            _write_message(sock, {"op": "identity", "reply": True})
            try:
                ident = _read_message(sock, deadline, address, "before answering 'identity'")
            except socket.timeout:
                raise SchedulerProbeError(f"{address} spoke Dask's handshake but did not answer 'identity' within "
                                          f"{timeout:g} s. {hint}") from None
    except OSError as exc:
        raise SchedulerProbeError(f"{address}: the connection failed during the check ({exc.strerror or exc}).") from None
    kind = ident.get("type") if isinstance(ident, dict) else None
    if kind != "Scheduler":
        raise SchedulerProbeError(f"{address} is a Dask {kind or 'peer'}, not a scheduler: give the scheduler's address "
                                  "(the one `dask scheduler` prints).")
    return ident
