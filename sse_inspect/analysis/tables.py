"""``stats`` and ``compare`` on Parquet tables (``export --format parquet``), computed in
DuckDB: embedded, in memory, reading the files in place, so a month of captures is
summed up in seconds without analysing a stream again.

The results are those of :mod:`.stats` on the same streams' records: the same groups
(:func:`.stats.group_key`: ``host`` and ``path`` are columns the export wrote with that
very function, ``file`` is ``source``, unknown values are ``""``), the same percentiles
(DuckDB's ``quantile_cont`` is linear interpolation between closest ranks, NumPy's
default), the same order. Means are DuckDB's ``favg`` (Kahan-compensated) where
:func:`.stats.spread` takes ``math.fsum``: equal to a few units in the last place.

DuckDB is optional (``pip install 'sse-inspect[tables]'``) and imported only when a query
runs; :func:`is_tables_dir` needs nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

from .stats import DEFAULT_BY, FIGURES, GROUP_KEYS, MIN_STREAMS, Group, Key, Spread, Values

__all__ = [
    "MISSING_DUCKDB",
    "events_source",
    "figure_values",
    "is_tables_dir",
    "streams_source",
    "summarise_tables",
]

MISSING_DUCKDB = "reading Parquet tables needs duckdb: pip install 'sse-inspect[tables]'"
"""The :class:`ImportError`'s message when DuckDB is not installed."""

_COLUMN = {"dialect": "dialect", "model": "model", "host": "host", "path": "path", "file": "source"}
"""The streams table's column of each group key."""


def is_tables_dir(path: Path | str) -> bool:
    """``path`` is a directory of our tables: ``streams.parquet``, or ``streams/`` partitions."""
    path = Path(path)
    return (path / "streams.parquet").is_file() or (path / "streams").is_dir()


def summarise_tables(
    path: Path | str, by: Sequence[str] = DEFAULT_BY, filter_sql: str | None = None
) -> list[Group]:
    """:func:`.stats.summarise` of the streams in the tables at ``path``, in DuckDB.

    ``filter_sql``: a SQL condition on the streams table's columns (``dialect =
    'anthropic'``), or ``None`` for every stream."""
    keys = _keys(by)
    aggregates = ["count(*)", "count_if(complete)"]
    for f in FIGURES:
        aggregates += [
            f"count({f})",
            f"quantile_cont({f}, [0.5, 0.9, 0.99])",
            f"max({f})::DOUBLE",
            f"favg({f})",
        ]
    rows = _query(path, keys, aggregates, filter_sql)
    groups = []
    for row in rows:
        key: Key = tuple(row[: len(keys)])
        streams, complete, *rest = row[len(keys) :]
        figures = {}
        for i, f in enumerate(FIGURES):
            n, quantiles, top, mean = rest[4 * i : 4 * i + 4]
            if n:
                p50, p90, p99 = map(float, quantiles)
                figures[f] = Spread(n, p50, p90, p99, float(top), float(mean))
            else:
                figures[f] = Spread(0, None, None, None, None, None)
        groups.append(
            Group(
                tuple(by),
                key,
                streams,
                complete,
                streams - complete,
                streams >= MIN_STREAMS,
                MappingProxyType(figures),
            )
        )
    return sorted(groups, key=lambda g: g.key)


def figure_values(
    path: Path | str, by: Sequence[str] = DEFAULT_BY, filter_sql: str | None = None
) -> dict[Key, Values]:
    """Per group (sorted by key), per name of :data:`.stats.FIGURES`, the known values of
    the group's streams in the order they were exported: what :meth:`.stats.Collector.values`
    gives for the same records, and what ``compare`` resamples."""
    keys = _keys(by)
    order = "ORDER BY filename, file_row_number"
    aggregates = [f"list({f}::DOUBLE {order}) FILTER (WHERE {f} IS NOT NULL)" for f in FIGURES]
    out: dict[Key, Values] = {}
    for row in _query(path, keys, aggregates, filter_sql):
        key: Key = tuple(row[: len(keys)])
        out[key] = {
            f: [v for v in (values or []) if math.isfinite(v)]
            for f, values in zip(FIGURES, row[len(keys) :], strict=True)
        }
    return {key: out[key] for key in sorted(out)}


def _keys(by: Sequence[str]) -> list[str]:
    for name in by:
        if name not in GROUP_KEYS:
            raise ValueError(f"cannot group by {name!r}: one of {', '.join(GROUP_KEYS)}")
    return [f"coalesce({_COLUMN[name]}::VARCHAR, '')" for name in by]


def _query(
    path: Path | str, keys: list[str], aggregates: list[str], filter_sql: str | None
) -> list[tuple[Any, ...]]:
    try:
        import duckdb
    except ImportError:
        raise ImportError(MISSING_DUCKDB) from None
    columns = ", ".join([*keys, *aggregates])
    where = f"WHERE {filter_sql}" if filter_sql else ""
    group = f"GROUP BY {', '.join(str(i + 1) for i in range(len(keys)))}" if keys else ""
    sql = f"SELECT {columns} FROM {streams_source(path)} {where} {group}"
    with duckdb.connect() as db:
        return db.execute(sql).fetchall()


def streams_source(path: Path | str) -> str:
    """The DuckDB table expression of the streams table at ``path`` (one file, or every
    partition with its Hive keys as columns)."""
    return _source(Path(path), "streams")


def events_source(path: Path | str) -> str:
    """The DuckDB table expression of the events table at ``path``."""
    return _source(Path(path), "events")


def _source(path: Path, table: str) -> str:
    single = path / f"{table}.parquet"
    pattern = single if single.is_file() else path / table / "**" / "*.parquet"
    quoted = str(pattern).replace("'", "''")
    return (
        f"read_parquet('{quoted}', hive_partitioning = true, union_by_name = true, "
        "filename = true, file_row_number = true)"
    )
