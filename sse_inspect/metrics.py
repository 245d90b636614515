"""Cadence: how the output arrived, named as the serving benchmarks name it.

Every figure is computed here and only here; the table, the JSON and (later) the HAR
export all show these numbers. The README's "How the figures are computed" section
describes this module, so change both together.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from .delta import Delta
from .frames import Frames
from .stream import Stream, Timing

DEFAULT_STALL_MS = 1000.0


@dataclass(frozen=True, slots=True)
class Gaps:
    """Gaps between consecutive content events, in ms (vLLM's ITL distribution)."""

    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True, slots=True)
class Cadence:
    timing: Timing
    ttfb_ms: float | None
    """Request start to the first body byte."""
    ttf_event_ms: float | None
    """Request start to the first dispatched event of any kind."""
    ttft_ms: float | None
    """Request start to the first event carrying output."""
    duration_ms: float | None
    """Request start to the last dispatched event."""
    output_tokens: int
    tokens_source: str
    tokens_per_s: float | None
    gap_ms: Gaps | None
    stalls: int | None
    stall_ms: float


def cadence(
    stream: Stream, frames: Frames, deltas: list[Delta], stall_ms: float = DEFAULT_STALL_MS
) -> Cadence:
    arrivals = sorted({d.event: d.t for d in deltas}.values())
    tokens = len(arrivals)
    start = stream.request_start
    if stream.timing == "none" or start is None:
        return Cadence("none", None, None, None, None, tokens, "events", None, None, None, stall_ms)

    def since_start(t: float | None) -> float | None:
        return None if t is None else (t - start) * 1e3

    events = frames.events
    gaps = [(b - a) * 1e3 for a, b in itertools.pairwise(arrivals)]
    span = arrivals[-1] - arrivals[0] if arrivals else 0.0
    return Cadence(
        timing="per-chunk",
        ttfb_ms=since_start(frames.first_byte),
        ttf_event_ms=since_start(events[0].t if events else None),
        ttft_ms=since_start(arrivals[0] if arrivals else None),
        duration_ms=since_start(events[-1].t if events else None),
        output_tokens=tokens,
        tokens_source="events",
        tokens_per_s=tokens / span if span > 0 else None,
        gap_ms=_gaps(gaps),
        stalls=sum(g > stall_ms for g in gaps),
        stall_ms=stall_ms,
    )


def _gaps(gaps: list[float]) -> Gaps | None:
    if not gaps:
        return None
    ordered = sorted(gaps)
    return Gaps(
        percentile(ordered, 50), percentile(ordered, 90), percentile(ordered, 99), ordered[-1]
    )


def percentile(ordered: list[float], q: float) -> float:
    """Linear interpolation between closest ranks: NumPy's default, which vLLM reports."""
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)
