"""The capture addon driven hook by hook, as mitmproxy calls it (mitmproxy.test.taddons)."""

from __future__ import annotations

import asyncio
import io
import logging
import struct
import time
from array import array
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmproxy import exceptions, flow, http
from mitmproxy import io as mitmproxy_io
from mitmproxy.addons import save
from mitmproxy.test import taddons, tflow

from sse_inspect.capture import contract
from sse_inspect.capture.addon import CAPTURE_STOPPED, SSE_ONLY, SSECapture
from sse_inspect.load import read_capture
from sse_inspect.load.flows import stream_from_flow


@pytest.fixture
def addon() -> Iterator[tuple[SSECapture, taddons.context]]:
    a = SSECapture()
    with taddons.context(a) as tctx:
        yield a, tctx


def sse_flow(content_type: str = "text/event-stream", live: bool = True) -> http.HTTPFlow:
    f = tflow.tflow(resp=True, live=live)
    assert f.response is not None
    f.response.headers["Content-Type"] = content_type
    f.response.raw_content = None
    return f


def play(f: http.HTTPFlow, chunks: list[bytes]) -> list[bytes]:
    """What mitmproxy does with a stream callable: each chunk, then b"" at the end."""
    assert f.response is not None and callable(f.response.stream)
    out = [f.response.stream(c) for c in chunks]
    out.append(f.response.stream(b""))
    return out  # type: ignore[return-value]


def test_event_streams_are_streamed_and_recorded(addon: tuple[SSECapture, taddons.context]) -> None:
    a, _ = addon
    f = sse_flow("Text/Event-Stream; charset=utf-8")
    a.responseheaders(f)
    chunks = [b"data: a\n\n", b"data: b\n", b"\n"]
    assert play(f, chunks) == [*chunks, b""]  # unchanged, nothing held back
    assert f.response is not None and f.response.raw_content == b"".join(chunks)
    meta = f.metadata["sse_inspect"]
    assert meta["version"] == 2 and meta["complete"] is True and "chunks" not in meta
    chunks = contract.stored_chunks(meta)
    assert [n for _, n in chunks] == [9, 8, 1]
    assert chunks == sorted(chunks)  # times in arrival order
    stream = stream_from_flow(f, "test")
    assert stream is not None and stream.timing == "per-chunk" and stream.complete
    assert stream.chunks == tuple(chunks)


def test_an_open_stream_has_version_1_in_place_and_the_end_packs_version_2(
    addon: tuple[SSECapture, taddons.context],
) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    assert f.metadata["sse_inspect"] == {"version": 1, "chunks": [], "complete": False}
    f.response.stream(b"data: a\n\n")
    f.response.stream(b"data: bc\n\n")
    meta = f.metadata["sse_inspect"]
    assert meta["version"] == 1 and [n for _, n in meta["chunks"]] == [9, 10]  # so far
    mid = contract.unpack(meta, 19, None)  # a flow saved now is readable
    assert mid is not None and mid.chunks == tuple((t, n) for t, n in meta["chunks"])
    times = [t for t, _ in meta["chunks"]]
    f.response.stream(b"")
    meta = f.metadata["sse_inspect"]
    assert set(meta) == {"version", "times", "sizes", "complete"} and meta["version"] == 2
    assert isinstance(meta["times"], bytes) and isinstance(meta["sizes"], bytes)
    assert meta["times"] == struct.pack("<2d", *times)  # little-endian float64, whatever host
    assert meta["sizes"] == struct.pack("<2I", 9, 10)  # little-endian uint32
    assert list(array("d", meta["times"])) == times  # as the README decodes it
    assert list(array("I", meta["sizes"])) == [9, 10]


def test_a_finished_stream_survives_mitmproxys_writer_and_reader(
    addon: tuple[SSECapture, taddons.context],
) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    play(f, [b"data: a\n\n", b"data: b\n\n"] * 3)
    assert f.response is not None
    assert f.response.stream.chunks == []  # type: ignore[union-attr]  # v2 only is kept
    buf = io.BytesIO()
    mitmproxy_io.FlowWriter(buf).add(f)
    buf.seek(0)
    (back,) = mitmproxy_io.FlowReader(buf).stream()
    assert back.metadata["sse_inspect"] == f.metadata["sse_inspect"]
    assert isinstance(back.metadata["sse_inspect"]["times"], bytes)  # not made text
    assert isinstance(back, http.HTTPFlow)
    original, loaded = stream_from_flow(f, "a"), stream_from_flow(back, "b")
    assert original is not None and loaded is not None
    assert loaded.chunks == original.chunks and loaded.chunks is not None
    assert len(loaded.chunks) == 6


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_other_responses_are_left_alone(
    addon: tuple[SSECapture, taddons.context], content_type: str
) -> None:
    a, _ = addon
    f = sse_flow(content_type)
    a.responseheaders(f)
    assert f.response is not None and f.response.stream is False and not f.metadata


def test_loaded_flows_are_never_touched(addon: tuple[SSECapture, taddons.context]) -> None:
    a, _ = addon
    f = sse_flow(live=False)
    a.responseheaders(f)
    a.response(f)
    a.error(f)
    assert f.response is not None and f.response.stream is False and not f.metadata


