"""The Anthropic Messages dialect against the SDK's own streams and hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sse_inspect import dialects
from sse_inspect.analysis.answer import rebuild
from sse_inspect.dialects import anthropic
from sse_inspect.dialects.base import REASONING, TEXT, TOOL, Delta, Reading
from sse_inspect.sse import Event, SSEDecoder

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = [
    entry
    for entry in json.loads((STREAMS / "manifest.json").read_text(encoding="utf-8"))
    if entry["dialect"] == "anthropic"
]


def _decode(path: Path) -> list[Event]:
    dec = SSEDecoder()
    events = dec.feed(path.read_bytes(), 0.0)
    events += dec.close(0.0)
    return events


def _answer(reading: Reading) -> dict[str, Any]:
    first = rebuild(reading.deltas).first
    return {
        "text": first.text,
        "reasoning": first.reasoning,
        "tool_calls": [
            {"name": c.name, "arguments": c.arguments} for c in first.tool_calls.values()
        ],
        "finish_reason": reading.finish_reason,
        "output_tokens": reading.output_tokens,
    }


def _ev(data: dict[str, Any] | str, t: float = 0.0) -> Event:
    """An event as the API sends it: named after its data's type."""
    if isinstance(data, str):
        return Event("message", data, "", t)
    return Event(data.get("type", "message"), json.dumps(data), "", t)


def _text(index: int, text: str, t: float = 0.0) -> Event:
    delta = {"type": "text_delta", "text": text}
    return _ev({"type": "content_block_delta", "index": index, "delta": delta}, t)


def _start(index: int, block: dict[str, Any], t: float = 0.0) -> Event:
    return _ev({"type": "content_block_start", "index": index, "content_block": block}, t)


def _delta(index: int, delta: dict[str, Any], t: float = 0.0) -> Event:
    return _ev({"type": "content_block_delta", "index": index, "delta": delta}, t)


def _no_empty_deltas(deltas: list[Delta]) -> None:
    assert all(d.text or d.name for d in deltas), deltas


def test_the_manifest_has_the_four_streams() -> None:
    assert len(MANIFEST) == 4


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_manifest_stream(entry: dict[str, Any]) -> None:
    events = _decode(STREAMS / entry["file"])
    expected = entry["expected"]
    assert len(events) == expected["events"]
    assert dialects.detect(None, events) == anthropic.NAME
    reading = anthropic.read(events)
    assert _answer(reading) == {k: expected[k] for k in _answer(reading)}
    _no_empty_deltas(reading.deltas)
    assert reading.error is None and list(reading.notes) == []


def test_basic_stream_in_detail() -> None:
    """Model and input tokens from message_start; message_stop is never dispatched there."""
    events = _decode(STREAMS / "anthropic--basic.sse")
    reading = anthropic.read(events)
    assert reading.model == "claude-3-opus-latest"
    assert reading.input_tokens == 11
    assert not reading.ended  # the file ends without the blank line after message_stop
    assert [(d.event, d.kind, d.text) for d in reading.deltas] == [
        (3, TEXT, "Hello"),
        (4, TEXT, " there"),
        (5, TEXT, "!"),
    ]


def test_message_stop_ends_the_stream() -> None:
    reading = anthropic.read(_decode(STREAMS / "anthropic--recorded-tool-use-padded.sse"))
    assert reading.ended
    assert reading.model == "claude-haiku-4-5-20251001"
    # message_start already says output_tokens 26; only message_delta's count is the answer's
    assert reading.output_tokens == 74


def test_tool_call_is_named_by_its_block_start() -> None:
    events = _decode(STREAMS / "anthropic--tool-use.sse")
    tools = [d for d in anthropic.read(events).deltas if d.kind == TOOL]
    assert tools[0] == Delta(0.0, 6, TOOL, "", part=1, name="get_weather")
    assert [d.name for d in tools[1:]] == [None] * 4
    assert {d.part for d in tools} == {1}  # part = the block index
    assert [d.event for d in tools] == [6, 8, 9, 10, 11]  # the empty partial_json (7) is not


