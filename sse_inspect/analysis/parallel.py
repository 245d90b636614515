"""The streams of large ``.flow`` files analysed in worker processes, handed back in file
order: what ``analyze --jobs N`` runs.

The parent only finds where flows begin and end (:func:`..load.split.flow_ranges`: length
prefixes and seeks, nothing parsed) and cuts the file into ranges of whole flows, a few
MB or a few hundred flows each, more ranges than workers so that they share the work
evenly. Each worker opens the file, reads its range (:func:`..load.split.read_range`), analyses the
streams as :meth:`Job.analysed` does in one process and sends back what the parent needs:
each stream's record (and its :class:`Analysis` only when asked, as pickling one costs
more than making its record), with the range's :class:`Tally`. The parent takes the
results in file order, with at most two ranges per worker in flight, so its memory stays
flat whatever the size of the file. Nothing comes out that one process would not make
the same way: a damaged flow ends the file with the same one line, after the streams
before it, and later ranges are dropped.

Everything sent to a worker is picklable: the :class:`Job`'s callables are module-level
functions (pickled by name), and the filter goes as its expression, parsed in the worker.
The layers hold: this module imports nothing above the analysis; the caller hands in the
presentation's functions (the record, the redaction).
"""

from __future__ import annotations

import dataclasses
import functools
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing.reduction import ForkingPickler
from types import MappingProxyType
from typing import Any

from mitmproxy import flowfilter

from ..load import checks
from ..load.errors import CaptureError
from ..load.split import (
    RANGE_BYTES,
    RANGE_FLOWS,
    FlowRange,
    flow_ranges,
    looks_like_flows,
    read_range,
)
from ..load.stream import Stream
from ..load.tally import Tally
from .analysis import Analysis, analyze
from .cadence import DEFAULT_STALL_MS

__all__ = ["MIN_BYTES", "Job", "Pool", "cpu_count"]

MIN_BYTES = 16 * 1024 * 1024
"""A smaller ``.flow`` file is read in the calling process: starting workers would cost
more than they save."""

Record = dict[str, Any]
Analysed = tuple[Record, Analysis | None]


def cpu_count() -> int:
    """The CPUs this process may use (``--jobs``' default)."""
    count = getattr(os, "process_cpu_count", os.cpu_count)()  # process_cpu_count: 3.13
    return max(1, count or 1)


@dataclass(frozen=True, slots=True)
class Job:
    """How each stream is analysed, and what is kept of it. Sent to every worker, so its
    callables must be module-level functions."""

    record: Callable[[Analysis], Record]
    """The stream's record (``present.json.stream_record``)."""
    stall_ms: float = DEFAULT_STALL_MS
    dialect: str | None = None
    max_decoded: int | None = None
    prepare: Callable[[Stream], Stream] | None = None
    """Applied to each stream before its analysis (the redaction)."""
    frames: Callable[[Analysis], Any] | None = None
    """When given, its value is the record's ``"frames"``."""
    keep_all: bool = False
    """Send back every stream's :class:`Analysis` (to render its events or details) ..."""
    keep_first: bool = False
    """... or that of the first stream of each range (one stream alone is shown in full)."""

    def analyse(self, stream: Stream) -> Analysis:
        """One stream's analysis (its ``prepare``, then :func:`.analysis.analyze`)."""
        if self.prepare is not None:
            stream = self.prepare(stream)
        return analyze(stream, self.stall_ms, self.dialect, self.max_decoded)

    def analysed(self, stream: Stream) -> tuple[Record, Analysis]:
        """One stream's record and analysis, as every worker makes them."""
        a = self.analyse(stream)
        record = self.record(a)
        if self.frames is not None:
            record["frames"] = self.frames(a)
        return record, a


@dataclass(slots=True)
class _Done:
    """What a worker sends back for one range."""

    items: list[Analysed]
    tally: Tally
    end: int | None
    """Where the range ended (``None``: at the end of the file), for the progress bar."""
    error: str | None = None
    """The range holds a damaged flow: the streams before it are in ``items``."""


