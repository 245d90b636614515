"""How figures read, the same in the terminal, in Markdown and wherever else they show."""

from __future__ import annotations

__all__ = ["ms", "shorten"]

DATA_WIDTH = 120


def ms(value: float | None) -> str:
    """Milliseconds for reading: whole ms with a thousands separator from 10 up, one
    decimal below."""
    if value is None:
        return "—"
    if abs(value) < 10:
        return f"{value:.1f}"
    return f"{value:,.0f}"


def shorten(data: str, width: int | None = DATA_WIDTH) -> str:
    """One line, newlines shown as ⏎, cut with … past ``width`` (``None``: never cut)."""
    flat = data.replace("\r", "\\r").replace("\n", "⏎")
    return flat if width is None or len(flat) <= width else flat[: width - 1] + "…"
