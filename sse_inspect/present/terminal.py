"""Terminal renderables: the streams table, the event list and the details of one stream.

Each is a rich renderable built from one source: the table from the Contract 4 records
(:mod:`.json`), of which it keeps the text of each row's cells alone and which it prints
in slabs, so a long capture is summed up in flat memory; the event list and the details
from one :class:`Analysis`. Renderables that depend on the
width measure the console they are printed on and choose their layout from it, so that no
cell is squeezed to a letter per line; the CLI only decides where to print them.
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from math import isfinite
from pathlib import PurePath
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from rich import box
from rich.cells import cell_len, set_cell_size
from rich.console import (
    Console,
    ConsoleOptions,
    Group,
    JustifyMethod,
    OverflowMethod,
    RenderableType,
    RenderResult,
)
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..analysis.analysis import Analysis
from ..dialects.base import TOOL, Delta
from ..sse import Comment, Event
from .json import stream_record
from .units import ms, shorten

__all__ = [
    "TABLE_KEYS",
    "CadenceStrip",
    "Cells",
    "EventsTable",
    "StreamsTable",
    "event_kind",
    "events_table",
    "footnotes",
    "house_table",
    "short_url",
    "stream_details",
]

GAP = 2
"""Columns between two cells of the house table (none at its edges)."""
URL_MIN = 26
"""A one-line table is used only when the URL keeps this much (or all of itself)."""
SOURCE_MIN = 20

# -- the streams table --------------------------------------------------------------------

GAPS = "Gap p50/p90/p99/max"
RIGHT = frozenset({"#", "Status", "Events", "TTFB", "TTFT", "Total", GAPS, "Stalls"})
WIDE = (
    *("#", "Source", "Method", "URL", "Status", "Dialect"),
    *("Events", "Done", "TTFB", "TTFT", "Total", GAPS, "Stalls"),
)
COMPACT = ("#", "Source", "Method", "Dialect", "Events", "Done", "TTFT", "Total", "Stalls", "URL")
STACKED = ("#", "Request", "Events", "Done", "TTFT", "Total", "Stalls")
"""Each layout's columns in order. Three layouts, the first that fits the console wins:

- WIDE, one line per stream with every figure;
- COMPACT, one line per stream with the essentials and the URL last;
- STACKED, two lines per stream: the URL over the method, status and dialect, beside the
  essentials (``Events`` is left out first when even that is short of room). With several
  capture files, a line naming the file comes before its streams instead of a column.
