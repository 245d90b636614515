"""What the HTML report shows of one stream, as plain data for its template.

Every figure comes from the stream's Contract 4 record (:func:`.json.stream_record`), so
the page, ``analyze --json`` and the other exports never disagree: each card carries the
record's key and raw value (``data-key``, ``data-value``) beside the text a person reads,
which is formatted as the terminal and the Markdown transcript format it
(:func:`.units.ms`). The charts are drawn from the analysis' own series (the arrival of
each content event), by :mod:`.svg`. Nothing here escapes: the template does (Jinja2's
autoescape), and the SVG charts escape their own text.
"""

from __future__ import annotations

import itertools
import json
import math
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from .. import dialects
from ..analysis.analysis import Analysis
from ..analysis.answer import Choice
from ..dialects._json import json_object
from ..dialects.base import TEXT
from . import svg
from .json import stream_record
from .units import ms

__all__ = [
    "KIND_LABELS",
    "Card",
    "ChoiceView",
    "StreamView",
    "SummaryRow",
    "ToolCallView",
    "stream_view",
    "timeline_points",
    "verdict",
]

KIND_LABELS = {
    "reasoning": "reasoning",
    "text": "answer",
    "tool": "tool call",
    "refusal": "refusal",
    "data": "data",
}
"""The timeline's phases (a delta's ``kind``) as its legend names them, in legend order."""
_SOURCES = {
    "usage": "the server's count (usage)",
    "tokenizer": "counted by the offline tokenizer",
    "events": "one per content event (no token count)",
}
OPEN_CONVERSATION_CHARS = 4000
"""A conversation up to this long is shown open; a longer one is folded."""


@dataclass(frozen=True, slots=True)
class Card:
    """One figure: the record's ``key`` and ``value``, and the text shown for it."""

    key: str
    label: str
    text: str
    value: Any
    unit: str = ""
    note: str = ""
    tone: str = ""
    """Classes for its look: ``good``/``bad``/``warn`` (a verdict), ``word`` (a name, not
    a number); ``""`` for a plain figure."""

    @property
    def data_value(self) -> str:
        """The raw value as JSON (``null`` when unknown), for scripts and tests."""
        return json.dumps(self.value)


@dataclass(frozen=True, slots=True)
class ToolCallView:
    name: str
    arguments: str
    """Pretty-printed when it is JSON, else as streamed."""


@dataclass(frozen=True, slots=True)
class ChoiceView:
    index: int
    finish_reason: str | None
    reasoning: str | None
    text: str
    tool_calls: tuple[ToolCallView, ...]
    refusal: str | None


@dataclass(frozen=True, slots=True)
class SummaryRow:
    """What the summary table and the distributions keep of a stream: a few numbers."""

    number: int
    anchor: str
    method: str
    target: str
    """Host and path (the full URL is in the stream's section)."""
    dialect: str
    model: str | None
    status: int | None
    done: str
    """``yes``, ``cut``, ``open`` or ``no``, as the terminal table says."""
    ttfb_ms: float | None
    ttft_ms: float | None
    duration_ms: float | None
    output_tokens: int
    tokens_per_s: float | None
    gap_p50_ms: float | None
    gap_p99_ms: float | None
    stalls: int | None


@dataclass(frozen=True, slots=True)
class StreamView:
    number: int
    anchor: str
    method: str | None
    url: str | None
    source: str
    status: int | None
    dialect: str
    model: str | None
    requested_model: str | None
    verdict: str
    verdict_tone: str
    cards: tuple[Card, ...]
    """Three rows of five: timing, gaps and stalls, how the stream ended."""
    timed: bool
    timeline: Markup | None
    """The timeline's SVG, or ``None`` (no timing, or no output event)."""
    histogram: Markup | None
    """The gaps' SVG, or ``None`` (fewer than two output events)."""
    legend: tuple[tuple[str, str], ...]
    """(kind, label) of each phase on the timeline."""
    chart_note: str
    generic: bool
    choices: tuple[ChoiceView, ...]
    conversation: tuple[tuple[str, str], ...]
    conversation_note: str
    conversation_open: bool
    request_headers: tuple[tuple[str, str], ...]
    response_headers: tuple[tuple[str, str], ...]
    notes: tuple[str, ...]
    error: str | None
    row: SummaryRow


