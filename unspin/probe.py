"""The model tier: learned heads on the offline language model's hidden states.

Spun text reads wrong to a language model in a way the lexicons cannot enumerate: a
thesaurus word in a sense it never has there, a filler that breaks the clause. The model
tier reads a document once with the first :attr:`Weights.layers` layers of the language
model (the rest of the model is never run: a model cut after ``k`` of its 30 layers costs
``k/30`` of a full pass) and applies two small learned heads to those hidden states:

``document head``
    a logistic regression on the hidden states mean-pooled over the first
    :attr:`Weights.max_tokens` tokens, trained on real spun and hard clean web pages
    (``scripts/train_probe.py``; cross-validated by variant group and leave-one-family-out in
    EVAL.md), then calibrated (Platt) on out-of-fold scores. Its probability is the model
    tier's ``score``.
``token head``
    a per-token logistic regression (replaced-token detection in the ELECTRA sense) trained
    on synthetic swaps, where the emulator knows which words changed. Words it marks become
    ``substitution`` spans with ``rule="model:token-head"``, so the model tier shows which
    words look replaced, not just a number. ``original`` is ``None``: the head says a word
    looks swapped, not what it replaced (``unspin restore`` does that).

Both heads live in ``data/probe.json`` (format-versioned, with the script that fitted them,
the hash of the data they saw and their out-of-fold figures), read by :func:`weights`.

The encoder is built from the fast safetensors copy of the model (:mod:`unspin.models`)
with only the tensors it needs, so a scan worker holds about 100 MB, not the whole model.
"""

from __future__ import annotations

import functools
import json
import math
import threading
from dataclasses import dataclass, field
from importlib import resources

from .errors import MissingComponent, UnspinError, requires

FORMAT = 1
#: How the encoder computes: ``fp32``, ``bf16``, or dynamic int8 quantisation of the linear
#: layers (weights int8, activations quantised per call): ``int8`` all of them with one scale
#: per weight tensor, ``int8-pc`` one scale per output channel, ``int8-mlp`` / ``int8-mlp-pc``
#: only the MLP projections (2/3 of the FLOPs; attention stays fp32). The weights file names
#: the one its heads were fitted on.
DTYPES = ("fp32", "bf16", "int8", "int8-pc", "int8-mlp", "int8-mlp-pc")


def amx() -> bool:
    """True when torch can use the CPU's AMX tiles (bf16 matrix units): there bf16 runs about
    3x faster than fp32; without them (AVX-512 BF16 alone) it ran 0.6x (BENCHMARKS.md)."""
    torch = requires("torch", "lm")
    probe = getattr(torch.cpu, "_is_amx_tile_supported", None)
    try:
        return bool(probe and probe())
    except Exception:  # a private torch API: if it changes, take the safe path
        return False


def compute_dtype(dtype: str) -> str:
    """The number format the encoder runs in for heads fitted on ``dtype``. Heads fitted on
    bf16 features run in fp32 on a CPU without AMX, where bf16 is slower than fp32: on the
    real development pages a head fitted on either format scores the other's features as well
    as its own (out of fold, AUC 0.928 both ways, the same recall at 1% FPR; EVAL.md, cost
    table)."""
    if dtype == "bf16" and not amx():
        return "fp32"
    return dtype


@dataclass(frozen=True)
class Head:
    """A logistic head: ``sigmoid(coef . ((x - mean) / scale) + intercept)``."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    @property
    def dim(self) -> int:
        return len(self.coef)


@dataclass(frozen=True)
class Weights:
    """The model tier's fitted parameters (see the module docstring)."""

    #: Layers of the language model run (the encoder is cut after this many).
    layers: int
    #: Hidden-state layers pooled for the document head (each <= ``layers``; 0 = embeddings).
    doc_layers: tuple[int, ...]
    #: Tokens read per document (the rest of a long document is not read by this tier).
    max_tokens: int
    #: Whether the fast tier's logit is a feature of the document head (stacking).
    stack_fast: bool
    doc: Head
    #: Platt calibration of the document head's logit: p = sigmoid(a * z + b).
    platt: tuple[float, float]
    #: Hidden-state layer read by the token head.
    token_layer: int
    token: Head | None
    #: Token-head probability at or above which a word becomes a span.
    token_threshold: float
    #: Calibrated scores at or above which the verdict is ``spun``, and below which it is
    #: ``clean`` (set where 1% and 5% of clean development pages score, out of fold).
    spun_threshold: float = 0.5
    clean_threshold: float = 0.5
    #: How the encoder computes (one of :data:`DTYPES`); the heads were fitted on it.
    dtype: str = "fp32"
    meta: dict = field(default_factory=dict)


