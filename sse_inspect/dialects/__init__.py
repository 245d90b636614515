"""One module per wire dialect: SSE events in, timed deltas out. Dialects know no HTTP."""

from __future__ import annotations

from ..delta import Delta
from ..sse import Event
from . import generic


def deltas(dialect: str, events: list[Event]) -> list[Delta]:
    """The deltas of ``events`` read as ``dialect`` (only ``generic`` so far)."""
    return generic.deltas(events)


def detect(url: str | None, events: list[Event]) -> str:
    """The dialect a stream speaks, from its URL and events."""
    return "generic"
