"""RowCachedDataTable (widgets/table_lines.py) draws exactly what Textual's DataTable draws.

Each test puts the same rows in a RowCachedDataTable and in a plain DataTable of the same size,
brings both to the same state (cursor, hover, focus, stripes, scroll, changed cells) and compares
the lines the two render, segment by segment: text, style and mouse metadata.
"""

from __future__ import annotations

from typing import Any

from rich.segment import Segment
from rich.text import Text
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.coordinate import Coordinate
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets._data_table import CursorType

from zconsole.widgets.table_lines import RowCachedDataTable

WIDTH, HEIGHT = 160, 16


def _rows(n: int) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for i in range(n):
        rows.append(
            [
                Text("✔ ok", style="green") if i % 3 else Text("✖ CRIT", style="bold red"),
                f"bench-{i:04d}",
                "[b]markup[/b]" if i % 4 == 0 else "plain",
                Text(f"{i * 7 % 100:.1f}%", justify="right"),
                Text.assemble(("up ", "dim"), (f"{i}m", "cyan"), end=""),
                "a query that is much longer than its column " * 2,
                "日本語のテキスト" if i % 5 == 0 else "",
                Text("centred", justify="center", style="on blue"),
                None if i % 2 else "x",
            ]
        )
    return rows


class Pair(App[None]):
    """The two tables side by side, the same width."""

    def __init__(self, cursor_type: CursorType = "row", **table: Any) -> None:
        super().__init__()
        self.cursor_type = cursor_type
        self.table = table

    def compose(self) -> ComposeResult:
        with Horizontal():
            yield RowCachedDataTable(id="ours", cursor_type=self.cursor_type, **self.table)
            yield DataTable(id="stock", cursor_type=self.cursor_type, **self.table)

    def tables(self) -> tuple[RowCachedDataTable, DataTable[Any]]:
        return self.query_one("#ours", RowCachedDataTable), self.query_one("#stock", DataTable)


def _fill(app: Pair, n: int = 30) -> None:
    app.set_focus(None)  # neither has the focus (compared one at a time in _check_states)
    for table in app.tables():
        table.add_column("state")
        table.add_column("name")
        table.add_column("markup")
        table.add_column("cpu")
        table.add_column("up")
        table.add_column("query", width=20)  # cut: the cell is wider than the column
        table.add_column("wide", width=7)  # cut in the middle of a double-width character
        table.add_column("centred", width=12)
        table.add_column("maybe")
        for i, row in enumerate(_rows(n)):
            table.add_row(*row, key=f"k{i}")


def _lines(table: DataTable[Any]) -> list[list[tuple[str, Any, Any]]]:
    strips = table.render_lines(Region(0, 0, table.size.width, table.size.height))
    return [
        [(s.text, s.style, s.style.meta if s.style else None) for s in strip] for strip in strips
    ]


def _text(segments: list[Segment]) -> str:
    return "".join(s.text for s in segments)


async def _assert_same(app: Pair, pilot: Any) -> None:
    """Both tables draw the same lines, and what ours shows is not stale."""
    ours, stock = app.tables()
    assert ours.size == stock.size
    shown = _lines(ours)  # as the last frames left it: only the refreshed rows were drawn again
    for table in (ours, stock):
        table.refresh()
    await pilot.pause()
    got, want = _lines(ours), _lines(stock)
    for y, (line, expected) in enumerate(zip(got, want, strict=True)):
        # The text first (a readable difference), then every segment, its style and metadata.
        assert "".join(t for t, _, _ in line) == "".join(t for t, _, _ in expected), f"line {y}"
        assert line == expected, f"line {y}"
    # DataTable redraws a hovered cell, not its header, though a column cursor's hover lights
    # the column's header too (until the next full refresh): so with a row cursor only.
    if app.cursor_type == "row":
        assert shown == got


async def _check_states(app: Pair, pilot: Any) -> None:
    ours, stock = app.tables()
    await pilot.pause()
    await _assert_same(app, pilot)
    for table in (ours, stock):
        table.move_cursor(row=3, column=2)
    await pilot.pause()
    await _assert_same(app, pilot)
    for table in (ours, stock):
        table._show_hover_cursor = True
        table.hover_coordinate = Coordinate(5, 1)
    await pilot.pause()
    await _assert_same(app, pilot)
    # Changed cells, the cursor's row among them (no column grows: update_width=False).
    for table in (ours, stock):
        table.update_cell("k3", table.ordered_columns[1].key, "renamed-3")
        table.update_cell("k4", table.ordered_columns[3].key, Text("99.9%", justify="right"))
        table.update_cell("k6", table.ordered_columns[0].key, Text("▲ WARN", style="yellow"))
    await pilot.pause()
    await _assert_same(app, pilot)
    # Focused: the table's :focus styles (the same for each, so compare one at a time).
    ours.focus()
    await pilot.pause()
    focused_ours = _lines(ours)
    stock.focus()
    await pilot.pause()
    assert focused_ours == _lines(stock)
    app.set_focus(None)
    # Striped rows.
    for table in (ours, stock):
        table.zebra_stripes = True
    await pilot.pause()
    await _assert_same(app, pilot)
    # Scrolled down and right.
    for table in (ours, stock):
        table.scroll_to(x=7, y=9, animate=False)
    await pilot.pause()
    await _assert_same(app, pilot)


