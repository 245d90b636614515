"""What a dialect reads out of one event: a piece of the answer, with its time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Delta:
    """One piece of output carried by one event."""

    t: float
    """Arrival time of the event that carried it."""
    event: int
    """Index of that event in the stream, so deltas of one event count as one arrival."""
    kind: str
    """What it adds to: ``text``, ``reasoning``, ``tool_arguments``, or ``data`` (generic)."""
    text: str
