"""`sse-inspect analyze` through click's runner and through the installed console script."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sse_inspect.cli import main

from . import flows
from .conftest import SAMPLES

CONTRACT_4_KEYS = {
    "flow_id", "method", "url", "status", "dialect", "events", "complete", "timing", "ttfb_ms",
    "ttft_ms", "duration_ms", "output_tokens", "tokens_source", "tokens_per_s", "gap_ms", "stalls",
    "text", "reasoning", "tool_calls", "finish_reason", "error",
}  # fmt: skip


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["analyze", *map(str, args)])


def as_json(*args: str | Path) -> dict[str, Any]:
    result = run("--json", *args)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def test_table_names_every_stream_and_its_figures() -> None:
    result = run(SAMPLES / "mixed.flow")
    assert result.exit_code == 0
    out = result.stdout
    assert "/v1/chat/completions" in out and "/v1/messages" in out and "/v1/models" not in out
    assert "TTFB" in out and "Gap p50/p90/p99/max" in out
    assert result.stderr == ""  # no progress bar when not on a terminal


def test_json_follows_contract_4() -> None:
    doc = as_json(SAMPLES / "openai-chat.flow")
    assert doc["version"] == 1
    (s,) = doc["streams"]
    assert s.keys() >= CONTRACT_4_KEYS
    assert s["method"] == "POST" and s["status"] == 200 and s["dialect"] == "openai-chat"
    assert s["events"] == 67 and s["complete"] is True and s["timing"] == "per-chunk"
    assert s["ttfb_ms"] == pytest.approx(420, abs=1) and s["stalls"] == 1
    assert s["gap_ms"]["max"] == pytest.approx(1350 + 18, abs=40)
    assert s["tokens_source"] == "usage" and s["output_tokens"] == 63  # the usage chunk
    assert s["text"].startswith("Server-Sent Events keep one HTTP response open")
    assert s["finish_reason"] == "stop" and s["model"] == "gpt-4o-mini"
    assert s["ttft_ms"] > s["ttf_event_ms"]  # the role chunk came first, without output


def test_json_says_when_timing_is_unknown() -> None:
    (s,) = as_json(SAMPLES / "plain-mitmproxy.flow")["streams"]
    assert s["timing"] == "none" and s["gap_ms"] is None and s["ttft_ms"] is None
    assert s["ttfb_ms"] == pytest.approx(400, abs=1)  # the response headers arrived
    assert s["events"] == 67


def test_the_same_stream_in_every_format_has_the_same_events() -> None:
    names = ["openai-chat.flow", "openai-chat-gzip.flow", "chrome-export.har", "openai-chat.sse"]
    counts = {n: as_json(SAMPLES / n)["streams"][0]["events"] for n in names}
    assert set(counts.values()) == {67}, counts


def test_cut_stream_is_incomplete_with_its_error() -> None:
    (s,) = as_json(SAMPLES / "client-abort.flow")["streams"]
    assert s["complete"] is False and s["error"] == "Client disconnected." and s["events"] == 25


def test_events_lists_events_and_comments() -> None:
    result = run("--events", "--filter", "~u /v1/messages", SAMPLES / "mixed.flow")
    assert result.exit_code == 0
    out = result.stdout
    assert "message_start" in out and "content_block_delta" in out
    # The comment a browser would hide, on a row of its own: offset, ":", its text.
    assert re.search(r"^\s*[\d.,]+\s+:\s+ping\s*$", out, re.MULTILINE), out


def test_events_shows_an_unterminated_event(tmp_path: Path) -> None:
    path = tmp_path / "cut.sse"
    path.write_bytes(b"data: one\n\ndata: two\n")
    result = run("--events", path)
    assert "(unterminated)" in result.stdout and "open" in result.stdout


def test_events_in_json_with_offsets() -> None:
    (s,) = as_json("--events", SAMPLES / "openai-chat.flow")["streams"]
    assert len(s["frames"]) == 67 and s["frames"][0]["t_ms"] == pytest.approx(420, abs=1)
    assert s["frames"][-1]["data"] == "[DONE]"


def test_filter_selects_streams() -> None:
    doc = as_json("--filter", "~u /v1/messages", SAMPLES / "mixed.flow")
    assert [s["url"] for s in doc["streams"]] == ["http://127.0.0.1:8000/v1/messages"]


def test_bad_filter_is_a_usage_error() -> None:
    result = run("--filter", "~x ((", SAMPLES / "mixed.flow")
    assert result.exit_code == 2 and "Invalid filter expression" in result.stderr


def _one_line_error(result: Result, code: int = 2) -> str:
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x00\x01\x02binary", "not a mitmproxy flow, HAR or SSE file"),
        (b'{"log": {"entries": []}}', "HAR file has no entries"),
        (b"{broken json", "invalid JSON"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input"
    path.write_bytes(content)
    assert message in _one_line_error(run(path))


def test_missing_file(tmp_path: Path) -> None:
    assert "no such file" in _one_line_error(run(tmp_path / "nope.flow"))


def test_truncated_flow_reports_what_was_read_then_fails(tmp_path: Path) -> None:
    good = [flows.sse_flow([(0.1, b"data: %d\n\n" % i)]) for i in range(3)]
    path = flows.write(tmp_path / "c.flow", good)
    path.write_bytes(path.read_bytes()[:-40])
    result = CliRunner().invoke(main, ["analyze", "--json", str(path)])
    assert len(json.loads(result.stdout)["streams"]) == 2
    assert "damaged or truncated after 2 flows" in _one_line_error(result)


def test_other_files_are_still_read_after_a_bad_one(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["analyze", "--json", str(tmp_path / "nope"), str(SAMPLES / "openai-chat.flow")]
    )
    assert len(json.loads(result.stdout)["streams"]) == 1
    assert "no such file" in _one_line_error(result)


def test_nothing_to_report_exits_1(tmp_path: Path) -> None:
    path = flows.write(tmp_path / "c.flow", [flows.json_flow()])
    assert "no event streams found" in _one_line_error(run(path), code=1)


def _script() -> Path:
    return Path(sys.executable).parent / "sse-inspect"


@pytest.mark.e2e
def test_installed_console_script() -> None:
    proc = subprocess.run(
        [_script(), "analyze", "--json", SAMPLES / "mixed.flow"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["streams"]) == 2
    proc = subprocess.run(
        [_script(), "analyze", "/nonexistent.flow"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_progress_bar_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sse_inspect.cli.PROGRESS_MIN_BYTES", 0)
    monkeypatch.setenv("FORCE_COLOR", "1")  # rich then treats stderr as a terminal
    shown = CliRunner().invoke(main, ["analyze", "--json", str(SAMPLES / "mixed.flow")])
    assert shown.exit_code == 0 and "mixed.flow" in shown.stderr  # the bar's label
    monkeypatch.delenv("FORCE_COLOR")
    piped = CliRunner().invoke(main, ["analyze", "--json", str(SAMPLES / "mixed.flow")])
    assert piped.exit_code == 0 and piped.stderr == ""
    assert json.loads(shown.stdout) == json.loads(piped.stdout)


def test_narrow_terminals_get_a_compact_table_that_fits() -> None:
    result = CliRunner().invoke(
        main, ["analyze", str(SAMPLES / "mixed.flow")], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    table = "\n".join(lines)
    assert "TTFT" in table and "/v1/messages" in table and "openai-chat" in table
    assert "TTFB" not in lines[1]  # the header row of the compact table
