"""OpenAI Chat Completions streaming: ``data:`` JSON chunks, ended by ``data: [DONE]``.

The commonest dialect of all. Spoken by OpenAI's ``/v1/chat/completions`` and Azure
OpenAI's ``/openai/deployments/<name>/chat/completions``, and by almost everything that
calls itself "OpenAI-compatible": vLLM, llama.cpp, Ollama's ``/v1`` API, LiteLLM,
OpenRouter, Mistral, DeepSeek, Groq, Together, Gemini's ``/openai`` endpoint, ...

Each chunk is ``{"object": "chat.completion.chunk", "choices": [{"index", "delta",
"finish_reason"}], ...}``. ``delta`` carries ``content`` (the answer), ``refusal``,
``reasoning_content`` (DeepSeek) or ``reasoning`` (vLLM, OpenRouter, Ollama), and
``tool_calls`` fragments joined by their ``index`` (the name on the first fragment, the
arguments concatenated). Choices of an ``n`` > 1 request interleave, told apart by
``choices[].index``. Token counts come as ``usage`` (OpenAI's ``include_usage`` chunk with
empty ``choices``, Mistral's last content chunk, vLLM's running usage on every chunk) or
llama.cpp's ``timings``. A chunk with ``error`` is an error reported mid-stream.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from ..sse import Event
from ._json import as_dict, as_str, dicts, is_int, loads
from ._prompt import content_text, conversation, role
from .base import REASONING, REFUSAL, TEXT, TOOL, Delta, Draft, Message, Reading, read_all

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "openai-chat"
REQUEST_HEADERS: frozenset[str] = frozenset()  # OpenAI's SDK headers name no API

_PATH = "/chat/completions"
_CHUNK = "chat.completion.chunk"
_DONE = "[DONE]"
_RARE = frozenset({"usage", "timings", "error", "prompt_filter_results"})
"""The keys of a chunk that say more than its choices, model and fingerprint: most lack all."""
_loads = loads
_new = tuple.__new__  # a Delta of all its fields, without the named tuple's Python ``__new__``


def url_matches(url: str) -> bool:
    """Any ``.../chat/completions`` endpoint (OpenAI, Azure deployments, compatible servers)."""
    path = url.partition("?")[0].partition("#")[0].rstrip("/").lower()
    return path.endswith(_PATH)


def shape_matches(events: Sequence[Event]) -> bool:
    """A chunk says ``"object": "chat.completion.chunk"``, or its ``choices`` have a ``delta``.

    Responses events have no ``choices`` and Gemini's have ``candidates``, so neither is
    claimed; a chunk that is only an error or only Azure's prompt filter results decides
    nothing either way.
    """
    for e in events:
        data = e.data
        if '"choices"' not in data and _CHUNK not in data:
            continue  # cheap test before parsing
        try:
            obj = _loads(data)
        except (ValueError, RecursionError):
            continue
        if not isinstance(obj, dict):
            continue
        if obj.get("object") == _CHUNK:
            return True
        choices = obj.get("choices")
        if isinstance(choices, list) and any(
            isinstance(c, dict) and isinstance(c.get("delta"), dict) for c in choices
        ):
            return True
    return False


class _Reader:
    """The state of one pass over the events: the reading, and per-choice tool-call parts."""

    __slots__ = (
        "deltas",
        "filtered",
        "ids",
        "last",
        "named",
        "non_json",
        "predicted_n",
        "prompt_n",
        "reading",
    )

    def __init__(self) -> None:
        self.reading = Draft()
        self.deltas = self.reading.deltas
        self.named: set[tuple[int, int]] = set()  # (choice, part) of tool calls already named
        self.last: dict[int, int] = {}  # choice -> the part of its last tool-call fragment
        self.ids: dict[int, dict[str, int]] = {}  # choice -> tool-call id -> part, when no index
        self.non_json = 0
        self.filtered = False
        self.predicted_n: int | None = None  # llama.cpp timings, used when there is no usage
        self.prompt_n: int | None = None

    def event(self, index: int, e: Event) -> None:
        data = e.data
        if data[:1] == "{":
            try:
                obj = _loads(data)
            except (ValueError, RecursionError):
                self.non_json += _lines(self, data, index, e.t)
                return
            if isinstance(obj, dict):
                self.chunk(obj, index, e.t)
        elif data and data.strip() == _DONE:
            self.reading.ended = True
        elif data:
            self.non_json += 1

    def chunk(self, obj: dict[str, Any], i: int, t: float) -> None:
        """Everything one parsed chunk says."""
        reading = self.reading
        choices = obj.get("choices")
        if isinstance(choices, list):
            for pos, c in enumerate(choices):
                if isinstance(c, dict):
                    self.choice(c, pos, i, t)
        if reading.model is None:
            model = obj.get("model")
            if model and isinstance(model, str):
                reading.model = model
        fingerprint = obj.get("system_fingerprint")
        if fingerprint and isinstance(fingerprint, str):
            reading.extra["system_fingerprint"] = fingerprint
        if not _RARE.isdisjoint(obj) or obj.get("object") == "error":
            self.rest(obj)

    def rest(self, obj: dict[str, Any]) -> None:
        """What a chunk says besides its choices, model and fingerprint: usage, timings,
        an error, Azure's prompt filter."""
        reading = self.reading
        usage = obj.get("usage")
        if usage and isinstance(usage, dict):
            out, inp = usage.get("completion_tokens"), usage.get("prompt_tokens")
            if is_int(out):
                reading.output_tokens = out
            if is_int(inp):
                reading.input_tokens = inp
        timings = obj.get("timings")
        if timings and isinstance(timings, dict):
            out, inp = timings.get("predicted_n"), timings.get("prompt_n")
            if is_int(out):
                self.predicted_n = out
            if is_int(inp):
                self.prompt_n = inp
        error = obj.get("error")
        if error:
            self.error(error)
        elif obj.get("object") == "error":  # vLLM's bare ErrorResponse
            self.error(obj)
        if "prompt_filter_results" in obj and _filtered(obj["prompt_filter_results"]):
            self.filtered = True

    def choice(self, c: dict[str, Any], pos: int, i: int, t: float) -> None:
        """One ``choices[]`` item: its delta's pieces, its finish reason."""
        index = c.get("index")
        n = index if type(index) is int else pos  # is_int: a parsed int is exactly an int
        delta = c.get("delta")
        if delta and isinstance(delta, dict):
            content = delta.get("content")
            size = len(delta)
            if (size == 1 or (size == 2 and "role" in delta)) and isinstance(content, str):
                if content:  # the commonest chunk: answer text alone (the role at most)
                    self.deltas.append(_new(Delta, (t, i, TEXT, content, n, 0, None, False)))
            else:
                self.pieces(delta, content, n, i, t)
        finish = c.get("finish_reason")
        if finish and isinstance(finish, str):
            self.reading.finish_reasons[n] = finish
        if "content_filter_results" in c and _filtered(c["content_filter_results"]):
            self.filtered = True

    def pieces(self, delta: dict[str, Any], content: object, n: int, i: int, t: float) -> None:
        """What a choice's ``delta`` carries, in this order: reasoning, answer text, refusal,
        tool-call fragments (``content`` is its ``content``)."""
        deltas = self.deltas
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if reasoning and isinstance(reasoning, str):
            deltas.append(Delta(t, i, REASONING, reasoning, n))
        if content:
            if isinstance(content, str):
                deltas.append(Delta(t, i, TEXT, content, n))
            elif isinstance(content, list):
                self.content_parts(content, n, i, t)
        refusal = delta.get("refusal")
        if refusal and isinstance(refusal, str):
            deltas.append(Delta(t, i, REFUSAL, refusal, n))
        calls = delta.get("tool_calls")
        if calls and isinstance(calls, list):
            for call in calls:
                if isinstance(call, dict):
                    self.tool(call.get("function"), n, self.part(call, n), i, t)
        legacy = delta.get("function_call")  # the deprecated ``functions`` API
        if legacy:
            self.tool(legacy, n, 0, i, t)

    def content_parts(self, parts: list[Any], n: int, i: int, t: float) -> None:
        """Mistral's list content: ``text`` chunks, and ``thinking`` chunks (Magistral)."""
        for p in parts:
            if not isinstance(p, dict):
                continue
            kind = p.get("type")
            if kind == "text":
                text = p.get("text")
                if text and isinstance(text, str):
                    self.deltas.append(Delta(t, i, TEXT, text, n))
            elif kind == "thinking" and isinstance(p.get("thinking"), list):
                for q in p["thinking"]:
                    text = q.get("text") if isinstance(q, dict) else None
                    if text and isinstance(text, str):
                        self.deltas.append(Delta(t, i, REASONING, text, n))

    def part(self, call: dict[str, Any], n: int) -> int:
        """The tool call's ``index``; without one (some compatible servers send whole calls),
        a new part per new ``id``, else the choice's last part."""
        index = call.get("index")
        if is_int(index):
            part = index
        else:
            ids = self.ids.setdefault(n, {})
            call_id = call.get("id")
            if call_id and isinstance(call_id, str):
                part = ids.get(call_id, -1)
                if part < 0:
                    part = ids[call_id] = max([self.last.get(n, -1), *ids.values()]) + 1
            else:
                part = self.last.get(n, 0)
        self.last[n] = part
        return part

    def tool(self, fn: object, n: int, part: int, i: int, t: float) -> None:
        """One tool-call fragment: the name the first time it is given, the arguments."""
        if not isinstance(fn, dict):
            return
        name = fn.get("name")
        if not (name and isinstance(name, str)) or (n, part) in self.named:
            name = None  # no name, or one repeated on a later fragment (some servers do)
        else:
            self.named.add((n, part))
        args = fn.get("arguments")
        if args is not None and not isinstance(args, str):
            args = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
        if args or name:
            self.deltas.append(Delta(t, i, TOOL, args or "", n, part, name))

    def error(self, error: object) -> None:
        """A mid-stream error: the first one's message is the stream's error."""
        if self.reading.error is not None:
            return
        message: object = error
        if isinstance(error, dict):
            message = error.get("message") or error.get("type") or error.get("code") or error
            if isinstance(message, dict):
                message = json.dumps(message, ensure_ascii=False)
        self.reading.error = str(message)

    def finish(self) -> Reading:
        reading = self.reading
        if reading.output_tokens is None and self.predicted_n is not None:
            reading.output_tokens = self.predicted_n
        if reading.input_tokens is None and self.prompt_n is not None:
            reading.input_tokens = self.prompt_n
        if self.non_json:
            n = self.non_json
            what = "1 event was" if n == 1 else f"{n} events were"
            reading.notes.append(f"{what} not a JSON chunk nor [DONE], and skipped.")
        if self.filtered:
            reading.notes.append("Azure's content filter flagged the prompt or the answer.")
        for n, reason in reading.finish_reasons.items():
            if reason == "content_filter":
                reading.notes.append(f"Choice {n} was cut short by the content filter.")
        return reading.freeze()


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def read(events: Iterable[Event]) -> Reading:
    return read_all(_Reader(), events)


