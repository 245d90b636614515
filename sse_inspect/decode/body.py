"""From a body as it arrived (timed chunks, still content-encoded) to its SSE events.

Each event is stamped with the arrival time of the chunk that completed it, so the content
coding is undone chunk by chunk (see :mod:`.content`) rather than on the whole body.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ..sse import Comment, Event, SSEDecoder
from .content import ContentCodingError, ContentDecoder

__all__ = ["DecodedBody", "decode_body", "decoded_bytes", "event_ends"]


@dataclass(frozen=True, slots=True)
class DecodedBody:
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


def decode_body(
    chunks: Iterable[tuple[float, bytes]], content_encoding: str | None, end: float
) -> DecodedBody:
    """Run ``(arrival time, bytes)`` chunks through content decoding and the SSE decoder.

    ``end`` is when the stream ended (it times an event completed by the end itself).
    """
    dec = SSEDecoder()
    events: list[Event] = []
    first_byte: float | None = None
    size = 0
    error = None
    t = end
    try:
        content = ContentDecoder(content_encoding)
        for t, raw in chunks:
            if raw and first_byte is None:
                first_byte = t
            data = content.decode(raw)
            size += len(data)
            events += dec.feed(data, t)
    except ContentCodingError as e:
        error = str(e)
    events += dec.close(t)
    return DecodedBody(events, dec.comments, dec.retry, dec.unterminated, first_byte, size, error)


def decoded_bytes(body: bytes, content_encoding: str | None) -> bytes:
    """The whole body with its content coding undone (as received if that fails)."""
    try:
        return ContentDecoder(content_encoding).decode(body)
    except ContentCodingError:
        return body


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
