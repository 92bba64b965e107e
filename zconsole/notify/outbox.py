"""The outbox: every post is written here before it is sent, and stays until a receiver took it.

Two tables of their own in the incident store's SQLite file (one file to back up; the store's
WAL settings apply), created by this module, so a post survives a crash, a restart and a
receiver that is down for an hour. Several zconsole processes (two consoles, the recorder) may
deliver from the same outbox: a row is *claimed* in a write transaction before it is sent, so
it is sent by one of them only.

Rows never hold a URL or a token, only the receiver's name: secrets stay in the config.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from zconsole.checks.secrets import redact
from zconsole.notify.payloads import Post
from zconsole.store import StoreUnavailable

PENDING = "pending"
SENT = "sent"
#: The receiver answered 4xx: sending the same again cannot help; kept, never retried by itself.
REJECTED = "rejected"
#: A claim is released after this long, in case the process that claimed the row died mid-send.
CLAIM_S = 120.0

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS notify_outbox (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        post TEXT NOT NULL,
        author TEXT NOT NULL,
        state TEXT NOT NULL DEFAULT 'pending',
        created_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_at TEXT NOT NULL,
        claimed_until TEXT,
        last_error TEXT NOT NULL DEFAULT '',
        sent_at TEXT
    )""",
    "CREATE INDEX IF NOT EXISTS notify_outbox_due ON notify_outbox(state, target, id)",
    # The receiver's own id of an incident (Statuspage's), so later changes PATCH that one.
    """CREATE TABLE IF NOT EXISTS notify_remote_ids (
        target TEXT NOT NULL,
        incident_id TEXT NOT NULL,
        remote_id TEXT NOT NULL,
        PRIMARY KEY (target, incident_id)
    )""",
)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    target: str
    incident_id: str
    post: Post
    author: str
    state: str
    created_at: datetime
    attempts: int
    last_error: str


def _iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat()


def _now() -> datetime:
    return datetime.now(UTC)


