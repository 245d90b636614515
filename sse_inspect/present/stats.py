"""What ``stats`` and ``compare`` show: rich tables and one JSON document each.

Both read the figures of each stream's Contract 4 record (:func:`figures_record`, the
slim part of :func:`.json.stream_record` that the groups need), so ``stats`` says of a
group what ``analyze --json`` says of its streams. The tables are narrow (a group's
figures are rows, not columns), so they fit an 80-column terminal whatever the grouping.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.console import Group as Rows
from rich.console import RenderableType
from rich.text import Text

from ..analysis.analysis import Analysis
from ..analysis.compare import CONFIDENCE, RESAMPLES, TEST, GroupComparison
from ..analysis.stats import FIGURES, MIN_STREAMS, UNKNOWN, Group, Spread
from .json import VERSION, stream_record
from .terminal import house_table
from .units import ms

__all__ = [
    "FIGURE_DOCS",
    "LABELS",
    "PERCENTILES",
    "compare_document",
    "compare_table",
    "figures_record",
    "stats_document",
    "stats_table",
]

RECORD_KEYS = ("source", "url", "dialect", "model", "complete", *FIGURES)
"""What :func:`figures_record` keeps of a record: the groups' fields and the figures."""

LABELS = {
    "ttfb_ms": "TTFB ms",
    "ttft_ms": "TTFT ms",
    "ttft_answer_ms": "TTFT answer ms",
    "duration_ms": "Total ms",
    "itl_ms": "ITL ms",
    "tpot_ms": "TPOT ms",
    "tokens_per_s": "Tokens/s",
    "stalls": "Stalls",
}
FIGURE_DOCS = {
    "ttfb_ms": "request start to the first body byte",
    "ttft_ms": "request start to the first event carrying output",
    "ttft_answer_ms": "request start to the first visible answer text",
    "duration_ms": "request start to the last event",
    "itl_ms": "mean gap between tokens of a stream: (last - first content event) / (tokens - 1)",
    "tpot_ms": "time per output token after the first: (duration - ttft) / (tokens - 1)",
    "tokens_per_s": "output tokens / (last - first content event)",
    "stalls": "gaps longer than --stall-ms in one stream",
}
"""Per figure, what one stream's value is (as the README's table of figures says)."""
PERCENTILES = (
    "linear interpolation between closest ranks (NumPy's default 'linear', DuckDB's "
    "quantile_cont, as vLLM bench serve reports)"
)


def figures_record(a: Analysis) -> dict[str, Any]:
    """What ``stats`` and ``compare`` keep of a stream: :data:`RECORD_KEYS` of its Contract
    4 record. A module-level function, so ``--jobs`` workers make it (and send back only
    this)."""
    record = stream_record(a)
    return {k: record[k] for k in RECORD_KEYS}


# -- stats ---------------------------------------------------------------------------------


def stats_table(groups: Sequence[Group], title: str | None = None) -> RenderableType:
    """One row per figure of each group, the group's name and counts beside its first."""
    table = house_table(title)
    table.add_column("Group", overflow="fold")
    table.add_column("Figure", no_wrap=True)
    for name in ("n", "p50", "p90", "p99", "max", "mean"):
        table.add_column(name, justify="right", no_wrap=True)
    for i, g in enumerate(groups):
        if i:
            table.add_section()
        head = [Text(_key_text(g.by, g.key), style="bold")]
        counts = Text(f"{g.streams} stream{'s' if g.streams != 1 else ''}: {g.complete} complete")
        if g.cut:
            counts.append(f", {g.cut} cut", style="red")
        head.append(counts)
        if not g.meaningful:
            head.append(Text(f"< {MIN_STREAMS}: percentiles not meaningful", style="yellow"))
        style = "dim" if not g.meaningful else None
        for j, name in enumerate(FIGURES):
            s = g.figures.get(name) or Spread(0, None, None, None, None, None)
            fmt = _format(name)
            cells = [fmt(v) for v in (s.p50, s.p90, s.p99, s.max, s.mean)]
            beside = head[j] if j < len(head) else ""  # the group's lines beside its first rows
            table.add_row(beside, LABELS[name], str(s.n), *cells, style=style)
    notes = Text(
        f"Percentiles over the streams of each group, by {PERCENTILES}; n: streams with "
        "the figure known. Times in ms from the request start (TTFB first body byte, TTFT "
        "first output, Total last event); ITL/TPOT per stream; Stalls per stream.",
        style="dim",
    )
    return Rows(table, notes)


def stats_document(by: Sequence[str], groups: Sequence[Group]) -> dict[str, Any]:
    """The ``stats --json`` document (the README documents every field)."""
    return {
        "version": VERSION,
        "by": list(by),
        "percentiles": PERCENTILES,
        "min_streams": MIN_STREAMS,
        "figures": dict(FIGURE_DOCS),
        "groups": [
            {
                "key": _key_json(g.by, g.key),
                "streams": g.streams,
                "complete": g.complete,
                "cut": g.cut,
                "meaningful": g.meaningful,
                "figures": {name: _spread_json(g.figures[name]) for name in FIGURES},
            }
            for g in groups
        ],
    }


