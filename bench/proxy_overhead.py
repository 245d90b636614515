"""Benchmark: the delay our capture addon adds to each event, and whether it loses any.

Why this exists: ``sse-inspect capture`` sits between a chat app and its API and must not
change what the user sees. The addon sets ``flow.response.stream`` to a callable that stamps
the time, keeps the chunk and hands it back, so per event it should cost next to nothing on
top of mitmproxy's own streaming. This script measures that claim on 127.0.0.1, end to end,
with a real HTTP client reading the stream as it arrives:

1. a local SSE server (tornado, in a subprocess) plays a fixed schedule of OpenAI-like
   ``chat.completion.chunk`` events (~200 bytes, 20 ms apart, then ``data: [DONE]``); each
   event carries ``"ts"``, the server's ``time.time()`` just before the write;
2. a client (``http.client``, ``read1``) stamps each event as it arrives; the delay of an
   event is arrival time minus ``ts`` (one machine, one clock);
3. four configurations: (1) straight to the server, (2) through ``mitmdump`` with a
   two-line addon that only sets ``flow.response.stream = True`` (bare streaming), (3)
   through ``sse-inspect capture -w FILE`` (our addon, and mitmproxy's Save writing the
   flows), (4) the same with ``--live``: the live panel drawn 4 times a second, as on a
   terminal (forced: its output goes to the log file, 120 x 30). The sequential streams
   alternate between the configurations round-robin, so slow drift of the machine
   spreads over all of them alike;
4. load: 100 concurrent streams (one thread and one connection each) through one fresh
   proxy per configuration: events expected vs received per stream and the delay
   distribution, overall and split by position (the first events, while 100 connections
   open; the steady middle; the last events, while 100 streams finish at once); then
   ``sse-inspect analyze --json`` on the capture must list every stream with every event.

Target: (3) - (2) <= 0.1 ms at the median of the sequential streams, and (4) - (2) <=
0.05 ms per event at the median with the live view on (issue 13).

Run it with ``.venv/bin/python bench/proxy_overhead.py`` (about 2 minutes; ``--tiny``
checks in seconds that every configuration runs, with a few short streams). It only
listens on and connects to 127.0.0.1, keeps mitmproxy's configuration in a temporary
directory, and always exits 0: it is a report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"
EVENTS = 200
INTERVAL_MS = 20.0
WARMUP_EVENTS = 50
ROUNDS = 5
LOAD_STREAMS = 100
TARGET_MS = 0.1
LIVE_TARGET_MS = 0.05
LIVE_SIZE = {"COLUMNS": "120", "LINES": "30"}
"""The terminal the live view of configuration (4) draws for."""
START_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 30.0
LOG_PATTERNS = ("error", "traceback", "exception", "warn")

BARE_ADDON = """\
def responseheaders(flow):
    flow.response.stream = True
