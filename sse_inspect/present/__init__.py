"""Presentation: every way an :class:`~sse_inspect.analysis.analysis.Analysis` is shown or
written (Contract 4 JSON, terminal renderables, HAR, JSON Lines, Markdown), redaction,
and the atomic file write."""
