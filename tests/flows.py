"""Build small captures for tests with mitmproxy's own flow objects and writer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mitmproxy import flow, http, io
from mitmproxy.test import tflow

T0 = 1700000000.0


def sse_flow(
    chunks: list[tuple[float, bytes]],
    *,
    url: str = "http://127.0.0.1:9/v1/chat/completions",
    headers: list[tuple[bytes, bytes]] | None = None,
    record: bool = True,
    complete: bool = True,
    error: str | None = None,
) -> http.HTTPFlow:
    """An event-stream flow whose body arrived as ``chunks`` ((offset s, bytes)), as the
    capture addon records it (or as plain mitmproxy does, with ``record=False``)."""
    f = tflow.tflow(resp=True)
    f.request = http.Request.make("POST", url, b'{"stream": true}', {"Authorization": "Bearer k"})
    f.request.timestamp_start = T0
    f.request.timestamp_end = T0
    assert f.response is not None
    f.response.headers.clear()
    for k, v in headers or [(b"Content-Type", b"text/event-stream")]:
        f.response.headers.add(k.decode(), v.decode())
    f.response.raw_content = b"".join(c for _, c in chunks)
    f.response.timestamp_start = T0 + (chunks[0][0] if chunks else 0)
    f.response.timestamp_end = T0 + (chunks[-1][0] if chunks else 0)
    if record:
        f.metadata["sse_inspect"] = {
            "version": 1,
            "chunks": [[T0 + t, len(c)] for t, c in chunks],
            "complete": complete,
        }
    if error:
        f.error = flow.Error(error, T0 + 5)
    return f


def json_flow() -> http.HTTPFlow:
    f = tflow.tflow(resp=True)
    assert f.response is not None
    f.response.headers["Content-Type"] = "application/json"
    return f


def write(path: Path, flows: list[http.HTTPFlow]) -> Path:
    with path.open("wb") as fo:
        w = io.FlowWriter(fo)
        for f in flows:
            w.add(f)
    return path


def har(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}), "utf-8")
    return path


def har_entry(text: str, content_type: str = "text/event-stream", **extra: Any) -> dict[str, Any]:
    return {
        "startedDateTime": "2025-01-02T03:04:05.500Z",
        "time": 2000,
        "request": {
            "method": "POST",
            "url": "https://chatgpt.com/backend-api/conversation",
            "httpVersion": "http/2.0",
            "headers": [
                {"name": ":authority", "value": "chatgpt.com"},
                {"name": "a", "value": "1"},
            ],
            "postData": {"mimeType": "application/json", "text": '{"q": "hi"}'},
        },
        "response": {
            "status": 200,
            "httpVersion": "http/2.0",
            "headers": [
                {"name": "content-type", "value": content_type},
                {"name": "content-encoding", "value": "br"},
            ],
            "content": {"mimeType": content_type, "text": text},
        },
        "timings": {
            "blocked": 1,
            "dns": -1,
            "connect": -1,
            "send": 1,
            "wait": 298,
            "receive": 1700,
        },
        **extra,
    }
