"""Discovery from files and facts: Compose YAML and .env as the runbooks have them, the rules
that turn a container's facts into a server and an address, the choice among several, local
defaults through their test seam, and `zconsole discover --write`.

The real-container half is tests/test_discovery_engine.py.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests import services
from tests.conftest import NO_LOCAL_DEFAULTS
from zconsole.checks.secrets import redact
from zconsole.config import load_config
from zconsole.discovery import LocalDefaults, discover
from zconsole.discovery.compose import interpolate, load_project
from zconsole.discovery.engine import facts_of
from zconsole.discovery.facts import (
    ServiceFacts,
    address_of,
    healthcheck_urls,
    postgres_server,
    redis_server,
)

NOWHERE = LocalDefaults(
    pg_socket_dirs=(),
    pg_ports=(),
    pg_service_files=(),
    redis_sockets=(),
    redis_ports=(),
    docker_sockets=(),
)
DB_PASSWORD = "Db-s3cret-2041"
REDIS_PASSWORD = "rd-changeme-7781"

RUNBOOK_COMPOSE = """\
services:
  db:
    image: postgres:16-alpine
    environment:
      POSTGRES_USER: erp
      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}
      POSTGRES_DB: himalytix
    ports:
      - "127.0.0.1:5433:5432"
  analytics-db:
    image: timescale/timescaledb:latest-pg16
    environment:
      POSTGRES_PASSWORD_FILE: /run/secrets/analytics_pw
    secrets: [analytics_pw]
    ports: ["5434:5432"]
  redis:
    image: redis:7-alpine
    command: redis-server --requirepass ${REDIS_PASSWORD:?set it} --port ${REDIS_PORT:-6380}
  web:
    image: erp/web:latest
    env_file: .env
    environment:
      - DATABASE_URL=postgresql://erp:${POSTGRES_PASSWORD}@db:5432/himalytix
      - CELERY_BROKER_URL=redis://:${REDIS_PASSWORD}@redis:6380/0
    ports: ["8000:8000"]
    healthcheck:
      test: ["CMD", "curl", "-f", "http://localhost:8000/health/"]
secrets:
  analytics_pw:
    file: ./secrets/analytics.txt
"""
RUNBOOK_ENV = f"""\
# .env of the project, as runbook 002 greps it
POSTGRES_PASSWORD={DB_PASSWORD}
REDIS_PASSWORD='{REDIS_PASSWORD}'
SMTP_HOST=smtp.example.com
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "erp"
    root.mkdir()
    (root / "docker-compose.yml").write_text(RUNBOOK_COMPOSE)
    (root / ".env").write_text(RUNBOOK_ENV)
    (root / "secrets").mkdir()
    (root / "secrets" / "analytics.txt").write_text("analytics-pw-991\n")
    return root


# -- Compose files ---------------------------------------------------------------------------


def test_interpolation_follows_compose_rules() -> None:
    variables = {"SET": "x", "EMPTY": ""}
    assert interpolate("$SET ${SET} $$SET", variables) == "x x $SET"
    assert interpolate("${EMPTY:-d} ${EMPTY-d} ${MISSING-d}", variables) == "d  d"
    assert interpolate("${SET:+alt}${MISSING:+alt}", variables) == "alt"


def test_runbook_project_is_read_from_yaml_and_env(project: Path) -> None:
    read = load_project(project, environ={})
    assert read.name == "erp"
    by_name = {s.service: s for s in read.services}
    db = postgres_server(by_name["db"])
    assert db is not None
    assert (db.user, db.password, db.database, db.port) == ("erp", DB_PASSWORD, "himalytix", 5432)
    analytics = postgres_server(by_name["analytics-db"])
    assert analytics is not None and analytics.password == "analytics-pw-991"
    assert analytics.user == "postgres" and analytics.database == "postgres"
    redis = redis_server(by_name["redis"])
    assert redis is not None and (redis.password, redis.port) == (REDIS_PASSWORD, 6380)
    web = by_name["web"]
    assert web.env["SMTP_HOST"] == "smtp.example.com"  # from env_file
    assert web.env["DATABASE_URL"] == f"postgresql://erp:{DB_PASSWORD}@db:5432/himalytix"
    assert healthcheck_urls(web) == ["http://localhost:8000/health/"]
    assert by_name["db"].published == {5432: ("127.0.0.1", 5433)}
    # Every password the files hold is a registered secret.
    for secret in (DB_PASSWORD, REDIS_PASSWORD, "analytics-pw-991"):
        assert redact(f"x {secret} y") == "x *** y"


def test_shell_environment_wins_over_dot_env(project: Path) -> None:
    read = load_project(project, environ={"POSTGRES_PASSWORD": "from-the-shell-77"})
    db = next(s for s in read.services if s.service == "db")
    assert db.env["POSTGRES_PASSWORD"] == "from-the-shell-77"


