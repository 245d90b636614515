"""sse-inspect: capture, inspect, time and replay Server-Sent Event streams of AI chat apps."""

__version__ = "0.1.0"
