"""The addon's end-marker test agrees with the dialects, and stays cheap."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sse_inspect.analysis.analysis import LENIENT_NOTE, analyze
from sse_inspect.capture import ends
from sse_inspect.capture.ends import finished
from sse_inspect.load import read_capture
from sse_inspect.sse import Event

from ..conftest import SAMPLES, SHARED

CAPTURES = sorted(
    [
        *SAMPLES.glob("*.flow"),
        *SAMPLES.glob("*.har"),
        *SAMPLES.glob("*.sse"),
        *(SHARED / "streams").glob("*.sse"),
    ]
)


def ev(data: str, event: str = "message") -> Event:
    return Event(event, data, "", 0.0)


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_finished_agrees_with_the_dialects(path: Path) -> None:
    streams = list(read_capture(path))
    assert streams
    for stream in streams:
        a = analyze(stream)
        if LENIENT_NOTE in a.reading.notes:
            continue  # its end marker, if any, was never dispatched
        assert finished(a.decoded.events) == a.reading.ended, (stream.url, a.dialect)


def test_the_corpus_has_both_kinds_of_ending() -> None:
    verdicts = {
        finished(analyze(s).decoded.events) for path in CAPTURES for s in read_capture(path)
    }
    assert verdicts == {True, False}


@pytest.mark.parametrize(
    "event",
    [
        ev("[DONE]"),
        ev(" [DONE] "),
        ev('{"type": "message_stop"}', "message_stop"),
        ev('{"type": "message_stop"}'),  # the type alone
        ev("{}", "message_stop"),  # the event name when the data has no type
        ev('{"type": "response.completed", "response": {}}', "response.completed"),
        ev('{"type": "response.incomplete"}'),
        ev('{"type": "response.failed"}'),
        ev('{"type": "response.done"}'),
        ev('{"type": "message_stream_complete", "conversation_id": "c"}'),
        ev('{"candidates": [{"content": {"parts": []}, "finishReason": "STOP"}]}'),
        ev('{"candidates": [{}, {"finishReason": "MAX_TOKENS"}]}'),
        ev('{"promptFeedback": {"blockReason": "SAFETY"}}'),
    ],
)
def test_each_end_marker_counts(event: Event) -> None:
    assert finished([ev('{"x": 1}'), event])


@pytest.mark.parametrize(
    "event",
    [
        ev("data [DONE] soon"),
        ev('{"type": "content_block_delta"}', "message_stop"),  # the type wins over the name
        ev("message_stop", "message_stop"),  # not a JSON object
        ev('["message_stop"]'),
        ev('{"type": "response.output_text.delta", "delta": "response.completed"}'),
        ev('{"candidates": [{"finishReason": ""}]}'),
        ev('{"candidates": [{"finishReason": null}], "text": "finishReason"}'),
        ev('{"promptFeedback": {"blockReason": null}}'),
        ev('{"candidates": [{"finishReason": "STOP"'),  # cut short
    ],
)
def test_look_alikes_do_not(event: Event) -> None:
    assert not finished([event])


def test_only_the_last_events_are_looked_at() -> None:
    tail = [ev('{"usage": {}}')] * (ends.TAIL - 1)
    assert finished([ev("[DONE]"), *tail])
    assert not finished([ev("[DONE]"), *tail, ev('{"x": 1}')])
    assert not finished([])


def test_json_is_parsed_only_when_a_marker_may_be_there(monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[str] = []
    real = json.loads

    def loads(data: str) -> object:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr(ends.json, "loads", loads)
    plain = [ev('{"choices": [{"delta": {"content": "hi"}}]}') for _ in range(10)]
    assert not finished(plain)
    assert parsed == []
    assert finished([*plain, ev('{"type": "message_stop"}')])
    assert parsed == ['{"type": "message_stop"}']
