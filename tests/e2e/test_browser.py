"""The headless-browser driver that the report and mitmweb tests stand on."""

from __future__ import annotations

from pathlib import Path

import pytest

from sse_inspect.demo.browser import Browser, BrowserError, find_chromium

pytestmark = pytest.mark.skipif(
    find_chromium() is None, reason="needs Chromium (apt install chromium)"
)

PAGE = """<!doctype html><html><head>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>
body { background: white } @media (prefers-color-scheme: dark) { body { background: black } }
</style></head><body><h1 id=h>before</h1>
<button id=b onclick="document.getElementById('h').textContent = 'after'">go</button>
<script>console.error("from the page"); setTimeout(() => { throw new Error("later") }, 10)</script>
<img src="missing.png"></body></html>"""


@pytest.fixture
def page(tmp_path: Path) -> str:
    path = tmp_path / "page.html"
    path.write_text(PAGE)
    return path.as_uri()


def test_it_reads_the_dom_clicks_and_collects_every_kind_of_error(page: str) -> None:
    with Browser(800, 600) as b:
        b.open(page)
        assert b.evaluate("document.getElementById('h').textContent") == "before"
        b.click("#b")
        assert b.wait_for("document.getElementById('h').textContent === 'after'")
        b.wait_for("performance.now() > 200")
        errors = b.console_errors
    assert any("from the page" in e for e in errors)
    assert any("later" in e for e in errors)
    assert any("ERR_FILE_NOT_FOUND" in e for e in errors)
    assert page in b.requests and any(u.endswith("missing.png") for u in b.requests)


def test_dark_mode_and_a_phone_width_are_what_the_page_sees(page: str, tmp_path: Path) -> None:
    with Browser(390, 800, dark=True) as b:
        b.open(page)
        assert b.evaluate("matchMedia('(prefers-color-scheme: dark)').matches") is True
        assert b.evaluate("getComputedStyle(document.body).backgroundColor") == "rgb(0, 0, 0)"
        assert b.evaluate("window.innerWidth") == 390  # a phone, with the page's viewport
        shot = b.screenshot(tmp_path / "page.png")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_wait_that_never_comes_true_times_out(page: str) -> None:
    with Browser() as b:
        b.open(page)
        with pytest.raises(BrowserError, match="timed out"):
            b.wait_for("false", timeout=0.3)
        with pytest.raises(BrowserError, match="nothing matches"):
            b.click("#no-such-thing")
