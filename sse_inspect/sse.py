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

from functools import partial
from itertools import repeat
from operator import itemgetter
from typing import NamedTuple

__all__ = ["Comment", "Event", "SSEDecoder", "is_event_stream"]

_BOM = b"\xef\xbb\xbf"
_new = tuple.__new__
_value = itemgetter(slice(6, None))  # the value of a "data: " line
_NONE = -1
_BOM_PENDING = -2


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


_new_event = partial(_new, Event)


class Comment(NamedTuple):
    """A ``:`` line, such as a ``: ping`` keep-alive. Browsers drop these; inspectors want them."""

    text: str
    """Everything after the colon, as sent (a leading space is kept)."""
    t: float
    """The time given with the chunk that completed its event block (the blank line after)."""
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

    # The plan for the hot path (it runs on every chunk of every stream analysed). Only a
    # blank line dispatches an event, and nothing the lines before it do can be seen from
    # outside until then, so bytes are kept unparsed until a blank line arrives, and then
    # all complete event blocks are parsed in one go:
    #
    # - a chunk without a line end (most chunks, when a stream arrives in small pieces)
    #   costs two memchr calls and one list append; the pieces are joined once, at the blank
    #   line, so a long line in tiny pieces costs O(n), not O(n^2);
    # - one event of one data line (most of an LLM stream, arriving as flushed) is sliced
    #   out of the bytes and decoded without splitting lines;
    # - a burst of such events (a 16 KiB read) is decoded once and turned into events by
    #   C-level iterators; anything else goes through the line-by-line parser;
    # - CR and CRLF are made LF with bytes.replace, only in chunks that hold a CR.
    #
    # Cutting at line ends before decoding UTF-8 is safe: CR and LF never occur inside a
    # multi-byte sequence. The price of the deferral is that a comment or ``retry`` line
    # is seen when its event block ends, not when its own line does.

    __slots__ = (
        "_count",
        "_edge",
        "_last_id",
        "_parts",
        "_source_id",
        "comments",
        "retries",
        "retry",
        "unterminated",
    )

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        # _BOM_PENDING until the first line end (a leading BOM is stripped then); after a
        # chunk that ended with CR, len(_parts) at that moment; else _NONE.
        self._edge = _BOM_PENDING
        self._last_id = ""  # the spec's last-event-ID buffer
        self._source_id = ""  # the id as of the last blank line (what a reconnect sends)
        self._count = 0
        self.retry: int | None = None
        self.retries: list[int] = []
        self.comments: list[Comment] = []
        self.unterminated: Event | None = None

    def feed(self, chunk: bytes, t: float) -> list[Event]:
        """Take the next bytes of the body, received at ``t``; return the events they complete."""
        if chunk.find(b"\n") < 0 and chunk.find(b"\r") < 0:
            # No line end, so no blank line: nothing to do yet. (find, not ``in``: for
            # bytes, ``in`` first tries the operand as an int, several times slower.)
            if chunk:
                self._parts.append(chunk)
            return []
        if self._edge != -1 or chunk.find(b"\r") >= 0:  # -1: _NONE
            return self._feed_edges(chunk, t)
        parts = self._parts
        end = chunk.rfind(b"\n\n") + 2
        if parts:
            if end < 2 and not (chunk[0] == 10 and parts[-1][-1] == 10):
                parts.append(chunk)  # no blank line in it, nor across the seam
                return []
            parts.append(chunk)
            size = len(chunk)
            chunk = b"".join(parts)
            parts.clear()
            end = len(chunk) - size + end if end >= 2 else chunk.rfind(b"\n\n") + 2
        elif end < 2:
            parts.append(chunk)
            return []
        if end < len(chunk):
            parts.append(chunk[end:])
        if chunk.startswith(b"data:") and chunk.find(b"\n") == end - 2:
            # The commonest case of all: the complete blocks are one event of one data
            # line. Decoded straight from the bytes, without splitting lines.
            data = chunk[6 if chunk[5] == 32 else 5 : end - 2].decode("utf-8", "replace")
            self._count += 1
            return [_new(Event, ("message", data, self._last_id, t, None))]
        return self._blocks(chunk[:end].decode("utf-8", "replace"), t)

    def _feed_edges(self, chunk: bytes, t: float) -> list[Event]:
        """The rare chunks: the first line end (BOM), CR line ends, a CRLF split in two.

        It reduces them to the common case, a chunk with only LF line ends, and feeds that.
        """
        parts = self._parts
        if self._edge == _BOM_PENDING:
            chunk = b"".join(parts) + chunk  # the stream so far: strip one leading BOM
            parts.clear()
            if chunk.startswith(_BOM):
                chunk = chunk[len(_BOM) :]
        elif self._edge == len(parts) and chunk[:1] == b"\n":
            chunk = chunk[1:]  # the LF of a CRLF split between two chunks
        self._edge = _NONE
        cr_end = chunk[-1:] == b"\r"
        events = self.feed(chunk.replace(b"\r\n", b"\n").replace(b"\r", b"\n"), t)
        if cr_end:
            self._edge = len(parts)  # until more bytes arrive, an LF would end that CR's line
        return events

    def close(self, t: float) -> list[Event]:
        """End of stream at ``t``. Nothing is dispatched (spec); see ``unterminated``.

        The decoder is then ready for a new connection; like an ``EventSource`` that
        reconnects, it keeps the last event ID of the last dispatch.
        """
        tail = b"".join(self._parts)
        if self._edge == _BOM_PENDING:
            tail = tail.removeprefix(_BOM)
        text = tail.decode("utf-8", "replace")
        lines, _, partial = text.rpartition("\n")
        # Complete lines were read by a browser too (a ``retry`` there counts); an
        # unfinished last line was not, so it only shapes ``unterminated``.
        etype, data, retry = self._parse(lines.split("\n") if lines else [], t, [])
        last_id = self._last_id
        if partial[:1] not in ("", ":"):
            name, value = _field(partial)
            if name == "data":
                data.append(value)
            elif name == "event":
                etype = value
            elif name == "id" and "\0" not in value:
                last_id = value
        self.unterminated = (
            Event(etype or "message", "\n".join(data), last_id, t, retry) if data else None
        )
        self._parts = []
        self._edge = _BOM_PENDING
        self._last_id = self._source_id
        return []

    def _blocks(self, text: str, t: float) -> list[Event]:
        """Parse complete event blocks: ``text`` ends with a blank line."""
        lines = text.split("\n")
        lines.pop()  # the empty string after the final line end
        data_lines = lines[0::2]
        if not any(lines[1::2]) and all(map(str.startswith, data_lines, repeat("data: "))):
            # Every block is one "data: " line (a burst of LLM chunks): build the events
            # with C-level iterators, no bytecode per event.
            self._count += len(data_lines)
            values = map(_value, data_lines)
            fields = zip(repeat("message"), values, repeat(self._last_id), repeat(t), repeat(None))
            return list(map(_new_event, fields))
        events: list[Event] = []
        self._parse(lines, t, events)
        self._count += len(events)
        self._source_id = self._last_id
        return events

    def _parse(
        self, lines: list[str], t: float, events: list[Event]
    ) -> tuple[str, list[str], int | None]:
        """The spec's steps for each line: dispatch into ``events``; return what is pending.

        The common line (``data:``) is tested first; events are built with
        ``tuple.__new__``, which skips the Python-level ``__new__`` of a named tuple.
        """
        etype = ""
        data: list[str] = []
        retry = None
        last_id = self._last_id
        for line in lines:
            if line:
                if line[:5] == "data:":
                    data.append(line[6:] if line[5:6] == " " else line[5:])
                    continue
                if line[:1] == ":":
                    self.comments.append(Comment(line[1:], t, self._count + len(events)))
                    continue
                name, value = _field(line)
                if name == "data":
                    data.append(value)
                elif name == "event":
                    etype = value
                elif name == "id":
                    if "\0" not in value:
                        last_id = value
                elif name == "retry" and value.isascii() and value.isdigit():
                    self.retry = retry = int(value)
                    self.retries.append(retry)
                continue
            if data:
                text = data[0] if len(data) == 1 else "\n".join(data)
                events.append(_new(Event, (etype or "message", text, last_id, t, retry)))
                data.clear()
            etype = ""
            retry = None
        self._last_id = last_id
        return etype, data, retry


def _field(line: str) -> tuple[str, str]:
    """Split a non-comment line into field name and value (one leading space dropped)."""
    name, _, value = line.partition(":")
    return name, value[1:] if value[:1] == " " else value


def is_event_stream(content_type: str | None) -> bool:
    """True for ``text/event-stream`` in any case and with any parameters.

    Only the MIME type essence counts, as for ``EventSource``: ``text/event-stream;
    charset=windows-1252`` is an event stream (always decoded as UTF-8), a list such as
    ``application/json, text/event-stream`` is not.
    """
    if not content_type:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "text/event-stream"
