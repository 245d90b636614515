"""sse-inspect's own JSON Lines export, read back: one line per event, streams by ``flow_id``.

Each line is ``{"flow_id", "t", "event", "id", "data", "dialect", "delta"}`` (see
``present/jsonl.py``). The events of one stream are contiguous; each stream's body is
rebuilt as SSE text that decodes to the same events, one chunk per event at its time ``t``
(seconds since the request start, which is taken as 0) when every ``t`` is known. The HTTP
exchange itself (method, URL, status, headers) is not in the export and stays unknown.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

from ..capture.contract import EARLIEST, LATEST, shown
from . import checks
from .errors import CaptureError
from .stream import Stream
from .tally import Tally

__all__ = ["looks_like_jsonl", "read_jsonl"]

_KEYS = ("flow_id", "event")
_SPAN = LATEST - EARLIEST
"""The longest a stream can have lasted, in seconds."""


def looks_like_jsonl(first_line: bytes) -> bool:
    """True when ``first_line`` is a JSON object with the keys of our export's lines."""
    try:
        line = json.loads(first_line)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False
    return isinstance(line, dict) and all(k in line for k in _KEYS)


def read_jsonl(
    f: BinaryIO,
    source: str,
    on_progress: Callable[[int], None] | None = None,
    tally: Tally | None = None,
) -> Iterator[Stream]:
    """Yield one stream per run of lines with the same ``flow_id``, reading line by line.

    A ``flow_id`` that comes back after another one starts a new stream.
    """
    tally = Tally() if tally is None else tally
    flow_id = ""
    events: list[tuple[float | None, bytes]] = []
    last_id = ""
    for number, raw in enumerate(f, 1):
        if not raw.strip():
            continue
        line = _parse(raw, source, number)
        if line["flow_id"] != flow_id or not events:
            if events:
                if on_progress:
                    on_progress(f.tell())
                yield _stream(source, flow_id, events, tally)
            flow_id, events, last_id = line["flow_id"], [], ""
        text, last_id = _event_text(line, last_id)
        events.append((line["t"], text))
    if events:
        yield _stream(source, flow_id, events, tally)


def _parse(raw: bytes, source: str, number: int) -> dict[str, Any]:
    where = f"{source}: line {number} is not an sse-inspect JSONL event"
    try:
        line = json.loads(raw)
    except RecursionError:
        raise CaptureError(f"{where} (JSON nested too deeply)") from None
    except ValueError as e:  # UnicodeDecodeError is one
        raise CaptureError(f"{where} (invalid JSON: {e})") from None
    if not isinstance(line, dict):
        raise CaptureError(f"{where} (not an object)")
    for key in ("flow_id", "event", "data"):
        if not isinstance(line.get(key), str):
            raise CaptureError(f"{where} ({key!r} is not a string)")
    if not isinstance(line.get("id", ""), str):
        raise CaptureError(f"{where} ('id' is not a string)")
    for key in ("event", "id", "data"):
        if "\r" in line.get(key, "") or (key != "data" and "\n" in line.get(key, "")):
            raise CaptureError(f"{where} ({key!r} holds a line break no event can hold)")
    t = line.get("t")
    if t is not None and (isinstance(t, bool) or not isinstance(t, int | float)):
        raise CaptureError(f"{where} ('t' is not a number or null)")
    return line


def _event_text(line: dict[str, Any], last_id: str) -> tuple[bytes, str]:
    """The event as SSE lines, and the last-event-ID after it.

    ``id:`` is written only when the ID changes (the decoder keeps it from event to event);
    data lines are split on LF, the only line end a dispatched event's data can hold.
    """
    out = []
    if line["event"] != "message":
        out.append(f"event: {line['event']}\n")
    event_id = line.get("id", "")
    if event_id != last_id:
        out.append(f"id: {event_id}\n")
    out += [f"data: {part}\n" for part in line["data"].split("\n")]
    out.append("\n")
    return "".join(out).encode("utf-8", "surrogatepass"), event_id


def _stream(
    source: str, flow_id: str, events: list[tuple[float | None, bytes]], tally: Tally
) -> Stream:
    tally.flows += 1
    tally.event_streams += 1
    notes: list[str] = []
    chunks = _chunks(events, notes)
    if chunks is not None:
        chunks = checks.in_order(chunks, 0.0, notes)
    return Stream(
        source=source,
        flow_id=flow_id,
        method=None,
        url=None,
        request_headers=(),
        request_body=b"",
        status=None,
        response_headers=(("content-type", "text/event-stream"),),
        body=b"".join(text for _, text in events),
        chunks=chunks,
        request_start=0.0 if chunks is not None else None,
        response_start=None,
        response_end=chunks[-1][0] if chunks else None,
        complete=True,
        notes=tuple(notes),
    )


def _chunks(
    events: list[tuple[float | None, bytes]], notes: list[str]
) -> tuple[tuple[float, int], ...] | None:
    """One chunk per event at its ``t`` when every ``t`` is known and can be one: a finite
    number of seconds since the request start (within the span of times a capture can
    have); else no per-chunk timing at all (with a note when a ``t`` is no such time)."""
    timed: list[tuple[float, int]] = []
    for i, (t, text) in enumerate(events, 1):
        if t is None:
            return None
        try:
            at = float(t)
        except OverflowError:
            at = math.nan
        if not math.isfinite(at) or abs(at) > _SPAN:
            notes.append(f"per-chunk timing dropped: event {i} has t {shown(t)}, not seconds")
            return None
        timed.append((at, len(text)))
    return tuple(timed)
