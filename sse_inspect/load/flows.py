"""mitmproxy ``.flow`` files, and the conversion of any HTTP flow into a :class:`Stream`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import BinaryIO

from mitmproxy import exceptions, flowfilter, http, io
from mitmproxy.flow import Flow

from ..capture import contract
from ..sse import is_event_stream
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
    try:
        for flow in io.FlowReader(f).stream():
            count += 1
            if on_progress:
                on_progress(f.tell())
            stream = select(flow, source, flt, tally, all_flows)
            if stream is not None:
                yield stream
    except exceptions.FlowReadException as e:
        where = f"after {count} flow{'s' if count != 1 else ''}"
        raise CaptureError(f"{source}: damaged or truncated {where} ({e})") from None


def select(
    f: Flow,
    source: str,
    flt: flowfilter.TFilter | None,
    tally: Tally,
    all_flows: bool = False,
) -> Stream | None:
    """The :class:`Stream` of a flow the reader should yield, else ``None``; ``tally``
    counts the flow once, by what it is and whether the filter kept it."""
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
    stream = stream_from_flow(f, source, all_flows)
    if sse and stream is not None:
        tally.event_streams += 1
    return stream


def stream_from_flow(flow: http.HTTPFlow, source: str, all_flows: bool = False) -> Stream | None:
    """The :class:`Stream` of an HTTP flow; ``None`` when it is not an event stream (unless
    ``all_flows``: HAR export can carry every exchange) or has no response at all."""
    response = flow.response
    if response is None:
        return None
    if not all_flows and not is_event_stream(response.headers.get("content-type")):
        return None
    body = response.raw_content or b""
    recorded = contract.unpack(flow.metadata.get(contract.KEY), len(body), response.timestamp_end)
    chunks = recorded.chunks if recorded else None
    complete = recorded.complete if recorded else flow.error is None
    truncated = recorded.truncated if recorded else False
    return Stream(
        source=source,
        flow_id=flow.id,
        method=flow.request.method,
        url=flow.request.pretty_url,
        request_headers=_pairs(flow.request.headers),
        request_body=flow.request.get_content(strict=False) or b"",
        status=response.status_code,
        response_headers=_pairs(response.headers),
        body=body,
        chunks=chunks,
        request_start=flow.request.timestamp_start,
        response_start=response.timestamp_start,
        response_end=response.timestamp_end,
        complete=complete and flow.error is None,
        error=_error(flow, response),
        truncated=truncated,
    )


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
