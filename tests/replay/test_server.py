"""The script server: nothing kept per request unless asked, request bodies capped."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sse_inspect.load import read_capture
from sse_inspect.replay.recordings import Recordings, recording
from sse_inspect.replay.server import (
    DEFAULT_MAX_BODY,
    Script,
    ScriptServer,
    Served,
    format_size,
    parse_size,
)

from .. import flows

SCRIPT = Script(((0.0, b"data: 1\n\n"), (0.0, b"data: 2\n\n")))
LIMIT = 64 * 1024


@pytest.fixture
def served() -> list[Served]:
    return []


@pytest.fixture
def server(served: list[Served]) -> Iterator[ScriptServer]:
    s = ScriptServer({"/x": SCRIPT}, max_body=LIMIT, on_served=served.append)
    s.start()
    yield s
    s.stop()


def post(
    server: ScriptServer, size: int, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    """POST ``size`` bytes in 16 KiB pieces (never held whole), read the answer."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    piece = b"x" * 16384

    def body() -> Iterator[bytes]:
        left = size
        while left > 0:
            yield piece[:left]
            left -= len(piece)

    conn.request("POST", "/x", body(), {"Content-Length": str(size), **(headers or {})})
    response = conn.getresponse()
    answer = response.status, response.read()
    conn.close()
    return answer


def wait_for(served: list[Served], n: int) -> None:
    deadline = time.monotonic() + 5
    while len(served) < n:
        assert time.monotonic() < deadline, served
        time.sleep(0.01)


def test_nothing_is_kept_per_request_unless_asked(server: ScriptServer) -> None:
    for _ in range(20):
        assert post(server, 10) == (200, SCRIPT.body)
    assert server.sent == [] and server.requests == 20


def test_record_sent_notes_every_write() -> None:
    s = ScriptServer({"/x": SCRIPT}, record_sent=True)
    with s:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("GET", "/x")
        assert conn.getresponse().read() == SCRIPT.body
    assert [(x.path, x.request, x.data) for x in s.sent] == [
        ("/x", 1, b"data: 1\n\n"),
        ("/x", 1, b"data: 2\n\n"),
    ]


def test_a_body_up_to_the_limit_is_played(server: ScriptServer, served: list[Served]) -> None:
    assert post(server, LIMIT) == (200, SCRIPT.body)
    wait_for(served, 1)
    assert served[0].status == 200 and served[0].script is SCRIPT


def test_a_larger_body_is_read_and_refused_with_a_one_line_json_413(
    server: ScriptServer, served: list[Served]
) -> None:
    status, body = post(server, 5 * 1024 * 1024)
    assert status == 413
    assert b"\n" not in body
    assert json.loads(body) == {
        "error": "request body of 5,242,880 bytes over the 64 KiB limit of this replay server "
        "(sse-inspect replay --max-body)"
    }
    wait_for(served, 1)
    (refused,) = served
    assert (refused.status, refused.script, refused.writes) == (413, None, 0)
    assert refused.outcome == "request body of 5,242,880 bytes over the 64 KiB limit"
    assert post(server, 10) == (200, SCRIPT.body)  # and the server goes on


def test_a_chunked_body_is_counted_as_it_comes(server: ScriptServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("POST", "/x", (b"y" * 8192 for _ in range(20)), encode_chunked=True)
    response = conn.getresponse()
    assert response.status == 413
    assert b"163,840 bytes over the 64 KiB limit" in response.read()


@pytest.mark.parametrize(
    "headers",
    [
        b"Content-Length: 50000000\r\nExpect: 100-continue\r\n",  # the client waits
        b"Content-Length: 5000000000\r\n",  # more than is worth reading to throw away
    ],
    ids=["100-continue", "huge"],
)
def test_some_bodies_are_refused_before_they_are_read(
    server: ScriptServer, served: list[Served], headers: bytes
) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\n" + headers + b"\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, body = answer.split(b"\r\n\r\n", 1)
    assert head.startswith(b"HTTP/1.1 413 ") and b"100 (Continue)" not in answer
    assert b"Connection: close" in head
    assert b"over the 64 KiB limit" in body
    wait_for(served, 1)
    assert served[0].status == 413


def test_the_refusal_has_its_log_line_and_none_from_tornado(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = flows.write(tmp_path / "c.flow", [flows.sse_flow([(0.1, b"data: a\n\n")])])
    routes = Recordings([recording(s) for s in read_capture(path)])
    lines: list[str] = []
    s = ScriptServer(routes, max_body=1024, on_served=lambda sv: lines.append(routes.describe(sv)))
    with s:
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("POST", "/v1/chat/completions", b"z" * 2000)
        assert conn.getresponse().status == 413
        conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=10)
        conn.request("GET", "/nothing")
        assert conn.getresponse().status == 404
        deadline = time.monotonic() + 5
        while not lines and time.monotonic() < deadline:
            time.sleep(0.01)
    assert lines == [
        "POST /v1/chat/completions <- 413 (refused: request body of 2,000 bytes over the "
        "1 KiB limit)"
    ]
    access = [r.getMessage() for r in caplog.records if r.name == "tornado.access"]
    assert [line.split()[:3] for line in access] == [["404", "GET", "/nothing"]]  # not the 413


def test_the_default_limit_fits_a_chat_request() -> None:
    assert DEFAULT_MAX_BODY == 8 * 1024 * 1024
    assert ScriptServer({}).max_body == DEFAULT_MAX_BODY


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1048576", 1048576),
        ("512k", 512 * 1024),
        ("8M", 8 * 1024 * 1024),
        ("8MiB", 8 * 1024 * 1024),
        ("8 mb", 8 * 1024 * 1024),
        ("1.5k", 1536),
        ("1G", 1024**3),
        ("0", 0),
    ],
)
def test_sizes_are_read_in_binary_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "M", "8X", "-1", "nan", "inf", "1e30"])
def test_what_is_no_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a size"):
        parse_size(text)


def test_sizes_read_as_people_write_them() -> None:
    assert [format_size(n) for n in (8 * 1024 * 1024, 65536, 1024**3, 1000)] == [
        "8 MiB",
        "64 KiB",
        "1 GiB",
        "1,000 bytes",
    ]
