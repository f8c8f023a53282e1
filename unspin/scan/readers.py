"""Readers: one per input format, each yielding raw records in a fixed order.

A reader does as little as it can in the process that reads (so one reading process can feed
many workers): it yields :class:`Raw` items, cheap to pickle, numbered by their position in the
input. :func:`decode_raw` then turns a raw item into a record (a ``dict``) and its text; it runs
in the worker and raises :class:`RecordError` for a malformed record, which the caller turns into
an output record with ``unspin.error`` set. A reader never raises for bad data inside a file: a
damaged stream (a truncated ``.gz``, a corrupt WARC) yields one error item and ends that file.

Formats, chosen by file name:

* ``.jsonl``, ``.json``, ``.ndjson``, optionally ``.gz`` or ``.zst``: one JSON object per line.
  The record index is the line number (from 0); blank lines are skipped.
* ``.parquet``: one record per row (needs ``pyarrow``).
* ``.warc``, ``.warc.gz``: WARC ``response`` and ``resource`` records with an HTML or plain-text
  payload; HTML goes through resiliparse's main-content extractor (needs ``fastwarc`` and
  ``resiliparse``). Other WARC records (requests, metadata, images) are not documents and are
  skipped. The record index counts the documents yielded.
* a folder: every ``*.txt`` file below it, sorted by relative path, one document each, with the
  relative path as the id.
* ``-``: standard input, JSONL (gzip or zstd compression is recognised by its first bytes).

An input that cannot be opened or read at all is refused before any work (:func:`detect`
raises :class:`~unspin.errors.InputError`, exit 2); one that fails later, or whose compressed
stream is truncated or corrupt, ends with an error record saying "stream is damaged", after
the records read before the damage.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import re
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..errors import InputError, UnspinError, requires
from ..textio import DecodingWarning, decode

JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
COMPRESSIONS = {".gz": "gzip", ".zst": "zstd", ".zstd": "zstd"}
STDIN = "-"
_MAGIC = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd"}
_SURROGATES = re.compile("[\ud800-\udfff]")


class RecordError(ValueError):
    """One record cannot be turned into a document (malformed, too large, no text).

    ``record`` holds the fields that could be read, so the error record keeps them."""

    def __init__(self, message: str, record: dict | None = None):
        super().__init__(message)
        self.record = record


@dataclass(frozen=True)
class Source:
    """One input: a file (or a folder of ``.txt`` files) and how to read it."""

    path: str
    format: str  # "jsonl", "parquet", "warc", "txt"
    compression: str | None = None

    @property
    def name(self) -> str:
        if self.path == STDIN:
            return "<stdin>"
        return os.path.basename(self.path.rstrip("/")) or self.path

    @property
    def stdin(self) -> bool:
        return self.path == STDIN


@dataclass(frozen=True, slots=True)
class Raw:
    """A record as read, before parsing. ``kind`` says how to decode ``data``:

    ``json`` (bytes: one JSONL line), ``row`` (dict: a Parquet row), ``warc`` (dict of fields,
    with the HTTP body as bytes under ``"_body"``), ``txt`` (a file path), ``error`` (str: why
    the record could not be read at all), ``huge`` (int: the size of a record over the limit).
    """

    index: int
    kind: str
    data: object


def detect(path: str) -> Source:
    """Work out the format of ``path`` from its name (``-``: standard input, JSONL). Raises
    :class:`InputError` for a path that does not exist or cannot be read, or a format unspin
    cannot read."""
    if path == STDIN:
        return Source(STDIN, "jsonl", _stdin_compression())
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file or folder: {path}")
    if p.is_dir():
        try:
            os.listdir(p)
        except OSError as exc:
            raise InputError(f"cannot read the folder {path}: {exc.strerror or exc}") from None
        return Source(str(p), "txt")
    if not p.is_file():
        raise InputError(f"{path} is not a regular file or a folder")
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from None
    name = p.name.lower()
    compression = None
    for suffix, comp in COMPRESSIONS.items():
        if name.endswith(suffix):
            compression = comp
            name = name[: -len(suffix)]
            break
    if name.endswith(JSONL_SUFFIXES):
        return Source(str(p), "jsonl", compression)
    if name.endswith(".parquet") and compression is None:
        return Source(str(p), "parquet")
    if name.endswith((".warc", ".arc")):
        # fastwarc reads gzip members itself; it needs no separate decompression.
        return Source(str(p), "warc", compression)
    raise InputError(
        f"cannot tell the format of {path}: expected .jsonl/.jsonl.gz/.jsonl.zst, .parquet, "
        ".warc/.warc.gz, or a folder of .txt files"
    )


def _stdin_compression() -> str | None:
    stream = sys.stdin.buffer
    if not hasattr(stream, "peek"):  # pragma: no cover - sys.stdin.buffer is a BufferedReader
        return None
    head = stream.peek(4)[:4]
    for magic, comp in _MAGIC.items():
        if head.startswith(magic):
            return comp
    return None


class _Unclosed(io.RawIOBase):
    """Standard input, read through without closing it."""

    def __init__(self, fh):
        self._fh = fh

    def readable(self):
        return True

    def readinto(self, b):
        data = self._fh.read1(len(b)) if hasattr(self._fh, "read1") else self._fh.read(len(b))
        b[: len(data)] = data
        return len(data)


class ZstdReader(io.RawIOBase):
    """A zstd stream as raw bytes: every frame in turn (shards merged into one ``.jsonl.zst``
    are several frames), and ``EOFError`` when the data ends inside a frame (a truncated file,
    which zstandard's own stream reader reports as a clean end)."""

    def __init__(self, fh):
        self._zstd = requires("zstandard", "scan")
        self._fh = fh
        self._obj = None
        self._buf = b""
        self._pos = 0
        self._eof = False
        self._error: Exception | None = None

    def readable(self):
        return True

    def readinto(self, b) -> int:
        while self._pos >= len(self._buf):
            if self._error is not None:  # after the data decoded before the damage
                raise self._error
            if self._eof:
                return 0
            chunk = self._fh.read(1 << 14)
            if not chunk:
                self._eof = True
                if self._obj is not None and not self._obj.eof:
                    raise EOFError("the zstd data ends in the middle of a frame (truncated)")
                return 0
            parts = []
            try:
                while chunk:
                    if self._obj is None or self._obj.eof:
                        self._obj = self._zstd.ZstdDecompressor().decompressobj()
                    parts.append(self._obj.decompress(chunk))
                    chunk = self._obj.unused_data if self._obj.eof else b""
            except self._zstd.ZstdError as exc:
                self._error = exc
            self._buf, self._pos = b"".join(parts), 0
        n = min(len(b), len(self._buf) - self._pos)
        b[:n] = self._buf[self._pos: self._pos + n]
        self._pos += n
        return n

    def close(self):
        try:
            self._fh.close()
        finally:
            super().close()


def _open_binary(source: Source):
    if source.stdin:
        fh = io.BufferedReader(_Unclosed(sys.stdin.buffer))
    else:
        fh = open(source.path, "rb")
    if source.compression == "gzip":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # closing it leaves ``fh`` open: see _opened
    if source.compression == "zstd":
        return io.BufferedReader(ZstdReader(fh))
    return fh


class _opened:
    """``with _opened(source) as fh``: the decompressed stream, and every layer closed after."""

    def __init__(self, source: Source):
        self.fh = _open_binary(source)

    def __enter__(self):
        return self.fh

    def __exit__(self, *exc):
        inner = getattr(self.fh, "fileobj", None)
        try:
            self.fh.close()
        finally:
            if inner is not None:
                inner.close()


def iter_raw(source: Source, start: int = 0, stop: int | None = None,
             max_record_bytes: int = 64 << 20) -> Iterator[Raw]:
    """Yield the raw records of ``source`` whose index is in ``[start, stop)``, in order."""
    readers = {"jsonl": _iter_jsonl, "parquet": _iter_parquet, "warc": _iter_warc, "txt": _iter_txt}
    yield from readers[source.format](source, start, stop, max_record_bytes)


def _stream_error(source: Source, exc: BaseException) -> str:
    return f"{source.name}: input stream is damaged ({type(exc).__name__}: {exc}); the rest of the file was not read"


def _iter_jsonl(source: Source, start: int, stop: int | None, limit: int) -> Iterator[Raw]:
    index = -1
    try:
        with _opened(source) as fh:
            while True:
                index += 1
                if stop is not None and index >= stop:
                    return
                line = fh.readline(limit + 1)
                if not line:
                    return
                if len(line) > limit and not line.endswith(b"\n"):
                    size = len(line)
                    while True:  # skip the rest of a huge line without holding it in memory
                        part = fh.readline(1 << 20)
                        size += len(part)
                        if not part or part.endswith(b"\n"):
                            break
                    if index >= start:
                        yield Raw(index, "huge", size)
                    continue
                if index < start or not line.strip():
                    continue
                yield Raw(index, "json", line)
    except UnspinError:
        raise
    except Exception as exc:  # unreadable, truncated or corrupt (zlib.error, ZstdError, EOFError...)
        index = max(index, start, 0)
        if stop is None or index < stop:
            yield Raw(index, "error", _stream_error(source, exc))


def _iter_parquet(source: Source, start: int, stop: int | None, limit: int) -> Iterator[Raw]:
    pq = requires("pyarrow.parquet", "scan")
    index = 0
    try:
        pf = pq.ParquetFile(source.path)
        meta = pf.metadata
        groups = []
        for g in range(meta.num_row_groups):  # skip whole row groups before ``start``
            n = meta.row_group(g).num_rows
            if index + n > start and (stop is None or index < stop):
                groups.append(g)
            elif not groups:
                index += n
        if not groups:
            return
        for batch in pf.iter_batches(batch_size=1024, row_groups=groups):
            for row in batch.to_pylist():
                if stop is not None and index >= stop:
                    return
                if index >= start:
                    yield Raw(index, "row", row)
                index += 1
    except UnspinError:
        raise
    except Exception as exc:  # pyarrow raises its own error types for corrupt files
        yield Raw(max(index, start), "error", f"{source.name}: cannot read Parquet ({type(exc).__name__}: {exc})")


_TEXT_TYPES = ("text/html", "application/xhtml+xml", "text/plain")


def _iter_warc(source: Source, start: int, stop: int | None, limit: int,
               read_body: bool = True) -> Iterator[Raw]:
    requires("fastwarc", "scan")
    from fastwarc.warc import ArchiveIterator, WarcRecordType

    index = 0
    documents = WarcRecordType.response | WarcRecordType.resource
    last_pos = 0  # where the last record seen starts (every type: the tail check needs it)
    try:
        with open(source.path, "rb") as fh:
            it = ArchiveIterator(fh, record_types=WarcRecordType.any_type, parse_http=True)
            for rec in it:
                last_pos = rec.stream_pos
                if not rec.record_type & documents:
                    continue
                http = rec.http_headers
                ctype = (http.get("Content-Type") if http is not None else rec.headers.get("Content-Type")) or ""
                ctype = ctype.split(";")[0].strip().lower()
                if ctype not in _TEXT_TYPES:
                    continue
                if stop is not None and index >= stop:
                    return
                if index >= start and not read_body:
                    yield Raw(index, "skip", None)
                elif index >= start:
                    if rec.content_length > limit:
                        yield Raw(index, "huge", rec.content_length)
                    else:
                        body = rec.reader.read()
                        charset = None
                        if http is not None:
                            full = http.get("Content-Type") or ""
                            if "charset=" in full.lower():
                                charset = full.lower().split("charset=")[1].split(";")[0].strip(" \"'")
                        yield Raw(index, "warc", {
                            "id": rec.headers.get("WARC-Record-ID"),
                            "url": rec.headers.get("WARC-Target-URI"),
                            "date": rec.headers.get("WARC-Date"),
                            "content_type": ctype,
                            "_charset": charset,
                            "_body": body,
                        })
                index += 1
        # fastwarc ends quietly where a file is cut off inside a record: check the tail.
        problem = _warc_tail_problem(source, last_pos)
        if problem is not None:
            raise EOFError(problem)
    except UnspinError:
        raise
    except Exception as exc:  # fastwarc raises on some damaged streams; stop this file, keep the batch
        if stop is None or max(index, start) < stop:
            yield Raw(max(index, start), "error", _stream_error(source, exc))


_CONTENT_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?$")


def _warc_tail_problem(source: Source, pos: int) -> str | None:
    """Why the WARC data from offset ``pos`` (where the last record fastwarc saw starts, at a
    gzip member boundary for ``.warc.gz``) to the end is not whole records, or ``None``."""
    import zlib

    with open(source.path, "rb") as fh:
        fh.seek(pos)
        data = fh.read()
    if source.compression == "gzip" or data[:2] == b"\x1f\x8b":
        parts = []
        while data:
            d = zlib.decompressobj(wbits=31)
            parts.append(d.decompress(data))
            if not d.eof:
                return "the gzip data ends in the middle of a member (truncated)"
            data = d.unused_data
        data = b"".join(parts)
    while data.strip():
        head = data.find(b"\r\n\r\n")
        length = _CONTENT_LENGTH.search(data, 0, head) if head >= 0 else None
        if length is None:
            return "the file ends inside a WARC header (truncated)"
        end = head + 4 + int(length.group(1))
        if end > len(data):
            return "the file ends inside a WARC record (truncated)"
        data = data[end:]
    return None


def list_txt(folder: str) -> list[str]:
    """The ``.txt`` files below ``folder``, as sorted relative POSIX paths."""
    def fail(exc: OSError):
        raise InputError(f"cannot read the folder {exc.filename}: {exc.strerror or exc}")

    out = []
    for top, dirs, files in os.walk(folder, onerror=fail):
        rel = os.path.relpath(top, folder)
        for f in files:
            if f.endswith(".txt") and os.path.isfile(os.path.join(top, f)):
                out.append(Path(rel, f).as_posix() if rel != "." else f)
    return sorted(out)


def _iter_txt(source: Source, start: int, stop: int | None, limit: int) -> Iterator[Raw]:
    for index, rel in enumerate(list_txt(source.path)):
        if stop is not None and index >= stop:
            return
        if index >= start:
            yield Raw(index, "txt", (source.path, rel))


def count_records(source: Source, exact: bool = False) -> int | None:
    """How many record indexes ``source`` spans (for planning shards and the progress bar), or
    ``None`` for WARC, where counting means parsing the whole file, unless ``exact``."""
    if source.format == "warc":
        if not exact:
            return None
        n = 0
        for raw in _iter_warc(source, 0, None, 1 << 62, read_body=False):
            n = raw.index + 1
        return n
    if source.format == "txt":
        return len(list_txt(source.path))
    if source.format == "parquet":
        pq = requires("pyarrow.parquet", "scan")
        try:
            return pq.ParquetFile(source.path).metadata.num_rows
        except Exception:
            return 1  # unreadable: the reader yields one error record
    if source.format == "jsonl":
        if source.stdin:
            return None  # read once, by the job itself
        if source.compression is not None:
            # Line by line, as the reader goes, so that the count agrees with it where the
            # stream is damaged (a block read would lose the block the damage is in).
            n = 0
            for raw in _iter_jsonl(source, 0, None, 1 << 20):
                n = raw.index + 1
            return n
        n, last = 0, b"\n"
        try:
            with open(source.path, "rb") as fh:
                while True:
                    block = fh.read(1 << 20)
                    if not block:
                        break
                    n += block.count(b"\n")
                    last = block[-1:]
        except OSError:
            return n + 1
        return n + (last != b"\n")
    return None  # pragma: no cover


# --------------------------------------------------------------------------- decoding (in workers)

def has_surrogates(value) -> bool:
    """Whether ``value`` (a string, or a record's strings and keys, nested) holds a surrogate
    code point, which no UTF-8 writer can write."""
    if isinstance(value, str):
        return _SURROGATES.search(value) is not None
    if isinstance(value, dict):
        return any(has_surrogates(k) or has_surrogates(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(has_surrogates(v) for v in value)
    return False


def replace_surrogates(value):
    """``value`` with every surrogate code point replaced by U+FFFD (strings, dict keys and
    values, lists; other values as they are)."""
    if isinstance(value, str):
        return _SURROGATES.sub("\ufffd", value)
    if isinstance(value, dict):
        return {replace_surrogates(k): replace_surrogates(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [replace_surrogates(v) for v in value]
    return value


def _as_text(value, field: str, where: str) -> tuple[str, list[str]]:
    if isinstance(value, str):
        return value, []
    if isinstance(value, (bytes, bytearray)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DecodingWarning)
                return decode(bytes(value), f"field '{field}'")
        except InputError as exc:
            raise RecordError(str(exc)) from None
    if value is None:
        raise RecordError(f"{where}: field '{field}' is null")
    raise RecordError(f"{where}: field '{field}' is {type(value).__name__}, not text")


def decode_raw(raw: Raw, source: Source, text_field: str, id_field: str,
               max_record_bytes: int = 64 << 20) -> tuple[dict, str, list[str]]:
    """Turn a raw record into ``(record, text, notes)``. Raises :class:`RecordError`."""
    where = f"{source.name} record {raw.index}"
    if raw.kind == "error":
        raise RecordError(str(raw.data))
    if raw.kind == "huge":
        raise RecordError(f"{where}: record is {raw.data:,} bytes, over the --max-record-bytes limit")
    if raw.kind == "json":
        line = raw.data
        try:
            record = json.loads(line)
        except UnicodeDecodeError:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DecodingWarning)
                try:
                    text, _ = decode(line, where)
                except InputError as exc:
                    raise RecordError(str(exc)) from None
            try:
                record = json.loads(text)
            except ValueError as exc:
                raise RecordError(f"{source.name} line {raw.index + 1}: not valid JSON ({exc})") from None
        except ValueError as exc:
            raise RecordError(f"{source.name} line {raw.index + 1}: not valid JSON ({exc})") from None
        if not isinstance(record, dict):
            raise RecordError(f"{source.name} line {raw.index + 1}: a JSON {type(record).__name__}, not an object")
        if text_field not in record:
            raise RecordError(f"{source.name} line {raw.index + 1}: no '{text_field}' field", record)
        try:
            text, notes = _as_text(record[text_field], text_field, where)
        except RecordError as exc:
            raise RecordError(str(exc), record) from None
        return record, text, notes
    if raw.kind == "row":
        record = raw.data
        if text_field not in record:
            raise RecordError(f"{where}: no '{text_field}' column", record)
        try:
            text, notes = _as_text(record[text_field], text_field, where)
        except RecordError as exc:
            raise RecordError(str(exc), record) from None
        return record, text, notes
    if raw.kind == "warc":
        fields = dict(raw.data)
        body = fields.pop("_body")
        charset = fields.pop("_charset")
        record = {id_field: fields.pop("id"), **fields}
        text, notes = _html_to_text(body, charset, fields["content_type"], where)
        record[text_field] = text
        return record, text, notes
    if raw.kind == "txt":
        folder, rel = raw.data
        path = os.path.join(folder, rel)
        record = {id_field: rel}
        try:
            size = os.path.getsize(path)
            if size > max_record_bytes:
                raise RecordError(f"{rel}: file is {size:,} bytes, over the --max-record-bytes limit", record)
            with open(path, "rb") as fh:
                data = fh.read()
        except OSError as exc:
            raise RecordError(f"{rel}: cannot read ({exc.strerror or exc})", record) from None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DecodingWarning)
                text, notes = decode(data, rel)
        except InputError as exc:
            raise RecordError(str(exc), record) from None
        record[text_field] = text
        return record, text, notes
    raise RecordError(f"{where}: unknown record kind {raw.kind!r}")  # pragma: no cover


def _html_to_text(body: bytes, charset: str | None, ctype: str, where: str) -> tuple[str, list[str]]:
    notes: list[str] = []
    if ctype == "text/plain":
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DecodingWarning)
                return decode(body, where)
        except InputError as exc:
            raise RecordError(str(exc)) from None
    requires("resiliparse", "scan")
    from resiliparse.extract.html2text import extract_plain_text
    from resiliparse.parse.encoding import bytes_to_str, detect_encoding

    try:
        html = bytes_to_str(body, charset or detect_encoding(body))
    except (LookupError, ValueError):  # a charset name the codec registry does not know
        html = bytes_to_str(body, detect_encoding(body))
    text = extract_plain_text(html, main_content=True)
    return text, notes
