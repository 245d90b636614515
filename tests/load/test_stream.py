"""The Stream model: which responses are event streams, and chunk slicing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sse_inspect.load.stream import Stream
from sse_inspect.sse import is_event_stream

from ..conftest import SHARED

CONTENT_TYPES: list[dict[str, Any]] = json.loads(
    (SHARED / "conformance" / "sse-content-type.json").read_text("utf-8")
)


@pytest.mark.parametrize("case", CONTENT_TYPES, ids=[c["name"] for c in CONTENT_TYPES])
def test_content_type_acceptance_follows_the_spec(case: dict[str, Any]) -> None:
    assert is_event_stream(case["content_type"]) is case["spec_accepts"]


@pytest.mark.parametrize(
    "value", ["TEXT/Event-Stream", " text/event-stream ; charset=utf-8", "text/event-stream"]
)
def test_any_case_and_parameters(value: str) -> None:
    assert is_event_stream(value)


@pytest.mark.parametrize("value", [None, "", "text/plain", "text/event-streams"])
def test_others_are_not(value: str | None) -> None:
    assert not is_event_stream(value)


def _stream(body: bytes, chunks: tuple[tuple[float, int], ...] | None) -> Stream:
    return Stream(
        source="x",
        flow_id="1",
        method="GET",
        url="http://h/",
        request_headers=(),
        request_body=b"",
        status=200,
        response_headers=(("Content-Type", "text/event-stream"), ("X-A", "1"), ("x-a", "2")),
        body=body,
        chunks=chunks,
        request_start=10.0,
        response_start=10.1,
        response_end=11.0,
        complete=True,
    )


def test_timed_chunks_slice_the_body_in_order() -> None:
    s = _stream(b"abcdef", ((10.2, 1), (10.5, 3), (10.9, 2)))
    assert list(s.timed_chunks()) == [(10.2, b"a"), (10.5, b"bcd"), (10.9, b"ef")]
    assert s.timing == "per-chunk"


def test_without_chunks_the_body_is_one_chunk_at_the_end() -> None:
    s = _stream(b"abc", None)
    assert list(s.timed_chunks()) == [(11.0, b"abc")]
    assert s.timing == "none"


def test_response_header_lookup_is_case_insensitive_and_joins_repeats() -> None:
    s = _stream(b"", None)
    assert s.response_header("content-type") == "text/event-stream"
    assert s.response_header("X-a") == "1, 2"
    assert s.response_header("missing") is None
