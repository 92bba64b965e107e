"""The panes' table: Textual's DataTable, with rendered cells kept across changes.

DataTable keys every rendered cell by a counter that any change to the table bumps, and by the
table's focus state; so one new CPU figure, or the focus moving from one pane to the next,
renders every visible cell again through Rich. Most cells have not changed. This table keeps a
second cache keyed by what a cell shows (and where, and how it is styled), so only the cells
that differ are rendered again. Measured at 200x50 with fixed data: the CPU of a pane key press
(focus moving between two panes' tables) and of a refresh where a few figures move.

Only one-line rows take the cached path; anything else is DataTable's own.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual._types import SegmentLines
from textual.cache import LRUCache
from textual.widgets import DataTable

from zconsole.widgets.quiet import content_key

#: Rendered cells kept per table by content: what a war-room screen shows of one table (40 rows
#: of 12 columns), focused and unfocused.
CELL_CACHE_SIZE = 1000


class Table(DataTable[Any]):
    """A DataTable that renders a cell again only when what it shows has changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cells_by_content: LRUCache[tuple[Any, ...], SegmentLines] = LRUCache(CELL_CACHE_SIZE)

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
