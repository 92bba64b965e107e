"""Evidence bundles: what every check saw, plus whatever the panes expose, written into the
incident's folder (``<export_dir>/<incident id>/evidence-<UTC stamp>/``), secrets redacted.

Panes may offer more by defining ``evidence() -> dict[str, str]`` (file name -> text); the app
passes those in ``extras``.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from zconsole.checks.base import Snapshot
from zconsole.checks.secrets import redact, redact_tree
from zconsole.widgets.text import plain

BUNDLE_VERSION = 1
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _dump(value: Any) -> str:
    return redact(json.dumps(redact_tree(value), indent=2, ensure_ascii=False)) + "\n"


def safe_name(name: str) -> str:
    return _SAFE_NAME.sub("_", name).strip("._") or "item"


def write_bundle(
    base: Path,
    incident_id: str,
    snapshots: Mapping[str, Snapshot[Any]],
    extras: Mapping[str, str] | None = None,
    *,
    now: datetime | None = None,
) -> tuple[Path, list[Path]]:
    """Write the bundle; returns (folder, files written)."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    folder = base / safe_name(incident_id) / f"evidence-{now:%Y%m%dT%H%M%SZ}"
    suffix = 1
    while folder.exists():
        suffix += 1
        folder = base / safe_name(incident_id) / f"evidence-{now:%Y%m%dT%H%M%SZ}-{suffix}"
    folder.mkdir(parents=True)
    written: list[Path] = []
    envelope = {
        "version": BUNDLE_VERSION,
        "incident": incident_id,
        "collected_at": now.isoformat(),
        "hostname": socket.gethostname(),
        "checks": {name: snap.to_json() for name, snap in snapshots.items()},
    }
    path = folder / "snapshot.json"
    path.write_text(_dump(envelope), encoding="utf-8")
    written.append(path)
    for name, snap in snapshots.items():
        path = folder / f"check-{safe_name(name)}.json"
        path.write_text(_dump(snap.to_json()), encoding="utf-8")
        written.append(path)
    for name, text in (extras or {}).items():
        path = folder / safe_name(name)
        # Redact first: a secret with a control character in it must be matched whole.
        path.write_text(plain(redact(text)) + "\n", encoding="utf-8")
        written.append(path)
    return folder, written
