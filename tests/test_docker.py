"""The docker check, its CLI output and its mitigations against a real throwaway Engine.

One module-scoped "zoo" of containers covers every state the pane must tell apart: crash-looping
(restart policy always), unhealthy (failing health check), OOM-killed (8 MB limit), exited 1,
healthy, and 50 plain running ones — all in Compose project ``zoo`` so grouping is exercised.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import docker
import pytest
from rich.text import Text
from textual.widgets import DataTable, RichLog, Static

from tests import services
from zconsole.actions import ActionError, Risk
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Status
from zconsole.checks.container_logs import (
    LogLine,
    compile_filter,
    error_rate,
    fetch_tails,
    first_error,
    follow_stream,
    parse_engine_time,
    split_chunk,
    ts_epoch,
)
from zconsole.checks.docker import ContainerInfo, DockerCheck, DockerData, classify
from zconsole.checks.docker_client import EngineClient, engine_client
from zconsole.checks.docker_settings import DockerSettings
from zconsole.checks.secrets import MASK, register_secret
from zconsole.config import Config
from zconsole.mitigations import available, build
from zconsole.widgets.confirm import ConfirmScreen
from zconsole.widgets.container_logs import ContainerLogsScreen
from zconsole.widgets.containers import COLUMNS, ContainersPane
from zconsole.widgets.table import Table

pytestmark = pytest.mark.docker

PROJECT = "zoo"
PLAIN = 50
HOUR = ["sleep", "3600"]
SECOND_NS = 1_000_000_000


def _labels(service: str) -> dict[str, str]:
    return {
        "com.docker.compose.project": PROJECT,
        "com.docker.compose.service": service,
        "zconsole.test": "docker",
    }


#: name -> keyword arguments of containers.run (image, network none and detach added).
SPECS: dict[str, dict[str, Any]] = {
    "zc-crash": {
        "command": ["sh", "-c", "exit 1"],
        "restart_policy": {"Name": "always"},
        "labels": _labels("crash"),
    },
    "zc-unhealthy": {
        "command": HOUR,
        "healthcheck": {"test": ["CMD", "false"], "interval": SECOND_NS, "retries": 1},
        "labels": _labels("unhealthy"),
    },
    "zc-oom": {
        # Doubles a shell string until the 8 MB limit kills it; after a second, so that the
        # runtime watches the container's OOM events by then (an OOM in the first few ms of a
        # container's life, on a busy machine, can go unrecorded: OOMKilled false).
        "command": ["sh", "-c", "sleep 1; x=a; while true; do x=$x$x; done"],
        "mem_limit": "8m",
        "memswap_limit": "8m",
        "labels": _labels("oom"),
    },
    "zc-exit1": {"command": ["sh", "-c", "exit 1"], "labels": _labels("exit1")},
    "zc-healthy": {
        "command": HOUR,
        "healthcheck": {"test": ["CMD", "true"], "interval": SECOND_NS, "retries": 1},
        "labels": _labels("healthy"),
    },
    "zc-logs": {
        # A screen clear, an OSC 52 clipboard write and Rich markup in the log; an error on stderr.
        "command": [
            "sh",
            "-c",
            "printf 'clear\\033[2Jhere\\n'; printf 'clip\\033]52;c;SGVsbG8=\\007board\\n'; "
            "echo '[bold red]not markup[/bold red]'; echo 'ERROR boom' >&2; "
            "echo 'plain line'; sleep 3600",
        ],
        "labels": _labels("logs"),
    },
    **{f"zc-plain-{i:02d}": {"command": HOUR, "labels": _labels("plain")} for i in range(PLAIN)},
}


def client_of(engine: services.DockerEngine) -> docker.DockerClient:
    return docker.DockerClient(base_url=engine.url, timeout=60)


def wait_for(predicate: Callable[[], object], timeout: float, what: str) -> None:
    services.wait_for(predicate, timeout, what, 0.2)


def _state(client: docker.DockerClient, name: str) -> dict[str, Any]:
    attrs: dict[str, Any] = client.api.inspect_container(name)
    return attrs


@pytest.fixture(scope="module")
def zoo(docker_engine: services.DockerEngine) -> Iterator[dict[str, str]]:
    """Start every container of SPECS (4 at a time: a 2-core machine), wait for their states."""
    client = client_of(docker_engine)

    def run(name: str) -> tuple[str, str]:
        container = client.containers.run(
            services.BUSYBOX_IMAGE,
            name=name,
            detach=True,
            network_mode="none",
            **SPECS[name],
        )
        return name, str(container.id)

    with ThreadPoolExecutor(max_workers=4) as pool:
        ids = dict(pool.map(run, SPECS))
    try:
        wait_for(lambda: _state(client, "zc-crash")["RestartCount"] >= 1, 60, "crash loop")
        wait_for(
            lambda: _state(client, "zc-unhealthy")["State"]["Health"]["Status"] == "unhealthy",
            60,
            "unhealthy",
        )
        wait_for(
            lambda: _state(client, "zc-healthy")["State"]["Health"]["Status"] == "healthy",
            60,
            "healthy",
        )
        wait_for(lambda: _state(client, "zc-exit1")["State"]["Status"] == "exited", 60, "exit1")
        for _ in range(5):
            wait_for(lambda: _state(client, "zc-oom")["State"]["Status"] == "exited", 60, "oom")
            oom = _state(client, "zc-oom")["State"]
            if oom["OOMKilled"]:
                break
            # dockerd 20.10 drops the flag when the runtime's OOM event comes after the exit
            # (the kernel did kill it: exit 137). A race of the engine's; run it again.
            client.api.start("zc-oom")
        assert oom["OOMKilled"] is True, f"no OOM kill here: {oom}"
        yield ids
    finally:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda cid: client.api.remove_container(cid, force=True), ids.values()))
        client.close()


def poll(check: DockerCheck) -> DockerData:
    snapshot = check.collect()
    assert snapshot.error is None, snapshot.error
    assert snapshot.data is not None
    return snapshot.data


def poll_until_stats(check: DockerCheck, timeout: float = 30.0) -> DockerData:
    """Poll as the app does until every running container has its memory and CPU % (the first
    poll does not wait for them). A crash-looper, up for an instant on a new stream each time,
    is left out."""
    deadline = time.monotonic() + timeout
    while True:
        data = poll(check)
        missing = [
            c.name
            for c in data.containers
            if c.state == "running"
            and not c.restart_count
            and (c.mem_bytes is None or c.cpu_percent is None)
        ]
        if not missing:
            return data
        assert time.monotonic() < deadline, f"stats still missing for {missing[:5]}"
        time.sleep(0.5)


def collect(url: str, **config: Any) -> DockerData:
    check = DockerCheck(DockerSettings(**config), url, timeout=10)
    try:
        return poll(check)
    finally:
        check.close()


def by_name(data: DockerData) -> dict[str, ContainerInfo]:
    return {c.name: c for c in data.containers}


# -- the check -----------------------------------------------------------------------------------


def test_every_state_is_told_apart(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    try:
        first = poll(check)
        # The first poll lists every container at once; stats it has not got yet are pending.
        assert set(zoo) <= set(by_name(first))
        without = [c for c in first.containers if c.state == "running" and c.mem_bytes is None]
        assert first.stats_pending == len(without)
        data = poll_until_stats(check)
    finally:
        check.close()
    found = by_name(data)
    assert set(zoo) <= set(found)

    crash = found["zc-crash"]
    assert crash.restart_count >= 1
    assert crash.problem in ("RESTARTING", "CRASH-LOOP", "RESTARTED")
    assert crash.status in (Status.CRIT, Status.WARN)

    unhealthy = found["zc-unhealthy"]
    assert (unhealthy.state, unhealthy.health, unhealthy.problem) == (
        "running",
        "unhealthy",
        "UNHEALTHY",
    )
    oom = found["zc-oom"]
    assert oom.oom_killed is True and oom.problem == "OOM-KILLED" and oom.exit_code == 137
    assert oom.mem_bytes is None  # no stats for a stopped container
    exit1 = found["zc-exit1"]
    assert (exit1.state, exit1.exit_code, exit1.problem) == ("exited", 1, "EXITED 1")
    healthy = found["zc-healthy"]
    assert (healthy.state, healthy.health, healthy.problem) == ("running", "healthy", "")

    plain = [c for name, c in found.items() if name.startswith("zc-plain-")]
    assert len(plain) == PLAIN
    for c in plain:
        assert (c.state, c.health, c.problem, c.restart_count, c.oom_killed) == (
            "running",
            "",
            "",
            0,
            False,
        )
        assert (c.compose_project, c.compose_service) == (PROJECT, "plain")
        assert c.image == services.BUSYBOX_IMAGE
        assert c.started_at is not None and parse_engine_time(c.started_at) is not None
        assert c.mem_bytes is not None and c.mem_bytes > 0
        assert c.mem_limit_bytes is not None and c.mem_limit_bytes >= c.mem_bytes

    # Problems first; the status is the worst of them, and the summary names them in words.
    flags = [bool(c.problem) for c in data.containers]
    assert flags == sorted(flags, reverse=True)
    assert "unhealthy" in " ".join(c.health for c in data.containers)


def test_cpu_percent_comes_from_samples_the_check_keeps(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    client = client_of(docker_engine)
    busy = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", "while true; do :; done"],
        name="zc-busy",
        detach=True,
        network_mode="none",
        labels={"zconsole.test": "docker"},
    )
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    try:

        def busy_cpu() -> float:
            snapshot = check.collect()
            assert snapshot.data is not None, snapshot.error
            return by_name(snapshot.data)["zc-busy"].cpu_percent or 0.0

        wait_for(lambda: busy_cpu() > 20.0, 30, "a busy loop shows CPU")

        def idle_cpu() -> float | None:
            return by_name(check.collect().data)["zc-plain-00"].cpu_percent  # type: ignore[arg-type]

        wait_for(lambda: idle_cpu() is not None, 30, "an idle container's CPU")
        idle = idle_cpu()
        assert idle is not None and idle < 20.0
    finally:
        check.close()
        busy.remove(force=True)
        client.close()


def test_stats_come_from_the_cgroup_files_here_and_from_the_engine_for_a_remote_one(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """On this host memory and CPU come from the containers' cgroup files, with no thread but
    the events follower: the same memory used and limit as the engine's own stats answer. An
    engine on another host (here: the same one, its cgroups taken as unreadable) is asked for
    one-shot stats from a small background pool, with the same figures."""
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    remote = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    remote._local = False  # as for an engine on another host
    client = client_of(docker_engine)
    plain = zoo["zc-plain-00"]
    try:
        local = by_name(poll_until_stats(check))["zc-plain-00"]
        assert check._cgroups[plain][1] is not None  # read from its cgroup files
        pools = [
            t.name for t in threading.enumerate() if t.name.startswith(("docker-st", "docker-in"))
        ]
        assert pools == [], pools  # no stats thread, and the cold start's inspect pool has ended
        engine = client.api.stats(plain, stream=False, one_shot=True)
        memory = engine["memory_stats"]
        extra = memory.get("stats") or {}
        used = memory["usage"] - extra.get("total_inactive_file", extra.get("inactive_file", 0))
        assert local.mem_bytes is not None and abs(local.mem_bytes - used) <= 256 * 1024
        assert local.mem_limit_bytes == memory["limit"]
        assert local.cpu_percent is not None and 0.0 <= local.cpu_percent < 20.0

        far = by_name(poll_until_stats(remote))["zc-plain-00"]
        assert not remote._cgroups  # never looked for them
        assert far.mem_bytes is not None and abs(far.mem_bytes - used) <= 256 * 1024
        assert far.mem_limit_bytes == memory["limit"]
        assert far.cpu_percent is not None and 0.0 <= far.cpu_percent < 20.0
        pool = [t for t in threading.enumerate() if t.name.startswith("docker-stats")]
        assert 0 < len(pool) <= 16
    finally:
        check.close()
        remote.close()
        client.close()


def test_engine_event_calls_back_within_a_second(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """A container that dies: its die event reaches on_event and the next poll shows it."""
    events: list[Any] = []
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    check.on_event = events.append
    client = client_of(docker_engine)
    try:
        assert check.collect().error is None
        dying = client.containers.run(
            services.BUSYBOX_IMAGE,
            ["sh", "-c", "sleep 1; exit 7"],
            name="zc-dies",
            detach=True,
            network_mode="none",
        )
        wait_for(lambda: any(e.action == "die" and e.name == "zc-dies" for e in events), 30, "die")
        die = next(e for e in events if e.action == "die" and e.name == "zc-dies")
        assert die.for_timeline and "exit code 7" in die.text
        found = by_name(check.collect().data)  # type: ignore[arg-type]
        assert found["zc-dies"].problem == "EXITED 7"
        dying.remove(force=True)
    finally:
        check.close()
        client.close()


def test_missing_socket_is_one_clear_message_and_backs_off(tmp_path: Path) -> None:
    check = DockerCheck(DockerSettings(), f"unix://{tmp_path}/docker.sock", timeout=2)
    first = check.collect()
    assert first.status is Status.ERROR
    assert first.error is not None and "does not exist" in first.error
    assert "systemctl start docker" in first.error and "DOCKER_HOST" in first.error
    second = check.collect()
    assert second.error is not None and "retrying in" in second.error
    check.close()


def test_permission_denied_names_the_docker_group(tmp_path: Path) -> None:
    import socket

    path = tmp_path / "docker.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(1)
        path.chmod(0)
        # Root ignores file modes; drop to nobody in a child to see what a user sees.
        code = (
            "import os\n"
            "from zconsole.checks.docker import DockerCheck\n"
            "from zconsole.checks.docker_settings import DockerSettings\n"
            f"check = DockerCheck(DockerSettings(), 'unix://{path}', timeout=2)\n"
            "os.setgid(65534); os.setuid(65534)\n"
            "print(check.collect().error)\n"
        )
        tmp_path.chmod(0o755)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd="/"
        )
    assert "sudo usermod -aG docker $USER" in done.stdout, done.stdout + done.stderr


def test_closed_tcp_port_says_connection_refused() -> None:
    port = services.closed_port()
    check = DockerCheck(DockerSettings(), f"tcp://127.0.0.1:{port}", timeout=2)
    snapshot = check.collect()
    check.close()
    assert snapshot.error is not None
    assert "connection refused" in snapshot.error and f"127.0.0.1:{port}" in snapshot.error


def test_classify_words() -> None:
    assert classify("restarting", "", 1, False) == ("RESTARTING", Status.CRIT)
    assert classify("running", "", None, False, restart_count=5, up_for_s=2.0)[0] == "CRASH-LOOP"
    assert classify("running", "", None, False, restart_count=5, up_for_s=600.0)[0] == ""
    assert classify("exited", "", 0, False) == ("", Status.OK)
    assert classify("exited", "", 137, True) == ("OOM-KILLED", Status.CRIT)


# -- snapshot --json -----------------------------------------------------------------------------


def test_snapshot_json_has_every_state(
    docker_engine: services.DockerEngine, zoo: dict[str, str], workdir: Path
) -> None:
    env = {**os.environ, "DOCKER_HOST": docker_engine.url}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "zconsole", "snapshot", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=workdir,
    )
    report = json.loads(done.stdout)
    docker_json = report["checks"]["docker"]
    assert docker_json["status"] == "crit", docker_json["summary"]
    rows = {c["name"]: c for c in docker_json["data"]["containers"]}
    fields = {
        "name",
        "id",
        "image",
        "state",
        "health",
        "restart_count",
        "exit_code",
        "oom_killed",
        "cpu_percent",
        "mem_bytes",
        "mem_limit_bytes",
        "compose_project",
        "compose_service",
        "started_at",
    }
    assert fields <= set(rows["zc-plain-00"])
    assert rows["zc-unhealthy"]["health"] == "unhealthy"
    assert rows["zc-healthy"]["health"] == "healthy"
    assert rows["zc-oom"]["oom_killed"] is True and rows["zc-oom"]["exit_code"] == 137
    assert rows["zc-exit1"]["state"] == "exited" and rows["zc-exit1"]["exit_code"] == 1
    assert rows["zc-crash"]["restart_count"] >= 1
    assert rows["zc-crash"]["problem"] in ("RESTARTING", "CRASH-LOOP", "RESTARTED")
    plain = [r for n, r in rows.items() if n.startswith("zc-plain-")]
    assert len(plain) == PLAIN
    assert all(r["state"] == "running" for r in plain)
    # `snapshot` is one poll, which waits for the stats samples: every plain one has memory.
    assert all(r["mem_bytes"] is not None and r["mem_bytes"] > 0 for r in plain)
    running = [r for r in rows.values() if r["state"] == "running"]
    pending = sum(1 for r in running if r["mem_bytes"] is None)
    assert docker_json["data"]["stats_pending"] == pending
    assert all(r["compose_project"] == PROJECT and r["compose_service"] == "plain" for r in plain)
    assert rows["zc-plain-00"]["id"] == zoo["zc-plain-00"]


#: Modules of the docker SDK and of the HTTP stack it brought along beside httpx.
SDK_MODULES = ("docker", "requests", "urllib3", "charset_normalizer")


def _sdk(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if m.split(".")[0] in SDK_MODULES)


def test_the_console_never_imports_the_docker_sdk(
    docker_engine: services.DockerEngine, zoo: dict[str, str], workdir: Path
) -> None:
    """The docker SDK is test-only (pyproject): ``zconsole snapshot`` against a real engine,
    and every console module with the engine's users (discovery, logs, mitigations) at work,
    import none of it, nor requests/urllib3 it pulled in beside httpx."""
    env = {**os.environ, "DOCKER_HOST": docker_engine.url}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "zconsole", "snapshot", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=workdir,
    )
    report = json.loads(done.stdout)
    assert report["checks"]["docker"]["data"]["containers"], report["checks"]["docker"]
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "zconsole.checks.docker" in imported
    assert _sdk(imported) == []

    code = (
        "import importlib, json, pkgutil, sys\n"
        "import zconsole\n"
        "for module in pkgutil.walk_packages(zconsole.__path__, 'zconsole.'):\n"
        "    if not module.name.endswith('__main__'):\n"
        "        importlib.import_module(module.name)\n"
        "from zconsole.checks.container_logs import fetch_tails\n"
        "from zconsole.checks.docker import DockerCheck\n"
        "from zconsole.checks.docker_settings import DockerSettings\n"
        "from zconsole.discovery.engine import containers\n"
        "from zconsole.mitigations import build\n"
        f"url = {docker_engine.url!r}\n"
        "found = containers(url)\n"
        "check = DockerCheck(DockerSettings(), url, timeout=10)\n"
        "data = check.collect().data\n"
        "logs = [c for c in data.containers if c.name == 'zc-logs'][0]\n"
        "fetch_tails(check.client, [logs.id], [logs.name], 5)\n"
        "gone = [c for c in data.containers if c.name == 'zc-exit1'][0]\n"
        "build('docker', 'start', check, gone).preview\n"
        "check.close()\n"
        "print(json.dumps([len(found), sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=workdir
    )
    assert done.returncode == 0, done.stderr
    found, modules = json.loads(done.stdout)
    assert found >= len(zoo)
    assert _sdk(set(modules)) == []


# -- mitigations ---------------------------------------------------------------------------------


def test_every_mitigation_is_registered() -> None:
    assert set(available("docker")) >= {
        "restart",
        "stop",
        "start",
        "kill",
        "remove",
        "pause",
        "unpause",
        "restart_service",
    }


def test_restart_execute_changes_started_at(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    client = client_of(docker_engine)
    try:
        snapshot = check.collect()
        assert snapshot.data is not None
        target = by_name(snapshot.data)["zc-plain-01"]
        action = build("docker", "restart", check, target)
        assert action.risk is Risk.DISRUPTIVE
        assert f"POST /containers/{target.id[:12]}/restart?t=10" in action.preview
        assert "zc-plain-01" in action.preview
        before = _state(client, target.id)["State"]["StartedAt"]
        result = action.execute()
        after = _state(client, target.id)["State"]["StartedAt"]
        assert after != before
        assert f"StartedAt {after}" in result and "restarted zc-plain-01" in result
    finally:
        check.close()
        client.close()


def test_stop_start_kill_pause_remove_and_service_restart(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    client = client_of(docker_engine)
    labels = {
        "com.docker.compose.project": "victims",
        "com.docker.compose.service": "web",
        "zconsole.test": "docker",
    }
    made = [
        client.containers.run(
            services.BUSYBOX_IMAGE,
            HOUR,
            name=f"zc-victim-{i}",
            detach=True,
            network_mode="none",
            labels=labels,
        )
        for i in range(2)
    ]
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    try:

        def record(name: str) -> ContainerInfo:
            snapshot = check.collect()
            assert snapshot.data is not None, snapshot.error
            return by_name(snapshot.data)[name]

        stop = build("docker", "stop", check, record("zc-victim-0"))
        assert "stopped zc-victim-0: exit code" in stop.execute()
        assert record("zc-victim-0").state == "exited"
        start = build("docker", "start", check, record("zc-victim-0"))
        assert "started zc-victim-0: StartedAt" in start.execute()
        assert record("zc-victim-0").state == "running"

        pause = build("docker", "pause", check, record("zc-victim-1"))
        assert "state paused" in pause.execute()
        unpause = build("docker", "unpause", check, record("zc-victim-1"))
        assert "state running" in unpause.execute()

        service = build("docker", "restart_service", check, record("zc-victim-1"))
        assert service.preview.count("/restart?t=10") == 2
        assert "zc-victim-0" in service.preview and "zc-victim-1" in service.preview
        assert "2 containers" in service.execute()

        kill = build("docker", "kill", check, record("zc-victim-0"))
        assert kill.risk is Risk.DISRUPTIVE and kill.target == "zc-victim-0"  # one container
        assert "exit code 137" in kill.execute()
        remove = build("docker", "remove", check, record("zc-victim-0"))
        assert remove.risk is Risk.DESTRUCTIVE
        assert "DELETE /containers/" in remove.preview
        remove.execute()
        assert "zc-victim-0" not in by_name(check.collect().data)  # type: ignore[arg-type]
        with pytest.raises(ActionError, match="no longer exists"):
            remove.execute()
    finally:
        check.close()
        for c in made:
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(str(c.id), force=True)
        client.close()


# -- logs ----------------------------------------------------------------------------------------


def test_logs_keep_stdout_and_stderr_apart(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    client = client_of(docker_engine)
    try:
        wait_for(lambda: b"plain line" in client.api.logs(zoo["zc-logs"]), 30, "the logs container")
        api = engine_client(docker_engine.url, timeout=10)
        try:
            lines = fetch_tails(api, [zoo["zc-logs"]], ["zc-logs"], 100)
        finally:
            api.close()
    finally:
        client.close()
    streams = {line.text: line.stream for line in lines}
    assert streams["ERROR boom"] == "err"
    assert streams["plain line"] == "out"
    assert streams["[bold red]not markup[/bold red]"] == "out"
    assert all(line.ts for line in lines)
    pattern = compile_filter("re:^ERROR")
    assert pattern is not None
    assert first_error(lines, pattern) is not None
    # Seen from just after the lines were written: one error in the last minute.
    written = ts_epoch(lines[-1].ts)
    assert written is not None
    assert error_rate(lines, pattern, written + 1) == 1.0
    assert error_rate(lines, pattern, written + 120) == 0.0


def test_log_helpers() -> None:
    lines, rest = split_chunk("web", "out", "", "2026-11-23T14:00:00.1Z a\n2026-11-23T14:00:01Z b")
    assert [line.text for line in lines] == ["a"] and rest == "2026-11-23T14:00:01Z b"
    old = LogLine("web", "err", "2026-11-23T14:00:00Z", "ERROR old")
    new = LogLine("web", "err", "2026-11-23T14:10:00Z", "ERROR new")
    pattern = compile_filter("re:ERROR")
    assert pattern is not None
    now = parse_engine_time("2026-11-23T14:10:30Z")
    assert now is not None
    assert error_rate([old, new], pattern, now.timestamp()) == 1.0
    substring = compile_filter("error")
    assert substring is not None and substring.search("an Error here")


# -- the pane, through Pilot ---------------------------------------------------------------------


class DockerApp(ZConsoleApp):
    """The real app with only the docker source, remembering what it told the user."""

    def __init__(self, check: DockerCheck, *, poll: bool = False) -> None:
        super().__init__(Config(), [check], hostname="test-host", poll=poll)
        self.told: list[str] = []

    def notify(self, message: str, *args: Any, **kwargs: Any) -> None:
        self.told.append(message)
        super().notify(message, *args, **kwargs)


async def pilot_wait(pilot: Any, predicate: Callable[[], object], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.05)


def table_rows(app: ZConsoleApp) -> dict[str, list[str]]:
    """Rendered rows of the containers table by container name (cells as plain text)."""
    table = app.query_one("#docker-table", Table)
    rows: dict[str, list[str]] = {}
    for index in range(table.row_count):
        # Every column, shown at this width or not.
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.full_row(index)]
        rows[cells[2]] = cells
    return rows


def show(app: ZConsoleApp, check: DockerCheck, *, stats: bool = False) -> None:
    """One poll into the app; with ``stats``, the first poll whose stats are all in."""
    if stats:
        poll_until_stats(check)
    snapshot = check.collect()
    assert snapshot.error is None, snapshot.error
    app.show_result(CheckResult(latest=snapshot, last_good=snapshot, last_good_at=time.monotonic()))


async def select(pilot: Any, app: ZConsoleApp, name: str) -> None:
    table = app.query_one("#docker-table", DataTable)
    names = list(table_rows(app))
    table.focus()
    table.move_cursor(row=names.index(name))
    await pilot.pause()
    pane = app.pane("docker")
    assert isinstance(pane, ContainersPane)
    record = pane.selected_record()
    assert record is not None and record.name == name


async def test_pane_shows_every_state_in_words(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check, stats=True)
            await pilot.pause()
            rows = table_rows(app)
            col = {name: i for i, name in enumerate(COLUMNS)}

            def cell(name: str, column: str) -> str:
                return rows[name][col[column]]

            assert cell("zc-crash", "problem").split()[-1] in (
                "RESTARTING",
                "CRASH-LOOP",
                "RESTARTED",
            )
            assert int(cell("zc-crash", "restarts")) >= 1
            assert cell("zc-unhealthy", "problem") == "✖ UNHEALTHY"
            assert cell("zc-unhealthy", "health") == "unhealthy"
            assert cell("zc-oom", "problem") == "✖ OOM-KILLED"
            assert cell("zc-oom", "exit") == "137"
            assert cell("zc-exit1", "problem") == "▲ EXITED 1"
            assert (cell("zc-exit1", "state"), cell("zc-exit1", "exit")) == ("exited", "1")
            assert cell("zc-healthy", "problem") == "✔ ok"
            assert cell("zc-healthy", "health") == "healthy"
            plain = [n for n in rows if n.startswith("zc-plain-")]
            assert len(plain) == PLAIN
            for name in plain:
                assert cell(name, "state") == "running" and cell(name, "problem") == "✔ ok"
                assert cell(name, "since").startswith("up ")
                assert cell(name, "memory") != "–"
            # Problems first: every problem row comes before every ok row.
            problems = [not r[0].endswith(" ok") for r in rows.values()]
            assert problems == sorted(problems, reverse=True)
            assert cell("zc-plain-00", "project/service") in ("zoo/plain", "  ″")
            assert app.pane("docker").has_class("-crit")  # type: ignore[union-attr]

            # Filter: only matching rows; sort key cycles.
            await pilot.press("slash")
            await pilot.press(*"unhealthy")
            assert list(table_rows(app)) == ["zc-unhealthy"]
            await pilot.press("escape")
            await pilot.pause()
            assert len(table_rows(app)) >= len(zoo)
            await pilot.press("o")
            names = list(table_rows(app))
            assert names == sorted(names)
    finally:
        check.close()


async def test_a_crash_shows_at_once_and_goes_to_the_timeline(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """The Engine's die event makes the app poll now (interval is 60 s) and writes a timeline
    line while an incident is open."""
    check = DockerCheck(DockerSettings(), docker_engine.url, interval=60.0, timeout=10)
    app = DockerApp(check, poll=True)
    client = client_of(docker_engine)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            await pilot_wait(pilot, lambda: "zc-plain-00" in table_rows(app))
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="web down", severity="P1")
            assert incident is not None
            client.containers.run(
                services.BUSYBOX_IMAGE,
                ["sh", "-c", "sleep 2; exit 9"],
                name="zc-crashes-now",
                detach=True,
                network_mode="none",
            )
            await pilot_wait(
                pilot, lambda: table_rows(app).get("zc-crashes-now", [""])[0] == "▲ EXITED 9"
            )
            texts = [e.text for e in incidents.store.entries(incident.id)]
            assert any("zc-crashes-now: die (exit code 9)" in t for t in texts), texts
    finally:
        check.close()
        with contextlib.suppress(docker.errors.NotFound):
            client.api.remove_container("zc-crashes-now", force=True)
        client.close()


async def test_restart_through_pilot_changes_started_at_and_writes_the_timeline(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    client = client_of(docker_engine)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="web slow", severity="P2")
            assert incident is not None
            await select(pilot, app, "zc-plain-02")
            before = _state(client, "zc-plain-02")["State"]["StartedAt"]
            await pilot.press("R")
            await pilot_wait(pilot, lambda: isinstance(app.screen, ConfirmScreen))
            preview = " ".join(
                str(s.render()) for s in app.screen.query(Static) if "POST" in str(s.render())
            )
            assert f"POST /containers/{zoo['zc-plain-02'][:12]}/restart?t=10" in preview
            await pilot.press("y")
            await pilot_wait(pilot, lambda: not isinstance(app.screen, ConfirmScreen))
            await app.workers.wait_for_complete()
            after = _state(client, "zc-plain-02")["State"]["StartedAt"]
            assert after != before
            entries = [e.text for e in incidents.store.entries(incident.id) if e.kind == "action"]
            assert len(entries) == 1, entries
            assert "restarted zc-plain-02" in entries[0] and f"StartedAt {after}" in entries[0]
    finally:
        check.close()
        client.close()


async def test_log_escapes_and_markup_render_inert(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            await select(pilot, app, "zc-logs")
            await pilot.press("l")
            await pilot_wait(pilot, lambda: isinstance(app.screen, ContainerLogsScreen))
            screen = app.screen
            assert isinstance(screen, ContainerLogsScreen)
            await pilot_wait(pilot, lambda: len(screen.lines) >= 5)
            await pilot.pause()
            view = screen.query_one("#logs-view", RichLog)
            rendered = ["".join(segment.text for segment in strip) for strip in view.lines]
            text = "\n".join(rendered)
            assert "[bold red]not markup[/bold red]" in text
            assert "clearhere" in text and "clipboard" in text
            assert "\x1b" not in text and "\x07" not in text and "52;c;" not in text
            assert "ERR ERROR boom" in text
            header = str(screen.query_one("#logs-header", Static).render())
            assert "errors/min" in header
            # Filter to the stderr line, jump to the first error, close.
            await pilot.press("slash", *"boom", "enter")
            assert [line.text for line in screen.shown] == ["ERROR boom"]
            await pilot.press("e")
            assert screen.follow is False
            await pilot.press("escape")
            await pilot_wait(pilot, lambda: not isinstance(app.screen, ContainerLogsScreen))
            await app.workers.wait_for_complete()
    finally:
        check.close()


async def test_service_logs_follow_both_containers(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """``L`` on one container of a Compose service: the lines of both, and new ones keep coming."""
    client = client_of(docker_engine)
    ticker = ["sh", "-c", "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.3; done"]
    made = [
        client.containers.run(
            services.BUSYBOX_IMAGE,
            ticker,
            name=f"zc-ticker-{i}",
            detach=True,
            network_mode="none",
            labels={
                "com.docker.compose.project": "tick",
                "com.docker.compose.service": "ticker",
            },
        )
        for i in range(2)
    ]
    check = DockerCheck(DockerSettings(log_lines=5), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            await select(pilot, app, "zc-ticker-0")
            await pilot.press("L")
            await pilot_wait(pilot, lambda: isinstance(app.screen, ContainerLogsScreen))
            screen = app.screen
            assert isinstance(screen, ContainerLogsScreen)
            assert set(screen.names) == {"zc-ticker-0", "zc-ticker-1"}
            # More than the 2 x 5 tail lines: the follow streams deliver new ones, from both.
            await pilot_wait(pilot, lambda: len(screen.lines) > 14)
            assert {line.container for line in screen.lines} == {"zc-ticker-0", "zc-ticker-1"}
            seen = [line.text for line in screen.lines if line.container == "zc-ticker-0"]
            numbers = [int(text.split()[1]) for text in seen]
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
            await pilot.press("escape")
            await app.workers.wait_for_complete()
    finally:
        check.close()
        for c in made:
            client.api.remove_container(str(c.id), force=True)
        client.close()


async def test_pane_says_how_to_fix_a_missing_socket(tmp_path: Path) -> None:
    check = DockerCheck(DockerSettings(), f"unix://{tmp_path}/docker.sock", interval=0.2, timeout=2)
    app = DockerApp(check, poll=True)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            pane = app.pane("docker")
            assert pane is not None

            def problem() -> str:
                return str(pane.query_one(".pane--problem", Static).render())

            await pilot_wait(pilot, lambda: "does not exist" in problem())
            assert "systemctl start docker" in problem()
            assert pane.has_class("-error")
            # It keeps retrying, backing off.
            await pilot_wait(pilot, lambda: "retrying in" in problem())
    finally:
        check.close()


# -- engines: one client factory, ssh:// and tcp:// ----------------------------------------------


def test_every_client_the_check_builds_comes_from_its_one_factory(
    docker_engine: services.DockerEngine, zoo: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The poll's client and the events thread's are both made by ``open_client``: no other
    EngineClient is built (the events thread once built its own, without the ssh:// handling)."""
    built: list[str] = []
    original = EngineClient.__init__

    def counting(self: EngineClient, *args: Any, **kwargs: Any) -> None:
        built.append(str(kwargs.get("url", args[0] if args else "")))
        original(self, *args, **kwargs)

    monkeypatch.setattr(EngineClient, "__init__", counting)
    purposes: list[str] = []

    class Counted(DockerCheck):
        def open_client(self, purpose: str) -> EngineClient:
            purposes.append(purpose)
            return super().open_client(purpose)

    check = Counted(DockerSettings(), docker_engine.url, timeout=10)
    try:
        poll(check)
        wait_for(lambda: check._events_stream is not None, 30, "the events stream")
        assert sorted(purposes) == ["events", "poll"]
        assert built == [docker_engine.url, docker_engine.url]
    finally:
        check.close()


