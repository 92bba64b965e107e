"""Prometheus out: every check's status and key figures as metric families.

Fed by the scheduler (``CheckMetrics`` is a listener of CheckResults) and read at scrape time
from the latest result of each source, through the official client's Collector interface, so
nothing is computed between scrapes. The figures come from each check's snapshot JSON
(version 1, the documented and stable shape), not from the record classes, so a new field or a
renamed class cannot break a scrape.

Label values are outside text (mount points, container and queue names, URLs): each goes
through the one redactor, URLs lose their query, userinfo and fragment, and every value is cut
to a bounded length. The exposition format's own escaping does the rest.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from zconsole import __version__
from zconsole.checks.base import CheckResult, Status
from zconsole.checks.secrets import redact

LABEL_MAX = 200
#: ``zconsole_check_status`` values: worse is higher, so ``>= 3`` means critical or failing.
STATUS_VALUE = {
    Status.OK: 0,
    Status.UNKNOWN: 1,
    Status.WARN: 2,
    Status.CRIT: 3,
    Status.ERROR: 4,
}
STATUS_HELP = "Status of the check: 0 ok, 1 unknown, 2 warn, 3 crit, 4 error (unreachable)."


def label(value: object) -> str:
    text = redact(str(value))
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def endpoint_label(url: str) -> str:
    """scheme://host[:port]/path: the query (tokens), userinfo and fragment never appear."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return label("(invalid URL)")
    return label(f"{parts.scheme}://{host}{port}{parts.path}")


def _num(value: object) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value)
    return None


class _Families:
    """Gauge families built on one scrape, created on first use, in a stable order."""

    def __init__(self) -> None:
        self._families: dict[str, tuple[GaugeMetricFamily, list[str]]] = {}

    def add(
        self,
        name: str,
        help_text: str,
        value: object,
        labels: dict[str, str] | None = None,
    ) -> None:
        number = _num(value)
        if number is None:
            return
        labels = labels or {}
        known = self._families.get(name)
        if known is None:
            known = (GaugeMetricFamily(name, help_text, labels=list(labels)), list(labels))
            self._families[name] = known
        family, names = known
        family.add_metric([labels.get(k, "") for k in names], number)

    def __iter__(self) -> Iterator[Metric]:
        return iter(family for family, _names in self._families.values())


def _host(data: dict[str, Any], add: Callable[..., None]) -> None:
    add("zconsole_host_cpu_percent", "CPU busy, percent of all cores.", data.get("cpu_percent"))
    for period, value in zip(("1m", "5m", "15m"), data.get("load") or (), strict=False):
        add("zconsole_host_load", "Load average.", value, {"period": period})
    memory = data.get("memory") or {}
    add("zconsole_host_memory_percent", "Memory in use, percent.", memory.get("percent"))
    add("zconsole_host_memory_available_bytes", "Memory available.", memory.get("available"))
    swap = data.get("swap") or {}
    add("zconsole_host_swap_percent", "Swap in use, percent.", swap.get("percent"))
    add("zconsole_host_oom_kills", "OOM kills seen since zconsole started.", data.get("oom_kills"))
    for disk in data.get("disks") or ():
        labels = {"mount": label(disk.get("mount", ""))}
        add(
            "zconsole_disk_used_percent", "Disk space in use, percent.", disk.get("percent"), labels
        )
        add("zconsole_disk_used_bytes", "Disk space in use.", disk.get("used"), labels)
        add("zconsole_disk_size_bytes", "Disk size.", disk.get("total"), labels)
        add(
            "zconsole_disk_inodes_used_percent",
            "Inodes in use, percent.",
            disk.get("inodes_percent"),
            labels,
        )
        add(
            "zconsole_disk_full_eta_seconds",
            "Seconds until the disk is full at the current fill rate (absent when not filling).",
            disk.get("full_eta_s"),
            labels,
        )


def _docker(data: dict[str, Any], add: Callable[..., None]) -> None:
    states: dict[str, int] = {}
    for container in data.get("containers") or ():
        state = str(container.get("state", ""))
        states[state] = states.get(state, 0) + 1
        labels = {"container": label(container.get("name", ""))}
        add(
            "zconsole_container_running",
            "1 when the container is running.",
            state == "running",
            labels,
        )
        add(
            "zconsole_container_restarts",
            "Restart count of the container.",
            container.get("restart_count"),
            labels,
        )
        add(
            "zconsole_container_cpu_percent",
            "CPU of the container, percent of one core.",
            container.get("cpu_percent"),
            labels,
        )
        add(
            "zconsole_container_memory_bytes",
            "Memory of the container.",
            container.get("mem_bytes"),
            labels,
        )
    for state, count in sorted(states.items()):
        add("zconsole_containers", "Containers by state.", count, {"state": label(state)})


