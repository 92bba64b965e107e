"""Read a recording back: the state at a moment, the polls around it, transitions, series.

Every lookup is an indexed query on ``frames(source, at)``; a body decodes in at most two
zstd steps (its keyframe, cached, then the delta), so any moment of a day's recording opens in
milliseconds.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import zstandard

from zconsole.checks.base import Snapshot, Status
from zconsole.recording.codec import decode_snapshot
from zconsole.recording.db import open_for_reading

#: A source's newest frame older than this before the asked moment was not "at" that moment
#: (the recorder was not running): the source is reported as not recorded then.
GAP_S = 300.0
#: Keyframe dictionaries kept decoded (one per source covers the common case).
KEYFRAME_CACHE = 16

_FRAME = "SELECT id, at, status, duration_dms, body FROM frames"


@dataclass(frozen=True, slots=True)
class Transition:
    """A source's status changed: ``old`` is None for its first recorded poll."""

    at: datetime
    source: str
    old: Status | None
    new: Status
    frame: int


def timestamp(moment: datetime | float) -> float:
    return moment.timestamp() if isinstance(moment, datetime) else float(moment)


class RecordingReader:
    """Read-only view of a recording; safe beside a writer appending to it (WAL)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db = open_for_reading(path)
        self._plain = zstandard.ZstdDecompressor()
        self._keyframes: OrderedDict[int, zstandard.ZstdDecompressor] = OrderedDict()
        row = self._db.execute("SELECT value FROM meta WHERE key = 'hostname'").fetchone()
        self.hostname: str = row[0] if row else ""

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> RecordingReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what is in it ----------------------------------------------------------------------

    def span(self) -> tuple[datetime, datetime] | None:
        """The first and last recorded moment, or None for an empty recording."""
        first, last = self._db.execute("SELECT MIN(at), MAX(at) FROM frames").fetchone()
        if first is None:
            return None
        return datetime.fromtimestamp(first, UTC), datetime.fromtimestamp(last, UTC)

    def sources(self) -> list[str]:
        # A skip-scan of the (source, at) index: a handful of lookups, not a day of rows.
        rows = self._db.execute(
            "WITH RECURSIVE s(name) AS (SELECT MIN(source) FROM frames UNION ALL"
            " SELECT (SELECT MIN(source) FROM frames WHERE source > s.name) FROM s"
            " WHERE s.name IS NOT NULL) SELECT name FROM s WHERE name IS NOT NULL"
        )
        return [row[0] for row in rows]

    # -- a moment -----------------------------------------------------------------------------

    def snapshot_at(self, source: str, moment: datetime | float) -> Snapshot[Any] | None:
        """The source's last recorded Snapshot at or before ``moment`` (None: not recorded)."""
        t = timestamp(moment)
        row = self._db.execute(
            f"{_FRAME} WHERE source = ? AND at <= ? ORDER BY at DESC LIMIT 1", (source, t)
        ).fetchone()
        if row is None or t - row[1] > GAP_S:
            return None
        return self._decode(source, row)

    def last_good_at(self, source: str, moment: datetime | float) -> Snapshot[Any] | None:
        """The source's last Snapshot with data at or before ``moment`` (for stale display)."""
        row = self._db.execute(
            f"{_FRAME} WHERE source = ? AND at <= ? AND good = 1 ORDER BY at DESC LIMIT 1",
            (source, timestamp(moment)),
        ).fetchone()
        return None if row is None else self._decode(source, row)

    def at(self, moment: datetime | float) -> dict[str, Snapshot[Any]]:
        """Every source's recorded Snapshot at ``moment`` (sources not recorded then left out)."""
        found = {}
        for source in self.sources():
            snapshot = self.snapshot_at(source, moment)
            if snapshot is not None:
                found[source] = snapshot
        return found

    # -- moving in time ------------------------------------------------------------------------

    def step(
        self, moment: datetime | float, direction: int, source: str | None = None
    ) -> datetime | None:
        """The time of the next (``direction`` > 0) or previous poll, of ``source`` or of any."""
        t = timestamp(moment)
        where = "source = ? AND " if source else ""
        args: tuple[Any, ...] = (source, t) if source else (t,)
        if direction > 0:
            sql = f"SELECT MIN(at) FROM frames WHERE {where}at > ?"
        else:
            sql = f"SELECT MAX(at) FROM frames WHERE {where}at < ?"
        (found,) = self._db.execute(sql, args).fetchone()
        return None if found is None else datetime.fromtimestamp(found, UTC)

    def frames(
        self, source: str, since: datetime | float, until: datetime | float
    ) -> Iterator[Snapshot[Any]]:
        """Every recorded Snapshot of ``source`` in [since, until], oldest first."""
        rows = self._db.execute(
            f"{_FRAME} WHERE source = ? AND at >= ? AND at <= ? ORDER BY at",
            (source, timestamp(since), timestamp(until)),
        ).fetchall()
        for row in rows:
            yield self._decode(source, row)

    def bodies(
        self, source: str, since: datetime | float, until: datetime | float
    ) -> list[tuple[datetime, bytes]]:
        """(time, body JSON) of every poll of ``source`` in the window, for a reader that
        decodes only the few fields it needs (the trends at start)."""
        rows = self._db.execute(
            "SELECT at, body FROM frames WHERE source = ? AND at >= ? AND at <= ? AND good = 1"
            " ORDER BY at",
            (source, timestamp(since), timestamp(until)),
        ).fetchall()
        return [(datetime.fromtimestamp(at, UTC), self._body(body)) for at, body in rows]

    def statuses(
        self, source: str, since: datetime | float, until: datetime | float
    ) -> list[tuple[datetime, Status]]:
        """(time, status) of every poll of ``source`` in the window, without decoding bodies."""
        return [
            (datetime.fromtimestamp(at, UTC), Status(status))
            for at, status in self._db.execute(
                "SELECT at, status FROM frames WHERE source = ? AND at >= ? AND at <= ?"
                " ORDER BY at",
                (source, timestamp(since), timestamp(until)),
            )
        ]

    # -- transitions ----------------------------------------------------------------------------

    def transitions(
        self,
        since: datetime | float | None = None,
        until: datetime | float | None = None,
        source: str | None = None,
    ) -> list[Transition]:
        """Every change of a source's status in the window, oldest first."""
        sql = "SELECT at, source, old, new, frame FROM transitions WHERE 1 = 1"
        args: list[Any] = []
        if since is not None:
            sql += " AND at >= ?"
            args.append(timestamp(since))
        if until is not None:
            sql += " AND at <= ?"
            args.append(timestamp(until))
        if source:
            sql += " AND source = ?"
            args.append(source)
        return [
            Transition(
                at=datetime.fromtimestamp(at, UTC),
                source=src,
                old=Status(old) if old else None,
                new=Status(new),
                frame=frame,
            )
            for at, src, old, new, frame in self._db.execute(sql + " ORDER BY at, id", args)
        ]

    def snapshot_of_frame(self, frame: int) -> Snapshot[Any] | None:
        """The Snapshot of one frame (the transition's own poll, for its summary)."""
        row = self._db.execute(
            "SELECT id, at, status, duration_dms, body, source FROM frames WHERE id = ?", (frame,)
        ).fetchone()
        return None if row is None else self._decode(row[5], row[:5])

    # -- bodies ---------------------------------------------------------------------------------

    def _decode(self, source: str, row: tuple[Any, ...]) -> Snapshot[Any]:
        _frame, at, status, duration, body = row[:5]
        return decode_snapshot(source, at, status, duration, self._body(body))

    def _body(self, body_id: int) -> bytes:
        base, blob = self._db.execute(
            "SELECT base, blob FROM bodies WHERE id = ?", (body_id,)
        ).fetchone()
        if base is None:
            return bytes(self._plain.decompress(blob))
        return bytes(self._keyframe(base).decompress(blob))

    def _keyframe(self, key_id: int) -> zstandard.ZstdDecompressor:
        decompressor = self._keyframes.get(key_id)
        if decompressor is not None:
            self._keyframes.move_to_end(key_id)
            return decompressor
        (blob,) = self._db.execute("SELECT blob FROM bodies WHERE id = ?", (key_id,)).fetchone()
        raw = self._plain.decompress(blob)
        dictionary = zstandard.ZstdCompressionDict(raw, dict_type=zstandard.DICT_TYPE_RAWCONTENT)
        decompressor = zstandard.ZstdDecompressor(dict_data=dictionary)
        self._keyframes[key_id] = decompressor
        if len(self._keyframes) > KEYFRAME_CACHE:
            self._keyframes.popitem(last=False)
        return decompressor
