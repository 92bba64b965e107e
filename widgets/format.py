"""Number and time formatting shared by panes (pure functions, no I/O)."""

from __future__ import annotations

from rich.text import Text

from zconsole.checks.base import Status

# Critical states carry a background as well as a foreground: under NO_COLOR Textual turns
# colours into greys, and a red word on a dark background becomes unreadable grey-on-grey,
# while white on a coloured (then grey) background stays legible.
STATUS_STYLE = {
    Status.OK: "green",
    Status.WARN: "bold yellow",
    Status.CRIT: "bold white on red",
    Status.ERROR: "bold white on magenta",
    Status.UNKNOWN: "dim",
}


def status_text(status: Status, *, short: bool = False) -> Text:
    """A status as symbol plus word, coloured: readable with NO_COLOR and in 16 colours."""
    word = status.value.upper()
    return Text(f"{status.symbol} {word[:4] if short else word}", style=STATUS_STYLE[status])


def human_duration(seconds: float | None) -> str:
    """Compact: 45s, 12m, 3h05m, 2d04h."""
    if seconds is None:
        return "–"
    s = int(max(seconds, 0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s" if s < 600 else f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


def bar(percent: float, width: int = 10) -> str:
    """A text bar that reads without colour: ███████░░░."""
    filled = round(max(0.0, min(percent, 100.0)) / 100 * width)
    return "█" * filled + "░" * (width - filled)
