"""The action runner's logic without the UI: read-only refusal, confirmation by risk, the repeat
guard (with an injected clock), the timeout, the audit log and the timeline entries.

The confirmation is a scripted coroutine here (the Pilot tests in test_action_ui.py drive the real
modals); every Action does something observable — it appends to a file in tmp_path.
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from pathlib import Path

import pytest

from zconsole.action_runner import (
    READ_ONLY_REASON,
    ActionRunner,
    ConfirmKind,
    ConfirmRequest,
    RepeatGuard,
    confirmation_for,
)
from zconsole.actions import Action, ActionError, Outcome, Risk
from zconsole.audit import AuditLog, Identity, default_audit_path, read_audit, ssh_client_host
from zconsole.checks.secrets import register_secret

SECRET = "Pg-S3cret-4-audit"


class Clock:
    """An injectable monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Script:
    """Answers confirmations from a list and remembers what was asked."""

    def __init__(self, *answers: bool) -> None:
        self.answers = list(answers)
        self.asked: list[ConfirmRequest] = []

    async def __call__(self, request: ConfirmRequest) -> bool:
        self.asked.append(request)
        return self.answers.pop(0)

    @property
    def kinds(self) -> list[ConfirmKind]:
        return [r.kind for r in self.asked]


class Sink:
    """Stands in for the incident controller's ``record(kind, text)``."""

    def __init__(self) -> None:
        self.entries: list[tuple[str, str]] = []

    def record(self, kind: str, text: str) -> None:
        self.entries.append((kind, text))


def counter_action(
    marker: Path,
    *,
    risk: Risk = Risk.DISRUPTIVE,
    target: str = "web-1",
    name: str = "test.append",
) -> Action:
    """Appends one line to ``marker`` per execution."""

    def execute() -> str:
        with marker.open("a") as fh:
            fh.write("ran\n")
        return f"appended to {marker.name}"

    return Action(
        name=name,
        title=f"Append for {target}",
        target=target,
        risk=risk,
        preview=f"append 'ran' to {marker}",
        execute=execute,
        timeout=10.0,
        source="host",
    )


def runs(marker: Path) -> int:
    return len(marker.read_text().splitlines()) if marker.exists() else 0


def make_runner(
    tmp_path: Path, confirm: Script, *, read_only: bool = False, sink: Sink | None = None
) -> ActionRunner:
    identity = Identity(user="alice", host="web-01", client_host="203.0.113.9")
    return ActionRunner(
        audit=AuditLog(tmp_path / "audit" / "audit.jsonl", identity),
        confirm=confirm,
        read_only=read_only,
        timeline=lambda: sink,
    )


def test_confirmation_scales_with_risk() -> None:
    assert confirmation_for(Risk.SAFE) is None
    assert confirmation_for(Risk.DISRUPTIVE) is ConfirmKind.YES_NO
    assert confirmation_for(Risk.DESTRUCTIVE) is ConfirmKind.TYPE_TARGET


