"""The options of a scan job and its summary.

Detection thresholds (the score band that goes on to the language model, the verdict
thresholds, the size cut) live in :class:`unspin.Config`; :class:`ScanOptions` holds only what
is about the batch job itself.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field

from ..errors import InputError

ONLY_CHOICES = ("spun", "unsure", "clean", "not_applicable")
ENGINES = ("local", "ray")


@dataclass(frozen=True)
class ScanOptions:
    """How to run a scan. Fields marked *(job)* change the output, so they are recorded in the
    output folder's manifest and a rerun with different values is refused rather than mixed."""

    #: *(job)* Field (JSONL key, Parquet column) holding the text. For WARC and ``.txt``
    #: inputs it is the name of the field the extracted text is written to.
    text_field: str = "text"
    #: *(job)* Field holding the document id; for WARC inputs it receives ``WARC-Record-ID``,
    #: for ``.txt`` folders the file's relative path.
    id_field: str = "id"
    #: *(job)* Documents per output shard (per input file: shard ``k`` of a file holds its
    #: records ``k*shard_size`` to ``(k+1)*shard_size - 1``). Smaller shards lose less work when
    #: a run is killed and give Ray more tasks; larger shards mean fewer files.
    shard_size: int = 10_000
    #: *(job)* The older name for ``Config(tier="model")``: the model tier decides every
    #: applicable document. Which tier runs is ``Config.tier`` (``auto``: the cascade, the
    #: model tier where it is installed). Needs ``unspin[lm]`` and the model.
    deep: bool = False
    #: *(job)* Add ``unspin.restored`` (the restored text) to documents judged spun.
    restore: bool = False
    #: *(job)* A verdict (``"spun"``, ``"unsure"``, ``"clean"``, ``"not_applicable"``), or
    #: several joined by commas (``"spun,unsure"``): write only documents with such a verdict,
    #: unannotated, instead of annotating every document. Records that failed are still
    #: written, with ``unspin.error``, so that nothing disappears silently.
    only: str | None = None
    #: *(job)* Records larger than this many bytes become error records without being parsed.
    max_record_bytes: int = 64 << 20
    #: *(job)* Output format when the output is a folder: ``jsonl``, ``jsonl.gz``, ``jsonl.zst``
    #: or ``parquet``. A file output takes its format from its extension.
    output_format: str | None = None
    #: Worker processes (local engine) or parallel tasks (Ray). ``None``: all cores.
    workers: int | None = None
    #: ``"local"`` (a process pool on this machine) or ``"ray"`` (Ray Data).
    engine: str = "local"
    #: Ray cluster address (``"auto"``, ``"ray://head:10001"``); ``None`` starts a local Ray.
    ray_address: str | None = None
    #: Documents sent to a worker at a time.
    batch_size: int = 64
    #: Throw away an earlier, different job's shards in the output instead of refusing.
    overwrite: bool = False
    #: Show a progress bar on standard error (only when it is a terminal).
    progress: bool = True
    #: When standard error is not a terminal (a log file, a batch system), print a status
    #: line every this many seconds instead of the bar; ``None``: nothing (the CLI uses 30 s).
    status_every_s: float | None = None

    def __post_init__(self):
        if self.only is not None:
            bad = [v for v in self.only.split(",") if v not in ONLY_CHOICES]
            if bad or not self.only:
                raise InputError(f"--only takes {', '.join(ONLY_CHOICES)} (or several, joined by commas), "
                                 f"not {self.only!r}")
        if self.engine not in ENGINES:
            raise InputError(f"--engine must be one of {', '.join(ENGINES)}, not {self.engine!r}")
        if self.shard_size < 1:
            raise InputError("--shard-size must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise InputError("--workers must be at least 1")
        if self.batch_size < 1:
            raise InputError("batch_size must be at least 1")
        if self.status_every_s is not None and not self.status_every_s > 0:
            raise InputError("--status-every must be a number of seconds above 0")
        if self.max_record_bytes < 1:
            raise InputError("--max-record-bytes must be at least 1")

    def only_verdicts(self) -> frozenset | None:
        """The verdicts ``only`` keeps, or ``None`` (every document, annotated)."""
        return None if self.only is None else frozenset(self.only.split(","))

    @property
    def n_workers(self) -> int:
        return self.workers or os.cpu_count() or 1

    def job_fields(self) -> dict:
        """The options that change the output (recorded in the manifest)."""
        keys = ("text_field", "id_field", "shard_size", "deep", "restore", "only", "max_record_bytes")
        d = asdict(self)
        return {k: d[k] for k in keys}


COUNTERS = ("documents", "spun", "clean", "unsure", "not_applicable", "errors", "written")


@dataclass
class ScanSummary:
    """What a scan did. Counts cover the whole job, including shards finished by an earlier run;
    ``processed`` and ``seconds`` cover this run only (they give ``docs_per_s``)."""

    counts: dict = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    processed: int = 0
    seconds: float = 0.0
    shards: int = 0
    resumed_shards: int = 0
    output: str = ""
    workers: int = 1
    engine: str = "local"
    #: The first error message in shard order (``None`` when no record failed).
    first_error: str | None = None

    @property
    def docs_per_s(self) -> float:
        return self.processed / self.seconds if self.seconds > 0 else 0.0

    @property
    def checked(self) -> int:
        """Documents that were checked (got a verdict): every document but the errors."""
        return self.counts["documents"] - self.counts["errors"]

    def problem(self) -> str | None:
        """A warning when the job went badly, else ``None``: no document at all, every document
        failed, or more than half of them did (with the first error)."""
        c = self.counts
        if c["documents"] == 0:
            return "the input holds no documents"
        if c["errors"] * 2 > c["documents"]:
            first = f" (first: {self.first_error})" if self.first_error else ""
            share = "all" if c["errors"] == c["documents"] else f"{c['errors']:,} of"
            return f"{share} {c['documents']:,} documents failed{first}; the error records are in {self.output}"
        return None

    def __getattr__(self, name):
        counts = self.__dict__.get("counts", {})
        if name in counts:
            return counts[name]
        raise AttributeError(name)

    def to_dict(self) -> dict:
        return {**self.counts, "processed": self.processed, "seconds": round(self.seconds, 3),
                "docs_per_s": round(self.docs_per_s, 1), "shards": self.shards,
                "resumed_shards": self.resumed_shards, "output": self.output,
                "workers": self.workers, "engine": self.engine, "first_error": self.first_error}

    def line(self) -> str:
        c = self.counts
        text = (f"{c['documents']:,} documents: {c['spun']:,} spun, {c['clean']:,} clean, "
                f"{c['unsure']:,} unsure, {c['not_applicable']:,} not applicable, {c['errors']:,} errors; "
                f"{self.docs_per_s:,.1f} docs/s ({self.workers} worker{'s' if self.workers != 1 else ''}, "
                f"{self.engine})")
        if self.resumed_shards:
            text += f"; {self.resumed_shards} of {self.shards} shards were already done"
        return text
