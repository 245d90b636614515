"""`sse-inspect capture` as a user runs it: what it refuses, what it prints, where, and when
it touches the -w file. Real processes on 127.0.0.1, stdout and stderr kept apart."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from sse_inspect.demo.harness import free_port
from sse_inspect.load import read_capture
from sse_inspect.replay.server import Script, ScriptServer

from ..conftest import SAMPLES
from .conftest import fetch

CHAT = "/v1/chat/completions"
ROUTES = {
    "/slow": Script(tuple((i * 0.1, b"data: %d\n\n" % i) for i in range(10))),
    "/long": Script(tuple((i * 0.1, b"data: %d\n\n" % i) for i in range(100))),  # 10 s
    # The end marker, then the server keeps the stream open: the client hangs up first.
    CHAT: Script(
        (
            (0.0, b'data: {"choices": [{"index": 0, "delta": {"content": "Hi"}}]}\n\n'),
            (0.05, b'data: {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}\n\n'),
            (0.1, b"data: [DONE]\n\n"),
            (5.0, b": still here\n\n"),
        )
    ),
}
CAPTURE = [sys.executable, "-m", "sse_inspect", "capture"]


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptServer]:
    s = ScriptServer(ROUTES)
    s.start()
    yield s
    s.stop()


class Capture:
    """``sse-inspect capture`` in ``cwd``, its stdout and stderr in files of their own."""

    def __init__(
        self, cwd: Path, args: Sequence[str], ready: str | None = "event streams to"
    ) -> None:
        self.cwd = cwd
        self.port = free_port()
        self.out, self.err = cwd / "stdout.txt", cwd / "stderr.txt"
        command = [*CAPTURE, "-p", str(self.port), "--confdir", str(cwd / "conf"), *args]
        with self.out.open("w") as out, self.err.open("w") as err:
            self.proc = subprocess.Popen(command, cwd=cwd, stdout=out, stderr=err, text=True)
        try:
            deadline = time.monotonic() + 20
            while True:
                assert self.proc.poll() is None, self.err.read_text()
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, self.err.read_text()
                    time.sleep(0.05)
            if ready is not None:
                self.wait_for(ready)  # the file is open
        except BaseException:
            self.stop()
            raise

    def wait_for(self, text: str, timeout: float = 10) -> str:
        deadline = time.monotonic() + timeout
        while text not in (log := self.err.read_text()):
            assert time.monotonic() < deadline, f"no {text!r} in:\n{log}"
            time.sleep(0.05)
        return log

    def stop(self, sig: signal.Signals = signal.SIGINT) -> tuple[int, str, str]:
        self.proc.send_signal(sig)
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode, self.out.read_text(), self.err.read_text()


@pytest.fixture
def capture(tmp_path: Path) -> Iterator[Callable[..., Capture]]:
    """Start captures in the test's directory; any still running at the end are stopped."""
    started: list[Capture] = []

    def start(*args: str, ready: str | None = "event streams to") -> Capture:
        started.append(Capture(tmp_path, args, ready))
        return started[-1]

    yield start
    for c in started:
        if c.proc.poll() is None:
            c.stop()


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A capture that is expected to stop by itself."""
    return subprocess.run(
        [*CAPTURE, "--confdir", str(cwd / "conf"), *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.fixture
def existing(tmp_path: Path) -> Path:
    """A capture worth keeping, in the test's directory."""
    path = tmp_path / "x.flow"
    shutil.copyfile(SAMPLES / "mixed.flow", path)
    return path


def untouched(path: Path, before: tuple[bytes, int]) -> bool:
    return (path.read_bytes(), path.stat().st_mtime_ns) == before


def test_an_existing_capture_is_refused_before_anything_starts(
    tmp_path: Path, existing: Path, busy_port: int
) -> None:
    before = existing.read_bytes(), existing.stat().st_mtime_ns
    # On a busy port too: the refusal comes first, before any attempt to listen.
    result = run(tmp_path, "-p", str(busy_port), "-w", "x.flow")
    assert result.returncode == 2
    assert result.stderr == "Error: x.flow exists; --force overwrites it, or -w +x.flow appends\n"
    assert result.stdout == ""
    assert untouched(existing, before)


@pytest.mark.parametrize("write", ["x.flow --force", "+x.flow", "new.flow"])
def test_a_busy_port_is_one_line_and_leaves_the_file_alone(
    tmp_path: Path, existing: Path, busy_port: int, write: str
) -> None:
    before = existing.read_bytes(), existing.stat().st_mtime_ns
    result = run(tmp_path, "-p", str(busy_port), "-w", *write.split())
    assert result.returncode == 2
    assert result.stderr == (
        f"Error: cannot listen on 127.0.0.1:{busy_port}: address already in use; "
        "choose another port with -p\n"
    )
    assert result.stdout == ""
    assert untouched(existing, before)
    assert not (tmp_path / "new.flow").exists()  # not even created


def test_plus_file_appends_to_an_existing_capture(
    server: ScriptServer, tmp_path: Path, existing: Path, capture: Callable[..., Capture]
) -> None:
    before = existing.read_bytes()
    old = [s.url for s in read_capture(existing)]
    p = capture("-w", "+x.flow")
    fetch(p.port, server.base_url + "/slow")
    p.wait_for("/slow 200")
    code, _, err = p.stop()
    assert code == 0, err
    assert "sse-inspect: appending event streams to x.flow" in err
    assert "appended to x.flow" in err
    assert existing.read_bytes().startswith(before)
    urls = [s.url for s in read_capture(existing)]
    assert urls[: len(old)] == old and urls[len(old) :] == [server.base_url + "/slow"]


