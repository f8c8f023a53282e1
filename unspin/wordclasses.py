"""Closed-class English word lists used by the guards and statistics.

These are grammatical facts of English (determiners, pronouns, prepositions...), written by
hand; they contain no content words and nothing learned from spun text.
"""

DETERMINERS = frozenset(
    "a an the this that these those my your his her its our their whose some any no every each "
    "either neither another such what which one two three several many few all both".split()
)
COPULAS = frozenset(
    "is are was were be been being am looks look looked seems seem seemed feels feel felt almost nearly "
    "like as become became becomes stays stay remained remains still virtually practically".split()
)
SUBJECT_PRONOUNS = frozenset("i you he she it we they".split())
PREPOSITIONS = frozenset(
    "of in on at by for with from to into onto upon about above below over under between among "
    "through during before after against without within along across behind beyond near off out "
    "around toward towards per via since until till like than".split()
)
CONJUNCTIONS = frozenset("and or but nor so yet because although though while whereas if unless".split())
AUXILIARIES = frozenset(
    "do does did have has had will would shall should can could may might must ought "
    "is are was were be been being am".split()
)
ADVERBS_BEFORE_VERB = frozenset(
    "also still even then now never not just only already easily really probably certainly simply "
    "always often sometimes usually rarely actually finally soon quickly slowly truly".split()
)
FUNCTION_WORDS = (
    DETERMINERS | SUBJECT_PRONOUNS | PREPOSITIONS | CONJUNCTIONS | AUXILIARIES
    | frozenset("me him us them it's not there here who whom whose which that as".split())
)
