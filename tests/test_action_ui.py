"""The action layer through Pilot: a pane's MitigationRequested -> mitigation factory -> runner ->
confirmation modal -> worker -> audit log / timeline, in the real app.

Test-only mitigations are registered with ``@mitigation`` under a source of their own
("actiontest") so they never show up in the real panes' menus. Their execute appends a line to
the file named in the record, so a run is observable and a refused or cancelled one visibly is
not.
"""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Input, OptionList, Static

from tests import services
from tests.pilot import wait_until as pilot_wait_until
from tests.test_postgres_workload import Workload, create_database
from zconsole.actions import Action, ActionError, Risk
from zconsole.app import ZConsoleApp
from zconsole.audit import read_audit
from zconsole.checks.base import Check, CheckResult, Snapshot, Status, now_utc
from zconsole.checks.postgres import PostgresCheck
from zconsole.config import Config, GeneralConfig, load_config
from zconsole.mitigations import mitigation
from zconsole.registry import build_checks
from zconsole.widgets.actions_menu import ActionsMenu
from zconsole.widgets.confirm import ConfirmScreen, TypeTargetScreen
from zconsole.widgets.header import StatusHeader
from zconsole.widgets.messages import MitigationRequested

SOURCE = "actiontest"


class StubCheck(Check[str]):
    """The check a test mitigation is built against (never polled: poll=False)."""

    name = SOURCE
    title = "Action test"

    def probe(self) -> tuple[Status, str, str]:
        return Status.OK, "ok", "x"


@dataclass(frozen=True)
class Row:
    """A selected row, as a pane would hand it over."""

    name: str
    marker: Path
    risk: Risk = Risk.DISRUPTIVE
    fail: bool = False
    hang: threading.Event | None = None
    timeout: float = 10.0
    preview: str = ""


@mitigation(SOURCE, "append")
def _append(check: Check[Any], record: object) -> Action:
    if not isinstance(record, Row):
        raise ValueError(f"no row selected (got {type(record).__name__})")
    row = record

    def execute() -> str:
        if row.hang is not None:
            row.hang.wait(30)
        if row.fail:
            raise ActionError(f"engine said no to {row.name}")
        with row.marker.open("a") as fh:
            fh.write(f"{row.name}\n")
        return f"appended {row.name}"

    return Action(
        name="actiontest.append",
        title=f"Append {row.name}",
        target=row.name,
        risk=row.risk,
        preview=row.preview or f"POST /containers/{row.name}/restart?t=10",
        execute=execute,
        timeout=row.timeout,
        source=check.name,
    )


class App(ZConsoleApp):
    """The real app, remembering what it told the user."""

    def __init__(self, config: Config | None = None) -> None:
        super().__init__(config or Config(), [StubCheck()], hostname="test-host", poll=False)
        self.told: list[str] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.told.append(message)
        super().notify(message, *args, **kwargs)


# Waits in this module: bounded at 30 s, polled every 0.02 s.
wait_until = partial(pilot_wait_until, timeout=30.0, step=0.02)


def runs(marker: Path) -> list[str]:
    return marker.read_text().splitlines() if marker.exists() else []


def audit(app: ZConsoleApp) -> list[dict[str, Any]]:
    return read_audit(app.action_runner.audit.path)


def shown(app: ZConsoleApp, kind: type[Screen[Any]]) -> bool:
    """``kind`` is on top and composed: a modal pushed from a worker is on the stack a moment
    before its widgets are mounted."""
    return isinstance(app.screen, kind) and app.screen.is_mounted


def request(app: ZConsoleApp, row: object, name: str = "append") -> None:
    app.post_message(MitigationRequested(SOURCE, name, row))


