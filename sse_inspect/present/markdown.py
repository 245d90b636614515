"""A Markdown transcript of analysed streams: the conversation, the answer and how it arrived.

The terminal report is for the person at the keyboard; a transcript is for the bug report,
the pull request or the chat with a colleague, so it must read well wherever Markdown is
shown (GitHub, VS Code) and survive whatever the model wrote. Hence:

- the prompt and the answer are user content, kept whole and kept as Markdown, but each
  inside a block quote, so that a code fence or an HTML block the model left open (a cut
  stream often does) ends with the quote instead of swallowing the rest of the document;
- text shown verbatim (tool-call arguments) goes in a fence longer than any backtick run
  inside it, so nothing in it can close the fence;
- every figure comes from :func:`.json.stream_record`, formatted as the terminal report
  formats it, so a transcript and a report never disagree; the conversation the request
  sent is read by the stream's dialect (its ``prompt()``).

The transcript is a pure function of the analyses (redaction happens before, on the
:class:`Stream`); :class:`TranscriptWriter` writes it one stream at a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .. import dialects
from ..analysis.analysis import Analysis
from ..analysis.answer import Choice, Fold, PartKey
from ..dialects._json import json_object
from ..dialects.base import REASONING, TOOL
from ..load.stream import Stream
from .json import stream_record
from .units import ms
from .write import Spool

__all__ = ["TITLE", "TranscriptWriter", "stream_section", "transcript"]

TITLE = "# sse-inspect transcript"
SNIPPET_CHARS = 40
"""How much of the output before a stall the timeline quotes."""
STALLS_IN_TABLE = 5

_KIND_LABEL = {REASONING: "reasoning ", TOOL: "tool arguments "}
_INLINE_SPECIAL = re.compile(r"[\\`*\[\]<>|~&]|(?<!\w)_|_(?!\w)")
"""What could start markup in running text; ``_`` inside a word never does."""
_GEMINI_MODEL = re.compile(r"/models/([^/:?]+)")


def transcript(analyses: Iterable[Analysis]) -> str:
    """The whole Markdown document: a title, a summary line, then one section per stream."""
    items = list(analyses)
    blocks = [TITLE, _summary(len(items), [a.stream.source for a in items])]
    for number, a in enumerate(items, 1):
        blocks += stream_section(a, number)
    return "\n\n".join(blocks) + "\n"


class TranscriptWriter:
    """The :func:`transcript` of any number of streams, with one analysis in memory at a
    time: :meth:`add` makes a stream's section at once, :meth:`close` writes the document.

    The summary line under the title counts the streams and names their files, so it is
    known only at the end: the sections wait in a :class:`~.write.Spool` (in memory up to
    a MiB, past that in an unnamed temporary file) and follow it at :meth:`close`. A
    :class:`Stream` that was not analysed (not an event stream) has no section.
    """

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._sections = Spool()
        self._sources: dict[str, None] = {}
        self.entries = 0

    def add(self, item: Analysis | Stream) -> None:
        if not isinstance(item, Analysis):
            return
        self.entries += 1
        self._sources.setdefault(item.stream.source)
        self._sections.write("\n\n" + "\n\n".join(stream_section(item, self.entries)))

    def close(self) -> None:
        self._write(TITLE + "\n\n" + _summary(self.entries, list(self._sources)))
        for text in self._sections.chunks():
            self._write(text)
        self._write("\n")
        self._sections.close()


def stream_section(a: Analysis, number: int) -> list[str]:
    """One stream's blocks: heading, verdict, request, answer, cadence, timeline."""
    r = stream_record(a)
    return [
        f"## {number}. {_target(a)}",
        _verdict_line(r),
        *(_escape(f"Note: {note}") for note in r["notes"]),
        "### Request",
        *_request(a, r),
        "### Answer",
        *_answer(a, r),
        "### Cadence",
        *_cadence(r),
        "### Timeline",
        *_timeline(a, r),
    ]


# --- the request ---------------------------------------------------------------------------


def _request(a: Analysis, r: dict[str, Any]) -> list[str]:
    s = a.stream
    blocks = [_model_line(_request_model(a), r["model"])]
    if s.method is None and not s.request_body:
        return [*blocks, "_No request was captured: the file holds only the response body._"]
    messages = dialects.prompt(a.dialect, s.request_body)
    if not messages:
        size = len(s.request_body)
        if not size:
            return [*blocks, "_The request had no body._"]
        return [*blocks, f"_No conversation could be read from the request body ({size:,} bytes)._"]
    for role, text in messages:
        blocks += [f"**{_escape(role)}**", _quote(text)]
    return blocks


def _request_model(a: Analysis) -> str | None:
    """The model the request asked for: the body's ``model``, or Gemini's URL path."""
    model = json_object(a.stream.request_body) or {}
    named = model.get("model")
    if isinstance(named, str) and named:
        return named
    found = _GEMINI_MODEL.search(a.stream.url or "")
    return found.group(1) if found else None


