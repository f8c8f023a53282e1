"""A document's packed token array in one pass: canonical tokens and skeleton together.

:func:`unspin.cluster.fingerprint.canonical_hashes` and :func:`unspin.cluster.skeleton.skeleton`
each scan the text and look every word up in Python, once per word occurrence. This module
gives the same arrays (bit for bit; the tests compare them) from **one** regular-expression
pass and numpy:

* every distinct token string seen by the process gets an entry in a vocabulary (:class:`_Vocab`)
  holding everything both fingerprints need about it, for a word at a sentence start and
  elsewhere: canonical hash (or "dropped"), fixed, swappable, skeleton token, class mask, and
  the words of spinner filler it holds (for :func:`unspin.cluster.fingerprint.stats`);
* a text becomes an array of entry numbers (one dict lookup per token, in C through ``map``);
  the sentence-start state, the canonical selection, the skeleton's collapsed runs and their
  OR-ed masks are array operations over it.

In texts containing ``://``, ``www.`` or ``@`` the canonical scanner reads URLs and e-mail
addresses whole: there the canonical tokens come from a second pass with its expression,
through the same vocabulary. The vocabulary is bounded
(:data:`MAX_VOCAB` entries; it starts afresh when full), so memory stays flat on any corpus.
"""

from __future__ import annotations

import re
from itertools import chain

import numpy as np

from .fingerprint import _FILLER_RE, _NUM, _SCAN_RE, _WORD, _form, filler_words, token_hash
from .skeleton import _NUMBER, _PLACEHOLDER, _STOP, _word, pack

#: Vocabulary entries kept before it is emptied and refilled (each is ~200 bytes).
MAX_VOCAB = 1 << 19

# One expression for both fingerprints: words and numbers as both scanners read them, and
# the skeleton's punctuation (a superset of the canonical scanner's sentence ends).
_ALL_RE = re.compile(rf"{_WORD}|{_NUM}|[.!?…:;,()\"“”\n]")
# The canonical scanner's expression for texts with URLs or e-mail addresses, without groups.
_SCAN_ALL_RE = re.compile(_SCAN_RE.pattern.replace("?P<url>", "?:").replace("?P<email>", "?:")
                          .replace("?P<word>", "?:").replace("?P<num>", "?:").replace("?P<end>", "?:"))
_WORD_FULL = re.compile(_WORD)
_NUM_FULL = re.compile(_NUM)
_ENDS = frozenset(".!?…:\n")
_PUNCT = frozenset(";,()\"“”")

# Entry kinds.
_W, _N, _STOPK, _P, _U = 0, 1, 2, 3, 4


_COLUMNS = ("kind", "canon", "keep", "fixed", "swap", "skel", "mask", "filler")


