"""Contract 2 of DESIGN.md: what the capture addon stores in ``flow.metadata``.

The writer (the addon) owns the key, the versions and the shape; readers of ``.flow`` files
and the HAR reader's timing come through :func:`unpack`, so a change of shape is made here
once. Version 2, stored when a stream ends (:func:`seal`)::

    flow.metadata["sse_inspect"] = {
        "version": 2,
        "times": bytes,            # little-endian float64 per chunk: arrival time (time.time())
        "sizes": bytes,            # little-endian uint32 per chunk: its byte count
        "complete": bool,          # the stream ended normally
        "truncated": True,         # only when the stored body was capped ...
        "max_bytes": int,          # ... at this many bytes
    }

Version 1 (:func:`pack`) is the same with ``"chunks": [[t, n], ...]`` in place of ``times``
and ``sizes``: the addon keeps it while a stream is open, filled in place, so a flow saved
mid-stream carries the chunks so far; the first releases stored it at the end too. Every
reader accepts both. Version 2 costs mitmproxy next to nothing to save (two bytes values,
where a list of 5,000 pairs is deep-copied and written item by item). To read it::

    times = array("d", meta["times"])   # on a big-endian machine: then times.byteswap()
    sizes = array("I", meta["sizes"])   # or struct.unpack(f"<{len(b) // 8}d", b), ...

Only tnetstring types, so mitmproxy saves it as it is.
"""

from __future__ import annotations

import math
import sys
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EARLIEST",
    "KEY",
    "LATEST",
    "OPEN_VERSION",
    "VERSION",
    "Recorded",
    "epoch",
    "mark_truncated",
    "pack",
    "seal",
    "shown",
    "stored_chunks",
    "unpack",
]

KEY = "sse_inspect"
VERSION = 2
"""What the addon stores when a stream ends."""
OPEN_VERSION = 1
"""What it keeps, filled in place, while a stream is open."""

EARLIEST = 631152000.0
"""1990-01-01 UTC: an arrival time (``time.time()``) before it is no time a capture took."""
LATEST = 4102444800.0
"""2100-01-01 UTC: nor is one after it."""

Chunks = tuple[tuple[float, int], ...]

_U32 = "I" if array("I").itemsize == 4 else "L"  # "I" is 4 bytes wherever CPython runs
_SWAP = sys.byteorder == "big"  # the stored form is little-endian


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a reader learns from the metadata of one flow."""

    chunks: Chunks | None
    """(arrival time, byte count) per chunk, fitted to the stored body; ``None`` if invalid."""
    complete: bool | None
    """Only a ``complete`` of ``True`` is complete; ``None`` when the metadata is of no
    known version (and the flow alone tells)."""
    truncated: bool
    notes: tuple[str, ...] = ()
    """What was wrong with the metadata and what was made of it, one line each."""


def pack(chunks: list[list[float | int]], complete: bool = False) -> dict[str, Any]:
    """The version-1 metadata dict. The addon keeps ``chunks`` and fills it in place while
    the stream is open, so a flow saved mid-stream already carries the chunks so far."""
    return {"version": OPEN_VERSION, "chunks": chunks, "complete": complete}


def seal(chunks: Sequence[Sequence[float | int]], complete: bool) -> dict[str, Any]:
    """The version-2 metadata dict of the version-1 ``chunks`` (``[[t, n], ...]``): what
    the addon stores when the stream ends, once. The version-1 dict instead if a chunk
    cannot be packed (a size over 4 GiB: no chunk a proxy reads)."""
    try:
        times = array("d", [c[0] for c in chunks])
        sizes = array(_U32, [c[1] for c in chunks])
    except (OverflowError, TypeError):
        return pack([list(c) for c in chunks], complete)
    if _SWAP:
        times.byteswap()
        sizes.byteswap()
    return {
        "version": VERSION,
        "times": times.tobytes(),
        "sizes": sizes.tobytes(),
        "complete": complete,
    }


def mark_truncated(meta: dict[str, Any], max_bytes: int) -> None:
    meta["truncated"] = True
    meta["max_bytes"] = max_bytes


def stored_chunks(meta: dict[str, Any]) -> list[tuple[float, int]]:
    """(time, size) per chunk as ``meta`` of either version stores them, unchecked (for
    tests and scripts; readers use :func:`unpack`). ``ValueError`` if they are no chunks."""
    if meta.get("version") == OPEN_VERSION:
        return [(float(t), int(n)) for t, n in meta["chunks"]]
    if meta.get("version") == VERSION:
        columns, why = _columns(meta.get("times"), meta.get("sizes"))
        if columns is None:
            raise ValueError(why)
        return list(zip(*columns, strict=True))
    raise ValueError(f"not Contract 2 metadata (version {shown(meta.get('version'))})")


def epoch(value: object) -> float | None:
    """``value`` as epoch seconds when it can be a time a capture took: a real number (not
    a bool), finite, from :data:`EARLIEST` to :data:`LATEST`; else ``None``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        t = float(value)
    except OverflowError:  # an int too large for a float
        return None
    return t if math.isfinite(t) and EARLIEST <= t < LATEST else None


