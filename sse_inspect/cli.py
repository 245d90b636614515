"""The ``sse-inspect`` command line: parses options and wires the stages together."""

from __future__ import annotations

import importlib
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
    from .analysis.stats import Collector
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


stall_option = click.option(
    "--stall-ms",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_STALL_MS,
    show_default=True,
    help="A gap between data events longer than this counts as a stall.",
)
jobs_option = click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    show_default="the number of CPUs",
    help="Analyse large .flow files in this many worker processes (1: in this one).",
)
dialect_option = click.option(
    "--dialect",
    type=click.Choice(dialect_names()),
    help="Read every stream as this dialect instead of detecting it.",
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
@stall_option
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
@dialect_option
@click.option("--no-redact", is_flag=True, help="Show keys and tokens in URLs and headers (warns).")
@max_decoded_option
@jobs_option
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
    short_help="Write transcripts: HAR, JSON Lines, Markdown, Parquet tables.",
    epilog=_examples(
        "sse-inspect export capture.flow -o chat.har",
        "sse-inspect export capture.flow -o - --format md > transcript.md",
        "sse-inspect export *.flow --filter '~d api.openai.com' -o events.jsonl",
        "sse-inspect export *.flow --format parquet --partition-by date -o tables",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-o", "--output", required=True, help="The file to write, or - for stdout.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["har", "jsonl", "md", "parquet"]),
    help="Default: from the output's extension (.har, .jsonl, .md). parquet: -o names a "
    "directory for streams.parquet and events.parquet (needs sse-inspect[tables]).",
)
@click.option(
    "--partition-by",
    type=click.Choice(["date"]),
    help="Parquet: Hive-style partitions by the request's UTC date (date=YYYY-MM-DD/); "
    "another export into the same directory adds to them.",
)
@filter_option
@click.option("--no-redact", is_flag=True, help="Keep keys, tokens and cookies (warns).")
@click.option("--all-flows", is_flag=True, help="HAR: the other exchanges too, not only streams.")
@click.option("--force", is_flag=True, help="Overwrite an existing output file (or directory).")
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
    partition_by: str | None = None,
) -> None:
    """Write the event streams of CAPTURE files as HAR 1.2, JSON Lines, Markdown or
    Parquet tables.

    Secrets (Authorization, cookies, API keys, keys in URLs) are replaced by REDACTED unless
    --no-redact is given.
    """
    from .present.redact import redact_stream
    from .present.write import AtomicFile, OutputError

    fmt = fmt or FORMATS.get(Path(output).suffix.lower())
    if fmt is None:
        raise InputError(f"{output}: cannot tell the format from the name; give --format")
    if partition_by is not None and fmt != "parquet":
        raise InputError("--partition-by is for --format parquet")
    if fmt == "parquet":
        _export_tables(captures, output, flt, no_redact, force, max_decoded, partition_by)
        return
    _check_output(output, force)
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


def _check_output(output: str, force: bool) -> None:
    """Refuse, before any reading, an output file (not ``-``) that cannot be written or
    that exists without ``--force``: a long run must not fail at its very end."""
    from .present.write import OutputError, check_writable

    if output == "-":
        return
    try:
        check_writable(Path(output))
    except OutputError as e:
        raise InputError(str(e)) from None
    if Path(output).exists() and not force:
        raise InputError(f"{output} exists; --force overwrites it")


