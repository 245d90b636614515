"""Fold a dialect's deltas into the answer: text, reasoning, tool calls, per choice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from operator import itemgetter

from ..dialects.base import REASONING, REFUSAL, TEXT, TOOL, Delta

__all__ = ["Answer", "Choice", "Fold", "PartKey", "ToolCall", "part_key", "rebuild"]

PartKey = tuple[int, str, int]
"""(choice, kind, part): which piece of the answer a delta adds to."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    name: str
    arguments: str


@dataclass(frozen=True, slots=True)
class Choice:
    index: int
    text: str = ""
    reasoning_parts: Mapping[int, str] = field(default_factory=dict)
    """Reasoning text per part, in the order the stream first sent each part."""
    tool_calls: Mapping[int, ToolCall] = field(default_factory=dict)
    refusal: str | None = None

    @property
    def reasoning(self) -> str | None:
        """All reasoning, parts in order, no separator; ``None`` when there was none."""
        return "".join(self.reasoning_parts.values()) if self.reasoning_parts else None


@dataclass(frozen=True, slots=True)
class Answer:
    choices: Mapping[int, Choice]

    @property
    def first(self) -> Choice:
        return self.choices.get(0) or next(iter(self.choices.values()), Choice(0))


def part_key(d: Delta) -> PartKey:
    """Reasoning parts and tool calls are told apart by ``part``; text and refusal are one
    piece per choice."""
    return d.choice, d.kind, d.part if d.kind in _PARTS else 0


_PARTS = (REASONING, TOOL)


class Fold:
    """The answer being put together delta by delta: what :func:`rebuild` does in one go,
    for readers that want the answer as it stood at some moment (a transcript's stalls).

    Pieces are gathered in lists and joined once, so a 200k-token stream stays linear;
    reasoning parts and tool calls keep the order in which the stream first sent them.
    """

    def __init__(self) -> None:
        self.pieces: dict[PartKey, list[str]] = {}
        self._names: dict[tuple[int, int], str] = {}

    def add(self, d: Delta) -> PartKey:
        """Fold one delta in (a ``replace`` delta overwrites); returns the part it added to."""
        kind = d.kind
        key = (d.choice, kind, d.part if kind in _PARTS else 0)  # part_key(d), inline
        pieces = self.pieces.get(key)
        if pieces is None or d.replace:
            self.pieces[key] = [d.text]
        else:
            pieces.append(d.text)
        if kind == TOOL and d.name and not self._names.get((d.choice, d.part)):
            self._names[(d.choice, d.part)] = d.name
        return key

    def answer(self) -> Answer:
        texts: dict[int, str] = {}
        reasoning: dict[int, dict[int, str]] = {}
        tools: dict[int, dict[int, ToolCall]] = {}
        refusals: dict[int, str] = {}
        for (index, kind, part), parts in self.pieces.items():
            text = "".join(parts)
            if kind == TEXT:
                texts[index] = text
            elif kind == REASONING:
                reasoning.setdefault(index, {})[part] = text
            elif kind == TOOL:
                name = self._names.get((index, part), "")
                tools.setdefault(index, {})[part] = ToolCall(name, text)
            elif kind == REFUSAL:
                refusals[index] = text
        indexes = sorted({index for index, _, _ in self.pieces})
        return Answer(
            {
                i: Choice(
                    i, texts.get(i, ""), reasoning.get(i, {}), tools.get(i, {}), refusals.get(i)
                )
                for i in indexes
            }
        )


def rebuild(deltas: Iterable[Delta]) -> Answer:
    """All deltas folded in order: the whole answer."""
    deltas = deltas if isinstance(deltas, tuple | list) else list(deltas)
    if deltas and len(set(map(_SHAPE, deltas))) == 1 and _SHAPE(deltas[0]) == _PLAIN_TEXT:
        # Nearly every stream: answer text of one choice and nothing else, so the answer
        # is their text joined (what the fold gives), without a step per delta.
        index = deltas[0].choice
        return Answer({index: Choice(index, "".join(map(_TEXT, deltas)), {}, {}, None)})
    fold = Fold()
    add = fold.add
    for d in deltas:
        add(d)
    return fold.answer()


_SHAPE = itemgetter(2, 4, 7)  # a delta's kind, choice and replace
_PLAIN_TEXT = (TEXT, 0, False)
_TEXT = itemgetter(3)
