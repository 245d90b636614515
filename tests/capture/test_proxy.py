"""The proxy runner's pieces: the overwrite rule, the console, the summary line, and the
Save that survives a full disk."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from mitmproxy.addons import save
from mitmproxy.test import taddons, tflow

from sse_inspect.capture import proxy
from sse_inspect.capture.addon import SSECapture, Tally
from sse_inspect.capture.proxy import CaptureConfig, build_master, would_overwrite


def test_only_a_non_empty_file_would_be_overwritten(tmp_path: Path) -> None:
    full, empty = tmp_path / "full.flow", tmp_path / "empty.flow"
    full.write_bytes(b"x")
    empty.write_bytes(b"")
    assert would_overwrite(str(full))
    assert not would_overwrite(str(empty))
    assert not would_overwrite(str(tmp_path / "new.flow"))
    assert not would_overwrite("+" + str(full))  # appends
    assert not would_overwrite(str(tmp_path))  # a directory: opening it will say so


@pytest.mark.parametrize(
    ("tally", "write", "line"),
    [
        (
            Tally(complete=2, cut=1, events=412),
            "capture.flow",
            "sse-inspect: 3 streams recorded (2 complete, 1 cut), 412 events, "
            "written to capture.flow",
        ),
        (
            Tally(complete=1, events=1),
            "+c.flow",
            "sse-inspect: 1 stream recorded (1 complete, 0 cut), 1 event, appended to c.flow",
        ),
        (Tally(), "c.flow", "sse-inspect: 0 streams recorded, 0 events, written to c.flow"),
    ],
)
def test_the_summary_line(tally: Tally, write: str, line: str) -> None:
    capture = SSECapture()
    capture.tally = tally
    assert proxy._summary(capture, write) == line


@pytest.mark.parametrize("write", ["capture.flow", "+capture.flow"])
def test_the_summary_says_when_the_file_is_incomplete(write: str) -> None:
    capture = SSECapture()
    capture.tally = Tally(complete=5, cut=1, events=120)
    assert proxy._summary(capture, write, "No space left on device") == (
        "sse-inspect: 6 streams seen (5 complete, 1 cut), 120 events; capture.flow is "
        "incomplete: cannot write it (No space left on device)"
    )


FULL = Path("/dev/full")
needs_dev_full = pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")


def _cannot_write(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "cannot write" in r.getMessage()]


async def _until(condition: Callable[[], object], timeout: float = 10) -> None:
    """Let the event loop turn until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.01)


@needs_dev_full
def test_a_full_disk_stops_the_recording_once_and_not_the_proxy(
    caplog: pytest.LogCaptureFixture,
) -> None:
    async def run() -> None:
        s = proxy._Save()
        with taddons.context(s) as tctx:
            tctx.configure(s, save_stream_file=str(FULL))
            for _ in range(3):
                f = tflow.tflow(resp=True)
                s.request(f)
                s.response(f)  # mitmproxy's Save: sys.exit(1) here
            await _until(lambda: s.failed)  # the writer's thread tells the event loop
            assert _cannot_write(caplog) == [
                "sse-inspect: cannot write /dev/full: No space left on device; streams are "
                "still forwarded but no longer recorded"
            ]
            assert s.failed == "No space left on device"
            assert s.stream is None and not s.active_flows
            s.request(tflow.tflow())
            assert not s.active_flows  # nothing more is tracked
            s.response(tflow.tflow(resp=True))
            tctx.configure(s, save_stream_filter="~q")
            assert s.stream is None  # the file that failed is never reopened (nor truncated)
            s.done()
        assert len(_cannot_write(caplog)) == 1

    asyncio.run(run())


@needs_dev_full
def test_without_an_event_loop_the_next_flow_says_the_disk_is_full(
    caplog: pytest.LogCaptureFixture,
) -> None:
    s = proxy._Save()
    with taddons.context(s) as tctx:
        tctx.configure(s, save_stream_file=str(FULL))
        s.response(tflow.tflow(resp=True))
        writer = s.stream
        assert writer is not None
        deadline = time.monotonic() + 10
        while writer.error is None:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        assert not _cannot_write(caplog)  # no loop to tell
        s.response(tflow.tflow(resp=True))
        assert s.failed == "No space left on device" and s.stream is None
        s.done()
    assert len(_cannot_write(caplog)) == 1


@needs_dev_full
def test_a_full_disk_at_shutdown_is_said_too(caplog: pytest.LogCaptureFixture) -> None:
    s = proxy._Save()
    with taddons.context(s) as tctx:
        tctx.configure(s, save_stream_file=str(FULL))
        s.request(tflow.tflow())  # still open when the proxy stops
        s.done()
    assert _cannot_write(caplog) == [
        "sse-inspect: cannot write /dev/full: No space left on device; the flows still open "
        "were not recorded"
    ]
    assert s.failed == "No space left on device"


def _record(name: str, level: int, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, level, __file__, 1, msg, None, None)


def test_the_console_holds_everything_until_started_and_drops_connection_lines() -> None:
    out = io.StringIO()
    console = proxy._Console(verbose=False, out=out)
    try:
        handler = console.addon.logger
        handler.handle(_record("mitmproxy.proxy.mode_servers", logging.INFO, "listening"))
        assert out.getvalue() == ""  # held while starting
        console.release()
        assert out.getvalue().endswith(" listening\n")
        handler.handle(_record("mitmproxy.proxy.server", logging.INFO, "client connect"))
        handler.handle(_record("mitmproxy.proxy.server", logging.WARNING, "TLS failed"))
        handler.handle(_record("sse_inspect.capture.addon", logging.INFO, "sse-inspect: x"))
        text = out.getvalue()
        assert "client connect" not in text and "TLS failed" in text and "sse-inspect: x" in text
    finally:
        console.close()


def test_verbose_keeps_connection_lines() -> None:
    out = io.StringIO()
    console = proxy._Console(verbose=True, out=out)
    try:
        console.release()
        console.addon.logger.handle(
            _record("mitmproxy.proxy.server", logging.INFO, "client connect")
        )
        assert "client connect" in out.getvalue()
    finally:
        console.close()


def test_the_master_has_no_file_until_the_proxy_listens() -> None:
    async def build() -> None:
        m = build_master(CaptureConfig(write="never-opened.flow", listen_port=0))
        chain = m.addons.chain
        (saves,) = [i for i, a in enumerate(chain) if isinstance(a, save.Save)]
        assert isinstance(chain[saves], proxy._Save)  # ours, in mitmproxy's Save's place
        assert m.addons.get("save") is chain[saves]
        assert isinstance(chain[saves - 1], SSECapture)  # right ahead of Save
        assert m.options.save_stream_file is None
        check = m.addons.get("errorcheck")
        assert isinstance(check, proxy._StartCheck)  # ours, which Master.run calls by name
        check.finish()  # uninstalls its log handler

    asyncio.run(build())
