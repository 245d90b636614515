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

from dataclasses import dataclass
from typing import Any

__all__ = ["KEY", "VERSION", "Recorded", "mark_truncated", "pack", "unpack"]

KEY = "sse_inspect"
VERSION = 1

Chunks = tuple[tuple[float, int], ...]


@dataclass(frozen=True, slots=True)
class Recorded:
    """What a reader learns from the metadata of one flow."""

    chunks: Chunks | None
    """(arrival time, byte count) per chunk, fitted to the stored body; ``None`` if invalid."""
    complete: bool
    truncated: bool


def pack(chunks: list[list[float | int]], complete: bool = False) -> dict[str, Any]:
    """The metadata dict. The addon keeps ``chunks`` and fills it in place while the stream
    is open, so a flow saved mid-stream already carries the chunks so far."""
    return {"version": VERSION, "chunks": chunks, "complete": complete}


def mark_truncated(meta: dict[str, Any], max_bytes: int) -> None:
    meta["truncated"] = True
    meta["max_bytes"] = max_bytes


def unpack(meta: object, size: int, t_end: float | None) -> Recorded | None:
    """The recording in ``meta`` (a flow's ``metadata[KEY]``), or ``None`` when the flow was
    not recorded by the addon (a plain mitmproxy capture) or by an unknown version.

    ``size`` is the stored body's length: chunks are cut to it, and stored bytes no chunk
    accounts for become one last chunk at ``t_end``, so no byte is ever dropped.
    """
    if not isinstance(meta, dict) or meta.get("version") != VERSION:
        return None
    return Recorded(
        chunks=_fit(meta.get("chunks"), size, t_end),
        complete=bool(meta.get("complete")),
        truncated=bool(meta.get("truncated")),
    )


def _fit(raw: Any, size: int, t_end: float | None) -> Chunks | None:
    if not isinstance(raw, list):
        return None
    chunks: list[tuple[float, int]] = []
    pos = 0
    for item in raw:
        if not (isinstance(item, list | tuple) and len(item) == 2):
            return None
        t, n = item
        if not isinstance(t, int | float) or not isinstance(n, int) or n < 0:
            return None
        n = min(n, size - pos)
        if n > 0:
            chunks.append((float(t), n))
            pos += n
    if pos < size:
        chunks.append(
            (t_end if t_end is not None else chunks[-1][0] if chunks else 0.0, size - pos)
        )
    return tuple(chunks)
