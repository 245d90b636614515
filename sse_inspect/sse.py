"""A sans-IO Server-Sent Events decoder: bytes and a time in, events out.

It follows the WHATWG HTML algorithm for interpreting an event stream
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation)
to the letter, because an inspector that disagrees with the browser about what was sent
is worse than none. It also keeps what a browser throws away (comments, ``retry``
values, an event cut off by the end of the stream), beside the spec result, never in it.

No sockets, clocks or threads: the caller owns the I/O and says when each chunk
arrived (``t``), so the same decoder serves the live proxy, files on disk and tests.
"""

from __future__ import annotations

from typing import NamedTuple

_BOM = b"\xef\xbb\xbf"


class Event(NamedTuple):
    """One dispatched event, exactly what a browser's ``EventSource`` would deliver.

    A named tuple rather than a frozen dataclass: events are made on the hot path, and a
    tuple is built several times faster while staying immutable, typed and comparable.
    """

    event: str
    """The ``event:`` field, or ``"message"`` when the event had none (or an empty one)."""
    data: str
    """The ``data:`` lines joined with ``\\n``; the final newline of the buffer removed."""
    id: str
    """The last-event-ID buffer at dispatch (it persists across events), ``""`` if never set."""
    t: float
    """The time given with the chunk that completed the event (its blank line)."""
    retry: int | None = None
    """A valid ``retry:`` value sent within this event's lines, else ``None``."""


class Comment(NamedTuple):
    """A ``:`` line, such as a ``: ping`` keep-alive. Browsers drop these; inspectors want them."""

    text: str
    """Everything after the colon, as sent (a leading space is kept)."""
    t: float
    """The time given with the chunk that completed the line."""
    after: int
    """How many events had been dispatched before it, to place it among them."""


class SSEDecoder:
    """Incremental event-stream parser.

    ``feed(chunk, t)`` returns the events that chunk completed; ``close(t)`` ends the
    stream. The events do not depend on how the bytes were split into chunks.

    Beside the events, for inspection:

    - ``retry``: the last valid ``retry:`` value in ms (``None`` if none), ``retries`` all
      of them in order;
    - ``comments``: every comment line, as :class:`Comment`;
    - ``unterminated``: after ``close()``, the event a blank line would have dispatched,
      or ``None``. Per spec it is *not* dispatched.
    """

    __slots__ = (
        "_buf",
        "_count",
        "_cr",
        "_data",
        "_last_id",
        "_retry",
        "_start",
        "_type",
        "comments",
        "retries",
        "retry",
        "unterminated",
    )

    def __init__(self) -> None:
        # The plan for the hot path: nearly every line of an LLM stream is ``data: ...``,
        # chunks mostly end on a line end, and CR is rare. So line ends are normalised to
        # LF in bulk with bytes.replace only when a chunk holds a CR, complete lines are
        # split out with one bytes.split, only the unfinished tail is buffered (in a
        # bytearray, so many tiny chunks of one long line cost O(n), not O(n^2)), and
        # UTF-8 is decoded once per event rather than per line. That is safe because
        # CR and LF never occur inside a multi-byte UTF-8 sequence.
        self._buf = bytearray()
        self._cr = False
        self._start: bytes | None = b""
        self._data: list[bytes] = []
        self._type = b""
        self._last_id = ""
        self._retry: int | None = None
        self._count = 0
        self.retry: int | None = None
        self.retries: list[int] = []
        self.comments: list[Comment] = []
        self.unterminated: Event | None = None

    def feed(self, chunk: bytes, t: float) -> list[Event]:
        """Take the next bytes of the body, received at ``t``; return the events they complete."""
        if not chunk:
            return []
        if self._start is not None:
            # One leading BOM is stripped (UTF-8 decode), even when it arrives in pieces.
            chunk = self._start + chunk
            if len(chunk) < len(_BOM) and _BOM.startswith(chunk):
                self._start = chunk
                return []
            self._start = None
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        if self._cr:
            # A CR ended the previous chunk: an LF opening this one belongs to it.
            self._cr = False
            if chunk[:1] == b"\n":
                chunk = chunk[1:]
        if b"\r" in chunk:
            self._cr = chunk[-1:] == b"\r"
            chunk = chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        end = chunk.rfind(b"\n")
        if end < 0:
            self._buf += chunk
            return []
        if self._buf:
            self._buf += chunk[:end]
            lines = bytes(self._buf).split(b"\n")
            self._buf = bytearray(chunk[end + 1 :])
        else:
            lines = chunk[:end].split(b"\n")
            self._buf += chunk[end + 1 :]
        return self._lines(lines, t)

    def close(self, t: float) -> list[Event]:
        """End of stream at ``t``. Nothing is dispatched (spec); see ``unterminated``.

        The decoder is then ready for a new connection; like an ``EventSource`` that
        reconnects, it keeps the last event ID.
        """
        tail = bytes(self._buf) if self._start is None else self._start
        data = list(self._data)
        etype = self._type
        last_id = self._last_id
        if tail and tail[:1] != b":":
            name, value = _field(tail)
            if name == b"data":
                data.append(value)
            elif name == b"event":
                etype = value
            elif name == b"id" and b"\0" not in value:
                last_id = value.decode("utf-8", "replace")
        self.unterminated = (
            Event(_type_name(etype), _join(data), last_id, t, self._retry) if data else None
        )
        self._buf = bytearray()
        self._cr = False
        self._start = b""
        self._data = []
        self._type = b""
        self._retry = None
        return []

    def _lines(self, lines: list[bytes], t: float) -> list[Event]:
        events: list[Event] = []
        data = self._data
        for line in lines:
            if not line:
                if data:
                    etype = _type_name(self._type)
                    events.append(Event(etype, _join(data), self._last_id, t, self._retry))
                    data.clear()
                self._type = b""
                self._retry = None
            elif line[:5] == b"data:":
                data.append(line[6:] if line[5:6] == b" " else line[5:])
            elif line[:1] == b":":
                text = line[1:].decode("utf-8", "replace")
                self.comments.append(Comment(text, t, self._count + len(events)))
            else:
                name, value = _field(line)
                if name == b"data":
                    data.append(value)
                elif name == b"event":
                    self._type = value
                elif name == b"id":
                    if b"\0" not in value:
                        self._last_id = value.decode("utf-8", "replace")
                elif name == b"retry" and value.isdigit():
                    self.retry = self._retry = int(value)
                    self.retries.append(self.retry)
        self._count += len(events)
        return events


def _field(line: bytes) -> tuple[bytes, bytes]:
    """Split a non-comment line into field name and value (one leading space dropped)."""
    name, colon, value = line.partition(b":")
    if value[:1] == b" ":
        value = value[1:]
    return name, value


def _join(data: list[bytes]) -> str:
    if len(data) == 1:
        return data[0].decode("utf-8", "replace")
    return b"\n".join(data).decode("utf-8", "replace")


def _type_name(etype: bytes) -> str:
    return etype.decode("utf-8", "replace") if etype else "message"
