"""HAR files (Chrome, Firefox and other exports) into HTTP flows, then :class:`Stream`.

mitmproxy can read HAR too, but it encodes ``content.text`` with the charset it infers
from the Content-Type (Latin-1 for ``text/*`` without one), which corrupts event streams:
they are UTF-8 by definition. So entries are turned into flows here, with the HAR's
timings kept, and then go the same way as flows read from ``.flow`` files.
"""

from __future__ import annotations

import base64
import json
import math
import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Any, BinaryIO

from mitmproxy import connection, flowfilter, http

from ..capture import contract
from ..capture.contract import shown
from ..decode.body import event_ends
from . import checks
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
_MAX_MS = (contract.LATEST - contract.EARLIEST) * 1e3
"""No HAR duration is longer than the span of times a capture can have."""


def read_har(
    f: BinaryIO,
    source: str,
    flt: flowfilter.TFilter | None,
    all_flows: bool = False,
    tally: Tally | None = None,
) -> Iterator[Stream]:
    tally = Tally() if tally is None else tally
    try:
        doc = _loads(f.read().decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CaptureError(f"{source}: not a HAR file (not UTF-8 text)") from None
    except RecursionError:
        raise CaptureError(f"{source}: not a HAR file (JSON nested too deeply)") from None
    except ValueError as e:
        raise CaptureError(f"{source}: not a HAR file (invalid JSON: {_cut(e)})") from None
    if not isinstance(doc, dict) or "log" not in doc:  # some other JSON document
        raise NotACapture(source, "not a HAR file (no log.entries)")
    log = doc["log"]
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise CaptureError(f"{source}: not a HAR file (no log.entries)")
    if not entries:
        raise CaptureError(f"{source}: HAR file has no entries")
    for i, entry in enumerate(entries):
        notes: list[str] = []
        try:
            flow = flow_from_har_entry(entry, _flow_id(source, i), notes)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise CaptureError(
                f"{source}: HAR entry {i} is invalid ({type(e).__name__}: {_cut(e)})"
            ) from None
        stream = select(flow, source, flt, tally, all_flows, notes)
        if stream is not None:
            yield stream


def flow_from_har_entry(
    entry: dict[str, Any], flow_id: str, notes: list[str] | None = None
) -> http.HTTPFlow:
    """One HAR 1.2 entry as a mitmproxy flow, with its body as UTF-8 and its timings.

    A date, timing or status that is no such thing is left unknown (``None`` in the flow,
    for :func:`~.flows.stream_from_flow`), and ``notes`` gets a line saying so. A missing
    request or response, or one mitmproxy cannot build, raises (``KeyError``, ...).
    """
    notes = [] if notes is None else notes
    start = _start(entry.get("startedDateTime"), notes)
    timings = entry.get("timings")
    if not isinstance(timings, dict):
        if timings is not None:
            notes.append(f"HAR timings {shown(timings, 20)} is not an object: ignored")
        timings = {}
    before = sum(_duration(timings.get(k), f"timings.{k}", notes) for k in _BEFORE_RESPONSE)
    took = _duration(entry.get("time"), "time", notes)

    req, res = entry["request"], entry["response"]
    client = connection.Client(
        peername=("127.0.0.1", 0), sockname=("127.0.0.1", 0), timestamp_start=start or 0.0
    )
    server = connection.Server(address=None)
    flow = http.HTTPFlow(client, server)
    flow.id = flow_id
    post = req.get("postData") or {}
    flow.request = http.Request.make(req["method"], req["url"])
    flow.request.headers = _headers(req["headers"])  # make() would add a content-length
    flow.request.raw_content = str(post.get("text") or "").encode("utf-8")
    content = res.get("content") or {}
    text = content.get("text") or ""
    body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode()
    flow.response = http.Response.make(200)
    # An unknown status or time is None in this flow, which never leaves the reader.
    flow.response.status_code = _status(res.get("status"), notes)  # type: ignore[assignment]
    flow.response.headers = _headers(res["headers"])
    flow.response.raw_content = body
    if start is None:
        for message in (flow.request, flow.response):
            message.timestamp_start = message.timestamp_end = None  # type: ignore[assignment]
    else:
        headers_at = start + before / 1e3
        end = start + took / 1e3
        flow.request.timestamp_start = flow.request.timestamp_end = start
        flow.response.timestamp_start = min(headers_at, end) if end > start else headers_at
        flow.response.timestamp_end = max(end, flow.response.timestamp_start)
    chunks = _chunks_at_events(body, entry.get("_eventSourceMessages"))
    if chunks is not None:  # our own export: its event times come back as chunk times
        # version 1, which holds any JSON number: unpack checks them as it checks the addon's
        flow.metadata[contract.KEY] = contract.pack(chunks, complete=True)
    return flow


def _loads(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        raise
    except ValueError:  # an integer of more digits than int() takes: read again, slower
        return json.loads(text, parse_int=_int)


def _int(digits: str) -> int | float:
    """A JSON integer; one with too many digits for ``int()`` (a number no HAR field holds)
    is read as a float (infinite), to be refused where it is used, not for the whole file."""
    return int(digits) if len(digits) < 4000 else float(digits)


def _cut(e: Exception, width: int = 100) -> str:
    text = " ".join(str(e).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _start(value: object, notes: list[str]) -> float | None:
    """``startedDateTime`` as epoch seconds, or ``None`` (and a note)."""
    unknown = "the exchange's times are unknown"
    if not isinstance(value, str):
        notes.append(f"HAR startedDateTime {shown(value)} is not a date: {unknown}")
        return None
    try:
        t = datetime.fromisoformat(value).timestamp()
    except (ValueError, OverflowError, OSError):
        notes.append(f"HAR startedDateTime {shown(value)} is not a date: {unknown}")
        return None
    if contract.epoch(t) is None:
        notes.append(f"HAR startedDateTime {shown(value)} is not from 1990 to 2100: {unknown}")
        return None
    return t


def _duration(value: object, what: str, notes: list[str]) -> float:
    """A HAR duration in ms; 0 when left out or negative (-1: "does not apply"), and when
    it is no duration (with a note)."""
    if value is None:
        return 0.0
    try:
        ms = float(value) if not isinstance(value, bool) else math.nan  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        ms = math.nan
    if not math.isfinite(ms) or ms > _MAX_MS:
        notes.append(f"HAR {what} {shown(value)} is not a duration in ms: ignored")
        return 0.0
    return max(ms, 0.0)


def _status(value: object, notes: list[str]) -> int | None:
    """The HAR's status as an HTTP status (200.0 is 200), or ``None`` (and a note)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return checks.status(value, notes, required=True)


def _chunks_at_events(body: bytes, messages: Any) -> list[list[float | int]] | None:
    """Chunks of ``body`` that end where each event ends, timed by ``_eventSourceMessages``.

    ``None`` unless every message has a time and their number matches the events in the
    body. The times are kept as they are: :func:`~sse_inspect.capture.contract.unpack`
    checks them, as it checks the addon's.
    """
    if not isinstance(messages, list) or not messages:
        return None
    times: list[float | int] = []
    for m in messages:
        t = m.get("time") if isinstance(m, dict) else None
        if not isinstance(t, int | float) or isinstance(t, bool):
            return None
        times.append(t)
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
