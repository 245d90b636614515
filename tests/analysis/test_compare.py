"""The bootstrap of ``analysis/compare.py``: deterministic, and it tells a shift from noise."""

from __future__ import annotations

import random
import statistics

import pytest

from sse_inspect.analysis.compare import bootstrap_ci, compare_values
from sse_inspect.analysis.stats import FIGURES


def sample(mean: float, n: int = 12, seed: int = 1, sd: float = 10.0) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, sd) for _ in range(n)]


def side(**figures: list[float]) -> dict[tuple[str, ...], dict[str, list[float]]]:
    return {("openai-chat", "gpt-4o"): figures}


def test_the_bootstrap_is_deterministic_with_its_seed() -> None:
    a, b = side(ttft_ms=sample(100)), side(ttft_ms=sample(110, seed=2))
    assert compare_values(a, b) == compare_values(a, b)
    assert compare_values(a, b, seed=1) == compare_values(a, b, seed=1)
    assert compare_values(a, b, seed=1) != compare_values(a, b, seed=2)


def test_a_clear_shift_is_significant_and_the_better_side_marked() -> None:
    a = side(ttft_ms=sample(100), tokens_per_s=sample(40, seed=3, sd=2))
    b = side(ttft_ms=sample(150, seed=2), tokens_per_s=sample(60, seed=4, sd=2))
    (group,) = compare_values(a, b)
    ttft, tps = group.figures
    assert ttft.figure == "ttft_ms" and ttft.significant and ttft.better == "A"
    assert ttft.ci_low is not None and ttft.ci_low > 0
    assert ttft.diff == pytest.approx(ttft.b - ttft.a)  # type: ignore[operator]
    assert ttft.a == statistics.median(a[("openai-chat", "gpt-4o")]["ttft_ms"])
    assert tps.significant and tps.better == "B" and not tps.lower_is_better


def test_identical_samples_are_not_significant() -> None:
    values = sample(100)
    (group,) = compare_values(side(ttft_ms=values), side(ttft_ms=list(values)))
    (ttft,) = group.figures
    assert ttft.diff == 0 and ttft.ratio == 1
    assert ttft.ci_low is not None and ttft.ci_high is not None
    assert ttft.ci_low < 0 < ttft.ci_high
    assert not ttft.significant and ttft.better is None


def test_constant_equal_samples_give_a_zero_interval() -> None:
    (group,) = compare_values(side(stalls=[0.0] * 8), side(stalls=[0.0] * 8))
    (stalls,) = group.figures
    assert (stalls.ci_low, stalls.ci_high, stalls.significant) == (0, 0, False)


def test_too_few_values_are_never_significant() -> None:
    (group,) = compare_values(side(ttft_ms=[1.0, 1.1]), side(ttft_ms=[50.0, 51.0]))
    (ttft,) = group.figures
    assert ttft.ci_low is not None and ttft.ci_low > 0  # the interval says so, but
    assert not ttft.meaningful and not ttft.significant  # two values prove little


def test_groups_on_one_side_and_unknown_values() -> None:
    a = {("x",): {"ttft_ms": [1.0, None]}, ("only-a",): {"ttft_ms": [1.0]}}
    b = {("x",): {"ttft_ms": [None]}, ("only-b",): {"ttft_ms": [1.0]}}
    got = {g.key: g for g in compare_values(a, b)}  # type: ignore[arg-type]
    assert got[("only-a",)].present == "A" and got[("only-b",)].present == "B"
    assert got[("only-a",)].figures == ()
    (ttft,) = got[("x",)].figures
    assert (ttft.n_a, ttft.n_b, ttft.a, ttft.b, ttft.diff) == (1, 0, 1.0, None, None)
    assert not ttft.significant


def test_every_figure_is_compared_in_order() -> None:
    figures = {f: sample(10) for f in reversed(FIGURES)}
    (group,) = compare_values(side(**figures), side(**figures))
    assert tuple(f.figure for f in group.figures) == FIGURES


@pytest.mark.parametrize("n_a, n_b", [(7, 7), (6, 9), (1, 10)])
def test_drawn_medians_match_the_textbook_resampling(n_a: int, n_b: int) -> None:
    """The order-statistic draw of each resample's median has the distribution of
    "resample n with replacement, sort, take the middle": their intervals agree."""
    a, b = sorted(sample(100, n_a, seed=5)), sorted(sample(120, n_b, seed=6))
    fast = bootstrap_ci(a, b, random.Random(1), resamples=20000)
    rng = random.Random(2)
    diffs = sorted(
        statistics.median(rng.choices(b, k=n_b)) - statistics.median(rng.choices(a, k=n_a))
        for _ in range(20000)
    )
    slow = (diffs[int(0.025 * len(diffs))], diffs[int(0.975 * len(diffs))])
    spread = max(b) - min(a)
    assert fast[0] == pytest.approx(slow[0], abs=0.03 * spread)
    assert fast[1] == pytest.approx(slow[1], abs=0.03 * spread)
