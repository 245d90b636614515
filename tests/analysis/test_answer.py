"""Folding deltas into the answer: the plain-text shortcut of rebuild gives what the fold gives."""

from __future__ import annotations

import pytest

from sse_inspect.analysis.answer import Answer, Fold, rebuild
from sse_inspect.dialects.base import REASONING, TEXT, TOOL, Delta


def _folded(deltas: list[Delta]) -> Answer:
    fold = Fold()
    for d in deltas:
        fold.add(d)
    return fold.answer()


TEXT_ONLY = [Delta(float(i), i, TEXT, f"w{i} ") for i in range(5)]


@pytest.mark.parametrize(
    "deltas",
    [
        [],
        TEXT_ONLY,
        [*TEXT_ONLY, Delta(9.0, 9, TEXT, "", part=3)],  # a part means nothing to text
        [*TEXT_ONLY, Delta(9.0, 9, TEXT, "new", replace=True)],
        [*TEXT_ONLY, Delta(9.0, 9, TEXT, " two", choice=1)],
        [Delta(0.0, 0, REASONING, "hm"), *TEXT_ONLY],
        [*TEXT_ONLY, Delta(9.0, 9, TOOL, "{}", name="f")],
        [Delta(0.0, 0, TEXT, "only choice 2", choice=2)],
    ],
)
def test_rebuild_gives_what_folding_each_delta_gives(deltas: list[Delta]) -> None:
    assert rebuild(deltas) == _folded(deltas)
    assert rebuild(iter(deltas)) == _folded(deltas)
