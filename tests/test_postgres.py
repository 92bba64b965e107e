"""PostgreSQL pane on the shared test server: the incident scenario end to end.

40 idle sessions, 3 long queries, an idle-in-transaction holder of a table lock and an UPDATE
waiting behind it: the check data, the pane (Pilot) and `zconsole snapshot --json` show each;
"terminate root blocker" through Pilot ends the holder and the UPDATE completes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
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
from zconsole.checks.postgres_settings import PostgresSettings
from zconsole.checks.secrets import MASK, redact, redact_tree, register_secret
from zconsole.config import Config, GeneralConfig
from zconsole.widgets.confirm import ConfirmScreen
from zconsole.widgets.postgres import PostgresPane
from zconsole.widgets.table import Table

pytestmark = pytest.mark.postgres

LONG_S = 0.5
CONFIG = PostgresSettings(long_query_s=LONG_S)
#: 40 idle + 3 sleeping + the holder + the waiting UPDATE, all postgres over 127.0.0.1.
SCENARIO_CLIENTS = 45


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
        # Nothing else on the server (the helpers' closed connections gone): counts are exact.
        workload.wait_clients(SCENARIO_CLIENTS, workload.conns[0])
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
    """Every cell of every row, in every column, shown at this width or not."""
    assert isinstance(table, Table)
    return [
        [getattr(c, "plain", str(c)) for c in table.full_row(i)] for i in range(table.row_count)
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
    assert c.by_database == {"incident": 45}  # 40 idle + 3 sleeping + holder + waiter
    assert c.by_state == {"idle": 40, "active": 4, "idle in transaction": 1}
    assert c.max == 200 - 3 and c.total == 45
    assert c.by_application == {
        "zc-test-idle": 40,
        "zc-test-long": 3,
        "zc-test-holder": 1,
        "zc-test-waiter": 1,
    }
    assert c.by_user == {"postgres": 45} and c.by_client == {"127.0.0.1": 45}
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
        PostgresSettings(connections_warn_pct=10.0, connections_crit_pct=20.0), scenario.url
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
    check = PostgresCheck(PostgresSettings(statement_timeout_ms=1234), postgres_server.dsn)
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
            conns = str(pane.query_one("#pg-connections", Static).content)
            # Exact counts: "idle 4" would also pass for 40-49.
            assert re.search(r"\bstate: idle 40, active 4, idle in transaction 1(?!\d)", conns)
            assert re.search(r"\bzc-test-idle 40(?!\d)", conns)
            assert re.search(r"\buser: postgres 45(?!\d)", conns)
            assert re.search(r"\bclient: 127\.0\.0\.1 45(?!\d)", conns)
            assert re.search(r"\b45/197 \(23%\)", conns)
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
            assert incident is not None
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            pane.query_one("#pg-blocking", DataTable).focus()
            await pilot.pause()
            await pilot.press("B")
            # One backend: y/N, as pg_activity asks (typing is for several or for lost data).
            await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            preview = app.screen.preview  # type: ignore[attr-defined]
            assert f"pid {scenario.holder}" in preview and f"pid {scenario.waiter.pid}" in preview
            assert "LOCK TABLE t" in preview and "UPDATE t SET v = v + 1" in preview
            assert scenario.waiter.done.is_set() is False
            await pilot.press("y")
            await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
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
    assert data["connections"]["total"] == 45 and data["connections"]["max"] == 197
    assert data["connections"]["by_state"] == {"idle": 40, "active": 4, "idle in transaction": 1}
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
    # The shared server preloads pg_stat_statements; database incident never created it.
    assert data["statements"] is None
    assert "pg_stat_statements is loaded but not installed in incident" in (
        data["statements_unavailable"] or ""
    )
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
    check = PostgresCheck(PostgresSettings(statements_top=1000), url)
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
    check = PostgresCheck(PostgresSettings(dump_dir=str(tmp_path / "dumps")), dsn)
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
    check = PostgresCheck(PostgresSettings(statements_top=500), url)
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
    check = PostgresCheck(PostgresSettings(dump_dir=str(tmp_path / "dumps")), url)
    try:
        snap, _ = collect(check)
        app = make_app(tmp_path, check)
        async with app.run_test(size=(110, 50)) as pilot:
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="DB at risk", severity="P1")
            assert incident is not None
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


# -- connections by user and client address --------------------------------------------------------


def test_connections_by_user_and_client_address(postgres_server: services.Postgres) -> None:
    url = create_database(postgres_server, "byuser")
    _role(postgres_server, "zc_app")
    app_url = postgres_server.url(user="zc_app", password="pw-zc_app-secret", db="byuser")
    over_tcp = Workload(app_url)
    # The harness's own connections all use TCP: the unix socket ones are these two alone.
    over_socket = Workload(
        f"host={postgres_server.root} port={postgres_server.port} user=postgres dbname=byuser"
    )
    check = PostgresCheck(CONFIG, url)
    try:
        over_tcp.idle(3)
        over_socket.idle(2)
        over_socket.wait_clients(5, over_socket.conns[0])  # a superuser sees every backend
        _, data = collect(check)
    finally:
        check.close()
        over_tcp.close()
        over_socket.close()
    c = data.connections
    assert c.total == 5
    assert c.by_user == {"zc_app": 3, "postgres": 2}
    assert c.by_client == {"127.0.0.1": 3, "local": 2}
    assert c.by_database == {"byuser": 5}


# -- health figures from the real server -----------------------------------------------------------


def _flush_stats(conn: psycopg.Connection[Any]) -> None:
    """Make this backend's statistics visible now (PostgreSQL 15+ flushes them lazily)."""
    if conn.info.server_version >= 150000:
        conn.execute("SELECT pg_stat_force_next_flush()")


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_health_figures_from_the_real_server(postgres_server: services.Postgres) -> None:
    rows, width = 40_000, 200
    url = create_database(postgres_server, "sized")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE filler (id int PRIMARY KEY, pad text NOT NULL)")
        conn.execute(
            "INSERT INTO filler SELECT g, repeat('x', %s) FROM generate_series(1, %s) AS g",
            (width, rows),
        )
        conn.execute("SELECT count(*) FROM filler")  # buffer hits for the cache ratio
        oid_row = conn.execute("SELECT oid FROM pg_database WHERE datname = 'sized'").fetchone()
        before = conn.execute("SELECT max(age(datfrozenxid)) FROM pg_database").fetchone()
    assert oid_row is not None and before is not None
    check = PostgresCheck(CONFIG, url)
    try:
        started = time.perf_counter()
        _, data = collect(check)
        wall_ms = (time.perf_counter() - started) * 1000
        on_disk = _du(postgres_server.datadir / "base" / str(oid_row[0]))
        with psycopg.connect(url, autocommit=True) as conn:
            after = conn.execute("SELECT max(age(datfrozenxid)) FROM pg_database").fetchone()
    finally:
        check.close()
    assert after is not None
    h = data.health
    assert h.version_num // 10000 == check.server_version // 10000 >= 12
    # Connect latency: the real connect of this poll, within the poll itself.
    assert h.connect_ms is not None and 0 < h.connect_ms <= wall_ms
    # Database sizes: the filled database holds at least its payload, and pg_database_size is
    # what its directory holds on disk.
    sizes = {d.name: d.size_bytes for d in h.databases}
    assert {"postgres", "sized"} <= set(sizes)
    sized = sizes["sized"]
    assert sized is not None and sized >= rows * width
    assert abs(sized - on_disk) <= 1024 * 1024, (sized, on_disk)
    assert [d.size_bytes for d in h.databases] == sorted(
        (d.size_bytes or 0 for d in h.databases), reverse=True
    )
    # Cache hit ratio: a percent, and the reads above hit the cache.
    assert h.cache_hit_pct is not None and 0.0 < h.cache_hit_pct <= 100.0
    # Transaction ID age: positive, between the readings before and after, as a percent of 2^31.
    assert 0 < before[0] <= h.xid_age <= after[0]
    assert h.xid_age_pct == pytest.approx(100.0 * h.xid_age / 2**31)
    # Rates need two polls; at the first there is nothing to compare with.
    assert h.commits_per_s is None and h.rollbacks_per_s is None
    # Running autovacuums: present (often none on a quiet test server); each an autovacuum worker.
    assert isinstance(h.autovacuums, tuple)
    assert all(s.backend_type == "autovacuum worker" for s in h.autovacuums)


