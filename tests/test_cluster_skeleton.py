"""The skeleton fingerprint (frame words, punctuation, names; one placeholder per run of
content words) and the skeleton link rule. Every text here was written by the unspin
developers."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("rensa", reason="clustering needs rensa: pip install 'unspin[cluster]'")

from unspin.cluster import ClusterOptions, cluster_texts  # noqa: E402
from unspin.cluster.fingerprint import canonical_hashes  # noqa: E402
from unspin.cluster.skeleton import pack, reference_tokens, skeleton, unpack  # noqa: E402
from unspin.cluster.tokens import document_tokens  # noqa: E402
from unspin.cluster.verify import containment, link  # noqa: E402

ORIGINAL = (
    "Asthma is a long-term condition of the airways in the lungs. The airways become inflamed and narrow, "
    "and the muscles around them tighten when something triggers the symptoms. This makes it hard to breathe "
    "and may cause coughing, wheezing, chest tightness and shortness of breath. In the United Kingdom about "
    "5.4 million people receive treatment for it, and most of them use an inhaler every day. There is no cure, "
    "but with the right treatment most people with the condition can lead normal and active lives."
)
# A heavy word-for-word rewrite, most content words outside any thesaurus chain (the kind of
# rewrite paper mills and spinbot pages print).
HEAVY_SPIN = (
    "Asthma is a drawn-out ailment of the air channels in the chest. The air channels become swollen and tight, "
    "and the sinews around them contract when something sets off the indications. This makes it difficult to inhale "
    "and may bring about hacking, rattling, bosom snugness and windedness of wind. In the United Kingdom about "
    "5.4 million individuals get care for it, and the majority of them utilize a puffer each day. There is no fix, "
    "but with the correct consideration most individuals with the sickness can carry on typical and dynamic existences."
)
# An honest page on the same topic, in its own words and the same plain style.
SAME_STYLE = (
    "Asthma affects people of every age, but it often starts in childhood. When you have asthma, your airways "
    "react to things such as smoke, dust, cold air or a cold, and it becomes harder to get air in and out. "
    "Doctors in the United Kingdom usually give two kinds of inhaler: one to use every day to calm the airways, "
    "and one to carry for sudden attacks. Keep a written plan, know your triggers, and see your nurse once a "
    "year to check that the treatment still works for you."
)
# Limitation, not tested as a pass: a page that copies another page's frame word for word with
# other content words (a template filled twice) aligns like a spin; EVAL.md says so.


def test_a_one_for_two_swap_leaves_the_skeleton_unchanged():
    a, ma = skeleton("The decentralized control of each currency works through a blockchain, which is a ledger.")
    b, mb = skeleton("The decentralised management of every cash works thru a blockchain, which is a public ledger.")
    assert a.tolist() != [] and len(a) == len(ma)
    # "each" -> "every" and "through" -> "thru" change frame words; the rest holds
    assert a[:3].tolist() == b[:3].tolist() and a[-6:].tolist() == b[-6:].tolist()


def test_pack_round_trips_and_a_plain_array_has_no_skeleton():
    text = ORIGINAL
    c, s, m = unpack(document_tokens(text))
    assert np.array_equal(c, canonical_hashes(text))
    s2, m2 = skeleton(text)
    assert np.array_equal(s, s2) and np.array_equal(m, m2)
    plain = canonical_hashes(text)
    c, s, m = unpack(plain)
    assert np.array_equal(c, plain) and len(s) == 0 and len(m) == 0
    assert np.array_equal(unpack(pack(plain, s2, m2))[1], s2)


def test_a_heavy_spin_is_linked_on_its_skeleton_and_a_same_style_text_is_not():
    opts = ClusterOptions()
    a, b, c = (document_tokens(t) for t in (ORIGINAL, HEAVY_SPIN, SAME_STYLE))
    # canonical containment alone misses the heavy spin
    assert containment(unpack(a)[0], unpack(b)[0]) < opts.threshold
    assert link(a, b, opts) is not None
    assert link(a, c, opts) is None and link(b, c, opts) is None
    # without the skeleton, the heavy spin is not linked
    assert link(a, b, opts.replace(skeleton_shingle=0)) is None


def test_heavy_spin_clusters_with_its_original_as_source():
    marks = cluster_texts([ORIGINAL, HEAVY_SPIN, SAME_STYLE])
    assert marks[1]["role"] == "copy" and marks[1]["source"] == 0
    assert marks[2]["role"] == "unique"
