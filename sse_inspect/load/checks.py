"""What a capture says, checked before it is used: a value that cannot be what it claims
to be is taken as unknown, times out of order are put in order, and each time that is
done a note (one line) says so, for the stream's report.

Every reader comes through here (``.flow`` and HAR through :func:`~.flows.stream_from_flow`,
JSONL directly), so no stage after loading sees a time that is not finite, a time before
its request, a chunk time going backwards or a status that is no HTTP status.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ..capture.contract import epoch, shown

__all__ = ["BACKWARDS", "BEFORE_START", "in_order", "instant", "later", "status", "text", "url"]

BACKWARDS = (
    "chunk times go backwards: {n} of {total} chunks arrived before the one ahead of them "
    "(by up to {by} ms); each is taken as arriving with the one before"
)
BEFORE_START = (
    "chunk times come before the request start: {n} of {total} chunks (the first by {by} ms); "
    "taken as arriving at the request start"
)

Chunks = tuple[tuple[float, int], ...]


def instant(value: object, what: str, notes: list[str]) -> float | None:
    """``value`` as epoch seconds (see :func:`~sse_inspect.capture.contract.epoch`), else
    ``None``: silently when the capture left it out, with a note when it is no such time."""
    if value is None:
        return None
    t = epoch(value)
    if t is None:
        notes.append(f"{what} {shown(value)} is not a time from 1990 to 2100: taken as unknown")
    return t


def status(value: object, notes: list[str], required: bool = False) -> int | None:
    """An HTTP status code (100 to 999), else ``None``: with a note, unless it was left
    out (``None``) where it may be."""
    if value is None and not required:
        return None
    if isinstance(value, int) and not isinstance(value, bool) and 100 <= value <= 999:
        return value
    notes.append(f"status {shown(value)} is not an HTTP status (100 to 999): taken as unknown")
    return None


def later(
    t: float | None, after: float | None, what: str, instead: str, notes: list[str]
) -> float | None:
    """``t``, or ``after`` when ``t`` comes before it, with a note: ``"{what} (by N ms):
    taken as {instead}"``."""
    if t is None or after is None or t >= after:
        return t
    notes.append(f"{what} (by {_ms(after - t)} ms): taken as {instead}")
    return after


def in_order(chunks: Chunks, start: float | None, notes: list[str]) -> Chunks:
    """Chunk times that never go backwards and never come before ``start``.

    A time earlier than the chunk's before it (a clock stepped back) is taken as that
    chunk's; a time before the request start, as the request start. Each is noted once.
    """
    total = len(chunks)
    out: list[tuple[float, int]] = []
    back, back_by = 0, 0.0
    latest = None
    for t, n in chunks:
        if latest is not None and t < latest:
            back += 1
            back_by = max(back_by, latest - t)
            t = latest
        latest = t
        out.append((t, n))
    if back:
        notes.append(BACKWARDS.format(n=back, total=total, by=_ms(back_by)))
    if start is not None and out and out[0][0] < start:
        early = sum(1 for t, _ in out if t < start)
        notes.append(BEFORE_START.format(n=early, total=total, by=_ms(start - out[0][0])))
        out = [(max(t, start), n) for t, n in out]
    return tuple(out)


def url(value: str, notes: list[str]) -> str | None:
    """``value`` as text that ``urlsplit`` takes (every stage after loading may split it):
    a bracket in a host that is no IPv6 literal is percent-encoded, with a note; a URL that
    is still no URL is ``None``, with a note."""
    value = text(value)  # a path of Latin-1 bytes, say
    try:
        urlsplit(value)
        return value
    except ValueError as e:
        why = e
    scheme, sep, rest = value.partition("://")
    cut = min((i for i in map(rest.find, "/?#") if i >= 0), default=len(rest))
    host = rest[:cut]
    fixed = scheme + sep + host.replace("[", "%5B").replace("]", "%5D") + rest[cut:]
    try:
        urlsplit(fixed)
    except ValueError:
        notes.append(f"the request's URL {shown(value)} is no URL ({why}): taken as unknown")
        return None
    notes.append(
        f"the request's host {shown(host)} is not valid ({why}): its brackets are percent-encoded"
    )
    return fixed


_ESCAPED = re.compile("[\ud800-\udfff]")


def text(value: str) -> str:
    """``value`` as valid Unicode, which any UTF-8 file or terminal can hold.

    mitmproxy gives bytes that are not UTF-8 (a Latin-1 header value or path, which HTTP
    allows) as ``surrogateescape`` code points; each becomes the Latin-1 character of its
    byte. Any other lone surrogate becomes U+FFFD.
    """
    if value.isascii() or not _ESCAPED.search(value):
        return value
    return _ESCAPED.sub(_unescape, value)


def _unescape(m: re.Match[str]) -> str:
    code = ord(m.group())
    return chr(code - 0xDC00) if 0xDC80 <= code <= 0xDCFF else "\ufffd"


def _ms(seconds: float) -> str:
    value = seconds * 1e3
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}"
