"""The capture path end to end: chat server ← `sse-inspect capture` ← real HTTP clients."""

from __future__ import annotations

import http.client
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sse_inspect.capture import contract
from sse_inspect.demo.harness import CaptureProcess
from sse_inspect.load import read_capture
from sse_inspect.replay.server import ScriptServer

from .conftest import ROUTES, Proxy, fetch, fetch_h2, flows_for, sent_body, server_tls, slow
from .h2server import H2Server


def test_events_reach_the_client_as_they_are_sent(server: ScriptServer, proxy: Proxy) -> None:
    got = fetch(proxy.port, server.base_url + "/slow")
    first, last = got.reads[0][0] - got.start, got.reads[-1][0] - got.start
    assert last >= 0.85  # ten events 100 ms apart
    assert first < 0.3  # the first one did not wait for the rest
    assert len(got.reads) >= 8  # they came one by one, not in one lump


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/gzip", "/split", "/slow"])
def test_the_client_gets_exactly_the_servers_bytes(
    server: ScriptServer, proxy: Proxy, path: str
) -> None:
    got = fetch(proxy.port, server.base_url + path)
    assert got.body == sent_body(server, path)  # gzip stays gzip, split events stay split
    (flow,) = flows_for(proxy.capture, path)[-1:]
    assert flow.response is not None and flow.response.raw_content == got.body
    if path == "/gzip":
        assert flow.response.headers["content-encoding"] == "gzip"


def test_chunk_times_match_the_clients_arrival_times(server: ScriptServer, proxy: Proxy) -> None:
    got = fetch(proxy.port, server.base_url + "/long")
    (flow,) = flows_for(proxy.capture, "/long")
    assert flow.metadata["sse_inspect"]["version"] == 2  # packed when the stream ended
    chunks = contract.stored_chunks(flow.metadata["sse_inspect"])
    assert [n for _, n in chunks] == [len(d) for _, d in got.reads]  # one write, one chunk
    lags = [(client - t) * 1e3 for (t, _), (client, _) in zip(chunks, got.reads, strict=True)]
    # The proxy saw each chunk a few ms before the client did (the max allows for a
    # scheduling hiccup on a busy machine; the median is the claim).
    assert statistics.median(lags) < 5 and max(lags) < 30 and min(lags) > -1, lags


def test_a_client_abort_is_saved_incomplete(server: ScriptServer, proxy: Proxy) -> None:
    path = "/slow"
    before = len(flows_for(proxy.capture, path, timeout=0))
    fetch(proxy.port, server.base_url + path, stop_after=2)
    deadline = time.monotonic() + 10
    while len(flows := flows_for(proxy.capture, path)) == before and time.monotonic() < deadline:
        time.sleep(0.1)
    flow = flows[-1]
    assert flow.metadata["sse_inspect"]["complete"] is False and flow.error is not None
    assert flow.response is not None and flow.response.raw_content.startswith(b"data: 0\n\n")
    assert len(contract.stored_chunks(flow.metadata["sse_inspect"])) >= 2


def test_a_server_reset_is_saved_incomplete(server: ScriptServer, proxy: Proxy) -> None:
    with pytest.raises((OSError, http.client.HTTPException)):  # the client sees it too
        fetch(proxy.port, server.base_url + "/reset")
    (flow,) = flows_for(proxy.capture, "/reset")
    assert flow.metadata["sse_inspect"]["complete"] is False
    assert (
        flow.response is not None
        and flow.response.raw_content == b"data: 0\n\ndata: 1\n\ndata: 2\n\n"
    )


def test_http2_over_tls_streams_and_records_the_same_way(proxy: Proxy, tmp_path: Path) -> None:
    script = slow(6, 0.1)
    with H2Server(script, server_tls(tmp_path)) as port:
        got = fetch_h2(proxy.port, port, "/h2", proxy.confdir / "mitmproxy-ca-cert.pem")
    assert got.body == script.body
    assert got.reads[0][0] - got.start < 0.3 and got.reads[-1][0] - got.start > 0.45
    assert len(got.reads) >= 5  # streamed: DATA frames as the server wrote
    (flow,) = flows_for(proxy.capture, "/h2")
    assert flow.request.http_version == "HTTP/2.0"
    assert flow.response is not None and flow.response.http_version == "HTTP/2.0"  # both legs
    meta = flow.metadata["sse_inspect"]
    chunks = contract.stored_chunks(meta)
    assert meta["complete"] is True and sum(n for _, n in chunks) == len(script.body)
    assert len(chunks) >= 5  # one call per DATA frame
    lags = [(c - t) * 1e3 for (t, _), (c, _) in zip(chunks, got.reads, strict=False)]
    assert statistics.median(lags) < 5 and max(lags) < 30, lags


