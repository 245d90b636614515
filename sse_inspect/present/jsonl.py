"""JSON Lines: one line per SSE event, for jq, pandas and DuckDB."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from ..analysis.analysis import Analysis
from ..dialects.base import Delta
from ..load.stream import Stream
from .json import as_text, finite

__all__ = ["JsonlWriter", "jsonl_lines"]

BATCH_CHARS = 1 << 20
"""Lines are handed to ``write`` in batches of about this size."""


class JsonlWriter:
    """The lines of :func:`jsonl_lines`, each with its newline, written stream by stream as
    the analyses come. A :class:`Stream` that was not analysed (not an event stream) has no
    events, so nothing to write."""

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self.entries = 0

    def add(self, item: Analysis | Stream) -> None:
        if not isinstance(item, Analysis):
            return
        batch: list[str] = []
        size = 0
        for line in jsonl_lines((item,)):
            batch.append(line + "\n")
            size += len(line) + 1
            if size >= BATCH_CHARS:
                self._write("".join(batch))
                batch, size = [], 0
        if batch:
            self._write("".join(batch))
        self.entries += 1

    def close(self) -> None:
        pass


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
