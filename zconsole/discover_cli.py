"""`zconsole discover`: every candidate, where it came from and by which route; ``--write``.

Also the bridge from discovery to config: :func:`discovered_layer` fills only what flags, the
environment and the config files left unset (discovery is the lowest layer).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zconsole.checks.secrets import redact, redact_tree
from zconsole.config import Config
from zconsole.discovery.candidates import KINDS
from zconsole.terminal import error, out, safe

if TYPE_CHECKING:
    from zconsole.discovery import Discovery

#: What discovery fills when it is unset, per config section.
_UNSET: dict[str, Callable[[Config], bool]] = {
    "postgres": lambda c: not c.postgres.dsn,
    "redis": lambda c: not c.redis.url,
    # ~/.my.cnf is a config file: it outranks discovery, as the other config files do.
    "mysql": lambda c: (
        not c.mysql.dsn
        and not (
            Path(c.mysql.my_cnf).expanduser() if c.mysql.my_cnf else Path.home() / ".my.cnf"
        ).is_file()
    ),
    "docker": lambda c: c.docker.enabled and not c.docker.host,
    "http": lambda c: not c.http.endpoints,
}


def add_parser(sub: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    parser = sub.add_parser(
        "discover",
        parents=list(parents),
        help="list the PostgreSQL, Redis, MySQL, Docker and HTTP sources found unconfigured",
    )
    parser.add_argument(
        "--write", type=Path, metavar="FILE", help="write the chosen sources as a config file"
    )
    parser.add_argument("--json", action="store_true", help="machine-readable listing")


def unset_kinds(config: Config) -> list[str]:
    return [kind for kind in KINDS if _UNSET[kind](config)]


def run_discovery(config: Config, project: Path | None) -> Discovery:
    # Imported here: the YAML and dotenv parsers and the Docker client load only when
    # something is left to find (see zconsole.discovery).
    from zconsole.discovery import discover

    return discover(project_dir=project or Path.cwd(), docker_url=config.docker.host)


def discovered_layer(config: Config, project: Path | None) -> tuple[dict[str, Any], dict[str, str]]:
    """(config layer, how each of its sources was found) for what the config leaves unset."""
    kinds = unset_kinds(config)
    if not kinds:
        return {}, {}
    found = run_discovery(config, project)
    layer = found.config_layer(kinds)
    return layer, found.how([k for k in kinds if k in layer])


def render(found: Discovery) -> str:
    lines: list[str] = []
    if found.project:
        lines.append(f"Compose project {found.project} in {found.project_dir}")
    for kind in KINDS:
        candidates = found.of_kind(kind)
        chosen = found.chosen(kind)
        if not candidates:
            lines.append(f"\n{kind}: nothing found")
            continue
        lines.append(f"\n{kind}: {len(candidates)} found")
        for c in candidates:
            used = (kind == "http" and c.usable) or c is chosen
            mark = "→ used" if used else "  also"
            first, *rest = c.lines()
            lines.append(f"{mark} {first}")
            lines += [f"       {line}" for line in rest]
    if found.problems:
        lines.append("\nnot read:")
        lines += [f"  {p}" for p in found.problems]
    return redact("\n".join(lines)) + "\n"


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def config_text(found: Discovery) -> str:
    """A zconsole.toml of the chosen sources (passwords included: the file is mode 0600); the
    others as comments, redacted."""
    lines = ["# written by `zconsole discover --write`; the sources found, one of each kind."]
    sections = {"docker": ("docker", "host"), "postgres": ("postgres", "dsn")}
    sections["redis"] = ("redis", "url")
    for kind, (section, key) in sections.items():
        chosen = found.chosen(kind)
        if chosen is None:
            continue
        lines += ["", f"# {redact(chosen.origin)} via {redact(chosen.route)}", f"[{section}]"]
        lines.append(f"{key} = {_toml_string(chosen.url)}")
        if kind == "postgres" and chosen.container_id:
            container = chosen.container_name or chosen.container_id
            lines.append(f"container = {_toml_string(container)}")
        for other in found.of_kind(kind):
            if other is not chosen:
                lines.append(f"# also found: {redact(other.url)} ({redact(other.origin)})")
    for endpoint in found.endpoints():
        lines += ["", f"# {redact(endpoint.origin)} via {redact(endpoint.route)}"]
        lines += ["[[http.endpoints]]", f"url = {_toml_string(endpoint.url)}"]
        name = endpoint.service or endpoint.container_name
        if name:
            lines.append(f"name = {_toml_string(name)}")
    return "\n".join(lines) + "\n"


def write_config(found: Discovery, path: Path) -> None:
    """Create ``path`` with mode 0600 from the start (it holds passwords); never overwrite."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(config_text(found))


def discover_command(config: Config, args: argparse.Namespace) -> int:
    found = run_discovery(config, args.project)
    if args.json:
        report = {
            "project": found.project,
            "project_dir": found.project_dir,
            "chosen": {k: redact(c.url) for k in KINDS if (c := found.chosen(k)) and k != "http"},
            "candidates": [c.to_json() for c in found.candidates],
            "problems": list(found.problems),
        }
        sys.stdout.write(json.dumps(redact_tree(report), indent=2) + "\n")
    else:
        out(render(found))  # names from containers and Compose files: made inert
    if args.write is not None:
        try:
            write_config(found, args.write)
        except FileExistsError:
            error(f"{args.write} exists; not overwritten")
            return 2
        except OSError as exc:
            error(f"{args.write}: {exc.strerror or exc}")
            return 2
        sys.stderr.write(safe(f"wrote {args.write} (mode 0600: it holds passwords)") + "\n")
    return 0
