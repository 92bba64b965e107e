"""Append Snapshots to the recording: one writer per file, compact, one transaction per poll.

Compression (zstandard, the reference zstd binding, maintained with the C library): each
source's body is compressed with that source's latest *keyframe* as a raw-content
dictionary. A source's polls repeat the same structure with a few figures changed, so the
previous body is a better dictionary than a trained one (Dolphie trains one on the first
samples) and needs no training step: a 5 KB host body becomes ~150-300 bytes. A new keyframe
starts when a delta grows past half the keyframe or after :data:`MAX_DELTAS` polls. Decoding
any moment is two decompressions at most, never a chain.

A Snapshot whose body is byte-for-byte the previous one of its source costs one frame row.

:class:`RecordingWriter` is synchronous (tests, benchmarks build recordings with it);
:class:`RecordingSink` runs one on a thread of its own so the console's event loop and the
scheduler never wait for SQLite.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import queue
import socket
import sqlite3
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import zstandard

from zconsole.checks.base import CheckResult, Snapshot
from zconsole.config import Config
from zconsole.recording.codec import duration_dms, encode_body
from zconsole.recording.db import RecordingError, file_bytes, open_recording
from zconsole.recording.retention import Retention, Trimmed, enforce

#: Deltas against one keyframe before a new keyframe starts (an hour of polls at 5 s).
MAX_DELTAS = 720
#: A delta larger than this share of its keyframe starts a new keyframe.
REKEY_RATIO = 0.5
#: Seconds of recorded time between age passes of retention.
RETENTION_EVERY_S = 60.0
#: The size cap is checked on every write (two stat calls); trimming starts at this share of it,
#: so the file on disk never crosses the cap itself.
TRIM_AT = 0.95
LEVEL = 3


class RecordingBusy(RecordingError):
    """Another process is writing this recording (the recorder service, another console)."""


@dataclass(slots=True)
class _SourceState:
    last_raw: bytes | None = None
    last_body: int | None = None
    key_id: int | None = None
    key_size: int = 0
    compressor: zstandard.ZstdCompressor | None = None
    deltas: int = 0
    status: str | None = None


def _take_lock(path: Path) -> int:
    """An exclusive flock on ``<recording>.lock``, held for the writer's life."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = Path(str(path) + ".lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
        os.close(fd)
        raise RecordingBusy(f"{path}: already being recorded by pid {holder}") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, str(os.getpid()).encode(), 0)
    return fd


