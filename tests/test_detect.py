"""The fast detector: each evidence kind, negatives that must stay clean, the report shape.

The texts here are written by the unspin developers for these tests.
"""

from __future__ import annotations

import pytest

import unspin
from unspin import Config, Span
from unspin.report import KINDS, VERDICTS

SPUN_FUNCTION = (
    "The committee met on Monday so you're able to discuss brand new budget, and you may the fresh "
    "members asked of a lot questions about the plan. Officials said you to definitely the costs "
    "would rise and you can the schedule would slip. Along with, the chairman promised a review."
)


def kinds_and_rules(report):
    return {(s.kind, s.rule) for s in report.spans}


def test_signature_spans_carry_original_and_rule():
    r = unspin.check(SPUN_FUNCTION)
    sig = {s.text.lower(): s for s in r.spans if s.kind == "signature"}
    assert sig["and you may"].original == "and"
    assert sig["and you may"].rule == "signature:and-you-may"
    assert sig["you to definitely"].original == "that"
    assert sig["of a lot"].original == "many"
    assert "brand new" in sig
    for s in r.spans:
        assert SPUN_FUNCTION[s.start:s.end] == s.text
        assert 0.0 <= s.confidence <= 1.0


def test_function_word_spin_is_spun():
    r = unspin.check(SPUN_FUNCTION)
    assert r.verdict == "spun", r.reason
    assert r.score >= 0.8


@pytest.mark.parametrize(
    "text",
    [
        # honest "and you may" / "and you can": a verb follows
        "Bring your passport to the desk, and you may leave your bags with the porter while you wait. "
        "Call us ahead of time and you can skip the queue at the gate on busy mornings.",
        # honest "brand new": after a determiner or a copula
        "She drove a brand new car to the wedding, and the seats still smelled of the factory. "
        "Everything in the flat looked brand new after the painters had finished their work.",
        # honest "a keen": usual partners of keen
        "He has a keen interest in birds and a keen eye for detail, which makes him a fine guide "
        "on the early walks through the marsh every Saturday in spring.",
    ],
)
def test_honest_uses_of_signature_words_do_not_fire(text):
    r = unspin.check(text)
    assert not [s for s in r.spans if s.kind == "signature"], r.spans
    assert r.verdict == "clean", r.reason


def test_tortured_phrase_found_with_original():
    text = (
        "In this paper we propose a novel framework based on profound learning and counterfeit "
        "consciousness for the early detection of bosom peril in screening images from clinics."
    )
    r = unspin.check(text)
    tp = {s.text.lower(): s for s in r.spans if s.kind == "tortured_phrase"}
    assert tp["counterfeit consciousness"].original == "artificial intelligence"
    assert tp["profound learning"].original == "deep learning"
    assert all(s.rule.startswith("tortured:tp") for s in tp.values())
    assert r.verdict in ("spun", "unsure")


def test_honest_scientific_wording_is_not_a_tortured_phrase():
    text = (
        "We train a deep learning model for breast cancer screening and compare it with classical "
        "artificial intelligence methods on three public data sets from European hospitals."
    )
    r = unspin.check(text)
    assert not [s for s in r.spans if s.kind == "tortured_phrase"]
    assert r.verdict == "clean", r.reason


def test_injected_anchor_and_foreign_fragment():
    text = (
        "The talks focused on trade between the two countries and you cheapbrides-online.net kvinner "
        "may the long border that both governments want to reopen before the harvest season."
    )
    r = unspin.check(text)
    anchors = [s for s in r.spans if s.kind == "injected_anchor"]
    foreign = [s for s in r.spans if s.kind == "foreign_fragment"]
    assert anchors and anchors[0].text == "cheapbrides-online.net"
    assert anchors[0].original == "" and anchors[0].rule == "anchor:domain:embedded"
    assert foreign and foreign[0].text == "kvinner" and foreign[0].rule.startswith("foreign:nb")
    # the signature still matches across the injected words
    assert any(s.kind == "signature" and s.original == "and" for s in r.spans)


def test_an_address_people_are_sent_to_is_not_an_injection():
    text = (
        "For the full timetable and the list of stops, visit example.org before you travel. "
        "Buses run every twenty minutes on weekdays and every hour on Sundays and holidays."
    )
    r = unspin.check(text)
    assert not [s for s in r.spans if s.kind == "injected_anchor"], r.spans
    assert r.verdict == "clean", r.reason


