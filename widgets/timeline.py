"""The timeline: one line per entry, newest at the bottom, windowed.

The widget never holds the whole timeline. It knows how many entries there are and keeps the
rows around the viewport; for rows it has not got it posts :class:`Timeline.WindowRequested`
and the app answers with :meth:`Timeline.put_window` (the app reads the store; this widget does
no I/O). 100 000 entries cost a few hundred rows of memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.incident import Entry

#: Rows fetched per request; the cache keeps CACHE_BLOCKS blocks around the viewport.
BLOCK = 200
CACHE_BLOCKS = 6

#: Short, fixed-width kind tags so the text gets the width (readable without colour).
KIND_TAG = {
    "note": "note",
    "status": "stat",
    "severity": "sev ",
    "check": "chk ",
    "evidence": "evid",
    "action": "act ",
    "update": "upd ",
    "correction": "fix ",
    "system": "sys ",
    "post": "post",
    "alert": "alrt",
}
KIND_STYLE = {
    "note": "",
    "status": "bold cyan",
    "severity": "bold magenta",
    "check": "yellow",
    "evidence": "blue",
    "action": "bold green",
    "update": "cyan",
    "correction": "italic",
    "system": "dim",
    "post": "cyan",
    "alert": "bold red",
}


class Timeline(ScrollView, can_focus=True):
    """Always-visible incident timeline (Line API, windowed)."""

    DEFAULT_CSS = """
    Timeline { height: 1fr; overflow-x: hidden; }
    Timeline > .timeline--cursor { background: $accent 40%; }
    Timeline:focus > .timeline--cursor { background: $accent; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"timeline--cursor"}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor(-1)", "Up", show=False),
        Binding("down,j", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "jump(0)", "Oldest", show=False),
        Binding("end", "jump(-1)", "Newest", show=False),
        Binding("e", "correct", "Correct entry"),
    ]

    @dataclass
    class WindowRequested(Message):
        """Please send rows ``start`` .. ``start + count`` (0 = oldest) with put_window()."""

        timeline: Timeline
        start: int
        count: int
        #: Answers for an older generation (a different incident) are dropped.
        generation: int

    @dataclass
    class Highlighted(Message):
        """The cursor is on this entry (None: following the newest, no selection)."""

        entry: Entry | None

    @dataclass
    class CorrectRequested(Message):
        """The user wants to correct this entry."""

        entry: Entry

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.total = 0
        self.last_id = 0
        self.cursor = -1  # -1: follow the newest entry
        self._rows: dict[int, Entry] = {}
        self._requested: set[int] = set()
        self.generation = 0

    # -- data in (from the app) ----------------------------------------------------------------

    def reset(self, total: int, last_id: int = 0) -> None:
        """A different incident (or none): forget every row. ``last_id``: newest id counted."""
        self.generation += 1
        self._rows.clear()
        self._requested.clear()
        self.total = total
        self.last_id = last_id
        self.cursor = -1
        self._resize()
        self.call_after_refresh(self._follow)
        self.refresh()

    def _follow(self) -> None:
        """Show the newest entry (when following)."""
        if self.cursor < 0:
            self.scroll_to(y=max(self.total - self.size.height, 0), animate=False, force=True)
            self.refresh()

    def put_window(self, start: int, entries: list[Entry], generation: int) -> None:
        if generation != self.generation:
            return
        self._requested.discard(start // BLOCK * BLOCK)
        for offset, entry in enumerate(entries):
            self._rows[start + offset] = entry
        self._evict()
        self.refresh()

    def append(self, entries: list[Entry]) -> None:
        """New entries (ours or another process's), newest last."""
        if not entries:
            return
        following = self.cursor < 0 or self.scroll_offset.y >= self.max_scroll_y - 1
        entries = [e for e in entries if e.id > self.last_id]
        if not entries:
            return
        for entry in entries:
            self.last_id = entry.id
            if entry.corrects is not None:
                for row, old in self._rows.items():
                    if old.id == entry.corrects:
                        from dataclasses import replace

                        self._rows[row] = replace(old, corrected_by=entry.id)
            self._rows[self.total] = entry
            self.total += 1
        self._evict()
        self._resize()
        if following:
            self.call_after_refresh(self._follow)
        self.refresh()

    @property
    def selected(self) -> Entry | None:
        row = self.total - 1 if self.cursor < 0 else self.cursor
        return self._rows.get(row)

    def entry_at(self, row: int) -> Entry | None:
        return self._rows.get(row)

    @property
    def cached_rows(self) -> int:
        return len(self._rows)

    # -- internals -----------------------------------------------------------------------------

    def _resize(self) -> None:
        self.virtual_size = Size(max(self.size.width, 1), self.total)

    def on_resize(self) -> None:
        self._resize()
        self.call_after_refresh(self._follow)

    def _evict(self) -> None:
        """Keep the rows around the viewport and around the cursor; drop the rest."""
        if len(self._rows) <= BLOCK * CACHE_BLOCKS:
            return
        reach = BLOCK * (CACHE_BLOCKS // 4)
        view = int(self.scroll_offset.y)
        cursor = self.total - 1 if self.cursor < 0 else self.cursor
        for row in list(self._rows):
            if abs(row - view) > reach and abs(row - cursor) > reach:
                del self._rows[row]

    def _request(self, row: int) -> None:
        block = row // BLOCK * BLOCK
        if block in self._requested:
            return
        self._requested.add(block)
        # Not from render_line directly: there the active message pump (the message's sender)
        # is the screen, and a message stops bubbling at its sender, short of the app.
        self.call_later(self._post_request, block, self.generation)

    def _post_request(self, block: int, generation: int) -> None:
        if generation == self.generation:
            self.post_message(self.WindowRequested(self, block, BLOCK, generation))

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.size.width
        if row >= self.total or row < 0:
            return Strip.blank(width, self.rich_style)
        entry = self._rows.get(row)
        if entry is None:
            self._request(row)
            return Strip([Segment("…".ljust(width), self.rich_style + Style(dim=True))])
        text = self.entry_text(entry)
        selected = row == (self.total - 1 if self.cursor < 0 else self.cursor) and self.cursor >= 0
        if selected:
            text.stylize(self.get_component_rich_style("timeline--cursor"))
        segments = list(text.render(self.app.console))
        strip = Strip(segments).crop(0, width).extend_cell_length(width, self.rich_style)
        return strip.apply_style(self.rich_style)

    @staticmethod
    def entry_text(entry: Entry) -> Text:
        line = Text(no_wrap=True, end="")
        line.append(f"{entry.at:%H:%M:%S} ", style="dim")
        # The user part only; the SSH client host is in the detail line and the export.
        who = entry.author.split("@", 1)[0]
        line.append(inert(who, single_line=True, max_len=12, colour=False))
        tag = KIND_TAG.get(entry.kind, entry.kind[:4].ljust(4))
        line.append(f" {tag} ", style=KIND_STYLE.get(entry.kind, ""))
        if entry.corrects is not None:
            line.append(f"✎ #{entry.corrects}: ", style="italic")
        body = inert(entry.text, single_line=True, max_len=500, colour=False)
        if entry.corrected_by is not None:
            body.stylize("strike dim")
        line.append_text(body)
        line.append(f"  #{entry.id}", style="dim")
        return line

    # -- keys ----------------------------------------------------------------------------------

    def _move_to(self, row: int) -> None:
        if self.total == 0:
            return
        row = max(0, min(row, self.total - 1))
        self.cursor = row
        self.post_message(self.Highlighted(self._rows.get(row)))
        top = int(self.scroll_offset.y)
        height = max(self.size.height, 1)
        if row < top:
            self.scroll_to(y=row, animate=False)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False)
        self.refresh()

    def action_cursor(self, delta: int) -> None:
        current = self.total - 1 if self.cursor < 0 else self.cursor
        self._move_to(current + delta)

    def action_page(self, direction: int) -> None:
        current = self.total - 1 if self.cursor < 0 else self.cursor
        self._move_to(current + direction * max(self.size.height - 1, 1))

    def action_jump(self, where: int) -> None:
        if where < 0:
            self.cursor = -1
            self.post_message(self.Highlighted(None))
            self.scroll_end(animate=False)
            self.refresh()
        else:
            self._move_to(where)

    def action_correct(self) -> None:
        entry = self.selected
        if entry is not None:
            self.post_message(self.CorrectRequested(entry))
