"""`unspin scan`: every input format, error records, filtering, the cascade, resuming a killed run.

All inputs are small files the tests write themselves; nothing here reads ../shared."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from unspin.cli import main
from unspin.errors import MissingComponent, OutputError
from unspin.scan import ScanOptions, scan

pytest.importorskip("pyarrow", reason="the scan tests need unspin[scan]")

SPUN = ("In this paper we apply profound learning and counterfeit consciousness to the early detection "
        "of bosom peril. The proposed strategy was tested on a huge dataset of patients, and the results "
        "show that profound learning beats the old methods.")
CLEAN = ("The committee met on Tuesday to discuss the budget for next year. Members agreed that the library "
         "needs new computers and longer opening hours, and the chair promised a full report in the spring.")
SHORT = "Hi there."


def doc_text(i: int) -> str:
    return SPUN if i % 3 == 0 else CLEAN


def write_jsonl(path, n=12, bad_lines=()):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt", encoding="utf-8") as fh:
        for i in range(n):
            if i in bad_lines:
                fh.write('{"id": %d, "text": "unterminated\n' % i)
            else:
                fh.write(json.dumps({"id": f"d{i}", "text": doc_text(i), "lang": "en", "meta": {"n": i}}) + "\n")
    return str(path)


def read_jsonl(path):
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


def opts(**kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return ScanOptions(**kw)


# ------------------------------------------------------------------------------------ formats

def test_jsonl_annotates_every_record_and_keeps_fields(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", n=6)
    out = tmp_path / "out.jsonl"
    summary = scan([src], str(out), opts(shard_size=4))
    rows = read_jsonl(out)
    assert [r["id"] for r in rows] == [f"d{i}" for i in range(6)]
    for i, r in enumerate(rows):
        assert r["text"] == doc_text(i) and r["lang"] == "en" and r["meta"] == {"n": i}
        u = r["unspin"]
        assert set(u) >= {"score", "verdict", "reason", "kinds", "spans"}
        assert u["verdict"] == ("spun" if i % 3 == 0 else "clean")
    assert rows[0]["unspin"]["kinds"].get("tortured_phrase", 0) >= 1
    assert any(s["text"].lower() == "profound learning" for s in rows[0]["unspin"]["spans"])
    assert summary.documents == 6 and summary.spun == 2 and summary.clean == 4 and summary.errors == 0
    assert summary.shards == 2


def test_malformed_lines_become_error_records_and_the_batch_goes_on(tmp_path):
    src = tmp_path / "in.jsonl"
    with open(src, "wb") as fh:
        fh.write(json.dumps({"id": "a", "text": CLEAN}).encode() + b"\n")
        fh.write(b"{not json\n")
        fh.write(b"[1, 2]\n")
        fh.write(json.dumps({"id": "no-text", "body": "x"}).encode() + b"\n")
        fh.write(json.dumps({"id": "num", "text": 42}).encode() + b"\n")
        fh.write(b"\n")  # blank lines are not records
        fh.write(json.dumps({"id": "latin", "text": "x"}).encode()[:-2] + b'caf\xe9 ' + CLEAN.encode() + b'"}\n')
        fh.write(json.dumps({"id": "huge", "text": "word " * 5000}).encode() + b"\n")
        fh.write(json.dumps({"id": "b", "text": SPUN}).encode() + b"\n")
    out = tmp_path / "out.jsonl"
    summary = scan([str(src)], str(out), opts(max_record_bytes=10_000))
    rows = read_jsonl(out)
    assert len(rows) == 8
    by_id = {r.get("id"): r for r in rows}
    assert by_id["a"]["unspin"]["verdict"] == "clean"
    assert by_id["b"]["unspin"]["verdict"] == "spun"
    assert "not valid JSON" in rows[1]["unspin"]["error"] and rows[1]["unspin"]["source"].endswith(":1")
    assert "not an object" in rows[2]["unspin"]["error"]
    assert "no 'text' field" in by_id["no-text"]["unspin"]["error"] and by_id["no-text"]["body"] == "x"
    assert "int, not text" in by_id["num"]["unspin"]["error"]
    assert "max-record-bytes" in rows[6]["unspin"]["error"]
    latin = by_id["latin"]["unspin"]
    assert latin["verdict"] == "clean" and "\ufffd" in by_id["latin"]["text"]
    assert summary.errors == 5 and summary.documents == 8


def test_compressed_jsonl_and_a_truncated_gzip(tmp_path):
    zstd = pytest.importorskip("zstandard")
    gz = write_jsonl(tmp_path / "a.jsonl.gz", n=4)
    raw = "".join(json.dumps({"id": f"z{i}", "text": doc_text(i)}) + "\n" for i in range(3)).encode()
    zst = tmp_path / "b.jsonl.zst"
    zst.write_bytes(zstd.ZstdCompressor().compress(raw))
    broken = tmp_path / "c.jsonl.gz"
    full = gzip.compress(raw * 50)
    broken.write_bytes(full[: len(full) // 2])
    out = tmp_path / "out.jsonl.gz"
    summary = scan([gz, str(zst), str(broken)], str(out), opts())
    rows = read_jsonl(out)
    assert [r["id"] for r in rows[:7]] == ["d0", "d1", "d2", "d3", "z0", "z1", "z2"]
    assert rows[4]["unspin"]["verdict"] == "spun"
    assert "damaged" in rows[-1]["unspin"]["error"]
    assert all("unspin" in r and "error" not in r["unspin"] for r in rows[7:-1])
    assert summary.errors == 1


def test_parquet_in_parquet_out_and_jsonl_out(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"doc_id": [1, 2, 3, 4, 5], "content": [SPUN, CLEAN, None, SHORT, CLEAN],
                      "raw": [b"a", b"b", b"c", b"d", b"\xff"]})
    src = tmp_path / "in.parquet"
    pq.write_table(table, src, row_group_size=2)
    out = tmp_path / "out.parquet"
    summary = scan([str(src)], str(out), opts(text_field="content", id_field="doc_id", shard_size=2))
    res = pq.read_table(out).to_pylist()
    assert [r["doc_id"] for r in res] == [1, 2, 3, 4, 5]
    assert [r["unspin"]["verdict"] for r in res] == ["spun", "clean", None, "not_applicable", "clean"]
    assert "null" in res[2]["unspin"]["error"]
    assert res[0]["unspin"]["kinds"] and isinstance(res[0]["unspin"]["spans"], list)
    assert summary.not_applicable == 1 and summary.errors == 1
    jout = tmp_path / "out.jsonl"
    scan([str(src)], str(jout), opts(text_field="content", shard_size=2))
    rows = read_jsonl(jout)
    assert rows[0]["raw"] == "a" and rows[4]["raw"].startswith("base64:")
    assert rows[0]["unspin"]["verdict"] == "spun"


def test_parquet_output_merges_shards_whose_columns_differ(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    src = tmp_path / "in.jsonl"
    recs = [{"id": 1, "text": CLEAN}, {"id": "two", "text": SPUN, "extra": True}, {"id": 3, "text": CLEAN}]
    src.write_text("".join(json.dumps(r) + "\n" for r in recs))
    out = tmp_path / "out.parquet"
    scan([str(src)], str(out), opts(shard_size=1))
    res = pq.read_table(out).to_pylist()
    assert [r["unspin"]["verdict"] for r in res] == ["clean", "spun", "clean"]
    assert [r["extra"] for r in res] == [None, True, None]
    assert [str(r["id"]).strip('"') for r in res] == ["1", "two", "3"]


def _warc_record(kind: str, uri: str, ctype: str, body: bytes, rid: str) -> bytes:
    http = (f"HTTP/1.1 200 OK\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n\r\n").encode() + body
    head = (f"WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{rid}>\r\nWARC-Target-URI: {uri}\r\n"
            f"WARC-Date: 2024-05-01T00:00:00Z\r\nContent-Type: application/http; msgtype={kind}\r\n"
            f"Content-Length: {len(http)}\r\n\r\n").encode()
    return head + http + b"\r\n\r\n"


def test_warc_html_is_extracted_and_non_documents_skipped(tmp_path):
    pytest.importorskip("fastwarc")
    pytest.importorskip("resiliparse")
    page = (f"<html><head><title>t</title><script>var x = 1;</script></head><body><nav>Home | About</nav>"
            f"<article><p>{SPUN}</p></article></body></html>").encode()
    latin = f"<html><body><p>{CLEAN} Caf\xe9.</p></body></html>".encode("latin-1")
    data = (_warc_record("request", "http://a.example/", "text/html", b"", "r1")
            + _warc_record("response", "http://a.example/", "text/html; charset=utf-8", page, "p1")
            + _warc_record("response", "http://a.example/logo.png", "image/png", b"\x89PNG\r\n", "i1")
            + _warc_record("response", "http://b.example/", "text/html; charset=iso-8859-1", latin, "p2"))
    src = tmp_path / "crawl.warc.gz"
    src.write_bytes(b"".join(gzip.compress(r) for r in [data]))
    out = tmp_path / "out.jsonl"
    summary = scan([str(src)], str(out), opts())
    rows = read_jsonl(out)
    assert [r["url"] for r in rows] == ["http://a.example/", "http://b.example/"]
    assert rows[0]["id"] == "<urn:uuid:p1>" and rows[0]["content_type"] == "text/html"
    assert "var x" not in rows[0]["text"] and "profound learning" in rows[0]["text"]
    assert rows[0]["unspin"]["verdict"] == "spun"
    assert "Café" in rows[1]["text"] and rows[1]["unspin"]["verdict"] == "clean"
    assert summary.documents == 2


def test_txt_folder_with_a_binary_file(tmp_path):
    folder = tmp_path / "docs"
    (folder / "sub").mkdir(parents=True)
    (folder / "b.txt").write_text(SPUN)
    (folder / "a.txt").write_text(CLEAN)
    (folder / "sub" / "c.txt").write_bytes(b"\x00\x01\x02binary\x00" * 20)
    (folder / "notes.md").write_text(SPUN)  # not a .txt file: not read
    (folder / "z.txt").write_text(CLEAN * 50)
    out = tmp_path / "out"
    summary = scan([str(folder)], str(out), opts(max_record_bytes=5000))
    assert summary.output == str(out)
    shards = sorted(p for p in os.listdir(out) if p.endswith(".jsonl"))
    rows = [r for s in shards for r in read_jsonl(out / s)]
    assert [r["id"] for r in rows] == ["a.txt", "b.txt", "sub/c.txt", "z.txt"]
    assert [r["unspin"].get("verdict") for r in rows] == ["clean", "spun", None, None]
    assert "binary" in rows[2]["unspin"]["error"]
    assert "max-record-bytes" in rows[3]["unspin"]["error"] and summary.errors == 2
    assert (out / "_part-00000-000000.done").exists()


# ------------------------------------------------------------------------------------ options

def test_only_spun_filters_and_keeps_error_records(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", n=7, bad_lines=(4,))
    out = tmp_path / "out.jsonl"
    summary = scan([src], str(out), opts(only="spun"))
    rows = read_jsonl(out)
    assert [r.get("id") for r in rows] == ["d0", "d3", None, "d6"]
    assert "unspin" not in rows[0] and "error" in rows[2]["unspin"]
    assert summary.written == 4 and summary.documents == 7
    out2 = tmp_path / "clean.jsonl"
    scan([src], str(out2), opts(only="clean"))
    assert [r.get("id") for r in read_jsonl(out2)] == ["d1", "d2", None, "d5"]


def test_detection_is_the_one_cascade_with_the_configs_tier(tmp_path, monkeypatch, capsys):
    from unspin import detect
    from unspin.config import Config

    calls = []
    real = detect.check_many

    def check_many(texts, config=None):
        calls.append((len(texts), config.tier))
        return real(texts, config.replace(tier="fast"))  # the model itself is not under test here

    monkeypatch.setattr(detect, "check_many", check_many)
    src = write_jsonl(tmp_path / "in.jsonl", n=6)
    scan([src], str(tmp_path / "a.jsonl"), opts(batch_size=4), Config(tier="auto"))
    assert calls == [(4, "auto"), (2, "auto")]  # a batch at a time, not a document at a time
    calls.clear()
    for k, (argv, tier) in enumerate(((["--tier", "fast"], "fast"), (["--deep"], "model"), ([], Config().tier))):
        out = tmp_path / f"o{k}.jsonl"
        assert main(["scan", src, "-o", str(out), "-q", "-w", "1", *argv]) == 0
        assert {t for _, t in calls} == {tier}, argv
        calls.clear()


def test_the_model_tier_where_it_is_not_installed_stops_the_job_with_advice(tmp_path, monkeypatch, capsys):
    from unspin import probe

    monkeypatch.setattr(probe, "available", lambda: False)
    src = write_jsonl(tmp_path / "in.jsonl", n=3)
    for flag in (["--tier", "model"], ["--deep"]):
        code = main(["scan", src, "-o", str(tmp_path / "o.jsonl"), *flag, "-q", "-w", "1", "--overwrite"])
        assert code == 3
        err = capsys.readouterr().err
        assert err.startswith("unspin: error: ") and "model tier" in err and "Traceback" not in err
    assert main(["scan", src, "-o", str(tmp_path / "auto.jsonl"), "--tier", "auto", "-q", "-w", "1"]) == 0
    assert [r["unspin"].get("tier") for r in read_jsonl(tmp_path / "auto.jsonl")] == [None] * 3  # fast decided


def test_restore_adds_restored_text_to_spun_documents(tmp_path, monkeypatch):
    import unspin
    from unspin.report import Restoration

    monkeypatch.setattr(unspin, "restore", lambda text, config=None: Restoration(text, text.upper(), []))
    src = write_jsonl(tmp_path / "in.jsonl", n=3)
    out = tmp_path / "out.jsonl"
    scan([src], str(out), opts(restore=True))
    rows = read_jsonl(out)
    assert rows[0]["unspin"]["restored"] == SPUN.upper()
    assert "restored" not in rows[1]["unspin"]


# ------------------------------------------------------------------------------------ CLI

def test_cli_json_summary_and_workers(tmp_path, capsys):
    src = write_jsonl(tmp_path / "in.jsonl", n=9, bad_lines=(2,))
    out = tmp_path / "out.jsonl"
    assert main(["scan", src, "-o", str(out), "--json", "-w", "2", "--shard-size", "4"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["documents"] == 9 and summary["errors"] == 1 and summary["spun"] == 3
    assert "docs/s" in captured.err and "9 documents" in captured.err
    one = tmp_path / "one.jsonl"
    assert main(["scan", src, "-o", str(one), "-q", "-w", "1", "--shard-size", "4"]) == 0
    assert one.read_bytes() == out.read_bytes()


@pytest.mark.parametrize("argv, message", [
    (["scan", "nope.jsonl", "-o", "o.jsonl"], "no such file"),
    (["scan", "in.csv", "-o", "o.jsonl"], "cannot tell the format"),
    (["scan", "in.jsonl", "-o", "o.jsonl", "--shard-size", "0"], "--shard-size"),
    (["scan", "in.jsonl", "-o", "o.jsonl", "--deep-band", "0.9", "0.1"], "--deep-band"),
])
def test_cli_bad_usage_is_one_line(tmp_path, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(tmp_path)
    write_jsonl(tmp_path / "in.jsonl", n=1)
    (tmp_path / "in.csv").write_text("a,b\n")
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("unspin: error: ") and message in err and "\n" not in err


def test_rerun_with_other_options_is_refused_unless_overwrite(tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", n=3)
    out = tmp_path / "out"
    scan([src], str(out), opts())
    with pytest.raises(OutputError, match="different scan"):
        scan([src], str(out), opts(only="spun"))
    summary = scan([src], str(out), opts(only="spun", overwrite=True))
    assert summary.written == 1 and summary.resumed_shards == 0


# ------------------------------------------------------------------------------------ resume

DRIVER = textwrap.dedent("""
    import os, signal, sys, time
    from unspin.scan import ScanOptions, scan
    from unspin.scan import process

    kill_at, delay = int(sys.argv[3]), float(sys.argv[4])
    seen = [0]
    original = process.DocProcessor._finish  # once per document checked

    def finish(self, report, text):
        seen[0] += 1
        if seen[0] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)  # die mid-shard, like a pre-empted machine
        time.sleep(delay)
        return original(self, report, text)

    process.DocProcessor._finish = finish
    scan([sys.argv[1]], sys.argv[2], ScanOptions(workers=int(sys.argv[5]), shard_size=10, batch_size=4,
                                                  progress=False))
