"""Real spun/original pairs from the development set: loading, word alignment, edit sites, and
scoring a restorer's changes against the source.

Read at run time from ``<shared data>/real_dev`` (``spun.jsonl``, ``sources.jsonl``,
``clean.jsonl``); nothing here is shipped. The alignment follows the set's own
``_raw/pairs.py``: both texts are tokenised into lower-cased words (apostrophes and hyphens
inside a word kept), aligned with :mod:`difflib` (no autojunk), and a *substitution site* is
a replaced run of 1-4 words on each side with aligned (equal) words on both sides. Small
insertions and deletions (1-3 words between equal words) are *minor sites*: a restorer change
there is judged like one at a substitution site, but they are not in the exact-share
denominator. Only the aligned region counts: equal words and inner sites; long unmatched
stretches (most sources are partial) are ignored.

Scoring (:func:`score_pair`):

- **exact**: a substitution site is put back exactly when, aligning the restored text to the
  source the same way, the source words of the site and the equal word on each side of it
  map onto consecutive restored words (the restored text reads like the source there).
- **damage**: words of the spun text that already equalled the source (equal blocks) and
  that a restorer change touched, over all such words.
- **precision**: of the restorer's changes that touch the aligned region, the share that
  touch a site (substitution or minor) that is put back exactly. Changes touching only
  unaligned text are not judged.
"""

from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from eval.corpora import data_dir

_TOKEN = re.compile(r"[A-Za-z0-9]+(?:['\-][A-Za-z0-9]+)*")


def real_dev_dir() -> Path:
    return data_dir() / "real_dev"


def tokens(text: str) -> list[tuple[str, int, int]]:
    """(lower-cased word, start, end) for each word of ``text`` (curly apostrophes read as ')."""
    t = text.replace("’", "'").replace("‘", "'")
    return [(m.group(0).lower(), m.start(), m.end()) for m in _TOKEN.finditer(t)]


@dataclass
class Site:
    """One edit site: spun words ``[i1, i2)`` stand where the source has ``[j1, j2)``."""

    i1: int
    i2: int
    j1: int
    j2: int
    spun: str
    original: str
    substitution: bool  # False: a small insertion or deletion (minor site)


@dataclass
class Pair:
    spun_id: str
    source_id: str
    family: str
    group: str | None
    text: str
    source: str
    spun_toks: list = field(repr=False, default_factory=list)
    source_toks: list = field(repr=False, default_factory=list)
    sites: list[Site] = field(default_factory=list)
    equal: list[tuple[int, int, int, int]] = field(default_factory=list)  # (i1, i2, j1, j2) blocks

    @property
    def fold_key(self) -> str:
        """Pages that share a variant group or a source never sit in different folds."""
        return self.group or self.source_id


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def align(a: list[str], b: list[str]):
    return difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes()


def make_pair(spun: dict, source: dict) -> Pair:
    st, so = tokens(spun["text"]), tokens(source["text"])
    a, b = [t[0] for t in st], [t[0] for t in so]
    ops = align(a, b)
    p = Pair(spun["id"], source["id"], spun["kind"], spun.get("group"), spun["text"], source["text"], st, so)
    for k, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            p.equal.append((i1, i2, j1, j2))
            continue
        inner = 0 < k < len(ops) - 1 and ops[k - 1][0] == "equal" and ops[k + 1][0] == "equal"
        if not inner:
            continue
        if tag == "replace" and i2 - i1 <= 4 and j2 - j1 <= 4:
            p.sites.append(Site(i1, i2, j1, j2, " ".join(a[i1:i2]), " ".join(b[j1:j2]), True))
        elif tag in ("insert", "delete") and max(i2 - i1, j2 - j1) <= 3:
            p.sites.append(Site(i1, i2, j1, j2, " ".join(a[i1:i2]), " ".join(b[j1:j2]), False))
    return p


def load_pairs() -> list[Pair]:
    """Every (spun, source) pair of the development set (49), in the file's order."""
    d = real_dev_dir()
    spun = {r["id"]: r for r in _read_jsonl(d / "spun.jsonl")}
    out = []
    for s in _read_jsonl(d / "sources.jsonl"):
        for sid in s["for"]:
            out.append(make_pair(spun[sid], s))
    return out


def load_clean() -> list[dict]:
    return _read_jsonl(real_dev_dir() / "clean.jsonl")


def _touches(c, a: int, b: int) -> bool:
    """Whether change ``c`` (a span on the text) touches characters ``[a, b)``."""
    if c.start == c.end:
        return a <= c.start <= b
    return c.start < b and c.end > a


