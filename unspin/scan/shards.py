"""Sharded, resumable job output: layout, manifest, one lock per output, done markers, merge.

Shared by the batch jobs (``unspin scan``, ``unspin cluster``). This module knows nothing of
documents or verdicts: a job names itself (``job="scan"``), says what its output depends on (the
manifest, a JSON-able ``dict``) and writes its shards with :class:`~unspin.scan.writers.ShardWriter`;
this module decides where the shards go, refuses to mix two different jobs in one output, keeps
a second process out while a job runs, skips finished shards on a rerun and merges at the end.

Layout. A job writes its shards into a folder: the output folder itself, or ``OUTPUT.parts/``
next to an output *file* (``out.jsonl``, ``out.parquet``, ...), which is merged from the shards
at the end. A shard is named ``PREFIX-FFFFF-KKKKKK`` (:func:`shard_name`): by convention shard
``KKKKKK`` of input file number ``FFFFF``. Every file the job keeps besides the shards starts with
``_`` or ``.``, so that dataset readers (``pyarrow.dataset``, Spark, DuckDB, datatrove) that open
the folder see only the shards:

=============================  ==========================================================
``PREFIX-FFFFF-KKKKKK.EXT``    a finished shard (``EXT`` from the output format)
``.PREFIX-...EXT.tmp``         a shard being written (renamed into place when whole)
``_PREFIX-FFFFF-KKKKKK.done``  its done marker: a JSON object the job chose (counts, ...)
``_unspin_JOB.json``           the manifest: what the output depends on
``_unspin.lock``               the lock held while a job writes here (holds its pid)
``_merged``                    written after the merge into the output file
=============================  ==========================================================

Use::

    layout = plan_output(output, inputs=paths, default_format="jsonl")   # checks, before any work
    with ShardedOutput(layout, "scan", manifest, overwrite=False, log=log) as out:
        for name in shards_to_write:
            if name in out.done:                 # finished by an earlier run: skip
                continue
            writer = ShardWriter(layout.shard_path(name), layout.fmt)
            ...                                  # writer.write(record) for each record
            write_done(layout, name, writer, {"documents": n})
        markers = out.markers()                  # every done marker, in shard order
        out.merge()                              # into the output file, when there is one

Worker processes come from :func:`process_pool`: they die with the job's process (a ``kill -9``
of the parent must not leave them running) and never keep its lock.

Shard names must depend only on the inputs (never on timing or the number of workers): then a
resumed run writes the same shards as an uninterrupted one and the merged output is the same.
:func:`write_done` works without the :class:`ShardedOutput` object (in a Ray task, say); the
lock is held by the process that opened the output.
"""

from __future__ import annotations

import json
import os
import re
import sys
from dataclasses import dataclass, replace

from ..errors import InputError, OutputError  # OutputError (exit 2): re-exported for the jobs
from .writers import FORMATS, ShardWriter, extension, format_of, merge

LOCK = "_unspin.lock"
MERGED = "_merged"
DONE_SUFFIX = ".done"
#: A shard's name: a lower-case prefix, the input file's number and the shard's number.
SHARD_RE = re.compile(r"^[a-z][a-z0-9]*-\d{5}-\d{6}$")
_OWN_FILE_RE = re.compile(r"^[._]?[a-z][a-z0-9]*-\d{5}-\d{6}[.]")


def manifest_name(job: str) -> str:
    return f"_unspin_{job}.json"


def shard_name(file_index: int, shard_index: int, prefix: str = "part") -> str:
    """``part-00003-000012``: shard 12 of input file 3."""
    return f"{prefix}-{file_index:05d}-{shard_index:06d}"


@dataclass(frozen=True)
class Layout:
    """Where a job's shards and markers go."""

    folder: str  #: the shard folder
    fmt: str  #: output format of every shard (a key of :data:`~unspin.scan.writers.FORMATS`' values)
    merged: str | None  #: the output file the shards are merged into, or ``None``

    def shard_path(self, name: str) -> str:
        return os.path.join(self.folder, name + extension(self.fmt))

    def done_path(self, name: str) -> str:
        return os.path.join(self.folder, "_" + name + DONE_SUFFIX)

    def absolute(self) -> "Layout":
        """The same layout with absolute paths (for tasks that run elsewhere)."""
        return replace(self, folder=os.path.abspath(self.folder),
                       merged=None if self.merged is None else os.path.abspath(self.merged))


