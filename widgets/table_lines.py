"""A DataTable whose changed cell redraws its own row only, from cached cell segments.

Textual's DataTable (pinned: textual 8.2.8) keys every rendered line, row and cell by one
counter, ``_update_count``, that :meth:`DataTable.update_cell` bumps, and refreshes the whole
widget: so one new figure renders every visible line of the table again, and each of its cells
through Rich (``render_lines`` of the cell padded and styled). At rest most of the console's
main thread went there. :class:`RowCachedDataTable` changes three things and mirrors the rest:

* :meth:`update_cell` of a one-line row moves that row's version (not ``_update_count``) and
  refreshes the row's region, not the widget. The lines of the other rows stay cached.
* A one-line data row is drawn straight to a Strip (:meth:`_render_line`): each cell's Rich
  rendering at its width is kept by what it shows (not where, nor how it is styled), so a
  value that many rows share, or a row that moved, costs no Rich rendering; the row, cursor,
  hover and component styles are laid over those segments as DataTable's ``Styled`` does, and
  the line is cropped and padded as DataTable's ``_render_line`` does. Same segments, same
  styles, same mouse metadata.
* The widget's style (``rich_style``, which walks every ancestor's styles) is taken once a frame,
  not once a line.

Anything else — the header, row labels, fixed rows or columns, rows taller than one line, cells
that are not text — is left to DataTable itself.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Any

from rich.padding import Padding
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual._segment_tools import line_crop
from textual.cache import LRUCache
from textual.color import Color
from textual.coordinate import Coordinate
from textual.geometry import Offset, Region
from textual.strip import Strip
from textual.widgets import DataTable
from textual.widgets._data_table import (
    _EMPTY_TEXT,
    ColumnKey,
    CursorType,
    RowKey,
    default_cell_formatter,
)

from zconsole.widgets.quiet import content_key

#: A cell's Rich rendering at a width, by what it shows: the distinct values of a war-room
#: screen's tables (many rows share a state, a user, a duration), twice over.
CONTENT_CACHE_SIZE = 1000
#: Cells with the row's, cursor's and hover's styles laid over: what a screen shows of one table
#: (40 rows of 12 columns), focused and unfocused.
STYLED_CELL_CACHE_SIZE = 1000
#: Drawn lines by row version: a tall table's visible rows, focused and unfocused.
LINE_CACHE_SIZE = 200
#: DataTable's own caches (textual 8.2.8: 10 000 cells, 1 000 rows and lines per table) now hold
#: only what it still draws itself: the header, row labels and the odd taller row. At their
#: default sizes they filled up at rest with cells no screen would show again, several MiB per
#: table over an hour.
DATATABLE_CELL_CACHE_SIZE = 400
DATATABLE_ROW_CACHE_SIZE = 100
DATATABLE_LINE_CACHE_SIZE = 100


class RowCachedDataTable(DataTable[Any]):
    """A DataTable that draws a line again only when its row, its cursor or its look changed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._cell_render_cache = LRUCache(DATATABLE_CELL_CACHE_SIZE)
        self._row_render_cache = LRUCache(DATATABLE_ROW_CACHE_SIZE)
        self._line_cache = LRUCache(DATATABLE_LINE_CACHE_SIZE)
        #: Bumped by each :meth:`update_cell` of a row, in place of DataTable's ``_update_count``.
        self._row_versions: dict[RowKey, int] = {}
        self._cell_content: LRUCache[Hashable, list[Segment]] = LRUCache(CONTENT_CACHE_SIZE)
        self._styled_cells: LRUCache[Hashable, list[Segment]] = LRUCache(STYLED_CELL_CACHE_SIZE)
        self._row_lines: LRUCache[Hashable, Strip] = LRUCache(LINE_CACHE_SIZE)
        #: What the lines of the frame being drawn share (see :meth:`render_lines`).
        self._frame: _Frame | None = None
        #: The component styles data lines were drawn with, numbered (see :meth:`_new_frame`).
        self._looks: dict[tuple[object, ...], int] = {}

    # -- a changed cell: its row only ----------------------------------------------------------

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: ColumnKey | str,
        value: Any,
        *,
        update_width: bool = False,
    ) -> None:
        # Mirrors DataTable.update_cell (textual 8.2.8) for a text cell of a one-line row, without
        # its `_update_count += 1` (which makes every cached line of the table stale) and its
        # `refresh()` of the whole widget. A cell that may change a column's width, a row of
        # another height, or a value that is not text: DataTable's own (everything again).
        if isinstance(row_key, str):
            row_key = RowKey(row_key)
        if isinstance(column_key, str):
            column_key = ColumnKey(column_key)
        if update_width or not self._set_text_cell(row_key, column_key, value):
            super().update_cell(row_key, column_key, value, update_width=update_width)
            return
        self._refresh_rows([row_key])

    def update_cells_at(self, changes: Iterable[tuple[Coordinate, Any]]) -> None:
        """Put each value at its coordinate, then refresh the rows they are in, once each.

        As :meth:`update_cell_at` for each (columns keep their widths), with one refresh for
        all of them: a poll changes a figure in most rows of a table.
        """
        changed: list[RowKey] = []
        for coordinate, value in changes:
            row_key, column_key = self.coordinate_to_cell_key(coordinate)
            if self._set_text_cell(row_key, column_key, value):
                changed.append(row_key)
            else:
                super().update_cell(row_key, column_key, value)
        self._refresh_rows(changed)

    def _set_text_cell(self, row_key: RowKey, column_key: ColumnKey, value: Any) -> bool:
        """Put a text ``value`` in a one-line row, its row's version moved; False: not done."""
        row = self.rows.get(row_key)
        if (
            row is None
            or row.height != 1
            or column_key not in self._column_locations
            or not isinstance(value, Text | str)
        ):
            return False
        self._data[row_key][column_key] = value
        self._row_versions[row_key] = self._row_versions.get(row_key, 0) + 1
        # DataTable's own caches are keyed by `_update_count`, which did not move: drop them
        # (the header and any row DataTable draws itself are rendered again when refreshed).
        for cache in (
            self._row_render_cache,
            self._cell_render_cache,
            self._row_renderable_cache,
            self._line_cache,
        ):
            if len(cache):
                cache.clear()
        return True

    def _refresh_rows(self, row_keys: Iterable[RowKey]) -> None:
        """Refresh the rows of ``row_keys`` that are in view: one region per run of rows."""
        indices = {self._row_locations.get(row_key) for row_key in row_keys}
        indices.discard(None)
        if not indices:
            return
        if self._total_row_height != self.row_count:  # rows of other heights: DataTable's own
            for row_index in indices:
                if row_index is not None:
                    self.refresh_row(row_index)
            return
        # As DataTable.refresh_row (textual 8.2.8) for each row, whose _get_row_region sums the
        # heights of every row above the row: one-line rows are at their index below the
        # header. The rows out of view are left, as DataTable's _refresh_region leaves them.
        header = self.header_height if self.show_header else 0
        scroll = self.scroll_offset
        width, height = self.size
        row_width = sum(c.get_render_width(self) for c in self.columns.values())
        row_width = max(width, row_width + self._row_label_column_width)
        regions: list[Region] = []
        start = end = -1
        for row_index in sorted(i for i in indices if i is not None):
            y = header + row_index
            if not scroll.y - 1 < y < scroll.y + height:
                continue
            if y != end:
                if end > start:
                    regions.append(Region(0, start, row_width, end - start))
                start = y
            end = y + 1
        if end > start:
            regions.append(Region(0, start, row_width, end - start))
        if regions:
            self.refresh(*(region.translate(-scroll) for region in regions))

    def clear(self, columns: bool = False) -> Any:
        self._row_versions.clear()
        self._row_lines.clear()
        return super().clear(columns)

    # -- drawing -------------------------------------------------------------------------------

    def render_lines(self, crop: Region) -> list[Strip]:
        # What every line of this frame shares, taken once: DataTable.render_line asks for
        # `rich_style` (which walks every ancestor's styles) for each line, and a reactive
        # attribute costs a lookup through the DOM.
        self._frame = self._new_frame()
        try:
            return super().render_lines(crop)
        finally:
            self._frame = None

    def _new_frame(self) -> _Frame:
        columns = self.ordered_columns
        fixed_rows_height = self.get_row_height(self._header_row_key) if self.show_header else 0
        for row_index in range(self.fixed_rows):
            row_key = self._row_locations.get_key(row_index)
            if row_key is not None:
                fixed_rows_height += self.get_row_height(row_key)
        cursor_type = self.cursor_type
        zebra_stripes = self.zebra_stripes
        look = (
            self.get_component_rich_style("datatable--cursor"),
            self.get_component_rich_style("datatable--hover"),
            # The stripes' styles only when striped (each costs about as much as a line).
            self.get_component_styles("datatable--even-row").rich_style if zebra_stripes else None,
            self.get_component_styles("datatable--odd-row").rich_style if zebra_stripes else None,
            # A striped row's style fades into the background past the last column, unless the
            # cursor is a row's (see _draw_row_line).
            None if cursor_type == "row" else self.background_colors[1],
        )
        return _Frame(
            base_style=self.rich_style,
            width=self.size.width,
            scroll=self.scroll_offset,
            fixed_rows=self.fixed_rows,
            fixed_rows_height=fixed_rows_height,
            columns=columns,
            widths=tuple(column.get_render_width(self) for column in columns),
            cursor=self.cursor_coordinate,
            hover=self.hover_coordinate,
            cursor_type=cursor_type,
            own_lines=not self.fixed_columns and not self._should_render_row_labels,
            # Everything else a data line's look depends on. The component styles are in it
            # rather than the caches cleared on a style update: moving the focus from one pane
            # to the next updates both tables' styles, and each switches between two looks.
            look=(
                self.show_cursor,
                self._show_hover_cursor,
                zebra_stripes,
                self.cell_padding,
                self.cursor_foreground_priority,
                self.cursor_background_priority,
                self._pseudo_class_state,
                self._looks.setdefault(look, len(self._looks)),
            ),
        )

    def render_line(self, y: int) -> Strip:
        # Mirrors DataTable.render_line (textual 8.2.8), with the frame's figures.
        frame = self._frame or self._new_frame()
        scroll_x, scroll_y = frame.scroll
        if y >= frame.fixed_rows_height:
            y += scroll_y
        return self._render_line(y, scroll_x, scroll_x + frame.width, frame.base_style)

    def _render_line(self, y: int, x1: int, x2: int, base_style: Style) -> Strip:
        frame = self._frame or self._new_frame()
        width = frame.width
        try:
            row_key, line_no = self._get_offsets(y)
        except LookupError:
            return Strip.blank(width, base_style)
        row_index = self._row_locations.get(row_key)  # None: the header
        if (
            row_index is None
            or line_no
            or row_index < frame.fixed_rows
            or not frame.own_lines
            or base_style != frame.base_style
        ):
            return super()._render_line(y, x1, x2, base_style)
        cursor_type = frame.cursor_type
        key = (
            row_key,
            self._row_versions.get(row_key, 0),
            self._update_count,  # rows added, removed, sorted; the table resized
            row_index,
            x1,
            x2,
            width,
            frame.widths,
            base_style,
            cursor_type,
            # What the cursor and the hover highlight in this row, for this cursor type.
            _marks(frame.cursor, row_index, cursor_type),
            _marks(frame.hover, row_index, cursor_type),
            frame.look,
        )
        strip = self._row_lines.get(key)
        if strip is None:
            segments = self._draw_row_line(row_key, row_index, frame)
            if segments is None:  # a cell that is not text, or a taller row: DataTable's own
                return super()._render_line(y, x1, x2, base_style)
            # As DataTable._render_line (textual 8.2.8) crops, pads and simplifies a row's line
            # (`Strip(segments).adjust_cell_length(width, base_style).simplify()`), making one
            # Strip instead of three when the line has the widget's width, as it has but for
            # double-width characters cut at the edge.
            segments = line_crop(segments, x1, x2, width)
            if Segment.get_line_length(segments) == width:
                strip = Strip(Segment.simplify(segments), width)
            else:
                strip = Strip(segments).adjust_cell_length(width, base_style).simplify()
            self._row_lines[key] = strip
        return strip

    def _draw_row_line(
        self, row_key: RowKey, row_index: int, frame: _Frame
    ) -> list[Segment] | None:
        """Row ``row_index``'s one line, uncropped; None if DataTable must draw it itself.

        Mirrors DataTable._render_line_in_row (textual 8.2.8) for a row with no label and no
        fixed columns: the cells, then the row's style out to the widget's width.
        """
        row = self.rows.get(row_key)
        data = self._data.get(row_key, {})
        cells = [data.get(column.key) for column in frame.columns]
        if row is None or row.height != 1:
            return None
        if not all(cell is None or isinstance(cell, Text | str) for cell in cells):
            return None
        cursor, hover, cursor_type = frame.cursor, frame.hover, frame.cursor_type
        should_highlight = self._should_highlight
        row_style = self._get_row_style(row_index, frame.base_style)
        segments: list[Segment] = []
        for column_index, (cell, cell_width) in enumerate(zip(cells, frame.widths, strict=True)):
            location = Coordinate(row_index, column_index)
            segments += self._styled_cell(
                cell,
                row_index,
                column_index,
                row_style,
                cell_width,
                cursor=should_highlight(cursor, location, cursor_type),
                hover=should_highlight(hover, location, cursor_type),
                look=frame.look,
            )
        # Extending the row's style out to the widget's width, as DataTable does.
        remaining_space = max(0, frame.width - sum(frame.widths))
        if cursor_type == "row":
            extend_style, _ = self._get_styles_to_render_cell(
                False,
                False,
                False,
                should_highlight(hover, Coordinate(row_index or 0, 0), cursor_type),
                row_index == cursor.row,
                self.show_cursor,
                self._show_hover_cursor,
                False,
                False,
            )
            extend_style = row_style + extend_style
        elif row_style.bgcolor is not None:
            faded_color = Color.from_rich_color(row_style.bgcolor).blend(
                self.background_colors[1], factor=0.25
            )
            extend_style = Style.from_color(color=row_style.color, bgcolor=faded_color.rich_color)
        else:
            extend_style = Style.from_color(row_style.color, row_style.bgcolor)
        extend_style += Style.from_meta({"row": row_index, "column": 0, "out_of_bounds": True})
        segments.append(Segment(" " * remaining_space, extend_style))
        return segments

    def _styled_cell(
        self,
        cell: Text | str | None,
        row_index: int,
        column_index: int,
        row_style: Style,
        width: int,
        *,
        cursor: bool,
        hover: bool,
        look: Hashable,
    ) -> list[Segment]:
        """One line of a data cell, as DataTable._render_cell (textual 8.2.8) renders it."""
        key = (
            None if cell is None else content_key(cell),
            width,
            row_index,  # the segments carry the row and column (mouse clicks)
            column_index,
            row_style,
            cursor,
            hover,
            look,
        )
        styled = self._styled_cells.get(key)
        if styled is None:
            styled = self._render_data_cell(
                cell, row_index, column_index, row_style, width, cursor=cursor, hover=hover
            )
            self._styled_cells[key] = styled
        return styled

    def _render_data_cell(
        self,
        cell: Text | str | None,
        row_index: int,
        column_index: int,
        row_style: Style,
        width: int,
        *,
        cursor: bool,
        hover: bool,
    ) -> list[Segment]:
        """A data cell's line with its styles (not cached here: :meth:`_styled_cell` keeps it).

        DataTable renders ``Styled(Padding(cell), pre_style, post_style)``; ``Styled`` only
        lays its two styles over each segment of the padded cell (``Segment.apply_style``), so
        the padded cell is rendered once per content and width, and styled here.
        """
        component_style, post_style = self._get_styles_to_render_cell(
            False,
            False,
            False,
            hover,
            cursor,
            self.show_cursor,
            self._show_hover_cursor,
            self.cursor_foreground_priority == "css",
            self.cursor_background_priority == "css",
        )
        pre_style = row_style + Style.from_meta({"row": row_index, "column": column_index})
        padded = self._padded_cell(cell, width)
        return list(
            Segment.apply_style(padded, style=pre_style + component_style, post_style=post_style)
        )

    def _padded_cell(self, cell: Text | str | None, width: int) -> list[Segment]:
        """The cell padded to ``width`` by Rich, unstyled, as DataTable renders a one-line cell."""
        key = (None if cell is None else content_key(cell), width, self.cell_padding)
        lines = self._cell_content.get(key)
        if lines is None:
            renderable = (
                _EMPTY_TEXT
                if cell is None
                else default_cell_formatter(cell, wrap=False, height=1) or _EMPTY_TEXT
            )
            options = self.app.console_options.update_dimensions(width, 1).update(no_wrap=True)
            rendered = self.app.console.render_lines(
                Padding(renderable, (0, self.cell_padding)), options
            )
            lines = rendered[0] if rendered else []
            self._cell_content[key] = lines
        return lines


@dataclass(frozen=True, slots=True)
class _Frame:
    """What the lines of one frame of a table share (see RowCachedDataTable.render_lines)."""

    base_style: Style
    width: int
    scroll: Offset
    fixed_rows: int
    fixed_rows_height: int
    columns: list[Any]
    widths: tuple[int, ...]
    cursor: Coordinate
    hover: Coordinate
    cursor_type: CursorType
    #: No fixed columns and no row labels: data rows are drawn here, not by DataTable.
    own_lines: bool
    look: tuple[Hashable, ...]


def _marks(at: Coordinate, row_index: int, cursor_type: CursorType) -> int | bool | None:
    """What a cursor (or hover) at ``at`` highlights in row ``row_index``."""
    if cursor_type == "row":
        return at.row == row_index
    if cursor_type == "cell":
        return at.column if at.row == row_index else -1
    if cursor_type == "column":
        return at.column
    return None
