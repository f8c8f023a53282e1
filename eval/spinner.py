"""A spinner emulator, for training and evaluating the detector only (not a user command).

``spin(text, family, rate=None, seed=0)`` rewrites clean text the way a family of article
spinners does and returns a :class:`Spun` whose ``changes`` are :class:`unspin.report.Span`
objects with offsets into the spun text, ``text`` = the spun wording and ``original`` = the
wording it replaced (``""`` for inserted spam). Replaying them always gives the input back::

    apply_spans(spun.text, spun.changes) == original_text

Families (see :data:`FAMILIES`; a new family is one registered function):

``function_words``
    The "you may" spinner seen on mail-order-bride and payday-loan pages: function words and
    frequent phrases turned into odd fillers ("and" -> "and you may", "the" -> "brand new",
    "in the" -> "when you look at the", "not" -> "maybe not"), plus thesaurus swaps of
    content words at a quarter of the rate.
``thesaurus``
    SpinBot-style sense-blind synonym replacement of content words, chosen uniformly among
    all listed synonyms of a loose thesaurus (MyThes or WordNet, picked per document).
``tortured``
    Paper-mill style: standard terms replaced by their tortured forms from the Problematic
    Paper Screener list ("deep learning" -> "profound learning"), plus thesaurus swaps.
``injected``
    A base family plus spam anchors dropped mid-sentence: made-up domains, URL slugs and
    short fragments of another language.
``mixed``
    Two or three of the above on the same document.

The thesaurus and tortured-phrase tables are built here from the raw shared files, on
purpose independently of ``unspin.lexicons``: an emulator that used the detector's own
lexicons would make the evaluation circular. Everything is deterministic per seed.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterable, Iterator, Sequence

from unspin.report import Span, apply_spans
from unspin.tokenize import Token, sentence_initial, tokenize

from .corpora import DataMissing, Doc, data_dir

# --------------------------------------------------------------------------------------
# The function-word spinner's table. Written by us from what is publicly visible on spun
# spam pages of this family: a phrase (lower case, matched on whole words) and the
# fillers it gets turned into. Longer keys win over shorter ones at the same position.
# --------------------------------------------------------------------------------------
FUNCTION_TABLE: dict[str, tuple[str, ...]] = {
    "and": ("and you may", "and you can", "and you will", "and also"),
    "to": ("so you're able to", "so you can", "to help you", "in order to"),
    "the": ("brand new", "the brand new", "the new", "the fresh"),
    "a": ("an excellent", "a good", "a beneficial", "a great"),
    "an": ("a keen", "an enthusiastic"),
    "that": ("you to definitely", "that you", "which"),
    "many": ("of a lot", "of numerous", "many of"),
    "of": ("off", "regarding", "out of"),
    "in": ("into the", "inside the", "for the"),
    "in the": ("when you look at the", "regarding the", "throughout the", "from the"),
    "with": ("having", "which have", "that have"),
    "us": ("all of us",),
    "such as": ("eg", "such", "instance"),
    "also": ("along with", "and additionally", "including"),
    "so": ("thus", "therefore", "very"),
    "for": ("getting", "to possess", "to have"),
    "at": ("in the", "during the", "on"),
    "on": ("into the", "towards", "toward"),
    "about": ("regarding", "in the", "on the"),
    "because": ("given that", "as the", "once the"),
    "if": ("in the event", "if the", "when the"),
    "like": ("such as for instance", "instance", "for example"),
    "as": ("since the", "just like the", "due to the fact"),
    "what": ("just what", "exactly what"),
    "how": ("just how", "exactly how"),
    "when": ("whenever", "if", "once"),
    "who": ("whom", "exactly who"),
    "from": ("out-of", "away from", "of"),
    "all": ("most of the", "every", "all the"),
    "their": ("the", "their particular", "its"),
    "your": ("your own", "your very own"),
    "our": ("the", "our very own"),
    "them": ("him or her", "her or him"),
    "they": ("it", "they're"),
    "these": ("this type of", "these types of", "such"),
    "those": ("people", "men and women", "the individuals"),
    "other": ("most other", "almost every other", "other sorts of"),
    "however": ("yet not", "although not", "but not"),
    "although": ("regardless of if", "even in the event"),
    "between": ("anywhere between", "ranging from", "between the"),
    "within": ("inside", "contained in this", "in this"),
    "without": ("instead of", "as opposed to", "rather than"),
    "there": ("indeed there", "truth be told there", "here"),
    "there are": ("there are", "you'll find", "you will find"),
    "than": ("than simply", "compared to", "versus"),
    "not": ("maybe not", "perhaps not", "not at all"),
    "don't": ("do not", "try not to", "usually do not"),
    "can't": ("cannot", "are unable to", "can not"),
    "could": ("you certainly will", "you will", "can"),
    "up": ("right up", "upwards"),
    "own": ("very own", "individual"),
    "first": ("basic", "earliest", "very first"),
    "long": ("a lot of time", "much time", "enough time"),
    "time": ("big date", "day", "go out"),
    "more": ("significantly more", "way more", "much more"),
    "most": ("extremely", "very", "really"),
    "very": ("most", "extremely", "really"),
    "really": ("extremely", "very", "most"),
    "just": ("merely", "simply", "only"),
    "even": ("also", "actually", "even after"),
    "is": ("is actually", "was", "is really"),
    "have": ("has actually", "have got", "keeps"),
    "has": ("keeps", "has got", "possess"),
    "does": ("really does", "do"),
    "do": ("manage", "carry out", "create"),
    "one": ("you to definitely", "that", "one to"),
    "some": ("particular", "certain", "specific"),
    "each": ("for each and every", "each and every", "per"),
    "people": ("anyone", "individuals", "someone"),
    "women": ("feminine", "women", "ladies"),
    "woman": ("lady", "girl"),
    "men": ("guys", "males", "boys"),
    "man": ("guy", "boy", "kid"),
    "girls": ("girls", "ladies", "women"),
    "find": ("pick", "see", "get a hold of"),
    "get": ("score", "rating", "get a hold of"),
    "meet": ("satisfy", "fulfill", "see"),
    "need": ("need to", "you would like", "you desire"),
    "want": ("need", "wish to", "would like"),
    "make": ("build", "generate", "create"),
    "help": ("let", "assist", "help you"),
    "know": ("see", "understand", "discover"),
    "best": ("top", "finest", "greatest"),
    "great": ("higher", "great", "high"),
    "new": ("the new", "the fresh new", "the latest"),
    "different": ("other", "some other", "various"),
    "important": ("extremely important", "crucial", "very important"),
    "relationship": ("dating", "relationships", "matchmaking"),
    "dating": ("relationship", "matchmaking", "relationships"),
    "marriage": ("wedding", "relationships"),
    "site": ("webpages", "web site", "program"),
    "website": ("site", "webpages", "web site"),
    "life": ("existence", "lifestyle"),
    "love": ("like", "love"),
    "beautiful": ("breathtaking", "stunning", "gorgeous"),
    "husband": ("spouse", "partner"),
    "wife": ("spouse", "partner", "partner"),
    "often": ("will", "commonly", "tend to"),
    "usually": ("always", "constantly", "generally"),
    "then": ("following", "upcoming", "after that"),
    "now": ("today", "now"),
    "after": ("once", "shortly after", "immediately following"),
    "before": ("prior to", "ahead of", "just before"),
    "through": ("courtesy of", "due to", "compliment of"),
    "because of": ("because of", "due to", "on account of"),
    "a lot of": ("enough", "plenty of", "a good amount of"),
    "lots of": ("many", "a great amount of", "enough"),
    "as well as": ("also", "plus", "and"),
    "make sure": ("make certain", "guarantee"),
    "it is": ("it's", "it is"),
    "he": ("the guy", "the man"),
    "her": ("the girl", "their"),
    "she": ("she", "she's"),
    "his": ("their", "his"),
}

# Function words and very frequent words the thesaurus families never touch (a thesaurus
# spinner protects them, and swapping them would blur the families).
STOPWORDS = frozenset(
    """a about above after again against all also am an and any are aren't as at be because
    been before being below between both but by can can't cannot could couldn't did didn't do
    does doesn't doing don't down during each even ever every few for from further get gets
    got had hadn't has hasn't have haven't having he her here hers herself him himself his how
    however i if in into is isn't it it's its itself just let like made make many may me might
    more most much must my myself need no nor not now of off often on once one only or other
    ought our ours ourselves out over own per quite rather said same say says shall she should
    since so some still such than that the their theirs them themselves then there these they
    this those though through thus to too under until up upon us very was wasn't we well were
    what when where whether which while who whom whose why will with within without would yet
    you your yours yourself yourselves also back way even new first last many much well yes
    okay ok really lot lots thing things""".split()
)

_WORD_OK = re.compile(r"^[a-z][a-z\- ']*[a-z]$")
_NUMERIC = re.compile(r"\d")

# --------------------------------------------------------------------------------------
# Spam-anchor material. Word lists written by us; the foreign words are ordinary words of
# those languages ("websites", "women", "best", "free", "dating", ...).
# --------------------------------------------------------------------------------------
_DOMAIN_WORDS = (
    "bride", "brides", "love", "date", "dating", "match", "asian", "latin", "wife", "wives",
    "girls", "mail", "order", "hot", "single", "singles", "meet", "top", "best", "review",
    "reviews", "guide", "loan", "loans", "payday", "casino", "essay", "writer", "cash", "bet",
    "world", "online", "quick", "easy", "sweet", "hearts", "romance", "charm", "lady", "ladies",
    "foreign", "slavic", "ukraine", "asia", "hub", "zone", "land", "club", "pro", "expert",
)
_TLDS = ("org", "com", "net", "info", "co", "io", "xyz", "online", "site", "club")
_SLUG_PATTERNS = (
    ("best", "mail", "order", "brides", "sites"),
    ("mail", "order", "bride", "cost"),
    ("payday", "loans", "online", "same", "day"),
    ("best", "dating", "sites", "for", "over", "50"),
    ("how", "to", "find", "a", "wife"),
    ("asian", "dating", "sites", "review"),
    ("installment", "loans", "bad", "credit"),
    ("top", "online", "casino", "bonus"),
    ("write", "my", "essay", "cheap"),
    ("hot", "latin", "women"),
)
FOREIGN_WORDS: dict[str, tuple[str, ...]] = {
    "no": ("nettsteder", "nettsted", "beste", "gratis", "kvinner", "datingsider", "her", "kone"),
    "de": ("Seite", "Webseite", "Frauen", "beste", "kostenlos", "hier", "Partnersuche", "Ehefrau"),
    "es": ("sitio web", "mujeres", "mejores", "gratis", "aquí", "citas", "esposa", "página"),
    "pl": ("strona", "kobiety", "najlepsze", "randki", "żona", "darmowe", "tutaj", "serwis"),
    "pt": ("site", "mulheres", "melhores", "namoro", "esposa", "aqui", "grátis", "página"),
    "nl": ("vrouwen", "beste", "website", "daten", "gratis", "hier", "vrouw", "sites"),
    "sv": ("kvinnor", "bästa", "webbplats", "gratis", "här", "fru", "dejtingsajter"),
    "fr": ("femmes", "site de rencontre", "meilleurs", "gratuit", "ici", "épouse", "rencontres"),
    "it": ("donne", "sito", "incontri", "migliori", "gratis", "qui", "moglie"),
    "fi": ("naiset", "sivusto", "parhaat", "ilmainen", "täällä", "vaimo", "treffit"),
    "tr": ("siteleri", "kadınlar", "en iyi", "ücretsiz", "burada", "eş"),
}

# --------------------------------------------------------------------------------------
# Resources: the substitution sources, built from the raw shared files.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Resources:
    """Substitution tables the families draw on.

    ``thesauri`` maps a thesaurus name to {lower-case word or phrase: synonyms}; ``tortured``
    maps a lower-case standard term to [(tortured form, PPS record id)]. Tests can pass small
    hand-made tables; :func:`load_resources` builds the real ones from the shared data.
    """

    thesauri: dict[str, dict[str, tuple[str, ...]]]
    tortured: dict[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)

    @cached_property
    def max_phrase_words(self) -> int:
        n = 1
        for table in self.thesauri.values():
            for k in table:
                n = max(n, k.count(" ") + 1)
        return min(n, 4)

    @cached_property
    def tortured_options(self) -> dict[str, tuple[str, ...]]:
        return {k: tuple(s for s, _ in v) for k, v in self.tortured.items()}

    @cached_property
    def tortured_max_words(self) -> int:
        return min(6, max((k.count(" ") + 1 for k in self.tortured), default=1))


def _clean_synonyms(word: str, syns: Iterable[str]) -> tuple[str, ...]:
    out = []
    seen = {word}
    for s in syns:
        s = s.strip()
        # Drop names and acronyms (any capital), numbers and odd punctuation.
        if not s or s != s.lower() or _NUMERIC.search(s) or not _WORD_OK.match(s):
            continue
        if s in seen:
            continue
        seen.add(s)
        out.append(s)
    return tuple(out)


def _key_ok(word: str) -> bool:
    if not _WORD_OK.match(word) or len(word) < 3:
        return False
    parts = word.split()
    if len(parts) == 1:
        return word not in STOPWORDS
    return any(p not in STOPWORDS for p in parts) and len(parts) <= 4


def load_mythes(path: Path) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("|")
            w = parts[0]
            if not _key_ok(w):
                continue
            syns = _clean_synonyms(w, parts[1:])
            if syns:
                table[w] = syns
    return table


def load_wordnet_synonyms(path: Path) -> dict[str, tuple[str, ...]]:
    merged: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3:
                continue
            w, _pos, syns = parts
            if not _key_ok(w):
                continue
            merged.setdefault(w, []).extend(syns.split("|"))  # sense- and POS-blind union
    table = {}
    for w, syns in merged.items():
        cleaned = _clean_synonyms(w, syns)
        if cleaned:
            table[w] = cleaned
    return table


_PAREN = re.compile(r"\s*\([^)]*\)\s*")


def load_tortured(path: Path) -> dict[str, tuple[tuple[str, str], ...]]:
    """Standard term -> tortured forms, from the PPS list: ``query_type == "exact"`` plus the
    boolean entries whose only qualifier is the standard term itself (``"a" AND "b"``).
    Notes in the expected phrase ("(?)", "(BP)", a leading "(to)") are stripped; entries
    with alternatives ("infected/affected") or other punctuation are skipped."""
    table: dict[str, list[tuple[str, str]]] = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            rec = json.loads(line)
            qt = rec.get("query_type")
            orig = _PAREN.sub(" ", rec["original"] or "").strip().lower()
            if qt == "boolean":
                # '"profound learning" AND "deep learning"' only asks that the standard term
                # also occur in the paper: the pair itself is sound. Other qualifiers are not.
                q = (rec.get("pps_query") or "").lower()
                if q != f'"{(rec["spun"] or "").lower()}" and "{orig}"':
                    continue
            elif qt != "exact":
                continue
            spun = (rec["spun"] or "").strip()
            orig = " ".join(orig.split())
            if not orig or not spun or "/" in orig or not _WORD_OK.match(orig):
                continue
            if not re.match(r"^[A-Za-z][A-Za-z\- ']*[A-Za-z]$", spun):
                continue
            if spun.lower() == orig or len(orig) < 4:
                continue
            table.setdefault(orig, []).append((spun, rec["id"]))
    return {k: tuple(v) for k, v in table.items()}


@lru_cache(maxsize=4)
def _load_resources_cached(root: str) -> Resources:
    r = Path(root)
    def need(rel: str) -> Path:
        p = r / rel
        if not p.is_file():
            raise DataMissing(f"shared data file not found: {p} (set UNSPIN_SHARED_DATA)")
        return p
    return Resources(
        thesauri={
            "mythes": load_mythes(need("synonyms/mythes_en_US_thesaurus.txt")),
            "wordnet": load_wordnet_synonyms(need("synonyms/wordnet31_synonyms.tsv")),
        },
        tortured=load_tortured(need("tortured_phrases/tortured_phrases.jsonl")),
    )


def load_resources(root: str | Path | None = None) -> Resources:
    """The real substitution tables from the shared data (loaded once per directory)."""
    return _load_resources_cached(str(Path(root) if root is not None else data_dir()))


# --------------------------------------------------------------------------------------
# Planning edits and building the spun text.
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """A change planned against the ORIGINAL text: replace ``[start, end)`` by ``new``
    (``start == end`` inserts)."""

    start: int
    end: int
    new: str
    kind: str
    rule: str


@dataclass(frozen=True)
class Candidate:
    """A site a family may rewrite, with the wordings it can choose from."""

    start: int
    end: int
    options: tuple[str, ...]
    kind: str
    rule: str


@dataclass
class Spun:
    """The spun text and the changes that turn it back into ``source``."""

    text: str
    changes: list[Span]
    source: str
    family: str
    seed: int
    rate: float

    def restore(self) -> str:
        return apply_spans(self.text, self.changes)


class Context:
    """What a family function works with: the original text, its tokens, a seeded RNG, the
    per-document rate, the resources, and the plan of edits it adds to."""

    def __init__(self, text: str, rng: random.Random, rate: float, resources: Resources | None):
        self.text = text
        self.tokens = tokenize(text)
        self.rng = rng
        self.rate = rate
        self._resources = resources
        self.edits: list[Edit] = []

    @property
    def resources(self) -> Resources:
        if self._resources is None:
            self._resources = load_resources()
        return self._resources

    def free(self, start: int, end: int) -> bool:
        for e in self.edits:
            if start == end:  # insertion: not inside a replaced range, not at another insertion
                if e.start < start < e.end or (e.start == e.end == start):
                    return False
            elif e.start == e.end:
                if start < e.start < end:
                    return False
            elif start < e.end and e.start < end:
                return False
        return True

    def add(self, edit: Edit) -> bool:
        if not self.free(edit.start, edit.end):
            return False
        self.edits.append(edit)
        return True

    def apply_candidates(self, cands: Sequence[Candidate], rate: float, ensure: bool) -> int:
        """Take each candidate with probability ``rate`` (in text order, skipping clashes);
        with ``ensure``, take at least one if any candidate is free."""
        taken = 0
        for c in cands:
            if self.rng.random() < rate and self._take(c):
                taken += 1
        if ensure and taken == 0:
            order = list(cands)
            self.rng.shuffle(order)
            for c in order:
                if self._take(c):
                    return 1
        return taken

    def _take(self, c: Candidate) -> bool:
        old = self.text[c.start:c.end]
        options = [o for o in c.options if o.lower() != old.lower()]
        if not options:
            return False
        new = match_case(old, self.rng.choice(options))
        return self.add(Edit(c.start, c.end, new, c.kind, c.rule))


def match_case(old: str, new: str) -> str:
    """Carry the capitalisation of ``old`` over to ``new`` (first letter only; an all-caps
    word such as "US" gives a capitalised phrase, "All of us", as spinners do)."""
    if old[:1].isupper() and new[:1].islower():
        return new[:1].upper() + new[1:]
    return new


def build(text: str, edits: Iterable[Edit], family: str, seed: int, rate: float) -> Spun:
    """Apply planned edits to ``text`` and record each as a span over the spun text."""
    ordered = sorted(edits, key=lambda e: (e.start, e.end))
    out: list[str] = []
    spans: list[Span] = []
    pos = 0
    shift = 0
    for e in ordered:
        out.append(text[pos:e.start])
        start = e.start + shift
        out.append(e.new)
        spans.append(Span(start=start, end=start + len(e.new), text=e.new, kind=e.kind,
                          original=text[e.start:e.end], confidence=1.0, rule=e.rule))
        shift += len(e.new) - (e.end - e.start)
        pos = e.end
    out.append(text[pos:])
    return Spun(text="".join(out), changes=spans, source=text, family=family, seed=seed, rate=rate)


# --------------------------------------------------------------------------------------
# Candidate finders.
# --------------------------------------------------------------------------------------


def _word_runs(ctx: Context, i: int, n: int) -> tuple[str, int, int] | None:
    """The lower-case phrase of word tokens ``i..i+n-1`` if they are separated by single
    spaces only, with its character range."""
    toks = ctx.tokens
    if i + n > len(toks):
        return None
    parts = []
    for k in range(i, i + n):
        t = toks[k]
        if t.kind != "word":
            return None
        if k > i and ctx.text[toks[k - 1].end:t.start] != " ":
            return None
        parts.append(t.lower)
    return " ".join(parts), toks[i].start, toks[i + n - 1].end


def _phrase_candidates(ctx: Context, table: dict[str, tuple[str, ...]], max_n: int, kind: str,
                       rule: str, accept: Callable[[Context, int, int], bool] | None = None
                       ) -> list[Candidate]:
    """Longest-match scan for table keys over word tokens (non-overlapping candidates)."""
    out = []
    i = 0
    toks = ctx.tokens
    while i < len(toks):
        hit = None
        for n in range(max_n, 0, -1):
            run = _word_runs(ctx, i, n)
            if run and run[0] in table and (accept is None or accept(ctx, i, n)):
                hit = (n, run)
                break
        if hit:
            n, (key, a, b) = hit
            out.append(Candidate(a, b, table[key], kind, f"{rule}:{key}"))
            i += n
        else:
            i += 1
    return out


def _content_ok(ctx: Context, i: int, n: int) -> bool:
    """Thesaurus sites: no names (capitalised mid-sentence), no all-caps, no hyphen or
    apostrophe words, nothing right before an apostrophe-s or inside a domain."""
    for k in range(i, i + n):
        t = ctx.tokens[k]
        if t.text[:1].isupper() and (k > i or not sentence_initial(ctx.tokens, k, ctx.text)):
            return False
        if t.text.isupper() and len(t.text) > 1:
            return False
        if "-" in t.text or "'" in t.text or "’" in t.text:
            return False
    nxt = ctx.tokens[i + n] if i + n < len(ctx.tokens) else None
    if nxt is not None and nxt.start == ctx.tokens[i + n - 1].end and nxt.text in {"'", "’", "-", "@"}:
        return False
    return True


def _pluralise(phrase: str) -> str:
    head, _, last = phrase.rpartition(" ")
    if re.search(r"(s|x|z|ch|sh)$", last):
        last += "es"
    elif re.search(r"[^aeiou]y$", last):
        last = last[:-1] + "ies"
    else:
        last += "s"
    return f"{head} {last}" if head else last


def _suffix(phrase: str, suf: str) -> str:
    """Naive re-inflection of the first word (verbs: "take in" -> "taking in")."""
    first, sep, rest = phrase.partition(" ")
    if suf == "ed":
        first = first + "d" if first.endswith("e") else first + "ed"
    elif suf == "ing":
        first = (first[:-1] if first.endswith("e") and len(first) > 2 else first) + "ing"
    return first + sep + rest


def thesaurus_candidates(ctx: Context, name: str | None = None, rule: str = "thesaurus") -> list[Candidate]:
    """Content words (and multiword entries) found in one thesaurus, with naive inflection:
    a plural noun, an -ed or an -ing form is looked up by its stem and the chosen synonym
    gets the same ending, as simple spinners do."""
    thesauri = ctx.resources.thesauri
    if not thesauri:
        return []
    if name is None:
        name = ctx.rng.choice(sorted(thesauri))
    table = thesauri[name]
    max_n = max(1, min(3, ctx.resources.max_phrase_words))
    out = []
    i = 0
    toks = ctx.tokens
    while i < len(toks):
        found = None
        for n in range(max_n, 0, -1):
            run = _word_runs(ctx, i, n)
            if not run or not _content_ok(ctx, i, n):
                continue
            key, a, b = run
            if n == 1 and (key in STOPWORDS or len(key) < 3):
                break
            if key in table:
                found = Candidate(a, b, table[key], "substitution", f"{rule}/{name}:{key}")
            elif n == 1:
                found = _inflected(key, a, b, table, f"{rule}/{name}")
            if found:
                i += n
                break
        if found:
            out.append(found)
        else:
            i += 1
    return out


def _inflected(word: str, a: int, b: int, table: dict[str, tuple[str, ...]], rule: str) -> Candidate | None:
    if len(word) < 5:
        return None
    tries: list[tuple[str, Callable[[str], str]]] = []
    if word.endswith("ies"):
        tries.append((word[:-3] + "y", _pluralise))
    if word.endswith("es"):
        tries.append((word[:-2], _pluralise))
    if word.endswith("s") and not word.endswith("ss"):
        tries.append((word[:-1], _pluralise))
    if word.endswith("ed"):
        tries += [(word[:-2], lambda s: _suffix(s, "ed")), (word[:-1], lambda s: _suffix(s, "ed"))]
    if word.endswith("ing"):
        tries += [(word[:-3], lambda s: _suffix(s, "ing")), (word[:-3] + "e", lambda s: _suffix(s, "ing"))]
    for stem, inflect in tries:
        if stem in table and stem not in STOPWORDS:
            opts = tuple(dict.fromkeys(inflect(s) for s in table[stem]))
            return Candidate(a, b, opts, "substitution", f"{rule}:{stem}")
    return None


def tortured_candidates(ctx: Context) -> list[Candidate]:
    table = ctx.resources.tortured
    if not table:
        return []
    cands = _phrase_candidates(ctx, ctx.resources.tortured_options, ctx.resources.tortured_max_words,
                               "tortured_phrase", "tortured/pps")
    # Name the PPS record in the rule so a change can be traced to its source entry.
    out = []
    for c in cands:
        key = c.rule.split(":", 1)[1]
        ids = "+".join(i for _, i in table[key][:3])
        out.append(Candidate(c.start, c.end, c.options, c.kind, f"tortured/pps:{ids}:{key}"))
    return out


# --------------------------------------------------------------------------------------
# Families.
# --------------------------------------------------------------------------------------

FamilyFn = Callable[[Context, bool], None]


@dataclass(frozen=True)
class Family:
    name: str
    fn: FamilyFn
    rate_range: tuple[float, float]
    doc: str


FAMILIES: dict[str, Family] = {}


def family(name: str, rate_range: tuple[float, float] = (0.05, 0.40)):
    """Register a family: ``fn(ctx, ensure)`` adds edits to ``ctx``; with ``ensure`` it must
    add at least one when the text has any eligible site."""
    def deco(fn: FamilyFn) -> FamilyFn:
        FAMILIES[name] = Family(name, fn, rate_range, (fn.__doc__ or "").strip())
        return fn
    return deco


_FUNCTION_MAX_N = max(k.count(" ") + 1 for k in FUNCTION_TABLE)


def _function_ok(ctx: Context, i: int, n: int) -> bool:
    """Leave names alone ("New Zealand"), except the spinner's famous "US" -> "All of us"."""
    for k in range(i, i + n):
        t = ctx.tokens[k]
        if t.text == "US":
            continue
        if t.text[:1].isupper() and (k > i or not sentence_initial(ctx.tokens, k, ctx.text)):
            return False
    return True


