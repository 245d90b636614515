"""A capture file that cannot be written (a full disk) stops the recording, never the proxy.

mitmproxy's own Save exits from inside a task when a write fails: the proxy printed six
tracebacks, died, and cut four of five live streams at the client. `sse-inspect capture`
says once that the file cannot be written, keeps forwarding, and exits 1 at the end with a
summary saying the file is incomplete.
"""

from __future__ import annotations

import http.client
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main
from sse_inspect.demo.harness import free_port
from sse_inspect.replay.server import Script, ScriptServer

FULL = Path("/dev/full")
SLOW = Script(tuple((i * 0.1, b"data: %d\n\n" % i) for i in range(25)))  # 2.4 s
QUICK = Script(tuple((i * 0.02, b"data: %d\n\n" % i) for i in range(3)))
CANNOT = (
    "sse-inspect: cannot write /dev/full: No space left on device; "
    "streams are still forwarded but no longer recorded"
)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptServer]:
    s = ScriptServer({"/slow": SLOW, "/quick": QUICK})
    s.start()
    yield s
    s.stop()


def _fetch(proxy_port: int, url: str, got: dict[str, bytes | str], key: str) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
    try:
        conn.request("POST", url, b'{"stream": true}')
        got[key] = conn.getresponse().read()
    except (OSError, http.client.HTTPException) as e:
        got[key] = repr(e)
    finally:
        conn.close()


@pytest.mark.e2e
@pytest.mark.skipif(not FULL.exists(), reason="needs /dev/full")
def test_a_full_disk_keeps_every_stream_flowing(server: ScriptServer, tmp_path: Path) -> None:
    port = free_port()
    err = tmp_path / "stderr.txt"
    command = [sys.executable, "-m", "sse_inspect", "capture", "-p", str(port),
               "-w", str(FULL), "--confdir", str(tmp_path / "conf")]  # fmt: skip
    with err.open("w") as stderr:
        proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        deadline = time.monotonic() + 20
        while "writing event streams to /dev/full" not in err.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        got: dict[str, bytes | str] = {}
        slow = [
            threading.Thread(target=_fetch, args=(port, server.base_url + "/slow", got, f"s{i}"))
            for i in range(5)
        ]
        for t in slow:
            t.start()
        time.sleep(0.4)  # five streams in flight, then one ends: its write fails
        _fetch(port, server.base_url + "/quick", got, "quick")
        deadline = time.monotonic() + 10
        while CANNOT not in err.read_text():
            assert time.monotonic() < deadline, err.read_text()
            time.sleep(0.05)
        assert proc.poll() is None  # still up, the five still streaming
        for t in slow:
            t.join(30)
        assert got == {**{f"s{i}": SLOW.body for i in range(5)}, "quick": QUICK.body}
        _fetch(port, server.base_url + "/quick", got, "after")
        assert got["after"] == QUICK.body  # and it goes on forwarding
        time.sleep(0.3)
        assert proc.poll() is None
        proc.send_signal(signal.SIGINT)
        code = proc.wait(15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    log = err.read_text()
    assert code == 1, log
    assert proc.stdout is not None and proc.stdout.read() == ""
    assert log.count("cannot write /dev/full") == 1 and log.count(CANNOT) == 1, log
    assert "Traceback" not in log and "Error while writing" not in log, log
    lines = log.splitlines()
    assert sum(" · complete" in line for line in lines) == 7, log  # every stream's own line
    assert lines[-1].endswith(
        "sse-inspect: 7 streams seen (7 complete, 0 cut), 131 events; "
        "/dev/full is incomplete: cannot write it (No space left on device)"
    ), lines[-1]


@pytest.mark.parametrize("write", ["", "+"])
def test_an_empty_file_name_is_refused(write: str) -> None:
    result = CliRunner().invoke(main, ["capture", "-w", write])
    assert result.exit_code == 2
    assert result.stderr == "Error: -w needs a file name (an empty one would record nothing)\n"


def test_the_help_says_what_the_exit_status_means() -> None:
    text = " ".join(CliRunner().invoke(main, ["capture", "--help"]).output.split())
    assert "Exit status: 0 stopped with every stream written; 1 FILE could not be written" in text
    assert "2 bad usage, or the proxy could not start" in text


def test_nothing_listens_after_a_refusal() -> None:
    port = free_port()
    result = CliRunner().invoke(main, ["capture", "-p", str(port), "-w", ""])
    assert result.exit_code == 2
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        pass
