"""`sse-inspect demo`, as `make demo` runs it: the answer streams, then the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sse_inspect.demo.chatsim import ANSWER, tokens


def test_demo_streams_the_answer_and_reports_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # pytest sets 80
    kept = tmp_path / "demo.flow"
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "demo", "--keep", str(kept)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ANSWER in out  # the client printed the whole answer
    events = len(tokens(ANSWER)) + 4  # role, tokens, finish, usage, [DONE]
    row = next(line for line in out.splitlines() if line.startswith("1 ") and "POST" in line)
    assert f" {events} " in row and " yes " in row
    assert "first token after" in out
    # titled "demo", not with the temporary path it has deleted; the capture kept on request
    lines = out.splitlines()
    header = next(i for i, line in enumerate(lines) if "Method" in line and "Dialect" in line)
    assert lines[header - 1].strip() == "demo"
    assert "sse-inspect-demo-" not in out
    assert f"The capture is kept in {kept}" in out
    analysed = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "analyze", "--json", str(kept)],
        capture_output=True,
        text=True,
        check=True,
    )
    (stream,) = json.loads(analysed.stdout)["streams"]
    assert stream["events"] == events and stream["complete"] is True


def test_demo_refuses_to_overwrite_a_kept_file(tmp_path: Path) -> None:
    kept = tmp_path / "demo.flow"
    kept.write_bytes(b"mine")
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "demo", "--keep", str(kept)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert kept.read_bytes() == b"mine"
