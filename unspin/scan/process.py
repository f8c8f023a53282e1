"""The per-document step: decode a raw record, run the detector, build the output record.

Every exception a document causes is caught here and becomes ``unspin.error`` on that
document's output record, with ``unspin.source`` saying where the record came from. Only a
missing component (``--tier model`` or ``--restore`` without the language model) stops the
job: it would fail every document the same way, and the message says what to install.

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

    Detection is :func:`unspin.check`'s one cascade (``Config.tier``: ``auto``, ``fast`` or
    ``model``), run over a batch at a time (:func:`unspin.detect.check_many`: one batched pass
    of the model tier); ``ScanOptions.deep`` is the older name for ``tier="model"``.
    """

    def __init__(self, options: ScanOptions, config: Config | None = None, as_dict: bool = False):
        self.options = options
        # corpus scale: the keyword-anchor test (the full language model) only when asked
        config = config or Config(keyword_anchors=False)
        if options.deep:
            config = config.replace(tier="model")
        self.config = config
        self.as_dict = as_dict
        self.only = options.only_verdicts()

    def _finish(self, report, text: str) -> dict:
        out = report.to_dict()
        out["kinds"] = report.kinds()
        if report.tier != "fast":
            out["tier"] = report.tier
        if self.options.restore and report.verdict == "spun":
            from .. import restore

            out["restored"] = restore(text, self.config).text
        return out

    def analyse(self, text: str) -> dict:
        """The ``unspin`` object for one text."""
        from .. import check

        return self._finish(check(text, self.config), text)

    def _analyse_many(self, texts: list[str]) -> list:
        """The ``unspin`` objects for ``texts`` (one cascade over them all), or, per text, the
        exception it raised: when the batch fails, each text is checked alone, so one bad
        document fails alone."""
        from ..detect import check_many

        try:
            reports = check_many(texts, self.config)
        except MissingComponent:
            raise
        except Exception:
            reports = None
        out: list = []
        for i, text in enumerate(texts):
            try:
                out.append(self._finish(reports[i], text) if reports is not None else self.analyse(text))
            except MissingComponent:
                raise
            except Exception as exc:
                out.append(exc)
        return out

    def _decode(self, raw: Raw, source: Source):
        """``(record, text, notes)``, or ``(record, exc)`` for a record that cannot be read."""
        opts = self.options
        try:
            record, text, notes = decode_raw(raw, source, opts.text_field, opts.id_field, opts.max_record_bytes)
            if has_surrogates(text) or has_surrogates(record):
                record, text = replace_surrogates(record), replace_surrogates(text)
                notes = [*notes, "lone surrogate code points replaced with U+FFFD"]
            return record, text, notes
        except RecordError as exc:
            return (exc.record if exc.record is not None else {}), exc
        except Exception as exc:  # pragma: no cover - decode_raw raises RecordError
            return {}, exc

    def __call__(self, raw: Raw, source: Source) -> tuple[str, object]:
        return self.batch([raw], source)[0]

    def batch(self, raws: list[Raw], source: Source) -> list[tuple[str, object]]:
        decoded = [self._decode(raw, source) for raw in raws]
        todo = [i for i, d in enumerate(decoded) if len(d) == 3]
        results = dict(zip(todo, self._analyse_many([decoded[i][1] for i in todo]))) if todo else {}
        return [self._output(raw, source, decoded[i], results.get(i)) for i, raw in enumerate(raws)]

    def _output(self, raw: Raw, source: Source, decoded, result) -> tuple[str, object]:
        record = decoded[0]
        if len(decoded) == 2:
            exc = decoded[1]
        else:
            exc = result if isinstance(result, BaseException) else None
        if exc is not None:
            message = str(exc) if isinstance(exc, RecordError) else f"{type(exc).__name__}: {exc}"
            status, result = "error", {"error": message}
        else:
            notes = decoded[2]
            if notes:
                result["notes"] = notes
            status = result["verdict"]
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
            return self._unwritable(status, out, raw, source, exc)

    def _unwritable(self, status, out, raw, source, exc) -> tuple[str, object]:
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
