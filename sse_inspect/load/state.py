"""A flow's tnetstring read straight into a :class:`Stream`: the parts a Stream needs,
nothing else.

mitmproxy's reader parses the whole of a flow with a pure-Python tnetstring parser and then
builds every object of it (connections, certificates, headers, ...): about 0.6 ms for a
16 KB chat flow, most of a ``.flow`` file's reading. A Stream needs the request, the
response, the metadata, the error and the id, so :func:`read_state` indexes the flow's
top-level dict by length prefixes, parses those parts alone (an index walk with
``bytes.find`` and slices, no ``memoryview`` per byte) and makes the Stream from plain
values, as :func:`.flows.stream_from_flow` makes it from an ``HTTPFlow``
(:func:`make_stream` is the one builder of both).

The plan, and what it must never do: say yes to a flow that mitmproxy would refuse, or make
another Stream of it. So it only takes flows of exactly the shape mitmproxy writes today
(an HTTP flow of :data:`~mitmproxy.version.FLOW_FORMAT_VERSION`, every part of the types
mitmproxy gives it, canonical length prefixes) and says :data:`DECLINED` to anything else,
for the caller to read that flow with mitmproxy's reader, whose errors and results are then
today's exactly. The parts it does not use are still checked, as cheaply as their
checks allow:

- parts ``Flow.set_state`` keeps as they are (``metadata``, ``comment``, ``backup``, ...):
  only that their tnetstring is well formed;
- the two connections, which mitmproxy rebuilds field by field (proxy modes, certificates,
  literal types): their *shape* (the tnetstring with every finite float, every int and the
  connection's ``id`` replaced by a marker; those are checked by type alone, whatever the
  value) is looked up in a set of shapes that mitmproxy's own ``set_state`` accepted in
  this process; a shape not seen yet is handed to it once (about 0.15 ms). A capture holds a
  few shapes (one per client address, server, certificate chain), so nearly every flow hits.

A non-event-stream flow is counted and dropped once checked, before anything is built.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Final

from mitmproxy import connection
from mitmproxy.io import tnetstring
from mitmproxy.net.http import url as mitm_url
from mitmproxy.version import FLOW_FORMAT_VERSION

from ..capture import contract
from ..decode.body import decoded_bytes
from ..decode.content import default_limit
from ..sse import is_event_stream
from . import checks
from .stream import Stream
from .tally import Tally

__all__ = ["DECLINED", "Declined", "Fields", "make_stream", "read_state"]

Fields = tuple[tuple[bytes, bytes], ...]
"""Header fields as mitmproxy keeps them (``Headers.fields``)."""


class Declined:
    """The type of :data:`DECLINED` (its only value)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DECLINED"


DECLINED: Final = Declined()
""":func:`read_state` cannot vouch for this flow: read it with mitmproxy's reader."""


class _Odd(Exception):
    """Something mitmproxy's reader might take otherwise, or refuse: decline the flow."""


# -- the builder of both paths ------------------------------------------------------------


