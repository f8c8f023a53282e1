"""Lexicons: the tortured-phrase list, word-level reverse-spin pairs, and a spinner-style
thesaurus with WordNet parts of speech. Shipped as package data, loaded lazily, cached.

The files live in ``unspin/data/`` and are rebuilt by ``python scripts/build_lexicons.py``
from the public sources listed in NOTICE. Each is a gzip'd, tab-separated text file:

- line 1, the provenance header, checked on load::

      # unspin-lexicon name=<name> format=1 source=<files> source_sha256=<hashes> [key=value ...]

- line 2, the column names; then one row per line.

``tortured_phrases.tsv.gz`` (columns ``id spun original num_papers qualified``)
    Multi-word tortured phrases from the Problematic Paper Screener (Cabanac, Labbé &
    Magazinov), e.g. ``profound learning -> deep learning``. ``spun`` is lower-cased with
    whitespace collapsed; ``original`` has editorial notes such as "(?)" removed.
    ``num_papers`` is PPS's hit count (empty when unknown). ``qualified=1`` marks phrases
    that PPS searched only together with context terms (``"a b" AND "c"``): the phrase is
    literal but alone it is weaker evidence.

``reverse_spin.tsv.gz`` (columns ``spun original support papers``)
    Word pairs aligned out of every tortured pair (``profound -> deep``). ``support`` is the
    number of distinct PPS entries showing the pair, ``papers`` the sum of their hit counts.
    Low-support pairs between function words (``a -> the``) exist; filter on ``support``.

``thesaurus.tsv.gz`` (columns ``word zipf candidates pos``)
    For each word or multiword (lower-case) in WordNet 3.1 or MyThes: candidate originals
    that are WordNet co-lemmas of the word or listed both ways in MyThes, and clearly more
    frequent (wordfreq zipf >= zipf(word) + 0.5 and >= 3.0), at most 8, most frequent first,
    as ``syn:zipf|syn:zipf``. A single word only gets single-word candidates. ``pos`` holds the
    WordNet parts of speech of the word as letters from ``nvar`` (noun, verb, adjective,
    adverb). Rows exist for words with candidates and for every single-word WordNet lemma
    (candidates may be empty), so ``word_pos`` needs no second file.

Returned dicts and lists are shared cached objects: read them, do not mutate them.
"""

from __future__ import annotations

import gzip
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources

from .errors import UnspinError
from .tokenize import words

FORMAT = 1
#: Most words the per-word caches (:func:`zipf`, :func:`word_pos`) keep; least recently used
#: go first. About 10 MB at this size; the working vocabulary of a corpus fits.
WORD_CACHE_SIZE = 1 << 16
_REBUILD = "rebuild it with: python scripts/build_lexicons.py"
_HEADER_RE = re.compile(r"^# unspin-lexicon (?P<fields>(?:\S+=\S*\s*)+)$")

_COLUMNS = {
    "tortured_phrases": ("id", "spun", "original", "num_papers", "qualified"),
    "reverse_spin": ("spun", "original", "support", "papers"),
    "thesaurus": ("word", "zipf", "candidates", "pos"),
}

# Closed-class verb forms no WordNet lemma covers (be/have/do and the modals).
_AUX_VERBS = frozenset(
    "am is are was were be been being has have had having do does did done doing "
    "can could may might must shall should will would".split()
)


@dataclass(frozen=True, slots=True)
class TorturedEntry:
    """One tortured phrase and the standard wording it replaced."""

    id: str
    spun: str
    original: str
    num_papers: int | None
    #: PPS searched this phrase only together with context terms: weaker evidence alone.
    qualified: bool = False


def parse_lexicon(text: str, name: str) -> tuple[str, list[list[str]]]:
    """Check the header and column line of a lexicon's text; return (header line, rows).

    Raises :class:`UnspinError` if the header is missing, names another lexicon, has a
    different ``format``, the columns differ, or a row has the wrong number of cells.
    """
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    head = lines[0] if lines else ""
    m = _HEADER_RE.match(head.strip())
    if not m:
        raise UnspinError(f"lexicon {name!r} has no 'unspin-lexicon' header; {_REBUILD}")
    fields = dict(f.split("=", 1) for f in m.group("fields").split())
    if fields.get("name") != name:
        raise UnspinError(f"lexicon {name!r}: header names {fields.get('name')!r}; {_REBUILD}")
    if fields.get("format") != str(FORMAT):
        raise UnspinError(
            f"lexicon {name!r} has format {fields.get('format')!r}, this unspin reads format "
            f"{FORMAT}; {_REBUILD}"
        )
    expected = _COLUMNS[name]
    if len(lines) < 2 or tuple(lines[1].split("\t")) != expected:
        raise UnspinError(f"lexicon {name!r}: columns are not {' '.join(expected)}; {_REBUILD}")
    rows = []
    for lineno, line in enumerate(lines[2:], start=3):
        cells = line.split("\t")
        if len(cells) != len(expected):
            raise UnspinError(f"lexicon {name!r} line {lineno} is corrupt; {_REBUILD}")
        rows.append(cells)
    return head.strip(), rows


