"""The resilience promise with the real PostgreSQL check: a dead, refused or hung database shows its
reason within the timeout while the host pane keeps updating and keys still answer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests import services
from tests.pilot import wait_until
from tests.test_app import pane_text
from zconsole.app import ZConsoleApp
from zconsole.checks.base import Status
from zconsole.config import load_config
from zconsole.registry import build_checks
from zconsole.widgets.header import TabBar


@pytest.fixture
def private_postgres() -> Iterator[services.Postgres]:
    server = services.start_postgres()
    yield server
    services.destroy_postgres(server)


#: The check's hard timeout and poll interval in these tests.
TIMEOUT_S = 1.5
INTERVAL_S = 0.3
#: A functional bound, not a benchmark: the reason must be on screen within the check's timeout
#: plus generous slack for a loaded CI machine.
REASON_BOUND_S = TIMEOUT_S + 5.0


def make_app(dsn: str) -> ZConsoleApp:
    flags: dict[str, Any] = {
        "general": {"interval": INTERVAL_S, "timeout": TIMEOUT_S},
        "docker": {"enabled": False},
        "postgres": {"dsn": dsn},
    }
    config = load_config(env={}, flags=flags)
    return ZConsoleApp(config, build_checks(config))


async def wait_for_reason(app: ZConsoleApp, pilot: Any, since: float, *reasons: str) -> str:
    """Wait until the postgres pane shows ERROR with one of ``reasons``; assert it came within
    REASON_BOUND_S of ``since``. Returns the pane's text (lower case)."""

    def shown() -> bool:
        text = pane_text(app, "postgres").lower()
        return postgres_status(app) is Status.ERROR and any(r in text for r in reasons)

    await wait_until(pilot, shown, timeout=REASON_BOUND_S + 20)
    took = time.monotonic() - since
    assert took <= REASON_BOUND_S, f"reason shown after {took:.1f} s, bound {REASON_BOUND_S} s"
    return pane_text(app, "postgres").lower()


async def assert_host_updates_and_keys_answer(app: ZConsoleApp, pilot: Any) -> None:
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


def postgres_status(app: ZConsoleApp) -> Status | None:
    result = app.latest_result("postgres")
    return None if result is None else result.latest.status


async def test_stopping_postgres_shows_the_reason_and_recovery(
    private_postgres: services.Postgres,
) -> None:
    app = make_app(private_postgres.dsn)
    async with app.run_test(size=(200, 60)) as pilot:
        await wait_until(pilot, lambda: postgres_status(app) not in (None, Status.ERROR))
        private_postgres.stop("fast")
        stopped = time.monotonic()
        # The open session sees the server go away; a new connect is then refused.
        text = await wait_for_reason(
            app, pilot, stopped, "server closed the connection", "connection refused"
        )
        assert "stale" in text
        await assert_host_updates_and_keys_answer(app, pilot)
        private_postgres.start()
        await wait_until(
            pilot, lambda: postgres_status(app) not in (None, Status.ERROR), timeout=30
        )


async def test_closed_port_is_refused_with_a_clear_reason() -> None:
    port = services.closed_port()
    app = make_app(f"postgresql://app:pw-resil-1@127.0.0.1:{port}/app")
    async with app.run_test(size=(200, 60)) as pilot:
        text = await wait_for_reason(app, pilot, time.monotonic(), "connection refused")
        assert "pw-resil-1" not in text
        await assert_host_updates_and_keys_answer(app, pilot)


async def test_a_listener_that_never_answers_times_out() -> None:
    with services.hanging_listener() as port:
        app = make_app(f"postgresql://app@127.0.0.1:{port}/app")
        async with app.run_test(size=(200, 60)) as pilot:
            # The scheduler's hard timeout ("timed out: no answer after 2 s") or libpq's
            # connect_timeout ("no answer within …"), whichever fires first.
            await wait_for_reason(app, pilot, time.monotonic(), "no answer")
            await assert_host_updates_and_keys_answer(app, pilot)
