"""Result types: spans of evidence, the detector's Report and the restorer's Restoration.

Spans are data that can be replayed: applying a list of non-overlapping spans that carry an
``original`` to the input rebuilds the restored text exactly (see :func:`apply_spans`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, asdict
from typing import Iterable

KINDS = ("signature", "substitution", "tortured_phrase", "injected_anchor", "foreign_fragment")
VERDICTS = ("spun", "clean", "unsure", "not_applicable")


@dataclass(frozen=True)
class Span:
    """One piece of evidence, or one change.

    ``start``/``end`` are character offsets into the text as given (Python ``str`` indices).
    ``original`` is the likely original wording (``""`` means "delete this", ``None`` means
    "unknown"). ``rule`` names the lexicon entry or signal that fired.
    """

    start: int
    end: int
    text: str
    kind: str
    original: str | None
    confidence: float
    rule: str

    def to_dict(self) -> dict:
        d = asdict(self)
        d["confidence"] = round(self.confidence, 4)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Span":
        return cls(**{k: d[k] for k in ("start", "end", "text", "kind", "original", "confidence", "rule")})


@dataclass
class Report:
    """What :func:`unspin.check` found.

    ``score`` is a calibrated probability that the text was spun (``None`` when the verdict
    is ``not_applicable``). ``features`` holds the document statistics the score was computed
    from, so a score can be recomputed and explained.
    """

    score: float | None
    verdict: str
    reason: str
    spans: list[Span] = field(default_factory=list)
    features: dict[str, float] = field(default_factory=dict)
    language: str | None = None
    tier: str = "fast"

    def kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.spans:
            out[s.kind] = out.get(s.kind, 0) + 1
        return out

    def to_dict(self, features: bool = False) -> dict:
        d = {
            "score": None if self.score is None else round(self.score, 4),
            "verdict": self.verdict,
            "reason": self.reason,
            "spans": [s.to_dict() for s in self.spans],
        }
        if features:
            d["features"] = {k: round(v, 5) for k, v in self.features.items()}
            d["tier"] = self.tier
        return d


@dataclass
class Restoration:
    """What :func:`unspin.restore` produced: the restored ``text`` and the ``changes`` that
    turn the input into it. ``apply_spans(input, changes) == text`` always holds."""

    source: str
    text: str
    changes: list[Span] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"text": self.text, "changes": [c.to_dict() for c in self.changes]}


def apply_spans(text: str, spans: Iterable[Span]) -> str:
    """Replay changes: replace each span that has an ``original`` by that original.

    Spans must not overlap; spans with ``original is None`` are left as they are.
    """
    out = []
    pos = 0
    for s in sorted(spans, key=lambda s: s.start):
        if s.original is None:
            continue
        if s.start < pos:
            raise ValueError(f"overlapping spans at {s.start}")
        out.append(text[pos:s.start])
        out.append(s.original)
        pos = s.end
    out.append(text[pos:])
    return "".join(out)
