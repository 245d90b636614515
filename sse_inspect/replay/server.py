"""A local HTTP server that plays scripted event streams: replays, the demo and tests.

Each route plays a :class:`Script`: what to write and when, optionally gzip-compressed the
way streaming servers do it (a sync flush per write), optionally ending with a connection
reset. A router picks the script per request (:class:`PathRoutes` by path; a replay's
recordings by method, path and body). It runs tornado (installed with mitmproxy) on
127.0.0.1 in a background thread, and notes when each write left, so tests can compare what
the server sent with what a client behind the proxy received.
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

__all__ = ["SSE_HEADERS", "PathRoutes", "Router", "Script", "ScriptServer", "Sent", "Served"]

SSE_HEADERS = (("Content-Type", "text/event-stream; charset=utf-8"), ("Cache-Control", "no-cache"))


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
    """One request answered by a script, told when its answer ended."""

    method: str
    path: str
    script: Script
    seconds: float
    """From the request's arrival to the end of the answer."""
    writes: int
    """How many of the script's writes were sent."""
    outcome: str
    """``done``, ``reset`` (the script resets the connection) or ``client closed``."""


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
    sent: list[Sent] = field(default_factory=list)
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
        app = tornado.web.Application([(r"/.*", _Handler, {"server": self})])
        http = tornado.httpserver.HTTPServer(app, ssl_options=self.ssl_context)
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


class _Handler(tornado.web.RequestHandler):
    def initialize(self, server: ScriptServer) -> None:
        self.server = server

    def check_xsrf_cookie(self) -> None:
        pass

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
        outcome = "done"
        try:
            await self._play_script()
        except tornado.iostream.StreamClosedError:
            outcome = "client closed"  # nothing left to send to: stop quietly
        if self._script is not None and self._script.reset_after == self._writes:
            outcome = "reset"
        if self._script is not None and self.server.on_served is not None:
            request = self.request
            seconds = time.monotonic() - self._start
            served = Served(
                request.method or "GET", request.path, self._script, seconds, self._writes, outcome
            )
            with contextlib.suppress(Exception):  # a logger must not break the server
                self.server.on_served(served)

    async def _play_script(self) -> None:
        request = self.request
        script = self.server.router.find(request.method or "GET", request.path, request.body)
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
            self.server.sent.append(Sent(self.request.path, number, time.time(), wire))
        if z is not None:
            tail = z.flush()
            self.write(tail)
            self.server.sent.append(Sent(self.request.path, number, time.time(), tail))
        self.finish()

    def _reset(self) -> None:
        """Abort like a crashing server: RST, no end of the chunked body."""
        stream: Any = self.request.connection.stream  # type: ignore[union-attr]
        stream.socket.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        stream.close()
