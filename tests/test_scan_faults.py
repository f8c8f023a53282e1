"""`unspin scan` loses nothing and says so: unreadable and damaged inputs, failed runs, the
output checked before any work, one job per output, workers that die with their parent,
markers dataset readers skip, ``--only unsure``, standard input, NaN, lone surrogates.

Every input is a small file the test writes itself; nothing here reads ../shared."""

from __future__ import annotations

import gzip
import io
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types

import pytest

from unspin.cli import main
from unspin.config import Config
from unspin.scan import ScanOptions, scan
from unspin.scan import readers
from unspin.scan.shards import OutputError, OutputLock

pytest.importorskip("pyarrow", reason="the scan tests need unspin[scan]")

SPUN = ("In this paper we apply profound learning and counterfeit consciousness to the early detection "
        "of bosom peril. The proposed strategy was tested on a huge dataset of patients, and the results "
        "show that profound learning beats the old methods.")
CLEAN = ("The committee met on Tuesday to discuss the budget for next year. Members agreed that the library "
         "needs new computers and longer opening hours, and the chair promised a full report in the spring.")


def lines(a: int, b: int) -> bytes:
    return "".join(json.dumps({"id": f"d{i}", "text": SPUN if i % 3 == 0 else CLEAN}) + "\n"
                   for i in range(a, b)).encode()


def read_jsonl(path):
    with open(path, "rb") as fh:
        return [json.loads(line, parse_constant=_no_constant) for line in fh]


def _no_constant(name):
    raise AssertionError(f"{name} is not JSON")


def opts(**kw):
    kw.setdefault("workers", 1)
    kw.setdefault("progress", False)
    return ScanOptions(**kw)


def run_cli(argv, capsys):
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ------------------------------------------------------------------------------ unreadable input

@pytest.mark.skipif(not os.path.exists("/proc/self/mem"), reason="needs Linux /proc")
def test_an_input_that_cannot_be_read_is_exit_2_before_any_work(tmp_path, capsys):
    bad = tmp_path / "in.jsonl"
    os.symlink("/proc/self/mem", bad)  # opens, but reading fails with EIO, even for root
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(["scan", str(bad), "-o", str(out), "-q", "-w", "1"], capsys)
    assert code == 2
    assert err.startswith("unspin: error: cannot read") and "Input/output error" in err
    assert not out.exists() and not (tmp_path / "out.jsonl.parts").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads files without read permission")
def test_a_file_without_read_permission_is_exit_2(tmp_path, capsys):
    bad = tmp_path / "in.jsonl"
    bad.write_bytes(lines(0, 3))
    bad.chmod(0)
    code, _, err = run_cli(["scan", str(bad), "-o", str(tmp_path / "o.jsonl"), "-q", "-w", "1"], capsys)
    assert code == 2 and "Permission denied" in err


def test_an_input_that_fails_after_the_check_is_an_error_record(tmp_path, monkeypatch):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 3))

    def fail(source):
        raise PermissionError(13, "Permission denied", source.path)

    monkeypatch.setattr(readers, "_open_binary", fail)  # e.g. a network file system going away
    out = tmp_path / "out.jsonl"
    summary = scan([str(src)], str(out), opts())
    rows = read_jsonl(out)
    assert summary.documents == 1 and summary.errors == 1
    assert "stream is damaged" in rows[0]["unspin"]["error"] and "Permission denied" in rows[0]["unspin"]["error"]


# ------------------------------------------------------------------------------ damaged streams

def _zstd():
    return pytest.importorskip("zstandard")