def make_stream(
    *,
    source: str,
    flow_id: str,
    method: str,
    pretty_url: Callable[[], str],
    request_headers: Fields,
    request_content: bytes | None,
    request_coding: str | None,
    request_start: object,
    status: object,
    response_headers: Fields,
    response_content: bytes | None,
    response_start: object,
    response_end: object,
    recorded: object,
    error: str | None,
    errored: bool | None = None,
    notes: Sequence[str] = (),
) -> Stream:
    """The :class:`Stream` of one HTTP exchange with a response, from its parts as an
    ``HTTPFlow`` gives them: ``method`` is ``request.method``, ``pretty_url`` gives
    ``request.pretty_url``, ``*_coding`` is ``headers.get("content-encoding")``,
    ``*_content`` is ``raw_content``, ``recorded`` is ``metadata.get(contract.KEY)``,
    ``error`` is ``flow.error.msg`` (``None``: no error) and ``errored`` is ``flow.error is
    not None`` (by default, ``error is not None``).

    Nothing is trusted (a damaged or hand-made capture can hold anything of the right
    tnetstring type): timestamps, status and the addon's metadata are checked (see
    :mod:`.checks`), and what could not be used is in the stream's ``notes``, after the
    caller's ``notes``.
    """
    said = list(notes)
    body = response_content or b""
    start = checks.instant(request_start, "the request start", said)
    response_start = checks.instant(response_start, "the response start", said)
    response_end = checks.instant(response_end, "the response end", said)
    response_start = checks.later(
        response_start, start, "the response start comes before the request start",
        "the request start", said,
    )  # fmt: skip
    response_end = checks.later(
        response_end, response_start or start, "the response end comes before its start",
        "its start", said,
    )  # fmt: skip
    unpacked = contract.unpack(recorded, len(body), response_end)
    chunks = unpacked.chunks if unpacked else None
    if unpacked:
        said += unpacked.notes
    if chunks is not None:
        chunks = checks.in_order(chunks, start, said)
    errored = error is not None if errored is None else errored
    complete = not errored if unpacked is None or unpacked.complete is None else unpacked.complete
    truncated = unpacked.truncated if unpacked else False
    if error is None and response_content is None:
        error = "body not stored: mitmproxy streamed it without store_streamed_bodies"
    return Stream(
        source=source,
        flow_id=flow_id,
        method=checks.text(method),
        url=_url(pretty_url, said),
        request_headers=_pairs(request_headers),
        request_body=_request_body(request_content, request_coding),
        status=checks.status(status, said),
        response_headers=_pairs(response_headers),
        body=body,
        chunks=chunks,
        request_start=start,
        response_start=response_start,
        response_end=response_end,
        complete=complete and not errored,
        error=error,
        truncated=truncated,
        notes=tuple(said),
    )


def _url(pretty_url: Callable[[], str], notes: list[str]) -> str | None:
    try:
        url = pretty_url()
    except ValueError as e:  # a host or port no URL can hold
        notes.append(f"the request's URL cannot be made ({e}): taken as unknown")
        return None
    return checks.url(url, notes)


def _pairs(fields: Fields) -> tuple[tuple[str, str], ...]:
    """Header fields in order, repeats kept, as text (undecodable bytes escaped)."""
    return tuple(
        (k.decode("utf-8", "surrogateescape"), v.decode("utf-8", "surrogateescape"))
        for k, v in fields
    )


def _request_body(content: bytes | None, coding: str | None) -> bytes:
    """The request body with its content coding undone, bounded like a response body's
    (a request is a capture's input too, and a gzip bomb fits in one)."""
    raw = content or b""
    return decoded_bytes(raw, coding, default_limit(len(raw))) if coding else raw


# -- mitmproxy's accessors, on plain state --------------------------------------------------


def header(fields: Fields, name: bytes) -> str | None:
    """``Headers.get(name)``: the values of every field of that name (``name`` in lower
    case; ASCII case-insensitive), as text, joined by ", "; ``None`` when there is none."""
    values = [v.decode("utf-8", "surrogateescape") for k, v in fields if k.lower() == name]
    return ", ".join(values) if values else None


def pretty_url(
    method: str,
    scheme: bytes,
    authority: bytes,
    host: str,
    port: int,
    path: bytes,
    http_version: bytes,
    fields: Fields,
) -> str:
    """``Request.pretty_url`` of a request of these parts (``method`` as
    ``Request.method`` gives it), step by step as mitmproxy 12 computes it (with its own
    URL functions): the Host header (on HTTP/2 and 3 the ``:authority`` first) names the
    host and port where there is one, else ``host`` and ``port`` do."""
    authority_text = _authority(authority)  # Request.first_line_format reads it first
    if method == "CONNECT":  # first_line_format == "authority"
        return authority_text
    if http_version == b"HTTP/2.0" or http_version == b"HTTP/3":
        host_header = authority_text or header(fields, b"host")
    else:
        host_header = header(fields, b"host")
    scheme_text = scheme.decode("utf-8", "surrogateescape")
    path_text = path.decode("utf-8", "surrogateescape")
    path_text = path_text if path_text != "*" else ""
    if not host_header:  # Request.url
        return mitm_url.unparse(scheme_text, host, port, path_text)
    pretty_host, pretty_port = _parse_authority(host_header)
    pretty_port = pretty_port or mitm_url.default_port(scheme_text) or 443
    return mitm_url.unparse(scheme_text, pretty_host, pretty_port, path_text)