# ----------------------------------------------------------------------------- checking the output

def _nearest_existing(path: str) -> str:
    path = os.path.abspath(path)
    while not os.path.lexists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path


def _inside(path: str, folder: str) -> bool:
    try:
        return os.path.commonpath([path, folder]) == folder
    except ValueError:  # different drives
        return False


def plan_output(output: str, inputs=(), default_format: str | None = "jsonl") -> Layout:
    """The :class:`Layout` for ``output``, checked before any work. Raises :class:`OutputError`
    (exit 2) when the output name has an unknown extension (``out.csv``: a file output must end
    in one of :data:`~unspin.scan.writers.FORMATS`; a folder name has no extension or ends with
    ``/``), lies under a regular file, is not writable, or is (or holds) one of ``inputs``
    (paths; ``-`` for standard input is ignored)."""
    if not output or output == "-":
        raise OutputError("the output must be a file or folder name (writing to standard output is not supported)")
    fmt = format_of(output)
    is_dir = os.path.isdir(output)
    if fmt is not None and not is_dir:
        layout = Layout(output + ".parts", fmt, output)
    else:
        base = os.path.basename(output.rstrip("/" + os.sep))
        suffix = os.path.splitext(base)[1]
        if not is_dir and suffix and not output.endswith(("/", os.sep)):
            raise OutputError(
                f"{output}: unknown output extension {suffix!r}; name a file "
                f"{', '.join('OUT' + e for e in FORMATS)}, or a folder of shards (a name without "
                "an extension, or ending with /)"
            )
        fmt = default_format or "jsonl"
        try:
            extension(fmt)
        except InputError as exc:
            raise OutputError(str(exc)) from None
        layout = Layout(output.rstrip("/" + os.sep) or output, fmt, None)

    if layout.merged is not None and os.path.lexists(layout.merged) and not os.path.isfile(layout.merged):
        raise OutputError(f"{layout.merged} exists and is not a regular file")
    if os.path.lexists(layout.folder) and not os.path.isdir(layout.folder):
        raise OutputError(f"{layout.folder} exists and is not a folder")
    anchor = _nearest_existing(layout.folder)
    if not os.path.isdir(anchor):
        raise OutputError(f"cannot create {output}: {anchor} is a file, not a folder")
    target = layout.folder if os.path.isdir(layout.folder) else anchor
    if not os.access(target, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write to {target}: permission denied")
    if layout.merged is not None and os.path.exists(layout.merged) and not os.access(layout.merged, os.W_OK):
        raise OutputError(f"cannot write to {layout.merged}: permission denied")

    real_folder = os.path.realpath(layout.folder)
    real_merged = None if layout.merged is None else os.path.realpath(layout.merged)
    for path in inputs:
        if path == "-":
            continue
        real = os.path.realpath(path)
        if real in (real_folder, real_merged):
            raise OutputError(f"the output {output} is also an input; choose another output")
        if _inside(real, real_folder):
            raise OutputError(f"the input {path} is inside the output folder {layout.folder}; choose another output")
    return layout


# ----------------------------------------------------------------------------- the lock

_HELD: set[int] = set()  # lock descriptors held by this process


def _close_inherited() -> None:
    """In a forked child (a worker): close the inherited lock descriptors, so that the lock is
    the parent's alone and goes when the parent goes (``flock`` locks are released only when
    every descriptor sharing them is closed; closing a duplicate does not release it)."""
    for fd in list(_HELD):
        try:
            os.close(fd)
        except OSError:
            pass
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited)