@family("function_words")
def _function_words(ctx: Context, ensure: bool) -> None:
    """Function words and frequent phrases -> odd fillers; content words via a thesaurus at
    a quarter of the rate."""
    cands = _phrase_candidates(ctx, FUNCTION_TABLE, _FUNCTION_MAX_N, "signature", "function_words",
                               accept=_function_ok)
    ctx.apply_candidates(cands, ctx.rate, ensure)
    ctx.apply_candidates(thesaurus_candidates(ctx, rule="function_words/thesaurus"), ctx.rate / 4, False)


@family("thesaurus")
def _thesaurus(ctx: Context, ensure: bool) -> None:
    """Sense-blind synonym replacement of content words from one thesaurus."""
    ctx.apply_candidates(thesaurus_candidates(ctx), ctx.rate, ensure)


@family("tortured", rate_range=(0.05, 0.30))
def _tortured(ctx: Context, ensure: bool) -> None:
    """PPS tortured phrases wherever their standard term occurs (most occurrences: such
    terms are rare, and paper mills rewrite them all), plus thesaurus word swaps."""
    pps = tortured_candidates(ctx)
    n = ctx.apply_candidates(pps, max(0.6, ctx.rate), False)
    ctx.apply_candidates(thesaurus_candidates(ctx, rule="tortured/thesaurus"), ctx.rate, ensure and n == 0)


