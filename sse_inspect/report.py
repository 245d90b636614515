"""Terminal renderables: the stream summary table and the event list of one stream.

Each function returns a rich renderable built from plain data (the JSON records of
:mod:`sse_inspect.record`, or an :class:`Analysis`); the CLI decides where to print it.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.table import Table
from rich.text import Text

from .analysis import Analysis
from .sse import Comment, Event

DATA_WIDTH = 120
URL_WIDTH = 60


def streams_table(records: list[dict[str, Any]], title: str | None = None) -> Table:
    """One row per event stream: what was exchanged and how it arrived."""
    table = _table(title)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("Method", no_wrap=True)
    # The one column that gives way when space is short (cut with …, never wrapped:
    # a URL has no spaces to wrap at).
    table.add_column("URL", overflow="ellipsis", min_width=16, max_width=URL_WIDTH)
    for name in ("Status", "Events"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Done", no_wrap=True)
    for name in ("TTFB", "TTFE", "Total", "Gap p50/p90/p99/max", "Stalls"):
        table.add_column(name, justify="right", no_wrap=True)
    for i, r in enumerate(records, 1):
        gaps = r["gap_ms"]
        table.add_row(
            str(i),
            r["method"] or "—",
            r["url"] or r["source"],
            "—" if r["status"] is None else str(r["status"]),
            str(r["events"]),
            _complete(r),
            *(ms(r[k]) for k in ("ttfb_ms", "ttf_event_ms", "duration_ms")),
            "—"
            if gaps is None
            else "/".join(ms(gaps[k], "") for k in ("p50", "p90", "p99", "max")),
            "—" if r["stalls"] is None else str(r["stalls"]),
        )
    return table


def footnotes(records: list[dict[str, Any]]) -> Text:
    """What the table cannot say in a cell: untimed streams, errors, the column names."""
    lines = Text(
        "Times in ms from the request start: TTFB first body byte, TTFE first event, Total last "
        "event; gaps between events that carry data.",
        style="dim",
    )
    untimed = [str(i) for i, r in enumerate(records, 1) if r["timing"] == "none"]
    if untimed:
        lines.append(
            f"\nNo per-chunk timing for stream {', '.join(untimed)}: the capture did not record "
            "chunk arrival times (sse-inspect's addon does), so event times are unknown.",
            style="yellow",
        )
    for i, r in enumerate(records, 1):
        if r["error"]:
            lines.append(f"\nStream {i}: {r['error']}", style="red")
    return lines


def events_table(a: Analysis, number: int) -> Table:
    """Every event of one stream in order, with the comments a browser would hide."""
    s, f = a.stream, a.frames
    title = f"Stream {number}: {s.method or ''} {s.url or s.source}".replace("  ", " ")
    table = _table(title, expand=True)
    table.add_column("+ms", justify="right", no_wrap=True)
    table.add_column("Event", no_wrap=True)
    table.add_column("ID", overflow="ellipsis", max_width=16, no_wrap=True)
    table.add_column("Data", overflow="ellipsis", no_wrap=True, ratio=1)
    origin = s.request_start if a.cadence.timing == "per-chunk" else None
    comments = iter(f.comments)
    pending = next(comments, None)
    for index, event in enumerate(f.events):
        while pending is not None and pending.after <= index:
            table.add_row(*_comment_row(pending, origin))
            pending = next(comments, None)
        table.add_row(*_event_row(event, origin))
    while pending is not None:
        table.add_row(*_comment_row(pending, origin))
        pending = next(comments, None)
    if f.unterminated is not None:
        row = _event_row(f.unterminated, origin)
        table.add_row(row[0], Text("(unterminated) ", style="red") + row[1], row[2], row[3])
    if f.retry is not None:
        table.caption = f"retry: {f.retry} ms"
    return table


def ms(value: float | None, thousands: str = ",") -> str:
    """Milliseconds for reading: whole ms from 10 up, one decimal below."""
    if value is None:
        return "—"
    if abs(value) < 10:
        return f"{value:.1f}"
    return f"{value:,.0f}".replace(",", thousands)


def shorten(data: str, width: int = DATA_WIDTH) -> str:
    """One line, newlines shown as ⏎, cut with … past ``width``."""
    flat = data.replace("\r", "\\r").replace("\n", "⏎")
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _table(title: str | None, expand: bool = False) -> Table:
    """The house style: a rule under the header and no boxes, so wide rows still fit."""
    return Table(
        title=title,
        title_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        collapse_padding=True,
        pad_edge=False,
        expand=expand,
    )


def _complete(r: dict[str, Any]) -> Text:
    if r["complete"]:
        return Text("yes", style="green")
    why = "cut" if r["error"] else "open" if r["unterminated"] else "no"
    return Text(why, style="red")


def _offset(t: float, origin: float | None) -> str:
    return "—" if origin is None else ms((t - origin) * 1e3)


def _event_row(e: Event, origin: float | None) -> tuple[str, Text, str, Text]:
    return _offset(e.t, origin), Text(e.event, style="cyan"), e.id, Text(shorten(e.data))


def _comment_row(c: Comment, origin: float | None) -> tuple[str, Text, str, Text]:
    return _offset(c.t, origin), Text(":", style="dim"), "", Text(shorten(c.text), style="dim")
