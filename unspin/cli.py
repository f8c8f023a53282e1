"""The ``unspin`` command: one program, several subcommands (check, restore, scan, models, ...).

Each subcommand lives in ``unspin/commands/<name>.py`` and exposes ``register(subparsers)``.
Errors print one line, ``unspin: error: ...``, and exit with a documented code:

====  =====================================================
 0    success
 1    unexpected internal error (please report it)
 2    bad usage, unreadable input, or an output that cannot be written
 3    a missing optional component (the message says what to install)
 130  interrupted
====  =====================================================

Output paths are checked before the work starts (a missing folder, a directory, no write
permission), and a failed write (disk full, ``/dev/full``) is exit 2 with the reason.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import math
import os
import sys
import threading
import time

from . import __version__
from .errors import OutputError, UnspinError

#: Subcommand modules, in the order ``unspin --help`` lists them.
COMMANDS = ["check", "restore", "models", "scan", "cluster", "trace", "index", "serve"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unspin",
        description="Find text rewritten by article spinners, show the evidence, restore the original.",
    )
    parser.add_argument("--version", action="version", version=f"unspin {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMANDS:
        try:
            mod = importlib.import_module(f"unspin.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"unspin.commands.{name}":
                continue  # command not part of this build
            raise
        mod.register(sub)
    return parser


def add_common(parser: argparse.ArgumentParser) -> None:
    """Options every subcommand shares."""
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON instead of a report")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more detail (repeatable)")


def probability(value: str) -> float:
    """argparse type: a number from 0 to 1 (a threshold); NaN and out-of-range values are
    refused with a usage error."""
    try:
        p = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {value!r}") from None
    if not 0.0 <= p <= 1.0:  # also false for NaN
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {value!r}")
    return p


def finite(value: str) -> float:
    """argparse type: a finite number (NaN and infinity refused)."""
    try:
        x = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
    if not math.isfinite(x):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {value!r}")
    return x


def check_output_path(path: str, what: str = "output") -> None:
    """Refuse an output path that cannot be written, before any expensive work: a missing
    folder, a directory, no permission. ``-`` (standard output) always passes."""
    if path == "-":
        return
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"cannot write {what} {path}: it is a directory")
    if not os.path.isdir(folder):
        raise OutputError(f"cannot write {what} {path}: folder {folder} does not exist")
    if os.path.exists(path):
        if not os.access(path, os.W_OK):
            raise OutputError(f"cannot write {what} {path}: permission denied")
    elif not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {what} {path}: no permission to create files in {folder}")


def write_output(path: str, text: str, what: str = "output") -> None:
    """Write ``text`` to ``path`` (``-``: standard output). A regular file is written next to
    its final name and moved into place, so a failed write (disk full) leaves an existing file
    as it was; any failure is :class:`~unspin.errors.OutputError` (exit 2)."""
    if path == "-":
        sys.stdout.write(text)
        return
    data = text.encode("utf-8")
    try:
        if os.path.exists(path) and not os.path.isfile(path):  # a device or pipe: write in place
            with open(path, "wb") as fh:
                fh.write(data)
            return
        tmp = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.{os.getpid()}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
    except OSError as exc:
        raise OutputError(f"cannot write {what} {path}: {exc.strerror or exc}") from None


class Status:
    """Status lines on standard error while slow work runs (loading the model, restoring).

    On a terminal one line is redrawn every second with the time so far; elsewhere (a log, a
    CI job) a line when the work starts, one every ``every`` seconds while it runs, and one
    when it ends, so a long run is never silent. ``quiet`` prints nothing.
    """

    def __init__(self, quiet: bool = False, stream=None, every: float = 15.0, tty: bool | None = None):
        self.quiet = quiet
        self.stream = stream or sys.stderr
        self.every = every
        self.tty = self.stream.isatty() if tty is None else tty

    def _say(self, line: str, redraw: bool = False) -> None:
        try:
            if redraw:
                self.stream.write(f"\r\x1b[K{line}")
            else:
                self.stream.write(("\r\x1b[K" if self.tty else "") + line + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # standard error closed or full: the work goes on
            pass

    @contextlib.contextmanager
    def __call__(self, what: str):
        """``with status("restoring FILE"): ...``"""
        if self.quiet:
            yield
            return
        t0 = time.monotonic()
        done = threading.Event()
        if not self.tty:
            self._say(f"unspin: {what} ...")

        def tick() -> None:
            period = 1.0 if self.tty else self.every
            while not done.wait(period):
                secs = time.monotonic() - t0
                if self.tty:
                    self._say(f"unspin: {what} ... {secs:.0f} s", redraw=True)
                else:
                    self._say(f"unspin: still {what} ({secs:.0f} s so far)")

        ticker = threading.Thread(target=tick, name="unspin-status", daemon=True)
        ticker.start()
        ok = False
        try:
            yield
            ok = True
        finally:
            done.set()
            ticker.join()
            secs = time.monotonic() - t0
            self._say(f"unspin: {what}: {'done' if ok else 'stopped'} in {secs:.1f} s")


def error(message: str, code: int = 2) -> int:
    print(f"unspin: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.func(args) or 0)
        _flush_stdout()
        return code
    except UnspinError as exc:
        return error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return error("interrupted", 130)
    except BrokenPipeError:
        _detach_stdout()
        return 0
    except OSError as exc:
        # a write to standard output failed (disk full, "> /dev/full"): a usage problem, not a bug
        if getattr(exc, "unspin_stdout", False) or (exc.filename is None and (exc.errno in _WRITE_ERRNOS or _stdout_broken())):
            _detach_stdout()
            return error(f"cannot write standard output: {exc.strerror or exc}", 2)
        if getattr(args, "verbose", 0) >= 2:
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for a traceback)", 1)
    except Exception as exc:  # a bug: still one line, plus how to see the traceback
        if getattr(args, "verbose", 0) >= 2:
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for a traceback)", 1)


#: errno values of a write that failed for want of room or a working device.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except OSError as exc:
        exc.unspin_stdout = True
        raise


def _stdout_broken() -> bool:
    try:
        sys.stdout.flush()
        return False
    except OSError:
        return True


def _detach_stdout() -> None:
    """Point standard output at /dev/null so the interpreter's last flush cannot fail again
    (the advice in Python's signal documentation for broken pipes)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
