"""Parquet tables of analysed streams (Contract 6): ``streams`` (one row per stream, the
figures of Contract 4) and ``events`` (one row per event, with what the dialect read in it),
for DuckDB, Spark, Trino or pandas.

Optional: ``pip install 'sse-inspect[tables]'`` brings pyarrow (and DuckDB, which
:mod:`sse_inspect.analysis.tables` queries them with); importing this module without it
raises ``ImportError``.

The plan, and its costs. Rows are buffered column by column, in plain lists, and written as
one row group each time :data:`STREAM_ROWS` streams or :data:`EVENT_ROWS` events are
buffered (whichever table fills first is flushed alone), so memory holds one row group per
table whatever the number of streams; a row group of 100,000 events is a few MB. Files are
zstd-compressed. Everything is written into a temporary directory beside the output and
moved into place by :meth:`TablesWriter.commit`: a reader never sees half a table.

With ``partition_by="date"`` the tables are Hive-style partitions by the UTC date of each
stream's request start (``streams/date=2026-12-01/part-<uuid>.parquet``, and the stream's
events in ``events/date=2026-12-01/``; a stream without a start time goes to
``date=__HIVE_DEFAULT_PARTITION__``, Hive's and Spark's name for null). Exporting again into
such a directory adds new part files beside the old (an append); ``force`` replaces the
whole directory instead.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import msgspec
import pyarrow as pa
import pyarrow.parquet as pq

from ..analysis.analysis import Analysis
from ..analysis.stats import group_key
from ..analysis.tables import is_tables_dir
from ..analysis.tokens import count as count_tokens
from ..dialects.base import DATA, Delta
from .json import as_text, stream_record
from .terminal import event_kind
from .write import OutputError

__all__ = [
    "COMPRESSION",
    "EVENTS",
    "EVENT_ROWS",
    "JSON_COLUMNS",
    "NULL_PARTITION",
    "PARTITIONS",
    "STREAMS",
    "STREAM_ROWS",
    "TablesWriter",
    "event_rows",
    "stream_row",
]

STREAM_ROWS = 1_000
"""Streams buffered before their row group is written."""
EVENT_ROWS = 100_000
"""Events buffered before their row group is written."""
COMPRESSION = "zstd"
PARTITIONS = ("date",)
"""What ``--partition-by`` takes."""
NULL_PARTITION = "__HIVE_DEFAULT_PARTITION__"

GAPS = pa.struct([(k, pa.float64()) for k in ("p50", "p90", "p99", "max")])

STREAMS = pa.schema(
    [
        pa.field("capture", pa.string(), False),  # the file given to export
        pa.field("stream", pa.int32(), False),  # its place among the capture's streams, from 0
        pa.field("start_time", pa.float64()),  # request start, epoch seconds
        pa.field("host", pa.string()),  # the URL's, as ``stats --by host`` groups them
        pa.field("path", pa.string()),
        # Contract 4, in the order of ``analyze --json``.
        pa.field("flow_id", pa.string()),
        pa.field("source", pa.string()),
        pa.field("method", pa.string()),
        pa.field("url", pa.string()),
        pa.field("status", pa.int32()),
        pa.field("dialect", pa.string()),
        pa.field("model", pa.string()),
        pa.field("events", pa.int64()),
        pa.field("complete", pa.bool_()),
        pa.field("timing", pa.string()),
        pa.field("ttfb_ms", pa.float64()),
        pa.field("ttf_event_ms", pa.float64()),
        pa.field("ttft_ms", pa.float64()),
        pa.field("ttft_answer_ms", pa.float64()),
        pa.field("duration_ms", pa.float64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("tokens_source", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("tokens_per_s", pa.float64()),
        pa.field("itl_ms", pa.float64()),
        pa.field("tpot_ms", pa.float64()),
        pa.field("gap_ms", GAPS),
        pa.field("stalls", pa.int64()),
        pa.field("stall_ms", pa.float64()),
        pa.field("stalls_at", pa.string()),
        pa.field("text", pa.string()),
        pa.field("reasoning", pa.string()),
        pa.field("tool_calls", pa.string()),
        pa.field("refusal", pa.string()),
        pa.field("finish_reason", pa.string()),
        pa.field("error", pa.string()),
        pa.field("notes", pa.string()),
        pa.field("comments", pa.int64()),
        pa.field("retry", pa.int64()),
        pa.field("unterminated", pa.bool_()),
        pa.field("truncated", pa.bool_()),
        pa.field("content_encoding", pa.string()),
        pa.field("bytes", pa.int64()),
        pa.field("decoded_bytes", pa.int64()),
        pa.field("extra", pa.string()),
        pa.field("choices", pa.string()),
        pa.field("reasoning_parts", pa.string()),
    ]
)
"""One row per stream. Lists and objects of variable shape are JSON text (Contract 6);
``gap_ms`` has a fixed shape and is a struct (``gap_ms.p99`` in SQL)."""

JSON_COLUMNS = frozenset(
    {"stalls_at", "tool_calls", "notes", "extra", "choices", "reasoning_parts"}
)
"""The record's values written as JSON text (null when the record has none)."""

