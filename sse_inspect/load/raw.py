"""A raw ``.sse`` file: just the body of one event stream, no HTTP and no timing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import BinaryIO

from .stream import Stream

__all__ = ["read_sse"]


def read_sse(f: BinaryIO, source: str) -> Iterator[Stream]:
    yield Stream(
        source=source,
        flow_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"sse:{source}")),
        method=None,
        url=None,
        request_headers=(),
        request_body=b"",
        status=None,
        response_headers=(("content-type", "text/event-stream"),),
        body=f.read(),
        chunks=None,
        request_start=None,
        response_start=None,
        response_end=None,
        complete=True,
    )
