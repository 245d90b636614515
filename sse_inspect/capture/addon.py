"""The capture addon: record every event stream with the arrival time of each chunk.

Plain mitmproxy buffers a response until it is complete, which kills the typewriter effect
of a chat app, and with ``stream_large_bodies`` it forwards chunks but keeps no body (and
streams request bodies too, losing the prompt). This addon streams event-stream responses
only, forwards every chunk unchanged the moment it arrives, and records its arrival time
and byte count plus the body as received, so that ``-w`` files, HAR export and mitmproxy's
own views all see the stream, and ``sse-inspect analyze`` can tell when each event arrived.

Run it with ``sse-inspect capture``, or from a checkout::

    mitmdump -s addons/sse_capture.py -w capture.flow

It never buffers, modifies or drops a byte; any failure inside it is logged once per flow
and the chunk is forwarded all the same. What it writes is Contract 2 of DESIGN.md,
defined in :mod:`.contract`: while a stream is open, version 1 in place (``"chunks":
[[t, n], ...]``, one pair appended per chunk, so a flow saved mid-stream has the chunks so
far); when it ends, once, version 2 (``"times"`` and ``"sizes"`` as packed little-endian
float64 and uint32 bytes), which mitmproxy saves as cheaply as two short bodies.

Each finished stream gets one log line (events, first and last event, how it ended); a
stream whose end marker arrived (see :mod:`.ends`) ended normally even when the client hung
up right after it. :attr:`SSECapture.tally` counts what was recorded. The lines' events
are counted from at most :data:`LOG_MAX_DECODED` decoded bytes each, in one queue for all
streams that gets at most :data:`_LOG_SLICE` per turn of the event loop: a long body, a
few kilobytes of gzip or brotli that inflate to gigabytes, or a hundred streams ending at
the same instant never hold up the other streams, nor fill the memory.

It imports mitmproxy, its own package (the contract, the end markers), the SSE decoder and
content decoding, and nothing else of sse-inspect: the proxy never loads rich, the dialects
or the analysis.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from mitmproxy import ctx, exceptions, flowfilter, http
from mitmproxy.flow import Error

from ..decode.body import EventCount, EventCounter
from ..decode.content import format_size
from ..sse import is_event_stream
from . import contract
from .ends import TAIL, finished

__all__ = [
    "CAPTURE_STOPPED",
    "DEFAULT_MAX_BYTES",
    "LOG_MAX_DECODED",
    "SSE_ONLY",
    "SSECapture",
    "Tally",
    "stream_verdict",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 64 * 1024 * 1024
# What Save writes unless sse_inspect_save_all is on: responses that are event streams.
SSE_ONLY = "~ts ^\\s*text/event-stream"
CAPTURE_STOPPED = "capture stopped"
"""The error of a stream still open when the proxy stops (the saved flow carries it)."""
LOG_MAX_DECODED = 4 * 1024 * 1024
"""The log line counts the events of at most this many decoded bytes of a stream (past
them it says ``≥ N events``): the work of one line is bounded, whatever the body."""
_LOG_STEP = 4 * 1024  # decoded bytes per step of the count: a fraction of a millisecond
_LOG_SLICE = 0.001
"""Seconds of counting per turn of the event loop, for all the finished streams together:
a slice per stream would add up when many end at once (100 streams of 200 events held the
loop for over 100 ms in ``bench/load.py``)."""


@dataclass
class Tally:
    """What the capture recorded so far: finished streams by verdict, and their events."""

    complete: int = 0
    cut: int = 0
    events: int = 0

    @property
    def streams(self) -> int:
        return self.complete + self.cut


class _Recorder:
    """The ``flow.response.stream`` callable of one event stream.

    It runs for every chunk on the proxy's event loop, so it only stamps the time, keeps the
    chunk and hands it back; everything else waits for the end of the stream, where the
    version-1 list becomes version 2 in one pass (a fraction of a millisecond for 5,000
    chunks, against the many milliseconds Save would spend on the list).
    """

    __slots__ = (
        "body",
        "chunks",
        "counter",
        "done",
        "failed",
        "flow",
        "max_bytes",
        "meta",
        "owner",
        "stored",
        "to_log",
    )

    def __init__(self, owner: SSECapture, flow: http.HTTPFlow, max_bytes: int) -> None:
        self.owner = owner
        self.flow = flow
        self.max_bytes = max_bytes
        self.chunks: list[list[float | int]] = []
        self.body: list[bytes] = []
        self.stored = 0
        self.done = False
        self.failed = False
        self.to_log: bytes | None = None  # the stored body, until its log line is begun
        self.counter: EventCounter | None = None  # counting for the log line
        # In the flow from the start, and filled in place: whoever saves the flow, whenever,
        # sees the chunks so far.
        self.meta: dict[str, Any] = contract.pack(self.chunks)
        flow.metadata[contract.KEY] = self.meta

    def __call__(self, data: bytes) -> bytes:
        try:
            if data:
                self.chunks.append([time.time(), len(data)])
                if self.stored < self.max_bytes:
                    self.body.append(data)
                    self.stored += len(data)
            else:
                self.finish(complete=True)
        except Exception:
            self.fail("recording a chunk")
        return data

    def finish(self, complete: bool, log_now: bool = False) -> None:
        """End of the stream (or of what arrived of it): store the body and the verdict.

        Its log line is begun on the next turn of the event loop, out of the way of the
        chunk path, or made at once with ``log_now`` (at shutdown, when no next turn may
        come).
        """
        if self.done:
            return
        self.done = True
        self.owner.open.discard(self)
        stored = len(self.body)  # every chunk is kept whole or, past the cap, not at all
        body = b"".join(self.body)
        self.body = []
        self.meta = contract.seal(self.chunks, complete)
        if len(body) > self.max_bytes or stored < len(self.chunks):
            body = body[: self.max_bytes]
            contract.mark_truncated(self.meta, self.max_bytes)
        if self.flow.response is not None:
            self.flow.response.raw_content = body
        self.flow.metadata[contract.KEY] = self.meta
        self.to_log = body
        self.owner.unlogged.append(self)
        if log_now or not self.owner.schedule_reports():
            self.report()

    def report(self, seconds: float | None = None) -> bool:
        """Work on the stream's log line for about ``seconds`` (``None``: to the end);
        whether it is made (or given up). Once made, it leaves the owner's queue."""
        try:
            if self.counter is None:
                body, self.to_log = self.to_log, None
                if body is None:
                    self._forget()
                    return True  # made already
                self.counter = self.owner.counter(self.flow, self.chunks, body)
                self.chunks = []  # the counter has them; the flow keeps version 2 only
            counted = self.counter.run(seconds)
            if counted is None:
                return False
        except Exception:
            self.counter = None
            self._forget()
            log.exception("sse-inspect: cannot summarise a finished stream")
            return True
        self.counter = None
        self._forget()
        self.owner.log_stream(self.flow, counted)
        return True

    def _forget(self) -> None:
        with contextlib.suppress(ValueError):
            self.owner.unlogged.remove(self)  # the first one, nearly always: O(1)

    def fail(self, doing: str) -> None:
        if not self.failed:
            self.failed = True
            log.exception(f"sse-inspect: error while {doing} for {self.flow.request.pretty_url}")


