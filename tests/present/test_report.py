"""The HTML report's page: the figures of `analyze --json`, one chart set per timed stream,
everything from the capture escaped, secrets redacted, nothing fetched from anywhere."""

from __future__ import annotations

import base64
import hashlib
import html
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from mitmproxy import http

from sse_inspect.analysis.analysis import analyze
from sse_inspect.cli import main
from sse_inspect.load import read_capture
from sse_inspect.present.report import ReportWriter, content_security_policy

from .. import flows
from ..conftest import SAMPLES
from .test_export import SECRETS, secret_capture

ALL_SAMPLES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".flow", ".har", ".sse"))
FIGURES = (
    "ttfb_ms", "ttft_ms", "duration_ms", "output_tokens", "tokens_per_s", "stalls", "events",
    "complete", "finish_reason", "dialect", "model",
)  # fmt: skip
GAPS = ("p50", "p90", "p99", "max")


class Page(HTMLParser):
    """What a test reads of a report: per stream section its figures and its charts."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.streams: list[dict[str, Any]] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.tags.append((tag, a))
        if tag == "section" and a.get("data-stream"):
            self.streams.append(
                {"number": int(a["data-stream"] or 0), "timing": a["data-timing"],
                 "figures": {}, "charts": [], "bars": [], "values": []}
            )  # fmt: skip
        elif self.streams and a.get("data-key"):
            self.streams[-1]["figures"][a["data-key"]] = json.loads(a["data-value"] or "")
        elif self.streams and tag == "svg":
            self.streams[-1]["charts"].append(a.get("data-chart"))
        elif self.streams and tag == "rect" and "data-count" in a:
            self.streams[-1]["bars"].append(int(a["data-count"] or 0))
        elif self.streams and tag == "g" and "data-values" in a:
            self.streams[-1]["values"].append(int(a["data-values"] or 0))

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    @property
    def all_text(self) -> str:
        return "".join(self.text)


def report_of(*captures: Path | str, extra: tuple[str, ...] = ()) -> str:
    result = CliRunner().invoke(main, ["report", *map(str, captures), "-o", "-", *extra])
    assert result.exit_code == 0, result.output
    return result.stdout


def records_of(*captures: Path | str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["analyze", "--json", *map(str, captures)])
    assert result.exit_code == 0, result.output
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    return streams


@pytest.mark.parametrize("capture", ALL_SAMPLES, ids=lambda p: p.name)
def test_figures_on_the_page_are_those_of_analyze_json(capture: Path) -> None:
    page = Page(report_of(capture))
    records = records_of(capture)
    assert [s["number"] for s in page.streams] == list(range(1, len(records) + 1))
    for shown, r in zip(page.streams, records, strict=True):
        for key in FIGURES:
            assert shown["figures"][key] == r[key], key
        for k in GAPS:
            expected = None if r["gap_ms"] is None else r["gap_ms"][k]
            assert shown["figures"][f"gap_ms.{k}"] == expected
        assert shown["timing"] == r["timing"]


@pytest.mark.parametrize("capture", ALL_SAMPLES, ids=lambda p: p.name)
def test_one_timeline_and_one_histogram_per_timed_stream(capture: Path) -> None:
    text = report_of(capture)
    page = Page(text)
    analyses = [analyze(s) for s in read_capture(capture)]
    for shown, a in zip(page.streams, analyses, strict=True):
        arrivals = a.cadence.arrivals_ms
        if a.cadence.timing == "none":
            assert shown["charts"] == []
            continue
        assert arrivals and len(arrivals) > 1  # every timed sample has output
        assert shown["charts"] == ["timeline", "histogram"]
        # the histogram's bars count every gap between output events
        assert sum(shown["bars"]) == len(arrivals) - 1
        assert shown["values"][-1] == len(arrivals) - 1
    untimed = sum(a.cadence.timing == "none" for a in analyses)
    assert text.count("No per-chunk timing") == untimed


@pytest.mark.parametrize("capture", ALL_SAMPLES, ids=lambda p: p.name)
def test_the_answer_and_the_conversation_are_on_the_page(capture: Path) -> None:
    page = Page(report_of(capture))
    text = page.all_text
    for r in records_of(capture):
        assert r["text"] in text
    for s in read_capture(capture):
        a = analyze(s)
        from sse_inspect import dialects

        for _, message in dialects.prompt(a.dialect, s.request_body):
            assert message in text


def test_several_streams_open_with_a_summary_and_distributions() -> None:
    text = report_of(SAMPLES / "mixed.flow", SAMPLES / "openai-chat.flow")
    summary, first = text.index('id="summary"'), text.index('<section class="stream"')
    assert summary < first
    rows = re.findall(r'<tr data-n="(\d+)">', text)
    assert rows == ["1", "2", "3"]
    for n in rows:  # each row links to its stream, which is there
        assert f'href="#s{n}"' in text and f'id="s{n}"' in text
    charts = re.findall(r'data-chart="(\w+)"', text[:first])
    assert charts == ["strip", "strip"]  # TTFT and tokens/s across streams
    assert "TTFT across streams" in text and "Tokens/s across streams" in text


def test_one_stream_has_no_summary_table() -> None:
    text = report_of(SAMPLES / "openai-chat.flow")
    assert 'id="summary"' not in text and "across streams" not in text


def test_page_loads_nothing_and_runs_only_its_own_script() -> None:
    text = report_of(SAMPLES / "mixed.flow")
    refs = re.findall(r"""\b(?:src|href|action|poster|srcset)\s*=\s*["']?([^"'\s>]*)""", text)
    assert refs and all(ref.startswith("#") for ref in refs), refs
    assert not re.search(r"@import|url\(|<link|<iframe|<img|<object|<embed", text)
    scripts = re.findall(r"<script>(.*?)</script>", text, re.S)
    styles = re.findall(r"<style>(.*?)</style>", text, re.S)
    assert len(scripts) == 1 and len(styles) == 1 and text.count("<script") == 1
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', text)
    assert csp
    policy = html.unescape(csp[1])
    assert policy == content_security_policy() and "default-src 'none'" in policy
    for body in (scripts[0], styles[0]):  # the policy allows exactly these two, by hash
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in policy
    assert 'name="viewport"' in text and "prefers-color-scheme: dark" in styles[0]


def hostile_flow() -> http.HTTPFlow:
    """A stream with markup everywhere a capture can carry text."""
    evil = "<script>alert('{}')</script>"
    chunks = [
        {"model": evil.format("model"), "choices": [{"index": 0, "delta": {"role": "assistant"}}]},
        {"choices": [{"index": 0, "delta": {"reasoning_content": evil.format("reasoning")}}]},
        {"choices": [{"index": 0, "delta": {"content": evil.format("answer") + " & <b>"}}]},
        {"choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "id": "c", "function": {
            "name": evil.format("tool"), "arguments": '{"q": "</pre><img src=x>"}'}}]}}]},
        {"choices": [{"index": 0, "delta": {}, "finish_reason": evil.format("finish")}]},
    ]  # fmt: skip
    body = [(0.1 * i, f"data: {json.dumps(c)}\n\n".encode()) for i, c in enumerate(chunks, 1)]
    f = flows.sse_flow(
        [*body, (0.7, b"data: [DONE]\n\n")],
        url="http://127.0.0.1:9/v1/chat/completions?q=<script>alert('url')</script>",
    )
    f.request.headers["X-Evil"] = evil.format("header")
    f.request.content = json.dumps(
        {"model": "m", "messages": [{"role": evil.format("role"), "content": evil.format("msg")}]}
    ).encode()
    return f


