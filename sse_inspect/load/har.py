"""HAR files (Chrome, Firefox and other exports) into HTTP flows, then :class:`Stream`.

mitmproxy can read HAR too, but it encodes ``content.text`` with the charset it infers
from the Content-Type (Latin-1 for ``text/*`` without one), which corrupts event streams:
they are UTF-8 by definition. So entries are turned into flows here, with the HAR's
timings kept, and then go the same way as flows read from ``.flow`` files.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from mitmproxy import connection, flowfilter, http

from ..capture import contract
from ..decode.body import event_ends
from .errors import CaptureError, NotACapture
from .flows import select
from .stream import Stream
from .tally import Tally

__all__ = ["flow_from_har_entry", "read_har"]

# Dropped from HAR headers: pseudo-headers are not headers, and HAR bodies are stored
# decoded, so the coding and length headers would no longer describe them.
_DROP = {"content-encoding", "content-length", "transfer-encoding"}
# HAR 1.2: the phases before the response, whose sum is the time to its first byte. `ssl`
# is a part of `connect` ("if this field is defined then the time is also included in the
# connect field"), so it is not added again. -1 means "does not apply".
_BEFORE_RESPONSE = ("blocked", "dns", "connect", "send", "wait")


def read_har(
    f: BinaryIO,
    source: str,
    flt: flowfilter.TFilter | None,
    all_flows: bool = False,
    tally: Tally | None = None,
) -> Iterator[Stream]:
    tally = Tally() if tally is None else tally
    try:
        doc = json.loads(f.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CaptureError(f"{source}: not a HAR file (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise CaptureError(f"{source}: not a HAR file (invalid JSON: {e})") from None
    if not isinstance(doc, dict) or "log" not in doc:  # some other JSON document
        raise NotACapture(source, "not a HAR file (no log.entries)")
    log = doc["log"]
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise CaptureError(f"{source}: not a HAR file (no log.entries)")
    if not entries:
        raise CaptureError(f"{source}: HAR file has no entries")
    for i, entry in enumerate(entries):
        try:
            flow = flow_from_har_entry(entry, _flow_id(source, i))
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CaptureError(
                f"{source}: HAR entry {i} is invalid ({type(e).__name__}: {e})"
            ) from None
        stream = select(flow, source, flt, tally, all_flows)
        if stream is not None:
            yield stream


def flow_from_har_entry(entry: dict[str, Any], flow_id: str) -> http.HTTPFlow:
    """One HAR 1.2 entry as a mitmproxy flow, with its body as UTF-8 and its timings."""
    start = datetime.fromisoformat(entry["startedDateTime"]).timestamp()
    timings = entry.get("timings") or {}
    headers_at = start + sum(max(float(timings.get(k, 0) or 0), 0) for k in _BEFORE_RESPONSE) / 1e3
    end = start + max(float(entry.get("time") or 0), 0) / 1e3

    req, res = entry["request"], entry["response"]
    client = connection.Client(
        peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=start
    )
    server = connection.Server(address=None)
    flow = http.HTTPFlow(client, server)
    flow.id = flow_id
    post = req.get("postData") or {}
    flow.request = http.Request.make(req["method"], req["url"])
    flow.request.headers = _headers(req["headers"])  # make() would add a content-length
    flow.request.raw_content = str(post.get("text") or "").encode("utf-8")
    flow.request.timestamp_start = start
    flow.request.timestamp_end = start
    content = res.get("content") or {}
    text = content.get("text") or ""
    body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
    flow.response = http.Response.make(int(res["status"]))
    flow.response.headers = _headers(res["headers"])
    flow.response.raw_content = body
    flow.response.timestamp_start = min(headers_at, end) if end > start else headers_at
    flow.response.timestamp_end = max(end, flow.response.timestamp_start)
    chunks = _chunks_at_events(body, entry.get("_eventSourceMessages"))
    if chunks is not None:  # our own export: its event times come back as chunk times
        flow.metadata[contract.KEY] = contract.pack(chunks, complete=True)
    return flow


def _chunks_at_events(body: bytes, messages: Any) -> list[list[float | int]] | None:
    """Chunks of ``body`` that end where each event ends, timed by ``_eventSourceMessages``.

    ``None`` unless every message has a time and their number matches the events in the body.
    """
    if not isinstance(messages, list) or not messages:
        return None
    times: list[float] = []
    for m in messages:
        t = m.get("time") if isinstance(m, dict) else None
        if not isinstance(t, int | float) or isinstance(t, bool):
            return None
        times.append(float(t))
    ends = event_ends(body)
    if len(ends) != len(times):
        return None
    chunks: list[list[float | int]] = []
    cut = 0
    for end, t in zip(ends, times, strict=True):
        chunks.append([t, end - cut])
        cut = end
    if cut < len(body):
        chunks.append([times[-1], len(body) - cut])
    return chunks


def _headers(items: list[Any]) -> http.Headers:
    fields = []
    for h in items:
        name, value = (h["name"], h["value"]) if isinstance(h, dict) else (h[0], h[1])
        if not name.startswith(":") and name.lower() not in _DROP:
            fields.append((name.encode(), str(value).encode()))
    return http.Headers(fields)


def _flow_id(source: str, index: int) -> str:
    """Stable across runs, so reports of the same HAR can be diffed."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"har:{source}#{index}"))
