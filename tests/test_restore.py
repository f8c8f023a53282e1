"""The restorer: candidates, conservatism, replayable changes, the views, the CLI.

Tests marked by the ``lm`` fixture need the language model and skip with a clear message
when it is absent (CI installs it with .ci/fetch-model). The invariant
``apply_spans(input, changes) == restoration.text`` is checked on every case."""

from __future__ import annotations

import json

import pytest

from unspin.config import Config
from unspin.diffview import html_page, inline, side_by_side, summary
from unspin.report import Report, Restoration, Span, apply_spans
from unspin.restore import build_sites, lexicon_candidates, related

# Clean paragraphs written for these tests: ordinary prose, an uncommon but correct word
# choice, a quote, names and numbers. Restoration must leave every one unchanged.
CLEAN = [
    "The council met on Tuesday to discuss the budget. Members agreed to spend more on roads "
    "and schools, and the mayor said the plan would be published next week.",
    "My grandmother kept a small garden behind the house. Every spring she planted tomatoes, "
    "beans and a few rows of onions, and she gave most of the harvest to the neighbours.",
    "The company reported revenue of 4.2 billion dollars in 2023, up 7 percent from the year "
    "before. Chairman Lee told investors that the results were better than expected.",
    "\u201cWe will not leave until the work is done,\u201d she said. The volunteers stayed for three "
    "more days and rebuilt the bridge over the river.",
    "Researchers trained a deep learning model on thousands of images. The model found tumours "
    "that doctors had missed, but the authors warn that more tests are needed.",
]

# Spun sentences written for these tests (filler from spinner templates), with the words the
# restorer must put back and the names/numbers it must keep.
SPUN = [
    ("The mayor praised the teachers and you can the nurses for their work during the storm.",
     ["the teachers and the nurses"], ["mayor"]),
    # one weak filler signature alone no longer makes a sentence spun (the fast tier is
    # calibrated on real pages); with a second one the page is, and both are undone
    ("Officials in Berlin said the 2024 plan is important so you're able to reduce traffic, and you may cut "
     "noise in brand new city centre.",
     ["important to reduce", "in the city centre"], ["Berlin", "2024"]),
    ("Iran has long demanded the withdrawal of All of us forces from the region.",
     ["the US forces"], ["Iran"]),
]


def _check_replay(text: str, r: Restoration) -> None:
    assert r.source == text
    assert apply_spans(text, r.changes) == r.text
    for c in r.changes:
        assert text[c.start:c.end] == c.text
        assert c.original is not None and c.rule and 0.0 <= c.confidence <= 1.0


# ---------------------------------------------------------------- no model needed

def _span(text, sub, kind, original, conf=0.9, rule="test"):
    i = text.index(sub)
    return Span(i, i + len(sub), sub, kind, original, conf, rule)


def test_fixed_wording_sites_carry_their_original():
    text = "He thanked the doctors and you may the nurses."
    sites = build_sites(text, [_span(text, "and you may", "signature", "and")], Config())
    assert len(sites) == 1 and sites[0].candidates[0].text == "and"
    assert sites[0].candidates[0].margin == Config().restore_signature_margin
    assert sites[0].candidates[0].origin == "fixed"


def test_weak_evidence_inside_quotes_is_left_alone():
    text = "She said \u201cthe doctors and you may the nurses\u201d yesterday."
    weak = _span(text, "and you may", "signature", "and", conf=0.5)
    assert build_sites(text, [weak], Config()) == []
    strong = _span(text, "and you may", "signature", "and", conf=0.95)
    assert len(build_sites(text, [strong], Config())) == 1


def test_overlapping_evidence_keeps_the_longer_span():
    text = "relations between Iran and you example.org may Iraq"
    spans = [_span(text, "and you example.org may", "signature", "and"),
             _span(text, "example.org", "injected_anchor", "")]
    sites = build_sites(text, spans, Config())
    assert [s.observed for s in sites] == ["and you example.org may"]


def test_deleting_a_fragment_also_removes_its_space():
    text = "Read this example.org report."
    sites = build_sites(text, [_span(text, "example.org", "injected_anchor", "")], Config())
    assert text[: sites[0].start] + text[sites[0].end:] == "Read this report."


