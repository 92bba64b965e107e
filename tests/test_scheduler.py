"""The scheduler: hard timeouts, no overlap or pile-up, stale data kept, others unaffected."""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Callable

import pytest

from tests import services
from zconsole.checks.base import Check, CheckResult, Status
from zconsole.scheduler import LEAD_WAIT_S, Scheduler, collect_all


class CountingCheck(Check[int]):
    """Answers at once with an increasing number."""

    title = "Counting"

    def __init__(self, name: str = "count", interval: float = 0.05) -> None:
        super().__init__(interval=interval, timeout=1.0)
        self.name = name
        self.calls = 0

    def probe(self) -> tuple[Status, str, int]:
        self.calls += 1
        return Status.OK, f"call {self.calls}", self.calls


class SocketCheck(Check[str]):
    """Reads from a TCP port with no socket timeout: against a hung listener it really hangs."""

    name = "hang"
    title = "Hang"

    def __init__(self, port: int, timeout: float = 0.3) -> None:
        super().__init__(interval=0.05, timeout=timeout)
        self.port = port
        self.started = 0
        self.lock = threading.Lock()

    def probe(self) -> tuple[Status, str, str]:
        with self.lock:
            self.started += 1
        with socket.create_connection(("127.0.0.1", self.port)) as conn:
            conn.settimeout(None)
            reply = conn.recv(16)
        return Status.OK, "answered", reply.decode()


class FailingCheck(Check[int]):
    name = "flaky"
    title = "Flaky"

    def __init__(self) -> None:
        super().__init__(interval=0.05, timeout=1.0)
        self.fail = False
        self.calls = 0

    def probe(self) -> tuple[Status, str, int]:
        self.calls += 1
        if self.fail:
            raise ConnectionRefusedError("connection refused to postgresql://u:pw-123@127.0.0.1/db")
        return Status.OK, "fine", self.calls


async def run_until(scheduler: Scheduler, predicate: object, timeout: float = 10.0) -> None:
    task = asyncio.create_task(scheduler.run())
    try:
        deadline = time.monotonic() + timeout
        while not predicate():  # type: ignore[operator]
            assert time.monotonic() < deadline, "condition not reached"
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        scheduler.close()


async def test_a_hung_check_times_out_without_piling_up_and_others_keep_updating() -> None:
    results: list[CheckResult] = []
    with services.hanging_listener() as port:
        hang = SocketCheck(port, timeout=0.2)
        count = CountingCheck()
        scheduler = Scheduler([hang, count], results.append)

        def enough() -> bool:
            hung = [r for r in results if r.name == "hang"]
            return len(hung) >= 3 and count.calls >= 10

        await run_until(scheduler, enough)
    hung = [r for r in results if r.name == "hang"]
    assert all(r.latest.status is Status.ERROR for r in hung)
    assert "no answer after" in (hung[0].latest.error or "")
    # Three timeouts reported, yet only one connection was ever attempted: no pile-up.
    assert hang.started == 1
    assert count.calls >= 10


async def test_polls_never_overlap() -> None:
    class SlowCheck(CountingCheck):
        def __init__(self) -> None:
            super().__init__(name="slow", interval=0.0)
            self.running = 0
            self.max_running = 0

        def probe(self) -> tuple[Status, str, int]:
            self.running += 1
            self.max_running = max(self.max_running, self.running)
            time.sleep(0.02)
            self.running -= 1
            return super().probe()

    slow = SlowCheck()
    scheduler = Scheduler([slow], lambda _r: None)
    await run_until(scheduler, lambda: slow.calls >= 5)
    assert slow.max_running == 1


async def test_error_keeps_last_good_data_and_reports_stale_age() -> None:
    results: list[CheckResult] = []
    flaky = FailingCheck()
    scheduler = Scheduler([flaky], results.append)

    def failed_after_good() -> bool:
        if len(results) >= 2 and not flaky.fail:
            flaky.fail = True
        return any(r.latest.error for r in results)

    await run_until(scheduler, failed_after_good)
    bad = next(r for r in results if r.latest.error)
    assert bad.latest.status is Status.ERROR
    assert bad.last_good is not None and bad.last_good.data is not None
    stale = bad.stale_for()
    assert stale is not None and stale >= 0.0
    # The password in the exception text never reaches the snapshot.
    assert "pw-123" not in (bad.latest.error or "")
    assert "ConnectionRefusedError" in (bad.latest.error or "")


