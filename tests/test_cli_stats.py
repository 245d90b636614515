"""``sse-inspect stats`` and ``compare`` on the samples: the same streams as ``analyze
--json``, the documents, the groupings, the two ways to give compare its sides, errors."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sse_inspect.analysis import parallel
from sse_inspect.analysis.stats import FIGURES
from sse_inspect.cli import main

from .conftest import SAMPLES

CAPTURES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".flow", ".har", ".sse"))
CHAT = SAMPLES / "captured-openai-chat.flow"


def run(*args: str | Path) -> Result:
    result = CliRunner().invoke(main, [*map(str, args)])
    assert "Traceback" not in result.output, result.output
    return result


def analyzed(*captures: Path) -> list[dict[str, Any]]:
    result = run("analyze", "--json", *captures)
    assert result.exit_code == 0, result.output
    streams: list[dict[str, Any]] = json.loads(result.stdout)["streams"]
    return streams


def stats_json(*args: str | Path) -> dict[str, Any]:
    result = run("stats", "--json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


@pytest.mark.parametrize("capture", CAPTURES, ids=lambda p: p.name)
def test_stats_counts_the_streams_analyze_reports(capture: Path) -> None:
    records = analyzed(capture)
    doc = stats_json(capture)
    assert sum(g["streams"] for g in doc["groups"]) == len(records)
    assert sum(g["complete"] for g in doc["groups"]) == sum(r["complete"] for r in records)
    for g in doc["groups"]:
        assert g["streams"] == g["complete"] + g["cut"]
        assert g["meaningful"] is (g["streams"] >= 5)
        mine = [r for r in records if (r["dialect"], r["model"]) == tuple(g["key"].values())]
        for figure in FIGURES:
            known = [r[figure] for r in mine if r[figure] is not None]
            assert g["figures"][figure]["n"] == len(known)
            if len(known) == 1:  # one stream: every percentile is its own figure
                spread = g["figures"][figure]
                assert spread["p50"] == spread["p99"] == spread["max"] == known[0]
    text = run("stats", capture)
    assert text.exit_code == 0 and "TTFT ms" in text.stdout


def test_one_stream_s_p50_is_its_record_s_figure() -> None:
    (record,) = analyzed(CHAT)
    (group,) = stats_json(CHAT)["groups"]
    assert group["key"] == {"dialect": "openai-chat", "model": "gpt-4o-mini"}
    assert group["figures"]["ttft_ms"]["p50"] == record["ttft_ms"]
    assert group["figures"]["stalls"]["mean"] == record["stalls"]
    assert group["meaningful"] is False


def test_the_stats_document() -> None:
    doc = stats_json(*CAPTURES)
    assert list(doc) == ["version", "by", "percentiles", "min_streams", "figures", "groups"]
    assert doc["version"] == 1 and doc["by"] == ["dialect", "model"] and doc["min_streams"] == 5
    assert "linear" in doc["percentiles"] and list(doc["figures"]) == list(FIGURES)
    keys = [tuple(g["key"].values()) for g in doc["groups"]]
    assert keys == sorted(keys, key=lambda k: tuple(v or "" for v in k))
    group = doc["groups"][0]
    assert list(group) == ["key", "streams", "complete", "cut", "meaningful", "figures"]
    assert list(group["figures"]["ttft_ms"]) == ["n", "p50", "p90", "p99", "max", "mean"]
    assert sum(g["streams"] for g in doc["groups"]) == len(analyzed(*CAPTURES))


@pytest.mark.parametrize(
    "args, by",
    [
        (["--by", "model", "--by", "host"], ["model", "host"]),
        (["--by", "path,model"], ["path", "model"]),
        (["--by", "file", "--by", "file"], ["file"]),
        (["--by", "dialect"], ["dialect"]),
    ],
)
def test_stats_by(args: list[str], by: list[str]) -> None:
    doc = stats_json(*args, *CAPTURES)
    assert doc["by"] == by
    assert all(list(g["key"]) == by for g in doc["groups"])
    assert sum(g["streams"] for g in doc["groups"]) == len(analyzed(*CAPTURES))
    if by == ["file"]:
        files = {g["key"]["file"] for g in doc["groups"]}
        assert files == {r["source"] for r in analyzed(*CAPTURES)}


def test_a_bad_grouping_is_bad_usage() -> None:
    result = run("stats", "--by", "colour", CHAT)
    assert result.exit_code == 2 and "'colour' is not one of dialect, model" in result.output


def test_stats_reads_as_analyze_does(tmp_path: Path) -> None:
    """--filter, --dialect and --stall-ms as analyze takes them."""
    mixed = SAMPLES / "mixed.flow"
    doc = stats_json("--filter", "~u /v1/messages", mixed)
    assert [g["key"]["dialect"] for g in doc["groups"]] == ["anthropic"]
    doc = stats_json("--dialect", "generic", "--by", "dialect", mixed)
    assert [(g["key"]["dialect"], g["streams"]) for g in doc["groups"]] == [("generic", 2)]
    stalls = stats_json("--stall-ms", "1", CHAT)["groups"][0]["figures"]["stalls"]["max"]
    assert stalls > stats_json(CHAT)["groups"][0]["figures"]["stalls"]["max"]


def test_stats_in_worker_processes_equals_one_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = tmp_path / "big.flow"
    big.write_bytes(b"".join(p.read_bytes() for p in CAPTURES if p.suffix == ".flow") * 3)
    one = stats_json("--jobs", "1", big)
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_FLOWS", 4)
    assert stats_json("--jobs", "2", big) == one
    assert sum(g["streams"] for g in one["groups"]) == len(analyzed(big))


def test_stats_errors_are_one_line(tmp_path: Path) -> None:
    readme = tmp_path / "notes.txt"
    readme.write_text("hello\n")
    result = run("stats", readme)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    other = tmp_path / "more.txt"
    other.write_text("prose\n")
    result = run("stats", readme, other)  # among several, skipped: nothing to report
    assert result.exit_code == 1 and "no event streams found" in result.stderr
    result = run("stats", tmp_path / "missing.flow")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    result = run("stats", tmp_path)  # a directory, but no tables in it
    assert result.exit_code == 2 and "without tables" in result.stderr
    result = run("stats", tmp_path, CHAT)
    assert result.exit_code == 2 and "one TABLES directory alone" in result.stderr


def test_stats_reports_what_was_read_before_damage(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.flow"
    damaged.write_bytes(CHAT.read_bytes() + b"12:garbage")
    result = run("stats", "--json", damaged)
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stdout)["groups"][0]["streams"] == 1


# -- compare -------------------------------------------------------------------------------


def compare_json(*args: str | Path) -> dict[str, Any]:
    result = run("compare", "--json", *args)
    assert result.exit_code == 0, result.output
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def test_compare_two_captures() -> None:
    doc = compare_json(CHAT, SAMPLES / "mixed.flow")
    assert doc["a"] == [str(CHAT)] and doc["b"] == [str(SAMPLES / "mixed.flow")]
    assert doc["version"] == 1 and "bootstrap" in doc["test"] and doc["seed"] == 0
    present = {tuple(g["key"].values()): g["present"] for g in doc["groups"]}
    assert present == {
        ("anthropic", "claude-sonnet-4-5"): "B",
        ("openai-chat", "gpt-4o-mini"): "both",
    }
    both = next(g for g in doc["groups"] if g["present"] == "both")
    assert list(both["figures"]) == list(FIGURES)
    ttft = both["figures"]["ttft_ms"]
    assert (ttft["n_a"], ttft["n_b"]) == (1, 1)
    assert ttft["diff"] == pytest.approx(ttft["b"] - ttft["a"], abs=1e-3)
    assert ttft["significant"] is False and ttft["meaningful"] is False  # one stream each
    text = run("compare", CHAT, SAMPLES / "mixed.flow")
    assert text.exit_code == 0 and "Only in B: anthropic" in text.stdout
    assert "bootstrap" in text.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["a1", "a2", "--", "b1", "b2", "b3"],
        ["--by", "dialect", "a1", "a2", "--", "b1", "b2", "b3"],
        ["a1", "a2", "--", "b1", "b2", "b3", "--by", "dialect"],
    ],
)
def test_compare_groups_of_files_split_by_two_dashes(args: list[str]) -> None:
    files = {
        "a1": CHAT,
        "a2": SAMPLES / "openai-chat.flow",
        "b1": SAMPLES / "openai-chat-gzip.flow",
        "b2": SAMPLES / "mixed.flow",
        "b3": SAMPLES / "client-abort.flow",
    }
    doc = compare_json(*(files.get(a, a) for a in args))
    assert doc["a"] == [str(files["a1"]), str(files["a2"])]
    assert doc["b"] == [str(files[b]) for b in ("b1", "b2", "b3")]
    both = next(g for g in doc["groups"] if g["present"] == "both")
    assert both["figures"]["ttfb_ms"]["n_a"] == 2
    assert both["figures"]["ttfb_ms"]["n_b"] == 3  # mixed's chat, gzip's, the cut one's


def test_compare_needs_two_sides() -> None:
    for args in ([CHAT], [CHAT, CHAT, CHAT], [CHAT, "--"], ["--", CHAT]):
        result = run("compare", *args)
        assert result.exit_code == 2, args
        assert "compare takes two captures" in result.stderr
    assert compare_json("--", CHAT, CHAT)["a"] == [str(CHAT)]  # "--" ends the options


def test_compare_of_a_side_without_streams(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("prose\n")
    b.write_text("prose\n")
    result = run("compare", CHAT, "--", a, b)
    assert result.exit_code == 1 and "no event streams found" in result.stderr
    result = run("compare", CHAT, tmp_path / "missing.flow")
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_compare_is_deterministic() -> None:
    args = ("--by", "dialect", *CAPTURES[:4], "--", *CAPTURES[4:])
    assert compare_json(*args) == compare_json(*args)
    assert compare_json("--seed", "5", *args)["seed"] == 5


def test_tables_without_the_extra_say_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "streams.parquet").write_bytes(b"")
    monkeypatch.setitem(sys.modules, "sse_inspect.analysis.tables", None)  # import fails
    for command in (["stats", tmp_path], ["compare", tmp_path, CHAT]):
        result = run(*command)
        assert result.exit_code == 2, command
        assert result.stderr.strip().endswith("pip install 'sse-inspect[tables]'")
        assert len(result.stderr.strip().splitlines()) == 1
