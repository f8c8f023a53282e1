"""unspin: find text rewritten by article spinners, explain why, and restore the original.

The plain entry points::

    >>> import unspin
    >>> report = unspin.check("Some text ...")          # Report: score, verdict, spans
    >>> restoration = unspin.restore("Some text ...")   # Restoration: text, changes (needs the LM)
"""

from __future__ import annotations

from .config import Config
from .errors import InputError, MissingComponent, UnspinError
from .report import KINDS, VERDICTS, Report, Restoration, Span, apply_spans

__version__ = "0.1.0"

__all__ = [
    "Config", "Report", "Restoration", "Span", "apply_spans", "check", "check_many", "restore",
    "UnspinError", "InputError", "MissingComponent", "KINDS", "VERDICTS", "__version__",
]


def check(text: str, config: Config | None = None) -> Report:
    """Tell whether ``text`` was spun: a calibrated score, a verdict and the evidence spans.

    The best tier installed decides (``Config.tier``, ``Report.tier``): the model tier when
    the ``lm`` extra and the model are installed, otherwise the fast tier (no language
    model). See :func:`unspin.detect.check_many` for the cascade.
    """
    from .detect import check as _check

    return _check(text, config)


def check_many(texts: list, config: Config | None = None) -> list[Report]:
    """:func:`check` for many texts at once: the model tier reads them in batches."""
    from .detect import check_many as _check_many

    return _check_many(list(texts), config)


# The restorer module shares the function's name. Import it now (it is light: the language
# model loads on first use), so that importing the submodule later cannot shadow the
# function below with the module object.
from . import restore as _restore_module  # noqa: E402


def restore(text: str, config: Config | None = None, *, source: str | None = None,
            source_id: str = "source", source_only: bool = False) -> Restoration:
    """Put the most likely original wording back. Needs the language model
    (``pip install 'unspin[lm]'`` then ``unspin models fetch``).

    With ``source`` (the original text, e.g. found by ``unspin trace``), the part of ``text``
    that aligns with it gets the source's wording (spans with ``rule="source:<source_id>:
    <start>-<end>"``) and the language model restores only the rest; ``source_only=True``
    leaves the rest alone and needs no model (:mod:`unspin.source_restore`).

    Lone surrogates in ``text`` are replaced with U+FFFD first (one for one, so offsets into
    ``text`` stay valid); ``Restoration.source`` is the text that was restored."""
    if isinstance(text, str):
        from .textio import clean_text

        text = clean_text(text)[0]
    if source is not None:
        from .source_restore import restore_with_source

        return restore_with_source(text, source, config, source_id=source_id, source_only=source_only)
    return _restore_module.restore(text, config)
