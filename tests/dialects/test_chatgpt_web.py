"""chatgpt-web: the manifest's captures, and small streams for each rule of the format."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sse_inspect import dialects
from sse_inspect.analysis.answer import rebuild
from sse_inspect.dialects import chatgpt_web
from sse_inspect.dialects.base import REASONING, TEXT
from sse_inspect.dialects.chatgpt_web import NAME, read, shape_matches, url_matches
from sse_inspect.sse import Event, SSEDecoder

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST = [e for e in json.loads((STREAMS / "manifest.json").read_text()) if e["dialect"] == NAME]


def _decode(file: str) -> list[Event]:
    decoder = SSEDecoder()
    events = decoder.feed((STREAMS / file).read_bytes(), 0.0)
    events += decoder.close(0.0)
    return events


def _doc(
    text: str = "",
    *,
    role: str = "assistant",
    recipient: str = "all",
    mid: str = "m1",
    metadata: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A conversation document as the server sends it."""
    return {
        "message": {
            "id": mid,
            "author": {"role": role, "name": None, "metadata": {}},
            "content": content or {"content_type": "text", "parts": [text]},
            "status": "in_progress",
            "metadata": metadata or {},
            "recipient": recipient,
        },
        "conversation_id": "c1",
        "error": None,
    }


def _events(*items: Any | tuple[str, Any]) -> list[Event]:
    """Events at t = 0, 1, 2, ...: a ``(name, value)`` pair or a value (event ``message``).
    Values that are not strings are sent as JSON."""
    out = []
    for i, item in enumerate(items):
        name, value = item if isinstance(item, tuple) else ("message", item)
        data = value if isinstance(value, str) else json.dumps(value)
        out.append(Event(name, data, "", float(i)))
    return out


def _v1(*ops: Any) -> list[Event]:
    """A delta-v1 stream: the encoding header, then one ``delta`` event per op."""
    return _events(("delta_encoding", '"v1"'), *(("delta", op) for op in ops))


# --- the manifest ---------------------------------------------------------------------------


def test_the_manifest_has_the_four_streams() -> None:
    assert len(MANIFEST) == 4


@pytest.mark.parametrize("entry", MANIFEST, ids=[e["file"] for e in MANIFEST])
def test_manifest_stream(entry: dict[str, Any]) -> None:
    events = _decode(entry["file"])
    expected = entry["expected"]
    assert len(events) == expected["events"]
    assert dialects.detect(None, events) == NAME
    reading = read(events)
    choice = rebuild(reading.deltas).first
    assert choice.text == expected["text"]
    assert choice.reasoning == expected["reasoning"]
    assert [{"name": c.name, "arguments": c.arguments} for c in choice.tool_calls.values()] == (
        expected["tool_calls"]
    )
    assert reading.finish_reason == expected["finish_reason"]
    assert reading.output_tokens == expected["output_tokens"]
    assert reading.error is None
    assert all(d.text for d in reading.deltas)
    assert {d.kind for d in reading.deltas} == {TEXT}
    assert not any(d.replace for d in reading.deltas)


def test_askintab_details() -> None:
    events = _decode("chatgpt-web--askintab-delta-v1.sse")
    reading = read(events)
    assert reading.model == "gpt-4o"
    # [DONE] is cut off (no final newline), but message_stream_complete arrived.
    assert reading.ended
    assert reading.extra["encoding"] == "v1"
    # One delta per content event: 1 explicit append + 93 bare ones + the patch's append.
    assert len(reading.deltas) == 95
    assert [d.event for d in reading.deltas] == list(range(2, 97))
    assert reading.deltas[0].text == "This"
    assert reading.deltas[-1].text == ", and society."
    assert list(reading.notes) == []


def test_tool_messages_are_skipped() -> None:
    reading = read(_decode("chatgpt-web--ml-demo-delta-v1-tool-messages.sse"))
    assert reading.model == "gpt-4o-canmore"
    assert reading.ended
    assert reading.deltas[0].text == "看来"
    # after the header (0), the system message (1) and four bare message adds (2-5)
    assert reading.deltas[0].event == 6
    assert list(reading.notes) == [
        "Skipped messages not from the assistant to all: system, tool x3."
    ]


def test_empty_data_event_and_done() -> None:
    events = _decode("chatgpt-web--ml-demo-delta-v1.sse")
    assert events[-2].data == ""
    assert events[-1].data == "[DONE]"
    reading = read(events)
    assert reading.ended
    assert list(reading.notes) == []
    assert reading.finish_reason == "stop"