def _spread_json(s: Spread) -> dict[str, Any]:
    return {
        "n": s.n,
        **{k: _round(getattr(s, k)) for k in ("p50", "p90", "p99", "max", "mean")},
    }


# -- compare -------------------------------------------------------------------------------


def compare_table(
    by: Sequence[str],
    groups: Sequence[GroupComparison],
    a_names: Sequence[str],
    b_names: Sequence[str],
) -> RenderableType:
    """Per group on both sides, per figure: the medians, B - A, B / A, the interval and
    the better side; then the groups that only one side has."""
    table = house_table(None)
    table.add_column("Group", overflow="fold")
    table.add_column("Figure", no_wrap=True)
    for name in ("n A/B", "A p50", "B p50", "B-A", "B/A", f"{CONFIDENCE:g}% CI of B-A"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("Better", no_wrap=True)
    both = [g for g in groups if g.present == "both"]
    for i, g in enumerate(both):
        if i:
            table.add_section()
        for j, f in enumerate(g.figures):
            fmt = _format(f.figure)
            ci = "—" if f.ci_low is None else f"{fmt(f.ci_low)} … {fmt(f.ci_high)}"
            if f.significant:
                verdict = Text(f"{f.better} ◀" if f.better == "A" else f"▶ {f.better}", "green")
            elif f.diff is not None and not f.meaningful:
                verdict = Text(f"n<{MIN_STREAMS}", style="yellow")
            else:
                verdict = Text("noise" if f.diff is not None else "—", style="dim")
            table.add_row(
                Text(_key_text(by, g.key), style="bold") if j == 0 else "",
                LABELS[f.figure],
                f"{f.n_a}/{f.n_b}",
                fmt(f.a),
                fmt(f.b),
                _signed(fmt, f.diff),
                "—" if f.ratio is None else f"{f.ratio:.2f}x",
                ci,
                verdict,
                style=None if f.significant else "dim",
            )
    lines: list[RenderableType] = [
        Text(f"A: {', '.join(a_names)}\nB: {', '.join(b_names)}"),
        table if both else Text("No group is on both sides.", style="yellow"),
    ]
    for side in ("A", "B"):
        only = [_key_text(by, g.key) for g in groups if g.present == side]
        if only:
            lines.append(Text(f"Only in {side}: {'; '.join(only)}", style="yellow"))
    lines.append(
        Text(
            f"Test: {TEST}. Better: the side whose median is better (lower, but higher "
            "for Tokens/s), only when significant; noise: the interval holds 0.",
            style="dim",
        )
    )
    return Rows(*lines)


def compare_document(
    by: Sequence[str],
    groups: Sequence[GroupComparison],
    a_names: Sequence[str],
    b_names: Sequence[str],
    seed: int,
) -> dict[str, Any]:
    """The ``compare --json`` document (the README documents every field)."""
    return {
        "version": VERSION,
        "by": list(by),
        "a": list(a_names),
        "b": list(b_names),
        "test": TEST,
        "resamples": RESAMPLES,
        "confidence": CONFIDENCE,
        "seed": seed,
        "min_streams": MIN_STREAMS,
        "groups": [
            {
                "key": _key_json(by, g.key),
                "present": g.present,
                "figures": {
                    f.figure: {
                        "n_a": f.n_a,
                        "n_b": f.n_b,
                        "a": _round(f.a),
                        "b": _round(f.b),
                        "diff": _round(f.diff),
                        "ratio": _round(f.ratio, 4),
                        "ci": None if f.ci_low is None else [_round(f.ci_low), _round(f.ci_high)],
                        "significant": f.significant,
                        "better": f.better,
                        "lower_is_better": f.lower_is_better,
                        "meaningful": f.meaningful,
                    }
                    for f in g.figures
                },
            }
            for g in groups
        ],
    }


# -- shared --------------------------------------------------------------------------------


def _key_text(by: Sequence[str], key: Sequence[str]) -> str:
    return (
        " · ".join(
            v if v != UNKNOWN else f"({name} unknown)" for name, v in zip(by, key, strict=True)
        )
        or "all"
    )


def _key_json(by: Sequence[str], key: Sequence[str]) -> dict[str, str | None]:
    return {name: None if v == UNKNOWN else v for name, v in zip(by, key, strict=True)}


def _format(figure: str) -> Callable[[float | None], str]:
    return ms if figure.endswith("_ms") else _plain


def _plain(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f}"


def _signed(fmt: Callable[[float | None], str], value: float | None) -> str:
    if value is None:
        return "—"
    text = fmt(abs(value))
    return f"+{text}" if value > 0 else f"-{text}" if value < 0 else text


def _round(value: float | None, digits: int = 3) -> float | None:
    return None if value is None else round(value, digits)
