"""Command line: `zconsole` (the TUI), `snapshot`, `config`, `--version`.

`snapshot` must never import Textual: it serves cron and monitoring (Nagios exit codes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from zconsole import __version__
from zconsole.checks.base import Snapshot, Status, now_utc, worst
from zconsole.checks.secrets import redact, redact_tree
from zconsole.config import Config, ConfigError, effective_toml, load_config

SNAPSHOT_VERSION = 1
EXIT_CONFIG = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zconsole",
        description="Terminal incident console: live service data, incident timeline and safe "
        "mitigations in one screen.",
    )
    parser.add_argument("--version", action="version", version=f"zconsole {__version__}")
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        help="config file (default: ./zconsole.toml, then the user config dir)",
    )
    parser.add_argument("-t", "--target", help="use [targets.NAME] from the config")
    parser.add_argument(
        "--read-only",
        action="store_true",
        default=None,
        help="disable every action (wallboard mode)",
    )
    parser.add_argument("--store", help="incident store (SQLite file)")
    parser.add_argument("--interval", type=float, help="seconds between polls")
    parser.add_argument("--database-url", help="PostgreSQL DSN (overrides DATABASE_URL)")
    parser.add_argument("--redis-url", help="Redis URL (overrides REDIS_URL)")
    parser.add_argument("--docker-host", help="Docker engine URL (overrides DOCKER_HOST)")
    parser.add_argument(
        "--project",
        type=Path,
        metavar="DIR",
        help="the Compose project to discover sources in (default: the current directory)",
    )
    parser.add_argument(
        "--no-discover",
        action="store_true",
        help="use only flags, environment and config files; look for nothing",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    snap = sub.add_parser(
        "snapshot", help="run every check once and print the result (exit 0/1/2/3)"
    )
    snap.add_argument("--json", action="store_true", help="machine-readable output (version 1)")
    sub.add_parser("config", help="print the effective config, passwords redacted")
    from zconsole.discover_cli import add_parser as add_discover

    add_discover(sub)
    _add_incident_commands(sub)
    restore = sub.add_parser(
        "redis-restore", help="put a purged Redis queue back, in order, from its purge file"
    )
    restore.add_argument("file", type=Path, help="the JSONL file the purge wrote")
    restore.add_argument(
        "--force", action="store_true", help="restore again, or into another server or db"
    )
    return parser


def _add_incident_commands(sub: Any) -> None:
    import importlib

    try:
        module = importlib.import_module("zconsole.incident_cli")
    except ImportError:  # built in the incident issue; absent in partial builds
        return
    module.add_parser(sub)


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
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config(config_path=args.config, target=args.target, flags=_flags(args))
        if args.command == "discover":
            from zconsole.discover_cli import discover_command

            return _exit(discover_command(config, args))
        if not args.no_discover and args.command in (None, "snapshot", "config", "redis-restore"):
            config = _with_discovery(config, args)
    except ConfigError as exc:
        print(f"zconsole: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    if args.command == "config":
        sys.stdout.write(effective_toml(config))
        return 0
    if args.command == "snapshot":
        return _exit(snapshot_command(config, as_json=args.json))
    if args.command == "redis-restore":
        from zconsole.mitigations.redis_restore import restore_command

        return _exit(restore_command(config, args.file, force=args.force))
    if args.command == "incidents":
        handler = args.handler
        return int(handler(config, args))
    return _exit(run_tui(config, target=args.target or ""))


def _with_discovery(config: Config, args: argparse.Namespace) -> Config:
    """Discovery fills what flags, environment and config files left unset (the lowest layer)."""
    from zconsole.discover_cli import discovered_layer

    layer, how = discovered_layer(config, args.project)
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


def run_tui(config: Config, *, target: str = "") -> int:
    from zconsole.app import ZConsoleApp
    from zconsole.registry import build_checks

    app = ZConsoleApp(config, build_checks(config), target=target, tune_gc=True)
    app.run()
    return int(app.return_code or 0)


def collect_snapshot(config: Config) -> dict[str, Any]:
    """Every check once; the documented JSON envelope (version 1)."""
    from zconsole.registry import build_checks
    from zconsole.scheduler import collect_all

    checks = build_checks(config, single_poll=True)
    snapshots: dict[str, Snapshot[Any]] = asyncio.run(collect_all(checks))
    configured = [s.status for s in snapshots.values() if s.configured]
    return {
        "version": SNAPSHOT_VERSION,
        "collected_at": now_utc().isoformat(),
        "hostname": socket.gethostname(),
        "worst": worst(configured).value,
        "checks": {name: snapshots[name].to_json() for name in (c.name for c in checks)},
        # Sources found with nothing configured, and how (e.g. "container erp-db-1 via host
        # network"); present only when discovery filled one.
        **({"discovered": dict(config.discovered)} if config.discovered else {}),
    }


def snapshot_command(config: Config, *, as_json: bool) -> int:
    report = collect_snapshot(config)
    if as_json:
        sys.stdout.write(json.dumps(redact_tree(report), indent=2) + "\n")
    else:
        lines = [f"{report['hostname']}: {report['worst'].upper()}"]
        for name, check in report["checks"].items():
            status = Status(check["status"])
            lines.append(
                f"  {status.symbol} {name:<9} {status.value.upper():<7} {check['summary']}"
            )
        sys.stdout.write(redact("\n".join(lines)) + "\n")
    return Status(report["worst"]).exit_code


if __name__ == "__main__":
    raise SystemExit(main())
