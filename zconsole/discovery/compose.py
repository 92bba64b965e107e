"""The Compose project on disk: ``docker-compose*.yml`` / ``compose*.yaml``, ``.env`` and
``env_file``, read into the same :class:`ServiceFacts` a container gives.

So a project whose database container will not start (or was never created) is still understood.
YAML is parsed by PyYAML's safe loader and ``.env`` files by python-dotenv (see pyproject); the
``${VAR}`` interpolation follows Compose's rules: the shell environment wins over ``.env``,
``${VAR:-default}`` / ``${VAR-default}`` / ``${VAR:?err}``, ``$$`` for a literal ``$``.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values

from zconsole.checks.secrets import register_secret
from zconsole.discovery.facts import ServiceFacts

#: The files ``docker compose`` reads by default, in its order of preference, then the override.
DEFAULT_FILES = ("compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml")
OVERRIDE_FILES = (
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yaml",
    "docker-compose.override.yml",
)
_VARIABLE = re.compile(
    r"\$(?:(?P<escaped>\$)|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<named>[A-Za-z_][A-Za-z0-9_]*))"
)
MAX_FILE = 1024 * 1024


class ComposeError(Exception):
    """A Compose file that cannot be read or parsed, as one line."""


@dataclass(frozen=True, slots=True)
class Project:
    name: str
    directory: Path
    files: tuple[Path, ...]
    services: tuple[ServiceFacts, ...]
    #: Problems met while reading (an env_file that is missing, a YAML error), one line each.
    problems: tuple[str, ...] = ()


def compose_files(directory: Path) -> list[Path]:
    """The files ``docker compose`` would read in ``directory``; when it has none of the default
    names, every ``docker-compose*.yml`` / ``compose*.yaml`` there (``docker-compose.prod.yml``)."""
    for name in DEFAULT_FILES:
        if (directory / name).is_file():
            files = [directory / name]
            files += [directory / o for o in OVERRIDE_FILES if (directory / o).is_file()][:1]
            return files
    found = sorted(
        p
        for pattern in (
            "docker-compose*.yml",
            "docker-compose*.yaml",
            "compose*.yml",
            "compose*.yaml",
        )
        for p in directory.glob(pattern)
        if p.is_file()
    )
    return list(dict.fromkeys(found))


def project_name(directory: Path, explicit: str = "") -> str:
    """Compose's default project name: the directory name, lower case, [a-z0-9_-] only."""
    name = explicit or os.environ.get("COMPOSE_PROJECT_NAME", "") or directory.name
    return re.sub(r"[^a-z0-9_-]", "", name.lower())


