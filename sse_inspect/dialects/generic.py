"""Any event stream: each event with data is one arrival of output."""

from __future__ import annotations

from ..delta import Delta
from ..sse import Event


def deltas(events: list[Event]) -> list[Delta]:
    return [Delta(e.t, i, "data", e.data) for i, e in enumerate(events) if e.data]
