"""The Textual app: layout, bindings and the fan-out of check results to the panes.

What the keys start lives in flows of their own: the incident workflow in
``zconsole/incident_flow.py``, every action in ``zconsole/action_flow.py``, container logs in
``zconsole/container_logs.py`` and "find what is big" in ``zconsole/disk_scan.py``. The sources,
their panes and number keys come from the one registry (``zconsole/registry.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import socket
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.driver import Driver
from textual.reactive import Reactive
from textual.screen import Screen
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import Static

from zconsole import registry
from zconsole.action_flow import ActionFlow
from zconsole.action_runner import ActionRunner
from zconsole.attach_flow import AttachFlow
from zconsole.checks.base import Check, CheckEvent, CheckResult, worst
from zconsole.checks.secrets import redact
from zconsole.config import Config
from zconsole.incident_controller import IncidentController
from zconsole.incident_flow import IncidentFlow
from zconsole.malloc_arenas import fewer_malloc_arenas
from zconsole.recording.db import recording_path
from zconsole.scheduler import Scheduler
from zconsole.time_travel import TIME_BINDINGS, TimeTravel, seed_host_trends
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.incident import IncidentPanel
from zconsole.widgets.keybar import KeyBar
from zconsole.widgets.layout import PaneArea
from zconsole.widgets.messages import (
    ContainerLogsRequested,
    DiskScanRequested,
    MitigationRequested,
    PinRequested,
)
from zconsole.widgets.pane import Pane
from zconsole.widgets.replay import HistoryStrips, ReplayBanner
from zconsole.widgets.timeline import Timeline

if TYPE_CHECKING:
    from zconsole.recording.writer import RecordingSink
    from zconsole.widgets.note import NoteScreen

#: From this width an open incident gets a column beside the panes, not a band below them.
INCIDENT_SIDE_MIN_WIDTH = 160
#: The smallest terminal the layout is made for (a phone SSH client, a small tmux split).
SUPPORTED_WIDTH, SUPPORTED_HEIGHT = 80, 24
#: Below this a pane shrinks to its border: the screen says what it needs instead. (Between
#: this and the supported size the panes still show rows, so they keep working there.)
MIN_WIDTH, MIN_HEIGHT = 60, 16


#: Seconds after start-up before the long-lived objects are frozen out of the collector's view.
GC_SETTLE_S = 3.0
#: Poll results arriving within this long of each other are drawn in one frame. The checks poll
#: on one grid (zconsole/scheduler.py) and the clock ticks just after it, so at rest the console
#: draws one frame a second instead of one per result plus one per tick: a Textual frame has a
#: fixed cost of a few milliseconds, which at rest was most of the console's CPU.
COALESCE_S = 0.1

#: Seconds between the console's own full collections once the thresholds are calm.
GC_EVERY_S = 60.0


def _calm_garbage_collector() -> None:
    """Keep Python's full collections from freezing the screen.

    Rendering makes many short-lived objects; with the default thresholds the collector's full
    passes over every long-lived object (Textual's DOM, imported modules) stalled key handling
    for up to ~170 ms (benchmarks/, scenario 3). Objects alive after start-up are frozen out of
    collection and the young generation is collected less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


class MainScreen(Screen[None]):
    """The panes' screen. Textual repaints a whole screen when its focus moves (``focused`` is a
    repainting reactive in textual 8.2.8): at 200x50 that redrew every table on every tab key.
    The widgets whose look depends on focus repaint themselves when their styles change
    (``:focus``, ``:focus-within``), so the screen need not."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)


def _collect_garbage() -> None:
    """A full collection, every :data:`GC_EVERY_S` once the thresholds are calm.

    Rendering leaves reference cycles behind (Textual's Strip keeps itself in its own caches,
    httpx's per-poll objects), and at rest the calm thresholds almost never reach an old
    generation: the console grew ~60-75 KiB/s, all of it garbage waiting for a collection.
    With the start-up objects frozen a full pass only walks what was made since (~10-30 ms of
    CPU), so it is cheap to run on a clock instead of a count.
    """
    gc.collect()


class ZConsoleApp(App[None]):
    """zconsole's TUI."""

    TITLE = "zconsole"
    CSS = """
    Screen { layout: vertical; }
    /* The panes place themselves (widgets/layout.py); the incident area is one line below
       them until an incident is open, then its share: a column beside them where the
       terminal is wide, a band below them where it is not. */
    #main { height: 1fr; layout: vertical; }
    #incident { width: 1fr; height: auto; }
    Screen.-incident-side #main { layout: horizontal; }
    Screen.-incident-side #incident { width: 32%; min-width: 50; height: 1fr; }
    IncidentPanel { height: auto; border: none; padding: 0 1; }
    IncidentPanel > #incident-clocks { display: none; }
    IncidentPanel > Timeline { display: none; }
    IncidentPanel.-shown { height: 12; border: round $foreground 30%; }
    IncidentPanel.-shown.-open { border: round $error; }
    IncidentPanel.-shown.-due { border: heavy $warning; }
    Screen.-narrow IncidentPanel.-shown { height: 9; }
    Screen.-incident-side IncidentPanel.-shown { height: 1fr; }
    IncidentPanel.-shown > #incident-clocks { display: block; }
    IncidentPanel.-shown > Timeline { display: block; }
    #too-small { display: none; height: 1fr; content-align: center middle; }
    Screen.-too-small #main { display: none; }
    Screen.-too-small #too-small { display: block; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("r", "refresh", "Refresh"),
        Binding("p", "pin", "Pin row"),
        Binding("i", "declare_incident", "Declare"),
        Binding("n", "note", "Note"),
        Binding("s", "change_status", "Status"),
        Binding("u", "status_update", "Update"),
        Binding("E", "evidence", "Evidence", show=False),
        Binding("a", "actions_menu", "Actions"),
        Binding("tab", "focus_next", "Next", show=False),
        *TIME_BINDINGS,
    ]

    def __init__(
        self,
        config: Config,
        checks: Iterable[Check[Any]],
        *,
        target: str = "",
        hostname: str | None = None,
        poll: bool = True,
        clock: Callable[[], datetime] | None = None,
        tune_gc: bool = False,
        attach_as: str = "console",
    ) -> None:
        super().__init__()
        self.config = config
        self.checks = {c.name: c for c in checks}
        self.read_only = config.general.read_only
        self.target = target
        self.hostname = hostname or socket.gethostname()
        self.poll = poll
        #: Process-wide collector tuning: for the real console only, not for in-process tests.
        self.tune_gc = tune_gc
        if tune_gc:
            fewer_malloc_arenas()  # before the scheduler's threads allocate
        #: Wall clock for the header (fixed in screen snapshot tests).
        self.clock = clock
        self.scheduler = Scheduler(
            self.checks.values(), self._result_arrived, after_first=self.call_after_refresh
        )
        #: Results waiting for the next frame (see COALESCE_S), and the timer that draws them.
        self._pending: list[CheckResult] = []
        self._flush_timer: Timer | None = None
        self._tick_timer: Timer | None = None
        #: The newest result of each source: the one cache of them (evidence, the header).
        self.latest: dict[str, CheckResult] = {}
        #: The registry's sources this console shows (one left out only while not configured).
        self.sources = registry.shown(self.checks)
        #: The panes by source, found once: a DOM query walks every widget, and the clock tick and
        #: every poll's result looked them up.
        self._panes: dict[str, Pane] = {}
        self.active_pane = self.sources[0].name
        #: The number keys, one per source of the registry (the palette lists them too).
        self.source_bindings = [
            Binding(s.key, f"show_pane({s.name!r})", s.title, show=False) for s in self.sources
        ]
        for binding in self.source_bindings:
            self.bind(binding.key, binding.action, description=binding.description, show=False)
        self.incident_flow = IncidentFlow(self)
        # The time cursor over the recording (live until a time key moves it); the action
        # layer asks it before every action.
        self.time_travel = TimeTravel(self, recording_path(config))
        self.action_flow = ActionFlow(self)
        self.attach_flow = AttachFlow(self, what=attach_as)
        # The console records its polls too (unless a recorder already does): see on_mount.
        self.recording: RecordingSink | None = None
        self.recording_note = ""

    @property
    def incidents(self) -> IncidentController | None:
        """The incident controller; None when the store could not be opened."""
        return self.incident_flow.controller

    @property
    def store_problem(self) -> str:
        return self.incident_flow.store_problem

    @property
    def action_runner(self) -> ActionRunner:
        return self.action_flow.runner

    # -- layout --------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return MainScreen(id="_default")

    def get_driver_class(self) -> type[Driver]:
        """Textual's own driver, except on a Linux terminal: the same driver with an input
        thread that sleeps until a key (zconsole/terminal_driver.py)."""
        chosen = super().get_driver_class()
        if chosen.__name__ == "LinuxDriver" and chosen.__module__ == "textual.drivers.linux_driver":
            from zconsole.terminal_driver import QuietLinuxDriver

            return QuietLinuxDriver
        return chosen

    def compose(self) -> ComposeResult:
        yield StatusHeader(
            self.hostname, read_only=self.read_only, target=self.target, clock=self.clock
        )
        yield TabBar({s.name: (s.key, s.title) for s in self.sources})
        yield ReplayBanner()
        with Container(id="main"):
            panes: list[Pane] = []
            for source in self.sources:
                pane = source.pane_class()(
                    source.name,
                    source.title,
                    classes="-active" if source.name == self.active_pane else None,
                )
                if self.clock is not None:
                    pane.clock = self.clock
                panes.append(pane)
            area = PaneArea(panes, id="panes")
            area.active = self.active_pane
            yield area
            with Vertical(id="incident"):
                yield IncidentPanel()
        yield HistoryStrips()
        yield Static(
            f"terminal too small (need {SUPPORTED_WIDTH}x{SUPPORTED_HEIGHT})",
            id="too-small",
            markup=False,
        )
        yield KeyBar()

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        # Auto-focus may have run before the narrow layout hid the other panes (it picked the
        # containers table while the host tab showed): start on the active pane instead.
        self.action_show_pane(self.active_pane)
        # Attach to this host's collector, else poll (and be the collector for the next one).
        self.attach_flow.mount()
        self._tick_timer = self.set_interval(1.0, self._tick)
        self.incident_flow.mount()
        if self.config.discovered:
            # Sources nobody configured: say where they were found, once, at start.
            found = "\n".join(f"{k}: {v}" for k, v in self.config.discovered.items())
            self.notify(redact(found), title="Found with nothing configured", timeout=12)
        for check in self.checks.values():
            # A check that hears of a change between polls (a container died) asks for a poll.
            check.on_event = partial(self._check_event_from_thread, check.name)
        if self.tune_gc:
            self.set_timer(GC_SETTLE_S, _calm_garbage_collector)
            self.set_interval(GC_EVERY_S, _collect_garbage)

    async def _open_recording(self) -> None:
        """The console's own recording, opened in a thread: the integrity check of a day's
        file must not hold up the first frame. Polls before it is open are not recorded."""
        from zconsole.recording.writer import console_sink

        sink, self.recording_note = await asyncio.to_thread(console_sink, self.config)
        if sink is not None and self._exit:
            sink.close()  # the console quit while the file was being opened
            return
        self.recording = sink

    async def _poll(self) -> None:
        # The trends first (read off the event loop), so the first host poll already carries
        # the 10 minutes before the console was opened.
        now = self.clock() if self.clock is not None else datetime.now(UTC)
        checks = list(self.checks.values())
        await asyncio.to_thread(seed_host_trends, self.time_travel.path, checks, now)
        if self._tick_timer is not None:
            # The clock ticks just after the polls' grid, so a tick draws their results too.
            self.set_timer(COALESCE_S, self._tick_timer.reset)
        await self.scheduler.run()

    def action_time(self, verb: str, direction: int) -> None:
        """The time keys (see zconsole/time_travel.py)."""
        self.time_travel.handle(verb, direction)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        panel = self.main_screen.query_one_optional(IncidentPanel)
        shown = panel is not None and panel.has_class("-shown")
        self.main_screen.set_class(shown and width >= INCIDENT_SIDE_MIN_WIDTH, "-incident-side")
        self.main_screen.set_class(width < MIN_WIDTH or height < MIN_HEIGHT, "-too-small")

    @on(IncidentPanel.Shown)
    def _incident_shown(self) -> None:
        self._apply_size(self.size.width, self.size.height)

    @on(PaneArea.ModeChanged)
    def _pane_mode_changed(self, message: PaneArea.ModeChanged) -> None:
        # One pane at a time: the tab bar is how the others are reached.
        self.main_screen.set_class(message.tabs, "-narrow")

    @property
    def main_screen(self) -> Screen[Any]:
        """The panes' screen, also while a modal (a confirmation, a menu) is on top of it."""
        return self.screen_stack[0]

    def _tick(self) -> None:
        # Queries go to the main screen: App.query_one looks at the *top* screen, which is a
        # modal while a confirmation is open, and a NoMatches here would stop the app. The
        # header is missing for a moment at shutdown, when the timer may still fire.
        header = self.main_screen.query_one_optional(StatusHeader)
        if header is None:
            return
        self._flush_results()
        header.refresh()
        self.incident_flow.tick()
        self.time_travel.tick()
        for pane in self._all_panes().values():
            pane.tick()

    # -- data ----------------------------------------------------------------------------------

    def _result_arrived(self, result: CheckResult) -> None:
        """Scheduler listener: a source's first data is drawn at once (start-up); later results
        wait up to COALESCE_S for the others of the same tick, or for the clock's tick."""
        if result.name not in self.latest:
            self.show_result(result)
            return
        self._pending.append(result)
        if self._flush_timer is None:
            self._flush_timer = self.set_timer(COALESCE_S, self._flush_results)

    def _flush_results(self) -> None:
        if self._flush_timer is not None:
            self._flush_timer.stop()
            self._flush_timer = None
        pending, self._pending = self._pending, []
        for result in pending:
            self.show_result(result)

    def show_result(self, result: CheckResult) -> None:
        """Draws one result (the scheduler's go through _result_arrived); runs on the event
        loop, so it may touch widgets."""
        if self.recording is not None:
            self.recording.accept(result)
        self.attach_flow.accept(result)
        self.latest[result.name] = result
        self.incident_flow.result(result)
        if self.time_travel.replaying:
            return  # the panes show the past; going live draws the latest results
        pane = self.pane(result.name)
        if pane is not None:
            pane.show_result(result)
        self.main_screen.query_one(TabBar).set_status(result.name, result.latest.status)
        statuses = [r.latest.status for r in self.latest.values() if r.latest.configured]
        self.main_screen.query_one(StatusHeader).worst = worst(statuses)

    def latest_result(self, name: str) -> CheckResult | None:
        return self.latest.get(name)

    def _check_event_from_thread(self, name: str, event: CheckEvent) -> None:
        """Called in the check's event thread."""
        with contextlib.suppress(Exception):  # the app may be shutting down
            self.call_from_thread(self._check_event, name, event)

    def _check_event(self, name: str, event: CheckEvent) -> None:
        self.scheduler.refresh(name)
        if event.for_timeline and self.incidents is not None:
            self.incidents.record("check", str(event.text))
            self.incident_flow.poll()

    # -- panes ---------------------------------------------------------------------------------

    def pane(self, name: str) -> Pane | None:
        return self._all_panes().get(name)

    def _all_panes(self) -> dict[str, Pane]:
        if not self._panes or any(not p.is_attached for p in self._panes.values()):
            self._panes = {p.source: p for p in self.main_screen.query(Pane)}
        return self._panes

    def focused_pane(self) -> Pane | None:
        """The pane holding focus, else the active one: what keys and the `a` menu act on."""
        node: Widget | None = self.main_screen.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node if isinstance(node, Pane) else self.pane(self.active_pane)

    def focused_source(self) -> str:
        pane = self.focused_pane()
        return pane.source if pane is not None else self.active_pane

    def selected_record(self, source: str) -> object:
        """The record selected in ``source``'s pane (None when it has no pane or no row)."""
        pane = self.pane(source)
        return pane.selected_record() if pane is not None else None

    def action_refresh(self) -> None:
        self.scheduler.refresh()
        self.notify("Refreshing every source", timeout=2)

    def action_show_pane(self, name: str) -> None:
        self.active_pane = name
        for each in self.query(Pane):
            each.set_class(each.source == name, "-active")
        self.query_one(TabBar).active = name
        self.query_one(PaneArea).show_active(name)
        pane = self.pane(name)
        if pane is not None:
            focusable = [w for w in pane.query("*") if w.can_focus]
            if focusable:
                # After the refresh: a pane that was hidden cannot take focus until shown.
                self.call_after_refresh(focusable[0].focus)

    def action_pin(self) -> None:
        """Pin the selected row of the pane holding focus (or the active pane)."""
        pane = self.focused_pane()
        if pane is not None:
            pane.request_pin()

    # -- the incident keys and messages (zconsole/incident_flow.py) ----------------------------

    def action_declare_incident(self) -> None:
        self.incident_flow.declare()

    def action_note(self) -> None:
        self.incident_flow.note()

    def action_change_status(self) -> None:
        self.incident_flow.change_status()

    def action_status_update(self) -> None:
        self.incident_flow.status_update()

    def action_evidence(self) -> None:
        self.incident_flow.evidence()

    @on(PinRequested)
    def _pinned(self, message: PinRequested) -> None:
        self.incident_flow.pin(message)

    def on_timeline_window_requested(self, message: Timeline.WindowRequested) -> None:
        self.incident_flow.timeline_window(message)

    def on_timeline_correct_requested(self, message: Timeline.CorrectRequested) -> None:
        self.incident_flow.correct(message)

    def on_note_screen_draft_changed(self, message: NoteScreen.DraftChanged) -> None:
        self.incident_flow.draft_changed(message)

    # -- the action keys and messages (zconsole/action_flow.py) --------------------------------

    def action_actions_menu(self) -> None:
        self.action_flow.menu()

    @on(MitigationRequested)
    def _mitigation_requested(self, message: MitigationRequested) -> None:
        message.stop()
        self.action_flow.request_mitigation(message.source, message.action, message.record)

    # -- screens a pane asks for ---------------------------------------------------------------

    @on(ContainerLogsRequested)
    def _container_logs_requested(self, message: ContainerLogsRequested) -> None:
        message.stop()
        # Imported when first opened: the logs screen (Input, RichLog) costs ~1 MiB resident.
        from zconsole.container_logs import open_container_logs

        open_container_logs(self, self.checks.get("docker"), message)

    @on(DiskScanRequested)
    def _disk_scan_requested(self, message: DiskScanRequested) -> None:
        message.stop()
        from zconsole.disk_scan import open_disk_scan  # its screen, when first asked for

        open_disk_scan(self, message.mount)

    def copy_text(self, text: str) -> str:
        """pyperclip where this machine has a clipboard, else OSC 52 (SSH, tmux)."""
        local_display = sys.platform in ("darwin", "win32") or bool(
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        )
        if local_display and not os.environ.get("SSH_CONNECTION"):
            import pyperclip

            try:
                pyperclip.copy(text)
                return "clipboard"
            except pyperclip.PyperclipException:
                pass
        self.copy_to_clipboard(text)
        return "OSC 52"

    # -- command palette -----------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key's action, then Textual's own commands and the runbook actions.

        The key commands are derived from the BINDINGS in force on ``screen`` (the one the
        palette was opened from), so a new key is in the palette without anyone remembering.
        """
        yield from self._binding_commands(screen)
        ours = {b.description for b in Binding.make_bindings(self.BINDINGS)}
        # Textual's own "Quit" would stand beside ours ("Quit (q)").
        yield from (c for c in super().get_system_commands(screen) if c.title not in ours)
        yield from self.action_flow.palette_commands()

    def _binding_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """One command per bound action: the app's, the focused (else the active) pane's and,
        while it has focus, the timeline's; each runs the action its key runs, on the same node.
        """
        owners: list[tuple[App[None] | Widget, str]] = [(self, "everywhere")]
        if screen is self.main_screen:
            focused = screen.focused
            pane = self.focused_pane()
            if pane is not None:
                owners.append((pane, f"while the {pane.title} pane has focus"))
            if isinstance(focused, Timeline):
                owners.append((focused, "while the timeline has focus"))
        for owner, where in owners:
            by_action: dict[str, list[Binding]] = {}
            extra = self.source_bindings if owner is self else []
            for binding in [*Binding.make_bindings(owner.BINDINGS), *extra]:
                by_action.setdefault(binding.action, []).append(binding)
            for action, bindings in by_action.items():
                keys = " or ".join(self.get_key_display(b) for b in bindings)
                yield SystemCommand(
                    f"{bindings[0].description or action} ({keys})",
                    f"Key {keys}, {where}",
                    partial(self.run_action, action, owner),
                )

    async def on_unmount(self) -> None:
        self.attach_flow.close()
        self.scheduler.close()
        if self.recording is not None:
            self.recording.close()
        self.time_travel.close()

    def _fatal_error(self) -> None:
        """Textual's crash report (textual 8.2.8 App._fatal_error) without local variables.

        Textual renders the traceback with ``show_locals=True``: a frame holding a DSN, a Redis
        URL or the Config would print its password to the terminal (and to any log of it).
        """
        import rich
        from rich.segment import Segments
        from rich.traceback import Traceback

        self.bell()
        traceback = Traceback(show_locals=False, width=None, suppress=[rich])
        self._exit_renderables.append(
            Segments(self.console.render(traceback, self.console.options))
        )
        self._close_messages_no_wait()