def test_capitalised_mid_sentence_words_need_a_bigger_margin():
    text = "The talks were attended by Chairman Lee and others."
    cfg = Config()
    sites = build_sites(text, [_span(text, "Chairman", "substitution", None, conf=0.4)], cfg)
    if not sites:  # no lexicon candidate for this word: nothing to restore, also fine
        return
    assert sites[0].protected
    assert all(c.margin >= cfg.restore_margin + cfg.restore_name_margin for c in sites[0].candidates)


def test_lexicon_candidates_and_relatedness_come_from_the_lexicons():
    from unspin.lexicons import thesaurus

    word = next(w for w, c in thesaurus().items() if " " not in w and len(c) >= 2)
    cands = [c for c, _r in lexicon_candidates(word)]
    assert cands and all(c != word for c in cands)
    assert related(word, cands[0])
    assert not related(word, word)


def test_views_show_every_change_and_escape_html():
    text = "Tom <b> and you may Jerry\nsecond line"
    ch = [_span(text, "and you may", "signature", "and", rule="sig:<x>")]
    r = Restoration(text, apply_spans(text, ch), ch)
    assert inline(r) == "Tom <b> [-and you may-]{+and+} Jerry\nsecond line"
    assert "[and you may]" in side_by_side(r, width=80) and "[and]" in side_by_side(r, width=80)
    page = html_page(r)
    assert "&lt;b&gt;" in page and "<b>" not in page.replace("<body>", "")
    assert page.count("<del") == 2 and "sig:&lt;x&gt;" in page
    assert "and you may" in summary(r)


def test_empty_and_siteless_text_needs_no_model(monkeypatch, tmp_path):
    from unspin.restore import restore

    monkeypatch.setenv("UNSPIN_HOME", str(tmp_path))
    monkeypatch.delenv("UNSPIN_MODEL", raising=False)
    assert restore("").text == ""
    r = restore("x", report=Report(score=0.1, verdict="clean", reason="", spans=[]))
    assert r.text == "x" and r.changes == []


def test_without_the_model_restore_says_what_to_run(monkeypatch, tmp_path):
    from unspin.errors import MissingComponent
    from unspin import lm as lm_mod
    from unspin.restore import restore

    monkeypatch.setenv("UNSPIN_HOME", str(tmp_path))
    monkeypatch.delenv("UNSPIN_MODEL", raising=False)
    lm_mod._load_cached.cache_clear()
    text = "He thanked the doctors and you may the nurses."
    rep = Report(score=0.9, verdict="spun", reason="", spans=[_span(text, "and you may", "signature", "and")])
    try:
        with pytest.raises(MissingComponent, match="unspin models fetch"):
            restore(text, report=rep)
    finally:
        lm_mod._load_cached.cache_clear()


# ---------------------------------------------------------------- with the model

@pytest.fixture(scope="module")
def lm():
    from unspin import models

    if not models.installed():
        pytest.skip("language model not installed: run `unspin models fetch` (CI runs .ci/fetch-model)")
    pytest.importorskip("torch", reason="needs the lm extra: pip install 'unspin[lm]'")
    from unspin.lm import load

    return load()


@pytest.mark.parametrize("text", CLEAN)
def test_clean_text_passes_through_unchanged(lm, text):
    from unspin.restore import restore

    r = restore(text, lm=lm)
    _check_replay(text, r)
    assert r.text == text, summary(r)


@pytest.mark.parametrize("text,wanted,kept", SPUN)
def test_filler_is_undone_and_names_numbers_kept(lm, text, wanted, kept):
    from unspin.restore import restore

    # The fast tier's verdict gates the restorer here: these are single sentences, and the model
    # tier (calibrated on whole pages) calls one of them clean (p=0.29), where the restorer only
    # uses strong fixed-wording evidence. This test is about undoing the filler the fast tier found.
    r = restore(text, Config(tier="fast"), lm=lm)
    _check_replay(text, r)
    for w in wanted:
        assert w in r.text, summary(r)
    for k in kept:
        assert k in r.text


def test_sample_page_restores_and_replays(lm, shared_path):
    from unspin.restore import restore

    text = shared_path("samples/bride-network-news.txt").read_text(encoding="utf-8")
    r = restore(text, lm=lm)
    _check_replay(text, r)
    import re

    filler = re.compile(r"\band you (?:may|can|will)\b|so you\u2019re able to")
    before, after = len(filler.findall(text)), len(filler.findall(r.text))
    assert before >= 5 and after <= before // 3, (before, after)
    for n in ("2020", "Soleimani", "Khamenei", "Abdul Latif Rashid"):
        assert n in r.text


