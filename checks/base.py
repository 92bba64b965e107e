"""The check contract: a Check collects, a Snapshot is what it saw."""

from __future__ import annotations

import dataclasses
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum, StrEnum
from typing import Any, Generic, Protocol, TypeVar

from zconsole.checks.secrets import redact


class Status(StrEnum):
    """How a source is doing. Always shown as a word or symbol as well as a colour."""

    OK = "ok"
    WARN = "warn"
    CRIT = "crit"
    UNKNOWN = "unknown"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Order for "worst status": an unreachable backend is as bad as a critical one."""
        return _RANK[self]

    @property
    def symbol(self) -> str:
        return _SYMBOL[self]

    @property
    def exit_code(self) -> int:
        """Nagios plugin convention: 0 ok, 1 warning, 2 critical, 3 unknown."""
        return _EXIT[self]


_RANK = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARN: 2, Status.CRIT: 3, Status.ERROR: 4}
_SYMBOL = {
    Status.OK: "✔",
    Status.WARN: "▲",
    Status.CRIT: "✖",
    Status.UNKNOWN: "?",
    Status.ERROR: "!",
}
_EXIT = {Status.OK: 0, Status.WARN: 1, Status.CRIT: 2, Status.ERROR: 2, Status.UNKNOWN: 3}


def worst(statuses: list[Status]) -> Status:
    """The worst of several statuses; OK when there are none."""
    return max(statuses, key=lambda s: s.rank, default=Status.OK)


def grade(value: float, warn: float, crit: float) -> Status:
    """OK / WARN / CRIT for a value that is bad when high."""
    if value >= crit:
        return Status.CRIT
    if value >= warn:
        return Status.WARN
    return Status.OK


D = TypeVar("D")


@dataclass(frozen=True, slots=True)
class Snapshot(Generic[D]):
    """One collection of one source: immutable, safe to hand between threads."""

    check: str
    status: Status
    summary: str
    collected_at: datetime
    duration_ms: float
    error: str | None = None
    data: D | None = None
    configured: bool = True

    @property
    def ok_data(self) -> bool:
        """True when this snapshot carries fresh data (not an error or an unconfigured source)."""
        return self.error is None and self.configured and self.data is not None

    def to_json(self) -> dict[str, Any]:
        """The shape documented in the README (snapshot JSON version 1)."""
        return {
            "status": self.status.value,
            "summary": self.summary,
            "collected_at": self.collected_at.isoformat(),
            "duration_ms": round(self.duration_ms, 1),
            "error": self.error,
            "configured": self.configured,
            "data": to_jsonable(self.data),
        }


def to_jsonable(value: object) -> Any:
    """Frozen records (dataclasses, tuples, enums, datetimes) to plain JSON values."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    return str(value)


def now_utc() -> datetime:
    return datetime.now(UTC)


def error_snapshot(
    check: str,
    error: str,
    *,
    collected_at: datetime,
    duration_ms: float,
    summary: str | None = None,
) -> Snapshot[Any]:
    """A poll that failed or did not answer: ERROR, the reason, no data (the pane keeps showing
    the last good data as stale). ``summary`` defaults to the reason's first line."""
    if summary is None:
        summary = error.splitlines()[0] if error else "failed"
    return Snapshot(
        check=check,
        status=Status.ERROR,
        summary=summary,
        collected_at=collected_at,
        duration_ms=duration_ms,
        error=error,
    )


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What the UI receives: the newest snapshot and the newest one that carried data."""

    latest: Snapshot[Any]
    last_good: Snapshot[Any] | None
    #: time.monotonic() when last_good arrived, for "stale 14 s".
    last_good_at: float | None

    @property
    def name(self) -> str:
        return self.latest.check

    def stale_for(self, now: float | None = None) -> float | None:
        """Seconds since the last good data, when the latest poll failed; else None."""
        if self.latest.error is None or self.last_good_at is None:
            return None
        return (time.monotonic() if now is None else now) - self.last_good_at


class CheckEvent(Protocol):
    """Something a check learned between two polls (a container died)."""

    @property
    def text(self) -> str: ...

    @property
    def for_timeline(self) -> bool:
        """True when the open incident's timeline should hear of it."""
        ...


class Check(ABC, Generic[D]):
    """A data source. Subclasses implement :meth:`probe`; :meth:`collect` never raises.

    ``collect`` runs in a worker thread owned by the scheduler, one at a time per check, so a
    check may keep a client (a connection, a previous sample for rates) between calls without
    locking.
    """

    #: Stable machine name: the key in snapshot JSON and config ("host", "docker", ...), the
    #: name of its entry in ``zconsole/registry.py``.
    name: str = ""

    def __init__(self, *, interval: float = 2.0, timeout: float = 5.0) -> None:
        self.interval = interval
        self.timeout = timeout
        #: Set by the app; a check that hears of changes between polls (Docker's event stream)
        #: calls it from its own thread so the app polls it at once. Most checks never do.
        self.on_event: Callable[[CheckEvent], None] | None = None

    @abstractmethod
    def probe(self) -> tuple[Status, str, D]:
        """Collect once: (status, one-line summary, typed data). May raise; may block."""

    def collect(self) -> Snapshot[D]:
        """Run :meth:`probe`, timing it; a failure becomes an ERROR snapshot with redacted text."""
        started = time.perf_counter()
        at = now_utc()
        try:
            status, summary, data = self.probe()
        except Exception as exc:  # noqa: BLE001 - any failure of a backend is data for the pane
            return error_snapshot(
                self.name,
                redact(describe_error(exc)),
                collected_at=at,
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        return Snapshot(
            check=self.name,
            status=status,
            summary=redact(summary),
            collected_at=at,
            duration_ms=(time.perf_counter() - started) * 1000,
            data=data,
        )

    def evidence(self, selected: object | None = None) -> dict[str, str]:
        """Raw material for an incident's evidence bundle: file name -> text.

        Runs on the check's own thread (between polls), so it may use the check's client.
        ``selected`` is the record selected in the check's pane, if any. Default: nothing
        beyond the snapshot, which every bundle holds anyway.
        """
        return {}

    def close(self) -> None:
        """Release clients. Called once at shutdown; must not raise."""


def describe_error(exc: BaseException) -> str:
    """A short human sentence for an exception, without a traceback."""
    text = str(exc).strip()
    kind = type(exc).__name__
    return f"{kind}: {text}" if text else kind


class NotConfigured(Check[None]):
    """A source the user has not set up. Not an error: the pane says how to set it up."""

    def __init__(self, name: str, hint: str) -> None:
        super().__init__(interval=3600.0, timeout=1.0)
        self.name = name
        self.hint = hint

    def probe(self) -> tuple[Status, str, None]:
        raise NotImplementedError

    def collect(self) -> Snapshot[None]:
        return Snapshot(
            check=self.name,
            status=Status.UNKNOWN,
            summary=f"not configured — {self.hint}",
            collected_at=now_utc(),
            duration_ms=0.0,
            configured=False,
        )
