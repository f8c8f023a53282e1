"""The per-document step: decode a raw record, run the cascade, build the output record.

Every exception a document causes is caught here and becomes ``unspin.error`` on that
document's output record, with ``unspin.source`` saying where the record came from. Only a
missing component (``--deep`` or ``--restore`` without the language model) stops the job: it
would fail every document the same way, and the message says what to install.

Text is valid Unicode before it is checked: lone surrogates (``"\\ud800"`` in a JSON line is
valid JSON but not text) become U+FFFD in the record and its text, said in ``unspin.notes``.
"""

from __future__ import annotations

import json

from ..config import Config
from ..errors import MissingComponent
from .options import ScanOptions
from .readers import Raw, RecordError, Source, decode_raw, has_surrogates, replace_surrogates
from .writers import encode_jsonl


def error_of(out) -> str:
    """The ``unspin.error`` message of an output record (encoded JSONL or a dict)."""
    try:
        record = json.loads(out) if isinstance(out, bytes) else out
        return str(record["unspin"]["error"])
    except (ValueError, KeyError, TypeError):
        return "?"


class DocProcessor:
    """Callable turning a :class:`Raw` item into ``(status, payload)``.

    ``status`` is the verdict (``spun``, ``clean``, ``unsure``, ``not_applicable``) or
    ``error``; ``payload`` is the output record (encoded JSONL ``bytes``, or a ``dict`` when
    ``as_dict``), or ``None`` when ``--only`` leaves the document out.
    """

    def __init__(self, options: ScanOptions, config: Config | None = None, as_dict: bool = False):
        self.options = options
        self.config = config or Config()
        self.as_dict = as_dict
        self.only = options.only_verdicts()
        self._check = None
        self._deep = None

    def _load(self):
        from .. import check

        self._check = check
        if self.options.deep:
            try:
                from ..deep import deep_check
            except ImportError as exc:
                raise MissingComponent(
                    "--deep needs the language-model tier: pip install 'unspin[lm]' "
                    f"then 'unspin models fetch' ({exc})"
                ) from None
            self._deep = deep_check

    def analyse(self, text: str) -> dict:
        """The ``unspin`` object for one text (fast tier, then the cascade)."""
        if self._check is None:
            self._load()
        config = self.config
        report = self._check(text, config)
        if self._deep is not None and report.score is not None:
            lo, hi = config.deep_band
            if lo <= report.score <= hi:
                report = self._deep(text, config, report)
        out = report.to_dict()
        out["kinds"] = report.kinds()
        if report.tier != "fast":
            out["tier"] = report.tier
        if self.options.restore and report.verdict == "spun":
            from .. import restore

            out["restored"] = restore(text, config).text
        return out

    def __call__(self, raw: Raw, source: Source) -> tuple[str, object]:
        opts = self.options
        record: dict = {}
        try:
            record, text, notes = decode_raw(raw, source, opts.text_field, opts.id_field, opts.max_record_bytes)
            if has_surrogates(text) or has_surrogates(record):
                record, text = replace_surrogates(record), replace_surrogates(text)
                notes = [*notes, "lone surrogate code points replaced with U+FFFD"]
            result = self.analyse(text)
            if notes:
                result["notes"] = notes
            status = result["verdict"]
        except MissingComponent:
            raise
        except RecordError as exc:
            if exc.record is not None:
                record = exc.record
            status, result = "error", {"error": str(exc)}
        except Exception as exc:  # one bad document never sinks the batch
            status, result = "error", {"error": f"{type(exc).__name__}: {exc}"}
        if status == "error":
            result["source"] = f"{source.path}:{raw.index}"
        elif self.only is not None:
            if status not in self.only:
                return status, None
            result = None
        out = dict(record)
        if result is not None:
            out["unspin"] = result
        if self.as_dict and has_surrogates(out):  # e.g. an error record's fields
            out = replace_surrogates(out)
        try:
            return status, (out if self.as_dict else encode_jsonl(out))
        except Exception as exc:  # a value that cannot be written: the record says so
            return self._unwritable(status, out, result, raw, source, exc)

    def _unwritable(self, status, out, result, raw, source, exc) -> tuple[str, object]:
        out = replace_surrogates(out)
        try:
            return status, (out if self.as_dict else encode_jsonl(out))
        except Exception:
            pass
        err = {"error": f"record cannot be written ({type(exc).__name__}: {exc})",
               "source": f"{source.path}:{raw.index}"}
        idf = self.options.id_field
        bare = {idf: out[idf]} if isinstance(out.get(idf), (str, int)) else {}
        bare["unspin"] = err
        bare = replace_surrogates(bare)
        return "error", (bare if self.as_dict else encode_jsonl(bare))

    def batch(self, raws: list[Raw], source: Source) -> list[tuple[str, object]]:
        return [self(raw, source) for raw in raws]
