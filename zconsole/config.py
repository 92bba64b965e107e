"""Configuration: files, environment, named targets and CLI flags, merged into one typed Config.

Precedence, lowest first: built-in defaults (the runbooks' thresholds), the user config file
(``~/.config/zconsole/zconsole.toml``), ``./zconsole.toml``, the environment users already have
(DATABASE_URL, REDIS_URL, DOCKER_HOST, PG*), the ``[targets.NAME]`` chosen with ``--target``,
then CLI flags.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import msgspec
import platformdirs

from zconsole.checks.credentials import (
    UnsafeURL,
    register_mysql_dsn,
    register_pgpass,
    register_postgres_dsn,
    register_redis_url,
    register_url_secret,
)
from zconsole.checks.docker_settings import DockerSettings
from zconsole.checks.host_settings import HostSettings
from zconsole.checks.http_settings import HttpSettings
from zconsole.checks.incident import IncidentSettings
from zconsole.checks.mysql_settings import MySQLSettings, is_mysql_url
from zconsole.checks.postgres_settings import (
    PostgresSettings,
    dsn_from_environment,
    normalise_dsn,
)
from zconsole.checks.redis_settings import RedisSettings
from zconsole.checks.secrets import redact, register_secret
from zconsole.checks.text import plain
from zconsole.config_bounds import bounds_message, out_of_bounds
from zconsole.notify.settings import (
    AlertmanagerSettings,
    MetricsSettings,
    NotifySettingsError,
    NotifyTarget,
    check_listeners,
    register_settings_secrets,
)

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


class CustomAction(_Section, frozen=True):
    """A runbook command from config: an argv list, never a shell string."""

    name: str
    argv: list[str]
    risk: str = "disruptive"
    #: Which pane's selected row fills the {placeholders} ("" means no row needed).
    source: str = ""
    timeout: float = 30.0


class RecordingConfig(_Section, frozen=True):
    """The flight recorder (`zconsole record`, and the console while it runs)."""

    #: The console records too while it runs (unless a recorder already writes the file).
    enabled: bool = True
    #: The recording (SQLite); empty means beside the incident store / in the user data dir.
    path: str = ""
    #: Seconds between polls of `zconsole record` (the console keeps [general] interval).
    interval: float = 5.0
    #: Oldest kept, hours; and a size cap, MB: whichever comes first drops the oldest polls.
    retention_h: float = 24.0
    max_mb: float = 100.0


class WarroomConfig(_Section, frozen=True):
    """One collector, many screens: consoles attach to the collector's socket."""

    #: A console attaches to a running collector instead of polling (false: always poll).
    attach: bool = True
    #: The socket; empty means one per recording in the runtime dir (this user only). A shared
    #: path (/run/zconsole/attach.sock) with ``group`` lets that group's consoles attach.
    socket: str = ""
    #: A unix group whose members may attach besides this user and root.
    group: str = ""


class Target(_Section, frozen=True):
    """A named set of overrides chosen with --target."""

    general: dict[str, Any] = msgspec.field(default_factory=dict)
    host: dict[str, Any] = msgspec.field(default_factory=dict)
    docker: dict[str, Any] = msgspec.field(default_factory=dict)
    postgres: dict[str, Any] = msgspec.field(default_factory=dict)
    redis: dict[str, Any] = msgspec.field(default_factory=dict)
    http: dict[str, Any] = msgspec.field(default_factory=dict)
    mysql: dict[str, Any] = msgspec.field(default_factory=dict)
    incident: dict[str, Any] = msgspec.field(default_factory=dict)


