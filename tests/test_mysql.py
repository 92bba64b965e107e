"""MySQL/MariaDB check on a throwaway MariaDB: the incident scenario, health, config, actions.

10 idle connections, 2 long queries, a transaction holding a row and an UPDATE waiting for it:
the check data and `zconsole snapshot --json` show each; the mitigations hit exactly what they
previewed; the emergency dump writes the database with its progress in its own object.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pymysql
import pytest

from tests import services
from tests.test_mysql_workload import (
    INNODB_CACHE_IDLE_S,
    Background,
    Workload,
    connect,
    create_database,
)
from zconsole import mitigations
from zconsole.actions import ActionError, Risk
from zconsole.checks.base import Snapshot, Status
from zconsole.checks.mysql import (
    MySQLCheck,
    MySQLData,
    family_of,
    get,
    latest_deadlock,
    sql_file,
    version_number,
)
from zconsole.checks.mysql_settings import MySQLSettings, parse_dsn, resolve
from zconsole.checks.secrets import MASK, redact
from zconsole.config import load_config
from zconsole.registry import build_checks

pytestmark = pytest.mark.mysql

LONG_S = 0.5
CONFIG = MySQLSettings(long_query_s=LONG_S)
#: 10 idle + 2 sleeping + the holder + the waiting UPDATE + the workload's own admin connection.
SCENARIO_CLIENTS = 15


@dataclass
class Scenario:
    server: services.MariaDB
    db: str
    workload: Workload
    idle: list[int]
    sleepers: list[Background]
    holder: int
    waiter: Background

    @property
    def sleeper_ids(self) -> set[int]:
        return {s.id for s in self.sleepers}

    def check(self, config: MySQLSettings = CONFIG) -> MySQLCheck:
        return MySQLCheck(config, parse_dsn(self.server.url(db=self.db)))


@pytest.fixture
def scenario(mariadb_server: services.MariaDB) -> Iterator[Scenario]:
    create_database(mariadb_server, "incident")
    workload = Workload(mariadb_server, "incident")
    try:
        idle = workload.idle(10)
        sleepers = [workload.background("SELECT SLEEP(600)") for _ in range(2)]
        holder = workload.lock_holder()
        waiter = workload.background("UPDATE t SET v = v + 10 WHERE id = 1")
        workload.wait_lock_wait(waiter.id, waiter)
        workload.wait_running([s.id for s in sleepers], LONG_S + 0.2)
        # Nothing else on the server (earlier tests' connections gone): counts are exact.
        workload.wait_clients(SCENARIO_CLIENTS - 1)
        yield Scenario(mariadb_server, "incident", workload, idle, sleepers, holder, waiter)
    finally:
        workload.close()


def collect(check: MySQLCheck) -> tuple[Snapshot[Any], MySQLData]:
    snap = check.collect()
    assert snap.error is None, snap.error
    assert isinstance(snap.data, MySQLData)
    return snap, snap.data


def own_id(check: MySQLCheck) -> int:
    conn = check._conn
    assert conn is not None
    with conn.cursor() as cur:
        cur.execute("SELECT CONNECTION_ID() AS id")
        row = cur.fetchone()
    assert row is not None
    return int(row["id"])


# -- the check -------------------------------------------------------------------------------------


def test_check_sees_connections_long_queries_and_the_lock_chain(scenario: Scenario) -> None:
    check = scenario.check()
    try:
        snap, data = collect(check)
        mine = own_id(check)
    finally:
        check.close()
    c = data.connections
    assert c.total == SCENARIO_CLIENTS and c.max == 1100
    assert c.threads_connected == SCENARIO_CLIENTS + 1  # the server counts the console too
    assert c.by_db == {"incident": SCENARIO_CLIENTS}
    assert c.by_command == {"Sleep": 12, "Query": 3}
    assert c.by_state == {"Sleep": 11, "User sleep": 2, "Sleep in transaction": 1, "Updating": 1}
    assert c.by_user == {"root": SCENARIO_CLIENTS} and c.by_host == {"127.0.0.1": SCENARIO_CLIENTS}
    assert c.threads_running >= 3 and c.max_used >= SCENARIO_CLIENTS + 1
    # The console hides itself from every list.
    assert mine not in {s.id for s in check.sessions}
    assert mine not in {s.id for s in data.long_queries}
    long_ids = [s.id for s in data.long_queries]
    assert scenario.sleeper_ids <= set(long_ids)
    times = [s.duration_s or 0.0 for s in data.long_queries]
    assert times == sorted(times, reverse=True)
    sleeper = next(s for s in data.long_queries if s.id in scenario.sleeper_ids)
    assert sleeper.query == "SELECT SLEEP(600)" and sleeper.command == "Query"
    assert sleeper.user == "root" and sleeper.db == "incident" and sleeper.state == "User sleep"
    assert sleeper.host is not None and sleeper.host.startswith("127.0.0.1:")
    assert (sleeper.duration_s or 0) >= LONG_S
    # The lock chain: the sleeping transaction that holds the row is the root.
    root, *behind = data.blocking
    assert root.id == scenario.holder and root.depth == 0 and root.blocked_by == ()
    assert root.command == "Sleep" and root.trx_s is not None
    assert [(b.id, b.depth, b.blocked_by) for b in behind] == [
        (scenario.waiter.id, 1, (scenario.holder,))
    ]
    assert behind[0].locked_table == "`incident`.`t`" and behind[0].wait_s is not None
    assert "UPDATE t SET v = v + 10" in behind[0].query
    assert snap.status is Status.WARN
    assert "1 blocked by 1 root" in snap.summary
    assert data.health.family == "mariadb" and data.replication is None
    assert data.privileges == "all" and data.limitations == ()


def test_connection_threshold_is_configurable(scenario: Scenario) -> None:
    check = scenario.check(MySQLSettings(connections_warn_pct=0.5, connections_crit_pct=1.0))
    try:
        snap, data = collect(check)
    finally:
        check.close()
    assert data.connections.percent == pytest.approx(100 * (SCENARIO_CLIENTS + 1) / 1100)
    assert data.connections.status is Status.CRIT and snap.status is Status.CRIT


def test_console_holds_one_named_connection_with_a_statement_limit(
    mariadb_server: services.MariaDB,
) -> None:
    check = MySQLCheck(MySQLSettings(statement_timeout_ms=1234), parse_dsn(mariadb_server.dsn))
    try:
        collect(check)
        collect(check)
        mine = own_id(check)
        with connect(mariadb_server) as admin, admin.cursor() as cur:
            cur.execute(
                "SELECT PROCESSLIST_ID FROM performance_schema.session_connect_attrs"
                " WHERE ATTR_NAME = 'program_name' AND ATTR_VALUE = 'zconsole'"
            )
            named = [int(r[0]) for r in cur.fetchall()]
        assert named == [mine]
        conn = check._conn
        assert conn is not None
        with conn.cursor() as cur:
            cur.execute("SELECT @@SESSION.max_statement_time AS t")
            row = cur.fetchone()
        assert row is not None and float(row["t"]) == pytest.approx(1.234)
    finally:
        check.close()


def test_sql_files_per_family_and_version() -> None:
    assert sql_file("lock_waits", "mariadb", 101119) == "mariadb_lock_waits.sql"
    assert "information_schema.INNODB_LOCK_WAITS" in get("lock_waits", "mariadb", 100600)
    assert sql_file("lock_waits", "mysql", 50744) == "mysql_lock_waits.sql"
    assert "sys.x$innodb_lock_waits" in get("lock_waits", "mysql", 50744)
    assert sql_file("lock_waits", "mysql", 80036) == "mysql_lock_waits_post_80000.sql"
    assert "performance_schema.data_lock_waits" in get("lock_waits", "mysql", 80400)
    assert get("replica_status", "mysql", 80021).strip() == "SHOW SLAVE STATUS"
    assert get("replica_status", "mysql", 80022).strip() == "SHOW REPLICA STATUS"
    assert get("replica_status", "mariadb", 100411).strip() == "SHOW SLAVE STATUS"
    assert get("replica_status", "mariadb", 100501).strip() == "SHOW REPLICA STATUS"
    assert sql_file("activity", "mariadb", 101119) == "mariadb_activity.sql"
    assert sql_file("activity", "mysql", 80036) == "mysql_activity.sql"
    assert sql_file("status", "mariadb", 101119) == "mysql_status.sql"  # one file serves both
    assert version_number("10.11.19-MariaDB-0+deb12u1") == 101119
    assert version_number("8.0.36-0ubuntu0.22.04.1") == 80036
    assert family_of("10.11.19-MariaDB-0+deb12u1") == "mariadb"
    assert family_of("8.0.36", "MySQL Community Server - GPL") == "mysql"


def test_every_sql_file_this_server_can_run_runs(mariadb_server: services.MariaDB) -> None:
    """Each file that MariaDB can serve runs on the real server (MySQL 8's data_lock_waits file
    needs a MySQL 8 server, which the tests do not start)."""
    files = [
        "mariadb_activity.sql",
        "mysql_activity.sql",
        "mariadb_lock_waits.sql",
        "mysql_lock_waits.sql",  # the sys schema view: MariaDB 10.6+ has it too
        "mysql_status.sql",
        "mysql_server.sql",
        "mariadb_replica_status.sql",
        "mariadb_replica_status_post_100501.sql",
    ]
    from zconsole.checks import sql_files

    with connect(mariadb_server) as conn, conn.cursor() as cur:
        for name in files:
            cur.execute(sql_files._read(name))
            cur.fetchall()
            assert cur.description is not None or name.endswith("replica_status.sql"), name


async def test_latest_deadlock_and_the_counter(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    create_database(mariadb_server, "deadlock")
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.url(db="deadlock")))
    a = connect(mariadb_server, "deadlock")
    b = connect(mariadb_server, "deadlock")
    try:
        _, before = collect(check)
        assert before.health.deadlocks == 0 and before.health.latest_deadlock is None
        a.begin()
        b.begin()
        a.cursor().execute("UPDATE t SET v = 1 WHERE id = 1")
        b.cursor().execute("UPDATE t SET v = 2 WHERE id = 2")
        errors: list[str] = []

        def a_second() -> None:
            try:
                a.cursor().execute("UPDATE t SET v = 1 WHERE id = 2")
            except pymysql.Error as exc:
                errors.append(str(exc))

        thread = threading.Thread(target=a_second)
        thread.start()
        services.wait_for(
            lambda: (
                mariadb_server.sql(
                    "SELECT COUNT(*) FROM information_schema.INNODB_TRX WHERE trx_state='LOCK WAIT'"
                ).strip()
                == "1"
            ),
            20,
            "A waiting for B",
            INNODB_CACHE_IDLE_S,
        )
        try:
            b.cursor().execute("UPDATE t SET v = 2 WHERE id = 1")
        except pymysql.Error as exc:
            errors.append(str(exc))
        thread.join(20)
        assert any("Deadlock" in e for e in errors), errors
        snap, after = collect(check)
    finally:
        for conn in (a, b):
            conn.close()
        check.close()
    assert after.health.deadlocks == 1
    deadlock = after.health.latest_deadlock
    assert deadlock is not None and deadlock.victim in ("(1)", "(2)")
    assert "UPDATE t SET v = 1 WHERE id = 2" in deadlock.text
    assert "UPDATE t SET v = 2 WHERE id = 1" in deadlock.text
    assert deadlock.at[:2] == "20"  # a timestamp
    # On screen: when, which transaction InnoDB rolled back, and the statements involved.
    shown = await _static_after(tmp_path, check, [snap], "#my-deadlock")
    assert f"latest deadlock {deadlock.at} · rolled back transaction {deadlock.victim}" in shown[0]
    assert "UPDATE t SET v = " in shown[0]


def test_latest_deadlock_is_none_without_the_section() -> None:
    assert latest_deadlock("=====\nBACKGROUND THREAD\n-----\nsrv_master_thread\n") is None


def test_slow_queries_rate_and_buffer_pool_hit_ratio(mariadb_server: services.MariaDB) -> None:
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.dsn))
    try:
        _, first = collect(check)
        assert first.health.slow_queries_per_min is None  # no interval yet
        with connect(mariadb_server) as conn, conn.cursor() as cur:
            cur.execute("SET SESSION long_query_time = 0.05")
            for _ in range(3):
                cur.execute("SELECT SLEEP(0.1)")
        _, second = collect(check)
    finally:
        check.close()
    h = second.health
    assert h.slow_queries - first.health.slow_queries == 3
    assert h.slow_queries_per_min is not None and h.slow_queries_per_min > 0
    assert h.buffer_pool_hit_pct is not None and 0.0 <= h.buffer_pool_hit_pct <= 100.0
    assert h.uptime_s is not None and h.uptime_s >= 0
    assert h.questions_per_s is not None and h.questions_per_s > 0
    assert h.version.startswith("10.") and h.version_num >= 100000


def test_a_limited_user_is_told_what_it_cannot_see(mariadb_server: services.MariaDB) -> None:
    mariadb_server.sql(
        "CREATE USER IF NOT EXISTS 'zc_limited'@'127.0.0.1' IDENTIFIED BY 'limited-pw-1';"
        " GRANT SELECT ON mysql.* TO 'zc_limited'@'127.0.0.1'"
    )
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.url("zc_limited", "limited-pw-1", "mysql")))
    try:
        snap, data = collect(check)
    finally:
        check.close()
    assert data.privileges == "own"
    assert any("GRANT PROCESS" in n for n in data.limitations)
    assert any("replication status unavailable" in n for n in data.limitations)
    assert "limited-pw-1" not in json.dumps(snap.to_json())


def test_auth_failure_is_one_line_without_the_password(mariadb_server: services.MariaDB) -> None:
    check = MySQLCheck(
        CONFIG, parse_dsn(mariadb_server.url(mariadb_server.app_user, "wrong-pw-9f3", "mysql"))
    )
    snap = check.collect()
    check.close()
    assert snap.status is Status.ERROR and snap.error is not None
    assert f"access denied for user {mariadb_server.app_user}" in snap.error
    assert "wrong-pw-9f3" not in snap.error and "\n" not in snap.error


def test_query_text_is_redacted(mariadb_server: services.MariaDB) -> None:
    create_database(mariadb_server, "secrets")
    workload = Workload(mariadb_server, "secrets")
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.url(db="secrets")))
    try:
        job = workload.background(
            "SELECT SLEEP(600) /* mysql://app:s3cr3t-in-dsn@db/app password=hunter2-kw */"
        )
        workload.wait_running([job.id], LONG_S)
        snap, data = collect(check)
    finally:
        check.close()
        workload.close()
    query = next(s.query for s in data.long_queries if s.id == job.id)
    assert "s3cr3t-in-dsn" not in query and "hunter2-kw" not in query and MASK in query
    assert "s3cr3t-in-dsn" not in json.dumps(snap.to_json())


def test_evidence_is_the_processlist_and_innodb_status_redacted(scenario: Scenario) -> None:
    check = scenario.check()
    try:
        collect(check)
        evidence = check.evidence()
    finally:
        check.close()
    lines = evidence["processlist.tsv"].splitlines()
    assert lines[0].startswith("id\tuser\thost\tdb\tcommand")
    assert len(lines) == 1 + SCENARIO_CLIENTS  # every connection but the console's own
    assert any("SELECT SLEEP(600)" in line for line in lines)
    assert "LATEST DETECTED DEADLOCK" in evidence["innodb_status.txt"] or (
        "TRANSACTIONS" in evidence["innodb_status.txt"]
    )


# -- config ----------------------------------------------------------------------------------------


def test_dsn_sources_and_their_precedence(tmp_path: Path, workdir: Path) -> None:
    url = "mysql://app:pw-from-env-77@db.internal:3307/shop"
    config = load_config(env={"MYSQL_URL": url})
    assert config.mysql.dsn == url
    endpoint = resolve(config.mysql, {}, tmp_path)
    assert endpoint is not None
    assert (endpoint.host, endpoint.port, endpoint.user, endpoint.database) == (
        "db.internal",
        3307,
        "app",
        "shop",
    )
    assert redact(url) == f"mysql://app:{MASK}@db.internal:3307/shop"
    assert redact("pw-from-env-77 in text") == f"{MASK} in text"
    # A Laravel DATABASE_URL=mysql://... is MySQL's, and PostgreSQL stays unconfigured.
    laravel = load_config(env={"DATABASE_URL": "mysql://forge:pw-laravel-1@127.0.0.1/forge"})
    assert laravel.mysql.dsn.startswith("mysql://forge") and laravel.postgres.dsn == ""
    assert "DATABASE_URL" in laravel.sources[-1]
    pg = load_config(env={"DATABASE_URL": "postgresql://u@h/db"})
    assert pg.postgres.dsn == "postgresql://u@h/db" and pg.mysql.dsn == ""
    (workdir / "zconsole.toml").write_text('[mysql]\ndsn = "mysql://root@127.0.0.1:3310/app"\n')
    assert load_config(cwd=workdir, env={}).mysql.dsn.endswith(":3310/app")
    socket_dsn = parse_dsn("mysql://root@localhost/app?unix_socket=/run/mysqld/mysqld.sock")
    assert socket_dsn.unix_socket == "/run/mysqld/mysqld.sock"
    with pytest.raises(ValueError, match="mysql://"):
        parse_dsn("postgresql://x@y/z")


def test_effective_config_shows_mysql_without_its_password(workdir: Path) -> None:
    from zconsole.config import effective_toml

    text = effective_toml(load_config(cwd=workdir, env={"MYSQL_URL": "mysql://u:pw-eff-31@h/db"}))
    assert "[mysql]" in text and "long_query_s = 1.0" in text
    assert "pw-eff-31" not in text and f"mysql://u:{MASK}@h/db" in text


def test_a_failed_dump_says_how_far_it_got_and_leaves_no_file(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    create_database(mariadb_server, "gone")
    check = MySQLCheck(
        MySQLSettings(dump_dir=str(tmp_path / "dumps")), parse_dsn(mariadb_server.url(db="gone"))
    )
    try:
        collect(check)
        action = mitigations.build("mysql", "dump", check, None)
        mariadb_server.sql("DROP DATABASE gone")  # gone before the responder confirmed
        with pytest.raises(ActionError, match=r"mysqldump of gone failed .*after \d+ bytes in"):
            action.execute()
    finally:
        check.close()
    assert not list((tmp_path / "dumps").glob("*.sql"))
    status = check.dump_progress.status
    assert status is not None and not status.running and status.error


def test_my_cnf_connects_and_its_password_is_a_secret(
    mariadb_server: services.MariaDB, workdir: Path
) -> None:
    home = Path(os.environ["HOME"])
    (home / ".my.cnf").write_text(
        "!includedir /etc/mysql/conf.d/\n"
        "[client]\n"
        f"user = {mariadb_server.app_user}\n"
        f'password = "{mariadb_server.app_password}"\n'
        "host = 127.0.0.1\n"
        f"port = {mariadb_server.port}\n"
    )
    config = load_config(cwd=workdir, env={})
    checks = {c.name: c for c in build_checks(config)}
    check = checks["mysql"]
    assert isinstance(check, MySQLCheck) and check.endpoint.origin.endswith(".my.cnf")
    try:
        snap, data = collect(check)
    finally:
        check.close()
    assert data.user == f"{mariadb_server.app_user}@127.0.0.1"
    assert redact(f"pw {mariadb_server.app_password}") == f"pw {MASK}"
    assert mariadb_server.app_password not in json.dumps(snap.to_json())


def test_unconfigured_says_how_to_configure(workdir: Path) -> None:
    checks = {c.name: c for c in build_checks(load_config(cwd=workdir, env={}))}
    snap = checks["mysql"].collect()
    assert not snap.configured and "MYSQL_URL" in snap.summary and "~/.my.cnf" in snap.summary


# -- snapshot --json -------------------------------------------------------------------------------


def snapshot_json(workdir: Path, url: str, timeout: float = 60) -> dict[str, Any]:
    (workdir / "zconsole.toml").write_text(
        "[docker]\nenabled = false\n[mysql]\ntimeout = 5\nlong_query_s = 0.5\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", "--json"],
        cwd=workdir,
        env={**os.environ, "MYSQL_URL": url},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.stdout, done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    my: dict[str, Any] = report["checks"]["mysql"]
    return my


def test_snapshot_json_shows_the_scenario(scenario: Scenario, workdir: Path) -> None:
    my = snapshot_json(workdir, scenario.server.url(db="incident"))
    assert my["error"] is None, my["error"]
    data = my["data"]
    assert data["connections"]["total"] == SCENARIO_CLIENTS
    assert data["connections"]["max"] == 1100
    assert data["connections"]["by_state"] == {
        "Sleep": 11,
        "User sleep": 2,
        "Sleep in transaction": 1,
        "Updating": 1,
    }
    long = {q["id"]: q for q in data["long_queries"]}
    assert scenario.sleeper_ids <= set(long)
    sample = long[scenario.sleepers[0].id]
    for key in ("id", "user", "host", "db", "state", "duration_s", "query"):
        assert key in sample, key
    assert sample["query"] == "SELECT SLEEP(600)" and sample["duration_s"] > LONG_S
    assert data["blocking"][0]["id"] == scenario.holder
    assert data["blocking"][0]["blocked_by"] == []
    assert data["blocking"][1]["id"] == scenario.waiter.id
    assert data["blocking"][1]["blocked_by"] == [scenario.holder]
    assert data["replication"] is None


def test_snapshot_json_on_closed_port_is_one_clear_line(workdir: Path) -> None:
    port = services.closed_port()
    my = snapshot_json(workdir, f"mysql://app:hunter2pw@127.0.0.1:{port}/db")
    assert my["status"] == "error" and my["data"] is None
    assert f"127.0.0.1:{port}: connection refused" in my["error"]
    assert "\n" not in my["error"] and "hunter2pw" not in json.dumps(my)


def test_snapshot_json_on_hanging_listener_times_out_cleanly(workdir: Path) -> None:
    with services.hanging_listener() as port:
        my = snapshot_json(workdir, f"mysql://app:hunter2pw@127.0.0.1:{port}/db")
    assert my["status"] == "error" and "hunter2pw" not in json.dumps(my)
    assert "no answer" in my["error"] or "timed out" in my["error"], my["error"]


# -- mitigations -----------------------------------------------------------------------------------


def test_kill_long_hits_exactly_the_previewed_connections(scenario: Scenario) -> None:
    check = scenario.check()
    try:
        collect(check)
        with pytest.raises(ValueError, match="no connection matches"):
            mitigations.build("mysql", "kill_long", check, None)  # nothing runs 5 min
        action = mitigations.build("mysql", "kill_long", check, 0.01)  # 0.6 s
        assert action.risk is Risk.DESTRUCTIVE
        for sleeper in scenario.sleepers:
            assert f"id {sleeper.id} " in action.preview
        assert f"id {scenario.holder} " not in action.preview  # sleeping, not running
        result = action.execute()
        for sleeper in scenario.sleepers:
            assert sleeper.done.wait(10) and not sleeper.succeeded
            assert not scenario.workload.alive(sleeper.id)
        assert "killed id" in result
        assert scenario.workload.alive(scenario.holder)
        assert all(scenario.workload.alive(i) for i in scenario.idle)
    finally:
        check.close()


def test_kill_sleeping_in_transaction_and_kill_query(scenario: Scenario) -> None:
    check = scenario.check()
    try:
        _, data = collect(check)
        target = next(s for s in data.long_queries if s.id in scenario.sleeper_ids)
        query = mitigations.build("mysql", "kill_query", check, target)
        assert query.risk is Risk.DISRUPTIVE and query.preview.startswith("KILL QUERY")
        assert f"killed the query of id {target.id}" in query.execute()
        assert scenario.workload.alive(target.id)  # the statement stops, the connection stays
        action = mitigations.build("mysql", "kill_idle_tx", check, 0.001)
        assert f"id {scenario.holder} " in action.preview
        assert "Sleep in transaction" in action.preview
        assert f"killed id {scenario.holder}" in action.execute()
        assert scenario.waiter.done.wait(10) and scenario.waiter.succeeded
        assert not scenario.workload.alive(scenario.holder)
        assert all(scenario.workload.alive(i) for i in scenario.idle)
    finally:
        check.close()


def test_a_connection_that_stopped_matching_is_left_alone(scenario: Scenario) -> None:
    check = scenario.check()
    try:
        collect(check)
        action = mitigations.build("mysql", "kill_root_blocker", check, None)
        assert action.target == str(scenario.holder)
        # The holder commits before the kill is confirmed: it no longer blocks anyone.
        scenario.workload.by_id[scenario.holder].commit()
        assert scenario.waiter.done.wait(10)
        # InnoDB refreshes its information_schema lock tables only after 0.1 s without a read.
        scenario.workload.wait(
            lambda: (
                not scenario.workload.rows("SELECT 1 FROM information_schema.INNODB_LOCK_WAITS")
            ),
            "the lock wait gone from information_schema",
        )
        with pytest.raises(ActionError, match="still matched"):
            action.execute()
        assert scenario.workload.alive(scenario.holder)
    finally:
        check.close()


def test_mitigations_need_a_selection_or_a_match(mariadb_server: services.MariaDB) -> None:
    check = MySQLCheck(CONFIG, parse_dsn(mariadb_server.dsn))
    try:
        collect(check)
        with pytest.raises(ValueError, match="select a connection"):
            mitigations.build("mysql", "kill_query", check, None)
        with pytest.raises(ValueError, match="no root blocker"):
            mitigations.build("mysql", "kill_root_blocker", check, None)
        assert {"dump", "kill_connection", "kill_long", "kill_query"} <= set(
            mitigations.available("mysql")
        )
    finally:
        check.close()


def test_emergency_dump_writes_the_database_with_progress(
    mariadb_server: services.MariaDB, tmp_path: Path
) -> None:
    create_database(mariadb_server, "dumpme")
    mariadb_server.sql(
        "USE dumpme; INSERT INTO t SELECT seq, seq FROM seq_3_to_20000"  # the Sequence engine
    )
    url = mariadb_server.url(mariadb_server.app_user, mariadb_server.app_password, "dumpme")
    check = MySQLCheck(MySQLSettings(dump_dir=str(tmp_path / "dumps")), parse_dsn(url))
    try:
        collect(check)
        action = mitigations.build("mysql", "dump", check, None)
        assert "--single-transaction" in action.preview
        assert mariadb_server.app_password not in action.preview
        seen: list[int] = []
        progress = check.dump_progress
        original = progress.advance

        def spy(written: int) -> None:
            original(written)
            assert progress.status is not None and progress.status.running
            seen.append(progress.status.bytes_written)

        progress.advance = spy  # type: ignore[method-assign]
        result = action.execute()
        _, data = collect(check)
    finally:
        check.close()
    files = list((tmp_path / "dumps").glob("emergency_dumpme_*.sql"))
    assert len(files) == 1
    text = files[0].read_text()
    assert (
        "CREATE TABLE `t`" in text and "INSERT INTO `t` VALUES" in text and "(20000,20000)" in text
    )
    assert files[0].stat().st_mode & 0o777 == 0o600
    assert f"mysqldump dumpme → {files[0]} ({files[0].stat().st_size} bytes" in result
    assert len(seen) >= 3 and seen == sorted(seen)  # it advanced while running
    assert data.dump is not None and not data.dump.running and data.dump.error is None
    assert data.dump.bytes_written == files[0].stat().st_size
    assert not list(Path("/tmp").glob("zconsole-dump-*/client.cnf"))  # option file removed


# -- replication -----------------------------------------------------------------------------------


async def test_replication_running_lag_and_last_error(tmp_path: Path) -> None:
    source = services.start_mariadb(server_id=1)
    replica: services.MariaDB | None = None
    check: MySQLCheck | None = None
    try:
        replica = services.start_mariadb_replica(source)
        create_database(source, "shop")
        check = MySQLCheck(CONFIG, parse_dsn(replica.dsn))

        def replicated() -> bool:
            return (
                replica is not None and replica.sql("SHOW DATABASES LIKE 'shop'").strip() == "shop"
            )

        services.wait_for(replicated, 30, "the replica applying the source's changes", 0.2)
        running_snap, data = collect(check)
        r = data.replication
        assert r is not None and r.running, r
        assert (r.io_running, r.sql_running) == ("Yes", "Yes")
        assert r.source == f"127.0.0.1:{source.port}" and r.lag_s == 0 and r.last_error == ""
        assert r.status is Status.OK and "replica running, 0 s behind" in running_snap.summary
        # The source itself replicates from nothing.
        source_check = MySQLCheck(CONFIG, parse_dsn(source.dsn))
        try:
            assert collect(source_check)[1].replication is None
        finally:
            source_check.close()
        source.stop()

        def broken() -> bool:
            assert check is not None
            found = check.collect().data
            return (
                found is not None
                and found.replication is not None
                and bool(found.replication.last_error)
            )

        services.wait_for(broken, 30, "the replica noticing its source is gone", 0.5)
        snap, data = collect(check)
        r = data.replication
        assert r is not None and not r.running and r.io_running != "Yes"
        assert f"127.0.0.1:{source.port}" in r.last_error or "connect" in r.last_error.lower()
        assert r.status is Status.CRIT and snap.status is Status.CRIT
        assert "replica STOPPED" in snap.summary
        await _replication_on_screen(tmp_path, check, running_snap, snap, source.port)
    finally:
        if check is not None:
            check.close()
        if replica is not None:
            services.destroy_mariadb(replica)
        services.destroy_mariadb(source)


async def _static_after(
    tmp_path: Path, check: MySQLCheck, snapshots: list[Snapshot[Any]], selector: str
) -> list[str]:
    """What the MySQL pane's `selector` shows after each snapshot, in a headless app."""
    from textual.widgets import Static

    from zconsole.app import ZConsoleApp
    from zconsole.checks.base import CheckResult
    from zconsole.config import Config, GeneralConfig
    from zconsole.widgets.mysql import MySQLPane

    config = Config(general=GeneralConfig(store=str(tmp_path / "incidents.db")))
    app = ZConsoleApp(config, [check], poll=False, hostname="test")
    lines = []
    async with app.run_test(size=(200, 60)) as pilot:
        pane = app.query_one(MySQLPane)
        for snap in snapshots:
            app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=0.0))
            await pilot.pause()
            content = pane.query_one(selector, Static).content
            lines.append(getattr(content, "plain", str(content)))
    return lines


async def _replication_on_screen(
    tmp_path: Path, check: MySQLCheck, running: Snapshot[Any], stopped: Snapshot[Any], port: int
) -> None:
    lines = await _static_after(tmp_path, check, [running, stopped], "#my-replication")
    assert f"source 127.0.0.1:{port} · IO Yes SQL Yes · lag 0 s" in lines[0]
    assert "SQL Yes" in lines[1] and "IO Yes" not in lines[1] and "last error: " in lines[1]
