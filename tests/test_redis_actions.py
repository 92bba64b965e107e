"""Redis mitigations on a real redis-server, run through the one action runner.

Purge writes the items to a file before deleting them and records the restore command in the
timeline; running that command puts every item back in order. FLUSHDB saves first when the
server persists and says plainly when nothing can bring the keys back.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shlex
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests import services
from zconsole import mitigations
from zconsole.action_runner import ActionRunner, ConfirmRequest
from zconsole.actions import Action, ActionOutcome, Outcome, Risk
from zconsole.audit import AuditLog
from zconsole.checks.incident import IncidentSettings
from zconsole.checks.redis import RedisCheck, RedisData
from zconsole.checks.redis_queues import CELERY_PRIORITY_SEP, QueueInfo, QueueKind
from zconsole.checks.redis_settings import RedisSettings
from zconsole.incident_controller import IncidentController
from zconsole.mitigations import redis as mitigations_redis
from zconsole.store import IncidentStore

pytestmark = pytest.mark.redis

PASSWORD = "c0rrect-h0rse-zc-purge"


@pytest.fixture
def r(redis_server: services.Redis) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_server.url)
    client.flushall()
    yield client
    client.flushall()
    client.close()


class Recorder:
    """The runner's surroundings: an audit log, an open incident in a real store."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        self.audit = AuditLog(root / "audit.jsonl")
        self.store = IncidentStore(root / "incidents.db")
        self.incidents = IncidentController(self.store, IncidentSettings(), author="tester")
        incident = self.incidents.declare(title="Celery backlog", severity="P1")
        assert incident is not None
        self.incident = incident
        self.asked: list[ConfirmRequest] = []

        async def confirm(request: ConfirmRequest) -> bool:
            self.asked.append(request)
            return True

        self.runner = ActionRunner(
            audit=self.audit, confirm=confirm, timeline=lambda: self.incidents
        )

    def run(self, action: Action) -> ActionOutcome:
        return asyncio.run(self.runner.run(action))

    def timeline(self) -> list[str]:
        return [e.text for e in self.store.entries(self.incident.id)]

    def close(self) -> None:
        self.store.close()


@pytest.fixture
def recorder(tmp_path: Path) -> Iterator[Recorder]:
    rec = Recorder(tmp_path / "state")
    yield rec
    rec.close()


def poll(url: str, **cfg: Any) -> tuple[RedisCheck, RedisData]:
    check = RedisCheck(RedisSettings(url=url, **cfg), timeout=5.0)
    snap = check.collect()
    assert snap.error is None, snap.error
    assert isinstance(snap.data, RedisData)
    return check, snap.data


def queue(data: RedisData, name: str, kind: QueueKind) -> QueueInfo:
    return next(q for q in data.queues if q.name == name and q.kind is kind)


