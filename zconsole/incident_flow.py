"""The incident workflow on screen: declare, note, correct, status, resolve, status updates,
evidence, pins, and the timeline kept in step with the store.

The app hands each key and message of the incident area to :class:`IncidentFlow`; the flow asks
the :class:`~zconsole.incident_controller.IncidentController` (the one object that touches the
store, and its one error policy) and turns the answers into widget updates and screens.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zconsole.checks.base import describe_error
from zconsole.checks.incident import KIND_EVIDENCE, KIND_UPDATE
from zconsole.checks.secrets import redact
from zconsole.incident_controller import POLL_INTERVAL_S, IncidentController
from zconsole.notify import OUTBOX_INTERVAL_S
from zconsole.store import READ_ONLY_WRITES
from zconsole.widgets.header import StatusHeader
from zconsole.widgets.incident import IncidentPanel
from zconsole.widgets.messages import PinRequested
from zconsole.widgets.timeline import Timeline

if TYPE_CHECKING:
    from zconsole.app import ZConsoleApp
    from zconsole.widgets.declare import DeclareRequest, ResolveRequest
    from zconsole.widgets.note import NoteResult, NoteScreen


class IncidentFlow:
    """The incident area of one app: what each incident key and message does."""

    def __init__(self, app: ZConsoleApp) -> None:
        self.app = app
        opened = IncidentController.open(
            app.config.general.store,
            app.config.incident,
            on_error=self._store_error,
            read_only=app.read_only,
            notify=app.config.notify,
        )
        #: None when the store could not be opened: the panes run on, incident features off.
        self.controller = opened if isinstance(opened, IncidentController) else None
        self.store_problem = opened if isinstance(opened, str) else ""
        self._shown_incident_id: str | None = None

    def _writable(self) -> bool:
        """False, and one message, when the store is only viewed here: every write (declare,
        note, correction, draft, status, status update, pin, evidence) is refused alike."""
        if self.controller is not None and self.controller.read_only:
            self.app.notify(READ_ONLY_WRITES, title="Read-only", severity="warning", timeout=5)
            return False
        return True

    def _store_error(self, message: str) -> None:
        self.app.notify(message, title="Incident store", severity="error", timeout=8)

    def _now(self) -> datetime | None:
        return self.app.clock() if self.app.clock else None

    def _panel(self) -> IncidentPanel | None:
        """The panel on the main screen (also under a modal); None while starting or stopping."""
        stack = self.app.screen_stack
        if self.app._exit or not stack:
            return None
        panel = stack[0].query_one_optional(IncidentPanel)
        # While the app shuts down its widgets are removed child first: the panel may still be
        # there with its parts already gone, and a timer may still fire.
        if panel is None or not panel.is_attached or panel._closing:
            return None
        return panel

    # -- keeping the panel in step -------------------------------------------------------------

    def mount(self) -> None:
        panel = self._panel()
        if panel is None:
            return
        if self.controller is None:
            panel.show_problem(self.store_problem + " — incident features are off")
            self.app.notify(
                self.store_problem, title="Incident store", severity="error", timeout=10
            )
            return
        self._sync()
        if self.controller.pending_draft() is not None:
            self.app.notify(
                "A note you were typing was kept as a draft: press n to finish it.",
                title="Draft",
                timeout=15,
            )
        # Other processes' entries (a second responder's session) show up within a second.
        self.app.set_interval(POLL_INTERVAL_S, self.poll)
        if self.controller.notifier is not None:
            # What waits in the outbox goes out when its receiver is back.
            self.app.set_interval(OUTBOX_INTERVAL_S, self.deliver_posts)
            self.deliver_posts()

    def deliver_posts(self) -> None:
        """Send the outbox in a thread; the results reach the timeline through the store."""
        notifier = self.controller.notifier if self.controller is not None else None
        running = any(w.group == "notify" and w.is_running for w in self.app.workers)
        if notifier is None or running:
            return
        self.app.run_worker(notifier.deliver, thread=True, group="notify", exit_on_error=False)

    def _sync(self) -> None:
        """Show the open incident; a different one than before resets the timeline."""
        panel = self._panel()
        controller = self.controller
        if controller is None or panel is None:
            return
        # The open incident; after resolving here, the resolved one stays in view until the
        # next is declared (its "resolved" update is still to be posted).
        incident = controller.update_subject
        panel.show_incident(incident)
        panel.set_class(incident is not None, "-shown")
        header = self.app.main_screen.query_one_optional(StatusHeader)
        if header is not None:
            # The incident stays in the header line on every pane and at every size.
            header.incident = (
                f"{incident.id} {incident.severity} {incident.status}" if incident else ""
            )
        new_id = incident.id if incident else None
        if new_id != self._shown_incident_id:
            self._shown_incident_id = new_id
            total, last_id = controller.timeline_extent(new_id) if new_id else (0, 0)
            panel.timeline.reset(total, last_id)
        # The clocks and the header's update clock at once, not at the next second's tick: a
        # screen drawn in between (a snapshot, a slow link's first frame) must not lack them.
        self.tick()

    def poll(self) -> None:
        """Other processes' entries, the open incident as the store has it now."""
        panel = self._panel()
        controller = self.controller
        if controller is None or panel is None:
            return
        new = controller.poll()
        panel.show_problem(controller.problem)
        if controller.problem:
            return
        before = self._shown_incident_id
        self._sync()
        if self._shown_incident_id == before:
            panel.timeline.append(new)

    def tick(self) -> None:
        panel = self._panel()
        controller = self.controller
        header = self.app.main_screen.query_one_optional(StatusHeader)
        if panel is None or controller is None or controller.update_subject is None:
            if header is not None:
                header.show_update_clock(None)
            return
        clocks = controller.clocks(self._now())
        if controller.problem:
            panel.show_problem(controller.problem)
            return
        panel.show_clocks(clocks)
        if header is not None:
            # The header says when the next status update is due, on every pane and size.
            waiting = clocks is not None and controller.open_incident is not None
            header.show_update_clock(
                clocks.next_update_s if waiting and clocks else None,
                clocks.update_every_s if clocks else 0.0,
            )

    def result(self, result: Any) -> None:
        """Feed the check watch (crit/recovered lines in the timeline)."""
        if self.controller is not None and self.controller.watch_result(result):
            self.poll()

    def _need_incident(self) -> IncidentController | None:
        if self.controller is None:
            self.app.notify(self.store_problem, title="Incident store", severity="error")
            return None
        if self.controller.open_incident is None:
            self.app.notify("No open incident: declare one first (i).", timeout=4)
            return None
        return self.controller

    def timeline_window(self, message: Timeline.WindowRequested) -> None:
        if self.controller is None or self._shown_incident_id is None:
            return
        rows = self.controller.entries_window(self._shown_incident_id, message.start, message.count)
        if not self.controller.problem:
            message.timeline.put_window(message.start, rows, message.generation)

    # -- pins ----------------------------------------------------------------------------------

    def pin(self, message: PinRequested) -> None:
        if not self._writable():
            return
        if self.controller is None or self.controller.open_incident is None:
            self.app.notify(
                "Declare an incident first (i) to pin rows into its timeline.", timeout=4
            )
            return
        self.controller.record(KIND_EVIDENCE, f"[{message.source}] {message.text}")
        self.poll()
        self.app.notify(f"Pinned: {redact(message.text)[:60]}", timeout=3)

    # -- declare, note, status, resolve --------------------------------------------------------

    def declare(self) -> None:
        if not self._writable():
            return
        if self.controller is None:
            self.app.notify(self.store_problem, title="Incident store", severity="error")
            return
        if self.controller.open_incident is not None:
            self.app.notify(f"{self.controller.open_incident.id} is still open.", timeout=4)
            return
        failing = self.controller.failing(list(self.app.checks))
        # The incident screens are imported when first opened (a console at rest never shows
        # them; their Inputs, Selects and TextAreas are ~1 MiB resident).
        from zconsole.widgets.declare import DeclareScreen

        self.app.push_screen(
            DeclareScreen(self.app.config.incident.severity_scheme, services=failing),
            self._declared,
        )

    def _declared(self, request: DeclareRequest | None) -> None:
        if request is None or self.controller is None:
            return
        incident = self.controller.declare(
            title=request.title,
            severity=request.severity,
            impact=request.impact,
            services=request.services,
        )
        if incident is None:
            return
        self.poll()
        self.deliver_posts()
        self.app.notify(f"Declared {incident.id}", timeout=4)

    def note(self) -> None:
        if not self._writable():
            return
        controller = self._need_incident()
        if controller is None:
            return
        kept = controller.pending_draft()
        if kept is not None and kept[1] is not None:
            self._open_note(kept[0], corrects=kept[1], restored=True)
        else:
            self._open_note(kept[0] if kept else "", restored=kept is not None)

    def correct(self, message: Timeline.CorrectRequested) -> None:
        if self._writable() and self._need_incident() is not None:
            self._open_note(message.entry.text, corrects=message.entry.id)

    def _open_note(self, text: str, *, corrects: int | None = None, restored: bool = False) -> None:
        original = ""
        if corrects is not None and self.controller is not None:
            found = self.controller.entry_text(corrects)
            if found is None:
                corrects = None
            else:
                original = found
        # Imported when first opened: the note editor (a TextArea) is ~0.6 MiB resident.
        from zconsole.widgets.note import NoteScreen

        screen = NoteScreen(text, corrects=corrects, original=original, restored=restored)
        self.app.push_screen(screen, self._noted)

    def draft_changed(self, message: NoteScreen.DraftChanged) -> None:
        if self.controller is not None and not self.controller.read_only:
            self.controller.save_draft(message.text, corrects=message.corrects)

    def _noted(self, result: NoteResult | None) -> None:
        if result is None or self.controller is None:
            return
        self.controller.note(result.text, corrects=result.corrects)
        if not self.controller.problem:
            self.poll()

    def change_status(self) -> None:
        if not self._writable():
            return
        controller = self._need_incident()
        if controller is None or controller.open_incident is None:
            return
        incident = controller.open_incident
        from zconsole.widgets.declare import StatusScreen

        self.app.push_screen(
            StatusScreen(incident.status, incident.severity, incident.scheme), self._status_chosen
        )

    def _status_chosen(self, choice: tuple[str, str] | None) -> None:
        if choice is None or self.controller is None:
            return
        what, value = choice
        if what == "status" and value == "resolved":
            incident = self.controller.open_incident
            from zconsole.widgets.declare import ResolveScreen

            self.app.push_screen(
                ResolveScreen(
                    incident.root_cause if incident else "", incident.resolution if incident else ""
                ),
                self._resolved,
            )
            return
        if what == "status":
            self.controller.set_status(value)
        elif what == "severity":
            self.controller.set_severity(value)
        self.poll()
        self.deliver_posts()

    def _resolved(self, request: ResolveRequest | None) -> None:
        controller = self.controller
        if request is None or controller is None or controller.open_incident is None:
            return
        incident_id = controller.open_incident.id
        resolved = controller.resolve(root_cause=request.root_cause, resolution=request.resolution)
        if controller.problem:
            return
        self.poll()
        self.deliver_posts()
        if resolved is not None:
            self.app.notify(
                f"{incident_id} resolved. u posts the resolved update; "
                f"`zconsole incidents export {incident_id}` writes the postmortem.",
                timeout=8,
            )

    # -- status updates ------------------------------------------------------------------------

    def status_update(self) -> None:
        from zconsole.updates import FORMATS, KINDS, default_kind, render

        controller = self.controller
        if not self._writable():
            return
        if controller is None or controller.update_subject is None:
            self._need_incident()  # says why
            return
        incident = controller.update_subject
        entries = controller.update_entries()
        now = datetime.now(UTC)
        variants = {
            (kind, fmt): render(
                kind, fmt, incident, entries, now=now, config=self.app.config.incident
            )
            for kind in KINDS
            for fmt in FORMATS
        }
        posted = sum(1 for e in entries if e.kind == KIND_UPDATE)
        receivers = controller.notifier.names() if controller.notifier is not None else []
        from zconsole.widgets.update_preview import UpdatePreviewScreen

        screen = UpdatePreviewScreen(variants, default_kind(incident, posted), receivers=receivers)
        self.app.push_screen(screen, lambda text: self._update_posted(text, screen.kind))

    def _update_posted(self, text: str | None, kind: str = "") -> None:
        if text is None or self.controller is None:
            return
        how = self.app.copy_text(text)
        queued = self.controller.posted_update(text, kind)
        self.poll()
        if queued:
            self.deliver_posts()
            self.app.notify(
                f"Status update copied ({how}), recorded, and posting to {queued} receiver(s); "
                "the timeline shows each result.",
                timeout=5,
            )
            return
        self.app.notify(f"Status update copied ({how}) and recorded in the timeline.", timeout=4)

    # -- evidence ------------------------------------------------------------------------------

    def evidence(self) -> None:
        if not self._writable():
            return
        controller = self._need_incident()
        if controller is None or controller.open_incident is None:
            return
        self.app.notify("Collecting evidence…", timeout=3)
        self.app.run_worker(
            self._write_evidence(controller, controller.open_incident.id),
            name="evidence",
            group="evidence",
            exclusive=True,
            exit_on_error=False,
        )

    async def _write_evidence(self, controller: IncidentController, incident_id: str) -> None:
        """Every check's snapshot, plus each check's raw material (pg_stat_activity, Redis INFO,
        log tails, processes) gathered on the check's own thread, written off the event loop."""
        from zconsole.evidence import write_bundle

        app = self.app
        snapshots = {name: r.latest for name, r in app.latest.items()}
        extras: dict[str, str] = {}
        for name, check in app.checks.items():
            if name not in snapshots or not snapshots[name].configured:
                continue
            selected = app.selected_record(name)
            try:
                extras.update(
                    await app.scheduler.run_on_check_thread(
                        name, partial(check.evidence, selected), timeout=check.timeout * 2
                    )
                )
            except Exception as exc:  # noqa: BLE001 - a dead backend is evidence too
                extras[f"{name}-evidence-error.txt"] = redact(describe_error(exc))
        try:
            folder, files = await asyncio.to_thread(
                write_bundle,
                Path(app.config.incident.export_dir),
                incident_id,
                snapshots,
                extras,
            )
        except OSError as exc:
            app.notify(f"Evidence bundle not written: {exc}", severity="error")
            return
        controller.record(KIND_EVIDENCE, f"Evidence bundle: {folder} ({len(files)} files)")
        self.poll()
        app.notify(f"Evidence written to {folder}", timeout=5)
