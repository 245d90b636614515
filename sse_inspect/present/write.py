"""Writing an export file whole or not at all, piece by piece, and saying in one line why it
cannot be; text kept aside for later without holding it in memory."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

__all__ = ["AtomicFile", "OutputError", "Spool", "check_writable", "write_atomically"]

SPOOL_BYTES = 1 << 20
"""A :class:`Spool` keeps this much in memory, more in an unnamed temporary file."""
CHUNK_BYTES = 1 << 18
"""A :class:`Spool` gives its text back in pieces of about this size."""


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


class AtomicFile:
    """A file written piece by piece to a temporary file beside ``path``, renamed into place
    by :meth:`commit`: a reader (or a crash) never sees half a transcript, and an old file
    survives a failed export. As a context manager, leaving without :meth:`commit` (an
    error, Ctrl-C) removes the temporary file.

    The temporary file is made at the first :meth:`write` (or :meth:`commit`), so an export
    that gives up before writing leaves nothing, not even for a moment. The file gets the
    permissions a plain ``open()`` would give it (the umask's), or keeps those of the file
    it replaces; ``mkstemp``'s private 0600 is only for the temporary.
    """

    def __init__(self, path: Path) -> None:
        check_writable(path)
        self.path = path
        self._file: IO[str] | None = None
        self._tmp: Path | None = None

    def write(self, text: str) -> None:
        try:
            if self._file is None:
                self._open()
            assert self._file is not None
            self._file.write(text)
        except OSError as e:
            self.discard()
            raise self._error(e) from None

    def commit(self) -> None:
        """Rename what was written (maybe nothing: an empty file) into place."""
        try:
            if self._file is None:
                self._open()
            assert self._file is not None and self._tmp is not None
            self._file.close()
            os.chmod(self._tmp, _mode_for(self.path))
            os.replace(self._tmp, self.path)
        except OSError as e:
            self.discard()
            raise self._error(e) from None
        self._file = self._tmp = None

    def discard(self) -> None:
        """Remove the temporary file, if any: ``path`` is left as it was."""
        f, tmp = self._file, self._tmp
        self._file = self._tmp = None
        if f is not None:
            with contextlib.suppress(OSError):  # a full disk fails to take the buffer's rest
                f.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.discard()

    def _open(self) -> None:
        path = self.path
        check_writable(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        self._tmp = Path(tmp)
        self._file = os.fdopen(fd, "w", encoding="utf-8", errors="replace")  # lone surrogates

    def _error(self, e: OSError) -> OutputError:
        return OutputError(f"{self.path}: cannot write ({_reason(e)})")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` whole to ``path`` or not at all (see :class:`AtomicFile`)."""
    with AtomicFile(path) as f:
        f.write(text)
        f.commit()


class Spool:
    """Text written now and read back later, in order: in memory up to :data:`SPOOL_BYTES`,
    past that in an unnamed temporary file (gone with the process, whatever happens), so
    that holding it costs no memory however long it grows.

    What is read back is exactly what was written, lone surrogates included: the one who
    writes it out applies their own encoding. A temporary file that cannot be written (a
    full disk) is an :class:`OutputError`.
    """

    def __init__(self, limit: int | None = None) -> None:
        limit = SPOOL_BYTES if limit is None else limit
        self._file = tempfile.SpooledTemporaryFile(max_size=limit)  # noqa: SIM115 (see close)

    def write(self, text: str) -> None:
        try:
            self._file.write(text.encode("utf-8", "surrogatepass"))
        except OSError as e:
            where = tempfile.gettempdir()
            raise OutputError(f"{where}: cannot write a temporary file ({_reason(e)})") from None

    def chunks(self, size: int = CHUNK_BYTES) -> Iterator[str]:
        """What was written, in pieces of whole lines of about ``size`` bytes (a piece
        never ends inside a character, nor inside an escape sequence, which holds no line
        break), then the spool is empty again."""
        f = self._file
        f.seek(0)
        rest = b""
        while block := f.read(size):
            block = rest + block
            end = block.rfind(b"\n") + 1
            rest = block[end:]
            if end:
                yield block[:end].decode("utf-8", "surrogatepass")
        if rest:
            yield rest.decode("utf-8", "surrogatepass")
        self.clear()

    def clear(self) -> None:
        self._file.seek(0)
        self._file.truncate()

    def close(self) -> None:
        self._file.close()


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
