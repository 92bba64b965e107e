"""MySQL pane through Pilot on a throwaway MariaDB: the scenario on screen, "kill root blocker"
end to end, hostile query text, the server stopped mid-run and back, the dump in the timeline."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from tests import services
from tests.pilot import wait_until as pilot_wait_until
from tests.test_mysql import CONFIG, LONG_S, SCENARIO_CLIENTS, Scenario, collect, scenario
from tests.test_mysql_workload import Workload, create_database
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Snapshot
from zconsole.checks.mysql import MySQLCheck
from zconsole.checks.mysql_settings import MySQLSettings, parse_dsn
from zconsole.config import Config, GeneralConfig
from zconsole.widgets.confirm import ConfirmScreen
from zconsole.widgets.header import TabBar
from zconsole.widgets.mysql import MySQLPane

pytestmark = pytest.mark.mysql
__all__ = ["scenario"]  # the fixture, shared with tests/test_mysql.py

wait_until = partial(pilot_wait_until, timeout=20.0, step=0.05)


def result_of(snap: Snapshot[Any]) -> CheckResult:
    return CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())


def make_app(tmp_path: Path, check: MySQLCheck, *, poll: bool = False) -> ZConsoleApp:
    config = Config(general=GeneralConfig(store=str(tmp_path / "incidents.db")))
    return ZConsoleApp(config, [check], poll=poll, hostname="test")


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [
        [getattr(c, "plain", str(c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


def text_of(pane: MySQLPane, selector: str) -> str:
    content = pane.query_one(selector, Static).content
    return getattr(content, "plain", str(content))


async def test_pane_shows_connections_long_queries_and_holder_as_root(
    scenario: Scenario, tmp_path: Path
) -> None:
    check = scenario.check()
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(200, 60)) as pilot:
            app.show_result(result_of(snap))
            await pilot.pause()
            assert app.query_one(TabBar).tabs["mysql"] == ("6", "MySQL")
            pane = app.query_one(MySQLPane)
            assert pane.region.area > 0  # in the war-room grid
            conns = text_of(pane, "#my-connections")
            assert re.search(rf"\b{SCENARIO_CLIENTS + 1}/1100 \(1%\)", conns)
            assert re.search(r"\bcommand: Sleep 12, Query 3(?!\d)", conns)
            assert re.search(r"\buser: root 15(?!\d)", conns)
            assert re.search(r"\bhost: 127\.0\.0\.1 15(?!\d)", conns)
            assert re.search(r"\bdb: incident 15(?!\d)", conns)
            assert "Sleep in transaction 1" in conns
            health = text_of(pane, "#my-health")
            assert "MariaDB 10." in health and "buffer pool hit" in health
            assert "slow queries" in health
            assert "not a replica" in text_of(pane, "#my-replication")
            activity = rows(pane.query_one("#my-activity", DataTable))
            shown = {int(r[0]) for r in activity}
            assert scenario.sleeper_ids <= shown
            sleeper = next(r for r in activity if int(r[0]) in scenario.sleeper_ids)
            assert sleeper[4] == "Query" and sleeper[6] == "User sleep"
            assert sleeper[7] == "SELECT SLEEP(600)"
            blocking = rows(pane.query_one("#my-blocking", DataTable))
            assert f"{scenario.holder} ROOT" in blocking[0][0]
            assert blocking[0][2] == "Sleep in trx"
            assert f"{scenario.waiter.id} waits on {scenario.holder}" in blocking[1][0]
            assert "`incident`.`t`" in blocking[1][4]
            assert "UPDATE t SET v = v + 10" in blocking[1][5]
            # Full text of the selected query below the table.
            assert "full query: SELECT SLEEP(600)" in text_of(pane, "#my-query") or (
                "full query: UPDATE" in text_of(pane, "#my-query")
            )
    finally:
        check.close()


async def test_kill_root_blocker_through_pilot_frees_the_waiter(
    scenario: Scenario, tmp_path: Path
) -> None:
    check = scenario.check()
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="Checkout hangs", severity="P1")
            assert incident is not None
            app.show_result(result_of(snap))
            await pilot.press("6")
            pane = app.query_one(MySQLPane)
            pane.query_one("#my-blocking", DataTable).focus()
            await pilot.pause()
            await pilot.press("B")
            # One connection: y/N, as for one PostgreSQL backend (confirmation by risk).
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            preview = app.screen.preview  # type: ignore[attr-defined]
            assert f"KILL {scenario.holder}" in preview
            assert f"id {scenario.waiter.id} " in preview and "UPDATE t SET v = v + 10" in preview
            assert not scenario.waiter.done.is_set()
            await pilot.press("y")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await app.workers.wait_for_complete()
            assert scenario.waiter.done.wait(20)
            assert scenario.waiter.succeeded, scenario.waiter.outcome
            assert not scenario.workload.alive(scenario.holder)
            for sleeper in scenario.sleepers:  # nothing else was touched
                assert scenario.workload.alive(sleeper.id) and not sleeper.done.is_set()
            entries = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
            assert len(entries) == 1
            assert f"killed id {scenario.holder} (root)" in entries[0].text
            assert "succeeded" in entries[0].text
    finally:
        check.close()
    # The holder's +1 was rolled back with it; the waiter's +10 went through.
    assert scenario.workload.rows("SELECT v FROM t WHERE id = 1") == [(10,)]


async def test_hostile_query_text_renders_inert(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    create_database(mariadb_server, "hostile")
    workload = Workload(mariadb_server, "hostile")
    hostile = (
        "SELECT SLEEP(600) /* [bold red]boom[/] \x1b[2J\x1b]52;c;ZXZpbA==\x07"
        "\x1b]8;;http://x\x07link\x1b]8;;\x07 [link=http://x]y[/link] */"
    )
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.url(db="hostile")))
    try:
        job = workload.background(hostile)
        workload.wait_running([job.id], LONG_S + 0.1)
        snap, data = collect(check)
        assert any("\x1b[2J" in s.query for s in data.long_queries)  # the data keeps the text
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            app.show_result(result_of(snap))
            await pilot.press("6")
            pane = app.query_one(MySQLPane)
            table = pane.query_one("#my-activity", DataTable)
            row = next(r for r in rows(table) if int(r[0]) == job.id)
            assert "[bold red]boom[/]" in row[7]
            assert "\x1b" not in row[7] and "\x07" not in row[7]
            full = text_of(pane, "#my-query")
            assert "[bold red]boom[/]" in full and "[link=http://x]y[/link]" in full
            assert "\x1b" not in full and "ZXZpbA==" not in full
            screen = app.export_screenshot()
            assert "boom[/]" in screen and "ZXZpbA" not in screen
    finally:
        check.close()
        workload.close()


@pytest.fixture
def private_mariadb() -> Iterator[services.MariaDB]:
    """A server of this test's own, to stop and start again."""
    server = services.start_mariadb()
    yield server
    services.destroy_mariadb(server)