def site_results(p: Pair, restored: str) -> list[bool]:
    """For each site of ``p`` (substitution and minor), whether ``restored`` puts it back
    exactly: its source words, with the equal word on each side, map onto consecutive
    restored words."""
    rt = [t[0] for t in tokens(restored)]
    b = [t[0] for t in p.source_toks]
    # source index -> restored index, from the equal blocks of restored vs source
    m: dict[int, int] = {}
    for tag, i1, i2, j1, j2 in align(rt, b):
        if tag == "equal":
            for k in range(i2 - i1):
                m[j1 + k] = i1 + k
    site_ok = []
    for s in p.sites:
        js = list(range(s.j1 - 1, s.j2 + 1))
        ok = all(j in m for j in js) and all(m[js[k + 1]] == m[js[k]] + 1 for k in range(len(js) - 1))
        site_ok.append(ok)
    return site_ok


def score_pair(p: Pair, restored: str, changes: list) -> dict:
    """Counts for one pair (see the module doc), and the per-change verdicts."""
    site_ok = site_results(p, restored)
    st = p.spun_toks

    def char_range(i1: int, i2: int) -> tuple[int, int]:
        if i1 < i2:
            return st[i1][1], st[i2 - 1][2]
        # an empty spun range (the spinner deleted words): the gap between two words
        return st[i1 - 1][2], st[i1][1]

    site_chars = [char_range(s.i1, s.i2) for s in p.sites]
    equal_words = [i for i1, i2, _j1, _j2 in p.equal for i in range(i1, i2)]
    damaged = set()
    judged = right = 0
    verdicts = []
    for c in changes:
        hits = [k for k, (a, bb) in enumerate(site_chars) if _touches(c, a, bb)]
        eq = [i for i in equal_words if _touches(c, st[i][1], st[i][2])]
        damaged.update(eq)
        if not hits and not eq:
            verdicts.append("unjudged")
            continue
        judged += 1
        good = bool(hits) and all(site_ok[k] for k in hits)
        right += good
        verdicts.append("right" if good else "wrong")
    subs = [ok for s, ok in zip(p.sites, site_ok) if s.substitution]
    return {"sites": len(subs), "exact": sum(subs), "minor_sites": len(p.sites) - len(subs),
            "minor_exact": sum(ok for s, ok in zip(p.sites, site_ok) if not s.substitution),
            "changes": len(changes), "judged": judged, "right": right,
            "equal_words": len(equal_words), "damaged": len(damaged), "verdicts": verdicts}


def total(rows: list[dict]) -> dict:
    keys = ("sites", "exact", "minor_sites", "minor_exact", "changes", "judged", "right", "equal_words", "damaged")
    t = {k: sum(r[k] for r in rows) for k in keys}
    t["pages"] = len(rows)
    t["exact_share"] = t["exact"] / t["sites"] if t["sites"] else float("nan")
    t["precision"] = t["right"] / t["judged"] if t["judged"] else float("nan")
    t["damage"] = t["damaged"] / t["equal_words"] if t["equal_words"] else float("nan")
    t["pages_fixed_nothing"] = sum(1 for r in rows if r["exact"] == 0)
    return t


class ReportCache:
    """Detector reports of the restorer (:func:`unspin.restore.pipeline._report_for`), kept in a
    pickle at ``path`` between runs (``None``: in memory only), keyed by the text's SHA-256 and
    the detector's settings (the config less the restorer's own fields). The detector pass (model tier, keyword anchors) is
    the same for collecting the acceptance's trace and for judging the restorer, so the two
    runs share it; delete the file after changing the detector."""

    def __init__(self, path: str | Path | None):
        import pickle

        self.path = Path(path) if path else None
        self.data: dict = {}
        if self.path and self.path.exists():
            self.data = pickle.loads(self.path.read_bytes())

    def get(self, text: str, config=None):
        import hashlib
        import pickle

        from unspin.config import DEFAULT
        from unspin.restore.pipeline import _report_for
        from unspin.textio import clean_text

        config = config or DEFAULT
        text = clean_text(text)[0] if isinstance(text, str) else text
        # the restorer's own settings do not change the detector's report (but for the one
        # that lowers the span floor), so trying them does not invalidate the cache
        detector = {k: v for k, v in config.to_dict().items()
                    if not k.startswith("restore_") or k == "restore_min_evidence"}
        key = hashlib.sha256((text + "\0" + repr(sorted(detector.items()))).encode("utf-8", "surrogatepass")).hexdigest()
        if key not in self.data:
            self.data[key] = _report_for(text, config)
            if self.path:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_bytes(pickle.dumps(self.data))
                tmp.replace(self.path)
        return self.data[key]
