"""`zconsole record`, `zconsole history` and `zconsole snapshot --at TIME`.

Imported by ``zconsole.cli`` while building the parser: nothing heavy until a command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from zconsole.config import Config

EXIT_NOTHING = 3
#: Options whose value may be a relative time that starts with "-" (argparse reads "-15m" as an
#: option of its own).
TIME_OPTIONS = ("--at", "--since")


def glue_relative_times(argv: Sequence[str]) -> list[str]:
    """``--at -15m`` -> ``--at=-15m``, so the natural spelling works."""
    out: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        if args[i] in TIME_OPTIONS and i + 1 < len(args) and args[i + 1].startswith("-"):
            out.append(f"{args[i]}={args[i + 1]}")
            i += 2
            continue
        out.append(args[i])
        i += 1
    return out


def add_parser(subparsers: Any, parents: Sequence[argparse.ArgumentParser] = ()) -> None:
    """``record`` and ``history``; ``parents`` carry the global options, so they are taken
    after the command too (``zconsole record --interval 5``, as a unit file writes it)."""
    record = subparsers.add_parser(
        "record",
        parents=list(parents),
        help="run the checks in the foreground and append every poll to the recording",
    )
    record.set_defaults(handler=record_handler)
    history = subparsers.add_parser(
        "history",
        parents=list(parents),
        help="status changes (first WARN/CRIT, recovery) from the recording",
    )
    history.add_argument(
        "--since", default="24h", help="how far back: 2h, -30m, 03:00 or ISO (default 24h)"
    )
    history.add_argument("--source", help="only this source (host, docker, postgres, ...)")
    history.add_argument("--json", action="store_true", help="one JSON object per line")
    history.set_defaults(handler=history_command)


def record_handler(config: Config, args: argparse.Namespace) -> int:
    from zconsole.recorder import record_command

    return record_command(config, interval_given=args.interval is not None)


def _open_reader(config: Config) -> Any:
    from zconsole.recording.db import RecordingError, recording_path
    from zconsole.recording.reader import RecordingReader

    path = recording_path(config)
    try:
        return RecordingReader(path)
    except RecordingError as exc:
        print(f"zconsole: {exc}", file=sys.stderr)
        return None


def _when(text: str, flag: str) -> datetime | None:
    from zconsole.recording.when import parse_when

    try:
        return parse_when(text)
    except ValueError as exc:
        print(f"zconsole: {flag} {exc}", file=sys.stderr)
        return None


def _stamp(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def history_command(config: Config, args: argparse.Namespace) -> int:
    from zconsole.checks.base import Status
    from zconsole.checks.secrets import redact
    from zconsole.widgets.text import plain

    since = _when(args.since, "--since")
    if since is None:
        return 2
    reader = _open_reader(config)
    if reader is None:
        return 1
    with reader:
        changes = [
            t
            for t in reader.transitions(since=since, source=args.source)
            # A first poll that was fine (or not configured) is where recording began.
            if t.old is not None or t.new.rank >= Status.WARN.rank
        ]
        if not changes and not args.json:
            print(f"no status changes recorded since {_stamp(since)}")
        for change in changes:
            snapshot = reader.snapshot_of_frame(change.frame)
            summary = plain(redact(snapshot.summary if snapshot else ""), max_len=120)
            old = change.old.value.upper() if change.old else "(start)"
            if args.json:
                row = {
                    "at": change.at.isoformat(),
                    "source": change.source,
                    "from": change.old.value if change.old else None,
                    "to": change.new.value,
                    "summary": summary,
                }
                print(json.dumps(row))
            else:
                print(
                    f"{_stamp(change.at)}  {change.source:<9} {old:>7} → "
                    f"{change.new.value.upper():<7} {summary}"
                )
    return 0


def snapshot_at_command(config: Config, when: str, *, as_json: bool) -> int:
    """The recorded state at ``when`` in the snapshot JSON v1 envelope; exit as `snapshot`."""
    from zconsole.checks.base import Status, now_utc, worst
    from zconsole.checks.secrets import redact, redact_tree
    from zconsole.cli import SNAPSHOT_VERSION
    from zconsole.registry import SOURCES

    moment = _when(when, "--at")
    if moment is None:
        return 2
    reader = _open_reader(config)
    if reader is None:
        return EXIT_NOTHING
    with reader:
        snapshots = reader.at(moment)
        span = reader.span()
        hostname = reader.hostname
    if not snapshots:
        covered = f"it covers {_stamp(span[0])} to {_stamp(span[1])}" if span else "it is empty"
        print(f"zconsole: nothing recorded at {_stamp(moment)} ({covered})", file=sys.stderr)
        return EXIT_NOTHING
    known = [s.name for s in SOURCES]
    order = [n for n in known if n in snapshots] + sorted(n for n in snapshots if n not in known)
    statuses = [s.status for s in snapshots.values() if s.configured]
    report = {
        "version": SNAPSHOT_VERSION,
        "collected_at": max(s.collected_at for s in snapshots.values()).isoformat(),
        "hostname": hostname,
        "worst": worst(statuses).value,
        "checks": {name: snapshots[name].to_json() for name in order},
        # Added within version 1: the moment asked for, and that this is the recording.
        "recorded_at": moment.isoformat(),
    }
    if as_json:
        sys.stdout.write(json.dumps(redact_tree(report), indent=2) + "\n")
    else:
        ago = (now_utc() - moment).total_seconds()
        lines = [
            f"{hostname}: {report['worst'].upper()} (recorded, {_stamp(moment)}, {_ago(ago)} ago)"
        ]
        for name in order:
            snap = snapshots[name]
            lines.append(
                f"  {snap.status.symbol} {name:<9} {snap.status.value.upper():<7} {snap.summary}"
            )
        sys.stdout.write(redact("\n".join(lines)) + "\n")
    return Status(report["worst"]).exit_code


def _ago(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
