"""The one action layer: every mitigation is an Action that is previewed, confirmed in proportion
to its risk, executed in a worker with a timeout, and recorded (audit log always, timeline when an
incident is open).

This module holds the data types; the runner that confirms, executes and records lives beside it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum


class Risk(StrEnum):
    """How much confirmation an action needs."""

    SAFE = "safe"  # runs at once
    DISRUPTIVE = "disruptive"  # asks y/N
    DESTRUCTIVE = "destructive"  # requires typing the target's name


def risk_for(*, targets: int = 1, recoverable: bool = True) -> Risk:
    """Confirmation in proportion to the risk: one backend, one container, one process is
    disruptive (y/N, as pg_activity asks); several targets at once, or data that cannot come
    back (FLUSHDB, prune, remove, deleted files), is destructive (type the target)."""
    return Risk.DISRUPTIVE if targets <= 1 and recoverable else Risk.DESTRUCTIVE


class ActionError(Exception):
    """An action failed in a way the user should read (message already redacted)."""


@dataclass(frozen=True, kw_only=True)
class Action:
    """One mitigation, fully described before it runs."""

    #: What a human reads: "Restart container web-1".
    title: str
    #: What it acts on; for destructive actions the text to type to confirm ("web-1", "pid 4242").
    target: str
    risk: Risk
    #: Exactly what will happen: the SQL, the Docker API call, the argv. Shown before confirming.
    preview: str
    #: Runs in a worker thread; returns the result text for the timeline; raises on failure.
    execute: Callable[[], str] = field(repr=False, compare=False)
    timeout: float = 30.0
    #: Machine name, e.g. "docker.restart", "postgres.terminate". A mitigation's is given by its
    #: ``@mitigation(source, name)`` decorator.
    name: str = ""
    #: The source pane it came from ("docker", "postgres", ...), for the audit log; a
    #: mitigation's is given by its decorator.
    source: str = ""


class Outcome(StrEnum):
    """How one attempt ended; every one of them is written to the audit log."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: The execute step did not return within ``Action.timeout`` (it may still finish later).
    TIMED_OUT = "timed_out"
    #: The user said no (or pressed Escape) at a confirmation.
    CANCELLED = "cancelled"
    #: zconsole would not run it: read-only mode, or the repeat guard was not confirmed.
    REFUSED = "refused"


@dataclass(frozen=True)
class ActionOutcome:
    """The result of :meth:`zconsole.action_runner.ActionRunner.run` for one attempt."""

    action: Action
    outcome: Outcome
    #: Result text (succeeded) or the reason / error text (everything else); redacted.
    text: str
    #: Seconds spent executing (0 when it never ran).
    duration_s: float = 0.0
    #: Set when the audit log could not be written (the attempt itself is unaffected).
    audit_error: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCEEDED
