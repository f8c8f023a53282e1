"""Clustering spun copies, tracing them, restoring from the source (issue 10).

Every text here was written by the unspin developers (the two council-news examples and the
texts below); the emulator test at the end reads ../shared and skips without it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("rensa", reason="clustering needs rensa: pip install 'unspin[cluster]'")

import unspin  # noqa: E402
from unspin import apply_spans  # noqa: E402
from unspin.cluster import ClusterOptions, cluster_texts  # noqa: E402
from unspin.cluster.fingerprint import canonical_forms, synonym_class  # noqa: E402
from unspin.cluster.index import Index, build_index, open_reference, trace  # noqa: E402
from unspin.source_restore import align_to_source, restore_from_source  # noqa: E402

# Two more spins of examples/clean-council-news.txt, written by hand in the styles of a
# thesaurus spinner and of a filler spinner with a spam anchor.
SPUN_B = """The city board voted on Tuesday to construct a protected bicycle lane along the river road, ending a dispute that has split inhabitants for almost two years.

The scheme, which will cost about 4.2 million dollars, adds a separated lane in each direction and new crossings at three crowded junctions. Advocates said the undertaking would make the road safer for kids who cycle to school, and store owners on the east bank told the board that more visitors arrive on foot and by bike than by automobile.

Opponents contended that eliminating forty parking spaces would harm small companies and that the money should go to fixing older streets first. The mayor said both worries had been heard and that the city would examine parking demand six months after the lane opens.

Work is anticipated to start in the spring and to complete before the end of the year.
"""

SPUN_C = """The city council voted on Tuesday in order to build a protected bike lane along the fresh river road, ending a debate that has divided residents for almost two years.

The plan, which will cost about 4.2 million dollars, adds a separated lane in each direction and also the new crossings at three busy junctions. Supporters said the project would make the road safer for children who cycle to school, and you may shop owners on the east bank told the council that more visitors arrive on foot and by bike than by car cheap-parking-tickets.info.

Opponents argued you to definitely removing forty parking spaces would hurt small businesses and that the money should go to repairing older streets first. The mayor said both concerns had been heard and that the city would review parking demand six months after the lane opens.

Work is expected to begin in the spring and to finish before the end of the year.
"""

# An honest page on the same topic (a bike lane, a council vote), in its own words.
NEAR_TOPIC = """Councillors in Millbrook approved a painted cycle path on Station Street last night after a long public meeting. The path will run for two kilometres between the railway station and the sports centre and is paid for by a regional transport grant.

Several cyclists told the meeting that paint alone does not protect anyone, and asked for kerbs or posts. The transport officer replied that posts could be added later if the path is well used. Residents of Station Street were mostly worried about deliveries, since vans now stop in the lane that will become the cycle path.

The council will publish a map of the route next month and hopes to open it in the autumn."""

UNRELATED = [
    """To make the bread, mix the flour, salt and yeast in a large bowl, then add warm water a little at a time until the dough comes together. Knead it on a floured table for ten minutes, until it is smooth and springs back when pressed. Leave it covered in a warm place for an hour, shape it into a loaf, let it rise again and bake it at 220 degrees for about thirty minutes. The loaf is done when it sounds hollow when tapped underneath.""",
    """Rovers came from behind to beat United 3-2 on Saturday in front of a crowd of 18,000. United led twice through goals from Alvarez and Okafor, but Rovers equalised each time and won it with a header from Patel in the last minute. The manager praised his players for refusing to give up and said the result keeps them in the race for promotion with six games left.""",
    """The new public library on Harbour Street opens its doors on Monday morning. The building has three floors, a children's room with a reading garden, forty computers and a café run by a local charity. Membership is free for everyone who lives or works in the county, and the library will stay open until eight in the evening on weekdays. The old library on Mill Lane will close at the end of the month and become a community hall.""",
]


@pytest.fixture
def original(examples) -> str:
    return (examples / "clean-council-news.txt").read_text(encoding="utf-8")