def _domain(rng: random.Random) -> str:
    a, b = rng.sample(_DOMAIN_WORDS, 2)
    sep = rng.choice(("", "", "-"))
    d = f"{a}{sep}{b}.{rng.choice(_TLDS)}"
    return rng.choice((d, d, d, "www." + d, "https://" + d + "/"))


def _slug(rng: random.Random) -> str:
    words = list(rng.choice(_SLUG_PATTERNS))
    if rng.random() < 0.5:
        words[rng.randrange(len(words))] = rng.choice(_DOMAIN_WORDS)
    return "-".join(words)


def _insertion_points(ctx: Context) -> list[int]:
    """Starts of word tokens that are mid-sentence (not sentence-initial, not after a
    newline), where spam anchors land in spun pages."""
    pts = []
    for i, t in enumerate(ctx.tokens):
        if t.kind == "word" and i > 0 and not sentence_initial(ctx.tokens, i, ctx.text) \
                and ctx.text[ctx.tokens[i - 1].end:t.start] == " ":
            pts.append(t.start)
    return pts


def add_anchors(ctx: Context, n: int) -> int:
    """Insert ``n`` spam anchors (domain or slug, sometimes followed by 1-3 words of another
    language) before mid-sentence words. Each anchor is its own span with original ``""``."""
    pts = _insertion_points(ctx)
    ctx.rng.shuffle(pts)
    done = 0
    for p in pts:
        if done >= n:
            break
        if not ctx.free(p, p):
            continue
        kind_roll = ctx.rng.random()
        anchor = _slug(ctx.rng) if kind_roll < 0.25 else _domain(ctx.rng)
        ctx.add(Edit(p, p, anchor + " ", "injected_anchor", "injected/" + ("slug" if kind_roll < 0.25 else "domain")))
        if ctx.rng.random() < 0.6:
            lang = ctx.rng.choice(sorted(FOREIGN_WORDS))
            words = ctx.rng.sample(FOREIGN_WORDS[lang], ctx.rng.randint(1, 3))
            # Same insertion point: recorded as a second span right after the anchor.
            ctx.edits.append(Edit(p, p, " ".join(words) + " ", "foreign_fragment", f"injected/foreign:{lang}"))
        done += 1
    return done


