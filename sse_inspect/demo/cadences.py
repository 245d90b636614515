"""Captures of the chat simulator at known cadences, for ``compare``'s tests and README.

``sse-inspect compare`` claims a difference only when it is larger than the noise between
streams. To show that on real traffic, the same answer is streamed through
``sse-inspect capture`` at a slow and a fast cadence (a difference to find) and twice at one
cadence (none to find). Each stream has its own first-byte wait and jitter, far above what
the proxy adds, so the spread inside a capture is the streams' own.

    python -m sse_inspect.demo.cadences DIR   # DIR/slow.flow, fast.flow, same1.flow, same2.flow
    sse-inspect compare DIR/slow.flow DIR/fast.flow

Everything runs on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import random
import sys
from collections.abc import Iterable
from pathlib import Path

from ..replay.server import Script, ScriptServer
from .chatsim import ANSWER, cadence, openai_chat_events, tokens
from .harness import CaptureProcess

__all__ = ["CADENCES", "CAPTURES", "STREAMS", "record"]

STREAMS = 9
"""Streams per capture: enough for ``compare`` to call a difference meaningful (>= 5)."""
CADENCES = {"slow": (0.02, 0.035), "fast": (0.003, 0.008), "same": (0.008, 0.02)}
"""The simulator's gaps between events (s), drawn uniformly between these bounds."""
CAPTURES = {"slow": "slow", "fast": "fast", "same1": "same", "same2": "same"}
"""Each capture's file stem and the cadence it is recorded at."""
_EVENTS = openai_chat_events(tokens(ANSWER)[:14])


def _script(gap: tuple[float, float], seed: int) -> Script:
    first = random.Random(seed).uniform(0.02, 0.1)
    offsets = cadence(len(_EVENTS), seed=seed, first=first, gap=gap, stall_after=None)
    return Script(tuple(zip(offsets, _EVENTS, strict=True)))


def _fetch(proxy_port: int, url: str) -> None:
    """POST through the proxy and read the stream to its end, as a client would."""
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=30)
    try:
        conn.request("POST", url, b'{"stream": true}', {"Content-Type": "application/json"})
        response = conn.getresponse()
        while response.read1(65536):
            pass
    finally:
        conn.close()


def record(workdir: Path, names: Iterable[str] = CAPTURES) -> dict[str, Path]:
    """Record the named captures (see :data:`CAPTURES`) into ``workdir``; their paths."""
    routes = {
        f"/{name}/{i}/v1/chat/completions": _script(gap, seed=i)
        for name, gap in CADENCES.items()
        for i in range(STREAMS)
    }
    server = ScriptServer(routes)
    base = server.start()
    out = {}
    try:
        for name in names:
            path = workdir / f"{name}.flow"
            with CaptureProcess(path, confdir=workdir / "mitmproxy") as proxy:
                for i in range(STREAMS):
                    _fetch(proxy.port, f"{base}/{CAPTURES[name]}/{i}/v1/chat/completions")
            out[name] = path
    finally:
        server.stop()
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m sse_inspect.demo.cadences DIR")
    target = Path(sys.argv[1])
    target.mkdir(parents=True, exist_ok=True)
    for path in record(target).values():
        print(path)