def hostile_capture(tmp_path: Path) -> Path:
    return flows.write(tmp_path / "hostile.flow", [hostile_flow(), hostile_flow()])


def test_everything_from_the_capture_is_escaped(tmp_path: Path) -> None:
    text = report_of(hostile_capture(tmp_path))
    assert text.count("<script") == 1  # ours, at the end
    assert "<img" not in text and "&lt;/script&gt; &amp; &lt;b&gt;" in text
    page = Page(text)
    for where in ("model", "reasoning", "answer", "tool", "finish", "url", "header", "role", "msg"):
        assert f"<script>alert('{where}')</script>" in page.all_text, where
    tags = {tag for tag, _ in page.tags}
    assert "img" not in tags and "pre" in tags
    # the reasoning and the tool call are shown, each in its own block
    assert 'class="reasoning-box"' in text and 'class="tool-call"' in text
    assert re.search(r'class="line line-reasoning"', text)
    assert re.search(r'class="line line-text"', text)


def test_secrets_are_redacted_unless_asked(tmp_path: Path) -> None:
    capture = secret_capture(tmp_path)
    text = report_of(capture)
    for secret in SECRETS:
        assert secret not in text
    assert "REDACTED" in text
    kept = report_of(capture, extra=("--no-redact",))
    assert all(secret in kept for secret in SECRETS)
    assert "not redacted" in kept and "not redacted" not in text


def test_the_writer_keeps_sections_aside_until_the_end() -> None:
    written: list[str] = []
    writer = ReportWriter(written.append)
    for capture in (SAMPLES / "mixed.flow", SAMPLES / "plain-mitmproxy.flow"):
        for s in read_capture(capture):
            writer.add(analyze(s))
    assert written == [] and writer.entries == 3
    writer.close()
    text = "".join(written)
    assert text.startswith("<!doctype html>") and text.rstrip().endswith("</html>")
    assert text.index('id="summary"') < text.index('id="s1"') < text.index('id="s3"')
    assert Page(text).streams[2]["timing"] == "none"


def test_a_report_of_one_sample_is_small() -> None:
    size = len(report_of(SAMPLES / "captured-openai-chat.flow").encode())
    assert size < 60_000, size
