"""Showing a restoration: an inline or side-by-side diff for the terminal, and a
self-contained HTML page with the two texts side by side and every change explained.

All three views are built from ``Restoration.changes`` (spans on the input), never from a
text diff, so what is shown is exactly what was changed and why.
"""

from __future__ import annotations

import html
import re
import shutil
import unicodedata

from .report import Restoration, Span

_RED, _GREEN, _DIM, _RESET = "\x1b[31;9m", "\x1b[32;1m", "\x1b[2m", "\x1b[0m"


def _why(c: Span) -> str:
    return f"{c.kind}, confidence {c.confidence:.2f}: {c.rule}"


def inline(r: Restoration, color: bool = False) -> str:
    """The input with each change written in place: ``[-observed-]{+original+}`` (or red
    struck-through / green when ``color``)."""
    out, pos = [], 0
    for c in sorted(r.changes, key=lambda c: c.start):
        out.append(r.source[pos : c.start])
        if color:
            out.append(f"{_RED}{c.text}{_RESET}")
            if c.original:
                out.append(f"{_GREEN}{c.original}{_RESET}")
        else:
            out.append(f"[-{c.text}-]")
            if c.original:
                out.append(f"{{+{c.original}+}}")
        pos = c.end
    out.append(r.source[pos:])
    return "".join(out)


def cell_width(ch: str) -> int:
    """Terminal columns ``ch`` takes: 2 for wide and full-width characters (CJK, most emoji),
    0 for combining marks and invisible format characters, 1 otherwise."""
    if ch < "\u0300":  # fast path: ASCII and Latin-1
        return 1
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _display(text: str) -> str:
    """One character for one, safe to print in a column: tabs and other control characters
    (which would move the cursor or start an escape sequence) become spaces and U+FFFD."""
    return "".join(" " if c == "\t" else "\ufffd" if unicodedata.category(c) == "Cc" else c for c in text)


def _wrap(text: str, width: int) -> list[tuple[int, int]]:
    """Greedy word wrap by display width: ``(start, end)`` ranges of ``text``, one per line,
    without the spaces at the breaks; a word wider than the column is cut where it fills it."""
    lines: list[tuple[int, int]] = []
    start = end = None  # the current line, as a range of text
    used = 0
    for m in re.finditer(r"\s+|\S+", text):
        piece, a = m.group(), m.start()
        if piece.isspace():
            if start is not None:
                w = sum(cell_width(c) for c in piece)
                if used + w <= width:
                    end, used = m.end(), used + w
                else:
                    lines.append((start, end))
                    start = end = None
                    used = 0
            continue
        w = sum(cell_width(c) for c in piece)
        if start is not None and used + w > width:
            lines.append((start, end))
            start = end = None
            used = 0
        if w <= width - used:
            if start is None:
                start = a
            end, used = m.end(), used + w
            continue
        for k, c in enumerate(piece):  # a word longer than the column
            cw = cell_width(c)
            if used + cw > width and start is not None:
                lines.append((start, end))
                start = end = None
                used = 0
            if start is None:
                start = a + k
            end, used = a + k + 1, used + cw
    if start is not None:
        lines.append((start, end))
    # trailing spaces kept inside a line are dropped (they only push the separator)
    return [(a, b - (len(text[a:b]) - len(text[a:b].rstrip()))) for a, b in lines] or [(0, 0)]


def _render(text: str, a: int, b: int, marks: list[tuple[int, int]], on: str, off: str) -> tuple[str, int]:
    """``text[a:b]`` with the part of each marked range inside it between ``on`` and ``off``
    (so a change wrapped over two lines is closed at the end of the first and reopened on the
    second), and its width in terminal cells (codes take none)."""
    out, pos = [], a
    if on:
        for s, e in marks:
            s, e = max(s, a), min(e, b)
            if s >= e:
                continue
            out.append(text[pos:s])
            out.append(on + text[s:e] + off)
            pos = e
    out.append(text[pos:b])
    return "".join(out), sum(cell_width(c) for c in text[a:b])


