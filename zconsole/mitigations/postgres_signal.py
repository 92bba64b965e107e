"""Terminate idle-in-transaction backends by signal, for when SQL cannot get in.

At max_connections the console's role may be refused, so ``pg_terminate_backend`` cannot be
sent. SIGTERM to a backend process is what ``pg_terminate_backend`` itself sends: the backend
rolls back and exits, and the postmaster carries on. The targets are the backends the check
counted from their process titles; each is re-checked right before its signal (same pid *and*
start time, same postmaster, still idle in transaction), so a reused pid is never hit.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from zconsole.actions import Action, ActionError, Risk
from zconsole.checks.base import Check
from zconsole.checks.pg_processes import IDLE_IN_TRANSACTION, Backend, terminate
from zconsole.checks.postgres import PostgresCheck
from zconsole.checks.secrets import redact
from zconsole.mitigations import mitigation

SOURCE = "postgres"


def _describe(b: Backend) -> str:
    started = datetime.fromtimestamp(b.started).strftime("%H:%M:%S")
    return (
        f"  pid {b.pid}  {b.user}@{b.database}  from {b.client}  [{b.activity}]  "
        f"connected {started}"
    )


def preview(postmaster: int, targets: list[Backend]) -> str:
    lines = [
        "SIGTERM (what pg_terminate_backend sends) to exactly these backends of postmaster "
        f"pid {postmaster}, as their process titles show them:"
    ]
    lines += [_describe(b) for b in targets]
    lines.append(
        "re-checked right before each signal: same process (pid + start time), same "
        "postmaster, still idle in transaction"
    )
    return redact("\n".join(lines))


def _execute(targets: list[Backend]) -> str:
    done = terminate(targets, IDLE_IN_TRANSACTION)
    left = [b.pid for b in targets if b.pid not in done]
    if not done:
        raise ActionError(
            f"no signal sent: none of pid {', '.join(map(str, left))} is still an idle-in-"
            "transaction backend (finished, reused, or not permitted)"
        )
    text = f"sent SIGTERM to pid {', '.join(map(str, done))}"
    if left:
        text += f"; left alone (no longer matching): pid {', '.join(map(str, left))}"
    return text


@mitigation(SOURCE, "terminate_idle_tx_signal")
def terminate_idle_tx_by_signal(check: Check[Any], record: object) -> Action:
    """SIGTERM to every backend the process titles show idle in transaction (server refusing)."""
    if not isinstance(check, PostgresCheck):
        raise TypeError(f"not a PostgreSQL check: {type(check).__name__}")
    counts = check.title_counts
    if counts is None:
        raise ValueError(
            "the server accepts this role's connections: terminate through SQL instead"
        )
    targets = counts.idle_in_transaction()
    if not targets:
        raise ValueError("no backend is idle in transaction (by its process title)")
    return Action(
        title=f"SIGTERM {len(targets)} idle-in-transaction backends (server out of connections)",
        target=f"{len(targets)} backends",
        risk=Risk.DESTRUCTIVE,
        preview=preview(counts.postmaster, targets),
        execute=lambda: _execute(targets),
        timeout=15.0,
    )
