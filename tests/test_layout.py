"""The screen at every size: the rows go to what is wrong (widgets/layout.py, widgets/table.py,
widgets/keybar.py).

SVG snapshots of the drill (tests/drill_data.py: one screen with problems everywhere, one quiet)
at six terminal sizes, and assertions on what the screen shows: rendered lines read back from
the compositor, widget regions, the columns each table kept.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from tests import drill_data, screen_data
from tests.test_screens import make_app
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult, Snapshot
from zconsole.widgets.keybar import KeyBar
from zconsole.widgets.layout import MIN_PANE_HEIGHT, Need, PaneArea, PaneState, plan, split
from zconsole.widgets.pane import Block, share_rows
from zconsole.widgets.table import Column, Table, choose_columns

SIZES = [(80, 24), (100, 30), (120, 40), (160, 45), (200, 50), (250, 70)]
DRILLS: dict[str, Callable[[], list[Snapshot[Any]]]] = {
    "problems": drill_data.problem_snapshots,
    "ok": drill_data.ok_snapshots,
}
SnapCompare = Callable[..., bool]

#: Words that say what state something is in: never shown cut.
STATUS_WORDS = (
    "RESTARTING",
    "UNHEALTHY",
    "OOM-KILLED",
    "restarting",
    "running",
    "exited",
    "unhealthy",
    "healthy",
    "idle in tx",
    "active",
    "CRIT",
    "WARN",
    "OK",
)


@pytest.fixture(autouse=True)
def _colour(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("NO_COLOR", raising=False)
    yield


def feeder(drill: str) -> Callable[[Pilot[None]], Any]:
    async def run_before(pilot: Pilot[None]) -> None:
        app = pilot.app
        assert isinstance(app, ZConsoleApp)
        for snap in DRILLS[drill]():
            app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
        await pilot.pause()
        await pilot.pause()

    return run_before


def screen_lines(app: ZConsoleApp) -> list[str]:
    """The whole screen as drawn, one string per row."""
    update = app.screen._compositor.render_update(full=True)
    return ["".join(segment.text for segment in strip) for strip in update.strips]  # type: ignore[union-attr]


def lines_in(app: ZConsoleApp, region: Region) -> list[str]:
    """The rows of ``region`` of the screen, cut to it."""
    rows = screen_lines(app)[region.y : region.bottom]
    return [row[region.x : region.right] for row in rows]


def cut_words(lines: list[str]) -> list[str]:
    """Status words shown cut with an ellipsis ("runn…")."""
    found: list[str] = []
    for line in lines:
        for word in STATUS_WORDS:
            for end in range(3, len(word)):  # "re…" may be any word
                found += re.findall(rf"(?<![\w-]){re.escape(word[:end])}…", line)
    return found


# -- snapshots ------------------------------------------------------------------------------------


@pytest.mark.parametrize("drill", list(DRILLS))
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
def test_drill_at_every_size(
    snap_compare: SnapCompare, tmp_path: Path, size: tuple[int, int], drill: str
) -> None:
    assert snap_compare(make_app(tmp_path), terminal_size=size, run_before=feeder(drill))


# -- what the screen shows ------------------------------------------------------------------------


async def test_war_room_gives_postgres_its_sessions_and_the_rest_one_line(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await feeder("problems")(pilot)
        activity = app.query_one("#pg-activity", Table)
        shown = "\n".join(lines_in(app, activity.region))
        for pid in drill_data.LONG_PIDS:
            assert str(pid) in shown, f"long session {pid} not on screen"
        assert "pid" in shown and "state" in shown and "for" in shown
        # The blocking tree shows: there is a blocker.
        assert "48211 ROOT" in "\n".join(lines_in(app, app.query_one("#pg-blocking").region))

        http = app.pane("http")
        assert http is not None and http.region.height == 1
        (line,) = lines_in(app, http.region)
        assert "HTTP & TLS" in line and "not configured" in line and "[[http.endpoints]]" in line

        incident = app.query_one("#incident")
        assert incident.region.height == 1
        assert "No open incident" in lines_in(app, incident.region)[0]
        assert cut_words(screen_lines(app)) == []


async def test_an_open_incident_takes_its_share(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await feeder("problems")(pilot)
        assert app.incidents is not None
        app.incidents.store.declare(
            title="Checkout failing", severity="P1", author="alice", commander="alice"
        )
        app.incident_flow.poll()
        await pilot.pause()
        await pilot.pause()
        incident = app.query_one("#incident")
        assert incident.region.width >= 50 and incident.region.height > 30
        panes = app.query_one("#panes")
        assert panes.region.right <= incident.region.x


async def test_laptop_size_cuts_no_status_word_and_keeps_cpu_and_rss(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await feeder("problems")(pilot)
        lines = screen_lines(app)
        assert cut_words(lines) == []
        # Every container's state and problem word, whole, on its own row.
        docker = app.pane("docker")
        assert docker is not None and docker.region.height > 1
        rows = lines_in(app, app.query_one("#docker-table").region)
        for container in screen_data.docker_data().containers:
            (row,) = [r for r in rows if f" {container.name} " in r]
            assert f" {container.state} " in row
            if container.problem:
                assert f" {container.problem} " in row
        procs = app.query_one("#host-procs", Table)
        assert {"name", "cpu%", "rss"} <= set(procs.shown_columns)
        header = lines_in(app, procs.region)[0]
        assert "cpu%" in header and "rss" in header
        gunicorn = next(r for r in lines_in(app, procs.region) if "gunicorn" in r)
        assert "38" in gunicorn and "1.9G" in gunicorn


@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
async def test_the_key_bar_never_cuts_a_label(tmp_path: Path, size: tuple[int, int]) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await feeder("problems")(pilot)
        bar = app.query_one(KeyBar)
        for key in "12345":
            await pilot.press(key)
            await pilot.pause()
            line = lines_in(app, bar.region)[0]
            assert "…" not in line
            rest = line
            drawn = 0
            for label, _ in bar.entries:
                if label.plain in rest:
                    rest = rest.replace(label.plain, "", 1)
                    drawn += 1
            tail = rest.strip()
            if drawn < len(bar.entries):
                assert tail == "more:  ^p", line
            else:
                assert tail == "^p palette", line
            assert drawn > 0


async def test_small_postgres_tab_shows_whole_keys_and_says_more(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await feeder("problems")(pilot)
        await pilot.press("3")
        await pilot.pause()
        line = lines_in(app, app.query_one(KeyBar).region)[0]
        assert " C Cancel query " in line
        assert "Kill long queri…" not in line and line.rstrip().endswith("more:  ^p")


async def test_a_quiet_pane_is_a_line_while_another_needs_the_rows(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await feeder("problems")(pilot)
        quiet = drill_data.ok_redis()
        app.show_result(CheckResult(latest=quiet, last_good=quiet, last_good_at=time.monotonic()))
        await pilot.pause()
        await pilot.pause()
        redis = app.pane("redis")
        assert redis is not None and redis.region.height == 1
        (line,) = lines_in(app, redis.region)
        assert "Redis & queues" in line and "✔ OK" in line and "deepest celery 14" in line
        postgres = app.query_one("#pg-activity", Table)
        assert postgres.region.height >= len(drill_data.LONG_PIDS) + 1


async def test_the_pane_being_worked_in_keeps_its_box_and_its_focus(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(120, 40)) as pilot:
        await feeder("problems")(pilot)
        await pilot.press("4")  # the queues table of Redis has the focus
        await pilot.pause()
        table = app.query_one("#redis-queues", Table)
        assert app.focused is table
        quiet = drill_data.ok_redis()
        app.show_result(CheckResult(latest=quiet, last_good=quiet, last_good_at=time.monotonic()))
        await pilot.pause()
        await pilot.pause()
        redis = app.pane("redis")
        assert redis is not None and redis.region.height > 1  # OK, but not folded away
        assert app.focused is table


async def test_a_long_table_keeps_the_focus_while_its_pane_grows(tmp_path: Path) -> None:
    """56 containers: the pane goes from a share to the room it needs; its table is never
    hidden on the way (a hidden table drops the focus, and the keys go elsewhere)."""
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.press("2")
        await pilot.pause()
        table = app.query_one("#docker-table", Table)
        assert app.focused is table
        snap = screen_data.docker_snapshot()
        data = screen_data.docker_data()
        many = tuple(
            replace(data.containers[3], name=f"zc-plain-{i:02}", id=f"{i:064}") for i in range(50)
        )
        snap = replace(snap, data=replace(data, containers=data.containers + many))
        app.show_result(CheckResult(latest=snap, last_good=snap, last_good_at=time.monotonic()))
        await pilot.pause()
        assert app.focused is table
        await pilot.press("slash", *"unhealthy")
        await pilot.pause()
        assert [str(table.full_row(i)[2]) for i in range(table.row_count)] == ["app-web-1"]


async def test_a_poll_that_changes_nothing_moves_no_pane_and_asks_for_no_layout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server in trouble pays for every redraw: the same drill again (new records, same
    contents, as an idle poll brings) places nothing again and lays nothing out."""
    app = make_app(tmp_path)
    async with app.run_test(size=(200, 50)) as pilot:
        await feeder("problems")(pilot)
        # The incident flow's first look at the store (its timer may fire inside the window
        # below on a slow machine) draws its line once; what it finds again changes nothing.
        app.incident_flow.poll()
        await pilot.pause(0.5)
        area = app.query_one(PaneArea)
        placed = area._plan
        tables = {t.id: t._update_count for t in app.query(Table)}
        layouts: list[str] = []
        original = Widget.refresh

        def counting(self: Widget, *regions: Any, **kw: Any) -> Any:
            if kw.get("layout"):
                layouts.append(f"{type(self).__name__}#{self.id}")
            return original(self, *regions, **kw)

        monkeypatch.setattr(Widget, "refresh", counting)
        await feeder("problems")(pilot)
        await pilot.pause(1.2)
        monkeypatch.setattr(Widget, "refresh", original)
        assert layouts == []
        assert area._plan is placed
        assert {t.id: t._update_count for t in app.query(Table)} == tables


