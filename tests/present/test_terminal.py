"""Terminal renderables measure the console they are printed on.

What a person sees is tested as a person sees it: each renderable is printed on a rich
console of a fixed width and the text it shows is read back.
"""

from __future__ import annotations

import io
import json
import os
import re
import tracemalloc
from typing import Any

import pytest
from rich.console import Console

from sse_inspect import cli
from sse_inspect.analysis.analysis import Analysis, analyze
from sse_inspect.load import read_capture
from sse_inspect.load.raw import read_sse
from sse_inspect.present import terminal
from sse_inspect.present.json import stream_record
from sse_inspect.present.terminal import (
    SPARK,
    CadenceStrip,
    Cells,
    StreamsTable,
    events_table,
    short_url,
    stream_details,
)

from ..conftest import SAMPLES, SHARED

(STREAM,) = read_capture(SAMPLES / "openai-chat.flow")
ANALYSIS = analyze(STREAM)
MIXED = [analyze(s) for s in read_capture(SAMPLES / "mixed.flow")]
WIDTHS = (60, 80, 100, 120, 160)


def _render(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, highlight=False)
    console.print(renderable)
    return console.export_text()


def _shared(name: str) -> Analysis:
    (stream,) = read_capture(SHARED / "streams" / f"{name}.sse")
    return analyze(stream)


def _records(*analyses: Analysis) -> list[dict[str, Any]]:
    return [stream_record(a) for a in analyses]


def test_the_cadence_strip_takes_the_consoles_width() -> None:
    arrivals = [i * 10.0 + (i % 7) for i in range(300)]  # more gaps than any width
    strip = CadenceStrip(arrivals, 1000.0, label="cadence ")
    for width in (60, 100, 160):
        (line,) = _render(strip, width).splitlines()
        assert len(line) <= width
        assert line.startswith("cadence ") and line.endswith(" ms")
        assert width - len(line) <= 1, (width, line)  # it fills the line
    narrow, wide = (_render(strip, w).splitlines()[0] for w in (60, 160))
    assert len(wide) - len(narrow) == 100  # 100 more columns, 100 more cells


def test_few_arrivals_give_one_cell_per_gap() -> None:
    strip = CadenceStrip([10.0, 20.0, 40.0], 1000.0)
    (line,) = _render(strip, 120).splitlines()
    assert line.startswith(SPARK[3] + SPARK[7]) and line.endswith("10 to 40 ms")


def test_a_stall_shows_as_a_full_red_block() -> None:
    strip = CadenceStrip([0.0, 10.0, 2000.0, 2010.0], 1000.0)
    assert "█" in _render(strip, 80)


# -- the streams table -----------------------------------------------------------------------


def test_the_streams_table_turns_compact_on_a_narrow_console() -> None:
    table = StreamsTable([stream_record(ANALYSIS)], "t")
    wide = _render(table, 160)
    narrow = _render(table, 100)
    assert "TTFB" in wide and "Status" in wide
    assert "TTFB" not in narrow and "Status" not in narrow and "TTFT" in narrow
    assert all(len(line) <= 100 for line in narrow.splitlines())


@pytest.mark.parametrize("width", WIDTHS)
def test_the_streams_table_keeps_one_or_two_lines_per_stream(width: int) -> None:
    records = _records(*MIXED)
    lines = _render(StreamsTable(records, "samples/mixed.flow"), width).splitlines()
    assert all(len(line) <= width for line in lines), lines
    title, header, rule, *rows = lines
    assert title.startswith("samples/mixed.flow") and set(rule.strip()) == {"─"}
    assert len(rows) <= 2 * len(records), lines  # not a letter per line
    text = "\n".join(rows)
    # The URL without its scheme; each row still says which host and endpoint it is.
    assert "http://" not in text
    (chat, messages) = (line for line in rows if "127.0.0.1:8000/" in line)
    assert re.search(r"ompletions(\s|$)", chat) and "/v1/messages" in messages
    for column in ("#", "TTFT", "Total", "Stalls", "Done"):
        assert re.search(rf"(^|\s){re.escape(column)}(\s|$)", header), (column, header)
    assert "openai-chat" in text and "anthropic" in text and "4,170" in text