def _head(d: dict, dim: int, what: str) -> Head:
    h = Head(tuple(map(float, d["mean"])), tuple(map(float, d["scale"])), tuple(map(float, d["coef"])),
             float(d["intercept"]))
    if not (len(h.mean) == len(h.scale) == len(h.coef) == dim):
        raise UnspinError(f"probe weights: {what} head has the wrong size; rebuild with scripts/train_probe.py")
    return h


def parse_weights(data: dict, hidden: int | None = None) -> Weights:
    if data.get("format") != FORMAT:
        raise UnspinError(f"probe weights have format {data.get('format')!r}, expected {FORMAT}; "
                          "rebuild with scripts/train_probe.py")
    hidden = hidden or int(data["hidden_size"])
    layers = int(data["layers"])
    doc_layers = tuple(int(x) for x in data["doc_layers"])
    if not doc_layers or max(doc_layers) > layers or min(doc_layers) < 0:
        raise UnspinError("probe weights: doc_layers outside the encoder")
    stack = bool(data.get("stack_fast", False))
    doc = _head(data["doc"], hidden * len(doc_layers) + (1 if stack else 0), "document")
    token = _head(data["token"], hidden, "token") if data.get("token") else None
    tl = int(data.get("token_layer", layers))
    if tl > layers:
        raise UnspinError("probe weights: token_layer outside the encoder")
    a, b = data.get("platt", (1.0, 0.0))
    th = data.get("thresholds", {})
    spun_t, clean_t = float(th.get("spun", 0.5)), float(th.get("clean", 0.5))
    if not 0.0 <= clean_t <= spun_t <= 1.0:
        raise UnspinError("probe weights: thresholds must satisfy 0 <= clean <= spun <= 1")
    dtype = data.get("dtype", "fp32")
    if dtype not in DTYPES:
        raise UnspinError(f"probe weights: unknown dtype {dtype!r}")
    return Weights(layers, doc_layers, int(data["max_tokens"]), stack, doc, (float(a), float(b)), tl, token,
                   float(data.get("token_threshold", 0.9)), spun_t, clean_t, dtype, data.get("meta", {}))


@functools.cache
def weights() -> Weights:
    """The shipped weights (``unspin/data/probe.json``), validated once per process."""
    try:
        raw = resources.files("unspin").joinpath("data/probe.json").read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UnspinError("the model tier's weights are missing; rebuild them with: python scripts/train_probe.py") from None
    return parse_weights(json.loads(raw))


def available() -> bool:
    """True when the model tier can run here: torch and transformers import, the model is
    fetched. Cheap: nothing is loaded."""
    import importlib.util

    if importlib.util.find_spec("torch") is None or importlib.util.find_spec("transformers") is None:
        return False
    from .models import installed

    return installed()


# -- the encoder -----------------------------------------------------------------------

