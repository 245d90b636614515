"""A minimal HTTP/2-only TLS server (the h2 library over asyncio) that plays a Script.

tornado speaks only HTTP/1.1, and mitmproxy offers a client HTTP/2 only when the server
takes it too, so the HTTP/2 test needs an upstream that really speaks it.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
import time

import h2.config
import h2.connection
import h2.events

from sse_inspect.replay.server import Script


class H2Server:
    def __init__(self, script: Script, tls: ssl.SSLContext) -> None:
        tls.set_alpn_protocols(["h2"])
        self.script = script
        self.tls = tls
        self.port = 0
        self._ready = threading.Event()
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def __enter__(self) -> int:
        self._thread.start()
        assert self._ready.wait(10)
        return self.port

    def __exit__(self, *exc: object) -> None:
        if self._loop and self._stop:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0, ssl=self.tls)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        await self._stop.wait()
        server.close()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        conn.initiate_connection()
        writer.write(conn.data_to_send())
        tasks = set()
        while data := await reader.read(65536):
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    task = asyncio.create_task(self._play(conn, writer, event.stream_id))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            writer.write(conn.data_to_send())
            await writer.drain()

    async def _play(
        self, conn: h2.connection.H2Connection, writer: asyncio.StreamWriter, stream_id: int
    ) -> None:
        headers = [(":status", str(self.script.status)), *self.script.headers]
        conn.send_headers(stream_id, [(k.lower(), v) for k, v in headers])
        start = time.monotonic()
        for offset, data in self.script.writes:
            await asyncio.sleep(max(0.0, start + offset - time.monotonic()))
            conn.send_data(stream_id, data)  # one DATA frame per write
            writer.write(conn.data_to_send())
            await writer.drain()
        conn.end_stream(stream_id)
        writer.write(conn.data_to_send())
        await writer.drain()