async def test_safe_action_runs_at_once_and_refreshes_its_source(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        wake = app.scheduler._slots[SOURCE].wake
        assert not wake.is_set()
        request(app, Row("web-1", marker, risk=Risk.SAFE))
        await wait_until(pilot, lambda: runs(marker))
        await app.workers.wait_for_complete()
        assert not isinstance(app.screen, ConfirmScreen | TypeTargetScreen)
        assert runs(marker) == ["web-1"]
        assert wake.is_set()  # scheduler.refresh(source) after a success
        assert [line["outcome"] for line in audit(app)] == ["succeeded"]


async def test_disruptive_asks_y_n_and_no_is_the_default(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        for key in ("enter", "n", "escape"):
            request(app, Row("web-1", marker))
            await wait_until(pilot, lambda: shown(app, ConfirmScreen))
            await pilot.press(key)
            await app.workers.wait_for_complete()
            assert runs(marker) == [], key
        request(app, Row("web-1", marker))
        await wait_until(pilot, lambda: shown(app, ConfirmScreen))
        await pilot.press("y")
        await app.workers.wait_for_complete()
        assert runs(marker) == ["web-1"]
        lines = audit(app)
        assert [line["outcome"] for line in lines] == ["cancelled"] * 3 + ["succeeded"]
        cancelled = lines[0]
        assert cancelled["action"] == "actiontest.append"
        assert cancelled["target"] == "web-1"
        assert cancelled["risk"] == "disruptive"
        assert cancelled["preview"] == "POST /containers/web-1/restart?t=10"
        assert cancelled["source"] == SOURCE
        assert cancelled["user"] and cancelled["host"]
        assert cancelled["time"].endswith("Z")
        assert "answered No" in cancelled["detail"]


async def test_destructive_refuses_a_wrong_name_and_accepts_the_right_one(
    tmp_path: Path,
) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        request(app, Row("web-1", marker, risk=Risk.DESTRUCTIVE))
        await wait_until(pilot, lambda: shown(app, TypeTargetScreen))
        screen = app.screen
        assert isinstance(screen, TypeTargetScreen)
        await pilot.press(*"api-2")  # the first key lands in the field, not on the preview
        assert screen.query_one(Input).value == "api-2"
        await pilot.press("enter")
        assert screen.mismatches == 1
        assert id(app.screen) == id(screen)  # still asking
        assert runs(marker) == []
        await pilot.press(*"WEB-1", "enter")  # case matters
        assert screen.mismatches == 2
        await pilot.press(*"web-1", "enter")
        await app.workers.wait_for_complete()
        assert runs(marker) == ["web-1"]
        # Escape cancels.
        request(app, Row("web-1", marker, risk=Risk.DESTRUCTIVE))
        await wait_until(pilot, lambda: shown(app, TypeTargetScreen))
        await pilot.press(*"web-1", "escape")
        await app.workers.wait_for_complete()
        assert runs(marker) == ["web-1"]
        assert [line["outcome"] for line in audit(app)] == ["succeeded", "cancelled"]


async def test_read_only_refuses_every_action_and_says_so(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App(Config(general=GeneralConfig(read_only=True)))
    async with app.run_test(size=(120, 40)) as pilot:
        for count, risk in enumerate(Risk, start=1):
            request(app, Row("web-1", marker, risk=risk))
            await wait_until(pilot, lambda n=count: len(audit(app)) == n)
            await app.workers.wait_for_complete()
            assert not isinstance(app.screen, ConfirmScreen | TypeTargetScreen)
        assert runs(marker) == []
        assert [line["outcome"] for line in audit(app)] == ["refused"] * 3
        assert all("read-only" in line["detail"] for line in audit(app))
        assert any("read-only" in told for told in app.told)
        assert "READ-ONLY" in app.main_screen.query_one(StatusHeader).render().plain


async def test_repeat_guard_through_the_modals_with_an_injected_clock(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    now = [5000.0]
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_runner.guard.clock = lambda: now[0]

        async def attempt(*answers: str) -> list[ConfirmScreen]:
            shown: list[ConfirmScreen] = []
            request(app, Row("web-1", marker))
            for key in answers:
                await wait_until(
                    pilot,
                    lambda: isinstance(app.screen, ConfirmScreen) and app.screen not in shown,
                )
                assert isinstance(app.screen, ConfirmScreen)
                shown.append(app.screen)
                await pilot.press(key)
            await app.workers.wait_for_complete()
            return shown

        await attempt("y")
        now[0] += 25
        await attempt("y")
        now[0] += 25
        (guard,) = await attempt("n")  # third within 60 s: the guard asks first; No refuses
        assert "Repeat guard" in guard.note and "2 times" in guard.note
        assert runs(marker) == ["web-1", "web-1"]
        guard_again, normal = await attempt("y", "y")  # confirmed again, explicitly
        assert guard_again.note and not normal.note
        assert len(runs(marker)) == 3
        now[0] += 61  # the first two runs left the window; only the last one is in it
        (plain,) = await attempt("y")
        assert not plain.note
        assert len(runs(marker)) == 4
        outcomes = [line["outcome"] for line in audit(app)]
        assert outcomes == ["succeeded", "succeeded", "refused", "succeeded", "succeeded"]
        assert "repeat guard" in audit(app)[2]["detail"]


async def test_failed_action_audit_line_and_notification(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        request(app, Row("web-1", marker, risk=Risk.SAFE, fail=True))
        await wait_until(pilot, lambda: len(audit(app)) == 1)
        await app.workers.wait_for_complete()
        (line,) = audit(app)
        assert line["outcome"] == "failed"
        assert line["detail"] == "engine said no to web-1"
        assert line["action"] == "actiontest.append"
        assert line["target"] == "web-1"
        assert line["risk"] == "safe"
        assert line["preview"] == "POST /containers/web-1/restart?t=10"
        assert line["user"] and line["host"] and "client_host" in line
        assert any("engine said no" in told for told in app.told)
        assert not app.scheduler._slots[SOURCE].wake.is_set()  # no refresh after a failure


async def test_hung_action_times_out_while_keys_still_answer(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    release = threading.Event()
    app = App()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            request(app, Row("web-1", marker, risk=Risk.SAFE, hang=release, timeout=8.0))
            await wait_until(pilot, lambda: any(w.group == "actions" for w in app.workers))
            # While the execute step hangs, the UI answers: open and close the actions menu.
            await pilot.press("a")
            await wait_until(pilot, lambda: shown(app, ActionsMenu))
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, ActionsMenu))
            assert audit(app) == []  # ... and all that happened while the action still hung
            await wait_until(pilot, lambda: len(audit(app)) == 1)
            (line,) = audit(app)
            assert line["outcome"] == "timed_out"
            assert "timed out" in line["detail"]
            assert runs(marker) == []
    finally:
        release.set()


async def test_unknown_mitigation_and_bad_record_are_told(tmp_path: Path) -> None:
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        request(app, Row("web-1", tmp_path / "ran"), name="no-such-thing")
        request(app, "not a row")
        await wait_until(pilot, lambda: len(app.told) == 2)
        # Each request is built in its own worker thread: the two answers may come in any order.
        assert any("no mitigation 'no-such-thing'" in told for told in app.told)
        assert any("no row selected" in told for told in app.told)
        assert audit(app) == []  # nothing was built, so nothing was attempted


async def test_preview_is_inert_and_the_modal_fits_80x24(tmp_path: Path) -> None:
    hostile = "SELECT '[bold red]boom[/]' \x1b]52;c;ZXZpbA==\x07\x1b[2J;\n" + "-- line\n" * 40
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        request(app, Row("web-1", tmp_path / "ran", preview=hostile))
        await wait_until(pilot, lambda: shown(app, ConfirmScreen))
        screen = app.screen
        preview = screen.query_one(".confirm--preview", Static).content
        assert isinstance(preview, Text)
        assert "[bold red]boom[/]" in preview.plain
        assert "\x1b" not in preview.plain and "\x07" not in preview.plain
        dialog = screen.query_one(Vertical)
        keys = screen.query_one(".confirm--keys", Static)
        await wait_until(pilot, lambda: keys.region.height >= 1)  # laid out
        region = dialog.region
        assert region.height > 5 and region.x >= 0 and region.y >= 0
        assert region.right <= 80 and region.bottom <= 24
        assert region.y < keys.region.y and keys.region.bottom <= region.bottom
        await pilot.press("n")
        await app.workers.wait_for_complete()


async def test_destructive_modal_fits_80x24(tmp_path: Path) -> None:
    app = App()
    async with app.run_test(size=(80, 24)) as pilot:
        request(app, Row("web-1", tmp_path / "ran", risk=Risk.DESTRUCTIVE, preview="x\n" * 30))
        await wait_until(pilot, lambda: shown(app, TypeTargetScreen))
        screen = app.screen
        field = screen.query_one(Input)
        await wait_until(pilot, lambda: field.region.height >= 1)  # laid out
        dialog = screen.query_one(Vertical).region
        assert dialog.height > 5 and dialog.right <= 80 and dialog.bottom <= 24
        assert dialog.y < field.region.y and field.region.bottom <= dialog.bottom
        await pilot.press("escape")
        await app.workers.wait_for_complete()


async def test_actions_menu_lists_the_pane_mitigations_and_runs_one(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()  # the start-up focus (on the active pane) has landed
        app.set_focus(None)  # no pane holds focus: the active one is "focused"
        app.active_pane = SOURCE
        pane_row = Row("web-7", marker, risk=Risk.SAFE)
        app.selected_record = lambda source: pane_row  # type: ignore[method-assign]
        await pilot.press("a")
        await wait_until(pilot, lambda: shown(app, ActionsMenu))
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        assert labels == ["append  built-in"]
        await pilot.press("enter")
        await wait_until(pilot, lambda: runs(marker) == ["web-7"])
        await app.workers.wait_for_complete()


async def test_action_goes_to_the_open_incident_timeline(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        incidents = app.incidents
        assert incidents is not None, app.store_problem
        incident = incidents.declare(title="API down", severity="P1")
        assert incident is not None
        request(app, Row("web-1", marker, risk=Risk.SAFE))
        await wait_until(pilot, lambda: len(audit(app)) == 1)
        await app.workers.wait_for_complete()
        actions = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
        assert len(actions) == 1
        text = actions[0].text
        assert "Append web-1" in text and "succeeded" in text
        assert "$ POST /containers/web-1/restart?t=10" in text


async def test_the_app_keeps_ticking_and_taking_results_under_a_confirmation(
    tmp_path: Path,
) -> None:
    # A confirmation left open must not stop the app: its 1 s tick and the scheduler's results
    # still reach the panes' screen underneath the modal.
    app = App()
    async with app.run_test(size=(120, 40)) as pilot:
        request(app, Row("web-1", tmp_path / "ran"))
        await wait_until(pilot, lambda: shown(app, ConfirmScreen))
        app._tick()
        snapshot: Snapshot[Any] = Snapshot(
            check="host",
            status=Status.CRIT,
            summary="disk 97 %",
            collected_at=now_utc(),
            duration_ms=1.0,
        )
        app.show_result(CheckResult(latest=snapshot, last_good=None, last_good_at=None))
        assert app.main_screen.query_one(StatusHeader).worst is Status.CRIT
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        await app.workers.wait_for_complete()


# -- no DSN password in the audit log, with real actions (audit H5) -------------------------------

AUDIT_PASSWORD = "Audit-Pw-5521"


def assert_password_in_no_file(root: Path, password: str) -> None:
    # The store is under root; the audit log is in the data dir whatever --store says.
    data_dir = Path(os.environ["XDG_DATA_HOME"]) / "zconsole"
    files = [p for folder in (root, data_dir) for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "audit.jsonl" for p in files), files
    for path in files:
        assert password.encode() not in path.read_bytes(), path


@pytest.mark.postgres
async def test_a_real_cancel_keeps_the_dsn_password_out_of_the_audit_log(
    tmp_path: Path, postgres_server: services.Postgres
) -> None:
    create_database(postgres_server, "auditpw")
    dsn = postgres_server.url(password=AUDIT_PASSWORD, db="auditpw")  # trust auth: ignored
    config = load_config(
        env={},
        flags={
            "general": {"store": str(tmp_path / "store.db"), "interval": 0.3},
            "postgres": {"dsn": dsn, "long_query_s": 0.2},
        },
    )
    workload = Workload(dsn)
    try:
        # The query text holds the password too: the preview shows it (redacted).
        sleeper = workload.background("audit", f"SELECT pg_sleep(600) /* app:{AUDIT_PASSWORD} */")
        workload.wait_active([sleeper.pid], 0.2)
        checks = [c for c in build_checks(config) if c.name == "postgres"]
        (check,) = checks
        assert isinstance(check, PostgresCheck)
        app = ZConsoleApp(config, checks, hostname="test-host")
        async with app.run_test(size=(200, 60)) as pilot:
            assert app.incidents is not None, app.store_problem
            incident = app.incidents.declare(title="Slow queries", severity="P2")
            assert incident is not None
            await wait_until(pilot, lambda: any(s.pid == sleeper.pid for s in check.sessions))
            session = next(s for s in check.sessions if s.pid == sleeper.pid)
            app.post_message(MitigationRequested("postgres", "cancel", session))
            await wait_until(pilot, lambda: shown(app, ConfirmScreen))
            await pilot.press("y")
            await wait_until(pilot, lambda: bool(audit(app)))
            # Not wait_for_complete(): the scheduler's worker runs until the app stops.
            await wait_until(pilot, lambda: not [w for w in app.workers if w.group == "actions"])
            (line,) = audit(app)
            entries = app.incidents.store.entries(incident.id)
        assert sleeper.done.wait(10) and "canceling statement" in str(sleeper.outcome["error"])
    finally:
        workload.close()
    assert line["outcome"] == "succeeded", line
    assert line["detail"] == f"cancelled pid {sleeper.pid} (postgres)"
    assert "app:***" in line["preview"] and "pg_sleep(600)" in line["preview"]
    assert any(e.kind == "action" and "app:***" in e.text for e in entries)
    assert_password_in_no_file(tmp_path, AUDIT_PASSWORD)


async def test_a_runbook_command_printing_the_dsn_is_audited_redacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    dsn = f"postgresql://app:{AUDIT_PASSWORD}@127.0.0.1:5432/app"
    monkeypatch.setenv("DATABASE_URL", dsn)
    printenv = shutil.which("printenv")
    assert printenv is not None
    config = load_config(
        flags={
            "general": {"store": str(tmp_path / "store.db")},
            # A runbook command whose output carries the DSN, as `env` or a debug print would.
            "actions": [{"name": "show env", "argv": [printenv, "DATABASE_URL"], "risk": "safe"}],
        },
        cwd=tmp_path,
    )
    assert config.postgres.dsn == dsn
    app = ZConsoleApp(config, [], hostname="test-host", poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        app.action_flow.run_custom(config.actions[0], None)
        await wait_until(pilot, lambda: bool(audit(app)))
        await app.workers.wait_for_complete()
        (line,) = audit(app)
    assert line["outcome"] == "succeeded", line
    assert "postgresql://app:***@127.0.0.1:5432/app" in line["detail"]
    assert_password_in_no_file(tmp_path, AUDIT_PASSWORD)
