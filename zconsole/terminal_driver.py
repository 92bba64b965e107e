"""Textual's Linux terminal driver, with an input thread that sleeps until there is input.

Textual's input thread (textual 8.2.8, ``LinuxDriver.run_input_thread``) wakes ten times a
second to see whether the app is exiting and whether a lone Escape has waited long enough to be
a key: about 0.1 % of a core for a console at rest, a twentieth of everything zconsole costs the
server it watches. This driver's thread blocks until a byte arrives, waking early only while the
key parser waits on a timeout (a lone Escape), and the exit wakes it through a pipe, so leaving
is as prompt as before. Everything else is Textual's driver, unchanged.
"""

from __future__ import annotations

import contextlib
import os
import selectors
from codecs import getincrementaldecoder
from threading import Event
from typing import Any

from textual._parser import ParseError
from textual._time import get_time
from textual._xterm_parser import XTermParser
from textual.drivers.linux_driver import LinuxDriver


class _WakingEvent(Event):
    """The driver's exit event: setting it also wakes the input thread's select."""

    def __init__(self, wake_fd: int) -> None:
        super().__init__()
        self._wake_fd = wake_fd

    def set(self) -> None:
        super().set()
        # A full pipe means the thread is already woken; a closed one, the app has shut down.
        with contextlib.suppress(OSError):
            os.write(self._wake_fd, b"x")


class QuietLinuxDriver(LinuxDriver):
    """LinuxDriver whose input thread does not poll (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)
        self.exit_event = _WakingEvent(self._wake_write)

    def _drain_wake_pipe(self) -> None:
        try:
            while os.read(self._wake_read, 64):
                pass
        except (BlockingIOError, OSError):
            pass

    def run_input_thread(self) -> None:
        """Textual 8.2.8's loop, reading stdin the same way; only the waiting differs."""
        self._drain_wake_pipe()  # a wake left from an earlier suspend
        selector = selectors.SelectSelector()
        fileno = self.fileno
        selector.register(fileno, selectors.EVENT_READ)
        selector.register(self._wake_read, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        feed, tick = parser.feed, parser.tick
        decode = getincrementaldecoder("utf-8")().decode

        def timeout() -> float | None:
            # While an Escape waits to tell a key from a sequence, wake when its time is up.
            deadline: float | None = getattr(parser, "_timeout_time", None)
            if deadline is None:
                return None
            return max(0.0, deadline - get_time())

        def process(events: list[tuple[selectors.SelectorKey, int]], final: bool = False) -> None:
            ready = [key for key, mask in events if mask & selectors.EVENT_READ]
            for key in ready:
                if key.fd != fileno:
                    continue
                data = decode(os.read(fileno, 1024 * 4), final=final)
                if not data:
                    break  # stdin piped and at its end
                for event in feed(data):
                    self.process_message(event)
            for event in tick():
                self.process_message(event)

        try:
            while not self.exit_event.is_set():
                process(selector.select(timeout()))
            selector.unregister(fileno)
            process(selector.select(0), final=True)
        finally:
            selector.close()
            try:
                for _event in feed(""):
                    pass
            except (EOFError, ParseError):
                pass

    def close(self) -> None:
        super().close()
        for fd in (self._wake_read, self._wake_write):
            with contextlib.suppress(OSError):
                os.close(fd)