@functools.lru_cache(maxsize=256)
def _authority(raw: bytes) -> str:
    """``Request.authority``."""
    try:
        return raw.decode("idna")
    except UnicodeError:
        return raw.decode("utf8", "surrogateescape")


@functools.lru_cache(maxsize=256)
def _parse_authority(text: str) -> tuple[str, int | None]:
    return mitm_url.parse_authority(text, check=False)


# -- tnetstring, by index ------------------------------------------------------------------

_COMMA, _SEMI, _HASH, _CARET, _BANG, _TILDE, _RBRACKET, _RBRACE = b",;#^!~]}"
_PREFIX = 20  # a longer length prefix is not one mitmproxy writes
# The loops below inline _element: a call per element is a third of the cost.


def _element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """The tnetstring at ``data[pos:]`` (inside ``end``): ``(type byte, start, stop)`` of
    its payload ``data[start:stop]``; the type byte is at ``stop``, the next one after.
    Only a length prefix of ASCII digits (mitmproxy's reader also takes " 1", "+1")."""
    colon = data.find(b":", pos, pos + _PREFIX)
    size = data[pos:colon]
    if colon < 0 or not size.isdigit():
        raise _Odd
    start = colon + 1
    stop = start + int(size)
    if stop >= end:  # also when the colon found is past the end
        raise _Odd
    return data[stop], start, stop


def _value(data: bytes, tag: int, start: int, stop: int) -> Any:
    """The value mitmproxy's ``tnetstring.parse`` makes of an element (the same objects);
    :class:`_Odd` (or the exception of a bad literal) where it might not."""
    if tag == _COMMA:
        return data[start:stop]
    if tag == _SEMI:
        return data[start:stop].decode()  # str(data, "utf8"), as mitmproxy
    if tag in (_RBRACKET, _RBRACE):
        find = data.find
        items: list[Any] = []
        pos = start
        while pos < stop:
            colon = find(b":", pos, pos + _PREFIX)
            size = data[pos:colon]
            if colon < 0 or not size.isdigit():
                raise _Odd
            s = colon + 1
            e = s + int(size)
            if e >= stop:
                raise _Odd
            t = data[e]
            if t == _COMMA:
                items.append(data[s:e])
            elif t == _SEMI:
                items.append(data[s:e].decode())
            else:
                items.append(_value(data, t, s, e))
            pos = e + 1
        if tag == _RBRACKET:
            return items
        if len(items) % 2:
            raise _Odd  # a key without a value
        # as mitmproxy's d[key] = value, pair by pair (a list as a key: TypeError)
        return dict(zip(items[::2], items[1::2], strict=True))
    if tag == _HASH:
        return int(data[start:stop])
    if tag == _CARET:
        return float(data[start:stop])
    if tag == _TILDE:
        if start != stop:
            raise _Odd
        return None
    if tag == _BANG:
        literal = data[start:stop]
        if literal == b"true":
            return True
        if literal == b"false":
            return False
    raise _Odd


def _shape(data: bytes, tag: int, start: int, stop: int, out: list[bytes], top: bool) -> None:
    """Check a connection's tnetstring (every literal parses as mitmproxy's parser takes
    it) and append its shape to ``out``: each element as it is, except finite floats, ints
    and (``top``: in the connection's own dict) the ``id`` string, which become a marker
    (``^``, ``#``, ``i``), whatever their value; dict keys stay whole. A container becomes
    ``{``/``[`` ... ``)``. (A piece kept whole starts with a digit, a marker never: the
    joined pieces read back one way only.)"""
    is_dict = tag == _RBRACE
    if not is_dict and tag != _RBRACKET:
        raise _Odd
    find = data.find
    append = out.append
    append(b"{" if is_dict else b"[")
    pos = start
    is_key = is_dict
    key = b""
    while pos < stop:
        colon = find(b":", pos, pos + _PREFIX)
        size = data[pos:colon]
        if colon < 0 or not size.isdigit():
            raise _Odd
        s = colon + 1
        e = s + int(size)
        if e >= stop:
            raise _Odd
        t = data[e]
        piece = data[pos : e + 1]
        if t in (_RBRACKET, _RBRACE):
            if is_key:
                raise _Odd  # a key no dict can hold
            _shape(data, t, s, e, out, False)
        else:
            if t == _COMMA:
                pass
            elif t == _SEMI:
                data[s:e].decode()
                if top and not is_key and key == b"2:id;":
                    piece = b"i"
            elif t == _CARET:
                value = float(data[s:e])
                if not is_key and value - value == 0.0:  # finite: taken as any float
                    piece = b"^"
            elif t == _HASH:
                int(data[s:e])
                if not is_key and e - s <= 300:  # none overflows a float where one is
                    piece = b"#"
            else:
                _value(data, t, s, e)  # null or bool: only ever whole
            append(piece)
        if is_dict:
            key = piece
            is_key = not is_key
        pos = e + 1
    if is_dict and not is_key:
        raise _Odd  # a key without a value
    append(b")")


