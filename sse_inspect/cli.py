"""The ``sse-inspect`` command line: parses options and wires the stages together."""

from __future__ import annotations

import io
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from mitmproxy import flowfilter
from rich.console import Console, RenderableType
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.segment import Segment, Segments

from . import __version__
from .analysis.analysis import Analysis
from .analysis.analysis import analyze as analyze_stream
from .analysis.cadence import DEFAULT_STALL_MS
from .analysis.parallel import Job, Pool, cpu_count
from .dialects import names as dialect_names
from .load import CaptureError, NotACapture, Stream, Tally, read_capture
from .present.json import ListWriter, document, frame_records, stream_record
from .present.terminal import StreamsTable, events_table, stream_details
from .present.write import Spool
from .replay import DEFAULT_PACE_MS
from .sse import is_event_stream

if TYPE_CHECKING:
    from .present.har import HarWriter
    from .present.jsonl import JsonlWriter
    from .present.markdown import TranscriptWriter

__all__ = ["main"]

PROGRESS_MIN_BYTES = 2 * 1024 * 1024
PIPE_WIDTH = 160


class InputError(click.ClickException):
    """Unreadable input or bad usage: one line on stderr, exit status 2 (Contract 3)."""

    exit_code = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="sse-inspect")
def main() -> None:
    """Inspect, time and replay the Server-Sent Event streams of AI chat apps."""
    # A stream may carry any JSON, a lone UTF-16 surrogate escape ("\ud800") too: what is
    # printed shows it as "?" rather than ending the report in UnicodeEncodeError.
    for out in (sys.stdout, sys.stderr):
        if isinstance(out, io.TextIOWrapper):
            out.reconfigure(errors="replace")


