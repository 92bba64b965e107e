"""The harness itself: each throwaway server really starts and answers."""

from __future__ import annotations

import psycopg
import redis

from tests import services


def test_postgres_starts_with_pg_stat_statements(postgres_server: services.Postgres) -> None:
    with psycopg.connect(postgres_server.dsn, connect_timeout=5) as conn:
        row = conn.execute("SHOW shared_preload_libraries").fetchone()
    assert row is not None and "pg_stat_statements" in row[0]


def test_redis_starts(redis_server: services.Redis) -> None:
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    assert client.ping() is True


def test_docker_engine_runs_a_busybox_container(docker_engine: services.DockerEngine) -> None:
    out = docker_engine.cli(
        "run", "--rm", "--network", "none", services.BUSYBOX_IMAGE, "echo", "hello"
    )
    assert out.strip() == "hello"
