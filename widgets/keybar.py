"""The key line at the bottom: the bindings that work where the focus is, drawn as one line.

Textual's ``Footer`` rebuilds a widget per key every time the focus moves, and the focus moves
with every pane key (1…5, tab): measured at 200x50 that rebuild was about half of the CPU of a
key press, and the tail of key latency while backends hang (benchmarks/, scenario 3). This bar
is one widget; it redraws only when the set of keys it shows changes. A click on a key presses
it, as on Textual's footer.

A key whose label does not fit whole is left out, never cut ("L Kill long queri…" reads as
nothing a responder can trust); when any is left out the right edge says "more: ^p", the
palette that lists them all.
"""

from __future__ import annotations

from typing import ClassVar

from rich.style import Style
from rich.text import Text
from textual import events
from textual.screen import Screen
from textual.widget import Widget

from zconsole.widgets.quiet import changed, content_key


class KeyBar(Widget):
    """One line of ``key description`` pairs for the focused widget and everything above it,
    with the command palette's key at the right edge (it reaches every action)."""

    DEFAULT_CSS = """
    KeyBar {
        dock: bottom;
        height: 1;
        color: $footer-foreground;
        background: $footer-background;
    }
    KeyBar > .keybar--key {
        color: $footer-key-foreground;
        background: $footer-key-background;
        text-style: bold;
    }
    KeyBar > .keybar--description { color: $footer-description-foreground; }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"keybar--key", "keybar--description"}

    def __init__(self) -> None:
        super().__init__()
        #: Each key's label (`` q Quit ``) and its key, in order.
        self.entries: list[tuple[Text, str]] = []
        self.palette = Text()
        self.more = Text()
        self._palette_key = ""
        #: (first cell, end cell, key) of each key drawn by the last render, and where the
        #: palette's label starts.
        self._hits: list[tuple[int, int, str]] = []
        self._palette_at = 0

    @property
    def content(self) -> str:
        """Every key as plain text, drawn or not."""
        return "".join(label.plain for label, _ in self.entries) + self.palette.plain

    @property
    def shown(self) -> str:
        """The line as drawn at the current width, as plain text."""
        return self.render().plain

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)
        self._bindings_changed(self.screen)

    def on_unmount(self) -> None:
        self.screen.bindings_updated_signal.unsubscribe(self)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        if not self.is_attached or screen is not self.screen:
            return
        key_style = self.get_component_rich_style("keybar--key")
        description_style = self.get_component_rich_style("keybar--description")
        entries: list[tuple[Text, str]] = []
        palette = Text(no_wrap=True, end="")
        more = Text(no_wrap=True, end="")
        seen_actions: set[str] = set()
        palette_key = ""
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                if self.app.ENABLE_COMMAND_PALETTE:
                    palette_key = binding.key
                    shown_key = self.app.get_key_display(binding)
                    palette.append(f" {shown_key} ", style=key_style)
                    palette.append(f"{binding.description or 'palette'} ", description_style)
                    more.append(" more: ", style=description_style)
                    more.append(f" {shown_key} ", style=key_style)
                continue
            # One entry per action (Textual's footer groups keys bound to the same action).
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            off = Style() if enabled else Style(dim=True)
            label = Text(no_wrap=True, end="")
            label.append(f" {self.app.get_key_display(binding)} ", style=key_style + off)
            label.append(f"{binding.description} ", style=description_style + off)
            entries.append((label, binding.key))
        self._palette_key = palette_key
        # The focus moved but the keys are the same: nothing to draw.
        drawn = (
            tuple((content_key(label), key) for label, key in entries),
            content_key(palette),
            content_key(more),
        )
        if changed(self, "keys", drawn):
            self.entries = entries
            self.palette = palette
            self.more = more
            self.refresh()

    def render(self) -> Text:
        """The labels that fit whole, then the palette's key at the right edge."""
        width = self.size.width
        total = sum(label.cell_len for label, _ in self.entries)
        tail = self.palette
        if total + self.palette.cell_len > width and self._palette_key:
            tail = self.more
        room = max(width - tail.cell_len, 0)
        line = Text(no_wrap=True, overflow="crop", end="")
        hits: list[tuple[int, int, str]] = []
        for label, key in self.entries:
            if line.cell_len + label.cell_len > room:
                continue  # a shorter label further on may still fit whole
            hits.append((line.cell_len, line.cell_len + label.cell_len, key))
            line.append_text(label)
        line.pad_right(max(room - line.cell_len, 0))
        self._hits = hits
        self._palette_at = line.cell_len if tail.cell_len <= width else width
        if tail.cell_len <= width:
            line.append_text(tail)
        return line

    def on_click(self, event: events.Click) -> None:
        if self._palette_key and event.x >= self._palette_at:
            event.stop()
            self.app.simulate_key(self._palette_key)
            return
        for start, end, key in self._hits:
            if start <= event.x < end:
                event.stop()
                self.app.simulate_key(key)
                return
