"""What a capture says, checked before use: times, sizes, statuses, order, text (load/checks.py
and Contract 2's unpack), and the JSONL reader's times."""

from __future__ import annotations

import json
import math
import re
import struct
from pathlib import Path
from typing import Any

import pytest

from sse_inspect.capture import contract
from sse_inspect.load import checks, read_capture

from .. import flows

T0 = flows.T0


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, -math.inf, 10**400, -1e18, 0, 631151999.0, 4102444800.0, True, "1", None],
)
def test_no_time_is_an_epoch(value: Any) -> None:
    assert contract.epoch(value) is None


@pytest.mark.parametrize("value", [631152000, T0, 4102444799.5])
def test_times_from_1990_to_2100_are(value: float) -> None:
    assert contract.epoch(value) == float(value)


def test_a_huge_number_is_shown_by_its_length() -> None:
    assert contract.shown(10**400) == "a 401-digit number"
    assert contract.shown("x" * 100, 10) == "'xxxxxxxx…"


def test_unpack_of_good_metadata_says_nothing() -> None:
    meta = contract.pack([[T0, 3], [T0 + 1, 4]], complete=True)
    recorded = contract.unpack(meta, 7, T0 + 2)
    assert recorded == contract.Recorded(((T0, 3), (T0 + 1, 4)), True, False, ())


def test_unpack_of_no_metadata_is_none_and_of_an_unknown_version_a_note() -> None:
    assert contract.unpack(None, 5, T0) is None
    recorded = contract.unpack({"version": 3, "times": b""}, 5, T0)
    assert recorded is not None and recorded.chunks is None and recorded.complete is None
    assert recorded.notes == ("the capture's sse_inspect metadata is unknown (version 3): ignored",)


def v2(times: list[float], sizes: list[int], **more: Any) -> dict[str, Any]:
    """Version 2 metadata packed by hand, as Contract 2 describes it."""
    packed = struct.pack(f"<{len(times)}d", *times), struct.pack(f"<{len(sizes)}I", *sizes)
    return {"version": 2, "times": packed[0], "sizes": packed[1], "complete": True, **more}


def test_seal_packs_version_2_little_endian_and_unpack_reads_it_as_version_1() -> None:
    chunks: list[list[float | int]] = [[T0, 3], [T0 + 0.25, 4], [T0 + 1, 0], [T0 + 2, 5]]
    sealed = contract.seal(chunks, complete=True)
    assert sealed == v2([T0, T0 + 0.25, T0 + 1, T0 + 2], [3, 4, 0, 5])
    for size in (12, 7, 20):  # all of it, cut, and stored bytes no chunk accounts for
        old = contract.unpack(contract.pack(chunks, complete=True), size, T0 + 3)
        assert contract.unpack(sealed, size, T0 + 3) == old
        assert old is not None and old.notes == () and old.chunks is not None
    assert contract.stored_chunks(sealed) == contract.stored_chunks(contract.pack(chunks))
    assert contract.stored_chunks(sealed) == [(T0, 3), (T0 + 0.25, 4), (T0 + 1, 0), (T0 + 2, 5)]


