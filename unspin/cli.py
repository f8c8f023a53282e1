"""The ``unspin`` command: one program, several subcommands (check, restore, scan, models, ...).

Each subcommand lives in ``unspin/commands/<name>.py`` and exposes ``register(subparsers)``.
Errors print one line, ``unspin: error: ...``, and exit with a documented code:

====  =====================================================
 0    success
 1    unexpected internal error (please report it)
 2    bad usage or unreadable input
 3    a missing optional component (the message says what to install)
 130  interrupted
====  =====================================================
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__
from .errors import UnspinError

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


def error(message: str, code: int = 2) -> int:
    print(f"unspin: error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except UnspinError as exc:
        return error(str(exc), exc.exit_code)
    except KeyboardInterrupt:
        return error("interrupted", 130)
    except BrokenPipeError:
        return 0
    except Exception as exc:  # a bug: still one line, plus how to see the traceback
        if getattr(args, "verbose", 0) >= 2:
            raise
        return error(f"internal error: {type(exc).__name__}: {exc} (rerun with -vv for a traceback)", 1)
