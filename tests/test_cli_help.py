"""Help that a first-time user can read: examples everywhere, whole summaries, one set of
option names for the commands that listen."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main

from .conftest import SAMPLES

COMMANDS = ["analyze", "export", "capture", "replay", "report", "stats", "compare", "demo"]


def _help(*args: str) -> str:
    result = CliRunner().invoke(main, [*args, "--help"], terminal_width=80)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_examples_that_fit_80_columns(command: str) -> None:
    text = _help(command)
    examples = text.split("Examples:", 1)[1].splitlines()
    invocations = [line for line in examples if line.strip().startswith(f"sse-inspect {command}")]
    assert len(invocations) >= 2, text
    assert all(len(line) <= 80 for line in text.splitlines()), text


def test_the_command_list_shows_whole_summaries() -> None:
    listed = _help().split("Commands:", 1)[1].strip().splitlines()
    assert [line.split()[0] for line in listed] == sorted(COMMANDS)
    assert not any(line.rstrip().endswith("...") for line in listed), listed


def test_max_bytes_shows_its_default() -> None:
    assert "[default: (64 MiB)" in " ".join(_help("capture").split())


@pytest.mark.parametrize("command", ["capture", "replay"])
def test_both_listening_commands_document_the_same_option_names(command: str) -> None:
    text = _help(command)
    assert "-p, --port INTEGER" in text and "--host TEXT" in text
    assert "--listen-port" not in text and "--listen-host" not in text  # accepted, not shown


@pytest.mark.parametrize(
    "args",
    [
        ["-p", "9001", "--host", "127.0.0.2"],
        ["--port", "9001", "--host", "127.0.0.2"],
        ["--listen-port", "9001", "--listen-host", "127.0.0.2"],
    ],
)
def test_capture_accepts_both_spellings(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    seen: list[Any] = []
    monkeypatch.setattr(
        "sse_inspect.capture.proxy.run_capture", lambda config, view=None: seen.append(config)
    )
    result = CliRunner().invoke(main, ["capture", "-w", "+unused.flow", *args])
    assert result.exit_code == 0, result.output
    (config,) = seen
    assert (config.listen_host, config.listen_port) == ("127.0.0.2", 9001)


@pytest.mark.parametrize(
    "args",
    [
        ["-p", "9002", "--host", "127.0.0.3"],
        ["--listen-port", "9002", "--listen-host", "127.0.0.3"],
    ],
)
def test_replay_accepts_both_spellings(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> None:
    def refuse(streams: object, *, host: str, port: int, **options: object) -> None:
        raise OSError(98, f"busy {host}:{port}")

    monkeypatch.setattr("sse_inspect.replay.recordings.start_replay", refuse)
    result = CliRunner().invoke(main, ["replay", str(SAMPLES / "openai-chat.sse"), *args])
    assert result.exit_code == 2
    assert "cannot listen on 127.0.0.3:9002: busy 127.0.0.3:9002" in result.stderr
