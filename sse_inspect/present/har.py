"""HAR 1.2 with the SSE messages: mitmproxy's own HAR entries, extended for event streams.

The ordinary part of each entry comes from mitmproxy's ``SaveHar`` (so it matches what
``mitmproxy`` itself exports); event-stream entries then get the decoded stream text, the
events as ``_eventSourceMessages`` (the shape of the Chrome DevTools Protocol's EventSource
message and of Chrome's ``_webSocketMessages``), ``_sseMetrics`` (the JSON record of
``analyze``) and timings that say when the body started and stopped arriving.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

from mitmproxy import connection, http
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.connection import Server

from .. import __version__
from ..analysis.analysis import Analysis, decoded_limit_of
from ..decode.body import decoded_bytes
from ..load.stream import Stream
from .json import ListWriter, as_text, clean, finite, stream_record

__all__ = ["HarWriter", "flow_of", "har_document"]

_NO_URL = "http://localhost/"
_DATES = 6e10
"""Epoch seconds within this of 0 have a date (``datetime`` goes from year 1 to 9999)."""


def har_document(
    items: Iterable[Analysis | Stream], max_decoded: int | None = None
) -> dict[str, Any]:
    """A HAR log of analysed event streams (and, with ``--all-flows``, other exchanges).

    An event stream's text is decoded here, as far as its analysis decoded it
    (``max_decoded``, see :func:`~sse_inspect.analysis.analysis.decoded_limit_of`):
    mitmproxy's HAR code gets its flow without the body, so it never inflates a bomb.
    """
    entries = _Entries(max_decoded)
    return _log([entries.entry(item) for item in items])


class HarWriter:
    """The HAR log of :func:`har_document` written entry by entry, for any number of them:
    :meth:`add` writes one entry as soon as it is made, :meth:`close` ends the log. The
    text is that of ``json.dumps(har_document(items), indent=2, ensure_ascii=False)`` and a
    newline, but only one entry is ever in memory; nothing is written before the first."""

    def __init__(self, write: Callable[[str], None], max_decoded: int | None = None) -> None:
        self._entries = _Entries(max_decoded)
        self._log = ListWriter(write, _log([]))

    @property
    def entries(self) -> int:
        return self._log.items

    def add(self, item: Analysis | Stream) -> None:
        self._log.add(self._entries.entry(item))

    def close(self) -> None:
        self._log.close()


class _Entries:
    """The HAR entry of each exchange in turn, made by one mitmproxy ``SaveHar`` as for a
    list of flows."""

    def __init__(self, max_decoded: int | None = None) -> None:
        self._saver = SaveHar()
        self._seen: set[Server] = set()
        self._max_decoded = max_decoded

    def entry(self, item: Analysis | Stream) -> dict[str, Any]:
        stream = item.stream if isinstance(item, Analysis) else item
        analysed = isinstance(item, Analysis)
        flow = flow_of(stream, body=b"" if analysed else None)
        # clean(): headers of Latin-1 bytes, ...
        entry: dict[str, Any] = clean(self._saver.flow_entry(flow, self._seen))
        if stream.url is not None and entry["request"]["url"] == _NO_URL:
            entry["request"]["url"] = as_text(stream.url)  # one mitmproxy cannot parse
        if isinstance(item, Analysis):
            _add_sse(entry, item, self._max_decoded)
        return entry


def _log(entries: list[dict[str, Any]]) -> dict[str, Any]:
    creator = {"name": "sse-inspect", "version": __version__}
    return {"log": {"version": "1.2", "creator": creator, "pages": [], "entries": entries}}


def _add_sse(entry: dict[str, Any], a: Analysis, max_decoded: int | None) -> None:
    s, c = a.stream, a.cadence
    limit = decoded_limit_of(s, max_decoded)
    body = decoded_bytes(s.body, s.response_header("content-encoding"), limit)
    entry["response"]["bodySize"] = len(s.body)
    entry["response"]["content"] = {
        "size": len(body),
        "compression": max(0, len(body) - len(s.body)),
        "mimeType": "text/event-stream",  # Contract 5 (the full value is in the headers)
        "text": body.decode("utf-8", "replace"),
    }
    timed = c.timing == "per-chunk"
    entry["_eventSourceMessages"] = [
        {
            "time": finite(e.t) if timed else None,
            "eventName": e.event,
            "eventId": e.id,
            "data": e.data,
        }
        for e in a.decoded.events
    ]
    entry["_sseMetrics"] = stream_record(a)
    chunks = s.chunks or ()
    if timed and chunks and s.request_start is not None:
        wait = finite((chunks[0][0] - s.request_start) * 1e3)
        receive = finite((chunks[-1][0] - chunks[0][0]) * 1e3)
        if wait is not None and receive is not None:
            entry["timings"].update(send=0, wait=round(wait, 3), receive=round(receive, 3))
            entry["time"] = sum(v for v in entry["timings"].values() if v is not None and v >= 0)


def flow_of(stream: Stream, body: bytes | None = None) -> http.HTTPFlow:
    """The exchange as a mitmproxy flow, for mitmproxy's HAR code (no connection details).

    ``body`` replaces the response body (the stream's, as received, by default).

    A URL mitmproxy cannot parse (``http://exa[mple.com/``) is made ``http://localhost/``
    here; the HAR entry then gets the stream's own. A time no date can be made of (a
    :class:`Stream` made by hand can hold any) is taken as unknown.
    """
    start = _time(stream.request_start) or 0.0
    client = connection.Client(
        peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=start
    )
    flow = http.HTTPFlow(client, connection.Server(address=None))
    flow.id = stream.flow_id
    headers = _headers(stream.request_headers)
    sent_length = "content-length" in headers
    method = stream.method or "GET"
    try:
        flow.request = http.Request.make(method, stream.url or _NO_URL, b"", headers)
    except ValueError:
        flow.request = http.Request.make(method, _NO_URL, b"", headers)
    if stream.request_body or sent_length:
        flow.request.content = stream.request_body  # Content-Length now says its size
    else:
        flow.request.headers.pop("content-length", None)  # make() adds one; none was sent
    flow.request.timestamp_start = start
    flow.request.timestamp_end = start
    status = stream.status
    flow.response = http.Response.make(status if status and 100 <= status <= 999 else 200)
    flow.response.headers = _headers(stream.response_headers)
    flow.response.raw_content = stream.body if body is None else body
    flow.response.timestamp_start = _time(stream.response_start) or start
    flow.response.timestamp_end = _time(stream.response_end) or flow.response.timestamp_start
    return flow


def _time(t: float | None) -> float | None:
    """``t`` when a date can be made of it (finite, years 1 to 9999), else ``None``."""
    return t if t is not None and math.isfinite(t) and abs(t) < _DATES else None


def _headers(pairs: tuple[tuple[str, str], ...]) -> http.Headers:
    return http.Headers(
        [
            (k.encode("utf-8", "surrogateescape"), v.encode("utf-8", "surrogateescape"))
            for k, v in pairs
        ]
    )
