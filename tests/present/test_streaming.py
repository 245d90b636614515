"""Exports and ``analyze`` write each stream as it is analysed and keep none: the documents
are the same, byte for byte, as those made whole (HAR and ``analyze --json`` as one
``json.dumps`` of everything), and memory does not grow with the number of streams."""

from __future__ import annotations

import errno
import gc
import io
import json
import subprocess
import sys
import weakref
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import IO, Any

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from sse_inspect import cli
from sse_inspect.analysis.analysis import Analysis, analyze
from sse_inspect.cli import main
from sse_inspect.load import Stream, read_capture
from sse_inspect.present import write
from sse_inspect.present.har import HarWriter, har_document
from sse_inspect.present.json import ListWriter, document, dumps, frame_records, stream_record
from sse_inspect.present.jsonl import jsonl_lines
from sse_inspect.present.markdown import TranscriptWriter, transcript
from sse_inspect.present.redact import redact_stream
from sse_inspect.present.terminal import TABLE_KEYS, Cells, StreamsTable, footnotes, stream_details
from sse_inspect.present.write import AtomicFile, Spool
from sse_inspect.sse import is_event_stream

from ..conftest import SAMPLES

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".flow", ".har", ".sse"})
EVERY = [[p] for p in CAPTURES] + [CAPTURES]  # each sample alone, then all of them at once
IDS = [p.name for p in CAPTURES] + ["all"]
CHAT = SAMPLES / "captured-openai-chat.flow"


def run(*args: str | Path, columns: int = 130) -> Result:
    env = {"COLUMNS": str(columns)}
    return CliRunner().invoke(main, [*map(str, args)], env=env)


def items(captures: list[Path], all_flows: bool = False) -> list[Analysis | Stream]:
    """What an export writes, made the old way: every stream analysed, all in a list."""
    out: list[Analysis | Stream] = []
    for path in captures:
        for s in read_capture(path, all_flows=all_flows):
            s = redact_stream(s)
            out.append(analyze(s) if is_event_stream(s.response_header("content-type")) else s)
    return out


def analyses(captures: list[Path]) -> list[Analysis]:
    return [a for a in items(captures) if isinstance(a, Analysis)]


class Watched(Analysis):
    """An analysis a weak reference can watch (an :class:`Analysis` has slots only)."""

    __slots__ = ("__weakref__",)


def watched(a: Analysis) -> Watched:
    return Watched(*(getattr(a, f.name) for f in fields(Analysis)))


class Alive:
    """The watched analyses still in memory."""

    def __init__(self) -> None:
        self.refs: list[weakref.ref[Watched]] = []

    def add(self, a: Watched) -> None:
        self.refs.append(weakref.ref(a))

    def __bool__(self) -> bool:
        if any(r() is not None for r in self.refs):
            gc.collect()  # (only when needed: it takes a while)
        return any(r() is not None for r in self.refs)


# -- the documents are those made whole -----------------------------------------------------


@pytest.mark.parametrize("captures", EVERY, ids=IDS)
@pytest.mark.parametrize("all_flows", [False, True], ids=["streams", "all-flows"])
def test_har_is_byte_for_byte_the_whole_documents_json(
    captures: list[Path], all_flows: bool
) -> None:
    whole = items(captures, all_flows)
    expected = json.dumps(har_document(whole), indent=2, ensure_ascii=False, allow_nan=False)
    pieces: list[str] = []
    writer = HarWriter(pieces.append)
    for item in whole:
        writer.add(item)
    writer.close()
    assert "".join(pieces) == expected + "\n"
    extra = ["--all-flows"] if all_flows else []
    result = run("export", *captures, "-o", "-", "--format", "har", *extra)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected + "\n"


@pytest.mark.parametrize("captures", EVERY, ids=IDS)
@pytest.mark.parametrize("events", [False, True], ids=["records", "with-frames"])
def test_analyze_json_is_byte_for_byte_the_whole_documents_json(
    captures: list[Path], events: bool
) -> None:
    records = []
    for a in analyses(captures):
        record = stream_record(a)
        if events:
            record["frames"] = frame_records(a)
        records.append(record)
    expected = json.dumps(document(records), indent=2, ensure_ascii=False, allow_nan=False)
    result = run("analyze", "--json", *(["--events"] if events else []), *captures)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected + "\n"


