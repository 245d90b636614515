"""Loading .flow, HAR and raw .sse captures into Streams, and refusing bad input clearly."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from mitmproxy import flowfilter

from sse_inspect.capture import contract
from sse_inspect.load import CaptureError, NotACapture, Tally, read_capture

from .. import flows
from ..conftest import SAMPLES


def test_flow_with_addon_metadata_has_per_chunk_timing(tmp_path: Path) -> None:
    path = flows.write(
        tmp_path / "c.flow", [flows.sse_flow([(0.3, b"data: a\n\n"), (0.5, b"data: b\n\n")])]
    )
    (s,) = read_capture(path)
    assert s.timing == "per-chunk"
    assert s.chunks == ((flows.T0 + 0.3, 9), (flows.T0 + 0.5, 9))
    assert s.request_start == flows.T0 and s.method == "POST" and s.status == 200
    assert ("Authorization", "Bearer k") in s.request_headers
    assert s.complete


def test_flow_with_version_2_metadata_reads_as_version_1_does(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.3, b"data: a\n\n"), (0.5, b"data: b\n\n"), (0.6, b"data: c")])
    (v1,) = read_capture(flows.write(tmp_path / "v1.flow", [f]))
    meta = f.metadata["sse_inspect"]
    f.metadata["sse_inspect"] = contract.seal(meta["chunks"], meta["complete"])
    path = flows.write(tmp_path / "v2.flow", [f])
    assert b"5:sizes;" in path.read_bytes() and b"6:chunks;" not in path.read_bytes()
    (v2,) = read_capture(path)
    assert replace(v2, source=v1.source) == v1
    assert v2.timing == "per-chunk" and v2.notes == ()
    assert v2.chunks == ((flows.T0 + 0.3, 9), (flows.T0 + 0.5, 9), (flows.T0 + 0.6, 7))


def test_bad_version_2_metadata_drops_the_timing_with_a_note(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.3, b"data: a\n\n"), (0.5, b"data: b\n\n")])
    f.metadata["sse_inspect"] = contract.seal(f.metadata["sse_inspect"]["chunks"], True)
    f.metadata["sse_inspect"]["sizes"] += b"\0\0"
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    assert s.timing == "none" and s.complete and s.body == b"data: a\n\ndata: b\n\n"
    assert s.notes == (
        "per-chunk timing dropped: 'sizes' is 10 bytes, not a whole number of uint32s",
    )


def test_our_own_har_export_gives_its_event_times_back(tmp_path: Path) -> None:
    text = "data: a\n\ndata: b\n\n"
    times = [1735787045.75, 1735787046.25]  # after its startedDateTime
    messages = [{"time": t, "eventName": "message", "eventId": "", "data": d}
                for t, d in zip(times, "ab", strict=True)]  # fmt: skip
    entry = flows.har_entry(text, _eventSourceMessages=messages)
    (s,) = read_capture(flows.har(tmp_path / "x.har", [entry]))
    assert s.timing == "per-chunk" and s.chunks == ((times[0], 9), (times[1], 9))


def test_flow_from_plain_mitmproxy_has_no_timing(tmp_path: Path) -> None:
    path = flows.write(tmp_path / "c.flow", [flows.sse_flow([(0.3, b"data: a\n\n")], record=False)])
    (s,) = read_capture(path)
    assert s.timing == "none" and s.body == b"data: a\n\n"


def test_only_event_streams_are_read(tmp_path: Path) -> None:
    path = flows.write(
        tmp_path / "c.flow",
        [flows.json_flow(), flows.sse_flow([(0.1, b"data: a\n\n")]), flows.json_flow()],
    )
    assert len(list(read_capture(path))) == 1


def test_filter_expressions_select_flows() -> None:
    everything = list(read_capture(SAMPLES / "mixed.flow"))
    assert [s.url.rsplit("/", 1)[-1] for s in everything if s.url] == ["completions", "messages"]
    only = list(read_capture(SAMPLES / "mixed.flow", flowfilter.parse("~u /v1/messages")))
    assert [s.url for s in only] == ["http://127.0.0.1:8000/v1/messages"]


def test_cut_stream_keeps_its_partial_body_and_error() -> None:
    (s,) = read_capture(SAMPLES / "client-abort.flow")
    assert not s.complete and s.error == "Client disconnected."
    assert s.body and sum(n for _, n in s.chunks or ()) == len(s.body)


def test_recorded_chunks_longer_than_the_stored_body_are_cut(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.1, b"data: a\n\n"), (0.2, b"data: b\n\n")])
    assert f.response is not None
    f.response.raw_content = b"data: a\n\ndat"  # e.g. a byte cap on what was stored
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    assert s.chunks == ((flows.T0 + 0.1, 9), (flows.T0 + 0.2, 3))


def test_stored_bytes_no_chunk_accounts_for_are_kept(tmp_path: Path) -> None:
    f = flows.sse_flow([(0.1, b"data: a\n\n")])
    assert f.response is not None
    f.response.raw_content = b"data: a\n\ndata: b\n\n"
    (s,) = read_capture(flows.write(tmp_path / "c.flow", [f]))
    assert s.chunks == ((flows.T0 + 0.1, 9), (flows.T0 + 0.1, 9))


def test_har_entry_keeps_utf8_timings_and_drops_codings(tmp_path: Path) -> None:
    text = 'data: {"t": "café — 你好"}\n\n'
    path = flows.har(tmp_path / "x.har", [flows.har_entry(text, "text/event-stream")])
    (s,) = read_capture(path)
    assert s.body.decode("utf-8") == text  # not Latin-1, whatever the Content-Type says
    assert s.response_header("content-encoding") is None  # HAR text is stored decoded
    assert s.request_body == b'{"q": "hi"}'
    assert s.url == "https://chatgpt.com/backend-api/conversation"
    assert ("a", "1") in s.request_headers and all(
        not k.startswith(":") for k, _ in s.request_headers
    )
    assert s.request_start == pytest.approx(1735787045.5)
    assert s.response_start == pytest.approx(1735787045.8)
    assert s.response_end == pytest.approx(1735787047.5)
    assert s.timing == "none"


def test_har_non_sse_entries_are_skipped(tmp_path: Path) -> None:
    path = flows.har(tmp_path / "x.har", [flows.har_entry("{}", "application/json")])
    assert list(read_capture(path)) == []


def test_har_base64_body(tmp_path: Path) -> None:
    entry = flows.har_entry("ZGF0YTogaGkKCg==")
    entry["response"]["content"]["encoding"] = "base64"
    (s,) = read_capture(flows.har(tmp_path / "x.har", [entry]))
    assert s.body == b"data: hi\n\n"


def test_raw_sse_file(tmp_path: Path) -> None:
    path = tmp_path / "body.txt"
    path.write_bytes(b"\xef\xbb\xbf: hello\ndata: x\n\n")
    (s,) = read_capture(path)
    assert s.body.endswith(b"data: x\n\n") and s.method is None and s.timing == "none"


def test_empty_file_holds_no_streams(tmp_path: Path) -> None:
    path = tmp_path / "empty.flow"
    path.write_bytes(b"")
    assert list(read_capture(path)) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "not a mitmproxy flow, HAR or SSE file \\(nor"),
        (b"hello world\nthis is prose\n", "not a mitmproxy flow, HAR or SSE file"),
        (b'{"log": {"entries": []}}', "HAR file has no entries"),
        (b'{"log": {"entries": [', "invalid JSON"),
        (b'{"not": "a har"}', "no log.entries"),
        (b'{"log": {"entries": [{"request": {}}]}}', "HAR entry 0 is invalid"),
    ],
)
def test_bad_input_raises_a_one_line_capture_error(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(CaptureError, match=message) as e:
        list(read_capture(path))
    assert "\n" not in str(e.value) and str(path) in str(e.value)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match="no such file"):
        list(read_capture(tmp_path / "nope.flow"))
    with pytest.raises(CaptureError, match="is a directory"):
        list(read_capture(tmp_path))


def test_truncated_flow_file_yields_what_came_before_the_damage(tmp_path: Path) -> None:
    good = [flows.sse_flow([(0.1, b"data: %d\n\n" % i)]) for i in range(3)]
    path = flows.write(tmp_path / "c.flow", good)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    got = []
    with pytest.raises(CaptureError, match="damaged or truncated after 2 flows"):
        for s in read_capture(path):
            got.append(s.body)
    assert got == [b"data: 0\n\n", b"data: 1\n\n"]


def test_progress_reports_bytes_read() -> None:
    seen: list[int] = []
    list(read_capture(SAMPLES / "mixed.flow", on_progress=seen.append))
    assert seen == sorted(seen) and seen[-1] == (SAMPLES / "mixed.flow").stat().st_size


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"# Samples\n\nSmall captures.\n",
        b"#!/usr/bin/env python3\nimport sys\n",
        b'{"name": "package", "version": "1.0"}',  # JSON, but no HAR
        b'{"level": "info"}\n{"level": "warn"}\n',  # JSON Lines, but not our export
    ],
)
def test_a_file_that_is_no_capture_at_all_is_told_apart(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "README.md"
    path.write_bytes(content)
    with pytest.raises(NotACapture) as e:
        list(read_capture(path))
    assert e.value.source == str(path) and str(e.value).startswith(f"{path}: not ")


@pytest.mark.parametrize(
    "content",
    [
        b'{"log": {"entries": [',  # a HAR cut short
        b'{"log": {"entries": []}}',
        b'{"log": {"entries": [{"request": {}}]}}',
        b'{"log": {}}',
    ],
)
def test_a_damaged_capture_is_not_called_no_capture(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "x.har"
    path.write_bytes(content)
    with pytest.raises(CaptureError) as e:
        list(read_capture(path))
    assert not isinstance(e.value, NotACapture)


def test_a_truncated_flow_is_damaged_not_no_capture(tmp_path: Path) -> None:
    path = flows.write(tmp_path / "c.flow", [flows.sse_flow([(0.1, b"data: a\n\n")])])
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(CaptureError) as e:
        list(read_capture(path))
    assert not isinstance(e.value, NotACapture)


def _tally(path: Path, flt: str | None = None) -> Tally:
    tally = Tally()
    list(read_capture(path, flowfilter.parse(flt) if flt else None, tally=tally))
    return tally


def test_tally_counts_what_a_flow_file_held(tmp_path: Path) -> None:
    no_response = flows.json_flow()
    no_response.response = None
    sse = [flows.sse_flow([(0.1, b"data: a\n\n")], url=f"http://h/{i}") for i in range(3)]
    path = flows.write(tmp_path / "c.flow", [flows.json_flow(), no_response, *sse])
    assert _tally(path) == Tally("flow", 5, 3, 0, 1, 1)
    assert _tally(path, "~u /1") == Tally("flow", 5, 1, 2, 1, 1)
    assert _tally(path, "~u /nothing") == Tally("flow", 5, 0, 3, 1, 1)


def test_tally_of_an_empty_file_and_of_a_har(tmp_path: Path) -> None:
    empty = tmp_path / "empty.flow"
    empty.write_bytes(b"")
    assert _tally(empty) == Tally("flow")
    entries = [flows.har_entry("{}", "application/json"), flows.har_entry("data: a\n\n")]
    har = flows.har(tmp_path / "x.har", entries)
    assert _tally(har) == Tally("har", 2, 1, 0, 1, 0)
    assert _tally(har, "~u nothing") == Tally("har", 2, 0, 1, 1, 0)
    sse = tmp_path / "x.sse"
    sse.write_bytes(b"data: a\n\n")
    assert _tally(sse) == Tally("sse", 1, 1)


def test_har_time_to_first_byte_is_the_sum_of_the_phases_before_it(tmp_path: Path) -> None:
    # HAR 1.2: ssl is included in connect, and -1 means the phase does not apply.
    entry = flows.har_entry("data: a\n\n", time=900)
    entry["timings"] = {"blocked": 5, "dns": -1, "connect": 60, "ssl": 45, "send": 5, "wait": 130}
    (s,) = read_capture(flows.har(tmp_path / "x.har", [entry]))
    assert s.request_start is not None and s.response_start is not None
    assert (s.response_start - s.request_start) * 1e3 == pytest.approx(200, abs=1e-3)
    assert s.response_end == pytest.approx(s.request_start + 0.9)
