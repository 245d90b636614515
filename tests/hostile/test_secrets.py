"""Secrets planted everywhere a capture can carry one: no output shows them by default.

One capture holds three exchanges: a chat stream whose URL, headers and JSON body carry
secrets under every kind of name (issue 11: 14 of 31 such secrets leaked), an event stream
sent a form-encoded OAuth body, and a token endpoint's JSON answer (HAR ``--all-flows``).
Each secret is a unique marker; the test looks for it in the whole text of every output,
so a secret repeated somewhere new (a HAR field re-derived from the URL) is caught too.
"""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sse_inspect.cli import main
from sse_inspect.load.stream import Stream
from sse_inspect.present.redact import (
    REDACTED,
    redact_body,
    redact_stream,
    redact_url,
    secret_header,
    secret_name,
)

from .. import flows

# --- the secrets, by where they are planted --------------------------------------------------

QUERY = {
    "api-key": "SECRET-azure-api-key-7f3a",
    "sig": "SECRET-sas-sig-19c2",
    "X-Amz-Signature": "SECRET-amz-signature-5d01",
    "X-Amz-Credential": "SECRET-amz-credential-aa42",
    "X-Amz-Security-Token": "SECRET-amz-query-token-0b7e",
    "client_secret": "SECRET-query-client-secret-61f0",
    "code": "SECRET-oauth-code-c3d9",
    "access_token": "SECRET-query-access-token-8e21",
    "apiKey": "SECRET-query-camel-apikey-4b6c",
}
TOKEN_TWICE = ("SECRET-repeated-token-first-11aa", "SECRET-repeated-token-second-22bb")
AFTER_SEMICOLON = "SECRET-semicolon-key-9a0d"
URL = (
    "https://api.anthropic.com/v1/messages?alt=sse&"
    + "&".join(f"{k}={v}" for k, v in QUERY.items())
    + f"&token={TOKEN_TWICE[0]}&token={TOKEN_TWICE[1]}&max_tokens=77;key={AFTER_SEMICOLON}"
)

REQUEST_HEADERS = {
    "Authorization": "Bearer SECRET-bearer-authorization-0c55",
    "Proxy-Authorization": "Basic SECRET-proxy-authorization-7d12",
    "Cookie": "session=SECRET-request-cookie-3e90; theme=dark",
    "x-api-key": "SECRET-x-api-key-header-a1b2",
    "api-key": "SECRET-azure-header-key-c3d4",
    "x-goog-api-key": "SECRET-goog-api-key-e5f6",
    "OpenAI-Organization": "SECRET-openai-organization-0a1b",
    "OpenAI-Project": "SECRET-openai-project-2c3d",
    "X-Amz-Security-Token": "SECRET-amz-header-security-token-4e5f",
    "Ocp-Apim-Subscription-Key": "SECRET-apim-subscription-key-6a7b",
    "cf-aig-authorization": "Bearer SECRET-cf-aig-authorization-8c9d",
    "X-Auth-Token": "SECRET-x-auth-token-0e1f",
    "X-CSRF-Token": "SECRET-csrf-token-2a3b",
    "x_api_key": "SECRET-underscore-header-key-4c5d",
    "Referer": "https://app.example.com/chat?token=SECRET-referer-token-6e7f&tab=1",
}
INNOCENT_REQUEST_HEADERS = {
    "Content-Type": "application/json",
    "anthropic-version": "2023-06-01",
    "anthropic-beta": "innocent-beta-2025",
    "Accept": "text/event-stream",
    "X-Stainless-Retry-Count": "0",
    "Keep-Alive": "timeout=5",
}

LOCATION = "https://login.example.com/cb?token=SECRET-location-token-8a9b&state=innocent-state"
RESPONSE_HEADERS = {
    "Set-Cookie": "sid=SECRET-set-cookie-0c1d; Path=/; HttpOnly",
    "Location": LOCATION,
    "Content-Location": "/v1/messages/1?access_token=SECRET-content-location-2e3f",
    "Link": '<https://api.example.com/next?sig=SECRET-link-sig-4a5b>; rel="next"',
    "anthropic-organization-id": "SECRET-anthropic-organization-6c7d",
}
INNOCENT_RESPONSE_HEADERS = {
    "Content-Type": "text/event-stream; charset=utf-8",
    "request-id": "req_innocent_0001",
    "anthropic-ratelimit-tokens-remaining": "98765",
}

