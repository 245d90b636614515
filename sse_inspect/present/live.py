"""The live view of ``sse-inspect capture``: the streams in flight, typing themselves out.

One row per event stream in flight and the last few finished: method, host and path,
dialect, events so far, time to first token, the current tokens per second, a sparkline of
the gaps between content events, and the tail of the answer; a finished row keeps its
verdict, in the words of its log line (:func:`~sse_inspect.capture.addon.stream_verdict`).
The log lines themselves are printed above the panel, where they stay in the scrollback.

The plan and its cost. The proxy's per-chunk path stays stamp, append, forward: this view
never runs there. :class:`TerminalView` is a :class:`~sse_inspect.capture.proxy.LiveView`:
the proxy hands it each new recording and calls :meth:`~TerminalView.refresh` 4 times a
second on its event loop, and each refresh

- reads only what arrived since the last one: per stream it keeps how many chunks (and
  bytes) of the recording it has consumed and feeds just the new ones through a pipeline
  of its own (:class:`_Track`: content decoding, :class:`~sse_inspect.sse.SSEDecoder`, the
  dialect's per-event reader), so a refresh costs the same at the 10th event as at the
  100,000th; what it keeps per stream is bounded (the answer's tail, the last gaps);
- spends at most :data:`BUDGET_S` decoding, shared out among the streams in turn, in
  pieces of at most :data:`PIECE` bytes: a flood makes the view lag, never the proxy;
- draws once, the log lines that came in since the last refresh included (one redraw for
  a hundred lines, not one each).

:func:`render_panel` draws the panel for given rows on any rich console: the docs'
screenshot script uses it with ``Console(record=True)``.
"""

from __future__ import annotations

import io
import math
import sys
import time
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import IO, cast

from rich.cells import cell_len, set_cell_size
from rich.console import Console, ConsoleOptions, RenderResult
from rich.live import Live
from rich.segment import Segment
from rich.style import Style
from rich.text import Text

from ..analysis.cadence import DEFAULT_STALL_MS
from ..capture import contract
from ..capture.addon import SSECapture, stream_verdict
from ..capture.ends import TAIL, finished
from ..capture.proxy import Recording
from ..decode.content import ContentCodingError, ContentDecoder
from ..dialects import DIALECTS, detect
from ..dialects.base import DATA, REASONING, REFUSAL, TEXT, TOOL, Delta, Reader
from ..sse import Event, SSEDecoder
from .terminal import short_url
from .units import ms

__all__ = [
    "BUDGET_S",
    "FINISHED_ROWS",
    "PIECE",
    "LivePanel",
    "StreamRow",
    "TerminalView",
    "render_panel",
    "sparkline",
]

BUDGET_S = 0.004
"""Seconds of decoding per refresh, for all streams together (4 refreshes a second: at
most 1.6% of the event loop's time)."""
END_BUDGET_S = 0.25
"""Seconds of decoding for the last refresh, once the proxy has stopped."""
PIECE = 4 * 1024
"""The most bytes decoded in one step (a fraction of a millisecond with the dialect's
reading): the budget is checked before each step."""
MAX_DECODED = 16 * 1024 * 1024
"""The view reads at most this many decoded bytes of a stream (its events say ``≥``)."""
FINISHED_ROWS = 5
"""Finished streams kept on the panel, the latest last."""
HEAD_EVENTS = 20
"""Events looked at to tell the dialect when neither the URL nor a header does."""
TAIL_CHARS = 400
"""Characters of the answer kept per stream: more than a row of the widest terminal."""
GAPS_KEPT = 64
IDLE_DRAW_S = 1.0
"""A panel with nothing new is drawn again after this long (the rates and tallies move)."""
RATE_WINDOW_S = 2.0
"""The current tokens per second count the content events of this last stretch."""
BLOCKS = "▁▂▃▄▅▆▇█"
ENDING = "ending…"
"""The state of a finished stream the view has not read to its end yet."""