def test_urls_lose_their_scheme_and_their_middle() -> None:
    url = "https://api.openai.com/v1/chat/completions?api-version=1"
    assert short_url(url) == "api.openai.com/v1/chat/completions"
    assert short_url(url, 28) == "api.openai.com/…/completions"
    assert len(short_url(url, 20)) == 20 and short_url(url, 20).endswith("completions")
    assert "…" in short_url(url, 20)
    gemini = "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"
    cut = short_url(gemini, 40)
    assert len(cut) == 40 and cut.startswith("generativelanguage") and cut.endswith("Content")
    assert short_url("samples/openai-chat.sse", 60) == "samples/openai-chat.sse"  # no URL


def test_gaps_read_the_same_in_the_table_and_the_details() -> None:
    record = stream_record(ANALYSIS)
    gaps = "/".join(f"{record['gap_ms'][k]:,.0f}" for k in ("p50", "p90", "p99", "max"))
    assert "," in gaps  # the longest gap is over a second
    table = _render(StreamsTable([record], "t"), 160)
    details = _render(stream_details(ANALYSIS, 1), 160)
    assert gaps in table and gaps in details


def test_several_capture_files_get_a_source_column() -> None:
    (other,) = (analyze(s) for s in read_capture(SAMPLES / "captured-anthropic.flow"))
    records = _records(*MIXED, other)
    wide = _render(StreamsTable(records), 160).splitlines()
    assert "Source" in wide[0]
    by_row = [line for line in wide[2:] if line.strip()]
    assert len(by_row) == 3
    assert "mixed.flow" in by_row[0] and "mixed.flow" in by_row[1]
    assert "captured-anthropic.flow" in by_row[2]
    assert "samples/" not in "\n".join(by_row)  # the file's name is enough
    for width in WIDTHS:  # and a reader can tell the files apart at every width
        text = _render(StreamsTable(records), width)
        assert "mixed.flow" in text and "captured-anthropic" in text, (width, text)
        assert all(len(line) <= width for line in text.splitlines())
        assert len(text.splitlines()) <= 2 + 2 * 3 + 2  # header, rule, rows, a name per file
    one = _render(StreamsTable(_records(*MIXED), "samples/mixed.flow"), 160)
    assert "Source" not in one


def test_files_of_one_name_are_told_apart_by_their_folder() -> None:
    monday, tuesday = (
        dict(stream_record(ANALYSIS), source=f"{day}/capture.flow") for day in ("mon", "tue")
    )
    for width in (60, 160):
        text = _render(StreamsTable([monday, tuesday]), width)
        assert "mon/capture.flow" in text and "tue/capture.flow" in text


def _many(n: int, period: int | None = None) -> list[dict[str, Any]]:
    """``n`` records of streams that differ in every figure, the widest ones last; with
    ``period``, the figures come round again after so many streams."""
    base = stream_record(ANALYSIS)
    out = []
    for number in range(1, n + 1):
        i = number if period is None else number % period + 1
        gaps = {k: i * 1.5 + j for j, k in enumerate(("p50", "p90", "p99", "max"))}
        url = f"https://api{i % 7}.example.com/v1/{'x' * (i % 30)}/completions?key={i}"
        figures = {"events": i, "ttfb_ms": i / 3, "ttft_ms": i * 1.7, "duration_ms": i * 99.0}
        out.append(dict(base, url=url, gap_ms=gaps, stalls=i % 11, **figures))
    return out


@pytest.mark.parametrize("width", [60, 160])
def test_a_long_table_keeps_its_rows_in_order_under_one_header(width: int) -> None:
    title, header, rule, *rows = _render(StreamsTable(_many(3000), "many.flow"), width).splitlines()
    assert title.startswith("many.flow") and header.startswith(" " * 3 + "#")
    assert set(rule) == {"─"} and "─" not in "".join(rows)  # the header once
    numbers = [int(line.split()[0]) for line in rows if re.match(r"\s*\d+ ", line)]
    assert numbers == list(range(1, 3001))  # every row, in order
    assert {len(line) for line in rows} == {len(header)} and len(header) <= width  # aligned
    total = header.index("Total") + len("Total")  # the widest Totals are in the last slab
    assert all(line[total - 1].isdigit() and line[total] == " " for line in rows if line[3] != " ")


