"""Validate a HAR document against the HAR 1.2 JSON Schema in har12.schema.json.

jsonschema's own "date-time" checker needs an extra package (rfc3339-validator), so this
module registers its own, built on ``datetime.fromisoformat``: a value must parse, have a
time part and carry a UTC offset (the spec's ``YYYY-MM-DDThh:mm:ss.sTZD``). It checks every
field the schema marks ``format: date-time`` (``startedDateTime``, cookie ``expires``), and
the result does not depend on which optional packages happen to be installed.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError

SCHEMA_PATH = Path(__file__).with_name("har12.schema.json")
SCHEMA: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
Draft202012Validator.check_schema(SCHEMA)

_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_iso8601_date_time(value: object) -> bool:
    if not isinstance(value, str):  # formats only constrain strings
        return True
    parsed = datetime.fromisoformat(value)  # raises ValueError if it does not parse
    return value[10:11] in ("T", "t") and parsed.tzinfo is not None


_VALIDATOR = Draft202012Validator(SCHEMA, format_checker=_FORMATS)


def _document_order(error: ValidationError) -> list[tuple[int, str]]:
    return [(p, "") if isinstance(p, int) else (-1, p) for p in error.absolute_path]


def har_errors(doc: object) -> list[str]:
    """Every schema violation in ``doc`` as ``"<JSON path>: <message>"``, in document order."""
    errors = sorted(_VALIDATOR.iter_errors(doc), key=_document_order)
    return [f"{error.json_path}: {error.message}" for error in errors]


def validate_har(doc: dict[str, Any]) -> None:
    """Raise ``AssertionError`` listing every HAR 1.2 violation in ``doc`` (path + message)."""
    errors = har_errors(doc)
    if errors:
        listing = "\n".join(f"  {line}" for line in errors)
        raise AssertionError(f"not a valid HAR 1.2 document ({len(errors)} errors):\n{listing}")
