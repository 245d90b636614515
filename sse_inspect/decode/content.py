"""Incremental content decoding (gzip, deflate, br, zstd), one chunk at a time, bounded.

Undoing the content coding chunk by chunk, rather than on the whole body, is what keeps
event times right: an event is stamped with the chunk whose bytes completed it, and a
compressed stream flushes each event in its own chunk just like a plain one.

A few kilobytes of brotli or zstd can inflate to gigabytes (a decompression bomb), so every
decoder has a limit on what it produces: each coding is asked for at most :data:`STEP`
bytes at a time (zlib's and zstd's ``max_length``, brotli's ``output_buffer_limit``), and
once the output would pass the limit the decoder stops, keeps nothing more and says so
(:attr:`ContentDecoder.capped`). A bomb never materialises more than the limit plus one
step. The limit holds for each coding of a chain too, so a coding that decodes to a flood
of bytes the next one turns into nothing is stopped as well.
"""

from __future__ import annotations

import sys
import zlib
from collections.abc import Callable
from typing import Protocol

import brotli

__all__ = [
    "CEILING",
    "FLOOR",
    "RATIO",
    "STEP",
    "ContentCodingError",
    "ContentDecoder",
    "default_limit",
    "format_size",
]

if sys.version_info >= (3, 14):
    from compression import zstd
else:
    from backports import zstd

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
STEP = 256 * KiB
"""The most bytes asked of a coding at once by default (brotli may hand back up to about
twice that)."""
_IN_STEP = 64 * KiB
RATIO = 1000
"""The default limit: this many times the encoded size (deflate itself stops near 1032)..."""
CEILING = GiB
"""... but at most this much ..."""
FLOOR = 64 * KiB
"""... and at least this much, so that a tiny body always decodes."""


def default_limit(encoded_size: int) -> int:
    """The decoded size a body of ``encoded_size`` bytes may reach unless told otherwise."""
    return max(FLOOR, min(CEILING, RATIO * encoded_size))


def format_size(n: int) -> str:
    """``64 MiB``, ``4.8 MiB``, ``512 KiB``, ``1.2 GiB``, ``900 bytes``."""
    for unit, size in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= size:
            value = n / size
            return f"{value:.0f} {unit}" if n % size == 0 or value >= 100 else f"{value:.1f} {unit}"
    return f"{n:,} bytes"


class ContentCodingError(ValueError):
    """The body cannot be decoded with the coding its headers name."""


class _Stage(Protocol):
    """One coding undone: bytes pushed in, at most ``n`` decoded bytes pulled out at a time.

    ``pull`` returns ``b""`` when it needs more input; only then is more pushed. ``dry``
    says, without a call, that it would (false when it cannot tell).
    """

    def push(self, data: bytes) -> None: ...

    def pull(self, n: int) -> bytes: ...

    @property
    def dry(self) -> bool: ...


class _Identity:
    def __init__(self) -> None:
        self._data = b""
        self._pos = 0

    def push(self, data: bytes) -> None:
        self._data, self._pos = self._data[self._pos :] + data, 0

    def pull(self, n: int) -> bytes:
        data, pos = self._data, self._pos
        out = data if pos == 0 and len(data) <= n else data[pos : pos + n]
        self._pos = pos + len(out)
        if self._pos >= len(data):
            self._data, self._pos = b"", 0
        return out

    @property
    def dry(self) -> bool:
        return not self._data


