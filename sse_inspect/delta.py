"""What dialects read out of events: timed pieces of the answer, and facts about the stream.

Dialects turn SSE events into a :class:`Reading`; :mod:`sse_inspect.answer` folds its
deltas into the answer and :mod:`sse_inspect.metrics` times them. Plain data, one way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT = "text"  # the visible answer
REASONING = "reasoning"  # thinking / reasoning text
TOOL = "tool"  # tool-call arguments (a fragment, or a whole call's arguments)
REFUSAL = "refusal"  # OpenAI's refusal text
DATA = "data"  # a generic stream's event data


@dataclass(frozen=True, slots=True)
class Delta:
    """One piece of output carried by one event."""

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


@dataclass
class Reading:
    """Everything a dialect read from one stream's events."""

    deltas: list[Delta] = field(default_factory=list)
    model: str | None = None
    finish_reasons: dict[int, str] = field(default_factory=dict)
    """The finish/stop reason per choice, as the provider names it."""
    output_tokens: int | None = None
    """Output tokens as the server reported them (its usage), else ``None``."""
    input_tokens: int | None = None
    error: str | None = None
    """A mid-stream error's message."""
    ended: bool = False
    """The dialect's own end marker arrived (``[DONE]``, ``message_stop``, ...)."""
    notes: list[str] = field(default_factory=list)
    """Anything worth telling the user: a text mismatch, a blocked prompt, ..."""
    extra: dict[str, Any] = field(default_factory=dict)
    """Dialect-specific facts for the JSON report (e.g. ``prompt_block_reason``)."""

    @property
    def finish_reason(self) -> str | None:
        return self.finish_reasons.get(0)
