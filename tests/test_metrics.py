"""Prometheus out: `/metrics`, fed by the one scheduler from real checks (host, PostgreSQL,
Redis with a queue, an HTTP endpoint on loopback), parsed with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from tests import services
from tests.receivers import Receiver
from zconsole import registry
from zconsole.checks.base import CheckResult
from zconsole.config import load_config
from zconsole.notify import services as notify_services
from zconsole.notify.listeners import MetricsServer
from zconsole.notify.metrics import CheckMetrics
from zconsole.registry import build_checks
from zconsole.scheduler import Scheduler

REDIS_PASSWORD = "redis-pw-metrics-5678"
PG_PASSWORD = "pg-pw-metrics-1234"
ENDPOINT_TOKEN = "endpoint-token-abcdef012345"


@pytest.fixture(scope="module")
def private_redis() -> Any:
    server = services.start_redis(password=REDIS_PASSWORD)
    yield server
    services.destroy_redis(server)


async def test_metrics_has_every_checks_status_and_key_figures(
    tmp_path: Path, postgres_server: services.Postgres, private_redis: services.Redis
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.delete("celery")
    client.rpush("celery", *[f"job-{i}" for i in range(37)])
    client.close()
    # An application session, so the connection figures have something to count.
    app_session = psycopg.connect(postgres_server.dsn, application_name="metrics-test")
    with app_session, Receiver() as health:
        flags: dict[str, Any] = {
            "general": {"store": str(tmp_path / "store.db"), "interval": 60.0},
            "docker": {"enabled": False},
            "postgres": {"dsn": postgres_server.url(password=PG_PASSWORD)},
            "redis": {"url": private_redis.url, "celery_queues": ["celery"]},
            "http": {"endpoints": [{"url": f"{health.url}/health?token={ENDPOINT_TOKEN}"}]},
            "metrics": {"listen": "127.0.0.1:0"},
        }
        config = load_config(flags=flags, env={}, cwd=tmp_path)
        [server] = notify_services(config, None)
        assert isinstance(server, MetricsServer)
        server.start()
        checks = build_checks(config)
        seen: set[str] = set()

        def listener(result: Any) -> None:
            server.on_result(result)
            seen.add(result.name)

        scheduler = Scheduler(checks, listener)
        task = asyncio.create_task(scheduler.run())
        try:
            for _ in range(300):
                if seen >= {c.name for c in checks}:
                    break
                await asyncio.sleep(0.05)
            async with httpx.AsyncClient() as http:
                reply = await http.get(server.url + "/metrics", timeout=10)
                missing = await http.get(server.url + "/", timeout=10)
        finally:
            task.cancel()
            scheduler.close()
            server.stop()
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("text/plain; version=")
    assert missing.status_code == 404
    text = reply.text
    families = {f.name: f for f in text_string_to_metric_families(text)}

    def samples(name: str) -> dict[tuple[tuple[str, str], ...], float]:
        return {tuple(sorted(s.labels.items())): s.value for s in families[name].samples}

    status = samples("zconsole_check_status")
    # Every source of the registry has its status, configured or not.
    assert {dict(k)["source"] for k in status} == {s.name for s in registry.SOURCES}
    assert status[(("source", "docker"),)] == 1.0  # not configured: unknown
    assert samples("zconsole_check_configured")[(("source", "docker"),)] == 0.0
    assert samples("zconsole_check_up")[(("source", "postgres"),)] == 1.0
    assert samples("zconsole_check_up")[(("source", "redis"),)] == 1.0
    assert families["zconsole_check_status"].type == "gauge"
    assert 0 <= samples("zconsole_host_cpu_percent")[()] <= 100
    assert any(dict(k)["mount"] == "/" for k in samples("zconsole_disk_used_percent"))
    assert samples("zconsole_postgres_connections")[()] >= 1
    assert samples("zconsole_postgres_connections_max")[()] >= 1
    assert 0 < samples("zconsole_postgres_connections_percent")[()] <= 100
    assert samples("zconsole_queue_depth")[(("kind", "celery"), ("queue", "celery"))] == 37.0
    assert samples("zconsole_redis_used_memory_bytes")[()] > 0
    endpoint = f"{health.url}/health"
    assert samples("zconsole_endpoint_up")[(("endpoint", endpoint),)] == 1.0
    assert samples("zconsole_endpoint_status_code")[(("endpoint", endpoint),)] == 200.0
    assert 0 < samples("zconsole_endpoint_latency_seconds")[(("endpoint", endpoint),)] < 10
    assert [s.labels["version"] for s in families["zconsole_info"].samples]
    # No secret in any label or value.
    for secret in (REDIS_PASSWORD, PG_PASSWORD, ENDPOINT_TOKEN):
        assert secret not in text


@pytest.mark.mysql
def test_mysql_has_its_connection_figures_beside_postgres(
    mariadb_server: services.MariaDB,
) -> None:
    """The MySQL source exports the same families as PostgreSQL, under its own name."""
    import pymysql

    from zconsole.checks.mysql import MySQLCheck
    from zconsole.checks.mysql_settings import MySQLSettings, parse_dsn

    endpoint = parse_dsn(mariadb_server.dsn)
    # A client of the server's own: the console hides its connection from what it counts.
    other = pymysql.connect(
        host=endpoint.host, port=endpoint.port, user=endpoint.user, password=endpoint.password or ""
    )
    check = MySQLCheck(MySQLSettings(), endpoint)
    try:
        snap = check.collect()
    finally:
        check.close()
        other.close()
    assert snap.ok_data, snap.error
    metrics = CheckMetrics(hostname="web-01")
    metrics.on_result(CheckResult(latest=snap, last_good=snap, last_good_at=0.0))
    registry_ = CollectorRegistry()
    registry_.register(metrics)
    families = {
        f.name: f for f in text_string_to_metric_families(generate_latest(registry_).decode())
    }
    (connections,) = families["zconsole_mysql_connections"].samples
    assert connections.value >= 1  # the test's own client at the least
    assert families["zconsole_mysql_connections_max"].samples[0].value > 0
    assert "zconsole_mysql_blocked_sessions" in families
