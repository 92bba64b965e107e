"""The incident lifecycle as pure logic: records, severity schemes, triage, status, clocks and
the check watcher. No I/O here: the store persists, the app and widgets display.

It sits in the bottom layer beside the checks' records because the screens show incidents and
their timeline entries too, and widgets may import only records from below them.
Severity schemes, triage questions and the respond/resolve targets come from the runbooks
(see /docs and :class:`IncidentSettings`).
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from zconsole.checks.base import CheckResult, Status
from zconsole.checks.secrets import redact

#: Lifecycle, in order. Any change is allowed (a failed fix goes back to investigating), but a
#: change to the same status is not a change.
STATUSES: tuple[str, ...] = ("investigating", "identified", "monitoring", "resolved")
RESOLVED = "resolved"

SCHEMES: dict[str, tuple[str, ...]] = {
    "P0-P3": ("P0", "P1", "P2", "P3"),
    "P1-P4": ("P1", "P2", "P3", "P4"),
}
#: Words the runbooks use per severity index (most severe first).
LEVEL_NAMES: tuple[str, ...] = ("Critical", "High", "Medium", "Low")

#: Kinds of timeline entries.
KIND_NOTE = "note"
KIND_STATUS = "status"
KIND_SEVERITY = "severity"
KIND_CHECK = "check"
KIND_EVIDENCE = "evidence"
KIND_ACTION = "action"
KIND_UPDATE = "update"
KIND_CORRECTION = "correction"
KIND_SYSTEM = "system"
#: A status update sent to a receiver (Slack, Statuspage …), with how it went.
KIND_POST = "post"
#: An alert from Alertmanager or Grafana, firing or resolved.
KIND_ALERT = "alert"

#: The runbooks' triage questions, in order; the first "yes" decides (index into the scheme).
#: "Can users log in?" is asked as its negation so that every question reads "yes = worse".
TRIAGE_QUESTIONS: tuple[tuple[str, str, int], ...] = (
    ("service_down", "Is the service down completely?", 0),
    ("login_broken", "Are users unable to log in?", 0),
    ("core_broken", "Is a core feature broken (users cannot do their main work)?", 1),
    ("one_tenant", "Is only one tenant / customer / feature affected?", 2),
    ("cosmetic", "Is it a UI or cosmetic issue only?", 3),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentSettings:
    """The ``[incident]`` settings (built by ``zconsole.config``)."""

    #: "P0-P3" (default, most runbooks) or "P1-P4".
    severity_scheme: Literal["P0-P3", "P1-P4"] = "P0-P3"
    #: Minutes between status updates per severity index (most severe first).
    update_every_min: list[float] = field(default_factory=lambda: [15.0, 15.0, 60.0, 240.0])
    #: Response and resolution targets, minutes, per severity index (runbooks' P0..P3).
    respond_min: list[float] = field(default_factory=lambda: [15.0, 60.0, 240.0, 1440.0])
    resolve_min: list[float] = field(default_factory=lambda: [120.0, 480.0, 1440.0, 7200.0])
    commander: str = ""
    export_dir: str = "incidents"
    #: A check must stay crit (or recovered) this many seconds before the timeline hears of it.
    hysteresis_s: float = 30.0


class IncidentError(ValueError):
    """A lifecycle rule was broken (unknown severity, same status ...)."""


def scheme_levels(scheme: str) -> tuple[str, ...]:
    try:
        return SCHEMES[scheme]
    except KeyError:
        known = ", ".join(SCHEMES)
        raise IncidentError(f"unknown severity scheme {scheme!r} (known: {known})") from None


def severity_index(severity: str, scheme: str = "P0-P3") -> int:
    levels = scheme_levels(scheme)
    if severity not in levels:
        raise IncidentError(f"severity {severity!r} is not one of {', '.join(levels)}")
    return levels.index(severity)


def severity_label(severity: str, scheme: str = "P0-P3") -> str:
    """ "P0 - Critical", as the runbooks write it."""
    try:
        return f"{severity} - {LEVEL_NAMES[severity_index(severity, scheme)]}"
    except IncidentError:
        return severity


def propose_severity(answers: Mapping[str, bool], scheme: str = "P0-P3") -> str:
    """The runbooks' triage: the first question answered yes decides; none -> the second lowest."""
    levels = scheme_levels(scheme)
    for key, _question, index in TRIAGE_QUESTIONS:
        if answers.get(key):
            return levels[index]
    return levels[2]


@dataclass(frozen=True, slots=True)
class Incident:
    id: str
    title: str
    severity: str
    status: str
    started_at: datetime
    impact: str = ""
    services: tuple[str, ...] = ()
    commander: str = ""
    responders: tuple[str, ...] = ()
    #: When a human acknowledged (declared) it; time to acknowledge = this - started_at.
    acknowledged_at: datetime | None = None
    resolved_at: datetime | None = None
    scheme: str = "P0-P3"
    # Postmortem sections, filled in after the fact (export shows a placeholder when empty).
    summary: str = ""
    root_cause: str = ""
    resolution: str = ""
    detection: str = ""
    action_items: str = ""
    lessons: str = ""

    @property
    def is_open(self) -> bool:
        return self.status != RESOLVED

    @property
    def severity_index(self) -> int:
        return severity_index(self.severity, self.scheme)

    @property
    def severity_label(self) -> str:
        return severity_label(self.severity, self.scheme)


