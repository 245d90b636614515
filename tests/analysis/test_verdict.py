"""One verdict for one stream: every output says the same about how a stream ended."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sse_inspect.analysis.analysis import analyze
from sse_inspect.cli import main
from sse_inspect.load import read_capture

from .. import flows

CHUNK = b'data: {"object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "Hi"}, "finish_reason": %s}]}\n\n'  # noqa: E501
ENDED = [(0.1, CHUNK % b"null"), (0.2, CHUNK % b'"stop"'), (0.3, b"data: [DONE]\n\n")]
CUT = ENDED[:2]  # no [DONE]: the client hung up before the end


def _capture(tmp_path: Path, chunks: list[tuple[float, bytes]]) -> Path:
    f = flows.sse_flow(chunks, complete=False, error="Client disconnected.")
    return flows.write(tmp_path / "c.flow", [f])


def _run(*args: object) -> str:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result.stdout


def test_a_client_closing_after_the_end_marker_is_no_error(tmp_path: Path) -> None:
    path = _capture(tmp_path, ENDED)
    (stream,) = read_capture(path)
    a = analyze(stream)
    assert a.complete and a.error is None
    assert any("closed after the end marker (Client disconnected.)" in n for n in a.notes)
    (record,) = json.loads(_run("analyze", "--json", path))["streams"]
    assert record["complete"] is True and record["error"] is None
    table = _run("analyze", path)
    assert "error" not in table and " yes " in table and "closed after the end marker" in table
    markdown = _run("export", path, "-o", "-", "--format", "md")
    assert "complete (stop)" in markdown and "cut" not in markdown
    har = json.loads(_run("export", path, "-o", "-", "--format", "har"))
    metrics = har["log"]["entries"][0]["_sseMetrics"]
    assert metrics["complete"] is True and metrics["error"] is None


def test_a_client_closing_before_the_end_marker_is_a_cut(tmp_path: Path) -> None:
    path = _capture(tmp_path, CUT)
    (record,) = json.loads(_run("analyze", "--json", path))["streams"]
    assert record["complete"] is False and record["error"] == "Client disconnected."
    assert not any("end marker" in n for n in record["notes"])
    table = _run("analyze", path)
    assert "cut" in table and "error: Client disconnected." in table
    markdown = _run("export", path, "-o", "-", "--format", "md")
    assert "**cut**: Client disconnected." in markdown


@pytest.mark.parametrize("error", ["Client disconnected.", "capture stopped"])
def test_a_transport_error_without_an_end_marker_is_the_streams_error(
    tmp_path: Path, error: str
) -> None:
    f = flows.sse_flow(CUT, complete=False, error=error)
    (stream,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    assert analyze(stream).error == error