"""

WORDS = (" the", " model", " streams", " a", " token", " at", " a", " time", ",", " and", ".")


# --- the SSE server (runs in a subprocess: ``proxy_overhead.py --serve``) ---------------------


def event_parts(sid: int, seq: int) -> tuple[bytes, bytes]:
    """The bytes of one event before and after its ``ts`` value (~200 bytes in all)."""
    word = WORDS[seq % len(WORDS)]
    head = (
        f'data: {{"id":"chatcmpl-bench{sid:05d}","object":"chat.completion.chunk",'
        f'"created":1732440000,"model":"gpt-4o-mini-2024-07-18",'
        f'"seq":{seq},'
        f'"choices":[{{"index":0,"delta":{{"content":"{word}"}},"finish_reason":null}}],"ts":'
    )
    return head.encode(), b"}\n\n"


def serve() -> None:
    """Serve ``GET /stream?n=N&interval_ms=MS&sid=ID`` on a free port; print the port."""
    import tornado.httpserver
    import tornado.iostream
    import tornado.netutil
    import tornado.web

    def when(epoch: str | None) -> float | None:
        """An epoch time of the query (``at``, ``end_at``) on the monotonic clock."""
        return None if epoch is None else time.monotonic() + float(epoch) - time.time()

    class StreamHandler(tornado.web.RequestHandler):
        async def get(self) -> None:
            n = int(self.get_query_argument("n"))
            interval = float(self.get_query_argument("interval_ms")) / 1e3
            sid = int(self.get_query_argument("sid"))
            # bench/load.py's schedules: the first event at epoch ``at`` (not on arrival),
            # and [DONE] not before epoch ``end_at`` (streams ending at one instant)
            at = when(self.get_query_argument("at", None))
            end = when(self.get_query_argument("end_at", None))
            start = time.monotonic() if at is None else at
            parts = [event_parts(sid, seq) for seq in range(n)]
            self.set_header("Content-Type", "text/event-stream")
            self.set_header("Cache-Control", "no-cache")
            self.request.connection.stream.set_nodelay(True)  # type: ignore[union-attr]
            try:
                if at is not None:
                    await self.flush()  # the headers now: the client sees it has connected
                for seq, (head, tail) in enumerate(parts):
                    pause = start + seq * interval - time.monotonic()
                    if pause > 0:
                        await asyncio.sleep(pause)
                    self.write(b"%s%.6f%s" % (head, time.time(), tail))
                    await self.flush()
                if end is not None and end > time.monotonic():
                    await asyncio.sleep(end - time.monotonic())
                self.write(b"data: [DONE]\n\n")
                await self.flush()
            except tornado.iostream.StreamClosedError:
                return

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        sockets = tornado.netutil.bind_sockets(0, HOST, backlog=1024)  # load.py: 500 at once
        server = tornado.httpserver.HTTPServer(
            tornado.web.Application([("/stream", StreamHandler)])
        )
        server.add_sockets(sockets)
        print(sockets[0].getsockname()[1], flush=True)
        await stop.wait()
        server.stop()

    asyncio.run(main())


# --- subprocesses -----------------------------------------------------------------------------


class BenchError(Exception):
    """A setup failure: reported in one line, and the run ends (still with exit status 0)."""


def bin_path(name: str) -> Path:
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise BenchError(f"{path} not found; install the project: .venv/bin/pip install -e .")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_listening(proc: subprocess.Popen[bytes], port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"proxy exited with status {proc.returncode}:\n{tail(log)}")
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"proxy not listening on {HOST}:{port} after {START_TIMEOUT_S:.0f} s")


def stop_process(proc: subprocess.Popen[bytes]) -> int | None:
    """SIGINT, then SIGKILL after ``STOP_TIMEOUT_S``; the exit status (None: was killed)."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return None


def tail(log: Path, lines: int = 15) -> str:
    try:
        text = log.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join("    " + line for line in text[-lines:])


@dataclass
class Proxy:
    name: str
    port: int
    log: Path
    capture: Path | None = None
    status: int | None = field(default=None)


@contextmanager
def sse_server(workdir: Path) -> Iterator[int]:
    log = workdir / "server.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, __file__, "--serve"], stdout=subprocess.PIPE, stderr=err
        )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.isdigit():
            raise BenchError(f"the SSE server did not start:\n{tail(log)}")
        yield int(line)
    finally:
        stop_process(proc)
        report_log("SSE server", log)


@contextmanager
def proxy(kind: str, workdir: Path, tag: str, scripts: Sequence[Path] = ()) -> Iterator[Proxy]:
    """Run proxy ``kind`` ("bare", "addon" or "live") on a free port until the block ends,
    with further mitmproxy ``scripts`` loaded."""
    port = free_port()
    confdir = workdir / "mitmproxy-conf"
    confdir.mkdir(exist_ok=True)
    log = workdir / f"{kind}-{tag}.log"
    env = None
    if kind == "bare":
        script = workdir / "bare_stream.py"
        script.write_text(BARE_ADDON)
        cmd = [str(bin_path("mitmdump")), "--listen-host", HOST, "-p", str(port)]
        cmd += ["-s", str(script), "--set", f"confdir={confdir}"]
        cmd += [a for s in scripts for a in ("-s", str(s))]
        p = Proxy("mitmdump + stream=True", port, log)
    else:
        capture = workdir / f"capture-{kind}-{tag}.flow"
        cmd = [str(bin_path("sse-inspect")), "capture", "--listen-host", HOST, "-p", str(port)]
        cmd += ["-w", str(capture), "--confdir", str(confdir)]
        cmd += [a for s in scripts for a in ("--set", f"scripts={s}")]
        name = "sse-inspect capture"
        if kind == "live":
            cmd.append("--live")
            env = {**os.environ, **LIVE_SIZE}
            name += " --live"
        else:
            cmd.append("--no-live")
        p = Proxy(name, port, log, capture)
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    try:
        wait_listening(proc, port, log)
        yield p
    finally:
        p.status = stop_process(proc)
        if p.status != 0:
            print(f"  note: {p.name} ({tag}) exit status {p.status} (None: killed)")
        report_log(f"{p.name} ({tag})", log)


