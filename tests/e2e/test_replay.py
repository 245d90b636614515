"""Replay: recorded streams served again, read by the official SDKs, with their cadence."""

from __future__ import annotations

import http.client
import itertools
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anthropic
import openai
import pytest

from sse_inspect.analysis.analysis import analyze
from sse_inspect.demo.harness import CaptureProcess, free_port
from sse_inspect.load import read_capture

from .. import flows
from ..conftest import SAMPLES

Replay = Callable[..., str]
GAPS = [0.2, 0.05, 0.4, 0.15]  # the schedule of the timed capture below, in seconds


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def rebuilt(capture: Path) -> str:
    (stream,) = read_capture(capture)
    return analyze(stream).answer.first.text


def test_the_openai_sdk_reads_a_replayed_chat_stream(sse_replay: Replay) -> None:
    capture = SAMPLES / "captured-openai-chat.flow"
    base = sse_replay(capture, no_delay=True)
    client = openai.OpenAI(base_url=base + "/v1", api_key="sk-test", max_retries=0)
    chunks = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}], stream=True
    )
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == rebuilt(capture) and len(text) > 100


def test_the_anthropic_sdk_reads_a_replayed_messages_stream(sse_replay: Replay) -> None:
    capture = SAMPLES / "captured-anthropic.flow"
    base = sse_replay(capture, no_delay=True)
    client = anthropic.Anthropic(base_url=base, api_key="sk-ant-test", max_retries=0)
    with client.messages.stream(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == rebuilt(capture) and final.stop_reason == "end_turn"


def timed_capture(tmp_path: Path) -> Path:
    t, chunks = 0.1, []
    for i, gap in enumerate([0.0, *GAPS]):
        t += gap
        chunks.append((t, b"data: %d\n\n" % i))
    return flows.write(tmp_path / "timed.flow", [flows.sse_flow(chunks)])


def arrival_gaps(base: str) -> list[float]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/v1/chat/completions", b"{}")
    response = conn.getresponse()
    times = []
    while response.read1(65536):
        times.append(time.monotonic())
    return [b - a for a, b in itertools.pairwise(times)]


@pytest.mark.parametrize("speed", [1.0, 2.0])
def test_the_replayed_cadence_matches_the_recording(
    sse_replay: Replay, tmp_path: Path, speed: float
) -> None:
    gaps = arrival_gaps(sse_replay(timed_capture(tmp_path), speed=speed))
    assert gaps == pytest.approx([g / speed for g in GAPS], abs=0.025)


def test_no_delay_sends_everything_at_once(sse_replay: Replay, tmp_path: Path) -> None:
    gaps = arrival_gaps(sse_replay(timed_capture(tmp_path), no_delay=True))
    assert sum(gaps) < 0.1


def test_unknown_routes_get_a_404_listing_what_is_there(sse_replay: Replay) -> None:
    base = sse_replay(SAMPLES / "mixed.flow", no_delay=True)
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    conn.request("GET", "/v1/models")
    response = conn.getresponse()
    body = json.loads(response.read())
    assert response.status == 404
    assert {(r["method"], r["path"]) for r in body["available"]} == {
        ("POST", "/v1/chat/completions"),
        ("POST", "/v1/messages"),
    }


def test_same_route_is_told_apart_by_body_then_order(tmp_path: Path, sse_replay: Replay) -> None:
    first = flows.sse_flow([(0.1, b"data: first\n\n")])
    first.request.content = b'{"q": 1}'
    second = flows.sse_flow([(0.1, b"data: second\n\n")])
    second.request.content = b'{"q": 2}'
    base = sse_replay(flows.write(tmp_path / "two.flow", [first, second]), no_delay=True)
    host, port = base.removeprefix("http://").split(":")

    def ask(body: bytes) -> bytes:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/v1/chat/completions", body)
        return conn.getresponse().read()

    assert ask(b'{"q": 2}') == b"data: second\n\n"  # the body decides
    assert ask(b"{}") == b"data: first\n\n"  # else capture order
    assert ask(b"{}") == b"data: second\n\n"
    assert ask(b"{}") == b"data: second\n\n"  # the last keeps answering (no --loop)


def test_record_replay_record_keeps_events_and_gaps(tmp_path: Path, sse_replay: Replay) -> None:
    original = SAMPLES / "captured-openai-chat.flow"
    base = sse_replay(original)
    again = tmp_path / "again.flow"
    with CaptureProcess(again, confdir=tmp_path / "conf") as proxy:
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
        conn.request("POST", base + "/v1/chat/completions", b"{}")
        response = conn.getresponse()
        while response.read1(65536):
            pass
    (a,) = [analyze(s) for s in read_capture(original)]
    (b,) = [analyze(s) for s in read_capture(again)]
    assert [e.data for e in b.decoded.events] == [e.data for e in a.decoded.events]
    assert b.answer == a.answer and b.complete
    a_gaps = [y - x for x, y in itertools.pairwise(a.cadence.arrivals_ms or [])]
    b_gaps = [y - x for x, y in itertools.pairwise(b.cadence.arrivals_ms or [])]
    assert b_gaps == pytest.approx(a_gaps, abs=25)


def test_the_replay_command_serves_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sse_inspect", "replay", str(SAMPLES / "mixed.flow"),
         "-p", str(port), "--no-delay"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}" in banner
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/messages", b"{}")
        assert b"message_stop" in conn.getresponse().read()
        # one line per request served: which recording, what it sent, how long
        lines = iter(proc.stdout.readline, "")
        served = next(line for line in lines if line.startswith("POST /v1/messages"))
        assert "<- recording 2 (200, 16 events," in served and " ms)" in served, served
    finally:
        proc.send_signal(2)
        assert proc.wait(10) == 0


def test_the_fixture_refuses_a_body_over_max_body(sse_replay: Replay) -> None:
    base = sse_replay(SAMPLES / "mixed.flow", no_delay=True, max_body="1k")
    host, port = base.removeprefix("http://").split(":")

    def ask(body: bytes) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        conn.request("POST", "/v1/messages", body)
        response = conn.getresponse()
        return response.status, response.read()

    assert ask(b"x" * 1024)[0] == 200
    status, body = ask(b"x" * 1025)
    assert status == 413
    assert json.loads(body)["error"].startswith("request body of 1,025 bytes over the 1 KiB limit")


def test_the_replay_command_refuses_a_body_over_max_body_and_says_so(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sse_inspect", "replay", str(SAMPLES / "mixed.flow"),
         "-p", str(port), "--no-delay", "--max-body", "64k"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        assert f"http://127.0.0.1:{port}" in proc.stdout.readline()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("POST", "/v1/messages", b"x" * 100_000)
        response = conn.getresponse()
        assert response.status == 413
        assert b"--max-body" in response.read()
        lines = iter(proc.stdout.readline, "")
        refused = next(line for line in lines if line.startswith("POST /v1/messages"))
        assert refused == (
            "POST /v1/messages <- 413 (refused: request body of 100,000 bytes over the "
            "64 KiB limit)\n"
        )
    finally:
        proc.send_signal(2)
        assert proc.wait(10) == 0
        assert proc.stderr is not None
        assert proc.stderr.read() == ""  # no access-log line of tornado's


def test_a_bad_max_body_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "replay", str(SAMPLES / "mixed.flow"),
         "--max-body", "8X"],
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.endswith(
        "Error: Invalid value for '--max-body': '8X' is not a size (e.g. 8388608, 512k, 8M, 1G)\n"
    )
