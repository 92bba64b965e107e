"""Host pane: CPU, load, memory, swap and disks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import DataTable, Static
from zconsole.checks.base import Status
from zconsole.widgets.format import STATUS_STYLE, bar, human_bytes, human_duration
from zconsole.widgets.pane import Pane
from zconsole.widgets.text import inert

if TYPE_CHECKING:
    from zconsole.checks.host import HostData


class HostPane(Pane):
    """The machine itself."""

    source: ClassVar[str] = "host"
    title: ClassVar[str] = "Host"

    def compose_body(self) -> ComposeResult:
        yield Static("", id="host-gauges")
        table: DataTable[Any] = DataTable(id="host-disks", cursor_type="row", zebra_stripes=False)
        table.add_columns("mount", "used", "size", "inodes", "status")
        yield table

    def render_data(self, data: Any) -> None:
        host: HostData = data
        gauges = Text()
        gauges.append(f"CPU  {bar(host.cpu_percent)} {host.cpu_percent:5.1f}%")
        load = " ".join(f"{v:.2f}" for v in host.load)
        gauges.append(f"   load {load} / {host.cores} cores\n")
        mem = host.memory
        gauges.append(f"MEM  {bar(mem.percent)} {mem.percent:5.1f}%")
        used, total = human_bytes(mem.used), human_bytes(mem.total)
        gauges.append(f"   {used} of {total}, {human_bytes(mem.available)} free\n")
        if host.swap.total:
            gauges.append(f"SWAP {bar(host.swap.percent)} {host.swap.percent:5.1f}%")
            gauges.append(f"   {human_bytes(host.swap.used)} of {human_bytes(host.swap.total)}\n")
        gauges.append(f"up {human_duration(host.uptime_s)}", style="dim")
        self.query_one("#host-gauges", Static).update(gauges)
        table = self.query_one("#host-disks", DataTable)
        cursor = table.cursor_row
        table.clear()
        for disk in host.disks:
            status: Status = disk.status
            table.add_row(
                inert(disk.mount, single_line=True, max_len=30),
                Text(
                    f"{bar(disk.percent, 6)} {disk.percent:4.1f}%",
                    style=STATUS_STYLE[status] if status is not Status.OK else "",
                ),
                human_bytes(disk.total),
                "–" if disk.inodes_percent is None else f"{disk.inodes_percent:.0f}%",
                Text(f"{status.symbol} {status.value}", style=STATUS_STYLE[status]),
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
