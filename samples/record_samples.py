"""Record one stream per dialect through sse-inspect's own capture path.

    .venv/bin/python samples/record_samples.py
    .venv/bin/python samples/record_samples.py --upgrade FILE...   # v1 metadata -> v2, in place

For each dialect a local chat server (sse_inspect.replay.server, on 127.0.0.1) streams the
same short answer in that dialect's wire format at a realistic pace; `sse-inspect capture`
runs in front of it; a real HTTP client sends the dialect's usual request through the proxy.
The flows are written to samples/captured-<dialect>.flow. Unlike make_samples.py the result
has real timing, so it differs on every run; the tests check what it must contain. The
addon stores Contract 2 version 2; ``--upgrade`` rewrites the version-1 metadata of older
recordings as version 2 with ``contract.seal`` (what the addon runs when a stream ends),
leaving everything else of each flow as it was: the committed captured-*.flow were recorded
before version 2 and upgraded so, and captured-openai-chat-v1.flow is one of them as it was.
"""

from __future__ import annotations

import http.client
import json
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from mitmproxy import io

from sse_inspect.capture import contract
from sse_inspect.demo.chatsim import (
    ANSWER,
    anthropic_events,
    cadence,
    chatgpt_web_events,
    gemini_events,
    openai_chat_events,
    responses_events,
    tokens,
)
from sse_inspect.demo.harness import CaptureProcess
from sse_inspect.replay.server import Script, ScriptServer

HERE = Path(__file__).resolve().parent
PIECES = tokens(ANSWER)[:60]
PROMPT = "Why do chat apps stream their answers with Server-Sent Events?"
GEMINI = "/v1beta/models/gemini-2.5-flash:streamGenerateContent"

# dialect: (path, query, request body, the stream's events)
DIALECTS: dict[str, tuple[str, str, dict[str, object], Callable[[list[str]], list[bytes]]]] = {
    "openai-chat": (
        "/v1/chat/completions",
        "",
        {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": PROMPT}]},
        openai_chat_events,
    ),
    "openai-responses": (
        "/v1/responses",
        "",
        {"model": "gpt-4o-mini", "stream": True, "input": PROMPT},
        responses_events,
    ),
    "anthropic": (
        "/v1/messages",
        "",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 1024,
            "stream": True,
            "messages": [{"role": "user", "content": PROMPT}],
        },
        anthropic_events,
    ),
    "gemini": (
        GEMINI,
        "?alt=sse",
        {"contents": [{"role": "user", "parts": [{"text": PROMPT}]}]},
        gemini_events,
    ),
    "chatgpt-web": (
        "/backend-api/conversation",
        "",
        {
            "action": "next",
            "messages": [
                {"author": {"role": "user"}, "content": {"content_type": "text", "parts": [PROMPT]}}
            ],
            "model": "auto",
        },
        chatgpt_web_events,
    ),
}


def record(dialect: str, out: Path) -> Path:
    path, query, body, make = DIALECTS[dialect]
    events = make(PIECES)
    offsets = cadence(len(events), seed=len(dialect), stall_after=len(events) // 2)
    script = Script(tuple(zip(offsets, events, strict=True)))
    target = out / f"captured-{dialect}.flow"
    with (
        tempfile.TemporaryDirectory() as tmp,
        ScriptServer({path: script}) as base,
        CaptureProcess(target, confdir=Path(tmp), args=["--force"]) as proxy,
    ):
        conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=60)
        headers = {"Content-Type": "application/json", "Accept": "text/event-stream"}
        headers["Authorization"] = "Bearer sk-sample-NOT-A-REAL-KEY-0123456789"
        conn.request("POST", base + path + query, json.dumps(body), headers)
        response = conn.getresponse()
        while response.read1(65536):
            pass
        conn.close()
    return target


def upgrade(path: Path) -> int:
    """Rewrite the version-1 metadata of the flows in ``path`` as version 2; the number of
    flows changed."""
    with path.open("rb") as f:
        flows = list(io.FlowReader(f).stream())
    changed = 0
    for flow in flows:
        meta = flow.metadata.get(contract.KEY)
        if isinstance(meta, dict) and meta.get("version") == contract.OPEN_VERSION:
            sealed = contract.seal(meta["chunks"], meta["complete"])
            if meta.get("truncated"):
                contract.mark_truncated(sealed, meta["max_bytes"])
            flow.metadata[contract.KEY] = sealed
            changed += 1
    if changed:
        with path.open("wb") as f:
            writer = io.FlowWriter(f)
            for flow in flows:
                writer.add(flow)
    return changed


def main(out: Path = HERE) -> None:
    for dialect in DIALECTS:
        print(record(dialect, out))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--upgrade"]:
        for name in sys.argv[2:]:
            print(f"{name}: {upgrade(Path(name))} flow(s) upgraded to version 2")
    else:
        main()
