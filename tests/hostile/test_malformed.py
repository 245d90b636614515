"""Malformed captures: every one gives a one-line error or a note, never a traceback, and
every JSON we write is strict (no NaN, no Infinity).

Each capture goes through ``analyze --json``, ``analyze`` (the table) and ``export`` as HAR
(to stdout and to a file), JSONL and Markdown, in-process. What each run must show is in
:func:`check_run`; ``tests/hostile/test_fuzz.py`` uses it too.
"""

from __future__ import annotations

import copy
import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from mitmproxy import http

from sse_inspect.cli import main

from .. import flows

T0 = flows.T0
DEEP = "[" * 100_000 + "]" * 100_000
"""Too deep for :func:`json.loads` (a ``RecursionError``, not a ``ValueError``)."""
MIDDLE = "[" * 3_000 + "]" * 3_000
"""Deep enough for recursive Python code, not for :func:`json.loads`."""

CHAT = [
    b'data: {"choices":[{"index":0,"delta":{"content":"Hel"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{"content":"lo"}}]}\n\n',
    b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n',
]
DONE = b"data: [DONE]\n\n"


# -- running the commands and checking what they did -------------------------------------


def runs(capture: Path, out_dir: Path, *extra: str) -> list[tuple[list[str], Result]]:
    """Every command on ``capture``: (argv, result)."""
    cli = CliRunner()
    har_file = out_dir / "out.har"
    har_file.unlink(missing_ok=True)
    commands = [
        ["analyze", "--json", *extra, str(capture)],
        ["analyze", *extra, str(capture)],
        ["export", str(capture), "-o", "-", "--format", "har"],
        ["export", str(capture), "-o", str(har_file)],
        ["export", str(capture), "-o", "-", "--format", "jsonl"],
        ["export", str(capture), "-o", "-", "--format", "md"],
    ]
    done = []
    for argv in commands:
        result = cli.invoke(main, argv)
        done.append((argv, result))
        if argv[-1] == str(har_file) and har_file.exists():
            check_json(har_file.read_bytes(), argv)
    return done


