"""From a Stream to timed events: content decoding chunk by chunk, times per chunk, as far
as the decoded-size limit goes."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib
from pathlib import Path

from sse_inspect.analysis.analysis import decode_stream
from sse_inspect.decode.body import (
    EventCounter,
    count_events,
    decode_body,
    decoded_bytes,
    event_ends,
)
from sse_inspect.decode.content import default_limit
from sse_inspect.load import read_capture
from sse_inspect.sse import Event, SSEDecoder

from .. import flows
from ..conftest import SAMPLES
from ..hostile.bombs import bomb


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


# --- A decoded-size limit: the events before it are kept, the rest is not read -------------

MiB = 1024 * 1024
GZIP = [(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"gzip")]


def _events_then_bomb() -> bytes:
    """Two events, then a gzip bomb of 2 GiB (two gzip members: both are read)."""
    return gzip.compress(b"data: one\n\ndata: two\n\ndata: th") + bomb("gzip")


def test_past_the_limit_the_events_before_are_kept_and_the_rest_is_not_read() -> None:
    body = _events_then_bomb()
    chunks = [(float(i), body[i : i + 65536]) for i in range(0, len(body), 65536)]
    start = time.perf_counter()
    decoded = decode_body(chunks, "gzip", 99.0, limit=4 * MiB)
    assert time.perf_counter() - start < 0.5
    assert [e.data for e in decoded.events] == ["one", "two"]
    assert decoded.capped == 4 * MiB and decoded.decoded_bytes == 4 * MiB
    assert decoded.error is None
    assert decoded.unterminated is None  # "data: th" + zeros did not end: it was cut off


def test_a_limit_applies_to_a_body_without_coding_too() -> None:
    chunks = [(0.0, b"data: a\n\n"), (1.0, b"data: b\n\n"), (2.0, b"data: c\n\n")]
    assert decode_body(chunks, None, 3.0, limit=27).capped is None
    capped = decode_body(chunks, None, 3.0, limit=20)
    assert [e.data for e in capped.events] == ["a", "b"] and capped.capped == 20
    assert capped.decoded_bytes == 20


def test_a_long_plain_chunk_is_read_in_steps_with_the_same_events() -> None:
    body = b"".join(b"data: %d\n\n" % i for i in range(100_000))
    decoded = decode_body([(5.0, body)], None, 6.0)
    assert len(decoded.events) == 100_000
    assert decoded.events[-1] == Event("message", "99999", "", 5.0)
    assert decoded.capped is None and decoded.decoded_bytes == len(body)


def test_decode_stream_caps_a_bomb_at_the_default_for_its_size(tmp_path: Path) -> None:
    body = bomb("br")  # 1.8 KB for 2 GiB
    f = flows.sse_flow(
        [(0.1, b""), (0.2, body)],
        headers=[(b"Content-Type", b"text/event-stream"), (b"Content-Encoding", b"br")],
    )
    decoded = decode_stream(_only(flows.write(tmp_path / "c.flow", [f])))
    assert decoded.capped == default_limit(len(body)) == 1000 * len(body)
    assert decode_stream(_only(tmp_path / "c.flow"), max_decoded=MiB).capped == MiB


def test_decoded_bytes_is_bounded_by_the_limit_or_the_default() -> None:
    body = bomb("zstd")
    assert len(decoded_bytes(body, "zstd")) == default_limit(len(body))
    assert decoded_bytes(body, "zstd", limit=10) == bytes(10)
    assert decoded_bytes(gzip.compress(b"data: x\n\n"), "gzip") == b"data: x\n\n"


def test_the_event_counter_keeps_only_the_first_and_last_events_and_works_in_slices() -> None:
    body = gzip.compress(b"".join(b"data: %d\n\n: ping\n\n" % i for i in range(50_000)))
    chunks = [(float(i), body[i : i + 1000]) for i in range(0, len(body), 1000)]
    counter = EventCounter(chunks, "gzip", 99.0, limit=10 * MiB, tail=3, step=4096)
    slices = 1
    while counter.run(0.0) is None:  # a step per call at the least
        slices += 1
    result = counter.run()
    assert slices > 10 and result is not None and result.capped is None
    assert result.count == 50_000 and result.first is not None and result.first.data == "0"
    assert [e.data for e in result.tail] == ["49997", "49998", "49999"]
    assert count_events(chunks, "gzip", 99.0, limit=1000).capped == 1000


def test_the_event_counter_of_a_bomb_is_bounded_in_time_and_memory() -> None:
    body = _events_then_bomb()
    tracemalloc.start()
    start = time.perf_counter()
    result = count_events([(0.0, body)], "gzip", 1.0, limit=4 * MiB)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.count == 2 and result.capped == 4 * MiB
    assert seconds < 0.5 and peak < 8 * MiB, (seconds, peak)


def test_plain_chunks_read_in_runs_give_what_feeding_each_chunk_gives() -> None:
    # Runs of many small chunks, runs of more than a step, a chunk longer than a step,
    # empty chunks, a limit inside a run: each event keeps the time of the chunk that
    # completed it, as when each chunk is fed to the decoder in turn.
    small = [(float(i), b"data: %d\n" % i) for i in range(600)]
    small = [c for t, line in small for c in ((t, line), (t + 0.5, b"\n"), (t + 0.7, b""))]
    big = [(1000.0 + i, b"data: " + b"b" * 3000 + b"\n\n") for i in range(300)]
    long = [(2000.0, b"".join(b"data: L%d\n\n" % i for i in range(30_000))), (2001.0, b"data: x")]
    cases = [(small, None), (small, 2000), (big, None), (big, 500_000), (small + long, None)]
    for chunks, limit in [*cases, (long, 5000), (long, None)]:
        decoder = SSEDecoder()
        expected: list[Event] = []
        size, over = 0, False
        for t, raw in chunks:
            over = limit is not None and size + len(raw) > limit
            raw = raw[: limit - size] if limit is not None and over else raw
            size += len(raw)
            expected += decoder.feed(raw, t)
            if over:
                break
        if not over:
            expected += decoder.close(chunks[-1][0])
        decoded = decode_body(chunks, None, 9999.0, limit=limit)
        assert decoded.events == expected
        assert decoded.decoded_bytes == size and decoded.first_byte == chunks[0][0]
        assert decoded.capped == (limit if over else None)
        assert decoded.unterminated == decoder.unterminated
