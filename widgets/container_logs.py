"""The logs screen of one container or of every container of a Compose service.

It only shows what it is sent (:class:`LogLinesArrived`, :class:`LogProblem`); the fetching —
tail, follow, stdout and stderr apart — is ``checks/container_logs.py``, run by
``zconsole/container_logs.py`` in a worker. Every
line is outside text and goes through :func:`inert`: ANSI colour stays, screen clears, OSC 52
clipboard writes, hyperlinks and Rich markup are shown as text or dropped, never acted on.

Keys: ``/`` filter (substring, or ``re:PATTERN``), ``f`` follow on/off, ``e`` jump to the first
error, ``escape`` close.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Input, RichLog, Static

from zconsole.checks.container_logs import (
    STDERR,
    FilterError,
    compile_filter,
    error_rate,
    first_error,
)
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.container_logs import LogLine

#: Lines kept in the screen (older ones drop off the top).
MAX_LINES = 5000
#: Longest line rendered (a single 1 MB JSON line must not stall the screen).
MAX_LINE_LEN = 2000


@dataclass
class LogLinesArrived(Message):
    """New lines for the logs screen (sent from the logs worker with post_message)."""

    lines: tuple[LogLine, ...]


@dataclass
class LogProblem(Message):
    """The logs could not be fetched (engine unreachable, container gone)."""

    text: str


class ContainerLogsScreen(Screen[None]):
    """Last N lines, then follows; filter, error rate, jump to first error."""

    DEFAULT_CSS = """
    ContainerLogsScreen #logs-header { height: auto; background: $panel; padding: 0 1; }
    ContainerLogsScreen #logs-problem { height: auto; color: $error; display: none; }
    ContainerLogsScreen #logs-problem.-shown { display: block; }
    ContainerLogsScreen #logs-filter { height: 1; border: none; padding: 0 1; }
    ContainerLogsScreen #logs-view { height: 1fr; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("slash", "filter", "Filter"),
        Binding("f", "toggle_follow", "Follow"),
        Binding("e", "first_error", "First error"),
    ]

    def __init__(
        self,
        title: str,
        names: tuple[str, ...],
        *,
        error_pattern: str,
        on_close: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.logs_title = title
        self.names = names
        self.lines: deque[LogLine] = deque(maxlen=MAX_LINES)
        self.shown: list[LogLine] = []
        self.follow = True
        self.filter: re.Pattern[str] | None = None
        try:
            self.error_pattern: re.Pattern[str] | None = re.compile(error_pattern)
        except re.error:
            self.error_pattern = None
        self._on_close = on_close
        self._many = len(names) > 1

    def compose(self) -> ComposeResult:
        yield Static("", id="logs-header")
        yield Static("", id="logs-problem")
        yield Input(placeholder="filter: text, or re:PATTERN", id="logs-filter")
        yield RichLog(id="logs-view", wrap=False, markup=False, highlight=False, max_lines=None)
        yield Footer()

    def on_mount(self) -> None:
        self._header()
        self.query_one("#logs-view", RichLog).focus()

    # -- lines in --------------------------------------------------------------------------------

    @on(LogLinesArrived)
    def _arrived(self, message: LogLinesArrived) -> None:
        view = self.query_one("#logs-view", RichLog)
        overflow = len(self.lines) + len(message.lines) > MAX_LINES
        self.lines.extend(message.lines)
        if overflow:
            self._rewrite()
        else:
            for line in message.lines:
                if self._passes(line):
                    self.shown.append(line)
                    view.write(self._line_text(line), scroll_end=self.follow)
        self._header()

    @on(LogProblem)
    def _problem(self, message: LogProblem) -> None:
        problem = self.query_one("#logs-problem", Static)
        problem.update(inert(message.text, max_len=400))
        problem.set_class(bool(message.text), "-shown")

    def _passes(self, line: LogLine) -> bool:
        return self.filter is None or bool(self.filter.search(line.text))

    def _line_text(self, line: LogLine) -> Text:
        out = Text()
        if self._many:
            out.append_text(inert(line.container, single_line=True, max_len=24, style="cyan"))
            out.append(" | ", style="dim")
        if line.ts:
            out.append(line.ts[11:19] + " ", style="dim")
        out.append(
            "ERR " if line.stream == STDERR else "out ",
            style="bold red" if line.stream == STDERR else "dim",
        )
        out.append_text(inert(line.text, single_line=True, max_len=MAX_LINE_LEN))
        return out

    def _rewrite(self) -> None:
        view = self.query_one("#logs-view", RichLog)
        view.clear()
        self.shown = [line for line in self.lines if self._passes(line)]
        for line in self.shown:
            view.write(self._line_text(line), scroll_end=False)
        if self.follow:
            view.scroll_end(animate=False)

    def _header(self) -> None:
        text = Text("Logs of ", style="bold")
        text.append_text(inert(self.logs_title, single_line=True, max_len=60, style="bold"))
        if self._many:
            text.append(f" ({len(self.names)} containers)")
        text.append(f"  ·  {len(self.shown)}/{len(self.lines)} lines")
        text.append("  ·  following" if self.follow else "  ·  paused (f)", style="dim")
        if self.error_pattern is not None:
            rate = error_rate(list(self.lines), self.error_pattern, time.time())
            style = "bold red" if rate else "green"
            text.append(f"  ·  errors/min: {rate:.0f}", style=style)
        self.query_one("#logs-header", Static).update(text)

    # -- keys ------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        self.query_one("#logs-filter", Input).focus()

    @on(Input.Changed, "#logs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        try:
            self.filter = compile_filter(event.value)
        except FilterError as exc:
            self._problem(LogProblem(str(exc)))
            return
        self._problem(LogProblem(""))
        self._rewrite()
        self._header()

    @on(Input.Submitted, "#logs-filter")
    def _filter_done(self) -> None:
        self.query_one("#logs-view", RichLog).focus()

    def action_toggle_follow(self) -> None:
        self.follow = not self.follow
        view = self.query_one("#logs-view", RichLog)
        view.auto_scroll = self.follow
        if self.follow:
            view.scroll_end(animate=False)
        self._header()

    def action_first_error(self) -> None:
        if self.error_pattern is None:
            return
        index = first_error(self.shown, self.error_pattern)
        if index is None:
            self.notify("No error lines", timeout=2)
            return
        self.follow = False
        view = self.query_one("#logs-view", RichLog)
        view.auto_scroll = False
        view.scroll_to(y=index, animate=False)
        self._header()

    def action_close(self) -> None:
        self.dismiss(None)

    def on_unmount(self) -> None:
        if self._on_close is not None:
            self._on_close()
