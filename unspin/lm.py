"""Language-model scoring: load the offline model and compute log-probabilities, batched.

Everything the restorer and ``check --deep`` ask of the model goes through
:class:`LanguageModel`:

- :meth:`LanguageModel.analyse` runs a batch of text windows once and keeps, for each
  window, the log-probability of every token, the model's cache of keys and values (so a
  later variant of the window does not recompute its left part), and on request the
  model's own top predictions at given positions.
- :meth:`LanguageModel.score_variants` scores several continuations of one window prefix
  together: the shared prefix comes from the cache, the continuations run as one padded
  batch, and each gets its total log-probability (natural log). Because continuations run
  to a common end point in the observed text, totals are comparable: this is sentence
  log-probability with context on both sides of the site, not only the left.
  :meth:`LanguageModel.score_many` does the same for many (window, prefix) pairs in one
  batch (the restorer's main call).
- :meth:`LanguageModel.extend_many` appends tokens to a window prefix and returns the longer
  window with its cache, so variants of a rewritten left part share its computation.

The model is loaded once per process (:func:`load`); loading the GGUF de-quantises it and
writes a fast safetensors copy (see :mod:`unspin.models`), so only the first load is slow.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field

from .errors import requires
from .models import ModelLocation, locate, write_fast_copy

#: Token that starts every scored window (SmolLM2's <|endoftext|>, id 0, marks a
#: document boundary in its training data).
START_TEXT = "<|endoftext|>"


@dataclass
class Window:
    """A scored window of observed text: its token ids, their character offsets in the
    window text, the log-probability of each token (index 0 = the start token, 0.0), and
    the per-layer key/value cache (batch dimension 1)."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    logprobs: list[float]
    cache: list[tuple[object, object]] = field(repr=False, default_factory=list)
    topk: dict[int, list[tuple[str, float]]] = field(default_factory=dict)
    #: Full next-token log-probability rows (a tensor over the vocabulary) at the positions
    #: asked for: row ``p`` is the prediction for token ``p`` from its left context.
    rows: dict[int, object] = field(repr=False, default_factory=dict)

    def next_logprob(self, pos: int, token_id: int) -> float | None:
        row = self.rows.get(pos)
        return None if row is None else float(row[token_id])

    @property
    def total(self) -> float:
        return sum(self.logprobs)

    def boundary(self, char: int) -> int | None:
        """Index of the token that starts exactly at character ``char`` (None if ``char``
        falls inside a token). The start token is index 0; text tokens start at 1."""
        for i, (s, _e) in enumerate(self.offsets, start=1):
            if s == char:
                return i
            if s > char:
                return None
        return len(self.ids) if char >= len(self.text) else None


