"""Incremental content decoding: any split of the coded bytes gives the same text."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from sse_inspect.decode.content import ContentCodingError, ContentDecoder, zstd

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