def test_health_commit_and_rollback_rates_between_two_polls(
    postgres_server: services.Postgres,
) -> None:
    commits, rollbacks = 300, 40
    # Whatever else commits in the window: the console's own statements, autovacuum.
    slack = 40
    url = create_database(postgres_server, "rates")
    check = PostgresCheck(CONFIG, url)
    try:
        collect(check)  # connect; the next poll has a previous one to compare with
        outer_start = time.monotonic()
        _, first = collect(check)
        inner_start = time.monotonic()
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.autocommit = True
            for i in range(commits - 1):
                conn.execute("INSERT INTO t VALUES (%s, 0)", (i + 10,))
            conn.autocommit = False
            for i in range(rollbacks):
                conn.execute("UPDATE t SET v = %s WHERE id = 1", (i,))
                conn.rollback()
            conn.autocommit = True
            _flush_stats(conn)  # itself the last commit
        inner_end = time.monotonic()
        _, second = collect(check)
        outer_end = time.monotonic()
    finally:
        check.close()
    assert first.health.commits_per_s is not None
    c, r = second.health.commits_per_s, second.health.rollbacks_per_s
    assert c is not None and r is not None
    # The check's own interval lies between the inner and the outer one measured here.
    inner, outer = inner_end - inner_start, outer_end - outer_start
    assert commits / outer <= c <= (commits + slack) / inner, (c, inner, outer)
    assert rollbacks / outer <= r <= (rollbacks + 2) / inner, (r, inner, outer)


