"""Figures across many streams: percentiles per group, what ``sse-inspect stats`` shows.

A stream's figures are those of its Contract 4 record (``analyze --json``); here they are
only gathered by group (dialect, model, host, path or capture file) and summed up as a
:class:`Spread` per figure. Only the floats are kept, a few per stream, so twenty thousand
streams cost a few MB whatever their answers held.

Percentiles are the serving benchmarks' (vLLM ``bench serve`` reports ``np.percentile``):
linear interpolation between the closest ranks, NumPy's default method ``"linear"``, the
same as DuckDB's ``quantile_cont`` and Excel's ``PERCENTILE.INC``. Of the sorted values
``x[0] <= ... <= x[n-1]`` the q-th percentile is at rank ``r = (n - 1) * q / 100``:
``x[floor(r)] + (x[floor(r) + 1] - x[floor(r)]) * (r - floor(r))``. So p50 is the median,
and p99 of fewer than a hundred streams lies between the two largest.

The DuckDB path (``analysis/tables.py``) computes the same :class:`Group` in SQL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from urllib.parse import urlsplit

from .cadence import percentile as sorted_percentile  # values already sorted: no check

__all__ = [
    "FIGURES",
    "GROUP_KEYS",
    "LOWER_IS_BETTER",
    "MIN_STREAMS",
    "Collector",
    "Group",
    "Key",
    "Spread",
    "Values",
    "group_key",
    "percentile",
    "sorted_percentile",
    "spread",
    "summarise",
]

FIGURES = (
    "ttfb_ms",
    "ttft_ms",
    "ttft_answer_ms",
    "duration_ms",
    "itl_ms",
    "tpot_ms",
    "tokens_per_s",
    "stalls",
)
"""The figures summed up, as the record names them (``stalls``: the number per stream)."""

LOWER_IS_BETTER = frozenset(FIGURES) - {"tokens_per_s"}
"""Times and stalls are better low; throughput is better high."""

GROUP_KEYS = ("dialect", "model", "host", "path", "file")
"""What streams can be grouped by: ``host`` and ``path`` come from the URL, ``file`` is
the capture the stream was read from (the record's ``source``)."""

DEFAULT_BY = ("dialect", "model")

MIN_STREAMS = 5
"""A group of fewer streams gets its figures all the same, flagged not meaningful: p90
of four values is an interpolation between two of them, not a tail."""

UNKNOWN = ""
"""A group value the record does not have (a stream without a model, say)."""

Key = tuple[str, ...]
Values = dict[str, list[float]]
"""Per figure, the known values of a group's streams (unknown ones left out)."""


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0 to 100) of ``values``, in any order, by linear
    interpolation between closest ranks (see the module's docstring)."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile {q} is not between 0 and 100")
    return sorted_percentile(sorted(values), q)


@dataclass(frozen=True, slots=True)
class Spread:
    """One figure over a group's streams. Every value is ``None`` when ``n`` is 0."""

    n: int
    """How many of the group's streams have the figure (the others' is unknown)."""
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None
    mean: float | None


def spread(values: Iterable[float | None]) -> Spread:
    """The :class:`Spread` of the known (not ``None``) ``values``."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return Spread(0, None, None, None, None, None)
    return Spread(
        len(ordered),
        sorted_percentile(ordered, 50),
        sorted_percentile(ordered, 90),
        sorted_percentile(ordered, 99),
        ordered[-1],
        math.fsum(ordered) / len(ordered),
    )


@dataclass(frozen=True, slots=True)
class Group:
    """The streams that share the values ``key`` of the fields ``by``."""

    by: tuple[str, ...]
    """The fields grouped by, from :data:`GROUP_KEYS`, e.g. ``("dialect", "model")``."""
    key: Key
    """Their values for this group, in the same order (:data:`UNKNOWN` where unknown)."""
    streams: int
    complete: int
    """Streams that ended normally; the others were ``cut``."""
    cut: int
    meaningful: bool
    """At least :data:`MIN_STREAMS` streams: below it, percentiles say little."""
    figures: Mapping[str, Spread] = field(default_factory=lambda: MappingProxyType({}))
    """Per name of :data:`FIGURES`, its spread."""


def group_key(record: Mapping[str, object], by: Sequence[str]) -> Key:
    """The values of the fields ``by`` (from :data:`GROUP_KEYS`) for one stream's record."""
    return tuple(_value(record, name) for name in by)


def _value(record: Mapping[str, object], name: str) -> str:
    if name in ("host", "path"):
        url = record.get("url")
        if not isinstance(url, str) or not url:
            return UNKNOWN
        try:
            parts = urlsplit(url)
        except ValueError:
            return UNKNOWN
        if name == "host":
            return parts.netloc.rpartition("@")[2].lower()
        return parts.path or "/"
    if name == "file":
        name = "source"
    elif name not in GROUP_KEYS:
        raise ValueError(f"cannot group by {name!r}: one of {', '.join(GROUP_KEYS)}")
    value = record.get(name)
    return UNKNOWN if value is None else str(value)


class Collector:
    """Streams' figures gathered by group as their records come, keeping only the floats.

    ``add`` takes a record with at least the fields :func:`group_key` reads, ``complete``
    and :data:`FIGURES` (a whole Contract 4 record, or the slim one of
    ``present.stats.figures_record``).
    """

    def __init__(self, by: Sequence[str] = DEFAULT_BY) -> None:
        for name in by:
            if name not in GROUP_KEYS:
                raise ValueError(f"cannot group by {name!r}: one of {', '.join(GROUP_KEYS)}")
        self.by = tuple(by)
        self.streams = 0
        self._values: dict[Key, Values] = {}
        self._complete: dict[Key, list[int]] = {}  # [complete, cut]

    def add(self, record: Mapping[str, object]) -> None:
        key = group_key(record, self.by)
        values = self._values.get(key)
        if values is None:
            values = self._values[key] = {name: [] for name in FIGURES}
            self._complete[key] = [0, 0]
        for name in FIGURES:
            v = record.get(name)
            if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v):
                values[name].append(float(v))
        self._complete[key][0 if record.get("complete") else 1] += 1
        self.streams += 1

    def values(self) -> dict[Key, Values]:
        """Per group (sorted by key), per figure, its known values: what ``compare`` takes."""
        return {key: self._values[key] for key in sorted(self._values)}

    def groups(self) -> list[Group]:
        """Every group's :class:`Group`, sorted by key."""
        out = []
        for key, values in self.values().items():
            complete, cut = self._complete[key]
            figures = {name: spread(values[name]) for name in FIGURES}
            streams = complete + cut
            meaningful = streams >= MIN_STREAMS
            group = Group(
                self.by, key, streams, complete, cut, meaningful, MappingProxyType(figures)
            )
            out.append(group)
        return out


def summarise(
    records: Iterable[Mapping[str, object]], by: Sequence[str] = DEFAULT_BY
) -> list[Group]:
    """The groups of ``records`` (Contract 4 records), sorted by key."""
    collector = Collector(by)
    for record in records:
        collector.add(record)
    return collector.groups()