# -- the arithmetic -------------------------------------------------------------------------------


def test_columns_by_priority_keep_whole_words_and_drop_the_rest() -> None:
    columns = [
        Column("pid", 1),
        Column("state", 0),
        Column("client", 3),
        Column("query", 2, shrink_to=10),
    ]
    widths = [5, 10, 15, 60]
    # Room for everything.
    assert choose_columns(columns, widths, 200) == ((0, None), (1, None), (2, None), (3, None))
    # Less: the query is cut to fit (to no less than its 10 cells, plus padding)...
    assert choose_columns(columns, widths, 7 + 12 + 12 + 17 + 1) == (
        (0, None),
        (1, None),
        (2, None),
        (3, 11),
    )
    # ... and the client (lowest priority) goes before it; the query takes its room.
    assert choose_columns(columns, widths, 40) == ((0, None), (1, None), (3, 19))
    # Very narrow: the state alone, whole, even past the edge.
    assert choose_columns(columns, widths, 5) == ((1, None),)


def test_split_gives_no_pane_more_than_it_wants_until_all_have_enough() -> None:
    assert split(30, [5, None, None]) == [5, 13, 12]
    assert split(30, [5, 8]) == [14, 16]  # nobody wants the rest: spread
    assert sum(split(47, [40, 12, None])) == 47


