"""The app shell through Pilot: layout at 80x24 and war-room size, keys, resilience to hangs."""

from __future__ import annotations

import socket
import time
from functools import partial
from pathlib import Path
from typing import ClassVar

import pytest
from rich.text import Text
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.command import CommandList, CommandPalette
from textual.widget import Widget
from textual.widgets import Static

from tests import services
from tests.pilot import wait_until
from zconsole.app import ZConsoleApp
from zconsole.checks.base import Check, CheckResult, Status
from zconsole.checks.host import HostCheck
from zconsole.config import Config, load_config
from zconsole.registry import build_checks
from zconsole.widgets.declare import DeclareScreen
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.host import HostPane
from zconsole.widgets.incident import IncidentPanel
from zconsole.widgets.pane import Pane
from zconsole.widgets.timeline import Timeline


class HangingPostgres(Check[str]):
    """A backend that accepts and never answers, under the postgres pane."""

    name = "postgres"
    title = "PostgreSQL"

    def __init__(self, port: int) -> None:
        super().__init__(interval=0.2, timeout=0.5)
        self.port = port

    def probe(self) -> tuple[Status, str, str]:
        with socket.create_connection(("127.0.0.1", self.port)) as conn:
            conn.settimeout(None)
            conn.recv(1)
        return Status.OK, "answered", "x"


def pane_text(app: ZConsoleApp, name: str) -> str:
    pane = app.pane(name)
    assert pane is not None
    parts = []
    for static in pane.query(Static):
        content = static.render()
        parts.append(content.plain if isinstance(content, Text) else str(content))
    subtitle = pane.border_subtitle
    parts.append(subtitle.plain if isinstance(subtitle, Text) else str(subtitle))
    return "\n".join(parts)


async def test_keys_answer_and_host_updates_while_a_backend_hangs() -> None:
    with services.hanging_listener() as port:
        host = HostCheck(interval=0.2)
        app = ZConsoleApp(Config(), [host, HangingPostgres(port)])
        async with app.run_test(size=(200, 60)) as pilot:
            await wait_until(pilot, lambda: "no answer after" in pane_text(app, "postgres"))
            await wait_until(pilot, lambda: app.latest_result("host") is not None)
            first = app.latest_result("host")
            assert first is not None
            await wait_until(
                pilot,
                lambda: (
                    (r := app.latest_result("host")) is not None
                    and r.latest.collected_at > first.latest.collected_at
                ),
            )
            await pilot.press("3")
            assert app.query_one(TabBar).active == "postgres"
            await pilot.press("1")
            assert app.query_one(TabBar).active == "host"
            assert "timed out" in (app.latest_result("postgres").latest.error or "")  # type: ignore[union-attr]


async def test_narrow_terminal_shows_one_pane_and_number_keys_switch() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()  # the panes are placed once the pane area has its size
        assert app.screen.has_class("-narrow")
        visible = [p.source for p in app.query(Pane) if p.display and p.region.area > 0]
        assert visible == ["host"]
        await pilot.press("2")
        await pilot.pause()
        visible = [p.source for p in app.query(Pane) if p.region.area > 0]
        assert visible == ["docker"]


async def test_war_room_size_shows_every_pane_and_the_incident_area() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert not app.screen.has_class("-narrow")
        shown = {p.source for p in app.query(Pane) if p.region.area > 0}
        assert shown == {"host", "docker", "postgres", "redis", "http"}
        incident = app.query_one("#incident")
        assert incident.region.area > 0


async def test_unconfigured_sources_say_how_to_configure_them() -> None:
    config = Config()
    app = ZConsoleApp(config, build_checks(config))
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: app.latest_result("redis") is not None)
        text = pane_text(app, "redis")
        assert "not configured" in text
        assert "REDIS_URL" in text
        # Not configured is not an error: the header's worst status ignores it.
        await wait_until(pilot, lambda: app.latest_result("host") is not None)
        assert app.query_one(StatusHeader).worst is not Status.ERROR


async def test_status_is_a_word_and_symbol_not_only_colour() -> None:
    from zconsole.checks.base import Snapshot, now_utc

    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(200, 60)) as pilot:
        snap: Snapshot[None] = Snapshot(
            check="redis",
            status=Status.CRIT,
            summary="queue celery 6000",
            collected_at=now_utc(),
            duration_ms=3.0,
        )
        app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
        await pilot.pause()
        assert "✖ CRIT" in pane_text(app, "redis")
        header = app.query_one(StatusHeader).render()
        assert "✖ CRIT" in header.plain
        tabs = app.query_one(TabBar).render()
        assert "Redis & queues ✖" in tabs.plain


