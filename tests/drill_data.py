"""The drill, as fixed Snapshots: one screen with problems everywhere, one with none.

The problem drill is the one responders rehearse: 6 Compose containers with a crash loop, an
unhealthy and an exited (OOM-killed) one; 46 PostgreSQL sessions with a lock chain and 6 long
queries; a 5000-item Celery backlog; no HTTP endpoints configured. The OK drill is the same
server on a quiet day. Built from tests/screen_data.py's records, so both look like the outage
the other screen snapshots show.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests import screen_data
from tests.screen_data import FIXED_TIME, GiB
from zconsole.checks.base import Snapshot, Status
from zconsole.checks.docker import DockerData
from zconsole.checks.host import HostData
from zconsole.checks.http import EndpointResult, HttpData
from zconsole.checks.postgres import Connections, PostgresData, Session
from zconsole.checks.redis import RedisData
from zconsole.checks.redis_queues import QueueInfo, QueueKind
from zconsole.registry import source

#: The long sessions of the problem drill, in the check's order (longest first).
LONG_PIDS = (48211, 48377, 48502, 48390, 48544, 48561)
SESSIONS = 46
BACKLOG = 5000


def _snapshot(check: str, status: Status, summary: str, data: Any, ms: float) -> Snapshot[Any]:
    return Snapshot(
        check=check,
        status=status,
        summary=summary,
        collected_at=FIXED_TIME,
        duration_ms=ms,
        data=data,
    )


def not_configured(name: str) -> Snapshot[Any]:
    """What the registry's NotConfigured check says for ``name``."""
    found = source(name)
    assert found is not None
    return Snapshot(
        check=name,
        status=Status.UNKNOWN,
        summary=f"not configured — {found.hint}",
        collected_at=FIXED_TIME,
        duration_ms=0.0,
        configured=False,
    )


# -- problems everywhere --------------------------------------------------------------------------


def _connections(total: int, status: Status) -> Connections:
    return Connections(
        total=total,
        max=100,
        percent=float(total),
        by_state={"active": 14, "idle": 26, "idle in transaction": total - 40},
        by_database={"shop": total - 2, "postgres": 2},
        by_application={"gunicorn": 24, "celery": 16, "metabase": 4, "psql": total - 44},
        by_user={"app": total - 6, "report": 4, "postgres": 2},
        by_client={"172.18.0.5": 24, "172.18.0.7": 16, "172.18.0.9": total - 40},
        max_connections=100,
        reserved=0,
        status=status,
    )


def _long_sessions() -> tuple[Session, ...]:
    four = screen_data.postgres_data().long_queries
    template = four[2]  # the report query
    extra = (
        replace(
            template,
            pid=48544,
            application_name="celery",
            client_addr="172.18.0.7",
            usename="app",
            duration_s=64.0,
            state_s=64.0,
            xact_s=64.0,
            query="DELETE FROM sessions WHERE expires_at < now() - interval '30 days'",
        ),
        replace(
            template,
            pid=48561,
            duration_s=41.0,
            state_s=41.0,
            xact_s=41.0,
            query="SELECT count(*) FROM order_items WHERE created_at > now() - interval '1 day'",
        ),
    )
    return (*four, *extra)


def problem_postgres() -> Snapshot[Any]:
    data: PostgresData = replace(
        screen_data.postgres_data(),
        connections=_connections(SESSIONS, Status.OK),
        long_queries=_long_sessions(),
    )
    return _snapshot(
        "postgres",
        Status.CRIT,
        f"{SESSIONS}/100 connections · 6 long queries · "
        "2 sessions blocked by pid 48211 (idle in transaction 12m34s)",
        data,
        21.7,
    )


def problem_redis() -> Snapshot[Any]:
    base: RedisData = screen_data.redis_data()
    celery = replace(base.queues[0], depth=BACKLOG, length=BACKLOG)
    data = replace(base, queues=(celery, *base.queues[1:]))
    return _snapshot(
        "redis", Status.CRIT, f"queue celery: {BACKLOG} waiting, growing 180/min", data, 4.3
    )


def problem_snapshots() -> list[Snapshot[Any]]:
    """Every source of the problem drill, least bad first (the header shows the worst)."""
    return [
        not_configured("http"),
        problem_postgres(),
        problem_redis(),
        screen_data.docker_snapshot(),
        screen_data.host_snapshot(),
    ]


# -- a quiet day ----------------------------------------------------------------------------------


def ok_host() -> Snapshot[Any]:
    base: HostData = screen_data.host_data()
    disks = tuple(
        replace(d, used=int(d.total * 0.52), percent=52.0, full_eta_s=None, status=Status.OK)
        if d.mount == "/"
        else d
        for d in base.disks
    )
    data = replace(
        base,
        cpu_percent=12.0,
        load=(0.31, 0.42, 0.40),
        memory=replace(base.memory, used=int(6.5 * GiB), percent=40.6),
        disks=disks,
        oom_kills=0,
        oom_kills_new=0,
        per_core=(14.0, 9.0, 12.0, 11.0),
    )
    return _snapshot("host", Status.OK, "disk / 52% · memory 41% · load 0.31", data, 12.0)


def ok_docker() -> Snapshot[Any]:
    base: DockerData = screen_data.docker_data()
    healthy = tuple(
        replace(
            c,
            state="running",
            health="healthy",
            problem="",
            status=Status.OK,
            exit_code=None,
            oom_killed=False,
            restart_count=0,
            cpu_percent=c.cpu_percent if c.cpu_percent is not None else 3.0,
            mem_bytes=c.mem_bytes if c.mem_bytes is not None else 200 * 1024**2,
        )
        for c in base.containers
    )
    data = replace(base, containers=healthy, events=())
    return _snapshot("docker", Status.OK, "6 containers running, all healthy", data, 30.0)


def ok_postgres() -> Snapshot[Any]:
    data = replace(
        screen_data.postgres_data(),
        connections=_connections(SESSIONS, Status.OK),
        long_queries=(),
        blocking=(),
    )
    return _snapshot(
        "postgres", Status.OK, f"{SESSIONS}/100 connections · no long queries", data, 9.0
    )


def ok_redis() -> Snapshot[Any]:
    base: RedisData = screen_data.redis_data()
    queues = (
        QueueInfo("celery", QueueKind.CELERY, 14, -2.0, 420.0, Status.OK, keys=("celery",)),
        *base.queues[1:],
    )
    data = replace(base, queues=queues, blocked_clients=0)
    return _snapshot("redis", Status.OK, "3 queues, deepest celery 14", data, 3.1)


def ok_http() -> Snapshot[Any]:
    base: HttpData = screen_data.http_data()
    endpoints: tuple[EndpointResult, ...] = tuple(
        replace(
            e,
            status_code=200,
            latency_ms=42.0 + index,
            ok=True,
            cert_days_left=61.0,
            error=None,
            status=Status.OK,
            error_kind=None,
            latency_status=Status.OK,
            cert_status=Status.OK,
        )
        for index, e in enumerate(base.endpoints)
    )
    return _snapshot(
        "http", Status.OK, "2 endpoints up · certificates 61 days left", HttpData(endpoints), 44.0
    )


def ok_snapshots() -> list[Snapshot[Any]]:
    return [ok_http(), ok_postgres(), ok_redis(), ok_docker(), ok_host()]