@dataclass(frozen=True, slots=True)
class StreamRow:
    """What one row of the panel shows: plain data, so a script can make its own rows."""

    method: str
    url: str
    dialect: str | None
    """``None`` while it is not told yet."""
    events: int
    ttft_ms: float | None
    tokens_per_s: float | None
    """Content events per second: of the last :data:`RATE_WINDOW_S` while streaming, of
    the whole stream once finished."""
    gaps_ms: tuple[float, ...]
    """The last gaps between content events, oldest first."""
    tail: str
    """The end of the answer so far (reasoning while there is no answer yet)."""
    verdict: str | None = None
    """``None`` while streaming; then ``complete``, ``cut (reason)``, ... as the log line."""
    thinking: bool = False
    """The tail is reasoning, not the answer."""
    more: bool = False
    """The view stopped reading this stream (a size cap or an error): ``events`` is a
    lower bound."""
    note: str | None = None
    """Why the view could not read the stream, if it could not."""


def sparkline(gaps_ms: Sequence[float], width: int, stall_ms: float = DEFAULT_STALL_MS) -> Text:
    """The last ``width`` gaps as block characters, right-aligned. The height is the gap
    on a log scale from 1 ms to the stall threshold, the same for every row and every
    refresh (a steady stream is a flat line, wherever its pace); a stall is a full block in
    red."""
    gaps = list(gaps_ms)[-width:] if width > 0 else []
    top = math.log(max(stall_ms, 2.0))
    steps = len(BLOCKS) - 1
    line = Text(" " * (width - len(gaps)))
    run, style = "", "cyan"
    for g in gaps:
        if g >= stall_ms:
            block, kind = BLOCKS[-1], "red"
        else:
            share = math.log(g) / top if g > 1.0 else 0.0
            block, kind = BLOCKS[min(steps, round(share * steps))], "cyan"
        if kind != style and run:
            line.append(run, style)
            run = ""
        run, style = run + block, kind
    if run:
        line.append(run, style)
    return line


# -- the panel ------------------------------------------------------------------------------

_HEAD = ("Method", "Request", "Dialect", "Events", "TTFT ms", "tok/s", "Gaps", "State")
_RIGHT = frozenset({"Events", "TTFT ms", "tok/s"})