def test_analyze_json_with_no_stream_is_still_a_document() -> None:
    result = run("analyze", "--json", SAMPLES / "mixed.flow", "--filter", "~u nothing-here")
    assert result.exit_code == 1
    assert result.stdout == json.dumps(document([]), indent=2) + "\n"


@pytest.mark.parametrize("captures", EVERY, ids=IDS)
def test_jsonl_and_markdown_are_those_made_whole(captures: list[Path], tmp_path: Path) -> None:
    whole = analyses(captures)
    lines = "".join(line + "\n" for line in jsonl_lines(whole))
    assert run("export", *captures, "-o", "-", "--format", "jsonl").stdout == lines
    md = run("export", *captures, "-o", "-", "--format", "md").stdout
    assert md == transcript(whole)
    out = tmp_path / "t.md"  # and the same in a file
    assert run("export", *captures, "-o", out).exit_code == 0
    assert out.read_text() == md


def test_markdown_sections_past_the_spools_memory_are_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The sections wait on disk once past the limit; the transcript is the same."""
    monkeypatch.setattr(write, "SPOOL_BYTES", 100)
    whole = analyses(CAPTURES)
    pieces: list[str] = []
    writer = TranscriptWriter(pieces.append)
    for a in whole:
        writer.add(a)
    assert writer._sections._file._rolled  # type: ignore[attr-defined]
    writer.close()
    assert "".join(pieces) == transcript(whole)
    assert len(pieces) > 3  # the head, several pieces of whole lines, the end


@pytest.mark.parametrize(
    "document",
    [
        {"version": 1, "streams": []},
        {"log": {"a": [1], "b": {"c": None}, "entries": []}},
        {"x": []},
    ],
)
@pytest.mark.parametrize(
    "listed", [[], [{}], [{"a": [1, {"b": "x\ny"}]}, "é\u2028", 1.5, None, [[], {"k": []}]]]
)
def test_a_list_writer_writes_what_dumps_of_the_whole_would(
    document: dict[str, Any], listed: list[Any]
) -> None:
    pieces: list[str] = []
    writer = ListWriter(pieces.append, document)
    assert not pieces  # nothing before the first item
    for item in listed:
        writer.add(item)
    writer.close()
    whole = json.loads(json.dumps(document))
    last = whole
    while isinstance(last[next(reversed(last))], dict):
        last = last[next(reversed(last))]
    last[next(reversed(last))] = listed
    assert "".join(pieces) == dumps(whole) + "\n"


@pytest.mark.parametrize("document", [{"streams": [], "version": 1}, {"a": [[]]}, {"a": "[]"}])
def test_a_list_writer_needs_the_list_last(document: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="last value"):
        ListWriter(print, document)


# -- analyze keeps the table's rows, not the analyses --------------------------------------


def _rendered(*renderables: object, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, highlight=False)
    for r in renderables:
        console.print(r)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.mark.parametrize("width", [60, 100, 130, 200])
def test_the_rows_kept_make_the_table_and_footnotes_of_the_whole_records(width: int) -> None:
    records = [stream_record(a) for a in analyses(CAPTURES)]
    rows = [{key: r[key] for key in TABLE_KEYS} for r in records]
    whole = _rendered(StreamsTable(records, "t"), footnotes(records), width=width)
    assert _rendered(StreamsTable(rows, "t"), footnotes(rows), width=width) == whole


@pytest.mark.parametrize("width", [60, 130])
@pytest.mark.parametrize("lines", [1, 2, 7, 200])
def test_printing_by_lines_prints_what_one_print_does(width: int, lines: int) -> None:
    records = [stream_record(a) for a in analyses(CAPTURES)]
    table = StreamsTable(records, "a title")
    console = Console(file=io.StringIO(), width=width, highlight=False, force_terminal=True)
    cli._print_by_lines(console, table, lines)
    assert console.file.getvalue() == _rendered_ansi(table, width)  # type: ignore[attr-defined]


def _rendered_ansi(renderable: object, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, highlight=False, force_terminal=True)
    console.print(renderable)
    text: str = console.file.getvalue()  # type: ignore[attr-defined]
    return text


@pytest.mark.parametrize(
    "options", [[], ["--details"], ["--details", "--full"]], ids=["one-only", "details", "full"]
)
def test_details_still_follow_the_table(
    options: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each stream's details are rendered as it comes and printed after the table, as when
    every analysis was kept; here past the spool's memory too."""
    monkeypatch.setattr(write, "SPOOL_BYTES", 1000)
    whole = analyses(CAPTURES)
    records = [stream_record(a) for a in whole]
    full = "--full" in options
    details = ["", *(stream_details(a, n, full) for n, a in enumerate(whole, 1))]
    expected = _rendered(
        StreamsTable(records), footnotes(records), *(details if options else []), width=130
    )
    result = run("analyze", *options, *CAPTURES)
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


