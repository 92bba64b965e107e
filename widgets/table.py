"""The panes' table: Textual's DataTable, drawing again only the rows that changed.

Drawing is :class:`~zconsole.widgets.table_lines.RowCachedDataTable`'s: a changed cell redraws
its own row (DataTable redraws the whole table, every cell through Rich), a row is drawn from
its cells' cached segments, and a focus change or a scroll finds the lines it needs cached.

Panes fill a table with :meth:`Table.fill`, which compares the new rows with what the table shows
and replaces only the cells that differ (``widgets/quiet.py`` does the same for other widgets).

It also skips the scrollbar repaint Textual's ScrollView does on every layout pass of the screen
(it compares its parent's container size with its own, which differ whenever the table shares
its pane, so it always finds a change): after each layout pass every table with a visible
scrollbar repainted it, and the frame covered the union of all of them, most of the screen.

Columns by priority: a table built with :class:`Column` specs keeps, at each width, the columns
a responder needs most (state, name, duration) whole and drops the rest, the way glances does;
free text (a query, an image) may be cut to fit instead. A status word is never cut: a column
is either shown whole or not at all. The choice is made again only when the width or the widest
cell changes, never on a poll that changes nothing.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.coordinate import Coordinate
from textual.geometry import Size

from zconsole.widgets.quiet import content_key
from zconsole.widgets.table_lines import RowCachedDataTable

Cell = Text | str


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a :class:`Table` that chooses its columns by the room it has."""

    label: str
    #: Lower numbers are kept longer as the table narrows.
    priority: int
    #: Free text that may be cut (with an ellipsis) down to this many cells to fit; None: the
    #: column is shown whole or not at all (status words, names, durations, figures).
    shrink_to: int | None = None


#: (column index, width of a cut column or None for its natural width), in display order.
Layout = tuple[tuple[int, int | None], ...]


def cell_width(cell: Cell) -> int:
    """Cells a one-line cell takes (its widest line)."""
    plain = cell.plain if isinstance(cell, Text) else cell
    return max((cell_len(line) for line in plain.split("\n")), default=0)


def choose_columns(
    columns: Sequence[Column], widths: Sequence[int], room: int, padding: int = 1
) -> Layout:
    """The columns that fit in ``room`` cells, by priority, in their own order.

    ``widths`` are the natural widths (widest cell or label) of ``columns``. A column is taken
    whole when it fits; a free-text column is taken at its ``shrink_to`` width if only that
    fits, and then given whatever room is left, up to its natural width. The first column by
    priority is always taken, so a very narrow table still says something.
    """
    taken: dict[int, int] = {}  # index -> width taken so far, padding included
    used = 0
    for index in sorted(range(len(columns)), key=lambda i: (columns[i].priority, i)):
        column = columns[index]
        full = widths[index] + 2 * padding
        least = full if column.shrink_to is None else min(full, column.shrink_to + 2 * padding)
        if used + least <= room or not taken:
            taken[index] = least
            used += least
    # Room left over goes to the cut columns, by priority, up to their natural width.
    for index in sorted(taken, key=lambda i: (columns[i].priority, i)):
        if columns[index].shrink_to is None:
            continue
        grow = min(widths[index] + 2 * padding - taken[index], max(room - used, 0))
        taken[index] += grow
        used += grow
    return tuple(
        (
            index,
            None
            if columns[index].shrink_to is None or taken[index] >= widths[index] + 2 * padding
            else max(taken[index] - 2 * padding, 1),
        )
        for index in sorted(taken)
    )


def cut(cell: Cell, width: int) -> Cell:
    """``cell`` cut to ``width`` cells with an ellipsis (free text only)."""
    if cell_width(cell) <= width:
        return cell
    text = cell.copy() if isinstance(cell, Text) else Text(cell)
    text.truncate(width, overflow="ellipsis")
    return text


