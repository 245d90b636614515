"""Incremental content decoding: any split of the coded bytes gives the same text, and a
decompression bomb stops at the limit."""

from __future__ import annotations

import gzip
import time
import tracemalloc
import zlib

import brotli
import pytest

from sse_inspect.decode.content import (
    CEILING,
    FLOOR,
    RATIO,
    STEP,
    ContentCodingError,
    ContentDecoder,
    default_limit,
    format_size,
    zstd,
)

from ..hostile.bombs import BOMBS, bomb, coding_of

BODY = "".join(f'data: {{"n": {i}, "text": "café —"}}\n\n' for i in range(300)).encode()

CODED = {
    "gzip": gzip.compress(BODY),
    "x-gzip": gzip.compress(BODY),
    "deflate": zlib.compress(BODY),
    "br": brotli.compress(BODY),
    "zstd": zstd.compress(BODY),
    "identity": BODY,
    "": BODY,
}


def _decode_in(pieces: list[bytes], coding: str) -> bytes:
    dec = ContentDecoder(coding)
    return b"".join(dec.decode(p) for p in pieces)


@pytest.mark.parametrize("coding", CODED)
def test_whole_and_byte_by_byte_agree(coding: str) -> None:
    coded = CODED[coding]
    assert _decode_in([coded], coding) == BODY
    assert _decode_in([coded[i : i + 1] for i in range(len(coded))], coding) == BODY


def test_raw_deflate_without_zlib_header_is_accepted() -> None:
    raw = zlib.compress(BODY)[2:-4]
    assert _decode_in([raw[i : i + 1] for i in range(len(raw))], "deflate") == BODY


def test_stacked_codings_are_undone_last_first() -> None:
    assert _decode_in([brotli.compress(gzip.compress(BODY))], "gzip, br") == BODY


def test_concatenated_gzip_members() -> None:
    assert _decode_in([gzip.compress(BODY) + gzip.compress(b"data: x\n\n")], "gzip") == (
        BODY + b"data: x\n\n"
    )


def test_sync_flushed_stream_decodes_each_chunk_as_it_comes() -> None:
    z = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    dec = ContentDecoder("gzip")
    for event in (b"data: a\n\n", b"data: b\n\n"):
        assert dec.decode(z.compress(event) + z.flush(zlib.Z_SYNC_FLUSH)) == event


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd", "deflate"])
def test_a_cut_stream_decodes_as_far_as_it_goes(coding: str) -> None:
    coded = CODED[coding]
    out = _decode_in([coded[: len(coded) // 2]], coding)
    assert BODY.startswith(out)


@pytest.mark.parametrize("coding", ["gzip", "br", "zstd"])
def test_corrupt_bytes_raise_a_coding_error(coding: str) -> None:
    with pytest.raises(ContentCodingError):
        _decode_in([b"this is not " + coding.encode() + b" at all" * 10], coding)


def test_unknown_coding_is_refused() -> None:
    with pytest.raises(ContentCodingError, match="compress"):
        ContentDecoder("compress")


def test_zstd_frames_one_after_another() -> None:
    coded = zstd.compress(b"data: a\n\n") + zstd.compress(b"data: b\n\n")
    assert _decode_in([coded[i : i + 1] for i in range(len(coded))], "zstd") == (
        b"data: a\n\ndata: b\n\n"
    )


# --- Decompression bombs: the decoder stops at its limit, fast and in bounded memory ---------

MiB = 1024 * 1024
CAP = 16 * MiB


def _drain(dec: ContentDecoder, data: bytes) -> tuple[int, int]:
    """Feed ``data``, drop every piece; the decoded size and the largest piece."""
    total = biggest = 0
    piece = dec.next(data)
    while piece:
        total, biggest = total + len(piece), max(biggest, len(piece))
        piece = b"" if dec.dry else dec.next()
    return total, biggest


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_stops_at_the_limit_quickly_and_in_bounded_memory(name: str) -> None:
    body = bomb(name)  # inflates to 2 GiB
    dec = ContentDecoder(coding_of(name), limit=CAP)
    tracemalloc.start()
    start = time.process_time()
    total, biggest = _drain(dec, body)
    seconds = time.process_time() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert dec.capped and total == dec.decoded == CAP
    assert biggest <= 2 * STEP  # brotli's output buffer may grow to about twice the ask
    assert seconds < 1.0, seconds  # CPU time: a busy machine does not count
    assert peak < 4 * MiB, peak  # one step at a time, nothing kept
    assert dec.next(b"more") == b"" and dec.capped  # further input is ignored


@pytest.mark.parametrize("name", BOMBS)
def test_a_bomb_fed_in_small_chunks_stops_at_the_limit_too(name: str) -> None:
    body = bomb(name)
    dec = ContentDecoder(coding_of(name), limit=CAP)
    total = 0
    for i in range(0, len(body), 4096):
        total += _drain(dec, body[i : i + 4096])[0]
        if dec.capped:
            break
    assert dec.capped and total == CAP


@pytest.mark.parametrize("name", BOMBS)
def test_decode_returns_at_most_the_limit(name: str) -> None:
    dec = ContentDecoder(coding_of(name), limit=MiB + 1)
    assert dec.decode(bomb(name)) == bytes(MiB + 1) and dec.capped


@pytest.mark.parametrize("name", ["br", "zstd", "gzip, br"])
def test_without_a_limit_the_default_grows_with_the_input(name: str) -> None:
    body = bomb(name)
    dec = ContentDecoder(coding_of(name))
    _drain(dec, body)
    assert dec.capped and dec.decoded == default_limit(len(body)) == max(FLOOR, RATIO * len(body))


def test_the_default_limit_is_a_ratio_between_a_floor_and_a_ceiling() -> None:
    assert default_limit(10) == FLOOR == 64 * 1024
    assert default_limit(5000) == 5_000_000
    assert default_limit(64 * MiB) == CEILING == 1024 * MiB


def test_a_body_of_exactly_the_limit_is_not_capped() -> None:
    dec = ContentDecoder("gzip", limit=len(BODY))
    assert dec.decode(CODED["gzip"]) == BODY and not dec.capped
    dec = ContentDecoder("gzip", limit=len(BODY) - 1)
    assert dec.decode(CODED["gzip"]) == BODY[:-1] and dec.capped


def test_a_chain_whose_inner_coding_floods_with_nothing_is_bounded_too() -> None:
    # brotli over a gzip body of a million empty members: 20 MB that decode to nothing.
    # The limit holds for each coding of the chain, so the gzip members are not all read.
    body = brotli.compress(gzip.compress(b"") * 1_000_000, quality=1)
    dec = ContentDecoder("gzip, br", limit=MiB)
    start = time.process_time()
    assert dec.decode(body) == b""
    assert dec.capped and time.process_time() - start < 2.0


def test_a_whole_body_in_one_piece_is_not_copied_over_and_over() -> None:
    # zlib copies the input it leaves unused at every call: it is given 64 KiB at a time.
    events = b"".join(b'data: {"n": %d, "text": "some words"}\n\n' % i for i in range(300_000))
    coded = gzip.compress(events)
    start = time.process_time()
    assert ContentDecoder("gzip", limit=len(events)).decode(coded) == events
    assert time.process_time() - start < 2.0


def test_format_size() -> None:
    assert format_size(64 * MiB) == "64 MiB"
    assert format_size(5_000_000) == "4.8 MiB"
    assert format_size(1024 * MiB) == "1 GiB"
    assert format_size(900) == "900 bytes"
