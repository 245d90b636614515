"""The -w file is written from a thread: the event loop only snapshots each finished flow.

What must hold: the file has the bytes mitmproxy's own Save writes (appending with +FILE,
filtered by save_stream_filter), in the order the flows finished; a flow is written as it
was when it was handed over; the loop never waits for the disk (unless the writer falls a
bounded amount behind); and ``done`` returns only once every flow is written.
"""

from __future__ import annotations

import asyncio
import io
import logging
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import flow as mflow
from mitmproxy import http
from mitmproxy.addons import save
from mitmproxy.io import FlowReader, FlowWriter
from mitmproxy.test import taddons, tflow

from sse_inspect.capture import proxy


def _flows(n: int, body: bytes = b"data: x\n\n") -> list[http.HTTPFlow]:
    flows = []
    for i in range(n):
        f = tflow.tflow(resp=True)
        f.request.path = f"/{i}"
        f.response.content = body * (i + 1)
        f.metadata["sse_inspect"] = {"version": 2, "times": b"\0" * 8 * i, "complete": True}
        flows.append(f)
    return flows


def _mitmproxys_bytes(flows: list[http.HTTPFlow]) -> bytes:
    out = io.BytesIO()
    writer = FlowWriter(out)
    for f in flows:
        writer.add(f)
    return out.getvalue()


def _save(s: save.Save, path: str, flows: list[http.HTTPFlow], **options: Any) -> None:
    with taddons.context(s) as tctx:
        tctx.configure(s, save_stream_file=path, **options)
        for f in flows:
            s.request(f)
            s.response(f)
        s.done()


def test_the_file_has_mitmproxys_bytes_in_the_order_the_flows_ended(tmp_path: Path) -> None:
    flows = _flows(30)
    ours, theirs = tmp_path / "ours.flow", tmp_path / "theirs.flow"
    asyncio.run(_in_loop(lambda: _save(proxy._Save(), str(ours), flows)))  # as in the proxy
    _save(save.Save(), str(theirs), flows)
    assert ours.read_bytes() == theirs.read_bytes() == _mitmproxys_bytes(flows)
    with ours.open("rb") as fo:
        assert [f.request.path for f in FlowReader(fo).stream()] == [f"/{i}" for i in range(30)]


async def _in_loop(work: Any) -> None:
    work()


def test_plus_file_appends_and_the_filter_applies(tmp_path: Path) -> None:
    path = tmp_path / "c.flow"
    first, more = _flows(2), _flows(4)
    for f in more[::2]:
        f.request.method = "POST"
    _save(proxy._Save(), str(path), first)
    _save(proxy._Save(), f"+{path}", more, save_stream_filter="~m POST")
    assert path.read_bytes() == _mitmproxys_bytes([*first, more[0], more[2]])


def test_the_flows_still_open_at_shutdown_are_written_too(tmp_path: Path) -> None:
    path = tmp_path / "c.flow"
    done, still_open = _flows(2)
    s = proxy._Save()
    with taddons.context(s) as tctx:
        tctx.configure(s, save_stream_file=str(path))
        s.request(done)
        s.request(still_open)
        s.response(done)
        s.done()  # returns with everything written
    assert path.read_bytes() == _mitmproxys_bytes([done, still_open])


def test_switching_files_writes_each_flow_where_it_was_saved(tmp_path: Path) -> None:
    a, b = tmp_path / "a.flow", tmp_path / "b.flow"
    flows = _flows(4)
    s = proxy._Save()
    with taddons.context(s) as tctx:
        tctx.configure(s, save_stream_file=str(a))
        s.response(flows[0])
        s.response(flows[1])
        tctx.configure(s, save_stream_file=str(b))
        s.response(flows[2])
        s.response(flows[3])
        s.done()
    assert a.read_bytes() == _mitmproxys_bytes(flows[:2])
    assert b.read_bytes() == _mitmproxys_bytes(flows[2:])


