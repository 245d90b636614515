"""``loads`` must answer exactly as ``json.loads`` does, though msgspec answers first."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_inspect.dialects._json import loads


def _outcome(fn: Any, text: str) -> tuple[str, str]:
    """A value with its types spelled out (1 vs 1.0 vs True, -0.0, NaN), or the error's kind."""
    try:
        value = fn(text)
    except RecursionError:
        return ("error", "RecursionError")
    except ValueError:
        return ("error", "ValueError")
    return ("value", _typed(value))


def _typed(value: Any) -> str:
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"float:{value!r}:{math.copysign(1, value)}"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k!r}:{_typed(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_typed(v) for v in value) + "]"
    return f"{type(value).__name__}:{value!r}"


def same_as_json(text: str) -> None:
    assert _outcome(loads, text) == _outcome(json.loads, text), text


EDGES = [
    "\ufeff{}",  # a BOM: json refuses
    "1" + "0" * 30,  # bigger than any machine int: json keeps an int
    "-" + "9" * 25,
    "18446744073709551616",
    "18446744073709551615",
    "-9223372036854775809",
    "1e400",  # json: inf
    "-1e400",
    "1.7976931348623157e309",
    "1e-400",
    "NaN",
    "-Infinity",
    '"\\ud800"',  # a lone surrogate escape: json keeps it
    '"\\udc00\\ud800"',
    '"\ud800"',  # a lone surrogate in the text itself
    '{"\\ud83d\\ude00": 1}',
    '{"a": 1, "a": 2}',  # the last one wins
    "-0",
    "-0.0",
    "0.1",
    "1E5",
    "1.0000000000000000000000000001",
    "123456789012345678901234567890.5",
    " {} ",
    "{}\n",
    "\t[]\r",
    "\u00a0[]",
    "[1,]",
    '"\x01"',
    '"\x7f"',
    '"\\u0000"',
    '"\u2028"',
    "00",
    "01",
    ".5",
    "1.",
    "true ",
    "nul",
    '{"a":1}x',
    "1 2",
    "",
    "[" * 300 + "]" * 300,
    "[" * 100_000 + "]" * 100_000,  # too deep for both
]


@pytest.mark.parametrize("text", EDGES, ids=range(len(EDGES)))
def test_edge_cases_answer_as_json_does(text: str) -> None:
    same_as_json(text)


def test_the_edges_include_texts_msgspec_reads_differently_or_refuses() -> None:
    """The fallback is really exercised: msgspec alone would differ from json here."""
    import msgspec

    decode = msgspec.json.Decoder().decode
    differ = [t for t in EDGES if _outcome(decode, t) != _outcome(json.loads, t)]
    assert {"1e400", "NaN", '"\\ud800"'} <= set(differ)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=400)
@given(json_values, st.booleans())
def test_any_value_json_writes_reads_back_as_json_reads_it(value: Any, ascii_only: bool) -> None:
    same_as_json(json.dumps(value, ensure_ascii=ascii_only))


@settings(max_examples=400)
@given(st.text(alphabet='{}[]",:0123456789.eE+-tfrunlasNIiy \t\n\\u\ud800é', max_size=30))
def test_any_json_like_text_answers_as_json_does(text: str) -> None:
    same_as_json(text)