def prompt(request_body: bytes) -> list[Message]:
    """``messages[].role/content`` (a string or parts with ``text``); an assistant turn's
    tool calls as ``[tool call: name]``."""
    return conversation(request_body, _messages)


def _messages(body: dict[str, Any]) -> Iterator[Message]:
    for m in dicts(body.get("messages")):
        text = content_text(m.get("content"))
        calls = [as_str(as_dict(c.get("function")).get("name")) for c in dicts(m.get("tool_calls"))]
        if calls:
            text = "\n\n".join([text, *(f"[tool call: {name}]" for name in calls)]).strip()
        yield role(m.get("role")), text


def _lines(r: _Reader, data: str, i: int, t: float) -> int:
    """A broken server's several chunks in one event (``data:`` lines without blank lines
    between): read each line that is a chunk. Returns 1 if none was, else 0."""
    found = 0
    for line in data.split("\n"):
        try:
            obj = _loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict):
            r.chunk(obj, i, t)
            found = 1
    return 1 - found


def _filtered(results: object) -> bool:
    """Whether Azure content filter results (a dict, or a list of per-prompt dicts) say
    ``"filtered": true`` for any category."""
    if isinstance(results, list):
        inner = (r.get("content_filter_results") for r in results if isinstance(r, dict))
        return any(map(_filtered, inner))
    if isinstance(results, dict):
        return any(isinstance(v, dict) and v.get("filtered") is True for v in results.values())
    return False