class _Zlib:
    """gzip and deflate. ``deflate`` is zlib-wrapped by spec, but some servers send it raw.

    zlib is given at most :data:`_IN_STEP` bytes of input at a time: what it leaves unused
    is copied at every call, and a whole body given at once would be copied over and over.
    """

    def __init__(self, wbits: int) -> None:
        self._wbits = wbits
        self._obj: zlib._Decompress | None = None
        self._in = b""
        self._pos = 0
        self._more = False  # the last call filled its buffer: zlib may hold more output

    def push(self, data: bytes) -> None:
        if self._pos < len(self._in):
            data = self._in[self._pos :] + data
        self._in, self._pos = data, 0

    def pull(self, n: int) -> bytes:
        while True:
            obj, data, pos = self._obj, self._in, self._pos
            left = len(data) - pos
            if obj is None:
                # deflate: the header decides, wait for two bytes
                if left < (2 if self._wbits == zlib.MAX_WBITS else 1):
                    return b""
                obj = self._obj = zlib.decompressobj(self._wbits_for(data[pos : pos + 2]))
            elif not left and not self._more:
                return b""
            piece = data if pos == 0 and left <= _IN_STEP else data[pos : pos + _IN_STEP]
            out = obj.decompress(piece, n)
            if obj.eof:
                # A gzip body may hold several members; start again after the end of one.
                pos += len(piece) - len(obj.unused_data)
                self._obj, self._more = None, False
            else:
                pos += len(piece) - len(obj.unconsumed_tail)
                self._more = len(out) == n
            if pos >= len(data):
                self._in, self._pos = b"", 0
                return out
            self._pos = pos
            if out:
                return out

    @property
    def dry(self) -> bool:
        left = len(self._in) - self._pos
        if self._more:
            return False
        return left == 0 or (self._obj is None and left == 1 and self._wbits == zlib.MAX_WBITS)

    def _wbits_for(self, data: bytes) -> int:
        if self._wbits != zlib.MAX_WBITS:
            return self._wbits
        # deflate: a zlib header has CM=8 in the low nibble and passes the FCHECK test.
        zlib_wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
        return zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS


class _Brotli:
    def __init__(self) -> None:
        self._obj = brotli.Decompressor()
        self._in = b""

    def push(self, data: bytes) -> None:
        self._in += data

    def pull(self, n: int) -> bytes:
        # New input only once the decoder has handed out what it made of the last; it may
        # still hold output when it says it can take more, so an empty call is made anyway.
        data = b""
        if self._in and self._obj.can_accept_more_data():
            data, self._in = self._in, b""
        out: bytes = self._obj.process(data, output_buffer_limit=n)
        return out

    @property
    def dry(self) -> bool:
        return not self._in and self._obj.is_finished()


class _Zstd:
    """zstd, frame after frame (a streaming server may start a new frame per flush)."""

    def __init__(self) -> None:
        self._obj = zstd.ZstdDecompressor()
        self._in = b""

    def push(self, data: bytes) -> None:
        self._in += data

    def pull(self, n: int) -> bytes:
        while True:
            if not self._in and self._obj.needs_input:
                return b""
            data, self._in = self._in, b""
            out = self._obj.decompress(data, n)
            if self._obj.eof:
                self._in, self._obj = self._obj.unused_data, zstd.ZstdDecompressor()
            if out or not self._in:
                return out

    @property
    def dry(self) -> bool:
        return not self._in and self._obj.needs_input


_CODINGS: dict[str, Callable[[], _Stage]] = {
    "identity": _Identity,
    "gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "x-gzip": lambda: _Zlib(16 + zlib.MAX_WBITS),
    "deflate": lambda: _Zlib(zlib.MAX_WBITS),
    "br": _Brotli,
    "zstd": _Zstd,
}


