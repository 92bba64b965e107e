"""From config to the five checks, in pane order. Unconfigured sources say how to configure them."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from zconsole.checks.base import Check, NotConfigured
from zconsole.config import Config

#: Pane order everywhere: the grid, the tab bar, snapshot JSON.
SOURCE_NAMES = ("host", "docker", "postgres", "redis", "http")

TITLES = {
    "host": "Host",
    "docker": "Containers",
    "postgres": "PostgreSQL",
    "redis": "Redis & queues",
    "http": "HTTP & TLS",
}

HINTS = {
    "docker": "set DOCKER_HOST or [docker] host, or start the Docker engine",
    "postgres": "set DATABASE_URL, PGHOST/PGDATABASE, or [postgres] dsn in zconsole.toml",
    "redis": "set REDIS_URL or [redis] url in zconsole.toml",
    "http": 'add [[http.endpoints]] url = "https://…/health" to zconsole.toml',
}

DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock"


def not_configured(name: str) -> NotConfigured:
    return NotConfigured(name, TITLES[name], HINTS[name])


def build_checks(config: Config, *, single_poll: bool = False) -> list[Check[Any]]:
    """The checks in pane order; every source is present, configured or not.

    ``single_poll``: for `zconsole snapshot`, which gets one poll and no next refresh to fill in
    what a first poll cannot know yet (the containers' CPU and memory need two stats samples).
    """
    return [
        _host(config),
        _docker(config, single_poll=single_poll),
        _postgres(config),
        _redis(config),
        _http(config),
    ]


def _host(config: Config) -> Check[Any]:
    from zconsole.checks.host import HostCheck, HostThresholds

    h = config.host
    thresholds = HostThresholds(
        cpu_warn=h.cpu_warn,
        cpu_crit=h.cpu_crit,
        memory_warn=h.memory_warn,
        memory_crit=h.memory_crit,
        swap_warn=h.swap_warn,
        swap_crit=h.swap_crit,
        disk_warn=h.disk_warn,
        disk_crit=h.disk_crit,
        load_warn_per_core=h.load_warn_per_core,
        load_crit_per_core=h.load_crit_per_core,
    )
    from zconsole.checks.host import HostActionSettings
    from zconsole.checks.host_containers import DockerNames

    engine = docker_url(config) if config.docker.enabled else ""
    if not is_local_engine(engine):
        # This host's processes cannot belong to a remote engine's containers, and a prune
        # there frees nothing here: the host pane's Docker links are for a local engine only.
        engine = ""
    return HostCheck(
        thresholds,
        interval=config.interval_of("host"),
        timeout=config.timeout_of("host"),
        include_tmpfs=h.include_tmpfs,
        include_mounts=h.include_mounts,
        exclude_mounts=h.exclude_mounts,
        mount_timeout=h.mount_timeout,
        growth_window_s=h.growth_window_s,
        top_n=h.top_processes,
        # Process -> container name; the docker SDK is imported only when a name is needed.
        container_name=DockerNames(engine) if engine else None,
        actions=HostActionSettings(
            log_globs=tuple(h.log_globs),
            log_max_age_days=h.log_max_age_days,
            journal_max_age_days=h.journal_max_age_days,
            docker_url=engine,
        ),
    )


def is_local_engine(url: str) -> bool:
    """unix:// sockets and tcp:// on a loopback address run on this host; ssh:// does not."""
    if url.startswith("unix://"):
        return True
    if url.startswith("tcp://"):
        host = urlsplit(url).hostname or ""
        return host in ("localhost", "::1") or host.startswith("127.")
    return False


def docker_url(config: Config) -> str:
    """The engine URL in use: configured, DOCKER_HOST, or the default socket if it exists."""
    if config.docker.host:
        return config.docker.host
    if os.path.exists(DEFAULT_DOCKER_SOCKET):
        return "unix://" + DEFAULT_DOCKER_SOCKET
    return ""


def _docker(config: Config, *, single_poll: bool) -> Check[Any]:
    url = docker_url(config)
    if not config.docker.enabled or not url:
        return not_configured("docker")
    from zconsole.checks.docker import DockerCheck

    return DockerCheck(
        config.docker,
        url,
        interval=config.interval_of("docker"),
        timeout=config.timeout_of("docker"),
        first_poll_waits_for_stats=single_poll,
    )


def _postgres(config: Config) -> Check[Any]:
    if not config.postgres.dsn:
        return not_configured("postgres")
    from zconsole.checks.postgres import PostgresCheck

    dsn = "" if config.postgres.dsn == "libpq:env" else config.postgres.dsn
    return PostgresCheck(
        config.postgres,
        dsn,
        interval=config.interval_of("postgres"),
        timeout=config.timeout_of("postgres"),
    )


def _redis(config: Config) -> Check[Any]:
    if not config.redis.url:
        return not_configured("redis")
    from zconsole.checks.redis import RedisCheck

    return RedisCheck(
        config.redis, interval=config.interval_of("redis"), timeout=config.timeout_of("redis")
    )


def _http(config: Config) -> Check[Any]:
    if not config.http.endpoints:
        return not_configured("http")
    from zconsole.checks.http import HttpCheck

    return HttpCheck(
        config.http, interval=config.interval_of("http"), timeout=config.timeout_of("http")
    )
