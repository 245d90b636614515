"""The package's surface: the public API, ``__all__`` everywhere, and what loads what."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys

import pytest

import sse_inspect

from .conftest import ROOT

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(sse_inspect.__path__, "sse_inspect.")
    if m.name != "sse_inspect.__main__"  # runs the CLI when imported
)


@pytest.mark.parametrize("name", MODULES)
def test_every_module_says_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if module.__file__ and module.__file__.endswith("__init__.py") and exported is None:
        return  # a package that only describes its stage
    assert isinstance(exported, list), f"{name} has no __all__"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it lacks: {missing}"


def test_the_public_api_resolves_every_name() -> None:
    assert sorted(sse_inspect.__all__) == sorted(dir(sse_inspect))
    for name in sse_inspect.__all__:
        assert getattr(sse_inspect, name) is not None, name
    assert sse_inspect.SSEDecoder.__module__ == "sse_inspect.sse"
    with pytest.raises(AttributeError):
        _ = sse_inspect.no_such_name


def test_the_public_api_reads_and_analyses_a_capture() -> None:
    (stream,) = sse_inspect.read_capture(ROOT / "samples" / "openai-chat.sse")
    a = sse_inspect.analyze(stream)
    assert isinstance(a, sse_inspect.Analysis) and a.dialect == "openai-chat"
    assert sse_inspect.stream_record(a)["text"] == a.answer.first.text != ""


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {m for m in out.split() if m.startswith(("rich", "sse_inspect"))}


HEAVY = ("rich", "sse_inspect.dialects", "sse_inspect.analysis", "sse_inspect.present")


@pytest.mark.e2e
def test_the_capture_addon_loads_no_analysis_and_no_rich() -> None:
    loaded = _loaded_after("import runpy; runpy.run_path('addons/sse_capture.py')")
    assert "sse_inspect.capture.addon" in loaded
    assert not [m for m in loaded if m.startswith(HEAVY)], sorted(loaded)


@pytest.mark.e2e
def test_importing_the_package_loads_nothing_until_a_name_is_used() -> None:
    assert _loaded_after("import sse_inspect") == {"sse_inspect"}
    assert "sse_inspect.sse" in _loaded_after("from sse_inspect import SSEDecoder")


@pytest.mark.e2e
def test_the_cli_loads_the_replay_server_only_for_replay() -> None:
    # tornado and the server cost ~0.1 s of every command's start-up otherwise
    loaded = _loaded_after("import sse_inspect.cli")
    assert "sse_inspect.cli" in loaded and "sse_inspect.replay" in loaded
    assert not {"sse_inspect.replay.server", "sse_inspect.replay.recordings"} & loaded
