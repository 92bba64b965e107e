"""The ``[redis]`` settings. No Redis client here: config loading reads this without it."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True, kw_only=True)
class RedisSettings:
    #: redis:// or rediss:// URL; empty means REDIS_URL.
    url: str = ""
    interval: float | None = None
    timeout: float | None = None
    celery_queues: list[str] = field(default_factory=lambda: ["celery"])
    lists: list[str] = field(default_factory=list)
    streams: list[str] = field(default_factory=list)
    discover_rq: bool = True
    # Runbooks: "queue > 1000" warn; "5000+" is the named backlog incident.
    queue_warn: int = 1000
    queue_crit: int = 5000
    memory_warn_pct: float = 85.0
    memory_crit_pct: float = 95.0
    #: Growth per minute is the slope over this many seconds of polls (a backlog trend, not noise).
    rate_window_s: float = 300.0
    #: Slowlog entries shown (SLOWLOG GET n).
    slowlog_top: int = 5
    #: Big-key scan stops after this many keys (SCAN, never KEYS) so a huge db is sampled.
    bigkeys_max_scan: int = 100_000
