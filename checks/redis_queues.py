"""Queue depths in Redis: Celery (kombu), RQ, Redis Streams and plain lists, with their trend.

Key names follow the libraries that write them:

- kombu's Redis transport keeps a Celery queue in a list named after the queue, and puts messages
  with a priority into sibling lists ``<queue>\\x06\\x16<priority>`` (``sep`` is ``"\\x06\\x16"``;
  ``PRIORITY_STEPS`` default to 0, 3, 6, 9 but may be configured as any of 0-9, so all nine
  suffixes are read). Producers LPUSH, workers BRPOP: the tail is the oldest message.
- RQ lists its queues in the set ``rq:queues`` (members ``rq:queue:<name>``, each a list of job
  ids: RPUSH to enqueue, LPOP to work), with the started registry ``rq:wip:<name>`` and the failed
  registry ``rq:failed:<name>`` as sorted sets of job ids.
- A stream's backlog is, per consumer group, entries not yet delivered (``lag``) plus entries
  delivered but not acknowledged (``pending``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from zconsole.checks.base import Status, grade

CELERY_PRIORITY_SEP = "\x06\x16"
#: Every priority suffix kombu can produce (priority 0 is the bare queue name).
CELERY_PRIORITIES = tuple(range(1, 10))
RQ_QUEUES_KEY = "rq:queues"
RQ_QUEUE_PREFIX = "rq:queue:"
RQ_JOB_PREFIX = "rq:job:"


class QueueKind(StrEnum):
    CELERY = "celery"
    RQ = "rq"
    STREAM = "stream"
    LIST = "list"


def celery_keys(queue: str) -> tuple[str, ...]:
    """The lists holding one Celery queue: the bare name, then each priority sibling."""
    return (queue, *(f"{queue}{CELERY_PRIORITY_SEP}{p}" for p in CELERY_PRIORITIES))


def rq_queue_key(name: str) -> str:
    return RQ_QUEUE_PREFIX + name


def rq_failed_key(name: str) -> str:
    return f"rq:failed:{name}"


def rq_started_key(name: str) -> str:
    return f"rq:wip:{name}"


def display_key(key: str) -> str:
    """A key as a human reads it: kombu's priority separator shown as ``:pN``."""
    base, sep, pri = key.partition(CELERY_PRIORITY_SEP)
    return f"{base}:p{pri}" if sep else key


@dataclass(frozen=True, slots=True)
class StreamGroup:
    """One consumer group of a stream."""

    name: str
    consumers: int
    #: Delivered to a consumer, not yet acknowledged.
    pending: int
    #: Entries not yet delivered to the group (None when the server cannot tell).
    lag: int | None
    last_delivered_id: str


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """One queue as the pane and snapshot JSON show it."""

    name: str
    kind: QueueKind
    #: Items waiting. For a stream: the largest consumer-group backlog (lag + pending), or the
    #: stream length when it has no groups.
    depth: int
    #: Growth per minute over the rolling window (negative: shrinking); None until two polls.
    rate_per_min: float | None
    #: Seconds until empty at the current rate, only while shrinking.
    drain_eta_s: float | None
    status: Status
    #: Redis keys holding items now (a Celery queue's priority lists, an RQ queue's list).
    keys: tuple[str, ...] = ()
    #: Stream length (XLEN); equals depth for lists.
    length: int = 0
    #: RQ: jobs in the failed and started registries.
    failed: int | None = None
    started: int | None = None
    groups: tuple[StreamGroup, ...] = ()


class RateWindow:
    """Per-queue depth samples over a rolling window; the growth rate is their least-squares slope.

    The slope of every sample in the window, rather than first-to-last, so one poll that lands
    just before a worker grabs a batch does not swing the trend.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._samples: dict[str, deque[tuple[float, int]]] = {}

    def add(self, key: str, at: float, depth: int) -> float | None:
        """Record a sample; return the growth per minute, or None with fewer than two samples."""
        samples = self._samples.setdefault(key, deque())
        samples.append((at, depth))
        while samples and at - samples[0][0] > self.window_s:
            samples.popleft()
        if len(samples) < 2:
            return None
        n = len(samples)
        mean_t = sum(t for t, _ in samples) / n
        mean_d = sum(d for _, d in samples) / n
        var = sum((t - mean_t) ** 2 for t, _ in samples)
        if var <= 0:
            return None
        cov = sum((t - mean_t) * (d - mean_d) for t, d in samples)
        return cov / var * 60.0

    def forget_except(self, keys: set[str]) -> None:
        for key in list(self._samples):
            if key not in keys:
                del self._samples[key]


def drain_eta(depth: int, rate_per_min: float | None) -> float | None:
    """Seconds to empty at the current rate; None unless the queue is shrinking."""
    if rate_per_min is None or rate_per_min >= 0 or depth <= 0:
        return None
    return depth / (-rate_per_min / 60.0)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass(frozen=True, slots=True)
class QueueScan:
    """The queues, and the keyspace hits and misses our own reads added to the server's stats."""

    queues: tuple[QueueInfo, ...]
    hits: int
    misses: int