def test_health_counts_a_real_deadlock_and_a_temp_file(
    postgres_server: services.Postgres,
) -> None:
    url = create_database(postgres_server, "deadlock")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO t VALUES (2, 0)")
    check = PostgresCheck(CONFIG, url)
    workload = Workload(url)
    try:
        _, before = collect(check)
        a = workload.connect("dl-a", autocommit=False)
        b = workload.connect("dl-b", autocommit=False)
        for conn in (a, b):
            conn.execute("SET deadlock_timeout = '100ms'")
        a.execute("UPDATE t SET v = 1 WHERE id = 1")
        b.execute("UPDATE t SET v = 1 WHERE id = 2")
        errors: list[BaseException] = []

        def cross(conn: psycopg.Connection[Any], row: int) -> None:
            try:
                conn.execute("UPDATE t SET v = 2 WHERE id = %s", (row,))
            except psycopg.errors.DeadlockDetected as exc:
                errors.append(exc)

        threads = [
            threading.Thread(target=cross, args=(a, 2)),
            threading.Thread(target=cross, args=(b, 1)),
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(errors) == 1, errors  # the server broke the cycle: one victim
        for conn in (a, b):
            conn.rollback()
            conn.autocommit = True
            _flush_stats(conn)
        # A sort that cannot fit in 64 kB of work_mem spills to a temporary file.
        sorter = workload.connect("sort")
        sorter.execute("SET work_mem = '64kB'")
        sorter.execute("SELECT g FROM generate_series(1, 200000) AS g ORDER BY g DESC").fetchall()
        _flush_stats(sorter)
        _, after = collect(check)
    finally:
        check.close()
        workload.close()
    h0, h1 = before.health, after.health
    assert h1.deadlocks == h0.deadlocks + 1
    assert h1.deadlocks_new == 1
    assert h1.temp_files >= h0.temp_files + 1
    assert h1.temp_bytes - h0.temp_bytes >= 1024 * 1024  # 200,000 sorted rows


# -- the emergency dump is the console's own second connection ------------------------------------


def test_emergency_dump_is_named_zconsole_and_hidden_from_every_list(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "dumphide")
    workload = Workload(url)
    check = PostgresCheck(PostgresSettings(long_query_s=LONG_S, dump_dir=str(tmp_path)), url)
    outcome: dict[str, Any] = {}
    dumper = threading.Thread()
    try:
        # The incident's lock holder: the dump waits behind it (pg_dump's lock-wait-timeout).
        holder = workload.connect("holder", autocommit=False)
        holder.execute("LOCK TABLE t IN ACCESS EXCLUSIVE MODE")
        collect(check)
        own = check._conn.info.backend_pid if check._conn else -1
        action = _build(check, "dump", "dumphide")
        assert "application_name=zconsole" in action.preview

        def run() -> None:
            try:
                outcome["text"] = action.execute()
            except Exception as exc:  # reported by the assertion below
                outcome["error"] = exc

        dumper = threading.Thread(target=run, name="dump")
        dumper.start()
        with workload.admin() as admin:

            def dump_pid() -> int | None:
                row = admin.execute(
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'zconsole' "
                    "AND pid <> %s AND wait_event_type = 'Lock' "
                    "AND now() - query_start > make_interval(secs => %s)",
                    (own, LONG_S + 0.2),
                ).fetchone()
                return int(row[0]) if row else None

            services.wait_for(lambda: dump_pid() is not None, 30, "pg_dump waiting on the lock")
            dump = dump_pid()
            assert dump is not None
            named = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'zconsole'"
            ).fetchone()
            snap, data = collect(check)
            evidence = check.evidence()["pg_stat_activity.tsv"]
        # A deliberate, temporary second connection: the check's and the dump's, both zconsole.
        assert named == (2,)
        # Hidden from every list and count, as the console's own connection is.
        assert dump not in {s.pid for s in check.sessions}
        assert dump not in {s.pid for s in data.long_queries}
        assert data.blocking == ()  # its only waiter is the dump itself
        assert "zconsole" not in data.connections.by_application
        assert data.connections.total == 2  # the holder and the admin connection above
        assert f"\n{dump}\t" not in evidence
        # The holder (idle in transaction) is the one long session; the dump is not another.
        assert [s.pid for s in data.long_queries] == [holder.info.backend_pid]
        assert "1 long" in snap.summary
        # ... while the pane still says a dump is running.
        assert data.dump is not None and data.dump.running
        holder.rollback()
        dumper.join(60)
        assert "text" in outcome, outcome
        assert "pg_dump dumphide" in outcome["text"]
    finally:
        workload.close()  # ends the holder, if an assertion left it: the dump then finishes
        if dumper.is_alive():
            dumper.join(60)
        check.close()


