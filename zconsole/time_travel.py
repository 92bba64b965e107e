"""The console's time cursor: live, or a recorded moment every pane renders under a banner.

Keys (in the app's bindings, so the command palette lists them): ``[``/``]`` one poll of the
shown pane back/forward, ``{``/``}`` a minute, ``(``/``)`` the previous/next status change,
``g`` go to a time, ``G`` back to live, ``H`` the status history strips. While the cursor is in
the past the live polls keep coming (recorded, watched for the incident timeline) but are not
drawn, and the action layer refuses every action (:meth:`TimeTravel.refusal`): a restart decided
on a picture of 03:12 must not run at 03:29.

At start the host pane's 10-minute trends are filled from the recording, so the sparklines
show what happened before the console was opened.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
from textual.binding import Binding

from zconsole.checks.base import Check, CheckResult, Snapshot, Status, now_utc, worst
from zconsole.recording.db import RecordingError
from zconsole.recording.reader import RecordingReader, Transition
from zconsole.recording.when import parse_when
from zconsole.widgets.header import StatusHeader, TabBar
from zconsole.widgets.replay import GoToTimeScreen, HistoryStrips, ReplayBanner

if TYPE_CHECKING:
    from zconsole.app import ZConsoleApp

#: The time keys; the app puts them in its BINDINGS (and so in the command palette).
TIME_BINDINGS: list[Binding] = [
    Binding("left_square_bracket", "time('poll', -1)", "Back one poll", show=False),
    Binding("right_square_bracket", "time('poll', 1)", "Forward one poll", show=False),
    Binding("left_curly_bracket", "time('minute', -1)", "Back one minute", show=False),
    Binding("right_curly_bracket", "time('minute', 1)", "Forward one minute", show=False),
    Binding("left_parenthesis", "time('change', -1)", "Previous status change", show=False),
    Binding("right_parenthesis", "time('change', 1)", "Next status change", show=False),
    Binding("g", "time('goto', 0)", "Go to time", show=False),
    Binding("G", "time('live', 0)", "Back to live", show=False),
    Binding("H", "time('strips', 0)", "Status history", show=False),
]
#: Trends window filled from the recording at start (the host check's sparkline window).
TRENDS_S = 600.0
#: Moments this close to now are "now": the cursor goes back to live.
LIVE_WITHIN_S = 1.0


def _notable(change: Transition) -> bool:
    """A change worth jumping to: not the first poll of a source that was fine."""
    return change.old is not None or change.new.rank >= Status.WARN.rank


class TimeTravel:
    """The cursor (None: live) and what it takes to show the panes at it."""

    def __init__(self, app: ZConsoleApp, path: Path) -> None:
        self.app = app
        self.path = path
        self.cursor: datetime | None = None
        self.strips_shown = False
        self._reader: RecordingReader | None = None

    @property
    def replaying(self) -> bool:
        return self.cursor is not None

    def refusal(self) -> str | None:
        """Why no action may run now (the action layer asks before each one)."""
        if self.cursor is None:
            return None
        return (
            f"replay: the screen shows {self.cursor:%H:%M:%S} UTC, not now — "
            "G goes back to live before acting"
        )

    def now(self) -> datetime:
        return self.app.clock() if self.app.clock is not None else now_utc()

    def reader(self) -> RecordingReader | None:
        if self._reader is None and self.path.exists():
            with contextlib.suppress(RecordingError, sqlite3.Error):
                self._reader = RecordingReader(self.path)
        return self._reader

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    # -- keys ---------------------------------------------------------------------------------

    def handle(self, verb: str, direction: int) -> None:
        if verb == "live":
            self.go_live()
            return
        if verb == "strips":
            self.strips_shown = not self.strips_shown
            self.refresh_strips()
            return
        reader = self.reader()
        if reader is None:
            self.app.notify(f"Nothing recorded yet ({self.path}).", timeout=4)
            return
        try:
            if verb == "poll":
                self._step_poll(reader, direction)
            elif verb == "minute":
                self._go(reader, (self.cursor or self.now()) + timedelta(minutes=direction))
            elif verb == "change":
                self._step_change(reader, direction)
            elif verb == "goto":
                self._ask_time(reader)
        except sqlite3.Error as exc:
            self.app.notify(f"Recording unreadable: {exc}", severity="error")

    def _step_poll(self, reader: RecordingReader, direction: int) -> None:
        if direction > 0 and self.cursor is None:
            return
        base = self.cursor or self.now()
        source: str | None = self.app.active_pane
        if source not in reader.sources():
            source = None
        target = reader.step(base, direction, source)
        if target is None:
            if direction > 0:
                self.go_live()
            else:
                self.app.notify("The start of the recording.", timeout=3)
            return
        self._go(reader, target)

    def _step_change(self, reader: RecordingReader, direction: int) -> None:
        base = self.cursor or self.now()
        if direction < 0:
            earlier = reader.transitions(until=base - timedelta(milliseconds=1))
            found = next((c for c in reversed(earlier) if _notable(c)), None)
        else:
            if self.cursor is None:
                return
            later = reader.transitions(since=base + timedelta(milliseconds=1))
            found = next((c for c in later if _notable(c)), None)
        if found is None:
            if direction > 0:
                self.go_live()
            else:
                self.app.notify("No earlier status change recorded.", timeout=3)
            return
        self.show(found.at)
        old = found.old.value.upper() if found.old else "start"
        self.app.notify(f"{found.source}: {old} → {found.new.value.upper()}", timeout=3)

    def _ask_time(self, reader: RecordingReader) -> None:
        span = reader.span()
        hint = (
            f"recorded {span[0]:%Y-%m-%d %H:%M:%S} – {span[1]:%H:%M:%S} UTC"
            if span
            else "nothing recorded yet"
        )

        def answered(text: str | None) -> None:
            if text is None:
                return
            try:
                moment = parse_when(text, self.now())
            except ValueError as exc:
                self.app.notify(str(exc), severity="warning", markup=False)
                return
            self._go(reader, moment)

        self.app.push_screen(GoToTimeScreen(hint), callback=answered)

    def _go(self, reader: RecordingReader, moment: datetime) -> None:
        now = self.now()
        if moment >= now - timedelta(seconds=LIVE_WITHIN_S):
            self.go_live()
            return
        span = reader.span()
        if span is None:
            self.app.notify("Nothing recorded yet.", timeout=3)
            return
        if moment < span[0]:
            self.app.notify(f"The recording starts at {span[0]:%H:%M:%S} UTC.", timeout=4)
            moment = span[0]
        self.show(moment)

    # -- drawing ------------------------------------------------------------------------------

    def results_at(self, moment: datetime) -> dict[str, CheckResult]:
        """What each source's pane shows at ``moment``, from the recording."""
        reader = self.reader()
        results: dict[str, CheckResult] = {}
        for name in self.app.checks:
            live = self.app.latest_result(name)
            if live is not None and not live.latest.configured:
                results[name] = live  # not configured now: nothing to replay either
                continue
            snapshot = reader.snapshot_at(name, moment) if reader is not None else None
            if snapshot is None:
                snapshot = Snapshot(
                    check=name,
                    status=Status.UNKNOWN,
                    summary="not recorded at this moment",
                    collected_at=moment,
                    duration_ms=0.0,
                    error=f"nothing recorded at {moment:%H:%M:%S} UTC "
                    "(no recorder or console was running then)",
                )
            last_good = snapshot if snapshot.ok_data else None
            if last_good is None and reader is not None:
                last_good = reader.last_good_at(name, moment)
            results[name] = CheckResult(latest=snapshot, last_good=last_good, last_good_at=None)
        return results

    def show(self, moment: datetime) -> None:
        """Put the cursor at ``moment`` and draw every pane as it was."""
        self.cursor = moment
        self._draw(self.results_at(moment), lambda: moment)
        self._banner()
        self.refresh_strips()

    def go_live(self) -> None:
        if self.cursor is None:
            return
        self.cursor = None
        live = {
            name: result
            for name in self.app.checks
            if (result := self.app.latest_result(name)) is not None
        }
        self._draw(live, self.app.clock or now_utc)
        self._banner()
        self.refresh_strips()
        self.app.notify("Live.", timeout=2)

    def _draw(self, results: dict[str, CheckResult], clock: Any) -> None:
        screen = self.app.main_screen
        tabs = screen.query_one(TabBar)
        for name, result in results.items():
            pane = self.app.pane(name)
            if pane is not None:
                pane.clock = clock
                pane.show_result(result)
            tabs.set_status(name, result.latest.status)
        screen.query_one(StatusHeader).worst = worst(
            [r.latest.status for r in results.values() if r.latest.configured]
        )

    def _banner(self) -> None:
        banner = self.app.main_screen.query_one_optional(ReplayBanner)
        if banner is not None:
            banner.set_moment(self.cursor, self.now())

    def tick(self) -> None:
        """Every second: "17 min ago" keeps counting."""
        if self.cursor is not None:
            self._banner()

    def refresh_strips(self) -> None:
        strips = self.app.main_screen.query_one_optional(HistoryStrips)
        if strips is None:
            return
        strips.set_class(self.strips_shown, "-shown")
        reader = self.reader()
        if not self.strips_shown or reader is None:
            return
        span = reader.span()
        if span is None:
            return
        since, until = span[0], max(span[1], self.now())
        width = max(10, self.app.size.width - 16)
        rows: list[tuple[str, list[Status | None]]] = []
        for name in self.app.checks:
            live = self.app.latest_result(name)
            if live is not None and not live.latest.configured:
                rows.append((self._title(name), [None] * width))  # nothing to tell over time
                continue
            changes = reader.transitions(source=name)
            rows.append((self._title(name), status_cells(changes, since, until, width)))
        cursor = None
        if self.cursor is not None:
            share = (self.cursor - since) / (until - since) if until > since else 0.0
            cursor = min(width - 1, max(0, int(share * width)))
        strips.set_strips(rows, since=since, until=until, cursor=cursor)

    def _title(self, name: str) -> str:
        pane = self.app.pane(name)
        return pane.title if pane is not None else name


