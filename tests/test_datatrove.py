"""The datatrove step, run inside a small LocalPipelineExecutor pipeline."""

from __future__ import annotations

import gzip
import json

import pytest

pytest.importorskip("datatrove", reason="the datatrove integration needs unspin[datatrove]")

from datatrove.data import Document  # noqa: E402
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from unspin.errors import InputError  # noqa: E402
from unspin.integrations.datatrove import UnspinAnnotator  # noqa: E402

SPUN = ("In this paper we apply profound learning and counterfeit consciousness to the early detection "
        "of bosom peril. The proposed strategy was tested on a huge dataset of patients, and the results "
        "show that profound learning beats the old methods.")
CLEAN = ("The committee met on Tuesday to discuss the budget for next year. Members agreed that the library "
         "needs new computers and longer opening hours, and the chair promised a full report in the spring.")


def _docs():
    return [Document(text=SPUN, id="s1"), Document(text=CLEAN, id="c1"),
            Document(text="Hi.", id="short"), Document(text=CLEAN + " Again.", id="c2")]


def _read(folder):
    rows = []
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def _stats(logging_dir):
    stats = json.loads((logging_dir / "stats.json").read_text())
    return next(s for s in stats if s["name"].endswith(": unspin"))["stats"]


def test_annotates_by_default_and_keeps_every_document(tmp_path):
    LocalPipelineExecutor(
        pipeline=[_docs(), UnspinAnnotator(kinds=True), JsonlWriter(str(tmp_path / "out"))],
        tasks=1, logging_dir=str(tmp_path / "logs"),
    ).run()
    rows = {r["id"]: r["metadata"] for r in _read(tmp_path / "out")}
    assert set(rows) == {"s1", "c1", "short", "c2"}
    assert rows["s1"]["unspin_verdict"] == "spun" and rows["s1"]["unspin_score"] > 0.8
    assert rows["s1"]["unspin_kinds"]["tortured_phrase"] >= 1
    assert rows["c1"]["unspin_verdict"] == "clean"
    assert rows["short"]["unspin_verdict"] == "not_applicable" and rows["short"]["unspin_score"] is None
    stats = _stats(tmp_path / "logs")
    assert stats["total"] == 4 and stats["forwarded"] == 4 and "dropped" not in stats
    assert stats["spun"] == 1 and stats["clean"] == 2


def test_drops_on_request_and_counts_the_reason(tmp_path):
    LocalPipelineExecutor(
        pipeline=[_docs(),
                  UnspinAnnotator(drop=["spun", "not_applicable"],
                                  exclusion_writer=JsonlWriter(str(tmp_path / "removed"))),
                  JsonlWriter(str(tmp_path / "kept"))],
        tasks=1, logging_dir=str(tmp_path / "logs"),
    ).run()
    assert sorted(r["id"] for r in _read(tmp_path / "kept")) == ["c1", "c2"]
    removed = {r["id"]: r["metadata"]["filter_reason"] for r in _read(tmp_path / "removed")}
    assert removed == {"s1": "unspin_spun", "short": "unspin_not_applicable"}
    stats = _stats(tmp_path / "logs")
    assert stats["dropped"] == 2 and stats["dropped_spun"] == 1 and stats["dropped_not_applicable"] == 1
    assert stats["forwarded"] == 2


def test_a_failing_document_is_kept_with_an_error(monkeypatch):
    step = UnspinAnnotator()
    original = step._analyse

    def flaky(text):
        if "Again" in text:
            raise RuntimeError("detector exploded")
        return original(text)

    monkeypatch.setattr(step, "_analyse", flaky)
    out = list(step.run(iter(_docs())))
    assert [d.id for d in out] == ["s1", "c1", "short", "c2"]
    assert out[3].metadata["unspin_error"] == "RuntimeError: detector exploded"
    assert step.stats["errors"].total == 1


def test_unknown_drop_value_is_refused():
    with pytest.raises(InputError, match="cannot drop 'spam'"):
        UnspinAnnotator(drop="spam")
