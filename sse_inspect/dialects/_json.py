"""Reading JSON values defensively: a stream may send anything, a dialect must not raise."""

from __future__ import annotations

import json
from typing import Any, Final, TypeGuard

__all__ = [
    "INVALID",
    "as_dict",
    "as_int",
    "as_str",
    "dicts",
    "is_int",
    "json_object",
    "loads",
    "parse",
]

INVALID: Final = object()
"""What :func:`parse` returns for text that is not JSON (``None`` is JSON's ``null``)."""


_scan = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # what json.loads ends in


def loads(data: str) -> Any:
    """``json.loads(data)``, the same value or the same error (``ValueError``,
    ``RecursionError``), without its steps in Python for the common case: a value that
    starts at the first character and ends at the last. It runs for every event."""
    try:
        value, end = _scan(data, 0)
    except StopIteration:
        return json.loads(data)  # leading whitespace, a BOM, or no JSON: as it says
    if end != len(data):
        return json.loads(data)  # trailing whitespace, or more after the value
    return value


def parse(data: str | bytes) -> Any:
    """The JSON value of ``data``, or :data:`INVALID`."""
    try:
        return loads(data) if isinstance(data, str) else json.loads(data)
    except (ValueError, RecursionError):
        return INVALID


def json_object(data: str | bytes) -> dict[str, Any] | None:
    """``data`` as a JSON object, or ``None`` (not JSON, or not an object)."""
    obj = parse(data) if data else None
    return obj if isinstance(obj, dict) else None


def as_str(value: Any) -> str:
    """A string as itself, anything else as ``""``."""
    return value if isinstance(value, str) else ""


def is_int(value: object) -> TypeGuard[int]:
    """An integer that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def as_int(value: Any, default: int | None = None) -> int | None:
    """An integer (not a bool) as itself, anything else as ``default``."""
    return value if is_int(value) else default


def as_dict(value: object) -> dict[str, Any]:
    """A dict as itself, anything else as ``{}``."""
    return value if isinstance(value, dict) else {}


def dicts(value: object) -> list[dict[str, Any]]:
    """The dicts of a list (anything else: none)."""
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
