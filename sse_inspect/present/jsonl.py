"""JSON Lines: one line per SSE event, for jq, pandas and DuckDB."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from ..analysis.analysis import Analysis
from ..dialects.base import Delta
from .json import as_text, finite

__all__ = ["jsonl_lines"]


def jsonl_lines(analyses: Iterable[Analysis]) -> Iterator[str]:
    """``{"flow_id", "t", "event", "id", "data", "dialect", "delta"}`` per event, in order.

    ``t`` is seconds since the request start (``null`` without per-chunk timing); ``delta``
    lists what the event carried for the answer (empty for events that carry none).
    """
    for a in analyses:
        carried: dict[int, list[dict[str, Any]]] = {}
        for d in a.reading.deltas:
            carried.setdefault(d.event, []).append(_delta(d))
        origin = a.stream.request_start if a.cadence.timing == "per-chunk" else None
        for i, e in enumerate(a.decoded.events):
            t = None if origin is None else finite(e.t - origin)
            line = {
                "flow_id": a.stream.flow_id,
                "t": None if origin is None or t is None else round(t, 6),
                "event": e.event,
                "id": e.id,
                "data": e.data,
                "dialect": a.dialect,
                "delta": carried.get(i, []),
            }
            yield json.dumps(line, ensure_ascii=False, allow_nan=False)


def _delta(d: Delta) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": d.kind, "text": as_text(d.text)}
    if d.choice:
        out["choice"] = d.choice
    if d.part:
        out["part"] = d.part
    if d.name:
        out["name"] = as_text(d.name)
    if d.replace:
        out["replace"] = True
    return out
