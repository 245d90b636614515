"""A pytest plugin: recorded event streams as a local server for your tests.

Installed with sse-inspect (registered under the ``pytest11`` entry point), it gives every
test the ``sse_replay`` fixture::

    def test_my_client_streams(sse_replay):
        base_url = sse_replay("tests/captures/chat.flow", speed=4)
        answer = my_client(base_url + "/v1").ask("hello")   # talks to 127.0.0.1
        assert answer == "Hello! How can I help?"

``sse_replay(capture, speed=1.0, no_delay=False, loop=False, keep_encoding=False,
filter=None, max_body="8M")`` starts a replay server for the capture file on a free port of
127.0.0.1 and returns its base URL; a request body over ``max_body`` (bytes, or a size such as
``"512k"``, ``"32M"``) is refused with 413. Every server started in a test stops when the test
ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from mitmproxy import flowfilter

from ..load import read_capture
from .recordings import Replay, start_replay
from .server import DEFAULT_MAX_BODY, parse_size

__all__ = ["sse_replay"]

ReplayFactory = Callable[..., str]


@pytest.fixture
def sse_replay() -> Iterator[ReplayFactory]:
    """A function that serves a capture file and returns the server's base URL."""
    replays: list[Replay] = []

    def start(
        capture: str | Path,
        *,
        speed: float = 1.0,
        no_delay: bool = False,
        loop: bool = False,
        keep_encoding: bool = False,
        filter: str | None = None,
        max_body: int | str = DEFAULT_MAX_BODY,
    ) -> str:
        limit = parse_size(max_body) if isinstance(max_body, str) else max_body
        flt = flowfilter.parse(filter) if filter else None
        streams = list(read_capture(capture, flt))
        if not streams:
            raise ValueError(f"{capture}: no event streams to replay")
        replay = start_replay(
            streams,
            loop=loop,
            max_body=limit,
            speed=speed,
            no_delay=no_delay,
            keep_encoding=keep_encoding,
        )
        replays.append(replay)
        return replay.base_url

    yield start
    for replay in replays:
        replay.stop()
