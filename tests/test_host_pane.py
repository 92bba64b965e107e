"""The host pane through Pilot: readable at 80x24 and in the 200x60 grid, outside text inert,
keys post mitigations and open the disk scan, and a hanging mount shown while the rest updates.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable, OptionList, Static

from tests.pilot import wait_until
from zconsole.app import ZConsoleApp
from zconsole.audit import read_audit
from zconsole.checks.base import CheckResult, Snapshot, Status, now_utc
from zconsole.checks.host import (
    Disk,
    HostCheck,
    HostData,
    HostHistory,
    Memory,
    Pressure,
    ProcessInfo,
    Swap,
)
from zconsole.checks.host_mounts import MountEntry
from zconsole.checks.host_settings import HostSettings
from zconsole.config import Config, GeneralConfig
from zconsole.widgets.actions_menu import ActionsMenu
from zconsole.widgets.confirm import ConfirmScreen, TypeTargetScreen
from zconsole.widgets.disk_scan import DiskScanScreen
from zconsole.widgets.host import HostPane, sparkline
from zconsole.widgets.messages import MitigationRequested
from zconsole.widgets.table import Table

EVIL_NAME = "[bold red]x\x1b]52;c;aGk=\x07\x1b[2J"
GiB = 1024**3


def _data(mount: str) -> HostData:
    return HostData(
        cpu_percent=42.0,
        load=(3.5, 2.0, 1.0),
        cores=2,
        memory=Memory(total=8 * GiB, used=6 * GiB, available=2 * GiB, percent=75.0, cached=GiB),
        swap=Swap(total=GiB, used=GiB // 4, percent=25.0),
        disks=(
            Disk(
                mount,
                "/dev/sda1",
                "ext4",
                100 * GiB,
                95 * GiB,
                95.0,
                12.0,
                5400.0,
                Status.CRIT,
                growth_bps=2e6,
            ),
            Disk(
                "/mnt/[red]nfs",
                "srv:/x",
                "nfs4",
                0,
                0,
                0.0,
                status=Status.CRIT,
                hanging=True,
                hanging_s=12.0,
            ),
        ),
        uptime_s=90000,
        per_core=(30.0, 54.0),
        pressure=Pressure(12.0, None, 3.0, 1.0, 0.0, 0.0),
        oom_kills=4,
        oom_kills_new=1,
        top_processes=(
            ProcessInfo(4242, EVIL_NAME, 99.0, 3 * GiB, container="web-1", create_time=1.0),
            ProcessInfo(77, "postgres", 5.0, GiB, create_time=2.0),
        ),
        process_count=300,
        history=HostHistory(cpu=(10.0, 50.0, 90.0), memory=(70.0, 75.0), disks={mount: (90.0,)}),
    )


def _result(data: HostData) -> CheckResult:
    snap: Snapshot[HostData] = Snapshot(
        check="host", status=Status.CRIT, summary="CRIT: disk", collected_at=now_utc(),
        duration_ms=3.0, data=data,
    )  # fmt: skip
    return CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic())


def _cells(table: DataTable[Any]) -> list[list[str]]:
    """Every cell of every row, in every column, shown at this width or not."""
    assert isinstance(table, Table)
    return [
        [c.plain if isinstance(c, Text) else str(c) for c in table.full_row(i)]
        for i in range(table.row_count)
    ]


def _requests(posted: list[Message]) -> list[MitigationRequested]:
    """Each request once (the hook sees a message at every node it bubbles through)."""
    unique = {id(m): m for m in posted if isinstance(m, MitigationRequested)}
    return list(unique.values())


def _screen_text(app: ZConsoleApp) -> str:
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


async def test_pane_renders_everything_and_keeps_outside_text_inert(tmp_path: Path) -> None:
    for size in ((200, 60), (80, 20)):
        app = ZConsoleApp(Config(), [], poll=False)
        async with app.run_test(size=size) as pilot:
            app.show_result(_result(_data(str(tmp_path))))
            await pilot.pause()
            pane = app.query_one(HostPane)
            gauges = pane.query_one("#host-gauges", Static).render()
            text = str(gauges)
            assert "CPU" in text and "42.0%" in text and "3.50" in text
            assert "PSI cpu 12/–" in text and "OOM 4 +1 new" in text and "SWAP 25%" in text
            disks = _cells(pane.query_one("#host-disks", DataTable))
            assert disks[0][0] == "…" + str(tmp_path)[-23:] and "95.0%" in disks[0][1]
            assert disks[0][5] == "+1.9M/s" and disks[0][6] == "~1h30m"
            assert disks[1][0] == "/mnt/[red]nfs" and disks[1][1].startswith("hanging")
            if size == (80, 20):
                # One table at a time here: the troubled disks first, "v" for the processes.
                assert "hanging" in _screen_text(app) and "web-1" not in _screen_text(app)
                pane.query_one("#host-disks", DataTable).focus()
                await pilot.press("v")
                await pilot.pause()
            procs = _cells(pane.query_one("#host-procs", DataTable))
            assert procs[0][1] == "[bold red]x" and procs[0][4] == "web-1"
            screen = _screen_text(app)
            assert "\x1b" not in screen, repr(screen[screen.find("\x1b") - 40 :][:80])
            assert "[bold red]x" in screen, screen
            # Readable where it is shown: the host pane is visible and wide enough for its rows.
            assert pane.display and pane.size.width >= 58 and pane.size.height >= 10
            assert "web-1" in screen


async def test_keys_post_mitigations_and_open_the_scan(tmp_path: Path) -> None:
    posted: list[Message] = []
    app = ZConsoleApp(Config(), [HostCheck()], poll=False)
    async with app.run_test(size=(200, 60), message_hook=posted.append) as pilot:
        app.show_result(_result(_data(str(tmp_path))))
        await pilot.pause()
        procs = app.query_one("#host-procs", DataTable)
        procs.focus()
        await pilot.press("down")  # postgres, pid 77 (sorted by CPU)
        await pilot.press("t")
        await pilot.pause()
        asked = _requests(posted)
        assert [(m.source, m.action) for m in asked] == [("host", "terminate")]
        assert isinstance(asked[0].record, ProcessInfo) and asked[0].record.pid == 77
        # The app answers with the action layer's confirmation; say no.
        await pilot.press("n")
        await pilot.pause()
        app.query_one("#host-disks", DataTable).focus()
        await pilot.press("l")
        await pilot.pause()
        asked = _requests(posted)
        assert asked[-1].action == "delete_old_logs"
        await pilot.press("f")
        await pilot.pause()
        assert isinstance(app.screen, DiskScanScreen)
        assert app.screen.mount_point == str(tmp_path)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.screen.progress is not None and app.screen.progress.done


@pytest.mark.parametrize(
    ("menu_entry", "confirm", "signal_number"),
    [("terminate", ("y",), signal.SIGTERM), ("kill", ("y",), signal.SIGKILL)],
    ids=["terminate", "kill"],
)
async def test_the_actions_menu_signals_the_selected_process(
    tmp_path: Path, menu_entry: str, confirm: tuple[str, ...], signal_number: signal.Signals
) -> None:
    """`a` on a selected process, then terminate (or kill): the real child gets the signal.
    The menu asks the pane the same way the `t`/`K` keys do."""
    config = Config(general=GeneralConfig(store=str(tmp_path / "incidents.db")))
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"]) as child:
        try:
            proc = psutil.Process(child.pid)
            mine = ProcessInfo(
                child.pid,
                proc.name(),
                50.0,
                proc.memory_info().rss,
                cmdline=" ".join(proc.cmdline()),
                create_time=proc.create_time(),
            )
            data = dataclasses.replace(_data(str(tmp_path)), top_processes=(mine,))
            app = ZConsoleApp(config, [HostCheck()], poll=False)
            async with app.run_test(size=(200, 60)) as pilot:
                app.show_result(_result(data))
                await pilot.pause()
                app.query_one("#host-procs", DataTable).focus()
                await pilot.pause()
                await pilot.press("a")
                await wait_until(pilot, lambda: isinstance(app.screen, ActionsMenu))
                options = app.screen.query_one(OptionList)
                ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
                options.highlighted = ids.index(f"builtin:{menu_entry}")
                await pilot.press("enter")
                # One process either way: y/N (typing is for several targets or lost data).
                await wait_until(
                    pilot, lambda: isinstance(app.screen, ConfirmScreen | TypeTargetScreen)
                )
                if isinstance(app.screen, TypeTargetScreen):
                    await pilot.press(*f"pid {child.pid}", "enter")
                else:
                    await pilot.press(*confirm)
                await wait_until(pilot, lambda: not psutil.pid_exists(child.pid))
                await app.workers.wait_for_complete()
                (line,) = read_audit(app.action_runner.audit.path)
            # The mitigation reaps the child (it is ours) and says how it ended.
            assert line["outcome"] == "succeeded", line
            assert f"exited with {signal_number.name}" in line["detail"]
        finally:
            if child.poll() is None:
                child.kill()


def test_sparkline_scales_and_buckets() -> None:
    assert sparkline([0.0, 50.0, 100.0], 3) == " ▄█"
    assert len(sparkline([float(v) for v in range(300)], 20, top=300)) == 20
    assert sparkline([], 10) == ""


class _HangingStatvfs:
    def __init__(self, dead: str) -> None:
        self.dead = dead
        self.release = threading.Event()

    def __call__(self, path: str) -> os.statvfs_result:
        if path == self.dead:
            self.release.wait(60)
        return os.statvfs("/")


async def test_hanging_mount_is_shown_and_the_pane_keeps_updating(tmp_path: Path) -> None:
    statvfs = _HangingStatvfs("/mnt/dead")
    mounts = [
        MountEntry("deadhost:/export", "/mnt/dead", "nfs4"),
        MountEntry("/dev/zc-test", str(tmp_path), "ext4"),
    ]
    check = HostCheck(
        HostSettings(mount_timeout=0.3),
        interval=0.2,
        timeout=5.0,
        mounts=lambda: mounts,
        statvfs=statvfs,
    )
    app = ZConsoleApp(Config(), [check], poll=True)
    try:
        async with app.run_test(size=(200, 60)) as pilot:
            pane = app.query_one(HostPane)
            table = pane.query_one("#host-disks", DataTable)

            def shown() -> bool:
                rows = _cells(table)
                return len(rows) == 2 and rows[0][0] == "/mnt/dead" and "hanging" in rows[0][1]

            await _until(pilot, shown, "the dead mount shown as hanging")
            first = app.latest_result("host")
            assert first is not None and first.latest.data is not None
            polls_before = len(first.latest.data.history.cpu)
            await _until(
                pilot,
                lambda: (
                    (r := app.latest_result("host")) is not None
                    and r.latest.collected_at > first.latest.collected_at
                    and r.latest.data is not None
                    and len(r.latest.data.history.cpu) > polls_before
                ),
                "another poll while the mount still hangs",
            )
            latest = app.latest_result("host")
            assert latest is not None
            # The poll itself never timed out: the mount's own timeout kept the pane alive.
            assert latest.latest.error is None and latest.latest.status is Status.CRIT
            assert shown() and _cells(table)[1][0] == "…" + str(tmp_path)[-23:]
    finally:
        statvfs.release.set()


async def _until(pilot: Any, predicate: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")
