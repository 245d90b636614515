"""The HAR 1.2 schema (har12.schema.json) and its helper itself, not our exporter."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mitmproxy import http
from mitmproxy.addons.savehar import SaveHar
from mitmproxy.test import tflow

from .har_schema import SCHEMA, har_errors, validate_har

JsonPath = tuple[str | int, ...]


def minimal_har() -> dict[str, Any]:
    """Only what the spec requires: one entry, no pages, no optional fields."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "sse-inspect", "version": "0.1.0"},
            "entries": [
                {
                    "startedDateTime": "2024-05-01T12:00:00.123Z",
                    "time": 42,
                    "request": {
                        "method": "GET",
                        "url": "https://api.example.com/v1/stream",
                        "httpVersion": "HTTP/1.1",
                        "cookies": [],
                        "headers": [],
                        "queryString": [],
                        "headersSize": -1,
                        "bodySize": -1,
                    },
                    "response": {
                        "status": 200,
                        "statusText": "OK",
                        "httpVersion": "HTTP/1.1",
                        "cookies": [],
                        "headers": [],
                        "content": {"size": 0, "mimeType": "text/event-stream"},
                        "redirectURL": "",
                        "headersSize": -1,
                        "bodySize": -1,
                    },
                    "cache": {},
                    "timings": {"send": 0, "wait": 40, "receive": 2},
                }
            ],
        }
    }


def full_har() -> dict[str, Any]:
    """Every spec field, plus the harmless quirks of real exporters (Chrome, Firefox)."""
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "sse-inspect", "version": "0.1.0", "comment": ""},
            "browser": {"name": "Chrome", "version": "124.0.0.0", "comment": ""},
            "pages": [
                {
                    "startedDateTime": "2009-04-16T12:07:25.123+01:00",
                    "id": "page_0",
                    "title": "Test Page",
                    "pageTimings": {"onContentLoad": 1720.5, "onLoad": -1, "comment": ""},
                    "comment": "",
                }
            ],
            "entries": [
                {
                    "pageref": "page_0",
                    "startedDateTime": "2009-04-16T12:07:23.596Z",
                    "time": 50.123456,  # Chrome writes fractional milliseconds
                    "request": {
                        "method": "POST",
                        "url": "https://api.example.com/v1/chat?stream=true",
                        "httpVersion": "http/2.0",  # Chrome's spelling
                        "cookies": [
                            {
                                "name": "session",
                                "value": "abc",
                                "path": "/",
                                "domain": "api.example.com",
                                "expires": "2009-07-24T19:20:30.123+02:00",
                                "httpOnly": True,
                                "secure": True,
                                "comment": "",
                            },
                            {"name": "bare", "value": ""},
                        ],
                        "headers": [{"name": "Accept", "value": "text/event-stream"}],
                        "queryString": [{"name": "stream", "value": "true", "comment": ""}],
                        "postData": {
                            "mimeType": "multipart/form-data; boundary=x",
                            "params": [
                                {
                                    "name": "file",
                                    "value": "...",
                                    "fileName": "a.pdf",
                                    "contentType": "application/pdf",
                                    "comment": "",
                                },
                                {"name": "flag"},
                            ],
                            "text": "--x...",
                            "comment": "",
                        },
                        "headersSize": -1,  # unknown, as Chrome writes for HTTP/2
                        "bodySize": 120,
                        "comment": "",
                    },
                    "response": {
                        "status": 200,
                        "statusText": "",  # HTTP/2 has no reason phrase
                        "httpVersion": "HTTP/2.0",
                        "cookies": [],
                        "headers": [{"name": "Content-Type", "value": "text/event-stream"}],
                        "content": {
                            "size": 33,
                            "compression": -20,  # a tiny gzipped body grows
                            "mimeType": "text/event-stream; charset=utf-8",
                            "text": "ZGF0YTogaGkKCg==",
                            "encoding": "base64",
                            "comment": "",
                        },
                        "redirectURL": "",
                        "headersSize": 160,
                        "bodySize": 0,
                        "comment": "",
                    },
                    "cache": {
                        "beforeRequest": None,
                        "afterRequest": {
                            "expires": "2009-04-16T15:50:36",
                            "lastAccess": "2009-16-02T15:50:34",  # sic: the spec's example
                            "eTag": "",
                            "hitCount": 0,
                            "comment": "",
                        },
                        "comment": "",
                    },
                    "timings": {
                        "blocked": 0,
                        "dns": -1,
                        "connect": 15,
                        "send": 20,
                        "wait": 38.5,
                        "receive": 12,
                        "ssl": -1,
                        "comment": "",
                    },
                    "serverIPAddress": "10.0.0.1",
                    "connection": "52492",
                    "comment": "",
                }
            ],
            "comment": "",
        }
    }


