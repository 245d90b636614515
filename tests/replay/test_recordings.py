"""Recordings for replay: what is sent, when, and with which headers."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from sse_inspect.load import read_capture
from sse_inspect.load.stream import Stream
from sse_inspect.replay.recordings import Recordings, recording

from .. import flows
from ..conftest import SAMPLES


def _stream(path: Path) -> Stream:
    (s,) = read_capture(path)
    return s


def test_chunks_keep_their_offsets_from_the_request(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.25, b"data: a\n\n"), (0.5, b"data: b\n\n")])
    f.response.headers["Content-Length"] = "18"  # type: ignore[union-attr]
    f.response.headers["Connection"] = "keep-alive"  # type: ignore[union-attr]
    r = recording(_stream(flows.write(tmp_path / "c.flow", [f])))
    assert [t for t, _ in r.script.writes] == pytest.approx([0.25, 0.5])
    assert [d for _, d in r.script.writes] == [b"data: a\n\n", b"data: b\n\n"]
    names = {k.lower() for k, _ in r.script.headers}
    assert "content-type" in names and not names & {"content-length", "connection"}
    assert (r.method, r.path, r.timed) == ("POST", "/v1/chat/completions", True)


def test_speed_scales_and_no_delay_flattens(tmp_path: Path) -> None:
    path = flows.write(
        tmp_path / "c.flow", [flows.sse_flow([(0.2, b"data: a\n\n"), (1.0, b"data: b\n\n")])]
    )
    assert [t for t, _ in recording(_stream(path), speed=4).script.writes] == pytest.approx(
        [0.05, 0.25]
    )
    assert [t for t, _ in recording(_stream(path), no_delay=True).script.writes] == [0.0, 0.0]


def test_encoded_bodies_are_sent_decoded_chunk_by_chunk_unless_kept() -> None:
    stream = _stream(SAMPLES / "openai-chat-gzip.flow")
    plain = recording(stream)
    assert not any(k.lower() == "content-encoding" for k, _ in plain.script.headers)
    assert plain.script.body == _stream(SAMPLES / "openai-chat.flow").body
    assert len(plain.script.writes) == len(stream.chunks or ())  # same pieces, same times
    kept = recording(stream, keep_encoding=True)
    assert ("Content-Encoding", "gzip") in kept.script.headers
    assert zlib.decompress(kept.script.body, 16 + zlib.MAX_WBITS) == plain.script.body


def test_untimed_streams_are_paced_event_by_event() -> None:
    r = recording(_stream(SAMPLES / "plain-mitmproxy.flow"), pace_ms=20)
    assert not r.timed and len(r.script.writes) == 67
    assert [t for t, _ in r.script.writes[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert all(data.endswith(b"\n\n") for _, data in r.script.writes)


def test_loop_starts_again_from_the_first(tmp_path: Path) -> None:
    path = flows.write(
        tmp_path / "c.flow",
        [flows.sse_flow([(0.1, b"data: %d\n\n" % i)]) for i in range(2)],
    )
    routes = Recordings([recording(s) for s in read_capture(path)], loop=True)
    bodies = [routes.find("POST", "/v1/chat/completions", b"x") for _ in range(3)]
    assert [s.body if s else None for s in bodies] == [
        b"data: 0\n\n",
        b"data: 1\n\n",
        b"data: 0\n\n",
    ]
    assert routes.find("GET", "/v1/chat/completions", b"") is None