def test_yaml_error_is_one_line_and_others_still_read(project: Path) -> None:
    (project / "docker-compose.yml").write_text("services:\n  db: [unclosed\n")
    found = discover(project_dir=project, defaults=NOWHERE)
    assert found.candidates == ()
    assert len(found.problems) == 1 and "YAML error" in found.problems[0]
    assert "docker-compose.yml" in found.problems[0] and "\n" not in found.problems[0]


# -- choosing among candidates -----------------------------------------------------------------


def test_the_server_the_app_names_wins_the_rest_are_listed(project: Path) -> None:
    found = discover(project_dir=project, defaults=NOWHERE)
    postgres = found.of_kind("postgres")
    assert len(postgres) == 2
    chosen = found.chosen("postgres")
    assert chosen is not None and chosen.service == "db"
    assert chosen.named_by == "DATABASE_URL of web"
    assert chosen.url == f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:5433/himalytix"
    assert chosen.route == "published port 127.0.0.1:5433"
    other = next(c for c in postgres if c is not chosen)
    assert other.service == "analytics-db" and other.route == "published port *:5434"
    assert other.url == "postgresql://postgres:analytics-pw-991@127.0.0.1:5434/postgres"
    # Nothing runs (no engine was asked): the state is unknown, not "running".
    assert chosen.state == "state unknown"
    # redis publishes nothing and runs on a bridge: no address to use from the files alone.
    assert found.chosen("redis") is None and len(found.of_kind("redis")) == 1
    http = [c.url for c in found.endpoints()]
    assert http == ["http://127.0.0.1:8000/health/"]


def test_without_the_app_setting_the_project_still_beats_local_defaults(
    project: Path, redis_server: services.Redis
) -> None:
    text = RUNBOOK_COMPOSE.replace('    ports: ["8000:8000"]\n', "")
    (project / "docker-compose.yml").write_text(text.replace("- DATABASE_URL", "- UNUSED_URL"))
    local = LocalDefaults(
        pg_socket_dirs=(),
        pg_ports=(),
        pg_service_files=(),
        redis_sockets=(),
        redis_ports=(redis_server.port,),
        docker_sockets=(),
    )
    found = discover(project_dir=project, defaults=local)
    chosen = found.chosen("postgres")
    assert chosen is not None and chosen.service in ("db", "analytics-db")
    assert chosen.named_by == ""
    # Redis: the project's has no address, so the local default is used, and both are listed.
    redis = found.chosen("redis")
    assert redis is not None and redis.origin == "local defaults"
    assert redis.url == f"redis://127.0.0.1:{redis_server.port}/0"
    assert len(found.of_kind("redis")) == 2


# -- facts from the Engine API ----------------------------------------------------------------


def _inspect(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "Id": "c" * 64,
        "Name": "/erp-db-1",
        "State": {"Running": True},
        "Config": {
            "Image": "bitnami/postgresql:16",
            "Env": [
                "POSTGRESQL_USERNAME=app",
                "POSTGRESQL_PASSWORD=bn-pass-55",
                "POSTGRESQL_DATABASE=shop",
                "POSTGRESQL_PORT_NUMBER=5544",
            ],
            "Cmd": None,
            "Entrypoint": ["/opt/bitnami/scripts/postgresql/entrypoint.sh"],
            "Labels": {"com.docker.compose.project": "erp", "com.docker.compose.service": "db"},
        },
        "HostConfig": {"NetworkMode": "erp_default"},
        "NetworkSettings": {
            "Networks": {"erp_default": {"IPAddress": "172.20.0.5", "Aliases": ["db"]}},
            "Ports": {
                "5544/tcp": [
                    {"HostIp": "0.0.0.0", "HostPort": "15544"},
                    {"HostIp": "::", "HostPort": "15544"},
                ]
            },
        },
    }
    base.update(over)
    return base


def test_bitnami_postgres_published_port_is_reached_over_loopback() -> None:
    facts = facts_of(_inspect())
    server = postgres_server(facts)
    assert server is not None
    assert (server.user, server.password, server.database, server.port) == (
        "app",
        "bn-pass-55",
        "shop",
        5544,
    )
    address = address_of(facts, server.port)
    assert address is not None
    assert (address.host, address.port, address.loopback) == ("127.0.0.1", 15544, True)
    assert facts.project == "erp" and "db" in facts.aliases


