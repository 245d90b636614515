"""The committed samples are exactly what samples/make_samples.py writes."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .conftest import SAMPLES


def test_make_samples_reproduces_every_committed_sample(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(tmp_path)
    written = sorted(p.name for p in tmp_path.iterdir())
    committed = sorted(p.name for p in SAMPLES.iterdir() if p.suffix in {".flow", ".har", ".sse"})
    assert written == committed
    for name in written:
        assert (tmp_path / name).read_bytes() == (SAMPLES / name).read_bytes(), name