def _reject(name: str) -> Any:
    raise ValueError(f"not strict JSON: {name}")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses ``NaN``, ``Infinity`` and ``-Infinity``."""
    return json.loads(text, parse_constant=_reject)


def check_json(data: bytes, argv: list[str]) -> None:
    text = data.decode("utf-8")  # strict: what we write is UTF-8
    if "jsonl" in argv:
        for line in text.splitlines():
            strict_json(line)
    else:
        strict_json(text)


def check_run(argv: list[str], result: Result) -> None:
    """Exit 0, 1 or 2; no exception but the exit; at most one line on stderr; strict JSON."""
    where = f"{' '.join(argv)}\n{result.output}"
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{where}\n{result.exc_info}"
    )
    assert result.exit_code in {0, 1, 2}, where
    assert "Traceback" not in result.output, where
    assert len(result.stderr.splitlines()) <= 1, where
    stdout = result.stdout_bytes
    stdout.decode("utf-8")
    if result.exit_code != 0 and not stdout.strip():
        return
    if "--json" in argv or "har" in argv[-1:] or "jsonl" in argv[-1:]:
        check_json(stdout, argv)


def check_all(capture: Path, out_dir: Path, *extra: str) -> dict[str, Any] | None:
    """Run everything on ``capture``; the ``analyze --json`` document, if one was written."""
    doc = None
    for argv, result in runs(capture, out_dir, *extra):
        check_run(argv, result)
        if "--json" in argv and result.stdout.strip():
            doc = strict_json(result.stdout)
    return doc


def only_stream(doc: dict[str, Any] | None) -> dict[str, Any]:
    assert doc is not None
    (stream,) = doc["streams"]
    assert isinstance(stream, dict)
    return stream


def notes(record: dict[str, Any]) -> str:
    return " | ".join(record["notes"])


# -- bad addon metadata (Contract 2) ----------------------------------------------------


def chat_flow(done: bool = True) -> http.HTTPFlow:
    body = [*CHAT, DONE] if done else CHAT
    return flows.sse_flow([(0.1 * (i + 1), c) for i, c in enumerate(body)])


def set_meta(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        meta.update(changes)

    return change


def set_chunk(i: int, pos: int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(meta: dict[str, Any]) -> None:
        meta["chunks"][i][pos] = value

    return change


BAD_VALUES: dict[str, Any] = {
    "nan": math.nan,
    "inf": math.inf,
    "-inf": -math.inf,
    "10**400": 10**400,
    "-1e18": -1e18,
    "1e300": 1e300,
    "zero": 0,
    "year-2200": 7.3e9,
    "string": "1700000000.1",
    "none": None,
    "true": True,
    "list": [T0],
}

META_CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    **{f"first-time-{k}": set_chunk(0, 0, v) for k, v in BAD_VALUES.items()},
    **{f"last-time-{k}": set_chunk(-1, 0, v) for k, v in BAD_VALUES.items()},
    **{f"size-{k}": set_chunk(1, 1, v) for k, v in BAD_VALUES.items() if k != "zero"},
    "size-negative": set_chunk(1, 1, -5),
    "size-float": set_chunk(1, 1, 5.0),
    "size-huge": set_chunk(0, 1, 2**64),
    "size-10**400-first": set_chunk(0, 1, 10**400),
    "complete-string-false": set_meta(complete="false"),
    "complete-string-true": set_meta(complete="true"),
    "complete-one": set_meta(complete=1),
    "complete-none": set_meta(complete=None),
    "complete-list": set_meta(complete=[True]),
    "truncated-string": set_meta(truncated="no"),
    "max-bytes-nan": set_meta(truncated=True, max_bytes=math.nan),
    "version-string": set_meta(version="1"),
    "version-true": set_meta(version=True),
    "version-float": set_meta(version=1.0),
    "version-huge": set_meta(version=10**400),
    "version-99": set_meta(version=99),
    "chunks-dict": set_meta(chunks={"0": [T0, 5]}),
    "chunks-string": set_meta(chunks="[[1, 2]]"),
    "chunks-none": set_meta(chunks=None),
    "chunks-int": set_meta(chunks=10**400),
    "chunks-empty": set_meta(chunks=[]),
    "chunks-flat": set_meta(chunks=[T0, 5, T0, 6]),
    "chunk-triple": set_chunk(0, slice(None), [T0, 5, 6]),
    "chunk-single": set_chunk(0, slice(None), [T0]),
    "chunk-dict": lambda meta: meta["chunks"].__setitem__(0, {"t": T0, "n": 5}),
    "chunk-deep": lambda meta: meta["chunks"].__setitem__(0, [[[[[[T0]]]]], 5]),
    "times-backwards": lambda meta: meta["chunks"].reverse(),
    "times-before-request": lambda meta: [c.__setitem__(0, c[0] - 100) for c in meta["chunks"]],
}


@pytest.mark.parametrize("case", META_CASES, ids=list(META_CASES))
def test_bad_metadata_gives_a_note_never_a_crash(case: str, tmp_path: Path) -> None:
    f = chat_flow()
    meta = copy.deepcopy(f.metadata["sse_inspect"])
    META_CASES[case](meta)
    f.metadata["sse_inspect"] = meta
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["text"] == "Hello"
    for key in ("ttfb_ms", "ttft_ms", "duration_ms"):
        assert record[key] is None or record[key] >= 0, record
    gaps = record["gap_ms"] or {}
    assert all(v >= 0 for v in gaps.values()), record


@pytest.mark.parametrize("key", ["nan", "inf", "10**400", "-1e18", "zero", "year-2200"])
def test_a_chunk_time_that_is_no_time_drops_the_timing_with_a_note(
    key: str, tmp_path: Path
) -> None:
    f = chat_flow()
    f.metadata["sse_inspect"]["chunks"][1][0] = BAD_VALUES[key]
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["timing"] == "none"
    assert "per-chunk timing dropped: chunk 2 has time" in notes(record)


@pytest.mark.parametrize("size", [-5, 5.0, "5", True, math.nan])
def test_a_chunk_size_that_is_no_byte_count_drops_the_timing_with_a_note(
    size: Any, tmp_path: Path
) -> None:
    f = chat_flow()
    f.metadata["sse_inspect"]["chunks"][1][1] = size
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["timing"] == "none"
    assert "per-chunk timing dropped: chunk 2 has size" in notes(record)


@pytest.mark.parametrize("value", ["false", "true", 1, None, [True]])
def test_only_true_counts_as_complete(value: Any, tmp_path: Path) -> None:
    f = chat_flow(done=False)  # no end marker, so the transport decides
    f.metadata["sse_inspect"]["complete"] = value
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["complete"] is False
    assert "'complete' is" in notes(record) and "taken as cut" in notes(record)


def test_true_is_complete_without_a_note(tmp_path: Path) -> None:
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [chat_flow()]), tmp_path))
    assert record["complete"] is True and record["notes"] == []
    assert record["timing"] == "per-chunk"


def test_chunk_times_going_backwards_are_clamped_with_a_note(tmp_path: Path) -> None:
    f = chat_flow()
    chunks = f.metadata["sse_inspect"]["chunks"]
    chunks[1][0] = chunks[0][0] - 0.05  # 50 ms before the chunk ahead of it
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["timing"] == "per-chunk"
    assert "chunk times go backwards: 1 of 4 chunks" in notes(record)
    assert "by up to 50 ms" in notes(record)
    assert min(record["gap_ms"].values()) >= 0


def test_chunk_times_before_the_request_start_are_clamped_with_a_note(tmp_path: Path) -> None:
    f = chat_flow()
    f.request.timestamp_start = T0 + 0.25  # after the first two chunks
    record = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert record["timing"] == "per-chunk"
    assert "chunk times come before the request start: 2 of 4" in notes(record)
    assert record["ttfb_ms"] == 0 and record["ttft_ms"] == 0


# -- bad timestamps, statuses and bytes of the flow itself -------------------------------


def set_request_start(v: Any) -> Callable[[http.HTTPFlow], None]:
    def change(f: http.HTTPFlow) -> None:
        f.request.timestamp_start = v

    return change


def set_response(attr: str, v: Any) -> Callable[[http.HTTPFlow], None]:
    def change(f: http.HTTPFlow) -> None:
        setattr(f.response, attr, v)

    return change


def latin1_headers(f: http.HTTPFlow) -> None:
    assert f.response is not None
    f.request.headers.fields = (*f.request.headers.fields, (b"x-caf\xe9", b"cr\xe8me br\xfbl\xe9e"))
    f.response.headers.fields = (*f.response.headers.fields, (b"x-note", b"na\xefve"))


def bad_ipv6_host(f: http.HTTPFlow) -> None:
    f.request.host = "exa[mple.com"


def bad_ipv6_host_messages(f: http.HTTPFlow) -> None:
    """A URL that only the dialects after OpenAI's split (Anthropic's, Gemini's rule)."""
    f.request.host = "[exa]mple.com]"
    f.request.path = "/v1/messages"


