"""The Textual app: header, panes, incident area, footer; wired to the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import shlex
import socket
from collections.abc import Callable, Iterable
from datetime import datetime
from functools import partial
from typing import Any, ClassVar

from textual import events, on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Grid, Horizontal, Vertical
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import Worker

from zconsole import registry
from zconsole.action_runner import ActionRunner, ConfirmKind, ConfirmRequest
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.audit import AuditLog, default_audit_path
from zconsole.checks.base import Check, CheckResult, describe_error, worst
from zconsole.checks.incident import KIND_EVIDENCE
from zconsole.checks.secrets import redact
from zconsole.config import Config, CustomAction
from zconsole.incident_controller import POLL_INTERVAL_S, IncidentController
from zconsole.scheduler import Scheduler
from zconsole.store import StoreUnavailable
from zconsole.widgets.actions_menu import ActionsMenu, MenuEntry
from zconsole.widgets.confirm import ConfirmScreen, TypeTargetScreen
from zconsole.widgets.container_logs import ContainerLogsRequested
from zconsole.widgets.declare import (
    DeclareRequest,
    DeclareScreen,
    ResolveRequest,
    ResolveScreen,
    StatusScreen,
)
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.incident import IncidentPanel
from zconsole.widgets.keybar import KeyBar
from zconsole.widgets.messages import MitigationRequested, PinRequested
from zconsole.widgets.note import NoteResult, NoteScreen
from zconsole.widgets.pane import Pane
from zconsole.widgets.text import plain
from zconsole.widgets.timeline import Timeline
from zconsole.widgets.update_preview import UpdatePreviewScreen

#: Below this size the panes are shown one at a time (number keys switch), above as a grid.
WIDE_MIN_WIDTH = 120
WIDE_MIN_HEIGHT = 36


#: Seconds after start-up before the long-lived objects are frozen out of the collector's view.
GC_SETTLE_S = 3.0


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


class ZConsoleApp(App[None]):
    """zconsole's TUI."""

    TITLE = "zconsole"
    CSS = """
    Screen { layout: vertical; }
    #main { height: 1fr; }
    /* Two columns, as many rows as the registry's sources need; an odd last pane spans both.
       The HTTP row is a few endpoints: the rows above get the height (tables, blocking tree). */
    #panes { grid-size: 2; grid-rows: 2fr 2fr 1fr; grid-gutter: 0 0; width: 1fr; }
    #panes > Pane.-wide { column-span: 2; }
    #incident { width: 36%; min-width: 40; }
    Screen.-narrow #main { layout: vertical; }
    Screen.-narrow #panes { grid-size: 1 1; height: 1fr; }
    Screen.-narrow #panes Pane { display: none; }
    Screen.-narrow #panes Pane.-active { display: block; }
    Screen.-narrow #panes > Pane.-wide { column-span: 1; }
    Screen.-narrow #incident { width: 1fr; height: auto; max-height: 9; min-width: 0; }
    /* 80x24: without an incident the area is one line, so the active pane gets the rows. */
    Screen.-narrow IncidentPanel { height: auto; }
    Screen.-narrow IncidentPanel > #incident-clocks { display: none; }
    Screen.-narrow IncidentPanel > Timeline { display: none; }
    Screen.-narrow IncidentPanel.-shown { height: 9; }
    Screen.-narrow IncidentPanel.-shown > #incident-clocks { display: block; }
    Screen.-narrow IncidentPanel.-shown > Timeline { display: block; }
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
        #: Wall clock for the header (fixed in screen snapshot tests).
        self.clock = clock
        self.scheduler = Scheduler(self.checks.values(), self.show_result)
        self.active_pane = registry.SOURCES[0].name
        #: The number keys, one per source of the registry (see _binding_commands).
        self.source_bindings = [
            Binding(s.key, f"show_pane({s.name!r})", s.title, show=False) for s in registry.SOURCES
        ]
        for binding in self.source_bindings:
            self.bind(binding.key, binding.action, description=binding.description, show=False)
        # Incident store (see the "incident" section below): None when it is unavailable.
        self.incidents: IncidentController | None = None
        self.store_problem = ""
        self._open_store()
        # The one action runner (see the "action layer" section below).
        self.action_runner = self._make_action_runner()

    # -- layout --------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield StatusHeader(
            self.hostname, read_only=self.read_only, target=self.target, clock=self.clock
        )
        yield TabBar({s.name: (s.key, s.title) for s in registry.SOURCES})
        with Horizontal(id="main"):
            with Grid(id="panes"):
                sources = registry.SOURCES
                for index, source in enumerate(sources):
                    classes = {
                        "-active": source.name == self.active_pane,
                        "-wide": index == len(sources) - 1 and len(sources) % 2 == 1,
                    }
                    pane = source.pane_class()(
                        source.name,
                        source.title,
                        classes=" ".join(name for name, on in classes.items() if on) or None,
                    )
                    if self.clock is not None:
                        pane.clock = self.clock
                    yield pane
            with Vertical(id="incident"):
                yield IncidentPanel()
        yield KeyBar()

    def on_mount(self) -> None:
        self._apply_size(self.size.width, self.size.height)
        # Auto-focus may have run before the narrow layout hid the other panes (it picked the
        # containers table while the host tab showed): start on the active pane instead.
        self.action_show_pane(self.active_pane)
        if self.poll:
            self.run_worker(
                self.scheduler.run(), name="scheduler", group="scheduler", exit_on_error=False
            )
        self.set_interval(1.0, self._tick)
        self._incident_mount()
        self._docker_mount()
        if self.tune_gc:
            self.set_timer(GC_SETTLE_S, _calm_garbage_collector)

    def on_resize(self, event: events.Resize) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        narrow = width < WIDE_MIN_WIDTH or height < WIDE_MIN_HEIGHT
        self.screen.set_class(narrow, "-narrow")

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
        header.refresh()
        self._incident_tick()
        for pane in self.main_screen.query(Pane):
            pane.tick()

    # -- data ----------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """Scheduler listener; runs on the event loop, so it may touch widgets."""
        self._incident_result(result)
        pane = self.pane(result.name)
        if pane is not None:
            pane.show_result(result)
        self.main_screen.query_one(TabBar).set_status(result.name, result.latest.status)
        statuses = [
            r.latest.status
            for name in self.checks
            if (r := self.scheduler.result(name)) is not None and r.latest.configured
        ]
        if result.latest.configured:
            statuses.append(result.latest.status)
        self.main_screen.query_one(StatusHeader).worst = worst(statuses)

    def pane(self, name: str) -> Pane | None:
        for pane in self.main_screen.query(Pane):
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
                # After the refresh: a pane that was hidden cannot take focus until shown.
                self.call_after_refresh(focusable[0].focus)

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
        if self.incidents is None or self.incidents.open_incident is None:
            self.notify("Declare an incident first (i) to pin rows into its timeline.", timeout=4)
            return
        self.incidents.record(KIND_EVIDENCE, f"[{message.source}] {message.text}")
        self._poll_incidents()
        self.notify(f"Pinned: {redact(message.text)[:60]}", timeout=3)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key's action, then Textual's own commands and the runbook actions.

        The key commands are derived from the BINDINGS in force on ``screen`` (the one the
        palette was opened from), so a new key is in the palette without anyone remembering.
        """
        yield from self._binding_commands(screen)
        ours = {b.description for b in Binding.make_bindings(self.BINDINGS)}
        # Textual's own "Quit" would stand beside ours ("Quit (q)").
        yield from (c for c in super().get_system_commands(screen) if c.title not in ours)
        yield from self._action_commands()

    def _binding_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """One command per bound action: the app's, the focused (else the active) pane's and,
        while it has focus, the timeline's; each runs the action its key runs, on the same node.
        """
        owners: list[tuple[App[None] | Widget, str]] = [(self, "everywhere")]
        if screen is self.main_screen:
            focused = screen.focused
            chain = [focused, *focused.ancestors] if focused is not None else []
            pane = next((n for n in chain if isinstance(n, Pane)), self.pane(self.active_pane))
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
        self.scheduler.close()

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

    # -- incident (store, timeline, status updates, evidence) ---------------------------------

    def _open_store(self) -> None:
        """Open the incident store; a locked/read-only/corrupt one leaves the panes running."""
        from zconsole.store import IncidentStore

        try:
            store = IncidentStore(self.config.general.store or None)
            self.incidents = IncidentController(
                store, self.config.incident, on_error=self._store_error
            )
        except StoreUnavailable as exc:
            self.incidents = None
            self.store_problem = str(exc)

    def _store_error(self, message: str) -> None:
        self.notify(message, title="Incident store", severity="error", timeout=8)

    def _incident_panel(self) -> IncidentPanel | None:
        """The panel on the main screen (also under a modal); None while starting or stopping."""
        stack = self.screen_stack
        if self._exit or not stack:
            return None
        panel = stack[0].query_one_optional(IncidentPanel)
        # While the app shuts down its widgets are removed child first: the panel may still be
        # there with its parts already gone, and a timer may still fire.
        if panel is None or not panel.is_attached or panel._closing:
            return None
        return panel

    def _incident_mount(self) -> None:
        self._latest_results: dict[str, CheckResult] = {}
        self._shown_incident_id: str | None = None
        panel = self._incident_panel()
        if panel is None:
            return
        if self.incidents is None:
            panel.show_problem(self.store_problem + " — incident features are off")
            self.notify(self.store_problem, title="Incident store", severity="error", timeout=10)
            return
        self._sync_incident()
        if self.incidents.pending_draft() is not None:
            self.notify(
                "A note you were typing was kept as a draft: press n to finish it.",
                title="Draft",
                timeout=15,
            )
        # Other processes' entries (a second responder's session) show up within a second.
        self.set_interval(POLL_INTERVAL_S, self._poll_incidents)

    def _sync_incident(self) -> None:
        """Show the open incident; a different one than before resets the timeline."""
        panel = self._incident_panel()
        if self.incidents is None or panel is None:
            return
        # The open incident; after resolving here, the resolved one stays in view until the
        # next is declared (its "resolved" update is still to be posted).
        incident = self.incidents.update_subject
        panel.show_incident(incident)
        panel.set_class(incident is not None, "-shown")
        header = self.main_screen.query_one_optional(StatusHeader)
        if header is not None:
            # The incident stays in the header line on every pane and at every size.
            header.incident = (
                f"{incident.id} {incident.severity} {incident.status}" if incident else ""
            )
        new_id = incident.id if incident else None
        if new_id != self._shown_incident_id:
            self._shown_incident_id = new_id
            total, last_id = self.incidents.store.count_and_last(new_id) if new_id else (0, 0)
            panel.timeline.reset(total, last_id)
        panel.show_clocks(self.incidents.clocks(self.clock() if self.clock else None))

    def _poll_incidents(self) -> None:
        panel = self._incident_panel()
        if self.incidents is None or panel is None:
            return
        try:
            new = self.incidents.poll()
        except StoreUnavailable as exc:
            panel.show_problem(str(exc))
            return
        panel.show_problem("")
        before = self._shown_incident_id
        self._sync_incident()
        if self._shown_incident_id == before:
            panel.timeline.append(new)

    def _incident_tick(self) -> None:
        panel = self._incident_panel()
        if panel is None or self.incidents is None or self.incidents.update_subject is None:
            return
        try:
            panel.show_clocks(self.incidents.clocks(self.clock() if self.clock else None))
        except StoreUnavailable as exc:
            panel.show_problem(str(exc))

    def _incident_result(self, result: CheckResult) -> None:
        """Keep the latest result (evidence) and feed the check watch (crit/recovered lines)."""
        if not hasattr(self, "_latest_results"):
            return  # not mounted yet
        self._latest_results[result.name] = result
        if self.incidents is not None and self.incidents.watch_result(result):
            self._poll_incidents()

    def _need_incident(self) -> IncidentController | None:
        if self.incidents is None:
            self.notify(self.store_problem, title="Incident store", severity="error")
            return None
        if self.incidents.open_incident is None:
            self.notify("No open incident: declare one first (i).", timeout=4)
            return None
        return self.incidents

    def on_timeline_window_requested(self, message: Timeline.WindowRequested) -> None:
        if self.incidents is None or self._shown_incident_id is None:
            return
        try:
            rows = self.incidents.store.entries_window(
                self._shown_incident_id, message.start, message.count
            )
        except StoreUnavailable as exc:
            self._store_error(str(exc))
            return
        message.timeline.put_window(message.start, rows, message.generation)

    def action_declare_incident(self) -> None:
        if self.incidents is None:
            self.notify(self.store_problem, title="Incident store", severity="error")
            return
        if self.incidents.open_incident is not None:
            self.notify(f"{self.incidents.open_incident.id} is still open.", timeout=4)
            return
        configured = tuple(
            name for name, r in self._latest_results.items() if r.latest.status.rank >= 3
        )
        self.push_screen(
            DeclareScreen(self.config.incident.severity_scheme, services=configured),
            self._declared,
        )

    def _declared(self, request: DeclareRequest | None) -> None:
        if request is None or self.incidents is None:
            return
        try:
            incident = self.incidents.declare(
                title=request.title,
                severity=request.severity,
                impact=request.impact,
                services=request.services,
            )
        except StoreUnavailable as exc:
            self._store_error(str(exc))
            return
        self._poll_incidents()
        self.notify(f"Declared {incident.id}", timeout=4)

    def action_note(self) -> None:
        controller = self._need_incident()
        if controller is None:
            return
        kept = controller.pending_draft()
        if kept is not None and kept[1] is not None:
            self._open_note(kept[0], corrects=kept[1], restored=True)
        else:
            self._open_note(kept[0] if kept else "", restored=kept is not None)

    def _open_note(self, text: str, *, corrects: int | None = None, restored: bool = False) -> None:
        original = ""
        if corrects is not None and self.incidents is not None:
            try:
                original = self.incidents.store.entry(corrects).text
            except (KeyError, StoreUnavailable):
                corrects = None
        screen = NoteScreen(text, corrects=corrects, original=original, restored=restored)
        self.push_screen(screen, self._noted)

    def on_timeline_correct_requested(self, message: Timeline.CorrectRequested) -> None:
        if self._need_incident() is not None:
            self._open_note(message.entry.text, corrects=message.entry.id)

    def on_note_screen_draft_changed(self, message: NoteScreen.DraftChanged) -> None:
        if self.incidents is not None:
            self.incidents.save_draft(message.text, corrects=message.corrects)

    def _noted(self, result: NoteResult | None) -> None:
        if result is None or self.incidents is None:
            return
        try:
            self.incidents.note(result.text, corrects=result.corrects)
        except StoreUnavailable as exc:
            self._store_error(str(exc) + " — the note is kept as a draft")
            return
        self._poll_incidents()

    def action_change_status(self) -> None:
        controller = self._need_incident()
        if controller is None or controller.open_incident is None:
            return
        incident = controller.open_incident
        self.push_screen(
            StatusScreen(incident.status, incident.severity, incident.scheme), self._status_chosen
        )

    def _status_chosen(self, choice: tuple[str, str] | None) -> None:
        if choice is None or self.incidents is None:
            return
        what, value = choice
        if what == "status" and value == "resolved":
            incident = self.incidents.open_incident
            self.push_screen(
                ResolveScreen(
                    incident.root_cause if incident else "", incident.resolution if incident else ""
                ),
                self._resolved,
            )
            return
        try:
            if what == "status":
                self.incidents.set_status(value)
            elif what == "severity":
                self.incidents.set_severity(value)
        except StoreUnavailable as exc:
            self._store_error(str(exc))
        self._poll_incidents()

    def _resolved(self, request: ResolveRequest | None) -> None:
        if request is None or self.incidents is None or self.incidents.open_incident is None:
            return
        incident_id = self.incidents.open_incident.id
        try:
            fields = {"root_cause": request.root_cause, "resolution": request.resolution}
            self.incidents.store.update_fields(
                incident_id, **{k: v for k, v in fields.items() if v}
            )
            resolved = self.incidents.set_status("resolved")
        except StoreUnavailable as exc:
            self._store_error(str(exc))
            return
        self._poll_incidents()
        if resolved is not None:
            self.notify(
                f"{incident_id} resolved. u posts the resolved update; "
                f"`zconsole incidents export {incident_id}` writes the postmortem.",
                timeout=8,
            )

    def action_status_update(self) -> None:
        from datetime import UTC

        from zconsole.checks.incident import KIND_UPDATE
        from zconsole.updates import FORMATS, KINDS, default_kind, render

        controller = self.incidents
        if controller is None or controller.update_subject is None:
            self._need_incident()  # says why
            return
        incident = controller.update_subject
        entries = controller.store.entries(incident.id)
        now = datetime.now(UTC)
        variants = {
            (kind, fmt): render(kind, fmt, incident, entries, now=now, config=self.config.incident)
            for kind in KINDS
            for fmt in FORMATS
        }
        posted = sum(1 for e in entries if e.kind == KIND_UPDATE)
        self.push_screen(
            UpdatePreviewScreen(variants, default_kind(incident, posted)), self._update_posted
        )

    def _update_posted(self, text: str | None) -> None:
        if text is None or self.incidents is None:
            return
        how = self.copy_text(text)
        self.incidents.posted_update(text)
        self._poll_incidents()
        self.notify(f"Status update copied ({how}) and recorded in the timeline.", timeout=4)

    def copy_text(self, text: str) -> str:
        """pyperclip where this machine has a clipboard, else OSC 52 (SSH, tmux)."""
        import os
        import sys

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

    def action_evidence(self) -> None:
        controller = self._need_incident()
        if controller is None or controller.open_incident is None:
            return
        self.notify("Collecting evidence…", timeout=3)
        self.run_worker(
            self._write_evidence(controller, controller.open_incident.id),
            name="evidence",
            group="evidence",
            exclusive=True,
            exit_on_error=False,
        )

    async def _write_evidence(self, controller: IncidentController, incident_id: str) -> None:
        """Every check's snapshot, plus each check's raw material (pg_stat_activity, Redis INFO,
        log tails, processes) gathered on the check's own thread, written off the event loop."""
        from pathlib import Path

        from zconsole.evidence import write_bundle

        snapshots = {name: r.latest for name, r in self._latest_results.items()}
        extras: dict[str, str] = {}
        for pane in self.screen_stack[0].query(Pane):
            offer = getattr(pane, "evidence", None)
            if callable(offer):
                extras.update(offer())
        for name, check in self.checks.items():
            if name not in snapshots or not snapshots[name].configured:
                continue
            picker = getattr(self.pane(name), "selected_record", None)
            selected = picker() if callable(picker) else None
            try:
                extras.update(
                    await self.scheduler.run_on_check_thread(
                        name, partial(check.evidence, selected), timeout=check.timeout * 2
                    )
                )
            except Exception as exc:  # noqa: BLE001 - a dead backend is evidence too
                extras[f"{name}-evidence-error.txt"] = redact(describe_error(exc))
        try:
            folder, files = await asyncio.to_thread(
                write_bundle,
                Path(self.config.incident.export_dir),
                incident_id,
                snapshots,
                extras,
            )
        except OSError as exc:
            self.notify(f"Evidence bundle not written: {exc}", severity="error")
            return
        controller.record(KIND_EVIDENCE, f"Evidence bundle: {folder} ({len(files)} files)")
        self._poll_incidents()
        self.notify(f"Evidence written to {folder}", timeout=5)

    # -- action layer (issue 3 item 6): mitigations, custom actions, confirmations ------------

    def _make_action_runner(self) -> ActionRunner:
        return ActionRunner(
            audit=AuditLog(default_audit_path(self.config.general.store)),
            confirm=self._confirm_action,
            read_only=self.read_only,
            timeline=lambda: self.incidents,
        )

    async def _confirm_action(self, request: ConfirmRequest) -> bool:
        """Show the modal the runner asks for and wait for the answer (runner runs in a worker)."""
        action = request.action
        screen: ConfirmScreen | TypeTargetScreen
        if request.kind is ConfirmKind.TYPE_TARGET:
            screen = TypeTargetScreen(
                title=action.title,
                risk=action.risk.value,
                preview=action.preview,
                target=action.target,
            )
        elif request.kind is ConfirmKind.REPEAT:
            screen = ConfirmScreen(
                title=action.title,
                risk=action.risk.value,
                preview=action.preview,
                question="Run it again anyway?",
                note=f"Repeat guard: this already ran {request.repeats} times on "
                f"{action.target} in the last {request.window_s:g} s.",
            )
        else:
            screen = ConfirmScreen(
                title=action.title,
                risk=action.risk.value,
                preview=action.preview,
                question=f"{action.title}?",
            )
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answered(result: bool | None) -> None:
            if not answer.done():
                answer.set_result(bool(result))

        await self.push_screen(screen, callback=answered)
        return await answer

    @on(MitigationRequested)
    def _mitigation_requested(self, message: MitigationRequested) -> None:
        message.stop()
        self.request_mitigation(message.source, message.action, message.record)

    def request_mitigation(self, source: str, name: str, record: object) -> None:
        """Build a pane's mitigation for its selected record and run it through the runner.

        Building may query the backend (the exact pids a bulk terminate will hit, Docker's disk
        usage for a prune dry run), so it happens in a worker thread, never on the event loop.
        """
        check = self.checks.get(source)
        if check is None:
            self._tell(f"No {source} source to act on.", severity="error")
            return
        self.run_worker(
            self._build_and_run(source, name, check, record),
            name=f"build:{source}.{name}",
            group="actions",
            exit_on_error=False,
        )

    async def _build_and_run(
        self, source: str, name: str, check: Check[Any], record: object
    ) -> None:
        from zconsole import mitigations

        try:
            action = await asyncio.to_thread(mitigations.build, source, name, check, record)
        except mitigations.UnknownMitigation as exc:
            self._tell(str(exc), title="Unknown action", severity="error")
            return
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            self._tell(f"{name}: {redact(str(exc))}", title="Cannot build action", severity="error")
            return
        except Exception as exc:  # noqa: BLE001 - a backend error while previewing is the user's to read
            self._tell(
                f"{name}: {redact(describe_error(exc))}",
                title="Cannot preview action",
                severity="error",
            )
            return
        await self._run_action(action, source)

    def launch_action(self, action: Action, *, refresh: str = "") -> Worker[ActionOutcome]:
        """Run an Action through the one runner in a worker; refresh ``refresh`` on success."""
        return self.run_worker(
            self._run_action(action, refresh),
            name=f"action:{action.name}",
            group="actions",
            exit_on_error=False,
        )

    async def _run_action(self, action: Action, refresh: str) -> ActionOutcome:
        outcome = await self.action_runner.run(action)
        self._report_outcome(outcome)
        if outcome.ok and refresh in self.checks:
            self.scheduler.refresh(refresh)
        return outcome

    def _tell(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """Notify with outside text (names, errors, command output) shown literally."""
        self.notify(
            plain(redact(message), max_len=400),
            title=plain(title, max_len=60),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _report_outcome(self, outcome: ActionOutcome) -> None:
        title = outcome.action.title
        first = outcome.text.splitlines()[0] if outcome.text else ""
        if outcome.outcome is Outcome.SUCCEEDED:
            self._tell(f"{title}: {first[:200]}", title="Done", timeout=5)
        elif outcome.outcome is Outcome.REFUSED:
            self._tell(f"{title} not run — {first[:200]}", title="Refused", severity="warning")
        elif outcome.outcome is Outcome.CANCELLED:
            self._tell(f"{title}: cancelled", timeout=3)
        else:
            self._tell(
                f"{title}: {first[:300]}",
                title=outcome.outcome.value.replace("_", " ").title(),
                severity="error",
                timeout=10,
            )
        if outcome.audit_error:
            self._tell(outcome.audit_error, title="Not recorded", severity="error", timeout=10)

    def _focused_source(self) -> str:
        node: Widget | None = self.focused
        while node is not None and not isinstance(node, Pane):
            node = node.parent if isinstance(node.parent, Widget) else None
        return node.source if isinstance(node, Pane) else self.active_pane

    def _selected_record(self, source: str) -> object:
        """The pane's selected record, when the pane offers one (``selected_record()``)."""
        pane = self.pane(source)
        getter = getattr(pane, "selected_record", None)
        return getter() if callable(getter) else None

    def action_actions_menu(self) -> None:
        """The `a` menu: built-in mitigations of the focused pane plus matching custom actions."""
        from zconsole import mitigations
        from zconsole.custom_actions import matching

        source = self._focused_source()
        record = self._selected_record(source)
        entries = [
            MenuEntry(f"builtin:{name}", name, hint="built-in")
            for name in mitigations.available(source)
        ]
        entries += [
            MenuEntry(f"custom:{index}", custom.name, custom.risk, shlex.join(custom.argv))
            for index, custom in enumerate(self.config.actions)
            if custom in matching(self.config.actions, source)
        ]

        def chosen(key: str | None) -> None:
            if key is None:
                return
            kind, _, value = key.partition(":")
            if kind == "builtin":
                self.request_mitigation(source, value, record)
            else:
                self.run_custom_action(self.config.actions[int(value)], record)

        title = f"Actions — {registry.title_of(source)}"
        self.push_screen(ActionsMenu(title, entries, read_only=self.read_only), callback=chosen)

    def run_custom_action(self, custom: CustomAction, record: object) -> None:
        """A configured runbook command on the selected row; a refused placeholder is audited."""
        from zconsole.custom_actions import build_custom_action

        try:
            action = build_custom_action(custom, record)
        except ValueError as exc:
            # Never run, but still an attempt: the audit log (and timeline) hear of it.
            stub = Action(
                name=f"custom.{custom.name}",
                title=f"Run {custom.name}",
                target="(not built)",
                risk=Risk(custom.risk) if custom.risk in set(Risk) else Risk.DISRUPTIVE,
                preview="argv: " + shlex.join(custom.argv),
                execute=lambda: "",
                source=custom.source or "custom",
            )
            self._report_outcome(self.action_runner.refuse(stub, str(exc)))
            return
        self.launch_action(action, refresh=custom.source)

    def _action_commands(self) -> Iterable[SystemCommand]:
        for custom in self.config.actions:
            yield SystemCommand(
                f"Run action: {custom.name}",
                f"{custom.risk}: {shlex.join(custom.argv)}",
                partial(self._run_custom_on_focus, custom),
            )

    def _run_custom_on_focus(self, custom: CustomAction) -> None:
        self.run_custom_action(
            custom, self._selected_record(custom.source) if custom.source else None
        )

    # -- docker (issue 4): engine events -> poll now + timeline; container logs ---------------

    def _docker_mount(self) -> None:
        """Let the docker check's event thread ask for a poll now (a crash shows within 1 s)."""
        check = self.checks.get("docker")
        if check is not None and hasattr(check, "on_event"):
            check.on_event = self._docker_event_from_thread

    def _docker_event_from_thread(self, event: Any) -> None:
        """Called in the docker events thread."""
        with contextlib.suppress(Exception):  # the app may be shutting down
            self.call_from_thread(self._docker_event, event)

    def _docker_event(self, event: Any) -> None:
        self.scheduler.refresh("docker")
        if getattr(event, "for_timeline", False) and self.incidents is not None:
            self.incidents.record("check", str(event.text))
            self._poll_incidents()

    @on(ContainerLogsRequested)
    def _container_logs_requested(self, message: ContainerLogsRequested) -> None:
        message.stop()
        from zconsole.docker_logs import DockerLogsController

        check = self.checks.get("docker")
        if check is None or not hasattr(check, "client"):
            self.notify("Docker is not configured.", severity="error")
            return
        DockerLogsController(self, check).open(message)  # type: ignore[arg-type]