EVENTS = pa.schema(
    [
        pa.field("capture", pa.string(), False),
        pa.field("stream", pa.int32(), False),
        pa.field("flow_id", pa.string()),
        pa.field("index", pa.int32(), False),  # the event's place in its stream, from 0
        pa.field("t_ms", pa.float64()),  # from the request start; null without timing
        pa.field("time", pa.float64()),  # epoch seconds; null without timing
        pa.field("event", pa.string(), False),
        pa.field("id", pa.string(), False),
        pa.field("size", pa.int64(), False),  # the data's UTF-8 bytes
        pa.field("kind", pa.string(), False),
        pa.field("text", pa.string()),
        pa.field("name", pa.string()),
        pa.field("choice", pa.int32()),
        pa.field("tokens", pa.int64()),
    ]
)
"""One row per dispatched event (as ``analyze --events`` lists them, comments apart)."""

_Row = dict[str, Any]
_encode = msgspec.json.Encoder().encode


def stream_row(a: Analysis, capture: str, stream: int) -> _Row:
    """The ``streams`` row of one stream: its Contract 4 record, the same values."""
    record = stream_record(a)
    start = a.stream.request_start
    row: _Row = {
        "capture": capture,
        "stream": stream,
        "start_time": start if start is not None and math.isfinite(start) else None,
    }
    host, path = group_key(record, ("host", "path"))
    row["host"], row["path"] = host or None, path or None
    for name in STREAMS.names[len(row) :]:
        value = record.get(name)
        if name in JSON_COLUMNS and value is not None:
            value = _encode(value).decode()
        row[name] = value
    return row


def event_rows(a: Analysis, capture: str, stream: int) -> Iterator[_Row]:
    """The ``events`` rows of one stream.

    ``kind`` is what the dialect read in the event: the kind of its first delta (``text``,
    ``reasoning``, ``tool``, ``refusal``, or ``data`` for a generic stream), else what kind
    of event it is (``usage``, ``end``, ``error`` or ``other``). ``text`` is the text of its
    deltas joined (null when it carried none), ``name`` a tool call's name, ``choice`` the
    first delta's choice. ``tokens``: the event's output tokens when the stream's count was
    made per event (by the offline tokenizer, or one per content event), so that they sum to
    ``output_tokens``; null when the server's usage gave only the stream's total.
    """
    carried: dict[int, list[Delta]] = {}
    for d in a.reading.deltas:
        carried.setdefault(d.event, []).append(d)
    c = a.cadence
    origin = a.stream.request_start if c.timing == "per-chunk" else None
    source = c.tokens_source
    flow_id = a.stream.flow_id
    for i, e in enumerate(a.decoded.events):
        deltas = carried.get(i)
        t = e.t if origin is not None and math.isfinite(e.t) else None
        tokens: int | None = None
        if deltas:
            kind = deltas[0].kind
            text: str | None = as_text("".join(d.text for d in deltas))
            name = next((as_text(d.name) for d in deltas if d.name), None)
            choice: int | None = deltas[0].choice
            if source == "events":
                tokens = 1
            elif source == "tokenizer":  # as the stream's count: per delta, summed
                tokens = count_tokens(d.text for d in deltas if d.kind != DATA)
        else:
            kind, text, name, choice = _kind_of(e), None, None, None
            tokens = None if source == "usage" else 0
        yield {
            "capture": capture,
            "stream": stream,
            "flow_id": flow_id,
            "index": i,
            "t_ms": None if t is None or origin is None else round((t - origin) * 1e3, 3),
            "time": t,
            "event": as_text(e.event),
            "id": as_text(e.id),
            "size": len(e.data.encode("utf-8", "surrogatepass")),
            "kind": kind,
            "text": text,
            "name": name,
            "choice": choice,
            "tokens": tokens,
        }


