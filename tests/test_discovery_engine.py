"""Discovery from real containers of the throwaway engine: PostgreSQL and Redis servers from the
test image (tests/server_image.py), labelled as Compose labels them, with the project's files
in a temp dir. Everything that serves runs on the host network on 127.0.0.1: tests talk to
loopback only. The bridge-address route is built from a real container and never connected to.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import docker
import psycopg
import pytest
import redis

from tests import services
from tests.conftest import NO_LOCAL_DEFAULTS
from tests.server_image import REDIS_TAG, SERVER_IMAGE, postgres_tag
from zconsole import mitigations
from zconsole.action_runner import ActionRunner, ConfirmRequest
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.audit import AuditLog
from zconsole.checks.base import Status
from zconsole.checks.pg_processes import ProcessCounts, count_backends
from zconsole.checks.postgres import PostgresCheck
from zconsole.checks.postgres_settings import PostgresSettings
from zconsole.checks.redis import RedisCheck
from zconsole.config import load_config
from zconsole.discover_cli import discovered_layer
from zconsole.discovery import LocalDefaults, discover
from zconsole.mitigations import pg_dump
from zconsole.registry import build_checks

pytestmark = pytest.mark.docker

DB_PASSWORD = "erp-db-Pw-5521"
REDIS_PASSWORD = "erp-redis-Pw-0917"
FILE_PASSWORD = "from-the-secret-file-4410"

COMPOSE = """\
# like runbook 003's: db, redis, web with a healthcheck
services:
  db:
    image: {pg_image}
    network_mode: host
    environment:
      POSTGRES_USER: erp
      POSTGRES_PASSWORD: ${{POSTGRES_PASSWORD}}
      POSTGRES_DB: himalytix
      PGPORT: ${{DB_PORT}}
  redis:
    image: redis:7
    network_mode: host
    command: redis-server --bind 127.0.0.1 --port ${{REDIS_PORT}} --requirepass ${{REDIS_PASSWORD}}
  web:
    image: erp/web:latest
    network_mode: host
    env_file: .env
    environment:
      DATABASE_URL: postgresql://erp:${{POSTGRES_PASSWORD}}@db:${{DB_PORT}}/himalytix
      REDIS_URL: redis://:${{REDIS_PASSWORD}}@redis:${{REDIS_PORT}}/0
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:${{WEB_PORT}}/health/"]
      interval: 30s
