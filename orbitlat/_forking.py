"""Forked worker processes that never outlive their parent and leave signals to it (foundation layer).

orbitlat forks workers in three places (python-sgp4 propagation, the pass sweep, latency routing).
Each child calls :func:`child_setup` first:

- **dies with its parent**: on Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``, so a parent killed
  outright (SIGKILL, the OOM killer) takes its workers along instead of orphaning them to keep
  computing and writing temporary files; a child whose parent is already gone exits at once;
- **leaves signals to the parent**: Ctrl-C reaches the whole process group, so children ignore
  SIGINT (the parent stops them, see :func:`stop_children`, and prints one line instead of a
  traceback per worker); SIGTERM gets its default action (die quietly) instead of the handler
  the ``orbitlat`` command installs in the parent.

:func:`stop_children` is what a parent runs when it is interrupted: SIGKILL each child and reap it.
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys

__all__ = ["child_setup", "stop_children", "forking", "pool_initializer"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _set_pdeathsig(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent thread exits; False elsewhere."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) == 0
    except (OSError, AttributeError):  # pragma: no cover - no prctl
        return False


@contextlib.contextmanager
def forking():
    """Block SIGINT and SIGTERM in this thread while workers are forked (they inherit the block and
    :func:`child_setup` lifts it after setting their own dispositions), so that a Ctrl-C arriving
    at that moment is never handled by a half-started worker; it is delivered to the parent when
    the block ends, not lost."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def child_setup(parent_pid: int | None = None) -> None:
    """Run first in a forked worker: die with the parent, ignore Ctrl-C, default SIGTERM.

    ``parent_pid`` is the pid the parent had before forking; if the child is already orphaned
    (the parent died between fork and this call) it exits at once.
    """
    _set_pdeathsig(signal.SIGKILL)
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    except ValueError:  # pragma: no cover - not the main thread of the child
        pass
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)  # blocked by forking() in the parent
    if parent_pid is not None and os.getppid() != parent_pid:
        os._exit(1)


def pool_initializer(parent_pid: int) -> None:
    """``multiprocessing.Pool(initializer=pool_initializer, initargs=(os.getpid(),))``."""
    child_setup(parent_pid)


def stop_children(pids) -> None:
    """SIGKILL and reap child processes (an interrupted parent's cleanup); missing ones are skipped."""
    for pid in list(pids):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    for pid in list(pids):
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
