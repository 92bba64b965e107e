"""Declare an incident: title, impact, affected services, severity, with the runbooks' triage
questions proposing the severity. Returns a :class:`DeclareRequest` (the app writes it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from zconsole.checks.incident import (
    STATUSES,
    TRIAGE_QUESTIONS,
    propose_severity,
    scheme_levels,
    severity_label,
)


@dataclass(frozen=True, slots=True)
class DeclareRequest:
    title: str
    severity: str
    impact: str
    services: tuple[str, ...]


class TriageCheckbox(Checkbox):
    """A checkbox whose tick is a character, not only a colour: under NO_COLOR (or on a
    16-colour terminal) Textual's ``▐X▌`` looks the same ticked and unticked."""

    BUTTON_INNER = " "

    def watch_value(self) -> None:
        super().watch_value()
        self.BUTTON_INNER = "X" if self.value else " "
        self.refresh()


class DeclareScreen(ModalScreen[DeclareRequest | None]):
    """The declare form. Ctrl+S or the Declare button declares; Escape cancels."""

    DEFAULT_CSS = """
    DeclareScreen { align: center middle; }
    DeclareScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $error; background: $panel; padding: 0 1;
    }
    DeclareScreen VerticalScroll { height: auto; max-height: 30; }
    DeclareScreen Label { margin: 1 0 0 0; }
    DeclareScreen Checkbox { height: auto; border: none; padding: 0; }
    DeclareScreen #declare-proposal { height: auto; color: $text-muted; }
    DeclareScreen #declare-error { height: auto; color: $error; }
    DeclareScreen Horizontal { height: auto; margin: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "declare", "Declare"),
    ]

    def __init__(self, scheme: str = "P0-P3", services: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.scheme = scheme
        self.levels = scheme_levels(scheme)
        self.known_services = services
        self.answers: dict[str, bool] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Declare an incident", style="bold"))
            with VerticalScroll():
                yield Label("Title")
                yield Input(placeholder="Login page returns 500 errors", id="declare-title")
                yield Label("Triage (the runbooks' questions, first yes decides)")
                for key, question, _index in TRIAGE_QUESTIONS:
                    yield TriageCheckbox(question, id=f"triage-{key}")
                yield Static("", id="declare-proposal")
                yield Label("Severity")
                yield Select(
                    [(severity_label(s, self.scheme), s) for s in self.levels],
                    value=propose_severity({}, self.scheme),
                    allow_blank=False,
                    id="declare-severity",
                )
                yield Label("Impact")
                yield Input(
                    placeholder="All users cannot log in (~120 sessions)", id="declare-impact"
                )
                yield Label("Affected services (comma separated)")
                yield Input(
                    value=", ".join(self.known_services),
                    placeholder="web, postgres",
                    id="declare-services",
                )
            yield Static("", id="declare-error")
            with Horizontal():
                yield Button("Declare (ctrl+s)", variant="error", id="declare-ok")
                yield Button("Cancel (esc)", id="declare-cancel")

    def on_mount(self) -> None:
        self._show_proposal()
        self.query_one("#declare-title", Input).focus()

    def _show_proposal(self) -> None:
        proposed = propose_severity(self.answers, self.scheme)
        self.query_one("#declare-proposal", Static).update(
            Text(f"Proposed: {severity_label(proposed, self.scheme)}")
        )

    @on(Checkbox.Changed)
    def _triage(self, event: Checkbox.Changed) -> None:
        key = (event.checkbox.id or "").removeprefix("triage-")
        self.answers[key] = event.value
        self._show_proposal()
        select: Select[str] = self.query_one("#declare-severity", Select)
        select.value = propose_severity(self.answers, self.scheme)

    @on(Button.Pressed, "#declare-ok")
    def action_declare(self) -> None:
        title = self.query_one("#declare-title", Input).value.strip()
        if not title:
            self.query_one("#declare-error", Static).update("A title is needed.")
            self.query_one("#declare-title", Input).focus()
            return
        select: Select[str] = self.query_one("#declare-severity", Select)
        severity = str(select.value) if select.value in self.levels else self.levels[0]
        services = tuple(
            s.strip()
            for s in self.query_one("#declare-services", Input).value.split(",")
            if s.strip()
        )
        self.dismiss(
            DeclareRequest(
                title=title,
                severity=severity,
                impact=self.query_one("#declare-impact", Input).value.strip(),
                services=services,
            )
        )

    @on(Button.Pressed, "#declare-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class StatusScreen(ModalScreen[tuple[str, str] | None]):
    """Change status or severity: answers ("status", "identified") or ("severity", "P1")."""

    DEFAULT_CSS = """
    StatusScreen { align: center middle; }
    StatusScreen > Vertical {
        width: 50; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $panel; padding: 0 1;
    }
    StatusScreen OptionList { height: auto; max-height: 14; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, status: str, severity: str, scheme: str = "P0-P3") -> None:
        super().__init__()
        self.status = status
        self.severity = severity
        self.scheme = scheme

    def compose(self) -> ComposeResult:
        options: list[Option] = []
        for status in STATUSES:
            if status != self.status:
                options.append(Option(f"Status → {status}", id=f"status:{status}"))
        for level in scheme_levels(self.scheme):
            if level != self.severity:
                label = severity_label(level, self.scheme)
                options.append(Option(f"Severity → {label}", id=f"severity:{level}"))
        with Vertical():
            yield Static(Text(f"Now: {self.status} · {self.severity}", style="bold"))
            yield OptionList(*options, id="status-options")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.highlighted = 0
        options.focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        what, _, value = (event.option.id or "").partition(":")
        self.dismiss((what, value))

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True, slots=True)
class ResolveRequest:
    root_cause: str
    resolution: str


class ResolveScreen(ModalScreen[ResolveRequest | None]):
    """Resolve: root cause and resolution for the resolved update and the postmortem (both
    optional, editable later with `zconsole incidents edit`)."""

    DEFAULT_CSS = """
    ResolveScreen { align: center middle; }
    ResolveScreen > Vertical {
        width: 84; max-width: 100%; height: auto; max-height: 100%;
        border: thick $success; background: $panel; padding: 0 1;
    }
    ResolveScreen Label { margin: 1 0 0 0; }
    ResolveScreen Horizontal { height: auto; margin: 1 0 0 0; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel"),
        Binding("ctrl+s", "resolve", "Resolve"),
    ]

    def __init__(self, root_cause: str = "", resolution: str = "") -> None:
        super().__init__()
        self.root_cause = root_cause
        self.resolution = resolution

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Resolve the incident", style="bold"))
            yield Label("Root cause")
            yield Input(
                self.root_cause,
                placeholder="PostgreSQL connection pool exhausted",
                id="resolve-root-cause",
            )
            yield Label("Resolution")
            yield Input(
                self.resolution,
                placeholder="Restarted web, raised the pool size",
                id="resolve-resolution",
            )
            with Horizontal():
                yield Button("Resolve (ctrl+s)", variant="success", id="resolve-ok")
                yield Button("Cancel (esc)", id="resolve-cancel")

    def on_mount(self) -> None:
        self.query_one("#resolve-root-cause", Input).focus()

    @on(Button.Pressed, "#resolve-ok")
    def action_resolve(self) -> None:
        self.dismiss(
            ResolveRequest(
                root_cause=self.query_one("#resolve-root-cause", Input).value.strip(),
                resolution=self.query_one("#resolve-resolution", Input).value.strip(),
            )
        )

    @on(Button.Pressed, "#resolve-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)
