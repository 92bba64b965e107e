"""SVG screen snapshots: the outage in tests/screen_data.py at 200x60 and 80x24.

Every screen is fed fixed Snapshots (no polling) and a fixed clock, with an empty incident store
in tmp, so each SVG is the same on every run. Regenerate after an intended change with
``.venv/bin/pytest tests/test_screens.py --snapshot-update`` and look at the result.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from tests.screen_data import FIXED_TIME, HOSTILE, all_snapshots
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult
from zconsole.checks.incident import KIND_NOTE
from zconsole.config import Config, load_config
from zconsole.registry import build_checks
from zconsole.widgets.confirm import ConfirmScreen

WAR_ROOM = (200, 60)
SMALL = (80, 24)

SnapCompare = Callable[..., bool]
RunBefore = Callable[[Pilot[None]], Awaitable[None]]


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Colour on for every screen unless a test turns NO_COLOR on itself."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


def make_config(tmp_path: Path) -> Config:
    flags: dict[str, Any] = {
        "general": {"store": str(tmp_path / "store.db")},
        "incident": {"export_dir": str(tmp_path / "incidents")},
        # Never reached (nothing polls), but never the machine's engine either.
        "docker": {"host": f"unix://{tmp_path / 'no-docker.sock'}"},
    }
    return load_config(flags=flags, env={}, cwd=tmp_path)


def make_app(tmp_path: Path) -> ZConsoleApp:
    config = make_config(tmp_path)
    return ZConsoleApp(
        config, build_checks(config), poll=False, hostname="web-01", clock=lambda: FIXED_TIME
    )


async def feed(pilot: Pilot[None]) -> None:
    """Every source's fixed snapshot, as the scheduler would deliver it; no blinking cursors."""
    app = pilot.app
    assert isinstance(app, ZConsoleApp)
    for snap in all_snapshots():
        app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
    await pilot.pause()
    no_blink(pilot)


def no_blink(pilot: Pilot[None]) -> None:
    for box in pilot.app.screen.query(Input):
        box.cursor_blink = False


def then(*keys: str) -> RunBefore:
    """Feed the data, then press ``keys`` and settle."""

    async def run_before(pilot: Pilot[None]) -> None:
        await feed(pilot)
        await pilot.press(*keys)
        await pilot.pause()
        no_blink(pilot)

    return run_before


def test_war_room_200x60(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """Every pane and the incident area on one screen."""
    assert snap_compare(make_app(tmp_path), terminal_size=WAR_ROOM, run_before=feed)


def test_small_host_tab(snap_compare: SnapCompare, tmp_path: Path) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=feed)


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("2", id="containers"),
        pytest.param("3", id="postgres"),
        pytest.param("4", id="redis"),
        pytest.param("5", id="http"),
    ],
)
def test_small_other_tabs(snap_compare: SnapCompare, tmp_path: Path, key: str) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=then(key))


def test_small_open_incident(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """An open P1 with notes: the clocks come from the app's fixed clock."""

    async def run_before(pilot: Pilot[None]) -> None:
        await feed(pilot)
        app = pilot.app
        assert isinstance(app, ZConsoleApp) and app.incidents is not None
        store = app.incidents.store
        incident = store.declare(
            title="Checkout failing: /ready 500, disk / 93%",
            severity="P1",
            author="alice",
            commander="alice",
            services=("shop", "checkout"),
            impact="Customers cannot pay since 13:52",
            started_at=FIXED_TIME - timedelta(minutes=13, seconds=41),
            now=FIXED_TIME - timedelta(minutes=11, seconds=2),
        )
        notes = [
            (9, "app-worker-2 OOM-killed, celery queue growing"),
            (6, f"pid 48211 idle in transaction blocks 2 sessions; query {HOSTILE}"),
            (2, "restarting app-web-1 after pg_terminate_backend(48211)"),
        ]
        for minutes_ago, text in notes:
            store.add_entry(
                incident.id, KIND_NOTE, text, "bob", at=FIXED_TIME - timedelta(minutes=minutes_ago)
            )
        app.incident_flow.poll()
        await pilot.pause()

    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run_before)


def test_small_restart_confirmation(snap_compare: SnapCompare, tmp_path: Path) -> None:
    """Containers tab, the unhealthy web container selected, R: the disruptive confirmation
    (never answered: nothing runs)."""

    async def run_before(pilot: Pilot[None]) -> None:
        await then("2")(pilot)
        await pilot.press("down", "R")
        for _ in range(100):
            if isinstance(pilot.app.screen, ConfirmScreen):
                break
            await pilot.pause(0.02)
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.pause()
        no_blink(pilot)

    assert snap_compare(make_app(tmp_path), terminal_size=SMALL, run_before=run_before)


def test_small_no_color(
    snap_compare: SnapCompare, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """NO_COLOR (read when the app is built): status still readable as words and symbols."""
    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app(tmp_path)
    assert app.no_color
    assert snap_compare(app, terminal_size=SMALL, run_before=then("2"))


async def test_first_focus_is_on_the_pane_shown(tmp_path: Path) -> None:
    """Started the way `zconsole` starts (App.run, not run_test), 80x24 shows the host tab: the
    keys must go to it, not to the hidden containers table that auto-focus picked before the
    narrow layout applied (R there would ask to restart a container nobody sees)."""
    app = make_app(tmp_path)
    seen: list[str] = []

    async def auto_pilot(pilot: Pilot[object]) -> None:
        await pilot.pause()
        focused = app.focused
        assert focused is not None
        seen.extend(type(a).__name__ for a in focused.ancestors_with_self)
        app.exit()

    await app.run_async(headless=True, size=SMALL, auto_pilot=auto_pilot)
    assert "HostPane" in seen
    assert "ContainersPane" not in seen
