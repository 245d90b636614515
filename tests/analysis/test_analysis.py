"""The verdict of one stream (``Analysis.complete``) and the lenient path for a stream that
dispatched nothing but ended inside an event."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from sse_inspect.analysis.analysis import LENIENT_NOTE, Analysis, analyze
from sse_inspect.load import read_capture
from sse_inspect.sse import Event

from ..conftest import SAMPLES


def _analysis(path: Path) -> Analysis:
    (stream,) = read_capture(path)
    return analyze(stream)


BASE = _analysis(SAMPLES / "openai-chat.flow")
OPEN = Event("message", "data: half", "", 0.0)


@pytest.mark.parametrize(
    ("decode_error", "dialect_error", "ended", "transport_complete", "unterminated", "complete"),
    [
        (None, None, True, True, None, True),  # end marker, clean end
        (None, None, True, False, None, True),  # end marker, then the client hung up
        (None, None, True, False, OPEN, True),  # end marker, then a cut trailing event
        (None, None, False, True, None, True),  # no marker (generic), clean end
        (None, None, False, True, OPEN, False),  # clean end, but inside an event
        (None, None, False, False, None, False),  # no marker, transport cut
        ("corrupt gzip", None, True, True, None, False),  # body not decoded to the end
        (None, "overloaded", True, True, None, False),  # the stream reported an error
        ("corrupt gzip", "overloaded", False, False, OPEN, False),
    ],
)
def test_complete_truth_table(
    decode_error: str | None,
    dialect_error: str | None,
    ended: bool,
    transport_complete: bool,
    unterminated: Event | None,
    complete: bool,
) -> None:
    a = dataclasses.replace(
        BASE,
        stream=dataclasses.replace(BASE.stream, complete=transport_complete),
        decoded=dataclasses.replace(BASE.decoded, error=decode_error, unterminated=unterminated),
        reading=dataclasses.replace(BASE.reading, error=dialect_error, ended=ended),
    )
    assert a.complete is complete


def test_a_stream_that_dispatched_nothing_is_read_from_its_open_event(tmp_path: Path) -> None:
    path = tmp_path / "blocked.sse"
    # a Gemini prompt block with no blank line at the end: a browser dispatches nothing
    path.write_bytes(b'data: {"promptFeedback": {"blockReason": "SAFETY"}}\r\n')
    a = _analysis(path)
    assert a.decoded.events == [] and a.decoded.unterminated is not None
    assert a.dialect == "gemini"
    assert a.reading.extra["prompt_block_reason"] == "SAFETY"
    assert LENIENT_NOTE in a.reading.notes
    # the block would end the stream, but it was never dispatched: not complete
    assert a.reading.ended is False and a.complete is False


def test_the_lenient_path_builds_a_new_reading(tmp_path: Path) -> None:
    path = tmp_path / "open.sse"
    path.write_bytes(b"data: [DONE]")  # openai-chat's end marker, never dispatched
    a = _analysis(path)
    assert a.reading.ended is False and a.reading.notes[-1] == LENIENT_NOTE
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.reading.ended = True  # type: ignore[misc]


def test_a_normal_stream_takes_no_lenient_path() -> None:
    assert LENIENT_NOTE not in BASE.reading.notes and BASE.complete
