"""A raw ``.sse`` file: just the body of one event stream, no HTTP and no timing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import BinaryIO

from .stream import Stream

__all__ = ["bare_stream", "read_sse"]


def read_sse(f: BinaryIO, source: str) -> Iterator[Stream]:
    yield bare_stream(f.read(), source, str(uuid.uuid5(uuid.NAMESPACE_URL, f"sse:{source}")))


def bare_stream(body: bytes, source: str, flow_id: str) -> Stream:
    """An event-stream body with no HTTP exchange and no timing around it."""
    return Stream(
        source=source,
        flow_id=flow_id,
        method=None,
        url=None,
        request_headers=(),
        request_body=b"",
        status=None,
        response_headers=(("content-type", "text/event-stream"),),
        body=body,
        chunks=None,
        request_start=None,
        response_start=None,
        response_end=None,
        complete=True,
    )