def is_being_recorded(path: Path) -> bool:
    """True while some process holds the recording's writer lock."""
    lock_path = Path(str(path) + ".lock")
    if not lock_path.exists():
        return False
    fd = os.open(lock_path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


class RecordingWriter:
    """Appends Snapshots to one recording; raises RecordingBusy if another writer has it."""

    def __init__(
        self, path: Path, *, hostname: str | None = None, retention: Retention | None = None
    ) -> None:
        self.path = path
        self.retention = retention or Retention()
        self._lock_fd = _take_lock(path)
        try:
            opened = open_recording(
                path, hostname=hostname or socket.gethostname(), wal_bytes=self.retention.wal_bytes
            )
        except BaseException:
            os.close(self._lock_fd)
            raise
        self._db = opened.connection
        #: Where a damaged recording was moved before this one started ("" if none).
        self.set_aside = opened.set_aside
        self._plain = zstandard.ZstdCompressor(level=LEVEL, write_checksum=False)
        self._sources: dict[str, _SourceState] = {}
        self._last_retention_at: float | None = None
        self.last_trim = Trimmed()
        #: Frames retention has dropped since this writer opened the file.
        self.dropped = 0
        last_of_each = "SELECT MAX(id) FROM frames GROUP BY source"
        for source, status in self._db.execute(
            f"SELECT source, status FROM frames WHERE id IN ({last_of_each})"
        ):
            self._sources[source] = _SourceState(status=status)

    def write(self, snapshot: Snapshot[Any]) -> int:
        """Append one Snapshot (its own transaction); returns the frame id."""
        source = snapshot.check
        state = self._sources.setdefault(source, _SourceState())
        raw = encode_body(snapshot)
        at = snapshot.collected_at.timestamp()
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if raw == state.last_raw and state.last_body is not None:
                body = state.last_body
            else:
                body = self._store_body(state, source, raw)
            frame = db.execute(
                "INSERT INTO frames (at, source, status, good, duration_dms, body)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    at,
                    source,
                    snapshot.status.value,
                    int(snapshot.ok_data),
                    duration_dms(snapshot),
                    body,
                ),
            ).lastrowid
            assert frame is not None
            if state.status != snapshot.status.value:
                db.execute(
                    "INSERT INTO transitions (at, source, old, new, frame) VALUES (?, ?, ?, ?, ?)",
                    (at, source, state.status, snapshot.status.value, frame),
                )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            # What this process remembers may now be ahead of the file: start afresh.
            self._sources[source] = _SourceState(status=state.status)
            raise
        state.status = snapshot.status.value
        state.last_raw = raw
        state.last_body = body
        self._maybe_trim(at)
        return frame

    def _store_body(self, state: _SourceState, source: str, raw: bytes) -> int:
        db = self._db
        if state.compressor is not None and state.key_id is not None and state.deltas < MAX_DELTAS:
            blob = state.compressor.compress(raw)
            if len(blob) <= state.key_size * REKEY_RATIO:
                state.deltas += 1
                row = db.execute(
                    "INSERT INTO bodies (source, base, blob) VALUES (?, ?, ?)",
                    (source, state.key_id, blob),
                ).lastrowid
                assert row is not None
                return row
        blob = self._plain.compress(raw)
        row = db.execute(
            "INSERT INTO bodies (source, base, blob) VALUES (?, NULL, ?)", (source, blob)
        ).lastrowid
        assert row is not None
        dictionary = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        state.key_id, state.key_size, state.deltas = row, len(blob), 0
        state.compressor = zstandard.ZstdCompressor(
            level=LEVEL, dict_data=dictionary, write_checksum=False, write_dict_id=False
        )
        return row

    def _maybe_trim(self, at: float) -> None:
        due = self._last_retention_at is None or at - self._last_retention_at >= RETENTION_EVERY_S
        if due or file_bytes(self.path) > self.retention.max_bytes * TRIM_AT:
            self._last_retention_at = at
            self.trim(at)

    def trim(self, newest_at: float) -> Trimmed:
        """Apply retention now (also run every minute of recorded time by :meth:`write`)."""
        keep = {i for s in self._sources.values() for i in (s.key_id, s.last_body) if i is not None}
        self.last_trim = enforce(self._db, self.retention, newest_at, keep)
        self.dropped += self.last_trim.frames
        return self.last_trim

    def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        with contextlib.suppress(OSError):
            os.close(self._lock_fd)


class RecordingSink:
    """A :class:`RecordingWriter` on a thread of its own, fed CheckResults by the scheduler.

    ``accept`` only queues, so neither the event loop nor a check thread waits for SQLite. A
    write that fails is reported once per distinct problem (``problem``) and recording goes on
    with the next poll.
    """

    def __init__(self, writer: RecordingWriter) -> None:
        self.writer = writer
        self.problem = ""
        self._queue: queue.SimpleQueue[Snapshot[Any] | threading.Event | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="recording-writer", daemon=True)
        self._thread.start()

    @property
    def path(self) -> Path:
        return self.writer.path

    def accept(self, result: CheckResult) -> None:
        self._queue.put(result.latest)

    def _run(self) -> None:
        while (snapshot := self._queue.get()) is not None:
            if isinstance(snapshot, threading.Event):  # flush(): everything before it is written
                snapshot.set()
                continue
            try:
                self.writer.write(snapshot)
            except (sqlite3.Error, OSError, ValueError, TypeError) as exc:
                text = f"recording {self.writer.path}: {exc}"
                if text != self.problem:
                    self.problem = text
                    print(f"zconsole: {text}", file=sys.stderr)

    def flush(self, timeout: float = 5.0) -> None:
        """Wait until everything queued so far is written (tests)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait(timeout)

    def close(self, timeout: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout)
        self.writer.close()


def console_sink(config: Config) -> tuple[RecordingSink | None, str]:
    """The console's own recording while it runs, and why there is none.

    None when ``[recording] enabled = false``, or when a recorder (the service, another
    console) already writes the file: that one's recording is the history then.
    """
    from zconsole.recording.db import recording_path
    from zconsole.recording.retention import retention_of

    if not config.recording.enabled:
        return None, "recording is off ([recording] enabled = false)"
    path = recording_path(config)
    try:
        writer = RecordingWriter(path, retention=retention_of(config))
    except RecordingBusy:
        return None, f"recorded by another process into {path}"
    except (RecordingError, OSError, sqlite3.Error) as exc:
        return None, f"not recording: {exc}"
    return RecordingSink(writer), f"recording into {path}"
