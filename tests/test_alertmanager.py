"""Alertmanager in: the listener (a real HTTP server on loopback) takes Alertmanager webhook v4
payloads and Grafana's alert webhooks, and writes firing / resolved alerts into the open
incident's timeline, declaring one for matching labels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.receivers import StatuspageReceiver
from zconsole.checks.incident import KIND_ALERT, KIND_POST
from zconsole.config import Config, load_config
from zconsole.notify import Service, services
from zconsole.notify.alerts import PayloadError, parse_alerts
from zconsole.notify.listeners import AlertListener
from zconsole.store import IncidentStore


def alertmanager_payload(
    status: str, *, severity: str = "critical", **labels: str
) -> dict[str, Any]:
    """An Alertmanager webhook body, version 4, as its docs show it."""
    alert_labels = {
        "alertname": "PostgresTooManyConnections",
        "instance": "db-01:9187",
        "job": "postgres",
        "severity": severity,
        **labels,
    }
    alert = {
        "status": status,
        "labels": alert_labels,
        "annotations": {
            "summary": "Connections at 96 % of max_connections",
            "description": "pg_stat_activity count / max_connections > 0.95 for 5m",
        },
        "startsAt": "2026-12-04T03:12:00.000Z",
        "endsAt": "0001-01-01T00:00:00Z" if status == "firing" else "2026-12-04T03:40:00.000Z",
        "generatorURL": "http://prometheus.local:9090/graph?g0.expr=pg_connections",
        "fingerprint": "c8a4f7e0d5b3a1e2",
    }
    return {
        "version": "4",
        "groupKey": '{}:{alertname="PostgresTooManyConnections"}',
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "zconsole",
        "groupLabels": {"alertname": "PostgresTooManyConnections"},
        "commonLabels": alert_labels,
        "commonAnnotations": alert["annotations"],
        "externalURL": "http://alertmanager.local:9093",
        "alerts": [alert],
    }


def grafana_payload(status: str) -> dict[str, Any]:
    """Grafana alerting's webhook contact point (unified alerting)."""
    return {
        "receiver": "zconsole",
        "status": status,
        "orgId": 1,
        "alerts": [
            {
                "status": status,
                "labels": {"alertname": "HighErrorRate", "service": "api", "severity": "warning"},
                "annotations": {"summary": "5xx above 5 % for 10 minutes"},
                "startsAt": "2026-12-04T03:00:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://grafana.local/alerting/grafana/abc/view",
                "fingerprint": "57c6d9296de2ad39",
                "silenceURL": "http://grafana.local/alerting/silence/new",
                "dashboardURL": "",
                "panelURL": "",
                "values": {"B": 6.2},
                "valueString": "[ var='B' value=6.2 ]",
            }
        ],
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate"},
        "commonAnnotations": {},
        "externalURL": "http://grafana.local/",
        "version": "1",
        "groupKey": '{}:{alertname="HighErrorRate"}',
        "truncatedAlerts": 0,
        "title": "[FIRING:1] HighErrorRate api",
        "state": "alerting",
        "message": "**Firing** …",
    }


def make_config(tmp_path: Path, **alertmanager: Any) -> Config:
    flags: dict[str, Any] = {
        "general": {"store": str(tmp_path / "store.db")},
        "alertmanager": {"listen": "127.0.0.1:0", **alertmanager},
    }
    return load_config(flags=flags, env={}, cwd=tmp_path)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[IncidentStore]:
    opened = IncidentStore(tmp_path / "store.db")
    yield opened
    opened.close()


def started(config: Config, store: IncidentStore) -> Iterator[AlertListener]:
    found: list[Service] = services(config, store)
    [listener] = [s for s in found if isinstance(s, AlertListener)]
    listener.start()
    try:
        yield listener
    finally:
        listener.stop()


@pytest.fixture
def listener(tmp_path: Path, store: IncidentStore) -> Iterator[AlertListener]:
    yield from started(make_config(tmp_path), store)


def send(listener: AlertListener, payload: Any, **headers: str) -> httpx.Response:
    return httpx.post(listener.url + "/alerts", json=payload, headers=headers, timeout=10)


