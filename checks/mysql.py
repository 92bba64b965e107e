"""MySQL / MariaDB check: connections, long queries, lock waits, deadlocks, health, replication.

The same discipline as the PostgreSQL check: the console holds at most one connection of its
own, in autocommit, named ``zconsole`` (the ``program_name`` connection attribute), with a
server-side statement limit for the whole session and connect/read timeouts on the socket; it
hides itself from every list (``ID <> CONNECTION_ID()``). Query text is outside text that may
hold secrets (``CREATE USER … IDENTIFIED BY '…'``, a DSN in a comment): it is redacted before
it reaches any record. A lost connection is re-made with exponential backoff. The SQL lives in
``sql/mysql_*.sql`` (``sql/mariadb_*.sql`` where MariaDB differs), one file per version range.

Lock waits come from the table each family and version has: information_schema.INNODB_LOCK_WAITS
on MariaDB, sys.innodb_lock_waits on MySQL 5.7, performance_schema.data_lock_waits on MySQL 8.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

from zconsole.checks import blocking, sql_files
from zconsole.checks.base import Check, Status, grade, worst
from zconsole.checks.lazy import lazy
from zconsole.checks.mysql_settings import Endpoint, MySQLSettings
from zconsole.checks.progress import DumpProgress, DumpStatus
from zconsole.checks.secrets import redact

# The driver is imported at the first poll, in the check's thread (see checks/lazy.py).
if TYPE_CHECKING:
    import pymysql
    import pymysql.connections
    from pymysql import cursors as pymysql_cursors
else:
    pymysql = lazy("pymysql")
    pymysql_cursors = lazy("pymysql.cursors")

#: The console's name on the server (connection attribute program_name), for its own connection.
PROGRAM_NAME = "zconsole"
#: Reconnect backoff, seconds: doubles from the first to the last.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0
#: SHOW ENGINE INNODB STATUS takes a server mutex: read it when the deadlock counter moved, or
#: at most this often where the server has no counter (MySQL).
DEADLOCK_EVERY_S = 15.0
#: Longest deadlock report kept (the two transactions and their locks).
DEADLOCK_TEXT_LEN = 6000
#: Connections that are the server's own, not clients: never counted, listed or killed.
SYSTEM_USERS = frozenset({"system user", "event_scheduler"})
SYSTEM_COMMANDS = frozenset(
    {"Daemon", "Binlog Dump", "Binlog Dump GTID", "Slave_IO", "Slave_SQL", "Slave_worker"}
)
#: Commands that run no statement (their TIME is idle time, not a query's).
IDLE_COMMANDS = frozenset({"Sleep", "Connect"})
STATUS_NAMES = (
    "Threads_connected",
    "Threads_running",
    "Max_used_connections",
    "Aborted_connects",
    "Aborted_clients",
    "Slow_queries",
    "Questions",
    "Uptime",
    "Innodb_buffer_pool_read_requests",
    "Innodb_buffer_pool_reads",
    "Innodb_row_lock_waits",
    "Innodb_row_lock_current_waits",
    "Innodb_deadlocks",
)


# -- SQL files ----------------------------------------------------------------------------------


def version_number(version: str) -> int:
    """'10.11.19-MariaDB-0+deb12u1' -> 101119; '8.0.36' -> 80036."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", version)
    if match is None:
        return 0
    major, minor, patch = (int(g) for g in match.groups())
    return major * 10000 + minor * 100 + patch


def family_of(version: str, comment: str = "") -> str:
    """'mariadb' or 'mysql' (Percona Server and other MySQL builds are 'mysql')."""
    return "mariadb" if "mariadb" in f"{version} {comment}".lower() else "mysql"


def _base(name: str, family: str) -> str:
    """``mariadb_NAME`` where MariaDB has its own file, else ``mysql_NAME``."""
    for prefix in (family, "mysql"):
        if sql_files.ranges(f"{prefix}_{name}"):
            return f"{prefix}_{name}"
    raise LookupError(f"no SQL file for {name!r}")


def sql_file(name: str, family: str, version_num: int) -> str:
    """Which file serves `name` on a server of `family` at `version_num`."""
    return sql_files.sql_file(_base(name, family), version_num)


