"""`sse-inspect export --format parquet`: Contract 6's tables hold what `analyze --json`
reports, stream by stream and event by event, written in row groups, whole or not at all."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from sse_inspect.cli import main
from sse_inspect.load import read_capture
from sse_inspect.present.parquet import (
    EVENTS,
    JSON_COLUMNS,
    STREAMS,
    TablesWriter,
)
from sse_inspect.present.redact import redact_stream

from .. import flows
from ..conftest import SAMPLES
from .test_export import SECRETS, secret_capture

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".flow", ".har", ".sse"})
CONTENT = frozenset({"text", "reasoning", "tool", "refusal", "data"})
OTHERS = frozenset({"usage", "end", "error", "other"})


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [str(a) for a in args])


def export(out: Path, *captures: Path, extra: tuple[str, ...] = ()) -> Result:
    return run("export", *captures, "--format", "parquet", "-o", out, *extra)


def analyzed(*captures: Path, events: bool = False) -> list[dict[str, Any]]:
    result = run("analyze", "--json", *(["--events"] if events else []), *captures)
    assert result.exit_code == 0, result.output
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    return streams


def jsonl(capture: Path) -> list[dict[str, Any]]:
    result = run("export", capture, "-o", "-", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.stdout.splitlines()]


def rows(path: Path) -> list[dict[str, Any]]:
    table: list[dict[str, Any]] = pq.read_table(path).to_pylist()
    return table


def copies(tmp_path: Path, n: int, sample: str = "openai-chat.flow") -> Path:
    """A capture of ``n`` flows: the sample's bytes ``n`` times (a flow file is a sequence)."""
    path = tmp_path / f"{n}x-{sample}"
    path.write_bytes((SAMPLES / sample).read_bytes() * n)
    return path


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_streams_rows_are_the_records_of_analyze(tmp_path: Path, capture: Path) -> None:
    out = tmp_path / "tables"
    result = export(out, capture)
    assert result.exit_code == 0, result.output
    records = analyzed(capture)
    table = rows(out / "streams.parquet")
    assert len(table) == len(records) > 0
    for position, (row, record) in enumerate(zip(table, records, strict=True)):
        assert set(record) <= set(STREAMS.names), "a Contract 4 field without a column"
        assert row["capture"] == record["source"] == str(capture)
        assert row["stream"] == position
        for name in STREAMS.names[5:]:
            value = row[name]
            if name in JSON_COLUMNS and value is not None:
                value = json.loads(value)
            assert value == record.get(name), name
        assert (row["host"], row["path"]) == _host_path(record["url"])


def _host_path(url: str | None) -> tuple[str | None, str | None]:
    from urllib.parse import urlsplit

    if not url:
        return None, None
    parts = urlsplit(url)
    return parts.netloc.lower() or None, parts.path or "/"


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_events_rows_are_the_events_of_analyze(tmp_path: Path, capture: Path) -> None:
    out = tmp_path / "tables"
    assert export(out, capture).exit_code == 0
    records = analyzed(capture, events=True)
    readings = jsonl(capture)  # each event's deltas, as the dialect read them
    table = rows(out / "events.parquet")
    assert len(table) == sum(r["events"] for r in records) == len(readings)
    starts = [s.request_start for s in read_capture(capture) if s.timing == "per-chunk"]
    expected = [(i, r, f) for i, r in enumerate(records) for f in r["frames"]]
    for row, (position, record, frame), line in zip(table, expected, readings, strict=True):
        assert (row["capture"], row["stream"], row["flow_id"]) == (
            str(capture),
            position,
            record["flow_id"],
        )
        assert (row["t_ms"], row["event"], row["id"]) == (
            frame["t_ms"],
            frame["event"],
            frame["id"],
        )
        assert row["size"] == len(frame["data"].encode())
        if row["t_ms"] is None:
            assert row["time"] is None
        else:
            assert starts and row["time"] is not None
        deltas = line["delta"]
        if deltas:
            assert row["kind"] == deltas[0]["kind"] in CONTENT
            assert row["text"] == "".join(d["text"] for d in deltas)
        else:
            assert row["kind"] in OTHERS and row["text"] is None
    for position, record in enumerate(records):
        mine = [r for r in table if r["stream"] == position]
        assert [r["index"] for r in mine] == list(range(record["events"]))
        tokens = [r["tokens"] for r in mine]
        if record["tokens_source"] == "usage":
            assert tokens == [None] * len(mine)
        else:  # counted per event: the events' counts add up to the stream's
            assert sum(t for t in tokens if t is not None) == record["output_tokens"]


