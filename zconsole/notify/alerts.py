"""Alertmanager in: webhook payloads (version 4) and Grafana alerting's webhook, as timeline lines.

Pure parsing (:func:`parse_alerts`) and one writer (:class:`AlertIntake`): a firing or resolved
alert goes into the open incident's timeline once per change (Alertmanager repeats a group
every ``repeat_interval``; a repeat writes nothing), and a firing alert whose labels match
``declare_when`` declares an incident when none is open. Labels and annotations are outside
text: redacted and cut here, shown inert by the timeline like every other entry.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zconsole.checks.incident import KIND_ALERT, Incident, scheme_levels
from zconsole.checks.secrets import redact
from zconsole.notify.settings import AlertmanagerSettings

if TYPE_CHECKING:
    from zconsole.store import IncidentStore

FIRING = "firing"
RESOLVED = "resolved"
#: Labels named in the timeline line after the alert's name, when present (others are noise).
SHOWN_LABELS = ("severity", "instance", "job", "service", "namespace", "container", "pod")
TEXT_MAX = 300
AUTHOR_ALERTMANAGER = "alertmanager"
AUTHOR_GRAFANA = "grafana"


class PayloadError(ValueError):
    """Not an Alertmanager or Grafana webhook payload."""


@dataclass(frozen=True, slots=True)
class Alert:
    status: str
    name: str
    labels: Mapping[str, str]
    summary: str
    fingerprint: str
    source: str

    def line(self) -> str:
        shown = [f"{k}={self.labels[k]}" for k in SHOWN_LABELS if self.labels.get(k)]
        text = f"{self.status.upper()} {self.name}"
        if shown:
            text += f" [{', '.join(shown)}]"
        if self.summary:
            text += f" — {self.summary}"
        return _cut(redact(text), TEXT_MAX * 2)


def _cut(text: str, limit: int = TEXT_MAX) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _strings(value: object) -> dict[str, str]:
    if not isinstance(value, Mapping):
        return {}
    return {_cut(str(k), 100): _cut(str(v)) for k, v in value.items()}


def _one(raw: object, default_status: str, source: str) -> Alert | None:
    if not isinstance(raw, Mapping):
        return None
    status = str(raw.get("status") or default_status).lower()
    if status not in (FIRING, RESOLVED):
        return None
    labels = _strings(raw.get("labels"))
    annotations = _strings(raw.get("annotations"))
    name = labels.get("alertname") or "alert"
    summary = annotations.get("summary") or annotations.get("description") or ""
    fingerprint = str(raw.get("fingerprint") or "") or "|".join(
        f"{k}={v}" for k, v in sorted(labels.items())
    )
    return Alert(status, name, labels, summary, fingerprint, source)


def _legacy_grafana(payload: Mapping[str, Any]) -> list[Alert]:
    """Grafana's legacy (dashboard) alerting: one rule per request, state alerting / ok."""
    state = str(payload.get("state", "")).lower()
    status = {"alerting": FIRING, "ok": RESOLVED}.get(state)
    if status is None:
        return []
    labels = _strings(payload.get("tags"))
    labels.setdefault("alertname", _cut(str(payload.get("ruleName") or payload.get("title") or "")))
    return [
        Alert(
            status=status,
            name=labels["alertname"] or "alert",
            labels=labels,
            summary=_cut(str(payload.get("message") or "")),
            fingerprint=f"grafana-rule:{payload.get('ruleId', labels['alertname'])}",
            source=AUTHOR_GRAFANA,
        )
    ]


def parse_alerts(payload: object) -> list[Alert]:
    """The alerts of one webhook request (Alertmanager v4, Grafana unified or legacy)."""
    if not isinstance(payload, Mapping):
        raise PayloadError("expected a JSON object")
    if "alerts" in payload:
        alerts = payload["alerts"]
        if not isinstance(alerts, list):
            raise PayloadError("alerts must be a list")
        version = str(payload.get("version", ""))
        # Grafana's unified alerting sends Alertmanager's shape with its own fields beside it.
        grafana = "orgId" in payload or version == "1"
        if not grafana and version != "4":
            raise PayloadError(f"unsupported Alertmanager payload version {version!r} (need 4)")
        source = AUTHOR_GRAFANA if grafana else AUTHOR_ALERTMANAGER
        default = str(payload.get("status") or FIRING)
        return [a for a in (_one(raw, default, source) for raw in alerts) if a is not None]
    if "ruleName" in payload or "evalMatches" in payload:
        return _legacy_grafana(payload)
    raise PayloadError("no alerts in the payload")


class AlertIntake:
    """Writes alerts to the store: the open incident's timeline, or a new incident."""

    def __init__(
        self,
        store: IncidentStore,
        settings: AlertmanagerSettings,
        *,
        scheme: str = "P0-P3",
        on_declared: Callable[[Incident], None] | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.scheme = scheme
        self.on_declared = on_declared
        self._matchers = {k: re.compile(v) for k, v in settings.declare_when.items()}
        self._lock = threading.Lock()
        #: (incident, fingerprint) -> the status last written, so a repeat writes nothing.
        self._written: dict[tuple[str, str], str] = {}

    def wants_incident(self, alert: Alert) -> bool:
        if alert.status != FIRING or not self._matchers:
            return False
        return all(
            pattern.fullmatch(alert.labels.get(name, ""))
            for name, pattern in self._matchers.items()
        )

    def severity_of(self, alert: Alert) -> str:
        levels = scheme_levels(self.scheme)
        value = alert.labels.get(self.settings.severity_label, "")
        for candidate in (self.settings.severity_map.get(value), self.settings.default_severity):
            if candidate in levels:
                return candidate
        return levels[min(2, len(levels) - 1)]

    def take(self, payload: object) -> int:
        """Write one request's alerts; the number of timeline entries written."""
        alerts = parse_alerts(payload)
        written = 0
        with self._lock:
            for alert in alerts:
                incident = self._incident_for(alert)
                if incident is None:
                    continue
                key = (incident.id, alert.fingerprint)
                if self._written.get(key) == alert.status:
                    continue
                self.store.add_entry(incident.id, KIND_ALERT, alert.line(), alert.source)
                self._written[key] = alert.status
                written += 1
        return written

    def _incident_for(self, alert: Alert) -> Incident | None:
        open_now = self.store.open_incidents()
        if open_now:
            return open_now[-1]
        if not self.wants_incident(alert):
            return None
        title = _cut(f"{alert.name}: {alert.summary}" if alert.summary else alert.name, 120)
        incident = self.store.declare(
            title=title,
            severity=self.severity_of(alert),
            author=alert.source,
            services=tuple(v for k in ("service", "job") if (v := alert.labels.get(k))),
            scheme=self.scheme,
        )
        if self.on_declared is not None:
            self.on_declared(incident)
        return incident
