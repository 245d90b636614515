"""Reading JSON values defensively: a stream may send anything, a dialect must not raise."""

from __future__ import annotations

import json
from typing import Any, Final, TypeGuard

import msgspec

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


_fast = msgspec.json.Decoder().decode


def loads(data: str) -> Any:
    """``json.loads(data)``: the same value or the same error (``ValueError``,
    ``RecursionError``). It runs for every event, so it asks msgspec first (a third of
    ``json``'s time per event). msgspec gives the same values wherever it accepts a text
    (ints of any size stay ints, the last of duplicate keys wins); what it refuses and
    ``json`` does not (NaN, ``1e400``, lone surrogates) goes to ``json`` itself, so the
    answer is ``json``'s either way."""
    try:
        return _fast(data)
    except Exception:  # msgspec's errors, UnicodeEncodeError: json decides
        return json.loads(data)


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
