"""The report's charts as SVG text: a token timeline, a histogram, a strip of dots.

Hand-made, not matplotlib's SVG output nor a Vega-Lite spec with its library inlined: a
chart here is a few kilobytes of paths and text, where matplotlib writes every glyph as a
path (tens of kilobytes per chart, fixed colours, and numpy plus a second of import for a
CLI command) and Vega needs ~800 KB of script in a page meant to be mailed. The charts
we need are simple (a step line, bars, dots, a few labelled lines), so a hundred lines
of geometry draw them exactly, and the page's CSS themes them light and dark.

Every chart is a plain function of plain data returning one ``<svg>`` element that:

- has a ``viewBox`` and no fixed size, so it scales to its container (a phone too);
- names its parts by class (``line-text``, ``bar``, ``stall``, ...), never by colour;
- clamps every coordinate into its ``viewBox`` (a value off the scale sits at its edge);
- escapes every text it is given (titles, labels): numbers are written by :func:`_n`, so
  nothing but escaped text and numbers reaches the markup. Links are only ``#anchors``.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "HALF_WIDTH",
    "HEIGHT",
    "MAX_COLUMNS",
    "WIDTH",
    "Bin",
    "Dot",
    "Mark",
    "Point",
    "Span",
    "bins",
    "histogram",
    "nice_ticks",
    "strip",
    "timeline",
]

WIDTH, HEIGHT = 880, 260
"""The timeline's ``viewBox``: a chart as wide as the page."""
HALF_WIDTH = 480
"""The ``viewBox`` width of a chart in half the page (the histogram, a strip)."""
_LEFT, _RIGHT, _TOP, _BOTTOM = 50, 18, 40, 36
"""Room around the plot for the axes' labels; the top holds two rows of mark labels."""
MAX_COLUMNS = 2 * (WIDTH - _LEFT - _RIGHT)
"""A timeline draws at most this many steps and ticks per phase: past that, one per half
unit of width (the last of each), so a 200k-event stream costs what a 1k-event one does."""
STRIP_HEIGHT = 170
STRIP_MAX_DOTS = 200
"""Past this many streams a distribution is a histogram: dots would only overlap."""
_CHAR_W = 6.4
"""About the width of one character of the 11-unit label font, to keep labels apart."""


@dataclass(frozen=True, slots=True)
class Point:
    """One content event on a timeline: when it arrived and the cumulative count after it."""

    t_ms: float
    y: float
    kind: str
    """What it carried (``text``, ``reasoning``, ``tool``, ...): its phase's colour."""


@dataclass(frozen=True, slots=True)
class Mark:
    """A labelled vertical line at ``at`` (TTFB, a percentile, the stall threshold)."""

    at: float
    label: str
    kind: str = "mark"
    """Its class, after ``mark-`` (``ttfb``, ``ttft``, ``p50``, ...)."""


@dataclass(frozen=True, slots=True)
class Span:
    """A shaded stretch of the time axis (a stall), with its label."""

    start: float
    end: float
    label: str


@dataclass(frozen=True, slots=True)
class Bin:
    """``count`` values in ``[lo, hi)`` (the last bin includes its ``hi``)."""

    lo: float
    hi: float
    count: int


@dataclass(frozen=True, slots=True)
class Dot:
    """One stream on a strip: its value, what hovering says, and the anchor it links to."""

    value: float
    label: str
    href: str


# --- scales and ticks ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Scale:
    """Domain ``[lo, hi]`` onto pixels ``[a, b]``, clamped; logarithmic when ``log``."""

    lo: float
    hi: float
    a: float
    b: float
    log: bool = False

    def __call__(self, v: float) -> float:
        lo, hi = self.lo, self.hi
        if self.log:
            v, lo, hi = math.log10(max(v, lo)), math.log10(lo), math.log10(hi)
        if not math.isfinite(v) or hi <= lo:
            return self.a
        f = min(1.0, max(0.0, (v - lo) / (hi - lo)))
        return self.a + f * (self.b - self.a)