class ContentDecoder:
    """Undo a ``Content-Encoding`` header's codings, last applied first, up to a limit.

    ``limit`` is the most decoded bytes it produces; without one, the limit set by
    :func:`decoded_limit`, else :func:`default_limit` of the bytes fed so far. Past the
    limit :attr:`capped` is true, and further input is ignored. ``step`` is the most asked
    of a coding at once (:data:`STEP` by default).

    A stream cut mid-way decodes as far as its bytes go; corrupt bytes raise
    :class:`ContentCodingError`.
    """

    __slots__ = (
        "_cut",
        "_limit",
        "_made",
        "_one",
        "_stages",
        "capped",
        "decoded",
        "fed",
        "plain",
        "step",
    )

    def __init__(
        self, content_encoding: str | None, limit: int | None = None, step: int = STEP
    ) -> None:
        names = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        unknown = [n for n in names if n not in _CODINGS]
        if unknown:
            raise ContentCodingError(f"unsupported content-encoding {', '.join(unknown)!r}")
        stages = [_CODINGS[n]() for n in reversed(names) if n != "identity"]
        self.plain = not stages
        """No coding to undo: what goes in comes out (up to the limit)."""
        self._stages: list[_Stage] = stages or [_Identity()]
        self._one = self._stages[0] if len(self._stages) == 1 else None  # the common case
        self._made = [0] * len(self._stages)  # the output of each stage, for a chain
        self._cut = 0  # in a chain, the stages before this one are past the limit
        self._limit = limit
        self.step = max(1, step)
        self.fed = 0
        """Encoded bytes taken in (until capped)."""
        self.decoded = 0
        """Decoded bytes handed out."""
        self.capped = False
        """The decoded body went past :attr:`limit`; what came after was not decoded."""

    @property
    def fixed_limit(self) -> int | None:
        """The limit given (or set by :func:`decoded_limit`); ``None`` for the default."""
        return self._limit

    @property
    def limit(self) -> int:
        """The limit in force: fixed, or growing with the input (the default)."""
        return self._limit if self._limit is not None else default_limit(self.fed)

    @property
    def dry(self) -> bool:
        """Nothing more to hand out until more input comes (false when it cannot tell)."""
        if self._one is not None:
            return self._one.dry
        return self.capped or all(stage.dry for stage in self._stages)

    def decode(self, data: bytes) -> bytes:
        """What ``data`` decodes to (at most the room left under the limit)."""
        out = []
        piece = self.next(data)
        while piece:
            out.append(piece)
            piece = b"" if self.dry else self.next()
        return b"".join(out)

    def next(self, data: bytes = b"") -> bytes:
        """Take ``data`` in (if any), and return the next piece of what it all decodes to,
        at most :attr:`step` bytes (about twice that from brotli); ``b""`` when more input
        is needed, or when :attr:`capped`. Call it again with no data until it returns
        ``b""`` (or :attr:`dry` is true) before giving it more: only one piece is ever
        held."""
        if self.capped:
            return b""
        one = self._one
        try:
            if data:
                self.fed += len(data)
                (one or self._stages[0]).push(data)
            limit = self._limit
            if limit is None:
                limit = default_limit(self.fed)
            if one is not None:
                room, step = limit - self.decoded, self.step
                piece = one.pull(step if room >= step else room + 1)
                if len(piece) > room:
                    self.capped = True
                    piece = piece[:room]
            else:
                piece = self._pull(len(self._stages) - 1, limit)
                self.capped = self._cut == len(self._stages)
        except (zlib.error, brotli.error, zstd.ZstdError) as e:
            raise ContentCodingError(f"cannot decode body: {e}") from e
        self.decoded += len(piece)
        if self.capped:
            self._stages, self._one = [], None  # drop what the codings hold
        return piece

    def _pull(self, i: int, limit: int) -> bytes:
        """The next piece out of stage ``i`` of a chain, fed from stage ``i - 1`` as needed.

        Each stage may produce at most ``limit`` bytes, so a coding whose output the next
        one turns into next to nothing is bounded too. Past it, that stage and those before
        give nothing more (``_cut``); the later ones decode what they hold, and when the
        last one is done the decoder is capped."""
        stage, step = self._stages[i], self.step
        while i >= self._cut:
            room = limit - self._made[i]
            out = stage.pull(step if room >= step else room + 1)
            if len(out) > room:  # one byte more than the room is enough to know
                out = out[:room]
                self._cut = i + 1
            if out:
                self._made[i] += len(out)
                return out
            if i == 0:
                return b""
            more = self._pull(i - 1, limit)
            if not more:
                if self._cut >= i:  # nothing more will come from before
                    self._cut = i + 1
                return b""
            stage.push(more)
        return b""
