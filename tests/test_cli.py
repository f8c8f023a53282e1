"""The command line as a user meets it: JSON shape, stdin, errors as one line, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args, stdin: bytes | None = None):
    return subprocess.run([sys.executable, "-m", "unspin", *args], input=stdin, capture_output=True, timeout=120)


def test_check_json_is_one_object_with_the_documented_keys(examples):
    p = run("check", "--json", str(examples / "spun-council-news.txt"))
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert set(d) == {"score", "verdict", "reason", "spans"}
    assert d["verdict"] == "spun"
    assert {s["kind"] for s in d["spans"]} >= {"signature", "injected_anchor"}


def test_check_reads_stdin(examples):
    data = (examples / "clean-council-news.txt").read_bytes()
    p = run("check", "--json", "-", stdin=data)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["verdict"] == "clean"


def test_check_text_report_names_the_verdict_and_rules(examples):
    p = run("check", str(examples / "spun-council-news.txt"))
    out = p.stdout.decode()
    assert p.returncode == 0
    assert out.startswith("spun")
    assert "signature:and-you-may" in out


def test_missing_file_is_one_line_error_exit_2(tmp_path):
    p = run("check", str(tmp_path / "nope.txt"))
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.startswith("unspin: error: no such file") and err.count("\n") == 1
    assert "Traceback" not in err


def test_binary_file_is_refused_without_traceback(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 10)
    p = run("check", str(f))
    assert p.returncode == 2
    assert p.stderr.decode().startswith("unspin: error:") and b"Traceback" not in p.stderr


def test_invalid_utf8_warns_and_still_reports(tmp_path):
    f = tmp_path / "latin1.txt"
    f.write_bytes("The café on the corner opened again this week after a long winter of repairs and delays.".encode("latin-1"))
    p = run("check", "--json", str(f))
    assert p.returncode == 0
    assert "not valid UTF-8" in p.stderr.decode()
    assert "not valid UTF-8" in json.loads(p.stdout)["reason"]


def test_empty_input_is_not_applicable():
    p = run("check", "--json", "-", stdin=b"")
    assert p.returncode == 0
    assert json.loads(p.stdout)["verdict"] == "not_applicable"


def test_version_and_help():
    p = run("--version")
    assert p.returncode == 0 and p.stdout.decode().startswith("unspin ")
    h = run("--help")
    assert h.returncode == 0 and b"check" in h.stdout


def _subcommands(parser=None, prefix=()):
    """Every subcommand path the parser knows (``("check",)``, ``("models", "info")``, ...),
    found from the parser itself, so a new command is covered without editing this list."""
    import argparse

    from unspin.cli import build_parser

    parser = parser or build_parser()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,)
                yield from _subcommands(sub, prefix + (name,))


SUBCOMMANDS = sorted(set(_subcommands()))


def test_the_parser_has_the_documented_commands():
    assert {("check",), ("restore",), ("models",), ("models", "info"), ("scan",), ("serve",)} <= set(SUBCOMMANDS)


@pytest.mark.parametrize("cmd", SUBCOMMANDS, ids=" ".join)
def test_every_command_has_help(cmd):
    p = run(*cmd, "--help")
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith(b"usage: unspin " + " ".join(cmd).encode())
    # a description under the usage line, not only the options
    assert p.stdout.split(b"\n\n")[1].strip() and not p.stdout.split(b"\n\n")[1].startswith(b"positional arguments")
    assert not p.stdout.split(b"\n\n")[1].startswith(b"options:")


# --- the README's own commands, and options checked before the work (issue 11) ---

def test_restore_diff_takes_the_file_as_the_readme_shows():
    from unspin.cli import build_parser

    args = build_parser().parse_args(["restore", "--diff", "examples/spun-council-news.txt"])
    assert args.diff and not args.side and args.file == "examples/spun-council-news.txt"
    args = build_parser().parse_args(["restore", "--diff", "--side", "FILE"])
    assert args.diff and args.side and args.file == "FILE"
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    assert "unspin restore --diff FILE" in readme and "--side" in readme


def test_models_info_json_after_the_action():
    for argv in (["models", "info", "--json"], ["models", "--json", "info"], ["models", "--json"]):
        p = run(*argv)
        assert p.returncode == 0, (argv, p.stderr)
        assert "installed" in json.loads(p.stdout)


@pytest.mark.parametrize("value", ["1.5", "nan", "-0.1", "inf", "high"])
def test_threshold_out_of_range_is_a_usage_error(examples, value):
    p = run("check", "--threshold", value, str(examples / "clean-council-news.txt"))
    assert p.returncode == 2
    assert b"--threshold" in p.stderr and b"from 0 to 1" in p.stderr and b"Traceback" not in p.stderr


def test_dev_zero_is_refused_as_binary_without_reading_it_all():
    p = run("check", "/dev/zero")  # used to read until memory ran out
    assert p.returncode == 2 and b"binary" in p.stderr


def test_reading_stops_at_max_chars(monkeypatch):
    from unspin import textio

    class Endless:
        """Standard input that never ends (``yes | unspin check -``)."""

        def __init__(self):
            self.given = 0

        def read(self, n=-1):
            assert n is not None and n > 0, "read everything from an endless stream"
            self.given += n
            return b"the council voted. " * (n // 19) + b"x" * (n % 19)

    endless = Endless()
    monkeypatch.setattr(textio.sys, "stdin", type("S", (), {"buffer": endless})())
    text, notes = textio.read_input("-", max_chars=10_000)
    assert len(text) == 10_000 and endless.given <= 4 * 10_000 + 5
    assert any("only the first 10,000 characters" in n for n in notes)


def test_a_cut_inside_a_character_is_not_bad_utf8(tmp_path):
    from unspin import textio

    f = tmp_path / "wide.txt"
    f.write_text("é" * 5000, encoding="utf-8")
    text, notes = textio.read_input(str(f), max_chars=1001)  # 4 * 1001 + 4 bytes ends mid-"é"
    assert text == "é" * 1001 and not any("UTF-8" in n for n in notes)


def test_html_into_a_missing_folder_fails_before_the_work(examples, tmp_path):
    env_model = {"UNSPIN_MODEL": str(tmp_path / "no-model-here")}  # the model would fail later, and differently
    p = subprocess.run([sys.executable, "-m", "unspin", "restore", "--html", str(tmp_path / "nope" / "out.html"),
                        str(examples / "spun-council-news.txt")], capture_output=True, timeout=120,
                       env={**__import__("os").environ, **env_model})
    assert p.returncode == 2
    err = p.stderr.decode()
    assert err.startswith("unspin: error: cannot write the HTML page") and "does not exist" in err, err
    p = run("restore", "--html", str(tmp_path), str(examples / "spun-council-news.txt"))
    assert p.returncode == 2 and b"is a directory" in p.stderr


def test_write_failures_are_exit_2_not_internal_errors(examples, tmp_path):
    with open("/dev/full", "wb") as full:
        p = subprocess.run([sys.executable, "-m", "unspin", "check", str(examples / "clean-council-news.txt")],
                           stdout=full, stderr=subprocess.PIPE, timeout=120)
    assert p.returncode == 2, p.stderr
    # (status lines may come first while the model tier loads)
    assert p.stderr.decode().strip().splitlines()[-1] == "unspin: error: cannot write standard output: No space left on device"
    # a file written through write_output: a failure keeps an existing file whole
    from unspin.cli import write_output
    from unspin.errors import OutputError

    with pytest.raises(OutputError, match="No space left"):
        write_output("/dev/full", "x" * 100_000, "the HTML page")
    target = tmp_path / "page.html"
    target.write_text("old page")
    write_output(str(target), "new page")
    assert target.read_text() == "new page" and [p.name for p in tmp_path.iterdir()] == ["page.html"]


def test_status_lines_when_not_on_a_terminal():
    import io
    import time

    from unspin.cli import Status

    buf = io.StringIO()
    with Status(stream=buf, every=0.05, tty=False)("restoring x.txt"):
        time.sleep(0.3)
    lines = buf.getvalue().splitlines()
    assert lines[0] == "unspin: restoring x.txt ..."
    assert sum(ln.startswith("unspin: still restoring x.txt (") for ln in lines) >= 2
    assert lines[-1].startswith("unspin: restoring x.txt: done in ")
    quiet = io.StringIO()
    with Status(quiet=True, stream=quiet)("loading"):
        pass
    assert quiet.getvalue() == ""


def test_side_by_side_stays_aligned_with_wide_characters_and_long_words():
    import re

    from unspin.diffview import cell_width, side_by_side
    from unspin.report import Restoration, Span, apply_spans

    src = ("東京の会議は brand new 道路について and you may 話した。 See https://example.org/" + "x" * 150
           + " tail [a bracket] here.\tEnd.\n\nA paragraph without changes, with wide 日本語 text, that wraps.")

    def change(observed, original):
        i = src.index(observed)
        return Span(i, i + len(observed), observed, "signature", original, 0.9, "test")

    changes = [change("brand new", "the"), change("and you may", "and"), change("x" * 150 + " tail", "")]
    r = Restoration(src, apply_spans(src, changes), changes)
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    for color in (False, True):
        out = side_by_side(r, width=60, color=color)
        seps = set()
        for line in out.split("\n"):
            plain = ansi.sub("", line)
            assert sum(cell_width(c) for c in plain) <= 60, line
            if " | " in plain:
                seps.add(sum(cell_width(c) for c in plain[: plain.index(" | ")]))
            if color:  # every colour opened on a line is closed on it
                assert line.count("\x1b[0m") >= len(re.findall(r"\x1b\[3[12];", line)), line
        assert seps == {28}, (color, seps)
        if color:
            assert "[a bracket]" in ansi.sub("", out)  # literal brackets are text, not colour