@pytest.fixture
def spun_a(examples) -> str:
    return (examples / "spun-council-news.txt").read_text(encoding="utf-8")


# ----------------------------------------------------------------------------- fingerprints

def test_synonym_classes_join_a_spun_word_and_its_original():
    assert synonym_class("metropolis") == synonym_class("city")
    assert synonym_class("elderly") == synonym_class("old")


def test_fingerprint_drops_filler_and_keeps_names_and_numbers():
    forms = [f[0] for f in canonical_forms("Voters in Leeds and you may the council paid 4.2 million")]
    assert forms[0] == "=" + synonym_class("voter") and "^leeds" in forms and "#4.2" in forms
    plain = [f[0] for f in canonical_forms("Voters in Leeds and the council paid 4.2 million")]
    assert forms == plain  # "and you may" leaves nothing that "and" does not


# ----------------------------------------------------------------------------- clustering

def test_spun_copies_land_in_one_cluster_with_the_original_as_source(original, spun_a):
    texts = [spun_a, UNRELATED[0], original, SPUN_B, NEAR_TOPIC, SPUN_C, UNRELATED[1], UNRELATED[2]]
    ids = ["spun-a", "bread", "original", "spun-b", "near-topic", "spun-c", "football", "library"]
    marks = dict(zip(ids, cluster_texts(texts, ids=ids)))
    family = ["original", "spun-a", "spun-b", "spun-c"]
    assert marks["original"]["role"] == "source" and marks["original"]["size"] == 4
    assert len({marks[i]["id"] for i in family}) == 1
    for i in ("spun-a", "spun-b", "spun-c"):
        assert marks[i]["role"] == "copy" and marks[i]["source"] == "original"
        assert 0.35 <= marks[i]["similarity"] <= 1.0
    # unrelated pages and an honest page on the same topic stay apart
    for i in ("bread", "football", "library", "near-topic"):
        assert marks[i] == {"id": None, "role": "unique", "source": None, "similarity": None, "size": 1}


def test_a_clean_page_is_never_linked_to_unrelated_pages():
    marks = cluster_texts([NEAR_TOPIC, *UNRELATED])
    assert all(m["role"] == "unique" for m in marks)


def test_earliest_date_breaks_a_tie_between_honest_reprints(original):
    reprint = original  # a wire story printed twice, word for word
    marks = cluster_texts([reprint, original], ids=["later", "earlier"], dates=["2024-05-02", "2024-05-01"])
    assert marks[1]["role"] == "source" and marks[0]["source"] == "earlier"


def test_short_texts_are_not_clustered():
    marks = cluster_texts(["Cheap flights to Rome.", "Cheap flights to Rome."])
    assert [m["role"] for m in marks] == ["unique", "unique"]


# ----------------------------------------------------------------------------- tracing

def test_a_partial_source_is_found(tmp_path, original, spun_a):
    first_paragraphs = "\n\n".join(original.split("\n\n")[:2])
    corpus = tmp_path / "ref.jsonl"
    with corpus.open("w", encoding="utf-8") as fh:
        for rid, text in [("partial-original", first_paragraphs), ("u0", UNRELATED[0]), ("u2", UNRELATED[2]),
                          ("near", NEAR_TOPIC)]:
            fh.write(json.dumps({"id": rid, "text": text}) + "\n")
    index_path = tmp_path / "ref.idx"
    assert build_index([str(corpus)], str(index_path)) == 4
    index = Index.open(str(index_path))
    result = trace(spun_a, index)
    assert result.source is not None and result.source["id"] == "partial-original"
    assert result.source["similarity"] >= 0.35
    blocks = result.source["alignment"]["blocks"]
    assert blocks and all(spun_a[a:b] and first_paragraphs[c:d] for a, b, c, d in blocks)
    assert trace(UNRELATED[1], index).source is None  # not in the index, nothing like it
    index.close()
    # a corpus file works without a saved index
    mem = open_reference(str(corpus))
    assert trace(SPUN_B, mem).source["id"] == "partial-original"


