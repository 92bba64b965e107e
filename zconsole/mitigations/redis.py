"""Redis mitigations: purge a queue (undoable), requeue RQ failed jobs, FLUSHDB, find big keys.

A purge never loses an item: the queue's lists are first renamed away atomically (workers and
producers see an empty queue at once, new items start a fresh list), the renamed lists are
written to a JSONL file and synced to disk, and only then deleted. The result text — which the
action runner writes to the timeline — carries the command that puts the items back, in order:
``zconsole redis-restore FILE``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import platformdirs
from redis import exceptions as rex

from zconsole.actions import Action, ActionError, Risk
from zconsole.checks.base import Check
from zconsole.checks.redis import (
    RedisCheck,
    RedisData,
    read_persistence,
    scan_big_keys,
)
from zconsole.checks.redis_queues import (
    QueueInfo,
    QueueKind,
    celery_keys,
    display_key,
    rq_failed_key,
    rq_queue_key,
)
from zconsole.checks.secrets import redact
from zconsole.checks.units import human_bytes
from zconsole.mitigations import mitigation

PURGE_FORMAT = "zconsole-redis-purge"
PURGE_VERSION = 1
#: Items per LRANGE / RPUSH round trip.
CHUNK = 1000
RESTORE_COMMAND = "zconsole redis-restore"


def data_dir() -> Path:
    """Where purge files and RDB copies go: the user data dir (beside the incident store)."""
    return Path(platformdirs.user_data_dir("zconsole")) / "redis"


def _check(check: Check[Any]) -> RedisCheck:
    if not isinstance(check, RedisCheck):
        raise ValueError("not a Redis source")
    return check


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name)[:60] or "queue"


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


def queue_keys(queue: QueueInfo) -> tuple[str, ...]:
    """Every list that holds the queue's items (all of a Celery queue's priority lists)."""
    if queue.kind is QueueKind.CELERY:
        return celery_keys(queue.name)
    if queue.kind is QueueKind.RQ:
        return (rq_queue_key(queue.name),)
    if queue.kind is QueueKind.LIST:
        return (queue.name,)
    raise ValueError(
        f"{queue.kind} {queue.name}: only Celery, RQ and plain list queues can be purged "
        "(a stream keeps its history; trim it with XTRIM)"
    )


# -- purge ---------------------------------------------------------------------------------------


def _encode(value: bytes) -> dict[str, str]:
    try:
        return {"s": value.decode("utf-8")}
    except UnicodeDecodeError:
        return {"b64": base64.b64encode(value).decode("ascii")}


def decode_value(field: dict[str, str]) -> bytes:
    if "s" in field:
        return field["s"].encode("utf-8")
    return base64.b64decode(field["b64"])


@mitigation("redis", "purge")
def purge(check: Check[Any], record: object) -> Action:
    redis_check = _check(check)
    if not isinstance(record, QueueInfo):
        raise ValueError("select a queue to purge")
    keys = queue_keys(record)
    # A random part too: two purges in one second must never share (and overwrite) a file.
    name = f"purge-{_stamp()}-{uuid.uuid4().hex[:6]}-{_safe_name(record.name)}.jsonl"
    path = data_dir() / name
    target = redis_check.target.where
    shown = ", ".join(display_key(k) for k in keys[:3]) + (" …" if len(keys) > 3 else "")
    preview = (
        f"on {target}: MULTI; RENAME each of {shown} to a holding key; EXEC "
        f"(about {record.depth} items as of the last poll)\n"
        f"then LRANGE the holding keys into {path} (fsync), then DEL them\n"
        f"undo: {RESTORE_COMMAND} {path}"
    )

    def execute() -> str:
        return _purge(redis_check, record, keys, path)

    return Action(
        title=f"Purge {record.kind} queue {display_key(record.name)}",
        target=record.name,
        risk=Risk.DISRUPTIVE,
        preview=redact(preview),
        execute=execute,
        timeout=120.0,
    )


def _purge(check: RedisCheck, queue: QueueInfo, keys: tuple[str, ...], path: Path) -> str:
    client = check.new_client(decode=False)
    try:
        return _purge_with(client, check, queue, keys, path)
    finally:
        client.close()


def _purge_with(
    client: Any, check: RedisCheck, queue: QueueInfo, keys: tuple[str, ...], path: Path
) -> str:
    token = uuid.uuid4().hex[:12]
    holds = {key: f"zconsole:purge:{token}:{key}" for key in keys}
    try:
        pipe = client.pipeline(transaction=False)
        for key in keys:
            pipe.type(key)
        kinds = {k: _text(t) for k, t in zip(keys, pipe.execute(), strict=True)}
        wrong = [
            f"{display_key(k)} is a {t}" for k, t in kinds.items() if t not in ("list", "none")
        ]
        if wrong:
            raise ActionError(redact(f"not purged: {', '.join(wrong)}, not a list"))
        existing = [k for k in keys if kinds[k] == "list"]
        if not existing:
            return f"{queue.kind} queue {queue.name} was already empty: nothing purged"
        pipe = client.pipeline(transaction=True)
        for key in existing:
            pipe.rename(key, holds[key])
        # A list emptied by a worker between TYPE and EXEC is gone: "no such key", skipped.
        moved = [
            k
            for k, r in zip(existing, pipe.execute(raise_on_error=False), strict=True)
            if not isinstance(r, Exception)
        ]
    except rex.RedisError as exc:
        raise ActionError(check.explain(exc)) from None
    try:
        total = _write_purge_file(client, check, queue, moved, holds, path)
    except (OSError, rex.RedisError) as exc:
        reason = check.explain(exc) if isinstance(exc, rex.RedisError) else str(exc)
        raise ActionError(
            redact(f"purge stopped, nothing deleted: {reason}. {_undo(client, moved, holds)}")
        ) from None
    try:
        client.delete(*(holds[k] for k in moved))
    except rex.RedisError as exc:
        raise ActionError(
            check.explain(exc) + f"; the items are saved in {path} and still in the holding keys"
        ) from None
    return redact(
        f"purged {total} items from {queue.kind} queue {display_key(queue.name)} on "
        f"{check.target.where}; saved to {path}; restore (in order) with: "
        f"{RESTORE_COMMAND} {path}"
    )


def _undo(client: Any, moved: list[str], holds: dict[str, str]) -> str:
    """Move the held lists back where nothing new has arrived; say where the rest are."""
    kept = []
    for key in moved:
        try:
            if not client.renamenx(holds[key], key):
                kept.append(holds[key])
        except rex.RedisError:
            kept.append(holds[key])
    if not kept:
        return "The queue was put back as it was."
    return f"Items are kept in {', '.join(repr(k) for k in kept)}: RENAME or RPUSH them back."


def _text(value: object) -> str:
    return value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else str(value)


def _write_purge_file(
    client: Any,
    check: RedisCheck,
    queue: QueueInfo,
    moved: list[str],
    holds: dict[str, str],
    path: Path,
) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".partial")
    counts = {key: int(client.llen(holds[key])) for key in moved}
    header = {
        "format": PURGE_FORMAT,
        "version": PURGE_VERSION,
        "created_at": datetime.now(UTC).isoformat(),
        "target": check.target.where,
        "url": check.target.safe_url,
        "db": check.target.db,
        "queue": queue.name,
        "kind": str(queue.kind),
        # Head-to-tail order of each list; RQ restores at the head (it pops from the left),
        # kombu and plain lists at the tail (BRPOP takes the oldest from the right).
        "restore_at": "head" if queue.kind is QueueKind.RQ else "tail",
        "keys": [{"key": key, "count": counts[key]} for key in moved],
    }
    total = 0
    with tmp.open("w", encoding="utf-8") as fh:
        fh.write(json.dumps(header, ensure_ascii=True) + "\n")
        for key in moved:
            for start in range(0, counts[key], CHUNK):
                chunk = client.lrange(holds[key], start, start + CHUNK - 1)
                for value in chunk:
                    fh.write(json.dumps({"key": key, **_encode(value)}, ensure_ascii=True) + "\n")
                total += len(chunk)
        fh.flush()
        os.fsync(fh.fileno())
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return total


# -- RQ failed jobs ------------------------------------------------------------------------------


@mitigation("redis", "requeue_failed")
def requeue_failed(check: Check[Any], record: object) -> Action:
    redis_check = _check(check)
    if not isinstance(record, QueueInfo) or record.kind is not QueueKind.RQ:
        raise ValueError("select an RQ queue to requeue its failed jobs")
    name = record.name
    failed, queue_key = rq_failed_key(name), rq_queue_key(name)
    preview = (
        f"on {redis_check.target.where}, for each job id in ZRANGE {failed} 0 -1 "
        f"({record.failed or 0} as of the last poll): MULTI; ZREM {failed} ID; "
        f"HSET rq:job:ID status queued; RPUSH {queue_key} ID; EXEC "
        f"(what `rq requeue --queue {name} --all` does)"
    )

    def execute() -> str:
        return _requeue(redis_check, name)

    return Action(
        title=f"Requeue failed RQ jobs of {name}",
        target=name,
        risk=Risk.DISRUPTIVE,
        preview=redact(preview),
        execute=execute,
        timeout=120.0,
    )


def _requeue(check: RedisCheck, name: str) -> str:
    client = check.new_client()
    failed, queue_key = rq_failed_key(name), rq_queue_key(name)
    requeued = dropped = 0
    try:
        ids = [str(i) for i in client.zrange(failed, 0, -1)]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            pipe = client.pipeline(transaction=False)
            for job_id in chunk:
                pipe.exists(f"rq:job:{job_id}")
            alive = pipe.execute()
            pipe = client.pipeline(transaction=True)
            for job_id, exists in zip(chunk, alive, strict=True):
                pipe.zrem(failed, job_id)
                if exists:
                    pipe.hset(f"rq:job:{job_id}", mapping={"status": "queued", "enqueued_at": now})
                    pipe.rpush(queue_key, job_id)
                    requeued += 1
                else:
                    dropped += 1
            pipe.sadd("rq:queues", queue_key)
            pipe.execute()
    except rex.RedisError as exc:
        raise ActionError(check.explain(exc)) from None
    finally:
        client.close()
    text = f"requeued {requeued} failed jobs onto RQ queue {name}"
    if dropped:
        text += f"; {dropped} failed entries had no job data left (expired) and were removed"
    return redact(text)


# -- FLUSHDB -------------------------------------------------------------------------------------


@mitigation("redis", "flushdb")
def flushdb(check: Check[Any], record: object) -> Action:
    redis_check = _check(check)
    # From the pane's key the record is the data; from the actions menu it is the selected queue.
    data = record if isinstance(record, RedisData) else redis_check.last_data
    if data is None:
        raise ValueError("no Redis data yet: wait for the first poll")
    db = redis_check.target.db
    keys = next((d.keys for d in data.dbs if d.db == db), 0)
    where = redis_check.target.where
    if data.persistence in ("none",):
        safety = (
            'THIS SERVER DOES NOT PERSIST (save "", appendonly no): nothing can bring the '
            f"{keys} keys back once they are flushed."
        )
    elif data.persistence == "unknown":
        safety = (
            "CONFIG GET is not allowed here, so it is unknown whether the server persists: "
            "treat the flush as final — nothing may be able to bring the keys back."
        )
    else:
        safety = (
            f"the server persists ({data.persistence}): BGSAVE first and wait for it to "
            f"finish, so the {keys} keys are in {data.rdb_file or 'its RDB file'} (a copy is "
            f"kept in {data_dir()} when that file is readable here); only then FLUSHDB."
        )
    preview = (
        f"FLUSHDB on {where}: deletes all {keys} keys of db {db} (as of the last poll).\n{safety}"
    )

    def execute() -> str:
        return _flushdb(redis_check)

    return Action(
        title=f"FLUSHDB db {db} ({keys} keys)",
        target=where,
        risk=Risk.DESTRUCTIVE,
        preview=redact(preview),
        execute=execute,
        timeout=600.0,
    )


def _flushdb(check: RedisCheck, *, bgsave_timeout: float = 540.0) -> str:
    client = check.new_client()
    where = check.target.where
    try:
        keys = int(client.dbsize())
        persistence, rdb_file = read_persistence(client)
        saved = ""
        if persistence not in ("none", "unknown"):
            saved = _bgsave_and_wait(client, bgsave_timeout)
            saved += _copy_rdb(rdb_file)
        client.flushdb()
    except rex.RedisError as exc:
        raise ActionError(check.explain(exc)) from None
    finally:
        client.close()
    if persistence in ("none", "unknown"):
        return redact(
            f"flushed {keys} keys from {where}; the server does not persist "
            f"({persistence}): nothing can bring them back"
        )
    note = ""
    if "aof" in persistence:
        note = (
            " With AOF on, the FLUSHDB is also in the append-only file: removing that last "
            "FLUSHDB from the file before any rewrite brings the keys back too."
        )
    return redact(
        f"flushed {keys} keys from {where} after a BGSAVE: {saved}. The next save overwrites "
        f"the RDB file with the empty db — copy it first if it is not copied.{note}"
    )


def _bgsave_and_wait(client: Any, timeout: float) -> str:
    before = client.info("persistence")
    saves_before = before.get("rdb_saves")
    last_before = int(before.get("rdb_last_save_time", 0))
    try:
        client.bgsave()
    except rex.ResponseError as exc:
        if "already in progress" not in str(exc):
            raise
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.info("persistence")
        done = not int(info.get("rdb_bgsave_in_progress", 0)) and (
            (saves_before is not None and int(info.get("rdb_saves", 0)) > int(saves_before))
            or int(info.get("rdb_last_save_time", 0)) > last_before
        )
        if done:
            if info.get("rdb_last_bgsave_status") != "ok":
                raise ActionError("BGSAVE failed (see the Redis log): FLUSHDB not run")
            at = datetime.fromtimestamp(int(info.get("rdb_last_save_time", 0)), UTC)
            return f"BGSAVE finished at {at:%H:%M:%S} UTC"
        time.sleep(0.1)
    raise ActionError(f"BGSAVE did not finish within {timeout:g} s: FLUSHDB not run")


def _copy_rdb(rdb_file: str) -> str:
    source = Path(rdb_file) if rdb_file else None
    if source is None or not source.is_file():
        return f"; the snapshot is {rdb_file or 'the RDB file'} on the Redis host"
    target = data_dir() / f"flushdb-{_stamp()}-{source.name}"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    except OSError as exc:
        return f"; the snapshot is {source} (copying it failed: {exc.strerror or exc})"
    return f"; snapshot {source} copied to {target}"


# -- big keys ------------------------------------------------------------------------------------


@mitigation("redis", "bigkeys")
def bigkeys(check: Check[Any], record: object) -> Action:
    redis_check = _check(check)
    limit = redis_check.settings.bigkeys_max_scan
    where = redis_check.target.where

    def execute() -> str:
        client = redis_check.new_client()
        try:
            report = scan_big_keys(client, max_keys=limit)
        except rex.RedisError as exc:
            raise ActionError(redis_check.explain(exc)) from None
        finally:
            client.close()
        scope = "all" if report.complete else f"the first {report.scanned} of"
        lines = [f"biggest keys on {where} ({scope} {report.dbsize} keys scanned):"]
        for key in report.keys:
            size = human_bytes(key.bytes) if key.bytes is not None else "?"
            length = f", {key.length} elements" if key.length is not None else ""
            lines.append(f"  {size:>8}  {key.type:<6} {display_key(key.key)!r}{length}")
        return redact("\n".join(lines))

    return Action(
        title=f"Find big keys on {where}",
        target=where,
        risk=Risk.SAFE,
        preview=f"SCAN (never KEYS) up to {limit} keys with MEMORY USAGE … SAMPLES 5 on {where}",
        execute=execute,
        timeout=300.0,
    )
