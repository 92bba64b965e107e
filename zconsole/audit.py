"""The append-only audit log of every action attempt: one JSON object per line.

The log answers "who did what, from where, when, and what happened" after an incident, whether
or not an incident was open. Every attempt is written — succeeded, failed, timed out, cancelled
at the confirmation, refused by read-only mode or by the repeat guard. Lines are only ever
appended (``O_APPEND``, one ``write`` per line, so two zconsole processes on one host interleave
whole lines, never fragments), and every string passes through :func:`redact` first.

Fields of a line: ``time`` (UTC, ISO 8601), ``user``, ``host`` (this machine), ``client_host``
(the SSH client's address when run over SSH, else empty), ``action``, ``title``, ``target``,
``risk``, ``source``, ``preview``, ``outcome``, ``detail`` (result or error text),
``duration_s``; for an action a collector ran for an attached console, ``tty`` (the asking
user's terminal) and ``via`` (the collector) too.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs

from zconsole.actions import Action, Outcome
from zconsole.checks.secrets import redact

AUDIT_NAME = "audit.jsonl"
#: The audit log keeps a bounded slice of long result texts (a full `docker compose` output).
MAX_DETAIL = 4096


def default_audit_path() -> Path:
    """In the user's data dir, whatever ``--store`` says: a store in a shared folder must not
    put the record of who did what where anyone can replace it."""
    return Path(platformdirs.user_data_dir("zconsole")) / AUDIT_NAME


@dataclass(frozen=True)
class Identity:
    """Who is acting: the unix user, this host and, over SSH, the client's address."""

    user: str
    host: str
    client_host: str
    #: The terminal the user asked from ("pts/3"), when known.
    tty: str = ""
    #: Which process ran it for them ("collector zconsole record pid 812"); "" for this one.
    via: str = ""

    @classmethod
    def current(cls, env: Mapping[str, str] | None = None) -> Identity:
        env = os.environ if env is None else env
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no passwd entry for the uid (containers)
            user = str(os.getuid())
        return cls(user=user, host=socket.gethostname(), client_host=ssh_client_host(env))


def ssh_client_host(env: Mapping[str, str]) -> str:
    """The SSH client's address from SSH_CONNECTION / SSH_CLIENT ("" when not over SSH)."""
    for name in ("SSH_CONNECTION", "SSH_CLIENT"):
        value = env.get(name, "").split()
        if value:
            return value[0]
    return ""


def _bounded(text: str, limit: int = MAX_DETAIL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class AuditLog:
    """Appends one redacted JSON line per attempt to ``path`` (created 0600 with its folder)."""

    def __init__(self, path: Path, identity: Identity | None = None) -> None:
        self.path = path
        self.identity = identity or Identity.current()

    def entry(
        self,
        action: Action,
        outcome: Outcome,
        detail: str,
        *,
        duration_s: float = 0.0,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The line that :meth:`write` appends, as a dict (every string redacted)."""
        when = (at or datetime.now(UTC)).astimezone(UTC)
        fields: dict[str, Any] = {
            "time": when.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "user": self.identity.user,
            "host": self.identity.host,
            "client_host": self.identity.client_host,
            "action": action.name,
            "title": action.title,
            "target": action.target,
            "risk": action.risk.value,
            "source": action.source,
            "preview": action.preview,
            "outcome": outcome.value,
            "detail": _bounded(detail),
        }
        # Written only when set: an action run by the console itself reads as it always did.
        fields.update(
            {k: v for k, v in (("tty", self.identity.tty), ("via", self.identity.via)) if v}
        )
        clean: dict[str, Any] = {k: redact(v) for k, v in fields.items()}
        clean["duration_s"] = round(duration_s, 3)
        return clean

    def write(
        self,
        action: Action,
        outcome: Outcome,
        detail: str,
        *,
        duration_s: float = 0.0,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """Append one line; raises OSError when the log cannot be written."""
        entry = self.entry(action, outcome, detail, duration_s=duration_s, at=at)
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode()
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        # O_NOFOLLOW: a symlink planted at the log's path must not redirect our writes.
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC
        fd = os.open(self.path, flags, 0o600)
        try:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        return entry


def read_audit(path: Path) -> list[dict[str, Any]]:
    """Every line of an audit log, oldest first (for tests and `zconsole incidents`)."""
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]
