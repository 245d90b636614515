"""Where an export cannot be written, one line and exit 2, nothing left behind; the files it
does write get the usual permissions; HAR request headers agree with the body."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main

from ..conftest import SAMPLES

SAMPLE = str(SAMPLES / "captured-openai-chat.flow")


def _export(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["export", SAMPLE, *args])
    return result.exit_code, result.stderr


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    yield
    os.umask(old)


@pytest.mark.parametrize(
    ("where", "says"),
    [
        ("missing/dir/out.har", "no such directory"),
        ("adir", "is a directory"),
        ("/proc/sse-inspect-out.har", "cannot write"),
    ],
)
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(
    tmp_path: Path, where: str, says: str
) -> None:
    (tmp_path / "adir").mkdir()
    target = where if where.startswith("/") else str(tmp_path / where)
    before = sorted(tmp_path.rglob("*"))
    code, err = _export("-o", target, "--format", "har")
    assert code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err and says in err, err
    assert sorted(tmp_path.rglob("*")) == before  # no temporary file left behind


def test_an_exported_file_respects_the_umask(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out.md"
    assert _export("-o", str(out))[0] == 0
    assert out.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["out.md"]


def test_overwriting_keeps_the_old_files_permissions(tmp_path: Path, umask_022: None) -> None:
    out = tmp_path / "out.jsonl"
    out.write_text("old\n")
    out.chmod(0o600)
    assert _export("-o", str(out), "--force")[0] == 0
    assert out.stat().st_mode & 0o777 == 0o600 and out.read_text() != "old\n"


def test_the_har_requests_content_length_matches_its_body(tmp_path: Path) -> None:
    out = tmp_path / "out.har"
    assert _export("-o", str(out))[0] == 0
    (entry,) = json.loads(out.read_text())["log"]["entries"]
    request = entry["request"]
    body = request["postData"]["text"].encode()
    lengths = [h["value"] for h in request["headers"] if h["name"].lower() == "content-length"]
    assert body and lengths == [str(len(body))]
    assert request["bodySize"] == len(body)


def test_nothing_to_report_writes_nothing(tmp_path: Path) -> None:
    empty = tmp_path / "empty.flow"
    empty.write_bytes(b"")
    out = tmp_path / "out.md"
    result = CliRunner().invoke(main, ["export", str(empty), "-o", str(out)])
    assert result.exit_code == 1 and "empty file" in result.stderr
    assert not out.exists()
