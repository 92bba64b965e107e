"""What a container or a Compose service says about itself, and what it serves.

One record, :class:`ServiceFacts`, whether it was read from the Engine API (a container) or from
a Compose file on disk (a service that may not be running): image, command, environment, ports,
network mode, healthcheck. The functions below turn those facts into servers (PostgreSQL,
Redis, MySQL) and the address to reach them by — pure, so the rules are tested without an engine.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote

#: PostgreSQL images: the official one and its common relatives (the repository part of the image).
POSTGRES_IMAGES = re.compile(
    r"(^|/)(postgres|postgresql|postgis|timescaledb(-ha)?|pgvector|supabase-postgres|"
    r"postgresql-repmgr|timescaledb-postgis)(:|@|$)"
)
#: Redis and its drop-in relatives.
REDIS_IMAGES = re.compile(r"(^|/)(redis|redis-stack-server|valkey|keydb|dragonfly)(:|@|$)")
REDIS_SERVERS = ("redis-server", "valkey-server", "keydb-server")
#: MySQL and MariaDB: the official images and their common relatives (Percona, bitnami, ubi).
MYSQL_IMAGES = re.compile(
    r"(^|/)(mysql|mysql-server|mariadb|percona|percona-server|percona-server-mysql|"
    r"percona-xtradb-cluster|mariadb-galera)(:|@|$)"
)
MYSQL_SERVERS = ("mysqld", "mariadbd", "mysqld_safe", "mariadbd-safe")

#: The application's own settings, in the names our users' runbooks use.
APP_DATABASE_VARS = ("DATABASE_URL",)
APP_REDIS_VARS = ("REDIS_URL", "CELERY_BROKER_URL")

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class ServiceFacts:
    """A container (running or not) or a Compose service read from its file."""

    #: Container name, or the service name when read from a file.
    name: str
    image: str = ""
    #: Entrypoint and command, as one argv.
    command: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    #: "host", "none", "bridge", a network name, or "" when the file does not say.
    network_mode: str = ""
    #: Network name -> the container's address on it (empty for a file or a stopped container).
    networks: Mapping[str, str] = field(default_factory=dict)
    #: Container port -> (host address, host port) it is published on.
    published: Mapping[int, tuple[str, int]] = field(default_factory=dict)
    healthcheck: tuple[str, ...] = ()
    #: True/False from the engine; None for a service only read from a file.
    running: bool | None = None
    container_id: str = ""
    project: str = ""
    service: str = ""
    #: The Compose project directory and files (from the labels, or where they were read).
    working_dir: str = ""
    config_files: tuple[str, ...] = ()
    #: Contents of files the environment names (``POSTGRES_PASSWORD_FILE``), read from inside
    #: the container through the Engine API or from the Compose file's ``secrets:`` entry.
    files: Mapping[str, str] = field(default_factory=dict)
    #: Where these facts come from, for the listing ("container erp-db-1", "docker-compose.yml").
    origin: str = ""
    #: Other names the service answers to on its networks (Compose aliases, container name).
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Server:
    """A PostgreSQL or Redis server a service runs, with the credentials it was given."""

    kind: str  # "postgres" | "redis" | "mysql"
    #: The port the server listens on inside its container.
    port: int
    user: str = ""
    password: str = ""
    database: str = ""
    #: Which facts said so, for the listing ("POSTGRES_PASSWORD_FILE", "--requirepass").
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Address:
    host: str
    port: int
    #: How it is reached: "published port", "host network", "container network address on X".
    route: str
    #: True when this host can reach it over loopback.
    loopback: bool


def _image_repo(image: str) -> str:
    return image.split("@", 1)[0]


def is_postgres(facts: ServiceFacts) -> bool:
    if POSTGRES_IMAGES.search(_image_repo(facts.image)):
        return True
    return bool(facts.command) and facts.command[0].rsplit("/", 1)[-1] in ("postgres", "postmaster")


def is_redis(facts: ServiceFacts) -> bool:
    if REDIS_IMAGES.search(_image_repo(facts.image)):
        return True
    return any(arg.rsplit("/", 1)[-1] in REDIS_SERVERS for arg in facts.command[:3])


def is_mysql(facts: ServiceFacts) -> bool:
    if MYSQL_IMAGES.search(_image_repo(facts.image)):
        return True
    return any(arg.rsplit("/", 1)[-1] in MYSQL_SERVERS for arg in facts.command[:3])


def _option(argv: Sequence[str], *names: str) -> str | None:
    """The value of ``--name value`` / ``--name=value`` / ``-c name=value`` in an argv."""
    for i, arg in enumerate(argv):
        for name in names:
            if arg == name and i + 1 < len(argv):
                return argv[i + 1]
            if arg.startswith(name + "="):
                return arg.split("=", 1)[1]
        if arg == "-c" and i + 1 < len(argv):
            key, _, value = argv[i + 1].partition("=")
            if key.strip() in [n.lstrip("-") for n in names]:
                return value.strip()
    return None


def _command_argv(command: Sequence[str]) -> list[str]:
    """The argv, with a ``sh -c "…"`` string split as the shell would (no expansion)."""
    argv = list(command)
    if len(argv) >= 3 and argv[0].rsplit("/", 1)[-1] in ("sh", "bash") and argv[1] == "-c":
        try:
            return shlex.split(argv[2])
        except ValueError:
            return argv
    return argv


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def postgres_server(facts: ServiceFacts) -> Server | None:
    """PostgreSQL from the official image's variables (and bitnami's), or None."""
    if not is_postgres(facts):
        return None
    env = facts.env
    evidence: list[str] = []
    user = env.get("POSTGRES_USER") or env.get("POSTGRESQL_USERNAME") or "postgres"
    password = env.get("POSTGRES_PASSWORD") or env.get("POSTGRESQL_PASSWORD") or ""
    if password:
        evidence.append("POSTGRES_PASSWORD")
    for var in ("POSTGRES_PASSWORD_FILE", "POSTGRESQL_PASSWORD_FILE"):
        path = env.get(var)
        if path and not password and facts.files.get(path) is not None:
            password = facts.files[path].strip("\r\n")
            evidence.append(f"{var} ({path})")
    database = env.get("POSTGRES_DB") or env.get("POSTGRESQL_DATABASE") or user
    argv = _command_argv(facts.command)
    port = 5432
    for name, value in (
        ("-p in its command", _option(argv, "-p", "--port")),
        ("PGPORT", env.get("PGPORT")),
        ("POSTGRESQL_PORT_NUMBER", env.get("POSTGRESQL_PORT_NUMBER")),
    ):
        if _int(value):
            port = _int(value) or port
            evidence.append(f"{name} ({port})")
            break
    return Server("postgres", port, user, password, database, tuple(evidence))


def redis_server(facts: ServiceFacts) -> Server | None:
    """Redis, Valkey or KeyDB from ``--requirepass`` / ``--port`` or the images' variables."""
    if not is_redis(facts):
        return None
    argv = _command_argv(facts.command)
    env = facts.env
    evidence: list[str] = []
    password = _option(argv, "--requirepass") or ""
    if password:
        evidence.append("--requirepass")
    else:
        for var in ("REDIS_PASSWORD", "VALKEY_PASSWORD", "KEYDB_PASSWORD"):
            if env.get(var):
                password = env[var]
                evidence.append(var)
                break
    port = 6379
    for name, value in (
        ("--port", _option(argv, "--port")),
        ("REDIS_PORT_NUMBER", env.get("REDIS_PORT_NUMBER")),
    ):
        if _int(value):
            port = _int(value) or port
            evidence.append(f"{name} ({port})")
            break
    return Server("redis", port, password=password, evidence=tuple(evidence))


