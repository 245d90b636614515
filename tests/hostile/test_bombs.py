"""Decompression bombs: a few kilobytes of gzip, deflate, brotli or zstd that inflate to
2 GiB, in the proxy and on disk.

- The proxy's log line counts the events of at most ``LOG_MAX_DECODED`` decoded bytes, a
  few milliseconds per turn of the event loop: the other streams flow meanwhile.
- ``analyze``, ``export`` and ``replay`` decode at most ``--max-decoded`` bytes of a body
  (by default 1000 times its encoded size, between 64 KiB and 1 GiB): past it the stream is
  reported truncated with a note, and the next stream is read as usual.

The commands run in a fresh child process each, whose peak memory (``ru_maxrss``) is
measured.
"""

from __future__ import annotations

import asyncio
import gzip
import http.client
import itertools
import json
import logging
import signal
import subprocess
import sys
import threading
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mitmproxy import http as mhttp
from mitmproxy.test import taddons, tflow

from sse_inspect.analysis.analysis import CAPPED_NOTE
from sse_inspect.capture.addon import LOG_MAX_DECODED, SSECapture
from sse_inspect.decode.content import default_limit, format_size
from sse_inspect.demo.harness import CaptureProcess, free_port
from sse_inspect.replay.server import SSE_HEADERS, Script, ScriptServer

from .. import flows
from .bombs import BOMBS, bomb, coding_of

MiB = 1024 * 1024
RSS_LIMIT = 300 * MiB
PIECE = 64 * 1024
CHAT = [
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
    b"data: [DONE]\n\n",
]


def bomb_flow(name: str) -> mhttp.HTTPFlow:
    """An event stream whose body is bomb ``name``, recorded in 64 KiB chunks."""
    body = bomb(name)
    chunks = [(0.1 + i / len(body), body[i : i + PIECE]) for i in range(0, len(body), PIECE)]
    headers = [
        (b"Content-Type", b"text/event-stream"),
        (b"Content-Encoding", coding_of(name).encode()),
    ]
    return flows.sse_flow(chunks, headers=headers)


def chat_flow() -> mhttp.HTTPFlow:
    return flows.sse_flow([(0.1 * (i + 1), e) for i, e in enumerate(CHAT)])


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    max_rss: int
    """The child's peak resident memory in bytes (``ru_maxrss``)."""
    seconds: float