def alert_lines(store: IncidentStore, incident_id: str) -> list[tuple[str, str]]:
    return [(e.author, e.text) for e in store.entries(incident_id) if e.kind == KIND_ALERT]


def test_the_listener_binds_a_free_port_and_stops(tmp_path: Path, store: IncidentStore) -> None:
    [service] = services(make_config(tmp_path), store)
    assert service.address is None
    service.start()
    address = service.address
    assert address is not None and address[0] == "127.0.0.1" and address[1] > 0
    assert httpx.get(f"http://127.0.0.1:{address[1]}/", timeout=5).status_code == 200
    service.stop()
    assert service.address is None
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"http://127.0.0.1:{address[1]}/", timeout=5)


def test_firing_then_resolved_lands_in_the_open_incidents_timeline(
    listener: AlertListener, store: IncidentStore
) -> None:
    incident = store.declare(title="DB slow", severity="P1", author="alice")
    reply = send(listener, alertmanager_payload("firing"))
    assert reply.status_code == 200 and reply.json() == {"status": "ok", "written": 1}
    # Alertmanager repeats a group every repeat_interval: a repeat writes nothing.
    assert send(listener, alertmanager_payload("firing")).json()["written"] == 0
    assert send(listener, alertmanager_payload("resolved")).json()["written"] == 1
    assert alert_lines(store, incident.id) == [
        (
            "alertmanager",
            "FIRING PostgresTooManyConnections [severity=critical, instance=db-01:9187, "
            "job=postgres] — Connections at 96 % of max_connections",
        ),
        (
            "alertmanager",
            "RESOLVED PostgresTooManyConnections [severity=critical, instance=db-01:9187, "
            "job=postgres] — Connections at 96 % of max_connections",
        ),
    ]


def test_without_an_open_incident_nothing_is_declared_by_default(
    listener: AlertListener, store: IncidentStore
) -> None:
    assert send(listener, alertmanager_payload("firing")).json()["written"] == 0
    assert store.incidents() == []


def test_a_grafana_alert_lands_in_the_timeline(
    listener: AlertListener, store: IncidentStore
) -> None:
    incident = store.declare(title="API errors", severity="P2", author="alice")
    assert send(listener, grafana_payload("firing")).json()["written"] == 1
    assert send(listener, grafana_payload("resolved")).json()["written"] == 1
    assert alert_lines(store, incident.id) == [
        (
            "grafana",
            "FIRING HighErrorRate [severity=warning, service=api] — 5xx above 5 % for 10 minutes",
        ),
        (
            "grafana",
            "RESOLVED HighErrorRate [severity=warning, service=api] — 5xx above 5 % for 10 minutes",
        ),
    ]


def test_auto_declare_for_matching_labels_with_the_severity_map(
    tmp_path: Path, store: IncidentStore
) -> None:
    config = make_config(
        tmp_path,
        declare_when={"severity": "critical|page", "job": "postgres"},
        severity_map={"critical": "P0", "warning": "P2"},
    )
    for listener in started(config, store):
        # A warning does not match: no incident.
        assert send(listener, alertmanager_payload("firing", severity="warning")).json() == {
            "status": "ok",
            "written": 0,
        }
        assert store.incidents() == []
        # Another job does not match either (every matcher must hold, in full).
        assert (
            send(listener, alertmanager_payload("firing", job="postgres-exporter")).json()[
                "written"
            ]
            == 0
        )
        assert store.incidents() == []
        assert send(listener, alertmanager_payload("firing")).json()["written"] == 1
        [incident] = store.incidents()
        assert incident.severity == "P0"
        assert incident.title == (
            "PostgresTooManyConnections: Connections at 96 % of max_connections"
        )
        assert incident.services == ("postgres",)
        entries = store.entries(incident.id)
        assert entries[0].author == "alertmanager"
        assert [e.kind for e in entries] == ["system", KIND_ALERT]
        # While it is open a second matching alert is a line in it, not a second incident.
        other = alertmanager_payload("firing")
        other["alerts"][0]["fingerprint"] = "0000aaaa1111bbbb"
        assert send(listener, other).json()["written"] == 1
        assert len(store.incidents()) == 1


