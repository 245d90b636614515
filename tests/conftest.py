"""Shared paths: third-party test data lives in ../shared and is read, never copied."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _shared() -> Path:
    """../shared beside the checkout; SSE_INSPECT_SHARED or this machine's copy otherwise
    (a clone made elsewhere). Missing data fails the tests that need it, never skips them."""
    for candidate in (os.environ.get("SSE_INSPECT_SHARED"), ROOT.parent / "shared", "/work/shared"):
        if candidate and (Path(candidate) / "conformance").is_dir():
            return Path(candidate)
    return ROOT.parent / "shared"


SHARED = _shared()
SAMPLES = ROOT / "samples"


@pytest.fixture
def samples() -> Path:
    return SAMPLES
