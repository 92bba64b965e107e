"""PostgreSQL pane on the shared test server: the incident scenario end to end.

40 idle sessions, 3 long queries, an idle-in-transaction holder of a table lock and an UPDATE
waiting behind it: the check data, the pane (Pilot) and `zconsole snapshot --json` show each;
"terminate root blocker" through Pilot ends the holder and the UPDATE completes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.widgets import DataTable, Static

from tests import services
from tests.pilot import wait_until as pilot_wait_until
from tests.test_postgres_workload import Background, Workload, create_database
from zconsole import mitigations
from zconsole.actions import ActionError, Risk
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Snapshot, Status
from zconsole.checks.postgres import (
    PostgresCheck,
    PostgresData,
    Session,
    get,
    sql_file,
)
from zconsole.config import Config, GeneralConfig, PostgresConfig
from zconsole.widgets.confirm import ConfirmScreen, TypeTargetScreen
from zconsole.widgets.postgres import PostgresPane

pytestmark = pytest.mark.postgres

LONG_S = 0.5
CONFIG = PostgresConfig(long_query_s=LONG_S)


@dataclass
class Scenario:
    url: str
    workload: Workload
    idle: list[int]
    sleepers: list[Background]
    holder: int
    waiter: Background

    @property
    def sleeper_pids(self) -> set[int]:
        return {s.pid for s in self.sleepers}


@pytest.fixture
def scenario(postgres_server: services.Postgres) -> Iterator[Scenario]:
    url = create_database(postgres_server, "incident")
    workload = Workload(url)
    try:
        idle = workload.idle(40)
        sleepers = [workload.background("long", "SELECT pg_sleep(600)") for _ in range(3)]
        holder = workload.lock_holder("t")
        waiter = workload.background("waiter", "UPDATE t SET v = v + 1 WHERE id = 1")
        workload.wait_lock_wait(waiter.pid)
        workload.wait_active([s.pid for s in sleepers], LONG_S + 0.2)
        yield Scenario(url, workload, idle, sleepers, holder, waiter)
    finally:
        workload.close()


def collect(check: PostgresCheck) -> tuple[Snapshot[Any], PostgresData]:
    snap = check.collect()
    assert snap.error is None, snap.error
    assert isinstance(snap.data, PostgresData)
    return snap, snap.data


def result_of(snap: Snapshot[Any]) -> CheckResult:
    return CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())


def make_app(tmp_path: Path, check: PostgresCheck) -> ZConsoleApp:
    config = Config(general=GeneralConfig(store=str(tmp_path / "incidents.db")))
    return ZConsoleApp(config, [check], poll=False, hostname="test")


# Waits in this module: bounded at 20 s, polled every 0.05 s.
wait_until = partial(pilot_wait_until, timeout=20.0, step=0.05)


def rows(table: DataTable[Any]) -> list[list[str]]:
    return [
        [getattr(c, "plain", str(c)) for c in table.get_row_at(i)] for i in range(table.row_count)
    ]


# -- the check -------------------------------------------------------------------------------------


def test_check_sees_pool_long_queries_and_the_blocking_tree(scenario: Scenario) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        snap, data = collect(check)
        own = check._conn.info.backend_pid if check._conn else -1
    finally:
        check.close()
    c = data.connections
    assert c.by_database["incident"] == 45  # 40 idle + 3 sleeping + holder + waiter
    assert c.by_state["idle"] >= 40
    assert c.by_state["idle in transaction"] >= 1
    assert c.max == 200 - 3 and c.total >= 45
    assert c.by_application["zc-test-idle"] == 40
    # The console hides itself from every list.
    assert "zconsole" not in c.by_application
    assert own not in {s.pid for s in check.sessions}
    assert own not in {s.pid for s in data.long_queries}
    long_pids = [s.pid for s in data.long_queries]
    assert scenario.sleeper_pids <= set(long_pids)
    durations = [s.duration_s or 0.0 for s in data.long_queries]
    assert durations == sorted(durations, reverse=True)
    sleeper = next(s for s in data.long_queries if s.pid in scenario.sleeper_pids)
    assert sleeper.query == "SELECT pg_sleep(600)" and sleeper.state == "active"
    assert sleeper.usename == "postgres" and sleeper.datname == "incident"
    assert sleeper.client_addr == "127.0.0.1" and sleeper.wait_event == "PgSleep"
    # Blocking tree: the idle-in-transaction holder is the root, the UPDATE waits behind it.
    root, *behind = data.blocking
    assert root.pid == scenario.holder and root.depth == 0 and root.blocked_by == ()
    assert root.state == "idle in transaction" and root.state_s is not None
    assert [(b.pid, b.depth, b.blocked_by) for b in behind] == [
        (scenario.waiter.pid, 1, (scenario.holder,))
    ]
    assert snap.status is Status.WARN
    assert "1 blocked by 1 root" in snap.summary


def test_connection_threshold_is_configurable(scenario: Scenario) -> None:
    check = PostgresCheck(
        PostgresConfig(connections_warn_pct=10.0, connections_crit_pct=20.0), scenario.url
    )
    try:
        snap, data = collect(check)
    finally:
        check.close()
    assert data.connections.percent >= 45 / 197 * 100
    assert data.connections.status is Status.CRIT and snap.status is Status.CRIT


def test_console_uses_one_named_connection_with_statement_timeout(
    postgres_server: services.Postgres,
) -> None:
    check = PostgresCheck(PostgresConfig(statement_timeout_ms=1234), postgres_server.dsn)
    try:
        collect(check)
        collect(check)
        conn = check._conn
        assert conn is not None
        row = conn.execute("SHOW statement_timeout").fetchone()
        assert row is not None and row[0] == "1234ms"
        with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
            mine = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zconsole'"
            ).fetchone()
        assert mine is not None and mine[0] == 1
    finally:
        check.close()


def test_sql_files_per_server_version() -> None:
    assert sql_file("statements", 120017) == "statements.sql"
    assert sql_file("statements", 130000) == "statements_post_130000.sql"
    assert sql_file("statements", 170002) == "statements_post_130000.sql"
    assert "total_time" in get("statements", 120000) and "total_exec_time" not in get(
        "statements", 120000
    )
    assert "total_exec_time" in get("statements", 150000)
    assert sql_file("server", 150020) == "server.sql"
    assert sql_file("server", 160000) == "server_post_160000.sql"
    assert "reserved_connections" in get("server", 170000)


# -- the pane --------------------------------------------------------------------------------------


async def test_pane_shows_pool_long_queries_and_holder_as_root(
    scenario: Scenario, tmp_path: Path
) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(200, 60)) as pilot:
            app.show_result(result_of(snap))
            await pilot.pause()
            pane = app.query_one(PostgresPane)
            conns = pane.query_one("#pg-connections", Static).content
            assert "idle 40" in str(conns) or "idle 4" in str(conns)
            assert "zc-test-idle 40" in str(conns)
            activity = rows(pane.query_one("#pg-activity", DataTable))
            shown = {int(r[0]) for r in activity}
            assert scenario.sleeper_pids <= shown
            sleeper_row = next(r for r in activity if int(r[0]) in scenario.sleeper_pids)
            assert sleeper_row[5] == "active" and sleeper_row[8] == "SELECT pg_sleep(600)"
            blocking = rows(pane.query_one("#pg-blocking", DataTable))
            assert f"{scenario.holder} ROOT" in blocking[0][0]
            assert blocking[0][2] == "idle in tx"
            assert f"{scenario.waiter.pid} waits on {scenario.holder}" in blocking[1][0]
            assert "UPDATE t SET v = v + 1" in blocking[1][5]
    finally:
        check.close()


async def test_terminate_root_blocker_through_pilot_frees_the_update(
    scenario: Scenario, tmp_path: Path
) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="DB locked", severity="P1")
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            pane.query_one("#pg-blocking", DataTable).focus()
            await pilot.pause()
            await pilot.press("B")
            await wait_until(pilot, lambda: isinstance(app.screen, TypeTargetScreen))
            preview = app.screen.preview  # type: ignore[attr-defined]
            assert f"pid {scenario.holder}" in preview and f"pid {scenario.waiter.pid}" in preview
            assert "LOCK TABLE t" in preview and "UPDATE t SET v = v + 1" in preview
            assert scenario.waiter.done.is_set() is False
            await pilot.press(*str(scenario.holder), "enter")
            await wait_until(pilot, lambda: not isinstance(app.screen, TypeTargetScreen))
            await app.workers.wait_for_complete()
            assert scenario.waiter.done.wait(20)
            assert scenario.waiter.succeeded, scenario.waiter.outcome
            assert not scenario.workload.alive(scenario.holder)
            for sleeper in scenario.sleepers:  # nothing else was touched
                assert scenario.workload.alive(sleeper.pid)
            entries = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
            assert len(entries) == 1
            assert f"terminated pid {scenario.holder}" in entries[0].text
            assert "succeeded" in entries[0].text
    finally:
        check.close()
    with psycopg.connect(scenario.url) as conn:
        row = conn.execute("SELECT v FROM t WHERE id = 1").fetchone()
    assert row == (1,)


async def test_query_with_escapes_and_markup_renders_inert(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "hostile")
    workload = Workload(url)
    hostile = (
        "SELECT pg_sleep(600) /* [bold red]boom[/] \x1b[2J\x1b]52;c;ZXZpbA==\x07"
        "\x1b]8;;http://x\x07link\x1b]8;;\x07 [link=http://x]y[/link] */"
    )
    check = PostgresCheck(CONFIG, url)
    try:
        job = workload.background("hostile", hostile)
        workload.wait_active([job.pid], LONG_S + 0.1)
        snap, data = collect(check)
        assert any("\x1b[2J" in s.query for s in data.long_queries)  # the data keeps the text
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            table = pane.query_one("#pg-activity", DataTable)
            row = next(r for r in rows(table) if int(r[0]) == job.pid)
            assert "[bold red]boom[/]" in row[8]
            assert "\x1b" not in row[8] and "\x07" not in row[8]
            full = pane.query_one("#pg-query", Static).content
            plain = getattr(full, "plain", "")
            assert "[bold red]boom[/]" in plain and "[link=http://x]y[/link]" in plain
            assert "\x1b" not in plain and "ZXZpbA==" not in plain
            screen = app.export_screenshot()
            assert "boom[/]" in screen and "ZXZpbA" not in screen
    finally:
        check.close()
        workload.close()


# -- snapshot --json -------------------------------------------------------------------------------


def snapshot_json(workdir: Path, url: str, timeout: float = 60) -> dict[str, Any]:
    (workdir / "zconsole.toml").write_text(
        "[docker]\nenabled = false\n[postgres]\ntimeout = 5\nlong_query_s = 0.5\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", "--json"],
        cwd=workdir,
        env={**os.environ, "DATABASE_URL": url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.stdout, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    pg: dict[str, Any] = report["checks"]["postgres"]
    return pg


def test_snapshot_json_shows_the_scenario(scenario: Scenario, workdir: Path) -> None:
    pg = snapshot_json(workdir, scenario.url)
    assert pg["error"] is None, pg["error"]
    data = pg["data"]
    assert data["connections"]["total"] >= 45 and data["connections"]["max"] == 197
    assert data["connections"]["by_state"]["idle"] >= 40
    long = {q["pid"]: q for q in data["long_queries"]}
    assert scenario.sleeper_pids <= set(long)
    sample = long[scenario.sleepers[0].pid]
    for key in (
        "pid",
        "usename",
        "datname",
        "application_name",
        "client_addr",
        "state",
        "wait_event",
        "duration_s",
        "query",
    ):
        assert key in sample
    assert sample["query"] == "SELECT pg_sleep(600)" and sample["duration_s"] > LONG_S
    assert data["blocking"][0]["pid"] == scenario.holder
    assert data["blocking"][0]["blocked_by"] == []
    assert data["blocking"][1]["pid"] == scenario.waiter.pid
    assert data["blocking"][1]["blocked_by"] == [scenario.holder]
    assert isinstance(data["statements"], list) or data["statements_unavailable"]
    assert data["replication"] == []


def test_snapshot_json_on_closed_port_is_one_clear_line(workdir: Path) -> None:
    port = services.closed_port()
    pg = snapshot_json(workdir, f"postgresql://app:hunter2pw@127.0.0.1:{port}/db")
    assert pg["status"] == "error" and pg["data"] is None
    assert f"127.0.0.1:{port}: connection refused" in pg["error"]
    assert "\n" not in pg["error"] and "hunter2pw" not in json.dumps(pg)


def test_snapshot_json_on_hanging_listener_times_out_cleanly(workdir: Path) -> None:
    with services.hanging_listener() as port:
        started = time.monotonic()
        pg = snapshot_json(workdir, f"postgresql://app:hunter2pw@127.0.0.1:{port}/db", 60)
        elapsed = time.monotonic() - started
    assert pg["status"] == "error"
    assert "no answer" in pg["error"] and "hunter2pw" not in json.dumps(pg)
    assert elapsed < 55  # bounded by the timeout, not a hang (subprocess timeout is 60)


# -- pg_stat_statements, privileges ----------------------------------------------------------------


def test_statements_present_top_by_mean_and_total(postgres_server: services.Postgres) -> None:
    url = create_database(postgres_server, "withpgss", pgss=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.2)")
        for _ in range(30):
            conn.execute("SELECT count(*) FROM t")
    check = PostgresCheck(PostgresConfig(statements_top=1000), url)
    try:
        _, data = collect(check)
        _, data = collect(check)
    finally:
        check.close()
    assert data.statements is not None and data.statements_by_total is not None
    assert data.statements_unavailable is None
    mine = [s for s in data.statements if s.datname == "withpgss"]
    assert mine[0].query.startswith("SELECT pg_sleep")
    means = [s.mean_ms for s in data.statements]
    assert means == sorted(means, reverse=True)
    totals = [s.total_ms for s in data.statements_by_total]
    assert totals == sorted(totals, reverse=True)
    counted = next(s for s in data.statements if s.query == "SELECT count(*) FROM t")
    assert counted.calls == 30
    # The console's own statements stay out of the list.
    assert not any("zconsole" in s.query for s in data.statements + data.statements_by_total)


def test_statements_absent_says_how_to_enable(postgres_server: services.Postgres) -> None:
    url = create_database(postgres_server, "nopgss")
    check = PostgresCheck(CONFIG, url)
    try:
        _, data = collect(check)
    finally:
        check.close()
    assert data.statements is None
    reason = data.statements_unavailable or ""
    assert "not installed in nopgss" in reason and "CREATE EXTENSION pg_stat_statements" in reason


def _role(server: services.Postgres, name: str, *grants: str) -> str:
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute(f"DROP ROLE IF EXISTS {name}".encode())
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw-{name}-secret'".encode())
        for grant in grants:
            conn.execute(f"GRANT {grant} TO {name}".encode())
    return server.url(user=name, password=f"pw-{name}-secret", db="incident")


def test_pg_monitor_role_sees_everything_it_can(
    scenario: Scenario, postgres_server: services.Postgres
) -> None:
    server = postgres_server
    monitor = PostgresCheck(CONFIG, _role(server, "zc_monitor", "pg_monitor"))
    plain = PostgresCheck(CONFIG, _role(server, "zc_plain"))
    try:
        _, seen = collect(monitor)
        _, limited = collect(plain)
    finally:
        monitor.close()
        plain.close()
    assert seen.privileges == "pg_monitor" and seen.hidden_sessions == 0
    assert scenario.sleeper_pids <= {s.pid for s in seen.long_queries}
    assert seen.blocking and seen.blocking[0].pid == scenario.holder
    assert any("not a superuser" in n for n in seen.limitations)
    # Without pg_monitor the server hides other roles' sessions; the pane says so and how.
    assert limited.privileges == "limited" and limited.hidden_sessions >= 45
    assert any(
        "<insufficient privilege>" in n and "GRANT pg_monitor TO zc_plain" in n
        for n in limited.limitations
    )
    assert limited.connections.total >= 45  # counted even when hidden


# -- mitigations (factories and execute directly) -------------------------------------------------


def _build(check: PostgresCheck, name: str, record: object) -> Any:
    return mitigations.build("postgres", name, check, record)


def test_terminate_long_hits_exactly_the_previewed_sessions(scenario: Scenario) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        collect(check)
        action = _build(check, "terminate_long", LONG_S / 60)
        assert action.risk is Risk.DESTRUCTIVE
        previewed = {
            int(line.split()[1]) for line in action.preview.splitlines() if line.startswith("  pid")
        }
        # the 3 sleepers and the waiting UPDATE are active; the idle-in-tx holder is not
        assert previewed == scenario.sleeper_pids | {scenario.waiter.pid}
        assert "SELECT pg_sleep(600)" in action.preview
        late = scenario.workload.background("late", "SELECT pg_sleep(600)")
        scenario.workload.wait_active([late.pid], LONG_S + 0.1)
        result = action.execute()
    finally:
        check.close()
    for pid in previewed:
        assert f"{pid} (postgres)" in result
    for sleeper in scenario.sleepers:
        assert sleeper.done.wait(10) and "error" in sleeper.outcome
    # A session that started matching after the preview was not in it: left alone.
    assert scenario.workload.alive(late.pid) and scenario.workload.alive(scenario.holder)
    assert len(scenario.idle) == 40 and all(scenario.workload.alive(p) for p in scenario.idle[:5])


def test_terminate_idle_in_transaction_and_pid_reuse_guard(scenario: Scenario) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        collect(check)
        action = _build(check, "terminate_idle_tx", 0.001)
        assert f"pid {scenario.holder}" in action.preview
        assert "LOCK TABLE t IN ACCESS EXCLUSIVE MODE" in action.preview
        assert action.target == "1 sessions"
        # A record whose backend_start no longer matches is never signalled (pid reuse).
        stale = next(s for s in check.sessions if s.pid == scenario.sleepers[0].pid)
        from dataclasses import replace

        forged = replace(stale, backend_start=stale.backend_start.replace(year=2001))  # type: ignore[union-attr]
        with pytest.raises(ActionError, match="still matched"):
            _build(check, "terminate", forged).execute()
        assert scenario.workload.alive(stale.pid)
        text = action.execute()
    finally:
        check.close()
    assert text == f"terminated pid {scenario.holder} (postgres)"
    assert scenario.waiter.done.wait(20) and scenario.waiter.succeeded


def test_cancel_query_keeps_the_session(scenario: Scenario) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        collect(check)
        target = next(s for s in check.sessions if s.pid == scenario.sleepers[1].pid)
        action = _build(check, "cancel", target)
        assert action.risk is Risk.DISRUPTIVE and action.target == str(target.pid)
        assert action.execute() == f"cancelled pid {target.pid} (postgres)"
    finally:
        check.close()
    assert scenario.sleepers[1].done.wait(10)
    assert "canceling statement" in str(scenario.sleepers[1].outcome.get("error"))
    assert scenario.workload.alive(target.pid)


def test_mitigations_need_a_selection_or_a_match(postgres_server: services.Postgres) -> None:
    check = PostgresCheck(CONFIG, create_database(postgres_server, "quiet"))
    try:
        collect(check)
        with pytest.raises(ValueError, match="select a session"):
            _build(check, "terminate", None)
        with pytest.raises(ValueError, match="no root blocker"):
            _build(check, "terminate_root_blocker", None)
        with pytest.raises(ValueError, match="no session matches"):
            _build(check, "terminate_long", 5.0)
    finally:
        check.close()


def test_emergency_dump_writes_the_database_with_progress(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "dumpme")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO t SELECT g, g FROM generate_series(2, 20000) AS g")
    dsn = url.replace("postgres@", "postgres:dump-secret-pw@")
    check = PostgresCheck(PostgresConfig(dump_dir=str(tmp_path / "dumps")), dsn)
    try:
        collect(check)
        action = _build(check, "dump", "dumpme")
        assert action.target == "dumpme" and action.risk is Risk.DISRUPTIVE
        assert "dump-secret-pw" not in action.preview and "PGPASSWORD" in action.preview
        text = action.execute()
        _, data = collect(check)
    finally:
        check.close()
    files = list((tmp_path / "dumps").glob("emergency_dumpme_*.sql"))
    assert len(files) == 1
    body = files[0].read_text()
    assert "CREATE TABLE public.t" in body and "19999\t19999" in body
    assert oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert str(files[0]) in text and f"{files[0].stat().st_size} bytes" in text
    assert data.dump is not None and not data.dump.running and data.dump.error is None
    assert data.dump.bytes_written == files[0].stat().st_size


def test_session_record_is_what_the_pane_offers(scenario: Scenario) -> None:
    check = PostgresCheck(CONFIG, scenario.url)
    try:
        _, data = collect(check)
    finally:
        check.close()
    assert all(isinstance(s, Session) for s in data.long_queries)
    assert all(s.backend_start is not None for s in data.long_queries)


def test_auth_failure_is_one_line_without_the_password(
    postgres_server: services.Postgres,
) -> None:
    hba = postgres_server.datadir / "pg_hba.conf"
    original = hba.read_text()
    rule = "host all zc_pw 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rule + original)
    try:
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            conn.execute("DROP ROLE IF EXISTS zc_pw")
            conn.execute("CREATE ROLE zc_pw LOGIN PASSWORD 'right-pw-123'")
            conn.execute("SELECT pg_reload_conf()")
        wrong = postgres_server.url(user="zc_pw", password="wrong-pw-456")
        check = PostgresCheck(CONFIG, wrong)
        snap = check.collect()
        again = check.collect()  # inside the backoff: no new attempt, says when the next is
        check.close()
    finally:
        hba.write_text(original)
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")
    assert snap.status is Status.ERROR and snap.error is not None
    assert "password authentication failed for user zc_pw" in snap.error
    assert "\n" not in snap.error and "wrong-pw-456" not in snap.error
    assert again.error is not None and "next try in" in again.error


async def test_pane_says_what_a_limited_role_cannot_see(
    scenario: Scenario, postgres_server: services.Postgres, tmp_path: Path
) -> None:
    check = PostgresCheck(CONFIG, _role(postgres_server, "zc_plain2"))
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            notes = str(pane.query_one("#pg-notes", Static).content)
            assert "<insufficient privilege>" in notes and "GRANT pg_monitor TO zc_plain2" in notes
            assert "pg_stat_statements" in notes
            health = str(pane.query_one("#pg-health", Static).content)
            assert "as zc_plain2 (limited)" in health
    finally:
        check.close()


async def test_statements_pane_toggles_mean_and_total(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "toggle", pgss=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT pg_sleep(0.3)")
        for _ in range(400):
            conn.execute("SELECT v FROM t WHERE id = 1")
    check = PostgresCheck(PostgresConfig(statements_top=500), url)
    try:
        snap, data = collect(check)
        assert data.statements is not None and data.statements_by_total is not None
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            table = pane.query_one("#pg-statements", DataTable)
            by_mean = [r[4][:40] for r in rows(table)]
            assert by_mean == [" ".join(s.query.split())[:40] for s in data.statements]
            pane.query_one("#pg-activity", DataTable).focus()
            await pilot.press("t")
            by_total = [r[4][:40] for r in rows(table)]
            assert by_total == [" ".join(s.query.split())[:40] for s in data.statements_by_total]
            assert by_total != by_mean
    finally:
        check.close()


async def test_emergency_dump_through_pilot_lands_in_the_timeline(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "dumpui")
    check = PostgresCheck(PostgresConfig(dump_dir=str(tmp_path / "dumps")), url)
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="DB at risk", severity="P1")
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            pane.query_one("#pg-activity", DataTable).focus()
            await pilot.press("D")
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            assert "--lock-wait-timeout=30s" in app.screen.preview  # type: ignore[attr-defined]
            await pilot.press("y")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await app.workers.wait_for_complete()
            files = list((tmp_path / "dumps").glob("emergency_dumpui_*.sql"))
            assert len(files) == 1
            entries = [e for e in incidents.store.entries(incident.id) if e.kind == "action"]
            assert len(entries) == 1
            assert f"pg_dump dumpui → {files[0]}" in entries[0].text
            assert f"({files[0].stat().st_size} bytes" in entries[0].text
            # The next poll carries the finished dump to the pane.
            app.show_result(result_of(check.collect()))
            await pilot.pause()
            health = str(pane.query_one("#pg-health", Static).content)
            assert "pg_dump dumpui" in health and "done" in health
    finally:
        check.close()
