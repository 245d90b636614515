"""`sse-inspect demo`, as `make demo` runs it: the answer streams, then the report."""

from __future__ import annotations

import os
import subprocess
import sys

from sse_inspect.demo.chatsim import ANSWER, tokens


def test_demo_streams_the_answer_and_reports_it() -> None:
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"}  # pytest sets 80
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "demo"],
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
