"""Status updates in the runbooks' templates: detected / update / resolved, as Slack Markdown
(runbook 001's #incidents template) or plain text (runbook 004's communication templates).

Pure functions: the preview screen shows the text, the app copies it and records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from zconsole.checks.incident import KIND_ACTION, Entry, Incident, IncidentSettings, utc
from zconsole.checks.secrets import redact

KINDS: tuple[str, ...] = ("detected", "update", "resolved")
FORMATS: tuple[str, ...] = ("slack", "plain")
#: How many of the latest actions an update lists.
MAX_ACTIONS = 5


def _hm(dt: datetime) -> str:
    return f"{utc(dt):%H:%M}"


def _stamp(dt: datetime) -> str:
    return f"{utc(dt):%Y-%m-%d %H:%M} UTC"


def minutes(seconds: float) -> str:
    m = max(0, round(seconds / 60))
    return "1 minute" if m == 1 else f"{m} minutes"


def update_every_min(incident: Incident, config: IncidentSettings) -> float:
    values = config.update_every_min or [15.0]
    return float(values[min(incident.severity_index, len(values) - 1)])


def default_kind(incident: Incident, updates_posted: int) -> str:
    if not incident.is_open:
        return "resolved"
    return "detected" if updates_posted == 0 else "update"


def render(
    kind: str,
    fmt: str,
    incident: Incident,
    entries: Sequence[Entry],
    *,
    now: datetime,
    config: IncidentSettings,
) -> str:
    """The status update text (redacted)."""
    if kind not in KINDS:
        raise ValueError(f"unknown update kind {kind!r}")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}")
    now = utc(now)
    every = update_every_min(incident, config)
    next_at = now + timedelta(minutes=every)
    end = utc(incident.resolved_at) if incident.resolved_at else now
    duration = (end - utc(incident.started_at)).total_seconds()
    affected = ", ".join(incident.services) or "TBD"
    impact = incident.impact or "TBD"
    actions = [e.text for e in entries if e.kind == KIND_ACTION][-MAX_ACTIONS:]
    slack = fmt == "slack"

    def field(name: str, value: str) -> str:
        return f"**{name}:** {value}" if slack else f"{name}: {value}"

    lines: list[str]
    if kind == "detected":
        lines = (
            ["🚨 **INCIDENT DETECTED** 🚨"]
            if slack
            else [f"INCIDENT ALERT - {incident.severity}", ""]
        )
        lines += [
            field("Incident", f"{incident.id} {incident.title}"),
            field("Severity", incident.severity_label),
            field("Status", incident.status.capitalize()),
            field("Impact", impact),
            field("Affected", affected),
            field("Started", _stamp(incident.started_at)),
            field("Responder", _mention(incident.commander, slack)),
            "",
        ]
        if slack:
            lines.append(field("Next Update", f"In {minutes(every * 60)} ({_hm(next_at)} UTC)"))
        else:
            lines.append(
                f"We are investigating and will provide updates every {minutes(every * 60)}."
            )
    elif kind == "update":
        lines = (
            ["🔄 **INCIDENT UPDATE** 🔄"]
            if slack
            else [f"INCIDENT UPDATE - {incident.severity}", ""]
        )
        lines += [
            field("Incident", f"{incident.id} {incident.title}"),
            field("Severity", incident.severity_label),
            field("Status", incident.status.capitalize()),
            field("Duration", minutes(duration)),
            field("Actions Taken", "" if actions else "none yet"),
        ]
        lines += [f"- {a}" for a in actions]
        lines += [field("ETA Resolution", "TBD"), ""]
        if slack:
            lines.append(field("Next Update", f"In {minutes(every * 60)} ({_hm(next_at)} UTC)"))
        else:
            lines.append(f"Next update in {minutes(every * 60)}.")
    else:
        resolved_at = utc(incident.resolved_at) if incident.resolved_at else now
        span = f"{minutes(duration)} ({_hm(incident.started_at)} - {_hm(resolved_at)} UTC)"
        lines = (
            ["✅ **INCIDENT RESOLVED** ✅"]
            if slack
            else [f"INCIDENT RESOLVED - {incident.severity}", ""]
        )
        lines += [field("Incident", f"{incident.id} {incident.title}")]
        if slack:
            lines += [
                field("Severity", incident.severity_label),
                field("Status", "Resolved"),
                field("Root Cause", incident.root_cause or "TBD"),
                field("Resolution", incident.resolution or "TBD"),
                field("Duration", span),
                field("Affected", affected),
            ]
        else:
            lines += [
                field("Resolved At", _stamp(resolved_at)),
                field("Total Duration", span),
                field("Root Cause", incident.root_cause or "TBD"),
                field("Impact", impact),
                "",
                "Post-mortem will be shared within 24 hours.",
                "Thank you for your patience.",
            ]
    return redact("\n".join(lines).rstrip() + "\n")


def _mention(who: str, slack: bool) -> str:
    name = who.split("@", 1)[0] or "TBD"
    return f"@{name}" if slack else name


def now_utc() -> datetime:
    return datetime.now(UTC)
