"""Benchmark: many concurrent streams through one proxy, and streams ending all at once.

Why this exists: one ``sse-inspect capture`` may sit in front of a whole team's chat apps or
an evaluation run, with hundreds of streams open at a time. Every chunk of every stream goes
through one event loop, and so does everything the proxy does when a stream ends (the addon's
log line, and writing the flow to the ``-w`` file): whatever holds up that loop holds up the
events of all the other streams. This script measures it on 127.0.0.1, end to end:

1. the SSE server of ``bench/proxy_overhead.py`` (tornado, in a subprocess) plays
   ``--streams`` concurrent streams (default 500) of OpenAI-like events, ``--rate`` events a
   second each (default 20), every event stamped with the server's send time; the streams'
   schedules are spread evenly over one interval, so events go out at a steady rate;
2. ``--burst`` of them (default 100) are short: they all send ``data: [DONE]`` and end at the
   same instant, half-way through; the others run for ``--seconds`` (default 10);
3. one asyncio client process reads every stream as it arrives (HTTP/1.1, chunked) and
   stamps each event: its delay is arrival time minus the server's stamp (one machine, one
   clock);
4. three configurations, one fresh proxy each: (1) straight to the server, (2) ``mitmdump``
   with a two-line addon setting ``flow.response.stream = True`` (bare streaming), (3)
   ``sse-inspect capture -w FILE``. Per configuration: events expected and received, the
   delay p50/p90/p99/max over all events, and over the events of the long streams sent
   while the short ones end (the ``--window`` after the burst); and, from a small script
   loaded into both proxies, the proxy's own event-loop lag (how late a 2 ms timer fires),
   which leaves out the client's and the server's share of the delay;
5. the capture of (3) is read back with ``sse_inspect.load.read_capture``: every stream and
   every event (decoded from the stored body), complete, with per-chunk timing.

Before all that, in this process: how long the proxy's event loop is held up per finished
flow by writing it (mitmproxy's ``Save`` against sse-inspect's, which only snapshots the
flow on the loop and writes it from a thread), for flows of 200 and 5,000 chunks recorded by
the addon itself.

Targets: no event lost, at the client or in the capture; (3) within a fraction of a
millisecond of (2) at p50; p99 of the long streams' events during the burst <= 20 ms.

Run it with ``.venv/bin/python bench/load.py`` (about a minute; it needs about 3,000 file
descriptors, and two cores are busy). ``--streams 50 --burst 10`` is a quick check.
It only listens on and connects to 127.0.0.1 and always exits 0: it is a report, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import os
import platform
import resource
import socket
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
po: Any = importlib.import_module("proxy_overhead")  # the server, the proxies, percentile

HOST = po.HOST
STREAMS = 500
BURST = 100
RATE = 20.0
SECONDS = 10.0
WINDOW_S = 0.5
TARGET_BURST_P99_MS = 20.0
CONNECT_BATCH = 50  # connections opened at a time, then a short pause
READ_TIMEOUT_S = 30.0
SAVE_CHUNKS = (200, 5000)
LAG_ENV = "SSE_INSPECT_BENCH_LAG"
LAG_TICK_S = 0.002

# Loaded into both proxies: how late a 2 ms timer fires on the proxy's event loop, i.e. how
# long something held the loop up; written to the file named by $SSE_INSPECT_BENCH_LAG.
LAG_SCRIPT = f"""\
import asyncio, json, os, time


class LoopLag:
    def __init__(self):
        self.samples = []

    def running(self):
        self.task = asyncio.get_running_loop().create_task(self.watch())

    async def watch(self):
        while True:
            t = time.time()
            await asyncio.sleep({LAG_TICK_S})
            self.samples.append((t, (time.time() - t - {LAG_TICK_S}) * 1e3))

    def done(self):
        with open(os.environ["{LAG_ENV}"], "w") as f:
            json.dump(self.samples, f)


addons = [LoopLag()]
"""


# --- the plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """Who sends what when: every time is epoch seconds, as the server's stamps are."""

    sid: int
    n: int
    at: float
    """The first event."""
    end_at: float | None = None
    """``data: [DONE]`` not before this (the short streams: all at the same instant)."""

    @property
    def short(self) -> bool:
        return self.end_at is not None

    def path(self, interval_ms: float) -> str:
        path = f"/stream?n={self.n}&interval_ms={interval_ms}&sid={self.sid}&at={self.at:.6f}"
        return path + (f"&end_at={self.end_at:.6f}" if self.end_at is not None else "")