async def test_read_only_refuses_says_so_and_audits(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = Script()
    runner = make_runner(tmp_path, script, read_only=True)
    outcome = await runner.run(counter_action(marker, risk=Risk.SAFE))
    assert outcome.outcome is Outcome.REFUSED
    assert "read-only" in outcome.text
    assert runs(marker) == 0
    assert script.asked == []  # refused before any confirmation
    (line,) = read_audit(runner.audit.path)
    assert line["outcome"] == "refused"
    assert line["detail"] == READ_ONLY_REASON


async def test_safe_runs_at_once_disruptive_and_destructive_ask(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = Script(True, True)
    runner = make_runner(tmp_path, script)
    assert (await runner.run(counter_action(marker, risk=Risk.SAFE))).ok
    assert script.asked == []
    assert (await runner.run(counter_action(marker, risk=Risk.DISRUPTIVE))).ok
    assert (await runner.run(counter_action(marker, risk=Risk.DESTRUCTIVE))).ok
    assert script.kinds == [ConfirmKind.YES_NO, ConfirmKind.TYPE_TARGET]
    assert runs(marker) == 3
    assert [line["outcome"] for line in read_audit(runner.audit.path)] == ["succeeded"] * 3


async def test_cancelled_attempt_is_audited_with_every_field(tmp_path: Path) -> None:
    register_secret(SECRET)
    marker = tmp_path / "ran"
    runner = make_runner(tmp_path, Script(False))
    action = counter_action(marker)
    action = Action(
        name=action.name,
        title=action.title,
        target=action.target,
        risk=action.risk,
        preview=f"psql postgresql://app:{SECRET}@127.0.0.1/app -c 'SELECT 1'",
        execute=action.execute,
        source="postgres",
    )
    outcome = await runner.run(action)
    assert outcome.outcome is Outcome.CANCELLED
    assert runs(marker) == 0
    (line,) = read_audit(runner.audit.path)
    assert line["user"] == "alice"
    assert line["host"] == "web-01"
    assert line["client_host"] == "203.0.113.9"
    assert line["time"].endswith("Z")
    assert datetime.fromisoformat(line["time"].replace("Z", "+00:00")).utcoffset() is not None
    assert line["action"] == "test.append"
    assert line["target"] == "web-1"
    assert line["risk"] == "disruptive"
    assert line["source"] == "postgres"
    assert line["outcome"] == "cancelled"
    assert "answered No" in line["detail"]
    assert line["preview"].startswith("psql postgresql://app:***@127.0.0.1/app")
    assert SECRET not in runner.audit.path.read_text()


async def test_failed_attempt_is_audited_with_the_redacted_error(tmp_path: Path) -> None:
    register_secret(SECRET)

    def execute() -> str:
        raise ActionError(f"FATAL: password authentication failed ({SECRET})")

    action = Action(
        name="test.fail",
        title="Terminate pid 4242",
        target="pid 4242",
        risk=Risk.SAFE,
        preview="SELECT 1",
        execute=execute,
    )
    sink = Sink()
    runner = make_runner(tmp_path, Script(), sink=sink)
    outcome = await runner.run(action)
    assert outcome.outcome is Outcome.FAILED
    (line,) = read_audit(runner.audit.path)
    assert line["outcome"] == "failed"
    assert line["detail"] == "FATAL: password authentication failed (***)"
    assert line["duration_s"] >= 0
    ((kind, text),) = sink.entries
    assert kind == "action"
    assert "Terminate pid 4242" in text and "failed" in text and "$ SELECT 1" in text
    assert SECRET not in text and SECRET not in runner.audit.path.read_text()


async def test_an_unexpected_exception_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    def execute() -> str:
        raise KeyError("gone")

    runner = make_runner(tmp_path, Script())
    outcome = await runner.run(
        Action(name="t.k", title="K", target="k", risk=Risk.SAFE, preview="k", execute=execute)
    )
    assert outcome.outcome is Outcome.FAILED
    assert outcome.text == "KeyError: 'gone'"


async def test_repeat_guard_refuses_third_run_in_60s_unless_confirmed_again(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    clock = Clock()
    # run 1, run 2: y; run 3: repeat -> no; run 4: repeat -> yes, then y.
    script = Script(True, True, False, True, True)
    runner = make_runner(tmp_path, script)
    runner.guard = RepeatGuard(clock=clock)
    action = counter_action(marker)
    assert (await runner.run(action)).ok
    clock.now += 20
    assert (await runner.run(action)).ok
    clock.now += 20
    third = await runner.run(action)
    assert third.outcome is Outcome.REFUSED
    assert "repeat guard" in third.text
    assert runs(marker) == 2
    assert script.asked[2].kind is ConfirmKind.REPEAT
    assert script.asked[2].repeats == 2
    fourth = await runner.run(action)
    assert fourth.ok  # confirmed again, explicitly
    assert runs(marker) == 3
    assert script.kinds == [
        ConfirmKind.YES_NO,
        ConfirmKind.YES_NO,
        ConfirmKind.REPEAT,
        ConfirmKind.REPEAT,
        ConfirmKind.YES_NO,
    ]
    outcomes = [line["outcome"] for line in read_audit(runner.audit.path)]
    assert outcomes == ["succeeded", "succeeded", "refused", "succeeded"]


async def test_repeat_guard_window_target_and_risk(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    clock = Clock()
    guard = RepeatGuard(clock=clock)
    web = counter_action(marker, target="web-1")
    for _ in range(2):
        guard.note(web)
    assert guard.needs_confirmation(web)
    # Another target is another count; safe actions are never guarded.
    assert not guard.needs_confirmation(counter_action(marker, target="web-2"))
    safe = counter_action(marker, risk=Risk.SAFE)
    for _ in range(5):
        guard.note(safe)
    assert not guard.needs_confirmation(safe)
    # 60 s after the first run it has left the window.
    clock.now += 60.0
    assert guard.recent(web) == 0
    assert not guard.needs_confirmation(web)


async def test_cancelled_confirmations_do_not_count_as_repeats(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    script = Script(False, False, False, True)
    runner = make_runner(tmp_path, script)
    runner.guard = RepeatGuard(clock=Clock())
    action = counter_action(marker)
    for _ in range(3):
        assert (await runner.run(action)).outcome is Outcome.CANCELLED
    assert (await runner.run(action)).ok
    assert ConfirmKind.REPEAT not in script.kinds


async def test_a_hung_execute_is_reported_as_timed_out(tmp_path: Path) -> None:
    release = threading.Event()
    started = threading.Event()

    def execute() -> str:
        started.set()
        release.wait(30)
        return "late"

    action = Action(
        name="test.hang",
        title="Hang",
        target="hang-1",
        risk=Risk.SAFE,
        preview="sleep",
        execute=execute,
        timeout=0.2,
    )
    runner = make_runner(tmp_path, Script())
    try:
        outcome = await runner.run(action)
    finally:
        release.set()
    assert started.is_set()
    assert outcome.outcome is Outcome.TIMED_OUT
    assert "timed out" in outcome.text
    assert read_audit(runner.audit.path)[0]["outcome"] == "timed_out"


async def test_audit_log_is_append_only_one_line_per_attempt(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    runner = make_runner(tmp_path, Script(False, True))
    await runner.run(counter_action(marker))
    first = runner.audit.path.read_bytes()
    await runner.run(counter_action(marker))
    after = runner.audit.path.read_bytes()
    assert after.startswith(first)
    assert len(after.splitlines()) == 2
    assert runner.audit.path.stat().st_mode & 0o777 == 0o600


async def test_unwritable_audit_log_is_reported_but_does_not_block(tmp_path: Path) -> None:
    (tmp_path / "audit").write_text("a file where the folder should be")
    marker = tmp_path / "ran"
    runner = make_runner(tmp_path, Script())
    outcome = await runner.run(counter_action(marker, risk=Risk.SAFE))
    assert outcome.ok
    assert runs(marker) == 1
    assert outcome.audit_error is not None and "audit log" in outcome.audit_error


async def test_timeline_failure_keeps_the_outcome(tmp_path: Path) -> None:
    class Broken:
        def record(self, kind: str, text: str) -> None:
            raise RuntimeError("database is locked")

    runner = ActionRunner(
        audit=AuditLog(tmp_path / "a.jsonl"), confirm=Script(), timeline=lambda: Broken()
    )
    outcome = await runner.run(counter_action(tmp_path / "ran", risk=Risk.SAFE))
    assert outcome.ok
    assert outcome.audit_error == "timeline: database is locked"
    assert read_audit(runner.audit.path)[0]["outcome"] == "succeeded"


def test_identity_and_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    assert ssh_client_host({"SSH_CONNECTION": "198.51.100.7 52144 10.0.0.5 22"}) == "198.51.100.7"
    assert ssh_client_host({"SSH_CLIENT": "198.51.100.8 52144 22"}) == "198.51.100.8"
    assert ssh_client_host({}) == ""
    data_home = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data_home))
    assert default_audit_path() == data_home / "zconsole" / "audit.jsonl"


async def test_closing_the_console_mid_attempt_is_audited(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    asked = asyncio.Event()

    async def never_answers(request: ConfirmRequest) -> bool:
        asked.set()
        await asyncio.Event().wait()
        return True

    runner = ActionRunner(audit=AuditLog(tmp_path / "a.jsonl"), confirm=never_answers)
    task = asyncio.create_task(runner.run(counter_action(marker)))
    await asked.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (line,) = read_audit(runner.audit.path)
    assert line["outcome"] == "cancelled"
    assert "console closed" in line["detail"]
    assert runs(marker) == 0


async def test_while_blocked_every_action_is_refused_and_audited(tmp_path: Path) -> None:
    """The console shows a recorded moment: the runner refuses, before building too."""
    marker = tmp_path / "ran"
    script = Script()
    reason: list[str] = ["replay: the screen shows 03:12:04 UTC, not now"]
    runner = ActionRunner(
        audit=AuditLog(tmp_path / "audit.jsonl"),
        confirm=script,
        blocked=lambda: reason[0] if reason else None,
    )
    outcome = await runner.run(counter_action(marker, risk=Risk.SAFE))
    assert outcome.outcome is Outcome.REFUSED and "replay" in outcome.text
    unbuilt = runner.refuse_if_blocked("docker", "restart", "the selected row")
    assert unbuilt is not None and unbuilt.outcome is Outcome.REFUSED
    assert runs(marker) == 0 and script.asked == []
    logged = read_audit(tmp_path / "audit.jsonl")
    assert [(e["action"], e["outcome"]) for e in logged] == [
        ("test.append", "refused"),
        ("docker.restart", "refused"),
    ]
    reason.clear()  # live again
    assert runner.refuse_if_blocked("docker", "restart", "the selected row") is None
    assert (await runner.run(counter_action(marker, risk=Risk.SAFE))).outcome is Outcome.SUCCEEDED
    assert runs(marker) == 1