def test_times_are_the_request_start_plus_the_offset(tmp_path: Path) -> None:
    capture = SAMPLES / "captured-anthropic.flow"
    assert export(tmp_path / "t", capture).exit_code == 0
    (stream,) = read_capture(capture)
    assert stream.request_start is not None
    for row in rows(tmp_path / "t" / "events.parquet"):
        assert row["time"] - stream.request_start == pytest.approx(row["t_ms"] / 1e3, abs=1e-6)
    (srow,) = rows(tmp_path / "t" / "streams.parquet")
    assert srow["start_time"] == stream.request_start


def test_schemas_and_zstd(tmp_path: Path) -> None:
    assert export(tmp_path / "t", SAMPLES / "mixed.flow").exit_code == 0
    for name, schema in (("streams", STREAMS), ("events", EVENTS)):
        f = pq.ParquetFile(tmp_path / "t" / f"{name}.parquet")
        assert f.schema_arrow.equals(schema)
        meta = f.metadata
        for g in range(meta.num_row_groups):
            for c in range(meta.num_columns):
                assert meta.row_group(g).column(c).compression == "ZSTD"
    assert STREAMS.field("gap_ms").type == pa.struct(
        [(k, pa.float64()) for k in ("p50", "p90", "p99", "max")]
    )
    assert {STREAMS.field(n).type for n in JSON_COLUMNS} == {pa.string()}


def test_row_groups_are_flushed_as_streams_come(tmp_path: Path) -> None:
    capture = copies(tmp_path, 7)
    out = tmp_path / "t"
    with TablesWriter(out, stream_rows=3, event_rows=100) as tables:
        for i, stream in enumerate(read_capture(capture)):
            from sse_inspect.analysis.analysis import analyze

            tables.add(analyze(stream))
            if i == 3:
                written = tables.row_groups
                assert written[0] == 1 and written[1] >= 2  # on disk already: flat memory
        tables.commit()
    streams = pq.ParquetFile(out / "streams.parquet").metadata
    events = pq.ParquetFile(out / "events.parquet").metadata
    assert streams.num_rows == 7 and streams.num_row_groups == 3  # 3 + 3 + 1
    per_stream = analyzed(SAMPLES / "openai-chat.flow")[0]["events"]
    assert events.num_rows == 7 * per_stream
    sizes = [events.row_group(g).num_rows for g in range(events.num_row_groups)]
    assert len(sizes) >= 3 and max(sizes) < 100 + per_stream  # flushed once past 100


def test_partition_by_date_append_and_force(tmp_path: Path) -> None:
    out = tmp_path / "t"
    first, second = SAMPLES / "captured-openai-chat.flow", SAMPLES / "mixed.flow"
    assert export(out, first, extra=("--partition-by", "date")).exit_code == 0
    (stream,) = read_capture(first)
    assert stream.request_start is not None
    date = datetime.fromtimestamp(stream.request_start, UTC).date().isoformat()
    parts = sorted(p.relative_to(out).parts[:2] for p in out.rglob("*.parquet"))
    assert parts == [("events", f"date={date}"), ("streams", f"date={date}")]
    assert all(p.name.startswith("part-") for p in out.rglob("*.parquet"))
    assert "date" not in pq.read_schema(next(out.rglob("streams/*/*.parquet"))).names
    # Another export into the same directory adds part files: an append.
    result = export(out, second, extra=("--partition-by", "date"))
    assert result.exit_code == 0, result.output
    streams = [rows(p) for p in sorted(out.glob("streams/*/*.parquet"))]
    assert sum(map(len, streams)) == 3 and len(list(out.glob("events/*/*.parquet"))) == 2
    # --force replaces the whole directory.
    result = export(out, first, extra=("--partition-by", "date", "--force"))
    assert result.exit_code == 0, result.output
    assert len(list(out.rglob("*.parquet"))) == 2
    # An unpartitioned export may not mix with partitions, nor the other way round.
    refused = export(out, first)
    assert refused.exit_code == 2 and "not empty" in refused.output
    plain = tmp_path / "plain"
    assert export(plain, first).exit_code == 0
    refused = export(plain, first, extra=("--partition-by", "date"))
    assert refused.exit_code == 2 and "unpartitioned" in refused.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plain", "t"]  # no temporaries


