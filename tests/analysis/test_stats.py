"""Percentiles, groups and the meaningful flag of ``analysis/stats.py``."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sse_inspect.analysis.stats import (
    FIGURES,
    GROUP_KEYS,
    MIN_STREAMS,
    UNKNOWN,
    Collector,
    Spread,
    group_key,
    percentile,
    spread,
    summarise,
)


def test_percentiles_of_a_hand_computed_case() -> None:
    values = [10, 1, 4, 2, 3]  # sorted: 1 2 3 4 10; rank of q = 4 * q / 100
    assert percentile(values, 50) == 3
    assert percentile(values, 90) == pytest.approx(7.6)  # rank 3.6: 4 + 0.6 * (10 - 4)
    assert percentile(values, 99) == pytest.approx(9.76)  # rank 3.96: 4 + 0.96 * 6
    assert percentile(values, 25) == 2
    assert percentile(values, 0) == 1 and percentile(values, 100) == 10
    assert percentile([1, 2, 3, 4], 50) == 2.5  # the median of an even count
    assert percentile([5.0], 99) == 5.0


def test_percentile_refuses_nothing_and_out_of_range() -> None:
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1.0], 101)


def _by_the_book(values: list[float], q: float) -> float:
    """NumPy's "linear" method as its documentation writes it: ``i + g`` = (n - 1) q."""
    ordered = sorted(values)
    h = (len(ordered) - 1) * q / 100
    i = math.floor(h)
    if i + 1 >= len(ordered):
        return ordered[-1]
    return ordered[i] * (1 - (h - i)) + ordered[i + 1] * (h - i)


finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(st.lists(finite, min_size=1, max_size=60), st.floats(min_value=0, max_value=100))
def test_percentile_is_linear_interpolation_between_closest_ranks(
    values: list[float], q: float
) -> None:
    got = percentile(values, q)
    assert got == pytest.approx(_by_the_book(values, q), rel=1e-9, abs=1e-6)
    assert min(values) <= got <= max(values)


@given(st.lists(st.one_of(st.none(), finite), max_size=40))
def test_spread_leaves_unknown_values_out(values: list[float | None]) -> None:
    known = [v for v in values if v is not None]
    s = spread(values)
    assert s.n == len(known)
    if not known:
        assert s == Spread(0, None, None, None, None, None)
    else:
        assert s.p50 == pytest.approx(_by_the_book(known, 50), abs=1e-6)
        assert s.p90 == pytest.approx(_by_the_book(known, 90), abs=1e-6)
        assert s.max == max(known)
        assert s.mean == pytest.approx(math.fsum(known) / len(known), abs=1e-6)
        assert s.p50 <= s.p90 <= s.p99 <= s.max  # type: ignore[operator]


def record(**kw: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "source": "a.flow",
        "url": "https://user:pw@API.example.com:8443/v1/chat?key=REDACTED",
        "dialect": "openai-chat",
        "model": "gpt-4o",
        "complete": True,
        **{name: None for name in FIGURES},
    }
    r.update(kw)
    return r


def test_group_keys_come_from_the_record() -> None:
    r = record()
    assert group_key(r, GROUP_KEYS) == (
        "openai-chat",
        "gpt-4o",
        "api.example.com:8443",
        "/v1/chat",
        "a.flow",
    )
    assert group_key(record(model=None, url=None), ("model", "host", "path")) == (UNKNOWN,) * 3
    assert group_key(record(url="http://h"), ("path",)) == ("/",)
    with pytest.raises(ValueError):
        group_key(r, ("colour",))
    with pytest.raises(ValueError):
        Collector(("colour",))


def test_groups_count_streams_and_leave_unknown_figures_out() -> None:
    records = [
        record(ttft_ms=100.0, stalls=0),
        record(ttft_ms=300.0, stalls=2, complete=False),
        record(ttft_ms=None, stalls=None),
        record(model="claude", dialect="anthropic", ttft_ms=50.0, tokens_per_s=40.0),
    ]
    groups = summarise(records)
    assert [g.key for g in groups] == [("anthropic", "claude"), ("openai-chat", "gpt-4o")]
    claude, gpt = groups
    assert (gpt.streams, gpt.complete, gpt.cut) == (3, 2, 1)
    assert gpt.by == ("dialect", "model")
    assert gpt.figures["ttft_ms"] == Spread(2, 200.0, 280.0, 298.0, 300.0, 200.0)
    assert gpt.figures["stalls"].n == 2 and gpt.figures["stalls"].mean == 1.0
    assert gpt.figures["tokens_per_s"] == Spread(0, None, None, None, None, None)
    assert set(gpt.figures) == set(FIGURES)
    assert claude.figures["tokens_per_s"].p99 == 40.0


def test_a_group_of_fewer_than_five_streams_is_not_meaningful() -> None:
    small = summarise([record(ttft_ms=1.0)] * (MIN_STREAMS - 1))
    assert small[0].meaningful is False
    enough = summarise([record(ttft_ms=float(i)) for i in range(MIN_STREAMS)])
    assert enough[0].meaningful is True


def test_grouping_by_nothing_and_by_file() -> None:
    records = [record(source="a.flow"), record(source="b.flow"), record(source="b.flow")]
    assert [(g.key, g.streams) for g in summarise(records, ())] == [((), 3)]
    by_file = summarise(records, ("file",))
    assert [(g.key, g.streams) for g in by_file] == [(("a.flow",), 1), (("b.flow",), 2)]


def test_the_collector_keeps_floats_only() -> None:
    c = Collector(("dialect",))
    c.add(record(ttft_ms=1, text="a long answer " * 1000, stalls=True))  # bool: no figure
    c.add(record(ttft_ms=float("nan")))
    assert c.streams == 2
    assert c.values() == {("openai-chat",): {**{f: [] for f in FIGURES}, "ttft_ms": [1.0]}}
