"""The incident area: open incident, clocks and the always-visible timeline.

It renders what the app gives it (incident record, clocks) and holds the :class:`Timeline`;
it does no I/O.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from zconsole.widgets.format import human_duration
from zconsole.widgets.quiet import changed, set_border_title, show
from zconsole.widgets.text import inert
from zconsole.widgets.timeline import Timeline

if TYPE_CHECKING:
    from zconsole.checks.incident import Clocks, Incident

SEVERITY_STYLE = ("bold white on red", "bold red", "bold yellow", "bold")
NO_INCIDENT_HINT = "No open incident. i declare · n note · p pin a row"


def clocks_text(clocks: Clocks | None) -> Text:
    """ "⏱ 12m03s · next update 2m58s · respond ✔ · resolve 1h47m left" (pure)."""
    if clocks is None:
        return Text("")
    line = Text()
    line.append(f"⏱ {human_duration(clocks.elapsed_s)}", style="bold")
    line.append(" · ")
    if clocks.update_due:
        line.append(
            f"UPDATE DUE ({human_duration(-clocks.next_update_s)} over)",
            style="bold reverse yellow",
        )
    else:
        line.append(f"next update {human_duration(clocks.next_update_s)}")
    line.append(" · respond ")
    line.append_text(_target(clocks.respond_left_s))
    line.append(" · resolve ")
    line.append_text(_target(clocks.resolve_left_s))
    return line


def _target(left: float | None) -> Text:
    if left is None:
        return Text("✔", style="green")
    if left < 0:
        return Text(f"missed by {human_duration(-left)}", style="bold red")
    return Text(f"{human_duration(left)} left")


class IncidentPanel(Vertical):
    """Always-visible incident log."""

    class Shown(Message):
        """An incident came into view, or went: the area takes its share, or one line."""

    DEFAULT_CSS = """
    IncidentPanel { border: round $foreground 30%; padding: 0 1; }
    IncidentPanel.-open { border: round $error; }
    IncidentPanel.-due { border: heavy $warning; }
    IncidentPanel > #incident-summary { height: auto; max-height: 4; }
    IncidentPanel > #incident-clocks { height: auto; }
    IncidentPanel > #incident-problem { height: auto; color: $error; display: none; }
    IncidentPanel > #incident-problem.-shown { display: block; }
    IncidentPanel > #incident-detail {
        height: auto; max-height: 6; display: none; border-top: solid $foreground 30%;
    }
    IncidentPanel > #incident-detail.-shown { display: block; }
    """

    def compose(self) -> ComposeResult:
        self.border_title = "Incident"
        yield Static(Text(NO_INCIDENT_HINT, style="dim"), id="incident-summary")
        yield Static("", id="incident-clocks")
        yield Static("", id="incident-problem")
        yield Timeline(id="timeline")
        yield Static("", id="incident-detail")

    @property
    def timeline(self) -> Timeline:
        return self.query_one(Timeline)

    def show_problem(self, message: str) -> None:
        """The store is unavailable: say so on one line; the panes keep running."""
        problem = self.query_one("#incident-problem", Static)
        show(problem, inert(message, max_len=300))
        problem.set_class(bool(message), "-shown")

    def show_incident(self, incident: Incident | None) -> None:
        summary = self.query_one("#incident-summary", Static)
        if changed(self, "shown", incident is not None):
            self.post_message(self.Shown())
        self.set_class(incident is not None and incident.is_open, "-open")
        if incident is None:
            set_border_title(self, "Incident")
            show(summary, Text(NO_INCIDENT_HINT, style="dim"))
            self.show_clocks(None)
            return
        set_border_title(self, incident.id)
        line = Text()
        style = SEVERITY_STYLE[min(incident.severity_index, len(SEVERITY_STYLE) - 1)]
        line.append(f" {incident.severity} ", style=style)
        line.append(f" {incident.status.upper()} ", style="bold")
        line.append_text(inert(incident.title, single_line=True, max_len=120, colour=False))
        line.append("\n")
        line.append("IC ", style="dim")
        line.append_text(inert(incident.commander, single_line=True, max_len=40, colour=False))
        if incident.services:
            line.append(" · ", style="dim")
            line.append_text(
                inert(", ".join(incident.services), single_line=True, max_len=60, colour=False)
            )
        if incident.impact:
            line.append("\n")
            line.append_text(inert(incident.impact, single_line=True, max_len=200, colour=False))
        show(summary, line)

    def on_timeline_highlighted(self, message: Timeline.Highlighted) -> None:
        """The selected entry in full (the row shows one line): author, time, every line."""
        message.stop()
        detail = self.query_one("#incident-detail", Static)
        entry = message.entry
        detail.set_class(entry is not None, "-shown")
        if entry is None:
            return
        head = Text(f"#{entry.id} {entry.kind} · {entry.at:%Y-%m-%d %H:%M:%S} UTC · ", style="dim")
        head.append_text(inert(entry.author, single_line=True, max_len=60, colour=False))
        if entry.corrects is not None:
            head.append(f" · corrects #{entry.corrects}", style="italic")
        if entry.corrected_by is not None:
            head.append(f" · corrected by #{entry.corrected_by}", style="italic")
        head.append("\n")
        head.append_text(inert(entry.text, max_len=2000, colour=False))
        detail.update(head)

    def show_clocks(self, clocks: Clocks | None) -> None:
        show(self.query_one("#incident-clocks", Static), clocks_text(clocks))
        self.set_class(clocks is not None and clocks.update_due, "-due")
