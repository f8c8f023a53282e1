"""Typed exceptions. Every error unspin raises on purpose derives from :class:`UnspinError`.

The CLI turns these into a single ``unspin: error: ...`` line and exit code 2 (input, usage
and output problems) or 3 (a missing optional component), never a traceback.
"""


class UnspinError(Exception):
    """Base class for errors unspin raises deliberately."""

    exit_code = 1


class InputError(UnspinError):
    """The input cannot be read as text (bad encoding, binary data, unreadable file)."""

    exit_code = 2


class OutputError(UnspinError):
    """An output cannot be written: a missing folder, a directory, no permission, a full disk."""

    exit_code = 2


class ConfigError(UnspinError, ValueError):
    """A :class:`~unspin.config.Config` value is out of range (a threshold outside 0-1 or NaN,
    a negative limit)."""

    exit_code = 2


class MissingComponent(UnspinError):
    """An optional dependency or the language model is not installed.

    The message always names the command that installs it.
    """

    exit_code = 3


def requires(module: str, extra: str):
    """Import ``module`` or raise :class:`MissingComponent` naming the pip extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingComponent(
            f"this feature needs the '{module}' package: pip install 'unspin[{extra}]'"
        ) from exc
