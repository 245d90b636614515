"""The live view of `capture`, driven with the addon's real recorders (mitmproxy.test)."""

from __future__ import annotations

import asyncio
import gzip
import io
import logging
import time
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.flow import Error
from mitmproxy.test import taddons, tflow
from rich.cells import cell_len
from rich.console import Console

from sse_inspect.capture.addon import SSECapture
from sse_inspect.capture.proxy import _Live
from sse_inspect.demo.chatsim import openai_chat_events, tokens
from sse_inspect.present.live import (
    BLOCKS,
    ENDING,
    PIECE,
    StreamRow,
    TerminalView,
    _Track,
    render_panel,
    sparkline,
)

ANSWER = "The quick brown fox jumps over the lazy dog, and then it streams a little more."
EVENTS = openai_chat_events(tokens(ANSWER))


@pytest.fixture
def addon() -> Iterator[SSECapture]:
    a = SSECapture()
    with taddons.context(a):
        yield a


def console(width: int = 120, height: int = 30) -> Console:
    return Console(file=io.StringIO(), width=width, height=height, force_terminal=True)


def view(width: int = 120) -> TerminalView:
    return TerminalView(console(width), budget_s=1.0)


def start(
    a: SSECapture, path: str = "/v1/chat/completions", coding: str | None = None
) -> http.HTTPFlow:
    """A live flow whose event-stream response the addon is now recording."""
    f = tflow.tflow(resp=True, live=True)
    assert f.response is not None
    f.request.path = path
    f.request.timestamp_start = time.time()
    f.response.headers["Content-Type"] = "text/event-stream"
    if coding:
        f.response.headers["Content-Encoding"] = coding
    f.response.raw_content = None
    a.responseheaders(f)
    assert callable(f.response.stream)
    return f


def send(f: http.HTTPFlow, *chunks: bytes) -> None:
    assert f.response is not None and callable(f.response.stream)
    for c in chunks:
        f.response.stream(c)


def track_of(v: TerminalView, f: http.HTTPFlow) -> _Track:
    assert f.response is not None
    recorder: Any = f.response.stream
    key = id(recorder)
    if key in v.open:
        return v.open[key]
    return next(t for t in v.finished if t.recording is recorder)