def _damaged_inputs(tmp_path):
    """Three damaged files, each with whole records before the damage, and one sound file."""
    zstd = _zstd()
    cz = zstd.ZstdCompressor(write_checksum=True)
    trunc = tmp_path / "a-truncated.jsonl.zst"  # one whole frame, then a cut-off one
    second = cz.compress(lines(4, 8))
    trunc.write_bytes(cz.compress(lines(0, 4)) + second[: len(second) - 7])
    corrupt_zst = tmp_path / "b-corrupt.jsonl.zst"  # second frame's data changed: checksum fails
    second = bytearray(cz.compress(lines(4, 8)))
    second[len(second) // 2] ^= 0x55
    corrupt_zst.write_bytes(cz.compress(lines(0, 4)) + bytes(second))
    corrupt_gz = tmp_path / "c-corrupt.jsonl.gz"  # a whole gzip member, then a corrupt one
    member = bytearray(gzip.compress(lines(4, 200)))
    for i in range(40, 80):
        member[i] ^= 0xFF
    corrupt_gz.write_bytes(gzip.compress(lines(0, 4)) + bytes(member))
    sound = tmp_path / "d-sound.jsonl"
    sound.write_bytes(lines(0, 2))
    return [str(trunc), str(corrupt_zst), str(corrupt_gz), str(sound)]


def test_damaged_streams_end_with_an_error_record_after_the_records_read(tmp_path, capsys):
    inputs = _damaged_inputs(tmp_path)
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(["scan", *inputs, "-o", str(out), "-q", "-w", "1", "--shard-size", "3"], capsys)
    assert code == 0, err
    rows = read_jsonl(out)
    by_file: dict[str, list] = {}
    for r in rows:
        if "error" in r["unspin"]:
            by_file.setdefault(r["unspin"]["source"].rsplit(":", 1)[0], []).append(r)
    for path in inputs[:3]:
        errors = by_file[path]
        assert len(errors) == 1 and "stream is damaged" in errors[0]["unspin"]["error"], path
        assert int(errors[0]["unspin"]["source"].rsplit(":", 1)[1]) >= 4  # after the records read
    assert "d-sound.jsonl" not in " ".join(by_file)
    good = [r["id"] for r in rows if "error" not in r["unspin"]]
    assert good[:4] == ["d0", "d1", "d2", "d3"] and good[-2:] == ["d0", "d1"]


def test_the_record_count_agrees_with_the_reader_on_damaged_streams(tmp_path):
    # The Ray engine plans its shards from count_records: it must cover the damage record.
    for path in _damaged_inputs(tmp_path):
        source = readers.detect(path)
        indexes = [raw.index for raw in readers.iter_raw(source)]
        assert readers.count_records(source, exact=True) == indexes[-1] + 1, path


def test_truncated_warc_and_parquet_files_end_with_an_error_record(tmp_path):
    pytest.importorskip("fastwarc")
    pytest.importorskip("resiliparse")
    pq = pytest.importorskip("pyarrow.parquet")
    from test_scan import _warc_record

    records = [_warc_record("response", f"http://a{i}.example/", "text/html",
                            f"<html><body><p>{CLEAN} ({i})</p></body></html>".encode(), f"p{i}") for i in range(4)]
    gz = b"".join(gzip.compress(r) for r in records)
    plain = b"".join(records)
    (tmp_path / "a.warc.gz").write_bytes(gz[:-60])  # cut inside the last gzip member
    (tmp_path / "b.warc").write_bytes(plain[:-60])  # cut inside the last record
    table_path = tmp_path / "c.parquet"
    pq.write_table(__import__("pyarrow").table({"text": [CLEAN] * 3}), table_path)
    table_path.write_bytes(table_path.read_bytes()[:-20])  # no footer
    for name, whole in (("a.warc.gz", 3), ("b.warc", 3), ("c.parquet", 0)):
        out = tmp_path / (name + ".out.jsonl")
        summary = scan([str(tmp_path / name)], str(out), opts())
        rows = read_jsonl(out)
        assert all("error" not in r["unspin"] for r in rows[:whole]), name
        assert "error" in rows[-1]["unspin"] and summary.errors == 1, name
        assert "damaged" in rows[-1]["unspin"]["error"] or "cannot read Parquet" in rows[-1]["unspin"]["error"]
        source = readers.detect(str(tmp_path / name))
        assert readers.count_records(source, exact=True) == len(rows), name


def test_a_merged_zstd_output_of_several_shards_reads_back_whole(tmp_path):
    _zstd()
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 7))
    out = tmp_path / "out.jsonl.zst"
    scan([str(src)], str(out), opts(shard_size=2))  # four zstd frames, one per shard
    again = tmp_path / "again.jsonl"
    summary = scan([str(out)], str(again), opts())
    assert summary.documents == 7 and summary.errors == 0
    assert [r["id"] for r in read_jsonl(again)] == [f"d{i}" for i in range(7)]