def stream_view(a: Analysis, number: int) -> StreamView:
    r = stream_record(a)
    s = a.stream
    anchor = f"s{number}"
    tone, text = verdict(r)
    timed = r["timing"] == "per-chunk"
    timeline, histogram, note = _charts(a, r, number) if timed else (None, None, "")
    conversation, conversation_note = _conversation(a)
    kinds = {d.kind for d in a.reading.deltas}
    gaps = r["gap_ms"] or {}
    return StreamView(
        number=number,
        anchor=anchor,
        method=r["method"],
        url=r["url"],
        source=r["source"],
        status=r["status"],
        dialect=r["dialect"],
        model=r["model"],
        requested_model=_requested_model(a),
        verdict=text,
        verdict_tone=tone,
        cards=_cards(r, timed),
        timed=timed,
        timeline=timeline,
        histogram=histogram,
        legend=tuple((k, label) for k, label in KIND_LABELS.items() if k in kinds),
        chart_note=note,
        generic=r["text"] is None,
        choices=_choices(a),
        conversation=tuple(conversation),
        conversation_note=conversation_note,
        conversation_open=sum(len(t) for _, t in conversation) <= OPEN_CONVERSATION_CHARS,
        request_headers=s.request_headers,
        response_headers=s.response_headers,
        notes=tuple(r["notes"]),
        error=r["error"],
        row=SummaryRow(
            number=number,
            anchor=anchor,
            method=r["method"] or "",
            target=_target(r["url"]) or r["source"],
            dialect=r["dialect"],
            model=r["model"],
            status=r["status"],
            done=_done(r),
            ttfb_ms=r["ttfb_ms"],
            ttft_ms=r["ttft_ms"],
            duration_ms=r["duration_ms"],
            output_tokens=r["output_tokens"],
            tokens_per_s=r["tokens_per_s"],
            gap_p50_ms=gaps.get("p50"),
            gap_p99_ms=gaps.get("p99"),
            stalls=r["stalls"],
        ),
    )


# --- figures -------------------------------------------------------------------------------


def _cards(r: dict[str, Any], timed: bool) -> tuple[Card, ...]:
    untimed = "" if timed else "no chunk times: "
    tone, text = verdict(r)
    tps = r["tokens_per_s"]
    stalls = r["stalls"]
    gaps = r["gap_ms"] or {}
    gap_note = {
        "p50": "median gap between output events",
        "p90": "90th percentile gap",
        "p99": "99th percentile gap",
        "max": "longest gap",
    }
    return (
        Card(
            "ttfb_ms", "TTFB", ms(r["ttfb_ms"]), r["ttfb_ms"], _unit(r["ttfb_ms"]),
            "request → first byte" if timed else "request → response headers",
        ),
        Card(
            "ttft_ms", "TTFT", ms(r["ttft_ms"]), r["ttft_ms"], _unit(r["ttft_ms"]),
            "request → first output" if timed else untimed + "unknown",
        ),
        Card(
            "duration_ms", "Duration", ms(r["duration_ms"]), r["duration_ms"],
            _unit(r["duration_ms"]),
            "request → last event" if timed else "request → response end",
        ),
        Card(
            "output_tokens", "Output tokens", f"{r['output_tokens']:,}", r["output_tokens"],
            note=_SOURCES.get(r["tokens_source"], r["tokens_source"]),
        ),
        Card(
            "tokens_per_s", "Tokens/s", "—" if tps is None else f"{tps:,.1f}", tps,
            note="first → last output event" if timed else untimed + "unknown",
        ),
        *(
            Card(
                f"gap_ms.{k}", f"Gap {k}", ms(gaps.get(k)), gaps.get(k), _unit(gaps.get(k)),
                gap_note[k] if timed else untimed + "unknown",
            )
            for k in ("p50", "p90", "p99", "max")
        ),
        Card(
            "stalls", "Stalls", "—" if stalls is None else str(stalls), stalls,
            note=f"gaps over {ms(r['stall_ms'])} ms" if timed else untimed + "unknown",
            tone="" if not stalls else "warn",
        ),
        Card("events", "Events", f"{r['events']:,}", r["events"], note="SSE events dispatched"),
        Card("complete", "Complete", text, r["complete"], note=_end_note(r), tone=tone + " word"),
        Card(
            "finish_reason", "Finish reason", r["finish_reason"] or "—", r["finish_reason"],
            note="as the provider names it", tone="word",
        ),
        Card("dialect", "Dialect", r["dialect"], r["dialect"], note="wire format", tone="word"),
        Card(
            "model", "Model", r["model"] or "—", r["model"], note="as the stream names it",
            tone="word",
        ),
    )  # fmt: skip


