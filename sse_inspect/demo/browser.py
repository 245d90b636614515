"""Headless Chromium driven over the DevTools protocol, for tests and screenshots.

What a person sees is tested as a person sees it: the HTML report and mitmweb are opened
in a real browser, their DOM is read after the page's own script ran, console errors are
collected, and screenshots are saved. Chromium's ``--dump-dom`` cannot wait for a
condition, see console errors or click; a driver library (Playwright, Selenium) would be a
large dependency and would fetch its own browser. The DevTools protocol is JSON over one
WebSocket, so a blocking socket and ``wsproto`` (a sans-IO WebSocket, installed with
mitmproxy) do it in a page of code.

    with Browser(width=1280, height=900) as b:
        b.open("file:///tmp/report.html")
        b.wait_for("document.querySelectorAll('svg').length > 0")
        b.screenshot(Path("report.png"))
        assert not b.console_errors

Chromium listens on 127.0.0.1 only, on a port it picks, with a profile of its own that is
deleted afterwards; it never contacts another address on its own (no first-run, no sync,
no component updates).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)

__all__ = ["Browser", "BrowserError", "find_chromium"]

_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
_FLAGS = (
    "--headless=new",
    "--no-sandbox",  # CI runs as root
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)


class BrowserError(Exception):
    """The browser could not start, answered with an error, or a wait timed out."""


def find_chromium() -> str | None:
    """The path of a Chromium-like browser (``$CHROMIUM`` first), or ``None``."""
    named = os.environ.get("CHROMIUM")
    if named:
        return shutil.which(named) or (named if Path(named).is_file() else None)
    for name in _NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


class Browser:
    """One headless Chromium with one page (see the module docstring).

    ``console_errors`` collects ``console.error`` calls, uncaught exceptions and errors
    the browser logs (a failed load, a blocked resource), as one line each.
    ``requests`` holds the URL of every request the page made, to check that a page
    loads nothing from the network.
    """

    def __init__(self, width: int = 1280, height: int = 900, *, dark: bool = False) -> None:
        self.width = width
        self.height = height
        self.dark = dark
        self._errors: list[str] = []
        self._requests: list[str] = []
        self._ids = itertools.count(1)
        self._proc: subprocess.Popen[bytes] | None = None
        self._profile: str | None = None
        self._sock: socket.socket | None = None
        self._ws = WSConnection(ConnectionType.CLIENT)
        self._text: list[str] = []
        self._pending: list[dict[str, Any]] = []  # messages read while waiting for another

    # -- life cycle -------------------------------------------------------------------------

    def __enter__(self) -> Browser:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _start(self) -> None:
        binary = find_chromium()
        if binary is None:
            raise BrowserError("no Chromium found (install Debian's `chromium`)")
        self._profile = tempfile.mkdtemp(prefix="sse-inspect-chromium-")
        self._proc = subprocess.Popen(
            [
                binary,
                *_FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={self.width},{self.height}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._wait_for_port(Path(self._profile) / "DevToolsActivePort")
        page = self._page_target(port)
        self._connect(port, page)
        self.call("Page.enable")
        self.call("Runtime.enable")
        self.call("Log.enable")
        self.call("Network.enable")
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {
                "width": self.width,
                "height": self.height,
                "deviceScaleFactor": 1,
                "mobile": self.width < 600,
            },
        )
        scheme = "dark" if self.dark else "light"
        self.call(
            "Emulation.setEmulatedMedia",
            {"features": [{"name": "prefers-color-scheme", "value": scheme}]},
        )

    def _wait_for_port(self, path: Path, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self._proc is not None
            if self._proc.poll() is not None:
                raise BrowserError(f"chromium exited at start (status {self._proc.returncode})")
            with contextlib.suppress(OSError, ValueError, IndexError):
                return int(path.read_text().splitlines()[0])
            time.sleep(0.05)
        raise BrowserError("chromium did not open its DevTools port within 30 s")

    @staticmethod
    def _page_target(port: int) -> str:
        """The WebSocket path of the page that Chromium opened."""
        deadline = time.monotonic() + 10.0
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=5) as r:
                targets = json.load(r)
            for target in targets:
                if target.get("type") == "page":
                    url: str = target["webSocketDebuggerUrl"]
                    return url.split(f"127.0.0.1:{port}", 1)[1]
            if time.monotonic() > deadline:
                raise BrowserError("chromium shows no page to drive")
            time.sleep(0.05)

    def _connect(self, port: int, path: str) -> None:
        self._sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self._send(Request(host=f"127.0.0.1:{port}", target=path))
        while True:
            for event in self._receive():
                if isinstance(event, AcceptConnection):
                    return
                raise BrowserError(f"DevTools refused the connection: {event!r}")

    def close(self) -> None:
        """Stop the browser and delete its profile (safe to call twice)."""
        if self._sock is not None:
            with contextlib.suppress(OSError):
                self._sock.close()
            self._sock = None
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._profile is not None:
            shutil.rmtree(self._profile, ignore_errors=True)
            self._profile = None

    @property
    def console_errors(self) -> list[str]:
        """The page's errors so far (see the class docstring)."""
        self._drain()
        return list(self._errors)

    @property
    def requests(self) -> list[str]:
        """The URL of every request the page made so far."""
        self._drain()
        return list(self._requests)

    # -- the protocol -----------------------------------------------------------------------

    def call(
        self, method: str, params: dict[str, Any] | None = None, timeout: float = 30.0
    ) -> dict[str, Any]:
        """Send one DevTools command and return its result (events meanwhile are noted)."""
        ident = next(self._ids)
        message = {"id": ident, "method": method, "params": params or {}}
        self._send(TextMessage(data=json.dumps(message)))
        deadline = time.monotonic() + timeout
        while True:
            reply = self._next(deadline)
            if reply.get("id") == ident:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error'].get('message', reply)}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self._note(reply)

    def _next(self, deadline: float) -> dict[str, Any]:
        while not self._pending:
            if time.monotonic() > deadline:
                raise BrowserError("the browser did not answer in time")
            for event in self._receive(max(0.01, deadline - time.monotonic())):
                if isinstance(event, TextMessage):
                    self._text.append(event.data)
                    if event.message_finished:
                        self._pending.append(json.loads("".join(self._text)))
                        self._text.clear()
                elif isinstance(event, Ping):
                    self._send(event.response())
                elif isinstance(event, CloseConnection):
                    raise BrowserError("the browser closed the DevTools connection")
                elif isinstance(event, BytesMessage):
                    pass
        return self._pending.pop(0)

    def _note(self, message: dict[str, Any]) -> None:
        """Keep what a test wants to know of the page's events."""
        method, params = message.get("method"), message.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            text = " ".join(str(a.get("value", a.get("description", ""))) for a in args)
            self._errors.append(f"console.error: {text}")
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            exc = details.get("exception", {}).get("description") or details.get("text", "")
            self._errors.append(f"uncaught: {exc}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            self._errors.append(f"{entry.get('source', 'log')}: {entry.get('text', '')}")
        elif method == "Network.requestWillBeSent":
            self._requests.append(params.get("request", {}).get("url", ""))

    def _send(self, event: Any) -> None:
        assert self._sock is not None
        self._sock.sendall(self._ws.send(event))

    def _receive(self, timeout: float = 30.0) -> list[Any]:
        assert self._sock is not None
        self._sock.settimeout(timeout)
        try:
            data = self._sock.recv(1 << 16)
        except TimeoutError:
            return []
        if not data:
            raise BrowserError("the browser closed the DevTools connection")
        self._ws.receive_data(data)
        return list(self._ws.events())

    def _drain(self) -> None:
        """Note the events that arrived so far, without waiting for more."""
        if self._sock is None:
            return  # closed: what was noted is all there is
        deadline = time.monotonic() + 0.05
        with contextlib.suppress(BrowserError):
            while True:
                self._note(self._next(deadline))

    # -- what a test does -------------------------------------------------------------------

    def open(self, url: str, timeout: float = 30.0) -> None:
        """Load ``url`` and wait until its ``load`` event fired."""
        result = self.call("Page.navigate", {"url": url}, timeout)
        if result.get("errorText"):
            raise BrowserError(f"cannot open {url}: {result['errorText']}")
        self.wait_for("document.readyState === 'complete'", timeout)

    def evaluate(self, expression: str, timeout: float = 30.0) -> Any:
        """The value of a JavaScript expression in the page (promises are awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            exc = details.get("exception", {}).get("description") or details.get("text")
            raise BrowserError(f"{expression[:60]}: {exc}")
        return result.get("result", {}).get("value")

    def wait_for(self, expression: str, timeout: float = 20.0) -> Any:
        """Evaluate ``expression`` until it is truthy; its value, or :class:`BrowserError`."""
        deadline = time.monotonic() + timeout
        while True:
            value = self.evaluate(expression)
            if value:
                self._drain()
                return value
            if time.monotonic() > deadline:
                raise BrowserError(f"timed out waiting for: {expression}")
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """Click the first element matching a CSS selector, as a user's mouse would."""
        box = self.evaluate(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            " if (!e) return null; e.scrollIntoView({block: 'center'});"
            " const r = e.getBoundingClientRect();"
            " return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        if not box:
            raise BrowserError(f"nothing matches {selector!r}")
        x, y = box
        for kind in ("mousePressed", "mouseReleased"):
            self.call(
                "Input.dispatchMouseEvent",
                {"type": kind, "x": x, "y": y, "button": "left", "clickCount": 1},
            )
        self._drain()

    def screenshot(self, path: Path, *, full_page: bool = True) -> Path:
        """Save a PNG of the page (the whole page, or only the viewport)."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": full_page}
        if full_page:
            size = self.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.scrollHeight]"
            )
            width, height = size or (self.width, self.height)
            params["clip"] = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
        data = self.call("Page.captureScreenshot", params)["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        self._drain()
        return path
