"""The report's charts: bins that count every value, coordinates inside the viewBox,
escaped text, bounded size for long streams."""

from __future__ import annotations

import itertools
import math
import random
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_inspect.present import svg

HOSTILE = '<script>alert("x")</script>&"\'>'


def view_box(chart: str) -> tuple[float, float]:
    m = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', chart)
    assert m, chart[:200]
    return float(m[1]), float(m[2])


def coordinates(chart: str) -> list[tuple[str, float]]:
    """Every absolute coordinate the chart draws at, as ("x" or "y", value)."""
    found: list[tuple[str, float]] = []
    for name, value in re.findall(r'\b(x|y|x1|x2|y1|y2|cx|cy)="(-?[\d.]+)"', chart):
        found.append((name[-1] if name[-1] in "xy" else name[0], float(value)))
    for name, value in re.findall(r'\b(width|height)="(-?[\d.]+)"', chart):
        assert float(value) >= 0, (name, value)
    for d in re.findall(r'\bd="([^"]*)"', chart):
        x = y = 0.0
        for cmd, args in re.findall(r"([MHVv])([-\d.,]+)", d):
            nums = [float(n) for n in args.split(",")]
            if cmd == "M":
                x, y = nums
            elif cmd == "H":
                x = nums[0]
            elif cmd == "V":
                y = nums[0]
            else:
                y += nums[0]
            found += [("x", x), ("y", y)]
    return found


def assert_in_view(chart: str) -> None:
    width, height = view_box(chart)
    for axis, v in coordinates(chart):
        assert 0 <= v <= (width if axis == "x" else height), (axis, v)
    # rectangles end inside too
    for x, y, w, h in re.findall(
        r'<rect[^>]* x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', chart
    ):
        assert float(x) + float(w) <= width + 0.2 and float(y) + float(h) <= height + 0.2


