"""Confirmation modals of the action layer, keyboard first and sized for an 80x24 terminal.

- :class:`ConfirmScreen` — y/N for disruptive actions and for the repeat guard: ``y`` confirms;
  ``n``, Enter and Escape decline (No is the default).
- :class:`TypeTargetScreen` — destructive actions: type the target's name exactly and press
  Enter; a wrong name is refused and the modal stays open; Escape cancels.
- :class:`PendingScreen` — from the key press until the confirmation shows (the preview may
  query the backend), and in its place when the action is refused: keys typed meanwhile (the
  target's name, "y") land here, never on the console behind it.

Both show the action's preview (the SQL, the Docker API call, the argv) verbatim. A preview may
carry outside text (a query, a container name), so it is rendered through :func:`inert`.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from zconsole.widgets.text import inert

_RISK_STYLE = {"safe": "bold green", "disruptive": "bold yellow", "destructive": "bold red"}

_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 76; max-width: 100%; height: auto; max-height: 22;
    border: thick $warning; background: $panel; padding: 0 1;
}}
{name}.-destructive > Vertical {{ border: thick $error; }}
{name} .confirm--title {{ height: auto; text-style: bold; }}
{name} .confirm--note {{ height: auto; color: $warning; }}
{name} .confirm--preview-box {{
    height: auto; max-height: 10; border: round $foreground 40%; margin: 1 0 0 0;
}}
{name} .confirm--preview {{ height: auto; }}
{name} .confirm--keys {{ height: auto; margin: 1 0 0 0; }}
{name} .confirm--error {{ height: auto; color: $error; display: none; }}
{name} .confirm--error.-shown {{ display: block; }}
"""


def _heading(title: str, risk: str) -> Text:
    text = Text(f"{risk.upper()} ", style=_RISK_STYLE.get(risk, "bold"))
    text.append_text(inert(title, single_line=True, max_len=120))
    return text


class ConfirmScreen(ModalScreen[bool]):
    """y/N: ``y`` answers True; ``n``, Enter and Escape answer False."""

    DEFAULT_CSS = _CSS.format(name="ConfirmScreen")
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes"),
        Binding("n", "answer(False)", "No"),
        Binding("enter", "answer(False)", "No", show=False),
        Binding("escape", "answer(False)", "Cancel", show=False),
    ]

    def __init__(
        self,
        *,
        title: str,
        risk: str,
        preview: str,
        question: str,
        note: str = "",
    ) -> None:
        super().__init__(classes=f"-{risk}")
        self.action_title = title
        self.risk = risk
        self.preview = preview
        self.question = question
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_heading(self.action_title, self.risk), classes="confirm--title")
            if self.note:
                yield Static(inert(self.note), classes="confirm--note")
            with VerticalScroll(classes="confirm--preview-box"):
                yield Static(inert(self.preview, colour=False), classes="confirm--preview")
            keys = inert(self.question)
            keys.append("  [y/N]", style="bold")
            yield Static(keys, classes="confirm--keys")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TypeTargetScreen(ModalScreen[bool]):
    """Type ``target`` exactly and press Enter; a wrong name keeps the modal open."""

    DEFAULT_CSS = _CSS.format(name="TypeTargetScreen")
    #: The first key typed must land in the field, not on the preview.
    AUTO_FOCUS = "#confirm-target"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
    ]

    def __init__(self, *, title: str, risk: str, preview: str, target: str) -> None:
        super().__init__(classes=f"-{risk}")
        self.action_title = title
        self.risk = risk
        self.preview = preview
        self.target = target
        #: How many wrong names were typed (shown, and useful to tests).
        self.mismatches = 0

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(_heading(self.action_title, self.risk), classes="confirm--title")
            with VerticalScroll(classes="confirm--preview-box"):
                yield Static(inert(self.preview, colour=False), classes="confirm--preview")
            prompt = Text("This cannot be undone. Type ")
            prompt.append_text(inert(self.target, single_line=True, max_len=80, style="bold"))
            prompt.append(" to confirm, Escape to cancel:")
            yield Static(prompt, classes="confirm--keys")
            yield Input(
                placeholder="type the name here", id="confirm-target", select_on_focus=False
            )
            yield Static("", classes="confirm--error")

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value == self.target:
            self.dismiss(True)
            return
        self.mismatches += 1
        error = self.query_one(".confirm--error", Static)
        message = Text("Does not match — type ")
        message.append_text(inert(self.target, single_line=True, max_len=80, style="bold"))
        message.append(" exactly (case matters).")
        error.update(message)
        error.add_class("-shown")
        event.input.clear()

    def action_cancel(self) -> None:
        self.dismiss(False)


class PendingScreen(ModalScreen[None]):
    """Holds the keyboard while an action is prepared; shows its refusal if it is refused.

    A modal screen: the console's own keys are not active under it, so a target name typed
    ahead (``s`` + Enter) can neither change the status nor run anything.
    """

    DEFAULT_CSS = _CSS.format(name="PendingScreen")

    def __init__(self, title: str) -> None:
        super().__init__()
        self.action_title = title
        #: Closed with Escape before the action was ready: it must not run.
        self.cancelled = False
        self.refused = False
        self.finished = False
        self.closed = False

    def compose(self) -> ComposeResult:
        with Vertical():
            heading = Text("Preparing ", style="bold")
            heading.append_text(inert(self.action_title, single_line=True, max_len=100))
            heading.append("…")
            yield Static(heading, classes="confirm--title")
            yield Static("Escape cancels.", classes="confirm--keys")

    def refuse(self, reason: str) -> None:
        """Show why the action will not run; Enter or Escape closes (typed keys go nowhere)."""
        self.refused = True
        heading = Text("Refused: ", style="bold red")
        heading.append_text(inert(reason, max_len=300))
        self.query_one(".confirm--title", Static).update(heading)
        self.query_one(".confirm--keys", Static).update("Enter or Escape closes.")

    def hand_over(self) -> None:
        """The action's confirmation takes its place: call it right before pushing that, with
        no await between, so no key can fall between the two screens."""
        self.finished = True
        self._close()

    def finish(self) -> None:
        """The action's own confirmation has been answered (or none is needed): close, now if
        on top, else as soon as the screen above it is gone."""
        self.finished = True
        if self.is_current:
            self._close()

    def on_screen_resume(self) -> None:
        if self.finished:
            self._close()

    def on_key(self, event: events.Key) -> None:
        # Every key stops here; only these two close the screen.
        event.stop()
        event.prevent_default()
        if event.key == "escape":
            self.cancelled = not self.refused
            self._close()
        elif self.refused and event.key == "enter":
            self._close()

    def _close(self) -> None:
        if not self.closed and self.is_current:
            self.closed = True
            self.dismiss(None)