def report_log(name: str, log: Path) -> None:
    """Print the lines of a subprocess log that look like warnings or errors."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return
    bad = [line for line in lines if any(p in line.lower() for p in LOG_PATTERNS)]
    if bad:
        print(f"  !! {name} log: {len(bad)} line(s) with error/warning (of {len(lines)}):")
        for line in bad[:10]:
            print(f"     {line[:200]}")


# --- the client -------------------------------------------------------------------------------


@dataclass
class StreamResult:
    expected: int
    seqs: list[int] = field(default_factory=list)
    delays_ms: list[float] = field(default_factory=list)
    done: bool = False
    error: str | None = None

    @property
    def lost(self) -> int:
        return self.expected - len(set(self.seqs) & set(range(self.expected)))

    @property
    def ok(self) -> bool:
        in_order = self.seqs == list(range(self.expected))
        return self.error is None and self.done and in_order


def read_stream(server_port: int, proxy_port: int | None, n: int, sid: int) -> StreamResult:
    """One stream, read incrementally; through the proxy as an HTTP proxy when given."""
    result = StreamResult(n)
    path = f"/stream?n={n}&interval_ms={INTERVAL_MS}&sid={sid}"
    if proxy_port is None:
        conn = http.client.HTTPConnection(HOST, server_port, timeout=READ_TIMEOUT_S)
        target = path
    else:
        conn = http.client.HTTPConnection(HOST, proxy_port, timeout=READ_TIMEOUT_S)
        target = f"http://{HOST}:{server_port}{path}"
    try:
        conn.request("GET", target, headers={"Accept": "text/event-stream"})
        response = conn.getresponse()
        if response.status != 200:
            result.error = f"HTTP {response.status} {response.reason}"
            return result
        buffer = b""
        while chunk := response.read1(65536):
            now = time.time()
            buffer += chunk
            *events, buffer = buffer.split(b"\n\n")
            for event in events:
                take_event(result, event, now)
    except (OSError, http.client.HTTPException, ValueError) as e:
        result.error = f"{type(e).__name__}: {e}"
    finally:
        conn.close()
    return result


def take_event(result: StreamResult, event: bytes, now: float) -> None:
    for line in event.split(b"\n"):
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            result.done = True
            continue
        obj = json.loads(data)
        result.seqs.append(int(obj["seq"]))
        result.delays_ms.append((now - float(obj["ts"])) * 1e3)


def read_concurrently(
    server_port: int, proxy_port: int | None, streams: int, n: int, first_sid: int
) -> list[StreamResult]:
    results: list[StreamResult | None] = [None] * streams

    def run(i: int) -> None:
        try:
            results[i] = read_stream(server_port, proxy_port, n, first_sid + i)
        except Exception as e:  # a parse error: counted as a failed stream
            results[i] = StreamResult(n, error=f"{type(e).__name__}: {e}")

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(streams)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(n * INTERVAL_MS / 1e3 + 2 * READ_TIMEOUT_S)
    return [r if r is not None else StreamResult(n, error="thread did not finish") for r in results]


# --- statistics and printing ------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return float("nan")
    s = sorted(values)
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def all_delays(results: Sequence[StreamResult]) -> list[float]:
    return [d for r in results for d in r.delays_ms]


def failures(results: Sequence[StreamResult]) -> list[str]:
    out = []
    for i, r in enumerate(results):
        if not r.ok:
            why = r.error or ("no [DONE]" if not r.done else "events missing or out of order")
            out.append(f"stream {i}: {len(r.seqs)}/{r.expected} events, {r.lost} lost ({why})")
    return out


def print_header() -> None:
    import mitmproxy.version
    import tornado

    print("sse-inspect proxy overhead benchmark")
    print(f"Python {platform.python_version()} on {platform.platform(terse=True)}")
    print(f"mitmproxy {mitmproxy.version.VERSION}, tornado {tornado.version}")
    print(f"CPUs: {os.cpu_count()}")
    print(
        f"schedule: {EVENTS} events of ~{len(b''.join(event_parts(0, 0))) + 17} bytes, "
        f"{INTERVAL_MS:g} ms apart, then data: [DONE]; delay = client arrival - server ts"
    )
    print()


# --- the two phases ---------------------------------------------------------------------------

CONFIGS = (
    "(1) direct",
    "(2) mitmdump stream=True",
    "(3) sse-inspect capture",
    "(4) capture --live",
)


def sequential(server_port: int, ports: dict[str, int | None]) -> dict[str, list[StreamResult]]:
    """A warm-up stream per configuration, then ``ROUNDS`` rounds of one stream each."""
    print(
        f"sequential: 1 warm-up stream of {WARMUP_EVENTS} events per configuration, then "
        f"{ROUNDS} rounds x {len(CONFIGS)} configurations (round-robin) x {EVENTS} events"
    )
    sid = 0
    for name in CONFIGS:
        read_stream(server_port, ports[name], WARMUP_EVENTS, sid)
        sid += 1
    results: dict[str, list[StreamResult]] = {name: [] for name in CONFIGS}
    for _ in range(ROUNDS):
        for name in CONFIGS:
            results[name].append(read_stream(server_port, ports[name], EVENTS, sid))
            sid += 1
    return results


def print_sequential(results: dict[str, list[StreamResult]]) -> None:
    head = f"  {'configuration':<28}{'events':>8}{'lost':>6}{'p50 ms':>10}{'p99 ms':>10}"
    print(head + f"{'max ms':>10}   per-stream p50 range")
    print("  " + "-" * (len(head) + 21))
    p: dict[str, tuple[float, float]] = {}
    for name in CONFIGS:
        rs = results[name]
        d = all_delays(rs)
        p[name] = (percentile(d, 50), percentile(d, 99))
        per = [percentile(r.delays_ms, 50) for r in rs]
        print(
            f"  {name:<28}{len(d):>8}{sum(r.lost for r in rs):>6}{p[name][0]:>10.3f}"
            f"{p[name][1]:>10.3f}{max(d, default=float('nan')):>10.3f}"
            f"   {min(per):.3f} - {max(per):.3f}"
        )
        for line in failures(rs):
            print(f"    !! {line}")
    bare, ours, direct, live = p[CONFIGS[1]], p[CONFIGS[2]], p[CONFIGS[0]], p[CONFIGS[3]]
    print()
    print(
        f"  (2) - (1), mitmproxy itself:  p50 {bare[0] - direct[0]:+.3f} ms, "
        f"p99 {bare[1] - direct[1]:+.3f} ms"
    )
    print(
        f"  (3) - (2), our addon:         p50 {ours[0] - bare[0]:+.3f} ms, "
        f"p99 {ours[1] - bare[1]:+.3f} ms"
    )
    holds = ours[0] - bare[0] <= TARGET_MS
    verdict = "holds" if holds else "DOES NOT hold"
    print(f"  target (3) - (2) <= {TARGET_MS} ms at p50: {verdict}")
    print(
        f"  (4) - (2), with the live view: p50 {live[0] - bare[0]:+.3f} ms, "
        f"p99 {live[1] - bare[1]:+.3f} ms"
    )
    holds = live[0] - bare[0] <= LIVE_TARGET_MS
    verdict = "holds" if holds else "DOES NOT hold"
    print(f"  target (4) - (2) <= {LIVE_TARGET_MS} ms at p50: {verdict}")
    print()


def position_slices(n: int) -> dict[str, range]:
    """Where in the streams delay piles up: at the start (100 connections opening at once),
    in the steady middle, or at the end (100 streams finishing at once)."""
    head, last = min(5, n), min(10, n)
    return {
        f"events 0-{head - 1} (start)": range(head),
        f"events {head}-{n - last - 1} (middle)": range(head, n - last),
        f"events {n - last}-{n - 1} (end)": range(n - last, n),
    }


def print_load(name: str, results: list[StreamResult], seconds: float) -> None:
    d = all_delays(results)
    expected = sum(r.expected for r in results)
    received = sum(len(r.seqs) for r in results)
    lost = sum(r.lost for r in results)
    complete = sum(r.ok for r in results)
    print(
        f"  {name:<28}{expected:>9}{received:>9}{lost:>6}{complete:>6}/{len(results):<4}"
        + "".join(f"{percentile(d, q):>9.3f}" for q in (50, 90, 99))
        + f"{max(d, default=float('nan')):>9.3f}{seconds:>7.1f}"
    )
    for label, seqs in position_slices(EVENTS).items():
        d = [x for r in results for s, x in zip(r.seqs, r.delays_ms, strict=True) if s in seqs]
        print(
            f"  {'':<4}{label:<38}{len(d):>20}"
            + "".join(f"{percentile(d, q):>9.3f}" for q in (50, 90, 99))
            + f"{max(d, default=float('nan')):>9.3f}"
        )
    bad = failures(results)
    for line in bad[:10]:
        print(f"    !! {line}")
    if len(bad) > 10:
        print(f"    !! ... and {len(bad) - 10} more")


def analyze_capture(capture: Path, data_events: list[int]) -> None:
    """``sse-inspect analyze --json`` on a capture: every stream, every event, complete?

    ``data_events`` holds the data events of each stream sent through the proxy; the server
    follows them with ``data: [DONE]``, an SSE event too, so each stream has one more.
    """
    expected = sorted(n + 1 for n in data_events)
    cmd = [str(bin_path("sse-inspect")), "analyze", "--json", str(capture)]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if run.returncode != 0:
        print(f"  !! analyze exit status {run.returncode}: {run.stderr.strip()[:500]}")
        if not run.stdout.strip():
            return
    records = json.loads(run.stdout)["streams"]
    events = sorted(int(r["events"]) for r in records)
    complete = sum(bool(r["complete"]) for r in records)
    timed = sum(r["timing"] == "per-chunk" for r in records)
    verdict = "all there" if events == expected and complete == len(expected) else "MISMATCH"
    print(
        f"  {capture.name} ({capture.stat().st_size:,} bytes): {len(records)}/{len(expected)} "
        f"streams, {sum(events)}/{sum(expected)} events (incl. [DONE]), {complete} complete, "
        f"{timed} with per-chunk timing: {verdict}"
    )
    if verdict != "all there":
        for r in records:
            if int(r["events"]) not in expected or not r["complete"]:
                print(
                    f"    !! {r['url']}: {r['events']} events, complete={r['complete']}, "
                    f"error={r['error']}"
                )


def load_phase(server_port: int, workdir: Path) -> None:
    print(
        f"load: {LOAD_STREAMS} concurrent streams x {EVENTS} events through one fresh proxy "
        "per configuration (one thread + connection per stream)"
    )
    head = f"  {'configuration':<28}{'expected':>9}{'received':>9}{'lost':>6}{'ok':>6}{'':<5}"
    print(head + "".join(f"{h:>9}" for h in ("p50 ms", "p90 ms", "p99 ms", "max ms")) + "      s")
    print("  " + "-" * (len(head) + 43))
    sid = 100_000

    def measure(name: str, proxy_port: int | None) -> None:
        t0 = time.monotonic()
        results = read_concurrently(server_port, proxy_port, LOAD_STREAMS, EVENTS, sid)
        print_load(name, results, time.monotonic() - t0)

    measure(CONFIGS[0], None)
    with proxy("bare", workdir, "load") as bare:
        measure(CONFIGS[1], bare.port)
    with proxy("addon", workdir, "load") as ours:
        measure(CONFIGS[2], ours.port)
    with proxy("live", workdir, "load") as live:
        measure(CONFIGS[3], live.port)
    print()
    assert ours.capture is not None and live.capture is not None
    print("capture check (sse-inspect analyze --json on the config (3) and (4) captures):")
    analyze_capture(ours.capture, [EVENTS] * LOAD_STREAMS)
    analyze_capture(live.capture, [EVENTS] * LOAD_STREAMS)


def run(workdir: Path) -> None:
    print_header()
    with sse_server(workdir) as server_port:
        with (
            proxy("bare", workdir, "seq") as bare,
            proxy("addon", workdir, "seq") as ours,
            proxy("live", workdir, "seq") as live,
        ):
            ports: dict[str, int | None] = {
                CONFIGS[0]: None,
                CONFIGS[1]: bare.port,
                CONFIGS[2]: ours.port,
                CONFIGS[3]: live.port,
            }
            results = sequential(server_port, ports)
        print_sequential(results)
        load_phase(server_port, workdir)
        assert ours.capture is not None and live.capture is not None
        # The sequential captures hold the warm-up stream too.
        analyze_capture(ours.capture, [WARMUP_EVENTS] + [EVENTS] * ROUNDS)
        analyze_capture(live.capture, [WARMUP_EVENTS] + [EVENTS] * ROUNDS)


def timed(step: Callable[[Path], None]) -> None:
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sse-inspect-bench-") as tmp:
        step(Path(tmp))
    print(f"\ntotal: {time.monotonic() - t0:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--tiny",
        action="store_true",
        help="a few short streams: check that every configuration runs (no figures to quote)",
    )
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.tiny:
        global EVENTS, WARMUP_EVENTS, ROUNDS, LOAD_STREAMS
        EVENTS, WARMUP_EVENTS, ROUNDS, LOAD_STREAMS = 20, 5, 1, 5
    try:
        timed(run)
    except BenchError as e:
        print(f"error: {e}")
    except Exception as e:
        print(f"error: the benchmark failed: {type(e).__name__}: {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