def test_trace_cli_json_and_restore(tmp_path, original, spun_a):
    corpus = tmp_path / "ref.jsonl"
    corpus.write_text(json.dumps({"id": "orig", "text": original}) + "\n"
                      + json.dumps({"id": "bread", "text": UNRELATED[0]}) + "\n", encoding="utf-8")
    query = tmp_path / "q.txt"
    query.write_text(spun_a, encoding="utf-8")
    run = lambda *a: subprocess.run([sys.executable, "-m", "unspin", *a], capture_output=True, text=True)  # noqa: E731
    assert run("index", "build", str(corpus), "-o", str(tmp_path / "ref.idx"), "-q").returncode == 0
    out = run("trace", str(query), "--against", str(tmp_path / "ref.idx"), "--json")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["source"]["id"] == "orig" and {"id", "similarity", "alignment"} <= set(data["source"])
    assert [c["id"] for c in data["candidates"]][0] == "orig"
    out = run("trace", str(query), "--against", str(corpus), "--restore", "--source-only")
    assert out.returncode == 0, out.stderr
    assert out.stdout == original


# ----------------------------------------------------------------------------- restore from source

def test_restore_from_source_rebuilds_the_original_and_replays(original, spun_a):
    for spun in (spun_a, SPUN_B, SPUN_C):
        r = restore_from_source(spun, original, "orig")
        assert r.text == original
        assert apply_spans(spun, r.changes) == r.text
        for c in r.changes:
            assert c.kind == "substitution" and c.rule.startswith("source:orig:")
            a, b = map(int, c.rule.rsplit(":", 1)[1].split("-"))
            assert original[a:b] == c.original and spun[c.start:c.end] == c.text


def test_restore_from_a_partial_source_changes_only_the_aligned_part(original, spun_a):
    paragraphs = spun_a.split("\n\n")
    source = original.split("\n\n")[0]
    r = restore_from_source(spun_a, source, "p1")
    assert r.text.split("\n\n")[0] == source
    assert r.text.split("\n\n")[1:] == paragraphs[1:]  # outside the aligned part: untouched
    assert apply_spans(spun_a, r.changes) == r.text
    al = align_to_source(spun_a, source)
    assert 0.1 < al.coverage < 0.5


def test_restore_from_an_unrelated_source_changes_nothing(spun_a):
    for text in UNRELATED + [NEAR_TOPIC]:
        assert restore_from_source(spun_a, text).changes == []


def test_unspin_restore_source_only_and_cli(tmp_path, original, spun_a):
    r = unspin.restore(spun_a, source=original, source_only=True, source_id="orig")
    assert r.text == original and apply_spans(spun_a, r.changes) == original
    (tmp_path / "s.txt").write_text(spun_a, encoding="utf-8")
    (tmp_path / "o.txt").write_text(original, encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "unspin", "restore", "--source", str(tmp_path / "o.txt"),
                          "--source-only", "--json", str(tmp_path / "s.txt")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["text"] == original and all(c["rule"].startswith("source:") for c in data["changes"])


# ----------------------------------------------------------------------------- the cluster job

def _corpus(path, original, spun_a):
    rows = []
    for k in range(6):  # six "articles": the council story and variants of other texts
        rows.append({"id": f"orig-{k}", "text": original if k == 0 else UNRELATED[k % 3] + f" Story {k}.",
                     "date": f"2024-01-0{k + 1}"})
    rows += [{"id": "spun-a", "text": spun_a}, {"id": "spun-b", "text": SPUN_B}, {"id": "spun-c", "text": SPUN_C},
             {"id": "near", "text": NEAR_TOPIC}, {"no text": True}]
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r) + "\n")
        fh.write("{broken json\n")
    return rows


def _read(path):
    return [json.loads(line) for line in open(path, encoding="utf-8")]