def _nice_step(span: float, count: int) -> float:
    raw = span / max(count, 1)
    mag = 10.0 ** math.floor(math.log10(raw))
    return next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round values (1, 2, 2.5 or 5 times a power of ten apart) from ``lo`` to ``hi``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    step = _nice_step(hi - lo, count)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    i = first
    while i * step <= hi + step * 1e-9:
        ticks.append(round(i * step, 10))
        i += 1
    return ticks


def _nice_max(v: float, count: int = 4) -> float:
    """The smallest round value at or above ``v`` that :func:`nice_ticks` would end on."""
    if v <= 0 or not math.isfinite(v):
        return 1.0
    step = _nice_step(v, count)
    return math.ceil(v / step - 1e-9) * step


def _log_ticks(lo: float, hi: float) -> list[float]:
    """1, 2, 5 times each power of ten in range (only the powers when that is too many)."""
    ticks = []
    for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        ticks += [m * 10.0**k for m in (1, 2, 5) if lo <= m * 10.0**k <= hi]
    if len(ticks) > 9:
        ticks = [t for t in ticks if math.log10(t).is_integer()]
    return ticks if len(ticks) >= 2 else [lo, hi]


def _time_label(v: float, axis_max: float) -> str:
    """Milliseconds as an axis reads them: ``0``, ``250 ms``; ``1.5 s`` on a long axis."""
    if v == 0:
        return "0"
    if axis_max >= 2000:
        return f"{v / 1000:.3g} s"
    return f"{v:.3g} ms" if v < 1 else f"{v:,.0f} ms" if v >= 10 else f"{v:.2g} ms"


def _value_label(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:.2g}"


# --- pieces of markup ----------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def _n(v: float) -> str:
    """A coordinate: one decimal, no trailing ``.0``."""
    s = f"{v:.1f}"
    return s[:-2] if s.endswith(".0") else s


def _open(kind: str, title: str, width: int, height: int) -> list[str]:
    return [
        f'<svg class="chart chart-{kind}" data-chart="{kind}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{_esc(title)}">',
        f"<title>{_esc(title)}</title>",
    ]


def _label_rows(marks: Sequence[tuple[float, str]], rows: Sequence[float], width: int) -> list[str]:
    """Mark labels above the plot: each centred over its line (kept inside the chart), in
    the first row where it overlaps no label placed before it."""
    taken: list[list[tuple[float, float]]] = [[] for _ in rows]
    out = []
    for x, text in sorted(marks):
        half = len(text) * _CHAR_W / 2
        centre = min(max(x, 2 + half), width - 2 - half)
        lo, hi = centre - half - 4, centre + half + 4
        row = next(
            (i for i, spans in enumerate(taken) if all(hi < a or lo > b for a, b in spans)),
            len(rows) - 1,
        )
        taken[row].append((lo, hi))
        out.append(
            f'<text class="mark-label" x="{_n(centre)}" y="{_n(rows[row])}" '
            f'text-anchor="middle">{_esc(text)}</text>'
        )
    return out


def _y_axis(sy: _Scale, ticks: list[float], caption: str, left: float, right: float) -> list[str]:
    out = []
    for v in ticks:
        y = sy(v)
        out.append(
            f'<line class="grid" x1="{_n(left)}" x2="{_n(right)}" y1="{_n(y)}" y2="{_n(y)}"/>'
        )
        out.append(
            f'<text class="tick" x="{_n(left - 6)}" y="{_n(y + 4)}" '
            f'text-anchor="end">{_esc(_value_label(v))}</text>'
        )
    out.append(f'<text class="caption" x="4" y="13">{_esc(caption)}</text>')
    return out


def _x_axis(
    sx: _Scale, ticks: list[tuple[float, str]], caption: str, base: float, height: int
) -> list[str]:
    out = [f'<line class="axis" x1="{_n(sx.a)}" x2="{_n(sx.b)}" y1="{_n(base)}" y2="{_n(base)}"/>']
    for v, text in ticks:
        x = sx(v)
        out.append(
            f'<line class="axis" x1="{_n(x)}" x2="{_n(x)}" y1="{_n(base)}" y2="{_n(base + 4)}"/>'
        )
        out.append(
            f'<text class="tick" x="{_n(x)}" y="{_n(base + 16)}" '
            f'text-anchor="middle">{_esc(text)}</text>'
        )
    out.append(
        f'<text class="caption" x="{_n(sx.b)}" y="{height - 3}" '
        f'text-anchor="end">{_esc(caption)}</text>'
    )
    return out


