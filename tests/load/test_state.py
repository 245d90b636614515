"""A flow's tnetstring read straight into a Stream (``load/state.py``) gives what mitmproxy's
reader and ``select`` give: the same Streams (notes included), the same Tally, the same
one-line error at the same flow; and it reads the flows mitmproxy writes today itself."""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import flow, flowfilter, http
from mitmproxy import io as mitm_io
from mitmproxy.io import tnetstring
from mitmproxy.test import tflow
from mitmproxy.version import FLOW_FORMAT_VERSION

from sse_inspect.load import CaptureError, Stream, Tally
from sse_inspect.load import state as fast
from sse_inspect.load.flows import _frame, _read_all, read_each

from .. import flows
from ..conftest import SAMPLES

FLOW_SAMPLES = sorted(SAMPLES.glob("*.flow"))

Outcome = tuple[list[Stream], Tally, str | None]


def read(
    reader: Callable[..., Any], data: bytes, all_flows: bool = False, flt: str | None = None
) -> Outcome:
    """The streams, tally and error (``CaptureError`` text, or any other exception as its
    type and text) of one way of reading ``data``."""
    tally = Tally()
    parsed = None if flt is None else flowfilter.parse(flt)
    out: list[Stream] = []
    f = io.BytesIO(data)
    try:
        if reader is _read_all:
            out.extend(_read_all(f, "c.flow", parsed, None, all_flows, tally))
        else:
            out.extend(read_each(f, "c.flow", parsed, tally, all_flows))
    except CaptureError as e:
        return out, tally, str(e)
    except Exception as e:  # what today's path lets through, the other must too
        return out, tally, f"{type(e).__name__}: {e}"
    return out, tally, None


def same(data: bytes, all_flows: bool = False, flt: str | None = None) -> Outcome:
    """Both readings of ``data``, asserted equal; the fast one."""
    ours = read(read_each, data, all_flows, flt)
    theirs = read(_read_all, data, all_flows, flt)
    assert ours == theirs
    return ours


def taken(data: bytes) -> list[bool]:
    """Per flow of ``data``: whether :func:`fast.read_state` read it itself."""
    f = io.BytesIO(data)
    out = []
    while True:
        frame, payload = _frame(f)
        if payload is None:
            assert not frame, "not a file of whole dicts"
            return out
        out.append(fast.read_state(payload, "c.flow", Tally(), True) is not fast.DECLINED)


def dump(*fs: flow.Flow) -> bytes:
    out = io.BytesIO()
    writer = mitm_io.FlowWriter(out)
    for f in fs:
        writer.add(f)
    return out.getvalue()


def forget_connections() -> None:
    """Empty the connections mitmproxy took, so that the next ones go to it again."""
    for shapes, whole in fast._accepted.values():
        shapes.clear()
        whole.clear()


# -- the samples ---------------------------------------------------------------------------


