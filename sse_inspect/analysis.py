"""One stream through every stage after loading: frames, dialect, deltas, cadence."""

from __future__ import annotations

from dataclasses import dataclass

from . import dialects
from .delta import Delta
from .frames import Frames, decode_frames
from .metrics import DEFAULT_STALL_MS, Cadence, cadence
from .stream import Stream


@dataclass(frozen=True, slots=True)
class Analysis:
    stream: Stream
    frames: Frames
    dialect: str
    deltas: list[Delta]
    cadence: Cadence

    @property
    def complete(self) -> bool:
        """The transport ended cleanly, the body decoded to the end, no event was left open."""
        return (
            self.stream.complete and self.frames.error is None and self.frames.unterminated is None
        )


def analyze(stream: Stream, stall_ms: float = DEFAULT_STALL_MS) -> Analysis:
    frames = decode_frames(stream)
    dialect = dialects.detect(stream.url, frames.events)
    deltas = dialects.deltas(dialect, frames.events)
    return Analysis(stream, frames, dialect, deltas, cadence(stream, frames, deltas, stall_ms))