BODY_SECRETS = {
    "api_key": "SECRET-body-api-key-8e9f",
    "apiKey": "SECRET-body-camel-apikey-0a2c",
    "client_secret": "SECRET-body-client-secret-1b3d",
    "password": "SECRET-body-password-2c4e",
    "auth.token": "SECRET-body-nested-auth-token-3d5f",
    "x_api_key": "SECRET-body-deep-x-api-key-4e6a",
    "access_key_id": "SECRET-body-access-key-id-5f7b",
    "secret_access_key": "SECRET-body-secret-access-key-6a8c",
}
PROMPT = "What does the innocent prompt say about streaming?"
ANSWER = "The innocent answer arrives token by token."
REQUEST_BODY: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1234,
    "stream": True,
    "api_key": BODY_SECRETS["api_key"],
    "metadata": {"user_id": "innocent-user-id", "apiKey": BODY_SECRETS["apiKey"]},
    "config": {"client_secret": BODY_SECRETS["client_secret"], "keywords": ["innocent-kw"]},
    "user": {"name": "innocent-name", "password": BODY_SECRETS["password"]},
    "auth": {"token": BODY_SECRETS["auth.token"], "kind": "bearer"},
    "extra": [{"deep": [{"x_api_key": BODY_SECRETS["x_api_key"]}]}],
    "credentials": {
        "access_key_id": BODY_SECRETS["access_key_id"],
        "secret_access_key": BODY_SECRETS["secret_access_key"],
    },
    "innocent": {
        "max_output_tokens": 55,
        "prompt_tokens": 66,
        "tokens": 77,
        "author": "innocent-author",
        "authority": "innocent-authority",
        "budget_tokens": 88,
    },
    "messages": [{"role": "user", "content": PROMPT}],
}

FORM_SECRETS = {
    "client_secret": "SECRET-form-client-secret-7b9d",
    "code": "SECRET-form-code-8cae",
    "refresh_token": "SECRET-form-refresh-token-9dbf",
    "password": "SECRET-form-password-aec0",
}
FORM_BODY = "grant_type=refresh_token&client_id=innocent-client&" + "&".join(
    f"{k}={v}" for k, v in FORM_SECRETS.items()
)

TOKEN_RESPONSE_SECRETS = {
    "access_token": "SECRET-response-access-token-bfd1",
    "refresh_token": "SECRET-response-refresh-token-c0e2",
}

URL_SECRETS = [*QUERY.values(), *TOKEN_TWICE, AFTER_SEMICOLON]
PLANTED = [
    URL,
    REQUEST_HEADERS,
    RESPONSE_HEADERS,
    REQUEST_BODY,
    FORM_BODY,
    TOKEN_RESPONSE_SECRETS,
]
SECRETS = re.findall(r"SECRET-[a-z0-9-]+[a-z0-9]", json.dumps(PLANTED))


def test_every_secret_is_a_distinct_marker() -> None:
    assert len(SECRETS) == len(set(SECRETS)) >= 31
    assert all(s.startswith("SECRET-") for s in SECRETS)
    assert not [a for a in SECRETS for b in SECRETS if a != b and a in b]


# --- the capture -----------------------------------------------------------------------------


def _events(*pairs: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(f"event: {e}\ndata: {json.dumps(d)}\n\n".encode() for e, d in pairs)


ANTHROPIC_STREAM = _events(
    (
        "message_start",
        {
            "type": "message_start",
            "message": {
                "id": "msg_1",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-5",
                "content": [],
                "usage": {"input_tokens": 12, "output_tokens": 1},
            },
        },
    ),
    (
        "content_block_start",
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
    ),
    (
        "content_block_delta",
        {
            "type": "content_block_delta",
            "index": 0,
            "delta": {"type": "text_delta", "text": ANSWER},
        },
    ),
    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
    (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": 9},
        },
    ),
    ("message_stop", {"type": "message_stop"}),
)


def _pairs(d: dict[str, str]) -> list[tuple[bytes, bytes]]:
    return [(k.encode(), v.encode()) for k, v in d.items()]


def _request(f: Any, url: str, headers: dict[str, str], body: bytes) -> None:
    f.request.url = url
    f.request.headers.clear()
    for k, v in headers.items():
        f.request.headers.add(k, v)
    f.request.content = body


