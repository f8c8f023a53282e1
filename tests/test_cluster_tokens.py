"""The one-pass vectorised document tokens (unspin.cluster.tokens) against the reference
scans (canonical_hashes, skeleton, canonical_forms + stats), bit for bit. Every text here was
written by the unspin developers or is generated."""

from __future__ import annotations

import random

import numpy as np
import pytest

pytest.importorskip("rensa", reason="clustering needs rensa: pip install 'unspin[cluster]'")

import unspin.cluster.tokens as tokens_mod  # noqa: E402
from unspin.cluster.fingerprint import canonical_forms, stats  # noqa: E402
from unspin.cluster.skeleton import reference_tokens  # noqa: E402
from unspin.cluster.tokens import document_tokens, document_tokens_and_stats, document_tokens_many  # noqa: E402

TEXTS = [
    "",
    "   \n\n  ",
    "The Council in Leeds voted 7 to 2 on a metropolis plan. It said: “we will build 300 homes” (by 2030).",
    "Asthma is a long-term condition of the airways; the muscles around them tighten.\nIn the United Kingdom "
    "about 5.4 million people receive treatment, and you may brand-new inhalers you to definitely help.",
    "Contact John.Smith@mail.co.uk or visit https://brand-new.example.com/path?x=1,2. See www.Example.org.",
    "1john@x.org wrote @handle on 3rd May; rock'n'roll e.g. U.S. ²³ Ⅻ a_b .x@y.z",
    "AFTER A FULL STOP. 12 Capitalised words follow numbers. Then: Names like Paris, Rome and Oslo.",
    "a " * 50 + "X. " * 20,
]
WORDS = ["https://brand-new.com/you?x=1,2.", "www.Example.org.", "John.Smith@mail.co.uk", "1john@x.org", "@handle",
         "Visit", "the", "Council", "3rd", "e.g.", "U.S.", "(see", "2010).", "you", "to", "definitely", "brand-new",
         ":", "\n", "“quoted”", "rock'n'roll", "http://x.y/", ".x@y.z", "a_b@c.d", "metropolis", "Construct", "bosom",
         "alternatives", "tuberculosis", ";", ",", "Madrid.", "4.2", "million", "’s", "isn't"]


def _generated(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return [" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 60))) for _ in range(n)]


def _check(texts):
    got = document_tokens_many(texts)
    with_stats = document_tokens_and_stats(texts)
    for text, g, (p, fixed, swapped) in zip(texts, got, with_stats):
        ref = reference_tokens(text)
        assert np.array_equal(g, ref), text
        assert np.array_equal(p, ref), text
        ref_fixed, ref_swapped = stats(canonical_forms(text), text)
        assert fixed == ref_fixed and swapped == pytest.approx(ref_swapped, abs=1e-12), text
        assert np.array_equal(document_tokens(text), ref)


def test_one_pass_tokens_equal_the_reference_scans():
    _check(TEXTS)
    _check(_generated(400, 1))


def test_batches_and_a_small_vocabulary_give_the_same_arrays(monkeypatch):
    texts = TEXTS + _generated(300, 2)
    random.Random(3).shuffle(texts)
    monkeypatch.setattr(tokens_mod, "MAX_VOCAB", 40)  # emptied and refilled many times
    for k in range(0, len(texts), 37):
        _check(texts[k: k + 37])
