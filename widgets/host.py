"""Host pane: gauges with 10-minute sparklines, pressure and OOM kills, disks, top processes.

Keys: ``f`` finds what is big on the selected disk (a scan); ``t``/``K`` terminate/kill the selected
process; ``d`` Docker prune, ``j`` journald vacuum, ``l`` delete old logs (each previewed and
confirmed by the action layer); ``o`` sorts processes by CPU or memory; ``v`` switches between
the disks and the processes where the pane is too short for both (80x24).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Static

from zconsole.checks.base import Status
from zconsole.checks.units import human_bytes
from zconsole.widgets.format import STATUS_STYLE, bar, human_duration
from zconsole.widgets.messages import DiskScanRequested, MitigationRequested
from zconsole.widgets.pane import FRAME_ROWS, Block, Pane
from zconsole.widgets.quiet import show
from zconsole.widgets.table import Column, Table
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.host import Disk, HostData, Pressure, ProcessInfo

_BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline(values: Sequence[float], width: int, top: float = 100.0) -> str:
    """Block-character sparkline of ``values`` (0..top), bucketed to ``width`` (max per bucket)."""
    if not values or width <= 0:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [
            max(values[int(i * step) : max(int((i + 1) * step), int(i * step) + 1)])
            for i in range(width)
        ]
    scale = len(_BLOCKS) - 1
    return "".join(
        _BLOCKS[max(1 if v > 0 else 0, min(scale, round(v / top * scale)))] if top else " "
        for v in values
    )


def _path(path: str, width: int) -> Text:
    """A mount path cut from the left: the tail says which mount it is."""
    if len(path) > width:
        path = "…" + path[-(width - 1) :]
    return inert(path, single_line=True)


def _rate(n: float | None) -> str:
    return "–" if n is None else f"{human_bytes(n)}/s"


def _growth(bps: float | None) -> str:
    if bps is None:
        return "–"
    sign = "+" if bps >= 0 else "-"
    return f"{sign}{human_bytes(abs(bps))}/s" if abs(bps) >= 1 else "flat"


def _pressure(p: Pressure | None) -> str:
    if p is None:
        return "PSI n/a"

    def one(v: float | None) -> str:
        return "–" if v is None else f"{v:.0f}"

    return (
        f"PSI cpu {one(p.cpu_some)}/{one(p.cpu_full)}"
        f" mem {one(p.memory_some)}/{one(p.memory_full)}"
        f" io {one(p.io_some)}/{one(p.io_full)}"
    )


#: By priority (lower kept longer): which disk, how full, when full; which process, how busy.
DISK_COLUMNS = (
    Column("mount", 0),
    Column("used", 1),
    Column("size", 4),
    Column("inode", 5),
    Column("10 min", 6),
    Column("growth", 3),
    Column("full in", 2),
)
PROCESS_COLUMNS = (
    Column("pid", 3),
    Column("name", 0),
    Column("cpu%", 1),
    Column("rss", 2),
    Column("container", 4),
)
#: The gauges: CPU, memory, swap and pressure, I/O.
GAUGE_LINES = 4
#: Below this many rows inside its border the pane shows one table at a time ("v" switches).
SHORT_BELOW = 15


class HostPane(Pane):
    """The machine itself."""

    DEFAULT_CSS = """
    HostPane #host-gauges { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    HostPane #host-tables { height: 1fr; }
    HostPane #host-disks { height: 1fr; width: 1fr; min-height: 3; }
    HostPane #host-procs { height: 1fr; width: 1fr; min-height: 3; }
    HostPane.-narrow #host-tables { layout: vertical; }
    HostPane.-narrow #host-disks { height: auto; max-height: 6; }
    /* Too short for both tables (80x24): one at a time, "v" switches. */
    HostPane.-short #host-disks { height: 1fr; max-height: 100%; }
    HostPane.-short.-view-disks #host-procs { display: none; }
    HostPane.-short.-view-procs #host-disks { display: none; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "scan", "Find big dirs"),
        Binding("t", "signal('terminate')", "Terminate"),
        Binding("K", "signal('kill')", "Kill", show=False),
        Binding("o", "sort", "Sort CPU/mem", show=False),
        Binding("v", "switch_view", "Disks/procs"),
        Binding("d", "free('docker_prune')", "Docker prune", show=False),
        Binding("j", "free('journal_vacuum')", "Vacuum journal", show=False),
        Binding("l", "free('delete_old_logs')", "Delete old logs", show=False),
    ]

    def __init__(
        self, source: str, title: str, *, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(source, title, id=id, classes=classes)
        self.sort_by = "cpu"
        self._disks: list[Disk] = []
        self._procs: list[ProcessInfo] = []
        self._data: HostData | None = None
        #: Which table a short pane shows; chosen from the data until the user switches.
        self.view = "disks"
        self._view_chosen = False

    def compose_body(self) -> ComposeResult:
        yield Static("", id="host-gauges")
        with Horizontal(id="host-tables"):
            yield Table(id="host-disks", cursor_type="row", columns=DISK_COLUMNS)
            yield Table(id="host-procs", cursor_type="row", columns=PROCESS_COLUMNS)

    def blocks(self) -> list[Block]:
        """The tables first (a few rows each), then the gauges' second lines."""
        disks = len(self._disks) + 1
        procs = len(self._procs) + 1
        # Stacked (a pane under 100 columns) they want more rows than side by side. What the
        # pane wants must not depend on the width its place gives it (or placing the panes
        # could go round in circles), so it asks for the stacked rows.
        tables = min(disks, 6) + procs
        return [
            Block(self.query_one("#host-gauges"), 2, GAUGE_LINES),
            Block(self.query_one("#host-tables"), min(tables, 7), tables, grows=True),
        ]

    def wanted_height(self) -> int | None:
        wanted = super().wanted_height()
        # Enough for both tables, else it shows one at a time.
        return None if wanted is None else max(wanted, FRAME_ROWS + SHORT_BELOW)

    def on_resize(self) -> None:
        self.set_class(self.size.width < 100, "-narrow")
        self.set_class(self.size.height < SHORT_BELOW, "-short")
        self._apply_view()
        self.fit()

    def _apply_view(self) -> None:
        self.set_class(self.view == "disks", "-view-disks")
        self.set_class(self.view == "procs", "-view-procs")

    def action_switch_view(self) -> None:
        self.view = "procs" if self.view == "disks" else "disks"
        self._view_chosen = True
        self._apply_view()
        table = self.query_one("#host-disks" if self.view == "disks" else "#host-procs")
        if self.has_focus_within:
            table.focus()

    # -- rendering ----------------------------------------------------------------------------

    def render_data(self, data: Any) -> None:
        host: HostData = data
        self._data = host
        if not self._view_chosen:
            # A short pane shows the disks when one is in trouble, else the processes.
            troubled = any(d.status.rank >= Status.WARN.rank for d in host.disks)
            self.view = "disks" if troubled else "procs"
            self._apply_view()
        show(self.query_one("#host-gauges", Static), self._gauges(host))
        self._render_disks(host)
        self._render_procs(host)

    def _gauges(self, host: HostData) -> Text:
        width = max(self.content_size.width, 40)
        g = Text()

        def line(head: Text, history: Sequence[float], style: str) -> None:
            # The 10-minute sparkline takes whatever width the numbers leave (8 to 40 cells).
            room = min(40, width - head.cell_len - 1)
            g.append_text(head)
            if room >= 8:
                g.append(" " + sparkline(history, room), style=style)
            g.append("\n")

        cpu = Text(f"CPU  {bar(host.cpu_percent, 8)} {host.cpu_percent:5.1f}%  load ")
        per_load = host.load[0] / max(host.cores, 1)
        load_style = "bold red" if per_load >= 3 else "yellow" if per_load >= 1.5 else ""
        cpu.append(" ".join(f"{v:.2f}" for v in host.load), style=load_style)
        cpu.append(f" /{host.cores} ")
        cpu.append(sparkline(host.per_core, min(len(host.per_core), 16)), style="dim cyan")
        line(cpu, host.history.cpu, "cyan")
        mem = host.memory
        line(
            Text(
                f"MEM  {bar(mem.percent, 8)} {mem.percent:5.1f}%  {human_bytes(mem.used)} used"
                f" {human_bytes(mem.available)} avail {human_bytes(mem.cached)} cache"
            ),
            host.history.memory,
            "magenta",
        )
        if host.swap.total:
            g.append(f"SWAP {host.swap.percent:.0f}% {human_bytes(host.swap.used)} · ")
        else:
            g.append("SWAP none · ")
        g.append(_pressure(host.pressure))
        g.append(" · OOM ")
        if host.oom_kills is None:
            g.append("n/a")
        else:
            g.append(str(host.oom_kills))
            if host.oom_kills_new:
                g.append(f" +{host.oom_kills_new} new", style="bold red")
        g.append("\n")
        io = host.io
        if io is not None:
            g.append(f"I/O r {_rate(io.read_bps)} w {_rate(io.write_bps)} · ")
        g.append(f"{host.process_count} procs · up {human_duration(host.uptime_s)}", "dim")
        return g

    def _render_disks(self, host: HostData) -> None:
        table = self.query_one("#host-disks", Table)
        self._disks = list(host.disks)
        rows: list[tuple[Text | str, ...]] = []
        for disk in host.disks:
            status: Status = disk.status
            style = STATUS_STYLE[status] if status is not Status.OK else ""
            if disk.hanging:
                used = Text(f"hanging {human_duration(disk.hanging_s)}", style="bold red")
            elif disk.error:
                used = inert(disk.error, single_line=True, max_len=24, style="dim")
            else:
                used = Text(f"{bar(disk.percent, 5)} {disk.percent:4.1f}%", style=style)
            eta = "–" if disk.full_eta_s is None else f"~{human_duration(disk.full_eta_s)}"
            rows.append(
                (
                    _path(disk.mount, 24),
                    used,
                    human_bytes(disk.total) if disk.total else "–",
                    "–" if disk.inodes_percent is None else f"{disk.inodes_percent:.0f}%",
                    Text(sparkline(host.history.disks.get(disk.mount, ()), 10), style="cyan"),
                    _growth(disk.growth_bps),
                    Text(eta, style=style if disk.full_eta_s is not None else "dim"),
                )
            )
        table.fill(rows)

    def _render_procs(self, host: HostData) -> None:
        table = self.query_one("#host-procs", Table)
        if self.sort_by == "cpu":
            procs = sorted(host.top_processes, key=lambda p: p.cpu_percent, reverse=True)
        else:
            procs = sorted(host.top_processes, key=lambda p: p.rss_bytes, reverse=True)
        self._procs = procs
        rows = [
            (
                str(proc.pid),
                inert(proc.name, single_line=True, max_len=20),
                Text(f"{proc.cpu_percent:.0f}", justify="right"),
                Text(human_bytes(proc.rss_bytes), justify="right"),
                inert(proc.container or "", single_line=True, max_len=20, style="cyan"),
            )
            for proc in procs
        ]
        table.fill(rows)

    # -- selection and keys -------------------------------------------------------------------

    def selected_disk(self) -> Disk | None:
        table = self.query_one("#host-disks", DataTable)
        if not self._disks or table.cursor_row >= len(self._disks):
            return None
        return self._disks[max(table.cursor_row, 0)]

    def selected_process(self) -> ProcessInfo | None:
        table = self.query_one("#host-procs", DataTable)
        if not self._procs or table.cursor_row >= len(self._procs):
            return None
        return self._procs[max(table.cursor_row, 0)]

    def selected_record(self) -> Disk | ProcessInfo | None:
        """The row of the table with focus; without focus, of the table in view."""
        procs = self.query_one("#host-procs", DataTable)
        disks = self.query_one("#host-disks", DataTable)
        if procs.has_focus or (not disks.has_focus and self.view == "procs"):
            return self.selected_process()
        return self.selected_disk()

    def action_scan(self) -> None:
        disk = self.selected_disk()
        if disk is None:
            self.notify("No disk selected", severity="warning")
            return
        if disk.hanging:
            self.notify(f"{disk.mount} is hanging; not scanning it", severity="warning")
            return
        self.post_message(DiskScanRequested(disk.mount))

    def action_signal(self, name: str) -> None:
        # The same record the `a` menu acts on: a process only while the processes have focus
        # (or are the table in view).
        proc = self.selected_record()
        if proc is None or proc is not self.selected_process():
            self.notify("Select a process first", severity="warning")
            return
        self.post_message(MitigationRequested(self.source, name, proc))

    def action_free(self, name: str) -> None:
        self.post_message(MitigationRequested(self.source, name, self.selected_disk()))

    def action_sort(self) -> None:
        self.sort_by = "memory" if self.sort_by == "cpu" else "cpu"
        if self._data is not None:
            self._render_procs(self._data)
        self.notify(f"Processes sorted by {self.sort_by}", timeout=2)