def test_share_rows_gives_the_table_its_rows_before_secondary_blocks() -> None:
    table, tree, lines, statements = (object() for _ in range(4))
    blocks = [
        Block(table, 7, 7, grows=True),  # type: ignore[arg-type]
        Block(tree, 4, 4),  # type: ignore[arg-type]
        Block(lines, 1, 3),  # type: ignore[arg-type]
        Block(statements, 3, 4),  # type: ignore[arg-type]
    ]
    assert share_rows(13, blocks) == [7, 4, 2, 0]  # no room for the statements
    assert share_rows(10, blocks) == [7, 0, 3, 0]  # nor the tree: a smaller block still fits
    assert share_rows(5, blocks) == [5, 0, 0, 0]  # the table is never hidden for want of rows
    assert share_rows(30, blocks) == [7 + 12, 4, 3, 4]


def test_plan_places_six_panes_and_lines_for_the_quiet_ones() -> None:
    panes = [
        PaneState("host", Need.PROBLEM, 14),
        PaneState("docker", Need.PROBLEM, 13),
        PaneState("postgres", Need.PROBLEM, 30),
        PaneState("redis", Need.QUIET, 25),
        PaneState("http", Need.UNCONFIGURED, None),
        PaneState("mysql", Need.PROBLEM, 12),
    ]
    layout = plan(200, 32, panes, "host")
    assert not layout.tabs
    assert set(layout.places) == {p.name for p in panes}
    assert layout.places["http"].height == 1 and layout.places["http"].line
    assert layout.places["redis"].line  # OK while others need the rows
    for name in ("host", "docker", "postgres", "mysql"):
        place = layout.places[name]
        assert not place.line and place.height >= MIN_PANE_HEIGHT
    assert layout.places["postgres"].height >= 30
    # No overlap, nothing outside the area.
    cells: set[tuple[int, int]] = set()
    for place in layout.places.values():
        area = {
            (x, y)
            for x in range(place.x, place.x + place.width)
            for y in range(place.y, place.y + place.height)
        }
        assert not cells & area
        cells |= area
    assert all(0 <= x < 200 and 0 <= y < 32 for x, y in cells)
    # Taller, there is room for the quiet pane too once the others have all they want.
    taller = plan(200, 45, panes, "host")
    assert not taller.places["redis"].line and taller.places["redis"].height >= 25
    assert taller.places["postgres"].height >= 30


def test_plan_shows_quiet_panes_whole_when_there_is_room_and_one_at_a_time_when_small() -> None:
    panes = [PaneState("host", Need.PROBLEM, 14), PaneState("redis", Need.QUIET, 12)]
    roomy = plan(120, 60, panes, "host")
    assert not roomy.places["redis"].line
    small = plan(80, 19, [*panes, PaneState("pg", Need.PROBLEM, 15)], "pg")
    assert small.tabs and small.places["pg"].height >= MIN_PANE_HEIGHT
    assert small.places["host"].line and small.places["host"].height == 1


def test_a_table_cell_is_cut_only_in_a_free_text_column() -> None:
    text = Text("SELECT * FROM accounts WHERE id = 7311 FOR UPDATE")
    assert choose_columns([Column("q", 0, shrink_to=8)], [text.cell_len], 12) == ((0, 10),)
