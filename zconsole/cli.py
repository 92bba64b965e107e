"""Command line: `zconsole` (the TUI), `snapshot`, `config`, `--version`.

`snapshot` must never import Textual: it serves cron and monitoring (Nagios exit codes).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zconsole import __version__, first_paint
from zconsole.malloc_arenas import fewer_malloc_arenas

# The first paint's CPU figure is measured from here, as early as the process can (one read of
# /proc/stat): the imports, the parser and the config load then cover the sample's length.
_CPU_AT_IMPORT = first_paint.cpu_sample()

from zconsole.config import Config, ConfigError, effective_toml, load_config  # noqa: E402
from zconsole.terminal import error, out, safe  # noqa: E402

if TYPE_CHECKING:
    from zconsole.checks.base import Snapshot
    from zconsole.first_paint import FirstPaint

# The console's start path imports only what the first paint needs (argparse, the config and
# psutil): asyncio, the snapshot records and the redactor's tree walk are imported by the
# commands that use them, and Textual after the first paint.

SNAPSHOT_VERSION = 1
#: A config that cannot be used: 2 for the console and every command but `snapshot` ...
EXIT_CONFIG = 2
#: ... which says UNKNOWN, as a Nagios plugin does when it cannot run its check (2 would
#: page someone for a CRITICAL service that may be fine).
EXIT_SNAPSHOT_CONFIG = 3


def _global_options(parser: argparse.ArgumentParser, *, default: Any = None) -> None:
    """The options every command shares. Subcommands take them too (``incidents list --store
    X``) with SUPPRESS as default, so one given before the subcommand is not reset by it."""
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=default,
        help="config file (default: ./zconsole.toml, then the user config dir)",
    )
    parser.add_argument(
        "-t", "--target", default=default, help="use [targets.NAME] from the config"
    )
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=default,
        help="disable every action (wallboard mode)",
    )
    parser.add_argument("--store", default=default, help="incident store (SQLite file)")
    parser.add_argument("--interval", type=float, default=default, help="seconds between polls")
    parser.add_argument(
        "--database-url", default=default, help="PostgreSQL DSN (overrides DATABASE_URL)"
    )
    parser.add_argument("--redis-url", default=default, help="Redis URL (overrides REDIS_URL)")
    parser.add_argument(
        "--docker-host", default=default, help="Docker engine URL (overrides DOCKER_HOST)"
    )
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        default=default,
        help="the Compose project to discover sources in (default: the current directory)",
    )
    parser.add_argument(
        "--no-discover",
        action="store_true",
        default=default,
        help="use only flags, environment and config files; look for nothing",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zconsole",
        description="Terminal incident console: live service data, incident timeline and safe "
        "mitigations in one screen.",
    )
    parser.add_argument("--version", action="version", version=f"zconsole {__version__}")
    _global_options(parser)
    shared = argparse.ArgumentParser(add_help=False)
    _global_options(shared, default=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    snap = sub.add_parser(
        "snapshot",
        parents=[shared],
        help="run every check once and print the result (exit 0/1/2/3)",
    )
    snap.add_argument("--json", action="store_true", help="machine-readable output (version 1)")
    snap.add_argument(
        "--at", metavar="TIME", help="the recorded state at TIME (-15m, 03:12, ISO) instead"
    )
    sub.add_parser(
        "config", parents=[shared], help="print the effective config, passwords redacted"
    )
    from zconsole.discover_cli import add_parser as add_discover

    add_discover(sub, parents=[shared])
    _add_incident_commands(sub, shared)
    from zconsole import recording_cli

    recording_cli.add_parser(sub, parents=[shared])
    from zconsole.attach import serve

    serve.add_parser(sub, parents=[shared])
    restore = sub.add_parser(
        "redis-restore",
        parents=[shared],
        help="put a purged Redis queue back, in order, from its purge file",
    )
    restore.add_argument("file", type=Path, help="the JSONL file the purge wrote")
    restore.add_argument(
        "--force", action="store_true", help="restore again, or into another server or db"
    )
    return parser


def _add_incident_commands(sub: Any, shared: argparse.ArgumentParser) -> None:
    import importlib

    try:
        module = importlib.import_module("zconsole.incident_cli")
    except ImportError:  # built in the incident issue; absent in partial builds
        return
    module.add_parser(sub, parents=[shared])


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    flags: dict[str, Any] = {}
    if args.read_only:
        flags.setdefault("general", {})["read_only"] = True
    if args.store:
        flags.setdefault("general", {})["store"] = args.store
    if args.interval is not None:
        flags.setdefault("general", {})["interval"] = args.interval
    if args.database_url:
        flags.setdefault("postgres", {})["dsn"] = args.database_url
    if args.redis_url:
        flags.setdefault("redis", {})["url"] = args.redis_url
    if args.docker_host:
        flags.setdefault("docker", {})["host"] = args.docker_host
    return flags


def main(argv: Sequence[str] | None = None) -> int:
    # Before any thread (the first paint's statvfs, the checks) allocates: each would get an
    # arena of its own.
    fewer_malloc_arenas()
    cpu_at_start = _CPU_AT_IMPORT
    if cpu_at_start is None or first_paint.stale(cpu_at_start):
        cpu_at_start = first_paint.cpu_sample()  # main() called long after the import
    from zconsole.recording_cli import glue_relative_times

    parser = build_parser()
    args = parser.parse_args(glue_relative_times(sys.argv[1:] if argv is None else argv))
    # The console on a real terminal: the first paint once the config has loaded (see
    # zconsole.first_paint).
    paint = first_paint.begin(cpu_at_start) if args.command is None else None
    try:
        config = load_config(config_path=args.config, target=args.target, flags=_flags(args))
        if args.command == "discover":
            from zconsole.discover_cli import discover_command

            return _exit(discover_command(config, args))
        if paint is not None:
            return _exit(_start_console(config, args, paint))
        if not args.no_discover and args.command in (
            None,
            "snapshot",
            "config",
            "redis-restore",
            "serve",
        ):
            config = _with_discovery(config, args)
    except ConfigError as exc:
        error(str(exc))
        return EXIT_SNAPSHOT_CONFIG if args.command == "snapshot" else EXIT_CONFIG
    if args.command == "config":
        out(effective_toml(config))
        return 0
    if args.command == "snapshot" and args.at:
        from zconsole.recording_cli import snapshot_at_command

        return _exit(snapshot_at_command(config, args.at, as_json=args.json))
    if args.command == "snapshot":
        return _exit(snapshot_command(config, as_json=args.json))
    if args.command == "redis-restore":
        from zconsole.mitigations.redis_restore import restore_command

        return _exit(restore_command(config, args.file, force=args.force))
    if args.command in ("incidents", "history"):
        handler = args.handler
        return int(handler(config, args))
    if args.command in ("record", "serve"):
        return _exit(int(args.handler(config, args)))
    return _exit(run_tui(config, target=args.target or ""))


def _start_console(config: Config, args: argparse.Namespace, paint: FirstPaint) -> int:
    """The TUI on a real terminal: the first paint, then discovery, then the app. Whatever
    fails after the first paint, the user's screen comes back before the error is shown."""
    try:
        first_paint.show(paint, config.host)
        if not args.no_discover:
            from zconsole.discover_cli import DiscoveryChild

            # On another core while this one imports the app; collected before the checks
            # are built from the config it completes.
            child = DiscoveryChild(config, args.project)
            import zconsole.app  # noqa: F401 - the import discovery runs beside

            config = _with_layer(config, args, *child.result())
        return run_tui(config, target=args.target or "", paint=paint)
    except ConfigError as exc:
        paint.restore()
        error(str(exc))
        return EXIT_CONFIG
    finally:
        paint.restore()


