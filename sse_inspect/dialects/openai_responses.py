"""OpenAI's Responses API (``POST /v1/responses`` with ``"stream": true``), also Azure's.

Every event is named (``event: response.output_text.delta``) and its JSON data repeats the
name in ``type`` beside a ``sequence_number``. Documented at
https://platform.openai.com/docs/api-reference/responses-streaming; the shape, briefly:

- ``response.created`` / ``response.in_progress``: the response object, no output yet;
- per output item (``output_index``, ``item_id``): ``response.output_item.added`` (a
  ``message``, ``reasoning`` or ``function_call`` item, the call's ``name`` on it), then its
  content as ``*.delta`` events (``output_text``, ``refusal``, ``reasoning_summary_text``,
  ``reasoning_text``, ``function_call_arguments``), each part closed by a ``*.done`` event
  repeating the whole text, and ``response.output_item.done`` repeating the whole item;
- a terminal ``response.completed`` / ``incomplete`` / ``failed`` (``response.done`` in
  look-alike servers) with ``status``, ``usage`` and ``error``; no ``[DONE]`` (accepted too);
- ``error`` events, flat (``{"type":"error","message":...}``) or nested (``{"error":{...}}``).

Only ``*.delta`` events are output. A ``*.done`` event is checked against what was streamed
(a mismatch is noted) and becomes output only when nothing of its part was streamed at all.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..sse import Event
from ._json import as_int, dicts, parse
from ._prompt import content_text, conversation, role
from .base import REASONING, REFUSAL, TEXT, TOOL, Delta, Draft, Message, Reading, read_all

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "openai-responses"
REQUEST_HEADERS: frozenset[str] = frozenset()

# ``/v1/responses``, Azure's ``/openai/v1/responses`` and ``/openai/responses``, and a
# background response streamed again (``GET /v1/responses/resp_...?stream=true``).
_URL_PATH = re.compile(r"/responses(?:/resp_[^/]+)?/?$")

# A content event's type -> the kind of output its ``delta`` field carries.
_DELTA_KINDS: dict[str, str] = {
    "response.output_text.delta": TEXT,
    "response.refusal.delta": REFUSAL,
    "response.reasoning_summary_text.delta": REASONING,
    "response.reasoning_text.delta": REASONING,
    "response.function_call_arguments.delta": TOOL,
    "response.custom_tool_call_input.delta": TOOL,
    "response.mcp_call_arguments.delta": TOOL,
}
# The ``*.done`` event closing each of those parts -> its field holding the whole text.
_DONE_FIELDS: dict[str, str] = {
    "response.output_text.done": "text",
    "response.refusal.done": "refusal",
    "response.reasoning_summary_text.done": "text",
    "response.reasoning_text.done": "text",
    "response.function_call_arguments.done": "arguments",
    "response.custom_tool_call_input.done": "input",
    "response.mcp_call_arguments.done": "arguments",
}
# The field telling parts of one item apart, per event family (tool calls have one part).
_SUB_INDEX: dict[str, str] = {
    "response.output_text": "content_index",
    "response.refusal": "content_index",
    "response.reasoning_summary_text": "summary_index",
    "response.reasoning_text": "content_index",
}
# Tool-call item types -> (the family of their argument events, the item's arguments field).
_TOOL_ITEMS: dict[str, tuple[str, str]] = {
    "function_call": ("response.function_call_arguments", "arguments"),
    "custom_tool_call": ("response.custom_tool_call_input", "input"),
    "mcp_call": ("response.mcp_call_arguments", "arguments"),
}
_TERMINAL = frozenset(
    {"response.completed", "response.incomplete", "response.failed", "response.done"}
)
_SUMMARY = "response.reasoning_summary_text"
_WHAT = {TEXT: "text", REFUSAL: "refusal", REASONING: "reasoning", TOOL: "tool arguments"}
_MAX_GAP_NOTES = 3

_Key = tuple[str, str, int]  # (event family, item, part within the item)


@dataclass(slots=True)
class _Part:
    """One streamed part: a message's text, a summary part, a call's arguments."""

    number: int  # ``Delta.part``: the tool-call index or the running reasoning part
    fragments: list[str] = field(default_factory=list)
    named: bool = False  # a delta has carried the tool call's name


def url_matches(url: str) -> bool:
    path = url.split("#", 1)[0].split("?", 1)[0]
    return _URL_PATH.search(path) is not None


def shape_matches(events: Sequence[Event]) -> bool:
    for e in events[:20]:
        if e.event.startswith("response."):
            return True
        if '"response.' in e.data or '"sequence_number"' in e.data:
            obj = parse(e.data)
            if isinstance(obj, dict):
                typ = obj.get("type")
                if isinstance(typ, str) and (
                    typ.startswith("response.") or (typ == "error" and "sequence_number" in obj)
                ):
                    return True
    return False


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def read(events: Iterable[Event]) -> Reading:
    return read_all(_Reader(), events)


def prompt(request_body: bytes) -> list[Message]:
    """``instructions`` as a system message, then ``input``: a string, or items with
    ``role`` and ``content``."""
    return conversation(request_body, _messages)


def _messages(body: dict[str, Any]) -> Iterator[Message]:
    yield "system", content_text(body.get("instructions"))
    given = body.get("input")
    if isinstance(given, str):
        yield "user", given
        return
    for item in dicts(given):
        if "role" in item:
            yield role(item.get("role")), content_text(item.get("content"))


class _Reader:
    """The state of one pass over a stream's events."""

    def __init__(self) -> None:
        self.reading = Draft()
        self.parts: dict[_Key, _Part] = {}
        self.numbers = {REASONING: 0, TOOL: 0}  # the next part number per kind
        self.items: dict[str, dict[str, Any]] = {}  # item key -> the item as last announced
        self.ids: dict[int, str] = {}  # output_index -> item id
        self.skipped = 0
        self.last_seq: int | None = None
        self.gaps = 0

    @property
    def deltas(self) -> list[Delta]:
        return self.reading.deltas

    def event(self, index: int, e: Event) -> None:
        data = e.data
        if data.strip() == "[DONE]":
            self.reading.ended = True
            return
        obj = parse(data)
        if not isinstance(obj, dict):
            if e.event == "error" and data.strip():
                self._error(data.strip()[:500], None)
            elif data.strip():
                self.skipped += 1
            return
        typ = obj.get("type")
        if not isinstance(typ, str):
            typ = e.event
        self._sequence(obj.get("sequence_number"))
        kind = _DELTA_KINDS.get(typ)
        if kind is not None:
            self._delta(index, e.t, typ, kind, obj)
        elif typ in _DONE_FIELDS:
            self._done(index, e.t, typ, obj)
        elif typ in ("response.output_item.added", "response.output_item.done"):
            self._item(index, e.t, obj, typ.endswith(".done"))
        elif typ in _TERMINAL:
            self._terminal(typ, obj)
        elif typ == "error" or (typ == "message" and obj.get("error")):
            self._error_event(obj, data)
        else:
            response = obj.get("response")  # created, in_progress, queued: just facts
            if isinstance(response, dict):
                self._facts(response)

    def finish(self) -> Reading:
        r = self.reading
        if self.gaps > _MAX_GAP_NOTES:
            r.notes.append(f"... {self.gaps - _MAX_GAP_NOTES} more sequence_number jumps")
        if self.gaps:
            r.extra["sequence_gaps"] = self.gaps
        if self.skipped:
            r.notes.append(f"{self.skipped} event(s) without a JSON object as data skipped")
        summaries = ["".join(p.fragments) for k, p in self.parts.items() if k[0] == _SUMMARY]
        if summaries:
            r.extra["reasoning_parts"] = summaries
        return r.freeze()

    # -- content -------------------------------------------------------------------------

    def _delta(self, index: int, t: float, typ: str, kind: str, obj: dict[str, Any]) -> None:
        text = obj.get("delta")
        if isinstance(text, str):
            key = self._key(typ.rpartition(".")[0], obj)
            self._emit(index, t, key, kind, text)

    def _done(self, index: int, t: float, typ: str, obj: dict[str, Any]) -> None:
        whole = obj.get(_DONE_FIELDS[typ])
        if not isinstance(whole, str):
            return
        family = typ.rpartition(".")[0]
        self._check(index, t, typ, self._key(family, obj), _DELTA_KINDS[family + ".delta"], whole)

    def _item(self, index: int, t: float, obj: dict[str, Any], done: bool) -> None:
        item = obj.get("item")
        if not isinstance(item, dict):
            return
        item_id = item.get("id")
        output_index = as_int(obj.get("output_index"))
        if isinstance(item_id, str) and item_id:
            if output_index is not None:
                self.ids[output_index] = item_id
            key = item_id
        else:
            key = "?" if output_index is None else f"#{output_index}"
        self.items[key] = item
        item_type = item.get("type")
        tool = _TOOL_ITEMS.get(item_type) if isinstance(item_type, str) else None
        if not done or tool is None:
            return
        # A call whose arguments were never streamed, or streamed before its name was known.
        family, arguments = tool
        part = self.parts.get((family, key, 0))
        whole = item.get(arguments)
        if part is None and isinstance(whole, str):
            self._check(index, t, "response.output_item.done", (family, key, 0), TOOL, whole)
        elif part is not None and not part.named and self._name(key):
            self._emit(index, t, (family, key, 0), TOOL, "", final=True)

    def _check(self, index: int, t: float, typ: str, key: _Key, kind: str, whole: str) -> None:
        """Compare a part's whole text from a ``*.done`` event with what was streamed."""
        part = self.parts.get(key)
        streamed = "".join(part.fragments) if part else ""
        if streamed == whole and (part is not None or kind != TOOL):
            return
        what = _WHAT[kind]
        if not streamed:  # nothing streamed: the whole text is the output, arriving now
            self._emit(index, t, key, kind, whole, final=True)
            if whole:
                self._note(f"{typ}: {what} arrived whole, without deltas")
            return
        at = _diverge(streamed, whole)
        self._note(
            f"{typ}: streamed {what} ({len(streamed)} chars) differs from the whole "
            f"({len(whole)} chars) from char {at} on"
        )
        if kind == TEXT:
            self.reading.extra["text_mismatch"] = True

    def _emit(
        self, index: int, t: float, key: _Key, kind: str, text: str, final: bool = False
    ) -> None:
        """Record a fragment; a delta when it has text, or names a call in a ``final`` event."""
        part = self.parts.get(key)
        if part is None:
            number = self.numbers.get(kind)
            if number is not None:
                self.numbers[kind] = number + 1
            part = self.parts[key] = _Part(number or 0)
        part.fragments.append(text)
        name = None
        if kind == TOOL and not part.named and (text or final):
            name = self._name(key[1])
            part.named = name is not None
        if text or name:
            self.reading.deltas.append(Delta(t, index, kind, text, part=part.number, name=name))

    def _key(self, family: str, obj: dict[str, Any]) -> _Key:
        item_id = obj.get("item_id")
        if not isinstance(item_id, str) or not item_id:
            output_index = as_int(obj.get("output_index"))
            if output_index is None:
                item_id = "?"
            else:
                item_id = self.ids.get(output_index, f"#{output_index}")
        sub = as_int(obj.get(_SUB_INDEX.get(family, "")))
        return family, item_id, sub or 0

    def _name(self, item: str) -> str | None:
        name = self.items.get(item, {}).get("name")
        return name if isinstance(name, str) and name else None

    # -- facts ---------------------------------------------------------------------------

    def _terminal(self, typ: str, obj: dict[str, Any]) -> None:
        r = self.reading
        r.ended = True
        response = obj.get("response")
        if not isinstance(response, dict):
            response = {}
        self._facts(response)
        status = response.get("status")
        if not isinstance(status, str) and typ != "response.done":
            status = typ.removeprefix("response.")
        if isinstance(status, str) and status:
            r.finish_reasons[0] = status
        usage = response.get("usage")
        if isinstance(usage, dict):
            r.output_tokens = as_int(usage.get("output_tokens"))
            r.input_tokens = as_int(usage.get("input_tokens"))
            details = usage.get("output_tokens_details")
            if isinstance(details, dict) and as_int(details.get("reasoning_tokens")) is not None:
                r.extra["reasoning_tokens"] = details["reasoning_tokens"]
        incomplete = response.get("incomplete_details")
        if isinstance(incomplete, dict) and isinstance(incomplete.get("reason"), str):
            r.extra["incomplete_reason"] = incomplete["reason"]
            self._note(f"response incomplete: {incomplete['reason']}")
        error = response.get("error")
        if isinstance(error, dict) and error:
            self._error_event({"error": error}, json.dumps(error))

    def _facts(self, response: dict[str, Any]) -> None:
        model = response.get("model")
        if isinstance(model, str) and model:
            self.reading.model = model
        response_id = response.get("id")
        if isinstance(response_id, str) and response_id:
            self.reading.extra["response_id"] = response_id

    def _error_event(self, obj: dict[str, Any], data: str) -> None:
        error = obj.get("error")
        source = error if isinstance(error, dict) else obj
        message, code = source.get("message"), source.get("code")
        if not isinstance(message, str) or not message:
            if isinstance(error, str) and error:
                message = error
            elif isinstance(code, str) and code:
                message = code
            else:
                message = data[:500]
        self._error(message, code if isinstance(code, str) else None)

    def _error(self, message: str, code: str | None) -> None:
        r = self.reading
        if r.error is None:
            r.error = message
            if code:
                r.extra["error_code"] = code
        elif message != r.error:
            self._note(f"another error: {message}")

    def _sequence(self, value: object) -> None:
        seq = as_int(value)
        if seq is None:
            return
        last, self.last_seq = self.last_seq, seq
        if last is not None and seq != last + 1:
            self.gaps += 1
            if self.gaps <= _MAX_GAP_NOTES:
                self._note(f"sequence_number jumps from {last} to {seq}")

    def _note(self, note: str) -> None:
        if note not in self.reading.notes:
            self.reading.notes.append(note)


def _diverge(a: str, b: str) -> int:
    """Where two strings first differ."""
    pairs = enumerate(zip(a, b, strict=False))
    return next((i for i, (x, y) in pairs if x != y), min(len(a), len(b)))
