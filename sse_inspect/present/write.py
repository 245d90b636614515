"""Writing an export file whole or not at all, and saying in one line why it cannot be."""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

__all__ = ["OutputError", "check_writable", "write_atomically"]


class OutputError(Exception):
    """The output cannot be written there; ``str(e)`` is a one-line reason."""


def check_writable(path: Path) -> None:
    """Fail early, before any work, for an output that could never be written."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory; give a file name")
    parent = path.parent
    if not parent.is_dir():
        raise OutputError(f"{path}: no such directory {str(parent)!r}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: cannot write in {str(parent)!r} (permission denied)")


def write_atomically(path: Path, text: str) -> None:
    """Write to a temporary file beside ``path``, then rename it into place: a reader (or a
    crash) never sees half a transcript, and an old file survives a failed export.

    The file gets the permissions a plain ``open()`` would give it (the umask's), or keeps
    those of the file it replaces; ``mkstemp``'s private 0600 is only for the temporary.
    """
    check_writable(path)
    mode = _mode_for(path)
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as e:
        raise OutputError(f"{path}: cannot write ({_reason(e)})") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace") as f:  # lone surrogates
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as e:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(e, OSError):
            raise OutputError(f"{path}: cannot write ({_reason(e)})") from None
        raise


def _mode_for(path: Path) -> int:
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _reason(e: OSError) -> str:
    if e.errno == errno.ENOSPC:
        return "no space left on the device"
    return (e.strerror or str(e)).lower()
