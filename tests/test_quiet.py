"""Widgets change only when what they show changes (widgets/quiet.py, widgets/table.py,
widgets/keybar.py): no repaint of unchanged text, tables touched cell by cell, cells rendered
again only when they differ, and a console at rest that asks for no layout at all."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static

from tests.screen_data import all_snapshots
from zconsole.app import ZConsoleApp
from zconsole.checks.base import CheckResult
from zconsole.config import load_config
from zconsole.widgets.keybar import KeyBar
from zconsole.widgets.quiet import set_border_subtitle, set_border_title, show
from zconsole.widgets.table import Table
from zconsole.widgets.table_lines import RowCachedDataTable


class TableApp(App[None]):
    def compose(self) -> ComposeResult:
        table = Table(id="t", cursor_type="row")
        table.add_columns("name", "value")
        yield table
        yield Static("", id="s")


async def test_show_skips_equal_content_but_not_a_changed_base_style() -> None:
    async with TableApp().run_test() as pilot:
        static = pilot.app.query_one("#s", Static)
        first = Text("disk 95%", style="bold")
        assert show(static, first)
        assert not show(static, Text("disk 95%", style="bold"))
        assert static.content is first  # the second, equal one was not applied
        # Text.__eq__ ignores the base style; the look does not.
        dim = Text("disk 95%", style="dim")
        assert show(static, dim)
        assert static.content is dim
        assert show(static, "plain")
        assert not show(static, "plain")


def _count_refreshes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(widget class, layout asked) of every Widget.refresh from now on."""
    calls: list[tuple[str, bool]] = []
    original = Widget.refresh

    def counting(self: Widget, *regions: Any, **kw: Any) -> Any:
        calls.append((type(self).__name__, bool(kw.get("layout"))))
        return original(self, *regions, **kw)

    monkeypatch.setattr(Widget, "refresh", counting)
    return calls


async def test_show_asks_for_a_layout_only_when_the_height_changes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with TableApp().run_test(size=(60, 20)) as pilot:
        static = pilot.app.query_one("#s", Static)
        show(static, "cpu 12%")
        await pilot.pause()
        calls = _count_refreshes(monkeypatch)
        assert show(static, "cpu 13%")  # same one line: repaint it, lay nothing out
        assert calls and not any(layout for _, layout in calls)
        await pilot.pause()
        assert show(static, "cpu 13%\nmem 40%\nload 0.2")  # taller: the screen is laid out
        assert ("Static", True) in calls
        await pilot.pause()
        assert static.size.height == 3
        static.display = False
        await pilot.pause()
        calls.clear()
        assert show(static, "one\ntwo\nthree\nfour")  # hidden: nothing to lay out now
        assert not any(layout for _, layout in calls)
        static.display = True
        await pilot.pause()
        assert static.size.height == 4


class SideBySideApp(App[None]):
    """A table whose size does not depend on the text beside it."""

    CSS = "#t { width: 30; height: 100%; } #s { width: 1fr; }"

    def compose(self) -> ComposeResult:
        with Horizontal():
            table = Table(id="t", cursor_type="row")
            table.add_columns("name", "value")
            yield table
            yield Static("", id="s")


async def test_a_layout_pass_leaves_the_scrollbars_of_unchanged_tables_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with SideBySideApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one("#t", Table)
        table.fill([(f"row {i}", str(i)) for i in range(40)])  # taller than the screen
        await pilot.pause()
        assert table.show_vertical_scrollbar
        calls = _count_refreshes(monkeypatch)
        show(pilot.app.query_one("#s", Static), "one\ntwo")  # a layout pass of the screen
        await pilot.pause()
        assert ("Static", True) in calls
        assert "ScrollBar" not in {name for name, _ in calls}


class BorderedApp(App[None]):
    CSS = "#box { border: round white; height: 8; }"

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static("line under the border", id="inner")


async def test_a_new_subtitle_repaints_the_border_line_not_the_widgets_under_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with BorderedApp().run_test(size=(40, 10)) as pilot:
        box = pilot.app.query_one("#box")
        set_border_subtitle(box, "OK · 12 ms")
        set_border_title(box, "Host")
        await pilot.pause()
        painted: list[str] = []
        original = Static.render_lines

        def counting(self: Static, crop: Any) -> Any:
            painted.append(str(self.id))
            return original(self, crop)

        monkeypatch.setattr(Static, "render_lines", counting)
        set_border_subtitle(box, Text("OK · 9 ms", style="dim"))
        await pilot.pause()
        assert painted == []  # the Static inside was not part of the frame
        set_border_title(box, "Host 2")
        await pilot.pause()
        screen = pilot.app.export_screenshot().replace("&#160;", " ")
        assert "OK · 9 ms" in screen and "Host 2" in screen and "12 ms" not in screen


async def test_fill_table_touches_only_what_differs_and_keeps_the_cursor_on_its_key() -> None:
    async with TableApp().run_test() as pilot:
        table = pilot.app.query_one("#t", Table)
        rows = [("a", "1"), ("b", "2"), ("c", "3")]
        assert table.fill(rows, keys=["a", "b", "c"])
        table.move_cursor(row=1)
        await pilot.pause()
        counter = table._update_count
        assert not table.fill(list(rows), keys=["a", "b", "c"])
        assert table._update_count == counter  # nothing touched: rendered lines kept

        # One cell changed: replaced in place, rows and cursor as they were.
        assert table.fill([("a", "1"), ("b", "20"), ("c", "3")], keys=["a", "b", "c"])
        assert table.get_cell_at(table.cursor_coordinate) == "b"
        assert table.get_row_at(1) == ["b", "20"]
        assert table.row_count == 3

        # Reordered: rebuilt, and the cursor follows "b" to its new place.
        assert table.fill([("b", "20"), ("c", "3"), ("a", "1")], keys=["b", "c", "a"])
        assert table.cursor_row == 0
        assert table.get_row_at(0) == ["b", "20"]

        # Its row gone: the cursor stays at the same number, clamped to the rows left.
        table.move_cursor(row=2)
        assert table.fill([("c", "3")], keys=["c"])
        assert table.cursor_row == 0
        with pytest.raises(ValueError, match="one key per row"):
            table.fill([("x", "y")], keys=[])