def side_by_side(r: Restoration, width: int | None = None, color: bool = False) -> str:
    """Input on the left, restored text on the right, paragraph by paragraph; changed words
    are bracketed (or coloured). Paragraphs without changes are shown once, dimmed.

    Columns are measured in terminal cells (wide characters count two, combining marks none)
    and colour codes are opened and closed within each line, so the separator stays in one
    column whatever the text holds."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    col = max(20, (width - 3) // 2)
    changes = sorted(r.changes, key=lambda c: c.start)
    lines: list[str] = []
    pos_in = 0
    for para in r.source.split("\n"):
        a, b = pos_in, pos_in + len(para)
        pos_in = b + 1
        mine = [c for c in changes if a <= c.start and c.end <= b]
        left_marks, right_marks, restored, cur, rpos = [], [], [], a, 0
        for c in mine:
            restored.append(r.source[cur : c.start])
            rpos += c.start - cur
            left_marks.append((c.start - a, c.end - a))
            right_marks.append((rpos, rpos + len(c.original or "")))
            restored.append(c.original or "")
            rpos += len(c.original or "")
            cur = c.end
        restored.append(r.source[cur:b])
        left, right = _display(para), _display("".join(restored))
        if not para.strip():
            lines.append("")
            continue
        if not mine:
            for x, y in _wrap(left, col):
                lines.append((_DIM + left[x:y] + _RESET) if color else left[x:y])
            continue
        if color:
            lon, loff, ron, roff = _RED, _RESET, _GREEN, _RESET
            lw, rw = _wrap(left, col), _wrap(right, col)
        else:  # bracket the changes in the text itself, so the wrap counts the brackets
            left, left_marks = _bracketed(left, left_marks)
            right, right_marks = _bracketed(right, right_marks)
            lon = loff = ron = roff = ""
            lw, rw = _wrap(left, col), _wrap(right, col)
        for i in range(max(len(lw), len(rw))):
            ltxt, lwidth = _render(left, *lw[i], left_marks, lon, loff) if i < len(lw) else ("", 0)
            rtxt, _ = _render(right, *rw[i], right_marks, ron, roff) if i < len(rw) else ("", 0)
            lines.append(f"{ltxt}{' ' * max(0, col - lwidth)} | {rtxt}".rstrip())
    return "\n".join(lines)


def _bracketed(text: str, marks: list[tuple[int, int]]) -> tuple[str, list[tuple[int, int]]]:
    """``text`` with ``[`` and ``]`` around each marked range (an empty range, a deletion on
    the right, shows as ``[]``), and the ranges moved to cover the bracketed text."""
    out, moved, pos, shift = [], [], 0, 0
    for s, e in marks:
        out.append(text[pos:s] + "[" + text[s:e] + "]")
        moved.append((s + shift, e + shift + 2))
        shift += 2
        pos = e
    out.append(text[pos:])
    return "".join(out), moved


def summary(r: Restoration) -> str:
    """One line per change: position, observed -> original, kind, confidence, rule."""
    rows = []
    for c in sorted(r.changes, key=lambda c: c.start):
        orig = "(deleted)" if c.original == "" else repr(c.original)
        rows.append(f"{c.start:>6}  {c.text!r} -> {orig}  [{_why(c)}]")
    return "\n".join(rows)


_CSS = """
body{font:15px/1.55 system-ui,-apple-system,Segoe UI,sans-serif;margin:1.5em auto;max-width:1400px;color:#1d1d1f;padding:0 1em}
h1{font-size:1.3em} .cols{display:grid;grid-template-columns:1fr 1fr;gap:1.5em}
.col{background:#fafafa;border:1px solid #ddd;border-radius:6px;padding:1em;white-space:pre-wrap;overflow-wrap:anywhere}
.col h2{font-size:1em;margin:0 0 .6em;color:#555;white-space:normal}
del{background:#ffd7d5;color:#86181d;text-decoration:line-through} ins{background:#ccf5d4;color:#0b4f1c;text-decoration:none}
del,ins{border-radius:3px;padding:0 2px;cursor:help} .k-signature{outline:1px solid #e4a8a8}
table{border-collapse:collapse;margin-top:1.5em;width:100%;font-size:13px} td,th{border-bottom:1px solid #eee;padding:4px 8px;text-align:left;vertical-align:top}
.meta{color:#666;font-size:13px}
"""


def html_page(r: Restoration, title: str = "unspin restore") -> str:
    """A self-contained HTML page (no scripts, no external files): input and restored text
    side by side, each change highlighted with its reason as a tooltip and listed below."""
    changes = sorted(r.changes, key=lambda c: c.start)
    left, right, pos = [], [], 0
    for n, c in enumerate(changes, start=1):
        plain = html.escape(r.source[pos : c.start])
        left.append(plain)
        right.append(plain)
        why = html.escape(_why(c), quote=True)
        left.append(f'<del id="o{n}" class="k-{c.kind}" title="{why}">{html.escape(c.text)}</del>')
        if c.original:
            right.append(f'<ins id="r{n}" class="k-{c.kind}" title="{why}">{html.escape(c.original)}</ins>')
        else:
            right.append(f'<ins id="r{n}" class="k-{c.kind}" title="{why} (deleted)">&#8203;</ins>')
        pos = c.end
    tail = html.escape(r.source[pos:])
    left.append(tail)
    right.append(tail)
    rows = "".join(
        f"<tr><td>{n}</td><td>{c.start}</td><td><del>{html.escape(c.text)}</del></td>"
        f"<td><ins>{html.escape(c.original) if c.original else '<i>(deleted)</i>'}</ins></td>"
        f"<td>{html.escape(c.kind)}</td><td>{c.confidence:.2f}</td><td>{html.escape(c.rule)}</td></tr>"
        for n, c in enumerate(changes, start=1)
    )
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">{len(changes)} change(s). "
        "Hover a highlighted word for the reason. Generated by unspin; the right column is a proposed "
        "restoration, not the certain original.</p>"
        f"<div class=\"cols\"><div class=\"col\"><h2>Input</h2>{''.join(left)}</div>"
        f"<div class=\"col\"><h2>Restored</h2>{''.join(right)}</div></div>"
        "<table><thead><tr><th>#</th><th>offset</th><th>observed</th><th>restored</th><th>kind</th>"
        f"<th>confidence</th><th>rule</th></tr></thead><tbody>{rows}</tbody></table></body></html>\n"
    )
