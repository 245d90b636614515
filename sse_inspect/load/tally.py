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

    def why_empty(self) -> str:
        """Why the capture gave no event stream, from what it held (one line)."""
        unit = ("entry", "entries") if self.format == "har" else ("flow", "flows")

        def n(count: int, what: tuple[str, str] = unit) -> str:
            return f"{count} {what[count != 1]}"

        if not self.flows:
            return f"empty file, no {unit[1]}"
        others = self.flows - self.filtered
        streams = ("event stream", "event streams")
        if not self.filtered:
            if others == 1:
                what = (
                    "without any response"
                    if self.no_response
                    else "not a text/event-stream response"
                )
                return f"1 {unit[0]}, {what}"
            why = f"{n(others)}, none with a text/event-stream response"
            if self.no_response:
                why += f" ({self.no_response} without any response)"
            return why
        if not others:
            every = "all " if self.filtered > 1 else ""
            return f"{n(self.filtered, streams)}, {every}excluded by --filter"
        return (
            f"{n(others)} without an event stream, {n(self.filtered, streams)} excluded by --filter"
        )