# ------------------------------------------------------------------------------ failed runs

def test_a_run_where_every_record_fails_warns_with_q_and_exits_2(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 4))
    out = tmp_path / "out.jsonl"
    code, _, err = run_cli(["scan", str(src), "-o", str(out), "--text-field", "body", "-q", "-w", "1"], capsys)
    assert code == 2
    assert "no document could be checked" in err and "all 4 documents failed" in err and "no 'body' field" in err
    assert len(read_jsonl(out)) == 4  # the error records are kept


def test_a_mostly_failed_run_warns_even_with_q(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"{broken\n[1]\n" + lines(0, 1) + b'{"id": 3}\n')
    code, _, err = run_cli(["scan", str(src), "-o", str(tmp_path / "o.jsonl"), "-q", "-w", "1"], capsys)
    assert code == 0
    assert err.startswith("unspin scan: warning: 3 of 4 documents failed (first: ") and "not valid JSON" in err


def test_a_run_with_few_failures_says_nothing_with_q(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(b"{broken\n" + lines(0, 3))
    code, _, err = run_cli(["scan", str(src), "-o", str(tmp_path / "o.jsonl"), "-q", "-w", "1"], capsys)
    assert code == 0 and err == ""


def test_status_lines_when_standard_error_is_not_a_terminal(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 6))
    argv = ["scan", str(src), "-o", str(tmp_path / "o.jsonl"), "-w", "1", "--shard-size", "2"]
    code, _, err = run_cli(argv + ["--status-every", "0.000001"], capsys)  # capsys: not a terminal
    assert code == 0
    status = [line for line in err.splitlines() if line.startswith("unspin scan: ") and "docs done" in line]
    assert status[0] == "unspin scan: starting: 0 of 6 docs done"
    assert status[-1].startswith("unspin scan: 6 of 6 docs done (") and len(status) >= 3
    code, _, err = run_cli(argv + ["-q", "--overwrite"], capsys)
    assert code == 0 and err == ""


# ------------------------------------------------------------------------------ the output, first

@pytest.fixture
def no_work(monkeypatch):
    """Fail the test if any document is checked."""
    from unspin.scan import process

    def analyse(self, *args):
        raise AssertionError("a document was checked before the output was refused")

    monkeypatch.setattr(process.DocProcessor, "analyse", analyse)
    monkeypatch.setattr(process.DocProcessor, "_analyse_many", analyse)


@pytest.mark.parametrize("output, message", [
    ("out.csv", "unknown output extension '.csv'"),
    ("out.json", "unknown output extension '.json'"),
    ("afile/out.jsonl", "is a file, not a folder"),
    ("afile/sub/", "is a file, not a folder"),
    ("in.jsonl", "is also an input"),
    ("-", "standard output is not supported"),
    ("afile", "exists and is not a folder"),
])
def test_the_output_is_checked_before_any_work(tmp_path, monkeypatch, capsys, no_work, output, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_bytes(lines(0, 2))
    (tmp_path / "afile").write_text("not a folder")
    before = sorted(os.listdir(tmp_path))
    code, _, err = run_cli(["scan", "in.jsonl", "-o", output, "-q", "-w", "2"], capsys)
    assert code == 2 and message in err and err.startswith("unspin: error: ") and err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == before
    assert (tmp_path / "in.jsonl").read_bytes() == lines(0, 2)


def test_an_input_inside_the_output_folder_is_refused(tmp_path, capsys, no_work):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "in.jsonl").write_bytes(lines(0, 2))
    code, _, err = run_cli(["scan", str(folder / "in.jsonl"), "-o", str(folder), "-q", "--overwrite"], capsys)
    assert code == 2 and "inside the output folder" in err
    assert (folder / "in.jsonl").read_bytes() == lines(0, 2)


def test_a_write_failure_is_a_clear_exit_2(tmp_path, monkeypatch, capsys):
    from unspin.scan import writers

    def write(self, item):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(writers.ShardWriter, "write", write)
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 2))
    code, _, err = run_cli(["scan", str(src), "-o", str(tmp_path / "o.jsonl"), "-q", "-w", "1"], capsys)
    assert code == 2 and "cannot write" in err and "No space left on device" in err and "resume" in err


