"""What reading a ``.flow`` file costs per flow: mitmproxy's bare reader against
sse-inspect's (``load.flows.read_each``: each flow's tnetstring read straight into a Stream,
see ``load/state.py``), best of 3, on a capture of one sample repeated.

    .venv/bin/python bench/read_cost.py [--flows 2000] [--sample samples/captured-openai-chat.flow]

Prints ms per flow for: mitmproxy's ``FlowReader.stream()`` alone; that plus the
conversion (``select``: an HTTPFlow into a Stream), the path sse-inspect took before; and
sse-inspect's reader, on the sample repeated byte for byte (every flow shares one client and
one server connection, as keep-alive and HTTP/2 flows do) and with a new connection per flow
(new ids, ports and times: each connection is checked by its shape).
(``time sse-inspect analyze --json --jobs 1 FILE`` gives the whole.)
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from mitmproxy import io

from sse_inspect.load.flows import _read_all, read_each
from sse_inspect.load.tally import Tally

ROOT = Path(__file__).resolve().parent.parent


def bare(path: Path) -> None:
    with path.open("rb") as f:
        for _ in io.FlowReader(f).stream():
            pass


def mitmproxy_path(path: Path) -> None:
    with path.open("rb") as f:
        for _ in _read_all(f, str(path), None, None, False, Tally()):
            pass


def ours(path: Path) -> None:
    with path.open("rb") as f:
        for _ in read_each(f, str(path), None, Tally()):
            pass


def new_connections(data: bytes, n: int) -> bytes:
    """``n`` copies of the sample's flow, each with connections of its own."""
    (flow,) = io.FlowReader(BytesIO(data)).stream()
    out = BytesIO()
    writer = io.FlowWriter(out)
    for i in range(n):
        f = flow.copy()
        for conn in (f.client_conn, f.server_conn):
            conn.id = str(uuid.uuid4())
            conn.timestamp_start = (conn.timestamp_start or 0.0) + i * 0.0137
        f.client_conn.peername = ("127.0.0.1", 1024 + i % 60000)
        writer.add(f)
    return out.getvalue()


def best(fn: Callable[[Path], None], path: Path, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn(path)
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=2000)
    parser.add_argument("--sample", default=str(ROOT / "samples/captured-openai-chat.flow"))
    args = parser.parse_args()
    data = Path(args.sample).read_bytes()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.flow"
        fresh = Path(tmp) / "fresh.flow"
        path.write_bytes(data * args.flows)
        fresh.write_bytes(new_connections(data, args.flows))
        print(f"{args.flows} x {Path(args.sample).name} ({len(data):,} bytes each)")
        base = best(bare, path) / args.flows * 1e3
        print(f"  mitmproxy FlowReader, bare             {base:6.3f} ms/flow")
        for name, fn, file in [
            ("mitmproxy reader + select (before)", mitmproxy_path, path),
            ("sse-inspect reader (state.py)", ours, path),
            ("  ... a new connection per flow", ours, fresh),
        ]:
            ms = best(fn, file) / args.flows * 1e3
            print(f"  {name:38} {ms:6.3f} ms/flow  {ms / base:5.2f}x bare")


if __name__ == "__main__":
    main()
