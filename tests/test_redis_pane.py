"""The Redis & queues pane through Pilot: fixed data on screen, outside text inert, keys post
MitigationRequested with the selected record, and no password on screen."""

from __future__ import annotations

import html
import os
import re
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import redis
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, Static

from tests import services
from tests.pilot import wait_until as pilot_wait_until
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Snapshot, Status
from zconsole.checks.redis import DbKeys, RedisCheck, RedisData, SlowEntry
from zconsole.checks.redis_queues import QueueInfo, QueueKind, StreamGroup
from zconsole.checks.redis_settings import RedisSettings
from zconsole.config import Config, GeneralConfig
from zconsole.widgets.confirm import ConfirmScreen
from zconsole.widgets.messages import MitigationRequested
from zconsole.widgets.redis import RedisPane
from zconsole.widgets.table import Table

PASSWORD = "pane-secret-9f3k2"
AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

QUEUES = (
    QueueInfo("celery", QueueKind.CELERY, 5000, 600.0, None, Status.CRIT, keys=("celery",)),
    QueueInfo(
        "default",
        QueueKind.RQ,
        40,
        -240.0,
        10.0,
        Status.OK,
        keys=("rq:queue:default",),
        failed=3,
        started=1,
    ),
    QueueInfo(
        "events",
        QueueKind.STREAM,
        12,
        0.0,
        None,
        Status.OK,
        keys=("events",),
        length=80,
        groups=(StreamGroup("[bold red]grp\x1b]52;c;SGVsbG8=\x07", 1, 2, 10, "0-1"),),
    ),
    QueueInfo("jobs[/]\x1b[2J", QueueKind.LIST, 7, None, None, Status.OK, keys=("jobs",)),
)

DATA = RedisData(
    target="127.0.0.1:6379/0",
    ping_ms=1.25,
    version="7.0.15",
    role="master",
    replication="master · no replicas",
    replication_ok=True,
    used_memory=900 * 1024 * 1024,
    maxmemory=1024 * 1024 * 1024,
    memory_pct=87.9,
    maxmemory_policy="allkeys-lru",
    fragmentation=1.12,
    evicted_keys=1500,
    evicted_per_s=25.0,
    expired_keys=10,
    expired_per_s=0.5,
    connected_clients=42,
    blocked_clients=3,
    ops_per_sec=1234,
    hit_rate=0.75,
    dbs=(DbKeys(0, 5123, 100),),
    slowlog=(SlowEntry(7, AT, 25_000, "SET [red]x[/red] \x1b[31mred\x1b[0m", "10.0.0.9:5000"),),
    queues=QUEUES,
    memory_status=Status.WARN,
    persistence="none",
)


def result(snapshot: Snapshot[Any]) -> CheckResult:
    good = snapshot if snapshot.error is None else None
    return CheckResult(latest=snapshot, last_good=good, last_good_at=time.monotonic())


def snapshot(
    data: RedisData | None, status: Status = Status.CRIT, error: str | None = None
) -> Snapshot[Any]:
    return Snapshot(
        check="redis",
        status=status,
        summary=error or "celery queue celery: 5000 waiting",
        collected_at=AT,
        duration_ms=3.0,
        error=error,
        data=data,
    )


def cells(table: DataTable[Any], row: int) -> list[str]:
    """Every cell of ``row``, in every column, shown at this width or not."""
    assert isinstance(table, Table)
    return [c.plain if isinstance(c, Text) else str(c) for c in table.full_row(row)]


def screen_text(app: ZConsoleApp) -> str:
    """What the screen shows: every Static's text, every table cell, and the SVG screenshot
    (which splits text at each style change, so phrases are matched in the widgets' text)."""
    parts = [html.unescape(app.export_screenshot()).replace("\xa0", " ")]
    for static in app.query(Static):
        content = static.content
        parts.append(content.plain if isinstance(content, Text) else str(content))
    for table in app.query(DataTable):
        for row in range(table.row_count):
            parts.append(" | ".join(cells(table, row)))
    return "\n".join(parts)


async def test_pane_shows_health_queues_and_slowlog_with_outside_text_inert() -> None:
    app = ZConsoleApp(Config(), [], poll=False)
    async with app.run_test(size=(110, 50)) as pilot:
        app.action_show_pane("redis")
        app.show_result(result(snapshot(DATA)))
        await pilot.pause()
        pane = app.query_one(RedisPane)
        queues = pane.query_one("#redis-queues", DataTable)
        assert queues.row_count == 4
        assert cells(queues, 0)[:6] == ["celery", "celery", "5,000", "▲ +600/min", "–", "✖ CRIT"]
        assert cells(queues, 1)[:6] == ["default", "rq", "40", "▼ -240/min", "10s", "✔ OK"]
        assert cells(queues, 1)[6] == "failed 3 · started 1"
        stream_detail = cells(queues, 2)[6]
        assert "[bold red]grp" in stream_detail and "lag 10 pend 2" in stream_detail
        assert "\x1b" not in stream_detail and "SGVsbG8" not in stream_detail
        assert cells(queues, 3)[0] == "jobs[/]"  # markup shown literally, escape dropped
        slow = pane.query_one("#redis-slowlog", DataTable)
        duration, command = cells(slow, 0)[:2]
        assert duration == "25.0"
        assert command.startswith("SET [red]x[/red] ") and "\x1b" not in command
        text = screen_text(app)
        assert "PONG 1.2 ms" in text
        assert "87.9% 900.0M/1.0G · allkeys-lru" in text
        assert "evicted 25.0/s (1500) · expired 0.5/s · hit rate 75.0%" in text
        assert "clients 42 (3 blocked) · 1234 ops/s · db0 5123 keys" in text


