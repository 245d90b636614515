"""The dialect registry: every dialect has one shape, and detection's order of rules."""

from __future__ import annotations

import dataclasses

import pytest

from sse_inspect import dialects
from sse_inspect.dialects import DIALECTS, anthropic, gemini, openai_chat, openai_responses
from sse_inspect.dialects.base import Reading
from sse_inspect.sse import Event

CHUNK = Event("message", '{"object": "chat.completion.chunk", "choices": []}', "", 0.0)


def test_every_dialect_has_the_protocols_names_and_reads_to_a_frozen_reading() -> None:
    assert list(DIALECTS) == [
        "openai-responses",
        "openai-chat",
        "anthropic",
        "gemini",
        "chatgpt-web",
        "generic",
    ]
    for name, d in DIALECTS.items():
        assert name == d.NAME
        assert all(h == h.lower() for h in d.REQUEST_HEADERS)
        reading = d.read([])
        assert isinstance(reading, Reading) and reading.deltas == ()
        assert d.prompt(b"") == []


def test_request_header_hints_belong_to_one_dialect_each() -> None:
    owners = [h for d in DIALECTS.values() for h in d.REQUEST_HEADERS]
    assert len(owners) == len(set(owners))
    assert "anthropic-version" in anthropic.REQUEST_HEADERS
    assert {"x-goog-api-key", "x-goog-api-client"} <= gemini.REQUEST_HEADERS


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        # both "…/responses" (Responses) and "anthropic" in the path (Anthropic) match:
        # the first rule in registry order wins
        ("https://gw.example.com/anthropic/v1/responses", "openai-responses"),
        # Azure chat completions under a proxy path naming Anthropic: openai-chat is earlier
        ("https://gw.example.com/anthropic/chat/completions", "openai-chat"),
        # Claude on Vertex AI: Gemini's rule steps aside for an Anthropic path
        (
            "https://aiplatform.googleapis.com/v1/projects/p/locations/l/publishers/anthropic"
            "/models/claude:streamRawPredict",
            "anthropic",
        ),
    ],
)
def test_when_two_url_rules_match_the_registry_order_decides(url: str, expected: str) -> None:
    matching = [d.NAME for d in DIALECTS.values() if d.url_matches(url)]
    assert len(matching) >= 1 and matching[0] == expected
    assert dialects.detect(url, [CHUNK]) == expected


def test_two_url_rules_really_overlap_for_the_first_case() -> None:
    url = "https://gw.example.com/anthropic/v1/responses"
    assert openai_responses.url_matches(url) and anthropic.url_matches(url)
    url = "https://gw.example.com/anthropic/chat/completions"
    assert openai_chat.url_matches(url) and anthropic.url_matches(url)


def test_url_then_headers_then_shape() -> None:
    unknown = "https://gw.example.com/stream"
    assert dialects.detect(unknown, [CHUNK]) == "openai-chat"  # the shape
    assert dialects.detect(unknown, [CHUNK], ["Anthropic-Version"]) == "anthropic"  # header
    assert dialects.detect("https://x/v1/messages", [CHUNK], ["x-goog-api-key"]) == "anthropic"
    assert dialects.detect(None, []) == "generic"


def _shared_streams() -> list[tuple[str, list[Event]]]:
    from sse_inspect.sse import SSEDecoder

    from ..conftest import SHARED

    cases = []
    for path in sorted((SHARED / "streams").glob("*.sse")):
        decoder = SSEDecoder()
        events = decoder.feed(path.read_bytes(), 0.0) + decoder.close(0.0)
        cases.append((path.name, events))
    return cases


@pytest.mark.parametrize(("name", "events"), _shared_streams(), ids=lambda v: str(v)[:40])
def test_a_reader_fed_one_event_at_a_time_reads_what_read_does(
    name: str, events: list[Event]
) -> None:
    """The live view feeds ``reader()`` event by event and takes each delta as it comes (it
    clears the list after each event): every dialect must read each stream the same way."""
    for dialect in DIALECTS.values():
        whole = dialect.read(events)
        reader = dialect.reader()
        deltas = reader.deltas
        seen = []
        for i, e in enumerate(events):
            reader.event(i, e)
            seen += deltas
            deltas.clear()
        assert tuple(seen) == whole.deltas, (name, dialect.NAME)
        assert dataclasses.replace(reader.finish(), deltas=whole.deltas) == whole, (
            name,
            dialect.NAME,
        )
