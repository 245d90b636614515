"""`sse-inspect analyze` in a real terminal of 60 and 100 columns (tmux), read off the screen.

The command runs in a detached tmux pane of a fixed size, with no COLUMNS in its
environment, so rich takes the width from the terminal itself, as it does for a person;
``tmux capture-pane`` then gives the screen as text. tmux is required: without it these tests
fail and say how to install it.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main

from ..conftest import ROOT

SCRIPT = Path(sys.executable).parent / "sse-inspect"


def screen(args: list[str], width: int, height: int = 50) -> list[str]:
    """What ``sse-inspect ARGS`` leaves on a ``width`` x ``height`` terminal, scrollback
    included, without trailing blanks."""
    tmux = shutil.which("tmux")
    if tmux is None:
        pytest.fail("tmux is not installed (apt-get install -y tmux); this test needs a terminal")
    socket = f"sse-inspect-test-{os.getpid()}-{width}"
    base = [tmux, "-L", socket, "-f", os.devnull]
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
    command = shlex.join(["env", "-u", "COLUMNS", "-u", "LINES", str(SCRIPT), *args])
    done = f"{socket}-done"
    shell = f"{command}; {shlex.join(base)} wait-for -S {done}; sleep 60"
    size = ["-x", str(width), "-y", str(height)]
    subprocess.run([*base, "new-session", "-d", *size, "-c", str(ROOT), shell], env=env, check=True)
    try:
        subprocess.run([*base, "wait-for", done], timeout=60, check=True)
        pane = subprocess.run(
            [*base, "capture-pane", "-p", "-S", "-"], capture_output=True, text=True, check=True
        ).stdout
    finally:
        subprocess.run([*base, "kill-server"], check=False, capture_output=True)
    lines = [line.rstrip() for line in pane.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def test_the_streams_table_on_60_and_100_columns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for width in (60, 100):
        lines = screen(["analyze", "samples/mixed.flow"], width)
        print(f"--- {width} columns\n" + "\n".join(lines))
        assert lines[0] == "samples/mixed.flow"
        header = lines[1]
        assert header.startswith("#") and "TTFT" in header and "Stalls" in header
        assert set(lines[2]) == {"─"}
        body = lines[3 : lines.index(next(x for x in lines if x.startswith("Times in ms")))]
        assert len(body) <= 4, body  # two streams, one or two lines each
        text = "\n".join(body)
        assert "127.0.0.1:8000/" in text and "http://" not in text
        assert "/completions" in text and "/v1/messages" in text
        assert "openai-chat" in text and "anthropic" in text and "4,170" in text
        # No cell squeezed to a letter per line.
        assert not any(re.fullmatch(r"\s*\S", line) for line in lines), lines
        # What the terminal shows is what the renderables give at that width.
        env = {"COLUMNS": str(width)}
        same = CliRunner().invoke(main, ["analyze", "samples/mixed.flow"], env=env).stdout
        assert lines == [line.rstrip() for line in same.rstrip("\n").splitlines()]


def test_the_details_never_cut_a_label_on_60_columns() -> None:
    lines = screen(["analyze", "samples/openai-chat.flow"], 60)
    print("\n".join(lines))
    text = "\n".join(lines)
    for label in ("first answer text", "output tokens", "gaps p50/p90/p99/max", "tokens/s"):
        assert re.search(rf"^{re.escape(label)} ", text, re.MULTILINE), label
    details = text[text.index("Stream 1:") : text.index("╭")]
    assert "…" not in details  # nothing of the details is cut before the answer panel
    assert "cadence " in text and "╰" in text


def test_events_show_what_they_carried_on_60_columns() -> None:
    args = ["analyze", "--events", "--filter", "~u /v1/messages", "samples/mixed.flow"]
    lines = screen(args, 60)
    print("\n".join(lines))
    rows = [line for line in lines if re.match(r"\s*\d+ ", line)]
    carried = {line.split()[1]: line.split(maxsplit=2)[2] for line in rows if len(line.split()) > 2}
    assert carried["message_stop"] == "end"
    assert carried["message_start"] == "message_start"
    assert any('text "Hello!"' in line for line in rows)
    assert not any('{"type"' in line for line in rows)  # the raw data is behind --raw
    raw = screen([*args[:2], "--raw", *args[2:]], 60)
    assert any('{"type":"message_stop"}' in line for line in raw)