@cache
def _load(name: str) -> tuple[str, list[list[str]]]:
    resource = resources.files("unspin").joinpath("data", f"{name}.tsv.gz")
    try:
        raw = resource.read_bytes()
    except (FileNotFoundError, OSError) as exc:
        raise UnspinError(f"lexicon data file {name}.tsv.gz is missing; {_REBUILD}") from exc
    try:
        text = gzip.decompress(raw).decode("utf-8")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise UnspinError(f"lexicon data file {name}.tsv.gz is corrupt ({exc}); {_REBUILD}") from exc
    return parse_lexicon(text, name)


def _int(cell: str, name: str) -> int:
    try:
        return int(cell)
    except ValueError as exc:
        raise UnspinError(f"lexicon {name!r}: {cell!r} is not a number; {_REBUILD}") from exc


@cache
def tortured_phrases() -> dict[tuple[str, ...], TorturedEntry]:
    """Tortured phrases keyed by their lower-cased word tokens (``unspin.tokenize.words``)."""
    out: dict[tuple[str, ...], TorturedEntry] = {}
    for tp_id, spun, original, papers, qualified in _load("tortured_phrases")[1]:
        key = tuple(words(spun))
        if len(key) < 2:
            raise UnspinError(f"lexicon 'tortured_phrases': {spun!r} is under two words; {_REBUILD}")
        out[key] = TorturedEntry(
            tp_id, spun, original, _int(papers, "tortured_phrases") if papers else None, qualified == "1"
        )
    return out


@cache
def tortured_max_len() -> int:
    """Length in words of the longest tortured phrase (the matcher's window)."""
    return max(map(len, tortured_phrases()), default=0)


@cache
def reverse_spin() -> dict[str, list[tuple[str, int]]]:
    """spun word -> [(original word, support)], most supported first."""
    out: dict[str, list[tuple[str, int]]] = {}
    for spun, original, support, _papers in _load("reverse_spin")[1]:
        out.setdefault(spun, []).append((original, _int(support, "reverse_spin")))
    for pairs in out.values():
        pairs.sort(key=lambda p: -p[1])  # stable: the file's order breaks ties (by papers)
    return out


def _parse_candidates(cell: str) -> list[tuple[str, float]]:
    out = []
    for item in cell.split("|"):
        syn, sep, z = item.rpartition(":")
        try:
            out.append((syn, float(z)))
        except ValueError as exc:
            raise UnspinError(f"lexicon 'thesaurus': bad candidate {item!r}; {_REBUILD}") from exc
        if not sep or not syn:
            raise UnspinError(f"lexicon 'thesaurus': bad candidate {item!r}; {_REBUILD}")
    return out


@cache
def _thesaurus_tables() -> tuple[dict[str, list[tuple[str, float]]], dict[str, frozenset[str]]]:
    cands: dict[str, list[tuple[str, float]]] = {}
    pos: dict[str, frozenset[str]] = {}
    for word, _zipf, cell, tags in _load("thesaurus")[1]:
        if cell:
            cands[word] = _parse_candidates(cell)
        if tags:
            pos[word] = frozenset(tags)
    return cands, pos


def thesaurus() -> dict[str, list[tuple[str, float]]]:
    """word -> [(more frequent synonym that may be the original, its zipf)], best first."""
    return _thesaurus_tables()[0]