def _kind_of(e: Any) -> str:
    """What kind of event one that carried no output is, as the events table names it."""
    kind = event_kind(e)
    if kind in ("end", "[DONE]"):
        return "end"
    if kind in ("usage", "error"):
        return kind
    return "other"


class _Table:
    """One table's open Parquet files (one per partition) and the rows waiting for them."""

    def __init__(self, root: Path, name: str, schema: pa.Schema, partitioned: bool) -> None:
        self.root, self.name, self.schema, self.partitioned = root, name, schema, partitioned
        self.rows: dict[str, dict[str, list[Any]]] = {}  # partition -> column -> values
        self.buffered = 0
        self.row_groups = 0
        self._writers: dict[str, pq.ParquetWriter] = {}
        self._part = f"part-{uuid.uuid4().hex}.parquet"

    def add(self, partition: str, row: _Row) -> None:
        columns = self.rows.get(partition)
        if columns is None:
            columns = self.rows[partition] = {n: [] for n in self.schema.names}
        for n, values in columns.items():
            values.append(row[n])
        self.buffered += 1

    def flush(self) -> None:
        """Write what is buffered: one row group per partition."""
        for partition, columns in self.rows.items():
            writer = self._writers.get(partition)
            if writer is None:
                writer = self._writers[partition] = self._open(partition)
            batch = pa.Table.from_pydict(columns, schema=self.schema)
            writer.write_table(batch, row_group_size=batch.num_rows)
            self.row_groups += 1
        self.rows.clear()
        self.buffered = 0

    def close(self) -> None:
        self.flush()
        for writer in self._writers.values():
            writer.close()
        self._writers.clear()

    def abort(self) -> None:
        """Close the files as they are (the caller removes them)."""
        for writer in self._writers.values():
            with contextlib.suppress(Exception):  # a full disk fails to write the footer
                writer.close()
        self._writers.clear()
        self.rows.clear()

    def files(self) -> list[Path]:
        if not self.partitioned:
            return [self.root / f"{self.name}.parquet"]
        return sorted((self.root / self.name).glob(f"date=*/{self._part}"))

    def _open(self, partition: str) -> pq.ParquetWriter:
        if self.partitioned:
            folder = self.root / self.name / f"date={partition}"
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / self._part
        else:
            path = self.root / f"{self.name}.parquet"
        return pq.ParquetWriter(path, self.schema, compression=COMPRESSION)