class SSECapture:
    """Stream and record ``text/event-stream`` responses (see the module docstring)."""

    def __init__(self) -> None:
        self.filter: flowfilter.TFilter | None = None
        self.open: set[_Recorder] = set()
        # Finished, log line not made yet: in the order they ended, worked on from the left.
        self.unlogged: deque[_Recorder] = deque()
        self.reporting = False  # a turn of the report queue is scheduled
        self.tally = Tally()

    def load(self, loader: Any) -> None:
        loader.add_option(
            "sse_inspect_filter",
            str | None,
            None,
            "Only record event streams of flows matching this filter expression.",
        )
        loader.add_option(
            "sse_inspect_max_bytes",
            int,
            DEFAULT_MAX_BYTES,
            "Store at most this many bytes of each event stream; a longer stream keeps "
            "streaming to the client and its capture is marked truncated.",
        )
        loader.add_option(
            "sse_inspect_save_all",
            bool,
            False,
            "Save all flows to the -w file, not only event streams (ignored when "
            "save_stream_filter is set).",
        )

    def configure(self, updated: set[str]) -> None:
        if "sse_inspect_filter" in updated:
            expr = ctx.options.sse_inspect_filter
            try:
                self.filter = flowfilter.parse(expr) if expr else None
            except ValueError as e:
                raise exceptions.OptionsError(f"sse_inspect_filter: {e}") from None
        if "sse_inspect_max_bytes" in updated and ctx.options.sse_inspect_max_bytes < 0:
            raise exceptions.OptionsError("sse_inspect_max_bytes must not be negative")

    def running(self) -> None:
        if "save_stream_filter" not in ctx.options:
            return  # no Save addon in this master
        if not ctx.options.sse_inspect_save_all and not ctx.options.save_stream_filter:
            ctx.options.update(save_stream_filter=SSE_ONLY)
        self.announce()

    def announce(self) -> None:
        """Say where flows go, if Save writes them somewhere."""
        spec = ctx.options.save_stream_file if "save_stream_file" in ctx.options else None
        if spec:
            which = "every flow" if ctx.options.sse_inspect_save_all else "event streams"
            verb = "appending" if spec.startswith("+") else "writing"
            log.info(f"sse-inspect: {verb} {which} to {spec.removeprefix('+')}")

    def responseheaders(self, flow: http.HTTPFlow) -> None:
        try:
            if not flow.live or flow.response is None:
                return  # a flow loaded from a file replays its hooks: never touch it
            if not is_event_stream(flow.response.headers.get("content-type")):
                return
            if self.filter is not None and not flowfilter.match(self.filter, flow):
                return
            recorder = _Recorder(self, flow, ctx.options.sse_inspect_max_bytes)
            self.open.add(recorder)
            flow.response.stream = recorder
        except Exception:
            log.exception(f"sse-inspect: not recording {flow.request.pretty_url}")

    def response(self, flow: http.HTTPFlow) -> None:
        # Normally the recorder's final call has finished it already.
        self._finish(flow, complete=True)

    def error(self, flow: http.HTTPFlow) -> None:
        # Client abort or server reset mid-stream: keep what arrived, marked incomplete.
        self._finish(flow, complete=False)

    def done(self) -> None:
        # Shutting down with streams still open: store what they have, marked incomplete,
        # with the reason in the flow (Save writes it in its own done hook, after this one).
        # Every log line is made now: the event loop may not turn again.
        for recorder in list(self.open):
            try:
                if recorder.flow.error is None:
                    recorder.flow.error = Error(CAPTURE_STOPPED)
                recorder.finish(complete=False, log_now=True)
            except Exception:
                recorder.fail("storing the stream at shutdown")
        while self.unlogged:
            self.unlogged[0].report()

    def schedule_reports(self) -> bool:
        """Have the log lines made on the event loop's next turns; ``False`` without a
        running loop (a test driving the addon by hand): then the caller makes its own."""
        if self.reporting:
            return True
        try:
            asyncio.get_running_loop().call_soon(self.report_some)
        except RuntimeError:
            return False
        self.reporting = True
        return True

    def report_some(self) -> None:
        """One turn of the report queue: at most :data:`_LOG_SLICE` of counting, then the
        loop serves every stream's chunks before the next turn."""
        self.reporting = False
        deadline = time.perf_counter() + _LOG_SLICE
        while self.unlogged and (left := deadline - time.perf_counter()) > 0:
            self.unlogged[0].report(left)
        if self.unlogged:
            self.schedule_reports()

    def _finish(self, flow: http.HTTPFlow, complete: bool) -> None:
        recorder = flow.response.stream if flow.response is not None else None
        if isinstance(recorder, _Recorder) and flow.live:
            try:
                recorder.finish(complete)
            except Exception:
                recorder.fail("finishing the stream")

    def counter(
        self, flow: http.HTTPFlow, chunks: list[list[float | int]], body: bytes
    ) -> EventCounter:
        """What counts the events of a finished stream for its log line: at most
        :data:`LOG_MAX_DECODED` decoded bytes of its stored ``body``, cut into its chunks."""
        response, request = flow.response, flow.request
        end = (response.timestamp_end if response else None) or request.timestamp_start
        coding = response.headers.get("content-encoding") if response else None
        return EventCounter(
            _stored_chunks(chunks, body),
            coding,
            end,
            LOG_MAX_DECODED,
            tail=TAIL,
            step=_LOG_STEP,
        )

    def log_stream(self, flow: http.HTTPFlow, counted: EventCount) -> None:
        """One line per finished stream: what it was, how many events, how it arrived.

        Its events were counted (:meth:`counter`) from at most :data:`LOG_MAX_DECODED`
        decoded bytes; past them the line says ``≥ N events (decoded only the first 4 MiB)``.
        No dialect, no cadence figures: the proxy loads neither.
        """
        try:
            response, request = flow.response, flow.request
            if response is None:
                return
            start = request.timestamp_start
            capped = counted.capped is not None
            first = _ms(counted.first.t - start) if counted.first else "—"
            last = _ms(counted.tail[-1].t - start) if counted.tail else "—"
            meta = flow.metadata.get(contract.KEY, {})
            verdict = stream_verdict(flow, not capped and finished(counted.tail))
            self.tally.events += counted.count
            if verdict.startswith("complete"):
                self.tally.complete += 1
            else:
                self.tally.cut += 1
            if meta.get("truncated"):
                verdict += ", truncated"
            events = f"{counted.count} events"
            if counted.capped is not None:
                only = format_size(counted.capped)
                events = f"≥ {events} (decoded only the first {only})"
                last = f"≥ {last}" if counted.tail else last
            log.info(
                f"sse-inspect: {request.method} {request.pretty_url} {response.status_code} · "
                f"{events} · first event {first} ms · last {last} ms · {verdict}"
            )
        except Exception:
            log.exception("sse-inspect: cannot summarise a finished stream")


