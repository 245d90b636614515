"""The live view of `sse-inspect capture` in a real terminal (tmux, 120 x 30), read off the
screen while a slow stream is still streaming through it, and after it ended.

Everything runs on 127.0.0.1: a scripted chat server, the proxy in a detached tmux pane on a
private tmux socket (``-L``), and an http.client request through the proxy.
"""

from __future__ import annotations

import http.client
import os
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sse_inspect.demo.chatsim import openai_chat_events, tokens
from sse_inspect.demo.harness import free_port
from sse_inspect.replay.server import Script, ScriptServer

SCRIPT = Path(sys.executable).parent / "sse-inspect"
PATH = "/v1/chat/completions"
ANSWER = (
    "Each frame of a stream is a few lines such as data: followed by a blank line, so a "
    "client can show the answer token by token while the model is still writing it."
)
EVENTS = openai_chat_events(tokens(ANSWER))
SLOW = Script(tuple((0.3 + 0.12 * i, e) for i, e in enumerate(EVENTS)))  # about 4 s


@pytest.fixture
def tmux() -> Iterator[Callable[..., subprocess.CompletedProcess[str]]]:
    """``tmux(args...)`` on a private server, killed at the end."""
    binary = shutil.which("tmux")
    if binary is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux): no terminal to look at")
    base = [binary, "-L", f"sse-inspect-live-{os.getpid()}", "-f", os.devnull]

    def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, check=check)

    try:
        yield run
    finally:
        run("kill-server", check=False)


def wait_for(what: str, test: Callable[[], bool], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def in_panel(line: str) -> bool:
    """A row of the panel (the log line above it names the path too)."""
    return line.startswith("│") and PATH in line


def test_the_live_view_shows_a_stream_while_it_streams(
    tmux: Callable[..., subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    server = ScriptServer({PATH: SLOW})
    base = server.start()
    port = free_port()
    capture = tmp_path / "live.flow"
    command = shlex.join(
        [
            *("env", "-u", "COLUMNS", "-u", "LINES", str(SCRIPT), "capture", "--live"),
            *("-p", str(port), "-w", str(capture), "--confdir", str(tmp_path / "conf")),
        ]
    )
    screens: list[str] = []

    def screen(history: bool = False) -> str:
        args = ["capture-pane", "-p", "-t", "live", *(["-S", "-"] if history else [])]
        shown = tmux(*args).stdout
        screens.append(shown)
        return shown

    try:
        shell = f"{command}; sleep 60"  # the pane stays to be read after the proxy stops
        tmux("new-session", "-d", "-s", "live", "-x", "120", "-y", "30", shell)
        wait_for("the proxy to listen", lambda: listening(port))

        got: list[bytes] = []

        def fetch() -> None:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("POST", base + PATH, b'{"stream": true}', {"Accept": "text/event-stream"})
            response = conn.getresponse()
            while chunk := response.read1(65536):
                got.append(chunk)
            conn.close()

        client = threading.Thread(target=fetch, daemon=True)
        client.start()

        def streaming_on_screen() -> bool:
            lines = screen().splitlines()
            at = next((i for i, line in enumerate(lines) if in_panel(line)), None)
            if at is None or at + 1 >= len(lines) or "streaming" not in lines[at]:
                return False
            typed = lines[at + 1].strip(" │").removeprefix("…")
            return len(typed) >= 8 and typed in ANSWER

        wait_for("the stream and its first words on screen", streaming_on_screen)
        assert client.is_alive(), "the stream ended before the screen was read"
        assert b"".join(got) != b"".join(EVENTS)  # still streaming

        client.join(30)
        assert b"".join(got) == b"".join(EVENTS)

        def finished_on_screen() -> bool:
            row = next((line for line in screen().splitlines() if in_panel(line)), "")
            return "complete" in row and "openai-chat" in row

        wait_for("the finished verdict", finished_on_screen)
        assert ANSWER[-40:] in screens[-1]  # the whole tail typed out

        tmux("send-keys", "-t", "live", "C-c")
        wait_for("the summary", lambda: "1 stream recorded (1 complete, 0 cut)" in screen(True))
        assert "Traceback" not in screens[-1]
    finally:
        print("\n--- last screen\n" + (screens[-1] if screens else "(none)"))
        server.stop()
