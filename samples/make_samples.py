"""Write the sample captures in samples/ (run: .venv/bin/python samples/make_samples.py).

Besides the captured-*.flow ones (record_samples.py), the samples are built here, with no
network: the same bytes and per-chunk timing that the capture addon stores when a stream
ends (Contract 2, version 2, packed by the addon's own contract.seal), put into real
mitmproxy flows with mitmproxy's own writer, plus the HAR and raw forms of a stream.
Everything is deterministic (fixed clock, ids and cadence), so re-running it reproduces
the same analysis; samples/README.md says what each file shows.
"""

from __future__ import annotations

import json
import uuid
import zlib
from datetime import UTC, datetime
from pathlib import Path

from mitmproxy import connection, flow, http, io
from mitmproxy.connection import ConnectionState

from sse_inspect.capture import contract
from sse_inspect.demo.chatsim import anthropic_events as chatsim_anthropic
from sse_inspect.demo.chatsim import cadence, openai_chat_events, tokens

HERE = Path(__file__).resolve().parent
T0 = 1764000000.0  # 2025-11-24 16:00:00 UTC: the request start of every sample
# The samples' own, shorter answer (the demo streams chatsim.ANSWER).
ANSWER = (
    "Server-Sent Events keep one HTTP response open and push small text frames down it. "
    "Each frame is a few lines such as data: followed by a blank line, so a client can show "
    "the answer token by token while the model is still writing it — the typewriter effect "
    "that chat apps rely on. A proxy that buffers the body breaks exactly that."
)


def openai_events() -> list[bytes]:
    return openai_chat_events(tokens(ANSWER), created=int(T0))


def anthropic_events() -> list[bytes]:
    """A Messages API stream, with a ``: ping`` comment as some proxies add."""
    events = chatsim_anthropic(tokens("Hello! Streams are just text, one event at a time."))
    return [events[0], b": ping\n\n", *events[1:]]


def make_flow(
    name: str,
    url: str,
    request_body: dict[str, object],
    events: list[bytes],
    *,
    record_chunks: bool = True,
    gzip: bool = False,
    cut_after: int | None = None,
) -> http.HTTPFlow:
    """A flow as the capture addon would save it (or plain mitmproxy, without ``record_chunks``)."""
    offsets = cadence(len(events), seed=len(name))
    if cut_after is not None:
        events, offsets = events[:cut_after], offsets[:cut_after]
    body_chunks = _gzip_stream(events) if gzip else events
    ids = uuid.uuid5(uuid.NAMESPACE_URL, f"sse-inspect-sample:{name}")
    client = connection.Client(
        id=str(uuid.uuid5(ids, "client")),
        peername=("127.0.0.1", 50123),
        sockname=("127.0.0.1", 8080),
        timestamp_start=T0 - 0.05,
        state=ConnectionState.CLOSED,
    )
    server = connection.Server(
        id=str(uuid.uuid5(ids, "server")),
        address=("127.0.0.1", 8000),
        peername=("127.0.0.1", 8000),
        timestamp_start=T0 - 0.04,
        timestamp_tcp_setup=T0 - 0.039,
        state=ConnectionState.CLOSED,
    )
    f = http.HTTPFlow(client, server)
    f.id = str(ids)
    f.timestamp_created = T0
    headers = [
        (b"Host", b"127.0.0.1:8000"),
        (b"Authorization", b"Bearer sk-sample-NOT-A-REAL-KEY-0123456789"),
        (b"Content-Type", b"application/json"),
        (b"Accept", b"text/event-stream"),
    ]
    f.request = http.Request.make("POST", url, json.dumps(request_body).encode(), headers)
    f.request.timestamp_start = T0
    f.request.timestamp_end = T0 + 0.002
    response_headers = [(b"Content-Type", b"text/event-stream; charset=utf-8")]
    if gzip:
        response_headers.append((b"Content-Encoding", b"gzip"))
    response_headers += [(b"Cache-Control", b"no-cache"), (b"Transfer-Encoding", b"chunked")]
    # Built from the raw parts, as a stream arrives: Response.make would encode the content
    # through mitmproxy's process-wide codec cache and add a Content-Length.
    f.response = http.Response(
        b"HTTP/1.1",
        200,
        b"OK",
        http.Headers(response_headers),
        b"".join(body_chunks),
        None,
        T0,
        T0,
    )
    f.response.timestamp_start = T0 + offsets[0] - 0.02
    f.response.timestamp_end = T0 + offsets[-1] + 0.001
    if record_chunks:
        chunks = [[T0 + o, len(c)] for o, c in zip(offsets, body_chunks, strict=True)]
        f.metadata[contract.KEY] = contract.seal(chunks, complete=cut_after is None)
    if cut_after is not None:
        f.error = flow.Error("Client disconnected.", T0 + offsets[-1] + 0.002)
    return f


