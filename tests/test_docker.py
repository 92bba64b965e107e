"""The docker check, its CLI output and its mitigations against a real throwaway Engine.

One module-scoped "zoo" of containers covers every state the pane must tell apart: crash-looping
(restart policy always), unhealthy (failing health check), OOM-killed (8 MB limit), exited 1,
healthy, and 50 plain running ones — all in Compose project ``zoo`` so grouping is exercised.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
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
from zconsole.checks.docker import ContainerInfo, DockerCheck, DockerData, classify
from zconsole.checks.docker_logs import (
    LogLine,
    compile_filter,
    error_rate,
    first_error,
    parse_engine_time,
    split_chunk,
    ts_epoch,
)
from zconsole.config import Config, DockerConfig
from zconsole.docker_logs import fetch_tails
from zconsole.mitigations import available, build
from zconsole.widgets.confirm import ConfirmScreen
from zconsole.widgets.container_logs import ContainerLogsScreen
from zconsole.widgets.containers import COLUMNS, ContainersPane

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
        # Doubles a shell string until the 8 MB limit kills it.
        "command": ["sh", "-c", "x=a; while true; do x=$x$x; done"],
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
        wait_for(lambda: _state(client, "zc-oom")["State"]["Status"] == "exited", 60, "oom")
        wait_for(lambda: _state(client, "zc-exit1")["State"]["Status"] == "exited", 60, "exit1")
        assert _state(client, "zc-oom")["State"]["OOMKilled"] is True, "no OOM kill here"
        yield ids
    finally:
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(lambda cid: client.api.remove_container(cid, force=True), ids.values()))
        client.close()


def collect(url: str, **config: Any) -> DockerData:
    check = DockerCheck(DockerConfig(**config), url, timeout=10)
    try:
        snapshot = check.collect()
        assert snapshot.error is None, snapshot.error
        assert snapshot.data is not None
        return snapshot.data
    finally:
        check.close()


def by_name(data: DockerData) -> dict[str, ContainerInfo]:
    return {c.name: c for c in data.containers}


# -- the check -----------------------------------------------------------------------------------


def test_every_state_is_told_apart(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    data = collect(docker_engine.url)
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
        # The first poll waits for two stats samples: memory and CPU % are known.
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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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


def test_engine_event_calls_back_within_a_second(
    docker_engine: services.DockerEngine, zoo: dict[str, str]
) -> None:
    """A container that dies: its die event reaches on_event and the next poll shows it."""
    events: list[Any] = []
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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
    check = DockerCheck(DockerConfig(), f"unix://{tmp_path}/docker.sock", timeout=2)
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
            "from zconsole.config import DockerConfig\n"
            f"check = DockerCheck(DockerConfig(), 'unix://{path}', timeout=2)\n"
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
    check = DockerCheck(DockerConfig(), f"tcp://127.0.0.1:{port}", timeout=2)
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
    assert all(r["state"] == "running" and r["mem_bytes"] for r in plain)
    assert all(r["compose_project"] == PROJECT and r["compose_service"] == "plain" for r in plain)
    assert rows["zc-plain-00"]["id"] == zoo["zc-plain-00"]


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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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
        assert kill.risk is Risk.DESTRUCTIVE and kill.target == "zc-victim-0"
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
        lines = fetch_tails(client.api, [zoo["zc-logs"]], ["zc-logs"], 100)
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
    table = app.query_one("#docker-table", DataTable)
    rows: dict[str, list[str]] = {}
    for index in range(table.row_count):
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(index)]
        rows[cells[2]] = cells
    return rows


def show(app: ZConsoleApp, check: DockerCheck) -> None:
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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
    app = DockerApp(check)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            show(app, check)
            await pilot.pause()
            rows = table_rows(app)
            col = {name: i for i, name in enumerate(COLUMNS)}

            def cell(name: str, column: str) -> str:
                return rows[name][col[column]]

            assert cell("zc-crash", "problem").split()[-1] in ("RESTARTING", "CRASH-LOOP")
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
    check = DockerCheck(DockerConfig(), docker_engine.url, interval=60.0, timeout=10)
    app = DockerApp(check, poll=True)
    client = client_of(docker_engine)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            await pilot.press("2")
            await pilot_wait(pilot, lambda: "zc-plain-00" in table_rows(app))
            incidents = app.incidents
            assert incidents is not None, app.store_problem
            incident = incidents.declare(title="web down", severity="P1")
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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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
    check = DockerCheck(DockerConfig(), docker_engine.url, timeout=10)
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
    check = DockerCheck(DockerConfig(log_lines=5), docker_engine.url, timeout=10)
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
    check = DockerCheck(DockerConfig(), f"unix://{tmp_path}/docker.sock", interval=0.2, timeout=2)
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
