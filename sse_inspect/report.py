"""Terminal renderables: the stream summary table and the event list of one stream.

Each function returns a rich renderable built from plain data (the JSON records of
:mod:`sse_inspect.record`, or an :class:`Analysis`); the CLI decides where to print it.
"""

from __future__ import annotations

import itertools
from typing import Any

from rich import box
from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .analysis import Analysis
from .sse import Comment, Event

DATA_WIDTH = 120
URL_WIDTH = 60
COMPACT_BELOW = 120


def streams_table(
    records: list[dict[str, Any]], title: str | None = None, width: int | None = None
) -> Table:
    """One row per event stream: what was exchanged and how it arrived.

    Below ``COMPACT_BELOW`` columns it keeps the essentials (no status, TTFB or gaps) and
    puts the URL last, where it can fold onto more lines instead of squeezing every figure.
    """
    compact = width is not None and width < COMPACT_BELOW
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


SPARK = "▁▂▃▄▅▆▇█"


def cadence_strip(arrivals_ms: list[float] | None, stall_ms: float, width: int = 60) -> Text:
    """Gaps over time in one line: each cell is a slice of the stream, its height the
    longest gap ending there (relative to the longest non-stall gap); stalls in red."""
    if not arrivals_ms or len(arrivals_ms) < 2:
        return Text("(fewer than two arrivals)", style="dim")
    first, last = arrivals_ms[0], arrivals_ms[-1]
    span = (last - first) or 1.0
    cells = min(width, len(arrivals_ms) - 1)
    worst = [0.0] * cells
    for a, b in itertools.pairwise(arrivals_ms):
        i = min(cells - 1, int((b - first) / span * cells))
        worst[i] = max(worst[i], b - a)
    calm = max((g for g in worst if g <= stall_ms), default=1.0) or 1.0
    strip = Text()
    for g in worst:
        if g > stall_ms:
            strip.append("█", style="bold red")
        elif g == 0:
            strip.append(" ")
        else:
            strip.append(SPARK[min(len(SPARK) - 1, int(g / calm * (len(SPARK) - 1)))], style="cyan")
    strip.append(f"  {ms(first)} to {ms(last)} ms", style="dim")
    return strip


ANSWER_CHARS = 1200


def stream_details(a: Analysis, r: dict[str, Any], number: int, full: bool = False) -> Group:
    """One stream in full: what it was, how it arrived, and the answer it carried."""
    parts: list[RenderableType] = [_header(r, number), _figures(r), Text()]
    c = a.cadence
    if c.timing == "per-chunk":
        parts += [Text("cadence ", style="bold") + cadence_strip(c.arrivals_ms, c.stall_ms)]
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
