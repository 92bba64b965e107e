"""The one registry of sources: every source the console knows is one :class:`Source` here.

Its name (the key in config and snapshot JSON), title, number key, the hint shown while it is
not configured, how its check is built from config, and its pane. The grid, the tab bar, the
number keys, the command palette, `zconsole snapshot` and the CLI all read :data:`SOURCES`, in
its order; adding a source is one entry (plus its ``checks/`` and ``widgets/`` modules).

Pane classes are named, not imported: `zconsole snapshot` reads this registry and must never
import Textual.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from zconsole import __version__
from zconsole.checks.base import Check, NotConfigured
from zconsole.checks.docker_settings import is_local_engine
from zconsole.config import Config

if TYPE_CHECKING:
    from zconsole.widgets.pane import Pane

#: (config, single_poll) -> the check, or None while the source is not configured.
#: ``single_poll`` is for `zconsole snapshot`, which gets one poll and no next refresh to fill in
#: what a first poll cannot know yet (the containers' CPU and memory need two stats samples).
Builder = Callable[[Config, bool], "Check[Any] | None"]


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    title: str
    #: The key that shows and focuses its pane.
    key: str
    #: How to configure it, shown in its pane while it is not configured.
    hint: str
    build: Builder
    #: "module:Class" of its pane, imported only when the TUI builds the screen.
    pane: str
    #: "module:Class" of its Snapshot data, so a recording decodes back into the typed record
    #: ("" : kept as plain JSON values).
    data: str = ""
    #: False: its pane, tab and number key appear only once it is configured (most servers run
    #: one of PostgreSQL and MySQL; an empty pane for the other would take room from the rest).
    shown_unconfigured: bool = True

    def check(self, config: Config, *, single_poll: bool = False) -> Check[Any]:
        built = self.build(config, single_poll)
        return built if built is not None else NotConfigured(self.name, self.hint)

    def pane_class(self) -> type[Pane]:
        module, _, name = self.pane.partition(":")
        pane: type[Pane] = getattr(importlib.import_module(module), name)
        return pane


def _host(config: Config, single_poll: bool) -> Check[Any]:
    from zconsole.checks.host import HostCheck
    from zconsole.checks.host_containers import DockerNames

    engine = config.docker.engine_url
    if not is_local_engine(engine):
        # This host's processes cannot belong to a remote engine's containers, and a prune
        # there frees nothing here: the host pane's Docker links are for a local engine only.
        engine = ""
    return HostCheck(
        config.host,
        interval=config.interval_of("host"),
        timeout=config.timeout_of("host"),
        # Process -> container name; the Engine client is made only when a name is needed.
        container_name=DockerNames(engine) if engine else None,
        docker_url=engine,
    )


def _docker(config: Config, single_poll: bool) -> Check[Any] | None:
    url = config.docker.engine_url
    if not url:
        return None
    from zconsole.checks.docker import DockerCheck

    return DockerCheck(
        config.docker,
        url,
        interval=config.interval_of("docker"),
        timeout=config.timeout_of("docker"),
        first_poll_waits_for_stats=single_poll,
    )


def _postgres(config: Config, single_poll: bool) -> Check[Any] | None:
    if not config.postgres.dsn:
        return None
    from zconsole.checks.postgres import PostgresCheck

    return PostgresCheck(
        config.postgres,
        config.postgres.dsn,
        interval=config.interval_of("postgres"),
        timeout=config.timeout_of("postgres"),
        container=config.postgres.container,
        docker_url=config.docker.engine_url if config.postgres.container else "",
    )


def _redis(config: Config, single_poll: bool) -> Check[Any] | None:
    if not config.redis.url:
        return None
    from zconsole.checks.redis import RedisCheck

    return RedisCheck(
        config.redis, interval=config.interval_of("redis"), timeout=config.timeout_of("redis")
    )


def _http(config: Config, single_poll: bool) -> Check[Any] | None:
    if not config.http.endpoints:
        return None
    from zconsole.checks.http import HttpCheck

    return HttpCheck(
        config.http,
        interval=config.interval_of("http"),
        timeout=config.timeout_of("http"),
        user_agent=f"zconsole/{__version__} health-check",
    )


def _mysql(config: Config, single_poll: bool) -> Check[Any] | None:
    from pathlib import Path

    from zconsole.checks.mysql_settings import resolve

    try:
        # [mysql] dsn (or MYSQL_URL, a mysql:// DATABASE_URL, resolved by config), else the
        # [client] section of ~/.my.cnf, read here so `zconsole config` never prints it.
        endpoint = resolve(config.mysql, os.environ, Path.home())
    except ValueError as exc:
        return NotConfigured("mysql", f"[mysql] dsn: {exc}")
    if endpoint is None:
        return None
    from zconsole.checks.mysql import MySQLCheck

    return MySQLCheck(
        config.mysql,
        endpoint,
        interval=config.interval_of("mysql"),
        timeout=config.timeout_of("mysql"),
    )


#: Every source, in pane order: the grid, the tab bar, the number keys, snapshot JSON.
SOURCES: tuple[Source, ...] = (
    Source(
        "host",
        "Host",
        "1",
        "",
        _host,
        "zconsole.widgets.host:HostPane",
        "zconsole.checks.host:HostData",
    ),
    Source(
        "docker",
        "Containers",
        "2",
        "set DOCKER_HOST or [docker] host, or start the Docker engine",
        _docker,
        "zconsole.widgets.containers:ContainersPane",
        "zconsole.checks.docker:DockerData",
    ),
    Source(
        "postgres",
        "PostgreSQL",
        "3",
        "set DATABASE_URL, PGHOST/PGDATABASE, or [postgres] dsn in zconsole.toml",
        _postgres,
        "zconsole.widgets.postgres:PostgresPane",
        "zconsole.checks.postgres:PostgresData",
    ),
    Source(
        "redis",
        "Redis & queues",
        "4",
        "set REDIS_URL or [redis] url in zconsole.toml",
        _redis,
        "zconsole.widgets.redis:RedisPane",
        "zconsole.checks.redis:RedisData",
    ),
    Source(
        "http",
        "HTTP & TLS",
        "5",
        'add [[http.endpoints]] url = "https://…/health" to zconsole.toml',
        _http,
        "zconsole.widgets.http:HttpPane",
        "zconsole.checks.http:HttpData",
    ),
    Source(
        "mysql",
        "MySQL",
        "6",
        "set MYSQL_URL, a mysql:// DATABASE_URL, [mysql] dsn in zconsole.toml, or ~/.my.cnf",
        _mysql,
        "zconsole.widgets.mysql:MySQLPane",
        "zconsole.checks.mysql:MySQLData",
        shown_unconfigured=False,
    ),
)


def source(name: str) -> Source | None:
    return next((s for s in SOURCES if s.name == name), None)


def title_of(name: str) -> str:
    found = source(name)
    return found.title if found is not None else name


def shown(checks: Mapping[str, Check[Any]]) -> list[Source]:
    """The sources whose panes the console shows, given the checks it runs."""
    return [
        s
        for s in SOURCES
        if s.shown_unconfigured
        or (s.name in checks and not isinstance(checks[s.name], NotConfigured))
    ]


def build_checks(config: Config, *, single_poll: bool = False) -> list[Check[Any]]:
    """Every source's check in pane order; a source not configured says how to configure it."""
    return [s.check(config, single_poll=single_poll) for s in SOURCES]
