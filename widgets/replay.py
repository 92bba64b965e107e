"""Time travel on screen: the REPLAY banner, the status history strips, the go-to-time prompt.

They only draw what the app hands them (a moment, per-source status buckets) and answer with
the text typed; reading the recording is the app's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from zconsole.checks.base import Status
from zconsole.widgets.format import STATUS_STYLE, human_duration
from zconsole.widgets.quiet import show
from zconsole.widgets.text import inert

#: What the banner tells about moving in time (the keys are the app's time bindings).
KEYS_HINT = "[ ] poll · { } minute · ( ) change · g go to · G live"
#: One cell of a strip per status; no status (nothing recorded) is a dot.
CELL = {
    Status.OK: "▁",
    Status.UNKNOWN: "?",
    Status.WARN: "▄",
    Status.CRIT: "█",
    Status.ERROR: "█",
}


def ago_text(seconds: float) -> str:
    """ "40 s ago", "17 min ago", "3h05m ago"."""
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds // 60:.0f} min ago"
    return f"{human_duration(seconds)} ago"


def replay_text(moment: datetime, now: datetime) -> Text:
    """`⏪ REPLAY 03:12:04 · 17 min ago`, the words a screenshot of the past must carry."""
    text = Text()
    text.append(f" ⏪ REPLAY {moment:%H:%M:%S}", style="bold reverse yellow")
    text.append(f" · {ago_text((now - moment).total_seconds())}", style="bold yellow")
    if moment.date() != now.date():
        text.append(f" · {moment:%Y-%m-%d}", style="yellow")
    text.append(" · actions off  ", style="yellow")
    text.append(KEYS_HINT, style="dim")
    return text


class ReplayBanner(Static):
    """One line while the cursor is in the past; hidden while live."""

    DEFAULT_CSS = """
    ReplayBanner { height: 1; display: none; background: $panel; }
    ReplayBanner.-replay { display: block; }
    """

    def set_moment(self, moment: datetime | None, now: datetime) -> None:
        self.set_class(moment is not None, "-replay")
        if moment is not None:
            show(self, replay_text(moment, now))


class HistoryStrips(Static):
    """One strip per source over the recording: a cell per time bucket, the worst status in it;
    the cursor's bucket drawn reversed."""

    DEFAULT_CSS = """
    HistoryStrips { height: auto; max-height: 8; display: none; background: $panel; }
    HistoryStrips.-shown { display: block; }
    """

    def set_strips(
        self,
        rows: Sequence[tuple[str, Sequence[Status | None]]],
        *,
        since: datetime,
        until: datetime,
        cursor: int | None,
    ) -> None:
        text = Text()
        width = max((len(title) for title, _ in rows), default=0)
        text.append(f"{'':<{width}}  {since:%H:%M}", style="dim")
        text.append(f"  history — ( ) jump to the previous / next change  ·  {until:%H:%M}\n")
        for title, cells in rows:
            text.append_text(inert(f"{title:<{width}}  ", single_line=True))
            for i, status in enumerate(cells):
                style = STATUS_STYLE[status] if status is not None else "dim"
                if i == cursor:
                    style += " reverse"
                text.append(CELL[status] if status is not None else "·", style=style)
            text.append("\n")
        show(self, text)


class GoToTimeScreen(ModalScreen[str | None]):
    """Ask for a moment: -15m, 03:12, an ISO time; Enter answers, Escape cancels."""

    DEFAULT_CSS = """
    GoToTimeScreen { align: center middle; }
    GoToTimeScreen > Vertical {
        width: 64; height: auto; border: thick $accent; background: $panel; padding: 0 1;
    }
    GoToTimeScreen .goto--hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, span: str) -> None:
        super().__init__()
        self.span = span

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Go to time (UTC)", style="bold"))
            yield Input(placeholder="-15m · 03:12:04 · 2026-12-04T03:12", id="goto-input")
            yield Static(self.span, classes="goto--hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
