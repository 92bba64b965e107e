"""The top two lines: host, worst status and clock; then one tab per pane with its status."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from zconsole.checks.base import Status
from zconsole.widgets.format import STATUS_STYLE, human_duration
from zconsole.widgets.text import inert

#: The header warns this long before a status update is due (a third of a shorter cadence).
UPDATE_WARN_S = 300.0


def update_clock_text(next_update_s: float | None, every_s: float) -> Text:
    """ "▲ UPDATE DUE in 2m" when the next status update is close, "✖ UPDATE OVERDUE 3m" past
    it; nothing otherwise (pure)."""
    if next_update_s is None or every_s <= 0:
        return Text("")
    if next_update_s <= 0:
        status, words = Status.CRIT, f"UPDATE OVERDUE {human_duration(-next_update_s)}"
    elif next_update_s <= min(UPDATE_WARN_S, every_s / 3):
        status, words = Status.WARN, f"UPDATE DUE in {human_duration(next_update_s)}"
    else:
        return Text("")
    return Text(f"{status.symbol} {words}", style=STATUS_STYLE[status])


class StatusHeader(Widget):
    """`zconsole · web-01 · ✖ CRIT · 2026-11-23 14:05:33 UTC · read-only`."""

    DEFAULT_CSS = """
    StatusHeader { height: 1; background: $panel; color: $foreground; }
    """

    worst: reactive[Status] = reactive(Status.UNKNOWN)
    incident: reactive[str] = reactive("")
    #: The war room: the collector this console is attached to and who else watches, or that
    #: it polls on its own since the collector went.
    war_room: reactive[str] = reactive("")

    def __init__(
        self,
        hostname: str,
        *,
        read_only: bool = False,
        target: str = "",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        super().__init__()
        self.hostname = hostname
        #: Injectable so that screen snapshots are deterministic.
        self.clock = clock or (lambda: datetime.now(UTC))
        self.read_only = read_only
        self.target = target
        #: The open incident's update clock (seconds to the next update, the cadence).
        self.next_update_s: float | None = None
        self.update_every_s = 0.0

    def show_update_clock(self, next_update_s: float | None, every_s: float = 0.0) -> None:
        """Redrawn with the clock each second; None when no open incident waits for one."""
        self.next_update_s = next_update_s
        self.update_every_s = every_s

    def render(self) -> Text:
        # The parts in the order they give way when the line is too narrow: first the clock,
        # then the badge, the target, the hostname; never the status, the update clock or
        # READ-ONLY. A part is left out whole, never cut ("UPDATE DUE in" without its time).
        for dropped in _GIVE_WAY:
            text = self._line(dropped)
            if text.cell_len <= (self.size.width or text.cell_len):
                return text
        return text

    def _line(self, dropped: frozenset[str]) -> Text:
        # Text(..., style=) would be the base style of the whole line; only the badge is reversed.
        text = Text()
        if "badge" not in dropped:
            text.append(" zconsole ", style="bold reverse")
            text.append(" ")
        if "hostname" not in dropped:
            text.append_text(inert(self.hostname, single_line=True, max_len=30, style="bold"))
        if self.target and "target" not in dropped:
            text.append(f" [{self.target}]", style="dim")
        text.append("  ")
        text.append(
            f"{self.worst.symbol} {self.worst.value.upper()}", style=STATUS_STYLE[self.worst]
        )
        if self.incident:
            text.append("  ")
            text.append_text(
                inert(self.incident, single_line=True, max_len=60, style="bold yellow")
            )
        due = update_clock_text(self.next_update_s, self.update_every_s)
        if due:
            text.append("  ")
            text.append_text(due)
        if self.war_room:
            text.append("  ")
            text.append_text(inert(self.war_room, single_line=True, max_len=90, style="cyan"))
        if self.read_only:
            text.append("  READ-ONLY", style="bold cyan")
        if "clock" not in dropped:
            text.append("  " + self.clock().strftime("%H:%M:%S UTC"), style="dim")
        return text


_GIVE_WAY = [
    frozenset(),
    frozenset({"clock"}),
    frozenset({"clock", "badge"}),
    frozenset({"clock", "badge", "target"}),
    frozenset({"clock", "badge", "target", "hostname"}),
]


class TabBar(Widget):
    """`1 Host ✔  2 Containers ✖ …`: status of every pane; the number keys switch panes."""

    DEFAULT_CSS = """
    TabBar { height: 1; }
    """

    active: reactive[str] = reactive("host")

    def __init__(self, tabs: dict[str, tuple[str, str]]) -> None:
        """``tabs``: source name -> (its key, its title), in pane order."""
        super().__init__()
        self.tabs = tabs
        self.statuses: dict[str, Status] = dict.fromkeys(tabs, Status.UNKNOWN)

    def set_status(self, name: str, status: Status) -> None:
        if self.statuses.get(name) is not status:
            self.statuses[name] = status
            self.refresh()

    def render(self) -> Text:
        text = self._labels(with_titles=True)
        if text.cell_len > self.size.width:
            # Too narrow for the titles: every pane's number and status still shows.
            text = self._labels(with_titles=False)
        return text

    def _labels(self, *, with_titles: bool) -> Text:
        text = Text()
        for name, (key, title) in self.tabs.items():
            status = self.statuses[name]
            shown = f" {key} {title} " if with_titles else f" {key} "
            label = Text(shown, style="reverse bold" if name == self.active else "")
            label.append(status.symbol + " ", style=STATUS_STYLE[status])
            text.append_text(label)
        return text
