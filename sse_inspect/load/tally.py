"""What a reader saw in one capture file, so "no event streams found" can say why."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tally"]


@dataclass(slots=True)
class Tally:
    """Counts a reader fills while it reads one capture (``read_capture(..., tally=...)``).

    Every exchange read is counted once in ``flows`` and once in exactly one of the others.
    """

    format: str | None = None
    """``flow``, ``har``, ``sse`` or ``jsonl``, once the file was told apart."""
    flows: int = 0
    """Exchanges read: flows of a ``.flow`` file (any kind), HAR entries, raw or JSONL streams."""
    event_streams: int = 0
    """Event streams yielded."""
    filtered: int = 0
    """Event streams the filter excluded."""
    not_event_streams: int = 0
    """Exchanges whose response is not an event stream (or that are not HTTP at all)."""
    no_response: int = 0
    """HTTP requests that got no response."""
