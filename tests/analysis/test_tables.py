"""`stats` and `compare` on Parquet tables: DuckDB reads what `export --format parquet`
wrote and finds exactly what :func:`summarise` finds in `analyze --json`'s records."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from sse_inspect.analysis.stats import (
    FIGURES,
    GROUP_KEYS,
    Collector,
    Group,
    Spread,
    summarise,
)
from sse_inspect.analysis.tables import (
    events_source,
    figure_values,
    is_tables_dir,
    streams_source,
    summarise_tables,
)
from sse_inspect.cli import main

from ..conftest import SAMPLES

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in {".flow", ".har", ".sse"})
GROUPINGS = [("dialect", "model"), *((k,) for k in GROUP_KEYS), GROUP_KEYS, ()]

# The README's query: DuckDB SQL that Spark SQL runs as it is, on
# spark.read.parquet("tables/streams").createOrReplaceTempView("streams").
README_SQL = """
SELECT dialect, coalesce(model, '') AS model,
       count(*) AS streams, count_if(complete) AS complete,
       count(ttft_ms) AS n,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS p50,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY ttft_ms) AS p90,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY ttft_ms) AS p99,
       max(ttft_ms) AS max, avg(ttft_ms) AS mean
FROM streams
GROUP BY dialect, coalesce(model, '')
ORDER BY 1, 2
"""


def run(*args: str | Path) -> Any:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def export(out: Path, *captures: Path, partition: bool = False) -> Path:
    run("export", *captures, "--format", "parquet", "-o", out,
        *(["--partition-by", "date"] if partition else []))  # fmt: skip
    return out


def records(*captures: Path) -> list[dict[str, Any]]:
    streams: list[dict[str, Any]] = json.loads(run("analyze", "--json", *captures).stdout)[
        "streams"
    ]
    return streams


@pytest.fixture(scope="module")
def tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export(tmp_path_factory.mktemp("tables") / "all", *CAPTURES)


@pytest.fixture(scope="module")
def all_records() -> list[dict[str, Any]]:
    return records(*CAPTURES)


def assert_same(got: list[Group], expected: list[Group]) -> None:
    assert [(g.by, g.key, g.streams, g.complete, g.cut, g.meaningful) for g in got] == [
        (g.by, g.key, g.streams, g.complete, g.cut, g.meaningful) for g in expected
    ]
    for mine, theirs in zip(got, expected, strict=True):
        assert set(mine.figures) == set(theirs.figures) == set(FIGURES)
        for f in FIGURES:
            assert_spread(mine.figures[f], theirs.figures[f], (mine.key, f))


def assert_spread(got: Spread, expected: Spread, where: object) -> None:
    assert got.n == expected.n, where
    for name in ("p50", "p90", "p99", "max", "mean"):
        a, b = getattr(got, name), getattr(expected, name)
        if b is None:
            assert a is None, (where, name)
        else:
            assert a == pytest.approx(b, rel=1e-12, abs=1e-9), (where, name)


def test_is_tables_dir(tmp_path: Path, tables: Path) -> None:
    assert is_tables_dir(tables)
    assert not is_tables_dir(tmp_path)
    assert not is_tables_dir(SAMPLES / "mixed.flow")
    assert is_tables_dir(export(tmp_path / "p", SAMPLES / "mixed.flow", partition=True))


def test_duckdb_reads_the_tables_with_analyzes_counts(
    tables: Path, all_records: list[dict[str, Any]]
) -> None:
    with duckdb.connect() as db:
        row = db.execute(f"SELECT count(*), sum(events) FROM {streams_source(tables)}").fetchone()
        assert row == (len(all_records), sum(r["events"] for r in all_records))
        (events,) = db.execute(f"SELECT count(*) FROM {events_source(tables)}").fetchone() or (0,)
        assert events == row[1]
        joined = db.execute(
            f"SELECT s.flow_id, count(e.index) FROM {streams_source(tables)} s "
            f"LEFT JOIN {events_source(tables)} e USING (capture, stream) "
            "GROUP BY s.capture, s.stream, s.flow_id ORDER BY s.capture, s.stream"
        ).fetchall()
    by_file = sorted(all_records, key=lambda r: r["source"])  # capture order, then stream
    assert [n for _, n in joined] == [r["events"] for r in by_file]


@pytest.mark.parametrize("by", GROUPINGS, ids=lambda by: "+".join(by) or "all")
def test_summarise_tables_is_summarise(
    tables: Path, all_records: list[dict[str, Any]], by: tuple[str, ...]
) -> None:
    assert_same(summarise_tables(tables, by), summarise(all_records, by))


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_summarise_tables_on_each_sample(tmp_path: Path, capture: Path) -> None:
    out = export(tmp_path / "t", capture)
    expected = records(capture)
    for by in GROUPINGS:
        assert_same(summarise_tables(out, by), summarise(expected, by))


def test_figure_values_are_the_collectors(tables: Path, all_records: list[dict[str, Any]]) -> None:
    for by in GROUPINGS:
        collector = Collector(by)
        for r in all_records:
            collector.add(r)
        assert figure_values(tables, by) == collector.values()


def test_many_streams_make_meaningful_groups(tmp_path: Path) -> None:
    capture = tmp_path / "12.flow"
    capture.write_bytes(b"".join((SAMPLES / n).read_bytes() for n in ("mixed.flow",) * 3))
    capture.write_bytes(capture.read_bytes() + (SAMPLES / "client-abort.flow").read_bytes() * 3)
    out = export(tmp_path / "t", capture)
    expected = summarise(records(capture), ("dialect",))
    got = summarise_tables(out, ("dialect",))
    assert_same(got, expected)
    assert any(g.meaningful for g in got) and any(g.cut for g in got)


def test_a_filter_in_sql(tables: Path, all_records: list[dict[str, Any]]) -> None:
    kept = [r for r in all_records if r["dialect"] == "anthropic"]
    assert_same(
        summarise_tables(tables, ("model",), "dialect = 'anthropic'"), summarise(kept, ("model",))
    )


def test_two_partitioned_exports_read_as_one_table(tmp_path: Path) -> None:
    first, second = CAPTURES[: len(CAPTURES) // 2], CAPTURES[len(CAPTURES) // 2 :]
    out = export(tmp_path / "t", *first, partition=True)
    export(out, *second, partition=True)  # an append: new part files
    assert len({p.name for p in out.glob("streams/*/*.parquet")}) == 2
    expected = records(*first) + records(*second)
    for by in GROUPINGS:
        assert_same(summarise_tables(out, by), summarise(expected, by))
    with duckdb.connect() as db:
        dates = db.execute(
            f"SELECT DISTINCT typeof(date) FROM {streams_source(out)} WHERE date IS NOT NULL"
        ).fetchall()
    assert dates == [("DATE",)]  # the Hive key is a column, typed


def test_the_readme_query_runs_in_duckdb(tables: Path, all_records: list[dict[str, Any]]) -> None:
    with duckdb.connect() as db:
        db.execute(f"CREATE VIEW streams AS SELECT * FROM {streams_source(tables)}")
        got = db.execute(README_SQL).fetchall()
    expected = summarise(all_records, ("dialect", "model"))
    assert [row[:4] for row in got] == [(*g.key, g.streams, g.complete) for g in expected]
    for row, g in zip(got, expected, strict=True):
        n, p50, p90, p99, top, mean = row[4:]
        assert_spread(
            Spread(n, p50, p90, p99, top, mean), g.figures["ttft_ms"], g.key
        )  # NaN never: null when no stream has the figure
        assert not any(isinstance(v, float) and math.isnan(v) for v in row)