def test_analyze_reports_the_captured_streams(server: ScriptServer, proxy: Proxy) -> None:
    fetch(proxy.port, server.base_url + "/slow")
    fetch(proxy.port, server.base_url + "/v1/chat/completions")
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "analyze", "--json", str(proxy.capture)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 2), result.stderr  # 2 only if caught mid-write
    streams = json.loads(result.stdout)["streams"]
    assert not any(s["url"].endswith("/json") for s in streams)  # only event streams saved
    slow_streams = [s for s in streams if s["url"].endswith("/slow") and s["complete"]]
    assert slow_streams and all(s["events"] == 10 for s in slow_streams)
    s = slow_streams[-1]
    assert s["timing"] == "per-chunk" and s["stalls"] == 0
    assert 90 < s["gap_ms"]["p50"] < 115 and 890 < s["duration_ms"] < 1100
    assert s["ttfb_ms"] < 100
    chat = [s for s in streams if s["url"].endswith("/v1/chat/completions")][-1]
    assert chat["events"] == len(ROUTES["/v1/chat/completions"].writes)


def test_a_failure_inside_the_addon_never_costs_the_client_a_byte(
    server: ScriptServer, tmp_path: Path
) -> None:
    breaker = tmp_path / "breaker.py"
    breaker.write_text(
        "import sse_inspect.capture.addon as a\n"
        "class _Clock:\n"
        "    def time(self):\n"
        "        raise RuntimeError('clock broken on purpose')\n"
        "a.time = _Clock()\n"
    )
    capture = tmp_path / "broken.flow"
    args = ["--set", f"scripts={breaker}"]
    with CaptureProcess(capture, confdir=tmp_path / "conf", args=args) as p:
        got = fetch(p.port, server.base_url + "/v1/chat/completions")
    assert got.body == ROUTES["/v1/chat/completions"].body
    assert p.log.count("error while recording a chunk") == 1  # logged once per flow
    assert "clock broken on purpose" in p.log


def test_ctrl_c_leaves_a_complete_file_with_the_stream_in_flight(
    server: ScriptServer, tmp_path: Path
) -> None:
    capture = tmp_path / "c.flow"
    with CaptureProcess(capture, confdir=tmp_path / "conf") as p:
        conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
        conn.request("POST", server.base_url + "/slow", b"{}")
        response = conn.getresponse()
        response.read1(65536)  # the first event; the other nine are still to come
        assert p.stop() == 0  # Ctrl-C with the stream in flight
        conn.close()
    (stream,) = read_capture(capture)
    assert stream.timing == "per-chunk" and not stream.complete
    assert stream.error == "capture stopped" and stream.body.startswith(b"data: 0\n\n")
    # Its log line was made at shutdown, and the summary counts it.
    assert re.search(r"/slow 200 · \d events · .* · cut \(capture stopped\)\n", p.log), p.log
    assert "sse-inspect: 1 stream recorded (0 complete, 1 cut), " in p.log
    result = subprocess.run(
        [sys.executable, "-m", "sse_inspect", "analyze", "--json", str(capture)],
        capture_output=True,
        text=True,
        check=False,
    )
    (record,) = json.loads(result.stdout)["streams"]
    assert record["error"] == "capture stopped" and record["complete"] is False


def test_script_form_works_with_plain_mitmdump(server: ScriptServer, tmp_path: Path) -> None:
    mitmdump = Path(sys.executable).parent / "mitmdump"
    addon = Path(__file__).resolve().parents[2] / "addons" / "sse_capture.py"
    capture = tmp_path / "m.flow"
    program = [str(mitmdump), "-q", "-s", str(addon), "-w", str(capture)]
    with CaptureProcess(capture, program=program, args=["--set", f"confdir={tmp_path}"]) as p:
        got = fetch(p.port, server.base_url + "/slow")
    (stream,) = read_capture(capture)
    assert stream.body == got.body and stream.timing == "per-chunk" and stream.complete