# A small process between the test and the command: a child's peak memory starts at its
# parent's size when it forks (Linux keeps that through exec), and pytest's is hundreds of MB.
_MEASURE = """
import os, subprocess, sys
p = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(p.pid, 0)
sys.stderr.write(f"\\nmax_rss_kib {usage.ru_maxrss}\\n")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(*args: str, timeout: float = 120) -> Run:
    """``sse-inspect ARGS`` in a fresh child process, with its peak memory."""
    command = [sys.executable, "-c", _MEASURE, sys.executable, "-m", "sse_inspect", *args]
    start = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    seconds = time.monotonic() - start
    errors, _, last = done.stderr.rstrip().rpartition("\n")
    assert last.startswith("max_rss_kib "), done.stderr
    max_rss = int(last.split()[1]) * 1024
    return Run(done.returncode, done.stdout, errors, max_rss, seconds)


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"not strict JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    where = tmp_path_factory.mktemp("bombs")
    return {
        name: flows.write(where / f"{name.replace(', ', '-')}.flow", [bomb_flow(name)])
        for name in BOMBS
    }


# --- analyze, export, replay: bounded by --max-decoded or the default ---------------------


@pytest.mark.parametrize("name", BOMBS)
def test_analyze_json_stops_every_bomb_at_max_decoded(
    bomb_files: dict[str, Path], name: str
) -> None:
    run = run_measured("analyze", "--json", "--max-decoded", "64M", str(bomb_files[name]))
    assert run.returncode == 0, run.stderr
    (stream,) = strict_json(run.stdout)["streams"]
    note = CAPPED_NOTE.format(size="64 MiB", why="--max-decoded")
    assert note == (
        "decoded size capped at 64 MiB (--max-decoded): the rest of the stream is not analysed"
    )
    assert stream["notes"] == [note]
    assert stream["truncated"] is True and stream["complete"] is False
    assert stream["decoded_bytes"] == 64 * MiB and stream["error"] is None
    assert run.max_rss < RSS_LIMIT, f"{run.max_rss / MiB:.0f} MiB in {run.seconds:.1f} s"


@pytest.mark.parametrize("name", ["br", "zstd", "gzip, br"])
def test_by_default_a_small_bomb_stops_at_a_thousand_times_its_size(
    bomb_files: dict[str, Path], name: str
) -> None:
    run = run_measured("analyze", "--json", str(bomb_files[name]))
    assert run.returncode == 0, run.stderr
    (stream,) = strict_json(run.stdout)["streams"]
    size = len(bomb(name))
    assert stream["decoded_bytes"] == default_limit(size) == max(64 * 1024, 1000 * size)
    why = f"the default for {format_size(size)} received; --max-decoded sets it"
    assert stream["notes"] == [CAPPED_NOTE.format(size=format_size(default_limit(size)), why=why)]
    assert stream["truncated"] is True and stream["complete"] is False
    assert run.max_rss < RSS_LIMIT, f"{run.max_rss / MiB:.0f} MiB in {run.seconds:.1f} s"


def test_the_streams_after_a_bomb_are_read_as_usual(tmp_path: Path) -> None:
    capture = flows.write(
        tmp_path / "c.flow", [bomb_flow("br"), bomb_flow("gzip"), chat_flow(), bomb_flow("zstd")]
    )
    run = run_measured("analyze", "--json", "--max-decoded", "32M", str(capture))
    assert run.returncode == 0, run.stderr
    streams = strict_json(run.stdout)["streams"]
    assert [s["truncated"] for s in streams] == [True, True, False, True]
    chat = streams[2]
    assert chat["complete"] and chat["text"] == "Hello" and chat["notes"] == []
    assert run.max_rss < RSS_LIMIT, f"{run.max_rss / MiB:.0f} MiB"


def test_the_table_shows_the_note(bomb_files: dict[str, Path]) -> None:
    run = run_measured("analyze", "--max-decoded", "1M", str(bomb_files["zstd"]))
    assert run.returncode == 0, run.stderr
    assert "decoded size capped at 1 MiB (--max-decoded)" in " ".join(run.stdout.split())


@pytest.mark.parametrize("fmt", ["har", "jsonl", "md"])
def test_export_is_bounded_too(tmp_path: Path, fmt: str) -> None:
    body = bomb("br", 2048 * MiB)
    headers = [(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"br")]
    capture = flows.write(tmp_path / "bomb.flow", [flows.sse_flow([(0.1, body)], headers=headers)])
    out = tmp_path / f"out.{fmt}"
    run = run_measured("export", str(capture), "-o", str(out), "--max-decoded", "4M")
    assert run.returncode == 0, run.stderr
    if fmt != "jsonl":  # JSON Lines has a line per event, and this bomb has none
        assert "decoded size capped at 4 MiB (--max-decoded)" in " ".join(out.read_text().split())
    if fmt == "har":
        (entry,) = strict_json(out.read_text())["log"]["entries"]
        assert entry["response"]["content"]["size"] == 4 * MiB  # the decoded text, capped
        assert entry["_sseMetrics"]["truncated"] is True
    assert run.max_rss < RSS_LIMIT, f"{run.max_rss / MiB:.0f} MiB"


def test_replay_decodes_at_most_max_decoded(bomb_files: dict[str, Path]) -> None:
    port = free_port()
    command = [sys.executable, "-m", "sse_inspect", "replay", str(bomb_files["gzip, br"])]
    command += ["-p", str(port), "--max-decoded", "8M"]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()  # once every recording is made
        assert first.startswith("Replaying 1 stream"), first
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/chat/completions", b'{"stream": true}')
        response = conn.getresponse()
        body = response.read()
        conn.close()
        assert response.getheader("Content-Encoding") is None  # sent decoded...
        assert len(body) == 8 * MiB  # ... up to the limit
        assert _rss(proc.pid, "VmHWM") < RSS_LIMIT
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)


# --- the proxy: its log line, bounded in time and memory, never holding up the loop ------


def _rss(pid: int, field: str = "VmRSS") -> int:
    """A field of /proc/PID/status in bytes (VmRSS now, VmHWM the peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    raise LookupError(field)


def _live_flow(coding: str) -> mhttp.HTTPFlow:
    f = tflow.tflow(resp=True, live=True)
    assert f.response is not None
    f.response.headers["Content-Type"] = "text/event-stream"
    f.response.headers["Content-Encoding"] = coding
    f.response.raw_content = None
    return f


def _play(f: mhttp.HTTPFlow, body: bytes) -> None:
    assert f.response is not None and callable(f.response.stream)
    for i in range(0, len(body), PIECE):
        f.response.stream(body[i : i + PIECE])
    f.response.stream(b"")


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("sse-inspect:")]