@pytest.mark.parametrize("width", [60, 100, 160])
def test_a_table_in_slabs_reads_as_one_table(width: int, monkeypatch: pytest.MonkeyPatch) -> None:
    records = _many(450)
    several = [dict(r, source=f"{r['source']}.{i // 100}") for i, r in enumerate(records)]
    monkeypatch.setattr(terminal, "SLAB", 200)  # two slabs and a part
    slabs = [_render(StreamsTable(r, "many.flow"), width) for r in (records, several)]
    monkeypatch.setattr(terminal, "SLAB", len(records))  # one rich table of every row
    assert [_render(StreamsTable(r, "many.flow"), width) for r in (records, several)] == slabs


def test_the_streams_table_keeps_the_text_of_its_cells_alone() -> None:
    records = _records(*MIXED, ANALYSIS)
    table = StreamsTable()
    for r in records:
        table.add(r)
    assert len(table.rows) == 3 and all(type(row) is Cells for row in table.rows)
    assert all(type(cell) in (str, int) for row in table.rows for cell in row)
    assert _render(table, 100) == _render(StreamsTable(records), 100)
    assert _render(table.footnotes(), 100) == _render(terminal.footnotes(records), 100)


def _kept(records: list[dict[str, Any]]) -> int:
    """The memory that a table of ``records`` keeps, in bytes."""
    tracemalloc.start()
    try:
        table = StreamsTable(records)
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(table.rows) == len(records)
    return kept


def _printing_peak(records: list[dict[str, Any]]) -> int:
    """The most memory that printing a table of ``records`` as the CLI does (by 50 lines)
    takes on top of the table itself, in bytes."""
    table = StreamsTable(records)
    with open(os.devnull, "w") as sink:
        console = Console(file=sink, width=160, highlight=False)
        cli._print_by_lines(console, table)  # rich's caches filled first
        tracemalloc.start()
        try:
            cli._print_by_lines(console, table, lines=50)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def test_printing_a_long_table_takes_memory_flat_in_its_rows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(terminal, "SLAB", 50)
    # Figures that come round again, else rich's own caches (bounded) grow too, up to MBs.
    small, large = _printing_peak(_many(300, 40)), _printing_peak(_many(1200, 40))
    print(f"printing 300 rows takes {small:,} bytes at most, 1,200 rows {large:,}")
    assert large <= 1.3 * small  # rich lays out a slab at a time
    kept = _kept(_many(1000))
    print(f"1,000 rows keep {kept:,} bytes")
    assert kept / 1000 < 1000  # a row is its cells' text: under 1 KB a stream


# -- the details ---------------------------------------------------------------------------

LABELS = (
    "TTFB",
    "first event",
    "TTFT",
    "first answer text",
    "last event",
    "output tokens",
    "tokens/s",
    "ITL",
    "TPOT",
    "gaps p50/p90/p99/max",
    "stalls",
)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_figures_of_the_details_are_never_cut(width: int) -> None:
    text = _render(stream_details(ANALYSIS, 1), width)
    lines = text.splitlines()
    assert all(len(line) <= width for line in lines)
    assert "…" not in "\n".join(lines[:8])
    start = next(i for i, line in enumerate(lines) if line.startswith("TTFB "))
    grid = lines[start : lines.index("", start)]  # the figures, up to the blank line
    for label in LABELS:
        assert any(re.search(rf"(^|\s){re.escape(label)}\s", line) for line in grid), (
            label,
            text,
        )
    assert len(grid) in (4, 6, 11)  # 3, 2 or 1 figures per line
    if width <= 80:
        assert len(grid) > 4
    if width >= 120:
        assert len(grid) == 4


def test_details_come_from_the_analysis_alone() -> None:
    text = _render(stream_details(ANALYSIS, 1), 120)
    assert ANALYSIS.answer.first.text[:40] in text.replace("\n", " ").replace("│", "")
    assert "Stream 1: POST" in text and "cadence " in text


# -- the event list ------------------------------------------------------------------------


def _rows(text: str) -> list[str]:
    lines = text.splitlines()
    return lines[lines.index(next(x for x in lines if set(x.strip()) == {"─"})) + 1 :]


