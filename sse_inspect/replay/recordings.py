"""Serve captured event streams again, with their recorded timing, for tests and demos.

A capture becomes a set of routes: each recorded stream answers requests with its method
and path, sending its status, its headers and its body chunk by chunk at the recorded
offsets from the request (scaled by ``speed``). :func:`start_replay` serves them with
:class:`.server.ScriptServer` (tornado, on 127.0.0.1 by default); the CLI's ``replay`` and
the ``sse_replay`` fixture both start replays with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..decode.body import decoded_bytes, event_ends
from ..decode.content import ContentCodingError, ContentDecoder, default_limit
from ..load.stream import Stream
from . import DEFAULT_PACE_MS
from .server import DEFAULT_MAX_BODY, Script, ScriptServer, Served

__all__ = [
    "DEFAULT_PACE_MS",
    "Recording",
    "Recordings",
    "Replay",
    "recording",
    "recordings",
    "start_replay",
]

# Hop-by-hop headers (RFC 9110 7.6.1) and those that describe the body as it was framed or
# coded then, not as it is sent now.
_DROP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
}


@dataclass
class Recording:
    """One recorded exchange, ready to be played."""

    method: str
    path: str
    request_body: bytes
    script: Script
    timed: bool
    """False when the capture had no chunk times (the events are paced evenly instead)."""
    events: int = 0
    """How many SSE events it plays."""
    number: int = 0
    """Its place in the capture (1 for the first stream), to name it in logs and listings."""


@dataclass
class Recordings:
    """The router of a replay: method and path, then request body, then capture order."""

    recordings: list[Recording]
    loop: bool = False
    _served: dict[tuple[str, str, bytes | None], int] = field(default_factory=dict)

    def find(self, method: str, path: str, body: bytes) -> Script | None:
        same = [r for r in self.recordings if r.method == method and r.path == path]
        if not same:
            return None
        exact = [r for r in same if r.request_body == body]
        candidates, key = (exact, body) if exact else (same, None)
        n = self._served.get((method, path, key), 0)
        self._served[(method, path, key)] = n + 1
        if self.loop:
            return candidates[n % len(candidates)].script
        return candidates[min(n, len(candidates) - 1)].script

    def describe(self, served: Served) -> str:
        """One log line for a request answered: which recording, what it sent, how long;
        or, for a request refused, why."""
        if served.script is None:
            return f"{served.method} {served.path} <- {served.status} (refused: {served.outcome})"
        found = next((r for r in self.recordings if r.script is served.script), None)
        which = f"recording {found.number}" if found is not None else "a recording"
        events = f"{found.events} events, " if found is not None else ""
        total = len(served.script.writes)
        sent = "" if served.writes == total else f"{served.writes} of {total} writes, "
        how = "" if served.outcome == "done" else f", {served.outcome}"
        return (
            f"{served.method} {served.path} <- {which} "
            f"({served.script.status}, {events}{sent}{served.seconds * 1e3:,.0f} ms{how})"
        )

    def listing(self) -> list[dict[str, Any]]:
        return [
            {
                "number": r.number,
                "method": r.method,
                "path": r.path,
                "status": r.script.status,
                "writes": len(r.script.writes),
                "timing": "recorded" if r.timed else "paced",
            }
            for r in self.recordings
        ]


def recording(
    stream: Stream,
    speed: float = 1.0,
    no_delay: bool = False,
    keep_encoding: bool = False,
    pace_ms: float = DEFAULT_PACE_MS,
    max_decoded: int | None = None,
) -> Recording:
    """The stream as a script: its chunks at their recorded offsets, divided by ``speed``.

    Unless ``keep_encoding``, the body is sent decoded (chunk by chunk, so the timing holds)
    and without its Content-Encoding: clients then need no decompression to read it, and
    at most ``max_decoded`` bytes of it (default: as ``analyze`` decodes it).
    Without recorded chunk times, each event is its own write, ``pace_ms`` apart.
    """
    coding = stream.response_header("content-encoding")
    limit = default_limit(len(stream.body)) if max_decoded is None else max_decoded
    decode = not keep_encoding and coding is not None
    headers = tuple(
        (k, v)
        for k, v in stream.response_headers
        if k.lower() not in _DROP and not (decode and k.lower() == "content-encoding")
    )
    start = stream.request_start
    timed = stream.timing == "per-chunk" and start is not None
    writes: list[tuple[float, bytes]]
    if timed:
        assert start is not None
        writes = [(max(0.0, t - start), data) for t, data in stream.timed_chunks()]
    else:
        pieces = _event_pieces(decoded_bytes(stream.body, coding, limit) if decode else stream.body)
        writes = [(i * pace_ms / 1e3, data) for i, data in enumerate(pieces)]
        decode = False  # already decoded whole
    if decode:
        writes = _decoded_writes(writes, coding, limit)
    if no_delay:
        writes = [(0.0, data) for _, data in writes]
    elif speed != 1.0:
        writes = [(t / speed, data) for t, data in writes]
    url_path = (stream.url or "/").split("://", 1)[-1]
    path = "/" + url_path.split("/", 1)[1] if "/" in url_path else "/"
    return Recording(
        events=len(event_ends(decoded_bytes(stream.body, coding, limit))),
        method=stream.method or "GET",
        path=path.split("?", 1)[0],
        request_body=stream.request_body,
        script=Script(tuple(writes), status=stream.status or 200, headers=headers),
        timed=timed,
    )


def recordings(streams: Iterable[Stream], loop: bool = False, **options: Any) -> Recordings:
    played = [
        dataclasses.replace(recording(s, **options), number=n) for n, s in enumerate(streams, 1)
    ]
    return Recordings(played, loop=loop)


@dataclass(frozen=True)
class Replay:
    """A replay server that is running: ``stop()`` ends it."""

    base_url: str
    routes: Recordings
    server: ScriptServer

    def stop(self) -> None:
        self.server.stop()


def start_replay(
    streams: Iterable[Stream],
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    loop: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    log: Callable[[str], None] | None = None,
    **options: Any,
) -> Replay:
    """Serve ``streams`` (``options`` as for :func:`recording`) on ``host:port`` (0: any free
    port); a request body over ``max_body`` bytes is refused with 413. ``log`` gets one line
    per request answered or refused. Raises ``OSError`` when it cannot listen there."""
    routes = recordings(streams, loop=loop, **options)
    on_served = None if log is None else (lambda served: log(routes.describe(served)))
    server = ScriptServer(routes, port=port, host=host, on_served=on_served, max_body=max_body)
    return Replay(server.start(), routes, server)


def _decoded_writes(
    writes: list[tuple[float, bytes]], coding: str | None, limit: int
) -> list[tuple[float, bytes]]:
    decoder = ContentDecoder(coding, limit)
    out = []
    for t, data in writes:
        try:
            plain = decoder.decode(data)
        except ContentCodingError:
            break  # a corrupt tail: send what decoded
        if plain:
            out.append((t, plain))
    return out


def _event_pieces(body: bytes) -> list[bytes]:
    """The body cut after each event's blank line (and the rest, if any, last)."""
    cuts = event_ends(body)
    pieces = [body[a:b] for a, b in zip([0, *cuts], cuts, strict=False)]
    if not cuts or cuts[-1] < len(body):
        pieces.append(body[cuts[-1] if cuts else 0 :])
    return pieces
