"""A simulated chat answer: the bytes and cadence of an OpenAI chat completion stream.

Shared by the chat server of ``sse-inspect demo`` (:func:`openai_script`), the end-to-end
tests and ``samples/make_samples.py``, so that all of them stream the same, realistic shape: a role
chunk, one chunk per token at a jittered pace with a stall, a finish chunk, a usage chunk
(``stream_options.include_usage``) and ``[DONE]``.
"""

from __future__ import annotations

import json
import random

from ..replay.server import Script

__all__ = [
    "ANSWER",
    "anthropic_events",
    "cadence",
    "chatgpt_web_events",
    "gemini_events",
    "openai_chat_events",
    "openai_script",
    "responses_events",
    "tokens",
]

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


def _sse(data: object, event: str | None = None) -> bytes:
    line = f"data: {json.dumps(data, ensure_ascii=False, separators=(',', ':'))}\n\n"
    return (f"event: {event}\n" if event else "").encode() + line.encode()


def anthropic_events(pieces: list[str], *, model: str = "claude-sonnet-4-5") -> list[bytes]:
    """A Messages API stream: message_start, one text block, message_delta, message_stop."""
    message: dict[str, object] = {
        "id": "msg_sample0001",
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 12, "output_tokens": 1},
    }
    out = [_sse({"type": "message_start", "message": message}, "message_start")]
    block = {
        "type": "content_block_start",
        "index": 0,
        "content_block": {"type": "text", "text": ""},
    }
    out.append(_sse(block, "content_block_start"))
    out.append(_sse({"type": "ping"}, "ping"))
    for p in pieces:
        delta = {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": p},
        }
        out.append(_sse(delta, "content_block_delta"))
    out.append(_sse({"type": "content_block_stop", "index": 0}, "content_block_stop"))
    stop = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": len(pieces)},
    }
    out.append(_sse(stop, "message_delta"))
    out.append(_sse({"type": "message_stop"}, "message_stop"))
    return out


def gemini_events(pieces: list[str], *, model: str = "gemini-2.5-flash") -> list[bytes]:
    """A streamGenerateContent?alt=sse stream: a few tokens per chunk, CRLF line ends."""
    out = []
    step = 4
    for i in range(0, len(pieces), step):
        last = i + step >= len(pieces)
        candidate: dict[str, object] = {
            "content": {"parts": [{"text": "".join(pieces[i : i + step])}], "role": "model"},
            "index": 0,
        }
        if last:
            candidate["finishReason"] = "STOP"
        usage = {
            "promptTokenCount": 12,
            "candidatesTokenCount": min(i + step, len(pieces)),
            "totalTokenCount": 12 + min(i + step, len(pieces)),
        }
        chunk = {"candidates": [candidate], "usageMetadata": usage, "modelVersion": model}
        out.append(_sse(chunk).replace(b"\n", b"\r\n"))
    return out


def responses_events(pieces: list[str], *, model: str = "gpt-4o-mini") -> list[bytes]:
    """A Responses API stream: created, the output item and its text deltas, completed."""
    rid, item = "resp_sample0001", "msg_sample0001"
    response: dict[str, object] = {"id": rid, "object": "response", "status": "in_progress"}
    response["model"] = model
    out = [
        _sse(
            {"type": "response.created", "sequence_number": 0, "response": response},
            "response.created",
        )
    ]
    added = {"type": "message", "id": item, "role": "assistant", "status": "in_progress"}
    out.append(
        _sse(
            {"type": "response.output_item.added", "output_index": 0, "item": added},
            "response.output_item.added",
        )
    )
    for p in pieces:
        delta = {
            "type": "response.output_text.delta",
            "item_id": item,
            "output_index": 0,
            "content_index": 0,
            "delta": p,
        }
        out.append(_sse(delta, "response.output_text.delta"))
    text = "".join(pieces)
    done = {
        "type": "response.output_text.done",
        "item_id": item,
        "output_index": 0,
        "content_index": 0,
        "text": text,
    }
    out.append(_sse(done, "response.output_text.done"))
    final = dict(
        response,
        status="completed",
        usage={"input_tokens": 12, "output_tokens": len(pieces), "total_tokens": 12 + len(pieces)},
    )
    out.append(_sse({"type": "response.completed", "response": final}, "response.completed"))
    return out


def chatgpt_web_events(pieces: list[str]) -> list[bytes]:
    """The ChatGPT web app's delta v1 encoding: a message add, then appends, then [DONE]."""
    message = {
        "id": "sample-message-0001",
        "author": {"role": "assistant", "name": None, "metadata": {}},
        "content": {"content_type": "text", "parts": [""]},
        "status": "in_progress",
        "recipient": "all",
        "metadata": {"model_slug": "gpt-4o"},
    }
    out = [b'event: delta_encoding\ndata: "v1"\n\n']
    add = {"p": "", "o": "add", "v": {"message": message, "conversation_id": "sample-conv"}}
    out.append(_sse(add, "delta"))
    first, *rest = pieces
    out.append(_sse({"p": "/message/content/parts/0", "o": "append", "v": first}, "delta"))
    out += [_sse({"v": p}, "delta") for p in rest]
    finish = {
        "p": "",
        "o": "patch",
        "v": [
            {"p": "/message/status", "o": "replace", "v": "finished_successfully"},
            {
                "p": "/message/metadata",
                "o": "append",
                "v": {"finish_details": {"type": "stop", "stop_tokens": [200002]}},
            },
        ],
    }
    out.append(_sse(finish, "delta"))
    out.append(_sse({"type": "message_stream_complete", "conversation_id": "sample-conv"}))
    out.append(b"data: [DONE]\n\n")
    return out


def openai_script(
    answer: str = ANSWER, *, seed: int = 7, gzip: bool = False, stall_after: int | None = 30
) -> Script:
    """A chat completion stream at a realistic cadence: ~40 tokens/s with one stall."""
    events = openai_chat_events(tokens(answer))
    offsets = cadence(len(events), seed=seed, stall_after=stall_after)
    return Script(tuple(zip(offsets, events, strict=True)), gzip=gzip)
