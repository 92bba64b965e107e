"""The incident area: open incident, clocks and the timeline (built in the incident issue)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static


class IncidentPanel(Vertical):
    """Always-visible incident log."""

    DEFAULT_CSS = """
    IncidentPanel { border: round $foreground 30%; padding: 0 1; }
    """

    def compose(self) -> ComposeResult:
        self.border_title = "Incident"
        yield Static(Text("No open incident.", style="dim"), id="incident-summary")
