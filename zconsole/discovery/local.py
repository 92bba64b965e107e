"""Local defaults, as the peers have them: where pg_activity, redis-cli and the docker CLI look
when they are given nothing.

PostgreSQL the way libpq looks: a service file's services, ``~/.pgpass`` entries for this host,
a server socket in the default socket directories, then 127.0.0.1:5432. Redis at its default
socket paths and 127.0.0.1:6379. Docker at ``/var/run/docker.sock`` and the rootless socket.

Where to look is one :class:`LocalDefaults` record. Tests replace it through the
``ZCONSOLE_LOCAL_DEFAULTS`` environment variable (a JSON object of the fields to change), so a
test never touches this machine's own servers on 5432 or 6379.
"""

from __future__ import annotations

import configparser
import json
import os
import socket
import stat
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from zconsole.checks.secrets import register_secret
from zconsole.discovery.candidates import Candidate

SEAM_VARIABLE = "ZCONSOLE_LOCAL_DEFAULTS"
#: A local server answers a TCP connect in well under this.
CONNECT_TIMEOUT_S = 0.3


@dataclass(frozen=True, slots=True)
class LocalDefaults:
    #: libpq's compiled-in socket directory on Debian/Ubuntu/RHEL, then the upstream default.
    pg_socket_dirs: tuple[str, ...] = ("/var/run/postgresql", "/tmp")  # noqa: S108 - libpq's own
    pg_ports: tuple[int, ...] = (5432,)
    #: Service files libpq reads: the user's, then the system's (PGSYSCONFDIR).
    pg_service_files: tuple[str, ...] = (
        "~/.pg_service.conf",
        "/etc/postgresql-common/pg_service.conf",
    )
    pgpass: str = "~/.pgpass"
    redis_sockets: tuple[str, ...] = (
        "/var/run/redis/redis-server.sock",
        "/run/redis/redis-server.sock",
        "/var/run/redis/redis.sock",
    )
    redis_ports: tuple[int, ...] = (6379,)
    docker_sockets: tuple[str, ...] = (
        "/var/run/docker.sock",
        f"/run/user/{os.getuid()}/docker.sock",
    )
    tcp_host: str = "127.0.0.1"


def local_defaults() -> LocalDefaults:
    """The defaults, with the test seam's changes applied."""
    base = LocalDefaults()
    # libpq's own overrides of where its service files are.
    named = [os.environ.get("PGSERVICEFILE", "")]
    if os.environ.get("PGSYSCONFDIR"):
        named.append(os.path.join(os.environ["PGSYSCONFDIR"], "pg_service.conf"))
    if any(named):
        files = (*(n for n in named if n), *base.pg_service_files)
        base = replace(base, pg_service_files=files)
    raw = os.environ.get(SEAM_VARIABLE, "")
    if not raw:
        return base
    changes: dict[str, Any] = json.loads(raw)
    known = {f.name for f in fields(LocalDefaults)}
    values: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in changes.items() if k in known
    }
    return replace(base, **values)


def _is_socket(path: str) -> bool:
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            return True
    except OSError:
        return False


def _service_candidates(paths: tuple[str, ...]) -> list[Candidate]:
    out: list[Candidate] = []
    for raw in paths:
        path = Path(raw).expanduser()
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in parser.sections():
            password = parser[section].get("password")
            register_secret(password)
            out.append(
                Candidate(
                    kind="postgres",
                    url=f"service={section}",
                    origin=f"service file {path}",
                    route=f"libpq service {section}",
                )
            )
    return out


def _pgpass_candidates(raw: str, tcp_host: str, ports: tuple[int, ...]) -> list[Candidate]:
    """``~/.pgpass`` lines naming this host whose server answers: libpq finds the password
    itself when we connect. A ``*`` port means the default ports; a ``*`` database, the
    user's own (libpq's default); a ``*`` user names nobody to connect as."""
    path = Path(raw).expanduser()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    out: list[Candidate] = []
    for line in lines:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.replace("\\:", "\0").split(":")
        if len(parts) < 5:
            continue
        host, port, db, user = (p.replace("\0", ":") for p in parts[:4])
        register_secret(":".join(parts[4:]).replace("\0", ":"))
        if host not in ("localhost", tcp_host, "*") or user == "*":
            continue
        host = tcp_host if host == "*" else host
        try:
            tried = ports if port == "*" else (int(port),)
        except ValueError:
            continue
        database = "" if db == "*" else quote(db, safe="")
        for number in tried:
            if _listening(tcp_host, number):
                out.append(
                    Candidate(
                        kind="postgres",
                        url=f"postgresql://{quote(user, safe='')}@{host}:{number}/{database}",
                        origin=f"{path}",
                        route="password from ~/.pgpass",
                    )
                )
                break
    return out


def candidates(defaults: LocalDefaults | None = None) -> list[Candidate]:
    """Every local default that answers, in libpq's / redis-cli's / docker's order."""
    d = defaults or local_defaults()
    out: list[Candidate] = []
    out += _service_candidates(d.pg_service_files)
    out += _pgpass_candidates(d.pgpass, d.tcp_host, d.pg_ports)
    for directory in d.pg_socket_dirs:
        for port in d.pg_ports:
            sock = os.path.join(directory, f".s.PGSQL.{port}")
            if _is_socket(sock):
                out.append(
                    Candidate(
                        kind="postgres",
                        url=f"host={directory} port={port}",
                        origin="local defaults",
                        route=f"unix socket {sock}",
                    )
                )
    for port in d.pg_ports:
        if _listening(d.tcp_host, port):
            out.append(
                Candidate(
                    kind="postgres",
                    url=f"postgresql://{d.tcp_host}:{port}/",
                    origin="local defaults",
                    route=f"TCP {d.tcp_host}:{port}",
                )
            )
    for sock in d.redis_sockets:
        if _is_socket(sock):
            out.append(
                Candidate(
                    kind="redis",
                    url=f"unix://{sock}",
                    origin="local defaults",
                    route=f"unix socket {sock}",
                )
            )
    for port in d.redis_ports:
        if _listening(d.tcp_host, port):
            out.append(
                Candidate(
                    kind="redis",
                    url=f"redis://{d.tcp_host}:{port}/0",
                    origin="local defaults",
                    route=f"TCP {d.tcp_host}:{port}",
                )
            )
    for sock in d.docker_sockets:
        if _is_socket(sock):
            out.append(
                Candidate(
                    kind="docker",
                    url=f"unix://{sock}",
                    origin="local defaults",
                    route=f"unix socket {sock}",
                )
            )
    return out
