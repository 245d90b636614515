"""sse-inspect used from outside its checkout: the wheel `make dist` builds, and the
`sse_replay` fixture in another project's tests."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

from ..conftest import ROOT, SAMPLES


def test_the_wheel_holds_the_package_its_commands_and_the_fixture(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("sse_inspect-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "sse_inspect/capture/addon.py" in names and "sse_inspect/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "samples/", "bench/"))]
    (entry_points,) = [n for n in names if n.endswith("entry_points.txt")]
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "sse-inspect = sse_inspect.cli:main" in text
    assert "sse_inspect = sse_inspect.replay.pytest_plugin" in text


def test_another_project_uses_the_sse_replay_fixture(tmp_path: Path) -> None:
    (tmp_path / "test_my_client.py").write_text(
        textwrap.dedent(
            f"""
            import json
            import urllib.request

            def test_my_client_streams(sse_replay):
                base_url = sse_replay({str(SAMPLES / "captured-openai-chat.flow")!r}, no_delay=True)
                request = urllib.request.Request(
                    base_url + "/v1/chat/completions", data=b"{{}}", method="POST"
                )
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({{}}))
                body = opener.open(request, timeout=10).read().decode()
                assert body.rstrip().endswith("data: [DONE]")
                chunks = [json.loads(line[6:]) for line in body.splitlines()
                          if line.startswith("data: {{")]
                assert "".join(c["choices"][0]["delta"].get("content") or ""
                               for c in chunks if c["choices"])
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_my_client.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
