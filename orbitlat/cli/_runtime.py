"""How every ``orbitlat`` command runs: exit codes, one-line messages, signals and warnings.

:func:`guard` wraps each command (``@app.command() @guard def ...``) so that new commands and
options inherit the same contract:

- exit **0** on success; **2** for bad input (an :class:`~orbitlat.errors.OrbitlatError` or
  :class:`Fail`) with one line ``orbitlat: error: ...``; **1** for an unexpected failure (one line;
  ``ORBITLAT_DEBUG=1`` for the traceback) or for running out of memory (said as that, with what
  to change);
- **SIGTERM is treated like Ctrl-C** (what ``kill``, systemd, Slurm and CI send): both unwind the
  command, so temporary files are removed and worker processes stopped, then print one line
  (``orbitlat: interrupted`` / ``orbitlat: terminated``) and exit 130 / 143 (128 + signal);
- **warnings** print as ``orbitlat: warning: ...`` one-liners, without Python's file paths;
- **usage errors** (an unknown option, a value of the wrong type) are one line too, exit 2
  (:func:`one_line_group`, the click group class of the ``orbitlat`` app).
"""
from __future__ import annotations

import contextlib
import functools
import os
import signal
import sys
import warnings

__all__ = ["EXIT_OK", "EXIT_UNEXPECTED", "EXIT_BAD_INPUT", "EXIT_INTERRUPTED", "EXIT_TERMINATED", "Fail", "fail",
           "guard", "one_line", "print_err", "print_warning", "Terminated"]

EXIT_OK = 0
EXIT_UNEXPECTED = 1
EXIT_BAD_INPUT = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, the shell's convention for a command stopped by Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143


class Fail(Exception):
    """A bad-input failure raised inside a command (turned into exit code 2)."""


def fail(msg: str):
    """Stop the command with exit code 2 and ``orbitlat: error: msg``."""
    raise Fail(msg)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that the command unwinds like after Ctrl-C."""


def one_line(msg: str) -> str:
    return " ".join(str(msg).split())


def print_err(msg: str) -> None:
    print(f"orbitlat: error: {msg}", file=sys.stderr)


def print_warning(msg: str) -> None:
    print(f"orbitlat: warning: {one_line(msg)}", file=sys.stderr)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    name = getattr(category, "__name__", "Warning")
    text = one_line(str(message))
    label = "" if name in ("UserWarning",) else f"{name}: "
    try:
        print(f"orbitlat: warning: {label}{text}", file=sys.stderr if file is None else file)
    except (OSError, ValueError):  # pragma: no cover - stderr closed
        pass


@contextlib.contextmanager
def _one_line_warnings():
    old = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        yield
    finally:
        warnings.showwarning = old


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def _sigterm_as_interrupt():
    """Inside the block SIGTERM raises :class:`Terminated` (main thread only; elsewhere a no-op)."""
    try:
        old = signal.signal(signal.SIGTERM, _raise_terminated)
    except (ValueError, OSError):  # not the main thread (e.g. a test runner's thread): leave it
        yield
        return
    try:
        yield
    finally:
        try:
            signal.signal(signal.SIGTERM, old)
        except (ValueError, OSError):  # pragma: no cover
            pass


def _memory_hint() -> str:
    try:
        from orbitlat.memory import available_bytes

        avail = available_bytes()
    except Exception:  # pragma: no cover - estimate helper unavailable
        avail = None
    have = f"{avail / 2**30:.1f} GiB available" if avail else "the memory available"
    return (f"out of memory ({have}); use a shorter --duration, a coarser --step, fewer sites/users, or write "
            "the result to a file with --out where the command streams it")


def guard(fn):
    """Run a command under the exit-code contract (see the module docs)."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        from orbitlat.errors import OrbitlatError

        try:
            with _sigterm_as_interrupt(), _one_line_warnings():
                return fn(*args, **kwargs)
        except (Fail, OrbitlatError) as exc:
            print_err(one_line(str(exc)))
            raise SystemExit(EXIT_BAD_INPUT) from None
        except Terminated:
            print("orbitlat: terminated (SIGTERM); temporary files removed, nothing written", file=sys.stderr)
            raise SystemExit(EXIT_TERMINATED) from None
        except KeyboardInterrupt:
            print("orbitlat: interrupted (Ctrl-C); temporary files removed, nothing written", file=sys.stderr)
            raise SystemExit(EXIT_INTERRUPTED) from None
        except SystemExit:
            raise
        except MemoryError as exc:
            if os.environ.get("ORBITLAT_DEBUG"):
                raise
            detail = one_line(str(exc))
            print_err(_memory_hint() + (f" [{detail}]" if detail else ""))
            raise SystemExit(EXIT_UNEXPECTED) from None
        except BrokenPipeError:  # `orbitlat ... | head`: the reader left; stop quietly (Python docs' recipe)
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):  # pragma: no cover
                pass
            raise SystemExit(EXIT_UNEXPECTED) from None
        except Exception as exc:  # unexpected: one line, traceback on request
            if os.environ.get("ORBITLAT_DEBUG"):
                raise
            print_err(f"unexpected {type(exc).__name__}: {one_line(str(exc))} "
                      "(set ORBITLAT_DEBUG=1 for the traceback; please report it)")
            raise SystemExit(EXIT_UNEXPECTED) from None

    return wrapper


def one_line_group():
    """A typer group class whose usage errors print as one ``orbitlat: error: ...`` line (exit 2)."""
    from typer.core import TyperGroup

    try:  # typer >= 0.2x vendors its own click
        from typer import _click as click
    except ImportError:  # pragma: no cover - older typer on the click package
        import click
    try:
        from typer import Abort as _ABORT
    except ImportError:  # pragma: no cover
        _ABORT = click.exceptions.Abort

    class OneLineGroup(TyperGroup):
        def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
            if not standalone_mode:
                return super().main(args=args, prog_name=prog_name, complete_var=complete_var,
                                    standalone_mode=False, **extra)
            try:
                rv = super().main(args=args, prog_name=prog_name, complete_var=complete_var, standalone_mode=False,
                                  **extra)
            except click.exceptions.NoArgsIsHelpError as exc:  # `orbitlat` alone: the help, as click does
                exc.show()
                sys.exit(exc.exit_code)
            except click.exceptions.UsageError as exc:
                where = f" (see `{exc.ctx.command_path} --help`)" if exc.ctx is not None else ""
                print_err(one_line(exc.format_message()) + where)
                sys.exit(EXIT_BAD_INPUT)
            except click.exceptions.ClickException as exc:
                print_err(one_line(exc.format_message()))
                sys.exit(exc.exit_code)
            except _ABORT:
                print("orbitlat: interrupted (Ctrl-C)", file=sys.stderr)
                sys.exit(EXIT_INTERRUPTED)
            sys.exit(rv if isinstance(rv, int) else EXIT_OK)

    return OneLineGroup