def mitmproxy_har() -> dict[str, Any]:
    """mitmproxy's own exporter: a GET, a form POST, a WebSocket and a reused connection."""
    get = tflow.tflow(resp=True)
    post = tflow.tflow(resp=True)
    post.request.method = "POST"
    post.request.urlencoded_form = [("model", "gpt"), ("stream", "true")]
    websocket = tflow.twebsocketflow()
    reused = tflow.tflow(resp=True)
    reused.server_conn = get.server_conn  # connect and ssl become -1
    reused.response = tflow.tresp(http_version=b"HTTP/2.0", reason=b"")
    return SaveHar().make_har([get, post, websocket, reused])


def objects(node: object, path: JsonPath = ()) -> Iterator[tuple[JsonPath, dict[str, Any]]]:
    """Every JSON object in a document with its path, the root first."""
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from objects(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, (*path, index))


def at(doc: dict[str, Any], path: JsonPath) -> Any:
    node: Any = doc
    for step in path:
        node = node[step]
    return node


def json_path(path: JsonPath) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)


FULL_OBJECT_PATHS = [path for path, _ in objects(full_har())]
ENTRY: JsonPath = ("log", "entries", 0)


def test_the_schema_is_draft_2020_12() -> None:
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_a_minimal_har_passes() -> None:
    validate_har(minimal_har())


def test_every_spec_field_and_real_exporter_quirks_pass() -> None:
    validate_har(full_har())


def test_mitmproxy_savehar_output_passes() -> None:
    har = mitmproxy_har()
    entries = har["log"]["entries"]
    assert len(entries) == 4
    assert entries[1]["request"]["postData"]["params"]
    assert "_webSocketMessages" in entries[2]
    assert entries[3]["timings"]["connect"] == -1
    validate_har(har)


def test_custom_fields_pass_at_every_level() -> None:
    har = full_har()
    for _, obj in list(objects(har)):
        obj["_custom"] = {"anything": [1, None, "goes"], "even": {"nested": True}}
        obj["_n"] = None
    validate_har(har)


@pytest.mark.parametrize("path", FULL_OBJECT_PATHS, ids=json_path)
def test_an_unknown_field_fails_at_every_level(path: JsonPath) -> None:
    har = full_har()
    at(har, path)["custom"] = 1  # no underscore: a typo, or a field HAR 1.2 does not have
    assert har_errors(har) == [
        f"{json_path(path)}: 'custom' does not match any of the regexes: '^_'"
    ]


@pytest.mark.parametrize(
    ("parent", "field"),
    [
        (("log",), "version"),
        (("log",), "creator"),
        (("log",), "entries"),
        (("log", "creator"), "name"),
        (ENTRY, "startedDateTime"),
        (ENTRY, "time"),
        (ENTRY, "request"),
        (ENTRY, "response"),
        (ENTRY, "cache"),
        (ENTRY, "timings"),
        ((*ENTRY, "request"), "queryString"),
        ((*ENTRY, "request"), "headersSize"),
        ((*ENTRY, "response"), "statusText"),
        ((*ENTRY, "response"), "redirectURL"),
        ((*ENTRY, "response", "content"), "size"),
        ((*ENTRY, "response", "content"), "mimeType"),
        ((*ENTRY, "timings"), "send"),
        ((*ENTRY, "timings"), "wait"),
        ((*ENTRY, "timings"), "receive"),
    ],
    ids=lambda v: v if isinstance(v, str) else json_path(v),
)
def test_a_missing_required_field_fails(parent: JsonPath, field: str) -> None:
    har = minimal_har()
    del at(har, parent)[field]
    assert har_errors(har) == [f"{json_path(parent)}: '{field}' is a required property"]
    with pytest.raises(AssertionError, match=f"'{field}' is a required property"):
        validate_har(har)


