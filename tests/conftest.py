"""Shared paths and markers.

Third-party test data lives in ``../shared`` (beside the checkout) or where
``SSE_INSPECT_SHARED`` points, and is read there, never copied. Tests under ``tests/e2e``
start real processes and carry the ``e2e`` marker: ``pytest -m "not e2e"`` is the quick
inner loop, CI runs everything.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
E2E = Path(__file__).resolve().parent / "e2e"


def _shared() -> tuple[Path, list[str]]:
    """Where the shared data is, and every place that was looked at."""
    env = os.environ.get("SSE_INSPECT_SHARED")
    candidates = [Path(env)] if env else []
    candidates.append(ROOT.parent / "shared")
    for candidate in candidates:
        if (candidate / "conformance").is_dir():
            return candidate, []
    looked = [f"SSE_INSPECT_SHARED={env}" if env else "SSE_INSPECT_SHARED (not set)"]
    return candidates[-1], [*looked, str(ROOT.parent / "shared")]


SHARED, _LOOKED = _shared()
SAMPLES = ROOT / "samples"


def pytest_configure(config: pytest.Config) -> None:
    if _LOOKED:
        raise pytest.UsageError(
            "the shared test data (conformance/, streams/) is missing: looked in "
            + " and ".join(_LOOKED)
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if E2E in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@pytest.fixture
def samples() -> Path:
    return SAMPLES
