"""The ``a`` menu: the mitigations and custom runbook actions offered for the focused pane.

The app builds the entries (built-in mitigations from ``zconsole.mitigations.available`` and the
matching ``[[actions]]`` of the config); the menu only shows them and answers the chosen key.
Enter picks, Escape closes. Choosing an entry never runs anything by itself: the app sends it
through the action runner, which confirms by risk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from zconsole.widgets.text import inert

_RISK_STYLE = {"safe": "green", "disruptive": "yellow", "destructive": "bold red"}


@dataclass(frozen=True)
class MenuEntry:
    """One line of the menu; ``key`` is what the menu answers when it is chosen."""

    key: str
    label: str
    #: "safe" / "disruptive" / "destructive", or "" when not known before the action is built.
    risk: str = ""
    hint: str = ""


class ActionsMenu(ModalScreen[str | None]):
    """Pick one action; answers its key, or None on Escape."""

    DEFAULT_CSS = """
    ActionsMenu { align: center middle; }
    ActionsMenu > Vertical {
        width: 76; max-width: 100%; height: auto; max-height: 22;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    ActionsMenu .menu--title { height: auto; text-style: bold; }
    ActionsMenu OptionList { height: auto; max-height: 16; }
    ActionsMenu .menu--empty { height: auto; color: $text-muted; }
    ActionsMenu .menu--keys { height: auto; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "close", "Close")]

    def __init__(self, title: str, entries: Sequence[MenuEntry], *, read_only: bool = False):
        super().__init__()
        self.menu_title = title
        self.entries = list(entries)
        self.read_only = read_only

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(inert(self.menu_title, single_line=True), classes="menu--title")
            if self.read_only:
                yield Static(
                    Text("READ-ONLY: every action will be refused.", style="bold cyan"),
                    classes="menu--empty",
                )
            if self.entries:
                yield OptionList(*(self._option(e) for e in self.entries), id="actions-menu")
            else:
                yield Static("No actions for this pane.", classes="menu--empty")
            yield Static("Enter run · Escape close", classes="menu--keys")

    @staticmethod
    def _option(entry: MenuEntry) -> Option:
        text = inert(entry.label, single_line=True, max_len=50)
        if entry.risk:
            text.append(f"  {entry.risk}", style=_RISK_STYLE.get(entry.risk, ""))
        if entry.hint:
            text.append("  ")
            text.append_text(inert(entry.hint, single_line=True, max_len=40, style="dim"))
        return Option(text, id=entry.key)

    def on_mount(self) -> None:
        for menu in self.query(OptionList):
            menu.focus()
            menu.highlighted = 0

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_close(self) -> None:
        self.dismiss(None)