def make_plans(streams: int, burst: int, rate: float, seconds: float, t0: float) -> list[Plan]:
    """``burst`` short streams ending together at ``t0 + seconds / 2``, the rest long; each
    stream's phase a different fraction of the interval."""
    interval = 1 / rate
    burst = min(burst, streams)
    end = t0 + seconds / 2
    every = streams // burst if burst else streams + 1
    plans = []
    for i in range(streams):
        at = t0 + interval * i / streams
        if i % every == 0 and i // every < burst:
            n = max(1, int((end - at) / interval) + 1)  # the last event before (or at) end
            plans.append(Plan(i, n, at, end))
        else:
            plans.append(Plan(i, max(1, round(seconds * rate)), at))
    return plans


# --- the client -------------------------------------------------------------------------------


@dataclass
class Result:
    plan: Plan
    seqs: list[int] = field(default_factory=list)
    sent: list[float] = field(default_factory=list)
    """The server's stamp of each event."""
    delays_ms: list[float] = field(default_factory=list)
    headers_at: float | None = None
    done: bool = False
    error: str | None = None

    @property
    def lost(self) -> int:
        return self.plan.n - len(set(self.seqs) & set(range(self.plan.n)))

    @property
    def ok(self) -> bool:
        in_order = self.seqs == list(range(self.plan.n))
        return self.error is None and self.done and in_order

    @property
    def late(self) -> bool:
        """The response headers came after the first event was due: the stream started late
        (a slow connect), so its first delays are the connect's, not the proxy's."""
        return self.headers_at is not None and self.headers_at > self.plan.at


class Chunked:
    """An incremental HTTP/1.1 chunked-body decoder: bytes in, payload bytes out."""

    def __init__(self) -> None:
        self.buffer = b""
        self.left = 0  # payload bytes of the current chunk still to come
        self.crlf = False  # the CRLF after a chunk's payload still to come
        self.ended = False

    def feed(self, data: bytes) -> bytes:
        self.buffer += data
        out = []
        while self.buffer and not self.ended:
            if self.left:
                piece = self.buffer[: self.left]
                out.append(piece)
                self.left -= len(piece)
                self.buffer = self.buffer[len(piece) :]
                self.crlf = self.left == 0
                continue
            if self.crlf:
                if len(self.buffer) < 2:
                    break
                self.buffer, self.crlf = self.buffer[2:], False
                continue
            line_end = self.buffer.find(b"\r\n")
            if line_end < 0:
                break
            size = int(self.buffer[:line_end].split(b";")[0], 16)
            self.buffer = self.buffer[line_end + 2 :]
            if size == 0:
                self.ended = True
            else:
                self.left = size
        return b"".join(out)


async def read_stream(
    server_port: int, proxy_port: int | None, plan: Plan, interval_ms: float
) -> Result:
    result = Result(plan)
    path = plan.path(interval_ms)
    target = path if proxy_port is None else f"http://{HOST}:{server_port}{path}"
    writer = None
    try:
        reader, writer = await asyncio.open_connection(HOST, proxy_port or server_port)
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        writer.write(
            f"GET {target} HTTP/1.1\r\nHost: {HOST}:{server_port}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), READ_TIMEOUT_S)
        result.headers_at = time.time()
        status = head.split(b"\r\n", 1)[0]
        if b" 200 " not in status + b" ":
            result.error = status.decode(errors="replace")
            return result
        if b"transfer-encoding: chunked" not in head.lower():
            result.error = "the response is not chunked"
            return result
        body = Chunked()
        text = b""
        while not body.ended:
            data = await asyncio.wait_for(reader.read(65536), READ_TIMEOUT_S)
            if not data:
                result.error = "connection closed before the end of the body"
                break
            now = time.time()
            text += body.feed(data)
            *events, text = text.split(b"\n\n")
            for event in events:
                take_event(result, event, now)
    except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError) as e:
        result.error = f"{type(e).__name__}: {e}"
    finally:
        if writer is not None:
            writer.close()
    return result


def take_event(result: Result, event: bytes, now: float) -> None:
    for line in event.split(b"\n"):
        if not line.startswith(b"data: "):
            continue
        data = line[6:]
        if data == b"[DONE]":
            result.done = True
            continue
        obj = json.loads(data)
        ts = float(obj["ts"])
        result.seqs.append(int(obj["seq"]))
        result.sent.append(ts)
        result.delays_ms.append((now - ts) * 1e3)