def test_cumulative_capture() -> None:
    events = _decode("chatgpt-web--ml-demo-cumulative.sse")
    reading = read(events)
    assert reading.extra["encoding"] == "cumulative"
    assert reading.model == "gpt-4o-mini"
    assert not reading.ended  # no [DONE] dispatched, no message_stream_complete
    assert reading.finish_reason is None  # cut while in_progress
    # Every snapshot extends the previous one: suffixes only, the first from event 3.
    assert reading.deltas[0].event == 3
    assert reading.deltas[0].text == "明"
    assert reading.deltas[1].text == "白"


def test_cut_stream() -> None:
    events = _decode("chatgpt-web--askintab-delta-v1.sse")[:10]  # header, add, 8 pieces
    reading = read(events)
    text = rebuild(reading.deltas).first.text
    assert text == "This statement presents a **critique of intellectual property (IP) laws"
    assert not reading.ended
    assert reading.finish_reason is None
    assert reading.model == "gpt-4o"


def test_cut_cumulative_stream() -> None:
    events = _decode("chatgpt-web--ml-demo-cumulative.sse")[:6]
    reading = read(events)
    assert rebuild(reading.deltas).first.text == "明白了"
    assert not reading.ended


# --- recognition ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "https://chatgpt.com/backend-api/conversation",
        "https://chatgpt.com/backend-api/f/conversation",
        "https://chat.openai.com/backend-anon/conversation",
        "https://chatgpt.com/backend-anon/f/conversation?x=1",
    ],
)
def test_url_matches(url: str) -> None:
    assert url_matches(url)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1/chat/completions",
        "https://chatgpt.com/v1/chat/completions",
        "https://chatgpt.com/backend-api/conversations?offset=0&limit=28",
        "https://chatgpt.com/",
        "not a url",
    ],
)
def test_url_does_not_match(url: str) -> None:
    assert not url_matches(url)


def test_shape() -> None:
    assert shape_matches(_events(("delta_encoding", '"v1"')))
    assert shape_matches(_events(_doc("Hi")))
    assert shape_matches(_events({"v": _doc("Hi"), "c": 0}))
    assert shape_matches(_events(("delta", {"p": "/message/content/parts/0", "o": "append"})))
    # Anthropic's message_start has a "message" too, but no author.
    anthropic = {"type": "message_start", "message": {"id": "m", "role": "assistant"}}
    assert not shape_matches(_events(anthropic))
    assert not shape_matches(_events({"choices": [{"delta": {"content": "Hi"}}]}))
    assert not shape_matches(_events("[DONE]", "not json"))
    assert not shape_matches([])


# --- the cumulative encoding ----------------------------------------------------------------


def test_cumulative_suffixes_and_a_rewrite() -> None:
    events = _events(
        _doc("Hel"), _doc("Hello"), _doc("Hello"), _doc("Goodbye"), _doc("Goodbye!"), "[DONE]"
    )
    reading = read(events)
    assert [(d.event, d.text, d.replace) for d in reading.deltas] == [
        (0, "Hel", False),
        (1, "lo", False),
        (3, "Goodbye", True),
        (4, "!", False),
    ]
    assert rebuild(reading.deltas).first.text == "Goodbye!"
    assert reading.ended
    assert [d.t for d in reading.deltas] == [0.0, 1.0, 3.0, 4.0]


def test_cumulative_finish_and_model() -> None:
    done = _doc("Hi", metadata={"model_slug": "gpt-4o", "finish_details": {"type": "max_tokens"}})
    reading = read(_events(_doc("H"), done))
    assert reading.finish_reason == "max_tokens"
    assert reading.model == "gpt-4o"
    assert reading.output_tokens is None


def test_cumulative_error() -> None:
    events = _events(
        _doc("Partial"), {"message": None, "conversation_id": "c1", "error": "Something broke."}
    )
    reading = read(events)
    assert reading.error == "Something broke."
    assert rebuild(reading.deltas).first.text == "Partial"
    assert not reading.ended


# --- delta v1 -------------------------------------------------------------------------------