# -- query text is outside text that may hold secrets ----------------------------------------------

ROLE_SECRET = "victim-Secret-771"
URL_SECRET = "url-Secret-552"
REGISTERED_SECRET = "zc-registered-Secret-913"


async def test_query_text_is_redacted_in_every_record_and_on_screen(
    postgres_server: services.Postgres, tmp_path: Path
) -> None:
    url = create_database(postgres_server, "secrets")
    register_secret(REGISTERED_SECRET)  # as config loading does with every password it sees
    with psycopg.connect(postgres_server.dsn, autocommit=True) as admin:
        admin.execute("DROP ROLE IF EXISTS zc_victim")
        admin.execute("CREATE ROLE zc_victim LOGIN")
    workload = Workload(url)
    check = PostgresCheck(CONFIG, url)
    try:
        # An uncommitted change to the role's row: the password change waits behind it, so it
        # is both a long query and a waiter in the blocking tree.
        holder = workload.connect("role-holder", autocommit=False)
        holder.execute("ALTER ROLE zc_victim CONNECTION LIMIT 5")
        alter = workload.background("alter", f"ALTER ROLE zc_victim PASSWORD '{ROLE_SECRET}'")
        in_url = workload.background(
            "url", f"SELECT pg_sleep(600) /* postgresql://app:{URL_SECRET}@db.internal/app */"
        )
        registered = workload.background("reg", f"SELECT pg_sleep(600) /* {REGISTERED_SECRET} */")
        workload.wait_lock_wait(alter.pid)
        jobs = [alter.pid, in_url.pid, registered.pid]
        workload.wait_active(jobs, LONG_S + 0.1)
        snap, data = collect(check)
        by_pid = {s.pid: s for s in data.long_queries}
        assert set(jobs) <= set(by_pid)
        assert by_pid[alter.pid].query == "ALTER ROLE zc_victim PASSWORD ***"
        assert by_pid[in_url.pid].query == (
            "SELECT pg_sleep(600) /* postgresql://app:***@db.internal/app */"
        )
        assert by_pid[registered.pid].query == "SELECT pg_sleep(600) /* *** */"
        assert [b.pid for b in data.blocking] == [holder.info.backend_pid, alter.pid]
        assert data.blocking[1].query == "ALTER ROLE zc_victim PASSWORD ***"
        records = repr((data, check.sessions)) + check.evidence()["pg_stat_activity.tsv"]
        for secret in (ROLE_SECRET, URL_SECRET, REGISTERED_SECRET):
            assert secret not in records
        # The screen: the activity and blocking tables, the full text of each selected session.
        app = make_app(tmp_path, check)
        async with app.run_test(size=(200, 60)) as pilot:
            app.show_result(result_of(snap))
            await pilot.press("3")
            pane = app.query_one(PostgresPane)
            activity = pane.query_one("#pg-activity", DataTable)
            shown = [str(pane.query_one("#pg-blocking", DataTable).get_row_at(1))]
            for index in range(activity.row_count):
                activity.move_cursor(row=index)
                await pilot.pause()
                shown.append(str(activity.get_row_at(index)))
                full = pane.query_one("#pg-query", Static).content
                shown.append(getattr(full, "plain", str(full)))
            shown.append(app.export_screenshot())
            text = "\n".join(shown)
            assert "PASSWORD ***" in text and "postgresql://app:***@db.internal" in text
            for secret in (ROLE_SECRET, URL_SECRET, REGISTERED_SECRET):
                assert secret not in text
        holder.rollback()
        assert alter.done.wait(20) and alter.succeeded, alter.outcome
    finally:
        check.close()
        workload.close()