# ------------------------------------------------------------------------------ one job per output

HOLDER = textwrap.dedent("""
    import sys, time
    from unspin.scan.shards import OutputLock
    OutputLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(120)
""")


def test_a_second_scan_into_a_busy_output_is_refused_and_a_killed_one_frees_it(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 2))
    out = tmp_path / "out"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(out)], stdout=subprocess.PIPE)
    try:
        assert holder.stdout.readline().strip() == b"locked"
        code, _, err = run_cli(["scan", str(src), "-o", str(out), "-q", "-w", "1"], capsys)
        assert code == 2 and f"another unspin job (pid {holder.pid}) is writing to" in err
        assert not any(n.endswith(".jsonl") for n in os.listdir(out))
    finally:
        holder.kill()
        holder.wait()
    code, _, err = run_cli(["scan", str(src), "-o", str(out), "-q", "-w", "1"], capsys)
    assert code == 0, err  # the lock dies with its process: no stale lock to clean by hand


def test_the_lock_is_per_output_and_released(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    with OutputLock(str(a)):
        with pytest.raises(OutputError, match="another unspin job"):
            OutputLock(str(a)).acquire()
        OutputLock(str(b)).acquire().release()
    OutputLock(str(a)).acquire().release()


# ------------------------------------------------------------------------------ workers

DRIVER = textwrap.dedent("""
    import sys, time
    from unspin.scan import ScanOptions, scan
    from unspin.scan import process

    original = process.DocProcessor._finish  # once per document checked

    def finish(self, report, text):
        time.sleep(0.2)
        return original(self, report, text)

    process.DocProcessor._finish = finish
    scan([sys.argv[1]], sys.argv[2], ScanOptions(workers=2, shard_size=5, batch_size=1, progress=False))
""")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry))
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_a_killed_parent(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 200))
    driver = tmp_path / "driver.py"
    driver.write_text(DRIVER)
    proc = subprocess.Popen([sys.executable, str(driver), str(src), str(tmp_path / "out")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(workers) < 2 and proc.poll() is None:
            workers = _children(proc.pid)
            time.sleep(0.05)
        assert len(workers) >= 2, proc.stderr.read().decode()[-2000:] if proc.poll() is not None else workers
        proc.kill()  # kill -9 of the parent alone
        proc.wait()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(w) for w in workers):
            time.sleep(0.05)
        left = [w for w in workers if _alive(w)]
        assert not left, f"workers {left} outlived their parent"
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# ------------------------------------------------------------------------------ markers, --only

def test_a_folder_of_parquet_shards_opens_as_a_dataset(tmp_path):
    ds = pytest.importorskip("pyarrow.dataset")
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 7))
    out = tmp_path / "out"
    scan([str(src)], str(out), opts(shard_size=3, output_format="parquet"))
    table = ds.dataset(str(out), format="parquet").to_table()
    assert table.num_rows == 7 and sorted(table.column("id").to_pylist()) == sorted(f"d{i}" for i in range(7))
    assert all(n.startswith(("_", ".")) or n.endswith(".parquet") for n in os.listdir(out))


def test_only_unsure_and_several_verdicts(tmp_path, capsys):
    src = tmp_path / "in.jsonl"
    src.write_bytes(lines(0, 6) + b"{broken\n")
    config = Config(clean_threshold=0.001)  # the clean texts (p about 0.01) fall in the unsure band
    annotated = tmp_path / "all.jsonl"
    scan([str(src)], str(annotated), opts(), config)
    verdicts = [r["unspin"].get("verdict") for r in read_jsonl(annotated)]
    assert verdicts == ["spun", "unsure", "unsure", "spun", "unsure", "unsure", None]
    out = tmp_path / "unsure.jsonl"
    summary = scan([str(src)], str(out), opts(only="unsure"), config)
    rows = read_jsonl(out)
    assert [r.get("id") for r in rows] == ["d1", "d2", "d4", "d5", None]  # plus the error record
    assert "unspin" not in rows[0] and summary.written == 5
    both = tmp_path / "both.jsonl"
    scan([str(src)], str(both), opts(only="spun,unsure"), config)
    assert len(read_jsonl(both)) == 7
    code, _, err = run_cli(["scan", str(src), "-o", str(tmp_path / "x.jsonl"), "--only", "maybe"], capsys)
    assert code == 2 and "--only takes spun, unsure, clean, not_applicable" in err


