"""What `sse-inspect analyze` prints for a person: the options that choose the views."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner, Result

from sse_inspect.cli import main

from .conftest import SAMPLES

CHAT = SAMPLES / "openai-chat.flow"


def run(*args: object, columns: int | None = None) -> Result:
    env = None if columns is None else {"COLUMNS": str(columns)}
    result = CliRunner().invoke(main, ["analyze", *map(str, args)], env=env)
    assert result.exit_code == 0, result.output
    return result


def test_events_show_what_each_event_carried() -> None:
    out = run("--events", CHAT).stdout
    assert "Carried" in out and 'text "Server-Sent"' in out and "[DONE]" in out
    assert "chat.completion.chunk" not in out


def test_raw_shows_the_data_instead() -> None:
    out = run("--events", "--raw", CHAT).stdout
    assert "Carried" not in out and '"object": "chat.completion.chunk"' in out
    assert re.search(r"^\s*[\d,]+\s+message\s+\{.*…\s*$", out, re.MULTILINE)  # one line each


def test_raw_and_full_fold_the_data_whole() -> None:
    doc = json.loads(run("--json", "--events", CHAT).stdout)
    data = doc["streams"][0]["frames"][1]["data"]
    out = run("--events", "--raw", "--full", CHAT, columns=80).stdout
    assert all(len(line) <= 80 for line in out.splitlines())
    assert re.sub(r"\s+", "", data) in re.sub(r"\s+", "", out)


def test_the_help_says_what_raw_and_details_do() -> None:
    text = " ".join(CliRunner().invoke(main, ["analyze", "--help"]).stdout.split())
    assert "With --events: show each event's raw data instead of what it carried." in text
    assert "one stream is always shown in full" in text
    assert "List every event of each stream and what it carried." in text


def test_the_table_names_the_file_of_each_row_when_there_are_several() -> None:
    several = run(SAMPLES / "mixed.flow", CHAT).stdout.splitlines()
    header = next(line for line in several if line.startswith("#"))
    assert "Source" in header
    rows = [line for line in several if re.match(r"\d+ ", line)]
    assert [("mixed.flow" in r, "openai-chat.flow" in r) for r in rows] == [
        (True, False),
        (True, False),
        (False, True),
    ]
    one = run(SAMPLES / "mixed.flow").stdout
    assert "Source" not in one.splitlines()[1]


def test_gaps_keep_their_thousands_separator_in_the_table() -> None:
    out = run(SAMPLES / "mixed.flow").stdout
    assert "37/54/575/1,387" in out and "1387" not in out
