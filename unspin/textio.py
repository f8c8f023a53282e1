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
from .report import Span


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


def decode(data: bytes, source: str = "input", complete: bool = True) -> tuple[str, list[str]]:
    """Decode ``data`` as UTF-8. Returns the text and a list of warnings (strings).

    ``complete=False`` says ``data`` is the first part of a longer input: a character cut in
    two at its end is dropped rather than reported as bad UTF-8. Raises :class:`InputError`
    for binary data.
    """
    if looks_binary(data):
        raise InputError(f"{source} looks like binary data, not text")
    notes: list[str] = []
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not complete:
        data = _whole_characters(data)
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


def _whole_characters(data: bytes) -> bytes:
    """``data`` without a UTF-8 sequence left incomplete at its end."""
    for back in range(1, min(4, len(data)) + 1):
        b = data[-back]
        if b & 0xC0 != 0x80:  # not a continuation byte: the start of the last character
            need = 2 if 0xC0 <= b < 0xE0 else 3 if 0xE0 <= b < 0xF0 else 4 if 0xF0 <= b < 0xF8 else 1
            return data[:-back] if need > back else data
    return data


#: Bytes read per call while reading input (the first piece is also the binary check's sample).
_READ_CHUNK = 1 << 20


def _read_bounded(fh, limit: int, source: str) -> tuple[bytes, bool]:
    """Read at most ``limit`` bytes from ``fh``; also say whether more was left. Refuses
    binary data after the first piece, so ``/dev/zero`` is not read to the end."""
    chunks: list[bytes] = []
    n = 0
    while limit <= 0 or n < limit:
        piece = fh.read(_READ_CHUNK if limit <= 0 else min(_READ_CHUNK, limit - n))
        if not piece:
            return b"".join(chunks), False
        if not chunks and looks_binary(piece):
            raise InputError(f"{source} looks like binary data, not text")
        chunks.append(piece)
        n += len(piece)
    return b"".join(chunks), bool(fh.read(1))


def resliced(spans: list[Span], text: str) -> list[Span]:
    """The spans with ``text`` taken from ``text`` at their offsets, so that
    ``text[s.start:s.end] == s.text`` holds (a stage that read a masked copy of the input,
    such as HTML with its tags blanked out, sees other characters there)."""
    from dataclasses import replace

    return [s if text[s.start:s.end] == s.text else replace(s, text=text[s.start:s.end]) for s in spans]


_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> tuple[str, list[str]]:
    """Make ``text`` valid Unicode: each surrogate code point (U+D800-U+DFFF, which cannot be
    written as UTF-8, e.g. half of a UTF-16 pair cut in two) is replaced by U+FFFD. One
    character for one, so offsets into the text as given stay valid. Returns the text and a
    list with one note when anything was replaced (no note otherwise).

    ``str`` is the only way such code points arrive: decoding bytes never produces them.
    """
    if text.isascii():
        return text, []
    text, n = _SURROGATE.subn("\ufffd", text)
    if not n:
        return text, []
    return text, [f"{n} surrogate code point(s) that are not valid Unicode replaced with U+FFFD"]


def read_input(path: str, max_chars: int | None = None) -> tuple[str, list[str]]:
    """Read a file path, or standard input for ``-``, as text.

    At most ``max_chars`` characters are read (default ``Config.max_chars``; 0: no limit):
    reading stops there, so an endless or huge input costs no more memory than that, and the
    cut is one of the returned notes.
    """
    if max_chars is None:
        from .config import DEFAULT

        max_chars = DEFAULT.max_chars
    limit = 4 * max_chars + 4 if max_chars else 0  # UTF-8 takes at most 4 bytes a character
    source = "standard input" if path == "-" else path
    try:
        if path == "-":
            data, more = _read_bounded(sys.stdin.buffer, limit, source)
        else:
            with open(path, "rb") as fh:
                data, more = _read_bounded(fh, limit, source)
    except FileNotFoundError:
        raise InputError(f"no such file: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a text file") from None
    except PermissionError:
        raise InputError(f"cannot read {path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DecodingWarning)
        text, notes = decode(data, source, complete=not more)
    if max_chars and (more or len(text) > max_chars):
        text = text[:max_chars]
        notes.append(f"only the first {max_chars:,} characters of {source} were read (Config.max_chars)")
    return text, notes


# Markup is found by a small scanner rather than one regular expression: with
# ``<!--.*?-->|<(script|style)\b.*?</\1\s*>|...`` every unclosed "<script" or "<!--" made the
# engine read to the end of the text, so ``'<script>x ' * n`` took quadratic time. The
# scanner finds the same spans as that expression (tests/test_robustness.py compares them)
# and remembers when no closing "-->" or "</script>" is left, so each character is read a
# bounded number of times.
_TAG_START = re.compile(r"<(?:!--|(script|style)\b|/?[A-Za-z])", re.I)
_TAG_CLOSE = {name: re.compile(rf"</{name}\s*>", re.I) for name in ("script", "style")}
_PLAIN_TAG = re.compile(r"</?[A-Za-z][^<>]{0,2000}>")


def tag_spans(text: str):
    """Yield ``(start, end)`` of each comment, script or style element and tag in ``text``,
    left to right and not overlapping. An unclosed comment is not markup; an unclosed
    ``<script>`` counts as a tag on its own."""
    pos = 0
    unclosed: set[str] = set()  # "--" or a tag name with no closing left after ``pos``
    while True:
        m = _TAG_START.search(text, pos)
        if m is None:
            return
        start, end = m.start(), -1
        if m.group().startswith("<!"):
            if "--" not in unclosed:
                end = text.find("-->", start + 4)
                if end < 0:
                    unclosed.add("--")
                else:
                    end += 3
        else:
            name = (m.group(1) or "").lower()
            if name and name not in unclosed:
                close = _TAG_CLOSE[name].search(text, m.end())
                if close is None:
                    unclosed.add(name)
                else:
                    end = close.end()
            if end < 0:
                plain = _PLAIN_TAG.match(text, start)
                if plain is not None:
                    end = plain.end()
        if end < 0:
            pos = start + 1
        else:
            yield start, end
            pos = end


def looks_like_html(text: str) -> bool:
    """True when markup makes up a noticeable part of the text (at least 3 tags and 5% of
    the characters)."""
    head = text[:200_000]
    spans = list(tag_spans(head))
    if len(spans) < 3:
        return False
    tag_chars = sum(end - start for start, end in spans)
    return tag_chars / max(len(head), 1) >= 0.05


def mask_html(text: str) -> str:
    """Blank out tags, comments, scripts and styles with spaces of the same length, so the
    prose can be read while offsets still point into the text as given."""

    out, pos = [], 0
    for start, end in tag_spans(text):
        out.append(text[pos:start])
        out.append("".join("\n" if c == "\n" else " " for c in text[start:end]))
        pos = end
    out.append(text[pos:])
    return "".join(out)