def _env_or_file(facts: ServiceFacts, names: Sequence[str]) -> tuple[str, str]:
    """(value, the variable it came from) of the first name set, directly or as ``NAME_FILE``
    (whose file was read from inside the container, or from the Compose file's secrets)."""
    for name in names:
        if facts.env.get(name):
            return facts.env[name], name
        path = facts.env.get(name + "_FILE")
        if path and facts.files.get(path) is not None:
            return facts.files[path].strip("\r\n"), f"{name}_FILE ({path})"
    return "", ""


def mysql_server(facts: ServiceFacts) -> Server | None:
    """MySQL or MariaDB from the official images' variables (``MYSQL_*``, ``MARIADB_*``) and
    bitnami's; the application user when it has a password, else root."""
    if not is_mysql(facts):
        return None
    evidence: list[str] = []
    user, user_var = _env_or_file(facts, ("MARIADB_USER", "MYSQL_USER"))
    password, password_var = _env_or_file(facts, ("MARIADB_PASSWORD", "MYSQL_PASSWORD"))
    if not (user and password):
        # Root is the account the official images always create; its password is the one set.
        user = "root"
        password, password_var = _env_or_file(
            facts, ("MARIADB_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD")
        )
    else:
        evidence.append(user_var)
    if password_var:
        evidence.append(password_var)
    database, _ = _env_or_file(facts, ("MARIADB_DATABASE", "MYSQL_DATABASE"))
    argv = _command_argv(facts.command)
    port = 3306
    for name, value in (
        ("--port in its command", _option(argv, "--port", "-P")),
        ("MYSQL_TCP_PORT", facts.env.get("MYSQL_TCP_PORT")),
        ("MARIADB_PORT_NUMBER", facts.env.get("MARIADB_PORT_NUMBER")),
        ("MYSQL_PORT_NUMBER", facts.env.get("MYSQL_PORT_NUMBER")),
    ):
        if _int(value):
            port = _int(value) or port
            evidence.append(f"{name} ({port})")
            break
    return Server("mysql", port, user, password, database, tuple(evidence))


