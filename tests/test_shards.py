"""unspin.scan.shards as a second job type uses it: layout, manifest, lock, done markers,
resume, merge, and the refusal to mix two jobs in one output."""

from __future__ import annotations

import json
import os

import pytest

from unspin.scan.shards import (OutputError, ShardedOutput, plan_output, process_pool, read_markers,
                                shard_name, sum_markers, write_done)
from unspin.scan.writers import ShardWriter


def run_demo(output: str, records: list[dict], shard_size: int, manifest: dict, stop_after=None,
             overwrite=False, job="demo"):
    """A toy batch job: copies records into shards; ``stop_after`` shards, then 'dies'."""
    layout = plan_output(output, default_format="jsonl")
    written = []
    with ShardedOutput(layout, job, manifest, overwrite=overwrite) as out:
        for k in range(0, (len(records) + shard_size - 1) // shard_size):
            name = shard_name(0, k, prefix="sig")
            if name in out.done:
                continue
            if stop_after is not None and len(written) >= stop_after:
                return out, written
            writer = ShardWriter(layout.shard_path(name), layout.fmt)
            for r in records[k * shard_size:(k + 1) * shard_size]:
                writer.write(r)
            write_done(layout, name, writer, {"records": writer.count})
            written.append(name)
        totals = sum_markers(out.markers(), ["records"])
        out.merge()
    return totals, written


RECORDS = [{"i": i} for i in range(7)]


def test_a_job_resumes_skipping_finished_shards_and_merges_once(tmp_path):
    out = str(tmp_path / "sig.jsonl")
    _, first = run_demo(out, RECORDS, 3, {"v": 1}, stop_after=2)
    assert first == ["sig-00000-000000", "sig-00000-000001"] and not os.path.exists(out)
    totals, second = run_demo(out, RECORDS, 3, {"v": 1})
    assert second == ["sig-00000-000002"] and totals == {"records": 7}
    with open(out) as fh:
        assert [json.loads(line)["i"] for line in fh] == list(range(7))
    _, third = run_demo(out, RECORDS, 3, {"v": 1})  # finished: nothing to do
    assert third == []
    parts = sorted(os.listdir(out + ".parts"))
    assert all(p.startswith("_") for p in parts)  # shards merged away; markers hidden
    assert "_sig-00000-000000.done" in parts and "_unspin_demo.json" in parts and "_merged" in parts


def test_a_different_manifest_or_job_is_refused_unless_overwrite(tmp_path):
    out = str(tmp_path / "out")
    run_demo(out, RECORDS, 3, {"v": 1})
    with pytest.raises(OutputError, match="different demo"):
        run_demo(out, RECORDS, 3, {"v": 2})
    with pytest.raises(OutputError, match="holds the output of an unspin demo job"):
        run_demo(out, RECORDS, 3, {"v": 1}, job="other")
    totals, written = run_demo(out, RECORDS[:2], 3, {"v": 2}, overwrite=True)
    assert totals == {"records": 2} and written == ["sig-00000-000000"]
    assert sorted(read_markers(plan_output(out))) == ["sig-00000-000000"]


def test_a_marker_without_its_shard_is_redone(tmp_path):
    out = str(tmp_path / "out")
    run_demo(out, RECORDS, 3, {"v": 1})
    os.remove(os.path.join(out, "sig-00000-000001.jsonl"))
    _, written = run_demo(out, RECORDS, 3, {"v": 1})
    assert written == ["sig-00000-000001"]


def _square(x):
    return x * x


def test_the_process_pool_runs_work(tmp_path):
    with process_pool(2) as pool:
        assert list(pool.map(_square, range(5))) == [0, 1, 4, 9, 16]