FLOW_CASES: dict[str, Callable[[http.HTTPFlow], None]] = {
    **{
        f"request-start-{k}": set_request_start(v)
        for k, v in BAD_VALUES.items()
        if k in {"nan", "inf", "-inf", "10**400", "-1e18", "1e300", "zero", "year-2200"}
    },
    "response-start-nan": set_response("timestamp_start", math.nan),
    "response-start-inf": set_response("timestamp_start", math.inf),
    "response-end-nan": set_response("timestamp_end", math.nan),
    "response-end-10**400": set_response("timestamp_end", 10**400),
    "response-end-before-start": set_response("timestamp_end", T0 - 1000),
    "status-0": set_response("status_code", 0),
    "status-negative": set_response("status_code", -200),
    "status-1000": set_response("status_code", 1000),
    "status-10**400": set_response("status_code", 10**400),
    "latin-1-headers": latin1_headers,
    "bad-ipv6-host": bad_ipv6_host,
    "bad-ipv6-host-messages": bad_ipv6_host_messages,
    "latin-1-path": lambda f: setattr(f.request, "path", b"/v1/chat/completions?q=caf\xe9"),
    "latin-1-method": lambda f: setattr(f.request, "method", b"P\xd6ST"),
}


@pytest.mark.parametrize("case", FLOW_CASES, ids=list(FLOW_CASES))
@pytest.mark.parametrize("record", [True, False], ids=["recorded", "plain"])
def test_bad_flow_fields_give_a_note_never_a_crash(case: str, record: bool, tmp_path: Path) -> None:
    f = chat_flow()
    if not record:
        del f.metadata["sse_inspect"]
    FLOW_CASES[case](f)
    stream = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert stream["text"] == "Hello" or stream["dialect"] == "anthropic"  # by its URL
    for key in ("ttfb_ms", "ttft_ms", "duration_ms"):
        assert stream[key] is None or stream[key] >= 0, stream