def server_of(facts: ServiceFacts) -> Server | None:
    return postgres_server(facts) or redis_server(facts) or mysql_server(facts)


#: Laravel's database settings (its ``.env``): a MySQL server named piece by piece.
LARAVEL_DB_VARS = ("DB_HOST", "DB_PORT", "DB_DATABASE", "DB_USERNAME", "DB_PASSWORD")


def _laravel_url(env: Mapping[str, str]) -> str:
    """``DB_CONNECTION=mysql|mariadb`` + ``DB_HOST``… as one mysql:// URL, or ""."""
    if env.get("DB_CONNECTION", "").lower() not in ("mysql", "mariadb") or not env.get("DB_HOST"):
        return ""
    user = quote(env.get("DB_USERNAME", ""), safe="")
    password = env.get("DB_PASSWORD", "")
    auth = user + (":" + quote(password, safe="") if password else "")
    host = env["DB_HOST"]
    port = f":{env['DB_PORT']}" if _int(env.get("DB_PORT")) else ""
    database = quote(env.get("DB_DATABASE", ""), safe="")
    return f"mysql://{auth + '@' if auth else ''}{host}{port}/{database}"


def address_of(facts: ServiceFacts, port: int) -> Address | None:
    """How this host reaches ``port`` of the service: a published host port, the host network,
    or the container's own address on its network (which only this host's routes may reach)."""
    if facts.network_mode == "host":
        return Address(LOOPBACK, port, "host network", True)
    published = facts.published.get(port)
    if published is not None:
        host_ip, host_port = published
        if host_ip in ("", "0.0.0.0", "::") or host_ip.startswith("127."):  # noqa: S104
            host = host_ip if host_ip.startswith("127.") else LOOPBACK
            return Address(host, host_port, f"published port {host_ip or '*'}:{host_port}", True)
        return Address(host_ip, host_port, f"published port {host_ip}:{host_port}", False)
    for network, ip in sorted(facts.networks.items()):
        if ip:
            return Address(ip, port, f"container network address on {network}", False)
    return None


def app_urls(facts: ServiceFacts) -> list[tuple[str, str]]:
    """(variable, URL) of the application settings in this service's environment."""
    out: list[tuple[str, str]] = []
    for var in (*APP_DATABASE_VARS, *APP_REDIS_VARS):
        value = facts.env.get(var, "")
        if value and "://" in value:
            out.append((var, value))
    laravel = _laravel_url(facts.env)
    if laravel and not any(url.startswith(("mysql", "mariadb")) for _, url in out):
        out.append(("DB_CONNECTION", laravel))
    return out


def healthcheck_urls(facts: ServiceFacts) -> list[str]:
    """The http(s) URLs a healthcheck's ``curl`` or ``wget`` fetches."""
    test = list(facts.healthcheck)
    if not test or test[0] == "NONE":
        return []
    if test[0] == "CMD-SHELL":
        argv = _split(" ".join(test[1:]))
    elif test[0] == "CMD":
        argv = test[1:]
    else:  # a plain string in a Compose file
        argv = _split(" ".join(test))
    fetcher = any(a.rsplit("/", 1)[-1] in ("curl", "wget") for a in argv)
    if not fetcher:
        return []
    return [a for a in argv if re.match(r"https?://", a)]


def _split(text: str) -> list[str]:
    try:
        return shlex.split(text)
    except ValueError:
        return text.split()