@pytest.mark.parametrize("text", [
    # a site named as a name, capitalised or as the noun of a noun phrase
    "My aunt met her husband on Match.com, which she still recommends to friends.",
    "A spokesman for the eharmony.com dating service declined to comment on the figures.",
    # a missing space after a full stop is not a domain
    "The menu was long and the waiter was patient with our choosing.In the end we shared a pizza.",
    # contact details and a journal header
    "Correspondence: Department of Physics, Toronto\nE-mail: jane.doe@example.ca\nReceived: 2020",
    "Annals of Applied Widgets ISSN 1234-5678 www.example-journal.com Widget Research Society",
    # English compounds are not URL slugs
    "The new router guards against man-in-the-middle tricks on hotel networks.",
    "The forty-one-year-old pilot landed the plane on the frozen lake.",
    # one loanword or dialect word is not a foreign fragment
    "The chef called the dish a simple soupe and served it with bread.",
    # boilerplate in capitals
    "THESE TERMS APPLY TO YOUR ACCESS TO AND USE OF WWW.EXAMPLE.COM AND OUR RELATED SERVICES.",
])
def test_honest_addresses_names_and_loanwords_are_not_injections(text):
    r = unspin.check(text, Config(tier="fast"))
    assert not [s for s in r.spans if s.kind in ("injected_anchor", "foreign_fragment")], r.spans


def test_machine_made_url_at_the_end_of_a_stub_is_an_anchor():
    text = ("Solar panels turn sunlight directly into usable power through photovoltaic cells "
            "https://rooftop-solar123456.example-wiki.com/2447991/harnessing_the_sun")
    r = unspin.check(text, Config(tier="fast"))
    assert [s for s in r.spans if s.kind == "injected_anchor" and s.rule == "anchor:url:machine-made"], r.spans


def test_foreign_keyword_with_words_the_lists_miss():
    text = ("Most students plan each section of the report comprar ensayos baratos before they "
            "start writing the first draft.")
    r = unspin.check(text, Config(tier="fast"))
    frag = [s for s in r.spans if s.kind == "foreign_fragment"]
    assert frag and frag[0].text == "comprar ensayos baratos", r.spans


def test_substitution_from_thesaurus_multiword_lemma():
    text = (
        "He told reporters that his family unit members had waited outside the court for hours "
        "and that they would appeal the ruling as soon as the lawyers had read it in full."
    )
    r = unspin.check(text)
    subs = [s for s in r.spans if s.kind == "substitution" and s.text == "family unit"]
    assert subs and subs[0].original == "family"
    assert subs[0].rule == "thesaurus:family unit->family"


def test_clean_example_is_clean_and_spun_example_is_spun(examples):
    clean = unspin.check((examples / "clean-council-news.txt").read_text())
    spun = unspin.check((examples / "spun-council-news.txt").read_text())
    assert clean.verdict == "clean", clean.reason
    assert spun.verdict == "spun", spun.reason
    assert spun.score > clean.score


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("text", ["", "   \n\t  "])
def test_empty_is_not_applicable(text):
    r = unspin.check(text)
    assert r.verdict == "not_applicable" and r.score is None
    assert "empty" in r.reason


def test_too_short_is_not_applicable():
    r = unspin.check("Hello there, friend.")
    assert r.verdict == "not_applicable" and "too short" in r.reason


def test_non_english_names_the_language():
    text = (
        "Die Stadtverwaltung hat am Dienstag beschlossen, entlang der Uferstraße einen geschützten "
        "Radweg zu bauen. Die Arbeiten sollen im Frühjahr beginnen und vor Jahresende fertig sein."
    )
    r = unspin.check(text)
    assert r.verdict == "not_applicable"
    assert "not English" in r.reason and "German" in r.reason
    assert r.language == "German"


def test_invalid_utf8_bytes_are_decoded_with_a_note():
    data = "The council voted to build a new bike lane along the river road this spring.".encode() + b"\xff\xfe"
    with pytest.warns(UserWarning):
        r = unspin.check(data)
    assert r.verdict != "not_applicable" or "UTF-8" in r.reason
    assert "not valid UTF-8" in r.reason


def test_binary_bytes_are_refused():
    with pytest.raises(unspin.InputError):
        unspin.check(b"\x00\x01\x02 binary \x00 data" * 20)


