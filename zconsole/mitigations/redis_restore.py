"""`zconsole redis-restore FILE`: put the items of a purged queue back, in their original order.

The file is what the purge mitigation wrote (one JSON header line, then one line per item, each
list head to tail). Items go back into the same lists: at the tail for Celery (kombu BRPOPs the
oldest from the right) and plain lists, at the head for RQ (it LPOPs the oldest from the left),
so items that arrived since the purge are still worked after the restored, older ones.

The file holds no password: the server comes from REDIS_URL / ``[redis] url`` / ``--redis-url``
when they point at the same host, port and db as the file, else from the file (with the password
from REDISCLI_AUTH, as redis-cli does).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from redis import exceptions as rex

from zconsole.checks.redis import connect, parse_target
from zconsole.checks.secrets import redact, register_secret
from zconsole.config import Config
from zconsole.terminal import error, out

PURGE_FORMAT = "zconsole-redis-purge"
CHUNK = 1000


class RestoreError(Exception):
    """A restore that must not go ahead, or failed; the message says why (redacted)."""


def marker_path(path: Path) -> Path:
    return path.with_name(path.name + ".restored")


def read_purge_file(path: Path) -> tuple[dict[str, Any], dict[str, list[bytes]]]:
    """The header and each key's items, head to tail."""
    from zconsole.mitigations.redis import decode_value

    try:
        with path.open(encoding="utf-8") as fh:
            header = json.loads(fh.readline() or "null")
            if not isinstance(header, dict) or header.get("format") != PURGE_FORMAT:
                raise RestoreError(f"{path}: not a zconsole purge file")
            items: dict[str, list[bytes]] = {k["key"]: [] for k in header.get("keys", [])}
            for number, line in enumerate(fh, start=2):
                if not line.strip():
                    continue
                row = json.loads(line)
                if row.get("key") not in items:
                    raise RestoreError(f"{path}:{number}: item for a key not in the header")
                items[row["key"]].append(decode_value(row))
    except OSError as exc:
        raise RestoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except (ValueError, KeyError) as exc:
        raise RestoreError(f"{path}: damaged purge file: {exc}") from None
    for entry in header.get("keys", []):
        if len(items[entry["key"]]) != int(entry["count"]):
            raise RestoreError(
                f"{path}: {entry['key']!r} has {len(items[entry['key']])} items, "
                f"the header says {entry['count']}: the file is incomplete"
            )
    return header, items


def choose_url(header: dict[str, Any], configured: str, *, force: bool) -> str:
    """The configured URL when it is the file's server and db, else the file's own."""
    wanted = parse_target(str(header.get("url", "")))
    if configured:
        have = parse_target(configured)
        same = (have.host, have.port, have.db) == (wanted.host, wanted.port, wanted.db)
        if same or force:
            return configured
        raise RestoreError(
            f"the items were purged from {header.get('target')}, but the configured Redis is "
            f"{have.where}: use --redis-url for the original server, or --force to restore there"
        )
    url = str(header.get("url", ""))
    password = os.environ.get("REDISCLI_AUTH")
    if password and url:
        register_secret(password)
        parts = urlsplit(url)
        user = parts.username or ""
        netloc = f"{user}:{quote(password, safe='')}@{parts.hostname}:{parts.port}"
        url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return url


def restore(path: Path, url: str, *, force: bool = False, timeout: float = 5.0) -> str:
    """Push the file's items back; returns what was done. Raises RestoreError."""
    marker = marker_path(path)
    if marker.exists() and not force:
        when = marker.read_text(encoding="utf-8").strip()
        raise RestoreError(
            f"{path} was already restored ({when}); --force pushes the items again (duplicates)"
        )
    header, items = read_purge_file(path)
    at_head = header.get("restore_at") == "head"
    client = connect(url, timeout, decode=False)
    target = parse_target(url).where
    total = 0
    try:
        for key, values in items.items():
            if not values:
                continue
            pipe = client.pipeline(transaction=True)
            if at_head:
                # LPUSH reverses its arguments; pushing chunks from the last one keeps the order.
                for end in range(len(values), 0, -CHUNK):
                    pipe.lpush(key, *reversed(values[max(0, end - CHUNK) : end]))
            else:
                for start in range(0, len(values), CHUNK):
                    pipe.rpush(key, *values[start : start + CHUNK])
            pipe.execute()
            total += len(values)
    except rex.RedisError as exc:
        from zconsole.checks.redis import explain

        raise RestoreError(explain(exc, parse_target(url), timeout)) from None
    finally:
        client.close()
    marker.write_text(f"restored {datetime.now(UTC).isoformat()} to {target}\n", encoding="utf-8")
    return redact(
        f"restored {total} items of {header.get('kind')} queue {header.get('queue')!r} "
        f"({len(items)} lists) to {target}"
    )


def restore_command(config: Config, path: Path, *, force: bool = False) -> int:
    """The CLI entry: 0 restored, 1 refused or failed (message on stderr)."""
    try:
        header, _ = read_purge_file(path)
        url = choose_url(header, config.redis.url, force=force)
        text = restore(path, url, force=force, timeout=config.timeout_of("redis"))
    except RestoreError as exc:
        error(f"redis-restore: {exc}")
        return 1
    out(text)
    return 0