class OutputLock:
    """An exclusive lock on a shard folder (``_unspin.lock``, an OS file lock, so a killed job
    never leaves it held). :meth:`acquire` raises :class:`OutputError` when another process
    holds it. Processes forked while it is held do not keep it."""

    def __init__(self, folder: str):
        self.path = os.path.join(folder, LOCK)
        self._fd: int | None = None

    def acquire(self) -> "OutputLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            _lock_fd(fd)
        except OSError:
            try:
                holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
            except OSError:
                holder = ""
            os.close(fd)
            who = f" (pid {holder})" if holder.isdigit() else ""
            raise OutputError(
                f"another unspin job{who} is writing to {os.path.dirname(self.path) or '.'}; "
                "wait for it to finish, or choose another output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd
        _HELD.add(fd)
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            except OSError:
                pass
            _HELD.discard(self._fd)
            os.close(self._fd)  # closing the descriptor releases the lock
            self._fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


def _lock_fd(fd: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - not tested here
        import msvcrt

        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
    else:
        import fcntl

        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


# ----------------------------------------------------------------------------- markers

def _write_json(path: str, data: dict) -> None:
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, "." + name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


def write_done(layout: Layout, name: str, writer: ShardWriter | None, info: dict) -> None:
    """Close ``writer`` (making the shard visible), then write shard ``name``'s done marker with
    ``info`` (plus ``written``: the records in the shard). ``writer=None``: a marker only, for a
    step that leaves no shard file."""
    if writer is not None:
        writer.close()
        info = {**info, "written": writer.count}
    _write_json(layout.done_path(name), info)


def read_markers(layout: Layout, need_shards: bool = True) -> dict[str, dict]:
    """The done markers in ``layout.folder`` (name -> marker), in name order. With
    ``need_shards``, a marker whose shard file is missing is removed (the shard is redone);
    an unreadable marker is removed too."""
    out: dict[str, dict] = {}
    for fname in sorted(os.listdir(layout.folder)):
        if not (fname.startswith("_") and fname.endswith(DONE_SUFFIX)):
            continue
        name = fname[1: -len(DONE_SUFFIX)]
        if not SHARD_RE.match(name):
            continue
        path = os.path.join(layout.folder, fname)
        if need_shards and not os.path.exists(layout.shard_path(name)):
            os.remove(path)
            continue
        try:
            with open(path, encoding="utf-8") as fh:
                out[name] = json.load(fh)
        except (OSError, ValueError):
            os.remove(path)
    return out


def sum_markers(markers: dict[str, dict], counters) -> dict[str, int]:
    """The sum of ``counters`` over the markers."""
    totals = dict.fromkeys(counters, 0)
    for m in markers.values():
        for k in counters:
            totals[k] += m.get(k, 0)
    return totals


# ----------------------------------------------------------------------------- the job's output

class ShardedOutput:
    """One job's sharded output, open for writing: the folder exists, the lock is held, the
    manifest is checked (a different job's shards are refused, or discarded with
    ``overwrite``), leftovers of a killed run are removed, and :attr:`done` holds the done
    markers of shards finished earlier (empty with ``resume=False``: every shard is redone).

    ``manifest`` is what the output depends on (inputs, options); it is stored as
    ``_unspin_JOB.json``, and a rerun whose manifest differs is refused. Use as a context
    manager (the lock is released on exit)."""

    def __init__(self, layout: Layout, job: str, manifest: dict, overwrite: bool = False,
                 resume: bool = True, log=None):
        if not re.match(r"^[a-z][a-z0-9_]*$", job):
            raise ValueError(f"job name {job!r}: lower-case letters, digits and _ only")
        self.layout = layout
        self.job = job
        self.manifest = json.loads(json.dumps(manifest))  # what reading it back would give
        self.overwrite = overwrite
        self.resume = resume
        self.log = log or (lambda msg: None)
        self.lock = OutputLock(layout.folder)
        self.done: dict[str, dict] = {}

    # -- opening
    def __enter__(self) -> "ShardedOutput":
        self.open()
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def open(self) -> dict[str, dict]:
        layout = self.layout
        try:
            os.makedirs(layout.folder, exist_ok=True)
            self.lock.acquire()
        except OutputError:
            raise
        except OSError as exc:
            raise OutputError(f"cannot create or lock {layout.folder}: {exc.strerror or exc}") from None
        try:
            self._check_manifest()
            self._upgrade_markers()
            for fname in os.listdir(layout.folder):
                if fname.endswith(".tmp"):  # a shard or marker cut short by a killed run
                    os.remove(os.path.join(layout.folder, fname))
            if layout.merged and os.path.exists(self._merged_marker):
                with open(self._merged_marker, encoding="utf-8") as fh:
                    info = json.load(fh)
                if not (os.path.exists(layout.merged) and os.path.getsize(layout.merged) == info.get("size")):
                    self.log(f"{layout.merged} is missing or changed since it was merged; running again")
                    self.clear()
                    _write_json(self._manifest_path, self.manifest)
            self.done = read_markers(layout, need_shards=not self.finished)
        except BaseException:
            self.lock.release()
            raise
        return self.done

    def close(self) -> None:
        self.lock.release()

    @property
    def _manifest_path(self) -> str:
        return os.path.join(self.layout.folder, manifest_name(self.job))

    @property
    def _merged_marker(self) -> str:
        return os.path.join(self.layout.folder, MERGED)

    @property
    def finished(self) -> bool:
        """Merged into the output file already (a rerun of a finished job has nothing to do)."""
        return self.layout.merged is not None and os.path.exists(self._merged_marker)

    def _check_manifest(self) -> None:
        folder = self.layout.folder
        names = os.listdir(folder)
        others = [n for n in names if n.startswith("_unspin_") and n.endswith(".json")
                  and n != manifest_name(self.job)]
        if others and not self.overwrite:
            job = others[0][len("_unspin_"): -len(".json")]
            raise OutputError(f"{folder} holds the output of an unspin {job} job; "
                              "use another output, or --overwrite to discard it")
        path = self._manifest_path
        if os.path.exists(path):
            try:
                with open(path, encoding="utf-8") as fh:
                    old = json.load(fh)
            except (OSError, ValueError):
                old = None
            if old != self.manifest:
                if not self.overwrite:
                    diff = sorted(k for k in self.manifest if old is None or old.get(k) != self.manifest[k])
                    raise OutputError(
                        f"{folder} holds shards of a different {self.job} (differs in: {', '.join(diff)}); "
                        "use another output, or --overwrite to discard them"
                    )
                self.log(f"discarding the earlier {self.job}'s shards in {folder}")
                self.clear()
            elif not self.resume:
                self.log(f"this {self.job} cannot resume (its input is read once): starting afresh")
                self.clear()
        elif self.overwrite or others:
            self.clear()
        elif any(_OWN_FILE_RE.match(n) for n in names):
            raise OutputError(f"{folder} holds shard files that are not from an unspin {self.job} with a "
                              "manifest; use another output, or --overwrite")
        _write_json(path, self.manifest)

    def _upgrade_markers(self) -> None:
        """Rename done markers of unspin <= 0.x (``part-...done``, seen by dataset readers)."""
        for fname in os.listdir(self.layout.folder):
            if fname.endswith(DONE_SUFFIX) and SHARD_RE.match(fname[: -len(DONE_SUFFIX)]):
                os.replace(os.path.join(self.layout.folder, fname),
                           self.layout.done_path(fname[: -len(DONE_SUFFIX)]))

    def clear(self) -> None:
        """Remove this job's files from the folder (shards, markers, manifests; never anything
        else, and never the lock)."""
        folder = self.layout.folder
        for fname in os.listdir(folder):
            if (_OWN_FILE_RE.match(fname) or fname == MERGED or fname.endswith(".tmp")
                    or (fname.startswith("_unspin_") and fname.endswith(".json"))):
                os.remove(os.path.join(folder, fname))

    # -- finishing
    def markers(self) -> dict[str, dict]:
        """Every done marker now in the folder, in shard order."""
        return read_markers(self.layout, need_shards=False)

    def merge(self) -> bool:
        """Merge the shards, in name order, into the output file (when there is one; once);
        then remove them and write ``_merged``. Returns whether it merged now."""
        layout = self.layout
        if layout.merged is None or self.finished:
            return False
        names = list(self.markers())
        try:
            merge([layout.shard_path(n) for n in names], layout.merged, layout.fmt)
        except OSError as exc:
            raise OutputError(f"cannot write {layout.merged}: {exc.strerror or exc}; the shards are kept in "
                              f"{layout.folder}: run the same command again to retry the merge") from None
        _write_json(self._merged_marker, {"size": os.path.getsize(layout.merged), "shards": len(names)})
        for n in names:
            os.remove(layout.shard_path(n))
        self.log(f"merged {len(names)} shard(s) into {layout.merged}")
        return True


# ----------------------------------------------------------------------------- workers

def shard_batches(records, shard_of, done, batch_size: int, on_skip=None):
    """Deal one input's records into work for its output shards, in order.

    Yields ``("batch", shard, [records])`` (at most ``batch_size`` records, all of one shard)
    and ``("close", shard, None)`` once a shard has had all its records. Records whose shard
    is in ``done`` (finished in an earlier run) are skipped, calling ``on_skip()`` for each.
    ``shard_of(record)`` names a record's shard. The batch jobs (``scan``, ``cluster``) queue
    the batches on their pool and write a shard's done marker at its close event."""
    current, batch = None, []
    for rec in records:
        name = shard_of(rec)
        if name in done:
            if on_skip is not None:
                on_skip()
            continue
        if name != current:
            if batch:
                yield "batch", current, batch
                batch = []
            if current is not None:
                yield "close", current, None
            current = name
        batch.append(rec)
        if len(batch) >= batch_size:
            yield "batch", current, batch
            batch = []
    if batch:
        yield "batch", current, batch
    if current is not None:
        yield "close", current, None


def die_with_parent(parent_pid: int, poll_s: float = 0.5) -> None:
    """Make this (worker) process end when ``parent_pid`` does, however the parent ends (a
    ``kill -9`` included, where it cannot tell its workers): on Linux the kernel sends SIGKILL
    (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also checks every ``poll_s``
    seconds whether the parent is still the parent."""
    import signal
    import threading
    import time

    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent_pid:  # the parent died before the line above took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="unspin-parent-watch", daemon=True).start()


def _init_pool_worker(parent_pid: int, initializer, initargs) -> None:
    die_with_parent(parent_pid)
    if initializer is not None:
        initializer(*initargs)


def process_pool(workers: int, fork: bool = True, initializer=None, initargs=()):
    """A ``ProcessPoolExecutor`` whose workers die with this process (:func:`die_with_parent`)
    and do not hold its output locks. ``fork``: fork the workers where the platform can (they
    share the pages the parent loaded before), else spawn them."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = "fork" if fork and "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(method),
                               initializer=_init_pool_worker, initargs=(os.getpid(), initializer, initargs))


def progress_bar(enabled: bool, total: int | None, initial: int = 0, desc: str = "unspin", unit: str = "doc",
                 status_every_s: float | None = None, stream=None):
    """Progress on standard error, or ``None``: a tqdm bar when it is a terminal; otherwise,
    with ``status_every_s``, a status line that often (a log file or a batch system's output
    then shows the job is alive: the first line at once, then every ``status_every_s``
    seconds). The object has ``update(n)`` and ``close()``."""
    if not enabled:
        return None
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    if tty:
        try:
            from tqdm import tqdm
        except ImportError:
            return None
        return tqdm(total=total, initial=initial, unit=unit, dynamic_ncols=True, smoothing=0.1,
                    file=stream, desc=desc)
    if status_every_s is None:
        return None
    return StatusLines(total, initial, desc, unit, status_every_s, stream)


class StatusLines:
    """Progress as a line every so often (for a standard error that is not a terminal)."""

    def __init__(self, total: int | None, initial: int, desc: str, unit: str, every_s: float, stream):
        import time

        self._clock = time.monotonic
        self.total, self.done, self.desc, self.unit = total, initial, desc, unit
        self.every_s, self.stream = every_s, stream
        self._start = self._clock()
        self._this_run = 0
        self._last = self._start
        of = f" of {total:,}" if total is not None else ""
        self._print(f"starting: {initial:,}{of} {unit}s done")

    def _print(self, text: str) -> None:
        try:
            print(f"{self.desc}: {text}", file=self.stream, flush=True)
        except (OSError, ValueError):  # a closed or full stream must not stop the job
            pass

    def update(self, n: int = 1) -> None:
        self.done += n
        self._this_run += n
        now = self._clock()
        if now - self._last >= self.every_s:
            self._last = now
            rate = self._this_run / max(now - self._start, 1e-9)
            of = f" of {self.total:,}" if self.total is not None else ""
            self._print(f"{self.done:,}{of} {self.unit}s done ({rate:,.1f} {self.unit}s/s)")

    def close(self) -> None:
        pass
