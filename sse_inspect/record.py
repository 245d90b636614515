"""The JSON record of one analysed stream: Contract 4 of DESIGN.md.

Plain dicts of JSON types, built once; the terminal table renders these same records,
so what a user reads and what a script parses never disagree.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from .analysis import Analysis

VERSION = 1


def stream_record(a: Analysis) -> dict[str, Any]:
    s, c, f = a.stream, a.cadence, a.frames
    return {
        "flow_id": s.flow_id,
        "source": s.source,
        "method": s.method,
        "url": s.url,
        "status": s.status,
        "dialect": a.dialect,
        "events": len(f.events),
        "complete": a.complete,
        "timing": c.timing,
        "ttfb_ms": _ms(c.ttfb_ms),
        "ttf_event_ms": _ms(c.ttf_event_ms),
        "ttft_ms": _ms(c.ttft_ms),
        "duration_ms": _ms(c.duration_ms),
        "output_tokens": c.output_tokens,
        "tokens_source": c.tokens_source,
        "tokens_per_s": None if c.tokens_per_s is None else round(c.tokens_per_s, 2),
        "gap_ms": None if c.gap_ms is None else {k: _ms(v) for k, v in asdict(c.gap_ms).items()},
        "stalls": c.stalls,
        "stall_ms": c.stall_ms,
        # Dialect-specific (filled in by the dialects; a generic stream has no answer).
        "text": None,
        "reasoning": None,
        "tool_calls": None,
        "finish_reason": None,
        "error": s.error or f.error,
        # What a browser would not show, for inspection.
        "comments": len(f.comments),
        "retry": f.retry,
        "unterminated": f.unterminated is not None,
        "truncated": s.truncated,
        "content_encoding": s.response_header("content-encoding"),
        "bytes": len(s.body),
        "decoded_bytes": f.decoded_bytes,
    }


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
        for e in a.frames.events
    ]


def document(records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": VERSION, "streams": records}


def _ms(v: float | None) -> float | None:
    return None if v is None else round(v, 3)
