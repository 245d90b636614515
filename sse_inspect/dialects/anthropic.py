"""Anthropic Messages streaming (``POST /v1/messages`` with ``"stream": true``).

The format is documented at https://docs.anthropic.com/en/docs/build-with-claude/streaming
(event types: https://docs.anthropic.com/en/api/messages-streaming). A stream is
``message_start`` (model, input usage), then content blocks addressed by ``index``:
``content_block_start`` names the block's type (``text``, ``thinking``, ``tool_use``, ...),
``content_block_delta`` events carry its pieces, ``content_block_stop`` closes it; then
``message_delta`` (``stop_reason``, cumulative ``usage.output_tokens``) and ``message_stop``.
``ping`` may come anywhere and ``event: error`` reports an error mid-stream. Every ``data``
is a JSON object whose ``type`` repeats the event name. The same events come through the
Bedrock and Vertex AI proxies of Claude.

What becomes a :class:`~sse_inspect.dialects.base.Delta`: ``text_delta`` (text), ``thinking_delta``
(reasoning, ``part`` = block index) and ``input_json_delta`` (tool-call arguments as
streamed, ``part`` = block index). A tool call's name arrives in its ``content_block_start``,
so that event makes the call's first delta: the name with empty arguments, which also keeps
a call without arguments in the answer. ``signature_delta`` and ``citations_delta`` are
metadata of a block, not output.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..sse import Event
from ._json import as_int, as_str, dicts, json_object
from ._prompt import content_text, conversation, role
from .base import REASONING, TEXT, TOOL, Delta, Draft, Message, Reading, read_all

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "anthropic"
REQUEST_HEADERS = frozenset({"anthropic-version"})  # every Anthropic SDK request

# The event types only this dialect uses; ``ping`` and ``error`` alone prove nothing.
_TYPES = frozenset(
    {
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    }
)
# Blocks whose input streams as input_json_delta: the client's tools and the server's own
# (web search, code execution, MCP).
_TOOL_BLOCKS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
# Deltas that describe a block rather than add to the answer.
_NOT_CONTENT = frozenset({"signature_delta", "citations_delta"})


def url_matches(url: str) -> bool:
    """``…/v1/messages``, ``api.anthropic.com``, or a proxy URL that names Anthropic."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.rstrip("/")
    return (
        path.endswith("/v1/messages")
        or host == "api.anthropic.com"
        or "anthropic" in host
        or "anthropic" in path.lower()
    )


def shape_matches(events: Sequence[Event]) -> bool:
    """Some event is a JSON object whose ``type`` is one of the Messages stream's own."""
    return any(_type(json_object(e.data), e.event) in _TYPES for e in events)


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def read(events: Iterable[Event]) -> Reading:
    return read_all(_Reader(), events)


def prompt(request_body: bytes) -> list[Message]:
    """``system`` (a string or blocks), then ``messages[].content`` (a string or blocks)."""
    return conversation(request_body, _messages)


def _messages(body: dict[str, Any]) -> Iterator[Message]:
    yield "system", content_text(body.get("system"))
    for m in dicts(body.get("messages")):
        yield role(m.get("role")), content_text(m.get("content"))