async def read_all(
    server_port: int, proxy_port: int | None, plans: Sequence[Plan], interval_ms: float
) -> list[Result]:
    tasks = []
    for i, plan in enumerate(plans):
        tasks.append(asyncio.create_task(read_stream(server_port, proxy_port, plan, interval_ms)))
        if i % CONNECT_BATCH == CONNECT_BATCH - 1:
            await asyncio.sleep(0.05)
    return list(await asyncio.gather(*tasks))


# --- one configuration ------------------------------------------------------------------------


@dataclass
class Run:
    name: str
    results: list[Result]
    burst_at: float
    window: float
    seconds: float
    lag: list[tuple[float, float]] | None = None
    """The proxy's event loop: (time, how late a 2 ms timer fired, in ms)."""

    def delays(self, during_burst: bool = False) -> list[float]:
        if not during_burst:
            return [d for r in self.results for d in r.delays_ms]
        lo, hi = self.burst_at, self.burst_at + self.window
        return [
            d
            for r in self.results
            if not r.plan.short
            for t, d in zip(r.sent, r.delays_ms, strict=True)
            if lo <= t <= hi
        ]


def run_config(
    name: str, server_port: int, proxy_port: int | None, args: argparse.Namespace
) -> Run:
    ramp = 1.0 + args.streams / 250  # time to open every connection before the first event
    t0 = time.time() + ramp
    plans = make_plans(args.streams, args.burst, args.rate, args.seconds, t0)
    started = time.monotonic()
    results = asyncio.run(read_all(server_port, proxy_port, plans, 1e3 / args.rate))
    burst_at = t0 + args.seconds / 2
    return Run(name, results, burst_at, args.window, time.monotonic() - started)


def failures(results: Sequence[Result]) -> list[str]:
    out = []
    for r in results:
        if not r.ok:
            why = r.error or ("no [DONE]" if not r.done else "events missing or out of order")
            out.append(
                f"stream {r.plan.sid}: {len(r.seqs)}/{r.plan.n} events, {r.lost} lost ({why})"
            )
    return out


COLUMNS = ("p50 ms", "p90 ms", "p99 ms", "max ms")


def row(label: str, delays: list[float], width: int) -> str:
    cells = "".join(f"{po.percentile(delays, q):>9.3f}" for q in (50, 90, 99))
    return f"  {label:<{width}}{len(delays):>9}{cells}{max(delays, default=float('nan')):>9.3f}"


def print_run(run: Run) -> None:
    rs = run.results
    expected = sum(r.plan.n for r in rs)
    received = sum(len(r.seqs) for r in rs)
    ok = sum(r.ok for r in rs)
    lost = sum(r.lost for r in rs)
    late = sum(r.late for r in rs)
    print(
        f"  {run.name:<28}{expected:>9}{received:>9}{lost:>6}{ok:>6}/{len(rs):<5}"
        + "".join(f"{po.percentile(run.delays(), q):>9.3f}" for q in (50, 90, 99))
        + f"{max(run.delays(), default=float('nan')):>9.3f}{run.seconds:>7.1f}"
    )
    during = run.delays(during_burst=True)
    print(row(f"    long streams, {run.window:g} s after the burst", during, 44))
    if run.lag:
        lo, hi = run.burst_at, run.burst_at + run.window
        print(row("    proxy loop lag, whole run", [ms for _, ms in run.lag], 44))
        print(
            row("    proxy loop lag, after the burst", [x for t, x in run.lag if lo <= t <= hi], 44)
        )
    if late:
        print(f"    note: {late} stream(s) started after their first event was due (slow connect)")
    bad = failures(rs)
    for line in bad[:10]:
        print(f"    !! {line}")
    if len(bad) > 10:
        print(f"    !! ... and {len(bad) - 10} more")


# --- the capture, read back -------------------------------------------------------------------


def check_capture(capture: Path, plans: Sequence[Plan]) -> None:
    """Every stream in the capture, each with every event (decoded from the stored body),
    complete, with per-chunk timing."""
    from sse_inspect import SSEDecoder
    from sse_inspect.load import read_capture

    want = {p.sid: p.n for p in plans}
    found: dict[int, int] = {}
    bad: list[str] = []
    complete = timed = 0
    t0 = time.monotonic()
    for stream in read_capture(capture):
        sid = int(parse_qs(urlsplit(stream.url or "").query)["sid"][0])
        decoder = SSEDecoder()
        seqs, done = [], False
        for t, chunk in stream.timed_chunks():
            for event in decoder.feed(chunk, t):
                if event.data == "[DONE]":
                    done = True
                else:
                    seqs.append(int(json.loads(event.data)["seq"]))
        found[sid] = len(seqs)
        complete += stream.complete
        timed += stream.timing == "per-chunk"
        if seqs != list(range(want.get(sid, -1))) or not done or not stream.complete:
            bad.append(
                f"stream {sid}: {len(seqs)}/{want.get(sid)} events, [DONE] {done}, "
                f"complete {stream.complete}, error {stream.error}"
            )
    missing = sorted(set(want) - set(found))
    events = sum(found.values())
    verdict = "all there" if not bad and not missing else "MISMATCH"
    print(
        f"  {capture.name} ({capture.stat().st_size:,} bytes, read in "
        f"{time.monotonic() - t0:.1f} s): {len(found)}/{len(want)} streams, "
        f"{events}/{sum(want.values())} events, {complete} complete, {timed} with per-chunk "
        f"timing: {verdict}"
    )
    for line in bad[:10]:
        print(f"    !! {line}")
    if missing:
        print(f"    !! {len(missing)} stream(s) missing, e.g. {missing[:5]}")