class LanguageModel:
    """A causal LM and its tokenizer, with batched total-log-probability scoring."""

    def __init__(self, model, tokenizer, name: str, load_seconds: float = 0.0, source: str = ""):
        self.torch = requires("torch", "lm")
        self.model = model
        self.tokenizer = tokenizer
        self.name = name
        self.source = source
        self.load_seconds = load_seconds
        self.start_id = tokenizer.convert_tokens_to_ids(START_TEXT)
        if self.start_id is None or self.start_id == tokenizer.unk_token_id and START_TEXT not in tokenizer.get_vocab():
            self.start_id = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else 0
        self.pad_id = self.start_id
        import inspect

        # transformers 5.x calls the key/value cache ``cache``; 4.x called it ``past_key_values``.
        params = inspect.signature(model.forward).parameters
        self._cache_kw = "cache" if "cache" in params else "past_key_values"
        self._pieces: dict[int, str] = {}
        #: Number of tokens run through the model since loading (for benchmarks).
        self.tokens_scored = 0

    # -- tokenising ------------------------------------------------------------------
    def _piece(self, token_id: int) -> str:
        """The text of one token (memoised: the proposals decode the same tokens again and again)."""
        p = self._pieces.get(token_id)
        if p is None:
            p = self._pieces[token_id] = self.tokenizer.decode([token_id])
        return p

    def encode(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def encode_with_offsets(self, text: str) -> tuple[list[int], list[tuple[int, int]]]:
        enc = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]

    # -- low level -------------------------------------------------------------------
    def _token_logprobs(self, logits, targets):
        """log p(target) per position without materialising a full log-softmax copy."""
        torch = self.torch
        logits = logits.float()
        lse = torch.logsumexp(logits, dim=-1)
        tgt = logits.gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return tgt - lse

    def _forward(self, **kw):
        """Run the transformer body only; returns (hidden states, cache or None). The vocabulary
        projection is applied later in chunks (:meth:`_logprobs_from_hidden`), so the full
        [batch, tokens, vocabulary] logits tensor never exists at once."""
        cache = kw.pop("cache", None)
        if cache is not None:
            kw[self._cache_kw] = cache
        with self.torch.inference_mode():
            out = self.model.base_model(**kw)
        if not kw.get("use_cache"):
            return out.last_hidden_state, None
        cache_out = getattr(out, "cache", None) if self._cache_kw == "cache" else None
        return out.last_hidden_state, cache_out if cache_out is not None else out.past_key_values

    def _logprobs_from_hidden(self, h, targets, lengths: list[int] | None = None, chunk: int = 64):
        """log p(target) for hidden states ``h`` [N, T, H] and ``targets`` [N, T]. With
        ``lengths`` (targets per row), padded positions are skipped (left at 0.0): the
        vocabulary projection is a fifth of the model's work per position."""
        torch = self.torch
        n, t, d = h.shape
        with torch.inference_mode():
            if lengths is not None:
                keep = torch.arange(t).unsqueeze(0) < torch.tensor(lengths).unsqueeze(1)
                flat, tg = h[keep], targets[keep]
            else:
                flat, tg = h.reshape(n * t, d), targets.reshape(n * t)
            m = flat.shape[0]
            vals = torch.empty(m, dtype=torch.float32)
            for i in range(0, m, chunk):
                logits = self.model.lm_head(flat[i : i + chunk]).float()
                vals[i : i + chunk] = logits.gather(-1, tg[i : i + chunk].unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, -1)
            if lengths is None:
                return vals.reshape(n, t)
            out = torch.zeros((n, t), dtype=torch.float32)
            out[keep] = vals
            return out

    def _row(self, hidden_vec):
        with self.torch.inference_mode():
            return self.torch.log_softmax(self.model.lm_head(hidden_vec).float(), dim=-1)

    def _make_cache(self, layers):
        from transformers import DynamicCache

        cache = DynamicCache(config=self.model.config)
        for i, (k, v) in enumerate(layers):
            cache.update(k, v, i)
        return cache

    @staticmethod
    def _cache_layers(cache) -> list[tuple[object, object]]:
        if hasattr(cache, "layers"):
            return [(layer.keys, layer.values) for layer in cache.layers]
        return [(k, v) for k, v in cache.to_legacy_cache()]  # older transformers

    # -- public API ------------------------------------------------------------------
    def analyse(self, texts: list[str], topk_at: list[list[int]] | None = None, k: int = 40,
                batch_tokens: int = 512, select=None) -> list[Window]:
        """Run each text once (after the start token). Returns one :class:`Window` each.

        ``topk_at[i]`` lists token indices of window ``i`` (as :meth:`Window.boundary`
        returns) at which to keep the model's ``k`` most likely next tokens (the prediction
        for that token, from the left context). ``select(i, window)``, if given, is called
        once window ``i`` has its log-probabilities and returns more such positions (chosen
        from what the model just read, before its hidden states are let go).
        """
        torch = self.torch
        encoded = [self.encode_with_offsets(t) for t in texts]
        windows: list[Window | None] = [None] * len(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i][0]))
        batch: list[int] = []

        def run(batch: list[int]) -> None:
            seqs = [[self.start_id] + encoded[i][0] for i in batch]
            width = max(len(s) for s in seqs)
            x = torch.full((len(seqs), width), self.pad_id, dtype=torch.long)
            for r, s in enumerate(seqs):
                x[r, : len(s)] = torch.tensor(s)
            h, cache_out = self._forward(input_ids=x, use_cache=True)
            self.tokens_scored += sum(len(s) for s in seqs)
            lp = self._logprobs_from_hidden(h[:, :-1], x[:, 1:], [len(s) - 1 for s in seqs])
            layers = self._cache_layers(cache_out)
            for r, i in enumerate(batch):
                n = len(seqs[r])
                cache = [(kk[r : r + 1, :, :n].clone(), vv[r : r + 1, :, :n].clone()) for kk, vv in layers]
                w = Window(texts[i], seqs[r], encoded[i][1], [0.0] + lp[r, : n - 1].tolist(), cache)
                want = list(topk_at[i]) if topk_at else []
                if select is not None:
                    want.extend(select(i, w))
                want = sorted({p for p in want if 1 <= p <= n})
                if want:
                    rows = self._row(h[r, [p - 1 for p in want]])  # one projection for all positions
                    vals, idx = rows.topk(k, dim=-1)
                    for j, pos in enumerate(want):
                        w.rows[pos] = rows[j]
                        w.topk[pos] = [(self._piece(int(t)), float(v)) for v, t in zip(vals[j].tolist(), idx[j].tolist())]
                windows[i] = w

        tokens = 0
        for i in order:
            n = len(encoded[i][0]) + 1
            if batch and (tokens + n > batch_tokens or n * (len(batch) + 1) > batch_tokens):
                run(batch)
                batch, tokens = [], 0
            batch.append(i)
            tokens += n
        if batch:
            run(batch)
        return windows  # type: ignore[return-value]

    def score_variants(self, window: Window, prefix_len: int, continuations: list[list[int]]) -> list[float]:
        """Total log-probability of each continuation after the first ``prefix_len`` tokens of
        ``window`` (start token included). The prefix keys/values come from the window's cache;
        only the continuations are computed, as one padded batch."""
        torch = self.torch
        if not continuations:
            return []
        if prefix_len < 1:
            raise ValueError("prefix_len must include the start token")
        # Re-run the last prefix token so its prediction for the first new token is available.
        keep = prefix_len - 1
        last = window.ids[prefix_len - 1]
        seqs = [[last] + c for c in continuations]
        width = max(len(s) for s in seqs)
        n = len(seqs)
        x = torch.full((n, width), self.pad_id, dtype=torch.long)
        for r, s in enumerate(seqs):
            x[r, : len(s)] = torch.tensor(s)
        layers = [(k[:, :, :keep].expand(n, -1, -1, -1), v[:, :, :keep].expand(n, -1, -1, -1))
                  for k, v in window.cache]
        cache = self._make_cache(layers) if keep > 0 else None
        pos = torch.arange(keep, keep + width).unsqueeze(0).expand(n, -1)
        h, _ = self._forward(input_ids=x, position_ids=pos, use_cache=False, cache=cache)
        self.tokens_scored += sum(len(s) for s in seqs)
        lp = self._logprobs_from_hidden(h[:, :-1], x[:, 1:], [len(s) - 1 for s in seqs])
        return [float(lp[r, : len(s) - 1].sum()) for r, s in enumerate(seqs)]

    def score_many(self, items: list[tuple[Window, int, list[int]]], cache_budget_mb: int = 48) -> list[float]:
        """Like :meth:`score_variants` for many (window, prefix_len, continuation) items at once,
        with different windows and prefixes in one batch: each row's cached prefix is padded
        on the left and masked out, and gets its own positions. Rows are grouped so that the
        copied caches stay under ``cache_budget_mb``."""
        return self._run_many(items, cache_budget_mb, keep=False)  # type: ignore[return-value]

    def extend_many(self, items: list[tuple[Window, int, list[int]]], cache_budget_mb: int = 48) -> list[tuple[Window, float]]:
        """For each (window, prefix_len, tokens): a new :class:`Window` holding the window's
        first ``prefix_len`` tokens followed by ``tokens``, with its key/value cache (so
        several continuations of that new text can be scored without recomputing it), and
        the total log-probability of ``tokens``. The new window has no text or offsets."""
        return self._run_many(items, cache_budget_mb, keep=True)  # type: ignore[return-value]

    def _run_many(self, items: list[tuple[Window, int, list[int]]], cache_budget_mb: int, keep: bool) -> list:
        torch = self.torch
        results: list = [0.0] * len(items)
        # rows of equal length together: padding a row costs a whole position of work, a
        # longer cached prefix only attention
        order = sorted(range(len(items)), key=lambda i: (len(items[i][2]), items[i][1]))
        per_tok = None
        group: list[int] = []

        def flush(group: list[int]) -> None:
            if not group:
                return
            keeps = [items[i][1] - 1 for i in group]
            seqs = [[items[i][0].ids[items[i][1] - 1]] + items[i][2] for i in group]
            K, W, N = max(keeps), max(len(s) for s in seqs), len(group)
            x = torch.full((N, W), self.pad_id, dtype=torch.long)
            mask = torch.zeros((N, K + W), dtype=torch.long)
            pos = torch.zeros((N, W), dtype=torch.long)
            for r, (i, s, kp) in enumerate(zip(group, seqs, keeps)):
                x[r, : len(s)] = torch.tensor(s)
                mask[r, K - kp : K + len(s)] = 1
                pos[r] = torch.arange(kp, kp + W)
            layers = []
            for li in range(len(items[group[0]][0].cache)):
                k0 = items[group[0]][0].cache[li][0]
                kb = k0.new_zeros((N, k0.shape[1], K, k0.shape[3]))
                vb = k0.new_zeros((N, k0.shape[1], K, k0.shape[3]))
                for r, (i, kp) in enumerate(zip(group, keeps)):
                    if kp:
                        kk, vv = items[i][0].cache[li]
                        kb[r, :, K - kp :] = kk[0, :, :kp]
                        vb[r, :, K - kp :] = vv[0, :, :kp]
                layers.append((kb, vb))
            cache = self._make_cache(layers) if K > 0 else None
            h, cache_out = self._forward(input_ids=x, attention_mask=mask, position_ids=pos, use_cache=keep, cache=cache)
            self.tokens_scored += sum(len(s) for s in seqs)
            lp = self._logprobs_from_hidden(h[:, :-1], x[:, 1:], [len(s) - 1 for s in seqs])
            if keep:
                out_layers = self._cache_layers(cache_out)
            for r, (i, s, kp) in enumerate(zip(group, seqs, keeps)):
                total = float(lp[r, : len(s) - 1].sum())
                if not keep:
                    results[i] = total
                    continue
                win, plen, cont = items[i]
                a, b = K - kp, K + len(s)
                layer_kv = [(kk[r : r + 1, :, a:b].clone(), vv[r : r + 1, :, a:b].clone()) for kk, vv in out_layers]
                results[i] = (Window("", win.ids[:plen] + list(cont), [], [], layer_kv), total)

        budget = cache_budget_mb * (1 << 20)
        for i in order:
            win = items[i][0]
            if per_tok is None and win.cache:
                k0 = win.cache[0][0]
                per_tok = len(win.cache) * 2 * k0.shape[1] * k0.shape[3] * k0.element_size()
            trial = group + [i]
            rows, K = len(trial), max(items[j][1] for j in trial)
            if group and (rows * K * (per_tok or 0) > budget or rows * (K + 16) > 4096):
                flush(group)
                group = [i]
            else:
                group = trial
        flush(group)
        return results

    def score_texts(self, texts: list[str]) -> list[float]:
        """Total log-probability of each text on its own (after the start token)."""
        return [w.total for w in self.analyse(texts)]


