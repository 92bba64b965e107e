"""Find what is big, the screen: the largest directories of one mount, as the scan finds them.

It only shows what it is sent (:class:`ScanUpdated`, :class:`ScanFailed`); the scan runs below
the widgets (``checks/disk_scan.py``, started by ``zconsole/disk_scan.py`` in a worker). The host
pane asks for a scan with :class:`DiskScanRequested`. Escape stops the scan and closes, ``c``
stops it and keeps what was found.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from zconsole.checks.disk_scan import ScanProgress
from zconsole.checks.units import human_bytes
from zconsole.widgets.format import human_duration
from zconsole.widgets.text import inert


@dataclass
class ScanUpdated(Message):
    """Progress (or the final result) of a disk scan."""

    progress: ScanProgress


@dataclass
class ScanFailed(Message):
    """The scan could not start (the mount vanished, not a directory ...)."""

    error: str


class DiskScanScreen(ModalScreen[ScanProgress | None]):
    """Largest directories of one mount, updated as the scan goes."""

    DEFAULT_CSS = """
    DiskScanScreen { align: center middle; }
    DiskScanScreen > Vertical {
        width: 90%; height: 90%; max-width: 140;
        border: round $accent; padding: 0 1; background: $surface;
    }
    DiskScanScreen #scan-status { height: auto; }
    DiskScanScreen #scan-table { height: 1fr; }
    DiskScanScreen #scan-denied { height: auto; max-height: 5; color: $warning; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close"),
        Binding("c", "cancel_scan", "Stop scan"),
    ]

    def __init__(self, mount: str, *, max_depth: int = 32, time_limit: float = 300.0) -> None:
        super().__init__()
        self.mount_point = mount
        self.max_depth = max_depth
        self.time_limit = time_limit
        #: Set when the user stops the scan; the scan (in its worker) watches it.
        self.cancel = threading.Event()
        self.progress: ScanProgress | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = "Find what is big"
            yield Static(Text(f"scanning {self.mount_point} …", style="dim"), id="scan-status")
            table: DataTable[Any] = DataTable(id="scan-table", cursor_type="row")
            table.add_columns("size", "files", "directory")
            yield table
            yield Static("", id="scan-denied")

    @on(ScanUpdated)
    def _updated(self, message: ScanUpdated) -> None:
        p = self.progress = message.progress
        if p.cancelled:
            state = "stopped"
        elif p.timed_out:
            state = f"stopped at the {human_duration(self.time_limit)} limit"
        elif p.done:
            state = "done"
        else:
            state = "scanning"
        status = Text()
        status.append(f"{state} ", style="bold" if p.done else "")
        status.append_text(inert(p.root, single_line=True, max_len=60))
        status.append(
            f" · {p.files:,} files · {p.dirs:,} dirs · {human_bytes(p.bytes)} · {p.elapsed_s:.1f}s"
        )
        if p.other_fs:
            status.append(f" · {p.other_fs} other filesystems skipped", style="dim")
        if p.depth_limited:
            status.append(f" · {p.depth_limited} dirs below depth {self.max_depth}", style="dim")
        if p.errors:
            status.append(f" · {p.errors} errors", style="dim")
        self.query_one("#scan-status", Static).update(status)
        table = self.query_one("#scan-table", DataTable)
        cursor = table.cursor_row
        table.clear()
        for d in p.largest:
            table.add_row(
                Text(human_bytes(d.bytes), justify="right"),
                Text(f"{d.files:,}", justify="right"),
                inert(d.path, single_line=True, max_len=200),
            )
        if table.row_count:
            table.move_cursor(row=min(cursor, table.row_count - 1))
        denied = Text()
        if p.denied_count:
            denied.append(f"{p.denied_count} directories not readable:\n")
            for path in p.denied[:20]:
                denied.append_text(inert(path, single_line=True, max_len=200))
                denied.append("\n")
        self.query_one("#scan-denied", Static).update(denied)

    @on(ScanFailed)
    def _failed(self, message: ScanFailed) -> None:
        self.query_one("#scan-status", Static).update(
            inert(f"scan failed: {message.error}", style="bold red")
        )

    def action_cancel_scan(self) -> None:
        self.cancel.set()

    def action_close(self) -> None:
        self.cancel.set()
        self.dismiss(self.progress)
