"""The shipped lexicons load, check their header, and hold the facts the detector relies on.

These read the package data only, so they pass without ../shared/data; the rebuild test at
the end needs the sources and skips without them.
"""

from __future__ import annotations

import gzip
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from unspin import lexicons
from unspin.errors import UnspinError
from unspin.tokenize import words

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"

GOOD = (
    "# unspin-lexicon name=reverse_spin format=1 source=x.jsonl source_sha256=abc\n"
    "spun\toriginal\tsupport\tpapers\n"
    "profound\tdeep\t3\t10\n"
)


def test_parser_accepts_a_well_formed_file():
    head, rows = lexicons.parse_lexicon(GOOD, "reverse_spin")
    assert head.startswith("# unspin-lexicon name=reverse_spin format=1")
    assert rows == [["profound", "deep", "3", "10"]]


@pytest.mark.parametrize(
    "text",
    [
        "",
        GOOD.replace("format=1", "format=2"),
        GOOD.replace("name=reverse_spin", "name=thesaurus"),
        GOOD.replace("# unspin-lexicon", "# something-else"),
        GOOD.replace("spun\toriginal", "spun\torig"),
        GOOD + "broken row without tabs\n",
    ],
    ids=["empty", "format", "name", "magic", "columns", "row"],
)
def test_parser_rejects_corrupt_input(text):
    with pytest.raises(UnspinError, match="build_lexicons.py"):
        lexicons.parse_lexicon(text, "reverse_spin")


def test_every_shipped_file_has_a_format_1_header():
    prov = lexicons.provenance()
    assert set(prov) == {"tortured_phrases", "reverse_spin", "thesaurus"}
    for name, head in prov.items():
        assert f"name={name} format=1 " in head
        assert "source_sha256=" in head


def test_tortured_phrases():
    tp = lexicons.tortured_phrases()
    entry = tp[("profound", "learning")]
    assert entry.original == "deep learning"
    assert entry.id.startswith("tp")
    assert tp[("counterfeit", "consciousness")].original == "artificial intelligence"
    # Keys are what the tokeniser produces, and every phrase has at least two words.
    for key, e in tp.items():
        assert key == tuple(words(e.spun)) and len(key) >= 2
        assert e.original and "(?)" not in e.original
    assert lexicons.tortured_max_len() == max(len(k) for k in tp)
    # Single words are too ambiguous for phrase matching.
    assert ("bosom",) not in tp


def test_reverse_spin():
    rs = lexicons.reverse_spin()
    assert rs["profound"][0][0] == "deep"
    assert ("breast", ) == tuple(o for o, _ in rs["bosom"][:1])
    for spun, pairs in rs.items():
        assert spun.isalpha()
        supports = [s for _, s in pairs]
        assert supports == sorted(supports, reverse=True)
        assert all(o.isalpha() and o != spun for o, _ in pairs)


def test_thesaurus_offers_more_frequent_originals():
    th = lexicons.thesaurus()
    assert "president" in [c for c, _ in th["chairman"]]
    for word in ("chairman", "colossal", "perusing"):
        cands = th[word]
        assert 1 <= len(cands) <= 8
        zs = [z for _, z in cands]
        assert zs == sorted(zs, reverse=True)
        assert all(z >= 3.0 and z >= lexicons.zipf(word) + 0.4 for z in zs)


def test_word_pos_and_verbs():
    assert lexicons.can_be_verb("run")
    assert lexicons.can_be_verb("runs") and lexicons.can_be_verb("stopped")
    assert lexicons.can_be_verb("is")
    assert not lexicons.can_be_verb("the")
    assert not lexicons.can_be_verb("quickly")
    assert lexicons.word_pos("dog") >= {"n"}
    assert lexicons.word_pos("xqzzv") == frozenset()


def test_zipf():
    assert lexicons.zipf("the") > 7 > lexicons.zipf("counterfeit")
    assert lexicons.zipf("xqzzvwk") == 0.0


def test_missing_data_names_the_builder(monkeypatch):
    class Missing:
        def joinpath(self, *parts):
            return self

        def read_bytes(self):
            raise FileNotFoundError("gone")

    lexicons._load.cache_clear()
    monkeypatch.setattr(lexicons.resources, "files", lambda pkg: Missing())
    try:
        with pytest.raises(UnspinError, match="build_lexicons.py"):
            lexicons._load("thesaurus")
    finally:
        monkeypatch.undo()
        lexicons._load.cache_clear()


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data (the lexicon sources) is absent")
@pytest.mark.skipif(importlib.util.find_spec("wordfreq") is None, reason="wordfreq not installed")
def test_builder_reproduces_the_shipped_files(tmp_path):
    subprocess.run(
        [sys.executable, str(REPO / "scripts" / "build_lexicons.py"), "--shared", str(SHARED), "--out", str(tmp_path)],
        check=True, capture_output=True,
    )
    for name in ("tortured_phrases", "reverse_spin", "thesaurus"):
        built = gzip.decompress((tmp_path / f"{name}.tsv.gz").read_bytes())
        shipped = gzip.decompress((REPO / "unspin" / "data" / f"{name}.tsv.gz").read_bytes())
        assert built == shipped, f"{name}.tsv.gz is stale: run python scripts/build_lexicons.py"