def test_lm_scores_with_cache_match_a_full_pass(lm):
    text = "The leader of the revolution met the president and discussed many issues."
    (w,) = lm.analyse([text])
    cut = text.index(" met")
    p = w.boundary(cut)
    conts = [lm.encode(text[cut:]), lm.encode(" visited the president and discussed many issues.")]
    prefix = sum(w.logprobs[:p])
    cached = lm.score_variants(w, p, conts)
    many = lm.score_many([(w, p, c) for c in conts])
    full = lm.score_texts([text[:cut] + lm.tokenizer.decode(c) for c in conts])
    for a, b, c in zip(cached, many, full):
        assert abs(prefix + a - c) < 1e-2 and abs(a - b) < 1e-3


def test_extended_windows_score_like_the_whole_continuation(lm):
    """The joint decoder scores a hypothesis's left part once (extend_many) and its variants on
    top of it; the sum must equal scoring the whole continuation in one go."""
    text = "The chairman of the committee said the plan would reduce traffic in the city."
    (w,) = lm.analyse([text])
    p = w.boundary(text.index(" of"))
    left = lm.encode(" of the board")
    rights = [lm.encode(" said the plan would work."), lm.encode(" announced a new plan.")]
    ((ext, left_lp),) = lm.extend_many([(w, p, left)])
    assert ext.ids == w.ids[:p] + left and len(ext.cache[0][0][0, 0]) == len(ext.ids)
    on_top = lm.score_many([(ext, len(ext.ids), r) for r in rights])
    whole = lm.score_many([(w, p, left + r) for r in rights])
    for a, b in zip(on_top, whole):
        assert abs(left_lp + a - b) < 1e-2


def test_candidates_over_the_margin_cap_are_not_scored(lm):
    """``restore_max_margin`` skips the LM work for candidates the acceptance could not take."""
    from unspin.restore import restore_with_stats

    text = ("The chairman of the committee said the procedure would diminish traffic in the metropolis, and "
            "the occupants of the town were glad to hear it, because the streets were very full every morning.")
    config = Config(tier="fast", spun_threshold=0.0)  # called spun: word swaps are considered
    everything, capped = [], []
    restore_with_stats(text, config, lm=lm, trace=everything, decide=False)
    restore_with_stats(text, config.replace(restore_max_margin=-1.0), lm=lm, trace=capped, decide=False)
    assert everything and not capped


