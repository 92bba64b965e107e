"""The one scheduler: every check polled in its own thread, on its own clock, with a hard timeout.

Rules (Dolphie's polling idiom, made strict):
- each check has a single-thread executor of its own, so a hung backend can only ever block its
  own thread, never another check's and never the event loop;
- the next poll is armed only after the previous one finished (no overlap, no pile-up), at the
  next tick of one shared grid (start + k x interval): checks with the same interval poll at the
  same moments, so the console draws all their new data in one frame instead of one frame each
  (a frame has a fixed cost, and at rest frames are most of the console's CPU);
- a poll that passes its timeout is reported as an ERROR snapshot at once; while that thread is
  still stuck no new poll is started for the check, and each further interval reports it again
  as still hung;
- the last good snapshot is kept beside the latest one so a pane can show old data as stale;
  the listener (the app) keeps the latest results.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from zconsole.checks.base import Check, CheckResult, Snapshot, error_snapshot, now_utc

Listener = Callable[[CheckResult], None]
T = TypeVar("T")
#: The other checks' first polls wait at most this long for the first check's data to be shown.
#: Usually the host's data is drawn well within it (its poll takes ~50 ms); it bounds a slow
#: host poll (a mount answering only at its 1 s mount_timeout), and since the first paint
#: (zconsole/first_paint.py) has already shown the host's figures, the other panes should not
#: wait half a second behind one.
LEAD_WAIT_S = 0.25


class _Slot:
    """Per-check state: its thread, the poll in flight, its last good data."""

    def __init__(self, check: Check[Any]) -> None:
        self.check = check
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"check-{check.name}")
        self.inflight: Future[Snapshot[Any]] | None = None
        self.inflight_since = 0.0
        self.last_good: Snapshot[Any] | None = None
        self.last_good_at: float | None = None
        self.wake = asyncio.Event()


class Scheduler:
    """Runs checks forever on the current asyncio loop; results go to ``listener``."""

    def __init__(
        self,
        checks: Iterable[Check[Any]],
        listener: Listener,
        *,
        after_first: Callable[[Callable[[], None]], object] | None = None,
    ) -> None:
        self._slots = {c.name: _Slot(c) for c in checks}
        self._listener = listener
        # With ``after_first`` (the app's call_after_refresh) the first check (the host: no
        # client library to load) polls alone at start, and the others begin once its data is
        # on the screen: their first polls import psycopg, redis and httpx, and those
        # imports in four threads held the GIL while the first frame with data was drawn.
        self._after_first = after_first
        self._lead = next(iter(self._slots.values()), None)
        self._lead_shown = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        #: The grid's origin (the event loop's clock when run() started).
        self.origin = 0.0

    @property
    def checks(self) -> list[Check[Any]]:
        return [s.check for s in self._slots.values()]

    async def run(self) -> None:
        """Poll every check until cancelled."""
        self.origin = asyncio.get_running_loop().time()
        self._tasks = [asyncio.create_task(self._loop(s)) for s in self._slots.values()]
        try:
            await asyncio.gather(*self._tasks)
        finally:
            for task in self._tasks:
                task.cancel()

    def refresh(self, name: str | None = None) -> None:
        """Poll now (one check or all) instead of waiting for the interval."""
        for slot in self._slots.values():
            if name is None or slot.check.name == name:
                slot.wake.set()

    async def run_on_check_thread(self, name: str, fn: Callable[[], T], timeout: float) -> T:
        """Run ``fn`` on the check's own thread, after any poll in flight (so it may use the
        check's client without locking); raises TimeoutError past ``timeout``."""
        slot = self._slots[name]
        future = slot.executor.submit(fn)
        return await asyncio.wait_for(asyncio.wrap_future(future), timeout=timeout)

    async def poll_once(self, name: str) -> CheckResult:
        """One poll of one check (used by `zconsole snapshot` and tests)."""
        return await self._poll(self._slots[name])

    async def _loop(self, slot: _Slot) -> None:
        if self._after_first is not None and slot is not self._lead:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._lead_shown.wait(), timeout=LEAD_WAIT_S)
        first = True
        while True:
            self._listener(await self._poll(slot))
            if first and slot is self._lead and self._after_first is not None:
                self._after_first(self._lead_shown.set)
            first = False
            slot.wake.clear()
            # Armed only now, after the poll finished.
            wait = self.until_next_tick(slot.check.interval, asyncio.get_running_loop().time())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(slot.wake.wait(), timeout=wait)

    def until_next_tick(self, interval: float, now: float) -> float:
        """Seconds from ``now`` to the grid's next tick for ``interval``; a tick closer than a
        quarter of an interval is skipped (a first poll that started late, or one that ran long,
        is not followed by another at once)."""
        if interval <= 0:
            return 0.0
        ticks = math.floor((now - self.origin) / interval) + 1
        wait = self.origin + ticks * interval - now
        return wait if wait >= interval / 4 else wait + interval

    async def _poll(self, slot: _Slot) -> CheckResult:
        check = slot.check
        loop = asyncio.get_running_loop()
        if slot.inflight is None or slot.inflight.done():
            slot.inflight = slot.executor.submit(check.collect)
            slot.inflight_since = time.monotonic()
        started = time.perf_counter()
        future = slot.inflight
        try:
            snapshot = await asyncio.wait_for(
                asyncio.shield(asyncio.wrap_future(future, loop=loop)), timeout=check.timeout
            )
        except TimeoutError:
            hung = time.monotonic() - slot.inflight_since
            reason = f"no answer after {hung:.0f} s (timeout {check.timeout:g} s)"
            snapshot = error_snapshot(
                check.name,
                f"timed out: {reason}",
                summary=reason,
                collected_at=now_utc(),
                duration_ms=(time.perf_counter() - started) * 1000,
            )
        if snapshot.error is None and snapshot.configured:
            slot.last_good = snapshot
            slot.last_good_at = time.monotonic()
        return CheckResult(
            latest=snapshot, last_good=slot.last_good, last_good_at=slot.last_good_at
        )

    def close(self) -> None:
        """Stop polling and release every check's client, without waiting for hung threads."""
        for task in self._tasks:
            task.cancel()
        for slot in self._slots.values():
            slot.executor.shutdown(wait=False, cancel_futures=True)
            with contextlib.suppress(Exception):
                slot.check.close()


async def collect_all(checks: Iterable[Check[Any]]) -> dict[str, Snapshot[Any]]:
    """Every check once, concurrently, each bounded by its timeout (for `zconsole snapshot`)."""
    results: dict[str, Snapshot[Any]] = {}
    scheduler = Scheduler(checks, lambda _r: None)
    try:
        polled = await asyncio.gather(*(scheduler.poll_once(c.name) for c in scheduler.checks))
        for result in polled:
            results[result.name] = result.latest
    finally:
        scheduler.close()
    return results
