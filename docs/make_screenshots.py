#!/usr/bin/env python3
"""Make the README's screenshots again: ``.venv/bin/python docs/make_screenshots.py``.

Everything runs on this machine and nothing contacts any address but 127.0.0.1: pages are
opened from file:// URLs in headless Chromium (Debian's ``chromium``) through
:mod:`sse_inspect.demo.browser`, which refuses any other request here.

- ``docs/report.png``: ``sse-inspect report`` of ``samples/mixed.flow`` and
  ``samples/captured-openai-chat.flow`` (three streams), light theme, the top of the page:
  the sortable summary, the distributions across streams, and the first stream's figures
  and timeline.
- ``docs/live.png``: the live view of ``sse-inspect capture --live`` in a real terminal
  (tmux, 120 x 30, on a private socket) while three chat streams go through it: one
  finished with its verdict, two still typing themselves out. The streams come from a
  scripted chat server on 127.0.0.1 (:class:`~sse_inspect.replay.server.ScriptServer`),
  the requests from ``http.client``; the screen is read with ``tmux capture-pane -e``, its
  colours drawn by rich as an SVG, and the SVG photographed by Chromium.

``--only live`` or ``--only report`` makes one of them; ``--dark`` the report's dark theme
(to ``docs/report-dark.png``).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import http.client
import io
import os
import re
import secrets
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console
from rich.text import Text

from sse_inspect.cli import main
from sse_inspect.demo.browser import Browser, find_chromium
from sse_inspect.demo.chatsim import (
    ANSWER,
    anthropic_events,
    cadence,
    openai_chat_events,
    responses_events,
    tokens,
)
from sse_inspect.demo.harness import free_port
from sse_inspect.replay.server import Script, ScriptServer

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
SAMPLES = ROOT / "samples"
REPORT_SAMPLES = (SAMPLES / "mixed.flow", SAMPLES / "captured-openai-chat.flow")
REPORT_SIZE = (1280, 1720)
"""The browser's window for the report: wide enough for the summary table on one line,
tall enough for the first stream's timeline."""


def report_screenshot(out: Path = DOCS / "report.png", *, dark: bool = False) -> Path:
    """Write the report of :data:`REPORT_SAMPLES` to a temporary file and save a PNG of the
    top of the page (the window, not the whole page) to ``out``."""
    with tempfile.TemporaryDirectory(prefix="sse-inspect-docs-") as tmp:
        page = Path(tmp) / "report.html"
        args = ["report", *map(str, REPORT_SAMPLES), "-o", str(page), "--title", "Chat streams"]
        result = CliRunner().invoke(main, args)
        if result.exit_code != 0:
            raise SystemExit(f"sse-inspect report failed: {result.output}")
        # The samples' paths as a user would type them, not this machine's.
        text = page.read_text(encoding="utf-8").replace(str(ROOT) + "/", "")
        page.write_text(text, encoding="utf-8")
        width, height = REPORT_SIZE
        with Browser(width=width, height=height, dark=dark) as b:
            b.open(page.as_uri())
            b.wait_for("document.querySelectorAll('svg[data-chart=timeline]').length > 0")
            if b.console_errors:
                raise SystemExit(f"the report logged errors: {b.console_errors}")
            b.screenshot(out, full_page=False)
    return out


# -- the live view ----------------------------------------------------------------------------

TERMINAL = (120, 30)
"""The terminal's columns and rows (tmux's window; the panel fits three streams)."""
LIVE_TITLE = "sse-inspect capture --live"
SHORT_ANSWER = (
    "Yes: an SSE stream is one long HTTP response, so a proxy must forward each chunk the "
    "moment it arrives, or the typing effect is lost."
)


@dataclass(frozen=True)
class Stream:
    """One request of the live screenshot: its path, its script, when the client sends it."""

    path: str
    script: Script
    after_s: float
    """Seconds after the first request."""


def _timed(
    events: Sequence[bytes],
    *,
    seed: int,
    first: float,
    gap: tuple[float, float],
    stall_after: int | None = None,
    stall: float = 0.0,
) -> Script:
    """The events at a jittered pace (:func:`~sse_inspect.demo.chatsim.cadence`)."""
    offsets = cadence(
        len(events), seed=seed, first=first, gap=gap, stall_after=stall_after, stall=stall
    )
    return Script(tuple(zip(offsets, events, strict=True)))