def _gzip_stream(events: list[bytes]) -> list[bytes]:
    """gzip as a streaming server sends it: a sync flush after every event."""
    z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    out = [z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH) for e in events]
    out[-1] += z.flush()
    return out


def chat_request(model: str = "gpt-4o-mini") -> dict[str, object]:
    return {
        "model": model,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "Why do chat apps stream with SSE?"}],
    }


def har_of(f: http.HTTPFlow) -> dict[str, object]:
    """The flow as Chrome's DevTools exports a fetch() stream: the body as text, no events."""
    assert f.response is not None
    started = datetime.fromtimestamp(f.request.timestamp_start, UTC)
    total = (f.response.timestamp_end or 0) - f.request.timestamp_start
    wait = (f.response.timestamp_start or 0) - f.request.timestamp_start
    text = (f.response.get_content() or b"").decode()
    return {
        "startedDateTime": started.isoformat().replace("+00:00", "Z"),
        "time": round(total * 1e3, 3),
        "request": {
            "method": f.request.method,
            "url": f.request.url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in f.request.headers.items(multi=True)],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": len(f.request.raw_content or b""),
            "postData": {"mimeType": "application/json", "text": f.request.get_text()},
        },
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in f.response.headers.items(multi=True)],
            "cookies": [],
            "content": {"size": len(text), "mimeType": "text/event-stream", "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": -1,
        },
        "cache": {},
        "timings": {
            "blocked": -1,
            "dns": -1,
            "connect": -1,
            "send": 0.5,
            "wait": round(wait * 1e3, 3),
            "receive": round((total - wait) * 1e3, 3),
        },
        "_resourceType": "fetch",
    }


def models_flow() -> http.HTTPFlow:
    """An ordinary JSON exchange, to show that only event streams are reported."""
    f = make_flow("models", "http://127.0.0.1:8000/v1/models", {}, [b"x"], record_chunks=False)
    f.request.method = "GET"
    f.request.content = b""
    assert f.response is not None
    f.response.headers["Content-Type"] = "application/json"
    f.response.content = b'{"object":"list","data":[{"id":"gpt-4o-mini","object":"model"}]}'
    return f


def write_flows(path: Path, flows: list[http.HTTPFlow]) -> None:
    with open(path, "wb") as fo:
        writer = io.FlowWriter(fo)
        for f in flows:
            writer.add(f)


def main(out: Path = HERE) -> None:
    chat_url = "http://127.0.0.1:8000/v1/chat/completions"
    chat = make_flow("openai-chat", chat_url, chat_request(), openai_events())
    write_flows(out / "openai-chat.flow", [chat])
    write_flows(
        out / "openai-chat-gzip.flow",
        [make_flow("openai-chat-gzip", chat_url, chat_request(), openai_events(), gzip=True)],
    )
    write_flows(
        out / "plain-mitmproxy.flow",
        [make_flow("plain", chat_url, chat_request(), openai_events(), record_chunks=False)],
    )
    write_flows(
        out / "client-abort.flow",
        [make_flow("client-abort", chat_url, chat_request(), openai_events(), cut_after=25)],
    )
    messages = make_flow(
        "anthropic",
        "http://127.0.0.1:8000/v1/messages",
        {
            "model": "claude-sonnet-4-5",
            "max_tokens": 256,
            "stream": True,
            "messages": [{"role": "user", "content": "Say hello."}],
        },
        anthropic_events(),
    )
    write_flows(out / "mixed.flow", [models_flow(), chat, messages])
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "sse-inspect samples", "version": "1"},
            "pages": [],
            "entries": [har_of(chat)],
        }
    }
    (out / "chrome-export.har").write_text(json.dumps(har, indent=1, ensure_ascii=False) + "\n")
    (out / "openai-chat.sse").write_bytes(b"".join(openai_events()))


if __name__ == "__main__":
    main()
