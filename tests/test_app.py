"""The app shell through Pilot: layout at 80x24 and war-room size, keys, resilience to hangs."""

from __future__ import annotations

import socket
import time

from rich.text import Text
from textual.widgets import Static

from tests import services
from tests.pilot import wait_until
from zconsole.app import ZConsoleApp
from zconsole.checks.base import Check, CheckResult, Status
from zconsole.checks.host import HostCheck
from zconsole.config import Config
from zconsole.sources import build_checks
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.pane import Pane


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
            await wait_until(pilot, lambda: app.scheduler.result("host") is not None)
            first = app.scheduler.result("host")
            assert first is not None
            await wait_until(
                pilot,
                lambda: (
                    (r := app.scheduler.result("host")) is not None
                    and r.latest.collected_at > first.latest.collected_at
                ),
            )
            await pilot.press("3")
            assert app.query_one(TabBar).active == "postgres"
            await pilot.press("1")
            assert app.query_one(TabBar).active == "host"
            assert "timed out" in (app.scheduler.result("postgres").latest.error or "")  # type: ignore[union-attr]


async def test_narrow_terminal_shows_one_pane_and_number_keys_switch() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(80, 24)) as pilot:
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
        await wait_until(pilot, lambda: app.scheduler.result("redis") is not None)
        text = pane_text(app, "redis")
        assert "not configured" in text
        assert "REDIS_URL" in text
        # Not configured is not an error: the header's worst status ignores it.
        await wait_until(pilot, lambda: app.scheduler.result("host") is not None)
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


async def test_every_binding_is_in_the_command_palette() -> None:
    app = ZConsoleApp(Config(), build_checks(Config()), poll=False)
    async with app.run_test(size=(120, 40)):
        titles = [c.title for c in app.get_system_commands(app.screen)]
        for expected in ("Refresh", "Pin selected row", "Show Host (1)", "Show HTTP & TLS (5)"):
            assert expected in titles