def test_valkey_and_keydb_commands() -> None:
    valkey = ServiceFacts(
        name="v", image="valkey/valkey:8", command=("valkey-server", "--port=7000")
    )
    keydb = ServiceFacts(
        name="k",
        image="eqalpha/keydb",
        command=("sh", "-c", "keydb-server --requirepass 'kd pass 1' --port 7001"),
    )
    assert (redis_server(valkey) or pytest.fail()).port == 7000
    server = redis_server(keydb)
    assert server is not None and (server.password, server.port) == ("kd pass 1", 7001)


# -- local defaults (through the seam: never this machine's own servers) ------------------------


def test_local_defaults_find_a_socket_pgpass_and_tcp(
    postgres_server: services.Postgres, redis_server: services.Redis, tmp_path: Path
) -> None:
    pgpass = tmp_path / "pgpass"
    pgpass.write_text(
        f"127.0.0.1:{postgres_server.port}:postgres:postgres:pgpass-pw-314\n"
        # Nothing listens there: not a candidate. A wildcard user names nobody.
        f"localhost:{services.closed_port()}:*:postgres:unused-pw-1\n"
        "*:*:*:*:wild-pw-2\n"
    )
    pgpass.chmod(0o600)
    service_file = tmp_path / "pg_service.conf"
    service_file.write_text(
        f"[erp]\nhost=127.0.0.1\nport={postgres_server.port}\nuser=postgres\n"
        "password=service-pw-271\n"
    )
    local = LocalDefaults(
        pg_socket_dirs=(str(postgres_server.root), str(tmp_path / "none")),
        pg_ports=(postgres_server.port,),
        pg_service_files=(str(service_file), str(tmp_path / "missing.conf")),
        pgpass=str(pgpass),
        redis_sockets=(),
        redis_ports=(redis_server.port, services.closed_port()),
        docker_sockets=(str(tmp_path / "docker.sock"),),
    )
    found = discover(project_dir=tmp_path, defaults=local)
    routes = [(c.kind, c.route) for c in found.candidates]
    assert [r for r in routes if r[1] == "password from ~/.pgpass"] == [
        ("postgres", "password from ~/.pgpass")
    ]
    assert ("postgres", "libpq service erp") in routes
    service = next(c for c in found.candidates if c.route == "libpq service erp")
    assert service.url == "service=erp" and redact("service-pw-271") == "***"
    sock = f"{postgres_server.root}/.s.PGSQL.{postgres_server.port}"
    assert ("postgres", f"unix socket {sock}") in routes
    # The server also answers on TCP 127.0.0.1:port: the same server as the ~/.pgpass entry,
    # listed once.
    tcp = [c for c in found.of_kind("postgres") if f"127.0.0.1:{postgres_server.port}" in c.url]
    assert len(tcp) == 1
    assert [c.route for c in found.of_kind("redis")] == [f"TCP 127.0.0.1:{redis_server.port}"]
    assert found.of_kind("docker") == []  # no socket at that path
    assert redact("pgpass-pw-314") == "***"
    # The first found, in libpq's order: the service file, then ~/.pgpass (whose password is
    # not in the URL: libpq reads it itself), then the socket, then TCP.
    chosen = found.chosen("postgres")
    assert chosen is not None and chosen.url == "service=erp"
    pgpass_entry = next(c for c in found.candidates if c.route == "password from ~/.pgpass")
    assert pgpass_entry.url == f"postgresql://postgres@127.0.0.1:{postgres_server.port}/postgres"


