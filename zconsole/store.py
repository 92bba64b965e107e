"""The incident store: one SQLite file (stdlib), shared by every zconsole process on the host.

- WAL mode and ``synchronous=FULL``: readers never block the writer, and a committed entry
  survives kill -9 and power loss.
- Every write is its own short ``BEGIN IMMEDIATE`` transaction; ``busy_timeout`` lets two
  responders' processes take turns instead of failing.
- The schema is versioned with ``PRAGMA user_version``; :data:`MIGRATIONS` brings an older file
  forward.
- A store that is locked, read-only or corrupt raises :class:`StoreUnavailable` with one line the
  app shows; the panes keep running without incident features.
- Other processes' entries are seen by polling :meth:`IncidentStore.entries_since` (an indexed
  ``id > ?`` query).

Every text written goes through :func:`zconsole.checks.secrets.redact`.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import platformdirs

from zconsole.checks.incident import (
    KIND_CORRECTION,
    KIND_SEVERITY,
    KIND_STATUS,
    KIND_SYSTEM,
    RESOLVED,
    Entry,
    Incident,
    check_status,
    make_incident_id,
    scheme_levels,
    severity_change_text,
    status_change_text,
)
from zconsole.checks.secrets import redact

STORE_NAME = "incidents.sqlite3"
BUSY_TIMEOUT_MS = 5000

#: Schema migrations; index i brings user_version i to i + 1. Append, never edit.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        day TEXT NOT NULL,
        title TEXT NOT NULL,
        severity TEXT NOT NULL,
        scheme TEXT NOT NULL DEFAULT 'P0-P3',
        status TEXT NOT NULL,
        impact TEXT NOT NULL DEFAULT '',
        services TEXT NOT NULL DEFAULT '[]',
        commander TEXT NOT NULL DEFAULT '',
        responders TEXT NOT NULL DEFAULT '[]',
        started_at TEXT NOT NULL,
        acknowledged_at TEXT,
        resolved_at TEXT,
        summary TEXT NOT NULL DEFAULT '',
        root_cause TEXT NOT NULL DEFAULT '',
        resolution TEXT NOT NULL DEFAULT '',
        detection TEXT NOT NULL DEFAULT '',
        action_items TEXT NOT NULL DEFAULT '',
        lessons TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX incidents_day ON incidents(day);
    CREATE TABLE entries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        incident_id TEXT NOT NULL REFERENCES incidents(id),
        at TEXT NOT NULL,
        author TEXT NOT NULL,
        kind TEXT NOT NULL,
        text TEXT NOT NULL,
        corrects INTEGER REFERENCES entries(id)
    );
    CREATE INDEX entries_incident ON entries(incident_id, id);
    CREATE INDEX entries_corrects ON entries(corrects) WHERE corrects IS NOT NULL;
    CREATE TABLE drafts (
        key TEXT PRIMARY KEY,
        incident_id TEXT,
        corrects INTEGER,
        text TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_ENTRY_COLUMNS = (
    "e.id, e.incident_id, e.at, e.author, e.kind, e.text, e.corrects, "
    "(SELECT max(c.id) FROM entries c WHERE c.corrects = e.id)"
)


class StoreUnavailable(Exception):
    """The store cannot be used (locked, read-only, corrupt, missing directory); one line."""


class StoreReadOnly(StoreUnavailable):
    """A write to a store opened read-only (``--read-only``, or a file we may only read)."""


#: What every refused write says, whichever write it was.
READ_ONLY_WRITES = "read-only: the incident store is only read here, nothing is written"


def default_store_path() -> Path:
    return Path(platformdirs.user_data_dir("zconsole")) / STORE_NAME


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    return (dt.astimezone(UTC) if dt.tzinfo else dt.replace(tzinfo=UTC)).isoformat()


def _dt(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _now() -> datetime:
    return datetime.now(UTC)


def _explain(path: Path, exc: BaseException) -> str:
    text = str(exc)
    lower = text.lower()
    if "locked" in lower or "busy" in lower:
        why = "locked by another process (try again, or --store another file)"
    elif "readonly" in lower or "read-only" in lower or "permission" in lower:
        why = "read-only (check the file's permissions, or --store another file)"
    elif "not a database" in lower or "malformed" in lower or "corrupt" in lower:
        why = "corrupt: not a zconsole store (move it aside, or --store another file)"
    elif "unable to open" in lower:
        why = "cannot be opened (does the directory exist and is it writable?)"
    elif "newer" in lower:
        why = text
    else:
        why = redact(text)
    return f"incident store {path}: {why}"


class IncidentStore:
    """One connection per process; thread-safe through a lock (writes are milliseconds)."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        busy_timeout_ms: int | None = None,
        read_only: bool = False,
    ):
        self.path = Path(path) if path else default_store_path()
        if busy_timeout_ms is None:
            busy_timeout_ms = BUSY_TIMEOUT_MS
        self._lock = threading.RLock()
        #: Opened for reading only: every write raises StoreReadOnly, nothing is created.
        self.read_only = read_only
        if read_only:
            self._db = self._connect_read_only(busy_timeout_ms)
            return
        try:
            if path is None or not str(path):
                self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path),
                isolation_level=None,  # we open every transaction ourselves
                check_same_thread=False,
                timeout=busy_timeout_ms / 1000,
            )
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(_explain(self.path, exc)) from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise sqlite3.OperationalError("attempt to write a readonly database")
            self._db.execute("PRAGMA synchronous = FULL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
            # Find out now, not at the first note, if we cannot write (read-only, locked).
            self._probe_write()
        except (sqlite3.Error, OSError) as exc:
            self._db.close()
            raise StoreUnavailable(_explain(self.path, exc)) from None

    def _connect_read_only(self, busy_timeout_ms: int) -> sqlite3.Connection:
        """mode=ro sees other processes' writes; where SQLite cannot share the WAL index (a
        folder we may not write and no writer running) the file is read as it is (immutable)."""
        uri = "file:" + quote(str(self.path.resolve()))
        last: sqlite3.Error | None = None
        for flags in ("?mode=ro", "?mode=ro&immutable=1"):
            try:
                db = sqlite3.connect(
                    uri + flags,
                    uri=True,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=busy_timeout_ms / 1000,
                )
                version = int(db.execute("PRAGMA user_version").fetchone()[0])
                db.execute("SELECT count(*) FROM incidents").fetchone()
            except sqlite3.Error as exc:
                last = exc
                continue
            if version != SCHEMA_VERSION:
                db.close()
                raise StoreUnavailable(
                    _explain(self.path, sqlite3.OperationalError(f"schema version {version}"))
                )
            return db
        raise StoreUnavailable(_explain(self.path, last or sqlite3.Error("cannot open")))

    @classmethod
    def open(cls, path: Path | str | None = None, *, read_only: bool = False) -> IncidentStore:
        """The store for writing, or for reading only when asked or when the file is one we may
        read but not write (a viewer of a responder's store sees the incident)."""
        if read_only:
            return cls(path, read_only=True)
        try:
            return cls(path)
        except StoreUnavailable:
            target = Path(path) if path else default_store_path()
            writable = os.access(target, os.W_OK) and os.access(target.parent, os.W_OK)
            if target.is_file() and os.access(target, os.R_OK) and not writable:
                return cls(target, read_only=True)
            raise

    # -- plumbing ------------------------------------------------------------------------------

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; any SQLite failure becomes StoreUnavailable."""
        if self.read_only:
            raise StoreReadOnly(READ_ONLY_WRITES)
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(_explain(self.path, exc)) from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreUnavailable(_explain(self.path, exc)) from None
                raise

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreUnavailable(_explain(self.path, exc)) from None

    def _probe_write(self) -> None:
        """A write that is rolled back: fails now if the file is read-only or locked."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        finally:
            self._db.execute("ROLLBACK")

    def schema_version(self) -> int:
        return int(self._read("PRAGMA user_version")[0][0])

    def _migrate(self) -> None:
        version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise sqlite3.OperationalError(
                f"schema version {version} is newer than this zconsole knows ({SCHEMA_VERSION})"
            )
        if version == SCHEMA_VERSION:
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            # Re-read under the write lock: another process may have migrated meanwhile.
            version = int(self._db.execute("PRAGMA user_version").fetchone()[0])
            for index in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[index].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version = {index + 1}")
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    # -- incidents -----------------------------------------------------------------------------

    def declare(
        self,
        *,
        title: str,
        severity: str,
        author: str,
        impact: str = "",
        services: tuple[str, ...] = (),
        commander: str = "",
        responders: tuple[str, ...] = (),
        scheme: str = "P0-P3",
        started_at: datetime | None = None,
        now: datetime | None = None,
    ) -> Incident:
        """Open a new incident with the next ID of the day and its first timeline entry."""
        if severity not in scheme_levels(scheme):
            raise ValueError(f"severity {severity!r} not in scheme {scheme}")
        now = now or _now()
        started = started_at or now
        day = f"{now.astimezone(UTC):%Y-%m-%d}"
        title = redact(title.strip()) or "Untitled incident"
        with self._write() as db:
            count = db.execute("SELECT count(*) FROM incidents WHERE day = ?", (day,)).fetchone()
            incident_id = make_incident_id(now.astimezone(UTC), int(count[0]) + 1)
            db.execute(
                "INSERT INTO incidents (id, day, title, severity, scheme, status, impact, services,"
                " commander, responders, started_at, acknowledged_at)"
                " VALUES (?, ?, ?, ?, ?, 'investigating', ?, ?, ?, ?, ?, ?)",
                (
                    incident_id,
                    day,
                    title,
                    severity,
                    scheme,
                    redact(impact),
                    json.dumps(list(services)),
                    commander or author,
                    json.dumps(list(responders or (author,))),
                    _iso(started),
                    _iso(now),
                ),
            )
            text = f"Incident declared ({severity}): {title}"
            if impact:
                text += f" — impact: {redact(impact)}"
            self._insert_entry(db, incident_id, KIND_SYSTEM, text, author, now)
        return self.get(incident_id)

    def get(self, incident_id: str) -> Incident:
        rows = self._read("SELECT * FROM incidents WHERE id = ?", (incident_id,))
        if not rows:
            raise KeyError(incident_id)
        return self._incident(rows[0])

    def _incident(self, row: Any) -> Incident:
        (
            id_,
            _day,
            title,
            severity,
            scheme,
            status,
            impact,
            services,
            commander,
            responders,
            started_at,
            acknowledged_at,
            resolved_at,
            summary,
            root_cause,
            resolution,
            detection,
            action_items,
            lessons,
        ) = row
        return Incident(
            id=id_,
            title=title,
            severity=severity,
            scheme=scheme,
            status=status,
            impact=impact,
            services=tuple(json.loads(services)),
            commander=commander,
            responders=tuple(json.loads(responders)),
            started_at=_dt(started_at) or _now(),
            acknowledged_at=_dt(acknowledged_at),
            resolved_at=_dt(resolved_at),
            summary=summary,
            root_cause=root_cause,
            resolution=resolution,
            detection=detection,
            action_items=action_items,
            lessons=lessons,
        )

    def incidents(self, *, since: datetime | None = None) -> list[Incident]:
        """Every incident, oldest first (optionally only those started since ``since``)."""
        if since is None:
            rows = self._read("SELECT * FROM incidents ORDER BY started_at, id")
        else:
            rows = self._read(
                "SELECT * FROM incidents WHERE started_at >= ? ORDER BY started_at, id",
                (_iso(since),),
            )
        return [self._incident(r) for r in rows]

    def open_incidents(self) -> list[Incident]:
        rows = self._read(
            "SELECT * FROM incidents WHERE status != ? ORDER BY started_at, id", (RESOLVED,)
        )
        return [self._incident(r) for r in rows]

    def set_status(
        self, incident_id: str, status: str, author: str, now: datetime | None = None
    ) -> Incident:
        check_status(status)
        now = now or _now()
        with self._write() as db:
            old = db.execute("SELECT status FROM incidents WHERE id = ?", (incident_id,)).fetchone()
            if old is None:
                raise KeyError(incident_id)
            if old[0] != status:
                db.execute(
                    "UPDATE incidents SET status = ?, resolved_at = ? WHERE id = ?",
                    (status, _iso(now) if status == RESOLVED else None, incident_id),
                )
                text = status_change_text(old[0], status)
                self._insert_entry(db, incident_id, KIND_STATUS, text, author, now)
        return self.get(incident_id)

    def set_severity(
        self, incident_id: str, severity: str, author: str, now: datetime | None = None
    ) -> Incident:
        incident = self.get(incident_id)
        if severity not in scheme_levels(incident.scheme):
            raise ValueError(f"severity {severity!r} not in scheme {incident.scheme}")
        with self._write() as db:
            if incident.severity != severity:
                db.execute(
                    "UPDATE incidents SET severity = ? WHERE id = ?", (severity, incident_id)
                )
                text = severity_change_text(incident.severity, severity, incident.scheme)
                self._insert_entry(db, incident_id, KIND_SEVERITY, text, author, now or _now())
        return self.get(incident_id)

    POSTMORTEM_FIELDS = (
        "summary",
        "root_cause",
        "resolution",
        "detection",
        "action_items",
        "lessons",
        "impact",
        "title",
        "commander",
    )

    def update_fields(self, incident_id: str, **fields: str) -> Incident:
        """Set postmortem sections (summary, root_cause, ...): plain columns, no entry."""
        unknown = set(fields) - set(self.POSTMORTEM_FIELDS)
        if unknown:
            raise ValueError(f"unknown incident fields: {', '.join(sorted(unknown))}")
        with self._write() as db:
            for name, value in fields.items():
                db.execute(
                    f"UPDATE incidents SET {name} = ? WHERE id = ?", (redact(value), incident_id)
                )
        return self.get(incident_id)

    def add_responder(self, incident_id: str, responder: str) -> Incident:
        with self._write() as db:
            row = db.execute(
                "SELECT responders FROM incidents WHERE id = ?", (incident_id,)
            ).fetchone()
            if row is None:
                raise KeyError(incident_id)
            responders = json.loads(row[0])
            if responder not in responders:
                responders.append(responder)
                db.execute(
                    "UPDATE incidents SET responders = ? WHERE id = ?",
                    (json.dumps(responders), incident_id),
                )
        return self.get(incident_id)

    # -- entries -------------------------------------------------------------------------------

    def _insert_entry(
        self,
        db: sqlite3.Connection,
        incident_id: str,
        kind: str,
        text: str,
        author: str,
        at: datetime,
        corrects: int | None = None,
    ) -> Entry:
        text = redact(text)
        author = redact(author)
        cur = db.execute(
            "INSERT INTO entries (incident_id, at, author, kind, text, corrects)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (incident_id, _iso(at), author, kind, text, corrects),
        )
        return Entry(
            id=int(cur.lastrowid or 0),
            incident_id=incident_id,
            at=at.astimezone(UTC),
            author=author,
            kind=kind,
            text=text,
            corrects=corrects,
        )

    def add_entry(
        self,
        incident_id: str,
        kind: str,
        text: str,
        author: str,
        *,
        at: datetime | None = None,
    ) -> Entry:
        """Append one entry in its own committed transaction (redacted)."""
        with self._write() as db:
            return self._insert_entry(db, incident_id, kind, text, author, at or _now())

    def correct(
        self, entry_id: int, text: str, author: str, *, at: datetime | None = None
    ) -> Entry:
        """Record a correction of ``entry_id``; the original stays as it was."""
        with self._write() as db:
            row = db.execute("SELECT incident_id FROM entries WHERE id = ?", (entry_id,)).fetchone()
            if row is None:
                raise KeyError(entry_id)
            return self._insert_entry(
                db, row[0], KIND_CORRECTION, text, author, at or _now(), corrects=entry_id
            )

    @staticmethod
    def _entry(row: Any) -> Entry:
        id_, incident_id, at, author, kind, text, corrects, corrected_by = row
        return Entry(
            id=int(id_),
            incident_id=incident_id,
            at=_dt(at) or _now(),
            author=author,
            kind=kind,
            text=text,
            corrects=corrects,
            corrected_by=corrected_by,
        )

    def entry(self, entry_id: int) -> Entry:
        rows = self._read(f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.id = ?", (entry_id,))
        if not rows:
            raise KeyError(entry_id)
        return self._entry(rows[0])

    def entries(self, incident_id: str) -> list[Entry]:
        """Every entry of an incident, oldest first (exports; the UI windows instead)."""
        rows = self._read(
            f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.incident_id = ? ORDER BY e.id",
            (incident_id,),
        )
        return [self._entry(r) for r in rows]

    def count_entries(self, incident_id: str | None = None) -> int:
        if incident_id is None:
            return int(self._read("SELECT count(*) FROM entries")[0][0])
        rows = self._read("SELECT count(*) FROM entries WHERE incident_id = ?", (incident_id,))
        return int(rows[0][0])

    def count_and_last(self, incident_id: str) -> tuple[int, int]:
        """(number of entries, newest id) of one incident, from one consistent read."""
        rows = self._read(
            "SELECT count(*), coalesce(max(id), 0) FROM entries WHERE incident_id = ?",
            (incident_id,),
        )
        return int(rows[0][0]), int(rows[0][1])

    def entries_window(self, incident_id: str, start: int, count: int) -> list[Entry]:
        """Entries ``start`` .. ``start + count`` (0 = oldest) of one incident."""
        rows = self._read(
            f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.incident_id = ?"
            " ORDER BY e.id LIMIT ? OFFSET ?",
            (incident_id, max(count, 0), max(start, 0)),
        )
        return [self._entry(r) for r in rows]

    def entries_since(self, after_id: int, incident_id: str | None = None) -> list[Entry]:
        """Entries newer than ``after_id`` (any process's): the cheap poll."""
        if incident_id is None:
            rows = self._read(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.id > ? ORDER BY e.id",
                (after_id,),
            )
        else:
            rows = self._read(
                f"SELECT {_ENTRY_COLUMNS} FROM entries e WHERE e.incident_id = ? AND e.id > ?"
                " ORDER BY e.id",
                (incident_id, after_id),
            )
        return [self._entry(r) for r in rows]

    def last_entry_id(self) -> int:
        return int(self._read("SELECT coalesce(max(id), 0) FROM entries")[0][0])

    def last_entry_at(self, incident_id: str, kind: str) -> datetime | None:
        rows = self._read(
            "SELECT max(at) FROM entries WHERE incident_id = ? AND kind = ?", (incident_id, kind)
        )
        return _dt(rows[0][0])

    # -- drafts --------------------------------------------------------------------------------

    def save_draft(
        self,
        key: str,
        text: str,
        *,
        incident_id: str | None = None,
        corrects: int | None = None,
    ) -> None:
        """Keep a half-typed note (committed at once, so kill -9 keeps it)."""
        with self._write() as db:
            if text.strip():
                db.execute(
                    "INSERT INTO drafts (key, incident_id, corrects, text, updated_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT(key) DO UPDATE SET"
                    " incident_id = excluded.incident_id, corrects = excluded.corrects,"
                    " text = excluded.text, updated_at = excluded.updated_at",
                    (key, incident_id, corrects, redact(text), _iso(_now())),
                )
            else:
                db.execute("DELETE FROM drafts WHERE key = ?", (key,))

    def draft(self, key: str) -> tuple[str, str | None, int | None] | None:
        """(text, incident_id, corrects) of a kept draft, or None."""
        rows = self._read("SELECT text, incident_id, corrects FROM drafts WHERE key = ?", (key,))
        if not rows:
            return None
        text, incident_id, corrects = rows[0]
        return str(text), incident_id, corrects

    def drop_draft(self, key: str) -> None:
        with self._write() as db:
            db.execute("DELETE FROM drafts WHERE key = ?", (key,))