class _Vocab:
    """Per-token facts, by entry number; columns ``[..., 0]`` inside a sentence, ``[..., 1]``
    at a sentence start. New entries are collected as Python rows and written to the arrays
    in one go (:meth:`flush`) before a batch reads them."""

    def __init__(self, capacity: int = 4096):
        self.index: dict[str, int] = {}
        #: whitespace-separated chunk -> its tokens' entry numbers (most chunks repeat, so
        #: most of a text is read by one dict lookup per chunk, without the expression)
        self.chunks: dict[str, tuple[int, ...]] = {}
        self.pending: list[tuple] = []
        self.size = 0  # entries in the arrays
        self.kind = np.zeros(capacity, dtype=np.int8)
        self.canon = np.zeros((capacity, 2), dtype=np.uint64)
        self.keep = np.zeros((capacity, 2), dtype=bool)
        self.fixed = np.zeros((capacity, 2), dtype=bool)
        self.swap = np.zeros((capacity, 2), dtype=bool)
        self.skel = np.zeros((capacity, 2), dtype=np.uint64)
        self.mask = np.zeros((capacity, 2), dtype=np.uint64)
        self.filler = np.zeros(capacity, dtype=np.int32)

    def flush(self) -> None:
        """Write the pending entries to the arrays (growing them as needed)."""
        if not self.pending:
            return
        end = self.size + len(self.pending)
        if end > len(self.kind):
            cap = max(2 * len(self.kind), end)
            for name in _COLUMNS:
                old = getattr(self, name)
                grown = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
                grown[: self.size] = old[: self.size]
                setattr(self, name, grown)
        rows = list(zip(*self.pending))
        for name, values in zip(_COLUMNS, rows):
            col = getattr(self, name)
            col[self.size: end] = np.array(values, dtype=col.dtype).reshape((end - self.size,) + col.shape[1:])
        self.size = end
        self.pending = []

    def add(self, tok: str) -> int:
        """A new entry for ``tok`` (pending until :meth:`flush`)."""
        e = len(self.index)
        self.index[tok] = e
        if _NUM_FULL.fullmatch(tok):
            h = token_hash("#" + tok)
            row = (_N, (h, h), (True, True), (True, True), (False, False), (_NUMBER, _NUMBER), (0, 0), 0)
        elif tok in _ENDS:
            row = (_STOPK, (0, 0), (False, False), (False, False), (False, False), (_STOP, _STOP), (0, 0), 0)
        elif tok in _PUNCT:
            h = token_hash("%" + tok)
            row = (_P, (0, 0), (False, False), (False, False), (False, False), (h, h), (0, 0), 0)
        elif not _WORD_FULL.fullmatch(tok):  # a URL or an e-mail address (canonical scanner only)
            h = token_hash("@" + tok.lower())
            row = (_U, (h, h), (True, True), (True, True), (False, False), (0, 0), (0, 0), 0)
        else:
            # only a capitalised word reads differently at a sentence start
            cols = [self._word_column(tok, start) for start in ((False, True) if tok[:1].isupper() else (False,))]
            if len(cols) == 1:
                cols.append(cols[0])
            fill = filler_words()
            n_fill = sum(1 for m in _FILLER_RE.finditer(tok) if m.group().lower() in fill)
            row = (_W, *zip(*cols), n_fill)
        self.pending.append(row)
        return e

    @staticmethod
    def _word_column(tok: str, start: bool) -> tuple:
        """(canonical hash, kept, fixed, swappable, skeleton token, mask) of a word."""
        f = _form(tok, start)
        skel, mask = _word(tok, start)
        if f is None:
            return 0, False, False, False, skel, mask
        return token_hash(f[0]), True, f[1], f[2], skel, mask

    def lookup(self, toks: list[str]) -> list[int]:
        """Entry numbers of ``toks``, adding the new ones (call :meth:`flush` before reading
        the arrays)."""
        index = self.index
        return [index[t] if t in index else self.add(t) for t in toks]

    def ids(self, toks: list[str]) -> np.ndarray:
        """:meth:`lookup` as an array, flushed."""
        out = np.array(self.lookup(toks), dtype=np.int64)
        self.flush()
        return out

    def chunk_ids(self, chunks: list[str]) -> list[tuple[int, ...]]:
        """The entry numbers of each chunk's tokens (:data:`_ALL_RE`); not flushed."""
        found = list(map(self.chunks.get, chunks))
        if None in found:
            for k, f in enumerate(found):
                if f is None:
                    c = chunks[k]
                    f = self.chunks.get(c)
                    if f is None:
                        f = self.chunks[c] = tuple(self.lookup(["\n"] if c == _NL else _ALL_RE.findall(c)))
                    found[k] = f
        return found


_VOCAB = _Vocab()

#: Stands for a line break while a text is split at whitespace (a line break is a token).
_NL = "\ue000"


def _vocab() -> _Vocab:
    """The vocabulary, emptied first when it has reached :data:`MAX_VOCAB` entries (never
    within a batch: a batch's entry numbers stay valid)."""
    global _VOCAB
    if len(_VOCAB.index) + len(_VOCAB.chunks) >= MAX_VOCAB:
        _VOCAB = _Vocab()
    return _VOCAB


def _chunk_ids(v: _Vocab, text: str) -> list[tuple[int, ...]]:
    """Entry numbers of ``text``'s tokens, chunk by chunk. No token holds whitespace other than
    a line break, so reading the text between whitespace gives the expression's tokens."""
    if _NL in text:
        return [tuple(v.lookup(_ALL_RE.findall(text)))]
    return v.chunk_ids(text.replace("\n", " " + _NL + " ").split())


def _slow(text: str) -> bool:
    return "://" in text or "www." in text or "@" in text


