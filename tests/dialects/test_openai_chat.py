"""The openai-chat dialect: the real streams of ../shared/streams, and each wire quirk."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sse_inspect import dialects
from sse_inspect.analysis.answer import rebuild
from sse_inspect.dialects import openai_chat
from sse_inspect.dialects.base import REASONING, REFUSAL, TEXT, TOOL, Delta, Reading
from sse_inspect.dialects.openai_chat import NAME, read, shape_matches, url_matches
from sse_inspect.sse import Event, SSEDecoder

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = json.loads((STREAMS / "manifest.json").read_text("utf-8"))
OURS = [m for m in MANIFEST if m["dialect"] == NAME]
OTHERS = [m for m in MANIFEST if m["dialect"] != NAME]


def _events(name: str) -> list[Event]:
    dec = SSEDecoder()
    events = dec.feed((STREAMS / name).read_bytes(), 0.0)
    return events + dec.close(0.0)


def _chunk(*choices: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"object": "chat.completion.chunk", "model": "m", **top, "choices": list(choices)}


def _stream(*items: dict[str, Any] | str) -> list[Event]:
    """Events from chunks (dicts, sent as JSON) and raw data strings, one second apart."""
    return [
        Event("message", x if isinstance(x, str) else json.dumps(x), "", float(t))
        for t, x in enumerate(items)
    ]


def _content(text: str, index: int = 0, finish: str | None = None) -> dict[str, Any]:
    return {"index": index, "delta": {"content": text}, "finish_reason": finish}


def test_the_manifest_has_six_streams_of_this_dialect() -> None:
    assert len(OURS) == 6


@pytest.mark.parametrize("entry", OURS, ids=[m["file"] for m in OURS])
def test_manifest_stream(entry: dict[str, Any]) -> None:
    events = _events(entry["file"])
    assert len(events) == entry["expected"]["events"]
    assert dialects.detect(None, events) == NAME
    reading = read(events)
    answer = rebuild(reading.deltas)
    exp = entry["expected"]
    first = answer.first
    assert first.text == exp["text"]
    assert first.reasoning == exp["reasoning"]
    calls = [
        {"name": c.name, "arguments": c.arguments} for _, c in sorted(first.tool_calls.items())
    ]
    assert calls == exp["tool_calls"]
    assert reading.finish_reason == exp["finish_reason"]
    assert reading.output_tokens == exp["output_tokens"]
    assert first.refusal == exp.get("refusal")
    if "choices" in exp:
        got = [
            {"index": c.index, "text": c.text, "finish_reason": reading.finish_reasons.get(c.index)}
            for c in answer.choices.values()
        ]
        assert got == exp["choices"]
    else:
        assert list(answer.choices) in ([0], [])
    # Only real content makes deltas; a nameless empty one would count as an arrival.
    assert all(d.text or d.name for d in reading.deltas)
    assert reading.model == (
        "deepseek-reasoner" if "deepseek" in entry["file"] else "gpt-4o-2024-08-06"
    )
    assert reading.extra["system_fingerprint"].startswith("fp_")
    assert reading.error is None
    assert list(reading.notes) == []
    # Azure's capture ends "data: [DONE]\n" with one LF: [DONE] is never dispatched.
    assert reading.ended is ("azure" not in entry["file"])


def test_manifest_details() -> None:
    r = read(_events("openai-chat--content-logprobs-usage.sse"))
    assert (r.input_tokens, r.output_tokens) == (9, 2)
    assert [(d.event, d.kind, d.text) for d in r.deltas] == [(1, TEXT, "Foo"), (2, TEXT, "!")]

    r = read(_events("openai-chat--parallel-tool-calls.sse"))
    named = [(d.event, d.part, d.name, d.text) for d in r.deltas if d.name]
    assert named == [(1, 0, "GetWeatherArgs", ""), (13, 1, "get_stock_price", "")]
    assert {d.kind for d in r.deltas} == {TOOL}

    r = read(_events("openai-chat--deepseek-reasoner.sse"))
    kinds = [d.kind for d in r.deltas]
    assert kinds.index(TEXT) == kinds.count(REASONING)  # all the reasoning, then the answer
    assert len(r.deltas) == 212 - 3  # less the role chunk, the finish chunk and [DONE]
    assert r.input_tokens == 6

    r = read(_events("openai-chat--n3-multiple-choices.sse"))
    assert [d.choice for d in r.deltas[:3]] == [0, 1, 2]
    assert r.finish_reasons == {0: "stop", 1: "stop", 2: "stop"}


@pytest.mark.parametrize("entry", OTHERS, ids=[m["file"] for m in OTHERS])
def test_other_dialects_shapes_are_not_claimed(entry: dict[str, Any]) -> None:
    assert not shape_matches(_events(entry["file"])[:20])


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        "https://my-res.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21",
        "http://localhost:8000/v1/chat/completions",  # vLLM
        "http://127.0.0.1:8080/v1/chat/completions/",  # llama.cpp
        "http://localhost:11434/v1/chat/completions",  # Ollama
        "https://api.deepseek.com/chat/completions",
        "https://api.mistral.ai/v1/chat/completions",
        "https://openrouter.ai/api/v1/chat/completions",
        "https://generativelanguage.googleapis.com/v1beta/openai/chat/completions",
        "HTTPS://API.OPENAI.COM/V1/CHAT/COMPLETIONS#x",
    ],
)
def test_url_matches(url: str) -> None:
    assert url_matches(url)
    assert dialects.detect(url, []) == NAME


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/responses",
        "https://api.anthropic.com/v1/messages",
        "https://api.openai.com/v1/completions",
        "http://localhost:11434/api/chat",
        "https://chatgpt.com/backend-api/conversation",
        "https://example.com/search?q=/chat/completions",
        "https://example.com/chat/completions/123/messages",
    ],
)
def test_url_does_not_match(url: str) -> None:
    assert not url_matches(url)


def test_shape_by_object_or_by_delta() -> None:
    assert shape_matches(_stream(_chunk()))  # the object name alone
    assert shape_matches(_stream({"choices": [{"index": 0, "delta": {"content": "x"}}]}))
    assert not shape_matches(_stream({"choices": [{"index": 0, "message": {"content": "x"}}]}))
    assert not shape_matches(_stream({"error": {"message": "boom"}}, "[DONE]", "not json"))
    assert not shape_matches(_stream({"type": "response.output_text.delta", "delta": "x"}))
    assert not shape_matches(_stream({"candidates": [{"content": {"parts": [{"text": "x"}]}}]}))
    assert not shape_matches([])


NOT_CONTENT: dict[str, dict[str, Any]] = {
    "role-only first chunk": _chunk(
        {"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}
    ),
    "role with null content and empty refusal": _chunk(
        {"index": 0, "delta": {"role": "assistant", "content": None, "refusal": ""}}
    ),
    "Azure prompt_filter_results": {
        "choices": [],
        "created": 0,
        "id": "",
        "model": "",
        "object": "",
        "prompt_filter_results": [
            {"prompt_index": 0, "content_filter_results": {"hate": {"filtered": False}}}
        ],
    },
    "content filter results without delta": _chunk(
        {
            "index": 0,
            "finish_reason": None,
            "content_filter_results": {"violence": {"filtered": False, "severity": "safe"}},
        }
    ),
    "LiteLLM usage chunk with an empty delta": _chunk(
        {"index": 0, "delta": {}, "finish_reason": None},
        usage={"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    ),
    "LiteLLM delta of nulls": _chunk(
        {
            "index": 0,
            "delta": {"content": None, "role": None, "function_call": None, "tool_calls": None},
        }
    ),
    "obfuscation only": _chunk({"index": 0, "delta": {}}, obfuscation="aB3dE"),
    "logprobs only": _chunk(
        {"index": 0, "delta": {}, "logprobs": {"content": [{"token": "x", "logprob": -0.1}]}}
    ),
    "finish chunk": _chunk({"index": 0, "delta": {}, "finish_reason": "stop"}),
    "tool call fragment without arguments": _chunk(
        {"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": ""}}]}}
    ),
}


@pytest.mark.parametrize("chunk", NOT_CONTENT.values(), ids=list(NOT_CONTENT))
def test_not_content(chunk: dict[str, Any]) -> None:
    reading = read(_stream(chunk))
    assert list(reading.deltas) == []
    assert reading.error is None


def test_not_content_chunks_leave_only_the_text() -> None:
    events = _stream(*NOT_CONTENT.values(), _chunk(_content("Hi")), "[DONE]")
    reading = read(events)
    assert list(reading.deltas) == [Delta(10.0, 10, TEXT, "Hi")]
    assert reading.output_tokens == 7  # from the LiteLLM usage chunk
    assert reading.finish_reasons == {0: "stop"}
    assert reading.model == "m"  # Azure's empty model is not a model
    assert reading.ended


def test_vllm_running_usage_last_wins() -> None:
    def usage(n: int) -> dict[str, int]:
        return {"prompt_tokens": 20, "completion_tokens": n, "total_tokens": 20 + n}

    events = _stream(
        _chunk({"index": 0, "delta": {"role": "assistant", "content": ""}}, usage=usage(0)),
        _chunk(_content("a"), usage=usage(1)),
        _chunk(_content("b"), usage=usage(2)),
        _chunk(_content("c", finish="length"), usage=usage(3)),
        _chunk(usage=usage(3)),
        "[DONE]",
    )
    reading = read(events)
    assert (reading.input_tokens, reading.output_tokens) == (20, 3)
    assert reading.finish_reason == "length"
    assert rebuild(reading.deltas).first.text == "abc"


def test_mistral_usage_on_the_last_content_chunk() -> None:
    events = _stream(
        _chunk({"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}),
        _chunk(_content("Bonjour")),
        _chunk(
            _content(" !", finish="stop"),
            usage={"prompt_tokens": 10, "total_tokens": 14, "completion_tokens": 4},
        ),
        "[DONE]",
    )
    reading = read(events)
    assert (reading.input_tokens, reading.output_tokens) == (10, 4)
    assert [d.text for d in reading.deltas] == ["Bonjour", " !"]
    assert reading.deltas[-1].event == 2


def test_mistral_list_content_with_thinking() -> None:
    thinking = {"type": "thinking", "thinking": [{"type": "text", "text": "Hmm."}]}
    events = _stream(
        _chunk({"index": 0, "delta": {"content": [thinking]}}),
        _chunk({"index": 0, "delta": {"content": [{"type": "text", "text": "Yes."}]}}),
    )
    choice = rebuild(read(events).deltas).first
    assert (choice.reasoning, choice.text) == ("Hmm.", "Yes.")


def test_llama_cpp_timings_when_there_is_no_usage() -> None:
    timings = {"prompt_n": 11, "predicted_n": 33, "predicted_ms": 480.5}
    events = _stream(
        _chunk(_content("x")),
        _chunk({"index": 0, "delta": {}, "finish_reason": "stop"}, timings=timings),
        "[DONE]",
    )
    reading = read(events)
    assert (reading.input_tokens, reading.output_tokens) == (11, 33)
    # reported usage wins over timings
    usage = {"prompt_tokens": 12, "completion_tokens": 34}
    reading = read(events + _stream(_chunk(usage=usage)))
    assert (reading.input_tokens, reading.output_tokens) == (12, 34)


def test_reasoning_fields() -> None:
    events = _stream(
        _chunk({"index": 0, "delta": {"reasoning_content": "deep "}}),  # DeepSeek
        _chunk({"index": 0, "delta": {"reasoning": "seek"}}),  # vLLM, OpenRouter
        # vLLM while renaming the field sent both, the same text: counted once
        _chunk({"index": 0, "delta": {"reasoning": "!", "reasoning_content": "!"}}),
        _chunk({"index": 0, "delta": {"content": "ok", "reasoning": None}}),
    )
    reading = read(events)
    assert [(d.kind, d.text) for d in reading.deltas] == [
        (REASONING, "deep "),
        (REASONING, "seek"),
        (REASONING, "!"),
        (TEXT, "ok"),
    ]
    assert rebuild(reading.deltas).first.reasoning == "deep seek!"


def test_refusal_and_choices() -> None:
    events = _stream(
        _chunk({"index": 1, "delta": {"refusal": "No"}}),
        _chunk({"index": 0, "delta": {"content": "Yes"}}),
        _chunk({"index": 1, "delta": {"refusal": "."}, "finish_reason": "stop"}),
        _chunk({"index": 0, "delta": {}, "finish_reason": "length"}),
    )
    reading = read(events)
    answer = rebuild(reading.deltas)
    assert answer.choices[1].refusal == "No."
    assert answer.choices[0].text == "Yes"
    assert reading.deltas[0] == Delta(0.0, 0, REFUSAL, "No", 1)
    assert reading.finish_reasons == {1: "stop", 0: "length"}


def test_tool_calls_joined_by_index() -> None:
    def call(index: int, **fn: str) -> dict[str, Any]:
        return _chunk({"index": 0, "delta": {"tool_calls": [{"index": index, "function": fn}]}})

    events = _stream(
        call(0, name="a", arguments=""),
        call(1, name="b", arguments='{"y"'),
        call(0, arguments='{"x":'),
        call(1, name="b", arguments=":2}"),  # some servers repeat the name: named once
        call(0, arguments="1}"),
        call(1, name="b"),  # a repeated name alone is nothing
    )
    reading = read(events)
    assert [(d.part, d.name, d.text) for d in reading.deltas] == [
        (0, "a", ""),
        (1, "b", '{"y"'),
        (0, None, '{"x":'),
        (1, None, ":2}"),
        (0, None, "1}"),
    ]
    calls = rebuild(reading.deltas).first.tool_calls
    assert [(c.name, c.arguments) for c in calls.values()] == [("a", '{"x":1}'), ("b", '{"y":2}')]


def test_whole_tool_calls_without_index_and_object_arguments() -> None:
    # Some compatible servers send each call whole, with no index, or arguments as an object.
    def calls(*items: dict[str, Any]) -> dict[str, Any]:
        return _chunk({"index": 0, "delta": {"tool_calls": list(items)}})

    events = _stream(
        calls(
            {"id": "c1", "function": {"name": "f", "arguments": {"q": "ü"}}},
            {"id": "c2", "function": {"name": "g", "arguments": "{"}},
        ),
        calls({"function": {"arguments": "}"}}),  # no index, no id: the last call goes on
        calls({"id": "c3", "function": {"name": "h", "arguments": "[]"}}),
        _chunk({"index": 1, "delta": {"tool_calls": [{"id": "c4", "function": {"name": "k"}}]}}),
    )
    answer = rebuild(read(events).deltas)
    got = [(i, c.name, c.arguments) for i, c in answer.first.tool_calls.items()]
    assert got == [(0, "f", '{"q":"ü"}'), (1, "g", "{}"), (2, "h", "[]")]
    assert [(i, c.name) for i, c in answer.choices[1].tool_calls.items()] == [(0, "k")]


def test_legacy_function_call() -> None:
    events = _stream(
        _chunk({"index": 0, "delta": {"function_call": {"name": "f", "arguments": ""}}}),
        _chunk({"index": 0, "delta": {"function_call": {"arguments": "{}"}}}),
    )
    calls = rebuild(read(events).deltas).first.tool_calls
    assert [(c.name, c.arguments) for c in calls.values()] == [("f", "{}")]


def test_mid_stream_error_keeps_the_text_before_it() -> None:
    events = _stream(
        _chunk(_content("Half an ")),
        _chunk(_content("answer")),
        {"error": {"message": "The server had an error", "type": "server_error"}},
        "[DONE]",
    )
    reading = read(events)
    assert reading.error == "The server had an error"
    assert rebuild(reading.deltas).first.text == "Half an answer"
    assert reading.ended


def test_openrouter_error_inside_a_chunk_and_vllm_bare_error() -> None:
    events = _stream(
        _chunk(_content("x")),
        _chunk(
            {"index": 0, "delta": {"content": ""}, "finish_reason": "error"},
            error={"code": 502, "message": "Provider disconnected"},
        ),
    )
    reading = read(events)
    assert reading.error == "Provider disconnected"
    assert reading.finish_reason == "error"
    bare = {"object": "error", "message": "max_tokens too large", "type": "BadRequestError"}
    assert read(_stream(bare)).error == "max_tokens too large"
    assert read(_stream({"error": "overloaded"})).error == "overloaded"
    assert read(_stream({"error": None}, _chunk(_content("x")))).error is None


def test_cut_stream_gives_the_partial_answer() -> None:
    events = _events("openai-chat--deepseek-reasoner.sse")[:100]
    reading = read(events)
    choice = rebuild(reading.deltas).first
    assert not reading.ended
    assert reading.finish_reasons == {}
    assert reading.output_tokens is None
    assert choice.text == ""
    assert choice.reasoning is not None
    assert choice.reasoning.startswith('Hmm, the user just said "Hello"')
    assert len(reading.deltas) == 99  # every event but the role chunk

    events = _events("openai-chat--parallel-tool-calls.sse")[:15]
    calls = rebuild(read(events).deltas).first.tool_calls
    assert calls[0].arguments == '{"city": "Edinburgh", "country": "GB", "units": "c"}'
    assert (calls[1].name, calls[1].arguments) == ("get_stock_price", '{"ti')


def test_odd_input_never_raises() -> None:
    odd: list[Any] = [
        "not json",
        "{broken",
        "[1, 2]",
        "42",
        "null",
        "",
        {"choices": "nope"},
        {"choices": [None, 3, {"index": "zero", "delta": "text"}]},
        {"choices": [{"index": 0, "delta": {"content": 5, "refusal": [], "tool_calls": {}}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [None, {"function": "f"}]}}]},
        {"choices": [{"index": 0, "delta": {"content": [None, {"type": "thinking"}]}}]},
        {"usage": {"completion_tokens": "7", "prompt_tokens": True}, "model": 3},
        {"usage": [], "timings": "x", "system_fingerprint": {}, "prompt_filter_results": 1},
        {"choices": [{"index": 0, "finish_reason": 1, "content_filter_results": []}]},
        {"error": {"type": "only a type"}},
    ]
    reading = read(_stream(*[x if isinstance(x, str) else json.dumps(x) for x in odd]))
    assert list(reading.deltas) == []
    assert reading.output_tokens is None and reading.input_tokens is None
    assert reading.model is None
    assert reading.extra == {}
    assert reading.error == "only a type"
    assert list(reading.notes) == ["5 events were not a JSON chunk nor [DONE], and skipped."]


def test_several_chunks_in_one_event() -> None:
    # A broken server: two data lines with no blank line between, so one event.
    data = json.dumps(_chunk(_content("a"))) + "\n" + json.dumps(_chunk(_content("b")))
    reading = read(_stream(data))
    assert [(d.event, d.text) for d in reading.deltas] == [(0, "a"), (0, "b")]
    assert list(reading.notes) == []


def test_content_filter_notes() -> None:
    flagged = {"hate": {"filtered": True, "severity": "high"}}
    events = _stream(
        _chunk(_content("x")),
        _chunk({"index": 0, "finish_reason": "content_filter", "content_filter_results": flagged}),
    )
    reading = read(events)
    assert reading.finish_reason == "content_filter"
    assert list(reading.notes) == [
        "Azure's content filter flagged the prompt or the answer.",
        "Choice 0 was cut short by the content filter.",
    ]


def test_done_with_spaces_and_times() -> None:
    events = [
        Event("message", json.dumps(_chunk(_content("a"))), "", 1.5),
        Event("message", " [DONE] ", "", 2.5),
    ]
    reading = read(events)
    assert reading.ended
    assert list(reading.deltas) == [Delta(1.5, 0, TEXT, "a")]


def test_module_interface() -> None:
    assert openai_chat.NAME == "openai-chat"
    assert NAME in dialects.names()
    assert isinstance(read([]), Reading)
    assert list(read([]).deltas) == []
