"""The action flow on screen: the `a` menu, pane mitigations and runbook commands, each through
the one :class:`~zconsole.action_runner.ActionRunner` (preview, confirm by risk, execute,
record), with its confirmations shown as modals and its outcome told to the user.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Iterable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.notifications import SeverityLevel
from textual.worker import Worker

from zconsole import registry
from zconsole.action_runner import ActionRunner, ConfirmKind, ConfirmRequest, confirmation_for
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.audit import AuditLog, default_audit_path
from zconsole.checks.base import Check, describe_error
from zconsole.checks.secrets import redact
from zconsole.config import CustomAction
from zconsole.widgets.actions_menu import ActionsMenu, MenuEntry
from zconsole.widgets.confirm import ConfirmScreen, PendingScreen, TypeTargetScreen
from zconsole.widgets.text import plain

if TYPE_CHECKING:
    from zconsole.app import ZConsoleApp


class ActionFlow:
    """Every action the user starts, from a pane key, the `a` menu or the palette."""

    def __init__(self, app: ZConsoleApp) -> None:
        self.app = app
        self.runner = ActionRunner(
            audit=AuditLog(default_audit_path()),
            confirm=self._confirm,
            read_only=app.read_only,
            timeline=lambda: app.incidents,
            blocked=app.time_travel.refusal,
        )
        #: Holds the keyboard from a mitigation's key press until its confirmation shows.
        self.pending: PendingScreen | None = None

    async def _confirm(self, request: ConfirmRequest) -> bool:
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

        if self.pending is not None:
            # Gives way and the confirmation goes on, with no await between: no key falls
            # between the two screens.
            self.pending.hand_over()
        await self.app.push_screen(screen, callback=answered)
        return await answer

    # -- mitigations ---------------------------------------------------------------------------

    def request_mitigation(self, source: str, name: str, record: object) -> None:
        """Build a pane's mitigation for its selected record and run it through the runner.

        Building may query the backend (the exact pids a bulk terminate will hit, Docker's disk
        usage for a prune dry run), so it happens in a worker thread, never on the event loop.
        """
        check = self.app.checks.get(source)
        if check is None:
            self.tell(f"No {source} source to act on.", severity="error")
            return
        refused = self.runner.refuse_if_blocked(source, name, "the selected row")
        if refused is not None:
            self._report(refused)
            return
        # From this key press on, keys typed ahead (a target's name, "y") go to this screen.
        pending = PendingScreen(f"{source} {name}")
        self.app.push_screen(pending)
        if self.app.attach_flow.attached and not self.runner.read_only:
            # Attached, this console holds no connection: the collector's builds and runs it.
            self.app.run_worker(
                self.app.attach_flow.run_remote(source, name, record, pending),
                name=f"remote:{source}.{name}",
                group="actions",
                exit_on_error=False,
            )
            return
        self.app.run_worker(
            self._build_and_run(source, name, check, record, pending),
            name=f"build:{source}.{name}",
            group="actions",
            exit_on_error=False,
        )

    async def _build_and_run(
        self, source: str, name: str, check: Check[Any], record: object, pending: PendingScreen
    ) -> None:
        action: Action | None = None
        try:
            action = await self._build(source, name, check, record)
        finally:
            if action is None:  # not built (the reason is on screen) or the console is closing
                pending.finish()
        if action is None or pending.cancelled:
            return
        if self.runner.read_only and confirmation_for(action.risk) is ConfirmKind.TYPE_TARGET:
            # Refused where its typed confirmation would be: what is typed next goes nowhere.
            outcome = await self.runner.run(action)
            pending.refuse(outcome.text)
            return
        self.pending = pending
        if action.risk is Risk.SAFE or self.runner.read_only:
            pending.finish()  # nothing to confirm: the outcome is told as usual
        try:
            await self._run(action, source)
        finally:
            self.pending = None
            pending.finish()

    async def _build(
        self, source: str, name: str, check: Check[Any], record: object
    ) -> Action | None:
        """The pane's mitigation for its record, built off the event loop; None (and why, told)
        when it cannot be built."""
        from zconsole import mitigations

        try:
            return await asyncio.to_thread(mitigations.build, source, name, check, record)
        except mitigations.UnknownMitigation as exc:
            self.tell(str(exc), title="Unknown action", severity="error")
        except (ValueError, TypeError, AttributeError, KeyError) as exc:
            self.tell(f"{name}: {redact(str(exc))}", title="Cannot build action", severity="error")
        except Exception as exc:  # noqa: BLE001 - a backend error while previewing is the user's to read
            self.tell(
                f"{name}: {redact(describe_error(exc))}",
                title="Cannot preview action",
                severity="error",
            )
        return None

    def launch(self, action: Action, *, refresh: str = "") -> Worker[ActionOutcome]:
        """Run an Action through the one runner in a worker; refresh ``refresh`` on success."""
        return self.app.run_worker(
            self._run(action, refresh),
            name=f"action:{action.name}",
            group="actions",
            exit_on_error=False,
        )

    async def _run(self, action: Action, refresh: str) -> ActionOutcome:
        outcome = await self.runner.run(action)
        self._report(outcome)
        if outcome.ok and refresh in self.app.checks:
            self.app.scheduler.refresh(refresh)
        return outcome

    # -- telling the user ----------------------------------------------------------------------

    def tell(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
    ) -> None:
        """Notify with outside text (names, errors, command output) shown literally."""
        self.app.notify(
            plain(redact(message), max_len=400),
            title=plain(title, max_len=60),
            severity=severity,
            timeout=timeout,
            markup=False,
        )

    def _report(self, outcome: ActionOutcome) -> None:
        title = outcome.action.title
        first = outcome.text.splitlines()[0] if outcome.text else ""
        if outcome.outcome is Outcome.SUCCEEDED:
            self.tell(f"{title}: {first[:200]}", title="Done", timeout=5)
        elif outcome.outcome is Outcome.REFUSED:
            self.tell(f"{title} not run — {first[:200]}", title="Refused", severity="warning")
        elif outcome.outcome is Outcome.CANCELLED:
            self.tell(f"{title}: cancelled", timeout=3)
        else:
            self.tell(
                f"{title}: {first[:300]}",
                title=outcome.outcome.value.replace("_", " ").title(),
                severity="error",
                timeout=10,
            )
        if outcome.audit_error:
            self.tell(outcome.audit_error, title="Not recorded", severity="error", timeout=10)

    # -- the `a` menu and runbook commands -----------------------------------------------------

    def menu(self) -> None:
        """The `a` menu: built-in mitigations of the focused pane plus matching custom actions."""
        from zconsole import mitigations
        from zconsole.custom_actions import matching

        app = self.app
        source = app.focused_source()
        record = app.selected_record(source)
        entries = [
            MenuEntry(f"builtin:{name}", name, hint="built-in")
            for name in mitigations.available(source)
        ]
        entries += [
            MenuEntry(f"custom:{index}", custom.name, custom.risk, shlex.join(custom.argv))
            for index, custom in enumerate(app.config.actions)
            if custom in matching(app.config.actions, source)
        ]

        def chosen(key: str | None) -> None:
            if key is None:
                return
            kind, _, value = key.partition(":")
            if kind == "builtin":
                self.request_mitigation(source, value, record)
            else:
                self.run_custom(app.config.actions[int(value)], record)

        title = f"Actions — {registry.title_of(source)}"
        app.push_screen(ActionsMenu(title, entries, read_only=app.read_only), callback=chosen)

    def run_custom(self, custom: CustomAction, record: object) -> None:
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
            self._report(self.runner.refuse(stub, str(exc)))
            return
        self.launch(action, refresh=custom.source)

    def palette_commands(self) -> Iterable[SystemCommand]:
        for custom in self.app.config.actions:
            yield SystemCommand(
                f"Run action: {custom.name}",
                f"{custom.risk}: {shlex.join(custom.argv)}",
                partial(self._run_custom_on_focus, custom),
            )

    def _run_custom_on_focus(self, custom: CustomAction) -> None:
        self.run_custom(custom, self.app.selected_record(custom.source) if custom.source else None)
