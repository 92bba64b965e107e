"""The Textual app: header, panes, incident area, footer; wired to the scheduler."""

from __future__ import annotations

import socket
from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer

from zconsole.checks.base import Check, CheckResult, worst
from zconsole.config import Config
from zconsole.scheduler import Scheduler
from zconsole.sources import SOURCE_NAMES, TITLES
from zconsole.widgets.containers import ContainersPane
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.host import HostPane
from zconsole.widgets.http import HttpPane
from zconsole.widgets.incident import IncidentPanel
from zconsole.widgets.messages import PinRequested
from zconsole.widgets.pane import Pane
from zconsole.widgets.postgres import PostgresPane
from zconsole.widgets.redis import RedisPane

PANES: dict[str, type[Pane]] = {
    "host": HostPane,
    "docker": ContainersPane,
    "postgres": PostgresPane,
    "redis": RedisPane,
    "http": HttpPane,
}

#: Below this size the panes are shown one at a time (number keys switch), above as a grid.
WIDE_MIN_WIDTH = 120
WIDE_MIN_HEIGHT = 36


class ZConsoleApp(App[None]):
    """zconsole's TUI."""

    TITLE = "zconsole"
    CSS = """
    Screen { layout: vertical; }
    #main { height: 1fr; }
    #panes { grid-size: 2 3; grid-gutter: 0 0; width: 1fr; }
    #pane-http { column-span: 2; }
    #incident { width: 36%; min-width: 40; }
    Screen.-narrow #main { layout: vertical; }
    Screen.-narrow #panes { grid-size: 1 1; height: 1fr; }
    Screen.-narrow #panes Pane { display: none; }
    Screen.-narrow #panes Pane.-active { display: block; }
    Screen.-narrow #pane-http { column-span: 1; }
    Screen.-narrow #incident { width: 1fr; height: 9; min-width: 0; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        Binding("1", "show_pane('host')", "Host", show=False),
        Binding("2", "show_pane('docker')", "Containers", show=False),
        Binding("3", "show_pane('postgres')", "Postgres", show=False),
        Binding("4", "show_pane('redis')", "Redis", show=False),
        Binding("5", "show_pane('http')", "HTTP", show=False),
        Binding("p", "pin", "Pin row"),
        Binding("tab", "focus_next", "Next", show=False),
    ]

    def __init__(
        self,
        config: Config,
        checks: Iterable[Check[Any]],
        *,
        target: str = "",
        hostname: str | None = None,
        poll: bool = True,
    ) -> None:
        super().__init__()
        self.config = config
        self.checks = {c.name: c for c in checks}
        self.read_only = config.general.read_only
        self.target = target
        self.hostname = hostname or socket.gethostname()
        self.poll = poll
        self.scheduler = Scheduler(self.checks.values(), self.show_result)
        self.active_pane = "host"

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(self.hostname, read_only=self.read_only, target=self.target)
        yield TabBar({name: TITLES[name] for name in SOURCE_NAMES})
        with Horizontal(id="main"):
            with Grid(id="panes"):
                for name in SOURCE_NAMES:
                    yield PANES[name](classes="-active" if name == self.active_pane else None)
            with Vertical(id="incident"):
                yield IncidentPanel()
        yield Footer()

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        if self.poll:
            self.run_worker(
                self.scheduler.run(), name="scheduler", group="scheduler", exit_on_error=False
            )
        self.set_interval(1.0, self._tick)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        narrow = width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT
        self.screen.set_class(narrow, "-narrow")

    def _tick(self) -> None:
        self.query_one(StatusHeader).refresh()
        for pane in self.query(Pane):
            pane.tick()

    # -- data ----------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """Scheduler listener; runs on the event loop, so it may touch widgets."""
        pane = self.pane(result.name)
        if pane is not None:
            pane.show_result(result)
        self.query_one(TabBar).set_status(result.name, result.latest.status)
        statuses = [
            r.latest.status
            for name in self.checks
            if (r := self.scheduler.result(name)) is not None and r.latest.configured
        ]
        if result.latest.configured:
            statuses.append(result.latest.status)
        self.query_one(StatusHeader).worst = worst(statuses)

    def pane(self, name: str) -> Pane | None:
        for pane in self.query(Pane):
            if pane.source == name:
                return pane
        return None

    # -- actions -------------------------------------------------------------------------------

    def action_refresh(self) -> None:
        self.scheduler.refresh()
        self.notify("Refreshing every source", timeout=2)

    def action_show_pane(self, name: str) -> None:
        self.active_pane = name
        for each in self.query(Pane):
            each.set_class(each.source == name, "-active")
        self.query_one(TabBar).active = name
        pane = self.pane(name)
        if pane is not None:
            focusable = [w for w in pane.query("*") if w.can_focus]
            if focusable:
                focusable[0].focus()

    def action_pin(self) -> None:
        """Pin the selected row of the pane holding focus (or the active pane)."""
        node: Widget | None = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent if isinstance(node.parent, Widget) else None
        pane = node if isinstance(node, Pane) else self.pane(self.active_pane)
        if pane is not None:
            pane.request_pin()

    @on(PinRequested)
    def _pinned(self, message: PinRequested) -> None:
        self.notify(f"Pinned: {message.text[:60]}", timeout=3)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Refresh", "Poll every source now", self.action_refresh)
        for index, name in enumerate(SOURCE_NAMES, start=1):
            yield SystemCommand(
                f"Show {TITLES[name]} ({index})",
                f"Switch to the {TITLES[name]} pane",
                partial(self.action_show_pane, name),
            )
        yield SystemCommand(
            "Pin selected row", "Copy the selected row into the timeline", self.action_pin
        )

    async def on_unmount(self) -> None:
        self.scheduler.close()