def status_cells(
    changes: Sequence[Transition], since: datetime, until: datetime, width: int
) -> list[Status | None]:
    """The worst status in each of ``width`` buckets of [since, until], from the transitions."""
    span = (until - since).total_seconds() or 1.0
    cells: list[Status | None] = []
    current: Status | None = None
    i = 0
    for column in range(width):
        end = since + timedelta(seconds=span * (column + 1) / width)
        seen = [current] if current is not None else []
        while i < len(changes) and changes[i].at < end:
            current = changes[i].new
            seen.append(current)
            i += 1
        cells.append(worst(seen) if seen else None)
    return cells


# -- trends at start ------------------------------------------------------------------------


class _Memory(msgspec.Struct):
    percent: float


class _Disk(msgspec.Struct):
    mount: str
    percent: float
    hanging: bool = False
    error: str | None = None


class _HostTrend(msgspec.Struct):
    """The few host fields the sparklines need: decoding only these skips the rest."""

    cpu_percent: float
    memory: _Memory
    disks: list[_Disk]


class _HostBody(msgspec.Struct):
    data: _HostTrend | None = None


def seed_host_trends(path: Path, checks: Iterable[Check[Any]], now: datetime) -> int:
    """Fill the host check's 10-minute window from the recording; returns the polls used.

    Runs in a thread before the first poll (it reads the file).
    """
    from zconsole.checks.host import HostCheck

    host = next((c for c in checks if isinstance(c, HostCheck)), None)
    if host is None or not path.exists():
        return 0
    try:
        with RecordingReader(path) as reader:
            bodies = reader.bodies("host", now - timedelta(seconds=TRENDS_S), now)
    except (RecordingError, sqlite3.Error):
        return 0
    decoder = msgspec.json.Decoder(_HostBody)
    points = []
    for at, body in bodies:
        try:
            trend = decoder.decode(body).data
        except msgspec.DecodeError:
            continue
        if trend is None:
            continue
        disks = {d.mount: d.percent for d in trend.disks if not d.hanging and d.error is None}
        ago = (now - at).total_seconds()
        points.append((ago, trend.cpu_percent, trend.memory.percent, disks))
    host.seed_history(points)
    return len(points)