class LivePanel:
    """The panel: one line of figures per stream, and under it the tail of its answer as
    wide as the panel, cut at its start so the newest text stays in view; never wrapped.

    The small columns keep their width and the request takes the rest, its middle giving
    way (``host/…/completions``) when it is short of room. Finished streams come first,
    then those in flight, in the order they began."""

    def __init__(
        self,
        rows: Sequence[StreamRow],
        *,
        title: str = "sse-inspect capture",
        summary: str = "",
        hidden: int = 0,
    ) -> None:
        self.rows = rows
        self.title = title
        self.summary = summary
        self.hidden = hidden
        """Streams in flight left out for want of room."""
        self._segments: dict[int, list[Segment]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        """Each line is made at its exact width and rendered straight to segments, border
        included: no layout, no wrapping, a millisecond or two for a full screen (a rich
        ``Panel`` of ``Text`` took ten, on the event loop that carries the streams). The
        segments are kept per width, as rich's ``Live`` renders a frame more than once."""
        # The border and padding take 4 columns; 2 more stay free, so that the ^C a
        # terminal echoes after the panel does not wrap a line and shift the last redraw.
        width = max(44, options.max_width - 2)
        cached = self._segments.get(width)
        if cached is None:
            cached = self._segments[width] = self.segments(console, width)
        yield from cached

    def segments(self, console: Console, width: int) -> list[Segment]:
        inner = width - 4
        widths = self.widths(inner)
        head = {name: Text(name) for name in _HEAD}
        lines = [self._line(head, widths, "bold")]
        indent = widths["Method"] + 1
        for row in self.rows:
            lines.append(self._line(self.cells(row, widths), widths))
            lines.append(Text(" " * indent) + self.answer(row, inner - indent))
        if self.hidden:
            lines.append(Text(f"… and {self.hidden} more streaming", style="dim"))
        if not self.rows:
            lines.append(Text("waiting for event streams…", style="dim"))
        border = Style.parse(_BORDER)
        out = _edge(console, "╭", "╮", self.title, width, left=True)
        side = Segment("│ ", border), Segment(" │", border)
        newline = Segment.line()
        for line in lines:
            line.truncate(inner, overflow="ellipsis", pad=True)
            out += [side[0], *line.render(console), side[1], newline]
        return out + _edge(console, "╰", "╯", self.summary, width, left=False)

    def widths(self, inner: int) -> dict[str, int]:
        """Each column's width for ``inner`` cells in all (one cell between two)."""
        dialect = max([7, *(len(r.dialect or "") for r in self.rows)])
        state = max([9, *(min(20, len(r.verdict or "")) for r in self.rows)])
        fixed = {"Method": 6, "Dialect": dialect, "Events": 7, "TTFT ms": 7, "tok/s": 6}
        fixed |= {"Gaps": 12 if inner >= 100 else 8, "State": state}
        left = inner - sum(fixed.values()) - (len(_HEAD) - 1)
        return {**fixed, "Request": max(12, left)}

    @staticmethod
    def _line(cells: dict[str, Text], widths: dict[str, int], style: str = "") -> Text:
        line = Text(style=style, no_wrap=True, overflow="crop")
        for i, name in enumerate(_HEAD):
            w, cell = widths[name], cells[name]
            if i:
                line.append(" ")
            if cell_len(cell.plain) > w:
                cell.truncate(w, overflow="ellipsis")
            pad = " " * max(0, w - cell_len(cell.plain))
            if name in _RIGHT:
                line.append(pad)
                line.append_text(cell)
            else:
                line.append_text(cell)
                line.append(pad)
        return line

    @staticmethod
    def cells(row: StreamRow, widths: dict[str, int]) -> dict[str, Text]:
        """The figures of one row, each cell's text at its natural width."""
        verdict = row.verdict
        if verdict is None:
            state = Text("streaming", style="cyan")
        elif verdict.startswith("complete"):
            state = Text(verdict, style="green")
        elif verdict == ENDING:
            state = Text(verdict, style="dim")
        else:
            state = Text(verdict, style="red")
        events = f"≥{row.events:,}" if row.more else f"{row.events:,}"
        rate = "—" if row.tokens_per_s is None else f"{row.tokens_per_s:.1f}"
        return {
            "Method": Text(row.method, style="bold"),
            "Request": Text(short_url(row.url, widths["Request"])),
            "Dialect": Text(row.dialect or "…", style="magenta" if row.dialect else "dim"),
            "Events": Text(events),
            "TTFT ms": Text(ms(row.ttft_ms)),
            "tok/s": Text(rate),
            "Gaps": sparkline(row.gaps_ms, widths["Gaps"]),
            "State": state,
        }

    @staticmethod
    def answer(row: StreamRow, width: int) -> Text:
        """The tail of the answer (or the reasoning, or why it cannot be read)."""
        if row.note:
            return Text(_tail_cells(_flat(row.note), width), style="red")
        if not row.tail:
            return Text("")
        style = "dim italic" if row.thinking else ""
        tail = _flat(row.tail[-2 * width :])  # no character is wider than two cells
        return Text(_tail_cells(tail, width), style=style, no_wrap=True)


_BORDER = "blue"


def _edge(
    console: Console, first: str, last: str, label: str, width: int, left: bool
) -> list[Segment]:
    """The top or bottom border, with its label (the title at the left, the summary at
    the right), cut to fit."""
    border = Style.parse(_BORDER)
    room = width - 6
    label = set_cell_size(label, room).rstrip() if cell_len(label) > room else label
    text = f" {label} " if label else ""
    fill = "─" * max(0, width - 3 - cell_len(text))
    parts = [first + "─", text, fill] if left else [first + fill, text, "─"]
    return [
        Segment(parts[0], border),
        Segment(parts[1], border),
        Segment(parts[2] + last, border),
        Segment.line(),
    ]


def render_panel(
    console: Console,
    rows: Sequence[StreamRow],
    *,
    title: str = "sse-inspect capture",
    summary: str = "",
    hidden: int = 0,
) -> None:
    """Print the panel for ``rows`` on ``console``: for scripts and screenshots, e.g.
    ``c = Console(record=True, width=120); render_panel(c, rows); c.save_svg(path)``."""
    console.print(LivePanel(rows, title=title, summary=summary, hidden=hidden))


_FLAT = {i: " " for i in range(32)} | {10: "⏎", 13: "⏎", 0x7F: " "}


def _flat(text: str) -> str:
    """One line: newlines shown as ⏎, tabs and other control characters as spaces."""
    return text.replace("\r\n", "\n").translate(_FLAT)


def _tail_cells(text: str, width: int) -> str:
    """The end of ``text`` in at most ``width`` cells, with … first when it was cut."""
    if width <= 0:
        return ""
    if text.isascii():  # one cell a character: the common case, without measuring
        return text if len(text) <= width else "…" + text[len(text) - width + 1 :]
    if cell_len(text) <= width:
        return text
    out, used = [], 1
    for c in reversed(text):
        used += cell_len(c)
        if used > width:
            break
        out.append(c)
    return set_cell_size("…" + "".join(reversed(out)), width)


# -- one stream, read incrementally -----------------------------------------------------------


class _Track:
    """One stream's own pipeline, fed only the bytes that arrived since the last call.

    ``part``/``pos`` say how many chunks and bytes of the recording were consumed; while it
    is open the new chunks are ``recording.body[part:]``, once done the rest of
    ``flow.response.raw_content`` from ``pos``, cut by the sizes of ``chunks`` (the
    recorder's own list: this keeps a reference, as the recorder rebinds its attribute).
    :attr:`fed` counts the bytes taken in, so tests can see that nothing is read twice.
    """

    def __init__(self, recording: Recording) -> None:
        self.recording = recording
        flow = recording.flow
        self.flow = flow
        self.chunks = recording.chunks
        self.part = 0
        self.pos = 0
        self.fed = 0
        self.t = flow.request.timestamp_start
        self.note: str | None = None
        self.content: ContentDecoder | None = None
        coding = flow.response.headers.get("content-encoding") if flow.response else None
        try:
            self.content = ContentDecoder(coding, MAX_DECODED, PIECE)
        except ContentCodingError as e:
            self.note = str(e)
        self.draining = False  # the content decoder holds output for the last input
        self.sse = SSEDecoder()
        self.closed = False  # the SSE decoder saw the end
        self.more = False  # stopped reading before the end (cap or error)
        self.events = 0
        self.last = deque[Event](maxlen=TAIL)
        self.url: str = flow.request.pretty_url
        self.headers = list(flow.request.headers.keys())
        self.head: list[Event] = []
        self.dialect: str | None = None
        self.reader: Reader | None = None
        self.deltas: list[Delta] | None = None
        name = detect(self.url, (), self.headers)
        if name != "generic":
            self._lock(name)
        # what the row shows
        self.arrival = -1  # the index of the last event that carried output
        self.first_t: float | None = None
        self.last_t: float | None = None
        self.arrivals = 0
        self.gaps = deque[float](maxlen=GAPS_KEPT)
        self.recent = deque[float]()
        self.tail = ""
        self.thinking = ""
        self.verdict: str | None = None

    @property
    def caught_up(self) -> bool:
        return self.closed or self.more

    @property
    def idle(self) -> bool:
        """Nothing to do until more arrives: read as far as the view reads, and given its
        verdict if it is done."""
        return self.caught_up and (self.verdict is not None or not self.recording.done)

    def advance(self, deadline: float, at_least_one: bool = False) -> bool:
        """Read what arrived since the last call, a piece at a time, until caught up
        (true) or at ``deadline`` (a ``perf_counter`` time), checked before each piece;
        ``at_least_one`` piece even past it, so that every stream moves on."""
        content = self.content
        if content is None:
            self.more = True
        while not self.caught_up and content is not None:
            if not at_least_one and time.perf_counter() >= deadline:
                return False
            at_least_one = False
            try:
                if self.draining:
                    piece = content.next()
                else:
                    raw = self._next_raw()
                    if raw is None:
                        break
                    self.fed += len(raw)
                    piece = content.next(raw)
                self.draining = bool(piece) and not content.dry
                if content.capped:
                    self.more = True
            except ContentCodingError as e:
                self.note, self.more, piece = str(e), True, b""
            if piece:
                batch = self.sse.feed(piece, self.t)
                sse = self.sse
                if sse.comments or sse.retries:  # not shown here: a flood would pile up
                    sse.comments.clear()
                    sse.retries.clear()
                self._events(batch)
        if self.recording.done and self.verdict is None:
            self._end()
        return True

    def _next_raw(self) -> bytes | None:
        """The next chunk not read yet, or ``None``; sets :attr:`t` to its arrival."""
        recording, i = self.recording, self.part
        if not recording.done:
            body = recording.body
            if i >= len(body):
                return None
            raw = body[i]
        else:
            response = self.flow.response
            stored = response.raw_content if response is not None else None
            if not stored or self.pos >= len(stored):
                return None
            n = int(self.chunks[i][1]) if i < len(self.chunks) else len(stored) - self.pos
            raw = stored[self.pos : self.pos + max(1, n)]
        if i < len(self.chunks):
            self.t = float(self.chunks[i][0])
        self.part += 1
        self.pos += len(raw)
        return bytes(raw)

    def _end(self) -> None:
        """The recording is done and read to its end (or as far as the view reads)."""
        if not self.closed and not self.more:
            self.closed = True
            self._events(self.sse.close(self.t))
        if self.dialect is None:
            self._lock(detect(self.url, self.head, self.headers))
        meta = self.flow.metadata.get(contract.KEY, {})
        verdict = stream_verdict(self.flow, not self.more and finished(tuple(self.last)))
        self.verdict = verdict + (", truncated" if meta.get("truncated") else "")

    def _events(self, batch: Iterable[Event]) -> None:
        for e in batch:
            i = self.events
            self.events += 1
            self.last.append(e)
            if self.dialect is None:
                self.head.append(e)
                if len(self.head) >= HEAD_EVENTS:
                    self._lock(detect(self.url, self.head, self.headers))
            else:
                self._read(i, e)
        if self.dialect is None and self.head:
            name = detect(self.url, self.head, self.headers)
            if name != "generic":
                self._lock(name)

    def _lock(self, name: str) -> None:
        """The dialect is told: read the events held back so far with its reader."""
        self.dialect = name
        self.reader, self.deltas = _reader(name)
        head, self.head = self.head, []
        for i, e in enumerate(head):
            self._read(i, e)

    def _read(self, i: int, e: Event) -> None:
        reader, deltas = self.reader, self.deltas
        assert reader is not None and deltas is not None  # the dialect is known
        reader.event(i, e)
        new = list(deltas)
        deltas.clear()  # no reader looks back at its deltas: the view keeps none
        for d in new:
            self._delta(d)

    def _delta(self, d: Delta) -> None:
        if not (d.text or d.name):
            return
        if d.event != self.arrival:  # a new event carrying output
            self.arrival = d.event
            if self.last_t is not None:
                self.gaps.append((d.t - self.last_t) * 1e3)
            else:
                self.first_t = d.t
            self.last_t = d.t
            self.arrivals += 1
            self.recent.append(d.t)
        if d.kind == REASONING:
            self.thinking = _append(self.thinking, d.text, d.replace)
            return
        text = d.text
        if d.kind == TOOL and d.name:
            text = f" ⚙ {d.name}({text}"
        elif d.kind == DATA and self.tail:
            text = " " + text
        elif d.kind not in (TEXT, REFUSAL, TOOL, DATA):
            return
        self.tail = _append(self.tail, text, d.replace and d.kind == TEXT)

    def row(self, now: float) -> StreamRow:
        request = self.flow.request
        start = request.timestamp_start
        recent = self.recent
        while recent and recent[0] < now - RATE_WINDOW_S:
            recent.popleft()
        rate: float | None = None
        if self.verdict is not None:
            first, last = self.first_t, self.last_t
            if first is not None and last is not None and last > first:
                rate = (self.arrivals - 1) / (last - first)
        elif self.first_t is not None:
            span = min(RATE_WINDOW_S, now - self.first_t)
            rate = len(recent) / span if span >= 0.2 else None
        thinking = not self.tail and bool(self.thinking)
        return StreamRow(
            method=request.method,
            url=self.url,
            dialect=self.dialect,
            events=self.events,
            ttft_ms=None if self.first_t is None else (self.first_t - start) * 1e3,
            tokens_per_s=rate,
            gaps_ms=tuple(self.gaps),
            tail=self.thinking if thinking else self.tail,
            verdict=self.verdict if self.verdict is not None else _ending(self),
            thinking=thinking,
            more=self.more and not self.closed,
            note=self.note,
        )


def _ending(track: _Track) -> str | None:
    return ENDING if track.recording.done else None


def _append(tail: str, text: str, replace: bool) -> str:
    return (text if replace else tail + text)[-TAIL_CHARS:]


def _reader(name: str) -> tuple[Reader, list[Delta]]:
    """The dialect's reader, fed one event at a time, and the list its deltas go to."""
    reader = DIALECTS[name].reader()
    return reader, reader.deltas


# -- the view -------------------------------------------------------------------------------


class _LogSink(io.TextIOBase):
    """Where the proxy's log goes while the view shows: whole lines are held, and printed
    above the panel at the next refresh, all in one go (printing redraws the panel).
    Before and after the view they go straight to the console."""

    def __init__(self, console: Console) -> None:
        super().__init__()
        self.console = console
        self.hold = False
        self.lines: list[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        head, *rest = (self._partial + text).split("\n")
        if not rest:
            self._partial = head
            return len(text)
        *done, self._partial = [head, *rest]
        self.lines += done
        if not self.hold:
            self.flush()
        return len(text)

    def flush(self) -> None:
        lines, self.lines = self.lines, []
        if lines:
            out = Text("\n").join(Text.from_ansi(line) for line in lines)
            self.console.print(out, soft_wrap=True, highlight=False)

    def isatty(self) -> bool:
        return self.console.is_terminal

    def writable(self) -> bool:
        return True


class TerminalView:
    """The live panel on a terminal: a :class:`~sse_inspect.capture.proxy.LiveView`.

    Drawn with rich's :class:`~rich.live.Live`, refreshed by the proxy's timer only (no
    thread of rich's own: a thread drawing would hold the GIL from the event loop that
    carries the streams). ``force`` draws even when the console is not a terminal (a pipe:
    the bench, the tests)."""

    def __init__(
        self,
        console: Console | None = None,
        *,
        title: str = "sse-inspect capture",
        force: bool = False,
        budget_s: float = BUDGET_S,
    ) -> None:
        self.console = console or Console(
            file=sys.stderr, force_terminal=True if force else None, highlight=False
        )
        self.title = title
        self.budget_s = budget_s
        self._sink = _LogSink(self.console)
        self._live: Live | None = None
        self._capture: SSECapture | None = None
        self._new: list[Recording] = []
        self.open: dict[int, _Track] = {}
        """The streams in flight, in the order they began."""
        self.finished: deque[_Track] = deque(maxlen=FINISHED_ROWS)
        self._turn = 0
        self._drawn = 0.0  # when the panel was last drawn (monotonic)

    @property
    def out(self) -> IO[str]:
        return cast(IO[str], self._sink)  # a TextIOBase: what print() and logging need

    def begin(self, capture: SSECapture) -> None:
        self._capture = capture
        self._sink.flush()
        self._live = Live(
            self.panel(),
            console=self.console,
            auto_refresh=False,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self._live.start()
        self._sink.hold = True

    def watch(self, recording: Recording) -> None:
        self._new.append(recording)  # the track is made at the next refresh

    def refresh(self, budget_s: float | None = None) -> None:
        """Take the new streams, read what arrived (at most ``budget_s`` of work), and draw
        if anything changed (at least every :data:`IDLE_DRAW_S`, as the rates move on)."""
        before = self._state()
        self.read(self.budget_s if budget_s is None else budget_s)
        now = time.monotonic()
        if self._state() != before or self._sink.lines or now - self._drawn >= IDLE_DRAW_S:
            self._drawn = now
            self._draw()

    def _state(self) -> tuple[int, int, int, int]:
        """What a redraw depends on, but time: streams, events, verdicts."""
        tracks = (*self.finished, *self.open.values())
        verdicts = sum(t.verdict is not None for t in tracks)
        return len(self.open), len(self.finished), sum(t.events for t in tracks), verdicts

    def end(self) -> None:
        try:
            if self._live is not None:
                self.refresh(END_BUDGET_S)
                self._live.stop()
        finally:
            self._live = None
            self._sink.hold = False
            self._sink.flush()

    def read(self, budget_s: float) -> None:
        """Bring the streams up to date, as far as ``budget_s`` goes.

        Those on the panel come first and take turns: each gets an equal share of the
        budget (and one piece at least: the first one, which is another at every refresh),
        then what is left goes to each stream in order, those left off the panel last."""
        self._take_new()
        for track in [t for t in self.open.values() if t.recording.done]:
            del self.open[id(track.recording)]
            self.finished.append(track)  # the oldest finished one leaves the panel
        flying = list(self.open.values())
        room = self._room()
        shown = [t for t in (*self.finished, *flying[:room]) if not t.idle]
        start = time.perf_counter()
        end = start + budget_s
        if shown:
            self._turn = (self._turn + 1) % len(shown)
            order = shown[self._turn :] + shown[: self._turn]
            share = budget_s / len(order)
            for i, track in enumerate(order):
                track.advance(min(end, start + share * (i + 1)), at_least_one=i == 0)
        for track in (*shown, *flying[room:]):
            if time.perf_counter() >= end:
                break
            if not track.idle:
                track.advance(end)

    def _room(self) -> int:
        """How many streams in flight the panel has room for (two lines each)."""
        return max(2, (self.console.height - 6) // 2 - len(self.finished))

    def _take_new(self) -> None:
        """Tracks for the new streams; of those that began and ended between two
        refreshes, only the last few that the panel keeps."""
        new, self._new = self._new, []
        kept = {id(r) for r in [r for r in new if r.done][-FINISHED_ROWS:]}
        for r in new:
            if not r.done or id(r) in kept:
                self.open[id(r)] = _Track(r)

    def rows(self, now: float | None = None) -> tuple[list[StreamRow], int]:
        """The rows as the panel shows them (finished first), and how many streams in
        flight were left out for want of room."""
        now = time.time() if now is None else now
        flying = list(self.open.values())
        shown = flying[: self._room()]
        rows = [t.row(now) for t in (*self.finished, *shown)]
        return rows, len(flying) - len(shown)

    def panel(self) -> LivePanel:
        rows, hidden = self.rows()
        return LivePanel(rows, title=self.title, summary=self._summary(), hidden=hidden)

    def _summary(self) -> str:
        capture = self._capture
        flying = len(self.open)
        parts = [f"{flying} streaming"]
        if capture is not None:
            t = capture.tally
            parts.append(f"{t.streams} recorded ({t.complete} complete, {t.cut} cut)")
            parts.append(f"{t.events:,} events")
        return " · ".join(parts)

    def _draw(self) -> None:
        live = self._live
        if live is None:
            return
        live.update(self.panel(), refresh=not self._sink.lines)
        self._sink.flush()  # printing above the panel redraws it, once
