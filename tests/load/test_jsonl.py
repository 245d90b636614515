"""sse-inspect's own JSONL export read back as a capture: the same events, times and answer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sse_inspect.analysis.analysis import decode_stream
from sse_inspect.cli import main
from sse_inspect.load import CaptureError, Tally, read_capture

from ..conftest import SAMPLES

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".flow", ".har", ".sse"})


def _analyze(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", "--json", "--events", str(path)])
    assert result.exit_code == 0, result.output
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    return streams


def _line(flow_id: str, data: str, t: float | None = None, **more: str) -> str:
    event = {"flow_id": flow_id, "t": t, "event": "message", "id": "", "data": data}
    return json.dumps(event | more | {"dialect": "generic", "delta": []})


def _write(path: Path, *lines: str) -> Path:
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_analyze_of_the_jsonl_export_gives_the_same_events_and_answer(
    capture: Path, tmp_path: Path
) -> None:
    out = tmp_path / "x.jsonl"
    result = CliRunner().invoke(main, ["export", str(capture), "-o", str(out)])
    assert result.exit_code == 0, result.output
    original, again = _analyze(capture), _analyze(out)
    assert len(again) == len(original)
    for a, b in zip(original, again, strict=True):
        assert [(f["event"], f["id"], f["data"]) for f in b["frames"]] == [
            (f["event"], f["id"], f["data"]) for f in a["frames"]
        ]
        assert (b["flow_id"], b["text"], b["dialect"]) == (a["flow_id"], a["text"], a["dialect"])
        assert b["timing"] == a["timing"]
        if a["ttft_ms"] is None:
            assert b["ttft_ms"] is None
        else:
            assert b["ttft_ms"] == pytest.approx(a["ttft_ms"], abs=0.001)
        assert (b["method"], b["url"], b["status"]) == (None, None, None)


def test_ids_multi_line_data_and_event_names_survive(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "x.jsonl",
        _line("f1", "a\nb", 0.1, event="delta", id="1"),
        _line("f1", "", 0.2, id="1"),  # the same last-event-ID: no id: line
        _line("f1", " lead", 0.3, id=""),  # the ID reset
        _line("f1", "x", 0.4, id="7"),
    )
    (s,) = read_capture(path)
    assert s.body == (
        b"event: delta\nid: 1\ndata: a\ndata: b\n\n"
        b"data: \n\n"
        b"id: \ndata:  lead\n\n"
        b"id: 7\ndata: x\n\n"
    )
    events = decode_stream(s).events
    assert [(e.event, e.id, e.data, e.t) for e in events] == [
        ("delta", "1", "a\nb", 0.1),
        ("message", "1", "", 0.2),
        ("message", "", " lead", 0.3),
        ("message", "7", "x", 0.4),
    ]
    assert s.request_start == 0.0 and s.timing == "per-chunk" and s.response_end == 0.4


def test_streams_by_flow_id_and_a_flow_id_seen_again_is_a_new_stream(tmp_path: Path) -> None:
    path = _write(
        tmp_path / "x.jsonl",
        _line("a", "1", id="x"),
        _line("a", "2", id="x"),
        _line("b", "3", id="x"),
        "",
        _line("a", "4", id="x"),
    )
    tally = Tally()
    streams = list(read_capture(path, tally=tally))
    assert [s.flow_id for s in streams] == ["a", "b", "a"]
    assert [len(decode_stream(s).events) for s in streams] == [2, 1, 1]
    assert all(s.body.startswith(b"id: x\n") for s in streams)  # each stream sets its ID again
    assert all(s.timing == "none" and s.request_start is None for s in streams)
    assert tally == Tally("jsonl", 3, 3)


def test_a_first_line_longer_than_the_sniffed_head_is_still_jsonl(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", _line("a", "x" * 200_000, 0.5), _line("a", "y", 0.6))
    (s,) = read_capture(path)
    assert [e.data[:1] for e in decode_stream(s).events] == ["x", "y"]


def test_a_damaged_line_is_an_error_after_the_streams_before_it(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", _line("a", "1"), _line("b", "2"), '{"flow_id": "c", "eve')
    got = []
    with pytest.raises(CaptureError, match=r"x.jsonl: line 3 is not an sse-inspect JSONL event"):
        for s in read_capture(path):
            got.append(s.flow_id)
    assert got == ["a"]  # "b" was still being read


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ('{"flow_id": "a", "event": "message", "data": 1}', "'data' is not a string"),
        ('{"flow_id": "a", "event": "message", "data": "x", "t": "0"}', "'t' is not a number"),
        ('{"flow_id": "a", "event": "a\\nb", "data": "x"}', "line break"),
    ],
)
def test_lines_that_no_event_could_be_are_refused(tmp_path: Path, line: str, why: str) -> None:
    path = _write(tmp_path / "x.jsonl", _line("a", "1"), line)
    with pytest.raises(CaptureError, match=why):
        list(read_capture(path))


def test_progress_while_reading(tmp_path: Path) -> None:
    path = _write(tmp_path / "x.jsonl", *(_line(f"f{i}", "x" * 1000) for i in range(5)))
    seen: list[int] = []
    assert len(list(read_capture(path, on_progress=seen.append))) == 5
    assert len(seen) >= 5 and seen == sorted(seen) and seen[-1] == path.stat().st_size
