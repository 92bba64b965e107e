"""What the recording says about an incident: its transitions, time to detect and to mitigate,
and the key series over the window (for the postmortem's charts).

The window is the incident (declaration to resolution, or now) plus the 30 minutes before the
declaration: the minute the trouble began is usually before anyone declared anything.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from zconsole.checks.base import Status
from zconsole.checks.incident import Incident, utc
from zconsole.checks.secrets import redact
from zconsole.recording.reader import RecordingReader

BEFORE = timedelta(minutes=30)
#: Points per chart line: a day's polls thinned to what a 720-pixel chart can show.
MAX_POINTS = 720
#: Lines per chart (the busiest queues, the fullest disks).
MAX_LINES = 5


@dataclass(frozen=True, slots=True)
class RecordedEvent:
    at: datetime
    source: str
    old: Status | None
    new: Status
    summary: str

    @property
    def text(self) -> str:
        old = self.old.value.upper() if self.old else "first poll"
        return f"{self.source} {old} → {self.new.value.upper()}: {self.summary}"


@dataclass(frozen=True, slots=True)
class Series:
    """One chart: named lines of (time, value), oldest first."""

    name: str
    title: str
    unit: str
    lines: dict[str, list[tuple[datetime, float]]]


@dataclass(frozen=True, slots=True)
class RecordedWindow:
    since: datetime
    until: datetime
    declared_at: datetime
    events: tuple[RecordedEvent, ...]
    #: The first move into CRIT (or ERROR: an unreachable backend) up to the declaration.
    first_crit: RecordedEvent | None
    #: The first moment after ``first_crit`` when no source was CRIT or ERROR any more.
    recovered_at: datetime | None
    charts: tuple[Series, ...]

    @property
    def time_to_detect_s(self) -> float | None:
        if self.first_crit is None:
            return None
        return (self.declared_at - self.first_crit.at).total_seconds()

    @property
    def time_to_mitigate_s(self) -> float | None:
        """Declaration to the recorded recovery."""
        if self.recovered_at is None:
            return None
        return max(0.0, (self.recovered_at - self.declared_at).total_seconds())


def _bad(status: Status | None) -> bool:
    return status is not None and status.rank >= Status.CRIT.rank


def window_of(reader: RecordingReader, incident: Incident, now: datetime) -> RecordedWindow:
    declared = utc(incident.acknowledged_at or incident.started_at)
    since = min(utc(incident.started_at), declared) - BEFORE
    until = utc(incident.resolved_at) if incident.resolved_at else now
    events = []
    for change in reader.transitions(since=since, until=until):
        if change.old is None and change.new.rank < Status.WARN.rank:
            continue  # where recording began, not a change
        snapshot = reader.snapshot_of_frame(change.frame)
        summary = redact(snapshot.summary) if snapshot else ""
        events.append(RecordedEvent(change.at, change.source, change.old, change.new, summary))
    first_crit = next((e for e in events if _bad(e.new) and e.at <= declared), None)
    return RecordedWindow(
        since=since,
        until=until,
        declared_at=declared,
        events=tuple(events),
        first_crit=first_crit,
        recovered_at=_recovered(reader, events, first_crit, since),
        charts=tuple(key_series(reader, since, until)),
    )


def _recovered(
    reader: RecordingReader,
    events: list[RecordedEvent],
    first_crit: RecordedEvent | None,
    since: datetime,
) -> datetime | None:
    if first_crit is None:
        return None
    bad = set()
    for source in reader.sources():
        before = reader.snapshot_at(source, since)
        if before is not None and _bad(before.status):
            bad.add(source)
    for event in events:
        if _bad(event.new):
            bad.add(event.source)
        else:
            bad.discard(event.source)
        if event.at > first_crit.at and not bad:
            return event.at
    return None


# -- key series -----------------------------------------------------------------------------

Extract = Callable[[Any], dict[str, float]]


def _connections(data: Any) -> dict[str, float]:
    return {"connections": data.connections.total, "usable max": data.connections.max}


def _queues(data: Any) -> dict[str, float]:
    return {q.name: q.depth for q in data.queues}


def _host_memory(data: Any) -> dict[str, float]:
    return {"host memory %": data.memory.percent}


def _redis_memory(data: Any) -> dict[str, float]:
    return {} if data.memory_pct is None else {"redis memory %": data.memory_pct}


def _disks(data: Any) -> dict[str, float]:
    return {d.mount: d.percent for d in data.disks if not d.hanging and d.error is None}


def _failing_endpoints(data: Any) -> dict[str, float]:
    return {"failing endpoints": sum(1 for e in data.endpoints if not e.ok)}


#: (file name, title, unit, [(source, extractor)]): the figures responders ask for first.
KEY_SERIES: tuple[tuple[str, str, str, tuple[tuple[str, Extract], ...]], ...] = (
    ("connections", "PostgreSQL connections", "sessions", (("postgres", _connections),)),
    ("queue-depth", "Queue depth", "items", (("redis", _queues),)),
    ("memory", "Memory", "%", (("host", _host_memory), ("redis", _redis_memory))),
    ("disk", "Disk use", "%", (("host", _disks),)),
    ("error-endpoints", "Failing HTTP endpoints", "endpoints", (("http", _failing_endpoints),)),
)


def key_series(reader: RecordingReader, since: datetime, until: datetime) -> Iterable[Series]:
    """Each key chart that has recorded data in the window."""
    recorded = set(reader.sources())
    for name, title, unit, parts in KEY_SERIES:
        lines: dict[str, list[tuple[datetime, float]]] = {}
        for source, extract in parts:
            if source not in recorded:
                continue
            frames = [s for s in reader.frames(source, since, until) if s.ok_data]
            step = max(1, len(frames) // MAX_POINTS)
            for snapshot in frames[::step]:
                for label, value in extract(snapshot.data).items():
                    lines.setdefault(redact(label), []).append((snapshot.collected_at, value))
        if not lines:
            continue
        busiest = sorted(lines, key=lambda k: max(v for _, v in lines[k]), reverse=True)
        yield Series(name, title, unit, {k: lines[k] for k in busiest[:MAX_LINES]})