def test_an_auto_declared_incident_creates_the_status_page_incident(
    tmp_path: Path, store: IncidentStore
) -> None:
    with StatuspageReceiver("page1", "key-0123456789abcdef") as page:
        flags: dict[str, Any] = {
            "general": {"store": str(tmp_path / "store.db")},
            "alertmanager": {"listen": "127.0.0.1:0", "declare_when": {"severity": "critical"}},
            "notify": [
                {"kind": "statuspage", "url": page.page_url, "token": "key-0123456789abcdef"}
            ],
        }
        config = load_config(flags=flags, env={}, cwd=tmp_path)
        found = services(config, store)
        assert sorted(s.name for s in found) == ["alertmanager", "outbox"]
        for service in found:
            service.start()
        try:
            [listener] = [s for s in found if isinstance(s, AlertListener)]
            assert send(listener, alertmanager_payload("firing")).json()["written"] == 1
            [incident] = store.incidents()
            # The outbox sender (a hosted service) delivers it by itself.
            deadline = 50
            while not page.requests and deadline:
                import time

                time.sleep(0.1)
                deadline -= 1
        finally:
            for service in found:
                service.stop()
    assert [r.method for r in page.requests] == ["POST"]
    assert page.requests[0].body["incident"]["impact_override"] == "major"  # critical -> P1
    posts = [e.text for e in store.entries(incident.id) if e.kind == KIND_POST]
    assert posts == ["statuspage: incident created (investigating), HTTP 201"]


def test_a_token_is_required_when_configured(tmp_path: Path, store: IncidentStore) -> None:
    token_file = tmp_path / "am-token"
    token_file.write_text("am-bearer-0123456789abcdef\n")
    store.declare(title="x", severity="P2", author="alice")
    for listener in started(make_config(tmp_path, token_file=str(token_file)), store):
        assert send(listener, alertmanager_payload("firing")).status_code == 401
        wrong = send(listener, alertmanager_payload("firing"), Authorization="Bearer nope")
        assert wrong.status_code == 401
        assert "am-bearer" not in wrong.text
        right = send(
            listener,
            alertmanager_payload("firing"),
            Authorization="Bearer am-bearer-0123456789abcdef",
        )
        assert right.json()["written"] == 1


def test_bad_bodies_are_refused_with_400_and_413(listener: AlertListener) -> None:
    not_json = httpx.post(listener.url, content=b"{nope", timeout=5)
    assert not_json.status_code == 400
    old = alertmanager_payload("firing")
    old["version"] = "3"
    assert send(listener, old).status_code == 400
    huge = httpx.post(listener.url, content=b"[" + b" " * (1 << 20) + b"]", timeout=10)
    assert huge.status_code == 413


def test_outside_text_in_labels_is_cut_and_kept_to_one_line(
    listener: AlertListener, store: IncidentStore
) -> None:
    incident = store.declare(title="x", severity="P2", author="alice")
    payload = alertmanager_payload("firing", instance="db\x1b]52;c;ZWNobyBoaQ==\x07\n" + "a" * 5000)
    assert send(listener, payload).json()["written"] == 1
    [(_, text)] = alert_lines(store, incident.id)
    assert "\n" not in text
    assert len(text) <= 600


def test_parse_alerts_rejects_what_is_not_a_webhook_payload() -> None:
    with pytest.raises(PayloadError):
        parse_alerts([1, 2])
    with pytest.raises(PayloadError):
        parse_alerts({"hello": "world"})
    legacy = {
        "ruleName": "CPU",
        "ruleId": 3,
        "state": "alerting",
        "message": "cpu > 90",
        "tags": {},
    }
    [alert] = parse_alerts(json.loads(json.dumps(legacy)))
    assert (alert.status, alert.name, alert.source) == ("firing", "CPU", "grafana")


def test_a_taken_port_is_one_clear_error(tmp_path: Path, store: IncidentStore) -> None:
    from zconsole.notify.listeners import ServiceError

    for first in started(make_config(tmp_path), store):
        assert first.address is not None
        port = first.address[1]
        [second] = services(make_config(tmp_path, listen=f"127.0.0.1:{port}"), store)
        with pytest.raises(ServiceError, match=f"alertmanager: cannot listen on 127.0.0.1:{port}"):
            second.start()
