"""`sse-inspect report`: the file written whole or not at all, and the exit codes of Contract 3."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sse_inspect.cli import main

from . import flows
from .conftest import SAMPLES


def report(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["report", *map(str, args)])


def test_writes_one_html_file(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    result = report(SAMPLES / "mixed.flow", "-o", out)
    assert result.exit_code == 0, result.output
    assert result.output == ""
    text = out.read_text()
    assert text.startswith("<!doctype html>") and text.count('<section class="stream"') == 2
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary left


def test_stdout_and_title(tmp_path: Path) -> None:
    result = report(SAMPLES / "openai-chat.flow", "-o", "-", "--title", "Monday <run>")
    assert result.exit_code == 0
    assert "<title>Monday &lt;run&gt;</title>" in result.stdout


def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    out.write_text("old")
    result = report(SAMPLES / "openai-chat.flow", "-o", out)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"Error: {out} exists; --force overwrites it"]
    assert out.read_text() == "old"
    assert report(SAMPLES / "openai-chat.flow", "-o", out, "--force").exit_code == 0
    assert out.read_text().startswith("<!doctype html>")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda d: d / "missing.flow", "no such file"),
        (lambda d: d, "is a directory"),
    ],
    ids=["missing", "directory"],
)
def test_unreadable_input_is_one_line_and_exit_2(
    tmp_path: Path, make: Callable[[Path], Path], reason: str
) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    result = report(make(tmp_path), "-o", out)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and reason in lines[0] and "Traceback" not in result.output
    assert list(out.parent.iterdir()) == []


def test_not_a_capture_is_exit_2(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_text("hello\n")
    result = report(junk, "-o", tmp_path / "r.html")
    assert result.exit_code == 2 and "not a mitmproxy flow" in result.stderr
    assert not (tmp_path / "r.html").exists()


def test_no_event_stream_is_exit_1_and_writes_nothing(tmp_path: Path) -> None:
    capture = flows.write(tmp_path / "json.flow", [flows.json_flow()])
    out = tmp_path / "r.html"
    result = report(capture, "-o", out)
    assert result.exit_code == 1
    assert result.stderr.startswith("no event streams found")
    assert not out.exists()


def test_filter_selects_streams() -> None:
    result = report(SAMPLES / "mixed.flow", "--filter", "~u /v1/messages", "-o", "-")
    assert result.exit_code == 0
    assert result.stdout.count('<section class="stream"') == 1
    assert "/v1/messages" in result.stdout and "/v1/chat/completions" not in result.stdout


def test_stall_threshold_is_an_option() -> None:
    result = report(SAMPLES / "openai-chat.flow", "--stall-ms", "40", "-o", "-")
    assert result.exit_code == 0
    assert 'data-key="stalls" data-value="1"' not in result.stdout
    assert "gaps over 40 ms" in result.stdout


def test_no_redact_warns() -> None:
    result = report(SAMPLES / "openai-chat.flow", "--no-redact", "-o", "-")
    assert result.exit_code == 0
    assert result.stderr.startswith("warning: --no-redact")
    assert "sk-sample-" in result.stdout
    assert "sk-sample-" not in report(SAMPLES / "openai-chat.flow", "-o", "-").stdout


def test_output_in_a_missing_directory_is_exit_2(tmp_path: Path) -> None:
    result = report(SAMPLES / "openai-chat.flow", "-o", tmp_path / "nope" / "r.html")
    assert result.exit_code == 2 and "no such directory" in result.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_directory_is_exit_2(tmp_path: Path) -> None:
    tmp_path.chmod(0o500)
    try:
        result = report(SAMPLES / "openai-chat.flow", "-o", tmp_path / "r.html")
    finally:
        tmp_path.chmod(0o700)
    assert result.exit_code == 2 and "permission denied" in result.stderr


def test_in_the_help() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert "report" in result.output and "self-contained HTML" in result.output
