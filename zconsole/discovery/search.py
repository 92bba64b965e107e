"""Find the database, the cache, the engine and the health endpoints with nothing configured.

Three places, merged: local defaults (:mod:`.local`), the containers of the engine
(:mod:`.engine`) and the Compose project on disk (:mod:`.compose`). A container and the file's
service of the same name are one service (the container's facts win: they are what runs); a
service in the files with no container is reported from the files, as not running.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from zconsole.checks.docker_settings import is_local_engine
from zconsole.checks.mysql_settings import is_mysql_url
from zconsole.checks.secrets import redact
from zconsole.discovery import compose, engine, local
from zconsole.discovery.candidates import (
    TIER_APP_ELSEWHERE,
    TIER_APP_IN_PROJECT,
    TIER_CONTAINER,
    TIER_PROJECT,
    UNKNOWN_HOST,
    Candidate,
    Discovery,
)
from zconsole.discovery.facts import (
    Address,
    Server,
    ServiceFacts,
    address_of,
    app_urls,
    healthcheck_urls,
    is_mysql,
    is_postgres,
    is_redis,
    server_of,
)

#: Ports and names of a service that serves the application over HTTP.
WEB_PORTS = frozenset({80, 443, 3000, 5000, 8000, 8080, 8443, 8888})
WEB_NAMES = frozenset({"web", "app", "api", "frontend", "nginx", "proxy", "caddy", "traefik"})
LOCAL_NAMES = frozenset({"localhost", "127.0.0.1", "0.0.0.0", "::1", ""})  # noqa: S104


@dataclass(frozen=True, slots=True)
class _Service:
    facts: ServiceFacts
    #: In the Compose project of the directory zconsole runs in (or --project).
    in_project: bool


def _merge_services(
    containers: list[ServiceFacts], projects: list[compose.Project], current: str
) -> list[_Service]:
    """One entry per service: the container when there is one, else the file's service."""
    out: list[_Service] = []
    by_service = {(c.project, c.service): c for c in containers if c.project and c.service}
    seen: set[tuple[str, str]] = set()
    for project in projects:
        for facts in project.services:
            key = (project.name, facts.service)
            seen.add(key)
            container = by_service.get(key)
            if container is None:
                # No container for it (discover() says "unknown" if the engine did not answer).
                out.append(_Service(replace(facts, running=False), project.name == current))
            else:
                files = {**facts.files, **container.files}
                out.append(_Service(replace(container, files=files), project.name == current))
    for facts in containers:
        if (facts.project, facts.service) not in seen:
            out.append(_Service(facts, bool(current) and facts.project == current))
    return out


def _netloc(user: str, password: str, host: str, port: int) -> str:
    auth = ""
    if user or password:
        auth = quote(user, safe="") + (":" + quote(password, safe="") if password else "") + "@"
    shown = f"[{host}]" if ":" in host else host
    return f"{auth}{shown}:{port}"


def _server_url(server: Server, address: Address, database: str = "") -> str:
    if server.kind == "postgres":
        netloc = _netloc(server.user, server.password, address.host, address.port)
        return f"postgresql://{netloc}/{quote(database or server.database, safe='')}"
    if server.kind == "mysql":
        netloc = _netloc(server.user, server.password, address.host, address.port)
        return f"mysql://{netloc}/{quote(database or server.database, safe='')}"
    netloc = _netloc("", server.password, address.host, address.port)
    return f"redis://{netloc}/{database or '0'}"


def _server_candidates(services: list[_Service]) -> list[Candidate]:
    out: list[Candidate] = []
    for svc in services:
        facts = svc.facts
        server = server_of(facts)
        if server is None:
            continue
        address = address_of(facts, server.port)
        if address is None:
            # A stopped container on a bridge network has no address; still worth listing.
            route = "no address: not running and its port is not published"
            url = _server_url(server, Address(UNKNOWN_HOST, server.port, route, False))
        else:
            route, url = address.route, _server_url(server, address)
        notes = [f"read from {', '.join(server.evidence)}"] if server.evidence else []
        out.append(
            Candidate(
                kind=server.kind,
                url=url,
                origin=facts.origin,
                route=route,
                running=facts.running,
                project=facts.project,
                service=facts.service,
                container_id=facts.container_id,
                container_name=facts.name if facts.container_id else "",
                tier=TIER_PROJECT if svc.in_project else TIER_CONTAINER,
                notes=tuple(notes),
                working_dir=facts.working_dir,
                config_files=facts.config_files,
            )
        )
    return out


def _same_server(a: Candidate, host: str, port: int) -> bool:
    parts = urlsplit(a.url)
    return (parts.hostname or "") == host and (parts.port or 0) == port


