"""The key line at the bottom: the bindings that work where the focus is, drawn as one line.

Textual's ``Footer`` rebuilds a widget per key every time the focus moves, and the focus moves
with every pane key (1…5, tab): measured at 200x50 that rebuild was about half of the CPU of a
key press, and the tail of key latency while backends hang (benchmarks/, scenario 3). This bar
is one widget; it redraws only when the set of keys it shows changes. A click on a key presses
it, as on Textual's footer.
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
        self.keys = Text()
        self.palette = Text()
        #: (first cell, end cell, key) of each key in ``keys``, and the palette's key.
        self._hits: list[tuple[int, int, str]] = []
        self._palette_key = ""

    @property
    def content(self) -> str:
        """The keys as plain text."""
        return f"{self.keys.plain}{self.palette.plain}"

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
        keys = Text(no_wrap=True, overflow="crop", end="")
        palette = Text(no_wrap=True, end="")
        hits: list[tuple[int, int, str]] = []
        seen_actions: set[str] = set()
        palette_key = ""
        for _node, binding, enabled, _tooltip in screen.active_bindings.values():
            if binding.key == self.app.COMMAND_PALETTE_BINDING:
                if self.app.ENABLE_COMMAND_PALETTE:
                    palette_key = binding.key
                    palette.append(f" {self.app.get_key_display(binding)} ", style=key_style)
                    palette.append(f"{binding.description or 'palette'} ", description_style)
                continue
            # One entry per action (Textual's footer groups keys bound to the same action).
            if not binding.show or binding.action in seen_actions:
                continue
            seen_actions.add(binding.action)
            start = keys.cell_len
            off = Style() if enabled else Style(dim=True)
            keys.append(f" {self.app.get_key_display(binding)} ", style=key_style + off)
            keys.append(f"{binding.description} ", style=description_style + off)
            hits.append((start, keys.cell_len, binding.key))
        self._hits = hits
        self._palette_key = palette_key
        # The focus moved but the keys are the same: nothing to draw.
        if changed(self, "keys", (content_key(keys), content_key(palette))):
            self.keys = keys
            self.palette = palette
            self.refresh()

    def render(self) -> Text:
        width = self.size.width
        room = max(width - self.palette.cell_len, 0)
        line = self.keys.copy()
        line.truncate(room, overflow="crop", pad=True)
        line.append_text(self.palette)
        return line

    def on_click(self, event: events.Click) -> None:
        room = max(self.size.width - self.palette.cell_len, 0)
        if self._palette_key and event.x >= room:
            event.stop()
            self.app.simulate_key(self._palette_key)
            return
        for start, end, key in self._hits:
            if start <= event.x < min(end, room):
                event.stop()
                self.app.simulate_key(key)
                return