class Config(_Section, frozen=True):
    """The effective config. Each source's section is the settings type beside its check
    (``zconsole.checks.<source>_settings``): config builds them, checks never import config."""

    general: GeneralConfig = msgspec.field(default_factory=GeneralConfig)
    host: HostSettings = msgspec.field(default_factory=HostSettings)
    docker: DockerSettings = msgspec.field(default_factory=DockerSettings)
    postgres: PostgresSettings = msgspec.field(default_factory=PostgresSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    http: HttpSettings = msgspec.field(default_factory=HttpSettings)
    mysql: MySQLSettings = msgspec.field(default_factory=MySQLSettings)
    incident: IncidentSettings = msgspec.field(default_factory=IncidentSettings)
    recording: RecordingConfig = msgspec.field(default_factory=RecordingConfig)
    warroom: WarroomConfig = msgspec.field(default_factory=WarroomConfig)
    actions: list[CustomAction] = msgspec.field(default_factory=list)
    #: Where status updates are posted, and the Alertmanager / Prometheus listeners.
    notify: list[NotifyTarget] = msgspec.field(default_factory=list)
    alertmanager: AlertmanagerSettings = msgspec.field(default_factory=AlertmanagerSettings)
    metrics: MetricsSettings = msgspec.field(default_factory=MetricsSettings)
    targets: dict[str, Target] = msgspec.field(default_factory=dict)
    #: Where each layer came from, for `zconsole config` (not a TOML key).
    sources: list[str] = msgspec.field(default_factory=list)
    #: Sources discovery filled, and how each was found (not a TOML key).
    discovered: dict[str, str] = msgspec.field(default_factory=dict)

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
    # A Laravel app's DATABASE_URL is often mysql://: that one is MySQL's, not PostgreSQL's.
    database_url = env.get("DATABASE_URL", "")
    if env.get("MYSQL_URL"):
        layer.setdefault("mysql", {})["dsn"] = env["MYSQL_URL"]
    elif is_mysql_url(database_url):
        layer.setdefault("mysql", {})["dsn"] = database_url
    if is_mysql_url(database_url):
        database_url = ""
    dsn = database_url or dsn_from_environment(env)
    if dsn:
        layer.setdefault("postgres", {})["dsn"] = dsn
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
        config = msgspec.convert(raw, Config)
    except msgspec.ValidationError as exc:
        raise ConfigError(redact(_validation_message(label, exc))) from None
    unknown = _unknown_key(raw, Config)
    if unknown:
        raise ConfigError(redact(f"{label}: {unknown}: unknown key"))
    # The DSN is worked out here, once: the check connects with exactly what config shows.
    dsn = normalise_dsn(config.postgres.dsn)
    if dsn != config.postgres.dsn:
        config = msgspec.structs.replace(
            config, postgres=dataclasses.replace(config.postgres, dsn=dsn)
        )
    return config


def _unknown_key(raw: object, kind: Any, where: str = "") -> str | None:
    """The first key of ``raw`` that ``kind`` has no field for, as ``section.key``.

    msgspec refuses unknown keys of its own Structs but not of dataclasses, and the sources'
    settings are dataclasses (checks/ does not depend on msgspec): a typo must still be an error.
    """
    origin, args = get_origin(kind), get_args(kind)
    if origin in (list, tuple) and isinstance(raw, list):
        return next((f for item in raw if (f := _unknown_key(item, args[0], where))), None)
    if origin is dict and isinstance(raw, Mapping):
        return next(
            (f for k, v in raw.items() if (f := _unknown_key(v, args[1], f"{where}.{k}"))), None
        )
    if args:  # X | None
        return next((f for arg in args if (f := _unknown_key(raw, arg, where))), None)
    is_record = dataclasses.is_dataclass(kind) or (
        isinstance(kind, type) and issubclass(kind, msgspec.Struct)
    )
    if not is_record or not isinstance(raw, Mapping):
        return None
    hints = get_type_hints(kind)
    for key, value in raw.items():
        path = f"{where}.{key}" if where else str(key)
        if key not in hints:
            return path
        found = _unknown_key(value, hints[key], path)
        if found:
            return found
    return None


def load_config(
    *,
    config_path: Path | None = None,
    target: str | None = None,
    flags: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    discovered: Mapping[str, Any] | None = None,
    discovered_how: Mapping[str, str] | None = None,
) -> Config:
    """Build the effective config. Raises ConfigError with one clear line.

    ``discovered``: what discovery found (``zconsole.discovery``), the lowest layer above the
    defaults: flags > environment > config files > discovery.
    """
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    merged: dict[str, Any] = {}
    sources = ["defaults"]
    how = dict(discovered_how or {})
    if discovered:
        _check_credentials(discovered, "discovered")
        merged = _merge(merged, discovered)
        label = "; ".join(f"{kind}: {text}" for kind, text in how.items())
        sources.append(f"discovered ({label})" if label else "discovered")

    files: list[Path]
    if config_path is not None:
        if not config_path.exists():
            raise ConfigError(f"{config_path}: no such file")
        files = [config_path]
    else:
        files = [p for p in (user_config_path(), cwd / CONFIG_NAME) if p.is_file()]
    for path in files:
        raw = _read_toml(path)
        # Validate each file on its own so the message names it.
        _check_bounds(_decode(raw, str(path)), str(path))
        _check_credentials(raw, str(path))
        merged = _merge(merged, raw)
        sources.append(str(path))

    env_layer = _env_layer(env)
    if env_layer:
        _check_credentials(env_layer, "", _ENV_NAMES)
        merged = _merge(merged, env_layer)
        sources.append("environment (" + ", ".join(_env_names(env_layer, env)) + ")")

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
        _check_bounds(_decode(dict(flags), "command line"), "command line", _FLAG_NAMES)
        _check_credentials(flags, "", _FLAG_NAMES)
        merged = _merge(merged, flags)
        sources.append("command line")

    merged["sources"] = sources
    merged["discovered"] = how
    label = " + ".join(sources[1:]) or "defaults"
    config = _decode(merged, label)
    _check_bounds(config, label)
    _register_secrets(config)
    try:
        register_settings_secrets(config.notify, config.alertmanager, env)
        check_listeners(config.alertmanager, config.metrics)
    except NotifySettingsError as exc:
        raise ConfigError(redact(f"{' + '.join(sources[1:]) or 'defaults'}: {exc}")) from None
    return config


def _env_names(layer: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    names = []
    if "postgres" in layer:
        own_url = env.get("DATABASE_URL") and not is_mysql_url(env["DATABASE_URL"])
        names.append("DATABASE_URL" if own_url else "PG*")
    if "mysql" in layer:
        names.append("MYSQL_URL" if env.get("MYSQL_URL") else "DATABASE_URL")
    if "redis" in layer:
        names.append("REDIS_URL")
    if "docker" in layer:
        names.append("DOCKER_HOST")
    return names


#: Where a value came from, named as its user wrote it.
_ENV_NAMES = {
    "postgres.dsn": "DATABASE_URL",
    "redis.url": "REDIS_URL",
    "mysql.dsn": "MYSQL_URL (or a mysql:// DATABASE_URL)",
}
_FLAG_NAMES = {
    "postgres.dsn": "--database-url",
    "redis.url": "--redis-url",
    "general.interval": "--interval",
}


def _check_bounds(config: Config, label: str, names: Mapping[str, str] | None = None) -> None:
    """Every number in its range (see config_bounds); else one line: file, key, range."""
    problem = out_of_bounds(msgspec.to_builtins(config))
    if problem is not None:
        key, value, bound = problem
        named = (names or {}).get(key)
        line = bounds_message(key, value, bound)
        raise ConfigError(f"{named}{line.removeprefix(key)}" if named else f"{label}: {line}")


_CREDENTIAL_KEYS = (
    ("postgres", "dsn", register_postgres_dsn),
    ("redis", "url", register_redis_url),
    ("mysql", "dsn", register_mysql_dsn),
)


def _check_credentials(
    layer: Mapping[str, Any], label: str, names: Mapping[str, str] | None = None
) -> None:
    """Register the passwords of one layer's DSNs as their drivers read them; an ambiguous one
    is one line naming its file (or variable, or flag) and key."""
    bodies: list[tuple[str, Mapping[str, Any]]] = [("", layer)]
    targets = layer.get("targets")
    if isinstance(targets, Mapping):
        bodies += [(f"targets.{n}.", t) for n, t in targets.items() if isinstance(t, Mapping)]
    for prefix, body in bodies:
        for section, key, register in _CREDENTIAL_KEYS:
            table = body.get(section)
            value = table.get(key) if isinstance(table, Mapping) else None
            if not isinstance(value, str):
                continue
            try:
                register(value)
            except UnsafeURL as exc:
                where = f"{prefix}{section}.{key}"
                named = (names or {}).get(where)
                line = f"{named}: {exc}" if named else f"{label}: {where}: {exc}"
                raise ConfigError(line) from None


def _register_secrets(config: Config) -> None:
    """Every other secret, registered once where it enters (the DSNs were, layer by layer)."""
    register_url_secret(config.docker.host)
    register_secret(os.environ.get("PGPASSWORD"))
    register_secret(os.environ.get("REDISCLI_AUTH"))
    if config.postgres.dsn:
        register_pgpass()
    if config.http.endpoints:
        # URL passwords, ?token= values and Authorization headers of the HTTP endpoints.
        from zconsole.checks.http_urls import register_endpoint_secrets

        for endpoint in config.http.endpoints:
            register_endpoint_secrets(endpoint)


def effective_toml(config: Config) -> str:
    """The effective config as TOML-ish text, every password redacted."""
    data = msgspec.to_builtins(config)
    sources = data.pop("sources", [])
    data.pop("discovered", None)
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
        elif section in ("actions", "notify"):
            for item in body:
                lines.append(f"\n[[{section}]]")
                lines += [f"{ik} = {_toml_value(iv)}" for ik, iv in item.items()]
        elif section == "targets":
            for name, target in body.items():
                for sub, values in target.items():
                    if values:
                        lines.append(f"\n[targets.{name}.{sub}]")
                        lines += [f"{k} = {_toml_value(v)}" for k, v in values.items()]
    # Redacted value by value before TOML escaping (an escaped quote would hide a password from
    # the search), then as a whole; outside text in it (an environment variable) made inert.
    return plain(redact("\n".join(lines))) + "\n"


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
    text = redact(str(value)).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