def test_seal_of_no_chunks_and_of_a_size_no_uint32_holds() -> None:
    assert contract.seal([], complete=False) == v2([], [], complete=False)
    empty = contract.unpack(contract.seal([], complete=False), 4, T0)
    assert empty == contract.Recorded(((T0, 4),), False, False, ())
    huge = contract.seal([[T0, 2**32]], complete=True)
    assert huge == {"version": 1, "chunks": [[T0, 2**32]], "complete": True}  # still readable


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"times": "AAAA"}, "'times' is 'AAAA', not bytes"),
        ({"times": [T0]}, "'times' is [1700000000.0], not bytes"),
        ({"times": None}, "'times' is None, not bytes"),
        ({"sizes": [3, 4]}, "'sizes' is [3, 4], not bytes"),
        ({"times": b"\0" * 15}, "'times' is 15 bytes, not a whole number of float64s"),
        ({"sizes": b"\0" * 6}, "'sizes' is 6 bytes, not a whole number of uint32s"),
        ({"sizes": struct.pack("<3I", 3, 4, 5)}, "'times' has 2 chunks and 'sizes' 3"),
        ({"times": struct.pack("<d", T0)}, "'times' has 1 chunks and 'sizes' 2"),
        (
            {"times": struct.pack("<2d", T0, math.nan)},
            "chunk 2 has time nan, not epoch seconds from 1990 to 2100",
        ),
        (
            {"times": struct.pack("<2d", math.inf, T0)},
            "chunk 1 has time inf, not epoch seconds from 1990 to 2100",
        ),
        (
            {"times": struct.pack("<2d", T0, 7.3e9)},
            "chunk 2 has time 7300000000.0, not epoch seconds from 1990 to 2100",
        ),
        (
            {"times": struct.pack("<2d", 0.0, T0)},
            "chunk 1 has time 0.0, not epoch seconds from 1990 to 2100",
        ),
        (
            {"times": struct.pack(">2d", T0, T0 + 1)},  # big-endian: no such times
            "chunk 1 has time 1.3789931755e-312, not epoch seconds from 1990 to 2100",
        ),
    ],
)
def test_version_2_columns_that_are_no_chunks_drop_the_timing_with_a_note(
    change: dict[str, Any], why: str
) -> None:
    recorded = contract.unpack(v2([T0, T0 + 1], [3, 4]) | change, 7, T0)
    assert recorded is not None and recorded.chunks is None and recorded.complete is True
    assert recorded.notes == (f"per-chunk timing dropped: {why}",)
    with pytest.raises(ValueError, match=re.escape(why)):
        contract.stored_chunks(v2([T0, T0 + 1], [3, 4]) | change)


def test_version_2_complete_and_truncated_are_checked_as_in_version_1() -> None:
    recorded = contract.unpack(v2([T0], [3], complete="yes", truncated=1), 3, T0)
    assert recorded is not None and recorded.chunks == ((T0, 3),)
    assert not recorded.complete and not recorded.truncated and len(recorded.notes) == 2
    capped = contract.unpack(v2([T0, T0 + 1], [3, 4], truncated=True, max_bytes=5), 5, T0)
    assert capped == contract.Recorded(((T0, 3), (T0 + 1, 2)), True, True, ())


@pytest.mark.parametrize(
    ("chunks", "why"),
    [
        ([[T0, 3], [math.nan, 4]], "chunk 2 has time nan, not epoch seconds from 1990 to 2100"),
        ([[T0, -3]], "chunk 1 has size -3, not a byte count"),
        ([[T0, 3.0]], "chunk 1 has size 3.0, not a byte count"),
        ([[T0, True]], "chunk 1 has size True, not a byte count"),
        ([[T0, 3, 4]], "chunk 1 is [1700000000.0, 3, 4], not a [time, size] pair"),
        ("[[1, 2]]", "'chunks' is '[[1, 2]]', not a list"),
    ],
)
def test_chunks_that_are_no_chunks_drop_the_timing_with_a_note(chunks: Any, why: str) -> None:
    recorded = contract.unpack({"version": 1, "chunks": chunks, "complete": True}, 7, T0)
    assert recorded is not None and recorded.chunks is None and recorded.complete is True
    assert recorded.notes == (f"per-chunk timing dropped: {why}",)


def test_in_order_clamps_times_going_backwards_and_before_the_start() -> None:
    notes: list[str] = []
    chunks = ((T0 + 1.0, 1), (T0 + 0.5, 1), (T0 + 2.0, 1), (T0 + 1.9, 1))
    assert checks.in_order(chunks, T0, notes) == (
        (T0 + 1.0, 1), (T0 + 1.0, 1), (T0 + 2.0, 1), (T0 + 2.0, 1),
    )  # fmt: skip
    assert notes == [checks.BACKWARDS.format(n=2, total=4, by="500")]
    notes.clear()
    assert checks.in_order(((T0 - 0.002, 1), (T0 + 1, 1)), T0, notes) == ((T0, 1), (T0 + 1, 1))
    assert notes == [checks.BEFORE_START.format(n=1, total=2, by="2.0")]