def test_one_stream_alone_is_shown_in_full_as_before() -> None:
    (a,) = analyses([CHAT])
    record = stream_record(a)
    expected = _rendered(
        StreamsTable([record], str(CHAT)), footnotes([record]), "", stream_details(a, 1),
        width=130,
    )  # fmt: skip
    assert run("analyze", CHAT).stdout == expected


def test_the_report_keeps_no_analysis() -> None:
    alive = Alive()
    streams = [s for path in CAPTURES for s in read_capture(path)]
    for options in ({"details": True, "events": True}, {"details": False, "events": False}):
        console = Console(file=io.StringIO(), width=100)
        report = cli._Report(console, False, full=False, raw=False, **options)
        for a in (watched(analyze(s)) for s in streams):
            alive.add(a)
            report.add(a)
            del a
            assert not alive
        rows = report._table.rows  # the text of the table's cells, and no more
        assert len(rows) == len(streams) and all(type(row) is Cells for row in rows)
        assert all(type(cell) in (str, int) for row in rows for cell in row)
        report.finish(None)
        shown = console.file.getvalue()  # type: ignore[attr-defined]
        assert ("─ answer ─" in shown) == options["details"]


# -- export writes as it goes ---------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["har", "jsonl", "md"])
def test_export_writes_each_stream_before_the_next_and_keeps_none(
    fmt: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    alive = Alive()
    writes: list[str] = []
    before: list[int] = []  # how many pieces were written when each stream was analysed

    def analyze_watched(stream: Stream, *args: Any, **kwargs: Any) -> Analysis:
        assert not alive, "an earlier analysis is still in memory"
        assert bool(writes) == bool(list(tmp_path.glob(".out.*.tmp")))  # made at the first
        before.append(len(writes))
        a = watched(analyze(stream, *args, **kwargs))
        alive.add(a)
        return a

    def write_watched(self: AtomicFile, text: str) -> None:
        writes.append(text)
        original(self, text)

    original = AtomicFile.write
    monkeypatch.setattr(cli, "analyze_stream", analyze_watched)
    monkeypatch.setattr(AtomicFile, "write", write_watched)
    monkeypatch.setattr(write, "SPOOL_BYTES", 1000)
    out = tmp_path / "out"
    result = run("export", *CAPTURES, "-o", out, "--format", fmt)
    assert result.exit_code == 0, result.output
    assert len(before) == len(analyses(CAPTURES)) > 5
    if fmt == "md":  # written at the end, after the summary line that counts the streams
        assert not any(before)
    else:  # every stream before this one is written already
        assert all(written >= n for n, written in enumerate(before))
    assert "".join(writes) == out.read_text()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("fmt", ["har", "jsonl", "md"])
def test_the_streams_before_damage_are_still_written(fmt: str, tmp_path: Path) -> None:
    chat = CHAT.read_bytes()
    damaged = tmp_path / "damaged.flow"
    damaged.write_bytes(chat * 2 + chat[: len(chat) // 2])
    out = tmp_path / f"out.{fmt}"
    result = run("export", damaged, "-o", out)
    assert result.exit_code == 2 and "damaged or truncated after 2 flows" in result.stderr
    text = out.read_text()
    if fmt == "har":
        assert len(json.loads(text)["log"]["entries"]) == 2
    elif fmt == "md":
        assert text.count("\n## ") == 2 and "2 event streams from" in text
    else:
        (a,) = analyses([CHAT])
        assert len(text.splitlines()) == 2 * len(a.decoded.events)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["damaged.flow", out.name]


@pytest.mark.parametrize("output", ["file", "-"])
@pytest.mark.parametrize("fmt", ["har", "jsonl", "md"])
def test_nothing_to_report_writes_nothing(output: str, fmt: str, tmp_path: Path) -> None:
    out = tmp_path / "out"
    target = str(out) if output == "file" else "-"
    result = run("export", CHAT, "--filter", "~u nothing-here", "-o", target, "--format", fmt)
    assert result.exit_code == 1 and result.stdout == ""
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_midway_is_one_line_and_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    opened = AtomicFile._open

    def open_on_a_disk_that_fills(self: AtomicFile) -> None:
        opened(self)
        assert self._file is not None
        real: IO[str] = self._file
        writes: list[str] = []

        class Full(io.StringIO):
            def write(self, text: str) -> int:
                writes.append(text)
                if len(writes) == 3:
                    raise OSError(errno.ENOSPC, "No space left on device")
                return real.write(text)

            def close(self) -> None:
                real.close()

        self._file = Full()

    monkeypatch.setattr(AtomicFile, "_open", open_on_a_disk_that_fills)
    result = run("export", *CAPTURES, "-o", out, "--force")
    assert result.exit_code == 2, result.output
    said = f"Error: {out}: cannot write (no space left on the device)"
    assert result.stderr.splitlines() == [said]
    assert out.read_text() == "old\n" and [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


# -- the atomic file and the spool ----------------------------------------------------------


def test_an_atomic_file_appears_whole_at_commit(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    with AtomicFile(path) as f:
        assert list(tmp_path.iterdir()) == []  # nothing before the first write
        f.write("one ")
        f.write("two \ud800\n")  # a lone surrogate is replaced, as in any export
        assert not path.exists() and len(list(tmp_path.iterdir())) == 1
        f.commit()
    assert path.read_text() == "one two ?\n" and list(tmp_path.iterdir()) == [path]


def test_an_atomic_file_left_without_commit_leaves_the_old_one(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_text("old")
    with pytest.raises(KeyboardInterrupt), AtomicFile(path) as f:
        f.write("new")
        raise KeyboardInterrupt
    with AtomicFile(path) as f:
        f.write("never committed")
    assert path.read_text() == "old" and list(tmp_path.iterdir()) == [path]


def test_an_atomic_file_committed_empty_is_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    with AtomicFile(path) as f:
        f.commit()
    assert path.read_text() == ""


@pytest.mark.parametrize("limit", [10, 1 << 20], ids=["on-disk", "in-memory"])
def test_a_spool_gives_back_what_it_was_given(limit: int) -> None:
    spool = Spool(limit)
    pieces = ["first line\n", "é \ud800 lone\n\n", "no newline", " then more\n" * 50, "end"]
    for p in pieces:
        spool.write(p)
    back = list(spool.chunks(64))
    assert "".join(back) == "".join(pieces)
    assert len(back) > 2 and all(piece.endswith("\n") for piece in back[:-1])
    assert list(spool.chunks()) == []  # given back once
    spool.write("again")
    assert list(spool.chunks()) == ["again"]
    spool.close()


# -- memory is flat in the number of streams ------------------------------------------------

N = 4000
COMMANDS = {
    "analyze --json": ["analyze", "--json"],
    "analyze": ["analyze"],
    "export har": ["export", "-o", "{out}.har"],
    "export jsonl": ["export", "-o", "{out}.jsonl"],
    "export md": ["export", "-o", "{out}.md"],
}
PEAK = """
import resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
assert done.returncode == 0, done.stderr.decode()
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


@pytest.fixture(scope="module")
def repeated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[int, Path]]:
    """The chat sample's bytes N/4 and N times: a .flow is a series of flows."""
    where = tmp_path_factory.mktemp("repeated")
    chat = CHAT.read_bytes()
    files = {}
    for n in (N // 4, N):
        files[n] = where / f"chat-x{n}.flow"
        files[n].write_bytes(chat * n)
    yield files


def _peak_mib(args: list[str]) -> float:
    """The peak RSS of one run of the command, in a fresh process that waits for it."""
    command = [sys.executable, "-m", "sse_inspect", *args]
    done = subprocess.run(
        [sys.executable, "-c", PEAK, *command], capture_output=True, text=True, check=True
    )
    return int(done.stdout) / 1024


@pytest.mark.e2e
@pytest.mark.parametrize("command", COMMANDS)
def test_memory_is_flat_in_the_number_of_streams(
    command: str, repeated: dict[int, Path], tmp_path: Path
) -> None:
    peaks = {}
    for n, capture in repeated.items():
        args = [a.format(out=tmp_path / f"x{n}") for a in COMMANDS[command]]
        peaks[n] = _peak_mib([*args, str(capture)])
    print(f"{command}: {peaks[N // 4]:.1f} MiB at {N // 4} streams, {peaks[N]:.1f} at {N}")
    assert peaks[N] < 300
    assert peaks[N] <= 1.3 * peaks[N // 4], peaks
