"""Running ``sse-inspect capture`` as a child process, for the demo, tests and benchmarks."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO

__all__ = ["CaptureProcess", "free_port"]


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class CaptureProcess:
    """``sse-inspect capture`` in a child process, for the demo, tests and benchmarks.

    ``with CaptureProcess(path) as proxy:`` starts it on a free port and waits until it
    listens; leaving the block stops it with SIGINT, as a user's Ctrl-C would, so the flow
    file is complete afterwards. ``proxy.log`` holds what it printed.
    """

    def __init__(
        self,
        write: Path,
        *,
        confdir: Path | None = None,
        args: Sequence[str] = (),
        program: Sequence[str] | None = None,
    ) -> None:
        """``program`` replaces ``sse-inspect capture -w write --confdir confdir`` (e.g. a
        mitmdump command line); the listen port is added to either."""
        self.write = write
        self.confdir = confdir
        self.args = list(args)
        self.program = list(program) if program is not None else None
        self.port = 0
        self.log = ""
        self._proc: subprocess.Popen[str] | None = None
        self._log_file: IO[str] | None = None

    def __enter__(self) -> CaptureProcess:
        self.port = free_port()
        if self.program is not None:
            command = [*self.program, "--listen-host", "127.0.0.1", "-p", str(self.port)]
        else:
            command = [sys.executable, "-m", "sse_inspect", "capture", "-p", str(self.port)]
            command += ["-w", str(self.write)]
            if self.confdir is not None:
                command += ["--confdir", str(self.confdir)]
        command += self.args
        self._log_file = tempfile.TemporaryFile("w+")
        self._proc = subprocess.Popen(
            command, stdout=self._log_file, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"capture exited early:\n{self.log}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"capture did not listen on port {self.port}:\n{self.log}")

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> int | None:
        """SIGINT, as Ctrl-C; SIGKILL if it does not stop in 15 s. Returns the exit status."""
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._log_file is not None:
            self._log_file.seek(0)
            self.log = self._log_file.read()
            self._log_file.close()
            self._log_file = None
        return proc.returncode