def test_cli_restore_json_diff_and_html(lm, tmp_path, capsys):
    from unspin.cli import main

    src = tmp_path / "in.txt"
    text = SPUN[0][0]
    src.write_text(text, encoding="utf-8")
    assert main(["restore", "--json", str(src)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"text", "changes"}
    assert apply_spans(text, [Span.from_dict(c) for c in out["changes"]]) == out["text"]
    assert main(["restore", "--diff", "--color", "never", str(src)]) == 0
    assert "[-and you can-]{+and+}" in capsys.readouterr().out
    page = tmp_path / "out.html"
    assert main(["restore", "--html", str(page), str(src)]) == 0
    assert "<ins" in page.read_text(encoding="utf-8")


def test_candidate_filters_need_no_model():
    """Inflections are not spinner swaps; a candidate never repeats its neighbour."""
    from unspin.restore import _neighbour_words, same_stem

    assert same_stem("separated", "separate") and same_stem("elders", "elder")
    assert not same_stem("elderly", "old") and not same_stem("fresh", "new")
    assert not same_stem("family unit", "family")
    text = "after the fresh new murder"
    start = text.index("fresh")
    assert _neighbour_words(text, start, start + len("fresh")) == {"the", "new"}


def test_inflected_words_get_inflected_candidates():
    """The thesaurus lists lemmas; a swapped plural or past form gets the candidate's same form."""
    from unspin.lexicons import thesaurus
    from unspin.restore import _inflect, inflected_candidates

    assert _inflect("area", "s") == "areas" and _inflect("carry", "ed") == "carried"
    assert _inflect("make", "ing") == "making" and _inflect("stop", "ed") == "stopped"
    lemma = next(w for w, c in sorted(thesaurus().items())
                 if w.isalpha() and len(w) > 4 and not w.endswith(("s", "e", "y")) and c and c[0][0].isalpha()
                 and w + "s" not in thesaurus() and _inflect(c[0][0], "s"))
    got = inflected_candidates(lemma + "s")
    assert got and got[0][0] == _inflect(thesaurus()[lemma][0][0], "s")
    assert "(+s)" in got[0][1]
    assert inflected_candidates(lemma) == []  # the lemma itself is the thesaurus's business


def test_restorer_adds_titles_and_inflected_forms_as_weak_sites():
    from unspin.lexicons import thesaurus
    from unspin.restore import EXTRA_SITE_CONFIDENCE, extra_spans

    assert thesaurus().get("chairman"), "the shipped thesaurus lists a synonym of 'chairman'"
    text = "Yesterday the Chairman Ortiz spoke. Chairman of nothing, he said. We met Rose Hill."
    got = extra_spans(text, [])
    assert [s.text for s in got] == ["Chairman"]  # before a name only; not sentence-initial
    assert got[0].start == text.index("Chairman") and got[0].confidence == EXTRA_SITE_CONFIDENCE
    assert got[0].rule.startswith("title:chairman->")
    # a word already explained by the detector is not added twice
    assert extra_spans(text, [Span(got[0].start, got[0].end, "Chairman", "substitution", "x", 0.5, "t")]) == []


def test_spelling_variants_are_not_candidates():
    from unspin.restore import spelling_variant

    assert spelling_variant("realisation", "realization") and spelling_variant("colour", "color")
    assert spelling_variant("centre", "center") and not spelling_variant("esteem", "respect")
    assert "realization" not in [c for c, _r in lexicon_candidates("realisation")]


# ---------------------------------------------------------------- the package's parts

def test_addresses_are_removed_only_from_texts_called_spun():
    """Issue 11: an e-mail address or a domain stays unless the fast tier calls the text spun
    with the anchor as evidence (an honest e-mail cites addresses, a report names sites)."""
    from unspin.restore import restore

    text = "Please write to the office at help@example.org before Friday and see example.org for more."
    spans = [_span(text, "help@example.org", "injected_anchor", "", 0.95, "anchor:email:embedded"),
             _span(text, "example.org for", "injected_anchor", "", 0.95, "anchor:domain:embedded")]
    spans[1] = Span(spans[1].start, spans[1].start + len("example.org"), "example.org", "injected_anchor", "",
                    0.95, "anchor:domain:embedded")
    for verdict in ("clean", "unsure", "not_applicable"):
        r = restore(text, report=Report(score=0.6, verdict=verdict, reason="", spans=spans))
        assert r.text == text and r.changes == [], verdict
    r = restore(text, report=Report(score=0.95, verdict="spun", reason="", spans=spans))
    _check_replay(text, r)
    assert "help@example.org" not in r.text and "example.org" not in r.text
    assert all(c.rule.endswith("; removed") for c in r.changes)


def test_a_cluster_gain_is_shared_not_credited_to_every_site():
    from unspin.restore.pipeline import split_gain

    shares = split_gain(9.0, [1.0, 2.0, 0.0])
    assert abs(sum(shares) - 9.0) < 1e-9
    assert shares[1] > shares[0] > shares[2] > 0
    assert split_gain(5.0, []) == []


def test_candidates_are_typed():
    from dataclasses import FrozenInstanceError

    from unspin.restore import Candidate

    c = Candidate("rich", "thesaurus:wealthy->rich", "lexicon", 2.0)
    assert c.with_margin(1.0).margin == 1.0 and c.margin == 2.0
    with pytest.raises(FrozenInstanceError):
        c.text = "poor"


def _acceptance_dict(**over):
    from unspin.restore.accept import FEATURES, FORMAT

    d = {"format": FORMAT, "features": list(FEATURES), "intercept": -3.0,
         "weights": {k: 0.0 for k in FEATURES}, "threshold": 0.7, "meta": {}}
    d["weights"].update(gain=0.5, rel1=1.0)
    d.update(over)
    return d


def test_acceptance_loader_validates_and_its_margin_is_the_threshold():
    from unspin.errors import UnspinError
    from unspin.restore import Candidate
    from unspin.restore.accept import Acceptance, features

    acc = Acceptance.from_dict(_acceptance_dict())
    f = features("wealthy", Candidate("rich", "r", "lexicon"), 0.5, True, False)
    m = acc.margin(f)
    assert abs(acc.probability({**f, "gain": m}) - 0.7) < 1e-9
    assert acc.probability({**f, "gain": m + 1}) > 0.7 > acc.probability({**f, "gain": m - 1})
    bad = [_acceptance_dict(format=99), _acceptance_dict(threshold=1.5), _acceptance_dict(features=["gain"]),
           _acceptance_dict(weights={**_acceptance_dict()["weights"], "gain": -1.0}), _acceptance_dict(intercept="x")]
    for d in bad:
        with pytest.raises(UnspinError, match="fit_accept"):
            Acceptance.from_dict(d)



def test_acceptance_fitted_before_the_observed_word_features_still_loads():
    from unspin.restore import Candidate
    from unspin.restore.accept import FEATURES, OPTIONAL_FEATURES, Acceptance, features

    old = _acceptance_dict(features=[k for k in FEATURES if k not in OPTIONAL_FEATURES])
    old["weights"] = {k: v for k, v in old["weights"].items() if k not in OPTIONAL_FEATURES}
    acc = Acceptance.from_dict(old)
    assert all(acc.weights[k] == 0.0 for k in OPTIONAL_FEATURES)
    # the new features read the observed word: its surprise from the left and its frequency
    f = features("wealthy", Candidate("rich", "r", "lexicon", obs_lp=-7.5), 0.5, True, False)
    assert f["obs_surprise"] == 7.5 and f["obs_zipf"] > 3
    assert features("wealthy", Candidate("rich", "r", "lexicon", obs_lp=-80.0), 0.5, True, False)["obs_surprise"] == 20.0


def _reading(text: str, surprised: dict[str, float]):
    """A fake LM reading of ``text``: one token per word (with its leading space), each word
    at log-probability -1 except those in ``surprised``."""
    import re

    from unspin.lm import Window

    offs, lps = [], [0.0]
    for m in re.finditer(r"\s*\S+", text):
        offs.append((m.start(), m.end()))
        lps.append(-surprised.get(m.group(0).strip(' ".'), 1.0))
    return Window(text, list(range(len(offs) + 1)), offs, lps)


def test_surprising_lower_case_content_words_become_sites():
    from unspin.restore.sites import EXTRA_SITE_CONFIDENCE, Site, surprise_blocked, surprise_sites

    text = 'The committee will diminish the traffic in "the metropolis" soon, Smith said.'
    win = _reading(text, {"diminish": 8.0, "metropolis": 9.0, "The": 9.0, "will": 9.0, "Smith": 9.0, "soon,": 2.0})
    free = surprise_blocked(text, [])
    found = surprise_sites(text, 0, win, free, Config())
    assert [s.observed for s, _t in found] == ["diminish"]  # not quoted, capitalised or a function word
    site, t = found[0]
    assert site.kind == "substitution" and site.rule.startswith("surprise:lm") and site.confidence == EXTRA_SITE_CONFIDENCE
    assert win.offsets[t - 1][0] == text.index(" diminish")  # the continuation starts at its space
    assert surprise_sites(text, 0, win, free, Config(restore_surprise_nats=9.0)) == []  # not surprising enough
    assert surprise_sites(text, 0, win, free, Config(restore_surprise_nats=0.0)) == []  # off
    taken = [Site(text.index("diminish"), text.index("diminish") + 8, "diminish", "substitution", "r", 0.5)]
    assert surprise_sites(text, 0, win, surprise_blocked(text, taken), Config()) == []  # already a site


def test_shipped_acceptance_has_a_pedigree():
    from unspin.restore import load_acceptance

    acc = load_acceptance()
    for key in ("script", "data_sha256", "split", "held_out"):
        assert acc.meta.get(key), key


def test_report_cache_runs_the_detector_once_per_text_and_persists(monkeypatch, tmp_path):
    from eval.real_pairs import ReportCache
    from unspin.restore import pipeline

    calls = []

    def fake(text, config):
        calls.append(text)
        return f"report of {text}"

    monkeypatch.setattr(pipeline, "_report_for", fake)
    path = tmp_path / "reports.pkl"
    c = ReportCache(path)
    assert c.get("one text") == "report of one text"
    assert c.get("one text") == "report of one text"
    assert c.get("another") == "report of another"
    assert calls == ["one text", "another"]
    again = ReportCache(path)  # read back from the file: the detector is not run again
    assert again.get("one text") == "report of one text" and calls == ["one text", "another"]
    assert ReportCache(None).get("one text") == "report of one text" and len(calls) == 3
