"""The README's promises, checked: the Quick start block, and the console examples' output."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
REPO = Path(__file__).resolve().parent.parent


def test_quick_start_is_one_sh_block_of_two_lines():
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.S)
    assert len(blocks) == 1
    lines = blocks[0].strip("\n").split("\n")
    assert len(lines) == 2
    assert "pip install" in lines[0] and "unspin check examples/" in lines[0]
    assert "pytest" in lines[1]


def _console_examples():
    for block in re.findall(r"```console\n(.*?)```", README, re.S):
        cmd, *out = block.strip("\n").split("\n")
        assert cmd.startswith("$ unspin ")
        yield cmd[2:], out


@pytest.mark.parametrize("cmd,expected", list(_console_examples()))
def test_console_examples_match(cmd, expected):
    args = shlex.split(cmd)[1:]
    from unspin import probe

    if args[0] == "check" and "fast" not in args and not probe.available():
        pytest.skip("the README shows the model tier's output: pip install 'unspin[lm]' && unspin models fetch")
    p = subprocess.run([sys.executable, "-m", "unspin", *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    got = [line.rstrip() for line in p.stdout.splitlines()]
    assert got == [line.rstrip() for line in expected]
