"""What every dialect shares: the pieces it reads out of events, and the shape it has.

A dialect turns SSE events into a :class:`Reading` (timed :class:`Delta` pieces of the
answer, and facts about the stream); :mod:`sse_inspect.analysis.answer` folds the deltas
into the answer and :mod:`sse_inspect.analysis.cadence` times them. Plain data, one way:
a reader fills a :class:`Draft` and hands over the frozen :class:`Reading` it makes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, NamedTuple, Protocol

from ..sse import Event

__all__ = [
    "DATA",
    "REASONING",
    "REFUSAL",
    "TEXT",
    "TOOL",
    "Delta",
    "Dialect",
    "Draft",
    "Message",
    "Reader",
    "Reading",
    "read_all",
]

TEXT = "text"  # the visible answer
REASONING = "reasoning"  # thinking / reasoning text
TOOL = "tool"  # tool-call arguments (a fragment, or a whole call's arguments)
REFUSAL = "refusal"  # OpenAI's refusal text
DATA = "data"  # a generic stream's event data

Message = tuple[str, str]
"""(role, text) of one message of the conversation a request sent."""


class Delta(NamedTuple):
    """One piece of output carried by one event.

    A named tuple rather than a frozen dataclass, as :class:`~sse_inspect.sse.Event` is:
    one is made for nearly every event of a stream, and a tuple is built several times
    faster while staying immutable, typed and comparable.
    """

    t: float
    """Arrival time of the event that carried it."""
    event: int
    """Index of that event in the stream, so pieces of one event count as one arrival."""
    kind: str
    """``text``, ``reasoning``, ``tool``, ``refusal`` or ``data``."""
    text: str
    choice: int = 0
    """Which choice (OpenAI ``n`` > 1, Gemini candidates); 0 otherwise."""
    part: int = 0
    """Which block of its kind: the tool call's index, a reasoning summary part, ..."""
    name: str | None = None
    """A tool call's name, on the delta that first names it."""
    replace: bool = False
    """The text replaces everything of this kind, choice and part so far (a rewrite)."""


_EMPTY: Mapping[Any, Any] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class Reading:
    """Everything a dialect read from one stream's events. Frozen: later stages that want
    another reading (the lenient path of the analysis) make a new one."""

    deltas: tuple[Delta, ...] = ()
    model: str | None = None
    finish_reasons: Mapping[int, str] = _EMPTY
    """The finish/stop reason per choice, as the provider names it."""
    output_tokens: int | None = None
    """Output tokens as the server reported them (its usage), else ``None``."""
    input_tokens: int | None = None
    error: str | None = None
    """A mid-stream error's message."""
    ended: bool = False
    """The dialect's own end marker arrived (``[DONE]``, ``message_stop``, ...)."""
    notes: tuple[str, ...] = ()
    """Anything worth telling the user: a text mismatch, a blocked prompt, ..."""
    extra: Mapping[str, Any] = _EMPTY
    """Dialect-specific facts, under Contract 4's ``extra`` (e.g. ``prompt_block_reason``)."""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons.get(0)


@dataclass(slots=True)
class Draft:
    """A :class:`Reading` while a reader fills it in; :meth:`freeze` hands it over."""

    deltas: list[Delta] = field(default_factory=list)
    model: str | None = None
    finish_reasons: dict[int, str] = field(default_factory=dict)
    output_tokens: int | None = None
    input_tokens: int | None = None
    error: str | None = None
    ended: bool = False
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def freeze(self) -> Reading:
        return Reading(
            deltas=tuple(self.deltas),
            model=self.model,
            finish_reasons=MappingProxyType(dict(self.finish_reasons)),
            output_tokens=self.output_tokens,
            input_tokens=self.input_tokens,
            error=self.error,
            ended=self.ended,
            notes=tuple(self.notes),
            extra=MappingProxyType(dict(self.extra)),
        )


class Reader(Protocol):
    """One pass over one stream's events: the verbs every dialect's reader has. ``read``
    feeds it a whole stream; the live view of ``capture`` feeds it one event at a time."""

    @property
    def deltas(self) -> list[Delta]:
        """The deltas read so far, in order: the reader appends to this very list."""

    def event(self, index: int, e: Event) -> None:
        """Read the stream's ``index``-th event."""

    def finish(self) -> Reading:
        """The end of the events: the reading, frozen."""


def read_all(reader: Reader, events: Iterable[Event]) -> Reading:
    for index, e in enumerate(events):
        reader.event(index, e)
    return reader.finish()


class Dialect(Protocol):
    """A wire dialect. Each module of :mod:`sse_inspect.dialects` is one (mypy checks the
    registry against this protocol); it knows no HTTP beyond what detection looks at."""

    NAME: str
    """As Contract 4 names it: ``openai-chat``, ``anthropic``, ..."""
    REQUEST_HEADERS: frozenset[str]
    """Lower-case request header names that only this provider's clients send."""

    def url_matches(self, url: str) -> bool:
        """The URL is one of this dialect's endpoints."""

    def shape_matches(self, events: Sequence[Event]) -> bool:
        """The first events look like this dialect's."""

    def read(self, events: Iterable[Event]) -> Reading:
        """Everything the events say, as a :class:`Reading`."""

    def reader(self) -> Reader:
        """A fresh reader, to be fed one event at a time (``read`` is ``read_all`` of one)."""

    def prompt(self, request_body: bytes) -> list[Message]:
        """The conversation a request body sent, oldest first; ``[]`` when it holds none
        (not JSON, another shape). Parts without text (an image) show as ``[type]``."""
