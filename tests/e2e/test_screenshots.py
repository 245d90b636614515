"""docs/make_screenshots.py's live screenshot: the proxy's live view in tmux, three streams
through it from a chat server on 127.0.0.1, the screen drawn as an SVG and photographed by
headless Chromium into a PNG."""

from __future__ import annotations

import importlib.util
import shutil
import struct
import sys
from pathlib import Path
from types import ModuleType

import pytest

from sse_inspect.demo.browser import find_chromium

SCRIPT = Path(__file__).resolve().parents[2] / "docs" / "make_screenshots.py"


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_screenshots", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    return module


def png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR"
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def test_the_live_screenshot_is_a_png_of_the_panel(tmp_path: Path) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux)")
    if find_chromium() is None:
        pytest.skip("no Chromium found (install Debian's `chromium`)")
    script = load_script()
    out = script.live_screenshot(tmp_path / "live.png")
    assert out == tmp_path / "live.png"
    width, height = png_size(out)
    # 120 columns of rich's 12.2 px cells and margins; the log lines and the panel's 8
    # lines and borders, at 24.4 px a line, in a window with a title bar
    assert 1300 <= width <= 1700, (width, height)
    assert 300 <= height <= 800, (width, height)
    assert out.stat().st_size > 20_000


def test_the_screen_is_read_when_one_stream_finished_and_two_stream() -> None:
    script = load_script()
    first, second, third = (s.path for s in script.LIVE_STREAMS)
    tail = "x" * script.MIN_TAIL

    def screen(state: str) -> str:
        rows = [(first, state), (second, "streaming"), (third, "streaming")]
        lines = [f"│ POST   127.0.0.1:1{path} openai  3  5  1.0  ▂▂ {s} │" for path, s in rows]
        return "\n".join(f"{line}\n│        {tail} │" for line in lines)

    assert script._ready(screen("complete"))
    assert not script._ready(screen("streaming"))
    svg = script.screen_svg("\x1b[36mstreaming\x1b[0m\n\n\n", title="t")
    assert "cdnjs" not in svg and "streaming" in svg
