"""Cadence figures from known arrival times."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse_inspect.analysis import analyze
from sse_inspect.load import read_capture
from sse_inspect.metrics import percentile

from . import flows


def test_percentile_interpolates_linearly_like_numpy() -> None:
    data = [10.0, 20.0, 30.0, 40.0]
    assert percentile(data, 0) == 10 and percentile(data, 100) == 40
    assert percentile(data, 50) == 25  # numpy.percentile([10,20,30,40], 50)
    assert percentile(data, 90) == pytest.approx(37.0)
    assert percentile([5.0], 99) == 5.0


def _analysis(tmp_path: Path, chunks: list[tuple[float, bytes]], stall_ms: float = 1000.0):  # type: ignore[no-untyped-def]
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [flows.sse_flow(chunks)]))
    return analyze(s, stall_ms)


def test_cadence_from_chunk_times(tmp_path: Path) -> None:
    chunks = [
        (0.100, b": keep-alive\n\n"),  # first byte, but no event
        (0.200, b"event: meta\ndata:\n\n"),  # first event, empty data: not output
        (0.300, b"data: a\n\n"),  # first output
        (0.350, b"data: b\n\n"),
        (1.550, b"data: c\n\n"),  # a 1.2 s stall
        (1.600, b"data: d\n\n"),
    ]
    c = _analysis(tmp_path, chunks).cadence
    assert c.timing == "per-chunk"
    assert c.ttfb_ms == pytest.approx(100)
    assert c.ttf_event_ms == pytest.approx(200)
    assert c.ttft_ms == pytest.approx(300)
    assert c.duration_ms == pytest.approx(1600)
    assert c.output_tokens == 4 and c.tokens_source == "events"
    assert c.tokens_per_s == pytest.approx(4 / 1.3)
    assert c.gap_ms is not None
    assert c.gap_ms.max == pytest.approx(1200) and c.gap_ms.p50 == pytest.approx(50)
    assert c.stalls == 1


def test_stall_threshold_is_an_option(tmp_path: Path) -> None:
    chunks = [(0.1, b"data: a\n\n"), (0.4, b"data: b\n\n"), (0.5, b"data: c\n\n")]
    assert _analysis(tmp_path, chunks, stall_ms=250).cadence.stalls == 1
    assert _analysis(tmp_path, chunks, stall_ms=1000).cadence.stalls == 0


def test_one_event_has_no_gaps_and_no_rate(tmp_path: Path) -> None:
    c = _analysis(tmp_path, [(0.1, b"data: a\n\n")]).cadence
    assert (
        c.gap_ms is None
        and c.tokens_per_s is None
        and c.stalls == 0
        and c.ttft_ms == pytest.approx(100)
    )


def test_without_timing_every_time_is_unknown(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.1, b"data: a\n\n"), (0.2, b"data: b\n\n")], record=False)
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    c = analyze(s).cadence
    assert c.timing == "none" and c.output_tokens == 2
    assert (c.ttfb_ms, c.ttft_ms, c.duration_ms, c.gap_ms, c.tokens_per_s, c.stalls) == (
        None,
        None,
        None,
        None,
        None,
        None,
    )
