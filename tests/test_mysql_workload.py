"""A real workload on the throwaway MariaDB: idle pools, long queries, a row lock and its waiter.

Every connection is a real client over 127.0.0.1 (PyMySQL); statements that block run in a
thread of their own, so a test can look at the server while they wait.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pymysql

from tests import services

#: InnoDB refreshes information_schema.INNODB_TRX / INNODB_LOCK_WAITS only when they have not
#: been read for 0.1 s: polling them faster than that reads the same stale rows forever.
INNODB_CACHE_IDLE_S = 0.15


def connect(server: services.MariaDB, db: str | None = None, **kwargs: Any) -> Any:
    return pymysql.connect(
        host="127.0.0.1",
        port=server.port,
        user="root",
        database=db,
        autocommit=True,
        connect_timeout=10,
        **kwargs,
    )


def create_database(server: services.MariaDB, name: str) -> None:
    """A fresh database `name` with table t (id, v) holding the row (1, 0)."""
    server.sql(
        f"DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}`; "
        f"CREATE TABLE `{name}`.t (id INT PRIMARY KEY, v INT NOT NULL) ENGINE=InnoDB; "
        f"INSERT INTO `{name}`.t VALUES (1, 0), (2, 0)"
    )


@dataclass
class Background:
    """A statement running in a thread on its own connection."""

    conn: Any
    sql: str
    id: int
    done: threading.Event = field(default_factory=threading.Event)
    outcome: str = ""

    @property
    def succeeded(self) -> bool:
        return self.outcome == "ok"


class Workload:
    def __init__(self, server: services.MariaDB, db: str) -> None:
        self.server = server
        self.db = db
        self.conns: list[Any] = []
        self.by_id: dict[int, Any] = {}
        #: The helper's own connection for looking at the server.
        self.admin = connect(server, db)

    def connection(self) -> Any:
        conn = connect(self.server, self.db)
        self.conns.append(conn)
        self.by_id[int(conn.thread_id())] = conn
        return conn

    def idle(self, n: int) -> list[int]:
        return [self.connection().thread_id() for _ in range(n)]

    def background(self, sql: str) -> Background:
        conn = self.connection()
        job = Background(conn, sql, conn.thread_id())

        def run() -> None:
            try:
                with conn.cursor() as cur:
                    cur.execute(sql)
                    cur.fetchall()
                job.outcome = "ok"
            except Exception as exc:
                job.outcome = f"{type(exc).__name__}: {exc}"
            finally:
                job.done.set()

        threading.Thread(target=run, daemon=True).start()
        return job

    def lock_holder(self, row: int = 1) -> int:
        """A connection that updated row `row` in an open transaction and sleeps holding it."""
        conn = self.connection()
        conn.begin()
        with conn.cursor() as cur:
            cur.execute("UPDATE t SET v = v + 1 WHERE id = %s", (row,))
        return int(conn.thread_id())

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.admin.cursor() as cur:
            cur.execute(sql, params)
            return list(cur.fetchall())

    def wait(self, predicate: Any, what: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"{what}: not reached in {timeout:g} s"
            time.sleep(INNODB_CACHE_IDLE_S)

    def wait_lock_wait(self, thread_id: int, job: Background | None = None) -> None:
        if job is not None and job.done.wait(0.2):
            raise AssertionError(f"connection {thread_id} did not wait: {job.outcome}")
        self.wait(
            lambda: self.rows(
                "SELECT 1 FROM information_schema.INNODB_TRX"
                " WHERE trx_mysql_thread_id = %s AND trx_state = 'LOCK WAIT'",
                (thread_id,),
            ),
            f"connection {thread_id} waiting for a lock",
        )

    def wait_running(self, ids: list[int], at_least_s: float) -> None:
        def running() -> bool:
            marks = ", ".join(["%s"] * len(ids))
            found = self.rows(
                "SELECT ID FROM information_schema.PROCESSLIST"
                f" WHERE ID IN ({marks}) AND COMMAND = 'Query' AND TIME_MS >= %s",
                (*ids, at_least_s * 1000),
            )
            return len(found) == len(ids)

        self.wait(running, f"connections {ids} running {at_least_s} s")

    def wait_clients(self, n: int) -> None:
        """Until exactly `n` client connections besides the helper's own are on the server."""
        self.wait(
            lambda: (
                self.rows(
                    "SELECT COUNT(*) FROM information_schema.PROCESSLIST"
                    " WHERE ID <> CONNECTION_ID()"
                )[0][0]
                == n
            ),
            f"{n} client connections",
        )

    def alive(self, thread_id: int) -> bool:
        return bool(
            self.rows("SELECT 1 FROM information_schema.PROCESSLIST WHERE ID = %s", (thread_id,))
        )

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(Exception):
                self.admin.cursor().execute("KILL %s", (conn.thread_id(),))
            with contextlib.suppress(Exception):
                conn.close()
        with contextlib.suppress(Exception):
            self.admin.close()