class Outbox:
    """A durable queue of posts per receiver; thread-safe, shared between processes."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        """``read_only``: only to list what waits (a viewer), nothing created or changed."""
        self.path = Path(path)
        self.read_only = read_only
        self._lock = threading.Lock()
        target = f"file:{self.path}?mode=ro" if read_only else str(self.path)
        try:
            self._db = sqlite3.connect(
                target,
                uri=read_only,
                isolation_level=None,
                check_same_thread=False,
                timeout=5.0,
            )
            self._db.execute("PRAGMA busy_timeout = 5000")
            if not read_only:
                self._db.execute("PRAGMA journal_mode = WAL")
                self._db.execute("PRAGMA synchronous = FULL")
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"outbox {self.path}: {redact(str(exc))}") from None
        if read_only:
            return
        with self._write() as db:
            for statement in _SCHEMA:
                db.execute(statement)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction; a SQLite failure is the store's one error,
        StoreUnavailable."""
        if self.read_only:
            raise StoreUnavailable(f"outbox {self.path}: opened read-only, nothing is written")
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"outbox {self.path}: {redact(str(exc))}") from None
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreUnavailable(f"outbox {self.path}: {redact(str(exc))}") from None
                raise

    def _read(self, sql: str, params: tuple[object, ...] = ()) -> list[Any]:
        with self._lock:
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if self.read_only and "no such table" in str(exc):
                    return []  # nothing was ever posted from this store
                raise StoreUnavailable(f"outbox {self.path}: {redact(str(exc))}") from None
            except sqlite3.Error as exc:
                raise StoreUnavailable(f"outbox {self.path}: {redact(str(exc))}") from None

    def add(self, target: str, post: Post, author: str) -> int:
        now = _iso(_now())
        with self._write() as db:
            cur = db.execute(
                "INSERT INTO notify_outbox (target, incident_id, post, author, created_at, next_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (target, post.incident_id, json.dumps(post.to_json()), redact(author), now, now),
            )
            return int(cur.lastrowid or 0)

    def claim_due(self, targets: list[str], now: datetime | None = None) -> list[OutboxRow]:
        """The oldest due row of each receiver, claimed for this process.

        Only the oldest: a receiver gets its posts in order (a status page its create before
        its changes), and one that is down is not asked again for each row behind it.
        """
        now = now or _now()
        claimed: list[OutboxRow] = []
        with self._write() as db:
            for target in targets:
                row = db.execute(
                    "SELECT id, target, incident_id, post, author, state, created_at, attempts,"
                    " last_error, next_at, claimed_until FROM notify_outbox"
                    " WHERE state = ? AND target = ? ORDER BY id LIMIT 1",
                    (PENDING, target),
                ).fetchone()
                if row is None:
                    continue
                next_at, claimed_until = row[9], row[10]
                if next_at > _iso(now) or (claimed_until and claimed_until > _iso(now)):
                    continue
                db.execute(
                    "UPDATE notify_outbox SET claimed_until = ? WHERE id = ?",
                    (_iso(now + timedelta(seconds=CLAIM_S)), row[0]),
                )
                claimed.append(
                    OutboxRow(
                        id=int(row[0]),
                        target=row[1],
                        incident_id=row[2],
                        post=Post.from_json(json.loads(row[3])),
                        author=row[4],
                        state=row[5],
                        created_at=datetime.fromisoformat(row[6]),
                        attempts=int(row[7]),
                        last_error=row[8],
                    )
                )
        return claimed

    def mark_sent(self, row_id: int, attempts: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE notify_outbox SET state = ?, attempts = ?, sent_at = ?,"
                " claimed_until = NULL, last_error = '' WHERE id = ?",
                (SENT, attempts, _iso(_now()), row_id),
            )

    def mark_failed(
        self, row_id: int, attempts: int, error: str, *, retry_in_s: float | None
    ) -> None:
        """Keep the row: pending again after ``retry_in_s``, or rejected (None)."""
        state = PENDING if retry_in_s is not None else REJECTED
        next_at = _now() + timedelta(seconds=retry_in_s or 0.0)
        with self._write() as db:
            db.execute(
                "UPDATE notify_outbox SET state = ?, attempts = ?, next_at = ?,"
                " claimed_until = NULL, last_error = ? WHERE id = ?",
                (state, attempts, _iso(next_at), redact(error), row_id),
            )

    def release_all(self) -> None:
        """Make every pending row due now (a receiver is back: no need to wait out the backoff)."""
        with self._write() as db:
            db.execute(
                "UPDATE notify_outbox SET next_at = ?, claimed_until = NULL WHERE state = ?",
                (_iso(_now()), PENDING),
            )

    def retry_rejected(self) -> int:
        """Rejected rows pending again (the receiver's config was fixed); how many."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE notify_outbox SET state = ?, next_at = ?, claimed_until = NULL"
                " WHERE state = ?",
                (PENDING, _iso(_now()), REJECTED),
            )
            return int(cur.rowcount)

    def rows(self, state: str | None = None) -> list[OutboxRow]:
        sql = (
            "SELECT id, target, incident_id, post, author, state, created_at, attempts,"
            " last_error FROM notify_outbox"
        )
        params: tuple[str, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        found = self._read(sql + " ORDER BY id", params)
        return [
            OutboxRow(
                id=int(r[0]),
                target=r[1],
                incident_id=r[2],
                post=Post.from_json(json.loads(r[3])),
                author=r[4],
                state=r[5],
                created_at=datetime.fromisoformat(r[6]),
                attempts=int(r[7]),
                last_error=r[8],
            )
            for r in found
        ]

    def pending_count(self) -> int:
        rows = self._read("SELECT count(*) FROM notify_outbox WHERE state = ?", (PENDING,))
        return int(rows[0][0]) if rows else 0

    def remote_id(self, target: str, incident_id: str) -> str | None:
        rows = self._read(
            "SELECT remote_id FROM notify_remote_ids WHERE target = ? AND incident_id = ?",
            (target, incident_id),
        )
        return str(rows[0][0]) if rows else None

    def set_remote_id(self, target: str, incident_id: str, remote_id: str) -> None:
        with self._write() as db:
            db.execute(
                "INSERT OR REPLACE INTO notify_remote_ids (target, incident_id, remote_id)"
                " VALUES (?, ?, ?)",
                (target, incident_id, remote_id),
            )
