"""A simulated chat answer: the bytes and cadence of an OpenAI chat completion stream.

Shared by the local chat server of ``sse-inspect demo``, the end-to-end tests and
``samples/make_samples.py``, so that all of them stream the same, realistic shape: a role
chunk, one chunk per token at a jittered pace with a stall, a finish chunk, a usage chunk
(``stream_options.include_usage``) and ``[DONE]``.
"""

from __future__ import annotations

import json
import random

ANSWER = (
    "Server-Sent Events keep one HTTP response open and push small text frames down it. Each "
    "frame is a few lines such as data: followed by a blank line, so a client can show the "
    "answer token by token while the model is still writing it — the typewriter effect that "
    "chat apps rely on. The browser's EventSource only speaks GET, so chat apps read the "
    "stream with fetch() and parse it themselves, which is why devtools show a plain, growing "
    "response instead of events. A proxy in the middle has to pass every chunk on the moment "
    "it arrives: one that waits for the whole body first turns a lively answer into a long "
    "pause and a wall of text. What users feel is the time to the first token, the pace of "
    "the tokens after it, and the stalls in between, when the model or the network holds "
    "its breath for a second or more. sse-inspect sits in that stream, forwards each chunk "
    "unchanged, notes when it came, and afterwards tells you how the answer really arrived."
)


def tokens(text: str) -> list[str]:
    """Word-ish pieces with their leading space, the way tokenizers stream them."""
    out: list[str] = []
    for word in text.split(" "):
        out.append(word if not out else " " + word)
    return out


def openai_chat_events(
    pieces: list[str],
    *,
    model: str = "gpt-4o-mini",
    created: int = 1764000000,
    completion_id: str = "chatcmpl-sample0001",
    prompt_tokens: int = 12,
) -> list[bytes]:
    """The body of a chat completion stream, one element per flushed event."""

    def chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        return b"data: " + json.dumps(body, ensure_ascii=False).encode() + b"\n\n"

    events = [chunk({"role": "assistant", "content": ""})]
    events += [chunk({"content": p}) for p in pieces]
    events.append(chunk({}, "stop"))
    usage = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": model,
        "choices": [],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        },
    }
    events.append(b"data: " + json.dumps(usage).encode() + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def cadence(
    n: int,
    *,
    seed: int,
    first: float = 0.42,
    gap: tuple[float, float] = (0.018, 0.055),
    stall_after: int | None = 30,
    stall: float = 1.35,
) -> list[float]:
    """Offsets (s) at which ``n`` events are flushed: a wait, jittered gaps, one stall."""
    rng = random.Random(seed)
    t, out = first, []
    for i in range(n):
        out.append(round(t, 6))
        t += rng.uniform(*gap) + (stall if i == stall_after else 0.0)
    return out