def test_ssh_to_a_closed_port_is_one_clear_message_and_backs_off() -> None:
    port = services.closed_port()
    url = f"ssh://zc@127.0.0.1:{port}"
    check = DockerCheck(DockerSettings(), url, timeout=5)
    try:
        first = check.collect()
        assert first.status is Status.ERROR and first.error is not None
        assert "\n" not in first.error and "paramiko" not in first.error.lower()
        assert f"port {port}: Connection refused" in first.error  # what ssh said
        assert f"`ssh -p {port} -l zc 127.0.0.1 docker version`" in first.error  # the fix
        assert check._tunnel is None  # no ssh process left behind
        second = check.collect()
        assert second.error is not None and "retrying in" in second.error
    finally:
        check.close()


#: Stands in for ssh(1) (there is no sshd here): it does what ``ssh -L LOCAL:REMOTE`` does on the
#: local side — listen on LOCAL, relay each connection to REMOTE — and logs its argv.
FAKE_SSH = """\
import os, signal, socket, sys, threading
argv = sys.argv[1:]
local, remote = argv[argv.index("-L") + 1].split(":", 1)
with open(os.environ["ZC_FAKE_SSH_LOG"], "a") as log:
    log.write(" ".join(argv) + "\\n")
signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
server = socket.socket(socket.AF_UNIX)
server.bind(local)
server.listen(512)
def pump(a, b):
    try:
        while data := a.recv(65536):
            b.sendall(data)
    except OSError:
        pass
    for s in (a, b):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
def serve(conn):
    up = socket.socket(socket.AF_UNIX)
    up.connect(remote)
    threading.Thread(target=pump, args=(conn, up), daemon=True).start()
    pump(up, conn)
while True:
    conn, _ = server.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
"""


