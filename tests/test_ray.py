"""`--engine ray`: the same job on a local Ray, the same output as the local engine.

Ray takes several seconds to start, so one local Ray serves the whole module and the tests
are few."""

from __future__ import annotations

import json
import os

import pytest

ray = pytest.importorskip("ray", reason="the Ray engine needs unspin[ray] (ray[data])")
pytest.importorskip("ray.data", reason="the Ray engine needs ray[data]")

from unspin.scan import ScanOptions, scan  # noqa: E402

SPUN = ("In this paper we apply profound learning and counterfeit consciousness to the early detection "
        "of bosom peril. The proposed strategy was tested on a huge dataset of patients, and the results "
        "show that profound learning beats the old methods.")
CLEAN = ("The committee met on Tuesday to discuss the budget for next year. Members agreed that the library "
         "needs new computers and longer opening hours, and the chair promised a full report in the spring.")


@pytest.fixture(scope="module", autouse=True)
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    yield
    ray.shutdown()


def _inputs(tmp_path):
    paths = []
    for f in range(2):
        p = tmp_path / f"in{f}.jsonl"
        with open(p, "w") as fh:
            for i in range(23):
                if i == 7:
                    fh.write("{broken\n")
                else:
                    fh.write(json.dumps({"id": f"{f}-{i}", "text": (SPUN if i % 4 == 0 else CLEAN) + f" ({i})"}) + "\n")
        paths.append(str(p))
    return paths


def _opts(engine, **kw):
    return ScanOptions(engine=engine, workers=2, shard_size=5, progress=False, **kw)


def test_ray_engine_matches_the_local_engine(tmp_path):
    inputs = _inputs(tmp_path)
    local = tmp_path / "local.jsonl"
    on_ray = tmp_path / "ray.jsonl"
    s_local = scan(inputs, str(local), _opts("local"))
    s_ray = scan(inputs, str(on_ray), _opts("ray"))
    assert on_ray.read_bytes() == local.read_bytes()
    assert s_ray.counts == s_local.counts and s_ray.documents == 46 and s_ray.errors == 2
    assert s_ray.shards == 10 and s_ray.engine == "ray"


def test_ray_resumes_a_job_the_local_engine_left_unfinished(tmp_path):
    inputs = _inputs(tmp_path)
    reference = tmp_path / "ref"
    scan(inputs, str(reference), _opts("local"))
    out = tmp_path / "out"
    scan(inputs, str(out), _opts("local"))
    # Leave the job as a killed run would: some shards never finished, one half-written.
    for name in ("part-00000-000002", "part-00001-000000", "part-00001-000004"):
        os.remove(out / f"_{name}.done")
        os.replace(out / f"{name}.jsonl", out / f"{name}.jsonl.tmp")
    summary = scan(inputs, str(out), _opts("ray"))
    assert summary.resumed_shards == 7 and summary.processed == 5 + 5 + 3
    shards = sorted(p for p in os.listdir(reference) if p.endswith(".jsonl"))
    assert shards == sorted(p for p in os.listdir(out) if p.endswith(".jsonl"))
    for name in shards:
        assert (out / name).read_bytes() == (reference / name).read_bytes()
    assert not any(p.endswith(".tmp") for p in os.listdir(out))
