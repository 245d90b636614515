"""Reading JSON values defensively: a stream may send anything, a dialect must not raise."""

from __future__ import annotations

import json
from typing import Any


def json_object(data: str) -> dict[str, Any] | None:
    """The event's data as a JSON object, or ``None`` (not JSON, or not an object)."""
    try:
        obj = json.loads(data)
    except (ValueError, RecursionError):
        return None
    return obj if isinstance(obj, dict) else None


def as_str(value: Any) -> str:
    """A string as itself, anything else as ``""``."""
    return value if isinstance(value, str) else ""


def as_int(value: Any, default: int | None = None) -> int | None:
    """An integer (not a bool) as itself, anything else as ``default``."""
    return value if isinstance(value, int) and not isinstance(value, bool) else default
