"""Terminal renderables: the streams table, the event list and the details of one stream.

Each is a rich renderable built from one source: the table from the Contract 4 records
(:mod:`.json`), which hold no events, so a long capture is summed up in flat memory; the
event list and the details from one :class:`Analysis`. Renderables that depend on the
width measure the console they are printed on; the CLI only decides where to print them.
"""

from __future__ import annotations

import itertools
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..analysis.analysis import Analysis
from ..sse import Comment, Event
from .json import stream_record
from .units import ms, shorten

__all__ = ["CadenceStrip", "StreamsTable", "events_table", "footnotes", "stream_details"]

URL_WIDTH = 60
COMPACT_BELOW = 120


class StreamsTable:
    """One row per event stream: what was exchanged and how it arrived.

    On a console narrower than ``COMPACT_BELOW`` columns it keeps the essentials (no
    status, TTFB or gaps) and puts the URL last, where it can fold onto more lines instead
    of squeezing every figure.
    """

    def __init__(self, records: list[dict[str, Any]], title: str | None = None) -> None:
        self.records = records
        self.title = title

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _streams_table(self.records, self.title, options.max_width < COMPACT_BELOW)


def _streams_table(records: list[dict[str, Any]], title: str | None, compact: bool) -> Table:
    table = _table(title)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("Method", no_wrap=True)
    if not compact:
        # The one column that gives way when space is short (cut with …).
        table.add_column("URL", overflow="ellipsis", min_width=16, max_width=URL_WIDTH)
        table.add_column("Status", justify="right", no_wrap=True)
    table.add_column("Dialect", no_wrap=True)
    table.add_column("Events", justify="right", no_wrap=True)
    table.add_column("Done", no_wrap=True)
    figures = ("TTFT", "Total") if compact else ("TTFB", "TTFT", "Total", "Gap p50/p90/p99/max")
    for name in (*figures, "Stalls"):
        table.add_column(name, justify="right", no_wrap=True)
    if compact:
        table.add_column("URL", overflow="fold")
    for i, r in enumerate(records, 1):
        gaps = r["gap_ms"]
        url = r["url"] or r["source"]
        cells: list[str | Text] = [str(i), r["method"] or "—"]
        if not compact:
            cells += [url, "—" if r["status"] is None else str(r["status"])]
        cells += [r["dialect"], str(r["events"]), _complete(r)]
        if compact:
            cells += [ms(r["ttft_ms"]), ms(r["duration_ms"])]
        else:
            cells += [ms(r[k]) for k in ("ttfb_ms", "ttft_ms", "duration_ms")]
            cells.append(
                "—"
                if gaps is None
                else "/".join(ms(gaps[k], "") for k in ("p50", "p90", "p99", "max"))
            )
        cells.append("—" if r["stalls"] is None else str(r["stalls"]))
        if compact:
            cells.append(url)
        table.add_row(*cells)
    return table


def footnotes(records: list[dict[str, Any]]) -> Text:
    """What the table cannot say in a cell: untimed streams, errors, the column names."""
    lines = Text(
        "Times in ms from the request start: TTFB first body byte, TTFT first event with "
        "output, Total last event; gaps between events that carry output.",
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
    s, f = a.stream, a.decoded
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


SPARK = "▁▂▃▄▅▆▇█"


class CadenceStrip:
    """Gaps over time in one line: each cell is a slice of the stream, its height the
    longest gap ending there (relative to the longest non-stall gap); stalls in red.

    As wide as the console allows, after the label and the span that follow the cells.
    """

    def __init__(self, arrivals_ms: list[float] | None, stall_ms: float, label: str = "") -> None:
        self.arrivals_ms = arrivals_ms
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


def _figures(r: dict[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 3))
    gaps = r["gap_ms"]
    rows = [
        ("TTFB", ms(r["ttfb_ms"])),
        ("first event", ms(r["ttf_event_ms"])),
        ("TTFT", ms(r["ttft_ms"])),
        ("first answer text", ms(r["ttft_answer_ms"])),
        ("last event", ms(r["duration_ms"])),
        ("output tokens", f"{r['output_tokens']} ({r['tokens_source']})"),
        ("tokens/s", "—" if r["tokens_per_s"] is None else f"{r['tokens_per_s']:.1f}"),
        ("ITL", ms(r["itl_ms"])),
        ("TPOT", ms(r["tpot_ms"])),
        ("gaps p50/p90/p99/max", "—" if gaps is None else "/".join(ms(gaps[k]) for k in gaps)),
        ("stalls", "—" if r["stalls"] is None else f"{r['stalls']} over {ms(r['stall_ms'])}"),
    ]
    for _ in range(3):
        grid.add_column(style="dim")
        grid.add_column(justify="right")
    for i in range(0, len(rows), 3):
        cells: list[str] = []
        for name, value in rows[i : i + 3]:
            cells += [name, value]
        grid.add_row(*cells)
    return grid


def _panel(title: str, body: str, full: bool, style: str) -> Panel:
    if not full and len(body) > ANSWER_CHARS:
        cut = len(body) - ANSWER_CHARS
        body = body[:ANSWER_CHARS] + f"… ({cut:,} more characters; --full shows all)"
    return Panel(Text(body, style=style), title=title, title_align="left", border_style="dim")
