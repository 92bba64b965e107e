"""PostgreSQL mitigations: cancel, terminate, the three bulk terminations, the emergency dump.

Each factory builds its preview from the check's last poll — the exact pids, users and queries
it will hit — and its execute acts on exactly those backends (pid *and* backend_start, since a
pid can be reused), re-checking in the same statement that each still matches the condition.
The runbooks' ``SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE ...`` would hit
whatever matches at that instant instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from zconsole.actions import Action, ActionError, Risk, risk_for
from zconsole.checks.base import Check
from zconsole.checks.blocking import root_and_waiters
from zconsole.checks.postgres import (
    Blocked,
    Database,
    PostgresCheck,
    PostgresError,
    Session,
)
from zconsole.checks.secrets import redact
from zconsole.mitigations import mitigation

SOURCE = "postgres"
#: Longest query text per session in a preview (the full text is in the pane).
PREVIEW_QUERY_LEN = 120

# The fixed conditions re-checked at execute time (see checks/sql/terminate.sql). Only these
# strings are ever spliced into the SQL; the numbers go in as parameters.
ANY_STATE = "true"
RUNNING_LONGER = (
    "a.state = 'active' AND a.query_start < clock_timestamp() - make_interval(secs => %(secs)s)"
)
IDLE_IN_TX_LONGER = (
    "a.state IN ('idle in transaction', 'idle in transaction (aborted)') "
    "AND a.state_change < clock_timestamp() - make_interval(secs => %(secs)s)"
)
STILL_BLOCKING = (
    "EXISTS (SELECT 1 FROM pg_stat_activity AS w WHERE a.pid = ANY (pg_blocking_pids(w.pid)))"
)

IDLE_TX_STATES = ("idle in transaction", "idle in transaction (aborted)")


def _check(check: Check[Any]) -> PostgresCheck:
    if not isinstance(check, PostgresCheck):
        raise TypeError(f"not a PostgreSQL check: {type(check).__name__}")
    return check


def _one_line(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= PREVIEW_QUERY_LEN else text[: PREVIEW_QUERY_LEN - 1] + "…"


def _describe(s: Session | Blocked) -> str:
    held = s.state_s if s.state in IDLE_TX_STATES else s.duration_s
    took = f" {held:.0f}s" if held is not None else ""
    return (
        f"  pid {s.pid}  {s.usename or '?'}@{s.datname or '?'}  "
        f"[{s.state or '?'}{took}]  {_one_line(s.query)}"
    )


def _preview(function: str, targets: Sequence[Session | Blocked], condition: str) -> str:
    lines = [f"SELECT {function}(pid) for exactly these sessions:"]
    lines += [_describe(t) for t in targets]
    lines.append(f"re-checked at execute time: same backend (pid + start) and {condition}")
    return redact("\n".join(lines))


def _execute(
    check: PostgresCheck,
    function: str,
    condition: str,
    targets: Sequence[Session | Blocked],
    params: dict[str, Any] | None = None,
) -> str:
    verb = "cancelled" if function == "pg_cancel_backend" else "terminated"
    try:
        done = check.signal_sessions(function, condition, targets, params)
    except PostgresError as exc:
        raise ActionError(str(exc)) from None
    users = {t.pid: t.usename or "?" for t in targets}
    left = [t.pid for t in targets if t.pid not in done]
    if not done:
        raise ActionError(
            f"nothing {verb}: none of pid {', '.join(map(str, left))} still matched "
            "(finished, changed or not permitted)"
        )
    text = f"{verb} pid " + ", ".join(f"{p} ({users[p]})" for p in done)
    if left:
        text += f"; left alone (no longer matching): pid {', '.join(map(str, left))}"
    return text


def _session_of(record: object) -> Session | Blocked:
    if isinstance(record, Session | Blocked):
        return record
    raise ValueError("select a session first (a row of the activity or blocking list)")


@mitigation(SOURCE, "cancel")
def cancel_query(check: Check[Any], record: object) -> Action:
    """pg_cancel_backend on the selected session: its current query stops, the session stays."""
    pg = _check(check)
    s = _session_of(record)
    return Action(
        title=f"Cancel the query of pid {s.pid}",
        target=str(s.pid),
        risk=Risk.DISRUPTIVE,
        preview=_preview("pg_cancel_backend", [s], "still the same backend"),
        execute=lambda: _execute(pg, "pg_cancel_backend", ANY_STATE, [s]),
        timeout=pg.timeout + 5,
    )


@mitigation(SOURCE, "terminate")
def terminate_backend(check: Check[Any], record: object) -> Action:
    """pg_terminate_backend on the selected session: its connection is closed."""
    pg = _check(check)
    s = _session_of(record)
    return Action(
        title=f"Terminate backend pid {s.pid}",
        target=str(s.pid),
        risk=risk_for(),
        preview=_preview("pg_terminate_backend", [s], "still the same backend"),
        execute=lambda: _execute(pg, "pg_terminate_backend", ANY_STATE, [s]),
        timeout=pg.timeout + 5,
    )


def _minutes(record: object, default: float) -> float:
    if isinstance(record, int | float) and not isinstance(record, bool) and record > 0:
        return float(record)
    return default


def _bulk(
    pg: PostgresCheck, name: str, title: str, condition: str, targets: list[Session], secs: float
) -> Action:
    if not targets:
        raise ValueError(f"no session matches: {title.lower()}")
    return Action(
        title=f"{title}: {len(targets)} sessions",
        target=f"{len(targets)} sessions",
        risk=risk_for(targets=len(targets)),
        preview=_preview(
            "pg_terminate_backend", targets, condition.replace("%(secs)s", f"{secs:g}")
        ),
        execute=lambda: _execute(pg, "pg_terminate_backend", condition, targets, {"secs": secs}),
        timeout=pg.timeout + 10,
    )


@mitigation(SOURCE, "terminate_long")
def terminate_long(check: Check[Any], record: object) -> Action:
    """Terminate every session running one query longer than N minutes (record: N, or config)."""
    pg = _check(check)
    minutes = _minutes(record, pg.settings.kill_long_after_min)
    secs = minutes * 60
    targets = sorted(
        (
            s
            for s in pg.sessions
            if s.is_client
            and s.state == "active"
            and s.duration_s is not None
            and s.duration_s >= secs
        ),
        key=lambda s: s.duration_s or 0.0,
        reverse=True,
    )
    return _bulk(
        pg,
        "terminate_long",
        f"Terminate queries running longer than {minutes:g} min",
        RUNNING_LONGER,
        targets,
        secs,
    )


@mitigation(SOURCE, "terminate_idle_tx")
def terminate_idle_in_transaction(check: Check[Any], record: object) -> Action:
    """Terminate sessions idle in a transaction for longer than N minutes (record: N, or config).

    While the server refuses the console for want of a slot, SQL cannot get in: the same key
    then sends SIGTERM to the backends whose process titles say idle in transaction.
    """
    pg = _check(check)
    if pg.title_counts is not None:
        from zconsole.mitigations.postgres_signal import terminate_idle_tx_by_signal

        return terminate_idle_tx_by_signal(check, record)
    minutes = _minutes(record, pg.settings.kill_idle_tx_after_min)
    secs = minutes * 60
    targets = sorted(
        (
            s
            for s in pg.sessions
            if s.is_client
            and s.state in IDLE_TX_STATES
            and s.state_s is not None
            and s.state_s >= secs
        ),
        key=lambda s: s.state_s or 0.0,
        reverse=True,
    )
    return _bulk(
        pg,
        "terminate_idle_tx",
        f"Terminate sessions idle in transaction longer than {minutes:g} min",
        IDLE_IN_TX_LONGER,
        targets,
        secs,
    )


@mitigation(SOURCE, "terminate_root_blocker")
def terminate_root_blocker(check: Check[Any], record: object) -> Action:
    """Terminate the root of a blocking tree (the selected node's root, else the longest held)."""
    pg = _check(check)
    data = pg.last_data
    tree = data.blocking if data is not None else ()
    wanted = (
        record.root
        if isinstance(record, Blocked)
        else record.pid
        if isinstance(record, Session)
        else None
    )
    root, behind = root_and_waiters(tree, lambda b: b.pid, wanted)
    lines = [
        f"SELECT pg_terminate_backend({root.pid}) — the root blocker:",
        _describe(root),
        f"it frees {len(behind)} waiting session(s):",
        *(_describe(b) for b in behind),
        "re-checked at execute time: same backend (pid + start) and it still blocks someone",
    ]
    return Action(
        title=f"Terminate root blocker pid {root.pid}",
        target=str(root.pid),
        risk=risk_for(),
        preview=redact("\n".join(lines)),
        execute=lambda: _execute(pg, "pg_terminate_backend", STILL_BLOCKING, [root]),
        timeout=pg.timeout + 5,
    )


@mitigation(SOURCE, "dump")
def emergency_dump(check: Check[Any], record: object) -> Action:
    """pg_dump of a database (the selected one, else the DSN's) to a file, with progress."""
    from zconsole.mitigations import pg_dump

    pg = _check(check)
    params, password = pg.dump_conninfo()
    if isinstance(record, Database):
        params["dbname"] = record.name
    elif isinstance(record, str) and record:
        params["dbname"] = record
    elif isinstance(record, Session | Blocked) and record.datname:
        params["dbname"] = record.datname
    database = params.get("dbname") or params.get("user") or "postgres"
    params["dbname"] = database
    major = pg.server_version // 10000 if pg.server_version else None
    suitable = pg_dump.suitable_pg_dump(major)
    if suitable is None and pg.container and pg.docker_url:
        from zconsole.mitigations.postgres_container import container_dump_action

        reason = f"no pg_dump on this host for PostgreSQL {major or '?'}"
        return container_dump_action(pg, database, reason)
    path = pg_dump.dump_path(pg.settings.dump_dir, database)
    binary = suitable or pg_dump.find_pg_dump(major)

    def execute() -> str:
        progress = pg.dump_progress
        progress.start(database, str(path))
        try:
            result = pg_dump.run_dump(
                params, password, path, pg_dump=binary, progress=progress.advance
            )
        except pg_dump.DumpError as exc:
            progress.fail(str(exc))
            raise ActionError(str(exc)) from None
        progress.finish(result.size_bytes, result.seconds)
        return (
            f"pg_dump {database} → {result.path} ({result.size_bytes} bytes, "
            f"{result.seconds:.1f} s)"
        )

    return Action(
        title=f"Emergency pg_dump of {database}",
        target=database,
        risk=Risk.DISRUPTIVE,
        preview=redact(
            f"{binary} {' '.join(pg_dump.DUMP_OPTIONS)} "
            f"--dbname='{pg_dump.conninfo_string(params)}' > {path}\n"
            "(password, if any, passed in PGPASSWORD; the file is readable by you only)"
        ),
        execute=execute,
        timeout=3600.0,
    )
