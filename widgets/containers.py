"""Containers pane: every container, problems first, grouped by Compose project/service.

Names, images, labels and ports come from the Engine and are outside text: every one goes through
:func:`~zconsole.widgets.text.inert`. Problems are written as words (UNHEALTHY, RESTARTING,
EXITED 1, OOM-KILLED) as well as coloured. Mitigation keys post :class:`MitigationRequested`; the
logs keys post :class:`~zconsole.widgets.messages.ContainerLogsRequested`; the app does the
rest (this widget does no I/O).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import DataTable, Input, Static

from zconsole.checks.base import Status
from zconsole.checks.container_logs import parse_engine_time
from zconsole.checks.units import human_bytes
from zconsole.widgets.format import STATUS_STYLE, human_duration
from zconsole.widgets.messages import ContainerLogsRequested, MitigationRequested
from zconsole.widgets.pane import Block, Pane
from zconsole.widgets.quiet import set_border_title, show
from zconsole.widgets.table import Column, Table
from zconsole.widgets.text import inert, plain

if TYPE_CHECKING:
    from zconsole.checks.docker import ContainerInfo, DockerData

STATE_STYLE = {
    "running": "green",
    "restarting": "bold red",
    "exited": "yellow",
    "dead": "bold red",
    "paused": "cyan",
    "created": "dim",
}
# "unhealthy" carries a background so that it stays readable under NO_COLOR (see STATUS_STYLE).
HEALTH_STYLE = {"healthy": "green", "unhealthy": "bold white on red", "starting": "yellow"}

#: Sort orders the ``s`` key cycles through (the first is the check's: problems first).
SORTS = ("problems", "name", "cpu", "memory", "restarts")

#: By priority (lower kept longer as the pane narrows): what is wrong, which container, its
#: state and for how long; then the details.
TABLE_COLUMNS = (
    Column("problem", 0),
    Column("project/service", 6),
    Column("name", 1),
    Column("state", 2),
    Column("health", 4),
    Column("restarts", 5),
    Column("exit", 7),
    Column("since", 3),
    Column("CPU", 8),
    Column("memory", 9),
    Column("image", 10, shrink_to=12),
    Column("ports", 11, shrink_to=12),
)
COLUMNS = tuple(c.label for c in TABLE_COLUMNS)
#: Rows the table is sure of before the event lines get one.
TABLE_ROWS_FIRST = 12


def since_text(c: ContainerInfo, now: datetime | None = None) -> str:
    """ "up 3m" for a running container, "5m ago" for a stopped one."""
    now = now or datetime.now(UTC)
    if c.state in ("running", "paused", "restarting"):
        started = parse_engine_time(c.started_at)
        if started is None:
            return "–"
        return f"up {human_duration((now - started).total_seconds())}"
    finished = parse_engine_time(c.finished_at)
    if finished is None:
        return "never started" if c.state == "created" else "–"
    return f"{human_duration((now - finished).total_seconds())} ago"


def problem_cell(c: ContainerInfo) -> Text:
    status: Status = c.status
    if not c.problem:
        return Text(f"{status.symbol} ok", style=STATUS_STYLE[status])
    return Text(f"{status.symbol} {c.problem}", style=STATUS_STYLE[status])


def memory_text(c: ContainerInfo) -> str:
    if c.mem_bytes is None:
        return "–"
    if c.mem_limit_bytes and c.mem_limit_bytes < 1 << 50:
        pct = c.mem_bytes / c.mem_limit_bytes * 100
        return f"{human_bytes(c.mem_bytes)}/{human_bytes(c.mem_limit_bytes)} {pct:.0f}%"
    return human_bytes(c.mem_bytes)


def matches(c: ContainerInfo, needle: str) -> bool:
    """Case-insensitive substring filter over name, group, image, state, health and problem."""
    if not needle:
        return True
    haystack = " ".join((c.name, c.group, c.image, c.state, c.health, c.problem, c.id[:12])).lower()
    return needle.lower() in haystack


def ordered(containers: tuple[ContainerInfo, ...], sort: str) -> list[ContainerInfo]:
    items = list(containers)  # already problems first, then project/service, then name
    if sort == "name":
        items.sort(key=lambda c: c.name)
    elif sort == "cpu":
        items.sort(key=lambda c: -(c.cpu_percent or 0.0))
    elif sort == "memory":
        items.sort(key=lambda c: -(c.mem_bytes or 0))
    elif sort == "restarts":
        items.sort(key=lambda c: -c.restart_count)
    return items


class ContainersPane(Pane):
    """Containers of one Docker Engine."""

    DEFAULT_CSS = """
    ContainersPane #docker-filter {
        dock: bottom; height: 1; border: none; padding: 0 1; display: none;
    }
    ContainersPane #docker-filter.-shown { display: block; }
    ContainersPane #docker-events { color: $text-muted; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "filter", "Filter"),
        Binding("escape", "clear_filter", "Clear filter", show=False),
        Binding("o", "cycle_sort", "Sort"),
        Binding("l", "logs(False)", "Logs"),
        Binding("L", "logs(True)", "Service logs"),
        Binding("R", "mitigate('restart')", "Restart"),
        Binding("A", "mitigate('restart_service')", "Restart service"),
        Binding("S", "mitigate('stop')", "Stop"),
        Binding("U", "mitigate('start')", "Start"),
        Binding("K", "mitigate('kill')", "Kill"),
        Binding("X", "mitigate('remove')", "Remove"),
        Binding("P", "pause_toggle", "Pause/unpause"),
    ]

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(source, title, id=id, classes=classes)
        self.data: DockerData | None = None
        self.filter_text = ""
        self.sort = SORTS[0]
        self._rows: dict[str, ContainerInfo] = {}

    def compose_body(self) -> ComposeResult:
        yield Static("", id="docker-events")
        yield Table(id="docker-table", cursor_type="row", columns=TABLE_COLUMNS)
        # After the table (focusing the pane lands on the table); docked at the bottom like a
        # pager's search line; disabled while hidden.
        yield Input(
            placeholder="filter: name, service, image, state…", id="docker-filter", disabled=True
        )

    def blocks(self) -> list[Block]:
        """The containers first, then the engine's latest events."""
        table = self.query_one("#docker-table", Table)
        events = self.query_one("#docker-events", Static).content
        lines = len(events.plain.splitlines()) if isinstance(events, Text) else 0
        return [
            Block(table, min(table.row_count, TABLE_ROWS_FIRST) + 1, table.row_count + 1, True),
            Block(self.query_one("#docker-events"), 1 if lines else 0, lines),
        ]

    # -- data in ---------------------------------------------------------------------------------

    def render_data(self, data: Any) -> None:
        self.data = data
        self._render_events()
        self._render_table()

    def _render_events(self) -> None:
        data = self.data
        line = Text()
        if data is not None:
            if data.stats_pending:
                line.append(f"CPU and memory pending for {data.stats_pending} containers\n", "dim")
            for event in data.events[-2:]:
                line.append(f"{event.at[11:19]} ", style="dim")
                line.append_text(inert(event.text, single_line=True, max_len=100))
                line.append("\n")
        line.rstrip()
        show(self.query_one("#docker-events", Static), line)

    def _render_table(self) -> None:
        data = self.data
        if data is None:
            return
        table = self.query_one("#docker-table", Table)
        self._rows = {}
        now = self.clock()
        previous_group: str | None = None
        shown = [c for c in ordered(data.containers, self.sort) if matches(c, self.filter_text)]
        rows: list[tuple[Text | str, ...]] = []
        for c in shown:
            group = c.group or "(no compose)"
            group_cell = (
                inert(group, single_line=True, max_len=28, style="bold")
                if group != previous_group or c.problem
                else Text("  ″", style="dim")
            )
            previous_group = None if c.problem else group
            rows.append(
                (
                    problem_cell(c),
                    group_cell,
                    inert(c.name, single_line=True, max_len=40),
                    Text(c.state, style=STATE_STYLE.get(c.state, "")),
                    Text(c.health or "–", style=HEALTH_STYLE.get(c.health, "dim")),
                    Text(str(c.restart_count), style="bold red" if c.restart_count else "dim"),
                    Text(
                        "–" if c.exit_code is None else str(c.exit_code),
                        style="bold red" if c.exit_code else "",
                    ),
                    since_text(c, now),
                    "–" if c.cpu_percent is None else f"{c.cpu_percent:.1f}%",
                    memory_text(c),
                    inert(c.image, single_line=True, max_len=40),
                    inert(", ".join(c.ports) or "–", single_line=True, max_len=40),
                )
            )
            self._rows[c.id] = c
        table.fill(rows, keys=[c.id for c in shown])
        self.fit()  # a filter shows fewer rows
        set_border_title(
            self,
            f"{self.title} · {len(shown)}/{len(data.containers)} · sort: {self.sort}"
            if self.filter_text or self.sort != SORTS[0]
            else self.title,
        )

    # -- selection -------------------------------------------------------------------------------

    def selected_record(self) -> ContainerInfo | None:
        table = self.query_one("#docker-table", DataTable)
        if not table.row_count:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except Exception:  # noqa: BLE001 - cursor outside the rows while the table rebuilds
            return None
        return self._rows.get(str(key.value)) if key.value is not None else None

    # -- keys ------------------------------------------------------------------------------------

    def action_filter(self) -> None:
        box = self.query_one("#docker-filter", Input)
        box.disabled = False
        box.add_class("-shown")
        # Focus once it is enabled and shown (a disabled widget refuses focus).
        self.call_after_refresh(box.focus)

    @on(Input.Changed, "#docker-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._render_table()

    @on(Input.Submitted, "#docker-filter")
    def _filter_done(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self.action_clear_filter()
        self.query_one("#docker-table", DataTable).focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#docker-filter", Input)
        if box.has_class("-shown") or self.filter_text:
            box.value = ""
            box.remove_class("-shown")
            box.disabled = True
            self.filter_text = ""
            self._render_table()
            self.query_one("#docker-table", DataTable).focus()

    def action_cycle_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._render_table()

    def action_mitigate(self, name: str) -> None:
        record = self.selected_record()
        if record is None:
            self.notify("Select a container first", severity="warning", timeout=3)
            return
        self.post_message(MitigationRequested(self.source, name, record))

    def action_pause_toggle(self) -> None:
        record = self.selected_record()
        self.action_mitigate(
            "unpause" if record is not None and record.state == "paused" else "pause"
        )

    def action_logs(self, service: bool) -> None:
        record = self.selected_record()
        if record is None:
            self.notify("Select a container first", severity="warning", timeout=3)
            return
        members: tuple[ContainerInfo, ...] = (record,)
        if service and record.compose_service and self.data is not None:
            members = tuple(
                c
                for c in self.data.containers
                if c.compose_project == record.compose_project
                and c.compose_service == record.compose_service
            )
        title = record.group if service and record.compose_service else record.name
        self.post_message(
            ContainerLogsRequested(
                title=title,
                container_ids=tuple(c.id for c in members),
                names=tuple(c.name for c in members),
            )
        )

    def selected_text(self) -> str | None:
        record = self.selected_record()
        if record is None:
            return super().selected_text()
        parts = [record.name, record.state]
        if record.health:
            parts.append(record.health)
        if record.problem:
            parts.append(record.problem)
        parts.append(f"restarts={record.restart_count}")
        if record.exit_code is not None:
            parts.append(f"exit={record.exit_code}")
        parts.append(f"image={record.image}")
        return plain(" · ".join(parts), max_len=400)
