"""The Gemini dialect against Google's shared SDK mock streams and hand-made edge cases."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sse_inspect import dialects
from sse_inspect.analysis.answer import rebuild
from sse_inspect.dialects import gemini
from sse_inspect.dialects.base import REASONING, TEXT, TOOL, Delta, Reading
from sse_inspect.sse import Event, SSEDecoder

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = [
    entry
    for entry in json.loads((STREAMS / "manifest.json").read_text(encoding="utf-8"))
    if entry["dialect"] == "gemini"
]
BLOCKED = "gemini--prompt-blocked-safety.sse"


def _decode(path: Path) -> tuple[list[Event], Event | None]:
    """The dispatched events and the unterminated one, if the file ends inside an event."""
    dec = SSEDecoder()
    events = dec.feed(path.read_bytes(), 0.0)
    events += dec.close(0.0)
    return events, dec.unterminated


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
        "prompt_block_reason": reading.extra.get("prompt_block_reason"),
    }


def _ev(chunk: dict[str, Any] | str, t: float = 0.0) -> Event:
    return Event("message", chunk if isinstance(chunk, str) else json.dumps(chunk), "", t)


def _chunk(*parts: dict[str, Any], index: int | None = None, **cand: Any) -> dict[str, Any]:
    candidate: dict[str, Any] = {"content": {"parts": list(parts), "role": "model"}, **cand}
    if index is not None:
        candidate["index"] = index
    return {"candidates": [candidate]}


def test_the_manifest_has_the_four_streams() -> None:
    assert len(MANIFEST) == 4


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_manifest_stream(entry: dict[str, Any]) -> None:
    events, unterminated = _decode(STREAMS / entry["file"])
    expected = entry["expected"]
    assert len(events) == expected["events"]
    if entry["file"] == BLOCKED:
        # Its only line has no blank line after it: a WHATWG parser dispatches nothing, and
        # the block reason is only there for a lenient reader that takes the cut event too.
        assert events == [] and unterminated is not None
        assert dialects.detect(None, events) == "generic"
        events = [unterminated]
    assert dialects.detect(None, events) == gemini.NAME
    reading = gemini.read(events)
    expected = {**expected, "prompt_block_reason": expected.get("prompt_block_reason")}
    assert _answer(reading) == {k: expected[k] for k in _answer(reading)}
    assert all(d.text for d in reading.deltas)
    assert reading.error is None


def test_basic_stream_in_detail() -> None:
    events, _ = _decode(STREAMS / "gemini--basic-reply-short.sse")
    reading = gemini.read(events)
    assert list(reading.deltas) == [
        Delta(0.0, 0, TEXT, "The"),
        Delta(0.0, 1, TEXT, " capital of Wyoming"),
        Delta(0.0, 2, TEXT, " is **Cheyenne**.\n"),
    ]
    assert reading.model == "gemini-2.0-flash"
    assert reading.input_tokens == 7
    assert reading.ended  # a finishReason is Gemini's only end marker
    assert list(reading.notes) == []


def test_thoughts_are_reasoning_and_their_tokens_apart() -> None:
    events, _ = _decode(STREAMS / "gemini--thought-summary.sse")
    reading = gemini.read(events)
    assert [d.kind for d in reading.deltas] == [REASONING] * 3 + [TEXT] * 2
    assert reading.output_tokens == 48
    assert reading.extra["thoughts_tokens"] == 540


def test_function_call_is_one_whole_delta() -> None:
    events, _ = _decode(STREAMS / "gemini--thought-function-call.sse")
    tools = [d for d in gemini.read(events).deltas if d.kind == TOOL]
    assert tools == [Delta(0.0, 2, TOOL, "{}", name="now")]


@pytest.mark.parametrize(
    "url",
    [
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:"
        "streamGenerateContent?alt=sse",
        "https://generativelanguage.googleapis.com/v1alpha/models/gemini-2.0-flash:"
        "streamGenerateContent?alt=sse&key=k",
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
        "publishers/google/models/gemini-2.5-pro:streamGenerateContent?alt=sse",
        "https://aiplatform.googleapis.com/v1/projects/p/locations/global/publishers/google/"
        "models/gemini-2.5-flash:streamGenerateContent?alt=sse",
        "https://firebasevertexai.googleapis.com/v1beta/projects/p/models/gemini-2.0-flash:"
        "streamGenerateContent?alt=sse",
        "http://127.0.0.1:8080/v1beta/models/m:streamGenerateContent?alt=sse",
    ],
)
def test_url_matches(url: str) -> None:
    assert gemini.url_matches(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        "https://us-east5-aiplatform.googleapis.com/v1/projects/p/locations/us-east5/"
        "publishers/anthropic/models/claude-sonnet-4@20250514:streamRawPredict",
        "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/"
        "endpoints/openapi/chat/completions",
        "https://api.openai.com/v1/chat/completions",
        "https://api.anthropic.com/v1/messages",
        "https://gemini.google.com/app",
        "https://example.com/search?q=streamGenerateContent",
    ],
)
def test_url_does_not_match(url: str) -> None:
    assert not gemini.url_matches(url)


@pytest.mark.parametrize("file", ["anthropic--basic.sse", "openai-chat--parallel-tool-calls.sse"])
def test_shape_rejects_other_dialects(file: str) -> None:
    events, _ = _decode(STREAMS / file)
    assert not gemini.shape_matches(events[:20])


def test_shape_needs_a_gemini_key_at_the_top() -> None:
    assert not gemini.shape_matches([_ev('{"text": "candidates usageMetadata"}'), _ev("x")])
    assert not gemini.shape_matches([_ev({"candidates": "no"})])
    assert gemini.shape_matches([_ev("candidates"), _ev({"usageMetadata": {}})])


def test_not_content() -> None:
    events = [
        _ev({"usageMetadata": {"promptTokenCount": 4, "totalTokenCount": 4}}),
        _ev(_chunk({"text": ""})),
        _ev(_chunk({"text": "", "thoughtSignature": "c2ln"})),
        _ev(_chunk({"thought": True, "thoughtSignature": "c2ln"})),
        _ev(_chunk({"text": "", "thought": True})),
        _ev(_chunk()),
        _ev({"candidates": []}),
        _ev({"promptFeedback": {"safetyRatings": []}}),
        _ev(
            {
                **_chunk(finishReason="STOP"),
                "usageMetadata": {"promptTokenCount": 4, "candidatesTokenCount": 0},
            }
        ),
    ]
    reading = gemini.read(events)
    assert list(reading.deltas) == []
    assert reading.finish_reason == "STOP" and reading.ended
    assert reading.output_tokens == 0 and reading.input_tokens == 4
    assert list(reading.notes) == [] and "prompt_block_reason" not in reading.extra


def test_usage_is_the_last_reported() -> None:
    events = [
        _ev({**_chunk({"text": "a"}), "usageMetadata": {"candidatesTokenCount": 1}}),
        _ev({**_chunk({"text": "b"}), "usageMetadata": {"promptTokenCount": 9}}),
        _ev({"usageMetadata": {"candidatesTokenCount": 5, "thoughtsTokenCount": 7}}),
    ]
    reading = gemini.read(events)
    assert reading.output_tokens == 5 and reading.input_tokens == 9
    assert reading.extra["thoughts_tokens"] == 7
    assert not reading.ended  # no finishReason yet


def test_candidates_are_choices() -> None:
    first = {"content": {"parts": [{"text": "zero"}]}}
    second = {"content": {"parts": [{"text": "one"}]}, "index": 1, "finishReason": "MAX_TOKENS"}
    events = [
        _ev({"candidates": [first, {"content": {"parts": [{"text": "un"}]}}]}, 0.5),
        _ev({"candidates": [{**first, "finishReason": "STOP"}, second]}, 1.0),
    ]
    reading = gemini.read(events)
    assert [(d.choice, d.text, d.event, d.t) for d in reading.deltas] == [
        (0, "zero", 0, 0.5),
        (1, "un", 0, 0.5),  # no index: its position
        (0, "zero", 1, 1.0),
        (1, "one", 1, 1.0),
    ]
    answer = rebuild(reading.deltas)
    assert {i: c.text for i, c in answer.choices.items()} == {0: "zerozero", 1: "unone"}
    assert reading.finish_reasons == {0: "STOP", 1: "MAX_TOKENS"}


def test_function_calls_one_part_each_in_order() -> None:
    events = [
        _ev(_chunk({"text": "Let me look."})),
        _ev(
            _chunk(
                {"functionCall": {"name": "weather", "args": {"city": "Zürich", "days": [1, 2]}}},
                {"functionCall": {"name": "now"}},
            )
        ),
        _ev(_chunk({"functionCall": {"name": "time", "args": {"tz": "UTC"}}}, finishReason="STOP")),
    ]
    reading = gemini.read(events)
    tools = [d for d in reading.deltas if d.kind == TOOL]
    assert [(d.part, d.name, d.event) for d in tools] == [
        (0, "weather", 1),
        (1, "now", 1),
        (2, "time", 2),
    ]
    assert _answer(reading)["tool_calls"] == [
        {"name": "weather", "arguments": '{"city":"Zürich","days":[1,2]}'},
        {"name": "now", "arguments": "{}"},
        {"name": "time", "arguments": '{"tz":"UTC"}'},
    ]
    assert _answer(reading)["text"] == "Let me look."


def test_prompt_blocked_by_hand() -> None:
    block = {"blockReason": "PROHIBITED_CONTENT", "blockReasonMessage": "No."}
    reading = gemini.read([_ev({"promptFeedback": block, "modelVersion": "gemini-2.5-pro"})])
    assert list(reading.deltas) == []
    assert reading.extra["prompt_block_reason"] == "PROHIBITED_CONTENT"
    assert list(reading.notes) == ["The prompt was blocked (PROHIBITED_CONTENT): No."]
    assert reading.model == "gemini-2.5-pro"
    assert reading.finish_reason is None


def test_finish_message_becomes_a_note() -> None:
    chunk = _chunk(finishReason="MALFORMED_FUNCTION_CALL", finishMessage="Bad call.")
    reading = gemini.read([_ev(chunk)])
    assert reading.finish_reason == "MALFORMED_FUNCTION_CALL"
    assert list(reading.notes) == ["Candidate 0 finished (MALFORMED_FUNCTION_CALL): Bad call."]


def test_mid_stream_error_keeps_what_came_before() -> None:
    events, _ = _decode(STREAMS / "gemini--thought-summary.sse")
    error = {"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}
    reading = gemini.read([*events[:4], _ev(error, 2.0)])
    assert reading.error == "The model is overloaded."
    assert reading.extra["error_status"] == "UNAVAILABLE" and reading.extra["error_code"] == 503
    assert list(reading.notes) == [
        "The stream reported an error 503 UNAVAILABLE: The model is overloaded."
    ]
    answer = _answer(reading)
    assert answer["text"] == (
        "The sky is blue because tiny gas molecules in Earth's atmosphere scatter blue light "
        "from the sun more efficiently than other colors."
    )
    assert answer["reasoning"] is not None and answer["reasoning"].count("**") == 6
    assert answer["finish_reason"] is None and answer["output_tokens"] == 22
    assert not reading.ended


def test_cut_stream_gives_the_partial_answer() -> None:
    events, _ = _decode(STREAMS / "gemini--thought-summary.sse")
    reading = gemini.read(events[:2])
    answer = _answer(reading)
    assert answer["text"] == ""
    assert answer["reasoning"] is not None
    assert answer["reasoning"].startswith("**Exploring Sky Color**")
    assert answer["reasoning"].endswith("finalize the explanation.\n\n\n")
    assert answer["finish_reason"] is None and answer["output_tokens"] is None
    assert not reading.ended and reading.error is None


def test_odd_input_never_raises() -> None:
    events = [
        _ev("not json"),
        _ev("[{}]"),
        _ev({"candidates": "no", "usageMetadata": [], "promptFeedback": 1, "error": "x"}),
        _ev({"candidates": [None, 3, {"content": "x"}, {"content": {"parts": "x"}}]}),
        _ev({"candidates": [{"content": {"parts": [None, {"text": 5}, {"functionCall": 1}]}}]}),
        _ev(_chunk({"executableCode": {"code": "print(1)"}}, {"inlineData": {}})),
        _ev({"candidates": [{"index": "1", "finishReason": 7}], "modelVersion": 2}),
        _ev({"error": {}}),
        _ev(_chunk({"text": "still read"})),
    ]
    reading = gemini.read(events)
    assert _answer(reading)["text"] == "still read"
    assert reading.finish_reasons == {} and not reading.ended
    assert reading.model is None and reading.output_tokens is None
    assert reading.error == "error without a message"
    assert list(reading.notes) == [
        "The stream reported an error: error without a message",
        "Skipped events whose data is not a JSON object: 2.",
        "Skipped parts with text: 1.",
        "Skipped parts with functionCall: 1.",
        "Skipped parts with executableCode: 1.",
        "Skipped parts with inlineData: 1.",
    ]
