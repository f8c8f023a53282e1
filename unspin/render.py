"""Rendering a Report for people: the text with its evidence highlighted, and a span table.

Uses rich, which drops colour by itself when the output is not a terminal.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from .report import Report

#: One style per evidence kind (also used in the legend).
STYLES = {
    "signature": "bold black on yellow",
    "substitution": "underline magenta",
    "tortured_phrase": "bold white on red",
    "injected_anchor": "bold white on blue",
    "foreign_fragment": "bold black on cyan",
}
VERDICT_STYLES = {"spun": "bold red", "unsure": "bold yellow", "clean": "bold green", "not_applicable": "bold"}


def highlighted(text: str, report: Report) -> Text:
    out = Text(text)
    for s in report.spans:
        out.stylize(STYLES.get(s.kind, "reverse"), s.start, s.end)
    return out


def print_report(report: Report, text: str, console: Console | None = None, source: str = "", show_text: bool = True, verbose: int = 0) -> None:
    if console is None:
        import sys

        # a pipe or file gets long lines (rules unwrapped, greppable); a terminal its own width
        console = Console(highlight=False, soft_wrap=False, width=None if sys.stdout.isatty() else 160)
    score = "n/a" if report.score is None else f"{report.score:.2f}"
    head = Text()
    head.append(f"{report.verdict}", style=VERDICT_STYLES.get(report.verdict, ""))
    head.append(f"  p(spun)={score}")
    if source:
        head.append(f"  {source}", style="dim")
    console.print(head)
    console.print(Text(report.reason, style="dim"))
    shown = report.spans if verbose else [s for s in report.spans if s.kind != "substitution" or s.confidence >= 0.5]
    hidden = len(report.spans) - len(shown)
    if not shown:
        if hidden:
            console.print(Text(f"({hidden} weak substitution candidates not listed; -v lists them)", style="dim"))
        return
    if show_text:
        console.print()
        console.print(highlighted(text, report))
        console.print()
        legend = Text("legend: ")
        for kind, style in STYLES.items():
            legend.append(kind, style=style)
            legend.append(" ")
        console.print(legend)
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for col in ("at", "kind", "observed", "likely original", "conf", "rule"):
        table.add_column(col, overflow="fold")
    for s in shown:
        orig = "(unknown)" if s.original is None else ("(delete)" if s.original == "" else s.original)
        table.add_row(str(s.start), Text(s.kind, style=STYLES.get(s.kind, "")), s.text, orig, f"{s.confidence:.2f}", s.rule)
    console.print(table)
    if hidden:
        console.print(Text(f"({hidden} weak substitution candidates not listed; -v lists them)", style="dim"))
