"""Keyword anchors found by the language model's deletion test (unspin.keyword_anchors)."""

from __future__ import annotations

import pytest

import unspin
from unspin import Config
from unspin.errors import ConfigError


def _lm_ready() -> bool:
    try:
        from unspin import probe

        return probe.available()
    except Exception:
        return False


needs_lm = pytest.mark.skipif(not _lm_ready(), reason="needs the language model: pip install 'unspin[lm]' && unspin models fetch")

HONEST = ("Most students plan each section of the report before they start writing the first draft. "
          "Teachers say that a clear outline saves hours later, because every paragraph then has a job to do.")
DROPPED = ("Most students plan each section of the report before they start writing the first draft. "
           "Teachers say that a clear outline saves hours later, because every paragraph then has a buy essay "
           "online job to do.")


@needs_lm
def test_a_phrase_dropped_into_a_sentence_is_found_and_the_honest_text_has_none():
    from unspin import lm
    from unspin.keyword_anchors import RULE, find_keyword_anchors

    found = find_keyword_anchors(DROPPED, lm.load())
    assert [s.text for s in found] == ["buy essay online"], found
    assert found[0].kind == "injected_anchor" and found[0].rule == RULE and found[0].original == ""
    assert DROPPED[found[0].start:found[0].end] == found[0].text
    assert find_keyword_anchors(HONEST, lm.load()) == []


@needs_lm
def test_runs_other_stages_explain_are_not_candidates():
    from unspin import lm
    from unspin.keyword_anchors import score_runs

    s = DROPPED.index("buy")
    e = DROPPED.index(" job to do")
    runs = score_runs(DROPPED, lm.load(), taken=[(s, e)])
    assert runs and not any(a < e and s < b for _score, a, b in runs)


def test_the_switch_is_a_boolean_and_corpus_jobs_leave_it_off():
    with pytest.raises(ConfigError, match="keyword_anchors"):
        Config(keyword_anchors="yes")
    from unspin.scan import ScanOptions
    from unspin.scan.process import DocProcessor

    assert DocProcessor(ScanOptions()).config.keyword_anchors is False
    # the fast tier never loads the language model for it
    r = unspin.check(DROPPED, Config(tier="fast"))
    assert not [s for s in r.spans if s.rule.startswith("anchor:keyword")]


def test_only_anchor_shaped_runs_are_candidates():
    from unspin.keyword_anchors import anchor_shaped

    assert anchor_shaped(["check", "my", "paper"])
    assert anchor_shaped(["the", "risks", "of", "online", "dating"])
    # a run that ends on a function word is a piece of the sentence, not a keyword phrase
    assert not anchor_shaped(["control", "of"])
    assert not anchor_shaped(["but", "not"])
    # a word English does not know is a misspelling or dialect, not an advertiser's keyword
    assert not anchor_shaped(["pairteecular", "technological"])
