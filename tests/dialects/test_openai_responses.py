"""The OpenAI Responses dialect on the manifest's real streams and on small built streams."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sse_inspect import dialects
from sse_inspect.analysis.answer import rebuild
from sse_inspect.dialects import openai_responses as responses
from sse_inspect.dialects.base import REASONING, TEXT, TOOL, Reading
from sse_inspect.dialects.openai_responses import NAME
from sse_inspect.sse import Event, SSEDecoder

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = [
    m for m in json.loads((STREAMS / "manifest.json").read_text("utf-8")) if m["dialect"] == NAME
]


def _decode(file: str) -> list[Event]:
    dec = SSEDecoder()
    events = dec.feed((STREAMS / file).read_bytes(), 0.0)
    return events + dec.close(0.0)


def _ev(obj: dict[str, Any] | str, t: float = 0.0, name: str | None = None) -> Event:
    """An event as the API sends it: named after its JSON ``type``."""
    if isinstance(obj, str):
        return Event(name or "message", obj, "", t)
    return Event(name or obj.get("type", "message"), json.dumps(obj), "", t)


def _text(delta: str, item: str = "msg_1", index: int = 0, content: int = 0) -> dict[str, Any]:
    return {
        "type": "response.output_text.delta",
        "item_id": item,
        "output_index": index,
        "content_index": content,
        "delta": delta,
    }


def _call_added(item: str, name: str, index: int) -> dict[str, Any]:
    return {
        "type": "response.output_item.added",
        "output_index": index,
        "item": {"id": item, "type": "function_call", "name": name, "arguments": ""},
    }


def _args(delta: str, item: str, index: int) -> dict[str, Any]:
    return {
        "type": "response.function_call_arguments.delta",
        "item_id": item,
        "output_index": index,
        "delta": delta,
    }


def _completed(status: str = "completed", **response: Any) -> dict[str, Any]:
    return {
        "type": f"response.{status}",
        "response": {"status": status, "model": "gpt-test", **response},
    }


def _read(objs: list[dict[str, Any] | str]) -> Reading:
    return responses.read([_ev(o, t=float(i)) for i, o in enumerate(objs)])


# -- the manifest's real streams --------------------------------------------------------------


def test_the_manifest_has_streams_of_this_dialect() -> None:
    assert len(MANIFEST) >= 3


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_manifest_stream_rebuilds_as_expected(entry: dict[str, Any]) -> None:
    events = _decode(entry["file"])
    expected = entry["expected"]
    assert len(events) == expected["events"]
    assert dialects.detect(None, events) == NAME
    reading = responses.read(events)
    answer = rebuild(reading.deltas).first
    assert answer.text == expected["text"]
    assert answer.reasoning == expected["reasoning"]
    calls = [{"name": c.name, "arguments": c.arguments} for c in answer.tool_calls.values()]
    assert calls == expected["tool_calls"]
    assert reading.finish_reason == expected["finish_reason"]
    assert reading.output_tokens == expected["output_tokens"]
    if "reasoning_parts" in expected:
        assert list(answer.reasoning_parts.values()) == expected["reasoning_parts"]
        assert reading.extra["reasoning_parts"] == expected["reasoning_parts"]
    else:
        assert "reasoning_parts" not in reading.extra
    assert reading.ended is True
    assert reading.error is None
    assert list(reading.notes) == []
    assert "text_mismatch" not in reading.extra
    assert reading.model == json.loads(events[0].data)["response"]["model"]
    # every delta has content (or names a call) and points at a real event of its time
    for d in reading.deltas:
        assert d.text or d.name
        assert events[d.event].t == d.t
        assert d.kind in (TEXT, REASONING, TOOL)


def test_every_delta_event_is_one_delta_and_nothing_else_is() -> None:
    events = _decode("openai-responses--reasoning-summary.sse")
    reading = responses.read(events)
    wanted = [
        i
        for i, e in enumerate(events)
        if e.event.endswith(".delta") and json.loads(e.data)["delta"]
    ]
    assert [d.event for d in reading.deltas] == wanted
    assert len(wanted) == 1265 + 466
    assert reading.input_tokens == 45
    assert reading.extra["reasoning_tokens"] == 2240
    assert reading.model == "o3-mini-2025-01-31"
    parts = {d.part for d in reading.deltas if d.kind == REASONING}
    assert parts == {0, 1, 2, 3}


def test_function_call_name_is_on_the_first_fragment_only() -> None:
    reading = responses.read(_decode("openai-responses--function-call.sse"))
    tools = [d for d in reading.deltas if d.kind == TOOL]
    assert len(tools) == 8
    assert tools[0].name == "get_weather_at_location"
    assert all(d.name is None for d in tools[1:])
    assert {d.part for d in tools} == {0}
    assert reading.input_tokens == 74


def test_a_cut_stream_gives_the_partial_answer() -> None:
    events = _decode("openai-responses--reasoning-summary.sse")
    entry = next(m for m in MANIFEST if m["file"] == "openai-responses--reasoning-summary.sse")
    first_text = next(i for i, e in enumerate(events) if e.event == "response.output_text.delta")
    cut = events[: first_text + 100]
    reading = responses.read(cut)
    answer = rebuild(reading.deltas).first
    assert reading.ended is False
    assert reading.finish_reason is None
    assert reading.output_tokens is None
    assert answer.reasoning == entry["expected"]["reasoning"]  # all of it came before the text
    assert len(answer.text) > 0
    assert entry["expected"]["text"].startswith(answer.text)
    assert len(answer.text) < len(entry["expected"]["text"])
    assert len(reading.deltas) == 466 + 100


def test_a_cut_reasoning_keeps_the_parts_so_far() -> None:
    events = _decode("openai-responses--reasoning-summary.sse")
    entry = next(m for m in MANIFEST if m["file"] == "openai-responses--reasoning-summary.sse")
    parts = entry["expected"]["reasoning_parts"]
    second_done = [i for i, e in enumerate(events) if e.event.endswith("summary_text.done")][1]
    reading = responses.read(events[: second_done + 1])
    assert reading.extra["reasoning_parts"] == parts[:2]
    assert rebuild(reading.deltas).first.text == ""
    assert reading.ended is False


# -- detection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/responses",
        "https://api.openai.com/v1/responses?stream=true",
        "https://my-res.openai.azure.com/openai/v1/responses?api-version=preview",
        "https://my-res.openai.azure.com/openai/responses?api-version=2025-04-01-preview",
        "https://api.openai.com/v1/responses/resp_abc123?stream=true&starting_after=4",
        "http://127.0.0.1:8000/v1/responses/",
    ],
)
def test_url_matches_responses_endpoints(url: str) -> None:
    assert responses.url_matches(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        "https://api.anthropic.com/v1/messages",
        "https://api.openai.com/v1/responses/resp_abc/input_items",
        "https://example.com/v1/responses-archive",
        "https://chatgpt.com/backend-api/conversation",
        "https://example.com/search?q=/v1/responses",
    ],
)
def test_url_does_not_match_other_endpoints(url: str) -> None:
    assert not responses.url_matches(url)


def test_shape_matches_by_event_name_or_by_type() -> None:
    assert responses.shape_matches([_ev({"type": "response.created", "response": {}})])
    assert responses.shape_matches([Event("response.created", '{"response":{}}', "", 0.0)])
    unnamed = _ev({"type": "response.output_text.delta", "delta": "x"}, name="message")
    assert responses.shape_matches([unnamed])
    assert responses.shape_matches([_ev({"type": "error", "message": "x", "sequence_number": 0})])
    chat = _ev('{"object":"chat.completion.chunk","choices":[{"delta":{"content":"response."}}]}')
    assert not responses.shape_matches([chat])
    assert not responses.shape_matches([_ev("not json"), _ev('{"type":"message_start"}')])
    assert not responses.shape_matches([])


# -- what is not content ----------------------------------------------------------------------


def test_lifecycle_metadata_and_unknown_events_make_no_deltas() -> None:
    reading = _read(
        [
            {"type": "response.created", "response": {"id": "resp_1", "model": "gpt-x"}},
            {"type": "response.in_progress", "response": {"id": "resp_1", "status": "x"}},
            {"type": "response.output_item.added", "output_index": 0, "item": {"type": "message"}},
            _call_added("fc_1", "lookup", 1),
            {"type": "response.content_part.added", "item_id": "msg_1", "part": {"text": ""}},
            {"type": "response.reasoning_summary_part.added", "summary_index": 0},
            {"type": "response.output_text.annotation.added", "annotation": {}},
            {"type": "keepalive", "sequence_number": 3},
            {"type": "response.something_new.delta", "delta": "not ours"},
        ]
    )
    assert list(reading.deltas) == []
    assert reading.model == "gpt-x"
    assert reading.ended is False
    assert reading.finish_reason is None
    assert "reasoning_parts" not in reading.extra


def test_done_events_repeating_streamed_content_make_no_deltas() -> None:
    reading = _read(
        [
            _call_added("fc_1", "lookup", 0),
            _args('{"q":', "fc_1", 0),
            _args('"x"}', "fc_1", 0),
            {
                "type": "response.function_call_arguments.done",
                "item_id": "fc_1",
                "output_index": 0,
                "arguments": '{"q":"x"}',
            },
            {
                "type": "response.output_item.done",
                "output_index": 0,
                "item": {
                    "id": "fc_1",
                    "type": "function_call",
                    "name": "lookup",
                    "arguments": '{"q":"x"}',
                },
            },
            _text("Hi", index=1),
            _text(" there", index=1),
            {
                "type": "response.output_text.done",
                "item_id": "msg_1",
                "output_index": 1,
                "text": "Hi there",
            },
            {
                "type": "response.content_part.done",
                "item_id": "msg_1",
                "part": {"text": "Hi there"},
            },
            {
                "type": "response.output_item.done",
                "output_index": 1,
                "item": {"id": "msg_1", "type": "message"},
            },
            _completed(usage={"input_tokens": 3, "output_tokens": 7}),
        ]
    )
    assert [d.event for d in reading.deltas] == [1, 2, 5, 6]
    assert [d.t for d in reading.deltas] == [1.0, 2.0, 5.0, 6.0]
    answer = rebuild(reading.deltas).first
    assert answer.text == "Hi there"
    assert [(c.name, c.arguments) for c in answer.tool_calls.values()] == [("lookup", '{"q":"x"}')]
    assert list(reading.notes) == []
    assert (reading.finish_reason, reading.output_tokens, reading.input_tokens) == (
        "completed",
        7,
        3,
    )
    assert reading.ended is True


def test_empty_deltas_make_no_deltas() -> None:
    reading = _read([_text(""), _call_added("fc_1", "f", 1), _args("", "fc_1", 1), _text("a")])
    assert [(d.kind, d.text) for d in reading.deltas] == [(TEXT, "a")]


# -- end, errors, mismatches -----------------------------------------------------------------


def test_data_done_ends_the_stream() -> None:
    reading = _read([_text("a"), "[DONE]"])
    assert reading.ended is True
    assert reading.finish_reason is None
    assert list(reading.notes) == []


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            {"type": "error", "code": "server_error", "message": "flat boom", "param": None},
            "flat boom",
        ),
        (
            {
                "type": "error",
                "error": {"type": "server_error", "code": "e1", "message": "nested boom"},
            },
            "nested boom",
        ),
        ({"error": {"message": "untyped boom"}}, "untyped boom"),
    ],
)
def test_a_mid_stream_error_keeps_what_came_before(error: dict[str, Any], message: str) -> None:
    reading = _read([_text("Hello"), _text(" wor"), error])
    assert reading.error == message
    assert rebuild(reading.deltas).first.text == "Hello wor"
    assert reading.ended is False
    assert reading.finish_reason is None


def test_a_null_error_field_is_no_error() -> None:
    reading = _read([{"error": None, "note": "x"}, _text("a")])
    assert reading.error is None
    assert rebuild(reading.deltas).first.text == "a"


def test_an_error_event_with_plain_text_data() -> None:
    reading = responses.read([_ev(_text("a")), Event("error", "upstream timeout", "", 1.0)])
    assert reading.error == "upstream timeout"
    assert list(reading.notes) == []


def test_response_failed_carries_the_error_and_status() -> None:
    failed = _completed("failed", error={"code": "server_error", "message": "model crashed"})
    reading = _read([_text("par"), failed])
    assert reading.error == "model crashed"
    assert reading.extra["error_code"] == "server_error"
    assert reading.finish_reason == "failed"
    assert reading.ended is True
    assert rebuild(reading.deltas).first.text == "par"


def test_response_incomplete_gives_its_reason() -> None:
    incomplete = _completed(
        "incomplete",
        incomplete_details={"reason": "max_output_tokens"},
        usage={
            "input_tokens": 5,
            "output_tokens": 16,
            "output_tokens_details": {"reasoning_tokens": 9},
        },
    )
    reading = _read([_text("cut sh"), incomplete])
    assert reading.finish_reason == "incomplete"
    assert reading.output_tokens == 16
    assert reading.extra["incomplete_reason"] == "max_output_tokens"
    assert reading.extra["reasoning_tokens"] == 9
    assert any("max_output_tokens" in n for n in reading.notes)


def test_response_done_is_terminal_too() -> None:
    done = {
        "type": "response.done",
        "response": {"status": "completed", "usage": {"output_tokens": 2}},
    }
    reading = _read([_text("ok"), done])
    assert (reading.ended, reading.finish_reason, reading.output_tokens) == (True, "completed", 2)


def test_a_text_mismatch_is_noted_and_the_streamed_text_kept() -> None:
    reading = _read(
        [
            _text("Hel"),
            _text("lo"),
            {
                "type": "response.output_text.done",
                "item_id": "msg_1",
                "content_index": 0,
                "text": "Help!",
            },
        ]
    )
    assert reading.extra["text_mismatch"] is True
    assert len(reading.notes) == 1
    assert "response.output_text.done" in reading.notes[0]
    assert "char 3" in reading.notes[0]
    assert rebuild(reading.deltas).first.text == "Hello"
    assert len(reading.deltas) == 2


def test_content_sent_only_whole_in_a_done_event_is_kept() -> None:
    reading = _read(
        [
            {
                "type": "response.output_text.done",
                "item_id": "msg_1",
                "content_index": 0,
                "text": "Whole.",
            },
            {
                "type": "response.output_item.done",
                "output_index": 1,
                "item": {"id": "fc_9", "type": "function_call", "name": "now", "arguments": "{}"},
            },
        ]
    )
    answer = rebuild(reading.deltas).first
    assert answer.text == "Whole."
    assert [(c.name, c.arguments) for c in answer.tool_calls.values()] == [("now", "{}")]
    assert [d.event for d in reading.deltas] == [0, 1]
    assert "text_mismatch" not in reading.extra
    assert len(reading.notes) == 2


# -- grouping ---------------------------------------------------------------------------------


def test_function_calls_get_stable_parts_and_their_own_names() -> None:
    reading = _read(
        [
            _call_added("fc_a", "first", 0),
            _args('{"a":', "fc_a", 0),
            _call_added("fc_b", "second", 1),
            # no item_id: the output_index says which call
            {
                "type": "response.function_call_arguments.delta",
                "output_index": 1,
                "delta": '{"b":2}',
            },
            _args("1}", "fc_a", 0),
        ]
    )
    tools = reading.deltas
    assert [(d.part, d.name) for d in tools] == [(0, "first"), (1, "second"), (0, None)]
    calls = rebuild(tools).first.tool_calls
    assert [(c.name, c.arguments) for c in calls.values()] == [
        ("first", '{"a":1}'),
        ("second", '{"b":2}'),
    ]


def test_reasoning_summary_parts_and_raw_reasoning_text() -> None:
    def summary(delta: str, item: str, index: int) -> dict[str, Any]:
        return {
            "type": "response.reasoning_summary_text.delta",
            "item_id": item,
            "summary_index": index,
            "delta": delta,
        }

    reading = _read(
        [
            summary("A", "rs_1", 0),
            summary("B", "rs_1", 1),
            summary("b", "rs_1", 1),
            summary("C", "rs_2", 0),  # a second reasoning item starts its indexes again
            {
                "type": "response.reasoning_text.delta",
                "item_id": "rs_3",
                "content_index": 0,
                "delta": "raw",
            },
            _text("answer"),
        ]
    )
    answer = rebuild(reading.deltas).first
    assert answer.reasoning == "ABbCraw"
    assert list(answer.reasoning_parts.values()) == ["A", "Bb", "C", "raw"]
    assert reading.extra["reasoning_parts"] == ["A", "Bb", "C"]
    assert answer.text == "answer"


def test_refusal() -> None:
    refusal = {"type": "response.refusal.delta", "item_id": "msg_1", "content_index": 0}
    reading = _read([refusal | {"delta": "I can't"}, refusal | {"delta": " help."}])
    assert rebuild(reading.deltas).first.refusal == "I can't help."
    assert rebuild(reading.deltas).first.text == ""


# -- odd input --------------------------------------------------------------------------------


def test_odd_input_is_skipped_without_raising() -> None:
    reading = _read(
        [
            "not json at all",
            "[1, 2]",
            "",
            {"type": "response.output_text.delta", "delta": 42},
            {"type": "response.output_text.delta"},
            {"type": "response.output_item.added", "item": "nope"},
            {
                "type": "response.output_item.done",
                "item": {"type": "function_call", "arguments": 1},
            },
            {"type": "response.output_text.done", "text": None},
            {"type": "response.completed", "response": "nope"},
            {"type": 7, "delta": "x"},
            _text("still here"),
        ]
    )
    assert rebuild(reading.deltas).first.text == "still here"
    assert reading.ended is True  # the completed event, even malformed
    assert reading.finish_reason == "completed"
    assert reading.output_tokens is None
    assert any("2 event(s)" in n for n in reading.notes)


def test_sequence_number_jumps_are_noted() -> None:
    objs: list[dict[str, Any] | str] = [
        _text("a") | {"sequence_number": n} for n in (4, 5, 9, 10, 12, 13, 20, 30, 31)
    ]
    reading = _read(objs)
    assert reading.extra["sequence_gaps"] == 4
    assert "sequence_number jumps from 5 to 9" in reading.notes
    assert reading.notes[-1] == "... 1 more sequence_number jumps"
    assert len(reading.notes) == 4


_TYPES = [
    "response.output_text.delta",
    "response.output_text.done",
    "response.reasoning_summary_text.delta",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.output_item.added",
    "response.output_item.done",
    "response.completed",
    "response.failed",
    "error",
]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
_FIELDS = st.sampled_from(
    [
        "delta",
        "text",
        "item",
        "item_id",
        "output_index",
        "response",
        "error",
        "message",
        "arguments",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(_TYPES), st.dictionaries(_FIELDS, _JSON, max_size=4)),
        max_size=8,
    )
)
def test_any_field_values_never_raise(events: list[tuple[str, dict[str, Any]]]) -> None:
    reading = _read([{**fields, "type": typ} for typ, fields in events])
    json.dumps(dict(reading.extra))  # stays JSON-able
    for d in reading.deltas:
        assert isinstance(d.text, str)
        assert d.text or d.name
