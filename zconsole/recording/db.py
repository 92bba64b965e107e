"""The recording file: one SQLite database (stdlib), WAL, written by one process at a time.

Layout (``PRAGMA user_version`` = :data:`FORMAT_VERSION`):

- ``frames``: one row per (time, source): when, status, whether it carried data, how long the
  poll took, and which body holds what it saw. An unchanged Snapshot is only this row (~40
  bytes) pointing at the body of the previous one.
- ``bodies``: a Snapshot's summary, error and typed data as JSON, zstd-compressed. A keyframe is
  compressed on its own; every other body of the same source is compressed with that keyframe
  as its dictionary (``base``), so it costs what changed, and any moment decodes in two steps.
- ``transitions``: every change of a source's status, written with the frame that made it, so
  history, the status strips and the postmortem never scan the frames.
- ``meta``: host name and the time the file was created.

Crash safety: every poll is its own transaction in WAL mode. ``synchronous=NORMAL`` keeps a
committed poll through kill -9 (the WAL is in the OS's page cache) without an fsync per poll;
only a power cut may lose the last polls. :func:`open_recording` runs ``PRAGMA quick_check``
and sets a damaged file aside instead of appending to it.
"""

from __future__ import annotations

import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from zconsole.config import Config

FORMAT_VERSION = 1
RECORDING_NAME = "recording.sqlite3"
BUSY_TIMEOUT_MS = 5000
#: The WAL is truncated back to this after a checkpoint, so the cap holds on disk too.
WAL_LIMIT_BYTES = 4 * 1024 * 1024

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE bodies (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    base INTEGER,
    blob BLOB NOT NULL
);
CREATE INDEX bodies_base ON bodies(base) WHERE base IS NOT NULL;
CREATE TABLE frames (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    source TEXT NOT NULL,
    status TEXT NOT NULL,
    good INTEGER NOT NULL,
    duration_dms INTEGER NOT NULL,
    body INTEGER NOT NULL
);
CREATE INDEX frames_source_at ON frames(source, at);
CREATE INDEX frames_at ON frames(at);
CREATE INDEX frames_body ON frames(body);
CREATE TABLE transitions (
    id INTEGER PRIMARY KEY,
    at REAL NOT NULL,
    source TEXT NOT NULL,
    old TEXT,
    new TEXT NOT NULL,
    frame INTEGER NOT NULL
);
CREATE INDEX transitions_at ON transitions(at);
"""


class RecordingError(Exception):
    """The recording cannot be opened or written; one line the caller shows."""


@dataclass(frozen=True, slots=True)
class Opened:
    connection: sqlite3.Connection
    #: Where a damaged file was moved before a fresh one was started ("" when it was sound).
    set_aside: str = ""


def recording_path(config: Config) -> Path:
    """``[recording] path``; else beside the incident store when one is configured, else in
    the user data dir."""
    if config.recording.path:
        return Path(config.recording.path).expanduser()
    if config.general.store:
        return Path(config.general.store).expanduser().parent / RECORDING_NAME
    return Path(platformdirs.user_data_dir("zconsole")) / RECORDING_NAME


def _connect(path: Path) -> sqlite3.Connection:
    # The writer's connection is used by its own thread (the console hands snapshots over).
    connection = sqlite3.connect(
        path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False
    )
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def _is_sound(connection: sqlite3.Connection) -> bool:
    try:
        rows = connection.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError:
        return False
    return rows == [("ok",)]


def _set_aside(path: Path) -> str:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    target = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        part = Path(str(path) + suffix)
        if part.exists():
            part.rename(Path(str(target) + suffix))
    return str(target)


def open_recording(path: Path, *, hostname: str, wal_bytes: int = WAL_LIMIT_BYTES) -> Opened:
    """Open (or create) the recording for writing, after an integrity check.

    A file that fails the check is renamed ``*.damaged-<time>`` and a new one is started: the
    recorder must keep recording, and the damaged file is kept for whoever wants to look.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    set_aside = ""
    fresh = not path.exists() or path.stat().st_size == 0
    if not fresh:
        connection = _connect(path)
        if _is_sound(connection) and _version(connection) == FORMAT_VERSION:
            _pragmas(connection, wal_bytes)
            return Opened(connection)
        connection.close()
        set_aside = _set_aside(path)
    # Query texts, process command lines and container names are the host's business: the
    # file is its owner's alone (SQLite gives the WAL and shared-memory files the same mode).
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    connection = _connect(path)
    try:
        # auto_vacuum must be chosen before the first table: freed pages go back to the OS.
        connection.execute("PRAGMA auto_vacuum = INCREMENTAL")
        _pragmas(connection, wal_bytes)
        connection.executescript("BEGIN;" + SCHEMA + "COMMIT;")
        connection.executemany(
            "INSERT INTO meta (key, value) VALUES (?, ?)",
            [("hostname", hostname), ("created_at", repr(time.time()))],
        )
        connection.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
    except sqlite3.Error as exc:
        connection.close()
        raise RecordingError(f"{path}: cannot create the recording: {exc}") from None
    return Opened(connection, set_aside)


def open_for_reading(path: Path) -> sqlite3.Connection:
    """A read-only connection; the writer may go on appending meanwhile (WAL)."""
    if not path.exists():
        raise RecordingError(f"{path}: no recording (run `zconsole record`, or the console)")
    try:
        connection = sqlite3.connect(
            f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000
        )
        version = _version(connection)
    except sqlite3.DatabaseError as exc:
        raise RecordingError(f"{path}: not a readable recording: {exc}") from None
    if version != FORMAT_VERSION:
        connection.close()
        raise RecordingError(f"{path}: recording format {version}, expected {FORMAT_VERSION}")
    return connection


def _version(connection: sqlite3.Connection) -> int:
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def _pragmas(connection: sqlite3.Connection, wal_bytes: int) -> None:
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = NORMAL")
    # Checkpoint at half the WAL's share of the cap (it overshoots by the transaction that
    # crossed the mark), and truncate it back after.
    page_size = int(connection.execute("PRAGMA page_size").fetchone()[0])
    connection.execute(f"PRAGMA wal_autocheckpoint = {max(8, wal_bytes // 2 // page_size)}")
    connection.execute(f"PRAGMA journal_size_limit = {wal_bytes}")


def used_bytes(connection: sqlite3.Connection) -> int:
    """Bytes the database holds in pages that are in use (free pages are given back later)."""
    page_size = connection.execute("PRAGMA page_size").fetchone()[0]
    pages = connection.execute("PRAGMA page_count").fetchone()[0]
    free = connection.execute("PRAGMA freelist_count").fetchone()[0]
    return int((pages - free) * page_size)


def file_bytes(path: Path) -> int:
    """The recording's size on disk: the database and its WAL."""
    total = 0
    for suffix in ("", "-wal"):
        part = Path(str(path) + suffix)
        if part.exists():
            total += part.stat().st_size
    return total