"""
TABLE_KEYS = (
    *("source", "method", "url", "status", "dialect", "events", "complete", "unterminated"),
    *("error", "timing", "ttfb_ms", "ttft_ms", "duration_ms", "gap_ms", "stalls"),
)
"""What the streams table and its footnotes read of a record."""
SLAB = 200
"""Rows laid out by rich at once (see :class:`StreamsTable`)."""


class Cells(NamedTuple):
    """What the table keeps of one stream: the text of its cells at their natural width."""

    source: int
    """The capture file, as an index into :attr:`StreamsTable.sources`."""
    method: str
    url: str
    """Host and path (see :func:`short_url`), else the URL or source as it is."""
    host: int
    """How long the host is at the start of ``url``; 0 when ``url`` is no URL."""
    status: str
    dialect: str
    events: str
    done: str
    ttfb: str
    ttft: str
    total: str
    gaps: str
    stalls: str


FIELD = {
    **{"Method": "method", "URL": "url", "Status": "status", "Dialect": "dialect"},
    **{"Events": "events", "Done": "done", "TTFB": "ttfb", "TTFT": "ttft", "Total": "total"},
    **{GAPS: "gaps", "Stalls": "stalls"},
}
"""The field of :class:`Cells` that each column shows as it is."""


class StreamsTable:
    """One row per event stream: what was exchanged and how it arrived.

    Every cell keeps its natural width but the URL, which gives way in its middle
    (``host/…/completions``), and the source file's name, which keeps its end; when they
    would have to give more, the table changes layout (see :data:`STACKED`). With records
    from several capture files a Source column names each row's file.

    Records are taken one at a time (:meth:`add`) and only the text of their cells is kept
    (:class:`Cells`, short strings), with what the footnotes say. The table is laid out in
    slabs of :data:`SLAB` rows, a rich table each, all with the column widths measured over
    every row and the title and header on the first alone, so that they read as one table
    and rich never holds the layout of more than a slab: printed on a console that writes
    as it renders (the CLI's ``_print_by_lines``), memory does not grow with the rows.
    """

    def __init__(self, records: Iterable[dict[str, Any]] = (), title: str | None = None) -> None:
        self.title = title
        self.rows: list[Cells] = []
        self.sources: dict[str, int] = {}
        """Each capture file, in the order of its first stream, and its index."""
        self.untimed: list[int] = []
        """The numbers of the streams without per-chunk timing."""
        self.errors: list[tuple[int, str]] = []
        """The number and error of each stream that has one."""
        for r in records:
            self.add(r)

    def add(self, r: dict[str, Any]) -> None:
        """The next stream's row, from its record (of which it reads :data:`TABLE_KEYS`)."""
        number = len(self.rows) + 1
        url, host = _url_text(r["url"] or r["source"])
        row = Cells(
            self.sources.setdefault(r["source"], len(self.sources)),
            r["method"] or "—",
            url,
            host,
            "—" if r["status"] is None else str(r["status"]),
            r["dialect"],
            str(r["events"]),
            _done(r),
            ms(r["ttfb_ms"]),
            ms(r["ttft_ms"]),
            ms(r["duration_ms"]),
            _gaps(r["gap_ms"]),
            "—" if r["stalls"] is None else str(r["stalls"]),
        )
        if self.rows:  # the streams of a long capture look alike: a text like the one
            last = self.rows[-1]  # above it is kept once
            row = Cells._make(b if a == b else a for a, b in zip(row, last, strict=True))
        self.rows.append(row)
        if r["timing"] == "none":
            self.untimed.append(number)
        if r["error"]:
            self.errors.append((number, r["error"]))

    def footnotes(self) -> Text:
        """What the table cannot say in a cell (see :func:`footnotes`)."""
        return _footnotes(self.untimed, self.errors)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        names = _source_names(list(self.sources))
        lines: Callable[[], Iterator[list[Text]]]
        for layout in (WIDE, COMPACT):
            columns = [c for c in layout if c != "Source" or names is not None]
            widths = _fit_one_line(self._natural(columns, names), width)
            if widths is not None:
                lines = functools.partial(self._one_line, columns, names, widths)
                break
        else:
            columns, lines = self._stacked(names, width)
        measured = {c: cell_len(c) for c in columns}
        for cells in lines():  # every row once first, for the widths of every slab
            for c, cell in zip(columns, cells, strict=True):
                measured[c] = max(measured[c], _width(cell))
        yield from _slabs(self.title, columns, measured, lines())

    def _natural(self, columns: Sequence[str], names: list[str] | None) -> dict[str, int]:
        """Each column's width with every cell at its natural width."""
        natural = {c: cell_len(c) for c in columns}
        natural["#"] = max(natural["#"], len(str(len(self.rows))))
        if names is not None and "Source" in natural:
            natural["Source"] = max(natural["Source"], *map(cell_len, names))
        for c in columns:
            if c in FIELD:
                field = FIELD[c]
                cells = (cell_len(getattr(r, field)) for r in self.rows)
                natural[c] = max(natural[c], max(cells, default=0))
        return natural

    def _one_line(
        self, columns: Sequence[str], names: list[str] | None, widths: dict[str, int]
    ) -> Iterator[list[Text]]:
        """The rows of a one-line layout, the URL and the source cut to ``widths``."""
        for number, row in enumerate(self.rows, 1):
            cells = []
            for c in columns:
                if c == "#":
                    cells.append(Text(str(number)))
                elif c == "URL":
                    cells.append(Text(_crop_url(row.url, row.host, widths["URL"])))
                elif c == "Source":
                    assert names is not None
                    cells.append(Text(_file_name(names[row.source], widths["Source"])))
                else:
                    cells.append(_cell(row, c))
            yield cells

    def _stacked(
        self, names: list[str] | None, width: int
    ) -> tuple[list[str], Callable[[], Iterator[list[Text]]]]:
        """The columns of the stacked layout at ``width``, and its rows."""
        columns = list(STACKED)
        natural = self._natural(["#", "URL", "Events", "Done", "TTFT", "Total", "Stalls"], None)
        url = natural.pop("URL")
        request = max(url, max(map(cell_len, map(_request_plain, self.rows)), default=0))
        natural["Request"] = max(cell_len("Request"), request)
        room = width - sum(natural.values()) + natural["Request"] - GAP * (len(columns) - 1)
        if room < min(natural["Request"], URL_MIN):
            columns.remove("Events")
            room += natural["Events"] + GAP
        fit = max(8, min(natural["Request"], room))

        def lines() -> Iterator[list[Text]]:
            source = None
            for number, row in enumerate(self.rows, 1):
                if names is not None and row.source != source:
                    source = row.source
                    name = Text(_file_name(names[source], fit), style="bold")
                    yield [name if c == "Request" else Text("") for c in columns]
                second = _request_line(row)
                second.truncate(fit, overflow="ellipsis")
                first = Text(_crop_url(row.url, row.host, fit))
                cells = []
                for c in columns:
                    if c == "#":
                        cells.append(Text(str(number)))
                    elif c == "Request":
                        cells.append(Text("\n").join([first, second]))
                    else:
                        cells.append(_cell(row, c))
                yield cells

        return columns, lines


def short_url(url: str, width: int | None = None) -> str:
    """Host and path, without the scheme and the query. Past ``width`` its middle gives
    way to …: the host and the path's end from a ``/`` are kept whole when they fit
    (``api.openai.com/…/completions``), else the host and the path's last characters,
    else the path's last segment, else both ends."""
    text, host = _url_text(url)
    return text if width is None else _crop_url(text, host, width)


def _url_text(url: str) -> tuple[str, int]:
    """A URL's host and path and how long its host is; else ``url`` itself and 0."""
    parts = urlsplit(url)
    if not (parts.scheme and parts.netloc):
        return url, 0
    return parts.netloc + parts.path, len(parts.netloc)


def _crop_url(text: str, host_len: int, width: int) -> str:
    """:func:`short_url` of what :func:`_url_text` made."""
    if not host_len:
        return _elide(text, width)
    if cell_len(text) <= width:
        return text
    host = text[:host_len] + "/"
    last = "/" + text[host_len:].rstrip("/").rsplit("/", 1)[-1]
    room = width - 1
    if cell_len(host) + cell_len(last) <= room:
        tail = _tail(text, room - cell_len(host))
        return host + "…" + tail[tail.find("/") :]  # from a / on
    if cell_len(host) + 8 <= room:  # a host cut short would name another one
        return host + "…" + _tail(text, room - cell_len(host))
    if cell_len(last) + 6 <= room:
        return set_cell_size(text, room - cell_len(last)) + "…" + last
    return _elide(text, width)


def _elide(text: str, width: int) -> str:
    """``text`` in at most ``width`` cells, its middle replaced by …."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    front = set_cell_size(text, (width - 1) // 2)
    return front + "…" + _tail(text, width - 1 - cell_len(front))


def _file_name(name: str, width: int) -> str:
    """A file name in at most ``width`` cells: its end, where names of one series differ
    (``…-anthropic.flow``, ``…-2024-06-02.flow``)."""
    return name if cell_len(name) <= width else "…" + _tail(name, width - 1)


def _tail(text: str, width: int) -> str:
    """The end of ``text`` that fits in ``width`` cells."""
    tail = ""
    for ch in reversed(text):
        if cell_len(tail) + cell_len(ch) > width:
            break
        tail = ch + tail
    return tail


def _cell(row: Cells, column: str) -> Text:
    """A cell shown as it is kept."""
    if column == "Done":
        return _done_text(row.done)
    text: str = getattr(row, FIELD[column])
    return Text(text)


def _width(cell: Text) -> int:
    return max(cell_len(line) for line in cell.plain.split("\n"))


def _source_names(sources: list[str]) -> list[str] | None:
    """Each capture file's name, when there are several (else ``None``): the file name
    alone, with as many of its folders as tell apart files of one name."""
    if len(sources) < 2:
        return None
    parts = [PurePath(s).parts or (s,) for s in sources]
    for depth in range(1, max(len(p) for p in parts) + 1):
        short = [str(PurePath(*p[-depth:])) for p in parts]
        if len(set(short)) == len(sources):
            return short
    return sources


def _fit_one_line(natural: dict[str, int], width: int) -> dict[str, int] | None:
    """The widths of the URL and Source columns when a one-line layout fits, else ``None``:
    ``natural`` holds each column's natural width, in the layout's order."""
    flexible = [c for c in ("URL", "Source") if c in natural]
    fixed = sum(w for c, w in natural.items() if c not in flexible)
    room = width - fixed - GAP * (len(natural) - 1)
    least = {"URL": min(natural["URL"], URL_MIN)}
    if "Source" in natural:
        least["Source"] = min(natural["Source"], SOURCE_MIN)
    if room < sum(least.values()):
        return None
    url = min(natural["URL"], room - least.get("Source", 0))
    widths = {"URL": url}
    if "Source" in natural:
        widths["Source"] = min(natural["Source"], room - url)
    return widths


def _slabs(
    title: str | None, columns: Sequence[str], widths: dict[str, int], lines: Iterable[list[Text]]
) -> Iterator[Table]:
    """The table in slabs of :data:`SLAB` rows: the first with the title and the header,
    all of the same column widths."""
    first = True
    for slab in itertools.batched(lines, SLAB):
        yield _slab(title if first else None, columns, widths, slab, header=first)
        first = False
    if first:  # no rows: the header alone
        yield _slab(title, columns, widths, (), header=True)


def _slab(
    title: str | None,
    columns: Sequence[str],
    widths: dict[str, int],
    lines: Iterable[list[Text]],
    header: bool,
) -> Table:
    table = house_table(title)
    table.show_header = header
    for c in columns:
        _add_column(table, c, widths[c])
    for cells in lines:
        table.add_row(*cells)
    return table


def _request_plain(row: Cells) -> str:
    """The text of :func:`_request_line`."""
    return " ".join([*(c for c in (row.method, row.status) if c != "—"), row.dialect])


def _request_line(row: Cells) -> Text:
    """The second line of a stacked row: method, status and dialect, those that are known."""
    known = [Text(cell) for cell in (row.method, row.status) if cell != "—"]
    return Text(" ").join([*known, Text(row.dialect, style="cyan")])


def _add_column(table: Table, name: str, width: int | None = None) -> None:
    justify: JustifyMethod = "right" if name in RIGHT else "left"
    style = "dim" if name == "#" else None
    table.add_column(name, justify=justify, no_wrap=True, style=style, width=width)


def _gaps(gaps: dict[str, float] | None) -> str:
    return "—" if gaps is None else "/".join(ms(gaps[k]) for k in ("p50", "p90", "p99", "max"))


def footnotes(records: Iterable[dict[str, Any]]) -> Text:
    """What the table cannot say in a cell: untimed streams, errors, the column names."""
    untimed, errors = [], []
    for i, r in enumerate(records, 1):
        if r["timing"] == "none":
            untimed.append(i)
        if r["error"]:
            errors.append((i, r["error"]))
    return _footnotes(untimed, errors)


def _footnotes(untimed: list[int], errors: list[tuple[int, str]]) -> Text:
    lines = Text(
        "Times in ms from the request start: TTFB first body byte, TTFT first event with "
        "output, Total last event; gaps between events that carry output.",
        style="dim",
    )
    if untimed:
        lines.append(
            f"\nNo per-chunk timing for stream {', '.join(map(str, untimed))}: the capture did "
            "not record chunk arrival times (sse-inspect's addon does), so event times are "
            "unknown; TTFB and Total are then the response's start and end.",
            style="yellow",
        )
    for i, error in errors:
        lines.append(f"\nStream {i}: {error}", style="red")
    return lines


def house_table(title: str | None, expand: bool = False) -> Table:
    """The house style: a rule under the header and no boxes, so wide rows still fit."""
    return Table(
        title=None if title is None else Text(title),  # a path or URL, never markup
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
        expand=expand,
    )


def _done(r: dict[str, Any]) -> str:
    if r["complete"]:
        return "yes"
    return "cut" if r["error"] else "open" if r["unterminated"] else "no"


def _done_text(done: str) -> Text:
    return Text(done, style="green" if done == "yes" else "red")


def _complete(r: dict[str, Any]) -> Text:
    return _done_text(_done(r))


# -- the event list -----------------------------------------------------------------------

EVENT_MIN = 8
"""The event name gives way (cut with …) down to this, so that what it carried shows."""
BODY_MIN = 24
ID_WIDTH = 16
KIND_STYLE = {"text": "green", "reasoning": "magenta", "tool": "cyan", "refusal": "yellow"}
ENDS = frozenset(
    {
        "message_stop",  # Anthropic
        "response.completed",  # OpenAI Responses
        "response.incomplete",
        "response.failed",
        "response.done",
        "message_stream_complete",  # ChatGPT web
    }
)
"""Event types that end a stream in some dialect (``[DONE]`` is shown as itself)."""

Row = tuple[str, Text, str, Text]


class EventsTable:
    """Every event of one stream in order, with the comments a browser would hide.

    Each event shows what it carried as its dialect read it (``text "Hello"``,
    ``tool get_weather {"ci``), or the kind of event it is when it carried no output
    (``usage``, ``[DONE]``, ``end``, its type); with ``raw`` its data instead. One line per
    event, cut with …; ``full`` folds the cells onto more lines and cuts nothing.
    """

    def __init__(self, a: Analysis, number: int, raw: bool = False, full: bool = False) -> None:
        self.analysis = a
        self.number = number
        self.raw = raw
        self.full = full
        self.deltas: dict[int, list[Delta]] = {}
        for d in a.reading.deltas:
            self.deltas.setdefault(d.event, []).append(d)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        rows = list(self.rows(None if self.full else width))
        ids = any(ident for _, _, ident, _ in rows)  # no ID column when no event has one
        offset = max(cell_len(t) for t in ("+ms", *(t for t, _, _, _ in rows)))
        event = max(cell_len(e) for e in ("Event", *(e.plain for _, e, _, _ in rows)))
        ident = min(ID_WIDTH, max(cell_len(i) for i in ("ID", *(i for _, _, i, _ in rows))))
        room = width - offset - event - 2 * GAP - (ident + GAP if ids else 0)
        if room < BODY_MIN:  # the event name gives way first
            event = max(EVENT_MIN, event - (BODY_MIN - room))
        s = self.analysis.stream
        title = f"Stream {self.number}: {s.method or ''} {s.url or s.source}".replace("  ", " ")
        table = house_table(title, expand=True)
        overflow: OverflowMethod = "fold" if self.full else "ellipsis"
        table.add_column("+ms", justify="right", no_wrap=True)
        table.add_column("Event", width=event, no_wrap=not self.full, overflow=overflow)
        if ids:
            table.add_column("ID", no_wrap=True, overflow="ellipsis", max_width=ID_WIDTH)
        body = "Data" if self.raw else "Carried"
        table.add_column(body, ratio=1, no_wrap=not self.full, overflow=overflow)
        for t, name, i, cell in rows:
            if not self.full and cell_len(name.plain) > event:  # the end names it best
                name = Text(_elide(name.plain, event), style=name.style)
            table.add_row(t, name, *([Text(i)] if ids else []), cell)
        retry = self.analysis.decoded.retry
        if retry is not None:
            table.caption = f"retry: {retry} ms"
        yield table

    def rows(self, cut: int | None) -> Iterator[Row]:
        """The events and comments in the order they came; cells cut past ``cut``."""
        a = self.analysis
        f = a.decoded
        origin = a.stream.request_start if a.cadence.timing == "per-chunk" else None
        comments = iter(f.comments)
        pending = next(comments, None)
        for index, e in enumerate(f.events):
            while pending is not None and pending.after <= index:
                yield _comment_row(pending, origin, cut)
                pending = next(comments, None)
            yield _offset(e.t, origin), Text(e.event, style="cyan"), e.id, self.body(e, index, cut)
        while pending is not None:
            yield _comment_row(pending, origin, cut)
            pending = next(comments, None)
        if f.unterminated is not None:
            e = f.unterminated
            # The dialect read it only when nothing was dispatched (the lenient path);
            # else what it would have carried is unknown, and its data is shown.
            body = self.body(e, 0, cut) if not f.events else Text(shorten(e.data, cut))
            mark = Text("(unterminated) ", style="red") + body
            yield _offset(e.t, origin), Text(e.event, style="cyan"), e.id, mark

    def body(self, e: Event, index: int, cut: int | None) -> Text:
        if self.raw:
            return Text(shorten(e.data, cut))
        return _carried(e, self.deltas.get(index, []), cut)


def events_table(a: Analysis, number: int, raw: bool = False, full: bool = False) -> EventsTable:
    """Every event of one stream (see :class:`EventsTable`)."""
    return EventsTable(a, number, raw=raw, full=full)


def _carried(e: Event, deltas: list[Delta], cut: int | None) -> Text:
    """What an event carried as its dialect read it, else what kind of event it is."""
    if not deltas:
        return Text(event_kind(e), style="dim")
    out = Text()
    for d in deltas:
        if out:
            out.append("  ")
        if d.choice:
            out.append(f"[{d.choice}] ", style="dim")
        out.append(d.kind, style=KIND_STYLE.get(d.kind, ""))
        if d.replace:
            out.append(" (rewrite)", style="dim")
        if d.kind == TOOL:
            if d.name:
                out.append(f" {d.name}", style="bold")
            if d.text:
                out.append(" " + shorten(d.text, cut))
        else:
            out.append(f' "{shorten(d.text, cut)}"')
    return out


def event_kind(e: Event) -> str:
    """The kind of an event that carried no output, from its data and name alone."""
    data = e.data.strip()
    if data == "[DONE]":
        return data
    try:
        obj = json.loads(data) if data.startswith("{") else None
    except (ValueError, RecursionError):
        obj = None
    if not isinstance(obj, dict):
        return e.event
    kind = obj.get("type") if e.event == "message" else e.event
    kind = kind if isinstance(kind, str) and kind else e.event
    if kind in ENDS:
        return "end"
    if kind == "error" or obj.get("error"):
        return "error"
    delta = obj.get("delta")
    if isinstance(delta, dict) and isinstance(delta.get("stop_reason"), str):
        return f"finish {delta['stop_reason']}"  # Anthropic's message_delta
    choices = obj.get("choices") or obj.get("candidates")
    if not choices and ("usage" in obj or "usageMetadata" in obj):
        return "usage"
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        choice = choices[0]
        index = choice.get("index")
        which = f"[{index}] " if isinstance(index, int) and index else ""
        reason = choice.get("finish_reason") or choice.get("finishReason")
        if isinstance(reason, str):
            return f"{which}finish {reason}"
        delta = choice.get("delta")
        if isinstance(delta, dict) and isinstance(delta.get("role"), str):
            return f"{which}role {delta['role']}"
    return kind


def _offset(t: float, origin: float | None) -> str:
    return "—" if origin is None else ms((t - origin) * 1e3)


def _comment_row(c: Comment, origin: float | None, cut: int | None) -> Row:
    return _offset(c.t, origin), Text(":", style="dim"), "", Text(shorten(c.text, cut), "dim")


# -- the details of one stream ------------------------------------------------------------

SPARK = "▁▂▃▄▅▆▇█"


class CadenceStrip:
    """Gaps over time in one line: each cell is a slice of the stream, its height the
    longest gap ending there (relative to the longest non-stall gap); stalls in red.

    As wide as the console allows, after the label and the span that follow the cells.
    """

    def __init__(self, arrivals_ms: list[float] | None, stall_ms: float, label: str = "") -> None:
        # Finite times only: int() of NaN or infinity raises (the loaders give none).
        self.arrivals_ms = None if arrivals_ms is None else [a for a in arrivals_ms if isfinite(a)]
        self.stall_ms = stall_ms
        self.label = label

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        line = Text(self.label, style="bold")
        arrivals = self.arrivals_ms
        if not arrivals or len(arrivals) < 2:
            yield line + Text("(fewer than two arrivals)", style="dim")
            return
        span_note = Text(f"  {ms(arrivals[0])} to {ms(arrivals[-1])} ms", style="dim")
        room = options.max_width - len(line) - len(span_note)
        line.append_text(self.cells(max(1, room)))
        yield line + span_note

    def cells(self, width: int) -> Text:
        """The strip itself, at most ``width`` cells (one per gap when there are fewer)."""
        arrivals, stall_ms = self.arrivals_ms or [], self.stall_ms
        first, last = arrivals[0], arrivals[-1]
        span = (last - first) or 1.0
        cells = min(width, len(arrivals) - 1)
        worst = [0.0] * cells
        for a, b in itertools.pairwise(arrivals):
            i = min(cells - 1, int((b - first) / span * cells))
            worst[i] = max(worst[i], b - a)
        calm = max((g for g in worst if g <= stall_ms), default=1.0) or 1.0
        strip = Text()
        top = len(SPARK) - 1
        for g in worst:
            if g > stall_ms:
                strip.append("█", style="bold red")
            elif g == 0:
                strip.append(" ")
            else:
                strip.append(SPARK[min(top, int(g / calm * top))], style="cyan")
        return strip


class Figures:
    """Label and value pairs in a grid: three pairs a line, or two, or one, as many as the
    console holds without cutting a label or a value."""

    PAD = 3

    def __init__(self, pairs: list[tuple[str, str]]) -> None:
        self.pairs = pairs

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        across = next((n for n in (3, 2) if self.width(n) <= options.max_width), 1)
        grid = Table.grid(padding=(0, self.PAD))
        for _ in range(across):
            grid.add_column(style="dim", no_wrap=True)
            grid.add_column(justify="right", no_wrap=True)
        for i in range(0, len(self.pairs), across):
            grid.add_row(*(cell for pair in self.pairs[i : i + across] for cell in pair))
        yield grid

    def width(self, across: int) -> int:
        """The grid's width with ``across`` pairs a line."""
        total = self.PAD * (2 * across - 1)
        for j in range(across):
            column = self.pairs[j::across]
            total += max(cell_len(name) for name, _ in column)
            total += max(cell_len(value) for _, value in column)
        return total


ANSWER_CHARS = 1200


def stream_details(a: Analysis, number: int, full: bool = False) -> Group:
    """One stream in full: what it was, how it arrived, and the answer it carried."""
    r = stream_record(a)
    parts: list[RenderableType] = [_header(r, number), _figures(r), Text()]
    c = a.cadence
    if c.timing == "per-chunk":
        parts.append(CadenceStrip(c.arrivals_ms, c.stall_ms, label="cadence "))
        if c.stalls:
            where = ", ".join(f"{ms(s.gap_ms)} ms at {ms(s.at_ms)} ms" for s in c.stalls[:5])
            more = f" (+{len(c.stalls) - 5} more)" if len(c.stalls) > 5 else ""
            parts.append(Text(f"stalls: {where}{more}", style="red"))
    first = a.answer.first
    if r["reasoning"]:
        parts.append(_panel("reasoning", r["reasoning"], full, "dim"))
    if a.dialect != "generic":
        parts.append(_panel("answer", first.text or "(no text)", full, ""))
    if first.refusal:
        parts.append(_panel("refusal", first.refusal, full, "yellow"))
    for call in r["tool_calls"] or []:
        parts.append(_panel(f"tool call: {call['name']}", call["arguments"] or "{}", full, "cyan"))
    for choice in r.get("choices", [])[1:]:
        parts.append(_panel(f"choice {choice['index']}", choice["text"], full, ""))
    for note in r["notes"]:
        parts.append(Text(f"note: {note}", style="yellow"))
    if r["error"]:
        parts.append(Text(f"error: {r['error']}", style="bold red"))
    return Group(*parts, Text())


def _header(r: dict[str, Any], number: int) -> Text:
    head = Text(f"Stream {number}: ", style="bold")
    head.append(f"{r['method'] or ''} {r['url'] or r['source']}".strip(), style="bold")
    bits = [r["dialect"]] + [x for x in (r["model"], r["status"] and str(r["status"])) if x]
    head.append("  " + " · ".join(bits), style="cyan")
    head.append("  ")
    head.append_text(_complete(r))
    if r["finish_reason"]:
        head.append(f" ({r['finish_reason']})", style="dim")
    return head


def _figures(r: dict[str, Any]) -> Figures:
    return Figures(
        [
            ("TTFB", ms(r["ttfb_ms"])),
            ("first event", ms(r["ttf_event_ms"])),
            ("TTFT", ms(r["ttft_ms"])),
            ("first answer text", ms(r["ttft_answer_ms"])),
            ("last event", ms(r["duration_ms"])),
            ("output tokens", f"{r['output_tokens']} ({r['tokens_source']})"),
            ("tokens/s", "—" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.1f}"),
            ("ITL", ms(r["itl_ms"])),
            ("TPOT", ms(r["tpot_ms"])),
            ("gaps p50/p90/p99/max", _gaps(r["gap_ms"])),
            ("stalls", "—" if r["stalls"] is None else f"{r['stalls']} over {ms(r['stall_ms'])}"),
        ]
    )


def _panel(title: str, body: str, full: bool, style: str) -> Panel:
    if not full and len(body) > ANSWER_CHARS:
        cut = len(body) - ANSWER_CHARS
        body = body[:ANSWER_CHARS] + f"… ({cut:,} more characters; --full shows all)"
    return Panel(Text(body, style=style), title=title, title_align="left", border_style="dim")