def _database(source: str) -> Callable[[dict[str, Any], Callable[..., None]], None]:
    """PostgreSQL and MySQL share their record's shape (connections, long queries, blocking),
    so they share their families, named by source (``zconsole_postgres_connections`` …)."""

    def figures(data: dict[str, Any], add: Callable[..., None]) -> None:
        name = f"zconsole_{source}"
        connections = data.get("connections") or {}
        add(f"{name}_connections", "Server connections.", connections.get("total"))
        add(
            f"{name}_connections_max",
            "Usable connections (max_connections less the reserved ones).",
            connections.get("max"),
        )
        add(
            f"{name}_connections_percent",
            "Connections in use, percent of the usable ones.",
            connections.get("percent"),
        )
        for state, count in sorted((connections.get("by_state") or {}).items()):
            add(
                f"{name}_connections_by_state",
                "Server connections by state.",
                count,
                {"state": label(state)},
            )
        long_queries = data.get("long_queries") or ()
        add(f"{name}_long_queries", "Sessions over the long-query threshold.", len(long_queries))
        longest = max((_num(q.get("duration_s")) or 0.0 for q in long_queries), default=0.0)
        add(f"{name}_longest_query_seconds", "The longest running query.", longest)
        add(
            f"{name}_blocked_sessions",
            "Sessions waiting for a lock another session holds.",
            len(data.get("blocking") or ()),
        )

    return figures


def _redis(data: dict[str, Any], add: Callable[..., None]) -> None:
    ping = _num(data.get("ping_ms"))
    add("zconsole_redis_ping_seconds", "PING round trip.", None if ping is None else ping / 1000)
    add("zconsole_redis_used_memory_bytes", "used_memory.", data.get("used_memory"))
    add("zconsole_redis_maxmemory_bytes", "maxmemory (0 = no limit).", data.get("maxmemory"))
    add("zconsole_redis_connected_clients", "connected_clients.", data.get("connected_clients"))
    add(
        "zconsole_redis_evicted_keys",
        "evicted_keys since the server started.",
        data.get("evicted_keys"),
    )
    add("zconsole_redis_ops_per_second", "instantaneous_ops_per_sec.", data.get("ops_per_sec"))
    add("zconsole_redis_hit_ratio", "Keyspace hits / (hits + misses).", data.get("hit_rate"))
    for queue in data.get("queues") or ():
        labels = {"queue": label(queue.get("name", "")), "kind": label(queue.get("kind", ""))}
        add("zconsole_queue_depth", "Jobs waiting in the queue.", queue.get("depth"), labels)
        add(
            "zconsole_queue_rate_per_minute",
            "Growth of the queue per minute (negative: draining).",
            queue.get("rate_per_min"),
            labels,
        )


def _http(data: dict[str, Any], add: Callable[..., None]) -> None:
    for endpoint in data.get("endpoints") or ():
        labels = {"endpoint": endpoint_label(str(endpoint.get("url", "")))}
        add(
            "zconsole_endpoint_up",
            "1 when the endpoint answered as expected.",
            endpoint.get("ok"),
            labels,
        )
        latency = _num(endpoint.get("latency_ms"))
        add(
            "zconsole_endpoint_latency_seconds",
            "Time to the full response.",
            None if latency is None else latency / 1000,
            labels,
        )
        add(
            "zconsole_endpoint_status_code",
            "HTTP status code of the last answer.",
            endpoint.get("status_code"),
            labels,
        )
        add(
            "zconsole_endpoint_cert_days_left",
            "Days until the TLS certificate expires.",
            endpoint.get("cert_days_left"),
            labels,
        )


#: Key figures per source; a source without an entry (a new one) still has its status.
FIGURES: dict[str, Callable[[dict[str, Any], Callable[..., None]], None]] = {
    "host": _host,
    "docker": _docker,
    "postgres": _database("postgres"),
    "redis": _redis,
    "http": _http,
    "mysql": _database("mysql"),
}


class CheckMetrics(Collector):
    """The latest result of each check, turned into metric families at scrape time."""

    def __init__(self, hostname: str | None = None) -> None:
        self.hostname = hostname or socket.gethostname()
        self._lock = threading.Lock()
        self._latest: dict[str, CheckResult] = {}

    def on_result(self, result: CheckResult) -> None:
        """Scheduler listener: keep the newest result of each source."""
        with self._lock:
            self._latest[result.name] = result

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            latest = dict(self._latest)
        families = _Families()
        add = families.add
        add(
            "zconsole_info",
            "zconsole itself (always 1).",
            1,
            {"version": label(__version__), "hostname": label(self.hostname)},
        )
        for name, result in latest.items():
            snap = result.latest
            source = {"source": label(name)}
            add("zconsole_check_status", STATUS_HELP, STATUS_VALUE[snap.status], source)
            add(
                "zconsole_check_up",
                "1 when the last poll of the source succeeded.",
                snap.configured and snap.error is None,
                source,
            )
            add(
                "zconsole_check_configured", "1 when the source is set up.", snap.configured, source
            )
            add(
                "zconsole_check_duration_seconds",
                "How long the last poll took.",
                snap.duration_ms / 1000,
                source,
            )
            add(
                "zconsole_check_last_poll_timestamp_seconds",
                "When the last poll started (Unix time).",
                snap.collected_at.timestamp(),
                source,
            )
            figures = FIGURES.get(name)
            if figures is not None and snap.ok_data:
                data = snap.to_json().get("data")
                if isinstance(data, dict):
                    figures(data, add)
        yield from families
