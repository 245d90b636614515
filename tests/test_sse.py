"""The decoder against the 148 conformance cases, chunking-independence and hostile bytes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_inspect.sse import Event, SSEDecoder

from .conftest import SHARED

CASES: list[dict[str, Any]] = json.loads(
    (SHARED / "conformance" / "sse-conformance.json").read_text(encoding="utf-8")
)


def _chunks(case: dict[str, Any]) -> list[bytes]:
    if case["chunk_format"] == "hex":
        return [bytes.fromhex(c) for c in case["chunks"]]
    return [c.encode("utf-8") for c in case["chunks"]]


def _decode(chunks: list[bytes]) -> tuple[SSEDecoder, list[Event]]:
    dec = SSEDecoder()
    events: list[Event] = []
    for i, chunk in enumerate(chunks):
        events += dec.feed(chunk, float(i))
    events += dec.close(float(len(chunks)))
    return dec, events


def test_all_cases_present() -> None:
    assert len(CASES) == 148


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_conformance(case: dict[str, Any]) -> None:
    dec, events = _decode(_chunks(case))
    assert len(events) == len(case["expected"])
    for got, want in zip(events, case["expected"], strict=True):
        assert {"event": got.event, "data": got.data, "id": got.id} == {
            k: want[k] for k in ("event", "data", "id")
        }
        if "retry" in want:
            assert got.retry == want["retry"]
    # `t` is the index of the chunk that completed the event.
    assert [int(e.t) for e in events] == case["dispatch_chunk_index"]
    assert dec.retries == case["expected_retry_values"]
    assert dec.retry == (case["expected_retry_values"] or [None])[-1]
    if "expected_comments" in case:
        assert [c.text for c in dec.comments] == case["expected_comments"]


def _split(body: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(body) + 1) for c in cuts})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True) if b > a]


# Bytes biased towards the characters that matter to the parser, plus arbitrary ones.
_SSE_BYTES = st.lists(
    st.sampled_from(
        [
            *(b"data:", b"data: ", b"event:", b"id:", b"retry:", b":", b" ", b"\r", b"\n"),
            *(b"\r\n", b"x", b"1", b"\x00", b"\xef\xbb\xbf", b"\xc3\xa9", b"\xf0\x9f"),
            *(b"\x98\x80", b"\xff"),
        ]
    )
    | st.binary(max_size=8),
    max_size=60,
).map(b"".join)


def _summary(chunks: list[bytes]) -> tuple[object, ...]:
    dec, events = _decode(chunks)
    return (
        [(e.event, e.data, e.id) for e in events],
        dec.retries,
        [(c.text, c.after) for c in dec.comments],
        dec.unterminated[:3] if dec.unterminated else None,
    )


@given(_SSE_BYTES, st.lists(st.integers(min_value=0), max_size=20))
def test_any_rechunking_gives_the_same_result(body: bytes, cuts: list[int]) -> None:
    assert _summary(_split(body, cuts)) == _summary([body])


@given(_SSE_BYTES)
def test_one_byte_at_a_time_gives_the_same_result(body: bytes) -> None:
    assert _summary([body[i : i + 1] for i in range(len(body))]) == _summary([body])


@given(st.lists(st.binary(max_size=64), max_size=20))
def test_never_raises_on_arbitrary_bytes(chunks: list[bytes]) -> None:
    _, events = _decode(chunks)
    for e in events:
        e.data.encode("utf-8")  # invalid UTF-8 became U+FFFD, never surrogates


def test_invalid_utf8_is_replaced_as_browsers_do() -> None:
    _, events = _decode([b"data: caf\xc3", b"\xa9 \xff!\n\n"])
    assert events[0].data == "café \ufffd!"


def test_a_cr_at_the_end_of_a_chunk_then_lf_is_one_line_end() -> None:
    _, events = _decode([b"data: a\r", b"\n\r", b"\ndata: b\r\r"])
    assert [e.data for e in events] == ["a", "b"]


def test_dropped_parts_are_exposed_without_changing_the_events() -> None:
    dec, events = _decode([b": ping\n\ndata: one\nretry: 3000\n\n: keep\nretry: x\n", b"data: cut"])
    assert [e.data for e in events] == ["one"]
    assert [(c.text, c.after) for c in dec.comments] == [(" ping", 0), (" keep", 1)]
    assert dec.retry == 3000 and dec.retries == [3000]
    assert dec.unterminated == Event("message", "cut", "", 2.0)


def test_unterminated_event_keeps_its_fields() -> None:
    dec, events = _decode([b"event: delta\nid: 7\ndata: a\ndata: b\n"])
    assert events == []
    assert dec.unterminated == Event("delta", "a\nb", "7", 1.0)


def test_nothing_unterminated_after_a_clean_end() -> None:
    dec, _ = _decode([b"data: a\n\nid: 3\n"])
    assert dec.unterminated is None
