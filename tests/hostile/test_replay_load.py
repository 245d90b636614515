"""`sse-inspect replay` under load: thousands of requests in constant memory, huge request
bodies refused without being held.

Before the fix the server kept every write it made (about 10 MB per 1,000 requests of
``samples/mixed.flow``, never released) and tornado held each request body whole, up to
100 MB: ten concurrent 90 MB POSTs peaked at 1.9 GB.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sse_inspect.demo.harness import free_port

from ..conftest import SAMPLES

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024
CHAT = "/v1/chat/completions"


class ReplayProcess:
    """``sse-inspect replay samples/mixed.flow --no-delay`` with its log in a file."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.port = free_port()
        self.log = tmp / "replay.log"
        with self.log.open("w") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "sse_inspect", "replay", str(SAMPLES / "mixed.flow"),
                 "-p", str(self.port), "--no-delay", *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while "Ctrl-C stops." not in self.log.read_text():
            assert self.proc.poll() is None, self.log.read_text()
            assert time.monotonic() < deadline, self.log.read_text()
            time.sleep(0.05)

    def status(self, key: str) -> int:
        """A ``/proc/PID/status`` figure in kB: ``VmRSS`` now, ``VmHWM`` the peak."""
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
        raise AssertionError(f"no {key} for {self.proc.pid}")

    def stop(self) -> int:
        self.proc.send_signal(2)
        try:
            return self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


@pytest.fixture
def replay(tmp_path: Path) -> Iterator[ReplayProcess]:
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc to read the server's memory")
    r = ReplayProcess(tmp_path)
    yield r
    r.stop()


def test_thousands_of_requests_do_not_grow_the_server(replay: ReplayProcess) -> None:
    expected = (SAMPLES / "openai-chat.sse").read_bytes()
    rss: dict[int, int] = {}
    conn = http.client.HTTPConnection("127.0.0.1", replay.port, timeout=30)
    for n in range(1, 5001):
        if n % 50 == 0:  # new connections too, not only one kept alive
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", replay.port, timeout=30)
        conn.request("POST", CHAT, b'{"stream": true}')
        response = conn.getresponse()
        body = response.read()
        assert response.status == 200
        if n in (1000, 5000):
            rss[n] = replay.status("VmRSS")
    conn.close()
    assert body == expected  # still the whole stream, the 5,000th time
    growth = rss[5000] - rss[1000]
    # Measured: +4 kB (before the fix: +41,000 kB, about 10 kB per request).
    assert growth < 3 * 1024, f"VmRSS {rss[1000]:,} kB at 1,000 requests, {rss[5000]:,} at 5,000"
    assert replay.stop() == 0
    served = [line for line in replay.log.read_text().splitlines() if line.startswith("POST")]
    assert len(served) == 5000 and served[-1].startswith(f"POST {CHAT} <- recording 1 (200, ")


def _post_90_mib(port: int, results: list[tuple[int, bytes] | str]) -> None:
    """A 90 MiB POST sent whole before reading, as SDKs send, from one shared 1 MiB piece."""
    piece = b"x" * MiB
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        conn.request("POST", CHAT, (piece for _ in range(90)), {"Content-Length": str(90 * MiB)})
        response = conn.getresponse()
        results.append((response.status, response.read()))
    except OSError as e:
        results.append(repr(e))
    finally:
        conn.close()


def test_concurrent_huge_bodies_are_refused_without_being_held(replay: ReplayProcess) -> None:
    results: list[tuple[int, bytes] | str] = []
    clients = [
        threading.Thread(target=_post_90_mib, args=(replay.port, results)) for _ in range(10)
    ]
    for c in clients:
        c.start()
    for c in clients:
        c.join(120)
    peak = replay.status("VmHWM")
    assert len(results) == 10
    for result in results:
        assert not isinstance(result, str), result
        status, body = result
        assert status == 413
        assert json.loads(body) == {
            "error": "request body of 94,371,840 bytes over the 8 MiB limit of this replay "
            "server (sse-inspect replay --max-body)"
        }
    # Measured: a peak of about 62 MB, no more than at rest (before: 1.9 GB).
    assert peak < 300 * 1024, f"peak VmRSS {peak:,} kB"
    conn = http.client.HTTPConnection("127.0.0.1", replay.port, timeout=30)
    conn.request("POST", CHAT, b'{"stream": true}')
    assert conn.getresponse().status == 200  # and it goes on serving
    assert replay.stop() == 0
    log = replay.log.read_text()
    refused = f"POST {CHAT} <- 413 (refused: request body of 94,371,840 bytes over the 8 MiB limit)"
    assert log.count(refused) == 10
    assert "Traceback" not in log
