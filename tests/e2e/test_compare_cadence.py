"""`sse-inspect compare` on real recordings: four captures through `sse-inspect capture`
of the chat simulator on 127.0.0.1, two at different cadences (the difference is found,
the faster side marked) and two at the same cadence (no difference is claimed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from sse_inspect.demo.cadences import STREAMS, record


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return record(tmp_path_factory.mktemp("compare"))


def compare(a: Path, b: Path) -> dict[str, Any]:
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "compare", "--json", str(a), str(b)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    (group,) = json.loads(result.stdout)["groups"]
    assert group["present"] == "both"
    assert group["key"] == {"dialect": "openai-chat", "model": "gpt-4o-mini"}
    figures: dict[str, Any] = group["figures"]
    return figures


def test_a_faster_cadence_is_found_and_marked_better(captures: dict[str, Path]) -> None:
    figures = compare(captures["slow"], captures["fast"])
    for name in ("itl_ms", "tpot_ms", "tokens_per_s", "duration_ms"):
        f = figures[name]
        assert (f["n_a"], f["n_b"]) == (STREAMS, STREAMS), name
        assert f["significant"] is True and f["better"] == "B", (name, f)
    assert figures["itl_ms"]["ratio"] < 0.5 and figures["tokens_per_s"]["ratio"] > 2
    assert figures["stalls"]["significant"] is False  # none on either side


def test_the_same_cadence_is_not_called_different(captures: dict[str, Path]) -> None:
    figures = compare(captures["same1"], captures["same2"])
    assert figures["itl_ms"]["n_a"] == STREAMS
    for name, f in figures.items():
        assert f["significant"] is False and f["better"] is None, (name, f)
        assert f["ci"][0] <= 0 <= f["ci"][1], (name, f)
