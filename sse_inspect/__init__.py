"""sse-inspect: capture, inspect, time and replay Server-Sent Event streams of AI chat apps.

The names a library user needs, re-exported here::

    from sse_inspect import read_capture, analyze
    for stream in read_capture("capture.flow"):
        a = analyze(stream)
        print(a.dialect, a.answer.first.text, a.cadence.ttft_ms)

They are imported on first use (PEP 562), so that importing one stage, such as
``sse_inspect.capture`` inside the proxy, does not load the others.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> the module that defines it
_EXPORTS = {
    "SSEDecoder": "sse_inspect.sse",
    "Event": "sse_inspect.sse",
    "Comment": "sse_inspect.sse",
    "is_event_stream": "sse_inspect.sse",
    "SSECapture": "sse_inspect.capture.addon",
    "Stream": "sse_inspect.load.stream",
    "CaptureError": "sse_inspect.load.errors",
    "read_capture": "sse_inspect.load",
    "Delta": "sse_inspect.dialects.base",
    "Reading": "sse_inspect.dialects.base",
    "Dialect": "sse_inspect.dialects.base",
    "Analysis": "sse_inspect.analysis.analysis",
    "analyze": "sse_inspect.analysis.analysis",
    "Answer": "sse_inspect.analysis.answer",
    "Cadence": "sse_inspect.analysis.cadence",
    "stream_record": "sse_inspect.present.json",
}

__all__ = [
    "Analysis",
    "Answer",
    "Cadence",
    "CaptureError",
    "Comment",
    "Delta",
    "Dialect",
    "Event",
    "Reading",
    "SSECapture",
    "SSEDecoder",
    "Stream",
    "__version__",
    "analyze",
    "is_event_stream",
    "read_capture",
    "stream_record",
]

if TYPE_CHECKING:
    from .analysis.analysis import Analysis, analyze
    from .analysis.answer import Answer
    from .analysis.cadence import Cadence
    from .capture.addon import SSECapture
    from .dialects.base import Delta, Dialect, Reading
    from .load import read_capture
    from .load.errors import CaptureError
    from .load.stream import Stream
    from .present.json import stream_record
    from .sse import Comment, Event, SSEDecoder, is_event_stream


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sse_inspect' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
