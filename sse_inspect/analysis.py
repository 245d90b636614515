"""One stream through every stage after loading: frames, dialect, answer, cadence."""

from __future__ import annotations

from dataclasses import dataclass

from . import dialects
from .answer import Answer, rebuild
from .delta import Reading
from .frames import Frames, decode_frames
from .metrics import DEFAULT_STALL_MS, Cadence, cadence
from .stream import Stream


@dataclass(frozen=True, slots=True)
class Analysis:
    stream: Stream
    frames: Frames
    dialect: str
    reading: Reading
    answer: Answer
    cadence: Cadence

    @property
    def complete(self) -> bool:
        """The stream ended normally: its dialect's end marker arrived, or the transport
        ended cleanly with the body decoded to the end and no event left open."""
        if self.frames.error is not None or self.reading.error is not None:
            return False
        if self.reading.ended:
            return True
        return self.stream.complete and self.frames.unterminated is None


def analyze(
    stream: Stream, stall_ms: float = DEFAULT_STALL_MS, dialect: str | None = None
) -> Analysis:
    """``dialect`` overrides detection (a name from :func:`sse_inspect.dialects.names`)."""
    frames = decode_frames(stream)
    events = frames.events
    lenient = not events and frames.unterminated is not None
    if lenient:
        # Nothing was dispatched, but the body ended inside an event (a Gemini prompt block
        # often looks like that). Show what was sent, as a lenient parser would, and say so.
        assert frames.unterminated is not None
        events = [frames.unterminated]
    headers = (k for k, _ in stream.request_headers)
    name = dialect or dialects.detect(stream.url, events, headers)
    reading = dialects.read(name, events)
    if lenient:
        reading.ended = False  # its end marker, if any, was never dispatched
        reading.notes.append("read from the unterminated last event: a browser would show nothing")
    answer = rebuild(reading.deltas)
    return Analysis(
        stream, frames, name, reading, answer, cadence(stream, frames, reading, stall_ms)
    )
