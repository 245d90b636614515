"""The decoder on the real LLM streams of ../shared/streams (event counts from manifest.json)."""

from __future__ import annotations

import hashlib
import json
import random
from typing import Any

import pytest

from sse_inspect.sse import SSEDecoder

from .conftest import SHARED

STREAMS = SHARED / "streams"
MANIFEST: list[dict[str, Any]] = json.loads((STREAMS / "manifest.json").read_text("utf-8"))


def _count(chunks: list[bytes]) -> int:
    dec = SSEDecoder()
    n = sum(len(dec.feed(c, 0.0)) for c in chunks)
    return n + len(dec.close(0.0))


@pytest.mark.parametrize("entry", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_event_count_matches_the_manifest_under_any_chunking(entry: dict[str, Any]) -> None:
    body = (STREAMS / entry["file"]).read_bytes()
    assert hashlib.sha256(body).hexdigest() == entry["sha256"]  # the data is untouched
    expected = entry["expected"]["events"]
    assert _count([body]) == expected
    rng = random.Random(entry["file"])
    cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, len(body) // 7)))
    pieces = [body[a:b] for a, b in zip([0, *cuts], [*cuts, len(body)], strict=True)]
    assert _count(pieces) == expected
    assert _count([body[i : i + 1] for i in range(len(body))]) == expected
