"""`sse-inspect compare` on real recordings: four captures through `sse-inspect capture`
of the chat simulator on 127.0.0.1, two at different cadences (the difference is found,
the faster side marked) and two at the same cadence (no difference is claimed)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sse_inspect.demo.chatsim import ANSWER, cadence, openai_chat_events, tokens
from sse_inspect.demo.harness import CaptureProcess
from sse_inspect.replay.server import Script, ScriptServer

from .conftest import fetch

STREAMS = 9
EVENTS = openai_chat_events(tokens(ANSWER)[:14])
CADENCES = {"slow": (0.02, 0.035), "fast": (0.003, 0.008), "same": (0.008, 0.02)}
"""The simulator's gaps between events (s): drawn uniformly from these bounds."""


def script(gap: tuple[float, float], seed: int) -> Script:
    # Each stream its own first-byte wait and jitter, so that the spread within a
    # capture is the stream's, far above what the proxy adds.
    first = random.Random(seed).uniform(0.02, 0.1)
    offsets = cadence(len(EVENTS), seed=seed, first=first, gap=gap, stall_after=None)
    return Script(tuple(zip(offsets, EVENTS, strict=True)))


ROUTES = {
    f"/{name}/{i}/v1/chat/completions": script(gap, seed=i)
    for name, gap in CADENCES.items()
    for i in range(STREAMS)
}


@pytest.fixture(scope="module")
def captures(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    workdir = tmp_path_factory.mktemp("compare")
    server = ScriptServer(ROUTES)
    base = server.start()
    out = {}
    try:
        for name, route in [("slow", "slow"), ("fast", "fast"), ("same1", "same"),
                            ("same2", "same")]:  # fmt: skip
            path = workdir / f"{name}.flow"
            with CaptureProcess(path, confdir=workdir / "mitmproxy") as proxy:
                for i in range(STREAMS):
                    fetch(proxy.port, f"{base}/{route}/{i}/v1/chat/completions")
            out[name] = path
        yield out
    finally:
        server.stop()


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
