"""From a body as it arrived (timed chunks, still content-encoded) to its SSE events.

Each event is stamped with the arrival time of the chunk that completed it, so the content
coding is undone chunk by chunk (see :mod:`.content`) rather than on the whole body.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain, compress, islice

from ..sse import Comment, Event, SSEDecoder
from .content import STEP, ContentCodingError, ContentDecoder, default_limit

__all__ = [
    "DecodedBody",
    "EventCount",
    "EventCounter",
    "count_events",
    "decode_body",
    "decoded_bytes",
    "event_ends",
]

_RUN = 256
"""The most chunks of a body without content coding fed to the SSE decoder in one run."""


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
    capped: int | None = None
    """The decoded-size limit the body went past, or ``None``. Only the first ``capped``
    decoded bytes were read: the events before are kept, the rest of the stream is not
    read (and the event it was in the middle of is not ``unterminated``: it did not end)."""


@dataclass(frozen=True, slots=True)
class EventCount:
    """How many events a body held, without keeping them: what a one-line summary needs."""

    count: int
    """Events dispatched (before the limit, when ``capped``)."""
    first: Event | None
    tail: tuple[Event, ...]
    """The last few events, in order (the last one is ``tail[-1]``)."""
    capped: int | None
    """As :attr:`DecodedBody.capped`: ``count`` is then a lower bound."""
    error: str | None


class _Reader:
    """Content decoding and the SSE decoder over timed chunks, as far as the limit goes."""

    __slots__ = ("capped", "content", "error", "first_byte", "size", "sse", "step", "t")

    def __init__(self, content_encoding: str | None, limit: int | None, step: int) -> None:
        self.sse = SSEDecoder()
        self.first_byte: float | None = None
        self.size = 0
        self.error: str | None = None
        self.capped: int | None = None
        self.t: float | None = None  # the time of the last chunk read
        self.step = step
        self.content: ContentDecoder | None = None
        try:
            self.content = ContentDecoder(content_encoding, limit, step)
        except ContentCodingError as e:
            self.error = str(e)

    def events(self, chunks: Iterable[tuple[float, bytes]], end: float) -> Iterator[list[Event]]:
        """The events each decoded piece completes (an empty list after a piece that
        completed none), then those of the end of the stream (none when the limit stopped
        the reading: the stream did not end there). A piece is one ``step`` of output of
        one chunk's input, or without content coding a run of chunks of at most ``step``
        bytes in all (see :meth:`_plain`), so every step of the work is small."""
        content = self.content
        if content is not None:
            try:
                if content.plain:
                    yield from self._plain(chunks, content.fixed_limit)
                else:
                    yield from self._coded(chunks, content)
            except ContentCodingError as e:
                self.error = str(e)
            if self.capped is not None:
                return
        yield self.sse.close(end if self.t is None else self.t)

    def all_events(self, chunks: Iterable[tuple[float, bytes]], end: float) -> list[Event]:
        """Every event :meth:`events` yields, at once."""
        events: list[Event] = []
        for batch in self.events(chunks, end):
            events += batch
        return events

    def _coded(
        self, chunks: Iterable[tuple[float, bytes]], content: ContentDecoder
    ) -> Iterator[list[Event]]:
        sse = self.sse
        for t, raw in chunks:
            self.t = t
            if raw and self.first_byte is None:
                self.first_byte = t
            piece = content.next(raw)
            if not piece:
                yield []
            while piece:
                self.size += len(piece)
                yield sse.feed(piece, t)
                piece = b"" if content.dry else content.next()
            if content.capped:
                self.capped = content.limit
                return

    def _plain(
        self, chunks: Iterable[tuple[float, bytes]], limit: int | None
    ) -> Iterator[list[Event]]:
        """Without a content coding: the chunks themselves, fast. Only a fixed limit
        applies: the default one is never below the size of the body.

        This runs for every stream analysed, and most chunks are small (one event each), so
        the chunks are taken in runs (up to :data:`_RUN` of them) and a run of at most
        ``step`` bytes, within the limit, goes to the decoder in one go, without a line of
        Python per chunk; any other run is read chunk by chunk, long ones in steps."""
        sse, step = self.sse, self.step
        feed = sse.feed
        chunks = iter(chunks)
        while run := list(islice(chunks, _RUN)):
            times, raws = zip(*run, strict=True)
            size = sum(map(len, raws))
            if size <= step and (limit is None or self.size + size <= limit):
                self.t = times[-1]
                if self.first_byte is None:
                    self.first_byte = next(compress(times, raws), None)
                self.size += size
                yield list(chain.from_iterable(map(feed, raws, times)))
                continue
            for t, raw in run:
                self.t = t
                if raw and self.first_byte is None:
                    self.first_byte = t
                over = limit is not None and self.size + len(raw) > limit
                if over:
                    assert limit is not None
                    raw = raw[: limit - self.size]
                if len(raw) <= step:
                    self.size += len(raw)
                    yield sse.feed(raw, t)
                else:
                    for i in range(0, len(raw), step):
                        piece = raw[i : i + step]
                        self.size += len(piece)
                        yield sse.feed(piece, t)
                if over:
                    self.capped = limit
                    return


def decode_body(
    chunks: Iterable[tuple[float, bytes]],
    content_encoding: str | None,
    end: float,
    limit: int | None = None,
) -> DecodedBody:
    """Run ``(arrival time, bytes)`` chunks through content decoding and the SSE decoder.

    ``end`` is when the stream ended (it times an event completed by the end itself).
    ``limit`` is the most decoded bytes read (see :class:`.content.ContentDecoder` for the
    default); past it the result is ``capped``.
    """
    reader = _Reader(content_encoding, limit, STEP)
    events = reader.all_events(chunks, end)
    sse = reader.sse
    return DecodedBody(
        events,
        sse.comments,
        sse.retry,
        sse.unterminated,
        reader.first_byte,
        reader.size,
        reader.error,
        reader.capped,
    )


class EventCounter:
    """Count the events of a body a little at a time, keeping only the first and the last
    few: for a summary that must not hold up an event loop, whatever the body.

    At most ``limit`` decoded bytes are read, ``step`` at a time; :meth:`run` works for
    about the time it is given and returns the :class:`EventCount` once done.
    """

    def __init__(
        self,
        chunks: Iterable[tuple[float, bytes]],
        content_encoding: str | None,
        end: float,
        limit: int,
        *,
        tail: int = 4,
        step: int = STEP,
    ) -> None:
        self._reader = _Reader(content_encoding, limit, step)
        self._events = self._reader.events(chunks, end)
        self._count = 0
        self._first: Event | None = None
        self._tail = deque[Event](maxlen=tail)
        self._tail_size = tail
        self.result: EventCount | None = None

    def run(self, seconds: float | None = None) -> EventCount | None:
        """Go on for about ``seconds`` (``None``: to the end); the result once done."""
        if self.result is not None:
            return self.result
        sse, tail = self._reader.sse, self._tail_size
        deadline = None if seconds is None else time.perf_counter() + seconds
        for batch in self._events:
            if batch:
                self._count += len(batch)
                self._first = self._first or batch[0]
                self._tail.extend(batch[-tail:])
            if sse.comments or sse.retries:  # not needed here: a flood would pile up
                sse.comments.clear()
                sse.retries.clear()
            if deadline is not None and time.perf_counter() >= deadline:
                return None
        r = self._reader
        self.result = EventCount(self._count, self._first, tuple(self._tail), r.capped, r.error)
        return self.result


def count_events(
    chunks: Iterable[tuple[float, bytes]],
    content_encoding: str | None,
    end: float,
    limit: int,
    tail: int = 4,
) -> EventCount:
    """Count the events of a body at once, decoding at most ``limit`` bytes and keeping
    only the first event and the last ``tail`` (see :class:`EventCounter`)."""
    result = EventCounter(chunks, content_encoding, end, limit, tail=tail).run()
    assert result is not None
    return result


def decoded_bytes(body: bytes, content_encoding: str | None, limit: int | None = None) -> bytes:
    """The whole body with its content coding undone (as received if that fails), at most
    ``limit`` bytes of it (default: :func:`.content.default_limit` of the body's size)."""
    if limit is None:
        limit = default_limit(len(body))
    try:
        return ContentDecoder(content_encoding, limit).decode(body)
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