def _stems(word: str) -> list[tuple[str, frozenset[str]]]:
    """Possible base forms of an inflected word, each with the POS the inflection allows."""
    nv, v = frozenset("nv"), frozenset("v")
    out: list[tuple[str, frozenset[str]]] = []
    if word.endswith("ies") and len(word) > 4:
        out.append((word[:-3] + "y", nv))
    if word.endswith("es") and len(word) > 3:
        out.append((word[:-2], nv))
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append((word[:-1], nv))
    for suffix in ("ed", "ing"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            base = word[: -len(suffix)]
            out.append((base, v))
            out.append((base + "e", v))  # hoped -> hope, making -> make
            if len(base) > 2 and base[-1] == base[-2]:
                out.append((base[:-1], v))  # stopped -> stop, running -> run
            if suffix == "ed" and base.endswith("i"):
                out.append((base[:-1] + "y", v))  # carried -> carry
    return out


# Bounded (issue 11): keyed by words from the input, so an unbounded cache grows with every
# unseen word a long-running process (unspin serve, a scan worker) is sent.
@lru_cache(maxsize=WORD_CACHE_SIZE)
def word_pos(word: str) -> frozenset[str]:
    """WordNet parts of speech (letters from ``nvar``) of a lower-cased word.

    An inflected form also gets the POS its inflection allows from its base form
    (``runs`` -> n/v of ``run``; ``stopped`` -> v of ``stop``), because WordNet lists
    lemmas only. The forms of be/have/do and the modals count as verbs. Unknown: empty.
    """
    table = _thesaurus_tables()[1]
    w = word.lower().replace("’", "'")
    tags = set(table.get(w, ()))
    if w in _AUX_VERBS:
        tags.add("v")
    for base, allowed in _stems(w):
        tags.update(allowed & table.get(base, frozenset()))
    return frozenset(tags)


def can_be_verb(word: str) -> bool:
    """True if WordNet (or the inflection rules in :func:`word_pos`) allow a verb reading."""
    return "v" in word_pos(word)


@lru_cache(maxsize=WORD_CACHE_SIZE)  # bounded: keyed by input words (issue 11)
def zipf(word: str) -> float:
    """wordfreq's Zipf frequency of ``word`` in English (0.0 if unseen), cached."""
    from wordfreq import zipf_frequency

    return zipf_frequency(word, "en")


def provenance() -> dict[str, str]:
    """Lexicon name -> its header line (sources, hashes, format), for reports and --version."""
    return {name: _load(name)[0] for name in _COLUMNS}


# --------------------------------------------------------------------------------------
# relations and morphology (what the restorer asks of the lexicons)


@cache
def sibling_index() -> dict[str, frozenset[str]]:
    """synonym -> words whose thesaurus entry lists it (the thesaurus read backwards)."""
    back: dict[str, set[str]] = {}
    for w, cands in thesaurus().items():
        for c, _z in cands:
            back.setdefault(c, set()).add(w)
    return {k: frozenset(v) for k, v in back.items()}


def relation_hops(observed: str, candidate: str) -> int:
    """How closely the lexicons relate ``candidate`` to ``observed``: 1 when one lists the
    other (thesaurus either way, or the reverse-spin table), 2 when they share a synonym or
    a headword, 0 when unrelated (or equal)."""
    o = observed.lower().replace("’", "'")
    c = candidate.lower().replace("’", "'")
    if o == c:
        return 0
    th = thesaurus()
    oc = {w for w, _ in th.get(o, ())}
    if c in oc or any(w == c for w, _ in reverse_spin().get(o, ())):
        return 1
    cc = {w for w, _ in th.get(c, ())}
    if o in cc:
        return 1
    back = sibling_index()
    if c in back.get(o, ()) or o in back.get(c, ()):
        return 2
    if oc & cc or back.get(o, frozenset()) & back.get(c, frozenset()):
        return 2
    return 0


def related(observed: str, candidate: str) -> bool:
    """Whether ``candidate`` may be the word a spinner replaced by ``observed``: listed as a
    synonym either way in the thesaurus or the reverse-spin table, or sharing a synonym."""
    return relation_hops(observed, candidate) > 0


def same_stem(a: str, b: str) -> bool:
    """Inflections of one word ("separated"/"separate", "elders"/"elder"): a spinner swaps a
    word for a synonym, not for another form of itself, so such a candidate only changes
    the grammar the spinner left intact."""
    a, b = a.lower(), b.lower()
    if " " in a or " " in b:
        return False  # "family unit" -> "family" is a spinner's multiword swap, not an inflection
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n >= 4 and n >= min(len(a), len(b)) - 2


def spelling_variant(a: str, b: str) -> bool:
    """British and American spellings of one word ("realisation"/"realization",
    "colour"/"color"): a spinner swaps words, not spellings."""
    a, b = a.lower(), b.lower()
    if a == b:
        return False
    for x, y in (("s", "z"), ("our", "or"), ("re", "er"), ("ll", "l"), ("ae", "e"), ("oe", "e")):
        if a.replace(x, y) == b.replace(x, y):
            return True
    return False


#: An inflected candidate ("areas" from "area") must be at least this common a word form.
MIN_INFLECTED_ZIPF = 3.0


def inflect(base: str, suffix: str) -> str | None:
    """``base`` with an inflection ("s", "ed" or "ing"), spelled the way wordfreq knows best
    (None when no spelling is a common English word)."""
    if " " in base:
        return None
    if suffix == "s":
        forms = [base + "s", base + "es"] + ([base[:-1] + "ies"] if base.endswith("y") else [])
    else:
        stem = base[:-1] if base.endswith("e") else base
        forms = [stem + suffix, base + suffix, base + base[-1] + suffix]
        if suffix == "ed" and base.endswith("y"):
            forms.append(base[:-1] + "ied")
    best = max(forms, key=zipf)
    return best if zipf(best) >= MIN_INFLECTED_ZIPF else None


def inflected_synonyms(observed: str) -> list[tuple[str, str]]:
    """Synonyms of an inflected word the thesaurus lists only as a lemma ("arenas" ->
    "arena" -> "area" -> "areas"), each inflected like the word, with its rule."""
    w = observed.lower().replace("’", "'")
    suffix = "ing" if w.endswith("ing") else "ed" if w.endswith("ed") else "s" if w.endswith("s") else None
    th = thesaurus()
    if suffix is None or w in th:
        return []
    out, seen = [], {w}
    for base, _pos in _stems(w):
        for c, _z in th.get(base, ()):
            form = inflect(c, suffix)
            if form and form not in seen and not same_stem(form, w):
                seen.add(form)
                out.append((form, f"thesaurus:{base}->{c}(+{suffix})"))
    return out