def get(name: str, family: str, version_num: int) -> str:
    return sql_files.get(_base(name, family), version_num)


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """One connection from the processlist (a row of the activity table)."""

    id: int
    user: str | None
    #: host:port of the client ("localhost" for a socket).
    host: str | None
    db: str | None
    command: str
    #: Seconds in the current command: a query's running time, a Sleep's idle time.
    duration_s: float | None
    state: str | None
    query: str
    #: Seconds since its InnoDB transaction started; None without one.
    trx_s: float | None = None
    trx_state: str | None = None
    trx_rows_locked: int | None = None

    @property
    def client(self) -> str:
        """The client's address without the port ("localhost" for a socket)."""
        host = self.host or ""
        if host.startswith("["):  # [::1]:port
            return host[1:].split("]", 1)[0]
        return host.rsplit(":", 1)[0] if host.count(":") == 1 else host or "–"

    @property
    def is_client(self) -> bool:
        return self.user not in SYSTEM_USERS and self.command not in SYSTEM_COMMANDS

    @property
    def running(self) -> bool:
        """It is executing a statement now (not idle between statements)."""
        return self.is_client and self.command not in IDLE_COMMANDS

    @property
    def sleeping_in_transaction(self) -> bool:
        """Idle with a transaction open: its row locks stay held until it commits or dies."""
        return self.is_client and self.command == "Sleep" and self.trx_s is not None

    @property
    def state_label(self) -> str:
        if self.sleeping_in_transaction:
            return "Sleep in transaction"
        return self.state or self.command


@dataclass(frozen=True, slots=True)
class Blocked:
    """A node of the blocking tree, in display order: each root, then the connections behind it."""

    id: int
    #: Direct blockers (InnoDB lock waits); empty for a root blocker.
    blocked_by: tuple[int, ...]
    #: 0 for a root blocker, 1 for a connection waiting on it, ...
    depth: int
    root: int
    user: str | None
    host: str | None
    db: str | None
    command: str
    state: str | None
    duration_s: float | None
    #: How long its transaction has been open: for a root, how long it has held its locks.
    trx_s: float | None
    #: How long it has waited for its lock (None for a root).
    wait_s: float | None
    locked_table: str | None
    query: str


@dataclass(frozen=True, slots=True)
class Connections:
    #: Client connections listed (every one but the console's own).
    total: int
    max: int
    percent: float
    by_state: dict[str, int]
    by_command: dict[str, int]
    by_user: dict[str, int]
    by_host: dict[str, int]
    by_db: dict[str, int]
    #: The server's own counters (SHOW GLOBAL STATUS): they include the console's connection.
    threads_connected: int
    threads_running: int
    max_used: int
    aborted_connects: int
    aborted_connects_new: int
    status: Status = Status.OK


@dataclass(frozen=True, slots=True)
class Deadlock:
    """The LATEST DETECTED DEADLOCK section of SHOW ENGINE INNODB STATUS."""

    at: str
    text: str
    #: "(1)" or "(2)": which transaction InnoDB rolled back.
    victim: str | None


@dataclass(frozen=True, slots=True)
class Replica:
    """SHOW REPLICA/SLAVE STATUS of this server (None in the data when it replicates nothing)."""

    source: str
    io_running: str
    sql_running: str
    lag_s: float | None
    last_error: str
    running: bool
    status: Status = Status.OK


@dataclass(frozen=True, slots=True)
class Health:
    version: str
    family: str
    version_num: int
    connect_ms: float | None
    uptime_s: float | None
    slow_queries: int
    #: Per minute, from the difference between this poll and the previous one (None at first).
    slow_queries_per_min: float | None
    questions_per_s: float | None
    #: Buffer pool reads served from memory, percent: over the last interval when known, else
    #: since the server started.
    buffer_pool_hit_pct: float | None
    row_lock_waits: int
    deadlocks: int | None
    latest_deadlock: Deadlock | None
    read_only: bool
    slow_query_log: bool
    long_query_time_s: float | None


@dataclass(frozen=True, slots=True)
class MySQLData:
    connections: Connections
    long_queries: tuple[Session, ...]
    blocking: tuple[Blocked, ...]
    replication: Replica | None
    health: Health
    user: str
    #: "all" (PROCESS granted: every connection is visible) or "own" (only this user's).
    privileges: str
    limitations: tuple[str, ...] = ()
    long_query_s: float = 1.0
    #: The emergency dump running now (or the last one).
    dump: DumpStatus | None = None