"""


@dataclass
class Project:
    root: Path
    name: str
    db_port: int
    redis_port: int
    web_port: int
    engine: services.DockerEngine
    containers: dict[str, str]

    def env(self) -> dict[str, str]:
        local = {**NO_LOCAL_DEFAULTS, "docker_sockets": [str(self.engine.socket_path)]}
        return {**os.environ, "ZCONSOLE_LOCAL_DEFAULTS": json.dumps(local)}

    def zconsole(self, *argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "zconsole", *argv],
            cwd=self.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=120,
        )

    def local(self) -> LocalDefaults:
        return LocalDefaults(
            pg_socket_dirs=(),
            pg_ports=(),
            pg_service_files=(),
            redis_sockets=(),
            redis_ports=(),
            docker_sockets=(str(self.engine.socket_path),),
        )


def _labels(project: str, root: Path, service: str) -> list[str]:
    labels = {
        "com.docker.compose.project": project,
        "com.docker.compose.service": service,
        "com.docker.compose.project.working_dir": str(root),
        "com.docker.compose.project.config_files": str(root / "docker-compose.yml"),
        "com.docker.compose.container-number": "1",
    }
    return [arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")]


def _run(engine: services.DockerEngine, name: str, *argv: str) -> str:
    return engine.cli("run", "-d", "--name", name, *argv).strip()


def _wait_postgres(url: str) -> None:
    def accepts() -> bool:
        with psycopg.connect(url, connect_timeout=2):
            return True

    services.wait_for(accepts, 60, "containerised pg")


@pytest.fixture
def compose_project(server_images: services.DockerEngine, tmp_path: Path) -> Iterator[Project]:
    engine = server_images
    root = tmp_path / "erp"
    root.mkdir()
    db_port, redis_port, web_port = (services.free_port() for _ in range(3))
    (root / "docker-compose.yml").write_text(COMPOSE.format(pg_image=postgres_tag()))
    (root / ".env").write_text(
        f"POSTGRES_PASSWORD={DB_PASSWORD}\nREDIS_PASSWORD={REDIS_PASSWORD}\n"
        f"DB_PORT={db_port}\nREDIS_PORT={redis_port}\nWEB_PORT={web_port}\n"
        "SMTP_PASSWORD=smtp-Pw-3391\n"
    )
    name = "erp"
    ids: dict[str, str] = {}
    try:
        ids["db"] = _run(
            engine,
            f"{name}-db-1",
            "--network",
            "host",
            "--user",
            "999:999",
            *_labels(name, root, "db"),
            "-e",
            "POSTGRES_USER=erp",
            "-e",
            f"POSTGRES_PASSWORD={DB_PASSWORD}",
            "-e",
            "POSTGRES_DB=himalytix",
            "-e",
            f"PGPORT={db_port}",
            "--entrypoint",
            "docker-entrypoint.sh",
            postgres_tag(),
            "postgres",
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            "fsync=off",
        )
        ids["redis"] = _run(
            engine,
            f"{name}-redis-1",
            "--network",
            "host",
            *_labels(name, root, "redis"),
            REDIS_TAG,
            "redis-server",
            "--bind",
            "127.0.0.1",
            "--port",
            str(redis_port),
            "--requirepass",
            REDIS_PASSWORD,
            "--save",
            "",
        )
        web_cmd = (
            "mkdir -p /www/health && echo ok > /www/health/index.html && "
            f"exec httpd -f -p 127.0.0.1:{web_port} -h /www"
        )
        ids["web"] = _run(
            engine,
            f"{name}-web-1",
            "--network",
            "host",
            *_labels(name, root, "web"),
            "-e",
            f"DATABASE_URL=postgresql://erp:{DB_PASSWORD}@db:{db_port}/himalytix",
            "-e",
            f"REDIS_URL=redis://:{REDIS_PASSWORD}@redis:{redis_port}/0",
            "--health-cmd",
            f"curl -f http://localhost:{web_port}/health/",
            SERVER_IMAGE,
            "sh",
            "-c",
            web_cmd,
        )
        _wait_postgres(f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:{db_port}/himalytix")
        services.wait_for(
            lambda: (
                subprocess.run(
                    ["curl", "-sf", f"http://127.0.0.1:{web_port}/health/"], capture_output=True
                ).returncode
                == 0
            ),
            20,
            "web",
        )
        yield Project(root, name, db_port, redis_port, web_port, engine, ids)
    finally:
        for cid in ids.values():
            engine.cli("rm", "-f", cid, timeout=60)


def _no_password(text: str) -> None:
    for secret in (DB_PASSWORD, REDIS_PASSWORD, "smtp-Pw-3391", FILE_PASSWORD):
        assert secret not in text


def test_compose_project_with_nothing_configured_snapshot_and_discover(
    compose_project: Project,
) -> None:
    p = compose_project
    done = p.zconsole("snapshot", "--json")
    _no_password(done.stdout + done.stderr)
    report = json.loads(done.stdout)
    pg = report["checks"]["postgres"]
    assert pg["configured"] and pg["status"] == "ok", pg
    assert pg["data"]["user"] == "erp"  # from POSTGRES_USER
    assert pg["data"]["health"]["version_num"] // 10000 == int(postgres_tag().split(":")[1])
    assert "himalytix" in [d["name"] for d in pg["data"]["health"]["databases"]]
    redis = report["checks"]["redis"]
    assert redis["configured"] and redis["status"] == "ok", redis
    assert redis["data"]["ping_ms"] is not None
    urls = [e["url"] for e in report["checks"]["http"]["data"]["endpoints"]]
    health = f"http://127.0.0.1:{p.web_port}/health/"
    assert health in urls
    endpoint = next(e for e in report["checks"]["http"]["data"]["endpoints"] if e["url"] == health)
    assert endpoint["ok"] and endpoint["status_code"] == 200
    assert report["checks"]["docker"]["configured"]
    # Each source found this way says how.
    assert report["discovered"]["postgres"] == "container erp-db-1 via host network"
    assert report["discovered"]["redis"] == "container erp-redis-1 via host network"
    assert report["discovered"]["http"] == "1 endpoint from container erp-web-1"
    assert report["discovered"]["docker"].startswith("local defaults via unix socket")

    listing = p.zconsole("discover")
    assert listing.returncode == 0, listing.stderr
    _no_password(listing.stdout + listing.stderr)
    out = listing.stdout
    assert f"postgresql://erp:***@127.0.0.1:{p.db_port}/himalytix" in out
    assert f"redis://:***@127.0.0.1:{p.redis_port}/0" in out
    assert "from container erp-db-1 (Compose project erp, service db)" in out
    assert "route: host network" in out
    assert "named by DATABASE_URL of web" in out and "named by REDIS_URL of web" in out

    shown = p.zconsole("config")
    _no_password(shown.stdout + shown.stderr)
    assert "postgres: container erp-db-1 via host network" in shown.stdout


def test_stopped_then_removed_db_is_still_reported_from_the_files(
    compose_project: Project,
) -> None:
    p = compose_project
    p.engine.cli("stop", "-t", "5", p.containers["db"])
    stopped = json.loads(p.zconsole("discover", "--json").stdout)
    db = next(c for c in stopped["candidates"] if c["kind"] == "postgres" and c["service"] == "db")
    assert db["state"] == "not running" and db["origin"] == "container erp-db-1"

    p.engine.cli("rm", "-f", p.containers.pop("db"))
    listing = p.zconsole("discover")
    _no_password(listing.stdout + listing.stderr)
    report = json.loads(p.zconsole("discover", "--json").stdout)
    db = next(c for c in report["candidates"] if c["kind"] == "postgres")
    assert db["origin"] == "docker-compose.yml service db"
    assert db["state"] == "not running"
    assert db["url"] == f"postgresql://erp:***@127.0.0.1:{p.db_port}/himalytix"
    assert "from docker-compose.yml service db (Compose project erp, service db)" in listing.stdout
    # The snapshot says the project's database is down, rather than "not configured".
    snap = json.loads(p.zconsole("snapshot", "--json").stdout)
    assert snap["checks"]["postgres"]["configured"]
    assert snap["checks"]["postgres"]["status"] == "error"
    assert "connection refused" in snap["checks"]["postgres"]["error"]


def test_password_file_is_read_inside_the_container(
    server_images: services.DockerEngine, tmp_path: Path
) -> None:
    engine = server_images
    port = services.free_port()
    cid = engine.cli(
        "create",
        "--name",
        "secretive-db",
        "--network",
        "host",
        "--user",
        "999:999",
        "-e",
        "POSTGRES_PASSWORD_FILE=/run/secrets/db_password",
        "-e",
        f"PGPORT={port}",
        "--entrypoint",
        "docker-entrypoint.sh",
        postgres_tag(),
        "postgres",
        "-c",
        "listen_addresses=127.0.0.1",
    ).strip()
    try:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            data = FILE_PASSWORD.encode() + b"\n"
            info = tarfile.TarInfo("run/secrets/db_password")
            info.size, info.mode, info.uid, info.gid = len(data), 0o444, 999, 999
            tar.addfile(info, io.BytesIO(data))
        client = docker.DockerClient(base_url=engine.url)
        client.api.put_archive(cid, "/", buf.getvalue())
        client.close()
        engine.cli("start", cid)
        _wait_postgres(f"postgresql://postgres:{FILE_PASSWORD}@127.0.0.1:{port}/postgres")
        found = discover(
            project_dir=tmp_path,
            defaults=LocalDefaults(
                pg_socket_dirs=(),
                pg_ports=(),
                pg_service_files=(),
                redis_sockets=(),
                redis_ports=(),
                docker_sockets=(str(engine.socket_path),),
            ),
        )
        chosen = found.chosen("postgres")
        assert chosen is not None
        assert chosen.url == f"postgresql://postgres:{FILE_PASSWORD}@127.0.0.1:{port}/postgres"
        assert "POSTGRES_PASSWORD_FILE (/run/secrets/db_password)" in chosen.notes[0]
        assert FILE_PASSWORD not in "\n".join(chosen.lines())
        # The password is right: it connects (the server asks for scram over TCP).
        with psycopg.connect(chosen.url, connect_timeout=3) as conn:
            assert conn.execute("SELECT current_user").fetchone() == ("postgres",)
    finally:
        engine.cli("rm", "-f", cid)


def test_bridge_network_address_is_built_never_connected(
    server_images: services.DockerEngine, tmp_path: Path
) -> None:
    """A Redis on a user-defined network, nothing published: the route is the container's own
    address there. This test only builds and compares it; it never connects to it."""
    engine = server_images
    engine.cli("network", "create", "zc-disc-net")
    cid = ""
    try:
        cid = engine.cli(
            "run",
            "-d",
            "--name",
            "cache-1",
            "--network",
            "zc-disc-net",
            REDIS_TAG,
            "redis-server",
            "--requirepass",
            "bridge-Pw-66",
        ).strip()
        ip = engine.cli(
            "inspect", "-f", '{{(index .NetworkSettings.Networks "zc-disc-net").IPAddress}}', cid
        ).strip()
        assert ip
        found = discover(
            project_dir=tmp_path,
            defaults=LocalDefaults(
                pg_socket_dirs=(),
                pg_ports=(),
                pg_service_files=(),
                redis_sockets=(),
                redis_ports=(),
                docker_sockets=(str(engine.socket_path),),
            ),
        )
        redis = found.chosen("redis")
        assert redis is not None
        assert redis.url == f"redis://:bridge-Pw-66@{ip}:6379/0"
        assert redis.route == "container network address on zc-disc-net"
        assert redis.running is True and redis.container_name == "cache-1"
    finally:
        if cid:
            engine.cli("rm", "-f", cid)
        engine.cli("network", "rm", "zc-disc-net")


# -- mitigations that fit a containerised service ---------------------------------------------


def _discovered_checks(
    p: Project, monkeypatch: pytest.MonkeyPatch
) -> tuple[PostgresCheck, RedisCheck]:
    """The checks `zconsole` builds in the project directory with nothing configured."""
    monkeypatch.setenv("ZCONSOLE_LOCAL_DEFAULTS", p.env()["ZCONSOLE_LOCAL_DEFAULTS"])
    monkeypatch.chdir(p.root)
    bare = load_config(env={})
    layer, how = discovered_layer(bare, p.root)
    config = load_config(env={}, discovered=layer, discovered_how=how)
    assert config.postgres.container == "erp-db-1"
    checks = {c.name: c for c in build_checks(config)}
    pg, redis_check = checks.pop("postgres"), checks.pop("redis")
    for other in checks.values():
        other.close()
    assert isinstance(pg, PostgresCheck) and isinstance(redis_check, RedisCheck)
    return pg, redis_check


def _run_action(action: Action, tmp_path: Path) -> ActionOutcome:
    async def confirm(request: ConfirmRequest) -> bool:
        return True

    runner = ActionRunner(audit=AuditLog(tmp_path / "audit.jsonl"), confirm=confirm)
    return asyncio.run(runner.run(action))


def test_emergency_dump_runs_inside_the_container_when_the_host_has_no_pg_dump(
    compose_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p = compose_project
    url = f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:{p.db_port}/himalytix"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int PRIMARY KEY, total numeric)")
        conn.execute("INSERT INTO invoices SELECT g, g * 1.5 FROM generate_series(1, 500) g")
    pg, _ = _discovered_checks(p, monkeypatch)
    try:
        assert pg.collect().error is None
        # This host's pg_dump is missing (or older than the server): the seam says so.
        monkeypatch.setattr(pg_dump, "suitable_pg_dump", lambda major: None)
        action = mitigations.build("postgres", "dump", pg, None)
        assert "POST /containers/erp-db-1/exec  pg_dump" in action.preview
        assert "--format=custom" in action.preview and DB_PASSWORD not in action.preview
        outcome = _run_action(action, tmp_path)
        assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
        assert "in container erp-db-1" in outcome.text
        dumps = list(p.root.glob("emergency_himalytix_*.dump"))
        assert len(dumps) == 1 and stat.S_IMODE(dumps[0].stat().st_mode) == 0o600
        bindir = services.postgres_bindir()
        assert bindir is not None
        listed = subprocess.run(
            [str(bindir / "pg_restore"), "--list", str(dumps[0])],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert listed.returncode == 0, listed.stderr
        assert "TABLE public invoices erp" in listed.stdout
        assert "TABLE DATA public invoices erp" in listed.stdout
        # A dump that fails inside the container says why and leaves no partial file.
        failed = _run_action(mitigations.build("postgres", "dump", pg, "no_such_db"), tmp_path)
        assert failed.outcome is Outcome.FAILED
        assert "pg_dump in container erp-db-1 failed (1)" in failed.text
        assert "no_such_db" in failed.text and DB_PASSWORD not in failed.text
        assert not list(p.root.glob("emergency_no_such_db_*"))
    finally:
        pg.close()


def test_restarting_the_database_restarts_its_compose_service(
    compose_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p = compose_project
    pg, _ = _discovered_checks(p, monkeypatch)
    started = p.engine.cli("inspect", "-f", "{{.State.StartedAt}}", p.containers["db"]).strip()
    try:
        action = mitigations.build("postgres", "restart_service", pg, None)
        assert action.risk is Risk.DESTRUCTIVE and action.target == "erp/db"
        assert f"POST /containers/{p.containers['db'][:12]}/restart?t=10  (erp-db-1)" in (
            action.preview
        )
        outcome = _run_action(action, tmp_path)
        assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
        assert outcome.text == "restarted database service erp/db: erp-db-1"
        again = p.engine.cli("inspect", "-f", "{{.State.StartedAt}}", p.containers["db"]).strip()
        assert again != started
        _wait_postgres(f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:{p.db_port}/himalytix")
    finally:
        pg.close()


def test_purge_and_restore_work_on_the_discovered_redis(
    compose_project: Project, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    p = compose_project
    direct = redis.Redis(port=p.redis_port, password=REDIS_PASSWORD)
    direct.lpush("celery", *(json.dumps({"id": i}) for i in range(300)))
    before = direct.lrange("celery", 0, -1)
    pg, check = _discovered_checks(p, monkeypatch)
    pg.close()
    try:
        snap = check.collect()
        assert snap.error is None and snap.data is not None
        celery = next(q for q in snap.data.queues if q.name == "celery")
        action = mitigations.build("redis", "purge", check, celery)
        assert REDIS_PASSWORD not in action.preview
        outcome = _run_action(action, tmp_path)
        assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
        assert direct.llen("celery") == 0
        saved = re.search(r"zconsole redis-restore (\S+\.jsonl)", outcome.text)
        assert saved is not None
        # In the project directory, nothing configured: the restore finds the same Redis.
        done = p.zconsole("redis-restore", saved.group(1))
        assert done.returncode == 0, done.stderr
        _no_password(done.stdout + done.stderr)
        assert "restored 300 items" in done.stdout
        assert direct.lrange("celery", 0, -1) == before
    finally:
        check.close()
        direct.close()


def test_out_of_connections_behind_a_published_port_counts_the_containers_backends(
    server_images: services.DockerEngine,
    postgres_server: services.Postgres,
    tmp_path: Path,
) -> None:
    """A port published on 127.0.0.1: docker-proxy holds it, the postmaster listens on its
    container port, so the port names no process here. The container's own main process does:
    the refused view counts that server's backends, and the signal terminate frees them."""
    engine = server_images
    port = services.free_port()
    engine.cli("network", "create", "zc-disc-pub")
    cid = ""
    held: list[psycopg.Connection[Any]] = []
    try:
        cid = engine.cli(
            "run", "-d", "--name", "shop-db-1", "--network", "zc-disc-pub",
            "-p", f"127.0.0.1:{port}:5432", "--user", "999:999",
            "-e", "POSTGRES_PASSWORD=pub-Pw-8812",
            "--entrypoint", "docker-entrypoint.sh", postgres_tag(),
            "postgres", "-c", "listen_addresses=*", "-c", "max_connections=7",
            "-c", "superuser_reserved_connections=3",
        ).strip()  # fmt: skip
        admin = f"postgresql://postgres:pub-Pw-8812@127.0.0.1:{port}/postgres"
        _wait_postgres(admin)
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("CREATE ROLE shop LOGIN PASSWORD 'shop-Pw-1'")
            conn.execute("CREATE ROLE mon LOGIN PASSWORD 'mon-Pw-2' IN ROLE pg_monitor")
        services.wait_for(
            lambda: (count_backends(port, _main_pid(engine, cid)) or _none()).total == 0,
            10,
            "the admin backend to exit",
        )
        # Another server runs on this host (the session's): the port alone names no postmaster.
        assert postgres_server.is_running() and count_backends(port) is None
        for _ in range(4):  # every slot a non-superuser may use
            conn = psycopg.connect(f"postgresql://shop:shop-Pw-1@127.0.0.1:{port}/postgres")
            conn.execute("SELECT 1")  # idle in transaction from here on
            held.append(conn)
        check = PostgresCheck(
            PostgresSettings(),
            f"postgresql://mon:mon-Pw-2@127.0.0.1:{port}/postgres",
            container=cid,
            docker_url=engine.url,
        )
        try:
            refused = check.collect()
            assert refused.error is None, refused.error
            assert refused.status is Status.CRIT and "out of connections" in refused.summary
            assert refused.data is not None
            assert refused.data.connections.by_state == {"idle in transaction": 4}
            assert refused.data.connections.by_user == {"shop": 4}
            action = mitigations.build("postgres", "terminate_idle_tx", check, None)
            assert action.preview.count("shop@postgres") == 4
            outcome = _run_action(action, tmp_path)
            assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
            services.wait_for(
                lambda: (count_backends(port, _main_pid(engine, cid)) or _none()).total == 0,
                10,
                "the terminated backends to exit",
            )
            back = check.collect()
            assert back.error is None and back.data is not None and back.data.refused is None
        finally:
            check.close()
    finally:
        for conn in held:
            conn.close()
        if cid:
            engine.cli("rm", "-f", cid)
        engine.cli("network", "rm", "zc-disc-pub")


def _main_pid(engine: services.DockerEngine, cid: str) -> int:
    return int(engine.cli("inspect", "-f", "{{.State.Pid}}", cid).strip())


def _none() -> ProcessCounts:
    return ProcessCounts(0, ())