class Table(RowCachedDataTable):
    """A DataTable that draws a row again only when what it shows has changed.

    Built with ``columns=`` (:class:`Column` specs), :meth:`fill` takes every column's cell
    and shows the columns that fit the table's width, by priority.
    """

    DEFAULT_CSS = """
    Table { scrollbar-size-vertical: 1; }
    """

    def __init__(self, *args: Any, columns: Sequence[Column] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: What the last :meth:`fill` put in: each cell's content key, and the row keys.
        self._filled: tuple[tuple[Hashable, ...], ...] | None = None
        self._filled_keys: tuple[str, ...] | None = None
        self._laid_out: tuple[Size, ...] | None = None
        #: The columns by priority, every row's every cell, and the columns chosen for them.
        self.specs: tuple[Column, ...] = tuple(columns)
        self._all_rows: list[Sequence[Cell]] = []
        self._row_keys: list[str] | None = None
        self._layout: Layout | None = None
        if self.specs:
            self.add_columns(*(c.label for c in self.specs))
            self._layout = tuple((i, None) for i in range(len(self.specs)))

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

    @property
    def shown_columns(self) -> list[str]:
        """Labels of the columns on screen, in order."""
        return [str(c.label) for c in self.columns.values()]

    def full_row(self, index: int) -> Sequence[Cell]:
        """Every cell of row ``index``, shown or not (tables built with ``columns=``)."""
        return self._all_rows[index]

    def on_resize(self, event: events.Resize) -> None:
        if self.specs and self._choose():
            self._fill_chosen()

    def _room(self) -> int:
        width = self.outer_size.width
        # A vertical scrollbar takes a column when the rows do not all fit.
        if len(self._all_rows) + int(self.show_header) > self.outer_size.height:
            width -= self.styles.scrollbar_size_vertical
        return width

    def _choose(self) -> bool:
        """Choose the columns for the current width and rows; True if they changed (rebuilt)."""
        if not self.specs or not self.is_mounted or self.outer_size.width <= 0:
            return False
        widths = [cell_len(c.label) for c in self.specs]
        for cells in self._all_rows:
            for index, cell in enumerate(cells):
                widths[index] = max(widths[index], cell_width(cell))
        layout = choose_columns(self.specs, widths, self._room(), self.cell_padding)
        if layout == self._layout:
            return False
        self._layout = layout
        key = self._cursor_key() if self._row_keys is not None else None
        row = self.cursor_row
        self.clear(columns=True)
        self._filled = self._filled_keys = None
        for index, width in layout:
            self.add_column(self.specs[index].label, width=width)
        self._fill_chosen()
        if self.row_count:
            if key is not None and self._row_keys is not None and key in self._row_keys:
                self.move_cursor(row=self._row_keys.index(key))
            else:
                self.move_cursor(row=min(max(row, 0), self.row_count - 1))
        return True

    def _fill_chosen(self) -> bool:
        layout = self._layout or ()
        rows = [
            [row[index] if width is None else cut(row[index], width) for index, width in layout]
            for row in self._all_rows
        ]
        return self._fill_shown(rows, self._row_keys)

    def fill(self, rows: Sequence[Sequence[Cell]], keys: Sequence[str] | None = None) -> bool:
        """Make the table show ``rows`` (one key per row, if given), touching only what differs.

        With ``columns=`` specs each row holds every column's cell, and only the columns that
        fit are shown (chosen again when the widest cell changes).
        """
        if not self.specs:
            return self._fill_shown(rows, keys)
        if keys is not None and len(keys) != len(rows):
            raise ValueError("one key per row")
        self._all_rows = list(rows)
        self._row_keys = list(keys) if keys is not None else None
        rebuilt = self._choose()
        return self._fill_chosen() or rebuilt

    def _fill_shown(self, rows: Sequence[Sequence[Cell]], keys: Sequence[str] | None) -> bool:
        """Put ``rows`` (one cell per shown column) in, touching only what differs.

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
            changes: list[tuple[Coordinate, Cell]] = []
            for y, (before, after, row) in enumerate(zip(old, new, rows, strict=True)):
                for x, (b, a) in enumerate(zip(before, after, strict=True)):
                    if b != a:
                        cell = row[x]
                        if _wider(cell, columns[x].content_width):
                            self.update_cell_at(Coordinate(y, x), cell, update_width=True)
                        else:
                            changes.append((Coordinate(y, x), cell))
            # The rest keep their columns' widths: one refresh for the rows they are in.
            self.update_cells_at(changes)
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
