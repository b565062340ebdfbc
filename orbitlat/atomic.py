"""Files replaced in one step, with the permissions of any new file (foundation layer).

Every file orbitlat writes (tables, maps, CZML, the report's files, fetched catalogs) goes through
:func:`atomic_write`: the content is written to a temporary sibling and moved over the target
with ``os.replace``, so a reader sees the old file or the new one, never half of one; an
interrupted or failed write removes its temporary file. :func:`replace_files` extends this to a
set of files that belong together (data and its metadata).
"""
from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Callable, Iterator

from orbitlat.errors import OrbitlatError

__all__ = ["atomic_write", "staged_folder", "umask", "new_file_mode"]


def __dir__() -> list[str]:  # tab completion (IPython, Jedi) and dir() show the API, not the imports
    return list(__all__)


def umask() -> int:
    """The process umask, read without changing it where Linux allows (/proc/self/status)."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(old)
    return old


def new_file_mode() -> int:
    """The mode a newly created file gets: ``0o666 & ~umask`` (``mkstemp`` alone would give 0600)."""
    return 0o666 & ~umask()


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None]) -> Path:
    """Write ``path`` through ``writer(tmp)`` on a temporary sibling, then ``os.replace`` it in one step.

    The temporary file is removed on any failure or interruption (Ctrl-C, SIGTERM in the
    ``orbitlat`` command), so no ``.part`` file is left; the new file gets mode ``0o666 & ~umask``
    like any newly created file (``mkstemp`` alone would give 0600). A target that is a folder, or
    a folder that does not exist or cannot be written to, raises :class:`OrbitlatError` before
    ``writer`` runs.
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OrbitlatError(f"{path} is a folder; give a file name inside it.")
    if not parent.exists():
        raise OrbitlatError(f"{path}: the folder {parent} does not exist; create it first.")
    try:
        fd, tmp = tempfile.mkstemp(dir=parent, prefix=path.name + ".", suffix=".part")
    except OSError as exc:
        raise OrbitlatError(f"{path}: cannot write in the folder {parent} ({exc.strerror or exc}); choose a folder "
                            "you can write to.") from None
    os.close(fd)
    try:
        writer(Path(tmp))
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path




_AT_FDCWD = -100
_RENAME_EXCHANGE = 2  # <linux/fs.h>


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unavailable."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0


@contextlib.contextmanager
def staged_folder(path: str | os.PathLike) -> Iterator[Path]:
    """Build a folder's new content in a temporary sibling, then swap it in whole.

    Yields the temporary folder; when the block finishes, the temporary folder takes the place of
    ``path`` (an existing folder is exchanged in one step on Linux, else renamed aside first) and the
    old content is removed. If the block fails or is interrupted, the temporary folder is removed
    and ``path`` is left exactly as it was: no mix of two runs, no stale files of an earlier run.
    """
    import shutil

    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    parent.mkdir(parents=True, exist_ok=True)
    try:
        tmp = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.orbitlat-new-"))
    except OSError as exc:
        raise OrbitlatError(f"{target}: cannot write in the folder {parent} ({exc.strerror or exc}); choose a "
                            "folder you can write to.") from None
    try:
        os.chmod(tmp, 0o777 & ~umask())
        yield tmp
        if target.exists():
            if _exchange(tmp, target):
                old = tmp  # the old content now sits at the temporary name
            else:
                old = Path(tempfile.mkdtemp(dir=parent, prefix=f".{target.name}.orbitlat-old-"))
                os.rmdir(old)
                os.rename(target, old)
                try:
                    os.rename(tmp, target)
                except BaseException:
                    os.rename(old, target)  # put the old content back
                    raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
