"""Replay: captured streams served again with their timing, as a server and a pytest fixture."""

__all__ = ["DEFAULT_PACE_MS"]

DEFAULT_PACE_MS = 50.0
"""Milliseconds between the events of a stream captured without per-chunk times. Here, not
in :mod:`.recordings`, so that the CLI can show it as a default without loading the server
(tornado) on every command."""
