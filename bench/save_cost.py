"""Benchmark: what the capture addon's metadata costs mitmproxy when it saves a flow.

Why this exists: when a stream ends, mitmproxy's ``Save`` writes the flow on the proxy's
event loop, while every other stream waits. ``FlowWriter.add`` deep-copies
``flow.metadata`` (``Flow.get_state``) and writes it as a tnetstring item by item, so
Contract 2's version 1 (``"chunks": [[t, n], ...]``, one list per chunk) costs far more to
save than the body it describes; version 2 (``"times"``/``"sizes"``, packed bytes) is two
bytes values, copied by reference and written in one piece.

One flow of 5,000 OpenAI-style chunks (~256 bytes each, ~1.3 MB of body) is saved with
``mitmproxy.io.FlowWriter.add`` (to a file object that only counts what it is given), with
no addon metadata, with version 1 and with version 2; each figure is the best of several
runs. Also timed: :func:`contract.seal`, the
addon's one-time v1 -> v2 conversion when the stream ends, and the reader's
:func:`contract.unpack` of each version.

Target: saving with version 2 costs at most 1.5x saving without metadata.

Run it with ``.venv/bin/python bench/save_cost.py`` (a few seconds; ``--chunks N`` and
``--runs N`` to change the size). It writes nothing to disk and always exits 0: it is a
report, not a test.
"""

from __future__ import annotations

import argparse
import copy
import gc
import io
import platform
import time
from collections.abc import Callable
from importlib.metadata import version
from typing import Any

from mitmproxy import http
from mitmproxy import io as mitmproxy_io
from mitmproxy.test import tflow

from sse_inspect.capture import contract

T0 = 1764000000.0
TARGET = 1.5


def event(seq: int) -> bytes:
    """One ``chat.completion.chunk`` event, 256 bytes."""
    return (
        b'data: {"id":"chatcmpl-bench00001","object":"chat.completion.chunk",'
        b'"created":1764000000,"model":"gpt-4o-mini-2024-07-18","system_fingerprint":'
        b'"fp_0000000000","choices":[{"index":0,"delta":{"content":" token %05d"},'
        b'"logprobs":null,"finish_reason":null}]}\n\n' % seq
    )


def make_flow(n: int) -> tuple[http.HTTPFlow, list[list[float | int]]]:
    """A finished event stream of ``n`` chunks 20 ms apart, and its version-1 chunk list."""
    f = tflow.tflow(resp=True)
    assert f.response is not None
    f.response.headers["Content-Type"] = "text/event-stream"
    chunks = [event(i) for i in range(n)]
    f.response.raw_content = b"".join(chunks)
    f.request.timestamp_start = T0
    times = [T0 + 0.3 + i * 0.02 + (i % 7) * 1e-4 for i in range(n)]  # not round numbers
    f.response.timestamp_start, f.response.timestamp_end = times[0] - 0.01, times[-1]
    return f, [[t, len(c)] for t, c in zip(times, chunks, strict=True)]


def best(fns: list[Callable[[], object]], runs: int) -> list[float]:
    """For each of ``fns``, the fastest of ``runs`` timings, per call, in ms. Each timing
    repeats the call for about 5 ms; the runs take turns (a, b, c, a, b, c, ...), so a busy
    spell of the machine hits every one alike; the garbage collector is off meanwhile, as
    in ``timeit``."""
    numbers = []
    for fn in fns:  # warm up, and how many calls make 5 ms
        t = time.perf_counter()
        fn()
        numbers.append(max(1, round(0.005 / max(time.perf_counter() - t, 1e-6))))
    times: list[list[float]] = [[] for _ in fns]
    gc.disable()
    try:
        for _ in range(runs):
            for fn, number, took in zip(fns, numbers, times, strict=True):
                t = time.perf_counter()
                for _ in range(number):
                    fn()
                took.append((time.perf_counter() - t) / number)
    finally:
        gc.enable()
    return [min(took) * 1e3 for took in times]