DEFAULT_PORTS = {"postgres": 5432, "redis": 6379, "mysql": 3306}


def _kind_of(url: str) -> str:
    """The server kind an application URL names."""
    if url.startswith("postgres"):
        return "postgres"
    return "mysql" if is_mysql_url(url) else "redis"


def _resolve_app_url(
    url: str, app: _Service, services: list[_Service]
) -> tuple[str, int, str, _Service | None] | None:
    """(host, port, route, the server's service) a URL of the app's environment points at."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[_kind_of(url)]
    peers = [s for s in services if s.facts.project == app.facts.project and s is not app]
    target = next((s for s in peers if host in s.facts.aliases), None)
    if target is not None:
        server = server_of(target.facts)
        # On the host network the server's own port is the truth; elsewhere the URL's port is
        # the container port, which may be published under another number.
        container_port = server.port if server is not None else port
        if target.facts.network_mode != "host":
            container_port = port
        address = address_of(target.facts, container_port)
        if address is None:
            return None
        return address.host, address.port, f"{address.route} ({host} is its service)", target
    if host in LOCAL_NAMES:
        if app.facts.network_mode != "host":
            return None  # the container's own localhost: not this host's
        return "127.0.0.1", port, "host network of the application", None
    return host, port, "as the application's setting names it", None


def _app_candidates(services: list[_Service], servers: list[Candidate]) -> list[Candidate]:
    """Mark (or add) the servers the application's own settings name."""
    result = list(servers)
    for app in services:
        for var, url in app_urls(app.facts):
            if not url.startswith(("postgres", "redis", "rediss", "mysql", "mariadb")):
                continue
            resolved = _resolve_app_url(url, app, services)
            if resolved is None:
                continue
            host, port, route, target = resolved
            named_by = f"{var} of {app.facts.service or app.facts.name}"
            tier = TIER_APP_IN_PROJECT if app.in_project else TIER_APP_ELSEWHERE
            parts = urlsplit(url)
            kind = _kind_of(url)
            match = next(
                (i for i, c in enumerate(result) if c.kind == kind and _same_server(c, host, port)),
                None,
            )
            if match is not None:
                found = result[match]
                url_parts = urlsplit(found.url)
                if not url_parts.password and parts.password:
                    # The server's own facts have no password; the application's URL has one.
                    found = replace(found, url=_with_netloc(url, host, port))
                elif kind in ("postgres", "mysql") and parts.path.strip("/"):
                    found = replace(found, url=found.url.rsplit("/", 1)[0] + parts.path)
                result[match] = replace(
                    found, named_by=found.named_by or named_by, tier=min(found.tier, tier)
                )
                continue
            result.append(
                Candidate(
                    kind=kind,
                    url=_with_netloc(url, host, port),
                    origin=f"{var} of {app.facts.origin}",
                    route=route,
                    running=target.facts.running if target is not None else None,
                    project=app.facts.project,
                    service=target.facts.service if target is not None else "",
                    container_id=target.facts.container_id if target is not None else "",
                    container_name=(
                        target.facts.name
                        if target is not None and target.facts.container_id
                        else ""
                    ),
                    named_by=named_by,
                    tier=tier,
                )
            )
    return result


def _with_netloc(url: str, host: str, port: int) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme.startswith("postgres"):
        scheme = "postgresql"
    elif is_mysql_url(url):
        scheme = "mysql"  # SQLAlchemy's mysql+pymysql:// is the same server
    from urllib.parse import unquote

    netloc = _netloc(unquote(parts.username or ""), unquote(parts.password or ""), host, port)
    return urlunsplit((scheme, netloc, parts.path, parts.query, ""))


def _http_candidates(services: list[_Service]) -> list[Candidate]:
    out: list[Candidate] = []
    seen: set[str] = set()
    for svc in services:
        facts = svc.facts
        if is_postgres(facts) or is_redis(facts) or is_mysql(facts):
            continue
        tier = TIER_PROJECT if svc.in_project else TIER_CONTAINER
        covered: set[int] = set()
        for url in healthcheck_urls(facts):
            parts = urlsplit(url)
            if (parts.hostname or "") in LOCAL_NAMES:
                port = parts.port or (443 if parts.scheme == "https" else 80)
                address = address_of(facts, port)
                if address is None:
                    continue
                covered.add(port)
                netloc = _netloc("", "", address.host, address.port)
                shown = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
                route = f"healthcheck, {address.route}"
            else:
                shown, route = url, "healthcheck"
            if shown not in seen:
                seen.add(shown)
                out.append(_http(shown, facts, route, tier))
        web = facts.service in WEB_NAMES or facts.name in WEB_NAMES
        for port, (host_ip, host_port) in sorted(facts.published.items()):
            if port in covered or not (web or port in WEB_PORTS):
                continue
            address = address_of(facts, port)
            if address is None or not address.loopback:
                continue
            scheme = "https" if port in (443, 8443) else "http"
            shown = f"{scheme}://{_netloc('', '', address.host, address.port)}/"
            if shown not in seen:
                seen.add(shown)
                out.append(
                    _http(shown, facts, f"published port {host_ip or '*'}:{host_port}", tier)
                )
    return out


