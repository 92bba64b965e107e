"""Change a widget only when what it shows changes.

The console re-states everything on every poll (every 2 s) and every clock tick (every second),
and most of it is the same as before. Textual repaints whatever it is told to, equal or not:
``Static.update()`` asks for a layout pass, setting ``border_title`` repaints the whole widget,
and any change to a ``DataTable`` throws away its rendered lines. Measured at 200x50 with no new
data, re-stating the incident panel once a second repainted the whole screen twice a second
(benchmarks/, "repaint with no new data"). On a server in trouble that is CPU taken from it,
and on a slow SSH link it is bytes. Every pane therefore goes through these three functions.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.coordinate import Coordinate
from textual.widget import Widget
from textual.widgets import DataTable, Static

_shown: WeakKeyDictionary[Widget, dict[str, Hashable]] = WeakKeyDictionary()


def content_key(content: object) -> Hashable:
    """What decides how ``content`` looks. ``Text.__eq__`` ignores the base style, so not that."""
    if isinstance(content, Text):
        return (
            "text",
            content.plain,
            str(content.style),
            tuple((s.start, s.end, str(s.style)) for s in content.spans),
            content.justify,
            content.overflow,
            content.no_wrap,
            content.end,
        )
    if isinstance(content, str):
        return ("str", content)
    return ("object", id(content))  # anything else: always new


def changed(widget: Widget, slot: str, key: Hashable) -> bool:
    """Remember ``key`` as what ``widget`` shows in ``slot``; True if it differs from before."""
    seen = _shown.setdefault(widget, {})
    if slot in seen and seen[slot] == key:
        return False
    seen[slot] = key
    return True


def show(static: Static, content: Text | str) -> bool:
    """``static.update(content)`` unless it already shows exactly that. True if it changed."""
    if not changed(static, "content", content_key(content)):
        return False
    static.update(content)
    return True


def set_border_title(widget: Widget, title: Text | str | None) -> None:
    if changed(widget, "border_title", content_key(title)):
        widget.border_title = title


def set_border_subtitle(widget: Widget, subtitle: Text | str | None) -> None:
    if changed(widget, "border_subtitle", content_key(subtitle)):
        widget.border_subtitle = subtitle


Cell = Text | str


def fill_table(
    table: DataTable[Any],
    rows: Sequence[Sequence[Cell]],
    keys: Sequence[str] | None = None,
) -> bool:
    """Make ``table`` show ``rows`` (one key per row, if given), touching only what differs.

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
    seen = _shown.setdefault(table, {})
    old = seen.get("rows")
    old_keys = seen.get("keys")
    seen["rows"] = new
    seen["keys"] = new_keys
    if old == new and old_keys == new_keys and table.row_count == len(rows):
        return False
    if (
        isinstance(old, tuple)
        and len(old) == len(new)
        and old_keys == new_keys
        and table.row_count == len(rows)
        and all(len(o) == len(n) == len(table.columns) for o, n in zip(old, new, strict=True))
    ):
        for y, (before, after, row) in enumerate(zip(old, new, rows, strict=True)):
            for x, (b, a) in enumerate(zip(before, after, strict=True)):
                if b != a:
                    table.update_cell_at(Coordinate(y, x), row[x], update_width=True)
        return True
    selected_key = _cursor_key(table) if keys is not None else None
    cursor = table.cursor_row
    table.clear()
    for i, row in enumerate(rows):
        table.add_row(*row, key=keys[i] if keys is not None else None)
    if not table.row_count:
        return True
    if selected_key is not None and keys is not None and selected_key in keys:
        table.move_cursor(row=keys.index(selected_key))
    else:
        table.move_cursor(row=min(max(cursor, 0), table.row_count - 1))
    return True


def _cursor_key(table: DataTable[Any]) -> str | None:
    if not table.row_count:
        return None
    try:
        value = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
    except Exception:  # noqa: BLE001 - the cursor is outside the rows while a table rebuilds
        return None
    return None if value is None else str(value)