class TablesWriter:
    """``streams`` and ``events`` tables in ``directory``, written stream by stream as the
    analyses come (:meth:`add`), whole or not at all (:meth:`commit`; leaving the ``with``
    block without it removes what was written).

    ``directory`` must not exist, or be empty; else ``force`` replaces it at the commit,
    and with ``partition_by`` a directory of our partitioned tables is appended to (new part
    files). Anything else there is refused before any work (:class:`OutputError`).
    """

    def __init__(
        self,
        directory: Path,
        partition_by: str | None = None,
        force: bool = False,
        stream_rows: int = STREAM_ROWS,
        event_rows: int = EVENT_ROWS,
    ) -> None:
        if partition_by is not None and partition_by not in PARTITIONS:
            raise ValueError(f"cannot partition by {partition_by!r}")
        self.directory = directory
        self.partition_by = partition_by
        self.force = force
        self.stream_rows, self.event_rows = stream_rows, event_rows
        self.append = _check_directory(directory, partition_by, force)
        self.entries = 0
        self._positions: dict[str, int] = {}
        self._tmp: Path | None = None
        self._tables: tuple[_Table, _Table] | None = None

    @property
    def row_groups(self) -> tuple[int, int]:
        """Row groups written so far to (streams, events), over all partitions."""
        if self._tables is None:
            return 0, 0
        return self._tables[0].row_groups, self._tables[1].row_groups

    def add(self, item: Analysis | object) -> None:
        """One analysed stream (anything else, a stream that is no event stream, has no
        row). Its ``capture`` is the file it was read from (its ``source``)."""
        if not isinstance(item, Analysis):
            return
        streams, events = self._open()
        capture = as_text(item.stream.source)
        position = self._positions.get(capture, 0)
        self._positions[capture] = position + 1
        partition = self._partition(item)
        try:
            streams.add(partition, stream_row(item, capture, position))
            for row in event_rows(item, capture, position):
                events.add(partition, row)
            if streams.buffered >= self.stream_rows:
                streams.flush()
            if events.buffered >= self.event_rows:
                events.flush()
        except OSError as e:
            self.discard()
            raise self._error(e) from None
        self.entries += 1

    def commit(self) -> None:
        """Close the files and move them into place."""
        streams, events = self._open()
        try:
            streams.close()
            events.close()
            assert self._tmp is not None
            if self.append:
                _move_parts(self._tmp, self.directory, (events, streams))
                shutil.rmtree(self._tmp, ignore_errors=True)
            else:
                _replace_directory(self._tmp, self.directory)
        except OSError as e:
            self.discard()
            raise self._error(e) from None
        self._tmp = self._tables = None

    def discard(self) -> None:
        """Remove what was written: ``directory`` is left as it was."""
        tables, tmp = self._tables, self._tmp
        self._tables = self._tmp = None
        if tables is not None:
            for table in tables:
                table.abort()
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)

    def __enter__(self) -> TablesWriter:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def _open(self) -> tuple[_Table, _Table]:
        if self._tables is None:
            parent = self.directory.absolute().parent
            try:
                self._tmp = Path(
                    tempfile.mkdtemp(dir=parent, prefix=f".{self.directory.name}.", suffix=".tmp")
                )
            except OSError as e:
                raise self._error(e) from None
            os.chmod(self._tmp, _directory_mode())
            partitioned = self.partition_by is not None
            self._tables = (
                _Table(self._tmp, "streams", STREAMS, partitioned),
                _Table(self._tmp, "events", EVENTS, partitioned),
            )
        return self._tables

    def _partition(self, a: Analysis) -> str:
        if self.partition_by is None:
            return ""
        start = a.stream.request_start
        if start is None or not math.isfinite(start):
            return NULL_PARTITION
        return datetime.fromtimestamp(start, UTC).date().isoformat()

    def _error(self, e: OSError) -> OutputError:
        reason = (
            "no space left on the device" if e.errno == errno.ENOSPC else (e.strerror or str(e))
        )
        return OutputError(f"{self.directory}: cannot write ({reason.lower()})")


def _check_directory(directory: Path, partition_by: str | None, force: bool) -> bool:
    """Whether an export into ``directory`` appends; :class:`OutputError` when it may not
    be written at all."""
    parent = directory.absolute().parent
    if directory.exists() and not directory.is_dir():
        raise OutputError(f"{directory}: is not a directory; give a directory for the tables")
    if not parent.is_dir():
        raise OutputError(f"{directory}: no such directory {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{directory}: cannot write in {str(parent)!r} (permission denied)")
    if not directory.exists() or force or not any(directory.iterdir()):
        return False
    partitioned = (directory / "streams").is_dir() and not (directory / "streams.parquet").exists()
    if partition_by is not None and partitioned:
        return True
    if partition_by is not None and is_tables_dir(directory):
        raise OutputError(f"{directory} holds unpartitioned tables; --force replaces them")
    raise OutputError(f"{directory} exists and is not empty; --force replaces it")


def _move_parts(tmp: Path, directory: Path, tables: tuple[_Table, ...]) -> None:
    """Append: each new part file renamed into its partition of ``directory`` (events
    first, so that a reader that sees a stream finds its events)."""
    for table in tables:
        for path in table.files():
            target = directory / path.relative_to(tmp)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, target)


def _replace_directory(tmp: Path, directory: Path) -> None:
    """``tmp`` renamed to ``directory``; an old ``directory`` set aside first and removed
    after (a rename cannot replace a non-empty directory)."""
    if directory.exists():
        old = Path(tempfile.mkdtemp(dir=tmp.parent, prefix=f".{directory.name}.", suffix=".old"))
        os.replace(directory, old)  # onto the empty directory just made
        try:
            os.replace(tmp, directory)
        except OSError:
            os.replace(old, directory)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, directory)


def _directory_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o777 & ~umask