_REMEMBERED = 4096
_accepted: dict[str, tuple[set[bytes], set[bytes]]] = {
    "client_conn": (set(), set()),
    "server_conn": (set(), set()),
}
"""Connections mitmproxy's ``set_state`` took in this process: ``(their shapes, their
tnetstrings)``; the tnetstrings so that a connection that many flows share (keep-alive,
HTTP/2) is found without its shape."""


def _connection_ok(part: str, data: bytes, pos: int, tag: int, start: int, stop: int) -> bool:
    """Whether mitmproxy takes this connection (``part``: ``client_conn`` or
    ``server_conn``; its tnetstring is ``data[pos:stop + 1]``), as it took one of the same
    shape, or as it takes this one now."""
    shapes, whole = _accepted[part]
    raw = data[pos : stop + 1]
    if raw in whole:
        return True
    out: list[bytes] = []
    _shape(data, tag, start, stop, out, True)
    shape = b"".join(out)
    if shape not in shapes:
        try:
            state = tnetstring.loads(raw)
            # as Flow.from_state makes and fills them
            if part == "client_conn":
                connection.Client(peername=("", 0), sockname=("", 0)).set_state(state)
            else:
                connection.Server(address=None).set_state(state)
        except Exception:
            return False
        if len(shapes) >= _REMEMBERED:
            shapes.clear()
        shapes.add(shape)
    if len(whole) >= _REMEMBERED:
        whole.clear()
    whole.add(raw)
    return True


# -- a flow --------------------------------------------------------------------------------

_KEPT = ("intercepted", "is_replay", "marked", "comment", "timestamp_created", "backup")
"""Top-level parts that ``Flow.set_state`` keeps as they are: checked as tnetstrings only."""
_TOP = frozenset(
    {
        "version", "type", "id", "error", "client_conn", "server_conn", "metadata",
        "request", "response", "websocket", *_KEPT,
    }
)  # fmt: skip
_TOP_REQUIRED = _TOP - {"backup"}  # Flow.set_state: state.pop("backup", None)
_MESSAGE = {"http_version", "headers", "content", "trailers", "timestamp_start", "timestamp_end"}
_REQUEST = frozenset({*_MESSAGE, "host", "port", "method", "scheme", "authority", "path"})
_RESPONSE = frozenset({*_MESSAGE, "status_code", "reason"})
_ERROR = frozenset({"msg", "timestamp"})
_VERSION = str(FLOW_FORMAT_VERSION).encode()


def read_state(
    payload: bytes,
    source: str,
    tally: Tally,
    all_flows: bool = False,
    filtered: bool = False,
) -> Stream | Declined | None:
    """What :func:`.flows.select` gives of the flow whose tnetstring dict payload this is
    (``filtered``: a filter is set, which only a real flow can be matched with), counting
    it in ``tally`` as ``select`` does; :data:`DECLINED` (nothing counted) when it is not
    a flow this reader can vouch for."""
    try:
        return _read(payload, source, tally, all_flows, filtered)
    except Exception:  # _Odd, a bad literal, a type no part may have, ...
        return DECLINED


