"""Shared fixtures. Tests that read ../shared use ``shared_path`` and skip with a clear reason
when it is absent (a fresh clone has no ../shared)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("UNSPIN_SHARED", REPO.parent / "shared"))


@pytest.fixture
def shared_path():
    def get(rel: str) -> Path:
        p = SHARED / rel
        if not p.exists():
            pytest.skip(f"needs {p} (the shared data folder is not on this machine)")
        return p

    return get


@pytest.fixture
def examples() -> Path:
    return REPO / "examples"
