"""Facts of every container (running or not) from the Docker Engine API.

A password file a container's environment names (``POSTGRES_PASSWORD_FILE``) is read from inside
that container through the API's archive endpoint — what ``docker cp`` does, and it works on a
stopped container too — never by guessing where it might be on the host.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
from collections.abc import Mapping
from typing import Any

from zconsole.checks.docker_client import EngineClient, EngineError, EngineNotFound, engine_client
from zconsole.checks.secrets import register_secret
from zconsole.discovery.facts import ServiceFacts, is_mysql, is_postgres, is_redis

COMPOSE_PROJECT = "com.docker.compose.project"
COMPOSE_SERVICE = "com.docker.compose.service"
COMPOSE_WORKING_DIR = "com.docker.compose.project.working_dir"
COMPOSE_CONFIG_FILES = "com.docker.compose.project.config_files"
#: A password file is a few bytes; anything bigger is not one.
MAX_SECRET_FILE = 64 * 1024
#: The Engine API answers a local socket in milliseconds; a hung engine must not stall startup.
API_TIMEOUT_S = 5


def _env(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if sep:
            out[key] = value
    return out


def _published(ports: Mapping[str, Any] | None) -> dict[int, tuple[str, int]]:
    out: dict[int, tuple[str, int]] = {}
    for spec, bindings in (ports or {}).items():
        port, _, proto = spec.partition("/")
        if proto not in ("", "tcp") or not bindings:
            continue
        # Prefer an IPv4 binding: 127.0.0.1 or 0.0.0.0 both reach over loopback.
        best = sorted(bindings, key=lambda b: ":" in (b.get("HostIp") or ""))[0]
        with contextlib.suppress(ValueError, TypeError):
            out[int(port)] = (str(best.get("HostIp") or ""), int(best["HostPort"]))
    return out


def facts_of(inspect: Mapping[str, Any]) -> ServiceFacts:
    """ServiceFacts from one ``GET /containers/{id}/json`` answer (no API calls)."""
    config = inspect.get("Config") or {}
    host_config = inspect.get("HostConfig") or {}
    settings = inspect.get("NetworkSettings") or {}
    labels = config.get("Labels") or {}
    networks = settings.get("Networks") or {}
    aliases: set[str] = set()
    for net in networks.values():
        aliases.update((net or {}).get("Aliases") or ())
    name = str(inspect.get("Name") or "").lstrip("/")
    health = (config.get("Healthcheck") or {}).get("Test") or ()
    config_files = labels.get(COMPOSE_CONFIG_FILES, "")
    service = labels.get(COMPOSE_SERVICE, "")
    return ServiceFacts(
        name=name,
        image=str(config.get("Image") or ""),
        command=(*(config.get("Entrypoint") or ()), *(config.get("Cmd") or ())),
        env=_env(config.get("Env")),
        network_mode=str(host_config.get("NetworkMode") or ""),
        networks={n: str((v or {}).get("IPAddress") or "") for n, v in networks.items()},
        published=_published(settings.get("Ports")),
        healthcheck=tuple(health),
        running=bool((inspect.get("State") or {}).get("Running")),
        container_id=str(inspect.get("Id") or ""),
        project=labels.get(COMPOSE_PROJECT, ""),
        service=service,
        working_dir=labels.get(COMPOSE_WORKING_DIR, ""),
        config_files=tuple(f for f in config_files.split(",") if f),
        origin=f"container {name}",
        aliases=tuple(sorted(a for a in aliases | {name, service} if a)),
    )


def read_container_file(client: EngineClient, container_id: str, path: str) -> str | None:
    """A small file from inside a container (``docker cp``), or None if it cannot be read."""
    try:
        data, stat = client.get_archive(container_id, path)
        if int(stat.get("size") or 0) > MAX_SECRET_FILE:
            return None
    except (EngineError, OSError, ValueError):
        return None
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        member = next((m for m in tar.getmembers() if m.isfile()), None)
        handle = tar.extractfile(member) if member is not None else None
        if handle is None:
            return None
        text = handle.read(MAX_SECRET_FILE).decode("utf-8", errors="replace")
    register_secret(text.strip("\r\n"))
    return text


def _password_files(client: EngineClient, facts: ServiceFacts) -> dict[str, str]:
    if not (is_postgres(facts) or is_redis(facts) or is_mysql(facts)):
        return {}
    # The MySQL images take the user and database from files as well as the password.
    wanted = ("_PASSWORD_FILE", "_USER_FILE", "_DATABASE_FILE") if is_mysql(facts) else ()
    out: dict[str, str] = {}
    for var, path in facts.env.items():
        if var.endswith(("_PASSWORD_FILE", *wanted)) and path.startswith("/"):
            text = read_container_file(client, facts.container_id, path)
            if text is not None:
                out[path] = text
    return out


def client_for(url: str) -> EngineClient:
    return engine_client(url, timeout=API_TIMEOUT_S, pool=2)


def containers(url: str) -> list[ServiceFacts]:
    """Every container of the engine at ``url`` (stopped ones too: a database that will not
    start is still the project's database)."""
    from dataclasses import replace

    client = client_for(url)
    try:
        out: list[ServiceFacts] = []
        for summary in client.containers(all=True):
            try:
                inspect = client.inspect_container(summary["Id"])
            except EngineNotFound:  # removed between the list and the inspect
                continue
            facts = facts_of(inspect)
            files = _password_files(client, facts)
            out.append(replace(facts, files=files) if files else facts)
        for facts in out:
            for key, value in facts.env.items():
                if "PASSWORD" in key.upper() and not key.endswith("_FILE"):
                    register_secret(value)
        return out
    finally:
        client.close()