def shown(value: object, width: int = 40) -> str:
    """A value from a capture as a note quotes it: its repr, cut to ``width`` characters
    (a 5,000-digit number is not repeated whole)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**width:
        return f"a {len(str(abs(value)))}-digit number"  # str() of a huge int is slow
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def unpack(meta: object, size: int, t_end: float | None) -> Recorded | None:
    """The recording in ``meta`` (a flow's ``metadata[KEY]``, version 1 or 2), or ``None``
    when the flow was not recorded by the addon (a plain mitmproxy capture).

    ``size`` is the stored body's length: chunks are cut to it, and stored bytes no chunk
    accounts for become one last chunk at ``t_end``, so no byte is ever dropped. Nothing in
    ``meta`` is trusted: a value that is not what the addon writes is taken as unknown
    (chunks: no per-chunk timing; ``complete``: cut; an unknown version: all of it) and
    said so in ``notes``.
    """
    if meta is None:
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    if (
        not isinstance(meta, dict)
        or type(version) is not int
        or version not in (OPEN_VERSION, VERSION)
    ):
        what = f"version {shown(version)}" if isinstance(meta, dict) else shown(meta, 20)
        note = f"the capture's {KEY} metadata is unknown ({what}): ignored"
        return Recorded(None, None, False, (note,))
    notes: list[str] = []
    if version == VERSION:
        columns, why = _columns(meta.get("times"), meta.get("sizes"))
    else:
        columns, why = _pairs(meta.get("chunks"))
    chunks = None if columns is None else _fit(*columns, size, t_end)
    if why:
        notes.append(f"per-chunk timing dropped: {why}")
    complete = meta.get("complete")
    if not isinstance(complete, bool):
        notes.append(
            f"the capture's 'complete' is {shown(complete)}, not true or false: "
            "the stream is taken as cut"
        )
    truncated = meta.get("truncated", False)
    if not isinstance(truncated, bool):
        notes.append(
            f"the capture's 'truncated' is {shown(truncated)}, not true or false: "
            "taken as not truncated"
        )
    return Recorded(chunks, complete is True, truncated is True, tuple(notes))


Columns = tuple[Sequence[float], Sequence[int]]


def _pairs(raw: Any) -> tuple[Columns | None, str | None]:
    """Version 1's ``chunks``, checked: times and sizes, or ``None`` and why."""
    if not isinstance(raw, list):
        return None, f"'chunks' is {shown(raw, 20)}, not a list"
    times: list[float] = []
    sizes: list[int] = []
    for i, item in enumerate(raw, 1):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return None, f"chunk {i} is {shown(item, 20)}, not a [time, size] pair"
        t, n = item
        at = epoch(t)
        if at is None:
            return None, _bad_time(i, t)
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return None, f"chunk {i} has size {shown(n)}, not a byte count"
        times.append(at)
        sizes.append(n)
    return (times, sizes), None


def _columns(raw_times: Any, raw_sizes: Any) -> tuple[Columns | None, str | None]:
    """Version 2's ``times`` and ``sizes``, checked and decoded, or ``None`` and why."""
    for name, raw, width, what in (
        ("times", raw_times, 8, "float64"),
        ("sizes", raw_sizes, 4, "uint32"),
    ):
        if not isinstance(raw, bytes):
            return None, f"'{name}' is {shown(raw, 20)}, not bytes"
        if len(raw) % width:
            return None, f"'{name}' is {len(raw):,} bytes, not a whole number of {what}s"
    if len(raw_times) // 8 != len(raw_sizes) // 4:
        n, m = len(raw_times) // 8, len(raw_sizes) // 4
        return None, f"'times' has {n:,} chunks and 'sizes' {m:,}"
    times, sizes = array("d"), array(_U32)
    times.frombytes(raw_times)
    sizes.frombytes(raw_sizes)
    if _SWAP:
        times.byteswap()
        sizes.byteswap()
    # NaN passes neither min() nor max() reliably: look for it first
    if times and (any(map(math.isnan, times)) or min(times) < EARLIEST or max(times) >= LATEST):
        i, t = next((i, t) for i, t in enumerate(times, 1) if epoch(t) is None)
        return None, _bad_time(i, t)
    return (times, sizes), None


def _bad_time(i: int, t: object) -> str:
    return f"chunk {i} has time {shown(t)}, not epoch seconds from 1990 to 2100"


def _fit(times: Sequence[float], sizes: Sequence[int], size: int, t_end: float | None) -> Chunks:
    """The chunks, cut to ``size`` bytes (empty ones left out), plus one at ``t_end`` for
    stored bytes no chunk accounts for."""
    if sum(sizes) == size and 0 not in sizes:  # as the addon stores them: all of them
        return tuple(zip(times, sizes, strict=True))
    chunks: list[tuple[float, int]] = []
    pos = 0
    for at, n in zip(times, sizes, strict=True):
        n = min(n, size - pos)
        if n > 0:
            chunks.append((at, n))
            pos += n
    if pos < size:
        chunks.append(
            (t_end if t_end is not None else chunks[-1][0] if chunks else 0.0, size - pos)
        )
    return tuple(chunks)