class _Lookups:
    def __init__(self) -> None:
        self.hits = 0
        self.misses = 0

    def count(self, hit: bool, times: int = 1) -> None:
        if hit:
            self.hits += times
        else:
            self.misses += times


@dataclass(frozen=True, slots=True)
class _Spec:
    name: str
    kind: QueueKind
    keys: tuple[str, ...]


def collect_queues(
    client: Any,
    *,
    celery: Sequence[str],
    lists: Sequence[str],
    streams: Sequence[str],
    discover_rq: bool,
    warn: int,
    crit: int,
    rates: RateWindow,
    now: float,
) -> QueueScan:
    """Read every queue's depth in two round trips (plus one per stream) and grade it."""
    lookups = _Lookups()
    specs = [_Spec(q, QueueKind.CELERY, celery_keys(q)) for q in celery]
    specs += [_Spec(name, QueueKind.LIST, (name,)) for name in lists]
    if discover_rq:
        members = client.smembers(RQ_QUEUES_KEY)
        lookups.count(bool(members))
        for member in sorted(str(m) for m in members):
            if member.startswith(RQ_QUEUE_PREFIX):
                name = member[len(RQ_QUEUE_PREFIX) :]
                specs.append(_Spec(name, QueueKind.RQ, (member,)))

    pipe = client.pipeline(transaction=False)
    for spec in specs:
        for key in spec.keys:
            pipe.llen(key)
        if spec.kind is QueueKind.RQ:
            pipe.zcard(rq_failed_key(spec.name))
            pipe.zcard(rq_started_key(spec.name))
    # A key of the wrong type reads as empty instead of failing the whole pane.
    raw = pipe.execute(raise_on_error=False) if specs else []
    # Each LLEN/ZCARD is a keyspace lookup: a hit when the key exists (an empty list does not).
    for reply in raw:
        lookups.count(not isinstance(reply, int) or reply > 0)
    replies = iter(raw)

    queues: list[QueueInfo] = []
    seen: set[str] = set()
    for spec in specs:
        lengths = [_int(next(replies)) for _ in spec.keys]
        failed = started = None
        if spec.kind is QueueKind.RQ:
            failed, started = _int(next(replies)), _int(next(replies))
        depth = sum(lengths)
        held = tuple(k for k, n in zip(spec.keys, lengths, strict=True) if n) or spec.keys[:1]
        rate_key = f"{spec.kind}:{spec.name}"
        seen.add(rate_key)
        rate = rates.add(rate_key, now, depth)
        queues.append(
            QueueInfo(
                name=spec.name,
                kind=spec.kind,
                depth=depth,
                rate_per_min=rate,
                drain_eta_s=drain_eta(depth, rate),
                status=grade(depth, warn, crit),
                keys=held,
                length=depth,
                failed=failed,
                started=started,
            )
        )

    for stream in streams:
        length, groups = _stream(client, stream, lookups)
        backlogs = [(g.lag or 0) + g.pending for g in groups]
        depth = max(backlogs) if backlogs else length
        rate_key = f"stream:{stream}"
        seen.add(rate_key)
        rate = rates.add(rate_key, now, depth)
        queues.append(
            QueueInfo(
                name=stream,
                kind=QueueKind.STREAM,
                depth=depth,
                rate_per_min=rate,
                drain_eta_s=drain_eta(depth, rate),
                status=grade(depth, warn, crit),
                keys=(stream,),
                length=length,
                groups=groups,
            )
        )
    rates.forget_except(seen)
    return QueueScan(tuple(queues), lookups.hits, lookups.misses)


def _stream(client: Any, key: str, lookups: _Lookups) -> tuple[int, tuple[StreamGroup, ...]]:
    from redis.exceptions import ResponseError

    length = _int(client.xlen(key))
    if not length:
        exists = bool(client.exists(key))
        lookups.count(exists, times=2)  # the XLEN and the EXISTS
        if not exists:
            return 0, ()
    else:
        lookups.count(True)
    lookups.count(True)  # XINFO GROUPS finds the key, whatever its type
    try:
        raw_groups = client.xinfo_groups(key)
    except ResponseError:  # not a stream (WRONGTYPE): show it as empty rather than fail
        return length, ()
    groups = []
    for g in raw_groups:
        lag = g.get("lag")
        groups.append(
            StreamGroup(
                name=str(g.get("name", "")),
                consumers=_int(g.get("consumers")),
                pending=_int(g.get("pending")),
                lag=lag if isinstance(lag, int) and not isinstance(lag, bool) else None,
                last_delivered_id=str(g.get("last-delivered-id", "")),
            )
        )
    return length, tuple(groups)