class _HeldFile(io.BytesIO):
    """A file whose writes wait until ``release`` is set: a stalled disk."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()
        self.writing = threading.Event()
        self.closed_with = b""

    def write(self, data: Any) -> int:
        self.writing.set()
        assert self.release.wait(10)
        return super().write(data)

    def close(self) -> None:
        self.closed_with = self.getvalue()
        super().close()


def test_a_stalled_disk_never_holds_up_the_caller_and_close_waits_for_it() -> None:
    fo = _HeldFile()
    writer = proxy._Writer(fo, "held.flow", None)
    flows = _flows(5)
    t = time.monotonic()
    for f in flows:
        writer.add(f)
    assert fo.writing.wait(10)  # the thread is stuck in the first write
    assert time.monotonic() - t < 5  # and add() did not wait for it
    writer.close(wait=False)  # returns at once too
    assert not fo.closed_with
    fo.release.set()
    writer.close()
    assert fo.closed_with == _mitmproxys_bytes(flows)


def test_a_flow_is_written_as_it_was_when_handed_over() -> None:
    fo = _HeldFile()
    writer = proxy._Writer(fo, "held.flow", None)
    (f,) = _flows(1)
    before = _mitmproxys_bytes([f])
    writer.add(f)
    f.comment = "changed afterwards"
    f.metadata["sse_inspect"]["complete"] = False
    fo.release.set()
    writer.close()
    assert fo.closed_with == before


def test_the_caller_waits_only_when_the_writer_is_too_far_behind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(proxy, "_QUEUE_BYTES", 15_000)
    fo = _HeldFile()
    writer = proxy._Writer(fo, "held.flow", None)
    flows = _flows(3, body=b"x" * 4_000)  # bodies of 4, 8 and 12 kB
    writer.add(flows[0])  # taken by the thread, stuck writing it: 5 kB behind
    assert fo.writing.wait(10)
    writer.add(flows[1])  # 14 kB behind
    writer.add(flows[2])  # 27 kB behind: taken, as the bound held when it came
    last = tflow.tflow(resp=True)
    added = threading.Event()
    adding = threading.Thread(target=lambda: (writer.add(last), added.set()))
    adding.start()
    assert not added.wait(0.3)  # over the bound: it waits for the disk
    fo.release.set()
    assert added.wait(10)
    adding.join()
    writer.close()
    assert fo.closed_with == _mitmproxys_bytes([*flows, last])


def test_a_flow_that_cannot_be_serialised_is_logged_and_the_others_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fo = _HeldFile()
    fo.release.set()
    writer = proxy._Writer(fo, "c.flow", None)
    good, bad, after = _flows(3)
    bad.metadata["not tnetstring"] = object()
    with caplog.at_level(logging.ERROR):
        for f in (good, bad, after):
            writer.add(f)
        writer.close()
    assert fo.closed_with == _mitmproxys_bytes([good, after])
    assert writer.error is None
    assert [r.getMessage() for r in caplog.records] == [
        "sse-inspect: cannot write a flow to c.flow"
    ]


class _FullFile(io.BytesIO):
    def write(self, data: Any) -> int:
        raise OSError(28, "No space left on device")


def test_a_failed_write_drops_the_rest_and_is_said_once() -> None:
    told: list[OSError | None] = []
    writer: proxy._Writer

    def on_error() -> None:
        told.append(writer.error)

    writer = proxy._Writer(_FullFile(), "c.flow", None, on_error)
    for f in _flows(3):
        writer.add(f)
    writer.close()
    assert len(told) == 1 and isinstance(told[0], OSError)
    writer.add(tflow.tflow(resp=True))  # after the end: ignored, never raises


def test_the_event_loop_is_told_of_a_failure_from_the_thread(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def run() -> None:
        s = proxy._Save()
        with taddons.context(s) as tctx:
            tctx.configure(s, save_stream_file=str(tmp_path / "c.flow"))
            writer = s.stream
            assert writer is not None
            writer.fo.close()
            monkeypatch.setattr(writer, "fo", _FullFile())
            s.request(flows[1])  # open: tracked
            s.response(flows[0])
            deadline = time.monotonic() + 10
            while s.failed is None:
                assert time.monotonic() < deadline
                await asyncio.sleep(0.01)
            assert s.stream is None and not s.active_flows
            s.done()

    flows: list[mflow.Flow] = list(_flows(2))
    with caplog.at_level(logging.ERROR):
        asyncio.run(run())
    assert [r.getMessage() for r in caplog.records] == [
        f"sse-inspect: cannot write {tmp_path / 'c.flow'}: No space left on device; "
        "streams are still forwarded but no longer recorded"
    ]


def test_on_the_loop_flows_are_serialised_a_share_per_turn_not_when_handed_over(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # tnetstring is pure Python: serialised in the thread, it would hold the GIL from the
    # loop; all at once on the loop, a hundred flows ending together would stall it.
    monkeypatch.setattr(proxy, "_SERIALISE_S", 0.0)  # one flow per turn, then
    fo = _HeldFile()
    fo.release.set()
    flows = _flows(100)

    async def run() -> int:
        writer = proxy._Writer(fo, "c.flow", None)
        for f in flows:
            writer.add(f)
        assert len(writer._states) == 100  # handed over: nothing serialised yet
        turns = 0
        while writer._states:
            await asyncio.sleep(0)
            turns += 1
        writer.close()
        return turns

    assert asyncio.run(run()) == 100
    assert fo.closed_with == _mitmproxys_bytes(flows)
