"""Contract 2 of DESIGN.md: what the capture addon stores in ``flow.metadata``.

The writer (the addon) owns the key, the version and the shape; readers of ``.flow`` files
and the HAR reader's timing come through :func:`unpack`, so a change of shape is made here
once. Version 1::

    flow.metadata["sse_inspect"] = {
        "version": 1,
        "chunks": [[t, n], ...],   # arrival time (time.time()) and byte count per chunk
        "complete": bool,          # the stream ended normally
        "truncated": True,         # only when the stored body was capped ...
        "max_bytes": int,          # ... at this many bytes
    }

Only tnetstring types, so mitmproxy saves it as it is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

__all__ = [
    "EARLIEST",
    "KEY",
    "LATEST",
    "VERSION",
    "Recorded",
    "epoch",
    "mark_truncated",
    "pack",
    "shown",
    "unpack",
]

KEY = "sse_inspect"
VERSION = 1

EARLIEST = 631152000.0
"""1990-01-01 UTC: an arrival time (``time.time()``) before it is no time a capture took."""
LATEST = 4102444800.0
"""2100-01-01 UTC: nor is one after it."""

Chunks = tuple[tuple[float, int], ...]


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
    """The metadata dict. The addon keeps ``chunks`` and fills it in place while the stream
    is open, so a flow saved mid-stream already carries the chunks so far."""
    return {"version": VERSION, "chunks": chunks, "complete": complete}


def mark_truncated(meta: dict[str, Any], max_bytes: int) -> None:
    meta["truncated"] = True
    meta["max_bytes"] = max_bytes


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
    """The recording in ``meta`` (a flow's ``metadata[KEY]``), or ``None`` when the flow was
    not recorded by the addon (a plain mitmproxy capture) or by an unknown version.

    ``size`` is the stored body's length: chunks are cut to it, and stored bytes no chunk
    accounts for become one last chunk at ``t_end``, so no byte is ever dropped. Nothing in
    ``meta`` is trusted: a value that is not what the addon writes is taken as unknown
    (chunks: no per-chunk timing; ``complete``: cut) and said so in ``notes``.
    """
    if meta is None:
        return None
    version = meta.get("version") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or type(version) is not int or version != VERSION:
        what = f"version {shown(version)}" if isinstance(meta, dict) else shown(meta, 20)
        note = f"the capture's {KEY} metadata is unknown ({what}): ignored"
        return Recorded(None, None, False, (note,))
    notes: list[str] = []
    chunks, why = _fit(meta.get("chunks"), size, t_end)
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


def _fit(raw: Any, size: int, t_end: float | None) -> tuple[Chunks | None, str | None]:
    """The chunks, cut to ``size`` bytes, or ``None`` and why."""
    if not isinstance(raw, list):
        return None, f"'chunks' is {shown(raw, 20)}, not a list"
    chunks: list[tuple[float, int]] = []
    pos = 0
    for i, item in enumerate(raw, 1):
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return None, f"chunk {i} is {shown(item, 20)}, not a [time, size] pair"
        t, n = item
        at = epoch(t)
        if at is None:
            return None, f"chunk {i} has time {shown(t)}, not epoch seconds from 1990 to 2100"
        if isinstance(n, bool) or not isinstance(n, int) or n < 0:
            return None, f"chunk {i} has size {shown(n)}, not a byte count"
        n = min(n, size - pos)
        if n > 0:
            chunks.append((at, n))
            pos += n
    if pos < size:
        chunks.append(
            (t_end if t_end is not None else chunks[-1][0] if chunks else 0.0, size - pos)
        )
    return tuple(chunks), None