async def test_keys_post_mitigation_requests_with_the_selected_record() -> None:
    posted: list[MitigationRequested] = []

    def hook(message: Message) -> None:
        # The hook sees a message at each node it bubbles through: keep each one once.
        if isinstance(message, MitigationRequested) and all(m is not message for m in posted):
            posted.append(message)

    app = ZConsoleApp(Config(), [], poll=False)
    async with app.run_test(size=(110, 50), message_hook=hook) as pilot:
        app.action_show_pane("redis")
        app.show_result(result(snapshot(DATA)))
        await pilot.pause()
        app.query_one("#redis-queues", DataTable).focus()
        await pilot.press("x")  # purge the selected (first) queue: celery
        await pilot.press("f")  # celery is not RQ: nothing posted
        await pilot.press("down", "f")  # the RQ queue: requeue its failed jobs
        await pilot.press("down", "x")  # a stream: not purged
        await pilot.press("F", "b")
        await pilot.pause()
    assert [(m.source, m.action) for m in posted] == [
        ("redis", "purge"),
        ("redis", "requeue_failed"),
        ("redis", "flushdb"),
        ("redis", "bigkeys"),
    ]
    assert posted[0].record is QUEUES[0]
    assert posted[1].record is QUEUES[1]
    assert posted[2].record is DATA


@pytest.fixture(scope="module")
def private_redis() -> Iterator[services.Redis]:
    server = services.start_redis(password=PASSWORD)
    yield server
    services.destroy_redis(server)


@pytest.mark.redis
async def test_no_password_on_screen_with_real_data_and_auth_errors(
    private_redis: services.Redis,
) -> None:
    good = RedisCheck(RedisSettings(url=private_redis.url), timeout=2.0).collect()
    assert good.error is None, good.error
    bad_url = f"redis://:{PASSWORD}x@127.0.0.1:{private_redis.port}/0"
    wrong = RedisCheck(RedisSettings(url=bad_url), timeout=2.0).collect()
    assert wrong.error is not None and "WRONGPASS" in wrong.error
    app = ZConsoleApp(Config(), [], poll=False)
    async with app.run_test(size=(110, 50)) as pilot:
        app.action_show_pane("redis")
        app.show_result(CheckResult(latest=good, last_good=good, last_good_at=time.monotonic()))
        await pilot.pause()
        shown_good = screen_text(app)
        app.show_result(CheckResult(latest=wrong, last_good=good, last_good_at=time.monotonic()))
        await pilot.pause()
        shown_error = screen_text(app)
    assert "PONG" in shown_good
    assert "WRONGPASS" in shown_error
    for text in (shown_good, shown_error):
        assert PASSWORD not in text


# Waits in this module: bounded at 30 s, polled every 0.02 s.
wait_until = partial(pilot_wait_until, timeout=30.0, step=0.02)


@pytest.mark.redis
async def test_purge_from_the_pane_end_to_end_leaves_no_password_behind(
    private_redis: services.Redis, tmp_path: Path, workdir: Path
) -> None:
    client = redis.Redis.from_url(private_redis.url)
    client.flushdb()
    client.lpush("celery", *(f"task-{i}" for i in range(1500)))
    before = client.lrange("celery", 0, -1)
    store = tmp_path / "state" / "incidents.db"
    store.parent.mkdir()
    check = RedisCheck(RedisSettings(url=private_redis.url), timeout=2.0)
    app = ZConsoleApp(Config(general=GeneralConfig(store=str(store))), [check], poll=False)
    async with app.run_test(size=(110, 50)) as pilot:
        assert app.incidents is not None
        incident = app.incidents.declare(title="Celery backlog", severity="P1")
        assert incident is not None
        app.action_show_pane("redis")
        snap = check.collect()
        app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
        await pilot.pause()
        app.query_one("#redis-queues", DataTable).focus()
        await pilot.press("x")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        shown_modal = screen_text(app)
        await pilot.press("y")
        await wait_until(pilot, lambda: not client.exists("celery"))
        await app.workers.wait_for_complete()
        shown_after = screen_text(app)
        timeline = [e.text for e in app.incidents.store.entries(incident.id)]
    found = [m for t in timeline for m in re.findall(r"zconsole redis-restore \S+\.jsonl", t)]
    assert found, timeline
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", *shlex.split(found[-1])[1:]],
        cwd=workdir,
        env={**os.environ, "REDIS_URL": private_redis.url},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert client.lrange("celery", 0, -1) == before
    client.flushdb()
    client.close()
    assert "redis-restore" in shown_modal  # the preview names the undo before confirming
    for text in (shown_modal, shown_after, done.stdout, done.stderr, *timeline):
        assert PASSWORD not in text
    # The store is where --store says; the audit log is in the data dir whatever it says.
    data_dir = Path(os.environ["XDG_DATA_HOME"]) / "zconsole"
    files = [p for folder in (store.parent, data_dir) for p in folder.rglob("*") if p.is_file()]
    assert {"audit.jsonl", "incidents.db"} <= {p.name for p in files}
    for path in [*files, Path(shlex.split(found[-1])[-1])]:
        assert PASSWORD.encode() not in path.read_bytes(), path
