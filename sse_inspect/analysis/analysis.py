"""One stream through every stage after loading: decoding, dialect, answer, cadence."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .. import dialects
from ..decode.body import DecodedBody, decode_body
from ..decode.content import default_limit, format_size
from ..dialects.base import Reading
from ..load.stream import Stream
from .answer import Answer, rebuild
from .cadence import DEFAULT_STALL_MS, Cadence, cadence

__all__ = [
    "CAPPED_NOTE",
    "CLOSED_AFTER_END",
    "LENIENT_NOTE",
    "Analysis",
    "analyze",
    "decode_stream",
    "decoded_limit_of",
]

LENIENT_NOTE = "read from the unterminated last event: a browser would show nothing"
CLOSED_AFTER_END = "the connection closed after the end marker ({}); nothing was lost"
CAPPED_NOTE = "decoded size capped at {size} ({why}): the rest of the stream is not analysed"
_GIVEN = "--max-decoded"
_DEFAULT = "the default for {received} received; --max-decoded sets it"


@dataclass(frozen=True, slots=True)
class Analysis:
    """Everything known about one stream; the presenters render only this."""

    stream: Stream
    decoded: DecodedBody
    dialect: str
    reading: Reading
    answer: Answer
    cadence: Cadence

    @property
    def complete(self) -> bool:
        """The stream ended normally: its dialect's end marker arrived, or the transport
        ended cleanly with the body decoded to the end and no event left open."""
        if self.decoded.error is not None or self.reading.error is not None:
            return False
        if self.decoded.capped is not None:
            return False  # what came after the cap was not read
        if self.reading.ended:
            return True
        return self.stream.complete and self.decoded.unterminated is None

    @property
    def error(self) -> str | None:
        """What was lost or went wrong, or ``None``: the stream's own error, a body that could
        not be decoded, or the transport's error (a client abort, a reset, the capture
        stopping) unless the dialect's end marker had already arrived."""
        if self.reading.error is not None:
            return self.reading.error
        if self.decoded.error is not None:
            return self.decoded.error
        if self.reading.ended:
            return None  # a client closing after [DONE] (the openai SDK does) lost nothing
        return self.stream.error

    @property
    def notes(self) -> tuple[str, ...]:
        """The dialect's notes, and what the transport said when it was not an error."""
        closed = self.stream.error is not None and self.error != self.stream.error
        if closed and self.reading.ended:
            return (*self.reading.notes, CLOSED_AFTER_END.format(self.stream.error))
        return self.reading.notes


def decoded_limit_of(stream: Stream, max_decoded: int | None = None) -> int:
    """How much of the stream's body is decoded: ``max_decoded`` (``--max-decoded``), else
    the default for its size (:func:`sse_inspect.decode.content.default_limit`)."""
    return default_limit(len(stream.body)) if max_decoded is None else max_decoded


def decode_stream(stream: Stream, max_decoded: int | None = None) -> DecodedBody:
    """The stream's body as events, each with the arrival time of the chunk completing it,
    decoded up to :func:`decoded_limit_of` bytes."""
    end = stream.response_end or stream.request_start or 0.0
    coding = stream.response_header("content-encoding")
    limit = decoded_limit_of(stream, max_decoded)
    return decode_body(stream.timed_chunks(), coding, end, limit)


def analyze(
    stream: Stream,
    stall_ms: float = DEFAULT_STALL_MS,
    dialect: str | None = None,
    max_decoded: int | None = None,
) -> Analysis:
    """``dialect`` overrides detection (a name from :func:`sse_inspect.dialects.names`).

    ``max_decoded`` bounds the decoded size of the body (see :func:`decoded_limit_of`):
    past it the events before are analysed, the stream is reported truncated and not
    complete, with :data:`CAPPED_NOTE` saying why."""
    decoded = decode_stream(stream, max_decoded)
    events = decoded.events
    lenient = not events and decoded.unterminated is not None
    if lenient:
        # Nothing was dispatched, but the body ended inside an event (a Gemini prompt block
        # often looks like that). Show what was sent, as a lenient parser would, and say so.
        assert decoded.unterminated is not None
        events = [decoded.unterminated]
    headers = (k for k, _ in stream.request_headers)
    name = dialect or dialects.detect(stream.url, events, headers)
    reading = dialects.read(name, events)
    if lenient:
        # Its end marker, if any, was never dispatched.
        reading = dataclasses.replace(reading, ended=False, notes=(*reading.notes, LENIENT_NOTE))
    if decoded.capped is not None:
        why = (
            _GIVEN
            if max_decoded is not None
            else _DEFAULT.format(received=format_size(len(stream.body)))
        )
        note = CAPPED_NOTE.format(size=format_size(decoded.capped), why=why)
        reading = dataclasses.replace(reading, notes=(*reading.notes, note))
        # Contract 4's ``truncated``: only the first part of the body was read, as when the
        # capture itself stored only the first bytes (the note says which).
        stream = dataclasses.replace(stream, truncated=True)
    answer = rebuild(reading.deltas)
    return Analysis(
        stream, decoded, name, reading, answer, cadence(stream, decoded, reading, stall_ms)
    )
