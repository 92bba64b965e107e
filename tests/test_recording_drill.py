"""`zconsole record` through a real drill: a container, PostgreSQL, a Redis backlog that goes
CRIT and recovers, an incident declared in between; then history, snapshot --at and the
postmortem export read what was recorded."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests import services
from zconsole.checks.base import Status
from zconsole.checks.docker import DockerData
from zconsole.checks.postgres import PostgresData
from zconsole.checks.redis import RedisData
from zconsole.recording.reader import RecordingReader
from zconsole.store import IncidentStore

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.docker]

QUEUE = "zc-drill"
CONTAINER = "zc-drill-web"
BACKLOG = 300
SESSIONS = 3
INTERVAL_S = 0.5


@dataclass(frozen=True)
class Drill:
    workdir: Path
    config: Path
    recording: Path
    store: Path
    crit_at: datetime
    ok_at: datetime
    declared_at: datetime
    incident_id: str
    env: dict[str, str]


def _config(recording: Path, pg: services.Postgres, redis: services.Redis, url: str) -> str:
    calm = {
        "cpu_warn": 101.0,
        "cpu_crit": 102.0,
        "memory_warn": 101.0,
        "memory_crit": 102.0,
        "disk_warn": 101.0,
        "disk_crit": 102.0,
        "swap_warn": 101.0,
        "swap_crit": 102.0,
        "load_warn_per_core": 1000.0,
        "load_crit_per_core": 2000.0,
    }
    lines = ["[host]", *(f"{k} = {v}" for k, v in calm.items())]
    lines += ["[docker]", f'host = "{url}"']
    lines += ["[postgres]", f'dsn = "{pg.dsn}"']
    lines += [
        "[redis]",
        f'url = "{redis.url}"',
        f'celery_queues = ["{QUEUE}"]',
        "queue_warn = 100",
        "queue_crit = 200",
        "[recording]",
        f'path = "{recording}"',
    ]
    return "\n".join(lines) + "\n"


def _transition(recording: Path, source: str, new: Status, after: datetime) -> datetime | None:
    if not recording.exists():
        return None
    with RecordingReader(recording) as reader:
        for change in reader.transitions(since=after, source=source):
            if change.new is new:
                return change.at
    return None


def _wait_transition(recording: Path, source: str, new: Status, after: datetime) -> datetime:
    found: list[datetime] = []

    def seen() -> bool:
        at = _transition(recording, source, new, after)
        if at is not None:
            found.append(at)
        return at is not None

    services.wait_for(seen, 60, f"{source} recorded as {new.value}", interval=0.2)
    return found[0]


def _all_recorded(recording: Path) -> bool:
    if not recording.exists():
        return False
    with RecordingReader(recording) as reader:
        now = datetime.now(UTC)
        snaps = reader.at(now)
        return all(
            name in snaps and snaps[name].ok_data for name in ("docker", "postgres", "redis")
        )


@pytest.fixture(scope="module")
def drill(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_server: services.Postgres,
    redis_server: services.Redis,
    docker_engine: services.DockerEngine,
) -> Iterator[Drill]:
    import docker
    import psycopg
    import redis

    workdir = tmp_path_factory.mktemp("drill")
    recording = workdir / "recording.sqlite3"
    store_path = workdir / "incidents.sqlite3"
    config = workdir / "zconsole.toml"
    config.write_text(_config(recording, postgres_server, redis_server, docker_engine.url))
    home = workdir / "home"
    env = {
        **os.environ,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "XDG_DATA_HOME": str(home / ".local" / "share"),
    }
    client = docker.DockerClient(base_url=docker_engine.url, timeout=60)
    queue = redis.Redis.from_url(redis_server.url)
    queue.delete(QUEUE)
    argv = ["-c", str(config), "--store", str(store_path), "record", "--interval", str(INTERVAL_S)]
    recorder = subprocess.Popen(
        [sys.executable, "-m", "zconsole", *argv],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    container = None
    # The app's own sessions: the recorder leaves its own out of the count.
    sessions = [psycopg.connect(postgres_server.dsn, autocommit=True) for _ in range(SESSIONS)]
    try:
        container = client.containers.run(
            services.BUSYBOX_IMAGE,
            ["sleep", "600"],
            name=CONTAINER,
            detach=True,
            network_mode="none",
        )
        services.wait_for(lambda: _all_recorded(recording), 60, "docker, postgres, redis")
        start = datetime.now(UTC)
        queue.rpush(QUEUE, *[f"job-{i}" for i in range(BACKLOG)])
        crit_at = _wait_transition(recording, "redis", Status.CRIT, start)
        time.sleep(2.0)
        store = IncidentStore(store_path)
        declared_at = datetime.now(UTC)
        incident = store.declare(
            title="Queue backlog", severity="P1", author="drill", now=declared_at
        )
        time.sleep(1.5)
        queue.delete(QUEUE)
        ok_at = _wait_transition(recording, "redis", Status.OK, crit_at)
        time.sleep(1.0)
        store.set_status(incident.id, "resolved", "drill")
        time.sleep(1.0)
    finally:
        recorder.send_signal(signal.SIGTERM)
        _out, err = recorder.communicate(timeout=30)
        if container is not None:
            container.remove(force=True)
        client.close()
        queue.close()
        for session in sessions:
            session.close()
    assert recorder.returncode == 0, err
    yield Drill(
        workdir, config, recording, store_path, crit_at, ok_at, declared_at, incident.id, env
    )


def _cli(d: Drill, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "zconsole", "-c", str(d.config), "--store", str(d.store), *argv],
        cwd=d.workdir,
        env=d.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_recorder_records_a_real_drill(drill: Drill) -> None:
    during = drill.crit_at + (drill.ok_at - drill.crit_at) / 2
    with RecordingReader(drill.recording) as reader:
        moment = reader.at(during)
        after = reader.at(drill.ok_at + timedelta(seconds=0.5))
    docker_data = moment["docker"].data
    assert isinstance(docker_data, DockerData)
    web = [c for c in docker_data.containers if c.name == CONTAINER]
    assert web and web[0].state == "running"
    pg = moment["postgres"].data
    assert isinstance(pg, PostgresData) and pg.connections.total >= SESSIONS
    redis_data = moment["redis"].data
    assert isinstance(redis_data, RedisData)
    assert moment["redis"].status is Status.CRIT
    assert {q.name: q.depth for q in redis_data.queues}[QUEUE] == BACKLOG
    later = after["redis"].data
    assert isinstance(later, RedisData) and after["redis"].status is Status.OK
    assert {q.name: q.depth for q in later.queues}[QUEUE] == 0


def test_history_lists_the_crit_and_its_recovery(drill: Drill) -> None:
    done = _cli(drill, "history", "--since", "-1h", "--source", "redis")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    crit = [i for i, line in enumerate(lines) if re.search(r"redis\s+OK → CRIT", line)]
    recovered = [i for i, line in enumerate(lines) if re.search(r"redis\s+CRIT → OK", line)]
    assert crit and recovered and crit[0] < recovered[-1], done.stdout
    assert f"{drill.crit_at:%H:%M:%S}" in lines[crit[0]]
    as_json = _cli(drill, "history", "--since", "1h", "--json")
    rows = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert any(r["source"] == "redis" and (r["from"], r["to"]) == ("ok", "crit") for r in rows)


def test_snapshot_at_returns_the_recorded_past(drill: Drill) -> None:
    during = drill.crit_at + (drill.ok_at - drill.crit_at) / 2
    done = _cli(drill, "snapshot", "--json", "--at", during.isoformat())
    assert done.returncode == 2, done.stderr  # the worst then was CRIT: the Nagios exit code
    report = json.loads(done.stdout)
    assert report["version"] == 1 and report["recorded_at"] == during.isoformat()
    assert report["worst"] == "crit"
    redis_then = report["checks"]["redis"]
    assert redis_then["status"] == "crit"
    assert {q["name"]: q["depth"] for q in redis_then["data"]["queues"]}[QUEUE] == BACKLOG
    assert {"host", "docker", "postgres", "redis"} <= set(report["checks"])
    calm = _cli(drill, "snapshot", "--at", (drill.ok_at + timedelta(seconds=0.5)).isoformat())
    assert calm.returncode == 0, calm.stdout
    assert "(recorded, " in calm.stdout
    gone = _cli(drill, "snapshot", "--at", "2001-01-01T00:00:00")
    assert gone.returncode == 3 and "nothing recorded at" in gone.stderr


def test_the_postmortem_holds_the_transitions_time_to_detect_and_charts(drill: Drill) -> None:
    out = drill.workdir / "export"
    done = _cli(drill, "incidents", "export", drill.incident_id, "--out", str(out))
    assert done.returncode == 0, done.stderr
    markdown = Path(done.stdout.strip())
    text = markdown.read_text(encoding="utf-8")
    assert re.search(r"\| – \| [\d:]+ \| recorder \| recorded \| redis OK → CRIT: ", text), text
    assert re.search(r"\| recorder \| recorded \| redis CRIT → OK: ", text)
    # The recorded CRIT comes before the declaration (the store's first entry) in the timeline.
    assert text.index("redis OK → CRIT") < text.index("\n| 1 | ")
    detect = re.search(r"\*\*Time to detect:\*\* (\d+) s \(first CRIT → declared", text)
    assert detect, text
    expected = (drill.declared_at - drill.crit_at).total_seconds()
    assert abs(int(detect.group(1)) - expected) <= 1
    assert f"**First CRIT recorded:** {drill.crit_at:%Y-%m-%d %H:%M:%S} UTC (redis" in text
    mitigate = re.search(r"\*\*Time to mitigate:\*\* (\d+) s", text)
    assert (
        mitigate
        and abs(int(mitigate.group(1)) - (drill.ok_at - drill.declared_at).total_seconds()) <= 1
    )
    links = re.findall(r"!\[([^\]]+)\]\(([^)]+\.svg)\)", text)
    titles = {title for title, _ in links}
    assert {"PostgreSQL connections", "Queue depth", "Memory", "Disk use"} <= titles, links
    for _title, link in links:
        chart = ET.parse(markdown.parent / link).getroot()
        assert chart.tag.endswith("svg")
        lines = [e for e in chart.iter() if e.tag.endswith("polyline")]
        assert lines and all(len(e.attrib["points"].split()) >= 2 for e in lines)
    queue_chart = (markdown.parent / dict((t, p) for t, p in links)["Queue depth"]).read_text()
    assert QUEUE in queue_chart and "declared" in queue_chart and "first CRIT" in queue_chart


def test_a_container_that_dies_is_recorded_at_once_not_at_the_next_poll(
    workdir: Path, docker_engine: services.DockerEngine
) -> None:
    """The recorder polls every 30 s here; the engine's event of the kill makes it poll now."""
    import docker

    recording = workdir / "recording.sqlite3"
    config = workdir / "zconsole.toml"
    config.write_text(
        f'[docker]\nhost = "{docker_engine.url}"\n[recording]\npath = "{recording}"\n'
    )
    client = docker.DockerClient(base_url=docker_engine.url, timeout=60)
    container = client.containers.run(
        services.BUSYBOX_IMAGE, ["sleep", "600"], name="zc-dies", detach=True, network_mode="none"
    )
    recorder = subprocess.Popen(
        [sys.executable, "-m", "zconsole", "-c", str(config), "record", "--interval", "30"],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )

    def state_of_dies() -> str:
        if not recording.exists():
            return ""
        with RecordingReader(recording) as reader:
            snapshot = reader.snapshot_at("docker", datetime.now(UTC))
        data = snapshot.data if snapshot is not None else None
        if not isinstance(data, DockerData):
            return ""
        return next((c.state for c in data.containers if c.name == "zc-dies"), "")

    try:
        services.wait_for(lambda: state_of_dies() == "running", 60, "the first docker poll")
        killed = time.monotonic()
        container.kill()
        services.wait_for(lambda: state_of_dies() == "exited", 15, "the kill recorded")
        assert time.monotonic() - killed < 15  # well before the next 30 s poll
    finally:
        recorder.send_signal(signal.SIGTERM)
        _out, err = recorder.communicate(timeout=30)
        container.remove(force=True)
        client.close()
    assert recorder.returncode == 0, err