""")


def _many(tmp_path, n=90):
    src = tmp_path / "in.jsonl"
    with open(src, "w") as fh:
        for i in range(n):
            if i % 17 == 5:
                fh.write("{broken\n")
            else:
                fh.write(json.dumps({"id": i, "text": doc_text(i) + f" Item {i}."}) + "\n")
    return str(src)


def test_killed_run_resumes_to_the_same_output(tmp_path):
    src = _many(tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "out.jsonl"
    proc = subprocess.run([sys.executable, str(driver), src, str(out), "37", "0", "1"], capture_output=True)
    assert proc.returncode == -signal.SIGKILL
    parts = tmp_path / "out.jsonl.parts"
    done = sorted(p for p in os.listdir(parts) if p.endswith(".done"))
    assert done == [f"_part-00000-00000{k}.done" for k in range(3)]  # 36 documents = 3 whole shards
    assert not out.exists() and any(p.endswith(".tmp") for p in os.listdir(parts))

    summary = scan([src], str(out), opts(shard_size=10, batch_size=4, workers=2))
    assert summary.resumed_shards == 3 and summary.processed == 60 and summary.documents == 90
    reference = tmp_path / "ref.jsonl"
    scan([src], str(reference), opts(shard_size=10, batch_size=4))
    assert out.read_bytes() == reference.read_bytes()
    assert [r.get("id") for r in read_jsonl(out) if "error" not in r["unspin"]] == \
        [i for i in range(90) if i % 17 != 5]
    again = scan([src], str(out), opts(shard_size=10, batch_size=4))  # finished: nothing to do
    assert again.processed == 0 and out.read_bytes() == reference.read_bytes()


def test_externally_killed_parallel_run_resumes(tmp_path):
    src = _many(tmp_path)
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, str(driver), src, str(out), "0", "0.02", "2"],
                            start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if out.exists() and sum(p.endswith(".done") for p in os.listdir(out)) >= 2:
                break
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.killpg(proc.pid, signal.SIGKILL)  # the whole process group: parent and workers
    finally:
        proc.wait()
    n_done = sum(p.endswith(".done") for p in os.listdir(out))
    assert 2 <= n_done < 9
    summary = scan([src], str(out), opts(shard_size=10, batch_size=4, workers=2))
    assert summary.resumed_shards == n_done and summary.documents == 90
    reference = tmp_path / "ref"
    scan([src], str(reference), opts(shard_size=10, batch_size=4))
    shards = sorted(p for p in os.listdir(reference) if p.endswith(".jsonl"))
    assert shards == sorted(p for p in os.listdir(out) if p.endswith(".jsonl"))
    for s in shards:
        assert (out / s).read_bytes() == (reference / s).read_bytes()