def test_statements_text_is_redacted(postgres_server: services.Postgres) -> None:
    url = create_database(postgres_server, "pgsssecret", pgss=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP ROLE IF EXISTS zc_pgss_victim")
        conn.execute(f"CREATE ROLE zc_pgss_victim LOGIN PASSWORD '{ROLE_SECRET}'".encode())
    check = PostgresCheck(PostgresSettings(statements_top=1000), url)
    try:
        _, data = collect(check)
    finally:
        check.close()
    assert data.statements is not None and data.statements_by_total is not None
    texts = [s.query for s in data.statements + data.statements_by_total]
    assert not any(ROLE_SECRET in q for q in texts)
    # PostgreSQL 15 keeps a utility statement's literals; 16+ may show it as $1.
    assert any(q.startswith("CREATE ROLE zc_pgss_victim LOGIN PASSWORD ") for q in texts), texts


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALTER ROLE app PASSWORD 'pw1'", f"ALTER ROLE app PASSWORD {MASK}"),
        ("alter user app with password 'it''s'", f"alter user app with password {MASK}"),
        (
            "CREATE ROLE a LOGIN ENCRYPTED PASSWORD 'x' VALID UNTIL '2030-01-01'",
            f"CREATE ROLE a LOGIN ENCRYPTED PASSWORD {MASK} VALID UNTIL '2030-01-01'",
        ),
        ("ALTER ROLE a PASSWORD E'x\\'y' LOGIN", f"ALTER ROLE a PASSWORD {MASK} LOGIN"),
        ("ALTER ROLE a PASSWORD $$d$o$$ LOGIN", f"ALTER ROLE a PASSWORD {MASK} LOGIN"),
        ("ALTER ROLE a PASSWORD $t$d$$o$t$ LOGIN", f"ALTER ROLE a PASSWORD {MASK} LOGIN"),
        # pg_stat_activity cuts long query text, sometimes inside the literal
        ("ALTER ROLE a PASSWORD 'cut sho", f"ALTER ROLE a PASSWORD {MASK}"),
        ("ALTER ROLE a PASSWORD 'cut\nSELECT 1", f"ALTER ROLE a PASSWORD {MASK}\nSELECT 1"),
        # nothing secret: left alone
        ("ALTER ROLE a PASSWORD NULL", "ALTER ROLE a PASSWORD NULL"),
        ("ALTER ROLE a PASSWORD $1", "ALTER ROLE a PASSWORD $1"),
        ("SELECT 'password' FROM t", "SELECT 'password' FROM t"),
    ],
)
def test_redact_masks_sql_password_literals(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_redacting_json_with_a_sql_password_keeps_it_valid() -> None:
    data = {
        "query": "ALTER ROLE a PASSWORD 'x\"y'",
        "cut": "ALTER ROLE b PASSWORD 'trunc",
        "next": "it's fine",
    }
    for indent in (None, 2):
        back = json.loads(redact(json.dumps(redact_tree(data), indent=indent)))
        assert back == {
            "query": f"ALTER ROLE a PASSWORD {MASK}",
            "cut": f"ALTER ROLE b PASSWORD {MASK}",
            "next": "it's fine",
        }


# -- SQL per server version ------------------------------------------------------------------------

#: pg_stat_statements 1.7 (PostgreSQL 12) as a view over this server's newer one: same columns,
#: the 12 names. Lets statements.sql (12) run here; 13 renamed *_time to *_exec_time.
PGSS_1_7 = """
CREATE SCHEMA pgss_1_7;
CREATE VIEW pgss_1_7.pg_stat_statements AS
SELECT userid, dbid, queryid, query, calls,
       total_exec_time AS total_time, min_exec_time AS min_time, max_exec_time AS max_time,
       mean_exec_time AS mean_time, stddev_exec_time AS stddev_time, rows,
       shared_blks_hit, shared_blks_read, shared_blks_dirtied, shared_blks_written,
       local_blks_hit, local_blks_read, local_blks_dirtied, local_blks_written,
       temp_blks_read, temp_blks_written, blk_read_time, blk_write_time
  FROM public.pg_stat_statements
"""


def _describe(conn: psycopg.Connection[Any], sql: str) -> list[str]:
    """The columns `sql` returns, from the server's parse and analysis of it (libpq's describe
    of a prepared statement): every relation, column and function must exist; nothing runs."""
    numbers: dict[str, int] = {}

    def placeholder(match: re.Match[str]) -> str:
        return f"${numbers.setdefault(match.group(1), len(numbers) + 1)}"

    text = re.sub(r"%\((\w+)\)s", placeholder, sql).replace("%%", "%")
    pgconn = conn.pgconn
    prepared = pgconn.prepare(b"zc_describe", text.encode())
    if prepared.status != psycopg.pq.ExecStatus.COMMAND_OK:
        raise psycopg.errors.error_from_result(prepared)
    try:
        described = pgconn.describe_prepared(b"zc_describe")
        return [(described.fname(i) or b"").decode() for i in range(described.nfields)]
    finally:
        pgconn.exec_(b"DEALLOCATE zc_describe")


def test_sql_for_every_version_range_parses_on_this_server(
    postgres_server: services.Postgres,
) -> None:
    """Only this machine's PostgreSQL runs here; the files for other ranges are still checked
    against it as far as it can: the 12 statements file against a 1.7-shaped view, the 16+
    server file parsed (its reserved_connections setting exists from 16 only)."""
    url = create_database(postgres_server, "sqlcheck", pgss=True)
    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.info.server_version >= 150000
        conn.execute(PGSS_1_7)
        # server: the 16+ file has the columns of the 12-15 one and parses; running it needs 16.
        old, new = get("server", 150000), get("server", 160000)
        assert old != new
        assert _describe(conn, old) == _describe(conn, new)
        assert conn.execute(old.encode()).fetchone() is not None
        with pytest.raises(psycopg.errors.UndefinedObject, match="reserved_connections"):
            conn.execute(new.encode())
        # statements: each file runs against its own extension version, with the same columns
        # and the same rows; the 12 file does not fit 13+ (the reason for the split).
        for _ in range(3):
            conn.execute("SELECT count(*) FROM t")
        columns = []
        for version, search_path in ((120000, "pgss_1_7, public"), (130000, "public")):
            conn.execute(f"SET search_path = {search_path}".encode())
            template = get("statements", version).replace("{order}", "total_ms")
            columns.append(_describe(conn, template))
            got = conn.execute(template.encode(), {"top": 1000}).fetchall()
            counted = [r for r in got if r[3] == "SELECT count(*) FROM t" and r[1] == "sqlcheck"]
            assert [(r[1], r[4]) for r in counted] == [("sqlcheck", 3)], (version, got)
            assert counted[0][5] > 0 and counted[0][6] > 0  # total_ms, mean_ms
        assert columns[0] == columns[1]
        conn.execute("SET search_path = public")
        with pytest.raises(psycopg.errors.UndefinedColumn, match="total_time"):
            _describe(conn, get("statements", 120000).replace("{order}", "mean_ms"))
        # The one-file-for-all-versions SQL parses too (standby.sql runs on the standby test).
        for name in ("activity", "databases", "replication", "standby"):
            assert _describe(conn, get(name, conn.info.server_version))
        terminate = get("terminate", conn.info.server_version)
        for func in ("pg_cancel_backend", "pg_terminate_backend"):
            sql = terminate.replace("{func}", func).replace("{condition}", "true")
            assert _describe(conn, sql) == ["pid", "done"]
