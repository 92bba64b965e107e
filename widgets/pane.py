"""The base of every source pane: title, status word, summary, error with stale age, body.

A pane is drawn as a box, or, while it is OK and another pane needs the rows (or its source is
not configured), as one line: title, status word and summary, or the hint. Inside the box the
body's blocks share its rows by priority (:meth:`Pane.blocks`): the main table gets its rows
before the secondary blocks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import DataTable, Static

from zconsole.checks.base import CheckResult, Status, now_utc
from zconsole.widgets.format import STATUS_STYLE, human_duration
from zconsole.widgets.messages import PinRequested
from zconsole.widgets.quiet import changed, set_border_subtitle, show
from zconsole.widgets.text import inert

#: Rows a pane's frame takes: its border, top and bottom.
FRAME_ROWS = 2


@dataclass(frozen=True, slots=True)
class Block:
    """A part of a pane's body and the rows it takes: at least ``least`` (else it is hidden),
    up to ``want``; the pane's spare rows go to the block that ``grows``."""

    widget: Widget
    least: int
    want: int
    grows: bool = False


def share_rows(height: int, blocks: Sequence[Block]) -> list[int]:
    """Rows for each of ``blocks`` (in priority order) out of ``height`` (pure).

    First every block, by priority, gets its least rows if they fit (a block that does not
    fit is hidden, and a smaller one after it may still fit; the block that grows takes what
    is left rather than hide); then, by priority again, each
    grows towards what it wants; rows left over go to the block that grows.
    """
    given = [0] * len(blocks)
    left = height
    for index, block in enumerate(blocks):
        if 0 < block.least <= left:
            given[index] = block.least
            left -= block.least
        elif block.least and block.grows:
            # The main table is never hidden for want of rows (a hidden table loses the
            # focus, and the cursor the responder was on): it takes what there is.
            given[index] = left
            left = 0
    for index, block in enumerate(blocks):
        if given[index]:
            more = min(block.want - given[index], left)
            if more > 0:
                given[index] += more
                left -= more
    for index, block in enumerate(blocks):
        if given[index] and block.grows:
            given[index] += left
            break
    return given


class PaneBody(Vertical):
    """The pane's own widgets; shares its rows among them when its size changes."""

    DEFAULT_CSS = """
    PaneBody { height: 1fr; }
    """

    def on_resize(self) -> None:
        pane = self.parent
        if isinstance(pane, Pane):
            pane.fit()


