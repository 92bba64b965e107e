"""The panes' table: Textual's DataTable, with rendered cells kept across changes.

DataTable keys every rendered cell by a counter that any change to the table bumps, and by the
table's focus state; so one new CPU figure, or the focus moving from one pane to the next,
renders every visible cell again through Rich. Most cells have not changed. This table keeps a
second cache keyed by what a cell shows (and where, and how it is styled), so only the cells
that differ are rendered again. Measured at 200x50 with fixed data: the CPU of a pane key press
(focus moving between two panes' tables) and of a refresh where a few figures move.

Only one-line rows take the cached path; anything else is DataTable's own. DataTable offers no
public hook for rendering a cell, hence the override of its ``_render_cell`` (Textual is pinned).

Panes fill a table with :meth:`Table.fill`, which compares the new rows with what the table shows
and replaces only the cells that differ (``widgets/quiet.py`` does the same for other widgets).

It also skips the scrollbar repaint Textual's ScrollView does on every layout pass of the screen
(it compares its parent's container size with its own, which differ whenever the table shares
its pane, so it always finds a change): after each layout pass every table with a visible
scrollbar repainted it, and the frame covered the union of all of them, most of the screen.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any

from rich.cells import cell_len
from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.coordinate import Coordinate
from textual.geometry import Size
from textual.widgets import DataTable

from zconsole.widgets.quiet import content_key

#: Rendered cells kept per table by content: what a war-room screen shows of one table (40 rows
#: of 12 columns), focused and unfocused.
CELL_CACHE_SIZE = 1000


Cell = Text | str


class Table(DataTable[Any]):
    """A DataTable that renders a cell again only when what it shows has changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells_by_content: LRUCache[tuple[Any, ...], SegmentLines] = LRUCache(CELL_CACHE_SIZE)
        #: What the last :meth:`fill` put in: each cell's content key, and the row keys.
        self._filled: tuple[tuple[Hashable, ...], ...] | None = None
        self._filled_keys: tuple[str, ...] | None = None
        self._laid_out: tuple[Size, ...] | None = None

    def _size_updated(
        self, size: Size, virtual_size: Size, container_size: Size, layout: bool = True
    ) -> bool:
        # The same geometry as at the last layout pass, and the same rows and columns (the
        # table's own virtual size): nothing to resize, nothing to repaint.
        geometry = (size, virtual_size, container_size, self.virtual_size)
        if geometry == self._laid_out and size == self._size:
            return False
        self._laid_out = geometry
        return super()._size_updated(size, virtual_size, container_size, layout)

    def _render_cell(
        self,
        row_index: int,
        column_index: int,
        base_style: Style,
        width: int,
        cursor: bool = False,
        hover: bool = False,
    ) -> SegmentLines:
        if row_index < 0 or column_index < 0:  # header and row labels: rare, leave them be
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        row_key = self._row_locations.get_key(row_index)
        column_key = self._column_locations.get_key(column_index)
        row = self.rows.get(row_key) if row_key is not None else None
        if row_key is None or row is None or column_key is None or row.height != 1:
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        datum = self._data.get(row_key, {}).get(column_key)
        if not isinstance(datum, Text | str):  # other renderables: no content key to trust
            return super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
        key = (
            content_key(datum),
            # The segments carry the row and column (mouse clicks) and the table's look.
            row_index,
            column_index,
            width,
            base_style,
            cursor,
            hover,
            self._show_hover_cursor,
            self.show_cursor,
            self.cursor_type,
            self.fixed_rows,
            self.fixed_columns,
            self._pseudo_class_state,
            self.app.theme,
        )
        lines = self._cells_by_content.get(key)
        if lines is None:
            lines = super()._render_cell(row_index, column_index, base_style, width, cursor, hover)
            self._cells_by_content[key] = lines
        return lines

    def clear(self, columns: bool = False) -> Any:
        if columns:
            self._cells_by_content.clear()
        return super().clear(columns)

    def fill(self, rows: Sequence[Sequence[Cell]], keys: Sequence[str] | None = None) -> bool:
        """Make the table show ``rows`` (one key per row, if given), touching only what differs.

        * the same rows as last time: nothing at all (the rendered lines are kept);
        * the same rows in the same order (same keys, or the same count without keys) with some
          cells changed: only those cells are replaced;
        * anything else: the table is rebuilt, and the cursor stays on the same key (else on the
          same row number, clamped).

        Returns True if the table changed.
        """
        if keys is not None and len(keys) != len(rows):
            raise ValueError("one key per row")
        new = tuple(tuple(content_key(c) for c in row) for row in rows)
        new_keys = tuple(keys) if keys is not None else None
        old, old_keys = self._filled, self._filled_keys
        self._filled, self._filled_keys = new, new_keys
        if old == new and old_keys == new_keys and self.row_count == len(rows):
            return False
        if (
            old is not None
            and len(old) == len(new)
            and old_keys == new_keys
            and self.row_count == len(rows)
            and all(len(o) == len(n) == len(self.columns) for o, n in zip(old, new, strict=True))
        ):
            columns = self.ordered_columns
            for y, (before, after, row) in enumerate(zip(old, new, rows, strict=True)):
                for x, (b, a) in enumerate(zip(before, after, strict=True)):
                    if b != a:
                        cell = row[x]
                        wider = _wider(cell, columns[x].content_width)
                        self.update_cell_at(Coordinate(y, x), cell, update_width=wider)
            return True
        selected_key = self._cursor_key() if keys is not None else None
        cursor = self.cursor_row
        self.clear()
        for i, row in enumerate(rows):
            self.add_row(*row, key=keys[i] if keys is not None else None)
        if not self.row_count:
            return True
        if selected_key is not None and keys is not None and selected_key in keys:
            self.move_cursor(row=keys.index(selected_key))
        else:
            self.move_cursor(row=min(max(cursor, 0), self.row_count - 1))
        return True

    def _cursor_key(self) -> str | None:
        if not self.row_count:
            return None
        try:
            value = self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value
        except Exception:  # noqa: BLE001 - the cursor is outside the rows while a table rebuilds
            return None
        return None if value is None else str(value)


def _wider(cell: Cell, width: int) -> bool:
    """Whether ``cell`` may not fit a column ``width`` cells wide (then the column grows).

    Columns grow in place and shrink only when the table is rebuilt: DataTable measures a
    cell through Rich for every update with ``update_width``, and re-measures the whole
    column whenever a cell got narrower, each poll, for figures that merely moved.
    """
    text = cell.plain if isinstance(cell, Text) else cell
    return "\n" in text or cell_len(text) > width
