"""The message shapes the providers' requests share, for each dialect's ``prompt()``."""

from __future__ import annotations

__all__ = ["content_text", "role"]


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
