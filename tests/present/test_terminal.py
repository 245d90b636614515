"""Terminal renderables measure the console they are printed on."""

from __future__ import annotations

from rich.console import Console

from sse_inspect.analysis.analysis import analyze
from sse_inspect.load import read_capture
from sse_inspect.present.json import stream_record
from sse_inspect.present.terminal import SPARK, CadenceStrip, StreamsTable, stream_details

from ..conftest import SAMPLES

(STREAM,) = read_capture(SAMPLES / "openai-chat.flow")
ANALYSIS = analyze(STREAM)


def _render(renderable: object, width: int) -> str:
    console = Console(width=width, record=True, color_system=None, highlight=False)
    console.print(renderable)
    return console.export_text()


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


def test_the_streams_table_turns_compact_on_a_narrow_console() -> None:
    table = StreamsTable([stream_record(ANALYSIS)], "t")
    wide = _render(table, 160)
    narrow = _render(table, 100)
    assert "TTFB" in wide and "Status" in wide
    assert "TTFB" not in narrow and "Status" not in narrow and "TTFT" in narrow
    assert all(len(line) <= 100 for line in narrow.splitlines())


def test_details_come_from_the_analysis_alone() -> None:
    text = _render(stream_details(ANALYSIS, 1), 120)
    assert ANALYSIS.answer.first.text[:40] in text.replace("\n", " ").replace("│", "")
    assert "Stream 1: POST" in text and "cadence " in text
