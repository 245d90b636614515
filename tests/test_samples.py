"""The committed samples: what make_samples.py writes, and what record_samples.py captured."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from click.testing import CliRunner
from mitmproxy import http, io

from sse_inspect.analysis.analysis import analyze
from sse_inspect.capture import contract
from sse_inspect.cli import main
from sse_inspect.demo.chatsim import ANSWER, tokens
from sse_inspect.load import read_capture
from sse_inspect.load.flows import stream_from_flow

from .conftest import SAMPLES

V1 = SAMPLES / "captured-openai-chat-v1.flow"
"""captured-openai-chat.flow as it was recorded, before Contract 2's version 2."""


def _script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, SAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _flows(path: Path) -> list[http.HTTPFlow]:
    with path.open("rb") as f:
        return [f for f in io.FlowReader(f).stream() if isinstance(f, http.HTTPFlow)]


def test_make_samples_reproduces_every_committed_sample(tmp_path: Path) -> None:
    module = _script("make_samples")
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


def test_every_recorded_sample_is_version_2_but_the_one_kept_at_version_1() -> None:
    versions = {
        (p.name, f.metadata[contract.KEY]["version"])
        for p in SAMPLES.glob("*.flow")
        for f in _flows(p)
        if contract.KEY in f.metadata
    }
    assert ("captured-openai-chat-v1.flow", 1) in versions
    assert {v for name, v in versions if name != V1.name} == {2}
    assert len(versions) == 10  # every captured-*.flow and every one make_samples.py records


def _analyze_json(path: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", "--json", "--events", str(path)])
    assert result.exit_code == 0, result.output
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    for s in streams:
        assert s.pop("source") == str(path)
    return streams


def test_the_version_1_capture_analyses_exactly_as_its_version_2(tmp_path: Path) -> None:
    (old,) = _flows(V1)
    assert old.metadata[contract.KEY]["version"] == 1
    v2 = SAMPLES / "captured-openai-chat.flow"
    (new,) = _flows(v2)
    assert new.metadata[contract.KEY]["version"] == 2
    before = _analyze_json(V1)
    assert before[0]["timing"] == "per-chunk" and before[0]["stalls"] == 1
    assert before == _analyze_json(v2)
    # ... because the version-2 sample is the version-1 one upgraded, as the addon seals
    copy = shutil.copy(V1, tmp_path / "x.flow")
    assert _script("record_samples").upgrade(copy) == 1
    assert copy.read_bytes() == v2.read_bytes()


@pytest.mark.parametrize("name", sorted(p.name for p in SAMPLES.glob("*.flow")))
def test_each_sample_reads_the_same_in_either_version(name: str) -> None:
    for f in _flows(SAMPLES / name):
        meta = f.metadata.get(contract.KEY)
        if meta is None:
            continue
        stream = stream_from_flow(f, name)
        chunks = contract.stored_chunks(meta)
        flipped = (
            contract.pack([list(c) for c in chunks], meta["complete"])
            if meta["version"] == 2
            else contract.seal(chunks, meta["complete"])
        )
        for key in ("truncated", "max_bytes"):
            if key in meta:
                flipped[key] = meta[key]
        f.metadata[contract.KEY] = flipped
        assert stream_from_flow(f, name) == stream
        assert stream is not None and stream.timing == "per-chunk" and stream.notes == ()