def test_force_overwrites(
    server: ScriptServer, tmp_path: Path, existing: Path, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "x.flow", "--force")
    fetch(p.port, server.base_url + "/slow")
    p.wait_for("/slow 200")
    assert p.stop()[0] == 0
    assert [s.url for s in read_capture(existing)] == [server.base_url + "/slow"]


SUMMARY = re.compile(
    r"sse-inspect: 2 streams recorded \(1 complete, 1 cut\), 12 events, written to c\.flow$"
)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_the_log_is_on_stderr_without_connection_noise_and_ends_with_a_summary(
    server: ScriptServer, tmp_path: Path, sig: signal.Signals, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "c.flow")
    fetch(p.port, server.base_url + "/slow")
    fetch(p.port, server.base_url + "/slow", stop_after=2)
    p.wait_for("cut (Client disconnected.)")
    code, out, err = p.stop(sig)
    assert code == 0, err
    assert out == ""
    lines = err.splitlines()
    streams = [line for line in lines if " · " in line]
    assert len(streams) == 2, err
    assert re.search(
        r"sse-inspect: POST http://\S+/slow 200 · 10 events · first event [\d.]+ ms · "
        r"last [\d.,]+ ms · complete$",
        streams[0],
    ), streams[0]
    assert streams[1].endswith(" · cut (Client disconnected.)")
    assert SUMMARY.search(lines[-1]), lines[-1]
    for noise in ("client connect", "server connect", "client disconnect", "Streaming response"):
        assert noise not in err


def test_verbose_shows_the_connections(
    server: ScriptServer, tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "c.flow", "-v")
    fetch(p.port, server.base_url + "/slow")
    p.wait_for("/slow 200")
    code, out, err = p.stop()
    assert code == 0 and out == ""
    assert "client connect" in err and "server connect" in err


def test_quiet_leaves_only_errors(
    server: ScriptServer, tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "c.flow", "-q", ready=None)
    fetch(p.port, server.base_url + "/slow")  # a second long: the file is open by its end
    fetch(p.port, server.base_url + "/slow", stop_after=2)
    time.sleep(0.3)
    assert p.stop() == (0, "", "")
    assert len(list(read_capture(tmp_path / "c.flow"))) == 2  # recorded all the same


def test_verbose_and_quiet_exclude_each_other(tmp_path: Path) -> None:
    result = run(tmp_path, "-v", "-q", "-w", "c.flow")
    assert result.returncode == 2 and result.stderr == "Error: -v and -q exclude each other\n"


def test_a_client_hanging_up_after_the_end_marker_is_complete(
    server: ScriptServer, tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "c.flow")
    conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
    conn.request("POST", server.base_url + CHAT, b'{"stream": true}')
    response = conn.getresponse()
    body = b""
    while b"data: [DONE]\n\n" not in body:  # as the openai SDK reads
        body += response.read1(65536)
    assert conn.sock is not None
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    log = p.wait_for(f"{CHAT} 200")
    code, _, err = p.stop()
    assert code == 0
    (line,) = [line for line in log.splitlines() if CHAT in line]
    assert " · 3 events · " in line
    assert line.endswith(" · complete, client closed after the end"), line
    assert "1 streams recorded" not in err and "1 stream recorded (1 complete, 0 cut)" in err
    (stream,) = read_capture(tmp_path / "c.flow")
    assert stream.error == "Client disconnected." and not stream.complete  # the transport's word
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "analyze", "--json", str(tmp_path / "c.flow")],
        capture_output=True,
        text=True,
        check=False,
    )
    (record,) = json.loads(result.stdout)["streams"]
    assert record["complete"] is True  # what analyze says, and now the log line too


def test_sigterm_logs_every_stream_in_flight_and_counts_them_as_cut(
    server: ScriptServer, tmp_path: Path, capture: Callable[..., Capture]
) -> None:
    p = capture("-w", "c.flow")
    started = threading.Barrier(4, timeout=10)  # three clients with events, and this test
    received: list[int] = []

    def read_until_cut() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
        conn.request("POST", server.base_url + "/long", b'{"stream": true}')
        response = conn.getresponse()
        body = response.read1(65536)
        started.wait()
        try:
            while chunk := response.read1(65536):
                body += chunk
        except (OSError, http.client.HTTPException):
            pass  # cut when the proxy stops
        received.append(body.count(b"\n\n"))
        conn.close()

    clients = [threading.Thread(target=read_until_cut) for _ in range(3)]
    for c in clients:
        c.start()
    started.wait()
    time.sleep(0.3)
    code, out, err = p.stop(signal.SIGTERM)
    for c in clients:
        c.join(10)
    assert code == 0, err
    assert out == ""
    lines = err.splitlines()
    cut = [line for line in lines if "/long 200 · " in line]
    assert len(cut) == 3, err
    assert all(line.endswith(" · cut (capture stopped)") for line in cut), err
    events = [int(re.search(r" · (\d+) events · ", line)[1]) for line in cut]  # type: ignore[index]
    assert all(0 < n < 100 for n in events), events
    assert sorted(received) == pytest.approx(sorted(events), abs=1)  # what the clients got
    assert lines[-1].endswith(
        f"sse-inspect: 3 streams recorded (0 complete, 3 cut), {sum(events)} events, "
        "written to c.flow"
    ), lines[-1]
    streams = list(read_capture(tmp_path / "c.flow"))
    assert [s.error for s in streams] == ["capture stopped"] * 3
    assert sorted(len(s.body.split(b"\n\n")) - 1 for s in streams) == sorted(events)
