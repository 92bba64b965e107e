"""The one action runner: refuse in read-only mode, confirm by risk, execute with a timeout, record.

Every mitigation of every pane and every custom runbook action goes through
:meth:`ActionRunner.run`:

1. read-only mode (``--read-only`` or ``general.read_only``) refuses at once and says so, and
   so does ``blocked`` while it gives a reason (the console is showing a recorded moment);
2. the repeat guard: a third run of the same disruptive or destructive action on the same target
   within 60 s is refused unless the user confirms the repeat explicitly;
3. confirmation scales with risk: safe runs at once, disruptive asks y/N (default No),
   destructive requires typing the target's name; the preview (SQL, Docker API call, argv) is
   shown in the confirmation;
4. ``action.execute`` runs in a thread of its own, bounded by ``action.timeout``; a hung execute
   is reported as timed out while the event loop (and so the UI) keeps answering;
5. every attempt — refused, cancelled, failed, timed out, succeeded — is appended to the audit
   log and, when an incident is open, written to its timeline.

The UI side is one injected coroutine (``confirm``) that shows a modal and answers True/False, so
the guard, the audit writing and the read-only refusal are testable without Textual; the guard's
clock can be injected too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from zconsole.actions import Action, ActionError, ActionOutcome, Outcome, Risk
from zconsole.audit import AuditLog
from zconsole.checks.secrets import redact

#: The repeat guard's window and how many runs it allows in it without an extra confirmation.
REPEAT_WINDOW_S = 60.0
REPEAT_ALLOWED = 2
#: Longest result text written to the timeline (custom actions' output is bounded before this).
MAX_TIMELINE_DETAIL = 4096

READ_ONLY_REASON = "read-only mode: actions are disabled (--read-only or general.read_only)"


class ConfirmKind(StrEnum):
    """Which confirmation the UI must show."""

    #: Disruptive: "Restart container web-1? [y/N]" — Enter and Escape mean No.
    YES_NO = "yes_no"
    #: Destructive: type the target's name exactly.
    TYPE_TARGET = "type_target"
    #: The repeat guard: it already ran ``repeats`` times on this target within the window.
    REPEAT = "repeat"


@dataclass(frozen=True)
class ConfirmRequest:
    """What the UI is asked to confirm."""

    action: Action
    kind: ConfirmKind
    repeats: int = 0
    window_s: float = REPEAT_WINDOW_S


#: Shows a confirmation and answers whether the user confirmed it.
Confirm = Callable[[ConfirmRequest], Awaitable[bool]]


class TimelineSink(Protocol):
    """The open incident's timeline (the incident store's ``record(kind, text)``)."""

    def record(self, kind: str, text: str) -> object: ...


def confirmation_for(risk: Risk) -> ConfirmKind | None:
    """The confirmation a risk level needs (None: runs at once)."""
    if risk is Risk.DESTRUCTIVE:
        return ConfirmKind.TYPE_TARGET
    if risk is Risk.DISRUPTIVE:
        return ConfirmKind.YES_NO
    return None


class RepeatGuard:
    """Counts recent runs of each (action, target); asks again from the third one in the window.

    Only runs that were actually executed count (a cancelled confirmation is not a repeat), and
    safe actions are never guarded.
    """

    def __init__(
        self,
        *,
        window_s: float = REPEAT_WINDOW_S,
        allowed: int = REPEAT_ALLOWED,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.window_s = window_s
        self.allowed = allowed
        self.clock = clock
        self._runs: dict[tuple[str, str], deque[float]] = {}

    def recent(self, action: Action) -> int:
        """How many times this action ran on this target within the window."""
        runs = self._runs.get((action.name, action.target))
        if not runs:
            return 0
        cutoff = self.clock() - self.window_s
        while runs and runs[0] <= cutoff:
            runs.popleft()
        return len(runs)

    def needs_confirmation(self, action: Action) -> bool:
        return action.risk is not Risk.SAFE and self.recent(action) >= self.allowed

    def note(self, action: Action) -> None:
        """Remember that the action was executed now."""
        if action.risk is not Risk.SAFE:
            self._runs.setdefault((action.name, action.target), deque()).append(self.clock())


def _execute_in_thread(action: Action) -> concurrent.futures.Future[str]:
    """Run ``action.execute`` in a daemon thread of its own.

    Not the loop's default executor: a hung execute would hold one of its threads forever and
    stall interpreter shutdown, which waits for that executor.
    """
    future: concurrent.futures.Future[str] = concurrent.futures.Future()

    def target() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(action.execute())
        except BaseException as exc:  # noqa: BLE001 — handed to the awaiting coroutine
            future.set_exception(exc)

    threading.Thread(target=target, name=f"action-{action.name}", daemon=True).start()
    return future


class ActionRunner:
    """Runs Actions: read-only refusal, repeat guard, confirmation by risk, timeout, records."""

    def __init__(
        self,
        *,
        audit: AuditLog,
        confirm: Confirm,
        read_only: bool = False,
        timeline: Callable[[], TimelineSink | None] | None = None,
        guard: RepeatGuard | None = None,
        blocked: Callable[[], str | None] | None = None,
    ) -> None:
        self.audit = audit
        #: Why no action may run right now (the console shows the past), or None.
        self.blocked = blocked or (lambda: None)
        self.confirm = confirm
        self.read_only = read_only
        self.timeline = timeline or (lambda: None)
        self.guard = guard or RepeatGuard()

    async def run(self, action: Action) -> ActionOutcome:
        """One attempt, from refusal or confirmation to the recorded outcome.

        Await it from a worker (the confirmation waits for the user); it never raises for a
        failing action — the outcome says what happened.
        """
        if self.read_only:
            return self._finish(action, Outcome.REFUSED, READ_ONLY_REASON)
        reason = self.blocked()
        if reason is not None:
            return self._finish(action, Outcome.REFUSED, reason)
        try:
            refused = await self._confirm(action)
        except asyncio.CancelledError:
            self._finish(action, Outcome.CANCELLED, "console closed before it was confirmed")
            raise
        if refused is not None:
            return refused
        self.guard.note(action)
        started = time.monotonic()
        try:
            outcome, text = await self._execute(action)
        except asyncio.CancelledError:
            self._finish(
                action,
                Outcome.CANCELLED,
                "console closed while it ran (it may still complete in the background)",
                duration_s=time.monotonic() - started,
            )
            raise
        return self._finish(action, outcome, text, duration_s=time.monotonic() - started)

    def refuse_if_blocked(self, source: str, name: str, target: str) -> ActionOutcome | None:
        """While ``blocked`` gives a reason, the attempt is refused and recorded before the
        action is even built: building may query the backend about a record of the past."""
        reason = self.blocked()
        if reason is None:
            return None
        unbuilt = Action(
            name=f"{source}.{name}",
            title=name.replace("_", " ").capitalize(),
            target=target,
            risk=Risk.SAFE,
            preview="(not built)",
            execute=lambda: "",
            source=source,
        )
        return self._finish(unbuilt, Outcome.REFUSED, reason)

    def refuse(self, action: Action, reason: str) -> ActionOutcome:
        """Record an attempt zconsole would not even build or run (e.g. a hostile placeholder)."""
        return self._finish(action, Outcome.REFUSED, reason)

    async def _confirm(self, action: Action) -> ActionOutcome | None:
        """None when the action may run; else the recorded refusal or cancellation."""
        if self.guard.needs_confirmation(action):
            repeats = self.guard.recent(action)
            request = ConfirmRequest(
                action, ConfirmKind.REPEAT, repeats=repeats, window_s=self.guard.window_s
            )
            if not await self.confirm(request):
                return self._finish(
                    action,
                    Outcome.REFUSED,
                    f"repeat guard: already ran {repeats} times on {action.target} in the last "
                    f"{self.guard.window_s:g} s and the repeat was not confirmed",
                )
        kind = confirmation_for(action.risk)
        if kind is not None and not await self.confirm(ConfirmRequest(action, kind)):
            how = "typed name not confirmed" if kind is ConfirmKind.TYPE_TARGET else "answered No"
            return self._finish(action, Outcome.CANCELLED, f"cancelled at confirmation ({how})")
        return None

    async def _execute(self, action: Action) -> tuple[Outcome, str]:
        future = _execute_in_thread(action)
        try:
            result = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future)), timeout=action.timeout
            )
        except TimeoutError:
            return (
                Outcome.TIMED_OUT,
                f"timed out: no answer after {action.timeout:g} s "
                "(it may still complete in the background)",
            )
        except ActionError as exc:
            return Outcome.FAILED, str(exc) or type(exc).__name__
        except Exception as exc:  # noqa: BLE001 — any failure of an execute step is an outcome
            return Outcome.FAILED, f"{type(exc).__name__}: {exc}"
        return Outcome.SUCCEEDED, str(result or "done")

    def _finish(
        self, action: Action, outcome: Outcome, text: str, *, duration_s: float = 0.0
    ) -> ActionOutcome:
        text = redact(text)
        audit_error: str | None = None
        try:
            self.audit.write(action, outcome, text, duration_s=duration_s)
        except OSError as exc:
            # A full disk is itself a runbook incident: the mitigation must not depend on the log.
            audit_error = redact(f"audit log {self.audit.path}: {exc.strerror or exc}")
        sink = self.timeline()
        if sink is not None:
            try:
                sink.record("action", timeline_text(action, outcome, text))
            except Exception as exc:  # noqa: BLE001 — a store problem must not lose the outcome
                audit_error = (audit_error + "; " if audit_error else "") + redact(
                    f"timeline: {exc}"
                )
        return ActionOutcome(action, outcome, text, duration_s, audit_error)


_OUTCOME_WORDS = {
    Outcome.SUCCEEDED: "✔ succeeded",
    Outcome.FAILED: "✖ failed",
    Outcome.TIMED_OUT: "✖ timed out",
    Outcome.CANCELLED: "· cancelled",
    Outcome.REFUSED: "· refused",
}


def timeline_text(action: Action, outcome: Outcome, text: str) -> str:
    """The timeline entry: what was attempted, on what, how it ended, and exactly what it ran."""
    detail = text if len(text) <= MAX_TIMELINE_DETAIL else text[: MAX_TIMELINE_DETAIL - 1] + "…"
    return redact(
        f"{action.title} [{action.risk.value}, {action.name} on {action.target}] "
        f"{_OUTCOME_WORDS[outcome]}: {detail}\n$ {action.preview}"
    )