def test_filter_option_limits_what_is_recorded(addon: tuple[SSECapture, taddons.context]) -> None:
    a, tctx = addon
    tctx.configure(a, sse_inspect_filter="~u /v1/chat")
    other = sse_flow()
    a.responseheaders(other)
    assert other.response is not None and other.response.stream is False
    chat = sse_flow()
    chat.request.path = "/v1/chat/completions"
    a.responseheaders(chat)
    assert chat.response is not None and callable(chat.response.stream)


def test_bad_options_are_refused(addon: tuple[SSECapture, taddons.context]) -> None:
    a, tctx = addon
    with pytest.raises(exceptions.OptionsError, match="sse_inspect_filter"):
        tctx.configure(a, sse_inspect_filter="~x ((")
    with pytest.raises(exceptions.OptionsError, match="negative"):
        tctx.configure(a, sse_inspect_max_bytes=-1)


def test_a_cut_stream_keeps_its_partial_body(addon: tuple[SSECapture, taddons.context]) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    f.response.stream(b"data: a\n\ndata: b")
    f.error = flow.Error("Client disconnected.")
    a.error(f)
    assert f.response.raw_content == b"data: a\n\ndata: b"
    assert f.metadata["sse_inspect"]["complete"] is False


def test_shutdown_stores_streams_still_open(addon: tuple[SSECapture, taddons.context]) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    f.response.stream(b"data: a\n\n")
    a.done()
    assert f.response.raw_content == b"data: a\n\n"
    assert f.metadata["sse_inspect"]["complete"] is False and not a.open
    assert f.metadata["sse_inspect"]["version"] == 2
    assert [n for _, n in contract.stored_chunks(f.metadata["sse_inspect"])] == [9]


def test_byte_cap_truncates_what_is_stored_not_what_is_forwarded(
    addon: tuple[SSECapture, taddons.context],
) -> None:
    a, tctx = addon
    tctx.configure(a, sse_inspect_max_bytes=12)
    f = sse_flow()
    a.responseheaders(f)
    chunks = [b"data: 1\n\n", b"data: 2\n\n", b"data: 3\n\n"]
    assert play(f, chunks)[:3] == chunks
    assert f.response is not None and f.response.raw_content == b"data: 1\n\ndat"
    meta = f.metadata["sse_inspect"]
    assert meta["truncated"] is True and meta["complete"] is True and meta["max_bytes"] == 12
    assert [n for _, n in contract.stored_chunks(meta)] == [9, 9, 9]  # every chunk's time
    stream = stream_from_flow(f, "test")
    assert stream is not None and stream.truncated


def test_a_failure_inside_is_logged_once_and_bytes_still_flow(
    addon: tuple[SSECapture, taddons.context], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    assert f.response is not None
    recorder = f.response.stream

    class Broken(list[object]):
        def append(self, item: object) -> None:
            raise RuntimeError("boom")

    recorder.chunks = Broken()  # type: ignore[union-attr]
    with caplog.at_level(logging.ERROR):
        chunks = [b"data: a\n\n", b"data: b\n\n"]
        assert play(f, chunks)[:2] == chunks
    errors = [r for r in caplog.records if "error while recording a chunk" in r.getMessage()]
    assert len(errors) == 1


def test_one_log_line_per_finished_stream(
    addon: tuple[SSECapture, taddons.context], caplog: pytest.LogCaptureFixture
) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    with caplog.at_level(logging.INFO):
        play(f, [b"data: a\n\n", b"data: b\n\n"])
        a.response(f)  # already finished: no second line
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("sse-inspect:")]
    assert len(lines) == 1
    assert "2 events" in lines[0] and "complete" in lines[0] and f.request.pretty_url in lines[0]


def test_only_event_streams_are_saved_unless_asked() -> None:
    a = SSECapture()
    with taddons.context(a, save.Save()) as tctx:
        a.running()
        assert tctx.options.save_stream_filter == SSE_ONLY
        tctx.options.save_stream_filter = None
        tctx.configure(a, sse_inspect_save_all=True)
        a.running()
        assert tctx.options.save_stream_filter is None
        tctx.configure(a, sse_inspect_save_all=False, save_stream_filter="~d example.com")
        a.running()
        assert tctx.options.save_stream_filter == "~d example.com"  # the user's own wins


def test_without_save_addon_running_is_harmless(
    addon: tuple[SSECapture, taddons.context],
) -> None:
    a, tctx = addon
    assert "save_stream_filter" not in tctx.options
    a.running()  # must neither fail nor invent Save's option
    assert "save_stream_filter" not in tctx.options
    f = sse_flow()
    a.responseheaders(f)
    play(f, [b"data: x\n\n"])
    assert f.metadata["sse_inspect"]["complete"] is True  # and it still records


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("sse-inspect: GET")]


