"""Time travel in the console: the cursor, the REPLAY banner, actions refused in the past, the
status strips and the trends filled from the recording at start."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.widgets import DataTable

from tests import services
from tests.pilot import wait_until
from zconsole.app import ZConsoleApp
from zconsole.audit import default_audit_path, read_audit
from zconsole.checks.base import Snapshot, Status
from zconsole.checks.docker import DockerCheck, DockerData
from zconsole.checks.docker_settings import DockerSettings
from zconsole.checks.host import HostCheck, HostData
from zconsole.config import load_config
from zconsole.recording.writer import RecordingWriter
from zconsole.registry import build_checks
from zconsole.time_travel import status_cells
from zconsole.widgets.containers import ContainersPane
from zconsole.widgets.host import HostPane
from zconsole.widgets.replay import HistoryStrips, ReplayBanner

NAME = "zc-tt-web"


def _write(path: Path, workdir: Path, docker_url: str = "") -> Path:
    docker = f'host = "{docker_url}"' if docker_url else "enabled = false"
    config = workdir / "zconsole.toml"
    config.write_text(
        f'[general]\nstore = "{workdir / "incidents.sqlite3"}"\n'
        f"[docker]\n{docker}\n"
        f'[recording]\npath = "{path}"\n'
    )
    return config


def _row(pane: ContainersPane, name: str) -> list[str]:
    table = pane.query_one("#docker-table", DataTable)
    for index in range(table.row_count):
        cells = [c.plain if isinstance(c, Text) else str(c) for c in table.get_row_at(index)]
        if name in cells:
            return cells
    return []


def _snapshot_where(check: DockerCheck, problem: str, timeout: float) -> Snapshot[DockerData]:
    """Poll the real engine until the container shows ``problem`` ("" for none)."""
    found: list[Snapshot[DockerData]] = []

    def seen() -> bool:
        snapshot = check.collect()
        data = snapshot.data
        if data is None:
            return False
        mine = [c for c in data.containers if c.name == NAME]
        if mine and mine[0].problem == problem and (problem or mine[0].state == "running"):
            found.append(snapshot)
            return True
        return False

    services.wait_for(seen, timeout, f"{NAME} {problem or 'running'}", interval=0.1)
    return found[0]


@pytest.fixture
def restarted_two_minutes_ago(
    workdir: Path, docker_engine: services.DockerEngine
) -> Iterator[tuple[Path, datetime]]:
    """A recording in which NAME was RESTARTING two minutes ago and has run fine since; the
    engine now runs a healthy NAME. Both states are real polls of the engine; only the time
    they are recorded at is moved back."""
    import docker

    client = docker.DockerClient(base_url=docker_engine.url, timeout=60)
    check = DockerCheck(DockerSettings(), docker_engine.url, interval=1.0, timeout=10.0)
    crashing = client.containers.run(
        services.BUSYBOX_IMAGE,
        ["sh", "-c", "exit 1"],
        name=NAME,
        detach=True,
        network_mode="none",
        restart_policy={"Name": "always"},
    )
    try:
        restarting = _snapshot_where(check, "RESTARTING", 60)
        crashing.remove(force=True)
        client.containers.run(
            services.BUSYBOX_IMAGE, ["sleep", "600"], name=NAME, detach=True, network_mode="none"
        )
        fine = _snapshot_where(check, "", 30)
        now = datetime.now(UTC)
        path = workdir / "recording.sqlite3"
        writer = RecordingWriter(path)
        for seconds in range(160, 0, -5):  # every 5 s from 160 s ago: RESTARTING until 100 s ago
            at = now - timedelta(seconds=seconds)
            snapshot = restarting if seconds >= 100 else fine
            writer.write(dataclasses.replace(snapshot, collected_at=at))
        writer.close()
        yield path, now
    finally:
        check.close()
        for container in client.containers.list(all=True, filters={"name": NAME}):
            container.remove(force=True)
        client.close()


@pytest.mark.docker
async def test_restarting_two_minutes_ago_at_the_cursor_ok_live_and_actions_refused(
    workdir: Path,
    docker_engine: services.DockerEngine,
    restarted_two_minutes_ago: tuple[Path, datetime],
) -> None:
    path, recorded_until = restarted_two_minutes_ago
    config = load_config(config_path=_write(path, workdir, docker_engine.url))
    app = ZConsoleApp(config, build_checks(config))
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(ContainersPane)
        await pilot.press("2")
        await wait_until(pilot, lambda: _row(pane, NAME) != [], timeout=30)
        live = _row(pane, NAME)
        assert live[0] == "✔ ok" and live[3] == "running"
        banner = app.query_one(ReplayBanner)
        assert not banner.has_class("-replay")

        await pilot.press("left_curly_bracket", "left_curly_bracket")  # two minutes back
        await wait_until(pilot, lambda: banner.has_class("-replay"))
        cursor = app.time_travel.cursor
        assert cursor is not None
        assert timedelta(seconds=115) <= datetime.now(UTC) - cursor <= timedelta(seconds=140)
        past = _row(pane, NAME)
        assert "RESTARTING" in past[0], past
        text = str(banner.render())
        assert f"REPLAY {cursor:%H:%M:%S}" in text and "min ago" in text

        # An action key in the past goes to the one action layer, which refuses it.
        table = pane.query_one("#docker-table", DataTable)
        table.focus()
        await pilot.press("R")
        await pilot.pause(0.3)
        (last,) = read_audit(default_audit_path())
        assert last["outcome"] == "refused" and last["action"] == "docker.restart"
        assert "replay" in last["detail"], last
        assert any("Refused" in (n.title or "") for n in app._notifications)

        # One poll back stays in the past; G is live again, where the container is fine.
        await pilot.press("left_square_bracket")
        assert app.time_travel.cursor is not None and app.time_travel.cursor < cursor
        await pilot.press("G")
        await wait_until(pilot, lambda: not banner.has_class("-replay"))
        assert app.time_travel.cursor is None
        now_row = _row(pane, NAME)
        assert now_row[0] == "✔ ok" and now_row[3] == "running"
    assert recorded_until < datetime.now(UTC)


def test_the_time_keys_are_in_the_palette_and_clash_with_no_key() -> None:
    from textual.binding import Binding

    from zconsole.time_travel import TIME_BINDINGS
    from zconsole.widgets.containers import ContainersPane as Containers
    from zconsole.widgets.host import HostPane as Host
    from zconsole.widgets.postgres import PostgresPane
    from zconsole.widgets.redis import RedisPane
    from zconsole.widgets.timeline import Timeline

    ours = {b.key for b in TIME_BINDINGS}
    app_keys = {
        b.key for b in Binding.make_bindings(ZConsoleApp.BINDINGS) if b not in TIME_BINDINGS
    }
    assert not ours & app_keys
    for widget in (Host, Containers, PostgresPane, RedisPane, Timeline):
        keys = {k for b in Binding.make_bindings(widget.BINDINGS) for k in b.key.split(",")}
        assert not ours & keys, (widget.__name__, ours & keys)
    in_app = {b.action for b in Binding.make_bindings(ZConsoleApp.BINDINGS)}
    assert {b.action for b in TIME_BINDINGS} <= in_app


async def test_the_palette_lists_the_time_commands(workdir: Path) -> None:
    config = load_config(config_path=_write(workdir / "r.sqlite3", workdir))
    app = ZConsoleApp(config, build_checks(config), poll=False)
    async with app.run_test(size=(120, 40)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
    for title in ("Back one poll", "Back one minute", "Go to time", "Back to live"):
        assert any(t.startswith(title + " (") for t in titles), titles


@pytest.fixture(scope="module")
def host_snapshot() -> Snapshot[HostData]:
    check = HostCheck(interval=1.0)
    check.collect()
    return check.collect()


def _host_with(base: Snapshot[HostData], cpu: float, at: datetime) -> Snapshot[Any]:
    assert base.data is not None
    return dataclasses.replace(
        base, data=dataclasses.replace(base.data, cpu_percent=cpu), collected_at=at
    )


async def test_the_trends_start_filled_from_the_recording(
    workdir: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = workdir / "r.sqlite3"
    writer = RecordingWriter(path)
    now = datetime.now(UTC)
    recorded = [float(10 + i) for i in range(60)]  # the last five minutes, every 5 s
    for i, cpu in enumerate(recorded):
        writer.write(_host_with(host_snapshot, cpu, now - timedelta(seconds=300 - 5 * i)))
    writer.close()
    config = load_config(config_path=_write(path, workdir))
    app = ZConsoleApp(config, build_checks(config))
    async with app.run_test(size=(120, 40)) as pilot:
        pane = app.query_one(HostPane)

        def first_poll_drawn() -> bool:
            result = pane.result
            return result is not None and result.latest.ok_data

        await wait_until(pilot, first_poll_drawn, timeout=20)
        assert pane.result is not None and isinstance(pane.result.latest.data, HostData)
        history = pane.result.latest.data.history.cpu
    # The recorded minutes, oldest first, then this console's own first poll.
    assert list(history[: len(recorded)]) == recorded
    assert len(history) >= len(recorded) + 1


async def test_status_strips_and_jumping_to_a_change(
    workdir: Path, host_snapshot: Snapshot[HostData]
) -> None:
    path = workdir / "r.sqlite3"
    writer = RecordingWriter(path)
    now = datetime.now(UTC)
    crit_at = now - timedelta(minutes=10)
    for i in range(0, 30 * 60, 30):  # half an hour, CRIT for five minutes, 10 minutes ago
        at = now - timedelta(minutes=30) + timedelta(seconds=i)
        status = Status.CRIT if crit_at <= at < crit_at + timedelta(minutes=5) else Status.OK
        writer.write(dataclasses.replace(_host_with(host_snapshot, 1.0, at), status=status))
    writer.close()
    config = load_config(config_path=_write(path, workdir))
    app = ZConsoleApp(config, build_checks(config), poll=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("H")
        strips = app.query_one(HistoryStrips)
        assert strips.has_class("-shown")
        host_line = next(
            line for line in str(strips.render()).splitlines() if line.startswith("Host")
        )
        assert "█" in host_line and "▁" in host_line
        await pilot.press("left_parenthesis")  # the recovery, 5 minutes ago
        assert app.time_travel.cursor is not None
        assert abs((app.time_travel.cursor - (crit_at + timedelta(minutes=5))).total_seconds()) < 31
        await pilot.press("left_parenthesis")  # the CRIT before it
        cursor = app.time_travel.cursor
        assert cursor is not None and abs((cursor - crit_at).total_seconds()) < 31
        host = app.query_one(HostPane)
        assert host.result is not None and host.result.latest.status is Status.CRIT
        await pilot.press("right_parenthesis", "right_parenthesis")  # past the last: live
        assert app.time_travel.cursor is None


def test_status_cells_hold_the_worst_status_of_each_bucket() -> None:
    from zconsole.recording.reader import Transition

    t0 = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
    changes = [
        Transition(t0, "x", None, Status.OK, 1),
        Transition(t0 + timedelta(seconds=25), "x", Status.OK, Status.CRIT, 2),
        Transition(t0 + timedelta(seconds=26), "x", Status.CRIT, Status.OK, 3),
    ]
    cells = status_cells(changes, t0, t0 + timedelta(seconds=100), 10)
    assert cells[:2] == [Status.OK, Status.OK]
    assert cells[2] == Status.CRIT  # a one-second CRIT is not averaged away
    assert cells[3:] == [Status.OK] * 7
    assert status_cells(changes, t0 - timedelta(seconds=100), t0, 4)[0] is None
