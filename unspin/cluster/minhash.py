"""MinHash signatures of canonical shingles, window by window, and their LSH band keys.

A document's canonical tokens (:mod:`unspin.cluster.fingerprint`) are shingled (``shingle``
tokens each, hashed together), the shingles cut into windows of ``window`` shingles that
overlap by half, and each window gets a MinHash signature of ``num_perm`` values from
**rensa** (a maintained Rust MinHash; ``pip install 'unspin[cluster]'``). datasketch can be
used instead (``backend="datasketch"``) for comparison; it gives the same kind of signature,
about ten times slower (BENCHMARKS.md). The signature is cut into ``bands`` bands; each band
becomes one 64-bit key, and two documents that share any key are a candidate pair.
Everything is deterministic: the same text gives the same keys in every process.
"""

from __future__ import annotations

import array

import numpy as np

from ..errors import requires
from .options import ClusterOptions

_M1 = np.uint64(0x9E3779B97F4A7C15)
_M2 = np.uint64(0xBF58476D1CE4E5B9)
_M3 = np.uint64(0x94D049BB133111EB)


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise (wrapping uint64 arithmetic)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> np.uint64(30))
        x = x * _M2
        x = x ^ (x >> np.uint64(27))
        x = x * _M3
        return x ^ (x >> np.uint64(31))


def shingles(tokens: np.ndarray, k: int) -> np.ndarray:
    """Hashes of the ``k``-token shingles of ``tokens`` (one shingle of all tokens when there
    are fewer than ``k``; none for an empty document)."""
    n = len(tokens)
    if n == 0:
        return np.zeros(0, dtype=np.uint64)
    if n < k:
        k = n
    with np.errstate(over="ignore"):
        h = tokens[: n - k + 1].copy()
        for j in range(1, k):
            h = _mix(h * _M1 + tokens[j: n - k + 1 + j])
    return h


