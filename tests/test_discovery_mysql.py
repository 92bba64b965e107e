"""MySQL and MariaDB found with nothing configured: from their containers' MYSQL_*/MARIADB_*
variables, the application's DATABASE_URL or Laravel's DB_* settings, and the Compose file.

The rules are checked on facts (no engine); the whole path against a real MariaDB inside a
container of the throwaway engine, on host networking at 127.0.0.1:<free port> — loopback only.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import services
from tests.conftest import NO_LOCAL_DEFAULTS
from tests.mariadb_image import MARIADB_TAG, import_mariadb_image, install_datadir
from zconsole.discovery import LocalDefaults, discover
from zconsole.discovery.facts import ServiceFacts, address_of, mysql_server, server_of

NOWHERE = LocalDefaults(
    pg_socket_dirs=(),
    pg_ports=(),
    pg_service_files=(),
    redis_sockets=(),
    redis_ports=(),
    docker_sockets=(),
)
DB_PASSWORD = "Lv-db-pw-8812"
ROOT_PASSWORD = "Lv-root-pw-4410"
APP_IMAGE = "laravel/app:latest"


# -- the rules, on facts ---------------------------------------------------------------------------


def test_official_mysql_image_root_password_and_database() -> None:
    facts = ServiceFacts(
        name="db",
        image="mysql:8.0",
        env={"MYSQL_ROOT_PASSWORD": ROOT_PASSWORD, "MYSQL_DATABASE": "shop"},
        published={3306: ("127.0.0.1", 13306)},
    )
    server = server_of(facts)
    assert server is not None and server.kind == "mysql"
    assert (server.user, server.password, server.database, server.port) == (
        "root",
        ROOT_PASSWORD,
        "shop",
        3306,
    )
    address = address_of(facts, server.port)
    assert address is not None and (address.host, address.port) == ("127.0.0.1", 13306)


def test_mariadb_application_user_wins_over_root_and_file_variants_are_read() -> None:
    facts = ServiceFacts(
        name="db",
        image="docker.io/library/mariadb:11@sha256:abc",
        env={
            "MARIADB_ROOT_PASSWORD": ROOT_PASSWORD,
            "MARIADB_USER": "laravel",
            "MARIADB_PASSWORD_FILE": "/run/secrets/db",
            "MARIADB_DATABASE": "app",
        },
        files={"/run/secrets/db": DB_PASSWORD + "\n"},
        command=("mariadbd", "--port=3307"),
    )
    server = mysql_server(facts)
    assert server is not None
    assert (server.user, server.password, server.database, server.port) == (
        "laravel",
        DB_PASSWORD,
        "app",
        3307,
    )
    assert "MARIADB_PASSWORD_FILE (/run/secrets/db)" in server.evidence
    # A user without a password is not a login: root (the one the image always makes) is used.
    alone = ServiceFacts(name="db", image="mariadb", env={"MARIADB_USER": "x"})
    assert (mysql_server(alone) or pytest.fail()).user == "root"


def test_relatives_percona_and_bitnami_and_not_others() -> None:
    percona = ServiceFacts(name="p", image="percona/percona-server:8.0", env={})
    bitnami = ServiceFacts(
        name="b",
        image="bitnami/mariadb:11.4",
        env={"MARIADB_PORT_NUMBER": "3310", "MARIADB_ROOT_PASSWORD": ROOT_PASSWORD},
    )
    assert (mysql_server(percona) or pytest.fail()).port == 3306
    assert (mysql_server(bitnami) or pytest.fail()).port == 3310
    assert mysql_server(ServiceFacts(name="a", image="phpmyadmin:5")) is None
    assert mysql_server(ServiceFacts(name="a", image="mysql-exporter")) is None


LARAVEL_COMPOSE = """\
services:
  mysql:
    image: mysql:8.0
    environment:
      MYSQL_ROOT_PASSWORD: ${DB_ROOT_PASSWORD}
      MYSQL_DATABASE: ${DB_DATABASE}
      MYSQL_USER: ${DB_USERNAME}
      MYSQL_PASSWORD: ${DB_PASSWORD}
    ports: ["127.0.0.1:3307:3306"]
  app:
    image: laravel/app:latest
    env_file: .env
