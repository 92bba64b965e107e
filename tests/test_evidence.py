"""Evidence bundle from real servers: pg_stat_activity, Redis INFO, container log tails and the
top processes land in the incident's folder, gathered on each check's own thread, no password."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import docker
import psycopg

from tests import services
from tests.pilot import wait_until
from tests.test_incident_ui import declare, incident_id_of, timeline_texts
from zconsole.app import ZConsoleApp
from zconsole.config import load_config
from zconsole.registry import build_checks


async def test_bundle_holds_each_sources_raw_material(
    workdir: Path,
    postgres_server: services.Postgres,
    docker_engine: services.DockerEngine,
) -> None:
    secret = "Ev1dence-pw-42"
    private_redis = services.start_redis(password=secret)
    client = docker.DockerClient(base_url=docker_engine.url)
    container = client.containers.run(
        services.BUSYBOX_IMAGE,
        # Exited non-zero: a problem container, whose log tail every bundle carries.
        ["sh", "-c", "echo 'evidence-log-line-1'; echo 'boom on stderr' >&2; exit 3"],
        name="zc-evidence",
        network_mode="none",
        detach=True,
    )
    marker = "evidence_marker_query"
    release = threading.Event()

    def hold_session() -> None:
        with psycopg.connect(postgres_server.dsn, autocommit=True) as conn:
            conn.execute(f"SELECT 1 AS {marker}")
            release.wait(60)

    holder = threading.Thread(target=hold_session, daemon=True)
    holder.start()
    try:
        flags: dict[str, Any] = {
            "general": {"store": str(workdir / "store.db"), "interval": 0.5},
            "incident": {"export_dir": str(workdir / "incidents")},
            "postgres": {"dsn": postgres_server.dsn},
            "redis": {"url": private_redis.url},
            "docker": {"host": docker_engine.url},
        }
        config = load_config(flags=flags, env={}, cwd=workdir)
        app = ZConsoleApp(config, build_checks(config))
        async with app.run_test(size=(200, 60)) as pilot:
            await wait_until(
                pilot,
                lambda: all(app.latest_result(n) for n in ("postgres", "redis", "docker")),
                timeout=30,
            )
            await declare(pilot, "Evidence drill")
            await pilot.press("E")
            await wait_until(
                pilot,
                lambda: any(t.startswith("Evidence bundle") for t in timeline_texts(app)),
                timeout=30,
            )
            incident_id = incident_id_of(app)
    finally:
        release.set()
        container.remove(force=True)
        client.close()
        services.destroy_redis(private_redis)
    folder = next((workdir / "incidents" / incident_id).glob("evidence-*"))
    files = {p.name: p.read_text() for p in folder.iterdir()}
    assert marker in files["pg_stat_activity.tsv"]
    assert "zconsole" not in files["pg_stat_activity.tsv"].split("\n", 1)[1]  # not our own session
    assert "redis_version" in files["redis-info.txt"]
    assert "evidence-log-line-1" in files["logs-zc-evidence.txt"]
    assert "boom on stderr" in files["logs-zc-evidence.txt"]
    assert files["processes-by-memory.tsv"].startswith("rss_bytes\tpid\tuser\tcommand")
    envelope = json.loads(files["snapshot.json"])
    assert set(envelope["checks"]) >= {"host", "docker", "postgres", "redis"}
    for name, text in files.items():
        assert secret not in text, name
