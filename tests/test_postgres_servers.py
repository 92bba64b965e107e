"""PostgreSQL pane against private servers the tests stop, start and replicate."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from textual.widgets import Static

from tests import services
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Snapshot, Status
from zconsole.checks.postgres import PostgresCheck, PostgresData
from zconsole.checks.postgres_settings import PostgresSettings
from zconsole.config import Config, GeneralConfig
from zconsole.widgets.postgres import PostgresPane

pytestmark = pytest.mark.postgres

PASSWORD = "mid-run-s3cret"


@pytest.fixture
def private_server() -> Iterator[services.Postgres]:
    server = services.start_postgres()
    yield server
    services.destroy_postgres(server)


def good(check: PostgresCheck) -> PostgresData:
    snap = check.collect()
    assert snap.error is None, snap.error
    assert isinstance(snap.data, PostgresData)
    return snap.data


def wait_data(check: PostgresCheck, predicate: Any, what: str, timeout: float = 60) -> PostgresData:
    found: list[PostgresData] = []

    def ready() -> bool:
        snap = check.collect()
        if isinstance(snap.data, PostgresData) and predicate(snap.data):
            found.append(snap.data)
            return True
        return False

    services.wait_for(ready, timeout, what, 0.2)
    return found[-1]


async def test_server_stopped_mid_run_shows_error_then_recovers(
    private_server: services.Postgres, tmp_path: Path
) -> None:
    dsn = private_server.url(password=PASSWORD)
    check = PostgresCheck(PostgresSettings(), dsn, timeout=5)
    app = ZConsoleApp(
        Config(general=GeneralConfig(store=str(tmp_path / "i.db"))), [check], poll=False
    )
    last_good: Snapshot[Any] | None = None
    last_good_at: float | None = None

    def show(snap: Snapshot[Any]) -> None:
        nonlocal last_good, last_good_at
        if snap.error is None:
            last_good, last_good_at = snap, time.monotonic()
        app.show_result(CheckResult(latest=snap, last_good=last_good, last_good_at=last_good_at))

    try:
        async with app.run_test(size=(110, 50)) as pilot:
            await pilot.press("3")
            first = check.collect()
            assert first.error is None, first.error
            show(first)
            private_server.stop("fast")
            broken = check.collect()
            assert broken.status is Status.ERROR and broken.error is not None
            assert "\n" not in broken.error and PASSWORD not in broken.error
            assert f"127.0.0.1:{private_server.port}" in broken.error
            assert "closed the connection" in broken.error or "refused" in broken.error
            show(broken)
            await pilot.pause()
            pane = app.query_one(PostgresPane)
            problem = pane.query_one(".pane--problem", Static)
            assert problem.has_class("-shown")
            assert f"127.0.0.1:{private_server.port}" in str(problem.content)
            again = check.collect()  # next poll: refused (or waiting out the backoff)
            assert again.error is not None and PASSWORD not in again.error
            private_server.start()
            recovered: list[Snapshot[Any]] = []

            def back() -> bool:
                snap = check.collect()
                recovered.append(snap)
                return snap.error is None

            services.wait_for(back, 60, "check recovered after restart", 0.25)
            show(recovered[-1])
            await pilot.pause()
            assert not problem.has_class("-shown")
            assert pane.result is not None and pane.result.latest.error is None
    finally:
        check.close()


def test_statements_absent_when_not_preloaded() -> None:
    server = services.start_postgres(extra_conf={"shared_preload_libraries": "''"})
    check = PostgresCheck(PostgresSettings(), server.dsn)
    try:
        data = good(check)
    finally:
        check.close()
        services.destroy_postgres(server)
    assert data.statements is None and data.statements_by_total is None
    reason = data.statements_unavailable or ""
    assert "not loaded" in reason and "shared_preload_libraries" in reason
    assert "CREATE EXTENSION pg_stat_statements" in reason


def test_streaming_standby_lag_then_gone(private_server: services.Postgres) -> None:
    standby = services.start_standby(private_server, name="zc-standby")
    primary_check = PostgresCheck(PostgresSettings(), private_server.dsn)
    standby_check = PostgresCheck(PostgresSettings(), standby.dsn)
    try:
        with psycopg.connect(private_server.dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE w AS SELECT g FROM generate_series(1, 50000) AS g")
        data = wait_data(
            primary_check,
            lambda d: any(
                r.state == "streaming" and r.lag_bytes is not None for r in d.replication
            ),
            "standby streaming with lag figures",
        )
        replica = next(r for r in data.replication if r.name == "zc-standby")
        assert replica.client_addr == "127.0.0.1" and not replica.gone
        assert replica.lag_bytes is not None and replica.lag_bytes >= 0
        assert data.role == "primary"
        shown = (
            PostgresPane("postgres", "PostgreSQL")._replication_text(data.replication, None).plain
        )
        assert "zc-standby@127.0.0.1 streaming lag" in shown
        on_standby = good(standby_check)
        assert on_standby.role == "standby" and on_standby.standby is not None
        assert on_standby.standby.receiver_status == "streaming"
        assert on_standby.replication == ()
        standby_check.close()
        standby.stop("fast")
        gone = wait_data(
            primary_check,
            lambda d: any(r.gone for r in d.replication),
            "standby shown as gone",
        )
        lost = next(r for r in gone.replication if r.name == "zc-standby")
        assert lost.state == "gone" and lost.lag_bytes is None
        assert (
            "zc-standby@127.0.0.1 GONE"
            in PostgresPane("postgres", "PostgreSQL")
            ._replication_text(gone.replication, None)
            .plain
        )
        snap = primary_check.collect()
        assert snap.status is Status.WARN and "1 gone" in snap.summary
    finally:
        primary_check.close()
        standby_check.close()
        services.destroy_postgres(standby)


def test_default_thresholds_warn_at_80_and_crit_at_95_percent_of_usable() -> None:
    """The runbooks' defaults against a real pool: max_connections 20 less 3 reserved for
    superusers leaves 17, so 14 sessions (82 %) warn and 17 (100 %) are critical."""
    server = services.start_postgres(
        extra_conf={"max_connections": "20", "superuser_reserved_connections": "3"}
    )
    config = PostgresSettings()
    assert (config.connections_warn_pct, config.connections_crit_pct) == (80.0, 95.0)
    check = PostgresCheck(config, server.dsn)
    pool: list[psycopg.Connection[Any]] = []
    seen: dict[int, tuple[Status, Status, float, int]] = {}
    try:
        for size in (13, 14, 16, 17):
            while len(pool) < size:
                pool.append(psycopg.connect(server.dsn, autocommit=True, connect_timeout=5))
            snap = check.collect()
            assert isinstance(snap.data, PostgresData), snap.error
            c = snap.data.connections
            seen[size] = (c.status, snap.status, c.percent, c.total)
            assert (c.max_connections, c.reserved, c.max) == (20, 3, 17)
    finally:
        check.close()
        for conn in pool:
            conn.close()
        services.destroy_postgres(server)
    assert {size: (s[0], s[3]) for size, s in seen.items()} == {
        13: (Status.OK, 13),  # 76 %
        14: (Status.WARN, 14),  # 82 %: at or over 80 %
        16: (Status.WARN, 16),  # 94 %: under 95 %
        17: (Status.CRIT, 17),  # 100 %
    }
    assert seen[14][2] == pytest.approx(100 * 14 / 17)
    # The connections grade is the check's only finding: it is the check's status too.
    assert [s[1] for s in seen.values()] == [Status.OK, Status.WARN, Status.WARN, Status.CRIT]
