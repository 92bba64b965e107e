"""`zconsole record`: a small host for the one scheduler, fanning every result out to sinks.

The recording writer is the first sink; whatever else wants every poll without polling itself
(a socket consoles attach to, a metrics endpoint) is added beside it, and long-running
listeners run as services on the same loop. No Textual is imported here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from functools import partial
from typing import Any, Protocol

import msgspec

from zconsole.checks.base import Check, CheckEvent, CheckResult, describe_error
from zconsole.checks.secrets import redact
from zconsole.config import Config
from zconsole.malloc_arenas import fewer_malloc_arenas
from zconsole.scheduler import Scheduler


class Sink(Protocol):
    """Receives every CheckResult on the event loop; must return quickly (queue, don't block)."""

    def accept(self, result: CheckResult) -> None: ...

    def close(self) -> None: ...


Service = Callable[[], Coroutine[Any, Any, None]]


#: Seconds between tries while another process (a console) writes the recording.
BUSY_RETRY_S = 2.0


class RecorderHost:
    """The scheduler, its sinks and its services, until cancelled or signalled."""

    def __init__(self, checks: Iterable[Check[Any]]) -> None:
        self.sinks: list[Sink] = []
        self.services: list[Service] = []
        self.scheduler = Scheduler(checks, self._fan_out)
        #: The last problem of each sink, printed once (a full disk must not flood the log).
        self._problems: dict[int, str] = {}

    def add_sink(self, sink: Sink) -> None:
        self.sinks.append(sink)

    def add_service(self, service: Service) -> None:
        self.services.append(service)

    def _fan_out(self, result: CheckResult) -> None:
        for sink in self.sinks:
            try:
                sink.accept(result)
            except Exception as exc:  # noqa: BLE001 - one broken sink must not stop the others
                text = redact(describe_error(exc))
                if self._problems.get(id(sink)) != text:
                    self._problems[id(sink)] = text
                    print(f"zconsole record: {type(sink).__name__}: {text}", file=sys.stderr)

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for check in self.scheduler.checks:
            # A check that hears of a change between polls (a container died) is polled at
            # once, so the recording holds the crash, not the next poll after it.
            check.on_event = partial(self._event_from_thread, loop, check.name)
        tasks = [asyncio.create_task(self.scheduler.run())]
        tasks += [asyncio.create_task(service()) for service in self.services]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    def _event_from_thread(
        self, loop: asyncio.AbstractEventLoop, name: str, _event: CheckEvent
    ) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self.scheduler.refresh, name)

    def close(self) -> None:
        self.scheduler.close()
        for sink in self.sinks:
            with contextlib.suppress(Exception):
                sink.close()


def recorder_config(config: Config, *, interval_given: bool) -> Config:
    """The config the recorder polls with: ``[recording] interval`` unless --interval was given."""
    if interval_given:
        return config
    general = msgspec.structs.replace(config.general, interval=config.recording.interval)
    return msgspec.structs.replace(config, general=general)


def record_command(config: Config, *, interval_given: bool) -> int:
    """Run in the foreground until SIGTERM / SIGINT; exit 0 after a clean stop."""
    from zconsole.notify.hosting import start_hosted
    from zconsole.recording.db import RecordingError, recording_path
    from zconsole.recording.retention import retention_of
    from zconsole.recording.writer import RecordingBusy, RecordingSink, RecordingWriter
    from zconsole.registry import build_checks

    fewer_malloc_arenas()
    config = recorder_config(config, interval_given=interval_given)
    path = recording_path(config)
    waiting = False
    while True:
        try:
            writer = RecordingWriter(path, retention=retention_of(config))
            break
        except RecordingBusy as exc:
            # A console records while no recorder runs; the service takes over when it quits
            # instead of failing (and being restarted) every few seconds meanwhile.
            if not waiting:
                print(
                    f"zconsole record: {exc}; waiting for it to stop", file=sys.stderr, flush=True
                )
                waiting = True
            time.sleep(BUSY_RETRY_S)
        except (RecordingError, OSError) as exc:
            print(f"zconsole record: {exc}", file=sys.stderr)
            return 1
    if writer.set_aside:
        print(
            f"zconsole record: {path} failed its integrity check; kept as {writer.set_aside}, "
            "recording into a new file",
            file=sys.stderr,
        )
    checks = build_checks(config)
    host = RecorderHost(checks)
    host.add_sink(RecordingSink(writer))
    # The Alertmanager listener, /metrics and the outbox sender, fed from the same polls.
    hosted = start_hosted(config)
    if hosted is not None:
        host.add_sink(hosted)
    from zconsole.attach.server import host_for

    # Consoles of this host attach here and poll nothing themselves.
    attach, attach_note = host_for(
        {c.name: c for c in checks},
        refresh=host.scheduler.refresh,
        config=config,
        describe=f"zconsole record pid {os.getpid()}",
    )
    if attach is not None:
        host.add_sink(attach)
        host.add_service(attach.run)
    names = ", ".join(c.name for c in checks)
    rec = config.recording
    print(
        f"zconsole record: {names} every {config.general.interval:g} s into {path} "
        f"(keeps {rec.retention_h:g} h, at most {rec.max_mb:g} MB)",
        flush=True,
    )
    print(f"zconsole record: {attach_note}", flush=True)
    asyncio.run(_run_until_signalled(host))
    return 0


async def _run_until_signalled(host: RecorderHost) -> None:
    loop = asyncio.get_running_loop()
    task = asyncio.create_task(host.run())
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, task.cancel)
    try:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    finally:
        host.close()