def _parse_filter(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> flowfilter.TFilter | None:
    if value is None:
        return None
    try:
        return flowfilter.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None


def _examples(*lines: str) -> str:
    """An Examples section for a command's help; ``\b`` keeps click from rewrapping it."""
    return "\b\nExamples:\n" + "\n".join(f"  {line}" for line in lines)


def listen_options(default_port: int) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """``-p/--port`` and ``--host`` for the commands that listen; mitmproxy's spellings
    ``--listen-port`` and ``--listen-host`` are accepted too (not shown in the help)."""
    port = click.IntRange(0, 65535)

    def decorate(f: Callable[..., None]) -> Callable[..., None]:
        for option in (
            click.option("--listen-host", "host", default="127.0.0.1", hidden=True),
            click.option("--listen-port", "port", type=port, default=default_port, hidden=True),
            click.option(
                "--host", default="127.0.0.1", show_default=True, help="Address to listen on."
            ),
            click.option(
                "-p", "--port", type=port, default=default_port, show_default=True,
                help="Port to listen on.",
            ),
        ):  # fmt: skip
            f = option(f)
        return f

    return decorate


filter_option = click.option(
    "--filter",
    "flt",
    metavar="EXPR",
    callback=_parse_filter,
    help="Only flows matching this mitmproxy filter expression, e.g. '~u /conversation'.",
)


def _parse_max_decoded(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    from .replay.server import parse_size

    try:
        size = parse_size(value)
    except ValueError as e:
        raise click.BadParameter(str(e)) from None
    if size < 1:
        raise click.BadParameter(f"{value!r}: at least 1 byte")
    return size


max_decoded_option = click.option(
    "--max-decoded",
    metavar="SIZE",
    callback=_parse_max_decoded,
    show_default="1000x the encoded size, 64 KiB to 1 GiB",
    help="Decode at most this much of each stream's body (bytes, or 512k, 64M, 1G); past "
    "it the stream is reported truncated (a guard against decompression bombs).",
)


@main.command(
    short_help="Report the event streams of captures.",
    epilog=_examples(
        "sse-inspect analyze capture.flow",
        "sse-inspect analyze --events --filter '~u /v1/messages' capture.flow",
        "sse-inspect analyze --json monday/*.flow | jq '.streams[].ttft_ms'",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document (see README).")
@filter_option
@click.option(
    "--events",
    "show_events",
    is_flag=True,
    help="List every event of each stream and what it carried.",
)
@click.option(
    "--stall-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_STALL_MS,
    show_default=True,
    help="A gap between data events longer than this counts as a stall.",
)
@click.option(
    "--details",
    is_flag=True,
    help="Each stream in full after the table: figures, cadence, answer (one stream is "
    "always shown in full, so this matters only with several).",
)
@click.option(
    "--full", is_flag=True, help="Do not shorten answers, reasoning, tool calls or event cells."
)
@click.option(
    "--raw",
    is_flag=True,
    help="With --events: show each event's raw data instead of what it carried.",
)
@click.option(
    "--dialect",
    type=click.Choice(dialect_names()),
    help="Read every stream as this dialect instead of detecting it.",
)
@click.option("--no-redact", is_flag=True, help="Show keys and tokens in URLs and headers (warns).")
@max_decoded_option
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    show_default="the number of CPUs",
    help="Analyse large .flow files in this many worker processes (1: in this one).",
)
@click.option("--title", hidden=True, help="The table's title (default: the one file's name).")
def analyze(
    captures: tuple[str, ...],
    as_json: bool,
    flt: flowfilter.TFilter | None,
    show_events: bool,
    stall_ms: float,
    details: bool = False,
    full: bool = False,
    raw: bool = False,
    dialect: str | None = None,
    title: str | None = None,
    no_redact: bool = False,
    max_decoded: int | None = None,
    jobs: int | None = None,
) -> None:
    """Report every event stream in CAPTURE files (.flow, HAR, raw .sse or our JSONL).

    Exit status: 0 streams reported, 1 no event stream found, 2 unreadable input (the
    streams read before the damage are still reported).
    """
    from .present.redact import redact_stream

    if no_redact:
        click.echo("warning: --no-redact: the report shows keys and tokens", err=True)
    report = _Report(_console(), as_json, show_events, details, full, raw)
    errors: list[str] = []
    empty: list[str] = []  # why each capture held no event stream
    job = Job(
        stream_record, stall_ms, dialect, max_decoded, None if no_redact else redact_stream,
        frames=frame_records if as_json and show_events else None,
        keep_all=not as_json and (show_events or details), keep_first=not as_json,
    )  # fmt: skip
    for a, record in _analysed(captures, flt, errors, empty, job, jobs or cpu_count()):
        report.add(a, record)
    report.finish(title or (captures[0] if len(captures) == 1 else None))
    if errors:
        raise InputError("; ".join(errors))
    if not report.streams:
        _nothing_found(empty)


class _Report:
    """What ``analyze`` prints, made stream by stream as each analysis comes, keeping none:
    with ``--json`` each record is written at once; else the text of its table row is
    kept (:class:`~.present.terminal.StreamsTable`, printed at the end in slabs as it is
    rendered) and the details, rendered at once at the console's width, wait in a
    :class:`~.present.write.Spool` to follow the table."""

    def __init__(
        self, out: Console, as_json: bool, events: bool, details: bool, full: bool, raw: bool
    ) -> None:
        self.out, self.events, self.details, self.full, self.raw = out, events, details, full, raw
        self.streams = 0
        self._json = ListWriter(_echo, document([])) if as_json else None
        self._table = StreamsTable()
        self._shown = Spool()

    def add(self, a: Analysis | None, record: dict[str, Any] | None = None) -> None:
        """The next stream. ``record``: its record when made already (by a ``--jobs``
        worker, with its frames), and then ``a`` only when events or details are shown."""
        self.streams += 1
        if record is None:
            assert a is not None
            record = stream_record(a)
            if self._json is not None and self.events:
                record["frames"] = frame_records(a)
        if self._json is not None:
            self._json.add(record)
            return
        self._table.add(record)
        if self.events:
            assert a is not None
            self.out.print(events_table(a, self.streams, raw=self.raw, full=self.full))
        if self.details or self.streams == 1:  # one stream alone is shown in full
            assert a is not None
            with self.out.capture() as shown:
                self.out.print(stream_details(a, self.streams, self.full))
            self._shown.write(shown.get())
        elif self.streams == 2:
            self._shown.clear()

    def finish(self, title: str | None) -> None:
        if self._json is not None:
            self._json.close()
        elif self._table.rows:
            self._table.title = title
            _print_by_lines(self.out, self._table)
            self.out.print(self._table.footnotes())
            if self.details or self.streams == 1:
                self.out.print()
                for text in self._shown.chunks():  # as rendered: written as it is
                    self.out.file.write(text)
                self.out.file.flush()
        self._shown.close()


def _print_by_lines(out: Console, renderable: RenderableType, lines: int = 200) -> None:
    """``out.print(renderable)``, written every ``lines`` lines as they are rendered: rich
    renders all of one ``print`` before writing any, which for a table of many thousand
    streams costs more than the rows themselves."""
    options = out.options.update(
        justify=None, overflow=None, height=None, no_wrap=None, markup=None, highlight=None
    )
    batch: list[Segment] = []
    done = 0
    for segment in out.render(renderable, options):
        batch.append(segment)
        if segment.text.endswith("\n"):
            done += 1
            if done == lines:
                out.print(Segments(batch))
                batch, done = [], 0
    out.print(Segments(batch))


FORMATS = {".har": "har", ".jsonl": "jsonl", ".ndjson": "jsonl", ".md": "md", ".markdown": "md"}


@main.command(
    short_help="Write transcripts: HAR, JSON Lines, Markdown.",
    epilog=_examples(
        "sse-inspect export capture.flow -o chat.har",
        "sse-inspect export capture.flow -o - --format md > transcript.md",
        "sse-inspect export *.flow --filter '~d api.openai.com' -o events.jsonl",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-o", "--output", required=True, help="The file to write, or - for stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["har", "jsonl", "md"]),
    help="Default: from the output's extension (.har, .jsonl, .md).",
)
@filter_option
@click.option("--no-redact", is_flag=True, help="Keep keys, tokens and cookies (warns).")
@click.option("--all-flows", is_flag=True, help="HAR: the other exchanges too, not only streams.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@max_decoded_option
def export(
    captures: tuple[str, ...],
    output: str,
    fmt: str | None,
    flt: flowfilter.TFilter | None,
    no_redact: bool,
    all_flows: bool,
    force: bool,
    max_decoded: int | None = None,
) -> None:
    """Write the event streams of CAPTURE files as HAR 1.2, JSON Lines or Markdown.

    Secrets (Authorization, cookies, API keys, keys in URLs) are replaced by REDACTED unless
    --no-redact is given.
    """
    from .present.redact import redact_stream
    from .present.write import AtomicFile, OutputError, check_writable

    fmt = fmt or FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise InputError(f"{output}: cannot tell the format from the name; give --format")
    if output != "-":
        try:
            check_writable(Path(output))
        except OutputError as e:
            raise InputError(str(e)) from None
        if Path(output).exists() and not force:
            raise InputError(f"{output} exists; --force overwrites it")
    if no_redact:
        click.echo("warning: --no-redact: the export keeps keys, tokens and cookies", err=True)
    errors: list[str] = []
    empty: list[str] = []  # why each capture held no event stream
    analysed = 0
    # Each stream is written as soon as it is analysed, then dropped: to a temporary file
    # beside the output, renamed into place at the end (removed on any failure), or to stdout.
    try:
        target = None if output == "-" else AtomicFile(Path(output))
        doc = _render(fmt, _echo if target is None else target.write, max_decoded)
        with target or nullcontext():
            for stream in _streams(
                captures, flt, errors, all_flows=all_flows and fmt == "har", empty=empty
            ):
                stream = stream if no_redact else redact_stream(stream)
                if is_event_stream(stream.response_header("content-type")):
                    doc.add(analyze_stream(stream, max_decoded=max_decoded))
                    analysed += 1
                else:
                    doc.add(stream)
            if doc.entries:  # nothing to report writes nothing (exit 1 below)
                doc.close()
                if target is not None:
                    target.commit()
    except OutputError as e:
        raise InputError(str(e)) from None
    if errors:
        raise InputError("; ".join(errors))
    if not analysed:
        _nothing_found(empty)


def _render(
    fmt: str, write: Callable[[str], None], max_decoded: int | None
) -> HarWriter | JsonlWriter | TranscriptWriter:
    """The writer of a ``fmt`` document: it renders each stream given to its ``add`` and
    hands the text to ``write`` (Markdown: at ``close``, see :class:`TranscriptWriter`)."""
    if fmt == "har":
        from .present.har import HarWriter

        return HarWriter(write, max_decoded)
    if fmt == "jsonl":
        from .present.jsonl import JsonlWriter

        return JsonlWriter(write)
    from .present.markdown import TranscriptWriter

    return TranscriptWriter(write)


def _echo(text: str) -> None:
    """Write to stdout now (click's ``echo``, which adds no newline here)."""
    click.echo(text, nl=False)


@main.command(
    short_help="Run the proxy that records event streams.",
    epilog=_examples(
        "sse-inspect capture    # and HTTPS_PROXY=http://127.0.0.1:8080 in the client",
        "sse-inspect capture -p 9000 -w +chats.flow",
        "sse-inspect capture --mode reverse:https://api.openai.com -p 8000",
    ),
)
@listen_options(8080)
@click.option(
    "--mode",
    "modes",
    multiple=True,
    default=["regular"],
    show_default=True,
    help="mitmproxy mode: regular, reverse:URL, upstream:URL, socks5, ... (repeatable).",
)
@click.option(
    "-w",
    "--write",
    default="capture.flow",
    show_default=True,
    metavar="FILE",
    help="Flow file to write, opened once the proxy listens; +FILE appends to FILE. "
    "An existing non-empty FILE is refused unless --force.",
)
@click.option("--force", is_flag=True, help="Overwrite an existing -w FILE.")
@click.option("--filter", "flt", metavar="EXPR", help="Only record flows matching this filter.")
@click.option(
    "--max-bytes",
    type=click.IntRange(min=0),
    show_default="64 MiB",
    help="Store at most this many bytes per stream (the rest still streams to the client).",
)
@click.option("--all-flows", is_flag=True, help="Write every flow, not only event streams.")
@click.option("--confdir", help="mitmproxy's configuration directory (CA certificate, ...).")
@click.option("--set", "sets", multiple=True, metavar="NAME=VALUE", help="Any mitmproxy option.")
@click.option(
    "-v", "--verbose", is_flag=True, help="Also log every connection (client/server connect)."
)
@click.option("-q", "--quiet", is_flag=True, help="Log errors only (no per-stream lines).")
def capture(
    port: int,
    host: str,
    modes: tuple[str, ...],
    write: str,
    force: bool,
    flt: str | None,
    max_bytes: int | None,
    all_flows: bool,
    confdir: str | None,
    sets: tuple[str, ...],
    verbose: bool,
    quiet: bool,
) -> None:
    """Run a proxy that records every event stream with its timing.

    Point a browser or SDK at it (http://127.0.0.1:8080 by default; install mitmproxy's CA
    from http://mitm.it for HTTPS), chat, then stop it with Ctrl-C and run
    `sse-inspect analyze capture.flow`.

    It logs to stderr: one line per finished stream, and on Ctrl-C (or SIGTERM) a summary
    of what was recorded.

    Exit status: 0 stopped with every stream written; 1 FILE could not be written to the
    end (a full disk: the proxy said so, kept forwarding, and FILE holds what was written
    before); 2 bad usage, or the proxy could not start (FILE untouched).
    """
    from mitmproxy import exceptions

    from .capture.proxy import CaptureConfig, StartError, run_capture, would_overwrite

    if verbose and quiet:
        raise InputError("-v and -q exclude each other")
    if not write.removeprefix("+"):
        raise InputError("-w needs a file name (an empty one would record nothing)")
    if not force and would_overwrite(write):
        raise InputError(f"{write} exists; --force overwrites it, or -w +{write} appends")
    config = CaptureConfig(
        listen_host=host,
        listen_port=port,
        modes=modes,
        write=write,
        filter=flt,
        max_bytes=max_bytes,
        save_all=all_flows,
        confdir=confdir,
        verbose=verbose,
        quiet=quiet,
        sets=sets,
    )
    try:
        status = run_capture(config)
    except (exceptions.OptionsError, StartError) as e:
        raise InputError(str(e)) from None
    if status:
        sys.exit(status)  # the file is incomplete: the log and the summary said why


@main.command(
    short_help="Serve captured streams again, with their timing.",
    epilog=_examples(
        "sse-inspect replay capture.flow   # base URL http://127.0.0.1:8000/v1",
        "sse-inspect replay capture.flow --speed 4 -p 9000",
        "sse-inspect replay capture.flow --no-delay --loop",
    ),
)
@click.argument("capture")
@listen_options(8000)
@click.option(
    "--speed",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Play faster (2 = twice as fast) or slower (0.5) than recorded.",
)
@click.option("--no-delay", is_flag=True, help="Send every stream at once, without its timing.")
@click.option("--loop", is_flag=True, help="Start again from the first recording of a route.")
@click.option("--keep-encoding", is_flag=True, help="Send bodies content-encoded as recorded.")
@max_decoded_option
@click.option(
    "--pace-ms",
    type=click.FloatRange(min=0),
    default=DEFAULT_PACE_MS,
    show_default=True,
    help="Without recorded timing, send one event every this many ms.",
)
@click.option(
    "--max-body",
    metavar="SIZE",
    default="8M",
    show_default=True,
    help="Refuse a request body larger than this with 413 (bytes, or 512k, 32M, 1G).",
)
@filter_option
def replay(
    capture: str,
    port: int,
    host: str,
    speed: float,
    no_delay: bool,
    loop: bool,
    keep_encoding: bool,
    pace_ms: float,
    max_body: str,
    flt: flowfilter.TFilter | None,
    max_decoded: int | None = None,
) -> None:
    """Serve the event streams of CAPTURE again, with their recorded timing.

    Each request is answered by a recorded stream with its method and path (then its
    request body, then capture order); anything else gets a 404 listing what is there,
    and a request body over --max-body a 413.
    """
    from .replay.recordings import start_replay
    from .replay.server import parse_size

    try:
        body_limit = parse_size(max_body)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="'--max-body'") from None
    errors: list[str] = []
    empty: list[str] = []
    streams = list(_streams((capture,), flt, errors, empty=empty))
    if errors:
        raise InputError("; ".join(errors))
    if not streams:
        _nothing_found(empty)
    try:
        running = start_replay(
            streams,
            host=host,
            port=port,
            loop=loop,
            speed=speed,
            no_delay=no_delay,
            keep_encoding=keep_encoding,
            pace_ms=pace_ms,
            max_decoded=max_decoded,
            max_body=body_limit,
            log=click.echo,
        )
    except OSError as e:
        raise InputError(f"cannot listen on {host}:{port}: {e.strerror}") from None
    base, routes = running.base_url, running.routes
    click.echo(f"Replaying {len(streams)} stream(s) from {capture} at {base}")
    for r in routes.recordings:
        click.echo(f"  {r.number}. {r.method} {base}{r.path}  ({r.events} events)")
    paced = sum(not r.timed for r in routes.recordings)
    if paced and not no_delay:
        click.echo(f"  {paced} without recorded timing: sent event by event, {pace_ms:g} ms apart")
    click.echo("Ctrl-C stops.")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        running.stop()


@main.command(
    short_help="The whole loop on this machine, no network.",
    epilog=_examples("sse-inspect demo", "sse-inspect demo --keep demo.flow"),
)
@click.option(
    "--keep", metavar="FILE", type=click.Path(dir_okay=False), help="Keep the capture in FILE."
)
@click.pass_context
def demo(ctx: click.Context, keep: str | None) -> None:
    """The whole loop on this machine: a local chat server, the capture proxy in front of
    it, a streamed chat request through it, and the analysis of what was captured."""
    from .demo.loop import run_demo
    from .present.write import OutputError, check_writable

    if keep is not None:
        try:
            check_writable(Path(keep))
        except OutputError as e:
            raise InputError(str(e)) from None
        if Path(keep).exists():
            raise InputError(f"{keep} exists; give another name")

    def report(path: Path) -> None:
        ctx.invoke(
            analyze,
            captures=(str(path),),
            as_json=False,
            flt=None,
            show_events=False,
            title="demo",
        )

    run_demo(report, keep=Path(keep) if keep else None)


def _streams(
    captures: tuple[str, ...],
    flt: flowfilter.TFilter | None,
    errors: list[str],
    *,
    all_flows: bool = False,
    progress: bool = False,
    empty: list[str] | None = None,
) -> Iterator[Stream]:
    """Every stream of every capture, in order; a capture that cannot be read (further)
    adds its one-line reason to ``errors`` and the next one is read all the same.

    Among several captures, a file that is no capture at all (a README beside them) is
    skipped with a warning; alone, it is an error. ``empty`` gets ``"FILE: why"`` for each
    capture read to the end without an event stream.
    """

    def read(path: str, tally: Tally, on_progress: OnProgress | None) -> Iterator[Stream]:
        return read_capture(path, flt, on_progress, all_flows, tally)

    return _each(captures, read, errors, progress, empty)


OnProgress = Callable[[int], None]
Analysed = tuple[Analysis | None, dict[str, Any] | None]


def _analysed(
    captures: tuple[str, ...],
    flt: flowfilter.TFilter | None,
    errors: list[str],
    empty: list[str],
    job: Job,
    jobs: int,
) -> Iterator[Analysed]:
    """Every stream of every capture analysed as ``job`` says, in order, as :func:`_streams`
    reads them: ``(analysis, None)`` for a stream analysed here; with ``jobs`` > 1, a large
    ``.flow`` file is analysed by worker processes, which send ``(analysis or None, record)``
    (see :class:`~.analysis.parallel.Job` for when the analysis comes too)."""
    with Pool(jobs, job, flt) as pool:
        if any(map(pool.takes, captures)):
            pool.start()  # before the progress bar's thread

        def read(path: str, tally: Tally, on_progress: OnProgress | None) -> Iterator[Analysed]:
            if pool.takes(path):
                for record, a in pool.analysed(path, tally, on_progress):
                    yield a, record
            else:
                for stream in read_capture(path, flt, on_progress, tally=tally):
                    yield job.analyse(stream), None

        yield from _each(captures, read, errors, True, empty)


def _each[T](
    captures: tuple[str, ...],
    read: Callable[[str, Tally, OnProgress | None], Iterator[T]],
    errors: list[str],
    progress: bool,
    empty: list[str] | None,
) -> Iterator[T]:
    """What ``read`` yields of each capture in turn, as :func:`_streams` says."""
    for path in captures:
        tally = Tally()
        try:
            with _progress(path) if progress else nullcontext() as on_progress:
                yield from read(path, tally, on_progress)
        except NotACapture as e:
            if len(captures) == 1:
                errors.append(str(e))
            else:
                warning = f"warning: {e.source}: not a capture ({CAPTURE_FORMATS}); skipped"
                click.echo(warning, err=True)
        except CaptureError as e:
            errors.append(str(e))
        else:
            if empty is not None and not tally.event_streams:
                empty.append(f"{path}: {tally.why_empty()}")


CAPTURE_FORMATS = "mitmproxy flow, HAR, raw SSE or sse-inspect JSONL"


def _nothing_found(empty: list[str]) -> None:
    """Exit 1 (Contract 3: nothing to report), saying why for each capture."""
    reasons = f": {'; '.join(empty)}" if empty else ""
    click.echo(f"no event streams found{reasons}", err=True)
    sys.exit(1)


def _console() -> Console:
    """The report console: the terminal's width, or a wide page when piped to a file."""
    console = Console(highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(highlight=False, width=PIPE_WIDTH)
    return console


@contextmanager
def _progress(path: str) -> Iterator[Any]:
    """A progress bar on stderr for large files, when stderr is a terminal; else nothing."""
    err = Console(stderr=True)
    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if not err.is_terminal or size < PROGRESS_MIN_BYTES:
        yield None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, TimeRemainingColumn(), console=err, transient=True) as bar:
        task = bar.add_task(Path(path).name, total=size)
        yield lambda pos: bar.update(task, completed=pos)