async def test_server_stopped_mid_run_shows_the_error_and_recovers(
    private_mariadb: services.MariaDB, tmp_path: Path
) -> None:
    server = private_mariadb
    check = MySQLCheck(
        MySQLSettings(long_query_s=LONG_S), parse_dsn(server.dsn), interval=0.3, timeout=3.0
    )
    app = make_app(tmp_path, check, poll=True)
    try:
        async with app.run_test(size=(110, 50)) as pilot:
            await pilot.press("6")
            pane = app.query_one(MySQLPane)

            def latest() -> Snapshot[Any] | None:
                result = app.latest_result("mysql")
                return result.latest if result is not None else None

            await wait_until(pilot, lambda: (s := latest()) is not None and s.ok_data)
            assert "MariaDB" in text_of(pane, "#my-health")
            server.stop()
            await wait_until(pilot, lambda: (s := latest()) is not None and s.error is not None)
            await pilot.pause()
            problem = text_of(pane, ".pane--problem")
            assert f"127.0.0.1:{server.port}" in problem
            assert "closed the connection" in problem or "connection refused" in problem
            subtitle = getattr(pane.border_subtitle, "plain", str(pane.border_subtitle))
            assert "ERROR" in subtitle and "stale" in subtitle
            assert "MariaDB" in text_of(pane, "#my-health")  # the last good data stays
            server.start()
            # Reconnect backoff: 1 s, 2 s, 4 s ... so well within the bound.
            await wait_until(pilot, lambda: (s := latest()) is not None and s.ok_data, timeout=40.0)
            await pilot.pause()
            assert not pane.query_one(".pane--problem", Static).has_class("-shown")
    finally:
        check.close()