# --- the loop time per finished flow ----------------------------------------------------------


def recorded_flow(chunks: int) -> Any:
    """A finished flow of ``chunks`` events of ~220 bytes, recorded by the capture addon
    itself (so its metadata is whatever Contract 2 version the addon writes)."""
    from mitmproxy.test import taddons, tflow

    from sse_inspect.capture.addon import SSECapture

    flow = tflow.tflow(resp=True)
    flow.response.headers["content-type"] = "text/event-stream"
    addon = SSECapture()
    with taddons.context(addon):
        addon.responseheaders(flow)
        record = flow.response.stream
        for seq in range(chunks):
            head, tail = po.event_parts(7, seq)
            record(b"%s%.6f%s" % (head, time.time(), tail))
        record(b"")  # the end: stores the body and the metadata
    flow.response.stream = True
    return flow


def save_cost(workdir: Path) -> None:
    """Milliseconds of event loop per finished flow: mitmproxy's Save (filter, snapshot,
    serialise, write, flush, all in its ``response`` hook) against ours (filter, snapshot
    and queue in the hook, then the serialisation, which is on the loop too, on its next
    turns; the thread only writes), on flows recorded by the addon, and on the same flows
    with their chunks as Contract 2's version-1 list (what the addon stored before version
    2, and still keeps while a stream is open)."""
    from mitmproxy.addons import save
    from mitmproxy.test import taddons

    from sse_inspect.capture import contract, proxy

    print(
        "event loop time per finished flow: Save's response hook, and for ours the"
        " serialisation on the next turns (best of 20 runs):"
    )

    async def measure(make: type[save.Save], flow: Any, path: Path) -> float:
        s = make()
        with taddons.context(s) as tctx:
            tctx.configure(s, save_stream_file=str(path))
            best = float("inf")
            for _ in range(20):
                s.request(flow)
                t = time.perf_counter()
                s.response(flow)
                writer = getattr(s, "stream", None)
                while getattr(writer, "_states", None):  # ours: the turns that serialise it
                    writer._serialise_some()  # type: ignore[union-attr]
                best = min(best, time.perf_counter() - t)
            s.done()  # ours: waits for the writer thread
        return best * 1e3

    for chunks in SAVE_CHUNKS:
        flow = recorded_flow(chunks)
        meta = flow.metadata.get(contract.KEY, {})
        forms = [(f"v{meta.get('version')}, as the addon stores it", flow)]
        if meta.get("version") != 1 and hasattr(contract, "stored_chunks"):
            v1 = flow.copy()
            pairs = [list(c) for c in contract.stored_chunks(meta)]
            v1.metadata[contract.KEY] = contract.pack(pairs, complete=True)
            forms.append(("v1 chunk list", v1))
        for label, f in forms:
            theirs = asyncio.run(measure(save.Save, f, workdir / "theirs.flow"))
            ours = asyncio.run(measure(proxy._Save, f, workdir / "ours.flow"))
            same = (workdir / "theirs.flow").read_bytes() == (workdir / "ours.flow").read_bytes()
            print(
                f"  {chunks:>5} chunks ({label + '):':<32} mitmproxy's Save {theirs:7.3f} ms, "
                f"sse-inspect's {ours:6.3f} ms (theirs / ours {theirs / ours:4.1f}x); "
                f"same file: {'yes' if same else 'NO'}"
            )
    print()


# --- the whole -------------------------------------------------------------------------------

CONFIGS = ("(1) direct", "(2) mitmdump stream=True", "(3) sse-inspect capture")