def test_bare_v_reuses_previous_path_and_op() -> None:
    events = _v1(
        {"p": "", "o": "add", "v": _doc(), "c": 0},
        {"p": "/message/content/parts/0", "o": "append", "v": "One"},
        {"v": " two"},
        {"v": " three"},
        {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
        {"p": "/message/content/parts/0", "o": "append", "v": "!"},
    )
    reading = read(events)
    assert [(d.event, d.text) for d in reading.deltas] == [
        (2, "One"),
        (3, " two"),
        (4, " three"),
        (6, "!"),
    ]
    assert rebuild(reading.deltas).first.text == "One two three!"
    assert list(reading.notes) == []


def test_patch_list_applies_in_order() -> None:
    events = _v1(
        {"p": "", "o": "add", "v": _doc("Draft")},
        {
            "p": "",
            "o": "patch",
            "v": [
                {"p": "/message/content/parts/0", "o": "append", "v": " one"},
                {"p": "/message/content/parts/0", "o": "append", "v": " two"},
                {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
                {
                    "p": "/message/metadata",
                    "o": "append",
                    "v": {"finish_details": {"type": "stop"}},
                },
            ],
        },
        # a bare value after a patch is another patch
        {"v": [{"p": "/message/content/parts/0", "o": "append", "v": "."}]},
    )
    reading = read(events)
    assert [(d.event, d.text) for d in reading.deltas] == [
        (1, "Draft"),
        (2, " one"),
        (2, " two"),
        (3, "."),
    ]
    assert rebuild(reading.deltas).first.text == "Draft one two."
    assert reading.finish_reason == "stop"


def test_replace_truncate_and_remove() -> None:
    events = _v1(
        {"p": "", "o": "add", "v": _doc()},
        {"p": "/message/content/parts/0", "o": "append", "v": "Hello world"},
        {"p": "/message/content/parts/0", "o": "truncate", "v": 5},
        {"p": "/message/content/parts/0", "o": "append", "v": ", there"},
        {"p": "/message/content/parts/0", "o": "replace", "v": "Hello, there!"},
        {"p": "/message/content/parts/0", "o": "replace", "v": "Bye"},
        {"p": "/message/metadata/citations", "o": "remove", "v": None},
    )
    reading = read(events)
    assert [(d.text, d.replace) for d in reading.deltas] == [
        ("Hello world", False),
        ("Hello", True),
        (", there", False),
        ("!", False),
        ("Bye", True),
    ]
    assert rebuild(reading.deltas).first.text == "Bye"
    # removing a key that is not there is an op that could not be applied
    assert list(reading.notes) == [
        "Skipped 1 op(s) that could not be applied: remove at '/message/metadata/citations'."
    ]


def test_other_roles_and_recipients_are_ignored() -> None:
    events = _v1(
        {"p": "", "o": "add", "v": _doc("You are ChatGPT.", role="system", mid="s")},
        {"v": _doc("What is 2+2?", role="user", mid="u")},
        {"v": _doc("", recipient="python", mid="a1")},
        {"p": "/message/content/parts/0", "o": "append", "v": "print(2+2)"},
        {"p": "", "o": "add", "v": _doc("4", role="tool", mid="t")},
        {"p": "", "o": "add", "v": _doc("", mid="a2")},
        {"p": "/message/content/parts/0", "o": "append", "v": "It is 4."},
    )
    reading = read(events)
    assert [(d.event, d.text, d.replace) for d in reading.deltas] == [(7, "It is 4.", False)]
    assert list(reading.notes) == [
        "Skipped messages not from the assistant to all: system, user, assistant (to python), tool."
    ]


def test_later_assistant_message_replaces_the_answer() -> None:
    first = _doc("Let me check.", mid="a1", metadata={"finish_details": {"type": "stop"}})
    events = _v1(
        {"p": "", "o": "add", "v": first},
        {"p": "", "o": "add", "v": _doc("", recipient="browser", mid="a2")},
        {"p": "/message/content/parts/0", "o": "append", "v": "search('x')"},
        {"p": "", "o": "add", "v": _doc("", mid="a3")},
        {"p": "/message/content/parts/0", "o": "append", "v": "Found"},
        {"v": " it."},
    )
    reading = read(events)
    assert [(d.text, d.replace) for d in reading.deltas] == [
        ("Let me check.", False),
        ("Found", True),
        (" it.", False),
    ]
    assert rebuild(reading.deltas).first.text == "Found it."
    # the first message's finish reason went with its text
    assert reading.finish_reason is None
    assert "2 assistant messages had text; the answer is the last one's." in reading.notes


def test_typed_events_and_comments_make_no_deltas() -> None:
    events = _v1(
        {"p": "", "o": "add", "v": _doc()},
        {"p": "/message/content/parts/0", "o": "append", "v": "Hi"},
    ) + _events(
        {"type": "title_generation", "title": "Greeting", "conversation_id": "c1"},
        {"type": "message_stream_complete", "conversation_id": "c1"},
        {"type": "conversation_detail_metadata", "default_model_slug": "gpt-4o"},
        ("ping", ""),
    )
    reading = read(events)
    assert [d.text for d in reading.deltas] == ["Hi"]
    assert reading.ended
    assert reading.extra["title"] == "Greeting"
    assert reading.model is None  # default_model_slug is not the model that answered


def test_thoughts_are_reasoning() -> None:
    thoughts = _doc(content={"content_type": "thoughts", "thoughts": []}, mid="r")
    events = _v1(
        {"p": "", "o": "add", "v": thoughts},
        {
            "p": "/message/content/thoughts",
            "o": "append",
            "v": [{"summary": "Reading", "content": "The user", "finished": False}],
        },
        {"p": "/message/content/thoughts/0/content", "o": "append", "v": " asks"},
        {"v": " for 4."},
        {"p": "/message/content/thoughts", "o": "append", "v": [{"summary": "S", "content": ""}]},
        {"p": "/message/content/thoughts/1/content", "o": "append", "v": " Done."},
        {"p": "", "o": "add", "v": _doc(mid="a")},
        {"p": "/message/content/parts/0", "o": "append", "v": "4"},
    )
    reading = read(events)
    assert [(d.kind, d.part, d.text) for d in reading.deltas] == [
        (REASONING, 0, "The user"),
        (REASONING, 0, " asks"),
        (REASONING, 0, " for 4."),
        (REASONING, 1, " Done."),
        (TEXT, 0, "4"),
    ]
    choice = rebuild(reading.deltas).first
    assert choice.reasoning == "The user asks for 4. Done."
    assert choice.text == "4"
    assert not any(d.replace for d in reading.deltas)  # thoughts do not displace the text


def test_error_event_and_error_field() -> None:
    events = _v1({"p": "", "o": "add", "v": _doc("Hi")}) + _events(
        ("error", json.dumps({"error": {"message": "Rate limited", "code": "429"}}))
    )
    reading = read(events)
    assert reading.error == "Rate limited"
    assert rebuild(reading.deltas).first.text == "Hi"
    assert read(_events({"error": "Conversation not found"})).error == "Conversation not found"
    assert read(_events(("error", "plain words"))).error == "plain words"
    typed = {"type": "error", "message": "Too many requests", "conversation_id": "c1"}
    assert read(_events(typed)).error == "Too many requests"


def test_messages_without_ids_are_one_message() -> None:
    def bare(text: str) -> dict[str, Any]:
        doc = _doc(text)
        del doc["message"]["id"]
        return doc

    reading = read(_events(bare("A"), bare("AB"), bare("ABC")))
    assert [(d.text, d.replace) for d in reading.deltas] == [
        ("A", False),
        ("B", False),
        ("C", False),
    ]


def test_odd_input_never_raises() -> None:
    events = _v1(
        {"v": "a bare value before any op"},
        {"p": "", "o": "add", "v": _doc()},
        {"p": "/message/content/parts/0", "o": "append", "v": "Ok"},
        {"p": "/message/nowhere/deep", "o": "replace", "v": 1},
        {"p": "/message/content/parts/7", "o": "append", "v": "x"},
        {"p": "/message/content/parts/0", "o": "frobnicate", "v": "x"},
        {"p": "/message/content/parts/0", "o": "truncate", "v": "five"},
        {"p": "/message/content/parts/0", "o": "patch", "v": "not a list"},
        {"p": "", "o": "patch", "v": [1, {"v": "no path"}, {"p": "/a", "o": "add"}]},
        {"p": "/message/content/parts/0", "o": "append", "v": 42},
        {"p": "no-slash", "o": "add", "v": 1},
        [1, 2, 3],
        "null",
    ) + _events("{not json", "", "[DONE]")
    reading = read(events)
    assert rebuild(reading.deltas).first.text == "Ok"
    assert reading.ended
    assert "1 event(s) with data that is not JSON were skipped." in reading.notes
    assert len(reading.notes) > 5


def test_unknown_encoding_is_noted() -> None:
    reading = read(_events(("delta_encoding", '"v2"')))
    assert reading.extra["encoding"] == "v2"
    assert list(reading.notes) == ["Unknown delta encoding '\"v2\"'; read as v1."]


def test_long_stream_is_linear() -> None:
    pieces = ["word "] * 20000
    events = _v1(
        {"p": "", "o": "add", "v": _doc()},
        {"p": "/message/content/parts/0", "o": "append", "v": pieces[0]},
        *({"v": p} for p in pieces[1:]),
        {"p": "/message/metadata", "o": "append", "v": {"finish_details": {"type": "stop"}}},
    )
    reading = read(events)
    assert len(reading.deltas) == 20000
    assert rebuild(reading.deltas).first.text == "word " * 20000
    assert reading.finish_reason == "stop"


def test_registered() -> None:
    assert NAME in dialects.names()
    assert dialects.read(NAME, _events(_doc("Hi"))).deltas[0].text == "Hi"
    assert chatgpt_web.NAME == "chatgpt-web"
