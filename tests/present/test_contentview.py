"""The SSE contentview, through mitmproxy's own contentview API (what mitmdump, the console
and mitmweb call): which view mitmproxy picks, and what it shows for good and bad bodies."""

from __future__ import annotations

import gzip
import logging
import runpy
import subprocess
import sys
from collections.abc import Iterator

import brotli
import pytest
from mitmproxy import contentviews, http, io
from mitmproxy.contentviews import Metadata
from mitmproxy.test import taddons, tflow

from sse_inspect.analysis.analysis import analyze
from sse_inspect.load.flows import stream_from_flow
from sse_inspect.present import contentview
from sse_inspect.present.contentview import (
    NAME,
    PRIORITY,
    SSEContentview,
    ViewAddon,
    register,
    sse_view,
    unregister,
)
from sse_inspect.present.units import ms

from ..conftest import ROOT, SAMPLES
from ..flows import sse_flow

OPENAI = b'data: {"choices":[{"index":0,"delta":{"content":"%s"},"finish_reason":null}]}\n\n'


@pytest.fixture(autouse=True)
def view() -> Iterator[SSEContentview]:
    """The view registered as the addon registers it, and taken out afterwards."""
    with taddons.context():  # make_metadata reads ctx.options
        register()
        yield sse_view
        unregister()


def flows(name: str) -> list[http.HTTPFlow]:
    with (SAMPLES / name).open("rb") as f:
        return [fl for fl in io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]


def shown(f: http.HTTPFlow, view_name: str = "auto") -> contentviews.ContentviewResult:
    assert f.response is not None
    return contentviews.prettify_message(f.response, f, view_name)


def flat(text: str) -> str:
    """Text with its line breaks and runs of spaces as one space (the view wraps)."""
    return " ".join(text.split())