LIVE_STREAMS = (
    # the quick one: finished (with its verdict) by the time the screen is read
    Stream(
        "/v1/chat/completions",
        _timed(
            openai_chat_events(tokens(SHORT_ANSWER)),
            seed=1,
            first=0.35,
            gap=(0.05, 0.09),
            stall_after=None,
        ),
        0.0,
    ),
    # two long ones, still streaming: the second has a stall (a red block in its gaps)
    Stream(
        "/v1/messages",
        _timed(
            anthropic_events(tokens(ANSWER)),
            seed=2,
            first=0.6,
            gap=(0.03, 0.2),
            stall_after=None,
        ),
        0.2,
    ),
    Stream(
        "/v1/responses",
        _timed(
            responses_events(tokens(ANSWER.split(". ", 3)[-1])),
            seed=3,
            first=0.5,
            gap=(0.03, 0.11),
            stall_after=12,
            stall=1.1,
        ),
        0.5,
    ),
)
MIN_TAIL = 70
"""The answer characters a stream in flight shows before the screen is taken."""


def _panel_rows(screen: str) -> dict[str, tuple[str, str]]:
    """Per path of :data:`LIVE_STREAMS`: its row of figures and the answer line under it."""
    lines = screen.splitlines()
    rows: dict[str, tuple[str, str]] = {}
    for i, line in enumerate(lines[:-1]):
        if not line.startswith("│"):
            continue
        for stream in LIVE_STREAMS:
            if stream.path + " " in line:
                rows[stream.path] = (line, lines[i + 1].strip(" │"))
    return rows


def _ready(screen: str) -> bool:
    """The first stream finished with its verdict, the others streaming with some words."""
    rows = _panel_rows(screen)
    if len(rows) < len(LIVE_STREAMS):
        return False
    first, *others = LIVE_STREAMS
    if "complete" not in rows[first.path][0]:
        return False
    return all("streaming" in rows[s.path][0] and len(rows[s.path][1]) >= MIN_TAIL for s in others)


