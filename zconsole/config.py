"""Configuration: files, environment, named targets and CLI flags, merged into one typed Config.

Precedence, lowest first: built-in defaults (the runbooks' thresholds), the user config file
(``~/.config/zconsole/zconsole.toml``), ``./zconsole.toml``, the environment users already have
(DATABASE_URL, REDIS_URL, DOCKER_HOST, PG*), the ``[targets.NAME]`` chosen with ``--target``,
then CLI flags.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import msgspec
import platformdirs

from zconsole.checks.secrets import password_of_url, redact, register_secret

CONFIG_NAME = "zconsole.toml"


class ConfigError(Exception):
    """A config problem, as one line: file, key, what is wrong."""


class _Section(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    pass


class GeneralConfig(_Section, frozen=True):
    #: Seconds between polls of each check (each section may override).
    interval: float = 2.0
    #: Hard timeout of one poll, seconds.
    timeout: float = 5.0
    #: Disable every action (the war-room wallboard runs this way).
    read_only: bool = False
    #: Incident store (SQLite); empty means the user data dir.
    store: str = ""


class HostConfig(_Section, frozen=True):
    interval: float | None = None
    timeout: float | None = None
    # Runbooks: "CPU > 80 %", "memory > 85 %", "disk > 90 %".
    cpu_warn: float = 80.0
    cpu_crit: float = 95.0
    memory_warn: float = 85.0
    memory_crit: float = 95.0
    swap_warn: float = 50.0
    swap_crit: float = 90.0
    disk_warn: float = 80.0
    disk_crit: float = 90.0
    #: Load average per core that counts as overloaded.
    load_warn_per_core: float = 1.5
    load_crit_per_core: float = 3.0
    #: Per-mount timeout: a dead network filesystem must not freeze the pane.
    mount_timeout: float = 1.0
    #: Globs of log files the "delete old logs" mitigation may remove.
    log_globs: list[str] = msgspec.field(default_factory=list)
    log_max_age_days: int = 7
    # Host pane in depth (issue 7).
    #: Runbook: `journalctl --vacuum-time=1d`.
    journal_max_age_days: int = 1
    #: tmpfs is RAM, not disk: hidden unless asked for.
    include_tmpfs: bool = False
    #: Mount points always shown / never shown, whatever their filesystem type.
    include_mounts: list[str] = msgspec.field(default_factory=list)
    exclude_mounts: list[str] = msgspec.field(default_factory=list)
    #: Rolling window for a disk's fill rate and "full in about X", seconds.
    growth_window_s: float = 600.0
    #: How many processes each top list (by CPU, by memory) holds.
    top_processes: int = 8


class DockerConfig(_Section, frozen=True):
    enabled: bool = True
    #: Engine URL; empty means DOCKER_HOST or the default unix socket.
    host: str = ""
    interval: float | None = None
    timeout: float | None = None
    log_lines: int = 200
    #: What counts as an error line for the error-rate figure.
    error_pattern: str = r"(?i)\b(error|exception|traceback|fatal|panic)\b"
    #: One stats stream per running container up to this many (more show no CPU/memory).
    max_stats_streams: int = 500
    #: `zconsole snapshot` only (one poll is all it gets): seconds to wait for two stats samples
    #: so CPU % is known; capped at 60 % of the timeout. The console never waits: its list shows
    #: at once and CPU/memory arrive on the next refresh.
    first_stats_wait: float = 3.0


class PostgresConfig(_Section, frozen=True):
    #: libpq DSN or URL; empty means DATABASE_URL, then PG* environment variables.
    dsn: str = ""
    interval: float | None = None
    timeout: float | None = None
    connections_warn_pct: float = 80.0
    connections_crit_pct: float = 95.0
    #: A session active longer than this is a "long query" (runbooks: slow query > 1 s).
    long_query_s: float = 1.0
    #: Statement timeout of the console's own queries, milliseconds.
    statement_timeout_ms: int = 3000
    statements_top: int = 10
    #: Bulk "terminate long queries" default (runbooks: kill long-running queries > 5 min).
    kill_long_after_min: float = 5.0
    #: Bulk "terminate idle-in-transaction sessions" default, minutes in that state.
    kill_idle_tx_after_min: float = 5.0
    #: Where the emergency pg_dump writes its file ("" means the current directory).
    dump_dir: str = ""


class RedisConfig(_Section, frozen=True):
    #: redis:// or rediss:// URL; empty means REDIS_URL.
    url: str = ""
    interval: float | None = None
    timeout: float | None = None
    celery_queues: list[str] = msgspec.field(default_factory=lambda: ["celery"])
    lists: list[str] = msgspec.field(default_factory=list)
    streams: list[str] = msgspec.field(default_factory=list)
    discover_rq: bool = True
    # Runbooks: "queue > 1000" warn; "5000+" is the named backlog incident.
    queue_warn: int = 1000
    queue_crit: int = 5000
    memory_warn_pct: float = 85.0
    memory_crit_pct: float = 95.0
    #: Growth per minute is the slope over this many seconds of polls (a backlog trend, not noise).
    rate_window_s: float = 300.0
    #: Slowlog entries shown (SLOWLOG GET n).
    slowlog_top: int = 5
    #: Big-key scan stops after this many keys (SCAN, never KEYS) so a huge db is sampled.
    bigkeys_max_scan: int = 100_000


class EndpointConfig(_Section, frozen=True):
    url: str
    name: str = ""
    expect_status: int | None = None
    expect_text: str = ""
    follow_redirects: bool = False
    timeout: float = 5.0
    #: Verify the TLS chain (turn off only for self-signed internal endpoints).
    verify: bool = True
    #: CA bundle (PEM) for endpoints signed by a private CA; empty means the default bundle.
    ca_file: str = ""
    #: Extra request headers, e.g. the runbooks' `curl -H "Authorization: Bearer TOKEN"`.
    #: Values of credential-looking headers are registered as secrets and never shown.
    headers: dict[str, str] = msgspec.field(default_factory=dict)


class HttpConfig(_Section, frozen=True):
    endpoints: list[EndpointConfig] = msgspec.field(default_factory=list)
    interval: float | None = None
    timeout: float | None = None
    latency_warn_ms: float = 1000.0
    cert_warn_days: float = 14.0
    cert_crit_days: float = 3.0


class CustomAction(_Section, frozen=True):
    """A runbook command from config: an argv list, never a shell string."""

    name: str
    argv: list[str]
    risk: str = "disruptive"
    #: Which pane's selected row fills the {placeholders} ("" means no row needed).
    source: str = ""
    timeout: float = 30.0


class IncidentConfig(_Section, frozen=True):
    #: "P0-P3" (default, most runbooks) or "P1-P4".
    severity_scheme: Literal["P0-P3", "P1-P4"] = "P0-P3"
    #: Minutes between status updates per severity index (most severe first).
    update_every_min: list[float] = msgspec.field(default_factory=lambda: [15.0, 15.0, 60.0, 240.0])
    #: Response and resolution targets, minutes, per severity index (runbooks' P0..P3).
    respond_min: list[float] = msgspec.field(default_factory=lambda: [15.0, 60.0, 240.0, 1440.0])
    resolve_min: list[float] = msgspec.field(default_factory=lambda: [120.0, 480.0, 1440.0, 7200.0])
    commander: str = ""
    export_dir: str = "incidents"
    #: A check must stay crit (or recovered) this many seconds before the timeline hears of it.
    hysteresis_s: float = 30.0


class Target(_Section, frozen=True):
    """A named set of overrides chosen with --target."""

    general: dict[str, Any] = msgspec.field(default_factory=dict)
    host: dict[str, Any] = msgspec.field(default_factory=dict)
    docker: dict[str, Any] = msgspec.field(default_factory=dict)
    postgres: dict[str, Any] = msgspec.field(default_factory=dict)
    redis: dict[str, Any] = msgspec.field(default_factory=dict)
    http: dict[str, Any] = msgspec.field(default_factory=dict)
    incident: dict[str, Any] = msgspec.field(default_factory=dict)


class Config(_Section, frozen=True):
    general: GeneralConfig = msgspec.field(default_factory=GeneralConfig)
    host: HostConfig = msgspec.field(default_factory=HostConfig)
    docker: DockerConfig = msgspec.field(default_factory=DockerConfig)
    postgres: PostgresConfig = msgspec.field(default_factory=PostgresConfig)
    redis: RedisConfig = msgspec.field(default_factory=RedisConfig)
    http: HttpConfig = msgspec.field(default_factory=HttpConfig)
    incident: IncidentConfig = msgspec.field(default_factory=IncidentConfig)
    actions: list[CustomAction] = msgspec.field(default_factory=list)
    targets: dict[str, Target] = msgspec.field(default_factory=dict)
    #: Where each layer came from, for `zconsole config` (not a TOML key).
    sources: list[str] = msgspec.field(default_factory=list)

    def interval_of(self, section: str) -> float:
        value = getattr(getattr(self, section), "interval", None)
        return float(value) if value is not None else self.general.interval

    def timeout_of(self, section: str) -> float:
        value = getattr(getattr(self, section), "timeout", None)
        return float(value) if value is not None else self.general.timeout


def user_config_path() -> Path:
    return Path(platformdirs.user_config_dir("zconsole")) / CONFIG_NAME


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: TOML syntax error: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge tables; lists and scalars in `over` replace those in `base`."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_layer(env: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    if env.get("DATABASE_URL"):
        layer.setdefault("postgres", {})["dsn"] = env["DATABASE_URL"]
    elif any(env.get(k) for k in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER", "PGSERVICE")):
        # libpq reads PG* itself: an empty DSN plus a marker that postgres is configured.
        layer.setdefault("postgres", {})["dsn"] = "libpq:env"
    if env.get("REDIS_URL"):
        layer.setdefault("redis", {})["url"] = env["REDIS_URL"]
    if env.get("DOCKER_HOST"):
        layer.setdefault("docker", {})["host"] = env["DOCKER_HOST"]
    return layer


def _validation_message(path_label: str, exc: msgspec.ValidationError) -> str:
    text = str(exc)
    # msgspec says e.g. "Object contains unknown field `dsnn` - at `$.postgres`"
    where = ""
    if " - at `" in text:
        text, _, loc = text.partition(" - at `")
        where = loc.rstrip("`").removeprefix("$").lstrip(".")
    unknown = "Object contains unknown field `"
    if text.startswith(unknown):
        key = text[len(unknown) :].rstrip("`")
        where = f"{where}.{key}" if where else key
        text = "unknown key"
    elif text.startswith("Object missing required field `"):
        key = text[len("Object missing required field `") :].rstrip("`")
        where = f"{where}.{key}" if where else key
        text = "required key is missing"
    else:
        text = "wrong type: " + text[0].lower() + text[1:]
    return f"{path_label}: {where or '(top level)'}: {text}"


def _decode(raw: dict[str, Any], label: str) -> Config:
    try:
        return msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(redact(_validation_message(label, exc))) from None


def load_config(
    *,
    config_path: Path | None = None,
    target: str | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Config:
    """Build the effective config. Raises ConfigError with one clear line."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    merged: dict[str, Any] = {}
    sources = ["defaults"]

    files: list[Path]
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(f"{config_path}: no such file")
        files = [config_path]
    else:
        files = [p for p in (user_config_path(), cwd / CONFIG_NAME) if p.is_file()]
    for path in files:
        raw = _read_toml(path)
        _decode(raw, str(path))  # validate each file on its own so the message names it
        merged = _merge(merged, raw)
        sources.append(str(path))

    env_layer = _env_layer(env)
    if env_layer:
        merged = _merge(merged, env_layer)
        sources.append("environment (" + ", ".join(_env_names(env_layer)) + ")")

    if target:
        targets = merged.get("targets", {})
        if target not in targets:
            known = ", ".join(sorted(targets))
            defined = f"defined: {known}" if known else "no [targets.NAME] defined at all"
            raise ConfigError(f"--target {target}: no [targets.{target}] in config ({defined})")
        chosen = {k: v for k, v in targets[target].items() if v}
        merged = _merge(merged, chosen)
        sources.append(f"[targets.{target}]")

    if flags:
        merged = _merge(merged, flags)
        sources.append("command line")

    merged["sources"] = sources
    config = _decode(merged, " + ".join(sources[1:]) or "defaults")
    _register_secrets(config)
    return config


def _env_names(layer: Mapping[str, Any]) -> list[str]:
    names = []
    if "postgres" in layer:
        names.append("DATABASE_URL" if layer["postgres"]["dsn"] != "libpq:env" else "PG*")
    if "redis" in layer:
        names.append("REDIS_URL")
    if "docker" in layer:
        names.append("DOCKER_HOST")
    return names


def _register_secrets(config: Config) -> None:
    from urllib.parse import quote

    for url in (config.postgres.dsn, config.redis.url, config.docker.host):
        password = password_of_url(url)
        if password:
            register_secret(password)
            register_secret(quote(password, safe=""))
    # libpq keyword DSN: password=...
    for part in config.postgres.dsn.split():
        if part.lower().startswith("password="):
            register_secret(part.split("=", 1)[1].strip("'\""))
    for target in config.targets.values():
        for section in (target.postgres, target.redis):
            for value in section.values():
                if isinstance(value, str):
                    register_secret(password_of_url(value))
    register_secret(os.environ.get("PGPASSWORD"))
    register_secret(os.environ.get("REDISCLI_AUTH"))
    if config.http.endpoints:
        # URL passwords, ?token= values and Authorization headers of the HTTP endpoints.
        from zconsole.checks.http_urls import register_endpoint_secrets

        for endpoint in config.http.endpoints:
            register_endpoint_secrets(endpoint)