def window_starts(m: int, window: int) -> list[int]:
    """Starts of the windows over ``m`` shingles: every ``window // 2``, the last one flush
    with the end, so every shingle is in a window and windows overlap by about half."""
    if m <= window:
        return [0] if m else []
    step = max(1, window // 2)
    starts = list(range(0, m - window + 1, step))
    if starts[-1] != m - window:
        starts.append(m - window)
    return starts


def _flat_windows(shingle_arrays: list[np.ndarray], window: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """The windows of every document, as one flat array of shingles and row offsets (one
    gather over the concatenated shingles, no Python work per window)."""
    lens = [len(sh) for sh in shingle_arrays]
    starts_of = [window_starts(m, window) for m in lens]
    counts = [len(st) for st in starts_of]
    if not any(counts):
        return np.zeros(0, dtype=np.uint64), np.zeros(1, dtype=np.uint64), counts
    base = np.zeros(len(lens), dtype=np.int64)
    np.cumsum(lens[:-1], out=base[1:])
    win_start = np.concatenate([b + np.asarray(st, dtype=np.int64) for b, st in zip(base.tolist(), starts_of) if st])
    win_len = np.repeat(np.minimum(np.asarray(lens, dtype=np.int64), window), counts)
    offsets = np.zeros(len(win_len) + 1, dtype=np.int64)
    np.cumsum(win_len, out=offsets[1:])
    idx = np.arange(offsets[-1]) + np.repeat(win_start - offsets[:-1], win_len)
    flat = np.concatenate(shingle_arrays)[idx]
    return flat, offsets.astype(np.uint64), counts


def _batch_shingles(token_arrays: list[np.ndarray], k: int) -> list[np.ndarray]:
    """:func:`shingles` of many documents at once (one pass over their concatenation)."""
    lens = [len(t) for t in token_arrays]
    if any(0 < n < k for n in lens):
        return [shingles(t, k) for t in token_arrays]
    flat = np.concatenate(token_arrays) if token_arrays else np.zeros(0, dtype=np.uint64)
    m = len(flat) - k + 1
    if m <= 0:
        return [np.zeros(0, dtype=np.uint64) for _ in token_arrays]
    with np.errstate(over="ignore"):
        h = flat[:m].copy()
        for j in range(1, k):
            h = _mix(h * _M1 + flat[j: m + j])
    out = []
    pos = 0
    for n in lens:
        out.append(h[pos: pos + n - k + 1] if n else np.zeros(0, dtype=np.uint64))
        pos += n
    return out


def window_signatures(token_arrays: list[np.ndarray], options: ClusterOptions,
                      backend: str = "rensa", shingle: int | None = None, seed: int | None = None) -> list[np.ndarray]:
    """For each document, a ``(windows, num_perm)`` uint64 array of MinHash values (zero rows
    for a document without tokens). One library call per batch of documents. ``shingle`` and
    ``seed`` default to the options' canonical settings."""
    shingle = options.shingle if shingle is None else shingle
    seed = options.seed if seed is None else seed
    shs = _batch_shingles(token_arrays, shingle)
    flat, offsets, counts = _flat_windows(shs, options.window)
    total = sum(counts)
    if total == 0:
        matrix = np.zeros((0, options.num_perm), dtype=np.uint64)
    elif backend == "rensa":
        rensa = requires("rensa", "cluster")
        digests = rensa.RMinHash.digest_matrix_from_flat_token_hashes(flat, offsets, options.num_perm, seed)
        buf = array.array("I")  # rensa's values are u32; array.extend reads Python ints fastest
        for row in digests.to_rows():
            buf.extend(row)
        matrix = np.frombuffer(buf, dtype=np.uint32).reshape(total, options.num_perm).astype(np.uint64)
    elif backend == "datasketch":
        datasketch = requires("datasketch", "cluster")
        rows = [flat[int(offsets[i]): int(offsets[i + 1])] for i in range(total)]
        mhs = datasketch.MinHash.bulk(rows, num_perm=options.num_perm, seed=seed % (1 << 32),
                                      hashfunc=int, scheme="affine64")
        matrix = np.array([m.hashvalues for m in mhs], dtype=np.uint64)
    else:
        raise ValueError(f"unknown MinHash backend {backend!r} (rensa or datasketch)")
    out = []
    pos = 0
    for c in counts:
        out.append(matrix[pos: pos + c])
        pos += c
    return out


def _band_matrix(matrix: np.ndarray, options: ClusterOptions, skeleton: bool = False) -> np.ndarray:
    """``(windows, bands)`` uint64 LSH keys of a ``(windows, num_perm)`` signature matrix. A key
    hashes one band's rows together with the band's number (skeleton bands are numbered after
    the canonical ones), so the same values in two different bands never collide."""
    b, r = (options.skeleton_bands, options.skeleton_rows) if skeleton else (options.bands, options.rows)
    first = options.bands + 1 if skeleton else 1
    rows = matrix.reshape(len(matrix), b, r)
    with np.errstate(over="ignore"):
        key = np.broadcast_to(np.arange(first, first + b, dtype=np.uint64) * _M1, rows.shape[:2]).copy()
        for j in range(r):
            key = _mix(key * _M1 + rows[:, :, j])
    return key


def band_keys(signature: np.ndarray, options: ClusterOptions) -> np.ndarray:
    """The distinct LSH keys of one document (all windows, all bands), sorted, uint64."""
    if len(signature) == 0:
        return np.zeros(0, dtype=np.uint64)
    return np.unique(_band_matrix(signature, options).ravel())


def document_keys(token_arrays: list[np.ndarray], options: ClusterOptions,
                  backend: str = "rensa") -> list[np.ndarray]:
    """The distinct LSH keys (sorted, uint64) of each document: canonical bands, plus skeleton
    bands when the arrays are packed (:func:`unspin.cluster.skeleton.pack`) and
    ``options.skeleton_shingle`` is set. Documents under ``options.min_tokens`` canonical tokens
    get no canonical keys, under ``options.skeleton_min_tokens`` skeleton tokens no skeleton
    keys. Vectorised over the whole batch: one MinHash call per kind, one sort."""
    from .skeleton import unpack

    n = len(token_arrays)
    parts = [unpack(t) for t in token_arrays]
    doc_parts, key_parts = [], []
    canon = [i for i, p in enumerate(parts) if len(p[0]) >= max(options.min_tokens, 1)]
    if canon:
        sigs = window_signatures([parts[i][0] for i in canon], options, backend)
        counts = np.array([len(s) for s in sigs], dtype=np.int64)
        keys = _band_matrix(np.concatenate(sigs), options)
        doc_parts.append(np.repeat(np.asarray(canon, dtype=np.int64), counts * options.bands))
        key_parts.append(keys.ravel())
    skel = [i for i, p in enumerate(parts) if len(p[1]) >= max(options.skeleton_min_tokens, 1)
            ] if options.skeleton_shingle else []
    if skel:
        sigs = window_signatures([parts[i][1] for i in skel], options, backend,
                                 shingle=options.skeleton_shingle, seed=options.seed + 1)
        counts = np.array([len(s) for s in sigs], dtype=np.int64)
        keys = _band_matrix(np.concatenate(sigs), options, skeleton=True)
        doc_parts.append(np.repeat(np.asarray(skel, dtype=np.int64), counts * options.skeleton_bands))
        key_parts.append(keys.ravel())
    empty = np.zeros(0, dtype=np.uint64)
    out = [empty] * n
    if not doc_parts:
        return out
    # Sorted by document, then key, duplicates gone: a sort of the keys, then a stable sort
    # of the document numbers (a radix sort for small batches; a structured np.unique over
    # (document, key) records took 3/4 of the signature time on 200-word pages).
    docs = np.concatenate(doc_parts)
    keys = np.concatenate(key_parts)
    order = np.argsort(keys)
    small = np.int16 if n < (1 << 15) else np.int64
    order = order[np.argsort(docs[order].astype(small), kind="stable")]
    docs, keys = docs[order], keys[order]
    new = np.ones(len(keys), dtype=bool)
    new[1:] = (keys[1:] != keys[:-1]) | (docs[1:] != docs[:-1])
    docs, flat = docs[new], keys[new]
    bounds = np.searchsorted(docs, np.arange(n + 1))
    for i in range(n):
        if bounds[i + 1] > bounds[i]:
            out[i] = flat[bounds[i]: bounds[i + 1]]
    return out
