"""MySQL / MariaDB mitigations: KILL QUERY, KILL, the bulk kills, the root blocker, the dump.

Each factory builds its preview from the check's last poll — the exact connection ids, users
and queries it will hit — and its execute kills exactly those connections, after re-checking in
one query that each still matches the condition. (Connection ids are a server-wide counter that
does not come round again in an incident's lifetime, so an id names one connection.) The
runbooks' "kill long-running queries" loop over SHOW PROCESSLIST would hit whatever matches at
that instant instead.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from zconsole.actions import Action, ActionError, Risk, risk_for
from zconsole.checks.base import Check
from zconsole.checks.blocking import root_and_waiters
from zconsole.checks.mysql import Blocked, MySQLCheck, MySQLError, Session
from zconsole.checks.secrets import redact
from zconsole.mitigations import mitigation

SOURCE = "mysql"
PREVIEW_QUERY_LEN = 120

# The fixed conditions re-checked at execute time over the processlist `p` and its InnoDB
# transaction `t`. Only these strings are ever spliced into the SQL; numbers are parameters.
ANY_STATE = "TRUE"
RUNNING_LONGER = "p.COMMAND NOT IN ('Sleep', 'Connect', 'Daemon') AND p.TIME >= %s"
SLEEPING_IN_TRX_LONGER = (
    "p.COMMAND = 'Sleep' AND t.trx_started IS NOT NULL "
    "AND t.trx_started <= NOW() - INTERVAL %s SECOND"
)


def _check(check: Check[Any]) -> MySQLCheck:
    if not isinstance(check, MySQLCheck):
        raise TypeError(f"not a MySQL check: {type(check).__name__}")
    return check


def _one_line(query: str) -> str:
    text = " ".join(query.split())
    return text if len(text) <= PREVIEW_QUERY_LEN else text[: PREVIEW_QUERY_LEN - 1] + "…"


def _describe(s: Session | Blocked) -> str:
    held = s.trx_s if s.command == "Sleep" and s.trx_s is not None else s.duration_s
    took = f" {held:.0f}s" if held is not None else ""
    what = "Sleep in transaction" if s.command == "Sleep" and s.trx_s is not None else s.command
    return (
        f"  id {s.id}  {s.user or '?'}@{s.host or '?'}/{s.db or '-'}  "
        f"[{what}{took}]  {_one_line(s.query)}"
    )


def _preview(verb: str, targets: Sequence[Session | Blocked], condition: str) -> str:
    lines = [f"{verb} <id> for exactly these connections:"]
    lines += [_describe(t) for t in targets]
    lines.append(f"re-checked at execute time: still connected and {condition}")
    return redact("\n".join(lines))


def _execute(
    check: MySQLCheck,
    *,
    query_only: bool,
    condition: str,
    targets: Sequence[Session | Blocked],
    params: Sequence[Any] = (),
    still_blocking: bool = False,
) -> str:
    verb = "killed the query of" if query_only else "killed"
    ids = [t.id for t in targets]
    try:
        if still_blocking:
            matching = check.still_blocking(ids)
        else:
            matching = check.still_matching(ids, condition, params)
        done = check.kill([i for i in ids if i in matching], query_only=query_only)
    except MySQLError as exc:
        raise ActionError(str(exc)) from None
    users = {t.id: t.user or "?" for t in targets}
    left = [i for i in ids if i not in done]
    if not done:
        raise ActionError(
            f"nothing {verb.split()[0]}: none of id {', '.join(map(str, left))} still matched "
            "(finished, changed or not permitted)"
        )
    text = f"{verb} id " + ", ".join(f"{i} ({users[i]})" for i in done)
    if left:
        text += f"; left alone (no longer matching): id {', '.join(map(str, left))}"
    return text


def _session_of(record: object) -> Session | Blocked:
    if isinstance(record, Session | Blocked):
        return record
    raise ValueError("select a connection first (a row of the activity or blocking list)")


@mitigation(SOURCE, "kill_query")
def kill_query(check: Check[Any], record: object) -> Action:
    """KILL QUERY on the selected connection: its statement stops, the connection stays."""
    my = _check(check)
    s = _session_of(record)
    return Action(
        title=f"KILL QUERY {s.id}",
        target=str(s.id),
        risk=Risk.DISRUPTIVE,
        preview=_preview("KILL QUERY", [s], "the same connection"),
        execute=lambda: _execute(my, query_only=True, condition=ANY_STATE, targets=[s]),
        timeout=my.timeout + 5,
    )


@mitigation(SOURCE, "kill_connection")
def kill_connection(check: Check[Any], record: object) -> Action:
    """KILL on the selected connection: it is closed and its transaction rolled back."""
    my = _check(check)
    s = _session_of(record)
    return Action(
        title=f"KILL connection {s.id}",
        target=str(s.id),
        risk=risk_for(),
        preview=_preview("KILL", [s], "the same connection"),
        execute=lambda: _execute(my, query_only=False, condition=ANY_STATE, targets=[s]),
        timeout=my.timeout + 5,
    )


def _minutes(record: object, default: float) -> float:
    if isinstance(record, int | float) and not isinstance(record, bool) and record > 0:
        return float(record)
    return default


def _bulk(
    my: MySQLCheck, name: str, title: str, condition: str, targets: list[Session], secs: float
) -> Action:
    if not targets:
        raise ValueError(f"no connection matches: {title.lower()}")
    return Action(
        title=f"{title}: {len(targets)} connections",
        target=f"{len(targets)} connections",
        risk=risk_for(targets=len(targets)),
        preview=_preview("KILL", targets, condition.replace("%s", f"{secs:g}")),
        execute=lambda: _execute(
            my, query_only=False, condition=condition, targets=targets, params=[int(secs)]
        ),
        timeout=my.timeout + 10,
    )


@mitigation(SOURCE, "kill_long")
def kill_long(check: Check[Any], record: object) -> Action:
    """KILL every connection running one statement longer than N minutes (record: N, or config)."""
    my = _check(check)
    minutes = _minutes(record, my.settings.kill_long_after_min)
    secs = minutes * 60
    targets = sorted(
        (s for s in my.sessions if s.running and (s.duration_s or 0.0) >= secs),
        key=lambda s: s.duration_s or 0.0,
        reverse=True,
    )
    return _bulk(
        my,
        "kill_long",
        f"Kill queries running longer than {minutes:g} min",
        RUNNING_LONGER,
        targets,
        secs,
    )


@mitigation(SOURCE, "kill_idle_tx")
def kill_sleeping_in_transaction(check: Check[Any], record: object) -> Action:
    """KILL connections sleeping with a transaction open longer than N minutes: they hold row
    locks nobody is using (record: N, or config)."""
    my = _check(check)
    minutes = _minutes(record, my.settings.kill_idle_tx_after_min)
    secs = minutes * 60
    targets = sorted(
        (s for s in my.sessions if s.sleeping_in_transaction and (s.trx_s or 0.0) >= secs),
        key=lambda s: s.trx_s or 0.0,
        reverse=True,
    )
    return _bulk(
        my,
        "kill_idle_tx",
        f"Kill connections sleeping in a transaction longer than {minutes:g} min",
        SLEEPING_IN_TRX_LONGER,
        targets,
        secs,
    )


@mitigation(SOURCE, "kill_root_blocker")
def kill_root_blocker(check: Check[Any], record: object) -> Action:
    """KILL the root of a blocking tree (the selected node's root, else the longest held)."""
    my = _check(check)
    data = my.last_data
    tree = data.blocking if data is not None else ()
    wanted = (
        record.root
        if isinstance(record, Blocked)
        else record.id
        if isinstance(record, Session)
        else None
    )
    root, behind = root_and_waiters(tree, lambda b: b.id, wanted)
    lines = [
        f"KILL {root.id} — the root blocker (its transaction is rolled back):",
        _describe(root),
        f"it frees {len(behind)} waiting connection(s):",
        *(_describe(b) for b in behind),
        "re-checked at execute time: still connected and still holding a lock someone waits for",
    ]
    return Action(
        title=f"Kill root blocker {root.id}",
        target=str(root.id),
        risk=risk_for(),
        preview=redact("\n".join(lines)),
        execute=lambda: _execute(
            my, query_only=False, condition=ANY_STATE, targets=[root], still_blocking=True
        ),
        timeout=my.timeout + 5,
    )


@mitigation(SOURCE, "dump")
def emergency_dump(check: Check[Any], record: object) -> Action:
    """mysqldump --single-transaction of a database (the selected row's, else the DSN's)."""
    from zconsole.mitigations import dump_file, mysql_dump

    my = _check(check)
    database = my.endpoint.database
    if isinstance(record, str) and record:
        database = record
    elif isinstance(record, Session | Blocked) and record.db:
        database = record.db
    if not database:
        raise ValueError("which database? select a connection that uses one, or name it in the DSN")
    path = dump_file.dump_path(my.settings.dump_dir, database)
    binary = mysql_dump.find_mysqldump(my.family)
    progress = my.dump_progress

    def execute() -> str:
        started = time.monotonic()
        progress.start(database, str(path))
        try:
            result = mysql_dump.run_dump(
                my.endpoint, database, path, binary=binary, progress=progress.advance
            )
        except dump_file.DumpError as exc:
            written = progress.status.bytes_written if progress.status is not None else 0
            progress.fail(str(exc))
            # The timeline records how far it got: a partial dump is removed, not kept.
            raise ActionError(
                f"{exc} (after {written} bytes in {time.monotonic() - started:.1f} s; "
                "partial file removed)"
            ) from None
        progress.finish(result.size_bytes, result.seconds)
        rate = result.size_bytes / result.seconds / 1e6 if result.seconds > 0 else 0.0
        return (
            f"mysqldump {database} → {result.path} ({result.size_bytes} bytes in "
            f"{result.seconds:.1f} s, {rate:.1f} MB/s, one consistent snapshot)"
        )

    argv = mysql_dump.argv_for(binary, "<private option file>", database)
    return Action(
        title=f"Emergency mysqldump of {database}",
        target=database,
        risk=Risk.DISRUPTIVE,
        preview=redact(
            " ".join(argv) + f" > {path}\n"
            f"(connects to {my.where} as {my.endpoint.user}; the password goes in a private "
            "option file (mode 0600, removed afterwards), never on the command line; the dump "
            "file is readable by you only)"
        ),
        execute=execute,
        timeout=3600.0,
    )
