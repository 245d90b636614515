"""The one data model every capture format is loaded into.

Loaders (``.flow``, HAR, raw ``.sse``) differ in what they know; a :class:`Stream` says
plainly what is known and leaves the rest ``None``, so the stages after loading never
ask where the data came from.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

__all__ = ["Stream", "Timing"]

Timing = Literal["per-chunk", "none"]


@dataclass(frozen=True, slots=True)
class Stream:
    """One HTTP exchange whose response is an event stream."""

    source: str
    """The capture file it was read from."""
    flow_id: str
    method: str | None
    url: str | None
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes
    status: int | None
    response_headers: tuple[tuple[str, str], ...]
    body: bytes
    """The response body as received: still content-encoded."""
    chunks: tuple[tuple[float, int], ...] | None
    """(arrival time, byte count) of each chunk as received, when the capture recorded them."""
    request_start: float | None
    """``request.timestamp_start``: the origin of every relative time in reports."""
    response_start: float | None
    """When the response headers arrived."""
    response_end: float | None
    """When the last byte arrived (or the stream was cut)."""
    complete: bool
    """The transport ended normally (no client abort, reset or truncation)."""
    error: str | None = None
    """The transport error when the stream was cut, as the capture tells it."""
    truncated: bool = False
    """The capture stored only the first bytes of the body (a size cap); the rest streamed on."""
    notes: tuple[str, ...] = ()
    """What the capture said that could not be used as it was, and what was made of it
    (a time that is no time, chunk times going backwards, ...), one line each."""

    @property
    def timing(self) -> Timing:
        return "per-chunk" if self.chunks is not None else "none"

    def response_header(self, name: str) -> str | None:
        """The first response header of that name (case-insensitive), joined if repeated."""
        name = name.lower()
        values = [v for k, v in self.response_headers if k.lower() == name]
        return ", ".join(values) if values else None

    def timed_chunks(self) -> Iterator[tuple[float, bytes]]:
        """The body as it arrived: (time, bytes) per chunk.

        Without recorded chunks the whole body is one chunk at the end of the response,
        so event times are meaningless and reports say ``"timing": "none"``.
        """
        if self.chunks is None:
            yield (self.response_end or self.request_start or 0.0, self.body)
            return
        body = self.body
        pos = 0
        for t, n in self.chunks:
            yield t, body[pos : pos + n]
            pos += n