def test_events_show_what_each_event_carried() -> None:
    text = _render(events_table(ANALYSIS, 1), 120)
    rows = _rows(text)
    assert len(rows) == 67
    assert "chat.completion.chunk" not in text  # the raw JSON is behind --raw
    first = ANALYSIS.reading.deltas[0]
    assert f'text "{first.text}"' in rows[first.event]
    assert "Carried" in text
    assert rows[-1].rstrip().endswith("[DONE]")
    assert rows[-2].rstrip().endswith("usage")  # the include_usage chunk: no choices
    assert re.search(r"role assistant\s*$", rows[0]), rows[0]
    assert re.search(r"finish stop\s*$", rows[-3]), rows[-3]


def test_events_name_the_kind_of_event_that_carried_no_output() -> None:
    anthropic = _rows(_render(events_table(MIXED[1], 2), 100))
    assert re.search(r"message_start\s+message_start\s*$", anthropic[0]), anthropic[0]
    assert re.search(r":\s+ping\s*$", anthropic[1])  # the comment, as sent
    assert re.search(r"ping\s+ping\s*$", anthropic[3]), anthropic[3]
    assert 'text "Hello!"' in anthropic[4]
    assert re.search(r"message_delta\s+finish end_turn\s*$", anthropic[-2]), anthropic[-2]
    assert re.search(r"message_stop\s+end\s*$", anthropic[-1]), anthropic[-1]


def test_events_show_tool_calls_reasoning_and_choices() -> None:
    tools = _render(events_table(_shared("openai-chat--parallel-tool-calls"), 1), 100)
    assert re.search(r"tool GetWeatherArgs\s*$", _rows(tools)[1], re.MULTILINE)
    assert 'tool {"ci' in _rows(tools)[2]
    reasoning = _render(events_table(_shared("openai-chat--deepseek-reasoner"), 1), 100)
    assert 'reasoning "H"' in _rows(reasoning)[1]
    choices = _render(events_table(_shared("openai-chat--n3-multiple-choices"), 1), 100)
    assert '[1] text "{\\""' in choices or '[1] text "{""' in choices
    refusal = _render(events_table(_shared("openai-chat--refusal"), 1), 100)
    assert 'refusal "' in refusal
    responses = _render(events_table(_shared("openai-responses--function-call"), 1), 160)
    assert 'tool get_weather_at_location {"' in responses
    assert re.search(r"response\.completed\s+end\s*$", responses, re.MULTILINE)


@pytest.mark.parametrize("width", (60, 100))
def test_event_rows_stay_on_one_line_unless_full(width: int) -> None:
    a = MIXED[1]  # anthropic: long event names
    rows = _rows(_render(events_table(a, 2), width))
    assert len(rows) == len(a.decoded.events) + len(a.decoded.comments)
    assert all(len(row) <= width for row in rows)
    assert all('text "' in row for row in rows[4:14]), rows  # the figure is not squeezed out


def test_raw_shows_each_events_data_and_full_folds_it() -> None:
    data = ANALYSIS.decoded.events[1].data
    cut = _rows(_render(events_table(ANALYSIS, 1, raw=True), 100))
    assert "Carried" not in "\n".join(cut)
    assert cut[1].rstrip().endswith("…") and data[:40] in cut[1]
    full = _render(events_table(ANALYSIS, 1, raw=True, full=True), 60)
    assert all(len(line) <= 60 for line in full.splitlines())
    joined = re.sub(r"\s+", "", full)
    assert re.sub(r"\s+", "", data) in joined  # the whole data, folded over lines
    long_text = "x" * 300
    carried = _render(events_table(_with_text(long_text), 1, full=True), 60)
    assert long_text in re.sub(r"\s+", "", carried) and "…" not in carried
    assert "…" in _render(events_table(_with_text(long_text), 1), 60)


def _with_text(text: str) -> Analysis:
    chunk = {"choices": [{"index": 0, "delta": {"content": text}}]}
    (stream,) = read_sse(io.BytesIO(f"data: {json.dumps(chunk)}\n\n".encode()), "long.sse")
    return analyze(stream, dialect="openai-chat")
