"""Tokenising: words with character offsets, sentence boundaries, and input normalisation.

Offsets always refer to the text as given, so spans found on tokens point back into it.
The tokeniser is a single compiled regular expression, written so that every attempt at a
position does bounded work: an e-mail's local part is at most 64 characters (RFC 5321) and
consumed possessively, a host name has at most 16 labels, and a run of sentence-ending
punctuation is tried once, at its start. Without these bounds ``'a.' * n`` or ``'a_' * n``
made the regex engine rescan the rest of the run at every position (quadratic time).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .budget import checkpoint

# URLs and domain-like tokens first, so "example-brides.org" stays one token.
_URL = r"(?:https?://|www\.)[^\s<>\"'()\[\]]+"
#: Host labels per domain token. DNS allows up to 127; a bound keeps a failed attempt (a long
#: dotted run with no top-level domain at its end) from costing the length of the run. A label
#: (1-63 letters, digits or hyphens, not starting or ending with a hyphen) is read possessively:
#: it can only end at the next ".", so there is nothing to backtrack into.
MAX_LABELS = 16
_DOMAIN = (
    r"(?:(?=[A-Za-z0-9])[A-Za-z0-9-]{1,63}+(?<=[A-Za-z0-9])\.){1,%d}(?:[A-Za-z]{2,24})(?:/[^\s<>\"'()\[\]]*+)?(?![\w.])"
    % MAX_LABELS
)
# The local part is consumed possessively ("@" is not in its class, so nothing is lost).
_EMAIL = r"[\w.+-]{1,64}+@[\w-]++(?:\.[\w-]++)+"
_NUMBER = r"\d+(?:[.,:/-]\d+)*(?:st|nd|rd|th|s)?"
# Words: letters with inner apostrophes (both ' and ’) and hyphens.
_WORD = r"[^\W\d_]+(?:['’\-][^\W\d_]+)*"
_TOKEN_RE = re.compile(
    rf"(?P<url>{_URL})|(?P<email>{_EMAIL})|(?P<domain>{_DOMAIN})|(?P<num>{_NUMBER})|(?P<word>{_WORD})|(?P<punct>[^\w\s])",
    re.UNICODE,
)
# Tried only at the start of a run of sentence-ending marks (the lookbehind): a later start in
# the same run would end at the same place and fail or succeed the same way.
_SENT_END = re.compile(r"(?<![.!?…])[.!?…]++[\"'”’)\]]*+(?=\s|$)|\n\s*\n")


@dataclass(frozen=True, slots=True)
class Token:
    """A token with its offsets into the original text."""

    text: str
    start: int
    end: int
    kind: str  # word, num, url, domain, email, punct

    @property
    def lower(self) -> str:
        return self.text.lower().replace("’", "'")

    @property
    def is_word(self) -> bool:
        return self.kind == "word"


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens (words, numbers, URLs, domains, punctuation) with offsets."""
    toks = [Token(m.group(), m.start(), m.end(), m.lastgroup) for m in _TOKEN_RE.finditer(text)]
    checkpoint("tokenising")
    return toks


def words(text: str) -> list[str]:
    """Lower-cased word tokens only (a cheap helper for statistics)."""
    return [m.group().lower() for m in _TOKEN_RE.finditer(text) if m.lastgroup == "word"]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character ranges of sentences (a punctuation-and-blank-line splitter, good enough for
    scoring windows; it never drops characters between sentences)."""
    spans = []
    pos = 0
    for m in _SENT_END.finditer(text):
        end = m.end()
        if text[pos:end].strip():
            spans.append((pos, end))
        pos = end
    if text[pos:].strip():
        spans.append((pos, len(text)))
    return spans


def is_capitalized(tok: Token) -> bool:
    return tok.kind == "word" and tok.text[:1].isupper()


def sentence_initial(tokens: list[Token], i: int, text: str) -> bool:
    """True if token ``i`` starts a sentence (first token, or after . ! ? : or a blank line)."""
    if i == 0:
        return True
    prev = tokens[i - 1]
    if prev.text in {".", "!", "?", "…", ":", "“", "\"", "‘"}:
        return True
    return "\n" in text[prev.end:tokens[i].start]


def match_case(original: str, observed: str) -> str:
    """Give ``original`` the capitalisation of ``observed``: all-caps stays all-caps, a capital
    first letter is kept; otherwise ``original`` is returned as it is."""
    if len(observed) > 1 and observed.isupper() and not original.isupper():
        return original.upper()
    if observed[:1].isupper() and original[:1].islower():
        return original[:1].upper() + original[1:]
    return original
