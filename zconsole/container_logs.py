"""Container logs, the flow: the containers pane asks (:class:`ContainerLogsRequested`), this
opens the logs screen and feeds it from a worker thread — the tail, then every followed line in
batches — by messages (``post_message`` is thread-safe; widgets never touch the client).

The fetching itself is ``checks/container_logs.py``; the screen is ``widgets/container_logs.py``.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zconsole.checks.container_logs import (
    STDERR,
    STDOUT,
    LogLine,
    fetch_tails,
    follow_stream,
    merge,
    ts_epoch,
)
from zconsole.checks.secrets import redact
from zconsole.widgets.container_logs import (
    ContainerLogsScreen,
    LogLinesArrived,
    LogProblem,
)
from zconsole.widgets.messages import ContainerLogsRequested

if TYPE_CHECKING:
    from textual.app import App

    from zconsole.checks.docker import DockerCheck

#: How often followed lines are handed to the screen (a chatty container must not flood it).
BATCH_S = 0.2


class ContainerLogsFlow:
    """Opens the logs screen for a request and feeds it from worker threads."""

    def __init__(self, app: App[Any], check: DockerCheck) -> None:
        self.app = app
        self.check = check

    def open(self, request: ContainerLogsRequested) -> ContainerLogsScreen:
        stop = threading.Event()
        screen = ContainerLogsScreen(
            request.title,
            request.names,
            error_pattern=self.check.settings.error_pattern,
            on_close=stop.set,
        )
        self.app.push_screen(screen)
        self.app.run_worker(
            lambda: self.pump(screen, request.container_ids, request.names, stop),
            name="docker-logs",
            group="docker-logs",
            thread=True,
            exclusive=True,
            exit_on_error=False,
        )
        return screen

    def pump(
        self,
        screen: ContainerLogsScreen,
        ids: Sequence[str],
        names: Sequence[str],
        stop: threading.Event,
    ) -> None:
        """Tail, then follow until the screen closes (runs in a worker thread)."""
        try:
            api = self.check.client
            tail = fetch_tails(api, ids, names, self.check.settings.log_lines)
        except Exception as exc:  # noqa: BLE001 - shown on the screen, not raised
            screen.post_message(LogProblem(redact(f"cannot fetch logs: {exc}")))
            return
        screen.post_message(LogLinesArrived(tuple(tail)))
        since = max((ts_epoch(line.ts) or 0.0 for line in tail), default=0.0) or time.time()
        lines: queue.Queue[LogLine] = queue.Queue()
        opened: list[Any] = []
        for cid, name in zip(ids, names, strict=True):
            for stream in (STDOUT, STDERR):
                threading.Thread(
                    target=follow_stream,
                    args=(api, cid, name, stream, since, lines, stop, opened),
                    name=f"docker-logs-{name}-{stream}",
                    daemon=True,
                ).start()
        while not stop.is_set():
            stop.wait(BATCH_S)
            batch: list[LogLine] = []
            with contextlib.suppress(queue.Empty):
                while len(batch) < 2000:
                    batch.append(lines.get_nowait())
            if batch:
                screen.post_message(LogLinesArrived(tuple(merge(batch))))
        for chunks in list(opened):  # the screen closed: free the followers' sockets now
            with contextlib.suppress(Exception):
                chunks.close()


def open_container_logs(app: App[Any], check: object, request: ContainerLogsRequested) -> None:
    """The logs screen for ``request``, fed from the docker check's client."""
    from zconsole.checks.docker import DockerCheck

    if not isinstance(check, DockerCheck):
        app.notify("Docker is not configured.", severity="error")
        return
    ContainerLogsFlow(app, check).open(request)
