"""The error types loaders raise."""

__all__ = ["CaptureError", "NotACapture"]


class CaptureError(Exception):
    """A capture file cannot be read (further); ``str(e)`` is a one-line reason."""


class NotACapture(CaptureError):
    """The file is no capture at all (no flow, HAR, SSE or JSONL export), as opposed to a
    damaged one: among several files, a caller may skip it with a warning."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason
