"""A candidate source found by discovery, and the choice among several of one kind."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from zconsole.checks.credentials import register_url_secret
from zconsole.checks.secrets import password_of_url, redact, register_secret

KINDS = ("docker", "postgres", "redis", "mysql", "http")

# Which candidate of a kind wins, best first. The application's own settings name the server it
# really uses; in a Compose project directory the project's services beat local defaults.
TIER_APP_IN_PROJECT = 0
TIER_PROJECT = 1
TIER_LOCAL = 2
TIER_APP_ELSEWHERE = 3
TIER_CONTAINER = 4
#: The host of a server whose address is not known (a stopped container on a bridge network).
UNKNOWN_HOST = "unknown-address"


@dataclass(frozen=True, slots=True)
class Candidate:
    """One way to reach one server: the URL (password included: it is registered as a secret
    and redacted on every output), where it was found and by which route."""

    kind: str
    url: str
    #: Where it came from: "local defaults", "container erp-db-1", "docker-compose.yml service db".
    origin: str
    #: How it is reached: "unix socket …", "published port 127.0.0.1:5433", "host network", …
    route: str
    #: True: answering / running; False: its container is not running; None: unknown.
    running: bool | None = True
    project: str = ""
    service: str = ""
    container_id: str = ""
    container_name: str = ""
    #: The application setting that names this server ("DATABASE_URL of web"), if any.
    named_by: str = ""
    tier: int = TIER_LOCAL
    #: What else was learnt, for the listing ("password from POSTGRES_PASSWORD_FILE").
    notes: tuple[str, ...] = ()
    #: For the action layer: the Compose project directory and files of this service.
    working_dir: str = ""
    config_files: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        register_secret(password_of_url(self.url))
        register_url_secret(self.url)  # as written in the URL too, and its other spellings

    @property
    def usable(self) -> bool:
        """Has an address to connect to (a stopped bridge-network container has none)."""
        return UNKNOWN_HOST not in self.url

    @property
    def state(self) -> str:
        if self.running is True:
            return "running"
        if self.running is False:
            return "not running"
        return "state unknown"

    def lines(self) -> list[str]:
        """The listing of `zconsole discover`, passwords redacted."""
        where = self.origin
        if self.project and self.service:
            where += f" (Compose project {self.project}, service {self.service})"
        out = [f"{self.kind:<9}{self.url}", f"{'':9}from {where}", f"{'':9}route: {self.route}"]
        out.append(f"{'':9}{self.state}" + (f"; named by {self.named_by}" if self.named_by else ""))
        out += [f"{'':9}{note}" for note in self.notes]
        return [redact(line) for line in out]

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "url": redact(self.url),
            "origin": self.origin,
            "route": self.route,
            "state": self.state,
            "project": self.project,
            "service": self.service,
            "container": self.container_name,
            "named_by": self.named_by,
            "notes": [redact(n) for n in self.notes],
        }


def _rank(candidate: Candidate) -> tuple[int, int]:
    # A project's database that is down is still the one to show (its failure is the incident),
    # but a running one of the same tier comes first.
    return (candidate.tier, 0 if candidate.running is not False else 1)


@dataclass(frozen=True, slots=True)
class Discovery:
    """Every candidate found, and which one of each kind is used."""

    candidates: tuple[Candidate, ...]
    #: The Compose project directory that was read, if any.
    project_dir: str = ""
    project: str = ""
    #: What could not be read (an engine that did not answer, a YAML error), one line each.
    problems: tuple[str, ...] = ()

    def of_kind(self, kind: str) -> list[Candidate]:
        return sorted((c for c in self.candidates if c.kind == kind), key=_rank)

    def chosen(self, kind: str) -> Candidate | None:
        """The candidate used for ``kind``: the best ranked (every HTTP endpoint is used)."""
        found = [c for c in self.of_kind(kind) if c.usable]
        return found[0] if found else None

    def endpoints(self) -> list[Candidate]:
        return [c for c in self.of_kind("http") if c.usable]

    def config_layer(self, kinds: Iterable[str] = KINDS) -> dict[str, Any]:
        """The config keys discovery fills, for the lowest layer of config."""
        layer: dict[str, Any] = {}
        wanted = set(kinds)
        keys = {
            "postgres": ("postgres", "dsn"),
            "redis": ("redis", "url"),
            "mysql": ("mysql", "dsn"),
        }
        keys["docker"] = ("docker", "host")
        for kind, (section, key) in keys.items():
            chosen = self.chosen(kind)
            if kind in wanted and chosen is not None:
                layer[section] = {key: chosen.url}
                if kind == "postgres" and chosen.container_id:
                    layer[section]["container"] = chosen.container_name or chosen.container_id
        if "http" in wanted and self.endpoints():
            layer["http"] = {
                "endpoints": [
                    {"url": c.url, "name": f"{c.service or c.container_name} (discovered)"}
                    for c in self.endpoints()
                ]
            }
        return layer

    def how(self, kinds: Iterable[str] = KINDS) -> dict[str, str]:
        """How each source discovery fills was found: kind -> "origin via route"."""
        out: dict[str, str] = {}
        for kind in kinds:
            chosen = self.chosen(kind)
            if chosen is not None and kind != "http":
                out[kind] = redact(f"{chosen.origin} via {chosen.route}")
        endpoints = self.endpoints() if "http" in kinds else []
        if endpoints:
            n = len(endpoints)
            origins = ", ".join(dict.fromkeys(c.origin for c in endpoints))
            out["http"] = redact(f"{n} endpoint{'s' if n > 1 else ''} from {origins}")
        return out

    def summary(self, kinds: Iterable[str] = KINDS) -> str:
        """One line for config's list of sources: what was found, from where."""
        return "; ".join(f"{kind}: {text}" for kind, text in self.how(kinds).items())