def test_cluster_job_annotates_every_record(tmp_path, original, spun_a):
    from unspin.cluster.job import JobOptions, cluster

    _corpus(tmp_path / "in.jsonl", original, spun_a)
    summary = cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "out.jsonl"),
                      JobOptions(shard_size=4, workers=1, progress=False))
    out = _read(tmp_path / "out.jsonl")
    assert len(out) == 12 and summary.documents == 12 and summary.errors == 2
    by_id = {r.get("id"): r["unspin"]["cluster"] for r in out if "id" in r}
    assert by_id["orig-0"]["role"] == "source"
    for i in ("spun-a", "spun-b", "spun-c"):
        assert by_id[i]["source"] == "orig-0" and by_id[i]["size"] == 4
    assert by_id["near"]["role"] == "unique"
    errors = [r for r in out if "error" in r["unspin"]]
    assert len(errors) == 2 and all(r["unspin"]["cluster"]["role"] == "unique" for r in errors)


def test_cluster_resume_after_a_kill_gives_the_same_output(tmp_path, monkeypatch, original, spun_a):
    import unspin.cluster.job as job

    _corpus(tmp_path / "in.jsonl", original, spun_a)
    opts = job.JobOptions(shard_size=3, workers=1, progress=False)
    job.cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "whole.jsonl"), opts)
    expected = (tmp_path / "whole.jsonl").read_bytes()

    # killed while writing signatures (after the first signature shard) ...
    real_save = job._save_signatures
    calls = {"n": 0}

    def dying_save(path, rows):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt
        real_save(path, rows)

    monkeypatch.setattr(job, "_save_signatures", dying_save)
    with pytest.raises(KeyboardInterrupt):
        job.cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "out.jsonl"), opts)
    monkeypatch.setattr(job, "_save_signatures", real_save)

    # ... and again while writing the output (after two output shards)
    real_writer = job.ShardWriter
    made = {"n": 0}

    class DyingWriter(real_writer):
        def __init__(self, *a, **k):
            made["n"] += 1
            if made["n"] == 3:
                raise KeyboardInterrupt
            super().__init__(*a, **k)

    monkeypatch.setattr(job, "ShardWriter", DyingWriter)
    with pytest.raises(KeyboardInterrupt):
        job.cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "out.jsonl"), opts)
    monkeypatch.setattr(job, "ShardWriter", real_writer)
    assert not (tmp_path / "out.jsonl").exists()

    summary = job.cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "out.jsonl"), opts)
    assert summary.resumed_shards == 2
    assert (tmp_path / "out.jsonl").read_bytes() == expected


def test_cluster_cli_refuses_a_different_job_and_ray(tmp_path, original, spun_a):
    _corpus(tmp_path / "in.jsonl", original, spun_a)
    run = lambda *a: subprocess.run([sys.executable, "-m", "unspin", *a], capture_output=True, text=True)  # noqa: E731
    out = run("cluster", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o"), "-q", "--json", "-w", "1")
    assert out.returncode == 0, out.stderr
    # the council story's cluster, and two stories printed twice (honest reprints are copies too)
    assert json.loads(out.stdout)["clusters"] == 3
    shards = sorted(p.name for p in (tmp_path / "o").iterdir() if p.name.startswith("part-"))
    assert shards and all(p.endswith(".jsonl") for p in shards)
    again = run("cluster", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "o"), "-q", "--threshold", "0.9")
    assert again.returncode == 2 and "different cluster" in again.stderr
    ray = run("cluster", str(tmp_path / "in.jsonl"), "-o", str(tmp_path / "r"), "--engine", "ray")
    assert ray.returncode == 2 and "not available" in ray.stderr


def test_cluster_parquet_output(tmp_path, original, spun_a):
    pq = pytest.importorskip("pyarrow.parquet")
    from unspin.cluster.job import JobOptions, cluster

    _corpus(tmp_path / "in.jsonl", original, spun_a)
    cluster([str(tmp_path / "in.jsonl")], str(tmp_path / "out.parquet"), JobOptions(workers=1, progress=False))
    rows = pq.read_table(tmp_path / "out.parquet").to_pylist()
    roles = {r["id"]: r["unspin_cluster"]["role"] for r in rows if r.get("id")}
    assert roles["orig-0"] == "source" and roles["spun-a"] == "copy" and roles["near"] == "unique"


