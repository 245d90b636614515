"""Benchmark: the CPU cost per stream of ``sse-inspect analyze --json``, stage by stage.

Why this exists: the project's target is ``analyze`` within 1.3x of a bare mitmproxy
``FlowReader`` pass over the same capture. This script says where the time per stream goes,
in one process, without the CLI around it: reading the flows (mitmproxy's ``FlowReader``),
converting each into a :class:`~sse_inspect.load.stream.Stream`, redacting it, analysing it,
making its JSON record and dumping it, as ``analyze --json --jobs 1`` does for each stream.
Each stage is timed on all the streams at once, best of ``--repeat``; the times are CPU
time (``time.process_time``), in ms per stream.

Besides: ``count_events`` (what the proxy's log line runs on its event loop when a stream
ends) on an identity body of ``--events`` OpenAI-like events, in us per body.

Run it with ``.venv/bin/python bench/analyze_cost.py`` (a few seconds); ``--flow FILE``
and ``--copies N`` change the capture (default: ``samples/captured-openai-chat.flow``
2,000 times over). It always exits 0: it is a report, not a test.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mitmproxy import io as mitm_io

from sse_inspect.analysis.analysis import analyze
from sse_inspect.decode.body import count_events
from sse_inspect.load.flows import stream_from_flow
from sse_inspect.present.json import dumps, stream_record
from sse_inspect.present.redact import redact_stream

ROOT = Path(__file__).resolve().parent.parent


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The least CPU time of ``repeat`` calls, and the last call's value."""
    times, value = [], None
    for _ in range(repeat):
        t0 = time.process_time()
        value = fn()
        times.append(time.process_time() - t0)
    return min(times), value


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--flow", default=str(ROOT / "samples" / "captured-openai-chat.flow"))
    p.add_argument("--copies", type=int, default=2000)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--events", type=int, default=200)
    args = p.parse_args()

    data = Path(args.flow).read_bytes() * args.copies
    r = args.repeat
    read_s, flows = best(lambda: list(mitm_io.FlowReader(io.BytesIO(data)).stream()), r)
    n = len(flows)
    convert_s, streams = best(lambda: [stream_from_flow(f, "x") for f in flows], r)
    streams = [s for s in streams if s is not None]
    redact_s, redacted = best(lambda: [redact_stream(s) for s in streams], r)
    analyse_s, analyses = best(lambda: [analyze(s) for s in redacted], r)
    record_s, records = best(lambda: [stream_record(a) for a in analyses], r)
    dump_s, _ = best(lambda: [dumps(x) for x in records], r)
    events = analyses[0].decoded.events if analyses else []

    print(f"{args.flow} x {args.copies}: {n} flows, {len(streams)} streams, "
          f"{len(events)} events each; CPU ms per stream, best of {r}")  # fmt: skip
    stages = [
        ("read (FlowReader)", read_s),
        ("convert (stream_from_flow)", convert_s),
        ("redact (redact_stream)", redact_s),
        ("analyse (analyze)", analyse_s),
        ("record (stream_record)", record_s),
        ("dump (json dumps)", dump_s),
    ]
    for name, s in stages:
        print(f"  {name:<28} {s * 1e3 / max(n, 1):7.3f}")
    after = redact_s + analyse_s + record_s + dump_s
    print(f"  {'redact..dump':<28} {after * 1e3 / max(n, 1):7.3f}")
    total = read_s + convert_s + after
    print(f"  {'all':<28} {total * 1e3 / max(n, 1):7.3f}  ({total / read_s:.2f}x the read)")

    # The proxy's log line: count_events on a plain body of --events events.
    body = b"".join(
        b"data: " + json.dumps({"choices": [{"index": 0, "delta": {"content": f"w{i} "}}]}).encode()
        + b"\n\n"
        for i in range(args.events)
    ) + b"data: [DONE]\n\n"  # fmt: skip
    pieces = body.split(b"\n\n")[:-1]
    chunks = [(1.0 + i * 0.01, piece + b"\n\n") for i, piece in enumerate(pieces)]
    loops = 200
    count_s, result = best(
        lambda: [count_events(chunks, None, 10.0, 1 << 26) for _ in range(loops)], r
    )
    print(f"count_events, {result[-1].count} events in {len(chunks)} chunks: "
          f"{count_s * 1e6 / loops:.1f} us per body")  # fmt: skip
    sys.stdout.flush()


if __name__ == "__main__":
    main()