def _zconsole(
    cwd: Path, *argv: str, local: dict[str, object] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ZCONSOLE_LOCAL_DEFAULTS": json.dumps({**NO_LOCAL_DEFAULTS, **(local or {})}),
    }
    return subprocess.run(
        [sys.executable, "-m", "zconsole", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_snapshot_with_nothing_configured_uses_local_defaults(
    postgres_server: services.Postgres, redis_server: services.Redis, workdir: Path
) -> None:
    """The peers' behaviour: a server on the default port is found (here, the test's servers
    stand in for 5432/6379 through the seam), and the source says how it was found."""
    home = Path(os.environ["HOME"])
    pgpass = home / ".pgpass"
    pgpass.write_text(f"127.0.0.1:{postgres_server.port}:postgres:postgres:unused\n")
    pgpass.chmod(0o600)
    local: dict[str, object] = {"redis_ports": [redis_server.port], "pgpass": str(pgpass)}
    done = _zconsole(workdir, "snapshot", "--json", local=local)
    report = json.loads(done.stdout)
    assert report["checks"]["postgres"]["status"] in ("ok", "warn"), report["checks"]["postgres"]
    assert report["checks"]["postgres"]["data"]["user"] == "postgres"
    assert report["checks"]["redis"]["status"] == "ok", report["checks"]["redis"]
    assert report["discovered"] == {
        "postgres": f"{pgpass} via password from ~/.pgpass",
        "redis": f"local defaults via TCP 127.0.0.1:{redis_server.port}",
    }
    shown = _zconsole(workdir, "config", local=local).stdout
    assert f"discovered (postgres: {pgpass} via password from ~/.pgpass" in shown
    assert f"redis: local defaults via TCP 127.0.0.1:{redis_server.port}" in shown
    # --no-discover: the old behaviour, not configured.
    plain = json.loads(
        _zconsole(workdir, "--no-discover", "snapshot", "--json", local=local).stdout
    )
    assert plain["checks"]["postgres"]["configured"] is False
    assert "discovered" not in plain


def test_precedence_flags_env_files_then_discovery(
    project: Path, redis_server: services.Redis
) -> None:
    found = discover(project_dir=project, defaults=NOWHERE)
    layer = found.config_layer(["postgres", "http"])
    assert layer["postgres"]["dsn"].endswith("@127.0.0.1:5433/himalytix")
    config = load_config(env={}, cwd=project, discovered=layer, discovered_how={"postgres": "test"})
    assert config.postgres.dsn.endswith("@127.0.0.1:5433/himalytix")
    (project / "zconsole.toml").write_text('[postgres]\ndsn = "postgresql://file@127.0.0.1/x"\n')
    config = load_config(env={}, cwd=project, discovered=layer)
    assert config.postgres.dsn == "postgresql://file@127.0.0.1/x"
    config = load_config(
        env={"DATABASE_URL": "postgresql://env@127.0.0.1/y"}, cwd=project, discovered=layer
    )
    assert config.postgres.dsn == "postgresql://env@127.0.0.1/y"
    config = load_config(
        env={"DATABASE_URL": "postgresql://env@127.0.0.1/y"},
        cwd=project,
        discovered=layer,
        flags={"postgres": {"dsn": "postgresql://flag@127.0.0.1/z"}},
    )
    assert config.postgres.dsn == "postgresql://flag@127.0.0.1/z"
    assert config.http.endpoints[0].url == "http://127.0.0.1:8000/health/"


def test_discover_write_makes_a_0600_config_that_loads(project: Path) -> None:
    done = _zconsole(project, "discover", "--write", "zconsole.toml")
    assert done.returncode == 0, done.stderr
    for secret in (DB_PASSWORD, REDIS_PASSWORD, "analytics-pw-991"):
        assert secret not in done.stdout + done.stderr
    assert "named by DATABASE_URL of web" in done.stdout
    path = project / "zconsole.toml"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    written = tomllib.loads(path.read_text())
    assert written["postgres"]["dsn"] == f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:5433/himalytix"
    assert written["http"]["endpoints"][0]["url"] == "http://127.0.0.1:8000/health/"
    assert "analytics-pw-991" not in path.read_text()  # the other server: a redacted comment
    config = load_config(env={}, cwd=project)
    assert config.postgres.dsn == written["postgres"]["dsn"]
    again = _zconsole(project, "discover", "--write", "zconsole.toml")
    assert again.returncode == 2 and "not overwritten" in again.stderr


async def test_the_console_says_where_it_found_what_nobody_configured(
    redis_server: services.Redis, workdir: Path
) -> None:
    from tests.pilot import wait_until
    from zconsole.app import ZConsoleApp
    from zconsole.registry import build_checks

    how = {"redis": f"local defaults via TCP 127.0.0.1:{redis_server.port}"}
    config = load_config(
        env={},
        discovered={"redis": {"url": redis_server.url}, "docker": {"enabled": False}},
        discovered_how=how,
    )
    assert config.redis.url == redis_server.url
    app = ZConsoleApp(config, build_checks(config))
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(
            pilot,
            lambda: any(
                n.title == "Found with nothing configured" and how["redis"] in n.message
                for n in app._notifications
            ),
        )


def test_the_consoles_discovery_child_answers_as_discovery_here(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The console runs discovery in a child process at start (on another core while it
    imports the app): same layer, same how, and every secret it read registered here."""
    from zconsole.checks.secrets import known_secrets
    from zconsole.discover_cli import DiscoveryChild, discovered_layer

    monkeypatch.setenv("ZCONSOLE_LOCAL_DEFAULTS", json.dumps(NO_LOCAL_DEFAULTS))
    config = load_config(env={}, cwd=project)
    child = DiscoveryChild(config, project, spawn=True)
    assert child.in_child
    layer, how = child.result()
    assert layer["postgres"]["dsn"] == f"postgresql://erp:{DB_PASSWORD}@127.0.0.1:5433/himalytix"
    # Not in the layer (another server's), but read: masked here as after discovery here.
    assert {DB_PASSWORD, REDIS_PASSWORD, "analytics-pw-991"} <= known_secrets()
    assert (layer, how) == discovered_layer(config, project)
