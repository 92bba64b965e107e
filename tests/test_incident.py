"""Lifecycle logic: triage, schemes, clocks, check watch, authors, status updates, controller."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zconsole.checks.base import CheckResult, Snapshot, Status
from zconsole.checks.incident import (
    CheckWatch,
    Incident,
    IncidentError,
    IncidentSettings,
    clocks,
    default_author,
    propose_severity,
    severity_label,
    ssh_client_host,
)
from zconsole.checks.secrets import register_secret
from zconsole.incident_controller import IncidentController
from zconsole.store import IncidentStore
from zconsole.updates import render

T0 = datetime(2026, 11, 23, 14, 35, tzinfo=UTC)


def result(name: str, status: Status, summary: str = "") -> CheckResult:
    snap: Snapshot[None] = Snapshot(
        check=name, status=status, summary=summary, collected_at=T0, duration_ms=1.0
    )
    return CheckResult(latest=snap, last_good=snap, last_good_at=0.0)


@pytest.mark.parametrize(
    ("answers", "p0_p3", "p1_p4"),
    [
        ({"service_down": True}, "P0", "P1"),
        ({"login_broken": True}, "P0", "P1"),
        ({"core_broken": True}, "P1", "P2"),
        ({"one_tenant": True}, "P2", "P3"),
        ({"cosmetic": True}, "P3", "P4"),
        ({"core_broken": True, "cosmetic": True}, "P1", "P2"),  # the first yes decides
        ({}, "P2", "P3"),
    ],
)
def test_triage_proposes_the_runbooks_severity(
    answers: dict[str, bool], p0_p3: str, p1_p4: str
) -> None:
    assert propose_severity(answers, "P0-P3") == p0_p3
    assert propose_severity(answers, "P1-P4") == p1_p4


def test_severity_labels_and_unknown_scheme() -> None:
    assert severity_label("P0") == "P0 - Critical"
    assert severity_label("P1", "P1-P4") == "P1 - Critical"
    with pytest.raises(IncidentError):
        propose_severity({}, "SEV1-SEV5")


def test_author_is_the_unix_user_and_the_ssh_client_host() -> None:
    env = {"SSH_CLIENT": "203.0.113.9 51234 22", "USER": "x"}
    assert ssh_client_host(env) == "203.0.113.9"
    assert default_author(env).endswith("@203.0.113.9")
    assert ssh_client_host({"SSH_CONNECTION": "198.51.100.2 1 127.0.0.1 22"}) == "198.51.100.2"
    assert "@" not in default_author({})


def incident(severity: str = "P0", **kw: object) -> Incident:
    fields: dict[str, object] = {
        "id": "INC-2026-11-23-001",
        "title": "Login returns 500",
        "severity": severity,
        "status": "investigating",
        "started_at": T0,
        "acknowledged_at": T0 + timedelta(minutes=2),
    }
    fields.update(kw)
    return Incident(**fields)  # type: ignore[arg-type]


def test_clocks_count_from_the_start_with_runbook_targets() -> None:
    config = IncidentSettings()
    c = clocks(incident("P0"), T0 + timedelta(minutes=10), config)
    assert c.elapsed_s == 600
    assert c.next_update_s == 300 and not c.update_due  # P0: every 15 min
    assert (c.respond_target_s, c.resolve_target_s) == (15 * 60, 2 * 3600)
    assert c.respond_left_s is None  # acknowledged
    assert c.resolve_left_s == 2 * 3600 - 600
    late = clocks(incident("P0"), T0 + timedelta(minutes=16), config)
    assert late.update_due and late.next_update_s == -60
    posted = clocks(
        incident("P0"),
        T0 + timedelta(minutes=16),
        config,
        last_update_at=T0 + timedelta(minutes=14),
    )
    assert not posted.update_due and posted.next_update_s == 13 * 60
    p3 = clocks(incident("P3", acknowledged_at=None), T0 + timedelta(hours=25), config)
    assert p3.respond_target_s == 24 * 3600 and p3.respond_left_s == -3600
    assert p3.resolve_target_s == 5 * 86400


def test_clocks_stop_at_resolution() -> None:
    done = incident(status="resolved", resolved_at=T0 + timedelta(minutes=47))
    c = clocks(done, T0 + timedelta(hours=5), IncidentSettings())
    assert c.elapsed_s == 47 * 60 and not c.update_due and c.resolve_left_s is None


def test_check_watch_reports_once_each_way_after_hysteresis() -> None:
    watch = CheckWatch(hysteresis_s=30)
    assert watch.feed(result("postgres", Status.CRIT, "connections 99%"), 0) is None
    assert watch.feed(result("postgres", Status.CRIT, "connections 99%"), 29) is None
    line = watch.feed(result("postgres", Status.CRIT, "connections 99%"), 30)
    assert line == "postgres went CRIT: connections 99%"
    assert watch.feed(result("postgres", Status.CRIT, "connections 99%"), 60) is None  # once
    assert watch.feed(result("postgres", Status.OK, "12 conns"), 61) is None
    assert watch.feed(result("postgres", Status.OK, "12 conns"), 91) == (
        "postgres recovered (OK): 12 conns"
    )


def test_a_flapping_check_writes_nothing() -> None:
    watch = CheckWatch(hysteresis_s=30)
    lines = [
        watch.feed(result("redis", Status.CRIT if i % 2 else Status.OK, "flap"), i * 10)
        for i in range(60)
    ]
    assert lines == [None] * 60
    unreachable = [watch.feed(result("http", Status.ERROR, "refused"), t) for t in (0, 30)]
    assert unreachable == [None, "http went ERROR: refused"]


def test_status_update_templates() -> None:
    config = IncidentSettings()
    inc = incident(impact="Login page returns 500 errors", services=("web", "postgres"))
    text = render("detected", "slack", inc, [], now=T0 + timedelta(minutes=5), config=config)
    assert text.startswith("🚨 **INCIDENT DETECTED** 🚨\n")
    assert "**Severity:** P0 - Critical\n" in text
    assert "**Started:** 2026-11-23 14:35 UTC" in text
    assert "**Next Update:** In 15 minutes (14:55 UTC)" in text
    plain = render("update", "plain", inc, [], now=T0 + timedelta(minutes=20), config=config)
    assert plain.startswith("INCIDENT UPDATE - P0\n")
    assert "Duration: 20 minutes" in plain and plain.endswith("Next update in 15 minutes.\n")
    done = incident(
        status="resolved", resolved_at=T0 + timedelta(minutes=47), root_cause="pool exhausted"
    )
    resolved = render("resolved", "plain", done, [], now=T0, config=config)
    assert "Total Duration: 47 minutes (14:35 - 15:22 UTC)" in resolved
    assert "Root Cause: pool exhausted" in resolved


def test_controller_records_only_into_an_open_incident(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    controller = IncidentController(store, IncidentSettings(hysteresis_s=0), author="alice")
    controller.record("action", "restart web-1")  # nothing open: no-op
    assert store.count_entries() == 0
    inc = controller.declare(title="DB down", severity="P0")
    assert inc is not None
    controller.record("action", "restart web-1")
    assert controller.watch_result(result("postgres", Status.CRIT, "down"), 0.0)
    assert [e.kind for e in store.entries(inc.id)] == ["system", "action", "check"]
    assert inc.commander == "alice" and inc.responders == ("alice",)
    controller.set_status("resolved")
    assert controller.open_incident is None
    controller.record("action", "after")
    assert store.count_entries(inc.id) == 4  # declared, action, check, status


def test_controller_polls_another_processs_incident(tmp_path: Path) -> None:
    mine = IncidentController(IncidentStore(tmp_path / "s.db"), IncidentSettings(), author="a")
    theirs = IncidentController(IncidentStore(tmp_path / "s.db"), IncidentSettings(), author="b")
    inc = theirs.declare(title="Queue backlog", severity="P1")
    assert inc is not None
    theirs.note("purged celery")
    new = mine.poll()
    assert mine.open_incident is not None and mine.open_incident.id == inc.id
    assert [e.text for e in new][-1] == "purged celery"


def test_secrets_never_reach_the_store(tmp_path: Path) -> None:
    register_secret("s3cr3t-Pw-in-store")
    store = IncidentStore(tmp_path / "s.db")
    controller = IncidentController(store, IncidentSettings(), author="a")
    controller.declare(title="redis://:s3cr3t-Pw-in-store@127.0.0.1 down", severity="P0")
    controller.note("tried postgresql://app:s3cr3t-Pw-in-store@127.0.0.1/db")
    controller.save_draft("draft with s3cr3t-Pw-in-store")
    store.close()
    for file in tmp_path.iterdir():
        assert b"s3cr3t-Pw-in-store" not in file.read_bytes(), file


def test_start_is_when_the_first_failing_check_went_bad(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    controller = IncidentController(store, IncidentSettings(), author="alice")
    early = result("postgres", Status.CRIT, "down")  # collected at T0
    controller.watch_result(early, 0.0)
    controller.watch_result(result("redis", Status.OK, "fine"), 0.0)
    inc = controller.declare(title="DB down", severity="P0")
    assert inc is not None
    assert inc.started_at == T0 and inc.acknowledged_at is not None and inc.acknowledged_at > T0
    bob = IncidentController(IncidentStore(tmp_path / "s.db"), IncidentSettings(), author="bob")
    bob.note("joined")
    assert store.get(inc.id).responders == ("alice", "bob")


def test_controller_never_raises_when_the_store_stops_answering(tmp_path: Path) -> None:
    """One error policy: a store locked by another process makes every call return its
    "nothing", says why in ``problem``, tells the user once per write they asked for, and the
    controller works again once the lock is gone."""
    path = tmp_path / "s.db"
    told: list[str] = []
    controller = IncidentController(
        IncidentStore(path, busy_timeout_ms=100),
        IncidentSettings(),
        author="alice",
        on_error=told.append,
    )
    inc = controller.declare(title="DB down", severity="P0")
    assert inc is not None
    controller.poll()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # WAL: readers go on, every write waits, then gives up
    try:
        assert controller.note("checking pg") is None
        assert "locked" in controller.problem
        assert told == [controller.problem + " — the note is kept as a draft"]
        assert controller.set_status("identified") is None
        assert controller.resolve(root_cause="pool") is None
        controller.posted_update("still down")
        controller.record("action", "restart web-1")
        assert len(told) == 5  # each write the user asked for, told once
        assert controller.open_incident is not None and controller.open_incident.is_open
        assert controller.poll() == []  # nothing was written
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert controller.note("checking pg") is not None
    assert controller.problem == ""
    assert controller.set_status("identified") is not None