@pytest.mark.parametrize("value", [math.nan, -1e18, 10**400, 0])
def test_a_request_start_that_is_no_time_is_unknown_with_a_note(value: Any, tmp_path: Path) -> None:
    f = chat_flow()
    f.request.timestamp_start = value
    stream = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert stream["timing"] == "none" and stream["ttft_ms"] is None
    assert "the request start" in notes(stream) and "taken as unknown" in notes(stream)


@pytest.mark.parametrize("value", [0, -200, 1000, 10**400])
def test_a_status_outside_100_to_999_is_unknown_with_a_note(value: int, tmp_path: Path) -> None:
    f = chat_flow()
    assert f.response is not None
    f.response.status_code = value
    stream = only_stream(check_all(flows.write(tmp_path / "c.flow", [f]), tmp_path))
    assert stream["status"] is None
    assert "is not an HTTP status (100 to 999): taken as unknown" in notes(stream)


def test_latin_1_header_bytes_export_as_text(tmp_path: Path) -> None:
    f = chat_flow()
    latin1_headers(f)
    path = flows.write(tmp_path / "c.flow", [f])
    check_all(path, tmp_path)
    doc = strict_json((tmp_path / "out.har").read_text("utf-8"))
    (entry,) = doc["log"]["entries"]
    request = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    response = {h["name"]: h["value"] for h in entry["response"]["headers"]}
    assert request["x-café"] == "crème brûlée" and response["x-note"] == "naïve"


def test_a_host_no_url_can_hold_is_percent_encoded_with_a_note(tmp_path: Path) -> None:
    f = chat_flow()
    bad_ipv6_host(f)
    path = flows.write(tmp_path / "c.flow", [f])
    stream = only_stream(check_all(path, tmp_path))
    assert stream["url"] == "http://exa%5Bmple.com:9/v1/chat/completions"
    assert "the request's host 'exa[mple.com:9' is not valid (Invalid IPv6 URL)" in notes(stream)
    doc = strict_json((tmp_path / "out.har").read_text("utf-8"))
    (entry,) = doc["log"]["entries"]
    assert entry["request"]["url"] == stream["url"]


