"""Any event stream: each event with data is one arrival of output, its data as text."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..sse import Event
from .base import DATA, Delta, Message, Reading

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "generic"
REQUEST_HEADERS: frozenset[str] = frozenset()


def url_matches(url: str) -> bool:
    return False


def shape_matches(events: Sequence[Event]) -> bool:
    return False


def read(events: Iterable[Event]) -> Reading:
    return Reading(
        deltas=tuple(Delta(e.t, i, DATA, e.data) for i, e in enumerate(events) if e.data)
    )


class _Reader:
    """``read``, one event at a time: each event with data is one delta."""

    __slots__ = ("deltas",)

    def __init__(self) -> None:
        self.deltas: list[Delta] = []

    def event(self, index: int, e: Event) -> None:
        if e.data:
            self.deltas.append(Delta(e.t, index, DATA, e.data))

    def finish(self) -> Reading:
        return Reading(deltas=tuple(self.deltas))


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def prompt(request_body: bytes) -> list[Message]:
    return []  # an unknown API: no known conversation shape
