"""mitmproxy ``.flow`` files, and the conversion of any HTTP flow into a :class:`Stream`."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from mitmproxy import exceptions, flowfilter, http, io
from mitmproxy.flow import Flow

from ..capture import contract
from ..decode.body import decoded_bytes
from ..decode.content import default_limit
from ..sse import is_event_stream
from . import checks
from .errors import CaptureError
from .stream import Stream
from .tally import Tally

__all__ = ["read_flows", "select", "stream_from_flow"]


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
    count = 0
    flows = iter(io.FlowReader(f).stream())
    while True:
        try:
            flow = next(flows, None)
        except Exception as e:
            # mitmproxy's reader turns only ValueError, TypeError and IndexError into a
            # FlowReadException; damaged bytes can make Flow.from_state raise anything
            # (a KeyError for a missing field, ...): all of it means the same to a user.
            where = f"after {count} flow{'s' if count != 1 else ''}"
            why = e if isinstance(e, exceptions.FlowReadException) else _why(e)
            raise CaptureError(f"{source}: damaged or truncated {where} ({why})") from None
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
    ``all_flows``: HAR export can carry every exchange) or has no response at all.

    Nothing in the flow is trusted (a damaged or hand-made capture can hold anything of
    the right tnetstring type): timestamps, status and the addon's metadata are checked
    (see :mod:`.checks`), and what could not be used is in the stream's ``notes``, after
    the caller's ``notes``.
    """
    response = flow.response
    if response is None:
        return None
    if not all_flows and not is_event_stream(response.headers.get("content-type")):
        return None
    said = list(notes)
    body = response.raw_content or b""
    start = checks.instant(flow.request.timestamp_start, "the request start", said)
    response_start = checks.instant(response.timestamp_start, "the response start", said)
    response_end = checks.instant(response.timestamp_end, "the response end", said)
    response_start = checks.later(
        response_start, start, "the response start comes before the request start",
        "the request start", said,
    )  # fmt: skip
    response_end = checks.later(
        response_end, response_start or start, "the response end comes before its start",
        "its start", said,
    )  # fmt: skip
    recorded = contract.unpack(flow.metadata.get(contract.KEY), len(body), response_end)
    chunks = recorded.chunks if recorded else None
    if recorded:
        said += recorded.notes
    if chunks is not None:
        chunks = checks.in_order(chunks, start, said)
    complete = (
        flow.error is None if recorded is None or recorded.complete is None else recorded.complete
    )
    truncated = recorded.truncated if recorded else False
    return Stream(
        source=source,
        flow_id=flow.id,
        method=checks.text(flow.request.method),
        url=_url(flow.request, said),
        request_headers=_pairs(flow.request.headers),
        request_body=_request_body(flow.request),
        status=checks.status(response.status_code, said),
        response_headers=_pairs(response.headers),
        body=body,
        chunks=chunks,
        request_start=start,
        response_start=response_start,
        response_end=response_end,
        complete=complete and flow.error is None,
        error=_error(flow, response),
        truncated=truncated,
        notes=tuple(said),
    )


def _url(request: http.Request, notes: list[str]) -> str | None:
    try:
        url = request.pretty_url
    except ValueError as e:  # a host or port no URL can hold
        notes.append(f"the request's URL cannot be made ({e}): taken as unknown")
        return None
    return checks.url(url, notes)


def _error(flow: http.HTTPFlow, response: http.Response) -> str | None:
    if flow.error:
        return flow.error.msg
    if response.raw_content is None:
        return "body not stored: mitmproxy streamed it without store_streamed_bodies"
    return None


def _pairs(headers: http.Headers) -> tuple[tuple[str, str], ...]:
    """Header fields in order, repeats kept, as text (undecodable bytes escaped)."""
    return tuple(
        (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
        for k, v in headers.fields
    )


def _request_body(request: http.Request) -> bytes:
    """The request body with its content coding undone, bounded like a response body's
    (a request is a capture's input too, and a gzip bomb fits in one)."""
    raw = request.raw_content or b""
    coding = request.headers.get("content-encoding")
    return decoded_bytes(raw, coding, default_limit(len(raw))) if coding else raw
