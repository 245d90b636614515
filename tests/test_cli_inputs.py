"""Several captures at once, files that are no capture, and saying why nothing was found."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from sse_inspect.cli import main
from sse_inspect.load import read_capture

from . import flows
from .conftest import SAMPLES

SKIPPED = "not a capture (mitmproxy flow, HAR, raw SSE or sse-inspect JSONL); skipped"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, [*map(str, args)])


def _lines(result: Result) -> list[str]:
    assert "Traceback" not in result.output
    return result.stderr.strip().splitlines()


def test_files_that_are_no_capture_are_skipped_among_several(tmp_path: Path) -> None:
    readme, script = tmp_path / "README.md", tmp_path / "make_samples.py"
    readme.write_text("# Samples\n\nSmall captures.\n")
    script.write_text("#!/usr/bin/env python3\nimport sys\n")
    capture = shutil.copy(SAMPLES / "mixed.flow", tmp_path / "mixed.flow")
    result = run("analyze", "--json", readme, capture, script)
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)["streams"]) == 2
    assert _lines(result) == [f"warning: {readme}: {SKIPPED}", f"warning: {script}: {SKIPPED}"]


def test_every_sample_at_once_is_reported() -> None:
    everything = sorted(SAMPLES.iterdir())
    result = run("analyze", "--json", *everything)
    assert result.exit_code == 0, result.output
    skipped = {
        line.removeprefix("warning: ").split(": ")[0]
        for line in _lines(result)
        if line.endswith("; skipped")
    }
    assert skipped >= {str(SAMPLES / n) for n in ("README.md", "make_samples.py")}
    assert all(not p.endswith((".flow", ".har", ".sse")) for p in skipped)
    expected = sum(len(list(read_capture(p))) for p in everything if str(p) not in skipped)
    assert len(json.loads(result.stdout)["streams"]) == expected >= 13


def test_export_skips_them_too(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("prose\n")
    result = run("export", readme, SAMPLES / "openai-chat.flow", "-o", "-", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 67
    assert _lines(result) == [f"warning: {readme}: {SKIPPED}"]


def test_one_file_that_is_no_capture_is_still_an_error(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("prose\n")
    result = run("analyze", readme)
    assert result.exit_code == 2
    (line,) = _lines(result)
    assert line == f"Error: {readme}: not a mitmproxy flow, HAR or SSE file (nor sse-inspect JSONL)"


def test_a_damaged_capture_among_several_still_exits_2(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("prose\n")
    cut = flows.write(
        tmp_path / "c.flow", [flows.sse_flow([(0.1, b"data: %d\n\n" % i)]) for i in range(3)]
    )
    cut.write_bytes(cut.read_bytes()[:-40])
    bad_har = tmp_path / "x.har"
    bad_har.write_text('{"log": {"entries": [{"request": {}}]}}')
    result = run("analyze", "--json", readme, SAMPLES / "openai-chat.flow", cut, bad_har)
    assert result.exit_code == 2
    assert len(json.loads(result.stdout)["streams"]) == 1 + 2
    warning, error = _lines(result)
    assert warning == f"warning: {readme}: {SKIPPED}"
    assert "damaged or truncated after 2 flows" in error and "HAR entry 0 is invalid" in error


def _nothing(result: Result) -> str:
    assert result.exit_code == 1, result.output
    (line,) = _lines(result)
    return line


def test_an_empty_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "x.flow"
    path.write_bytes(b"")
    assert _nothing(run("analyze", path)) == f"no event streams found: {path}: empty file, no flows"


def test_flows_without_an_event_stream_say_so(tmp_path: Path) -> None:
    no_response = flows.json_flow()
    no_response.response = None
    path = flows.write(tmp_path / "x.flow", [flows.json_flow() for _ in range(4)] + [no_response])
    assert _nothing(run("analyze", path)) == (
        f"no event streams found: {path}: 5 flows, none with a text/event-stream response"
        " (1 without any response)"
    )
    one = flows.write(tmp_path / "one.flow", [flows.json_flow()])
    assert _nothing(run("export", one, "-o", "-", "--format", "md")) == (
        f"no event streams found: {one}: 1 flow, not a text/event-stream response"
    )


def test_streams_the_filter_excluded_say_so(tmp_path: Path) -> None:
    sse = [flows.sse_flow([(0.1, b"data: a\n\n")]) for _ in range(5)]
    path = flows.write(tmp_path / "x.flow", sse)
    assert _nothing(run("analyze", "--filter", "~u /nothing", path)) == (
        f"no event streams found: {path}: 5 event streams, all excluded by --filter"
    )
    mixed = flows.write(tmp_path / "m.flow", [*[flows.json_flow() for _ in range(3)], *sse[:2]])
    assert _nothing(run("analyze", "--filter", "~u /nothing", mixed)) == (
        f"no event streams found: {mixed}: 3 flows without an event stream,"
        " 2 event streams excluded by --filter"
    )


def test_each_file_gets_its_reason(tmp_path: Path) -> None:
    empty = tmp_path / "e.flow"
    empty.write_bytes(b"")
    har = flows.har(tmp_path / "x.har", [flows.har_entry("{}", "application/json")] * 2)
    assert _nothing(run("analyze", empty, har)) == (
        f"no event streams found: {empty}: empty file, no flows;"
        f" {har}: 2 entries, none with a text/event-stream response"
    )


@pytest.mark.parametrize("command", ["analyze", "export"])
def test_only_files_that_are_no_capture_is_nothing_to_report(tmp_path: Path, command: str) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("prose\n")
    b.write_text("more prose\n")
    extra = ("-o", "-", "--format", "jsonl") if command == "export" else ()
    result = run(command, a, b, *extra)
    assert result.exit_code == 1
    assert _lines(result) == [
        f"warning: {a}: {SKIPPED}",
        f"warning: {b}: {SKIPPED}",
        "no event streams found",
    ]


def test_a_har_shows_its_ttfb_and_total() -> None:
    result = run("analyze", "--json", SAMPLES / "chrome-export.har")
    (s,) = json.loads(result.stdout)["streams"]
    assert s["timing"] == "none" and s["ttft_ms"] is None and s["gap_ms"] is None
    assert s["ttfb_ms"] == pytest.approx(400.5, abs=0.001)  # send 0.5 + wait 400
    entry = json.loads((SAMPLES / "chrome-export.har").read_text())["log"]["entries"][0]
    assert s["duration_ms"] == pytest.approx(entry["time"], abs=0.001)
    table = run("analyze", SAMPLES / "chrome-export.har").stdout
    row = next(line for line in table.splitlines() if line.startswith("1 "))
    assert " 400 " in row and "4,171" in row