def _threads() -> None:
    torch = requires("torch", "lm")
    n = os.environ.get("UNSPIN_THREADS")
    if n:
        torch.set_num_threads(max(1, int(n)))


def load_location(loc: ModelLocation, log=None) -> LanguageModel:
    """Load the model at ``loc``: the fast copy when it is ready, else the GGUF (and then write
    the fast copy for next time)."""
    torch = requires("torch", "lm")
    transformers = requires("transformers", "lm")
    _threads()
    t0 = time.time()
    quiet = transformers.logging.get_verbosity()
    transformers.logging.set_verbosity_error()
    try:
        transformers.utils.logging.disable_progress_bar()
    except AttributeError:  # pragma: no cover
        pass
    try:
        if loc.fast_ready() or loc.gguf is None:
            tok = transformers.AutoTokenizer.from_pretrained(str(loc.fast))
            model = transformers.AutoModelForCausalLM.from_pretrained(str(loc.fast), dtype=torch.float32)
            how = "fast copy"
        else:
            requires("gguf", "lm")
            if log:
                log(f"first load: de-quantising {loc.gguf.name} (about 30 s, once)")
            d, f = str(loc.gguf.parent), loc.gguf.name
            tok = transformers.AutoTokenizer.from_pretrained(d, gguf_file=f)
            model = transformers.AutoModelForCausalLM.from_pretrained(d, gguf_file=f, dtype=torch.float32)
            try:
                write_fast_copy(model, tok, loc)
            except OSError as exc:  # read-only cache: keep working, just slower next time
                if log:
                    log(f"could not write the fast copy to {loc.fast}: {exc}")
            how = "gguf"
    finally:
        transformers.logging.set_verbosity(quiet)
    model.eval()
    return LanguageModel(model, tok, loc.name, time.time() - t0, how)


@functools.lru_cache(maxsize=1)
def _load_cached(key: tuple) -> LanguageModel:
    import sys

    return load_location(locate(), log=lambda m: print(f"unspin: {m}", file=sys.stderr))


def load() -> LanguageModel:
    """The process-wide model (loaded on first use; the key includes ``UNSPIN_MODEL`` and
    ``UNSPIN_HOME`` so changing them loads the other model)."""
    return _load_cached((os.environ.get("UNSPIN_MODEL"), os.environ.get("UNSPIN_HOME")))
