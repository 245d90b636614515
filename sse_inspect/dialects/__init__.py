"""One module per wire dialect: SSE events in, a :class:`~sse_inspect.delta.Reading` out.

Each module has ``NAME``, ``url_matches(url)``, ``shape_matches(events)`` and
``read(events)``. Dialects know no HTTP beyond the URL they may be recognised by.
Detection tries every dialect's URL rule first, then request headers that only one
provider's clients send (for gateways with URLs of their own), then the shape of the first
events, and falls back to ``generic``.
"""

from __future__ import annotations

from collections.abc import Iterable
from types import ModuleType

from ..delta import Reading
from ..sse import Event
from . import generic

DIALECTS: dict[str, ModuleType] = {}

# Request headers that name the API a client is speaking, whatever the URL.
HEADER_HINTS = {
    "anthropic-version": "anthropic",  # every Anthropic SDK request
    "x-goog-api-key": "gemini",
    "x-goog-api-client": "gemini",  # Google's GenAI SDKs
}


def _register() -> None:
    from . import anthropic, chatgpt_web, gemini, openai_chat, openai_responses

    for module in (openai_responses, openai_chat, anthropic, gemini, chatgpt_web, generic):
        DIALECTS[module.NAME] = module


def detect(url: str | None, events: list[Event], header_names: Iterable[str] = ()) -> str:
    """The dialect a stream speaks: by URL, by request header, else by its first events."""
    if not DIALECTS:
        _register()
    if url:
        for name, module in DIALECTS.items():
            if name != generic.NAME and module.url_matches(url):
                return name
    for header in header_names:
        hinted = HEADER_HINTS.get(header.lower())
        if hinted:
            return hinted
    head = events[:20]
    for name, module in DIALECTS.items():
        if name != generic.NAME and module.shape_matches(head):
            return name
    return generic.NAME


def read(dialect: str, events: list[Event]) -> Reading:
    if not DIALECTS:
        _register()
    reading: Reading = DIALECTS[dialect].read(events)
    return reading


def names() -> list[str]:
    if not DIALECTS:
        _register()
    return list(DIALECTS)