def test_ssh_engine_goes_through_one_tunnel_for_polls_streams_and_events(
    docker_engine: services.DockerEngine,
    zoo: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ssh://user@host/PATH: one ssh process forwards the engine's socket (PATH); the poll, the
    stats streams and the events thread all use it; close() ends it."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "ssh"
    fake.write_text(f"#!{sys.executable}\n{FAKE_SSH}")
    fake.chmod(0o755)
    log = tmp_path / "ssh.log"
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("ZC_FAKE_SSH_LOG", str(log))
    events: list[Any] = []
    check = DockerCheck(
        DockerSettings(), f"ssh://zc@localhost{docker_engine.socket_path}", timeout=10
    )
    check.on_event = events.append
    client = client_of(docker_engine)
    try:
        assert set(zoo) <= set(by_name(poll(check)))
        assert by_name(poll_until_stats(check))["zc-plain-00"].mem_bytes
        wait_for(lambda: check._events_stream is not None, 30, "the events stream")
        dying = client.containers.run(
            services.BUSYBOX_IMAGE,
            ["sh", "-c", "exit 5"],
            name="zc-dies-over-ssh",
            detach=True,
            network_mode="none",
        )
        wait_for(lambda: any(e.name == "zc-dies-over-ssh" for e in events), 30, "die over ssh")
        dying.remove(force=True)
        argv = log.read_text().splitlines()
        assert len(argv) == 1, argv  # one ssh process for all of it
        assert argv[0].startswith("-l zc -nNT -o BatchMode=yes")
        assert argv[0].endswith("-- localhost")
        assert f":{docker_engine.socket_path} " in argv[0]
        tunnel = check._tunnel
        assert tunnel is not None and tunnel.alive()
    finally:
        check.close()
        client.close()
    assert not tunnel.alive() and not tunnel.socket_path.exists()


@pytest.fixture(scope="module")
def tcp_engine() -> Iterator[services.DockerEngine]:
    """A second throwaway engine that also listens on tcp://127.0.0.1:PORT."""
    engine = services.start_docker(tcp=True)
    yield engine
    services.destroy_docker(engine)


def test_tcp_engine_lists_containers_with_stats_and_events(
    tcp_engine: services.DockerEngine,
) -> None:
    client = client_of(tcp_engine)
    client.containers.run(
        services.BUSYBOX_IMAGE, HOUR, name="zc-over-tcp", detach=True, network_mode="none"
    )
    events: list[Any] = []
    check = DockerCheck(DockerSettings(), tcp_engine.tcp_url, timeout=10)
    check.on_event = events.append
    try:
        data = poll_until_stats(check)
        assert data.url == tcp_engine.tcp_url and data.engine_version
        over_tcp = by_name(data)["zc-over-tcp"]
        assert over_tcp.state == "running" and over_tcp.mem_bytes
        wait_for(lambda: check._events_stream is not None, 30, "the events stream")
        client.api.kill("zc-over-tcp")
        wait_for(lambda: any(e.action == "die" for e in events), 30, "die over tcp")
        assert by_name(poll(check))["zc-over-tcp"].state == "exited"
    finally:
        check.close()
        client.api.remove_container("zc-over-tcp", force=True)
        client.close()


# -- sockets: streams free theirs at once --------------------------------------------------------


def unix_socket_fds() -> int:
    """This process's open AF_UNIX sockets (fds whose socket inode /proc/net/unix lists)."""
    with open("/proc/net/unix") as table:
        inodes = {line.split()[6] for line in list(table)[1:] if len(line.split()) >= 7}
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/self/fd/{fd}")
            if target.startswith("socket:[") and target[8:-1] in inodes:
                count += 1
    return count


def test_stopped_streams_free_their_sockets_without_the_garbage_collector(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """Regression for 0b284d5: closing a stream's socket (``CancellableStream.close``) left the
    response's file object holding the fd until the garbage collector freed it. With the
    collector off, every socket the events follower and two log followers opened must be given
    back once they are stopped: one follower is stopped from outside (as the logs screen does),
    one stops itself on its next line (a chatty container). (Stats need no stream of their own
    any more: they are read once per refresh.)"""
    client = client_of(docker_engine)
    ticker = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", "while true; do echo tick; sleep 0.1; done"],
        name="zc-fd-ticker",
        detach=True,
        network_mode="none",
    )
    client.close()
    gc.collect()
    gc.disable()
    try:
        baseline = unix_socket_fds()
        check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
        stop = threading.Event()
        opened: list[Any] = []  # the followers' streams, as DockerLogsController keeps them
        followers: list[threading.Thread] = []
        try:
            poll_until_stats(check)
            wait_for(lambda: check._events_stream is not None, 30, "the events stream")
            events_thread = check._events_thread
            api = check.client
            for cid, name in ((zoo["zc-logs"], "zc-logs"), (str(ticker.id), "zc-fd-ticker")):
                follower = threading.Thread(
                    target=follow_stream,
                    args=(api, cid, name, "out", time.time(), queue.Queue(), stop),
                    kwargs={"opened": opened},
                    daemon=True,
                )
                follower.start()
                followers.append(follower)
            wait_for(lambda: len(opened) == 2, 30, "two log followers")
            # Held to the end: only closing a stream's response, not dropping it, may free it.
            held = list(opened)
            # The events stream, two log followers (and the poll's own).
            assert unix_socket_fds() >= baseline + 3
            stop.set()
            followers[1].join(30)  # the chatty one stops itself at its next line
            assert not followers[1].is_alive()
            for chunks in held:
                chunks.close()  # wakes the quiet one, as the logs screen does when it closes
        finally:
            stop.set()
            check.close()
        assert events_thread is not None
        for thread in [events_thread, *followers]:
            thread.join(30)
            assert not thread.is_alive(), thread.name
        wait_for(lambda: unix_socket_fds() <= baseline, 10, "sockets back to the baseline")
        assert unix_socket_fds() == baseline, len(held)
    finally:
        gc.enable()
        cleanup = client_of(docker_engine)
        cleanup.api.remove_container(str(ticker.id), force=True)
        cleanup.close()


# -- outside text in labels, and secrets in logs -------------------------------------------------

HOSTILE_PROJECT = "[bold red]x[/]\x1b[2Jp"
HOSTILE_SERVICE = "s\x1b]52;c;SGVsbG8=\x07[u]y[/u]"


async def test_hostile_compose_labels_render_inert(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """Labels carry any bytes (names and image references are validated by the engine): Rich
    markup, a screen clear and an OSC 52 clipboard write in the Compose labels show inert."""
    client = client_of(docker_engine)
    with pytest.raises(docker.errors.APIError, match="Invalid container name"):
        client.containers.create(services.BUSYBOX_IMAGE, HOUR, name="zc-\x1b[2J")
    with pytest.raises(docker.errors.APIError, match="invalid reference format"):
        client.api.tag(services.BUSYBOX_IMAGE, "zc/[bold]x\x1b[2J", "latest")
    hostile = client.containers.run(
        services.BUSYBOX_IMAGE,
        HOUR,
        name="zc-hostile-labels",
        detach=True,
        network_mode="none",
        labels={
            "com.docker.compose.project": HOSTILE_PROJECT,
            "com.docker.compose.service": HOSTILE_SERVICE,
        },
    )
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        record = by_name(poll(check))["zc-hostile-labels"]
        assert (record.compose_project, record.compose_service) == (
            HOSTILE_PROJECT,
            HOSTILE_SERVICE,
        )  # the data keeps the text; only the screen makes it inert
        async with app.run_test(size=(220, 80)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            await pilot.press("slash", *"hostile", "enter")
            await pilot.pause()
            rows = table_rows(app)
            assert list(rows) == ["zc-hostile-labels"]
            group = rows["zc-hostile-labels"][COLUMNS.index("project/service")]
            assert group == "[bold red]x[/]p/s[u]y[/u]"  # markup as text, escapes dropped
            screen = app.export_screenshot()
            assert "[bold&#160;red]x[/]p/s[u]y[/u]" in screen
            assert "SGVsbG8" not in screen and "\x1b" not in screen and "\x07" not in screen
    finally:
        check.close()
        hostile.remove(force=True)
        client.close()


LOG_SECRET = "zc-log-s3cr3t-4f1d"
URL_PASSWORD = "pw-in-url-9c2e"


async def test_log_lines_on_screen_are_redacted(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """A registered secret and a URL password in a container's log: masked in the tail and in
    the followed lines (the second line is written only once the screen is following)."""
    register_secret(LOG_SECRET)  # as config loading does with every password it sees
    client = client_of(docker_engine)
    script = (
        f"echo 'tail: token {LOG_SECRET} db postgresql://app:{URL_PASSWORD}@db:5432/app'; "
        "while [ ! -e /tmp/go ]; do sleep 0.1; done; "
        f"echo 'followed: {LOG_SECRET} redis://:{URL_PASSWORD}@cache:6379/0' >&2; sleep 3600"
    )
    leaky = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", script],
        name="zc-leaky",
        detach=True,
        network_mode="none",
    )
    check = DockerCheck(DockerSettings(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        wait_for(lambda: b"tail:" in leaky.logs(), 30, "the leaky log")
        api = engine_client(docker_engine.url, timeout=10)
        try:
            tail = fetch_tails(api, [str(leaky.id)], ["zc-leaky"], 10)
        finally:
            api.close()
        assert [line.text for line in tail] == [
            f"tail: token {MASK} db postgresql://app:{MASK}@db:5432/app"
        ]
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            await select(pilot, app, "zc-leaky")
            await pilot.press("l")
            await pilot_wait(pilot, lambda: isinstance(app.screen, ContainerLogsScreen))
            screen = app.screen
            assert isinstance(screen, ContainerLogsScreen)
            await pilot_wait(pilot, lambda: len(screen.lines) >= 1)
            exec_id = client.api.exec_create(str(leaky.id), ["touch", "/tmp/go"])["Id"]
            client.api.exec_start(exec_id)
            await pilot_wait(pilot, lambda: len(screen.lines) >= 2)
            await pilot.pause()
            view = screen.query_one("#logs-view", RichLog)
            text = "\n".join("".join(seg.text for seg in strip) for strip in view.lines)
            assert f"tail: token {MASK} db postgresql://app:{MASK}@db:5432/app" in text
            assert f"ERR followed: {MASK} redis://:{MASK}@cache:6379/0" in text
            assert LOG_SECRET not in text and URL_PASSWORD not in text
            assert LOG_SECRET not in app.export_screenshot()
            await pilot.press("escape")
            await pilot_wait(pilot, lambda: not isinstance(app.screen, ContainerLogsScreen))
            await app.workers.wait_for_complete()
    finally:
        check.close()
        leaky.remove(force=True)
        client.close()


def test_host_pane_links_only_to_an_engine_on_this_host(tmp_path: Path) -> None:
    """Process → container names and the host pane's prune use a local engine only: this host's
    processes cannot belong to an ssh:// engine's containers, and a prune there frees nothing
    here."""
    from zconsole.checks.docker_settings import is_local_engine
    from zconsole.checks.host import HostCheck
    from zconsole.config import load_config
    from zconsole.registry import build_checks

    assert is_local_engine("unix:///var/run/docker.sock")
    assert is_local_engine("tcp://127.0.0.1:2375") and is_local_engine("tcp://localhost:2375")
    assert not is_local_engine("tcp://10.0.0.5:2375")
    assert not is_local_engine("ssh://deploy@db-1")
    for url, local in (("ssh://deploy@db-1", False), (f"unix://{tmp_path}/d.sock", True)):
        config = load_config(flags={"docker": {"host": url}}, env={}, cwd=tmp_path)
        host = build_checks(config)[0]
        assert isinstance(host, HostCheck)
        assert (host.processes.container_name is not None) is local
        assert (host.docker_url == url) is local