def test_thinking_is_reasoning_per_block_and_signature_is_not_content() -> None:
    events = _decode(STREAMS / "anthropic--thinking-refusal.sse")
    deltas = anthropic.read(events).deltas
    assert [(d.kind, d.part, d.event) for d in deltas] == [
        (REASONING, 0, 3),
        (REASONING, 0, 4),
        (REASONING, 0, 5),
        (TEXT, 0, 10),
    ]  # the empty thinking_delta (6) and the signature_delta (7) made nothing


def test_deltas_carry_the_event_time_and_index() -> None:
    events = [
        _ev({"type": "message_start", "message": {"model": "m", "usage": {"input_tokens": 3}}}),
        _start(0, {"type": "text", "text": ""}, 0.1),
        _text(0, "a", 0.25),
        _ev({"type": "ping"}, 0.3),
        _text(0, "b", 0.5),
    ]
    assert anthropic.read(events).deltas == (Delta(0.25, 2, TEXT, "a"), Delta(0.5, 4, TEXT, "b"))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.anthropic.com/v1/messages",
        "https://api.anthropic.com/v1/messages?beta=true",
        "http://127.0.0.1:4000/v1/messages",
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/"
        "publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict",
        "https://bedrock-runtime.us-east-1.amazonaws.com/model/"
        "anthropic.claude-3-5-sonnet-20240620-v1:0/invoke-with-response-stream",
    ],
)
def test_url_matches(url: str) -> None:
    assert anthropic.url_matches(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        "https://api.openai.com/v1/threads/thread_1/messages",
        "https://api.openai.com/v1/responses",
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.0-flash:"
        "streamGenerateContent?alt=sse",
        "https://chatgpt.com/backend-api/conversation",
        "https://example.com/search?q=anthropic",
        "https://example.com/v1/messages/count_tokens",
    ],
)
def test_url_does_not_match(url: str) -> None:
    assert not anthropic.url_matches(url)


def test_shape_without_event_names() -> None:
    """Some proxies drop the ``event:`` lines; the data's ``type`` still says it all."""
    events = [Event("message", e.data, "", 0.0) for e in _decode(STREAMS / "anthropic--basic.sse")]
    assert anthropic.shape_matches(events[:20])
    assert _answer(anthropic.read(events))["text"] == "Hello there!"


@pytest.mark.parametrize(
    "file", ["gemini--basic-reply-short.sse", "openai-chat--parallel-tool-calls.sse"]
)
def test_shape_rejects_other_dialects(file: str) -> None:
    assert not anthropic.shape_matches(_decode(STREAMS / file)[:20])


def test_shape_needs_more_than_a_ping_or_an_error() -> None:
    assert not anthropic.shape_matches([_ev({"type": "ping"}), _ev("not json")])
    assert not anthropic.shape_matches(
        [_ev({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})]
    )


