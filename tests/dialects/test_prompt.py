"""Each dialect's ``prompt()``: the conversation a request body sent, for transcripts."""

from __future__ import annotations

import json

import pytest

from sse_inspect.dialects import prompt


def body(value: object) -> bytes:
    return json.dumps(value).encode()


def text(t: str) -> dict[str, str]:
    return {"type": "text", "text": t}


def test_openai_chat_messages_with_string_and_list_of_parts() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:"}}
    call = {"id": "1", "type": "function", "function": {"name": "look", "arguments": "{}"}}
    sent = {
        "model": "gpt-4o",
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": [text("What is"), text("this?"), image]},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "1", "content": "a cat"},
        ],
    }
    assert prompt("openai-chat", body(sent)) == [
        ("system", "Be brief."),
        ("user", "What is\n\nthis?\n\n[image_url]"),
        ("assistant", "[tool call: look]"),
        ("tool", "a cat"),
    ]


def test_openai_responses_input_string_or_items_and_instructions() -> None:
    assert prompt("openai-responses", body({"input": "Hi", "instructions": "Be kind."})) == [
        ("system", "Be kind."),
        ("user", "Hi"),
    ]
    items = [
        {"role": "developer", "content": "Answer in French."},
        {"role": "user", "content": [{"type": "input_text", "text": "Hello"}]},
        {"type": "function_call_output", "call_id": "1", "output": "{}"},  # no role: not a message
        {"role": "assistant", "content": [{"type": "output_text", "text": "Bonjour"}]},
    ]
    assert prompt("openai-responses", body({"input": items})) == [
        ("developer", "Answer in French."),
        ("user", "Hello"),
        ("assistant", "Bonjour"),
    ]


def test_anthropic_system_string_or_blocks_and_content_blocks() -> None:
    messages = [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "Hello"}]},
        {"role": "user", "content": [{"type": "image", "source": {}}, text("And this?")]},
    ]
    expected = [("user", "Hi"), ("assistant", "Hello"), ("user", "[image]\n\nAnd this?")]
    as_string = {"system": "You are terse.", "messages": messages}
    assert prompt("anthropic", body(as_string)) == [("system", "You are terse."), *expected]
    blocks = [{"type": "text", "text": "You are terse."}, {"type": "text", "text": "Really."}]
    as_blocks = {"system": blocks, "messages": messages}
    assert prompt("anthropic", body(as_blocks)) == [
        ("system", "You are terse.\n\nReally."),
        *expected,
    ]


def test_gemini_system_instruction_and_contents() -> None:
    sent = {
        "systemInstruction": {"parts": [{"text": "Be brief."}]},
        "contents": [
            {"role": "user", "parts": [{"text": "Hi"}, {"text": "there"}]},
            {"role": "model", "parts": [{"text": "Hello"}]},
            {"parts": [{"inlineData": {"mimeType": "image/png", "data": ""}}]},
        ],
    }
    assert prompt("gemini", body(sent)) == [
        ("system", "Be brief."),
        ("user", "Hi\n\nthere"),
        ("model", "Hello"),
        ("user", "[inlineData]"),
    ]


def test_chatgpt_web_author_roles_and_parts() -> None:
    sent = {
        "action": "next",
        "messages": [
            {"author": {"role": "user"}, "content": {"content_type": "text", "parts": ["Hi"]}},
            {"author": {"role": "user"}, "content": {"parts": ["one", "two"]}},
        ],
    }
    assert prompt("chatgpt-web", body(sent)) == [("user", "Hi"), ("user", "one\n\ntwo")]


@pytest.mark.parametrize(
    ("raw", "dialect"),
    [
        (b'{"messages": [', "openai-chat"),  # cut JSON
        (b"\xff\xfe not json", "anthropic"),
        (b"[1, 2]", "openai-chat"),  # JSON, but not an object
        (b"", "gemini"),
        (b'{"messages": "Hi"}', "openai-chat"),  # another shape
        (b'{"messages": [{"role": "user", "content": "Hi"}]}', "generic"),  # unknown dialect
    ],
)
def test_unreadable_bodies_give_no_messages(raw: bytes, dialect: str) -> None:
    assert prompt(dialect, raw) == []