def _read(
    data: bytes, source: str, tally: Tally, all_flows: bool, filtered: bool
) -> Stream | Declined | None:
    end = len(data)
    parts: dict[str, tuple[int, int, int, int]] = {}
    pos = 0
    while pos < end:
        tag, start, stop = _element(data, pos, end)
        if tag != _SEMI:
            raise _Odd
        key = data[start:stop].decode()
        pos = stop + 1
        tag, start, stop = _element(data, pos, end)
        if key in parts or key not in _TOP:
            raise _Odd  # a repeat (mitmproxy keeps the last) or a part it refuses
        parts[key] = (pos, tag, start, stop)
        pos = stop + 1
    if not parts.keys() >= _TOP_REQUIRED:
        raise _Odd

    def part(name: str) -> Any:
        return _value(data, *parts[name][1:])

    _, tag, start, stop = parts["version"]
    if tag != _HASH or data[start:stop] != _VERSION:  # else compat.migrate_flow has work
        return DECLINED
    if part("type") != "http" or part("websocket") is not None:
        return DECLINED
    flow_id = part("id")
    if type(flow_id) is not str:
        raise _Odd
    for name in _KEPT:
        if name in parts:
            part(name)
    metadata = part("metadata")
    if type(metadata) is not dict:
        raise _Odd  # stream_from_flow would call metadata.get
    error = part("error")
    if error is not None and (
        type(error) is not dict
        or error.keys() != _ERROR
        or type(error["msg"]) is not str
        or not _error_time(error["timestamp"])
    ):
        raise _Odd
    request = part("request")
    _message(request, _REQUEST)
    if type(request["host"]) is not str or type(request["port"]) is not int:
        raise _Odd
    for name in ("method", "scheme", "authority", "path"):
        if type(request[name]) is not bytes:
            raise _Odd
    response = part("response")
    if response is not None:
        _message(response, _RESPONSE)
        if type(response["status_code"]) is not int or type(response["reason"]) is not bytes:
            raise _Odd
    for name in ("client_conn", "server_conn"):
        if not _connection_ok(name, data, *parts[name]):
            raise _Odd

    # The flow is one mitmproxy reads, as these parts: now what select() does with it.
    if response is None:
        tally.flows += 1
        tally.no_response += 1
        return None
    response_fields = response["headers"]
    sse = is_event_stream(header(response_fields, b"content-type"))
    if filtered and (sse or all_flows):
        return DECLINED  # the filter decides whether it is read, on a real flow
    tally.flows += 1
    if not sse:
        tally.not_event_streams += 1
        if not all_flows:
            return None
    request_fields = request["headers"]
    method = request["method"].decode("utf-8", "surrogateescape").upper()
    stream = make_stream(
        source=source,
        flow_id=flow_id,
        method=method,
        pretty_url=lambda: pretty_url(
            method,
            request["scheme"],
            request["authority"],
            request["host"],
            request["port"],
            request["path"],
            request["http_version"],
            request_fields,
        ),
        request_headers=request_fields,
        request_content=request["content"],
        request_coding=header(request_fields, b"content-encoding"),
        request_start=request["timestamp_start"],
        status=response["status_code"],
        response_headers=response_fields,
        response_content=response["content"],
        response_start=response["timestamp_start"],
        response_end=response["timestamp_end"],
        recorded=metadata.get(contract.KEY),
        error=None if error is None else error["msg"],
    )
    if sse:
        tally.event_streams += 1
    return stream


_TIME = (float, int)
"""What the type checks of ``MessageData`` take as a time (kept as it is: no bool)."""


def _error_time(value: object) -> bool:
    """What ``Error.from_state`` takes as its time (it makes a float of it)."""
    return type(value) is float or (type(value) is int and abs(value) < 10**300)


def _message(state: Any, keys: frozenset[str]) -> None:
    """Check a request's or response's state as ``Request(**state)`` and its type checks
    take it (only the types mitmproxy writes); its header lists become ``Fields``."""
    if type(state) is not dict or state.keys() != keys:
        raise _Odd
    state["headers"] = _fields(state["headers"])
    if state["trailers"] is not None:
        _fields(state["trailers"])
    if type(state["http_version"]) is not bytes:
        raise _Odd
    content = state["content"]
    if content is not None and type(content) is not bytes:
        raise _Odd
    if type(state["timestamp_start"]) not in _TIME:
        raise _Odd
    end = state["timestamp_end"]
    if end is not None and type(end) not in _TIME:
        raise _Odd


def _fields(value: Any) -> Fields:
    if type(value) is not list:
        raise _Odd
    out = []
    for field in value:
        if type(field) is not list or len(field) != 2:
            raise _Odd
        k, v = field
        if type(k) is not bytes or type(v) is not bytes:
            raise _Odd
        out.append((k, v))
    return tuple(out)
