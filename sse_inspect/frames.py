"""From a loaded :class:`Stream` to its SSE events, each stamped with its arrival time."""

from __future__ import annotations

from dataclasses import dataclass

from .coding import ContentCodingError, ContentDecoder
from .sse import Comment, Event, SSEDecoder
from .stream import Stream


@dataclass(frozen=True, slots=True)
class Frames:
    """What the body of one stream held, as an SSE decoder (and an inspector) sees it."""

    events: list[Event]
    comments: list[Comment]
    retry: int | None
    unterminated: Event | None
    """An event the stream ended in the middle of: not dispatched, shown for inspection."""
    first_byte: float | None
    """Arrival time of the first non-empty chunk."""
    decoded_bytes: int
    error: str | None
    """Why the body could not be decoded to the end (events before that point are kept)."""


def decode_frames(stream: Stream) -> Frames:
    """Run the body through content decoding and the SSE decoder, chunk by chunk."""
    dec = SSEDecoder()
    events: list[Event] = []
    first_byte: float | None = None
    size = 0
    error = None
    t = stream.response_end or stream.request_start or 0.0
    try:
        content = ContentDecoder(stream.response_header("content-encoding"))
        for t, raw in stream.timed_chunks():
            if raw and first_byte is None:
                first_byte = t
            data = content.decode(raw)
            size += len(data)
            events += dec.feed(data, t)
    except ContentCodingError as e:
        error = str(e)
    events += dec.close(t)
    return Frames(events, dec.comments, dec.retry, dec.unterminated, first_byte, size, error)


def decoded_body(stream: Stream) -> bytes:
    """The whole body with its content coding undone (as received if that fails)."""
    try:
        return ContentDecoder(stream.response_header("content-encoding")).decode(stream.body)
    except ContentCodingError:
        return stream.body


def event_ends(body: bytes) -> list[int]:
    """The offset just past each dispatched event's blank line, in order.

    Used to cut a body into one piece per event when no chunk times were recorded (replay)
    or when the times belong to events (a HAR's ``_eventSourceMessages``).
    """
    decoder = SSEDecoder()
    ends, pos = [], 0
    for line in body.splitlines(keepends=True):  # CR, LF and CRLF only, as SSE
        pos += len(line)
        ends += [pos] * len(decoder.feed(line, 0.0))
    return ends