def _fetch(port: int, url: str) -> None:
    """POST a streamed chat request through the proxy and read the answer as it comes."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        body = b'{"stream": true, "messages": [{"role": "user", "content": "Hi"}]}'
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        conn.request("POST", url, body, headers)
        response = conn.getresponse()
        while response.read1(65536):
            pass
    except (OSError, http.client.HTTPException):
        pass  # the proxy was stopped once the screen was taken
    finally:
        conn.close()


def _wait(what: str, test: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not test():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def capture_live_screen(tmp: Path) -> str:
    """Run the proxy with its live view in tmux, send :data:`LIVE_STREAMS` through it and
    return the screen (with its colour escapes) once :func:`_ready` holds."""
    binary = shutil.which("tmux")
    if binary is None:
        raise RuntimeError("tmux is not installed (apt-get install -y tmux)")
    socket_name = f"sse-inspect-docs-{os.getpid()}-{secrets.token_hex(4)}"
    base = [binary, "-L", socket_name, "-f", os.devnull]

    def tmux(*args: str, check: bool = True) -> str:
        done = subprocess.run([*base, *args], capture_output=True, text=True, check=check)
        return done.stdout

    server = ScriptServer({s.path: s.script for s in LIVE_STREAMS})
    port = free_port()
    command = [
        *("env", "-u", "COLUMNS", "-u", "LINES", "-u", "NO_COLOR", "TERM=xterm-256color"),
        *(sys.executable, "-m", "sse_inspect", "capture", "--live", "-p", str(port)),
        *("-w", "live.flow", "--confdir", "mitmproxy"),  # in tmp: short names on screen
    ]
    size = ("-x", str(TERMINAL[0]), "-y", str(TERMINAL[1]))
    screen = ""
    try:
        origin = server.start()
        shell = shlex.join(command) + "; sleep 60"  # the pane stays, should it stop early
        tmux("new-session", "-d", "-s", "live", "-c", str(tmp), *size, shell)
        tmux("set-option", "-t", "live", "status", "off")
        _wait("the proxy to listen", lambda: _listening(port))
        start = time.monotonic()
        for stream in LIVE_STREAMS:
            time.sleep(max(0.0, start + stream.after_s - time.monotonic()))
            threading.Thread(target=_fetch, args=(port, origin + stream.path), daemon=True).start()

        def ready() -> bool:
            nonlocal screen
            screen = tmux("capture-pane", "-p", "-e", "-t", "live")
            return _ready(Text.from_ansi(screen).plain)

        _wait("a finished stream and two in flight on screen", ready)
        return screen
    except RuntimeError as e:
        with contextlib.suppress(subprocess.SubprocessError):
            screen = tmux("capture-pane", "-p", "-t", "live")
        raise RuntimeError(f"{e}; the last screen:\n{screen}") from None
    finally:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            tmux("send-keys", "-t", "live", "C-c", check=False)
            time.sleep(0.3)
            tmux("kill-server", check=False)
        server.stop()


# rich's SVG would load Fira Code from a CDN: fonts of this machine instead.
_FONT_URLS = re.compile(r",\s*url\([^)]*\)\s*format\([^)]*\)")
_FONTS = 'font-family: "Fira Code", "DejaVu Sans Mono", "Liberation Mono", monospace;'


def screen_svg(screen: str, *, title: str = LIVE_TITLE) -> str:
    """A terminal screen with ANSI colour escapes as rich's SVG of a terminal window: the
    blank lines at the bottom of the screen left out, no web fonts."""
    text = Text.from_ansi(screen.rstrip("\n").rstrip(), no_wrap=True)
    console = Console(record=True, width=TERMINAL[0], force_terminal=True, file=io.StringIO())
    console.print(text, crop=True, soft_wrap=False)
    svg = console.export_svg(title=title)
    svg = _FONT_URLS.sub("", svg)
    return svg.replace("font-family: Fira Code, monospace;", _FONTS)


def svg_screenshot(svg: str, out: Path) -> Path:
    """Photograph an SVG at its own size (its viewBox, in CSS pixels) with Chromium."""
    box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', svg)
    if box is None:
        raise ValueError("the SVG has no viewBox")
    width, height = (round(float(v)) for v in box.groups())
    with tempfile.TemporaryDirectory(prefix="sse-inspect-docs-") as tmp:
        page = Path(tmp) / "live.html"
        sized = svg.replace("<svg ", f'<svg width="{width}" height="{height}" ', 1)
        page.write_text(
            "<!doctype html><meta charset=utf-8><title>live</title>"
            "<style>html,body{margin:0;background:transparent}svg{display:block}</style>"
            f"<body>{sized}</body>",
            encoding="utf-8",
        )
        with Browser(width=width, height=height) as b:
            b.open(page.as_uri())
            b.wait_for("document.fonts.status === 'loaded'")
            rect = b.evaluate(
                "(() => { const r = document.querySelector('svg').getBoundingClientRect();"
                " return [r.x, r.y, r.width, r.height]; })()"
            )
            x, y, w, h = rect
            clip = {"x": x, "y": y, "width": w, "height": h, "scale": 1}
            # transparent outside the window's rounded corners
            b.call(
                "Emulation.setDefaultBackgroundColorOverride",
                {"color": {"r": 0, "g": 0, "b": 0, "a": 0}},
            )
            shot = b.call("Page.captureScreenshot", {"format": "png", "clip": clip})
            if b.console_errors:
                raise RuntimeError(f"the SVG page logged errors: {b.console_errors}")
            stray = [u for u in b.requests if not u.startswith(("file:", "data:"))]
            if stray:
                raise RuntimeError(f"the SVG page made requests: {stray}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(base64.b64decode(shot["data"]))
    return out


def live_screenshot(out: Path = DOCS / "live.png") -> Path:
    """Take the live view's screen (:func:`capture_live_screen`) and save it as a PNG."""
    with tempfile.TemporaryDirectory(prefix="sse-inspect-docs-") as tmp:
        screen = capture_live_screen(Path(tmp))
    return svg_screenshot(screen_svg(screen), out)


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=("live", "report"), help="Make one screenshot.")
    parser.add_argument("--dark", action="store_true", help="Dark theme (to docs/report-dark.png).")
    args = parser.parse_args()
    if find_chromium() is None:
        sys.exit("no Chromium found: install Debian's `chromium` (or set CHROMIUM)")
    if args.only in (None, "report"):
        out = DOCS / ("report-dark.png" if args.dark else "report.png")
        print(report_screenshot(out, dark=args.dark).relative_to(ROOT))
    if args.only in (None, "live"):
        if shutil.which("tmux") is None:
            sys.exit("no tmux found: install it (apt-get install -y tmux) for docs/live.png")
        print(live_screenshot().relative_to(ROOT))


if __name__ == "__main__":
    main_()
