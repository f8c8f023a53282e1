"""Showing a restoration: an inline or side-by-side diff for the terminal, and a
self-contained HTML page with the two texts side by side and every change explained.

All three views are built from ``Restoration.changes`` (spans on the input), never from a
text diff, so what is shown is exactly what was changed and why.
"""

from __future__ import annotations

import html
import shutil
import textwrap

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


def _marked(text: str, spans: list[tuple[int, int]], on: str, off: str) -> str:
    out, pos = [], 0
    for a, b in spans:
        out.append(text[pos:a] + on + text[a:b] + off)
        pos = b
    return "".join(out) + text[pos:]


def side_by_side(r: Restoration, width: int | None = None, color: bool = False) -> str:
    """Input on the left, restored text on the right, paragraph by paragraph; changed words
    are bracketed (or coloured). Paragraphs without changes are shown once, dimmed."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    col = max(20, (width - 3) // 2)
    changes = sorted(r.changes, key=lambda c: c.start)
    # map input paragraphs to restored paragraphs through the change list
    lines: list[str] = []
    pos_in = 0
    for para in r.source.split("\n"):
        a, b = pos_in, pos_in + len(para)
        pos_in = b + 1
        mine = [c for c in changes if a <= c.start and c.end <= b]
        left_spans, right_spans, restored, cur, rpos = [], [], [], a, 0
        for c in mine:
            restored.append(r.source[cur : c.start])
            rpos += c.start - cur
            left_spans.append((c.start - a, c.end - a))
            right_spans.append((rpos, rpos + len(c.original or "")))
            restored.append(c.original or "")
            rpos += len(c.original or "")
            cur = c.end
        restored.append(r.source[cur:b])
        right = "".join(restored)
        if not para.strip():
            lines.append("")
            continue
        if not mine:
            for ln in textwrap.wrap(para, col):
                lines.append((_DIM + ln + _RESET) if color else ln)
            continue
        # bracket the changed words; with colour the brackets become colour codes after wrapping
        left = _marked(para, left_spans, "[", "]")
        right_m = _marked(right, right_spans, "[", "]")
        lw, rw = textwrap.wrap(left, col), textwrap.wrap(right_m, col)
        for i in range(max(len(lw), len(rw))):
            ltxt = lw[i] if i < len(lw) else ""
            rtxt = rw[i] if i < len(rw) else ""
            pad = " " * (col - len(ltxt))
            if color:
                ltxt = ltxt.replace("[", _RED).replace("]", _RESET)
                rtxt = rtxt.replace("[", _GREEN).replace("]", _RESET)
            lines.append(f"{ltxt}{pad} | {rtxt}")
    return "\n".join(lines)


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
