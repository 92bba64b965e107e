"""`zconsole incidents list | export ID | report | declare | note | status | update`: the
incident store from the command line, for scripts and chat-ops.

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

#: Kept in step with zconsole.incident / zconsole.updates (a test says so); spelled out here so
#: that building the parser imports nothing.
STATUSES = ("investigating", "identified", "monitoring", "resolved")
UPDATE_KINDS = ("detected", "update", "resolved")
UPDATE_FORMATS = ("slack", "plain")
#: `incidents update --post`: something is still waiting in the outbox.
EXIT_QUEUED = 1

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
    _add_lifecycle_parsers(sub)


def _add_lifecycle_parsers(sub: Any) -> None:
    declare = sub.add_parser("declare", help="declare an incident; prints its ID")
    declare.add_argument("--title", required=True, help="what is wrong, in a few words")
    declare.add_argument("--severity", required=True, help="P0..P3 (or P1..P4, see the scheme)")
    declare.add_argument("--impact", default="", help="who is affected and how")
    declare.add_argument(
        "--service", action="append", default=[], dest="services", help="affected service"
    )
    declare.add_argument("--commander", default="", help="incident commander")
    declare.set_defaults(handler=declare_command)
    note = sub.add_parser("note", help="add a note to an incident's timeline")
    note.add_argument("id", help="incident ID")
    note.add_argument("text", help='the note ("-" reads it from stdin)')
    note.set_defaults(handler=note_command)
    status = sub.add_parser("status", help="change status (status pages follow it)")
    status.add_argument("id", help="incident ID")
    status.add_argument("status", choices=STATUSES)
    status.set_defaults(handler=status_command)
    update = sub.add_parser(
        "update", help="print the status update from the runbooks' template; --post sends it"
    )
    update.add_argument("id", help="incident ID")
    update.add_argument("--kind", choices=UPDATE_KINDS, help="default: from the incident")
    update.add_argument("--format", choices=UPDATE_FORMATS, default="slack", dest="fmt")
    update.add_argument(
        "--post",
        action="store_true",
        help="record it in the timeline and post it to every [[notify]] receiver",
    )
    update.set_defaults(handler=update_command)
    outbox = sub.add_parser(
        "outbox", help="posts that wait for their receiver (or were rejected); --send retries"
    )
    outbox.add_argument(
        "--send", action="store_true", help="send what waits now, rejected posts included"
    )
    outbox.set_defaults(handler=outbox_command)


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


def _writable(config: Config) -> Any:
    """The store, for a command that writes; None (said why) when it cannot be opened or is
    only read here (``--read-only``, a file this user may not write)."""
    from zconsole.store import READ_ONLY_WRITES

    store = _store(config)
    if store is not None and store.read_only:
        error(READ_ONLY_WRITES)
        store.close()
        return None
    return store


def _existing(store: Any, incident_id: str) -> Any:
    try:
        return store.get(incident_id)
    except KeyError:
        error(f"no incident {incident_id} in {store.path}")
        return None


def _deliver(config: Config, store: Any, queue: Any, *, now_due: bool = False) -> int:
    """Queue with the configured receivers and send now; say how each went on stderr.

    ``queue(notifier)`` queues what to send. 0 when everything went out, else EXIT_QUEUED.
    """
    from zconsole.notify import notifier as make_notifier
    from zconsole.notify.outbox import PENDING

    notifier = make_notifier(config, store)
    if notifier is None:
        return 0
    try:
        queue(notifier)
        before = store.last_entry_id()
        notifier.deliver(now_due=now_due)
        for entry in store.entries_since(before):
            if entry.kind == "post":
                out(plain(entry.text, max_len=300), sys.stderr)
        waiting = len(notifier.outbox.rows(PENDING))
    finally:
        notifier.close()
    if waiting:
        error(
            f"{waiting} post(s) wait in the outbox; a running zconsole or "
            "`zconsole record` sends them when the receiver is back"
        )
        return EXIT_QUEUED
    return 0


def declare_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.checks.incident import IncidentError, default_author

    store = _writable(config)
    if store is None:
        return EXIT_STORE
    author = default_author()
    try:
        incident = store.declare(
            title=args.title,
            severity=args.severity,
            author=author,
            impact=args.impact,
            services=tuple(args.services),
            commander=args.commander or config.incident.commander or author,
            responders=(author,),
            scheme=config.incident.severity_scheme,
        )
    except (ValueError, IncidentError) as exc:
        error(f"{exc}")
        return EXIT_USAGE
    out(incident.id)
    sys.stdout.flush()
    _deliver(config, store, lambda n: n.lifecycle(incident, declared=True, author=author))
    return 0


def note_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.checks.incident import KIND_NOTE, default_author

    text = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        error("an empty note")
        return EXIT_USAGE
    store = _writable(config)
    if store is None:
        return EXIT_STORE
    if _existing(store, args.id) is None:
        return EXIT_USAGE
    entry = store.add_entry(args.id, KIND_NOTE, text.rstrip("\n"), default_author())
    out(f"{args.id}: note #{entry.id}")
    return 0


def status_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.checks.incident import default_author

    store = _writable(config)
    if store is None:
        return EXIT_STORE
    before = _existing(store, args.id)
    if before is None:
        return EXIT_USAGE
    author = default_author()
    incident = store.set_status(args.id, args.status, author)
    if incident.status == before.status:
        out(f"{args.id}: already {incident.status}")
        return 0
    out(f"{args.id}: {before.status} → {incident.status}")
    sys.stdout.flush()
    _deliver(config, store, lambda n: n.lifecycle(incident, declared=False, author=author))
    return 0


def update_command(config: Config, args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from zconsole.checks.incident import KIND_UPDATE, default_author
    from zconsole.updates import default_kind, render

    store = _store(config)
    if store is None:
        return EXIT_STORE
    incident = _existing(store, args.id)
    if incident is None:
        return EXIT_USAGE
    entries = store.entries(incident.id)
    posted = sum(1 for e in entries if e.kind == KIND_UPDATE)
    kind = args.kind or default_kind(incident, posted)
    text = render(kind, args.fmt, incident, entries, now=datetime.now(UTC), config=config.incident)
    out(text)
    sys.stdout.flush()
    if not args.post:
        return 0
    if store.read_only:
        from zconsole.store import READ_ONLY_WRITES

        error(READ_ONLY_WRITES)
        return EXIT_STORE
    author = default_author()
    store.add_entry(incident.id, KIND_UPDATE, text, author)
    if not config.notify:
        error("recorded; no [[notify]] receivers configured, nothing posted")
        return 0
    return _deliver(
        config, store, lambda n: n.post_update(incident, text, update_kind=kind, author=author)
    )


def outbox_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.notify.outbox import PENDING, REJECTED, Outbox

    store = _writable(config) if args.send else _store(config)
    if store is None:
        return EXIT_STORE
    if args.send:
        outbox = Outbox(store.path)
        outbox.retry_rejected()
        outbox.close()
        code = _deliver(config, store, lambda n: None, now_due=True)
    else:
        code = 0
    outbox = Outbox(store.path, read_only=store.read_only)
    waiting = [r for r in outbox.rows() if r.state in (PENDING, REJECTED)]
    outbox.close()
    if not waiting:
        out("the outbox is empty: every post was delivered")
        return code
    for row in waiting:
        why = f" · {plain(row.last_error, max_len=80)}" if row.last_error else ""
        out(
            f"#{row.id} {row.incident_id} → {plain(row.target, max_len=40)}: {row.state}, "
            f"{row.attempts} attempt(s) since {row.created_at:%Y-%m-%d %H:%M} UTC{why}"
        )
    return code or EXIT_QUEUED
