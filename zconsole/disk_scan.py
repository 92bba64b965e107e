"""Find what is big, the flow: the host pane asks (:class:`DiskScanRequested`), this opens the
scan screen and runs the scan in a worker thread, which sends each progress report to the screen
as a message — the same way container logs reach theirs.

The scan itself is ``checks/disk_scan.py``; the screen is ``widgets/disk_scan.py``.
"""

from __future__ import annotations

from typing import Any

from textual.app import App

from zconsole.checks.disk_scan import ScanProgress, scan
from zconsole.widgets.disk_scan import DiskScanScreen, ScanFailed, ScanUpdated


def open_disk_scan(
    app: App[Any], mount: str, *, max_depth: int = 32, time_limit: float = 300.0, top: int = 25
) -> DiskScanScreen:
    """Push the scan screen for ``mount`` and start the scan that feeds it."""
    screen = DiskScanScreen(mount, max_depth=max_depth, time_limit=time_limit)

    def run() -> None:
        def report(progress: ScanProgress) -> None:
            screen.post_message(ScanUpdated(progress))

        try:
            scan(
                mount,
                max_depth=max_depth,
                time_limit=time_limit,
                cancel=screen.cancel,
                on_progress=report,
                top=top,
            )
        except OSError as exc:
            screen.post_message(ScanFailed(f"{type(exc).__name__}: {exc.strerror or exc}"))

    app.push_screen(screen)
    app.run_worker(
        run, name="disk-scan", group="disk-scan", thread=True, exclusive=True, exit_on_error=False
    )
    return screen
