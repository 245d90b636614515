"""The HTML report as a person sees it: every sample's page opened in headless Chromium
(file:// URL, nothing else), its DOM read after its script ran, a screenshot saved."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from sse_inspect.cli import main
from sse_inspect.demo.browser import Browser, find_chromium

from ..conftest import SAMPLES

pytestmark = pytest.mark.skipif(find_chromium() is None, reason="no Chromium installed")

ALL_SAMPLES = sorted(p for p in SAMPLES.iterdir() if p.suffix in (".flow", ".har", ".sse"))


def write_report(tmp_path: Path, *captures: Path) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path / "report.html"
    runner = CliRunner()
    result = runner.invoke(main, ["report", *map(str, captures), "-o", str(out)])
    assert result.exit_code == 0, result.output
    analysed = runner.invoke(main, ["analyze", "--json", *map(str, captures)])
    streams: list[dict[str, Any]] = json.loads(analysed.stdout)["streams"]
    return out, streams


@pytest.fixture
def browser() -> Iterator[Browser]:
    with Browser(width=1280, height=900) as b:
        yield b


def opened(b: Browser, page: Path) -> None:
    b.open(page.as_uri())
    b.wait_for("document.querySelectorAll('section.stream').length > 0")


@pytest.mark.parametrize("capture", ALL_SAMPLES, ids=lambda p: p.name)
def test_every_sample_renders_with_its_charts(
    browser: Browser, tmp_path: Path, capture: Path
) -> None:
    page, streams = write_report(tmp_path, capture)
    opened(browser, page)
    shown = browser.evaluate("document.body.innerText")
    for s in streams:
        assert " ".join(s["text"].split()) in " ".join(shown.split())
    timed = sum(s["timing"] == "per-chunk" for s in streams)
    counts = browser.evaluate(
        "[...document.querySelectorAll('section.stream')].map(s => "
        "s.querySelectorAll('svg[data-chart=timeline]').length)"
    )
    assert sum(counts) == timed and all(n <= 1 for n in counts)
    # drawn: each timeline has a visible size and a line in it
    sizes = browser.evaluate(
        "[...document.querySelectorAll('svg[data-chart=timeline]')].map(s => "
        "[s.getBoundingClientRect().width, s.querySelectorAll('path.line').length])"
    )
    assert all(w > 500 and lines >= 1 for w, lines in sizes)
    assert browser.console_errors == []
    assert all(url.startswith("file://") for url in browser.requests), browser.requests
    shot = browser.screenshot(tmp_path / f"{capture.stem}.png")
    assert shot.stat().st_size > 10_000


def test_sorting_by_a_column(browser: Browser, tmp_path: Path) -> None:
    page, streams = write_report(
        tmp_path, SAMPLES / "mixed.flow", SAMPLES / "captured-gemini.flow",
        SAMPLES / "plain-mitmproxy.flow",
    )  # fmt: skip
    opened(browser, page)
    order = "[...document.querySelectorAll('#summary tbody tr')].map(r => +r.dataset.n)"
    assert browser.evaluate(order) == [1, 2, 3, 4]
    ttft = [s["ttft_ms"] for s in streams]
    by_ttft = sorted((i for i, t in enumerate(ttft, 1) if t is not None), key=lambda i: ttft[i - 1])
    unknown = [i for i, t in enumerate(ttft, 1) if t is None]
    header = "#summary thead th:nth-child(7) button"  # TTFT
    assert browser.evaluate(f"document.querySelector({json.dumps(header)}).textContent") == "TTFT"
    browser.click(header)
    assert browser.evaluate(order) == [*by_ttft, *unknown]
    browser.click(header)  # again: descending, unknown values still last
    assert browser.evaluate(order) == [*reversed(by_ttft), *unknown]
    assert (
        browser.evaluate(
            "document.querySelector('#summary thead th:nth-child(7)').getAttribute('aria-sort')"
        )
        == "descending"
    )
    # a row's link leads to its stream
    browser.click("#summary tbody tr:first-child td a")
    assert browser.evaluate("location.hash") == f"#s{by_ttft[-1]}"
    assert browser.console_errors == []
    browser.screenshot(tmp_path / "sorted.png", full_page=False)


def test_dark_mode(tmp_path: Path) -> None:
    page, _ = write_report(tmp_path, SAMPLES / "mixed.flow")
    colours = "getComputedStyle(document.body).backgroundColor"
    with Browser(width=1280, height=900) as light:
        opened(light, page)
        light_bg = light.evaluate(colours)
    with Browser(width=1280, height=900, dark=True) as dark:
        opened(dark, page)
        dark_bg = dark.evaluate(colours)
        bar = dark.evaluate("getComputedStyle(document.querySelector('svg .bar')).fill")
        assert dark.console_errors == []
        dark.screenshot(tmp_path / "dark.png")
    assert luminance(light_bg) > 0.8 and luminance(dark_bg) < 0.2
    assert bar not in ("", "none", "rgb(0, 0, 0)")


def luminance(css: str) -> float:
    r, g, b = (int(x) for x in css[css.index("(") + 1 : css.index(")")].split(",")[:3])
    return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255


def test_phone_width_has_no_horizontal_overflow(tmp_path: Path) -> None:
    page, _ = write_report(tmp_path, SAMPLES / "mixed.flow", SAMPLES / "plain-mitmproxy.flow")
    with Browser(width=390, height=844) as phone:
        opened(phone, page)
        width = phone.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], width
        # the figure cards sit two by two, readable
        font = phone.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.card .value')).fontSize)"
        )
        assert font >= 16
        assert phone.console_errors == []
        phone.screenshot(tmp_path / "phone.png")
