"""Records: postmortem export (golden file), JSON, `zconsole incidents list | export | report`."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from zconsole.cli import main
from zconsole.export import parse_since, postmortem_markdown, report, slug
from zconsole.store import IncidentStore

GOLDEN = Path(__file__).parent / "golden" / "postmortem-INC-2024-01-15-001.md"
T0 = datetime(2024, 1, 15, 14, 35, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def fixture_incident(store: IncidentStore) -> str:
    """The runbook's example incident (runbook 001), as zconsole would have recorded it."""
    inc = store.declare(
        title="Login page returns 500 errors",
        severity="P0",
        author="john.doe@203.0.113.9",
        impact="All users cannot log in (~120 active sessions)",
        services=("web", "postgres"),
        started_at=at(0),
        now=at(2),
    )
    add = store.add_entry
    add(inc.id, "check", "http went CRIT: /accounts/login/ 500 (3 of 3)", "system", at=at(0))
    add(inc.id, "note", "Checked logs and health endpoints", "john.doe@203.0.113.9", at=at(5))
    wrong = add(inc.id, "note", "max_connections is 50", "jane@198.51.100.7", at=at(14))
    store.correct(wrong.id, "max_connections is 100 | pool", "jane@198.51.100.7", at=at(15))
    store.set_status(inc.id, "identified", "john.doe@203.0.113.9", now=at(15))
    add(
        inc.id,
        "action",
        "succeeded: Restart container web (docker restart web)",
        "john.doe@203.0.113.9",
        at=at(30),
    )
    store.set_status(inc.id, "monitoring", "john.doe@203.0.113.9", now=at(35))
    add(
        inc.id,
        "evidence",
        "[postgres] pid=4242 · state=active\nquery=SELECT 1",
        "jane@198.51.100.7",
        at=at(36),
    )
    store.set_status(inc.id, "resolved", "john.doe@203.0.113.9", now=at(47))
    store.update_fields(
        inc.id,
        summary="PostgreSQL's connection pool was exhausted; logins failed for 47 minutes.",
        root_cause="1. Traffic spike (3x normal load)\n2. Pool size too small (100 connections)",
        resolution="Restarted the web service, raised CONN_MAX_AGE to 600.",
        detection="HTTP health check went CRIT at 14:35.",
    )
    return inc.id


def test_export_matches_the_reviewed_golden_file(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    incident_id = fixture_incident(store)
    text = postmortem_markdown(store.get(incident_id), store.entries(incident_id))
    if os.environ.get("ZCONSOLE_UPDATE_GOLDEN"):
        GOLDEN.write_text(text, encoding="utf-8")
    assert text == GOLDEN.read_text(encoding="utf-8")


def test_cli_export_writes_dated_slug_markdown_and_json(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store_path = workdir / "s.db"
    incident_id = fixture_incident(IncidentStore(store_path))
    assert main(["--store", str(store_path), "incidents", "export", incident_id]) == 0
    written = workdir / "incidents" / "2024-01-15-login-page-returns-500-errors.md"
    assert capsys.readouterr().out.strip() == str(Path("incidents") / written.name)
    assert written.read_text(encoding="utf-8") == GOLDEN.read_text(encoding="utf-8")
    out = workdir / "elsewhere"
    args = ["--store", str(store_path), "incidents", "export", incident_id, "--json"]
    assert main([*args, "--out", str(out)]) == 0
    data = json.loads((out / "2024-01-15-login-page-returns-500-errors.json").read_text())
    assert data["incident"]["id"] == incident_id and len(data["entries"]) == 10
    assert main(["--store", str(store_path), "incidents", "export", "INC-1999-01-01-001"]) == 2


def test_cli_list_and_report(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store_path = workdir / "s.db"
    store = IncidentStore(store_path)
    now = datetime.now(UTC)
    # Two incidents this month: acknowledged after 2 and 10 minutes, resolved after 47 and 120.
    for title, sev, ack, resolve in (("A", "P0", 2, 47), ("B", "P1", 10, 120)):
        inc = store.declare(
            title=title,
            severity=sev,
            author="a",
            started_at=now - timedelta(days=1),
            now=now - timedelta(days=1) + timedelta(minutes=ack),
        )
        store.set_status(inc.id, "resolved", "a", now=now - timedelta(days=1, minutes=-resolve))
    old = store.declare(
        title="old", severity="P3", author="a", started_at=now - timedelta(days=90), now=now
    )
    assert main(["--store", str(store_path), "incidents", "list"]) == 0
    listing = capsys.readouterr().out
    assert listing.count("INC-") == 3 and old.id in listing
    assert main(["--store", str(store_path), "incidents", "report", "--since", "30d"]) == 0
    text = capsys.readouterr().out
    assert "Incidents in the last 30d: 2 (0 unresolved)" in text
    assert "  P0: 1\n  P1: 1\n  P2: 0\n  P3: 0\n" in text
    assert "Time to acknowledge: mean 6 minutes, worst 10 minutes" in text
    assert "Time to resolve:     mean 1.4 h, worst 2.0 h" in text
    assert main(["--store", str(store_path), "incidents", "report", "--since", "soon"]) == 2


def test_report_numbers_and_since_parsing() -> None:
    assert parse_since("30d") == timedelta(days=30) and parse_since("2w") == timedelta(days=14)
    assert report([], ("P0", "P1")).tta_mean_s is None
    assert slug("Login: 500 errors!! (web)") == "login-500-errors-web"


def test_an_unusable_store_is_one_line_and_exit_1(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = workdir / "bad.db"
    bad.write_bytes(b"garbage" * 1000)
    assert main(["--store", str(bad), "incidents", "list"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "corrupt" in err


def test_cli_edit_fills_postmortem_sections(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    store_path = workdir / "s.db"
    store = IncidentStore(store_path)
    inc = store.declare(title="Disk full", severity="P1", author="a")
    args = ["--store", str(store_path), "incidents", "edit", inc.id]
    assert main([*args, "--root-cause", "logs not rotated"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("### What Went Well\n- quick\n"))
    assert main([*args, "--lessons", "-"]) == 0
    edited = IncidentStore(store_path).get(inc.id)
    assert edited.root_cause == "logs not rotated"
    assert edited.lessons == "### What Went Well\n- quick\n"
    text = postmortem_markdown(edited, [])
    assert "## Root Cause\nlogs not rotated\n" in text and "- quick" in text
    assert main([*args]) == 2  # nothing to change
    capsys.readouterr()