"""


def test_laravel_env_names_the_compose_mysql_service(tmp_path: Path) -> None:
    (tmp_path / "docker-compose.yml").write_text(LARAVEL_COMPOSE)
    (tmp_path / ".env").write_text(
        "APP_NAME=Laravel\nDB_CONNECTION=mysql\nDB_HOST=mysql\nDB_PORT=3306\n"
        f"DB_DATABASE=saas\nDB_USERNAME=sail\nDB_PASSWORD={DB_PASSWORD}\n"
        f"DB_ROOT_PASSWORD={ROOT_PASSWORD}\n"
    )
    found = discover(project_dir=tmp_path, defaults=NOWHERE, environ={})
    chosen = found.chosen("mysql")
    assert chosen is not None
    assert chosen.url == f"mysql://sail:{DB_PASSWORD}@127.0.0.1:3307/saas"
    assert chosen.named_by == "DB_CONNECTION of app"
    assert chosen.route == "published port 127.0.0.1:3307"
    assert len(found.of_kind("mysql")) == 1  # the app's setting and the service are one server
    assert found.config_layer(["mysql"]) == {"mysql": {"dsn": chosen.url}}
    text = "\n".join(line for c in found.candidates for line in c.lines())
    assert DB_PASSWORD not in text and ROOT_PASSWORD not in text
    assert "mysql://sail:***@127.0.0.1:3307/saas" in text


def test_a_mysql_database_url_is_mysql_not_postgres(tmp_path: Path) -> None:
    text = LARAVEL_COMPOSE.replace(
        "    env_file: .env\n",
        f"    environment:\n      DATABASE_URL: mysql://sail:{DB_PASSWORD}@mysql:3306/saas\n",
    )
    (tmp_path / "docker-compose.yml").write_text(text)
    (tmp_path / ".env").write_text(f"DB_ROOT_PASSWORD={ROOT_PASSWORD}\nDB_DATABASE=saas\n")
    found = discover(project_dir=tmp_path, defaults=NOWHERE, environ={})
    assert found.chosen("postgres") is None
    chosen = found.chosen("mysql")
    assert chosen is not None and chosen.named_by == "DATABASE_URL of app"
    # The server's own account (root: MYSQL_USER is unset here) wins, as for PostgreSQL; the
    # application's URL names the server and its database.
    assert chosen.url == f"mysql://root:{ROOT_PASSWORD}@127.0.0.1:3307/saas"


# -- a real MariaDB in a container of the test engine ---------------------------------------------


@dataclass
class Laravel:
    root: Path
    port: int
    engine: services.DockerEngine

    def zconsole(self, *argv: str) -> subprocess.CompletedProcess[str]:
        local = {**NO_LOCAL_DEFAULTS, "docker_sockets": [str(self.engine.socket_path)]}
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL", "DATABASE"))}
        return subprocess.run(
            [sys.executable, "-m", "zconsole", *argv],
            cwd=self.root,
            env={**env, "ZCONSOLE_LOCAL_DEFAULTS": json.dumps(local), "HOME": str(self.root)},
            capture_output=True,
            text=True,
            timeout=120,
        )


def _labels(root: Path, service: str) -> list[str]:
    labels = {
        "com.docker.compose.project": "saas",
        "com.docker.compose.service": service,
        "com.docker.compose.project.working_dir": str(root),
        "com.docker.compose.project.config_files": str(root / "docker-compose.yml"),
    }
    return [arg for k, v in labels.items() for arg in ("--label", f"{k}={v}")]


def _secret_tar(name: str, text: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = text.encode()
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), 0o400
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def laravel(docker_engine: services.DockerEngine, tmp_path: Path) -> Iterator[Laravel]:
    import docker

    engine = docker_engine
    import_mariadb_image(engine)
    # The application's image: busybox for its shell, under a name no server image has.
    engine.cli("tag", MARIADB_TAG, APP_IMAGE)
    root = tmp_path / "saas"
    root.mkdir()
    datadir = tmp_path / "mysql-data"
    install_datadir(datadir)
    port = services.free_port()
    (root / "docker-compose.yml").write_text(
        "services:\n  db:\n    image: mariadb:11\n    network_mode: host\n"
        "  web:\n    image: laravel/app\n    network_mode: host\n    env_file: .env\n"
    )
    (root / ".env").write_text(
        f"DB_CONNECTION=mysql\nDB_HOST=db\nDB_PORT={port}\nDB_DATABASE=saas\n"
        f"DB_USERNAME=laravel\nDB_PASSWORD={DB_PASSWORD}\n"
    )
    ids: list[str] = []
    try:
        db = engine.cli(
            "create",
            "--name",
            "saas-db-1",
            "--network",
            "host",
            "-v",
            f"{datadir}:/var/lib/mysql",
            *_labels(root, "db"),
            "-e",
            "MARIADB_USER=laravel",
            "-e",
            "MARIADB_PASSWORD_FILE=/run/secrets/db_password",
            "-e",
            "MARIADB_DATABASE=saas",
            "--entrypoint",
            "docker-entrypoint.sh",
            MARIADB_TAG,
            "mariadbd",
            "--no-defaults",
            "--datadir=/var/lib/mysql",
            "--user=root",
            "--bind-address=127.0.0.1",
            f"--port={port}",
            "--socket=/run/mysqld/mysqld.sock",
            "--pid-file=/run/mysqld/mysqld.pid",
            "--lc-messages-dir=/usr/share/mysql",
            "--character-sets-dir=/usr/share/mysql/charsets",
            "--skip-name-resolve",
            "--skip-log-bin",
            "--max-connections=77",
            "--innodb-buffer-pool-size=32M",
        ).strip()
        ids.append(db)
        client = docker.DockerClient(base_url=engine.url, timeout=60)
        try:
            container = client.containers.get(db)
            container.put_archive("/", _secret_tar("run/secrets/db_password", DB_PASSWORD))
            container.start()
        finally:
            client.close()
        web = engine.cli(
            "run",
            "-d",
            "--name",
            "saas-web-1",
            "--network",
            "host",
            *_labels(root, "web"),
            *[
                arg
                for pair in (
                    "DB_CONNECTION=mysql",
                    "DB_HOST=db",
                    f"DB_PORT={port}",
                    "DB_DATABASE=saas",
                    "DB_USERNAME=laravel",
                    f"DB_PASSWORD={DB_PASSWORD}",
                )
                for arg in ("-e", pair)
            ],
            "--entrypoint",
            "sleep",
            APP_IMAGE,
            "600",
        ).strip()
        ids.append(web)
        _wait_mariadb(engine, db, port)
        yield Laravel(root, port, engine)
    finally:
        for cid in ids:
            engine.cli("rm", "-f", cid, timeout=60)


def _wait_mariadb(engine: services.DockerEngine, cid: str, port: int) -> None:
    import pymysql

    deadline = time.monotonic() + 60
    while True:
        try:
            pymysql.connect(
                host="127.0.0.1", port=port, user="laravel", password=DB_PASSWORD, connect_timeout=2
            ).close()
            return
        except pymysql.err.OperationalError as exc:
            if time.monotonic() > deadline:
                logs = engine.cli("logs", cid)
                services.unavailable(f"containerised MariaDB did not answer: {exc}; {logs[-800:]}")


def test_laravel_project_with_nothing_configured_snapshot_and_discover(laravel: Laravel) -> None:
    import pymysql

    # One session of the application's, idle: the console hides its own, so this is the count.
    app = pymysql.connect(
        host="127.0.0.1", port=laravel.port, user="laravel", password=DB_PASSWORD, database="saas"
    )
    try:
        done = laravel.zconsole("snapshot", "--json")
    finally:
        app.close()
    assert DB_PASSWORD not in done.stdout + done.stderr
    report = json.loads(done.stdout)
    my = report["checks"]["mysql"]
    assert my["configured"] and my["status"] == "ok", my
    # From that server: its own max_connections, and the application's idle session.
    assert my["data"]["connections"]["max"] == 77
    assert my["data"]["connections"]["total"] == 1
    assert my["data"]["connections"]["by_state"] == {"Sleep": 1}
    assert report["discovered"]["mysql"] == "container saas-db-1 via host network"

    listing = laravel.zconsole("discover")
    assert listing.returncode == 0, listing.stderr
    assert DB_PASSWORD not in listing.stdout + listing.stderr
    out = listing.stdout
    assert f"mysql://laravel:***@127.0.0.1:{laravel.port}/saas" in out
    assert "from container saas-db-1 (Compose project saas, service db)" in out
    assert "named by DB_CONNECTION of web" in out
    assert "MARIADB_PASSWORD_FILE (/run/secrets/db_password)" in out
    # The application's container is not a server, and nothing else was found.
    assert "mysql: 1 found" in out
