"""Reading input: bytes to text, with a clear error for data that is not text.

Policy (documented in the README): bytes that are not valid UTF-8 are decoded with
replacement characters and a warning is attached; input that looks binary (NUL bytes or a
high share of control characters) is refused with :class:`~unspin.errors.InputError`.
"""

from __future__ import annotations

import re
import sys
import warnings

from .errors import InputError


class DecodingWarning(UserWarning):
    """Input was not valid UTF-8 and was decoded with replacement characters."""


def looks_binary(data: bytes) -> bool:
    head = data[:8192]
    if not head:
        return False
    if b"\x00" in head:
        return True
    ctrl = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    return ctrl / len(head) > 0.10


def decode(data: bytes, source: str = "input") -> tuple[str, list[str]]:
    """Decode ``data`` as UTF-8. Returns the text and a list of warnings (strings).

    Raises :class:`InputError` for binary data.
    """
    if looks_binary(data):
        raise InputError(f"{source} looks like binary data, not text")
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        text = data.decode("utf-8", errors="replace")
        bad = text.count("\ufffd")
        notes.append(
            f"{source} is not valid UTF-8 (first bad byte at offset {exc.start}); "
            f"decoded with {bad} replacement character(s)"
        )
        warnings.warn(notes[-1], DecodingWarning, stacklevel=2)
    return text, notes


def read_input(path: str) -> tuple[str, list[str]]:
    """Read a file path, or standard input for ``-``, as text."""
    try:
        if path == "-":
            data = sys.stdin.buffer.read()
            source = "standard input"
        else:
            with open(path, "rb") as fh:
                data = fh.read()
            source = path
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a text file") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DecodingWarning)
        return decode(data, source)


_TAG = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|</?[A-Za-z][^<>]{0,2000}>", re.S | re.I)


def looks_like_html(text: str) -> bool:
    """True when markup makes up a noticeable part of the text (at least 3 tags and 5% of
    the characters)."""
    head = text[:200_000]
    tags = _TAG.findall(head)
    if len(tags) < 3:
        return False
    tag_chars = sum(m.end() - m.start() for m in _TAG.finditer(head))
    return tag_chars / max(len(head), 1) >= 0.05


def mask_html(text: str) -> str:
    """Blank out tags, comments, scripts and styles with spaces of the same length, so the
    prose can be read while offsets still point into the text as given."""

    def blank(m: re.Match) -> str:
        s = m.group()
        return "".join("\n" if c == "\n" else " " for c in s)

    return _TAG.sub(blank, text)
