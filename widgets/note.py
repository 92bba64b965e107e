"""The multi-line note editor. As you type it posts :class:`NoteScreen.DraftChanged` (debounced)
so the app can keep the draft in the store; Ctrl+S saves the note, Escape closes and keeps the
draft for next time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Static, TextArea

from zconsole.widgets.text import inert

#: Seconds of quiet typing before the draft is saved.
DRAFT_DEBOUNCE_S = 0.4


@dataclass(frozen=True, slots=True)
class NoteResult:
    text: str
    #: Entry id this note corrects (None for a new note).
    corrects: int | None = None


class NoteScreen(ModalScreen[NoteResult | None]):
    """Write a note (or a correction of an entry)."""

    DEFAULT_CSS = """
    NoteScreen { align: center middle; }
    NoteScreen > Vertical {
        width: 90; max-width: 100%; height: 20; max-height: 100%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    NoteScreen .note--title { height: auto; text-style: bold; }
    NoteScreen .note--original { height: auto; max-height: 4; color: $text-muted; }
    NoteScreen TextArea { height: 1fr; }
    NoteScreen .note--keys { height: auto; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "save", "Save note"),
        Binding("escape", "close", "Close (keep draft)"),
    ]

    @dataclass
    class DraftChanged(Message):
        text: str
        corrects: int | None

    def __init__(
        self,
        text: str = "",
        *,
        corrects: int | None = None,
        original: str = "",
        restored: bool = False,
    ) -> None:
        super().__init__()
        self.initial = text
        self.corrects = corrects
        self.original = original
        self.restored = restored
        self._timer: Timer | None = None
        self._last_sent = text

    def compose(self) -> ComposeResult:
        with Vertical():
            title = f"Correct entry #{self.corrects}" if self.corrects is not None else "Note"
            if self.restored:
                title += " — draft restored from last time"
            yield Static(Text(title), classes="note--title")
            if self.original:
                yield Static(inert(self.original, max_len=300), classes="note--original")
            yield TextArea(self.initial, id="note-text", soft_wrap=True, show_line_numbers=False)
            yield Static("ctrl+s save · esc close (the draft is kept)", classes="note--keys")

    def on_mount(self) -> None:
        area = self.query_one(TextArea)
        area.focus()
        area.move_cursor(area.document.end)

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @on(TextArea.Changed)
    def _changed(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(DRAFT_DEBOUNCE_S, self._send_draft)

    def _send_draft(self) -> None:
        self._timer = None
        text = self.text
        if text != self._last_sent:
            self._last_sent = text
            # To the app directly: the screen may be on its way out (Escape).
            self.app.post_message(self.DraftChanged(text, self.corrects))

    def action_save(self) -> None:
        text = self.text
        if not text.strip():
            self.notify("The note is empty.", severity="warning", timeout=2)
            return
        if self._timer is not None:
            self._timer.stop()
        self.dismiss(NoteResult(text.rstrip(), self.corrects))

    def action_close(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        self._send_draft()
        self.dismiss(None)
