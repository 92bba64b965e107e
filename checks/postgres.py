"""PostgreSQL check: connections, long and blocked queries, slow statements, health, replication.

Discipline (pg_activity's, made strict): the console holds at most one connection of its own,
named ``zconsole``, in autocommit, with ``statement_timeout`` set for the whole session and
``connect_timeout`` on every connect; it hides itself from every list (``pid <>
pg_backend_pid()``, and a ``/* zconsole */`` marker keeps its own statements out of
pg_stat_statements). The one deliberate exception is the emergency pg_dump: a second, temporary
connection while it runs, also named ``zconsole`` and so hidden the same way. Query text is
outside text that may hold secrets (``ALTER ROLE … PASSWORD '…'``, a DSN in a comment): it is
redacted before it reaches any record. A lost connection is re-made with exponential backoff.
The SQL lives in ``sql/*.sql``, one file per server-version range, loaded by :func:`get`.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, LiteralString, NoReturn

from zconsole.checks import blocking
from zconsole.checks.base import Check, Status, grade, worst
from zconsole.checks.lazy import lazy
from zconsole.checks.pg_processes import (
    Backend,
    ProcessCounts,
    count_backends,
    is_out_of_connections,
)
from zconsole.checks.postgres_settings import PostgresSettings
from zconsole.checks.progress import DumpProgress, DumpStatus
from zconsole.checks.secrets import redact
from zconsole.checks.sql_files import get, sql_file

# The client is imported at the first poll, in the check's thread (see checks/lazy.py).
if TYPE_CHECKING:
    import psycopg
    from psycopg import rows as pg_rows
else:
    psycopg = lazy("psycopg")
    pg_rows = lazy("psycopg.rows")

#: What the console calls itself in pg_stat_activity (and filters out of every list): this
#: connection, and the emergency pg_dump's while it runs.
APPLICATION_NAME = "zconsole"
#: What PostgreSQL shows instead of another role's query without pg_read_all_stats.
HIDDEN_QUERY = "<insufficient privilege>"
#: Transaction IDs wrap around at 2^31; autovacuum must freeze well before.
XID_WRAP = 2**31
XID_WARN_PCT = 50.0
XID_CRIT_PCT = 75.0
#: Database sizes are costly on big clusters: refreshed at most this often (pg_activity skips too).
DB_SIZES_EVERY_S = 30.0
#: Reconnect backoff, seconds: doubles from the first to the last.
BACKOFF_FIRST_S = 1.0
BACKOFF_MAX_S = 30.0

ENABLE_PGSS = (
    "add pg_stat_statements to shared_preload_libraries in postgresql.conf, restart "
    "PostgreSQL, then run CREATE EXTENSION pg_stat_statements; in this database"
)


# -- SQL files ----------------------------------------------------------------------------------


def _q(text: str) -> LiteralString:
    # Our own .sql files (plus fixed fragments chosen by code), never user text: see S608 note.
    # (mypy treats LiteralString as str; psycopg's stubs ask for it to flag f-string SQL.)
    return text


# -- records --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Session:
    """One backend from pg_stat_activity (a row of the activity table)."""

    pid: int
    usename: str | None
    datname: str | None
    application_name: str
    client_addr: str | None
    state: str | None
    wait_event: str | None
    #: Seconds since the current (or last) query started, like pg_activity's default.
    duration_s: float | None
    query: str
    wait_event_type: str | None = None
    #: Seconds in the current state (how long an idle-in-transaction session has been idle).
    state_s: float | None = None
    #: Seconds since the transaction started.
    xact_s: float | None = None
    #: None when the server hides it (another role's session, without pg_read_all_stats).
    backend_type: str | None = "client backend"
    #: With the pid, identifies the backend: a pid can be reused by a later connection.
    backend_start: datetime | None = None

    @property
    def hidden(self) -> bool:
        return self.query == HIDDEN_QUERY

    @property
    def is_client(self) -> bool:
        """A client connection (what counts against max_connections)."""
        if self.backend_type is not None:
            return self.backend_type == "client backend"
        # A hidden row: background processes have no database or no role; clients have both.
        return self.datname is not None and self.usename is not None


@dataclass(frozen=True, slots=True)
class Blocked:
    """A node of the blocking tree, in display order: each root, then the sessions behind it."""

    pid: int
    #: Direct blockers (pg_blocking_pids); empty for a root blocker.
    blocked_by: tuple[int, ...]
    #: 0 for a root blocker, 1 for a session waiting on it, ...
    depth: int
    #: The root this node is shown under.
    root: int
    usename: str | None
    datname: str | None
    application_name: str
    state: str | None
    #: Seconds in that state: for an idle-in-transaction root, how long it has held its locks.
    state_s: float | None
    duration_s: float | None
    wait_event: str | None
    query: str
    backend_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Connections:
    total: int
    #: max_connections less superuser_reserved_connections (and reserved_connections, 16+).
    max: int
    percent: float
    by_state: dict[str, int]
    by_database: dict[str, int]
    by_application: dict[str, int]
    by_user: dict[str, int]
    by_client: dict[str, int]
    max_connections: int
    reserved: int
    status: Status = Status.OK


@dataclass(frozen=True, slots=True)
class Statement:
    queryid: int | None
    datname: str | None
    usename: str | None
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int


@dataclass(frozen=True, slots=True)
class Database:
    name: str
    size_bytes: int | None


@dataclass(frozen=True, slots=True)
class Health:
    version: str
    version_num: int
    connect_ms: float | None
    uptime_s: float | None
    databases: tuple[Database, ...]
    #: Buffer cache hit ratio since the statistics were last reset, percent.
    cache_hit_pct: float | None
    #: Per second, from the difference between this poll and the previous one (None at first).
    commits_per_s: float | None
    rollbacks_per_s: float | None
    deadlocks: int
    deadlocks_new: int
    temp_files: int
    temp_bytes: int
    #: age(datfrozenxid) of the oldest database, and that as a percent of the 2^31 wraparound.
    xid_age: int
    xid_age_pct: float
    autovacuums: tuple[Session, ...]


@dataclass(frozen=True, slots=True)
class Replica:
    """A standby seen from the primary (pg_stat_replication), or one that is gone."""

    name: str
    client_addr: str | None
    state: str
    sync_state: str | None
    lag_bytes: float | None
    lag_s: float | None
    pid: int | None = None
    #: True when this standby was seen before and is no longer connected.
    gone: bool = False


@dataclass(frozen=True, slots=True)
class StandbyStatus:
    """This server is a standby: how far behind replay is."""

    replay_delay_s: float | None
    lag_bytes: float | None
    receiver_status: str | None
    sender_host: str | None


@dataclass(frozen=True, slots=True)
class PostgresData:
    connections: Connections
    long_queries: tuple[Session, ...]
    blocking: tuple[Blocked, ...]
    #: Top statements by mean time; None when pg_stat_statements cannot be read.
    statements: tuple[Statement, ...] | None
    statements_by_total: tuple[Statement, ...] | None
    #: Why `statements` is None, and how to enable it.
    statements_unavailable: str | None
    replication: tuple[Replica, ...]
    standby: StandbyStatus | None
    health: Health
    role: str
    user: str
    #: "superuser", "pg_monitor" or "limited".
    privileges: str
    #: What this role cannot see or do, one sentence each.
    limitations: tuple[str, ...] = ()
    #: Sessions whose query text the server hid from this role.
    hidden_sessions: int = 0
    long_query_s: float = 1.0
    #: The emergency dump running now (or the last one), set by the dump action.
    dump: DumpStatus | None = None
    #: Why the server refuses this role (out of connections); the counts then come from
    #: process titles and ``title_backends`` lists those backends.
    refused: str | None = None
    title_backends: tuple[Backend, ...] = ()


class PostgresError(Exception):
    """A connection or query failure, already turned into one clear, redacted line."""


# -- the check ------------------------------------------------------------------------------------


class PostgresCheck(Check[PostgresData]):
    name = "postgres"

    def __init__(
        self,
        settings: PostgresSettings,
        dsn: str,
        *,
        interval: float = 2.0,
        timeout: float = 5.0,
        container: str = "",
        docker_url: str = "",
    ) -> None:
        super().__init__(interval=interval, timeout=timeout)
        self.settings = settings
        #: The connection string as config resolved it (see checks/postgres_settings.py).
        self.dsn = dsn
        #: The container this server runs in and its engine, when known (discovery, or
        #: ``[postgres] container``): the dump and the restart then go through the Engine API.
        self.container = container
        self.docker_url = docker_url
        #: libpq's connect_timeout (whole seconds, at least 2), inside the scheduler's timeout.
        self.connect_timeout = max(2, min(10, int(timeout * 0.8)))
        self._lock = threading.RLock()
        self._conn: psycopg.Connection[Any] | None = None
        self._failures = 0
        self._retry_at = 0.0
        self._last_error = ""
        #: The last connect was refused for want of a slot (too many clients, reserved slots).
        self._refused_for_slots = False
        #: The backends counted from process titles while the server refuses us, for the
        #: signal-terminate mitigation's preview.
        self.title_counts: ProcessCounts | None = None
        self._connect_ms: float | None = None
        self._version_num = 0
        self._previous: tuple[float, int, int, int] | None = None
        self._db_sizes: tuple[Database, ...] = ()
        self._db_sizes_at = 0.0
        self._replicas_seen: dict[str, Replica] = {}
        #: Every session of the last poll (not only the long ones), for mitigation previews.
        self.sessions: tuple[Session, ...] = ()
        self.last_data: PostgresData | None = None
        #: The emergency dump's progress (the dump action reports into it).
        self.dump_progress = DumpProgress()

    @property
    def server_version(self) -> int:
        """server_version_num of the last connection (0 before the first)."""
        return self._version_num

    # -- connection ----------------------------------------------------------------------------

    @property
    def where(self) -> str:
        """host:port (or the socket / PG* environment) for messages; never the password."""
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.dsn)
        except psycopg.ProgrammingError:
            return "PostgreSQL"
        host = str(params.get("host") or "") or "local socket"
        port = params.get("port")
        return f"{host}:{port}" if port else host

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """pg_stat_activity in full (every session but ours), as the runbooks' SQL shows it."""
        rows = self._connection().execute(
            "SELECT pid, usename, datname, application_name, client_addr, state,"
            " wait_event_type, wait_event, backend_start, xact_start, query_start,"
            " state_change, pg_blocking_pids(pid) AS blocked_by, query"
            " FROM pg_stat_activity WHERE pid <> pg_backend_pid()"
            " AND application_name IS DISTINCT FROM %s ORDER BY query_start"
            " /* zconsole */",
            (APPLICATION_NAME,),
        )
        names = [c.name for c in rows.description or ()]
        lines = ["\t".join(names)]
        lines += [
            "\t".join("" if v is None else redact(str(v)) for v in row) for row in rows.fetchall()
        ]
        return {"pg_stat_activity.tsv": "\n".join(lines)}

    def _connection(self) -> psycopg.Connection[Any]:
        conn = self._conn
        if conn is not None and not conn.closed and not conn.broken:
            return conn
        self._drop()
        now = time.monotonic()
        if now < self._retry_at:
            raise PostgresError(
                f"{self._last_error} (next try in {self._retry_at - now:.0f} s)"
                if self._last_error
                else f"{self.where}: waiting to reconnect"
            )
        started = time.perf_counter()
        try:
            conn = psycopg.connect(
                self.dsn,
                connect_timeout=self.connect_timeout,
                application_name=APPLICATION_NAME,
                autocommit=True,
                options=f"-c statement_timeout={int(self.settings.statement_timeout_ms)}",
            )
        except psycopg.Error as exc:
            self._failed(exc)
        self._connect_ms = (time.perf_counter() - started) * 1000
        self._conn = conn
        self._failures = 0
        self._retry_at = 0.0
        self._previous = None
        self._refused_for_slots = False
        self.title_counts = None
        return conn

    def _failed(self, exc: BaseException) -> NoReturn:
        """Record a connection failure (arm the backoff) and raise it as one clear line."""
        self._drop()
        self._failures += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (self._failures - 1))
        self._retry_at = time.monotonic() + delay
        self._last_error = explain(exc, self.where, self)
        self._refused_for_slots = is_out_of_connections(str(exc))
        if self._refused_for_slots:
            # The server answered at once: no backoff, so the pane sees a slot come free on the
            # next poll (the counts meanwhile come from process titles, not from SQL).
            self._retry_at = 0.0
        raise PostgresError(self._last_error) from None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            # A broken connection may fail to close; it is dropped either way.
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _rows(
        self, conn: psycopg.Connection[Any], sql: str, params: Mapping[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            with conn.cursor(row_factory=pg_rows.dict_row) as cur:
                cur.execute(_q(sql), params)
                return cur.fetchall()
        except psycopg.OperationalError as exc:
            if conn.closed or conn.broken:
                self._failed(exc)
            raise PostgresError(explain(exc, self.where, self)) from None
        except psycopg.Error as exc:
            raise PostgresError(explain(exc, self.where, self)) from None

    # -- polling -------------------------------------------------------------------------------

    def probe(self) -> tuple[Status, str, PostgresData]:
        with self._lock:
            try:
                conn = self._connection()
            except PostgresError:
                if self._refused_for_slots:
                    return self._out_of_connections()
                raise
            data = self._collect(conn)
        self.last_data = data
        return self._grade(data)

    def _collect(self, conn: psycopg.Connection[Any]) -> PostgresData:
        # libpq reports the server version at connect: no query needed to pick the SQL files.
        version_num = self._version_num = conn.info.server_version
        server = self._rows(conn, get("server", version_num))[0]
        rows = self._rows(conn, get("activity", version_num))
        scanned = tuple(_session(r) for r in rows)
        # Our own pg_dump is hidden like this connection; the blocking tree still looks it up, so
        # a dump that blocks someone's DDL is shown by name instead of as an unknown pid.
        sessions = tuple(s for s in scanned if s.application_name != APPLICATION_NAME)
        self.sessions = sessions
        superuser = bool(server["is_superuser"])
        monitor = superuser or bool(server["is_monitor"])
        limitations: list[str] = []
        hidden = sum(1 for s in sessions if s.hidden and s.is_client)
        if hidden:
            limitations.append(
                f"{hidden} sessions of other roles are hidden (query text shows "
                f"{HIDDEN_QUERY}): GRANT pg_monitor TO {server['current_user']}"
            )
        if not superuser:
            limitations.append(
                "not a superuser: cancel/terminate work only on this role's sessions "
                "(or with pg_signal_backend), never on a superuser's"
            )

        connections = self._connections(server, sessions)
        client = [s for s in sessions if s.is_client]
        long_queries = tuple(
            sorted(
                (
                    s
                    for s in client
                    if s.state not in (None, "idle")
                    and s.duration_s is not None
                    and s.duration_s >= self.settings.long_query_s
                ),
                key=lambda s: s.duration_s or 0.0,
                reverse=True,
            )
        )
        blocking = blocking_tree(
            scanned,
            {
                r["pid"]: r["blocked_by"]
                for r in rows
                if r["blocked_by"] and r["application_name"] != APPLICATION_NAME
            },
        )
        statements, by_total, why_not = self._statements(conn, server, version_num, monitor)
        if why_not and statements is None:
            limitations.append(why_not)
        in_recovery = bool(server["in_recovery"])
        standby: StandbyStatus | None = None
        if in_recovery:
            row = self._rows(conn, get("standby", version_num))[0]
            standby = StandbyStatus(
                replay_delay_s=row["replay_delay_s"],
                lag_bytes=row["lag_bytes"],
                receiver_status=row["receiver_status"],
                sender_host=row["sender_host"],
            )
            replication: tuple[Replica, ...] = ()
        else:
            replication = self._replication(conn, version_num)
        health = self._health(conn, server, version_num, sessions)
        return PostgresData(
            connections=connections,
            long_queries=long_queries,
            blocking=blocking,
            statements=statements,
            statements_by_total=by_total,
            statements_unavailable=why_not,
            replication=replication,
            standby=standby,
            health=health,
            role="standby" if in_recovery else "primary",
            user=str(server["current_user"]),
            privileges="superuser" if superuser else "pg_monitor" if monitor else "limited",
            limitations=tuple(limitations),
            hidden_sessions=hidden,
            long_query_s=self.settings.long_query_s,
            dump=self.dump_progress.status,
        )

    # -- refused: out of connections ---------------------------------------------------------

    def _local_port(self) -> int | None:
        """The server's port when it runs on this host (loopback or a unix socket), else None."""
        try:
            params = psycopg.conninfo.conninfo_to_dict(self.dsn)
        except psycopg.ProgrammingError:
            return None
        # Config resolved PG* into the DSN already; no host means libpq's default socket.
        host = str(params.get("host") or "")
        if host and not (host.startswith(("/", "127.")) or host in ("localhost", "::1")):
            return None
        try:
            return int(str(params.get("port") or 5432))
        except ValueError:
            return None

    def _container_pid(self) -> int | None:
        """The host pid of the server's container's main process (Engine API), if known."""
        if not (self.container and self.docker_url):
            return None
        from zconsole.checks.docker_client import EngineError, engine_client

        try:
            client = engine_client(self.docker_url, timeout=3, pool=1)
        except EngineError:
            return None
        try:
            state = client.inspect_container(self.container).get("State") or {}
            return int(state.get("Pid") or 0) or None
        except (EngineError, OSError, ValueError):
            return None
        finally:
            client.close()

    def _out_of_connections(self) -> tuple[Status, str, PostgresData]:
        """The server refuses us for want of a slot: count its backends from their process
        titles on this host, so the pane still says who holds the connections."""
        port = self._local_port()
        counts = count_backends(port, self._container_pid()) if port is not None else None
        if counts is None:
            raise PostgresError(
                f"{self._last_error} — out of connections, and no server process for that "
                "port on this host to count backends from"
            )
        self.title_counts = counts
        last = self.last_data
        max_connections = last.connections.max_connections if last else 0
        reserved = last.connections.reserved if last else 0
        usable = max(max_connections - reserved, counts.total, 1)
        by_state = counts.by("state")
        connections = Connections(
            total=counts.total,
            max=usable,
            percent=100.0 * counts.total / usable,
            by_state=by_state,
            by_database=counts.by("database"),
            # Process titles do not carry application_name.
            by_application={},
            by_user=counts.by("user"),
            by_client=counts.by("client"),
            max_connections=max_connections,
            reserved=reserved,
            status=Status.CRIT,
        )
        health = last.health if last else _unknown_health(self._version_num)
        note = (
            f"the server refuses this role ({self._last_error}); counts from the process "
            "titles of its backends on this host, without application names or durations"
        )
        data = PostgresData(
            connections=connections,
            long_queries=(),
            blocking=(),
            statements=None,
            statements_by_total=None,
            statements_unavailable="the server refuses connections",
            replication=(),
            standby=None,
            health=health,
            role=last.role if last else "unknown",
            user=last.user if last else "",
            privileges=last.privileges if last else "limited",
            limitations=(note,),
            long_query_s=self.settings.long_query_s,
            dump=self.dump_progress.status,
            refused=self._last_error,
            title_backends=counts.backends,
        )
        states = ", ".join(f"{n} {state}" for state, n in by_state.items())
        summary = f"CRIT: out of connections — {counts.total} backends ({states or 'none'})"
        return Status.CRIT, redact(summary), data

    def _connections(self, server: Mapping[str, Any], sessions: Sequence[Session]) -> Connections:
        client = [s for s in sessions if s.is_client]
        max_connections = int(server["max_connections"])
        reserved = int(server["superuser_reserved"]) + int(server["reserved"] or 0)
        usable = max(1, max_connections - reserved)
        total = len(client)
        percent = 100.0 * total / usable
        return Connections(
            total=total,
            max=usable,
            percent=percent,
            by_state=_count(s.state or "unknown" for s in client),
            by_database=_count(s.datname or "–" for s in client),
            by_application=_count(s.application_name or "–" for s in client),
            by_user=_count(s.usename or "–" for s in client),
            by_client=_count(s.client_addr or "local" for s in client),
            max_connections=max_connections,
            reserved=reserved,
            status=grade(
                percent, self.settings.connections_warn_pct, self.settings.connections_crit_pct
            ),
        )

    def _statements(
        self,
        conn: psycopg.Connection[Any],
        server: Mapping[str, Any],
        version_num: int,
        monitor: bool,
    ) -> tuple[tuple[Statement, ...] | None, tuple[Statement, ...] | None, str | None]:
        preload = server["preload"]
        if not server["has_pgss"]:
            if preload is not None and "pg_stat_statements" not in preload:
                return None, None, f"pg_stat_statements is not loaded: {ENABLE_PGSS}"
            if preload is None:
                return (
                    None,
                    None,
                    (
                        f"pg_stat_statements is not installed in {server['current_db']} "
                        f"(preload list not readable by this role): {ENABLE_PGSS}"
                    ),
                )
            return (
                None,
                None,
                (
                    f"pg_stat_statements is loaded but not installed in {server['current_db']}: "
                    "run CREATE EXTENSION pg_stat_statements;"
                ),
            )
        template = get("statements", version_num)
        results: list[tuple[Statement, ...]] = []
        for order in ("mean_ms", "total_ms"):
            try:
                rows = self._rows(
                    conn, template.replace("{order}", order), {"top": self.settings.statements_top}
                )
            except PostgresError as exc:
                if self._conn is None:  # the connection itself went away
                    raise
                return None, None, f"pg_stat_statements could not be read: {exc}"
            results.append(tuple(_statement(r) for r in rows))
        note = None
        if not monitor:
            note = "statements of other roles show <insufficient privilege>: grant pg_monitor"
        return results[0], results[1], note

    def _replication(self, conn: psycopg.Connection[Any], version_num: int) -> tuple[Replica, ...]:
        current: dict[str, Replica] = {}
        for r in self._rows(conn, get("replication", version_num)):
            replica = Replica(
                name=r["application_name"] or "standby",
                client_addr=r["client_addr"],
                state=r["state"] or "unknown",
                sync_state=r["sync_state"],
                lag_bytes=r["lag_bytes"],
                lag_s=r["lag_s"],
                pid=r["pid"],
            )
            current[_replica_key(replica)] = replica
        out = list(current.values())
        for key, seen in self._replicas_seen.items():
            if key not in current:
                out.append(
                    Replica(
                        name=seen.name,
                        client_addr=seen.client_addr,
                        state="gone",
                        sync_state=seen.sync_state,
                        lag_bytes=None,
                        lag_s=None,
                        gone=True,
                    )
                )
        self._replicas_seen.update(current)
        return tuple(out)

    def _health(
        self,
        conn: psycopg.Connection[Any],
        server: Mapping[str, Any],
        version_num: int,
        sessions: Sequence[Session],
    ) -> Health:
        now = time.monotonic()
        if not self._db_sizes or now - self._db_sizes_at >= DB_SIZES_EVERY_S:
            self._db_sizes = tuple(
                Database(r["datname"], r["size_bytes"])
                for r in self._rows(conn, get("databases", version_num))
            )
            self._db_sizes_at = now
        commits = int(server["commits"] or 0)
        rollbacks = int(server["rollbacks"] or 0)
        deadlocks = int(server["deadlocks"] or 0)
        commits_per_s = rollbacks_per_s = None
        deadlocks_new = 0
        previous = self._previous
        if previous is not None:
            at, c0, r0, d0 = previous
            elapsed = now - at
            if elapsed > 0 and commits >= c0 and rollbacks >= r0:
                commits_per_s = (commits - c0) / elapsed
                rollbacks_per_s = (rollbacks - r0) / elapsed
            deadlocks_new = max(0, deadlocks - d0)
        self._previous = (now, commits, rollbacks, deadlocks)
        hit, read = int(server["blks_hit"] or 0), int(server["blks_read"] or 0)
        xid_age = int(server["xid_age"] or 0)
        return Health(
            version=str(server["version"]),
            version_num=version_num,
            connect_ms=self._connect_ms,
            uptime_s=server["uptime_s"],
            databases=self._db_sizes,
            cache_hit_pct=100.0 * hit / (hit + read) if hit + read else None,
            commits_per_s=commits_per_s,
            rollbacks_per_s=rollbacks_per_s,
            deadlocks=deadlocks,
            deadlocks_new=deadlocks_new,
            temp_files=int(server["temp_files"] or 0),
            temp_bytes=int(server["temp_bytes"] or 0),
            xid_age=xid_age,
            xid_age_pct=100.0 * xid_age / XID_WRAP,
            autovacuums=tuple(s for s in sessions if s.backend_type == "autovacuum worker"),
        )

    def _grade(self, data: PostgresData) -> tuple[Status, str, PostgresData]:
        c = data.connections
        waiting = [b for b in data.blocking if b.depth > 0]
        gone = [r for r in data.replication if r.gone]
        statuses = [
            c.status,
            grade(data.health.xid_age_pct, XID_WARN_PCT, XID_CRIT_PCT),
            Status.WARN if data.long_queries or waiting or gone else Status.OK,
        ]
        if data.standby is not None and data.standby.receiver_status not in ("streaming", None):
            statuses.append(Status.WARN)
        parts = [f"{c.total}/{c.max} connections ({c.percent:.0f}%)"]
        parts.append(f"{len(data.long_queries)} long")
        if waiting:
            roots = sum(1 for b in data.blocking if b.depth == 0)
            parts.append(f"{len(waiting)} blocked by {roots} root")
        if data.role == "standby" and data.standby is not None:
            delay = data.standby.replay_delay_s
            parts.append("standby" + (f", replay {delay:.0f} s behind" if delay else ""))
        elif data.replication:
            live = len(data.replication) - len(gone)
            parts.append(f"{live} standby" + (f", {len(gone)} gone" if gone else ""))
        return worst(statuses), " · ".join(parts), data

    # -- mitigations (called from the action runner's worker thread) -----------------------------

    def signal_sessions(
        self,
        function: str,
        condition: str,
        targets: Sequence[Session | Blocked],
        params: Mapping[str, Any] | None = None,
    ) -> list[int]:
        """Run pg_cancel_backend / pg_terminate_backend on exactly `targets` (pid + backend_start)
        that still match `condition`; returns the pids it succeeded on."""
        if function not in ("pg_cancel_backend", "pg_terminate_backend"):
            raise ValueError(function)
        if not targets:
            return []
        sql = get("terminate", self._version_num or 999999)
        sql = sql.replace("{func}", function).replace("{condition}", condition)
        values = {
            **(params or {}),
            "pids": [t.pid for t in targets],
            "starts": [t.backend_start for t in targets],
        }
        with self._lock:
            conn = self._connection()
            rows = self._rows(conn, sql, values)
        return sorted(int(r["pid"]) for r in rows if r["done"])

    def dump_conninfo(self) -> tuple[dict[str, str], str | None]:
        """libpq parameters for pg_dump, without the password; and the password (for PGPASSWORD).

        The dump's connection is named ``zconsole`` like ours (whatever the DSN says), so it is
        hidden from every list while it runs: a second connection, deliberate and temporary.
        """
        params = {k: str(v) for k, v in psycopg.conninfo.conninfo_to_dict(self.dsn).items()}
        password = params.pop("password", None)
        params.setdefault("connect_timeout", str(self.connect_timeout))
        params["application_name"] = APPLICATION_NAME
        return params, password


# -- pure helpers ---------------------------------------------------------------------------------


def _unknown_health(version_num: int) -> Health:
    """Health while no query has ever got in: nothing known but the version libpq saw."""
    return Health(
        version="unknown",
        version_num=version_num,
        connect_ms=None,
        uptime_s=None,
        databases=(),
        cache_hit_pct=None,
        commits_per_s=None,
        rollbacks_per_s=None,
        deadlocks=0,
        deadlocks_new=0,
        temp_files=0,
        temp_bytes=0,
        xid_age=0,
        xid_age_pct=0.0,
        autovacuums=(),
    )


def _count(values: Iterable[str]) -> dict[str, int]:
    return dict(Counter(values).most_common())


def _session(r: Mapping[str, Any]) -> Session:
    return Session(
        pid=int(r["pid"]),
        usename=r["usename"],
        datname=r["datname"],
        application_name=r["application_name"] or "",
        client_addr=r["client_addr"],
        state=r["state"],
        wait_event=r["wait_event"],
        duration_s=r["duration_s"],
        query=redact(r["query"] or ""),
        wait_event_type=r["wait_event_type"],
        state_s=r["state_s"],
        xact_s=r["xact_s"],
        backend_type=r["backend_type"],
        backend_start=r["backend_start"],
    )


def _statement(r: Mapping[str, Any]) -> Statement:
    return Statement(
        queryid=r["queryid"],
        datname=r["datname"],
        usename=r["usename"],
        query=redact(r["query"] or ""),
        calls=int(r["calls"] or 0),
        total_ms=float(r["total_ms"] or 0.0),
        mean_ms=float(r["mean_ms"] or 0.0),
        rows=int(r["rows"] or 0),
    )


def _replica_key(replica: Replica) -> str:
    return f"{replica.name}@{replica.client_addr or 'local'}"


def blocking_tree(
    sessions: Sequence[Session], blocked_by: Mapping[int, Sequence[int] | None]
) -> tuple[Blocked, ...]:
    """pg_blocking_pids as a tree, root blockers first (longest in their state first); see
    :func:`zconsole.checks.blocking.order`."""
    by_pid = {s.pid: s for s in sessions}

    def held(pid: int) -> float:
        s = by_pid.get(pid)
        return (s.state_s or 0.0) if s else 0.0

    out = []
    for node in blocking.order(blocked_by, held):
        s = by_pid.get(node.id)
        out.append(
            Blocked(
                pid=node.id,
                blocked_by=node.blocked_by,
                depth=node.depth,
                root=node.root,
                usename=s.usename if s else None,
                datname=s.datname if s else None,
                application_name=s.application_name if s else "",
                state=s.state if s else None,
                state_s=s.state_s if s else None,
                duration_s=s.duration_s if s else None,
                wait_event=s.wait_event if s else None,
                query=s.query if s else "",
                backend_start=s.backend_start if s else None,
            )
        )
    return tuple(out)


def explain(exc: BaseException, where: str, check: PostgresCheck | None = None) -> str:
    """One clear, redacted line for a psycopg error (no password, no libpq hint paragraphs)."""
    text = str(exc).strip()
    low = text.lower()
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(exc).__name__)
    timeout = f"{check.connect_timeout} s" if check is not None else "the connect timeout"
    if "connection refused" in low:
        line = f"{where}: connection refused — is PostgreSQL running and listening there?"
    elif "timeout expired" in low or "timed out" in low:
        line = f"{where}: no answer within {timeout} (connect_timeout) — server hung or firewalled?"
    elif "password authentication failed" in low:
        user = re.search(r'for user "([^"]*)"', text)
        line = f"{where}: password authentication failed for user {user.group(1) if user else '?'}"
    elif "no password supplied" in low:
        line = f"{where}: the server asks for a password and none was given"
    elif "statement timeout" in low:
        ms = check.settings.statement_timeout_ms if check is not None else "?"
        line = f"{where}: a console query took longer than statement_timeout ({ms} ms)"
    elif any(
        s in low
        for s in (
            "terminating connection",
            "server closed the connection",
            "connection is lost",
            "consuming input failed",
            "connection is closed",
            "the database system is shutting down",
        )
    ):
        line = f"{where}: the server closed the connection (stopped or restarted?) — {first}"
    elif is_out_of_connections(low):
        line = f"{where}: out of connections — {first.removeprefix('connection failed: ')}"
    elif "the database system is starting up" in low:
        line = f"{where}: the server is starting up"
    else:
        line = f"{where}: {first.removeprefix('connection failed: ')}"
    return redact(line)


__all__ = [
    "Blocked",
    "Connections",
    "Database",
    "DumpStatus",
    "Health",
    "PostgresCheck",
    "PostgresData",
    "PostgresError",
    "Replica",
    "Session",
    "StandbyStatus",
    "Statement",
    "blocking_tree",
    "explain",
    "get",
    "sql_file",
]
