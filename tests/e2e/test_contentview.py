"""The SSE contentview where users look: ``mitmdump --flow-detail 3``, the mitmproxy
console in tmux, and mitmweb in Chromium.

Both load ``addons/sse_capture.py`` as a user does and read a committed capture (``-r``);
nothing listens beyond 127.0.0.1 and nothing is contacted but mitmweb itself. What the
view must show is taken from ``sse-inspect analyze --json`` on the same sample, never
written here.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from sse_inspect.demo.browser import Browser, find_chromium
from sse_inspect.demo.harness import free_port
from sse_inspect.present.units import ms

from ..conftest import ROOT, SAMPLES

SAMPLE = SAMPLES / "captured-openai-chat.flow"
ADDON = ROOT / "addons" / "sse_capture.py"
BIN = Path(sys.executable).parent


def flat(text: str) -> str:
    """Line breaks and runs of spaces as one space: the view wraps the answer."""
    return " ".join(text.split())


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    """The sample's one stream as ``sse-inspect analyze --json`` reports it."""
    out = subprocess.run(
        [str(BIN / "sse-inspect"), "analyze", "--json", str(SAMPLE)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    (stream,) = json.loads(out)["streams"]
    assert stream["text"] and stream["timing"] == "per-chunk"
    return dict(stream)


def test_mitmdump_shows_the_answer_and_the_timed_events(expected: dict[str, Any]) -> None:
    run = subprocess.run(
        [str(BIN / "mitmdump"), "-nr", str(SAMPLE), "-s", str(ADDON), "--flow-detail", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "TERM": "dumb"},
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    _, response = out.split(" << 200 OK", 1)
    assert "Content-Type: text/event-stream" in response
    view = response.split("\n\n", 1)[1]  # after the headers
    lines = [line.strip() for line in view.splitlines()]
    assert lines[0] == (
        f"SSE · {expected['dialect']} · model {expected['model']} · "
        f"{expected['events']} events · complete · finish {expected['finish_reason']}"
    )
    assert f"TTFT {ms(expected['ttft_ms'])} ms" in lines[1]
    head, _, events = view.partition("Events:")
    assert flat(expected["text"]) in flat(head)
    rows = [line.split() for line in events.splitlines()[2:] if line.strip()]
    assert rows[0][0] == ms(expected["ttfb_ms"])  # the first event came with the first byte
    assert [r[2:4] for r in rows[:2]] == [["role", "assistant"], ["text", '"Server-Sent"']]
    assert len([r for r in rows if r[1] == "message"]) == expected["events"]
    assert rows[-1][1:3] == ["message", "[DONE]"]
    assert rows[-1][0] == ms(expected["duration_ms"])  # its time from the request start
    assert "Traceback" not in run.stderr + out


# -- the mitmproxy console in tmux -------------------------------------------------------


def _screen(server: str) -> str:
    return subprocess.run(
        ["tmux", "-L", server, "capture-pane", "-p"],
        capture_output=True, text=True, timeout=10, check=True,
    ).stdout  # fmt: skip


def _wait_for(server: str, text: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while True:
        screen = _screen(server)
        if text in screen or time.monotonic() > deadline:
            return screen
        time.sleep(0.2)


@pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux (apt install tmux)")
def test_the_mitmproxy_console_picks_the_sse_view(expected: dict[str, Any], tmp_path: Path) -> None:
    """As a person would: open the flow in ``mitmproxy``'s console and go to its response."""
    server = f"sse-inspect-console-{os.getpid()}-{secrets.token_hex(3)}"
    console = [
        str(BIN / "mitmproxy"), "-nr", str(SAMPLE), "-s", str(ADDON),
        "--set", "console_mouse=false", "--set", f"confdir={tmp_path / 'mitmproxy'}",
    ]  # fmt: skip
    tmux = ["tmux", "-L", server, "-f", "/dev/null"]
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "140", "-y", "45", "-c", str(ROOT), *console],
        check=True, timeout=10,
    )  # fmt: skip
    try:
        flows = _wait_for(server, "/v1/chat/completions")
        assert "/v1/chat/completions" in flows, flows
        subprocess.run([*tmux, "send-keys", "Enter"], check=True, timeout=10)
        _wait_for(server, "Flow Details")
        subprocess.run([*tmux, "send-keys", "Tab"], check=True, timeout=10)
        screen = _wait_for(server, "Answer:")
    finally:
        subprocess.run([*tmux, "kill-server"], timeout=10, check=False)
    assert f"SSE · {expected['dialect']} · model {expected['model']}" in screen, screen
    head = screen.split("Answer:", 1)[1].split("Events:", 1)[0]
    first_words = " ".join(expected["text"].split()[:8])
    assert first_words in flat(head), screen
    assert f"{ms(expected['ttfb_ms'])}  message  role assistant" in screen, screen


# -- mitmweb in headless Chromium -------------------------------------------------------


class Mitmweb:
    """``mitmweb`` reading the sample, with the addon, on free ports of 127.0.0.1."""

    def __init__(self, log_dir: Path) -> None:
        self.password = secrets.token_hex(8)
        self.web_port = free_port()
        self.log = log_dir / "mitmweb.log"
        self.lines: queue.Queue[str] = queue.Queue()
        args = [
            str(BIN / "mitmweb"),
            "--no-web-open-browser",
            *("--web-host", "127.0.0.1", "--web-port", str(self.web_port)),
            *("--listen-host", "127.0.0.1", "--listen-port", str(free_port())),
            *("--set", f"web_password={self.password}"),
            *("-r", str(SAMPLE), "-s", str(ADDON)),
        ]
        self.proc = subprocess.Popen(
            args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, out: IO[str]) -> None:
        with self.log.open("w") as log:
            for line in out:
                log.write(line)
                log.flush()
                self.lines.put(line)

    def wait_listening(self, timeout: float = 30.0) -> None:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"mitmweb did not start: {self.log.read_text()}") from None
            if "Web server listening at" in line:
                return

    def url(self, fragment: str) -> str:
        return f"http://127.0.0.1:{self.web_port}/?token={self.password}#{fragment}"

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def mitmweb(tmp_path: Path) -> Iterator[Mitmweb]:
    web = Mitmweb(tmp_path)
    try:
        web.wait_listening()
        yield web
    finally:
        web.stop()


PRE = "(document.querySelector('.contentview pre') || {}).innerText || ''"
SHOWN_VIEW = "(document.querySelector('.contentview .controls h5') || {}).textContent"
VIEW_MENU = ".contentview .controls a.btn:last-child"


@pytest.mark.skipif(find_chromium() is None, reason="needs Chromium (apt install chromium)")
def test_mitmweb_shows_the_answer_in_the_sse_view(
    mitmweb: Mitmweb, expected: dict[str, Any], tmp_path: Path
) -> None:
    answer = json.dumps(flat(expected["text"]))
    first_row = json.dumps(f"{ms(expected['ttfb_ms'])}  message  role assistant")
    with Browser(1400, 1000) as b:
        b.open(mitmweb.url(f"/flows/{expected['flow_id']}/response"))
        # mitmweb picks the view by itself ...
        b.wait_for(f"({SHOWN_VIEW}) === 'SSE'", timeout=30)
        b.wait_for(f"{PRE}.split(/\\s+/).join(' ').includes({answer})")
        # ... and a user can pick it from the View menu, which lists it
        b.click(VIEW_MENU)
        b.evaluate(
            "[...document.querySelectorAll('.dropdown-menu li a')]"
            ".find(a => a.textContent.trim() === 'sse').id = 'pick-sse'"
        )
        b.click("#pick-sse")
        b.wait_for(
            "document.querySelector('.contentview .controls').innerText.includes('View: sse')"
        )
        text = b.wait_for(f"{PRE}.includes({first_row}) && {PRE}")
        shot = b.screenshot(tmp_path / "mitmweb-sse-view.png", full_page=False)
        errors = b.console_errors
    assert flat(expected["text"]) in flat(text)
    assert "times in ms from the request start" in text
    assert f"finish {expected['finish_reason']}" in text
    assert shot.stat().st_size > 10_000
    # mitmweb 12.3's own page asks for a stylesheet it lacks (src/css/vendor.less): a 404
    # that is not ours. Anything else (an exception, a failed view request) fails.
    assert [e for e in errors if "status of 404" not in e] == [], errors
    assert "Traceback" not in mitmweb.log.read_text()
