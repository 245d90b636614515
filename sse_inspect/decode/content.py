"""Incremental content decoding (gzip, deflate, br, zstd), one chunk at a time.

Undoing the content coding chunk by chunk, rather than on the whole body, is what keeps
event times right: an event is stamped with the chunk whose bytes completed it, and a
compressed stream flushes each event in its own chunk just like a plain one.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Protocol

import brotli

__all__ = ["ContentCodingError", "ContentDecoder"]

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd


class ContentCodingError(ValueError):
    """The body cannot be decoded with the coding its headers name."""


class _Decoder(Protocol):
    def decode(self, data: bytes) -> bytes: ...


class _Identity:
    def decode(self, data: bytes) -> bytes:
        return data


class _Zlib:
    """gzip and deflate. ``deflate`` is zlib-wrapped by spec, but some servers send it raw."""

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._obj: zlib._Decompress | None = None
        self._head = b""

    def decode(self, data: bytes) -> bytes:
        out = []
        while data:
            if self._obj is None:
                if self._wbits == zlib.MAX_WBITS and len(self._head + data) < 2:
                    self._head += data  # deflate: the header decides, wait for two bytes
                    break
                data, self._head = self._head + data, b""
                self._obj = zlib.decompressobj(self._wbits_for(data))
            out.append(self._obj.decompress(data))
            # A gzip body may hold several members; start again after the end of one.
            data = self._obj.unused_data
            if self._obj.eof:
                self._obj = None
            elif data:
                break
        return b"".join(out)

    def _wbits_for(self, data: bytes) -> int:
        if self._wbits != zlib.MAX_WBITS:
            return self._wbits
        # deflate: a zlib header has CM=8 in the low nibble and passes the FCHECK test.
        zlib_wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()

    def decode(self, data: bytes) -> bytes:
        out: bytes = self._obj.process(data)
        return out


class _Zstd:
    """zstd, frame after frame (a streaming server may start a new frame per flush)."""

    def __init__(self) -> None:
        self._obj = zstd.ZstdDecompressor()

    def decode(self, data: bytes) -> bytes:
        out = []
        while data:
            out.append(self._obj.decompress(data))
            if not self._obj.eof:
                break
            data = self._obj.unused_data
            self._obj = zstd.ZstdDecompressor()
        return b"".join(out)


_CODINGS: dict[str, Callable[[], _Decoder]] = {
    "identity": _Identity,
    "gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS),
    "br": _Brotli,
    "zstd": _Zstd,
}


class ContentDecoder:
    """Undo a ``Content-Encoding`` header's codings, last applied first.

    A stream cut mid-way decodes as far as its bytes go; corrupt bytes raise
    :class:`ContentCodingError`.
    """

    def __init__(self, content_encoding: str | None) -> None:
        names = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        unknown = [n for n in names if n not in _CODINGS]
        if unknown:
            raise ContentCodingError(f"unsupported content-encoding {', '.join(unknown)!r}")
        self._chain = [_CODINGS[n]() for n in reversed(names) if n != "identity"]

    def decode(self, data: bytes) -> bytes:
        try:
            for step in self._chain:
                data = step.decode(data)
        except (zlib.error, brotli.error, zstd.ZstdError) as e:
            raise ContentCodingError(f"cannot decode body: {e}") from e
        return data