# ----------------------------------------------------------------------------- emulator spins

def test_emulator_spins_cluster_with_their_originals(shared_path):
    shared_path("data/ud_english_gum")
    from eval.corpora import load_docs, windows
    from eval.spinner import spin

    docs = windows(load_docs(["gum"], split="dev"), 80, 250)[:12]
    texts, truth = [], []
    for k, d in enumerate(docs):
        texts.append(d.text), truth.append(k)
        for j, fam in enumerate(["function_words", "thesaurus", "tortured"]):
            texts.append(spin(d.text, fam, seed=k * 10 + j).text), truth.append(k)
    marks = cluster_texts(texts, options=ClusterOptions())
    linked = [i for i, m in enumerate(marks) if m["role"] == "copy"]
    assert len(linked) >= 0.8 * 36
    assert all(truth[marks[i]["source"]] == truth[i] for i in linked)


def test_cluster_fingerprint_is_linear_on_crafted_input():
    """The fingerprint's e-mail alternative was quadratic on ``'a_' * n + '@'`` (34 s at 40k
    characters): 200,000 characters of it, in a child process with a generous limit."""
    import subprocess
    import sys

    code = ("from unspin.cluster import fingerprint as f\n"
            "text = 'a_' * 100_000 + '@'\n"
            "print(len(list(f._SCAN_RE.finditer(text))))\n"
            "print([m.group('email') for m in f._SCAN_RE.finditer('write to john.doe@example.com today') if m.group('email')])\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.splitlines()[1] == "['john.doe@example.com']"


def test_a_short_shared_run_is_not_enough_to_link():
    """Containment is a share of the shorter text: on a short text a few tokens shared in
    runs (a topic's stock phrases) give a high share, so a link also needs
    ``min_matched`` tokens matched."""
    import numpy as np

    from unspin.cluster.verify import link

    short = np.arange(1, 11, dtype=np.uint64)  # 10 canonical tokens, all found in the other
    longer = np.concatenate([short, np.arange(100, 140, dtype=np.uint64)])
    opts = ClusterOptions()
    assert link(short, longer, opts) is None
    assert link(short, longer, opts.replace(min_matched=10)) == 1.0
    enough = np.arange(1, 15, dtype=np.uint64)  # 14 tokens matched: linked
    assert link(enough, np.concatenate([enough, longer]), opts) == 1.0


def test_the_model_tier_is_asked_about_the_source_contenders_only(monkeypatch):
    """Under tier auto with the model installed, each cluster's few most source-like members
    (by the fast tier) are scored again by the model tier, and the source is the contender
    whose larger score of the two is lowest; other members are never read twice."""
    import unspin.probe
    from unspin.cluster.core import first_config, second_config
    from unspin.cluster.group import choose_sources
    from unspin.config import Config

    fast = {0: 0.05, 1: 0.1, 2: 0.3, 3: 0.5, 4: 0.7, 5: 0.9}
    model = {0: 0.95, 1: 0.1, 2: 0.2, 3: 0.3, 4: 0.0, 5: 0.0}
    asked = []

    def rescore(idx):
        asked.extend(idx)
        return {i: model[i] for i in idx}

    cluster = [[0, 1, 2, 3, 4, 5]]
    args = (fast.get, lambda i: 0, lambda i: None)
    assert choose_sources(cluster, *args) == [0]  # the fast tier alone
    assert choose_sources(cluster, *args, rescore=rescore, contenders=4) == [1]
    assert sorted(asked) == [0, 1, 2, 3]

    monkeypatch.setattr(unspin.probe, "available", lambda: True)
    assert first_config(None).tier == "fast" and second_config(None).tier == "model"
    assert second_config(Config(tier="fast")) is None and second_config(Config(tier="model")) is None
    assert first_config(Config(tier="model")).tier == "model"
    assert first_config(None).keyword_anchors is False and second_config(None).keyword_anchors is False
    monkeypatch.setattr(unspin.probe, "available", lambda: False)
    assert second_config(None) is None
