"""The spinner emulator (eval/spinner.py): replay invariant, determinism, every family acts.

Most cases run on a small hand-made substitution table, so they pass without the shared
data; the cases that use the real thesaurus and tortured-phrase files skip when
/work/shared/data (or $UNSPIN_SHARED_DATA) is absent.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# eval/ is a sibling of the package, not installed with it.
_REPO = Path(__file__).resolve().parent.parent
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from eval import spinner  # noqa: E402
from eval.corpora import Doc, data_dir, hash_split, windows  # noqa: E402
from eval.spinner import Resources, families, plant_tortured, spin  # noqa: E402
from unspin.report import KINDS, apply_spans  # noqa: E402

SENTENCES = [
    "The committee met in the old hall on Tuesday, and the members agreed that the budget "
    "was too small for the work they had planned.",
    "A family of four can find a quiet house near the river if they look carefully and ask "
    "the neighbours about prices.",
    "Researchers used deep learning and artificial intelligence to study breast cancer "
    "images, and the results were important for many doctors in the US.",
    "She said she would send the report to us before the meeting, but it arrived late.",
    "Gardens need water.\n\nIn dry summers the lawn turns brown, so people often choose "
    "plants that grow well without much rain; this saves money and time.",
    "“Don’t worry,” he said. “We’ll fix the roof next week — it’s only a small leak.”",
]

TINY = Resources(
    thesauri={
        "tiny": {
            "committee": ("commission", "citizens committee"),
            "hall": ("antechamber", "manse", "dormitory"),
            "agree": ("concur", "hold"),
            "budget": ("budget plan", "fund"),
            "small": ("modest", "little", "diminished"),
            "work": ("employment", "piece of work"),
            "family": ("family unit", "kin"),
            "house": ("home", "firm"),
            "river": ("watercourse",),
            "price": ("terms", "damage"),
            "result": ("consequence", "outcome"),
            "image": ("icon", "persona"),
            "doctor": ("physician", "doc"),
            "report": ("study", "account"),
            "meeting": ("encounter", "get together"),
            "water": ("urine", "body of water"),
            "summer": ("summertime",),
            "lawn": ("yard",),
            "brown": ("embrown", "chocolate-brown"),
            "plant": ("flora", "industrial plant"),
            "money": ("medium of exchange",),
            "roof": ("cap",),
            "leak": ("news leak", "escape"),
            "worry": ("fear", "headache"),
            "send": ("direct", "mail"),
            "grow": ("originate", "mature"),
            "study": ("survey", "work"),
        }
    },
    tortured={
        "deep learning": (("profound learning", "tp-test-1"),),
        "artificial intelligence": (("counterfeit consciousness", "tp-test-2"),),
        "breast cancer": (("bosom peril", "tp-test-3"),),
    },
)

HAVE_SHARED = (data_dir() / "synonyms" / "mythes_en_US_thesaurus.txt").is_file() and (
    data_dir() / "tortured_phrases" / "tortured_phrases.jsonl"
).is_file()
needs_shared = pytest.mark.skipif(
    not HAVE_SHARED, reason=f"shared thesaurus/tortured-phrase files not found under {data_dir()}"
)


def _check_spans(original: str, spun) -> None:
    assert apply_spans(spun.text, spun.changes) == original
    assert spun.restore() == original
    last = -1
    for c in spun.changes:
        assert spun.text[c.start:c.end] == c.text
        assert c.kind in KINDS
        assert c.original is not None and c.original != c.text
        assert c.start >= last, "changes must be sorted and not overlap"
        last = c.end
        assert c.rule.split(":")[0].split("/")[0] in set(families()) | {"injected", "tortured",
                                                                         "function_words", "thesaurus"}


@pytest.mark.parametrize("family", families())
def test_replay_invariant_many_seeds(family):
    for text in SENTENCES:
        for seed in range(40):
            spun = spin(text, family, seed=seed, resources=TINY)
            _check_spans(text, spun)


@pytest.mark.parametrize("family", families())
def test_replay_invariant_at_full_rate(family):
    for text in SENTENCES:
        spun = spin(text, family, rate=1.0, seed=3, resources=TINY)
        _check_spans(text, spun)


@pytest.mark.parametrize("family", families())
def test_deterministic_per_seed(family):
    text = " ".join(SENTENCES)
    a = spin(text, family, seed=11, resources=TINY)
    b = spin(text, family, seed=11, resources=TINY)
    assert (a.text, a.changes, a.rate) == (b.text, b.changes, b.rate)
    outputs = {spin(text, family, seed=s, resources=TINY).text for s in range(8)}
    assert len(outputs) > 1, "different seeds should give different spins"


@pytest.mark.parametrize("family", families())
def test_each_family_changes_something(family):
    for text in SENTENCES:
        spun = spin(text, family, rate=0.05, seed=0, resources=TINY)
        assert spun.changes, f"{family} left {text[:30]!r} unchanged"
        assert spun.text != text


def test_families_leave_their_mark():
    text = SENTENCES[2]
    kinds = {f: {c.kind for c in spin(text, f, rate=1.0, seed=1, resources=TINY).changes} for f in families()}
    assert "signature" in kinds["function_words"]
    assert kinds["thesaurus"] == {"substitution"}
    assert "tortured_phrase" in kinds["tortured"]
    assert "injected_anchor" in kinds["injected"]


def test_function_words_table_examples():
    spun = spin("Cats and dogs.", "function_words", rate=1.0, seed=0, resources=TINY)
    assert spun.text in {"Cats and you may dogs.", "Cats and you can dogs.",
                         "Cats and you will dogs.", "Cats and also dogs."}
    spun = spin("Made in the US today.", "function_words", rate=1.0, seed=0, resources=TINY)
    assert "All of us" in spun.text
    # Names stay: "New" in "New Zealand" is capitalised mid-sentence.
    spun = spin("They moved to New Zealand.", "function_words", rate=1.0, seed=0, resources=TINY)
    assert "New Zealand" in spun.text


def test_thesaurus_keeps_names_numbers_and_capitals():
    text = "Then Brown met the Committee in 1999 at the hall. Hall prices rose."
    for seed in range(20):
        spun = spin(text, "thesaurus", rate=1.0, seed=seed, resources=TINY)
        assert "Brown" in spun.text and "Committee" in spun.text and "1999" in spun.text
        for c in spun.changes:
            if c.original == "Hall":  # sentence-initial: swapped, and capitalised
                assert c.text[0].isupper()


def test_thesaurus_inflects_and_uses_phrases():
    spun = spin("The prices of houses.", "thesaurus", rate=1.0, seed=0, resources=TINY)
    swapped = {c.original: c.text for c in spun.changes}
    assert swapped["prices"] in {"terms", "damages"}
    assert swapped["houses"] in {"homes", "firms"}
    spun = spin("My family.", "thesaurus", rate=1.0, seed=0, resources=TINY)
    assert spun.text in {"My family unit.", "My kin."}


def test_injected_anchor_is_deleted_on_replay():
    text = SENTENCES[0]
    for seed in range(20):
        spun = spin(text, "injected", seed=seed, resources=TINY)
        anchors = [c for c in spun.changes if c.kind in ("injected_anchor", "foreign_fragment")]
        assert anchors and all(c.original == "" for c in anchors)
        assert not spun.text.startswith(anchors[0].text), "anchors go mid-sentence"


def test_plant_tortured_replaces_one_term_per_sentence():
    out = plant_tortured(SENTENCES, n=5, seed=0, resources=TINY)
    assert len(out) == 1  # only one sentence holds a listed term
    (p,) = out
    assert p.source == SENTENCES[2]
    assert len(p.changes) == 1 and p.changes[0].kind == "tortured_phrase"
    assert apply_spans(p.text, p.changes) == p.source


def test_unknown_family_and_bad_rate():
    with pytest.raises(ValueError, match="unknown spinner family"):
        spin("text", "nope", resources=TINY)
    with pytest.raises(ValueError, match="rate"):
        spin("text", "thesaurus", rate=1.5, resources=TINY)


def test_windows_split_by_document_and_respect_bounds():
    para = " ".join(["word"] * 50)
    doc = Doc("d1", "\n\n".join([para] * 5), "x", "g", "test")
    ws = windows([doc], min_words=80, max_words=120)
    assert ws and all(80 <= w.n_words <= 120 for w in ws)
    assert all(w.split == "test" and w.id.startswith("d1#w") for w in ws)
    assert windows([Doc("d2", "too short", "x", "g", "dev")]) == []


def test_hash_split_is_stable():
    assert hash_split("n01001") == hash_split("n01001")
    counts = {s: 0 for s in ("train", "dev", "test")}
    for k in range(2000):
        counts[hash_split(f"doc{k}")] += 1
    assert 0.65 < counts["train"] / 2000 < 0.75 and counts["test"] > 200


@needs_shared
@pytest.mark.parametrize("family", families())
def test_real_resources_replay_and_change(family):
    res = spinner.load_resources()
    for text in SENTENCES:
        for seed in range(10):
            spun = spin(text, family, seed=seed, resources=res)
            _check_spans(text, spun)
            assert spun.changes


@needs_shared
def test_real_tortured_list_has_known_pairs():
    res = spinner.load_resources()
    assert "profound learning" in res.tortured_options["deep learning"]
    assert "counterfeit consciousness" in res.tortured_options["artificial intelligence"]
    # Names and acronyms never come out of the thesaurus.
    assert all(s == s.lower() for s in res.thesauri["wordnet"]["president"])


# --- the harness's own arithmetic (eval/run_detect.py) ------------------------------------


def test_detect_metrics_recall_at_1pct_fpr():
    pytest.importorskip("sklearn")
    from eval.run_detect import Item, metrics

    neg = [Item(f"n{i}", "", 0, "clean", "s", "g", score=i / 200, verdict="clean") for i in range(200)]
    neg[-1].verdict = "spun"  # score 0.995: the single worst clean text
    pos = [Item(f"p{i}", "", 1, "f", "s", "g", score=s, verdict="spun" if (s or 0) >= 0.8 else "unsure")
           for i, s in enumerate([0.999, 0.996, 0.99, 0.5, None])]
    m = metrics(pos, neg)
    # 1% of 200 = 2 clean texts may pass: threshold is the third-highest clean score (0.985).
    assert m["threshold_1pct_fpr"] == pytest.approx(0.985)
    assert m["recall_at_1pct_fpr"] == pytest.approx(3 / 5)
    assert m["fpr_spun_verdict"] == pytest.approx(1 / 200)
    assert m["recall_spun_verdict"] == pytest.approx(3 / 5)
    assert 0.5 < m["roc_auc"] < 1.0  # the None (not applicable) counts as the lowest score


def test_eval_md_section_is_replaced_not_duplicated(tmp_path):
    pytest.importorskip("sklearn")
    from eval.run_detect import update_eval_md

    p = tmp_path / "EVAL.md"
    p.write_text("# Evaluation\n\n## Detection\n\nold figures\n\n## Restoration\n\nkeep me\n")
    update_eval_md("## Detection\n\nnew figures\n", p)
    text = p.read_text()
    assert "new figures" in text and "old figures" not in text
    assert text.count("## Detection") == 1 and "## Restoration\n\nkeep me" in text
    q = tmp_path / "NEW.md"
    update_eval_md("## Detection\n\nfirst\n", q)
    assert q.read_text().startswith("# Evaluation\n\n## Detection")