# ------------------------------------------------------------------------------ standard input

def test_scan_dash_reads_standard_input(tmp_path, monkeypatch):
    data = lines(0, 5)
    for payload in (data, gzip.compress(data)):
        monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BufferedReader(io.BytesIO(payload))))
        out = tmp_path / "out.jsonl"
        assert main(["scan", "-", "-o", str(out), "-q", "-w", "1"]) == 0
        rows = read_jsonl(out)
        assert [r["id"] for r in rows] == [f"d{i}" for i in range(5)]
        assert rows[0]["unspin"]["verdict"] == "spun"
        assert rows[0]["unspin"]["spans"] and "error" not in rows[1]["unspin"]
    # A rerun reads new data: it does not take the earlier run's shards for done.
    monkeypatch.setattr(sys, "stdin", types.SimpleNamespace(buffer=io.BufferedReader(io.BytesIO(lines(0, 2)))))
    assert main(["scan", "-", "-o", str(out), "-q", "-w", "1"]) == 0
    assert len(read_jsonl(out)) == 2


def test_scan_dash_through_a_real_pipe(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "unspin", "scan", "-", "-o", str(out), "-q", "-w", "1"],
                          input=gzip.compress(lines(0, 4)), capture_output=True, timeout=120)
    assert proc.returncode == 0, proc.stderr.decode()
    rows = read_jsonl(out / "part-00000-000000.jsonl")
    assert [r["id"] for r in rows] == ["d0", "d1", "d2", "d3"]


def test_standard_input_cannot_go_to_ray(tmp_path, capsys):
    code, _, err = run_cli(["scan", "-", "-o", str(tmp_path / "o.jsonl"), "--engine", "ray"], capsys)
    assert code == 2 and "standard input" in err


# ------------------------------------------------------------------------------ values

def test_nan_and_infinity_from_the_input_are_never_written(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text('{"id": 1, "x": NaN, "y": [Infinity, 2.5], "z": {"w": -Infinity}, "text": %s}\n'
                   % json.dumps(CLEAN))
    out = tmp_path / "out.jsonl"
    scan([str(src)], str(out), opts())
    (row,) = read_jsonl(out)  # the strict parser raises on NaN / Infinity
    assert row["x"] is None and row["y"] == [None, 2.5] and row["z"] == {"w": None}
    assert row["unspin"]["verdict"] == "clean"


@pytest.mark.parametrize("fmt", ["jsonl", "parquet"])
def test_a_lone_surrogate_is_replaced_and_the_record_checked(tmp_path, capsys, fmt):
    src = tmp_path / "in.jsonl"
    with open(src, "w", encoding="ascii") as fh:  # json.dumps writes "\ud800" as an escape
        fh.write(json.dumps({"id": "s1", "text": CLEAN + " \ud800 and \udfff.", "title": "a\ud800b"}) + "\n")
        fh.write(json.dumps({"id": "s2", "body": "no text \ud800 here"}) + "\n")
        fh.write(json.dumps({"id": "ok", "text": SPUN}) + "\n")
    out = tmp_path / f"out.{fmt}"
    code, _, err = run_cli(["scan", str(src), "-o", str(out), "-q", "-w", "1"], capsys)
    assert code == 0, err
    if fmt == "parquet":
        pq = pytest.importorskip("pyarrow.parquet")
        rows = pq.read_table(out).to_pylist()
    else:
        rows = read_jsonl(out)
    first = rows[0]
    assert first["text"].endswith(" \ufffd and \ufffd.") and first["title"] == "a\ufffdb"
    assert first["unspin"]["verdict"] in ("clean", "unsure", "not_applicable")
    assert "lone surrogate" in " ".join(first["unspin"]["notes"])
    assert "no 'text' field" in rows[1]["unspin"]["error"]
    assert rows[2]["unspin"]["verdict"] == "spun"
