"""Run mitmproxy with the capture addon placed ahead of mitmproxy's own ``Save``.

``mitmdump -s`` loads scripts ahead of ``Save`` too, but an addon added to a ``DumpMaster``
afterwards would come after it, and then the flows ``Save`` writes on an error or at
shutdown would lack what the addon stores in those same hooks.

The ``-w`` file is opened only once the proxy listens and every start-up check has passed,
so a failed start (a busy port, a bad script) never truncates it. A failed start is one
:class:`StartError` with a one-line reason instead of mitmproxy's own lines and exit(1).
The log goes to stderr; the proxy core's per-connection lines only with ``verbose``.

A file that cannot be written any more (a full disk) stops the recording, not the proxy:
mitmproxy's ``Save`` would exit from inside a task and cut every stream in flight; ours
(:class:`_Save`) says so once, stops writing and lets the traffic go on, and the summary
says the file is incomplete (:func:`run_capture` then returns :data:`EXIT_INCOMPLETE`).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO

from mitmproxy import addons, ctx, exceptions, master, options
from mitmproxy import flow as mflow
from mitmproxy.addons import errorcheck, save, termlog
from mitmproxy.utils import human

from .addon import SSECapture

__all__ = [
    "EXIT_INCOMPLETE",
    "CaptureConfig",
    "StartError",
    "build_master",
    "run_capture",
    "would_overwrite",
]

log = logging.getLogger(__name__)

# The proxy core logs every connection (client connect, server connect, "Streaming response
# from ...") under this name; its warnings and errors always show.
_CONNECTION_LOGGER = "mitmproxy.proxy.server"


@dataclass(frozen=True)
class CaptureConfig:
    listen_host: str = "127.0.0.1"
    listen_port: int = 8080
    modes: tuple[str, ...] = ("regular",)
    write: str = "capture.flow"
    """The flow file; ``+FILE`` appends to it (mitmproxy's ``save_stream_file`` spelling)."""
    filter: str | None = None
    max_bytes: int | None = None
    save_all: bool = False
    confdir: str | None = None
    verbose: bool = False
    """Log the proxy core's lines about every connection too."""
    quiet: bool = False
    """Log errors only."""
    sets: tuple[str, ...] = field(default=())
    """Further mitmproxy options as ``name=value``, like ``mitmdump --set``."""


class StartError(Exception):
    """The proxy could not start; the message is one line, and the ``-w`` file is untouched."""


EXIT_INCOMPLETE = 1
"""The exit status of a capture whose file could not be written to the end (a full disk)."""


def would_overwrite(write: str) -> bool:
    """Whether writing to ``write`` (a ``-w`` value) would replace a non-empty file."""
    if write.startswith("+"):
        return False  # appends
    try:
        path = Path(datetime.today().strftime(os.path.expanduser(write)))  # as Save names it
        return path.is_file() and path.stat().st_size > 0
    except (OSError, ValueError):
        return False  # not ours to judge: opening it will say what is wrong


class _Console:
    """mitmproxy's terminal log, on stderr, holding back everything until the proxy has
    started (a failed start is told in one line of its own), and the connection lines
    unless verbose."""

    def __init__(self, verbose: bool, out: IO[str] | None = None) -> None:
        self.verbose = verbose
        self.held: list[logging.LogRecord] | None = []
        self.addon = termlog.TermLog(out=out or sys.stderr)
        self.addon.logger.addFilter(self._filter)

    def _filter(self, record: logging.LogRecord) -> bool:
        if (
            not self.verbose
            and record.name == _CONNECTION_LOGGER
            and record.levelno < logging.WARNING
        ):
            return False
        if self.held is not None:
            self.held.append(record)
            return False
        return True

    def release(self) -> None:
        held, self.held = self.held or [], None
        for record in held:
            self.addon.logger.handle(record)

    def close(self) -> None:
        self.addon.uninstall()


class _StartCheck(errorcheck.ErrorCheck):
    """mitmproxy's start-up check (``Master.run`` calls it by its name), raising
    :class:`StartError` instead of printing and exiting; when the last check has passed,
    ``started`` runs."""

    name = "errorcheck"

    def __init__(self, started: Callable[[], None]) -> None:
        super().__init__()
        self.started = started

    async def shutdown_if_errored(self) -> None:
        await asyncio.sleep(0)  # as mitmproxy does: let pending log records arrive
        if self.logger.has_errored:
            self.logger.uninstall()
            raise StartError(_reason(self.logger.has_errored))

    def finish(self) -> None:
        super().finish()
        self.started()


class _Save(save.Save):
    """mitmproxy's ``Save``, except that a write that fails (a full disk, a lost mount)
    stops the recording instead of the proxy.

    mitmproxy's writes to stderr and calls ``sys.exit(1)`` inside the hook's task: the proxy
    prints tracebacks, dies, and cuts every stream in flight. This one logs one line, once,
    closes the file and writes nothing more; every stream goes on being forwarded.
    ``failed`` then holds the reason for the summary.
    """

    name = "save"  # the name mitmproxy's own has, for ``addons.get("save")``

    def __init__(self) -> None:
        super().__init__()
        self.failed: str | None = None

    def configure(self, updated: set[str]) -> None:
        if self.failed is None:  # never reopen (and truncate) the file that failed
            super().configure(updated)

    def save_flow(self, flow: mflow.Flow) -> None:
        if not self.stream:
            return
        try:
            self.maybe_rotate_to_new_file()
            self.stream.add(flow)
        except OSError as e:
            self._fail(e, "streams are still forwarded but no longer recorded")
        else:
            self.active_flows.discard(flow)

    def done(self) -> None:
        try:
            super().done()
        except OSError as e:
            self._fail(e, "the flows still open were not recorded")

    def _fail(self, e: OSError, consequence: str) -> None:
        path = self.current_path or str(ctx.options.save_stream_file or "").removeprefix("+")
        self.failed = e.strerror or str(e)
        log.error(f"sse-inspect: cannot write {path}: {self.failed}; {consequence}")
        stream, self.stream = self.stream, None
        self.active_flows.clear()
        if stream is not None:
            with contextlib.suppress(OSError):  # what is still buffered cannot be written
                stream.fo.close()


def _reason(errors: list[logging.LogRecord]) -> str:
    """One line for a failed start: the address that could not be bound, else the first error."""
    proxyserver = ctx.master.addons.get("proxyserver")
    for server in proxyserver.servers if proxyserver is not None else ():
        e = server.last_exception
        if isinstance(e, OSError) and e.errno:
            host = server.mode.listen_host(ctx.options.listen_host)
            port = server.mode.listen_port(ctx.options.listen_port)
            where = human.format_address((host or "0.0.0.0", port))
            reason = f"cannot listen on {where}: {os.strerror(e.errno).lower()}"
            if e.errno == errno.EADDRINUSE and server.mode.custom_listen_port is None:
                reason += "; choose another port with -p"
            return reason
    lines = errors[0].getMessage().strip().splitlines() or ["an error was logged"]
    return f"cannot start the proxy: {lines[0]}"


def build_master(
    config: CaptureConfig,
    console: _Console | None = None,
    started: Callable[[], None] | None = None,
) -> master.Master:
    """The master with the addon ahead of ``Save``. ``save_stream_file`` is left unset:
    ``started`` runs once the proxy listens and every start-up check has passed (it is where
    :func:`run_capture` opens the file)."""
    opts = options.Options()
    m = master.Master(opts)
    chain = addons.default_addons()
    at = next(i for i, a in enumerate(chain) if isinstance(a, save.Save))
    chain[at] = _Save()
    chain.insert(at, SSECapture())
    if console is not None:
        chain.insert(0, console.addon)  # where Master(with_termlog=True) puts it
    m.addons.add(*chain)
    m.addons.add(_StartCheck(started or (lambda: None)))
    updates: dict[str, object] = {
        "listen_host": config.listen_host,
        "listen_port": config.listen_port,
        "mode": list(config.modes),
        "sse_inspect_filter": config.filter,
        "sse_inspect_save_all": config.save_all,
    }
    if console is not None and config.quiet:
        updates["termlog_verbosity"] = "error"
    if config.max_bytes is not None:
        updates["sse_inspect_max_bytes"] = config.max_bytes
    if config.confdir is not None:
        updates["confdir"] = config.confdir
    opts.update(**updates)
    if config.sets:
        opts.set(*config.sets)
    return m


def run_capture(config: CaptureConfig) -> int:
    """Serve until SIGINT or SIGTERM; then stop cleanly, with every flow written, and log
    a summary of what was recorded.

    Returns the exit status: 0, or :data:`EXIT_INCOMPLETE` when the file could not be
    written to the end (the proxy kept forwarding; the log and the summary say so).
    Raises ``exceptions.OptionsError`` for bad options, before anything listens, and
    :class:`StartError` when the proxy cannot start or the file cannot be opened.
    """
    status = 0

    async def main() -> None:
        nonlocal status
        # As mitmdump does: everything reaches the terminal log, which filters by
        # termlog_verbosity; chatty libraries only from warnings up.
        logging.getLogger().setLevel(logging.DEBUG)
        for name in ("tornado", "asyncio", "hpack", "quic"):
            logging.getLogger(name).setLevel(logging.WARNING)
        console = _Console(config.verbose)
        started = False

        def start() -> None:
            nonlocal started
            try:  # Save opens (and unless +FILE, truncates) the file now
                ctx.options.update(save_stream_file=config.write)
            except exceptions.OptionsError as e:
                path = config.write.removeprefix("+")
                raise StartError(f"cannot write {path}: {e}") from None
            started = True
            console.release()
            capture.announce()

        try:
            m = build_master(config, console, start)
            capture: SSECapture = m.addons.get("ssecapture")
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, m.shutdown)
            await m.run()
            if started:
                failed = m.addons.get("save").failed
                if failed is not None:
                    status = EXIT_INCOMPLETE
                log.info(_summary(capture, config.write, failed))
        finally:
            console.close()

    asyncio.run(main())
    return status


def _summary(capture: SSECapture, write: str, failed: str | None = None) -> str:
    """``sse-inspect: 3 streams recorded (2 complete, 1 cut), 412 events, written to F``;
    when writing failed, ``..., 412 events; F is incomplete: cannot write it (reason)``."""
    t = capture.tally
    path = write.removeprefix("+")
    streams = f"{t.streams} stream{'' if t.streams == 1 else 's'} recorded"
    if t.streams:
        streams += f" ({t.complete} complete, {t.cut} cut)"
    events = f"{t.events} event{'' if t.events == 1 else 's'}"
    if failed is not None:
        streams = streams.replace(" recorded", " seen", 1)
        incomplete = f"{path} is incomplete: cannot write it ({failed})"
        return f"sse-inspect: {streams}, {events}; {incomplete}"
    where = f"appended to {path}" if write.startswith("+") else f"written to {path}"
    return f"sse-inspect: {streams}, {events}, {where}"