async def test_emergency_dump_through_pilot_lands_in_the_timeline(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    create_database(mariadb_server, "dumpui")
    check = MySQLCheck(
        MySQLSettings(dump_dir=str(tmp_path / "dumps")),
        parse_dsn(mariadb_server.url(db="dumpui")),
    )
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="DB at risk", severity="P1")
            assert incident is not None
            app.show_result(result_of(snap))
            await pilot.press("6")
            await pilot.pause()
            await pilot.press("D")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "--single-transaction" in app.screen.preview  # type: ignore[attr-defined]
            await pilot.press("y")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await app.workers.wait_for_complete()
            files = list((tmp_path / "dumps").glob("emergency_dumpui_*.sql"))
            assert len(files) == 1
            entries = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
            assert len(entries) == 1
            assert f"mysqldump dumpui → {files[0]}" in entries[0].text
            assert f"({files[0].stat().st_size} bytes in" in entries[0].text
            # The next poll carries the finished dump (from its progress object) to the pane.
            app.show_result(result_of(check.collect()))
            await pilot.pause()
            health = text_of(app.query_one(MySQLPane), "#my-health")
            assert "mysqldump dumpui" in health and "done" in health
    finally:
        check.close()


async def test_pane_keys_are_in_the_palette_and_six_switches_to_it(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.dsn))
    try:
        app = make_app(tmp_path, check)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("6")
            await pilot.pause()
            assert app.query_one(TabBar).active == "mysql"
            visible = [p for p in app.query(MySQLPane) if p.region.area > 0]
            assert len(visible) == 1
            titles = [c.title for c in app._binding_commands(app.screen)]
            for key, words in (
                ("C", "KILL QUERY"),
                ("K", "KILL connection"),
                ("B", "Kill root blocker"),
                ("L", "Kill long queries"),
                ("I", "Kill sleeping in trx"),
                ("D", "mysqldump"),
            ):
                assert f"{words} ({key})" in titles, titles
    finally:
        check.close()


async def test_unconfigured_mysql_keeps_the_five_pane_grid(tmp_path: Path) -> None:
    from zconsole.registry import build_checks

    config = Config(general=GeneralConfig(store=str(tmp_path / "incidents.db")))
    app = ZConsoleApp(config, build_checks(config), poll=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("6")
        await pilot.pause()
        assert not app.query(MySQLPane)
        assert "mysql" not in app.query_one(TabBar).tabs
        assert app.query_one(TabBar).active == "host"  # 6 said "not configured" instead


def test_a_hung_server_is_an_error_within_the_timeout_and_recovers(
    private_mariadb: services.MariaDB,
) -> None:
    import os
    import signal

    server = private_mariadb
    assert server.process is not None
    check = MySQLCheck(CONFIG, parse_dsn(server.dsn), timeout=3.0)
    try:
        collect(check)
        os.kill(server.process.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            snap = check.collect()
            elapsed = time.monotonic() - started
        finally:
            os.kill(server.process.pid, signal.SIGCONT)
        assert snap.error is not None and "no answer within 2 s" in snap.error, snap.error
        assert elapsed < 3.0 + 1.0  # the socket timeout sits inside the poll's timeout
        services.wait_for(lambda: check.collect().ok_data, 30, "the check back after SIGCONT", 0.5)
    finally:
        check.close()