async def test_rows_are_drawn_as_datatable_draws_them_with_a_row_cursor() -> None:
    app = Pair("row")
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        _fill(app)
        await _check_states(app, pilot)


async def test_rows_are_drawn_as_datatable_draws_them_with_cell_column_and_no_cursor() -> None:
    cursor_types: tuple[CursorType, ...] = ("cell", "column", "none")
    for cursor_type in cursor_types:
        app = Pair(cursor_type)
        async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
            _fill(app)
            await _check_states(app, pilot)


async def test_a_narrow_table_crops_its_rows_as_datatable_does() -> None:
    app = Pair("row")
    async with app.run_test(size=(90, HEIGHT)) as pilot:  # 45 columns each: rows are cut
        _fill(app)
        await _check_states(app, pilot)


async def test_rows_datatable_draws_itself_still_look_the_same() -> None:
    """Row labels and fixed columns are DataTable's; so is a cell that is not text."""
    app = Pair("row", fixed_columns=1)
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        _fill(app)
        await _check_states(app, pilot)
    app = Pair("row")
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        app.set_focus(None)
        for table in app.tables():
            table.add_columns("a", "b")
            table.add_row("labelled", 12.5, label="L")
            table.add_row(Text("two\nlines"), 3, height=2)
            table.add_row("plain", "row")
        await _check_states_without_column_moves(app, pilot)


async def _check_states_without_column_moves(app: Pair, pilot: Any) -> None:
    ours, stock = app.tables()
    await pilot.pause()
    await _assert_same(app, pilot)
    for table in (ours, stock):
        table.move_cursor(row=2)
        table.update_cell_at(Coordinate(2, 1), "changed")
        table.update_cell_at(Coordinate(0, 1), 7.25)  # not text: DataTable's own update
    await pilot.pause()
    await _assert_same(app, pilot)


async def test_a_changed_cell_redraws_its_row_only() -> None:
    drawn: list[int] = []
    app = Pair("row")
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        _fill(app)
        ours, stock = app.tables()
        await pilot.pause()
        original = ours._draw_row_line

        def counting(row_key: Any, row_index: int, frame: Any) -> Any:
            drawn.append(row_index)
            return original(row_key, row_index, frame)

        ours._draw_row_line = counting  # type: ignore[method-assign]
        for table in (ours, stock):
            table.update_cell("k2", table.ordered_columns[1].key, "changed")
        await pilot.pause()
        assert drawn == [2]
        assert _text(list(ours.render_line(3))).startswith(" ✔ ok    changed ")
        await _assert_same(app, pilot)
        # Focus away and back: the lines of both looks are kept.
        drawn.clear()
        ours.focus()
        await pilot.pause()
        stock.focus()
        await pilot.pause()
        ours.focus()
        await pilot.pause()
        assert len(drawn) <= 2 * (HEIGHT - 1)  # each visible row at most once per look


async def test_a_click_on_a_drawn_row_selects_it() -> None:
    app = Pair("row")
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        _fill(app)
        ours, _ = app.tables()
        await pilot.pause()
        await pilot.click("#ours", offset=(3, 4))  # below the header: row 3
        await pilot.pause()
        assert ours.cursor_row == 3


async def test_cells_changed_together_in_and_out_of_view_are_drawn_when_seen() -> None:
    app = Pair("row")
    async with app.run_test(size=(2 * WIDTH, HEIGHT)) as pilot:
        _fill(app)
        ours, stock = app.tables()
        await pilot.pause()
        changes = [
            (Coordinate(row, column), f"new {row}.{column}")
            for row in (0, 1, 2, 5, 9, 25, 29)  # rows 25 and 29 are below the view
            for column in (1, 2)
        ]
        ours.update_cells_at(changes)
        for coordinate, value in changes:
            stock.update_cell_at(coordinate, value)
        await pilot.pause()
        await _assert_same(app, pilot)
        for table in (ours, stock):
            table.scroll_end(animate=False)
        await pilot.pause()
        await _assert_same(app, pilot)
        assert "new 29.1" in _text(list(ours.render_line(HEIGHT - 1)))
