"""Google Gemini streaming: ``…:streamGenerateContent?alt=sse``.

Served by the Gemini API (``generativelanguage.googleapis.com``) and by Vertex AI
(``aiplatform.googleapis.com``). Each event is one ``data:`` line holding a whole
``GenerateContentResponse`` (https://ai.google.dev/api/generate-content#v1beta.GenerateContentResponse;
streaming: https://ai.google.dev/api/generate-content#method:-models.streamgeneratecontent),
with CRLF line ends, no event names and no end marker such as ``[DONE]``.

Each chunk's ``candidates[i].content.parts`` carry the new output of candidate ``i`` (its
``index``, else its position): ``text`` parts are the answer, or reasoning when the part
has ``"thought": true`` (thought summaries); a ``functionCall`` part is a whole tool call,
its ``args`` an object, given here as compact JSON with one ``part`` per call in order.
``finishReason`` comes on a candidate's last chunk, which is the only sign that the stream
is over. ``usageMetadata`` is cumulative and may come in every chunk: the last one counts
(``candidatesTokenCount`` excludes ``thoughtsTokenCount``). A blocked prompt is one chunk
with ``promptFeedback.blockReason`` and no candidates; an error mid-stream is a chunk with
an ``error`` object (``code``, ``message``, ``status``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..sse import Event
from ._json import as_dict, as_int, as_str, dicts, json_object
from ._prompt import content_text, conversation
from .base import REASONING, TEXT, TOOL, Delta, Draft, Message, Reading, read_all

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "gemini"
REQUEST_HEADERS = frozenset({"x-goog-api-key", "x-goog-api-client"})  # Google's GenAI SDKs

_KEYS = ("candidates", "promptFeedback", "usageMetadata")  # a chunk has at least one


def url_matches(url: str) -> bool:
    """A ``streamGenerateContent`` call, or any Gemini API URL but its OpenAI-compatible one."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if "anthropic" in parts.path.lower():  # Claude on Vertex AI
        return False
    return "streamGenerateContent" in parts.path or (
        host == "generativelanguage.googleapis.com" and "/openai/" not in parts.path
    )


def shape_matches(events: Sequence[Event]) -> bool:
    """Some event is a JSON object with ``candidates``, ``promptFeedback`` or ``usageMetadata``."""
    for e in events:
        if any(key in e.data for key in _KEYS):  # cheap test before parsing
            obj = json_object(e.data)
            if obj is not None and any(isinstance(obj.get(key), dict | list) for key in _KEYS):
                return True
    return False


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def read(events: Iterable[Event]) -> Reading:
    return read_all(_Reader(), events)


def prompt(request_body: bytes) -> list[Message]:
    """``systemInstruction``, then ``contents[].role`` with ``parts[].text``."""
    return conversation(request_body, _messages)


def _messages(body: dict[str, Any]) -> Iterator[Message]:
    system = body.get("systemInstruction", body.get("system_instruction"))
    yield "system", content_text(as_dict(system).get("parts"))
    for c in dicts(body.get("contents")):
        yield as_str(c.get("role")) or "user", content_text(c.get("parts"))


class _Reader:
    """The state of one pass: the reading, function calls per choice, what was skipped."""

    def __init__(self) -> None:
        self.r = Draft()
        self.calls: dict[int, int] = {}  # choice -> function calls so far
        self.odd: dict[str, int] = {}  # what was skipped -> how often

    @property
    def deltas(self) -> list[Delta]:
        return self.r.deltas

    def event(self, index: int, e: Event) -> None:
        r = self.r
        obj = json_object(e.data)
        if obj is None:
            _count(self.odd, "events whose data is not a JSON object")
            return
        r.model = as_str(obj.get("modelVersion")) or r.model
        if isinstance(obj.get("error"), dict):
            _error(r, obj["error"])
        if isinstance(obj.get("promptFeedback"), dict):
            _prompt_feedback(r, obj["promptFeedback"])
        if isinstance(obj.get("usageMetadata"), dict):
            _usage(r, obj["usageMetadata"])
        candidates = obj.get("candidates")
        if isinstance(candidates, list):
            for position, cand in enumerate(candidates):
                if isinstance(cand, dict):
                    _candidate(r, self.calls, self.odd, cand, position, e, index)

    def finish(self) -> Reading:
        for what, n in self.odd.items():
            self.r.notes.append(f"Skipped {what}: {n}.")
        return self.r.freeze()


def _candidate(
    r: Draft,
    calls: dict[int, int],
    odd: dict[str, int],
    cand: dict[str, Any],
    position: int,
    e: Event,
    i: int,
) -> None:
    index = as_int(cand.get("index"))
    choice = position if index is None else index
    content = cand.get("content")
    parts = content.get("parts") if isinstance(content, dict) else None
    for part in parts if isinstance(parts, list) else ():
        if not isinstance(part, dict):
            continue
        text = part.get("text")
        call = part.get("functionCall")
        if isinstance(text, str):
            if text:  # an empty text part (often one carrying a thoughtSignature) is nothing
                kind = REASONING if part.get("thought") is True else TEXT
                r.deltas.append(Delta(e.t, i, kind, text, choice=choice))
        elif isinstance(call, dict):
            n = calls.get(choice, 0)
            calls[choice] = n + 1
            args = call.get("args", {})
            arguments = json.dumps(args, separators=(",", ":"), ensure_ascii=False)
            name = as_str(call.get("name"))
            r.deltas.append(Delta(e.t, i, TOOL, arguments, choice=choice, part=n, name=name))
        else:
            kinds = sorted(k for k in part if k not in ("thought", "thoughtSignature"))
            if kinds:  # executableCode, inlineData, ...: output, but not text
                _count(odd, f"parts with {'/'.join(kinds)}")
    reason = as_str(cand.get("finishReason"))
    if reason:
        r.finish_reasons[choice] = reason
        r.ended = True
        message = as_str(cand.get("finishMessage"))
        if message:
            r.notes.append(f"Candidate {choice} finished ({reason}): {message}")


def _prompt_feedback(r: Draft, feedback: dict[str, Any]) -> None:
    reason = as_str(feedback.get("blockReason"))
    if reason:
        r.extra["prompt_block_reason"] = reason
        # The whole answer: Gemini sends nothing after a blocked prompt.
        r.ended = True
        message = as_str(feedback.get("blockReasonMessage"))
        r.notes.append(f"The prompt was blocked ({reason})" + (f": {message}" if message else "."))


def _usage(r: Draft, usage: dict[str, Any]) -> None:
    output = as_int(usage.get("candidatesTokenCount"))
    r.output_tokens = r.output_tokens if output is None else output
    prompt = as_int(usage.get("promptTokenCount"))
    r.input_tokens = r.input_tokens if prompt is None else prompt
    thoughts = as_int(usage.get("thoughtsTokenCount"))
    if thoughts is not None:
        r.extra["thoughts_tokens"] = thoughts


def _error(r: Draft, error: dict[str, Any]) -> None:
    status = as_str(error.get("status"))
    code = as_int(error.get("code"))
    r.error = as_str(error.get("message")) or status or "error without a message"
    if status:
        r.extra["error_status"] = status
    if code is not None:
        r.extra["error_code"] = code
    label = " ".join(x for x in (str(code) if code is not None else "", status) if x)
    r.notes.append(f"The stream reported an error{' ' + label if label else ''}: {r.error}")


def _count(odd: dict[str, int], what: str) -> None:
    odd[what] = odd.get(what, 0) + 1
