"""From a Stream to timed events: content decoding chunk by chunk, times per chunk."""

from __future__ import annotations

import zlib
from pathlib import Path

from sse_inspect.analysis.analysis import decode_stream
from sse_inspect.decode.body import event_ends
from sse_inspect.load import read_capture

from .. import flows
from ..conftest import SAMPLES


def _only(path: Path):  # type: ignore[no-untyped-def]
    (s,) = read_capture(path)
    return s


def test_each_event_gets_the_time_of_the_chunk_that_completed_it(tmp_path: Path) -> None:
    chunks = [(0.25, b"data: a\n"), (0.5, b"\ndata: b\n\ndata"), (0.75, b": c\n\n: ping\n\n")]
    decoded = decode_stream(_only(flows.write(tmp_path / "c.flow", [flows.sse_flow(chunks)])))
    assert [(e.data, e.t - flows.T0) for e in decoded.events] == [
        ("a", 0.5),
        ("b", 0.5),
        ("c", 0.75),
    ]
    assert [(c.text, c.after) for c in decoded.comments] == [(" ping", 3)]
    assert decoded.first_byte == flows.T0 + 0.25


def test_gzip_stream_decodes_per_chunk_with_the_same_times(tmp_path: Path) -> None:
    z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    events = [b"data: one\n\n", b"data: two\n\n"]
    coded = [
        (0.1 * (i + 1), z.compress(e) + z.flush(zlib.Z_SYNC_FLUSH)) for i, e in enumerate(events)
    ]
    coded[-1] = (coded[-1][0], coded[-1][1] + z.flush())
    f = flows.sse_flow(
        coded, headers=[(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"gzip")]
    )
    decoded = decode_stream(_only(flows.write(tmp_path / "c.flow", [f])))
    assert [(e.data, round(e.t - flows.T0, 3)) for e in decoded.events] == [
        ("one", 0.1),
        ("two", 0.2),
    ]
    assert decoded.decoded_bytes == sum(map(len, events)) and decoded.error is None


def test_gzip_sample_gives_the_same_events_as_the_plain_one() -> None:
    plain = decode_stream(_only(SAMPLES / "openai-chat.flow")).events
    gz = decode_stream(_only(SAMPLES / "openai-chat-gzip.flow")).events
    assert [e.data for e in gz] == [e.data for e in plain] and len(plain) == 67


def test_a_corrupt_body_keeps_the_events_before_the_damage(tmp_path: Path) -> None:
    z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    good = z.compress(b"data: ok\n\n") + z.flush(zlib.Z_SYNC_FLUSH)
    f = flows.sse_flow(
        [(0.1, good), (0.2, b"\xff" * 40)],
        headers=[(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"gzip")],
    )
    decoded = decode_stream(_only(flows.write(tmp_path / "c.flow", [f])))
    assert [e.data for e in decoded.events] == ["ok"]
    assert decoded.error is not None and "cannot decode" in decoded.error


def test_an_unsupported_coding_is_reported_not_raised(tmp_path: Path) -> None:
    f = flows.sse_flow(
        [(0.1, b"data: x\n\n")],
        headers=[(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"compress")],
    )
    decoded = decode_stream(_only(flows.write(tmp_path / "c.flow", [f])))
    assert decoded.events == [] and decoded.error and "compress" in decoded.error


def test_event_ends_with_cr_only_line_ends() -> None:
    body = b"data: a\r\rdata: b\r\r: c\r\rdata: d\r"
    # the comment dispatches nothing; the last event has no blank line: no end for it
    assert event_ends(body) == [9, 18]


def test_event_ends_count_a_leading_bom_and_mixed_line_ends() -> None:
    body = b"\xef\xbb\xbfdata: a\n\ndata: b\r\n\r\ndata: c\r\n"
    assert event_ends(body) == [12, 23]
    assert body[:12].endswith(b"\n\n") and body[12:23] == b"data: b\r\n\r\n"


def test_event_ends_agree_with_the_decoder_on_every_sample() -> None:
    for path in (SAMPLES / "openai-chat.sse", SAMPLES / "openai-chat.flow"):
        stream = _only(path)
        ends = event_ends(stream.body)
        assert len(ends) == len(decode_stream(stream).events)
        assert all(stream.body[end - 2 : end] == b"\n\n" for end in ends)