def _http(url: str, facts: ServiceFacts, route: str, tier: int) -> Candidate:
    return Candidate(
        kind="http",
        url=url,
        origin=facts.origin,
        route=route,
        running=facts.running,
        project=facts.project,
        service=facts.service,
        container_id=facts.container_id,
        container_name=facts.name if facts.container_id else "",
        tier=tier,
    )


def _dedupe(candidates: Iterable[Candidate]) -> list[Candidate]:
    """The same server found twice (a published port that is also a local default): kept once,
    under its container's name."""
    out: list[Candidate] = []
    for c in candidates:
        parts = urlsplit(c.url) if "://" in c.url else None
        twin = None
        if parts is not None and parts.hostname:
            twin = next(
                (
                    i
                    for i, o in enumerate(out)
                    if o.kind == c.kind
                    and "://" in o.url
                    and _same_server(o, parts.hostname, parts.port or 0)
                ),
                None,
            )
        if twin is None:
            out.append(c)
        elif out[twin].origin == "local defaults":
            out[twin] = replace(c, tier=min(c.tier, out[twin].tier))
    return out


def _projects(
    directory: Path | None,
    containers: list[ServiceFacts],
    environ: Mapping[str, str] | None,
) -> tuple[list[compose.Project], str, str, list[str]]:
    """The projects to read: the one in ``directory`` and those the containers' labels name."""
    problems: list[str] = []
    projects: list[compose.Project] = []
    current = current_dir = ""
    if directory is not None and compose.compose_files(directory):
        labelled = next(
            (c for c in containers if c.working_dir and Path(c.working_dir) == directory.resolve()),
            None,
        )
        try:
            project = compose.load_project(
                directory, name=labelled.project if labelled else "", environ=environ
            )
            projects.append(project)
            problems += project.problems
            current, current_dir = project.name, str(project.directory)
        except compose.ComposeError as exc:
            problems.append(str(exc))
    read = {p.name for p in projects}
    for c in containers:
        if not c.project or c.project in read or not c.working_dir:
            continue
        read.add(c.project)
        try:
            project = compose.load_project(
                Path(c.working_dir), c.config_files, name=c.project, environ=environ
            )
        except compose.ComposeError:
            continue  # files moved or on another host: the containers still say enough
        projects.append(project)
    return projects, current, current_dir, problems


def discover(
    *,
    project_dir: Path | None = None,
    docker_url: str = "",
    defaults: local.LocalDefaults | None = None,
    environ: Mapping[str, str] | None = None,
) -> Discovery:
    """Every candidate of every kind. Never raises for a missing engine or unreadable files:
    what could not be read is in ``problems``."""
    problems: list[str] = []
    found = local.candidates(defaults)
    if not docker_url:
        docker = next((c for c in found if c.kind == "docker"), None)
        docker_url = docker.url if docker is not None else ""
    containers: list[ServiceFacts] = []
    answered = False
    if docker_url and not is_local_engine(docker_url):
        # A remote engine's containers are on another host: their loopback is not ours.
        problems.append(f"Docker engine {redact(docker_url)} is not on this host: not searched")
        docker_url = ""
    if docker_url:
        try:
            containers = engine.containers(docker_url)
            answered = True
        except Exception as exc:  # noqa: BLE001 - any engine failure is a line in the listing
            problems.append(redact(f"Docker engine {docker_url}: {type(exc).__name__}: {exc}"))
    projects, current, current_dir, more = _projects(project_dir, containers, environ)
    problems += more
    services = _merge_services(containers, projects, current)
    if not answered:
        services = [replace(s, facts=replace(s.facts, running=None)) for s in services]
    servers = _server_candidates(services)
    servers = _app_candidates(services, servers)
    http = _http_candidates(services)
    candidates = _dedupe([*servers, *found, *http])
    return Discovery(
        candidates=tuple(candidates),
        project_dir=current_dir,
        project=current,
        problems=tuple(problems),
    )
