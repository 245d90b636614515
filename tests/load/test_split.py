"""Cutting a .flow file into ranges of whole flows (length prefixes only), and reading one
range as a reading of the whole file would."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from mitmproxy import flowfilter

from sse_inspect.load import CaptureError, Tally, read_capture
from sse_inspect.load.split import FlowRange, flow_ranges, looks_like_flows, read_range

from .. import flows
from ..conftest import SAMPLES

FLOW_SAMPLES = sorted(SAMPLES.glob("*.flow"))


def capture(tmp_path: Path, tail: bytes = b"", name: str = "all.flow") -> Path:
    """Every sample .flow one after the other (several dialects, a JSON flow, flows
    without the addon's metadata), then ``tail``."""
    path = tmp_path / name
    path.write_bytes(b"".join(p.read_bytes() for p in FLOW_SAMPLES) + tail)
    return path


def ranges(path: Path, **cut: int) -> list[FlowRange]:
    with path.open("rb", buffering=0) as f:
        return list(flow_ranges(f, **cut))


def read_all(path: Path, parts: list[FlowRange], flt: str | None = None) -> tuple[list[str], Tally]:
    """The flow ids of the streams of every range, read one by one, and the tallies summed."""
    total = Tally(format="flow")
    ids = []
    with path.open("rb") as f:
        for part in parts:
            tally = Tally()
            ids += [s.flow_id for s in read_range(f, part, str(path), _parse(flt), tally)]
            for name in ("flows", "event_streams", "filtered", "not_event_streams", "no_response"):
                setattr(total, name, getattr(total, name) + getattr(tally, name))
    return ids, total


def _parse(flt: str | None) -> flowfilter.TFilter | None:
    return None if flt is None else flowfilter.parse(flt)


def whole(path: Path, flt: str | None = None) -> tuple[list[str], Tally]:
    tally = Tally()
    return [s.flow_id for s in read_capture(path, _parse(flt), tally=tally)], tally


def flow_count() -> int:
    """The flows of every sample, as mitmproxy's reader finds them."""
    count = 0
    for p in FLOW_SAMPLES:
        tally = Tally()
        list(read_capture(p, tally=tally))
        count += tally.flows
    return count


def test_ranges_are_whole_flows_end_to_end(tmp_path: Path) -> None:
    path = capture(tmp_path)
    size = path.stat().st_size
    for cut in ({"max_flows": 1}, {"max_flows": 3}, {"max_bytes": 30_000}, {}):
        parts = ranges(path, **cut)
        assert parts[0].start == 0 and parts[-1].end == size
        for before, after in itertools.pairwise(parts):
            assert before.end == after.start and after.first == before.first + before.flows
        assert all(p.flows >= 1 for p in parts)
        assert sum(p.flows for p in parts) == flow_count()
        if "max_flows" in cut:
            assert all(p.flows <= cut["max_flows"] for p in parts)
    assert len(ranges(path)) == 1  # the defaults: a few MB or a few hundred flows
    # a flow larger than max_bytes is a range of its own, never split
    assert all(p.flows == 1 for p in ranges(path, max_bytes=1))


@pytest.mark.parametrize("flt", [None, "~u /v1/messages", "~u /nothing"])
def test_the_ranges_read_as_the_whole_file(tmp_path: Path, flt: str | None) -> None:
    path = capture(tmp_path)
    ids, tally = whole(path, flt)
    for cut in (1, 2, 5):
        assert read_all(path, ranges(path, max_flows=cut), flt) == (ids, tally)


@pytest.mark.parametrize(
    ("tail", "what"),
    [
        (b"\n", "a newline after the last flow"),
        (b"12", "digits and no colon"),
        (b"1234567890123:x", "13 digits"),
        (b"5:abcde]", "a list, not a dict"),
        (b"5:ab", "truncated"),
        (b"{}", "JSON"),
        (b"\xef\xbb\xbf{", "a BOM"),
        (b":", "a colon without a length"),
    ],
)
def test_anything_odd_is_the_rest_of_the_file_unchecked(
    tmp_path: Path, tail: bytes, what: str
) -> None:
    path = capture(tmp_path, tail)
    size = path.stat().st_size
    parts = ranges(path, max_flows=4)
    *checked, rest = parts
    assert rest == FlowRange(size - len(tail), None, sum(p.flows for p in checked), 0), what
    # and it reads as the whole file does: the streams before it, then the same error
    with pytest.raises(CaptureError) as whole_error:
        list(read_capture(path))
    with path.open("rb") as f:
        for part in checked:
            list(read_range(f, part, str(path), None, Tally()))
        with pytest.raises(CaptureError) as range_error:
            list(read_range(f, rest, str(path), None, Tally()))
    assert str(range_error.value) == str(whole_error.value), what


def test_a_damaged_payload_says_where_counting_every_flow_before(tmp_path: Path) -> None:
    """Length prefixes and type bytes intact, a payload broken: the range holding it says
    what the whole file says, counting the flows of the ranges before."""
    path = capture(tmp_path)
    data = bytearray(path.read_bytes())
    parts = ranges(path, max_flows=2)
    third = parts[2]
    at = data.index(b"status_code", third.start)
    data[at : at + 11] = b"status_c0de"  # a field mitmproxy needs, renamed
    path.write_bytes(bytes(data))
    assert ranges(path, max_flows=2) == parts  # nothing the splitter looks at changed
    with pytest.raises(CaptureError) as whole_error:
        list(read_capture(path))
    assert f"damaged or truncated after {third.first} flows" in str(whole_error.value)
    with path.open("rb") as f, pytest.raises(CaptureError) as range_error:
        list(read_range(f, third, str(path), None, Tally()))
    assert str(range_error.value) == str(whole_error.value)


def test_a_file_that_starts_odd_is_one_unchecked_range(tmp_path: Path) -> None:
    path = tmp_path / "x.flow"
    path.write_bytes(b"99999999:" + b"x" * 10)
    assert ranges(path) == [FlowRange(0, None, 0, 0)]
    path.write_bytes(b"")
    assert ranges(path) == []


def test_looks_like_flows() -> None:
    assert looks_like_flows(b"123:")
    assert looks_like_flows((SAMPLES / "mixed.flow").read_bytes()[:16])
    assert not looks_like_flows(b"")
    assert not looks_like_flows(b"1234567890123:")
    assert not looks_like_flows(b'{"log": {}}')
    assert not looks_like_flows(b"data: x\n\n")


def test_flows_of_other_kinds_are_counted_where_they_are(tmp_path: Path) -> None:
    sse = flows.sse_flow([(0.1, b"data: {}\n\n")])
    path = flows.write(tmp_path / "kinds.flow", [flows.json_flow(), sse, flows.json_flow(), sse])
    parts = ranges(path, max_flows=1)
    assert [p.flows for p in parts] == [1, 1, 1, 1]
    ids, tally = read_all(path, parts)
    assert (ids, tally) == whole(path)
    assert tally.flows == 4 and tally.not_event_streams == 2 and tally.event_streams == 2
