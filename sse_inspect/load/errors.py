"""The one error type loaders raise."""

__all__ = ["CaptureError"]


class CaptureError(Exception):
    """A capture file cannot be read (further); ``str(e)`` is a one-line reason."""
