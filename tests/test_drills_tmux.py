"""The runbook drills, end to end: the installed `zconsole` in a real tmux pane at 80x24 (a phone
SSH client), real servers behind it, and every key counted from the moment the console is up
until the fix is done and recorded.

- lock chain: an idle-in-transaction session blocks an UPDATE — at most 5 keys;
- crash loop: a container restarts over and over — at most 4 keys;
- queue purge: the celery queue is 6000 deep — at most 4 keys.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.test_postgres_workload import Workload, create_database
from tests.tmux import Tmux, tmux_server

pytestmark = pytest.mark.e2e


class Drill:
    """Sends keys to the console and counts them."""

    def __init__(self, tmux: Tmux) -> None:
        self.tmux = tmux
        self.keys = 0

    def press(self, key: str) -> None:
        self.tmux.keys(key)
        self.keys += 1


@pytest.fixture
def tmux(workdir: Path) -> Iterator[Tmux]:
    with tmux_server("zc-drill") as session:
        yield session


def audit_lines() -> list[dict[str, object]]:
    path = Path(os.environ["XDG_DATA_HOME"]) / "zconsole" / "audit.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def wait_for_audit(action: str, timeout: float = 30.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [line for line in audit_lines() if line["action"] == action]
        if done:
            return done[-1]
        time.sleep(0.1)
    raise AssertionError(f"{action} never reached the audit log: {audit_lines()}")


def console_up(tmux: Tmux, workdir: Path, toml: str, ready: str) -> Drill:
    (workdir / "zconsole.toml").write_text(toml)
    tmux.start(workdir, size=(80, 24), env="TERM=xterm-256color")
    tmux.wait_for("cpu ", timeout=60)
    return Drill(tmux)


@pytest.mark.postgres
def test_lock_chain_drill_takes_at_most_5_keys(
    tmux: Tmux, workdir: Path, postgres_server: services.Postgres
) -> None:
    url = create_database(postgres_server, "drill")
    workload = Workload(url)
    try:
        holder = workload.lock_holder("t")
        waiter = workload.background("waiter", "UPDATE t SET v = v + 1 WHERE id = 1")
        workload.wait_lock_wait(waiter.pid)
        toml = f"[docker]\nenabled = false\n[postgres]\ndsn = {json.dumps(url)}\n"
        drill = console_up(tmux, workdir, toml, "PostgreSQL")
        drill.press("3")
        tmux.wait_for(f"{holder}", timeout=30)
        drill.press("B")
        tmux.wait_for(f"Terminate root blocker pid {holder}", timeout=30)
        drill.press("y")
        assert waiter.done.wait(30), "the blocked UPDATE never finished"
        assert waiter.succeeded, waiter.outcome
        assert not workload.alive(holder)
        line = wait_for_audit("postgres.terminate_root_blocker")
        assert line["outcome"] == "succeeded", line
        assert drill.keys <= 5, drill.keys
    finally:
        tmux.keys("q")
        workload.close()


@pytest.mark.docker
def test_crash_loop_drill_takes_at_most_4_keys(
    tmux: Tmux, workdir: Path, docker_engine: services.DockerEngine
) -> None:
    import docker

    client = docker.DockerClient(base_url=docker_engine.url, timeout=60)
    container = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", "echo boom; exit 1"],
        name="zc-drill-crashloop",
        detach=True,
        network_mode="none",
        restart_policy={"Name": "always"},
    )
    try:

        def restarted_twice() -> bool:
            container.reload()
            return int(container.attrs["RestartCount"]) >= 2

        services.wait_for(restarted_twice, 60, "a crash loop", interval=0.2)
        drill = console_up(tmux, workdir, f"[docker]\nhost = {json.dumps(docker_engine.url)}\n", "")
        drill.press("2")
        tmux.wait_for("zc-drill-crashloop", timeout=30)
        drill.press("S")
        tmux.wait_for("Stop container zc-drill-crashloop", timeout=30)
        drill.press("y")
        line = wait_for_audit("docker.stop", timeout=60)
        assert line["outcome"] == "succeeded", line
        container.reload()
        assert container.status == "exited", container.status
        assert drill.keys <= 4, drill.keys
    finally:
        tmux.keys("q")
        container.remove(force=True)
        client.close()


@pytest.mark.redis
def test_queue_purge_drill_takes_at_most_4_keys(
    tmux: Tmux, workdir: Path, redis_server: services.Redis
) -> None:
    import redis

    client = redis.Redis.from_url(redis_server.url)
    client.flushdb()
    client.rpush("celery", *[json.dumps({"id": i}) for i in range(6000)])
    try:
        toml = f"[docker]\nenabled = false\n[redis]\nurl = {json.dumps(redis_server.url)}\n"
        drill = console_up(tmux, workdir, toml, "")
        drill.press("4")
        tmux.wait_for("6000", timeout=30)
        drill.press("x")
        tmux.wait_for("Purge celery queue celery", timeout=30)
        drill.press("y")
        line = wait_for_audit("redis.purge", timeout=60)
        assert line["outcome"] == "succeeded", line
        assert client.llen("celery") == 0
        assert drill.keys <= 4, drill.keys
    finally:
        tmux.keys("q")
        client.flushdb()
        client.close()