def test_in_order_of_times_in_order_says_nothing() -> None:
    notes: list[str] = []
    chunks = ((T0, 1), (T0, 2), (T0 + 1, 3))
    assert checks.in_order(chunks, T0, notes) == chunks and notes == []


@pytest.mark.parametrize("value", [100, 200, 999])
def test_statuses(value: int) -> None:
    notes: list[str] = []
    assert checks.status(value, notes) == value and notes == []


@pytest.mark.parametrize("value", [99, 1000, 0, -1, True, 200.0, "200", 10**400])
def test_no_statuses(value: Any) -> None:
    notes: list[str] = []
    assert checks.status(value, notes) is None
    assert notes == [
        f"status {contract.shown(value)} is not an HTTP status (100 to 999): taken as unknown"
    ]


def test_a_missing_status_is_unknown_and_noted_only_where_required() -> None:
    notes: list[str] = []
    assert checks.status(None, notes) is None and notes == []
    assert checks.status(None, notes, required=True) is None and len(notes) == 1


def test_text_makes_escaped_bytes_latin_1_and_other_surrogates_replacement() -> None:
    escaped = b"caf\xe9".decode("utf-8", "surrogateescape")
    assert checks.text(escaped) == "café"
    assert checks.text("a\ud800b") == "a\ufffdb"
    assert checks.text("plain ✓") == "plain ✓"


def test_url_percent_encodes_brackets_of_no_ipv6_host() -> None:
    notes: list[str] = []
    assert checks.url("http://exa[mple.com/x?a=[1]", notes) == "http://exa%5Bmple.com/x?a=[1]"
    assert len(notes) == 1 and "its brackets are percent-encoded" in notes[0]
    notes.clear()
    assert checks.url("http://[::1]:8000/v1", notes) == "http://[::1]:8000/v1" and notes == []


def test_a_flow_with_times_out_of_order_reads_in_order(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.3, b"data: a\n\n"), (0.1, b"data: b\n\n")])
    assert f.response is not None
    f.response.timestamp_end = T0 + 0.4
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    assert s.chunks == ((T0 + 0.3, 9), (T0 + 0.3, 9))
    assert s.notes == (checks.BACKWARDS.format(n=1, total=2, by="200"),)


# -- the JSONL reader's times ---------------------------------------------------------------


def _jsonl(path: Path, *times: Any) -> Path:
    lines = [
        json.dumps({"flow_id": "f", "t": t, "event": "message", "id": "", "data": str(i)})
        for i, t in enumerate(times)
    ]
    path.write_text("".join(line + "\n" for line in lines), "utf-8")
    return path


@pytest.mark.parametrize("bad", [math.nan, math.inf, 10**400, 1e300])
def test_jsonl_times_that_are_no_times_drop_the_timing_with_a_note(
    bad: Any, tmp_path: Path
) -> None:
    (s,) = read_capture(_jsonl(tmp_path / "x.jsonl", 0.1, bad, 0.3))
    assert s.chunks is None and s.request_start is None
    assert s.notes == (
        f"per-chunk timing dropped: event 2 has t {contract.shown(bad)}, not seconds",
    )


def test_jsonl_times_going_backwards_or_before_the_start_are_clamped(tmp_path: Path) -> None:
    (s,) = read_capture(_jsonl(tmp_path / "x.jsonl", -0.5, 0.2, 0.1))
    assert s.chunks is not None and [t for t, _ in s.chunks] == [0.0, 0.2, 0.2]
    assert len(s.notes) == 2
    assert s.notes[0].startswith("chunk times go backwards: 1 of 3 chunks")
    assert s.notes[1].startswith("chunk times come before the request start: 1 of 3 chunks")