def stream_verdict(flow: http.HTTPFlow, ended: bool) -> str:
    """How a finished stream ended, in the words of its log line: ``complete``, ``complete,
    client closed after the end`` or ``cut (reason)``. ``ended``: its end marker arrived
    (:func:`.ends.finished` of its last events), so nothing was lost whatever the transport
    said. Shared with the live view of ``sse-inspect capture``, so both say the same."""
    meta = flow.metadata.get(contract.KEY, {})
    if meta.get("complete") and flow.error is None:
        return "complete"
    if ended:
        return "complete" + _after_end(flow.error)
    return f"cut ({flow.error.msg if flow.error else 'incomplete'})"


def _stored_chunks(chunks: list[list[float | int]], body: bytes) -> Iterator[tuple[float, bytes]]:
    """The stored body cut into the chunks it arrived in, with their arrival times."""
    pos = 0
    for t, n in chunks:
        if pos >= len(body):
            return
        yield float(t), body[pos : pos + int(n)]
        pos += int(n)


def _after_end(error: Error | None) -> str:
    """A note for a transport error after the end marker: ``, client closed after the end``."""
    if error is None:
        return ""
    if "client" in error.msg.lower():
        return ", client closed after the end"
    what = error.msg.strip().rstrip(".")
    return f", {what[:1].lower()}{what[1:]} after the end"


def _ms(seconds: float) -> str:
    """Milliseconds as the reports show them: whole from 10 up, one decimal below."""
    value = seconds * 1e3
    return f"{value:.1f}" if abs(value) < 10 else f"{value:,.0f}"