class CountingDecoder:
    """Wraps a track's SSE decoder to count the bytes it is given."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.fed = 0

    def feed(self, data: bytes, t: float) -> Any:
        self.fed += len(data)
        return self.inner.feed(data, t)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_refresh_reads_only_the_bytes_that_arrived_since_the_last(addon: SSECapture) -> None:
    v = view()
    f = start(addon)
    assert f.response is not None
    v.watch(f.response.stream)  # type: ignore[arg-type]
    send(f, *EVENTS[:4])
    v.refresh()
    track = track_of(v, f)
    counting = CountingDecoder(track.sse)
    track.sse = counting  # type: ignore[assignment]
    first = sum(map(len, EVENTS[:4]))
    assert track.fed == first and track.events == 4
    (row,) = v.rows()[0]
    assert row.tail == "The quick brown" and row.verdict is None and row.dialect == "openai-chat"
    v.refresh()  # nothing new: nothing read
    assert track.fed == first and counting.fed == 0
    send(f, *EVENTS[4:9])
    v.refresh()
    new = sum(map(len, EVENTS[4:9]))
    assert track.fed == first + new and counting.fed == new
    (row,) = v.rows()[0]
    assert row.events == 9 and row.tail.endswith("the lazy") and len(row.gaps_ms) == 7


def test_gzip_is_undone_incrementally(addon: SSECapture) -> None:
    v = view()
    f = start(addon, coding="gzip")
    assert f.response is not None
    v.watch(f.response.stream)  # type: ignore[arg-type]
    z = zlib.compressobj(wbits=31)
    wire = [z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH) for e in EVENTS]
    wire[-1] += z.flush()
    send(f, *wire[:6])
    v.refresh()
    track = track_of(v, f)
    assert track.fed == sum(map(len, wire[:6])) and track.events == 6
    send(f, *wire[6:], b"")
    v.refresh()
    (row,) = v.rows()[0]
    assert track.fed == sum(map(len, wire)) and row.events == len(EVENTS)
    assert row.tail == ANSWER and row.verdict == "complete"
    assert gzip.decompress(f.response.raw_content or b"") == b"".join(EVENTS)


def test_a_stream_that_ends_between_two_refreshes_is_read_from_the_stored_body(
    addon: SSECapture,
) -> None:
    v = view()
    f = start(addon)
    assert f.response is not None
    v.watch(f.response.stream)  # type: ignore[arg-type]
    send(f, *EVENTS[:3])
    v.refresh()
    send(f, *EVENTS[3:], b"")  # the recorder rebinds its body and chunks at the end
    v.refresh()
    track = track_of(v, f)
    (row,) = v.rows()[0]
    assert track.fed == len(f.response.raw_content or b"")
    assert row.events == len(EVENTS) and row.tail == ANSWER and row.verdict == "complete"
    assert row.ttft_ms is not None and row.tokens_per_s is not None


def test_finished_rows_keep_the_verdict_of_the_log_line(
    addon: SSECapture, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    v = view()
    cut, after_end = start(addon, "/cut/v1/chat/completions"), start(addon, "/v1/chat/completions")
    for f in (cut, after_end):
        assert f.response is not None
        v.watch(f.response.stream)  # type: ignore[arg-type]
    send(cut, *EVENTS[:5])
    send(after_end, *EVENTS)
    v.refresh()
    cut.error = Error("Connection reset by peer")
    addon.error(cut)
    after_end.error = Error("Client disconnected.")
    addon.error(after_end)
    rows = {row.url.split("/")[3]: row for row in v.rows()[0]}
    assert rows["cut"].verdict == ENDING  # not read to its end yet
    v.refresh()
    rows = {row.url.split("/")[3]: row for row in v.rows()[0]}
    assert rows["cut"].verdict == "cut (Connection reset by peer)"
    assert rows["v1"].verdict == "complete, client closed after the end"
    for row in rows.values():
        assert row.verdict is not None and f"· {row.verdict}" in caplog.text  # same words


def test_the_dialect_is_told_by_the_first_events_when_the_url_does_not(
    addon: SSECapture,
) -> None:
    v = view()
    chat, plain = start(addon, "/api/stream"), start(addon, "/ticks")
    for f in (chat, plain):
        assert f.response is not None
        v.watch(f.response.stream)  # type: ignore[arg-type]
    send(plain, b"data: 1\n\n", b"data: 2\n\n")
    v.refresh()
    assert [r.dialect for r in v.rows()[0]] == [None, None]  # nothing yet / not told yet
    send(chat, *EVENTS[:3])
    send(plain, b"data: 3\n\n", b"")
    v.refresh()
    rows = {r.url.rsplit("/", 1)[1]: r for r in v.rows()[0]}
    assert rows["stream"].dialect == "openai-chat" and rows["stream"].tail == "The quick"
    assert rows["ticks"].dialect == "generic" and rows["ticks"].tail == "1 2 3"


def test_each_refresh_is_bounded_by_its_budget(addon: SSECapture) -> None:
    v = view()
    f = start(addon)
    assert f.response is not None
    v.watch(f.response.stream)  # type: ignore[arg-type]
    flood = b"".join(b'data: {"choices":[{"delta":{"content":"x"}}]}\n\n' for _ in range(60_000))
    send(f, flood)  # one chunk of about 3 MB
    t0 = time.perf_counter()
    v.refresh(budget_s=0.002)
    took = time.perf_counter() - t0
    track = track_of(v, f)
    assert 0 < track.events < 60_000  # stopped part way, at a piece's end
    assert track.sse.feed is not None and took < 0.2, took
    while track.events < 60_000:
        v.refresh(budget_s=0.002)
    assert track.fed == len(flood) and v.rows()[0][0].events == 60_000
    assert len(track.tail) <= 400 and len(track.gaps) <= 64  # memory stays flat
    assert PIECE <= 64 * 1024


def test_the_panel_at_120_columns() -> None:
    rows = [
        StreamRow(
            "POST",
            "https://api.openai.com/v1/chat/completions",
            "openai-chat",
            182,
            423.0,
            38.2,
            (20.0, 35.0, 18.0, 1400.0, 22.0),
            "…which is why devtools show a plain, "
            "growing response instead of events. A proxy in the middle has to pass every chunk",
        ),
        StreamRow(
            "POST",
            "http://127.0.0.1:8000/v1/messages?beta=true",
            "anthropic",
            40,
            612.0,
            None,
            (),
            "",
            verdict="cut (Connection reset by peer)",
        ),
        StreamRow("GET", "http://127.0.0.1:9/ticks", None, 0, None, None, (), ""),
    ]
    c = Console(record=True, width=120, height=30, file=io.StringIO())
    render_panel(c, rows, summary="2 streaming · 1 recorded (0 complete, 1 cut) · 40 events")
    text = c.export_text()
    print(text)
    lines = text.splitlines()
    assert all(cell_len(line) <= 120 for line in lines)
    assert "sse-inspect capture" in lines[0] and "1 cut" in lines[-1]
    assert "TTFT ms" in lines[1] and "tok/s" in lines[1]
    assert "api.openai.com/v1/chat/completions" in text and "127.0.0.1:8000/v1/messages" in text
    assert "beta=true" not in text
    assert "openai-chat" in text and "streaming" in text and "cut (Connection res…" in text
    assert "pass every chunk │" in text  # the newest text stays in view, at the end
    assert "38.2" in text and "423" in text and "█" in text
    svg = c.export_svg(title="sse-inspect capture")  # the docs' screenshot hook
    assert "<svg" in svg


def test_the_view_draws_the_recordings_with_the_log_above(addon: SSECapture) -> None:
    c = console()
    v = TerminalView(c, budget_s=1.0)
    v.begin(addon)
    f = start(addon)
    assert f.response is not None
    v.watch(f.response.stream)  # type: ignore[arg-type]
    send(f, *EVENTS[:6])
    print("sse-inspect: a log line", file=v.out)
    assert c.file.getvalue().count("a log line") == 0  # type: ignore[attr-defined]
    v.refresh()
    send(f, *EVENTS[6:], b"")
    v.end()
    print("sse-inspect: the summary", file=v.out)
    shown = c.file.getvalue()  # type: ignore[attr-defined]
    assert shown.count("a log line") == 1 and shown.index("a log line") < shown.rindex("complete")
    assert shown.rindex("complete") < shown.index("the summary")
    assert "/v1/chat/completions" in shown and "lazy dog" in shown


def test_sparkline_heights_and_stalls() -> None:
    # a log scale from 1 ms to the stall threshold (1,000 ms): 10 ms a third of the way up
    line = sparkline([1.0, 10.0, 100.0, 999.0], 6)
    assert line.plain == "  " + BLOCKS[0] + BLOCKS[2] + BLOCKS[5] + BLOCKS[7]
    stalled = sparkline([10.0, 1500.0, 0.2], 3)
    assert stalled.plain == BLOCKS[2] + BLOCKS[7] + BLOCKS[0]
    assert [str(s.style) for s in stalled.spans] == ["cyan", "red", "cyan"]
    assert sparkline([float(i) for i in range(100)], 8).plain == BLOCKS[5] * 8
    assert sparkline([], 4).plain == "    "


def test_more_streams_than_the_screen_holds(addon: SSECapture) -> None:
    v = TerminalView(console(120, 16), budget_s=1.0)
    for i in range(9):
        f = start(addon, f"/s{i}/v1/chat/completions")
        assert f.response is not None
        v.watch(f.response.stream)  # type: ignore[arg-type]
    v.refresh()
    rows, hidden = v.rows()
    assert len(rows) == 5 and hidden == 4
    c = Console(record=True, width=120, file=io.StringIO())
    c.print(v.panel())
    assert "… and 4 more streaming" in c.export_text()


def test_a_failing_view_is_logged_once_and_the_proxy_goes_on(
    addon: SSECapture, caplog: pytest.LogCaptureFixture
) -> None:
    class Broken(TerminalView):
        ended = 0

        def refresh(self, budget_s: float | None = None) -> None:
            raise RuntimeError("boom")

        def end(self) -> None:
            self.ended += 1
            super().end()

    broken = Broken(console())

    async def run() -> None:
        live = _Live(broken)
        live.begin(addon)
        live._tick()
        live._tick()
        live.end()
        f = start(addon)
        live.responseheaders(f)  # no longer asked anything

    asyncio.run(run())
    failures = [r for r in caplog.records if "live view failed" in r.getMessage()]
    assert len(failures) == 1 and broken.ended == 1 and broken._new == []