@pytest.mark.parametrize("all_flows", [False, True])
@pytest.mark.parametrize("sample", FLOW_SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_as_mitmproxy_reads_it(sample: Any, all_flows: bool) -> None:
    data = sample.read_bytes()
    forget_connections()
    streams, tally, error = same(data, all_flows)  # connections checked by mitmproxy
    assert error is None and tally.flows
    assert same(data, all_flows)[0] == streams  # ... and now known by their shape
    assert all(taken(data)), "the fast path read every flow itself"


def test_the_samples_one_after_the_other(tmp_path: Any) -> None:
    data = b"".join(p.read_bytes() for p in FLOW_SAMPLES)
    streams, tally, _ = same(data)
    assert len(streams) == tally.event_streams and tally.not_event_streams >= 1
    assert same(data, flt="~u /v1/chat")[1].filtered


# -- hand-made flows -----------------------------------------------------------------------


def sse(**request: Any) -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n"), (0.5, b"data: b\n\n")])
    for name, value in request.items():
        setattr(f.request.data, name, value)
    return f


URL_CASES: dict[str, dict[str, Any]] = {
    "origin form, Host header": {},
    "absolute form": {"authority": b"example.com:8080"},
    "Host header other than host": {
        "headers": http.Headers([(b"Host", b"api.example.com")]),
        "host": "10.0.0.1",
    },
    "no Host header": {"headers": http.Headers([(b"Accept", b"*/*")]), "port": 8443},
    "two Host headers": {"headers": http.Headers([(b"Host", b"a.example"), (b"host", b"b")])},
    "Host header, odd port": {"headers": http.Headers([(b"Host", b"example.com:99999")])},
    "Host header, not a host": {"headers": http.Headers([(b"Host", b"[not v6]:80")])},
    "Host header, Latin-1": {"headers": http.Headers([(b"Host", b"caf\xe9.example")])},
    "IPv6 host": {"host": "::1", "headers": http.Headers(), "port": 8080},
    "IPv6 Host header": {"headers": http.Headers([(b"Host", b"[2001:db8::1]:8443")])},
    "https default port": {"scheme": b"https", "port": 443, "headers": http.Headers()},
    "http on port 443": {"scheme": b"http", "port": 443, "headers": http.Headers()},
    "https Host header without port": {
        "scheme": b"https",
        "headers": http.Headers([(b"Host", b"example.com")]),
    },
    "other scheme, no port in Host": {
        "scheme": b"ws",
        "headers": http.Headers([(b"Host", b"example.com")]),
    },
    "HTTP/2 :authority": {
        "http_version": b"HTTP/2.0",
        "authority": b"chatgpt.com",
        "headers": http.Headers([(b"Host", b"ignored.example")]),
    },
    "HTTP/2 without :authority": {
        "http_version": b"HTTP/2.0",
        "authority": b"",
        "headers": http.Headers([(b"Host", b"h2.example:444")]),
    },
    "HTTP/3 :authority": {"http_version": b"HTTP/3", "authority": b"xn--caf-dma.example"},
    "authority not IDNA": {"http_version": b"HTTP/2.0", "authority": b"xn--zz\xff.example"},
    "CONNECT": {"method": b"CONNECT", "authority": b"example.com:443"},
    "connect, lower case": {"method": b"connect", "authority": b"example.com:443"},
    "asterisk path": {"method": b"OPTIONS", "path": b"*"},
    "Latin-1 path": {"path": b"/caf\xe9?q=\xff"},
    "empty host": {"host": "", "headers": http.Headers()},
    "bracket in host": {"host": "a[b", "headers": http.Headers()},
}


@pytest.mark.parametrize("case", URL_CASES, ids=list(URL_CASES))
def test_urls_as_mitmproxy_makes_them(case: str) -> None:
    f = sse(**URL_CASES[case])
    data = dump(f)
    (stream,), _, _ = same(data)
    assert taken(data) == [True]
    assert stream.method == f.request.method


def test_url_notes(tmp_path: Any) -> None:
    # a host no URL holds: the same note on both paths (see checks.url)
    data = dump(sse(host="a[b", headers=http.Headers()))
    (stream,), _, _ = same(data)
    assert stream.notes and "brackets" in stream.notes[0]


_bytes = st.one_of(
    st.sampled_from([b"", b"example.com", b"[::1]:80", b"a:b:c", b"host:443", b"*", b"\xff"]),
    st.binary(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(
    method=st.sampled_from([b"GET", b"POST", b"CONNECT", b"connect", b"\xff"]),
    scheme=st.sampled_from([b"http", b"https", b"", b"ws", b"\xe9"]),
    authority=_bytes,
    host=st.one_of(st.sampled_from(["", "::1", "example.com", "a[b"]), st.text(max_size=8)),
    port=st.sampled_from([0, 80, 443, 8080, 65535, 70000, -1]),
    path=st.one_of(st.sampled_from([b"/", b"*", b"", b"/a?b#c"]), st.binary(max_size=8)),
    http_version=st.sampled_from([b"HTTP/1.1", b"HTTP/2.0", b"HTTP/3", b"HTTP/1.0"]),
    hosts=st.lists(_bytes, max_size=2),
)
def test_pretty_url_is_mitmproxys(
    method: bytes,
    scheme: bytes,
    authority: bytes,
    host: str,
    port: int,
    path: bytes,
    http_version: bytes,
    hosts: list[bytes],
) -> None:
    fields = tuple((b"Host", h) for h in hosts)
    request = http.Request(
        host, port, method, scheme, authority, path, http_version, fields, b"", None, 0.0, None
    )

    def outcome(fn: Callable[[], str]) -> str:
        try:
            return fn()
        except ValueError as e:
            return f"ValueError: {e}"

    ours = outcome(
        lambda: fast.pretty_url(
            request.method, scheme, authority, host, port, path, http_version, fields
        )
    )
    assert ours == outcome(lambda: request.pretty_url)


def test_header_is_headers_get() -> None:
    fields = ((b"Content-Type", b"text/event-stream"), (b"X", b"\xff"), (b"content-TYPE", b"b"))
    headers = http.Headers(fields)
    for name in (b"content-type", b"x", b"missing"):
        assert fast.header(fields, name) == headers.get(name.decode())


def without_response() -> http.HTTPFlow:
    return tflow.tflow(resp=False)


def errored() -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n")], complete=False)
    f.error = flow.Error("Connection reset by peer", flows.T0 + 1)
    return f


def error_only() -> http.HTTPFlow:
    f = tflow.tflow(resp=False)
    f.error = flow.Error("server unreachable", flows.T0)
    return f


def body_not_stored() -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n")])
    assert f.response is not None
    f.response.raw_content = None
    return f


def unrecorded() -> http.HTTPFlow:
    return flows.sse_flow([(0.3, b"data: a\n\n")], record=False)


def gzip_request() -> http.HTTPFlow:
    import gzip

    f = flows.sse_flow([(0.3, b"data: a\n\n")])
    f.request.headers["Content-Encoding"] = "gzip"
    f.request.raw_content = gzip.compress(b'{"stream": true}')
    return f


def odd_times() -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n"), (0.1, b"data: b\n\n")])
    assert f.response is not None
    f.response.timestamp_start = flows.T0 - 5
    f.metadata["sse_inspect"]["chunks"][0][0] = float("nan")
    return f


def trailers() -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n")])
    assert f.response is not None
    f.response.trailers = http.Headers([(b"grpc-status", b"0")])
    return f


def tls() -> http.HTTPFlow:
    f = flows.sse_flow([(0.3, b"data: a\n\n")], url="https://api.example.com/v1/chat")
    f.client_conn.tls = True
    f.client_conn.tls_version = "TLSv1.3"
    f.client_conn.sni = "api.example.com"
    f.client_conn.alpn = b"h2"
    f.server_conn.tls = True
    f.server_conn.via = ("http", ("proxy.example", 3128))
    return f


FLOWS = {
    "sse": sse,
    "no response": without_response,
    "error": errored,
    "error, no response": error_only,
    "body not stored": body_not_stored,
    "no addon metadata": unrecorded,
    "gzip request": gzip_request,
    "odd times": odd_times,
    "trailers": trailers,
    "tls": tls,
    "json": flows.json_flow,
    "tcp": tflow.ttcpflow,
    "websocket": tflow.twebsocketflow,
}


@pytest.mark.parametrize("all_flows", [False, True])
@pytest.mark.parametrize("name", FLOWS, ids=list(FLOWS))
def test_hand_made_flows(name: str, all_flows: bool) -> None:
    data = dump(FLOWS[name]())
    same(data, all_flows)
    same(data, all_flows, flt="~u /v1")
    expected = name not in ("tcp", "websocket")
    assert taken(data) == [expected]


def test_a_capture_of_all_of_them_with_and_without_a_filter() -> None:
    data = dump(*(make() for make in FLOWS.values()))
    for all_flows in (False, True):
        for flt in (None, "~s", "!~s", "~u chat"):
            same(data, all_flows, flt)


def test_a_filter_reads_event_streams_with_mitmproxy() -> None:
    data = dump(sse(), flows.json_flow())
    assert fast.read_state(_payload(data), "c.flow", Tally(), filtered=True) is fast.DECLINED
    tally = Tally()
    json_payload = _payload(data, 1)
    assert fast.read_state(json_payload, "c.flow", tally, filtered=True) is None
    assert tally.flows == tally.not_event_streams == 1


def _payload(data: bytes, index: int = 0) -> bytes:
    f = io.BytesIO(data)
    for _ in range(index + 1):
        _, payload = _frame(f)
    assert payload is not None
    return payload


# -- what is declined, and read by mitmproxy -----------------------------------------------


def edited(edit: Callable[[dict[str, Any]], None], make: Callable[[], flow.Flow] = sse) -> bytes:
    state = make().get_state()
    edit(state)
    return tnetstring.dumps(state)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def edit(state: dict[str, Any]) -> None:
        for p in parents:
            state = state[p]
        state[last] = value

    return edit


def _pop(path: str) -> Callable[[dict[str, Any]], None]:
    *parents, last = path.split(".")

    def edit(state: dict[str, Any]) -> None:
        for p in parents:
            state = state[p]
        del state[last]

    return edit


EDITS: dict[str, Callable[[dict[str, Any]], None]] = {
    "old version": _set("version", FLOW_FORMAT_VERSION - 1),
    "older version": _set("version", 17),
    "newer version": _set("version", FLOW_FORMAT_VERSION + 1),
    "version as a tuple": _set("version", [0, 18]),
    "unknown type": _set("type", "gopher"),
    "an extra part": _set("extra", 1),
    "no backup": _pop("backup"),
    "no metadata": _pop("metadata"),
    "metadata a list": _set("metadata", [1, 2]),
    "id an int": _set("id", 5),
    "error empty": _set("error", {}),
    "error without timestamp": _set("error", {"msg": "x"}),
    "error with int timestamp": _set("error", {"msg": "x", "timestamp": 5}),
    "response empty": _set("response", {}),
    "response status text": _set("response.status_code", "200"),
    "response without reason": _pop("response.reason"),
    "request host bytes": _set("request.host", b"example.com"),
    "request host not IDNA": _set("request.host", b"xn--zz\xff"),
    "request method text": _set("request.method", "POST"),
    "request port float": _set("request.port", 80.0),
    "request timestamp int": _set("request.timestamp_start", 1700000000),
    "request content text": _set("request.content", "x"),
    "headers of three": _set("request.headers", [[b"a", b"b", b"c"]]),
    "header text": _set("response.headers", [["Content-Type", "text/event-stream"]]),
    "client proxy mode bad": _set("client_conn.proxy_mode", "nonsense:::"),
    "client proxy mode reverse": _set("client_conn.proxy_mode", "reverse:https://example.com"),
    "client transport odd": _set("client_conn.transport_protocol", "sctp"),
    "client port float": _set("client_conn.peername", ["127.0.0.1", 5.0]),
    "client port inf": _set("client_conn.peername", ["127.0.0.1", float("inf")]),
    "client peername long": _set("client_conn.peername", ["::1", 5, 0, 0, "x"]),
    "client tls version odd": _set("client_conn.tls_version", "SSLv1"),
    "client cert junk": _set("client_conn.certificate_list", [b"not a cert"]),
    "client unknown field": _set("client_conn.color", "red"),
    "client without id": _pop("client_conn.id"),
    "server via odd": _set("server_conn.via", ["gopher", ["h", 1]]),
    "server address int": _set("server_conn.address", 5),
    "server timestamps huge int": _set("server_conn.timestamp_start", 10**400),
    "websocket": _set("websocket", {"messages": []}),
}


@pytest.mark.parametrize("name", EDITS, ids=list(EDITS))
def test_odd_flows_read_as_mitmproxy_reads_them(name: str) -> None:
    data = edited(EDITS[name])
    good = dump(sse())
    forget_connections()
    same(data)
    same(good + data + good, all_flows=True)  # after a good flow, connections are known
    same(good + data)


def test_old_flows_are_declined() -> None:
    data = edited(EDITS["old version"])
    assert taken(data) == [False]
    (stream,), _, error = same(data)
    assert error is None and stream.timing == "per-chunk"


def test_a_connection_of_a_known_shape_is_not_sent_to_mitmproxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    forget_connections()
    same(dump(sse()))
    calls = []
    loads = tnetstring.loads
    monkeypatch.setattr(fast.tnetstring, "loads", lambda data: calls.append(data) or loads(data))
    f = sse()
    f.client_conn.id = "another"
    f.client_conn.peername = ("127.0.0.1", 41234)
    f.client_conn.timestamp_start = 1.5
    f.server_conn.timestamp_start = 2
    assert taken(dump(f)) == [True] and not calls
    f.client_conn.sni = "another.example"  # kept whole in the shape: mitmproxy checks it
    assert taken(dump(f)) == [True] and len(calls) == 1
    assert taken(dump(f)) == [True] and len(calls) == 1


# -- damaged bytes -------------------------------------------------------------------------

FUZZ_SAMPLES = ["mixed.flow", "captured-openai-chat.flow", "client-abort.flow"]


@pytest.mark.parametrize("name", FUZZ_SAMPLES)
@pytest.mark.parametrize("known", [True, False], ids=["shapes known", "shapes unknown"])
def test_flipped_bytes_read_as_mitmproxy_reads_them(name: str, known: bool) -> None:
    """Seeded damage: one to three bytes flipped, or the file cut. With the undamaged
    connections known (the fast path trusts their shapes) and not."""
    data = (SAMPLES / name).read_bytes()
    tls_flow = dump(tls())
    rng = random.Random(f"{name}-{known}")
    outcomes: dict[str, int] = {}
    for _ in range(400):
        damaged = bytearray(data + tls_flow)
        if rng.random() < 0.1:
            del damaged[rng.randrange(len(damaged)) :]
        else:
            for _ in range(rng.choice([1, 1, 2, 3])):
                damaged[rng.randrange(len(damaged))] ^= rng.randrange(1, 256)
        if known:
            same(data + tls_flow)
        else:
            forget_connections()
        try:
            _, _, error = same(bytes(damaged))
        except AssertionError:
            pytest.fail(f"{name}: the readings differ for {bytes(damaged)!r}")
        outcome = "error" if error else "read"
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert outcomes.get("error") and outcomes.get("read"), outcomes


@settings(max_examples=200, deadline=None)
@given(
    flips=st.lists(st.tuples(st.integers(0, 10**6), st.integers(1, 255)), min_size=1, max_size=4)
)
def test_any_flips_of_a_flow_read_as_mitmproxy_reads_them(flips: list[tuple[int, int]]) -> None:
    data = bytearray(dump(tls(), flows.json_flow()))
    for pos, xor in flips:
        data[pos % len(data)] ^= xor
    same(bytes(data))
