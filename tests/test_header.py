"""The header line gives way part by part at narrow widths and never cuts a part."""

from __future__ import annotations

from datetime import UTC, datetime

from textual.app import App, ComposeResult

from zconsole.checks.base import Status
from zconsole.widgets.header import StatusHeader

FIXED = datetime(2026, 11, 23, 14, 5, 33, tzinfo=UTC)


class _HeaderApp(App[None]):
    def __init__(self, *, read_only: bool = False) -> None:
        super().__init__()
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        yield StatusHeader("web-01", read_only=self.read_only, clock=lambda: FIXED)


async def test_at_80_columns_the_clock_and_badge_give_way_and_the_update_clock_stays_whole() -> (
    None
):
    app = _HeaderApp()
    async with app.run_test(size=(80, 5)) as pilot:
        header = app.query_one(StatusHeader)
        header.worst = Status.CRIT
        header.incident = "INC-2026-11-23-001 P1 investigating"
        header.show_update_clock(79.0, 900.0)
        header.refresh()
        await pilot.pause()
        line = header.render().plain
        assert len(line) <= 80, line
        assert "UPDATE DUE in 1m19s" in line and "✖ CRIT" in line
        assert "INC-2026-11-23-001 P1 investigating" in line and "web-01" in line
        assert "14:05:33" not in line and "zconsole" not in line  # the first to give way


async def test_a_wallboard_keeps_read_only_and_the_status_before_its_hostname() -> None:
    app = _HeaderApp(read_only=True)
    async with app.run_test(size=(80, 5)) as pilot:
        header = app.query_one(StatusHeader)
        header.worst = Status.CRIT
        header.incident = "INC-2026-11-23-001 P1 investigating"
        header.show_update_clock(-130.0, 900.0)
        header.refresh()
        await pilot.pause()
        line = header.render().plain
        assert len(line) <= 80, line
        assert "READ-ONLY" in line and "UPDATE OVERDUE 2m10s" in line and "✖ CRIT" in line


async def test_with_room_every_part_is_shown() -> None:
    app = _HeaderApp()
    async with app.run_test(size=(160, 5)) as pilot:
        header = app.query_one(StatusHeader)
        header.incident = "INC-2026-11-23-001 P1 investigating"
        await pilot.pause()
        line = header.render().plain
        assert line.startswith(" zconsole  web-01") and line.endswith("14:05:33 UTC"), line
