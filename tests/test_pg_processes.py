"""PostgreSQL out of connections: a real server at max_connections refuses the monitor role
(not a superuser); the check counts the backends from their process titles, goes CRIT "out of
connections", and the signal terminate of the idle-in-transaction backends frees the slots.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests import services
from zconsole.action_runner import ActionRunner, ConfirmKind, ConfirmRequest
from zconsole.actions import Outcome
from zconsole.audit import AuditLog
from zconsole.checks.base import Status
from zconsole.checks.pg_processes import count_backends, parse_title
from zconsole.checks.postgres import PostgresCheck
from zconsole.checks.postgres_settings import PostgresSettings
from zconsole.mitigations import build

pytestmark = pytest.mark.postgres

MAX_CONNECTIONS = 8
RESERVED = 3
#: Slots a non-superuser may use.
USABLE = MAX_CONNECTIONS - RESERVED


def test_titles_of_client_backends_parse_and_others_do_not() -> None:
    assert parse_title("postgres: erp himalytix 10.0.0.5(4711) idle in transaction") == (
        "erp",
        "himalytix",
        "10.0.0.5",
        "idle in transaction",
    )
    assert parse_title("postgres: 15/main: app shop [local] SELECT waiting") == (
        "app",
        "shop",
        "local",
        "SELECT waiting",
    )
    assert parse_title("postgres: app shop ::1(5123) idle") == ("app", "shop", "::1", "idle")
    for other in (
        "postgres: checkpointer",
        "postgres: 15/main: autovacuum launcher",
        "postgres: autovacuum worker shop",
        "postgres: walsender repl 10.0.0.9(6000) streaming 0/3000148",
        "postgres: parallel worker for PID 4242",
        "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main",
    ):
        assert parse_title(other) is None, other


@pytest.fixture(scope="module")
def full_server() -> Iterator[services.Postgres]:
    if os.geteuid() != 0:
        services.unavailable("signalling another user's backends needs root")
    server = services.start_postgres(
        {
            "max_connections": str(MAX_CONNECTIONS),
            "superuser_reserved_connections": str(RESERVED),
            "max_wal_senders": "0",
            "wal_level": "minimal",
            "update_process_title": "on",
        }
    )
    with psycopg.connect(server.dsn, autocommit=True) as conn:
        conn.execute("CREATE ROLE zc_app LOGIN")
        conn.execute("CREATE ROLE zc_mon LOGIN IN ROLE pg_monitor")
        conn.execute("CREATE DATABASE shop OWNER zc_app")
    yield server
    services.destroy_postgres(server)


def test_out_of_connections_counts_titles_and_signal_terminate_frees_slots(
    full_server: services.Postgres, tmp_path: Path
) -> None:
    check = PostgresCheck(PostgresSettings(), full_server.url("zc_mon", db="postgres"), timeout=5)
    held: list[psycopg.Connection[Any]] = []
    try:
        first = check.collect()
        assert first.status is not Status.ERROR, first.error
        # The application fills every slot a non-superuser may use: four sessions idle in a
        # transaction (the runbook-001 leak) and one running.
        for _ in range(USABLE - 1):
            conn = psycopg.connect(full_server.url("zc_app", db="shop"))
            conn.execute("SELECT 1")  # opens a transaction, then sits idle in it
            held.append(conn)
        check.close()  # the console's own slot goes too: it reconnects into a full server

        def monitor_gone() -> bool:
            # A closed connection's backend exits a moment later; until then it holds a slot.
            now = count_backends(full_server.port)
            return now is not None and "zc_mon" not in now.by("user")

        services.wait_for(monitor_gone, 10, "the monitor's backend to exit")
        busy = psycopg.connect(full_server.url("zc_app", db="shop"), autocommit=True)
        held.append(busy)
        with pytest.raises(psycopg.OperationalError, match="reserved"):
            psycopg.connect(full_server.url("zc_mon", db="postgres")).close()

        refused = check.collect()
        assert refused.error is None, refused.error
        assert refused.status is Status.CRIT
        assert "out of connections" in refused.summary
        data = refused.data
        assert data is not None and data.refused is not None and "reserved" in data.refused
        c = data.connections
        assert c.total == USABLE
        assert c.by_state == {"idle in transaction": USABLE - 1, "idle": 1}
        assert c.by_user == {"zc_app": USABLE}
        assert c.by_database == {"shop": USABLE}
        assert c.by_client == {"127.0.0.1": USABLE}
        assert c.max_connections == MAX_CONNECTIONS and c.max == USABLE  # from the last poll
        assert any("process titles" in n for n in data.limitations)
        counted = count_backends(full_server.port)
        assert counted is not None
        idle_pids = {b.pid for b in counted.idle_in_transaction()}
        assert {b.pid for b in data.title_backends} >= idle_pids and len(idle_pids) == USABLE - 1
        assert busy.info.backend_pid not in idle_pids

        # The key for "terminate idle in transaction" takes the signal route now.
        action = build("postgres", "terminate_idle_tx", check, None)
        assert action.title.startswith(f"SIGTERM {USABLE - 1} idle-in-transaction backends")
        for pid in idle_pids:
            assert (
                f"pid {pid}  zc_app@shop  from 127.0.0.1  [idle in transaction]" in action.preview
            )
        assert f"pid {busy.info.backend_pid} " not in action.preview
        assert "SIGTERM" in action.preview

        asked: list[ConfirmRequest] = []

        async def confirm(request: ConfirmRequest) -> bool:
            asked.append(request)
            return True

        runner = ActionRunner(audit=AuditLog(tmp_path / "audit.jsonl"), confirm=confirm)
        outcome = asyncio.run(runner.run(action))
        assert [r.kind for r in asked] == [ConfirmKind.TYPE_TARGET]
        assert outcome.outcome is Outcome.SUCCEEDED, outcome
        assert sorted(idle_pids) == sorted(
            int(p) for p in outcome.text.split("pid ", 1)[1].split(", ")
        )

        def freed() -> bool:
            left = count_backends(full_server.port)
            return left is not None and left.total == 1

        services.wait_for(freed, 10, "backends to exit")
        back = check.collect()
        assert back.error is None and back.data is not None and back.data.refused is None
        assert back.data.connections.by_state.get("idle in transaction", 0) == 0
        assert check.title_counts is None
    finally:
        for conn in held:
            conn.close()
        check.close()