@pytest.mark.parametrize(
    ("parent", "field"),
    [
        (("log", "pages", 0), "id"),
        (("log", "pages", 0), "pageTimings"),
        ((*ENTRY, "request", "cookies", 0), "value"),
        ((*ENTRY, "request", "postData"), "mimeType"),
        ((*ENTRY, "request", "postData", "params", 0), "name"),
        ((*ENTRY, "cache", "afterRequest"), "lastAccess"),
    ],
    ids=lambda v: v if isinstance(v, str) else json_path(v),
)
def test_a_missing_required_field_of_an_optional_object_fails(parent: JsonPath, field: str) -> None:
    har = full_har()
    del at(har, parent)[field]
    assert har_errors(har) == [f"{json_path(parent)}: '{field}' is a required property"]


WRONG_TYPES: list[tuple[JsonPath, object, str]] = [
    ((*ENTRY, "response", "status"), "200", "'200' is not of type 'number'"),
    ((*ENTRY, "time"), "42", "'42' is not of type 'number'"),
    (("log", "version"), 1.2, "1.2 is not of type 'string'"),
    ((*ENTRY, "request", "headers"), {}, "{} is not of type 'array'"),
    ((*ENTRY, "request", "cookies", 0, "httpOnly"), "true", "'true' is not of type 'boolean'"),
    ((*ENTRY, "response", "content", "text"), None, "None is not of type 'string'"),
    ((*ENTRY, "cache", "beforeRequest"), [], "[] is not of type 'object', 'null'"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), WRONG_TYPES, ids=[json_path(case[0]) for case in WRONG_TYPES]
)
def test_a_wrong_type_fails(path: JsonPath, value: object, message: str) -> None:
    har = full_har()
    at(har, path[:-1])[path[-1]] = value
    assert har_errors(har) == [f"{json_path(path)}: {message}"]


@pytest.mark.parametrize("timing", ["send", "wait", "receive"])
@pytest.mark.parametrize("value", [-1, -1.5, -2])
def test_send_wait_receive_must_not_be_negative(timing: str, value: float) -> None:
    # The spec: "The send, wait and receive timings are not optional and must have
    # non-negative values." Only blocked, dns, connect and ssl may be -1.
    har = minimal_har()
    har["log"]["entries"][0]["timings"][timing] = value
    assert har_errors(har) == [
        f"$.log.entries[0].timings.{timing}: {value} is less than the minimum of 0"
    ]


def test_wait_below_minus_one_fails() -> None:
    har = minimal_har()
    har["log"]["entries"][0]["timings"]["wait"] = -2
    with pytest.raises(AssertionError, match=r"\$\.log\.entries\[0\]\.timings\.wait: -2 is less"):
        validate_har(har)


@pytest.mark.parametrize("timing", ["blocked", "dns", "connect", "ssl"])
def test_optional_timings_may_be_minus_one_but_not_below(timing: str) -> None:
    har = minimal_har()
    timings = har["log"]["entries"][0]["timings"]
    timings[timing] = -1
    validate_har(har)
    timings[timing] = -1.01
    assert har_errors(har) == [
        f"$.log.entries[0].timings.{timing}: -1.01 is less than the minimum of -1"
    ]


@pytest.mark.parametrize(
    "path",
    [(*ENTRY, "request", "headersSize"), (*ENTRY, "response", "bodySize")],
    ids=json_path,
)
def test_sizes_may_be_minus_one_but_not_below(path: JsonPath) -> None:
    har = minimal_har()
    at(har, path[:-1])[path[-1]] = -2
    assert har_errors(har) == [f"{json_path(path)}: -2 is less than the minimum of -1"]