async def test_refresh_polls_at_once_instead_of_waiting_the_interval() -> None:
    check = CountingCheck(interval=3600.0)
    scheduler = Scheduler([check], lambda _r: None)
    task = asyncio.create_task(scheduler.run())
    try:
        while check.calls < 1:
            await asyncio.sleep(0.01)
        scheduler.refresh()
        deadline = time.monotonic() + 5
        while check.calls < 2:
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
    finally:
        task.cancel()
        scheduler.close()
    assert check.calls == 2


async def test_collect_all_bounds_every_check_by_its_timeout() -> None:
    with services.hanging_listener() as port:
        started = time.monotonic()
        snaps = await collect_all([SocketCheck(port, timeout=0.3), CountingCheck()])
        elapsed = time.monotonic() - started
    assert snaps["hang"].status is Status.ERROR
    assert snaps["count"].status is Status.OK
    # Generous bound: this asserts "bounded", not a speed.
    assert elapsed < 10


async def test_checks_of_one_interval_poll_together_on_one_grid() -> None:
    """First data from every source at once, and every later poll of checks with the same
    interval at the same tick of one grid, so the console draws them in one frame."""
    interval = 0.8
    checks = [CountingCheck(f"c{i}", interval=interval) for i in range(4)]
    seen: dict[str, list[float]] = {c.name: [] for c in checks}

    def listener(result: CheckResult) -> None:
        seen[result.name].append(time.monotonic())

    scheduler = Scheduler(checks, listener)
    task = asyncio.create_task(scheduler.run())
    try:
        deadline = time.monotonic() + 10
        while min(len(v) for v in seen.values()) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
    finally:
        task.cancel()
        scheduler.close()
    for n in range(4):
        nth = sorted(v[n] for v in seen.values())
        assert nth[-1] - nth[0] < interval / 4, (n, nth)  # together
    # And the grid keeps the interval: no drift by the polls' own duration.
    for times in seen.values():
        gaps = [b - a for a, b in itertools.pairwise(times[1:])]
        assert all(interval * 0.8 < gap < interval * 1.3 for gap in gaps), gaps


def test_the_next_tick_skips_one_closer_than_a_quarter_interval() -> None:
    scheduler = Scheduler([], lambda _r: None)
    scheduler.origin = 100.0
    assert scheduler.until_next_tick(2.0, 100.01) == pytest.approx(1.99)
    assert scheduler.until_next_tick(2.0, 103.0) == pytest.approx(1.0)
    # A poll that finished just before a tick waits for the one after it.
    assert scheduler.until_next_tick(2.0, 101.9) == pytest.approx(2.1)
    assert scheduler.until_next_tick(0.0, 101.9) == 0.0


async def test_with_after_first_the_first_check_polls_alone_until_its_data_is_shown() -> None:
    """The host's first data is drawn before the other checks' first polls (which import their
    client libraries) start; if it is never shown, they start after LEAD_WAIT_S anyway."""
    checks = [CountingCheck(f"c{i}", interval=5.0) for i in range(3)]
    order: list[str] = []
    releases: list[Callable[[], None]] = []

    scheduler = Scheduler(
        checks, lambda r: order.append(r.name), after_first=lambda release: releases.append(release)
    )
    task = asyncio.create_task(scheduler.run())
    try:
        deadline = time.monotonic() + 5
        while not releases and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.1)
        assert order == ["c0"]  # the others wait for the first one's frame
        releases[0]()
        while len(order) < 3 and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        assert sorted(order[1:]) == ["c1", "c2"]
    finally:
        task.cancel()
        scheduler.close()

    # Never shown (the first check's frame never comes): the others start after the wait.
    order.clear()
    scheduler = Scheduler(checks, lambda r: order.append(r.name), after_first=lambda _r: None)
    started = time.monotonic()
    task = asyncio.create_task(scheduler.run())
    try:
        while len(order) < 3 and time.monotonic() < started + 5:
            await asyncio.sleep(0.01)
        assert sorted(order) == ["c0", "c1", "c2"]
        assert time.monotonic() - started >= LEAD_WAIT_S * 0.9
    finally:
        task.cancel()
        scheduler.close()
