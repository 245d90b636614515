"""Fold a dialect's deltas into the answer: text, reasoning, tool calls, per choice."""

from __future__ import annotations

from dataclasses import dataclass, field

from .delta import REASONING, REFUSAL, TEXT, TOOL, Delta


@dataclass
class ToolCall:
    name: str
    arguments: str


@dataclass
class Choice:
    index: int
    text: str = ""
    reasoning_parts: dict[int, str] = field(default_factory=dict)
    tool_calls: dict[int, ToolCall] = field(default_factory=dict)
    refusal: str | None = None

    @property
    def reasoning(self) -> str | None:
        """All reasoning, parts in order, no separator; ``None`` when there was none."""
        return "".join(self.reasoning_parts.values()) if self.reasoning_parts else None


@dataclass
class Answer:
    choices: dict[int, Choice]

    @property
    def first(self) -> Choice:
        return self.choices.get(0) or next(iter(self.choices.values()), Choice(0))


def rebuild(deltas: list[Delta]) -> Answer:
    """Apply the deltas in order; ``replace`` deltas overwrite instead of appending.

    Pieces are gathered in lists and joined once, so a 200k-token stream stays linear;
    reasoning parts and tool calls keep the order in which the stream first sent them.
    """
    pieces: dict[tuple[int, str, int], list[str]] = {}
    names: dict[tuple[int, int], str] = {}
    for d in deltas:
        key = (d.choice, d.kind, d.part if d.kind in (REASONING, TOOL) else 0)
        if d.replace or key not in pieces:
            pieces[key] = []
        pieces[key].append(d.text)
        if d.kind == TOOL and d.name and not names.get((d.choice, d.part)):
            names[(d.choice, d.part)] = d.name
    choices: dict[int, Choice] = {}
    for (index, kind, part), texts in pieces.items():
        c = choices.get(index)
        if c is None:
            c = choices[index] = Choice(index)
        text = "".join(texts)
        if kind == TEXT:
            c.text = text
        elif kind == REASONING:
            c.reasoning_parts[part] = text
        elif kind == TOOL:
            c.tool_calls[part] = ToolCall(names.get((index, part), ""), text)
        elif kind == REFUSAL:
            c.refusal = text
    return Answer(dict(sorted(choices.items())))