class Pane(Vertical):
    """One source. Subclasses compose a body and implement :meth:`render_data`."""

    class NeedChanged(Message):
        """The pane's status or the rows it could fill changed: it may need another place."""

    DEFAULT_CSS = """
    Pane {
        border: round $foreground 30%;
        border-title-style: bold;
        height: 1fr;
        padding: 0 1;
    }
    Pane:focus-within { border: round $accent; }
    Pane.-warn { border: round $warning; }
    Pane.-crit, Pane.-error { border: heavy $error; }
    Pane > .pane--summary { height: auto; max-height: 2; }
    Pane > .pane--problem { height: auto; max-height: 3; color: $error; display: none; }
    Pane > .pane--problem.-shown { display: block; }
    Pane > .pane--hint { color: $text-muted; height: auto; display: none; }
    Pane.-unconfigured > .pane--hint { display: block; }
    Pane DataTable { height: 1fr; }
    Pane > .pane--line { display: none; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    /* One line: title, status and summary (or the hint); everything else waits for room. */
    Pane.-line, Pane.-line:focus-within, Pane.-line.-warn, Pane.-line.-crit, Pane.-line.-error {
        border: none; padding: 0 1; height: 1;
    }
    Pane.-line > .pane--summary, Pane.-line > .pane--problem.-shown, Pane.-line > .pane--hint,
    Pane.-line > PaneBody { display: none; }
    Pane.-line > .pane--line { display: block; }
    """

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(id=id or f"pane-{source}", classes=classes)
        #: The check name this pane renders ("host", "docker", ...) and its title, both from
        #: the source's entry in the registry (``zconsole/registry.py``).
        self.source = source
        self.title = title
        self.result: CheckResult | None = None
        self._drawn_data: object | None = None
        self.border_title = self.title
        #: Wall clock for ages computed from now ("up 3m"); the app injects its own (fixed in
        #: screen snapshot tests).
        self.clock: Callable[[], datetime] = now_utc

    def compose(self) -> ComposeResult:
        yield Static(Text("waiting for first data…", style="dim"), classes="pane--summary")
        yield Static("", classes="pane--problem")
        yield Static("", classes="pane--hint")
        yield Static(
            Text.assemble((self.title, "bold"), ("  waiting for first data…", "dim")),
            classes="pane--line",
        )
        with PaneBody(classes="pane--body"):
            yield from self.compose_body()

    def compose_body(self) -> ComposeResult:
        """The pane's own widgets (tables, bars). Default: nothing."""
        yield from ()

    # -- data in -------------------------------------------------------------------------------

    def show_result(self, result: CheckResult) -> None:
        """Render a new result: status, summary, error and stale age, then the data."""
        self.result = result
        latest = result.latest
        # One restyle of the pane for all its classes (each set_class restyles the subtree).
        classes = {f"-{status.value}": latest.status is status for status in Status}
        classes["-unconfigured"] = not latest.configured
        self.update_classes(classes)
        summary = self.query_one(".pane--summary", Static)
        problem = self.query_one(".pane--problem", Static)
        hint = self.query_one(".pane--hint", Static)
        if not latest.configured:
            show(summary, Text("not configured", style="dim"))
            show(hint, inert(latest.summary.removeprefix("not configured — "), style="italic"))
        elif latest.error is None:
            show(summary, inert(latest.summary, single_line=True))
        problem.set_class(latest.error is not None, "-shown")
        if latest.error is not None:
            show(problem, inert(latest.error, max_len=400))
        self._update_subtitle()
        show(self.query_one(".pane--line", Static), self._line(result))
        data_snapshot = latest if latest.ok_data else result.last_good
        # A failing source re-sends its last good data with every poll: drawing the same
        # tables again would only cost CPU on a server that is already in trouble.
        if (
            data_snapshot is not None
            and data_snapshot.data is not None
            and data_snapshot.data is not self._drawn_data
        ):
            self._drawn_data = data_snapshot.data
            self.render_data(data_snapshot.data)
            self.fit()
        elif changed(self, "verdict", (latest.configured, latest.status, latest.error is None)):
            self.fit()  # the same data, but perhaps another place on the screen

    def render_data(self, data: Any) -> None:
        """Draw the typed data of a good snapshot (possibly stale). Subclasses override."""

    def on_descendant_focus(self) -> None:
        # The pane the responder works in stays whole (see widgets/layout.py: need_of).
        self.fit()

    def on_descendant_blur(self) -> None:
        self.fit()

    # -- rows ----------------------------------------------------------------------------------

    def blocks(self) -> list[Block]:
        """The body's parts in priority order, for :func:`share_rows`. Default: none (the body's
        widgets keep their own CSS heights)."""
        return []

    def wanted_height(self) -> int | None:
        """Rows this pane could fill with what it shows now; None: any number."""
        blocks = self.blocks()
        if not blocks or self.result is None:
            return None  # nothing shown yet: no telling
        head = 1
        if self.result is not None:
            latest = self.result.latest
            head = 2 if len(latest.summary) > 90 else 1
            if latest.error is not None:
                head += min(3, 1 + len(latest.error) // 90)
        return FRAME_ROWS + head + sum(b.want for b in blocks)

    def fit(self) -> None:
        """Share the body's rows among its blocks; only a changed share touches a widget.

        Also tells the pane area when this pane's status or the rows it could fill changed.
        """
        blocks = self.blocks()
        latest = self.result.latest if self.result is not None else None
        need = (
            latest.configured if latest else None,
            latest.status if latest else None,
            latest.error is not None if latest else None,
            self.has_focus_within,
            self.wanted_height(),
        )
        if changed(self, "need", need):
            self.post_message(self.NeedChanged())
        body = self.query_one(PaneBody)
        if not blocks or body.size.height <= 0:
            return
        rows = share_rows(body.size.height, blocks)
        shares = tuple((id(b.widget), n) for b, n in zip(blocks, rows, strict=True))
        if not changed(self, "rows", shares):
            return
        for block, height in zip(blocks, rows, strict=True):
            block.widget.display = height > 0
            if height:
                block.widget.styles.height = height

    def _line(self, result: CheckResult) -> Text:
        """The pane as one line: title, status word, then the summary or the hint."""
        latest = result.latest
        line = Text(self.title, style="bold")
        if not latest.configured:
            line.append("  ? not configured — ", style="dim")
            line.append_text(
                inert(latest.summary.removeprefix("not configured — "), single_line=True)
            )
            return line
        line.append("  ")
        line.append(
            f"{latest.status.symbol} {latest.status.value.upper()}",
            style=STATUS_STYLE[latest.status],
        )
        line.append("  ")
        line.append_text(inert(latest.error or latest.summary, single_line=True))
        return line

    def tick(self) -> None:
        """Called every second by the app so "stale 14 s" keeps counting."""
        result = self.result
        # Only a failing poll's subtitle shows an age; any other is redrawn by its poll.
        if result is not None and result.latest.configured and result.latest.error is not None:
            self._update_subtitle()

    def _update_subtitle(self) -> None:
        result = self.result
        if result is None:
            return
        # Called every second: only a changed subtitle repaints the pane.
        set_border_subtitle(self, self._subtitle(result))

    def _subtitle(self, result: CheckResult) -> Text:
        latest = result.latest
        if not latest.configured:
            return Text("? not configured", style="dim")
        parts = Text(
            f"{latest.status.symbol} {latest.status.value.upper()}",
            style=STATUS_STYLE[latest.status],
        )
        if latest.error is not None:
            stale = result.stale_for(time.monotonic())
            parts.append(" · ")
            parts.append(f"stale {human_duration(stale)}" if stale is not None else "no data yet")
        else:
            parts.append(f" · {latest.duration_ms:.0f} ms", style="dim")
        return parts

    # -- what a pane offers the app (the key path and the `a` menu ask the same way) ------------

    def selected_record(self) -> object | None:
        """The record under the cursor (a container, a session, a process …): what a
        mitigation or a runbook action acts on. Default: none."""
        return None

    # -- pin -----------------------------------------------------------------------------------

    def selected_text(self) -> str | None:
        """Plain text of the selected row, for the pin key. Default: the focused table's row."""
        for table in self.query(DataTable):
            if table.has_focus and table.row_count:
                row = table.get_row_at(table.cursor_row)
                header = [str(c.label) for c in table.columns.values()]
                cells = [c.plain if isinstance(c, Text) else str(c) for c in row]
                return " · ".join(
                    f"{h}={v}" if h else v for h, v in zip(header, cells, strict=False)
                )
        if self.result is not None:
            return f"{self.title}: {self.result.latest.summary}"
        return None

    def request_pin(self) -> None:
        text = self.selected_text()
        if text:
            self.post_message(PinRequested(self.source, text))
