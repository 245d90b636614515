"""Any event stream: each event with data is one arrival of output, its data as text."""

from __future__ import annotations

from ..delta import DATA, Delta, Reading
from ..sse import Event

NAME = "generic"


def url_matches(url: str) -> bool:
    return False


def shape_matches(events: list[Event]) -> bool:
    return False


def read(events: list[Event]) -> Reading:
    return Reading(deltas=[Delta(e.t, i, DATA, e.data) for i, e in enumerate(events) if e.data])
