"""The datatrove cluster steps (signatures, clusters, annotate/drop), each in a small
LocalPipelineExecutor pipeline. Texts: the repository's examples and tests/test_cluster.py's."""

from __future__ import annotations

import gzip
import json

import pytest

pytest.importorskip("datatrove", reason="the datatrove integration needs unspin[datatrove]")
pytest.importorskip("rensa", reason="clustering needs rensa: pip install 'unspin[cluster]'")

from datatrove.data import Document  # noqa: E402
from datatrove.executor import LocalPipelineExecutor  # noqa: E402
from datatrove.pipeline.writers import JsonlWriter  # noqa: E402

from tests.test_cluster import NEAR_TOPIC, SPUN_B, SPUN_C, UNRELATED  # noqa: E402
from unspin.integrations.datatrove_cluster import (  # noqa: E402
    UnspinClusterAnnotate, UnspinClusterBuild, UnspinClusterSignatures)


def _docs(examples):
    original = (examples / "clean-council-news.txt").read_text(encoding="utf-8")
    spun = (examples / "spun-council-news.txt").read_text(encoding="utf-8")
    return [Document(text=original, id="orig"), Document(text=spun, id="spun-a"),
            Document(text=UNRELATED[0], id="bread"), Document(text=SPUN_B, id="spun-b"),
            Document(text=NEAR_TOPIC, id="near"), Document(text=SPUN_C, id="spun-c")]


def _read(folder):
    rows = []
    for path in sorted(folder.rglob("*.jsonl.gz")):
        with gzip.open(path, "rt") as fh:
            rows += [json.loads(line) for line in fh]
    return rows


def _stats(logging_dir, suffix):
    stats = json.loads((logging_dir / "stats.json").read_text())
    return next(s for s in stats if s["name"].endswith(suffix))["stats"]


def _run_first_two(tmp_path, docs):
    LocalPipelineExecutor(pipeline=[docs, UnspinClusterSignatures(str(tmp_path / "sigs"))], tasks=1,
                          logging_dir=str(tmp_path / "l1")).run()
    LocalPipelineExecutor(pipeline=[UnspinClusterBuild(str(tmp_path / "sigs"), str(tmp_path / "clusters"))],
                          tasks=1, logging_dir=str(tmp_path / "l2")).run()


def test_annotates_cluster_fields(tmp_path, examples):
    _run_first_two(tmp_path, _docs(examples))
    LocalPipelineExecutor(pipeline=[_docs(examples), UnspinClusterAnnotate(str(tmp_path / "clusters")),
                                    JsonlWriter(str(tmp_path / "out"))],
                          tasks=1, logging_dir=str(tmp_path / "l3")).run()
    rows = {r["id"]: r["metadata"] for r in _read(tmp_path / "out")}
    assert set(rows) == {"orig", "spun-a", "bread", "spun-b", "near", "spun-c"}
    assert rows["orig"]["unspin_cluster_role"] == "source" and rows["orig"]["unspin_cluster_size"] == 4
    for i in ("spun-a", "spun-b", "spun-c"):
        assert rows[i]["unspin_cluster_role"] == "copy" and rows[i]["unspin_cluster_source"] == "orig"
        assert rows[i]["unspin_cluster_id"] == rows["orig"]["unspin_cluster_id"]
    assert rows["bread"]["unspin_cluster_role"] == rows["near"]["unspin_cluster_role"] == "unique"
    stats = _stats(tmp_path / "l3", "annotate")
    assert stats["total"] == 6 and stats["forwarded"] == 6 and stats["copy"] == 3


def test_drops_copies_on_request_and_counts_them(tmp_path, examples):
    _run_first_two(tmp_path, _docs(examples))
    LocalPipelineExecutor(pipeline=[_docs(examples),
                                    UnspinClusterAnnotate(str(tmp_path / "clusters"), drop_copies=True,
                                                          exclusion_writer=JsonlWriter(str(tmp_path / "removed"))),
                                    JsonlWriter(str(tmp_path / "kept"))],
                          tasks=1, logging_dir=str(tmp_path / "l3")).run()
    assert sorted(r["id"] for r in _read(tmp_path / "kept")) == ["bread", "near", "orig"]
    removed = {r["id"]: r["metadata"]["filter_reason"] for r in _read(tmp_path / "removed")}
    assert removed == {"spun-a": "unspin_copy", "spun-b": "unspin_copy", "spun-c": "unspin_copy"}
    stats = _stats(tmp_path / "l3", "annotate")
    assert stats["dropped"] == 3 and stats["dropped_copy"] == 3 and stats["forwarded"] == 3


def test_the_build_step_refuses_more_than_one_task(tmp_path):
    with pytest.raises(ValueError, match="single task"):
        list(UnspinClusterBuild(str(tmp_path / "a"), str(tmp_path / "b")).run(None, rank=0, world_size=2))
