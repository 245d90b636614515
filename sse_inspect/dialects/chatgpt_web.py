"""ChatGPT's web app: ``/backend-api/conversation`` (and ``/f/``, ``/backend-anon/``) streams.

The browser client of chatgpt.com streams a conversation *document*, ``{"message": {...},
"conversation_id": ..., "error": ...}``, in one of two encodings:

- **cumulative** (the old one): every event carries the whole document so far, the
  message's text in ``message.content.parts[0]``. The new text is the suffix beyond what
  was seen; a text that does not extend the previous one is a rewrite (``replace``).
- **delta v1** (``event: delta_encoding`` / ``data: "v1"``, then ``event: delta``): each
  event is an operation ``{"p": path, "o": op, "v": value}`` on the document, ``p`` a JSON
  pointer. Ops: ``add``, ``replace``, ``append`` (strings concatenate, lists extend,
  objects merge), ``truncate`` (to a length), ``remove`` and ``patch`` (a list of ops,
  applied in order, their paths relative to the outer one). An event without ``p`` or
  ``o`` reuses the previous event's (a bare ``{"v": " more"}`` continues an append). An
  ``add`` at ``""`` of a whole ``{"message": ...}`` starts a new message; so does a bare
  ``{"v": {"message": ...}}`` whatever the previous op was.

Typed events (``{"type": "message_stream_complete"}``, ``title_generation``,
``conversation_detail_metadata``, ...) and ``:`` comments carry no content;
``data: [DONE]`` or ``message_stream_complete`` ends the stream.

What counts, and the rule for the answer:

- Only messages from ``author.role == "assistant"`` addressed to everyone
  (``recipient == "all"``, or no recipient) count. System, user and tool messages, and
  assistant messages addressed to a tool (``python``, ``browser``, ...), are skipped.
- **The answer text is the text of the last counting message that has any**: a tool or
  browsing flow may stream several assistant messages, and ChatGPT's own answer is the
  last one. So the first text of a later message is a ``replace`` delta (the earlier
  message's text is dropped), and the finish reason is that message's. This is the rule
  the shared manifest was made with (``parts[0]`` of the last assistant document).
- Reasoning is the ``content`` of each entry of ``message.content.thoughts`` (thinking
  models), every thought a reasoning part of its own, all of them kept in stream order.
  The ``summary`` headlines are not reasoning text.
- ``finish_reasons[0]`` is ``message.metadata.finish_details.type`` as sent; ``model`` is
  ``message.metadata.resolved_model_slug`` or ``model_slug`` of the counting messages.
  These streams carry no token counts. An ``error`` field (a string or an object with a
  ``message``), an ``event: error`` or a ``{"type": "error"}`` event sets ``error``.

Strings that grow by ``append`` are kept as lists of pieces, so a long answer in many
small appends costs linear time; a full comparison is made only when an op could have
rewritten the text (a cumulative snapshot, a ``replace``, a ``truncate``, ...).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any
from urllib.parse import urlsplit

from ..sse import Event
from ._json import INVALID, as_dict, dicts, parse
from ._jsonpatch import OPS, Document, GrowingStr, get, join, string, touches
from ._prompt import content_text, conversation, role
from .base import REASONING, TEXT, Delta, Draft, Message, Reading, read_all

__all__ = ["NAME", "REQUEST_HEADERS", "prompt", "read", "reader", "shape_matches", "url_matches"]

NAME = "chatgpt-web"
REQUEST_HEADERS: frozenset[str] = frozenset()

_URL_PATH = re.compile(r"/backend-(?:api|anon)/(?:f/)?conversation(?:/.*)?")
_TEXT_PATH = "/message/content/parts/0"
_THOUGHTS_PATH = "/message/content/thoughts"
_THOUGHT_CONTENT = re.compile(r"/message/content/thoughts/(\d+)/content")
_AUTHOR_PATHS = ("/message/author/role", "/message/recipient")
_METADATA_PATH = "/message/metadata"
_OPS = OPS | {"patch"}


def url_matches(url: str) -> bool:
    try:
        path = urlsplit(url).path
    except ValueError:
        return False
    return _URL_PATH.fullmatch(path) is not None


def shape_matches(events: Sequence[Event]) -> bool:
    for e in events[:20]:
        if e.event == "delta_encoding":
            return True
        obj = parse(e.data)
        if not isinstance(obj, dict):
            continue
        if _is_document(obj) or _is_document(obj.get("v")):
            return True
        if e.event == "delta" and isinstance(obj.get("o"), str) and isinstance(obj.get("p"), str):
            return True
    return False


def reader() -> _Reader:
    """A reader to feed one event at a time."""
    return _Reader()


def read(events: Iterable[Event]) -> Reading:
    return read_all(_Reader(), events)


def prompt(request_body: bytes) -> list[Message]:
    """``messages[].author.role`` and ``content.parts`` (the web app's request)."""
    return conversation(request_body, _messages)


def _messages(body: dict[str, Any]) -> Iterator[Message]:
    for m in dicts(body.get("messages")):
        yield (
            role(as_dict(m.get("author")).get("role")),
            content_text(as_dict(m.get("content")).get("parts")),
        )


class _Reader:
    """The state of one read: the current document and what was already delivered."""

    def __init__(self) -> None:
        self.reading = Draft()
        self.doc = Document()
        self.msg_key: object = _NO_MESSAGE
        self.counts = False  # the current message is the assistant's, to all
        self.shown = GrowingStr()  # the current message's text as delivered by deltas
        self.shown_thoughts: dict[int, GrowingStr] = {}  # thought index -> content delivered
        self.thought_parts: dict[int, int] = {}  # thought index -> reasoning part
        self.next_part = 0
        self.text_sent = False  # some text delta was made (a later message replaces it)
        self.pending_replace = False
        self.last_p: str | None = None
        self.last_o: str | None = None
        self.index = 0  # the event being read
        self.t = 0.0
        self.messages = 0  # counting messages that produced text
        self.counted_key: object = _NO_MESSAGE  # the last of them
        self.skipped: dict[str, int] = {}  # role (recipient) -> messages skipped
        self.non_json = 0
        self.bad_ops: dict[str, int] = {}

    # --- events -------------------------------------------------------------------------

    @property
    def deltas(self) -> list[Delta]:
        return self.reading.deltas

    def event(self, index: int, e: Event) -> None:
        self.index, self.t = index, e.t
        data = e.data
        if e.event == "error":
            self._error_event(data)
            return
        if data.strip() == "[DONE]":
            self.reading.ended = True
            return
        if not data.strip():
            return
        obj = parse(data)
        if e.event == "delta_encoding":
            self.reading.extra["encoding"] = obj if isinstance(obj, str) else data
            if obj != "v1":
                self.reading.notes.append(f"Unknown delta encoding {data!r}; read as v1.")
            return
        if obj is INVALID:
            self.non_json += 1
            return
        if not isinstance(obj, dict):
            return
        error = obj.get("error")
        if error:
            self.reading.error = _error_text(error)
        if "v" in obj or "p" in obj or "o" in obj:
            self._delta(obj)
        elif _is_document(obj) or ("message" in obj and "type" not in obj):
            self.reading.extra.setdefault("encoding", "cumulative")
            self._op("", "add", obj)
        elif isinstance(obj.get("type"), str):
            self._typed(obj)

    def _error_event(self, data: str) -> None:
        obj = parse(data)
        if isinstance(obj, dict):
            self.reading.error = _error_text(obj.get("error") or obj)
        elif isinstance(obj, str):
            self.reading.error = obj
        else:
            self.reading.error = data or "error event"

    def _typed(self, obj: dict[str, Any]) -> None:
        kind = obj["type"]
        if kind == "message_stream_complete":
            self.reading.ended = True
        elif kind == "error":
            self.reading.error = _error_text(obj.get("error") or obj)
        elif kind == "title_generation" and isinstance(obj.get("title"), str):
            self.reading.extra["title"] = obj["title"]

    def _delta(self, obj: dict[str, Any]) -> None:
        if "v" not in obj:
            return
        value = obj["v"]
        p, o = obj.get("p"), obj.get("o")
        if p is None and o is None and _is_document(value):
            p, o = "", "add"
        p = p if isinstance(p, str) else self.last_p
        o = o if isinstance(o, str) else self.last_o
        if p is None or o is None:
            self._bad("(none)", "a bare value with no previous op")
            return
        self.last_p, self.last_o = p, o
        self._op(p, o, value)

    # --- operations ---------------------------------------------------------------------

    def _op(self, path: str, op: str, value: Any) -> None:
        if op == "patch":
            self._patch(path, value)
            return
        if op not in _OPS:
            self._bad(path, f"unknown op {op!r}")
            return
        if op == "append" and isinstance(value, str) and self.counts:
            # The hot path: a piece of text or of a thought, delivered as it is.
            thought = None if path == _TEXT_PATH else _THOUGHT_CONTENT.fullmatch(path)
            if path == _TEXT_PATH or thought:
                if not self.doc.apply(path, op, value):
                    self._bad(path, op)
                elif thought:
                    self._append_thought(int(thought.group(1)), value)
                else:
                    self._append_text(value)
                return
        if not self.doc.apply(path, op, value):
            self._bad(path, op)
            return
        self._refresh(path)

    def _patch(self, path: str, ops: Any) -> None:
        if not isinstance(ops, list):
            self._bad(path, "patch whose value is not a list")
            return
        inner_p: str | None = None
        inner_o: str | None = None
        for item in ops:
            if not isinstance(item, dict) or "v" not in item:
                self._bad(path, "patch item without a value")
                continue
            p, o = item.get("p", inner_p), item.get("o", inner_o)
            if not isinstance(p, str) or not isinstance(o, str):
                self._bad(path, "patch item without a path or op")
                continue
            inner_p, inner_o = p, o
            self._op(join(path, p), o, item["v"])

    def _refresh(self, path: str) -> None:
        """After an op that may have changed more than one string: look again."""
        if path in ("", "/message"):
            self._message_changed()
            return
        if any(touches(path, target) for target in _AUTHOR_PATHS):
            was = self.counts
            self.counts = self._counting()
            if self.counts and not was:
                self._diff_all()
            return
        if not self.counts:
            return
        if touches(path, _TEXT_PATH):
            self._diff_text()
        if touches(path, _THOUGHTS_PATH):
            self._diff_thoughts()
        if touches(path, _METADATA_PATH):
            self._metadata()

    def _message_changed(self) -> None:
        message = self._message()
        # Messages are told apart by id; ones without an id count as one message.
        key: object = _NO_MESSAGE if message is None else string(message.get("id"))
        if key != self.msg_key:
            self.msg_key = key
            self.shown = GrowingStr()
            self.shown_thoughts = {}
            self.thought_parts = {}
            self.pending_replace = self.text_sent
            if message is not None and not self._counting():
                label = string(get(message, "author", "role")) or "unknown"
                recipient = string(message.get("recipient"))
                if label == "assistant" and recipient is not None:
                    label += f" (to {recipient})"
                self.skipped[label] = self.skipped.get(label, 0) + 1
        self.counts = self._counting()
        if self.counts:
            self._diff_all()

    def _diff_all(self) -> None:
        self._diff_text()
        self._diff_thoughts()
        self._metadata()

    # --- content ------------------------------------------------------------------------

    def _append_text(self, piece: str) -> None:
        if not piece:
            return
        self.shown.add(piece)
        if self.pending_replace:
            self._text(self.shown.value(), replace=True)
        else:
            self._text(piece, replace=False)

    def _diff_text(self) -> None:
        new = string(get(self._message(), "content", "parts", 0)) or ""
        old = self.shown.value()
        if new == old:
            return
        self.shown = GrowingStr(new)
        if not new:
            self.pending_replace = True
            self.reading.notes.append("The answer's text was cleared by a rewrite.")
        elif self.pending_replace or not new.startswith(old):
            self._text(new, replace=True)
        else:
            self._text(new[len(old) :], replace=False)

    def _text(self, text: str, *, replace: bool) -> None:
        if self.pending_replace:
            # The first text of a later message (or of a cleared one): it replaces the
            # answer so far, and the earlier message's finish reason goes with it.
            self.pending_replace = False
            self.reading.finish_reasons.pop(0, None)
        if self.counted_key != self.msg_key:
            self.counted_key = self.msg_key
            self.messages += 1
        self.text_sent = True
        self.reading.deltas.append(Delta(self.t, self.index, TEXT, text, replace=replace))

    def _append_thought(self, index: int, piece: str) -> None:
        if not piece:
            return
        shown = self.shown_thoughts.setdefault(index, GrowingStr())
        shown.add(piece)
        self._reasoning(index, piece, replace=False)

    def _diff_thoughts(self) -> None:
        thoughts = get(self._message(), "content", "thoughts")
        if not isinstance(thoughts, list):
            return
        for index, thought in enumerate(thoughts):
            new = string(get(thought, "content")) or ""
            shown = self.shown_thoughts.get(index)
            old = shown.value() if shown is not None else ""
            if new == old:
                continue
            self.shown_thoughts[index] = GrowingStr(new)
            if not new:
                continue  # a cleared thought: nothing to deliver until it has text again
            if new.startswith(old):
                self._reasoning(index, new[len(old) :], replace=False)
            else:
                self._reasoning(index, new, replace=True)

    def _reasoning(self, index: int, text: str, *, replace: bool) -> None:
        part = self.thought_parts.get(index)
        if part is None:
            part = self.thought_parts[index] = self.next_part
            self.next_part += 1
        self.reading.deltas.append(
            Delta(self.t, self.index, REASONING, text, part=part, replace=replace)
        )

    def _metadata(self) -> None:
        metadata = get(self._message(), "metadata")
        model = string(get(metadata, "resolved_model_slug")) or string(get(metadata, "model_slug"))
        if model:
            self.reading.model = model
        finish = string(get(metadata, "finish_details", "type"))
        if finish is not None:
            self.reading.finish_reasons[0] = finish

    # --- the document -------------------------------------------------------------------

    def _message(self) -> dict[str, Any] | None:
        message = get(self.doc.value, "message")
        return message if isinstance(message, dict) else None

    def _counting(self) -> bool:
        message = self._message()
        if message is None:
            return False
        recipient = message.get("recipient")
        return string(get(message, "author", "role")) == "assistant" and (
            recipient is None or string(recipient) == "all"
        )

    def _bad(self, path: str, what: str) -> None:
        key = f"{what} at {path!r}" if path else what
        self.bad_ops[key] = self.bad_ops.get(key, 0) + 1

    def finish(self) -> Reading:
        notes = self.reading.notes
        if self.messages > 1:
            notes.append(
                f"{self.messages} assistant messages had text; the answer is the last one's."
            )
        if self.skipped:
            parts = [f"{role} x{n}" if n > 1 else role for role, n in self.skipped.items()]
            notes.append(f"Skipped messages not from the assistant to all: {', '.join(parts)}.")
        if self.non_json:
            notes.append(f"{self.non_json} event(s) with data that is not JSON were skipped.")
        for what, n in self.bad_ops.items():
            notes.append(f"Skipped {n} op(s) that could not be applied: {what}.")
        return self.reading.freeze()


_NO_MESSAGE = object()


def _is_document(value: Any) -> bool:
    """``{"message": {"author": ..., ...}, ...}``: a whole conversation document."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("message"), dict)
        and isinstance(value["message"].get("author"), dict)
    )


def _error_text(error: Any) -> str:
    if isinstance(error, str):
        return error
    if isinstance(error, dict):
        for key in ("message", "detail", "code", "type"):
            if isinstance(error.get(key), str) and error[key]:
                return str(error[key])
    return json.dumps(error, ensure_ascii=False)