def interpolate(text: str, variables: Mapping[str, str | None]) -> str:
    def one(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("named")
        value = variables.get(name)
        op, arg = m.group("op"), m.group("arg") or ""
        if op in (":-", ":?"):
            return value if value else (arg if op == ":-" else "")
        if op in ("-", "?"):
            return value if value is not None else (arg if op == "-" else "")
        if op == ":+":
            return arg if value else ""
        if op == "+":
            return arg if value is not None else ""
        return value or ""

    return _VARIABLE.sub(one, text)


def _interpolate_tree(value: Any, variables: Mapping[str, str | None]) -> Any:
    if isinstance(value, str):
        return interpolate(value, variables)
    if isinstance(value, list):
        return [_interpolate_tree(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: _interpolate_tree(v, variables) for k, v in value.items()}
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        if path.stat().st_size > MAX_FILE:
            raise ComposeError(f"{path}: larger than {MAX_FILE // 1024} KiB, not read")
        data = yaml.safe_load(path.read_text(encoding="utf-8", errors="replace"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ComposeError(f"{path}:{where} YAML error: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise ComposeError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise ComposeError(f"{path}: not a Compose file (no mapping at the top)")
    return data


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _env_map(value: Any, variables: Mapping[str, str | None]) -> dict[str, str]:
    """``environment:`` as a mapping or a list of ``KEY=VALUE``; a bare ``KEY`` passes the
    shell's (or ``.env``'s) value through, as Compose does."""
    out: dict[str, str] = {}
    pairs: list[tuple[str, Any]] = []
    if isinstance(value, Mapping):
        pairs = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        for item in value:
            key, sep, val = str(item).partition("=")
            pairs.append((key, val if sep else None))
    for key, val in pairs:
        if val is None:
            passed = variables.get(key)
            if passed is not None:
                out[key] = passed
        else:
            out[key] = str(val).lower() if isinstance(val, bool) else str(val)
    return out


def _env_files(value: Any) -> list[tuple[str, bool]]:
    items = value if isinstance(value, list) else [value] if value else []
    out: list[tuple[str, bool]] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append((str(item.get("path", "")), bool(item.get("required", True))))
        else:
            out.append((str(item), True))
    return out


def _ports(value: Any) -> dict[int, tuple[str, int]]:
    """``ports:`` short ("127.0.0.1:5433:5432", "5433:5432/tcp") and long syntax."""
    out: dict[int, tuple[str, int]] = {}
    for item in value if isinstance(value, list) else []:
        if isinstance(item, Mapping):
            try:
                target, published = int(item["target"]), int(str(item.get("published", "")))
            except (KeyError, ValueError):
                continue
            out[target] = (str(item.get("host_ip", "")), published)
            continue
        spec = str(item).split("/", 1)[0]
        parts = spec.rsplit(":", 2) if not spec.startswith("[") else spec.split("]:", 1)
        try:
            if len(parts) == 3:
                out[int(parts[2])] = (parts[0].strip("[]"), int(parts[1]))
            elif len(parts) == 2:
                out[int(parts[1])] = ("", int(parts[0]))
        except ValueError:  # ranges ("8000-8010:8000-8010") are not a service's main port
            continue
    return out


def _command(value: Any) -> tuple[str, ...]:
    if isinstance(value, list):
        return tuple(str(v) for v in value)
    if isinstance(value, str):
        try:
            return tuple(shlex.split(value))
        except ValueError:
            return tuple(value.split())
    return ()


def _healthcheck(value: Any) -> tuple[str, ...]:
    if not isinstance(value, Mapping) or value.get("disable"):
        return ()
    test = value.get("test")
    if isinstance(test, list):
        return tuple(str(t) for t in test)
    if isinstance(test, str):
        return ("CMD-SHELL", test)
    return ()


def _secret_files(
    env: Mapping[str, str], secrets: Mapping[str, Any], directory: Path
) -> dict[str, str]:
    """``/run/secrets/NAME`` files the environment names, from the file the ``secrets:`` entry
    points at — where Compose itself takes them from, not a guess."""
    out: dict[str, str] = {}
    for var, path in env.items():
        if not var.endswith("_PASSWORD_FILE") or not path.startswith("/run/secrets/"):
            continue
        entry = secrets.get(path.removeprefix("/run/secrets/"))
        source = entry.get("file") if isinstance(entry, Mapping) else None
        if not source:
            continue
        try:
            text = (directory / str(source)).read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        register_secret(text.strip("\r\n"))
        out[path] = text
    return out


def load_project(
    directory: Path,
    files: Iterable[Path | str] = (),
    *,
    name: str = "",
    environ: Mapping[str, str] | None = None,
) -> Project:
    """Read the project in ``directory`` (``files`` as the labels name them, else the default
    ones). Raises ComposeError when no Compose file is there at all."""
    directory = directory.resolve()
    chosen = [Path(f) for f in files if Path(f).is_file()] or compose_files(directory)
    if not chosen:
        raise ComposeError(f"{directory}: no docker-compose.yml or compose.yaml here")
    environ = os.environ if environ is None else environ
    dot_env = directory / ".env"
    variables: dict[str, str | None] = {}
    if dot_env.is_file():
        variables.update(dotenv_values(dot_env, interpolate=True))
    variables.update(environ)  # the shell environment wins over .env, as in Compose
    problems: list[str] = []
    merged: dict[str, Any] = {}
    for path in chosen:
        try:
            merged = _merge(merged, _read_yaml(path))
        except ComposeError as exc:
            problems.append(str(exc))
    data = _interpolate_tree(merged, variables)
    project = project_name(directory, str(data.get("name") or ""))
    secrets = data.get("secrets") if isinstance(data.get("secrets"), Mapping) else {}
    services: list[ServiceFacts] = []
    raw_services = data.get("services")
    for service, body in (raw_services if isinstance(raw_services, Mapping) else {}).items():
        if not isinstance(body, Mapping):
            continue
        env: dict[str, str] = {}
        for env_file, required in _env_files(body.get("env_file")):
            path = directory / env_file
            if path.is_file():
                env.update({k: v or "" for k, v in dotenv_values(path).items()})
            elif required:
                problems.append(f"{path}: env_file of service {service} is missing")
        env.update(_env_map(body.get("environment"), variables))
        for key, value in env.items():
            if "PASSWORD" in key.upper() and not key.endswith("_FILE"):
                register_secret(value)
        networks = body.get("networks")
        aliases = {str(service)}
        if isinstance(networks, Mapping):
            for net in networks.values():
                if isinstance(net, Mapping):
                    aliases.update(str(a) for a in net.get("aliases") or ())
        if body.get("container_name"):
            aliases.add(str(body["container_name"]))
        services.append(
            ServiceFacts(
                name=str(service),
                image=str(body.get("image") or ""),
                command=(*_command(body.get("entrypoint")), *_command(body.get("command"))),
                env=env,
                network_mode=str(body.get("network_mode") or ""),
                published=_ports(body.get("ports")),
                healthcheck=_healthcheck(body.get("healthcheck")),
                running=None,
                project=project,
                service=str(service),
                working_dir=str(directory),
                config_files=tuple(str(p) for p in chosen),
                files=_secret_files(env, secrets or {}, directory),
                origin=f"{chosen[0].name} service {service}",
                aliases=tuple(sorted(aliases)),
            )
        )
    return Project(project, directory, tuple(chosen), tuple(services), tuple(problems))