@family("injected")
def _injected(ctx: Context, ensure: bool) -> None:
    """A base family (function_words, thesaurus or tortured) plus 1 anchor per ~150 words
    (at least one)."""
    base = ctx.rng.choice(("function_words", "thesaurus", "tortured"))
    FAMILIES[base].fn(ctx, False)
    n_words = sum(1 for t in ctx.tokens if t.kind == "word")
    add_anchors(ctx, max(1, round(n_words / 150 * ctx.rng.uniform(0.5, 1.5))))


@family("mixed")
def _mixed(ctx: Context, ensure: bool) -> None:
    """Two or three of the other families on the same text, each at its own rate share."""
    names = ["function_words", "thesaurus", "tortured", "injected"]
    picked = ctx.rng.sample(names, ctx.rng.randint(2, 3))
    base_rate = ctx.rate
    for k, name in enumerate(picked):
        ctx.rate = base_rate * ctx.rng.uniform(0.5, 1.0)
        FAMILIES[name].fn(ctx, ensure and k == 0)
    ctx.rate = base_rate


def families() -> list[str]:
    """Registered family names, in registration order."""
    return list(FAMILIES)


def _rng(family_name: str, seed: int, salt: str = "") -> random.Random:
    # Seeding with a str is deterministic across processes (sha512), unlike hash().
    return random.Random(f"unspin-spinner:{family_name}:{seed}:{salt}")