def capture(tmp_path: Path) -> Path:
    chat = flows.sse_flow(
        [(0.2, ANTHROPIC_STREAM)],
        url=URL,
        headers=_pairs({**INNOCENT_RESPONSE_HEADERS, **RESPONSE_HEADERS}),
    )
    body = json.dumps(REQUEST_BODY).encode()
    _request(chat, URL, {**INNOCENT_REQUEST_HEADERS, **REQUEST_HEADERS}, body)

    form = flows.sse_flow(
        [(0.1, b"data: innocent-form-stream-data\n\n")],
        url="https://auth.example.com/oauth/stream",
    )
    form_headers = {"Content-Type": "application/x-www-form-urlencoded"}
    _request(form, "https://auth.example.com/oauth/stream", form_headers, FORM_BODY.encode())

    token = flows.json_flow()
    _request(token, "https://auth.example.com/oauth/token", form_headers, b"grant_type=x")
    token.request.method = "POST"
    assert token.response is not None
    token.response.content = json.dumps(
        {**TOKEN_RESPONSE_SECRETS, "token_type": "Bearer", "expires_in": 3600}
    ).encode()
    return flows.write(tmp_path / "secrets.flow", [chat, form, token])


@pytest.fixture
def secrets_flow(tmp_path: Path) -> Path:
    return capture(tmp_path)


def run(*args: str | Path) -> Result:
    # A wide page, so that no secret can hide by being wrapped onto two lines.
    result = CliRunner().invoke(main, list(map(str, args)), env={"COLUMNS": "2000"})
    assert result.exit_code == 0, result.output
    return result


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


# --- export ----------------------------------------------------------------------------------

EXPORTS = [
    pytest.param("har", ("--all-flows",), id="har --all-flows"),
    pytest.param("har", (), id="har"),
    pytest.param("jsonl", (), id="jsonl"),
    pytest.param("md", (), id="md"),
]


@pytest.mark.parametrize(("fmt", "extra"), EXPORTS)
def test_export_shows_no_secret_by_default(secrets_flow: Path, fmt: str, extra: tuple[str]) -> None:
    out = run("export", secrets_flow, "-o", "-", "--format", fmt, *extra)
    assert leaked(out.stdout) == []
    assert leaked(out.stderr) == []


def test_no_redact_keeps_every_secret_so_the_test_can_fail(secrets_flow: Path) -> None:
    har = run("export", secrets_flow, "-o", "-", "--format", "har", "--all-flows", "--no-redact")
    assert leaked(har.stdout) == SECRETS
    md = run("export", secrets_flow, "-o", "-", "--format", "md", "--no-redact")
    assert set(URL_SECRETS) <= set(leaked(md.stdout))


def har_entries(path: Path) -> list[dict[str, Any]]:
    out = run("export", path, "-o", "-", "--format", "har", "--all-flows")
    entries: list[dict[str, Any]] = json.loads(out.stdout)["log"]["entries"]
    return entries


def test_har_keeps_the_shape_and_every_innocent_value(secrets_flow: Path) -> None:
    chat, form, token = har_entries(secrets_flow)
    request, response = chat["request"], chat["response"]

    query = {(q["name"], q["value"]) for q in request["queryString"]}
    assert ("alt", "sse") in query and ("api-key", REDACTED) in query
    assert ("X-Amz-Signature", REDACTED) in query and ("code", REDACTED) in query
    assert [v for k, v in query if k == "token"] == [REDACTED]  # both, the same value
    # mitmproxy splits on & only: the ;key= pair rides in the previous value, redacted.
    assert ("max_tokens", f"77;key={REDACTED}") in query
    assert request["url"].startswith("https://api.anthropic.com/v1/messages?alt=sse&api-key=")
    assert request["url"] == chat["_sseMetrics"]["url"]

    headers = {h["name"]: h["value"] for h in request["headers"]}
    assert {k: headers[k] for k in INNOCENT_REQUEST_HEADERS} == INNOCENT_REQUEST_HEADERS
    for name in set(REQUEST_HEADERS) - {"Referer"}:
        assert headers[name] == REDACTED, name
    assert headers["Referer"] == f"https://app.example.com/chat?token={REDACTED}&tab=1"

    answer = {h["name"]: h["value"] for h in response["headers"]}
    assert {k: answer[k] for k in INNOCENT_RESPONSE_HEADERS} == INNOCENT_RESPONSE_HEADERS
    assert answer["Set-Cookie"] == answer["anthropic-organization-id"] == REDACTED
    redirect = f"https://login.example.com/cb?token={REDACTED}&state=innocent-state"
    assert answer["Location"] == response["redirectURL"] == redirect

    sent = json.loads(request["postData"]["text"])
    assert sent["model"] == "claude-sonnet-4-5" and sent["max_tokens"] == 1234
    assert sent["stream"] is True and sent["messages"] == REQUEST_BODY["messages"]
    assert sent["innocent"] == REQUEST_BODY["innocent"]
    assert sent["api_key"] == sent["auth"]["token"] == REDACTED
    assert sent["auth"]["kind"] == REDACTED  # under a secret key, every value goes
    assert sent["config"] == {"client_secret": REDACTED, "keywords": ["innocent-kw"]}
    assert sent["extra"] == [{"deep": [{"x_api_key": REDACTED}]}]
    assert sent["metadata"] == {"user_id": "innocent-user-id", "apiKey": REDACTED}
    assert ANSWER in response["content"]["text"]  # the stream is kept whole

    params = {(p["name"], p["value"]) for p in form["request"]["postData"]["params"]}
    assert ("grant_type", "refresh_token") in params and ("client_secret", REDACTED) in params
    assert ("client_id", "innocent-client") in params
    assert json.loads(token["response"]["content"]["text"]) == {
        "access_token": REDACTED,
        "refresh_token": REDACTED,
        "token_type": "Bearer",
        "expires_in": 3600,
    }