@pytest.mark.parametrize("name", BOMBS)
def test_the_log_line_of_a_bomb_decodes_only_a_few_mib(
    caplog: pytest.LogCaptureFixture, name: str
) -> None:
    a = SSECapture()
    body = bomb(name)
    with taddons.context(a), caplog.at_level(logging.INFO):
        f = _live_flow(coding_of(name))
        a.responseheaders(f)
        tracemalloc.start()
        start = time.perf_counter()
        _play(f, body)  # no event loop here: the line is made at once
        seconds = time.perf_counter() - start
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    (line,) = _lines(caplog)
    assert 4 * MiB == LOG_MAX_DECODED
    assert "· ≥ 0 events (decoded only the first 4 MiB) ·" in line, line
    assert f.response is not None and f.response.raw_content == body  # stored as received
    assert seconds < 1.0, seconds
    assert peak < 2 * len(body) + 8 * MiB, peak  # the body, joined once, and a few steps


def test_a_stream_under_the_log_limit_is_counted_to_the_end(
    caplog: pytest.LogCaptureFixture,
) -> None:
    a = SSECapture()
    with taddons.context(a), caplog.at_level(logging.INFO):
        f = _live_flow("gzip")
        a.responseheaders(f)
        _play(f, gzip.compress(b"".join(CHAT)))
    (line,) = _lines(caplog)
    assert "· 4 events ·" in line and line.endswith("· complete"), line


def test_on_the_event_loop_the_log_line_is_counted_a_slice_per_turn(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # 8 MiB of the smallest events, gzip'ed: counting 4 MiB of them takes about half a
    # second, which would stall every stream through the proxy if done in one go.
    dense = gzip.compress(b"data:x\n\n" * (MiB))

    async def main() -> tuple[float, int]:
        a = SSECapture()
        with taddons.context(a):
            f = _live_flow("gzip")
            a.responseheaders(f)
            _play(f, dense)  # the end: the line is begun on the next turn
            longest, turns, last = 0.0, 0, time.perf_counter()
            while not _lines(caplog):
                await asyncio.sleep(0)
                now = time.perf_counter()
                longest, turns, last = max(longest, now - last), turns + 1, now
        return longest, turns

    with caplog.at_level(logging.INFO):
        longest, turns = asyncio.run(main())
    (line,) = _lines(caplog)
    assert "≥ 524288 events (decoded only the first 4 MiB)" in line, line
    assert turns > 20 and longest < 0.05, (turns, longest)


def _fetch(port: int, path: str, reads: list[float], size: list[int]) -> None:
    """GET through the proxy; the arrival time of each read, and the bytes received."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", path)
    response = conn.getresponse()
    total = 0
    while chunk := response.read1(65536):
        reads.append(time.monotonic())
        total += len(chunk)
    conn.close()
    size.append(total)


@pytest.mark.e2e
def test_the_proxy_stays_small_and_a_chat_flows_while_bombs_go_through(tmp_path: Path) -> None:
    gz, br = bomb("gzip"), bomb("br")

    def coded(body: bytes, coding: str, at: float) -> Script:
        writes = tuple((at, body[i : i + PIECE]) for i in range(0, len(body), PIECE))
        return Script(writes, headers=(*SSE_HEADERS, ("Content-Encoding", coding)))

    routes = {
        "/slow": Script(tuple((i * 0.05, b"data: %d\n\n" % i) for i in range(60))),
        "/gzip-bomb": coded(gz, "gzip", 0.5),  # they end while the chat is streaming
        "/br-bomb": coded(br, "br", 1.0),
    }
    with ScriptServer(routes) as base, CaptureProcess(tmp_path / "c.flow") as proxy:
        assert proxy._proc is not None
        pid, peak, stop = proxy._proc.pid, [0], threading.Event()

        def sample() -> None:
            while not stop.wait(0.01):
                peak[0] = max(peak[0], _rss(pid))

        sampler = threading.Thread(target=sample)
        sampler.start()
        got: dict[str, tuple[list[float], list[int]]] = {p: ([], []) for p in routes}
        clients = [
            threading.Thread(target=_fetch, args=(proxy.port, base + path, *got[path]))
            for path in routes
        ]
        for c in clients:
            c.start()
        for c in clients:
            c.join(60)
        time.sleep(0.5)  # the bombs' log lines
        stop.set()
        sampler.join()
        hwm = _rss(pid, "VmHWM")
    slow_reads, _ = got["/slow"]
    gaps = [b - a for a, b in itertools.pairwise(slow_reads)]
    assert got["/gzip-bomb"][1] == [len(gz)] and got["/br-bomb"][1] == [len(br)]
    assert len(slow_reads) >= 30 and max(gaps) < 0.2, max(gaps)
    assert peak[0] < RSS_LIMIT and hwm < RSS_LIMIT, (peak[0] / MiB, hwm / MiB)
    lines = [line for line in proxy.log.splitlines() if "decoded only the first 4 MiB" in line]
    assert len(lines) == 2, proxy.log
