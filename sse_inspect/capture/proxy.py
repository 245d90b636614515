"""Run mitmproxy with the capture addon placed ahead of mitmproxy's own ``Save``.

``mitmdump -s`` loads scripts ahead of ``Save`` too, but an addon added to a ``DumpMaster``
afterwards would come after it, and then the flows ``Save`` writes on an error or at
shutdown would lack what the addon stores in those same hooks.

The ``-w`` file is opened only once the proxy listens and every start-up check has passed,
so a failed start (a busy port, a bad script) never truncates it. A failed start is one
:class:`StartError` with a one-line reason instead of mitmproxy's own lines and exit(1).
The log goes to stderr; the proxy core's per-connection lines only with ``verbose``.

Finished flows are written by a thread of their own (:class:`_Writer`): the proxy's event
loop, which carries every chunk of every stream, only takes a snapshot of each flow, so a
slow disk, or a hundred streams ending at once, does not hold up the streams in flight.
Every flow is written before the proxy's shutdown completes.

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
import queue
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Protocol

from mitmproxy import addons, ctx, exceptions, flowfilter, io, master, options
from mitmproxy import flow as mflow
from mitmproxy.addons import errorcheck, save, termlog
from mitmproxy.io import tnetstring
from mitmproxy.utils import human

from .addon import SSECapture, _Recorder

__all__ = [
    "EXIT_INCOMPLETE",
    "REFRESH_S",
    "CaptureConfig",
    "LiveView",
    "Recording",
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


REFRESH_S = 0.25
"""How often :func:`run_capture` asks a :class:`LiveView` to refresh: 4 times a second."""


class Recording(Protocol):
    """What a live view may read of one event stream being recorded (the addon's
    recorder), on the event loop, between two of its chunks. Read only: the recorder's
    per-chunk path stays stamp, append, forward, and the view catches up on its own timer.

    While the stream is open, ``body[i]`` is the ``i``-th chunk as received (still
    content-encoded) and ``chunks[i]`` its ``[arrival time, size]``; chunks past the cap
    are timed but not kept. When ``done``, the body is in ``flow.response.raw_content`` and
    ``body`` is rebound to a new empty list (the old one is left as it was), ``chunks`` too
    once the log line is begun.
    """

    @property
    def flow(self) -> Any: ...  # an http.HTTPFlow (mitmproxy's types are not annotated)

    @property
    def body(self) -> list[bytes]: ...

    @property
    def chunks(self) -> list[list[float | int]]: ...

    @property
    def done(self) -> bool: ...


class LiveView(Protocol):
    """A live display of the streams in flight, which ``sse-inspect capture`` draws on a
    terminal (:mod:`sse_inspect.present.live`; this package draws nothing). The proxy
    calls it on its event loop only, never on the per-chunk path: :meth:`watch` once per
    new event stream, :meth:`refresh` every :data:`REFRESH_S`, and each call must keep
    its work small (a refresh bounds its own). Any exception it raises is logged once and
    the view is ended; the proxy goes on with plain log lines.
    """

    @property
    def out(self) -> IO[str]:
        """Where the log lines go while the view shows (above it, not through it)."""

    def begin(self, capture: SSECapture) -> None:
        """The proxy listens and records: start showing."""

    def watch(self, recording: Recording) -> None:
        """A new event stream is being recorded."""

    def refresh(self) -> None:
        """Read the recordings' new bytes (a bounded amount) and redraw."""

    def end(self) -> None:
        """The proxy has stopped: a last refresh, then leave the screen to the log."""


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