def event_lines(text: str) -> list[str]:
    """The event list's rows (after its heading and its column names)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Events:"))
    return [line for line in lines[start + 2 :] if line.startswith("  ") and "…" not in line[:6]]


def openai_stream(words: list[str], coding: str | None = None) -> http.HTTPFlow:
    """A plain (unrecorded) OpenAI chat stream of ``words``, content-encoded with ``coding``."""
    body = b"".join(OPENAI % w.encode() for w in words) + b"data: [DONE]\n\n"
    headers = [(b"Content-Type", b"text/event-stream")]
    if coding == "gzip":
        body = gzip.compress(body)
    elif coding == "br":
        body = brotli.compress(body)
    if coding:
        headers.append((b"Content-Encoding", coding.encode()))
    return sse_flow([(0.1, body)], headers=headers, record=False)


# -- which view mitmproxy picks ---------------------------------------------------------


def test_mitmproxy_picks_it_for_event_streams_and_not_for_json() -> None:
    json_flow, sse = flows("mixed.flow")[:2]
    assert shown(sse).view_name == NAME
    assert shown(json_flow).view_name == "JSON"
    assert NAME.lower() in contentviews.registry.available_views()
    for f, content_type, priority in (
        (sse, "text/event-stream", PRIORITY),
        (json_flow, "application/json", 0.0),
    ):
        assert f.response is not None
        metadata = Metadata(flow=f, content_type=content_type, http_message=f.response)
        assert sse_view.render_priority(f.response.content or b"", metadata) == priority
        assert contentviews.registry.get_view(f.response.content or b"", metadata) is (
            sse_view if priority else contentviews.registry["json"]
        )


def test_the_request_of_an_event_stream_keeps_its_own_view() -> None:
    (f,) = flows("captured-openai-chat.flow")
    assert contentviews.prettify_message(f.request, f).view_name == "JSON"


def test_an_empty_body_is_left_to_mitmproxy() -> None:
    f = sse_flow([])
    assert shown(f).view_name != NAME


# -- what it shows ----------------------------------------------------------------------


def test_the_answer_comes_first_then_every_event_with_its_time() -> None:
    (f,) = flows("captured-openai-chat.flow")
    a = analyze(stream_from_flow(f, "x"))  # type: ignore[arg-type]
    text = shown(f).text
    head, _, events = text.partition("\nEvents:")
    assert flat(a.answer.first.text) in flat(head)  # the rebuilt answer, whole, wrapped
    assert max(len(line) for line in head.split("\nAnswer:")[1].splitlines()) <= 82
    assert f"SSE · openai-chat · model gpt-4o-mini · {len(a.decoded.events)} events" in head
    assert "complete · finish stop" in head and "Finish reason: stop" in head
    assert "TTFT " in head and "times in ms from the request start" in events
    rows = event_lines(text)
    assert len(rows) == len(a.decoded.events)
    origin = a.stream.request_start
    assert origin is not None
    for row, e in zip(rows, a.decoded.events, strict=True):
        assert row.split()[0] == ms((e.t - origin) * 1e3)  # the time from the request start
    assert 'text "Server-Sent"' in rows[1]  # what the dialect read ...
    assert '{"id": "chatcmpl-sample0001"' in rows[1]  # ... and the data itself
    assert rows[-1].split()[1:3] == ["message", "[DONE]"]


def test_version_1_metadata_shows_the_same_times() -> None:
    (v1,) = flows("captured-openai-chat-v1.flow")
    (v2,) = flows("captured-openai-chat.flow")
    assert v1.metadata["sse_inspect"]["version"] == 1
    assert event_lines(shown(v1).text) == event_lines(shown(v2).text)


def test_a_plain_mitmproxy_flow_shows_everything_but_times() -> None:
    (plain,) = flows("plain-mitmproxy.flow")
    (recorded,) = flows("openai-chat.flow")
    text = shown(plain).text
    assert "sse_inspect" not in plain.metadata
    assert "no arrival times" in text and "+ms" not in text and "TTFT" not in text
    # the same stream as recorded: the same rows, without the time column
    timed = [row.split(maxsplit=1)[1] for row in event_lines(shown(recorded).text)]
    untimed = [row.strip() for row in event_lines(text)]
    assert [" ".join(r.split()) for r in untimed] == [" ".join(r.split()) for r in timed]
    a = analyze(stream_from_flow(plain, "x"))  # type: ignore[arg-type]
    assert flat(a.answer.first.text) in flat(text)


def test_a_gzip_body_is_decoded_chunk_by_chunk_with_its_times() -> None:
    (f,) = flows("openai-chat-gzip.flow")
    result = shown(f)
    assert result.view_name == NAME and "gzip" in result.description
    a = analyze(stream_from_flow(f, "x"))  # type: ignore[arg-type]
    assert flat(a.answer.first.text) in flat(result.text) and "gzip encoded" in result.text
    assert len(event_lines(result.text)) == len(a.decoded.events)
    assert event_lines(result.text)[0].split()[0] != "—"


@pytest.mark.parametrize("coding", ["gzip", "br", None])
def test_encoded_plain_flows(coding: str | None) -> None:
    result = shown(openai_stream(["Hello", " there"], coding))
    assert result.view_name == NAME
    assert "Answer:\n  Hello there\n" in result.text
    assert "openai-chat" in result.text and len(event_lines(result.text)) == 3


def test_reasoning_tool_calls_and_several_lines_of_text() -> None:
    events = [
        b'{"choices":[{"index":0,"delta":{"reasoning_content":"Think."}}]}',
        b'{"choices":[{"index":0,"delta":{"content":"line one\\nline two"}}]}',
        b'{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c1","type":"function",'
        b'"function":{"name":"get_weather","arguments":"{\\"city\\": \\"Paris\\"}"}}]}}]}',
        b'{"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}',
    ]
    body = b"".join(b"data: " + e + b"\n\n" for e in events) + b"data: [DONE]\n\n"
    text = shown(sse_flow([(0.2, body)])).text
    assert "Reasoning:\n  Think.\n" in text
    assert "Answer:\n  line one\n  line two\n" in text
    assert 'Tool calls:\n  get_weather({"city": "Paris"})' in text
    assert "finish tool_calls" in text and "Finish reason: tool_calls" in text


def test_comments_and_ids_have_their_own_place() -> None:
    body = b": ping\n\nid: 7\nevent: note\ndata: hi\n\n"
    rows = event_lines(shown(sse_flow([(0.1, body)], url="http://127.0.0.1:9/feed")).text)
    assert rows[0].split()[1:] == [":", "comment", "ping"]
    assert rows[1].split()[1:] == ["note", "7", "data", '"hi"', "hi"]


# -- bodies it cannot read, and big ones ------------------------------------------------


GARBAGE = {
    "broken utf-8": b"data: caf\xc3 \xff\xfe\n\n",
    "binary": bytes(range(256)) * 40,
    "not sse": b'{"this": "is json"}',
    "unterminated": b'data: {"choices":[{"delta":{"content":"cut"}}]}',
    "a bom and cr line ends": b"\xef\xbb\xbfdata: x\r\rdata: y\r\n\r\n",
}


@pytest.mark.parametrize("body", GARBAGE.values(), ids=GARBAGE.keys())
def test_odd_bodies_are_shown_not_raised(body: bytes, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, "sse_inspect"):
        result = shown(sse_flow([(0.1, body)]))
    assert result.view_name == NAME and result.text.startswith("SSE · ")
    assert not [r for r in caplog.records if r.name.startswith("sse_inspect")]


@pytest.mark.parametrize(
    ("coding", "body"),
    [
        ("gzip", b"\x1f\x8b\x08 not gzip at all"),
        ("br", b"\x00" * 40),
        ("x-unknown", b"data: 1\n\n"),
    ],
)
def test_a_body_that_does_not_decode_says_why(coding: str, body: bytes) -> None:
    headers = [(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", coding.encode())]
    result = shown(sse_flow([(0.1, body)], headers=headers))
    assert result.view_name == NAME
    first = result.text.splitlines()[0]
    assert first.startswith("SSE · ") and "cut (" in first, first


def test_the_view_never_raises_even_when_the_analysis_does(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(data: bytes, metadata: Metadata) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(contentview, "analyse", broken)
    f = sse_flow([(0.1, b"data: \xffhello\n\n")])
    result = shown(f, NAME)  # chosen by hand: mitmproxy would print a traceback
    assert result.view_name == NAME
    assert "could not read this body (RuntimeError: boom)" in result.text
    assert "hello" in result.text


def test_a_flow_without_response_or_without_flow_reads_the_data() -> None:
    body = OPENAI % b"hi" + b"data: [DONE]\n\n"
    no_response = tflow.tflow()
    assert no_response.response is None
    for metadata in (
        Metadata(flow=no_response, content_type="text/event-stream"),
        Metadata(content_type="text/event-stream"),
        Metadata(),
    ):
        text = sse_view.prettify(body, metadata)
        assert "Answer:\n  hi\n" in text and "no arrival times" in text


def test_a_long_stream_lists_its_first_events_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(contentview, "MAX_EVENTS", 50)
    f = openai_stream([f"w{i} " for i in range(300)])
    text = shown(f).text
    assert len(event_lines(text)) == 50
    assert "… 251 more (the view lists the first 50;" in text  # 300 words and [DONE]
    assert "w299" in text.partition("Events:")[0]  # the answer is whole


def test_a_huge_body_is_decoded_only_so_far(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contentview, "MAX_DECODED", 4096)
    f = openai_stream(["word "] * 2000, "gzip")
    text = shown(f).text
    assert "the view decodes only the first 4 KiB of a body" in text
    assert "--max-decoded" not in text  # analyze's own note, said in the view's words
    assert text.splitlines()[0].endswith("incomplete · gzip encoded")


def test_a_long_answer_is_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(contentview, "MAX_ANSWER", 100)
    text = shown(openai_stream(["x" * 150])).text
    assert "x" * 100 + "… (50 more characters)" in flat(text)


# -- registration -----------------------------------------------------------------------


def test_view_addon_registers_while_loaded() -> None:
    unregister()
    mine = SSEContentview()
    with taddons.context(ViewAddon(mine)) as tctx:
        assert contentviews.registry[NAME] is mine
        tctx.master.addons.remove(tctx.master.addons.get("viewaddon"))
    assert NAME.lower() not in contentviews.registry


def test_unregister_leaves_another_view_of_the_name() -> None:
    other = SSEContentview()
    register(other)
    unregister(sse_view)
    assert contentviews.registry[NAME] is other
    unregister(other)
    assert NAME.lower() not in contentviews.registry


def test_the_addon_script_registers_a_lazy_view_and_removes_it_when_unloaded() -> None:
    unregister()
    script = runpy.run_path(str(ROOT / "addons" / "sse_capture.py"))
    lazy = script["addons"][1]
    (f,) = flows("captured-openai-chat.flow")
    with taddons.context(*script["addons"]) as tctx:
        assert contentviews.registry[NAME] is lazy
        assert shown(f).text == sse_view.prettify(b"", contentviews.make_metadata(f.response, f))
        tctx.master.addons.remove(lazy)  # mitmproxy unloading the script calls done
        assert NAME.lower() not in contentviews.registry


@pytest.mark.e2e
def test_the_script_loads_the_analysis_only_when_a_stream_is_shown() -> None:
    code = f"""
import runpy, sys
from mitmproxy import contentviews, io
from mitmproxy.test import taddons
def heavy():
    return sorted(m for m in sys.modules if m.startswith(("rich", "sse_inspect.analysis",
                                                          "sse_inspect.dialects")))
addons = runpy.run_path("addons/sse_capture.py")["addons"]
flows = list(io.FlowReader(open({str(SAMPLES / "mixed.flow")!r}, "rb")).stream())
with taddons.context(*addons):
    print(heavy())
    contentviews.prettify_message(flows[0].response, flows[0])  # JSON: asks, does not render
    print(heavy())
    print(contentviews.prettify_message(flows[1].response, flows[1]).view_name)
    print(bool(heavy()))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == ["[]", "[]", NAME, "True"]