@dataclass(frozen=True, slots=True)
class Entry:
    """One timeline entry. A correction is a new entry with ``corrects`` = the original's id."""

    id: int
    incident_id: str
    at: datetime
    author: str
    kind: str
    text: str
    corrects: int | None = None
    #: The newest correction of this entry, if any (filled in by the store's queries).
    corrected_by: int | None = None


def make_incident_id(day: datetime, seq: int) -> str:
    return f"INC-{day:%Y-%m-%d}-{seq:03d}"


def ssh_client_host(env: Mapping[str, str] | None = None) -> str:
    """The SSH client's address from SSH_CLIENT / SSH_CONNECTION ("" when local)."""
    env = os.environ if env is None else env
    for name in ("SSH_CLIENT", "SSH_CONNECTION"):
        value = env.get(name, "").split()
        if value:
            return value[0]
    return ""


def default_author(env: Mapping[str, str] | None = None) -> str:
    """The unix user, with the SSH client host when there is one: "alice@10.0.0.5"."""
    env = os.environ if env is None else env
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = env.get("USER", "") or "unknown"
    host = ssh_client_host(env)
    return f"{user}@{host}" if host else user


def status_change_text(old: str, new: str) -> str:
    return f"Status: {old} → {new}"


def severity_change_text(old: str, new: str, scheme: str) -> str:
    return f"Severity: {severity_label(old, scheme)} → {severity_label(new, scheme)}"


def check_status(status: str) -> str:
    if status not in STATUSES:
        raise IncidentError(f"status {status!r} is not one of {', '.join(STATUSES)}")
    return status


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)


# -- clocks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Clocks:
    elapsed_s: float
    #: Seconds until the next status update is due; negative when overdue.
    next_update_s: float
    update_due: bool
    respond_target_s: float
    resolve_target_s: float
    #: Seconds left to acknowledge / resolve (negative = target missed); None once met.
    respond_left_s: float | None
    resolve_left_s: float | None
    #: The update cadence of this severity, seconds (0 = none).
    update_every_s: float = 0.0


def _per_severity(values: list[float], index: int) -> float:
    if not values:
        return 0.0
    return float(values[min(index, len(values) - 1)])


def clocks(
    incident: Incident,
    now: datetime,
    config: IncidentSettings,
    *,
    last_update_at: datetime | None = None,
) -> Clocks:
    """The incident's clocks at ``now`` (pure)."""
    index = incident.severity_index
    start = utc(incident.started_at)
    end = utc(incident.resolved_at) if incident.resolved_at else utc(now)
    elapsed = (end - start).total_seconds()
    every = _per_severity(config.update_every_min, index) * 60
    since = utc(last_update_at) if last_update_at else start
    next_update = every - (utc(now) - since).total_seconds()
    respond = _per_severity(config.respond_min, index) * 60
    resolve = _per_severity(config.resolve_min, index) * 60
    respond_left = None if incident.acknowledged_at else respond - elapsed
    resolve_left = None if incident.resolved_at else resolve - elapsed
    return Clocks(
        elapsed_s=elapsed,
        next_update_s=next_update,
        update_due=incident.is_open and next_update <= 0,
        respond_target_s=respond,
        resolve_target_s=resolve,
        respond_left_s=respond_left,
        resolve_left_s=resolve_left,
        update_every_s=every,
    )


# -- check watch ------------------------------------------------------------------------------

BAD = frozenset({Status.CRIT, Status.ERROR})


@dataclass(slots=True)
class _WatchState:
    reported_bad: bool = False
    pending_since: float | None = None


@dataclass
class CheckWatch:
    """Turns check results into timeline lines while an incident is open.

    A check that turns crit (or unreachable) is reported once, with its summary, after it has
    stayed bad for ``hysteresis_s`` seconds; its recovery likewise once, after it has stayed
    good that long. A check that flaps faster than that writes nothing.
    """

    hysteresis_s: float = 30.0
    _state: dict[str, _WatchState] = field(default_factory=dict)

    def feed(self, result: CheckResult, now: float) -> str | None:
        """The timeline text this result causes, if any. ``now`` is a monotonic clock."""
        latest = result.latest
        if not latest.configured or latest.status is Status.UNKNOWN:
            return None
        state = self._state.setdefault(result.name, _WatchState())
        bad = latest.status in BAD
        if bad == state.reported_bad:
            state.pending_since = None
            return None
        if state.pending_since is None:
            state.pending_since = now
        if now - state.pending_since < self.hysteresis_s:
            return None
        state.reported_bad = bad
        state.pending_since = None
        word = latest.status.value.upper()
        summary = redact(latest.summary.splitlines()[0] if latest.summary else "")
        if bad:
            return f"{result.name} went {word}: {summary}"
        return f"{result.name} recovered ({word}): {summary}"

    def reset(self) -> None:
        self._state.clear()
