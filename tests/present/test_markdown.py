"""The Markdown transcript: the conversation, the answer and the figures, and a document
that stays whole whatever the model wrote (checked with a CommonMark parser)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from sse_inspect.analysis.analysis import Analysis, analyze
from sse_inspect.load import read_capture
from sse_inspect.present.json import stream_record
from sse_inspect.present.markdown import transcript
from sse_inspect.present.units import ms

from ..conftest import SAMPLES, SHARED

DIALECTS = ["openai-chat", "openai-responses", "anthropic", "gemini", "chatgpt-web"]


def analyses(path: Path) -> list[Analysis]:
    return [analyze(s) for s in read_capture(path)]


def part(doc: str, heading: str, stream: int = 1) -> str:
    """The text under ``### heading`` in the stream's section, up to the next heading."""
    section = doc.split("\n## ")[stream]
    return section.split(f"\n### {heading}\n", 1)[1].split("\n### ", 1)[0].strip("\n")


def unquote(text: str) -> str:
    """The text of the block quotes in ``text``, as it was before quoting."""
    lines = [line for line in text.split("\n") if line.startswith(">")]
    return "\n".join(line[2:] if line.startswith("> ") else line[1:] for line in lines)


def tokens(doc: str) -> list[Token]:
    return MarkdownIt("commonmark").enable("table").parse(doc)


def headings(doc: str) -> list[str]:
    toks = tokens(doc)
    return [toks[i + 1].content for i, t in enumerate(toks) if t.type == "heading_open"]


def chat_sse(
    tmp_path: Path, pieces: list[str], tool_args: str | None = None, reasoning: str = ""
) -> Analysis:
    """A raw OpenAI chat stream whose answer is ``pieces`` (after reasoning, and with one
    tool call when ``tool_args`` is given), written as a ``.sse`` file and read back."""
    deltas: list[dict[str, object]] = [{"role": "assistant", "content": ""}]
    if reasoning:
        deltas.append({"reasoning_content": reasoning})
    deltas += [{"content": p} for p in pieces]
    if tool_args is not None:
        function = {"name": "run", "arguments": tool_args}
        deltas.append({"tool_calls": [{"index": 0, "type": "function", "function": function}]})
    choices = [{"index": 0, "delta": d, "finish_reason": None} for d in deltas]
    choices.append({"index": 0, "delta": {}, "finish_reason": "stop"})
    lines = []
    for choice in choices:
        chunk = {"id": "x", "object": "chat.completion.chunk", "model": "m", "choices": [choice]}
        lines.append(f"data: {json.dumps(chunk)}\n\n")
    path = tmp_path / "chat.sse"
    path.write_text("".join(lines) + "data: [DONE]\n\n")
    (a,) = analyses(path)
    assert a.dialect == "openai-chat"
    return a


@pytest.mark.parametrize("dialect", DIALECTS)
def test_each_captured_dialect_has_prompt_answer_and_ttft(dialect: str) -> None:
    (a,) = analyses(SAMPLES / f"captured-{dialect}.flow")
    doc = transcript([a])
    prompt = "Why do chat apps stream their answers with Server-Sent Events?"
    assert doc.startswith("# sse-inspect transcript\n")
    assert f"**user**\n\n> {prompt}" in part(doc, "Request")
    assert a.answer.first.text and a.answer.first.text in unquote(part(doc, "Answer"))
    r = stream_record(a)
    assert f"| TTFT | {ms(r['ttft_ms'])} ms |" in part(doc, "Cadence")
    assert headings(doc)[-4:] == ["Request", "Answer", "Cadence", "Timeline"]


def test_section_heading_verdict_and_timeline() -> None:
    (a,) = analyses(SAMPLES / "captured-openai-chat.flow")
    doc = transcript([a])
    assert f"\n## 1. POST {a.stream.url}\n" in doc
    assert "**openai-chat** · `gpt-4o-mini` · HTTP 200 ·" in doc and "complete (stop)" in doc
    timeline = part(doc, "Timeline")
    assert timeline.startswith("- 0 ms: request sent\n")
    (stall,) = a.cadence.stalls or []
    assert f"- {ms(stall.at_ms)} ms: stall: no output for {ms(stall.gap_ms)} ms" in timeline
    assert timeline.endswith("end, complete (stop)")


def test_cut_stream_says_cut_and_names_the_error() -> None:
    (a,) = analyses(SAMPLES / "client-abort.flow")
    doc = transcript([a])
    assert not a.complete and a.stream.error == "Client disconnected."
    verdict = doc.split("\n\n")[3]
    assert verdict.endswith("**cut**: Client disconnected.")
    assert part(doc, "Timeline").endswith("end, **cut**: Client disconnected.")
    assert "complete (" not in doc