def run_cli(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert argv[0] == "zconsole"
    return subprocess.run(
        [sys.executable, "-m", "zconsole", *argv[1:]],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def restore_command(texts: list[str]) -> list[str]:
    found = [m for t in texts for m in re.findall(r"zconsole redis-restore \S+\.jsonl", t)]
    assert found, texts
    return shlex.split(found[-1])


# -- purge and restore -----------------------------------------------------------------------


def test_purge_then_recorded_restore_puts_5000_items_back_in_order(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder, workdir: Path
) -> None:
    urgent = f"celery{CELERY_PRIORITY_SEP}3"
    r.lpush("celery", *(json.dumps({"id": i, "task": "send_mail"}) for i in range(4000)))
    r.lpush(urgent, *(f"urgent-{i}".encode() for i in range(999)))
    r.lpush(urgent, b"\xff\xfe not utf-8")  # a binary body survives the round trip
    before = {key: r.lrange(key, 0, -1) for key in ("celery", urgent)}
    check, data = poll(redis_server.url)
    assert queue(data, "celery", QueueKind.CELERY).depth == 5000

    action = mitigations.build("redis", "purge", check, queue(data, "celery", QueueKind.CELERY))
    assert action.risk is Risk.DISRUPTIVE
    assert "redis-restore" in action.preview and ".jsonl" in action.preview
    outcome = recorder.run(action)
    assert outcome.outcome is Outcome.SUCCEEDED, outcome.text
    assert "purged 5000 items" in outcome.text
    assert r.llen("celery") == 0 and r.llen(urgent) == 0
    assert not r.keys("zconsole:purge:*")  # the holding lists are gone too

    argv = restore_command(recorder.timeline())
    path = Path(argv[-1])
    assert path.is_file() and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_text().splitlines()) == 1 + 5000

    r.lpush("celery", b"arrived-after-purge")  # producers keep going meanwhile
    done = run_cli(argv, workdir, {"REDIS_URL": redis_server.url})
    assert done.returncode == 0, done.stderr
    assert "restored 5000 items" in done.stdout
    assert r.lrange(urgent, 0, -1) == before[urgent]
    # The new task is at the head; the restored, older ones are worked first (BRPOP: tail).
    assert r.lrange("celery", 0, -1) == [b"arrived-after-purge", *before["celery"]]

    again = run_cli(argv, workdir, {"REDIS_URL": redis_server.url})
    assert again.returncode == 1 and "already restored" in again.stderr
    assert r.llen("celery") == 4001


def test_purged_rq_queue_is_restored_at_the_head(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder, workdir: Path
) -> None:
    r.sadd("rq:queues", "rq:queue:default")
    r.rpush("rq:queue:default", *(f"job-{i}" for i in range(5)))
    check, data = poll(redis_server.url)
    outcome = recorder.run(
        mitigations.build("redis", "purge", check, queue(data, "default", QueueKind.RQ))
    )
    assert outcome.ok, outcome.text
    r.rpush("rq:queue:default", "job-new")
    done = run_cli(restore_command(recorder.timeline()), workdir, {"REDIS_URL": redis_server.url})
    assert done.returncode == 0, done.stderr
    # RQ LPOPs from the head: the old jobs still run before the new one.
    assert r.lrange("rq:queue:default", 0, -1) == [
        *(f"job-{i}".encode() for i in range(5)),
        b"job-new",
    ]


def test_restore_refuses_another_server(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder, workdir: Path
) -> None:
    r.rpush("jobs", "a", "b")
    check, data = poll(redis_server.url, lists=["jobs"])
    assert recorder.run(
        mitigations.build("redis", "purge", check, queue(data, "jobs", QueueKind.LIST))
    ).ok
    other = f"redis://127.0.0.1:{services.closed_port()}/0"
    done = run_cli(restore_command(recorder.timeline()), workdir, {"REDIS_URL": other})
    assert done.returncode == 1
    assert "were purged from 127.0.0.1" in done.stderr and "--force" in done.stderr
    assert r.llen("jobs") == 0


def test_purge_that_cannot_save_puts_the_queue_back(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder
) -> None:
    r.rpush("celery", *range(300))
    before = r.lrange("celery", 0, -1)
    # The purge folder's place is taken by a file: saving fails before anything is deleted.
    blocker = mitigations_redis.data_dir()
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("in the way")
    check, data = poll(redis_server.url)
    outcome = recorder.run(
        mitigations.build("redis", "purge", check, queue(data, "celery", QueueKind.CELERY))
    )
    assert outcome.outcome is Outcome.FAILED
    assert "nothing deleted" in outcome.text and "put back as it was" in outcome.text
    assert r.lrange("celery", 0, -1) == before
    assert not r.keys("zconsole:purge:*")


def test_purge_refuses_a_key_that_is_not_a_list(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder
) -> None:
    r.hset("celery", "not", "a queue")
    check, data = poll(redis_server.url)
    outcome = recorder.run(
        mitigations.build("redis", "purge", check, queue(data, "celery", QueueKind.CELERY))
    )
    assert outcome.outcome is Outcome.FAILED
    assert "celery is a hash" in outcome.text
    assert r.hget("celery", "not") == b"a queue"


def test_streams_are_not_purged(r: redis.Redis, redis_server: services.Redis) -> None:
    r.xadd("events", {"a": 1})
    check, data = poll(redis_server.url, streams=["events"])
    with pytest.raises(ValueError, match="XTRIM"):
        mitigations.build("redis", "purge", check, queue(data, "events", QueueKind.STREAM))


# -- RQ failed jobs ----------------------------------------------------------------------------


def test_requeue_rq_failed_jobs(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder
) -> None:
    r.sadd("rq:queues", "rq:queue:default")
    r.hset("rq:job:a", mapping={"status": "failed", "origin": "default"})
    r.hset("rq:job:b", mapping={"status": "failed", "origin": "default"})
    r.zadd("rq:failed:default", {"a": 1.0, "b": 2.0, "expired": 3.0})
    check, data = poll(redis_server.url)
    rq_default = queue(data, "default", QueueKind.RQ)
    assert rq_default.failed == 3
    outcome = recorder.run(mitigations.build("redis", "requeue_failed", check, rq_default))
    assert outcome.ok, outcome.text
    assert "requeued 2 failed jobs" in outcome.text and "1 failed entries" in outcome.text
    assert r.lrange("rq:queue:default", 0, -1) == [b"a", b"b"]
    assert r.zcard("rq:failed:default") == 0
    assert r.hget("rq:job:a", "status") == b"queued"


# -- FLUSHDB -----------------------------------------------------------------------------------


def test_flushdb_without_persistence_says_nothing_brings_keys_back(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder
) -> None:
    r.mset({f"k{i}": i for i in range(42)})
    check, data = poll(redis_server.url)
    action = mitigations.build("redis", "flushdb", check, data)
    assert action.risk is Risk.DESTRUCTIVE
    assert action.target == f"127.0.0.1:{redis_server.port}/0"
    assert "42 keys" in action.preview
    assert "nothing can bring the 42 keys back" in action.preview
    outcome = recorder.run(action)
    assert outcome.ok, outcome.text
    assert "nothing can bring them back" in outcome.text
    assert r.dbsize() == 0


def test_flushdb_from_the_actions_menu_uses_the_latest_poll(
    r: redis.Redis, redis_server: services.Redis
) -> None:
    r.mset({f"k{i}": i for i in range(7)})
    r.rpush("celery", "t")
    check, data = poll(redis_server.url)
    # The menu hands over the selected row (a queue), not the pane's data.
    action = mitigations.build("redis", "flushdb", check, data.queues[0])
    assert "deletes all 8 keys of db 0" in action.preview
    fresh = RedisCheck(RedisSettings(url=redis_server.url))
    with pytest.raises(ValueError, match="no Redis data yet"):
        mitigations.build("redis", "flushdb", fresh, None)
    assert r.dbsize() == 8  # building an action runs nothing


def test_flushdb_on_a_persisting_server_saves_first(recorder: Recorder) -> None:
    server = services.start_redis(persist=True)
    try:
        client = redis.Redis.from_url(server.url)
        client.mset({f"zckey:{i}": f"value-{i}" for i in range(100)})
        saves_before = int(client.info("persistence")["rdb_saves"])
        check, data = poll(server.url)
        assert data.persistence == "rdb"
        action = mitigations.build("redis", "flushdb", check, data)
        assert "BGSAVE first" in action.preview and "100 keys" in action.preview
        outcome = recorder.run(action)
        assert outcome.ok, outcome.text
        assert "after a BGSAVE" in outcome.text
        assert int(client.info("persistence")["rdb_saves"]) == saves_before + 1
        assert client.dbsize() == 0
        copy = Path(re.findall(r"copied to (\S+\.rdb)", outcome.text)[0])
        assert b"zckey:7" in copy.read_bytes()  # the keys are in the saved snapshot
        client.close()
    finally:
        services.destroy_redis(server)


# -- big keys ----------------------------------------------------------------------------------


def test_bigkeys_uses_scan_and_finds_the_biggest(
    r: redis.Redis, redis_server: services.Redis, recorder: Recorder
) -> None:
    r.hset("big:hash", mapping={f"field-{i}": "x" * 50 for i in range(3000)})
    r.rpush("mid:list", *range(500))
    r.mset({f"small:{i}": "v" for i in range(50)})
    r.config_resetstat()
    check, data = poll(redis_server.url)
    outcome = recorder.run(mitigations.build("redis", "bigkeys", check, data))
    assert outcome.ok, outcome.text
    lines = outcome.text.splitlines()
    assert "all 52 keys scanned" in lines[0]
    assert "'big:hash', 3000 elements" in lines[1]
    assert "'mid:list', 500 elements" in lines[2]
    stats = r.info("commandstats")
    assert "cmdstat_scan" in stats and "cmdstat_keys" not in stats


# -- secrets -----------------------------------------------------------------------------------


def test_password_appears_in_no_output_file_log_or_timeline(
    recorder: Recorder, workdir: Path
) -> None:
    server = services.start_redis(password=PASSWORD)
    try:
        client = redis.Redis.from_url(server.url)
        client.lpush("celery", *range(1500))
        check, data = poll(server.url)
        outcome = recorder.run(
            mitigations.build("redis", "purge", check, queue(data, "celery", QueueKind.CELERY))
        )
        assert outcome.ok, outcome.text
        wrong = RedisCheck(
            RedisSettings(url=f"redis://127.0.0.1:{server.port}/0"), timeout=2
        ).collect()
        argv = restore_command(recorder.timeline())
        done = run_cli(argv, workdir, {"REDIS_URL": server.url})
        assert done.returncode == 0, done.stderr
        assert client.llen("celery") == 1500
        outputs = [
            outcome.text,
            action_preview := outcome.action.preview,
            done.stdout,
            done.stderr,
            wrong.error or "",
            json.dumps(wrong.to_json()),
        ]
        assert "NOAUTH" in (wrong.error or "") and action_preview
        for text in outputs:
            assert PASSWORD not in text
        files = [p for p in recorder.root.rglob("*") if p.is_file()]
        files += [Path(argv[-1])]
        assert any(p.name == "audit.jsonl" for p in files)
        assert any(p.name.startswith("incidents.db") for p in files)
        for path in files:
            assert PASSWORD.encode() not in path.read_bytes(), path
        client.close()
    finally:
        services.destroy_redis(server)
