"""HAR 1.2 with the SSE messages: mitmproxy's own HAR entries, extended for event streams.

The ordinary part of each entry comes from mitmproxy's ``SaveHar`` (so it matches what
``mitmproxy`` itself exports); event-stream entries then get the decoded stream text, the
events as ``_eventSourceMessages`` (the shape of the Chrome DevTools Protocol's EventSource
message and of Chrome's ``_webSocketMessages``), ``_sseMetrics`` (the JSON record of
``analyze``) and timings that say when the body started and stopped arriving.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mitmproxy import connection, http
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.connection import Server

from .. import __version__
from ..analysis.analysis import Analysis
from ..decode.body import decoded_bytes
from ..load.stream import Stream
from .json import stream_record

__all__ = ["flow_of", "har_document"]


def har_document(items: Iterable[Analysis | Stream]) -> dict[str, Any]:
    """A HAR log of analysed event streams (and, with ``--all-flows``, other exchanges)."""
    saver = SaveHar()
    seen: set[Server] = set()
    entries = []
    for item in items:
        stream = item.stream if isinstance(item, Analysis) else item
        entry = saver.flow_entry(flow_of(stream), seen)
        if isinstance(item, Analysis):
            _add_sse(entry, item)
        entries.append(entry)
    creator = {"name": "sse-inspect", "version": __version__}
    return {"log": {"version": "1.2", "creator": creator, "pages": [], "entries": entries}}


def _add_sse(entry: dict[str, Any], a: Analysis) -> None:
    s, c = a.stream, a.cadence
    body = decoded_bytes(s.body, s.response_header("content-encoding"))
    entry["response"]["content"] = {
        "size": len(body),
        "compression": max(0, len(body) - len(s.body)),
        "mimeType": "text/event-stream",  # Contract 5 (the full value is in the headers)
        "text": body.decode("utf-8", "replace"),
    }
    timed = c.timing == "per-chunk"
    entry["_eventSourceMessages"] = [
        {"time": e.t if timed else None, "eventName": e.event, "eventId": e.id, "data": e.data}
        for e in a.decoded.events
    ]
    entry["_sseMetrics"] = stream_record(a)
    chunks = s.chunks or ()
    if timed and chunks and s.request_start is not None:
        wait = (chunks[0][0] - s.request_start) * 1e3
        receive = (chunks[-1][0] - chunks[0][0]) * 1e3
        entry["timings"].update(send=0, wait=round(wait, 3), receive=round(receive, 3))
        entry["time"] = sum(v for v in entry["timings"].values() if v is not None and v >= 0)


def flow_of(stream: Stream) -> http.HTTPFlow:
    """The exchange as a mitmproxy flow, for mitmproxy's HAR code (no connection details)."""
    start = stream.request_start or 0.0
    client = connection.Client(
        peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=start
    )
    flow = http.HTTPFlow(client, connection.Server(address=None))
    flow.id = stream.flow_id
    url = stream.url or "http://localhost/"
    headers = _headers(stream.request_headers)
    sent_length = "content-length" in headers
    flow.request = http.Request.make(stream.method or "GET", url, b"", headers)
    if stream.request_body or sent_length:
        flow.request.content = stream.request_body  # Content-Length now says its size
    else:
        flow.request.headers.pop("content-length", None)  # make() adds one; none was sent
    flow.request.timestamp_start = start
    flow.request.timestamp_end = start
    flow.response = http.Response.make(stream.status or 200)
    flow.response.headers = _headers(stream.response_headers)
    flow.response.raw_content = stream.body
    flow.response.timestamp_start = stream.response_start or start
    flow.response.timestamp_end = stream.response_end or flow.response.timestamp_start
    return flow


def _headers(pairs: tuple[tuple[str, str], ...]) -> http.Headers:
    return http.Headers(
        [
            (k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
            for k, v in pairs
        ]
    )