def test_wrong_type_is_an_input_error():
    with pytest.raises(unspin.InputError):
        unspin.check(12345)


def test_html_is_read_as_prose_with_offsets_into_the_markup():
    html = (
        "<html><head><style>p {color: red}</style></head><body><p>The committee met on Monday so "
        "you're able to discuss the budget, and you may the fresh members asked of a lot questions "
        "about the plan.</p><p>Officials said you to definitely costs would rise.</p></body></html>"
    )
    r = unspin.check(html)
    assert "HTML markup ignored" in r.reason
    sig = [s for s in r.spans if s.kind == "signature"]
    assert sig and all(html[s.start:s.end] == s.text for s in sig)
    assert not any("<" in s.text for s in r.spans)


def test_huge_input_is_cut_and_says_so():
    para = (SPUN_FUNCTION + "\n\n") * 50
    r = unspin.check(para, Config(max_chars=5000))
    assert "only the first 5,000" in r.reason
    assert all(s.end <= 5000 for s in r.spans)


# ----------------------------------------------------------------------------- shape


def test_report_dict_shape():
    d = unspin.check(SPUN_FUNCTION).to_dict()
    assert set(d) == {"score", "verdict", "reason", "spans"}
    assert d["verdict"] in VERDICTS
    for s in d["spans"]:
        assert set(s) == {"start", "end", "text", "kind", "original", "confidence", "rule"}
        assert s["kind"] in KINDS
        assert Span.from_dict(s).text == s["text"]


def test_thresholds_come_from_config(examples):
    text = (examples / "clean-council-news.txt").read_text()
    r = unspin.check(text)
    assert r.verdict == "clean"
    assert unspin.check(text, Config(clean_threshold=0.0, spun_threshold=r.score)).verdict == "spun"
    assert unspin.check(text, Config(clean_threshold=0.0, spun_threshold=r.score + 1e-6)).verdict == "unsure"


# ----------------------------------------------------------------------------- data files


def test_signature_lexicon_rejects_bad_header_and_unknown_guard():
    from unspin.signatures import parse_signatures, signatures

    with pytest.raises(unspin.UnspinError):
        parse_signatures("# something else\n")
    head = "# unspin-lexicon name=signatures format=1 source=x\n"
    with pytest.raises(unspin.UnspinError, match="unknown guard"):
        parse_signatures(head + "x\tand you may\tand\t0.9\tno_such_guard\tnote\n")
    assert len(signatures()) > 20 and len({s.id for s in signatures()}) == len(signatures())


