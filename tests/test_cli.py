"""The command line as a user meets it: JSON shape, stdin, errors as one line, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

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


@pytest.mark.parametrize("cmd", ["check"])
def test_every_command_has_help(cmd):
    p = run(cmd, "--help")
    assert p.returncode == 0 and len(p.stdout) > 200