def _export_tables(
    captures: tuple[str, ...],
    output: str,
    flt: flowfilter.TFilter | None,
    no_redact: bool,
    force: bool,
    max_decoded: int | None,
    partition_by: str | None,
) -> None:
    """``export --format parquet``: the streams and events tables in the directory
    ``output``, each stream analysed here and written as it comes (see
    :class:`~.present.parquet.TablesWriter`)."""
    from .present.redact import redact_stream
    from .present.write import OutputError

    try:
        from .present.parquet import TablesWriter
    except ImportError:
        raise InputError(
            "--format parquet needs pyarrow: pip install 'sse-inspect[tables]'"
        ) from None
    if output == "-":
        raise InputError("--format parquet writes a directory; give -o DIR")
    if no_redact:
        click.echo("warning: --no-redact: the export keeps keys, tokens and cookies", err=True)
    errors: list[str] = []
    empty: list[str] = []
    try:
        with TablesWriter(Path(output), partition_by, force) as tables:
            for stream in _streams(captures, flt, errors, empty=empty):
                if is_event_stream(stream.response_header("content-type")):
                    stream = stream if no_redact else redact_stream(stream)
                    tables.add(analyze_stream(stream, max_decoded=max_decoded))
            if tables.entries:  # nothing to report writes nothing (exit 1 below)
                tables.commit()
    except OutputError as e:
        raise InputError(str(e)) from None
    if errors:
        raise InputError("; ".join(errors))
    if not tables.entries:
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
@click.option(
    "--live/--no-live",
    default=None,
    help="Show a live panel of the streams in flight [default: when stderr is a terminal]; "
    "--live draws it even on a pipe.",
)
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
    live: bool | None,
) -> None:
    """Run a proxy that records every event stream with its timing.

    Point a browser or SDK at it (http://127.0.0.1:8080 by default; install mitmproxy's CA
    from http://mitm.it for HTTPS), chat, then stop it with Ctrl-C and run
    `sse-inspect analyze capture.flow`.

    It logs to stderr: one line per finished stream, and on Ctrl-C (or SIGTERM) a summary
    of what was recorded. On a terminal a live panel below the log shows each stream in
    flight as it types itself out, and the last few finished ones.

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
    view = None
    if live or (live is None and sys.stderr.isatty()):
        from .present.live import TerminalView

        view = TerminalView(title=f"sse-inspect capture · {host}:{port} → {write}", force=True)
    try:
        status = run_capture(config, view)
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


@main.command(
    short_help="Write a self-contained HTML report with charts.",
    epilog=_examples(
        "sse-inspect report capture.flow -o report.html",
        "sse-inspect report monday/*.flow --filter '~u /v1/messages' -o messages.html",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...")
@click.option("-o", "--output", required=True, help="The HTML file to write, or - for stdout.")
@filter_option
@stall_option
@dialect_option
@click.option("--title", help="The page's heading (default: the capture's file name).")
@click.option("--no-redact", is_flag=True, help="Keep keys, tokens and cookies (warns).")
@click.option("--force", is_flag=True, help="Overwrite an existing output file.")
@max_decoded_option
def report(
    captures: tuple[str, ...],
    output: str,
    flt: flowfilter.TFilter | None,
    stall_ms: float,
    dialect: str | None,
    title: str | None,
    no_redact: bool,
    force: bool,
    max_decoded: int | None = None,
) -> None:
    """Write one HTML page about the event streams of CAPTURE files: a sortable summary,
    then per stream its figures, a token timeline, a histogram of the gaps, the answer
    and the conversation. The page is self-contained (inline CSS and SVG, no network),
    to open anywhere or mail to someone.

    Secrets (Authorization, cookies, API keys, keys in URLs) are replaced by REDACTED unless
    --no-redact is given. Exit status as for export: 1 when no event stream was found.
    """
    from .present.redact import redact_stream
    from .present.report import ReportWriter
    from .present.write import AtomicFile, OutputError

    _check_output(output, force)
    if no_redact:
        click.echo("warning: --no-redact: the report shows keys, tokens and cookies", err=True)
    errors: list[str] = []
    empty: list[str] = []  # why each capture held no event stream
    # Each stream's section is rendered as soon as it is analysed (see ReportWriter); the
    # page goes to a temporary file beside the output, renamed into place at the end.
    try:
        target = None if output == "-" else AtomicFile(Path(output))
        page = ReportWriter(_echo if target is None else target.write, title=title,
                            redacted=not no_redact)  # fmt: skip
        with target or nullcontext():
            for stream in _streams(captures, flt, errors, progress=True, empty=empty):
                stream = stream if no_redact else redact_stream(stream)
                page.add(analyze_stream(stream, stall_ms, dialect, max_decoded))
            if page.entries:  # nothing to report writes nothing (exit 1 below)
                page.close()
                if target is not None:
                    target.commit()
    except OutputError as e:
        raise InputError(str(e)) from None
    if errors:
        raise InputError("; ".join(errors))
    if not page.entries:
        _nothing_found(empty)


def _parse_by(
    ctx: click.Context, param: click.Parameter, value: tuple[str, ...]
) -> tuple[str, ...]:
    from .analysis.stats import DEFAULT_BY, GROUP_KEYS

    names = [n.strip() for v in value for n in v.split(",") if n.strip()]
    for name in names:
        if name not in GROUP_KEYS:
            raise click.BadParameter(f"{name!r} is not one of {', '.join(GROUP_KEYS)}")
    return tuple(dict.fromkeys(names)) or DEFAULT_BY


def _figure_options(f: Callable[..., None]) -> Callable[..., None]:
    """The options of ``stats`` and ``compare``: the grouping, and how captures are read
    (as ``analyze`` reads them)."""
    for option in reversed((
        click.option(
            "--by", multiple=True, metavar="FIELD", callback=_parse_by,
            help="Group by dialect, model, host, path or file (repeatable, or a comma "
            "list) [default: dialect,model].",
        ),
        click.option(
            "--json", "as_json", is_flag=True, help="Print one JSON document (see README)."
        ),
        filter_option,
        stall_option,
        dialect_option,
        max_decoded_option,
        jobs_option,
    )):  # fmt: skip
        f = option(f)
    return f


@main.command(
    short_help="Percentiles of the figures across streams, per group.",
    epilog=_examples(
        "sse-inspect stats capture.flow",
        "sse-inspect stats monday/*.flow --by model --by host",
        "sse-inspect stats big.flow --by path,model --json | jq '.groups[0]'",
        "sse-inspect stats tables/   # a directory of export --format parquet",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="CAPTURE...|TABLES")
@_figure_options
def stats(
    captures: tuple[str, ...],
    by: tuple[str, ...],
    as_json: bool,
    flt: flowfilter.TFilter | None,
    stall_ms: float,
    dialect: str | None,
    max_decoded: int | None,
    jobs: int | None,
) -> None:
    """Per group of streams (default: dialect and model), how many streams (complete and
    cut) and the p50, p90, p99, max and mean of TTFB, TTFT, TTFT of the answer, total
    duration, ITL, TPOT, tokens/s and stalls per stream.

    Percentiles interpolate linearly between the closest ranks (NumPy's default, which
    vLLM bench serve reports; DuckDB's quantile_cont). A group of fewer than 5 streams is
    flagged: its percentiles say little. A TABLES directory (export --format parquet) is
    summed up in DuckDB.

    Exit status: 0 figures shown, 1 no event stream found, 2 unreadable input (what was
    read before the damage is still summed up).
    """
    from .present.json import dumps
    from .present.stats import stats_document, stats_table

    errors: list[str] = []
    if any(os.path.isdir(c) for c in captures):
        if len(captures) > 1:
            raise InputError("give one TABLES directory alone, or capture files")
        _no_capture_options(flt, dialect)
        groups = _tables("summarise_tables", captures[0], by)
        if not groups:
            _nothing_found([f"{captures[0]}: the tables hold no stream"])
    else:
        collector = _figures(captures, by, errors, flt, stall_ms, dialect, max_decoded, jobs)
        groups = collector.groups()
    if as_json:
        _echo(dumps(stats_document(by, groups)) + "\n")
    elif groups:
        _console().print(stats_table(groups, captures[0] if len(captures) == 1 else None))
    if errors:
        raise InputError("; ".join(errors))


class _SidesCommand(click.Command):
    """A command whose arguments may be split in two by ``--``: click drops the ``--``
    (it ends the options), so it is swapped for :data:`SIDES` before click parses, and
    options may still follow it."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            i = args.index("--")
            args = [*args[:i], SIDES, *args[i + 1 :]]
        return super().parse_args(ctx, args)


SIDES = "\0--"
"""What stands for ``--`` among ``compare``'s arguments (no command-line argument holds
a NUL, so no file name is taken for it)."""


@main.command(
    cls=_SidesCommand,
    short_help="Two captures side by side: which is faster, beyond noise.",
    epilog=_examples(
        "sse-inspect compare before.flow after.flow",
        "sse-inspect compare mon/*.flow -- tue/*.flow --by model",
        "sse-inspect compare openai.flow anthropic.flow --by dialect --json",
    ),
)
@click.argument("captures", nargs=-1, required=True, metavar="A B | A... -- B...")
@_figure_options
@click.option("--seed", type=int, default=0, show_default=True, help="The bootstrap's random seed.")
def compare(
    captures: tuple[str, ...],
    by: tuple[str, ...],
    as_json: bool,
    flt: flowfilter.TFilter | None,
    stall_ms: float,
    dialect: str | None,
    max_decoded: int | None,
    jobs: int | None,
    seed: int,
) -> None:
    """Compare the streams of A and B (two captures, or two groups of files split by
    --, or TABLES directories) group by group: per figure A's and B's median, B-A,
    B/A, and whether the difference is larger than noise.

    The test is a percentile bootstrap of the difference of medians: each side resampled
    with replacement 2,000 times (seeded, so every run gives the same answer); the
    difference is significant when its 95% confidence interval excludes 0 and each side
    has at least 5 streams with the figure. The better side (lower times and stalls,
    higher tokens/s) is marked. Groups on one side only are listed as such.

    Exit status: 0 compared (whatever the result), 1 a side has no event stream, 2
    unreadable input.
    """
    from .analysis.compare import compare_values
    from .present.json import dumps
    from .present.stats import compare_document, compare_table

    sides = _split_sides(captures)
    errors: list[str] = []
    values = []
    for side in sides:
        if any(os.path.isdir(c) for c in side):
            if len(side) > 1:
                raise InputError("give one TABLES directory alone per side, or capture files")
            _no_capture_options(flt, dialect)
            values.append(_tables("figure_values", side[0], by))
        else:
            collector = _figures(side, by, errors, flt, stall_ms, dialect, max_decoded, jobs)
            values.append(collector.values())
    if errors:
        raise InputError("; ".join(errors))
    groups = compare_values(values[0], values[1], seed=seed)
    if as_json:
        _echo(dumps(compare_document(by, groups, sides[0], sides[1], seed)) + "\n")
    else:
        _console().print(compare_table(by, groups, sides[0], sides[1]))


def _split_sides(captures: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """A and B of ``compare``'s arguments: split at ``--``, else exactly two."""
    if SIDES in captures:
        i = captures.index(SIDES)
        a, b = captures[:i], tuple(c for c in captures[i + 1 :] if c != SIDES)
        if a and b:
            return a, b
        captures = a or b  # a leading "--" only ends the options
    if len(captures) != 2:
        raise InputError(
            f"compare takes two captures (A B), or two groups of files (A... -- B...); "
            f"got {len(captures)} without --"
        )
    return (captures[0],), (captures[1],)


def _figures(
    captures: tuple[str, ...],
    by: tuple[str, ...],
    errors: list[str],
    flt: flowfilter.TFilter | None,
    stall_ms: float,
    dialect: str | None,
    max_decoded: int | None,
    jobs: int | None,
) -> Collector:
    """The figures of every stream of ``captures``, by group, read as ``analyze --json``
    reads them (``--jobs`` workers too) but keeping a few floats per stream, not records.
    No event stream at all exits 1 (after ``errors``, if any, exit 2)."""
    from .analysis.stats import Collector
    from .present.stats import figures_record

    empty: list[str] = []
    collector = Collector(by)
    job = Job(figures_record, stall_ms, dialect, max_decoded)
    for a, record in _analysed(captures, flt, errors, empty, job, jobs or cpu_count()):
        if record is None:
            assert a is not None
            record = figures_record(a)
        collector.add(record)
    if not collector.streams:
        if errors:
            raise InputError("; ".join(errors))
        _nothing_found(empty)
    return collector


def _no_capture_options(flt: flowfilter.TFilter | None, dialect: str | None) -> None:
    if flt is not None or dialect is not None:
        raise InputError("--filter and --dialect read captures; TABLES were analysed already")


def _tables(function: str, path: str, by: tuple[str, ...]) -> Any:
    """``function(path, by)`` of :mod:`.analysis.tables` (the DuckDB path), which needs
    the optional extra; a directory that holds no tables is bad input."""
    try:
        tables = importlib.import_module(".analysis.tables", __package__)
        if not tables.is_tables_dir(path):
            raise InputError(f"{path}: a directory without tables (export --format parquet -o DIR)")
        return getattr(tables, function)(path, by)
    except ImportError:
        raise InputError(
            f"{path}: reading Parquet tables needs duckdb: pip install 'sse-inspect[tables]'"
        ) from None


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