@pytest.mark.parametrize(
    "value",
    [
        "2024-05-01T12:00:00Z",
        "2024-05-01T12:00:00.123456+00:00",
        "2009-07-24T19:20:30.45+01:00",
        "2024-05-01t12:00:00-05:30",
    ],
)
def test_iso8601_date_times_pass(value: str) -> None:
    har = full_har()
    har["log"]["entries"][0]["startedDateTime"] = value
    har["log"]["pages"][0]["startedDateTime"] = value
    har["log"]["entries"][0]["request"]["cookies"][0]["expires"] = value
    validate_har(har)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "yesterday",
        "Wed, 21 Oct 2015 07:28:00 GMT",  # a Set-Cookie date, not ISO 8601
        "2024-05-01",  # no time
        "2024-05-01T12:00:00",  # no UTC offset: the spec's format ends in TZD
        "2024-05-01 12:00:00Z",  # not the T separator
        "2024-13-01T12:00:00Z",
    ],
)
def test_other_date_times_fail(value: str) -> None:
    for path in [
        ("log", "entries", 0, "startedDateTime"),
        ("log", "pages", 0, "startedDateTime"),
        ("log", "entries", 0, "request", "cookies", 0, "expires"),
    ]:
        har = full_har()
        at(har, path[:-1])[path[-1]] = value
        assert har_errors(har) == [f"{json_path(path)}: {value!r} is not a 'date-time'"]


def test_every_error_is_listed_with_its_path() -> None:
    har = minimal_har()
    entry = har["log"]["entries"][0]
    del har["log"]["version"]
    del entry["timings"]
    del entry["response"]["content"]["mimeType"]
    entry["response"]["status"] = "200"
    entry["request"]["method_"] = "GET"
    with pytest.raises(AssertionError) as raised:
        validate_har(har)
    assert str(raised.value).splitlines() == [
        "not a valid HAR 1.2 document (5 errors):",
        "  $.log: 'version' is a required property",
        "  $.log.entries[0]: 'timings' is a required property",
        "  $.log.entries[0].request: 'method_' does not match any of the regexes: '^_'",
        "  $.log.entries[0].response.content: 'mimeType' is a required property",
        "  $.log.entries[0].response.status: '200' is not of type 'number'",
    ]


def test_the_root_must_be_an_object_with_a_log() -> None:
    assert har_errors([]) == ["$: [] is not of type 'object'"]
    assert har_errors({}) == ["$: 'log' is a required property"]


# Where mitmproxy's SaveHar (12.x) leaves HAR 1.2. The schema stays strict; these pin down
# the deviations so that a change on either side shows up here.


def test_mitmproxy_deviation_samesite_cookie_field() -> None:
    flow = tflow.tflow(resp=True)
    flow.response.headers["set-cookie"] = "id=1; Path=/; SameSite=Lax"
    assert har_errors(SaveHar().make_har([flow])) == [
        "$.log.entries[0].response.cookies[0]: 'sameSite' does not match any of the regexes: '^_'"
    ]


def test_mitmproxy_deviation_flow_without_response() -> None:
    flow = tflow.tflow(err=True)
    assert har_errors(SaveHar().make_har([flow])) == [
        "$.log.entries[0].response.content: 'size' is a required property",
        "$.log.entries[0].response.content: 'mimeType' is a required property",
    ]


def test_mitmproxy_deviation_post_without_body() -> None:
    flow = tflow.tflow(resp=True)
    flow.request.method = "POST"
    flow.request.content = None
    assert har_errors(SaveHar().make_har([flow])) == [
        "$.log.entries[0].request.postData.text: None is not of type 'string'"
    ]


def test_mitmproxy_deviation_response_before_request_end() -> None:
    # wait = response start - request end: negative when the server answers before the
    # request body is complete (early responses, HTTP/2 streams).
    flow = tflow.tflow(resp=True)
    assert isinstance(flow.response, http.Response)
    assert flow.request.timestamp_end is not None
    flow.response.timestamp_start = flow.request.timestamp_end - 0.25
    assert har_errors(SaveHar().make_har([flow])) == [
        "$.log.entries[0].timings.wait: -250.0 is less than the minimum of 0"
    ]