def _vline(x: float, kind: str, top: float, base: float) -> str:
    return (
        f'<line class="mark mark-{_esc(kind)}" x1="{_n(x)}" x2="{_n(x)}" '
        f'y1="{_n(top)}" y2="{_n(base)}"/>'
    )


# --- the timeline --------------------------------------------------------------------------


def timeline(
    points: Sequence[Point],
    *,
    end_ms: float,
    marks: Sequence[Mark] = (),
    stalls: Sequence[Span] = (),
    wait_until: float | None = None,
    y_caption: str = "output tokens",
    title: str = "Output over time",
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """Cumulative output against time from the request start, as a step line coloured by
    phase (each point's ``kind``), a tick per event along the bottom, stalls shaded, the
    wait before ``wait_until`` (the first output) shaded, and ``marks`` (TTFB, TTFT).

    ``points`` are in time order. Past :data:`MAX_COLUMNS` events, one step and one tick
    per half pixel column are drawn (the last of each): the same picture, bounded size.
    """
    top, base = float(_TOP), float(height - _BOTTOM)
    x_hi = max(
        [end_ms, *(p.t_ms for p in points[-1:]), *(m.at for m in marks), *(s.end for s in stalls)]
    )
    x_hi = x_hi if x_hi > 0 and math.isfinite(x_hi) else 1.0
    y_hi = _nice_max(max((p.y for p in points), default=1.0))
    sx = _Scale(0.0, x_hi, _LEFT, width - _RIGHT)
    sy = _Scale(0.0, y_hi, base, top)
    out = _open("timeline", title, width, height)
    out.append(f'<g data-events="{len(points)}">')
    if wait_until is not None and wait_until > 0:
        out.append(
            f'<rect class="wait" x="{_n(sx.a)}" y="{_n(top)}" '
            f'width="{_n(sx(wait_until) - sx.a)}" height="{_n(base - top)}"/>'
        )
    for s in stalls:
        x0, x1 = sx(s.start), sx(s.end)
        out.append(
            f'<rect class="stall" x="{_n(x0)}" y="{_n(top)}" width="{_n(max(x1 - x0, 1.0))}" '
            f'height="{_n(base - top)}"><title>{_esc(s.label)}</title></rect>'
        )
        out.append(
            f'<text class="stall-label" x="{_n((x0 + x1) / 2)}" y="{_n(top + 14)}" '
            f'text-anchor="middle">{_esc(s.label)}</text>'
        )
    out += _y_axis(sy, nice_ticks(0.0, y_hi, 4), y_caption, sx.a, sx.b)
    time_ticks = nice_ticks(0.0, x_hi, 6)
    out += _x_axis(
        sx, [(t, _time_label(t, x_hi)) for t in time_ticks], "time from the request start",
        base, height,
    )  # fmt: skip
    shown = _columns(points, sx, 2 * (width - _LEFT - _RIGHT))
    out += _steps(shown, sx, sy, base)
    out += _ticks(shown, sx, base)
    for m in marks:
        out.append(_vline(sx(m.at), m.kind, top - 4, base))
    out += _label_rows([(sx(m.at), m.label) for m in marks], (top - 20, top - 7), width)
    out.append("</g></svg>")
    return "\n".join(out)


def _columns(points: Sequence[Point], sx: _Scale, columns: int) -> list[Point]:
    """``points``, or the last of each half unit column and phase when there are too many."""
    if len(points) <= columns:
        return list(points)
    kept: dict[tuple[int, str], Point] = {}
    for p in points:
        kept[(round(sx(p.t_ms) * 2), p.kind)] = p
    return sorted(kept.values(), key=lambda p: (p.t_ms, p.y))


def _steps(points: list[Point], sx: _Scale, sy: _Scale, base: float) -> list[str]:
    """The cumulative count as steps: a faint area under all of it, then one path per run of
    points of one phase (each starts where the run before ended), and on to the end."""
    if not points:
        return []
    x0 = sx(points[0].t_ms)
    area = [f"M{_n(x0)},{_n(base)}"]
    runs: list[tuple[str, list[str]]] = []
    last_x, last_y = x0, base
    for p in points:
        x, y = sx(p.t_ms), sy(p.y)
        area.append(f"H{_n(x)}V{_n(y)}")
        if not runs or runs[-1][0] != p.kind:
            runs.append((p.kind, [f"M{_n(last_x)},{_n(last_y)}"]))
        runs[-1][1].append(f"H{_n(x)}V{_n(y)}")
        last_x, last_y = x, y
    area.append(f"H{_n(sx.b)}V{_n(base)}Z")
    out = [f'<path class="area" d="{"".join(area)}"/>']
    out += [f'<path class="line line-{_esc(kind)}" d="{"".join(d)}"/>' for kind, d in runs]
    out.append(f'<path class="line line-after" d="M{_n(last_x)},{_n(last_y)}H{_n(sx.b)}"/>')
    return out


def _ticks(points: list[Point], sx: _Scale, base: float) -> list[str]:
    """A tick per event along the bottom of the plot, one path per phase."""
    by_kind: dict[str, list[str]] = {}
    for p in points:
        by_kind.setdefault(p.kind, []).append(f"M{_n(sx(p.t_ms))},{_n(base)}v-8")
    return [
        f'<path class="rug rug-{_esc(kind)}" data-ticks="{len(d)}" d="{"".join(d)}"/>'
        for kind, d in by_kind.items()
    ]


# --- histogram -----------------------------------------------------------------------------


def bins(
    values: Sequence[float], *, log: bool | None = None, count: int | None = None
) -> list[Bin]:
    """Equal-width bins over the values (in log space when ``log``; by default when they are
    all positive and span more than a factor of 20). Every finite value is in exactly one
    bin, so the counts sum to the number of finite values."""
    vs = sorted(v for v in values if math.isfinite(v))
    if not vs:
        return []
    lo, hi = vs[0], vs[-1]
    if log is None:
        log = lo > 0 and hi / lo > 20
    if log and lo <= 0:
        log = False
    if hi == lo:
        return [Bin(lo, hi, len(vs))]
    if count is None:
        count = max(6, min(40, round(2 * math.sqrt(len(vs)))))
    if log:
        a, b = math.log10(lo), math.log10(hi)
        edges = [10 ** (a + (b - a) * i / count) for i in range(count + 1)]
    else:
        edges = [lo + (hi - lo) * i / count for i in range(count + 1)]
    edges[0], edges[-1] = lo, hi
    counts = [0] * count
    for v in vs:
        f = (math.log10(v) - a) / (b - a) if log else (v - lo) / (hi - lo)
        i = min(max(int(f * count), 0), count - 1)
        # float rounding at an edge: keep the bin's own rule [lo, hi)
        while i > 0 and v < edges[i]:
            i -= 1
        while i < count - 1 and v >= edges[i + 1]:
            i += 1
        counts[i] += 1
    return [Bin(edges[i], edges[i + 1], counts[i]) for i in range(count)]


def histogram(
    values: Sequence[float],
    *,
    marks: Sequence[Mark] = (),
    noun: str = "gaps",
    caption: str = "gap between output events",
    title: str = "Gaps between output events",
    time_axis: bool = True,
    log: bool | None = None,
    width: int = HALF_WIDTH,
    height: int = HEIGHT,
) -> str:
    """Bars of :func:`bins` of ``values`` with ``marks`` (p50, p90, p99) as lines; each bar
    says on hover how many ``noun`` it holds. ``time_axis``: the values are milliseconds."""
    top, base = float(_TOP), float(height - _BOTTOM)
    bs = bins(values, log=log)
    is_log = len(bs) > 1 and bs[0].lo > 0 and _is_log(bs)
    lo = bs[0].lo if bs else 0.0
    hi = bs[-1].hi if bs else 1.0
    if not is_log:
        lo = 0.0 if lo >= 0 else lo
        hi = _nice_max(hi) if hi > lo else lo + 1.0
    elif hi <= lo:
        hi = lo * 10
    mark_values = [m.at for m in marks if math.isfinite(m.at)]
    sx = _Scale(lo, hi, _LEFT, width - _RIGHT, is_log)
    y_hi = _nice_max(max((b.count for b in bs), default=1), 4)
    sy = _Scale(0.0, y_hi, base, top)
    out = _open("histogram", title, width, height)
    total = sum(b.count for b in bs)
    out.append(f'<g data-values="{total}">')
    out += _y_axis(sy, [t for t in nice_ticks(0.0, y_hi, 4) if t == int(t)], noun, sx.a, sx.b)
    ticks = _log_ticks(lo, hi) if is_log else nice_ticks(lo, hi, 5)
    axis_max = max([hi, *mark_values])
    label = (lambda v: _time_label(v, axis_max)) if time_axis else _value_label
    out += _x_axis(sx, [(t, label(t)) for t in ticks], caption, base, height)
    for b in bs:
        x0, x1 = sx(b.lo), sx(b.hi)
        if len(bs) == 1:  # all values equal: one bar of some width around them
            x0, x1 = max(sx.a, x0 - 6), min(sx.b, x0 + 6)
        y = sy(b.count)
        what = f"{b.count} {noun}: " + (
            f"{label(b.lo)} to {label(b.hi)}" if b.hi > b.lo else label(b.lo)
        )
        out.append(
            f'<rect class="bar" data-count="{b.count}" x="{_n(x0 + 0.5)}" y="{_n(y)}" '
            f'width="{_n(max(x1 - x0 - 1, 1.0))}" height="{_n(base - y)}">'
            f"<title>{_esc(what)}</title></rect>"
        )
    for m in marks:
        out.append(_vline(sx(m.at), m.kind, top - 4, base))
    out += _label_rows([(sx(m.at), m.label) for m in marks], (top - 20, top - 7), width)
    out.append("</g></svg>")
    return "\n".join(out)


def _is_log(bs: list[Bin]) -> bool:
    """Whether the bins were made in log space (their widths grow)."""
    first, last = bs[0], bs[-1]
    return last.hi - last.lo > (first.hi - first.lo) * 1.01


# --- strip ---------------------------------------------------------------------------------


def strip(
    dots: Sequence[Dot],
    *,
    marks: Sequence[Mark] = (),
    caption: str,
    title: str,
    noun: str = "streams",
    time_axis: bool = True,
    width: int = HALF_WIDTH,
) -> str:
    """One dot per stream along a value axis, spread up and down so that equal values stay
    apart, each a link to its stream; a :func:`histogram` when there are too many dots."""
    values = [d.value for d in dots if math.isfinite(d.value)]
    if len(values) > STRIP_MAX_DOTS:
        return histogram(
            values, marks=marks, noun=noun, caption=caption, title=title,
            time_axis=time_axis, log=False, width=width,
        )  # fmt: skip
    top, base = 30.0, float(STRIP_HEIGHT - _BOTTOM)
    hi = _nice_max(max([*values, *(m.at for m in marks)], default=1.0))
    sx = _Scale(0.0, hi, _LEFT, width - _RIGHT)
    label = (lambda v: _time_label(v, hi)) if time_axis else _value_label
    out = _open("strip", title, width, STRIP_HEIGHT)
    out.append(f'<g data-values="{len(values)}">')
    out += _x_axis(sx, [(t, label(t)) for t in nice_ticks(0.0, hi, 5)], caption, base, STRIP_HEIGHT)
    for m in marks:
        out.append(_vline(sx(m.at), m.kind, top - 4, base))
    out += _label_rows([(sx(m.at), m.label) for m in marks], (top - 14, top - 2), width)
    middle, reach = (top + base) / 2, (base - top) / 2 - 8
    for i, d in enumerate(dots):
        if not math.isfinite(d.value):
            continue
        spread = ((i * 0.6180339887) % 1.0) * 2 - 1  # golden-ratio steps: even, stable
        y = middle + spread * reach
        href = d.href if d.href.startswith("#") else "#"
        out.append(
            f'<a href="{_esc(href)}"><circle class="dot" cx="{_n(sx(d.value))}" cy="{_n(y)}" '
            f'r="5"><title>{_esc(d.label)}</title></circle></a>'
        )
    out.append("</g></svg>")
    return "\n".join(out)