def test_untimed_stream_says_so_instead_of_times() -> None:
    (a,) = analyses(SAMPLES / "plain-mitmproxy.flow")
    doc = transcript([a])
    for heading in ("Cadence", "Timeline"):
        assert "No per-chunk timing" in part(doc, heading)
    assert "TTFT" not in doc and " ms:" not in doc


def test_several_streams_are_numbered_in_order() -> None:
    doc = transcript(analyses(SAMPLES / "mixed.flow"))
    assert "2 event streams from `" in doc
    assert [h.split(" ", 2)[:2] for h in headings(doc) if h[0].isdigit()] == [
        ["1.", "POST"],
        ["2.", "POST"],
    ]
    assert "> Say hello." in part(doc, "Request", 2)


def test_reasoning_is_folded_in_details() -> None:
    (a,) = analyses(SHARED / "streams" / "anthropic--thinking-refusal.sse")
    reasoning = a.answer.first.reasoning
    assert reasoning
    answer = part(transcript([a]), "Answer")
    folded = answer.split("<details><summary>Reasoning</summary>\n\n", 1)[1]
    folded, after = folded.split("\n\n</details>", 1)
    assert unquote(folded) == reasoning
    assert unquote(after) == a.answer.first.text  # the answer follows, outside


def test_reasoning_that_could_close_details_is_not_folded(tmp_path: Path) -> None:
    a = chat_sse(tmp_path, ["hi"], reasoning="a </details> b")
    assert a.answer.first.reasoning == "a </details> b"
    doc = transcript([a])
    assert "<details>" not in doc and "**Reasoning**\n\n> a </details> b" in doc


def test_tool_call_arguments_are_pretty_printed_json() -> None:
    (a,) = analyses(SHARED / "streams" / "openai-chat--parallel-tool-calls.sse")
    answer = part(transcript([a]), "Answer")
    for n, call in enumerate(a.answer.first.tool_calls.values(), 1):
        pretty = json.dumps(json.loads(call.arguments), indent=2, ensure_ascii=False)
        assert f"**Tool call {n}:** `{call.name}`\n\n```json\n{pretty}\n```" in answer
    fences = [t for t in tokens(answer) if t.type == "fence"]
    assert [t.info for t in fences] == ["json", "json"]


def test_tool_call_arguments_that_are_not_json_are_kept_raw_in_a_longer_fence(
    tmp_path: Path,
) -> None:
    raw = 'not json\n```\n{"still": "the arguments"}\n````'
    doc = transcript([chat_sse(tmp_path, ["ok"], tool_args=raw)])
    assert f"`````json\n{raw}\n`````" in doc
    (fence,) = [t for t in tokens(doc) if t.type == "fence"]
    assert fence.content == raw + "\n"
    assert headings(doc)[-2:] == ["Cadence", "Timeline"]


def test_fences_in_the_answer_cannot_break_the_document(tmp_path: Path) -> None:
    # A closed fence, then one the stream left open, as a cut stream does.
    text = "Run:\n\n```python\nprint('```')\n```\n\nThen:\n\n````sh\nls ```"
    doc = transcript([chat_sse(tmp_path, [text[:9], text[9:30], text[30:]])])
    assert unquote(part(doc, "Answer")) == text
    assert headings(doc)[-4:] == ["Request", "Answer", "Cadence", "Timeline"]
    fences = [t for t in tokens(doc) if t.type == "fence"]
    assert [t.content for t in fences] == ["print('```')\n", "ls ```\n"]
    assert "| TTFT |" not in doc  # a raw .sse: untimed, but the table below still parses
    assert any(t.type == "table_open" for t in tokens(doc))


def test_several_choices_are_each_shown() -> None:
    (a,) = analyses(SHARED / "streams" / "openai-chat--n3-multiple-choices.sse")
    answer = part(transcript([a]), "Answer")
    for c in a.answer.choices.values():
        assert f"#### Choice {c.index} (stop)\n\n> {c.text}" in answer


def test_a_raw_body_has_no_request() -> None:
    (a,) = analyses(SHARED / "streams" / "anthropic--basic.sse")
    request = part(transcript([a]), "Request")
    assert "No request was captured" in request
    assert request.startswith(f"Model: `{a.reading.model}` (as the stream names it).")


def test_an_untimed_stream_still_shows_the_exchanges_own_times() -> None:
    (stream,) = read_capture(SAMPLES / "chrome-export.har")
    text = transcript([analyze(stream)])
    assert "| Response headers | 400 ms |" in text and "| Response end | 4,171 ms |" in text
    assert "only the exchange's own" in text