def test_model_file_rejects_wrong_format_and_unknown_features():
    from unspin.scoring import model, parse_model

    with pytest.raises(unspin.UnspinError, match="format"):
        parse_model({"format": 99})
    good = {"format": 2, "features": ["sig_weight"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0, "lo": [0], "hi": [1],
            "thresholds": {"spun": 0.9, "clean": 0.5}}
    assert parse_model(good).score({"sig_weight": 0.0}) == 0.5
    with pytest.raises(unspin.UnspinError, match="unknown features"):
        parse_model({**good, "features": ["nope"]})
    with pytest.raises(unspin.UnspinError, match="thresholds"):
        parse_model({**good, "thresholds": {"spun": 0.4, "clean": 0.5}})
    with pytest.raises(unspin.UnspinError, match="thresholds"):
        parse_model({k: v for k, v in good.items() if k != "thresholds"})
    # the shipped file's pedigree: the real pages it was fitted on and its out-of-fold figures
    meta = model().meta
    assert len(meta["pages"]["corpus_sha256_12"]) == 12 and meta["script"].startswith("scripts/train_model.py")
    assert meta["oof"]["auc_long"] > 0.75 and meta["oof"]["clean_called_spun"] <= 0.01


def test_features_are_clipped_to_the_training_range():
    from unspin.scoring import parse_model

    m = parse_model({"format": 2, "features": ["sig_weight"], "mean": [0], "scale": [1], "coef": [1], "intercept": 0, "lo": [0], "hi": [2],
                     "thresholds": {"spun": 0.9, "clean": 0.5}})
    assert m.score({"sig_weight": 100.0}) == m.score({"sig_weight": 2.0})


@pytest.mark.parametrize(
    "spun,clean,rule",
    [
        ("Brides come from countries such as for example Ukraine and Poland and settle abroad within a year.",
         "Brides come from countries such as, for example, Ukraine and Poland and settle abroad within a year.",
         "signature:such-as-for-example"),
        ("These are the women whom are looking for a serious relationship with an honest man abroad.",
         "The woman whom the police arrested yesterday was released this morning without any charge.",
         "signature:whom-aux"),
        ("Most brides from the region are calm, and they try very beautiful and kind to everyone they meet.",
         "They try new recipes every weekend and they try hard to finish the plates before they leave.",
         "signature:try-adj"),
        ("Thus, which opportunity should be used to deepen the ties between the two neighbouring countries.",
         "Which opportunity should the two countries use to deepen their ties in the coming year?",
         "signature:which-statement"),
    ],
)
def test_function_word_signatures_fire_only_in_spun_context(spun, clean, rule):
    assert rule in {s.rule for s in unspin.check(spun).spans}
    assert rule not in {s.rule for s in unspin.check(clean).spans}


def test_restore_function_is_not_shadowed_by_its_module():
    import importlib

    import unspin.restore  # noqa: F401  (importing the submodule must not replace the function)

    importlib.import_module("unspin.restore")
    assert callable(unspin.restore)


def test_character_level_traces():
    text = (
        "We offer the {best|finest|greatest} service in town and our staff will {help|assist} you with "
        "every request. This p\u0430per studies light and plant growth in cold clim\u200bates over two seasons."
    )
    r = unspin.check(text)
    sig = {s.rule: s for s in r.spans if s.kind == "signature"}
    spintax = [s.original for s in r.spans if s.rule == "spintax:unresolved"]
    assert spintax == ["best", "help"]
    assert sig["homoglyph:latin-lookalike"].original == "paper"
    assert sig["invisible:U+200B"].original == ""
    restored = unspin.apply_spans(text, [s for s in r.spans if s.kind == "signature"])
    assert restored.startswith("We offer the best service") and "This paper studies" in restored and "climates" in restored
    assert r.verdict == "spun"


def test_character_level_negatives():
    text = (
        "The set {1, 2, 3} is finite, and the Greek letter \u03b1 names the first angle in the figure. "
        "Moscow is written \u041c\u043e\u0441\u043a\u0432\u0430 in Russian, and the talks there were long."
    )
    r = unspin.check(text)
    assert not [s for s in r.spans if s.kind == "signature"], r.spans


def test_whom_after_a_preposition_is_honest():
    text = "The rebels, most of whom were farmers, met the envoys, among whom were two bishops from the coast."
    assert not [s for s in unspin.check(text).spans if s.rule == "signature:whom-aux"]


def test_url_slug_needs_four_parts_and_a_capitalised_word_is_not_foreign():
    slug = unspin.check("They read about it at best-mail-order-brides-sites and then went home to their quiet farm.")
    assert any(s.rule.startswith("anchor:slug") for s in slug.spans)
    story = unspin.check("Derya held the neosilk-and-nanotube cable while the engineers argued about the launch window.")
    assert not [s for s in story.spans if s.kind in ("injected_anchor", "foreign_fragment")], story.spans


def test_foreign_fragment_in_mojibake_is_judged_as_written():
    from unspin.injected import foreign_language_of, unmojibake

    # UTF-8 read as Windows-1252, as spam fragments pasted from another site often arrive
    assert unmojibake("gÃ¼venilir") == "güvenilir"
    assert foreign_language_of("giriÅŸ") == "tr"
    # an English word in mojibake stays English, and plain words are untouched
    assert foreign_language_of("cafÃ©") is None and unmojibake("hello") == "hello"
    text = ("Most travellers compare the fares online gÃ¼venilir bahis giriÅŸ before they book "
            "a seat on the night train to the coast.")
    frag = [s for s in unspin.check(text, Config(tier="fast")).spans if s.kind == "foreign_fragment"]
    # the span covers the text as it stands, so it still replays
    assert frag and frag[0].text == "gÃ¼venilir bahis giriÅŸ" and frag[0].rule == "foreign:tr", frag
    clean = "We stopped at a small cafÃ© near the station and ordered coffee before the walk home."
    assert not [s for s in unspin.check(clean, Config(tier="fast")).spans if s.kind == "foreign_fragment"]