def print_header(args: argparse.Namespace) -> None:
    import mitmproxy.version
    import tornado

    print("sse-inspect load benchmark")
    print(f"Python {platform.python_version()} on {platform.platform(terse=True)}")
    print(f"mitmproxy {mitmproxy.version.VERSION}, tornado {tornado.version}")
    print(f"CPUs: {os.cpu_count()}")
    n_long = round(args.seconds * args.rate)
    print(
        f"load: {args.streams} concurrent streams at {args.rate:g} events/s "
        f"({args.streams * args.rate:,.0f} events/s in all): {args.streams - args.burst} "
        f"long ({n_long} events, {args.seconds:g} s), {args.burst} short ending together at "
        f"{args.seconds / 2:g} s; events of ~{len(b''.join(po.event_parts(0, 0))) + 17} bytes; "
        "delay = client arrival - server stamp"
    )
    print()


def read_lag(path: Path) -> list[tuple[float, float]] | None:
    try:
        return [(float(t), float(ms)) for t, ms in json.loads(path.read_text())]
    except (OSError, ValueError, TypeError):
        print(f"  note: no loop lag from the proxy ({path.name} missing or unreadable)")
        return None


def run(args: argparse.Namespace, workdir: Path) -> None:
    print_header(args)
    if not args.no_save_cost:
        save_cost(workdir)
    head = f"  {'configuration':<28}{'expected':>9}{'received':>9}{'lost':>6}{'ok':>6}{'':<6}"
    runs: dict[str, Run] = {}
    ours = None
    lag_script = workdir / "loop_lag.py"
    lag_script.write_text(LAG_SCRIPT)
    with po.sse_server(workdir) as server_port:
        print(head + "".join(f"{h:>9}" for h in COLUMNS) + "      s")
        print("  " + "-" * (len(head) + 43))
        for name in CONFIGS:
            if name == CONFIGS[0]:
                runs[name] = run_config(name, server_port, None, args)
            else:
                kind = "bare" if name == CONFIGS[1] else "addon"
                lag = workdir / f"lag-{kind}.json"
                os.environ[LAG_ENV] = str(lag)  # the proxy inherits it
                with po.proxy(kind, workdir, "load", [lag_script]) as p:
                    runs[name] = run_config(name, server_port, p.port, args)
                runs[name].lag = read_lag(lag)
                if kind == "addon":
                    ours = p
            print_run(runs[name])
    print()
    bare, mine = runs[CONFIGS[1]], runs[CONFIGS[2]]
    for label, during in (("all events", False), ("during the burst", True)):
        b, m = bare.delays(during), mine.delays(during)
        print(
            f"  (3) - (2), {label + ':':<18} p50 {po.percentile(m, 50) - po.percentile(b, 50):+.3f}"
            f" ms, p99 {po.percentile(m, 99) - po.percentile(b, 99):+.3f} ms"
        )
    lost = sum(r.lost for r in mine.results)
    p99 = po.percentile(mine.delays(True), 99)
    verdict = "holds" if p99 <= TARGET_BURST_P99_MS else "DOES NOT hold"
    print(
        f"  target: p99 of (3) during the burst <= {TARGET_BURST_P99_MS:g} ms: {verdict} "
        f"({p99:.3f} ms); events lost at the client through (3): {lost}"
    )
    print()
    if ours is not None and ours.capture is not None:
        print("capture check (the config (3) capture, read with sse_inspect.load.read_capture):")
        check_capture(ours.capture, [r.plan for r in mine.results])


def raise_fd_limit(streams: int) -> None:
    """Each stream is a socket in the client, two in a proxy and one in the server."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 4 * streams + 256
    if soft < need:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        if soft < need:
            print(f"note: only {soft} file descriptors (ulimit -n); {need} would be safe")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--streams", type=int, default=STREAMS, help="concurrent streams")
    parser.add_argument("--burst", type=int, default=BURST, help="of them, ending together")
    parser.add_argument("--rate", type=float, default=RATE, help="events per second per stream")
    parser.add_argument("--seconds", type=float, default=SECONDS, help="the long streams' span")
    parser.add_argument(
        "--window", type=float, default=WINDOW_S, help="seconds after the burst that count"
    )
    parser.add_argument("--no-save-cost", action="store_true", help="skip the Save timing")
    args = parser.parse_args(argv)
    args.burst = max(0, min(args.burst, args.streams - 1))
    raise_fd_limit(args.streams)
    t0 = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="sse-inspect-load-") as tmp:
            run(args, Path(tmp))
    except po.BenchError as e:
        print(f"error: {e}")
    except Exception as e:
        print(f"error: the benchmark failed: {type(e).__name__}: {e}")
    print(f"\ntotal: {time.monotonic() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