def _model_line(asked: str | None, streamed: str | None) -> str:
    if asked is None and streamed is None:
        return "Model: unknown."
    if asked is None:
        return f"Model: {_code(streamed or '')} (as the stream names it)."
    if streamed and streamed != asked:
        return f"Model: {_code(asked)} (the stream names {_code(streamed)})."
    return f"Model: {_code(asked)}."


# --- the answer ----------------------------------------------------------------------------


def _answer(a: Analysis, r: dict[str, Any]) -> list[str]:
    if r["text"] is None:  # generic: no answer, only data
        return [f"_A generic event stream: no answer is rebuilt from its {r['events']} events._"]
    choices = list(a.answer.choices.values()) or [a.answer.first]
    if len(choices) == 1:
        return _choice(choices[0]) or ["_No answer: the stream carried no output._"]
    blocks: list[str] = []
    for c in choices:
        reason = a.reading.finish_reasons.get(c.index)
        blocks.append(f"#### Choice {c.index}" + (f" ({_escape(reason)})" if reason else ""))
        blocks += _choice(c) or ["_No output._"]
    return blocks


def _choice(c: Choice) -> list[str]:
    """Reasoning (folded), the text, tool calls and refusal of one choice, in that order."""
    blocks: list[str] = []
    if c.reasoning_parts:
        blocks += _reasoning("\n\n".join(c.reasoning_parts.values()))
    if c.text:
        blocks.append(_quote(c.text))
    for n, call in enumerate(c.tool_calls.values(), 1):
        name = _code(call.name) if call.name else "(unnamed)"
        blocks.append(f"**Tool call {n}:** {name}")
        args = call.arguments
        blocks.append(_fence(_pretty_json(args), "json") if args else "_No arguments._")
    if c.refusal is not None:
        blocks += ["**Refusal**", _quote(c.refusal)]
    return blocks


def _reasoning(text: str) -> list[str]:
    """Folded in ``<details>``, unless the text itself could close that element."""
    if "</details" in text.lower():
        return ["**Reasoning**", _quote(text)]
    return ["<details><summary>Reasoning</summary>", _quote(text), "</details>"]


def _pretty_json(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):
        return arguments


# --- cadence and timeline ------------------------------------------------------------------


def _cadence(r: dict[str, Any]) -> list[str]:
    tokens = f"{r['output_tokens']} ({r['tokens_source']})"
    if r["timing"] == "none":
        rows = [("Events", str(r["events"])), ("Output tokens", tokens)]
        if r["ttfb_ms"] is not None:
            rows.insert(0, ("Response headers", _ms(r["ttfb_ms"])))
        if r["duration_ms"] is not None:
            rows.insert(1, ("Response end", _ms(r["duration_ms"])))
        return [_untimed(), _table(rows)]
    gaps = r["gap_ms"]
    rows = [
        ("TTFB", _ms(r["ttfb_ms"])),
        ("First event", _ms(r["ttf_event_ms"])),
        ("TTFT", _ms(r["ttft_ms"])),
        ("First answer text", _ms(r["ttft_answer_ms"])),
        ("Last event", _ms(r["duration_ms"])),
        ("Output tokens", tokens),
        ("Tokens/s", "—" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.1f}"),
        ("ITL", _ms(r["itl_ms"])),
        ("TPOT", _ms(r["tpot_ms"])),
        ("Gaps p50 / p90 / p99 / max", _gaps_cell(gaps)),
        (f"Stalls (gaps over {ms(r['stall_ms'])} ms)", _stalls_cell(r["stalls_at"])),
    ]
    return [_table(rows), "Times from the request start; gaps are between output events."]


def _gaps_cell(gaps: dict[str, float] | None) -> str:
    if gaps is None:
        return "—"
    return " / ".join(ms(gaps[k]) for k in ("p50", "p90", "p99", "max")) + " ms"


def _stalls_cell(stalls: list[dict[str, float]] | None) -> str:
    if stalls is None:
        return "—"
    if not stalls:
        return "none"
    where = "; ".join(
        f"{ms(s['gap_ms'])} ms at {ms(s['at_ms'])} ms" for s in stalls[:STALLS_IN_TABLE]
    )
    more = f"; +{len(stalls) - STALLS_IN_TABLE} more" if len(stalls) > STALLS_IN_TABLE else ""
    return f"{len(stalls)}: {where}{more}"


def _timeline(a: Analysis, r: dict[str, Any]) -> list[str]:
    end = _verdict(r)
    if r["timing"] == "none":
        return [_untimed(), f"- {r['events']} events, then the end: {end}"]
    marks = sorted(_marks(a, r), key=lambda m: m[0])  # stable: ties keep their order
    lines = ["- 0 ms: request sent", *(f"- {ms(t)} ms: {what}" for t, what in marks)]
    s = a.stream
    if s.response_end is None or s.request_start is None:
        lines.append(f"- end: {end}")
    else:
        lines.append(f"- {ms((s.response_end - s.request_start) * 1e3)} ms: end, {end}")
    return ["\n".join(lines)]


