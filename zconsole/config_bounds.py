"""Every number in the config has a range and a unit.

A value outside its range — or ``inf`` / ``nan``, which TOML allows (``1e400`` reads as ``inf``)
— is one line naming the file, the key and the allowed range, instead of a traceback at start-up
or, worse, a console that runs wrong: ``interval = 0`` polls in a loop and burns a core on a
server that is already in trouble, ``timeout = -1`` makes every check "time out after 0 s".
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Bound:
    low: float
    high: float
    unit: str

    def allows(self, value: float) -> bool:
        return math.isfinite(value) and self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.low:g} to {self.high:g} {self.unit}"


# Shared ranges. A threshold above 100 % never fires: that is how a threshold is silenced.
_POLL = Bound(0.2, 3600, "s")
_TIMEOUT = Bound(0.1, 600, "s")
_PERCENT = Bound(0, 1000, "%")
_MINUTES = Bound(0.01, 10080, "min")  # up to a week
_TARGET_MINUTES = Bound(1, 525600, "min")  # up to a year

BOUNDS: dict[str, Bound] = {
    "general.interval": _POLL,
    "general.timeout": _TIMEOUT,
    "host.cpu_warn": _PERCENT,
    "host.cpu_crit": _PERCENT,
    "host.memory_warn": _PERCENT,
    "host.memory_crit": _PERCENT,
    "host.swap_warn": _PERCENT,
    "host.swap_crit": _PERCENT,
    "host.disk_warn": _PERCENT,
    "host.disk_crit": _PERCENT,
    "host.load_warn_per_core": Bound(0, 10000, "load per core"),
    "host.load_crit_per_core": Bound(0, 10000, "load per core"),
    "host.mount_timeout": Bound(0.05, 60, "s"),
    "host.log_max_age_days": Bound(0, 3650, "days"),
    "host.journal_max_age_days": Bound(1, 3650, "days"),
    "host.growth_window_s": Bound(10, 86400, "s"),
    "host.top_processes": Bound(1, 200, "processes"),
    "docker.log_lines": Bound(1, 100000, "lines"),
    "docker.max_stats_streams": Bound(0, 10000, "streams"),
    "docker.first_stats_wait": Bound(0, 60, "s"),
    "postgres.connections_warn_pct": _PERCENT,
    "postgres.connections_crit_pct": _PERCENT,
    "postgres.long_query_s": Bound(0.001, 86400, "s"),
    "postgres.statement_timeout_ms": Bound(100, 600000, "ms"),
    "postgres.statements_top": Bound(1, 1000, "statements"),
    "postgres.kill_long_after_min": _MINUTES,
    "postgres.kill_idle_tx_after_min": _MINUTES,
    "mysql.connections_warn_pct": _PERCENT,
    "mysql.connections_crit_pct": _PERCENT,
    "mysql.long_query_s": Bound(0.001, 86400, "s"),
    "mysql.statement_timeout_ms": Bound(100, 600000, "ms"),
    "mysql.kill_long_after_min": _MINUTES,
    "mysql.kill_idle_tx_after_min": _MINUTES,
    "mysql.slow_queries_warn_per_min": Bound(0, 1e9, "per min"),
    "mysql.replica_lag_warn_s": Bound(0, 31536000, "s"),
    "mysql.replica_lag_crit_s": Bound(0, 31536000, "s"),
    "redis.queue_warn": Bound(0, 1e9, "items"),
    "redis.queue_crit": Bound(0, 1e9, "items"),
    "redis.memory_warn_pct": _PERCENT,
    "redis.memory_crit_pct": _PERCENT,
    "redis.rate_window_s": Bound(10, 86400, "s"),
    "redis.slowlog_top": Bound(0, 1000, "entries"),
    "redis.bigkeys_max_scan": Bound(1, 1e8, "keys"),
    "http.endpoints[].expect_status": Bound(100, 599, "(HTTP status)"),
    "http.endpoints[].timeout": _TIMEOUT,
    "http.latency_warn_ms": Bound(1, 600000, "ms"),
    "http.cert_warn_days": Bound(0, 3650, "days"),
    "http.cert_crit_days": Bound(0, 3650, "days"),
    "incident.update_every_min": Bound(1, 10080, "min"),
    "incident.respond_min": _TARGET_MINUTES,
    "incident.resolve_min": _TARGET_MINUTES,
    "incident.hysteresis_s": Bound(0, 86400, "s"),
    "actions[].timeout": Bound(0.1, 86400, "s"),
    "recording.interval": _POLL,
    # An hour at the least: a shorter record cannot hold the minutes before the responder came.
    "recording.retention_h": Bound(1, 24 * 366, "h"),
    "recording.max_mb": Bound(1, 1e6, "MB"),
    "notify[].timeout": Bound(0.5, 120, "s"),
}
# Every section may poll on its own clock and timeout.
for _section in ("host", "docker", "postgres", "redis", "http", "mysql"):
    BOUNDS[f"{_section}.interval"] = _POLL
    BOUNDS[f"{_section}.timeout"] = _TIMEOUT


def numbers(tree: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, float]]:
    """(key, value) of every number in a config tree; list items share their list's key."""
    for name, value in tree.items():
        key = f"{prefix}{name}"
        if key in ("targets", "sources", "discovered"):
            continue  # a target's values are checked once merged over the rest
        yield from _numbers_of(key, value)


def _numbers_of(key: str, value: Any) -> Iterator[tuple[str, float]]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int | float):
        yield key, value
    elif isinstance(value, Mapping):
        yield from numbers(value, key + ".")
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _numbers_of(key + "[]" if isinstance(item, Mapping) else key, item)


def out_of_bounds(tree: Mapping[str, Any]) -> tuple[str, float, Bound] | None:
    """The first number outside its range, or None."""
    for key, value in numbers(tree):
        bound = BOUNDS.get(key)
        # Every key has one (a test says so); a key without is no reason to stop a console.
        if bound is not None and not bound.allows(value):
            return key, value, bound
    return None


def bounds_message(key: str, value: float, bound: Bound) -> str:
    shown = repr(value) if math.isfinite(value) else str(value)
    return f"{key}: {shown} is out of range (allowed: {bound})"