class MySQLError(Exception):
    """A connection or query failure, already turned into one clear, redacted line."""


# -- the check ------------------------------------------------------------------------------------


class MySQLCheck(Check[MySQLData]):
    name = "mysql"
    title = "MySQL"

    def __init__(
        self,
        settings: MySQLSettings,
        endpoint: Endpoint,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings
        self.endpoint = endpoint
        #: Socket timeouts inside the scheduler's timeout (whole seconds, at least 2).
        self.connect_timeout = max(2, min(10, int(timeout * 0.8)))
        #: The emergency dump's progress (the dump action reports into it).
        self.dump_progress = DumpProgress()
        self._lock = threading.RLock()
        self._conn: pymysql.connections.Connection[Any] | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        self._connect_ms: float | None = None
        self._family = "mysql"
        self._version_num = 0
        self._privileges = "all"
        self._previous: tuple[float, Mapping[str, int]] | None = None
        self._deadlock: Deadlock | None = None
        self._deadlock_at = 0.0
        self._deadlock_count: int | None = None
        #: Every connection of the last poll (not only the long ones), for mitigation previews.
        self.sessions: tuple[Session, ...] = ()
        self.last_data: MySQLData | None = None

    @property
    def where(self) -> str:
        return self.endpoint.where

    @property
    def family(self) -> str:
        return self._family

    @property
    def server_version(self) -> int:
        return self._version_num

    # -- connection ----------------------------------------------------------------------------

    def _connection(self) -> pymysql.connections.Connection[Any]:
        conn = self._conn
        if conn is not None and conn.open:
            return conn
        self._drop()
        now = time.monotonic()
        if now < self._retry_at:
            raise MySQLError(
                f"{self._last_error} (next try in {self._retry_at - now:.0f} s)"
                if self._last_error
                else f"{self.where}: waiting to reconnect"
            )
        e = self.endpoint
        started = time.perf_counter()
        try:
            conn = pymysql.connect(
                host=e.host,
                port=e.port,
                user=e.user,
                password=e.password or "",
                database=e.database,
                unix_socket=e.unix_socket,
                connect_timeout=self.connect_timeout,
                # A hung server must not hold the poll thread past the scheduler's timeout.
                read_timeout=self.connect_timeout,
                write_timeout=self.connect_timeout,
                autocommit=True,
                charset="utf8mb4",
                program_name=PROGRAM_NAME,
                cursorclass=pymysql_cursors.DictCursor,
            )
            self._connect_ms = (time.perf_counter() - started) * 1000
            self._setup(conn)
        except (pymysql.Error, OSError) as exc:
            self._failed(exc)
        self._conn = conn
        self._failures = 0
        self._retry_at = 0.0
        self._previous = None
        return conn

    def _setup(self, conn: pymysql.connections.Connection[Any]) -> None:
        """Learn the server's family and version; bound every statement of this session."""
        with conn.cursor() as cur:
            cur.execute("SELECT VERSION() AS v, @@version_comment AS c")
            row = cur.fetchone() or {}
            version = str(row.get("v") or "")
            self._family = family_of(version, str(row.get("c") or ""))
            self._version_num = version_number(version)
            limit_ms = int(self.settings.statement_timeout_ms)
            if self._family == "mariadb":
                cur.execute("SET SESSION max_statement_time = %s", (limit_ms / 1000,))
            elif self._version_num >= 50708:
                cur.execute("SET SESSION max_execution_time = %s", (limit_ms,))
            cur.execute("SHOW GRANTS")
            grants = " ".join(str(next(iter(r.values()))) for r in cur.fetchall())
        everything = re.search(r"GRANT (ALL PRIVILEGES|.*\bPROCESS\b).* ON \*\.\*", grants)
        self._privileges = "all" if everything else "own"

    def _failed(self, exc: BaseException) -> NoReturn:
        self._drop()
        self._failures += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay
        self._last_error = explain(exc, self.where, self)
        raise MySQLError(self._last_error) from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _rows(
        self,
        conn: pymysql.connections.Connection[Any],
        sql: str,
        params: Sequence[Any] | None = None,
    ) -> list[dict[str, Any]]:
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        except pymysql.OperationalError as exc:
            code = exc.args[0] if exc.args else 0
            if code in _CONNECTION_LOST or not conn.open:
                self._failed(exc)
            raise MySQLError(explain(exc, self.where, self)) from None
        except (pymysql.InterfaceError, OSError) as exc:
            self._failed(exc)
        except pymysql.Error as exc:
            raise MySQLError(explain(exc, self.where, self)) from None

    def _sql(self, name: str) -> str:
        return get(name, self._family, self._version_num)

    # -- one poll ------------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str, MySQLData]:
        with self._lock:
            conn = self._connection()
            data = self._collect(conn)
        self.last_data = data
        return self._grade(data)

    def _collect(self, conn: pymysql.connections.Connection[Any]) -> MySQLData:
        server = self._rows(conn, self._sql("server"))[0]
        status = {
            str(r["Variable_name"]): _int(r["Value"]) for r in self._rows(conn, self._sql("status"))
        }
        # InnoDB's transaction table needs PROCESS too: without it, connections only.
        activity = "activity" if self._privileges == "all" else "own_activity"
        sessions = tuple(_session(r) for r in self._rows(conn, self._sql(activity)))
        self.sessions = sessions
        limitations: list[str] = []
        if self._privileges != "all":
            limitations.append(
                "only this user's connections are visible: GRANT PROCESS ON *.* to see all"
            )
        try:
            waits = self._rows(conn, self._sql("lock_waits"))
        except MySQLError as exc:
            if self._conn is None:
                raise
            waits = []
            limitations.append(f"lock waits unavailable: {exc}")
        replica = self._replication(conn, limitations)
        now = time.monotonic()
        previous = self._previous
        self._previous = (now, status)
        health = self._health(conn, server, status, previous, now, limitations)
        long_s = self.settings.long_query_s
        long_queries = tuple(
            sorted(
                (s for s in sessions if s.running and (s.duration_s or 0.0) >= long_s),
                key=lambda s: s.duration_s or 0.0,
                reverse=True,
            )
        )
        return MySQLData(
            connections=self._connections(server, status, sessions, previous),
            long_queries=long_queries,
            blocking=blocking_tree(sessions, waits),
            replication=replica,
            health=health,
            user=str(server["current_user_name"]),
            privileges=self._privileges,
            limitations=tuple(limitations),
            long_query_s=long_s,
            dump=self.dump_progress.status,
        )

    def _connections(
        self,
        server: Mapping[str, Any],
        status: Mapping[str, int],
        sessions: Sequence[Session],
        previous: tuple[float, Mapping[str, int]] | None,
    ) -> Connections:
        client = [s for s in sessions if s.is_client]
        max_connections = max(1, int(server["max_connections"]))
        # The server's own count: every connection, the console's included. (The list may be
        # only this user's when PROCESS is not granted.)
        connected = status.get("Threads_connected", len(client) + 1)
        percent = 100.0 * connected / max_connections
        aborted = status.get("Aborted_connects", 0)
        aborted_new = 0
        if previous is not None:
            aborted_new = max(0, aborted - previous[1].get("Aborted_connects", aborted))
        return Connections(
            total=len(client),
            max=max_connections,
            percent=percent,
            by_state=_count(s.state_label for s in client),
            by_command=_count(s.command for s in client),
            by_user=_count(s.user or "–" for s in client),
            by_host=_count(s.client for s in client),
            by_db=_count(s.db or "–" for s in client),
            threads_connected=connected,
            threads_running=status.get("Threads_running", 0),
            max_used=status.get("Max_used_connections", 0),
            aborted_connects=aborted,
            aborted_connects_new=aborted_new,
            status=grade(
                percent, self.settings.connections_warn_pct, self.settings.connections_crit_pct
            ),
        )

    def _replication(
        self, conn: pymysql.connections.Connection[Any], limitations: list[str]
    ) -> Replica | None:
        try:
            rows = self._rows(conn, self._sql("replica_status"))
        except MySQLError as exc:
            if self._conn is None:
                raise
            limitations.append(f"replication status unavailable: {exc}")
            return None
        if not rows:
            return None
        return replica_of(rows[0], self.settings)

    def _health(
        self,
        conn: pymysql.connections.Connection[Any],
        server: Mapping[str, Any],
        status: Mapping[str, int],
        previous: tuple[float, Mapping[str, int]] | None,
        now: float,
        limitations: list[str],
    ) -> Health:
        slow = status.get("Slow_queries", 0)
        requests = status.get("Innodb_buffer_pool_read_requests", 0)
        reads = status.get("Innodb_buffer_pool_reads", 0)
        hit = 100.0 * (1 - reads / requests) if requests else None
        slow_per_min = questions_per_s = None
        if previous is not None:
            at, before = previous
            elapsed = now - at
            d_requests = requests - before.get("Innodb_buffer_pool_read_requests", requests)
            d_reads = reads - before.get("Innodb_buffer_pool_reads", reads)
            if elapsed > 0 and slow >= before.get("Slow_queries", slow):
                slow_per_min = 60.0 * (slow - before.get("Slow_queries", slow)) / elapsed
                q = status.get("Questions", 0) - before.get("Questions", 0)
                questions_per_s = max(0, q) / elapsed
            if d_requests > 0 and d_reads >= 0:
                hit = 100.0 * (1 - d_reads / d_requests)
        deadlocks = status.get("Innodb_deadlocks") if "Innodb_deadlocks" in status else None
        self._read_deadlock(conn, deadlocks, now, limitations)
        long_query_time = server.get("long_query_time")
        return Health(
            version=str(server["version"]),
            family=self._family,
            version_num=self._version_num,
            connect_ms=self._connect_ms,
            uptime_s=float(status["Uptime"]) if "Uptime" in status else None,
            slow_queries=slow,
            slow_queries_per_min=slow_per_min,
            questions_per_s=questions_per_s,
            buffer_pool_hit_pct=hit,
            row_lock_waits=status.get("Innodb_row_lock_waits", 0),
            deadlocks=deadlocks,
            latest_deadlock=self._deadlock,
            read_only=bool(_int(server.get("read_only"))),
            slow_query_log=bool(_int(server.get("slow_query_log"))),
            long_query_time_s=float(long_query_time) if long_query_time is not None else None,
        )

    def _read_deadlock(
        self,
        conn: pymysql.connections.Connection[Any],
        count: int | None,
        now: float,
        limitations: list[str],
    ) -> None:
        if count is not None:
            due = count != self._deadlock_count
        else:
            due = now - self._deadlock_at >= DEADLOCK_EVERY_S
        if not due:
            return
        try:
            rows = self._rows(conn, "SHOW ENGINE INNODB STATUS")
        except MySQLError as exc:
            if self._conn is None:
                raise
            limitations.append(f"latest deadlock unavailable: {exc}")
            return
        self._deadlock_count = count
        self._deadlock_at = now
        self._deadlock = latest_deadlock(str(rows[0].get("Status") or "")) if rows else None

    def _grade(self, data: MySQLData) -> tuple[Status, str, MySQLData]:
        c = data.connections
        waiting = [b for b in data.blocking if b.depth > 0]
        statuses = [c.status, Status.WARN if data.long_queries or waiting else Status.OK]
        h = data.health
        if (h.slow_queries_per_min or 0.0) >= self.settings.slow_queries_warn_per_min:
            statuses.append(Status.WARN)
        if data.replication is not None:
            statuses.append(data.replication.status)
        parts = [f"{c.threads_connected}/{c.max} connections ({c.percent:.0f}%)"]
        parts.append(f"{c.threads_running} running")
        parts.append(f"{len(data.long_queries)} long")
        if waiting:
            roots = sum(1 for b in data.blocking if b.depth == 0)
            parts.append(f"{len(waiting)} blocked by {roots} root")
        if data.replication is not None:
            r = data.replication
            lag = f", {r.lag_s:.0f} s behind" if r.lag_s is not None else ""
            parts.append(("replica running" if r.running else "replica STOPPED") + lag)
        return worst(statuses), " · ".join(parts), data

    # -- mitigations (called from the action runner's worker thread) -----------------------------

    def still_matching(self, ids: Sequence[int], condition: str, params: Sequence[Any]) -> set[int]:
        """Which of `ids` still match `condition` (a fixed fragment over the processlist ``p``
        and its transaction ``t``, chosen by the mitigation; numbers go in as parameters)."""
        if not ids:
            return set()
        marks = ", ".join(["%s"] * len(ids))
        sql = (
            "SELECT /* zconsole */ p.ID AS id FROM information_schema.PROCESSLIST AS p"
            " LEFT JOIN information_schema.INNODB_TRX AS t ON t.trx_mysql_thread_id = p.ID"
            f" WHERE p.ID IN ({marks}) AND p.ID <> CONNECTION_ID() AND ({condition})"
        )
        with self._lock:
            conn = self._connection()
            rows = self._rows(conn, sql, [*ids, *params])
        return {int(r["id"]) for r in rows}

    def still_blocking(self, ids: Sequence[int]) -> set[int]:
        """Which of `ids` still hold a lock another transaction waits for."""
        with self._lock:
            conn = self._connection()
            rows = self._rows(conn, self._sql("lock_waits"))
        holders = {int(r["blocking_id"]) for r in rows if r["blocking_id"] is not None}
        return holders & set(ids)

    def kill(self, ids: Sequence[int], *, query_only: bool) -> list[int]:
        """KILL [QUERY] each id; returns the ids the server accepted it for."""
        done: list[int] = []
        verb = "KILL QUERY" if query_only else "KILL"
        with self._lock:
            conn = self._connection()
            for thread_id in ids:
                try:
                    self._rows(conn, f"{verb} %s", [int(thread_id)])
                except MySQLError:
                    if self._conn is None:
                        raise
                    continue  # gone already, or not ours to kill
                done.append(int(thread_id))
        return done

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """The processlist in full (every connection but ours) and the InnoDB status report."""
        with self._lock:
            conn = self._connection()
            rows = self._rows(conn, self._sql("activity"))
            innodb = self._rows(conn, "SHOW ENGINE INNODB STATUS")
        names = list(rows[0]) if rows else ["id"]
        lines = ["\t".join(names)]
        lines += ["\t".join("" if r[n] is None else redact(str(r[n])) for n in names) for r in rows]
        out = {"processlist.tsv": "\n".join(lines)}
        if innodb:
            out["innodb_status.txt"] = redact(str(innodb[0].get("Status") or ""))
        return out


# -- pure helpers ---------------------------------------------------------------------------------

#: pymysql / server error codes that mean the connection itself is gone.
_CONNECTION_LOST = frozenset({2006, 2013, 2055, 1053, 1927, 4031})


def _int(value: object) -> int:
    try:
        return int(str(value)) if value is not None else 0
    except ValueError:
        return 1 if str(value).upper() == "ON" else 0


def _float(value: object) -> float | None:
    return float(str(value)) if value is not None else None


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(Counter(values).most_common())


def _text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _session(r: Mapping[str, Any]) -> Session:
    rows_locked = r.get("trx_rows_locked")
    return Session(
        id=int(r["id"]),
        user=_text(r["user"]),
        host=_text(r["host"]),
        db=_text(r["db"]),
        command=_text(r["command"]) or "",
        duration_s=_float(r["duration_s"]),
        state=_text(r["state"]) or None,
        query=redact(_text(r["info"]) or ""),
        trx_s=_float(r.get("trx_s")),
        trx_state=_text(r.get("trx_state")),
        trx_rows_locked=int(rows_locked) if rows_locked is not None else None,
    )


def replica_of(r: Mapping[str, Any], config: MySQLSettings) -> Replica:
    """One row of SHOW REPLICA STATUS (Replica_*/Source_* names) or SHOW SLAVE STATUS."""

    def field(*names: str) -> Any:
        return next((r[n] for n in names if n in r and r[n] is not None), None)

    io = str(field("Replica_IO_Running", "Slave_IO_Running") or "No")
    sql = str(field("Replica_SQL_Running", "Slave_SQL_Running") or "No")
    lag = field("Seconds_Behind_Source", "Seconds_Behind_Master")
    host = field("Source_Host", "Master_Host") or "?"
    port = field("Source_Port", "Master_Port")
    errors = [str(field(f"Last_{kind}_Error") or "") for kind in ("IO", "SQL")]
    last_error = "; ".join(e for e in errors if e) or str(field("Last_Error") or "")
    running = io == "Yes" and sql == "Yes"
    lag_s = float(lag) if lag is not None else None
    status = Status.CRIT if not running else Status.OK
    if running and lag_s is not None:
        status = grade(lag_s, config.replica_lag_warn_s, config.replica_lag_crit_s)
    return Replica(
        source=f"{host}:{port}" if port else str(host),
        io_running=io,
        sql_running=sql,
        lag_s=lag_s,
        last_error=redact(last_error),
        running=running,
        status=status,
    )


_DEADLOCK_SECTION = re.compile(
    r"LATEST DETECTED DEADLOCK\n-+\n(?P<body>.*?)\n-{4,}\n[A-Z ]+\n-{4,}", re.DOTALL
)


def latest_deadlock(innodb_status: str) -> Deadlock | None:
    """The latest deadlock from SHOW ENGINE INNODB STATUS text, or None if none since start."""
    match = _DEADLOCK_SECTION.search(innodb_status)
    if match is None:
        return None
    body = match.group("body").strip()
    first, _, _ = body.partition("\n")
    victim = re.search(r"WE ROLL BACK TRANSACTION (\(\d+\))", body)
    text = body if len(body) <= DEADLOCK_TEXT_LEN else body[: DEADLOCK_TEXT_LEN - 1] + "…"
    return Deadlock(
        at=first.strip()[:19], text=redact(text), victim=victim.group(1) if victim else None
    )


def blocking_tree(
    sessions: Sequence[Session], waits: Iterable[Mapping[str, Any]]
) -> tuple[Blocked, ...]:
    """The InnoDB lock waits (waiting_id -> blocking_id rows) as a tree, root blockers first
    (the longest open transaction first); see :func:`zconsole.checks.blocking.order`."""
    by_id = {s.id: s for s in sessions}
    blockers_of: dict[int, list[int]] = {}
    wait_info: dict[int, Mapping[str, Any]] = {}
    for row in waits:
        if row["waiting_id"] is None or row["blocking_id"] is None:
            continue
        waiter, blocker = int(row["waiting_id"]), int(row["blocking_id"])
        listed = blockers_of.setdefault(waiter, [])
        if blocker != waiter and blocker not in listed:
            listed.append(blocker)
        wait_info.setdefault(waiter, row)

    def held(thread_id: int) -> float:
        s = by_id.get(thread_id)
        return (s.trx_s or s.duration_s or 0.0) if s else 0.0

    out = []
    for node in blocking.order(blockers_of, held):
        s = by_id.get(node.id)
        w = wait_info.get(node.id) if node.depth else None
        out.append(
            Blocked(
                id=node.id,
                blocked_by=node.blocked_by,
                depth=node.depth,
                root=node.root,
                user=s.user if s else None,
                host=s.host if s else None,
                db=s.db if s else None,
                command=s.command if s else "",
                state=s.state if s else None,
                duration_s=s.duration_s if s else None,
                trx_s=s.trx_s if s else None,
                wait_s=_float(w["wait_s"]) if w else None,
                locked_table=_text(w["locked_table"]) if w else None,
                query=s.query if s else "",
            )
        )
    return tuple(out)


def explain(exc: BaseException, where: str, check: MySQLCheck | None = None) -> str:
    """One clear, redacted line for a driver error (no password)."""
    code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    low = message.lower()
    timeout = f"{check.connect_timeout} s" if check is not None else "the connect timeout"
    if "connection refused" in low or (code == 2003 and "refused" in low):
        line = f"{where}: connection refused — is MySQL/MariaDB running and listening there?"
    elif "timed out" in low or ("timeout" in low and code in (2003, 2013)):
        line = f"{where}: no answer within {timeout} — server hung or firewalled?"
    elif code == 1045:
        user = re.search(r"for user '([^']*)'", message)
        line = f"{where}: access denied for user {user.group(1) if user else '?'}"
    elif code in (1969, 3024):
        ms = check.settings.statement_timeout_ms if check is not None else "?"
        line = f"{where}: a console query took longer than its {ms} ms limit"
    elif code in _CONNECTION_LOST or isinstance(exc, pymysql.InterfaceError):
        line = f"{where}: the server closed the connection (stopped or restarted?) — {message}"
    elif code == 2003:
        line = f"{where}: cannot connect — {message}"
    else:
        line = f"{where}: {message or type(exc).__name__}"
    return redact(" ".join(line.split()))


__all__ = [
    "Blocked",
    "Connections",
    "Deadlock",
    "DumpStatus",
    "Health",
    "MySQLCheck",
    "MySQLData",
    "MySQLError",
    "Replica",
    "Session",
    "blocking_tree",
    "explain",
    "family_of",
    "get",
    "latest_deadlock",
    "sql_file",
    "version_number",
]
