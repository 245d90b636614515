"""A lone UTF-16 surrogate escape in an event's JSON ("\\ud800") is legal JSON but not
encodable text: every view and export still completes, showing it as "?"."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main

from .. import flows

BODY = (
    b'data: {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": '
    b'{"content": "a\\ud800b"}, "finish_reason": "stop"}]}\n\ndata: [DONE]\n\n'
)


@pytest.fixture
def capture(tmp_path: Path) -> Path:
    return flows.write(tmp_path / "s.flow", [flows.sse_flow([(0.1, BODY)])])


@pytest.mark.parametrize(
    "args",
    [
        ["analyze"],
        ["analyze", "--events"],
        ["analyze", "--events", "--raw"],
        ["analyze", "--json"],
        ["export", "-o", "-", "--format", "md"],
        ["export", "-o", "-", "--format", "har"],
        ["export", "-o", "-", "--format", "jsonl"],
    ],
    ids=" ".join,
)
def test_every_output_completes(capture: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, [*args[:1], str(capture), *args[1:]])
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0
    result.stdout_bytes.decode("utf-8")  # strict: what was written is UTF-8


def test_a_file_export_completes(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    result = CliRunner().invoke(main, ["export", str(capture), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "> a?b" in out.read_text("utf-8")
