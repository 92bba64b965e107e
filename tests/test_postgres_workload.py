"""Helpers, no tests: sessions that look like a database incident, made with real connections
(pg_activity's way), shared by the tests/test_postgres*.py modules.

An idle pool, long queries (pg_sleep), an idle-in-transaction session holding a table lock and
an UPDATE waiting behind it. Everything is cleaned up by :meth:`Workload.close`.
"""

from __future__ import annotations

import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tests import services

APP_PREFIX = "zc-test-"


@dataclass
class Background:
    """A statement running in a thread on its own connection."""

    pid: int
    done: threading.Event
    outcome: dict[str, Any] = field(default_factory=dict)

    @property
    def succeeded(self) -> bool:
        return self.done.is_set() and "error" not in self.outcome


class Workload:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.conns: list[psycopg.Connection[Any]] = []
        self.threads: list[threading.Thread] = []

    def connect(self, app: str, *, autocommit: bool = True) -> psycopg.Connection[Any]:
        conn = psycopg.connect(
            self.dsn, application_name=APP_PREFIX + app, autocommit=autocommit, connect_timeout=5
        )
        self.conns.append(conn)
        return conn

    def idle(self, count: int) -> list[int]:
        return [self.connect("idle").info.backend_pid for _ in range(count)]

    def background(self, app: str, sql: str) -> Background:
        conn = self.connect(app)
        job = Background(conn.info.backend_pid, threading.Event())

        def run() -> None:
            try:
                conn.execute(sql.encode())
                job.outcome["ok"] = True
            except psycopg.Error as exc:
                job.outcome["error"] = exc
            finally:
                job.done.set()

        thread = threading.Thread(target=run, name=f"workload-{app}", daemon=True)
        thread.start()
        self.threads.append(thread)
        return job

    def lock_holder(self, table: str) -> int:
        """A session that locks `table` in a transaction and then sits idle in it."""
        conn = self.connect("holder", autocommit=False)
        conn.execute(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE".encode())
        return conn.info.backend_pid

    def admin(self) -> psycopg.Connection[Any]:
        return psycopg.connect(self.dsn, autocommit=True, connect_timeout=5)

    def wait_active(self, pids: list[int], min_s: float, timeout: float = 30) -> None:
        def ready() -> bool:
            with self.admin() as conn:
                row = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY(%s) "
                    "AND state = 'active' AND now() - query_start > make_interval(secs => %s)",
                    (pids, min_s),
                ).fetchone()
            return row is not None and row[0] == len(pids)

        services.wait_for(ready, timeout, f"sessions {pids} active for {min_s} s", 0.1)

    def wait_lock_wait(self, pid: int, timeout: float = 30) -> None:
        def waiting() -> bool:
            with self.admin() as conn:
                row = conn.execute(
                    "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)
                ).fetchone()
            return row is not None and row[0] == "Lock"

        services.wait_for(waiting, timeout, f"pid {pid} waiting on a lock", 0.1)

    def wait_clients(self, count: int, via: psycopg.Connection[Any], timeout: float = 30) -> None:
        """Until the server has exactly `count` client backends (`via` among them): a helper's
        closed connection leaves its backend listed for a moment, which exact counts would see.
        `via` is one of the workload's own connections, so asking leaves nothing behind."""

        def settled() -> bool:
            row = via.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
            ).fetchone()
            return row is not None and row[0] == count

        services.wait_for(settled, timeout, f"exactly {count} client backends", 0.05)

    def alive(self, pid: int) -> bool:
        with self.admin() as conn:
            row = conn.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        return row is not None

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error), self.admin() as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
                (APP_PREFIX + "%",),
            )
        for thread in self.threads:
            thread.join(10)
        for conn in self.conns:
            with contextlib.suppress(Exception):
                conn.close()


def create_database(server: services.Postgres, name: str, *, pgss: bool = False) -> str:
    """A fresh database with table t(id, v) of one row; its URL."""
    with psycopg.connect(server.dsn, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    url = server.url(db=name)
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, v int NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 0)")
        if pgss:
            conn.execute("CREATE EXTENSION pg_stat_statements")
    return url
