"""Fixed data for the screen snapshots: one believable outage on web-01, every source.

Built from the real record types of each check, with fixed times and durations so that the SVG
snapshots in tests/test_screens.py are the same on every run. The story: the root disk is
nearly full, the web container is unhealthy, a worker was OOM-killed, PostgreSQL is blocked
behind an idle-in-transaction session, the celery queue is piling up and /ready answers 500.
One piece of hostile text (markup and a clear-screen escape) sits in a Redis slowlog command
and in the reporting query (the incident snapshot also puts it in a note), to show it inert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from zconsole.checks.base import Snapshot, Status
from zconsole.checks.docker import ContainerInfo, DockerData, DockerEvent
from zconsole.checks.host import Disk, DiskIO, HostData, HostHistory, Memory, Pressure, Swap
from zconsole.checks.host_procs import ProcessInfo
from zconsole.checks.http import EndpointResult, HttpData
from zconsole.checks.postgres import (
    Blocked,
    Connections,
    Database,
    Health,
    PostgresData,
    Session,
    Statement,
)
from zconsole.checks.redis import DbKeys, RedisData, SlowEntry
from zconsole.checks.redis_queues import QueueInfo, QueueKind

#: "Now" everywhere on screen: the header clock, container ages, incident clocks.
FIXED_TIME = datetime(2026, 11, 23, 14, 5, 33, tzinfo=UTC)
GiB = 1024**3
MiB = 1024**2

#: Markup and an ESC[2J (clear screen): must show as literal text, never style or clear.
HOSTILE = "[bold red]x[/] \x1b[2J"


def _engine_time(delta: timedelta) -> str:
    """An Engine RFC 3339 timestamp ``delta`` before FIXED_TIME (nanoseconds, like the API)."""
    return (FIXED_TIME - delta).strftime("%Y-%m-%dT%H:%M:%S.123456789Z")


def _snapshot(check: str, status: Status, summary: str, data: Any, ms: float) -> Snapshot[Any]:
    return Snapshot(
        check=check,
        status=status,
        summary=summary,
        collected_at=FIXED_TIME,
        duration_ms=ms,
        data=data,
    )


# -- host -----------------------------------------------------------------------------------------


def host_data() -> HostData:
    return HostData(
        cpu_percent=64.0,
        load=(2.61, 2.12, 1.48),
        cores=4,
        memory=Memory(
            total=16 * GiB,
            used=int(12.48 * GiB),
            available=int(3.52 * GiB),
            percent=78.0,
            cached=2 * GiB,
        ),
        swap=Swap(total=2 * GiB, used=256 * MiB, percent=12.5),
        disks=(
            Disk(
                "/",
                "/dev/vda1",
                "ext4",
                80 * GiB,
                int(74.4 * GiB),
                93.0,
                inodes_percent=41.0,
                full_eta_s=5 * 3600.0,
                status=Status.CRIT,
                growth_bps=312_000.0,
                io=DiskIO(read_bps=1.2e6, write_bps=8.4e6, read_iops=40.0, write_iops=310.0),
            ),
            Disk(
                "/var/lib/docker",
                "/dev/vdb1",
                "ext4",
                200 * GiB,
                int(96 * GiB),
                48.0,
                inodes_percent=12.0,
                status=Status.OK,
            ),
            Disk("/boot", "/dev/vda15", "vfat", 512 * MiB, 61 * MiB, 12.0, status=Status.OK),
        ),
        uptime_s=41 * 86400 + 3 * 3600,
        per_core=(71.0, 58.0, 66.0, 61.0),
        pressure=Pressure(18.4, None, 6.2, 1.1, 22.0, 9.5),
        oom_kills=3,
        oom_kills_new=1,
        io=DiskIO(read_bps=1.2e6, write_bps=8.4e6, read_iops=40.0, write_iops=310.0),
        top_processes=(
            ProcessInfo(
                2817,
                "gunicorn",
                38.5,
                int(1.9 * GiB),
                container="app-web-1",
                memory_percent=11.9,
                username="www-data",
                create_time=1.0,
            ),
            ProcessInfo(
                1904,
                "postgres",
                12.0,
                int(2.4 * GiB),
                container="app-db-1",
                memory_percent=15.0,
                username="postgres",
                create_time=2.0,
            ),
            ProcessInfo(
                3311,
                "celery",
                9.5,
                int(1.1 * GiB),
                container="app-worker-2",
                memory_percent=6.9,
                username="app",
                create_time=3.0,
            ),
            ProcessInfo(
                1422,
                "redis-server",
                2.1,
                900 * MiB,
                container="app-redis-1",
                memory_percent=5.5,
                username="redis",
                create_time=4.0,
            ),
            ProcessInfo(812, "dockerd", 1.4, 180 * MiB, username="root", create_time=5.0),
        ),
        process_count=212,
        history=HostHistory(
            cpu=(22.0, 25.0, 31.0, 40.0, 52.0, 48.0, 57.0, 61.0, 66.0, 64.0),
            memory=(61.0, 63.0, 66.0, 70.0, 72.0, 74.0, 75.0, 77.0, 78.0, 78.0),
            disks={
                "/": (88.0, 88.6, 89.3, 90.1, 90.8, 91.4, 92.0, 92.5, 93.0),
                "/var/lib/docker": (48.0, 48.0, 48.0),
                "/boot": (12.0,),
            },
        ),
    )


def host_snapshot() -> Snapshot[Any]:
    return _snapshot(
        "host", Status.CRIT, "disk / 93% (crit) · memory 78% · load 2.61", host_data(), 14.2
    )


# -- containers -----------------------------------------------------------------------------------


def _container(
    name: str,
    service: str,
    *,
    state: str = "running",
    health: str = "healthy",
    restarts: int = 0,
    exit_code: int | None = None,
    oom: bool = False,
    cpu: float | None = 1.0,
    mem: int | None = 100 * MiB,
    limit: int | None = GiB,
    up: timedelta = timedelta(days=3, hours=4),
    finished: timedelta | None = None,
    image: str = "registry.example.test/app:2026.11.2",
    ports: tuple[str, ...] = (),
    problem: str = "",
    status: Status = Status.OK,
    cid: str,
) -> ContainerInfo:
    return ContainerInfo(
        name=name,
        id=cid * 8,
        image=image,
        state=state,
        health=health,
        restart_count=restarts,
        exit_code=exit_code,
        oom_killed=oom,
        cpu_percent=cpu,
        mem_bytes=mem,
        mem_limit_bytes=limit,
        compose_project="app",
        compose_service=service,
        started_at=_engine_time(up),
        finished_at=_engine_time(finished) if finished is not None else "0001-01-01T00:00:00Z",
        ports=ports,
        problem=problem,
        status=status,
    )


def docker_data() -> DockerData:
    containers = (
        _container(
            "app-scheduler-1",
            "scheduler",
            state="restarting",
            health="",
            restarts=14,
            exit_code=1,
            cpu=None,
            mem=None,
            up=timedelta(seconds=8),
            problem="RESTARTING",
            status=Status.CRIT,
            cid="c3d4e5f6",
        ),
        _container(
            "app-web-1",
            "web",
            health="unhealthy",
            cpu=88.4,
            mem=int(1.9 * GiB),
            limit=2 * GiB,
            up=timedelta(hours=6, minutes=12),
            ports=("0.0.0.0:8000->8000/tcp",),
            problem="UNHEALTHY",
            status=Status.CRIT,
            cid="a1b2c3d4",
        ),
        _container(
            "app-worker-2",
            "worker",
            state="exited",
            health="",
            exit_code=137,
            oom=True,
            cpu=None,
            mem=None,
            limit=GiB,
            up=timedelta(hours=2),
            finished=timedelta(minutes=4),
            problem="OOM-KILLED",
            status=Status.CRIT,
            cid="b2c3d4e5",
        ),
        _container(
            "app-db-1",
            "db",
            cpu=12.0,
            mem=int(2.4 * GiB),
            limit=4 * GiB,
            image="postgres:16.4",
            ports=("127.0.0.1:5432->5432/tcp",),
            cid="d4e5f6a7",
        ),
        _container(
            "app-redis-1",
            "redis",
            cpu=2.1,
            mem=900 * MiB,
            limit=GiB,
            image="redis:7.2",
            ports=("127.0.0.1:6379->6379/tcp",),
            cid="e5f6a7b8",
        ),
        _container(
            "app-worker-1",
            "worker",
            cpu=34.0,
            mem=700 * MiB,
            limit=GiB,
            up=timedelta(hours=2),
            cid="f6a7b8c9",
        ),
    )
    events = (
        DockerEvent(
            at="2026-11-23T14:01:29Z",
            container_id=containers[2].id,
            name="app-worker-2",
            action="oom",
            text="app-worker-2 OOM-killed (exit 137)",
            for_timeline=True,
        ),
        DockerEvent(
            at="2026-11-23T14:05:25Z",
            container_id=containers[0].id,
            name="app-scheduler-1",
            action="die",
            text="app-scheduler-1 died (exit 1), restart 14",
            for_timeline=True,
        ),
    )
    return DockerData(
        containers=containers,
        engine_version="26.1.5",
        url="unix:///var/run/docker.sock",
        events=events,
        stats_pending=0,
    )


def docker_snapshot() -> Snapshot[Any]:
    return _snapshot(
        "docker",
        Status.CRIT,
        "3 of 6 containers need attention: app-worker-2 OOM-KILLED, app-scheduler-1 RESTARTING, "
        "app-web-1 UNHEALTHY",
        docker_data(),
        38.0,
    )


# -- postgres -------------------------------------------------------------------------------------

_BACKEND_START = datetime(2026, 11, 23, 13, 40, 2, tzinfo=UTC)
LONG_QUERY = (
    "SELECT o.id, o.total FROM orders o JOIN order_items i ON i.order_id = o.id "
    f"WHERE o.note LIKE '%{HOSTILE}%' ORDER BY o.created_at DESC"
)


def postgres_data() -> PostgresData:
    blocker_query = "UPDATE accounts SET balance = balance - 40 WHERE id = 7311"
    blocking = (
        Blocked(
            pid=48211,
            blocked_by=(),
            depth=0,
            root=48211,
            usename="app",
            datname="shop",
            application_name="gunicorn",
            state="idle in transaction",
            state_s=754.0,
            duration_s=761.0,
            wait_event="ClientRead",
            query=blocker_query,
            backend_start=_BACKEND_START,
        ),
        Blocked(
            pid=48377,
            blocked_by=(48211,),
            depth=1,
            root=48211,
            usename="app",
            datname="shop",
            application_name="celery",
            state="active",
            state_s=312.0,
            duration_s=312.0,
            wait_event="transactionid",
            query="UPDATE accounts SET last_seen = now() WHERE id = 7311",
            backend_start=_BACKEND_START,
        ),
        Blocked(
            pid=48390,
            blocked_by=(48211,),
            depth=1,
            root=48211,
            usename="app",
            datname="shop",
            application_name="gunicorn",
            state="active",
            state_s=97.0,
            duration_s=97.0,
            wait_event="transactionid",
            query="SELECT * FROM accounts WHERE id = 7311 FOR UPDATE",
            backend_start=_BACKEND_START,
        ),
    )
    long_queries = (
        Session(
            pid=48211,
            usename="app",
            datname="shop",
            application_name="gunicorn",
            client_addr="172.18.0.5",
            state="idle in transaction",
            wait_event="ClientRead",
            duration_s=761.0,
            query=blocker_query,
            wait_event_type="Client",
            state_s=754.0,
            xact_s=761.0,
            backend_start=_BACKEND_START,
        ),
        Session(
            pid=48377,
            usename="app",
            datname="shop",
            application_name="celery",
            client_addr="172.18.0.7",
            state="active",
            wait_event="transactionid",
            duration_s=312.0,
            query="UPDATE accounts SET last_seen = now() WHERE id = 7311",
            wait_event_type="Lock",
            state_s=312.0,
            xact_s=312.0,
            backend_start=_BACKEND_START,
        ),
        Session(
            pid=48502,
            usename="report",
            datname="shop",
            application_name="metabase",
            client_addr="172.18.0.9",
            state="active",
            wait_event=None,
            duration_s=188.0,
            query=LONG_QUERY,
            wait_event_type=None,
            state_s=188.0,
            xact_s=188.0,
            backend_start=_BACKEND_START,
        ),
        Session(
            pid=48390,
            usename="app",
            datname="shop",
            application_name="gunicorn",
            client_addr="172.18.0.5",
            state="active",
            wait_event="transactionid",
            duration_s=97.0,
            query="SELECT * FROM accounts WHERE id = 7311 FOR UPDATE",
            wait_event_type="Lock",
            state_s=97.0,
            xact_s=97.0,
            backend_start=_BACKEND_START,
        ),
    )
    statements = (
        Statement(1001, "shop", "report", LONG_QUERY, 42, 612_000.0, 14_571.4, 8_400),
        Statement(
            1002,
            "shop",
            "app",
            "UPDATE accounts SET balance = balance - $1 WHERE id = $2",
            91_200,
            402_000.0,
            4.4,
            91_200,
        ),
        Statement(
            1003,
            "shop",
            "app",
            "SELECT * FROM accounts WHERE id = $1 FOR UPDATE",
            60_410,
            150_300.0,
            2.5,
            60_410,
        ),
    )
    return PostgresData(
        connections=Connections(
            total=87,
            max=100,
            percent=87.0,
            by_state={"active": 31, "idle": 44, "idle in transaction": 12},
            by_database={"shop": 83, "postgres": 4},
            by_application={"gunicorn": 52, "celery": 29, "metabase": 4, "psql": 2},
            by_user={"app": 81, "report": 4, "postgres": 2},
            by_client={"172.18.0.5": 52, "172.18.0.7": 29, "172.18.0.9": 6},
            max_connections=100,
            reserved=0,
            status=Status.WARN,
        ),
        long_queries=long_queries,
        blocking=blocking,
        statements=statements,
        statements_by_total=statements,
        statements_unavailable=None,
        replication=(),
        standby=None,
        health=Health(
            version="16.4",
            version_num=160004,
            connect_ms=3.1,
            uptime_s=12 * 86400 + 5 * 3600,
            databases=(Database("shop", 38 * GiB), Database("postgres", 8 * MiB)),
            cache_hit_pct=99.1,
            commits_per_s=412.0,
            rollbacks_per_s=3.5,
            deadlocks=2,
            deadlocks_new=0,
            temp_files=14,
            temp_bytes=820 * MiB,
            xid_age=41_000_000,
            xid_age_pct=2.0,
            autovacuums=(),
        ),
        role="primary",
        user="zconsole",
        privileges="pg_monitor",
        long_query_s=5.0,
    )


def postgres_snapshot() -> Snapshot[Any]:
    return _snapshot(
        "postgres",
        Status.WARN,
        "87/100 connections · 2 sessions blocked by pid 48211 (idle in transaction 12m34s)",
        postgres_data(),
        21.7,
    )


# -- redis ----------------------------------------------------------------------------------------


def redis_data() -> RedisData:
    queues = (
        QueueInfo(
            "celery",
            QueueKind.CELERY,
            6200,
            180.0,
            None,
            Status.CRIT,
            keys=("celery",),
        ),
        QueueInfo(
            "emails",
            QueueKind.CELERY,
            12,
            -6.0,
            120.0,
            Status.OK,
            keys=("emails",),
        ),
        QueueInfo(
            "default",
            QueueKind.RQ,
            40,
            -12.0,
            200.0,
            Status.OK,
            keys=("rq:queue:default",),
            failed=3,
            started=2,
        ),
    )
    return RedisData(
        target="127.0.0.1:6379/0",
        ping_ms=0.8,
        version="7.2.5",
        role="master",
        replication="master · no replicas",
        replication_ok=True,
        used_memory=610 * MiB,
        maxmemory=GiB,
        memory_pct=59.6,
        maxmemory_policy="noeviction",
        fragmentation=1.08,
        evicted_keys=0,
        evicted_per_s=0.0,
        expired_keys=18_220,
        expired_per_s=1.5,
        connected_clients=58,
        blocked_clients=6,
        ops_per_sec=2140,
        hit_rate=0.93,
        dbs=(DbKeys(0, 48_211, 1_204),),
        slowlog=(
            SlowEntry(
                312,
                datetime(2026, 11, 23, 14, 4, 50, tzinfo=UTC),
                31_000,
                f'SET order:note:7311 "{HOSTILE}"',
                "172.18.0.5:40112",
            ),
            SlowEntry(
                311,
                datetime(2026, 11, 23, 14, 3, 12, tzinfo=UTC),
                48_000,
                "LRANGE celery 0 -1",
                "172.18.0.7:51544",
            ),
        ),
        queues=queues,
        memory_status=Status.OK,
        persistence="rdb",
        rdb_file="/data/dump.rdb",
    )


def redis_snapshot() -> Snapshot[Any]:
    return _snapshot(
        "redis", Status.CRIT, "queue celery: 6200 waiting, growing 180/min", redis_data(), 4.3
    )


# -- http -----------------------------------------------------------------------------------------


def http_data() -> HttpData:
    return HttpData(
        endpoints=(
            EndpointResult(
                name="health",
                url="https://shop.example.test/health",
                status_code=200,
                latency_ms=84.0,
                ok=True,
                cert_days_left=9.0,
                error=None,
                status=Status.WARN,
                cert_status=Status.WARN,
                cert_hostnames=("shop.example.test",),
                cert_not_after="2026-12-02T14:05:33Z",
                cert_issuer="R11",
                cert_verified=True,
                timeout_s=5.0,
            ),
            EndpointResult(
                name="ready",
                url="https://shop.example.test/ready",
                status_code=500,
                latency_ms=2310.0,
                ok=False,
                cert_days_left=9.0,
                error="HTTP 500 — body: database timeout",
                status=Status.CRIT,
                error_kind="status",
                latency_status=Status.WARN,
                cert_status=Status.WARN,
                cert_hostnames=("shop.example.test",),
                cert_not_after="2026-12-02T14:05:33Z",
                cert_issuer="R11",
                cert_verified=True,
                timeout_s=5.0,
            ),
        )
    )


def http_snapshot() -> Snapshot[Any]:
    return _snapshot(
        "http",
        Status.CRIT,
        "/ready 500 · certificate shop.example.test expires in 9 days",
        http_data(),
        2312.0,
    )


def all_snapshots() -> list[Snapshot[Any]]:
    """Every source, least bad first: the header shows the worst status of what it was fed."""
    return [
        postgres_snapshot(),
        http_snapshot(),
        redis_snapshot(),
        docker_snapshot(),
        host_snapshot(),
    ]