def _unit(v: float | None) -> str:
    return "" if v is None else "ms"


def verdict(r: dict[str, Any]) -> tuple[str, str]:
    """(tone, word) of how the stream ended: the words of the Markdown transcript."""
    if r["complete"]:
        return "good", "complete"
    if r["error"] or r["unterminated"] or r["truncated"]:
        return "bad", "cut"
    return "bad", "incomplete"


def _end_note(r: dict[str, Any]) -> str:
    if r["complete"]:
        return "end marker or clean end"
    if r["error"]:
        return str(r["error"])
    if r["unterminated"]:
        return "the body ended inside an event"
    if r["truncated"]:
        return "only the first part of the body was read"
    return "no end marker arrived"


def _done(r: dict[str, Any]) -> str:
    if r["complete"]:
        return "yes"
    return "cut" if r["error"] else "open" if r["unterminated"] else "no"


def _target(url: str | None) -> str | None:
    """``host/path`` of a URL, without its scheme and query (the section shows it all)."""
    if not url:
        return None
    rest = url.split("://", 1)[-1]
    return rest.split("?", 1)[0].split("#", 1)[0] or url


# --- charts --------------------------------------------------------------------------------


def timeline_points(a: Analysis) -> tuple[list[svg.Point], str]:
    """Each content event once, in time order, with the cumulative output after it; and the
    y axis' caption.

    With a token count (the server's usage or the tokenizer's) the count is spread over
    the events by the length of the text each carried, so the line ends at the record's
    ``output_tokens``; without one (``tokens_source`` ``events``) each event counts one.
    """
    start = a.stream.request_start or 0.0
    per_event: dict[int, list[Any]] = {}  # event index -> [t, kind, characters]
    for d in a.reading.deltas:
        if not math.isfinite(d.t):
            continue
        e = per_event.get(d.event)
        if e is None:
            per_event[d.event] = [d.t, d.kind, len(d.text)]
        else:
            e[2] += len(d.text)
            if d.kind == TEXT:  # an event carrying answer text is in the answer phase
                e[1] = TEXT
    ordered = sorted(per_event.items(), key=lambda item: (item[1][0], item[0]))
    c = a.cadence
    weights = [e[2] for _, e in ordered]
    total = sum(weights)
    by_tokens = c.tokens_source != "events" and c.output_tokens > 0 and total > 0
    steps = itertools.accumulate(weights) if by_tokens else itertools.count(1)
    scale = c.output_tokens / total if by_tokens else 1.0
    points = [
        svg.Point((e[0] - start) * 1e3, y * scale, e[1])
        for (_, e), y in zip(ordered, steps, strict=False)
    ]
    return points, "output tokens" if by_tokens else "content events"