def palette(app: ZConsoleApp) -> list[SystemCommand]:
    """The commands ctrl+p offers on the panes' screen, as it stands now."""
    return list(app.get_system_commands(app.main_screen))


def assert_in_palette(app: ZConsoleApp, node: ZConsoleApp | Widget) -> None:
    """Each of ``node``'s BINDINGS has one palette entry, titled with its description and key,
    that runs the binding's action on ``node`` (what the key does)."""
    commands = palette(app)
    for binding in Binding.make_bindings(node.BINDINGS):
        same = [
            c
            for c in commands
            if isinstance(c.callback, partial) and c.callback.args == (binding.action, node)
        ]
        assert len(same) == 1, f"{type(node).__name__} {binding.key}: {binding.action}"
        (command,) = same
        assert binding.description in command.title, command.title
        assert f"{app.get_key_display(binding)}" in command.title, command.title


async def test_every_binding_is_in_the_command_palette() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        assert Binding.make_bindings(ZConsoleApp.BINDINGS)
        assert_in_palette(app, app)
        # Textual's own Quit is not offered beside ours.
        assert [c.title for c in palette(app) if c.title.startswith("Quit")] == ["Quit (q)"]
        for source in app.sources:  # MySQL's pane (shown once configured): test_mysql_pane.py
            name, pane_class = source.name, source.pane_class()
            app.action_show_pane(name)
            await pilot.pause()
            pane = app.pane(name)
            assert isinstance(pane, pane_class)
            assert_in_palette(app, pane)
            others = [p for p in app.query(Pane) if p is not pane]
            assert not [
                c.title
                for c in palette(app)
                if isinstance(c.callback, partial) and c.callback.args[1] in others
            ], "only the focused pane's keys"
        timeline = app.query_one(IncidentPanel).timeline
        timeline.focus()
        await pilot.pause()
        assert Binding.make_bindings(Timeline.BINDINGS)
        assert_in_palette(app, timeline)


async def test_a_palette_command_does_what_its_key_does() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(200, 60)) as pilot:
        app.action_show_pane("host")
        await pilot.pause()
        host = app.pane("host")
        assert isinstance(host, HostPane) and host.view == "disks"
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"disks/procs")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count > 0)
        assert "Disks/procs (v)" in str(commands.get_option_at_index(0).prompt)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: host.view == "procs")  # the pane's own action ran
        assert not isinstance(app.screen, CommandPalette)
        # An app key's command too: "Declare (i)" opens the declare form.
        await pilot.press("ctrl+p")
        await wait_until(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"declare")
        commands = app.screen.query_one(CommandList)
        await wait_until(pilot, lambda: commands.option_count > 0)
        await pilot.press("down", "enter")
        await wait_until(pilot, lambda: isinstance(app.screen, DeclareScreen))


CRASH_PASSWORD = "Crash-Pw-7731"


class CrashingApp(ZConsoleApp):
    """The real app plus a key whose handler fails with a DSN and a Config in its locals."""

    BINDINGS: ClassVar[list[BindingType]] = [
        *ZConsoleApp.BINDINGS,
        Binding("x", "crash", "Crash"),
    ]

    def action_crash(self) -> None:
        dsn = f"postgresql://app:{CRASH_PASSWORD}@127.0.0.1:5432/app"
        redis_url = f"redis://:{CRASH_PASSWORD}@127.0.0.1:6379/0"
        config = load_config(env={"DATABASE_URL": dsn}, flags={"redis": {"url": redis_url}})
        raise RuntimeError(f"handler failed with {len(config.sources)} layers")


class LocalsShowingApp(CrashingApp):
    """The same with Textual's own crash report: shows the test would catch a leak."""

    _fatal_error = App._fatal_error


async def crash_output(app: CrashingApp, capsys: pytest.CaptureFixture[str]) -> str:
    capsys.readouterr()
    with pytest.raises(RuntimeError, match="handler failed"):
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("x")
            await pilot.pause()
    return capsys.readouterr().err


async def test_a_crash_report_never_shows_local_variables(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leaky = await crash_output(LocalsShowingApp(Config(), [], poll=False), capsys)
    assert CRASH_PASSWORD in leaky  # Textual's show_locals=True would print it
    err = await crash_output(CrashingApp(Config(), [], poll=False), capsys)
    assert "Traceback" in err and "action_crash" in err and "handler failed" in err
    assert CRASH_PASSWORD not in err