@pytest.mark.parametrize(
    ("chunks", "error", "verdict"),
    [
        (
            [b"data: {}\n\n", b"data: [DONE]\n\n"],
            "Client disconnected.",
            "complete, client closed after the end",
        ),
        (
            [b'event: message_stop\ndata: {"type": "message_stop"}\n\n'],
            "stream reset by client (CANCEL)",
            "complete, client closed after the end",
        ),
        (
            [b"data: {}\n\ndata: [DONE]\n\n"],
            "Server disconnected.",
            "complete, server disconnected after the end",
        ),
        ([b"data: {}\n\n"], "Client disconnected.", "cut (Client disconnected.)"),
    ],
)
def test_a_stream_ended_by_its_marker_is_complete_though_the_transport_was_cut(
    addon: tuple[SSECapture, taddons.context],
    caplog: pytest.LogCaptureFixture,
    chunks: list[bytes],
    error: str,
    verdict: str,
) -> None:
    a, _ = addon
    f = sse_flow()
    a.responseheaders(f)
    assert f.response is not None and callable(f.response.stream)
    with caplog.at_level(logging.INFO):
        for c in chunks:
            f.response.stream(c)
        f.error = flow.Error(error)
        a.error(f)
    (line,) = _lines(caplog)
    assert line.endswith(f" · {verdict}"), line
    assert f.metadata["sse_inspect"]["complete"] is False  # Contract 2: the transport's verdict
    assert (a.tally.complete, a.tally.cut) == ((1, 0) if verdict.startswith("complete") else (0, 1))


def test_shutdown_logs_every_stream_at_once_and_says_why_the_open_ones_stopped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def shutdown() -> list[str]:
        a = SSECapture()
        with taddons.context(a):
            ended, open_ = sse_flow(), sse_flow()
            for f in (ended, open_):
                a.responseheaders(f)
            play(ended, [b"data: a\n\n", b"data: [DONE]\n\n"])  # its line waits for the loop
            assert open_.response is not None and callable(open_.response.stream)
            open_.response.stream(b"data: b\n\ndata: c\n\n")
            a.done()  # the loop may never turn again: every line now
            assert open_.error is not None and open_.error.msg == CAPTURE_STOPPED
            assert ended.error is None
            assert (a.tally.complete, a.tally.cut, a.tally.events) == (1, 1, 4)
            return _lines(caplog)

    with caplog.at_level(logging.INFO):
        lines = asyncio.run(shutdown())
    assert len(lines) == 2, lines
    assert sorted(line.rpartition(" · ")[2] for line in lines) == [
        "complete",
        "cut (capture stopped)",
    ]


def test_a_stream_stopped_by_shutdown_is_saved_with_the_reason(tmp_path: Path) -> None:
    a, s = SSECapture(), save.Save()
    out = tmp_path / "c.flow"
    with taddons.context(a, s) as tctx:
        tctx.configure(s, save_stream_file=str(out))
        f = sse_flow()
        s.request(f)  # Save keeps it to write at the end
        a.responseheaders(f)
        assert f.response is not None and callable(f.response.stream)
        f.response.stream(b"data: a\n\n")
        a.done()  # ahead of Save, as in sse-inspect capture
        s.done()
    (stream,) = read_capture(out)
    assert stream.error == CAPTURE_STOPPED and not stream.complete
    assert stream.body == b"data: a\n\n"


def test_the_tally_counts_every_finished_stream(
    addon: tuple[SSECapture, taddons.context],
) -> None:
    a, _ = addon
    for n in (1, 3):
        f = sse_flow()
        a.responseheaders(f)
        play(f, [b"data: x\n\n"] * n)
    assert (a.tally.streams, a.tally.complete, a.tally.cut, a.tally.events) == (2, 2, 0, 4)


def test_streams_ending_together_share_one_slice_of_the_loop_per_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 100 streams of 200 events end at the same instant (as in bench/load.py): counting
    # their events takes ~100 ms in all, which must not fall into one turn of the loop.
    events = [b'data: {"choices":[{"delta":{"content":"%d"}}]}\n\n' % i for i in range(200)]
    ends = 100

    async def main() -> tuple[float, int]:
        a = SSECapture()
        with taddons.context(a):
            flows = [sse_flow() for _ in range(ends)]
            for f in flows:
                a.responseheaders(f)
                for e in events:
                    assert f.response is not None and callable(f.response.stream)
                    f.response.stream(e)
            for f in flows:  # all their ends, in one turn
                assert f.response is not None and callable(f.response.stream)
                f.response.stream(b"")
            assert not _lines(caplog)  # every line waits for the loop
            longest, turns, last = 0.0, 0, time.perf_counter()
            while len(_lines(caplog)) < ends:
                await asyncio.sleep(0)
                now = time.perf_counter()
                longest, turns, last = max(longest, now - last), turns + 1, now
            assert not a.unlogged and (a.tally.complete, a.tally.events) == (ends, ends * 200)
        return longest, turns

    with caplog.at_level(logging.INFO):
        longest, turns = asyncio.run(main())
    lines = _lines(caplog)
    assert all("· 200 events ·" in line for line in lines), lines[0]
    assert turns > 20 and longest < 0.05, (turns, longest)  # in one go: over 0.1 s