class _Reader:
    """The state of one stream: the reading so far and which blocks have started."""

    def __init__(self) -> None:
        self.r = Draft()
        self.started: set[int] = set()
        self.skipped: dict[str, int] = {}  # what was not understood -> how often

    @property
    def deltas(self) -> list[Delta]:
        return self.r.deltas

    def event(self, i: int, e: Event) -> None:
        obj = json_object(e.data)
        if obj is None:
            self.skip("data that is not a JSON object")
            return
        kind = _type(obj, e.event)
        if kind == "content_block_delta":
            self.block_delta(i, e, obj)
        elif kind == "content_block_start":
            self.block_start(i, e, obj)
        elif kind == "message_start":
            _message_start(self.r, obj)
        elif kind == "message_delta":
            _message_delta(self.r, obj)
        elif kind == "message_stop":
            self.r.ended = True
        elif kind == "error":
            _error(self.r, obj)
        elif kind not in ("ping", "content_block_stop"):
            self.skip(f"event type {kind!r}")

    def finish(self) -> Reading:
        for what, n in self.skipped.items():
            self.r.notes.append(f"Skipped {n} event{'s' if n > 1 else ''} with {what}.")
        return self.r.freeze()

    def skip(self, what: str) -> None:
        self.skipped[what] = self.skipped.get(what, 0) + 1

    def block_start(self, i: int, e: Event, obj: dict[str, Any]) -> None:
        index = as_int(obj.get("index"))
        block = obj.get("content_block")
        if index is None or not isinstance(block, dict):
            self.skip("a content_block_start without index or block")
            return
        self.started.add(index)
        btype = as_str(block.get("type"))
        deltas = self.r.deltas
        # A block may open with content already in it; the API sends it empty, so this is rare.
        if btype == "text" and as_str(block.get("text")):
            deltas.append(Delta(e.t, i, TEXT, block["text"]))
        elif btype == "thinking" and as_str(block.get("thinking")):
            deltas.append(Delta(e.t, i, REASONING, block["thinking"], part=index))
        elif btype in _TOOL_BLOCKS:
            name = as_str(block.get("name"))
            deltas.append(Delta(e.t, i, TOOL, "", part=index, name=name))
        elif btype == "redacted_thinking":
            self.r.notes.append(f"Block {index} is redacted thinking (encrypted, not shown).")

    def block_delta(self, i: int, e: Event, obj: dict[str, Any]) -> None:
        index = as_int(obj.get("index"))
        delta = obj.get("delta")
        if index is None or not isinstance(delta, dict):
            self.skip("a content_block_delta without index or delta")
            return
        dtype = as_str(delta.get("type"))
        if dtype == "text_delta":
            text = as_str(delta.get("text"))
            if text:
                self.r.deltas.append(Delta(e.t, i, TEXT, text))
        elif dtype == "thinking_delta":
            text = as_str(delta.get("thinking"))
            if text:
                self.r.deltas.append(Delta(e.t, i, REASONING, text, part=index))
        elif dtype == "input_json_delta":
            if index not in self.started:  # its start was lost: a tool call, name unknown
                self.started.add(index)
                self.r.notes.append(f"Tool arguments for block {index}, which never started.")
            text = as_str(delta.get("partial_json"))
            if text:
                self.r.deltas.append(Delta(e.t, i, TOOL, text, part=index))
        elif dtype not in _NOT_CONTENT:
            self.skip(f"delta type {dtype!r}")


def _message_start(r: Draft, obj: dict[str, Any]) -> None:
    message = obj.get("message")
    if not isinstance(message, dict):
        return
    r.model = as_str(message.get("model")) or r.model
    if as_str(message.get("id")):
        r.extra["message_id"] = message["id"]
    usage = message.get("usage")
    if isinstance(usage, dict):
        # Its output_tokens is only the count so far; message_delta gives the real one.
        r.input_tokens = as_int(usage.get("input_tokens"), r.input_tokens)


def _message_delta(r: Draft, obj: dict[str, Any]) -> None:
    delta = obj.get("delta")
    if isinstance(delta, dict):
        if as_str(delta.get("stop_reason")):
            r.finish_reasons[0] = delta["stop_reason"]
        if as_str(delta.get("stop_sequence")):
            r.extra["stop_sequence"] = delta["stop_sequence"]
    usage = obj.get("usage")
    if isinstance(usage, dict):
        r.output_tokens = as_int(usage.get("output_tokens"), r.output_tokens)
        r.input_tokens = as_int(usage.get("input_tokens"), r.input_tokens)


def _error(r: Draft, obj: dict[str, Any]) -> None:
    err = obj.get("error")
    err = err if isinstance(err, dict) else {}
    etype = as_str(err.get("type"))
    r.error = as_str(err.get("message")) or etype or "error event without a message"
    if etype:
        r.extra["error_type"] = etype
    r.notes.append(f"The stream reported an error: {etype or 'error'}: {r.error}")


def _type(obj: dict[str, Any] | None, event: str) -> str:
    """The data's ``type``; the SSE event name when the data has none."""
    if obj is None:
        return ""
    return as_str(obj.get("type")) or event