async def test_fill_table_grows_a_column_in_place_and_never_remeasures_it() -> None:
    async with TableApp().run_test() as pilot:
        table = pilot.app.query_one("#t", Table)
        table.fill([("a", "12.5%"), ("b", "3.0%")])
        await pilot.pause()
        value = table.ordered_columns[1]
        assert value.content_width == 5
        table.fill([("a", "112.5%"), ("b", "3.0%")])  # wider: the column grows
        await pilot.pause()
        assert value.content_width == 6
        table.fill([("a", "2.5%"), ("b", "3.0%")])  # narrower: it keeps its width
        await pilot.pause()
        assert value.content_width == 6
        assert table.get_row_at(0) == ["a", "2.5%"]


async def test_table_renders_again_only_the_cells_that_changed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A cell is rendered by DataTable._render_cell (rows DataTable draws itself) or, for the one-
    # line text rows the table draws, by RowCachedDataTable._render_data_cell: count both.
    rendered: list[tuple[int, int]] = []
    original = DataTable._render_cell
    original_data_cell = RowCachedDataTable._render_data_cell

    def counting(self: DataTable[Any], row: int, column: int, *args: Any, **kw: Any) -> Any:
        if row >= 0:
            rendered.append((row, column))
        return original(self, row, column, *args, **kw)

    def counting_data_cell(
        self: RowCachedDataTable, cell: Any, row: int, column: int, *args: Any, **kw: Any
    ) -> Any:
        rendered.append((row, column))
        return original_data_cell(self, cell, row, column, *args, **kw)

    monkeypatch.setattr(DataTable, "_render_cell", counting)
    monkeypatch.setattr(RowCachedDataTable, "_render_data_cell", counting_data_cell)
    async with TableApp().run_test(size=(60, 12)) as pilot:
        table = pilot.app.query_one("#t", Table)
        rows = [(f"row {i}", Text(str(i), style="bold")) for i in range(5)]
        table.fill(rows)
        await pilot.pause()
        assert len(rendered) >= 10  # every visible cell once
        rendered.clear()
        rows[3] = ("row 3", Text("33", style="bold"))
        table.fill(rows)
        await pilot.pause()
        assert rendered == [(3, 1)]


def _result(snapshot: Any) -> CheckResult:
    return CheckResult(latest=snapshot, last_good=snapshot, last_good_at=time.monotonic())


async def test_console_at_rest_asks_for_no_layout_and_no_table_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The regression found in benchmarks/: the incident panel's once-a-second re-statement of
    unchanged text asked for a layout pass, which repainted the whole screen twice a second."""
    flags: dict[str, Any] = {
        "general": {"store": str(tmp_path / "store.db")},
        "docker": {"host": f"unix://{tmp_path / 'none.sock'}"},
    }
    config = load_config(flags=flags, env={}, cwd=tmp_path)
    app = ZConsoleApp(config, [], poll=False, hostname="web-01")
    layouts: list[str] = []
    original = Widget.refresh

    def counting(self: Widget, *regions: Any, **kw: Any) -> Any:
        if kw.get("layout"):
            layouts.append(f"{type(self).__name__}#{self.id}")
        return original(self, *regions, **kw)

    async with app.run_test(size=(200, 50)) as pilot:
        for snapshot in all_snapshots():
            app.show_result(_result(snapshot))
        await pilot.pause(1.2)
        tables = {t.id: t._update_count for t in app.query(DataTable)}
        monkeypatch.setattr(Widget, "refresh", counting)
        # The same data again, as a poll of an idle system brings, and two clock ticks.
        for snapshot in all_snapshots():
            app.show_result(_result(snapshot))
        await pilot.pause(2.2)
        monkeypatch.setattr(Widget, "refresh", original)
        assert layouts == []
        assert {t.id: t._update_count for t in app.query(DataTable)} == tables


async def test_keybar_follows_the_focus_and_a_click_presses_the_key(tmp_path: Path) -> None:
    flags: dict[str, Any] = {
        "general": {"store": str(tmp_path / "store.db")},
        "docker": {"host": f"unix://{tmp_path / 'none.sock'}"},
    }
    config = load_config(flags=flags, env={}, cwd=tmp_path)
    app = ZConsoleApp(config, [], poll=False, hostname="web-01")
    async with app.run_test(size=(200, 50)) as pilot:
        for snapshot in all_snapshots():
            app.show_result(_result(snapshot))
        bar = app.query_one(KeyBar)
        await pilot.press("3")  # PostgreSQL: its keys join the app's
        await pilot.pause()
        line = str(bar.content)
        assert " C Cancel query " in line
        assert " q Quit " in line
        await pilot.press("1")  # Host: the PostgreSQL keys are gone
        await pilot.pause()
        assert "Cancel query" not in str(bar.content)
        # A click on "i Declare" opens the declare form, as pressing i does.
        text = str(bar.content)
        x = text.index(" i Declare") + 1
        await pilot.click(KeyBar, offset=(x, 0))
        await pilot.pause()
        assert type(app.screen).__name__ == "DeclareScreen"