class Pool:
    """Up to ``jobs`` worker processes, started when a file first needs them and stopped on
    leaving the ``with`` block.

    ``min_bytes`` (default :data:`MIN_BYTES`) is the size of the smallest file sent to the
    workers, ``max_bytes`` and ``max_flows`` how it is cut (see :func:`.load.split.flow_ranges`);
    ``method`` is a :mod:`multiprocessing` start method (default: see :meth:`start`).
    """

    def __init__(
        self,
        jobs: int,
        job: Job,
        flt: flowfilter.TFilter | None = None,
        *,
        min_bytes: int | None = None,
        max_bytes: int | None = None,
        max_flows: int | None = None,
        method: str | None = None,
    ) -> None:
        self.jobs = jobs
        self.job = job
        self.filter = None if flt is None else flt.pattern
        self.min_bytes = MIN_BYTES if min_bytes is None else min_bytes
        self.max_bytes = RANGE_BYTES if max_bytes is None else max_bytes
        self.max_flows = RANGE_FLOWS if max_flows is None else max_flows
        self.method = method
        self._executor: Executor | None = None

    def __enter__(self) -> Pool:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def takes(self, path: str) -> bool:
        """Whether ``path`` goes to the workers: a ``.flow`` file of ``min_bytes`` or more.
        (Anything else, a file that cannot be opened too, is for the caller to read.)"""
        if self.jobs < 2:
            return False
        try:
            with open(path, "rb") as f:
                if os.fstat(f.fileno()).st_size < self.min_bytes:
                    return False
                return looks_like_flows(f.read(16))
        except OSError:
            return False

    def analysed(
        self, path: str, tally: Tally, on_progress: Callable[[int], None] | None = None
    ) -> Iterator[Analysed]:
        """Every event stream of the ``.flow`` file ``path`` with its record, in file order;
        ``tally`` counts the file's flows. A damaged flow raises :class:`CaptureError` as
        :func:`..load.read_capture` does, after the streams before it."""
        tally.format = "flow"
        source = checks.text(path)
        executor = self.start()
        pending: deque[Future[_Done]] = deque()
        try:
            with open(path, "rb", buffering=0) as f:
                ranges = flow_ranges(f, max_bytes=self.max_bytes, max_flows=self.max_flows)
                for part in ranges:
                    task = executor.submit(
                        _analyse_range, path, source, part, self.job, self.filter
                    )
                    pending.append(task)
                    if len(pending) >= 2 * self.jobs:
                        yield from _taken(pending.popleft().result(), tally, on_progress)
            while pending:
                yield from _taken(pending.popleft().result(), tally, on_progress)
        finally:
            for task in pending:  # after a damaged range, or when the caller stops
                task.cancel()

    def start(self) -> Executor:
        """The worker processes, started now if they were not. Best called before this
        process starts a thread (the progress bar's): on Linux they are then forked from it
        at once; beside threads, where forking is unsafe (and on macOS), they come from a
        fork server, which costs a second or so more to start."""
        if self._executor is None:
            method = self.method or _start_method()
            context = multiprocessing.get_context(method)
            if method == "forkserver":
                from multiprocessing import forkserver as server  # POSIX only

                job = self.job
                preload = {c.__module__ for c in (job.record, job.prepare, job.frames) if c}
                # __main__ too: the server imports what the command did, once for all workers
                server.set_forkserver_preload(["__main__", __name__, *sorted(preload)])
            self._executor = ProcessPoolExecutor(
                self.jobs, mp_context=context, initializer=_ignore_interrupts
            )
            if method == "fork":
                self._executor.submit(int)  # forks every worker, now
        return self._executor


def _start_method() -> str:
    if sys.platform == "linux" and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _taken(
    done: _Done, tally: Tally, on_progress: Callable[[int], None] | None
) -> Iterator[Analysed]:
    for name in _COUNTS:
        setattr(tally, name, getattr(tally, name) + getattr(done.tally, name))
    yield from done.items
    if done.error is not None:
        raise CaptureError(done.error)
    if on_progress is not None and done.end is not None:
        on_progress(done.end)


_COUNTS = [f.name for f in dataclasses.fields(Tally) if f.name != "format"]


def _analyse_range(
    path: str, source: str, part: FlowRange, job: Job, expression: str | None
) -> _Done:
    """In a worker: the streams of one range, analysed."""
    tally = Tally(format="flow")
    items: list[Analysed] = []
    flt = _filter(expression)
    done = _Done(items, tally, part.end)
    with open(path, "rb") as f:
        try:
            for stream in read_range(f, part, source, flt, tally):
                record, a = job.analysed(stream)
                keep = job.keep_all or (job.keep_first and not items)
                items.append((record, a if keep else None))
        except CaptureError as e:
            done.error = str(e)
    return done


@functools.cache
def _filter(expression: str | None) -> flowfilter.TFilter | None:
    """The parsed filter, once per worker (the parent checked it parses)."""
    return None if expression is None else flowfilter.parse(expression)


def _ignore_interrupts() -> None:
    """Ctrl-C reaches every process of the terminal's group: the parent handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _reduce_mapping(m: MappingProxyType[Any, Any]) -> tuple[Any, tuple[dict[Any, Any]]]:
    return _mapping, (dict(m),)


def _mapping(d: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(d)


# A Reading's mappings are read-only views, which pickle cannot send on its own.
ForkingPickler.register(MappingProxyType, _reduce_mapping)
