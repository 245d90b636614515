"""Every real stream of ../shared/streams rebuilds to what manifest.json expects."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sse_inspect.analysis.analysis import analyze
from sse_inspect.load import read_capture
from sse_inspect.present.json import stream_record

from ..conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = json.loads((STREAMS / "manifest.json").read_text("utf-8"))
EXTRA_KEYS = ("refusal", "choices", "reasoning_parts", "prompt_block_reason")


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_stream_rebuilds_to_its_manifest(entry: dict[str, Any]) -> None:
    (stream,) = read_capture(STREAMS / entry["file"])
    record = stream_record(analyze(stream))
    expected = entry["expected"]
    assert record["dialect"] == entry["dialect"]
    assert record["events"] == expected["events"]
    assert record["text"] == expected["text"]
    assert record["reasoning"] == expected["reasoning"]
    assert record["tool_calls"] == expected["tool_calls"]
    assert record["finish_reason"] == expected["finish_reason"]
    reported = record["output_tokens"] if record["tokens_source"] == "usage" else None
    assert reported == expected["output_tokens"]
    for key in EXTRA_KEYS:
        if key in expected:
            value = record[key] if key in record else record["extra"][key]
            assert value == expected[key], key


def test_a_gateway_url_is_recognised_by_the_sdks_request_headers() -> None:
    from sse_inspect import dialects
    from sse_inspect.sse import Event

    events = [Event("message", '{"whatever": 1}', "", 0.0)]
    gateway = "https://llm-gateway.example.com/api/stream"
    assert dialects.detect(gateway, events) == "generic"
    assert dialects.detect(gateway, events, ["Anthropic-Version"]) == "anthropic"
    assert dialects.detect(gateway, events, ["x-goog-api-client"]) == "gemini"
    assert dialects.detect(
        "https://api.openai.com/v1/responses", events, ["anthropic-version"]
    ) == (
        "openai-responses"  # the URL rule comes first
    )
