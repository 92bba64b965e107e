"""The incident store: durability, concurrency, migrations, and the unusable-store message."""

from __future__ import annotations

import itertools
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from zconsole.store import SCHEMA_VERSION, IncidentStore, StoreUnavailable, default_store_path

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from zconsole.store import IncidentStore
    path, incident, who, other, n, go = sys.argv[1:7]
    store = IncidentStore(path)
    Path(go + "." + who).touch()  # ready
    while not Path(go).exists():
        time.sleep(0.001)
    store.add_entry(incident, "note", f"{who} 0", who)
    # Make the overlap certain: go on only once the other writer has written as well.
    while not any(e.author == other for e in store.entries_since(0, incident)):
        time.sleep(0.001)
    for i in range(1, int(n)):
        store.add_entry(incident, "note", f"{who} {i}", who)
    """
)


def _declare(store: IncidentStore) -> str:
    return store.declare(title="Login returns 500", severity="P0", author="lead").id


def test_schema_is_versioned_and_in_wal_mode(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    assert store.schema_version() == SCHEMA_VERSION >= 1
    db = sqlite3.connect(tmp_path / "s.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"incidents", "entries", "drafts"} <= tables


def test_default_path_is_in_the_user_data_dir(tmp_path: Path) -> None:
    # conftest points XDG_DATA_HOME at a temporary home.
    assert str(default_store_path()).startswith(os.environ["XDG_DATA_HOME"])
    store = IncidentStore()
    assert store.path == default_store_path() and store.path.exists()


def test_an_old_schema_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.db"
    sqlite3.connect(old).close()  # an empty file: user_version 0
    assert IncidentStore(old).schema_version() == SCHEMA_VERSION
    newer = tmp_path / "newer.db"
    db = sqlite3.connect(newer)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreUnavailable, match="newer than this zconsole"):
        IncidentStore(newer)


def test_ids_count_per_day_and_entries_are_stamped_utc(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    first = _declare(store)
    store.set_status(first, "resolved", "alice")
    second = _declare(store)
    day = time.strftime("%Y-%m-%d", time.gmtime())
    assert (first, second) == (f"INC-{day}-001", f"INC-{day}-002")
    entry = store.add_entry(second, "note", "checked logs", "bob@10.0.0.5")
    again = store.entry(entry.id)
    offset = again.at.utcoffset()
    assert offset is not None and offset.total_seconds() == 0
    assert (again.author, again.text) == ("bob@10.0.0.5", "checked logs")


def test_status_and_severity_changes_write_system_entries(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    incident_id = _declare(store)
    store.set_status(incident_id, "identified", "alice")
    store.set_severity(incident_id, "P1", "alice")
    store.set_status(incident_id, "identified", "alice")  # no change, no entry
    resolved = store.set_status(incident_id, "resolved", "alice")
    kinds = [(e.kind, e.text) for e in store.entries(incident_id)]
    assert kinds[1:] == [
        ("status", "Status: investigating → identified"),
        ("severity", "Severity: P0 - Critical → P1 - High"),
        ("status", "Status: identified → resolved"),
    ]
    assert resolved.resolved_at is not None and not resolved.is_open


def test_a_correction_keeps_the_original(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    incident_id = _declare(store)
    original = store.add_entry(incident_id, "note", "restarted web-1", "alice")
    fix = store.correct(original.id, "restarted web-2 (not web-1)", "alice")
    entries = {e.id: e for e in store.entries(incident_id)}
    assert entries[original.id].text == "restarted web-1"
    assert entries[original.id].corrected_by == fix.id
    assert (entries[fix.id].kind, entries[fix.id].corrects) == ("correction", original.id)
    assert not hasattr(store, "delete_entry")


def test_entries_since_and_windows(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    incident_id = _declare(store)
    mark = store.last_entry_id()
    for i in range(50):
        store.add_entry(incident_id, "note", f"n{i}", "alice")
    assert [e.text for e in store.entries_since(mark)] == [f"n{i}" for i in range(50)]
    window = store.entries_window(incident_id, 11, 5)  # row 0 is the declaration
    assert [e.text for e in window] == ["n10", "n11", "n12", "n13", "n14"]
    assert store.count_and_last(incident_id) == (51, store.last_entry_id())


def test_drafts_are_kept_until_dropped(tmp_path: Path) -> None:
    store = IncidentStore(tmp_path / "s.db")
    incident_id = _declare(store)
    store.save_draft("note:alice", "half a tho", incident_id=incident_id)
    reopened = IncidentStore(tmp_path / "s.db")
    assert reopened.draft("note:alice") == ("half a tho", incident_id, None)
    reopened.save_draft("note:alice", "   ")  # emptied editor -> no draft
    assert reopened.draft("note:alice") is None


def test_two_processes_writing_500_entries_each_lose_none(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = IncidentStore(path)
    incident_id = _declare(store)
    go = tmp_path / "go"
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), incident_id, who, other, "500", str(go)],
            cwd=tmp_path,
            stderr=subprocess.PIPE,
            text=True,
        )
        for who, other in (("alice", "bob"), ("bob", "alice"))
    ]
    deadline = time.monotonic() + 60
    while not all(Path(f"{go}.{who}").exists() for who in ("alice", "bob")):
        assert all(w.poll() is None for w in writers), [w.communicate()[1] for w in writers]
        assert time.monotonic() < deadline, "writers did not start"
        time.sleep(0.01)
    go.touch()  # both start together
    for writer in writers:
        _, err = writer.communicate(timeout=240)
        assert writer.returncode == 0, err
    notes = [e for e in store.entries(incident_id) if e.kind == "note"]
    assert len(notes) == 1000
    for who in ("alice", "bob"):
        mine = [int(e.text.split()[1]) for e in notes if e.author == who]
        assert mine == list(range(500))  # each process's entries all there, in order
    authors = [e.author for e in notes]
    # They really ran at the same time: each waited for the other's first entry.
    switches = sum(1 for a, b in itertools.pairwise(authors) if a != b)
    assert switches >= 2


def test_another_processs_entries_are_seen_by_polling(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    mine = IncidentStore(path)
    incident_id = _declare(mine)
    seen = mine.last_entry_id()
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from zconsole.store import IncidentStore;"
            "IncidentStore(sys.argv[1]).add_entry(sys.argv[2], 'note', 'from bob', 'bob')",
            str(path),
            incident_id,
        ],
        check=True,
        cwd=tmp_path,
    )
    assert [(e.author, e.text) for e in mine.entries_since(seen)] == [("bob", "from bob")]


def test_a_corrupt_store_gives_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite at all\n" * 200)
    with pytest.raises(StoreUnavailable) as info:
        IncidentStore(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "corrupt" in message


def test_a_locked_store_gives_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    IncidentStore(path)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked by another process"):
            IncidentStore(path, busy_timeout_ms=100)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    IncidentStore(path, busy_timeout_ms=100)  # and usable once released


def test_a_lock_taken_after_opening_becomes_store_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = IncidentStore(path, busy_timeout_ms=100)
    incident_id = _declare(store)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable, match="locked"):
            store.add_entry(incident_id, "note", "x", "alice")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    store.add_entry(incident_id, "note", "after", "alice")
    assert store.entries(incident_id)[-1].text == "after"


def _immutable(path: Path, on: bool) -> bool:
    """chattr +i: read-only even for root (the tests run as root in CI)."""
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


def test_a_read_only_store_gives_one_clear_line(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = IncidentStore(path)
    _declare(store)
    store.close()
    for extra in (Path(f"{path}-wal"), Path(f"{path}-shm")):
        extra.unlink(missing_ok=True)
    if not _immutable(path, True):
        pytest.skip("chattr +i is not available here")
    try:
        with pytest.raises(StoreUnavailable) as info:
            IncidentStore(path)
    finally:
        _immutable(path, False)
    message = str(info.value)
    assert "read-only" in message and "\n" not in message
