"""Read capture files (mitmproxy ``.flow``, HAR, raw ``.sse``, sse-inspect's JSONL export)
into :class:`Stream` objects.

The format is told by the first bytes, not the file name: users rename captures. Bad input
raises :class:`CaptureError`, whose message is the one line a user sees; streams read
before the damage in a broken file have already been yielded by then. A file that is no
capture at all raises its subclass :class:`NotACapture`. A :class:`Tally` passed in
counts what the file held, to say why no stream came out of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

from mitmproxy import flowfilter

from . import checks
from .errors import CaptureError, NotACapture
from .flows import read_flows
from .har import read_har
from .jsonl import looks_like_jsonl, read_jsonl
from .raw import read_sse
from .stream import Stream, Timing
from .tally import Tally

__all__ = ["CaptureError", "NotACapture", "Stream", "Tally", "Timing", "read_capture"]

_SSE_FIELDS = {"data", "event", "id", "retry"}
_SNIFF_BYTES = 64 * 1024


def read_capture(
    path: str | Path,
    flt: flowfilter.TFilter | None = None,
    on_progress: Callable[[int], None] | None = None,
    all_flows: bool = False,
    tally: Tally | None = None,
) -> Iterator[Stream]:
    """Yield the event streams of one capture file, in capture order, one at a time.

    ``flt`` is a parsed mitmproxy filter expression; it applies to HTTP exchanges (a raw
    ``.sse`` body or a JSONL export has none and is always kept). ``on_progress`` gets the
    bytes read so far. ``all_flows`` yields the other HTTP exchanges too (for HAR export).
    ``tally``, when given, is filled as the file is read (see :class:`Tally`).
    """
    tally = Tally() if tally is None else tally
    source = checks.text(str(path))  # a file name of bytes that are not UTF-8, say
    try:
        f = open(path, "rb")  # noqa: SIM115 -- closed below, after the generator is done
    except FileNotFoundError:
        raise CaptureError(f"{source}: no such file") from None
    except IsADirectoryError:
        raise CaptureError(f"{source}: is a directory, not a capture file") from None
    except OSError as e:
        raise CaptureError(f"{source}: cannot open ({e.strerror})") from None
    with f:
        head = f.peek(_SNIFF_BYTES)[:_SNIFF_BYTES]
        kind = tally.format = _sniff(head, source)
        if kind == "flow":
            yield from read_flows(f, source, flt, on_progress, all_flows, tally)
        elif kind == "har":
            yield from read_har(f, source, flt, all_flows, tally)
        elif kind == "jsonl":
            yield from read_jsonl(f, source, on_progress, tally)
        else:
            tally.flows = tally.event_streams = 1
            yield from read_sse(f, source)
        if on_progress:
            on_progress(f.tell())


def _sniff(head: bytes, source: str) -> str:
    if not head:
        return "flow"  # what `mitmdump -w` leaves when nothing was captured: no flows
    text = head.removeprefix(b"\xef\xbb\xbf")
    if text.lstrip().startswith(b"{"):
        return _sniff_json(text, source)
    if re.match(rb"\d{1,12}:", head):
        return "flow"
    if _looks_like_sse(text):
        return "sse"
    raise NotACapture(source, "not a mitmproxy flow, HAR or SSE file (nor sse-inspect JSONL)")


def _sniff_json(text: bytes, source: str) -> str:
    """Our JSONL export (its first line an event), other JSON Lines (not a capture), or HAR.

    A HAR document on one line is that line alone; pretty-printed, its first line is no
    JSON object by itself.
    """
    first, newline, rest = text.partition(b"\n")
    if looks_like_jsonl(first):
        return "jsonl"
    if not newline:
        # The first line may go on past the sniffed head: our export writes flow_id first.
        return "jsonl" if re.match(rb'\s*\{\s*"flow_id"\s*:', first) else "har"
    if rest.strip() and _is_json_object(first):
        raise NotACapture(source, "not sse-inspect JSONL (its lines have no flow_id and event)")
    return "har"


def _is_json_object(line: bytes) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return False


def _looks_like_sse(head: bytes) -> bool:
    """True when the first non-blank line is an SSE field or comment."""
    for line in re.split(rb"\r\n|\r|\n", head):
        if line:
            name = line.partition(b":")[0]
            return line.startswith(b":") or name.decode("latin-1") in _SSE_FIELDS
    return False
