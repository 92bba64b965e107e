"""Numbers as people read them, the same way on every output path (panes, summaries, previews,
the timeline)."""

from __future__ import annotations

_UNITS = ("B", "K", "M", "G", "T")


def human_bytes(n: float | None, *, spelled: bool = False) -> str:
    """Binary units, one decimal: 512B, 1.5K, 3.2G for a pane's narrow columns; ``spelled`` for
    text read later (previews, the timeline, the postmortem): 512 B, 1.5 KiB, 3.2 GiB.
    "–" when unknown."""
    if n is None:
        return "–"
    value = float(n)
    for unit in _UNITS:
        if abs(value) < 1024 or unit == _UNITS[-1]:
            break
        value /= 1024
    if spelled:
        name = unit if unit == "B" else f"{unit}iB"
        return f"{value:.0f} {name}" if unit == "B" else f"{value:.1f} {name}"
    return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
