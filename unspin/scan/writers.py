"""Shard writers (JSONL, gzip/zstd JSONL, Parquet) and the final merge.

Every shard is written to ``.<name>.tmp`` (hidden from dataset readers) and renamed into place
only when complete, so a shard file that exists is whole; the job then writes the shard's done
marker (:func:`unspin.scan.shards.write_done`). Merging concatenates
finished shards in shard order: JSONL shards byte for byte (gzip members and zstd frames may be
concatenated), Parquet shards row group by row group under one unified schema.
"""

from __future__ import annotations

import base64
import datetime as _dt
import decimal
import gzip
import json
import math
import os
from typing import Iterable

from ..errors import InputError, requires

#: Output formats, by the extension that selects them.
FORMATS = {".jsonl.gz": "jsonl.gz", ".jsonl.zst": "jsonl.zst", ".jsonl": "jsonl", ".parquet": "parquet"}


def format_of(path: str) -> str | None:
    """The output format named by ``path``'s extension, or ``None`` (then it is a folder)."""
    low = path.lower()
    for ext, fmt in FORMATS.items():
        if low.endswith(ext):
            return fmt
    return None


def extension(fmt: str) -> str:
    for ext, f in FORMATS.items():
        if f == fmt:
            return ext
    raise InputError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS.values())}")


def _json_default(value):
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            return "base64:" + base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return str(value)


def _finite(value):
    """``value`` with every NaN or infinite float replaced by ``None`` (nested)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def encode_jsonl(record: dict) -> bytes:
    """One output line: always valid JSON in UTF-8. Non-JSON values from Parquet (dates,
    decimals, bytes) become strings; NaN and infinities (which Python's JSON reader accepts in
    the input, but JSON has not) become ``null``. Raises ``UnicodeEncodeError`` for a string
    holding a lone surrogate (see :func:`unspin.scan.readers.replace_surrogates`)."""
    try:
        text = json.dumps(record, ensure_ascii=False, allow_nan=False, default=_json_default)
    except ValueError:  # "Out of range float values are not JSON compliant"
        text = json.dumps(_finite(record), ensure_ascii=False, allow_nan=False, default=_json_default)
    return text.encode("utf-8") + b"\n"


def unspin_arrow_type():
    """The Arrow type of the ``unspin`` column: fixed, so shards always merge."""
    pa = requires("pyarrow", "scan")
    span = pa.struct([
        ("start", pa.int64()), ("end", pa.int64()), ("text", pa.string()), ("kind", pa.string()),
        ("original", pa.string()), ("confidence", pa.float64()), ("rule", pa.string()),
    ])
    return pa.struct([
        ("score", pa.float64()), ("verdict", pa.string()), ("reason", pa.string()),
        ("kinds", pa.map_(pa.string(), pa.int64())), ("spans", pa.list_(span)),
        ("tier", pa.string()), ("restored", pa.string()), ("notes", pa.list_(pa.string())),
        ("error", pa.string()), ("source", pa.string()),
    ])


class ShardWriter:
    """Writes one shard. ``write`` takes encoded JSONL lines (``bytes``) for the JSONL formats
    and record dicts for Parquet; ``close`` makes the shard visible atomically."""

    def __init__(self, path: str, fmt: str):
        self.path = path
        self.fmt = fmt
        folder, name = os.path.split(path)
        self.tmp = os.path.join(folder, "." + name + ".tmp")
        self.count = 0
        self._rows: list[dict] = []
        self._fh = None
        if fmt == "jsonl":
            self._fh = open(self.tmp, "wb")
        elif fmt == "jsonl.gz":
            self._fh = gzip.open(self.tmp, "wb", compresslevel=6)
        elif fmt == "jsonl.zst":
            zstd = requires("zstandard", "scan")
            self._raw = open(self.tmp, "wb")
            self._fh = zstd.ZstdCompressor(level=3, write_checksum=True).stream_writer(self._raw, closefd=True)
        elif fmt == "parquet":
            requires("pyarrow", "scan")
        else:
            raise InputError(f"unknown output format {fmt!r}")

    def write(self, item) -> None:
        self.count += 1
        if self._fh is not None:
            self._fh.write(item if isinstance(item, bytes) else encode_jsonl(item))
        else:
            self._rows.append(item)

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()
        else:
            write_parquet(self._rows, self.tmp)
        os.replace(self.tmp, self.path)

    def abort(self) -> None:
        try:
            if self._fh is not None:
                self._fh.close()
        finally:
            if os.path.exists(self.tmp):
                os.remove(self.tmp)


def _column(values: list):
    """An Arrow array for one input column; a column whose values do not share a type (an id
    that is a number in one record and a string in the next) is stored as JSON text."""
    pa = requires("pyarrow", "scan")
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return _as_json_text(values)


def _as_json_text(values: list):
    pa = requires("pyarrow", "scan")
    return pa.array([v if v is None or isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=_json_default)
                     for v in values], type=pa.string())


def records_to_table(rows: list[dict]):
    pa = requires("pyarrow", "scan")
    keys: dict[str, None] = {}
    for r in rows:
        for k in r:
            if k != "unspin":
                keys.setdefault(k)
    columns = {k: _column([r.get(k) for r in rows]) for k in keys}
    if any("unspin" in r for r in rows):
        columns["unspin"] = pa.array([r.get("unspin") for r in rows], type=unspin_arrow_type())
    if not columns:
        return pa.table({"unspin": pa.array([], type=unspin_arrow_type())})
    return pa.table(columns)


def write_parquet(rows: list[dict], path: str) -> None:
    pq = requires("pyarrow.parquet", "scan")
    pq.write_table(records_to_table(rows), path, compression="zstd")


def _unify(schemas):
    """One schema for all shards; a column whose types cannot be reconciled becomes text."""
    pa = requires("pyarrow", "scan")
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        pass
    types: dict[str, list] = {}
    for schema in schemas:
        for f in schema:
            types.setdefault(f.name, []).append(f.type)
    fields = []
    for name, ts in types.items():
        try:
            t = pa.unify_schemas([pa.schema([(name, t)]) for t in ts], promote_options="permissive").field(name).type
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            t = pa.string()
        fields.append(pa.field(name, t))
    return pa.schema(fields)


def _conform(table, schema):
    pa = requires("pyarrow", "scan")
    cols = []
    for field in schema:
        if field.name in table.column_names:
            col = table.column(field.name)
            if col.type != field.type:
                try:
                    col = col.cast(field.type)
                except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
                    col = _as_json_text(col.to_pylist())
            cols.append(col)
        else:
            cols.append(pa.nulls(len(table), type=field.type))
    return pa.Table.from_arrays(cols, schema=schema)


def merge(shards: Iterable[str], out_path: str, fmt: str) -> None:
    """Concatenate finished shards, in the order given, into ``out_path`` (atomically)."""
    shards = list(shards)
    tmp = out_path + ".tmp"
    if fmt == "parquet":
        pa = requires("pyarrow", "scan")
        pq = requires("pyarrow.parquet", "scan")
        schemas = [pq.read_schema(s) for s in shards]
        schema = _unify(schemas) if schemas else records_to_table([]).schema
        with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
            for s in shards:
                pf = pq.ParquetFile(s)
                for g in range(pf.metadata.num_row_groups):
                    writer.write_table(_conform(pf.read_row_group(g), schema))
    else:
        with open(tmp, "wb") as out:
            for s in shards:
                with open(s, "rb") as fh:
                    while True:
                        block = fh.read(1 << 22)
                        if not block:
                            break
                        out.write(block)
    os.replace(tmp, out_path)