def test_not_content() -> None:
    events = [
        _ev({"type": "message_start", "message": {"model": "m", "usage": {"output_tokens": 1}}}),
        _ev({"type": "ping"}),
        _start(0, {"type": "thinking", "thinking": "", "signature": ""}),
        _delta(0, {"type": "thinking_delta", "thinking": ""}),
        _delta(0, {"type": "signature_delta", "signature": "c2ln"}),
        _ev({"type": "content_block_stop", "index": 0}),
        _start(1, {"type": "text", "text": ""}),
        _delta(1, {"type": "text_delta", "text": ""}),
        _delta(1, {"type": "citations_delta", "citation": {"type": "char_location"}}),
        _ev({"type": "content_block_stop", "index": 1}),
        _ev({"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {}}),
        _ev({"type": "message_stop"}),
    ]
    reading = anthropic.read(events)
    assert list(reading.deltas) == []
    assert reading.finish_reason == "end_turn"
    assert reading.output_tokens is None  # message_start's running count is not the answer's
    assert reading.ended
    assert list(reading.notes) == []


def test_a_tool_call_without_input_is_still_a_call() -> None:
    events = [
        _start(0, {"type": "tool_use", "id": "toolu_1", "name": "now", "input": {}}, 1.0),
        _delta(0, {"type": "input_json_delta", "partial_json": ""}, 2.0),
        _ev({"type": "content_block_stop", "index": 0}),
    ]
    reading = anthropic.read(events)
    assert list(reading.deltas) == [Delta(1.0, 0, TOOL, "", part=0, name="now")]
    assert _answer(reading)["tool_calls"] == [{"name": "now", "arguments": ""}]


def test_interleaved_blocks_keep_their_order() -> None:
    events = [
        _start(0, {"type": "thinking", "thinking": ""}),
        _delta(0, {"type": "thinking_delta", "thinking": "plan. "}),
        _start(1, {"type": "tool_use", "name": "search"}),
        _delta(1, {"type": "input_json_delta", "partial_json": '{"q":'}),
        _delta(1, {"type": "input_json_delta", "partial_json": '"x"}'}),
        _start(2, {"type": "thinking", "thinking": ""}),
        _delta(2, {"type": "thinking_delta", "thinking": "again."}),
        _start(3, {"type": "server_tool_use", "name": "web_search"}),
        _delta(3, {"type": "input_json_delta", "partial_json": '{"query":"y"}'}),
        _start(4, {"type": "text", "text": ""}),
        _text(4, "done"),
    ]
    answer = rebuild(anthropic.read(events).deltas).first
    assert answer.text == "done"
    assert answer.reasoning_parts == {0: "plan. ", 2: "again."}
    assert [(c.name, c.arguments) for c in answer.tool_calls.values()] == [
        ("search", '{"q":"x"}'),
        ("web_search", '{"query":"y"}'),
    ]


def test_mid_stream_error_keeps_what_came_before() -> None:
    events = _decode(STREAMS / "anthropic--basic.sse")[:4]  # through the "Hello" delta
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    reading = anthropic.read([*events, Event("error", json.dumps(error), "", 1.0)])
    assert reading.error == "Overloaded"
    assert reading.extra["error_type"] == "overloaded_error"
    assert _answer(reading)["text"] == "Hello"
    assert reading.finish_reason is None and not reading.ended
    assert any("Overloaded" in note for note in reading.notes)


def test_cut_stream_gives_the_partial_answer() -> None:
    events = _decode(STREAMS / "anthropic--tool-use.sse")[:10]  # cut inside the tool input
    reading = anthropic.read(events)
    assert _answer(reading) == {
        "text": "I'll check the current weather in Paris for you.",
        "reasoning": None,
        "tool_calls": [{"name": "get_weather", "arguments": '{"location": "P'}],
        "finish_reason": None,
        "output_tokens": None,
    }
    assert not reading.ended and reading.error is None


def test_odd_input_never_raises() -> None:
    events = [
        _ev("not json"),
        _ev("[1, 2]"),
        _ev('{"type": 5}'),
        _ev({"type": "message_start", "message": "nope"}),
        _ev({"type": "message_start", "message": {"model": 3, "usage": {"input_tokens": "x"}}}),
        _ev({"type": "content_block_start"}),
        _ev({"type": "content_block_start", "index": "0", "content_block": {}}),
        _ev({"type": "content_block_delta", "index": 0}),
        _delta(0, {"type": "text_delta", "text": None}),
        _delta(0, {"type": "text_delta"}),
        _delta(0, {"type": "weird_delta", "text": "x"}),
        _delta(7, {"type": "input_json_delta", "partial_json": "{}"}),
        _ev({"type": "message_delta", "delta": None, "usage": {"output_tokens": True}}),
        _ev({"type": "message_delta", "delta": {"stop_reason": 1}}),
        _ev({"type": "error"}),
        _ev({"type": "something_new"}),
        _text(0, "still read"),
    ]
    reading = anthropic.read(events)
    answer = _answer(reading)
    assert answer["text"] == "still read"
    assert answer["tool_calls"] == [{"name": "", "arguments": "{}"}]
    assert answer["finish_reason"] is None and answer["output_tokens"] is None
    assert reading.model is None and reading.input_tokens is None
    assert reading.error == "error event without a message"
    assert "Skipped 2 events with data that is not a JSON object." in reading.notes
    assert "Skipped 1 event with delta type 'weird_delta'." in reading.notes
    assert "Skipped 1 event with event type 'something_new'." in reading.notes
    assert "Tool arguments for block 7, which never started." in reading.notes
