"""An SSE contentview for mitmproxy: the rebuilt answer, then the events, one line each.

mitmproxy shows an event stream as one block of ``data:`` lines. This view, which mitmproxy
picks for every ``text/event-stream`` body (``mitmdump --flow-detail 3``, the console,
mitmweb), shows what a person looks for first: the answer as the dialect rebuilds it
(text, reasoning, tool calls, finish reason), two lines of figures, and then each event
with its arrival time from the request start (when the capture addon recorded times:
Contract 2), its type, id, what it carried for the answer, and its data, cut to one line::

    SSE · openai-chat · model gpt-4o-mini · 64 events · complete · finish stop
    TTFB 425 ms · TTFT 458 ms · total 4,079 ms
    60 tokens (usage) · 17.07 tokens/s · gaps p50 37 / max 1,387 ms · 1 stall

    Answer:
      Server-Sent Events keep one HTTP response open and push small text frames down
      it. Each frame is a few lines such as data: followed by a blank line, so a ...
    Finish reason: stop

    Events: 64, times in ms from the request start
        +ms  event    carried              data
        425  message  role assistant       {"id": "chatcmpl-sample0001", "object": ...
        458  message  text "Server-Sent"   {"id": "chatcmpl-sample0001", "object": ...

A flow without the addon's metadata (plain mitmproxy) shows the same without times.
It costs the proxy nothing until a view is rendered: importing this module loads mitmproxy's
contentview API and the SSE decoder only; the analysis, the dialects and rich are imported
by :meth:`SSEContentview.prettify`, the first time a stream is shown. The work of one
rendering is bounded (:data:`MAX_DECODED` decoded bytes, :data:`MAX_EVENTS` lines) and it
never raises: a body it cannot read is shown as text with the reason.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterator
from dataclasses import replace
from itertools import islice
from typing import TYPE_CHECKING, Any

from mitmproxy import contentviews, http
from mitmproxy.contentviews import Metadata, SyntaxHighlight

from ..sse import is_event_stream

if TYPE_CHECKING:
    from ..analysis.analysis import Analysis
    from ..load.stream import Stream

__all__ = [
    "MAX_ANSWER",
    "MAX_DECODED",
    "MAX_EVENTS",
    "NAME",
    "PRIORITY",
    "SSEContentview",
    "ViewAddon",
    "register",
    "sse_view",
    "unregister",
]

log = logging.getLogger(__name__)

NAME = "SSE"
"""As mitmproxy lists the view (``--set dumper_default_contentview=sse``, mitmweb's menu)."""
PRIORITY = 2.0
"""For event streams: above every view mitmproxy ships (raw, its fallback, says 0.1)."""
MAX_DECODED = 4 * 1024 * 1024
"""The view decodes at most this many bytes of a body (a 64 MiB capture, or a gzip bomb,
renders in a second or two, not in minutes); past them it says so, and ``sse-inspect analyze``
reads the whole stream."""
MAX_EVENTS = 1000
"""Event lines shown; the rest are counted. mitmdump prints only the first
``content_view_lines_cutoff`` lines anyway, and mitmweb shows more on request."""
MAX_ANSWER = 20_000
"""Characters of the answer's text (and of its reasoning) shown before it is cut."""
WRAP = 80
"""The answer's lines are wrapped at this width."""
CARRIED_WIDTH = 48
"""What an event carried, cut to this many characters..."""
DATA_WIDTH = 160
"""... and its data to this many, its middle cut out (:func:`_elide`)."""
EVENT_WIDTH = 24
ID_WIDTH = 16
FALLBACK_BYTES = 64 * 1024
"""Of a body the view cannot read, this much is shown as text."""
_SOURCE = "mitmproxy"


class SSEContentview(contentviews.Contentview):
    """mitmproxy's view of an event stream (see the module docstring)."""

    @property
    def name(self) -> str:
        return NAME

    @property
    def syntax_highlight(self) -> SyntaxHighlight:
        return "none"

    def render_priority(self, data: bytes, metadata: Metadata) -> float:
        """High for an event stream's body, else 0 (chosen only by hand). It reads the
        content type alone: mitmproxy asks every view about every body it shows."""
        return PRIORITY if data and is_event_stream(metadata.content_type) else 0.0

    def prettify(self, data: bytes, metadata: Metadata) -> str:
        try:
            return render(analyse(data, metadata))
        except Exception as e:  # a view must not fail: show the body and why
            log.debug("sse-inspect: the SSE view failed", exc_info=True)
            return fallback(data, f"{type(e).__name__}: {e}")


sse_view = SSEContentview()


def analyse(data: bytes, metadata: Metadata) -> Analysis:
    """The analysis of the body being shown, at most :data:`MAX_DECODED` bytes of it.

    A flow's response is read from the flow (:func:`~sse_inspect.load.flows.stream_from_flow`):
    its body as received, content-encoded, with the chunk times the addon recorded. Any
    other body (a request, a message without its flow) is read from ``data``, which
    mitmproxy has already content-decoded, without times.
    """
    from ..analysis.analysis import analyze
    from ..load.flows import stream_from_flow

    flow = metadata.flow
    response = flow.response if isinstance(flow, http.HTTPFlow) else None
    stream: Stream | None = None
    if (
        isinstance(flow, http.HTTPFlow)
        and response is not None
        and metadata.http_message is response
        and response.raw_content is not None
    ):
        stream = stream_from_flow(flow, _SOURCE, all_flows=True)
    if stream is None:
        stream = _bare_stream(data)
    return analyze(stream, max_decoded=MAX_DECODED)


def _bare_stream(data: bytes) -> Stream:
    """A body with no flow around it, as a raw ``.sse`` file is read: no timing."""
    from ..load.raw import bare_stream

    return bare_stream(bytes(data), _SOURCE, "")


def render(a: Analysis) -> str:
    """The view's text of one analysed stream: summary, answer, notes, events."""
    from .json import stream_record

    record = stream_record(a)
    lines = [_headline(record), *_figures(record), ""]
    if a.decoded.events or a.decoded.unterminated is not None:
        lines += _answer(a, record)
    notes = _notes(a, record)
    if notes:
        lines += ["Notes:", *(f"  - {n}" for n in notes), ""]
    lines += _events(a)
    return "\n".join(lines)


def _headline(r: dict[str, Any]) -> str:
    parts = ["SSE", r["dialect"]]
    if r.get("model"):
        parts.append(f"model {r['model']}")
    parts.append(f"{r['events']:,} event{'s' if r['events'] != 1 else ''}")
    if r["complete"]:
        parts.append("complete")
    else:
        parts.append(f"cut ({r['error']})" if r.get("error") else "incomplete")
    if r.get("finish_reason"):
        parts.append(f"finish {r['finish_reason']}")
    if r.get("content_encoding"):
        parts.append(f"{r['content_encoding']} encoded")
    return " · ".join(parts)


def _figures(r: dict[str, Any]) -> list[str]:
    """The stream's figures (Contract 4's) in two short lines: its times, or why it has
    none, then tokens and cadence."""
    from .units import ms

    times: list[str] = []
    if r["timing"] == "per-chunk":
        for label, key in (("TTFB", "ttfb_ms"), ("TTFT", "ttft_ms"), ("total", "duration_ms")):
            if r.get(key) is not None:
                times.append(f"{label} {ms(r[key])} ms")
    else:
        times.append("no arrival times (not recorded by the sse-inspect addon)")
    flow: list[str] = []
    tokens = r.get("output_tokens")
    if tokens:
        flow.append(f"{tokens:,} token{'s' if tokens != 1 else ''} ({r['tokens_source']})")
    if r.get("tokens_per_s") is not None:
        flow.append(f"{r['tokens_per_s']} tokens/s")
    gaps = r.get("gap_ms")
    if gaps:
        flow.append(f"gaps p50 {ms(gaps['p50'])} / max {ms(gaps['max'])} ms")
    if r.get("stalls") is not None:
        flow.append(f"{r['stalls']} stall{'s' if r['stalls'] != 1 else ''}")
    return [" · ".join(line) for line in (times, flow) if line]


def _answer(a: Analysis, r: dict[str, Any]) -> list[str]:
    """The answer of each choice: reasoning, text, refusal, tool calls, finish reason."""
    if a.dialect == "generic":
        return ["Answer: none rebuilt (an unknown dialect): see the events' data", ""]
    lines: list[str] = []
    several = len(a.answer.choices) > 1
    choices = sorted(a.answer.choices.values(), key=lambda c: c.index) or [a.answer.first]
    for choice in choices:
        which = f" (choice {choice.index})" if several else ""
        if choice.reasoning:
            lines += [f"Reasoning{which}:", *_block(choice.reasoning), ""]
        lines += [f"Answer{which}:", *(_block(choice.text) if choice.text else ["  (no text)"])]
        if choice.refusal:
            lines += [f"Refusal{which}:", *_block(choice.refusal)]
        if choice.tool_calls:
            lines.append(f"Tool calls{which}:")
            for call in choice.tool_calls.values():
                lines.append(f"  {call.name}({_cut(call.arguments, MAX_ANSWER)})")
        reason = a.reading.finish_reasons.get(choice.index)
        if several and reason:
            lines.append(f"Finish reason{which}: {reason}")
        lines.append("")
    if not several:
        lines.insert(-1, f"Finish reason: {r.get('finish_reason') or '—'}")
    return lines


def _block(text: str) -> list[str]:
    """A text as indented lines, each longer than :data:`WRAP` wrapped at spaces (mitmweb
    does not wrap, and an answer is often one long paragraph)."""
    lines: list[str] = []
    for line in _cut(text, MAX_ANSWER).split("\n"):
        body = line.lstrip(" ")
        indent = "  " + line[: len(line) - len(body)]
        if len(line) <= WRAP:
            lines.append("  " + line)
        else:
            lines += textwrap.wrap(
                body,
                WRAP,
                initial_indent=indent,
                subsequent_indent=indent,
                break_long_words=False,
                break_on_hyphens=False,
            )
    return lines


def _cut(text: str, limit: int) -> str:
    more = len(text) - limit
    return text if more <= 0 else f"{text[:limit]}… ({more:,} more characters)"


def _notes(a: Analysis, r: dict[str, Any]) -> list[str]:
    """The record's notes, with the view's own limit said in its own words."""
    from ..analysis.analysis import CAPPED_NOTE
    from ..decode.content import format_size

    notes = list(r.get("notes") or ())
    capped = a.decoded.capped
    if capped is not None:
        theirs = CAPPED_NOTE.format(size=format_size(capped), why="--max-decoded")
        notes = [n for n in notes if n != theirs]
        notes.append(
            f"the view decodes only the first {format_size(capped)} of a body: "
            "`sse-inspect analyze` reads the whole stream"
        )
    return notes


def _events(a: Analysis) -> list[str]:
    """One line per event (and comment), the first :data:`MAX_EVENTS`, in columns."""
    from .terminal import events_table

    timed = a.cadence.timing == "per-chunk"
    total = len(a.decoded.events) + len(a.decoded.comments)
    total += a.decoded.unterminated is not None
    when = "times in ms from the request start" if timed else "no arrival times"
    head = f"Events: {len(a.decoded.events):,}, {when}"
    if a.decoded.comments:
        n = len(a.decoded.comments)
        head += f" (and {n:,} comment{'s' if n != 1 else ''}, shown as ':')"
    # The terminal's event list gives each row; once with what the dialect read, once raw.
    carried = events_table(a, 0).rows(CARRIED_WIDTH)
    raw = events_table(a, 0, raw=True).rows(None)
    rows = list(islice(_cells(carried, raw), MAX_EVENTS))
    if not rows:
        return [head, "  (no events)", *_no_events(a)]
    ids = any(r[2] for r in rows)
    widths = [max(len(r[i]) for r in (*rows, _HEADER)) for i in range(4)]
    widths[1] = min(widths[1], EVENT_WIDTH)
    widths[2] = min(widths[2], ID_WIDTH)
    lines = [head]
    for row in (_HEADER, *rows):
        cells = [row[0].rjust(widths[0])] if timed else []
        cells.append(_fit(row[1], widths[1]))
        if ids:
            cells.append(_fit(row[2], widths[2]))
        cells += [row[3].ljust(widths[3]), row[4]]
        lines.append(("  " + "  ".join(cells)).rstrip())
    if total > len(rows):
        lines.append(
            f"  … {total - len(rows):,} more (the view lists the first {MAX_EVENTS:,}; "
            "`sse-inspect analyze --events` lists all)"
        )
    return lines


_HEADER = ("+ms", "event", "id", "carried", "data")


def _first_events(a: Analysis, n: int) -> Analysis:
    """The analysis cut to its first ``n`` events, for the event list alone: a body of a
    million tiny events costs the list no more than its first lines."""
    f = a.decoded
    if len(f.events) <= n:
        return a
    decoded = replace(
        f,
        events=f.events[:n],
        comments=[c for c in f.comments if c.after <= n],
        unterminated=None,
    )
    reading = replace(a.reading, deltas=tuple(d for d in a.reading.deltas if d.event < n))
    return replace(a, decoded=decoded, reading=reading)


def _cells(carried: Iterator[Any], raw: Iterator[Any]) -> Iterator[tuple[str, ...]]:
    """(offset, event, id, carried, data) per row of the two event lists (a comment, such
    as ``: ping``, is a row whose event is ``:``)."""
    for (t, event, ident, what), (_, _, _, data) in zip(carried, raw, strict=True):
        name = event.plain
        what = "comment" if name == ":" else what.plain
        yield t, name, ident, what, _elide(data.plain, DATA_WIDTH)


def _elide(text: str, width: int) -> str:
    """The start and the end of a long line, the middle cut: an event's JSON often opens
    with ids that every event repeats and ends with the delta that tells them apart."""
    if len(text) <= width:
        return text
    tail = width // 3
    return f"{text[: width - tail - 3]} … {text[-tail:]}"


def _fit(text: str, width: int) -> str:
    return text.ljust(width) if len(text) <= width else text[: width - 1] + "…"


def _no_events(a: Analysis) -> list[str]:
    """What the body held when no event came out of it: the reason, and its start."""
    body = a.stream.body
    if a.decoded.error:
        return []  # the headline says why
    if not body:
        return ["  (the body is empty)"]
    return ["", "The body as text:", *_text(body).split("\n")]


def fallback(data: bytes | None, why: str) -> str:
    """What the view shows when it cannot read a body: why, then the body as text."""
    head = f"SSE · sse-inspect could not read this body ({why})"
    if not data:
        return head
    return f"{head}\n\n{_text(data)}"


def _text(data: bytes) -> str:
    """The start of a body as text (bytes that are no UTF-8 become U+FFFD)."""
    shown = bytes(data[:FALLBACK_BYTES]).decode("utf-8", "replace")
    more = len(data) - FALLBACK_BYTES
    return shown if more <= 0 else f"{shown}\n… ({more:,} more bytes)"


# -- registration ---------------------------------------------------------------------


def register(view: contentviews.Contentview = sse_view) -> None:
    """Add the view to mitmproxy's registry (one of the same name is replaced)."""
    contentviews.add(view)


def unregister(view: contentviews.Contentview = sse_view) -> None:
    """Take the view out of mitmproxy's registry, if it is still the one registered.

    mitmproxy 12 has no call for it (views come and stay), so this reaches into the
    registry's dict, carefully: with another mitmproxy it does nothing.
    """
    by_name = getattr(contentviews.registry, "_by_name", None)
    key = view.name.lower()
    if isinstance(by_name, dict) and by_name.get(key) is view:
        del by_name[key]


class ViewAddon:
    """An addon that registers a contentview while it is loaded: ``load`` adds it and
    ``done`` takes it out again, so a script that mitmproxy unloads or reloads leaves no
    view behind (for a master built in code, e.g. ``sse-inspect capture``)."""

    def __init__(self, view: contentviews.Contentview = sse_view) -> None:
        self.view = view

    def load(self, loader: Any) -> None:
        register(self.view)

    def done(self) -> None:
        unregister(self.view)
