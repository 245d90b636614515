"""Cadence: how the output arrived, named as the serving benchmarks name it.

Every figure is computed here and only here; the report, the JSON and the exports show
these numbers. The README's table of figures describes this module: change both together.

An *arrival* is an event that carried output (a delta of any kind); several deltas in
one event (n > 1 choices, say) arrive once. Times are seconds internally, ms outside.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from math import isfinite

from ..decode.body import DecodedBody
from ..dialects.base import DATA, TEXT, Reading
from ..load.stream import Stream, Timing
from . import tokens as tokenizer

__all__ = ["DEFAULT_STALL_MS", "Cadence", "Gaps", "Stall", "cadence", "percentile"]

DEFAULT_STALL_MS = 1000.0


@dataclass(frozen=True, slots=True)
class Gaps:
    """Gaps between consecutive arrivals, in ms (vLLM's ITL distribution)."""

    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class Stall:
    at_ms: float
    """When the gap began, from the request start."""
    gap_ms: float


@dataclass(frozen=True, slots=True)
class Cadence:
    timing: Timing
    ttfb_ms: float | None
    """Request start to the first body byte; without chunk times, to the response's start
    (its headers: a HAR's blocked + dns + connect + send + wait)."""
    ttf_event_ms: float | None
    """Request start to the first dispatched event of any kind."""
    ttft_ms: float | None
    """Request start to the first event carrying output (text, reasoning, tool arguments)."""
    ttft_answer_ms: float | None
    """Request start to the first visible answer text."""
    duration_ms: float | None
    """Request start to the last dispatched event; without chunk times, to the response's
    end (a HAR's ``time``)."""
    output_tokens: int
    tokens_source: str
    """``usage`` (the server said so), ``tokenizer`` (counted offline) or ``events``."""
    tokens_per_s: float | None
    itl_ms: float | None
    tpot_ms: float | None
    gap_ms: Gaps | None
    stalls: list[Stall] | None
    stall_ms: float
    arrivals_ms: list[float] | None
    """Every arrival, from the request start: the raw series behind the figures."""


def cadence(
    stream: Stream, body: DecodedBody, reading: Reading, stall_ms: float = DEFAULT_STALL_MS
) -> Cadence:
    # Loaders give only finite times (load/checks.py); a Stream made by hand may not.
    arrivals = sorted(t for t in {d.event: d.t for d in reading.deltas}.values() if isfinite(t))
    tokens, source = _output_tokens(reading, len(arrivals))
    start = (
        stream.request_start
        if stream.request_start is not None and isfinite(stream.request_start)
        else None
    )

    def since(t: float | None) -> float | None:
        if t is None or start is None or not isfinite(t):
            return None
        return (t - start) * 1e3

    if stream.timing == "none" or start is None:
        # No chunk times, so no event times: only the exchange's own timestamps, when the
        # capture has them (a HAR's timings and time, a plain mitmproxy flow's response).
        return Cadence(
            "none", since(stream.response_start), None, None, None, since(stream.response_end),
            tokens, source, None, None, None, None, None, stall_ms, None,
        )  # fmt: skip

    events = body.events
    first_text = next((d.t for d in reading.deltas if d.kind == TEXT), None)
    gaps = [(b - a) * 1e3 for a, b in itertools.pairwise(arrivals)]
    span = arrivals[-1] - arrivals[0] if arrivals else 0.0
    ttft = since(arrivals[0] if arrivals else None)
    duration = since(events[-1].t if events else None)
    per_token = tokens - 1 if tokens > 1 else None
    return Cadence(
        timing="per-chunk",
        ttfb_ms=since(body.first_byte),
        ttf_event_ms=since(events[0].t if events else None),
        ttft_ms=ttft,
        ttft_answer_ms=since(first_text),
        duration_ms=duration,
        output_tokens=tokens,
        tokens_source=source,
        tokens_per_s=tokens / span if span > 0 else None,
        itl_ms=span * 1e3 / per_token if per_token and span > 0 else None,
        tpot_ms=(duration - ttft) / per_token
        if per_token and duration is not None and ttft is not None
        else None,
        gap_ms=_gaps(gaps),
        stalls=[
            Stall((a - start) * 1e3, g)
            for a, g in zip(arrivals, gaps, strict=False)
            if g > stall_ms
        ],
        stall_ms=stall_ms,
        arrivals_ms=[(a - start) * 1e3 for a in arrivals],
    )


def _output_tokens(reading: Reading, arrivals: int) -> tuple[int, str]:
    """The server's count, else an offline tokenizer's (not for generic data), else events."""
    if reading.output_tokens is not None:
        return reading.output_tokens, "usage"
    output = [d.text for d in reading.deltas if d.kind != DATA]
    counted = tokenizer.count(output) if output else None
    if counted is not None:
        return counted, "tokenizer"
    return arrivals, "events"


def _gaps(gaps: list[float]) -> Gaps | None:
    if not gaps:
        return None
    ordered = sorted(gaps)
    return Gaps(
        percentile(ordered, 50), percentile(ordered, 90), percentile(ordered, 99), ordered[-1]
    )


def percentile(ordered: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of values already sorted, not empty, by linear
    interpolation between closest ranks: NumPy's default, which vLLM reports. One
    definition for a stream's gaps and for figures across streams (``stats``)."""
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