def _with_discovery(config: Config, args: argparse.Namespace) -> Config:
    """Discovery fills what flags, environment and config files left unset (the lowest layer)."""
    from zconsole.discover_cli import discovered_layer, unset_kinds

    if not unset_kinds(config):
        return config  # every source named: discovery is not even imported
    return _with_layer(config, args, *discovered_layer(config, args.project))


def _with_layer(
    config: Config, args: argparse.Namespace, layer: dict[str, Any], how: dict[str, str]
) -> Config:
    """The config again, with discovery's layer under the others."""
    if not layer:
        return config
    return load_config(
        config_path=args.config,
        target=args.target,
        flags=_flags(args),
        discovered=layer,
        discovered_how=how,
    )


def _exit(code: int) -> int:
    """Leave without waiting for a check thread stuck in a hung backend."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_tui(config: Config, *, target: str = "", paint: FirstPaint | None = None) -> int:
    from zconsole.app import ZConsoleApp
    from zconsole.registry import build_checks

    # A browser tab of `zconsole serve` says so to the others attached (their headers).
    attach_as = os.environ.get("ZCONSOLE_ATTACH_AS", "console")
    app = ZConsoleApp(
        config, build_checks(config), target=target, tune_gc=True, attach_as=attach_as
    )
    first_paint.hand_over(app, paint)
    try:
        app.run()
    finally:
        if paint is not None:
            paint.restore()  # a no-op once the app's driver took the screen
    return int(app.return_code or 0)


def collect_snapshot(config: Config) -> dict[str, Any]:
    """Every check once; the documented JSON envelope (version 1)."""
    import asyncio

    from zconsole.registry import build_checks
    from zconsole.scheduler import collect_all

    checks = build_checks(config, single_poll=True)
    snapshots: dict[str, Snapshot[Any]] = asyncio.run(collect_all(checks))
    return snapshot_report([c.name for c in checks], snapshots, config.discovered)


def snapshot_report(
    names: Sequence[str],
    snapshots: Mapping[str, Snapshot[Any]],
    discovered: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON envelope of one round of snapshots, in pane order."""
    import socket

    from zconsole.checks.base import now_utc, worst

    configured = [s.status for s in snapshots.values() if s.configured]
    return {
        "version": SNAPSHOT_VERSION,
        "collected_at": now_utc().isoformat(),
        "hostname": socket.gethostname(),
        "worst": worst(configured).value,
        "checks": {name: snapshots[name].to_json() for name in names},
        # Sources found with nothing configured, and how (e.g. "container erp-db-1 via host
        # network"); present only when discovery filled one.
        **({"discovered": dict(discovered)} if discovered else {}),
    }


def render_snapshot(report: Mapping[str, Any], *, as_json: bool) -> str:
    """What `zconsole snapshot` prints: JSON (redacted, escapes as \\u001b) or plain lines."""
    import json

    from zconsole.checks.base import Status
    from zconsole.checks.secrets import redact_tree
    from zconsole.checks.text import plain

    if as_json:
        return json.dumps(redact_tree(report), indent=2) + "\n"
    lines = [f"{report['hostname']}: {report['worst'].upper()}"]
    for name, check in report["checks"].items():
        status = Status(check["status"])
        # The summary carries outside text (a queue name): one line, inert.
        summary = plain(check["summary"], single_line=True)
        lines.append(f"  {status.symbol} {name:<9} {status.value.upper():<7} {summary}")
    return safe("\n".join(lines)) + "\n"


def snapshot_command(config: Config, *, as_json: bool) -> int:
    from zconsole.checks.base import Status

    report = collect_snapshot(config)
    sys.stdout.write(render_snapshot(report, as_json=as_json))
    return Status(report["worst"]).exit_code


if __name__ == "__main__":
    raise SystemExit(main())