def spin(text: str, family: str, rate: float | None = None, seed: int = 0,
         resources: Resources | None = None) -> Spun:
    """Spin ``text`` with one family. ``rate`` (share of eligible sites rewritten) is drawn
    from the family's range when not given. At least one change is made whenever the text
    has an eligible site. Deterministic for the same text, family, rate, seed and resources."""
    if family not in FAMILIES:
        raise ValueError(f"unknown spinner family {family!r}; choose from {families()}")
    fam = FAMILIES[family]
    rng = _rng(family, seed, text[:64])
    if rate is None:
        rate = rng.uniform(*fam.rate_range)
    if not 0.0 <= rate <= 1.0:
        raise ValueError("rate must be between 0 and 1")
    ctx = Context(text, rng, rate, resources)
    fam.fn(ctx, True)
    return build(text, _ordered(ctx.edits), family, seed, rate)


def _ordered(edits: list[Edit]) -> list[Edit]:
    """Stable order for building: by position, insertions in the order they were added
    (anchor before its foreign fragment) and before a replacement at the same spot."""
    indexed = list(enumerate(edits))
    indexed.sort(key=lambda ie: (ie[1].start, ie[1].end != ie[1].start, ie[0]))
    return [e for _, e in indexed]


def plant_tortured(sentences: Iterable[str], n: int, seed: int = 0,
                   resources: Resources | None = None) -> list[Spun]:
    """For restore eval: take up to ``n`` of ``sentences`` that contain a standard term from
    the PPS list and replace ONE occurrence per sentence by a tortured form. Returns the
    spun sentences (``.source`` is the real sentence)."""
    res = resources if resources is not None else load_resources()
    rng = _rng("plant_tortured", seed)
    hits: list[tuple[str, list[Candidate]]] = []
    for s in sentences:
        ctx = Context(s, rng, 1.0, res)
        cands = tortured_candidates(ctx)
        if cands:
            hits.append((s, cands))
    rng.shuffle(hits)
    out = []
    for s, cands in hits[:n]:
        ctx = Context(s, rng, 1.0, res)
        ctx._take(rng.choice(cands))
        out.append(build(s, ctx.edits, "plant_tortured", seed, 1.0))
    return out


def spin_corpus(docs: Iterable[Doc], family_names: Sequence[str] | None = None, seed: int = 0,
                resources: Resources | None = None) -> Iterator[tuple[Doc, str, Spun]]:
    """One spun copy per (document, family); seeds differ per document and family.
    Yields (clean doc, family, spun). Convenient for building training/eval sets."""
    names = list(family_names) if family_names is not None else families()
    for k, doc in enumerate(docs):
        for j, name in enumerate(names):
            yield doc, name, spin(doc.text, name, seed=seed * 1_000_003 + k * 101 + j, resources=resources)
