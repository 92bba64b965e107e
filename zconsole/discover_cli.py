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


class DiscoveryChild:
    """:func:`discovered_layer` in a child process, for the console's start.

    Discovery imports the YAML and dotenv parsers and the Docker client and asks the engine
    about every container: ~0.1-0.2 s of CPU, most of it imports, which a thread would only
    interleave with the app's own imports under the GIL. A child process runs it on another core
    while the console paints and imports Textual; :meth:`result` collects it just before the
    checks are built. The child's answer comes back through a pipe (never argv or the
    environment): the layer, how each source was found, and every secret discovery read, which
    the console registers as an in-process discovery would have. If the child fails, discovery
    runs here after all.
    """

    def __init__(self, config: Config, project: Path | None, *, spawn: bool | None = None) -> None:
        """``spawn``: use a child process (None: if a second core is free)."""
        import subprocess

        self._config = config
        self._project = project
        self.kinds = unset_kinds(config)
        self._child: subprocess.Popen[bytes] | None = None
        if not self.kinds or not (_second_core_free() if spawn is None else spawn):
            return  # discovery runs here, in result()
        request = {
            "kinds": self.kinds,
            "project": str(project or Path.cwd()),
            "docker_url": config.docker.host,
        }
        try:
            # -P: a directory named zconsole in the working directory must not shadow us.
            child = subprocess.Popen(
                [sys.executable, "-P", "-c", _CHILD_CODE],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            return  # discovery runs here, in result()
        assert child.stdin is not None and child.stdout is not None
        try:
            with child.stdin:
                child.stdin.write(json.dumps(request).encode())
        except OSError:
            child.kill()
            child.wait()
            child.stdout.close()
            return
        self._child = child

    @property
    def in_child(self) -> bool:
        """Whether discovery runs in a child process (else here, when its result is asked)."""
        return self._child is not None

    def result(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(config layer, how each of its sources was found), as :func:`discovered_layer`."""
        if not self.kinds:
            return {}, {}
        from zconsole.checks.secrets import register_secret

        answer: dict[str, Any] | None = None
        if self._child is not None:
            assert self._child.stdout is not None
            with self._child.stdout:
                out = self._child.stdout.read()
            if self._child.wait() == 0:
                try:
                    answer = json.loads(out)
                except ValueError:
                    answer = None
        if not isinstance(answer, dict):
            return discovered_layer(self._config, self._project)
        for secret in answer.get("secrets", []):
            register_secret(secret)
        # Redacted again here: with this process's secrets too, as discovery here would.
        how = {str(k): redact(str(v)) for k, v in dict(answer.get("how", {})).items()}
        return dict(answer.get("layer", {})), how


#: The child imports discovery only, not this module (which loads the config loader).
_CHILD_CODE = "from zconsole.discovery.child import main; main()"


def _second_core_free() -> bool:
    """A child process runs beside us only if there is a core for it: on one core, or on a
    machine whose load already fills its cores, it would only add its own start to ours."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    try:
        busy = os.getloadavg()[0]
    except OSError:
        busy = 0.0
    return cores >= 2 and busy < cores


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
