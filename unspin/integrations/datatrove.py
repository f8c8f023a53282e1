"""unspin as a datatrove pipeline step.

    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.readers import JsonlReader
    from datatrove.pipeline.writers import JsonlWriter
    from unspin.integrations.datatrove import UnspinAnnotator

    LocalPipelineExecutor(pipeline=[
        JsonlReader("crawl/"),
        UnspinAnnotator(),                 # annotate only: every document goes on
        JsonlWriter("annotated/"),
    ], tasks=8).run()

By default the step writes ``unspin_score``, ``unspin_verdict`` and ``unspin_reason`` into
``doc.metadata`` (flat keys, so Parquet writers keep a fixed schema) and passes every document
on. ``drop=("spun",)`` removes documents with those verdicts instead; each removal is counted in
datatrove's stats as ``dropped`` and ``dropped_<verdict>``, and an ``exclusion_writer`` keeps the
removed documents, as with datatrove's own filters. A document the detector fails on is kept,
with ``unspin_error`` in its metadata and counted as ``errors`` (add ``"error"`` to ``drop`` to
remove such documents).
"""

from __future__ import annotations

import contextlib
from typing import Iterable

from ..config import Config
from ..errors import InputError, MissingComponent, requires
from ..report import VERDICTS

requires("datatrove", "datatrove")

from datatrove.data import DocumentsPipeline  # noqa: E402
from datatrove.pipeline.base import PipelineStep  # noqa: E402
from datatrove.utils.typeshelper import StatHints  # noqa: E402

DROPPABLE = VERDICTS + ("error",)


class UnspinAnnotator(PipelineStep):
    """Annotate documents with unspin's score and verdict; drop some verdicts only when asked.

    Args:
        config: detection thresholds (:class:`unspin.Config`); the default is conservative.
        drop: verdicts whose documents are removed (any of ``spun``, ``unsure``, ``clean``,
            ``not_applicable``, ``error``). Empty (the default): annotate only.
        deep: the same as ``config=Config(tier="model")``: every document is read by the
            model tier (needs ``unspin[lm]`` and the model). By default ``config.tier`` decides
            (``"auto"``: the cascade of :func:`unspin.check`).
        kinds: also write ``unspin_kinds`` (evidence counts by kind) to the metadata.
        exclusion_writer: a datatrove writer that receives the dropped documents, with
            ``filter_reason`` set to ``unspin_<verdict>``.
    """

    name = "unspin"
    type = "ANNOTATOR"

    def __init__(self, config: Config | None = None, drop: str | Iterable[str] = (), deep: bool = False,
                 kinds: bool = False, exclusion_writer=None):
        super().__init__()
        drop = (drop,) if isinstance(drop, str) else tuple(drop)
        bad = [d for d in drop if d not in DROPPABLE]
        if bad:
            raise InputError(f"cannot drop {', '.join(map(repr, bad))}: choose from {', '.join(DROPPABLE)}")
        self.config = config or Config(keyword_anchors=False)  # corpus scale: no deletion test unless asked
        self.drop = frozenset(drop)
        self.deep = deep
        self.kinds = kinds
        self.exclusion_writer = exclusion_writer
        self._processor = None

    def _analyse(self, text: str) -> dict:
        if self._processor is None:
            from ..scan.options import ScanOptions
            from ..scan.process import DocProcessor

            self._processor = DocProcessor(ScanOptions(deep=self.deep), self.config)
        return self._processor.analyse(text)

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        writer_cm = self.exclusion_writer if self.exclusion_writer else contextlib.nullcontext()
        with writer_cm as writer:
            for doc in data:
                self.stat_update(StatHints.total)
                with self.track_time():
                    try:
                        result = self._analyse(doc.text)
                        verdict = result["verdict"]
                    except MissingComponent:
                        raise
                    except Exception as exc:  # one bad document never stops the pipeline
                        result, verdict = {"error": f"{type(exc).__name__}: {exc}"}, "error"
                if verdict == "error":
                    self.stat_update("errors")
                    doc.metadata["unspin_error"] = result["error"]
                else:
                    self.stat_update(verdict)
                    doc.metadata["unspin_score"] = result["score"]
                    doc.metadata["unspin_verdict"] = verdict
                    doc.metadata["unspin_reason"] = result["reason"]
                    if self.kinds:
                        doc.metadata["unspin_kinds"] = result["kinds"]
                if verdict in self.drop:
                    self.stat_update(StatHints.dropped, f"dropped_{verdict}")
                    if writer is not None:
                        doc.metadata["filter_reason"] = f"unspin_{verdict}"
                        writer.write(doc, rank)
                    continue
                self.stat_update(StatHints.forwarded)
                self.update_doc_stats(doc)
                yield doc
