"""``sse-inspect demo``: the whole loop on this machine, with no network.

A local chat server streams an OpenAI-style answer at a realistic pace (with one stall);
``sse-inspect capture`` runs in front of it as a proxy; a real HTTP client asks through
the proxy and prints the answer as it arrives (the typewriter effect the proxy must not
break); then the proxy stops and the capture is analysed.
"""

from __future__ import annotations

import http.client
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from ..replay.server import ScriptServer
from ..sse import SSEDecoder
from .chatsim import openai_script
from .harness import CaptureProcess

__all__ = ["CHAT_PATH", "PROMPT", "run_demo", "stream_answer"]

CHAT_PATH = "/v1/chat/completions"
PROMPT = "Why do chat apps stream their answers with Server-Sent Events?"


def stream_answer(proxy_port: int, url: str, out: TextIO) -> float:
    """POST a streamed chat request through the proxy and print tokens as they come.

    Returns the seconds from the request to the first token.
    """
    body = json.dumps(
        {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": PROMPT}]}
    )
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=60)
    start = time.monotonic()
    first: float | None = None
    conn.request("POST", url, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    decoder = SSEDecoder()
    while chunk := response.read1(65536):
        for event in decoder.feed(chunk, time.monotonic()):
            text = _content(event.data)
            if text:
                first = first if first is not None else event.t - start
                out.write(text)
                out.flush()
    conn.close()
    out.write("\n")
    return first if first is not None else float("nan")


def _content(data: str) -> str:
    try:
        choices = json.loads(data).get("choices") or [{}]
        return str(choices[0].get("delta", {}).get("content") or "")
    except (ValueError, AttributeError):
        return ""  # [DONE] and anything not JSON


def run_demo(
    analyze: Callable[[Path], None], out: TextIO = sys.stdout, keep: Path | None = None
) -> None:
    """Run the loop; ``analyze`` reports on the capture file (the CLI passes its own).

    The capture lives in a temporary directory, removed at the end, unless ``keep`` names
    where to copy it.
    """
    with tempfile.TemporaryDirectory(prefix="sse-inspect-demo-") as tmp:
        capture_file = Path(tmp) / "demo.flow"
        with ScriptServer({CHAT_PATH: openai_script()}) as base_url:
            with CaptureProcess(capture_file, confdir=Path(tmp) / "mitmproxy") as proxy:
                out.write(
                    f"chat server {base_url} · proxy 127.0.0.1:{proxy.port} "
                    f"(sse-inspect capture) · client: http.client\n\n"
                    f"> {PROMPT}\n\n"
                )
                ttft = stream_answer(proxy.port, base_url + CHAT_PATH, out)
            out.write(f"\n(first token after {ttft * 1e3:.0f} ms; the proxy has stopped)\n\n")
        analyze(capture_file)
        if keep is not None:
            shutil.copyfile(capture_file, keep)
            out.write(f"\nThe capture is kept in {keep}: sse-inspect analyze {keep}\n")
