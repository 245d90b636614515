"""One module per wire dialect: SSE events in, a :class:`~.base.Reading` out.

Each module is a :class:`~.base.Dialect`: ``NAME``, ``REQUEST_HEADERS``,
``url_matches(url)``, ``shape_matches(events)``, ``read(events)`` and
``prompt(request_body)``. Dialects know no HTTP beyond what detection looks at.
Detection tries every dialect's URL rule first (in registry order, so the more specific
rule wins), then request headers that only one provider's clients send (for gateways with
URLs of their own), then the shape of the first events, and falls back to ``generic``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..sse import Event
from . import anthropic, chatgpt_web, gemini, generic, openai_chat, openai_responses
from .base import Dialect, Message, Reading

__all__ = ["DIALECTS", "Dialect", "detect", "names", "prompt", "read"]

_ORDER: tuple[Dialect, ...] = (
    openai_responses,
    openai_chat,
    anthropic,
    gemini,
    chatgpt_web,
    generic,
)
DIALECTS: dict[str, Dialect] = {d.NAME: d for d in _ORDER}
"""Every dialect by name, in detection order (``generic`` last)."""

_SHAPE_EVENTS = 20


def detect(url: str | None, events: Sequence[Event], header_names: Iterable[str] = ()) -> str:
    """The dialect a stream speaks: by URL, by request header, else by its first events."""
    specific = [d for d in _ORDER if d is not generic]
    if url:
        for d in specific:
            if d.url_matches(url):
                return d.NAME
    for header in header_names:
        lower = header.lower()
        for d in specific:
            if lower in d.REQUEST_HEADERS:
                return d.NAME
    head = events[:_SHAPE_EVENTS]
    for d in specific:
        if d.shape_matches(head):
            return d.NAME
    return generic.NAME


def read(dialect: str, events: Iterable[Event]) -> Reading:
    return DIALECTS[dialect].read(events)


def prompt(dialect: str, request_body: bytes) -> list[Message]:
    return DIALECTS[dialect].prompt(request_body)


def names() -> list[str]:
    return list(DIALECTS)
