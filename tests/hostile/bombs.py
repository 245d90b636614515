"""Decompression bombs: small bodies that inflate to gigabytes, one per content coding.

Each is built once per test session (``functools.cache``) without ever holding what it
inflates to: one piece of zeros is compressed after a flush, when the compressor's state is
the same every time, and its bytes are repeated; gzip and deflate then end with the trailer
of the whole. Each is a valid stream of ``SIZE`` zeros, built in well under a second
(``test_bombs`` checks that at a smaller size).
"""

from __future__ import annotations

import functools
import struct
import zlib

import brotli

from sse_inspect.decode.content import zstd

__all__ = ["BOMBS", "SIZE", "bomb", "coding_of"]

MiB = 1024 * 1024
SIZE = 2048 * MiB
"""What every bomb inflates to: 2 GiB."""

_ZEROS = bytes(MiB)


def _zlib(wbits: int, size: int) -> bytes:
    """gzip (wbits 31), zlib-wrapped deflate (15) or raw deflate (-15) of ``size`` zeros."""
    c = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = c.compress(_ZEROS) + c.flush(zlib.Z_FULL_FLUSH)
    again = c.compress(_ZEROS) + c.flush(zlib.Z_FULL_FLUSH)
    end = c.flush()
    if wbits == 31:  # the gzip trailer: CRC-32 and size of everything
        end = end[:-8] + struct.pack("<II", crc32_of_zeros(size), size & 0xFFFFFFFF)
    elif wbits == 15:  # the zlib trailer: Adler-32 (of zeros: 1, and the count), big-endian
        end = end[:-4] + struct.pack(">I", (size % 65521) << 16 | 1)
    return first + again * (size // MiB - 1) + end


def crc32_of_zeros(n: int) -> int:
    """``zlib.crc32(bytes(n))`` without the bytes: zlib's crc32_combine, doubling."""
    crc, length, result, done = zlib.crc32(b"\0"), 1, 0, 0
    while n:
        if n & 1:
            result = _crc32_combine(result, crc, length) if done else crc
            done += length
        crc, length, n = _crc32_combine(crc, crc, length), length * 2, n >> 1
    return result


def _crc32_combine(crc1: int, crc2: int, len2: int) -> int:
    """The CRC-32 of A + B from those of A and B (``len2`` bytes), as zlib computes it."""

    def times(mat: list[int], vec: int) -> int:
        out, i = 0, 0
        while vec:
            if vec & 1:
                out ^= mat[i]
            vec, i = vec >> 1, i + 1
        return out

    def square(mat: list[int]) -> list[int]:
        return [times(mat, mat[i]) for i in range(32)]

    op = square(square([0xEDB88320] + [1 << i for i in range(31)]))  # four zero bits
    while len2:
        op = square(op)  # eight zero bits, then 16, ...: one byte, two, four, ...
        if len2 & 1:
            crc1 = times(op, crc1)
        len2 >>= 1
    return crc1 ^ crc2


def _brotli(size: int) -> bytes:
    """brotli: after a flush the encoder is in the same state at each piece of zeros (a full
    window of them), so the bytes of one piece are those of every later one."""
    piece = bytes(min(16 * MiB, size))
    c = brotli.Compressor(quality=5, lgwin=24)
    first = c.process(piece) + c.flush()
    again = c.process(piece) + c.flush()
    return first + again * (size // len(piece) - 1) + c.finish()


def _zstd(size: int) -> bytes:
    """zstd, one frame: the same trick with a block flush."""
    piece = bytes(min(16 * MiB, size))
    c = zstd.ZstdCompressor(level=3)
    first = c.compress(piece, zstd.ZstdCompressor.FLUSH_BLOCK)
    again = c.compress(piece, zstd.ZstdCompressor.FLUSH_BLOCK)
    return first + again * (size // len(piece) - 1) + c.flush()


BOMBS = ("gzip", "deflate", "deflate-raw", "br", "zstd", "gzip, br")
"""The bombs by name: the Content-Encoding, except ``deflate-raw`` (sent as ``deflate``)."""


def coding_of(name: str) -> str:
    """The Content-Encoding header a bomb is sent with."""
    return "deflate" if name == "deflate-raw" else name


@functools.cache
def bomb(name: str, size: int = SIZE) -> bytes:
    """The body of bomb ``name`` (see :data:`BOMBS`), inflating to ``size`` zeros."""
    if name == "gzip":
        return _zlib(31, size)
    if name == "deflate":
        return _zlib(15, size)
    if name == "deflate-raw":
        return _zlib(-15, size)
    if name == "br":
        return _brotli(size)
    if name == "zstd":
        return _zstd(size)
    if name == "gzip, br":  # gzip applied first, then brotli over it
        return brotli.compress(bomb("gzip", size), quality=5)
    raise ValueError(name)
