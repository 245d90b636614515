"""mitmproxy ``.flow`` files, and the conversion of any HTTP flow into a :class:`Stream`.

A file is read one tnetstring at a time; each flow goes straight into a Stream
(:mod:`.state`) when that reader can vouch for it, else through mitmproxy's reader and
:func:`select`, as every flow once did."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO, cast

from mitmproxy import exceptions, flowfilter, http, io
from mitmproxy.flow import Flow

from ..capture import contract
from ..sse import is_event_stream
from . import state
from .errors import CaptureError
from .state import make_stream
from .stream import Stream
from .tally import Tally

__all__ = ["read_each", "read_flows", "select", "stream_from_flow"]


def read_flows(
    f: BinaryIO,
    source: str,
    flt: flowfilter.TFilter | None,
    on_progress: Callable[[int], None] | None,
    all_flows: bool = False,
    tally: Tally | None = None,
) -> Iterator[Stream]:
    """Yield event streams flow by flow: a capture is never held in memory whole."""
    tally = Tally() if tally is None else tally
    if io.FlowReader(f).peek(4).lstrip(b"\xef\xbb\xbf").startswith(b"{"):
        # mitmproxy's reader takes this for a HAR file (read_capture sends none here)
        yield from _read_all(f, source, flt, on_progress, all_flows, tally)
        return
    yield from read_each(f, source, flt, tally, all_flows, on_progress=on_progress)


def read_each(
    f: BinaryIO,
    source: str,
    flt: flowfilter.TFilter | None,
    tally: Tally,
    all_flows: bool = False,
    count: int = 0,
    on_progress: Callable[[int], None] | None = None,
) -> Iterator[Stream]:
    """The event streams of the flows in ``f`` from where it is, read one tnetstring at a
    time as mitmproxy's reader reads them: each by :func:`.state.read_state` when it can
    vouch for it, else by mitmproxy's reader, whose errors are this reader's (``count``:
    the flows before, for the error's text)."""
    while True:
        frame, payload = _frame(f)
        if not frame and payload is None:
            return  # the end of the file, where a flow would start
        read = (
            state.DECLINED
            if payload is None
            else state.read_state(payload, source, tally, all_flows, flt is not None)
        )
        if isinstance(read, state.Declined):
            try:
                reader = io.FlowReader(cast(BinaryIO, _Frame(frame, payload)))
                flow = next(iter(reader.stream()), None)
            except Exception as e:
                raise _damaged(source, count, e) from None
            if flow is None:  # pragma: no cover -- a frame is never an empty file
                return
            count += 1
            if on_progress:
                on_progress(f.tell())
            stream = select(flow, source, flt, tally, all_flows)
        else:
            count += 1
            if on_progress:
                on_progress(f.tell())
            stream = read
        if stream is not None:
            yield stream


def _frame(f: BinaryIO) -> tuple[bytes, bytes | None]:
    """The next tnetstring of ``f``, read as ``mitmproxy.io.tnetstring.load`` reads it:
    ``(b"", payload)`` for a dict (its payload alone, not copied), else ``(every byte read,
    None)``, for mitmproxy's reader to read again (``(b"", None)``: the end of the file)."""
    c = f.read(1)
    if not c:
        return b"", None
    digits = b""
    while c.isdigit():
        digits += c
        if len(digits) > 12:
            return digits, None
        c = f.read(1)
    if c != b":" or not digits:
        return digits + c, None
    size = int(digits)
    payload = f.read(size)
    tag = f.read(1)
    if tag != b"}" or len(payload) != size:
        return digits + c + payload + tag, None
    return b"", payload


class _Frame:
    """One tnetstring as a file, for mitmproxy's reader (it peeks only to tell a HAR file,
    at the start of a file: here it is after one, where it would not look)."""

    __slots__ = ("_data", "_pos")

    def __init__(self, frame: bytes, payload: bytes | None) -> None:
        if payload is not None:
            frame = b"%d:%b}" % (len(payload), payload)
        self._data = frame
        self._pos = 0

    def read(self, n: int = -1) -> bytes:
        start = self._pos
        end = len(self._data) if n < 0 else min(len(self._data), start + n)
        self._pos = end
        return self._data[start:end]

    def peek(self, n: int = 1) -> bytes:
        return b""


def _damaged(source: str, count: int, e: Exception) -> CaptureError:
    """The one line for an exception of mitmproxy's reader after ``count`` flows."""
    # mitmproxy's reader turns only ValueError, TypeError and IndexError into a
    # FlowReadException; damaged bytes can make Flow.from_state raise anything
    # (a KeyError for a missing field, ...): all of it means the same to a user.
    where = f"after {count} flow{'s' if count != 1 else ''}"
    why = e if isinstance(e, exceptions.FlowReadException) else _why(e)
    return CaptureError(f"{source}: damaged or truncated {where} ({why})")


def _read_all(
    f: BinaryIO,
    source: str,
    flt: flowfilter.TFilter | None,
    on_progress: Callable[[int], None] | None,
    all_flows: bool,
    tally: Tally,
) -> Iterator[Stream]:
    """Every flow by mitmproxy's reader, one reader for the whole file."""
    count = 0
    flows = iter(io.FlowReader(f).stream())
    while True:
        try:
            flow = next(flows, None)
        except Exception as e:
            raise _damaged(source, count, e) from None
        if flow is None:
            return
        count += 1
        if on_progress:
            on_progress(f.tell())
        stream = select(flow, source, flt, tally, all_flows)
        if stream is not None:
            yield stream


def _why(e: Exception) -> str:
    """One line for an exception of mitmproxy's reader: its type and the start of its text."""
    text = " ".join(str(e).split())
    text = text if len(text) <= 80 else text[:79] + "…"
    return f"{type(e).__name__}: {text}" if text else type(e).__name__


def select(
    f: Flow,
    source: str,
    flt: flowfilter.TFilter | None,
    tally: Tally,
    all_flows: bool = False,
    notes: Sequence[str] = (),
) -> Stream | None:
    """The :class:`Stream` of a flow the reader should yield, else ``None``; ``tally``
    counts the flow once, by what it is and whether the filter kept it. ``notes`` are the
    reader's own about this flow (see :func:`stream_from_flow`)."""
    tally.flows += 1
    if not isinstance(f, http.HTTPFlow):
        tally.not_event_streams += 1
        return None
    response = f.response
    sse = response is not None and is_event_stream(response.headers.get("content-type"))
    if response is None:
        tally.no_response += 1
    elif not sse:
        tally.not_event_streams += 1
    if flt is not None and not flowfilter.match(flt, f):
        if sse:
            tally.filtered += 1
        return None
    stream = stream_from_flow(f, source, all_flows, notes)
    if sse and stream is not None:
        tally.event_streams += 1
    return stream


def stream_from_flow(
    flow: http.HTTPFlow, source: str, all_flows: bool = False, notes: Sequence[str] = ()
) -> Stream | None:
    """The :class:`Stream` of an HTTP flow; ``None`` when it is not an event stream (unless
    ``all_flows``: HAR export can carry every exchange) or has no response at all. (See
    :func:`.state.make_stream`: nothing in the flow is trusted.)"""
    response = flow.response
    if response is None:
        return None
    if not all_flows and not is_event_stream(response.headers.get("content-type")):
        return None
    request = flow.request
    return make_stream(
        source=source,
        flow_id=flow.id,
        method=request.method,
        pretty_url=lambda: request.pretty_url,
        request_headers=request.headers.fields,
        request_content=request.raw_content,
        request_coding=request.headers.get("content-encoding"),
        request_start=request.timestamp_start,
        status=response.status_code,
        response_headers=response.headers.fields,
        response_content=response.raw_content,
        response_start=response.timestamp_start,
        response_end=response.timestamp_end,
        recorded=flow.metadata.get(contract.KEY),
        error=flow.error.msg if flow.error else None,
        errored=flow.error is not None,  # a falsy error a hand-made flow can hold, too
        notes=notes,
    )