def _starts(kind: np.ndarray, events: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Column (1: at a sentence start) of each token: the last event before it in its
    document is a sentence end, or there is none. ``first``: each token's document's first
    position."""
    n = len(kind)
    last = np.maximum.accumulate(np.where(events, np.arange(n), -1))
    prev = np.empty(n, dtype=np.int64)
    if n:
        prev[0] = -1
        prev[1:] = last[:-1]
    return ((prev < first) | (kind[np.maximum(prev, 0)] == _STOPK)).astype(np.int64)


def _layout(lens: np.ndarray):
    """(document of each token, first position of each token's document, offsets) of
    documents of ``lens`` tokens laid end to end."""
    offsets = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    doc = np.repeat(np.arange(len(lens)), lens)
    return doc, offsets[:-1][doc], offsets


def _batch(texts: list[str]):
    """Everything the fingerprints need of a batch of texts, as flat arrays with document
    numbers: canonical entry ids, their columns and hashes; skeleton tokens and masks; and
    the filler words per document."""
    v = _vocab()
    per_doc = [_chunk_ids(v, t) for t in texts]
    lens = np.fromiter((sum(map(len, c)) for c in per_doc), dtype=np.int64, count=len(texts))
    ids = np.fromiter(chain.from_iterable(chain.from_iterable(per_doc)), dtype=np.int64, count=int(lens.sum()))
    v.flush()
    doc, first, offsets = _layout(lens)
    slow = [i for i, t in enumerate(texts) if _slow(t)]
    kind = v.kind[ids]
    # skeleton: words end a sentence start, sentence ends begin one; numbers leave it as it
    # is (a citation marker after a full stop)
    ss = _starts(kind, (kind == _W) | (kind == _STOPK), first)
    if slow:  # the canonical scanner reads URLs and e-mail addresses whole
        pieces = [ids[offsets[i]: offsets[i + 1]] for i in range(len(texts))]
        for i in slow:
            pieces[i] = v.ids(_SCAN_ALL_RE.findall(texts[i]))
        cdoc, cfirst, _ = _layout(np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces)))
        cids = np.concatenate(pieces)
        ckind = v.kind[cids]
    else:
        cids, ckind, cdoc, cfirst = ids, kind, doc, first
    sc = _starts(ckind, ckind != _P, cfirst)
    sel = np.flatnonzero(v.keep[cids, sc])
    cids, sc, cdoc = cids[sel], sc[sel], cdoc[sel]
    canon = v.canon[cids, sc]
    t = v.skel[ids, ss]
    m = v.mask[ids, ss]
    sdoc = doc
    if len(t):
        head = np.ones(len(t), dtype=bool)
        head[1:] = ~((t[1:] == t[:-1]) & ((t[1:] == _STOP) | (t[1:] == _PLACEHOLDER)))
        head[offsets[:-1][offsets[:-1] < len(t)]] = True  # a document's first token
        heads = np.flatnonzero(head)
        t, sdoc = t[heads], doc[heads]
        m = np.bitwise_or.reduceat(m, heads)
    filler = np.bincount(doc, weights=v.filler[ids], minlength=len(texts))
    return cids, sc, cdoc, canon, t, m, sdoc, filler


def _split(values: np.ndarray, doc: np.ndarray, n: int) -> list[np.ndarray]:
    bounds = np.searchsorted(doc, np.arange(n + 1))
    return [values[bounds[i]: bounds[i + 1]] for i in range(n)]


def document_tokens_many(texts: list[str]) -> list[np.ndarray]:
    """:func:`document_tokens` of each text (one pass over the batch)."""
    n = len(texts)
    _, _, cdoc, canon, t, m, sdoc, _ = _batch(texts)
    return [pack(c, s, k) for c, s, k in zip(_split(canon, cdoc, n), _split(t, sdoc, n), _split(m, sdoc, n))]


def document_tokens(text: str) -> np.ndarray:
    """The packed document array of ``text`` (:func:`unspin.cluster.skeleton.pack`): canonical
    tokens, the mark, skeleton tokens and masks."""
    return document_tokens_many([text])[0]


def document_tokens_and_stats(texts: list[str]) -> list[tuple[np.ndarray, int, float]]:
    """(packed array, fixed tokens, swapped share) of each text: :func:`document_tokens` and
    :func:`unspin.cluster.fingerprint.stats` of its canonical forms (with its filler words)."""
    n = len(texts)
    cids, sc, cdoc, canon, t, m, sdoc, filler = _batch(texts)
    v = _VOCAB
    fixed = np.bincount(cdoc, weights=v.fixed[cids, sc], minlength=n)
    swap = np.bincount(cdoc, weights=v.swap[cids, sc], minlength=n)
    kept = np.bincount(cdoc, minlength=n)
    out = []
    for i, (c, s, k) in enumerate(zip(_split(canon, cdoc, n), _split(t, sdoc, n), _split(m, sdoc, n))):
        content = int(kept[i]) - int(fixed[i]) + int(filler[i])
        swapped = int(swap[i]) + int(filler[i])
        out.append((pack(c, s, k), int(fixed[i]), swapped / content if content else 0.0))
    return out