def test_markdown_keeps_the_conversation(secrets_flow: Path) -> None:
    md = run("export", secrets_flow, "-o", "-", "--format", "md").stdout
    assert PROMPT in md and ANSWER in md and "`claude-sonnet-4-5`" in md
    assert "alt=sse" in md and f"api-key={REDACTED}" in md


# --- analyze: it prints the URL too ----------------------------------------------------------

ANALYZE = [("--json",), ("--details",), ("--details", "--events", "--full")]


@pytest.mark.parametrize("args", ANALYZE, ids=" ".join)
def test_analyze_shows_no_secret_by_default(secrets_flow: Path, args: tuple[str]) -> None:
    out = run("analyze", secrets_flow, *args)
    assert "alt=sse" in out.stdout
    assert leaked(out.stdout) == [] and leaked(out.stderr) == []


def test_analyze_no_redact_shows_the_url(secrets_flow: Path) -> None:
    out = run("analyze", secrets_flow, "--json", "--no-redact")
    urls = [s["url"] for s in json.loads(out.stdout)["streams"]]
    assert URL in urls


# --- the rule itself -------------------------------------------------------------------------

SECRET_NAMES = [
    "key", "api_key", "api-key", "apiKey", "APIKey", "x_api_key", "X-API-KEY", "apikey",
    "x-goog-api-key", "Ocp-Apim-Subscription-Key", "private_key", "AWSAccessKeyId",
    "token", "access_token", "refresh_token", "id_token", "idToken", "sessionToken",
    "X-Amz-Security-Token", "X-Auth-Token", "x-csrf-token", "csrftoken", "accesstoken",
    "token_value", "secret", "client_secret", "clientSecret", "secret_access_key",
    "password", "passwd", "user_password", "pwd", "X-Amz-Signature", "signature", "sig",
    "X-Goog-Signature", "X-Amz-Credential", "credentials", "auth", "oauth_token", "Authorization",
    "Proxy-Authorization", "cf-aig-authorization", "authentication", "code", "code_verifier",
    "oauth_verifier", "client_assertion", "jwt", "session", "sessionid", "PHPSESSID",
    "JSESSIONID", "sid", "cookie", "Set-Cookie",
]  # fmt: skip
INNOCENT_NAMES = [
    "max_tokens", "max_output_tokens", "maxOutputTokens", "max_completion_tokens", "tokens",
    "prompt_tokens", "budget_tokens", "thinkingBudget", "max_token", "token_type", "token_count",
    "stop_token_ids", "author", "authority", ":authority", "authored", "keywords", "keys",
    "keep_alive", "Keep-Alive", "model", "stream", "alt", "messages", "content", "Content-Type",
    "anthropic-version", "anthropic-beta", "anthropic-ratelimit-tokens-remaining",
    "x-ratelimit-remaining-tokens", "X-Amz-Date", "X-Amz-SignedHeaders", "X-Amz-Algorithm",
    "error_code", "status_code", "country_code", "state", "signal", "sigma", "user_id",
    "grant_type", "client_id", "top_k", "temperature", "WWW-Authenticate",
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_names(name: str) -> None:
    assert secret_name(name), name


@pytest.mark.parametrize("name", INNOCENT_NAMES)
def test_innocent_names(name: str) -> None:
    assert not secret_name(name), name


def test_json_keys_code_and_session_are_content() -> None:
    # Gemini's executableCode.code and code tools' inputs, sessions' configuration.
    assert not secret_name("code", in_json=True) and not secret_name("session_id", in_json=True)
    assert secret_name("session_token", in_json=True) and secret_name("api_key", in_json=True)


def test_headers() -> None:
    for name in ("OpenAI-Organization", "openai-project", "anthropic-organization-id"):
        assert secret_header(name), name
    for name in ("Access-Control-Allow-Credentials", "Access-Control-Allow-Headers", "Host"):
        assert not secret_header(name), name


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://h/p?alt=sse", "https://h/p?alt=sse"),
        ("https://h/p?a=1;key=s&b=2", f"https://h/p?a=1;key={REDACTED}&b=2"),
        ("https://h/p?token=a&token=b", f"https://h/p?token={REDACTED}&token={REDACTED}"),
        ("https://h/p?api%2Dkey=s%20x", f"https://h/p?api%2Dkey={REDACTED}"),
        ("https://h/p?q=a%20b&sig=s#x", f"https://h/p?q=a%20b&sig={REDACTED}#x"),
        ("https://h/cb#access_token=s&state=1", f"https://h/cb#access_token={REDACTED}&state=1"),
        ("https://u:pw@h/p", f"https://u:{REDACTED}@h/p"),
        ("https://ghp_tok@github.com/x", f"https://{REDACTED}@github.com/x"),
        ("https://h/p?email=a@b.c&key=", "https://h/p?email=a@b.c&key="),
        ("https://h/p?key=REDACTED", "https://h/p?key=REDACTED"),
        (None, None),
    ],
)
def test_redact_url(url: str | None, expected: str | None) -> None:
    assert redact_url(url) == expected