class Encoder:
    """The first ``layers`` layers of the language model, loaded alone, with its tokenizer.

    ``states(texts, max_tokens, keep)`` returns, per text, the hidden states after each layer
    in ``keep`` for its first ``max_tokens`` tokens (the start token excluded), with the
    tokens' character offsets. The final layer norm is not applied, so layer ``k`` here equals
    ``hidden_states[k]`` of the full model.
    """

    def __init__(self, layers: int, dtype: str = "fp32"):
        self.torch = torch = requires("torch", "lm")
        requires("transformers", "lm")
        safetensors = requires("safetensors", "lm")
        from .lm import START_TEXT, _threads
        from .models import locate

        _threads()
        loc = locate()
        if not loc.fast_ready():
            from .lm import load as load_lm

            load_lm()  # writes the fast copy on first use
        if dtype not in DTYPES:
            raise UnspinError(f"unknown probe dtype {dtype!r}; one of {', '.join(DTYPES)}")
        self.dtype = torch.bfloat16 if dtype == "bf16" else torch.float32
        cfg, model_cls = _config_and_class(loc.fast)
        if layers > cfg.num_hidden_layers:
            raise UnspinError(f"the model has {cfg.num_hidden_layers} layers; the probe wants {layers}")
        cfg.num_hidden_layers = layers
        with torch.device("meta"):
            body = model_cls(cfg)
        state = {}
        with safetensors.safe_open(str(loc.fast / "model.safetensors"), framework="pt") as f:
            for key in f.keys():
                if not key.startswith("model."):
                    continue
                name = key[len("model."):]
                if name.startswith("layers.") and int(name.split(".")[1]) >= layers:
                    continue
                if name.startswith("norm."):
                    continue
                state[name] = f.get_tensor(key).to(self.dtype)
        body.norm = torch.nn.Identity()
        missing, unexpected = body.load_state_dict(state, strict=False, assign=True)
        missing = [m for m in missing if "rotary" not in m]
        if missing or unexpected:
            raise UnspinError(f"the model file lacks tensors the probe needs: {missing[:3]} {unexpected[:3]}")
        # rotary buffers are not in the file: rebuild them for real
        body.rotary_emb = type(body.rotary_emb)(config=cfg)
        body.eval()
        if dtype.startswith("int8"):
            body = _quantize_int8(body, torch, dtype, layers)
        self.body = body
        self.layers = layers
        self.tokenizer = _tokenizer(loc.fast)
        self.start_id = self.tokenizer.token_to_id(START_TEXT)
        if self.start_id is None:
            self.start_id = 0
        self.hidden = cfg.hidden_size
        self.lock = threading.Lock()

    def encode(self, text: str, max_tokens: int) -> tuple[list[int], list[tuple[int, int]]]:
        # no token is longer than 64 characters here, so a cut keeps the first max_tokens intact
        # and a 2-million-character page is not tokenised whole
        enc = self.tokenizer.encode(text[: max_tokens * 64], add_special_tokens=False)
        return list(enc.ids[:max_tokens]), [tuple(o) for o in enc.offsets[:max_tokens]]

    def states(self, texts: list[str], max_tokens: int, keep: tuple[int, ...], batch_tokens: int = 2048):
        """Per text: (offsets, {layer: tensor [n, hidden] in float32})."""
        torch = self.torch
        enc = [self.encode(t, max_tokens) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(enc[i][0]))
        out: list = [None] * len(texts)
        i = 0
        while i < len(order):
            width = len(enc[order[i]][0]) + 1
            j = i + 1
            while j < len(order) and (len(enc[order[j]][0]) + 1) * (j - i + 1) <= batch_tokens:
                j += 1
            batch = order[i:j]
            width = max(len(enc[b][0]) for b in batch) + 1
            x = torch.full((len(batch), width), self.start_id, dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for r, b in enumerate(batch):
                ids = [self.start_id] + enc[b][0]
                x[r, : len(ids)] = torch.tensor(ids)
                mask[r, : len(ids)] = 1
            with self.lock, torch.inference_mode():
                res = self.body(input_ids=x, attention_mask=mask, output_hidden_states=True)
            hs = res.hidden_states
            for r, b in enumerate(batch):
                n = len(enc[b][0])
                out[b] = (enc[b][1], {k: hs[k][r, 1 : n + 1].float() for k in keep})
            i = j
        return out


def _config_and_class(path):
    """The model's config and body class. Llama-family models (the default SmolLM2) are built
    from their module directly: going through ``transformers.AutoModel`` imports dozens of
    modules and costs 5-10 s per process, more than the documents a worker reads in that time."""
    cfg_data = json.loads((path / "config.json").read_text(encoding="utf-8"))
    if cfg_data.get("model_type") == "llama":
        from transformers.models.llama.configuration_llama import LlamaConfig
        from transformers.models.llama.modeling_llama import LlamaModel

        return LlamaConfig.from_pretrained(str(path)), LlamaModel
    import transformers

    cfg = transformers.AutoConfig.from_pretrained(str(path))
    return cfg, transformers.AutoModel._model_mapping[type(cfg)]


def _tokenizer(path):
    """The fast tokenizer from ``tokenizer.json`` (the ``tokenizers`` library, which
    transformers' fast tokenizers wrap: same ids and offsets, none of the import cost)."""
    tokenizers = requires("tokenizers", "lm")
    return tokenizers.Tokenizer.from_file(str(path / "tokenizer.json"))


def _quantize_int8(body, torch, dtype: str = "int8", layers: int = 0):
    """Dynamic int8 quantisation of the linear layers (weights int8, activations quantised
    per call). ``dtype`` (see :data:`DTYPES`) says which layers and how the weights are
    scaled. The heads are fitted on features read the same way, so they see the same numbers
    at run time."""
    import warnings

    q = torch.ao.quantization
    qconfig = q.per_channel_dynamic_qconfig if dtype.endswith("-pc") else q.default_dynamic_qconfig
    if dtype.startswith("int8-mlp"):
        spec = {f"layers.{i}.mlp": qconfig for i in range(layers)}
    else:
        spec = {torch.nn.Linear: qconfig}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return q.quantize_dynamic(body, spec, dtype=torch.qint8)


@functools.lru_cache(maxsize=2)
def encoder(layers: int, dtype: str = "fp32") -> Encoder:
    """The process-wide encoder for a layer count (loaded on first use)."""
    return Encoder(layers, dtype)


# -- scoring ---------------------------------------------------------------------------

@dataclass
class TierResult:
    """The model tier's reading of one document."""

    #: Calibrated probability that the document was spun.
    score: float
    #: The document head's raw logit (before calibration).
    logit: float
    #: (start, end, probability) of each word the token head scores, in text offsets.
    words: list[tuple[int, int, float]]
    tokens_read: int
    #: The text as read (offsets in ``words`` point into it; it equals the input except that
    #: HTML is masked and surrogates replaced, which keep offsets).
    text: str = ""


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _logit(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def _apply(head: Head, x, torch):
    mean = torch.tensor(head.mean)
    scale = torch.tensor(head.scale)
    coef = torch.tensor(head.coef)
    return ((x - mean) / scale) @ coef + head.intercept


def word_spans(text: str, offsets, probs) -> list[tuple[int, int, float]]:
    """Token probabilities -> (start, end, max probability) per whitespace-delimited word."""
    out: list[tuple[int, int, float]] = []
    cur_s = cur_e = -1
    cur_p = 0.0
    for (s, e), p in zip(offsets, probs):
        if e <= s:
            continue
        # tokens carry their leading space: trim it so spans start on the word
        while s < e and text[s].isspace():
            s += 1
        if s >= e:
            continue
        if cur_s >= 0 and s == cur_e:
            cur_e, cur_p = e, max(cur_p, p)
            continue
        if cur_s >= 0:
            out.append((cur_s, cur_e, cur_p))
        cur_s, cur_e, cur_p = s, e, p
    if cur_s >= 0:
        out.append((cur_s, cur_e, cur_p))
    return out


def features_for(states: dict, w: Weights, n: int | None = None):
    """The document head's input from one document's layer states (first ``n`` tokens)."""
    torch = requires("torch", "lm")
    parts = []
    for k in w.doc_layers:
        h = states[k] if n is None else states[k][:n]
        parts.append(h.mean(0) if h.shape[0] else torch.zeros(h.shape[1]))
    return torch.cat(parts)


def read(texts: list[str], fast_scores: list[float | None] | None = None, w: Weights | None = None,
         dtype: str | None = None, evidence_tokens: int = 0) -> list[TierResult]:
    """Run the model tier over ``texts`` (one batched pass). ``fast_scores`` are the fast tier's
    scores, needed when the head stacks them. ``dtype`` forces the encoder's number format
    (default: :func:`compute_dtype` of the one the heads were fitted on). The document head reads the first
    ``w.max_tokens`` tokens; with ``evidence_tokens`` larger, the same pass reads that many so
    the token head marks words further on (the states of the first tokens do not change: the
    model is causal)."""
    w = w or weights()
    torch = requires("torch", "lm")
    enc = encoder(w.layers, dtype or compute_dtype(w.dtype))
    keep = tuple(sorted(set(w.doc_layers) | ({w.token_layer} if w.token else set())))
    states = enc.states(texts, max(w.max_tokens, evidence_tokens), keep)
    out = []
    for i, (offsets, st) in enumerate(states):
        x = features_for(st, w, w.max_tokens)
        if w.stack_fast:
            fs = fast_scores[i] if fast_scores else None
            x = torch.cat([x, torch.tensor([_logit(fs if fs is not None else 0.5)])])
        with torch.inference_mode():
            z = float(_apply(w.doc, x, torch))
            words: list[tuple[int, int, float]] = []
            if w.token is not None and offsets:
                tz = _apply(w.token, st[w.token_layer], torch)
                words = word_spans(texts[i], offsets, torch.sigmoid(tz).tolist())
        a, b = w.platt
        out.append(TierResult(_sigmoid(a * z + b), z, words, min(len(offsets), w.max_tokens), texts[i]))
    return out


def unavailable_reason() -> str:
    try:
        requires("torch", "lm")
        requires("transformers", "lm")
    except MissingComponent as exc:
        return str(exc)
    from .models import FETCH_HINT

    return f"the language model is not installed; run: {FETCH_HINT}"