def test_stream_without_start_time_goes_to_hive_null_partition(tmp_path: Path) -> None:
    capture = SAMPLES / "openai-chat.sse"  # a raw body: no request, no start time
    assert [s.request_start for s in read_capture(capture)] == [None]
    out = tmp_path / "t"
    assert export(out, capture, extra=("--partition-by", "date")).exit_code == 0
    for table in ("streams", "events"):
        (part,) = (out / table).iterdir()
        assert part.name == "date=__HIVE_DEFAULT_PARTITION__"


def test_existing_directory_needs_force_and_writes_are_whole(tmp_path: Path) -> None:
    out = tmp_path / "t"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    refused = export(out, SAMPLES / "mixed.flow")
    assert refused.exit_code == 2
    assert refused.output.strip().endswith("t exists and is not empty; --force replaces it")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    assert export(out, SAMPLES / "mixed.flow", extra=("--force",)).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["events.parquet", "streams.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t"]
    # An empty directory is fine, a file is not.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert export(empty, SAMPLES / "mixed.flow").exit_code == 0
    (tmp_path / "file").write_text("x")
    assert export(tmp_path / "file", SAMPLES / "mixed.flow").exit_code == 2
    assert run("export", SAMPLES / "mixed.flow", "--format", "parquet", "-o", "-").exit_code == 2
    # Nothing to report writes nothing (exit 1).
    none = tmp_path / "none"
    nothing = export(none, flows.write(tmp_path / "json.flow", [flows.json_flow()]))
    assert nothing.exit_code == 1 and not none.exists()


def test_leaving_without_commit_leaves_nothing(tmp_path: Path) -> None:
    from sse_inspect.analysis.analysis import analyze

    out = tmp_path / "t"
    with pytest.raises(RuntimeError), TablesWriter(out, stream_rows=1) as tables:
        for stream in read_capture(copies(tmp_path, 3)):
            tables.add(analyze(stream))
        raise RuntimeError("Ctrl-C")
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3x-openai-chat.flow"]


def test_an_old_directory_survives_a_failed_export(tmp_path: Path) -> None:
    out = tmp_path / "t"
    assert export(out, SAMPLES / "mixed.flow").exit_code == 0
    before = (out / "streams.parquet").read_bytes()
    damaged = tmp_path / "damaged.flow"
    damaged.write_bytes((SAMPLES / "openai-chat.flow").read_bytes()[:-100])
    result = export(out, damaged, extra=("--force",))
    assert result.exit_code == 2
    assert (out / "streams.parquet").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.flow", "t"]


def test_no_secret_survives(tmp_path: Path) -> None:
    capture = secret_capture(tmp_path)
    assert export(tmp_path / "t", capture).exit_code == 0
    written = b"".join(p.read_bytes() for p in (tmp_path / "t").iterdir())
    table = rows(tmp_path / "t" / "streams.parquet")
    assert "REDACTED" in table[0]["url"]
    text = json.dumps(table + rows(tmp_path / "t" / "events.parquet"), default=str)
    for secret in SECRETS:
        assert secret not in text
        assert secret.encode() not in written  # zstd could hide it; the rows above cannot
    (stream,) = read_capture(capture)
    assert table[0]["url"] == redact_stream(stream).url


def test_without_pyarrow_one_line_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "sse_inspect.present.parquet")
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # import pyarrow: ImportError
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    result = export(tmp_path / "t", SAMPLES / "mixed.flow")
    assert result.exit_code == 2
    assert result.output == (
        "Error: --format parquet needs pyarrow: pip install 'sse-inspect[tables]'\n"
    )
    assert not (tmp_path / "t").exists()


def test_partition_by_needs_parquet(tmp_path: Path) -> None:
    result = run(
        "export", SAMPLES / "mixed.flow", "-o", tmp_path / "x.jsonl", "--partition-by", "date"
    )
    assert result.exit_code == 2 and "--format parquet" in result.output
