"""Did a stream's own end marker arrive? The capture addon's cheap answer, without dialects.

A client may hang up the moment the end marker arrives (the openai SDK closes after
``data: [DONE]``); the transport then reports an error although nothing was lost. The
dialects know every end marker, but the proxy must not load them, so this module knows
just the markers, and looks only at the last few events:

- ``data: [DONE]`` (OpenAI Chat Completions, ChatGPT's web app, Responses look-alikes);
- a JSON object whose ``type`` (or, without one, the SSE event name) is Anthropic's
  ``message_stop``, a Responses terminal ``response.completed`` / ``response.incomplete``
  / ``response.failed`` / ``response.done``, or ChatGPT's ``message_stream_complete``;
- Gemini: a candidate with a ``finishReason``, or a ``promptFeedback.blockReason``.

JSON is parsed only when a substring test says a marker may be there, so a finished
stream costs a few ``in`` tests and at most a few parses.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..sse import Event

__all__ = ["TAIL", "finished"]

TAIL = 4
"""How many events from the end are looked at: an end marker may be followed by a usage or
metadata event, or by a second marker (``response.completed`` then ``[DONE]``)."""

_DONE = "[DONE]"
_TYPES = frozenset(
    {
        "message_stop",  # Anthropic
        "response.completed",  # OpenAI Responses
        "response.incomplete",
        "response.failed",
        "response.done",
        "message_stream_complete",  # ChatGPT's web app
    }
)
_GEMINI = ("finishReason", "blockReason")


def finished(events: Sequence[Event]) -> bool:
    """Whether one of the last :data:`TAIL` events carries a dialect's end marker."""
    return any(_ends(e) for e in events[-TAIL:])


def _ends(e: Event) -> bool:
    data = e.data
    if _DONE in data and data.strip() == _DONE:
        return True
    typed = e.event in _TYPES or any(t in data for t in _TYPES)
    gemini = any(k in data for k in _GEMINI)
    if not (typed or gemini):
        return False
    obj = _object(data)
    if obj is None:
        return False
    if typed:
        kind = obj.get("type")
        if (kind if isinstance(kind, str) and kind else e.event) in _TYPES:
            return True
    return gemini and _gemini_ends(obj)


def _gemini_ends(obj: dict[str, Any]) -> bool:
    feedback = obj.get("promptFeedback")
    if isinstance(feedback, dict) and _text(feedback.get("blockReason")):
        return True
    candidates = obj.get("candidates")
    return isinstance(candidates, list) and any(
        isinstance(c, dict) and _text(c.get("finishReason")) for c in candidates
    )


def _object(data: str) -> dict[str, Any] | None:
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def _text(value: object) -> bool:
    return isinstance(value, str) and value != ""