class Sink:
    """A file that keeps only the count of what is written to it: the figures are then
    mitmproxy's own work (state, deep copy, tnetstring), not a file system's."""

    def __init__(self) -> None:
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return len(data)


def saver(f: http.HTTPFlow, meta: dict[str, Any] | None) -> tuple[Callable[[], int], int]:
    """A call that saves ``f`` with ``meta`` as its metadata (or none) with
    ``FlowWriter.add``, and the bytes it writes."""
    sink = Sink()
    writer = mitmproxy_io.FlowWriter(sink)  # type: ignore[no-untyped-call]

    def save() -> int:
        f.metadata.clear()  # a dict assignment: nothing next to the save itself
        if meta is not None:
            f.metadata[contract.KEY] = meta
        before = sink.written
        writer.add(f)
        return sink.written - before

    return save, save()


def check_round_trip(f: http.HTTPFlow, meta: dict[str, Any]) -> bool:
    """The metadata comes back from mitmproxy's reader as it was saved (bytes as bytes)."""
    f.metadata.clear()
    f.metadata[contract.KEY] = meta
    out = io.BytesIO()
    mitmproxy_io.FlowWriter(out).add(f)  # type: ignore[no-untyped-call]
    out.seek(0)
    (back,) = mitmproxy_io.FlowReader(out).stream()
    return bool(back.metadata[contract.KEY] == meta)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunks", type=int, default=5000, help="chunks in the flow (5000)")
    parser.add_argument("--runs", type=int, default=15, help="runs per figure, best kept (15)")
    args = parser.parse_args()
    n, runs = args.chunks, args.runs

    f, chunks = make_flow(n)
    v1 = contract.pack(copy.deepcopy(chunks), complete=True)
    v2 = contract.seal(chunks, complete=True)
    assert v2["version"] == 2 and contract.stored_chunks(v2) == contract.stored_chunks(v1)
    body = len(f.response.raw_content or b"") if f.response else 0

    print(
        f"save cost of one flow: {n:,} chunks, {body / 1e6:.2f} MB of body; FlowWriter.add, "
        f"best of {runs}"
    )
    print(
        f"(Python {platform.python_version()}, mitmproxy {version('mitmproxy')}, "
        f"{platform.machine()})"
    )
    (save_none, none_size), (save_v1, v1_size), (save_v2, v2_size) = (
        saver(f, meta) for meta in (None, v1, v2)
    )
    none_ms, v1_ms, v2_ms = best([save_none, save_v1, save_v2], runs)
    print(f"  {'metadata':<28}{'ms':>9}{'x none':>9}{'bytes written':>16}")
    for name, ms, size in (
        ("none", none_ms, none_size),
        ("version 1 (chunks list)", v1_ms, v1_size),
        ("version 2 (times, sizes)", v2_ms, v2_size),
    ):
        print(f"  {name:<28}{ms:>9.3f}{ms / none_ms:>9.2f}{size:>16,}")
    verdict = "holds" if v2_ms <= TARGET * none_ms else "FAILS"
    print(f"  target version 2 <= {TARGET}x none: {verdict} ({v2_ms / none_ms:.2f}x)")

    size = len(f.response.raw_content or b"") if f.response else 0
    seal_ms, unpack1, unpack2 = best(
        [
            lambda: contract.seal(chunks, complete=True),
            lambda: contract.unpack(v1, size, None),
            lambda: contract.unpack(v2, size, None),
        ],
        runs,
    )
    print(f"  the addon's seal (v1 list -> v2, once per stream):    {seal_ms:.3f} ms")
    end = seal_ms + v2_ms
    print(
        f"  the end of a stream with version 2, seal + save:      {end:.3f} ms "
        f"({end / none_ms:.2f}x none; version 1 saved as it was: {v1_ms / none_ms:.1f}x)"
    )
    print(f"  a reader's unpack:  version 1 {unpack1:.3f} ms, version 2 {unpack2:.3f} ms")
    print(f"  saved and read back unchanged: v1 {check_round_trip(f, v1)}, "
          f"v2 {check_round_trip(f, v2)}")  # fmt: skip


if __name__ == "__main__":
    main()