def test_a_stream_url_mitmproxy_cannot_parse_is_kept_in_the_har() -> None:
    from sse_inspect.load import Stream
    from sse_inspect.present.har import har_document

    url = "http://exa[mple.com/v1/chat/completions"
    stream = Stream(
        source="x", flow_id="1", method="POST", url=url, request_headers=(),
        request_body=b"", status=200, response_headers=(), body=b"", chunks=None,
        request_start=None, response_start=None, response_end=None, complete=True,
    )  # fmt: skip
    (entry,) = har_document([stream])["log"]["entries"]
    assert entry["request"]["url"] == url


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1e18, 1e300])
def test_a_stream_made_by_hand_with_no_times_still_gives_strict_json(bad: float) -> None:
    """The loaders give only finite times; the public API's Stream can hold any, and every
    writer still writes strict JSON (and the terminal still draws)."""
    from rich.console import Console

    from sse_inspect.analysis.analysis import analyze
    from sse_inspect.load import Stream
    from sse_inspect.present.har import har_document
    from sse_inspect.present.json import document, frame_records, stream_record
    from sse_inspect.present.jsonl import jsonl_lines
    from sse_inspect.present.terminal import CadenceStrip, stream_details

    body = [*CHAT, DONE]
    stream = Stream(
        source="x", flow_id="1", method="POST", url="http://h/v1/chat/completions",
        request_headers=(), request_body=b"", status=200, response_headers=(),
        body=b"".join(body), chunks=tuple((bad if i == 1 else T0 + i, len(c)) for i, c in
        enumerate(body)), request_start=bad, response_start=bad, response_end=bad,
        complete=True,
    )  # fmt: skip
    a = analyze(stream)
    record = stream_record(a) | {"frames": frame_records(a)}
    strict_json(json.dumps(document([record]), allow_nan=False))
    strict_json(json.dumps(har_document([a]), allow_nan=False))
    for line in jsonl_lines([a]):
        strict_json(line)
    console = Console(width=100, file=open(os.devnull, "w"))  # noqa: SIM115
    console.print(stream_details(a, 1, False))
    console.print(CadenceStrip(sorted([0.0, 5.0, 9.0, bad]), 1000.0))


# -- bad HAR entries --------------------------------------------------------------------


def chat_entry() -> dict[str, Any]:
    entry = flows.har_entry("".join(c.decode() for c in [*CHAT, DONE]))
    entry["request"]["url"] = "https://api.example.com/v1/chat/completions"
    return entry


RAW = "RAW:"
"""A value written into the HAR's text as it is (JSON's ``Infinity``, 5,000 digits)."""


