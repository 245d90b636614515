"""A local HTTP server that plays scripted event streams: replays, the demo and tests.

Each route plays a :class:`Script`: what to write and when, optionally gzip-compressed the
way streaming servers do it (a sync flush per write), optionally ending with a connection
reset. A router picks the script per request (:class:`PathRoutes` by path; a replay's
recordings by method, path and body). It runs tornado (installed with mitmproxy) on
127.0.0.1 in a background thread. With ``record_sent`` it notes when each write left, so
tests can compare what the server sent with what a client behind the proxy received.

It keeps nothing per request otherwise (a replay serves any number of them in constant
memory), and reads request bodies as they come, keeping at most ``max_body`` bytes of one: a
larger body is read to its end and thrown away, then refused with a 413 and a one-line JSON
error (at once, without reading it, when the client waits for ``100-continue`` or announces
more than :data:`DRAIN_LIMIT`).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
import threading
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Protocol

import tornado.httpserver
import tornado.iostream
import tornado.netutil
import tornado.web

__all__ = [
    "DEFAULT_MAX_BODY",
    "DRAIN_LIMIT",
    "SSE_HEADERS",
    "PathRoutes",
    "Router",
    "Script",
    "ScriptServer",
    "Sent",
    "Served",
    "format_size",
    "parse_size",
]

SSE_HEADERS = (("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"))
MiB = 1024 * 1024
DEFAULT_MAX_BODY = 8 * MiB
"""The largest request body kept: chat requests with long histories and images fit."""
DRAIN_LIMIT = 1024 * MiB
"""A body over ``max_body`` is read and thrown away before the 413 (so that clients that send
it whole before reading, as most SDKs do, get the answer), unless it announces more than this."""


@dataclass(frozen=True)
class Script:
    """What one route sends: ``(offset s after the request arrived, bytes)`` per write."""

    writes: tuple[tuple[float, bytes], ...]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = SSE_HEADERS
    gzip: bool = False
    reset_after: int | None = None
    """Reset the connection (TCP RST) after this many writes instead of ending the response."""

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.writes)


@dataclass
class Sent:
    """One write as it left the server."""

    path: str
    request: int
    """Which request (numbered from 1 per server) the write answered."""
    t: float
    data: bytes
    """The bytes on the wire (compressed when the script is gzip)."""


@dataclass(frozen=True)
class Served:
    """One request answered by a script (or refused: ``script`` None), told when its answer
    ended."""

    method: str
    path: str
    script: Script | None
    seconds: float
    """From the request's arrival to the end of the answer."""
    writes: int
    """How many of the script's writes were sent."""
    outcome: str
    """``done``, ``reset`` (the script resets the connection) or ``client closed``; for a
    refused request, why (``request body of 94,371,840 bytes over the 8 MiB limit``)."""
    status: int = 200
    """The status answered (the script's, or 413 for a refused request)."""


class Router(Protocol):
    """Which script answers a request; what to list when none does."""

    def find(self, method: str, path: str, body: bytes) -> Script | None: ...

    def listing(self) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class PathRoutes:
    """The simplest router: one script per path, any method."""

    scripts: Mapping[str, Script]

    def find(self, method: str, path: str, body: bytes) -> Script | None:
        return self.scripts.get(path)

    def listing(self) -> list[dict[str, Any]]:
        return [{"path": path} for path in self.scripts]


@dataclass
class ScriptServer:
    """``with ScriptServer(routes) as base_url: ...`` serves until the block ends."""

    routes: Mapping[str, Script] | Router
    ssl_context: ssl.SSLContext | None = None
    record_sent: bool = False
    """Note every write in :attr:`sent` (for tests; it grows with every request)."""
    sent: list[Sent] = field(default_factory=list)
    max_body: int = DEFAULT_MAX_BODY
    """The largest request body accepted; a larger one is refused with 413."""
    port: int = 0
    """The port to listen on (0: any free one); the one actually bound once started."""
    host: str = "127.0.0.1"
    requests: int = 0
    on_served: Callable[[Served], None] | None = None
    """Called (in the server's thread) when each answer ends, e.g. to log it."""

    def __post_init__(self) -> None:
        self.router: Router = (
            PathRoutes(self.routes) if isinstance(self.routes, Mapping) else self.routes
        )
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self.error: OSError | None = None

    @property
    def base_url(self) -> str:
        scheme = "https" if self.ssl_context else "http"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("script server did not start")
        if self.error is not None:
            raise self.error
        return self.base_url

    def stop(self) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(10)

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = _Application([(r"/.*", _Handler, {"server": self})])
        http = tornado.httpserver.HTTPServer(
            app, ssl_options=self.ssl_context, max_body_size=max(self.max_body, DRAIN_LIMIT)
        )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sockets = tornado.netutil.bind_sockets(self.port, self.host, family=family)
        except OSError as e:
            self.error = e
            self._ready.set()
            return
        http.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        http.stop()
        await http.close_all_connections()


class _Application(tornado.web.Application):
    def log_request(self, handler: tornado.web.RequestHandler) -> None:
        if not getattr(handler, "refused", False):  # a refusal has its own log line
            super().log_request(handler)


