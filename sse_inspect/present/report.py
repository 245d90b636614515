"""The HTML report: one self-contained page with figures, charts and answers per stream.

A page made to be mailed to a colleague, so it holds everything and fetches nothing: the
CSS and the one small script (sorting the summary table) are inline, the charts are
inline SVG (:mod:`.svg`), and a Content-Security-Policy allows exactly those two inline
blocks by their hashes and nothing from anywhere (``default-src 'none'``). Whatever a
captured stream holds is user content (an answer with ``<script>`` in it, a hostile URL
or header): Jinja2 escapes every value (autoescape, strict undefined), the charts escape
their own labels, and were anything to slip through, the policy would still refuse to
run it.

Memory stays flat in the size of the captures. The page opens with the summary table
and the distributions across streams, which are known only at the end; so each stream's
section is rendered as soon as it is analysed and waits in a :class:`~.write.Spool`
(in memory up to a MiB, past that in an unnamed temporary file), and only its
:class:`~.report_view.SummaryRow` (a dozen numbers) stays in memory. :meth:`close`
then writes the head, the summary, and the sections back out of the spool, all through
the ``write`` it was given (the CLI's :class:`~.write.AtomicFile`). Reading the captures
twice instead would analyse every stream twice, and could not read a pipe.

The templates are package data beside this module (``report.html.j2``,
``report_stream.html.j2``, ``report.css``, ``report.js``).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from importlib import resources
from pathlib import PurePath

import jinja2
from markupsafe import Markup

from .. import __version__
from ..analysis.analysis import Analysis
from ..analysis.cadence import percentile
from . import svg
from .report_view import StreamView, SummaryRow, stream_view
from .units import ms
from .write import Spool

__all__ = ["COLUMNS", "ReportWriter", "content_security_policy", "render_stream"]

COLUMNS = (
    ("#", "num"), ("Request", ""), ("Dialect", ""), ("Model", ""), ("Done", ""),
    ("TTFB", "num"), ("TTFT", "num"), ("Duration", "num"), ("Tokens", "num"),
    ("Tok/s", "num"), ("Gap p50", "num"), ("Gap p99", "num"), ("Stalls", "num"),
)  # fmt: skip
"""The summary table's columns (label, class), in the order of the template's cells."""


class ReportWriter:
    """The report of any number of streams, one analysis in memory at a time: :meth:`add`
    renders a stream's section at once, :meth:`close` writes the whole page to ``write``.

    ``redacted``: the streams went through :func:`~.redact.redact_stream` (the page says
    when they did not). ``title``: the page's heading, by default the capture's name.
    """

    def __init__(
        self, write: Callable[[str], None], *, title: str | None = None, redacted: bool = True
    ) -> None:
        self._write = write
        self._title = title
        self._redacted = redacted
        self._sections = Spool()
        self._rows: list[SummaryRow] = []
        self._sources: dict[str, None] = {}
        self._first_request: float | None = None
        self.entries = 0

    def add(self, a: Analysis) -> None:
        self.entries += 1
        view = stream_view(a, self.entries)
        self._sources.setdefault(a.stream.source)
        start = a.stream.request_start
        if self._first_request is None and start is not None and math.isfinite(start):
            self._first_request = start
        self._sections.write(render_stream(view))
        self._rows.append(view.row)

    def close(self) -> None:
        sources = list(self._sources)
        title = self._title or (
            PurePath(sources[0]).name if len(sources) == 1 else "Event stream report"
        )
        page = _template("report.html.j2").generate(
            title=title,
            version=__version__,
            csp=content_security_policy(),
            css=Markup(_asset("report.css")),
            script=Markup(_asset("report.js")),
            streams=self.entries,
            sources=sources,
            first_request=_when(self._first_request),
            redacted=self._redacted,
            rows=self._rows,
            columns=COLUMNS,
            distributions=_distributions(self._rows),
            sections=self._spooled(),
        )
        for piece in page:
            self._write(piece)
        self._sections.close()

    def _spooled(self) -> Iterator[Markup]:
        """The sections as rendered (escaped already), read back piece by piece."""
        for text in self._sections.chunks():
            yield Markup(text)


def render_stream(view: StreamView) -> str:
    """One stream's ``<section>``: heading, figures, charts, answer, conversation."""
    return _template("report_stream.html.j2").render(v=view) + "\n"


# --- across streams ------------------------------------------------------------------------


def _distributions(rows: list[SummaryRow]) -> list[tuple[str, Markup, str]]:
    """TTFT and tokens/s across the streams that have them (two or more), as strips."""
    out = []
    for heading, values, time_axis, unit in (
        ("TTFT across streams", [(r, r.ttft_ms) for r in rows], True, "ms"),
        ("Tokens/s across streams", [(r, r.tokens_per_s) for r in rows], False, "tokens/s"),
    ):
        known = [(r, v) for r, v in values if v is not None]
        if len(known) < 2:
            continue
        ordered = sorted(v for _, v in known)
        p50, p90 = percentile(ordered, 50), percentile(ordered, 90)
        text = _ms_text if time_axis else _rate_text
        dots = [
            svg.Dot(v, f"#{r.number} {r.method} {r.target}: {text(v)}", f"#{r.anchor}")
            for r, v in known
        ]
        marks = [svg.Mark(p50, f"p50 {text(p50)}", "p50"), svg.Mark(p90, f"p90 {text(p90)}", "p90")]
        chart = svg.strip(dots, marks=marks, caption=unit, title=heading, time_axis=time_axis)
        note = f"{len(known)} of {len(rows)} streams; a dot leads to its stream."
        out.append((heading, Markup(chart), note))
    return out


def _ms_text(v: float) -> str:
    return f"{ms(v)} ms"


def _rate_text(v: float) -> str:
    return f"{v:,.1f}/s"


def _when(t: float | None) -> str | None:
    if t is None:
        return None
    try:
        return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    except (OverflowError, OSError, ValueError):
        return None


# --- templates and assets ------------------------------------------------------------------


@functools.cache
def _asset(name: str) -> str:
    return resources.files(__package__).joinpath(name).read_text(encoding="utf-8")


@functools.cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.globals.update(ms=ms, num=_num, rate=_rate)
    return env


@functools.cache
def _template(name: str) -> jinja2.Template:
    return _environment().from_string(_asset(name))


def _num(v: float | int | None) -> str:
    """A sortable cell's value: the number, or empty when unknown (sorted last)."""
    return "" if v is None else repr(v)


def _rate(v: float | None) -> str:
    return "—" if v is None else f"{v:,.1f}"


def _hash(text: str) -> str:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return "'sha256-" + base64.b64encode(digest).decode("ascii") + "'"


@functools.cache
def content_security_policy() -> str:
    """Nothing from anywhere; only our own inline style and script, by their hashes."""
    return (
        f"default-src 'none'; style-src {_hash(_asset('report.css'))}; "
        f"script-src {_hash(_asset('report.js'))}; img-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
