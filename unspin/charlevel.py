"""Character-level spinner traces: leftover spintax, homoglyphs, invisible characters.

* Spintax is the template language of spinners: ``{great|excellent|fine}``. A page published
  with an unresolved template still shows the braces; the first alternative is taken as the
  original (spinners list the source wording first).
* Homoglyphs: Latin words with Cyrillic or Greek look-alike letters inside ("pаper" with a
  Cyrillic "а"), used to defeat plagiarism checkers. The original is the word with the
  look-alikes mapped back to Latin.
* Invisible characters (zero-width space/joiners, word joiner, soft hyphen, BOM) inside a
  word, used for the same purpose. The original drops them.

All three are reported as ``signature`` spans; the rule says which trace fired. They work on
the raw text (before tokenising, which would split a word at an invisible character).
"""

from __future__ import annotations

import re

from .report import Span

_SPINTAX = re.compile(r"\{([A-Za-z][A-Za-z' \-]{0,60})((?:\|[A-Za-z' \-]{0,60}){1,12})\}")
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_INVISIBLE_IN_WORD = re.compile(rf"(?<=\w)[{_INVISIBLE}]+(?=\w)")
_MIXED_SCRIPT = re.compile(r"\b(?=[^\W\d_]*[A-Za-z])(?=[^\W\d_]*[\u0370-\u03ff\u0400-\u04ff])[^\W\d_]+\b")

#: Cyrillic and Greek letters that look like Latin ones (a fact of the Unicode repertoire).
_LOOKALIKE = str.maketrans(
    "аеорсхуіјѕԁһӏАВЕКМНОРСТХІЈЅαεικνορτυχΑΒΕΗΙΚΜΝΟΡΤΥΧΖ",
    "aeopcxyijsdhlABEKMHOPCTXIJSaeikvoptuxABEHIKMNOPTYXZ",
)


def find_charlevel(text: str) -> list[Span]:
    spans: list[Span] = []
    for m in _SPINTAX.finditer(text):
        first = m.group(1)
        alts = [a for a in m.group(2).split("|")[1:]]
        if not any(a.strip() for a in alts):
            continue
        spans.append(Span(m.start(), m.end(), m.group(), "signature", first, 0.9, "spintax:unresolved"))
    for m in _MIXED_SCRIPT.finditer(text):
        word = m.group()
        fixed = word.translate(_LOOKALIKE)
        if fixed == word or not fixed.isascii():
            continue  # a genuinely mixed word (e.g. a transliteration), not a disguise
        spans.append(Span(m.start(), m.end(), word, "signature", fixed, 0.9, "homoglyph:latin-lookalike"))
    for m in _INVISIBLE_IN_WORD.finditer(text):
        chars = sorted(set(m.group()))
        # a soft hyphen alone can be honest typesetting (&shy;): weak evidence
        conf = 0.4 if chars == ["\u00ad"] else 0.8
        spans.append(Span(m.start(), m.end(), m.group(), "signature", "", conf, "invisible:" + "+".join(f"U+{ord(c):04X}" for c in chars)))
    return spans