def bar_counts(chart: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="bar" data-count="(\d+)"', chart)]


# --- bins ------------------------------------------------------------------------------------


@given(st.lists(st.floats(min_value=0, max_value=1e6, allow_nan=False), max_size=300))
def test_bins_hold_every_value_once(values: list[float]) -> None:
    bs = svg.bins(values)
    assert sum(b.count for b in bs) == len(values)
    for a, b in itertools.pairwise(bs):
        assert a.hi == b.lo and a.lo <= a.hi
    for v in values:  # each value lies in the bin that counts it
        assert any(b.lo <= v <= b.hi for b in bs)


@pytest.mark.parametrize("log", [True, False, None])
def test_bins_of_gaps_in_log_and_linear_space(log: bool | None) -> None:
    gaps = [18.0, 20.0, 25.0, 31.0, 55.0, 1387.0, 0.5, 40.0]
    bs = svg.bins(gaps, log=log)
    assert sum(b.count for b in bs) == len(gaps)
    assert bs[0].lo == min(gaps) and bs[-1].hi == max(gaps)


def test_bins_of_equal_values_and_of_nothing() -> None:
    assert svg.bins([]) == []
    assert svg.bins([5.0, 5.0, 5.0]) == [svg.Bin(5.0, 5.0, 3)]
    assert sum(b.count for b in svg.bins([0.0, 0.0, 3.0])) == 3  # zeros: linear bins
    assert sum(b.count for b in svg.bins([1.0, math.inf, math.nan, 2.0])) == 2


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    assert svg.nice_ticks(0, 4170) == [0, 1000, 2000, 3000, 4000]
    assert svg.nice_ticks(0, 63, 4) == [0, 20, 40, 60]
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(5, 5) == [5]


# --- the charts ------------------------------------------------------------------------------


def gaps_sample(n: int = 60, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [rng.uniform(15, 60) for _ in range(n)] + [1387.0]


def test_histogram_bars_count_every_gap_and_stay_in_view() -> None:
    gaps = gaps_sample()
    marks = [svg.Mark(37, "p50 37 ms", "p50"), svg.Mark(5000, "off the scale", "p99")]
    chart = svg.histogram(gaps, marks=marks)
    assert sum(bar_counts(chart)) == len(gaps)
    assert f'data-values="{len(gaps)}"' in chart
    assert 'class="mark mark-p50"' in chart
    assert_in_view(chart)


def test_histogram_of_one_value_and_of_none() -> None:
    for values in ([12.0], [12.0, 12.0], []):
        chart = svg.histogram(values)
        assert sum(bar_counts(chart)) == len(values)
        assert_in_view(chart)


def points(n: int, kinds: tuple[str, ...] = ("text",), span_ms: float = 4000) -> list[svg.Point]:
    return [
        svg.Point(400 + span_ms * i / max(n, 1), i + 1.0, kinds[i * len(kinds) // n])
        for i in range(n)
    ]


def test_timeline_draws_each_event_as_a_tick_and_each_phase_apart() -> None:
    pts = points(60, ("reasoning", "text"))
    chart = svg.timeline(
        pts,
        end_ms=4500,
        marks=[svg.Mark(380, "TTFB 380 ms", "ttfb"), svg.Mark(400, "TTFT 400 ms", "ttft")],
        stalls=[svg.Span(1500, 2900, "stall 1,400 ms")],
        wait_until=400,
    )
    ticks = re.findall(r'class="rug rug-(\w+)" data-ticks="(\d+)"', chart)
    assert dict(ticks) == {"reasoning": "30", "text": "30"}
    assert chart.count('class="line line-reasoning"') == 1
    assert chart.count('class="line line-text"') == 1
    assert chart.count('class="stall"') == 1 and 'class="wait"' in chart
    assert "TTFB 380 ms" in chart and "TTFT 400 ms" in chart
    assert_in_view(chart)


def test_timeline_of_a_long_stream_is_bounded() -> None:
    small = svg.timeline(points(svg.MAX_COLUMNS), end_ms=4500)
    large = svg.timeline(points(200_000), end_ms=4500)
    assert 'data-events="200000"' in large
    assert len(large) < 1.3 * len(small) + 5000
    assert_in_view(large)


def test_timeline_clamps_what_lies_off_the_scale() -> None:
    pts = [svg.Point(-5, 1, "text"), svg.Point(10, 2, "text"), svg.Point(math.inf, 3, "text")]
    chart = svg.timeline(pts, end_ms=0, marks=[svg.Mark(-1, "before", "ttfb")])
    assert_in_view(chart)
    assert_in_view(svg.timeline([], end_ms=0))


def test_strip_links_only_to_anchors_and_becomes_a_histogram_when_crowded() -> None:
    dots = [svg.Dot(100.0 * i, f"#{i}", f"#s{i}") for i in range(1, 6)]
    dots.append(svg.Dot(50.0, "bad", "javascript:alert(1)"))
    chart = svg.strip(dots, marks=[svg.Mark(300, "p50 300 ms", "p50")], caption="ms", title="T")
    assert re.findall(r'href="([^"]*)"', chart) == [*(f"#s{i}" for i in range(1, 6)), "#"]
    assert chart.count('class="dot"') == 6
    assert_in_view(chart)
    many = [svg.Dot(float(i), str(i), f"#s{i}") for i in range(svg.STRIP_MAX_DOTS + 1)]
    crowded = svg.strip(many, caption="ms", title="T")
    assert 'data-chart="histogram"' in crowded
    assert sum(bar_counts(crowded)) == len(many)


def test_every_text_is_escaped() -> None:
    charts = [
        svg.timeline(
            points(5, ("text", HOSTILE)), end_ms=5000, marks=[svg.Mark(10, HOSTILE, HOSTILE)],
            stalls=[svg.Span(1, 2, HOSTILE)], y_caption=HOSTILE, title=HOSTILE,
        ),
        svg.histogram([1, 2, 3], marks=[svg.Mark(2, HOSTILE)], noun=HOSTILE, caption=HOSTILE,
                      title=HOSTILE),
        svg.strip([svg.Dot(1, HOSTILE, '#"><script>')], caption=HOSTILE, title=HOSTILE),
    ]  # fmt: skip
    for chart in charts:
        assert "<script" not in chart and 'alert("x")' not in chart
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in chart
