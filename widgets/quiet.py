"""Change a widget only when what it shows changes.

The console re-states everything on every poll (every 2 s) and every clock tick (every second),
and most of it is the same as before. Textual repaints whatever it is told to, equal or not:
``Static.update()`` asks for a layout pass, setting ``border_title`` repaints the whole widget,
and any change to a ``DataTable`` throws away its rendered lines. Measured at 200x50 with no new
data, re-stating the incident panel once a second repainted the whole screen twice a second
(benchmarks/, "repaint with no new data"). On a server in trouble that is CPU taken from it,
and on a slow SSH link it is bytes. Every pane therefore goes through these functions, and its
tables are ``widgets/table.py``'s :class:`~zconsole.widgets.table.Table`, whose ``fill``
touches only the cells that changed.
"""

from __future__ import annotations

from collections.abc import Hashable
from weakref import WeakKeyDictionary

from rich.text import Text
from textual.content import Content
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

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
    """``static.update(content)`` unless it already shows exactly that. True if it changed.

    A layout pass is asked for only when the new content needs another height at the current
    width: ``Static.update()`` lays out the whole screen every time, and after each layout pass
    every table's scrollbar repaints too, so a summary line whose figures moved used to cost
    two frames over most of the screen instead of one line.
    """
    if not changed(static, "content", content_key(content)):
        return False
    width = static.content_size.width
    before = static.content_size.height
    if not static.display:
        # Hidden (a pane's one-line form, shown only when folded): when it is shown, that
        # change of display lays the screen out anyway.
        static.update(content, layout=False)
        return True
    if not static.is_mounted or not width:
        static.update(content)
        return True
    static.update(content, layout=False)
    after = static.get_content_height(static.container_size, static.app.size, width)
    if after != before:
        static.refresh(layout=True)
    return True


def set_border_title(widget: Widget, title: Text | str | None) -> None:
    if changed(widget, "border_title", content_key(title)) and not _repaint_border_line(
        widget, title, top=True
    ):
        widget.border_title = title


def set_border_subtitle(widget: Widget, subtitle: Text | str | None) -> None:
    if changed(widget, "border_subtitle", content_key(subtitle)) and not _repaint_border_line(
        widget, subtitle, top=False
    ):
        widget.border_subtitle = subtitle


def _repaint_border_line(widget: Widget, title: Text | str | None, *, top: bool) -> bool:
    """Put ``title`` on the widget's top or bottom border and repaint that one line.

    Setting ``border_title``/``border_subtitle`` repaints the whole widget; for a pane that is
    every table and line under it, each poll, because its subtitle carries the poll's duration.
    The title is stored as Textual's own setter stores it. False when the widget has no such
    border drawn yet (then the setter does it).
    """
    width, height = widget.outer_size
    edge = widget.styles.border_top if top else widget.styles.border_bottom
    if not widget.is_mounted or not width or not height or edge[0] in ("", "none", "hidden"):
        return False
    stored: Content | None = None
    if title is not None:
        content = Content.from_rich_text(title) if isinstance(title, Text) else title
        stored = widget.render_str(content).expand_tabs(4).split()[0]
    if top:
        widget._border_title = stored
    else:
        widget._border_subtitle = stored
    # refresh() takes regions relative to the content area; the border is outside it.
    offset = widget.content_offset
    widget.refresh(Region(-offset.x, (0 if top else height - 1) - offset.y, width, 1))
    return True
