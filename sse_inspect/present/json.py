"""The JSON record of one analysed stream: Contract 4 of DESIGN.md.

Plain dicts of JSON types, built once per stream from its :class:`Analysis`; the terminal
table, the Markdown transcript and HAR's ``_sseMetrics`` show these same records, so what a
user reads and what a script parses never disagree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from ..analysis.analysis import Analysis
from ..analysis.answer import Choice
from ..analysis.cadence import Gaps
from ..load.checks import text as as_text

__all__ = [
    "VERSION",
    "ListWriter",
    "as_text",
    "clean",
    "document",
    "dumps",
    "finite",
    "frame_records",
    "stream_record",
]

VERSION = 1
INDENT = 2
_GAPS = tuple(f.name for f in fields(Gaps))  # p50, p90, p99, max: the record's gap_ms keys


def stream_record(a: Analysis) -> dict[str, Any]:
    s, c, f, r = a.stream, a.cadence, a.decoded, a.reading
    first = a.answer.first
    generic = a.dialect == "generic"
    tps = finite(c.tokens_per_s)
    record: dict[str, Any] = {
        "flow_id": s.flow_id,
        "source": as_text(s.source),
        "method": None if s.method is None else as_text(s.method),
        "url": None if s.url is None else as_text(s.url),
        "status": s.status,
        "dialect": a.dialect,
        "model": r.model,
        "events": len(f.events),
        "complete": a.complete,
        "timing": c.timing,
        "ttfb_ms": _ms(c.ttfb_ms),
        "ttf_event_ms": _ms(c.ttf_event_ms),
        "ttft_ms": _ms(c.ttft_ms),
        "ttft_answer_ms": _ms(c.ttft_answer_ms),
        "duration_ms": _ms(c.duration_ms),
        "output_tokens": c.output_tokens,
        "tokens_source": c.tokens_source,
        "input_tokens": r.input_tokens,
        "tokens_per_s": None if tps is None else round(tps, 2),
        "itl_ms": _ms(c.itl_ms),
        "tpot_ms": _ms(c.tpot_ms),
        "gap_ms": None if c.gap_ms is None else {k: _ms(getattr(c.gap_ms, k)) for k in _GAPS},
        "stalls": None if c.stalls is None else len(c.stalls),
        "stall_ms": finite(c.stall_ms),
        "stalls_at": None
        if c.stalls is None
        else [{"at_ms": _ms(x.at_ms), "gap_ms": _ms(x.gap_ms)} for x in c.stalls],
        # The answer (a generic stream has none: its data is in --events).
        "text": None if generic else first.text,
        "reasoning": first.reasoning,
        "tool_calls": None if generic else _tool_calls(first),
        "refusal": first.refusal,
        "finish_reason": r.finish_reason,
        "error": a.error,
        # The capture's notes (what loading could not use) first; each note once.
        "notes": list(dict.fromkeys((*s.notes, *a.notes))),
        # What a browser would not show, for inspection.
        "comments": len(f.comments),
        "retry": f.retry,
        "unterminated": f.unterminated is not None,
        "truncated": s.truncated,
        "content_encoding": s.response_header("content-encoding"),
        "bytes": len(s.body),
        "decoded_bytes": f.decoded_bytes,
        # The dialect's own facts, under one key so that none can shadow a field above.
        "extra": dict(r.extra),
    }
    if len(a.answer.choices) > 1:
        record["choices"] = [
            _choice(ch, r.finish_reasons.get(i)) for i, ch in a.answer.choices.items()
        ]
    if len(first.reasoning_parts) > 1:
        record["reasoning_parts"] = list(first.reasoning_parts.values())
    cleaned: dict[str, Any] = clean(record)
    return cleaned


def frame_records(a: Analysis) -> list[dict[str, Any]]:
    """Every event with its offset from the request start (``None`` without timing)."""
    origin = a.stream.request_start if a.cadence.timing == "per-chunk" else None
    return [
        {
            "t_ms": None if origin is None else _ms((e.t - origin) * 1e3),
            "event": e.event,
            "id": e.id,
            "data": e.data,
        }
        for e in a.decoded.events
    ]


def document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": VERSION, "streams": records}


def dumps(value: Any) -> str:
    """A JSON document as we write every one: indented, non-ASCII as itself, strict (no NaN)."""
    return json.dumps(value, indent=INDENT, ensure_ascii=False, allow_nan=False)


class ListWriter:
    """A JSON document whose last value is a list, written one item at a time: the text is
    :func:`dumps` of the whole document and a newline, but only one item is in memory.

    ``document`` is the document with that list empty, as the last value at each level
    (``{"version": 1, "streams": []}``). Nothing is written before the first item (or
    :meth:`close`, which writes an empty list).
    """

    def __init__(self, write: Callable[[str], None], document: dict[str, Any]) -> None:
        text = dumps(document)
        head, found, tail = text.rpartition("[]")
        if not found or tail.strip("}\n "):
            raise ValueError("the document's last value must be an empty list")
        depth = tail.count("}")  # the list's own level: its items are one deeper
        self._write = write
        self._head, self._tail = head, tail + "\n"
        self._indent = "\n" + " " * INDENT * (depth + 1)
        self._end = "\n" + " " * INDENT * depth + "]"
        self.items = 0

    def add(self, item: Any) -> None:
        """Write one item (its JSON holds no line break but those of the indentation)."""
        text = dumps(item).replace("\n", self._indent)
        self._write((self._head + "[" if not self.items else ",") + self._indent + text)
        self.items += 1

    def close(self) -> None:
        self._write((self._head + "[]" if not self.items else self._end) + self._tail)


def _tool_calls(choice: Choice) -> list[dict[str, str]]:
    return [{"name": t.name, "arguments": t.arguments} for t in choice.tool_calls.values()]


def _choice(choice: Choice, finish_reason: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": choice.index, "text": choice.text}
    if choice.reasoning is not None:
        out["reasoning"] = choice.reasoning
    if choice.tool_calls:
        out["tool_calls"] = _tool_calls(choice)
    if choice.refusal is not None:
        out["refusal"] = choice.refusal
    out["finish_reason"] = finish_reason
    return out


def _ms(v: float | None) -> float | None:
    return None if v is None or not math.isfinite(v) else round(v, 3)


def clean(value: Any) -> Any:
    """``value`` with every string in it valid Unicode (see :func:`as_text`), which UTF-8
    output can hold: a JSON escape of a lone surrogate in an event (``"\\ud800"``) gives
    a dialect's text one. For the few levels of a record or a HAR entry (it recurses)."""
    if isinstance(value, str):
        return as_text(value)
    if isinstance(value, dict):
        return {
            as_text(k) if isinstance(k, str) else k: v if type(v) in _KEPT else clean(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [v if type(v) in _KEPT else clean(v) for v in value]
    return value


_KEPT = frozenset({type(None), bool, int, float})
"""Types :func:`clean` gives back as they are: tested before recursing, as most values are."""


def finite(v: float | None) -> float | None:
    """``v``, or ``None`` when it is not finite: JSON has no NaN or infinity, and what we
    write is strict (``allow_nan=False``)."""
    return v if v is not None and math.isfinite(v) else None