def _charts(
    a: Analysis, r: dict[str, Any], number: int
) -> tuple[Markup | None, Markup | None, str]:
    points, caption = timeline_points(a)
    if not points:
        return None, None, "No event carried output, so there is nothing to chart."
    stalls = [
        svg.Span(s.at_ms, s.at_ms + s.gap_ms, f"stall {ms(s.gap_ms)} ms")
        for s in a.cadence.stalls or []
    ]
    marks = [
        svg.Mark(r[key], f"{label} {ms(r[key])} ms", kind)
        for key, label, kind in (("ttfb_ms", "TTFB", "ttfb"), ("ttft_ms", "TTFT", "ttft"))
        if r[key] is not None
    ]
    if r["ttft_answer_ms"] is not None and r["ttft_answer_ms"] != r["ttft_ms"]:
        marks.append(
            svg.Mark(r["ttft_answer_ms"], f"answer {ms(r['ttft_answer_ms'])} ms", "answer")
        )
    end = max(r["duration_ms"] or 0.0, points[-1].t_ms)
    title = f"Stream {number}: {caption} against time from the request start"
    timeline = Markup(svg.timeline(
        points, end_ms=end, marks=marks, stalls=stalls, wait_until=r["ttft_ms"],
        y_caption=caption, title=title,
    ))  # fmt: skip
    tokens = r["tokens_source"]
    note = (
        f"{caption.capitalize()}: {_SOURCES.get(tokens, tokens)}"
        + (", spread over the events by the length of their text." if caption[0] == "o" else ".")
        + " Each tick is one content event; shaded: the wait for the first output, and stalls."
    )
    arrivals = a.cadence.arrivals_ms or []
    gaps = [b - x for x, b in itertools.pairwise(arrivals)]
    if not gaps:
        return timeline, None, note
    g = r["gap_ms"]
    gap_marks = [svg.Mark(g[k], f"{k} {ms(g[k])} ms", k) for k in ("p50", "p90", "p99")]
    if r["stalls"]:
        gap_marks.append(svg.Mark(r["stall_ms"], f"stall > {ms(r['stall_ms'])} ms", "stall"))
    title = f"Stream {number}: gaps between its {len(arrivals)} output events"
    histogram = Markup(svg.histogram(gaps, marks=gap_marks, title=title))
    return timeline, histogram, note


# --- the answer and the request ------------------------------------------------------------


def _choices(a: Analysis) -> tuple[ChoiceView, ...]:
    choices = list(a.answer.choices.values()) or [a.answer.first]
    return tuple(_choice(c, a.reading.finish_reasons.get(c.index)) for c in choices)


def _choice(c: Choice, finish_reason: str | None) -> ChoiceView:
    reasoning = "\n\n".join(c.reasoning_parts.values()) if c.reasoning_parts else None
    return ChoiceView(
        index=c.index,
        finish_reason=finish_reason,
        reasoning=reasoning,
        text=c.text,
        tool_calls=tuple(ToolCallView(t.name, _pretty(t.arguments)) for t in c.tool_calls.values()),
        refusal=c.refusal,
    )


def _pretty(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return arguments


def _conversation(a: Analysis) -> tuple[list[tuple[str, str]], str]:
    """The messages the request sent (read by the dialect), or why there are none."""
    s = a.stream
    if s.method is None and not s.request_body:
        return [], "No request was captured: the file holds only the response body."
    messages = dialects.prompt(a.dialect, s.request_body)
    if messages:
        return messages, ""
    if not s.request_body:
        return [], "The request had no body."
    return (
        [],
        f"No conversation could be read from the request body ({len(s.request_body):,} bytes).",
    )


def _requested_model(a: Analysis) -> str | None:
    """The model the request asked for (its body's ``model``), when it names one."""
    named = (json_object(a.stream.request_body) or {}).get("model")
    return named if isinstance(named, str) and named else None