def at(*path: str | int, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(entry: dict[str, Any]) -> None:
        obj: Any = entry
        for key in path[:-1]:
            obj = obj[key]
        obj[path[-1]] = value

    return change


def messages(times: list[Any]) -> Callable[[dict[str, Any]], None]:
    def change(entry: dict[str, Any]) -> None:
        entry["_eventSourceMessages"] = [
            {"time": t, "eventName": "message", "eventId": "", "data": "x"} for t in times
        ]

    return change


EPOCH = 1735787045.5
HAR_CASES: dict[str, Callable[[dict[str, Any]], None]] = {
    "status-infinity": at("response", "status", value=f"{RAW}Infinity"),
    "status-nan": at("response", "status", value=f"{RAW}NaN"),
    "status-5000-digits": at("response", "status", value=RAW + "9" * 5000),
    "status-400-digits": at("response", "status", value=RAW + "9" * 400),
    "status-1e400": at("response", "status", value=f"{RAW}1e400"),
    "status-string": at("response", "status", value="200"),
    "status-word": at("response", "status", value="OK"),
    "status-float": at("response", "status", value=200.5),
    "status-bool": at("response", "status", value=True),
    "status-none": at("response", "status", value=None),
    "status-negative": at("response", "status", value=-1),
    "status-1000": at("response", "status", value=1000),
    "timings-word": at("timings", "wait", value="soon"),
    "timings-infinity": at("timings", "wait", value=f"{RAW}Infinity"),
    "timings-nan": at("timings", "wait", value=f"{RAW}NaN"),
    "timings-huge": at("timings", "wait", value=1e308),
    "timings-huge-sum": lambda e: e["timings"].update(blocked=1e308, send=1e308, wait=1e308),
    "timings-10**400": at("timings", "wait", value=f"{RAW}{10**400}"),
    "timings-negative-huge": at("timings", "wait", value=-1e308),
    "timings-list": at("timings", value=[1, 2]),
    "timings-string": at("timings", value="fast"),
    "time-word": at("time", value="long"),
    "time-infinity": at("time", value=f"{RAW}Infinity"),
    "time-huge": at("time", value=1e308),
    "time-10**400": at("time", value=f"{RAW}{10**400}"),
    "date-garbage": at("startedDateTime", value="yesterday"),
    "date-number": at("startedDateTime", value=1735787045),
    "date-none": at("startedDateTime", value=None),
    "date-year-1": at("startedDateTime", value="0001-01-01T00:00:00"),
    "date-year-1-utc": at("startedDateTime", value="0001-01-01T00:00:00Z"),
    "date-year-9999": at("startedDateTime", value="9999-12-31T23:59:59Z"),
    "date-1970": at("startedDateTime", value="1970-01-01T00:00:00Z"),
    "date-empty": at("startedDateTime", value=""),
    "latin-1-header": lambda e: e["response"]["headers"].append(
        {"name": "x-note", "value": "naïve café"}
    ),
    "lone-surrogate-header": lambda e: e["response"]["headers"].append(
        {"name": "x-note", "value": "caf\udce9"}
    ),
    "escaped-surrogate-header": lambda e: e["response"]["headers"].append(
        {"name": "x-note", "value": RAW + '"caf\\udce9"'}
    ),
    "header-number": lambda e: e["response"]["headers"].append({"name": "x-n", "value": 5}),
    "header-no-value": lambda e: e["response"]["headers"].append({"name": "x-n"}),
    "headers-dict": at("response", "headers", value={"content-type": "text/event-stream"}),
    "url-bad-ipv6": at("request", "url", value="https://exa[mple.com/v1/chat/completions"),
    "url-number": at("request", "url", value=5),
    "method-number": at("request", "method", value=5),
    "text-number": at("response", "content", "text", value=5),
    "text-bad-base64": lambda e: e["response"]["content"].update(encoding="base64", text="%%%"),
    "messages-nan": messages([EPOCH, f"{RAW}NaN", EPOCH + 1, EPOCH + 2]),
    "messages-infinity": messages([EPOCH, EPOCH + 1, EPOCH + 2, f"{RAW}Infinity"]),
    "messages-huge": messages([EPOCH, 1e300, EPOCH + 1, EPOCH + 2]),
    "messages-10**400": messages([EPOCH, f"{RAW}{10**400}", EPOCH + 1, EPOCH + 2]),
    "messages-negative": messages([-1e18, EPOCH, EPOCH + 1, EPOCH + 2]),
    "messages-backwards": messages([EPOCH + 3, EPOCH + 2, EPOCH + 1, EPOCH]),
    "messages-strings": messages(["now", "later", "then", "end"]),
    "messages-too-few": messages([EPOCH]),
    "messages-not-a-list": at("_eventSourceMessages", value={"time": EPOCH}),
    "deep-comment": at("comment", value=f"{RAW}{DEEP}"),
    "entry-not-a-dict": lambda e: e.clear(),
    "request-missing": lambda e: e.pop("request"),
}


def write_har(path: Path, entries: list[dict[str, Any]], indent: int | None = None) -> Path:
    """A HAR whose ``RAW:`` strings are written into the JSON text unquoted."""
    raws: dict[str, str] = {}

    def mark(obj: Any) -> Any:
        if isinstance(obj, dict):
            return {k: mark(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [mark(v) for v in obj]
        if isinstance(obj, str) and obj.startswith(RAW):
            key = f"@@raw{len(raws)}@@"
            raws[key] = obj[len(RAW) :]
            return key
        return obj

    doc = {"log": {"version": "1.2", "entries": mark(entries)}}
    text = json.dumps(doc, indent=indent, ensure_ascii=False)
    for key, raw in raws.items():
        text = text.replace(f'"{key}"', raw)
    path.write_text(text, "utf-8", errors="surrogatepass")
    return path


@pytest.mark.parametrize("indent", [None, 1], ids=["one-line", "pretty"])
@pytest.mark.parametrize("case", HAR_CASES, ids=list(HAR_CASES))
def test_bad_har_entries_give_a_note_or_one_line_never_a_crash(
    case: str, indent: int | None, tmp_path: Path
) -> None:
    entry = chat_entry()
    HAR_CASES[case](entry)
    path = write_har(tmp_path / "c.har", [entry], indent)
    check_all(path, tmp_path)
    # The entry after a bad one is read all the same (or the file is refused in one line).
    path = write_har(tmp_path / "two.har", [entry, chat_entry()], indent)
    check_all(path, tmp_path)


@pytest.mark.parametrize(
    "status", [f"{RAW}Infinity", f"{RAW}NaN", f"{RAW}1e400", "200", "OK", True, None, 99, 1000]
)
def test_a_har_status_that_is_no_status_is_unknown_with_a_note(status: Any, tmp_path: Path) -> None:
    entry = chat_entry()
    entry["response"]["status"] = status
    stream = only_stream(check_all(write_har(tmp_path / "c.har", [entry]), tmp_path))
    assert stream["status"] is None and stream["text"] == "Hello"
    assert "is not an HTTP status (100 to 999): taken as unknown" in notes(stream)


@pytest.mark.parametrize(
    "value", ["soon", f"{RAW}Infinity", f"{RAW}NaN", 1e308, f"{RAW}{10**400}", True]
)
def test_a_har_timing_that_is_no_duration_is_ignored_with_a_note(
    value: Any, tmp_path: Path
) -> None:
    entry = chat_entry()
    entry["timings"]["wait"] = value
    stream = only_stream(check_all(write_har(tmp_path / "c.har", [entry]), tmp_path))
    assert "HAR timings.wait" in notes(stream) and "ignored" in notes(stream)
    assert stream["ttfb_ms"] == 2.0  # blocked 1 + send 1, without the wait


@pytest.mark.parametrize(
    "date", ["yesterday", 1735787045, None, "0001-01-01T00:00:00", "9999-12-31T23:59:59Z"]
)
def test_a_har_date_that_is_no_time_makes_the_times_unknown_with_a_note(
    date: Any, tmp_path: Path
) -> None:
    entry = chat_entry()
    entry["startedDateTime"] = date
    stream = only_stream(check_all(write_har(tmp_path / "c.har", [entry]), tmp_path))
    assert stream["ttfb_ms"] is None and stream["duration_ms"] is None
    assert "HAR startedDateTime" in notes(stream) and "times are unknown" in notes(stream)
    assert stream["text"] == "Hello"


@pytest.mark.parametrize("bad", [f"{RAW}NaN", 1e300, f"{RAW}{10**400}", -1e18])
def test_har_event_times_that_are_no_times_drop_the_timing_with_a_note(
    bad: Any, tmp_path: Path
) -> None:
    entry = chat_entry()
    messages([EPOCH + 0.5, bad, EPOCH + 1, EPOCH + 2])(entry)
    stream = only_stream(check_all(write_har(tmp_path / "c.har", [entry]), tmp_path))
    assert stream["timing"] == "none"
    assert "per-chunk timing dropped: chunk 2 has time" in notes(stream)


def test_a_har_url_mitmproxy_cannot_parse_is_refused_in_one_line(tmp_path: Path) -> None:
    entry = chat_entry()
    entry["request"]["url"] = "https://exa[mple.com/v1/chat/completions"
    for argv, result in runs(write_har(tmp_path / "c.har", [entry]), tmp_path):
        check_run(argv, result)
        assert "HAR entry 0 is invalid (ValueError: Invalid IPv6 URL)" in result.stderr


def test_a_har_too_deep_for_json_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "deep.har"
    path.write_text('{"log": {"version": "1.2", "entries": [' + DEEP + "]}}")
    for argv, result in runs(path, tmp_path):
        check_run(argv, result)
        assert result.exit_code == 2 and "nested too deeply" in result.stderr


def test_lone_surrogate_escapes_in_events_give_utf_8_json(tmp_path: Path) -> None:
    """JSON may escape a lone surrogate (``"\\ud800"``), which no UTF-8 output can hold:
    the JSON we write has U+FFFD (or, for an escaped byte, its Latin-1 character)."""
    body = [
        b'data: {"choices":[{"index":0,"delta":{"content":"caf\\udce9 \\ud800"},'
        b'"finish_reason":"\\ud800"}],"model":"x\\udfff"}\n\n',
        DONE,
    ]
    f = flows.sse_flow([(0.1, body[0]), (0.2, body[1])])
    path = str(flows.write(tmp_path / "c.flow", [f]))
    results = {}
    for argv in (
        ["analyze", "--json", path],
        ["export", path, "-o", "-", "--format", "har"],
        ["export", path, "-o", "-", "--format", "jsonl"],
    ):
        results[argv[1]] = result = CliRunner().invoke(main, argv)
        check_run(argv, result)
        assert result.exit_code == 0
    stream = only_stream(strict_json(results["--json"].stdout))
    assert stream["text"] == "café \ufffd" and stream["finish_reason"] == "\ufffd"
    assert stream["model"] == "x\ufffd"


# -- deep JSON in events, for every dialect ---------------------------------------------

DIALECTS = ["openai-chat", "openai-responses", "anthropic", "gemini", "chatgpt-web", "generic"]


def deep_events(deep: str) -> list[bytes]:
    """Events each dialect parses, with ``deep`` where their JSON values go."""
    events = [
        ("message", deep),
        ("message", f'{{"choices":[{{"index":0,"delta":{{"content":{deep}}}}}]}}'),
        ("content_block_delta", f'{{"type":"content_block_delta","delta":{deep}}}'),
        ("message", f'{{"type":"response.output_text.delta","delta":{deep}}}'),
        ("message", f'{{"candidates":[{{"content":{{"parts":[{{"functionCall":{deep}}}]}}}}]}}'),
        ("message", f'{{"usageMetadata":{deep},"promptFeedback":{deep}}}'),
        ("delta", f'{{"p":"/message/content/parts/0","o":"append","v":{deep}}}'),
        ("delta", f'{{"v":{deep},"p":"","o":"patch"}}'),
        ("message", f'{{"v":{{"message":{{"content":{{"parts":[{deep}]}}}}}}}}'),
        ("error", f'{{"type":"error","error":{{"message":{deep},"code":{deep}}}}}'),
        ("message", f'{{"type":"response.failed","response":{{"error":{deep}}}}}'),
        (
            "message",
            f'{{"error":{deep},"choices":[{{"index":0,"delta":{{"tool_calls":{deep}}}}}]}}',
        ),
    ]
    return [*(f"event: {n}\ndata: {d}\n\n".encode() for n, d in events), *CHAT, DONE]


@pytest.mark.parametrize("depth", ["100000", "3000"])
@pytest.mark.parametrize("dialect", [None, *DIALECTS])
def test_deep_json_in_events_never_crashes_a_dialect(
    dialect: str | None, depth: str, tmp_path: Path
) -> None:
    deep = DEEP if depth == "100000" else MIDDLE
    body = deep_events(deep)
    f = flows.sse_flow([(0.1 * (i + 1), c) for i, c in enumerate(body)])
    path = flows.write(tmp_path / "c.flow", [f])
    extra = ("--dialect", dialect) if dialect else ()
    only_stream(check_all(path, tmp_path, *extra))
    har_entry = chat_entry()
    har_entry["response"]["content"]["text"] = b"".join(body).decode()
    only_stream(check_all(write_har(tmp_path / "c.har", [har_entry]), tmp_path, *extra))
