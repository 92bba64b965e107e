"""Keep the recording inside its limits: an age (default 24 h) and a size cap, whichever first.

The oldest frames go first, in whole polls; a body is deleted once no frame and no delta
refers to it, and the freed pages are handed back to the filesystem (incremental vacuum), so
the cap holds for the file on disk, not only inside it.
"""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass

from zconsole.config import Config
from zconsole.recording.db import WAL_LIMIT_BYTES, used_bytes

#: Below the cap by this share after trimming, so the next poll does not trim again at once.
TRIM_TO = 0.9
MAX_ROUNDS = 8


@dataclass(frozen=True, slots=True)
class Retention:
    max_age_s: float = 24 * 3600.0
    max_bytes: int = 100_000_000

    @property
    def wal_bytes(self) -> int:
        """The WAL's share of the cap: at most 4 MiB, and an eighth of a small cap."""
        return min(WAL_LIMIT_BYTES, self.max_bytes // 8)

    @property
    def database_budget(self) -> int:
        return self.max_bytes - self.wal_bytes


def retention_of(config: Config) -> Retention:
    rec = config.recording
    return Retention(max_age_s=rec.retention_h * 3600, max_bytes=int(rec.max_mb * 1e6))


@dataclass(frozen=True, slots=True)
class Trimmed:
    frames: int = 0
    by_age: bool = False
    by_size: bool = False


def enforce(
    db: sqlite3.Connection, retention: Retention, newest_at: float, keep: Collection[int]
) -> Trimmed:
    """Drop what is older than the age limit, then the oldest until under the cap.

    ``keep``: body ids the writer still compresses against (its current keyframes and last
    bodies); they stay even when no frame refers to them any more.
    """
    dropped = 0
    by_age = by_size = False
    cutoff = newest_at - retention.max_age_s
    (upto,) = db.execute("SELECT MAX(id) FROM frames WHERE at < ?", (cutoff,)).fetchone()
    if upto is not None:
        dropped += _drop_through(db, upto, keep)
        by_age = True
    budget = retention.database_budget
    for _ in range(MAX_ROUNDS):
        used = used_bytes(db)
        if used <= budget:
            break
        (count,) = db.execute("SELECT COUNT(*) FROM frames").fetchone()
        if count <= 1:
            break
        per_frame = used / count
        excess = used - budget * TRIM_TO
        n = min(count - 1, max(1, math.ceil(excess / per_frame)))
        row = db.execute("SELECT id FROM frames ORDER BY id LIMIT 1 OFFSET ?", (n - 1,)).fetchone()
        dropped += _drop_through(db, row[0], keep)
        by_size = True
        # Freed pages count as used until they are given back.
        db.execute("PRAGMA incremental_vacuum")
    if dropped:
        db.execute("PRAGMA incremental_vacuum")
        # In WAL mode the file shrinks only when the WAL is checkpointed into it.
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return Trimmed(dropped, by_age, by_size)


def _drop_through(db: sqlite3.Connection, upto: int, keep: Collection[int]) -> int:
    """Delete frames with id <= ``upto`` and the bodies nothing refers to any more."""
    keep_list = ",".join(str(int(k)) for k in keep) or "NULL"
    db.execute("BEGIN IMMEDIATE")
    try:
        (last_body,) = db.execute("SELECT MAX(body) FROM frames WHERE id <= ?", (upto,)).fetchone()
        db.execute("DELETE FROM transitions WHERE frame <= ?", (upto,))
        count = db.execute("DELETE FROM frames WHERE id <= ?", (upto,)).rowcount
        if last_body is not None:
            # Deltas first: a keyframe is free only when no delta is compressed against it.
            db.execute(
                "DELETE FROM bodies WHERE id <= ? AND base IS NOT NULL"
                f" AND id NOT IN ({keep_list})"
                " AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.body = bodies.id)",
                (last_body,),
            )
            db.execute(
                "DELETE FROM bodies WHERE id <= ? AND base IS NULL"
                f" AND id NOT IN ({keep_list})"
                " AND NOT EXISTS (SELECT 1 FROM frames f WHERE f.body = bodies.id)"
                " AND NOT EXISTS (SELECT 1 FROM bodies d WHERE d.base = bodies.id)",
                (last_body,),
            )
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    return int(count)