@tornado.web.stream_request_body
class _Handler(tornado.web.RequestHandler):
    """Plays the script for a request; its body arrives in pieces, kept up to ``max_body``."""

    def initialize(self, server: ScriptServer) -> None:
        self.server = server
        self._start = time.monotonic()
        self._body: list[bytes] | None = []  # None once over max_body: the rest is dropped
        self._size = 0
        self._writes = 0
        self.refused = False

    def check_xsrf_cookie(self) -> None:
        pass

    def prepare(self) -> None:
        announced = _content_length(self.request.headers.get("Content-Length"))
        if announced is None or announced <= self.server.max_body:
            return
        self._body = None
        waits = self.request.headers.get("Expect", "").lower() == "100-continue"
        if waits or announced > DRAIN_LIMIT:
            # Refused before a byte of it is read; the connection closes after the answer.
            # (Reading is then no longer tornado's business: no 400 of its own after ours.)
            self.request.connection.set_max_body_size(announced)  # type: ignore[union-attr]
            self._refuse(announced)

    def data_received(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._body is not None:
            if self._size <= self.server.max_body:
                self._body.append(chunk)
            else:
                self._body = None  # too large: keep reading, keep nothing

    async def get(self) -> None:
        await self._play()

    async def post(self) -> None:
        await self._play()

    async def put(self) -> None:
        await self._play()

    async def patch(self) -> None:
        await self._play()

    async def delete(self) -> None:
        await self._play()

    async def _play(self) -> None:
        self._start = time.monotonic()
        self._script: Script | None = None
        self._writes = 0
        if self._body is None:
            self._refuse(self._size)
            return
        outcome = "done"
        try:
            await self._play_script(b"".join(self._body))
        except tornado.iostream.StreamClosedError:
            outcome = "client closed"  # nothing left to send to: stop quietly
        if self._script is not None and self._script.reset_after == self._writes:
            outcome = "reset"
        if self._script is not None:
            self._served(self._script, outcome, self._script.status)

    def _served(self, script: Script | None, outcome: str, status: int) -> None:
        if self.server.on_served is None:
            return
        request = self.request
        seconds = time.monotonic() - self._start
        method = request.method or "GET"
        served = Served(method, request.path, script, seconds, self._writes, outcome, status)
        with contextlib.suppress(Exception):  # a logger must not break the server
            self.server.on_served(served)

    def _refuse(self, size: int) -> None:
        """413 with a one-line JSON error, and the connection closed after it."""
        self.refused = True
        limit = format_size(self.server.max_body)
        why = f"request body of {size:,} bytes over the {limit} limit"
        self.set_status(413)
        self.set_header("Connection", "close")
        self.finish({"error": f"{why} of this replay server (sse-inspect replay --max-body)"})
        self._served(None, why, 413)

    async def _play_script(self, body: bytes) -> None:
        request = self.request
        script = self.server.router.find(request.method or "GET", request.path, body)
        if script is None:
            self.set_status(404)
            self.finish(
                {
                    "error": f"nothing recorded answers {request.method} {request.path}",
                    "available": self.server.router.listing(),
                }
            )
            return
        self._script = script
        start = self._start
        self.server.requests += 1
        number = self.server.requests
        self.set_status(script.status)
        self.clear_header("Content-Type")
        for name, value in script.headers:
            self.set_header(name, value)
        z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS) if script.gzip else None
        if z is not None:
            self.set_header("Content-Encoding", "gzip")
        for i, (offset, data) in enumerate(script.writes):
            if script.reset_after is not None and i == script.reset_after:
                self._reset()
                return
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            wire = data if z is None else z.compress(data) + z.flush(zlib.Z_SYNC_FLUSH)
            self.write(wire)
            await self.flush()
            self._writes = i + 1
            if self.server.record_sent:
                self.server.sent.append(Sent(self.request.path, number, time.time(), wire))
        if z is not None:
            tail = z.flush()
            self.write(tail)
            if self.server.record_sent:
                self.server.sent.append(Sent(self.request.path, number, time.time(), tail))
        self.finish()

    def _reset(self) -> None:
        """Abort like a crashing server: RST, no end of the chunked body."""
        stream: Any = self.request.connection.stream  # type: ignore[union-attr]
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()


def _content_length(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # tornado answers it with a 400 of its own


_UNITS = {"": 1, "k": 1024, "m": MiB, "g": 1024 * MiB}


def parse_size(text: str) -> int:
    """``8388608``, ``512k``, ``8M``, ``8MiB``, ``1G`` (binary units, any case) as bytes."""
    t = text.strip().lower().replace(" ", "").removesuffix("ib").removesuffix("b")
    number, unit = (t[:-1], t[-1]) if t[-1:] in ("k", "m", "g") else (t, "")
    try:
        value = float(number)
    except ValueError:
        raise ValueError(f"{text!r} is not a size (e.g. 8388608, 512k, 8M, 1G)") from None
    if not value >= 0 or value * _UNITS[unit] > 2**62:
        raise ValueError(f"{text!r} is not a size (e.g. 8388608, 512k, 8M, 1G)")
    return int(value * _UNITS[unit])


def format_size(n: int) -> str:
    """``8 MiB``, ``512 KiB``, else ``1,000 bytes``."""
    for unit, size in (("GiB", 1024 * MiB), ("MiB", MiB), ("KiB", 1024)):
        if n >= size and n % size == 0:
            return f"{n // size} {unit}"
    return f"{n:,} bytes"