class _Live:
    """The mitmproxy addon that drives a :class:`LiveView`: hands it each new recording
    (its ``responseheaders`` runs after the capture addon's), and refreshes it on a timer
    of its own on the event loop, never from a chunk. The first exception from the view is
    logged, the view is ended, and nothing more is asked of it."""

    name = "sse_inspect_live"

    def __init__(self, view: LiveView) -> None:
        self.view = view
        self.showing = False
        self.failed = False
        self._timer: asyncio.TimerHandle | None = None

    def begin(self, capture: SSECapture) -> None:
        if self.failed:
            return
        try:
            self.view.begin(capture)
            self.showing = True
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(REFRESH_S, self._tick)
        except Exception:
            self._fail("starting")

    def responseheaders(self, flow: mflow.Flow) -> None:
        stream = getattr(getattr(flow, "response", None), "stream", None)
        if self.showing and isinstance(stream, _Recorder):
            try:
                self.view.watch(stream)
            except Exception:
                self._fail("watching a stream")

    def _tick(self) -> None:
        self._timer = None
        if not self.showing:
            return
        try:
            self.view.refresh()
        except Exception:
            self._fail("refreshing")
            return
        self._timer = asyncio.get_running_loop().call_later(REFRESH_S, self._tick)

    def end(self) -> None:
        """The last refresh, and the screen back to the log (after the proxy stopped)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.showing:
            self.showing = False
            try:
                self.view.end()
            except Exception:
                self._fail("stopping")

    def _fail(self, doing: str) -> None:
        first = not self.failed
        self.failed = True
        if self.showing:
            self.showing = False
            with contextlib.suppress(Exception):
                self.view.end()
        if first:
            log.exception(f"sse-inspect: the live view failed while {doing}; log lines go on")


_QUEUE_BYTES = 64 * 1024 * 1024
_SERIALISE_S = 0.001
"""Seconds of serialising finished flows per turn of the event loop, for all of them."""
"""How far the writer may fall behind (bytes of bodies waiting to be written) before the
event loop waits for it: a disk slower than the traffic slows the proxy down rather than
filling its memory."""


class _Writer(io.FilteredFlowWriter):
    """mitmproxy's ``FilteredFlowWriter`` for the ``-w`` file, writing from a thread.

    mitmproxy's filters a flow, takes its state, serialises it (tnetstring), writes it and
    flushes the file, all on the event loop that carries every chunk of every stream. Here
    the loop filters and takes the state (``flow.get_state()``: a snapshot, so what is
    written is the flow as it was when it was handed over) and queues it; the states are
    serialised on the loop's next turns, at most :data:`_SERIALISE_S` per turn, and a thread
    writes the bytes, in the order the flows came, and flushes whenever it has caught up.
    The bytes are the same.

    Why not serialise in the thread: tnetstring is pure Python, so a thread serialising
    holds the GIL, and each time the loop lets go of it (every socket call) it waits for
    the thread's switch interval to get it back; a hundred flows ending at once then
    stalled every stream. Writing bytes lets go of the GIL, so the thread costs the loop
    nothing. Without a running loop (a test, or the proxy's last ``done``) a state is
    serialised at once.

    A write that fails sets :attr:`error` and calls ``on_error`` (from the thread); what is
    still queued is dropped. :meth:`close` writes what is queued and closes the file.
    """

    def __init__(
        self,
        fo: BinaryIO,
        path: str,
        flt: flowfilter.TFilter | None,
        on_error: Callable[[], None] = lambda: None,
    ) -> None:
        super().__init__(fo, flt)
        self.path = path
        self.error: OSError | None = None
        self._on_error = on_error
        self._states: deque[tuple[Any, int]] = deque()  # not serialised yet, on the loop
        self._turn: asyncio.AbstractEventLoop | None = None  # a turn is scheduled on it
        self._queue: queue.SimpleQueue[tuple[bytes, int] | None] = queue.SimpleQueue()
        self._queued = 0  # bytes of bodies not written yet; changed under _behind
        self._behind = threading.Condition()  # for a loop waiting on a disk far behind
        self._closed = False  # no more flows: the end is queued
        self._drop = False  # write nothing more
        self._thread = threading.Thread(target=self._run, name="sse-inspect: -w", daemon=True)
        self._thread.start()

    def add(self, f: mflow.Flow) -> None:
        """Queue a snapshot of the flow, unless the filter leaves it out (on the loop)."""
        if self.flt and not flowfilter.match(self.flt, f):
            return
        if self._closed or self.error is not None:
            return
        state = f.get_state()
        size = _size(state)
        if self._turn is None:
            try:
                self._turn = asyncio.get_running_loop()
            except RuntimeError:
                self._hand_over(state, size)
                return
            self._turn.call_soon(self._serialise_some)
        self._states.append((state, size))

    def close(self, wait: bool = True) -> None:
        """Write what is queued, then close the file; with ``wait``, before returning."""
        if not self._closed:
            self._closed = True
            while self._states:
                self._hand_over(*self._states.popleft())
            self._queue.put(None)
        if wait:
            self._thread.join()

    def abandon(self) -> None:
        """Drop what is queued and close the file (the writing failed)."""
        self._drop = True
        self._states.clear()
        self.close(wait=False)

    def _serialise_some(self) -> None:
        """One turn's share of the queued states (on the loop)."""
        loop, self._turn = self._turn, None
        deadline = time.perf_counter() + _SERIALISE_S
        while self._states:
            self._hand_over(*self._states.popleft())  # one at least: the queue moves on
            if time.perf_counter() >= deadline:
                break
        if self._states and loop is not None:
            self._turn = loop
            loop.call_soon(self._serialise_some)

    def _hand_over(self, state: Any, size: int) -> None:
        """Serialise a state and queue its bytes for the thread; wait only if the disk is
        :data:`_QUEUE_BYTES` behind."""
        if self._drop:
            return
        try:
            data = tnetstring.dumps(state)
        except Exception:  # a flow that cannot be serialised: as mitmproxy's hook would
            log.exception(f"sse-inspect: cannot write a flow to {self.path}")
            return
        with self._behind:
            while self._queued > _QUEUE_BYTES and self.error is None:
                if not self._thread.is_alive():
                    return  # cannot happen; but never wait for a writer that is gone
                self._behind.wait(1.0)  # the disk is that far behind
            self._queued += size
        self._queue.put((data, size))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            data, size = item
            try:
                if not self._drop:
                    self.fo.write(data)
                    if self._queue.empty():
                        self.fo.flush()  # caught up: on disk while the proxy is idle
            except OSError as e:
                self._failed(e)
            del data, item
            with self._behind:
                self._queued -= size
                self._behind.notify_all()
        try:
            if self._drop:
                with contextlib.suppress(OSError):  # what is buffered cannot be written
                    self.fo.close()
            else:
                self.fo.close()
        except OSError as e:
            self._failed(e)

    def _failed(self, e: OSError) -> None:
        if self.error is None:
            self.error = e
            self._drop = True
            with self._behind:
                self._behind.notify_all()
            self._on_error()


def _size(state: Any) -> int:
    """About how many bytes a flow's state holds: its bodies, and a little for the rest."""
    size = 1024
    for part in ("request", "response"):
        message = state.get(part) if isinstance(state, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        size += len(content) if isinstance(content, bytes) else 0
    return size


class _Save(save.Save):
    """mitmproxy's ``Save``, except that finished flows are written by a thread
    (:class:`_Writer`), and a write that fails (a full disk, a lost mount) stops the
    recording instead of the proxy.

    The event loop only takes a snapshot of each flow (``flow.get_state()``), so it is never
    held up by serialising a flow nor by the disk (unless the disk falls
    :data:`_QUEUE_BYTES` behind). ``done`` waits until everything is written. The file, its
    ``+FILE`` appending, its strftime names and ``save_stream_filter`` are mitmproxy's.

    mitmproxy's writes to stderr and calls ``sys.exit(1)`` inside the hook's task: the proxy
    prints tracebacks, dies, and cuts every stream in flight. This one logs one line, once,
    closes the file and writes nothing more; every stream goes on being forwarded.
    ``failed`` then holds the reason for the summary.
    """

    name = "save"  # the name mitmproxy's own has, for ``addons.get("save")``
    stream: _Writer | None

    def __init__(self) -> None:
        super().__init__()
        self.failed: str | None = None
        self._retired: list[_Writer] = []  # files rotated away from, still being written
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    def configure(self, updated: set[str]) -> None:
        if self.failed is None:  # never reopen (and truncate) the file that failed
            super().configure(updated)

    def maybe_rotate_to_new_file(self) -> None:
        """mitmproxy's: the file named by ``save_stream_file`` today, opened when new."""
        spec = ctx.options.save_stream_file
        path = datetime.today().strftime(os.path.expanduser(spec.removeprefix("+")))
        if self.current_path == path:
            return
        if self.stream is not None:
            self.stream.close(wait=False)  # done() waits for it
            self._retired.append(self.stream)
            self.stream = None
        with contextlib.suppress(RuntimeError):  # none: a test driving it by hand
            self._loop = asyncio.get_running_loop()
        new = Path(path)
        new.parent.mkdir(parents=True, exist_ok=True)
        fo = new.open("ab" if spec.startswith("+") else "wb")
        self.stream = _Writer(fo, path, self.filt, self._wake)
        self.current_path = path

    def save_flow(self, flow: mflow.Flow) -> None:
        self._check()
        if not self.stream:
            return
        try:
            self.maybe_rotate_to_new_file()
            self.stream.add(flow)
        except OSError as e:  # opening the next file
            path = self.current_path or str(ctx.options.save_stream_file).removeprefix("+")
            self._fail(e, path)
        else:
            self.active_flows.discard(flow)

    def done(self) -> None:
        """Queue the flows still open, then wait until every file is written and closed."""
        self._stopping = True
        stream, self.stream = self.stream, None
        if stream is not None:
            for f in self.active_flows:
                stream.add(f)
            self.active_flows.clear()
            self.current_path = None
        writers, self._retired = [*self._retired, *([stream] if stream else [])], []
        for writer in writers:
            writer.close()
        self._check(writers)
        self._stopping = False

    def _wake(self) -> None:
        """From a writer's thread, when a write failed: say so on the event loop (without
        one, the next flow or ``done`` does)."""
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # closed: done() says it
                loop.call_soon_threadsafe(self._check)

    def _check(self, writers: list[_Writer] | None = None) -> None:
        """Whether a writer failed; if so, stop recording (once)."""
        if self.failed is not None:
            return
        if writers is None:
            writers = [*self._retired, *([self.stream] if self.stream else [])]
        for writer in writers:
            if writer.error is not None:
                self._fail(writer.error, writer.path)
                return

    def _fail(self, e: OSError, path: str) -> None:
        self.failed = e.strerror or str(e)
        consequence = (
            "the flows still open were not recorded"
            if self._stopping
            else "streams are still forwarded but no longer recorded"
        )
        log.error(f"sse-inspect: cannot write {path}: {self.failed}; {consequence}")
        writers = [*self._retired, *([self.stream] if self.stream else [])]
        self.stream = None
        self.active_flows.clear()
        for writer in writers:
            writer.abandon()  # done() still waits for their threads
        self._retired = writers


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
    view: LiveView | None = None,
) -> master.Master:
    """The master with the addon ahead of ``Save``. ``save_stream_file`` is left unset:
    ``started`` runs once the proxy listens and every start-up check has passed (it is where
    :func:`run_capture` opens the file). With a ``view``, its driver (``sse_inspect_live``)
    comes right after the addon."""
    opts = options.Options()
    m = master.Master(opts)
    chain = addons.default_addons()
    at = next(i for i, a in enumerate(chain) if isinstance(a, save.Save))
    chain[at] = _Save()
    chain.insert(at, SSECapture())
    if view is not None:
        chain.insert(at + 1, _Live(view))
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


def run_capture(config: CaptureConfig, view: LiveView | None = None) -> int:
    """Serve until SIGINT or SIGTERM; then stop cleanly, with every flow written, and log
    a summary of what was recorded.

    With a ``view`` (the live panel on a terminal), the log goes to ``view.out``, the view
    shows from the start of the recording until the proxy has stopped, and the summary
    comes after it.

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
        # The console drops the connection lines unless verbose; not even made, they cost
        # the event loop nothing (a few per connection, and hundreds of streams may end
        # at once).
        connections = logging.getLogger(_CONNECTION_LOGGER)
        connections_level = connections.level
        if not config.verbose:
            connections.setLevel(logging.WARNING)
        console = _Console(config.verbose, view.out if view is not None else None)
        started = False
        live: _Live | None = None

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
            if live is not None:
                live.begin(capture)

        try:
            m = build_master(config, console, start, view)
            capture: SSECapture = m.addons.get("ssecapture")
            live = m.addons.get("sse_inspect_live")
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, m.shutdown)
            await m.run()
            if live is not None:
                live.end()
            if started:
                failed = m.addons.get("save").failed
                if failed is not None:
                    status = EXIT_INCOMPLETE
                log.info(_summary(capture, config.write, failed))
        finally:
            if live is not None:
                live.end()  # a failed start: never leave a half-drawn panel
            console.close()
            connections.setLevel(connections_level)

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
