"""The committed samples: what make_samples.py writes, and what record_samples.py captured."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from sse_inspect.analysis.analysis import analyze
from sse_inspect.demo.chatsim import ANSWER, tokens
from sse_inspect.load import read_capture

from .conftest import SAMPLES


def test_make_samples_reproduces_every_committed_sample(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(
        p.name
        for p in SAMPLES.iterdir()
        if p.suffix in {".flow", ".har", ".sse"} and not p.name.startswith("captured-")
    )
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name


@pytest.mark.parametrize(
    "dialect", ["openai-chat", "openai-responses", "anthropic", "gemini", "chatgpt-web"]
)
def test_each_dialect_has_a_captured_sample_that_rebuilds(dialect: str) -> None:
    (stream,) = read_capture(SAMPLES / f"captured-{dialect}.flow")
    a = analyze(stream)
    assert a.dialect == dialect and a.complete and stream.timing == "per-chunk"
    assert a.answer.first.text == "".join(tokens(ANSWER)[:60])
    assert a.cadence.stalls is not None and len(a.cadence.stalls) == 1  # the scripted stall
    if dialect == "chatgpt-web":  # no usage in this dialect: counted by the tokenizer
        assert a.cadence.tokens_source == "tokenizer"
    else:
        assert a.cadence.tokens_source == "usage" and a.cadence.output_tokens == 60