def effective_toml(config: Config) -> str:
    """The effective config as TOML-ish text, every password redacted."""
    data = msgspec.to_builtins(config)
    sources = data.pop("sources", [])
    lines = ["# effective zconsole config; sources, lowest precedence first:"]
    lines += [f"#   {s}" for s in sources]
    for section, body in data.items():
        if isinstance(body, dict) and section != "targets":
            lines.append(f"\n[{section}]")
            lines += [
                f"{k} = {_toml_value(v)}"
                for k, v in body.items()
                if not isinstance(v, list) or not v or not isinstance(v[0], dict)
            ]
            for k, v in body.items():
                if isinstance(v, list) and v and isinstance(v[0], dict):
                    for item in v:
                        lines.append(f"\n[[{section}.{k}]]")
                        lines += [f"{ik} = {_toml_value(iv)}" for ik, iv in item.items()]
        elif section == "actions":
            for item in body:
                lines.append("\n[[actions]]")
                lines += [f"{ik} = {_toml_value(iv)}" for ik, iv in item.items()]
        elif section == "targets":
            for name, target in body.items():
                for sub, values in target.items():
                    if values:
                        lines.append(f"\n[targets.{name}.{sub}]")
                        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    return redact("\n".join(lines)) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if value is None:
        return '""  # unset'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