def _marks(a: Analysis, r: dict[str, Any]) -> Iterator[tuple[float, str]]:
    """The moments between the request and the end, in the order they happen when tied."""
    answer = None if r["ttft_answer_ms"] == r["ttft_ms"] else r["ttft_answer_ms"]
    for t, what in (
        (r["ttfb_ms"], "first byte"),
        (r["ttf_event_ms"], "first event"),
        (r["ttft_ms"], "first output (TTFT)"),
        (answer, "first answer text"),
    ):
        if t is not None:
            yield t, what
    for stall, before in zip(a.cadence.stalls or [], _stall_context(a), strict=True):
        until = ms(stall.at_ms + stall.gap_ms)
        after = f", after {before}" if before else ""
        yield stall.at_ms, f"stall: no output for {ms(stall.gap_ms)} ms (until {until} ms){after}"
    if r["duration_ms"] is not None:
        yield r["duration_ms"], "last event"


def _stall_context(a: Analysis) -> list[str]:
    """For each stall, the tail of the output that had arrived when it began (one pass)."""
    stalls, start = a.cadence.stalls or [], a.stream.request_start
    if start is None:
        return ["" for _ in stalls]
    fold = Fold()
    last: PartKey | None = None
    deltas = iter(a.reading.deltas)
    pending = next(deltas, None)
    out: list[str] = []
    for stall in stalls:
        while pending is not None and (pending.t - start) * 1e3 <= stall.at_ms:
            last = fold.add(pending)
            pending = next(deltas, None)
        out.append("" if last is None else _snippet(fold.pieces[last], last[1]))
    return out


def _snippet(pieces: list[str], kind: str) -> str:
    tail = ""
    for piece in reversed(pieces):
        tail = piece + tail
        if len(tail) >= SNIPPET_CHARS:
            break
    flat = " ".join(tail.split())
    if not flat:
        return ""
    if len(flat) > SNIPPET_CHARS:  # start at a word when there is one to start at
        cut = flat[-SNIPPET_CHARS:]
        flat = "…" + (cut.split(" ", 1)[1] if " " in cut[:-1] else cut)
    return _KIND_LABEL.get(kind, "") + _code(flat)


def _untimed() -> str:
    return (
        "_No per-chunk timing: the capture did not record when chunks arrived "
        "(sse-inspect's capture does), so no event times are known, only the exchange's own._"
    )


# --- the heading and verdict ---------------------------------------------------------------


def _summary(streams: int, sources: list[str]) -> str:
    """``2 event streams from `a.flow`, `b.flow`.``: ``sources`` once each, in order."""
    sources = list(dict.fromkeys(sources))
    count = f"{streams} event stream{'' if streams == 1 else 's'}"
    return f"{count} from {', '.join(map(_code, sources))}." if sources else f"{count}."


def _target(a: Analysis) -> str:
    s = a.stream
    if s.url is None:
        return _escape(" ".join(x for x in (s.method, s.source) if x))
    return f"{_escape(s.method)} {_url(s.url)}" if s.method else _url(s.url)


def _url(url: str) -> str:
    """As it is when it holds no Markdown; else as an autolink, whose text is literal."""
    if _escape(url) == url and not any(c.isspace() for c in url):
        return url
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>\x00-\x1f]*", url):
        return f"<{url}>"
    return _escape(url)


def _verdict_line(r: dict[str, Any]) -> str:
    bits = [f"**{_escape(r['dialect'])}**"]
    if r["model"]:
        bits.append(_code(r["model"]))
    if r["status"] is not None:
        bits.append(f"HTTP {r['status']}")
    bits += [f"{r['events']} events", _verdict(r)]
    return " · ".join(bits)


def _verdict(r: dict[str, Any]) -> str:
    """complete (with the finish reason), or cut and why: the report's yes/cut/open/no."""
    if r["complete"]:
        reason = r["finish_reason"]
        return "complete" + (f" ({_escape(reason)})" if reason else "")
    if r["error"]:
        return f"**cut**: {_escape(r['error'])}"
    if r["unterminated"]:
        return "**cut**: the body ended in the middle of an event"
    if r["truncated"]:
        return "**cut**: only the first part of the body was read (see the note)"
    return "**incomplete**: no end marker arrived"


# --- Markdown building blocks --------------------------------------------------------------


def _quote(text: str) -> str:
    """Every line quoted, so whatever the text opens (a fence, HTML) closes with the quote."""
    lines = _lines(text)
    return "\n".join(f"> {line}" if line.strip() else ">" for line in lines)


def _fence(text: str, info: str = "") -> str:
    """A fence longer than any backtick run inside, so the text cannot close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n" + "\n".join(_lines(text)) + f"\n{fence}"


def _code(text: str) -> str:
    """An inline code span that any backticks in the text cannot end early."""
    text = " ".join(_lines(text))
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _escape(text: str) -> str:
    """Plain text in running Markdown: one line, markup characters backslash-escaped."""
    return _INLINE_SPECIAL.sub(lambda m: "\\" + m.group(), " ".join(_lines(text)))


def _table(rows: list[tuple[str, str]]) -> str:
    lines = ["| Figure | Value |", "| --- | ---: |"]
    lines += [f"| {name} | {value.replace('|', '\\|')} |" for name, value in rows]
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{ms(value)} ms"


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