def test_json_body_unchanged_byte_for_byte_without_secrets() -> None:
    body = b'{ "model":"m",  "max_tokens": 5,\n "stream": true, "x": 1.50, "y": "\\u00e9"}'
    assert redact_body(body, "application/json") is body
    assert redact_body(b"not json {", "application/json") == b"not json {"
    assert redact_body(b"\xff\xfe{", None) == b"\xff\xfe{"


def test_json_body_redacted_at_any_depth_keeping_the_rest() -> None:
    body = b'{"a": [{"b": {"password": 12, "ok": true, "empty": ""}}], "api_key": "s", "n": null}'
    out = json.loads(redact_body(body, "application/json"))
    assert out == {
        "a": [{"b": {"password": REDACTED, "ok": True, "empty": ""}}],
        "api_key": REDACTED,
        "n": None,
    }


def test_too_deep_to_read_is_redacted_whole() -> None:
    deep = b"[" * 100_000 + b'{"api_key": "s"}' + b"]" * 100_000
    assert redact_body(deep, "application/json") == REDACTED.encode()


def test_form_body() -> None:
    body = b"grant_type=authorization_code&code=abc&redirect_uri=https%3A%2F%2Fa%2Fcb"
    form = "application/x-www-form-urlencoded; charset=utf-8"
    assert redact_body(body, form) == body.replace(b"code=abc", b"code=" + REDACTED.encode())
    assert redact_body(b"code=abc", "text/plain") == b"code=abc"  # not a form: left alone


def test_redact_stream_is_idempotent_and_leaves_a_clean_stream_equal() -> None:
    clean = Stream(
        source="x",
        flow_id="1",
        method="POST",
        url="https://h/v1/chat/completions?alt=sse",
        request_headers=(("Content-Type", "application/json"),),
        request_body=b'{"model": "m", "max_tokens": 3}',
        status=200,
        response_headers=(("Content-Type", "text/event-stream"),),
        body=b'data: {"api_key": "kept: the stream is the transcript"}\n\n',
        chunks=None,
        request_start=None,
        response_start=None,
        response_end=None,
        complete=True,
    )
    assert redact_stream(clean) == clean
    dirty = redact_stream(
        dataclasses.replace(
            clean, url="https://h/p?key=s", request_headers=(("Authorization", "Bearer s"),)
        )
    )
    assert redact_stream(dirty) == dirty and dirty.body == clean.body


def test_the_parameters_a_tool_declares_are_kept() -> None:
    schema = {"type": "object", "properties": {"password": {"type": "string"}, "n": {}}}
    body = json.dumps(
        {
            "tools": [{"name": "login", "input_schema": schema}],
            "properties": {"token": "s", "api_key": {"type": "string"}},  # Mixpanel's token
        }
    ).encode()
    out = json.loads(redact_body(body, "application/json"))
    assert out["tools"][0]["input_schema"] == schema
    assert out["properties"] == {"token": REDACTED, "api_key": {"type": "string"}}
