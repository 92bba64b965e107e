"""The status-update preview: the incident rendered into the runbooks' templates, editable.

The app renders every (kind, format) variant beforehand; this screen switches between them,
lets the responder edit, and answers the final text (the app copies it and records it)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Select, Static, TextArea

from zconsole.widgets.text import inert

KIND_LABELS = {"detected": "Detected", "update": "Update", "resolved": "Resolved"}
FORMAT_LABELS = {"slack": "Slack Markdown", "plain": "Plain text"}


class UpdatePreviewScreen(ModalScreen[str | None]):
    """Ctrl+S copies the (edited) text and records it in the timeline; Escape closes."""

    DEFAULT_CSS = """
    UpdatePreviewScreen { align: center middle; }
    UpdatePreviewScreen > Vertical {
        width: 90; max-width: 100%; height: 28; max-height: 100%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    UpdatePreviewScreen Horizontal { height: auto; }
    UpdatePreviewScreen Select { width: 1fr; }
    UpdatePreviewScreen TextArea { height: 1fr; }
    UpdatePreviewScreen .preview--keys { height: auto; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "copy", "Copy & record"),
        Binding("escape", "close", "Close"),
    ]

    def __init__(
        self,
        variants: dict[tuple[str, str], str],
        kind: str,
        fmt: str = "slack",
        *,
        receivers: list[str] | None = None,
    ):
        super().__init__()
        self.variants = variants
        self.kind = kind
        self.fmt = fmt
        #: Where ctrl+s also posts the update (the configured [[notify]] receivers).
        self.receivers = receivers or []

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Status update", style="bold"))
            with Horizontal():
                yield Select(
                    [(label, k) for k, label in KIND_LABELS.items()],
                    value=self.kind,
                    allow_blank=False,
                    id="preview-kind",
                )
                yield Select(
                    [(label, f) for f, label in FORMAT_LABELS.items()],
                    value=self.fmt,
                    allow_blank=False,
                    id="preview-format",
                )
            yield TextArea(self.variants.get((self.kind, self.fmt), ""), id="preview-text")
            posts = ""
            if self.receivers:
                posts = " and post to " + ", ".join(self.receivers)
            yield Static(
                inert(
                    f"ctrl+s copy to clipboard, record in the timeline{posts} · esc close",
                    max_len=400,
                ),
                classes="preview--keys",
            )
            with Horizontal():
                label = "Copy, record & post" if self.receivers else "Copy & record"
                yield Button(f"{label} (ctrl+s)", variant="primary", id="preview-copy")
                yield Button("Close (esc)", id="preview-close")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    @on(Select.Changed)
    def _switch(self, event: Select.Changed) -> None:
        if event.select.id == "preview-kind":
            self.kind = str(event.value)
        elif event.select.id == "preview-format":
            self.fmt = str(event.value)
        self.query_one(TextArea).text = self.variants.get((self.kind, self.fmt), "")

    @property
    def text(self) -> str:
        return self.query_one(TextArea).text

    @on(Button.Pressed, "#preview-copy")
    def action_copy(self) -> None:
        self.dismiss(self.text)

    @on(Button.Pressed, "#preview-close")
    def action_close(self) -> None:
        self.dismiss(None)
