"""A mitmproxy ``.flow`` file cut into byte ranges of whole flows, without parsing it, and
the streams of one range: so that parts of one capture can be read apart (in worker
processes) and still say what a reading of the whole file says.

A ``.flow`` file is tnetstrings one after the other, each ``LENGTH:PAYLOAD`` and one type
byte (``}``: a flow is a dict). :func:`flow_ranges` reads each length prefix and seeks past
the payload, checking only what mitmproxy's reader would trip over first (at most 12
digits, the colon, the payload inside the file, the ``}``); at the first thing that is not
so, the rest of the file becomes one last range that is not cut further, and reading it
(:func:`read_range`) fails where and as a reading of the whole file does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from mitmproxy import flowfilter

from .flows import read_each
from .stream import Stream
from .tally import Tally

__all__ = [
    "RANGE_BYTES",
    "RANGE_FLOWS",
    "FlowRange",
    "flow_ranges",
    "looks_like_flows",
    "read_range",
]

RANGE_BYTES = 4 * 1024 * 1024
"""A range ends before the flow that would take it past this many bytes (a single larger
flow is a range of its own)..."""
RANGE_FLOWS = 256
"""... or after this many flows."""

_DIGITS = 12  # the longest length prefix mitmproxy's tnetstring reader accepts
_PREFIX = re.compile(rb"\d{1,12}:")


@dataclass(frozen=True, slots=True)
class FlowRange:
    """Bytes ``start`` to ``end`` of a ``.flow`` file: whole flows, or (``end`` is ``None``)
    the rest of the file, unchecked."""

    start: int
    end: int | None
    first: int
    """How many flows come before ``start`` in the file."""
    flows: int
    """How many flows the range holds (unknown, 0, when unchecked)."""


def looks_like_flows(head: bytes) -> bool:
    """The first bytes of a file are a tnetstring's length prefix: :func:`.read_capture`
    reads the file as a ``.flow`` (the same rule)."""
    return _PREFIX.match(head) is not None


def flow_ranges(
    f: BinaryIO, *, max_bytes: int = RANGE_BYTES, max_flows: int = RANGE_FLOWS
) -> Iterator[FlowRange]:
    """The ranges of whole flows of the file ``f`` (a seekable binary file, best unbuffered:
    it is read 14 bytes at a time), in order, as they are found; the last one unchecked if
    something odd comes before the end. Only seeks and reads of length prefixes: no flow is
    parsed, so a damaged payload is found by the reader of its range."""
    size = f.seek(0, 2)
    pos = start = 0
    count = first = 0
    f.seek(0)
    head = f.read(_DIGITS + 1)
    while pos < size:
        colon = head.find(b":")
        if colon < 1 or not head[:colon].isdigit():
            break  # no length prefix (bytes.isdigit: ASCII digits only, as mitmproxy's)
        end = pos + colon + 1 + int(head[:colon]) + 1  # just past the type byte
        if end > size:
            break  # truncated
        f.seek(end - 1)
        head = f.read(1 + _DIGITS + 1)  # the type byte, and the next length prefix
        if head[:1] != b"}":
            break
        head = head[1:]
        if count and (end - start > max_bytes or count >= max_flows):
            yield FlowRange(start, pos, first, count)
            start, first, count = pos, first + count, 0
        pos = end
        count += 1
    if count:
        yield FlowRange(start, pos, first, count)
    if pos < size:
        yield FlowRange(pos, None, first + count, 0)


def read_range(
    f: BinaryIO,
    part: FlowRange,
    source: str,
    flt: flowfilter.TFilter | None,
    tally: Tally,
) -> Iterator[Stream]:
    """The event streams of one range of ``f`` as :func:`.read_flows` reads them (``tally``
    counts its flows); a damaged flow raises the :class:`CaptureError` a reading of the
    whole file would, counting the flows before the range too."""
    f.seek(part.start)
    size = None if part.end is None else part.end - part.start
    yield from read_each(cast(BinaryIO, _Part(f, size)), source, flt, tally, count=part.first)


class _Part:
    """The next ``size`` bytes of a file (``None``: the rest of it), as :func:`.read_each`
    and mitmproxy's reader read a file.

    It peeks only to tell a HAR file (``{``, perhaps after a BOM) at the start of a file;
    here it is in the middle of one, where a reading of the whole file would not look, so
    peeking sees nothing. (A range that starts a file starts with a length prefix.)
    """

    __slots__ = ("_f", "_left")

    def __init__(self, f: BinaryIO, size: int | None) -> None:
        self._f = f
        self._left = size

    def read(self, n: int = -1) -> bytes:
        left = self._left
        if left is None:
            return self._f.read(n)
        data = self._f.read(left if n < 0 else min(n, left))
        self._left = left - len(data)
        return data

    def peek(self, n: int = 1) -> bytes:
        return b""
