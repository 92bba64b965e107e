"""`zconsole incidents list | export ID | report`: the records side of the incident store.

Imported by ``zconsole.cli`` while building the parser, so it imports nothing heavy (no
Textual, no SQLite) until a subcommand runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from zconsole.checks.text import plain
from zconsole.config import Config
from zconsole.terminal import error, out

EXIT_STORE = 1
EXIT_USAGE = 2
#: Postmortem sections `incidents edit` can set (text; "-" reads it from stdin).
EDITABLE = (
    "title",
    "impact",
    "summary",
    "root_cause",
    "resolution",
    "detection",
    "action_items",
    "lessons",
)


def add_parser(subparsers: Any, parents: list[argparse.ArgumentParser] | None = None) -> None:
    """The `incidents` commands; ``parents`` carries the global options, so `incidents list
    --store X` works as `--store X incidents list` does."""
    parents = parents or []
    parser = subparsers.add_parser(
        "incidents", parents=parents, help="list, export and report incidents"
    )
    sub = parser.add_subparsers(dest="incidents_command", metavar="SUBCOMMAND", required=True)
    listing = sub.add_parser("list", parents=parents, help="every incident, newest last")
    listing.set_defaults(handler=list_command)
    export = sub.add_parser(
        "export",
        parents=parents,
        help="write the postmortem Markdown (or --json) to incidents/DATE-slug.md",
    )
    export.add_argument("id", help="incident ID, e.g. INC-2026-11-23-001")
    export.add_argument("--json", action="store_true", help="write JSON instead of Markdown")
    export.add_argument("--out", type=Path, help="directory (default: [incident] export_dir)")
    export.set_defaults(handler=export_command)
    edit = sub.add_parser(
        "edit",
        parents=parents,
        help="fill in the postmortem sections (summary, root cause, ...) of an incident",
    )
    edit.add_argument("id", help="incident ID")
    for name in EDITABLE:
        flag = "--" + name.replace("_", "-")
        edit.add_argument(flag, dest=name, metavar="TEXT", help=f"set {name.replace('_', ' ')}")
    edit.set_defaults(handler=edit_command)
    rep = sub.add_parser(
        "report", parents=parents, help="count by severity, time to acknowledge and resolve"
    )
    rep.add_argument("--since", default="30d", help="window, e.g. 30d, 12h, 2w (default 30d)")
    rep.set_defaults(handler=report_command)


def _store(config: Config) -> Any:
    from zconsole.store import IncidentStore, StoreUnavailable

    try:
        # A store this user may only read still lists and exports (a viewer's `incidents list`).
        return IncidentStore.open(config.general.store or None, read_only=config.general.read_only)
    except StoreUnavailable as exc:
        error(str(exc))
        return None


def list_command(config: Config, args: argparse.Namespace) -> int:
    store = _store(config)
    if store is None:
        return EXIT_STORE
    incidents = store.incidents()
    if not incidents:
        out("no incidents")
        return 0
    for incident in incidents:
        started = f"{incident.started_at:%Y-%m-%d %H:%M}"
        out(
            f"{incident.id}  {incident.severity:<3} {incident.status:<13} {started}  "
            f"{plain(incident.title, max_len=80, single_line=True)}"
        )
    return 0


def export_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.export import write_export

    store = _store(config)
    if store is None:
        return EXIT_STORE
    try:
        incident = store.get(args.id)
    except KeyError:
        error(f"no incident {args.id} in {store.path}")
        return EXIT_USAGE
    folder = args.out if args.out is not None else Path(config.incident.export_dir)
    recorded = None if args.json else _recorded_window(config, incident)
    path = write_export(
        incident, store.entries(incident.id), folder, as_json=args.json, recorded=recorded
    )
    out(str(path))
    return 0


def _recorded_window(config: Config, incident: Any) -> Any:
    """The flight recorder's view of the incident, when a recording exists; else None."""
    from datetime import UTC, datetime

    from zconsole.recording.db import RecordingError, recording_path
    from zconsole.recording.postmortem import window_of
    from zconsole.recording.reader import RecordingReader

    path = recording_path(config)
    if not path.exists():
        return None
    try:
        with RecordingReader(path) as reader:
            return window_of(reader, incident, datetime.now(UTC))
    except RecordingError as exc:
        print(f"zconsole: {exc} (exported without the recording)", file=sys.stderr)
        return None


def edit_command(config: Config, args: argparse.Namespace) -> int:
    fields = {name: getattr(args, name) for name in EDITABLE if getattr(args, name) is not None}
    if not fields:
        error("nothing to change (see --help)")
        return EXIT_USAGE
    for name, value in fields.items():
        if value == "-":
            fields[name] = sys.stdin.read()
    store = _store(config)
    if store is None:
        return EXIT_STORE
    try:
        store.get(args.id)
    except KeyError:
        error(f"no incident {args.id} in {store.path}")
        return EXIT_USAGE
    from zconsole.store import StoreUnavailable

    try:
        store.update_fields(args.id, **fields)
    except StoreUnavailable as exc:
        error(str(exc))
        return EXIT_STORE
    out(f"{args.id}: updated {', '.join(fields)}")
    return 0


def report_command(config: Config, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from zconsole.checks.incident import scheme_levels
    from zconsole.export import parse_since, report, report_text

    try:
        window = parse_since(args.since)
    except ValueError as exc:
        error(str(exc))
        return EXIT_USAGE
    store = _store(config)
    if store is None:
        return EXIT_STORE
    incidents = store.incidents(since=datetime.now(UTC) - window)
    rep = report(incidents, scheme_levels(config.incident.severity_scheme))
    out(report_text(rep, args.since))
    return 0
