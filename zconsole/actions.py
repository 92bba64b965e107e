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


class ActionError(Exception):
    """An action failed in a way the user should read (message already redacted)."""


@dataclass(frozen=True)
class Action:
    """One mitigation, fully described before it runs."""

    #: Machine name, e.g. "docker.restart", "postgres.terminate".
    name: str
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
    #: The source pane it came from ("docker", "postgres", ...), for the audit log.
    source: str = ""
