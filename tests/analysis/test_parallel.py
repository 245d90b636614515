"""`analyze --jobs N`: large .flow files analysed in worker processes say exactly what one
process says, byte for byte, damaged files and filters included."""

from __future__ import annotations

import json
import pickle
import random
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from sse_inspect.analysis import parallel
from sse_inspect.analysis.analysis import analyze
from sse_inspect.analysis.parallel import Job, Pool
from sse_inspect.cli import main
from sse_inspect.load import Tally, read_capture
from sse_inspect.load.split import flow_ranges, looks_like_flows
from sse_inspect.present.json import frame_records, stream_record
from sse_inspect.present.redact import redact_stream

from .. import flows
from ..conftest import SAMPLES

FLOW_SAMPLES = sorted(SAMPLES.glob("*.flow"))
VIEWS = [["--json"], [], ["--events"], ["--events", "--json"], ["--details"]]


RANGES: list[int] = []  # ranges the workers analysed, for the test that runs them


@pytest.fixture(autouse=True)
def small_ranges(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every .flow goes to the workers, a couple of flows per range."""
    monkeypatch.setattr(parallel, "MIN_BYTES", 0)
    monkeypatch.setattr(parallel, "RANGE_FLOWS", 2)
    taken = parallel._taken

    def counted(*args: Any) -> Any:
        RANGES.append(1)
        return taken(*args)

    monkeypatch.setattr(parallel, "_taken", counted)


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(main, ["analyze", *map(str, args)])


def same(*args: str | Path, workers: bool = True) -> Result:
    """``analyze ARGS`` in one process and with two workers: the same output and status
    (and, if ``workers``, some of it came from the workers)."""
    one = run("--jobs", "1", *args)
    RANGES.clear()
    two = run("--jobs", "2", *args)
    assert RANGES or not workers, "no range went to the workers"
    assert one.exception is None or isinstance(one.exception, SystemExit), one.exception
    assert (two.exit_code, two.stdout, two.stderr) == (one.exit_code, one.stdout, one.stderr)
    return one


def big(tmp_path: Path, tail: bytes = b"", name: str = "all.flow") -> Path:
    """Every sample .flow one after the other, three times (so several ranges), + ``tail``."""
    path = tmp_path / name
    path.write_bytes(b"".join(p.read_bytes() for p in FLOW_SAMPLES) * 3 + tail)
    return path


@pytest.mark.parametrize("sample", FLOW_SAMPLES, ids=lambda p: p.name)
def test_every_sample_reads_the_same(sample: Path) -> None:
    for view in (["--json"], []):  # the table of one stream shows its details too
        assert same(*view, sample).exit_code == 0


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: " ".join(v) or "table")
def test_many_files_of_many_streams_read_the_same(tmp_path: Path, view: list[str]) -> None:
    inputs = [big(tmp_path), SAMPLES / "chrome-export.har", SAMPLES / "mixed.flow"]
    inputs += [SAMPLES / "openai-chat.sse", big(tmp_path, name="again.flow")]
    result = same(*view, *inputs)
    assert result.exit_code == 0
    if view == ["--json"]:
        streams = json.loads(result.stdout)["streams"]
        in_samples = sum(1 for p in FLOW_SAMPLES for _ in read_capture(p))
        assert len(streams) == 2 * 3 * in_samples + 1 + 2 + 1


@pytest.mark.parametrize("flt", ["~u /v1/messages", "~d nowhere.example"])
def test_the_filter_goes_to_the_workers(tmp_path: Path, flt: str) -> None:
    result = same("--json", "--filter", flt, big(tmp_path))
    if "nowhere" in flt:
        assert result.exit_code == 1 and "excluded by --filter" in result.stderr
    else:
        assert {s["dialect"] for s in json.loads(result.stdout)["streams"]} == {"anthropic"}


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage after", "a payload", "a length prefix"],
)
def test_a_damaged_file_fails_where_and_as_in_one_process(tmp_path: Path, damage: str) -> None:
    path = big(tmp_path)
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    if damage == "truncated":
        data = data[:middle]
    elif damage == "garbage after":
        data += b"\n"
    elif damage == "a payload":
        at = data.index(b"status_code", middle)
        data[at : at + 11] = b"status_c0de"
    else:  # one more digit: the splitter finds no "}" where the flow would end
        with path.open("rb", buffering=0) as f:
            starts = [part.start for part in flow_ranges(f, max_flows=1)]
        at = starts[len(starts) // 2]
        data[at:at] = b"1"
    path.write_bytes(bytes(data))
    for view in (["--json"], []):
        result = same(*view, path, SAMPLES / "openai-chat.flow")  # the next file is read
        assert result.exit_code == 2 and "damaged or truncated after" in result.stderr
        assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize("seed", range(12))
def test_seeded_damage_reads_the_same(tmp_path: Path, seed: int) -> None:
    """Flipped bytes (in payloads, length prefixes, type bytes) and cuts anywhere."""
    rng = random.Random(seed)
    whole = big(tmp_path)
    with whole.open("rb", buffering=0) as f:
        starts = [part.start for part in flow_ranges(f, max_flows=1)]
    data = bytearray(whole.read_bytes())
    for _ in range(rng.randint(1, 3)):
        near = rng.choice(starts) + rng.randrange(-2, 8)  # a type byte or a length prefix
        at = rng.choice([rng.randrange(len(data)), max(0, near)])
        data[at] = rng.choice(b"0123456789:}],#x")
    if seed % 2:
        data = data[: rng.randrange(len(data))]
    path = tmp_path / "damaged.flow"
    path.write_bytes(bytes(data))
    same("--json", path, workers=looks_like_flows(bytes(data[:16])))  # else: read here


def test_why_nothing_was_found_is_the_same(tmp_path: Path) -> None:
    path = flows.write(tmp_path / "json.flow", [flows.json_flow() for _ in range(5)])
    result = same(path)
    assert result.exit_code == 1
    assert "json.flow: 5 flows, none with a text/event-stream response" in result.stderr


def test_jobs_must_be_positive() -> None:
    assert run("--jobs", "0", SAMPLES / "mixed.flow").exit_code == 2


def job(**options: object) -> Job:
    return Job(stream_record, prepare=redact_stream, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize("method", ["fork", "forkserver"])
def test_the_pool_counts_and_tells_its_progress(tmp_path: Path, method: str) -> None:
    path = big(tmp_path)
    whole = Tally()
    expected = [stream_record(analyze(redact_stream(s))) for s in read_capture(path, tally=whole)]
    tally, progress = Tally(), []
    with Pool(2, job(keep_first=True), method=method) as pool:
        assert pool.takes(str(path))
        got = list(pool.analysed(str(path), tally, progress.append))
    assert [record for record, _ in got] == expected
    assert tally == whole
    assert progress == sorted(progress) and progress[-1] == path.stat().st_size
    assert len(progress) > 1  # once per range
    kept = [a for _, a in got if a is not None]  # the first stream of each range
    assert kept and stream_record(kept[0]) == expected[0]


def test_a_caller_that_stops_early_stops_the_pool(tmp_path: Path) -> None:
    path = big(tmp_path)
    with Pool(2, job()) as pool:
        stream = pool.analysed(str(path), Tally())
        first = next(stream)
        stream.close()  # the ranges in flight are cancelled or dropped
    assert first[0]["source"] == str(path)


def test_what_is_not_a_large_flow_file_stays_here(tmp_path: Path) -> None:
    with Pool(2, job()) as pool:
        assert not pool.takes(str(SAMPLES / "chrome-export.har"))
        assert not pool.takes(str(SAMPLES / "openai-chat.sse"))
        assert not pool.takes(str(tmp_path / "missing.flow"))
    assert not Pool(1, job()).takes(str(SAMPLES / "mixed.flow"))  # --jobs 1
    with Pool(2, job(), min_bytes=10**9) as pool:
        assert not pool.takes(str(SAMPLES / "mixed.flow"))
    assert pool._executor is None  # nothing started


def test_an_analysis_travels_whole() -> None:
    """A Reading's read-only mappings pickle as multiprocessing sends them."""
    for a in (analyze(s) for p in FLOW_SAMPLES for s in read_capture(p)):
        back = pickle.loads(ForkingPickler.dumps(a))
        assert back == a and stream_record(back) == stream_record(a)
        assert frame_records(back) == frame_records(a)
