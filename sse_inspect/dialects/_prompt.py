"""The message shapes the providers' requests share, for each dialect's ``prompt()``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ._json import json_object
from .base import Message

__all__ = ["content_text", "conversation", "role"]


def conversation(
    request_body: bytes, messages: Callable[[dict[str, Any]], Iterable[Message]]
) -> list[Message]:
    """The messages a request body (a JSON object) holds, as ``messages`` reads them, the
    empty ones left out; ``[]`` for a body that is not a JSON object."""
    body = json_object(request_body)
    if body is None:
        return []
    return [(who, text) for who, text in messages(body) if text]


def content_text(content: object) -> str:
    """A string as it is; a list of parts as their texts, one paragraph each."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n\n".join(t for t in map(_part_text, content) if t)
    return ""


def role(value: object) -> str:
    return value if isinstance(value, str) and value else "unknown"


def _part_text(part: object) -> str:
    """A part's ``text``; a part without one (an image, a tool result) as ``[its type]``."""
    if isinstance(part, str):
        return part
    if not isinstance(part, dict):
        return ""
    text = part.get("text")
    if isinstance(text, str):
        return text
    kind = part.get("type") or part.get("content_type") or next(iter(part), None)
    return f"[{kind}]" if isinstance(kind, str) else ""
