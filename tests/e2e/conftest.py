"""Real processes on 127.0.0.1: a scripted chat server, `sse-inspect capture`, real clients."""

from __future__ import annotations

import hashlib
import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import h2.connection
import h2.events
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy import certs, io
from mitmproxy import http as mhttp

from sse_inspect.demo.chatsim import openai_script
from sse_inspect.demo.harness import CaptureProcess
from sse_inspect.replay.server import Script, ScriptServer


def slow(n: int = 10, spacing: float = 0.1) -> Script:
    """n events, one write each, ``spacing`` apart: each write reaches the client alone."""
    return Script(tuple((i * spacing, b"data: %d\n\n" % i) for i in range(n)))


ROUTES = {
    "/slow": slow(),
    "/v1/chat/completions": openai_script(seed=3, stall_after=None),
    "/gzip": openai_script(seed=4, gzip=True, stall_after=None),
    "/split": Script(
        ((0.0, b'data: {"a": "caf'), (0.08, b'\xc3\xa9"}\n\n'), (0.16, b"data: 2\n\n"))
    ),
    "/reset": Script(tuple((i * 0.05, b"data: %d\n\n" % i) for i in range(6)), reset_after=3),
    "/long": slow(40, 0.05),
    "/json": Script(((0.0, b'{"ok": true}'),), headers=(("Content-Type", "application/json"),)),
}


@dataclass
class Received:
    """What a client got: the body bytes as they came, with arrival times."""

    start: float
    reads: list[tuple[float, bytes]] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return b"".join(data for _, data in self.reads)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


def fetch(proxy_port: int, url: str, *, stop_after: int | None = None) -> Received:
    """POST through the proxy with http.client; read the body as it arrives (no decoding).

    ``stop_after``: hang up after that many reads, like a user closing the tab.
    """
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
    got = Received(time.time())
    conn.request("POST", url, b'{"stream": true}', {"Content-Type": "application/json"})
    response = conn.getresponse()
    while chunk := response.read1(65536):
        got.reads.append((time.time(), chunk))
        if stop_after is not None and len(got.reads) >= stop_after:
            assert conn.sock is not None
            conn.sock.shutdown(socket.SHUT_RDWR)
            break
    conn.close()
    return got


def sent_body(server: ScriptServer, path: str) -> bytes:
    """The bytes the server wrote for the latest request to ``path``."""
    last = max(s.request for s in server.sent if s.path == path)
    return b"".join(s.data for s in server.sent if s.request == last)


def fetch_h2(proxy_port: int, target_port: int, path: str, cafile: Path) -> Received:
    """An HTTP/2-only client (ALPN offers just "h2"): CONNECT through the proxy, TLS with
    mitmproxy's CA, then the h2 library (what httpx speaks HTTP/2 with) over the tunnel."""
    authority = f"127.0.0.1:{target_port}"
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=30)
    sock.sendall(f"CONNECT {authority} HTTP/1.1\r\nHost: {authority}\r\n\r\n".encode())
    reply = b""
    while b"\r\n\r\n" not in reply:
        reply += sock.recv(4096)
    assert reply.startswith(b"HTTP/1.1 200"), reply
    ctx = ssl.create_default_context(cafile=str(cafile))
    ctx.set_alpn_protocols(["h2"])
    tls = ctx.wrap_socket(sock, server_hostname="127.0.0.1")
    assert tls.selected_alpn_protocol() == "h2"
    conn = h2.connection.H2Connection()
    conn.initiate_connection()
    headers = [(":method", "POST"), (":path", path), (":authority", authority)]
    conn.send_headers(1, [*headers, (":scheme", "https")], end_stream=True)
    tls.sendall(conn.data_to_send())
    got = Received(time.time())
    ended = False
    while not ended:
        data = tls.recv(65536)
        if not data:
            break
        for event in conn.receive_data(data):
            if isinstance(event, h2.events.DataReceived):
                got.reads.append((time.time(), event.data))
                conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, h2.events.StreamEnded | h2.events.StreamReset):
                ended = True
        tls.sendall(conn.data_to_send())
    tls.close()
    return got


def flows_for(capture: Path, path: str, timeout: float = 10) -> list[mhttp.HTTPFlow]:
    """The saved flows of a path; polls, since a cut stream is saved once the proxy notices."""
    deadline = time.monotonic() + timeout
    while True:
        found: list[mhttp.HTTPFlow] = []
        if capture.exists():
            with capture.open("rb") as f:
                try:
                    found = [
                        fl
                        for fl in io.FlowReader(f).stream()
                        if isinstance(fl, mhttp.HTTPFlow) and fl.request.path == path
                    ]
                except Exception:
                    found = []  # caught mid-write: try again
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def server_tls(tmp: Path) -> ssl.SSLContext:
    """A certificate for 127.0.0.1 from a throwaway CA (mitmproxy's CertStore makes both)."""
    store = certs.CertStore.from_store(tmp, "test-server", 2048)
    entry = store.get_cert("127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert_file, key_file = tmp / "server.pem", tmp / "server.key"
    cert_file.write_bytes(entry.cert.to_pem())
    key_file.write_bytes(
        entry.privatekey.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert_file, key_file)
    return ctx


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("e2e")


@pytest.fixture(scope="session")
def server() -> Iterator[ScriptServer]:
    s = ScriptServer(ROUTES, record_sent=True)  # sent_body reads what it wrote
    s.start()
    yield s
    s.stop()


@dataclass
class Proxy:
    port: int
    capture: Path
    confdir: Path
    process: CaptureProcess


@pytest.fixture(scope="session")
def proxy(workdir: Path) -> Iterator[Proxy]:
    """One `sse-inspect capture` for the session; it writes each flow as it completes."""
    capture = workdir / "capture.flow"
    confdir = workdir / "mitmproxy"
    # ssl_insecure: the HTTP/2 test's server has a throwaway certificate
    with CaptureProcess(capture, confdir=confdir, args=["--set", "ssl_insecure=true"]) as p:
        yield Proxy(p.port, capture, confdir, p)
