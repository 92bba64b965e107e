"""Fetching container logs for the logs screen: tail, then follow; stdout and stderr apart.

The Engine multiplexes stdout and stderr into one stream; the docker SDK's ``logs()`` joins
them. We ask for each separately (``stdout=1&stderr=0`` and the reverse) with timestamps, and
merge by time, so every line keeps which stream it came from. Follow runs one daemon thread per
(container, stream); lines are batched and posted to the screen from a worker thread —
``post_message`` is thread-safe, widgets never touch the client.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from zconsole.checks.docker import release_stream
from zconsole.checks.docker_logs import STDERR, STDOUT, LogLine, merge, split_chunk, ts_epoch
from zconsole.checks.secrets import redact
from zconsole.widgets.container_logs import (
    ContainerLogsRequested,
    ContainerLogsScreen,
    LogLinesArrived,
    LogProblem,
)

if TYPE_CHECKING:
    from textual.app import App

    from zconsole.checks.docker import DockerCheck

#: How often followed lines are handed to the screen (a chatty container must not flood it).
BATCH_S = 0.2


def fetch_tail(api: Any, container_id: str, name: str, tail: int) -> list[LogLine]:
    """The last ``tail`` lines of each stream of one container, stdout and stderr told apart."""
    lines: list[LogLine] = []
    for stream in (STDOUT, STDERR):
        raw = api.logs(
            container_id,
            stdout=stream == STDOUT,
            stderr=stream == STDERR,
            timestamps=True,
            tail=tail,
        )
        text = raw.decode("utf-8", errors="replace") if isinstance(raw, bytes) else str(raw)
        complete, rest = split_chunk(name, stream, "", text)
        lines.extend(complete)
        if rest:
            lines.extend(split_chunk(name, stream, rest, "\n")[0])
    return lines


def fetch_tails(api: Any, ids: Sequence[str], names: Sequence[str], tail: int) -> list[LogLine]:
    """The last ``tail`` lines of several containers, merged in time order."""
    lines: list[LogLine] = []
    for cid, name in zip(ids, names, strict=True):
        lines.extend(fetch_tail(api, cid, name, tail))
    merged = merge(lines)
    return merged[-tail * max(len(ids), 1) :]


def follow_stream(
    api: Any,
    container_id: str,
    name: str,
    stream: str,
    since: float,
    out: queue.Queue[LogLine],
    stop: threading.Event,
    opened: list[Any] | None = None,
) -> None:
    """Follow one stream of one container until ``stop``; reconnects after read timeouts.

    Each stream opened is appended to ``opened`` so the caller can close its socket at once.
    """
    last = since
    while not stop.is_set():
        pending = ""
        try:
            chunks = api.logs(
                container_id,
                stdout=stream == STDOUT,
                stderr=stream == STDERR,
                timestamps=True,
                stream=True,
                follow=True,
                since=last if last > 0 else None,
            )
            if opened is not None:
                opened.append(chunks)
            try:
                for chunk in chunks:
                    if stop.is_set():
                        break
                    text = chunk.decode("utf-8", errors="replace")
                    lines, pending = split_chunk(name, stream, pending, text)
                    for line in lines:
                        at = ts_epoch(line.ts)
                        if at is not None and at <= last:
                            continue  # already shown (the tail, or before a reconnect)
                        if at is not None:
                            last = at
                        out.put(line)
                else:
                    # The container stopped: its log stream ended. Look again in a moment.
                    stop.wait(1.0)
            finally:
                release_stream(chunks)
                if opened is not None:
                    with contextlib.suppress(ValueError):
                        opened.remove(chunks)  # a long follow reconnects: keep the list short
        except Exception:  # noqa: BLE001 - read timeout on a quiet container, or it went away
            stop.wait(0.5)


class DockerLogsController:
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
            api = self.check.client.api
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
