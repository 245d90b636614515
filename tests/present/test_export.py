"""`sse-inspect export`: HAR 1.2 with SSE messages, JSONL, Markdown; redaction; safe writes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sse_inspect.analysis.analysis import analyze
from sse_inspect.cli import main
from sse_inspect.load import read_capture

from .. import flows
from ..conftest import SAMPLES
from .har_schema import validate_har

DIALECT_SAMPLES = [
    SAMPLES / f"captured-{d}.flow"
    for d in ("openai-chat", "openai-responses", "anthropic", "gemini", "chatgpt-web")
]
SECRETS = [
    "sk-sample-NOT-A-REAL-KEY",
    "sess-cookie-secret",
    "xk-anthropic-secret",
    "url-key-secret",
    "org-secret-123",
    "set-cookie-secret",
]


def export(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["export", *map(str, args)])


def har_of(*captures: Path, extra: tuple[str, ...] = ()) -> dict[str, Any]:
    result = export(*captures, "-o", "-", "--format", "har", *extra)
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


def secret_capture(tmp_path: Path) -> Path:
    """A stream whose request and response carry every kind of secret we redact."""
    f = flows.sse_flow(
        [(0.1, b'data: {"choices":[{"index":0,"delta":{"content":"hi"}}]}\n\n')],
        url="https://api.example.com/v1/chat/completions?key=url-key-secret&x=1",
    )
    f.request.headers["Cookie"] = "session=sess-cookie-secret"
    f.request.headers["x-api-key"] = "xk-anthropic-secret"
    f.request.headers["OpenAI-Organization"] = "org-secret-123"
    f.request.headers["Authorization"] = "Bearer sk-sample-NOT-A-REAL-KEY-0123"
    assert f.response is not None
    f.response.headers["Set-Cookie"] = "id=set-cookie-secret; Path=/"
    return flows.write(tmp_path / "secrets.flow", [f])


@pytest.mark.parametrize(
    "capture",
    [
        *DIALECT_SAMPLES,
        SAMPLES / "mixed.flow",
        SAMPLES / "chrome-export.har",
        SAMPLES / "openai-chat.sse",
    ],
    ids=lambda p: p.name,
)
def test_har_is_valid_and_keeps_every_event_with_its_time(capture: Path) -> None:
    doc = har_of(capture)
    validate_har(doc)
    streams = [analyze(s) for s in read_capture(capture)]
    entries = doc["log"]["entries"]
    assert len(entries) == len(streams)
    for entry, a in zip(entries, streams, strict=True):
        assert entry["response"]["content"]["mimeType"] == "text/event-stream"
        messages = entry["_eventSourceMessages"]
        assert [(m["eventName"], m["eventId"], m["data"]) for m in messages] == [
            (e.event, e.id, e.data) for e in a.decoded.events
        ]
        if a.cadence.timing == "per-chunk":
            assert [m["time"] for m in messages] == [e.t for e in a.decoded.events]
            assert entry["timings"]["wait"] == pytest.approx(a.cadence.ttfb_ms, abs=0.01)
        assert entry["_sseMetrics"]["text"] == (
            a.answer.first.text if a.dialect != "generic" else None
        )


@pytest.mark.parametrize(
    "capture", [*DIALECT_SAMPLES, SAMPLES / "client-abort.flow"], ids=lambda p: p.name
)
def test_analyze_on_our_har_gives_what_it_gave_on_the_flow(capture: Path, tmp_path: Path) -> None:
    out = tmp_path / "x.har"
    assert export(capture, "-o", out).exit_code == 0
    (original,) = [analyze(s) for s in read_capture(capture)]
    (again,) = [analyze(s) for s in read_capture(out)]
    assert [(e.event, e.data) for e in again.decoded.events] == [
        (e.event, e.data) for e in original.decoded.events
    ]
    assert [e.t for e in again.decoded.events] == pytest.approx(
        [e.t for e in original.decoded.events]
    )
    assert again.dialect == original.dialect and again.answer == original.answer
    assert again.cadence.ttft_ms == pytest.approx(original.cadence.ttft_ms, abs=0.01)
    assert again.cadence.gap_ms == pytest.approx(original.cadence.gap_ms, abs=0.01)


def test_non_sse_flows_only_with_all_flows() -> None:
    assert len(har_of(SAMPLES / "mixed.flow")["log"]["entries"]) == 2
    doc = har_of(SAMPLES / "mixed.flow", extra=("--all-flows",))
    validate_har(doc)
    assert [e["request"]["url"].rsplit("/", 1)[-1] for e in doc["log"]["entries"]] == [
        "models",
        "completions",
        "messages",
    ]


@pytest.mark.parametrize(
    "capture", [*DIALECT_SAMPLES, SAMPLES / "mixed.flow"], ids=lambda p: p.name
)
def test_jsonl_has_one_line_per_event_with_its_delta(capture: Path) -> None:
    result = export(capture, "-o", "-", "--format", "jsonl")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    streams = [analyze(s) for s in read_capture(capture)]
    assert len(lines) == sum(len(a.decoded.events) for a in streams)
    assert {tuple(sorted(line)) for line in lines} == {
        ("data", "delta", "dialect", "event", "flow_id", "id", "t")
    }
    for a in streams:
        mine = [line for line in lines if line["flow_id"] == a.stream.flow_id]
        text = "".join(d["text"] for line in mine for d in line["delta"] if d["kind"] == "text")
        assert text == a.answer.first.text  # the deltas rebuild the answer
        t0 = a.decoded.events[0].t - (a.stream.request_start or 0.0)
        assert mine[0]["t"] == pytest.approx(t0, abs=1e-6)  # seconds, rounded to 1 µs


@pytest.mark.parametrize("capture", DIALECT_SAMPLES, ids=lambda p: p.name)
def test_markdown_names_the_request_and_the_answer(capture: Path) -> None:
    result = export(capture, "-o", "-", "--format", "md")
    assert result.exit_code == 0, result.output
    (a,) = [analyze(s) for s in read_capture(capture)]
    assert a.answer.first.text in result.stdout
    assert "Why do chat apps stream their answers with Server-Sent Events?" in result.stdout


@pytest.mark.parametrize("fmt", ["har", "jsonl", "md"])
def test_no_secret_survives_any_format(tmp_path: Path, fmt: str) -> None:
    capture = secret_capture(tmp_path)
    result = export(capture, "-o", "-", "--format", fmt)
    assert result.exit_code == 0, result.output
    for secret in SECRETS:
        assert secret not in result.stdout, (fmt, secret)
    if fmt == "har":
        assert "REDACTED" in result.stdout
    kept = export(capture, "-o", "-", "--format", fmt, "--no-redact")
    assert "warning" in kept.stderr and "no-redact" in kept.stderr
    if fmt == "har":
        assert all(secret in kept.stdout for secret in SECRETS)


def test_existing_files_need_force_and_writes_are_whole(tmp_path: Path) -> None:
    out = tmp_path / "t.md"
    out.write_text("keep me")
    refused = export(SAMPLES / "openai-chat.flow", "-o", out)
    assert refused.exit_code == 2 and "--force" in refused.stderr
    assert out.read_text() == "keep me"
    assert export(SAMPLES / "openai-chat.flow", "-o", out, "--force").exit_code == 0
    assert out.read_text().startswith("# ") and not list(tmp_path.glob(".t.md.*"))


def test_format_comes_from_the_extension_or_must_be_given(tmp_path: Path) -> None:
    assert export(SAMPLES / "openai-chat.flow", "-o", tmp_path / "a.jsonl").exit_code == 0
    unknown = export(SAMPLES / "openai-chat.flow", "-o", tmp_path / "a.txt")
    assert unknown.exit_code == 2 and "--format" in unknown.stderr


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = export(tmp_path / "nope.flow", "-o", tmp_path / "a.har")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "no such file" in result.stderr and not (tmp_path / "a.har").exists()
